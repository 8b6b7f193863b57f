//! Handlers for change requests and the inbox.

use super::error::ApiError;
use super::extract::{ApiJson, ApiPath, ApiQuery, AuthUser};
use super::views::List;
use crate::http::{AppState, HttpError, blocking};
use crate::model::{PersonId, RequestId};
use crate::service::workflows::{InboxItem, NewRequest, Request};
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

type ApiResult<T> = Result<T, ApiError>;

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

pub(super) async fn get(
    State(st): State<AppState>,
    auth: AuthUser,
    ApiPath(id): ApiPath<RequestId>,
) -> ApiResult<Json<Request>> {
    let archive = st.archive.clone();
    Ok(Json(blocking(move || archive.requests().get(&auth.principal, id)).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Revision {
    changes: serde_json::Value,
    reason: Option<String>,
}

pub(super) async fn revise(
    State(st): State<AppState>,
    auth: AuthUser,
    ApiPath(id): ApiPath<RequestId>,
    ApiJson(rev): ApiJson<Revision>,
) -> ApiResult<Json<Request>> {
    let archive = st.archive.clone();
    Ok(Json(blocking(move || archive.requests().revise(&auth.principal, id, rev.changes, rev.reason)).await?))
}

pub(super) async fn submit(
    State(st): State<AppState>,
    auth: AuthUser,
    ApiPath(id): ApiPath<RequestId>,
) -> ApiResult<Json<Request>> {
    let archive = st.archive.clone();
    Ok(Json(blocking(move || archive.requests().submit(&auth.principal, id)).await?))
}

pub(super) async fn withdraw(
    State(st): State<AppState>,
    auth: AuthUser,
    ApiPath(id): ApiPath<RequestId>,
) -> ApiResult<Json<Request>> {
    let archive = st.archive.clone();
    Ok(Json(blocking(move || archive.requests().withdraw(&auth.principal, id)).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct DecisionBody {
    decision: String,
    comment: Option<String>,
}

pub(super) async fn decide(
    State(st): State<AppState>,
    auth: AuthUser,
    ApiPath(id): ApiPath<RequestId>,
    ApiJson(d): ApiJson<DecisionBody>,
) -> ApiResult<Json<Request>> {
    let archive = st.archive.clone();
    Ok(Json(blocking(move || archive.requests().decide(&auth.principal, id, &d.decision, d.comment)).await?))
}

pub(super) async fn inbox(State(st): State<AppState>, auth: AuthUser) -> ApiResult<Json<List<InboxItem>>> {
    let archive = st.archive.clone();
    let items = blocking(move || archive.requests().inbox(&auth.principal)).await?;
    Ok(Json(List { total: items.len(), items }))
}

pub(super) async fn notifications(
    State(st): State<AppState>,
    auth: AuthUser,
) -> ApiResult<Json<List<crate::service::notify::Notification>>> {
    let archive = st.archive.clone();
    let items = blocking(move || archive.requests().notifications(&auth.principal)).await?;
    Ok(Json(List { total: items.len(), items }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct CommentBody {
    text: String,
}

pub(super) async fn comment(
    State(st): State<AppState>,
    auth: AuthUser,
    ApiPath(id): ApiPath<RequestId>,
    ApiJson(c): ApiJson<CommentBody>,
) -> ApiResult<Json<Request>> {
    let archive = st.archive.clone();
    Ok(Json(blocking(move || archive.requests().comment(&auth.principal, id, &c.text)).await?))
}

pub(super) async fn get_definitions(
    State(st): State<AppState>,
    _auth: AuthUser,
) -> ApiResult<Json<crate::model::workflow::Definitions>> {
    let archive = st.archive.clone();
    Ok(Json(blocking(move || archive.requests().definitions()).await?))
}

/// New definitions as TOML (the shipped format, `src/model/workflows.toml`).
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
