//! 查(借)阅 (docs/DOMAIN.md §4c): a consultation's letter of introduction (介绍信), and viewing a material (阅) as
//! opposed to downloading it (下载): `GET /materials/{id}/view` answers inline, and under a consultation grant
//! both answer a watermarked copy. The grant itself is asked, decided and revoked at `/grants` (`admin.rs`).

use super::doc::*;
use super::error::ApiError;
use super::extract::{ApiPath, ApiQuery, AuthUser};
use crate::http::{AppState, Disposition, HttpError, blocking, file_response};
use crate::model::{GrantId, MaterialId};
use crate::service::grants::Grant;
use axum::Json;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, header};
use axum::response::Response;
use serde::Deserialize;

type ApiResult<T> = Result<T, ApiError>;

/// The query of a letter upload.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(super) struct LetterQuery {
    /// The file's name, as kept with the letter.
    file_name: Option<String>,
}

#[utoipa::path(
    put,
    path = "/grants/{id}/letter",
    operation_id = "putGrantLetter",
    tag = "grants",
    summary = "Upload the 介绍信 of a requested consultation",
    description = "The requester only, before the decision (else 404 / 409). The body is the file itself: a PDF, JPEG \
        or PNG scan of at most 20 MiB (422 otherwise), sealed in the store like a material's bytes but no material of \
        the dossier. A consultation is approved only with its letter. Audited (`grant.letter`).",
    params(
        ("id" = crate::model::GrantId, Path, description = "Grant id (400 if malformed)."),
        LetterQuery,
    ),
    request_body(content((Binary = "application/pdf"), (Binary = "image/jpeg"), (Binary = "image/png"))),
    responses(
        (status = 200, description = "The grant, with its letter.", content((super::schemas::Grant = "application/json"))),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 413, response = TooLarge),
        (status = 422, response = Unprocessable),
        (status = 500, response = InternalError),
        (status = 503, response = AuditRollback),
    ),
)]
pub(super) async fn put_letter(
    State(st): State<AppState>,
    auth: AuthUser,
    ApiPath(id): ApiPath<GrantId>,
    ApiQuery(q): ApiQuery<LetterQuery>,
    req: Request,
) -> ApiResult<Json<Grant>> {
    let spooled = crate::http::spool_body(&st, req.into_body()).await?;
    if spooled.size() > crate::service::grants::LETTER_MAX as u64 {
        return Err(HttpError::Unprocessable("the 介绍信 is at most 20 MiB".into()).into());
    }
    let archive = st.archive.clone();
    let g = blocking(move || {
        let bytes = spooled.read_all()?;
        archive.grants().attach_letter(&auth.principal, id, &bytes, q.file_name)
    })
    .await?;
    Ok(Json(g.public()))
}

#[utoipa::path(
    get,
    path = "/grants/{id}/letter",
    operation_id = "getGrantLetter",
    tag = "grants",
    summary = "Read the 介绍信 of a consultation",
    description = "For the approving authority (干部管理权限) and the auditor only (403 rule consultation.letter): not the \
        requester, the readers or the security administrator. Audited (`grant.letter-read`).",
    params(("id" = crate::model::GrantId, Path, description = "Grant id (400 if malformed).")),
    responses(
        (status = 200, description = "The letter as uploaded.", content((Binary = "*/*"))),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 500, response = InternalError),
        (status = 503, response = AuditRollback),
    ),
)]
pub(super) async fn get_letter(
    State(st): State<AppState>,
    auth: AuthUser,
    ApiPath(id): ApiPath<GrantId>,
) -> ApiResult<Response> {
    let archive = st.archive.clone();
    let (letter, bytes) = blocking(move || archive.grants().letter(&auth.principal, id)).await?;
    let name = letter.file_name.unwrap_or_else(|| format!("letter-{id}"));
    Ok(crate::http::attachment(bytes.to_vec(), &letter.mime, &name))
}

#[utoipa::path(
    get,
    path = "/materials/{id}/view",
    operation_id = "viewMaterial",
    tag = "materials",
    summary = "View the current content (阅), inline",
    description = "Needs the right to read the material (the download right is not needed: `GET …/content` is the \
        download). Under a consultation grant the answer is a watermarked copy naming the reader, the time and the grant \
        (`X-Dangan-Watermark`): a PDF with every page stamped; a JPEG or PNG as a one-page stamped PDF; plain text with \
        stamp lines; a type that cannot carry a stamp (DOCX …) as its extracted text, stamped. The stored bytes are \
        unchanged. Audited (`material.view`, naming the grant).",
    params(("id" = crate::model::MaterialId, Path, description = "Material id (400 if malformed).")),
    responses(
        (status = 200, description = "The content, `Content-Disposition: inline`.", content((Binary = "*/*")),
            headers(("Content-Disposition" = String), ("X-Dangan-Watermark" = String))),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 422, response = Unprocessable),
        (status = 500, response = InternalError),
        (status = 503, response = AuditRollback),
    ),
)]
pub(super) async fn view_material(
    State(st): State<AppState>,
    auth: AuthUser,
    ApiPath(id): ApiPath<MaterialId>,
) -> ApiResult<Response> {
    let archive = st.archive.clone();
    let (m, bytes, grant) = blocking(move || archive.materials().view(&auth.principal, id)).await?;
    let name = m.file_name.clone().unwrap_or_else(|| m.id.to_string());
    let mut resp = file_response(bytes.to_vec(), &m.mime, Disposition::Inline, &name);
    if let Some(g) = grant
        && let Ok(v) = HeaderValue::from_str(&format!("grant {g}"))
    {
        resp.headers_mut().insert("x-dangan-watermark", v);
    }
    resp.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(resp)
}
