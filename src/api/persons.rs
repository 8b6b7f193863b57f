//! Person records and their history.

use super::error::ApiError;
use super::extract::{ApiJson, ApiPath, ApiQuery, AuthUser, IfMatch};
use super::views::{List, PersonVersionView};
use super::{reason_of, with_etag};
use crate::http::{AppState, blocking};
use crate::model::{Person, PersonId};
use crate::service::archive::PersonQuery;
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::Value;

type ApiResult<T> = Result<T, ApiError>;

#[derive(Serialize)]
struct PersonAnswer {
    #[serde(flatten)]
    person: Person,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    findings: Vec<crate::model::Finding>,
}

type PersonView = crate::service::archive::PersonView;

pub(super) async fn create_person(
    State(st): State<AppState>,
    auth: AuthUser,
    ApiJson(body): ApiJson<Value>,
) -> ApiResult<Response> {
    let archive = st.archive.clone();
    let saved = blocking(move || archive.create_person(&auth.principal, body)).await?;
    let version = saved.record.version;
    let location = format!("/api/v1/persons/{}", saved.record.id);
    let mut resp =
        (StatusCode::CREATED, Json(PersonAnswer { person: saved.record, findings: saved.findings })).into_response();
    if let Ok(v) = HeaderValue::from_str(&location) {
        resp.headers_mut().insert(header::LOCATION, v);
    }
    Ok(with_etag(resp, version))
}

#[derive(Deserialize)]
pub(super) struct PersonListQuery {
    q: Option<String>,
    name: Option<String>,
    department: Option<String>,
    limit: Option<usize>,
    offset: Option<usize>,
}

pub(super) async fn list_persons(
    State(st): State<AppState>,
    auth: AuthUser,
    ApiQuery(q): ApiQuery<PersonListQuery>,
) -> ApiResult<Json<List<PersonView>>> {
    let archive = st.archive.clone();
    let query = PersonQuery {
        name: q.name.or(q.q).filter(|s| !s.trim().is_empty()),
        department: q.department.filter(|s| !s.is_empty()),
        limit: q.limit.unwrap_or(50),
        offset: q.offset.unwrap_or(0),
    };
    let (items, total) = blocking(move || archive.list_persons(&auth.principal, &query)).await?;
    Ok(Json(List { items, total }))
}

pub(super) async fn get_person(
    State(st): State<AppState>,
    auth: AuthUser,
    ApiPath(id): ApiPath<PersonId>,
) -> ApiResult<Response> {
    let archive = st.archive.clone();
    let person = blocking(move || archive.get_person(&auth.principal, id)).await?;
    let v = person.person.version;
    Ok(with_etag(Json(person).into_response(), v))
}

pub(super) async fn patch_person(
    State(st): State<AppState>,
    auth: AuthUser,
    ApiPath(id): ApiPath<PersonId>,
    IfMatch(expected): IfMatch,
    headers: HeaderMap,
    ApiJson(patch): ApiJson<Value>,
) -> ApiResult<Response> {
    let archive = st.archive.clone();
    let reason = reason_of(&headers);
    let saved = blocking(move || archive.patch_person(&auth.principal, id, expected, patch, reason)).await?;
    let v = saved.record.version;
    Ok(with_etag(Json(PersonAnswer { person: saved.record, findings: saved.findings }).into_response(), v))
}

pub(super) async fn person_versions(
    State(st): State<AppState>,
    auth: AuthUser,
    ApiPath(id): ApiPath<PersonId>,
) -> ApiResult<Json<List<PersonVersionView>>> {
    let archive = st.archive.clone();
    let versions = blocking(move || archive.person_versions(&auth.principal, id)).await?;
    let items: Vec<PersonVersionView> = versions.into_iter().map(Into::into).collect();
    Ok(Json(List { total: items.len(), items }))
}
