//! The JSON API under `/api/v1` (DESIGN §5): routes, extractors, DTOs and the problem+json answer to a failure.
//! Handlers are thin: they parse, call the service on tokio's blocking pool, and shape the answer. What the web
//! UI shares with it (state, the blocking bridge, the status of a failure, uploads, downloads) is in
//! [`crate::http`]; [`crate::server`] puts the two together.

mod admin;
mod catalogue;
mod consultations;
mod contracts;
mod custody;
mod digitisation;
mod doc;
pub mod error;
mod exchange;
pub mod extract;
mod intake;
mod materials;
mod persons;
mod receiving;
mod reports;
mod requests;
mod review;
mod schemas;
mod search;
mod session;
mod system;
pub mod views;

use crate::http::{AppState, HttpError, LOGIN_BODY_LIMIT};
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use error::ApiError;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// Sets the ETag of an answer to the record's version.
fn with_etag(mut resp: Response, version: u32) -> Response {
    if let Ok(v) = HeaderValue::from_str(&extract::etag(version)) {
        resp.headers_mut().insert(header::ETAG, v);
    }
    resp
}

/// The reason for a change the client gave in `x-change-reason` (at most 500 characters). Reasons are mostly
/// Chinese: the value is read as UTF-8 (as curl and most clients send it), or percent-decoded when it is ASCII
/// with `%XX` escapes (what a browser's `fetch` must send, e.g. `encodeURIComponent("整理")`).
fn reason_of(headers: &HeaderMap) -> Option<String> {
    let raw = String::from_utf8_lossy(headers.get("x-change-reason")?.as_bytes()).into_owned();
    let decoded = match percent_encoding::percent_decode_str(&raw).decode_utf8() {
        Ok(d) if raw.is_ascii() && d != raw => d.into_owned(),
        _ => raw,
    };
    let reason: String = decoded.trim().chars().filter(|c| !c.is_control()).take(500).collect();
    (!reason.is_empty()).then_some(reason)
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
    parts().0
}

/// The router and the OpenAPI document, from one list of handlers: `routes!` takes each handler's
/// `#[utoipa::path]` (method and path) both to route it and to document it (DESIGN §5, [`doc`]).
fn parts() -> (Router<AppState>, utoipa::openapi::OpenApi) {
    let login = {
        let (schemas, paths, method) = routes!(session::login);
        (schemas, paths, method.layer(DefaultBodyLimit::max(LOGIN_BODY_LIMIT)))
    };
    let v1 = OpenApiRouter::with_openapi(doc::ApiDoc::openapi())
        .routes(routes!(system::health))
        .routes(routes!(doc::openapi))
        .routes(login)
        .routes(routes!(session::logout))
        .routes(routes!(session::me))
        .routes(routes!(session::change_password))
        .routes(routes!(session::begin_totp))
        .routes(routes!(session::confirm_totp))
        .routes(routes!(admin::users, admin::create_user))
        .routes(routes!(admin::update_user))
        .routes(routes!(admin::reset_password))
        .routes(routes!(admin::backup))
        .routes(routes!(admin::audit))
        .routes(routes!(admin::audit_verify))
        .routes(routes!(admin::audit_checkpoints))
        .routes(routes!(admin::acknowledge_rollback))
        .routes(routes!(admin::get_policy, admin::put_policy))
        .routes(routes!(admin::explain))
        .routes(routes!(admin::review))
        .routes(routes!(admin::create_batch, admin::list_batches))
        .routes(routes!(admin::file_in_batch, admin::batch_materials))
        .routes(routes!(admin::request_grant, admin::list_grants))
        .routes(routes!(admin::get_grant))
        .routes(routes!(admin::decide_grant))
        .routes(routes!(admin::revoke_grant))
        .routes(routes!(persons::create_person, persons::list_persons))
        .routes(routes!(persons::get_person, persons::patch_person))
        .routes(routes!(persons::person_versions))
        .routes(routes!(review::get_review, review::record_review))
        .routes(routes!(materials::upload_material, materials::catalogue))
        .routes(routes!(catalogue::numbered_catalogue))
        .routes(routes!(catalogue::arrange))
        .routes(routes!(intake::receive))
        .routes(routes!(intake::queue))
        .routes(routes!(intake::file))
        .routes(routes!(materials::get_material, materials::patch_material))
        .routes(routes!(materials::material_content, materials::replace_content))
        .routes(routes!(materials::material_versions))
        .routes(routes!(materials::version_content))
        .routes(routes!(materials::version_diff))
        .routes(routes!(search::search))
        .routes(routes!(requests::create, requests::list))
        .routes(routes!(requests::get, requests::revise))
        .routes(routes!(requests::submit))
        .routes(routes!(requests::withdraw))
        .routes(routes!(requests::decide))
        .routes(routes!(requests::comment))
        .routes(routes!(requests::get_definitions, requests::put_definitions))
        .routes(routes!(requests::inbox))
        .routes(routes!(requests::notifications))
        .routes(routes!(reports::turnaround))
        .routes(routes!(reports::structure))
        .routes(routes!(reports::completeness))
        .routes(routes!(reports::dossier_completeness))
        .routes(routes!(reports::findings))
        .routes(routes!(reports::digitization))
        .routes(routes!(reports::review))
        .routes(routes!(exchange::start_import))
        .routes(routes!(exchange::get_import))
        .routes(routes!(exchange::export_package))
        .routes(routes!(exchange::import_package))
        // 转入 and 审核入库 (issue 15 item 4).
        .routes(routes!(receiving::receive, receiving::queue))
        .routes(routes!(receiving::review))
        .routes(routes!(receiving::accept))
        .routes(routes!(receiving::return_package))
        // 查(借)阅 (issue 15 item 5)
        .routes(routes!(consultations::put_letter, consultations::get_letter))
        .routes(routes!(consultations::view_material))
        .routes(routes!(reports::consultations))
        // Custody, transfers out, loans (docs/DOMAIN.md §4c).
        .routes(routes!(custody::get_custody, custody::update_custody))
        .routes(routes!(custody::inbox))
        .routes(routes!(custody::mark_filed))
        .routes(routes!(custody::list_transfers))
        .routes(routes!(custody::transfer_package))
        .routes(routes!(custody::load_receipt))
        .routes(routes!(custody::register))
        .routes(routes!(custody::list_loans, custody::lend))
        .routes(routes!(custody::return_loan))
        // Digitisation: pages and quality control (docs/DOMAIN.md §2d).
        .routes(routes!(digitisation::get_batch))
        .routes(routes!(digitisation::finish_scanning))
        .routes(routes!(digitisation::hand_over))
        .routes(routes!(digitisation::review))
        .routes(routes!(digitisation::record_defect))
        .routes(routes!(digitisation::decide))
        .routes(routes!(digitisation::rescans))
        .routes(routes!(digitisation::get_page, digitisation::replace_page, digitisation::remove_page))
        .routes(routes!(digitisation::get_pages_zip))
        .routes(routes!(digitisation::add_pages))
        .routes(routes!(digitisation::reorder_pages))
        // The contract register and legal's review notes (docs/DOMAIN.md §4e).
        .routes(routes!(contracts::register))
        .routes(routes!(contracts::reminders))
        .routes(routes!(contracts::report))
        .routes(routes!(contracts::get_contract, contracts::put_contract))
        .routes(routes!(contracts::propose))
        .routes(routes!(contracts::list_notes, contracts::add_note))
        .routes(routes!(contracts::resolve_note));
    let (v1, mut document) = v1.split_for_parts();
    // `/metrics` is outside `/api/v1`: its path item names its own server.
    let (outside, metrics) = OpenApiRouter::new().routes(routes!(system::metrics)).split_for_parts();
    for (path, mut item) in metrics.paths.paths {
        item.servers = Some(vec![utoipa::openapi::Server::new("/")]);
        document.paths.paths.insert(path, item);
    }
    (Router::new().nest("/api/v1", v1).merge(outside), doc::finish(document))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reason(value: &[u8]) -> Option<String> {
        let mut h = HeaderMap::new();
        h.insert("x-change-reason", axum::http::HeaderValue::from_bytes(value).unwrap());
        reason_of(&h)
    }

    #[test]
    fn a_change_reason_in_chinese_arrives_whether_sent_raw_or_percent_encoded() {
        assert_eq!(reason("整理目录".as_bytes()).as_deref(), Some("整理目录"));
        assert_eq!(reason(b"%E6%95%B4%E7%90%86").as_deref(), Some("整理"));
        assert_eq!(reason(b"raise 5% of salary").as_deref(), Some("raise 5% of salary"));
        assert_eq!(reason(b"  ").as_deref(), None);
        assert_eq!(reason("晋".repeat(600).as_bytes()).map(|r| r.chars().count()), Some(500));
    }
}
