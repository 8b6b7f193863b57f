//! Digitization batches. Scanning is often done by outside contractors — the classic leak path — so a
//! scanning operator works only inside the batches assigned to them: they file scans into the dossiers a batch
//! names and see only what they themselves filed in that batch (catalogue fields, never content). They cannot
//! search, download or export. HR and administration create batches and assign them.

use super::Imports;
use super::access::{forbidden, person_target};
use super::{Error, Principal, Result};
use crate::model::AuditAction;
use crate::model::page::{BatchState, QcRound, Rescan};
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
    /// Where it stands (扫描中 → 自检 → 抽检 → 验收 or 退回); older records: scanning.
    #[serde(default)]
    pub state: BatchState,
    /// The share of its pages each 抽检 draws, in percent.
    #[serde(default = "default_sample_percent")]
    pub sample_percent: u8,
    /// The fewest pages a 抽检 draws (all, when the batch holds fewer).
    #[serde(default = "default_sample_min")]
    pub sample_min: u32,
    /// When its operators finished scanning (自检 began).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub self_check_at: Option<i64>,
    /// Its rounds of 抽检, oldest first. The samples and the defects of an undecided round are the reviewers'
    /// alone (see [`Batch::as_operator_sees_it`]).
    #[serde(default)]
    pub rounds: Vec<QcRound>,
    /// The pages sent back for rescanning.
    #[serde(default)]
    pub rescans: Vec<Rescan>,
}

fn default_sample_percent() -> u8 {
    10
}

fn default_sample_min() -> u32 {
    5
}

impl Batch {
    /// The batch as its operators see it: no round's sample, and the defects only of decided rounds (they come
    /// back as rescans), so nobody who scanned knows which pages the reviewer will look at.
    pub fn as_operator_sees_it(mut self) -> Batch {
        for r in &mut self.rounds {
            r.sample.clear();
            if r.decision.is_none() {
                r.defects.clear();
            }
        }
        self
    }
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
    /// The share of pages each 抽检 draws, percent (1–100; default 10).
    #[serde(default)]
    pub sample_percent: Option<u8>,
    /// The fewest pages a 抽检 draws (default 5).
    #[serde(default)]
    pub sample_min: Option<u32>,
}

impl Imports<'_> {
    pub(crate) fn may_manage_batches(&self, p: &Principal) -> bool {
        let policy = self.policy();
        policy.capability(&p.subject, Capability::Upload).allowed
            || policy.capability(&p.subject, Capability::ManageCustody).allowed
    }

    pub(crate) fn load_batch(&self, id: BatchId) -> Result<Batch> {
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
            if new.sample_percent.is_some_and(|s| s == 0 || s > 100) {
                return Err(Error::invalid("sample_percent", "1–100"));
            }
            if new.sample_min.is_some_and(|s| s == 0 || s > 10_000) {
                return Err(Error::invalid("sample_min", "1–10000 pages"));
            }
            let b = Batch {
                id: BatchId::new(),
                name,
                assignees: new.assignees,
                person_ids: new.person_ids,
                open: true,
                created_by: p.user.username.clone(),
                created_at: now_ts(),
                state: BatchState::Scanning,
                sample_percent: new.sample_percent.unwrap_or_else(default_sample_percent),
                sample_min: new.sample_min.unwrap_or_else(default_sample_min),
                self_check_at: None,
                rounds: Vec::new(),
                rescans: Vec::new(),
            };
            let mut ws = self.store().write_set();
            ws.put(Table::Batches, b.id.as_bytes().to_vec(), &b)?;
            self.commit_audited(ws, p, AuditAction::BatchCreate, &format!("batch:{}", b.id), None)?;
            Ok((b, None))
        })
    }

    /// Batches: all for HR and administration, the assigned ones for an operator (as they see them).
    pub fn list_batches(&self, p: &Principal) -> Result<Vec<Batch>> {
        let all = self.may_manage_batches(p);
        Ok(self
            .store()
            .scan::<Batch>(Table::Batches, b"")?
            .into_iter()
            .map(|(_, b)| b)
            .filter_map(|b| {
                if b.assignees.contains(&p.user.username) { Some(b.as_operator_sees_it()) } else { all.then_some(b) }
            })
            .collect())
    }

    pub(crate) fn assigned_batch(&self, p: &Principal, id: BatchId) -> Result<Batch> {
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
            let (person, meta) = self.check_batch_filing(p, batch, person_id, meta)?;
            let m = self.filing().file_material(p, &person, meta, bytes, file_name, false, Some(batch))?;
            Ok((self.materials().with_text(m)?, None))
        })
    }

    /// Checks the caller may file into a dossier of a batch now (one of its operators, while it takes scans,
    /// into one of its dossiers); the dossier, and the catalogue fields checked.
    pub(crate) fn check_batch_filing(
        &self,
        p: &Principal,
        batch: BatchId,
        person_id: PersonId,
        meta: MaterialMeta,
    ) -> Result<(crate::model::Person, MaterialMeta)> {
        let b = self.assigned_batch(p, batch)?;
        if !b.assignees.contains(&p.user.username) {
            return Err(Error::Forbidden("rule batch.assignee: only the batch's operators file into it".into()));
        }
        self.require(p, Capability::ScanBatches)?;
        if !b.open || !matches!(b.state, BatchState::Scanning | BatchState::SelfCheck) {
            return Err(Error::Conflict(format!(
                "batch {batch} is {}: new scans are filed while it is 扫描中 or 自检",
                if b.open { b.state.label() } else { "closed" },
            )));
        }
        if !b.person_ids.contains(&person_id) {
            return Err(Error::Forbidden(format!("rule batch.scope: dossier {person_id} is not part of this batch")));
        }
        let person = self.persons().load_person(person_id)?;
        if let Some(hard) = self.policy().hard_rules(&p.subject, &person_target(&person)) {
            return Err(forbidden(&hard));
        }
        let meta = self.filing().checked_meta(meta)?;
        Ok((person, meta))
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
