//! Handlers for digitization and exchange: batch imports and transfer packages.

use super::doc::*;
use super::error::ApiError;
use super::extract::{ApiPath, ApiQuery, AuthUser};
use crate::http::{AppState, HttpError, blocking};
use crate::model::ImportId;
use crate::service::imports::ImportReport;
use axum::Json;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

type ApiResult<T> = Result<T, ApiError>;

/// The body of an import: a zip sent as `application/zip` (or any non-multipart type), or the part `file` of a
/// multipart form.
pub(super) async fn zip_body(st: &AppState, req: Request) -> ApiResult<(Vec<u8>, String)> {
    let multipart = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("multipart/form-data"));
    if multipart {
        // A zip is read whole (its directory is at its end): streamed in, then read back from the spool.
        let up = super::materials::read_upload(st, req, false).await?;
        let file = up.file;
        let bytes = blocking(move || Ok(file.read_all()?.to_vec())).await?;
        return Ok((bytes, up.file_name.unwrap_or_else(|| "batch.zip".into())));
    }
    let bytes = axum::body::to_bytes(req.into_body(), st.body_limit)
        .await
        .map_err(|_| HttpError::TooLarge(format!("the batch exceeds the limit of {} bytes", st.body_limit)))?;
    Ok((bytes.to_vec(), "batch.zip".into()))
}

/// The options of an import, as query parameters.
#[derive(serde::Deserialize)]
pub(super) struct ImportQuery {
    scheme: Option<String>,
    intake: Option<bool>,
}

#[utoipa::path(
    post,
    path = "/imports",
    operation_id = "startImport",
    tag = "imports",
    summary = "Start a batch import",
    description = "A zip of files plus catalogue.csv (columns by readable names — id_number or person_id, category, \
        title, formed_on, pages, note, file — or national codes A0184, E01Z101, E01Z104, E01Z111, E01Z114, E01Z117, \
        E01Z124, E01Z201, E01Z204, E01Z207, E01Z231; UTF-8 or GB18030). Sent as application/zip or as the part `file` \
        of multipart/form-data. The catalogue is read at once (422 when unreadable, 413/422 for a zip bomb, unsafe \
        paths or duplicates: nothing is filed); the rows are then filed in the background, each atomically. Rows whose \
        bytes the dossier already holds are skipped, so re-sending a batch stores nothing twice. Needs capability \
        upload; each row also needs the right to file that category into that dossier. 形成时间 is read as \
        YYYYMMDD, YYYYMM, YYYY (the national form; 00 for an unknown month or day), ISO or 2019.07.01 / 2019年7月1日; \
        类别 as a readable code (4-1), a Chinese numeral (四) or a code-table value (0401). A catalogue in an older \
        classification scheme names it with `scheme` (or per row with a column `scheme`): its codes are mapped to \
        2018 leaves, the old code kept in the row's note; a code the scheme lacks rejects that row. With \
        `intake=true` the materials are received into the 待归档 queue (E01Z201 接收时间, E01Z207 接收人, E01Z124 份数 \
        as their receipt) instead of being filed: `POST /intake/{id}/file` files them.",
    params(
        ("scheme" = Option<String>, Query, description = "The classification scheme of the catalogue's 类别: \
            `2018` (default), `2009` or `1991` (mapped to 2018; 422 for another name). A column `scheme` in the \
            catalogue overrides it for its row."),
        ("intake" = Option<bool>, Query, description = "Receive into the 待归档 queue instead of filing. Default: \
            `false`."),
    ),
    request_body(content((Binary = "application/zip"), (Object = "multipart/form-data"))),
    responses(
        (status = 202, description = "The import, running; follow Location.",
            content((super::schemas::ImportReport = "application/json")), headers(("Location" = String))),
        (status = 400, response = BadRequest),
        (status = 413, response = TooLarge),
        (status = 422, response = Unprocessable),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 500, response = InternalError),
        (status = 503, response = AuditRollback),
    ),
)]
pub(super) async fn start_import(
    State(st): State<AppState>,
    auth: AuthUser,
    ApiQuery(q): ApiQuery<ImportQuery>,
    req: Request,
) -> ApiResult<Response> {
    let scheme = q.scheme.unwrap_or_default();
    // An unknown scheme is refused before the batch is read.
    crate::service::imports::scheme_named(&scheme).map_err(HttpError::Unprocessable)?;
    let (bytes, name) = zip_body(&st, req).await?;
    let report = crate::http::start_import(&st, auth.principal, bytes, name, scheme, q.intake.unwrap_or(false)).await?;
    let mut resp = (StatusCode::ACCEPTED, Json(report.clone())).into_response();
    if let Ok(l) = HeaderValue::from_str(&format!("/api/v1/imports/{}", report.id)) {
        resp.headers_mut().insert(header::LOCATION, l);
    }
    Ok(resp)
}

#[utoipa::path(
    get,
    path = "/imports/{id}",
    operation_id = "getImport",
    tag = "imports",
    summary = "An import's progress and report",
    description = "State running / done / interrupted (the process stopped; send the batch again to finish it), \
        counts, and each row's outcome with its reason. Seen by the account that started the import and by those with \
        capability edit_persons (HR); to anyone else the import does not exist (404).",
    params(
        ("id" = crate::model::ImportId, Path, description = "Import id (400 if malformed)."),
    ),
    responses(
        (status = 200, description = "The report.", content((super::schemas::ImportReport = "application/json"))),
        (status = 400, response = BadRequest),
        (status = 404, response = NotFound),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 500, response = InternalError),
        (status = 503, response = AuditRollback),
    ),
)]
pub(super) async fn get_import(
    State(st): State<AppState>,
    auth: AuthUser,
    ApiPath(id): ApiPath<ImportId>,
) -> ApiResult<Json<ImportReport>> {
    let archive = st.archive.clone();
    Ok(Json(blocking(move || archive.imports().report(&auth.principal, id)).await?))
}

#[utoipa::path(
    get,
    path = "/persons/{id}/package",
    operation_id = "exportPackage",
    tag = "packages",
    summary = "Export a dossier as a transfer package (转递)",
    description = "A zip holding one BagIt bag (RFC 8493) `dangan-<id>/`: data/manifest.json (person record, \
        materials, every version with SHA-256 and BLAKE3), data/catalogue.csv (national codes), data/audit.json (the \
        dossier's audit entries), data/materials/<material>/v<n>.<ext>, manifest-sha256.txt, tagmanifest-sha256.txt \
        and dangan-signature.txt (Ed25519 over the tag manifest by the installation key `dangan keys show` prints). \
        Needs capability export and the right to read every material of the dossier. Audited with the package's \
        SHA-256.",
    params(
        ("id" = crate::model::PersonId, Path, description = "Person id (400 if malformed)."),
    ),
    responses(
        (status = 200, description = "The package.",
            content((Binary = "application/zip")), headers(("X-Package-Sha256" = String))),
        (status = 400, response = BadRequest),
        (status = 404, response = NotFound),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 500, response = InternalError),
        (status = 503, response = AuditRollback),
    ),
)]
pub(super) async fn export_package(
    State(st): State<AppState>,
    auth: AuthUser,
    ApiPath(person): ApiPath<crate::model::PersonId>,
) -> ApiResult<Response> {
    let archive = st.archive.clone();
    let package = blocking(move || archive.packages().export(&auth.principal, person)).await?;
    let mut resp = crate::http::attachment(package.bytes, "application/zip", &package.file_name);
    if let Ok(v) = HeaderValue::from_str(&package.sha256) {
        resp.headers_mut().insert("x-package-sha256", v);
    }
    Ok(resp)
}

#[derive(serde::Deserialize)]
pub(super) struct PackageQuery {
    /// Accept a package signed by a key not among the trusted senders (recorded in the audit trail).
    accept_unknown_sender: Option<bool>,
    /// Receive the materials into the 待归档 queue instead of filing them.
    intake: Option<bool>,
}

#[utoipa::path(
    post,
    path = "/packages",
    operation_id = "importPackage",
    tag = "packages",
    summary = "Receive a transfer package",
    description = "Checks the zip (bombs, unsafe paths, duplicates), the bag (every listed file present, none \
        unlisted, every SHA-256 and BLAKE3, Payload-Oxum) and the signature, then files a new dossier with every \
        material and version. A damaged package is refused whole (422) naming each missing or altered file in \
        `findings`; a package signed by a key not among the trusted senders (DANGAN_TRUSTED_SENDERS) is refused (403) \
        unless accept_unknown_sender=true; a person whose ID number is already held gives 409 (to add the package's \
        new materials to that dossier, receive it with `POST /receiving` and accept it `into: existing`). Needs \
        capabilities create_persons and upload.",
    params(
        ("accept_unknown_sender" = Option<bool>, Query, description = ""),
        ("intake" = Option<bool>, Query, description = "Receive the materials into the 待归档 queue (收材登记) instead \
            of filing them; `POST /intake/{id}/file` files them. Default: `false`."),
    ),
    request_body(content((Binary = "application/zip"), (Object = "multipart/form-data"))),
    responses(
        (status = 201, description = "The receipt (回执); Location names the new dossier.",
            content((super::schemas::Receipt = "application/json")), headers(("Location" = String))),
        (status = 400, response = BadRequest),
        (status = 409, response = Conflict),
        (status = 413, response = TooLarge),
        (status = 422, response = Unprocessable),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 500, response = InternalError),
        (status = 503, response = AuditRollback),
    ),
)]
pub(super) async fn import_package(
    State(st): State<AppState>,
    auth: AuthUser,
    super::extract::ApiQuery(q): super::extract::ApiQuery<PackageQuery>,
    req: Request,
) -> ApiResult<Response> {
    let (bytes, _) = zip_body(&st, req).await?;
    if bytes.is_empty() {
        return Err(HttpError::Unprocessable("the package is empty: send the zip a sender exported".into()).into());
    }
    let archive = st.archive.clone();
    let accept = q.accept_unknown_sender.unwrap_or(false);
    let intake = q.intake.unwrap_or(false);
    let receipt = blocking(move || archive.packages().import_to(&auth.principal, bytes, accept, intake)).await?;
    let mut resp = (StatusCode::CREATED, Json(receipt.clone())).into_response();
    if let Ok(l) = HeaderValue::from_str(&format!("/api/v1/persons/{}", receipt.person_id)) {
        resp.headers_mut().insert(header::LOCATION, l);
    }
    Ok(resp)
}
