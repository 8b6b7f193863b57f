//! The printable 目录 of a dossier (docs/DOMAIN.md §2): the columns of the paper form — 类号, 序号, 材料名称,
//! 形成时间 as 年 · 月 · 日, 页数, 备注 — by the stored 序号, current or an earlier numbering, with an A4 print
//! stylesheet (`app.css`, `@media print`); and 整理, which renumbers the catalogue by formed date as a new
//! numbering. No PDF: the browser's "print to PDF" of this page is the download (no well-kept pure-Rust crate
//! lays out Chinese text cheaply).

use super::error::{WebForm, WebQuery, WebResult, parse_id};
use super::forms::CsrfForm;
use super::layout::{page, when};
use super::session::{WebUser, csrf_field};
use crate::http::{AppState, blocking};
use crate::model::PersonId;
use crate::service::numbering::NumberingKind;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use maud::html;
use serde::Deserialize;

#[derive(Deserialize)]
pub(super) struct PrintQuery {
    /// A numbering's number (default: the current one).
    numbering: Option<u32>,
}

/// `GET /persons/{id}/catalogue`: the 目录 as the paper form has it, ready to print on A4.
pub(super) async fn print(
    State(st): State<AppState>,
    user: WebUser,
    Path(id): Path<String>,
    WebQuery(q): WebQuery<PrintQuery>,
) -> WebResult<Response> {
    let id: PersonId = parse_id(&id)?;
    let l = user.lang;
    let archive = st.archive.clone();
    let p = user.principal.clone();
    let (person, cat) = blocking(move || {
        let person = archive.persons().get(&p, id)?;
        let cat = archive.persons().numbered_catalogue(&p, id, q.numbering)?;
        Ok((person, cat))
    })
    .await?;
    let scheme = st.archive.scheme();
    let x = &person.person;
    let current = cat.numberings.last().map(|n| n.number);
    let shown = cat.numbering.as_ref().map(|n| n.number);
    let title = format!("{} · {}", x.name, l.t("干部人事档案目录", "dossier catalogue"));
    let body = html! {
        nav.noprint aria-label=(l.t("目录版本", "Numberings")) {
            p {
                a href={ "/persons/" (x.id) "#catalogue" } { (l.t("← 返回档案", "← Back to the dossier")) }
                " · "
                (l.t("用浏览器“打印”（A4）即可打印或另存为 PDF。", "Use the browser's Print (A4) to print or save as PDF."))
            }
            @if !cat.numberings.is_empty() {
                p {
                    (l.t("编号版本：", "Numberings: "))
                    @for n in &cat.numberings {
                        @let label = match n.kind {
                            NumberingKind::Initial => l.t("初始", "initial"),
                            NumberingKind::Arranged => l.t("整理", "arranged"),
                        };
                        @if Some(n.number) == shown {
                            strong { "#" (n.number) " " (label) " " (when(n.at)) " " (n.by) }
                        } @else {
                            a href={ "/persons/" (x.id) "/catalogue?numbering=" (n.number) } { "#" (n.number) " " (label) " " (when(n.at)) }
                        }
                        @if Some(n.number) == current { " " (l.t("（当前）", "(current)")) }
                        " · "
                    }
                }
            }
            @if user.can.upload {
                form.inline method="post" action={ "/persons/" (x.id) "/catalogue/arrange" } {
                    (csrf_field(&user))
                    button type="submit" { (l.t("整理：按形成时间重新编号", "Arrange: renumber by formed date")) }
                }
            }
        }
        article.print-catalogue {
            h1 { (l.t("干部人事档案目录", "Dossier catalogue")) }
            p.print-head {
                (l.t("姓名：", "Name: ")) strong { (x.name) }
                @if let Some(d) = &x.department_name { "　" (l.t("单位：", "Unit: ")) (d) }
                @if let Some(n) = shown { "　" (l.t("编号版本：", "Numbering: ")) "#" (n) }
            }
            table.paper-catalogue {
                thead {
                    tr {
                        th scope="col" rowspan="2" { (l.t("类号", "Class")) }
                        th scope="col" rowspan="2" { (l.t("序号", "No.")) }
                        th scope="col" rowspan="2" { (l.t("材料名称", "Title")) }
                        th scope="colgroup" colspan="3" { (l.t("材料形成时间", "Formed")) }
                        th scope="col" rowspan="2" { (l.t("页数", "Pages")) }
                        th scope="col" rowspan="2" { (l.t("备注", "Note")) }
                    }
                    tr {
                        th scope="col" { (l.t("年", "Year")) }
                        th scope="col" { (l.t("月", "Month")) }
                        th scope="col" { (l.t("日", "Day")) }
                    }
                }
                tbody {
                    @for e in &cat.entries {
                        @let m = &e.material;
                        @let d = m.meta.formed_on;
                        tr {
                            td.num title=(scheme.resolve(&m.meta.category).map(|c| c.name.as_str()).unwrap_or("")) { (m.meta.category) }
                            td.num { (e.seq) }
                            td { (m.meta.title) }
                            td.num { (d.map(|d| d.year().to_string()).unwrap_or_default()) }
                            td.num { (d.and_then(|d| d.month()).map(|m| m.to_string()).unwrap_or_default()) }
                            td.num { (d.and_then(|d| d.day()).map(|m| m.to_string()).unwrap_or_default()) }
                            td.num { (m.meta.pages.map(|p| p.to_string()).unwrap_or_default()) }
                            td { (m.meta.note.as_deref().unwrap_or("")) }
                        }
                    }
                }
            }
            @if cat.entries.is_empty() { p.empty { (l.t("（无材料）", "(none)")) } }
        }
    };
    Ok(page(l, Some(&user), &title, body).into_response())
}

/// `POST /persons/{id}/catalogue/arrange`: 整理, then back to the 目录.
pub(super) async fn arrange(
    State(st): State<AppState>,
    user: WebUser,
    Path(id): Path<String>,
    WebForm(f): WebForm<CsrfForm>,
) -> WebResult<Response> {
    user.check_csrf(&st, f.csrf.as_deref())?;
    let id: PersonId = parse_id(&id)?;
    let archive = st.archive.clone();
    let p = user.principal.clone();
    blocking(move || archive.persons().arrange(&p, id, None)).await?;
    Ok(Redirect::to(&format!("/persons/{id}/catalogue")).into_response())
}
