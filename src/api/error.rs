//! The one place where errors become HTTP responses: an exhaustive match from error to status, a stable
//! `application/problem+json` body (`type`, `title`, `status`, `detail`, and `findings` for validation), and
//! 5xx causes logged with the request id but never sent to the client.

use crate::service;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// An error as the API reports it.
#[derive(Debug)]
pub enum ApiError {
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

impl From<service::Error> for ApiError {
    fn from(e: service::Error) -> Self {
        ApiError::Service(e)
    }
}

#[derive(Serialize)]
struct Problem<'a> {
    #[serde(rename = "type")]
    kind: String,
    title: &'a str,
    status: u16,
    detail: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    findings: Option<&'a [crate::model::Finding]>,
}

impl ApiError {
    fn parts(&self) -> (StatusCode, &'static str, &'static str) {
        use service::Error as E;
        match self {
            ApiError::Service(e) => match e {
                E::Unauthorized(_) => (StatusCode::UNAUTHORIZED, "unauthorized", "Authentication required"),
                E::Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden", "Forbidden"),
                E::PasswordChangeRequired => {
                    (StatusCode::FORBIDDEN, "password-change-required", "Password change required")
                }
                E::NotFound(_) => (StatusCode::NOT_FOUND, "not-found", "Not found"),
                E::BadRequest(_) => (StatusCode::BAD_REQUEST, "bad-request", "Bad request"),
                E::Invalid { .. } => (StatusCode::UNPROCESSABLE_ENTITY, "validation", "Validation failed"),
                E::PreconditionFailed { .. } => {
                    (StatusCode::PRECONDITION_FAILED, "precondition-failed", "Version mismatch")
                }
                E::PreconditionRequired => {
                    (StatusCode::PRECONDITION_REQUIRED, "precondition-required", "If-Match required")
                }
                E::Conflict(_) => (StatusCode::CONFLICT, "conflict", "Conflict"),
                E::TooLarge(_) => (StatusCode::PAYLOAD_TOO_LARGE, "too-large", "Payload too large"),
                E::TooManyAttempts { .. } => (StatusCode::TOO_MANY_REQUESTS, "throttled", "Too many attempts"),
                E::AuditHold(_) => {
                    (StatusCode::SERVICE_UNAVAILABLE, "audit-rollback", "The audit trail is behind its witness")
                }
                E::Corrupt(_) => (StatusCode::INTERNAL_SERVER_ERROR, "corrupt", "Stored data is damaged"),
                E::Store(_) | E::Index(_) | E::Internal(_) => {
                    (StatusCode::INTERNAL_SERVER_ERROR, "internal", "Internal error")
                }
            },
            ApiError::BadRequest(_) => (StatusCode::BAD_REQUEST, "bad-request", "Bad request"),
            ApiError::Unprocessable(_) => (StatusCode::UNPROCESSABLE_ENTITY, "validation", "Validation failed"),
            ApiError::TooLarge(_) => (StatusCode::PAYLOAD_TOO_LARGE, "too-large", "Payload too large"),
            ApiError::UnsupportedMediaType(_) => {
                (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported-media-type", "Unsupported media type")
            }
            ApiError::NoRoute => (StatusCode::NOT_FOUND, "not-found", "Not found"),
            ApiError::MethodNotAllowed => (StatusCode::METHOD_NOT_ALLOWED, "method-not-allowed", "Method not allowed"),
            ApiError::Task(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal", "Internal error"),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, slug, title) = self.parts();
        let detail = match &self {
            // Expected while the archive is held, and the caller must learn why: neither logged nor hidden.
            ApiError::Service(e @ service::Error::AuditHold(_)) => e.to_string(),
            ApiError::Service(e) if status.is_server_error() => {
                // The cause goes to the log (with the request id from the tracing span), not to the client.
                tracing::error!(error = ?e, "request failed");
                match e {
                    service::Error::Corrupt(_) => {
                        "the stored data failed verification; the administrators have been alerted".to_string()
                    }
                    _ => "an internal error occurred; it has been logged".to_string(),
                }
            }
            ApiError::Task(e) => {
                tracing::error!(error = %e, "blocking task failed");
                "an internal error occurred; it has been logged".to_string()
            }
            ApiError::Service(e) => e.to_string(),
            ApiError::BadRequest(d) | ApiError::Unprocessable(d) | ApiError::TooLarge(d) => d.clone(),
            ApiError::UnsupportedMediaType(d) => d.clone(),
            ApiError::NoRoute => "no such resource".to_string(),
            ApiError::MethodNotAllowed => "this resource does not support that method".to_string(),
        };
        let findings = match &self {
            ApiError::Service(service::Error::Invalid { findings, .. }) => Some(findings.as_slice()),
            _ => None,
        };
        let body =
            Problem { kind: format!("urn:dangan:problem:{slug}"), title, status: status.as_u16(), detail, findings };
        let mut resp = (status, axum::Json(body)).into_response();
        let h = resp.headers_mut();
        h.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/problem+json"));
        match &self {
            ApiError::Service(service::Error::Unauthorized(_)) => {
                h.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer realm=\"dangan\""));
            }
            ApiError::Service(service::Error::TooManyAttempts { retry_after }) => {
                if let Ok(v) = HeaderValue::from_str(&retry_after.to_string()) {
                    h.insert(header::RETRY_AFTER, v);
                }
            }
            _ => {}
        }
        resp
    }
}
