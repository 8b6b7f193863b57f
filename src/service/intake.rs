//! 收材登记 and 归档 (docs/DOMAIN.md §2b): receiving a material is its own step. A received material is stored
//! like any other (sealed, versioned, indexed, read through the gate) but waits in the 待归档 queue
//! (`Table::Intake`) without a 序号 until it is filed (归档) into the catalogue, within a month of its receipt.
//!
//! Who: whoever files materials (HR, within its edit scope) and 行政部 (custody: any dossier it may list). Never
//! into one's own or a recorded relative's dossier (the gate's hard rules); the three administrators and the
//! scanners neither receive, file nor see the queue. Every step and every refusal is in the trail.

use super::access::{forbidden, person_target};
use super::{Error, Intake, Principal, Result};
use crate::model::policy::{Access, Capability, Target};
use crate::model::{
    AuditAction, Material, MaterialId, MaterialMeta, PartialDate, Person, PersonId, WithText, now_ts, today,
};
use crate::store::{SpooledBlob, Table};
use std::collections::HashMap;

/// The filters of the 待归档 queue.
#[derive(Clone, Debug, Default)]
pub struct IntakeQuery {
    /// Only this dossier.
    pub person_id: Option<PersonId>,
    /// Only overdue (`true`) or only not overdue (`false`) materials.
    pub overdue: Option<bool>,
}

/// One received, not yet filed material of the queue.
#[derive(Clone, Debug)]
pub struct IntakeItem {
    /// The material (with its text's state).
    pub material: WithText<Material>,
    /// Whose dossier it waits for.
    pub person_name: String,
    /// 接收时间 (the receipt's date; the day it was stored when none was recorded).
    pub received_on: PartialDate,
    /// The last day to file it: a month after its receipt (the last day a partial date can mean).
    pub due: time::Date,
    /// Past its due date and still not filed.
    pub overdue: bool,
}

/// The last day a material received on `received` may wait: one month later (the 31st of January gives the last
/// day of February).
pub fn due_date(received: PartialDate) -> time::Date {
    crate::model::date::add_months(received.last_day(), 1)
}

impl Intake<'_> {
    /// Whether the caller receives into (or files from) a dossier as custody (行政部) rather than as one who files.
    fn custodian(&self, p: &Principal) -> bool {
        self.policy().capability(&p.subject, Capability::ManageCustody).allowed
    }

    /// Whether the caller may see the queue at all: who files (HR) or holds custody (行政部).
    fn check_may_see_queue(&self, p: &Principal) -> Result<()> {
        if self.custodian(p) {
            return Ok(());
        }
        self.require(p, Capability::Upload)
    }

    /// May the caller receive a material with these fields into this dossier (custody: any material of a dossier
    /// it may list; else the right to file it)?
    fn check_receive(&self, p: &Principal, person: &Person, meta: &MaterialMeta) -> Result<()> {
        if !self.custodian(p) {
            return self.filing().check_filing(p, person, meta);
        }
        self.check_person(p, person)?;
        let t = Target {
            lineage: self.scheme().lineage(&meta.category),
            tags: meta.tags.clone(),
            secrecy: meta.secrecy.unwrap_or(0),
            ..person_target(person)
        };
        let d = self.policy().decide(&p.subject, &t, Access::List);
        if !d.allowed {
            return Err(forbidden(&d));
        }
        super::filing::formed_after_birth(person, meta)
    }

    /// Whether the caller may receive materials into this dossier at all (checked before a large body is read).
    pub fn check_may_receive(&self, p: &Principal, person_id: PersonId) -> Result<()> {
        self.audited(p, AuditAction::IntakeReceive, &format!("person:{person_id}"), true, || {
            if !self.custodian(p) {
                self.require(p, Capability::Upload)?;
            }
            self.check_person(p, &self.persons().load_person(person_id)?)?;
            Ok(((), None))
        })
    }

    /// The receipt's defaults: received today, by the caller, when the fields do not say.
    fn receipt(&self, p: &Principal, mut meta: MaterialMeta) -> MaterialMeta {
        meta.received_on.get_or_insert_with(|| PartialDate::from_date(today()));
        if meta.received_by.as_deref().is_none_or(|r| r.trim().is_empty()) {
            meta.received_by = Some(p.user.username.clone());
        }
        meta
    }

    /// 收材登记: stores a material received for a dossier in the 待归档 queue (no 序号 until 归档).
    pub fn receive(
        &self,
        p: &Principal,
        person_id: PersonId,
        meta: MaterialMeta,
        bytes: &[u8],
        file_name: Option<String>,
        wait: bool,
    ) -> Result<WithText<Material>> {
        self.receive_with(p, person_id, meta, |person, meta| {
            self.filing().receive_material(p, person, meta, bytes, file_name, wait)
        })
    }

    /// Receives a streamed upload ([`super::Filing::spool`]), as [`Intake::receive`].
    pub fn receive_spooled(
        &self,
        p: &Principal,
        person_id: PersonId,
        meta: MaterialMeta,
        content: &SpooledBlob,
        file_name: Option<String>,
        wait: bool,
    ) -> Result<WithText<Material>> {
        self.receive_with(p, person_id, meta, |person, meta| {
            self.filing().receive_spooled_material(p, person, meta, content, file_name, wait)
        })
    }

    fn receive_with(
        &self,
        p: &Principal,
        person_id: PersonId,
        meta: MaterialMeta,
        store: impl FnOnce(&Person, MaterialMeta) -> Result<Material>,
    ) -> Result<WithText<Material>> {
        self.audited(p, AuditAction::IntakeReceive, &format!("person:{person_id}"), true, || {
            let person = self.persons().load_person(person_id)?;
            let meta = self.filing().checked_meta(self.receipt(p, meta))?;
            self.check_receive(p, &person, &meta)?;
            let m = store(&person, meta)?;
            Ok((self.materials().with_text(m)?, None))
        })
    }

    /// Also used by imports and packages: may the caller receive these fields into this dossier?
    pub(crate) fn check_receiving(&self, p: &Principal, person: &Person, meta: MaterialMeta) -> Result<MaterialMeta> {
        let meta = self.receipt(p, meta);
        self.check_receive(p, person, &meta)?;
        Ok(meta)
    }

    /// The 待归档 queue: the received, not yet filed materials the caller may see, oldest receipt first, with
    /// their due dates; the total before `limit` and `offset`.
    pub fn queue(
        &self,
        p: &Principal,
        q: &IntakeQuery,
        limit: usize,
        offset: usize,
    ) -> Result<(Vec<IntakeItem>, usize)> {
        self.audited(p, AuditAction::IntakeList, "intake", false, || {
            self.check_may_see_queue(p)?;
            let today = today();
            // Each dossier is checked once: one the caller may not see hides all its entries.
            let mut persons: HashMap<PersonId, Option<Person>> = HashMap::new();
            let mut out = Vec::new();
            for (key, person_id) in self.store().scan::<PersonId>(Table::Intake, b"")? {
                if q.person_id.is_some_and(|want| want != person_id) {
                    continue;
                }
                let person = persons.entry(person_id).or_insert_with(|| {
                    let person = self.persons().load_person(person_id).ok()?;
                    self.check_person(p, &person).ok().map(|_| person)
                });
                let Some(person) = person.as_ref() else { continue };
                let Some(id) = MaterialId::from_slice(&key) else { continue };
                let Ok(m) = self.materials().load_material(id) else { continue };
                if !m.awaiting_filing || m.destroyed_by.is_some() {
                    continue;
                }
                if self.check_material(p, person, &m, Access::List).is_err() {
                    continue;
                }
                let received_on = m.meta.received_on.unwrap_or_else(|| {
                    PartialDate::from_date(
                        time::OffsetDateTime::from_unix_timestamp(m.created_at).map(|t| t.date()).unwrap_or(today),
                    )
                });
                let due = due_date(received_on);
                let overdue = today > due;
                if q.overdue.is_some_and(|want| want != overdue) {
                    continue;
                }
                out.push(IntakeItem {
                    material: self.materials().with_text(m)?,
                    person_name: person.name.clone(),
                    received_on,
                    due,
                    overdue,
                });
            }
            out.sort_by_key(|i| (i.due, i.received_on, i.material.created_at, i.material.id));
            let total = out.len();
            let page = out.into_iter().skip(offset).take(limit).collect();
            Ok(((page, total), None))
        })
    }

    /// 归档: files a received material into its dossier's catalogue, with the next 序号 of its (sub)category, as a
    /// new version (reason 归档); it leaves the queue in the same commit. A filed material is a 409.
    pub fn file(&self, p: &Principal, id: MaterialId) -> Result<WithText<Material>> {
        self.audited(p, AuditAction::IntakeFile, &format!("material:{id}"), true, || {
            let current = self.materials().load_material(id)?;
            let person = self.persons().load_person(current.person_id)?;
            self.check_file(p, &person, &current)?;
            let ticket = {
                let _guard = self.lock();
                let mut m = self.materials().load_material(id)?;
                if !m.awaiting_filing {
                    return Err(Error::Conflict(format!("material {id} is filed already（已归档）")));
                }
                m.awaiting_filing = false;
                m.version += 1;
                m.updated_at = now_ts();
                m.updated_by = p.user.username.clone();
                let mut ws = self.store().write_set();
                self.persons().stage_number(&mut ws, &m, &p.user.username)?;
                ws.delete(Table::Intake, id.as_bytes().to_vec());
                let text = self.materials().text_state(&m)?.status;
                self.filing().commit_material_version(ws, p, AuditAction::IntakeFile, &m, text, Some("归档".into()))?
            };
            self.indexing().wait_indexed(ticket);
            let m = self.materials().load_material(id)?;
            let detail = format!("person:{} category:{}", m.person_id, m.meta.category);
            Ok((self.materials().with_text(m)?, Some(detail)))
        })
    }

    /// May the caller file this received material (custody: one it may list; else one it may edit)?
    fn check_file(&self, p: &Principal, person: &Person, m: &Material) -> Result<()> {
        if self.custodian(p) {
            self.check_material(p, person, m, Access::List)?;
            return Ok(());
        }
        self.require(p, Capability::Upload)?;
        self.check_material(p, person, m, Access::Edit).map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Role;
    use crate::service::testing::{self, account, denial, meta};

    #[test]
    fn a_received_material_is_due_a_month_after_its_receipt() {
        let d = |s: &str| due_date(s.parse().unwrap()).to_string();
        assert_eq!(d("2026-01-31"), "2026-02-28");
        assert_eq!(d("2024-01-31"), "2024-02-29");
        assert_eq!(d("2026-12-15"), "2027-01-15");
        assert_eq!(d("2026-05"), "2026-06-30", "a partial date counts from the last day it can mean");
    }

    #[test]
    fn a_received_material_changed_before_filing_stays_unnumbered_and_filing_numbers_it_once() {
        let a = testing::archive();
        let hr = account(&a, "hr", &[Role::Hr], "hr");
        let person = testing::person(&a, "钱九", "sales");
        let m = a.intake().receive(&hr, person, meta("3", "考核表", &[]), "称职".as_bytes(), None, false).unwrap();
        assert!(m.awaiting_filing);
        // A change of category before 归档 gives it no number.
        a.filing().patch(&hr, m.id, Some(1), serde_json::json!({"category": "7"}), None).unwrap();
        assert!(a.persons().catalogue(&hr, person).unwrap().is_empty());
        assert!(a.persons().stored_numberings(person).unwrap().iter().all(|n| n.entries.is_empty()));
        let (queue, total) = a.intake().queue(&hr, &IntakeQuery::default(), 10, 0).unwrap();
        assert_eq!((total, queue[0].material.id, queue[0].overdue), (1, m.id, false));

        let filed = a.intake().file(&hr, m.id).unwrap();
        assert_eq!((filed.version, filed.awaiting_filing), (3, false));
        let cat = a.persons().catalogue(&hr, person).unwrap();
        assert_eq!((cat[0].seq, cat[0].material.meta.category.as_str()), (1, "7"));
        assert!(matches!(a.intake().file(&hr, m.id), Err(Error::Conflict(_))));
        assert_eq!(a.intake().queue(&hr, &IntakeQuery::default(), 10, 0).unwrap().1, 0);

        let scanner = account(&a, "scanner", &[Role::Scanner], "it");
        assert!(denial(a.intake().queue(&scanner, &IntakeQuery::default(), 10, 0)).contains("rule "));
        let received = a.intake().receive(&scanner, person, meta("3", "x", &[]), b"x", None, false);
        assert!(denial(received).contains("rule "));
    }
}
