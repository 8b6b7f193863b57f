//! The digitisation pages (docs/DOMAIN.md §2c): `/batches`, the scanning batches the caller sees with their
//! state and figures; a batch's page with its sample settings, figures (whole, per operator, defects by code,
//! turnaround), rounds of 抽检 and rescans, and the operators' 自检 and 提交抽检 buttons; and the reviewer's 抽检
//! page: each sampled page with its image, its material and what intake found, a form per page to record a
//! defect, and the 验收 / 退回 form. Also the page images of a scanned material, one by one and as a zip.
//!
//! Every page calls the service function the API calls: the service decides who sees what (an operator never
//! sees a sample; the QC page is 403 for them). Every form carries the CSRF token.

use super::error::{WebError, WebForm, WebResult, parse_id};
use super::forms::CsrfForm;
use super::layout::{page, when};
use super::session::{Lang, WebUser, csrf_field};
use crate::http::{AppState, Disposition, HttpError, attachment, blocking, file_response};
use crate::model::page::{BatchState, DefectCode, PageFormat, QcDecision, QcRound, Rescan};
use crate::model::{BatchId, MaterialId};
use crate::service::batches::Batch;
use crate::service::qc::{BatchFigures, BatchView, NewDecision, NewDefect, QcFigures, QcReview};
use axum::extract::{Path, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use serde::Deserialize;
use std::collections::BTreeMap;

/// A batch state's name.
fn state_name(l: Lang, s: BatchState) -> &'static str {
    match s {
        BatchState::Scanning => l.t("扫描中", "Scanning"),
        BatchState::SelfCheck => l.t("自检", "Self-check"),
        BatchState::Sampling => l.t("抽检", "Sampling"),
        BatchState::Returned => l.t("退回", "Returned"),
        BatchState::Accepted => l.t("验收", "Accepted"),
    }
}

/// A defect code's name.
fn code_name(l: Lang, c: DefectCode) -> &'static str {
    match c {
        DefectCode::Blur => l.t("模糊", "Blurred"),
        DefectCode::Skew => l.t("倾斜", "Skewed"),
        DefectCode::MissingPage => l.t("缺页", "Page missing"),
        DefectCode::DuplicatePage => l.t("重页", "Page twice"),
        DefectCode::WrongOrder => l.t("错页", "Wrong order"),
        DefectCode::BlackBorder => l.t("黑边", "Black border"),
        DefectCode::Other => l.t("其他", "Other"),
    }
}

/// A defect code's API name (the form's value).
fn code_value(c: DefectCode) -> String {
    serde_json::to_value(c).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default()
}

/// A defect code's name from the Chinese label the figures are keyed by.
fn code_name_of(l: Lang, label: &str) -> String {
    DefectCode::ALL
        .into_iter()
        .find(|c| c.label() == label)
        .map_or_else(|| label.to_string(), |c| code_name(l, c).to_string())
}

fn decision_name(l: Lang, d: Option<QcDecision>) -> &'static str {
    match d {
        Some(QcDecision::Accept) => l.t("验收", "Accepted"),
        Some(QcDecision::Return) => l.t("退回", "Returned"),
        None => l.t("待决定", "Undecided"),
    }
}

fn percent(rate: f64) -> String {
    format!("{:.1}%", rate * 100.0)
}

/// Seconds as days, hours and minutes.
fn duration(l: Lang, secs: i64) -> String {
    let secs = secs.max(0);
    let (d, h, m) = (secs / 86_400, secs % 86_400 / 3600, secs % 3600 / 60);
    match l {
        Lang::Zh if d > 0 => format!("{d}天{h}小时"),
        Lang::Zh if h > 0 => format!("{h}小时{m}分"),
        Lang::Zh => format!("{m}分"),
        Lang::En if d > 0 => format!("{d} d {h} h"),
        Lang::En if h > 0 => format!("{h} h {m} min"),
        Lang::En => format!("{m} min"),
    }
}

fn is_operator(user: &WebUser, b: &Batch) -> bool {
    b.assignees.contains(&user.principal.user.username)
}

/// A reviewer of this batch: someone who manages batches and is not one of its operators.
fn is_reviewer(user: &WebUser, b: &Batch) -> bool {
    (user.can.upload || user.can.manage_custody) && !is_operator(user, b)
}

/// `GET /batches`: the batches the caller sees (all for HR and administration, an operator's own).
pub(super) async fn list(State(st): State<AppState>, user: WebUser) -> WebResult<Response> {
    let archive = st.archive.clone();
    let p = user.principal.clone();
    let rows: Vec<(Batch, BatchFigures)> = blocking(move || {
        let mut rows = Vec::new();
        for b in archive.imports().list_batches(&p)? {
            let f = archive.digitisation().figures(&b)?;
            rows.push((b, f));
        }
        rows.sort_by_key(|r| std::cmp::Reverse(r.0.created_at));
        Ok(rows)
    })
    .await?;
    let l = user.lang;
    let body = html! {
        h1 { (l.t("数字化批次", "Scanning batches")) }
        @if rows.is_empty() {
            p.empty { (l.t("没有可见的批次。", "No batch to show.")) }
        } @else {
            table.batches {
                thead { tr {
                    th scope="col" { (l.t("批次", "Batch")) }
                    th scope="col" { (l.t("状态", "State")) }
                    th scope="col" { (l.t("操作员", "Operators")) }
                    th scope="col" { (l.t("档案", "Dossiers")) }
                    th scope="col" { (l.t("材料", "Materials")) }
                    th scope="col" { (l.t("页数", "Pages")) }
                    th scope="col" { (l.t("差错率", "Defect rate")) }
                    th scope="col" { (l.t("创建", "Created")) }
                } }
                tbody {
                    @for (b, f) in &rows {
                        tr {
                            td { a href={ "/batches/" (b.id) } { (b.name) } }
                            td { strong.batch-state { (state_name(l, b.state)) } }
                            td { (b.assignees.join("、")) }
                            td.num { (f.dossiers) }
                            td.num { (f.total.materials) }
                            td.num { (f.total.pages) }
                            td.num { @if f.total.sampled > 0 { (percent(f.total.defect_rate)) } @else { "—" } }
                            td { (when(b.created_at)) }
                        }
                    }
                }
            }
        }
    };
    Ok(page(l, Some(&user), l.t("数字化批次", "Scanning batches"), body).into_response())
}

fn figures_table(l: Lang, total: &QcFigures, operators: &BTreeMap<String, QcFigures>) -> Markup {
    let row = |who: &str, f: &QcFigures| {
        html! {
            tr {
                th scope="row" { (who) }
                td.num { (f.materials) }
                td.num { (f.pages) }
                td.num { (f.sampled) }
                td.num { (f.defects) }
                td.num { @if f.sampled > 0 { (percent(f.defect_rate)) } @else { "—" } }
                td.num { (f.rescans) }
                td.num { (f.rescans_open) }
            }
        }
    };
    html! {
        table.figures {
            caption { (l.t("统计（全批与各操作员）", "Figures (the batch and each operator)")) }
            thead { tr {
                th scope="col" { (l.t("范围", "Who")) }
                th scope="col" { (l.t("材料", "Materials")) }
                th scope="col" { (l.t("页数", "Pages")) }
                th scope="col" { (l.t("抽检页数", "Sampled")) }
                th scope="col" { (l.t("缺陷", "Defects")) }
                th scope="col" { (l.t("差错率", "Defect rate")) }
                th scope="col" { (l.t("重扫", "Rescans")) }
                th scope="col" { (l.t("待重扫", "Open")) }
            } }
            tbody {
                (row(l.t("全批", "Whole batch"), total))
                @for (who, f) in operators { (row(who, f)) }
            }
        }
    }
}

fn rounds_table(l: Lang, rounds: &[QcRound], operator: bool) -> Markup {
    html! {
        table.rounds {
            caption { (l.t("抽检轮次", "Rounds of 抽检")) }
            thead { tr {
                th scope="col" { (l.t("轮次", "Round")) }
                th scope="col" { (l.t("提交", "Handed over")) }
                th scope="col" { (l.t("页数", "Pages")) }
                @if !operator { th scope="col" { (l.t("抽检页数", "Sampled")) } }
                th scope="col" { (l.t("缺陷", "Defects")) }
                th scope="col" { (l.t("结论", "Decision")) }
                th scope="col" { (l.t("审核人", "Reviewer")) }
                th scope="col" { (l.t("决定时间", "Decided")) }
                th scope="col" { (l.t("意见", "Comment")) }
            } }
            tbody {
                @for r in rounds {
                    tr {
                        td.num { (r.number) }
                        td { (when(r.submitted_at)) " · " (r.submitted_by) }
                        td.num { (r.pages_held) }
                        @if !operator { td.num { (r.sample.len()) } }
                        td.num { @if operator && r.decision.is_none() { "—" } @else { (r.defects.len()) } }
                        td { (decision_name(l, r.decision)) }
                        td { (r.reviewer.as_deref().unwrap_or("—")) }
                        td { (r.decided_at.map(when).unwrap_or_else(|| "—".into())) }
                        td { (r.comment.as_deref().unwrap_or("")) }
                    }
                }
            }
        }
    }
}

fn rescans_table(l: Lang, rescans: &[Rescan], titles: &BTreeMap<MaterialId, String>) -> Markup {
    html! {
        table.rescans {
            caption { (l.t("退回重扫", "Pages sent back for rescanning")) }
            thead { tr {
                th scope="col" { (l.t("材料", "Material")) }
                th scope="col" { (l.t("页", "Page")) }
                th scope="col" { (l.t("缺陷", "Defect")) }
                th scope="col" { (l.t("说明", "Comment")) }
                th scope="col" { (l.t("轮次", "Round")) }
                th scope="col" { (l.t("操作员", "Operator")) }
                th scope="col" { (l.t("重扫", "Rescanned")) }
            } }
            tbody {
                @for r in rescans {
                    tr {
                        td { (titles.get(&r.defect.at.material_id).cloned().unwrap_or_else(|| r.defect.at.material_id.to_string())) }
                        td.num { (r.defect.at.page) }
                        td { (code_name(l, r.defect.code)) }
                        td { (r.defect.comment.as_deref().unwrap_or("")) }
                        td.num { (r.round) }
                        td { (r.operator) }
                        td {
                            @match (r.done_at, &r.done_by) {
                                (Some(at), by) => { (when(at)) " · " (by.as_deref().unwrap_or("")) }
                                (None, _) => strong { (l.t("待重扫", "to rescan")) },
                            }
                        }
                    }
                }
            }
        }
    }
}

/// What a batch's page shows besides the batch: its rescans and its materials (id, title, category, pages).
struct BatchPage {
    view: BatchView,
    rescans: Vec<Rescan>,
    materials: Vec<(MaterialId, String, String, usize)>,
}

fn batch_page(user: &WebUser, d: &BatchPage) -> Markup {
    let l = user.lang;
    let b = &d.view.batch;
    let f = &d.view.figures;
    let operator = is_operator(user, b);
    let titles: BTreeMap<MaterialId, String> = d.materials.iter().map(|(id, t, _, _)| (*id, t.clone())).collect();
    html! {
        h1 { (b.name) }
        p { a href="/batches" { (l.t("← 返回批次列表", "← Back to the batches")) } }
        section.card {
            h2 { (l.t("批次", "Batch")) }
            dl.fields {
                dt { (l.t("状态", "State")) } dd { strong.batch-state { (state_name(l, b.state)) } }
                dt { (l.t("操作员", "Operators")) } dd { (b.assignees.join("、")) }
                dt { (l.t("档案", "Dossiers")) } dd { (f.dossiers) " / " (b.person_ids.len()) }
                dt { (l.t("抽检比例", "Sample")) }
                dd { (b.sample_percent) "%" (l.t("，至少 ", ", at least ")) (b.sample_min) (l.t(" 页", " pages")) }
                dt { (l.t("创建", "Created")) } dd { (when(b.created_at)) " · " (b.created_by) }
                @if let Some(t) = b.self_check_at { dt { (l.t("开始自检", "Self-check from")) } dd { (when(t)) } }
                dt { (l.t("抽检轮次", "Rounds")) } dd { (f.rounds) }
                @if !f.review_turnaround_secs.is_empty() {
                    dt { (l.t("抽检用时", "Review turnaround")) }
                    dd { (f.review_turnaround_secs.iter().map(|s| duration(l, *s)).collect::<Vec<_>>().join("、")) }
                }
                @if let Some(t) = f.turnaround_secs {
                    dt { (l.t("创建至验收", "Created to accepted")) } dd { (duration(l, t)) }
                }
            }
            @if operator {
                @match b.state {
                    BatchState::Scanning => form.inline method="post" action={ "/batches/" (b.id) "/self-check" } {
                        (csrf_field(user))
                        button type="submit" { (l.t("扫描完成，开始自检", "Scanning done: start the self-check")) }
                    },
                    BatchState::SelfCheck | BatchState::Returned => form.inline method="post" action={ "/batches/" (b.id) "/hand-over" } {
                        (csrf_field(user))
                        button type="submit" { (l.t("提交抽检", "Hand over for 抽检")) }
                    },
                    _ => {}
                }
            }
            @if is_reviewer(user, b) && b.state == BatchState::Sampling {
                p { a.button href={ "/batches/" (b.id) "/qc" } { (l.t("抽检本批（审核样本）", "Review the sample (抽检)")) } }
            }
        }
        section.card #figures {
            h2 { (l.t("统计", "Figures")) }
            (figures_table(l, &f.total, &f.operators))
            @if !f.total.defects_by_code.is_empty() {
                table.defect-codes {
                    caption { (l.t("缺陷分类", "Defects by code")) }
                    thead { tr { th scope="col" { (l.t("缺陷", "Defect")) } th scope="col" { (l.t("数量", "Count")) } } }
                    tbody { @for (code, n) in &f.total.defects_by_code { tr { td { (code_name_of(l, code)) } td.num { (n) } } } }
                }
            }
        }
        @if !b.rounds.is_empty() {
            section.card #rounds { h2 { (l.t("抽检", "抽检")) } (rounds_table(l, &b.rounds, operator)) }
        }
        @if !d.rescans.is_empty() {
            section.card #rescans { h2 { (l.t("重扫", "Rescans")) } (rescans_table(l, &d.rescans, &titles)) }
        }
        section.card #materials {
            h2 { (if operator { l.t("我扫描的材料", "What I filed") } else { l.t("本批材料", "Materials filed") }) }
            @if d.materials.is_empty() {
                p.empty { (l.t("尚未扫描归档材料。", "Nothing filed yet.")) }
            } @else {
                table {
                    thead { tr {
                        th scope="col" { (l.t("类号", "Class")) }
                        th scope="col" { (l.t("材料名称", "Title")) }
                        th scope="col" { (l.t("图像页数", "Page images")) }
                    } }
                    tbody { @for (id, title, category, pages) in &d.materials { tr {
                        td.num { (category) }
                        td { @if operator { (title) } @else { a href={ "/materials/" (id) } { (title) } } }
                        td.num { (pages) }
                    } } }
                }
            }
        }
    }
}

/// `GET /batches/{id}`: the batch, its figures, rounds and rescans, and the buttons its caller may use.
pub(super) async fn show(State(st): State<AppState>, user: WebUser, Path(id): Path<String>) -> WebResult<Response> {
    let id: BatchId = parse_id(&id)?;
    let archive = st.archive.clone();
    let p = user.principal.clone();
    let d = blocking(move || {
        let view = archive.digitisation().batch(&p, id)?;
        let rescans = archive.digitisation().rescans(&p, id)?;
        let materials = archive
            .imports()
            .batch_materials(&p, id)?
            .into_iter()
            .map(|m| (m.id, m.meta.title.clone(), m.meta.category.clone(), m.page_images.len()))
            .collect();
        Ok(BatchPage { view, rescans, materials })
    })
    .await?;
    let l = user.lang;
    let title = d.view.batch.name.clone();
    Ok(page(l, Some(&user), &title, batch_page(&user, &d)).into_response())
}

/// `POST /batches/{id}/self-check`: 扫描中 → 自检 (an operator), back to the batch.
pub(super) async fn self_check(
    State(st): State<AppState>,
    user: WebUser,
    Path(id): Path<String>,
    WebForm(f): WebForm<CsrfForm>,
) -> WebResult<Response> {
    user.check_csrf(&st, f.csrf.as_deref())?;
    let id: BatchId = parse_id(&id)?;
    let archive = st.archive.clone();
    let p = user.principal.clone();
    blocking(move || archive.digitisation().finish_scanning(&p, id)).await?;
    Ok(Redirect::to(&format!("/batches/{id}")).into_response())
}

/// `POST /batches/{id}/hand-over`: 自检 (or 退回, rescans done) → 抽检 (an operator), back to the batch.
pub(super) async fn hand_over(
    State(st): State<AppState>,
    user: WebUser,
    Path(id): Path<String>,
    WebForm(f): WebForm<CsrfForm>,
) -> WebResult<Response> {
    user.check_csrf(&st, f.csrf.as_deref())?;
    let id: BatchId = parse_id(&id)?;
    let archive = st.archive.clone();
    let p = user.principal.clone();
    blocking(move || archive.digitisation().hand_over(&p, id)).await?;
    Ok(Redirect::to(&format!("/batches/{id}")).into_response())
}

fn image_info(l: Lang, info: &crate::model::page::PageInfo) -> String {
    let format = match info.format {
        PageFormat::Jpeg => "JPEG",
        PageFormat::Png => "PNG",
        PageFormat::Tiff => "TIFF",
    };
    let dpi = match info.dpi {
        Some((x, y)) if x == y => format!("{x} dpi"),
        Some((x, y)) => format!("{x}×{y} dpi"),
        None => l.t("未记录分辨率", "no resolution recorded").to_string(),
    };
    format!("{format} · {}×{} · {dpi}", info.width, info.height)
}

fn qc_page(user: &WebUser, r: &QcReview) -> Markup {
    let l = user.lang;
    let id = r.batch_id;
    let titles: BTreeMap<MaterialId, String> = r.sample.iter().map(|s| (s.at.material_id, s.title.clone())).collect();
    html! {
        h1 { (l.t("抽检：第 ", "抽检: round ")) (r.round.number) (l.t(" 轮", "")) }
        p { a href={ "/batches/" (id) } { (l.t("← 返回批次", "← Back to the batch")) } }
        p.note {
            (l.t("样本随机抽取，共 ", "A random sample of "))
            (r.sample.len()) (l.t(" 页（全批 ", " pages (of ")) (r.round.pages_held)
            (l.t(" 页）。逐页查看图像，发现问题即记录缺陷；最后验收或退回。",
                " held). Look at each page, record a defect where you find one; then accept or return the batch."))
        }
        table.qc {
            caption { (l.t("样本", "Sample")) }
            thead { tr {
                th scope="col" { (l.t("图像", "Image")) }
                th scope="col" { (l.t("材料", "Material")) }
                th scope="col" { (l.t("页", "Page")) }
                th scope="col" { (l.t("入库检查", "Intake findings")) }
                th scope="col" { (l.t("记录缺陷", "Record a defect")) }
            } }
            tbody {
                @for (i, s) in r.sample.iter().enumerate() {
                    @let src = format!("/materials/{}/pages/{}", s.at.material_id, s.at.page);
                    tr.sampled {
                        td.thumb {
                            @if s.info.is_some() {
                                a href=(src) { img.thumb src=(src) alt={ (s.title) (l.t(" 第", " page ")) (s.at.page) (l.t("页", "")) }; }
                            } @else {
                                span.note { (l.t("（整件文件，无页面图像）", "(one file, no page images)")) }
                            }
                        }
                        td {
                            strong.title { (s.title) } br;
                            (l.t("类号 ", "class ")) (s.category) " · " (l.t("扫描 ", "scanned by ")) (s.operator)
                        }
                        td.num {
                            (s.at.page) " / " (s.pages_held)
                            @if let Some(n) = s.pages_recorded { @if n != s.pages_held { br; small.error { (l.t("目录页数 ", "catalogued ")) (n) } } }
                        }
                        td {
                            @if let Some(info) = &s.info { p.image-info { (image_info(l, info)) } }
                            @if s.findings.is_empty() {
                                span.note { (l.t("无", "none")) }
                            } @else {
                                ul.findings { @for f in &s.findings { li.finding.warning { code { (f.rule) } " · " (f.message) } } }
                            }
                        }
                        td {
                            form.defect method="post" action={ "/batches/" (id) "/qc/defects" } {
                                (csrf_field(user))
                                input type="hidden" name="material_id" value=(s.at.material_id);
                                input type="hidden" name="page" value=(s.at.page);
                                label for={ "code-" (i) } { (l.t("缺陷", "Defect")) }
                                select id={ "code-" (i) } name="code" {
                                    @for c in DefectCode::ALL { option value=(code_value(c)) { (code_name(l, c)) } }
                                }
                                label for={ "comment-" (i) } { (l.t("说明", "Comment")) }
                                input id={ "comment-" (i) } name="comment" maxlength="500";
                                button type="submit" { (l.t("记录", "Record")) }
                            }
                        }
                    }
                }
            }
        }
        section.card #defects {
            h2 { (l.t("已记录的缺陷", "Defects recorded")) " (" (r.round.defects.len()) ")" }
            @if r.round.defects.is_empty() {
                p.empty { (l.t("尚未记录缺陷。", "No defect recorded yet.")) }
            } @else {
                table.defects {
                    thead { tr {
                        th scope="col" { (l.t("材料", "Material")) }
                        th scope="col" { (l.t("页", "Page")) }
                        th scope="col" { (l.t("缺陷", "Defect")) }
                        th scope="col" { (l.t("说明", "Comment")) }
                        th scope="col" { (l.t("记录人", "By")) }
                        th scope="col" { (l.t("时间", "When")) }
                    } }
                    tbody { @for d in &r.round.defects { tr {
                        td { (titles.get(&d.at.material_id).cloned().unwrap_or_else(|| d.at.material_id.to_string())) }
                        td.num { (d.at.page) }
                        td { (code_name(l, d.code)) }
                        td { (d.comment.as_deref().unwrap_or("")) }
                        td { (d.by) }
                        td { (when(d.on)) }
                    } } }
                }
            }
        }
        section.card #decision {
            h2 { (l.t("结论", "Decision")) }
            form.decision method="post" action={ "/batches/" (id) "/qc/decision" } {
                (csrf_field(user))
                p.grow {
                    label for="decision-comment" { (l.t("意见", "Comment")) }
                    textarea #decision-comment name="comment" rows="2" maxlength="500" {}
                }
                p.buttons {
                    button type="submit" name="decision" value="accept" { (l.t("验收", "Accept")) }
                    button.danger type="submit" name="decision" value="return" { (l.t("退回重扫", "Return for rescanning")) }
                }
            }
        }
    }
}

/// `GET /batches/{id}/qc`: the round under review with its sample (reviewers only; an operator gets 403).
pub(super) async fn qc(State(st): State<AppState>, user: WebUser, Path(id): Path<String>) -> WebResult<Response> {
    let id: BatchId = parse_id(&id)?;
    let archive = st.archive.clone();
    let p = user.principal.clone();
    let r = blocking(move || archive.digitisation().review(&p, id)).await?;
    let l = user.lang;
    Ok(page(l, Some(&user), l.t("抽检", "抽检"), qc_page(&user, &r)).into_response())
}

#[derive(Deserialize)]
pub(super) struct DefectForm {
    csrf: Option<String>,
    material_id: Option<String>,
    page: Option<String>,
    code: Option<String>,
    comment: Option<String>,
}

/// `POST /batches/{id}/qc/defects`: records a defect on a sampled page, back to the QC page.
pub(super) async fn record_defect(
    State(st): State<AppState>,
    user: WebUser,
    Path(id): Path<String>,
    WebForm(f): WebForm<DefectForm>,
) -> WebResult<Response> {
    user.check_csrf(&st, f.csrf.as_deref())?;
    let id: BatchId = parse_id(&id)?;
    let material_id: MaterialId = parse_id(f.material_id.as_deref().unwrap_or(""))?;
    let page: u32 = parse_id(f.page.as_deref().unwrap_or(""))?;
    let Some(code) = f.code.as_deref().and_then(DefectCode::parse) else {
        return Err(WebError::Http(HttpError::Unprocessable("choose the defect (缺陷)".into())));
    };
    let new = NewDefect { material_id, page, code, comment: super::nonempty(&f.comment) };
    let archive = st.archive.clone();
    let p = user.principal.clone();
    blocking(move || archive.digitisation().record_defect(&p, id, new)).await?;
    Ok(Redirect::to(&format!("/batches/{id}/qc#defects")).into_response())
}

#[derive(Deserialize)]
pub(super) struct DecisionForm {
    csrf: Option<String>,
    decision: Option<String>,
    comment: Option<String>,
}

/// `POST /batches/{id}/qc/decision`: 验收 or 退回, back to the batch.
pub(super) async fn decide(
    State(st): State<AppState>,
    user: WebUser,
    Path(id): Path<String>,
    WebForm(f): WebForm<DecisionForm>,
) -> WebResult<Response> {
    user.check_csrf(&st, f.csrf.as_deref())?;
    let id: BatchId = parse_id(&id)?;
    let decision = match f.decision.as_deref() {
        Some("accept") => QcDecision::Accept,
        Some("return") => QcDecision::Return,
        _ => return Err(WebError::Http(HttpError::Unprocessable("choose 验收 (accept) or 退回 (return)".into()))),
    };
    let d = NewDecision { decision, comment: super::nonempty(&f.comment) };
    let archive = st.archive.clone();
    let p = user.principal.clone();
    blocking(move || archive.digitisation().decide(&p, id, d)).await?;
    Ok(Redirect::to(&format!("/batches/{id}")).into_response())
}

/// `GET /materials/{id}/pages/{n}`: one page image of a scanned material, inline (the QC page's thumbnails, the
/// material page's links), through the gate like any read of content.
pub(super) async fn page_image(
    State(st): State<AppState>,
    user: WebUser,
    Path((id, n)): Path<(String, String)>,
) -> WebResult<Response> {
    let id: MaterialId = parse_id(&id)?;
    let n: u32 = parse_id(&n)?;
    let archive = st.archive.clone();
    let p = user.principal.clone();
    let (image, bytes) = blocking(move || archive.digitisation().page(&p, id, n)).await?;
    let f = image.info.format;
    let mut resp =
        file_response(bytes.to_vec(), f.media_type(), Disposition::Inline, &format!("{n:04}.{}", f.extension()));
    // An image runs nothing; only this site's pages may show it.
    resp.headers_mut().insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; img-src 'self'; frame-ancestors 'self'"),
    );
    Ok(resp)
}

/// `GET /materials/{id}/pages.zip`: every page image of a scanned material, in order, as a download.
pub(super) async fn pages_zip(
    State(st): State<AppState>,
    user: WebUser,
    Path(id): Path<String>,
) -> WebResult<Response> {
    let id: MaterialId = parse_id(&id)?;
    let archive = st.archive.clone();
    let p = user.principal.clone();
    let (m, zip) = blocking(move || archive.digitisation().pages_zip(&p, id)).await?;
    Ok(attachment(zip, "application/zip", &format!("{}-pages.zip", m.meta.title)))
}

/// The page images of a scanned material, for its page: a link to each, in order, and to the zip.
pub(super) fn pages_section(l: Lang, m: &crate::model::Material) -> Markup {
    html! {
        section.card #pages {
            h2 { (l.t("页面图像", "Page images")) " (" (m.page_images.len()) ")" }
            p { a.button href={ "/materials/" (m.id) "/pages.zip" } download { (l.t("下载全部原始图像（zip）", "Download every original image (zip)")) } }
            ol.pages {
                @for (i, image) in m.page_images.iter().enumerate() {
                    li {
                        a href={ "/materials/" (m.id) "/pages/" (i + 1) } { (l.t("第", "Page ")) (i + 1) (l.t("页", "")) }
                        " · " (image_info(l, &image.info))
                        @for f in &image.findings { " · " small.finding.warning { code { (f.rule) } " " (f.message) } }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_defect_code_has_a_name_and_reads_back_from_its_form_value() {
        for c in DefectCode::ALL {
            assert_eq!(code_name(Lang::Zh, c), c.label());
            assert_eq!(DefectCode::parse(&code_value(c)), Some(c));
            assert_eq!(code_name_of(Lang::En, c.label()), code_name(Lang::En, c));
        }
    }

    #[test]
    fn durations_read_in_days_hours_and_minutes() {
        assert_eq!(duration(Lang::Zh, 90_061), "1天1小时");
        assert_eq!(duration(Lang::En, 3_660), "1 h 1 min");
        assert_eq!(duration(Lang::Zh, 59), "0分");
        assert_eq!(percent(0.125), "12.5%");
    }
}
