//! The JSON API under `/api/v1` (DESIGN §5): routes, extractors, DTOs and the problem+json answer to a failure.
//! Handlers are thin: they parse, call the service on tokio's blocking pool, and shape the answer. What the web
//! UI shares with it (state, the blocking bridge, the status of a failure, uploads, downloads) is in
//! [`crate::http`]; [`crate::server`] puts the two together.

mod admin;
pub mod error;
mod exchange;
pub mod extract;
mod handlers;
mod reports;
mod requests;
pub mod views;

use crate::http::{AppState, HttpError, LOGIN_BODY_LIMIT, blocking};
use axum::Router;
use axum::extract::{DefaultBodyLimit, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use error::ApiError;

/// `GET /metrics`: Prometheus text; behind `Authorization: Bearer <DANGAN_METRICS_TOKEN>` when one is set.
async fn metrics(State(st): State<AppState>, headers: axum::http::HeaderMap) -> Response {
    if let Some(want) = st.archive.config().metrics_token.clone() {
        let given = headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .unwrap_or_default();
        if !crate::crypto::ct_eq(given.trim().as_bytes(), want.as_bytes()) {
            return ApiError::from(crate::service::Error::Unauthorized(
                "send Authorization: Bearer <the metrics token>".into(),
            ))
            .into_response();
        }
    }
    let archive = st.archive.clone();
    match blocking(move || archive.operations().render_metrics()).await {
        Ok(text) => {
            ([(axum::http::header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], text).into_response()
        }
        Err(e) => ApiError(e).into_response(),
    }
}

/// Whether a path is the API's (its failures are problem+json).
pub fn is_api_path(path: &str) -> bool {
    path == "/api" || path.starts_with("/api/")
}

/// A failure as the API answers it (problem+json), for the server's fallbacks and gates.
pub fn problem(e: HttpError) -> Response {
    ApiError(e).into_response()
}

/// The API's routes (`/api/v1/…` and `/metrics`), without the server's layers (see [`crate::server::router`]).
pub fn router() -> Router<AppState> {
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
    Router::new().nest("/api/v1", v1).route("/metrics", get(metrics))
}
