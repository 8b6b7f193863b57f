//! Reports for management: cadre structure, dossier completeness, validation findings, digitization progress
//! (and workflow turnaround, in `workflows`). Each is permission-aware — HR and leaders see the whole
//! organisation, a department head their own department, finance salary aggregates only, administration the
//! custody reports — and each is a [`ReportTable`] that the API serves as JSON, CSV or XLSX.

use super::Reports;
use super::{Error, Principal, Result};
use crate::model::AuditAction;
use crate::model::completeness;
use crate::model::{Material, Person, PersonId, PersonStatus, ReportKind, Role, TextStatus, WithText};
use crate::store::Table;
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};

/// A text cell made safe for a spreadsheet: one that starts like a formula (`=`, `+`, `-`, `@`, a tab or a
/// carriage return) gets a leading `'`, so that Excel or LibreOffice shows it as text instead of evaluating it.
/// Every CSV and XLSX the archive writes passes its text cells through this (reports, the audit export).
pub fn spreadsheet_safe(s: &str) -> std::borrow::Cow<'_, str> {
    if s.starts_with(['=', '+', '-', '@', '\t', '\r']) { format!("'{s}").into() } else { s.into() }
}

/// A report as a table: what CSV and XLSX are written from.
#[derive(Clone, Debug, Serialize)]
pub struct ReportTable {
    /// The report's name (also the sheet's name).
    pub name: String,
    /// Column headings.
    pub columns: Vec<String>,
    /// Rows: text or numbers.
    pub rows: Vec<Vec<serde_json::Value>>,
}

impl ReportTable {
    /// CSV (UTF-8 with a BOM, so that Excel on a Chinese desktop opens it as UTF-8).
    pub fn to_csv(&self) -> String {
        let mut w = csv::Writer::from_writer(Vec::new());
        let _ = w.write_record(&self.columns);
        for row in &self.rows {
            let cells: Vec<String> = row
                .iter()
                .map(|v| match v {
                    serde_json::Value::String(s) => spreadsheet_safe(s).into_owned(),
                    serde_json::Value::Null => String::new(),
                    other => other.to_string(),
                })
                .collect();
            let _ = w.write_record(&cells);
        }
        format!("\u{feff}{}", String::from_utf8_lossy(&w.into_inner().unwrap_or_default()))
    }

    /// An XLSX workbook with one sheet: headings in bold, numbers as numbers.
    pub fn to_xlsx(&self) -> Result<Vec<u8>> {
        let xlsx = |e: rust_xlsxwriter::XlsxError| Error::Internal(format!("cannot write the workbook: {e}"));
        let mut book = rust_xlsxwriter::Workbook::new();
        let sheet = book.add_worksheet();
        let name: String = self.name.chars().filter(|c| !"[]:*?/\\".contains(*c)).take(31).collect();
        sheet.set_name(if name.is_empty() { "report" } else { &name }).map_err(xlsx)?;
        let bold = rust_xlsxwriter::Format::new().set_bold();
        for (c, h) in self.columns.iter().enumerate() {
            sheet.write_string_with_format(0, c as u16, h, &bold).map_err(xlsx)?;
        }
        for (r, row) in self.rows.iter().enumerate() {
            let r = r as u32 + 1;
            for (c, v) in row.iter().enumerate() {
                let c = c as u16;
                match v {
                    serde_json::Value::Number(n) => sheet.write_number(r, c, n.as_f64().unwrap_or(0.0)).map(drop),
                    serde_json::Value::String(s) => sheet.write_string(r, c, spreadsheet_safe(s)).map(drop),
                    serde_json::Value::Null => Ok(()),
                    other => sheet.write_string(r, c, other.to_string()).map(drop),
                }
                .map_err(xlsx)?;
            }
        }
        book.save_to_buffer().map_err(xlsx)
    }

    /// The table as a file to download, `csv` or `xlsx`, with its media type; `None` for another extension.
    pub fn file(&self, ext: &str) -> Result<Option<(Vec<u8>, &'static str)>> {
        Ok(match ext {
            "csv" => Some((self.to_csv().into_bytes(), "text/csv; charset=utf-8")),
            "xlsx" => Some((self.to_xlsx()?, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")),
            _ => None,
        })
    }
}

/// The turnaround figures ([`Reports::turnaround`]) as a table, for CSV and XLSX.
pub fn turnaround_table(items: Vec<super::workflows::Turnaround>) -> ReportTable {
    ReportTable {
        name: "turnaround".into(),
        columns: ["kind", "step", "count", "median_hours", "p90_hours", "overdue"].map(String::from).to_vec(),
        rows: items
            .into_iter()
            .map(|t| {
                vec![
                    t.kind.into(),
                    t.step.into(),
                    t.count.into(),
                    t.median_hours.into(),
                    t.p90_hours.into(),
                    t.overdue.into(),
                ]
            })
            .collect(),
    }
}

/// The dimensions of the structure report.
pub const STRUCTURE_DIMENSIONS: [&str; 7] =
    ["department", "age", "gender", "education", "ethnicity", "rank", "salary_grade"];

/// Who runs each report (a head: for their own department only).
const STRUCTURE_ROLES: [Role; 3] = [Role::Hr, Role::Leader, Role::Head];
const SALARY_ROLES: [Role; 4] = [Role::Hr, Role::Leader, Role::Finance, Role::Head];
const COMPLETENESS_ROLES: [Role; 4] = [Role::Hr, Role::Leader, Role::Admin, Role::Head];
const FINDINGS_ROLES: [Role; 2] = [Role::Hr, Role::Head];
const DIGITIZATION_ROLES: [Role; 3] = [Role::Hr, Role::Admin, Role::Head];
const REVIEW_ROLES: [Role; 4] = [Role::Hr, Role::Leader, Role::Admin, Role::Head];

/// The reports a caller may run: what the UI offers (the report functions still decide on every call).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct AvailableReports {
    /// The structure report's dimensions the caller may ask for (finance: `salary_grade` only).
    pub structure: Vec<&'static str>,
    /// Dossier completeness.
    pub completeness: bool,
    /// Validation findings.
    pub findings: bool,
    /// Digitization progress.
    pub digitization: bool,
    /// Workflow turnaround.
    pub turnaround: bool,
    /// 专审进度.
    pub review: bool,
    /// 查阅登记 (HR and the auditor).
    pub consultations: bool,
    /// 转递登记簿.
    pub transfers: bool,
    /// 合同登记簿 (whoever sees contract records: HR and legal).
    pub contracts: bool,
}

impl AvailableReports {
    /// Whether the caller may run this report (the structure report: by at least one dimension).
    pub fn may(&self, kind: ReportKind) -> bool {
        match kind {
            ReportKind::Structure => !self.structure.is_empty(),
            ReportKind::Completeness => self.completeness,
            ReportKind::Findings => self.findings,
            ReportKind::Digitization => self.digitization,
            ReportKind::Turnaround => self.turnaround,
            ReportKind::Review => self.review,
            ReportKind::Consultations => self.consultations,
            ReportKind::Transfers => self.transfers,
            ReportKind::Contracts => self.contracts,
        }
    }

    /// Whether the caller may run any report.
    pub fn any(&self) -> bool {
        ReportKind::ALL.into_iter().any(|k| self.may(k))
    }
}

/// Which persons a caller's reports cover.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Scope {
    /// The whole organisation.
    All,
    /// One department.
    Department(String),
}

/// A dossier's completeness (docs/DOMAIN.md §5): its rate and findings, and the materials whose stated 页数
/// differs from the pages found (those are not checks of the rate).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct DossierCompleteness {
    /// The person.
    pub person_id: PersonId,
    /// Their name.
    pub name: String,
    /// Their department's code.
    pub department: String,
    /// Its name.
    pub department_name: String,
    /// Checks, rate, findings.
    pub completeness: completeness::Completeness,
    /// Materials whose stated 页数 differs from the pages found.
    pub mismatched: Vec<String>,
}

impl DossierCompleteness {
    /// Whether anything is missing or differs.
    pub fn has_findings(&self) -> bool {
        !self.completeness.findings.is_empty() || !self.mismatched.is_empty()
    }

    /// The names of the required materials missing.
    pub fn missing_required(&self) -> Vec<&str> {
        self.completeness
            .findings
            .iter()
            .filter(|f| f.kind == completeness::FindingKind::Required)
            .map(|f| f.name.as_str())
            .collect()
    }
}

/// A department's completeness: the mean rate of its dossiers and how many have findings.
#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct DepartmentCompleteness {
    /// The department's code.
    pub department: String,
    /// Its name.
    pub name: String,
    /// Dossiers checked.
    pub dossiers: u64,
    /// Dossiers with a finding (a check failed, or a page count differs).
    pub with_findings: u64,
    /// The mean of the dossiers' rates, 0..1, to four places.
    pub mean_rate: f64,
    /// The same as a percentage, to one place.
    pub mean_percent: f64,
}

/// The completeness report: every dossier in scope, and the departments.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CompletenessReport {
    /// Every dossier checked, in the order of the persons.
    pub dossiers: Vec<DossierCompleteness>,
    /// Per department, by code.
    pub departments: Vec<DepartmentCompleteness>,
}

/// The departments' figures of the dossiers, by department code.
fn departments_of(dossiers: &[DossierCompleteness]) -> Vec<DepartmentCompleteness> {
    let mut by: BTreeMap<&str, (String, u64, u64, f64)> = BTreeMap::new();
    for d in dossiers {
        let e = by.entry(d.department.as_str()).or_insert((d.department_name.clone(), 0, 0, 0.0));
        e.1 += 1;
        e.2 += u64::from(d.has_findings());
        e.3 += d.completeness.rate;
    }
    by.into_iter()
        .map(|(code, (name, n, with, sum))| {
            let mean = if n == 0 { 1.0 } else { sum / n as f64 };
            DepartmentCompleteness {
                department: code.to_string(),
                name,
                dossiers: n,
                with_findings: with,
                mean_rate: (mean * 10_000.0).round() / 10_000.0,
                mean_percent: (mean * 1000.0).round() / 10.0,
            }
        })
        .collect()
}

/// The completeness report as a table: a row per dossier with a finding. The first seven columns are those of
/// old (required materials missing, page counts that differ); the rate and the findings follow.
pub fn completeness_table(r: &CompletenessReport) -> ReportTable {
    let rows = r
        .dossiers
        .iter()
        .filter(|d| d.has_findings())
        .map(|d| {
            let missing = d.missing_required();
            let c = &d.completeness;
            let findings: Vec<String> = c
                .findings
                .iter()
                .map(|f| match &f.evidence {
                    Some(e) => format!("{e}：{}", f.missing),
                    None => f.missing.clone(),
                })
                .collect();
            vec![
                d.person_id.to_string().into(),
                d.name.clone().into(),
                d.department_name.clone().into(),
                (missing.len() as u64).into(),
                missing.join("、").into(),
                (d.mismatched.len() as u64).into(),
                d.mismatched.join("；").into(),
                c.checks.into(),
                c.satisfied.into(),
                c.rate.into(),
                c.percent.into(),
                (c.findings.len() as u64).into(),
                findings.join("；").into(),
            ]
        })
        .collect();
    ReportTable { name: "completeness".into(), columns: COMPLETENESS_COLUMNS.map(String::from).to_vec(), rows }
}

/// The columns of the completeness table.
pub const COMPLETENESS_COLUMNS: [&str; 13] = [
    "person_id",
    "name",
    "department",
    "missing_count",
    "missing",
    "page_mismatches",
    "mismatched",
    "checks",
    "satisfied",
    "rate",
    "percent",
    "findings_count",
    "findings",
];

/// The age bands of the structure report, by the age reached on the day of the report.
fn age_band(age: Option<i32>) -> &'static str {
    match age {
        None => "未知",
        Some(a) if a < 30 => "30岁以下",
        Some(a) if a < 40 => "30-39岁",
        Some(a) if a < 50 => "40-49岁",
        Some(a) if a < 60 => "50-59岁",
        Some(_) => "60岁及以上",
    }
}

/// Age in whole years on `today` of someone born on `birth` (a partial date counts from its first day).
pub fn age_on(birth: crate::model::PartialDate, today: time::Date) -> i32 {
    let b = birth.first_day();
    let mut age = today.year() - b.year();
    if (today.month() as u8, today.day()) < (b.month() as u8, b.day()) {
        age -= 1;
    }
    age
}

fn blank(s: &Option<String>) -> String {
    s.as_deref().map(str::trim).filter(|s| !s.is_empty()).unwrap_or("未填写").to_string()
}

impl Reports<'_> {
    fn report_scope(&self, p: &Principal, report: &str, roles: &[Role]) -> Result<Scope> {
        let has = |r: Role| p.subject.roles.contains(&r);
        if roles.iter().any(|r| *r != Role::Head && has(*r)) {
            return Ok(Scope::All);
        }
        if roles.contains(&Role::Head)
            && has(Role::Head)
            && let Some(d) = &p.subject.department
        {
            return Ok(Scope::Department(d.clone()));
        }
        let names: Vec<String> = roles.iter().map(|r| crate::model::policy::role_name(*r)).collect();
        Err(Error::Forbidden(format!("rule report.{report}: this report is for {}", names.join(", "))))
    }

    /// The reports the caller may run, by the same rules the report functions apply (nothing is read or
    /// audited: this only says which reports to offer).
    pub fn available(&self, p: &Principal) -> AvailableReports {
        let may = |report: &str, roles: &[Role]| self.report_scope(p, report, roles).is_ok();
        let general = may("structure", &STRUCTURE_ROLES);
        let salary = may("structure", &SALARY_ROLES);
        AvailableReports {
            structure: STRUCTURE_DIMENSIONS
                .into_iter()
                .filter(|d| if *d == "salary_grade" { salary } else { general })
                .collect(),
            completeness: may("completeness", &COMPLETENESS_ROLES),
            findings: may("findings", &FINDINGS_ROLES),
            digitization: may("digitization", &DIGITIZATION_ROLES),
            turnaround: self.may_see_turnaround(p),
            review: may("review", &REVIEW_ROLES),
            consultations: self.may_see_consultations(p),
            transfers: self.policy().capability(&p.subject, crate::model::policy::Capability::ManageCustody).allowed
                || self.policy().capability(&p.subject, crate::model::policy::Capability::Export).allowed,
            contracts: self.contracts().keeps_register(p),
        }
    }

    /// Runs the report `kind` (`by` is the structure report's dimension; for digitization, `pages` or `defects`
    /// ask for its tables in pages and dossiers, and of defects).
    pub fn report(&self, p: &Principal, kind: ReportKind, by: &str) -> Result<ReportTable> {
        match kind {
            ReportKind::Structure => self.structure(p, by),
            ReportKind::Completeness => self.completeness(p),
            ReportKind::Findings => self.findings(p),
            ReportKind::Digitization if by == "pages" => self.digitization_pages(p),
            ReportKind::Digitization if by == "defects" => self.digitization_defects(p),
            ReportKind::Digitization => self.digitization(p),
            ReportKind::Turnaround => Ok(turnaround_table(self.turnaround(p)?)),
            ReportKind::Review => self.review_progress(p),
            ReportKind::Consultations => self.consultations(p),
            ReportKind::Transfers => self.transfers().register(p),
            ReportKind::Contracts => self.contracts().register_table(p),
        }
    }

    /// 专审进度 (active persons): per department, dossiers by special review state (none, draft, in review, in
    /// approval, concluded, expired) and the problems found, by kind. HR, leaders and administration: everyone;
    /// heads: their department. The caller's own dossier and relatives' are left out.
    pub fn review_progress(&self, p: &Principal) -> Result<ReportTable> {
        self.audited(p, AuditAction::ReportReview, "report:review", false, || {
            let scope = self.report_scope(p, "review", &REVIEW_ROLES)?;
            let persons: Vec<Person> =
                self.persons_in(&scope)?.into_iter().filter(|person| self.check_person(p, person).is_ok()).collect();
            let rows = self.reviews().progress(&persons, |d| self.department_label(d))?;
            let detail = format!("persons:{}", persons.len());
            Ok((ReportTable { name: "review".into(), columns: super::review::progress_columns(), rows }, Some(detail)))
        })
    }

    /// Active persons in scope.
    fn persons_in(&self, scope: &Scope) -> Result<Vec<Person>> {
        Ok(self
            .store()
            .scan::<Person>(Table::Persons, b"")?
            .into_iter()
            .map(|(_, p)| p)
            .filter(|p| p.status == PersonStatus::Active)
            .filter(|p| match scope {
                Scope::All => true,
                Scope::Department(d) => p.department == *d,
            })
            .collect())
    }

    fn department_label(&self, code: &str) -> String {
        self.department_name(code).unwrap_or_else(|| code.to_string())
    }

    /// Cadre structure (active persons) by one dimension: `department`, `age`, `gender`, `education`,
    /// `ethnicity`, `rank` or `salary_grade`. HR and leaders: everyone; heads: their department; finance: by
    /// salary grade only.
    pub fn structure(&self, p: &Principal, by: &str) -> Result<ReportTable> {
        self.audited(p, AuditAction::ReportStructure, &format!("report:structure:{by}"), false, || {
            if !STRUCTURE_DIMENSIONS.contains(&by) {
                return Err(Error::invalid("by", format!("by must be one of {}", STRUCTURE_DIMENSIONS.join(", "))));
            }
            let scope = if by == "salary_grade" {
                self.report_scope(p, "structure", &SALARY_ROLES)?
            } else {
                self.report_scope(p, "structure", &STRUCTURE_ROLES)?
            };
            let today = crate::model::today();
            let persons = self.persons_in(&scope)?;
            let mut counts: BTreeMap<String, (String, u64)> = BTreeMap::new();
            for person in &persons {
                let (key, label) = match by {
                    "department" => (person.department.clone(), self.department_label(&person.department)),
                    "age" => {
                        let band = age_band(person.birth_date.map(|b| age_on(b, today)));
                        (band.to_string(), band.to_string())
                    }
                    "gender" => match person.gender {
                        Some(crate::model::person::Gender::Male) => ("male".into(), "男".into()),
                        Some(crate::model::person::Gender::Female) => ("female".into(), "女".into()),
                        None => ("unknown".into(), "未知".into()),
                    },
                    "education" => (blank(&person.education), blank(&person.education)),
                    "ethnicity" => (blank(&person.ethnicity), blank(&person.ethnicity)),
                    "rank" => (blank(&person.rank), blank(&person.rank)),
                    _ => (blank(&person.salary_grade), blank(&person.salary_grade)),
                };
                counts.entry(key).or_insert((label, 0)).1 += 1;
            }
            let total = persons.len() as u64;
            let mut rows: Vec<(String, String, u64)> = counts.into_iter().map(|(k, (l, n))| (k, l, n)).collect();
            if by != "age" {
                rows.sort_by(|a, b| b.2.cmp(&a.2).then(a.0.cmp(&b.0)));
            } else {
                let order = ["30岁以下", "30-39岁", "40-49岁", "50-59岁", "60岁及以上", "未知"];
                rows.sort_by_key(|r| order.iter().position(|o| *o == r.0).unwrap_or(order.len()));
            }
            let share = |n: u64| if total == 0 { 0.0 } else { (n as f64 * 1000.0 / total as f64).round() / 10.0 };
            Ok((
                ReportTable {
                    name: format!("structure-{by}"),
                    columns: vec!["key".into(), "label".into(), "count".into(), "percent".into()],
                    rows: rows
                        .into_iter()
                        .map(|(k, l, n)| vec![k.into(), l.into(), n.into(), share(n).into()])
                        .collect(),
                },
                Some(format!("persons:{total}")),
            ))
        })
    }

    /// Dossier completeness (active persons) as a table: a row for each dossier with a finding — a required
    /// material missing, a 成套 rule not met (`model::completeness`, docs/DOMAIN.md §5), a material whose stated
    /// 页数 differs from the pages found — with its rate. See [`Reports::completeness_report`] for who sees what.
    pub fn completeness(&self, p: &Principal) -> Result<ReportTable> {
        Ok(completeness_table(&self.completeness_report(p)?))
    }

    /// Dossier completeness (active persons): every dossier in scope checked against the completeness rules,
    /// with its rate and findings, and the rate per department. HR, leaders and administration: everyone; heads:
    /// their department. Only dossiers the caller may see count (never the caller's own), and of them only the
    /// categories the caller may list and the record lists the caller may see.
    pub fn completeness_report(&self, p: &Principal) -> Result<CompletenessReport> {
        self.audited(p, AuditAction::ReportCompleteness, "report:completeness", false, || {
            let scope = self.report_scope(p, "completeness", &COMPLETENESS_ROLES)?;
            let persons = self.persons_in(&scope)?;
            let by_person = self.materials_by_person()?;
            let mut dossiers = Vec::new();
            for person in &persons {
                let Ok(fields) = self.check_person(p, person) else { continue };
                let held = by_person.get(&person.id).map(Vec::as_slice).unwrap_or_default();
                dossiers.push(self.dossier_completeness_of(p, person, &fields, held));
            }
            let departments = departments_of(&dossiers);
            let with_findings = dossiers.iter().filter(|d| d.has_findings()).count();
            let detail = format!("persons:{} incomplete:{with_findings}", persons.len());
            Ok((CompletenessReport { dossiers, departments }, Some(detail)))
        })
    }

    /// One dossier's completeness, for whoever may see the person and list its catalogue (docs/DOMAIN.md §5):
    /// the checks of the categories the caller may list and the record lists the caller may see. Audited as
    /// `report.completeness` on the person.
    pub fn dossier_completeness(&self, p: &Principal, person_id: PersonId) -> Result<DossierCompleteness> {
        self.audited(p, AuditAction::ReportCompleteness, &format!("person:{person_id}"), false, || {
            let person = self.persons().load_person(person_id)?;
            let fields = self.check_person(p, &person)?;
            let mut held = Vec::new();
            for m in self.persons().live_materials(person_id)? {
                // What the dossier holds: filed, not destroyed (a received material waits in the 待归档 queue).
                if m.destroyed_by.is_none() && !m.awaiting_filing {
                    held.push(self.materials().with_text(m)?);
                }
            }
            let d = self.dossier_completeness_of(p, &person, &fields, &held);
            let detail = format!("checks:{} satisfied:{}", d.completeness.checks, d.completeness.satisfied);
            Ok((d, Some(detail)))
        })
    }

    /// A dossier checked against the rules, as the caller may see it (the caller may see the person).
    fn dossier_completeness_of(
        &self,
        p: &Principal,
        person: &Person,
        fields: &crate::model::policy::FieldAccess,
        materials: &[WithText<Material>],
    ) -> DossierCompleteness {
        let may_list = self.listable(p);
        // Within the caller's 密级 clearance only (docs/DOMAIN.md §3).
        let held: Vec<&WithText<Material>> = materials
            .iter()
            .filter(|m| may_list(person, &m.meta.category) && m.meta.secrecy.unwrap_or(0) <= p.subject.clearance)
            .collect();
        let record = completeness::Record {
            appointments: fields.records.then_some(person.appointments.as_slice()),
            assessments: fields.assessments.then_some(person.assessments.as_slice()),
            party_member: person.party_join.is_some(),
        };
        let seen: Vec<completeness::Held<'_>> = held.iter().map(|m| completeness::Held::of(&m.record)).collect();
        let c = completeness::evaluate(self.completeness_rules(), self.scheme(), &record, &seen, &|code: &str| {
            may_list(person, code)
        });
        let mismatched = held
            .iter()
            .filter(|m| matches!((m.meta.pages, m.text.pages), (Some(a), Some(b)) if a != b))
            .map(|m| {
                format!("{}（登记{}页，实为{}页）", m.meta.title, m.meta.pages.unwrap_or(0), m.text.pages.unwrap_or(0))
            })
            .collect();
        DossierCompleteness {
            person_id: person.id,
            name: person.name.clone(),
            department: person.department.clone(),
            department_name: self.department_label(&person.department),
            completeness: c,
            mismatched,
        }
    }

    /// The completeness rules in force (the shipped ones, `model/completeness.toml`).
    fn completeness_rules(&self) -> &'static completeness::Rules {
        completeness::Rules::shipped()
    }

    /// Whether the caller may list a category of a person's materials. Reports built from materials count only
    /// these: never the caller's own dossier nor a relative's, and of the others only the categories the caller
    /// may list (a head: assessments).
    fn listable(&self, p: &Principal) -> impl Fn(&Person, &str) -> bool {
        let policy = self.policy();
        let scheme = self.scheme().clone();
        let subject = p.subject.clone();
        move |person, category| {
            let t = crate::model::policy::Target {
                lineage: scheme.lineage(category),
                ..super::access::person_target(person)
            };
            policy.decide(&subject, &t, crate::model::policy::Access::List).allowed
        }
    }

    /// The materials the dossiers hold — filed, not destroyed (received ones wait in the 待归档 queue) — by
    /// person, each with its content's text state.
    fn materials_by_person(&self) -> Result<HashMap<crate::model::PersonId, Vec<WithText<Material>>>> {
        let mut out: HashMap<_, Vec<WithText<Material>>> = HashMap::new();
        for (_, m) in self.store().scan::<Material>(Table::Materials, b"")? {
            if m.destroyed_by.is_none() && !m.awaiting_filing {
                out.entry(m.person_id).or_default().push(self.materials().with_text(m)?);
            }
        }
        Ok(out)
    }

    /// Validation findings of the person records in scope (warnings the records carry: a missing field, a date
    /// that does not add up), counted by field and message. HR: everyone; heads: their department.
    pub fn findings(&self, p: &Principal) -> Result<ReportTable> {
        self.audited(p, AuditAction::ReportFindings, "report:findings", false, || {
            let scope = self.report_scope(p, "findings", &FINDINGS_ROLES)?;
            let mut counts: BTreeMap<(String, String, String), u64> = BTreeMap::new();
            for mut person in self.persons_in(&scope)? {
                for f in person.validate_and_complete_with(&self.config().record_rules) {
                    let severity = serde_json::to_value(f.severity)
                        .ok()
                        .and_then(|v| v.as_str().map(str::to_string))
                        .unwrap_or_default();
                    *counts.entry((f.field, severity, f.message)).or_default() += 1;
                }
            }
            let mut rows: Vec<_> = counts.into_iter().collect();
            rows.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
            Ok((
                ReportTable {
                    name: "findings".into(),
                    columns: ["field", "severity", "message", "persons"].map(String::from).to_vec(),
                    rows: rows
                        .into_iter()
                        .map(|((field, severity, message), n)| {
                            vec![field.into(), severity.into(), message.into(), n.into()]
                        })
                        .collect(),
                },
                None,
            ))
        })
    }

    /// Digitization progress: materials by type and text status (OCR coverage of scans is the share of images
    /// with status done). HR and administration: everyone; heads: their department; the materials the caller
    /// may list.
    pub fn digitization(&self, p: &Principal) -> Result<ReportTable> {
        self.audited(p, AuditAction::ReportDigitization, "report:digitization", false, || {
            let scope = self.report_scope(p, "digitization", &DIGITIZATION_ROLES)?;
            let persons: HashMap<_, Person> = self.persons_in(&scope)?.into_iter().map(|p| (p.id, p)).collect();
            let may_list = self.listable(p);
            let mut counts: BTreeMap<(String, String), u64> = BTreeMap::new();
            for (id, ms) in self.materials_by_person()? {
                let Some(person) = persons.get(&id) else { continue };
                let cleared = |m: &WithText<Material>| m.meta.secrecy.unwrap_or(0) <= p.subject.clearance;
                for m in ms.into_iter().filter(|m| may_list(person, &m.meta.category) && cleared(m)) {
                    let kind = match m.mime.split(';').next().unwrap_or_default() {
                        // Filed from page images: a scan, whatever PDF its pages were assembled into.
                        _ if !m.page_images.is_empty() => "扫描图像",
                        "application/pdf" => "PDF",
                        t if t.starts_with("image/") => "扫描图像",
                        t if t.starts_with("text/") => "文本",
                        "application/vnd.openxmlformats-officedocument.wordprocessingml.document" => "Word 文档",
                        _ => "其他",
                    };
                    let status = match m.text.status {
                        TextStatus::Pending => "pending",
                        TextStatus::Done => "done",
                        TextStatus::Failed => "failed",
                        TextStatus::None => "none",
                    };
                    *counts.entry((kind.to_string(), status.to_string())).or_default() += 1;
                }
            }
            Ok((
                ReportTable {
                    name: "digitization".into(),
                    columns: ["kind", "text_status", "materials"].map(String::from).to_vec(),
                    rows: counts.into_iter().map(|((k, s), n)| vec![k.into(), s.into(), n.into()]).collect(),
                },
                None,
            ))
        })
    }
}

impl Reports<'_> {
    /// Digitization progress in dossiers and pages (`by=pages`): the scanned materials (filed from page images)
    /// the caller may list, by department and by batch, in four states — `scanned`, `passed_qc` (in a batch
    /// that passed 验收), `linked` (挂接: the 页数 catalogued equals the pages held) and `searchable` (text read and
    /// indexed). A dossier counts in a state when it holds scanned materials in the group and all of them are in
    /// that state (`scanned`: any); pages count per material.
    pub fn digitization_pages(&self, p: &Principal) -> Result<ReportTable> {
        self.audited(p, AuditAction::ReportDigitization, "report:digitization", false, || {
            let scope = self.report_scope(p, "digitization", &DIGITIZATION_ROLES)?;
            let persons: HashMap<_, Person> = self.persons_in(&scope)?.into_iter().map(|p| (p.id, p)).collect();
            let may_list = self.listable(p);
            let batches: HashMap<crate::model::BatchId, super::batches::Batch> = self
                .store()
                .scan::<super::batches::Batch>(Table::Batches, b"")?
                .into_iter()
                .map(|(_, b)| (b.id, b))
                .collect();
            const STATES: [&str; 4] = ["scanned", "passed_qc", "linked", "searchable"];
            // (by, group) → dossier → for each state: (materials in it, materials), pages in it.
            type Tally = HashMap<crate::model::PersonId, ([u32; 4], u32)>;
            let mut groups: BTreeMap<(String, String), (Tally, [u64; 4])> = BTreeMap::new();
            for (id, ms) in self.materials_by_person()? {
                let Some(person) = persons.get(&id) else { continue };
                let cleared = |m: &WithText<Material>| m.meta.secrecy.unwrap_or(0) <= p.subject.clearance;
                for m in
                    ms.iter().filter(|m| !m.page_images.is_empty() && may_list(person, &m.meta.category) && cleared(m))
                {
                    let held = m.page_images.len() as u32;
                    let batch = m.batch_id.and_then(|b| batches.get(&b));
                    let state = [
                        true,
                        batch.is_some_and(|b| b.state == crate::model::page::BatchState::Accepted),
                        m.meta.pages == Some(held),
                        m.text.status == TextStatus::Done,
                    ];
                    let batch_name = batch.map(|b| b.name.clone()).unwrap_or_else(|| "（不属任何批次）".into());
                    for key in [
                        ("department".to_string(), self.department_label(&person.department)),
                        ("batch".to_string(), batch_name),
                    ] {
                        let (tally, pages) = groups.entry(key).or_default();
                        let (ins, all) = tally.entry(id).or_default();
                        *all += 1;
                        for (i, yes) in state.iter().enumerate() {
                            if *yes {
                                ins[i] += 1;
                                pages[i] += u64::from(held);
                            }
                        }
                    }
                }
            }
            let mut rows = Vec::new();
            for ((by, group), (tally, pages)) in groups {
                for (i, state) in STATES.iter().enumerate() {
                    let dossiers =
                        tally.values().filter(|(ins, all)| if i == 0 { ins[0] > 0 } else { ins[i] == *all }).count();
                    rows.push(vec![
                        by.clone().into(),
                        group.clone().into(),
                        (*state).into(),
                        dossiers.into(),
                        pages[i].into(),
                    ]);
                }
            }
            Ok((
                ReportTable {
                    name: "digitization-pages".into(),
                    columns: ["by", "group", "state", "dossiers", "pages"].map(String::from).to_vec(),
                    rows,
                },
                Some("by=pages".into()),
            ))
        })
    }

    /// Defects found in 抽检 (`by=defects`), by batch and code, with the pages sampled, the defect rate and the
    /// rescans: HR and administration (who manage batches).
    pub fn digitization_defects(&self, p: &Principal) -> Result<ReportTable> {
        self.audited(p, AuditAction::ReportDigitization, "report:digitization", false, || {
            if !self.imports().may_manage_batches(p) {
                return Err(Error::Forbidden(
                    "rule report.digitization: defect statistics are for HR and administration, who manage batches"
                        .into(),
                ));
            }
            let mut rows = Vec::new();
            for (_, b) in self.store().scan::<super::batches::Batch>(Table::Batches, b"")? {
                let f = self.digitisation().figures(&b)?.total;
                for code in crate::model::page::DefectCode::ALL {
                    let n = f.defects_by_code.get(code.label()).copied().unwrap_or(0);
                    if n > 0 {
                        rows.push(vec![
                            b.name.clone().into(),
                            code.label().into(),
                            n.into(),
                            f.sampled.into(),
                            f.defect_rate.into(),
                            f.rescans.into(),
                        ]);
                    }
                }
            }
            Ok((
                ReportTable {
                    name: "digitization-defects".into(),
                    columns: ["batch", "code", "defects", "sampled", "defect_rate", "rescans"]
                        .map(String::from)
                        .to_vec(),
                    rows,
                },
                Some("by=defects".into()),
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    use crate::model::{ReportKind, Role};
    use crate::service::Error;
    use crate::service::testing::{self, account, denial, file_text, meta};
    use serde_json::{Value, json};

    /// The rows of a structure report as (key, count).
    fn counts(t: &super::ReportTable) -> Vec<(String, u64)> {
        t.rows.iter().map(|r| (r[0].as_str().unwrap().to_string(), r[2].as_u64().unwrap())).collect()
    }

    #[test]
    fn hr_counts_the_active_cadres_by_department() {
        let a = testing::archive();
        let hr = account(&a, "hr", &[Role::Hr], "hr");
        testing::person(&a, "甲", "sales");
        testing::person(&a, "乙", "sales");
        testing::person(&a, "丙", "research");
        let gone = testing::person(&a, "丁", "research");
        a.persons()
            .patch_person_as(&testing::loader(), gone, Some(1), json!({"status": "retired"}), None, false)
            .unwrap();
        let t = a.reports().structure(&hr, "department").unwrap();
        assert_eq!(t.columns, ["key", "label", "count", "percent"]);
        let c = counts(&t);
        assert_eq!(c[0], ("sales".into(), 2));
        assert!(c.contains(&("research".into(), 1)), "the retired one does not count: {c:?}");
        assert!(c.contains(&("hr".into(), 1)), "{c:?}");
        assert_eq!(c.iter().map(|r| r.1).sum::<u64>(), 4);
        let label = t.rows.iter().find(|r| r[0] == "sales").unwrap()[1].clone();
        assert_eq!(label, Value::from("市场营销部"));
        assert!(matches!(a.reports().structure(&hr, "shoe_size"), Err(Error::Invalid { .. })));
    }

    #[test]
    fn the_completeness_report_names_what_each_dossier_lacks() {
        let a = testing::archive();
        let hr = account(&a, "hr", &[Role::Hr], "hr");
        let thin = testing::person(&a, "缺材料", "sales");
        file_text(&a, thin, meta("1", "履历表", &[]), "履历");
        let full = testing::person(&a, "齐全", "sales");
        for code in ["1", "3", "4-1", "9-1", "9-2"] {
            file_text(&a, full, meta(code, "材料", &[]), "材料");
        }
        let t = a.reports().report(&hr, ReportKind::Completeness, "").unwrap();
        let row = |id: crate::model::PersonId| t.rows.iter().find(|r| r[0] == id.to_string()).cloned();
        let thin_row = row(thin).expect("the thin dossier is listed");
        let missing = thin_row[4].as_str().unwrap();
        assert!(missing.contains("考核鉴定类材料") && missing.contains("工资材料"), "{missing}");
        assert!(!missing.contains("履历类材料") && !missing.contains("党、团"), "{missing}");
        assert_eq!(thin_row[3], Value::from(4u64));
        assert!(row(full).is_none(), "a complete dossier is not listed");
        assert!(row(hr.user.person_id.unwrap()).is_none(), "never the caller's own dossier");
    }

    #[test]
    fn a_head_reports_on_their_department_and_finance_on_salary_grades_only() {
        let a = testing::archive();
        testing::person(&a, "甲", "sales");
        testing::person(&a, "乙", "research");
        let head = account(&a, "head-sales", &[Role::Head], "sales");
        let c = counts(&a.reports().structure(&head, "department").unwrap());
        assert_eq!(c, [("sales".to_string(), 2)], "the head and one cadre of sales");
        let finance = account(&a, "finance", &[Role::Finance], "finance");
        assert!(a.reports().structure(&finance, "salary_grade").is_ok());
        assert!(denial(a.reports().structure(&finance, "department")).contains("rule report.structure"));
        assert_eq!(a.reports().available(&finance).structure, ["salary_grade"]);
    }

    #[test]
    fn the_administrators_run_no_report_on_cadres_or_dossiers() {
        let a = testing::archive();
        testing::person(&a, "甲", "sales");
        for (name, role) in [("it", Role::It), ("secadmin", Role::Secadmin), ("auditor", Role::Auditor)] {
            let p = account(&a, name, &[role], "it");
            let offered = a.reports().available(&p);
            let of_the_trail = [ReportKind::Turnaround, ReportKind::Consultations];
            for kind in ReportKind::ALL.into_iter().filter(|k| !of_the_trail.contains(k)) {
                assert!(!offered.may(kind), "{name} is offered {kind:?}");
                let r = a.reports().report(&p, kind, "department");
                // The contract register is not known to whoever may not read contracts (404, as for finance).
                let refused = match kind {
                    ReportKind::Contracts => matches!(r, Err(Error::NotFound(_))),
                    _ => matches!(r, Err(Error::Forbidden(_))),
                };
                assert!(refused, "{name} ran {kind:?}: {r:?}");
            }
        }
        // The turnaround of the flows (timings, no person) is the auditor's too; never the system administrator's.
        let it = account(&a, "it2", &[Role::It], "it");
        assert!(denial(a.reports().turnaround(&it)).contains("rule report.turnaround"));
        let auditor = account(&a, "auditor2", &[Role::Auditor], "it");
        assert!(a.reports().turnaround(&auditor).is_ok());
        // The 查阅登记 (dossiers by id, what was read from the trail) is the auditor's and HR's; not the other
        // administrators'.
        assert!(a.reports().report(&auditor, ReportKind::Consultations, "").is_ok());
        for p in [&it, &account(&a, "secadmin2", &[Role::Secadmin], "it")] {
            let r = a.reports().report(p, ReportKind::Consultations, "");
            assert!(denial(r).contains("rule report.consultations"));
        }
    }
}
