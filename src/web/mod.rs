//! The web UI (issue 6): server-rendered HTML pages in simplified Chinese (English with `?lang=en`), served by
//! the same server as the API ([`crate::server`]), at `/`. It shares [`crate::http`] with the API and never uses
//! the API's module. Pages are thin: each takes the caller from the session cookie, calls the
//! same service function the API calls with the caller's principal — the service decides what is visible, the
//! UI never shows more than the API would serve — and renders the answer with maud. Reading needs no
//! JavaScript: links navigate, forms post. Every response carries a strict Content-Security-Policy (no inline
//! script or style), and every form post carries an anti-forgery token derived from the session.
//!
//! * `session` — the session cookie, the language, the `WebUser` extractor, the anti-forgery check, login.
//! * `error` — the one place a failure becomes an HTML error page (the status from the one mapping,
//!   [`crate::http::HttpError::http_status_code`]).
//! * `layout` — the page shell, the navigation by the caller's rights, shared labels.
//! * `pages` — home, search, persons, dossiers, materials and their content.
//! * `forms` — uploads and new versions of files, new persons, change requests, the inbox and decisions.
//! * `reports` — the reports the caller may run, each as a table with an inline SVG chart, and as CSV / XLSX.
//! * `contracts` — legal's contract register with its reminders, a contract's record, comparison and review notes.
//! * `batches` — digitisation: scanning batches, their figures, 自检 and 提交抽检, the reviewer's 抽检 page, and
//!   the page images of scanned materials.
//! * `imports` — batch imports: the form, the start, and the progress / report page.
//! * `hold` — the page of an archive held because its store is behind its audit witness, and the security
//!   administrator's acknowledgement.
//! * `admin` — consultation grants, the audit trail (auditor), the permission review (security administrator),
//!   accounts (IT).

mod admin;
mod batches;
mod catalogue;
mod consult;
mod contracts;
mod custody;
mod diff;
mod error;
mod forms;
mod hold;
mod imports;
mod intake;
mod layout;
mod pages;
mod receiving;
mod reports;
mod review;
mod session;

use crate::http::AppState;
use axum::Router;
use axum::extract::Request;
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};

/// The policy every page is served under: no inline script or style, nothing from elsewhere, never framed.
pub const CSP: &str = "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; \
                       frame-ancestors 'none'; form-action 'self'; base-uri 'none'";

/// The routes of the web UI, with its security headers; merged beside the API's by [`crate::server::router`].
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/assets/app.css", get(stylesheet))
        .route(
            "/login",
            get(session::login_form)
                .post(session::login)
                .layer(axum::extract::DefaultBodyLimit::max(crate::http::LOGIN_BODY_LIMIT)),
        )
        // A typed-in address of a form's target goes somewhere useful rather than to a 405.
        .route("/logout", get(|| async { Redirect::to("/") }).post(session::logout))
        .route("/password", get(session::password_form).post(session::change_password))
        .route("/", get(pages::home))
        .route("/search", get(pages::search))
        .route("/persons", get(pages::persons).post(forms::create_person))
        .route("/persons/new", get(forms::new_person))
        .route("/persons/{id}", get(pages::dossier))
        .route("/persons/{id}/materials", post(forms::upload))
        .route("/persons/{id}/catalogue", get(catalogue::print))
        .route("/persons/{id}/catalogue/arrange", post(catalogue::arrange))
        .route("/persons/{id}/review", get(review::show).post(review::record))
        .route("/persons/{id}/review/submit", post(review::submit))
        .route("/materials/{id}", get(pages::material))
        .route("/materials/{id}/content", get(pages::content).post(forms::replace_content))
        .route("/materials/{id}/versions/{n}/content", get(pages::version_content))
        .route("/materials/{id}/versions/{a}/diff/{b}", get(diff::version_diff))
        // Legal's contract register and review (docs/DOMAIN.md §4e).
        .route("/contracts", get(contracts::register))
        .route("/materials/{id}/contract", get(contracts::show).post(contracts::save))
        .route("/materials/{id}/contract/notes", post(contracts::add_note))
        .route("/materials/{id}/contract/notes/{note}/resolve", post(contracts::resolve))
        .route("/inbox", get(forms::inbox))
        .route("/requests", get(|| async { Redirect::to("/inbox") }).post(forms::create_request))
        .route("/requests/new", get(forms::new_request))
        .route("/requests/{id}", get(forms::request))
        .route("/requests/{id}/decide", post(forms::decide))
        .route("/requests/{id}/submit", post(forms::submit))
        .route("/requests/{id}/withdraw", post(forms::withdraw))
        .route("/grants", get(admin::grants).post(consult::create_grant))
        // 查(借)阅 (issue 15 item 5)
        .route("/grants/new", get(consult::new_grant))
        .route("/grants/{id}/letter", get(consult::letter))
        .route("/materials/{id}/view", get(consult::view))
        .route("/materials/{id}/view/file", get(consult::view_file))
        .route("/grants/{id}/decide", post(admin::decide_grant))
        .route("/grants/{id}/revoke", post(admin::revoke_grant))
        .route("/audit", get(admin::audit))
        .route("/audit/verify", get(admin::audit_verify))
        .route("/audit/export", get(admin::audit_export))
        .route("/review", get(admin::review))
        .route("/review/roles", post(admin::assign_roles))
        .route("/accounts", get(admin::accounts).post(admin::create_account))
        .route("/accounts/{id}/state", post(admin::account_state))
        .route("/reports", get(reports::index))
        .route("/reports/{file}", get(reports::report))
        .route("/intake", get(intake::queue))
        .route("/intake/{id}/file", post(intake::file))
        // 转入 and 审核入库 (issue 15 item 4).
        .route("/receiving", get(receiving::queue).post(receiving::receive))
        .route("/receiving/{id}", get(receiving::show))
        .route("/receiving/{id}/receipt", get(receiving::receipt))
        .route("/receiving/{id}/accept", post(receiving::accept))
        .route("/receiving/{id}/return", post(receiving::return_package))
        // Custody, transfers out, loans (docs/DOMAIN.md §4c).
        .route("/custody", get(custody::index))
        .route("/custody/tasks/{id}/done", post(custody::mark_filed))
        .route("/persons/{id}/custody", post(custody::update))
        .route("/transfers/{id}/receipt", post(custody::receipt))
        .route("/loans", post(custody::lend))
        .route("/loans/{id}/return", post(custody::return_loan))
        // Digitisation (docs/DOMAIN.md §2c): batches and their quality control, page images.
        .route("/batches", get(batches::list))
        .route("/batches/{id}", get(batches::show))
        .route("/batches/{id}/self-check", post(batches::self_check))
        .route("/batches/{id}/hand-over", post(batches::hand_over))
        .route("/batches/{id}/qc", get(batches::qc))
        .route("/batches/{id}/qc/defects", post(batches::record_defect))
        .route("/batches/{id}/qc/decision", post(batches::decide))
        .route("/materials/{id}/pages/{n}", get(batches::page_image))
        .route("/materials/{id}/pages.zip", get(batches::pages_zip))
        .route("/imports", get(imports::form).post(imports::start))
        .route("/imports/{id}", get(imports::show))
        .route("/rollback", get(hold::show).post(hold::acknowledge))
        .layer(axum::middleware::from_fn(frame))
}

/// A form or query value with something in it (trimmed).
fn nonempty(s: &Option<String>) -> Option<String> {
    s.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(str::to_string)
}

async fn stylesheet() -> Response {
    (
        [(header::CONTENT_TYPE, "text/css; charset=utf-8"), (header::CACHE_CONTROL, "public, max-age=3600")],
        include_str!("app.css"),
    )
        .into_response()
}

/// Around every web response: renders error pages in the caller's language, remembers a language switch, and
/// sets the browser security headers (a handler that serves content sets its own policy first).
async fn frame(req: Request, next: Next) -> Response {
    let switch = session::Lang::from_query(req.uri().query());
    let lang = switch.unwrap_or_else(|| session::Lang::from_headers(req.headers()));
    let resp = next.run(req).await;
    dress(resp, lang, switch)
}

/// The answer to a path outside the API that no route serves: the web UI's 404 page, with the headers of every
/// web response (the server's fallback sends `/api/…` paths the API's problem+json instead).
pub async fn not_found(req: Request) -> Response {
    let switch = session::Lang::from_query(req.uri().query());
    let lang = switch.unwrap_or_else(|| session::Lang::from_headers(req.headers()));
    dress(error::WebError::Http(crate::http::HttpError::NoRoute).into_response(), lang, switch)
}

/// The answer to any other page while the archive is held (its store is behind its audit witness): the page
/// saying so (503), with the acknowledgement form for the security administrator.
pub async fn held(st: AppState, req: Request) -> Response {
    let switch = session::Lang::from_query(req.uri().query());
    let lang = switch.unwrap_or_else(|| session::Lang::from_headers(req.headers()));
    dress(hold::any(st, req).await, lang, switch)
}

/// Renders a pending error page and sets the language cookie and the browser security headers.
fn dress(mut resp: Response, lang: session::Lang, switch: Option<session::Lang>) -> Response {
    if let Some(page) = resp.extensions_mut().remove::<error::ErrorPage>() {
        resp = page.render(lang, resp);
    }
    let h = resp.headers_mut();
    if let Some(l) = switch
        && let Ok(v) = HeaderValue::from_str(&session::lang_cookie(l))
    {
        h.append(header::SET_COOKIE, v);
    }
    if !h.contains_key(header::CONTENT_SECURITY_POLICY) {
        h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    }
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    // Pages hold personal data: no browser or proxy keeps them (the stylesheet says otherwise for itself).
    if !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    resp
}
