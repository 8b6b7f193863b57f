//! Files coming in: the one multipart reader of the API's uploads and the web UI's file forms (a file part is
//! read chunk by chunk and refused as soon as it passes the body limit), and the start of a batch import from
//! an uploaded zip, the same for both.

use super::{AppState, HttpError, blocking};
use crate::service::Principal;
use crate::service::SpooledBlob;
use crate::service::imports::{self, ImportReport};
use axum::body::Bytes;
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

    /// The part streamed into a spool ([`Spooler`]): hashed and sealed as it arrives, refused (413) as soon as
    /// it passes the body limit or the largest file; nothing of it stays on disk if it fails.
    pub async fn spool(mut self, st: &AppState) -> Result<SpooledBlob, HttpError> {
        let mut spooler = Spooler::start(st, self.file_limit);
        loop {
            match self.field.chunk().await {
                Ok(Some(chunk)) => spooler.push(chunk).await?,
                Ok(None) => return spooler.finish().await,
                Err(e) => {
                    spooler.abort().await;
                    return Err(part_error(self.sender, e));
                }
            }
        }
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

/// Messages to a spool's thread: the next bytes, or the end of the content (a channel closed without it is an
/// abandoned upload).
enum SpoolMsg {
    Data(Bytes),
    End,
}

/// Chunks in flight between the body and the spool's thread: with hyper's frames (at most 16 KiB to a few
/// hundred KiB) a few MiB at most.
const SPOOL_CHANNEL: usize = 16;

/// A streamed upload on its way to a spool: the async side [`push`](Spooler::push)es the body's chunks as they
/// arrive into a bounded channel; a blocking thread hashes and seals them into the archive's spool
/// ([`crate::service::Filing::spool`]). Memory stays at a few chunks whatever the size. Dropped midway (the
/// client went away and the handler's future with it), the channel closes without its end and the thread drops
/// the unfinished spool, which removes its file.
pub struct Spooler {
    tx: Option<tokio::sync::mpsc::Sender<SpoolMsg>>,
    task: Option<tokio::task::JoinHandle<crate::service::Result<Option<SpooledBlob>>>>,
    size: u64,
    limit: u64,
}

impl Spooler {
    /// Starts a spool for a body of at most `limit` bytes (and at most the archive's largest file).
    pub fn start(st: &AppState, limit: usize) -> Self {
        let archive = st.archive.clone();
        let limit = (limit as u64).min(archive.config().max_file_size);
        let (tx, mut rx) = tokio::sync::mpsc::channel::<SpoolMsg>(SPOOL_CHANNEL);
        let task = tokio::task::spawn_blocking(move || {
            let mut writer = archive.filing().spool()?;
            while let Some(msg) = rx.blocking_recv() {
                match msg {
                    SpoolMsg::Data(b) => writer.write(&b)?,
                    SpoolMsg::End => return Ok(Some(writer.finish()?)),
                }
            }
            Ok(None)
        });
        Spooler { tx: Some(tx), task: Some(task), size: 0, limit }
    }

    /// Bytes taken so far.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The next bytes of the body; past the limit the spool is abandoned and the answer is 413.
    pub async fn push(&mut self, chunk: Bytes) -> Result<(), HttpError> {
        self.size += chunk.len() as u64;
        if self.size > self.limit {
            self.abort().await;
            return Err(HttpError::TooLarge(format!("the file exceeds the limit of {} bytes", self.limit)));
        }
        let sent = match &self.tx {
            Some(tx) => tx.send(SpoolMsg::Data(chunk)).await.is_ok(),
            None => false,
        };
        if !sent {
            // The spool's thread stopped: it failed (disk full …); its error is the answer.
            self.tx = None;
            return Err(match self.join().await {
                Err(e) => e,
                Ok(_) => HttpError::Task("the spool stopped".into()),
            });
        }
        Ok(())
    }

    /// The end of the body: the spooled content, its address known.
    pub async fn finish(mut self) -> Result<SpooledBlob, HttpError> {
        if let Some(tx) = self.tx.take() {
            // A failed send means the thread stopped with an error, which `join` gives.
            let _ = tx.send(SpoolMsg::End).await;
        }
        self.join().await?.ok_or_else(|| HttpError::Task("the spool stopped".into()))
    }

    /// Abandons the spool and waits until its file is gone.
    pub async fn abort(&mut self) {
        self.tx = None;
        let _ = self.join().await;
    }

    async fn join(&mut self) -> Result<Option<SpooledBlob>, HttpError> {
        match self.task.take() {
            Some(task) => match task.await {
                Ok(r) => r.map_err(HttpError::from),
                Err(e) => Err(HttpError::Task(e.to_string())),
            },
            None => Ok(None),
        }
    }
}

/// Streams a raw request body (not multipart) into a spool, as [`Part::spool`].
pub async fn spool_body(st: &AppState, body: axum::body::Body) -> Result<SpooledBlob, HttpError> {
    use http_body_util::BodyExt;
    let mut body = body;
    let mut spooler = Spooler::start(st, st.body_limit);
    loop {
        match body.frame().await {
            None => return spooler.finish().await,
            Some(Ok(frame)) => {
                if let Ok(data) = frame.into_data() {
                    spooler.push(data).await?;
                }
            }
            Some(Err(e)) => {
                spooler.abort().await;
                return Err(body_error(e));
            }
        }
    }
}

/// A failure reading a raw body: past the body limit 413, else 400.
fn body_error(e: axum::Error) -> HttpError {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(&e);
    while let Some(err) = source {
        if err.is::<http_body_util::LengthLimitError>() {
            return HttpError::TooLarge(format!("the body exceeds the configured limit: {e}"));
        }
        source = err.source();
    }
    HttpError::BadRequest(format!("the body could not be read: {e}"))
}

/// The tags of a text field: separated by commas (ASCII or full-width), trimmed, empty ones dropped.
pub fn split_tags(text: &str) -> impl Iterator<Item = &str> {
    text.split([',', '，']).map(str::trim).filter(|t| !t.is_empty())
}

/// Starts a batch import from an uploaded zip (the API's `POST /api/v1/imports` and the web UI's `/imports`): the
/// batch is checked and its catalogue read before anything is filed (a refusal is the answer); the rows are then
/// filed on the blocking pool while the caller gets the report as it stands. `scheme` names the classification
/// scheme of the catalogue's 类别 (`2018` when empty; `2009`, `1991` are mapped, DOMAIN §2a); `intake` receives the
/// materials into the 待归档 queue instead of filing them.
pub async fn start_import(
    st: &AppState,
    principal: Principal,
    bytes: Vec<u8>,
    name: String,
    scheme: String,
    intake: bool,
) -> Result<ImportReport, HttpError> {
    if bytes.is_empty() {
        return Err(HttpError::Unprocessable("the batch is empty: send a zip of files with a catalogue.csv".into()));
    }
    let archive = st.archive.clone();
    let p = principal.clone();
    let prepared = blocking(move || {
        let source = imports::zip_source(bytes, archive.config().max_file_size)?;
        Ok::<_, crate::service::Error>(
            archive.imports().prepare(&p, &name, Box::new(source), &scheme)?.into_intake(intake),
        )
    })
    .await?;
    let report = prepared.report().clone();
    let archive = st.archive.clone();
    tokio::task::spawn_blocking(move || {
        if let Err(e) = archive.imports().run(&principal, prepared, &|_| {}) {
            tracing::error!(error = %e, "batch import failed");
        }
    });
    Ok(report)
}
