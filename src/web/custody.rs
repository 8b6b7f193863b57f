//! Custody pages (docs/DOMAIN.md §4c): the custody section of the dossier page (档案编号, 正本/副本, 库位, state,
//! history; the archive office's form), and `/custody`: the custody inbox (paper-filing tasks with their 已归档
//! button, 催问, overdue loans), the transfer register (转递登记簿) with the receipt (回执) upload, and the lending
//! list (借阅登记) with the lend form and 归还.

use super::error::{WebError, WebForm, WebResult, parse_id};
use super::forms::{CsrfForm, read_file_post};
use super::layout::page;
use super::session::{Lang, WebUser, csrf_field};
use crate::http::{AppState, blocking};
use crate::model::custody::{CopyKind, CustodyState, TransferState};
use crate::model::{LoanId, PartialDate, PersonId, TaskId, TransferId, today};
use crate::service::custody::{CustodyPatch, CustodyView, NewLoan};
use axum::extract::{Path, Request, State};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use serde::Deserialize;

fn state_name(l: Lang, s: CustodyState) -> &'static str {
    let (zh, en) = s.label();
    l.t(zh, en)
}

/// The custody section of a dossier page; the change form for the archive office.
pub(super) fn section(l: Lang, user: &WebUser, v: &CustodyView, manage: bool) -> Markup {
    let r = &v.record;
    html! {
        section #custody {
            h2 { (l.t("档案保管", "Custody")) }
            dl.fields {
                dt { (l.t("档案编号", "Archive number")) } dd { (r.archive_number.as_deref().unwrap_or(l.t("（未编号）", "(none)"))) }
                dt { (l.t("正本/副本", "Original/duplicate")) } dd { (l.t(r.copy.label().0, r.copy.label().1)) }
                dt { (l.t("库位", "Shelf")) } dd { (r.location.as_deref().unwrap_or("—")) }
                dt { (l.t("保管状态", "State")) } dd { strong.custody-state { (state_name(l, r.state)) } }
                @if let Some(m) = &r.pending {
                    dt { (l.t("待办", "Due")) } dd { (m.due_on) " " (state_name(l, m.to)) " (" (m.because) ")" }
                }
                @if let Some(t) = &v.transfer {
                    dt { (l.t("转出", "Transfer out")) }
                    dd {
                        (t.receiving_unit) " · " (l.t("通知单 ", "notice ")) (t.notice_number) " · "
                        (l.t("期限 ", "deadline ")) (t.deadline) " · "
                        @if t.state == TransferState::Closed { (l.t("回执已回", "receipt on record")) }
                        @else { (l.t("待回执", "awaiting the receipt")) }
                    }
                }
                @if let Some(loan) = &v.loan {
                    dt { (l.t("借出", "Lent")) }
                    dd { (loan.borrower) " (" (loan.unit) ") · " (l.t("应还 ", "due ")) (loan.due_on) }
                }
                @if let Some(task) = &v.filing_task {
                    dt { (l.t("归档任务", "Paper to file")) } dd { (task.changes.join("；")) }
                }
            }
            @if !r.history.is_empty() {
                table.custody-history {
                    caption { (l.t("保管记录", "Custody history")) }
                    thead { tr {
                        th scope="col" { (l.t("时间", "When")) } th scope="col" { (l.t("经办人", "By")) }
                        th scope="col" { (l.t("状态", "State")) } th scope="col" { (l.t("事项", "What")) }
                    } }
                    tbody { @for e in r.history.iter().rev() { tr {
                        td { (e.at) } td { (e.by) }
                        td { (state_name(l, e.from)) " → " (state_name(l, e.to)) } td { (e.what) }
                    } } }
                }
            }
            @if manage {
                form.custody method="post" action={ "/persons/" (r.person_id) "/custody" } {
                    (csrf_field(user))
                    input type="hidden" name="version" value=(r.version);
                    label for="archive_number" { (l.t("档案编号", "Archive number")) }
                    input #archive_number name="archive_number" value=(r.archive_number.as_deref().unwrap_or(""));
                    label for="location" { (l.t("库位", "Shelf")) }
                    input #location name="location" value=(r.location.as_deref().unwrap_or(""));
                    label for="copy" { (l.t("正本/副本", "Original/duplicate")) }
                    select #copy name="copy" {
                        option value="original" selected[r.copy == CopyKind::Original] { (l.t("正本", "Original")) }
                        option value="duplicate" selected[r.copy == CopyKind::Duplicate] { (l.t("副本", "Duplicate")) }
                    }
                    label for="state" { (l.t("保管状态", "State")) }
                    select #state name="state" {
                        @for s in CustodyState::ALL.into_iter().filter(|s| *s == r.state || CustodyState::settable_by_hand(r.state, *s)) {
                            option value=(s.as_str()) selected[s == r.state] { (state_name(l, s)) }
                        }
                    }
                    label for="note" { (l.t("说明", "Note")) }
                    input #note name="note";
                    button type="submit" { (l.t("保存", "Save")) }
                }
            }
        }
    }
}

#[derive(Deserialize)]
pub(super) struct CustodyForm {
    csrf: Option<String>,
    version: Option<u32>,
    archive_number: Option<String>,
    location: Option<String>,
    copy: Option<CopyKind>,
    state: Option<String>,
    note: Option<String>,
}

/// `POST /persons/{id}/custody`: the archive office's change, then back to the dossier.
pub(super) async fn update(
    State(st): State<AppState>,
    user: WebUser,
    Path(id): Path<String>,
    WebForm(f): WebForm<CustodyForm>,
) -> WebResult<Response> {
    user.check_csrf(&st, f.csrf.as_deref())?;
    let id: PersonId = parse_id(&id)?;
    let state = match super::nonempty(&f.state) {
        Some(s) => Some(CustodyState::parse(&s).ok_or_else(|| WebError::bad_request(format!("unknown state {s:?}")))?),
        None => None,
    };
    let patch = CustodyPatch {
        archive_number: super::nonempty(&f.archive_number),
        copy: f.copy,
        location: f.location.map(|s| s.trim().to_string()),
        state,
        note: super::nonempty(&f.note),
    };
    let archive = st.archive.clone();
    let p = user.principal.clone();
    blocking(move || archive.custody().update(&p, id, f.version, patch)).await?;
    Ok(Redirect::to(&format!("/persons/{id}#custody")).into_response())
}

/// `GET /custody`: the custody inbox, the transfer register, the lending list.
pub(super) async fn index(State(st): State<AppState>, user: WebUser) -> WebResult<Response> {
    let l = user.lang;
    let archive = st.archive.clone();
    let p = user.principal.clone();
    let on = today();
    let (inbox, transfers, loans) = blocking(move || {
        let inbox = archive.custody().inbox(&p, on)?;
        let transfers = archive.transfers().list(&p, on)?;
        // The lending list is the archive office's; HR sees the rest.
        let loans = archive.custody().loans(&p, false).ok();
        Ok((inbox, transfers, loans))
    })
    .await?;
    let title = l.t("档案保管", "Custody");
    let body = html! {
        h1 { (title) }
        section #inbox {
            h2 { (l.t("保管待办", "Custody inbox")) " " span.count { "(" (inbox.len()) ")" } }
            @if inbox.is_empty() { p.empty { (l.t("（无待办）", "(nothing to do)")) } }
            @else { table {
                thead { tr {
                    th scope="col" { (l.t("事项", "Kind")) } th scope="col" { (l.t("姓名", "Name")) }
                    th scope="col" { (l.t("内容", "Detail")) } th scope="col" { (l.t("自", "Since")) }
                    th scope="col" { (l.t("操作", "Action")) }
                } }
                tbody { @for i in &inbox { tr.overdue[i.kind != "filing"] {
                    td { (item_kind(l, &i.kind)) }
                    td { a href={ "/persons/" (i.person_id) "#custody" } { (i.person_name) } }
                    td { (i.detail) } td { (i.since) }
                    td {
                        @if let (true, Some(task)) = (i.kind == "filing", &i.object_id) {
                            form.inline method="post" action={ "/custody/tasks/" (task) "/done" } {
                                (csrf_field(&user))
                                button type="submit" { (l.t("已归档", "Filed")) }
                            }
                        }
                    }
                } } }
            } }
        }
        section #transfers {
            h2 { (l.t("转递登记簿", "Transfer register")) " " span.count { "(" (transfers.len()) ")" } }
            p { a href="/reports/transfers" { (l.t("报表（可导出 CSV、XLSX）", "As a report (CSV, XLSX)")) } }
            @if transfers.is_empty() { p.empty { (l.t("（无转出档案）", "(no transfers out)")) } }
            @else { table {
                thead { tr {
                    th scope="col" { (l.t("姓名", "Name")) } th scope="col" { (l.t("接收单位", "Receiving unit")) }
                    th scope="col" { (l.t("通知单编号", "Notice")) } th scope="col" { (l.t("批准", "Approved")) }
                    th scope="col" { (l.t("期限", "Deadline")) } th scope="col" { (l.t("寄出", "Sent")) }
                    th scope="col" { (l.t("状态", "State")) } th scope="col" { (l.t("回执", "Receipt")) }
                } }
                tbody { @for row in &transfers {
                    @let t = &row.transfer;
                    tr.overdue[row.chase || row.overdue] {
                        td { a href={ "/persons/" (t.person_id) "#custody" } { (t.person_name) } }
                        td { (t.receiving_unit) } td { (t.notice_number) } td { (t.approved_on) } td { (t.deadline) }
                        td { (t.sent_on.map(|d| d.to_string()).unwrap_or_else(|| "—".into())) }
                        td {
                            @if t.state == TransferState::Closed { (l.t("已转出", "transferred")) }
                            @else {
                                (l.t("转出中", "in transfer"))
                                @if row.chase { " " strong.overdue { (l.t("催问", "chase")) } }
                                @if row.overdue { " " strong.overdue { (l.t("逾期", "overdue")) } }
                            }
                        }
                        td {
                            @if let Some(r) = &t.receipt { (r.received_at) }
                            @else {
                                form.upload method="post" action={ "/transfers/" (t.id) "/receipt" } enctype="multipart/form-data" {
                                    (csrf_field(&user))
                                    label for={ "receipt-" (t.id) } { (l.t("上传回执（JSON）", "Upload the receipt (JSON)")) }
                                    input id={ "receipt-" (t.id) } type="file" name="file" accept="application/json,.json" required;
                                    button type="submit" { (l.t("上传", "Upload")) }
                                }
                            }
                        }
                    }
                } }
            } }
        }
        @if let Some(loans) = &loans {
            section #loans {
                h2 { (l.t("借阅登记（纸质档案借出）", "Lending list (paper dossiers)")) " " span.count { "(" (loans.len()) ")" } }
                @if loans.is_empty() { p.empty { (l.t("（无借出记录）", "(no loans)")) } }
                @else { table {
                    thead { tr {
                        th scope="col" { (l.t("姓名", "Name")) } th scope="col" { (l.t("借阅人", "Borrower")) }
                        th scope="col" { (l.t("借阅单位", "Unit")) } th scope="col" { (l.t("事由", "Purpose")) }
                        th scope="col" { (l.t("借出", "Lent")) } th scope="col" { (l.t("应还", "Due")) }
                        th scope="col" { (l.t("归还", "Returned")) }
                    } }
                    tbody { @for loan in loans {
                        @let late = loan.overdue(on);
                        tr.overdue[late] {
                            td { a href={ "/persons/" (loan.person_id) "#custody" } { (loan.person_name) } }
                            td { (loan.borrower) } td { (loan.unit) } td { (loan.purpose) }
                            td { (loan.lent_on) }
                            td { (loan.due_on) @if late { " " strong.overdue { (l.t("逾期", "overdue")) } } }
                            td {
                                @if let Some(d) = loan.returned_on { (d) }
                                @else {
                                    form.inline method="post" action={ "/loans/" (loan.id) "/return" } {
                                        (csrf_field(&user))
                                        button type="submit" { (l.t("归还", "Return")) }
                                    }
                                }
                            }
                        }
                    } }
                } }
                h3 { (l.t("借出", "Lend a paper dossier")) }
                form.lend method="post" action="/loans" {
                    (csrf_field(&user))
                    label for="person_id" { (l.t("档案（人员编号）", "Dossier (person id)")) }
                    input #person_id name="person_id" required;
                    label for="borrower" { (l.t("借阅人", "Borrower")) }
                    input #borrower name="borrower" required;
                    label for="unit" { (l.t("借阅单位", "Unit")) }
                    input #unit name="unit" required;
                    label for="purpose" { (l.t("事由", "Purpose")) }
                    input #purpose name="purpose" required;
                    label for="due_on" { (l.t("应还日期", "Due on")) }
                    input #due_on type="date" name="due_on" required;
                    button type="submit" { (l.t("借出", "Lend")) }
                }
            }
        }
    };
    Ok(page(l, Some(&user), title, body).into_response())
}

fn item_kind(l: Lang, kind: &str) -> &'static str {
    match kind {
        "filing" => l.t("归档任务", "Paper to file"),
        "chase" => l.t("催问回执", "Chase the receipt"),
        "transfer_overdue" => l.t("转递逾期", "Transfer overdue"),
        "loan_overdue" => l.t("借出逾期", "Loan overdue"),
        "move_due" => l.t("到期移交", "Handover due"),
        _ => l.t("其他", "Other"),
    }
}

/// `POST /custody/tasks/{id}/done`: the paper is filed.
pub(super) async fn mark_filed(
    State(st): State<AppState>,
    user: WebUser,
    Path(id): Path<String>,
    WebForm(f): WebForm<CsrfForm>,
) -> WebResult<Response> {
    user.check_csrf(&st, f.csrf.as_deref())?;
    let id: TaskId = parse_id(&id)?;
    let archive = st.archive.clone();
    let p = user.principal.clone();
    blocking(move || archive.custody().mark_filed(&p, id)).await?;
    Ok(Redirect::to("/custody").into_response())
}

/// `POST /transfers/{id}/receipt`: the receipt's file (multipart), then back to the register.
pub(super) async fn receipt(
    State(st): State<AppState>,
    user: WebUser,
    Path(id): Path<String>,
    req: Request,
) -> WebResult<Response> {
    let id: TransferId = parse_id(&id)?;
    let post = read_file_post(&st, &user, req).await?;
    let Some((bytes, _)) = post.file.filter(|(b, _)| !b.is_empty()) else {
        return Err(WebError::bad_request("choose the receipt file"));
    };
    let archive = st.archive.clone();
    let p = user.principal.clone();
    blocking(move || archive.transfers().load_receipt(&p, id, &bytes)).await?;
    Ok(Redirect::to("/custody#transfers").into_response())
}

#[derive(Deserialize)]
pub(super) struct LendForm {
    csrf: Option<String>,
    person_id: String,
    borrower: String,
    unit: String,
    purpose: String,
    due_on: String,
}

/// `POST /loans`: lend, then back to the list.
pub(super) async fn lend(
    State(st): State<AppState>,
    user: WebUser,
    WebForm(f): WebForm<LendForm>,
) -> WebResult<Response> {
    user.check_csrf(&st, f.csrf.as_deref())?;
    let person_id: PersonId = parse_id(f.person_id.trim())?;
    let due_on: PartialDate = f
        .due_on
        .trim()
        .parse()
        .map_err(|e: crate::model::date::InvalidDate| WebError::bad_request(format!("due_on: {e}")))?;
    let new = NewLoan { person_id, borrower: f.borrower, unit: f.unit, purpose: f.purpose, due_on };
    let archive = st.archive.clone();
    let p = user.principal.clone();
    blocking(move || archive.custody().lend(&p, new)).await?;
    Ok(Redirect::to("/custody#loans").into_response())
}

/// `POST /loans/{id}/return`: 归还.
pub(super) async fn return_loan(
    State(st): State<AppState>,
    user: WebUser,
    Path(id): Path<String>,
    WebForm(f): WebForm<CsrfForm>,
) -> WebResult<Response> {
    user.check_csrf(&st, f.csrf.as_deref())?;
    let id: LoanId = parse_id(&id)?;
    let archive = st.archive.clone();
    let p = user.principal.clone();
    blocking(move || archive.custody().return_loan(&p, id)).await?;
    Ok(Redirect::to("/custody#loans").into_response())
}
