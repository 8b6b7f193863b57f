//! Dossier materials: filing (multipart uploads), the catalogue, metadata, content and history.

use super::doc::*;
use super::error::ApiError;
use super::extract::{ApiJson, ApiPath, ApiQuery, AuthUser, IfMatch};
use super::views::{List, MaterialVersionView, MaterialView};
use super::{reason_of, with_etag};
use crate::http::{AppState, HttpError, MultipartReader, Sender, blocking, split_tags};
use crate::model::{MaterialId, MaterialMeta, PersonId};
use crate::service::SpooledBlob;
use crate::service::materials::Download;
use axum::Json;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::Value;

type ApiResult<T> = Result<T, ApiError>;

/// A material with its ETag.
fn material_answer(st: &AppState, m: crate::model::WithText<crate::model::Material>) -> Response {
    let v = m.version;
    with_etag(Json(MaterialView::new(m, st.archive.scheme(), None)).into_response(), v)
}

/// The parts of an upload.
pub(super) struct Upload {
    /// The file, streamed into a spool as it arrived.
    pub(super) file: SpooledBlob,
    pub(super) file_name: Option<String>,
    pub(super) meta: Option<Value>,
    /// Further `file` parts (page images of one scanned material), each with its name, in order.
    pub(super) more: Vec<(SpooledBlob, Option<String>)>,
}

impl Upload {
    /// Whether it holds several files (the page images of a scanned material).
    pub(super) fn is_several(&self) -> bool {
        !self.more.is_empty()
    }

    /// Every file, read back (blocking), in order, with its name.
    pub(super) fn read_files(self) -> Result<Vec<crate::service::pages::PageUpload>, crate::service::Error> {
        std::iter::once((self.file, self.file_name))
            .chain(self.more)
            .map(|(f, file_name)| Ok(crate::service::pages::PageUpload { bytes: f.read_all()?.to_vec(), file_name }))
            .collect()
    }
}

/// The parts of `POST /persons/{id}/materials` (documentation only: [`read_upload`] reads them): `file` and
/// `meta` (JSON), or `file` with the catalogue fields as separate text parts (each at most 8 KiB). When `meta` is
/// present the separate parts are ignored. A `person_id` part (meant for batch uploads) gives 422; any other part
/// gives 400.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub(super) struct MaterialUpload {
    /// The bytes (the part's filename is kept).
    #[schema(value_type = String, format = Binary)]
    file: Vec<u8>,
    /// The catalogue fields as JSON.
    meta: Option<MaterialMeta>,
}

/// The parts of `PUT /materials/{id}/content` as multipart (documentation only): part `file`. `meta` or
/// catalogue-field parts are accepted and checked but do not change the catalogue (use `PATCH /materials/{id}`).
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub(super) struct ContentUpload {
    /// The new bytes (the part's filename replaces the stored one).
    #[schema(value_type = String, format = Binary)]
    file: Vec<u8>,
}

/// The parts of `POST /batches/{id}/materials` (documentation only): `file` and `meta` (JSON: the catalogue
/// fields and `person_id`), or `file` with the catalogue fields and `person_id` as separate text parts (each at
/// most 8 KiB). Without `person_id` the answer is 422; the other fields are checked as in `MaterialMeta`.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub(super) struct BatchUpload {
    /// The scan.
    #[schema(value_type = String, format = Binary)]
    file: Vec<u8>,
    /// The catalogue fields and `person_id` as JSON.
    #[schema(value_type = Object)]
    meta: Option<serde_json::Value>,
}

/// The catalogue fields of an upload's `meta`.
pub(super) fn parse_meta(v: Value) -> ApiResult<MaterialMeta> {
    serde_json::from_value::<MaterialMeta>(v).map_err(|e| crate::service::Error::invalid("meta", e.to_string()).into())
}

const META_FIELDS: [&str; 15] = [
    "category",
    "title",
    "formed_on",
    "pages",
    "tags",
    "note",
    "source_unit",
    "original",
    "secrecy",
    "person_id",
    "received_on",
    "received_by",
    "copies",
    "copy_made_on",
    "copy_certified_by",
];

/// Reads a multipart upload: part `file` (the bytes) and part `meta` (JSON) — or the meta fields as separate
/// parts (`category`, `title`, `formed_on`, `pages`, `tags` comma-separated, `note`).
pub(super) async fn read_upload(st: &AppState, req: Request, need_meta: bool) -> ApiResult<Upload> {
    read_uploads(st, req, need_meta, 1).await
}

/// As [`read_upload`], taking up to `max_files` `file` parts (the page images of a scanned material, in order).
pub(super) async fn read_uploads(st: &AppState, req: Request, need_meta: bool, max_files: usize) -> ApiResult<Upload> {
    let mut mp = MultipartReader::from_request(req, st, Sender::Client).await?;
    let mut file: Option<SpooledBlob> = None;
    let mut more = Vec::new();
    let mut file_name = None;
    let mut meta_json: Option<Value> = None;
    let mut loose = serde_json::Map::new();
    while let Some(part) = mp.next_part().await? {
        let name = part.name();
        match name.as_str() {
            "file" => {
                if file.is_none() {
                    file_name = part.file_name();
                    file = Some(part.spool(st).await?);
                } else if more.len() + 1 < max_files {
                    let name = part.file_name();
                    more.push((part.spool(st).await?, name));
                } else if max_files == 1 {
                    return Err(HttpError::BadRequest("more than one `file` part".into()).into());
                } else {
                    return Err(HttpError::BadRequest(format!("more than {max_files} `file` parts")).into());
                }
            }
            "meta" => {
                let text = part.text(64 * 1024, || "the meta part exceeds 64 KiB".into()).await?;
                meta_json = Some(
                    serde_json::from_str(&text)
                        .map_err(|e| HttpError::BadRequest(format!("part `meta` is not JSON: {e}")))?,
                );
            }
            n if META_FIELDS.contains(&n) => {
                let text = part.text(8 * 1024, || format!("part `{n}` exceeds 8 KiB")).await?;
                let value = match n {
                    "tags" => Value::Array(split_tags(&text).map(|t| Value::String(t.into())).collect()),
                    "pages" | "secrecy" | "copies" => serde_json::from_str(text.trim())
                        .map_err(|_| HttpError::Unprocessable(format!("part `{n}` must be a number")))?,
                    "original" => Value::Bool(matches!(text.trim(), "true" | "1" | "yes" | "是")),
                    _ => Value::String(text),
                };
                loose.insert(n.to_string(), value);
            }
            other => {
                return Err(HttpError::BadRequest(format!(
                    "unexpected part `{}`: send `file` and `meta`",
                    other.chars().take(40).collect::<String>()
                ))
                .into());
            }
        }
    }
    let file = file.ok_or_else(|| HttpError::BadRequest("part `file` is missing".into()))?;
    let meta_value = match (meta_json, loose.is_empty()) {
        (Some(m), _) => Some(m),
        (None, false) => Some(Value::Object(loose)),
        (None, true) if need_meta => {
            return Err(HttpError::BadRequest(
                "part `meta` is missing (JSON with category, title, formed_on …)".into(),
            )
            .into());
        }
        (None, true) => None,
    };
    let meta = meta_value;
    Ok(Upload { file, file_name, meta, more })
}

#[derive(Deserialize)]
pub(super) struct UploadQuery {
    /// `false` answers at once without waiting for indexing.
    pub(super) wait: Option<bool>,
}

#[utoipa::path(
    post,
    path = "/persons/{id}/materials",
    operation_id = "uploadMaterial",
    tag = "materials",
    summary = "File a material into a dossier",
    description = "Multipart upload: part `file` and part `meta` (JSON), or the catalogue fields as separate parts. \
        Write access and the person are checked before the body is read. The MIME type is detected from the content; \
        text is extracted and indexed in the background.",
    params(
        ("id" = crate::model::PersonId, Path, description = "Person id (400 if malformed)."),
        ("wait" = Option<bool>, Query, description = "Wait (bounded) until the material is searchable; `false` answers \
            at once. Default: `true`."),
    ),
    request_body(content((MaterialUpload = "multipart/form-data"))),
    responses(
        (status = 201, description = "Created (version 1).",
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
pub(super) async fn upload_material(
    State(st): State<AppState>,
    auth: AuthUser,
    ApiPath(person): ApiPath<PersonId>,
    ApiQuery(q): ApiQuery<UploadQuery>,
    req: Request,
) -> ApiResult<Response> {
    upload(st, auth, person, q, req, false).await
}

/// A material upload into a dossier: filed into its catalogue, or (`received`) received into the 待归档 queue
/// (`POST /persons/{id}/intake`, docs/DOMAIN.md §2b). The caller's right is checked before the body is read.
pub(super) async fn upload(
    st: AppState,
    auth: AuthUser,
    person: PersonId,
    q: UploadQuery,
    req: Request,
    received: bool,
) -> ApiResult<Response> {
    // Check the caller may write this dossier before reading a large body.
    {
        let archive = st.archive.clone();
        let p = auth.principal.clone();
        blocking(move || match received {
            true => archive.intake().check_may_receive(&p, person),
            false => archive.filing().check_may_file(&p, person),
        })
        .await?;
    }
    // Several `file` parts are the page images of one scanned material (filed, not received).
    let mut up = read_uploads(&st, req, true, if received { 1 } else { crate::service::pages::MAX_PAGES }).await?;
    let archive = st.archive.clone();
    let meta = parse_meta(up.meta.take().unwrap_or_default())?;
    let wait = q.wait.unwrap_or(true);
    let m = blocking(move || match received {
        true => archive.intake().receive_spooled(&auth.principal, person, meta, &up.file, up.file_name, wait),
        false if up.is_several() => archive.digitisation().file_pages(&auth.principal, person, meta, up.read_files()?),
        false => archive.filing().add_spooled(&auth.principal, person, meta, &up.file, up.file_name, wait),
    })
    .await?;
    let v = m.version;
    let location = format!("/api/v1/materials/{}", m.id);
    let mut resp = (StatusCode::CREATED, Json(MaterialView::new(m, st.archive.scheme(), None))).into_response();
    if let Ok(l) = HeaderValue::from_str(&location) {
        resp.headers_mut().insert(header::LOCATION, l);
    }
    Ok(with_etag(resp, v))
}

#[utoipa::path(
    get,
    path = "/persons/{id}/materials",
    operation_id = "catalogue",
    tag = "materials",
    summary = "The dossier's catalogue",
    params(
        ("id" = crate::model::PersonId, Path, description = "Person id (400 if malformed)."),
    ),
    responses(
        (status = 200, description = "The materials, ordered by category then date, with 序号 (`seq`).",
            content((List<MaterialView> = "application/json"))),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 500, response = InternalError),
        (status = 503, response = AuditRollback),
    ),
)]
pub(super) async fn catalogue(
    State(st): State<AppState>,
    auth: AuthUser,
    ApiPath(person): ApiPath<PersonId>,
) -> ApiResult<Json<List<MaterialView>>> {
    let archive = st.archive.clone();
    let entries = blocking(move || archive.persons().catalogue(&auth.principal, person)).await?;
    let items: Vec<MaterialView> =
        entries.into_iter().map(|e| MaterialView::new(e.material, st.archive.scheme(), Some(e.seq))).collect();
    Ok(Json(List { total: items.len(), items }))
}

#[utoipa::path(
    get,
    path = "/materials/{id}",
    operation_id = "getMaterial",
    tag = "materials",
    summary = "A material's metadata",
    params(
        ("id" = crate::model::MaterialId, Path, description = "Material id (400 if malformed)."),
    ),
    responses(
        (status = 200, description = "The material.",
            content((MaterialView = "application/json")), headers(("ETag" = String))),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 500, response = InternalError),
        (status = 503, response = AuditRollback),
    ),
)]
pub(super) async fn get_material(
    State(st): State<AppState>,
    auth: AuthUser,
    ApiPath(id): ApiPath<MaterialId>,
) -> ApiResult<Response> {
    let archive = st.archive.clone();
    let m = blocking(move || archive.materials().get(&auth.principal, id)).await?;
    Ok(material_answer(&st, m))
}

#[utoipa::path(
    patch,
    path = "/materials/{id}",
    operation_id = "patchMaterial",
    tag = "materials",
    summary = "Change a material's catalogue fields (JSON merge patch)",
    params(
        ("id" = crate::model::MaterialId, Path, description = "Material id (400 if malformed)."),
        ("If-Match" = String, Header, description = "The current version (the ETag): `\"3\"`, `3` or `W/\"3\"`. \
            Missing gives 428, unparsable 400, not current 412."),
        ("X-Change-Reason" = Option<String>, Header, description = "Why the change is made; kept with the new version \
            (first 500 characters)."),
    ),
    request_body(
        description = "A JSON merge patch (RFC 7396) of a material's catalogue fields (as in `MaterialMeta`). The \
            result must be a valid MaterialMeta (unknown fields or a removed category/title give 422).",
        content((Object = "application/merge-patch+json"), (Object = "application/json"))
    ),
    responses(
        (status = 200, description = "The new version.",
            content((MaterialView = "application/json")), headers(("ETag" = String))),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 412, response = PreconditionFailed),
        (status = 413, response = TooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 422, response = Unprocessable),
        (status = 428, response = PreconditionRequired),
        (status = 500, response = InternalError),
        (status = 503, response = AuditRollback),
    ),
)]
pub(super) async fn patch_material(
    State(st): State<AppState>,
    auth: AuthUser,
    ApiPath(id): ApiPath<MaterialId>,
    IfMatch(expected): IfMatch,
    headers: HeaderMap,
    ApiJson(patch): ApiJson<Value>,
) -> ApiResult<Response> {
    let archive = st.archive.clone();
    let reason = reason_of(&headers);
    let m = blocking(move || archive.filing().patch(&auth.principal, id, expected, patch, reason)).await?;
    Ok(material_answer(&st, m))
}

/// The bytes as an attachment, with the content hash in `x-content-blake3` (or `x-content-sm3` under the 国密
/// suite) and the version as the ETag.
fn content_response(st: &AppState, body: impl Into<axum::body::Body>, m: &crate::model::Material) -> Response {
    let name = m.file_name.clone().unwrap_or_else(|| format!("{}", m.id));
    let mut resp = crate::http::attachment(body, &m.mime, &name);
    let h = resp.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&m.content_hash) {
        let header = match st.archive.suite() {
            crate::crypto::Suite::Default => "x-content-blake3",
            crate::crypto::Suite::Gm => "x-content-sm3",
        };
        h.insert(header, v);
    }
    with_etag(resp, m.version)
}

#[utoipa::path(
    get,
    path = "/materials/{id}/content",
    operation_id = "materialContent",
    tag = "materials",
    summary = "Download the current bytes",
    params(
        ("id" = crate::model::MaterialId, Path, description = "Material id (400 if malformed)."),
    ),
    responses(
        (status = 200, description = "The decrypted bytes, with the material's MIME type as Content-Type.",
            content((Binary = "*/*")),
            headers(
                ("ETag" = String),
                ("Content-Disposition" = String),
                ("Cache-Control" = String),
                ("X-Content-BLAKE3" = String),
            )),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 500, response = InternalError),
        (status = 503, response = AuditRollback),
    ),
)]
pub(super) async fn material_content(
    State(st): State<AppState>,
    auth: AuthUser,
    ApiPath(id): ApiPath<MaterialId>,
) -> ApiResult<Response> {
    let archive = st.archive.clone();
    let (m, download) = blocking(move || archive.materials().download(&auth.principal, id)).await?;
    Ok(match download {
        Download::Whole(bytes) => content_response(&st, bytes.to_vec(), &m),
        Download::Stamped(bytes) => {
            let mut resp = content_response(&st, bytes.to_vec(), &m);
            resp.headers_mut().insert("x-dangan-watermark", HeaderValue::from_static("grant"));
            resp
        }
        Download::Chunks(chunks) => {
            let mut resp = content_response(&st, crate::http::chunked_body(*chunks), &m);
            // With its length announced, a stream that ends early (a damaged chunk) is an error for the client.
            resp.headers_mut().insert(header::CONTENT_LENGTH, HeaderValue::from(m.size));
            resp
        }
    })
}

#[utoipa::path(
    put,
    path = "/materials/{id}/content",
    operation_id = "replaceContent",
    tag = "materials",
    summary = "Replace the bytes (new version)",
    description = "The body is the raw bytes (any Content-Type other than multipart/form-data is taken as raw bytes), \
        or multipart/form-data with part `file` (its filename replaces the stored one). Waits until the new text is \
        indexed.",
    params(
        ("id" = crate::model::MaterialId, Path, description = "Material id (400 if malformed)."),
        ("If-Match" = String, Header, description = "The current version (the ETag): `\"3\"`, `3` or `W/\"3\"`. \
            Missing gives 428, unparsable 400, not current 412."),
        ("X-Change-Reason" = Option<String>, Header, description = "Why the change is made; kept with the new version \
            (first 500 characters)."),
    ),
    request_body(content((Binary = "application/octet-stream"), (ContentUpload = "multipart/form-data"))),
    responses(
        (status = 200, description = "The new version.",
            content((MaterialView = "application/json")), headers(("ETag" = String))),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 412, response = PreconditionFailed),
        (status = 413, response = TooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 422, response = Unprocessable),
        (status = 428, response = PreconditionRequired),
        (status = 500, response = InternalError),
        (status = 503, response = AuditRollback),
    ),
)]
pub(super) async fn replace_content(
    State(st): State<AppState>,
    auth: AuthUser,
    ApiPath(id): ApiPath<MaterialId>,
    IfMatch(expected): IfMatch,
    req: Request,
) -> ApiResult<Response> {
    if expected.is_none() {
        return Err(crate::service::Error::PreconditionRequired.into());
    }
    let reason = reason_of(req.headers());
    let is_multipart = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("multipart/form-data"));
    let (file, file_name) = if is_multipart {
        let up = read_upload(&st, req, false).await?;
        (up.file, up.file_name)
    } else {
        (crate::http::spool_body(&st, req.into_body()).await?, None)
    };
    let archive = st.archive.clone();
    let m = blocking(move || archive.filing().replace_spooled(&auth.principal, id, expected, &file, file_name, reason))
        .await?;
    Ok(material_answer(&st, m))
}

#[utoipa::path(
    get,
    path = "/materials/{id}/versions",
    operation_id = "materialVersions",
    tag = "materials",
    summary = "A material's history",
    params(
        ("id" = crate::model::MaterialId, Path, description = "Material id (400 if malformed)."),
    ),
    responses(
        (status = 200, description = "Every version, oldest first.",
            content((List<MaterialVersionView> = "application/json"))),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 500, response = InternalError),
        (status = 503, response = AuditRollback),
    ),
)]
pub(super) async fn material_versions(
    State(st): State<AppState>,
    auth: AuthUser,
    ApiPath(id): ApiPath<MaterialId>,
) -> ApiResult<Json<List<MaterialVersionView>>> {
    let archive = st.archive.clone();
    let versions = blocking(move || archive.materials().versions(&auth.principal, id)).await?;
    let items: Vec<MaterialVersionView> =
        versions.into_iter().map(|v| MaterialVersionView::new(v, st.archive.scheme())).collect();
    Ok(Json(List { total: items.len(), items }))
}

#[utoipa::path(
    get,
    path = "/materials/{id}/versions/{n}/content",
    operation_id = "versionContent",
    tag = "materials",
    summary = "Download the bytes of a version",
    params(
        ("id" = crate::model::MaterialId, Path, description = "Material id (400 if malformed)."),
        ("n" = u32, Path, description = "Version number, from 1."),
    ),
    responses(
        (status = 200, description = "The decrypted bytes of that version, with its MIME type as Content-Type.",
            content((Binary = "*/*")),
            headers(
                ("ETag" = String),
                ("Content-Disposition" = String),
                ("Cache-Control" = String),
                ("X-Content-BLAKE3" = String),
            )),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 500, response = InternalError),
        (status = 503, response = AuditRollback),
    ),
)]
pub(super) async fn version_content(
    State(st): State<AppState>,
    auth: AuthUser,
    ApiPath((id, n)): ApiPath<(MaterialId, u32)>,
) -> ApiResult<Response> {
    let archive = st.archive.clone();
    let (v, bytes) = blocking(move || archive.materials().version_content(&auth.principal, id, n)).await?;
    Ok(content_response(&st, bytes.to_vec(), &v.material))
}

#[utoipa::path(
    get,
    path = "/materials/{id}/versions/{a}/diff/{b}",
    operation_id = "versionDiff",
    tag = "materials",
    summary = "Compare the texts of two versions",
    description = "The extracted texts of versions `a` and `b` compared paragraph by paragraph and, inside a changed \
        paragraph, by jieba words. Needs the right to read the material's content, as downloading a version does; \
        every comparison is recorded in the trail (`material.diff`).",
    params(
        ("id" = crate::model::MaterialId, Path, description = "Material id (400 if malformed)."),
        ("a" = u32, Path, description = "The older side's version number, from 1 (400 if malformed)."),
        ("b" = u32, Path, description = "The newer side's version number, from 1 (400 if malformed)."),
    ),
    responses(
        (status = 200, description = "The comparison.",
            content((crate::service::diff::VersionDiff = "application/json"))),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 422, response = Unprocessable),
        (status = 500, response = InternalError),
        (status = 503, response = AuditRollback),
    ),
)]
pub(super) async fn version_diff(
    State(st): State<AppState>,
    auth: AuthUser,
    ApiPath((id, a, b)): ApiPath<(MaterialId, u32, u32)>,
) -> ApiResult<Json<crate::service::diff::VersionDiff>> {
    let archive = st.archive.clone();
    Ok(Json(blocking(move || archive.comparisons().diff(&auth.principal, id, a, b)).await?))
}
