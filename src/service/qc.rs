//! Quality control of a scanning batch (docs/DOMAIN.md §2d): 扫描中 → 自检 → 抽检 → 验收, or 退回 → rescans →
//! 抽检 again.
//!
//! - The batch's operators finish scanning (自检 begins: they check their own work, the intake findings in hand),
//!   then hand it over: a random sample of its pages is drawn then, with every page rescanned since the last
//!   round, and kept in the batch.
//! - A reviewer of the archive — someone who manages batches (HR, administration) and is not one of its
//!   operators — sees the sample, records defects per page with a code (模糊, 倾斜, 缺页, 重页, 错页, 黑边 …), and
//!   accepts (验收: the batch closes) or returns it (退回: each defect becomes a rescan task of the operator who
//!   filed that material). Viewing a sampled page goes through the gate like any read of content.
//! - The operators never see a sample, nor the defects of an undecided round: only their rescans once returned.
//! - Every step is audited; the figures per batch and per operator are computed from the batch and its materials.

use super::{Digitisation, Error, Principal, Result};
use crate::model::page::{BatchState, Defect, DefectCode, PageRef, QcDecision, QcRound, Rescan, sample_size};
use crate::model::{AuditAction, BatchId, Material, MaterialId, now_ts};
use crate::service::batches::Batch;
use crate::store::Table;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// A defect as the reviewer records it.
#[derive(Clone, Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewDefect {
    /// The material.
    #[schema(schema_with = crate::model::uuid_schema)]
    pub material_id: MaterialId,
    /// The page (1-based) of a sampled material.
    pub page: u32,
    /// What is wrong.
    pub code: DefectCode,
    /// The reviewer's words (at most 500 characters).
    #[serde(default)]
    pub comment: Option<String>,
}

/// The reviewer's decision on the current round.
#[derive(Clone, Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewDecision {
    /// `accept` (验收) or `return` (退回; needs at least one defect).
    pub decision: QcDecision,
    /// Why (at most 500 characters).
    #[serde(default)]
    pub comment: Option<String>,
}

/// One page of the sample as the reviewer sees it: where it is, the catalogue fields of its material, what
/// intake read of it and found.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct SampleItem {
    /// Where.
    #[serde(flatten)]
    pub at: PageRef,
    /// The material's 材料名称.
    pub title: String,
    /// Its category.
    pub category: String,
    /// Its 页数 as catalogued.
    pub pages_recorded: Option<u32>,
    /// The pages it holds.
    pub pages_held: u32,
    /// Who filed it (the operator).
    pub operator: String,
    /// What intake read of the page (a material filed as one file: none).
    pub info: Option<crate::model::page::PageInfo>,
    /// What intake found on the page.
    pub findings: Vec<crate::model::page::PageFinding>,
}

/// The current round of 抽检 as its reviewer sees it.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct QcReview {
    /// The batch.
    #[schema(schema_with = crate::model::uuid_schema)]
    pub batch_id: BatchId,
    /// The round.
    pub round: QcRound,
    /// The sampled pages.
    pub sample: Vec<SampleItem>,
}

/// The figures of a batch, or of one operator in it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, utoipa::ToSchema)]
pub struct QcFigures {
    /// Materials filed.
    pub materials: u32,
    /// Pages held.
    pub pages: u32,
    /// Pages drawn for review, all rounds.
    pub sampled: u32,
    /// Defects recorded, all rounds.
    pub defects: u32,
    /// Defects by code.
    pub defects_by_code: BTreeMap<String, u32>,
    /// Defective sampled pages per sampled page, all rounds (0 when nothing was sampled).
    pub defect_rate: f64,
    /// Pages sent back.
    pub rescans: u32,
    /// Pages sent back and not rescanned yet.
    pub rescans_open: u32,
}

/// A batch's figures, whole and per operator, with its turnaround.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct BatchFigures {
    /// The whole batch.
    #[serde(flatten)]
    pub total: QcFigures,
    /// Dossiers with at least one material filed.
    pub dossiers: u32,
    /// Rounds of 抽检.
    pub rounds: u32,
    /// Seconds from each hand-over to its decision (decided rounds).
    pub review_turnaround_secs: Vec<i64>,
    /// Seconds from the batch's creation to its 验收, once accepted.
    pub turnaround_secs: Option<i64>,
    /// Per operator (username).
    pub operators: BTreeMap<String, QcFigures>,
}

/// A batch with its figures, as its caller may see it.
#[derive(Clone, Debug, Serialize)]
pub struct BatchView {
    /// The batch (as its operators see it, for an operator).
    pub batch: Batch,
    /// Its figures.
    pub figures: BatchFigures,
}

/// The pages of a material, for QC: its page images, or one page for a material filed as one file.
fn pages_of(m: &Material) -> u32 {
    (m.page_images.len() as u32).max(1)
}

/// A uniformly random number below `n` (n > 0), from the operating system's generator.
fn random_below(n: u64) -> Result<u64> {
    // Rejection sampling: no modulo bias.
    let zone = u64::MAX - (u64::MAX % n);
    loop {
        let r = getrandom::u64().map_err(|e| Error::Internal(format!("random numbers: {e}")))?;
        if r < zone {
            return Ok(r % n);
        }
    }
}

/// `k` items of `pool` drawn uniformly at random (a partial Fisher–Yates shuffle: they end up first).
fn draw<T>(pool: &mut [T], k: usize) -> Result<&[T]> {
    let k = k.min(pool.len());
    for i in 0..k {
        let j = i + random_below((pool.len() - i) as u64)? as usize;
        pool.swap(i, j);
    }
    Ok(&pool[..k])
}

fn bounded_comment(c: Option<String>) -> Result<Option<String>> {
    let c = c.map(|c| c.trim().to_string()).filter(|c| !c.is_empty());
    if c.as_ref().is_some_and(|c| c.chars().count() > 500) {
        return Err(Error::invalid("comment", "at most 500 characters"));
    }
    Ok(c)
}

impl Digitisation<'_> {
    /// The materials filed in a batch (not destroyed), in dossier order.
    pub(crate) fn batch_contents(&self, b: &Batch) -> Result<Vec<Material>> {
        let mut out = Vec::new();
        for pid in &b.person_ids {
            for mid in self.materials().material_ids_of(*pid)? {
                let m = self.materials().load_material(mid)?;
                if m.batch_id == Some(b.id) && m.destroyed_by.is_none() {
                    out.push(m);
                }
            }
        }
        Ok(out)
    }

    /// A batch for one of its operators: 404 for anyone else, 403 for a manager who is not one.
    fn operated_batch(&self, p: &Principal, id: BatchId) -> Result<Batch> {
        let b = self.imports().assigned_batch(p, id)?;
        if !b.assignees.contains(&p.user.username) {
            return Err(Error::Forbidden("rule batch.assignee: only the batch's operators hand it over".into()));
        }
        Ok(b)
    }

    /// A batch for a reviewer: someone who manages batches and is not one of its operators (never the people
    /// whose work is checked). 404 for a caller who may not see the batch, 403 for one of its operators.
    fn reviewed_batch(&self, p: &Principal, id: BatchId) -> Result<Batch> {
        let b = self.imports().assigned_batch(p, id)?;
        if b.assignees.contains(&p.user.username) || !self.imports().may_manage_batches(p) {
            return Err(Error::Forbidden(
                "rule qc.reviewer: the archive's reviewers check a batch, never its own operators".into(),
            ));
        }
        // Nor a batch holding the reviewer's own or a relative's dossier: another reviewer checks that one.
        for pid in &b.person_ids {
            let person = self.persons().load_person(*pid)?;
            if let Some(hard) = self.policy().hard_rules(&p.subject, &super::access::person_target(&person)) {
                return Err(super::access::forbidden(&hard));
            }
        }
        Ok(b)
    }

    fn save(&self, p: &Principal, b: &Batch, action: AuditAction, detail: String) -> Result<()> {
        let mut ws = self.store().write_set();
        ws.put(Table::Batches, b.id.as_bytes().to_vec(), b)?;
        self.commit_audited(ws, p, action, &format!("batch:{}", b.id), Some(detail))
    }

    /// A batch with its figures (its operators see it without samples; HR and administration whole).
    pub fn batch(&self, p: &Principal, id: BatchId) -> Result<BatchView> {
        self.audited(p, AuditAction::BatchRead, &format!("batch:{id}"), false, || {
            let b = self.imports().assigned_batch(p, id)?;
            // An operator's figures come from the batch as they see it: no sample, no undecided defects.
            let batch = if b.assignees.contains(&p.user.username) { b.as_operator_sees_it() } else { b };
            let figures = self.figures(&batch)?;
            Ok((BatchView { batch, figures }, None))
        })
    }

    /// 扫描中 → 自检: the operators have filed everything and check their own work.
    pub fn finish_scanning(&self, p: &Principal, id: BatchId) -> Result<Batch> {
        self.audited(p, AuditAction::BatchSelfCheck, &format!("batch:{id}"), true, || {
            let _guard = self.lock();
            let mut b = self.operated_batch(p, id)?;
            if b.state != BatchState::Scanning {
                return Err(Error::Conflict(format!("batch {id} is {}, not 扫描中", b.state.label())));
            }
            if self.batch_contents(&b)?.is_empty() {
                return Err(Error::Conflict(format!("batch {id} holds no scans yet")));
            }
            b.state = BatchState::SelfCheck;
            b.self_check_at = Some(now_ts());
            self.save(p, &b, AuditAction::BatchSelfCheck, "自检".into())?;
            Ok((b.as_operator_sees_it(), None))
        })
    }

    /// 自检 (or 退回, every rescan done) → 抽检: draws the sample — a random share of the pages, and every page
    /// rescanned since the last round — and hands the batch to the reviewers.
    pub fn hand_over(&self, p: &Principal, id: BatchId) -> Result<Batch> {
        self.audited(p, AuditAction::BatchSubmit, &format!("batch:{id}"), true, || {
            let _guard = self.lock();
            let mut b = self.operated_batch(p, id)?;
            match b.state {
                BatchState::SelfCheck => {}
                BatchState::Returned => {
                    let open = b.rescans.iter().filter(|r| r.done_at.is_none()).count();
                    if open > 0 {
                        return Err(Error::Conflict(format!("{open} page(s) sent back are not rescanned yet")));
                    }
                }
                s => {
                    return Err(Error::Conflict(format!(
                        "batch {id} is {}: hand it over from 自检 or 退回",
                        s.label()
                    )));
                }
            }
            let pages: Vec<PageRef> = self
                .batch_contents(&b)?
                .iter()
                .flat_map(|m| (1..=pages_of(m)).map(|page| PageRef { material_id: m.id, page }))
                .collect();
            let held = pages.len() as u32;
            let last = b.rounds.last().map(|r| r.number).unwrap_or(0);
            // Every page rescanned after the last round is looked at again, whatever the draw.
            let mut sample: BTreeSet<PageRef> = b
                .rescans
                .iter()
                .filter(|r| r.round == last && r.done_at.is_some())
                .map(|r| r.defect.at)
                .filter(|at| pages.contains(at))
                .collect();
            let want = sample_size(held, b.sample_percent, b.sample_min) as usize;
            let mut pool: Vec<PageRef> = pages.into_iter().filter(|at| !sample.contains(at)).collect();
            let k = want.saturating_sub(sample.len());
            sample.extend(draw(&mut pool, k)?.iter().copied());
            let number = last + 1;
            b.rounds.push(QcRound {
                number,
                submitted_by: p.user.username.clone(),
                submitted_at: now_ts(),
                pages_held: held,
                sample: sample.into_iter().collect(),
                defects: Vec::new(),
                reviewer: None,
                decision: None,
                decided_at: None,
                comment: None,
            });
            b.state = BatchState::Sampling;
            let drawn = b.rounds.last().map(|r| r.sample.len()).unwrap_or(0);
            self.save(p, &b, AuditAction::BatchSubmit, format!("抽检 round {number}: {drawn} of {held} pages"))?;
            Ok((b.as_operator_sees_it(), None))
        })
    }

    /// The round under review, with its sample, for a reviewer.
    pub fn review(&self, p: &Principal, id: BatchId) -> Result<QcReview> {
        self.audited(p, AuditAction::QcSample, &format!("batch:{id}"), false, || {
            let b = self.reviewed_batch(p, id)?;
            let round = match (b.state, b.rounds.last()) {
                (BatchState::Sampling, Some(r)) => r.clone(),
                _ => return Err(Error::Conflict(format!("batch {id} is {}: nothing to review", b.state.label()))),
            };
            let mut sample = Vec::with_capacity(round.sample.len());
            let mut cache: BTreeMap<MaterialId, Material> = BTreeMap::new();
            for at in &round.sample {
                let m = match cache.entry(at.material_id) {
                    std::collections::btree_map::Entry::Occupied(e) => e.into_mut(),
                    std::collections::btree_map::Entry::Vacant(e) => {
                        e.insert(self.materials().load_material(at.material_id)?)
                    }
                };
                let image = m.page_images.get(at.page as usize - 1);
                sample.push(SampleItem {
                    at: *at,
                    title: m.meta.title.clone(),
                    category: m.meta.category.clone(),
                    pages_recorded: m.meta.pages,
                    pages_held: pages_of(m),
                    operator: m.created_by.clone(),
                    info: image.map(|i| i.info.clone()),
                    findings: image.map(|i| i.findings.clone()).unwrap_or_default(),
                });
            }
            let detail = format!("round {}: {} pages", round.number, sample.len());
            Ok((QcReview { batch_id: id, round, sample }, Some(detail)))
        })
    }

    /// Records a defect on a page of a sampled material.
    pub fn record_defect(&self, p: &Principal, id: BatchId, new: NewDefect) -> Result<QcRound> {
        self.audited(p, AuditAction::QcDefect, &format!("batch:{id}"), true, || {
            let comment = bounded_comment(new.comment)?;
            let _guard = self.lock();
            let mut b = self.reviewed_batch(p, id)?;
            if b.state != BatchState::Sampling {
                return Err(Error::Conflict(format!("batch {id} is {}: nothing to review", b.state.label())));
            }
            let Some(round) = b.rounds.last_mut() else {
                return Err(Error::Internal(format!("batch {id} is under review without a round")));
            };
            // A defect is found on the sample: on a sampled page, or (缺页, 错页) on another page of a sampled
            // material.
            if !round.sample.iter().any(|s| s.material_id == new.material_id) {
                return Err(Error::invalid("material_id", "not a material of this round's sample"));
            }
            let m = self.materials().load_material(new.material_id)?;
            if new.page == 0 || new.page > pages_of(&m) {
                return Err(Error::invalid("page", format!("the material holds pages 1–{}", pages_of(&m))));
            }
            let defect = Defect {
                at: PageRef { material_id: new.material_id, page: new.page },
                code: new.code,
                comment,
                by: p.user.username.clone(),
                on: now_ts(),
            };
            let detail = format!("{} material:{} page {}", new.code.label(), new.material_id, new.page);
            round.defects.push(defect);
            let round = round.clone();
            self.save(p, &b, AuditAction::QcDefect, detail)?;
            Ok((round, None))
        })
    }

    /// 验收 or 退回 of the round under review. A return sends each defect back as a rescan task to the operator
    /// who filed the material; an acceptance closes the batch.
    pub fn decide(&self, p: &Principal, id: BatchId, d: NewDecision) -> Result<Batch> {
        self.audited(p, AuditAction::QcDecide, &format!("batch:{id}"), true, || {
            let comment = bounded_comment(d.comment)?;
            let _guard = self.lock();
            let mut b = self.reviewed_batch(p, id)?;
            if b.state != BatchState::Sampling {
                return Err(Error::Conflict(format!("batch {id} is {}: nothing to decide", b.state.label())));
            }
            let Some(round) = b.rounds.last_mut() else {
                return Err(Error::Internal(format!("batch {id} is under review without a round")));
            };
            if d.decision == QcDecision::Return && round.defects.is_empty() {
                return Err(Error::invalid("decision", "a return (退回) names its defects: record them first"));
            }
            round.decision = Some(d.decision);
            round.reviewer = Some(p.user.username.clone());
            round.decided_at = Some(now_ts());
            round.comment = comment;
            let number = round.number;
            let defects = round.defects.clone();
            let detail = match d.decision {
                QcDecision::Accept => {
                    b.state = BatchState::Accepted;
                    b.open = false;
                    format!("验收 round {number}")
                }
                QcDecision::Return => {
                    for defect in defects {
                        let operator = self.materials().load_material(defect.at.material_id)?.created_by;
                        b.rescans.push(Rescan { defect, round: number, operator, done_at: None, done_by: None });
                    }
                    b.state = BatchState::Returned;
                    format!("退回 round {number}: {} page(s)", b.rescans.iter().filter(|r| r.round == number).count())
                }
            };
            self.save(p, &b, AuditAction::QcDecide, detail)?;
            Ok((b, None))
        })
    }

    /// Marks the rescans of these pages of a material done, when its batch is 退回 (called in the commit that
    /// changes the pages, under the write lock).
    pub(crate) fn stage_rescanned(
        &self,
        ws: &mut crate::store::WriteSet,
        p: &Principal,
        m: &Material,
        pages: &[u32],
    ) -> Result<()> {
        let Some(id) = m.batch_id else { return Ok(()) };
        let mut b = self.imports().load_batch(id)?;
        if b.state != BatchState::Returned {
            return Ok(());
        }
        let mut changed = false;
        for r in b.rescans.iter_mut().filter(|r| r.done_at.is_none() && r.defect.at.material_id == m.id) {
            if pages.contains(&r.defect.at.page) {
                r.done_at = Some(now_ts());
                r.done_by = Some(p.user.username.clone());
                changed = true;
            }
        }
        if changed {
            ws.put(Table::Batches, b.id.as_bytes().to_vec(), &b)?;
        }
        Ok(())
    }

    /// The figures of a batch: whole, and per operator.
    pub(crate) fn figures(&self, b: &Batch) -> Result<BatchFigures> {
        let contents = self.batch_contents(b)?;
        let mut total = QcFigures::default();
        let mut operators: BTreeMap<String, QcFigures> =
            b.assignees.iter().map(|a| (a.clone(), QcFigures::default())).collect();
        let mut owner: BTreeMap<MaterialId, String> = BTreeMap::new();
        let mut dossiers = BTreeSet::new();
        for m in &contents {
            dossiers.insert(m.person_id);
            owner.insert(m.id, m.created_by.clone());
            for f in [&mut total, operators.entry(m.created_by.clone()).or_default()] {
                f.materials += 1;
                f.pages += pages_of(m);
            }
        }
        // Defects and samples of every round; a material gone since (destroyed) still counts for its operator.
        let mut defective: Vec<BTreeSet<PageRef>> = Vec::new();
        let mut sampled_by: BTreeMap<String, (u32, u32)> = BTreeMap::new();
        for r in &b.rounds {
            total.sampled += r.sample.len() as u32;
            let bad: BTreeSet<PageRef> = r.defects.iter().map(|d| d.at).collect();
            for at in &r.sample {
                let who = owner.get(&at.material_id).cloned().unwrap_or_default();
                let e = sampled_by.entry(who).or_default();
                e.0 += 1;
                e.1 += u32::from(bad.contains(at));
            }
            for d in &r.defects {
                let who = owner.get(&d.at.material_id).cloned().unwrap_or_default();
                for f in [&mut total, operators.entry(who).or_default()] {
                    f.defects += 1;
                    *f.defects_by_code.entry(d.code.label().to_string()).or_default() += 1;
                }
            }
            defective.push(bad);
        }
        let bad_sampled: u32 = b
            .rounds
            .iter()
            .zip(&defective)
            .map(|(r, bad)| r.sample.iter().filter(|at| bad.contains(at)).count() as u32)
            .sum();
        total.defect_rate = rate(bad_sampled, total.sampled);
        for (who, (sampled, bad)) in sampled_by {
            if let Some(f) = operators.get_mut(&who) {
                f.sampled = sampled;
                f.defect_rate = rate(bad, sampled);
            }
        }
        for r in &b.rescans {
            for f in [&mut total, operators.entry(r.operator.clone()).or_default()] {
                f.rescans += 1;
                f.rescans_open += u32::from(r.done_at.is_none());
            }
        }
        operators.remove("");
        Ok(BatchFigures {
            total,
            dossiers: dossiers.len() as u32,
            rounds: b.rounds.len() as u32,
            review_turnaround_secs: b.rounds.iter().filter_map(|r| r.decided_at.map(|d| d - r.submitted_at)).collect(),
            turnaround_secs: (b.state == BatchState::Accepted)
                .then(|| b.rounds.last().and_then(|r| r.decided_at).map(|d| d - b.created_at))
                .flatten(),
            operators,
        })
    }

    /// The pages sent back: an operator's own, or all of them for HR and administration.
    pub fn rescans(&self, p: &Principal, id: BatchId) -> Result<Vec<Rescan>> {
        self.audited(p, AuditAction::BatchRead, &format!("batch:{id}"), false, || {
            let b = self.imports().assigned_batch(p, id)?;
            let operator = b.assignees.contains(&p.user.username);
            let list = b.rescans.into_iter().filter(|r| !operator || r.operator == p.user.username).collect();
            Ok((list, Some("rescans".into())))
        })
    }
}

fn rate(part: u32, whole: u32) -> f64 {
    if whole == 0 { 0.0 } else { f64::from(part) / f64::from(whole) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_draw_takes_k_distinct_items_and_over_many_draws_every_item_comes_up() {
        let mut counts = [0u32; 6];
        for _ in 0..600 {
            let mut pool: Vec<usize> = (0..6).collect();
            let got = draw(&mut pool, 2).unwrap().to_vec();
            assert_eq!(got.len(), 2);
            assert_ne!(got[0], got[1]);
            for g in got {
                counts[g] += 1;
            }
        }
        // Each item is expected 200 times; a fixed or biased draw would leave some near 0 (or all at 600).
        assert!(counts.iter().all(|c| (120..=280).contains(c)), "{counts:?}");
        let mut pool = vec![1, 2, 3];
        assert_eq!(draw(&mut pool, 5).unwrap().len(), 3, "never more than the pool");
        assert!(draw(&mut Vec::<u8>::new(), 1).unwrap().is_empty());
    }
}
