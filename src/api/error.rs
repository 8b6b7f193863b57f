//! The API's answer to a failure: an [`HttpError`] (status from its one mapping,
//! [`HttpError::http_status_code`]) as a stable `application/problem+json` body (`type`, `title`, `status`,
//! `detail`, and `findings` for validation); 5xx causes are logged with the request id but never sent to the
//! client.

use crate::http::HttpError;
use crate::service;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// An error as the API reports it: problem+json. (The web UI renders the same [`HttpError`] as a page.)
#[derive(Debug)]
pub struct ApiError(pub HttpError);

impl From<HttpError> for ApiError {
    fn from(e: HttpError) -> Self {
        ApiError(e)
    }
}

impl From<service::Error> for ApiError {
    fn from(e: service::Error) -> Self {
        ApiError(HttpError::Service(e))
    }
}

/// An RFC 9457 problem body, sent as `application/problem+json`. `type` is `urn:dangan:problem:<slug>` with slug
/// one of unauthorized, forbidden, password-change-required, not-found, bad-request, validation,
/// precondition-failed, precondition-required, conflict, too-large, throttled, unsupported-media-type,
/// method-not-allowed, corrupt, internal, audit-rollback (503: the store is behind its audit witness), unavailable
/// (503 with Retry-After: the store takes no changes, e.g. stopped after a failed write). 5xx details
/// never carry the cause.
#[derive(Serialize, utoipa::ToSchema)]
pub(super) struct Problem<'a> {
    #[serde(rename = "type")]
    #[schema(pattern = "^urn:dangan:problem:[a-z-]+$", example = "urn:dangan:problem:validation")]
    kind: String,
    #[schema(example = "Validation failed")]
    title: &'a str,
    #[schema(minimum = 400, maximum = 599)]
    status: u16,
    detail: String,
    /// Present only for validation failures (422 from the service layer).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Vec<crate::model::Finding>>)]
    findings: Option<&'a [crate::model::Finding]>,
}

/// The problem type (the slug of `urn:dangan:problem:…`) and its title; the status comes from
/// [`HttpError::http_status_code`].
fn problem_type(e: &HttpError) -> (&'static str, &'static str) {
    use service::Error as E;
    match e {
        HttpError::Service(e) => match e {
            E::Unauthorized(_) => ("unauthorized", "Authentication required"),
            E::Forbidden(_) => ("forbidden", "Forbidden"),
            E::PasswordChangeRequired => ("password-change-required", "Password change required"),
            E::NotFound(_) => ("not-found", "Not found"),
            E::BadRequest(_) => ("bad-request", "Bad request"),
            E::Invalid { .. } => ("validation", "Validation failed"),
            E::PreconditionFailed { .. } => ("precondition-failed", "Version mismatch"),
            E::PreconditionRequired => ("precondition-required", "If-Match required"),
            E::Conflict(_) => ("conflict", "Conflict"),
            E::TooLarge(_) => ("too-large", "Payload too large"),
            E::TooManyAttempts { .. } => ("throttled", "Too many attempts"),
            E::AuditHold(_) => ("audit-rollback", "The audit trail is behind its witness"),
            E::Unavailable { .. } => ("unavailable", "Service unavailable"),
            E::Corrupt(_) => ("corrupt", "Stored data is damaged"),
            E::Store(_) | E::Index(_) | E::Internal(_) => ("internal", "Internal error"),
        },
        HttpError::BadRequest(_) => ("bad-request", "Bad request"),
        HttpError::Unprocessable(_) => ("validation", "Validation failed"),
        HttpError::TooLarge(_) => ("too-large", "Payload too large"),
        HttpError::UnsupportedMediaType(_) => ("unsupported-media-type", "Unsupported media type"),
        HttpError::NoRoute => ("not-found", "Not found"),
        HttpError::MethodNotAllowed => ("method-not-allowed", "Method not allowed"),
        HttpError::Task(_) => ("internal", "Internal error"),
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let e = self.0;
        let status = e.http_status_code();
        let (slug, title) = problem_type(&e);
        // The cause of a server failure goes to the log (with the request id from the tracing span), not to the
        // client.
        e.log_cause();
        let detail = match &e {
            HttpError::Service(service::Error::Corrupt(_)) => {
                "the stored data failed verification; the administrators have been alerted".to_string()
            }
            e if e.is_logged() => "an internal error occurred; it has been logged".to_string(),
            HttpError::NoRoute => "no such resource".to_string(),
            HttpError::MethodNotAllowed => "this resource does not support that method".to_string(),
            e => e.reason().unwrap_or_default(),
        };
        let body = Problem {
            kind: format!("urn:dangan:problem:{slug}"),
            title,
            status: status.as_u16(),
            detail,
            findings: e.findings(),
        };
        let mut resp = (status, axum::Json(body)).into_response();
        let h = resp.headers_mut();
        h.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/problem+json"));
        if let HttpError::Service(service::Error::Unauthorized(_)) = &e {
            h.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer realm=\"dangan\""));
        }
        if let Some(v) = e.retry_after().and_then(|s| HeaderValue::from_str(&s.to_string()).ok()) {
            h.insert(header::RETRY_AFTER, v);
        }
        resp
    }
}
