//! Why a request failed, as both front ends see it, and the one mapping from a failure to its HTTP status
//! ([`HttpError::http_status_code`]). The API renders an [`HttpError`] as problem+json (`api::error`), the web
//! UI as an error page (`web::error`); both take the status, the reason they may show and the headers from here.

use crate::model::Finding;
use crate::service;
use axum::http::StatusCode;

/// A failed request: from the service, or from the request itself.
#[derive(Debug)]
pub enum HttpError {
    /// From the service layer.
    Service(service::Error),
    /// The request could not be understood (bad JSON, bad multipart, bad id) — 400.
    BadRequest(String),
    /// Well-formed but unacceptable input — 422.
    Unprocessable(String),
    /// The body is larger than allowed — 413.
    TooLarge(String),
    /// The content type is not accepted — 415.
    UnsupportedMediaType(String),
    /// No such route — 404.
    NoRoute,
    /// The route exists but not with this method — 405.
    MethodNotAllowed,
    /// A blocking task failed (panicked or was cancelled) — 500.
    Task(String),
}

impl From<service::Error> for HttpError {
    fn from(e: service::Error) -> Self {
        HttpError::Service(e)
    }
}

/// The status of a service error: the single mapping, exhaustive so a new error must be given one.
pub fn status_of(e: &service::Error) -> StatusCode {
    use service::Error as E;
    match e {
        E::Unauthorized(_) => StatusCode::UNAUTHORIZED,
        E::Forbidden(_) | E::PasswordChangeRequired => StatusCode::FORBIDDEN,
        E::NotFound(_) => StatusCode::NOT_FOUND,
        E::BadRequest(_) => StatusCode::BAD_REQUEST,
        E::Invalid { .. } => StatusCode::UNPROCESSABLE_ENTITY,
        E::PreconditionFailed { .. } => StatusCode::PRECONDITION_FAILED,
        E::PreconditionRequired => StatusCode::PRECONDITION_REQUIRED,
        E::Conflict(_) => StatusCode::CONFLICT,
        E::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
        E::TooManyAttempts { .. } => StatusCode::TOO_MANY_REQUESTS,
        E::AuditHold(_) | E::Unavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
        E::Corrupt(_) | E::Store(_) | E::Index(_) | E::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

impl HttpError {
    /// The status of the answer (for a service error, [`status_of`]).
    pub fn http_status_code(&self) -> StatusCode {
        match self {
            HttpError::Service(e) => status_of(e),
            HttpError::BadRequest(_) => StatusCode::BAD_REQUEST,
            HttpError::Unprocessable(_) => StatusCode::UNPROCESSABLE_ENTITY,
            HttpError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            HttpError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            HttpError::NoRoute => StatusCode::NOT_FOUND,
            HttpError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            HttpError::Task(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// Whether the cause is the server's: it goes to the log (see [`HttpError::log_cause`]), never to the
    /// client. A held archive (503) is not: the caller must learn why.
    pub fn is_logged(&self) -> bool {
        match self {
            HttpError::Service(service::Error::AuditHold(_) | service::Error::Unavailable { .. }) => false,
            HttpError::Task(_) => true,
            e => e.http_status_code().is_server_error(),
        }
    }

    /// Logs the cause of a server-side failure (with the request id of the tracing span); nothing otherwise.
    pub fn log_cause(&self) {
        if !self.is_logged() {
            return;
        }
        match self {
            HttpError::Task(e) => tracing::error!(error = %e, "blocking task failed"),
            HttpError::Service(e) => tracing::error!(error = ?e, "request failed"),
            _ => {}
        }
    }

    /// The reason the caller may be shown, in the service's or the request's own words: `None` for a missing
    /// route or method and for a failed task (the front ends say those their own way).
    pub fn reason(&self) -> Option<String> {
        match self {
            HttpError::Service(e) => Some(e.to_string()),
            HttpError::BadRequest(d)
            | HttpError::Unprocessable(d)
            | HttpError::TooLarge(d)
            | HttpError::UnsupportedMediaType(d) => Some(d.clone()),
            HttpError::NoRoute | HttpError::MethodNotAllowed | HttpError::Task(_) => None,
        }
    }

    /// The validation findings of a refused input.
    pub fn findings(&self) -> Option<&[Finding]> {
        match self {
            HttpError::Service(service::Error::Invalid { findings, .. }) => Some(findings),
            _ => None,
        }
    }

    /// When to try again (`Retry-After`, seconds) after too many attempts.
    pub fn retry_after(&self) -> Option<u64> {
        match self {
            HttpError::Service(
                service::Error::TooManyAttempts { retry_after } | service::Error::Unavailable { retry_after, .. },
            ) => Some(*retry_after),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_failures_are_logged_and_a_held_archive_is_not() {
        assert!(HttpError::Task("x".into()).is_logged());
        assert!(HttpError::Service(service::Error::Internal("x".into())).is_logged());
        let held = HttpError::Service(service::Error::AuditHold("behind".into()));
        assert_eq!(held.http_status_code(), StatusCode::SERVICE_UNAVAILABLE);
        assert!(!held.is_logged());
        let stopped = HttpError::Service(service::Error::from(crate::store::Error::Kv(
            crate::store::KvError::Stopped("storage engine: No space left on device".into()),
        )));
        assert_eq!((stopped.http_status_code(), stopped.retry_after()), (StatusCode::SERVICE_UNAVAILABLE, Some(300)));
        assert!(!stopped.is_logged());
        let reason = stopped.reason().unwrap();
        assert!(reason.contains("restart") && !reason.contains("No space"), "{reason}");
        assert!(!HttpError::NoRoute.is_logged());
        assert_eq!(HttpError::TooLarge("x".into()).http_status_code(), StatusCode::PAYLOAD_TOO_LARGE);
    }
}
