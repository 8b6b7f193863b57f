//! Dossier completeness as data and as pure functions (docs/DOMAIN.md §5, "Completeness"): the materials every
//! dossier must hold, and the 成套 (matching-set) rules — every appointment has its 9-2 任免审批表, every assessment
//! year its category-3 material, an 入党志愿书 its 转正 record. The shipped rules are `completeness.toml`; a
//! dossier's outcome is a rate (checks satisfied / checks made) with a finding for every check that failed.

use super::category::CategoryScheme;
use super::date::PartialDate;
use super::material::Material;
use super::person::{Appointment, AssessmentEntry};
use serde::{Deserialize, Serialize};

/// The shipped rules.
pub const DEFAULT_RULES: &str = include_str!("completeness.toml");

/// The completeness rules.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rules {
    /// Materials every dossier must hold.
    #[serde(default)]
    pub required: Vec<Required>,
    /// 成套 rules.
    #[serde(default)]
    pub sets: Vec<SetRule>,
}

/// A category the dossier must hold at least one material of.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Required {
    /// The category's code (a material of a sub-category counts for its parent).
    pub category: String,
    /// The name the findings and reports use.
    pub name: String,
    /// Only for party members (a person record with a 入党 date).
    #[serde(default)]
    pub party_members: bool,
}

/// Which materials a rule means: a category (or a sub-category of it) and, if any are given, one of the words
/// in the title.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MaterialMatch {
    /// The category's code.
    pub category: String,
    /// Words of which the title holds at least one (none: any title).
    #[serde(default)]
    pub title_any: Vec<String>,
}

/// A record list a 成套 rule walks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RecordList {
    /// 任职经历, dated by their start.
    Appointments,
    /// 年度考核, dated by their year.
    Assessments,
}

/// How the material a rule needs is tied in time to the entry or material it goes with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DateTie {
    /// Formed in the same calendar year.
    Year,
    /// Formed within the rule's `months` of the date, either side (as far as the partial dates' known parts go).
    Months,
    /// No tie: any such material.
    Any,
}

/// A 成套 rule: every entry of a record list, or every material that matches `material`, goes with a material
/// that matches `needs`.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SetRule {
    /// Its id, in findings (`appointment-approval` …).
    pub id: String,
    /// What it asks for (`任免审批表`).
    pub name: String,
    /// The record list it walks (or `material`).
    #[serde(default)]
    pub record: Option<RecordList>,
    /// The materials it walks (or `record`).
    #[serde(default)]
    pub material: Option<MaterialMatch>,
    /// The material that must go with each.
    pub needs: MaterialMatch,
    /// The time tie.
    pub date: DateTie,
    /// For `date = "months"`.
    #[serde(default)]
    pub months: Option<u32>,
}

impl Rules {
    /// Parses and checks a rules file: each 成套 rule walks exactly one of a record list or materials, has a
    /// unique id, names categories, and `date = "months"` comes with `months`.
    pub fn parse(text: &str) -> Result<Rules, String> {
        let rules: Rules = toml::from_str(text).map_err(|e| format!("completeness rules: {e}"))?;
        let mut ids = std::collections::HashSet::new();
        for r in &rules.required {
            if r.category.trim().is_empty() || r.name.trim().is_empty() {
                return Err("completeness rules: a required material needs a category and a name".into());
            }
        }
        for s in &rules.sets {
            if !ids.insert(s.id.as_str()) {
                return Err(format!("completeness rules: two rules are called {}", s.id));
            }
            if s.record.is_some() == s.material.is_some() {
                return Err(format!("completeness rule {}: give exactly one of record or material", s.id));
            }
            let empty = |m: &MaterialMatch| m.category.trim().is_empty();
            if empty(&s.needs) || s.material.as_ref().is_some_and(empty) {
                return Err(format!("completeness rule {}: a material match needs a category", s.id));
            }
            if (s.date == DateTie::Months) != s.months.is_some() {
                return Err(format!(
                    "completeness rule {}: months goes with date = \"months\", and only with it",
                    s.id
                ));
            }
        }
        Ok(rules)
    }

    /// The shipped rules (`completeness.toml`), parsed once.
    pub fn shipped() -> &'static Rules {
        static SHIPPED: std::sync::LazyLock<Rules> = std::sync::LazyLock::new(|| {
            // The file is part of the build and a unit test parses it, so this cannot fail in a released binary.
            Rules::parse(DEFAULT_RULES).unwrap_or(Rules { required: Vec::new(), sets: Vec::new() })
        });
        &SHIPPED
    }
}

/// A material as the rules see it.
#[derive(Clone, Debug)]
pub struct Held<'a> {
    /// Its category.
    pub category: &'a str,
    /// Its title.
    pub title: &'a str,
    /// Its formed date.
    pub formed_on: Option<PartialDate>,
    /// Whether it was destroyed (then it is not present).
    pub destroyed: bool,
}

impl<'a> Held<'a> {
    /// A catalogued material.
    pub fn of(m: &'a Material) -> Self {
        Held {
            category: &m.meta.category,
            title: &m.meta.title,
            formed_on: m.meta.formed_on,
            destroyed: m.destroyed_by.is_some(),
        }
    }
}

/// The person record as the rules see it: a record list the caller may not see is `None` (its rules are not
/// checked).
#[derive(Clone, Copy, Debug, Default)]
pub struct Record<'a> {
    /// 任职经历.
    pub appointments: Option<&'a [Appointment]>,
    /// 年度考核.
    pub assessments: Option<&'a [AssessmentEntry]>,
    /// A party member (a 入党 date).
    pub party_member: bool,
}

/// The kind of a completeness finding.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum FindingKind {
    /// A required material is missing.
    Required,
    /// A 成套 rule is not met.
    Set,
}

/// A check that failed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct CompletenessFinding {
    /// The rule: `required-<category>` or a 成套 rule's id.
    pub rule: String,
    /// `required` or `set`.
    pub kind: FindingKind,
    /// What the rule asks for (`任免材料`, `任免审批表`).
    pub name: String,
    /// The record entry or material the check was about (none for a required material).
    pub evidence: Option<String>,
    /// What is missing.
    pub missing: String,
}

/// A dossier's completeness: the checks made, those satisfied, and a finding for each of the others.
#[derive(Clone, Debug, Default, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Completeness {
    /// Checks made.
    pub checks: u32,
    /// Checks satisfied.
    pub satisfied: u32,
    /// satisfied / checks, 0..1 (1 when nothing was checked), to four places.
    pub rate: f64,
    /// The rate as a percentage, to one place.
    pub percent: f64,
    /// One per failed check.
    pub findings: Vec<CompletenessFinding>,
}

/// The rate `satisfied / checks` (1 when nothing was checked), to four places, and as a percentage to one place.
pub fn rate(satisfied: u32, checks: u32) -> (f64, f64) {
    if checks == 0 {
        return (1.0, 100.0);
    }
    let r = f64::from(satisfied) / f64::from(checks);
    ((r * 10_000.0).round() / 10_000.0, (r * 1000.0).round() / 10.0)
}

/// A partial date as months since year 0: its first and last month.
fn months_of(d: PartialDate) -> (i64, i64) {
    let y = i64::from(d.year()) * 12;
    match d.month() {
        Some(m) => (y + i64::from(m) - 1, y + i64::from(m) - 1),
        None => (y, y + 11),
    }
}

impl MaterialMatch {
    fn matches(&self, scheme: &CategoryScheme, m: &Held<'_>) -> bool {
        !m.destroyed
            && scheme.lineage(m.category).contains(&self.category)
            && (self.title_any.is_empty() || self.title_any.iter().any(|w| m.title.contains(w.as_str())))
    }
}

impl SetRule {
    /// Whether a material formed on `formed` is tied to an entry dated `at` (`None`: an undated entry, which only
    /// an untied rule can satisfy).
    fn tied(&self, at: Option<PartialDate>, formed: Option<PartialDate>) -> bool {
        match self.date {
            DateTie::Any => true,
            DateTie::Year => matches!((at, formed), (Some(a), Some(f)) if a.year() == f.year()),
            DateTie::Months => {
                let (Some(a), Some(f)) = (at, formed) else { return false };
                let n = i64::from(self.months.unwrap_or(0));
                let ((alo, ahi), (flo, fhi)) = (months_of(a), months_of(f));
                fhi >= alo - n && flo <= ahi + n
            }
        }
    }

    fn missing(&self) -> String {
        let when = match self.date {
            DateTie::Year => "同年形成的".to_string(),
            DateTie::Months => format!("前后{}个月内形成的", self.months.unwrap_or(0)),
            DateTie::Any => String::new(),
        };
        let words = if self.needs.title_any.is_empty() {
            String::new()
        } else {
            format!("，标题含“{}”", self.needs.title_any.join("”或“"))
        };
        format!("缺少{when}{}（{}类{words}）", self.name, self.needs.category)
    }
}

/// Checks a dossier against the rules. `listable` says which categories the caller may list: a required material
/// or a 成套 rule whose categories the caller may not list is not checked (nor are rules on record lists `record`
/// withholds), so that neither the rate nor the findings tell what the caller may not see.
pub fn evaluate(
    rules: &Rules,
    scheme: &CategoryScheme,
    record: &Record<'_>,
    materials: &[Held<'_>],
    listable: &dyn Fn(&str) -> bool,
) -> Completeness {
    let mut checks = 0u32;
    let mut satisfied = 0u32;
    let mut findings = Vec::new();
    for r in rules.required.iter().filter(|r| !r.party_members || record.party_member) {
        if !listable(&r.category) {
            continue;
        }
        checks += 1;
        let need = MaterialMatch { category: r.category.clone(), title_any: Vec::new() };
        if materials.iter().any(|m| need.matches(scheme, m)) {
            satisfied += 1;
        } else {
            findings.push(CompletenessFinding {
                rule: format!("required-{}", r.category),
                kind: FindingKind::Required,
                name: r.name.clone(),
                evidence: None,
                missing: format!("缺少{}（{}类）", r.name, r.category),
            });
        }
    }
    for s in &rules.sets {
        if !listable(&s.needs.category) || s.material.as_ref().is_some_and(|m| !listable(&m.category)) {
            continue;
        }
        // (the entry's date, its description) for each entry or material the rule walks.
        let items: Vec<(Option<PartialDate>, String)> = match (s.record, &s.material) {
            (Some(RecordList::Appointments), _) => match record.appointments {
                Some(list) => {
                    list.iter().map(|a| (Some(a.from), format!("任职：{}（{}起）", a.position, a.from))).collect()
                }
                None => continue,
            },
            (Some(RecordList::Assessments), _) => match record.assessments {
                Some(list) => list
                    .iter()
                    .map(|a| (format!("{:04}", a.year).parse().ok(), format!("{}年度考核：{}", a.year, a.grade)))
                    .collect(),
                None => continue,
            },
            (None, Some(source)) => materials
                .iter()
                .filter(|m| source.matches(scheme, m))
                .map(|m| {
                    let when = m.formed_on.map(|d| format!("，{d}")).unwrap_or_default();
                    (m.formed_on, format!("材料：{}（{}类{when}）", m.title, m.category))
                })
                .collect(),
            (None, None) => continue,
        };
        for (at, evidence) in items {
            checks += 1;
            if materials.iter().any(|m| s.needs.matches(scheme, m) && s.tied(at, m.formed_on)) {
                satisfied += 1;
            } else {
                findings.push(CompletenessFinding {
                    rule: s.id.clone(),
                    kind: FindingKind::Set,
                    name: s.name.clone(),
                    evidence: Some(evidence),
                    missing: s.missing(),
                });
            }
        }
    }
    let (rate, percent) = rate(satisfied, checks);
    Completeness { checks, satisfied, rate, percent, findings }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> PartialDate {
        s.parse().unwrap()
    }

    fn held<'a>(category: &'a str, title: &'a str, formed: Option<&str>) -> Held<'a> {
        Held { category, title, formed_on: formed.map(d), destroyed: false }
    }

    fn appointment(from: &str, position: &str) -> Appointment {
        Appointment {
            from: d(from),
            to: None,
            department: "sales".into(),
            position: position.into(),
            rank: None,
            document_number: None,
        }
    }

    fn all(_: &str) -> bool {
        true
    }

    /// Only the 成套 rule `id` of the shipped rules.
    fn only(id: &str) -> Rules {
        let mut r = Rules::shipped().clone();
        r.required.clear();
        r.sets.retain(|s| s.id == id);
        assert_eq!(r.sets.len(), 1, "{id}");
        r
    }

    #[test]
    fn the_shipped_rules_parse_and_keep_the_six_required_materials() {
        let r = Rules::parse(DEFAULT_RULES).unwrap();
        assert_eq!(&r, Rules::shipped());
        let codes: Vec<&str> = r.required.iter().map(|r| r.category.as_str()).collect();
        assert_eq!(codes, ["1", "3", "4-1", "6", "9-1", "9-2"]);
        assert!(r.required.iter().find(|r| r.category == "6").unwrap().party_members);
        let ids: Vec<&str> = r.sets.iter().map(|s| s.id.as_str()).collect();
        assert_eq!(ids, ["appointment-approval", "assessment-material", "party-probation"]);
    }

    #[test]
    fn bad_rules_are_refused_with_the_reason() {
        let twice = "[[sets]]\nid='a'\nname='x'\nrecord='appointments'\nneeds={category='9-2'}\ndate='year'\n";
        assert!(Rules::parse(&twice.repeat(2)).unwrap_err().contains("two rules"));
        let both = "[[sets]]\nid='a'\nname='x'\nrecord='appointments'\nmaterial={category='6'}\nneeds={category='9-2'}\ndate='year'\n";
        assert!(Rules::parse(both).unwrap_err().contains("exactly one"));
        let months = "[[sets]]\nid='a'\nname='x'\nrecord='appointments'\nneeds={category='9-2'}\ndate='months'\n";
        assert!(Rules::parse(months).unwrap_err().contains("months"));
        assert!(
            Rules::parse("[[sets]]\nid='a'\nname='x'\nrecord='salary'\nneeds={category='9-1'}\ndate='any'").is_err()
        );
        assert!(Rules::parse("[[required]]\ncategory=''\nname='x'").is_err());
    }

    #[test]
    fn every_appointment_needs_a_9_2_material_formed_that_year() {
        let rules = only("appointment-approval");
        let scheme = CategoryScheme::scheme_2018();
        let posts = [appointment("2015-07-01", "科员"), appointment("2019-03", "科长")];
        let record = Record { appointments: Some(&posts), ..Default::default() };
        // Present: a 9-2 material of 2015 (full date) and one of 2019 (year only).
        let ms = [held("9-2", "任免审批表", Some("2015-06-20")), held("9-2", "任免审批表", Some("2019"))];
        let c = evaluate(&rules, &scheme, &record, &ms, &all);
        assert_eq!((c.checks, c.satisfied, c.rate, c.percent), (2, 2, 1.0, 100.0));
        assert!(c.findings.is_empty());
        // Absent: the 2019 one is of another year, another category, or destroyed; an undated one ties to nothing.
        let mut destroyed = held("9-2", "任免审批表", Some("2019-03-01"));
        destroyed.destroyed = true;
        for other in [
            held("9-2", "任免审批表", Some("2018-12")),
            held("9-1", "工资审批表", Some("2019-03")),
            destroyed,
            held("9-2", "任免审批表", None),
        ] {
            let ms = [held("9-2", "任免审批表", Some("2015-06-20")), other.clone()];
            let c = evaluate(&rules, &scheme, &record, &ms, &all);
            assert_eq!((c.checks, c.satisfied, c.rate, c.percent), (2, 1, 0.5, 50.0), "{other:?}");
            let f = &c.findings[0];
            assert_eq!(
                (f.rule.as_str(), f.kind, f.name.as_str()),
                ("appointment-approval", FindingKind::Set, "任免审批表")
            );
            assert_eq!(f.evidence.as_deref(), Some("任职：科长（2019-03起）"));
            assert_eq!(f.missing, "缺少同年形成的任免审批表（9-2类）");
        }
        // A caller who may not see the appointments, or may not list 9-2, is told nothing of this rule.
        let hidden = Record { appointments: None, ..Default::default() };
        assert_eq!(evaluate(&rules, &scheme, &hidden, &[], &all).checks, 0);
        let c = evaluate(&rules, &scheme, &record, &[], &|c: &str| c != "9-2");
        assert_eq!((c.checks, c.rate), (0, 1.0));
    }

    #[test]
    fn a_window_of_months_reaches_across_the_new_year_as_far_as_partial_dates_allow() {
        let mut rules = only("appointment-approval");
        rules.sets[0].date = DateTie::Months;
        rules.sets[0].months = Some(2);
        let scheme = CategoryScheme::scheme_2018();
        let posts = [appointment("2019-01-10", "科长")];
        let record = Record { appointments: Some(&posts), ..Default::default() };
        let ok = |formed: &str| {
            evaluate(&rules, &scheme, &record, &[held("9-2", "任免", Some(formed))], &all).satisfied == 1
        };
        assert!(ok("2018-11-30"), "two months before");
        assert!(ok("2019-03"), "two months after");
        assert!(ok("2018"), "a year-only date may be in the window");
        assert!(!ok("2018-10-31"), "three months before");
        assert!(!ok("2019-04-01"), "three months after");
        let c = evaluate(&rules, &scheme, &record, &[], &all);
        assert_eq!(c.findings[0].missing, "缺少前后2个月内形成的任免审批表（9-2类）");
    }

    #[test]
    fn every_assessment_year_needs_a_category_3_material_of_that_year() {
        let rules = only("assessment-material");
        let scheme = CategoryScheme::scheme_2018();
        let years = [2021, 2022, 2023].map(|year| AssessmentEntry { year, grade: "称职".into() });
        let record = Record { assessments: Some(&years), ..Default::default() };
        let ms = [
            held("3", "2021年度考核登记表", Some("2021-12-20")),
            held("3", "2022年度考核登记表", Some("2022")),
            held("3", "2023年度考核登记表", Some("2024-01-05")),
        ];
        let c = evaluate(&rules, &scheme, &record, &ms, &all);
        assert_eq!((c.checks, c.satisfied, c.rate, c.percent), (3, 2, 0.6667, 66.7));
        assert_eq!(c.findings.len(), 1);
        assert_eq!(c.findings[0].evidence.as_deref(), Some("2023年度考核：称职"));
        // A head lists category 3 and sees the assessments: checked.
        let c = evaluate(&rules, &scheme, &record, &ms, &|c: &str| c == "3");
        assert_eq!(c.checks, 3);
    }

    #[test]
    fn an_application_to_join_the_party_needs_its_probation_record() {
        let rules = only("party-probation");
        let scheme = CategoryScheme::scheme_2018();
        let record = Record { party_member: true, ..Default::default() };
        let application = held("6", "入党志愿书", Some("2005-06"));
        // No application: nothing to check.
        assert_eq!(evaluate(&rules, &scheme, &record, &[held("6", "转正申请", None)], &all).checks, 0);
        let c = evaluate(&rules, &scheme, &record, &[application.clone(), held("6", "预备党员转正申请书", None)], &all);
        assert_eq!((c.checks, c.satisfied), (1, 1), "any date, even none");
        let mut destroyed = held("6", "转正申请书", Some("2006-07"));
        destroyed.destroyed = true;
        for other in [held("6", "思想汇报", Some("2006")), held("1", "转正定级表", Some("2006")), destroyed] {
            let c = evaluate(&rules, &scheme, &record, &[application.clone(), other.clone()], &all);
            assert_eq!((c.checks, c.satisfied), (1, 0), "{other:?}");
            assert_eq!(c.findings[0].evidence.as_deref(), Some("材料：入党志愿书（6类，2005-06）"));
            assert_eq!(c.findings[0].missing, "缺少转正材料（6类，标题含“转正”）");
        }
        // A destroyed application asks for nothing.
        let mut gone = application;
        gone.destroyed = true;
        assert_eq!(evaluate(&rules, &scheme, &record, &[gone], &all).checks, 0);
    }

    #[test]
    fn required_materials_count_one_check_each_and_party_materials_only_for_members() {
        let mut rules = Rules::shipped().clone();
        rules.sets.clear();
        let scheme = CategoryScheme::scheme_2018();
        let ms = [held("1", "履历表", None), held("9-2", "任免审批表", Some("2019"))];
        let member = evaluate(&rules, &scheme, &Record { party_member: true, ..Default::default() }, &ms, &all);
        assert_eq!((member.checks, member.satisfied, member.rate, member.percent), (6, 2, 0.3333, 33.3));
        let names: Vec<&str> = member.findings.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names, ["考核鉴定类材料", "学历学位材料", "党、团类材料（党员）", "工资材料"]);
        assert_eq!(member.findings[0].rule, "required-3");
        assert_eq!(member.findings[0].kind, FindingKind::Required);
        let other = evaluate(&rules, &scheme, &Record::default(), &ms, &all);
        assert_eq!((other.checks, other.satisfied), (5, 2));
        // A head lists category 3 only: one check.
        let head = evaluate(&rules, &scheme, &Record::default(), &ms, &|c: &str| c == "3");
        assert_eq!((head.checks, head.satisfied, head.rate), (1, 0, 0.0));
    }

    #[test]
    fn the_rate_is_satisfied_over_checks_and_one_when_nothing_is_checked() {
        assert_eq!(rate(0, 0), (1.0, 100.0));
        assert_eq!(rate(0, 4), (0.0, 0.0));
        assert_eq!(rate(1, 3), (0.3333, 33.3));
        assert_eq!(rate(2, 3), (0.6667, 66.7));
        assert_eq!(rate(7, 8), (0.875, 87.5));
        assert_eq!(rate(5, 5), (1.0, 100.0));
    }
}
