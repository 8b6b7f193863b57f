//! What a file is, judged by its bytes: magic numbers through `infer`, a look inside zip archives for DOCX,
//! then a test for text. The file name only breaks the tie for text-like formats, and is never believed over
//! the content.

use std::io::Cursor;

use super::{MIME_DOCX, MIME_PDF, MIME_UNKNOWN};

/// MIME type of UTF-8 plain text.
const TEXT_UTF8: &str = "text/plain; charset=utf-8";
/// MIME type of UTF-16 plain text (with a byte order mark).
const TEXT_UTF16: &str = "text/plain; charset=utf-16";
/// MIME type of Markdown.
const MARKDOWN: &str = "text/markdown";
/// MIME type of comma-separated values.
const CSV: &str = "text/csv";
/// How far into the file a PDF header may start (readers accept leading junk within the first KiB), and how
/// near its end the `%%EOF` marker must be.
const PDF_WINDOW: usize = 1024;

/// Detects the MIME type from the content (magic bytes via `infer`), falling back to the file name's
/// extension only for text-like formats (`.txt`, `.md`, `.markdown`, `.csv`) and otherwise to
/// `application/octet-stream`.
///
/// Recognises `application/pdf`; DOCX (a zip holding `word/document.xml`; other zips stay `application/zip`);
/// `image/jpeg`, `image/png`, `image/tiff`, `image/gif`, `image/webp`, `image/bmp` (and whatever else `infer`
/// knows); `text/plain; charset=utf-8` for valid UTF-8 without NULs, `text/markdown` and `text/csv` for such
/// text with a `.md`/`.markdown` or `.csv` name; `text/plain; charset=utf-16` for text with a UTF-16 byte
/// order mark. An empty file has no content to judge: it is typed by its text-like extension or unknown.
pub fn sniff_mime(bytes: &[u8], file_name: Option<&str>) -> String {
    let extension = file_name.and_then(extension);
    if bytes.is_empty() {
        return by_extension(extension.as_deref()).unwrap_or(MIME_UNKNOWN).to_owned();
    }
    if let Some(mime) = by_magic(bytes) {
        return mime;
    }
    if let Some(mime) = by_text_content(bytes, extension.as_deref()) {
        return mime.to_owned();
    }
    by_extension(extension.as_deref()).unwrap_or(MIME_UNKNOWN).to_owned()
}

/// The lower-case extension of a file name (`"简历.PDF"` → `"pdf"`).
fn extension(file_name: &str) -> Option<String> {
    let base = file_name.rsplit(['/', '\\']).next().unwrap_or(file_name);
    let (stem, extension) = base.rsplit_once('.')?;
    (!stem.is_empty()).then(|| extension.to_ascii_lowercase())
}

/// Binary formats recognised by their magic bytes; `None` for text and the unknown.
fn by_magic(bytes: &[u8]) -> Option<String> {
    if is_pdf(bytes) {
        return Some(MIME_PDF.to_owned());
    }
    if bytes.starts_with(b"PK\x03\x04") && is_docx(bytes) {
        return Some(MIME_DOCX.to_owned());
    }
    let kind = infer::get(bytes)?;
    match kind.mime_type() {
        // infer guesses DOCX from the first entries' names; only the document part makes it one we can read.
        MIME_DOCX => Some("application/zip".to_owned()),
        // Text is judged below, where the file name can tell Markdown from plain text.
        text if text.starts_with("text/") => None,
        // infer takes any file starting with "BM" for a bitmap ("BMI 指数…" is text).
        "image/bmp" if !is_bmp(bytes) => None,
        // Other weak magic numbers (two or three printable bytes) must not turn a text file into a binary one:
        // real binaries of these kinds are not NUL-free UTF-8.
        _ if is_utf8_text(bytes) => None,
        other => Some(other.to_owned()),
    }
}

/// A PDF header at the start, or within the first KiB when the file also ends like a PDF (so a text that
/// merely mentions `%PDF-1.7` near its start stays text).
fn is_pdf(bytes: &[u8]) -> bool {
    const HEADER: &[u8] = b"%PDF-";
    if bytes.starts_with(HEADER) {
        return true;
    }
    let head = &bytes[..bytes.len().min(PDF_WINDOW)];
    let tail = &bytes[bytes.len().saturating_sub(PDF_WINDOW)..];
    head.windows(HEADER.len()).any(|w| w == HEADER) && tail.windows(5).any(|w| w == b"%%EOF")
}

/// A zip archive holding `word/document.xml`.
fn is_docx(bytes: &[u8]) -> bool {
    zip::ZipArchive::new(Cursor::new(bytes)).is_ok_and(|archive| archive.index_for_name("word/document.xml").is_some())
}

/// A Windows bitmap with a plausible header: reserved fields zero, a known DIB header size.
fn is_bmp(bytes: &[u8]) -> bool {
    let Some(header) = bytes.get(..18) else {
        return false;
    };
    let dib_header_size = u32::from_le_bytes([header[14], header[15], header[16], header[17]]);
    header.starts_with(b"BM")
        && header[6..10] == [0, 0, 0, 0]
        && matches!(dib_header_size, 12 | 16 | 40 | 52 | 56 | 64 | 108 | 124)
}

/// Valid UTF-8 without NUL bytes.
fn is_utf8_text(bytes: &[u8]) -> bool {
    !bytes.contains(&0) && std::str::from_utf8(bytes).is_ok()
}

/// Text judged by its bytes, typed by its name when the name is text-like.
fn by_text_content(bytes: &[u8], extension: Option<&str>) -> Option<&'static str> {
    let utf16 = (bytes.starts_with(b"\xff\xfe") || bytes.starts_with(b"\xfe\xff")) && bytes.len().is_multiple_of(2);
    if utf16 {
        return Some(match extension {
            Some("md" | "markdown") => MARKDOWN,
            Some("csv") => CSV,
            _ => TEXT_UTF16,
        });
    }
    if !is_utf8_text(bytes) {
        return None;
    }
    Some(match extension {
        Some("md" | "markdown") => MARKDOWN,
        Some("csv") => CSV,
        _ => TEXT_UTF8,
    })
}

/// Text-like formats named by their extension, for bytes that are not clean UTF-8 (e.g. a GBK text file).
fn by_extension(extension: Option<&str>) -> Option<&'static str> {
    match extension? {
        "txt" | "text" => Some("text/plain"),
        "md" | "markdown" => Some(MARKDOWN),
        "csv" => Some(CSV),
        _ => None,
    }
}
