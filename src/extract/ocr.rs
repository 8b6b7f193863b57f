//! OCR of scans through the `tesseract` program (Debian: tesseract-ocr, tesseract-ocr-chi-sim,
//! tesseract-ocr-chi-tra), and of image-only PDF pages rendered by `pdftoppm` (poppler-utils). Every image
//! goes in on stdin and comes out on stdout, so no copy of a scan ever lands on disk. Without tesseract (or its
//! simplified-Chinese data) OCR is simply off: scans are stored and found by their catalogue fields.
//!
//! The helpers run under the worker, inside its sandbox (see `sandbox.rs`): with its cleared environment,
//! its resource limits and Landlock rules, in its process group. Each is killed if it runs past its time limit
//! (shortly before the worker's own); the parent kills the whole group at the worker's time limit.

use super::{ExtractError, Result};
use std::io::{self, Read, Write};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{OnceLock, mpsc};
use std::thread;
use std::time::{Duration, Instant};

/// Image types tesseract reads.
pub(super) fn is_ocr_image(essence: &str) -> bool {
    matches!(essence, "image/png" | "image/jpeg" | "image/tiff" | "image/bmp")
}

/// The languages to use (`chi_sim+chi_tra+eng`, as installed), or `None` when OCR is unavailable.
pub fn detect() -> Option<String> {
    let mut command = Command::new("tesseract");
    super::sandbox::helper_env(&mut command);
    let out = command.arg("--list-langs").stdin(Stdio::null()).stderr(Stdio::null()).output().ok()?;
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

/// How long one helper may run when the worker set no limit (OCR in a thread, in tests and tools).
const DEFAULT_HELPER_TIME_LIMIT: Duration = Duration::from_secs(120);

/// Largest output accepted from a helper (a page rendered at 200 dpi in grey is a few MB).
const MAX_HELPER_OUTPUT: u64 = 256 * 1024 * 1024;

/// When helpers started from now on must be done, set once by the worker at its start (see
/// [`super::sandbox::confine`]).
static HELPER_DEADLINE: OnceLock<Instant> = OnceLock::new();

/// Every helper started from now on must end within `limit` of now (the worker calls this once, at its start:
/// the limit counts from then, so all helpers together stay within it).
pub(super) fn set_helper_time_limit(limit: Duration) {
    let _ = HELPER_DEADLINE.set(Instant::now() + limit);
}

const TIMED_OUT: &str = "the helper ran past its time limit and was killed";

/// Kills and reaps a helper: the error to answer with.
fn stop(mut child: Child, why: &str) -> io::Error {
    let _ = child.kill();
    let _ = child.wait();
    io::Error::new(io::ErrorKind::TimedOut, why.to_owned())
}

/// Runs a helper program with `input` on its stdin, collecting its stdout, with a cleared environment (see
/// [`super::sandbox::helper_env`]). A helper still running at its deadline is killed (and reaped) and the
/// answer is a `TimedOut` error.
fn pipe(command: &mut Command, input: &[u8]) -> io::Result<Output> {
    let deadline = HELPER_DEADLINE.get().copied().unwrap_or_else(|| Instant::now() + DEFAULT_HELPER_TIME_LIMIT);
    super::sandbox::helper_env(command);
    let mut child = command.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::null()).spawn()?;
    // Feeding and draining on their own threads, detached: a grandchild that keeps a pipe open cannot block us.
    let stdin = child.stdin.take();
    let input = input.to_vec();
    let feed = thread::Builder::new().name("ocr-feed".into()).spawn(move || {
        if let Some(mut s) = stdin {
            let _ = s.write_all(&input);
        }
    });
    let stdout = child.stdout.take();
    let (tx, rx) = mpsc::sync_channel(1);
    let drain = feed.and_then(|_| {
        thread::Builder::new().name("ocr-drain".into()).spawn(move || {
            let mut out = Vec::new();
            let read = match stdout {
                Some(s) => s.take(MAX_HELPER_OUTPUT + 1).read_to_end(&mut out).map(|_| out),
                None => Err(io::Error::other("no pipe")),
            };
            let _ = tx.send(read);
        })
    });
    if let Err(e) = drain {
        stop(child, "");
        return Err(e);
    }
    let stdout = match rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
        Ok(Ok(out)) if out.len() as u64 <= MAX_HELPER_OUTPUT => out,
        Ok(Ok(_)) => return Err(stop(child, "the helper's output is too long")),
        Ok(Err(e)) => {
            stop(child, "");
            return Err(e);
        }
        Err(_) => return Err(stop(child, TIMED_OUT)),
    };
    loop {
        if let Some(status) = child.try_wait()? {
            return Ok(Output { status, stdout, stderr: Vec::new() });
        }
        if Instant::now() >= deadline {
            return Err(stop(child, TIMED_OUT));
        }
        thread::sleep(Duration::from_millis(5));
    }
}

/// Recognises the text of an image. Runs inside the extraction worker (so its sandbox and time limit apply, and
/// tesseract has a time limit of its own).
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
