//! The contract register (docs/DOMAIN.md §4e): the register and its reminders, a contract material's record,
//! the terms proposed from its text, legal's review notes. HR and legal (whoever sees contract records);
//! everybody else 404.

use super::doc::*;
use super::error::ApiError;
use super::extract::{ApiJson, ApiPath, ApiQuery, AuthUser, IfMatch};
use super::views::List;
use super::with_etag;
use crate::http::{AppState, HttpError, blocking};
use crate::model::contract::{ContractKind, ContractProposal, ContractTerms, NewNote, ReviewNote};
use crate::model::{MaterialId, PartialDate, PersonId, ReportKind};
use crate::service::contracts::{ContractReminder, RegisterQuery, RegisterRow};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

type ApiResult<T> = Result<T, ApiError>;

fn day(as_of: Option<PartialDate>) -> time::Date {
    as_of.map(|d| d.last_day()).unwrap_or_else(crate::model::today)
}

/// The register's filters.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RegisterParams {
    as_of: Option<PartialDate>,
    ending_within: Option<u32>,
    open_term: Option<bool>,
    non_compete_active: Option<bool>,
    person_id: Option<PersonId>,
    kind: Option<String>,
    reminders: Option<bool>,
}

#[utoipa::path(
    get,
    path = "/contracts",
    operation_id = "listContracts",
    tag = "contracts",
    summary = "合同登记簿: the contract register",
    description = "Every contract of the cadres whose contract records the caller sees (HR and legal): those \
        recorded on a contract material (`source: register`, with kind, parties, term, probation, renewal, 竞业限制, \
        status, reminders and open review notes) and those only the person record lists (`source: person_record`). \
        Ordered by days left of the term, open terms last. 404 for an account that sees no contract records \
        (finance, heads, the administrators). Audited (`contract.register`).",
    params(
        ("as_of" = Option<String>, Query, description = "The day states and reminders are computed for \
            (`YYYY-MM-DD`); default today."),
        ("ending_within" = Option<u32>, Query, description = "Only terms ending within this many days."),
        ("open_term" = Option<bool>, Query, description = "Only open-ended contracts (无固定期限)."),
        ("non_compete_active" = Option<bool>, Query, description = "Only contracts whose 竞业限制 binds on the day."),
        ("person_id" = Option<PersonId>, Query, description = "Only this cadre's."),
        ("kind" = Option<String>, Query, description = "Only this kind: labour, appointment, separation, \
            non_compete, confidentiality, other."),
        ("reminders" = Option<bool>, Query, description = "Only contracts with a reminder."),
    ),
    responses(
        (status = 200, description = "The register.", content((List<RegisterRow> = "application/json"))),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
        (status = 500, response = InternalError),
        (status = 503, response = AuditRollback),
    ),
)]
pub(super) async fn register(
    State(st): State<AppState>,
    auth: AuthUser,
    ApiQuery(q): ApiQuery<RegisterParams>,
) -> ApiResult<Json<List<RegisterRow>>> {
    let kind = match q.kind.as_deref() {
        None => None,
        Some(k) => Some(ContractKind::parse(k).ok_or_else(|| {
            HttpError::BadRequest(format!(
                "kind {k:?}: labour, appointment, separation, non_compete, confidentiality or other"
            ))
        })?),
    };
    let query = RegisterQuery {
        as_of: Some(day(q.as_of)),
        ending_within: q.ending_within,
        open_term: q.open_term.unwrap_or(false),
        non_compete_active: q.non_compete_active.unwrap_or(false),
        person_id: q.person_id,
        kind,
        reminders: q.reminders.unwrap_or(false),
    };
    let archive = st.archive.clone();
    let items = blocking(move || archive.contracts().register(&auth.principal, &query)).await?;
    Ok(Json(List { total: items.len(), items }))
}

/// `as_of`: the day reminders are computed for.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct AsOf {
    as_of: Option<PartialDate>,
}

#[utoipa::path(
    get,
    path = "/contracts/reminders",
    operation_id = "contractReminders",
    tag = "contracts",
    summary = "Contract reminders: terms ending within the notice window, probations ending",
    description = "Legal's and HR's inbox of contracts: a fixed term ending within the notice window \
        (`DANGAN_CONTRACT_NOTICE_DAYS`, 30 by default: `ending`), ended and neither renewed nor closed (`ended`), a \
        probation ending within it (`probation_ending`). Soonest first. 404 for an account that sees no contract \
        records. Audited (`contract.reminders`).",
    params(("as_of" = Option<String>, Query, description = "The day (`YYYY-MM-DD`); default today.")),
    responses(
        (status = 200, description = "The reminders.", content((List<ContractReminder> = "application/json"))),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
        (status = 500, response = InternalError),
        (status = 503, response = AuditRollback),
    ),
)]
pub(super) async fn reminders(
    State(st): State<AppState>,
    auth: AuthUser,
    ApiQuery(q): ApiQuery<AsOf>,
) -> ApiResult<Json<List<ContractReminder>>> {
    let archive = st.archive.clone();
    let on = day(q.as_of);
    let items = blocking(move || archive.contracts().reminders(&auth.principal, on)).await?;
    Ok(Json(List { total: items.len(), items }))
}

#[utoipa::path(
    get,
    path = "/reports/contracts",
    operation_id = "reportContracts",
    tag = "reports",
    summary = "合同登记簿 as a report (CSV, XLSX)",
    description = "The register as a table: cadre, department, kind, number, parties, signed, term, probation, \
        竞业限制, state, days left, reminders, open and blocking notes, source. HR and legal (403 otherwise). \
        Audited (`contract.register`).",
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
        (status = 404, response = NotFound),
        (status = 500, response = InternalError),
        (status = 503, response = AuditRollback),
    ),
)]
pub(super) async fn report(
    State(st): State<AppState>,
    auth: AuthUser,
    ApiQuery(q): ApiQuery<super::reports::ReportQuery>,
) -> ApiResult<Response> {
    super::reports::report(st, auth, q, ReportKind::Contracts).await
}

#[utoipa::path(
    get,
    path = "/materials/{id}/contract",
    operation_id = "getContract",
    tag = "contracts",
    summary = "A contract material's record in the register",
    description = "The record (kind, parties, term, probation, renewal, 竞业限制, status) with where it stands, its \
        reminders and open review notes; ETag: the record's version. 404 when the caller may not keep the \
        register of this cadre's contracts or may not read the material on the policy (finance, heads, a \
        consultation grant), or while no record is kept. Audited (`contract.read`).",
    params(
        ("id" = MaterialId, Path, description = "The contract material's id (400 if malformed)."),
        ("as_of" = Option<String>, Query, description = "The day (`YYYY-MM-DD`); default today."),
    ),
    responses(
        (status = 200, description = "The record.", content((RegisterRow = "application/json")), headers(("ETag" = String))),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 500, response = InternalError),
        (status = 503, response = AuditRollback),
    ),
)]
pub(super) async fn get_contract(
    State(st): State<AppState>,
    auth: AuthUser,
    ApiPath(id): ApiPath<MaterialId>,
    ApiQuery(q): ApiQuery<AsOf>,
) -> ApiResult<Response> {
    let archive = st.archive.clone();
    let on = day(q.as_of);
    let row = blocking(move || archive.contracts().get(&auth.principal, id, on)).await?;
    let version = row.version.unwrap_or(0);
    Ok(with_etag(Json(row).into_response(), version))
}

#[utoipa::path(
    put,
    path = "/materials/{id}/contract",
    operation_id = "putContract",
    tag = "contracts",
    summary = "Record a contract's terms",
    description = "Records the terms of a material tagged `contract` (422 otherwise): the first record needs no \
        If-Match; a change needs the record's version (428 without, 412 when stale). Errors in the terms (the term \
        ending before it starts, a 竞业限制 beyond 24 months …) are 422 with findings; warnings (a probation longer \
        than the law allows for the term, a 竞业限制 without compensation) travel in `findings`. Whoever may edit the \
        contract material and sees contract records (HR, legal). Audited (`contract.record`).",
    params(("id" = MaterialId, Path, description = "The contract material's id (400 if malformed).")),
    request_body(content((ContractTerms = "application/json"))),
    responses(
        (status = 200, description = "Recorded.", content((RegisterRow = "application/json")), headers(("ETag" = String))),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 412, response = PreconditionFailed),
        (status = 415, response = UnsupportedMediaType),
        (status = 422, response = Unprocessable),
        (status = 428, response = PreconditionRequired),
        (status = 500, response = InternalError),
        (status = 503, response = AuditRollback),
    ),
)]
pub(super) async fn put_contract(
    State(st): State<AppState>,
    auth: AuthUser,
    ApiPath(id): ApiPath<MaterialId>,
    IfMatch(if_match): IfMatch,
    ApiJson(terms): ApiJson<ContractTerms>,
) -> ApiResult<Response> {
    let archive = st.archive.clone();
    let row = blocking(move || archive.contracts().save(&auth.principal, id, terms, if_match)).await?;
    let version = row.version.unwrap_or(0);
    Ok(with_etag(Json(row).into_response(), version))
}

#[utoipa::path(
    get,
    path = "/materials/{id}/contract/proposal",
    operation_id = "proposeContract",
    tag = "contracts",
    summary = "Terms proposed from the contract's text",
    description = "Kind, 合同编号, parties, signing date, term (or open term), probation and 竞业限制 found by \
        patterns in the contract's extracted text and title: proposals to confirm, never saved by themselves; \
        `found` names the fields the text gave. 409 while the text is being extracted. Same access as the record. \
        Audited (`contract.propose`).",
    params(("id" = MaterialId, Path, description = "The contract material's id (400 if malformed).")),
    responses(
        (status = 200, description = "The proposal.", content((ContractProposal = "application/json"))),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 500, response = InternalError),
        (status = 503, response = AuditRollback),
    ),
)]
pub(super) async fn propose(
    State(st): State<AppState>,
    auth: AuthUser,
    ApiPath(id): ApiPath<MaterialId>,
) -> ApiResult<Json<ContractProposal>> {
    let archive = st.archive.clone();
    Ok(Json(blocking(move || archive.contracts().propose(&auth.principal, id)).await?))
}

#[utoipa::path(
    get,
    path = "/materials/{id}/contract/notes",
    operation_id = "listContractNotes",
    tag = "contracts",
    summary = "Review notes on a contract",
    description = "Legal's (and HR's) review notes on the contract, oldest first: the clause quoted, the finding, \
        severity (info, warning, blocking), the version it was written on, resolved or not. Same access as the \
        record. Audited (`contract.notes`).",
    params(("id" = MaterialId, Path, description = "The contract material's id (400 if malformed).")),
    responses(
        (status = 200, description = "The notes.", content((List<ReviewNote> = "application/json"))),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 500, response = InternalError),
        (status = 503, response = AuditRollback),
    ),
)]
pub(super) async fn list_notes(
    State(st): State<AppState>,
    auth: AuthUser,
    ApiPath(id): ApiPath<MaterialId>,
) -> ApiResult<Json<List<ReviewNote>>> {
    let archive = st.archive.clone();
    let items = blocking(move || archive.contracts().notes(&auth.principal, id)).await?;
    Ok(Json(List { total: items.len(), items }))
}

#[utoipa::path(
    post,
    path = "/materials/{id}/contract/notes",
    operation_id = "addContractNote",
    tag = "contracts",
    summary = "Add a review note to a contract",
    description = "A note on the contract's current version: `clause` quoted, `finding`, `severity`. A blocking \
        note stops every approval of a request that changes this cadre's contracts until it is resolved (409 \
        `contract.blocking-note`). Whoever may edit the contract material and sees contract records. Audited \
        (`contract.note`).",
    params(("id" = MaterialId, Path, description = "The contract material's id (400 if malformed).")),
    request_body(content((NewNote = "application/json"))),
    responses(
        (status = 201, description = "Added.", content((ReviewNote = "application/json"))),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 415, response = UnsupportedMediaType),
        (status = 422, response = Unprocessable),
        (status = 500, response = InternalError),
        (status = 503, response = AuditRollback),
    ),
)]
pub(super) async fn add_note(
    State(st): State<AppState>,
    auth: AuthUser,
    ApiPath(id): ApiPath<MaterialId>,
    ApiJson(new): ApiJson<NewNote>,
) -> ApiResult<Response> {
    let archive = st.archive.clone();
    let note = blocking(move || archive.contracts().add_note(&auth.principal, id, new)).await?;
    Ok((StatusCode::CREATED, Json(note)).into_response())
}

/// How a note was resolved.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct Resolution {
    /// What was done (up to 2,000 characters).
    #[serde(default)]
    resolution: Option<String>,
}

#[utoipa::path(
    post,
    path = "/materials/{id}/contract/notes/{note}/resolve",
    operation_id = "resolveContractNote",
    tag = "contracts",
    summary = "Resolve a review note",
    description = "Marks the note resolved, with what was done. Only a holder of the role the note was written in \
        (legal's notes by legal: HR, who starts contract changes, cannot clear legal's finding on them; 403 \
        `contract.note-role`); 409 when already resolved. Audited (`contract.resolve`).",
    params(
        ("id" = MaterialId, Path, description = "The contract material's id (400 if malformed)."),
        ("note" = String, Path, description = "The note's id."),
    ),
    request_body(content((Resolution = "application/json"))),
    responses(
        (status = 200, description = "Resolved.", content((ReviewNote = "application/json"))),
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
pub(super) async fn resolve_note(
    State(st): State<AppState>,
    auth: AuthUser,
    ApiPath((id, note)): ApiPath<(MaterialId, String)>,
    ApiJson(body): ApiJson<Resolution>,
) -> ApiResult<Json<ReviewNote>> {
    let archive = st.archive.clone();
    Ok(Json(blocking(move || archive.contracts().resolve(&auth.principal, id, &note, body.resolution)).await?))
}
