//! Custody of the paper dossiers (档案保管, docs/DOMAIN.md §4c): each dossier's record (档案编号, 正本/副本, 库位,
//! the custody state and its history), assigned when the person is created and moved by the rules of
//! `Config::custody` when their status changes; the archive office's (行政部) paper-filing tasks (归档任务), one
//! open per dossier after it is created or changed; its custody inbox (tasks, transfers to chase, loans overdue,
//! handovers due); and the loans (借出) of paper dossiers with their return (归还).
//!
//! Who: whoever may see the person reads its custody (never one's own, never the administrators or scanners);
//! the archive office (capability `manage_custody`) changes it, lends and takes back, and marks tasks filed.
//!
//! Storage: `Table::Custody` holds the records under `p` + person id, the archive-number index under `n` + number
//! (uniqueness) and the numbering's counter under `seq`; `Table::FilingTasks` holds tasks under person id + task
//! id; `Table::Loans` loans by id.

use super::Custody;
use super::{Error, Principal, Result};
use crate::model::custody::{CopyKind, CustodyEvent, CustodyRecord, CustodyState, FilingTask, Loan, PendingMove};
use crate::model::policy::Capability;
use crate::model::{AuditAction, LoanId, PartialDate, Person, PersonId, TaskId, now_ts, today, ts_rfc3339};
use crate::store::{Table, WriteSet};
use serde::{Deserialize, Serialize};

const SEQ: &[u8] = b"seq";

fn record_key(id: PersonId) -> Vec<u8> {
    let mut k = b"p".to_vec();
    k.extend_from_slice(id.as_bytes());
    k
}

fn number_key(n: &str) -> Vec<u8> {
    let mut k = b"n".to_vec();
    k.extend_from_slice(n.as_bytes());
    k
}

fn task_key(person: PersonId, task: TaskId) -> Vec<u8> {
    let mut k = person.as_bytes().to_vec();
    k.extend_from_slice(task.as_bytes());
    k
}

/// A change of custody by the archive office: any of the fields; the state only as [`CustodyState::settable_by_hand`]
/// allows.
#[derive(Clone, Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CustodyPatch {
    /// A new 档案编号 (unique).
    pub archive_number: Option<String>,
    /// 正本 or 副本.
    pub copy: Option<CopyKind>,
    /// A new 库位 (empty: none).
    pub location: Option<String>,
    /// A new state: `handed_over`, `destroyed`, or `in_store` (undoing a rule's 转出中 with no transfer open).
    pub state: Option<CustodyState>,
    /// Why (kept in the history).
    pub note: Option<String>,
}

/// A dossier's custody as it is shown: the record, and the transfer and loan in course.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct CustodyView {
    /// The record.
    #[serde(flatten)]
    pub record: CustodyRecord,
    /// The person's name.
    pub person_name: String,
    /// The transfer out in course or done (the latest), if any.
    pub transfer: Option<crate::model::custody::Transfer>,
    /// The loan in course, if lent.
    pub loan: Option<Loan>,
    /// The open paper-filing task, if any.
    pub filing_task: Option<FilingTask>,
}

/// One item of the archive office's custody inbox.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct CustodyItem {
    /// `filing` (归档任务: file the paper), `chase` (催问: a transfer without a receipt for a month),
    /// `transfer_overdue` (past the two-month deadline), `loan_overdue` (借出 past its due date), `move_due` (a
    /// rule's handover whose time has come).
    pub kind: String,
    /// The dossier.
    pub person_id: PersonId,
    /// The person's name.
    pub person_name: String,
    /// The task, transfer or loan it is about (its id), if any.
    pub object_id: Option<String>,
    /// What, in words.
    pub detail: String,
    /// Since or due (`YYYY-MM-DD` or RFC 3339).
    pub since: String,
}

/// A new loan (借出).
#[derive(Clone, Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewLoan {
    /// The dossier.
    pub person_id: PersonId,
    /// 借阅人.
    pub borrower: String,
    /// 借阅单位.
    pub unit: String,
    /// 借阅事由.
    pub purpose: String,
    /// Due back on (`YYYY-MM-DD`; within a year).
    pub due_on: PartialDate,
}

impl Custody<'_> {
    /// The record of a dossier as stored, if it has one.
    pub(crate) fn load_record(&self, id: PersonId) -> Result<Option<CustodyRecord>> {
        Ok(self.store().get(Table::Custody, &record_key(id))?)
    }

    /// The record, or the one a dossier older than custody records has: 在库, without a number.
    pub(crate) fn record_or_default(&self, id: PersonId) -> Result<CustodyRecord> {
        Ok(self.load_record(id)?.unwrap_or(CustodyRecord {
            person_id: id,
            archive_number: None,
            copy: CopyKind::Original,
            location: None,
            state: CustodyState::InStore,
            version: 0,
            pending: None,
            history: Vec::new(),
        }))
    }

    /// Stages a record (a new version) and its number's index.
    fn stage_record(&self, ws: &mut WriteSet, old_number: Option<&str>, r: &mut CustodyRecord) -> Result<()> {
        r.version += 1;
        if old_number != r.archive_number.as_deref() {
            if let Some(n) = old_number {
                ws.delete(Table::Custody, number_key(n));
            }
            if let Some(n) = &r.archive_number {
                ws.put(Table::Custody, number_key(n), &r.person_id)?;
            }
        }
        ws.put(Table::Custody, record_key(r.person_id), r)?;
        Ok(())
    }

    /// Moves a record to `to` (with its history line) and stages it. Callers hold the write lock.
    pub(crate) fn stage_move(
        &self,
        ws: &mut WriteSet,
        r: &mut CustodyRecord,
        to: CustodyState,
        by: &str,
        what: String,
    ) -> Result<()> {
        let number = r.archive_number.clone();
        push_event(r, to, by, what);
        self.stage_record(ws, number.as_deref(), r)
    }

    /// The next free 档案编号: `DA` + the year + a six-digit sequence.
    fn next_number(&self, ws: &mut WriteSet) -> Result<String> {
        let mut seq: u64 = self.store().get(Table::Custody, SEQ)?.unwrap_or(0);
        loop {
            seq += 1;
            let n = format!("DA{}{seq:06}", today().year());
            if !self.store().contains(Table::Custody, &number_key(&n))? {
                ws.put(Table::Custody, SEQ.to_vec(), &seq)?;
                return Ok(n);
            }
        }
    }

    /// Called with every new person version, in its commit (callers hold the write lock): a new dossier gets its
    /// custody record and number; every version opens (or adds to) the dossier's paper-filing task; a status
    /// change moves custody by the rules.
    pub(crate) fn stage_person_version(
        &self,
        ws: &mut WriteSet,
        before: Option<&Person>,
        after: &Person,
        author: &str,
        reason: Option<&str>,
    ) -> Result<()> {
        let existing = self.load_record(after.id)?;
        let mut r = match existing {
            Some(r) => r,
            None => {
                let mut r = self.record_or_default(after.id)?;
                r.archive_number = Some(self.next_number(ws)?);
                r.history.push(CustodyEvent {
                    at: ts_rfc3339(now_ts()),
                    by: author.into(),
                    from: CustodyState::InStore,
                    to: CustodyState::InStore,
                    what: format!("建档，档案编号 {}", r.archive_number.as_deref().unwrap_or_default()),
                });
                self.stage_record(ws, None, &mut r)?;
                r
            }
        };
        // The paper-filing task: one open per dossier, each change a line of it.
        let line = match (before, reason) {
            (None, _) => "建档：新建档案，纸质材料装入档案袋".to_string(),
            (Some(_), Some(reason)) => format!("v{}: {reason}", after.version),
            (Some(_), None) => format!("v{}: 档案信息变更", after.version),
        };
        let open = self
            .store()
            .scan::<FilingTask>(Table::FilingTasks, after.id.as_bytes())?
            .into_iter()
            .map(|(_, t)| t)
            .find(|t| t.done_at.is_none());
        let mut task = open.unwrap_or_else(|| FilingTask {
            id: TaskId::new(),
            person_id: after.id,
            person_name: after.name.clone(),
            changes: Vec::new(),
            since: ts_rfc3339(now_ts()),
            done_at: None,
            done_by: None,
        });
        task.person_name = after.name.clone();
        task.changes.push(line.chars().take(300).collect());
        ws.put(Table::FilingTasks, task_key(after.id, task.id), &task)?;
        // A status change moves custody by rule.
        let changed = before.is_some_and(|b| b.status != after.status);
        if changed && let Some(rule) = self.config().custody.rules.for_status(after.status) {
            let because = format!("status {:?} (rule)", after.status).to_lowercase();
            if rule.after_months == 0 {
                if r.state == CustodyState::InStore && rule.state != r.state {
                    self.stage_move(ws, &mut r, rule.state, "rule", because)?;
                }
            } else {
                let due = crate::model::date::add_months(today(), rule.after_months);
                r.pending = Some(PendingMove { to: rule.state, due_on: PartialDate::from_date(due), because });
                let number = r.archive_number.clone();
                self.stage_record(ws, number.as_deref(), &mut r)?;
            }
        }
        Ok(())
    }

    /// May the caller see this person's custody? (Whoever may see the person; never one's own.)
    fn visible(&self, p: &Principal, id: PersonId) -> Result<Person> {
        let person = self.persons().load_person(id)?;
        self.check_person(p, &person)?;
        Ok(person)
    }

    /// A dossier's custody, with its transfer, loan and open task.
    pub fn get(&self, p: &Principal, id: PersonId) -> Result<CustodyView> {
        self.audited(p, AuditAction::CustodyRead, &format!("person:{id}"), false, || {
            let person = self.visible(p, id)?;
            Ok((self.view(&person)?, None))
        })
    }

    fn view(&self, person: &Person) -> Result<CustodyView> {
        let record = self.record_or_default(person.id)?;
        let transfer = self.transfers().latest_of(person.id)?;
        let loan = self.all_loans()?.into_iter().find(|l| l.person_id == person.id && l.returned_on.is_none());
        let filing_task = self
            .store()
            .scan::<FilingTask>(Table::FilingTasks, person.id.as_bytes())?
            .into_iter()
            .map(|(_, t)| t)
            .find(|t| t.done_at.is_none());
        Ok(CustodyView { record, person_name: person.name.clone(), transfer, loan, filing_task })
    }

    /// The archive office changes a dossier's custody: number, copy, location, or the state (by hand: handover,
    /// destruction, undoing a rule's 转出中). `if_match` is the record's version (412 when stale).
    pub fn update(
        &self,
        p: &Principal,
        id: PersonId,
        if_match: Option<u32>,
        patch: CustodyPatch,
    ) -> Result<CustodyView> {
        self.audited(p, AuditAction::CustodyUpdate, &format!("person:{id}"), true, || {
            self.require(p, Capability::ManageCustody)?;
            let person = self.visible(p, id)?;
            let _guard = self.lock();
            let mut r = self.record_or_default(id)?;
            if let Some(expected) = if_match
                && expected != r.version
            {
                return Err(Error::PreconditionFailed { expected, current: r.version });
            }
            let old_number = r.archive_number.clone();
            let mut what = Vec::new();
            let mut ws = self.store().write_set();
            if let Some(n) = patch.archive_number.map(|n| n.trim().to_string()) {
                if n.is_empty() || n.chars().count() > 40 || n.chars().any(char::is_control) {
                    return Err(Error::invalid("archive_number", "1 to 40 characters, no control characters"));
                }
                if Some(&n) != r.archive_number.as_ref() {
                    if self.store().contains(Table::Custody, &number_key(&n))? {
                        return Err(Error::Conflict(format!("档案编号 {n} is another dossier's")));
                    }
                    what.push(format!("档案编号 {} → {n}", r.archive_number.as_deref().unwrap_or("-")));
                    r.archive_number = Some(n);
                }
            }
            if let Some(c) = patch.copy
                && c != r.copy
            {
                what.push(format!("{} → {}", r.copy.label().0, c.label().0));
                r.copy = c;
            }
            if let Some(l) = patch.location.map(|l| l.trim().to_string()) {
                if l.chars().count() > 100 || l.chars().any(char::is_control) {
                    return Err(Error::invalid("location", "at most 100 characters, no control characters"));
                }
                let l = (!l.is_empty()).then_some(l);
                if l != r.location {
                    what.push(format!(
                        "库位 {} → {}",
                        r.location.as_deref().unwrap_or("-"),
                        l.as_deref().unwrap_or("-")
                    ));
                    r.location = l;
                }
            }
            let note = patch.note.map(|n| n.trim().chars().take(500).collect::<String>()).filter(|n| !n.is_empty());
            let to = patch.state.unwrap_or(r.state);
            if to != r.state {
                if !CustodyState::settable_by_hand(r.state, to) {
                    return Err(Error::Conflict(format!(
                        "rule custody.transition: a dossier {} does not become {} by hand (lending and return are \
                         loans, 转出中 and 已转出 a transfer and its receipt)",
                        r.state.label().0,
                        to.label().0
                    )));
                }
                if to == CustodyState::InStore && self.transfers().open_of(id)?.is_some() {
                    return Err(Error::Conflict("a transfer out of this dossier is open".into()));
                }
            } else if what.is_empty() {
                return Ok((self.view(&person)?, Some("unchanged".into())));
            }
            what.extend(note);
            push_event(&mut r, to, &p.user.username, what.join("; "));
            self.stage_record(&mut ws, old_number.as_deref(), &mut r)?;
            let detail = r.history.last().map(|e| format!("{} → {}: {}", e.from, e.to, e.what));
            self.commit_audited(ws, p, AuditAction::CustodyUpdate, &format!("person:{id}"), detail.clone())?;
            Ok((self.view(&person)?, detail))
        })
    }
}

/// Adds a history line and sets the state (a pending move to it is done).
fn push_event(r: &mut CustodyRecord, to: CustodyState, by: &str, what: String) {
    r.history.push(CustodyEvent { at: ts_rfc3339(now_ts()), by: by.into(), from: r.state, to, what });
    r.state = to;
    if r.pending.as_ref().is_some_and(|m| m.to == to) {
        r.pending = None;
    }
}

impl Custody<'_> {
    /// Whether the caller keeps custody (the archive office).
    fn keeps_custody(&self, p: &Principal) -> bool {
        self.policy().capability(&p.subject, Capability::ManageCustody).allowed
    }

    /// The persons of these ids the caller may see (one's own and relatives' never).
    fn seen(&self, p: &Principal, id: PersonId) -> Result<Option<Person>> {
        let Some(person) = self.store().get::<Person>(Table::Persons, id.as_bytes())? else { return Ok(None) };
        Ok(self.check_person(p, &person).is_ok().then_some(person))
    }

    /// The archive office's custody inbox as of `on` (today in the API unless asked): open paper-filing tasks,
    /// transfers to chase (催问) or past their deadline, loans overdue, rule moves due. Only dossiers the caller
    /// may see. For the archive office and whoever sends transfers (capability export); 403 otherwise.
    pub fn inbox(&self, p: &Principal, on: time::Date) -> Result<Vec<CustodyItem>> {
        self.audited(p, AuditAction::CustodyInbox, "custody:inbox", false, || {
            let custody = self.keeps_custody(p);
            if !custody {
                self.require(p, Capability::Export)?;
            }
            let mut items = Vec::new();
            let mut seen = std::collections::HashMap::new();
            let mut name_of = |id: PersonId| -> Result<Option<String>> {
                if let Some(n) = seen.get(&id) {
                    return Ok(Option::<String>::clone(n));
                }
                let n = self.seen(p, id)?.map(|x| x.name);
                seen.insert(id, n.clone());
                Ok(n)
            };
            if custody {
                for (_, t) in self.store().scan::<FilingTask>(Table::FilingTasks, b"")? {
                    if t.done_at.is_some() {
                        continue;
                    }
                    if let Some(name) = name_of(t.person_id)? {
                        items.push(CustodyItem {
                            kind: "filing".into(),
                            person_id: t.person_id,
                            person_name: name,
                            object_id: Some(t.id.to_string()),
                            detail: format!("归档任务：{}", t.changes.join("；")),
                            since: t.since.clone(),
                        });
                    }
                }
                for (_, r) in self.store().scan::<CustodyRecord>(Table::Custody, b"p")? {
                    let Some(m) = &r.pending else { continue };
                    if on >= m.due_on.first_day()
                        && let Some(name) = name_of(r.person_id)?
                    {
                        items.push(CustodyItem {
                            kind: "move_due".into(),
                            person_id: r.person_id,
                            person_name: name,
                            object_id: None,
                            detail: format!("到期应{}（{}）", m.to.label().0, m.because),
                            since: m.due_on.to_string(),
                        });
                    }
                }
                for l in self.all_loans()? {
                    if l.overdue(on)
                        && let Some(name) = name_of(l.person_id)?
                    {
                        items.push(CustodyItem {
                            kind: "loan_overdue".into(),
                            person_id: l.person_id,
                            person_name: name,
                            object_id: Some(l.id.to_string()),
                            detail: format!("借出逾期未还：{}（{}），应还 {}", l.borrower, l.unit, l.due_on),
                            since: l.due_on.to_string(),
                        });
                    }
                }
            }
            let chase = self.config().custody.chase_months;
            for t in self.transfers().all()? {
                let Some(name) = name_of(t.person_id)? else { continue };
                if t.chase(on, chase) {
                    items.push(CustodyItem {
                        kind: "chase".into(),
                        person_id: t.person_id,
                        person_name: name.clone(),
                        object_id: Some(t.id.to_string()),
                        detail: format!("催问：转往{}（通知单 {}）的档案，回执未回", t.receiving_unit, t.notice_number),
                        since: t.sent_on.unwrap_or(t.approved_on).to_string(),
                    });
                }
                if t.overdue(on) {
                    items.push(CustodyItem {
                        kind: "transfer_overdue".into(),
                        person_id: t.person_id,
                        person_name: name,
                        object_id: Some(t.id.to_string()),
                        detail: format!("转递超过期限 {}：转往{}", t.deadline, t.receiving_unit),
                        since: t.deadline.to_string(),
                    });
                }
            }
            items.sort_by(|a, b| a.since.cmp(&b.since));
            let detail = format!("{} items", items.len());
            Ok((items, Some(detail)))
        })
    }

    /// Marks a paper-filing task done (归档: the paper is in the folder). The archive office only.
    pub fn mark_filed(&self, p: &Principal, id: TaskId) -> Result<FilingTask> {
        self.audited(p, AuditAction::CustodyFiled, &format!("task:{id}"), true, || {
            self.require(p, Capability::ManageCustody)?;
            let _guard = self.lock();
            let found = self.store().scan::<FilingTask>(Table::FilingTasks, b"")?.into_iter().find(|(_, t)| t.id == id);
            let Some((key, mut t)) = found else { return Err(Error::NotFound(format!("task {id} not found"))) };
            if self.seen(p, t.person_id)?.is_none() {
                return Err(Error::NotFound(format!("task {id} not found")));
            }
            if t.done_at.is_some() {
                return Err(Error::Conflict(format!("task {id} is done already")));
            }
            t.done_at = Some(ts_rfc3339(now_ts()));
            t.done_by = Some(p.user.username.clone());
            let mut ws = self.store().write_set();
            ws.put(Table::FilingTasks, key, &t)?;
            let detail = format!("person:{} {} changes filed", t.person_id, t.changes.len());
            self.commit_audited(ws, p, AuditAction::CustodyFiled, &format!("task:{id}"), Some(detail.clone()))?;
            Ok((t, Some(detail)))
        })
    }

    fn all_loans(&self) -> Result<Vec<Loan>> {
        Ok(self.store().scan::<Loan>(Table::Loans, b"")?.into_iter().map(|(_, l)| l).collect())
    }

    /// The lending list (借阅登记): loans of the dossiers the caller may see, newest first; `open` only those not
    /// returned. The archive office only.
    pub fn loans(&self, p: &Principal, open: bool) -> Result<Vec<Loan>> {
        self.audited(p, AuditAction::LoanList, "loans", false, || {
            self.require(p, Capability::ManageCustody)?;
            let mut out = Vec::new();
            for l in self.all_loans()? {
                if (!open || l.returned_on.is_none()) && self.seen(p, l.person_id)?.is_some() {
                    out.push(l);
                }
            }
            out.reverse();
            let detail = format!("{} loans", out.len());
            Ok((out, Some(detail)))
        })
    }

    /// Lends a paper dossier (借出): it must be 在库; it becomes 借出 until returned. The archive office only.
    pub fn lend(&self, p: &Principal, new: NewLoan) -> Result<Loan> {
        let object = format!("person:{}", new.person_id);
        self.audited(p, AuditAction::LoanLend, &object, true, || {
            self.require(p, Capability::ManageCustody)?;
            let person = self.visible(p, new.person_id)?;
            let clean = |field: &str, v: &str| -> Result<String> {
                let v = v.trim();
                if v.is_empty() || v.chars().count() > 200 || v.chars().any(char::is_control) {
                    return Err(Error::invalid(field, "1 to 200 characters, no control characters"));
                }
                Ok(v.to_string())
            };
            let (borrower, unit, purpose) =
                (clean("borrower", &new.borrower)?, clean("unit", &new.unit)?, clean("purpose", &new.purpose)?);
            let due = new.due_on.last_day();
            if due < today() || due > today() + time::Duration::days(366) {
                return Err(Error::invalid("due_on", "the due date is within the coming year"));
            }
            let _guard = self.lock();
            let mut r = self.record_or_default(person.id)?;
            if r.state != CustodyState::InStore {
                return Err(Error::Conflict(format!(
                    "the dossier is {}, not 在库: it cannot be lent",
                    r.state.label().0
                )));
            }
            let loan = Loan {
                id: LoanId::new(),
                person_id: person.id,
                person_name: person.name.clone(),
                borrower,
                unit,
                purpose,
                lent_on: PartialDate::from_date(today()),
                due_on: PartialDate::from_date(due),
                returned_on: None,
                lent_by: p.user.username.clone(),
                returned_by: None,
            };
            let mut ws = self.store().write_set();
            ws.put(Table::Loans, loan.id.as_bytes().to_vec(), &loan)?;
            let what = format!("借出：{}（{}），应还 {}", loan.borrower, loan.unit, loan.due_on);
            self.stage_move(&mut ws, &mut r, CustodyState::Lent, &p.user.username, what.clone())?;
            let detail = format!("loan:{} due {}", loan.id, loan.due_on);
            self.commit_audited(ws, p, AuditAction::LoanLend, &object, Some(detail.clone()))?;
            Ok((loan, Some(detail)))
        })
    }

    /// Takes a lent dossier back (归还): 在库 again. The archive office only.
    pub fn return_loan(&self, p: &Principal, id: LoanId) -> Result<Loan> {
        self.audited(p, AuditAction::LoanReturn, &format!("loan:{id}"), true, || {
            self.require(p, Capability::ManageCustody)?;
            let _guard = self.lock();
            let mut loan: Loan = self
                .store()
                .get(Table::Loans, id.as_bytes())?
                .ok_or_else(|| Error::NotFound(format!("loan {id} not found")))?;
            self.visible(p, loan.person_id).map_err(|_| Error::NotFound(format!("loan {id} not found")))?;
            if let Some(on) = loan.returned_on {
                return Err(Error::Conflict(format!("loan {id} was returned on {on}")));
            }
            loan.returned_on = Some(PartialDate::from_date(today()));
            loan.returned_by = Some(p.user.username.clone());
            let mut r = self.record_or_default(loan.person_id)?;
            let mut ws = self.store().write_set();
            ws.put(Table::Loans, id.as_bytes().to_vec(), &loan)?;
            if r.state == CustodyState::Lent {
                let what = format!("归还：{}（{}）", loan.borrower, loan.unit);
                self.stage_move(&mut ws, &mut r, CustodyState::InStore, &p.user.username, what)?;
            }
            let detail = format!("person:{} returned", loan.person_id);
            self.commit_audited(ws, p, AuditAction::LoanReturn, &format!("loan:{id}"), Some(detail.clone()))?;
            Ok((loan, Some(detail)))
        })
    }
}
