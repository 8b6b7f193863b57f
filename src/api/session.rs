//! Sessions and the caller: sign-in and sign-out, `me`, one's own password and second factor.

use super::doc::*;
use super::error::ApiError;
use super::extract::{ApiJson, AuthUser};
use super::views::UserView;
use crate::http::{AppState, HttpError, blocking, source_of};
use crate::model::{PersonId, Role};
use axum::Json;
use axum::extract::{FromRequest, Request, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};

type ApiResult<T> = Result<T, ApiError>;

#[derive(Deserialize, utoipa::ToSchema)]
#[schema(as = LoginRequest)]
pub(super) struct LoginBody {
    /// At most 128 bytes (422 otherwise).
    #[schema(max_length = 128)]
    username: String,
    /// At most 1024 bytes (422 otherwise).
    #[schema(max_length = 1024, format = Password)]
    password: String,
    /// The current code of the authenticator app, for an account with a second factor.
    #[serde(default)]
    otp: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = LoginResponse)]
pub(super) struct LoginAnswer {
    /// Opaque bearer token (`dg_` and 64 hex digits).
    token: String,
    /// `Bearer`.
    #[schema(example = "Bearer")]
    token_type: &'static str,
    /// Session lifetime in seconds.
    expires_in: u64,
    user: UserView,
}

#[utoipa::path(
    post,
    path = "/auth/login",
    operation_id = "login",
    tag = "auth",
    summary = "Log in",
    description = "Checks a username and password and opens a session. The body may hold at most 8 KiB (larger: 413, \
        not parsed). Failures are counted per source address and per account: an address with 5 failures in 15 minutes \
        is refused, and an account with 5 failures is refused only from the addresses that failed for it, never from \
        an address that did not (429 with Retry-After). Behind a trusted proxy (DANGAN_TRUSTED_PROXIES) the source is \
        the client named in X-Forwarded-For.",
    request_body(content((LoginBody = "application/json"))),
    responses(
        (status = 200, description = "A new session.", content((LoginAnswer = "application/json"))),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 413, response = TooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 422, response = Unprocessable),
        (status = 429, response = TooManyRequests),
        (status = 500, response = InternalError),
    ),
    security(()),
)]
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

#[utoipa::path(
    post,
    path = "/auth/logout",
    operation_id = "logout",
    tag = "auth",
    summary = "Log out (end this session)",
    responses(
        (status = 204, description = "The token is no longer valid."),
        (status = 401, response = Unauthorized),
        (status = 500, response = InternalError),
    ),
)]
pub(super) async fn logout(State(st): State<AppState>, auth: AuthUser) -> ApiResult<StatusCode> {
    let archive = st.archive.clone();
    blocking(move || archive.sessions().logout(&auth.token)).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Serialize, utoipa::ToSchema)]
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

#[utoipa::path(
    get,
    path = "/me",
    operation_id = "me",
    tag = "auth",
    summary = "The caller",
    responses(
        (status = 200, description = "The caller's account and permissions.", content((Me = "application/json"))),
        (status = 401, response = Unauthorized),
        (status = 500, response = InternalError),
        (status = 503, response = AuditRollback),
    ),
)]
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
#[utoipa::path(
    post,
    path = "/me/totp",
    operation_id = "beginTotp",
    tag = "auth",
    summary = "Set up a second factor (TOTP)",
    description = "A fresh secret for the caller's authenticator app, pending until confirmed with a code. Audited.",
    responses(
        (status = 200, description = "The secret.", content((super::schemas::TotpEnrolment = "application/json"))),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 500, response = InternalError),
    ),
)]
pub(super) async fn begin_totp(
    State(st): State<AppState>,
    auth: AuthUser,
) -> ApiResult<Json<crate::service::auth::TotpEnrolment>> {
    let archive = st.archive.clone();
    Ok(Json(blocking(move || archive.sessions().begin_totp(&auth.principal)).await?))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct TotpCode {
    /// The six digits the app shows now.
    #[schema(pattern = "^[0-9]{6}$")]
    code: String,
}

/// `POST /api/v1/me/totp/confirm`: the first code from the app; from then on sign-in needs a code.
#[utoipa::path(
    post,
    path = "/me/totp/confirm",
    operation_id = "confirmTotp",
    tag = "auth",
    summary = "Confirm the second factor",
    description = "The current code of the app (422 if wrong, 409 if nothing is being set up); from then on every \
        sign-in needs `otp`. A password reset by the system administrator removes the second factor. Audited.",
    request_body(content((TotpCode = "application/json"))),
    responses(
        (status = 204, description = "Confirmed."),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 409, response = Conflict),
        (status = 415, response = UnsupportedMediaType),
        (status = 422, response = Unprocessable),
        (status = 500, response = InternalError),
    ),
)]
pub(super) async fn confirm_totp(
    State(st): State<AppState>,
    auth: AuthUser,
    ApiJson(b): ApiJson<TotpCode>,
) -> ApiResult<StatusCode> {
    let archive = st.archive.clone();
    blocking(move || archive.sessions().confirm_totp(&auth.principal, &b.code)).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct PasswordChange {
    /// The password in use.
    #[schema(format = Password)]
    current: String,
    /// At least 10 characters, not containing the username, not a common password, not the current one.
    #[schema(min_length = 10, format = Password)]
    new: String,
}

/// `POST /api/v1/me/password`: the caller chooses a new password (their other sessions end).
#[utoipa::path(
    post,
    path = "/me/password",
    operation_id = "changeOwnPassword",
    tag = "auth",
    summary = "Change one's own password",
    description = "The caller chooses a new password (the only call, with `GET /me` and `POST /auth/logout`, open to \
        an account whose password the system administrator set). Its other sessions end; this one stays. Audited.",
    request_body(content((PasswordChange = "application/json"))),
    responses(
        (status = 204, description = "Changed."),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 413, response = TooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 422, response = Unprocessable),
        (status = 500, response = InternalError),
        (status = 503, response = AuditRollback),
    ),
)]
pub(super) async fn change_password(
    State(st): State<AppState>,
    auth: AuthUser,
    ApiJson(b): ApiJson<PasswordChange>,
) -> ApiResult<StatusCode> {
    let archive = st.archive.clone();
    blocking(move || archive.sessions().change_own_password(&auth.principal, &auth.token, &b.current, &b.new)).await?;
    Ok(StatusCode::NO_CONTENT)
}
