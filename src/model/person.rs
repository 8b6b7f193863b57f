//! Persons (干部): the cadre a dossier belongs to, with the basic fields and the typed, dated record lists of
//! docs/DOMAIN.md §1 (appointments, education, training, assessments, rewards, punishments, salary, contracts,
//! family). A person record is versioned as a whole; every change produces a new immutable version.

use super::date::PartialDate;
use super::idnumber::IdNumber;
use super::ids::{MaterialId, PersonId};
use super::{Finding, today};
use serde::{Deserialize, Serialize};

/// Gender as recorded (and as the ID number's sequence parity says).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Gender {
    /// 男
    Male,
    /// 女
    Female,
}

impl<'de> Deserialize<'de> for Gender {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        match s.trim() {
            "male" | "男" | "m" | "M" => Ok(Gender::Male),
            "female" | "女" | "f" | "F" => Ok(Gender::Female),
            other => Err(serde::de::Error::custom(format!("gender must be \"male\" or \"female\", not {other:?}"))),
        }
    }
}

/// Employment status (在职 / 调出 / 离职 / 退休 / 去世).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
#[schema(description = "在职 / 调出 / 离职 / 退休 / 去世.")]
pub enum PersonStatus {
    /// 在职
    #[default]
    Active,
    /// 调出
    Transferred,
    /// 离职
    Resigned,
    /// 退休
    Retired,
    /// 去世
    Deceased,
}

/// 任职经历: one post held.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Appointment {
    /// Start of the post.
    pub from: PartialDate,
    /// End of the post; open while current.
    #[serde(default)]
    pub to: Option<PartialDate>,
    /// Department code.
    pub department: String,
    /// Post (职务).
    pub position: String,
    /// Rank (职级).
    #[serde(default)]
    pub rank: Option<String>,
    /// Appointment document number (文号).
    #[serde(default)]
    pub document_number: Option<String>,
}

/// 借调: a period lent to another department; the home department and post stay as they are
/// (`RequestKind::Secondment`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Secondment {
    /// Start.
    pub from: PartialDate,
    /// End (after the start).
    pub until: PartialDate,
    /// The host department's code.
    pub department: String,
    /// The post held there.
    #[serde(default)]
    pub position: Option<String>,
    /// Why.
    #[serde(default)]
    pub reason: Option<String>,
}

/// 学历学位: one course of study.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EducationEntry {
    /// Start of study.
    #[serde(default)]
    pub from: Option<PartialDate>,
    /// Graduation.
    #[serde(default)]
    pub to: Option<PartialDate>,
    /// School or university.
    pub school: String,
    /// Major.
    #[serde(default)]
    pub major: Option<String>,
    /// Level (学历), e.g. 大学本科.
    #[serde(default)]
    pub level: Option<String>,
    /// Degree (学位), e.g. 学士.
    #[serde(default)]
    pub degree: Option<String>,
}

/// 培训: one training course.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TrainingEntry {
    /// Start.
    pub from: PartialDate,
    /// End.
    #[serde(default)]
    pub to: Option<PartialDate>,
    /// Course name.
    pub name: String,
    /// Organiser.
    #[serde(default)]
    pub organiser: Option<String>,
}

/// 年度考核: one annual assessment.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AssessmentEntry {
    /// Year assessed.
    pub year: u16,
    /// Grade: 优秀 / 称职 / 基本称职 / 不称职 (or 合格 …).
    pub grade: String,
}

/// 奖励 or 处分: one reward or punishment.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HonourEntry {
    /// When decided.
    pub date: PartialDate,
    /// What (e.g. 记三等功, 警告处分).
    pub title: String,
    /// Deciding authority.
    #[serde(default)]
    pub authority: Option<String>,
    /// For punishments: when lifted.
    #[serde(default)]
    pub lifted_on: Option<PartialDate>,
}

/// 工资: one salary change (finance and HR only).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SalaryEntry {
    /// Effective from.
    pub from: PartialDate,
    /// Salary grade.
    pub grade: String,
    /// Monthly amount in yuan.
    #[serde(default)]
    pub amount: Option<f64>,
}

/// 合同: one contract (legal and HR only).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ContractEntry {
    /// Kind, e.g. 劳动合同, 保密协议.
    pub kind: String,
    /// Start.
    pub from: PartialDate,
    /// End (open-ended when absent).
    #[serde(default)]
    pub to: Option<PartialDate>,
    /// The material holding the signed contract.
    #[serde(default)]
    pub material_id: Option<MaterialId>,
}

/// 家庭成员: a relative (used by the no-relatives access rule).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FamilyMember {
    /// Relation, e.g. 配偶, 父亲.
    pub relation: String,
    /// Name.
    pub name: String,
    /// Their own person record, when they are a cadre here too.
    #[serde(default)]
    pub person_id: Option<PersonId>,
    /// Work unit and post.
    #[serde(default)]
    pub work_unit: Option<String>,
}

/// A person record. Absent optional fields are `null` in JSON; lists default to empty.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Person {
    /// Assigned by the archive.
    #[serde(default)]
    pub id: PersonId,
    /// 姓名.
    pub name: String,
    /// 曾用名.
    #[serde(default)]
    pub former_names: Vec<String>,
    /// 性别 (derived from the ID number when absent).
    #[serde(default)]
    pub gender: Option<Gender>,
    /// 出生日期 (derived from the ID number when absent).
    #[serde(default)]
    pub birth_date: Option<PartialDate>,
    /// 公民身份号码, validated per GB 11643; stored whole, shown masked to all but HR.
    #[serde(default)]
    pub id_number: Option<String>,
    /// 民族.
    #[serde(default)]
    pub ethnicity: Option<String>,
    /// 籍贯.
    #[serde(default)]
    pub native_place: Option<String>,
    /// 参加工作时间.
    #[serde(default)]
    pub work_start: Option<PartialDate>,
    /// 入党时间.
    #[serde(default)]
    pub party_join: Option<PartialDate>,
    /// 转正时间: when the party membership became full (absent from the record while unknown).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub party_full: Option<PartialDate>,
    /// 学历/学位 (highest), e.g. 大学本科/学士.
    #[serde(default)]
    pub education: Option<String>,
    /// Department code (`finance`); its name is filled in by the archive.
    pub department: String,
    /// Department name, e.g. 财务部 (derived).
    #[serde(default)]
    pub department_name: Option<String>,
    /// 职务.
    #[serde(default)]
    pub position: Option<String>,
    /// 职级.
    #[serde(default)]
    pub rank: Option<String>,
    /// Salary grade (finance and HR only).
    #[serde(default)]
    pub salary_grade: Option<String>,
    /// Phone.
    #[serde(default)]
    pub phone: Option<String>,
    /// Address.
    #[serde(default)]
    pub address: Option<String>,
    /// 在职 / 调出 / 离职 / 退休 / 去世.
    #[serde(default)]
    pub status: PersonStatus,
    /// 干部管理权限: which level manages the cadre.
    #[serde(default)]
    pub management_level: Option<String>,
    /// 任职经历.
    #[serde(default)]
    pub appointments: Vec<Appointment>,
    /// 借调: periods lent to another department (absent from the record while there are none).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub secondments: Vec<Secondment>,
    /// 学历学位 records (the list; `education` is the highest level as text).
    #[serde(default)]
    pub education_history: Vec<EducationEntry>,
    /// 培训.
    #[serde(default)]
    pub training: Vec<TrainingEntry>,
    /// 年度考核.
    #[serde(default)]
    pub assessments: Vec<AssessmentEntry>,
    /// 奖励.
    #[serde(default)]
    pub rewards: Vec<HonourEntry>,
    /// 处分.
    #[serde(default)]
    pub punishments: Vec<HonourEntry>,
    /// 工资.
    #[serde(default)]
    pub salary: Vec<SalaryEntry>,
    /// 合同.
    #[serde(default)]
    pub contracts: Vec<ContractEntry>,
    /// 家庭成员.
    #[serde(default)]
    pub family: Vec<FamilyMember>,
    /// Version of the record, from 1; the ETag of optimistic concurrency.
    #[serde(default)]
    pub version: u32,
}

/// Rules of the record checks that are set per installation (docs/DOMAIN.md §5).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordRules {
    /// A gap between posts longer than this many whole months is a warning.
    pub max_gap_months: u32,
}

impl Default for RecordRules {
    fn default() -> Self {
        RecordRules { max_gap_months: 12 }
    }
}

/// A period of a record list: its end open while current.
#[derive(Clone, Copy, Debug)]
struct Period {
    from: PartialDate,
    to: Option<PartialDate>,
}

impl Period {
    fn new(from: PartialDate, to: Option<PartialDate>) -> Self {
        Period { from, to }
    }

    /// Whether two periods certainly overlap: each begins (at its latest) before the other ends (at its
    /// earliest). A handover within the same month is no overlap.
    fn overlaps(&self, other: &Period) -> bool {
        let end = |p: &Period| p.to.map(|t| t.first_day()).unwrap_or(time::Date::MAX);
        self.from.last_day() < end(other) && other.from.last_day() < end(self)
    }
}

/// The day someone born on `born` reaches `years` years (a 29 February birthday in a common year: 1 March).
fn anniversary(born: time::Date, years: u16) -> time::Date {
    let year = born.year() + i32::from(years);
    born.replace_year(year).or_else(|_| time::Date::from_calendar_date(year, time::Month::March, 1)).unwrap_or(born)
}

/// Whole months from `a` to `b` (negative when `b` is earlier).
fn months_between(a: time::Date, b: time::Date) -> i32 {
    let m = (b.year() - a.year()) * 12 + (b.month() as i32 - a.month() as i32);
    if b.day() < a.day() { m - 1 } else { m }
}

/// The input of `POST /persons`: a person without id and version. `education` may be text (the highest level)
/// or a list of education entries (then it fills `education_history`).
pub type PersonInput = serde_json::Value;

/// A JSON merge patch (RFC 7396) of a person record.
pub type PersonPatch = serde_json::Value;

/// Fields that a client may not set: the archive assigns them.
pub const ASSIGNED_FIELDS: [&str; 3] = ["id", "version", "department_name"];

impl Person {
    /// Builds a person from client JSON, normalising what clients commonly send: `education` as a list,
    /// and the ID number (upper-case X, 15 → 18 digits).
    pub fn from_input(mut input: serde_json::Value) -> Result<Person, String> {
        let obj = input.as_object_mut().ok_or("a person must be a JSON object")?;
        for f in ASSIGNED_FIELDS {
            obj.remove(f);
        }
        if let Some(list @ serde_json::Value::Array(_)) = obj.get("education").cloned() {
            obj.insert("education_history".into(), list);
            obj.remove("education");
        }
        let mut p: Person = serde_json::from_value(input).map_err(|e| e.to_string())?;
        if p.education.is_none()
            && let Some(last) = p.education_history.last()
        {
            p.education = last.level.clone();
        }
        p.name = p.name.trim().to_string();
        p.department = p.department.trim().to_string();
        Ok(p)
    }

    /// Checks the record per docs/DOMAIN.md §5 and fills what the ID number determines (birth date, gender) when
    /// absent, under the default [`RecordRules`]. Returns the findings; errors block the write.
    pub fn validate_and_complete(&mut self) -> Vec<Finding> {
        self.validate_and_complete_with(&RecordRules::default())
    }

    /// [`Person::validate_and_complete`] under these rules.
    pub fn validate_and_complete_with(&mut self, rules: &RecordRules) -> Vec<Finding> {
        let mut f = Vec::new();
        let name_len = self.name.chars().count();
        if name_len == 0 || name_len > 64 {
            f.push(Finding::error("name", "姓名不能为空，且不超过64个字符"));
        }
        if self.department.is_empty() {
            f.push(Finding::error("department", "必须填写所在部门"));
        }
        if let Some(raw) = self.id_number.clone() {
            match IdNumber::parse(&raw) {
                Err(e) => f.push(Finding::error("id_number", e.to_string())),
                Ok(id) => {
                    self.id_number = Some(id.as_str().to_string());
                    let id_birth = PartialDate::from_date(id.birth_date());
                    match self.birth_date {
                        None => self.birth_date = Some(id_birth),
                        Some(b) if b != id_birth => f.push(Finding::warning(
                            "birth_date",
                            format!("档案记载的出生日期 {b} 与公民身份号码中的 {id_birth} 不一致"),
                        )),
                        _ => {}
                    }
                    let id_gender = if id.is_male() { Gender::Male } else { Gender::Female };
                    match self.gender {
                        None => self.gender = Some(id_gender),
                        Some(g) if g != id_gender => {
                            f.push(Finding::error("gender", "性别与公民身份号码第17位（奇数为男，偶数为女）不符"))
                        }
                        _ => {}
                    }
                }
            }
        }
        let today = PartialDate::from_date(today());
        if let Some(birth) = self.birth_date {
            if birth > today {
                f.push(Finding::error("birth_date", "出生日期不能晚于今天"));
            }
            // The 16- and 18-year rules (docs/DOMAIN.md §5): an error only if even the latest day a partial date can
            // mean ("2005" → 2005-12-31) is before the earliest day the person can have reached that age; a
            // warning if the known parts leave it open (a year-only date in the 16th year).
            for (field, date, years, what) in
                [("work_start", self.work_start, 16, "参加工作时间"), ("party_join", self.party_join, 18, "入党时间")]
            {
                let Some(d) = date else { continue };
                if d.last_day() < anniversary(birth.first_day(), years) {
                    f.push(Finding::error(field, format!("{what} {d} 早于年满{years}周岁（出生 {birth}）")));
                } else if d.first_day() < anniversary(birth.last_day(), years) {
                    f.push(Finding::warning(
                        field,
                        format!("{what} {d} 只记到年或月，无法确认已年满{years}周岁（出生 {birth}），请核实"),
                    ));
                }
            }
        }
        for (field, date) in [("work_start", self.work_start), ("party_join", self.party_join)] {
            if let Some(d) = date
                && d > today
            {
                f.push(Finding::error(field, format!("{d} 晚于今天")));
            }
        }
        for (i, a) in self.appointments.iter().enumerate() {
            if let Some(to) = a.to
                && to < a.from
            {
                f.push(Finding::error(format!("appointments[{i}].to"), "任职结束时间早于开始时间"));
            }
        }
        for (i, s) in self.secondments.iter().enumerate() {
            if s.until <= s.from {
                f.push(Finding::error(format!("secondments[{i}].until"), "借调结束日期须晚于开始日期"));
            }
        }
        for (i, e) in self.education_history.iter().enumerate() {
            if let (Some(from), Some(to)) = (e.from, e.to)
                && to < from
            {
                f.push(Finding::error(format!("education_history[{i}].to"), "毕业时间早于入学时间"));
            }
        }
        self.check_party_full(&mut f);
        self.check_periods(rules, &mut f);
        f
    }

    /// 转正 after 入党 (docs/DOMAIN.md §5): before it is an error, less than the year of probation a warning
    /// (each only if the dates' known parts settle it).
    fn check_party_full(&self, f: &mut Vec<Finding>) {
        let Some(full) = self.party_full else { return };
        if full > PartialDate::from_date(today()) {
            f.push(Finding::error("party_full", format!("{full} 晚于今天")));
        }
        let Some(join) = self.party_join else { return };
        if full.last_day() < join.first_day() {
            f.push(Finding::error("party_full", format!("转正时间 {full} 早于入党时间 {join}")));
        } else if full.last_day() < anniversary(join.first_day(), 1) {
            f.push(Finding::warning("party_full", format!("转正时间 {full} 距入党时间 {join} 不足一年预备期，请核实")));
        }
    }

    /// Study and posts in order (docs/DOMAIN.md §5), all warnings: posts that overlap (a concurrent post, 兼任,
    /// should say so), study periods that overlap, a study period overlapping a post (study while working,
    /// 在职学习, should be checked), a post before the work start, and gaps between posts longer than
    /// `rules.max_gap_months`. Only what the dates' known parts settle is reported.
    fn check_periods(&self, rules: &RecordRules, f: &mut Vec<Finding>) {
        let posts: Vec<Period> = self.appointments.iter().map(|a| Period::new(a.from, a.to)).collect();
        let study: Vec<Option<Period>> =
            self.education_history.iter().map(|e| e.from.map(|from| Period::new(from, e.to))).collect();
        for (i, a) in posts.iter().enumerate() {
            for (j, b) in posts.iter().enumerate().skip(i + 1) {
                if a.overlaps(b) {
                    f.push(Finding::warning(
                        format!("appointments[{j}].from"),
                        format!("任职时间与第{}项任职重叠（兼任请注明）", i + 1),
                    ));
                }
            }
            if let Some(ws) = self.work_start
                && a.from.last_day() < ws.first_day()
            {
                f.push(Finding::warning(
                    format!("appointments[{i}].from"),
                    format!("任职开始时间 {} 早于参加工作时间 {ws}", a.from),
                ));
            }
        }
        for (i, a) in study.iter().enumerate() {
            let Some(a) = a else { continue };
            for (j, b) in study.iter().enumerate().skip(i + 1) {
                if b.as_ref().is_some_and(|b| a.overlaps(b)) {
                    f.push(Finding::warning(
                        format!("education_history[{j}].from"),
                        format!("学习时间与第{}项学历重叠", i + 1),
                    ));
                }
            }
            for (j, b) in posts.iter().enumerate() {
                if a.overlaps(b) {
                    f.push(Finding::warning(
                        format!("education_history[{i}].from"),
                        format!("学习时间与第{}项任职重叠（在职学习请核实）", j + 1),
                    ));
                }
            }
        }
        let mut order: Vec<usize> = (0..posts.len()).collect();
        order.sort_by_key(|i| posts[*i].from);
        for w in order.windows(2) {
            let next = &posts[w[1]];
            // The end of the latest post begun so far: a gap is time covered by none of them.
            let covered_to = order.iter().take_while(|i| **i != w[1]).filter_map(|i| posts[*i].to).max();
            let open = order.iter().take_while(|i| **i != w[1]).any(|i| posts[*i].to.is_none());
            let Some(end) = covered_to.filter(|_| !open) else { continue };
            let months = months_between(end.last_day(), next.from.first_day());
            if months > i32::try_from(rules.max_gap_months).unwrap_or(i32::MAX) {
                f.push(Finding::warning(
                    format!("appointments[{}].from", w[1]),
                    format!("任职经历自 {end} 至 {} 间断约{months}个月（超过{}个月）", next.from, rules.max_gap_months),
                ));
            }
        }
    }

    /// The record as a reader with `fields` may see it: hidden parts emptied, the ID number masked unless the
    /// whole number is allowed. Returns the names of the hidden parts.
    pub fn redacted(mut self, fields: &super::policy::FieldAccess) -> (Person, Vec<&'static str>) {
        let mut hidden = Vec::new();
        if !fields.full_id_number
            && let Some(idn) = self.id_number.take()
        {
            self.id_number = Some(IdNumber::parse(&idn).map(|i| i.masked()).unwrap_or_else(|_| "********".into()));
            hidden.push("id_number");
        }
        if !fields.contact {
            self.phone = None;
            self.address = None;
            hidden.push("contact");
        }
        if !fields.salary {
            self.salary_grade = None;
            self.salary.clear();
            hidden.push("salary");
        }
        if !fields.contracts {
            self.contracts.clear();
            hidden.push("contracts");
        }
        if !fields.assessments {
            self.assessments.clear();
            hidden.push("assessments");
        }
        if !fields.records {
            self.appointments.clear();
            self.secondments.clear();
            self.education_history.clear();
            self.training.clear();
            self.rewards.clear();
            self.punishments.clear();
            self.family.clear();
            hidden.push("records");
        }
        (self, hidden)
    }

    /// The part of a record, as [`Person::redacted`] names it in its list of hidden parts (`id_number`,
    /// `contact`, `salary`, `contracts`, `assessments`, `records`), that a field (by its JSON name) belongs to;
    /// `None` for the basic fields, which `redacted` never hides (name, former names, department, position, rank,
    /// dates, education as text, …). Learnt once from `redacted` itself, so the grouping is written down in one
    /// place only.
    pub fn field_group(field: &str) -> Option<&'static str> {
        static GROUPS: std::sync::OnceLock<std::collections::BTreeMap<String, &'static str>> =
            std::sync::OnceLock::new();
        GROUPS.get_or_init(Person::learn_field_groups).get(field).copied()
    }

    fn learn_field_groups() -> std::collections::BTreeMap<String, &'static str> {
        use super::policy::FieldAccess;
        let all = FieldAccess {
            basic: true,
            full_id_number: true,
            contact: true,
            salary: true,
            contracts: true,
            assessments: true,
            records: true,
        };
        let probe = Person::probe();
        let json = |p: Person| serde_json::to_value(p).ok().and_then(|v| v.as_object().cloned()).unwrap_or_default();
        let whole = json(probe.clone());
        let without: [fn(&mut FieldAccess); 6] = [
            |f| f.full_id_number = false,
            |f| f.contact = false,
            |f| f.salary = false,
            |f| f.contracts = false,
            |f| f.assessments = false,
            |f| f.records = false,
        ];
        let mut out = std::collections::BTreeMap::new();
        for drop in without {
            let mut fields = all.clone();
            drop(&mut fields);
            let (seen, hidden) = probe.clone().redacted(&fields);
            let seen = json(seen);
            for group in hidden {
                for (k, v) in &whole {
                    if seen.get(k) != Some(v) {
                        out.insert(k.clone(), group);
                    }
                }
            }
        }
        out
    }

    /// A record with every field filled, for learning what `redacted` hides.
    fn probe() -> Person {
        let d = PartialDate::from_date(today());
        let honour = HonourEntry { date: d, title: "t".into(), authority: None, lifted_on: None };
        Person {
            id: PersonId::default(),
            name: "n".into(),
            former_names: vec!["f".into()],
            gender: Some(Gender::Female),
            birth_date: Some(d),
            id_number: Some("11010519491231002X".into()),
            ethnicity: Some("e".into()),
            native_place: Some("p".into()),
            work_start: Some(d),
            party_join: Some(d),
            party_full: Some(d),
            education: Some("e".into()),
            department: "d".into(),
            department_name: Some("d".into()),
            position: Some("p".into()),
            rank: Some("r".into()),
            salary_grade: Some("g".into()),
            phone: Some("1".into()),
            address: Some("a".into()),
            status: PersonStatus::Active,
            management_level: Some("m".into()),
            appointments: vec![Appointment {
                from: d,
                to: None,
                department: "d".into(),
                position: "p".into(),
                rank: None,
                document_number: None,
            }],
            secondments: vec![Secondment { from: d, until: d, department: "d".into(), position: None, reason: None }],
            education_history: vec![EducationEntry {
                from: None,
                to: None,
                school: "s".into(),
                major: None,
                level: None,
                degree: None,
            }],
            training: vec![TrainingEntry { from: d, to: None, name: "t".into(), organiser: None }],
            assessments: vec![AssessmentEntry { year: 2020, grade: "g".into() }],
            rewards: vec![honour.clone()],
            punishments: vec![honour],
            salary: vec![SalaryEntry { from: d, grade: "g".into(), amount: None }],
            contracts: vec![ContractEntry { kind: "k".into(), from: d, to: None, material_id: None }],
            family: vec![FamilyMember { relation: "r".into(), name: "n".into(), person_id: None, work_unit: None }],
            version: 1,
        }
    }

    /// Persons recorded in the family records.
    pub fn relatives(&self) -> Vec<PersonId> {
        self.family.iter().filter_map(|f| f.person_id).collect()
    }

    /// All names the person is known by (name and former names), for search.
    pub fn all_names(&self) -> Vec<String> {
        std::iter::once(self.name.clone()).chain(self.former_names.iter().cloned()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn person(extra: serde_json::Value) -> Person {
        let mut base = json!({"name": "张伟", "department": "finance"});
        base.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        Person::from_input(base).unwrap()
    }

    #[test]
    fn id_number_fills_birth_and_gender() {
        let mut p = person(json!({"id_number": "11010519491231002x"}));
        assert!(p.validate_and_complete().is_empty());
        assert_eq!(p.birth_date.unwrap().to_string(), "1949-12-31");
        assert_eq!(p.gender, Some(Gender::Female));
        assert_eq!(p.id_number.as_deref(), Some("11010519491231002X"));
    }

    #[test]
    fn findings() {
        let mut p = person(json!({"id_number": "110105194912310021"}));
        assert_eq!(p.validate_and_complete()[0].field, "id_number");

        let mut p = person(json!({"id_number": "11010519491231002X", "birth_date": "1950-01-01"}));
        let f = p.validate_and_complete();
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].severity, crate::model::Severity::Warning);

        let mut p = person(json!({"birth_date": "1980-05-17", "party_join": "1997-06-01", "work_start": "2002-07"}));
        let f = p.validate_and_complete();
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!(f[0].field, "party_join");

        let mut p = person(json!({"id_number": "11010519491231002X", "gender": "male"}));
        assert_eq!(p.validate_and_complete()[0].field, "gender");
    }

    /// (field, severity) of each finding.
    fn found(extra: serde_json::Value) -> Vec<(String, crate::model::Severity)> {
        person(extra).validate_and_complete().into_iter().map(|f| (f.field, f.severity)).collect()
    }

    use crate::model::Severity::{Error as E, Warning as W};

    #[test]
    fn the_16_and_18_year_rules_warn_when_the_known_parts_leave_it_open() {
        let ages = |ws: &str, pj: &str| found(json!({"birth_date": "1989-05-17", "work_start": ws, "party_join": pj}));
        // The 16th and 18th year, given as a year or a month that can contain the birthday: no error, a warning.
        assert_eq!(ages("2005", "2007"), [("work_start".into(), W), ("party_join".into(), W)]);
        assert_eq!(ages("2005-05", "2007-05"), [("work_start".into(), W), ("party_join".into(), W)]);
        // Settled either way: nothing, or an error.
        assert!(ages("2005-05-17", "2007-05-17").is_empty());
        assert!(ages("2006", "2007-06").is_empty());
        assert_eq!(ages("2005-04", "2007-05-16"), [("work_start".into(), E), ("party_join".into(), E)]);
        assert_eq!(ages("2004", "2006"), [("work_start".into(), E), ("party_join".into(), E)]);
        // A year-only birth date: a full date in the 16th year is open, so a warning.
        assert_eq!(found(json!({"birth_date": "1989", "work_start": "2005-03-01"})), [("work_start".into(), W)]);
        assert!(found(json!({"birth_date": "1989", "work_start": "2006-01-01"})).is_empty());
        // Born on 29 February: the anniversary in a common year is taken as 1 March.
        assert_eq!(found(json!({"birth_date": "1988-02-29", "party_join": "2006-02-28"})), [("party_join".into(), E)]);
        assert!(found(json!({"birth_date": "1988-02-29", "party_join": "2006-03-01"})).is_empty());
    }

    #[test]
    fn full_membership_comes_a_year_after_joining() {
        let full = |pj: &str, pf: &str| found(json!({"party_join": pj, "party_full": pf}));
        assert!(full("2000-07-01", "2001-07-01").is_empty());
        assert!(full("2000", "2001").is_empty(), "a year-only pair may be a year apart");
        assert_eq!(full("2000-07-01", "2001-03-01"), [("party_full".into(), W)]);
        assert_eq!(full("2000-07", "2000-12"), [("party_full".into(), W)]);
        assert_eq!(full("2000-07-01", "1999-07-01"), [("party_full".into(), E)]);
        assert!(found(json!({"party_full": "2001"})).is_empty(), "no 入党 date: nothing to compare");
    }

    fn post(from: &str, to: Option<&str>) -> serde_json::Value {
        json!({"from": from, "to": to, "department": "hr", "position": "科员"})
    }

    #[test]
    fn posts_and_study_in_order() {
        // Consecutive posts, a handover in the same month: nothing.
        let ok = found(
            json!({"work_start": "2005-07", "appointments": [post("2005-07", Some("2010-03")), post("2010-03", None)]}),
        );
        assert!(ok.is_empty(), "{ok:?}");
        // Overlapping posts.
        let f = found(json!({"appointments": [post("2005-07", Some("2010-03")), post("2009-01", None)]}));
        assert_eq!(f, [("appointments[1].from".into(), W)]);
        // A post before the work start.
        let f = found(json!({"work_start": "2005-07", "appointments": [post("2004-01", Some("2005-06"))]}));
        assert_eq!(f, [("appointments[0].from".into(), W)]);
        // Study periods overlapping each other, and a post.
        let f = found(json!({
            "education": [
                {"from": "2001-09", "to": "2005-07", "school": "甲大学"},
                {"from": "2004-09", "to": "2007-07", "school": "乙大学"},
            ],
            "appointments": [post("2006-01", None)],
        }));
        assert_eq!(
            f,
            [("education_history[1].from".into(), W), ("education_history[1].from".into(), W)],
            "study 2 overlaps study 1 and the post"
        );
        // Study that ends as the post begins: nothing.
        let f = found(
            json!({"education": [{"from": "2001-09", "to": "2005-07", "school": "甲"}], "appointments": [post("2005-07", None)]}),
        );
        assert!(f.is_empty(), "{f:?}");
    }

    #[test]
    fn gaps_between_posts_longer_than_the_rule_warn() {
        let posts = json!({"appointments": [post("2005-07", Some("2008-01")), post("2009-03", None)]});
        assert_eq!(found(posts.clone()), [("appointments[1].from".into(), W)], "14 months over the default 12");
        let mut p = person(posts.clone());
        assert!(p.validate_and_complete_with(&RecordRules { max_gap_months: 14 }).is_empty());
        // A post still held covers what follows; so does a longer one begun earlier.
        let covered = json!({"appointments": [post("2000-01", Some("2012-01")), post("2005-07", Some("2008-01")), post("2009-03", None)]});
        let f = person(covered).validate_and_complete();
        assert!(f.iter().all(|f| !f.message.contains("间断") && f.severity == W), "{f:?}");
        let within = json!({"appointments": [post("2005-07", Some("2008-01")), post("2009-01", None)]});
        assert!(found(within).is_empty());
    }

    #[test]
    fn education_as_list_fills_history() {
        let p = person(json!({"education": [{"school": "北京大学", "level": "大学本科", "degree": "学士"}]}));
        assert_eq!(p.education.as_deref(), Some("大学本科"));
        assert_eq!(p.education_history.len(), 1);
    }

    #[test]
    fn field_groups_are_those_redacted_hides() {
        let group = |f| Person::field_group(f);
        assert_eq!(group("id_number"), Some("id_number"));
        assert_eq!((group("phone"), group("address")), (Some("contact"), Some("contact")));
        assert_eq!((group("salary_grade"), group("salary")), (Some("salary"), Some("salary")));
        assert_eq!(group("contracts"), Some("contracts"));
        assert_eq!(group("assessments"), Some("assessments"));
        for f in ["appointments", "secondments", "education_history", "training", "rewards", "punishments", "family"] {
            assert_eq!(group(f), Some("records"), "{f}");
        }
        for f in ["name", "former_names", "department", "position", "rank", "education", "birth_date", "status"] {
            assert_eq!(group(f), None, "{f} is basic");
        }
    }

    #[test]
    fn client_cannot_set_assigned_fields() {
        let p = Person::from_input(json!({"name": "李", "department": "hr", "version": 99})).unwrap();
        assert_eq!(p.version, 0);
        assert!(Person::from_input(json!({"name": "李", "department": "hr", "gender": "x"})).is_err());
    }
}
