//! Extractors: authentication (`AuthUser`), JSON and path parameters whose rejections become our problem
//! bodies, and the `If-Match` precondition. A handler's signature says what it needs.

use super::AppState;
use super::error::ApiError;
use crate::service::Principal;
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use serde::de::DeserializeOwned;
use std::net::{IpAddr, SocketAddr};

/// The client's address, resolved once per request by the router (see [`client_address`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientAddr(pub String);

/// The caller's source address, for the login throttle and the audit trail: the [`ClientAddr`] the router
/// resolved (without it, the peer address; `unknown` when there is none, as in in-process tests).
pub fn source_of(parts: &Parts) -> String {
    match parts.extensions.get::<ClientAddr>() {
        Some(c) => c.0.clone(),
        None => client_address(peer_of(&parts.extensions), &HeaderMap::new(), &[]),
    }
}

/// The TCP peer's address, if the server recorded it.
pub fn peer_of(extensions: &axum::http::Extensions) -> Option<IpAddr> {
    extensions.get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip())
}

/// The client's address: the TCP peer's, unless the peer is one of the `trusted` reverse proxies; then the
/// rightmost `X-Forwarded-For` entry that is not itself a trusted proxy (each proxy appends the address it was
/// called from, so entries left of it are whatever the client claimed). A malformed entry there, or none,
/// gives the peer. From any other peer `X-Forwarded-For` is ignored: a client cannot choose its address.
pub fn client_address(peer: Option<IpAddr>, headers: &HeaderMap, trusted: &[IpAddr]) -> String {
    let Some(peer) = peer.map(|p| p.to_canonical()) else {
        return "unknown".into();
    };
    let is_trusted = |ip: IpAddr| trusted.iter().any(|t| t.to_canonical() == ip);
    if !is_trusted(peer) {
        return peer.to_string();
    }
    let mut client = peer;
    for value in headers.get_all("x-forwarded-for").iter().rev() {
        let Ok(value) = value.to_str() else {
            return peer.to_string();
        };
        for entry in value.rsplit(',') {
            let Some(ip) = forwarded_ip(entry) else {
                return peer.to_string();
            };
            if !is_trusted(ip) {
                return ip.to_string();
            }
            // A proxy in the chain: the client is further left (or, if none is, the leftmost proxy itself).
            client = ip;
        }
    }
    client.to_string()
}

/// An `X-Forwarded-For` entry as an address: `192.0.2.7`, `2001:db8::7`, and with a port `192.0.2.7:4711` or
/// `[2001:db8::7]:4711`.
fn forwarded_ip(entry: &str) -> Option<IpAddr> {
    let e = entry.trim();
    e.parse::<IpAddr>()
        .ok()
        .or_else(|| e.parse::<SocketAddr>().ok().map(|s| s.ip()))
        .or_else(|| e.strip_prefix('[')?.strip_suffix(']')?.parse().ok())
        .map(|ip| ip.to_canonical())
}

fn rejection_status(status: StatusCode, text: String) -> ApiError {
    match status {
        StatusCode::PAYLOAD_TOO_LARGE => ApiError::TooLarge(text),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => ApiError::UnsupportedMediaType(text),
        StatusCode::UNPROCESSABLE_ENTITY => ApiError::Unprocessable(text),
        _ => ApiError::BadRequest(text),
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
                Err(ApiError::UnsupportedMediaType(format!("{e}: send Content-Type: application/json")))
            }
            Err(e) => Err(rejection_status(e.status(), e.body_text())),
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
            .map_err(|e: PathRejection| ApiError::BadRequest(e.body_text()))
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
            .map_err(|e: QueryRejection| ApiError::BadRequest(e.body_text()))
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
            ApiError::Service(crate::service::Error::Unauthorized(
                "send Authorization: Bearer <token> (POST /api/v1/auth/login gives one)".into(),
            ))
        })?;
        let source = source_of(parts);
        let archive = state.archive.clone();
        let t = token.clone();
        let principal = super::blocking(move || archive.authenticate(&t, &source)).await?;
        // An account whose password the system administrator set may only look at itself, change its password
        // and sign out until its holder has chosen their own.
        // (Inside the nested `/api/v1` router the path comes without its prefix.)
        let path = parts.uri.path();
        let pending_ok =
            matches!(path.strip_prefix("/api/v1").unwrap_or(path), "/me" | "/me/password" | "/auth/logout");
        if principal.user.must_change_password && !pending_ok {
            return Err(ApiError::Service(crate::service::Error::PasswordChangeRequired));
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
        let s = v.to_str().map_err(|_| ApiError::BadRequest("If-Match is not ASCII".into()))?;
        let n = s.trim().trim_start_matches("W/").trim_matches('"');
        n.parse::<u32>()
            .map(|n| IfMatch(Some(n)))
            .map_err(|_| ApiError::BadRequest(format!("If-Match must name a version such as \"3\", not {s:?}")))
    }
}

/// The ETag of a version.
pub fn etag(version: u32) -> String {
    format!("\"{version}\"")
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn xff(values: &[&'static str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in values {
            h.append("x-forwarded-for", HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn the_client_address_comes_from_trusted_proxies_only() {
        let proxy: IpAddr = "10.0.0.1".parse().unwrap();
        let inner: IpAddr = "10.0.0.2".parse().unwrap();
        let trusted = [proxy, inner];
        let at = |peer: &str, h: &HeaderMap| client_address(Some(peer.parse().unwrap()), h, &trusted);
        // Not from a trusted proxy: the header is ignored.
        assert_eq!(at("192.0.2.9", &xff(&["203.0.113.7"])), "192.0.2.9");
        // From a trusted proxy: the rightmost entry that is not a trusted proxy.
        assert_eq!(at("10.0.0.1", &xff(&["203.0.113.7"])), "203.0.113.7");
        assert_eq!(at("10.0.0.1", &xff(&["198.51.100.1, 203.0.113.7, 10.0.0.2"])), "203.0.113.7");
        assert_eq!(at("10.0.0.1", &xff(&["198.51.100.1, 203.0.113.7", "10.0.0.2"])), "203.0.113.7");
        assert_eq!(at("10.0.0.1", &xff(&["[2001:db8::7]:4711"])), "2001:db8::7");
        assert_eq!(at("10.0.0.1", &xff(&["203.0.113.7:4711"])), "203.0.113.7");
        assert_eq!(at("::ffff:10.0.0.1", &xff(&["203.0.113.7"])), "203.0.113.7");
        // Malformed, or absent: the peer.
        for bad in ["unknown", "", "203.0.113.7, nonsense", "2001:db8::7]"] {
            assert_eq!(at("10.0.0.1", &xff(&[bad])), "10.0.0.1", "{bad:?}");
        }
        assert_eq!(at("10.0.0.1", &HeaderMap::new()), "10.0.0.1");
        // A malformed entry left of the client does not matter: it is never reached.
        assert_eq!(at("10.0.0.1", &xff(&["nonsense, 203.0.113.7"])), "203.0.113.7");
        // Only proxies: the leftmost.
        assert_eq!(at("10.0.0.1", &xff(&["10.0.0.2"])), "10.0.0.2");
        // No peer (in-process): unknown; no trusted proxies: always the peer.
        assert_eq!(client_address(None, &xff(&["203.0.113.7"]), &trusted), "unknown");
        assert_eq!(client_address(Some(proxy), &xff(&["203.0.113.7"]), &[]), "10.0.0.1");
    }
}
