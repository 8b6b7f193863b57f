//! The kinds of change request (DOMAIN §4) and what each knows of itself: its name on disk and in the API, its
//! labels, the change fields it takes (the web form is built from them), and the pure rule that checks its
//! changes and says what the person record becomes. Its flow (who reviews and approves) is data, in
//! `workflows.toml`. Adding a kind is one variant here, its arm in [`RequestKind::apply`], and its flow.

use super::person::{Appointment, SalaryEntry, Secondment};
use super::{Finding, PartialDate, Person, PersonStatus, today};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A kind of change request. Serialized as the lowercase name (`"promotion"`), as stored and as in the API.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
#[schema(
    description = "The kind of a change request (DOMAIN §4): 档案创建, 档案更新, 晋升, 调岗, 离职, 查阅, 销毁, 借调, 专项审核, 转出. The same list as \
        `RequestKind::ALL` (tests compare them); each kind's flow is in the definitions (`GET /workflows`)."
)]
pub enum RequestKind {
    /// 档案创建: a new person record (any person field).
    Create,
    /// 档案更新: any person field; routine fields alone take the fast path.
    Update,
    /// 晋升: position, rank, salary grade.
    Promotion,
    /// 调岗: to another department.
    Transfer,
    /// 离职.
    Resignation,
    /// 查阅: leave to read a dossier; the result is a grant, not a person version.
    Consultation,
    /// 销毁: appraised-out materials crypto-shredded; the register kept.
    Destruction,
    /// 借调: lent to another department for a fixed period; recorded on the person, the home post kept.
    Secondment,
    /// 专项审核: the determined (认定) values of a special review written into the record (docs/DOMAIN.md §4).
    #[serde(rename = "special_review")]
    SpecialReview,
    /// 转出: the dossier transferred to another unit (docs/DOMAIN.md §4c); the result is a transfer, not a person
    /// version.
    #[serde(rename = "transfer_out")]
    TransferOut,
}

/// How a change field is entered on the web form.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Input {
    /// One line of text.
    Text,
    /// A date (`2024`, `2024-07`, `2024-07-01`).
    Date,
    /// Several lines of text.
    Long,
    /// A department code (a choice of the configured departments).
    Department,
    /// Material ids, comma-separated (a JSON list in the change).
    Ids,
}

/// One change field a kind takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChangeField {
    /// The key in `changes`.
    pub name: &'static str,
    /// Label, Chinese.
    pub zh: &'static str,
    /// Label, English.
    pub en: &'static str,
    /// How it is entered.
    pub input: Input,
}

const fn field(name: &'static str, zh: &'static str, en: &'static str, input: Input) -> ChangeField {
    ChangeField { name, zh, en, input }
}

use Input::{Date, Department, Ids, Long, Text};

const UPDATE_FORM: &[ChangeField] = &[
    field("position", "职务", "Position", Text),
    field("rank", "职级", "Rank", Text),
    field("education", "学历学位", "Education", Text),
    field("salary_grade", "薪级", "Salary grade", Text),
    field("phone", "电话", "Phone", Text),
    field("address", "地址", "Address", Text),
];
const PROMOTION: &[ChangeField] = &[
    field("position", "新职务", "New position", Text),
    field("rank", "新职级", "New rank", Text),
    field("salary_grade", "新薪级", "New salary grade", Text),
    field("contract_change", "合同变更说明", "Contract change", Long),
    field("effective_on", "生效日期", "Effective on", Date),
];
const TRANSFER: &[ChangeField] = &[
    field("department", "调入部门", "New department", Department),
    field("position", "新职务", "New position", Text),
    field("rank", "职级", "Rank", Text),
    field("effective_on", "生效日期", "Effective on", Date),
];
const RESIGNATION: &[ChangeField] = &[
    field("resign_on", "离职日期", "Leaves on", Date),
    field("agreement", "离职协议", "Agreement", Long),
    field("settlement", "薪酬结算", "Settlement", Long),
];
const CONSULTATION: &[ChangeField] = &[
    field("purpose", "查阅目的", "Purpose", Long),
    field("until", "查阅截止日期", "Until", Date),
    field("material_ids", "限定材料（编号，逗号分隔；空为全部）", "Materials (ids, comma-separated; empty: all)", Ids),
];
const DESTRUCTION: &[ChangeField] = &[
    field("material_ids", "销毁材料（编号，逗号分隔）", "Materials (ids, comma-separated)", Ids),
    field("appraisal", "鉴定意见", "Appraisal", Long),
];
const SECONDMENT: &[ChangeField] = &[
    field("department", "借调单位（部门）", "Host department", Department),
    field("position", "借调职务", "Position there", Text),
    field("from", "借调开始日期", "From", Date),
    field("until", "借调结束日期", "Until", Date),
    field("reason", "借调事由", "Purpose of the secondment", Long),
];
/// What a special review request carries: the review version it approves and the determined values (filled by
/// the archive from the stored review, never typed in a form).
const SPECIAL_REVIEW: &[ChangeField] = &[
    field("review_version", "审核记录版本", "Review version", Text),
    field("birth_date", "出生日期（认定）", "Date of birth (determined)", Date),
    field("work_start", "参加工作时间（认定）", "Start of work (determined)", Date),
    field("party_join", "入党时间（认定）", "Party entry (determined)", Date),
    field("education", "学历学位（认定）", "Education (determined)", Text),
];

const TRANSFER_OUT: &[ChangeField] = &[
    field("receiving_unit", "接收单位", "Receiving unit", Text),
    field("notice_number", "通知单编号", "Notice (通知单) number", Text),
    field("address", "接收单位地址", "Receiving unit's address", Text),
    field("reason", "转出原因", "Reason", Long),
];

/// The key of an update's changes that cites the 组织说明 a change of a determined (认定) field needs: the id of
/// that material in the dossier. It is not a person field.
pub const ORG_EXPLANATION: &str = "org_explanation";

impl RequestKind {
    /// Every kind, in the order lists show them (api and web iterate this one list).
    pub const ALL: [RequestKind; 10] = [
        RequestKind::Create,
        RequestKind::Update,
        RequestKind::Promotion,
        RequestKind::Transfer,
        RequestKind::Resignation,
        RequestKind::Consultation,
        RequestKind::Destruction,
        RequestKind::Secondment,
        RequestKind::SpecialReview,
        RequestKind::TransferOut,
    ];

    /// The name on disk, in the API and in `workflows.toml`.
    pub fn as_str(self) -> &'static str {
        match self {
            RequestKind::Create => "create",
            RequestKind::Update => "update",
            RequestKind::Promotion => "promotion",
            RequestKind::Transfer => "transfer",
            RequestKind::Resignation => "resignation",
            RequestKind::Consultation => "consultation",
            RequestKind::Destruction => "destruction",
            RequestKind::Secondment => "secondment",
            RequestKind::SpecialReview => "special_review",
            RequestKind::TransferOut => "transfer_out",
        }
    }

    /// The kind of a name.
    pub fn parse(s: &str) -> Option<RequestKind> {
        RequestKind::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// The names of all kinds, comma-separated (for messages).
    pub fn names() -> String {
        RequestKind::ALL.map(RequestKind::as_str).join(", ")
    }

    /// Its name: (Chinese, English).
    pub fn label(self) -> (&'static str, &'static str) {
        match self {
            RequestKind::Create => ("档案创建", "Create"),
            RequestKind::Update => ("档案更新", "Update"),
            RequestKind::Promotion => ("晋升", "Promotion"),
            RequestKind::Transfer => ("调岗", "Transfer"),
            RequestKind::Resignation => ("离职", "Resignation"),
            RequestKind::Consultation => ("查阅", "Consultation"),
            RequestKind::Destruction => ("销毁", "Destruction"),
            RequestKind::Secondment => ("借调", "Secondment"),
            RequestKind::SpecialReview => ("专项审核", "Special review"),
            RequestKind::TransferOut => ("转出", "Transfer out"),
        }
    }

    /// The change fields it takes, as the request form offers them. For `update` the form offers the common
    /// fields, but any person field is accepted ([`RequestKind::takes_any_field`]); `create` takes a whole
    /// person (its own form).
    pub fn fields(self) -> &'static [ChangeField] {
        match self {
            RequestKind::Create => &[],
            RequestKind::Update => UPDATE_FORM,
            RequestKind::Promotion => PROMOTION,
            RequestKind::Transfer => TRANSFER,
            RequestKind::Resignation => RESIGNATION,
            RequestKind::Consultation => CONSULTATION,
            RequestKind::Destruction => DESTRUCTION,
            RequestKind::Secondment => SECONDMENT,
            RequestKind::SpecialReview => SPECIAL_REVIEW,
            RequestKind::TransferOut => TRANSFER_OUT,
        }
    }

    /// Whether its changes may name any person field (a person, or a merge patch of one).
    pub fn takes_any_field(self) -> bool {
        matches!(self, RequestKind::Create | RequestKind::Update)
    }

    /// Whether the new-request form offers it (`create` has the person form; a destruction is started from the
    /// materials it names, by API; a special review from the review page; a consultation is a grant with its
    /// letter of introduction, asked on its own form).
    pub fn on_request_form(self) -> bool {
        !matches!(
            self,
            RequestKind::Create | RequestKind::Destruction | RequestKind::SpecialReview | RequestKind::Consultation
        )
    }

    /// Whether its flow may have a fast path: a change of routine fields alone applied at once by HR. Only
    /// `update` is a routine change.
    pub fn is_routine(self) -> bool {
        self == RequestKind::Update
    }

    /// Whether anyone may start it, whatever the policy's `start_requests` say (a consultation: the security
    /// administrator decides).
    pub fn anyone_may_start(self) -> bool {
        self == RequestKind::Consultation
    }

    /// Whether applying it makes a new person version. A consultation makes a grant, a destruction shreds
    /// materials; both leave the person record as it is, so a newer person version is no conflict for them
    /// and their terms are the request's own (nothing of the person to hide from reviewers).
    pub fn changes_person(self) -> bool {
        !matches!(self, RequestKind::Consultation | RequestKind::Destruction | RequestKind::TransferOut)
    }

    /// Whether its `department` change names a department the person joins or is lent to, whose head
    /// (`head:new`) reviews it and so sees the person as one of that department's.
    pub fn names_new_department(self) -> bool {
        matches!(self, RequestKind::Create | RequestKind::Transfer | RequestKind::Secondment)
    }

    /// The pure rule: checks `changes` and returns the person as the request would leave it (before the
    /// person's own validation). For a kind that does not change the person (consultation, destruction) it
    /// checks the terms and returns the person unchanged. An error is a finding naming the field.
    pub fn apply(self, current: Option<&Person>, changes: &Value) -> Result<Person, Finding> {
        let obj = changes.as_object().ok_or_else(|| bad("changes", "a JSON object is expected"))?;
        let current = match (self, current) {
            (RequestKind::Create, _) => return Person::from_input(changes.clone()).map_err(|e| bad("changes", e)),
            (_, Some(c)) => c,
            (_, None) => return Err(bad("person_id", "name the person the request is about")),
        };
        if !self.takes_any_field()
            && let Some(key) = obj.keys().find(|k| !self.fields().iter().any(|f| f.name == k.as_str()))
        {
            let takes: Vec<&str> = self.fields().iter().map(|f| f.name).collect();
            return Err(bad(
                "changes",
                format!("a {} request does not change {key:?}; it takes {takes:?}", self.as_str()),
            ));
        }
        let mut p = current.clone();
        let on = date_field(changes, "effective_on")?.unwrap_or_else(|| PartialDate::from_date(today()));
        match self {
            RequestKind::Create => unreachable!("handled above"),
            RequestKind::Update => {
                let mut doc = serde_json::to_value(&p).map_err(|e| bad("changes", e.to_string()))?;
                let mut changes = changes.clone();
                if let Some(o) = changes.as_object_mut() {
                    o.remove(ORG_EXPLANATION);
                }
                merge_patch(&mut doc, &changes);
                p = Person::from_input(doc).map_err(|e| bad("changes", e))?;
                p.id = current.id;
                p.version = current.version;
            }
            RequestKind::Promotion => {
                let position = text_field(changes, "position").or(p.position.clone());
                let rank = text_field(changes, "rank").or(p.rank.clone());
                if position == p.position && rank == p.rank && changes.get("salary_grade").is_none() {
                    return Err(bad("changes", "a promotion changes the position, the rank or the salary grade"));
                }
                close_open_appointment(&mut p, on);
                p.appointments.push(Appointment {
                    from: on,
                    to: None,
                    department: p.department.clone(),
                    position: position.clone().unwrap_or_default(),
                    rank: rank.clone(),
                    document_number: None,
                });
                p.position = position;
                p.rank = rank;
                if let Some(g) = text_field(changes, "salary_grade") {
                    p.salary.push(SalaryEntry { from: on, grade: g.clone(), amount: None });
                    p.salary_grade = Some(g);
                }
            }
            RequestKind::Transfer => {
                let department = text_field(changes, "department")
                    .ok_or_else(|| bad("department", "a transfer names the new department"))?;
                if department == p.department {
                    return Err(bad("department", "the person already belongs to that department"));
                }
                close_open_appointment(&mut p, on);
                p.department = department;
                if let Some(pos) = text_field(changes, "position") {
                    p.position = Some(pos);
                }
                if let Some(r) = text_field(changes, "rank") {
                    p.rank = Some(r);
                }
                p.appointments.push(Appointment {
                    from: on,
                    to: None,
                    department: p.department.clone(),
                    position: p.position.clone().unwrap_or_default(),
                    rank: p.rank.clone(),
                    document_number: None,
                });
            }
            RequestKind::Resignation => {
                let on = date_field(changes, "resign_on")?
                    .ok_or_else(|| bad("resign_on", "a resignation names its date (resign_on)"))?;
                close_open_appointment(&mut p, on);
                for c in p.contracts.iter_mut().filter(|c| c.to.is_none()) {
                    c.to = Some(on);
                }
                p.status = PersonStatus::Resigned;
            }
            RequestKind::Consultation => {
                if text_field(changes, "purpose").is_none_or(|t| t.chars().count() < 2) {
                    return Err(bad("purpose", "state the purpose of the consultation"));
                }
                let until = date_field(changes, "until")?.ok_or_else(|| bad("until", "name the end of the period"))?;
                if until.last_day() < today() || until.first_day() > today() + time::Duration::days(366) {
                    return Err(bad("until", "the period ends in the coming year"));
                }
            }
            RequestKind::Destruction => {
                let ids = changes.get("material_ids").filter(|v| !v.is_null());
                let ids: Vec<super::MaterialId> = match ids {
                    None => Vec::new(),
                    Some(v) => serde_json::from_value(v.clone()).map_err(|e| bad("material_ids", e.to_string()))?,
                };
                if ids.is_empty() {
                    return Err(bad("material_ids", "list the appraised-out materials to destroy"));
                }
                if text_field(changes, "appraisal").is_none() {
                    return Err(bad(
                        "appraisal",
                        "cite the appraisal (鉴定) that found the materials need not be kept",
                    ));
                }
            }
            RequestKind::Secondment => {
                let department = text_field(changes, "department")
                    .ok_or_else(|| bad("department", "a secondment names the host department"))?;
                if department == p.department {
                    return Err(bad("department", "the person already belongs to that department"));
                }
                let from =
                    date_field(changes, "from")?.ok_or_else(|| bad("from", "name the start of the secondment"))?;
                let until =
                    date_field(changes, "until")?.ok_or_else(|| bad("until", "name the end of the secondment"))?;
                if until <= from {
                    return Err(bad("until", format!("借调结束日期 {until} 须晚于开始日期 {from}")));
                }
                p.secondments.push(Secondment {
                    from,
                    until,
                    department,
                    position: text_field(changes, "position"),
                    reason: text_field(changes, "reason"),
                });
            }
            RequestKind::TransferOut => {
                for (name, what) in [
                    ("receiving_unit", "name the receiving unit (接收单位)"),
                    ("notice_number", "give the number of the notice (通知单) that asks for the dossier"),
                    ("reason", "state the reason of the transfer"),
                ] {
                    if text_field(changes, name).is_none() {
                        return Err(bad(name, what));
                    }
                }
            }
            RequestKind::SpecialReview => {
                if changes.get("review_version").and_then(Value::as_u64).is_none() {
                    return Err(bad("review_version", "name the version of the review it approves"));
                }
                for (field, slot) in [
                    ("birth_date", &mut p.birth_date),
                    ("work_start", &mut p.work_start),
                    ("party_join", &mut p.party_join),
                ] {
                    if let Some(d) = date_field(changes, field)? {
                        *slot = Some(d);
                    }
                }
                if let Some(e) = text_field(changes, "education") {
                    p.education = Some(e);
                }
            }
        }
        Ok(p)
    }
}

impl AsRef<str> for RequestKind {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl std::fmt::Display for RequestKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

fn bad(field: &str, message: impl Into<String>) -> Finding {
    Finding::error(field, message)
}

fn date_field(changes: &Value, field: &str) -> Result<Option<PartialDate>, Finding> {
    match changes.get(field).and_then(Value::as_str) {
        None => Ok(None),
        Some(s) => s.parse().map(Some).map_err(|e: super::date::InvalidDate| bad(field, e.to_string())),
    }
}

/// A text change, trimmed; none when absent or empty.
pub fn text_field(changes: &Value, field: &str) -> Option<String> {
    changes.get(field).and_then(Value::as_str).map(|s| s.trim().to_string()).filter(|s| !s.is_empty())
}

fn close_open_appointment(p: &mut Person, on: PartialDate) {
    for a in p.appointments.iter_mut().filter(|a| a.to.is_none()) {
        a.to = Some(on);
    }
}

/// RFC 7396 JSON merge patch: what a request's changes and a person edit do to the record's JSON.
pub fn merge_patch(target: &mut Value, patch: &Value) {
    match patch {
        Value::Object(p) => {
            if !target.is_object() {
                *target = Value::Object(Default::default());
            }
            if let Value::Object(t) = target {
                for (k, v) in p {
                    if v.is_null() {
                        t.remove(k);
                    } else {
                        merge_patch(t.entry(k.clone()).or_insert(Value::Null), v);
                    }
                }
            }
        }
        other => *target = other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn person() -> Person {
        Person::from_input(json!({"name": "李四", "department": "ops", "position": "专员"})).unwrap()
    }

    #[test]
    fn names_round_trip_as_today() {
        for k in RequestKind::ALL {
            assert_eq!(serde_json::to_value(k).unwrap(), json!(k.as_str()));
            assert_eq!(serde_json::from_value::<RequestKind>(json!(k.as_str())).unwrap(), k);
            assert_eq!(RequestKind::parse(k.as_str()), Some(k));
        }
        assert_eq!(
            RequestKind::names(),
            "create, update, promotion, transfer, resignation, consultation, destruction, secondment, special_review, \
             transfer_out"
        );
        assert!(serde_json::from_value::<RequestKind>(json!("loan")).is_err());
    }

    #[test]
    fn every_form_kind_has_fields_and_labels() {
        for k in RequestKind::ALL.into_iter().filter(|k| k.on_request_form()) {
            assert!(!k.fields().is_empty(), "{k}");
            assert!(!k.label().0.is_empty() && !k.label().1.is_empty());
        }
    }

    #[test]
    fn a_secondment_is_recorded_and_keeps_the_home_post() {
        let p = person();
        let changes =
            json!({"department": "sales", "position": "项目经理", "from": "2026-01-01", "until": "2026-12-31"});
        let next = RequestKind::Secondment.apply(Some(&p), &changes).unwrap();
        assert_eq!((next.department.as_str(), next.position.as_deref()), ("ops", Some("专员")));
        assert_eq!(next.secondments.len(), 1);
        assert_eq!(next.secondments[0].department, "sales");
        assert_eq!(next.secondments[0].until.to_string(), "2026-12-31");
    }

    #[test]
    fn a_secondment_ends_after_it_starts() {
        let p = person();
        let changes = json!({"department": "sales", "from": "2026-06-01", "until": "2026-01-01"});
        assert_eq!(RequestKind::Secondment.apply(Some(&p), &changes).unwrap_err().field, "until");
        let home = json!({"department": "ops", "from": "2026-01-01", "until": "2026-06-01"});
        assert_eq!(RequestKind::Secondment.apply(Some(&p), &home).unwrap_err().field, "department");
        let stray = json!({"department": "sales", "from": "2026-01-01", "until": "2026-06-01", "rank": "x"});
        assert_eq!(RequestKind::Secondment.apply(Some(&p), &stray).unwrap_err().field, "changes");
    }
}
