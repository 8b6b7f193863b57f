//! The one place a failure of a page becomes an answer: no session → a redirect to the login form; a bad
//! anti-forgery token → 403; anything else takes its status from the single mapping of [`HttpError`]
//! ([`HttpError::http_status_code`]; 5xx causes are logged, not shown) and becomes a friendly HTML page with the
//! service's reason (and its validation findings), rendered in the caller's language by the frame around every
//! web response.

use super::layout;
use super::session::{Lang, clear_session_cookie};
use crate::http::{HttpError, urlencode};
use crate::model::Finding;
use crate::service;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use maud::html;
use serde::de::DeserializeOwned;

/// A page's result.
pub type WebResult<T> = Result<T, WebError>;

/// Query parameters whose rejection is a friendly 400 page.
pub struct WebQuery<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for WebQuery<T> {
    type Rejection = WebError;
    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, WebError> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|q| WebQuery(q.0))
            .map_err(|e| WebError::bad_request(e.body_text()))
    }
}

/// A URL-encoded form whose rejection is a friendly page (400, 413 or 415).
pub struct WebForm<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for WebForm<T> {
    type Rejection = WebError;
    async fn from_request(req: Request, state: &S) -> Result<Self, WebError> {
        axum::Form::<T>::from_request(req, state).await.map(|f| WebForm(f.0)).map_err(|e| match e.status() {
            StatusCode::PAYLOAD_TOO_LARGE => WebError::Http(HttpError::TooLarge(e.body_text())),
            StatusCode::UNSUPPORTED_MEDIA_TYPE => WebError::Http(HttpError::UnsupportedMediaType(e.body_text())),
            _ => WebError::bad_request(e.body_text()),
        })
    }
}

/// A path id; a malformed one is a 400 page.
pub fn parse_id<T: std::str::FromStr>(s: &str) -> WebResult<T> {
    s.parse().map_err(|_| WebError::bad_request(format!("malformed id {:?}", s.chars().take(40).collect::<String>())))
}

/// Why a page could not be served.
#[derive(Debug)]
pub enum WebError {
    /// No valid session: to the login form, then back to `next`.
    Login {
        /// The page to return to.
        next: Option<String>,
        /// Whether a session cookie was sent but is no longer valid (it is cleared).
        expired: bool,
    },
    /// The account must choose its own password first: to the password page.
    PasswordChange,
    /// The form did not carry this session's anti-forgery token (403).
    Csrf,
    /// From the service or the request, with its status ([`HttpError::http_status_code`]).
    Http(HttpError),
}

impl WebError {
    /// A malformed request (400).
    pub fn bad_request(text: impl Into<String>) -> Self {
        WebError::Http(HttpError::BadRequest(text.into()))
    }

    /// An internal failure (500, logged).
    pub fn internal(text: impl Into<String>) -> Self {
        WebError::Http(HttpError::Service(service::Error::Internal(text.into())))
    }
}

impl From<HttpError> for WebError {
    fn from(e: HttpError) -> Self {
        WebError::Http(e)
    }
}

impl From<service::Error> for WebError {
    fn from(e: service::Error) -> Self {
        WebError::Http(HttpError::Service(e))
    }
}

/// An error page waiting to be rendered in the caller's language (carried as a response extension).
#[derive(Clone, Debug)]
pub struct ErrorPage {
    detail: Option<String>,
    findings: Vec<Finding>,
    csrf: bool,
}

fn title(lang: Lang, status: StatusCode) -> &'static str {
    match status.as_u16() {
        400 => lang.t("请求有误", "Bad request"),
        401 => lang.t("需要登录", "Sign-in required"),
        403 => lang.t("无权访问", "Forbidden"),
        404 => lang.t("未找到", "Not found"),
        409 => lang.t("与现有记录冲突", "Conflict"),
        412 => lang.t("记录已被修改", "The record has changed"),
        413 => lang.t("内容过大", "Too large"),
        415 => lang.t("不支持的内容类型", "Unsupported media type"),
        422 => lang.t("校验未通过", "Validation failed"),
        428 => lang.t("需要版本号", "Version required"),
        429 => lang.t("尝试次数过多", "Too many attempts"),
        _ => lang.t("系统内部错误", "Internal error"),
    }
}

impl ErrorPage {
    /// The page, with the status (and other headers) of the answer it replaces.
    pub fn render(self, lang: Lang, old: Response) -> Response {
        let status = old.status();
        let heading = title(lang, status);
        let body = html! {
            section.error-page {
                h1 { (heading) " " span.status { "(" (status.as_u16()) ")" } }
                @if self.csrf {
                    p { (lang.t("表单已失效或来源不明，请返回页面刷新后重试。",
                        "The form has expired or did not come from this site; reload the page and try again.")) }
                }
                @if let Some(d) = &self.detail {
                    p.detail { (d) }
                }
                @if !self.findings.is_empty() {
                    (layout::findings(lang, &self.findings))
                }
                p { a href="/" { (lang.t("返回首页", "Back to the home page")) } }
            }
        };
        let mut resp = (status, layout::page(lang, None, heading, body)).into_response();
        for (k, v) in old.headers() {
            if k == header::SET_COOKIE || k == header::RETRY_AFTER {
                resp.headers_mut().append(k, v.clone());
            }
        }
        resp
    }
}

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        match self {
            WebError::Login { next, expired } => {
                let mut query: Vec<String> = Vec::new();
                if let Some(n) = next {
                    query.push(format!("next={}", urlencode(&n)));
                }
                if expired {
                    query.push("expired=1".into());
                }
                let to = if query.is_empty() { "/login".to_string() } else { format!("/login?{}", query.join("&")) };
                let mut resp = Redirect::to(&to).into_response();
                if expired && let Ok(v) = HeaderValue::from_str(&clear_session_cookie()) {
                    resp.headers_mut().append(header::SET_COOKIE, v);
                }
                resp
            }
            WebError::PasswordChange => Redirect::to("/password").into_response(),
            WebError::Csrf => {
                let mut resp = StatusCode::FORBIDDEN.into_response();
                resp.extensions_mut().insert(ErrorPage { detail: None, findings: Vec::new(), csrf: true });
                resp
            }
            WebError::Http(e) => {
                // The one mapping gives the status; a server failure's cause goes to the log, not to the page.
                let status = e.http_status_code();
                e.log_cause();
                let detail = if status.is_server_error() { None } else { e.reason() };
                let findings = e.findings().map(<[Finding]>::to_vec).unwrap_or_default();
                let mut resp = status.into_response();
                if let Some(v) = e.retry_after().and_then(|s| HeaderValue::from_str(&s.to_string()).ok()) {
                    resp.headers_mut().insert(header::RETRY_AFTER, v);
                }
                resp.extensions_mut().insert(ErrorPage { detail, findings, csrf: false });
                resp
            }
        }
    }
}
