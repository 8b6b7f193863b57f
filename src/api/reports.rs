//! Reports: JSON by default (`{"report","columns","items":[{…}],"total"}`), or `format=csv|xlsx` to download.

use super::doc::*;
use super::error::ApiError;
use super::extract::{ApiPath, ApiQuery, AuthUser};
use crate::http::{AppState, HttpError, blocking};
use crate::model::completeness::Completeness;
use crate::model::{PersonId, ReportKind};
use crate::service::reports::{CompletenessReport, DepartmentCompleteness, DossierCompleteness, ReportTable};
use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

type ApiResult<T> = Result<T, ApiError>;

#[derive(Deserialize)]
pub(super) struct ReportQuery {
    /// `json` (default), `csv` or `xlsx`.
    format: Option<String>,
    /// The structure report's dimension.
    by: Option<String>,
}

/// A report as JSON (documentation only: [`answer`] builds it).
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub(super) struct Report {
    /// The report's name.
    report: String,
    /// The column names, in order.
    columns: Vec<String>,
    /// How many rows.
    total: usize,
    /// One object per row, keyed by column name.
    #[schema(value_type = Vec<Object>)]
    items: Vec<serde_json::Value>,
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
pub(super) async fn report(st: AppState, auth: AuthUser, q: ReportQuery, kind: ReportKind) -> ApiResult<Response> {
    let archive = st.archive.clone();
    let by = q.by.clone().unwrap_or_else(|| "department".into());
    let table = blocking(move || archive.reports().report(&auth.principal, kind, &by)).await?;
    answer(table, q.format.as_deref())
}

#[utoipa::path(
    get,
    path = "/reports/structure",
    operation_id = "reportStructure",
    tag = "reports",
    summary = "Cadre structure",
    description = "Active persons counted by one dimension (columns key, label, count, percent). HR and leaders: \
        everyone; department heads: their department; finance: by=salary_grade only. Aggregates include every active \
        person.",
    params(
        ("by" = Option<String>, Query, description = "One of: `department`, `age`, `gender`, `education`, `ethnicity`, \
            `rank`, `salary_grade`."),
        ("format" = Option<String>, Query, description = "json (default), csv (UTF-8 with BOM) or xlsx."),
    ),
    responses(
        (status = 200, description = "The report.",
            content(
                (Report = "application/json"),
                (Binary = "text/csv"),
                (Binary = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
            )),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 500, response = InternalError),
        (status = 422, response = Unprocessable),
        (status = 503, response = AuditRollback),
    ),
)]
pub(super) async fn structure(
    State(st): State<AppState>,
    auth: AuthUser,
    ApiQuery(q): ApiQuery<ReportQuery>,
) -> ApiResult<Response> {
    report(st, auth, q, ReportKind::Structure).await
}

/// The completeness report as JSON (documentation only: [`completeness`] builds it): the table's fields, each
/// item with its findings as objects, and the departments.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub(super) struct CompletenessReportView {
    /// `completeness`.
    report: String,
    /// The column names, in order: person_id, name, department, missing_count, missing, page_mismatches,
    /// mismatched, checks, satisfied, rate, percent, findings_count, findings.
    columns: Vec<String>,
    /// How many items (dossiers with a finding).
    total: usize,
    /// One object per dossier with a finding, keyed by column name, and `finding_details`: its findings as
    /// objects (rule, kind, name, evidence, missing).
    #[schema(value_type = Vec<Object>)]
    items: Vec<serde_json::Value>,
    /// Per department: dossiers checked, with findings, mean rate.
    departments: Vec<DepartmentCompleteness>,
}

/// The completeness report as JSON.
fn completeness_json(r: &CompletenessReport) -> serde_json::Value {
    let table = crate::service::reports::completeness_table(r);
    let mut details = r.dossiers.iter().filter(|d| d.has_findings()).map(|d| &d.completeness.findings);
    let items: Vec<serde_json::Value> = table
        .rows
        .iter()
        .map(|row| {
            let mut item: serde_json::Map<String, serde_json::Value> =
                table.columns.iter().cloned().zip(row.iter().cloned()).collect();
            let findings = details.next().map(|f| serde_json::to_value(f).unwrap_or_default());
            item.insert("finding_details".into(), findings.unwrap_or_else(|| serde_json::json!([])));
            serde_json::Value::Object(item)
        })
        .collect();
    serde_json::json!({
        "report": table.name,
        "columns": table.columns,
        "total": items.len(),
        "items": items,
        "departments": r.departments,
    })
}

#[utoipa::path(
    get,
    path = "/reports/completeness",
    operation_id = "reportCompleteness",
    tag = "reports",
    summary = "Dossier completeness",
    description = "Per dossier with a finding: the required materials it lacks (1 履历, 3 考核, 4-1 学历学位, 9-1 工资, \
        9-2 任免, 6 党团 for party members), materials whose 页数 differs from the pages found, and its rate — checks \
        satisfied over checks made, the 成套 rules included (each appointment with a 9-2 material of its year, each \
        assessment year with a category-3 material, an 入党志愿书 with a 转正 material) — with its findings. As JSON, \
        also the mean rate per department. HR, leaders, administration; heads for their department; only dossiers, \
        categories and record lists the caller may see.",
    params(
        ("format" = Option<String>, Query, description = "json (default), csv (UTF-8 with BOM) or xlsx."),
    ),
    responses(
        (status = 200, description = "The report.",
            content(
                (CompletenessReportView = "application/json"),
                (Binary = "text/csv"),
                (Binary = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
            )),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 500, response = InternalError),
        (status = 422, response = Unprocessable),
        (status = 503, response = AuditRollback),
    ),
)]
pub(super) async fn completeness(
    State(st): State<AppState>,
    auth: AuthUser,
    ApiQuery(q): ApiQuery<ReportQuery>,
) -> ApiResult<Response> {
    if matches!(q.format.as_deref(), None | Some("json")) {
        let archive = st.archive.clone();
        let r = blocking(move || archive.reports().completeness_report(&auth.principal)).await?;
        return Ok(Json(completeness_json(&r)).into_response());
    }
    report(st, auth, q, ReportKind::Completeness).await
}

/// One dossier's completeness.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = DossierCompleteness)]
pub(super) struct DossierCompletenessView {
    /// The person.
    person_id: PersonId,
    /// Their name.
    name: String,
    /// Their department's code.
    department: String,
    /// Its name.
    department_name: String,
    /// Checks made, satisfied, the rate and the findings.
    #[serde(flatten)]
    completeness: Completeness,
    /// Materials whose stated 页数 differs from the pages found (not checks of the rate).
    mismatched: Vec<String>,
}

impl From<DossierCompleteness> for DossierCompletenessView {
    fn from(d: DossierCompleteness) -> Self {
        DossierCompletenessView {
            person_id: d.person_id,
            name: d.name,
            department: d.department,
            department_name: d.department_name,
            completeness: d.completeness,
            mismatched: d.mismatched,
        }
    }
}

#[utoipa::path(
    get,
    path = "/persons/{id}/completeness",
    operation_id = "dossierCompleteness",
    tag = "reports",
    summary = "A dossier's completeness: its rate and findings",
    description = "The dossier checked against the completeness rules (docs/DOMAIN.md §5): required materials and \
        成套 rules, as far as the caller may list the categories and see the record lists. `rate` is checks \
        satisfied over checks made (1 when none), `percent` the same in percent; a finding names the rule, the \
        record entry or material it is about (`evidence`) and what is missing. For whoever may see the person; \
        never one's own dossier; the administrators and scanners are refused. Audited (`report.completeness` on \
        the person).",
    params(
        ("id" = crate::model::PersonId, Path, description = "Person id (400 if malformed)."),
    ),
    responses(
        (status = 200, description = "The dossier's completeness.",
            content((DossierCompletenessView = "application/json"))),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 500, response = InternalError),
        (status = 503, response = AuditRollback),
    ),
)]
pub(super) async fn dossier_completeness(
    State(st): State<AppState>,
    auth: AuthUser,
    ApiPath(person): ApiPath<PersonId>,
) -> ApiResult<Json<DossierCompletenessView>> {
    let archive = st.archive.clone();
    let d = blocking(move || archive.reports().dossier_completeness(&auth.principal, person)).await?;
    Ok(Json(d.into()))
}

#[utoipa::path(
    get,
    path = "/reports/findings",
    operation_id = "reportFindings",
    tag = "reports",
    summary = "Validation findings",
    description = "Findings of the person records, counted by field, severity and message. HR; heads for their \
        department.",
    params(
        ("format" = Option<String>, Query, description = "json (default), csv (UTF-8 with BOM) or xlsx."),
    ),
    responses(
        (status = 200, description = "The report.",
            content(
                (Report = "application/json"),
                (Binary = "text/csv"),
                (Binary = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
            )),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 500, response = InternalError),
        (status = 422, response = Unprocessable),
        (status = 503, response = AuditRollback),
    ),
)]
pub(super) async fn findings(
    State(st): State<AppState>,
    auth: AuthUser,
    ApiQuery(q): ApiQuery<ReportQuery>,
) -> ApiResult<Response> {
    report(st, auth, q, ReportKind::Findings).await
}

#[utoipa::path(
    get,
    path = "/reports/digitization",
    operation_id = "reportDigitization",
    tag = "reports",
    summary = "Digitization progress",
    description = "Materials by kind (PDF, 扫描图像, 文本, Word 文档) and text_status. HR, administration; heads for their \
        department; the materials the caller may list.",
    params(
        ("format" = Option<String>, Query, description = "json (default), csv (UTF-8 with BOM) or xlsx."),
    ),
    responses(
        (status = 200, description = "The report.",
            content(
                (Report = "application/json"),
                (Binary = "text/csv"),
                (Binary = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
            )),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 500, response = InternalError),
        (status = 422, response = Unprocessable),
        (status = 503, response = AuditRollback),
    ),
)]
pub(super) async fn digitization(
    State(st): State<AppState>,
    auth: AuthUser,
    ApiQuery(q): ApiQuery<ReportQuery>,
) -> ApiResult<Response> {
    report(st, auth, q, ReportKind::Digitization).await
}

#[utoipa::path(
    get,
    path = "/reports/review",
    operation_id = "reportReview",
    tag = "reports",
    summary = "专审进度: special review progress",
    description = "Per department (active cadres): dossiers by special review state (none, draft, in_review, \
        in_approval, concluded, expired) and the problems found by kind (altered 涂改, inconsistent 不一致, missing \
        缺失, suspected_forgery 造假嫌疑). HR, leaders, administration; heads for their department; never the \
        caller's own dossier. Audited.",
    params(
        ("format" = Option<String>, Query, description = "json (default), csv (UTF-8 with BOM) or xlsx."),
    ),
    responses(
        (status = 200, description = "The report.",
            content(
                (Report = "application/json"),
                (Binary = "text/csv"),
                (Binary = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
            )),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 500, response = InternalError),
        (status = 422, response = Unprocessable),
        (status = 503, response = AuditRollback),
    ),
)]
pub(super) async fn review(
    State(st): State<AppState>,
    auth: AuthUser,
    ApiQuery(q): ApiQuery<ReportQuery>,
) -> ApiResult<Response> {
    report(st, auth, q, ReportKind::Review).await
}

/// Turnaround: as JSON, the figures per kind and step as they are; as a file, the same as a table.
#[utoipa::path(
    get,
    path = "/reports/turnaround",
    operation_id = "turnaround",
    tag = "reports",
    summary = "Turnaround of change requests",
    description = "For HR, leaders and the auditor (edit_persons, decide_grants or read_audit). Audited.",
    params(
        ("format" = Option<String>, Query, description = "json (default), csv (UTF-8 with BOM) or xlsx."),
    ),
    responses(
        (status = 200, description = "Per kind and step: decisions measured, median and 90th percentile hours, overdue \
            now.",
            content(
                (super::views::List<super::schemas::Turnaround> = "application/json"),
                (Binary = "text/csv"),
                (Binary = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
            )),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 500, response = InternalError),
        (status = 503, response = AuditRollback),
    ),
)]
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

#[utoipa::path(
    get,
    path = "/reports/consultations",
    operation_id = "reportConsultations",
    tag = "reports",
    summary = "查阅登记: the consultation register",
    description = "Every consultation: unit, readers, purpose, permissions, approver (the authority and who decided), \
        period, state, and what was read under it (the audit trail's reads naming the grant). Dossiers by id. HR and the \
        auditor (403 rule report.consultations). Audited.",
    params(
        ("format" = Option<String>, Query, description = "json (default), csv (UTF-8 with BOM) or xlsx."),
    ),
    responses(
        (status = 200, description = "The report.",
            content(
                (Report = "application/json"),
                (Binary = "text/csv"),
                (Binary = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
            )),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 500, response = InternalError),
        (status = 422, response = Unprocessable),
        (status = 503, response = AuditRollback),
    ),
)]
pub(super) async fn consultations(
    State(st): State<AppState>,
    auth: AuthUser,
    ApiQuery(q): ApiQuery<ReportQuery>,
) -> ApiResult<Response> {
    report(st, auth, q, ReportKind::Consultations).await
}
