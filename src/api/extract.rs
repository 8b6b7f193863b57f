//! Extractors: authentication (`AuthUser`), JSON and path parameters whose rejections become our problem
//! bodies, and the `If-Match` precondition. A handler's signature says what it needs. (The client's address is
//! [`crate::http::source_of`].)

use super::error::ApiError;
use crate::http::{AppState, HttpError, blocking, source_of};
use crate::service::Principal;
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use serde::de::DeserializeOwned;

fn rejection_status(status: StatusCode, text: String) -> HttpError {
    match status {
        StatusCode::PAYLOAD_TOO_LARGE => HttpError::TooLarge(text),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => HttpError::UnsupportedMediaType(text),
        StatusCode::UNPROCESSABLE_ENTITY => HttpError::Unprocessable(text),
        _ => HttpError::BadRequest(text),
    }
}

/// JSON body whose rejection is an [`ApiError`].
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;
    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(v)) => Ok(ApiJson(v)),
            Err(e @ JsonRejection::MissingJsonContentType(_)) => {
                Err(HttpError::UnsupportedMediaType(format!("{e}: send Content-Type: application/json")).into())
            }
            Err(e) => Err(rejection_status(e.status(), e.body_text()).into()),
        }
    }
}

/// Path parameters whose rejection (e.g. a malformed id) is a 400 problem.
pub struct ApiPath<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for ApiPath<T> {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|p| ApiPath(p.0))
            .map_err(|e: PathRejection| HttpError::BadRequest(e.body_text()).into())
    }
}

/// Query parameters whose rejection is a 400 problem.
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|q| ApiQuery(q.0))
            .map_err(|e: QueryRejection| HttpError::BadRequest(e.body_text()).into())
    }
}

/// An authenticated caller (bearer token). Requests without a valid token get 401.
pub struct AuthUser {
    /// The principal.
    pub principal: Principal,
    /// The token presented (to log out).
    pub token: String,
}

/// The bearer token of a request, if any.
pub fn bearer(parts: &Parts) -> Option<String> {
    let value = parts.headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim().to_string())
}

impl FromRequestParts<AppState> for AuthUser {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let token = bearer(parts).ok_or_else(|| {
            HttpError::Service(crate::service::Error::Unauthorized(
                "send Authorization: Bearer <token> (POST /api/v1/auth/login gives one)".into(),
            ))
        })?;
        let source = source_of(parts);
        let archive = state.archive.clone();
        let t = token.clone();
        let principal = blocking(move || archive.sessions().authenticate(&t, &source)).await?;
        // An account whose password the system administrator set may only look at itself, change its password
        // and sign out until its holder has chosen their own.
        // (Inside the nested `/api/v1` router the path comes without its prefix.)
        let path = parts.uri.path();
        let pending_ok =
            matches!(path.strip_prefix("/api/v1").unwrap_or(path), "/me" | "/me/password" | "/auth/logout");
        if principal.user.must_change_password && !pending_ok {
            return Err(HttpError::Service(crate::service::Error::PasswordChangeRequired).into());
        }
        Ok(AuthUser { principal, token })
    }
}

/// The version named by `If-Match` (`"3"`, `3` or `W/"3"`); absent when the header is missing.
pub struct IfMatch(pub Option<u32>);

impl<S: Send + Sync> FromRequestParts<S> for IfMatch {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        let Some(v) = parts.headers.get(header::IF_MATCH) else {
            return Ok(IfMatch(None));
        };
        let s = v.to_str().map_err(|_| HttpError::BadRequest("If-Match is not ASCII".into()))?;
        let n = s.trim().trim_start_matches("W/").trim_matches('"');
        n.parse::<u32>()
            .map(|n| IfMatch(Some(n)))
            .map_err(|_| HttpError::BadRequest(format!("If-Match must name a version such as \"3\", not {s:?}")).into())
    }
}

/// The ETag of a version.
pub fn etag(version: u32) -> String {
    format!("\"{version}\"")
}
