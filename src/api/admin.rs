//! Handlers for access control and accountability: the audit trail (auditor), the policy and the permission
//! review (security administrator), accounts (system administrator), consultation grants.

use super::error::ApiError;
use super::extract::{ApiJson, ApiPath, ApiQuery, AuthUser};
use super::views::{List, UserView};
use crate::http::{AppState, HttpError, blocking};
use crate::model::policy::{Access, Policy};
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
    let (items, total) = blocking(move || archive.audit_query(&auth.principal, &query)).await?;
    if csv {
        let body = crate::service::Archive::audit_csv(&items);
        return Ok(crate::http::attachment(body, "text/csv; charset=utf-8", "audit.csv"));
    }
    Ok(Json(List { items, total }).into_response())
}

pub(super) async fn audit_verify(State(st): State<AppState>, auth: AuthUser) -> ApiResult<Response> {
    let archive = st.archive.clone();
    let r = blocking(move || archive.audit_verify_as(&auth.principal)).await?;
    Ok(Json(r).into_response())
}

pub(super) async fn audit_checkpoints(State(st): State<AppState>, auth: AuthUser) -> ApiResult<Response> {
    let archive = st.archive.clone();
    let signed = blocking(move || archive.audit_checkpoints(&auth.principal)).await?;
    Ok(Json(signed).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Acknowledge {
    reason: String,
}

/// `POST /api/v1/audit/acknowledge-rollback {"reason"}`: the security administrator acknowledges that the store
/// is behind its witness; the archive serves again.
pub(super) async fn acknowledge_rollback(
    State(st): State<AppState>,
    auth: AuthUser,
    ApiJson(b): ApiJson<Acknowledge>,
) -> ApiResult<Response> {
    let archive = st.archive.clone();
    let ack = blocking(move || archive.acknowledge_rollback(&auth.principal, &b.reason)).await?;
    Ok(Json(ack).into_response())
}

pub(super) async fn get_policy(State(st): State<AppState>, auth: AuthUser) -> ApiResult<Response> {
    let archive = st.archive.clone();
    let (policy, versions) = blocking(move || archive.policy_versions(&auth.principal)).await?;
    Ok(Json(serde_json::json!({"policy": policy, "history": versions.iter().map(|v| serde_json::json!({"version": v.policy.version, "author": v.author, "at": crate::model::ts_rfc3339(v.at)})).collect::<Vec<_>>()})).into_response())
}

pub(super) async fn put_policy(
    State(st): State<AppState>,
    auth: AuthUser,
    ApiJson(policy): ApiJson<Policy>,
) -> ApiResult<Json<Policy>> {
    let archive = st.archive.clone();
    Ok(Json(blocking(move || archive.set_policy(&auth.principal, policy)).await?))
}

#[derive(Deserialize)]
pub(super) struct ExplainQuery {
    user: String,
    material: MaterialId,
    access: Option<String>,
}

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
    let d = blocking(move || archive.explain(&auth.principal, &q.user, Some(q.material), access)).await?;
    Ok(Json(d).into_response())
}

pub(super) async fn review(State(st): State<AppState>, auth: AuthUser) -> ApiResult<Response> {
    let archive = st.archive.clone();
    let items = blocking(move || archive.permission_review(&auth.principal)).await?;
    Ok(Json(List { total: items.len(), items }).into_response())
}

pub(super) async fn users(State(st): State<AppState>, auth: AuthUser) -> ApiResult<Json<List<UserView>>> {
    let archive = st.archive.clone();
    let users = blocking(move || archive.list_users(&auth.principal)).await?;
    let items: Vec<UserView> = users.into_iter().map(UserView::from).collect();
    Ok(Json(List { total: items.len(), items }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct NewUserBody {
    username: String,
    display_name: Option<String>,
    password: String,
    #[serde(default)]
    roles: Vec<Role>,
    department: Option<String>,
    person_id: Option<crate::model::PersonId>,
    leader_level: Option<u8>,
}

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
    let u = blocking(move || archive.add_user(&auth.principal, new)).await?;
    Ok((StatusCode::CREATED, Json(UserView::from(u))).into_response())
}

pub(super) async fn update_user(
    State(st): State<AppState>,
    auth: AuthUser,
    ApiPath(id): ApiPath<UserId>,
    ApiJson(patch): ApiJson<crate::service::admin::UserPatch>,
) -> ApiResult<Json<UserView>> {
    let archive = st.archive.clone();
    Ok(Json(blocking(move || archive.update_user(&auth.principal, id, patch)).await?.into()))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct PasswordReset {
    password: String,
}

/// `POST /api/v1/users/{id}/password`: the system administrator sets a temporary password.
pub(super) async fn reset_password(
    State(st): State<AppState>,
    auth: AuthUser,
    ApiPath(id): ApiPath<UserId>,
    ApiJson(b): ApiJson<PasswordReset>,
) -> ApiResult<Json<UserView>> {
    let archive = st.archive.clone();
    Ok(Json(blocking(move || archive.reset_password(&auth.principal, id, &b.password)).await?.into()))
}

pub(super) async fn request_grant(
    State(st): State<AppState>,
    auth: AuthUser,
    ApiJson(req): ApiJson<GrantRequest>,
) -> ApiResult<Response> {
    let archive = st.archive.clone();
    let g = blocking(move || archive.request_grant(&auth.principal, req)).await?;
    Ok((StatusCode::CREATED, Json(g)).into_response())
}

pub(super) async fn list_grants(State(st): State<AppState>, auth: AuthUser) -> ApiResult<Json<List<Grant>>> {
    let archive = st.archive.clone();
    let items = blocking(move || archive.list_grants(&auth.principal)).await?;
    Ok(Json(List { total: items.len(), items }))
}

pub(super) async fn get_grant(
    State(st): State<AppState>,
    auth: AuthUser,
    ApiPath(id): ApiPath<GrantId>,
) -> ApiResult<Json<Grant>> {
    let archive = st.archive.clone();
    Ok(Json(blocking(move || archive.get_grant(&auth.principal, id)).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct GrantDecision {
    decision: String,
    comment: Option<String>,
}

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
    Ok(Json(blocking(move || archive.decide_grant(&auth.principal, id, approve, d.comment)).await?))
}

pub(super) async fn revoke_grant(
    State(st): State<AppState>,
    auth: AuthUser,
    ApiPath(id): ApiPath<GrantId>,
) -> ApiResult<Json<Grant>> {
    let archive = st.archive.clone();
    Ok(Json(blocking(move || archive.revoke_grant(&auth.principal, id)).await?))
}

pub(super) async fn create_batch(
    State(st): State<AppState>,
    auth: AuthUser,
    ApiJson(new): ApiJson<crate::service::batches::NewBatch>,
) -> ApiResult<Response> {
    let archive = st.archive.clone();
    let b = blocking(move || archive.create_batch(&auth.principal, new)).await?;
    Ok((StatusCode::CREATED, Json(b)).into_response())
}

pub(super) async fn list_batches(
    State(st): State<AppState>,
    auth: AuthUser,
) -> ApiResult<Json<List<crate::service::batches::Batch>>> {
    let archive = st.archive.clone();
    let items = blocking(move || archive.list_batches(&auth.principal)).await?;
    Ok(Json(List { total: items.len(), items }))
}

pub(super) async fn file_in_batch(
    State(st): State<AppState>,
    auth: AuthUser,
    ApiPath(batch): ApiPath<crate::model::BatchId>,
    req: axum::extract::Request,
) -> ApiResult<Response> {
    let up = super::materials::read_upload(&st, req, true).await?;
    let mut meta = up.meta.unwrap_or_default();
    let person: crate::model::PersonId = meta
        .as_object_mut()
        .and_then(|m| m.remove("person_id"))
        .and_then(|v| v.as_str().and_then(|s| s.parse().ok()))
        .ok_or_else(|| HttpError::Unprocessable("meta must name the dossier: person_id".into()))?;
    let meta = super::materials::parse_meta(meta)?;
    let archive = st.archive.clone();
    // A scan of a batch is streamed in like any upload, then filed from memory (scans are pages, not GiB).
    let m = blocking(move || {
        let bytes = up.file.read_all()?;
        archive.file_in_batch(&auth.principal, batch, person, meta, &bytes, up.file_name)
    })
    .await?;
    Ok((StatusCode::CREATED, Json(super::views::MaterialView::new(m, st.archive.scheme(), None))).into_response())
}

pub(super) async fn batch_materials(
    State(st): State<AppState>,
    auth: AuthUser,
    ApiPath(batch): ApiPath<crate::model::BatchId>,
) -> ApiResult<Json<List<super::views::MaterialView>>> {
    let archive = st.archive.clone();
    let ms = blocking(move || archive.batch_materials(&auth.principal, batch)).await?;
    let items: Vec<_> = ms.into_iter().map(|m| super::views::MaterialView::new(m, st.archive.scheme(), None)).collect();
    Ok(Json(List { total: items.len(), items }))
}

pub(super) async fn backup(State(st): State<AppState>, auth: AuthUser) -> ApiResult<Response> {
    let archive = st.archive.clone();
    let (file, len) = blocking(move || archive.backup_as(&auth.principal)).await?;
    let body = axum::body::Body::from_stream(tokio_util::io::ReaderStream::new(tokio::fs::File::from_std(file)));
    let mut resp = crate::http::attachment(body, "application/octet-stream", "dangan.backup");
    resp.headers_mut().insert(header::CONTENT_LENGTH, len.into());
    Ok(resp)
}
