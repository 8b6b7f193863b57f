//! What the JSON API (`api`) and the web UI (`web`) share, so that neither needs the other:
//! the handlers' state, the bridge to the blocking service calls, the one mapping from a failure to its HTTP
//! status, the client's address, files sent out (content disposition, URL encoding) and files taken in (the
//! multipart reader, starting a batch import). `server` composes the two routers over this. This module uses
//! neither of them.
//!
//! * `error` — [`HttpError`] and its status ([`HttpError::http_status_code`], [`status_of`]).
//! * `client` — the client's address behind trusted proxies ([`ClientAddr`], [`source_of`]).
//! * `download` — [`attachment`], [`content_disposition`], [`urlencode`].
//! * `upload` — [`MultipartReader`] and [`start_import`].

mod client;
mod download;
mod error;
mod upload;

pub use client::{ClientAddr, client_address, peer_of, source_of};
pub use download::{Disposition, attachment, chunked_body, content_disposition, file_response, urlencode};
pub use error::{HttpError, status_of};
pub use upload::{MultipartReader, Part, Sender, Spooler, split_tags, spool_body, start_import};

use crate::service::Archive;

/// Shared state of the handlers (API and web UI).
#[derive(Clone)]
pub struct AppState {
    /// The archive.
    pub archive: Archive,
    /// Largest request body accepted.
    pub body_limit: usize,
}

/// Largest login body (API and web form): a name and a password fit in far less; a larger body is refused (413)
/// before it is parsed.
pub const LOGIN_BODY_LIMIT: usize = 8 * 1024;

/// Runs a blocking service call on tokio's blocking pool.
pub async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> crate::service::Result<T> + Send + 'static,
) -> Result<T, HttpError> {
    match tokio::task::spawn_blocking(f).await {
        Ok(r) => r.map_err(HttpError::from),
        Err(e) => Err(HttpError::Task(e.to_string())),
    }
}
