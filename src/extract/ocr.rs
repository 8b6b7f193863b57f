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

/// Most pages of one PDF read by OCR. A scanned material (its page images assembled into an image-only PDF)
/// rarely has more; the worker's time limit for such a PDF grows with this bound (see [`OCR_TIME_PER_PAGE`]).
pub const MAX_OCR_PAGES: u32 = 100;

/// The time one page of a PDF may take to be read by OCR, on top of the extractor's timeout: rendering at 200
/// dpi and recognition take about four seconds a page on two cores, so this leaves room for a busy machine.
/// The worker reading a PDF by OCR gets the timeout plus this for each of [`MAX_OCR_PAGES`] pages (see
/// `Extractor::timeout_for`); it stops early, with the pages read so far, when the next page would not fit.
pub const OCR_TIME_PER_PAGE: Duration = Duration::from_secs(6);

/// The longest one helper may run (rendering or recognising one page, or one image), whatever the worker's
/// time limit (and the only limit when the worker set none: OCR in a thread, in tests and tools): far above what
/// one page takes, so that a hung helper is killed long before a time limit sized for a hundred pages.
const HELPER_CALL_LIMIT: Duration = Duration::from_secs(120);

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

/// Reads a scanned PDF page by page (at most [`MAX_OCR_PAGES`]): the raw text of each page read, in order, and
/// the number of pages read. An error when not even the first page renders (no pdftoppm, or a PDF poppler cannot
/// read either). Under the worker's time limit it stops before a page that would likely not be done in time
/// (twice the slowest page so far), so that the pages read are kept rather than lost with the worker.
pub(super) fn recognise_pdf(pdf: &[u8], pages: Option<u32>, langs: &str) -> Result<(Vec<String>, u32)> {
    let mut texts = Vec::new();
    let mut read = 0;
    let mut slowest = Duration::ZERO;
    let time_left = || HELPER_DEADLINE.get().map(|d| d.saturating_duration_since(Instant::now()));
    for page in 1..=pages.unwrap_or(MAX_OCR_PAGES).min(MAX_OCR_PAGES) {
        if read > 0 && time_left().is_some_and(|left| left < 2 * slowest) {
            break;
        }
        let started = Instant::now();
        let Some(png) = render_page(pdf, page) else { break };
        match recognise(&png, langs) {
            Ok(text) => texts.push(text),
            // Out of time all the same: the pages read are the answer.
            Err(_) if read > 0 && time_left() == Some(Duration::ZERO) => break,
            Err(e) => return Err(e),
        }
        slowest = slowest.max(started.elapsed());
        read = page;
    }
    if read == 0 {
        return Err(ExtractError::Unreadable("the PDF could not be rendered for OCR".into()));
    }
    Ok((texts, read))
}

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
    let own = Instant::now() + HELPER_CALL_LIMIT;
    let deadline = HELPER_DEADLINE.get().map_or(own, |&worker| worker.min(own));
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
