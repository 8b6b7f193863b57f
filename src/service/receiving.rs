//! 转入 and 审核入库 (docs/DOMAIN.md §2c): a transfer package received from another archive office waits in the
//! receiving queue until an archivist has reviewed it, then is accepted — into a new dossier, or into the dossier
//! of the same ID number held here, adding only the materials whose bytes it does not already hold — or returned
//! (退回) with the reasons.
//!
//! A package reaches the queue only whole: the same checks as the direct import (`Packages::verify`:
//! zip safety, the bag, the signature, a trusted sender, every hash). Its zip is kept sealed in the store
//! (`Table::ReceivingPayloads`, 1 MiB chunks) until it is decided, then removed; the record
//! (`Table::Receiving`) keeps the manifest, the catalogue check and, once decided, the outcome and the receipt.
//!
//! Who: whoever may create dossiers and file materials (capabilities `create_persons` and `upload`: HR in the
//! shipped policy). Never a package for one's own or a recorded relative's dossier (the gate's hard rules: such a
//! package is not received by them, not listed to them, and neither shown nor decided by them, 403 naming the
//! rule). Every step and every refusal is in the trail.

use super::packages::{PackageManifest, Receipt, Verified};
use super::{Error, Principal, Receiving, Result};
use crate::exchange::catalogue::{self, Column};
use crate::model::completeness::{self, Completeness};
use crate::model::policy::{Access, Capability, Target};
use crate::model::{AuditAction, Finding, MaterialId, MaterialVersion, PartialDate, Person, PersonId, ReceivingId};
use crate::store::Table;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// The size of a stored chunk of a queued package.
const CHUNK: usize = 1 << 20;

/// One decision at a time: accepting and returning read the state and change it (the filing they cause takes
/// the archive's write lock itself, so this cannot be that lock).
static DECIDING: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Where a received package stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ReceivingState {
    /// Waiting for its review (待审核).
    Queued,
    /// Accepted (已入库): filed into a new or the existing dossier.
    Accepted,
    /// Returned to the sender (已退回): nothing was filed.
    Returned,
}

impl ReceivingState {
    /// The name as sent.
    pub fn as_str(self) -> &'static str {
        match self {
            ReceivingState::Queued => "queued",
            ReceivingState::Accepted => "accepted",
            ReceivingState::Returned => "returned",
        }
    }

    /// The state of this name.
    pub fn parse(s: &str) -> Option<Self> {
        [ReceivingState::Queued, ReceivingState::Accepted, ReceivingState::Returned]
            .into_iter()
            .find(|x| x.as_str() == s)
    }

    /// Its label (中文).
    pub fn label(self) -> &'static str {
        match self {
            ReceivingState::Queued => "待审核",
            ReceivingState::Accepted => "已入库",
            ReceivingState::Returned => "已退回",
        }
    }
}

/// Into which dossier a package is accepted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AcceptInto {
    /// A new dossier with the person record the package carries (none of this ID number may be held here).
    New,
    /// The dossier of the same ID number held here: only the materials it does not hold are added; its person
    /// record is kept as it is.
    Existing,
}

/// A package received into the queue, as stored.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ReceivedPackage {
    /// Its id here.
    pub id: ReceivingId,
    /// Where it stands.
    pub state: ReceivingState,
    /// SHA-256 of the zip (hex): the receipt names it.
    pub package_sha256: String,
    /// The zip's size.
    pub size: u64,
    /// The file name it came under.
    pub file_name: Option<String>,
    /// The signer's key (hex).
    pub sender_key: String,
    /// Whether the signer is among the trusted senders (else it was accepted explicitly when received).
    pub sender_trusted: bool,
    /// When it was received (Unix seconds) and by whom.
    pub received_at: i64,
    /// The receiving account.
    pub received_by: String,
    /// The package's manifest: the person record, the materials and their versions, the sender.
    pub manifest: PackageManifest,
    /// The content hash (this installation's suite) of each version of each material, as the manifest lists them.
    pub hashes: Vec<Vec<String>>,
    /// The catalogue (`data/catalogue.csv`) checked against the materials: each discrepancy.
    pub catalogue_findings: Vec<Finding>,
    /// Chunks of the zip kept in `Table::ReceivingPayloads` (0 once decided).
    pub chunks: u32,
    /// When it was decided (Unix seconds).
    #[serde(default)]
    pub decided_at: Option<i64>,
    /// Who decided it.
    #[serde(default)]
    pub decided_by: Option<String>,
    /// Why it was returned.
    #[serde(default)]
    pub reasons: Option<String>,
    /// What accepting it filed.
    #[serde(default)]
    pub outcome: Option<Accepted>,
}

impl ReceivedPackage {
    /// The person's name the package carries.
    pub fn person_name(&self) -> &str {
        self.manifest.person.get("name").and_then(|v| v.as_str()).unwrap_or("")
    }

    /// The ID number the package carries (as written, upper case).
    fn id_number(&self) -> Option<String> {
        id_number_of(&self.manifest)
    }

    /// A package of loose materials (零散材料): its person record names the cadre (name, ID number) but is not a
    /// whole record (no department).
    pub fn loose(&self) -> bool {
        self.manifest.person.get("department").and_then(|v| v.as_str()).is_none_or(|d| d.trim().is_empty())
    }
}

fn id_number_of(m: &PackageManifest) -> Option<String> {
    m.person.get("id_number").and_then(|v| v.as_str()).map(|s| s.trim().to_ascii_uppercase()).filter(|s| !s.is_empty())
}

/// What accepting a package did.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Accepted {
    /// New or existing dossier.
    pub into: AcceptInto,
    /// The dossier filed into.
    pub person_id: PersonId,
    /// Whether the materials were received into the 待归档 queue rather than filed.
    pub intake: bool,
    /// The materials added, each with its id here.
    pub merged: Vec<MergedMaterial>,
    /// The materials not added because the dossier holds their bytes already.
    pub skipped: Vec<SkippedMaterial>,
    /// The signed receipt (回执) for the sender.
    pub receipt: Receipt,
}

/// A material of a package added to a dossier.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct MergedMaterial {
    /// Its id at the sender.
    pub sender_material_id: MaterialId,
    /// Its id here.
    pub material_id: MaterialId,
    /// Category code.
    pub category: String,
    /// Title.
    pub title: String,
    /// Versions filed.
    pub versions: usize,
}

/// A material of a package the dossier already held (its current bytes are a version of a material here).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SkippedMaterial {
    /// Its id at the sender.
    pub sender_material_id: MaterialId,
    /// The material here that holds its bytes.
    pub held_by: MaterialId,
    /// Category code.
    pub category: String,
    /// Title.
    pub title: String,
}

/// How a material of a queued package stands against the dossier of the same ID number here.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum HeldState {
    /// Not held here: accepting adds it.
    New,
    /// Its current bytes are held here: accepting into the existing dossier skips it.
    Held,
    /// An earlier version's bytes are held here but not its current ones: accepting adds it (as a material of its
    /// own, with every version), and the review says which material holds the earlier bytes.
    HeldEarlier,
}

/// One material of a package as the review shows it.
#[derive(Clone, Debug, Serialize)]
pub struct MaterialCheck {
    /// Its id at the sender.
    pub sender_material_id: MaterialId,
    /// Category code.
    pub category: String,
    /// Title.
    pub title: String,
    /// 形成时间.
    pub formed_on: Option<PartialDate>,
    /// Pages as catalogued.
    pub pages: Option<u32>,
    /// Versions carried.
    pub versions: usize,
    /// The current version's size, media type and content hash (this installation's suite).
    pub size: u64,
    /// Media type.
    pub mime: String,
    /// Content hash of the current version.
    pub content_hash: String,
    /// Against the dossier of the same ID number here (always `new` when there is none).
    pub held: HeldState,
    /// The material here holding its bytes (current or earlier).
    pub held_by: Option<MaterialId>,
}

/// The dossier of the package's ID number held here.
#[derive(Clone, Debug, Serialize)]
pub struct ExistingDossier {
    /// Its person id.
    pub person_id: PersonId,
    /// The name recorded here.
    pub name: String,
    /// Materials it holds (not destroyed).
    pub materials: usize,
}

/// A field on which the package's person record and the record held here differ (reported, never applied).
#[derive(Clone, Debug, Serialize)]
pub struct FieldDifference {
    /// The field.
    pub field: String,
    /// The value held here.
    pub here: serde_json::Value,
    /// The value the package carries.
    pub package: serde_json::Value,
}

/// A received package as its review shows it.
#[derive(Clone, Debug, Serialize)]
pub struct PackageReview {
    /// The stored record (its manifest, the catalogue check, the outcome once decided).
    pub package: ReceivedPackage,
    /// A package of loose materials (零散材料): no whole person record.
    pub loose: bool,
    /// The dossier of the same ID number here, if any.
    pub existing: Option<ExistingDossier>,
    /// Where the package's person record differs from the one held here.
    pub differences: Vec<FieldDifference>,
    /// Each material against the dossier held here.
    pub materials: Vec<MaterialCheck>,
    /// The completeness (docs/DOMAIN.md §5) of the dossier as accepting the package would leave it.
    pub completeness: Completeness,
}

/// The person fields compared between a package and the record held here.
const COMPARED: &[&str] = &[
    "name",
    "gender",
    "birth_date",
    "ethnicity",
    "native_place",
    "work_start",
    "party_join",
    "party_full",
    "education",
    "department",
    "position",
    "rank",
    "salary_grade",
    "status",
];

/// A 409 naming the state of a package decided already.
fn still_queued(r: &ReceivedPackage) -> Result<()> {
    if r.state == ReceivingState::Queued {
        return Ok(());
    }
    Err(Error::Conflict(format!("received package {} is {} ({}) already", r.id, r.state.as_str(), r.state.label())))
}

fn chunk_key(id: ReceivingId, n: u32) -> Vec<u8> {
    crate::store::key(&[id.as_bytes(), &n.to_be_bytes()])
}

impl Receiving<'_> {
    /// Whoever reviews packages: capabilities create_persons and upload.
    fn check_may_review(&self, p: &Principal) -> Result<()> {
        self.require(p, Capability::CreatePersons)?;
        self.require(p, Capability::Upload)
    }

    /// The dossier of this ID number held here, checked against the caller (the gate's hard rules: own or a
    /// relative's dossier is a 403 naming the rule).
    fn existing(&self, p: &Principal, id_number: Option<&str>) -> Result<Option<Person>> {
        let Some(n) = id_number else { return Ok(None) };
        let key = self.persons().id_number_key(n);
        let Some(id) = self.store().get::<PersonId>(Table::IdNumbers, &key)? else { return Ok(None) };
        let person = self.persons().load_person(id)?;
        self.check_person(p, &person)?;
        Ok(Some(person))
    }

    fn load(&self, id: ReceivingId) -> Result<ReceivedPackage> {
        self.store()
            .get(Table::Receiving, id.as_bytes())?
            .ok_or_else(|| Error::NotFound(format!("received package {id} not found")))
    }

    /// 转入: receives a package into the queue. It is checked whole first (as `POST /packages`); a damaged one is
    /// refused (422), an untrusted one too (403) unless `accept_unknown_sender`; nothing is stored then. Nothing
    /// is filed: the package waits for its review.
    pub fn receive(
        &self,
        p: &Principal,
        bytes: Vec<u8>,
        file_name: Option<String>,
        accept_unknown_sender: bool,
    ) -> Result<PackageReview> {
        let sha = crate::exchange::bagit::sha256_hex(&bytes);
        self.audited(p, AuditAction::ReceivingReceive, &format!("package:{sha}"), true, || {
            self.check_may_review(p)?;
            let zip = bytes.clone();
            let v = self.packages().verify(bytes, accept_unknown_sender)?;
            if v.manifest.person.get("name").and_then(|n| n.as_str()).is_none_or(|n| n.trim().is_empty()) {
                return Err(Error::invalid("package", "the package's person record names nobody (no name)"));
            }
            // A package for one's own or a relative's dossier is not received by oneself.
            self.existing(p, id_number_of(&v.manifest).as_deref())?;
            let suite = self.suite();
            let hashes = v
                .manifest
                .materials
                .iter()
                .map(|m| m.versions.iter().map(|pv| v.bytes_of(&pv.path).map(|b| suite.hash_hex(b))).collect())
                .collect::<Result<Vec<Vec<String>>>>()?;
            let id = ReceivingId::new();
            let record = ReceivedPackage {
                id,
                state: ReceivingState::Queued,
                package_sha256: v.sha256.clone(),
                size: v.size,
                file_name: file_name.filter(|n| !n.trim().is_empty()),
                sender_key: v.bag.signer.clone(),
                sender_trusted: v.trusted,
                received_at: crate::model::now_ts(),
                received_by: p.user.username.clone(),
                catalogue_findings: self.catalogue_findings(&v),
                manifest: v.manifest,
                hashes,
                chunks: zip.chunks(CHUNK).len() as u32,
                decided_at: None,
                decided_by: None,
                reasons: None,
                outcome: None,
            };
            let mut ws = self.store().write_set();
            for (n, chunk) in zip.chunks(CHUNK).enumerate() {
                ws.put_bytes(Table::ReceivingPayloads, chunk_key(id, n as u32), chunk)?;
            }
            ws.put(Table::Receiving, id.as_bytes().to_vec(), &record)?;
            let detail = format!(
                "receiving:{id} sender:{} trusted:{} materials:{}",
                crate::crypto::labelled_key(&record.sender_key),
                record.sender_trusted,
                record.manifest.materials.len()
            );
            self.commit_audited(ws, p, AuditAction::ReceivingReceive, &format!("receiving:{id}"), Some(detail))?;
            Ok((self.review_of(p, record)?, None))
        })
    }

    /// The catalogue (`data/catalogue.csv`) against the materials of the manifest and the files of the bag.
    fn catalogue_findings(&self, v: &Verified) -> Vec<Finding> {
        let mut out = Vec::new();
        let rows = match v.bag.payload.get("catalogue.csv").map(|b| catalogue::parse_csv(b)) {
            None => return vec![Finding::error("data/catalogue.csv", "the package has no catalogue (目录)")],
            Some(Err(e)) => return vec![Finding::error("data/catalogue.csv", format!("unreadable: {e}"))],
            Some(Ok(rows)) => rows,
        };
        let by_file: HashMap<&str, &catalogue::Row> =
            rows.iter().filter_map(|r| r.get(Column::File).map(|f| (f, r))).collect();
        for m in &v.manifest.materials {
            let Some(current) = m.versions.last() else {
                out.push(Finding::error(format!("material {}", m.id), format!("《{}》 carries no file", m.meta.title)));
                continue;
            };
            let Some(row) = by_file.get(current.path.as_str()) else {
                out.push(Finding::error(
                    format!("data/{}", current.path),
                    format!("《{}》 is not in the catalogue (目录缺此材料)", m.meta.title),
                ));
                continue;
            };
            let field = format!("data/catalogue.csv {}", current.path);
            if row.get(Column::Title).is_some_and(|t| t.trim() != m.meta.title.trim()) {
                out.push(Finding::warning(
                    &field,
                    format!(
                        "title 《{}》 in the catalogue, 《{}》 in the manifest",
                        row.get(Column::Title).unwrap_or(""),
                        m.meta.title
                    ),
                ));
            }
            let category = row.get(Column::Category).and_then(|c| self.scheme().resolve(c)).map(|c| c.code.clone());
            if category.as_deref() != Some(m.meta.category.as_str()) {
                out.push(Finding::warning(
                    &field,
                    format!(
                        "category {} in the catalogue, {} in the manifest",
                        row.get(Column::Category).unwrap_or(""),
                        m.meta.category
                    ),
                ));
            }
            let pages = row.get(Column::Pages).map(str::trim).filter(|s| !s.is_empty());
            if pages != m.meta.pages.map(|n| n.to_string()).as_deref() {
                out.push(Finding::warning(
                    &field,
                    format!(
                        "{} pages in the catalogue, {} in the manifest",
                        pages.unwrap_or("no"),
                        m.meta.pages.map(|n| n.to_string()).unwrap_or_else(|| "no".into())
                    ),
                ));
            }
        }
        let listed: std::collections::HashSet<&str> =
            v.manifest.materials.iter().flat_map(|m| m.versions.iter().map(|pv| pv.path.as_str())).collect();
        for r in &rows {
            match r.get(Column::File) {
                Some(f) if !v.bag.payload.contains_key(f) => out.push(Finding::error(
                    format!("data/catalogue.csv {f}"),
                    "the catalogue names a file the package does not hold (有目录无材料)",
                )),
                Some(_) => {}
                None => out.push(Finding::warning("data/catalogue.csv", "a row names no file")),
            }
        }
        for path in v.bag.payload.keys().filter(|k| k.starts_with("materials/")) {
            if !listed.contains(path.as_str()) {
                out.push(Finding::error(
                    format!("data/{path}"),
                    "a file of the package that no material of the manifest names (有材料无目录)",
                ));
            }
        }
        out
    }

    /// The review of a package: the record, and against the dossier of its ID number here (if any, and if the
    /// caller may see it).
    fn review_of(&self, p: &Principal, package: ReceivedPackage) -> Result<PackageReview> {
        let existing = self.existing(p, package.id_number().as_deref())?;
        // Content hash → the material here holding it (every version of every material not destroyed).
        let mut held: HashMap<String, MaterialId> = HashMap::new();
        let mut here = Vec::new();
        if let Some(person) = &existing {
            for id in self.materials().material_ids_of(person.id)? {
                let m = self.materials().load_material(id)?;
                if m.destroyed_by.is_some() {
                    continue;
                }
                for (_, v) in self.store().scan::<MaterialVersion>(Table::MaterialVersions, id.as_bytes())? {
                    held.entry(v.material.content_hash.clone()).or_insert(id);
                }
                here.push(m);
            }
        }
        let materials: Vec<MaterialCheck> = package
            .manifest
            .materials
            .iter()
            .zip(&package.hashes)
            .map(|(m, hashes)| {
                let current = hashes.last().cloned().unwrap_or_default();
                let (state, by) = match held.get(&current) {
                    Some(by) => (HeldState::Held, Some(*by)),
                    None => match hashes.iter().find_map(|h| held.get(h)) {
                        Some(by) => (HeldState::HeldEarlier, Some(*by)),
                        None => (HeldState::New, None),
                    },
                };
                let last = m.versions.last();
                MaterialCheck {
                    sender_material_id: m.id,
                    category: m.meta.category.clone(),
                    title: m.meta.title.clone(),
                    formed_on: m.meta.formed_on,
                    pages: m.meta.pages,
                    versions: m.versions.len(),
                    size: last.map(|v| v.size).unwrap_or(0),
                    mime: last.map(|v| v.mime.clone()).unwrap_or_default(),
                    content_hash: current,
                    held: state,
                    held_by: by,
                }
            })
            .collect();
        let mut differences = Vec::new();
        if let Some(person) = &existing {
            let fields = self.check_person(p, person)?;
            let (shown, hidden) = person.clone().redacted(&fields);
            let here_json = serde_json::to_value(&shown).map_err(|e| Error::Internal(e.to_string()))?;
            for f in COMPARED.iter().filter(|f| !hidden.contains(f)) {
                let Some(theirs) = package.manifest.person.get(*f).filter(|v| !v.is_null()) else { continue };
                let ours = here_json.get(*f).cloned().unwrap_or(serde_json::Value::Null);
                if &ours != theirs {
                    differences.push(FieldDifference { field: (*f).into(), here: ours, package: theirs.clone() });
                }
            }
        }
        let completeness = self.completeness_after(p, &package, existing.as_ref(), &here, &materials);
        Ok(PackageReview {
            loose: package.loose(),
            existing: existing.map(|e| ExistingDossier {
                person_id: e.id,
                name: e.name.clone(),
                materials: here.len(),
            }),
            differences,
            materials,
            completeness,
            package,
        })
    }

    /// The completeness of the dossier as accepting would leave it: the one held here with the materials the
    /// package adds, or the package's own person and materials.
    fn completeness_after(
        &self,
        p: &Principal,
        package: &ReceivedPackage,
        existing: Option<&Person>,
        here: &[crate::model::Material],
        checks: &[MaterialCheck],
    ) -> Completeness {
        let carried: Option<Person> =
            if existing.is_none() { serde_json::from_value(package.manifest.person.clone()).ok() } else { None };
        let person = existing.or(carried.as_ref());
        let record = person
            .map(|x| completeness::Record {
                appointments: Some(x.appointments.as_slice()),
                assessments: Some(x.assessments.as_slice()),
                party_member: x.party_join.is_some(),
            })
            .unwrap_or_default();
        let mut seen: Vec<completeness::Held<'_>> =
            here.iter().filter(|m| !m.awaiting_filing).map(completeness::Held::of).collect();
        for (m, c) in package.manifest.materials.iter().zip(checks) {
            if existing.is_none() || c.held != HeldState::Held {
                seen.push(completeness::Held {
                    category: &m.meta.category,
                    title: &m.meta.title,
                    formed_on: m.meta.formed_on,
                    destroyed: false,
                });
            }
        }
        let policy = self.policy();
        let department = person.map(|x| x.department.as_str());
        let listable = |code: &str| {
            let t = Target { lineage: self.scheme().lineage(code), department, person_id: None, ..Default::default() };
            policy.decide(&p.subject, &t, Access::List).allowed
        };
        completeness::evaluate(completeness::Rules::shipped(), self.scheme(), &record, &seen, &listable)
    }

    /// The receiving queue: the packages the caller may see (not those for their own or a relative's dossier),
    /// newest first, optionally only those in `state`; the total before `limit` and `offset`.
    pub fn queue(
        &self,
        p: &Principal,
        state: Option<ReceivingState>,
        limit: usize,
        offset: usize,
    ) -> Result<(Vec<PackageReview>, usize)> {
        self.audited(p, AuditAction::ReceivingList, "receiving", false, || {
            self.check_may_review(p)?;
            let mut out = Vec::new();
            for (_, r) in self.store().scan::<ReceivedPackage>(Table::Receiving, b"")? {
                if state.is_some_and(|s| s != r.state) {
                    continue;
                }
                match self.review_of(p, r) {
                    Ok(review) => out.push(review),
                    Err(Error::Forbidden(_) | Error::NotFound(_)) => continue,
                    Err(e) => return Err(e),
                }
            }
            out.reverse();
            let total = out.len();
            let page = out.into_iter().skip(offset).take(limit).collect();
            Ok(((page, total), Some(format!("total:{total}"))))
        })
    }

    /// 审核: one received package with its review.
    pub fn review(&self, p: &Principal, id: ReceivingId) -> Result<PackageReview> {
        self.audited(p, AuditAction::ReceivingRead, &format!("receiving:{id}"), false, || {
            self.check_may_review(p)?;
            let r = self.load(id)?;
            Ok((self.review_of(p, r)?, None))
        })
    }

    /// The queued package's zip, read back from its sealed chunks and checked whole again (its sender was decided
    /// when it was received).
    fn verified(&self, r: &ReceivedPackage) -> Result<Verified> {
        let mut zip = Vec::with_capacity(r.size as usize);
        for n in 0..r.chunks {
            let chunk = self
                .store()
                .get_bytes(Table::ReceivingPayloads, &chunk_key(r.id, n))?
                .ok_or_else(|| Error::Corrupt(format!("received package {}: chunk {n} missing", r.id)))?;
            zip.extend_from_slice(&chunk);
        }
        let v = self.packages().verify(zip, true)?;
        if v.sha256 != r.package_sha256 || v.bag.signer != r.sender_key {
            return Err(Error::Corrupt(format!("received package {}: stored zip differs from the one received", r.id)));
        }
        Ok(v)
    }

    /// Records a decision: the record in its new state, the zip's chunks removed, with the audit entry.
    fn decide(&self, p: &Principal, r: &ReceivedPackage, action: AuditAction, detail: String) -> Result<()> {
        let mut ws = self.store().write_set();
        for n in 0..r.chunks {
            ws.delete(Table::ReceivingPayloads, chunk_key(r.id, n));
        }
        let mut stored = r.clone();
        stored.chunks = 0;
        ws.put(Table::Receiving, r.id.as_bytes().to_vec(), &stored)?;
        self.commit_audited(ws, p, action, &format!("receiving:{}", r.id), Some(detail))
    }

    /// 入库: accepts a queued package into a new dossier (409 when one of its ID number is held here) or into the
    /// existing one (409 when none is): only the materials whose current bytes the dossier does not hold are added
    /// (every version), the others are skipped and named; the person record held here is not changed (its
    /// differences are in the review). With `intake` the materials are received into the 待归档 queue instead of
    /// filed. Returns what was merged and skipped and the signed receipt. A decided package is a 409.
    pub fn accept(&self, p: &Principal, id: ReceivingId, into: AcceptInto, intake: bool) -> Result<Accepted> {
        self.audited(p, AuditAction::ReceivingAccept, &format!("receiving:{id}"), true, || {
            self.check_may_review(p)?;
            let _deciding = DECIDING.lock().unwrap_or_else(|e| e.into_inner());
            let mut r = self.load(id)?;
            let existing = self.existing(p, r.id_number().as_deref())?;
            still_queued(&r)?;
            let v = self.verified(&r)?;
            let outcome = match (into, existing) {
                (AcceptInto::New, Some(e)) => {
                    return Err(Error::Conflict(format!(
                        "a dossier with this ID number is held here ({}): accept the package into it \
                         (into=existing)",
                        e.id
                    )));
                }
                (AcceptInto::Existing, None) => {
                    return Err(Error::Conflict(
                        "no dossier with this package's ID number is held here: accept it as a new dossier (into=new)"
                            .into(),
                    ));
                }
                (AcceptInto::New, None) => {
                    if r.loose() {
                        return Err(Error::invalid(
                            "into",
                            "a package of loose materials (零散材料) carries no whole person record: it can join only \
                             the cadre's dossier held here",
                        ));
                    }
                    // Every material's catalogue fields are checked before the dossier is made (as the direct
                    // import, which asks create and upload, files them).
                    for m in &v.manifest.materials {
                        self.filing().checked_meta(m.meta.clone())?;
                    }
                    let (receipt, _) = self.packages().file_new(p, &v, intake)?;
                    let merged = self.merged_of(&r, receipt.person_id)?;
                    Accepted { into, person_id: receipt.person_id, intake, merged, skipped: Vec::new(), receipt }
                }
                (AcceptInto::Existing, Some(person)) => self.merge(p, &r, &v, &person, intake)?,
            };
            let detail = format!(
                "person:{} into:{} merged:{} skipped:{} package sha256:{}",
                outcome.person_id,
                if into == AcceptInto::New { "new" } else { "existing" },
                outcome.merged.len(),
                outcome.skipped.len(),
                r.package_sha256
            );
            r.state = ReceivingState::Accepted;
            r.decided_at = Some(crate::model::now_ts());
            r.decided_by = Some(p.user.username.clone());
            r.outcome = Some(outcome.clone());
            self.decide(p, &r, AuditAction::ReceivingAccept, detail)?;
            Ok((outcome, None))
        })
    }

    /// The materials a new dossier got from the package: its catalogue, matched to the package by content hash.
    fn merged_of(&self, r: &ReceivedPackage, person_id: PersonId) -> Result<Vec<MergedMaterial>> {
        let mut by_hash: HashMap<String, MaterialId> = HashMap::new();
        for id in self.materials().material_ids_of(person_id)? {
            let m = self.materials().load_material(id)?;
            by_hash.entry(m.content_hash.clone()).or_insert(id);
        }
        Ok(r.manifest
            .materials
            .iter()
            .zip(&r.hashes)
            .filter_map(|(m, h)| {
                let here = by_hash.get(h.last()?)?;
                Some(MergedMaterial {
                    sender_material_id: m.id,
                    material_id: *here,
                    category: m.meta.category.clone(),
                    title: m.meta.title.clone(),
                    versions: m.versions.len(),
                })
            })
            .collect())
    }

    /// Adds to `person`'s dossier the materials of the package whose current bytes it does not hold.
    fn merge(
        &self,
        p: &Principal,
        r: &ReceivedPackage,
        v: &Verified,
        person: &Person,
        intake: bool,
    ) -> Result<Accepted> {
        // Every material to add must be one the caller may file into this dossier, checked before any is filed.
        let review = self.review_of(p, r.clone())?;
        for (m, c) in v.manifest.materials.iter().zip(&review.materials) {
            if c.held == HeldState::Held {
                continue;
            }
            let meta = self.filing().checked_meta(m.meta.clone())?;
            if intake {
                self.intake().check_receiving(p, person, meta)?;
            } else {
                self.filing().check_filing(p, person, &meta)?;
            }
        }
        let mut held: HashMap<String, MaterialId> = review
            .materials
            .iter()
            .filter(|c| c.held == HeldState::Held)
            .filter_map(|c| Some((c.content_hash.clone(), c.held_by?)))
            .collect();
        let (mut merged, mut skipped) = (Vec::new(), Vec::new());
        let (mut versions, mut bytes) = (0, 0u64);
        for ((m, c), hashes) in v.manifest.materials.iter().zip(&review.materials).zip(&r.hashes) {
            if let Some(by) = held.get(&c.content_hash) {
                skipped.push(SkippedMaterial {
                    sender_material_id: m.id,
                    held_by: *by,
                    category: m.meta.category.clone(),
                    title: m.meta.title.clone(),
                });
                continue;
            }
            let Some((id, n, b)) = self.packages().file_packaged(p, person, v, m, intake)? else { continue };
            // A package holding the same bytes twice adds them once.
            for h in hashes {
                held.entry(h.clone()).or_insert(id);
            }
            versions += n;
            bytes += b;
            merged.push(MergedMaterial {
                sender_material_id: m.id,
                material_id: id,
                category: m.meta.category.clone(),
                title: m.meta.title.clone(),
                versions: n,
            });
        }
        let receipt = self.packages().receipt(p, v, person.id, merged.len(), versions, bytes)?;
        Ok(Accepted { into: AcceptInto::Existing, person_id: person.id, intake, merged, skipped, receipt })
    }

    /// 退回: returns a queued package with the reasons; nothing is filed and its zip is removed. A decided package
    /// is a 409; reasons are required (422).
    pub fn return_package(&self, p: &Principal, id: ReceivingId, reasons: &str) -> Result<PackageReview> {
        self.audited(p, AuditAction::ReceivingReturn, &format!("receiving:{id}"), true, || {
            self.check_may_review(p)?;
            let reasons = reasons.trim();
            let _deciding = DECIDING.lock().unwrap_or_else(|e| e.into_inner());
            let mut r = self.load(id)?;
            self.existing(p, r.id_number().as_deref())?;
            still_queued(&r)?;
            if reasons.is_empty() {
                return Err(Error::invalid("reasons", "say why the package is returned (退回理由)"));
            }
            if reasons.chars().count() > 2000 {
                return Err(Error::invalid("reasons", "at most 2000 characters"));
            }
            r.state = ReceivingState::Returned;
            r.decided_at = Some(crate::model::now_ts());
            r.decided_by = Some(p.user.username.clone());
            r.reasons = Some(reasons.to_string());
            self.decide(p, &r, AuditAction::ReceivingReturn, format!("package sha256:{}", r.package_sha256))?;
            Ok((self.review_of(p, r)?, None))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::Suite;
    use crate::exchange::bagit::{self, sha256_hex};
    use crate::model::Role;
    use crate::service::packages::{FORMAT, PackagedMaterial, PackagedVersion, Sender};
    use crate::service::testing::{self, account, denial, loader, meta};

    #[test]
    fn states_round_trip_by_name() {
        for s in [ReceivingState::Queued, ReceivingState::Accepted, ReceivingState::Returned] {
            assert_eq!(ReceivingState::parse(s.as_str()), Some(s));
            assert_eq!(serde_json::to_value(s).unwrap(), s.as_str());
        }
        assert_eq!(ReceivingState::parse("filed"), None);
    }

    /// A package of loose materials (零散材料) as another archive sends them: the person named by name and ID
    /// number only, signed with this installation's key. `catalogued` materials are in its catalogue.
    fn loose_package(
        a: &crate::service::Archive,
        id_number: &str,
        items: &[(&str, &str, &[u8])],
        catalogued: usize,
    ) -> Vec<u8> {
        let mut payload = Vec::new();
        let mut materials = Vec::new();
        let mut rows = Vec::new();
        for (i, (category, title, bytes)) in items.iter().enumerate() {
            let path = format!("materials/m{i}/v1.txt");
            let version = PackagedVersion {
                number: 1,
                path: path.clone(),
                size: bytes.len() as u64,
                mime: "text/plain".into(),
                file_name: Some(format!("m{i}.txt")),
                sha256: sha256_hex(bytes),
                blake3: Some(Suite::Default.hash_hex(bytes)),
                sm3: None,
                author: "sender-hr".into(),
                at: "2026-01-01T00:00:00Z".into(),
                reason: None,
            };
            materials.push(PackagedMaterial {
                id: MaterialId::new(),
                meta: meta(category, title, &[]),
                versions: vec![version],
            });
            if i < catalogued {
                rows.push(vec![
                    (Column::IdNumber, id_number.to_string()),
                    (Column::Category, category.to_string()),
                    (Column::Title, title.to_string()),
                    (Column::File, path.clone()),
                ]);
            }
            payload.push((path, bytes.to_vec()));
        }
        let keys = a.store().keys();
        let manifest = PackageManifest {
            format: FORMAT.into(),
            created_at: "2026-01-01T00:00:00Z".into(),
            sender: Sender { key: keys.signing_public_hex(), user: "sender-hr".into() },
            person: serde_json::json!({"name": "赵六", "id_number": id_number}),
            materials,
        };
        payload.push(("manifest.json".into(), serde_json::to_vec(&manifest).unwrap()));
        let columns = [Column::IdNumber, Column::Category, Column::Title, Column::File];
        payload.push(("catalogue.csv".into(), catalogue::write_csv(&rows, &columns).into_bytes()));
        bagit::write_zip("loose", &payload, &[], |tm| (keys.signing_public_hex(), keys.sign_hex(tm))).unwrap()
    }

    #[test]
    fn loose_materials_join_only_the_dossier_held_here_adding_what_it_lacks() {
        let a = testing::archive();
        let hr = account(&a, "hr", &[Role::Hr], "hr");
        let idn = testing::id_number(1980, 5, 17, 11);
        let held = a
            .persons()
            .create(&loader(), serde_json::json!({"name": "赵六", "department": "sales", "id_number": idn}))
            .unwrap()
            .record
            .id;
        let here = testing::file_text(&a, held, meta("9-2", "任免审批表", &[]), "任命赵六为处长");
        let items: [(&str, &str, &[u8]); 2] =
            [("9-2", "任免审批表", "任命赵六为处长".as_bytes()), ("7", "嘉奖令", "嘉奖赵六".as_bytes())];
        let review = a.receiving().receive(&hr, loose_package(&a, &idn, &items, 1), None, false).unwrap();
        assert!(review.loose && review.package.sender_trusted);
        assert_eq!(review.existing.as_ref().map(|e| e.person_id), Some(held));
        let states: Vec<HeldState> = review.materials.iter().map(|m| m.held).collect();
        assert_eq!(states, [HeldState::Held, HeldState::New]);
        // The uncatalogued material is a finding of the catalogue check.
        assert_eq!(review.package.catalogue_findings.len(), 1, "{:?}", review.package.catalogue_findings);
        assert!(
            review.package.catalogue_findings[0].field.contains("materials/m1/"),
            "{:?}",
            review.package.catalogue_findings
        );
        // A loose record is not compared field by field beyond what it carries (its name agrees).
        assert!(review.differences.is_empty(), "{:?}", review.differences);

        let id = review.package.id;
        assert!(matches!(a.receiving().accept(&hr, id, AcceptInto::New, false), Err(Error::Conflict(_))));
        let done = a.receiving().accept(&hr, id, AcceptInto::Existing, false).unwrap();
        assert_eq!((done.merged.len(), done.skipped.len()), (1, 1));
        assert_eq!(done.skipped[0].held_by, here);
        assert_eq!(done.merged[0].title, "嘉奖令");
        assert_eq!(a.persons().catalogue(&hr, held).unwrap().len(), 2);
        assert_eq!(a.persons().load_person(held).unwrap().department, "sales", "the record held here is kept");
        assert!(matches!(a.receiving().accept(&hr, id, AcceptInto::Existing, false), Err(Error::Conflict(_))));
        // Its zip is gone once decided.
        assert!(a.store().scan::<serde_json::Value>(Table::ReceivingPayloads, b"").unwrap().is_empty());

        // With intake, what is added waits in the 待归档 queue instead of being filed.
        let later: [(&str, &str, &[u8]); 1] = [("7", "记功令", "记功赵六".as_bytes())];
        let r = a.receiving().receive(&hr, loose_package(&a, &idn, &later, 1), None, false).unwrap();
        let done = a.receiving().accept(&hr, r.package.id, AcceptInto::Existing, true).unwrap();
        assert!(done.intake && done.merged.len() == 1);
        assert_eq!(a.persons().catalogue(&hr, held).unwrap().len(), 2, "received, not filed");
        let queue = crate::service::intake::IntakeQuery { person_id: Some(held), overdue: None };
        let (waiting, _) = a.intake().queue(&hr, &queue, 10, 0).unwrap();
        assert_eq!(waiting.iter().map(|i| i.material.id).collect::<Vec<_>>(), [done.merged[0].material_id]);

        // Loose materials of a cadre not held here cannot make a dossier (422), and a scanner sees nothing.
        let other = testing::id_number(1981, 1, 2, 13);
        let r = a.receiving().receive(&hr, loose_package(&a, &other, &items, 2), None, false).unwrap();
        assert!(r.package.catalogue_findings.is_empty(), "{:?}", r.package.catalogue_findings);
        assert!(matches!(a.receiving().accept(&hr, r.package.id, AcceptInto::New, false), Err(Error::Invalid { .. })));
        let scanner = account(&a, "scanner", &[Role::Scanner], "it");
        assert!(denial(a.receiving().queue(&scanner, None, 10, 0)).contains("rule "));
    }
}
