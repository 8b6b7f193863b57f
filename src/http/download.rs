//! Files sent to the client (`Content-Disposition`, RFC 6266 / 5987) and the one percent-encoding of a URL
//! query value (also the `filename*` of a disposition).

use axum::body::Body;
use axum::http::{HeaderValue, header};
use axum::response::Response;

/// What [`urlencode`] leaves as it is: RFC 3986's unreserved set (ASCII letters, digits and `-_.~`), which is
/// also RFC 5987's `attr-char` less its extra marks.
const ENCODED: &percent_encoding::AsciiSet =
    &percent_encoding::NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~');

/// Percent-encodes a query value or an RFC 5987 file name (everything but the unreserved set, in UTF-8).
pub fn urlencode(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, ENCODED).to_string()
}

/// How a browser is to treat a file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Disposition {
    /// Shown in the page (the viewer).
    Inline,
    /// Saved as a download.
    Attachment,
}

/// `attachment; filename="…"; filename*=UTF-8''…` (or `inline; …`): the name in ASCII for old clients and in
/// full, percent-encoded UTF-8.
pub fn content_disposition(kind: Disposition, name: &str) -> String {
    let kind = match kind {
        Disposition::Inline => "inline",
        Disposition::Attachment => "attachment",
    };
    let ascii: String =
        name.chars().map(|c| if c.is_ascii_alphanumeric() || ".-_ ".contains(c) { c } else { '_' }).collect();
    format!("{kind}; filename=\"{ascii}\"; filename*=UTF-8''{}", urlencode(name))
}

/// A file: the body with its media type, `Content-Disposition` naming the file, and `Cache-Control: no-store`
/// (nothing of an archive is kept in a cache).
pub fn file_response(body: impl Into<Body>, mime: &str, kind: Disposition, file_name: &str) -> Response {
    let mut resp = Response::new(body.into());
    let h = resp.headers_mut();
    let mime = HeaderValue::from_str(mime).unwrap_or(HeaderValue::from_static("application/octet-stream"));
    h.insert(header::CONTENT_TYPE, mime);
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Ok(v) = HeaderValue::from_str(&content_disposition(kind, file_name)) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    resp
}

/// A download: [`file_response`] as an attachment.
pub fn attachment(body: impl Into<Body>, mime: &str, file_name: &str) -> Response {
    file_response(body, mime, Disposition::Attachment, file_name)
}

/// A body streamed from a blob's chunks: a blocking thread decrypts them one at a time into a small pipe, so a
/// download of any size holds a chunk or two. A chunk that fails ends the body early (logged).
pub fn chunked_body(chunks: crate::service::BlobChunks) -> Body {
    let (mut writer, reader) = tokio::io::duplex(256 * 1024);
    let runtime = tokio::runtime::Handle::current();
    tokio::task::spawn_blocking(move || {
        use tokio::io::AsyncWriteExt;
        for chunk in chunks {
            match chunk {
                Ok(c) => {
                    if runtime.block_on(writer.write_all(&c)).is_err() {
                        return; // the client went away
                    }
                }
                Err(e) => {
                    tracing::error!(error = %e, "a download stopped: stored data failed verification");
                    return;
                }
            }
        }
        let _ = runtime.block_on(writer.shutdown());
    });
    Body::from_stream(tokio_util::io::ReaderStream::new(reader))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_given_in_ascii_and_in_full() {
        assert_eq!(urlencode("晋升 a/b~"), "%E6%99%8B%E5%8D%87%20a%2Fb~");
        assert_eq!(
            content_disposition(Disposition::Attachment, "简历 1.pdf"),
            "attachment; filename=\"__ 1.pdf\"; filename*=UTF-8''%E7%AE%80%E5%8E%86%201.pdf"
        );
        assert!(content_disposition(Disposition::Inline, "a\"b").starts_with("inline; filename=\"a_b\";"));
    }
}
