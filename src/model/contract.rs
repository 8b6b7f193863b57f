//! The contract register (合同登记, docs/DOMAIN.md §4e): a record per contract material — its kind, parties,
//! term, probation, the earlier contract it renews, 竞业限制 — kept by HR and legal beside the signed document;
//! the reminders its dates raise; legal's review notes on it; and the fields proposed from a contract's
//! extracted text (always proposals, confirmed by a person). Pure: no store, no engines.

use super::date::add_months;
use super::{Finding, MaterialId, PartialDate, PersonId};
use regex::Regex;
use serde::{Deserialize, Serialize};
use std::sync::LazyLock;

/// The kind of contract.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ContractKind {
    /// 劳动合同.
    #[default]
    Labour,
    /// 聘用合同 (public institutions).
    Appointment,
    /// 离职协议 / 解除劳动合同协议.
    Separation,
    /// 竞业限制协议.
    NonCompete,
    /// 保密协议.
    Confidentiality,
    /// Another agreement.
    Other,
}

impl ContractKind {
    /// Every kind, in the order forms offer them.
    pub const ALL: [ContractKind; 6] = [
        ContractKind::Labour,
        ContractKind::Appointment,
        ContractKind::Separation,
        ContractKind::NonCompete,
        ContractKind::Confidentiality,
        ContractKind::Other,
    ];

    /// The name in JSON and forms.
    pub fn as_str(self) -> &'static str {
        match self {
            ContractKind::Labour => "labour",
            ContractKind::Appointment => "appointment",
            ContractKind::Separation => "separation",
            ContractKind::NonCompete => "non_compete",
            ContractKind::Confidentiality => "confidentiality",
            ContractKind::Other => "other",
        }
    }

    /// The kind of this name.
    pub fn parse(s: &str) -> Option<ContractKind> {
        ContractKind::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// Its Chinese name.
    pub fn label(self) -> &'static str {
        match self {
            ContractKind::Labour => "劳动合同",
            ContractKind::Appointment => "聘用合同",
            ContractKind::Separation => "离职协议",
            ContractKind::NonCompete => "竞业限制协议",
            ContractKind::Confidentiality => "保密协议",
            ContractKind::Other => "其他协议",
        }
    }

    /// The kind a title or a person record's entry names (劳动合同书, 聘用合同, 保密协议 …); `None` when it names
    /// none.
    pub fn from_title(title: &str) -> Option<ContractKind> {
        let has = |w: &[&str]| w.iter().any(|w| title.contains(w));
        if has(&["竞业限制", "競業限制"]) {
            Some(ContractKind::NonCompete)
        } else if has(&["保密"]) {
            Some(ContractKind::Confidentiality)
        } else if has(&["离职", "離職", "解除劳动合同", "解除勞動合同", "终止劳动合同"]) {
            Some(ContractKind::Separation)
        } else if has(&["聘用合同", "聘用合約"]) {
            Some(ContractKind::Appointment)
        } else if has(&["劳动合同", "勞動合同", "劳动合约"]) {
            Some(ContractKind::Labour)
        } else {
            None
        }
    }
}

/// Where a contract stands, as HR or legal recorded it (whether it has run out is computed from its term).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ContractStatus {
    /// In force (履行中): its term decides whether it has ended.
    #[default]
    Active,
    /// Renewed (已续订): a later contract renews it.
    Renewed,
    /// Ended early (已解除/终止).
    Terminated,
}

impl ContractStatus {
    /// Every status, in the order forms offer them.
    pub const ALL: [ContractStatus; 3] = [ContractStatus::Active, ContractStatus::Renewed, ContractStatus::Terminated];

    /// The name in JSON and forms.
    pub fn as_str(self) -> &'static str {
        match self {
            ContractStatus::Active => "active",
            ContractStatus::Renewed => "renewed",
            ContractStatus::Terminated => "terminated",
        }
    }

    /// The status of this name.
    pub fn parse(s: &str) -> Option<ContractStatus> {
        ContractStatus::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// Its Chinese name.
    pub fn label(self) -> &'static str {
        match self {
            ContractStatus::Active => "履行中",
            ContractStatus::Renewed => "已续订",
            ContractStatus::Terminated => "已解除",
        }
    }
}

/// A 竞业限制 (non-compete) undertaking after the contract ends.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NonCompete {
    /// How many months after leaving (at most 24, 《劳动合同法》第二十四条).
    pub months: u32,
    /// Monthly compensation in yuan.
    #[serde(default)]
    pub monthly_compensation: Option<f64>,
    /// When it starts (the day after leaving); unknown while the cadre is employed.
    #[serde(default)]
    pub from: Option<PartialDate>,
}

impl NonCompete {
    /// Its last day, when it has started.
    pub fn until(&self) -> Option<time::Date> {
        self.from.map(|f| add_months(f.first_day(), self.months) - time::Duration::days(1))
    }

    /// Whether it binds on `on`.
    pub fn active(&self, on: time::Date) -> bool {
        self.from.is_some_and(|f| f.first_day() <= on) && self.until().is_some_and(|u| on <= u)
    }
}

/// What HR or legal record of a contract (the body of `PUT /api/v1/materials/{id}/contract`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ContractTerms {
    /// The kind.
    pub kind: ContractKind,
    /// 合同编号, if it has one.
    #[serde(default)]
    pub number: Option<String>,
    /// The parties as the contract names them (甲方, 乙方).
    #[serde(default)]
    pub parties: Vec<String>,
    /// 签订日期.
    #[serde(default)]
    pub signed_on: Option<PartialDate>,
    /// Start of the term.
    #[serde(default)]
    pub from: Option<PartialDate>,
    /// End of the term; absent for an open-ended contract (无固定期限) or one to finish a task.
    #[serde(default)]
    pub to: Option<PartialDate>,
    /// Last day of the probation period (试用期).
    #[serde(default)]
    pub probation_until: Option<PartialDate>,
    /// The earlier contract (its material) this one renews (续订).
    #[serde(default)]
    pub renews: Option<MaterialId>,
    /// 竞业限制 after the contract ends.
    #[serde(default)]
    pub non_compete: Option<NonCompete>,
    /// Where it stands.
    #[serde(default)]
    pub status: ContractStatus,
}

/// Upper bounds on what a record holds.
const MAX_PARTIES: usize = 8;
const MAX_TEXT: usize = 200;

impl ContractTerms {
    /// Checks the terms. Errors block the record: dates out of order, too much text, a non-compete beyond two
    /// years or with a negative compensation. Warnings travel with it: a probation period longer than the law
    /// allows for the term (《劳动合同法》第十九条), a non-compete without compensation.
    pub fn check(&self) -> Vec<Finding> {
        let mut out = Vec::new();
        if self.parties.len() > MAX_PARTIES || self.parties.iter().any(|p| p.trim().is_empty()) {
            out.push(Finding::error("parties", format!("name up to {MAX_PARTIES} parties, none empty")));
        }
        let long = |s: &str| s.chars().count() > MAX_TEXT;
        if self.parties.iter().any(|p| long(p)) || self.number.as_deref().is_some_and(long) {
            out.push(Finding::error("parties", format!("a party or number is longer than {MAX_TEXT} characters")));
        }
        if let (Some(f), Some(t)) = (self.from, self.to)
            && t.last_day() < f.first_day()
        {
            out.push(Finding::error("to", format!("the term ends ({t}) before it starts ({f})")));
        }
        if let Some(p) = self.probation_until {
            match self.from {
                Some(f) if p.last_day() < f.first_day() => {
                    out.push(Finding::error("probation_until", "the probation ends before the term starts"));
                }
                Some(f) => {
                    let max = self.max_probation_months();
                    if add_months(f.first_day(), max) < p.first_day() {
                        out.push(Finding::warning(
                            "probation_until",
                            format!("the probation is longer than the {max} months the law allows for this term"),
                        ));
                    }
                }
                None => {}
            }
            if let Some(t) = self.to
                && t.last_day() < p.first_day()
            {
                out.push(Finding::error("probation_until", "the probation ends after the term"));
            }
        }
        if let Some(n) = &self.non_compete {
            if n.months == 0 || n.months > 24 {
                out.push(Finding::error("non_compete.months", "a non-compete lasts 1 to 24 months"));
            }
            match n.monthly_compensation {
                Some(c) if !c.is_finite() || c < 0.0 => {
                    out.push(Finding::error("non_compete.monthly_compensation", "the compensation is not negative"));
                }
                None => out.push(Finding::warning(
                    "non_compete.monthly_compensation",
                    "a non-compete without monthly compensation may not bind (《劳动合同法》第二十三条)",
                )),
                Some(_) => {}
            }
        }
        out
    }

    /// The longest probation the law allows for this term, in months (《劳动合同法》第十九条): one month under a
    /// year, two under three years, six for three years or more and for an open-ended contract.
    fn max_probation_months(&self) -> u32 {
        let (Some(f), Some(t)) = (self.from, self.to) else { return 6 };
        let (f, t) = (f.first_day(), t.last_day());
        if t < add_months(f, 12) {
            1
        } else if t < add_months(f, 36) {
            2
        } else {
            6
        }
    }

    /// The day the term ends, if it has an end.
    pub fn ends_on(&self) -> Option<time::Date> {
        self.to.map(|t| t.last_day())
    }
}

/// A contract record as stored: the terms, whose material and person, its version and who kept it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ContractRecord {
    /// The contract material.
    pub material_id: MaterialId,
    /// The cadre.
    pub person_id: PersonId,
    /// What was recorded.
    pub terms: ContractTerms,
    /// 1 for the first record, one more on each change (the ETag).
    pub version: u32,
    /// Who recorded this version.
    pub updated_by: String,
    /// When (Unix seconds).
    pub updated_at: i64,
}

/// What a reminder is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReminderKind {
    /// The term ends within the notice window (《劳动合同法》 asks for notice before a fixed term ends).
    Ending,
    /// The term has ended and the contract was neither renewed nor closed.
    Ended,
    /// The probation ends within the window.
    ProbationEnding,
}

impl ReminderKind {
    /// The name in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            ReminderKind::Ending => "ending",
            ReminderKind::Ended => "ended",
            ReminderKind::ProbationEnding => "probation_ending",
        }
    }
}

/// The reminders a contract raises on `on`, with the date each is about: its end within `window_days` (or past
/// and not dealt with), its probation's end within the window. A renewed or terminated contract raises none.
pub fn reminders(terms: &ContractTerms, on: time::Date, window_days: u32) -> Vec<(ReminderKind, time::Date)> {
    let mut out = Vec::new();
    if terms.status != ContractStatus::Active {
        return out;
    }
    let horizon = on + time::Duration::days(i64::from(window_days));
    if let Some(end) = terms.ends_on() {
        if end < on {
            out.push((ReminderKind::Ended, end));
        } else if end <= horizon {
            out.push((ReminderKind::Ending, end));
        }
    }
    if let Some(p) = terms.probation_until.map(|p| p.last_day())
        && on <= p
        && p <= horizon
    {
        out.push((ReminderKind::ProbationEnding, p));
    }
    out
}

/// How serious a review note is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum NoteSeverity {
    /// For information.
    Info,
    /// To be fixed, does not stop a change.
    Warning,
    /// Stops every approval of a change to this cadre's contracts until it is resolved.
    Blocking,
}

impl NoteSeverity {
    /// Every severity, mildest first.
    pub const ALL: [NoteSeverity; 3] = [NoteSeverity::Info, NoteSeverity::Warning, NoteSeverity::Blocking];

    /// The name in JSON and forms.
    pub fn as_str(self) -> &'static str {
        match self {
            NoteSeverity::Info => "info",
            NoteSeverity::Warning => "warning",
            NoteSeverity::Blocking => "blocking",
        }
    }

    /// The severity of this name.
    pub fn parse(s: &str) -> Option<NoteSeverity> {
        NoteSeverity::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// A review note on a contract: a finding of legal (or HR) about a clause.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ReviewNote {
    /// Id (a time-ordered UUID).
    pub id: String,
    /// The contract material.
    pub material_id: MaterialId,
    /// The cadre.
    pub person_id: PersonId,
    /// The version the note is about (the current one when written).
    pub version: u32,
    /// The clause quoted.
    pub clause: String,
    /// What is wrong with it, or what to do.
    pub finding: String,
    /// How serious.
    pub severity: NoteSeverity,
    /// Who wrote it.
    pub author: String,
    /// The business role it was written in (`legal`, `hr`): only holders of that role resolve it.
    pub role: String,
    /// When (Unix seconds).
    pub at: i64,
    /// Whether it is resolved.
    pub resolved: bool,
    /// Who resolved it.
    #[serde(default)]
    pub resolved_by: Option<String>,
    /// When (Unix seconds).
    #[serde(default)]
    pub resolved_at: Option<i64>,
    /// How it was resolved.
    #[serde(default)]
    pub resolution: Option<String>,
}

/// A new review note (the body of `POST /api/v1/materials/{id}/contract/notes`).
#[derive(Clone, Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewNote {
    /// The clause quoted (up to 2,000 characters).
    pub clause: String,
    /// The finding (up to 2,000 characters).
    pub finding: String,
    /// `info`, `warning` or `blocking`.
    pub severity: NoteSeverity,
}

impl NewNote {
    /// Checks the note: a finding is required, neither text over 2,000 characters.
    pub fn check(&self) -> Vec<Finding> {
        let mut out = Vec::new();
        if self.finding.trim().is_empty() {
            out.push(Finding::error("finding", "say what the finding is"));
        }
        for (field, text) in [("clause", &self.clause), ("finding", &self.finding)] {
            if text.chars().count() > 2000 {
                out.push(Finding::error(field, "at most 2,000 characters"));
            }
        }
        out
    }
}

/// Fields proposed from a contract's text: each is a guess by pattern, shown to be confirmed.
#[derive(Clone, Debug, Default, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ContractProposal {
    /// The terms as far as the text names them.
    pub terms: ContractTerms,
    /// Whether the text says the term is open-ended (无固定期限).
    pub open_term: bool,
    /// The fields the text gave (the rest are defaults).
    pub found: Vec<String>,
}

/// A date written `2018年1月2日`, `2018-01-02`, `2018.1.2` or `2018/1/2` (Arabic digits, optionally full-width).
const DATE: &str = r"(\d{4})\s*(?:年|-|\.|/)\s*(\d{1,2})\s*(?:月|-|\.|/)\s*(\d{1,2})\s*日?";

static RE_NUMBER: LazyLock<Regex> = LazyLock::new(|| re(r"合同编号[:：]\s*([A-Za-z0-9\-_/〔〕\[\]（）()第号]+)"));
static RE_PARTY: LazyLock<Regex> =
    LazyLock::new(|| re(r"(甲方|乙方)(?:[（(][^）)]{0,12}[）)])?[:：]\s*([^\s　，,。；;:：（(]{2,40})"));
static RE_SIGNED: LazyLock<Regex> = LazyLock::new(|| re(&format!(r"签(?:订|署|約|订日期)[^0-9\n]{{0,6}}{DATE}")));
static RE_RANGE: LazyLock<Regex> = LazyLock::new(|| re(&format!(r"自\s*{DATE}\s*(?:起)?\s*至\s*{DATE}\s*(?:止)?")));
static RE_FROM: LazyLock<Regex> = LazyLock::new(|| re(&format!(r"自\s*{DATE}\s*起")));
static RE_PROBATION_UNTIL: LazyLock<Regex> = LazyLock::new(|| re(&format!(r"试用期[^。\n]{{0,20}}?至\s*{DATE}")));
static RE_PROBATION_MONTHS: LazyLock<Regex> =
    LazyLock::new(|| re(r"试用期(?:为|[:：])?\s*([0-9一二两三四五六])\s*个月"));
static RE_NON_COMPETE: LazyLock<Regex> =
    LazyLock::new(|| re(r"([0-9]{1,2}|[一二两三四五六])\s*(年|个月)(?:内|之内)?[^。\n]{0,8}竞业限制"));
static RE_COMPENSATION: LazyLock<Regex> =
    LazyLock::new(|| re(r"竞业限制[^。]{0,60}?(?:补偿|补偿金)[^。0-9]{0,12}([0-9][0-9,]*(?:\.[0-9]+)?)\s*元"));

fn re(pattern: &str) -> Regex {
    // The patterns are constants of this file, checked by its tests.
    Regex::new(pattern).unwrap_or_else(|e| panic!("contract pattern {pattern}: {e}"))
}

fn small_number(s: &str) -> Option<u32> {
    match s {
        "一" => Some(1),
        "二" | "两" => Some(2),
        "三" => Some(3),
        "四" => Some(4),
        "五" => Some(5),
        "六" => Some(6),
        _ => s.parse().ok(),
    }
}

fn date_at(c: &regex::Captures, at: usize) -> Option<PartialDate> {
    let n = |i: usize| c.get(at + i).and_then(|m| m.as_str().parse::<u32>().ok());
    let (y, m, d) = (n(0)?, n(1)?, n(2)?);
    format!("{y:04}-{m:02}-{d:02}").parse().ok()
}

/// Proposes the terms of a contract from its title and extracted text: kind, number, parties, signing date,
/// term, probation and 竞业限制, by patterns of the usual Chinese contract forms. Full-width digits are read as
/// digits. What no pattern finds stays empty.
pub fn propose(title: &str, text: &str) -> ContractProposal {
    let text: String = text
        .chars()
        .map(|c| match c {
            '０'..='９' => char::from_u32(c as u32 - '０' as u32 + '0' as u32).unwrap_or(c),
            '：' => ':',
            _ => c,
        })
        .collect();
    let mut p = ContractProposal::default();
    let found = |f: &str, p: &mut ContractProposal| p.found.push(f.to_string());
    // The title, else the text's first line (the heading of the form: 劳动合同书, 聘用合同 …).
    let heading = text.lines().map(str::trim).find(|l| !l.is_empty()).unwrap_or_default();
    if let Some(k) = ContractKind::from_title(title).or_else(|| ContractKind::from_title(heading)) {
        p.terms.kind = k;
        found("kind", &mut p);
    }
    if let Some(c) = RE_NUMBER.captures(&text) {
        p.terms.number = Some(c[1].to_string());
        found("number", &mut p);
    }
    for c in RE_PARTY.captures_iter(&text) {
        let name = c[2].trim_end_matches(['盖', '签']).to_string();
        if !p.terms.parties.contains(&name) && p.terms.parties.len() < 2 {
            p.terms.parties.push(name);
        }
    }
    if !p.terms.parties.is_empty() {
        found("parties", &mut p);
    }
    if let Some(c) = RE_SIGNED.captures(&text) {
        p.terms.signed_on = date_at(&c, 1);
        found("signed_on", &mut p);
    }
    p.open_term = text.contains("无固定期限") || text.contains("無固定期限");
    if let Some(c) = RE_RANGE.captures(&text).filter(|_| !p.open_term) {
        p.terms.from = date_at(&c, 1);
        p.terms.to = date_at(&c, 4);
        found("from", &mut p);
        found("to", &mut p);
    } else if let Some(c) = RE_FROM.captures(&text) {
        p.terms.from = date_at(&c, 1);
        found("from", &mut p);
    }
    if let Some(c) = RE_PROBATION_UNTIL.captures(&text) {
        p.terms.probation_until = date_at(&c, 1);
        found("probation_until", &mut p);
    } else if let (Some(c), Some(from)) = (RE_PROBATION_MONTHS.captures(&text), p.terms.from)
        && let Some(n) = small_number(&c[1])
    {
        let until = add_months(from.first_day(), n) - time::Duration::days(1);
        p.terms.probation_until = Some(PartialDate::from_date(until));
        found("probation_until", &mut p);
    }
    if let Some(c) = RE_NON_COMPETE.captures(&text)
        && let Some(n) = small_number(&c[1])
    {
        let months = if &c[2] == "年" { n * 12 } else { n };
        let monthly_compensation = RE_COMPENSATION
            .captures(&text)
            .and_then(|c| c[1].replace(',', "").parse::<f64>().ok())
            .filter(|v| v.is_finite());
        p.terms.non_compete = Some(NonCompete { months, monthly_compensation, from: None });
        found("non_compete", &mut p);
    }
    p
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    fn d(s: &str) -> PartialDate {
        s.parse().unwrap()
    }

    #[test]
    fn the_fixture_contract_is_read_as_a_lawyer_would() {
        let text = "劳动合同书\n合同编号：HT-2018-0107\n甲方（用人单位）：某某市信息产业集团有限公司　　法定代表人：周建国\n\
            乙方（劳动者）：张伟明　　公民身份号码：330106197803120017\n第一条　合同期限\n\
            本合同为无固定期限劳动合同，自2018年1月1日起履行。试用期：无。\n\
            乙方离职后二年内负有竞业限制义务，不得到与甲方有竞争关系的单位任职，甲方按月给予经济补偿。\n\
            签订日期：2018年1月2日";
        let p = propose("劳动合同书", text);
        assert_eq!(p.terms.kind, ContractKind::Labour);
        assert_eq!(p.terms.number.as_deref(), Some("HT-2018-0107"));
        assert_eq!(p.terms.parties, ["某某市信息产业集团有限公司", "张伟明"]);
        assert_eq!(p.terms.signed_on, Some(d("2018-01-02")));
        assert!(p.open_term);
        assert_eq!((p.terms.from, p.terms.to), (Some(d("2018-01-01")), None));
        assert_eq!(p.terms.probation_until, None);
        assert_eq!(p.terms.non_compete, Some(NonCompete { months: 24, monthly_compensation: None, from: None }));
    }

    #[test]
    fn a_fixed_term_with_probation_and_compensation() {
        let text = "聘用合同\n甲方：某某市第一中学\n乙方：李华\n合同期限自２０２３年９月１日起至2026年8月31日止，\
            试用期为三个月。乙方离职后6个月内遵守竞业限制，甲方每月支付竞业限制经济补偿3,000元。\n签订日期：2023-08-25";
        let p = propose("", text);
        assert_eq!(p.terms.kind, ContractKind::Appointment);
        assert!(!p.open_term);
        assert_eq!((p.terms.from, p.terms.to), (Some(d("2023-09-01")), Some(d("2026-08-31"))));
        assert_eq!(p.terms.probation_until, Some(d("2023-11-30")));
        assert_eq!(p.terms.signed_on, Some(d("2023-08-25")));
        let n = p.terms.non_compete.unwrap();
        assert_eq!((n.months, n.monthly_compensation), (6, Some(3000.0)));
        assert_eq!(p.found, ["kind", "parties", "signed_on", "from", "to", "probation_until", "non_compete"]);
    }

    #[test]
    fn a_text_without_terms_proposes_nothing() {
        let p = propose("会议纪要", "今天开会讨论了年度计划。");
        assert_eq!(p.terms, ContractTerms::default());
        assert!(p.found.is_empty());
    }

    #[test]
    fn checks_name_the_field() {
        let fields = |t: &ContractTerms| t.check().into_iter().map(|f| (f.field, f.severity)).collect::<Vec<_>>();
        let mut t = ContractTerms { from: Some(d("2024-01-01")), to: Some(d("2023-12-31")), ..Default::default() };
        assert_eq!(fields(&t), [("to".to_string(), super::super::Severity::Error)]);
        t.to = Some(d("2024-06-30"));
        t.probation_until = Some(d("2024-03-31"));
        // A term under a year allows one month of probation.
        assert_eq!(fields(&t), [("probation_until".to_string(), super::super::Severity::Warning)]);
        t.probation_until = Some(d("2024-01-31"));
        assert!(t.check().is_empty());
        t.non_compete = Some(NonCompete { months: 36, monthly_compensation: Some(-1.0), from: None });
        assert_eq!(t.check().len(), 2);
        t.parties = vec![" ".into()];
        assert!(t.check().iter().any(|f| f.field == "parties"));
    }

    #[test]
    fn reminders_come_inside_the_window_and_stop_when_dealt_with() {
        let mut t = ContractTerms {
            from: Some(d("2024-01-01")),
            to: Some(d("2026-12-31")),
            probation_until: Some(d("2024-03-31")),
            ..Default::default()
        };
        assert!(reminders(&t, date!(2026 - 11 - 30), 30).is_empty());
        assert_eq!(reminders(&t, date!(2026 - 12 - 01), 30), [(ReminderKind::Ending, date!(2026 - 12 - 31))]);
        assert_eq!(reminders(&t, date!(2027 - 01 - 01), 30), [(ReminderKind::Ended, date!(2026 - 12 - 31))]);
        assert_eq!(reminders(&t, date!(2024 - 03 - 01), 30), [(ReminderKind::ProbationEnding, date!(2024 - 03 - 31))]);
        t.status = ContractStatus::Renewed;
        assert!(reminders(&t, date!(2026 - 12 - 01), 30).is_empty());
        // Open-ended: no end to remind of.
        t = ContractTerms { from: Some(d("2018-01-01")), ..Default::default() };
        assert!(reminders(&t, date!(2026 - 12 - 01), 3650).is_empty());
    }

    #[test]
    fn a_non_compete_binds_for_its_months_after_it_starts() {
        let n = NonCompete { months: 24, monthly_compensation: Some(2000.0), from: Some(d("2025-03-01")) };
        assert_eq!(n.until(), Some(date!(2027 - 02 - 28)));
        assert!(n.active(date!(2026 - 01 - 01)));
        assert!(!n.active(date!(2027 - 03 - 01)));
        assert!(!NonCompete { from: None, ..n }.active(date!(2026 - 01 - 01)));
    }

    #[test]
    fn kinds_by_name_and_title() {
        for k in ContractKind::ALL {
            assert_eq!(ContractKind::parse(k.as_str()), Some(k));
            assert_eq!(serde_json::to_value(k).unwrap(), serde_json::json!(k.as_str()));
        }
        assert_eq!(ContractKind::from_title("勞動合同書"), Some(ContractKind::Labour));
        assert_eq!(ContractKind::from_title("竞业限制协议"), Some(ContractKind::NonCompete));
        assert_eq!(ContractKind::from_title("解除劳动合同协议书"), Some(ContractKind::Separation));
        assert_eq!(ContractKind::from_title("学历证书"), None);
    }

    #[test]
    fn the_form_names_of_statuses_severities_and_reminders_are_their_json_names() {
        let json = |v: serde_json::Value| v.as_str().unwrap().to_string();
        for s in ContractStatus::ALL {
            assert_eq!(
                (ContractStatus::parse(s.as_str()), json(serde_json::to_value(s).unwrap())),
                (Some(s), s.as_str().into())
            );
        }
        for s in NoteSeverity::ALL {
            assert_eq!(
                (NoteSeverity::parse(s.as_str()), json(serde_json::to_value(s).unwrap())),
                (Some(s), s.as_str().into())
            );
        }
        for k in [ReminderKind::Ending, ReminderKind::Ended, ReminderKind::ProbationEnding] {
            assert_eq!(json(serde_json::to_value(k).unwrap()), k.as_str());
        }
    }
}
