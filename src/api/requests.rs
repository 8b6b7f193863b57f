//! Handlers for change requests and the inbox.

use super::doc::*;
use super::error::ApiError;
use super::extract::{ApiJson, ApiPath, ApiQuery, AuthUser};
use super::views::List;
use crate::http::{AppState, HttpError, blocking};
use crate::model::workflow::Definitions;
use crate::model::{PersonId, RequestId};
use crate::service::workflows::{InboxItem, NewRequest, Request};
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

type ApiResult<T> = Result<T, ApiError>;

#[utoipa::path(
    post,
    path = "/requests",
    operation_id = "createRequest",
    tag = "requests",
    summary = "Start a change request",
    description = "Validated (422 with `findings`) and routed to the steps its content calls for. The caller's roles \
        must allow the kind, and hard rules apply (403). 404 for an unknown person; 409 when applying would duplicate \
        an ID number. Audited; notifications are queued.",
    request_body(content((super::schemas::NewRequest = "application/json"))),
    responses(
        (status = 201, description = "The request: a draft, in review or approval, or already applied (fast path or no \
            steps), or approved with a conflict.",
            content((super::schemas::Request = "application/json")), headers(("Location" = String))),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 413, response = TooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 422, response = Unprocessable),
        (status = 500, response = InternalError),
        (status = 503, response = AuditRollback),
    ),
)]
pub(super) async fn create(
    State(st): State<AppState>,
    auth: AuthUser,
    ApiJson(new): ApiJson<NewRequest>,
) -> ApiResult<Response> {
    let archive = st.archive.clone();
    let r = blocking(move || archive.requests().create(&auth.principal, new)).await?;
    let mut resp = (StatusCode::CREATED, Json(&r)).into_response();
    if let Ok(v) = HeaderValue::from_str(&format!("/api/v1/requests/{}", r.id)) {
        resp.headers_mut().insert(header::LOCATION, v);
    }
    Ok(resp)
}

#[derive(Deserialize)]
pub(super) struct ListQuery {
    state: Option<String>,
    kind: Option<String>,
    person: Option<PersonId>,
}

#[utoipa::path(
    get,
    path = "/requests",
    operation_id = "listRequests",
    tag = "requests",
    summary = "List change requests",
    params(
        ("state" = Option<String>, Query, description = "Only requests in this state (another value matches none). \
            (RequestState)"),
        ("kind" = Option<String>, Query, description = "Only requests of this kind."),
        ("person" = Option<crate::model::PersonId>, Query, description = "Only requests about this person (malformed \
            gives 400)."),
    ),
    responses(
        (status = 200, description = "The requests the caller may see (own, HR, those with a step on them), newest \
            first.",
            content((List<super::schemas::Request> = "application/json"))),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 500, response = InternalError),
        (status = 503, response = AuditRollback),
    ),
)]
pub(super) async fn list(
    State(st): State<AppState>,
    auth: AuthUser,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> ApiResult<Json<List<Request>>> {
    let archive = st.archive.clone();
    let items = blocking(move || {
        archive.requests().list(
            &auth.principal,
            q.state.as_deref().filter(|s| !s.is_empty()),
            q.kind.as_deref().filter(|s| !s.is_empty()),
            q.person,
        )
    })
    .await?;
    Ok(Json(List { total: items.len(), items }))
}

#[utoipa::path(
    get,
    path = "/requests/{id}",
    operation_id = "getRequest",
    tag = "requests",
    summary = "One change request",
    params(
        ("id" = crate::model::RequestId, Path, description = "Change request id (400 if malformed)."),
    ),
    responses(
        (status = 200, description = "The request (its initiator, HR, and those with a step on it; others get 404).",
            content((super::schemas::Request = "application/json"))),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
        (status = 500, response = InternalError),
        (status = 503, response = AuditRollback),
    ),
)]
pub(super) async fn get(
    State(st): State<AppState>,
    auth: AuthUser,
    ApiPath(id): ApiPath<RequestId>,
) -> ApiResult<Json<Request>> {
    let archive = st.archive.clone();
    Ok(Json(blocking(move || archive.requests().get(&auth.principal, id)).await?))
}

/// The initiator's revision of a draft or returned request: replaces the changes (re-validated and re-routed);
/// earlier decisions on other changes are voided and the request becomes a draft again.
#[derive(Deserialize, utoipa::ToSchema)]
#[schema(as = RequestRevision)]
#[serde(deny_unknown_fields)]
pub(super) struct Revision {
    /// Proposed changes, a JSON object, by kind: `create` — a new person record (as the body of `POST /persons`);
    /// `update` — a JSON merge patch of the person record (as `PATCH /persons/{id}` takes); `promotion` — `position`,
    /// `rank`, `salary_grade`, `contract_change`, `effective_on`; `transfer` — `department` (required), `position`,
    /// `rank`, `effective_on`; `resignation` — `resign_on` (required), `agreement`, `settlement`. `consultation` —
    /// `purpose` (required), `until` (required, within the coming year), `material_ids`; `destruction` — `material_ids`
    /// (required), `appraisal` (required); `secondment` — `department` (required: the host department), `position`,
    /// `from` and `until` (required, `until` after `from`), `reason`. Dates are `YYYY[-MM[-DD]]`. Other fields give
    /// 422.
    #[schema(value_type = Object)]
    changes: serde_json::Value,
    /// Why.
    reason: Option<String>,
}

#[utoipa::path(
    patch,
    path = "/requests/{id}",
    operation_id = "reviseRequest",
    tag = "requests",
    summary = "Revise a draft or returned request (initiator)",
    description = "Only the initiator (403), only a draft or returned request (409). The changes are re-validated \
        (422) and re-routed; decisions on other changes are voided. Audited.",
    params(
        ("id" = crate::model::RequestId, Path, description = "Change request id (400 if malformed)."),
    ),
    request_body(content((Revision = "application/json"))),
    responses(
        (status = 200, description = "The revised request, a draft again (submit it).",
            content((super::schemas::Request = "application/json"))),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 413, response = TooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 422, response = Unprocessable),
        (status = 500, response = InternalError),
        (status = 503, response = AuditRollback),
    ),
)]
pub(super) async fn revise(
    State(st): State<AppState>,
    auth: AuthUser,
    ApiPath(id): ApiPath<RequestId>,
    ApiJson(rev): ApiJson<Revision>,
) -> ApiResult<Json<Request>> {
    let archive = st.archive.clone();
    Ok(Json(blocking(move || archive.requests().revise(&auth.principal, id, rev.changes, rev.reason)).await?))
}

#[utoipa::path(
    post,
    path = "/requests/{id}/submit",
    operation_id = "submitRequest",
    tag = "requests",
    summary = "Submit a draft or returned request, or rebase a conflicting one (initiator)",
    description = "No body. Only the initiator (403). A draft or returned request is re-validated against the current \
        record (422) and routed from the first step, earlier decisions voided; an approved request with a conflict is \
        rebased onto the current record and goes through its flow again. Other states give 409. Audited.",
    params(
        ("id" = crate::model::RequestId, Path, description = "Change request id (400 if malformed)."),
    ),
    responses(
        (status = 200, description = "The request, in review or approval (or applied).",
            content((super::schemas::Request = "application/json"))),
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
pub(super) async fn submit(
    State(st): State<AppState>,
    auth: AuthUser,
    ApiPath(id): ApiPath<RequestId>,
) -> ApiResult<Json<Request>> {
    let archive = st.archive.clone();
    Ok(Json(blocking(move || archive.requests().submit(&auth.principal, id)).await?))
}

#[utoipa::path(
    post,
    path = "/requests/{id}/withdraw",
    operation_id = "withdrawRequest",
    tag = "requests",
    summary = "Withdraw a request (initiator)",
    description = "No body. Only the initiator (403); not once applied, rejected or withdrawn (409). Audited.",
    params(
        ("id" = crate::model::RequestId, Path, description = "Change request id (400 if malformed)."),
    ),
    responses(
        (status = 200, description = "The request, `withdrawn`.",
            content((super::schemas::Request = "application/json"))),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 500, response = InternalError),
        (status = 503, response = AuditRollback),
    ),
)]
pub(super) async fn withdraw(
    State(st): State<AppState>,
    auth: AuthUser,
    ApiPath(id): ApiPath<RequestId>,
) -> ApiResult<Json<Request>> {
    let archive = st.archive.clone();
    Ok(Json(blocking(move || archive.requests().withdraw(&auth.principal, id)).await?))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[schema(as = RequestDecision)]
#[serde(deny_unknown_fields)]
pub(super) struct DecisionBody {
    /// `approve`, `reject` or `return` (anything else gives 422).
    #[schema(example = "approve")]
    decision: String,
    /// Kept (first 2000 characters).
    comment: Option<String>,
}

#[utoipa::path(
    post,
    path = "/requests/{id}/decisions",
    operation_id = "decideRequest",
    tag = "requests",
    summary = "Decide the caller's pending step: approve, reject or return",
    description = "Never on a request one started, nor about one's own or a relative's dossier (403); 403 when the \
        pending steps are someone else's, 409 when no step waits for the caller. Audited; notifications are queued.",
    params(
        ("id" = crate::model::RequestId, Path, description = "Change request id (400 if malformed)."),
    ),
    request_body(content((DecisionBody = "application/json"))),
    responses(
        (status = 200, description = "The request after the decision; the last approval applies it in the same commit \
            (or flags a conflict).",
            content((super::schemas::Request = "application/json"))),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 413, response = TooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 422, response = Unprocessable),
        (status = 500, response = InternalError),
        (status = 503, response = AuditRollback),
    ),
)]
pub(super) async fn decide(
    State(st): State<AppState>,
    auth: AuthUser,
    ApiPath(id): ApiPath<RequestId>,
    ApiJson(d): ApiJson<DecisionBody>,
) -> ApiResult<Json<Request>> {
    let archive = st.archive.clone();
    Ok(Json(blocking(move || archive.requests().decide(&auth.principal, id, &d.decision, d.comment)).await?))
}

#[utoipa::path(
    get,
    path = "/inbox",
    operation_id = "inbox",
    tag = "requests",
    summary = "The caller's inbox",
    responses(
        (status = 200, description = "Steps waiting for the caller, oldest first, overdue flagged (never one's own \
            requests, nor about one's own or a relative's dossier).",
            content((List<super::schemas::InboxItem> = "application/json"))),
        (status = 401, response = Unauthorized),
        (status = 500, response = InternalError),
        (status = 503, response = AuditRollback),
    ),
)]
pub(super) async fn inbox(State(st): State<AppState>, auth: AuthUser) -> ApiResult<Json<List<InboxItem>>> {
    let archive = st.archive.clone();
    let items = blocking(move || archive.requests().inbox(&auth.principal)).await?;
    Ok(Json(List { total: items.len(), items }))
}

#[utoipa::path(
    get,
    path = "/notifications",
    operation_id = "notifications",
    tag = "notifications",
    summary = "The caller's notifications",
    responses(
        (status = 200, description = "Notifications for the caller (addressed to them, or to a step assignee they \
            are), newest first.",
            content((List<super::schemas::Notification> = "application/json"))),
        (status = 401, response = Unauthorized),
        (status = 500, response = InternalError),
        (status = 503, response = AuditRollback),
    ),
)]
pub(super) async fn notifications(
    State(st): State<AppState>,
    auth: AuthUser,
) -> ApiResult<Json<List<crate::service::notify::Notification>>> {
    let archive = st.archive.clone();
    let items = blocking(move || archive.notifications().list(&auth.principal)).await?;
    Ok(Json(List { total: items.len(), items }))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[schema(as = CommentInput)]
#[serde(deny_unknown_fields)]
pub(super) struct CommentBody {
    /// 1–2000 characters (trimmed).
    #[schema(min_length = 1, max_length = 2000)]
    text: String,
}

#[utoipa::path(
    post,
    path = "/requests/{id}/comments",
    operation_id = "commentRequest",
    tag = "requests",
    summary = "Comment on a request",
    description = "Anyone who may see the request (others get 404). Audited.",
    params(
        ("id" = crate::model::RequestId, Path, description = "Change request id (400 if malformed)."),
    ),
    request_body(content((CommentBody = "application/json"))),
    responses(
        (status = 200, description = "The request with the comment appended.",
            content((super::schemas::Request = "application/json"))),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
        (status = 413, response = TooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 422, response = Unprocessable),
        (status = 500, response = InternalError),
        (status = 503, response = AuditRollback),
    ),
)]
pub(super) async fn comment(
    State(st): State<AppState>,
    auth: AuthUser,
    ApiPath(id): ApiPath<RequestId>,
    ApiJson(c): ApiJson<CommentBody>,
) -> ApiResult<Json<Request>> {
    let archive = st.archive.clone();
    Ok(Json(blocking(move || archive.requests().comment(&auth.principal, id, &c.text)).await?))
}

#[utoipa::path(
    get,
    path = "/workflows",
    operation_id = "getWorkflows",
    tag = "workflows",
    summary = "The workflow definitions in force",
    responses(
        (status = 200, description = "The definitions (newest stored version, or the shipped default).",
            content((Definitions = "application/json"))),
        (status = 401, response = Unauthorized),
        (status = 500, response = InternalError),
        (status = 503, response = AuditRollback),
    ),
)]
pub(super) async fn get_definitions(
    State(st): State<AppState>,
    _auth: AuthUser,
) -> ApiResult<Json<crate::model::workflow::Definitions>> {
    let archive = st.archive.clone();
    Ok(Json(blocking(move || archive.requests().definitions()).await?))
}

/// New definitions as TOML (the shipped format, `src/model/workflows.toml`).
#[utoipa::path(
    put,
    path = "/workflows",
    operation_id = "putWorkflows",
    tag = "workflows",
    summary = "Load new workflow definitions (capability manage_policy)",
    description = "The body is the TOML text of the definitions (the format of the shipped `workflows.toml`; any \
        Content-Type, UTF-8, at most 256 KiB). It is parsed and validated — known assignees, and flows for create, \
        update, promotion, transfer and resignation — else 422. The stored version is the current one plus 1 (the \
        `version` in the text is ignored). Requests already started keep the version they started under. Audited.",
    request_body(description = "Workflow definitions as \
        TOML.", content((Binary = "application/toml"), (Binary = "text/plain"))),
    responses(
        (status = 200, description = "The definitions as stored, with their new version.",
            content((Definitions = "application/json"))),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 413, response = TooLarge),
        (status = 422, response = Unprocessable),
        (status = 500, response = InternalError),
        (status = 503, response = AuditRollback),
    ),
)]
pub(super) async fn put_definitions(
    State(st): State<AppState>,
    auth: AuthUser,
    body: String,
) -> ApiResult<Json<crate::model::workflow::Definitions>> {
    if body.len() > 256 * 1024 {
        return Err(HttpError::TooLarge("definitions larger than 256 KiB".into()).into());
    }
    let archive = st.archive.clone();
    Ok(Json(blocking(move || archive.requests().set_definitions(&auth.principal, &body)).await?))
}
