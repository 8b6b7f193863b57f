//! Digitization batches. Scanning is often done by outside contractors — the classic leak path — so a
//! scanning operator works only inside the batches assigned to them: they file scans into the dossiers a batch
//! names and see only what they themselves filed in that batch (catalogue fields, never content). They cannot
//! search, download or export. HR and administration create batches and assign them.

use super::Imports;
use super::access::{forbidden, person_target};
use super::{Error, Principal, Result};
use crate::model::AuditAction;
use crate::model::policy::Capability;
use crate::model::{BatchId, Material, MaterialMeta, PersonId, WithText, now_ts};
use crate::store::Table;
use serde::{Deserialize, Serialize};

/// A batch of scanning work.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Batch {
    /// Id.
    pub id: BatchId,
    /// Name, e.g. 2026年第一批纸质档案数字化.
    pub name: String,
    /// Scanning operators assigned (usernames).
    pub assignees: Vec<String>,
    /// The dossiers the batch may file into.
    pub person_ids: Vec<PersonId>,
    /// Open for filing.
    pub open: bool,
    /// Who created it.
    pub created_by: String,
    /// When.
    pub created_at: i64,
}

/// What a new batch needs.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewBatch {
    /// Name.
    pub name: String,
    /// Operators (usernames).
    pub assignees: Vec<String>,
    /// Dossiers.
    pub person_ids: Vec<PersonId>,
}

impl Imports<'_> {
    fn may_manage_batches(&self, p: &Principal) -> bool {
        let policy = self.policy();
        policy.capability(&p.subject, Capability::Upload).allowed
            || policy.capability(&p.subject, Capability::ManageCustody).allowed
    }

    fn load_batch(&self, id: BatchId) -> Result<Batch> {
        self.store().get(Table::Batches, id.as_bytes())?.ok_or_else(|| Error::NotFound(format!("batch {id} not found")))
    }

    /// Creates a batch (HR, administration).
    pub fn create_batch(&self, p: &Principal, new: NewBatch) -> Result<Batch> {
        self.audited(p, AuditAction::BatchCreate, "batch:new", true, || {
            if !self.may_manage_batches(p) {
                return Err(Error::Forbidden("rule batch.manage: only HR and administration create batches".into()));
            }
            let name = new.name.trim().to_string();
            if name.is_empty() || name.chars().count() > 200 {
                return Err(Error::invalid("name", "1–200 characters"));
            }
            if new.person_ids.is_empty() || new.person_ids.len() > 10_000 {
                return Err(Error::invalid("person_ids", "name 1–10000 dossiers"));
            }
            for pid in &new.person_ids {
                self.persons().load_person(*pid)?;
            }
            for a in &new.assignees {
                let u = self
                    .accounts()
                    .user_by_name(a)?
                    .ok_or_else(|| Error::invalid("assignees", format!("no user {a}")))?;
                if !self.policy().capability(&self.subject_for(&u)?, Capability::ScanBatches).allowed {
                    return Err(Error::invalid("assignees", format!("{a} is not a scanning operator")));
                }
            }
            let b = Batch {
                id: BatchId::new(),
                name,
                assignees: new.assignees,
                person_ids: new.person_ids,
                open: true,
                created_by: p.user.username.clone(),
                created_at: now_ts(),
            };
            let mut ws = self.store().write_set();
            ws.put(Table::Batches, b.id.as_bytes().to_vec(), &b)?;
            self.commit_audited(ws, p, AuditAction::BatchCreate, &format!("batch:{}", b.id), None)?;
            Ok((b, None))
        })
    }

    /// Batches: all for HR and administration, the assigned ones for an operator.
    pub fn list_batches(&self, p: &Principal) -> Result<Vec<Batch>> {
        let all = self.may_manage_batches(p);
        Ok(self
            .store()
            .scan::<Batch>(Table::Batches, b"")?
            .into_iter()
            .map(|(_, b)| b)
            .filter(|b| all || b.assignees.contains(&p.user.username))
            .collect())
    }

    fn assigned_batch(&self, p: &Principal, id: BatchId) -> Result<Batch> {
        let b = self.load_batch(id)?;
        if self.may_manage_batches(p) || b.assignees.contains(&p.user.username) {
            Ok(b)
        } else {
            Err(Error::NotFound(format!("batch {id} not found")))
        }
    }

    /// Files a scan into a dossier of a batch (an assigned operator, or HR).
    pub fn file_in_batch(
        &self,
        p: &Principal,
        batch: BatchId,
        person_id: PersonId,
        meta: MaterialMeta,
        bytes: &[u8],
        file_name: Option<String>,
    ) -> Result<WithText<Material>> {
        self.audited(p, AuditAction::BatchFile, &format!("batch:{batch}"), true, || {
            let b = self.assigned_batch(p, batch)?;
            if !b.assignees.contains(&p.user.username) {
                return Err(Error::Forbidden("rule batch.assignee: only the batch's operators file into it".into()));
            }
            self.require(p, Capability::ScanBatches)?;
            if !b.open {
                return Err(Error::Conflict(format!("batch {batch} is closed")));
            }
            if !b.person_ids.contains(&person_id) {
                return Err(Error::Forbidden(format!(
                    "rule batch.scope: dossier {person_id} is not part of this batch"
                )));
            }
            let person = self.persons().load_person(person_id)?;
            if let Some(hard) = self.policy().hard_rules(&p.subject, &person_target(&person)) {
                return Err(forbidden(&hard));
            }
            let meta = self.filing().checked_meta(meta)?;
            let m = self.filing().file_material(p, &person, meta, bytes, file_name, false, Some(batch))?;
            Ok((self.materials().with_text(m)?, None))
        })
    }

    /// What the caller filed in a batch (an operator sees only their own filings; HR and administration all).
    pub fn batch_materials(&self, p: &Principal, batch: BatchId) -> Result<Vec<WithText<Material>>> {
        self.audited(p, AuditAction::BatchList, &format!("batch:{batch}"), false, || {
            let b = self.assigned_batch(p, batch)?;
            let all = self.may_manage_batches(p);
            let mut out = Vec::new();
            for pid in &b.person_ids {
                for mid in self.materials().material_ids_of(*pid)? {
                    let m = self.materials().load_material(mid)?;
                    if m.batch_id == Some(batch) && (all || m.created_by == p.user.username) {
                        out.push(self.materials().with_text(m)?);
                    }
                }
            }
            Ok((out, None))
        })
    }
}
