//! The page a held archive shows (its store is behind its audit witness: a rollback, an older backup
//! restored): what the witness saw and where the store's trail ends; for the security administrator, the form
//! that acknowledges it, after which the archive serves again.

use super::error::{WebForm, WebResult};
use super::layout::page;
use super::session::{Lang, WebUser, csrf_field};
use crate::http::{AppState, blocking};
use crate::model::Role;
use crate::service::witness::{Conflict, ConflictKind};
use axum::extract::{FromRequestParts, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use serde::Deserialize;

fn explain(l: Lang, c: &Conflict) -> Markup {
    html! {
        @match (c.kind, &c.witnessed) {
            (ConflictKind::Unverified, _) | (_, None) => {
                p { (l.t("审计见证文件第 ", "Line ")) (c.line)
                    (l.t(" 行的签名无法验证：见证文件被改动过，或不属于本系统。",
                        " of the audit witness does not verify (signature): the witness was altered or belongs to another installation.")) }
            }
            (kind, Some(w)) => {
                p {
                    @if kind == ConflictKind::Behind {
                        (l.t("存储中的审计日志止于第 ", "The store's audit trail ends at entry "))
                        (c.trail_end)
                        (l.t(" 条，而系统外的见证记录显示日志已到达第 ", ", but the witness kept outside the store saw it reach entry "))
                        (w.seq)
                        (l.t(" 条。数据被回退了（例如恢复了较早的备份，或日志被截断）。",
                            ". The data was rolled back (an older backup restored, or the trail cut off)."))
                    } @else {
                        (l.t("存储中审计日志的第 ", "The store's audit trail holds another entry "))
                        (w.seq)
                        (l.t(" 条与见证记录不一致：日志自该处起被替换。", " than the witness saw: the trail was replaced from there on."))
                    }
                }
                dl.fields {
                    dt { (l.t("见证的序号", "Witnessed entry")) } dd { (w.seq) }
                    dt { (l.t("见证的哈希", "Witnessed hash")) } dd { code { (w.hash) } }
                    dt { (l.t("见证时间", "Witnessed at")) } dd { (crate::model::ts_rfc3339(w.at.div_euclid(1000))) }
                    dt { (l.t("见证文件行号", "Witness line")) } dd { (w.line) }
                    dt { (l.t("存储中日志的最后一条", "Last entry in the store")) } dd { (c.trail_end) }
                }
            }
        }
    }
}

/// The held page (503), with the acknowledgement form for the security administrator.
fn held_page(l: Lang, user: Option<&WebUser>, c: &Conflict, error: Option<&str>) -> Response {
    let secadmin = user.is_some_and(|u| u.principal.subject.roles.contains(&Role::Secadmin));
    let body = html! {
        section.error-page {
            h1 { (l.t("审计日志落后于见证记录，系统暂停服务", "The audit trail is behind its witness: the archive is held")) }
            (explain(l, c))
            p { (l.t("在安全保密管理员确认之前，系统只提供登录和确认。确认将作为恢复后审计日志的第一条记录，并写入见证文件。",
                "Until the security administrator acknowledges it, nothing but sign-in and the acknowledgement is served. The acknowledgement is the first entry of the resumed trail, and the witness records it.")) }
            @if let Some(e) = error { p.error role="alert" { (e) } }
            @if let (true, Some(u)) = (secadmin, user) {
                form method="post" action="/rollback" {
                    (csrf_field(u))
                    p {
                        label for="reason" { (l.t("确认理由（例如：经核实，已从备份恢复）", "Reason (e.g. restored from the backup after the disk failed, checked)")) }
                        textarea #reason name="reason" required maxlength="2000" rows="4" {}
                    }
                    p { button type="submit" { (l.t("确认并恢复服务", "Acknowledge and resume")) } }
                }
            } @else if user.is_some() {
                p { (l.t("请联系安全保密管理员。", "Ask the security administrator.")) }
            } @else {
                p { a href="/login?next=%2Frollback" { (l.t("安全保密管理员登录", "Sign in (security administrator)")) } }
            }
        }
    };
    let title = l.t("系统暂停服务", "Archive held");
    (StatusCode::SERVICE_UNAVAILABLE, page(l, user, title, body)).into_response()
}

/// Any page of a held archive: the held page, for whoever asks.
pub(super) async fn any(st: AppState, req: Request) -> Response {
    let (mut parts, _) = req.into_parts();
    let lang = Lang::from_request_parts(&mut parts, &st).await.unwrap_or_default();
    let Some(c) = st.archive.audit_trail().hold() else { return Redirect::to("/").into_response() };
    let user = WebUser::from_request_parts(&mut parts, &st).await.ok();
    held_page(lang, user.as_ref(), &c, None)
}

/// `GET /rollback`: the held page, or home when the archive is not held.
pub(super) async fn show(State(st): State<AppState>, req: Request) -> Response {
    any(st, req).await
}

#[derive(Deserialize)]
pub(super) struct AckForm {
    #[serde(default)]
    reason: String,
    csrf: Option<String>,
}

/// `POST /rollback`: the security administrator's acknowledgement; then home.
pub(super) async fn acknowledge(
    State(st): State<AppState>,
    user: WebUser,
    WebForm(f): WebForm<AckForm>,
) -> WebResult<Response> {
    user.check_csrf(&st, f.csrf.as_deref())?;
    let archive = st.archive.clone();
    let p = user.principal.clone();
    match blocking(move || archive.audit_trail().acknowledge_rollback(&p, &f.reason)).await {
        Ok(_) => Ok(Redirect::to("/").into_response()),
        Err(crate::http::HttpError::Service(e @ crate::service::Error::Invalid { .. })) => {
            match st.archive.audit_trail().hold() {
                Some(c) => Ok(held_page(user.lang, Some(&user), &c, Some(&e.to_string()))),
                None => Err(e.into()),
            }
        }
        Err(e) => Err(e.into()),
    }
}
