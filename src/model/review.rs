//! 专项审核 (special review) of a cadre's dossier: the 三龄两历一身份 — 出生日期, 参加工作时间, 入党时间, 学历学位,
//! 工作经历 and 干部身份 — each with the values found in the source materials, the problems found, the value
//! determined (认定) and the evidence cited (docs/DOMAIN.md §4, "专项审核").
//!
//! A review is recorded as a draft by the archive office, then goes through the `special_review` flow (初审 → 复审
//! → 认定 → 组织审批) as a request whose changes are the determined values; once approved, the values are written
//! into the person record, the review is concluded, and those fields change only by an update request that cites
//! a 组织说明 (`org_explanation`). A promotion needs a concluded review no older than a configured age (凡提必审).
//! This module holds the record and its pure checks; the service stores it and runs the flow.

use super::date::PartialDate;
use super::ids::{MaterialId, PersonId, RequestId};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One of the six items a special review determines.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(description = "birth_date 出生日期, work_start 参加工作时间, party_join 入党时间, education 学历学位, \
    work_history 工作经历, cadre_status 干部身份.")]
pub enum ReviewItem {
    /// 出生日期.
    BirthDate,
    /// 参加工作时间.
    WorkStart,
    /// 入党时间.
    PartyJoin,
    /// 学历学位.
    Education,
    /// 工作经历.
    WorkHistory,
    /// 干部身份.
    CadreStatus,
}

impl ReviewItem {
    /// The six, in the order the review form lists them.
    pub const ALL: [ReviewItem; 6] = [
        ReviewItem::BirthDate,
        ReviewItem::WorkStart,
        ReviewItem::PartyJoin,
        ReviewItem::Education,
        ReviewItem::WorkHistory,
        ReviewItem::CadreStatus,
    ];

    /// The name in JSON and in a request's changes.
    pub fn as_str(self) -> &'static str {
        match self {
            ReviewItem::BirthDate => "birth_date",
            ReviewItem::WorkStart => "work_start",
            ReviewItem::PartyJoin => "party_join",
            ReviewItem::Education => "education",
            ReviewItem::WorkHistory => "work_history",
            ReviewItem::CadreStatus => "cadre_status",
        }
    }

    /// The item of a name.
    pub fn parse(s: &str) -> Option<ReviewItem> {
        ReviewItem::ALL.into_iter().find(|i| i.as_str() == s)
    }

    /// Its name: (Chinese, English).
    pub fn label(self) -> (&'static str, &'static str) {
        match self {
            ReviewItem::BirthDate => ("出生日期", "Date of birth"),
            ReviewItem::WorkStart => ("参加工作时间", "Start of work"),
            ReviewItem::PartyJoin => ("入党时间", "Party entry"),
            ReviewItem::Education => ("学历学位", "Education and degree"),
            ReviewItem::WorkHistory => ("工作经历", "Work history"),
            ReviewItem::CadreStatus => ("干部身份", "Cadre status"),
        }
    }

    /// The person field its determined value is written into, if it has one (the work history and the cadre
    /// status are determined in the review alone: the record's appointments are their own list).
    pub fn person_field(self) -> Option<&'static str> {
        match self {
            ReviewItem::BirthDate | ReviewItem::WorkStart | ReviewItem::PartyJoin | ReviewItem::Education => {
                Some(self.as_str())
            }
            ReviewItem::WorkHistory | ReviewItem::CadreStatus => None,
        }
    }

    /// Whether its value is a date (`1980`, `1980-05`, `1980-05-17`).
    pub fn is_date(self) -> bool {
        matches!(self, ReviewItem::BirthDate | ReviewItem::WorkStart | ReviewItem::PartyJoin)
    }
}

/// A kind of problem found in the source materials.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(
    description = "altered 涂改, inconsistent 不一致 (sources disagree), missing 缺失, suspected_forgery 造假嫌疑."
)]
pub enum ProblemKind {
    /// 涂改: a value altered on the paper.
    Altered,
    /// 不一致: the sources disagree.
    Inconsistent,
    /// 缺失: the material that would prove it is missing.
    Missing,
    /// 造假嫌疑: suspected forgery.
    SuspectedForgery,
}

impl ProblemKind {
    /// All kinds, in report order.
    pub const ALL: [ProblemKind; 4] =
        [ProblemKind::Altered, ProblemKind::Inconsistent, ProblemKind::Missing, ProblemKind::SuspectedForgery];

    /// Its Chinese name.
    pub fn zh(self) -> &'static str {
        match self {
            ProblemKind::Altered => "涂改",
            ProblemKind::Inconsistent => "不一致",
            ProblemKind::Missing => "缺失",
            ProblemKind::SuspectedForgery => "造假嫌疑",
        }
    }

    /// The name in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            ProblemKind::Altered => "altered",
            ProblemKind::Inconsistent => "inconsistent",
            ProblemKind::Missing => "missing",
            ProblemKind::SuspectedForgery => "suspected_forgery",
        }
    }
}

/// A value as one source material gives it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FoundValue {
    /// The material (of this dossier) it is read from.
    #[schema(value_type = String)]
    pub material_id: MaterialId,
    /// The value as written there (`1980.05`, `大学本科`, …).
    pub value: String,
}

/// A problem found while reviewing an item.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Problem {
    /// Its kind.
    pub kind: ProblemKind,
    /// What was found.
    pub note: String,
    /// The material it was found in, if one.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub material_id: Option<MaterialId>,
}

/// The review of one item.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReviewEntry {
    /// Which item.
    pub item: ReviewItem,
    /// The values found, one per source material.
    #[serde(default)]
    pub found: Vec<FoundValue>,
    /// The problems found.
    #[serde(default)]
    pub problems: Vec<Problem>,
    /// The value determined (认定); a date for the three dates.
    #[serde(default)]
    pub determined: Option<String>,
    /// The materials the determination rests on.
    #[serde(default)]
    #[schema(value_type = Vec<String>)]
    pub evidence: Vec<MaterialId>,
    /// The basis of the determination (认定依据), e.g. the rule that the earliest record prevails.
    #[serde(default)]
    pub basis: Option<String>,
}

/// What a client sends to record a review (`PUT /api/v1/persons/{id}/review`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReviewInput {
    /// The items reviewed (each at most once).
    #[serde(default)]
    pub entries: Vec<ReviewEntry>,
    /// A note on the review as a whole.
    #[serde(default)]
    pub note: Option<String>,
}

/// A concluded review: the approved request that concluded it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Conclusion {
    /// The `special_review` request.
    #[schema(value_type = String)]
    pub request_id: RequestId,
    /// When it was applied (Unix seconds).
    pub at: i64,
    /// The version of the review it approved.
    pub review_version: u32,
    /// Who approved it, step by step.
    pub approvers: Vec<String>,
}

/// The stored review of a cadre (one per dossier; each recording makes a new version, kept).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SpecialReview {
    /// Whose dossier.
    pub person_id: PersonId,
    /// The items reviewed.
    pub entries: Vec<ReviewEntry>,
    /// A note on the review as a whole.
    pub note: Option<String>,
    /// From 1; the ETag of optimistic concurrency.
    pub version: u32,
    /// Last recorded (Unix seconds) and by whom.
    pub updated_at: i64,
    /// Who recorded the last version.
    pub updated_by: String,
    /// The `special_review` request the last submission started, if any.
    pub request_id: Option<RequestId>,
    /// The last conclusion, if the review was ever concluded.
    pub conclusion: Option<Conclusion>,
}

/// Where a review stands, as lists and the 专审进度 report show it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(description = "none: never reviewed; draft: recorded, not (or no longer) in a flow; in_review: 初审/复审; \
    in_approval: 认定/组织审批; concluded: approved and current; expired: approved longer ago than the configured age.")]
pub enum ReviewState {
    /// Never reviewed.
    None,
    /// Recorded, not in a flow (or returned, rejected, withdrawn).
    Draft,
    /// In 初审 or 复审.
    InReview,
    /// In 认定 or 组织审批.
    InApproval,
    /// Approved and current.
    Concluded,
    /// Approved, but longer ago than the configured age.
    Expired,
}

impl ReviewState {
    /// All, in report order.
    pub const ALL: [ReviewState; 6] = [
        ReviewState::None,
        ReviewState::Draft,
        ReviewState::InReview,
        ReviewState::InApproval,
        ReviewState::Concluded,
        ReviewState::Expired,
    ];

    /// The name in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            ReviewState::None => "none",
            ReviewState::Draft => "draft",
            ReviewState::InReview => "in_review",
            ReviewState::InApproval => "in_approval",
            ReviewState::Concluded => "concluded",
            ReviewState::Expired => "expired",
        }
    }

    /// Its Chinese name.
    pub fn zh(self) -> &'static str {
        match self {
            ReviewState::None => "未审核",
            ReviewState::Draft => "审核中（未提交）",
            ReviewState::InReview => "初审/复审",
            ReviewState::InApproval => "认定/审批",
            ReviewState::Concluded => "已认定",
            ReviewState::Expired => "已过期",
        }
    }
}

/// The most entries, sources, problems or evidence one list takes, and the longest text.
const MAX_LIST: usize = 50;
const MAX_TEXT: usize = 2000;

/// Checks a recording: each item at most once, the three dates parse, a determination cites evidence, lists and
/// texts within bounds. Returns the field and what is wrong. Whether the materials belong to the dossier is the
/// service's check.
pub fn check_input(input: &ReviewInput) -> Result<(), (String, String)> {
    let bad = |f: String, m: &str| Err((f, m.to_string()));
    if input.entries.len() > ReviewItem::ALL.len() {
        return bad("entries".into(), "at most one entry per item");
    }
    if input.note.as_ref().is_some_and(|n| n.chars().count() > MAX_TEXT) {
        return bad("note".into(), "at most 2,000 characters");
    }
    let mut seen = Vec::new();
    for e in &input.entries {
        let f = |name: &str| format!("entries.{}.{name}", e.item.as_str());
        if seen.contains(&e.item) {
            return bad(format!("entries.{}", e.item.as_str()), "each item is reviewed once");
        }
        seen.push(e.item);
        if e.found.len() > MAX_LIST || e.problems.len() > MAX_LIST || e.evidence.len() > MAX_LIST {
            return bad(f("found"), "at most 50 sources, problems and evidence each");
        }
        let texts = e.found.iter().map(|v| &v.value).chain(e.problems.iter().map(|p| &p.note));
        if texts.chain(e.determined.iter()).chain(e.basis.iter()).any(|t| t.chars().count() > MAX_TEXT) {
            return bad(f("determined"), "at most 2,000 characters per text");
        }
        if e.problems.iter().any(|p| p.note.trim().is_empty()) {
            return bad(f("problems"), "say what the problem is");
        }
        if let Some(d) = e.determined.as_deref() {
            if d.trim().is_empty() {
                return bad(f("determined"), "empty; leave it out until the value is determined");
            }
            if e.item.is_date() && d.trim().parse::<PartialDate>().is_err() {
                return bad(f("determined"), "a date is expected: 1980, 1980-05 or 1980-05-17");
            }
            if e.evidence.is_empty() {
                return bad(f("evidence"), "a determination cites the materials it rests on");
            }
        }
    }
    Ok(())
}

/// The material ids a recording names (sources, problems, evidence), for the service to check.
pub fn cited_materials(input: &ReviewInput) -> Vec<MaterialId> {
    let mut ids: Vec<MaterialId> = input
        .entries
        .iter()
        .flat_map(|e| {
            e.found
                .iter()
                .map(|f| f.material_id)
                .chain(e.problems.iter().filter_map(|p| p.material_id))
                .chain(e.evidence.iter().copied())
        })
        .collect();
    ids.sort();
    ids.dedup();
    ids
}

impl SpecialReview {
    /// The determined values written into the person record (item name → value), as a `special_review` request
    /// carries them.
    pub fn determined_fields(&self) -> BTreeMap<String, String> {
        self.entries
            .iter()
            .filter(|e| e.item.person_field().is_some())
            .filter_map(|e| e.determined.as_ref().map(|d| (e.item.as_str().to_string(), d.trim().to_string())))
            .collect()
    }

    /// The items whose determination a submission still lacks: every item reviewed must be determined, and
    /// the dates must be reviewed (入党时间 only for a party member).
    pub fn undetermined(&self, party_member: bool) -> Vec<ReviewItem> {
        ReviewItem::ALL
            .into_iter()
            .filter(|i| match self.entries.iter().find(|e| e.item == *i) {
                Some(e) => e.determined.is_none(),
                None => i.is_date() && (*i != ReviewItem::PartyJoin || party_member),
            })
            .collect()
    }

    /// The person fields a concluded review fixes (those with a determined value in the version concluded).
    pub fn locked_fields(&self) -> Vec<&'static str> {
        if self.conclusion.is_none() {
            return Vec::new();
        }
        self.entries.iter().filter(|e| e.determined.is_some()).filter_map(|e| e.item.person_field()).collect()
    }

    /// The problems found, counted by kind.
    pub fn problem_counts(&self) -> BTreeMap<ProblemKind, usize> {
        let mut out = BTreeMap::new();
        for p in self.entries.iter().flat_map(|e| &e.problems) {
            *out.entry(p.kind).or_insert(0) += 1;
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn entry(v: serde_json::Value) -> ReviewEntry {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn a_recording_is_checked_item_by_item() {
        let m = MaterialId::new();
        let ok = ReviewInput {
            entries: vec![
                entry(json!({"item": "birth_date", "found": [{"material_id": m, "value": "1980.05"}],
                    "determined": "1980-05-17", "evidence": [m]})),
                entry(json!({"item": "education", "problems": [{"kind": "altered", "note": "毕业时间有涂改"}]})),
            ],
            note: None,
        };
        assert_eq!(check_input(&ok), Ok(()));
        assert_eq!(cited_materials(&ok), vec![m]);

        let mut twice = ok.clone();
        twice.entries.push(twice.entries[0].clone());
        assert_eq!(check_input(&twice).unwrap_err().0, "entries.birth_date");

        let mut no_date = ok.clone();
        no_date.entries[0].determined = Some("八十年代".into());
        assert_eq!(check_input(&no_date).unwrap_err().0, "entries.birth_date.determined");

        let mut no_evidence = ok.clone();
        no_evidence.entries[0].evidence.clear();
        assert_eq!(check_input(&no_evidence).unwrap_err().0, "entries.birth_date.evidence");

        let mut silent = ok;
        silent.entries[1].problems[0].note = " ".into();
        assert_eq!(check_input(&silent).unwrap_err().0, "entries.education.problems");

        let unknown = serde_json::from_value::<ReviewInput>(json!({"entries": [{"item": "salary"}]}));
        assert!(unknown.is_err(), "only the six items are reviewed");
    }

    #[test]
    fn a_submission_needs_the_three_dates_and_every_reviewed_item_determined_and_only_a_conclusion_locks() {
        let m = MaterialId::new();
        let mut r = SpecialReview {
            person_id: PersonId::new(),
            entries: vec![
                entry(json!({"item": "birth_date", "determined": "1980-05-17", "evidence": [m]})),
                entry(json!({"item": "cadre_status", "determined": "1998-07 经省人事厅批准转干", "evidence": [m]})),
            ],
            note: None,
            version: 1,
            updated_at: 0,
            updated_by: "hr".into(),
            request_id: None,
            conclusion: None,
        };
        assert_eq!(r.undetermined(true), vec![ReviewItem::WorkStart, ReviewItem::PartyJoin]);
        assert_eq!(r.undetermined(false), vec![ReviewItem::WorkStart]);
        assert_eq!(
            r.determined_fields().into_iter().collect::<Vec<_>>(),
            vec![("birth_date".into(), "1980-05-17".into())]
        );
        assert!(r.locked_fields().is_empty(), "a draft locks nothing");
        r.conclusion = Some(Conclusion { request_id: RequestId::new(), at: 1, review_version: 1, approvers: vec![] });
        assert_eq!(r.locked_fields(), vec!["birth_date"]);
    }
}
