//! The contract register (合同登记簿, docs/DOMAIN.md §4e): a record per contract material kept by HR and legal,
//! the register with its filters and its reminders (a term ending within the notice window, a probation
//! ending), terms proposed from a contract's extracted text, and legal's review notes — a blocking one stops every
//! approval of a change to that cadre's contracts until it is resolved (`Contracts::check_no_blocking_note`, called by
//! the workflows).
//!
//! Who: whoever may see the cadre's contract records (the policy's `contracts` field access: HR and legal in the
//! shipped policy) and read the contract material on the policy — never on a consultation grant. Everybody
//! else gets 404, as for a material they may not know; the own-dossier and relatives rules answer 403 as
//! everywhere. Every read, list and change is in the trail.

use super::{Contracts, Error, Principal, Result, blocking_findings, check_version};
use crate::model::contract::{
    self, ContractKind, ContractProposal, ContractRecord, ContractStatus, ContractTerms, NewNote, NoteSeverity,
    ReminderKind, ReviewNote,
};
use crate::model::policy::{Access, role_name};
use crate::model::{AuditAction, Finding, Material, MaterialId, PartialDate, Person, PersonId, now_ts};
use crate::store::{Table, key};
use serde::Serialize;

/// The tag that makes a material a contract (the shipped policy gives legal the materials of this tag).
pub const CONTRACT_TAG: &str = "contract";

/// Where a contract stands on the day asked.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ContractState {
    /// In force with a fixed term.
    Active,
    /// In force without a fixed end (无固定期限).
    OpenTerm,
    /// Its term has ended.
    Ended,
    /// Renewed by a later contract.
    Renewed,
    /// Ended early.
    Terminated,
}

impl ContractState {
    /// Its Chinese name.
    pub fn label(self) -> &'static str {
        match self {
            ContractState::Active => "履行中",
            ContractState::OpenTerm => "无固定期限",
            ContractState::Ended => "已到期",
            ContractState::Renewed => "已续订",
            ContractState::Terminated => "已解除",
        }
    }

    fn of(terms: &ContractTerms, on: time::Date) -> Self {
        match terms.status {
            ContractStatus::Renewed => ContractState::Renewed,
            ContractStatus::Terminated => ContractState::Terminated,
            ContractStatus::Active => match terms.ends_on() {
                None => ContractState::OpenTerm,
                Some(end) if end < on => ContractState::Ended,
                Some(_) => ContractState::Active,
            },
        }
    }
}

/// A reminder a contract raises.
#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Reminder {
    /// `ending` (the term ends within the window), `ended` (ended and not dealt with), `probation_ending`.
    pub kind: ReminderKind,
    /// The day it is about.
    pub on: PartialDate,
    /// Days from the day asked to that day (negative: past).
    pub days: i64,
    /// What to do, in words.
    pub detail: String,
}

/// One row of the register: a contract with its cadre, where it stands and what it asks for.
#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct RegisterRow {
    /// The cadre.
    pub person_id: PersonId,
    /// Their name.
    pub person_name: String,
    /// Their department's name.
    pub department: String,
    /// The contract material; absent for a contract the person record lists without a recorded document.
    pub material_id: Option<MaterialId>,
    /// The material's title.
    pub title: Option<String>,
    /// `register` (a record kept on the contract material) or `person_record` (only the person record's list
    /// of contracts knows it: recorded by an approved request, without the register's details).
    pub source: String,
    /// The record's version (its ETag); absent for `person_record`.
    pub version: Option<u32>,
    /// The terms.
    pub terms: ContractTerms,
    /// The kind's Chinese name.
    pub kind_label: String,
    /// Where it stands on the day asked.
    pub state: ContractState,
    /// Days left of its term (negative: ended); absent for an open term.
    pub days_left: Option<i64>,
    /// Whether its 竞业限制 binds on the day asked.
    pub non_compete_active: bool,
    /// Its reminders on the day asked.
    pub reminders: Vec<Reminder>,
    /// Review notes not yet resolved.
    pub open_notes: usize,
    /// Of those, the blocking ones.
    pub blocking_notes: usize,
    /// Warnings on the terms (a probation longer than the law allows, a non-compete without compensation).
    pub findings: Vec<Finding>,
    /// Who recorded the current version, and when (RFC 3339).
    pub updated_by: Option<String>,
    /// When (RFC 3339).
    pub updated_at: Option<String>,
}

/// The register's filters (`GET /api/v1/contracts`).
#[derive(Clone, Debug, Default)]
pub struct RegisterQuery {
    /// The day the register is read as of (today unless asked: time made to pass).
    pub as_of: Option<time::Date>,
    /// Only contracts whose term ends within this many days (and not yet ended).
    pub ending_within: Option<u32>,
    /// Only open-ended contracts.
    pub open_term: bool,
    /// Only contracts whose 竞业限制 binds on the day.
    pub non_compete_active: bool,
    /// Only this cadre's.
    pub person_id: Option<PersonId>,
    /// Only this kind.
    pub kind: Option<ContractKind>,
    /// Only those with a reminder.
    pub reminders: bool,
}

/// A reminder with its contract, as legal's and HR's inbox lists it.
#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ContractReminder {
    /// `ending`, `ended` or `probation_ending`.
    pub kind: ReminderKind,
    /// The day it is about.
    pub on: PartialDate,
    /// Days from the day asked to that day (negative: past).
    pub days: i64,
    /// What to do, in words.
    pub detail: String,
    /// The cadre.
    pub person_id: PersonId,
    /// Their name.
    pub person_name: String,
    /// The contract material, if recorded.
    pub material_id: Option<MaterialId>,
    /// The contract's kind (Chinese).
    pub kind_label: String,
}

fn record_key(person: PersonId, material: MaterialId) -> Vec<u8> {
    key(&[person.as_bytes(), material.as_bytes()])
}

impl Contracts<'_> {
    /// The notice window in days (`DANGAN_CONTRACT_NOTICE_DAYS`, 30 by default).
    fn window(&self) -> u32 {
        self.config().contract_notice_days
    }

    /// May the caller keep the register of this person's contracts? The policy's `contracts` field access, on
    /// the policy (a consultation grant shows basic fields only). 404 otherwise; hard rules 403.
    fn sees_contracts_of(&self, p: &Principal, person: &Person) -> Result<bool> {
        match self.check_person(p, person) {
            Ok(fields) => Ok(fields.contracts),
            Err(Error::Forbidden(m))
                if self.policy().hard_rules(&p.subject, &super::access::person_target(person)).is_some() =>
            {
                Err(Error::Forbidden(m))
            }
            Err(_) => Ok(false),
        }
    }

    /// Loads a contract material the caller may keep: it sees the cadre's contracts and may do `access` to the
    /// material on the policy. Anything less is 404 (hard rules: 403).
    fn contract_material(&self, p: &Principal, id: MaterialId, access: Access) -> Result<(Material, Person)> {
        let not_found = || Error::NotFound(format!("contract {id} not found"));
        let m = self.materials().load_material(id).map_err(|_| not_found())?;
        let person = self.persons().load_person(m.person_id).map_err(|_| not_found())?;
        if !self.sees_contracts_of(p, &person)? || m.destroyed_by.is_some() {
            return Err(not_found());
        }
        // The hard rules (own dossier, relatives) were answered 403 by `sees_contracts_of`: what is refused here
        // (or stands on a grant) is not for the register.
        match self.check_material(p, &person, &m, access) {
            Ok(None) => Ok((m, person)),
            _ => Err(not_found()),
        }
    }

    fn load_record(&self, m: &Material) -> Result<Option<ContractRecord>> {
        Ok(self.store().get(Table::Contracts, &record_key(m.person_id, m.id))?)
    }

    fn notes_of(&self, person: PersonId, material: Option<MaterialId>) -> Result<Vec<ReviewNote>> {
        let prefix = match material {
            Some(m) => record_key(person, m),
            None => person.as_bytes().to_vec(),
        };
        Ok(self.store().scan::<ReviewNote>(Table::ContractNotes, &prefix)?.into_iter().map(|(_, n)| n).collect())
    }

    /// A register row from a record or a person record's entry.
    fn row(
        &self,
        person: &Person,
        material: Option<(&Material, &ContractRecord)>,
        terms: ContractTerms,
        notes: &[ReviewNote],
        on: time::Date,
    ) -> RegisterRow {
        let days = |d: time::Date| (d - on).whole_days();
        let reminders = contract::reminders(&terms, on, self.window())
            .into_iter()
            .map(|(kind, day)| Reminder {
                kind,
                on: PartialDate::from_date(day),
                days: days(day),
                detail: match kind {
                    ReminderKind::Ending => format!("{}将于 {day} 到期：续订或终止须提前通知", terms.kind.label()),
                    ReminderKind::Ended => format!("{}已于 {day} 到期，尚未续订或终止", terms.kind.label()),
                    ReminderKind::ProbationEnding => format!("试用期将于 {day} 届满"),
                },
            })
            .collect();
        let open: Vec<&ReviewNote> =
            notes.iter().filter(|n| !n.resolved && Some(n.material_id) == material.map(|(m, _)| m.id)).collect();
        RegisterRow {
            person_id: person.id,
            person_name: person.name.clone(),
            department: self.department_name(&person.department).unwrap_or_else(|| person.department.clone()),
            material_id: material.map(|(m, _)| m.id),
            title: material.map(|(m, _)| m.meta.title.clone()),
            source: if material.is_some() { "register" } else { "person_record" }.into(),
            version: material.map(|(_, r)| r.version),
            kind_label: terms.kind.label().into(),
            state: ContractState::of(&terms, on),
            days_left: terms.ends_on().map(days),
            non_compete_active: terms.non_compete.as_ref().is_some_and(|n| n.active(on)),
            reminders,
            open_notes: open.len(),
            blocking_notes: open.iter().filter(|n| n.severity == NoteSeverity::Blocking).count(),
            findings: terms.check(),
            updated_by: material.map(|(_, r)| r.updated_by.clone()),
            updated_at: material.map(|(_, r)| crate::model::ts_rfc3339(r.updated_at)),
            terms,
        }
    }

    /// The rows of one cadre: their recorded contracts, then the person record's contracts no record covers.
    fn rows_of(&self, p: &Principal, person: &Person, on: time::Date) -> Result<Vec<RegisterRow>> {
        let notes = self.notes_of(person.id, None)?;
        let mut rows = Vec::new();
        let mut covered = Vec::new();
        for (_, r) in self.store().scan::<ContractRecord>(Table::Contracts, person.id.as_bytes())? {
            let Ok(m) = self.materials().load_material(r.material_id) else { continue };
            if m.destroyed_by.is_some() || !matches!(self.check_material(p, person, &m, Access::Read), Ok(None)) {
                continue;
            }
            covered.push(m.id);
            rows.push(self.row(person, Some((&m, &r)), r.terms.clone(), &notes, on));
        }
        for c in &person.contracts {
            if c.material_id.is_some_and(|id| covered.contains(&id)) {
                continue;
            }
            let terms = ContractTerms {
                kind: ContractKind::from_title(&c.kind).unwrap_or(ContractKind::Other),
                from: Some(c.from),
                to: c.to,
                ..Default::default()
            };
            rows.push(self.row(person, None, terms, &notes, on));
        }
        Ok(rows)
    }

    /// The register: every contract of the cadres whose contracts the caller sees, filtered, ordered by the day
    /// its term ends (open terms last). 404 for a caller who sees no cadre's contracts.
    pub fn register(&self, p: &Principal, q: &RegisterQuery) -> Result<Vec<RegisterRow>> {
        self.audited(p, AuditAction::ContractRegister, "contracts", false, || {
            let rows = self.filtered(p, q)?;
            let detail = format!("{} contracts", rows.len());
            Ok((rows, Some(detail)))
        })
    }

    /// Whether the caller keeps a contract register at all: some role of theirs sees contract records, and the
    /// account is linked to its holder's record. The reports list and the web's navigation ask this too.
    pub fn keeps_register(&self, p: &Principal) -> bool {
        !p.subject.unlinked && self.policy().effective(&p.subject).fields.contracts
    }

    fn filtered(&self, p: &Principal, q: &RegisterQuery) -> Result<Vec<RegisterRow>> {
        if !self.keeps_register(p) {
            return Err(Error::NotFound("no contract register for this account".into()));
        }
        let on = q.as_of.unwrap_or_else(crate::model::today);
        let persons: Vec<Person> = match q.person_id {
            Some(id) => self.store().get::<Person>(Table::Persons, id.as_bytes())?.into_iter().collect(),
            None => self.store().scan::<Person>(Table::Persons, b"")?.into_iter().map(|(_, p)| p).collect(),
        };
        let mut rows = Vec::new();
        for person in &persons {
            // Filters leave out quietly what the caller may not see, hard rules included.
            if !self.sees_contracts_of(p, person).unwrap_or(false) {
                continue;
            }
            rows.extend(self.rows_of(p, person, on)?.into_iter().filter(|r| {
                q.ending_within.is_none_or(|n| r.days_left.is_some_and(|d| (0..=i64::from(n)).contains(&d)))
                    && (!q.open_term || r.state == ContractState::OpenTerm)
                    && (!q.non_compete_active || r.non_compete_active)
                    && q.kind.is_none_or(|k| r.terms.kind == k)
                    && (!q.reminders || !r.reminders.is_empty())
            }));
        }
        rows.sort_by_key(|r| (r.days_left.is_none(), r.days_left, r.person_name.clone()));
        Ok(rows)
    }

    /// The reminders due on `on` (today in the API unless asked): contracts ending within the notice window or
    /// ended and not dealt with, probations ending — legal's and HR's inbox. Soonest first.
    pub fn reminders(&self, p: &Principal, on: time::Date) -> Result<Vec<ContractReminder>> {
        self.audited(p, AuditAction::ContractReminders, "contracts:reminders", false, || {
            let q = RegisterQuery { as_of: Some(on), reminders: true, ..Default::default() };
            let mut out: Vec<ContractReminder> = self
                .filtered(p, &q)?
                .into_iter()
                .flat_map(|r| {
                    let (person_id, person_name, material_id, kind_label) =
                        (r.person_id, r.person_name, r.material_id, r.kind_label);
                    r.reminders.into_iter().map(move |x| ContractReminder {
                        kind: x.kind,
                        on: x.on,
                        days: x.days,
                        detail: x.detail,
                        person_id,
                        person_name: person_name.clone(),
                        material_id,
                        kind_label: kind_label.clone(),
                    })
                })
                .collect();
            out.sort_by_key(|r| r.days);
            let detail = format!("{} reminders", out.len());
            Ok((out, Some(detail)))
        })
    }

    /// The register as a report table (`GET /api/v1/reports/contracts`, CSV and XLSX).
    pub fn register_table(&self, p: &Principal) -> Result<super::reports::ReportTable> {
        let rows = self.register(p, &RegisterQuery::default())?;
        let s = |v: &str| serde_json::Value::String(v.to_string());
        let d = |v: Option<PartialDate>| s(&v.map(|d| d.to_string()).unwrap_or_default());
        let columns = [
            "person_name",
            "department",
            "kind",
            "number",
            "parties",
            "signed_on",
            "from",
            "to",
            "probation_until",
            "non_compete_months",
            "non_compete_monthly_compensation",
            "state",
            "days_left",
            "reminders",
            "open_notes",
            "blocking_notes",
            "source",
        ];
        Ok(super::reports::ReportTable {
            name: "contracts".into(),
            columns: columns.iter().map(|c| c.to_string()).collect(),
            rows: rows
                .iter()
                .map(|r| {
                    let t = &r.terms;
                    vec![
                        s(&r.person_name),
                        s(&r.department),
                        s(&r.kind_label),
                        s(t.number.as_deref().unwrap_or_default()),
                        s(&t.parties.join("；")),
                        d(t.signed_on),
                        d(t.from),
                        d(t.to),
                        d(t.probation_until),
                        t.non_compete.as_ref().map(|n| n.months.into()).unwrap_or_default(),
                        t.non_compete.as_ref().and_then(|n| n.monthly_compensation).map(Into::into).unwrap_or_default(),
                        s(r.state.label()),
                        r.days_left.map(Into::into).unwrap_or_default(),
                        s(&r.reminders.iter().map(|x| x.detail.as_str()).collect::<Vec<_>>().join("；")),
                        r.open_notes.into(),
                        r.blocking_notes.into(),
                        s(&r.source),
                    ]
                })
                .collect(),
        })
    }

    /// A contract material's record as a register row (404 while none is recorded).
    pub fn get(&self, p: &Principal, id: MaterialId, on: time::Date) -> Result<RegisterRow> {
        self.audited(p, AuditAction::ContractRead, &format!("material:{id}"), false, || {
            let (m, person) = self.contract_material(p, id, Access::Read)?;
            let r = self
                .load_record(&m)?
                .ok_or_else(|| Error::NotFound(format!("material {id} has no contract record yet")))?;
            let notes = self.notes_of(person.id, Some(id))?;
            Ok((self.row(&person, Some((&m, &r)), r.terms.clone(), &notes, on), None))
        })
    }

    /// Records a contract material's terms: the first record needs no `If-Match`, a change needs the current
    /// version (428 without, 412 when stale). The material must carry the tag `contract`; a renewed contract
    /// must be another contract of the same cadre. Errors in the terms are 422; warnings travel with the row.
    pub fn save(
        &self,
        p: &Principal,
        id: MaterialId,
        terms: ContractTerms,
        if_match: Option<u32>,
    ) -> Result<RegisterRow> {
        let object = format!("material:{id}");
        self.audited(p, AuditAction::ContractRecord, &object, true, || {
            let (m, person) = self.contract_material(p, id, Access::Edit)?;
            if !m.meta.tags.iter().any(|t| t == CONTRACT_TAG) {
                return Err(Error::invalid("material", "only a material tagged contract has a contract record"));
            }
            if let Some(e) = blocking_findings(&terms.check()) {
                return Err(e);
            }
            if let Some(r) = terms.renews {
                let other = self.materials().load_material(r).ok();
                if r == id
                    || other.is_none_or(|o| o.person_id != person.id || !o.meta.tags.iter().any(|t| t == CONTRACT_TAG))
                {
                    return Err(Error::invalid("renews", "a renewal names another contract of the same cadre"));
                }
            }
            let _guard = self.lock();
            let current = self.load_record(&m)?;
            let version = match (&current, if_match) {
                (None, None) => 1,
                (None, Some(e)) => return Err(Error::PreconditionFailed { expected: e, current: 0 }),
                (Some(c), e) => {
                    check_version(e, c.version)?;
                    c.version + 1
                }
            };
            let record = ContractRecord {
                material_id: id,
                person_id: person.id,
                terms,
                version,
                updated_by: p.user.username.clone(),
                updated_at: now_ts(),
            };
            let mut ws = self.store().write_set();
            ws.put(Table::Contracts, record_key(person.id, id), &record)?;
            let detail = format!("contract record v{version}");
            self.commit_audited(ws, p, AuditAction::ContractRecord, &object, Some(detail.clone()))?;
            let notes = self.notes_of(person.id, Some(id))?;
            Ok((
                self.row(&person, Some((&m, &record)), record.terms.clone(), &notes, crate::model::today()),
                Some(detail),
            ))
        })
    }

    /// The terms proposed from a contract's extracted text (and its title), to be confirmed by a person; read
    /// through the gate as a version's text is. 409 while the text is being extracted.
    pub fn propose(&self, p: &Principal, id: MaterialId) -> Result<ContractProposal> {
        self.audited(p, AuditAction::ContractPropose, &format!("material:{id}"), false, || {
            let (m, _) = self.contract_material(p, id, Access::Read)?;
            let (_, _, permit) = self.materials().gated(p, id, crate::model::consultation::GrantPermission::Excerpt)?;
            let state = self.materials().text_state(&m)?;
            if state.status == crate::model::TextStatus::Pending {
                return Err(Error::Conflict(format!("the text of material {id} is still being extracted")));
            }
            #[derive(serde::Deserialize)]
            struct Stored {
                text: String,
            }
            let text = self.stored_text::<Stored>(&permit, &m)?.map(|t| t.text).unwrap_or_default();
            let proposal = contract::propose(&m.meta.title, &text);
            let detail = format!("proposed {}", proposal.found.join(","));
            Ok((proposal, Some(detail)))
        })
    }

    /// The review notes of a contract, oldest first.
    pub fn notes(&self, p: &Principal, id: MaterialId) -> Result<Vec<ReviewNote>> {
        self.audited(p, AuditAction::ContractNotes, &format!("material:{id}"), false, || {
            let (m, person) = self.contract_material(p, id, Access::Read)?;
            let notes = self.notes_of(person.id, Some(m.id))?;
            let detail = format!("{} notes", notes.len());
            Ok((notes, Some(detail)))
        })
    }

    /// The caller's role a note is written in: the first of its roles that sees contract records.
    fn note_role(&self, p: &Principal) -> Option<crate::model::Role> {
        let policy = self.policy();
        p.subject.roles.iter().copied().find(|r| policy.role_fields(*r).is_some_and(|f| f.contracts))
    }

    /// Adds a review note on a contract's current version. Whoever may edit the contract material.
    pub fn add_note(&self, p: &Principal, id: MaterialId, new: NewNote) -> Result<ReviewNote> {
        let object = format!("material:{id}");
        self.audited(p, AuditAction::ContractNote, &object, true, || {
            let (m, person) = self.contract_material(p, id, Access::Edit)?;
            if let Some(e) = blocking_findings(&new.check()) {
                return Err(e);
            }
            let role = self.note_role(p).ok_or_else(|| Error::NotFound(format!("contract {id} not found")))?;
            let _guard = self.lock();
            let note_id = uuid::Uuid::now_v7();
            let note = ReviewNote {
                id: note_id.to_string(),
                material_id: m.id,
                person_id: person.id,
                version: m.version,
                clause: new.clause.trim().to_string(),
                finding: new.finding.trim().to_string(),
                severity: new.severity,
                author: p.user.username.clone(),
                role: role_name(role),
                at: now_ts(),
                resolved: false,
                resolved_by: None,
                resolved_at: None,
                resolution: None,
            };
            let mut ws = self.store().write_set();
            ws.put(Table::ContractNotes, key(&[&record_key(person.id, m.id), note_id.as_bytes()]), &note)?;
            let detail = format!("note:{} {:?} on v{}", note.id, note.severity, note.version).to_lowercase();
            self.commit_audited(ws, p, AuditAction::ContractNote, &object, Some(detail.clone()))?;
            Ok((note, Some(detail)))
        })
    }

    /// Resolves a review note. Only a holder of the role the note was written in (legal's notes by legal), who
    /// may edit the contract: HR, who starts contract changes, cannot clear legal's finding on them.
    pub fn resolve(&self, p: &Principal, id: MaterialId, note: &str, resolution: Option<String>) -> Result<ReviewNote> {
        let object = format!("material:{id}");
        self.audited(p, AuditAction::ContractResolve, &object, true, || {
            let (m, person) = self.contract_material(p, id, Access::Edit)?;
            let note_id = uuid::Uuid::parse_str(note).map_err(|_| Error::NotFound(format!("note {note} not found")))?;
            let k = key(&[&record_key(person.id, m.id), note_id.as_bytes()]);
            let _guard = self.lock();
            let mut n: ReviewNote = self
                .store()
                .get(Table::ContractNotes, &k)?
                .ok_or_else(|| Error::NotFound(format!("note {note} not found")))?;
            let holds = crate::model::Role::parse(&n.role).is_some_and(|r| p.subject.roles.contains(&r));
            if !holds {
                return Err(Error::Forbidden(format!(
                    "rule contract.note-role: a note written by {} is resolved by {} only",
                    n.role, n.role
                )));
            }
            if n.resolved {
                return Err(Error::Conflict(format!("note {note} is already resolved")));
            }
            let resolution =
                resolution.map(|r| r.trim().chars().take(2000).collect::<String>()).filter(|r| !r.is_empty());
            n.resolved = true;
            n.resolved_by = Some(p.user.username.clone());
            n.resolved_at = Some(now_ts());
            n.resolution = resolution;
            let mut ws = self.store().write_set();
            ws.put(Table::ContractNotes, k, &n)?;
            let detail = format!("note:{} resolved", n.id);
            self.commit_audited(ws, p, AuditAction::ContractResolve, &object, Some(detail.clone()))?;
            Ok((n, Some(detail)))
        })
    }

    /// A request that changes a cadre's contracts is not approved — at any step — while a blocking review note on
    /// one of that cadre's contracts is unresolved (docs/DOMAIN.md §4e): 409 naming the rule and the notes. The
    /// workflows ask this before every approval of such a request.
    pub(crate) fn check_no_blocking_note(&self, person: PersonId) -> Result<()> {
        let notes: Vec<ReviewNote> = self
            .notes_of(person, None)?
            .into_iter()
            .filter(|n| !n.resolved && n.severity == NoteSeverity::Blocking)
            .collect();
        if notes.is_empty() {
            return Ok(());
        }
        Err(Error::Conflict(format!(
            "rule contract.blocking-note: {} blocking review note(s) on this cadre's contracts are unresolved ({}); \
             legal resolves them before the change is approved",
            notes.len(),
            notes.iter().map(|n| n.finding.chars().take(40).collect::<String>()).collect::<Vec<_>>().join("; ")
        )))
    }
}
