//! The JSON API under `/api/v1` (DESIGN §5): routes, extractors, DTOs and the problem+json answer to a failure.
//! Handlers are thin: they parse, call the service on tokio's blocking pool, and shape the answer. What the web
//! UI shares with it (state, the blocking bridge, the status of a failure, uploads, downloads) is in
//! [`crate::http`]; [`crate::server`] puts the two together.

mod admin;
pub mod error;
mod exchange;
pub mod extract;
mod materials;
mod persons;
mod reports;
mod requests;
mod search;
mod session;
mod system;
pub mod views;

use crate::http::{AppState, HttpError, LOGIN_BODY_LIMIT};
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use error::ApiError;

/// Sets the ETag of an answer to the record's version.
fn with_etag(mut resp: Response, version: u32) -> Response {
    if let Ok(v) = HeaderValue::from_str(&extract::etag(version)) {
        resp.headers_mut().insert(header::ETAG, v);
    }
    resp
}

/// The reason for a change the client gave in `x-change-reason` (at most 500 characters).
fn reason_of(headers: &HeaderMap) -> Option<String> {
    headers.get("x-change-reason").and_then(|v| v.to_str().ok()).map(|s| s.chars().take(500).collect())
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
        .route("/health", get(system::health))
        .route("/openapi.json", get(system::openapi))
        .route("/auth/login", post(session::login).layer(DefaultBodyLimit::max(LOGIN_BODY_LIMIT)))
        .route("/auth/logout", post(session::logout))
        .route("/me", get(session::me))
        .route("/me/password", post(session::change_password))
        .route("/me/totp", post(session::begin_totp))
        .route("/me/totp/confirm", post(session::confirm_totp))
        .route("/users", get(admin::users).post(admin::create_user))
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
        .route("/persons", post(persons::create_person).get(persons::list_persons))
        .route("/persons/{id}", get(persons::get_person).patch(persons::patch_person))
        .route("/persons/{id}/versions", get(persons::person_versions))
        .route("/persons/{id}/materials", post(materials::upload_material).get(materials::catalogue))
        .route("/materials/{id}", get(materials::get_material).patch(materials::patch_material))
        .route("/materials/{id}/content", get(materials::material_content).put(materials::replace_content))
        .route("/materials/{id}/versions", get(materials::material_versions))
        .route("/materials/{id}/versions/{n}/content", get(materials::version_content))
        .route("/search", get(search::search))
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
    Router::new().nest("/api/v1", v1).route("/metrics", get(system::metrics))
}
