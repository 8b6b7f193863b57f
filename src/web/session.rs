//! Sessions in the browser. Login goes through the same [`crate::service::Sessions::login`] as the API (so
//! throttling is shared) and puts the same session token in an HttpOnly, SameSite=Strict cookie (`Secure` when
//! the request came over TLS). [`WebUser`] resolves the cookie on every page; without a valid session a page
//! redirects to the login form, which returns to the page afterwards (same-site paths only). Every form post
//! carries the session's anti-forgery token; the login form, which has no session yet, a random one that must
//! match a short-lived cookie (double submit).

use super::error::{WebError, WebForm, WebQuery, WebResult};
use super::layout::page;
use crate::http::{AppState, blocking, source_of};
use crate::model::policy::{Capability, PersonScope, RolePolicy};
use crate::service::Principal;
use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};
use maud::{Markup, html};
use serde::Deserialize;

/// The session cookie.
pub const SESSION_COOKIE: &str = "dangan_session";
/// The language cookie.
const LANG_COOKIE: &str = "dangan_lang";
/// The login form's anti-forgery cookie.
const LOGIN_COOKIE: &str = "dangan_login";

/// The language of the pages: simplified Chinese unless English was asked for.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Lang {
    /// 简体中文.
    #[default]
    Zh,
    /// English.
    En,
}

impl Lang {
    /// The text in this language.
    pub fn t(self, zh: &'static str, en: &'static str) -> &'static str {
        match self {
            Lang::Zh => zh,
            Lang::En => en,
        }
    }

    /// The `lang` attribute of the page.
    pub fn code(self) -> &'static str {
        match self {
            Lang::Zh => "zh-CN",
            Lang::En => "en",
        }
    }

    fn parse(s: &str) -> Option<Lang> {
        match s {
            "zh" | "zh-CN" => Some(Lang::Zh),
            "en" => Some(Lang::En),
            _ => None,
        }
    }

    /// A `?lang=` switch in the query, if any.
    pub fn from_query(query: Option<&str>) -> Option<Lang> {
        query_param(query?, "lang").and_then(|v| Lang::parse(&v))
    }

    /// The language remembered in the cookie (Chinese by default).
    pub fn from_headers(h: &HeaderMap) -> Lang {
        cookie(h, LANG_COOKIE).and_then(|v| Lang::parse(&v)).unwrap_or_default()
    }

    fn of(parts: &Parts) -> Lang {
        Lang::from_query(parts.uri.query()).unwrap_or_else(|| Lang::from_headers(&parts.headers))
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Lang {
    type Rejection = std::convert::Infallible;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Lang::of(parts))
    }
}

/// The `Set-Cookie` value remembering a language, for a year (not HttpOnly: it holds nothing secret).
pub fn lang_cookie(l: Lang) -> String {
    let v = match l {
        Lang::Zh => "zh",
        Lang::En => "en",
    };
    Cookie::build((LANG_COOKIE, v))
        .path("/")
        .same_site(SameSite::Strict)
        .max_age(time::Duration::days(365))
        .build()
        .encoded()
        .to_string()
}

/// A cookie's value, from the request's `Cookie` headers.
pub fn cookie(h: &HeaderMap, name: &str) -> Option<String> {
    CookieJar::from_headers(h).get(name).map(|c| c.value().to_string())
}

/// The session cookie: the session token, for every path, HttpOnly, SameSite=Strict, `Secure` when the browser
/// came over TLS, as long as the session lives (`Max-Age` 0 removes it).
fn session_cookie(token: String, max_age: time::Duration, tls: bool) -> Cookie<'static> {
    Cookie::build((SESSION_COOKIE, token))
        .path("/")
        .http_only(true)
        .same_site(SameSite::Strict)
        .secure(tls)
        .max_age(max_age)
        .build()
}

/// The login form's anti-forgery cookie: sent back to `/login` only, HttpOnly, SameSite=Strict, for an hour.
fn login_cookie(nonce: String) -> Cookie<'static> {
    Cookie::build((LOGIN_COOKIE, nonce))
        .path("/login")
        .http_only(true)
        .same_site(SameSite::Strict)
        .max_age(time::Duration::hours(1))
        .build()
}

/// What removes the login form's cookie once the login succeeded.
fn login_cookie_removal() -> Cookie<'static> {
    Cookie::build((LOGIN_COOKIE, "")).path("/login").http_only(true).max_age(time::Duration::ZERO).build()
}

fn urldecode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < b.len() => {
                match u8::from_str_radix(std::str::from_utf8(&b[i + 1..i + 3]).unwrap_or("zz"), 16) {
                    Ok(v) => {
                        out.push(v);
                        i += 2;
                    }
                    Err(_) => out.push(b'%'),
                }
            }
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn query_param(query: &str, name: &str) -> Option<String> {
    query.split('&').filter_map(|kv| kv.split_once('=')).find(|(k, _)| *k == name).map(|(_, v)| urldecode(v))
}

/// A `next` target if it is a path of this site (`/…`, not `//host` or `/\host`; printable ASCII, as the
/// browser sends a path, so it is always a valid `Location`), else `/`.
pub fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n)
            if n.starts_with('/')
                && !n.starts_with("//")
                && !n.starts_with("/\\")
                && n.bytes().all(|b| b.is_ascii_graphic() && b != b'\\')
                && n.len() <= 2000 =>
        {
            n.to_string()
        }
        _ => "/".to_string(),
    }
}

/// Whether the browser reached us over TLS, as the reverse proxy in front says (`X-Forwarded-Proto: https`
/// or RFC 7239 `Forwarded: proto=https`); dangan itself speaks plain HTTP.
fn over_tls(h: &HeaderMap) -> bool {
    let text = |name: &str| h.get_all(name).iter().filter_map(|v| v.to_str().ok()).collect::<Vec<_>>().join(",");
    let xfp = text("x-forwarded-proto");
    let forwarded = text("forwarded").to_ascii_lowercase();
    xfp.split(',').next().is_some_and(|v| v.trim().eq_ignore_ascii_case("https"))
        || forwarded.split([';', ',']).any(|kv| kv.trim() == "proto=https")
}

/// What the caller's roles let it use, for the navigation and the buttons (the service still decides).
#[derive(Clone, Debug, Default)]
pub struct Can {
    /// Full-text search.
    pub search: bool,
    /// Persons and dossiers.
    pub persons: bool,
    /// Create person records.
    pub create: bool,
    /// File materials.
    pub upload: bool,
    /// The 待归档 queue: receive and file materials (who files, and 行政部's custody).
    pub intake: bool,
    /// Download and view content.
    pub download: bool,
    /// Start change requests (other than consultation).
    pub start: bool,
    /// Decide consultation grants.
    pub grants: bool,
    /// The audit trail.
    pub audit: bool,
    /// The permission review.
    pub review: bool,
    /// Accounts.
    pub accounts: bool,
    /// At least one report.
    pub reports: bool,
    /// The custody page: the archive office, and who sends transfers (docs/DOMAIN.md §4c).
    pub custody: bool,
    /// Change custody, lend paper dossiers (the archive office).
    pub manage_custody: bool,
    /// Scanning batches: who manages them (HR, administration) and the scanning operators.
    pub batches: bool,
    /// The contract register and review: who sees contract records (HR, legal).
    pub contracts: bool,
}

impl Can {
    fn of(r: &RolePolicy) -> Can {
        let has = |c| r.capabilities.contains(&c);
        Can {
            search: has(Capability::Search),
            persons: r.persons != PersonScope::None,
            create: has(Capability::CreatePersons),
            upload: has(Capability::Upload),
            intake: has(Capability::Upload) || has(Capability::ManageCustody),
            download: has(Capability::Download),
            start: !r.start_requests.is_empty(),
            grants: has(Capability::DecideGrants),
            audit: has(Capability::ReadAudit),
            review: has(Capability::ManagePolicy),
            accounts: has(Capability::ManageAccounts),
            reports: false,
            custody: has(Capability::ManageCustody) || has(Capability::Export),
            manage_custody: has(Capability::ManageCustody),
            batches: has(Capability::Upload) || has(Capability::ManageCustody) || has(Capability::ScanBatches),
            contracts: false,
        }
    }
}

/// The caller of a page: a valid session cookie. Pages without one redirect to the login form.
pub struct WebUser {
    /// The principal.
    pub principal: Principal,
    /// The session token (to log out and to check forms).
    pub token: String,
    /// The session's anti-forgery token, put into every form.
    pub csrf: String,
    /// The page language.
    pub lang: Lang,
    /// What the caller's roles let it use.
    pub can: Can,
    /// The caller's department name.
    pub department_name: Option<String>,
}

impl WebUser {
    /// Checks a form's anti-forgery token: a missing or foreign one is a 403.
    pub fn check_csrf(&self, st: &AppState, presented: Option<&str>) -> WebResult<()> {
        match presented {
            Some(p) if st.archive.sessions().check_csrf(&self.token, p) => Ok(()),
            _ => Err(WebError::Csrf),
        }
    }
}

impl FromRequestParts<AppState> for WebUser {
    type Rejection = WebError;
    async fn from_request_parts(parts: &mut Parts, st: &AppState) -> Result<Self, WebError> {
        let lang = Lang::of(parts);
        // Only a page can be returned to; after a post, the login goes home.
        let next = (parts.method == Method::GET)
            .then(|| parts.uri.path_and_query().map(|p| p.as_str().to_string()))
            .flatten()
            .filter(|p| p != "/");
        let Some(token) = cookie(&parts.headers, SESSION_COOKIE).filter(|t| !t.is_empty()) else {
            return Err(WebError::Login { next, expired: false });
        };
        let source = source_of(parts);
        let archive = st.archive.clone();
        let t = token.clone();
        let principal = match blocking(move || archive.sessions().authenticate(&t, &source)).await {
            Ok(p) => p,
            Err(crate::http::HttpError::Service(crate::service::Error::Unauthorized(_))) => {
                return Err(WebError::Login { next, expired: true });
            }
            Err(e) => return Err(e.into()),
        };
        // A password the system administrator set must be replaced before any other page.
        if principal.user.must_change_password && !matches!(parts.uri.path(), "/password" | "/logout") {
            return Err(WebError::PasswordChange);
        }
        let can = Can {
            reports: st.archive.reports().available(&principal).any(),
            contracts: st.archive.contracts().keeps_register(&principal),
            ..Can::of(&st.archive.policy().effective(&principal.subject))
        };
        let department_name = principal.user.department.as_deref().and_then(|d| st.archive.department_name(d));
        Ok(WebUser { csrf: st.archive.sessions().csrf_token(&token), principal, token, lang, can, department_name })
    }
}

#[derive(Deserialize)]
pub(super) struct LoginQuery {
    next: Option<String>,
    /// Set when a page sent the caller here because its session had ended.
    expired: Option<String>,
}

/// Constant-time equality of two secrets (their lengths are not secret).
fn same_secret(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn random_hex() -> WebResult<String> {
    let mut b = [0u8; 24];
    getrandom::fill(&mut b).map_err(|e| WebError::internal(e.to_string()))?;
    Ok(b.iter().map(|x| format!("{x:02x}")).collect())
}

/// The login page: a form with `username` and `password`, and an error when the last try failed.
fn login_page(lang: Lang, next: &str, error: Option<&str>, status: StatusCode) -> WebResult<Response> {
    let nonce = random_hex()?;
    let body = html! {
        section.login {
            h1 { (lang.t("登录干部人事档案系统", "Sign in to the cadre archive")) }
            @if let Some(e) = error {
                p.error role="alert" { (e) }
            }
            form method="post" action="/login" {
                input type="hidden" name="csrf" value=(nonce);
                input type="hidden" name="next" value=(next);
                p {
                    label for="username" { (lang.t("用户名", "Username")) }
                    input #username type="text" name="username" autocomplete="username" required autofocus;
                }
                p {
                    label for="password" { (lang.t("密码", "Password")) }
                    input #password type="password" name="password" autocomplete="current-password" required;
                }
                p {
                    label for="otp" { (lang.t("动态验证码（已启用双因素认证时填写）", "One-time code (if your account uses one)")) }
                    input #otp type="text" name="otp" inputmode="numeric" autocomplete="one-time-code" maxlength="6";
                }
                p { button type="submit" { (lang.t("登录", "Sign in")) } }
            }
        }
    };
    let jar = CookieJar::new().add(login_cookie(nonce));
    Ok((status, jar, page(lang, None, lang.t("登录", "Sign in"), body)).into_response())
}

/// `GET /login`.
pub(super) async fn login_form(lang: Lang, WebQuery(q): WebQuery<LoginQuery>) -> Response {
    let next = safe_next(q.next.as_deref());
    let notice =
        q.expired.is_some().then(|| lang.t("会话已过期，请重新登录。", "Your session has ended; sign in again."));
    login_page(lang, &next, notice, StatusCode::OK).unwrap_or_else(IntoResponse::into_response)
}

#[derive(Deserialize)]
pub(super) struct LoginForm {
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    otp: String,
    next: Option<String>,
    csrf: Option<String>,
}

/// `POST /login`: the API's login; on success the session cookie and a redirect to `next`.
pub(super) async fn login(State(st): State<AppState>, lang: Lang, req: Request) -> WebResult<Response> {
    let (parts, body) = req.into_parts();
    let source = source_of(&parts);
    let expected = cookie(&parts.headers, LOGIN_COOKIE);
    let headers = parts.headers.clone();
    let req = Request::from_parts(parts, body);
    let WebForm(f) = <WebForm<LoginForm> as axum::extract::FromRequest<AppState>>::from_request(req, &st).await?;
    match (&expected, &f.csrf) {
        (Some(e), Some(p)) if !e.is_empty() && same_secret(e, p) => {}
        _ => return Err(WebError::Csrf),
    }
    let next = safe_next(f.next.as_deref());
    if f.username.len() > 128 || f.password.len() > 1024 {
        let too_long = lang.t("用户名或密码过长", "Username or password too long");
        return login_page(lang, &next, Some(too_long), StatusCode::UNPROCESSABLE_ENTITY);
    }
    let archive = st.archive.clone();
    let (user, pass) = (f.username, f.password);
    let otp = Some(f.otp.trim().to_string()).filter(|c| !c.is_empty());
    match blocking(move || archive.sessions().login_with_code(&user, &pass, otp.as_deref(), &source)).await {
        Ok((token, _)) => {
            let ttl = time::Duration::seconds(st.archive.config().session_ttl.as_secs() as i64);
            let jar = CookieJar::new().add(session_cookie(token, ttl, over_tls(&headers))).add(login_cookie_removal());
            Ok((jar, Redirect::to(&next)).into_response())
        }
        Err(crate::http::HttpError::Service(crate::service::Error::Unauthorized(_))) => login_page(
            lang,
            &next,
            Some(lang.t("用户名或密码错误", "Wrong username or password")),
            StatusCode::UNAUTHORIZED,
        ),
        Err(crate::http::HttpError::Service(crate::service::Error::TooManyAttempts { retry_after })) => {
            let msg = match lang {
                Lang::Zh => format!("登录失败次数过多，请 {retry_after} 秒后再试"),
                Lang::En => format!("Too many failed logins; try again in {retry_after} s"),
            };
            let mut resp = login_page(lang, &next, Some(&msg), StatusCode::TOO_MANY_REQUESTS)?;
            if let Ok(v) = HeaderValue::from_str(&retry_after.to_string()) {
                resp.headers_mut().insert(header::RETRY_AFTER, v);
            }
            Ok(resp)
        }
        Err(e) => Err(e.into()),
    }
}

/// The password page: current and new password (twice); `forced` when the system administrator set it.
fn password_page(user: &WebUser, error: Option<&str>, done: bool) -> Markup {
    let l = user.lang;
    html! {
        section.login {
            h1 { (l.t("修改密码", "Change your password")) }
            @if user.principal.user.must_change_password {
                p.flash role="status" { (l.t("您的密码由系统管理员设置，请先设置自己的密码。",
                    "Your password was set by the system administrator; choose your own before going on.")) }
            }
            @if done { p.flash role="status" { (l.t("密码已修改。", "Your password has been changed.")) } }
            @if let Some(e) = error { p.error role="alert" { (e) } }
            form method="post" action="/password" {
                input type="hidden" name="csrf" value=(user.csrf);
                p {
                    label for="current" { (l.t("当前密码", "Current password")) }
                    input #current type="password" name="current" autocomplete="current-password" required;
                }
                p {
                    label for="new" { (l.t("新密码（至少10位，不含用户名，不用常见密码）", "New password (10+ characters, not the username, not a common one)")) }
                    input #new type="password" name="new" autocomplete="new-password" required minlength="10";
                }
                p {
                    label for="again" { (l.t("再次输入新密码", "New password again")) }
                    input #again type="password" name="again" autocomplete="new-password" required minlength="10";
                }
                p { button type="submit" { (l.t("修改密码", "Change password")) } }
            }
        }
    }
}

/// `GET /password`.
pub(super) async fn password_form(user: WebUser) -> Response {
    let l = user.lang;
    page(l, Some(&user), l.t("修改密码", "Change your password"), password_page(&user, None, false)).into_response()
}

#[derive(Deserialize)]
pub(super) struct PasswordForm {
    #[serde(default)]
    current: String,
    #[serde(default)]
    new: String,
    #[serde(default)]
    again: String,
    csrf: Option<String>,
}

/// `POST /password`: the service's password change; a refusal comes back on the form.
pub(super) async fn change_password(
    State(st): State<AppState>,
    user: WebUser,
    WebForm(f): WebForm<PasswordForm>,
) -> WebResult<Response> {
    user.check_csrf(&st, f.csrf.as_deref())?;
    let l = user.lang;
    let again = |msg: &str, status: StatusCode| {
        (status, page(l, Some(&user), l.t("修改密码", "Change your password"), password_page(&user, Some(msg), false)))
            .into_response()
    };
    if f.new != f.again {
        return Ok(again(
            l.t("两次输入的新密码不一致", "The two new passwords differ"),
            StatusCode::UNPROCESSABLE_ENTITY,
        ));
    }
    let archive = st.archive.clone();
    let (p, token) = (user.principal.clone(), user.token.clone());
    match blocking(move || archive.sessions().change_own_password(&p, &token, &f.current, &f.new)).await {
        Ok(_) => Ok(Redirect::to("/?password=changed").into_response()),
        Err(crate::http::HttpError::Service(e @ crate::service::Error::Invalid { .. })) => {
            Ok(again(&e.to_string(), StatusCode::UNPROCESSABLE_ENTITY))
        }
        Err(crate::http::HttpError::Service(crate::service::Error::Forbidden(_))) => {
            Ok(again(l.t("当前密码不正确", "The current password is not right"), StatusCode::FORBIDDEN))
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Deserialize)]
pub(super) struct CsrfOnly {
    csrf: Option<String>,
}

/// `POST /logout`: ends the session and clears the cookie.
pub(super) async fn logout(
    State(st): State<AppState>,
    user: WebUser,
    WebForm(f): WebForm<CsrfOnly>,
) -> WebResult<Response> {
    user.check_csrf(&st, f.csrf.as_deref())?;
    let archive = st.archive.clone();
    let token = user.token.clone();
    blocking(move || archive.sessions().logout(&token)).await?;
    let jar = CookieJar::new().add(session_cookie(String::new(), time::Duration::ZERO, false));
    Ok((jar, Redirect::to("/login")).into_response())
}

/// The `Set-Cookie` value that removes the session cookie.
pub fn clear_session_cookie() -> String {
    session_cookie(String::new(), time::Duration::ZERO, false).encoded().to_string()
}

/// The hidden anti-forgery field of a form.
pub fn csrf_field(user: &WebUser) -> maud::Markup {
    html! { input type="hidden" name="csrf" value=(user.csrf); }
}

/// The logout form in the page header.
pub(super) fn logout_form(user: &WebUser) -> maud::Markup {
    let l = user.lang;
    html! {
        form.logout method="post" action="/logout" {
            (csrf_field(user))
            button type="submit" { (l.t("退出", "Sign out")) }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_stays_on_this_site() {
        assert_eq!(safe_next(Some("/persons?x=1")), "/persons?x=1");
        for bad in ["//evil.example", "/\\evil", "https://evil.example", "", "javascript:x", "/a\nb", "/a b", "/晋升"]
        {
            assert_eq!(safe_next(Some(bad)), "/", "{bad:?}");
        }
        assert_eq!(safe_next(None), "/");
    }

    #[test]
    fn tls_is_told_by_the_proxy() {
        let h = |k: &'static str, v: &'static str| {
            let mut m = HeaderMap::new();
            m.insert(k, HeaderValue::from_static(v));
            m
        };
        assert!(over_tls(&h("x-forwarded-proto", "https")));
        assert!(over_tls(&h("forwarded", "for=1.2.3.4;proto=https;by=x")));
        assert!(!over_tls(&h("x-forwarded-proto", "http")));
        assert!(!over_tls(&HeaderMap::new()));
    }

    /// Name, value and attributes of a `Set-Cookie` value, as a browser reads them.
    fn parsed(set_cookie: &str) -> Cookie<'static> {
        Cookie::parse_encoded(set_cookie.to_string()).unwrap()
    }

    #[test]
    fn cookies_keep_their_names_and_attributes() {
        let hour = time::Duration::hours(1);
        for tls in [false, true] {
            let text = session_cookie("dg_0a1b".into(), hour, tls).encoded().to_string();
            let c = parsed(&text);
            assert_eq!((c.name(), c.value(), c.path()), ("dangan_session", "dg_0a1b", Some("/")), "{text}");
            assert_eq!((c.http_only(), c.same_site()), (Some(true), Some(SameSite::Strict)), "{text}");
            assert_eq!(c.max_age(), Some(hour), "{text}");
            assert_eq!(text.contains("; Secure"), tls, "Secure only over TLS: {text}");
        }
        let text = clear_session_cookie();
        let c = parsed(&text);
        assert_eq!(
            (c.name(), c.value(), c.path(), c.max_age()),
            ("dangan_session", "", Some("/"), Some(time::Duration::ZERO))
        );
        assert_eq!((c.http_only(), c.same_site()), (Some(true), Some(SameSite::Strict)), "{text}");
        assert!(!text.contains("Secure") && !text.contains("Expires"), "{text}");

        let text = login_cookie("00ff".into()).encoded().to_string();
        let c = parsed(&text);
        assert_eq!((c.name(), c.value(), c.path(), c.max_age()), ("dangan_login", "00ff", Some("/login"), Some(hour)));
        assert_eq!((c.http_only(), c.same_site()), (Some(true), Some(SameSite::Strict)), "{text}");
        let text = login_cookie_removal().encoded().to_string();
        let c = parsed(&text);
        assert_eq!(
            (c.name(), c.value(), c.path(), c.max_age()),
            ("dangan_login", "", Some("/login"), Some(time::Duration::ZERO))
        );
        assert_eq!(c.http_only(), Some(true), "{text}");

        let text = lang_cookie(Lang::En);
        let c = parsed(&text);
        assert_eq!((c.name(), c.value(), c.path()), ("dangan_lang", "en", Some("/")));
        assert_eq!((c.same_site(), c.max_age()), (Some(SameSite::Strict), Some(time::Duration::seconds(31_536_000))));
        assert_eq!(c.http_only(), None, "{text}");
        assert_eq!(parsed(&lang_cookie(Lang::Zh)).value(), "zh");
    }

    #[test]
    fn cookies_are_read_from_every_cookie_header() {
        let mut h = HeaderMap::new();
        h.append(header::COOKIE, HeaderValue::from_static("a=1;dangan_lang=en"));
        h.append(header::COOKIE, HeaderValue::from_static(" dangan_session = dg_0a1b ; b=2"));
        assert_eq!(cookie(&h, SESSION_COOKIE).as_deref(), Some("dg_0a1b"));
        assert_eq!(Lang::from_headers(&h), Lang::En);
        assert_eq!(cookie(&h, LOGIN_COOKIE), None);
        assert_eq!(cookie(&HeaderMap::new(), SESSION_COOKIE), None);
    }

    #[test]
    fn query_values_decode() {
        assert_eq!(query_param("a=1&lang=en", "lang").as_deref(), Some("en"));
        assert_eq!(urldecode(&crate::http::urlencode("晋升 a/b")), "晋升 a/b");
        assert_eq!(urldecode("%zz%"), "%zz%");
    }
}
