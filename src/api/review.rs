//! 专项审核: a cadre's special review (docs/DOMAIN.md §4).

use super::doc::*;
use super::error::ApiError;
use super::extract::{ApiJson, ApiPath, AuthUser, IfMatch};
use super::with_etag;
use crate::http::{AppState, blocking};
use crate::model::PersonId;
use crate::model::review::ReviewInput;
use crate::service::review::ReviewView;
use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};

type ApiResult<T> = Result<T, ApiError>;

#[utoipa::path(
    get,
    path = "/persons/{id}/review",
    operation_id = "getReview",
    tag = "persons",
    summary = "A cadre's special review (专项审核)",
    description = "The 三龄两历一身份 review: per item the values found in the source materials, the problems, the \
        determined (认定) value and the evidence; where it stands (`none` when never recorded, `draft`, `in_review`, \
        `in_approval`, `concluded`, `expired`), the request of its last submission, the conclusion, until when it \
        counts for a promotion (凡提必审) and the person fields it fixes. For whoever may read the person record. \
        Audited.",
    params(
        ("id" = crate::model::PersonId, Path, description = "Person id (400 if malformed)."),
    ),
    responses(
        (status = 200, description = "The review.", content((ReviewView = "application/json")),
            headers(("ETag" = String))),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 500, response = InternalError),
        (status = 503, response = AuditRollback),
    ),
)]
pub(super) async fn get_review(
    State(st): State<AppState>,
    auth: AuthUser,
    ApiPath(id): ApiPath<PersonId>,
) -> ApiResult<Response> {
    let archive = st.archive.clone();
    let review = blocking(move || archive.reviews().get(&auth.principal, id)).await?;
    let v = review.version;
    Ok(with_etag(Json(review).into_response(), v))
}

#[utoipa::path(
    put,
    path = "/persons/{id}/review",
    operation_id = "recordReview",
    tag = "persons",
    summary = "Record a cadre's special review (a new version)",
    description = "HR records the review as a draft; each recording is a new version, kept. Every material cited \
        (sources, problems, evidence) must be one of this dossier's; the three dates' determined values are dates; \
        a determined value cites evidence. Refused with 409 while a submission is in its flow. To submit it, start a \
        request of kind `special_review` for the person (`POST /api/v1/requests`): its changes are filled from the \
        stored review, and its flow runs 初审 → 复审 → 认定 → 组织审批.",
    params(
        ("id" = crate::model::PersonId, Path, description = "Person id (400 if malformed)."),
        ("If-Match" = Option<String>, Header, description = "The review's current version (its ETag); required once \
            a review exists (428 without, 412 if not current)."),
    ),
    request_body(content((ReviewInput = "application/json"))),
    responses(
        (status = 200, description = "The new version.", content((ReviewView = "application/json")),
            headers(("ETag" = String))),
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
pub(super) async fn record_review(
    State(st): State<AppState>,
    auth: AuthUser,
    ApiPath(id): ApiPath<PersonId>,
    IfMatch(expected): IfMatch,
    ApiJson(input): ApiJson<ReviewInput>,
) -> ApiResult<Response> {
    let archive = st.archive.clone();
    let review = blocking(move || archive.reviews().record(&auth.principal, id, expected, input)).await?;
    let v = review.version;
    Ok(with_etag(Json(review).into_response(), v))
}
