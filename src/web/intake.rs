//! The 待归档 page (docs/DOMAIN.md §2b): received materials not yet filed, each with its 接收时间, due date (a
//! month later) and an overdue flag, and a 归档 button (a CSRF-protected form) that files it into the catalogue.

use super::error::{WebForm, WebQuery, WebResult, parse_id};
use super::forms::CsrfForm;
use super::layout::page;
use super::session::{WebUser, csrf_field};
use crate::http::{AppState, blocking};
use crate::model::{MaterialId, PartialDate, PersonId};
use crate::service::intake::IntakeQuery;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use maud::html;
use serde::Deserialize;

#[derive(Deserialize)]
pub(super) struct QueueQuery {
    /// Only this dossier.
    person_id: Option<String>,
    /// `1`: only overdue materials.
    overdue: Option<String>,
}

/// `GET /intake`: the 待归档 queue the caller may see.
pub(super) async fn queue(
    State(st): State<AppState>,
    user: WebUser,
    WebQuery(q): WebQuery<QueueQuery>,
) -> WebResult<Response> {
    let l = user.lang;
    let person_id: Option<PersonId> = match q.person_id.as_deref().filter(|s| !s.is_empty()) {
        Some(s) => Some(parse_id(s)?),
        None => None,
    };
    let only_overdue = q.overdue.as_deref().is_some_and(|v| matches!(v, "1" | "true" | "on"));
    let query = IntakeQuery { person_id, overdue: only_overdue.then_some(true) };
    let archive = st.archive.clone();
    let p = user.principal.clone();
    let (items, total) = blocking(move || archive.intake().queue(&p, &query, 500, 0)).await?;
    let scheme = st.archive.scheme();
    let overdue = items.iter().filter(|i| i.overdue).count();
    let title = l.t("待归档材料", "Materials to file");
    let body = html! {
        h1 { (title) }
        p {
            (l.t("已收材登记、尚未归档的材料。收到后须在一个月内归档；逾期的标为“逾期”。",
                "Materials received and not yet filed. They are to be filed within a month of their receipt; late ones are marked overdue."))
        }
        p {
            (l.t("共 ", "")) strong { (total) } (l.t(" 件，逾期 ", " in all, overdue: ")) strong.overdue { (overdue) }
            " · "
            @if only_overdue {
                a href="/intake" { (l.t("显示全部", "Show all")) }
            } @else {
                a href="/intake?overdue=1" { (l.t("只看逾期", "Overdue only")) }
            }
        }
        @if items.is_empty() {
            p.empty { (l.t("（无待归档材料）", "(nothing to file)")) }
        } @else {
            table {
                thead {
                    tr {
                        th scope="col" { (l.t("姓名", "Name")) }
                        th scope="col" { (l.t("类号", "Class")) }
                        th scope="col" { (l.t("材料名称", "Title")) }
                        th scope="col" { (l.t("来处", "From")) }
                        th scope="col" { (l.t("接收时间", "Received")) }
                        th scope="col" { (l.t("接收人", "Received by")) }
                        th scope="col" { (l.t("份数", "Copies")) }
                        th scope="col" { (l.t("原件/复印件", "Original/copy")) }
                        th scope="col" { (l.t("归档期限", "Due")) }
                        th scope="col" { (l.t("状态", "State")) }
                        th scope="col" { (l.t("操作", "Action")) }
                    }
                }
                tbody {
                    @for i in &items {
                        @let m = &i.material;
                        tr.overdue[i.overdue] {
                            td { a href={ "/persons/" (m.person_id) } { (i.person_name) } }
                            td.num title=(scheme.resolve(&m.meta.category).map(|c| c.name.as_str()).unwrap_or("")) { (m.meta.category) }
                            td { a href={ "/materials/" (m.id) } { (m.meta.title) } }
                            td { (m.meta.source_unit.as_deref().unwrap_or("")) }
                            td { (i.received_on) }
                            td { (m.meta.received_by.as_deref().unwrap_or("")) }
                            td.num { (m.meta.copies.map(|c| c.to_string()).unwrap_or_default()) }
                            td { (original_label(l, m.meta.original)) }
                            td { (PartialDate::from_date(i.due)) }
                            td {
                                @if i.overdue { strong.overdue { (l.t("逾期", "overdue")) } }
                                @else { (l.t("未到期", "not yet due")) }
                            }
                            td {
                                form.inline method="post" action={ "/intake/" (m.id) "/file" } {
                                    (csrf_field(&user))
                                    button type="submit" { (l.t("归档", "File")) }
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(page(l, Some(&user), title, body).into_response())
}

/// 原件 or 复印件, as the receipt says.
pub(super) fn original_label(l: super::session::Lang, original: Option<bool>) -> &'static str {
    match original {
        Some(true) => l.t("原件", "original"),
        Some(false) => l.t("复印件", "copy"),
        None => "",
    }
}

/// `POST /intake/{id}/file`: 归档, then back to the queue.
pub(super) async fn file(
    State(st): State<AppState>,
    user: WebUser,
    Path(id): Path<String>,
    WebForm(f): WebForm<CsrfForm>,
) -> WebResult<Response> {
    user.check_csrf(&st, f.csrf.as_deref())?;
    let id: MaterialId = parse_id(&id)?;
    let archive = st.archive.clone();
    let p = user.principal.clone();
    blocking(move || archive.intake().file(&p, id)).await?;
    Ok(Redirect::to("/intake").into_response())
}
