//! The HTTP API (DESIGN §5): axum routers, DTOs and the wiring of extractors, limits, request ids and
//! tracing. Handlers are thin: they parse, call the service on tokio's blocking pool, and shape the answer.

mod admin;
pub mod error;
mod exchange;
pub mod extract;
mod handlers;
pub(crate) use handlers::attachment;
mod reports;
mod requests;
pub mod views;

use crate::service::Archive;
use axum::Router;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use axum::routing::{get, post};
use error::ApiError;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;

/// Shared state of the handlers.
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
) -> Result<T, ApiError> {
    match tokio::task::spawn_blocking(f).await {
        Ok(r) => r.map_err(ApiError::from),
        Err(e) => Err(ApiError::Task(e.to_string())),
    }
}

/// Times every request into the archive's HTTP latency histogram.
async fn time_request(State(st): State<AppState>, req: Request, next: Next) -> Response {
    let started = std::time::Instant::now();
    let resp = next.run(req).await;
    st.archive.metrics().http.observe(started.elapsed());
    resp
}

/// `GET /metrics`: Prometheus text; behind `Authorization: Bearer <DANGAN_METRICS_TOKEN>` when one is set.
async fn metrics(State(st): State<AppState>, headers: axum::http::HeaderMap) -> Response {
    use axum::response::IntoResponse;
    if let Some(want) = st.archive.config().metrics_token.clone() {
        let given = headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .unwrap_or_default();
        if !crate::crypto::ct_eq(given.trim().as_bytes(), want.as_bytes()) {
            return ApiError::Service(crate::service::Error::Unauthorized(
                "send Authorization: Bearer <the metrics token>".into(),
            ))
            .into_response();
        }
    }
    let archive = st.archive.clone();
    match blocking(move || archive.render_metrics()).await {
        Ok(text) => {
            ([(axum::http::header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], text).into_response()
        }
        Err(e) => e.into_response(),
    }
}

/// Resolves the client's address once for every request (API and web UI alike), with the configured trusted
/// proxies, into the request's extensions, where [`extract::source_of`] finds it.
async fn resolve_client(State(st): State<AppState>, mut req: Request, next: Next) -> Response {
    let peer = extract::peer_of(req.extensions());
    let client = extract::client_address(peer, req.headers(), &st.archive.config().trusted_proxies);
    req.extensions_mut().insert(extract::ClientAddr(client));
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
    let Some(conflict) = st.archive.audit_hold() else {
        return next.run(req).await;
    };
    let path = req.uri().path();
    if OPEN_WHILE_HELD.contains(&path) {
        return next.run(req).await;
    }
    if path == "/api" || path.starts_with("/api/") {
        let detail = format!(
            "{conflict}. Nothing is served until the security administrator acknowledges it: \
             POST /api/v1/audit/acknowledge-rollback {{\"reason\":…}}"
        );
        return axum::response::IntoResponse::into_response(ApiError::Service(crate::service::Error::AuditHold(
            detail,
        )));
    }
    crate::web::held(st, req).await
}

/// The API router with all layers, for `serve`, `demo` and the tests.
pub fn router(archive: Archive, body_limit: usize) -> Router {
    let state = AppState { archive, body_limit };
    let request_id = HeaderName::from_static("x-request-id");
    let v1 = Router::new()
        .route("/health", get(handlers::health))
        .route("/openapi.json", get(handlers::openapi))
        .route("/auth/login", post(handlers::login).layer(DefaultBodyLimit::max(LOGIN_BODY_LIMIT)))
        .route("/auth/logout", post(handlers::logout))
        .route("/me", get(handlers::me))
        .route("/me/password", post(handlers::change_password))
        .route("/me/totp", post(handlers::begin_totp))
        .route("/me/totp/confirm", post(handlers::confirm_totp))
        .route("/users", get(handlers::users).post(admin::create_user))
        .route("/users/{id}", axum::routing::patch(admin::update_user))
        .route("/users/{id}/password", post(admin::reset_password))
        .route("/backup", get(admin::backup))
        .route("/audit", get(admin::audit))
        .route("/audit/verify", get(admin::audit_verify))
        .route("/audit/checkpoints", get(admin::audit_checkpoints))
        .route("/audit/acknowledge-rollback", post(admin::acknowledge_rollback))
        .route("/policy", get(admin::get_policy).put(admin::put_policy))
        .route("/access/explain", get(admin::explain))
        .route("/access/review", get(admin::review))
        .route("/batches", post(admin::create_batch).get(admin::list_batches))
        .route("/batches/{id}/materials", post(admin::file_in_batch).get(admin::batch_materials))
        .route("/grants", post(admin::request_grant).get(admin::list_grants))
        .route("/grants/{id}", get(admin::get_grant))
        .route("/grants/{id}/decision", post(admin::decide_grant))
        .route("/grants/{id}/revoke", post(admin::revoke_grant))
        .route("/persons", post(handlers::create_person).get(handlers::list_persons))
        .route("/persons/{id}", get(handlers::get_person).patch(handlers::patch_person))
        .route("/persons/{id}/versions", get(handlers::person_versions))
        .route("/persons/{id}/materials", post(handlers::upload_material).get(handlers::catalogue))
        .route("/materials/{id}", get(handlers::get_material).patch(handlers::patch_material))
        .route("/materials/{id}/content", get(handlers::material_content).put(handlers::replace_content))
        .route("/materials/{id}/versions", get(handlers::material_versions))
        .route("/materials/{id}/versions/{n}/content", get(handlers::version_content))
        .route("/search", get(handlers::search))
        .route("/requests", post(requests::create).get(requests::list))
        .route("/requests/{id}", get(requests::get).patch(requests::revise))
        .route("/requests/{id}/submit", post(requests::submit))
        .route("/requests/{id}/withdraw", post(requests::withdraw))
        .route("/requests/{id}/decisions", post(requests::decide))
        .route("/requests/{id}/comments", post(requests::comment))
        .route("/workflows", get(requests::get_definitions).put(requests::put_definitions))
        .route("/inbox", get(requests::inbox))
        .route("/notifications", get(requests::notifications))
        .route("/reports/turnaround", get(reports::turnaround))
        .route("/reports/structure", get(reports::structure))
        .route("/reports/completeness", get(reports::completeness))
        .route("/reports/findings", get(reports::findings))
        .route("/reports/digitization", get(reports::digitization))
        .route("/imports", post(exchange::start_import))
        .route("/imports/{id}", get(exchange::get_import))
        .route("/persons/{id}/package", get(exchange::export_package))
        .route("/packages", post(exchange::import_package));
    Router::new()
        .nest("/api/v1", v1)
        .route("/metrics", get(metrics))
        .merge(crate::web::router())
        // A path under /api/ that no route serves is a problem+json 404; any other is the web UI's 404 page.
        .fallback(|req: axum::extract::Request| async move {
            if req.uri().path() == "/api" || req.uri().path().starts_with("/api/") {
                axum::response::IntoResponse::into_response(ApiError::NoRoute)
            } else {
                crate::web::not_found(req).await
            }
        })
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed })
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
