//! 转入 and 审核入库 (docs/DOMAIN.md §2c): the receiving queue of transfer packages, a package's review, accepting
//! it into a new or the existing dossier, returning it with reasons.

use super::doc::*;
use super::error::ApiError;
use super::extract::{ApiJson, ApiPath, ApiQuery, AuthUser};
use super::views::List;
use crate::http::{AppState, HttpError, blocking};
use crate::model::completeness::Completeness;
use crate::model::{Finding, MaterialId, PartialDate, PersonId, ReceivingId};
use crate::service::receiving::{
    AcceptInto, Accepted, ExistingDossier, FieldDifference, MaterialCheck, PackageReview, ReceivingState,
};
use axum::Json;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

type ApiResult<T> = Result<T, ApiError>;

/// Who sent a package.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = PackageSender)]
pub(super) struct SenderView {
    /// The signing key (hex; Ed25519, or SM2 under the 国密 suite).
    key: String,
    /// The key with its algorithm (`ed25519:…`, `sm2:…`).
    label: String,
    /// The exporting account at the sender.
    user: String,
    /// Whether the key is among the trusted senders (else it was accepted explicitly when received).
    trusted: bool,
    /// When the package was made (RFC 3339).
    created_at: String,
    /// The person's id at the sender.
    person_id: String,
}

/// A material of a received package against the dossier held here.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = ReceivedMaterial)]
pub(super) struct MaterialCheckView {
    /// Its id at the sender.
    sender_material_id: MaterialId,
    /// Category code.
    category: String,
    /// Title (材料名称).
    title: String,
    /// 材料形成时间.
    formed_on: Option<PartialDate>,
    /// Pages as catalogued.
    pages: Option<u32>,
    /// Versions carried.
    versions: usize,
    /// The current version's size.
    size: u64,
    /// Its media type.
    mime: String,
    /// Its content hash (this installation's suite).
    content_hash: String,
    /// `new` (accepting adds it), `held` (its bytes are held here: accepting into the existing dossier skips
    /// it) or `held_earlier` (an earlier version's bytes are held here; accepting adds it).
    #[schema(example = "new")]
    held: String,
    /// The material here holding its bytes.
    held_by: Option<MaterialId>,
}

impl From<MaterialCheck> for MaterialCheckView {
    fn from(c: MaterialCheck) -> Self {
        let held = serde_json::to_value(c.held).ok().and_then(|v| v.as_str().map(String::from)).unwrap_or_default();
        MaterialCheckView {
            sender_material_id: c.sender_material_id,
            category: c.category,
            title: c.title,
            formed_on: c.formed_on,
            pages: c.pages,
            versions: c.versions,
            size: c.size,
            mime: c.mime,
            content_hash: c.content_hash,
            held,
            held_by: c.held_by,
        }
    }
}

/// The dossier of the package's ID number held here.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = ExistingDossier)]
pub(super) struct ExistingView {
    /// Its person id.
    person_id: PersonId,
    /// The name recorded here.
    name: String,
    /// Materials it holds.
    materials: usize,
}

impl From<ExistingDossier> for ExistingView {
    fn from(e: ExistingDossier) -> Self {
        ExistingView { person_id: e.person_id, name: e.name, materials: e.materials }
    }
}

/// A person field on which the package and the record held here differ: reported, never applied.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = FieldDifference)]
pub(super) struct DifferenceView {
    /// The field.
    field: String,
    /// The value held here.
    here: serde_json::Value,
    /// The value the package carries.
    package: serde_json::Value,
}

impl From<FieldDifference> for DifferenceView {
    fn from(d: FieldDifference) -> Self {
        DifferenceView { field: d.field, here: d.here, package: d.package }
    }
}

/// A material of a package added to a dossier.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub(super) struct MergedMaterial {
    /// Its id at the sender.
    sender_material_id: MaterialId,
    /// Its id here.
    material_id: MaterialId,
    /// Category code.
    category: String,
    /// Title.
    title: String,
    /// Versions filed.
    versions: usize,
}

/// A material of a package not added: the dossier holds its bytes already.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub(super) struct SkippedMaterial {
    /// Its id at the sender.
    sender_material_id: MaterialId,
    /// The material here holding its bytes.
    held_by: MaterialId,
    /// Category code.
    category: String,
    /// Title.
    title: String,
}

/// What accepting a package filed (入库).
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub(super) struct AcceptedView {
    /// `new` or `existing`.
    #[schema(example = "existing")]
    into: String,
    /// The dossier filed into.
    person_id: PersonId,
    /// Whether the materials were received into the 待归档 queue instead of filed.
    intake: bool,
    /// The materials added, with their ids here.
    merged: Vec<MergedMaterial>,
    /// The materials skipped as already held.
    skipped: Vec<SkippedMaterial>,
    /// The signed receipt (回执) for the sender.
    receipt: super::schemas::Receipt,
}

/// A received package with its review (审核).
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = ReceivedPackage)]
pub(super) struct ReviewView {
    /// Its id here.
    id: ReceivingId,
    /// `queued` (待审核), `accepted` (已入库) or `returned` (已退回).
    #[schema(example = "queued")]
    state: String,
    /// The state's label.
    state_label: String,
    /// SHA-256 of the zip (hex).
    package_sha256: String,
    /// The zip's size.
    size: u64,
    /// The file name it came under.
    file_name: Option<String>,
    /// When it was received (RFC 3339) and by whom.
    received_at: String,
    /// The receiving account.
    received_by: String,
    /// The sender.
    sender: SenderView,
    /// The person's name the package carries.
    person_name: String,
    /// The person record the package carries, as sent.
    #[schema(value_type = Object)]
    person: serde_json::Value,
    /// A package of loose materials (零散材料): the record names the cadre (name, ID number) but is not whole.
    loose: bool,
    /// The dossier of the same ID number held here.
    existing: Option<ExistingView>,
    /// Where the package's person record differs from the one held here (never applied).
    differences: Vec<DifferenceView>,
    /// Each material against the dossier held here.
    materials: Vec<MaterialCheckView>,
    /// The catalogue (目录) checked against the materials and files: each discrepancy.
    catalogue_findings: Vec<Finding>,
    /// The completeness of the dossier as accepting would leave it.
    completeness: Completeness,
    /// When it was decided (RFC 3339).
    decided_at: Option<String>,
    /// Who decided it.
    decided_by: Option<String>,
    /// Why it was returned.
    reasons: Option<String>,
    /// What accepting it filed.
    #[schema(value_type = Option<AcceptedView>)]
    outcome: Option<Accepted>,
}

impl From<PackageReview> for ReviewView {
    fn from(r: PackageReview) -> Self {
        let name = r.package.person_name().to_string();
        let p = r.package;
        let m = p.manifest;
        ReviewView {
            id: p.id,
            state: p.state.as_str().into(),
            state_label: p.state.label().into(),
            package_sha256: p.package_sha256,
            size: p.size,
            file_name: p.file_name,
            received_at: crate::model::ts_rfc3339(p.received_at),
            received_by: p.received_by,
            sender: SenderView {
                label: crate::crypto::labelled_key(&p.sender_key),
                key: p.sender_key,
                user: m.sender.user,
                trusted: p.sender_trusted,
                created_at: m.created_at,
                person_id: m.person.get("id").and_then(|v| v.as_str()).unwrap_or_default().into(),
            },
            person_name: name,
            person: m.person,
            loose: r.loose,
            existing: r.existing.map(Into::into),
            differences: r.differences.into_iter().map(Into::into).collect(),
            materials: r.materials.into_iter().map(Into::into).collect(),
            catalogue_findings: p.catalogue_findings,
            completeness: r.completeness,
            decided_at: p.decided_at.map(crate::model::ts_rfc3339),
            decided_by: p.decided_by,
            reasons: p.reasons,
            outcome: p.outcome,
        }
    }
}

#[derive(Deserialize)]
pub(super) struct ReceiveQuery {
    accept_unknown_sender: Option<bool>,
}

#[utoipa::path(
    post,
    path = "/receiving",
    operation_id = "receivePackage",
    tag = "packages",
    summary = "转入: receive a transfer package into the receiving queue",
    description = "The zip as `POST /packages` takes it (application/zip, or the part `file` of multipart/form-data), \
        checked the same way — zip safety, the bag, the signature, a trusted sender (403 unless \
        accept_unknown_sender=true), every hash (422 naming each damaged file) — but filed nowhere: it waits, sealed, \
        for its review (审核入库: `POST /receiving/{id}/accept` or `/return`). A package for the caller's own or a \
        relative's dossier is refused (403 naming the rule). Needs capabilities create_persons and upload (HR). \
        Audited (`receiving.receive`).",
    params(("accept_unknown_sender" = Option<bool>, Query, description = "Accept a package signed by a key not \
        among the trusted senders (recorded). Default: `false`.")),
    request_body(content((Binary = "application/zip"), (Object = "multipart/form-data"))),
    responses(
        (status = 201, description = "Queued, with its review; Location names it.",
            content((ReviewView = "application/json")), headers(("Location" = String))),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 413, response = TooLarge),
        (status = 422, response = Unprocessable),
        (status = 500, response = InternalError),
        (status = 503, response = AuditRollback),
    ),
)]
pub(super) async fn receive(
    State(st): State<AppState>,
    auth: AuthUser,
    ApiQuery(q): ApiQuery<ReceiveQuery>,
    req: Request,
) -> ApiResult<Response> {
    let (bytes, name) = super::exchange::zip_body(&st, req).await?;
    if bytes.is_empty() {
        return Err(HttpError::Unprocessable("the package is empty: send the zip a sender exported".into()).into());
    }
    let archive = st.archive.clone();
    let accept = q.accept_unknown_sender.unwrap_or(false);
    let review = blocking(move || archive.receiving().receive(&auth.principal, bytes, Some(name), accept)).await?;
    let id = review.package.id;
    let mut resp = (StatusCode::CREATED, Json(ReviewView::from(review))).into_response();
    if let Ok(l) = HeaderValue::from_str(&format!("/api/v1/receiving/{id}")) {
        resp.headers_mut().insert(header::LOCATION, l);
    }
    Ok(resp)
}

#[derive(Deserialize)]
pub(super) struct QueueQuery {
    state: Option<String>,
    limit: Option<usize>,
    offset: Option<usize>,
}

#[utoipa::path(
    get,
    path = "/receiving",
    operation_id = "receivingQueue",
    tag = "packages",
    summary = "The receiving queue (转入登记) with each package's review",
    description = "The received packages the caller may see, newest first: never one for the caller's own or a \
        relative's dossier. For those who may review (capabilities create_persons and upload: HR); 403 for everyone \
        else. Audited (`receiving.list`).",
    params(
        ("state" = Option<String>, Query, description = "Only `queued`, `accepted` or `returned` (422 otherwise)."),
        ("limit" = Option<usize>, Query, description = "Page size; clamped to 1–200. Default: 50."),
        ("offset" = Option<usize>, Query, description = "Default: `0`."),
    ),
    responses(
        (status = 200, description = "The queue.", content((List<ReviewView> = "application/json"))),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 422, response = Unprocessable),
        (status = 500, response = InternalError),
        (status = 503, response = AuditRollback),
    ),
)]
pub(super) async fn queue(
    State(st): State<AppState>,
    auth: AuthUser,
    ApiQuery(q): ApiQuery<QueueQuery>,
) -> ApiResult<Json<List<ReviewView>>> {
    let state = match q.state.as_deref().filter(|s| !s.is_empty()) {
        None => None,
        Some(s) => Some(ReceivingState::parse(s).ok_or_else(|| {
            HttpError::Unprocessable(format!("state must be queued, accepted or returned, not {s:?}"))
        })?),
    };
    let archive = st.archive.clone();
    let limit = q.limit.unwrap_or(50).clamp(1, 200);
    let offset = q.offset.unwrap_or(0);
    let (items, total) = blocking(move || archive.receiving().queue(&auth.principal, state, limit, offset)).await?;
    Ok(Json(List { items: items.into_iter().map(Into::into).collect(), total }))
}

#[utoipa::path(
    get,
    path = "/receiving/{id}",
    operation_id = "reviewPackage",
    tag = "packages",
    summary = "审核: a received package with its review",
    description = "The sender and whether it is trusted, the person record carried (and, where a dossier of the same \
        ID number is held here, where they differ — reported, never applied), each material against that dossier \
        (`new`, `held`, `held_earlier`, by content hash), the catalogue checked against the materials and files, \
        and the completeness of the dossier as accepting would leave it. 403 naming the rule for one's own or a \
        relative's dossier. Audited (`receiving.read`).",
    params(("id" = ReceivingId, Path, description = "Receiving id (400 if malformed).")),
    responses(
        (status = 200, description = "The package and its review.", content((ReviewView = "application/json"))),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 500, response = InternalError),
        (status = 503, response = AuditRollback),
    ),
)]
pub(super) async fn review(
    State(st): State<AppState>,
    auth: AuthUser,
    ApiPath(id): ApiPath<ReceivingId>,
) -> ApiResult<Json<ReviewView>> {
    let archive = st.archive.clone();
    Ok(Json(blocking(move || archive.receiving().review(&auth.principal, id)).await?.into()))
}

/// How to accept a package.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct AcceptBody {
    /// `new` (a new dossier; 409 when one of this ID number is held) or `existing` (the dossier of the same ID
    /// number; 409 when none is held).
    #[schema(example = "existing")]
    into: String,
    /// Receive the materials into the 待归档 queue (收材登记) instead of filing them. Default: `false`.
    intake: Option<bool>,
}

#[utoipa::path(
    post,
    path = "/receiving/{id}/accept",
    operation_id = "acceptPackage",
    tag = "packages",
    summary = "入库: accept a received package into a new or the existing dossier",
    description = "`into: new` files a new dossier with the person record and every material and version (as \
        `POST /packages`); `into: existing` adds to the dossier of the same ID number only the materials whose \
        current bytes it does not hold (by content hash, each with every version), names those skipped as already \
        held, and leaves its person record as it is. A package of loose materials (零散材料) can only join an \
        existing dossier (422 for `new`). Every material added must be one the caller may file there (403 naming the \
        rule: never one's own or a relative's dossier). 409 when the package is decided already. Answers what was \
        merged and skipped, and the signed receipt (回执) for the sender. Audited (`receiving.accept`).",
    params(("id" = ReceivingId, Path, description = "Receiving id (400 if malformed).")),
    request_body(content((AcceptBody = "application/json"))),
    responses(
        (status = 200, description = "Accepted.", content((AcceptedView = "application/json"))),
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
pub(super) async fn accept(
    State(st): State<AppState>,
    auth: AuthUser,
    ApiPath(id): ApiPath<ReceivingId>,
    ApiJson(body): ApiJson<AcceptBody>,
) -> ApiResult<Json<Accepted>> {
    let into = parse_into(&body.into)?;
    let intake = body.intake.unwrap_or(false);
    let archive = st.archive.clone();
    Ok(Json(blocking(move || archive.receiving().accept(&auth.principal, id, into, intake)).await?))
}

/// `new` or `existing`.
pub(super) fn parse_into(s: &str) -> Result<AcceptInto, HttpError> {
    match s {
        "new" => Ok(AcceptInto::New),
        "existing" => Ok(AcceptInto::Existing),
        other => Err(HttpError::Unprocessable(format!("into must be new or existing, not {other:?}"))),
    }
}

/// Why a package is returned.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct ReturnBody {
    /// The reasons (退回理由), required, at most 2000 characters.
    #[schema(example = "缺少任免审批表原件")]
    reasons: String,
}

#[utoipa::path(
    post,
    path = "/receiving/{id}/return",
    operation_id = "returnPackage",
    tag = "packages",
    summary = "退回: return a received package with reasons",
    description = "Nothing is filed; the package's zip is removed, its record kept with the reasons. 409 when it is \
        decided already; 422 without reasons. Audited (`receiving.return`).",
    params(("id" = ReceivingId, Path, description = "Receiving id (400 if malformed).")),
    request_body(content((ReturnBody = "application/json"))),
    responses(
        (status = 200, description = "Returned.", content((ReviewView = "application/json"))),
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
pub(super) async fn return_package(
    State(st): State<AppState>,
    auth: AuthUser,
    ApiPath(id): ApiPath<ReceivingId>,
    ApiJson(body): ApiJson<ReturnBody>,
) -> ApiResult<Json<ReviewView>> {
    let archive = st.archive.clone();
    let r = blocking(move || archive.receiving().return_package(&auth.principal, id, &body.reasons)).await?;
    Ok(Json(r.into()))
}
