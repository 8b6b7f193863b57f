//! PDF through pdf-extract (and the lopdf it re-exports, for the page count). Parsed once: the document is
//! loaded, decrypted when it only has the empty user password, counted, then rendered to plain text, which is
//! what `pdf_extract::extract_text_from_mem` does, minus a second parse to count pages — with the text cut at
//! each page's start, so that the text knows where each page starts. pdf-extract can panic or spin on hostile
//! files; callers isolate it (see [`super::Extractor`]).

use std::cell::RefCell;
use std::io;
use std::rc::Rc;

use pdf_extract::{MediaBox, OutputDev, OutputError, PlainTextOutput, Transform};

use super::ExtractError;

/// The raw text (before normalisation) of each page, in order, and the number of pages.
pub(super) fn extract(bytes: &[u8]) -> Result<(Vec<String>, u32), ExtractError> {
    let mut document = pdf_extract::Document::load_mem(bytes)
        .map_err(|e| ExtractError::Unreadable(super::brief(format!("not a readable PDF: {e}"))))?;
    if document.is_encrypted() && document.decrypt("").is_err() {
        return Err(ExtractError::Unreadable("the PDF is encrypted with a password".to_owned()));
    }
    let pages = u32::try_from(document.get_pages().len()).unwrap_or(u32::MAX);
    let sink = Sink::default();
    let mut writer = sink.clone();
    let mut output = Paged { text: PlainTextOutput::new(&mut writer as &mut dyn io::Write), sink, pages: Vec::new() };
    pdf_extract::output_doc(&document, &mut output)
        .map_err(|e| ExtractError::Unreadable(super::brief(format!("cannot read the PDF's text: {e}"))))?;
    let mut texts = output.finish();
    texts.resize(texts.len().max(pages as usize), String::new());
    Ok((texts, pages))
}

/// Where the plain-text output writes: shared with [`Paged`], which takes each page's text out of it.
#[derive(Clone, Default)]
struct Sink(Rc<RefCell<Vec<u8>>>);

impl io::Write for Sink {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.borrow_mut().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// pdf-extract's plain-text output, cut into pages: what was written since a page began is that page's text.
struct Paged<'a> {
    text: PlainTextOutput<&'a mut dyn io::Write>,
    sink: Sink,
    pages: Vec<String>,
}

impl Paged<'_> {
    /// Takes what was written since the last cut.
    fn cut(&mut self) -> String {
        let bytes = std::mem::take(&mut *self.sink.0.borrow_mut());
        // The output writes whole `str`s, so this is UTF-8; lossy all the same.
        String::from_utf8(bytes).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
    }

    /// The pages' texts, once the output is done.
    fn finish(mut self) -> Vec<String> {
        // Text written outside any page (none is expected) belongs to the last page.
        let rest = self.cut();
        if let Some(last) = self.pages.last_mut() {
            last.push_str(&rest);
        } else if !rest.is_empty() {
            self.pages.push(rest);
        }
        self.pages
    }
}

impl OutputDev for Paged<'_> {
    fn begin_page(
        &mut self,
        page_num: u32,
        media_box: &MediaBox,
        art_box: Option<(f64, f64, f64, f64)>,
    ) -> Result<(), OutputError> {
        // Anything written between two pages (none is expected) goes with the page before.
        let between = self.cut();
        if let Some(last) = self.pages.last_mut() {
            last.push_str(&between);
        }
        self.text.begin_page(page_num, media_box, art_box)
    }

    fn end_page(&mut self) -> Result<(), OutputError> {
        self.text.end_page()?;
        // The output carries its position over from the page before: a page may begin with the line break or
        // space that this position calls for, which is no text of the page.
        let page = self.cut();
        self.pages.push(page.trim_start().to_owned());
        Ok(())
    }

    fn output_character(
        &mut self,
        trm: &Transform,
        width: f64,
        spacing: f64,
        font_size: f64,
        char: &str,
    ) -> Result<(), OutputError> {
        self.text.output_character(trm, width, spacing, font_size, char)
    }

    fn begin_word(&mut self) -> Result<(), OutputError> {
        self.text.begin_word()
    }

    fn end_word(&mut self) -> Result<(), OutputError> {
        self.text.end_word()
    }

    fn end_line(&mut self) -> Result<(), OutputError> {
        self.text.end_line()
    }
}
