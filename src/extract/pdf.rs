//! PDF through pdf-extract (and the lopdf it re-exports, for the page count). Parsed once: the document is
//! loaded, decrypted when it only has the empty user password, counted, then rendered to plain text, which is
//! what `pdf_extract::extract_text_from_mem` does, minus a second parse to count pages. pdf-extract can panic
//! or spin on hostile files; callers isolate it (see [`super::Extractor`]).

use super::ExtractError;

/// The raw text (before normalisation) and the number of pages.
pub(super) fn extract(bytes: &[u8]) -> Result<(String, u32), ExtractError> {
    let mut document = pdf_extract::Document::load_mem(bytes)
        .map_err(|e| ExtractError::Unreadable(super::brief(format!("not a readable PDF: {e}"))))?;
    if document.is_encrypted() && document.decrypt("").is_err() {
        return Err(ExtractError::Unreadable("the PDF is encrypted with a password".to_owned()));
    }
    let pages = u32::try_from(document.get_pages().len()).unwrap_or(u32::MAX);
    let mut text = String::new();
    pdf_extract::output_doc(&document, &mut pdf_extract::PlainTextOutput::new(&mut text))
        .map_err(|e| ExtractError::Unreadable(super::brief(format!("cannot read the PDF's text: {e}"))))?;
    Ok((text, pages))
}
