//! Text out of uploaded files, so that materials can be searched.
//!
//! This module stands alone (it knows no other layer of the crate). It answers three questions about a file's
//! bytes: what it is ([`sniff_mime`], judged by content, never trusted from the client), whether it carries text
//! we can take out ([`has_text`]), and what that text is ([`Extractor::extract`]). PDFs go through pdf-extract,
//! DOCX through zip + quick-xml, plain text and Markdown are decoded (UTF-8, or UTF-16 with a byte order mark);
//! images go through OCR (tesseract) when it is installed. All text leaves through one normaliser (control characters removed,
//! blank lines collapsed, stray whitespace between CJK glyphs of PDFs removed, a cap on length).
//!
//! Parsers of hostile files can panic, loop or blow the stack, so the server never parses in its own threads:
//! [`Extractor::with_worker`] runs each extraction in a child process (the binary's hidden `extract-worker`
//! subcommand, see [`worker_main`]) that is killed, with its whole process group, after a timeout. The worker
//! is sandboxed (see `sandbox.rs`): a cleared environment, limits on memory, CPU time and file size, no core
//! dumps, and Landlock rules (where the kernel has Landlock) that keep it and its OCR helpers away from
//! everything but the system's programs and libraries — not the key file, not the data directory.
//! [`Extractor::in_thread`] is the lighter
//! variant for tests and tools: a separate thread with `catch_unwind`, abandoned on timeout. Neither logs, nor
//! puts into an error message, anything of a document's content.

mod docx;
mod normalize;
pub mod ocr;
mod pdf;
mod sandbox;
mod sniff;
mod text;
mod worker;

use std::ffi::OsString;
use std::panic::{self, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

pub use sandbox::{CPU_SLACK_SECS, Confinement, DEFAULT_MEMORY_LIMIT, FILE_SIZE_LIMIT, Landlock, Limits};
pub use sniff::sniff_mime;
pub use worker::{ProbeRead, SandboxProbe, worker_main};

/// MIME type of PDF documents.
pub const MIME_PDF: &str = "application/pdf";
/// MIME type of Word (Office Open XML) documents.
pub const MIME_DOCX: &str = "application/vnd.openxmlformats-officedocument.wordprocessingml.document";
/// MIME type given to bytes we cannot identify.
pub const MIME_UNKNOWN: &str = "application/octet-stream";

/// Default cap on the number of characters kept from one file (about 2–4 MB of UTF-8): far above any real
/// personnel document, low enough that one hostile file cannot bloat the store or the index.
pub const DEFAULT_MAX_CHARS: usize = 1_000_000;

/// Stack size of the threads that parse documents. Parsers recurse over nested PDF objects; a generous stack
/// turns most hostile nesting into a clean error instead of a stack overflow (which aborts the whole process).
const PARSER_STACK_BYTES: usize = 64 * 1024 * 1024;

/// Results of this layer.
pub type Result<T, E = ExtractError> = std::result::Result<T, E>;

/// Text taken out of a file.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Extracted {
    /// The normalised text (may be empty, e.g. a scanned PDF without a text layer).
    pub text: String,
    /// Number of pages, when the format has pages (PDF); `None` otherwise.
    pub pages: Option<u32>,
    /// Where each page read starts in `text`, as character offsets (page 1 at 0; non-decreasing; a page
    /// without text starts where the next page's text does, or at the end), for PDFs, whose pages are read one
    /// by one (OCR may read fewer pages than `pages`). Empty for formats without pages. See [`page_at`].
    pub page_starts: Vec<u32>,
}

/// The page (1-based) on which the character at `char_offset` of a text lies, given where its pages start (see
/// [`Extracted::page_starts`]); `None` when the text has no page starts.
pub fn page_at(page_starts: &[u32], char_offset: usize) -> Option<u32> {
    let before = page_starts.partition_point(|&start| start as usize <= char_offset);
    // Page 1 starts at 0, so `before` is at least 1 for well-formed starts; `max(1)` keeps an odd list sensible.
    (!page_starts.is_empty()).then(|| u32::try_from(before.max(1)).unwrap_or(u32::MAX))
}

/// Why no text could be taken out of a file. Messages describe the file's structure, never its content.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ExtractError {
    /// The file is damaged, encrypted, or not what its MIME type claims.
    #[error("unreadable file: {0}")]
    Unreadable(String),
    /// Extraction did not finish within the allowed time; the worker was killed (process) or abandoned (thread).
    #[error("text extraction timed out after {0:?}")]
    Timeout(std::time::Duration),
    /// Part of the file expands beyond a safety limit (the zip-bomb guard): `what` names the part and the
    /// measure, `limit` is the largest value accepted (bytes, or a compression ratio).
    #[error("{what} exceeds the limit of {limit}")]
    TooLarge {
        /// The part of the file and the measure that went over the limit.
        what: String,
        /// The largest accepted value.
        limit: u64,
    },
    /// The parser panicked on this file (a malformed or hostile file); the panic message is dropped because it
    /// may quote the document.
    #[error("text extraction crashed on this file")]
    Panicked,
    /// The worker (child process or thread) could not be started, died (e.g. killed by a signal, which includes
    /// a stack overflow on a hostile file), or answered something that is not a result.
    #[error("extraction worker failed: {0}")]
    Worker(String),
}

/// The essence of a MIME type: lower case, without parameters (`text/plain; charset=utf-8` → `text/plain`).
fn essence(mime: &str) -> String {
    mime.split(';').next().unwrap_or("").trim().to_ascii_lowercase()
}

/// Whether a MIME type is one we take text from (PDF, DOCX, `text/*`). Images return false (OCR comes later).
pub fn has_text(mime: &str) -> bool {
    let essence = essence(mime);
    essence == MIME_PDF || essence == MIME_DOCX || essence.starts_with("text/")
}

/// Extract text in the current thread, with no isolation: a hostile PDF may panic or loop here, so the server
/// goes through [`Extractor`] instead. `Ok(None)` when the type carries no text (images, unknown types).
///
/// Text is normalised: NUL and control characters other than `\n` and `\t` removed, line ends unified, runs
/// of blank lines collapsed to one, whitespace between CJK glyphs of PDFs removed; capped at `max_chars`.
pub fn extract_in_process(mime: &str, bytes: &[u8], max_chars: usize) -> Result<Option<Extracted>> {
    let essence = essence(mime);
    let extracted = match essence.as_str() {
        MIME_PDF => {
            // A scanned PDF has no text of its own: with OCR on, its pages are rendered and read. A PDF that
            // neither pdf-extract nor poppler can read stays an error. Pages are read and normalised one by one,
            // so that the text knows where each starts.
            let ocr = ocr_param(mime);
            let (raw, pages) = match (pdf::extract(bytes), ocr) {
                (Ok((raw, pages)), Some(langs)) if ocr::looks_image_only(&raw.concat(), pages) => {
                    ocr::recognise_pdf(bytes, Some(pages), &langs).map(|(t, _)| (t, pages)).unwrap_or((raw, pages))
                }
                (Ok(found), _) => found,
                (Err(e), Some(langs)) => ocr::recognise_pdf(bytes, None, &langs).map_err(|_| e)?,
                (Err(e), None) => return Err(e),
            };
            let (text, page_starts) = normalize::normalize_pages(&raw, normalize::Cjk::Join, max_chars);
            Extracted { text, pages: Some(pages), page_starts }
        }
        MIME_DOCX => Extracted {
            text: normalize::normalize(&docx::extract(bytes, max_chars)?, normalize::Cjk::Keep, max_chars),
            pages: None,
            page_starts: Vec::new(),
        },
        #[cfg(test)]
        "test/sleep" => {
            // Test hook: a parser that never finishes in time.
            thread::sleep(Duration::from_secs(5));
            return Ok(None);
        }
        #[cfg(test)]
        "test/panic" => panic!("test hook: parser panicked"),
        text_type if text_type.starts_with("text/") => {
            let text = normalize::normalize(&text::decode(bytes), normalize::Cjk::Keep, max_chars);
            Extracted { text, pages: None, page_starts: Vec::new() }
        }
        img if ocr::is_ocr_image(img) => match ocr_param(mime) {
            Some(langs) => Extracted {
                text: normalize::normalize(&ocr::recognise(bytes, &langs)?, normalize::Cjk::Join, max_chars),
                pages: Some(1),
                // A lone image is one page: there is no page to tell apart.
                page_starts: Vec::new(),
            },
            None => return Ok(None),
        },
        _ => return Ok(None),
    };
    Ok(Some(extracted))
}

/// The OCR languages an image's MIME type carries as its `ocr` parameter (set by [`Extractor`] when OCR is on).
fn ocr_param(mime: &str) -> Option<String> {
    mime.split(';').skip(1).find_map(|p| p.trim().strip_prefix("ocr=").map(str::to_string))
}

/// Whether [`Extractor::extract`] should start a worker for this type at all.
/// The largest plain-text file read in the server's own process (decoding holds a few times its size).
const IN_PROCESS_TEXT_BYTES: usize = 8 * 1024 * 1024;

fn worth_a_worker(mime: &str) -> bool {
    has_text(mime)
        || (ocr::is_ocr_image(&essence(mime)) && ocr_param(mime).is_some())
        || (cfg!(test) && essence(mime).starts_with("test/"))
}

/// Where an [`Extractor`] runs the parsers.
#[derive(Clone, Debug)]
enum Isolation {
    /// A child process: `program args… <mime> <max_chars>`, the file on stdin, a JSON answer on stdout; started
    /// in its sandbox.
    Process { program: PathBuf, args: Vec<String>, sandbox: sandbox::Sandbox },
    /// A separate thread in this process, abandoned on timeout.
    Thread,
}

/// The isolated extractor used by the server.
#[derive(Clone, Debug)]
pub struct Extractor {
    isolation: Isolation,
    timeout: Duration,
    max_chars: usize,
    ocr: Option<String>,
}

impl Extractor {
    /// Runs extraction in a child process: `<program> <args…> <mime> <max_chars>` reading the file bytes on stdin
    /// and writing a JSON result on stdout (see [`worker_main`]); killed with its process group after the
    /// timeout. The real server uses `program = std::env::current_exe()`, `args = ["extract-worker"]`. The worker
    /// starts with a cleared environment and confines itself (memory limit [`DEFAULT_MEMORY_LIMIT`] unless
    /// [`Extractor::with_memory_limit`] says otherwise).
    pub fn with_worker(program: PathBuf, args: Vec<String>, timeout: Duration) -> Self {
        Extractor {
            isolation: Isolation::Process { program, args, sandbox: sandbox::Sandbox::default() },
            timeout,
            max_chars: DEFAULT_MAX_CHARS,
            ocr: None,
        }
    }

    /// No child process: runs extraction on a separate thread under `catch_unwind`; on timeout the thread is
    /// abandoned (detached, it keeps its CPU until it ends) and `Timeout` returned. For unit tests and tools
    /// without a worker binary: a stack overflow or an endless loop still hurts the whole process.
    pub fn in_thread(timeout: Duration) -> Self {
        Extractor { isolation: Isolation::Thread, timeout, max_chars: DEFAULT_MAX_CHARS, ocr: None }
    }

    /// The same extractor reading scans with OCR in these languages (see [`ocr::detect`]); `None` turns it off.
    pub fn with_ocr(mut self, langs: Option<String>) -> Self {
        self.ocr = langs;
        self
    }

    /// Whether scans are read with OCR.
    pub fn ocr_available(&self) -> bool {
        self.ocr.is_some()
    }

    /// Whether this extractor takes text out of this type (documents; images when OCR is on).
    pub fn takes_text(&self, mime: &str) -> bool {
        has_text(mime) || (self.ocr.is_some() && ocr::is_ocr_image(&essence(mime)))
    }

    /// Whether this type is read by OCR alone (a scan), OCR being on: the OCR lane's work.
    pub fn is_scan(&self, mime: &str) -> bool {
        self.ocr.is_some() && ocr::is_ocr_image(&essence(mime))
    }

    /// The same extractor with OCR off: the text lane reads PDFs with it, and hands those that look image-only
    /// (or that it cannot parse) to the OCR lane ([`Extractor::wants_ocr`]).
    pub fn without_ocr(&self) -> Extractor {
        Extractor { ocr: None, ..self.clone() }
    }

    /// Whether what [`Extractor::without_ocr`] found in a file calls for OCR: a PDF, OCR being on, whose text
    /// layer is (nearly) empty, or that its parser could not read (poppler may still render it).
    pub fn wants_ocr(&self, mime: &str, found: &Result<Option<Extracted>>) -> bool {
        if self.ocr.is_none() || essence(mime) != MIME_PDF {
            return false;
        }
        match found {
            Ok(Some(ex)) => ocr::looks_image_only(&ex.text, ex.pages.unwrap_or(1)),
            Ok(None) => false,
            Err(e) => matches!(e, ExtractError::Unreadable(_) | ExtractError::Panicked),
        }
    }

    /// The same extractor keeping at most `max_chars` characters of text per file.
    pub fn with_max_chars(mut self, max_chars: usize) -> Self {
        self.max_chars = max_chars;
        self
    }

    /// The same extractor limiting its worker's address space (and its OCR helpers') to `bytes`
    /// (`RLIMIT_AS`). A file whose parsing needs more kills the worker: extraction fails, the file stays stored.
    /// No effect on an extractor without a worker process.
    pub fn with_memory_limit(mut self, bytes: u64) -> Self {
        if let Isolation::Process { sandbox, .. } = &mut self.isolation {
            sandbox.memory_limit = bytes;
        }
        self
    }

    /// The same extractor whose worker looks for `tesseract` and `pdftoppm` on this `PATH` (default: the
    /// server's own `PATH`). Landlock lets the worker run the two programs found there. No effect on an
    /// extractor without a worker process.
    pub fn with_helper_path(mut self, path: impl Into<OsString>) -> Self {
        if let Isolation::Process { sandbox, .. } = &mut self.isolation {
            sandbox.path = Some(path.into());
        }
        self
    }

    /// The worker's memory limit in bytes (`None` without a worker process).
    pub fn memory_limit(&self) -> Option<u64> {
        match &self.isolation {
            Isolation::Process { sandbox, .. } => Some(sandbox.memory_limit),
            Isolation::Thread => None,
        }
    }

    /// Starts a worker as the sandbox probe and returns what it saw from inside: its limits, what Landlock did,
    /// the names of its environment variables, and whether it could read `path` (it reports only that, never
    /// what it read). For tests, and for the server's start-up log. An error without a worker process.
    pub fn probe_sandbox(&self, path: Option<&Path>) -> Result<SandboxProbe> {
        match &self.isolation {
            Isolation::Process { program, args, sandbox } => worker::probe(program, args, sandbox, path, self.timeout),
            Isolation::Thread => Err(ExtractError::Worker("this extractor runs no worker process".to_owned())),
        }
    }

    /// How long one extraction may take (more for a PDF read by OCR: see [`Extractor::timeout_for`]).
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// How long extracting a file of this (sniffed) type may take: the timeout, and for a PDF that OCR may read
    /// (OCR being on) [`ocr::OCR_TIME_PER_PAGE`] more for each of up to [`ocr::MAX_OCR_PAGES`] pages. The worker
    /// stops reading pages when the next would not fit in what is left (it answers with the pages read so far),
    /// and each helper it runs has a limit of its own, so a hung helper does not hold the worker that long.
    pub fn timeout_for(&self, mime: &str) -> Duration {
        if self.ocr.is_some() && essence(mime) == MIME_PDF {
            self.timeout.saturating_add(ocr::OCR_TIME_PER_PAGE.saturating_mul(ocr::MAX_OCR_PAGES))
        } else {
            self.timeout
        }
    }

    /// The cap on characters kept per file.
    pub fn max_chars(&self) -> usize {
        self.max_chars
    }

    /// Extracts the text of a file of the given (sniffed) MIME type. Blocking: callers put it on
    /// `spawn_blocking`. Never panics and never takes longer than the timeout plus a few milliseconds.
    /// `Ok(None)` for types without text, without starting any worker.
    pub fn extract(&self, mime: &str, bytes: &[u8]) -> Result<Option<Extracted>> {
        let with_ocr;
        let mime = match &self.ocr {
            Some(langs) if ocr::is_ocr_image(&essence(mime)) || essence(mime) == MIME_PDF => {
                with_ocr = format!("{}; ocr={langs}", essence(mime));
                with_ocr.as_str()
            }
            _ => mime,
        };
        if !worth_a_worker(mime) {
            return Ok(None);
        }
        // Plain text has no parser to attack (encoding detection and normalisation, linear): a file of up to
        // IN_PROCESS_TEXT_BYTES is read here, without starting a worker — most of an import's files. A larger
        // one, PDFs, DOCX (zip) and scans go to the sandboxed worker, whose memory is limited.
        if essence(mime).starts_with("text/") && bytes.len() <= IN_PROCESS_TEXT_BYTES {
            return catch_panic(|| extract_in_process(mime, bytes, self.max_chars));
        }
        let timeout = self.timeout_for(mime);
        match &self.isolation {
            Isolation::Process { program, args, sandbox } => {
                worker::run(program, args, sandbox, mime, bytes, self.max_chars, timeout)
            }
            Isolation::Thread => self.extract_in_thread(mime, bytes, timeout),
        }
    }

    fn extract_in_thread(&self, mime: &str, bytes: &[u8], timeout: Duration) -> Result<Option<Extracted>> {
        let (answer_tx, answer_rx) = mpsc::sync_channel(1);
        let kind = essence(mime);
        let mime = mime.to_owned();
        // The thread may outlive this call (timeout), so it owns its copy of the file.
        let bytes = bytes.to_vec();
        let max_chars = self.max_chars;
        thread::Builder::new()
            .name("dangan-extract".to_owned())
            .stack_size(PARSER_STACK_BYTES)
            .spawn(move || {
                let outcome = catch_panic(|| extract_in_process(&mime, &bytes, max_chars));
                // The receiver is gone when the caller gave up (timeout): nothing left to do.
                let _ = answer_tx.send(outcome);
            })
            .map_err(|e| ExtractError::Worker(format!("cannot start an extraction thread: {e}")))?;
        match answer_rx.recv_timeout(timeout) {
            Ok(outcome) => outcome,
            Err(mpsc::RecvTimeoutError::Timeout) => {
                tracing::warn!(mime = %kind, ?timeout, "text extraction timed out; thread abandoned");
                Err(ExtractError::Timeout(timeout))
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                Err(ExtractError::Worker("the extraction thread ended without an answer".to_owned()))
            }
        }
    }
}

/// Shortens a parser's error message: they describe structure, but are not ours to let grow without bound.
fn brief(mut message: String) -> String {
    const MAX: usize = 200;
    if let Some((cut, _)) = message.char_indices().nth(MAX) {
        message.truncate(cut);
        message.push('…');
    }
    message
}

/// Runs a parser, turning a panic into [`ExtractError::Panicked`] (the panic message is not kept).
fn catch_panic(parse: impl FnOnce() -> Result<Option<Extracted>>) -> Result<Option<Extracted>> {
    // The closure's captures are dropped with the panic, nothing observes them half-updated.
    panic::catch_unwind(AssertUnwindSafe(parse)).unwrap_or(Err(ExtractError::Panicked))
}

#[cfg(test)]
mod tests;
