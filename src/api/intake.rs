//! 收材登记 and 归档 (docs/DOMAIN.md §2b): receiving a material into a dossier's 待归档 queue, the queue, and
//! filing a received material into the catalogue.

use super::doc::*;
use super::error::ApiError;
use super::extract::{ApiPath, ApiQuery, AuthUser};
use super::materials::{MaterialUpload, UploadQuery, upload};
use super::views::{List, MaterialView};
use super::with_etag;
use crate::http::{AppState, blocking};
use crate::model::{MaterialId, PartialDate, PersonId};
use crate::service::intake::{IntakeItem, IntakeQuery};
use axum::Json;
use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

type ApiResult<T> = Result<T, ApiError>;

/// A received material waiting to be filed.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = IntakeItem)]
pub(super) struct IntakeItemView {
    /// The material (with its receipt fields; `awaiting_filing` is `true`).
    material: MaterialView,
    /// Whose dossier it waits for.
    person_id: PersonId,
    /// The person's name.
    person_name: String,
    /// Title (材料名称).
    title: String,
    /// Category code.
    category: String,
    /// 接收时间 (the day it was stored when the receipt named none).
    received_on: PartialDate,
    /// The last day to file it (a month after its receipt), `YYYY-MM-DD`.
    due: String,
    /// Past its due date and still not filed.
    overdue: bool,
}

impl IntakeItemView {
    fn new(st: &AppState, i: IntakeItem) -> Self {
        IntakeItemView {
            person_id: i.material.person_id,
            person_name: i.person_name,
            title: i.material.meta.title.clone(),
            category: i.material.meta.category.clone(),
            received_on: i.received_on,
            due: PartialDate::from_date(i.due).to_string(),
            overdue: i.overdue,
            material: MaterialView::new(i.material, st.archive.scheme(), None),
        }
    }
}

#[derive(Deserialize)]
pub(super) struct QueueQuery {
    person_id: Option<PersonId>,
    overdue: Option<bool>,
    limit: Option<usize>,
    offset: Option<usize>,
}

#[utoipa::path(
    post,
    path = "/persons/{id}/intake",
    operation_id = "receiveMaterial",
    tag = "materials",
    summary = "收材登记: receive a material into the dossier's 待归档 queue",
    description = "Multipart upload exactly as `POST /persons/{id}/materials` (part `file` and part `meta`, or the \
        fields as separate parts), with the receipt fields `received_on` (接收时间, default today), `received_by` \
        (接收人, default the caller), `copies` (份数), `source_unit` (来处), `original` (原件) and, for a copy, \
        `copy_made_on` (复制时间) and `copy_certified_by`. The material is stored but has no 序号 until it is filed \
        (`POST /intake/{material_id}/file`). HR (within what it may file) and 行政部 (custody) receive; never into \
        one's own or a relative's dossier. Audited (`intake.receive`).",
    params(
        ("id" = PersonId, Path, description = "Person id (400 if malformed)."),
        ("wait" = Option<bool>, Query, description = "Wait (bounded) until the material is searchable. Default: `true`."),
    ),
    request_body(content((MaterialUpload = "multipart/form-data"))),
    responses(
        (status = 201, description = "Received (version 1, `awaiting_filing: true`).",
            content((MaterialView = "application/json")), headers(("Location" = String), ("ETag" = String))),
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
pub(super) async fn receive(
    State(st): State<AppState>,
    auth: AuthUser,
    ApiPath(person): ApiPath<PersonId>,
    ApiQuery(q): ApiQuery<UploadQuery>,
    req: Request,
) -> ApiResult<Response> {
    upload(st, auth, person, q, req, true).await
}

#[utoipa::path(
    get,
    path = "/intake",
    operation_id = "intakeQueue",
    tag = "materials",
    summary = "The 待归档 queue: received materials not yet filed",
    description = "The received, not yet filed materials of the dossiers the caller may see, the oldest due first, \
        each with its due date (a month after 接收时间) and whether it is overdue. For HR and 行政部; 403 for \
        everyone else. Audited (`intake.list`).",
    params(
        ("person_id" = Option<PersonId>, Query, description = "Only this dossier."),
        ("overdue" = Option<bool>, Query, description = "Only overdue (`true`) or only not yet due (`false`)."),
        ("limit" = Option<usize>, Query, description = "Page size; clamped to 1–500. Default: 100."),
        ("offset" = Option<usize>, Query, description = "Default: `0`."),
    ),
    responses(
        (status = 200, description = "The queue.", content((List<IntakeItemView> = "application/json"))),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 500, response = InternalError),
        (status = 503, response = AuditRollback),
    ),
)]
pub(super) async fn queue(
    State(st): State<AppState>,
    auth: AuthUser,
    ApiQuery(q): ApiQuery<QueueQuery>,
) -> ApiResult<Json<List<IntakeItemView>>> {
    let archive = st.archive.clone();
    let query = IntakeQuery { person_id: q.person_id, overdue: q.overdue };
    let limit = q.limit.unwrap_or(100).clamp(1, 500);
    let offset = q.offset.unwrap_or(0);
    let (items, total) = blocking(move || archive.intake().queue(&auth.principal, &query, limit, offset)).await?;
    Ok(Json(List { items: items.into_iter().map(|i| IntakeItemView::new(&st, i)).collect(), total }))
}

#[utoipa::path(
    post,
    path = "/intake/{id}/file",
    operation_id = "fileReceived",
    tag = "materials",
    summary = "归档: file a received material into the catalogue",
    description = "No body. The material takes the next 序号 of its (sub)category in the dossier's current numbering \
        and leaves the 待归档 queue, as a new version (reason 归档). HR (a material it may edit) and 行政部 \
        (custody); 409 if it is filed already. Audited (`intake.file`).",
    params(("id" = MaterialId, Path, description = "Material id (400 if malformed).")),
    responses(
        (status = 200, description = "Filed.", content((MaterialView = "application/json")), headers(("ETag" = String))),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 500, response = InternalError),
        (status = 503, response = AuditRollback),
    ),
)]
pub(super) async fn file(
    State(st): State<AppState>,
    auth: AuthUser,
    ApiPath(id): ApiPath<MaterialId>,
) -> ApiResult<Response> {
    let archive = st.archive.clone();
    let m = blocking(move || archive.intake().file(&auth.principal, id)).await?;
    let v = m.version;
    Ok(with_etag(Json(MaterialView::new(m, st.archive.scheme(), None)).into_response(), v))
}
