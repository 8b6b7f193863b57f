//! The stored 序号 of a dossier's catalogue (docs/DOMAIN.md §2, "A stable 目录").
//!
//! A dossier's numbers live in numberings (`Table::Numberings`, by person id + number). The current numbering
//! (the highest number) grows as materials are filed: a new material takes the next 序号 of its (sub)category,
//! whatever its formed date, so filing never renumbers what is there. Only 整理 ([`Persons::arrange`]) renumbers:
//! it orders every (sub)category by formed date and stores the result as the next numbering, audited; the
//! numberings before it stay readable.
//!
//! Dossiers filed before numbers were stored have no numbering: their catalogue is numbered as it always was
//! (formed date, then filing), and those numbers are stored, unchanged, by the dossier's first write that needs
//! them (a filing, a change of category, an arrangement) — lazily, so reading never writes.

use super::{Error, Persons, Principal, Result, version_key};
use crate::model::AuditAction;
use crate::model::policy::{Access, Capability};
use crate::model::{Material, MaterialId, PersonId, now_ts};
use crate::store::{Table, WriteSet};
use serde::{Deserialize, Serialize};

/// How a numbering came to be.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
#[schema(description = "initial: the numbers the catalogue had when they were first stored (formed date, then \
    filing), extended by each filing since; arranged: made by 整理 (every (sub)category by formed date), extended by \
    each filing since.")]
pub enum NumberingKind {
    /// The numbers the catalogue had when they were first stored.
    Initial,
    /// Made by an arrangement (整理).
    Arranged,
}

/// One material's 序号 in a numbering.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Numbered {
    /// The material.
    pub material_id: MaterialId,
    /// The (sub)category it was numbered in.
    pub category: String,
    /// 序号, from 1 in each (sub)category.
    pub seq: u32,
}

/// A numbering of a dossier's catalogue.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Numbering {
    /// From 1; the highest is current.
    pub number: u32,
    /// How it came to be.
    pub kind: NumberingKind,
    /// When it was made (Unix seconds).
    pub at: i64,
    /// By whom (username).
    pub by: String,
    /// Why (an arrangement's reason).
    pub reason: Option<String>,
    /// The numbers.
    pub entries: Vec<Numbered>,
}

impl Numbering {
    /// The next 序号 of a (sub)category: one past the highest ever given in it (a destroyed material's number is
    /// not given again until the next arrangement).
    fn next_in(&self, category: &str) -> u32 {
        self.entries.iter().filter(|e| e.category == category).map(|e| e.seq).max().unwrap_or(0) + 1
    }

    /// Numbers a material (again, if its category changed); nothing if it is numbered in its category.
    fn take(&mut self, m: &Material) -> bool {
        if self.entries.iter().any(|e| e.material_id == m.id && e.category == m.meta.category) {
            return false;
        }
        self.entries.retain(|e| e.material_id != m.id);
        let seq = self.next_in(&m.meta.category);
        self.entries.push(Numbered { material_id: m.id, category: m.meta.category.clone(), seq });
        true
    }
}

/// A catalogue as one numbering numbers it.
#[derive(Clone, Debug)]
pub struct NumberedCatalogue {
    /// The entries the caller may see, by category, then 序号.
    pub entries: Vec<super::persons::CatalogueEntry>,
    /// The numbering shown (`None`: the dossier's numbers are not stored yet; they are today's order).
    pub numbering: Option<Numbering>,
    /// Every numbering of the dossier (their entries left empty), oldest first.
    pub numberings: Vec<Numbering>,
}

impl Persons<'_> {
    /// The numberings of a dossier, oldest first.
    pub(crate) fn stored_numberings(&self, person_id: PersonId) -> Result<Vec<Numbering>> {
        Ok(self
            .store()
            .scan::<Numbering>(Table::Numberings, person_id.as_bytes())?
            .into_iter()
            .map(|(_, n)| n)
            .collect())
    }

    /// The dossier's live materials (filed, not destroyed): a received one waiting in the 待归档 queue is not in
    /// the catalogue and has no 序号 until 归档 (docs/DOMAIN.md §2b).
    pub(crate) fn live_materials(&self, person_id: PersonId) -> Result<Vec<Material>> {
        let mut out = Vec::new();
        for id in self.materials().material_ids_of(person_id)? {
            let m = self.materials().load_material(id)?;
            if m.destroyed_by.is_none() && !m.awaiting_filing {
                out.push(m);
            }
        }
        Ok(out)
    }

    /// The dossier's current numbering (the highest number), reading only that one record.
    fn current_numbering(&self, person_id: PersonId) -> Result<Option<Numbering>> {
        match self.store().keys_under(Table::Numberings, person_id.as_bytes())?.last() {
            Some(key) => Ok(self.store().get(Table::Numberings, key)?),
            None => Ok(None),
        }
    }

    /// The 序号 of `materials` by formed date (then filing), counted from 1 in each (sub)category: the numbers a
    /// dossier without stored ones has, and what 整理 stores.
    fn numbers_by_date(&self, materials: Vec<Material>) -> Vec<Numbered> {
        self.order_by_date(materials)
            .into_iter()
            .map(|e| Numbered { material_id: e.material.id, category: e.material.meta.category, seq: e.seq })
            .collect()
    }

    /// Numbering 1 of a dossier whose numbers are not stored yet: the numbers its catalogue has today.
    fn initial(&self, materials: Vec<Material>, author: &str) -> Numbering {
        Numbering {
            number: 1,
            kind: NumberingKind::Initial,
            at: now_ts(),
            by: author.into(),
            reason: None,
            entries: self.numbers_by_date(materials),
        }
    }

    /// Gives a material being filed (or moved to another category) its 序号 in the current numbering, in the
    /// commit `ws` (call under the write lock, before the material itself is staged). A dossier without stored
    /// numbers has today's stored first, as numbering 1.
    pub(crate) fn stage_number(&self, ws: &mut WriteSet, m: &Material, author: &str) -> Result<()> {
        if m.awaiting_filing {
            // Received, not filed: numbered only by 归档 (docs/DOMAIN.md §2b).
            return Ok(());
        }
        let (mut numbering, stored) = match self.current_numbering(m.person_id)? {
            Some(n) => (n, true),
            None => (self.initial(self.live_materials(m.person_id)?, author), false),
        };
        if numbering.take(m) || !stored {
            ws.put(Table::Numberings, version_key(m.person_id.as_bytes(), numbering.number), &numbering)?;
        }
        Ok(())
    }

    /// The catalogue by the current numbering (`numbering: None`) or an earlier one, as the caller may see it,
    /// with the list of the dossier's numberings.
    pub fn numbered_catalogue(
        &self,
        p: &Principal,
        person_id: PersonId,
        numbering: Option<u32>,
    ) -> Result<NumberedCatalogue> {
        let detail = numbering.map(|n| format!("numbering {n}"));
        self.audited(p, AuditAction::PersonCatalogue, &format!("person:{person_id}"), false, || {
            let person = self.load_person(person_id)?;
            self.check_person(p, &person)?;
            let mut numberings = self.stored_numberings(person_id)?;
            let shown = match numbering {
                None => numberings.last().cloned(),
                Some(n) => Some(
                    numberings
                        .iter()
                        .find(|x| x.number == n)
                        .cloned()
                        .ok_or_else(|| Error::NotFound(format!("numbering {n} of this dossier not found")))?,
                ),
            };
            let current = numbering.is_none() || numberings.last().map(|x| x.number) == numbering;
            let all = self.numbered(self.live_materials(person_id)?, shown.as_ref(), current);
            // 序号 counts the whole catalogue, so a reader who sees part of it sees the true numbers.
            let mut entries = Vec::new();
            for entry in all {
                match self.check_material(p, &person, &entry.material, Access::List) {
                    Ok(_) => entries.push(super::persons::CatalogueEntry {
                        seq: entry.seq,
                        material: self.materials().with_text(entry.material)?,
                    }),
                    Err(Error::NotFound(_)) => {}
                    Err(e) => return Err(e),
                }
            }
            for n in &mut numberings {
                n.entries.clear();
            }
            let shown = shown.map(|mut s| {
                s.entries.clear();
                s
            });
            Ok((NumberedCatalogue { entries, numbering: shown, numberings }, detail.clone()))
        })
    }

    /// The materials numbered by `numbering`, by category, then 序号. Without a numbering: today's order. In the
    /// current numbering a material it lacks (none should) follows its category's numbers; an earlier numbering
    /// shows only the materials it numbered.
    pub(crate) fn numbered(
        &self,
        materials: Vec<Material>,
        numbering: Option<&Numbering>,
        current: bool,
    ) -> Vec<super::persons::CatalogueEntry<Material>> {
        let Some(numbering) = numbering else { return self.order_by_date(materials) };
        let scheme = self.scheme();
        let mut numbered = Vec::new();
        let mut rest = Vec::new();
        for m in materials {
            match numbering
                .entries
                .iter()
                .find(|e| e.material_id == m.id && (!current || e.category == m.meta.category))
            {
                Some(e) => numbered.push((e.category.clone(), e.seq, m)),
                None if current => rest.push(m),
                None => {}
            }
        }
        let mut extended = numbering.clone();
        for e in self.order_by_date(rest) {
            extended.take(&e.material);
            let seq = extended.next_in(&e.material.meta.category) - 1;
            numbered.push((e.material.meta.category.clone(), seq, e.material));
        }
        numbered.sort_by_key(|(category, seq, m)| (scheme.order(category), *seq, m.id));
        numbered.into_iter().map(|(_, seq, material)| super::persons::CatalogueEntry { seq, material }).collect()
    }

    /// 整理: renumbers every (sub)category of the dossier by formed date (then filing) as a new numbering; the
    /// earlier ones stay readable. Needs the right to file and to edit every material of the dossier (it changes
    /// the whole catalogue).
    pub fn arrange(&self, p: &Principal, person_id: PersonId, reason: Option<String>) -> Result<Numbering> {
        self.audited(p, AuditAction::CatalogueArrange, &format!("person:{person_id}"), true, || {
            self.require(p, Capability::Upload)?;
            let person = self.load_person(person_id)?;
            self.check_person(p, &person)?;
            let _guard = self.lock();
            let materials = self.live_materials(person_id)?;
            for m in &materials {
                self.check_material(p, &person, m, Access::Edit)?;
            }
            let previous = self.current_numbering(person_id)?.map(|n| n.number).unwrap_or(0);
            let mut ws = self.store().write_set();
            if previous == 0 {
                // The numbers the catalogue had stay readable as numbering 1.
                let initial = self.initial(materials.clone(), &p.user.username);
                ws.put(Table::Numberings, version_key(person_id.as_bytes(), 1), &initial)?;
            }
            let number = previous.max(1) + 1;
            let entries = self.numbers_by_date(materials);
            let numbering = Numbering {
                number,
                kind: NumberingKind::Arranged,
                at: now_ts(),
                by: p.user.username.clone(),
                reason: reason.map(|r| r.chars().take(500).collect()),
                entries,
            };
            ws.put(Table::Numberings, version_key(person_id.as_bytes(), number), &numbering)?;
            let detail = format!("numbering {number}");
            self.commit_audited(
                ws,
                p,
                AuditAction::CatalogueArrange,
                &format!("person:{person_id}"),
                Some(detail.clone()),
            )?;
            Ok((numbering, Some(detail)))
        })
    }
}

#[cfg(test)]
mod tests {
    use crate::model::Role;
    use crate::service::audit::{AuditQuery, Outcome};
    use crate::service::testing::{self, account, denial, file_text, meta};

    #[test]
    fn nobody_arranges_their_own_dossier_the_three_administrators_arrange_none_and_each_refusal_is_audited() {
        let a = testing::archive();
        let person = testing::person(&a, "钱九", "sales");
        file_text(&a, person, meta("1", "履历表", &[]), "履历");
        let hr = account(&a, "hr", &[Role::Hr], "hr");
        let own = hr.user.person_id.unwrap();
        assert!(denial(a.persons().arrange(&hr, own, None)).contains("hard.own-dossier"));
        assert!(denial(a.persons().numbered_catalogue(&hr, own, None)).contains("hard.own-dossier"));
        for (name, role) in [("it", Role::It), ("secadmin", Role::Secadmin), ("auditor", Role::Auditor)] {
            let admin = account(&a, name, &[role], "it");
            assert!(denial(a.persons().arrange(&admin, person, None)).contains("rule "), "{name} arranged");
            assert!(a.persons().numbered_catalogue(&admin, person, None).is_err(), "{name} read the catalogue");
        }
        assert!(a.persons().stored_numberings(person).unwrap().len() <= 1, "no refused arrangement was stored");
        let auditor = account(&a, "auditor2", &[Role::Auditor], "it");
        let q = AuditQuery {
            action: Some("catalogue.arrange".into()),
            outcome: Some(Outcome::Denied),
            ..Default::default()
        };
        let (entries, _) = a.audit_trail().query(&auditor, &q).unwrap();
        assert_eq!(entries.len(), 4, "own dossier and the three administrators: {entries:?}");
        // HR arranges the dossier it may edit; the first arrangement keeps today's numbers as numbering 1.
        assert_eq!(a.persons().arrange(&hr, person, Some("整理".into())).unwrap().number, 2);
        assert_eq!(a.persons().stored_numberings(person).unwrap().len(), 2);
    }
}
