//! Digitisation (docs/DOMAIN.md §2d): the pages of scanned materials, and the quality control of scanning
//! batches (自检, 抽检, 验收 or 退回, rescans).

use super::doc::*;
use super::error::ApiError;
use super::extract::{ApiJson, ApiPath, ApiQuery, AuthUser, IfMatch};
use super::views::{List, MaterialView};
use super::with_etag;
use crate::http::{AppState, attachment, blocking, file_response};
use crate::model::page::{QcRound, Rescan};
use crate::model::{BatchId, MaterialId};
use crate::service::batches::Batch;
use crate::service::pages::{MAX_PAGES, PageChange};
use crate::service::qc::{NewDecision, NewDefect, QcReview};
use axum::Json;
use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

type ApiResult<T> = Result<T, ApiError>;

#[utoipa::path(
    get,
    path = "/batches/{id}",
    operation_id = "getBatch",
    tag = "batches",
    summary = "A batch with its figures (pages, samples, defects by code, defect rate, rescans, turnaround)",
    description = "HR and administration see it whole; its operators without any sample and without the defects \
        of an undecided round. Figures for the whole batch and per operator. Audited (`batch.read`).",
    params(("id" = BatchId, Path, description = "Batch id (400 if malformed).")),
    responses(
        (status = 200, description = "The `batch` and its `figures`.", content((super::schemas::BatchView = "application/json"))),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
        (status = 500, response = InternalError),
        (status = 503, response = AuditRollback),
    ),
)]
pub(super) async fn get_batch(
    State(st): State<AppState>,
    auth: AuthUser,
    ApiPath(id): ApiPath<BatchId>,
) -> ApiResult<Response> {
    let archive = st.archive.clone();
    let view = blocking(move || archive.digitisation().batch(&auth.principal, id)).await?;
    Ok(Json(view).into_response())
}

#[utoipa::path(
    post,
    path = "/batches/{id}/self-check",
    operation_id = "finishScanning",
    tag = "batches",
    summary = "扫描中 → 自检: the operators have filed everything and check their own work",
    description = "No body. One of the batch's operators; 409 unless 扫描中 and holding scans. Audited \
        (`batch.self-check`).",
    params(("id" = BatchId, Path, description = "Batch id (400 if malformed).")),
    responses(
        (status = 200, description = "The batch (as its operators see it).", content((super::schemas::Batch = "application/json"))),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 500, response = InternalError),
        (status = 503, response = AuditRollback),
    ),
)]
pub(super) async fn finish_scanning(
    State(st): State<AppState>,
    auth: AuthUser,
    ApiPath(id): ApiPath<BatchId>,
) -> ApiResult<Json<Batch>> {
    let archive = st.archive.clone();
    Ok(Json(blocking(move || archive.digitisation().finish_scanning(&auth.principal, id)).await?))
}

#[utoipa::path(
    post,
    path = "/batches/{id}/hand-over",
    operation_id = "handOverBatch",
    tag = "batches",
    summary = "自检 (or 退回, rescans done) → 抽检: hand the batch to the archive's reviewers",
    description = "No body. One of the batch's operators. Draws the sample at random (the batch's \
        `sample_percent` of its pages, at least `sample_min`, and every page rescanned since the last round); \
        the operators never see it. 409 from any other state, or while a page sent back is not rescanned. \
        Audited (`batch.submit`).",
    params(("id" = BatchId, Path, description = "Batch id (400 if malformed).")),
    responses(
        (status = 200, description = "The batch (as its operators see it).", content((super::schemas::Batch = "application/json"))),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 500, response = InternalError),
        (status = 503, response = AuditRollback),
    ),
)]
pub(super) async fn hand_over(
    State(st): State<AppState>,
    auth: AuthUser,
    ApiPath(id): ApiPath<BatchId>,
) -> ApiResult<Json<Batch>> {
    let archive = st.archive.clone();
    Ok(Json(blocking(move || archive.digitisation().hand_over(&auth.principal, id)).await?))
}

#[utoipa::path(
    get,
    path = "/batches/{id}/qc",
    operation_id = "reviewBatch",
    tag = "batches",
    summary = "抽检: the round under review, with its sample (reviewers only)",
    description = "A reviewer manages batches (HR, administration) and is not one of the batch's operators: an \
        operator gets 403 (rule qc.reviewer) and never sees the sample. Each sampled page with its material's \
        catalogue fields, what intake read of it and found. 409 when the batch is not 抽检. The page images: \
        `GET /materials/{id}/pages/{n}`. Audited (`qc.sample`).",
    params(("id" = BatchId, Path, description = "Batch id (400 if malformed).")),
    responses(
        (status = 200, description = "The round and its sample.", content((QcReview = "application/json"))),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 500, response = InternalError),
        (status = 503, response = AuditRollback),
    ),
)]
pub(super) async fn review(
    State(st): State<AppState>,
    auth: AuthUser,
    ApiPath(id): ApiPath<BatchId>,
) -> ApiResult<Json<QcReview>> {
    let archive = st.archive.clone();
    Ok(Json(blocking(move || archive.digitisation().review(&auth.principal, id)).await?))
}

#[utoipa::path(
    post,
    path = "/batches/{id}/qc/defects",
    operation_id = "recordDefect",
    tag = "batches",
    summary = "Record a defect on a page of a sampled material (模糊, 倾斜, 缺页, 重页, 错页, 黑边, 其他)",
    description = "A reviewer (as `GET /batches/{id}/qc`); the material must be in the round's sample, the page one \
        it holds (422). Audited (`qc.defect`).",
    params(("id" = BatchId, Path, description = "Batch id (400 if malformed).")),
    request_body(content((NewDefect = "application/json"))),
    responses(
        (status = 200, description = "The round with its defects.", content((QcRound = "application/json"))),
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
pub(super) async fn record_defect(
    State(st): State<AppState>,
    auth: AuthUser,
    ApiPath(id): ApiPath<BatchId>,
    ApiJson(d): ApiJson<NewDefect>,
) -> ApiResult<Json<QcRound>> {
    let archive = st.archive.clone();
    Ok(Json(blocking(move || archive.digitisation().record_defect(&auth.principal, id, d)).await?))
}

#[utoipa::path(
    post,
    path = "/batches/{id}/qc/decision",
    operation_id = "decideBatch",
    tag = "batches",
    summary = "验收 (accept: the batch closes) or 退回 (return: each defect goes back as a rescan)",
    description = "A reviewer. A return needs at least one defect (422). Each defect becomes a rescan task of the \
        operator who filed that material; replacing, adding, removing or reordering that page marks it done. \
        Audited (`qc.decide`).",
    params(("id" = BatchId, Path, description = "Batch id (400 if malformed).")),
    request_body(content((NewDecision = "application/json"))),
    responses(
        (status = 200, description = "The batch.", content((super::schemas::Batch = "application/json"))),
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
    ApiPath(id): ApiPath<BatchId>,
    ApiJson(d): ApiJson<NewDecision>,
) -> ApiResult<Json<Batch>> {
    let archive = st.archive.clone();
    Ok(Json(blocking(move || archive.digitisation().decide(&auth.principal, id, d)).await?))
}

#[utoipa::path(
    get,
    path = "/batches/{id}/rescans",
    operation_id = "batchRescans",
    tag = "batches",
    summary = "Pages sent back for rescanning (an operator: their own)",
    params(("id" = BatchId, Path, description = "Batch id (400 if malformed).")),
    responses(
        (status = 200, description = "The rescans, open and done.", content((List<Rescan> = "application/json"))),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
        (status = 500, response = InternalError),
        (status = 503, response = AuditRollback),
    ),
)]
pub(super) async fn rescans(
    State(st): State<AppState>,
    auth: AuthUser,
    ApiPath(id): ApiPath<BatchId>,
) -> ApiResult<Json<List<Rescan>>> {
    let archive = st.archive.clone();
    let items = blocking(move || archive.digitisation().rescans(&auth.principal, id)).await?;
    Ok(Json(List { total: items.len(), items }))
}

#[utoipa::path(
    get,
    path = "/materials/{id}/pages/{n}",
    operation_id = "getPage",
    tag = "materials",
    summary = "One page image of a scanned material, as scanned",
    description = "The original image (a JPEG byte for byte as it was scanned; checked against its hash). Needs \
        the right to read the material and capability download; a consultation grant reads the watermarked view \
        instead (403). 404 for a material not filed from page images, or no such page. Audited \
        (`material.page`).",
    params(
        ("id" = MaterialId, Path, description = "Material id (400 if malformed)."),
        ("n" = u32, Path, description = "Page, from 1."),
    ),
    responses(
        (status = 200, description = "The image.", content(("image/jpeg"), ("image/png"), ("image/tiff"))),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 500, response = InternalError),
        (status = 503, response = AuditRollback),
    ),
)]
pub(super) async fn get_page(
    State(st): State<AppState>,
    auth: AuthUser,
    ApiPath((id, n)): ApiPath<(MaterialId, u32)>,
) -> ApiResult<Response> {
    let archive = st.archive.clone();
    let (image, bytes) = blocking(move || archive.digitisation().page(&auth.principal, id, n)).await?;
    let f = image.info.format;
    Ok(file_response(
        bytes.to_vec(),
        f.media_type(),
        crate::http::Disposition::Inline,
        &format!("{n:04}.{}", f.extension()),
    ))
}

#[utoipa::path(
    get,
    path = "/materials/{id}/pages.zip",
    operation_id = "getPagesZip",
    tag = "materials",
    summary = "Every page image of a scanned material, in a zip (0001.jpg, 0002.tif …)",
    description = "As `GET /materials/{id}/pages/{n}`, every page in order. The material itself downloads as one \
        PDF assembled from them: `GET /materials/{id}/content`. Audited (`material.page`).",
    params(("id" = MaterialId, Path, description = "Material id (400 if malformed).")),
    responses(
        (status = 200, description = "The zip.", content(("application/zip"))),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 500, response = InternalError),
        (status = 503, response = AuditRollback),
    ),
)]
pub(super) async fn get_pages_zip(
    State(st): State<AppState>,
    auth: AuthUser,
    ApiPath(id): ApiPath<MaterialId>,
) -> ApiResult<Response> {
    let archive = st.archive.clone();
    let (m, zip) = blocking(move || archive.digitisation().pages_zip(&auth.principal, id)).await?;
    Ok(attachment(zip, "application/zip", &format!("{}-pages.zip", m.meta.title)))
}

/// `at`: before which page new pages go (default: at the end).
#[derive(Deserialize)]
pub(super) struct AddAt {
    at: Option<u32>,
}

/// The response to a change of pages: the material, with its new version as ETag.
fn changed(st: &AppState, m: crate::model::WithText<crate::model::Material>) -> Response {
    let v = m.version;
    with_etag(Json(MaterialView::new(m, st.archive.scheme(), None)).into_response(), v)
}

#[utoipa::path(
    post,
    path = "/materials/{id}/pages",
    operation_id = "addPages",
    tag = "materials",
    summary = "Add page images to a scanned material (a new version)",
    description = "Multipart: one or more `file` parts (JPEG, TIFF, PNG), each checked at intake (an error refuses \
        the upload naming the image and the rule, 422; warnings are kept with the page). `at`: before which page \
        (default: at the end). The batch's operator who filed the material, while the batch is 扫描中, 自检 or 退回 \
        (a change while 退回 marks the rescans of the pages it touches done); anyone else needs the right to edit \
        it. `If-Match` (optional) names the version expected. Audited (`material.pages`).",
    params(
        ("id" = MaterialId, Path, description = "Material id (400 if malformed)."),
        ("at" = Option<u32>, Query, description = "Before which page (1-based)."),
    ),
    request_body(content((super::materials::ContentUpload = "multipart/form-data"))),
    responses(
        (status = 200, description = "The material (new version).", content((MaterialView = "application/json"))),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 412, response = PreconditionFailed),
        (status = 413, response = TooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 422, response = Unprocessable),
        (status = 500, response = InternalError),
        (status = 503, response = AuditRollback),
    ),
)]
pub(super) async fn add_pages(
    State(st): State<AppState>,
    auth: AuthUser,
    ApiPath(id): ApiPath<MaterialId>,
    ApiQuery(q): ApiQuery<AddAt>,
    IfMatch(expected): IfMatch,
    req: Request,
) -> ApiResult<Response> {
    let up = super::materials::read_uploads(&st, req, false, MAX_PAGES).await?;
    let archive = st.archive.clone();
    let m = blocking(move || {
        let pages = up.read_files()?;
        archive.digitisation().change_pages(&auth.principal, id, expected, PageChange::Add { at: q.at, pages })
    })
    .await?;
    Ok(changed(&st, m))
}

#[utoipa::path(
    put,
    path = "/materials/{id}/pages/{n}",
    operation_id = "replacePage",
    tag = "materials",
    summary = "Replace a page image (a rescan; a new version)",
    description = "Multipart: one `file` part. Who may, and the intake checks, as `POST /materials/{id}/pages`. \
        Audited (`material.pages`).",
    params(
        ("id" = MaterialId, Path, description = "Material id (400 if malformed)."),
        ("n" = u32, Path, description = "Page, from 1."),
    ),
    request_body(content((super::materials::ContentUpload = "multipart/form-data"))),
    responses(
        (status = 200, description = "The material (new version).", content((MaterialView = "application/json"))),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 412, response = PreconditionFailed),
        (status = 413, response = TooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 422, response = Unprocessable),
        (status = 500, response = InternalError),
        (status = 503, response = AuditRollback),
    ),
)]
pub(super) async fn replace_page(
    State(st): State<AppState>,
    auth: AuthUser,
    ApiPath((id, n)): ApiPath<(MaterialId, u32)>,
    IfMatch(expected): IfMatch,
    req: Request,
) -> ApiResult<Response> {
    let up = super::materials::read_upload(&st, req, false).await?;
    let archive = st.archive.clone();
    let m = blocking(move || {
        let upload = up.read_files()?.remove(0);
        archive.digitisation().change_pages(&auth.principal, id, expected, PageChange::Replace { page: n, upload })
    })
    .await?;
    Ok(changed(&st, m))
}

#[utoipa::path(
    delete,
    path = "/materials/{id}/pages/{n}",
    operation_id = "removePage",
    tag = "materials",
    summary = "Take a page out (重页; a new version)",
    description = "Who may, as `POST /materials/{id}/pages`; a material keeps at least one page (422). Audited \
        (`material.pages`).",
    params(
        ("id" = MaterialId, Path, description = "Material id (400 if malformed)."),
        ("n" = u32, Path, description = "Page, from 1."),
    ),
    responses(
        (status = 200, description = "The material (new version).", content((MaterialView = "application/json"))),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 412, response = PreconditionFailed),
        (status = 422, response = Unprocessable),
        (status = 500, response = InternalError),
        (status = 503, response = AuditRollback),
    ),
)]
pub(super) async fn remove_page(
    State(st): State<AppState>,
    auth: AuthUser,
    ApiPath((id, n)): ApiPath<(MaterialId, u32)>,
    IfMatch(expected): IfMatch,
) -> ApiResult<Response> {
    let archive = st.archive.clone();
    let m = blocking(move || {
        archive.digitisation().change_pages(&auth.principal, id, expected, PageChange::Remove { page: n })
    })
    .await?;
    Ok(changed(&st, m))
}

/// A new order of the pages.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct NewOrder {
    /// `order[i]` is the old number of the new page `i + 1`: a permutation of 1..=n.
    order: Vec<u32>,
}

#[utoipa::path(
    put,
    path = "/materials/{id}/page-order",
    operation_id = "reorderPages",
    tag = "materials",
    summary = "Put the pages in a new order (错页; a new version)",
    description = "Who may, as `POST /materials/{id}/pages`; the order must be a permutation of the pages (422). \
        Audited (`material.pages`).",
    params(("id" = MaterialId, Path, description = "Material id (400 if malformed).")),
    request_body(content((NewOrder = "application/json"))),
    responses(
        (status = 200, description = "The material (new version).", content((MaterialView = "application/json"))),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 412, response = PreconditionFailed),
        (status = 413, response = TooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 422, response = Unprocessable),
        (status = 500, response = InternalError),
        (status = 503, response = AuditRollback),
    ),
)]
pub(super) async fn reorder_pages(
    State(st): State<AppState>,
    auth: AuthUser,
    ApiPath(id): ApiPath<MaterialId>,
    IfMatch(expected): IfMatch,
    ApiJson(o): ApiJson<NewOrder>,
) -> ApiResult<Response> {
    let archive = st.archive.clone();
    let m = blocking(move || {
        archive.digitisation().change_pages(&auth.principal, id, expected, PageChange::Reorder { order: o.order })
    })
    .await?;
    Ok(changed(&st, m))
}
