//! Route handlers. Each one: extract (auth, path, body), run the service call off the async runtime, shape the
//! answer. No rule is decided here.

use super::error::ApiError;
use super::extract::{ApiJson, ApiPath, ApiQuery, AuthUser, IfMatch, etag};
use super::views::{List, MaterialVersionView, MaterialView, PersonVersionView, UserView};
use crate::http::{AppState, HttpError, MultipartReader, Sender, blocking, source_of, split_tags};
use crate::model::{MaterialId, MaterialMeta, PartialDate, Person, PersonId, Role};
use crate::service::SpooledBlob;
use crate::service::materials::Download;
use crate::service::persons::PersonQuery;
use crate::service::search::SearchParams;
use axum::Json;
use axum::extract::{FromRequest, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::Value;

type ApiResult<T> = Result<T, ApiError>;

fn with_etag(mut resp: Response, version: u32) -> Response {
    if let Ok(v) = HeaderValue::from_str(&etag(version)) {
        resp.headers_mut().insert(header::ETAG, v);
    }
    resp
}

#[derive(Serialize)]
pub(super) struct Health {
    status: &'static str,
    version: &'static str,
    ocr: bool,
    /// The store's cipher suite (`default` or `gm`).
    suite: crate::crypto::Suite,
    queues: crate::service::indexer::QueueStats,
}

pub(super) async fn health(State(st): State<AppState>) -> Json<Health> {
    // `held`: the store is behind its audit witness and nothing but sign-in and the acknowledgement is served.
    let status = if st.archive.audit_trail().hold().is_some() { "held" } else { "ok" };
    // Depths and ages only: nothing of what waits on the queues.
    let archive = st.archive.clone();
    let queues = blocking(move || archive.indexing().queue_stats()).await.unwrap_or_else(|e| {
        tracing::error!(error = ?e, "cannot read the queues' depths");
        Default::default()
    });
    Json(Health {
        status,
        version: env!("CARGO_PKG_VERSION"),
        ocr: st.archive.ocr_available(),
        suite: st.archive.suite(),
        queues,
    })
}

pub(super) async fn openapi() -> Response {
    ([(header::CONTENT_TYPE, "application/json")], include_str!("openapi.json")).into_response()
}

#[derive(Deserialize)]
pub(super) struct LoginBody {
    username: String,
    password: String,
    /// The current code of the authenticator app, for an account with a second factor.
    #[serde(default)]
    otp: Option<String>,
}

#[derive(Serialize)]
pub(super) struct LoginAnswer {
    token: String,
    token_type: &'static str,
    expires_in: u64,
    user: UserView,
}

pub(super) async fn login(State(st): State<AppState>, req: Request) -> ApiResult<Json<LoginAnswer>> {
    let (parts, body) = req.into_parts();
    let source = source_of(&parts);
    let ApiJson(b): ApiJson<LoginBody> = ApiJson::from_request(Request::from_parts(parts, body), &st).await?;
    if b.username.len() > 128 || b.password.len() > 1024 {
        return Err(HttpError::Unprocessable("username or password too long".into()).into());
    }
    let archive = st.archive.clone();
    let (token, user) =
        blocking(move || archive.sessions().login_with_code(&b.username, &b.password, b.otp.as_deref(), &source))
            .await?;
    Ok(Json(LoginAnswer {
        token,
        token_type: "Bearer",
        expires_in: st.archive.config().session_ttl.as_secs(),
        user: user.into(),
    }))
}

pub(super) async fn logout(State(st): State<AppState>, auth: AuthUser) -> ApiResult<StatusCode> {
    let archive = st.archive.clone();
    blocking(move || archive.sessions().logout(&auth.token)).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Serialize)]
pub(super) struct Me {
    username: String,
    display_name: String,
    roles: Vec<Role>,
    department: Option<String>,
    department_name: Option<String>,
    person_id: Option<PersonId>,
    /// The union of the caller's roles under the policy in force.
    permissions: crate::model::policy::RolePolicy,
    /// The holder must choose their own password before anything else.
    must_change_password: bool,
    /// The hard rules the account breaks (it acts without the offending roles until mended).
    violations: Vec<String>,
    /// Signs in with a second factor (TOTP).
    totp: bool,
}

pub(super) async fn me(State(st): State<AppState>, auth: AuthUser) -> Json<Me> {
    let p = &auth.principal;
    let u = &p.user;
    Json(Me {
        username: u.username.clone(),
        display_name: u.display_name.clone(),
        roles: u.roles.clone(),
        department_name: u.department.as_deref().and_then(|d| st.archive.department_name(d)),
        department: u.department.clone(),
        person_id: u.person_id,
        permissions: st.archive.policy().effective(&p.subject),
        must_change_password: u.must_change_password,
        violations: u.violations(),
        totp: u.totp_secret.is_some(),
    })
}

/// `POST /api/v1/me/totp`: a fresh second-factor secret for the caller's authenticator app (pending until
/// confirmed).
pub(super) async fn begin_totp(
    State(st): State<AppState>,
    auth: AuthUser,
) -> ApiResult<Json<crate::service::auth::TotpEnrolment>> {
    let archive = st.archive.clone();
    Ok(Json(blocking(move || archive.sessions().begin_totp(&auth.principal)).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct TotpCode {
    code: String,
}

/// `POST /api/v1/me/totp/confirm`: the first code from the app; from then on sign-in needs a code.
pub(super) async fn confirm_totp(
    State(st): State<AppState>,
    auth: AuthUser,
    ApiJson(b): ApiJson<TotpCode>,
) -> ApiResult<StatusCode> {
    let archive = st.archive.clone();
    blocking(move || archive.sessions().confirm_totp(&auth.principal, &b.code)).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct PasswordChange {
    current: String,
    new: String,
}

/// `POST /api/v1/me/password`: the caller chooses a new password (their other sessions end).
pub(super) async fn change_password(
    State(st): State<AppState>,
    auth: AuthUser,
    ApiJson(b): ApiJson<PasswordChange>,
) -> ApiResult<StatusCode> {
    let archive = st.archive.clone();
    blocking(move || archive.sessions().change_own_password(&auth.principal, &auth.token, &b.current, &b.new)).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub(super) async fn users(State(st): State<AppState>, auth: AuthUser) -> ApiResult<Json<List<UserView>>> {
    let archive = st.archive.clone();
    let users = blocking(move || archive.accounts().list(&auth.principal)).await?;
    let items: Vec<UserView> = users.into_iter().map(UserView::from).collect();
    Ok(Json(List { total: items.len(), items }))
}

#[derive(Serialize)]
struct PersonAnswer {
    #[serde(flatten)]
    person: Person,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    findings: Vec<crate::model::Finding>,
}

type PersonView = crate::service::persons::PersonView;

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

/// A material with its ETag.
fn material_answer(st: &AppState, m: crate::model::Material) -> Response {
    let v = m.version;
    with_etag(Json(MaterialView::new(m, st.archive.scheme(), None)).into_response(), v)
}

fn reason_of(headers: &HeaderMap) -> Option<String> {
    headers.get("x-change-reason").and_then(|v| v.to_str().ok()).map(|s| s.chars().take(500).collect())
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
    let saved = blocking(move || archive.persons().patch(&auth.principal, id, expected, patch, reason)).await?;
    let v = saved.record.version;
    Ok(with_etag(Json(PersonAnswer { person: saved.record, findings: saved.findings }).into_response(), v))
}

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

/// The parts of an upload.
pub(super) struct Upload {
    /// The file, streamed into a spool as it arrived.
    pub(super) file: SpooledBlob,
    pub(super) file_name: Option<String>,
    pub(super) meta: Option<Value>,
}

/// The catalogue fields of an upload's `meta`.
pub(super) fn parse_meta(v: Value) -> ApiResult<MaterialMeta> {
    serde_json::from_value::<MaterialMeta>(v).map_err(|e| crate::service::Error::invalid("meta", e.to_string()).into())
}

const META_FIELDS: [&str; 10] =
    ["category", "title", "formed_on", "pages", "tags", "note", "source_unit", "original", "secrecy", "person_id"];

/// Reads a multipart upload: part `file` (the bytes) and part `meta` (JSON) — or the meta fields as separate
/// parts (`category`, `title`, `formed_on`, `pages`, `tags` comma-separated, `note`).
pub(super) async fn read_upload(st: &AppState, req: Request, need_meta: bool) -> ApiResult<Upload> {
    let mut mp = MultipartReader::from_request(req, st, Sender::Client).await?;
    let mut file: Option<SpooledBlob> = None;
    let mut file_name = None;
    let mut meta_json: Option<Value> = None;
    let mut loose = serde_json::Map::new();
    while let Some(part) = mp.next_part().await? {
        let name = part.name();
        match name.as_str() {
            "file" => {
                if file.is_some() {
                    return Err(HttpError::BadRequest("more than one `file` part".into()).into());
                }
                file_name = part.file_name();
                file = Some(part.spool(st).await?);
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
                    "pages" | "secrecy" => serde_json::from_str(text.trim())
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
    Ok(Upload { file, file_name, meta })
}

#[derive(Deserialize)]
pub(super) struct UploadQuery {
    /// `false` answers at once without waiting for indexing.
    wait: Option<bool>,
}

pub(super) async fn upload_material(
    State(st): State<AppState>,
    auth: AuthUser,
    ApiPath(person): ApiPath<PersonId>,
    ApiQuery(q): ApiQuery<UploadQuery>,
    req: Request,
) -> ApiResult<Response> {
    // Check the caller may write this dossier before reading a large body.
    {
        let archive = st.archive.clone();
        let p = auth.principal.clone();
        blocking(move || archive.filing().check_may_file(&p, person)).await?;
    }
    let up = read_upload(&st, req, true).await?;
    let archive = st.archive.clone();
    let meta = parse_meta(up.meta.unwrap_or_default())?;
    let wait = q.wait.unwrap_or(true);
    let m = blocking(move || archive.filing().add_spooled(&auth.principal, person, meta, &up.file, up.file_name, wait))
        .await?;
    let v = m.version;
    let location = format!("/api/v1/materials/{}", m.id);
    let mut resp = (StatusCode::CREATED, Json(MaterialView::new(m, st.archive.scheme(), None))).into_response();
    if let Ok(l) = HeaderValue::from_str(&location) {
        resp.headers_mut().insert(header::LOCATION, l);
    }
    Ok(with_etag(resp, v))
}

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

pub(super) async fn get_material(
    State(st): State<AppState>,
    auth: AuthUser,
    ApiPath(id): ApiPath<MaterialId>,
) -> ApiResult<Response> {
    let archive = st.archive.clone();
    let m = blocking(move || archive.materials().get(&auth.principal, id)).await?;
    Ok(material_answer(&st, m))
}

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

pub(super) async fn material_content(
    State(st): State<AppState>,
    auth: AuthUser,
    ApiPath(id): ApiPath<MaterialId>,
) -> ApiResult<Response> {
    let archive = st.archive.clone();
    let (m, download) = blocking(move || archive.materials().download(&auth.principal, id)).await?;
    Ok(match download {
        Download::Whole(bytes) => content_response(&st, bytes.to_vec(), &m),
        Download::Chunks(chunks) => {
            let mut resp = content_response(&st, crate::http::chunked_body(*chunks), &m);
            // With its length announced, a stream that ends early (a damaged chunk) is an error for the client.
            resp.headers_mut().insert(header::CONTENT_LENGTH, HeaderValue::from(m.size));
            resp
        }
    })
}

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

pub(super) async fn version_content(
    State(st): State<AppState>,
    auth: AuthUser,
    ApiPath((id, n)): ApiPath<(MaterialId, u32)>,
) -> ApiResult<Response> {
    let archive = st.archive.clone();
    let (v, bytes) = blocking(move || archive.materials().version_content(&auth.principal, id, n)).await?;
    Ok(content_response(&st, bytes.to_vec(), &v.material))
}

#[derive(Deserialize)]
pub(super) struct SearchQuery {
    #[serde(default)]
    q: String,
    category: Option<String>,
    department: Option<String>,
    from: Option<String>,
    to: Option<String>,
    limit: Option<usize>,
    offset: Option<usize>,
}

#[derive(Serialize)]
pub(super) struct SearchAnswer {
    total: usize,
    hits: Vec<crate::service::search::SearchHit>,
    items: Vec<crate::service::search::SearchHit>,
}

fn date_param(name: &str, v: Option<String>) -> ApiResult<Option<PartialDate>> {
    match v.filter(|s| !s.trim().is_empty()) {
        None => Ok(None),
        Some(s) => s
            .parse()
            .map(Some)
            .map_err(|e: crate::model::date::InvalidDate| crate::service::Error::invalid(name, e.to_string()).into()),
    }
}

pub(super) async fn search(
    State(st): State<AppState>,
    auth: AuthUser,
    ApiQuery(q): ApiQuery<SearchQuery>,
) -> ApiResult<Json<SearchAnswer>> {
    let params = SearchParams {
        q: q.q,
        category: q.category.filter(|s| !s.is_empty()),
        department: q.department.filter(|s| !s.is_empty()),
        from: date_param("from", q.from)?,
        to: date_param("to", q.to)?,
        limit: q.limit,
        offset: q.offset,
    };
    let archive = st.archive.clone();
    let page = blocking(move || archive.materials().search(&auth.principal, &params)).await?;
    Ok(Json(SearchAnswer { total: page.total, items: page.hits.clone(), hits: page.hits }))
}

#[cfg(test)]
mod tests {
    use crate::model::RequestKind;

    /// The document lists the kinds the service takes, in the same order: one list (`RequestKind::ALL`).
    #[test]
    fn openapi_lists_every_request_kind() {
        let doc: serde_json::Value = serde_json::from_str(include_str!("openapi.json")).unwrap();
        let listed = &doc["components"]["schemas"]["RequestKind"]["enum"];
        let kinds: Vec<&str> = RequestKind::ALL.iter().map(|k| k.as_str()).collect();
        assert_eq!(listed, &serde_json::json!(kinds));
    }
}
