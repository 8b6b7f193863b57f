//! Custody of the paper dossiers, transfers out and loans (docs/DOMAIN.md §4c): a dossier's custody record, the
//! archive office's custody inbox and its paper-filing tasks, the transfers (package sent, receipt loaded, the
//! register), the loans (借出, 归还).

use super::doc::*;
use super::error::ApiError;
use super::extract::{ApiJson, ApiPath, ApiQuery, AuthUser, IfMatch};
use super::views::List;
use super::with_etag;
use crate::http::{AppState, HttpError, blocking};
use crate::model::custody::{FilingTask, Loan, Transfer};
use crate::model::{LoanId, PartialDate, PersonId, ReportKind, TaskId, TransferId};
use crate::service::custody::{CustodyItem, CustodyPatch, CustodyView, NewLoan};
use crate::service::transfers::TransferRow;
use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

type ApiResult<T> = Result<T, ApiError>;

/// `as_of`: the day the flags are computed for (default today).
#[derive(Deserialize)]
pub(super) struct AsOf {
    as_of: Option<PartialDate>,
}

fn day(as_of: Option<PartialDate>) -> time::Date {
    as_of.map(|d| d.last_day()).unwrap_or_else(crate::model::today)
}

#[utoipa::path(
    get,
    path = "/persons/{id}/custody",
    operation_id = "getCustody",
    tag = "custody",
    summary = "A dossier's custody: 档案编号, 正本/副本, 库位, state and history",
    description = "The custody record (state in_store 在库, lent 借出, transferring 转出中, transferred_out 已转出, \
        handed_over 已移交, destroyed 已销毁; every change in `history`), with the transfer and loan in course and the \
        open paper-filing task. For whoever may see the person; never one's own dossier, never the administrators. \
        Audited (`custody.read`).",
    params(("id" = PersonId, Path, description = "Person id (400 if malformed).")),
    responses(
        (status = 200, description = "The custody.", content((CustodyView = "application/json")), headers(("ETag" = String))),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 500, response = InternalError),
        (status = 503, response = AuditRollback),
    ),
)]
pub(super) async fn get_custody(
    State(st): State<AppState>,
    auth: AuthUser,
    ApiPath(id): ApiPath<PersonId>,
) -> ApiResult<Response> {
    let archive = st.archive.clone();
    let v = blocking(move || archive.custody().get(&auth.principal, id)).await?;
    let version = v.record.version;
    Ok(with_etag(Json(v).into_response(), version))
}

#[utoipa::path(
    put,
    path = "/persons/{id}/custody",
    operation_id = "updateCustody",
    tag = "custody",
    summary = "Change a dossier's custody (行政部)",
    description = "Any of `archive_number` (unique; 409 if another dossier's), `copy` (original 正本 / duplicate 副本), \
        `location` (库位), `state` and a `note`. By hand the state becomes only handed_over (已移交) or destroyed (已销毁) \
        from in_store, or in_store again from transferring when no transfer is open (409 otherwise: lending is \
        `POST /loans`, 转出 a transfer_out request, 已转出 its receipt). If-Match: the record's version (412 when \
        stale). Capability manage_custody. Audited (`custody.update`) with the change.",
    params(("id" = PersonId, Path, description = "Person id (400 if malformed).")),
    request_body(content((CustodyPatch = "application/json"))),
    responses(
        (status = 200, description = "Changed.", content((CustodyView = "application/json")), headers(("ETag" = String))),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 412, response = PreconditionFailed),
        (status = 415, response = UnsupportedMediaType),
        (status = 422, response = Unprocessable),
        (status = 500, response = InternalError),
        (status = 503, response = AuditRollback),
    ),
)]
pub(super) async fn update_custody(
    State(st): State<AppState>,
    auth: AuthUser,
    ApiPath(id): ApiPath<PersonId>,
    IfMatch(if_match): IfMatch,
    ApiJson(patch): ApiJson<CustodyPatch>,
) -> ApiResult<Response> {
    let archive = st.archive.clone();
    let v = blocking(move || archive.custody().update(&auth.principal, id, if_match, patch)).await?;
    let version = v.record.version;
    Ok(with_etag(Json(v).into_response(), version))
}

#[utoipa::path(
    get,
    path = "/custody/inbox",
    operation_id = "custodyInbox",
    tag = "custody",
    summary = "The custody inbox: paper to file, transfers to chase (催问), loans overdue",
    description = "For the archive office (行政部): open paper-filing tasks (`filing`: after each new dossier or new \
        person version the paper goes into the folder), rule moves due (`move_due`), loans past their due date \
        (`loan_overdue`); for it and whoever sends transfers (HR): transfers without a receipt a month after they \
        were sent (`chase`, 催问) and past their two-month deadline (`transfer_overdue`). Only dossiers the caller may \
        see. Audited (`custody.inbox`).",
    params(("as_of" = Option<String>, Query, description = "The day the flags are computed for (`YYYY-MM-DD`); \
        default today.")),
    responses(
        (status = 200, description = "The items, oldest first.", content((List<CustodyItem> = "application/json"))),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 500, response = InternalError),
        (status = 503, response = AuditRollback),
    ),
)]
pub(super) async fn inbox(
    State(st): State<AppState>,
    auth: AuthUser,
    ApiQuery(q): ApiQuery<AsOf>,
) -> ApiResult<Json<List<CustodyItem>>> {
    let archive = st.archive.clone();
    let on = day(q.as_of);
    let items = blocking(move || archive.custody().inbox(&auth.principal, on)).await?;
    Ok(Json(List { total: items.len(), items }))
}

#[utoipa::path(
    post,
    path = "/custody/tasks/{id}/done",
    operation_id = "markFiled",
    tag = "custody",
    summary = "Mark a paper-filing task done (归档)",
    description = "No body. The paper of the changes it lists is in the folder. Capability manage_custody; 409 if \
        done already. Audited (`custody.filed`).",
    params(("id" = TaskId, Path, description = "Task id (400 if malformed).")),
    responses(
        (status = 200, description = "Done.", content((FilingTask = "application/json"))),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 500, response = InternalError),
        (status = 503, response = AuditRollback),
    ),
)]
pub(super) async fn mark_filed(
    State(st): State<AppState>,
    auth: AuthUser,
    ApiPath(id): ApiPath<TaskId>,
) -> ApiResult<Json<FilingTask>> {
    let archive = st.archive.clone();
    Ok(Json(blocking(move || archive.custody().mark_filed(&auth.principal, id)).await?))
}

#[utoipa::path(
    get,
    path = "/transfers",
    operation_id = "listTransfers",
    tag = "custody",
    summary = "Transfers out (转出), newest first, with their flags",
    description = "Each transfer (its request, 接收单位, 通知单 number, reason, deadline, packages sent, receipt) with \
        `overdue` (past the deadline, no receipt) and `chase` (催问: no receipt a month after it was sent). The \
        archive office and HR (capability export); only dossiers the caller may see. As a report: \
        `GET /reports/transfers`. Audited (`transfer.list`).",
    params(("as_of" = Option<String>, Query, description = "The day the flags are computed for; default today.")),
    responses(
        (status = 200, description = "The transfers.", content((List<TransferRow> = "application/json"))),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 500, response = InternalError),
        (status = 503, response = AuditRollback),
    ),
)]
pub(super) async fn list_transfers(
    State(st): State<AppState>,
    auth: AuthUser,
    ApiQuery(q): ApiQuery<AsOf>,
) -> ApiResult<Json<List<TransferRow>>> {
    let archive = st.archive.clone();
    let on = day(q.as_of);
    let items = blocking(move || archive.transfers().list(&auth.principal, on)).await?;
    Ok(Json(List { total: items.len(), items }))
}

#[utoipa::path(
    get,
    path = "/transfers/{id}/package",
    operation_id = "transferPackage",
    tag = "custody",
    summary = "Build, sign and download the package of a transfer (转递)",
    description = "The package as `GET /persons/{id}/package` makes it (capability export and the right to read \
        every material), its SHA-256 recorded on the transfer as sent (the receipt must name it); the first sets the \
        day it was sent. 409 once the transfer is closed. Audited (`transfer.package`, and `person.export`).",
    params(("id" = TransferId, Path, description = "Transfer id (400 if malformed).")),
    responses(
        (status = 200, description = "The package.",
            content((Binary = "application/zip")), headers(("X-Package-Sha256" = String))),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 500, response = InternalError),
        (status = 503, response = AuditRollback),
    ),
)]
pub(super) async fn transfer_package(
    State(st): State<AppState>,
    auth: AuthUser,
    ApiPath(id): ApiPath<TransferId>,
) -> ApiResult<Response> {
    let archive = st.archive.clone();
    let (package, _) = blocking(move || archive.transfers().package(&auth.principal, id)).await?;
    let mut resp = crate::http::attachment(package.bytes, "application/zip", &package.file_name);
    if let Ok(v) = HeaderValue::from_str(&package.sha256) {
        resp.headers_mut().insert("x-package-sha256", v);
    }
    Ok(resp)
}

#[utoipa::path(
    post,
    path = "/transfers/{id}/receipt",
    operation_id = "loadReceipt",
    tag = "custody",
    summary = "Load the receiver's receipt (回执): closes the transfer, the dossier 已转出",
    description = "The body is the receipt exactly as the receiving installation answered `POST /packages` (its \
        JSON, signature included). It must name this installation as the sender and a package sent for this \
        transfer, and verify with the receiver's key, which must be a trusted installation (DANGAN_TRUSTED_SENDERS): \
        otherwise 422 (altered, forged, another package) or 403 (untrusted receiver), and nothing changes. 409 if \
        closed already. The archive office and HR. Audited (`transfer.receipt`).",
    params(("id" = TransferId, Path, description = "Transfer id (400 if malformed).")),
    request_body(content((Object = "application/json"))),
    responses(
        (status = 200, description = "Closed.", content((Transfer = "application/json"))),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 422, response = Unprocessable),
        (status = 500, response = InternalError),
        (status = 503, response = AuditRollback),
    ),
)]
pub(super) async fn load_receipt(
    State(st): State<AppState>,
    auth: AuthUser,
    ApiPath(id): ApiPath<TransferId>,
    body: Bytes,
) -> ApiResult<Json<Transfer>> {
    if body.is_empty() {
        return Err(HttpError::Unprocessable("send the receipt (the JSON the receiver answered)".into()).into());
    }
    let archive = st.archive.clone();
    Ok(Json(blocking(move || archive.transfers().load_receipt(&auth.principal, id, &body)).await?))
}

#[utoipa::path(
    get,
    path = "/reports/transfers",
    operation_id = "reportTransfers",
    tag = "reports",
    summary = "转递登记簿: the outgoing transfer register",
    description = "One row per transfer out: person, 接收单位, 通知单 number, reason, address, approved, deadline, \
        sent, the package's SHA-256, state (转出中 / 已转出), when the receipt says it was received, overdue, chase \
        (催问). The archive office and HR. Audited (`transfer.list`).",
    params(("format" = Option<String>, Query, description = "json (default), csv (UTF-8 with BOM) or xlsx.")),
    responses(
        (status = 200, description = "The register.",
            content(
                (super::reports::Report = "application/json"),
                (Binary = "text/csv"),
                (Binary = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
            )),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 500, response = InternalError),
        (status = 503, response = AuditRollback),
    ),
)]
pub(super) async fn register(
    State(st): State<AppState>,
    auth: AuthUser,
    ApiQuery(q): ApiQuery<super::reports::ReportQuery>,
) -> ApiResult<Response> {
    super::reports::report(st, auth, q, ReportKind::Transfers).await
}

#[derive(Deserialize)]
pub(super) struct LoanQuery {
    /// Only loans not returned.
    open: Option<bool>,
}

#[utoipa::path(
    get,
    path = "/loans",
    operation_id = "listLoans",
    tag = "custody",
    summary = "The lending list (借阅登记) of paper dossiers",
    description = "Loans, newest first (borrower, unit, purpose, lent, due, returned). The archive office; only \
        dossiers it may see. Audited (`loan.list`).",
    params(("open" = Option<bool>, Query, description = "Only loans not returned. Default: `false`.")),
    responses(
        (status = 200, description = "The loans.", content((List<Loan> = "application/json"))),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 500, response = InternalError),
        (status = 503, response = AuditRollback),
    ),
)]
pub(super) async fn list_loans(
    State(st): State<AppState>,
    auth: AuthUser,
    ApiQuery(q): ApiQuery<LoanQuery>,
) -> ApiResult<Json<List<Loan>>> {
    let archive = st.archive.clone();
    let open = q.open.unwrap_or(false);
    let items = blocking(move || archive.custody().loans(&auth.principal, open)).await?;
    Ok(Json(List { total: items.len(), items }))
}

#[utoipa::path(
    post,
    path = "/loans",
    operation_id = "lend",
    tag = "custody",
    summary = "Lend a paper dossier (借出)",
    description = "To a named borrower and unit, for a purpose, due back within a year. The dossier must be 在库 \
        (409 otherwise); it is 借出 until returned, and overdue loans show in the custody inbox. The archive office. \
        Audited (`loan.lend`).",
    request_body(content((NewLoan = "application/json"))),
    responses(
        (status = 201, description = "Lent.", content((Loan = "application/json"))),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 415, response = UnsupportedMediaType),
        (status = 422, response = Unprocessable),
        (status = 500, response = InternalError),
        (status = 503, response = AuditRollback),
    ),
)]
pub(super) async fn lend(
    State(st): State<AppState>,
    auth: AuthUser,
    ApiJson(new): ApiJson<NewLoan>,
) -> ApiResult<Response> {
    let archive = st.archive.clone();
    let loan = blocking(move || archive.custody().lend(&auth.principal, new)).await?;
    Ok((StatusCode::CREATED, Json(loan)).into_response())
}

#[utoipa::path(
    post,
    path = "/loans/{id}/return",
    operation_id = "returnLoan",
    tag = "custody",
    summary = "Take a lent dossier back (归还)",
    description = "No body. The dossier is 在库 again; 409 if returned already. The archive office. Audited \
        (`loan.return`).",
    params(("id" = LoanId, Path, description = "Loan id (400 if malformed).")),
    responses(
        (status = 200, description = "Returned.", content((Loan = "application/json"))),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 500, response = InternalError),
        (status = 503, response = AuditRollback),
    ),
)]
pub(super) async fn return_loan(
    State(st): State<AppState>,
    auth: AuthUser,
    ApiPath(id): ApiPath<LoanId>,
) -> ApiResult<Json<Loan>> {
    let archive = st.archive.clone();
    Ok(Json(blocking(move || archive.custody().return_loan(&auth.principal, id)).await?))
}
