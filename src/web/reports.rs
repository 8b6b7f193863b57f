//! Reports as pages (issue 6 item 3): the index of the reports the caller's roles may run, and each report as a
//! table with a chart drawn on the server as inline SVG (no script, no inline style: presentation attributes
//! and classes from `app.css`), plus the same report as CSV or XLSX. Every page and download calls the report
//! function the API calls, with the caller's principal: the service decides scope (a head sees their own
//! department, finance salary grades only) and refuses what the caller may not run.

use super::error::{WebQuery, WebResult};
use super::layout::{kind_name_of, page, step_name};
use super::session::{Lang, WebUser};
use crate::http::{AppState, blocking, urlencode};
use crate::model::ReportKind;
use crate::service::reports::{DepartmentCompleteness, ReportTable};
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};
use serde::Deserialize;
use serde_json::Value;

fn report_title(l: Lang, kind: ReportKind) -> &'static str {
    let (zh, en) = kind.label();
    l.t(zh, en)
}

fn report_description(l: Lang, kind: ReportKind) -> &'static str {
    match kind {
        ReportKind::Structure => l.t(
            "在职干部按部门、年龄段、性别、学历、民族、职级、薪级的人数与占比。",
            "Active cadres by department, age band, gender, education, ethnicity, rank and salary grade.",
        ),
        ReportKind::Completeness => l.t(
            "各部门档案完整率；缺少必备材料或成套材料（任免审批表、年度考核材料、转正材料）的档案，以及登记页数与文件实际页数不一致的材料。",
            "Completeness by department; dossiers lacking required or matching-set materials (appointment forms, \
             assessment materials, party probation records), and materials whose stated page count differs from the file.",
        ),
        ReportKind::Findings => {
            l.t("人员信息自动校验发现的问题，按字段和内容计数。", "Validation findings of the person records, counted.")
        }
        ReportKind::Digitization => {
            l.t("材料按文件类型与文字提取（OCR）状态计数。", "Materials by file type and text (OCR) status.")
        }
        ReportKind::Turnaround => l.t(
            "各类申请及各审批环节的处理时长与当前超期数。",
            "How long each kind of request and step takes; what is overdue.",
        ),
        ReportKind::Review => l.t(
            "各部门干部档案专项审核（三龄两历一身份）的进度，以及发现的问题（涂改、不一致、缺失、造假嫌疑）。",
            "Special reviews (三龄两历一身份) by department and state, and the problems found, by kind.",
        ),
        ReportKind::Consultations => l.t(
            "查阅登记：每次查阅的查阅单位、查阅人、目的、权限、审批人、期限，以及依审计记录查阅了哪些材料。",
            "Every consultation: unit, readers, purpose, permissions, approver, period, and what was read (from the audit trail).",
        ),
        ReportKind::Transfers => l.t(
            "转出档案的登记：接收单位、通知单编号、期限、寄出的转递包、回执；逾期与满一个月未回执（催问）的标出。",
            "Dossiers transferred out: receiving unit, notice number, deadline, package sent, receipt; overdue and \
             unanswered for a month (催问) flagged.",
        ),
        ReportKind::Contracts => l.t(
            "合同登记：每位干部的劳动（聘用）合同、离职、竞业限制与保密协议，期限、试用期、到期提醒与法务审查意见。",
            "Every cadre's labour or appointment contracts and their agreements: term, probation, reminders, and \
             legal's review notes.",
        ),
    }
}

fn dimension_name(l: Lang, by: &str) -> &'static str {
    match by {
        "department" => l.t("部门", "Department"),
        "age" => l.t("年龄段", "Age band"),
        "gender" => l.t("性别", "Gender"),
        "education" => l.t("学历", "Education"),
        "ethnicity" => l.t("民族", "Ethnicity"),
        "rank" => l.t("职级", "Rank"),
        "salary_grade" => l.t("薪级", "Salary grade"),
        _ => "?",
    }
}

fn column_name(l: Lang, col: &str) -> &'static str {
    match col {
        "label" => l.t("类别", "Group"),
        "count" => l.t("人数", "Persons"),
        "percent" => l.t("占比", "Share"),
        "name" => l.t("姓名", "Name"),
        "department" => l.t("部门", "Department"),
        "missing_count" => l.t("缺少材料数", "Missing"),
        "missing" => l.t("缺少的材料", "Missing materials"),
        "page_mismatches" => l.t("页数不符数", "Page mismatches"),
        "mismatched" => l.t("页数不符的材料", "Mismatched materials"),
        "checks" => l.t("检查项", "Checks"),
        "satisfied" => l.t("通过项", "Met"),
        "findings_count" => l.t("缺漏数", "Findings"),
        "findings" => l.t("缺漏（含成套检查）", "Findings (matching sets included)"),
        "field" => l.t("字段", "Field"),
        "severity" => l.t("级别", "Severity"),
        "message" => l.t("问题", "Finding"),
        "persons" => l.t("人数", "Persons"),
        "kind" => l.t("类型", "Kind"),
        "text_status" => l.t("文字状态", "Text status"),
        "materials" => l.t("材料数", "Materials"),
        "step" => l.t("环节", "Step"),
        "median_hours" => l.t("中位时长（小时）", "Median (hours)"),
        "p90_hours" => l.t("90% 时长（小时）", "90th percentile (hours)"),
        "overdue" => l.t("当前超期", "Overdue now"),
        "dossiers" => l.t("档案数", "Dossiers"),
        "none" => l.t("未审核", "Not reviewed"),
        "draft" => l.t("审核中（未提交）", "Draft"),
        "in_review" => l.t("初审/复审", "In review"),
        "in_approval" => l.t("认定/审批", "In approval"),
        "concluded" => l.t("已认定", "Concluded"),
        "expired" => l.t("已过期", "Expired"),
        "problems_altered" => l.t("涂改", "Altered"),
        "problems_inconsistent" => l.t("不一致", "Inconsistent"),
        "problems_missing" => l.t("缺失", "Missing"),
        "problems_suspected_forgery" => l.t("造假嫌疑", "Suspected forgery"),
        _ => "?",
    }
}

fn text_status_name(l: Lang, s: &str) -> &'static str {
    match s {
        "done" => l.t("已提取", "extracted"),
        "pending" => l.t("排队中", "queued"),
        "failed" => l.t("提取失败", "failed"),
        "none" => l.t("无文字", "no text"),
        _ => "?",
    }
}

/// Columns shown on the page (the others are ids and keys, kept in the downloads).
fn shown(col: &str) -> bool {
    !matches!(col, "key" | "person_id" | "rate")
}

fn is_number(col: &str) -> bool {
    matches!(
        col,
        "count"
            | "percent"
            | "missing_count"
            | "page_mismatches"
            | "checks"
            | "satisfied"
            | "findings_count"
            | "persons"
            | "materials"
            | "median_hours"
            | "p90_hours"
            | "overdue"
            | "dossiers"
            | "none"
            | "draft"
            | "in_review"
            | "in_approval"
            | "concluded"
            | "expired"
    ) || col.starts_with("problems_")
}

fn plain(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => "—".into(),
        other => other.to_string(),
    }
}

/// One cell as the page shows it.
fn cell(l: Lang, table: &ReportTable, row: &[Value], col: usize) -> Markup {
    let name = table.columns[col].as_str();
    let v = row.get(col).unwrap_or(&Value::Null);
    let text = plain(v);
    let get = |c: &str| table.columns.iter().position(|x| x == c).and_then(|i| row.get(i));
    html! {
        @match name {
            "percent" => td.num { (text) "%" },
            "name" => {
                @if let Some(Value::String(id)) = get("person_id") {
                    td { a href={ "/persons/" (id) } { (text) } }
                } @else { td { (text) } }
            },
            "text_status" => td { (text_status_name(l, &text)) },
            "severity" => td { (if text == "error" { l.t("错误", "error") } else { l.t("提示", "warning") }) },
            "kind" if table.name == ReportKind::Turnaround.as_str() => td { (kind_name_of(l, &text)) },
            "step" => td { (if text == "*" { l.t("全程（发起至生效）", "whole request").to_string() } else { step_name(l, &text) }) },
            n if is_number(n) => td.num { (text) },
            _ => td { (text) },
        }
    }
}

/// The report as a table with headings.
fn report_table(l: Lang, table: &ReportTable, caption: &str) -> Markup {
    let cols: Vec<usize> = (0..table.columns.len()).filter(|i| shown(&table.columns[*i])).collect();
    html! {
        div.scroll {
            table.report #report-table {
                caption { (caption) }
                thead { tr { @for i in &cols { th scope="col" { (column_name(l, &table.columns[*i])) } } } }
                tbody {
                    @for row in &table.rows {
                        tr { @for i in &cols { (cell(l, table, row, *i)) } }
                    }
                }
            }
        }
        @if table.rows.is_empty() { p.empty { (l.t("（没有数据）", "(nothing to show)")) } }
    }
}

/// One bar of a chart: its label, its value and the text written after it.
struct Bar {
    label: String,
    value: f64,
    caption: String,
}

/// A horizontal bar chart as inline SVG: labels on the left, bars scaled to the largest value, the figures
/// after each bar. Sizes are presentation attributes; colours come from `app.css` (`svg.chart`).
fn bar_chart(title: &str, bars: &[Bar]) -> Markup {
    const WIDTH: usize = 640;
    const LABEL: usize = 170;
    const BAR: usize = 340;
    const ROW: usize = 28;
    let max = bars.iter().map(|b| b.value).fold(0.0_f64, f64::max);
    let height = bars.len() * ROW + 8;
    let short = |s: &str| -> String {
        if s.chars().count() > 12 { format!("{}…", s.chars().take(11).collect::<String>()) } else { s.to_string() }
    };
    html! {
        figure.chart {
            svg.chart xmlns="http://www.w3.org/2000/svg" role="img" aria-label=(title)
                width=(WIDTH) height=(height) viewBox={ "0 0 " (WIDTH) " " (height) } {
                title { (title) }
                @for (i, b) in bars.iter().enumerate() {
                    @let y = 4 + i * ROW;
                    @let w = if max > 0.0 { ((b.value / max) * BAR as f64).round().max(if b.value > 0.0 { 1.0 } else { 0.0 }) } else { 0.0 };
                    g.row {
                        text.label x=(LABEL - 8) y=(y + 18) text-anchor="end" { (short(&b.label)) }
                        rect.bar x=(LABEL) y=(y + 4) width=(w) height=(ROW - 8) {
                            title { (b.label) ": " (b.caption) }
                        }
                        text.value x=(LABEL as f64 + w + 6.0) y=(y + 18) { (b.caption) }
                    }
                }
            }
            figcaption { (title) }
        }
    }
}

fn number(v: Option<&Value>) -> f64 {
    v.and_then(Value::as_f64).unwrap_or(0.0)
}

/// The chart of a report, where one helps.
fn chart(l: Lang, kind: ReportKind, table: &ReportTable, title: &str) -> Option<Markup> {
    let col = |c: &str| table.columns.iter().position(|x| x == c);
    match kind {
        ReportKind::Structure => {
            let (label, count, percent) = (col("label")?, col("count")?, col("percent")?);
            let bars: Vec<Bar> = table
                .rows
                .iter()
                .map(|r| Bar {
                    label: plain(&r[label]),
                    value: number(r.get(count)),
                    caption: format!("{} · {}%", plain(&r[count]), plain(&r[percent])),
                })
                .collect();
            Some(bar_chart(title, &bars))
        }
        ReportKind::Digitization => {
            let (status, materials) = (col("text_status")?, col("materials")?);
            let mut by_status: Vec<(String, f64)> = Vec::new();
            for r in &table.rows {
                let s = plain(&r[status]);
                let n = number(r.get(materials));
                match by_status.iter_mut().find(|(k, _)| *k == s) {
                    Some(e) => e.1 += n,
                    None => by_status.push((s, n)),
                }
            }
            let total: f64 = by_status.iter().map(|(_, n)| n).sum();
            let bars: Vec<Bar> = by_status
                .into_iter()
                .map(|(s, n)| Bar {
                    label: text_status_name(l, &s).to_string(),
                    value: n,
                    caption: format!("{n} · {}%", if total > 0.0 { (n * 1000.0 / total).round() / 10.0 } else { 0.0 }),
                })
                .collect();
            Some(bar_chart(l.t("材料按文字提取状态", "Materials by text status"), &bars))
        }
        ReportKind::Completeness => {
            // Dossiers lacking each required material (names may hold `、`, so they are matched, not split).
            let missing = col("missing")?;
            let bars: Vec<Bar> = crate::model::completeness::Rules::shipped()
                .required
                .iter()
                .map(|r| &r.name)
                .map(|name| {
                    let n = table.rows.iter().filter(|r| plain(&r[missing]).contains(name)).count();
                    Bar { label: name.to_string(), value: n as f64, caption: n.to_string() }
                })
                .filter(|b| b.value > 0.0)
                .collect();
            (!bars.is_empty())
                .then(|| bar_chart(l.t("缺少各类必备材料的档案数", "Dossiers lacking each required material"), &bars))
        }
        ReportKind::Findings => {
            // The ten findings that concern the most persons.
            let (field, message, persons) = (col("field")?, col("message")?, col("persons")?);
            let bars: Vec<Bar> = table
                .rows
                .iter()
                .take(10)
                .map(|r| Bar {
                    label: format!("{} · {}", plain(&r[field]), plain(&r[message])),
                    value: number(r.get(persons)),
                    caption: plain(&r[persons]),
                })
                .collect();
            (!bars.is_empty())
                .then(|| bar_chart(l.t("涉及人数最多的校验问题", "The findings that concern the most persons"), &bars))
        }
        ReportKind::Review => {
            // Dossiers by review state, all departments together.
            let bars: Vec<Bar> = ["none", "draft", "in_review", "in_approval", "concluded", "expired"]
                .into_iter()
                .filter_map(|c| {
                    let i = col(c)?;
                    let n: f64 = table.rows.iter().map(|r| number(r.get(i))).sum();
                    Some(Bar { label: column_name(l, c).to_string(), value: n, caption: n.to_string() })
                })
                .collect();
            (!bars.is_empty()).then(|| bar_chart(l.t("档案按专审状态", "Dossiers by review state"), &bars))
        }
        ReportKind::Consultations => {
            // Consultations by state.
            let state = col("state")?;
            let mut counts: std::collections::BTreeMap<String, f64> = Default::default();
            for r in &table.rows {
                *counts.entry(plain(&r[state])).or_default() += 1.0;
            }
            let bars: Vec<Bar> =
                counts.into_iter().map(|(label, value)| Bar { caption: value.to_string(), label, value }).collect();
            (!bars.is_empty()).then(|| bar_chart(l.t("查阅按状态", "Consultations by state"), &bars))
        }
        ReportKind::Turnaround => {
            // Whole requests (created → applied): the median by kind.
            let (kind, step, count, median) = (col("kind")?, col("step")?, col("count")?, col("median_hours")?);
            let bars: Vec<Bar> = table
                .rows
                .iter()
                .filter(|r| plain(&r[step]) == "*" && r[median].is_number())
                .map(|r| Bar {
                    label: kind_name_of(l, &plain(&r[kind])),
                    value: number(r.get(median)),
                    caption: format!("{} h · {}{}", plain(&r[median]), plain(&r[count]), l.t(" 件", " requests")),
                })
                .collect();
            (!bars.is_empty()).then(|| {
                bar_chart(
                    l.t("各类申请从发起到生效的中位时长（小时）", "Median hours from start to applied, by kind"),
                    &bars,
                )
            })
        } // The register is a list; no chart.
        ReportKind::Transfers | ReportKind::Contracts => None,
    }
}

#[derive(Deserialize)]
pub(super) struct ReportQuery {
    /// The structure report's dimension.
    by: Option<String>,
}

/// `GET /reports`: the reports the caller's roles may run.
pub(super) async fn index(State(st): State<AppState>, user: WebUser) -> WebResult<Response> {
    let l = user.lang;
    let available = st.archive.reports().available(&user.principal);
    if !available.any() {
        return Err(crate::service::Error::Forbidden("rule report: no report is for your roles".into()).into());
    }
    let body = html! {
        h1 { (l.t("统计报表", "Reports")) }
        p.note { (l.t("报表只统计您有权查看的范围；每份报表可下载为 CSV 或 Excel（XLSX）。",
            "Reports count only what your roles may see; each can be downloaded as CSV or Excel (XLSX).")) }
        ul.reports {
            @for kind in ReportKind::ALL.into_iter().filter(|k| available.may(*k)) {
                li {
                    @let first = if kind == ReportKind::Structure { format!("?by={}", available.structure[0]) } else { String::new() };
                    h2 { a href={ "/reports/" (kind) (first) } { (report_title(l, kind)) } }
                    p { (report_description(l, kind)) }
                    @if kind == ReportKind::Structure {
                        p.dims {
                            @for (i, d) in available.structure.iter().enumerate() {
                                @if i > 0 { " · " }
                                a href={ "/reports/structure?by=" (d) } { (dimension_name(l, d)) }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(page(l, Some(&user), l.t("统计报表", "Reports"), body).into_response())
}

/// `GET /reports/{name}` (a page) and `GET /reports/{name}.csv|.xlsx` (the download).
pub(super) async fn report(
    State(st): State<AppState>,
    user: WebUser,
    Path(file): Path<String>,
    WebQuery(q): WebQuery<ReportQuery>,
) -> WebResult<Response> {
    let (name, ext) = match file.rsplit_once('.') {
        Some((n, e)) if e == "csv" || e == "xlsx" => (n.to_string(), Some(e.to_string())),
        _ => (file.clone(), None),
    };
    let Some(kind) = ReportKind::parse(&name) else {
        return Err(crate::http::HttpError::NoRoute.into());
    };
    let by = q.by.as_deref().map(str::trim).filter(|s| !s.is_empty()).unwrap_or("department").to_string();
    // The service decides whether the caller may run it, and over which persons.
    let (archive, p, dimension) = (st.archive.clone(), user.principal.clone(), by.clone());
    let whole_page = ext.is_none();
    let (table, departments) = blocking(move || match (kind, whole_page) {
        // The completeness page also shows the departments' rates.
        (ReportKind::Completeness, true) => {
            let r = archive.reports().completeness_report(&p)?;
            Ok((crate::service::reports::completeness_table(&r), Some(r.departments)))
        }
        _ => Ok((archive.reports().report(&p, kind, &dimension)?, None)),
    })
    .await?;
    match ext {
        Some(ext) => match table.file(&ext)? {
            Some((bytes, mime)) => Ok(crate::http::attachment(bytes, mime, &format!("{}.{ext}", table.name))),
            None => Err(crate::http::HttpError::NoRoute.into()),
        },
        None => Ok(report_page(&st, &user, kind, &by, &table, departments.as_deref())),
    }
}

fn report_page(
    st: &AppState,
    user: &WebUser,
    kind: ReportKind,
    by: &str,
    table: &ReportTable,
    departments: Option<&[DepartmentCompleteness]>,
) -> Response {
    let l = user.lang;
    let structure = kind == ReportKind::Structure;
    let title = if structure {
        format!("{}{}{}", report_title(l, kind), l.t(" · 按", " by "), dimension_name(l, by).to_lowercase())
    } else {
        report_title(l, kind).to_string()
    };
    let dims = st.archive.reports().available(&user.principal).structure;
    let query = if structure { format!("?by={}", urlencode(by)) } else { String::new() };
    let body = html! {
        p { a href="/reports" { (l.t("← 全部报表", "← All reports")) } }
        h1 { (title) }
        p.note { (report_description(l, kind)) }
        @if structure && dims.len() > 1 {
            nav.tabs aria-label=(l.t("统计维度", "Dimensions")) {
                @for (i, d) in dims.iter().enumerate() {
                    @if i > 0 { " · " }
                    @if *d == by { strong aria-current="page" { (dimension_name(l, d)) } }
                    @else { a href={ "/reports/structure?by=" (d) } { (dimension_name(l, d)) } }
                }
            }
        }
        p.downloads {
            (l.t("下载：", "Download: "))
            a.button href={ "/reports/" (kind) ".csv" (query) } download { "CSV" } " "
            a.button href={ "/reports/" (kind) ".xlsx" (query) } download { "Excel (XLSX)" }
        }
        @if let Some(c) = chart(l, kind, table, &title) { (c) }
        @if let Some(ds) = departments {
            h2 { (l.t("各部门档案完整率", "Completeness by department")) }
            table.departments {
                thead { tr {
                    th scope="col" { (l.t("部门", "Department")) }
                    th scope="col" { (l.t("档案数", "Dossiers")) }
                    th scope="col" { (l.t("有问题的档案", "With findings")) }
                    th scope="col" { (l.t("平均完整率", "Mean rate")) }
                } }
                tbody { @for d in ds { tr {
                    td { (d.name) } td.num { (d.dossiers) } td.num { (d.with_findings) } td.num { (d.mean_percent) "%" }
                } } }
            }
            h2 { (l.t("有问题的档案", "Dossiers with findings")) }
        }
        (report_table(l, table, &title))
    };
    page(l, Some(user), &title, body).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::service::reports::STRUCTURE_DIMENSIONS;

    #[test]
    fn a_bar_chart_has_one_bar_per_row_scaled_to_the_largest() {
        let bars = vec![
            Bar { label: "财务部".into(), value: 4.0, caption: "4 · 66.7%".into() },
            Bar { label: "法务部".into(), value: 2.0, caption: "2 · 33.3%".into() },
            Bar { label: "空".into(), value: 0.0, caption: "0".into() },
        ];
        let svg = bar_chart("结构", &bars).into_string();
        assert_eq!(svg.matches("<rect class=\"bar\"").count(), 3, "{svg}");
        assert!(
            svg.contains("role=\"img\"") && svg.contains("aria-label=\"结构\"") && svg.contains("<title>结构</title>")
        );
        assert!(svg.contains("width=\"340\"") && svg.contains("width=\"170\"") && svg.contains("width=\"0\""), "{svg}");
        assert!(!svg.contains("style="), "{svg}");
    }

    #[test]
    fn every_structure_dimension_and_report_has_a_name() {
        for d in STRUCTURE_DIMENSIONS {
            assert_ne!(dimension_name(Lang::Zh, d), "?");
        }
        for k in ReportKind::ALL {
            assert_eq!(report_title(Lang::En, k), k.label().1);
            assert!(!report_description(Lang::Zh, k).is_empty() && !report_description(Lang::En, k).is_empty());
        }
    }
}
