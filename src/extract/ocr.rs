//! OCR of scans through the `tesseract` program (Debian: tesseract-ocr, tesseract-ocr-chi-sim,
//! tesseract-ocr-chi-tra). The image goes to tesseract on its stdin and the text comes back on its stdout, so
//! no copy of a scan ever lands on disk. Without tesseract (or its simplified-Chinese data) OCR is simply off:
//! scans are stored and found by their catalogue fields.

use super::{ExtractError, Result};
use std::io::Write;
use std::process::{Command, Stdio};

/// Image types tesseract reads.
pub(super) fn is_ocr_image(essence: &str) -> bool {
    matches!(essence, "image/png" | "image/jpeg" | "image/tiff" | "image/bmp")
}

/// The languages to use (`chi_sim+chi_tra+eng`, as installed), or `None` when OCR is unavailable.
pub fn detect() -> Option<String> {
    let out = Command::new("tesseract").arg("--list-langs").stdin(Stdio::null()).stderr(Stdio::null()).output().ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    let has = |l: &str| text.lines().any(|line| line.trim() == l);
    if !has("chi_sim") {
        return None;
    }
    let langs: Vec<&str> = ["chi_sim", "chi_tra", "eng"].into_iter().filter(|l| has(l)).collect();
    Some(langs.join("+"))
}

/// Recognises the text of an image. Runs inside the extraction worker (so the worker's time limit applies).
pub(super) fn recognise(bytes: &[u8], langs: &str) -> Result<String> {
    if !langs.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '+') {
        return Err(ExtractError::Unreadable("bad OCR language list".into()));
    }
    let mut child = Command::new("tesseract")
        .args(["stdin", "stdout", "-l", langs, "--psm", "3"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| ExtractError::Worker(format!("cannot start tesseract: {e}")))?;
    let stdin = child.stdin.take();
    let input = bytes.to_vec();
    let feeder = std::thread::spawn(move || {
        if let Some(mut s) = stdin {
            let _ = s.write_all(&input);
        }
    });
    let out = child.wait_with_output().map_err(|e| ExtractError::Worker(format!("tesseract failed: {e}")))?;
    let _ = feeder.join();
    if !out.status.success() {
        return Err(ExtractError::Unreadable(format!("the image could not be read by OCR ({})", out.status)));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}
