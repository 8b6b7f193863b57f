//! Person records and their history.

use super::doc::*;
use super::error::ApiError;
use super::extract::{ApiJson, ApiPath, ApiQuery, AuthUser, IfMatch};
use super::views::{List, PersonVersionView};
use super::{reason_of, with_etag};
use crate::http::{AppState, blocking};
use crate::model::{Person, PersonId};
use crate::service::persons::PersonQuery;
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::Value;

type ApiResult<T> = Result<T, ApiError>;

#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = PersonWithFindings)]
struct PersonAnswer {
    #[serde(flatten)]
    person: Person,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    findings: Vec<crate::model::Finding>,
}

type PersonView = crate::service::persons::PersonView;

#[utoipa::path(
    post,
    path = "/persons",
    operation_id = "createPerson",
    tag = "persons",
    summary = "Create a person record",
    description = "Validates the record (ID number per GB 11643; birth date and gender derived from it when absent; \
        dates plausible; department known). Blocking findings give 422 with `findings`; warnings are returned with the \
        record.",
    request_body(
        description = "A person without `id`, `version` and `department_name` (those are assigned and ignored when \
            sent). Other unknown top-level fields are ignored; entries of the record lists accept only their own \
            fields.",
        content((Person = "application/json"))
    ),
    responses(
        (status = 201, description = "Created (version 1).",
            content((PersonAnswer = "application/json")), headers(("Location" = String), ("ETag" = String))),
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
pub(super) async fn create_person(
    State(st): State<AppState>,
    auth: AuthUser,
    ApiJson(body): ApiJson<Value>,
) -> ApiResult<Response> {
    let archive = st.archive.clone();
    let saved = blocking(move || archive.persons().create(&auth.principal, body)).await?;
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

#[utoipa::path(
    get,
    path = "/persons",
    operation_id = "listPersons",
    tag = "persons",
    summary = "List person records",
    params(
        ("name" = Option<String>, Query, description = "Name or former name contains (case- and width-folded)."),
        ("q" = Option<String>, Query, description = "Alias of `name` (used when `name` is absent)."),
        ("department" = Option<String>, Query, description = "Department code."),
        ("limit" = Option<usize>, Query, description = "Page size; clamped to 1–500."),
        ("offset" = Option<usize>, Query, description = "Default: `0`."),
    ),
    responses(
        (status = 200, description = "A page of records (the caller's own record is never listed).",
            content((List<super::schemas::PersonView> = "application/json"))),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 500, response = InternalError),
        (status = 503, response = AuditRollback),
    ),
)]
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
    let (items, total) = blocking(move || archive.persons().list(&auth.principal, &query)).await?;
    Ok(Json(List { items, total }))
}

#[utoipa::path(
    get,
    path = "/persons/{id}",
    operation_id = "getPerson",
    tag = "persons",
    summary = "Read a person record",
    params(
        ("id" = crate::model::PersonId, Path, description = "Person id (400 if malformed)."),
    ),
    responses(
        (status = 200, description = "The record, redacted to what the caller may see (`hidden` names what was \
            withheld).",
            content((super::schemas::PersonView = "application/json")), headers(("ETag" = String))),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 500, response = InternalError),
        (status = 503, response = AuditRollback),
    ),
)]
pub(super) async fn get_person(
    State(st): State<AppState>,
    auth: AuthUser,
    ApiPath(id): ApiPath<PersonId>,
) -> ApiResult<Response> {
    let archive = st.archive.clone();
    let person = blocking(move || archive.persons().get(&auth.principal, id)).await?;
    let v = person.person.version;
    Ok(with_etag(Json(person).into_response(), v))
}

#[utoipa::path(
    patch,
    path = "/persons/{id}",
    operation_id = "patchPerson",
    tag = "persons",
    summary = "Change a person record (JSON merge patch)",
    description = "Applies an RFC 7396 merge patch under optimistic concurrency and validates the result (422 with \
        `findings`). Produces a new immutable version. Only the routine fields of the flow definitions' fast path \
        (phone, address, training, former_names by default) change directly; any other field is 409 `rule \
        workflow.request-required`, naming the request kind that changes it (`promotion`, `transfer`, `resignation`, \
        `update`).",
    params(
        ("id" = crate::model::PersonId, Path, description = "Person id (400 if malformed)."),
        ("If-Match" = String, Header, description = "The current version (the ETag): `\"3\"`, `3` or `W/\"3\"`. \
            Missing gives 428, unparsable 400, not current 412."),
        ("X-Change-Reason" = Option<String>, Header, description = "Why the change is made; kept with the new version \
            (first 500 characters)."),
    ),
    request_body(
        description = "A JSON merge patch (RFC 7396) of a person record (fields as in `Person`): listed fields \
            replace, `null` removes (back to null / empty list / `active`). `id`, `version` and `department_name` are \
            ignored. The patched record is validated as a whole.",
        content((Object = "application/merge-patch+json"), (Object = "application/json"))
    ),
    responses(
        (status = 200, description = "The new version.",
            content((PersonAnswer = "application/json")), headers(("ETag" = String))),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 412, response = PreconditionFailed),
        (status = 413, response = TooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 422, response = Unprocessable),
        (status = 428, response = PreconditionRequired),
        (status = 500, response = InternalError),
        (status = 503, response = AuditRollback),
    ),
)]
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
    let saved = blocking(move || archive.persons().patch(&auth.principal, id, expected, patch, reason)).await?;
    let v = saved.record.version;
    Ok(with_etag(Json(PersonAnswer { person: saved.record, findings: saved.findings }).into_response(), v))
}

#[utoipa::path(
    get,
    path = "/persons/{id}/versions",
    operation_id = "personVersions",
    tag = "persons",
    summary = "A person record's history",
    params(
        ("id" = crate::model::PersonId, Path, description = "Person id (400 if malformed)."),
    ),
    responses(
        (status = 200, description = "Every version, oldest first.",
            content((List<PersonVersionView> = "application/json"))),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 500, response = InternalError),
        (status = 503, response = AuditRollback),
    ),
)]
pub(super) async fn person_versions(
    State(st): State<AppState>,
    auth: AuthUser,
    ApiPath(id): ApiPath<PersonId>,
) -> ApiResult<Json<List<PersonVersionView>>> {
    let archive = st.archive.clone();
    let versions = blocking(move || archive.persons().versions(&auth.principal, id)).await?;
    let items: Vec<PersonVersionView> = versions.into_iter().map(Into::into).collect();
    Ok(Json(List { total: items.len(), items }))
}
