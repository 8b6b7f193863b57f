//! DOCX (Office Open XML): the text runs of `word/document.xml`, read as a stream with quick-xml from a zip
//! entry whose decompressed size is counted as it is read, so a zip bomb stops at the limit whatever its
//! headers claim.

use std::io::{self, BufReader, Cursor, Read};

use quick_xml::events::{BytesRef, Event};

use super::ExtractError;

/// The part of a DOCX that holds the body text.
const DOCUMENT_PART: &str = "word/document.xml";
/// Largest decompressed `word/document.xml` accepted (a 1000-page report is a few MiB).
pub(super) const MAX_PART_BYTES: u64 = 64 * 1024 * 1024;
/// Largest compression ratio accepted; ordinary WordprocessingML compresses 5–30×.
pub(super) const MAX_RATIO: u64 = 200;
/// The ratio is judged only past this many decompressed bytes: tiny parts compress absurdly well and harm no one.
const RATIO_GRACE_BYTES: u64 = 1024 * 1024;

/// The text of a DOCX: paragraphs on lines, `<w:tab/>` as a tab, table cells separated by tabs and rows on
/// lines. Stops collecting after roughly `max_chars` characters.
pub(super) fn extract(bytes: &[u8], max_chars: usize) -> Result<String, ExtractError> {
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes))
        .map_err(|e| ExtractError::Unreadable(format!("not a DOCX (no readable zip archive): {e}")))?;
    let part = match archive.by_name(DOCUMENT_PART) {
        Ok(part) => part,
        Err(zip::result::ZipError::FileNotFound) => {
            return Err(ExtractError::Unreadable(format!("not a DOCX: no {DOCUMENT_PART}")));
        }
        Err(e) => {
            return Err(ExtractError::Unreadable(format!("cannot open {DOCUMENT_PART}: {e}")));
        }
    };
    // The headers are checked first (cheap), then the stream itself, because headers can lie.
    let guard = BombGuard::new(part.compressed_size());
    guard.check(part.size())?;
    let reader = BufReader::new(Guarded { inner: part, guard, read: 0 });
    collect_text(reader, max_chars.saturating_mul(4).max(1024))
}

/// The limits on one decompressed zip entry.
#[derive(Clone, Copy, Debug)]
struct BombGuard {
    compressed: u64,
}

impl BombGuard {
    fn new(compressed: u64) -> Self {
        BombGuard { compressed }
    }

    /// Whether `decompressed` bytes out of this entry are still acceptable.
    fn check(self, decompressed: u64) -> Result<(), ExtractError> {
        if decompressed > MAX_PART_BYTES {
            return Err(ExtractError::TooLarge {
                what: format!("decompressed size of {DOCUMENT_PART} (bytes)"),
                limit: MAX_PART_BYTES,
            });
        }
        if decompressed > RATIO_GRACE_BYTES && decompressed > self.compressed.saturating_mul(MAX_RATIO) {
            return Err(ExtractError::TooLarge {
                what: format!("compression ratio of {DOCUMENT_PART}"),
                limit: MAX_RATIO,
            });
        }
        Ok(())
    }
}

/// A reader that counts decompressed bytes and fails once the [`BombGuard`] refuses them.
struct Guarded<R> {
    inner: R,
    guard: BombGuard,
    read: u64,
}

/// The I/O error payload by which [`Guarded`] stops a read; recognised again in [`collect_text`].
#[derive(Debug)]
struct Refused(ExtractError);

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for Refused {}

impl<R: Read> Read for Guarded<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read = self.read.saturating_add(n as u64);
        self.guard.check(self.read).map_err(|e| io::Error::other(Refused(e)))?;
        Ok(n)
    }
}

/// Where the reader is in the WordprocessingML tree, as far as text layout cares.
#[derive(Default)]
struct Layout {
    text: String,
    /// Inside `<w:t>` (or `<a:t>`, `<m:t>`: text in text boxes and equations counts too).
    in_text: bool,
    /// Depth of `<w:tabs>` (tab stop definitions, whose `<w:tab>` children are not tab characters).
    in_tab_stops: u32,
    /// Depth of table cells.
    in_cell: u32,
}

impl Layout {
    fn start(&mut self, local_name: &[u8]) {
        match local_name {
            b"t" => self.in_text = true,
            b"tabs" => self.in_tab_stops += 1,
            b"tc" => self.in_cell += 1,
            _ => self.empty(local_name),
        }
    }

    fn empty(&mut self, local_name: &[u8]) {
        match local_name {
            b"tab" if self.in_tab_stops == 0 => self.text.push('\t'),
            b"br" | b"cr" => self.line_break(),
            _ => {}
        }
    }

    fn end(&mut self, local_name: &[u8]) {
        match local_name {
            b"t" => self.in_text = false,
            b"tabs" => self.in_tab_stops = self.in_tab_stops.saturating_sub(1),
            b"p" => self.line_break(),
            b"tc" => {
                self.in_cell = self.in_cell.saturating_sub(1);
                trim_end_inline(&mut self.text);
                self.text.push('\t');
            }
            b"tr" => {
                trim_end_inline(&mut self.text);
                self.text.push('\n');
            }
            _ => {}
        }
    }

    /// A paragraph end or break: a new line, except inside a table cell where it keeps the row on one line.
    fn line_break(&mut self) {
        self.text.push(if self.in_cell > 0 { ' ' } else { '\n' });
    }

    fn characters(&mut self, text: &str) {
        if self.in_text {
            self.text.push_str(text);
        }
    }
}

/// Removes trailing spaces and tabs (not line breaks) from the text built so far.
fn trim_end_inline(text: &mut String) {
    let kept = text.trim_end_matches([' ', '\t']).len();
    text.truncate(kept);
}

/// Walks `document.xml`, collecting at most about `max_bytes` of text.
fn collect_text(reader: impl io::BufRead, max_bytes: usize) -> Result<String, ExtractError> {
    let mut xml = quick_xml::Reader::from_reader(reader);
    xml.config_mut().trim_text(false);
    let mut layout = Layout::default();
    let mut buf = Vec::new();
    loop {
        let event = xml.read_event_into(&mut buf).map_err(xml_error)?;
        match event {
            Event::Start(e) => layout.start(e.local_name().as_ref()),
            Event::Empty(e) => layout.empty(e.local_name().as_ref()),
            Event::End(e) => layout.end(e.local_name().as_ref()),
            Event::Text(e) => layout.characters(&e.xml10_content().map_err(|e| bad_xml(&e))?),
            Event::CData(e) => layout.characters(&String::from_utf8_lossy(&e)),
            Event::GeneralRef(e) => {
                if let Some(c) = resolve_reference(&e) {
                    layout.characters(c.encode_utf8(&mut [0; 4]));
                }
            }
            Event::Eof => break,
            _ => {}
        }
        if layout.text.len() > max_bytes {
            break;
        }
        buf.clear();
    }
    Ok(layout.text)
}

/// The character an entity or character reference stands for (unknown entities are dropped).
fn resolve_reference(reference: &BytesRef<'_>) -> Option<char> {
    if let Ok(Some(c)) = reference.resolve_char_ref() {
        return Some(c);
    }
    let name = reference.decode().ok()?;
    quick_xml::escape::resolve_predefined_entity(&name)?.chars().next()
}

/// Maps a quick-xml error: a refusal of the bomb guard comes back as itself, everything else is damage.
fn xml_error(error: quick_xml::Error) -> ExtractError {
    if let quick_xml::Error::Io(io) = &error
        && let Some(Refused(refusal)) = io.get_ref().and_then(|inner| inner.downcast_ref::<Refused>())
    {
        return refusal.clone();
    }
    bad_xml(&error)
}

fn bad_xml(error: &dyn std::fmt::Display) -> ExtractError {
    ExtractError::Unreadable(super::brief(format!("damaged {DOCUMENT_PART}: {error}")))
}
