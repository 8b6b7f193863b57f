//! Reports: JSON by default (`{"report","columns","items":[{…}],"total"}`), or `format=csv|xlsx` to download.

use super::error::ApiError;
use super::extract::{ApiQuery, AuthUser};
use super::{AppState, blocking};
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
    let download = |bytes: Vec<u8>, mime: &str, ext: &str| {
        super::handlers::attachment(bytes, mime, &format!("{}.{ext}", table.name))
    };
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
        "csv" => Ok(download(table.to_csv().into_bytes(), "text/csv; charset=utf-8", "csv")),
        "xlsx" => {
            Ok(download(table.to_xlsx()?, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx"))
        }
        other => Err(ApiError::BadRequest(format!("format {other:?}: use json, csv or xlsx"))),
    }
}

pub(super) async fn structure(
    State(st): State<AppState>,
    auth: AuthUser,
    ApiQuery(q): ApiQuery<ReportQuery>,
) -> ApiResult<Response> {
    let archive = st.archive.clone();
    let by = q.by.clone().unwrap_or_else(|| "department".into());
    let table = blocking(move || archive.report_structure(&auth.principal, &by)).await?;
    answer(table, q.format.as_deref())
}

pub(super) async fn completeness(
    State(st): State<AppState>,
    auth: AuthUser,
    ApiQuery(q): ApiQuery<ReportQuery>,
) -> ApiResult<Response> {
    let archive = st.archive.clone();
    let table = blocking(move || archive.report_completeness(&auth.principal)).await?;
    answer(table, q.format.as_deref())
}

pub(super) async fn findings(
    State(st): State<AppState>,
    auth: AuthUser,
    ApiQuery(q): ApiQuery<ReportQuery>,
) -> ApiResult<Response> {
    let archive = st.archive.clone();
    let table = blocking(move || archive.report_findings(&auth.principal)).await?;
    answer(table, q.format.as_deref())
}

pub(super) async fn digitization(
    State(st): State<AppState>,
    auth: AuthUser,
    ApiQuery(q): ApiQuery<ReportQuery>,
) -> ApiResult<Response> {
    let archive = st.archive.clone();
    let table = blocking(move || archive.report_digitization(&auth.principal)).await?;
    answer(table, q.format.as_deref())
}

pub(super) async fn turnaround(
    State(st): State<AppState>,
    auth: AuthUser,
    ApiQuery(q): ApiQuery<ReportQuery>,
) -> ApiResult<Response> {
    let archive = st.archive.clone();
    let items = blocking(move || archive.turnaround(&auth.principal)).await?;
    match q.format.as_deref() {
        None | Some("json") => Ok(Json(super::views::List { total: items.len(), items }).into_response()),
        format => {
            let table = crate::service::reports::turnaround_table(items);
            answer(table, format)
        }
    }
}
