//! Reports: JSON by default (`{"report","columns","items":[{…}],"total"}`), or `format=csv|xlsx` to download.

use super::error::ApiError;
use super::extract::{ApiQuery, AuthUser};
use crate::http::{AppState, HttpError, blocking};
use crate::model::ReportKind;
use crate::service::reports::ReportTable;
use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

type ApiResult<T> = Result<T, ApiError>;

#[derive(Deserialize)]
pub(super) struct ReportQuery {
    /// `json` (default), `csv` or `xlsx`.
    format: Option<String>,
    /// The structure report's dimension.
    by: Option<String>,
}

/// A report in the format asked for.
pub(super) fn answer(table: ReportTable, format: Option<&str>) -> ApiResult<Response> {
    match format.unwrap_or("json") {
        "json" => {
            let items: Vec<serde_json::Map<String, serde_json::Value>> =
                table.rows.iter().map(|row| table.columns.iter().cloned().zip(row.iter().cloned()).collect()).collect();
            Ok(Json(serde_json::json!({
                "report": table.name,
                "columns": table.columns,
                "total": items.len(),
                "items": items,
            }))
            .into_response())
        }
        other => match table.file(other)? {
            Some((bytes, mime)) => Ok(crate::http::attachment(bytes, mime, &format!("{}.{other}", table.name))),
            None => Err(HttpError::BadRequest(format!("format {other:?}: use json, csv or xlsx")).into()),
        },
    }
}

/// Runs the report `kind` for the caller and answers it in the format asked for.
async fn report(st: AppState, auth: AuthUser, q: ReportQuery, kind: ReportKind) -> ApiResult<Response> {
    let archive = st.archive.clone();
    let by = q.by.clone().unwrap_or_else(|| "department".into());
    let table = blocking(move || archive.reports().report(&auth.principal, kind, &by)).await?;
    answer(table, q.format.as_deref())
}

pub(super) async fn structure(
    State(st): State<AppState>,
    auth: AuthUser,
    ApiQuery(q): ApiQuery<ReportQuery>,
) -> ApiResult<Response> {
    report(st, auth, q, ReportKind::Structure).await
}

pub(super) async fn completeness(
    State(st): State<AppState>,
    auth: AuthUser,
    ApiQuery(q): ApiQuery<ReportQuery>,
) -> ApiResult<Response> {
    report(st, auth, q, ReportKind::Completeness).await
}

pub(super) async fn findings(
    State(st): State<AppState>,
    auth: AuthUser,
    ApiQuery(q): ApiQuery<ReportQuery>,
) -> ApiResult<Response> {
    report(st, auth, q, ReportKind::Findings).await
}

pub(super) async fn digitization(
    State(st): State<AppState>,
    auth: AuthUser,
    ApiQuery(q): ApiQuery<ReportQuery>,
) -> ApiResult<Response> {
    report(st, auth, q, ReportKind::Digitization).await
}

/// Turnaround: as JSON, the figures per kind and step as they are; as a file, the same as a table.
pub(super) async fn turnaround(
    State(st): State<AppState>,
    auth: AuthUser,
    ApiQuery(q): ApiQuery<ReportQuery>,
) -> ApiResult<Response> {
    if matches!(q.format.as_deref(), None | Some("json")) {
        let archive = st.archive.clone();
        let items = blocking(move || archive.reports().turnaround(&auth.principal)).await?;
        return Ok(Json(super::views::List { total: items.len(), items }).into_response());
    }
    report(st, auth, q, ReportKind::Turnaround).await
}
