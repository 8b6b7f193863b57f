//! Legal's pages (docs/DOMAIN.md §4e): the contract register with its filters and reminders (`/contracts`), and
//! a contract material's page (`/materials/{id}/contract`): its record — filled from the terms proposed from its
//! text until one is recorded —, the comparison of its versions, and the review notes with the forms that add and
//! resolve them. The pages call the service functions `GET /api/v1/contracts`, `…/contract`, `…/contract/proposal`
//! and `…/contract/notes` call; whoever may not see contract records gets the same 404 as from the API.

use super::error::{WebForm, WebQuery, WebResult, parse_id};
use super::layout::{page, step_name, when};
use super::nonempty;
use super::session::{Lang, WebUser, csrf_field};
use crate::http::{AppState, blocking};
use crate::model::contract::{
    ContractKind, ContractStatus, ContractTerms, NewNote, NonCompete, NoteSeverity, ReminderKind, ReviewNote,
};
use crate::model::{MaterialId, PartialDate};
use crate::service::contracts::{ContractReminder, ContractState, RegisterQuery, RegisterRow};
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use serde::Deserialize;

fn state_label(l: Lang, s: ContractState) -> &'static str {
    match s {
        ContractState::Active => l.t("履行中", "in force"),
        ContractState::OpenTerm => l.t("无固定期限", "open term"),
        ContractState::Ended => l.t("已到期", "ended"),
        ContractState::Renewed => l.t("已续订", "renewed"),
        ContractState::Terminated => l.t("已解除", "terminated"),
    }
}

fn reminder_label(l: Lang, k: ReminderKind) -> &'static str {
    match k {
        ReminderKind::Ending => l.t("合同即将到期", "term ending"),
        ReminderKind::Ended => l.t("合同已到期未处理", "term ended, not dealt with"),
        ReminderKind::ProbationEnding => l.t("试用期即将届满", "probation ending"),
    }
}

fn severity_label(l: Lang, s: NoteSeverity) -> &'static str {
    match s {
        NoteSeverity::Info => l.t("提示", "info"),
        NoteSeverity::Warning => l.t("须修改", "warning"),
        NoteSeverity::Blocking => l.t("阻止审批", "blocking"),
    }
}

fn date(d: Option<PartialDate>) -> String {
    d.map(|d| d.to_string()).unwrap_or_else(|| "—".into())
}

/// The reminders, soonest first, as the register and the inbox show them.
pub(super) fn reminders_section(l: Lang, items: &[ContractReminder]) -> Markup {
    html! {
        section.card #contract-reminders aria-label=(l.t("合同提醒", "Contract reminders")) {
            h2 { (l.t("合同提醒", "Contract reminders")) }
            @if items.is_empty() {
                p { (l.t("近期没有到期或试用期届满的合同。", "No contract term or probation ends soon.")) }
            } @else {
                ul {
                    @for r in items {
                        li.reminder data-kind=(r.kind.as_str()) {
                            strong { (reminder_label(l, r.kind)) } " · "
                            a href={ "/persons/" (r.person_id) } { (r.person_name) } " · " (r.kind_label) " · "
                            (r.on.to_string())
                            @if r.days >= 0 { " (" (l.t("还有 ", "in ")) (r.days) (l.t(" 天", " days")) ")" }
                            @else { " (" (l.t("已过 ", "")) (-r.days) (l.t(" 天", " days ago")) ")" }
                            @if let Some(m) = r.material_id {
                                " · " a href={ "/materials/" (m) "/contract" } { (l.t("合同登记", "contract record")) }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// The register's filters as the page's query carries them (check boxes send `1`).
#[derive(Deserialize, Default)]
pub(super) struct RegisterForm {
    as_of: Option<String>,
    ending_within: Option<String>,
    open_term: Option<String>,
    non_compete_active: Option<String>,
    kind: Option<String>,
    reminders: Option<String>,
}

impl RegisterForm {
    fn query(&self) -> WebResult<RegisterQuery> {
        let as_of = match nonempty(&self.as_of) {
            Some(s) => Some(parse_date("as_of", &s)?.last_day()),
            None => None,
        };
        let ending_within =
            match nonempty(&self.ending_within) {
                Some(s) => Some(s.parse::<u32>().ok().filter(|n| *n <= 3660).ok_or_else(|| {
                    crate::service::Error::invalid("ending_within", "a number of days from 0 to 3660")
                })?),
                None => None,
            };
        let kind = match nonempty(&self.kind) {
            Some(k) => Some(ContractKind::parse(&k).ok_or_else(|| crate::service::Error::invalid("kind", "a kind"))?),
            None => None,
        };
        let flag = |v: &Option<String>| nonempty(v).is_some();
        Ok(RegisterQuery {
            as_of,
            ending_within,
            open_term: flag(&self.open_term),
            non_compete_active: flag(&self.non_compete_active),
            person_id: None,
            kind,
            reminders: flag(&self.reminders),
        })
    }
}

fn parse_date(field: &'static str, s: &str) -> WebResult<PartialDate> {
    s.parse::<PartialDate>().map_err(|_| crate::service::Error::invalid(field, "a date YYYY-MM-DD").into())
}

fn kind_options(selected: Option<ContractKind>, any: Option<&str>) -> Markup {
    html! {
        @if let Some(a) = any { option value="" selected[selected.is_none()] { (a) } }
        @for k in ContractKind::ALL {
            option value=(k.as_str()) selected[selected == Some(k)] { (k.label()) }
        }
    }
}

/// `GET /contracts`: the register, its filters and the reminders.
pub(super) async fn register(
    State(st): State<AppState>,
    user: WebUser,
    WebQuery(f): WebQuery<RegisterForm>,
) -> WebResult<Response> {
    let l = user.lang;
    let q = f.query()?;
    let on = q.as_of.unwrap_or_else(crate::model::today);
    let archive = st.archive.clone();
    let p = user.principal.clone();
    let (rows, reminders) = blocking(move || {
        let rows = archive.contracts().register(&p, &q)?;
        let reminders = archive.contracts().reminders(&p, on)?;
        Ok((rows, reminders))
    })
    .await?;
    let title = l.t("合同登记簿", "Contract register");
    let checkbox = |name: &'static str, zh: &'static str, en: &'static str, v: &Option<String>| {
        html! {
            p.check {
                input type="checkbox" id=(name) name=(name) value="1" checked[nonempty(v).is_some()];
                label for=(name) { (l.t(zh, en)) }
            }
        }
    };
    let body = html! {
        h1 { (title) }
        (reminders_section(l, &reminders))
        form.filters method="get" action="/contracts" {
            p {
                label for="ending_within" { (l.t("到期天数以内", "Ending within (days)")) }
                input #ending_within type="number" name="ending_within" min="0" max="3660" value=(f.ending_within.clone().unwrap_or_default());
            }
            p {
                label for="kind" { (l.t("合同类型", "Kind")) }
                select #kind name="kind" { (kind_options(f.kind.as_deref().and_then(ContractKind::parse), Some(l.t("全部", "all")))) }
            }
            p {
                label for="as_of" { (l.t("计算日期", "As of")) }
                input #as_of type="date" name="as_of" value=(f.as_of.clone().unwrap_or_default());
            }
            (checkbox("open_term", "仅无固定期限", "open term only", &f.open_term))
            (checkbox("non_compete_active", "仅竞业限制期内", "non-compete in force only", &f.non_compete_active))
            (checkbox("reminders", "仅有提醒", "with a reminder only", &f.reminders))
            p { button type="submit" { (l.t("筛选", "Filter")) } }
        }
        p {
            a href="/reports/contracts.csv" { (l.t("导出 CSV", "CSV")) } " · "
            a href="/reports/contracts.xlsx" { (l.t("导出 Excel", "Excel")) }
        }
        table #contract-register {
            thead { tr {
                th scope="col" { (l.t("姓名", "Name")) } th scope="col" { (l.t("部门", "Department")) }
                th scope="col" { (l.t("类型", "Kind")) } th scope="col" { (l.t("期限", "Term")) }
                th scope="col" { (l.t("试用期至", "Probation until")) } th scope="col" { (l.t("竞业限制", "Non-compete")) }
                th scope="col" { (l.t("状态", "State")) } th scope="col" { (l.t("剩余天数", "Days left")) }
                th scope="col" { (l.t("审查意见", "Review notes")) } th scope="col" { (l.t("登记", "Record")) }
            } }
            tbody {
                @for r in &rows { (register_row(l, r)) }
            }
        }
        @if rows.is_empty() { p { (l.t("没有符合条件的合同。", "No contract matches.")) } }
    };
    Ok(page(l, Some(&user), title, body).into_response())
}

fn register_row(l: Lang, r: &RegisterRow) -> Markup {
    let t = &r.terms;
    html! {
        tr data-state=(format!("{:?}", r.state).to_lowercase()) {
            td { a href={ "/persons/" (r.person_id) } { (r.person_name) } }
            td { (r.department) }
            td { (r.kind_label) }
            td { (date(t.from)) " – " (t.to.map(|d| d.to_string()).unwrap_or_else(|| l.t("无固定期限", "open").into())) }
            td { (date(t.probation_until)) }
            td {
                @if let Some(n) = &t.non_compete {
                    (n.months) (l.t(" 个月", " months"))
                    @if r.non_compete_active { " · " span.badge { (l.t("履行中", "in force")) } }
                } @else { "—" }
            }
            td { (state_label(l, r.state)) }
            td.num { (r.days_left.map(|d| d.to_string()).unwrap_or_else(|| "—".into())) }
            td {
                @if r.blocking_notes > 0 { span.badge.overdue { (r.blocking_notes) (l.t(" 条阻止审批", " blocking")) } " " }
                @if r.open_notes > 0 { (r.open_notes) (l.t(" 条未处理", " open")) } @else { "—" }
            }
            td {
                @if let Some(m) = r.material_id {
                    a href={ "/materials/" (m) "/contract" } { (r.title.as_deref().unwrap_or("—")) }
                } @else { (l.t("（人员信息所列，无合同文本）", "(person record only)")) }
            }
        }
    }
}

/// `GET /materials/{id}/contract`: the record or the proposal, the form, the comparison, the notes.
pub(super) async fn show(State(st): State<AppState>, user: WebUser, Path(id): Path<String>) -> WebResult<Response> {
    let id: MaterialId = parse_id(&id)?;
    let l = user.lang;
    let archive = st.archive.clone();
    let p = user.principal.clone();
    let (m, row, proposal, notes) = blocking(move || {
        let m = archive.materials().get(&p, id)?;
        let row = match archive.contracts().get(&p, id, crate::model::today()) {
            Ok(r) => Some(r),
            Err(crate::service::Error::NotFound(_)) => {
                // Without a record: 404 alike for a material the caller may not know (the notes say which).
                None
            }
            Err(e) => return Err(e),
        };
        let notes = archive.contracts().notes(&p, id)?;
        // The proposal while nothing is recorded (and the text is extracted).
        let proposal = if row.is_none() { archive.contracts().propose(&p, id).ok() } else { None };
        Ok((m, row, proposal, notes))
    })
    .await?;
    let terms = row.as_ref().map(|r| r.terms.clone()).or_else(|| proposal.as_ref().map(|p| p.terms.clone()));
    let title = format!("{} · {}", m.meta.title, l.t("合同登记与审查", "Contract record and review"));
    let body = html! {
        h1 { (title) }
        p { a href={ "/materials/" (id) } { (l.t("← 返回材料", "← Back to the material")) } " · "
            a href="/contracts" { (l.t("合同登记簿", "Contract register")) } }
        @if m.version > 1 {
            p { a.button href={ "/materials/" (id) "/versions/" (m.version - 1) "/diff/" (m.version) } {
                (l.t("比较第 ", "Compare version ")) (m.version - 1) (l.t(" 版与第 ", " with ")) (m.version) (l.t(" 版", ""))
            } }
        }
        @if let Some(r) = &row {
            section.card #contract-record {
                h2 { (l.t("登记信息", "Recorded terms")) }
                dl.fields {
                    dt { (l.t("类型", "Kind")) } dd { (r.kind_label) }
                    dt { (l.t("状态", "State")) } dd.contract-state { (state_label(l, r.state)) }
                    @if let Some(d) = r.days_left { dt { (l.t("剩余天数", "Days left")) } dd { (d) } }
                    dt { (l.t("登记版本", "Record version")) } dd { (r.version.unwrap_or(0)) }
                    @if let (Some(by), Some(at)) = (&r.updated_by, &r.updated_at) {
                        dt { (l.t("登记人", "Recorded by")) } dd { (by) " · " (at) }
                    }
                }
                @if !r.reminders.is_empty() {
                    ul { @for x in &r.reminders { li.reminder { strong { (reminder_label(l, x.kind)) } " · " (x.on.to_string()) } } }
                }
                @if !r.findings.is_empty() { (super::layout::findings(l, &r.findings)) }
            }
        } @else if let Some(pr) = &proposal {
            p.note #contract-proposal {
                (l.t("尚未登记。下表已按合同文字预填（", "Not recorded yet. The form is filled from the contract's text ("))
                (if pr.found.is_empty() { "—".to_string() } else { pr.found.join(", ") })
                (l.t("），请核对后保存。", "): check it before saving."))
            }
        } @else {
            p.note { (l.t("尚未登记；文字尚未提取，无法预填。", "Not recorded yet; the text is not extracted, nothing is proposed.")) }
        }
        section #contract-form {
            h2 { (if row.is_some() { l.t("修改登记", "Change the record") } else { l.t("登记合同", "Record the contract") }) }
            (terms_form(&user, id, terms.as_ref(), row.as_ref().and_then(|r| r.version)))
        }
        section #contract-notes {
            h2 { (l.t("审查意见", "Review notes")) }
            @if notes.is_empty() { p { (l.t("暂无审查意见。", "No review notes.")) } }
            @for n in &notes { (note_card(&user, id, n)) }
            h3 { (l.t("添加审查意见", "Add a review note")) }
            form method="post" action={ "/materials/" (id) "/contract/notes" } {
                (csrf_field(&user))
                p { label for="clause" { (l.t("所涉条款（引用）", "Clause (quoted)")) }
                    textarea #clause name="clause" maxlength="2000" rows="3" {} }
                p { label for="finding" { (l.t("审查意见", "Finding")) }
                    textarea #finding name="finding" required maxlength="2000" rows="3" {} }
                p { label for="severity" { (l.t("性质", "Severity")) }
                    select #severity name="severity" {
                        @for s in NoteSeverity::ALL {
                            option value=(s.as_str()) selected[s == NoteSeverity::Warning] { (severity_label(l, s)) }
                        }
                    }
                }
                p { button type="submit" { (l.t("添加", "Add")) } }
            }
        }
    };
    Ok(page(l, Some(&user), &title, body).into_response())
}

fn note_card(user: &WebUser, id: MaterialId, n: &ReviewNote) -> Markup {
    let l = user.lang;
    let mine = crate::model::Role::parse(&n.role).is_some_and(|r| user.principal.subject.roles.contains(&r));
    html! {
        article.note-card data-severity=(n.severity.as_str()) data-resolved=(n.resolved) {
            p {
                strong { (severity_label(l, n.severity)) } " · " (n.author) " (" (step_name(l, &format!("role:{}", n.role))) ") · " (when(n.at))
                " · " (l.t("第 ", "version ")) (n.version) (l.t(" 版", ""))
                @if n.resolved { " · " span.badge { (l.t("已处理", "resolved")) } }
            }
            @if !n.clause.is_empty() { blockquote { (n.clause) } }
            p { (n.finding) }
            @if let (true, Some(by)) = (n.resolved, &n.resolved_by) {
                p.note { (l.t("处理：", "Resolved by ")) (by) " · " (n.resolved_at.map(when).unwrap_or_default())
                    @if let Some(r) = &n.resolution { " · " (r) } }
            }
            @if !n.resolved && mine {
                form method="post" action={ "/materials/" (id) "/contract/notes/" (n.id) "/resolve" } {
                    (csrf_field(user))
                    p { label for={ "resolution-" (n.id) } { (l.t("处理说明", "Resolution")) }
                        input id={ "resolution-" (n.id) } type="text" name="resolution" maxlength="2000"; }
                    p { button type="submit" { (l.t("标记为已处理", "Mark resolved")) } }
                }
            }
        }
    }
}

fn terms_form(user: &WebUser, id: MaterialId, t: Option<&ContractTerms>, version: Option<u32>) -> Markup {
    let l = user.lang;
    let d = |f: fn(&ContractTerms) -> Option<PartialDate>| t.and_then(f).map(|x| x.to_string()).unwrap_or_default();
    let nc = t.and_then(|t| t.non_compete.as_ref());
    let status = t.map(|t| t.status).unwrap_or_default();
    let field = |name: &'static str, zh: &'static str, en: &'static str, value: String| {
        html! { p { label for=(name) { (l.t(zh, en)) } input id=(name) type="text" name=(name) maxlength="200" value=(value); } }
    };
    html! {
        form method="post" action={ "/materials/" (id) "/contract" } {
            (csrf_field(user))
            @if let Some(v) = version { input type="hidden" name="version" value=(v); }
            p { label for="kind" { (l.t("合同类型", "Kind")) }
                select #kind name="kind" { (kind_options(Some(t.map(|t| t.kind).unwrap_or(ContractKind::Labour)), None)) } }
            (field("number", "合同编号", "Number", t.and_then(|t| t.number.clone()).unwrap_or_default()))
            p { label for="parties" { (l.t("当事人（每行一个）", "Parties (one a line)")) }
                textarea #parties name="parties" rows="2" maxlength="1700" { (t.map(|t| t.parties.join("\n")).unwrap_or_default()) } }
            (field("signed_on", "签订日期", "Signed on", d(|t| t.signed_on)))
            (field("from", "期限自", "Term from", d(|t| t.from)))
            (field("to", "期限至（无固定期限留空）", "Term to (empty: open term)", d(|t| t.to)))
            (field("probation_until", "试用期至", "Probation until", d(|t| t.probation_until)))
            (field("renews", "续订的合同（材料编号）", "Renews (material id)", t.and_then(|t| t.renews).map(|m| m.to_string()).unwrap_or_default()))
            (field("nc_months", "竞业限制期限（月）", "Non-compete (months)", nc.map(|n| n.months.to_string()).unwrap_or_default()))
            (field("nc_compensation", "竞业限制经济补偿（元/月）", "Non-compete compensation (yuan a month)", nc.and_then(|n| n.monthly_compensation).map(|c| c.to_string()).unwrap_or_default()))
            (field("nc_from", "竞业限制起始日", "Non-compete from", nc.and_then(|n| n.from).map(|x| x.to_string()).unwrap_or_default()))
            p { label for="status" { (l.t("状态", "Status")) }
                select #status name="status" {
                    @for s in ContractStatus::ALL {
                        option value=(s.as_str()) selected[s == status] { (s.label()) }
                    }
                }
            }
            p { button type="submit" { (l.t("保存登记", "Save the record")) } }
        }
    }
}

/// The record form as posted.
#[derive(Deserialize)]
pub(super) struct TermsForm {
    csrf: Option<String>,
    version: Option<String>,
    kind: Option<String>,
    number: Option<String>,
    parties: Option<String>,
    signed_on: Option<String>,
    from: Option<String>,
    to: Option<String>,
    probation_until: Option<String>,
    renews: Option<String>,
    nc_months: Option<String>,
    nc_compensation: Option<String>,
    nc_from: Option<String>,
    status: Option<String>,
}

impl TermsForm {
    fn terms(&self) -> WebResult<ContractTerms> {
        let date = |field: &'static str, v: &Option<String>| nonempty(v).map(|s| parse_date(field, &s)).transpose();
        let kind = nonempty(&self.kind).and_then(|k| ContractKind::parse(&k));
        let kind = kind.ok_or_else(|| crate::service::Error::invalid("kind", "a contract kind"))?;
        let status = match nonempty(&self.status) {
            None => ContractStatus::Active,
            Some(s) => ContractStatus::parse(&s)
                .ok_or_else(|| crate::service::Error::invalid("status", "active, renewed or terminated"))?,
        };
        let non_compete = match nonempty(&self.nc_months) {
            None => None,
            Some(m) => Some(NonCompete {
                months: m.parse().map_err(|_| crate::service::Error::invalid("non_compete.months", "a number"))?,
                monthly_compensation: nonempty(&self.nc_compensation)
                    .map(|c| c.parse::<f64>().ok().filter(|c| c.is_finite()))
                    .map(|c| {
                        c.ok_or_else(|| crate::service::Error::invalid("non_compete.monthly_compensation", "a sum"))
                    })
                    .transpose()?,
                from: date("non_compete.from", &self.nc_from)?,
            }),
        };
        Ok(ContractTerms {
            kind,
            number: nonempty(&self.number),
            parties: self
                .parties
                .as_deref()
                .unwrap_or("")
                .lines()
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect(),
            signed_on: date("signed_on", &self.signed_on)?,
            from: date("from", &self.from)?,
            to: date("to", &self.to)?,
            probation_until: date("probation_until", &self.probation_until)?,
            renews: nonempty(&self.renews).map(|s| parse_id(&s)).transpose()?,
            non_compete,
            status,
        })
    }
}

/// `POST /materials/{id}/contract`: records the terms (the version the form was read at guards the change).
pub(super) async fn save(
    State(st): State<AppState>,
    user: WebUser,
    Path(id): Path<String>,
    WebForm(f): WebForm<TermsForm>,
) -> WebResult<Response> {
    user.check_csrf(&st, f.csrf.as_deref())?;
    let id: MaterialId = parse_id(&id)?;
    let terms = f.terms()?;
    let version = nonempty(&f.version).map(|v| parse_id::<u32>(&v)).transpose()?;
    let archive = st.archive.clone();
    let p = user.principal.clone();
    blocking(move || archive.contracts().save(&p, id, terms, version)).await?;
    Ok(Redirect::to(&format!("/materials/{id}/contract")).into_response())
}

/// The note form as posted.
#[derive(Deserialize)]
pub(super) struct NoteForm {
    csrf: Option<String>,
    #[serde(default)]
    clause: String,
    #[serde(default)]
    finding: String,
    severity: Option<String>,
}

/// `POST /materials/{id}/contract/notes`: adds a review note.
pub(super) async fn add_note(
    State(st): State<AppState>,
    user: WebUser,
    Path(id): Path<String>,
    WebForm(f): WebForm<NoteForm>,
) -> WebResult<Response> {
    user.check_csrf(&st, f.csrf.as_deref())?;
    let id: MaterialId = parse_id(&id)?;
    let severity = match nonempty(&f.severity) {
        None => NoteSeverity::Warning,
        Some(s) => NoteSeverity::parse(&s)
            .ok_or_else(|| crate::service::Error::invalid("severity", "info, warning or blocking"))?,
    };
    let new = NewNote { clause: f.clause, finding: f.finding, severity };
    let archive = st.archive.clone();
    let p = user.principal.clone();
    blocking(move || archive.contracts().add_note(&p, id, new)).await?;
    Ok(Redirect::to(&format!("/materials/{id}/contract#contract-notes")).into_response())
}

/// The resolve form as posted.
#[derive(Deserialize)]
pub(super) struct ResolveForm {
    csrf: Option<String>,
    resolution: Option<String>,
}

/// `POST /materials/{id}/contract/notes/{note}/resolve`: resolves a note (its role's holders only).
pub(super) async fn resolve(
    State(st): State<AppState>,
    user: WebUser,
    Path((id, note)): Path<(String, String)>,
    WebForm(f): WebForm<ResolveForm>,
) -> WebResult<Response> {
    user.check_csrf(&st, f.csrf.as_deref())?;
    let id: MaterialId = parse_id(&id)?;
    let archive = st.archive.clone();
    let p = user.principal.clone();
    let resolution = nonempty(&f.resolution);
    blocking(move || archive.contracts().resolve(&p, id, &note, resolution)).await?;
    Ok(Redirect::to(&format!("/materials/{id}/contract#contract-notes")).into_response())
}

/// On a request's page: the contracts its changes name, each with the comparison of its last two versions and
/// its unresolved notes, where the caller sees contract records.
pub(super) fn request_contracts(
    archive: &crate::service::Archive,
    p: &crate::service::Principal,
    changes: &serde_json::Value,
) -> Vec<(MaterialId, String, u32, Vec<ReviewNote>)> {
    let named = changes.get("contracts").and_then(|c| c.as_array()).into_iter().flatten();
    let ids: Vec<MaterialId> =
        named.filter_map(|c| c.get("material_id").and_then(|m| m.as_str()).and_then(|m| m.parse().ok())).collect();
    ids.into_iter()
        .filter_map(|id| {
            let notes = archive.contracts().notes(p, id).ok()?;
            let m = archive.materials().get(p, id).ok()?;
            Some((id, m.meta.title.clone(), m.version, notes.into_iter().filter(|n| !n.resolved).collect()))
        })
        .collect()
}

/// The section [`request_contracts`] fills.
pub(super) fn request_section(l: Lang, items: &[(MaterialId, String, u32, Vec<ReviewNote>)]) -> Markup {
    html! {
        @if !items.is_empty() {
            section #request-contracts {
                h2 { (l.t("所涉合同", "Contracts it changes")) }
                @for (id, title, version, notes) in items {
                    article.card {
                        h3 { a href={ "/materials/" (id) "/contract" } { (title) } }
                        @if *version > 1 {
                            p { a href={ "/materials/" (id) "/versions/" (version - 1) "/diff/" (version) } {
                                (l.t("查看第 ", "Compare version ")) (version - 1) (l.t(" 版与第 ", " with ")) (version) (l.t(" 版的差异", ""))
                            } }
                        }
                        @for n in notes {
                            p class=(if n.severity == NoteSeverity::Blocking { "error" } else { "note" }) {
                                strong { (severity_label(l, n.severity)) } " · " (n.finding)
                            }
                        }
                    }
                }
            }
        }
    }
}
