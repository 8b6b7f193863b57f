//! The HTTP server's one router: the JSON API ([`crate::api::router`]) and the web UI ([`crate::web::router`])
//! side by side over the shared state of [`crate::http`], with the layers every request passes — the audit hold,
//! latency metrics, the client's address, the body limit, `nosniff`, the request id and tracing — and the
//! fallbacks (an unknown `/api/…` path is a problem+json 404, any other the web UI's 404 page).

use crate::http::{AppState, ClientAddr, HttpError, client_address, peer_of};
use crate::service::Archive;
use axum::Router;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;

/// Times every request into the archive's HTTP latency histogram.
async fn time_request(State(st): State<AppState>, req: Request, next: Next) -> Response {
    let started = std::time::Instant::now();
    let resp = next.run(req).await;
    st.archive.operations().metrics().http.observe(started.elapsed());
    resp
}

/// Resolves the client's address once for every request (API and web UI alike), with the configured trusted
/// proxies, into the request's extensions, where [`crate::http::source_of`] finds it.
async fn resolve_client(State(st): State<AppState>, mut req: Request, next: Next) -> Response {
    let peer = peer_of(req.extensions());
    let client = client_address(peer, req.headers(), &st.archive.config().trusted_proxies);
    req.extensions_mut().insert(ClientAddr(client));
    next.run(req).await
}

/// What a held archive still serves (its store is behind its audit witness): sign-in and sign-out, the health
/// check, and the acknowledgement; in the web UI also the stylesheet and the page that asks for it.
const OPEN_WHILE_HELD: &[&str] = &[
    "/api/v1/auth/login",
    "/api/v1/auth/logout",
    "/api/v1/health",
    "/metrics",
    "/api/v1/audit/acknowledge-rollback",
    "/login",
    "/logout",
    "/assets/app.css",
    "/rollback",
];

/// While the archive is held (see [`crate::service::witness`]), answers everything but [`OPEN_WHILE_HELD`]:
/// under `/api/` with 503 problem+json naming the witnessed point, elsewhere with the web UI's page saying so.
async fn hold_gate(State(st): State<AppState>, req: Request, next: Next) -> Response {
    let Some(conflict) = st.archive.audit_trail().hold() else {
        return next.run(req).await;
    };
    let path = req.uri().path();
    if OPEN_WHILE_HELD.contains(&path) {
        return next.run(req).await;
    }
    if crate::api::is_api_path(path) {
        let detail = format!(
            "{conflict}. Nothing is served until the security administrator acknowledges it: \
             POST /api/v1/audit/acknowledge-rollback {{\"reason\":…}}"
        );
        return crate::api::problem(HttpError::Service(crate::service::Error::AuditHold(detail)));
    }
    crate::web::held(st, req).await
}

/// The whole application with all layers, for `serve`, `demo` and the tests.
pub fn router(archive: Archive, body_limit: usize) -> Router {
    let state = AppState { archive, body_limit };
    let request_id = HeaderName::from_static("x-request-id");
    Router::new()
        .merge(crate::api::router())
        .merge(crate::web::router())
        // A path under /api/ that no route serves is a problem+json 404; any other is the web UI's 404 page.
        .fallback(|req: Request| async move {
            if crate::api::is_api_path(req.uri().path()) {
                crate::api::problem(HttpError::NoRoute)
            } else {
                crate::web::not_found(req).await
            }
        })
        .method_not_allowed_fallback(|| async { crate::api::problem(HttpError::MethodNotAllowed) })
        .layer(axum::middleware::from_fn_with_state(state.clone(), hold_gate))
        .layer(axum::middleware::from_fn_with_state(state.clone(), time_request))
        .layer(axum::middleware::from_fn_with_state(state.clone(), resolve_client))
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(SetResponseHeaderLayer::if_not_present(
            HeaderName::from_static("x-content-type-options"),
            HeaderValue::from_static("nosniff"),
        ))
        .layer(PropagateRequestIdLayer::new(request_id.clone()))
        .layer(TraceLayer::new_for_http().make_span_with(|req: &axum::http::Request<_>| {
            let id = req.headers().get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or("-").to_string();
            // The path only: query strings may hold search words, which are personal data.
            tracing::info_span!("http", method = %req.method(), path = %req.uri().path(), request_id = %id)
        }))
        .layer(SetRequestIdLayer::new(request_id, MakeRequestUuid))
        .with_state(state)
}

/// The router of a node that serves once it holds the store's writer lease (`serve` as a standby, see the
/// CLI). Until [`Switch::set`] gives it the archive's router, a request is forwarded to the writer node where
/// its address is known ([`Switch::forward_to`]; the writer sees the client's address in `X-Forwarded-For`, and
/// trusts it where it lists this node with `--trusted-proxy`), else answered 503 with `Retry-After`;
/// `GET /api/v1/health` always answers for this node itself: 503 `{"status":"standby"}`, so a reverse proxy
/// prefers the writer. From then on every request goes to the archive.
#[derive(Clone)]
pub struct Switch {
    router: std::sync::Arc<std::sync::RwLock<Option<Router>>>,
    writer: std::sync::Arc<std::sync::RwLock<Option<String>>>,
    /// The client that forwards (`None` if it could not be made: then nothing is forwarded).
    client: Option<reqwest::Client>,
}

impl Default for Switch {
    fn default() -> Self {
        // HTTPS with rustls on ring (the process's provider; set once, later calls find it set).
        let _ = rustls::crypto::ring::default_provider().install_default();
        let client = reqwest::Client::builder()
            .connect_timeout(std::time::Duration::from_secs(3))
            .redirect(reqwest::redirect::Policy::none())
            .build();
        if let Err(e) = &client {
            tracing::error!(error = %e, "no HTTP client to forward requests to the writer node");
        }
        Switch { router: Default::default(), writer: Default::default(), client: client.ok() }
    }
}

/// How long a client is asked to wait before asking a standby again.
const STANDBY_RETRY_SECONDS: u64 = 5;

impl Switch {
    /// The router to serve.
    pub fn router(&self) -> Router {
        let switch = self.clone();
        Router::new().fallback(move |req: Request| {
            let switch = switch.clone();
            async move {
                let router = switch.router.read().unwrap_or_else(|p| p.into_inner()).clone();
                if let Some(router) = router {
                    return tower::ServiceExt::oneshot(router, req).await.unwrap_or_else(|never| match never {});
                }
                let writer = switch.writer.read().unwrap_or_else(|p| p.into_inner()).clone();
                match writer {
                    Some(writer) if req.uri().path() != "/api/v1/health" => switch.forward(&writer, req).await,
                    _ => standby(req.uri().path(), "it takes over when that one stops"),
                }
            }
        })
    }

    /// From now on, requests go to `router`.
    pub fn set(&self, router: Router) {
        *self.router.write().unwrap_or_else(|p| p.into_inner()) = Some(router);
    }

    /// Until [`Switch::set`], requests are forwarded to the writer at `writer` (a base URL, `http://host:port`),
    /// or refused (`None`).
    pub fn forward_to(&self, writer: Option<String>) {
        *self.writer.write().unwrap_or_else(|p| p.into_inner()) = writer;
    }

    /// Sends `req` on to the writer and its answer back, both streamed.
    async fn forward(&self, writer: &str, req: Request) -> Response {
        use axum::http::header;
        let Some(client) = &self.client else {
            return standby("", "it takes over when that one stops");
        };
        let (parts, body) = req.into_parts();
        let path = parts.uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
        let mut out = client.request(parts.method.clone(), format!("{}{path}", writer.trim_end_matches('/')));
        for (name, value) in &parts.headers {
            if !is_hop_by_hop(name) && name != header::HOST {
                out = out.header(name, value);
            }
        }
        // This node is a proxy: it appends the address it was called from, as every proxy does.
        if let Some(peer) = peer_of(&parts.extensions) {
            let forwarded = match parts.headers.get("x-forwarded-for").and_then(|v| v.to_str().ok()) {
                Some(before) => format!("{before}, {peer}"),
                None => peer.to_string(),
            };
            out = out.header("x-forwarded-for", forwarded);
        }
        let out = out.body(reqwest::Body::wrap_stream(body.into_data_stream()));
        match out.send().await {
            Ok(answer) => {
                let mut resp = Response::builder().status(answer.status());
                for (name, value) in answer.headers() {
                    if !is_hop_by_hop(name) {
                        resp = resp.header(name, value);
                    }
                }
                resp.body(axum::body::Body::from_stream(answer.bytes_stream()))
                    .unwrap_or_else(|_| standby("", "the writer's answer could not be passed on"))
            }
            Err(e) => {
                tracing::warn!(error = %e, "the writer node cannot be reached");
                standby("", "the writer node cannot be reached just now")
            }
        }
    }
}

/// Headers that belong to one connection, not to the request or answer passed on.
fn is_hop_by_hop(name: &axum::http::HeaderName) -> bool {
    matches!(
        name.as_str(),
        "connection"
            | "keep-alive"
            | "proxy-authenticate"
            | "proxy-authorization"
            | "te"
            | "trailer"
            | "transfer-encoding"
            | "upgrade"
    )
}

/// A standby's answer: 503 with `Retry-After`; for the health check `{"status":"standby"}`.
fn standby(path: &str, then: &str) -> Response {
    use axum::response::IntoResponse;
    let reason = format!("this dangan node is a standby: another node writes the archive; {then}");
    if path == "/api/v1/health" {
        let retry = [(axum::http::header::RETRY_AFTER, STANDBY_RETRY_SECONDS.to_string())];
        let body = serde_json::json!({"status": "standby", "detail": reason});
        return (axum::http::StatusCode::SERVICE_UNAVAILABLE, retry, axum::Json(body)).into_response();
    }
    crate::api::problem(HttpError::Service(crate::service::Error::Unavailable {
        reason,
        retry_after: STANDBY_RETRY_SECONDS,
    }))
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    /// The text of every `.rs` file under `src/<dir>`, with its path.
    fn sources(dir: &str) -> Vec<(String, String)> {
        let mut out = Vec::new();
        let mut todo = vec![Path::new(env!("CARGO_MANIFEST_DIR")).join("src").join(dir)];
        while let Some(d) = todo.pop() {
            for entry in std::fs::read_dir(&d).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    todo.push(path);
                } else if path.extension().is_some_and(|e| e == "rs") {
                    out.push((path.display().to_string(), std::fs::read_to_string(&path).unwrap()));
                }
            }
        }
        assert!(!out.is_empty(), "no sources under src/{dir}");
        out
    }

    /// The server is the only place the API and the web UI meet: neither names the other, and what they share
    /// names neither.
    #[test]
    fn api_and_web_never_use_each_other() {
        let rules: [(&str, &[&str]); 3] = [("api", &["web"]), ("web", &["api"]), ("http", &["api", "web", "server"])];
        for (dir, forbidden) in rules {
            for (path, text) in sources(dir) {
                for module in forbidden {
                    for needle in [format!("crate::{module}"), format!("super::{module}")] {
                        assert!(!text.contains(&needle), "{path} names {needle}");
                    }
                }
            }
        }
    }
}
