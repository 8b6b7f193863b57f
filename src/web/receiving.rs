//! The receiving pages (转入 and 审核入库, docs/DOMAIN.md §2c): the queue of received transfer packages with the
//! form that receives one, and a package's review with the forms that accept it (into a new or the existing
//! dossier) or return it with reasons. Every form carries the CSRF token.

use super::error::{WebError, WebForm, WebQuery, WebResult, parse_id};
use super::forms::read_file_post;
use super::layout::{findings, page, when};
use super::session::{Lang, WebUser, csrf_field};
use crate::http::{AppState, HttpError, blocking};
use crate::model::ReceivingId;
use crate::service::receiving::{AcceptInto, HeldState, PackageReview, ReceivingState};
use axum::extract::{Path, Request, State};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use serde::Deserialize;

#[derive(Deserialize)]
pub(super) struct QueueQuery {
    /// `queued`, `accepted`, `returned`; anything else: all.
    state: Option<String>,
}

fn held_label(l: Lang, h: HeldState) -> &'static str {
    match h {
        HeldState::New => l.t("新增", "new"),
        HeldState::Held => l.t("本馆已有", "held here"),
        HeldState::HeldEarlier => l.t("本馆有其旧版本", "an earlier version held here"),
    }
}

fn receive_form(user: &WebUser, error: Option<&str>) -> Markup {
    let l = user.lang;
    html! {
        section.card {
            h2 { (l.t("转入：接收转递包", "Receive a transfer package")) }
            @if let Some(e) = error {
                p.error role="alert" { (l.t("转递包被拒收，未进入待审核队列：", "The package was refused and not queued: ")) (e) }
            }
            p { (l.t("上传对方档案馆导出的转递包（.zip）。包经完整性、签名和发送方核验后进入待审核队列，审核入库前不归档任何材料。",
                "Upload the package (.zip) the sending archive exported. It is checked (completeness, signature, sender) and waits for its review; nothing is filed before it is accepted.")) }
            form.upload method="post" action="/receiving" enctype="multipart/form-data" {
                (csrf_field(user))
                p {
                    label {
                        input type="checkbox" name="accept_unknown_sender" value="1";
                        " " (l.t("接受未登记的发送方密钥（记入审计日志）", "Accept a sender key not among the trusted senders (audited)"))
                    }
                }
                p.grow {
                    label for="package" { (l.t("转递包（.zip）", "Package (.zip)")) }
                    input #package type="file" name="file" accept=".zip,application/zip" required;
                }
                p { button type="submit" { (l.t("接收", "Receive")) } }
            }
        }
    }
}

fn queue_page(user: &WebUser, items: &[PackageReview], total: usize, error: Option<&str>) -> Markup {
    let l = user.lang;
    html! {
        h1 { (l.t("转入审核", "Receiving")) }
        p { (l.t("收到的转递包在此等待审核入库：并入本馆同一身份证号的档案（只增加本馆没有的材料），或建立新档案，或退回。",
            "Received transfer packages wait here for their review: accepted into the dossier of the same ID number held here (adding only what it lacks), into a new dossier, or returned.")) }
        p {
            (l.t("共 ", "")) strong { (total) } (l.t(" 个", " in all"))
            " · " a href="/receiving?state=queued" { (l.t("待审核", "Queued")) }
            " · " a href="/receiving?state=accepted" { (l.t("已入库", "Accepted")) }
            " · " a href="/receiving?state=returned" { (l.t("已退回", "Returned")) }
            " · " a href="/receiving" { (l.t("全部", "All")) }
        }
        @if items.is_empty() {
            p.empty { (l.t("（无转递包）", "(no packages)")) }
        } @else {
            table {
                thead { tr {
                    th scope="col" { (l.t("接收时间", "Received")) }
                    th scope="col" { (l.t("姓名", "Name")) }
                    th scope="col" { (l.t("发送方", "Sender")) }
                    th scope="col" { (l.t("材料", "Materials")) }
                    th scope="col" { (l.t("本馆档案", "Dossier here")) }
                    th scope="col" { (l.t("状态", "State")) }
                } }
                tbody {
                    @for r in items {
                        @let p = &r.package;
                        @let new = r.materials.iter().filter(|m| m.held != HeldState::Held).count();
                        tr {
                            td { (when(p.received_at)) }
                            td {
                                a href={ "/receiving/" (p.id) } { (p.person_name()) }
                                @if r.loose { " " small { (l.t("（零散材料）", "(loose materials)")) } }
                            }
                            td {
                                code { (short_key(&p.sender_key)) } " "
                                @if p.sender_trusted { (l.t("已登记", "trusted")) } @else { strong { (l.t("未登记", "not trusted")) } }
                            }
                            td.num { (p.manifest.materials.len()) (l.t(" 件，新增 ", ", new: ")) (new) }
                            td {
                                @match &r.existing {
                                    Some(e) => a href={ "/persons/" (e.person_id) } { (e.name) },
                                    None => (l.t("无（将建新档）", "none (a new dossier)")),
                                }
                            }
                            td { (state_label(l, p.state)) }
                        }
                    }
                }
            }
        }
        (receive_form(user, error))
    }
}

fn state_label(l: Lang, s: ReceivingState) -> &'static str {
    match s {
        ReceivingState::Queued => l.t("待审核", "queued"),
        ReceivingState::Accepted => l.t("已入库", "accepted"),
        ReceivingState::Returned => l.t("已退回", "returned"),
    }
}

fn short_key(hex: &str) -> String {
    let labelled = crate::crypto::labelled_key(hex);
    match labelled.char_indices().nth(24) {
        Some((i, _)) => format!("{}…", &labelled[..i]),
        None => labelled,
    }
}

/// `GET /receiving`: the queue and the form that receives a package.
pub(super) async fn queue(
    State(st): State<AppState>,
    user: WebUser,
    WebQuery(q): WebQuery<QueueQuery>,
) -> WebResult<Response> {
    let state = q.state.as_deref().and_then(ReceivingState::parse);
    let archive = st.archive.clone();
    let p = user.principal.clone();
    let (items, total) = blocking(move || archive.receiving().queue(&p, state, 200, 0)).await?;
    let l = user.lang;
    Ok(page(l, Some(&user), l.t("转入审核", "Receiving"), queue_page(&user, &items, total, None)).into_response())
}

/// `POST /receiving`: receives a package (as the API does), then to its review; a refused package comes back on
/// the queue page with the reason and its status.
pub(super) async fn receive(State(st): State<AppState>, user: WebUser, req: Request) -> WebResult<Response> {
    let l = user.lang;
    // Only those who may review send a large body.
    st.archive.require(&user.principal, crate::model::policy::Capability::CreatePersons)?;
    st.archive.require(&user.principal, crate::model::policy::Capability::Upload)?;
    let post = read_file_post(&st, &user, req).await?;
    let accept = post.get("accept_unknown_sender").is_some();
    let (bytes, file_name) = post.file.unwrap_or_default();
    let archive = st.archive.clone();
    let p = user.principal.clone();
    let result = if bytes.is_empty() {
        Err(HttpError::Unprocessable(l.t("请选择转递包文件", "choose the package file").into()))
    } else {
        blocking(move || archive.receiving().receive(&p, bytes, file_name, accept)).await
    };
    match result {
        Ok(review) => Ok(Redirect::to(&format!("/receiving/{}", review.package.id)).into_response()),
        Err(e) => {
            let status = e.http_status_code();
            let message = match &e {
                _ if status.is_server_error() => return Err(WebError::Http(e)),
                HttpError::Service(s) => s.to_string(),
                HttpError::TooLarge(d) | HttpError::Unprocessable(d) | HttpError::BadRequest(d) => d.clone(),
                _ => return Err(WebError::Http(e)),
            };
            let archive = st.archive.clone();
            let p = user.principal.clone();
            let (items, total) = blocking(move || archive.receiving().queue(&p, None, 200, 0)).await?;
            let body = queue_page(&user, &items, total, Some(&message));
            Ok((status, page(l, Some(&user), l.t("转入审核", "Receiving"), body)).into_response())
        }
    }
}

fn review_page(user: &WebUser, r: &PackageReview) -> Markup {
    let l = user.lang;
    let p = &r.package;
    let person = &p.manifest.person;
    let field = |k: &str| person.get(k).map(|v| v.as_str().map(String::from).unwrap_or_else(|| v.to_string()));
    html! {
        h1 { (l.t("转递包审核：", "Package review: ")) (p.person_name()) }
        p { a href="/receiving" { (l.t("返回转入审核", "Back to receiving")) } }
        section.card {
            h2 { (l.t("包与发送方", "Package and sender")) }
            dl {
                dt { (l.t("状态", "State")) } dd { (state_label(l, p.state)) }
                dt { (l.t("接收", "Received")) } dd { (when(p.received_at)) " · " (p.received_by) }
                dt { (l.t("包 SHA-256", "Package SHA-256")) } dd { code { (p.package_sha256) } }
                dt { (l.t("发送方密钥（签名已验证）", "Sender key (signature verified)")) } dd { code { (crate::crypto::labelled_key(&p.sender_key)) } }
                dt { (l.t("发送方", "Sender")) } dd {
                    @if p.sender_trusted { (l.t("已登记的发送方", "a trusted sender")) }
                    @else { strong { (l.t("未登记的发送方（接收时明确接受）", "not a trusted sender (accepted explicitly when received)")) } }
                    " · " (p.manifest.sender.user) " · " (p.manifest.created_at)
                }
            }
        }
        section.card {
            h2 { (l.t("人员信息", "Person record")) }
            @if r.loose { p { strong { (l.t("零散材料：包内只有姓名和身份证号，只能并入本馆已有的档案。", "Loose materials: the package names the cadre only; it can join only a dossier held here.")) } } }
            dl {
                @for (k, zh, en) in [("name", "姓名", "Name"), ("id_number", "身份证号", "ID number"), ("gender", "性别", "Gender"),
                    ("birth_date", "出生日期", "Born"), ("department", "部门", "Department"), ("position", "职务", "Position")] {
                    @if let Some(v) = field(k) { dt { (l.t(zh, en)) } dd { (v) } }
                }
            }
            @match &r.existing {
                Some(e) => p {
                    (l.t("本馆已有同一身份证号的档案：", "A dossier of the same ID number is held here: "))
                    a href={ "/persons/" (e.person_id) } { (e.name) } (l.t("，材料 ", ", materials: ")) (e.materials)
                },
                None => p { (l.t("本馆没有同一身份证号的档案。", "No dossier of this ID number is held here.")) },
            }
            @if !r.differences.is_empty() {
                table {
                    caption { (l.t("与本馆档案不一致之处（不会自动覆盖）", "Differences from the record held here (never applied)")) }
                    thead { tr { th scope="col" { (l.t("字段", "Field")) } th scope="col" { (l.t("本馆", "Here")) } th scope="col" { (l.t("转递包", "Package")) } } }
                    tbody { @for d in &r.differences { tr { td { code { (d.field) } } td { (d.here) } td { (d.package) } } } }
                }
            }
        }
        section.card {
            h2 { (l.t("材料与目录核对", "Materials against the catalogue")) }
            table {
                thead { tr {
                    th scope="col" { (l.t("类号", "Class")) }
                    th scope="col" { (l.t("材料名称", "Title")) }
                    th scope="col" { (l.t("形成时间", "Formed")) }
                    th scope="col" { (l.t("页数", "Pages")) }
                    th scope="col" { (l.t("版本", "Versions")) }
                    th scope="col" { (l.t("本馆", "Here")) }
                } }
                tbody {
                    @for m in &r.materials {
                        tr {
                            td.num { (m.category) }
                            td { (m.title) }
                            td { (m.formed_on.map(|d| d.to_string()).unwrap_or_default()) }
                            td.num { (m.pages.map(|n| n.to_string()).unwrap_or_default()) }
                            td.num { (m.versions) }
                            td {
                                (held_label(l, m.held))
                                @if let Some(by) = m.held_by { " " a href={ "/materials/" (by) } { (l.t("（本馆材料）", "(here)")) } }
                            }
                        }
                    }
                }
            }
            @if p.catalogue_findings.is_empty() {
                p { (l.t("目录与材料一一对应。", "The catalogue and the materials agree.")) }
            } @else {
                (findings(l, &p.catalogue_findings))
            }
            p {
                (l.t("入库后档案的完整率：", "Completeness after acceptance: ")) strong { (r.completeness.percent) "%" }
                " (" (r.completeness.satisfied) "/" (r.completeness.checks) ")"
            }
            @if !r.completeness.findings.is_empty() {
                ul { @for f in &r.completeness.findings { li { (f.missing) @if let Some(e) = &f.evidence { " · " (e) } } } }
            }
        }
        @if p.state == ReceivingState::Queued {
            section.card {
                h2 { (l.t("审核入库", "Accept")) }
                form method="post" action={ "/receiving/" (p.id) "/accept" } {
                    (csrf_field(user))
                    fieldset {
                        legend { (l.t("并入", "Into")) }
                        @let existing = r.existing.is_some();
                        p { label { input type="radio" name="into" value="existing" checked[existing] disabled[!existing]; " " (l.t("本馆同一身份证号的档案（只增加本馆没有的材料）", "the dossier of the same ID number (adding only what it lacks)")) } }
                        p { label { input type="radio" name="into" value="new" checked[!existing] disabled[existing || r.loose]; " " (l.t("新建档案", "a new dossier")) } }
                    }
                    p { label { input type="checkbox" name="intake" value="1"; " " (l.t("先收材登记到待归档（不直接归档）", "receive into the queue to file (收材) instead of filing")) } }
                    p { button type="submit" { (l.t("审核通过，入库", "Accept")) } }
                }
            }
            section.card {
                h2 { (l.t("退回", "Return")) }
                form method="post" action={ "/receiving/" (p.id) "/return" } {
                    (csrf_field(user))
                    p.grow {
                        label for="reasons" { (l.t("退回理由", "Reasons")) }
                        textarea #reasons name="reasons" rows="3" maxlength="2000" required {}
                    }
                    p { button type="submit" { (l.t("退回", "Return")) } }
                }
            }
        }
        @if let Some(reasons) = &p.reasons {
            section.card { h2 { (l.t("已退回", "Returned")) } p { (reasons) } p { (p.decided_by.as_deref().unwrap_or("")) " · " (p.decided_at.map(when).unwrap_or_default()) } }
        }
        @if let Some(o) = &p.outcome {
            section.card {
                h2 { (l.t("已入库", "Accepted")) }
                p {
                    a href={ "/persons/" (o.person_id) } { (l.t("档案", "Dossier")) } " · "
                    (p.decided_by.as_deref().unwrap_or("")) " · " (p.decided_at.map(when).unwrap_or_default())
                }
                h3 { (l.t("新增材料", "Merged")) " (" (o.merged.len()) ")" }
                ul { @for m in &o.merged { li { a href={ "/materials/" (m.material_id) } { (m.title) } " · " (m.category) } } }
                h3 { (l.t("本馆已有，未重复入库", "Already held, skipped")) " (" (o.skipped.len()) ")" }
                ul { @for m in &o.skipped { li { (m.title) " · " a href={ "/materials/" (m.held_by) } { (l.t("本馆材料", "held here")) } } } }
                p { a href={ "/receiving/" (p.id) "/receipt" } { (l.t("下载回执（交发送方）", "Download the receipt (for the sender)")) } }
            }
        }
    }
}

/// `GET /receiving/{id}`: a package's review, with the forms that decide it.
pub(super) async fn show(State(st): State<AppState>, user: WebUser, Path(id): Path<String>) -> WebResult<Response> {
    let id: ReceivingId = parse_id(&id)?;
    let archive = st.archive.clone();
    let p = user.principal.clone();
    let r = blocking(move || archive.receiving().review(&p, id)).await?;
    let l = user.lang;
    Ok(page(l, Some(&user), l.t("转递包审核", "Package review"), review_page(&user, &r)).into_response())
}

/// `GET /receiving/{id}/receipt`: the signed receipt (回执) of an accepted package, as the sender loads it.
pub(super) async fn receipt(State(st): State<AppState>, user: WebUser, Path(id): Path<String>) -> WebResult<Response> {
    let id: ReceivingId = parse_id(&id)?;
    let archive = st.archive.clone();
    let p = user.principal.clone();
    let r = blocking(move || archive.receiving().review(&p, id)).await?;
    let Some(o) = r.package.outcome else {
        return Err(WebError::Http(HttpError::Service(crate::service::Error::NotFound(format!(
            "received package {id} has no receipt: it is not accepted"
        )))));
    };
    let body = serde_json::to_vec_pretty(&o.receipt)
        .map_err(|e| WebError::Http(HttpError::Service(crate::service::Error::Internal(e.to_string()))))?;
    Ok(crate::http::attachment(body, "application/json", &format!("receipt-{id}.json")))
}

#[derive(Deserialize)]
pub(super) struct AcceptForm {
    csrf: Option<String>,
    into: Option<String>,
    intake: Option<String>,
}

/// `POST /receiving/{id}/accept`: 入库, then back to the review.
pub(super) async fn accept(
    State(st): State<AppState>,
    user: WebUser,
    Path(id): Path<String>,
    WebForm(f): WebForm<AcceptForm>,
) -> WebResult<Response> {
    user.check_csrf(&st, f.csrf.as_deref())?;
    let id: ReceivingId = parse_id(&id)?;
    let into = match f.into.as_deref() {
        Some("new") => AcceptInto::New,
        Some("existing") => AcceptInto::Existing,
        _ => return Err(WebError::Http(HttpError::Unprocessable("choose the dossier: new or existing".into()))),
    };
    let intake = f.intake.is_some();
    let archive = st.archive.clone();
    let p = user.principal.clone();
    blocking(move || archive.receiving().accept(&p, id, into, intake)).await?;
    Ok(Redirect::to(&format!("/receiving/{id}")).into_response())
}

#[derive(Deserialize)]
pub(super) struct ReturnForm {
    csrf: Option<String>,
    reasons: Option<String>,
}

/// `POST /receiving/{id}/return`: 退回 with the reasons, then back to the review.
pub(super) async fn return_package(
    State(st): State<AppState>,
    user: WebUser,
    Path(id): Path<String>,
    WebForm(f): WebForm<ReturnForm>,
) -> WebResult<Response> {
    user.check_csrf(&st, f.csrf.as_deref())?;
    let id: ReceivingId = parse_id(&id)?;
    let reasons = f.reasons.unwrap_or_default();
    let archive = st.archive.clone();
    let p = user.principal.clone();
    blocking(move || archive.receiving().return_package(&p, id, &reasons)).await?;
    Ok(Redirect::to(&format!("/receiving/{id}")).into_response())
}
