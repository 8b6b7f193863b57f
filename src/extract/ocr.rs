//! OCR of scans through the `tesseract` program (Debian: tesseract-ocr, tesseract-ocr-chi-sim,
//! tesseract-ocr-chi-tra), and of image-only PDF pages rendered by `pdftoppm` (poppler-utils). Every image
//! goes in on stdin and comes out on stdout, so no copy of a scan ever lands on disk. Without tesseract (or its simplified-Chinese data) OCR is simply off:
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

/// Most pages of one PDF read by OCR (about four seconds a page at 200 dpi on two cores; the worker's time
/// limit bounds the whole file).
pub const MAX_OCR_PAGES: u32 = 20;

/// Whether a PDF's own text is too thin to be anything but a scan (page numbers, a stamp): fewer than 20
/// visible characters a page.
pub(super) fn looks_image_only(text: &str, pages: u32) -> bool {
    text.chars().filter(|c| !c.is_whitespace()).count() < 20 * pages.max(1) as usize
}

/// Renders one page of a PDF to PNG with `pdftoppm` (poppler-utils), stdin to stdout. `None` past the last
/// page or when the PDF cannot be rendered.
fn render_page(pdf: &[u8], page: u32) -> Option<Vec<u8>> {
    let page = page.to_string();
    let out =
        pipe(Command::new("pdftoppm").args(["-f", &page, "-l", &page, "-r", "200", "-gray", "-png", "-"]), pdf).ok()?;
    (out.status.success() && !out.stdout.is_empty()).then_some(out.stdout)
}

/// Reads a scanned PDF page by page (at most [`MAX_OCR_PAGES`]): the text and the pages read. An error when not
/// even the first page renders (no pdftoppm, or a PDF poppler cannot read either).
pub(super) fn recognise_pdf(pdf: &[u8], pages: Option<u32>, langs: &str) -> Result<(String, u32)> {
    let mut text = String::new();
    let mut read = 0;
    for page in 1..=pages.unwrap_or(MAX_OCR_PAGES).min(MAX_OCR_PAGES) {
        let Some(png) = render_page(pdf, page) else { break };
        text.push_str(&recognise(&png, langs)?);
        text.push('\n');
        read = page;
    }
    if read == 0 {
        return Err(ExtractError::Unreadable("the PDF could not be rendered for OCR".into()));
    }
    Ok((text, read))
}

/// Runs a program with `input` on its stdin, collecting its stdout.
fn pipe(command: &mut Command, input: &[u8]) -> std::io::Result<std::process::Output> {
    let mut child = command.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::null()).spawn()?;
    let stdin = child.stdin.take();
    let input = input.to_vec();
    let feeder = std::thread::spawn(move || {
        if let Some(mut s) = stdin {
            let _ = s.write_all(&input);
        }
    });
    let out = child.wait_with_output();
    let _ = feeder.join();
    out
}

/// Recognises the text of an image. Runs inside the extraction worker (so the worker's time limit applies).
pub(super) fn recognise(bytes: &[u8], langs: &str) -> Result<String> {
    if !langs.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '+') {
        return Err(ExtractError::Unreadable("bad OCR language list".into()));
    }
    let out = pipe(Command::new("tesseract").args(["stdin", "stdout", "-l", langs, "--psm", "3"]), bytes)
        .map_err(|e| ExtractError::Worker(format!("cannot run tesseract: {e}")))?;
    if !out.status.success() {
        return Err(ExtractError::Unreadable(format!("the image could not be read by OCR ({})", out.status)));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}
