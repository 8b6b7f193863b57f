//! Handlers for access control and accountability: the audit trail (auditor), the policy and the permission
//! review (security administrator), accounts (system administrator), consultation grants.

use super::doc::*;
use super::error::ApiError;
use super::extract::{ApiJson, ApiPath, ApiQuery, AuthUser};
use super::materials::BatchUpload;
use super::views::{List, MaterialView, UserView};
use crate::http::{AppState, HttpError, blocking};
use crate::model::policy::{Access, Decision, Policy};
use crate::model::{GrantId, MaterialId, Role, UserId};
use crate::service::audit::AuditQuery;
use crate::service::auth::NewUser;
use crate::service::grants::{Grant, GrantRequest};
use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

type ApiResult<T> = Result<T, ApiError>;

#[derive(Deserialize)]
pub(super) struct Format {
    format: Option<String>,
}

#[utoipa::path(
    get,
    path = "/audit",
    operation_id = "auditQuery",
    tag = "audit",
    summary = "Query the audit trail (capability read_audit: auditor)",
    description = "Filters combine; the query itself is audited. Content-Disposition (`attachment; \
        filename=\"audit.csv\"`) and Cache-Control are sent with CSV only.",
    params(
        ("actor" = Option<String>, Query, description = "Actor (username), exact."),
        ("object" = Option<String>, Query, description = "Object, exact, or a prefix ending in `*`, e.g. `person:*`."),
        ("action" = Option<String>, Query, description = "Action, exact, or a prefix ending in `*`, e.g. \
            `material.*`."),
        ("from" = Option<String>, Query, description = "From: RFC 3339, or `YYYY[-MM[-DD]]` (start of the period); \
            invalid gives 422."),
        ("to" = Option<String>, Query, description = "To, inclusive: RFC 3339, or `YYYY[-MM[-DD]]` (end of the \
            period); invalid gives 422."),
        ("outcome" = Option<String>, Query, description = "Outcome (another value gives 400). (AuditOutcome)"),
        ("limit" = Option<usize>, Query, description = "Page size; clamped to 1–1000."),
        ("offset" = Option<usize>, Query, description = "Page start. Default: `0`."),
        ("format" = Option<String>, Query, description = "Answer format (another value gives 422). One of: `json`, \
            `csv`."),
    ),
    responses(
        (status = 200, description = "A page of matching entries, newest first: JSON, or CSV with `format=csv` \
            (columns seq, at (RFC 3339), actor, source, action, object, outcome, detail, hash; text fields quoted, \
            spreadsheet formulas neutralised).",
            content((List<super::schemas::AuditEntry> = "application/json"), (Binary = "text/csv")),
            headers(("Content-Disposition" = String), ("Cache-Control" = String))),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 422, response = Unprocessable),
        (status = 500, response = InternalError),
        (status = 503, response = AuditRollback),
    ),
)]
pub(super) async fn audit(
    State(st): State<AppState>,
    auth: AuthUser,
    ApiQuery(query): ApiQuery<AuditQuery>,
    ApiQuery(q): ApiQuery<Format>,
) -> ApiResult<Response> {
    let archive = st.archive.clone();
    let csv = match q.format.as_deref() {
        None | Some("json") => false,
        Some("csv") => true,
        Some(other) => {
            return Err(HttpError::Unprocessable(format!("format must be json or csv, not {other:?}")).into());
        }
    };
    let (items, total) = blocking(move || archive.audit_trail().query(&auth.principal, &query)).await?;
    if csv {
        let body = crate::service::AuditTrail::csv(&items);
        return Ok(crate::http::attachment(body, "text/csv; charset=utf-8", "audit.csv"));
    }
    Ok(Json(List { items, total }).into_response())
}

#[utoipa::path(
    get,
    path = "/audit/verify",
    operation_id = "auditVerify",
    tag = "audit",
    summary = "Verify the audit chain (capability read_audit: auditor)",
    responses(
        (status = 200, description = "What the verification found (a broken chain is still 200, with `ok: false`).",
            content((super::schemas::AuditVerify = "application/json"))),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 500, response = InternalError),
        (status = 503, response = AuditRollback),
    ),
)]
pub(super) async fn audit_verify(State(st): State<AppState>, auth: AuthUser) -> ApiResult<Response> {
    let archive = st.archive.clone();
    let r = blocking(move || archive.audit_trail().verify_as(&auth.principal)).await?;
    Ok(Json(r).into_response())
}

#[utoipa::path(
    get,
    path = "/audit/checkpoints",
    operation_id = "auditCheckpoints",
    tag = "audit",
    summary = "The audit checkpoints (capability read_audit: auditor)",
    responses(
        (status = 200, description = "Every checkpoint, oldest first, each signed with the installation's key, and the \
            public key: keep the list elsewhere; `dangan audit verify --witness` takes it.",
            content((super::schemas::CheckpointList = "application/json"))),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 500, response = InternalError),
        (status = 503, response = AuditRollback),
    ),
)]
pub(super) async fn audit_checkpoints(State(st): State<AppState>, auth: AuthUser) -> ApiResult<Response> {
    let archive = st.archive.clone();
    let signed = blocking(move || archive.audit_trail().checkpoints(&auth.principal)).await?;
    Ok(Json(signed).into_response())
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct Acknowledge {
    /// Why the store is behind its witness (e.g. the backup restored after a disk failure); kept in the trail.
    reason: String,
}

/// `POST /api/v1/audit/acknowledge-rollback {"reason"}`: the security administrator acknowledges that the store
/// is behind its witness; the archive serves again.
#[utoipa::path(
    post,
    path = "/audit/acknowledge-rollback",
    operation_id = "acknowledgeRollback",
    tag = "audit",
    summary = "Acknowledge that the store is behind its audit witness (security administrator)",
    description = "Only while the archive is held: at start its store's trail ended before (or differed from) a point \
        the audit witness had seen — a rollback, an older backup restored. The acknowledgement, naming the witnessed \
        point and the reason, becomes the first entry of the resumed trail (the sign-ins made while held follow it), \
        the witness records it, and the archive serves again.",
    request_body(content((Acknowledge = "application/json"))),
    responses(
        (status = 200, description = "Acknowledged; the archive serves again.",
            content((super::schemas::Acknowledgement = "application/json"))),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 409, response = Conflict),
        (status = 422, response = Unprocessable),
        (status = 500, response = InternalError),
    ),
)]
pub(super) async fn acknowledge_rollback(
    State(st): State<AppState>,
    auth: AuthUser,
    ApiJson(b): ApiJson<Acknowledge>,
) -> ApiResult<Response> {
    let archive = st.archive.clone();
    let ack = blocking(move || archive.audit_trail().acknowledge_rollback(&auth.principal, &b.reason)).await?;
    Ok(Json(ack).into_response())
}

/// The body of `GET /policy` (documentation only: the handler builds it as JSON).
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub(super) struct PolicyAnswer {
    /// The policy in force.
    policy: Policy,
    /// The stored versions (the shipped default, version 1, is not listed until replaced).
    history: Vec<PolicyHistoryEntry>,
}

/// One stored version of the policy.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub(super) struct PolicyHistoryEntry {
    version: u32,
    /// Username of who set it.
    author: String,
    /// RFC 3339, UTC.
    at: String,
}

#[utoipa::path(
    get,
    path = "/policy",
    operation_id = "getPolicy",
    tag = "access",
    summary = "The access policy and its history",
    description = "For the security administrator, the system administrator and the auditor (manage_policy, \
        manage_accounts or read_audit).",
    responses(
        (status = 200, description = "The policy in force and the stored versions.",
            content((PolicyAnswer = "application/json"))),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 500, response = InternalError),
        (status = 503, response = AuditRollback),
    ),
)]
pub(super) async fn get_policy(State(st): State<AppState>, auth: AuthUser) -> ApiResult<Response> {
    let archive = st.archive.clone();
    let (policy, versions) = blocking(move || archive.policies().versions(&auth.principal)).await?;
    Ok(Json(serde_json::json!({"policy": policy, "history": versions.iter().map(|v| serde_json::json!({"version": v.policy.version, "author": v.author, "at": crate::model::ts_rfc3339(v.at)})).collect::<Vec<_>>()})).into_response())
}

#[utoipa::path(
    put,
    path = "/policy",
    operation_id = "putPolicy",
    tag = "access",
    summary = "Replace the access policy (capability manage_policy: security administrator)",
    description = "The policy is validated (every role defined; 三员分立) — 422 otherwise — then stored as the next \
        version and in force at once. Audited.",
    request_body(content((Policy = "application/json"))),
    responses(
        (status = 200, description = "The policy as stored, with its new version.",
            content((Policy = "application/json"))),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 413, response = TooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 422, response = Unprocessable),
        (status = 500, response = InternalError),
        (status = 503, response = AuditRollback),
    ),
)]
pub(super) async fn put_policy(
    State(st): State<AppState>,
    auth: AuthUser,
    ApiJson(policy): ApiJson<Policy>,
) -> ApiResult<Json<Policy>> {
    let archive = st.archive.clone();
    Ok(Json(blocking(move || archive.policies().set(&auth.principal, policy)).await?))
}

#[derive(Deserialize)]
pub(super) struct ExplainQuery {
    user: String,
    material: MaterialId,
    access: Option<String>,
}

#[utoipa::path(
    get,
    path = "/access/explain",
    operation_id = "explainAccess",
    tag = "access",
    summary = "Explain one account's access to one material (capability manage_policy)",
    params(
        ("user" = String, Query, description = "Username (unknown gives 404)."),
        ("material" = crate::model::MaterialId, Query, description = "Material id (malformed gives 400, unknown 404)."),
        ("access" = Option<String>, Query, description = "What is asked: see in the catalogue, read the content, or \
            change/file (another value gives 422). One of: `list`, `read`, `edit`."),
    ),
    responses(
        (status = 200, description = "Allowed or denied, and the rule that decides it (a hard rule, a role rule, or a \
            grant).",
            content((Decision = "application/json"))),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 422, response = Unprocessable),
        (status = 500, response = InternalError),
        (status = 503, response = AuditRollback),
    ),
)]
pub(super) async fn explain(
    State(st): State<AppState>,
    auth: AuthUser,
    ApiQuery(q): ApiQuery<ExplainQuery>,
) -> ApiResult<Response> {
    let access = match q.access.as_deref().unwrap_or("read") {
        "list" => Access::List,
        "read" => Access::Read,
        "edit" => Access::Edit,
        other => {
            return Err(HttpError::Unprocessable(format!("access must be list, read or edit, not {other:?}")).into());
        }
    };
    let archive = st.archive.clone();
    let d = blocking(move || archive.policies().explain(&auth.principal, &q.user, Some(q.material), access)).await?;
    Ok(Json(d).into_response())
}

#[utoipa::path(
    get,
    path = "/access/review",
    operation_id = "permissionReview",
    tag = "access",
    summary = "Permission review of every account (capability manage_policy)",
    responses(
        (status = 200, description = "For every account: what it can see and do, which rules give it, grants in force.",
            content((List<super::schemas::AccountReview> = "application/json"))),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 500, response = InternalError),
        (status = 503, response = AuditRollback),
    ),
)]
pub(super) async fn review(State(st): State<AppState>, auth: AuthUser) -> ApiResult<Response> {
    let archive = st.archive.clone();
    let items = blocking(move || archive.policies().review(&auth.principal)).await?;
    Ok(Json(List { total: items.len(), items }).into_response())
}

#[utoipa::path(
    get,
    path = "/users",
    operation_id = "listUsers",
    tag = "auth",
    summary = "List accounts (capability manage_accounts: system administrator)",
    responses(
        (status = 200, description = "All accounts.", content((List<UserView> = "application/json"))),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 500, response = InternalError),
        (status = 503, response = AuditRollback),
    ),
)]
pub(super) async fn users(State(st): State<AppState>, auth: AuthUser) -> ApiResult<Json<List<UserView>>> {
    let archive = st.archive.clone();
    let users = blocking(move || archive.accounts().list(&auth.principal)).await?;
    let items: Vec<UserView> = users.into_iter().map(UserView::from).collect();
    Ok(Json(List { total: items.len(), items }))
}

/// The body of `POST /users` (system administrator). The account is created without roles; the password is
/// temporary (the holder must change it at first sign-in) and follows the password policy (422). Unknown fields give
/// 422.
#[derive(Deserialize, utoipa::ToSchema)]
#[schema(as = UserInput)]
#[serde(deny_unknown_fields)]
pub(super) struct NewUserBody {
    /// Trimmed and lower-cased; 1–64 of `a-z 0-9 - _ .` (422).
    #[schema(min_length = 1)]
    username: String,
    /// Defaults to the username.
    display_name: Option<String>,
    /// Temporary password: at least 10 characters, not containing the username, not a common password.
    #[schema(min_length = 10, format = Password)]
    password: String,
    /// Must be empty or absent (business roles are given by the security administrator; a non-empty list is 403
    /// `rule sod.roles-by-secadmin`).
    #[serde(default)]
    roles: Vec<Role>,
    /// Department code.
    department: Option<String>,
    /// The holder's own person record (a business account reads nothing until it is linked; one record, one
    /// account).
    person_id: Option<crate::model::PersonId>,
    /// 1 分管领导, 2 主要领导 (leaders only).
    leader_level: Option<u8>,
}

#[utoipa::path(
    post,
    path = "/users",
    operation_id = "createUser",
    tag = "auth",
    summary = "Create an account (capability manage_accounts: system administrator)",
    description = "Creates an account with an Argon2id-hashed password. 409 when the username is taken. Audited.",
    request_body(content((NewUserBody = "application/json"))),
    responses(
        (status = 201, description = "The new account.", content((UserView = "application/json"))),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 409, response = Conflict),
        (status = 413, response = TooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 422, response = Unprocessable),
        (status = 500, response = InternalError),
        (status = 503, response = AuditRollback),
    ),
)]
pub(super) async fn create_user(
    State(st): State<AppState>,
    auth: AuthUser,
    ApiJson(b): ApiJson<NewUserBody>,
) -> ApiResult<Response> {
    let archive = st.archive.clone();
    let new = NewUser {
        display_name: b.display_name.unwrap_or_else(|| b.username.clone()),
        username: b.username,
        password: b.password,
        roles: b.roles,
        department: b.department,
        person_id: b.person_id,
        leader_level: b.leader_level,
    };
    let u = blocking(move || archive.accounts().add(&auth.principal, new)).await?;
    Ok((StatusCode::CREATED, Json(UserView::from(u))).into_response())
}

#[utoipa::path(
    patch,
    path = "/users/{id}",
    operation_id = "updateUser",
    tag = "auth",
    summary = "Change an account (system administrator: state and name; security administrator: roles, department, \
        level, link)",
    description = "Changes to an account; absent (or null) fields stay. The system administrator changes `disabled` \
        and `display_name`; the security administrator `roles` (business roles only), `department`, `leader_level` and \
        `person_id`. Nobody changes their own account (403 `rule hard.own-account`); administrator accounts are \
        changed only on the server's command line (403 `rule sod.admin-accounts-local`); a business role needs a \
        person link (422 `hard.unlinked-account`). A change of roles, link, department or level, or disabling, ends \
        the account's sessions. Unknown fields give 422. Audited.",
    params(
        ("id" = crate::model::UserId, Path, description = "Account id (400 if malformed)."),
    ),
    request_body(content((super::schemas::UserPatch = "application/json"))),
    responses(
        (status = 200, description = "The account as changed.", content((UserView = "application/json"))),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 413, response = TooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 422, response = Unprocessable),
        (status = 500, response = InternalError),
        (status = 503, response = AuditRollback),
    ),
)]
pub(super) async fn update_user(
    State(st): State<AppState>,
    auth: AuthUser,
    ApiPath(id): ApiPath<UserId>,
    ApiJson(patch): ApiJson<crate::service::admin::UserPatch>,
) -> ApiResult<Json<UserView>> {
    let archive = st.archive.clone();
    Ok(Json(blocking(move || archive.accounts().update(&auth.principal, id, patch)).await?.into()))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct PasswordReset {
    /// A temporary password (the password policy applies); the holder must change it at the next sign-in.
    #[schema(min_length = 10, format = Password)]
    password: String,
}

/// `POST /api/v1/users/{id}/password`: the system administrator sets a temporary password.
#[utoipa::path(
    post,
    path = "/users/{id}/password",
    operation_id = "resetPassword",
    tag = "auth",
    summary = "Reset a business account's password (system administrator)",
    description = "Sets a temporary password; the holder must choose their own at the next sign-in, and the account's \
        sessions end. Administrator accounts are reset only on the server's command line (403). Audited.",
    params(
        ("id" = crate::model::UserId, Path, description = "Account id (400 if malformed)."),
    ),
    request_body(content((PasswordReset = "application/json"))),
    responses(
        (status = 200, description = "The account.", content((UserView = "application/json"))),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 413, response = TooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 422, response = Unprocessable),
        (status = 500, response = InternalError),
        (status = 503, response = AuditRollback),
    ),
)]
pub(super) async fn reset_password(
    State(st): State<AppState>,
    auth: AuthUser,
    ApiPath(id): ApiPath<UserId>,
    ApiJson(b): ApiJson<PasswordReset>,
) -> ApiResult<Json<UserView>> {
    let archive = st.archive.clone();
    Ok(Json(blocking(move || archive.accounts().reset_password(&auth.principal, id, &b.password)).await?.into()))
}

#[utoipa::path(
    post,
    path = "/grants",
    operation_id = "requestGrant",
    tag = "grants",
    summary = "Ask for a consultation grant (查阅授权)",
    description = "Anyone may ask to read a dossier (or listed materials of it) for a stated purpose and period. Hard \
        rules apply (403: one's own or a relative's dossier). Audited.",
    request_body(content((super::schemas::GrantRequest = "application/json"))),
    responses(
        (status = 201, description = "The grant, in state `requested`.",
            content((super::schemas::Grant = "application/json"))),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 413, response = TooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 422, response = Unprocessable),
        (status = 500, response = InternalError),
        (status = 503, response = AuditRollback),
    ),
)]
pub(super) async fn request_grant(
    State(st): State<AppState>,
    auth: AuthUser,
    ApiJson(req): ApiJson<GrantRequest>,
) -> ApiResult<Response> {
    let archive = st.archive.clone();
    let g = blocking(move || archive.grants().request(&auth.principal, req)).await?;
    Ok((StatusCode::CREATED, Json(g.public())).into_response())
}

#[utoipa::path(
    get,
    path = "/grants",
    operation_id = "listGrants",
    tag = "grants",
    summary = "List consultation grants",
    responses(
        (status = 200, description = "The caller's own grants; all grants for those who decide them.",
            content((List<super::schemas::Grant> = "application/json"))),
        (status = 401, response = Unauthorized),
        (status = 500, response = InternalError),
        (status = 503, response = AuditRollback),
    ),
)]
pub(super) async fn list_grants(State(st): State<AppState>, auth: AuthUser) -> ApiResult<Json<List<Grant>>> {
    let archive = st.archive.clone();
    let items: Vec<Grant> =
        blocking(move || archive.grants().list(&auth.principal)).await?.into_iter().map(Grant::public).collect();
    Ok(Json(List { total: items.len(), items }))
}

#[utoipa::path(
    get,
    path = "/grants/{id}",
    operation_id = "getGrant",
    tag = "grants",
    summary = "One consultation grant",
    params(
        ("id" = crate::model::GrantId, Path, description = "Grant id (400 if malformed)."),
    ),
    responses(
        (status = 200, description = "The grant (its requester, or one who decides grants; others get 404).",
            content((super::schemas::Grant = "application/json"))),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
        (status = 500, response = InternalError),
        (status = 503, response = AuditRollback),
    ),
)]
pub(super) async fn get_grant(
    State(st): State<AppState>,
    auth: AuthUser,
    ApiPath(id): ApiPath<GrantId>,
) -> ApiResult<Json<Grant>> {
    let archive = st.archive.clone();
    Ok(Json(blocking(move || archive.grants().get(&auth.principal, id)).await?.public()))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct GrantDecision {
    /// `approve` or `reject` (anything else gives 422).
    #[schema(example = "approve")]
    decision: String,
    /// Kept (first 500 characters).
    comment: Option<String>,
}

#[utoipa::path(
    post,
    path = "/grants/{id}/decision",
    operation_id = "decideGrant",
    tag = "grants",
    summary = "Grant or refuse a requested grant (capability decide_grants)",
    description = "Security administrators and leaders; never one's own request, nor about one's own or a relative's \
        dossier (403). 409 when already decided. Audited.",
    params(
        ("id" = crate::model::GrantId, Path, description = "Grant id (400 if malformed)."),
    ),
    request_body(content((GrantDecision = "application/json"))),
    responses(
        (status = 200, description = "The grant, `granted` or `refused`.",
            content((super::schemas::Grant = "application/json"))),
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
pub(super) async fn decide_grant(
    State(st): State<AppState>,
    auth: AuthUser,
    ApiPath(id): ApiPath<GrantId>,
    ApiJson(d): ApiJson<GrantDecision>,
) -> ApiResult<Json<Grant>> {
    let approve = match d.decision.as_str() {
        "approve" => true,
        "reject" => false,
        other => {
            return Err(HttpError::Unprocessable(format!("decision must be approve or reject, not {other:?}")).into());
        }
    };
    let archive = st.archive.clone();
    Ok(Json(blocking(move || archive.grants().decide(&auth.principal, id, approve, d.comment)).await?.public()))
}

#[utoipa::path(
    post,
    path = "/grants/{id}/revoke",
    operation_id = "revokeGrant",
    tag = "grants",
    summary = "Revoke a grant in force (capability decide_grants)",
    description = "No body. 409 when the grant is not `granted`. Audited.",
    params(
        ("id" = crate::model::GrantId, Path, description = "Grant id (400 if malformed)."),
    ),
    responses(
        (status = 200, description = "The grant, `revoked`.", content((super::schemas::Grant = "application/json"))),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 500, response = InternalError),
        (status = 503, response = AuditRollback),
    ),
)]
pub(super) async fn revoke_grant(
    State(st): State<AppState>,
    auth: AuthUser,
    ApiPath(id): ApiPath<GrantId>,
) -> ApiResult<Json<Grant>> {
    let archive = st.archive.clone();
    Ok(Json(blocking(move || archive.grants().revoke(&auth.principal, id)).await?.public()))
}

#[utoipa::path(
    post,
    path = "/batches",
    operation_id = "createBatch",
    tag = "batches",
    summary = "Create a scanning batch (HR and administration)",
    description = "Needs capability upload or manage_custody. Audited.",
    request_body(content((super::schemas::NewBatch = "application/json"))),
    responses(
        (status = 201, description = "The new batch (open).", content((super::schemas::Batch = "application/json"))),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 413, response = TooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 422, response = Unprocessable),
        (status = 500, response = InternalError),
        (status = 503, response = AuditRollback),
    ),
)]
pub(super) async fn create_batch(
    State(st): State<AppState>,
    auth: AuthUser,
    ApiJson(new): ApiJson<crate::service::batches::NewBatch>,
) -> ApiResult<Response> {
    let archive = st.archive.clone();
    let b = blocking(move || archive.imports().create_batch(&auth.principal, new)).await?;
    Ok((StatusCode::CREATED, Json(b)).into_response())
}

#[utoipa::path(
    get,
    path = "/batches",
    operation_id = "listBatches",
    tag = "batches",
    summary = "List batches",
    responses(
        (status = 200, description = "All batches for HR and administration; the assigned ones for a scanning \
            operator.",
            content((List<super::schemas::Batch> = "application/json"))),
        (status = 401, response = Unauthorized),
        (status = 500, response = InternalError),
        (status = 503, response = AuditRollback),
    ),
)]
pub(super) async fn list_batches(
    State(st): State<AppState>,
    auth: AuthUser,
) -> ApiResult<Json<List<crate::service::batches::Batch>>> {
    let archive = st.archive.clone();
    let items = blocking(move || archive.imports().list_batches(&auth.principal)).await?;
    Ok(Json(List { total: items.len(), items }))
}

#[utoipa::path(
    post,
    path = "/batches/{id}/materials",
    operation_id = "fileInBatch",
    tag = "batches",
    summary = "File a scan into a dossier of a batch (assigned operator)",
    description = "Multipart upload like `POST /persons/{id}/materials`, with the dossier named by `person_id` in \
        `meta` (or as a part). Only the batch's operators file into it (403), only into its dossiers (403), and only \
        while it is open (409). A batch the caller is not assigned to is 404. Audited.",
    params(
        ("id" = crate::model::BatchId, Path, description = "Batch id (400 if malformed)."),
    ),
    request_body(content((BatchUpload = "multipart/form-data"))),
    responses(
        (status = 201, description = "The material filed (version 1).", content((MaterialView = "application/json"))),
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
pub(super) async fn file_in_batch(
    State(st): State<AppState>,
    auth: AuthUser,
    ApiPath(batch): ApiPath<crate::model::BatchId>,
    req: axum::extract::Request,
) -> ApiResult<Response> {
    let mut up = super::materials::read_uploads(&st, req, true, crate::service::pages::MAX_PAGES).await?;
    let mut meta = up.meta.take().unwrap_or_default();
    let person: crate::model::PersonId = meta
        .as_object_mut()
        .and_then(|m| m.remove("person_id"))
        .and_then(|v| v.as_str().and_then(|s| s.parse().ok()))
        .ok_or_else(|| HttpError::Unprocessable("meta must name the dossier: person_id".into()))?;
    let meta = super::materials::parse_meta(meta)?;
    let archive = st.archive.clone();
    // A scan of a batch is streamed in like any upload, then filed from memory (scans are pages, not GiB).
    // Page images (one or more JPEG, TIFF or PNG files) make one scanned material, checked page by page at
    // intake; any other file (a PDF scanned elsewhere) is filed as it is.
    let m = blocking(move || {
        let mut files = up.read_files()?;
        if files.len() > 1 || crate::service::pages::is_page_image(&files[0].bytes) {
            archive.digitisation().file_pages_in_batch(&auth.principal, batch, person, meta, files)
        } else {
            let f = files.remove(0);
            archive.imports().file_in_batch(&auth.principal, batch, person, meta, &f.bytes, f.file_name)
        }
    })
    .await?;
    Ok((StatusCode::CREATED, Json(super::views::MaterialView::new(m, st.archive.scheme(), None))).into_response())
}

#[utoipa::path(
    get,
    path = "/batches/{id}/materials",
    operation_id = "batchMaterials",
    tag = "batches",
    summary = "Materials filed in a batch",
    params(
        ("id" = crate::model::BatchId, Path, description = "Batch id (400 if malformed)."),
    ),
    responses(
        (status = 200, description = "What the caller filed in the batch (HR and administration: everything filed in \
            it); catalogue fields only.",
            content((List<MaterialView> = "application/json"))),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
        (status = 500, response = InternalError),
        (status = 503, response = AuditRollback),
    ),
)]
pub(super) async fn batch_materials(
    State(st): State<AppState>,
    auth: AuthUser,
    ApiPath(batch): ApiPath<crate::model::BatchId>,
) -> ApiResult<Json<List<super::views::MaterialView>>> {
    let archive = st.archive.clone();
    let ms = blocking(move || archive.imports().batch_materials(&auth.principal, batch)).await?;
    let items: Vec<_> = ms.into_iter().map(|m| super::views::MaterialView::new(m, st.archive.scheme(), None)).collect();
    Ok(Json(List { total: items.len(), items }))
}

#[utoipa::path(
    get,
    path = "/backup",
    operation_id = "backup",
    tag = "backup",
    summary = "Download a backup of the whole store (capability backup: system administrator)",
    description = "A snapshot of the store as sealed on disk (it opens only with the master key), streamed with its \
        length. The backup's own audit entry is made durable before the snapshot, so it is part of it. Restore with \
        `dangan restore`.",
    responses(
        (status = 200, description = "The backup file.",
            content((Binary = "application/octet-stream")), headers(("Content-Disposition" = String))),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 500, response = InternalError),
        (status = 503, response = AuditRollback),
    ),
)]
pub(super) async fn backup(State(st): State<AppState>, auth: AuthUser) -> ApiResult<Response> {
    let archive = st.archive.clone();
    let (file, len) = blocking(move || archive.operations().backup_as(&auth.principal)).await?;
    let body = axum::body::Body::from_stream(tokio_util::io::ReaderStream::new(tokio::fs::File::from_std(file)));
    let mut resp = crate::http::attachment(body, "application/octet-stream", "dangan.backup");
    resp.headers_mut().insert(header::CONTENT_LENGTH, len.into());
    Ok(resp)
}
