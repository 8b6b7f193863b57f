//! Files coming in: the one multipart reader of the API's uploads and the web UI's file forms (a file part is
//! read chunk by chunk and refused as soon as it passes the body limit), and the start of a batch import from
//! an uploaded zip, the same for both.

use super::{AppState, HttpError, blocking};
use crate::service::Principal;
use crate::service::imports::{self, ImportReport};
use axum::extract::multipart::{Field, MultipartError};
use axum::extract::{FromRequest, Multipart, Request};
use axum::http::StatusCode;

/// Who sends a multipart body: only the words of a refusal differ (a program is told which parts to send, a
/// browser's form is a form).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sender {
    /// A program calling the API.
    Client,
    /// The web UI's form.
    Browser,
}

/// A multipart body, read part by part.
pub struct MultipartReader {
    inner: Multipart,
    file_limit: usize,
    sender: Sender,
}

/// One part of a multipart body.
pub struct Part<'r> {
    field: Field<'r>,
    file_limit: usize,
    sender: Sender,
}

fn part_error(sender: Sender, e: MultipartError) -> HttpError {
    match (e.status(), sender) {
        (StatusCode::PAYLOAD_TOO_LARGE, Sender::Client) => {
            HttpError::TooLarge(format!("{}: the body exceeds the configured limit", e.body_text()))
        }
        (StatusCode::PAYLOAD_TOO_LARGE, Sender::Browser) => HttpError::TooLarge(e.body_text()),
        (_, Sender::Client) => HttpError::BadRequest(format!("malformed multipart body: {}", e.body_text())),
        (_, Sender::Browser) => HttpError::BadRequest(format!("malformed form: {}", e.body_text())),
    }
}

impl MultipartReader {
    /// The body of `req` as multipart/form-data (415 if it is not); a file part may be as large as the body
    /// limit.
    pub async fn from_request(req: Request, st: &AppState, sender: Sender) -> Result<Self, HttpError> {
        let inner = Multipart::from_request(req, st).await.map_err(|e| {
            HttpError::UnsupportedMediaType(match sender {
                Sender::Client => format!("{}: send multipart/form-data with parts `file` and `meta`", e.body_text()),
                Sender::Browser => e.body_text(),
            })
        })?;
        Ok(MultipartReader { inner, file_limit: st.body_limit, sender })
    }

    /// The next part, if any.
    pub async fn next_part(&mut self) -> Result<Option<Part<'_>>, HttpError> {
        let (file_limit, sender) = (self.file_limit, self.sender);
        match self.inner.next_field().await {
            Ok(Some(field)) => Ok(Some(Part { field, file_limit, sender })),
            Ok(None) => Ok(None),
            Err(e) => Err(part_error(sender, e)),
        }
    }
}

impl Part<'_> {
    /// The part's name (empty if it has none).
    pub fn name(&self) -> String {
        self.field.name().unwrap_or_default().to_string()
    }

    /// The file name the sender gave, if any.
    pub fn file_name(&self) -> Option<String> {
        self.field.file_name().map(str::to_string)
    }

    /// The part's bytes, refused (413) as soon as they pass the body limit.
    pub async fn bytes(mut self) -> Result<Vec<u8>, HttpError> {
        let mut buf = Vec::new();
        while let Some(chunk) = self.field.chunk().await.map_err(|e| part_error(self.sender, e))? {
            if buf.len() + chunk.len() > self.file_limit {
                return Err(HttpError::TooLarge(format!("the file exceeds the limit of {} bytes", self.file_limit)));
            }
            buf.extend_from_slice(&chunk);
        }
        Ok(buf)
    }

    /// The part as text; longer than `max` bytes it is refused (413) in the words of `too_large`.
    pub async fn text(self, max: usize, too_large: impl FnOnce() -> String) -> Result<String, HttpError> {
        let sender = self.sender;
        let text = self.field.text().await.map_err(|e| part_error(sender, e))?;
        if text.len() > max {
            return Err(HttpError::TooLarge(too_large()));
        }
        Ok(text)
    }
}

/// The tags of a text field: separated by commas (ASCII or full-width), trimmed, empty ones dropped.
pub fn split_tags(text: &str) -> impl Iterator<Item = &str> {
    text.split([',', '，']).map(str::trim).filter(|t| !t.is_empty())
}

/// Starts a batch import from an uploaded zip (the API's `POST /api/v1/imports` and the web UI's `/imports`): the
/// batch is checked and its catalogue read before anything is filed (a refusal is the answer); the rows are then
/// filed on the blocking pool while the caller gets the report as it stands.
pub async fn start_import(
    st: &AppState,
    principal: Principal,
    bytes: Vec<u8>,
    name: String,
) -> Result<ImportReport, HttpError> {
    if bytes.is_empty() {
        return Err(HttpError::Unprocessable("the batch is empty: send a zip of files with a catalogue.csv".into()));
    }
    let archive = st.archive.clone();
    let p = principal.clone();
    let prepared = blocking(move || {
        let source = imports::zip_source(bytes, archive.config().max_file_size)?;
        archive.prepare_import(&p, &name, Box::new(source))
    })
    .await?;
    let report = prepared.report().clone();
    let archive = st.archive.clone();
    tokio::task::spawn_blocking(move || {
        if let Err(e) = archive.run_import(&principal, prepared, &|_| {}) {
            tracing::error!(error = %e, "batch import failed");
        }
    });
    Ok(report)
}
