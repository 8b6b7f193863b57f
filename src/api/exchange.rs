//! Handlers for digitization and exchange: batch imports and transfer packages.

use super::error::ApiError;
use super::extract::{ApiPath, AuthUser};
use crate::http::{AppState, HttpError, blocking};
use crate::model::ImportId;
use crate::service::imports::ImportReport;
use axum::Json;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

type ApiResult<T> = Result<T, ApiError>;

/// The body of an import: a zip sent as `application/zip` (or any non-multipart type), or the part `file` of a
/// multipart form.
async fn zip_body(st: &AppState, req: Request) -> ApiResult<(Vec<u8>, String)> {
    let multipart = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("multipart/form-data"));
    if multipart {
        // A zip is read whole (its directory is at its end): streamed in, then read back from the spool.
        let up = super::materials::read_upload(st, req, false).await?;
        let file = up.file;
        let bytes = blocking(move || Ok(file.read_all()?.to_vec())).await?;
        return Ok((bytes, up.file_name.unwrap_or_else(|| "batch.zip".into())));
    }
    let bytes = axum::body::to_bytes(req.into_body(), st.body_limit)
        .await
        .map_err(|_| HttpError::TooLarge(format!("the batch exceeds the limit of {} bytes", st.body_limit)))?;
    Ok((bytes.to_vec(), "batch.zip".into()))
}

pub(super) async fn start_import(State(st): State<AppState>, auth: AuthUser, req: Request) -> ApiResult<Response> {
    let (bytes, name) = zip_body(&st, req).await?;
    let report = crate::http::start_import(&st, auth.principal, bytes, name).await?;
    let mut resp = (StatusCode::ACCEPTED, Json(report.clone())).into_response();
    if let Ok(l) = HeaderValue::from_str(&format!("/api/v1/imports/{}", report.id)) {
        resp.headers_mut().insert(header::LOCATION, l);
    }
    Ok(resp)
}

pub(super) async fn get_import(
    State(st): State<AppState>,
    auth: AuthUser,
    ApiPath(id): ApiPath<ImportId>,
) -> ApiResult<Json<ImportReport>> {
    let archive = st.archive.clone();
    Ok(Json(blocking(move || archive.import_report(&auth.principal, id)).await?))
}

pub(super) async fn export_package(
    State(st): State<AppState>,
    auth: AuthUser,
    ApiPath(person): ApiPath<crate::model::PersonId>,
) -> ApiResult<Response> {
    let archive = st.archive.clone();
    let package = blocking(move || archive.export_package(&auth.principal, person)).await?;
    let mut resp = crate::http::attachment(package.bytes, "application/zip", &package.file_name);
    if let Ok(v) = HeaderValue::from_str(&package.sha256) {
        resp.headers_mut().insert("x-package-sha256", v);
    }
    Ok(resp)
}

#[derive(serde::Deserialize)]
pub(super) struct PackageQuery {
    /// Accept a package signed by a key not among the trusted senders (recorded in the audit trail).
    accept_unknown_sender: Option<bool>,
}

pub(super) async fn import_package(
    State(st): State<AppState>,
    auth: AuthUser,
    super::extract::ApiQuery(q): super::extract::ApiQuery<PackageQuery>,
    req: Request,
) -> ApiResult<Response> {
    let (bytes, _) = zip_body(&st, req).await?;
    if bytes.is_empty() {
        return Err(HttpError::Unprocessable("the package is empty: send the zip a sender exported".into()).into());
    }
    let archive = st.archive.clone();
    let accept = q.accept_unknown_sender.unwrap_or(false);
    let receipt = blocking(move || archive.import_package(&auth.principal, bytes, accept)).await?;
    let mut resp = (StatusCode::CREATED, Json(receipt.clone())).into_response();
    if let Ok(l) = HeaderValue::from_str(&format!("/api/v1/persons/{}", receipt.person_id)) {
        resp.headers_mut().insert(header::LOCATION, l);
    }
    Ok(resp)
}
