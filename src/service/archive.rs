//! Persons, materials, the catalogue, versions and content. Every write is one atomic commit of the record,
//! its new immutable version, blob references and the durable index-queue entry, flushed before it is
//! acknowledged; the index catches up from the queue (see [`super::indexer`]).

use super::{Archive, Error, Principal, Result};
use crate::extract;
use crate::model::policy::{Access, Capability};
use crate::model::{
    Finding, Material, MaterialId, MaterialMeta, MaterialVersion, Person, PersonId, Severity, TextStatus, now_ts,
};
use crate::store::{BlobChunks, PreparedBlob, SpoolWriter, SpooledBlob, Store, Table, WriteSet, key};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

/// One immutable version of a person record.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PersonVersion {
    /// Version number, from 1.
    pub number: u32,
    /// The record as it was.
    pub person: Person,
    /// Who made it.
    pub author: String,
    /// When (Unix seconds).
    pub at: i64,
    /// Why.
    pub reason: Option<String>,
}

/// A person record with the findings that travelled with its last write (warnings).
#[derive(Clone, Debug, Serialize)]
pub struct Saved<T> {
    /// The record.
    pub record: T,
    /// Warnings.
    pub findings: Vec<Finding>,
}

/// A person record as the caller may see it, with the names of the parts hidden from them.
#[derive(Clone, Debug, Serialize)]
pub struct PersonView {
    /// The record, redacted.
    #[serde(flatten)]
    pub person: Person,
    /// Parts hidden from the caller (`id_number` masked, `salary`, `contracts`, …).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub hidden: Vec<&'static str>,
}

/// A page of persons.
#[derive(Clone, Debug, Default)]
pub struct PersonQuery {
    /// Name (or former name) contains.
    pub name: Option<String>,
    /// Department code.
    pub department: Option<String>,
    /// Page size.
    pub limit: usize,
    /// Page start.
    pub offset: usize,
}

/// Spooled content up to this size is read back whole to sniff its type (exactly as a body in memory would
/// be); a larger one is judged by its first 64 KiB and last 4 KiB (a DOCX that large is typed `application/zip`
/// and gets no text).
const SNIFF_WHOLE: u64 = 16 * 1024 * 1024;

/// The content of a material being filed: bytes in memory (small bodies, imports, packages), or a streamed
/// upload spooled to disk ([`crate::store::spool`]).
#[derive(Clone, Copy)]
enum Content<'a> {
    Bytes(&'a [u8]),
    Spooled(&'a SpooledBlob),
}

/// A content hashed (and, in memory and new, sealed) outside the write lock.
enum Prepared<'a> {
    Memory(PreparedBlob, &'a [u8]),
    Spooled(&'a SpooledBlob),
}

impl<'a> Content<'a> {
    fn size(&self) -> u64 {
        match self {
            Content::Bytes(b) => b.len() as u64,
            Content::Spooled(s) => s.size(),
        }
    }

    fn sniff(&self, file_name: Option<&str>) -> Result<String> {
        Ok(match self {
            Content::Bytes(b) => extract::sniff_mime(b, file_name),
            Content::Spooled(s) if s.size() <= SNIFF_WHOLE => extract::sniff_mime(&s.read_all()?, file_name),
            Content::Spooled(s) => extract::sniff_mime(&s.sniff_window(), file_name),
        })
    }

    fn prepare(self, store: &Store) -> Result<Prepared<'a>> {
        Ok(match self {
            Content::Bytes(b) => Prepared::Memory(store.prepare_blob(b)?, b),
            Content::Spooled(s) => Prepared::Spooled(s),
        })
    }
}

impl Prepared<'_> {
    fn plain_hash(&self) -> String {
        match self {
            Prepared::Memory(p, _) => p.plain_hash.clone(),
            Prepared::Spooled(s) => s.plain_hash().to_string(),
        }
    }

    fn address(&self) -> crate::store::BlobAddress {
        match self {
            Prepared::Memory(p, _) => p.address,
            Prepared::Spooled(s) => s.address(),
        }
    }

    /// Stages the reference (and the chunks, if new). Under the write lock.
    fn stage(self, store: &Store, ws: &mut WriteSet) -> Result<()> {
        match self {
            Prepared::Memory(p, bytes) => store.stage_blob_ref(ws, p, bytes)?,
            Prepared::Spooled(s) => store.stage_spooled_ref(ws, s)?,
        }
        Ok(())
    }
}

/// Downloads larger than this are streamed chunk by chunk ([`Archive::material_download`]).
pub const STREAM_FROM: u64 = 16 * 1024 * 1024;

/// A material's bytes on their way out.
pub enum Download {
    /// Read whole and verified.
    Whole(Zeroizing<Vec<u8>>),
    /// One chunk at a time.
    Chunks(Box<BlobChunks>),
}

/// A catalogue entry: the material and its 序号 within its (sub)category.
#[derive(Clone, Debug)]
pub struct CatalogueEntry {
    /// 序号, from 1, restarting in each category.
    pub seq: u32,
    /// The material.
    pub material: Material,
}

fn version_key(id: &[u8; 16], n: u32) -> Vec<u8> {
    key(&[id, &n.to_be_bytes()])
}

fn check_version(expected: Option<u32>, current: u32) -> Result<()> {
    match expected {
        None => Err(Error::PreconditionRequired),
        Some(e) if e != current => Err(Error::PreconditionFailed { expected: e, current }),
        Some(_) => Ok(()),
    }
}

fn blocking(findings: &[Finding]) -> Option<Error> {
    let errors: Vec<&Finding> = findings.iter().filter(|f| f.severity == Severity::Error).collect();
    (!errors.is_empty()).then(|| Error::Invalid {
        message: errors.iter().map(|f| format!("{}: {}", f.field, f.message)).collect::<Vec<_>>().join("; "),
        findings: findings.to_vec(),
    })
}

impl Archive {
    // ---- persons -------------------------------------------------------------------------------------------

    pub(crate) fn load_person(&self, id: PersonId) -> Result<Person> {
        self.store()
            .get(Table::Persons, id.as_bytes())?
            .ok_or_else(|| Error::NotFound(format!("person {id} not found")))
    }

    pub(crate) fn id_number_key(&self, id_number: &str) -> Vec<u8> {
        self.store().keys().token_digest(&format!("id_number:{id_number}")).to_vec()
    }

    /// Fills derived fields and validates; errors become a 422.
    pub(crate) fn complete_person(&self, person: &mut Person) -> Result<Vec<Finding>> {
        let mut findings = person.validate_and_complete();
        // A department may be given by its name (财务部) as well as its code (finance).
        if let Some(d) = self.config().departments.iter().find(|d| d.name == person.department) {
            person.department = d.code.clone();
        }
        match self.department_name(&person.department) {
            Some(name) => person.department_name = Some(name),
            None => findings.push(Finding::error(
                "department",
                format!("unknown department {:?}; known: {}", person.department, self.department_codes()),
            )),
        }
        if let Some(e) = blocking(&findings) {
            return Err(e);
        }
        Ok(findings)
    }

    fn department_codes(&self) -> String {
        self.config().departments.iter().map(|d| d.code.as_str()).collect::<Vec<_>>().join(", ")
    }

    pub(crate) fn stage_person(
        &self,
        ws: &mut WriteSet,
        person: &Person,
        author: &str,
        reason: Option<String>,
    ) -> Result<()> {
        ws.put(Table::Persons, person.id.as_bytes().to_vec(), person)?;
        let v = PersonVersion {
            number: person.version,
            person: person.clone(),
            author: author.into(),
            at: now_ts(),
            reason,
        };
        ws.put(Table::PersonVersions, version_key(person.id.as_bytes(), person.version), &v)?;
        Ok(())
    }

    /// Creates a person record (version 1).
    pub fn create_person(&self, p: &Principal, input: serde_json::Value) -> Result<Saved<Person>> {
        self.audited(p, "person.create", "person:new", true, || Ok((self.create_person_inner(p, input)?, None)))
    }

    fn create_person_inner(&self, p: &Principal, input: serde_json::Value) -> Result<Saved<Person>> {
        self.require(p, Capability::CreatePersons)?;
        let mut person = Person::from_input(input).map_err(|e| Error::invalid("person", e))?;
        person.id = PersonId::new();
        person.version = 1;
        let findings = self.complete_person(&mut person)?;
        let _guard = self.lock();
        let mut ws = self.store().write_set();
        if let Some(idn) = &person.id_number {
            let k = self.id_number_key(idn);
            if self.store().contains(Table::IdNumbers, &k)? {
                return Err(Error::Conflict("a person with this ID number already exists".into()));
            }
            ws.put(Table::IdNumbers, k, &person.id)?;
        }
        self.stage_person(&mut ws, &person, &p.user.username, None)?;
        self.commit_audited(ws, p, "person.create", &format!("person:{}", person.id), None)?;
        Ok(Saved { record: person, findings })
    }

    /// Reads a person record.
    pub fn get_person(&self, p: &Principal, id: PersonId) -> Result<PersonView> {
        self.audited(p, "person.read", &format!("person:{id}"), false, || {
            let person = self.load_person(id)?;
            let fields = self.check_person(p, &person)?;
            let (person, hidden) = person.redacted(&fields);
            Ok((PersonView { person, hidden }, None))
        })
    }

    /// Lists persons, by name and department.
    pub fn list_persons(&self, p: &Principal, q: &PersonQuery) -> Result<(Vec<PersonView>, usize)> {
        self.audited(p, "person.list", "persons", false, || {
            let detail = format!("name={:?} department={:?}", q.name, q.department);
            Ok((self.list_persons_inner(p, q)?, Some(detail)))
        })
    }

    fn list_persons_inner(&self, p: &Principal, q: &PersonQuery) -> Result<(Vec<PersonView>, usize)> {
        let policy = self.policy();
        let needle = q.name.as_deref().map(crate::index::analyzer::fold_str);
        let mut all: Vec<Person> = self
            .store()
            .scan::<Person>(Table::Persons, b"")?
            .into_iter()
            .map(|(_, person)| person)
            .filter(|person| policy.decide(&p.subject, &super::access::person_target(person), Access::Person).allowed)
            .filter(|person| q.department.as_ref().is_none_or(|d| &person.department == d))
            .filter(|person| {
                needle.as_ref().is_none_or(|n| {
                    person.all_names().iter().any(|name| crate::index::analyzer::fold_str(name).contains(n.as_str()))
                })
            })
            .collect();
        all.sort_by_key(|p| p.id);
        let total = all.len();
        let page = all
            .into_iter()
            .skip(q.offset)
            .take(q.limit.clamp(1, 500))
            .map(|person| {
                let fields = policy.fields_for(&p.subject, &super::access::person_target(&person));
                let (person, hidden) = person.redacted(&fields);
                PersonView { person, hidden }
            })
            .collect();
        Ok((page, total))
    }

    /// Applies a JSON merge patch to a person record, under optimistic concurrency. Only the routine fields
    /// of the flow definitions' fast path (phone, address, training, former names by default) change directly;
    /// every other field changes through a request with its reviews and approvals, and the refusal names the
    /// kind of request to use.
    pub fn patch_person(
        &self,
        p: &Principal,
        id: PersonId,
        expected: Option<u32>,
        patch: serde_json::Value,
        reason: Option<String>,
    ) -> Result<Saved<Person>> {
        self.patch_person_as(p, id, expected, patch, reason, true)
    }

    /// Applies a merge patch, audited; `routine_only` refuses fields outside the fast path. Without it only for
    /// filing steps that record what is already decided (a received transfer package's contract links).
    pub(crate) fn patch_person_as(
        &self,
        p: &Principal,
        id: PersonId,
        expected: Option<u32>,
        patch: serde_json::Value,
        reason: Option<String>,
        routine_only: bool,
    ) -> Result<Saved<Person>> {
        self.audited(p, "person.update", &format!("person:{id}"), true, || {
            if routine_only {
                self.require_routine(&patch)?;
            }
            Ok((self.patch_person_inner(p, id, expected, patch, reason)?, None))
        })
    }

    /// Refuses a direct change of a field outside the fast path, naming the request kind that changes it.
    fn require_routine(&self, patch: &serde_json::Value) -> Result<()> {
        let Some(obj) = patch.as_object() else { return Ok(()) };
        let defs = self.definitions()?;
        let routine = defs.flow("update").map(|f| f.fast_path.clone()).unwrap_or_default();
        let mut outside: Vec<&str> =
            obj.keys().map(String::as_str).filter(|k| !routine.iter().any(|r| r == k)).collect();
        if outside.is_empty() {
            return Ok(());
        }
        outside.sort();
        let kind = |f: &str| match f {
            "position" | "rank" | "salary_grade" => "promotion",
            "department" => "transfer",
            "status" => "resignation",
            _ => "update",
        };
        let kinds: std::collections::BTreeSet<&str> = outside.iter().map(|f| kind(f)).collect();
        Err(Error::Conflict(format!(
            "rule workflow.request-required: {} may change only through a request with its reviews and approvals \
             (POST /api/v1/requests with kind {}); a direct change may touch only the routine fields {}",
            outside.join(", "),
            kinds.into_iter().collect::<Vec<_>>().join(" or "),
            routine.join(", ")
        )))
    }

    fn patch_person_inner(
        &self,
        p: &Principal,
        id: PersonId,
        expected: Option<u32>,
        patch: serde_json::Value,
        reason: Option<String>,
    ) -> Result<Saved<Person>> {
        self.require(p, Capability::EditPersons)?;
        self.check_person(p, &self.load_person(id)?)?;
        if !patch.is_object() {
            return Err(Error::invalid("patch", "a JSON object (merge patch) is expected"));
        }
        let _guard = self.lock();
        let current = self.load_person(id)?;
        check_version(expected, current.version)?;
        let mut doc = serde_json::to_value(&current).map_err(|e| Error::Internal(e.to_string()))?;
        merge_patch(&mut doc, &patch);
        let mut next = Person::from_input(doc).map_err(|e| Error::invalid("person", e))?;
        next.id = id;
        next.version = current.version + 1;
        let findings = self.complete_person(&mut next)?;
        let mut ws = self.store().write_set();
        if next.id_number != current.id_number {
            if let Some(idn) = &next.id_number {
                let k = self.id_number_key(idn);
                if self.store().contains(Table::IdNumbers, &k)? {
                    return Err(Error::Conflict("a person with this ID number already exists".into()));
                }
                ws.put(Table::IdNumbers, k, &id)?;
            }
            if let Some(old) = &current.id_number {
                ws.delete(Table::IdNumbers, self.id_number_key(old));
            }
        }
        self.stage_person(&mut ws, &next, &p.user.username, reason)?;
        // Names and department are indexed with every material: reindex the dossier.
        let materials = self.material_ids_of(id)?;
        for m in &materials {
            self.stage_index(&mut ws, *m)?;
        }
        self.commit_audited(
            ws,
            p,
            "person.update",
            &format!("person:{id}"),
            Some(format!("version {}", next.version)),
        )?;
        if !materials.is_empty() {
            self.indexed_enqueued();
        }
        Ok(Saved { record: next, findings })
    }

    /// The versions of a person record, oldest first.
    pub fn person_versions(&self, p: &Principal, id: PersonId) -> Result<Vec<PersonVersion>> {
        self.audited(p, "person.versions", &format!("person:{id}"), false, || {
            let fields = self.check_person(p, &self.load_person(id)?)?;
            let versions = self
                .store()
                .scan::<PersonVersion>(Table::PersonVersions, id.as_bytes())?
                .into_iter()
                .map(|(_, mut v)| {
                    v.person = v.person.redacted(&fields).0;
                    v
                })
                .collect();
            Ok((versions, None))
        })
    }

    // ---- materials -----------------------------------------------------------------------------------------

    pub(crate) fn load_material(&self, id: MaterialId) -> Result<Material> {
        self.store()
            .get(Table::Materials, id.as_bytes())?
            .ok_or_else(|| Error::NotFound(format!("material {id} not found")))
    }

    pub(crate) fn material_ids_of(&self, person: PersonId) -> Result<Vec<MaterialId>> {
        Ok(self
            .store()
            .keys_under(Table::Dossiers, person.as_bytes())?
            .iter()
            .filter_map(|k| MaterialId::from_slice(&k[16..]))
            .collect())
    }

    pub(crate) fn checked_meta(&self, mut meta: MaterialMeta) -> Result<MaterialMeta> {
        let code = self
            .scheme()
            .resolve(&meta.category)
            .ok_or_else(|| {
                Error::invalid(
                    "category",
                    format!(
                        "unknown category {:?}: use a code of the 2018 scheme such as \"1\", \"4-1\", \"9-2\"",
                        meta.category
                    ),
                )
            })?
            .code
            .clone();
        // 四 and 九 are divided: a material goes into one of their sub-categories, never the bare parent.
        let children = self.scheme().children(&code);
        if !children.is_empty() {
            let codes: Vec<String> = children.iter().map(|c| format!("{} {}", c.code, c.name)).collect();
            return Err(Error::invalid(
                "category",
                format!("category {code} is divided: file the material under one of {}", codes.join(", ")),
            ));
        }
        meta.category = code;
        meta.normalise().map_err(|e| Error::invalid("meta", e))?;
        if let Some(d) = meta.formed_on
            && d.first_day() > crate::model::today()
        {
            return Err(Error::invalid("formed_on", "材料形成时间不能晚于今天"));
        }
        Ok(meta)
    }

    fn check_file(&self, size: u64) -> Result<()> {
        if size == 0 {
            return Err(Error::invalid("file", "the file is empty (0 bytes); nothing to archive"));
        }
        if size > self.config().max_file_size {
            return Err(Error::TooLarge(format!(
                "the file exceeds the limit of {} bytes",
                self.config().max_file_size
            )));
        }
        Ok(())
    }

    /// Queues a material for (re)indexing on the text lane in the same commit as the change that calls for it
    /// (call under the write lock).
    pub(crate) fn stage_index(&self, ws: &mut WriteSet, id: MaterialId) -> Result<()> {
        let entry = super::indexer::TextEntry::Entry { ticket: self.inner.indexer.next_ticket(), at: now_ts() };
        ws.put(Table::IndexQueue, id.as_bytes().to_vec(), &entry)?;
        Ok(())
    }

    fn stage_material(&self, ws: &mut WriteSet, m: &Material, author: &str, reason: Option<String>) -> Result<()> {
        ws.put(Table::Materials, m.id.as_bytes().to_vec(), m)?;
        let v = MaterialVersion { number: m.version, material: m.clone(), author: author.into(), at: now_ts(), reason };
        ws.put(Table::MaterialVersions, version_key(m.id.as_bytes(), m.version), &v)?;
        // A scan waiting for its text goes on the OCR lane's queue too, in the same commit: the text lane indexes
        // it by its catalogue fields at once, the OCR lane reads it apart.
        if m.text_status == TextStatus::Pending && self.inner.extractor.is_scan(&m.mime) {
            self.stage_ocr(ws, m)?;
        }
        self.stage_index(ws, m.id)
    }

    /// Commits a new version of a material (with whatever `ws` already holds) and its audit entry; returns the
    /// index ticket to wait for.
    fn commit_material_version(
        &self,
        mut ws: WriteSet,
        p: &Principal,
        action: &str,
        m: &Material,
        reason: Option<String>,
    ) -> Result<u64> {
        self.stage_material(&mut ws, m, &p.user.username, reason)?;
        self.commit_audited(ws, p, action, &format!("material:{}", m.id), Some(format!("version {}", m.version)))?;
        Ok(self.indexed_enqueued())
    }

    /// Files a new material into a person's dossier. With `wait`, waits (bounded) until it is searchable.
    pub fn add_material(
        &self,
        p: &Principal,
        person_id: PersonId,
        meta: MaterialMeta,
        bytes: &[u8],
        file_name: Option<String>,
        wait: bool,
    ) -> Result<Material> {
        self.add_content(p, person_id, meta, Content::Bytes(bytes), file_name, wait)
    }

    /// Files a new material from a streamed upload ([`Archive::spool`]), as [`Archive::add_material`].
    pub fn add_spooled(
        &self,
        p: &Principal,
        person_id: PersonId,
        meta: MaterialMeta,
        content: &SpooledBlob,
        file_name: Option<String>,
        wait: bool,
    ) -> Result<Material> {
        self.add_content(p, person_id, meta, Content::Spooled(content), file_name, wait)
    }

    fn add_content(
        &self,
        p: &Principal,
        person_id: PersonId,
        meta: MaterialMeta,
        content: Content<'_>,
        file_name: Option<String>,
        wait: bool,
    ) -> Result<Material> {
        self.audited(p, "material.create", &format!("person:{person_id}"), true, || {
            Ok((self.add_material_inner(p, person_id, meta, content, file_name, wait)?, None))
        })
    }

    /// A spool for a streamed upload: feed it the bytes as they arrive (on a blocking thread), then file the
    /// finished [`SpooledBlob`] with [`Archive::add_spooled`] or [`Archive::replace_spooled`]. See
    /// [`crate::store::spool`].
    pub fn spool(&self) -> Result<SpoolWriter> {
        Ok(self.store().spool(&self.inner.spool_dir)?)
    }

    /// Where streamed uploads are spooled (tests check it is left empty).
    pub fn spool_dir(&self) -> &std::path::Path {
        &self.inner.spool_dir
    }

    /// Whether the caller may file materials into this dossier at all (checked before a large body is read).
    pub fn check_may_file(&self, p: &Principal, person_id: PersonId) -> Result<()> {
        self.require(p, Capability::Upload)?;
        self.check_person(p, &self.load_person(person_id)?).map(|_| ())
    }

    /// Whether the caller may file a material with these catalogue fields into this dossier.
    pub(crate) fn check_filing(&self, p: &Principal, person: &Person, meta: &MaterialMeta) -> Result<()> {
        self.require(p, Capability::Upload)?;
        let t = crate::model::policy::Target {
            lineage: self.scheme().lineage(&meta.category),
            tags: meta.tags.clone(),
            ..super::access::person_target(person)
        };
        let d = self.policy().decide(&p.subject, &t, Access::Edit);
        if !d.allowed {
            return Err(super::access::forbidden(&d));
        }
        // A material about a person is formed in their lifetime: one dated wholly before their birth is a
        // wrong date (a partial date counts if any day it can mean is on or after the birth).
        if let (Some(formed), Some(born)) = (meta.formed_on, person.birth_date)
            && formed.last_day() < born.first_day()
        {
            return Err(Error::invalid(
                "formed_on",
                format!(
                    "材料形成时间 {formed} 早于本人出生日期 {born}（the material is dated before its subject's birth）"
                ),
            ));
        }
        Ok(())
    }

    fn add_material_inner(
        &self,
        p: &Principal,
        person_id: PersonId,
        meta: MaterialMeta,
        content: Content<'_>,
        file_name: Option<String>,
        wait: bool,
    ) -> Result<Material> {
        let person = self.load_person(person_id)?;
        let meta = self.checked_meta(meta)?;
        self.check_filing(p, &person, &meta)?;
        self.file_content(p, &person, meta, content, file_name, wait, None)
    }

    /// Files a checked material: the bytes, the record, version 1, the dossier entry, the index queue entry
    /// and the audit entry in one commit. The caller has checked the principal may do it.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn file_material(
        &self,
        p: &Principal,
        person: &Person,
        meta: MaterialMeta,
        bytes: &[u8],
        file_name: Option<String>,
        wait: bool,
        batch_id: Option<crate::model::BatchId>,
    ) -> Result<Material> {
        self.file_content(p, person, meta, Content::Bytes(bytes), file_name, wait, batch_id)
    }

    #[allow(clippy::too_many_arguments)]
    fn file_content(
        &self,
        p: &Principal,
        person: &Person,
        meta: MaterialMeta,
        content: Content<'_>,
        file_name: Option<String>,
        wait: bool,
        batch_id: Option<crate::model::BatchId>,
    ) -> Result<Material> {
        let person_id = person.id;
        self.check_file(content.size())?;
        let mime = content.sniff(file_name.as_deref())?;
        let blob = content.prepare(self.store())?;
        let now = now_ts();
        let material = Material {
            id: MaterialId::new(),
            person_id,
            meta,
            version: 1,
            content_hash: blob.plain_hash(),
            address: blob.address().to_string(),
            size: content.size(),
            text_status: if self.inner.extractor.takes_text(&mime) { TextStatus::Pending } else { TextStatus::None },
            mime,
            file_name: file_name.map(|f| sanitize_file_name(&f)),
            text_error: None,
            detected_pages: None,
            created_at: now,
            created_by: p.user.username.clone(),
            updated_at: now,
            updated_by: p.user.username.clone(),
            batch_id,
            destroyed_by: None,
        };
        let ticket = {
            let _guard = self.lock();
            let mut ws = self.store().write_set();
            blob.stage(self.store(), &mut ws)?;
            self.stage_material(&mut ws, &material, &p.user.username, None)?;
            ws.put_raw(Table::Dossiers, key(&[person_id.as_bytes(), material.id.as_bytes()]), Vec::new());
            self.commit_audited(
                ws,
                p,
                "material.create",
                &format!("material:{}", material.id),
                Some(match batch_id {
                    Some(b) => format!("person:{person_id} batch:{b}"),
                    None => format!("person:{person_id}"),
                }),
            )?;
            self.indexed_enqueued()
        };
        if wait {
            self.wait_text(ticket, material.id);
        }
        self.load_material(material.id)
    }

    /// Replaces a material's bytes (a new version), under optimistic concurrency.
    pub fn replace_content(
        &self,
        p: &Principal,
        id: MaterialId,
        expected: Option<u32>,
        bytes: &[u8],
        file_name: Option<String>,
        reason: Option<String>,
    ) -> Result<Material> {
        self.replace_with(p, id, expected, Content::Bytes(bytes), file_name, reason)
    }

    /// Replaces a material's bytes with a streamed upload ([`Archive::spool`]), as [`Archive::replace_content`].
    pub fn replace_spooled(
        &self,
        p: &Principal,
        id: MaterialId,
        expected: Option<u32>,
        content: &SpooledBlob,
        file_name: Option<String>,
        reason: Option<String>,
    ) -> Result<Material> {
        self.replace_with(p, id, expected, Content::Spooled(content), file_name, reason)
    }

    fn replace_with(
        &self,
        p: &Principal,
        id: MaterialId,
        expected: Option<u32>,
        content: Content<'_>,
        file_name: Option<String>,
        reason: Option<String>,
    ) -> Result<Material> {
        self.audited(p, "material.replace", &format!("material:{id}"), true, || {
            Ok((self.replace_content_inner(p, id, expected, content, file_name, reason)?, None))
        })
    }

    fn replace_content_inner(
        &self,
        p: &Principal,
        id: MaterialId,
        expected: Option<u32>,
        content: Content<'_>,
        file_name: Option<String>,
        reason: Option<String>,
    ) -> Result<Material> {
        let current = self.load_material(id)?;
        self.check_material(p, &self.load_person(current.person_id)?, &current, Access::Edit)?;
        check_version(expected, current.version)?;
        self.check_file(content.size())?;
        let mime = content.sniff(file_name.as_deref())?;
        let blob = content.prepare(self.store())?;
        let ticket = {
            let _guard = self.lock();
            let mut m = self.load_material(id)?;
            check_version(expected, m.version)?;
            m.version += 1;
            m.content_hash = blob.plain_hash();
            m.address = blob.address().to_string();
            m.size = content.size();
            m.text_status = if self.inner.extractor.takes_text(&mime) { TextStatus::Pending } else { TextStatus::None };
            m.mime = mime;
            m.text_error = None;
            m.detected_pages = None;
            if let Some(f) = file_name {
                m.file_name = Some(sanitize_file_name(&f));
            }
            m.updated_at = now_ts();
            m.updated_by = p.user.username.clone();
            let mut ws = self.store().write_set();
            blob.stage(self.store(), &mut ws)?;
            self.commit_material_version(ws, p, "material.replace", &m, reason)?
        };
        self.wait_text(ticket, id);
        self.load_material(id)
    }

    /// Changes a material's catalogue fields (a new version), under optimistic concurrency.
    pub fn patch_material(
        &self,
        p: &Principal,
        id: MaterialId,
        expected: Option<u32>,
        patch: serde_json::Value,
        reason: Option<String>,
    ) -> Result<Material> {
        self.audited(p, "material.update", &format!("material:{id}"), true, || {
            Ok((self.patch_material_inner(p, id, expected, patch, reason)?, None))
        })
    }

    fn patch_material_inner(
        &self,
        p: &Principal,
        id: MaterialId,
        expected: Option<u32>,
        patch: serde_json::Value,
        reason: Option<String>,
    ) -> Result<Material> {
        let current = self.load_material(id)?;
        let person = self.load_person(current.person_id)?;
        self.check_material(p, &person, &current, Access::Edit)?;
        if !patch.is_object() {
            return Err(Error::invalid("patch", "a JSON object (merge patch) is expected"));
        }
        let ticket = {
            let _guard = self.lock();
            let mut m = self.load_material(id)?;
            check_version(expected, m.version)?;
            let mut doc = serde_json::to_value(&m.meta).map_err(|e| Error::Internal(e.to_string()))?;
            merge_patch(&mut doc, &patch);
            let meta: MaterialMeta = serde_json::from_value(doc).map_err(|e| Error::invalid("meta", e.to_string()))?;
            m.meta = self.checked_meta(meta)?;
            // The changed fields must stay within what the caller may edit (legal may not re-tag a contract away).
            self.check_material(p, &person, &m, Access::Edit)?;
            m.version += 1;
            m.updated_at = now_ts();
            m.updated_by = p.user.username.clone();
            self.commit_material_version(self.store().write_set(), p, "material.update", &m, reason)?
        };
        self.wait_indexed(ticket);
        self.load_material(id)
    }

    /// Loads a material and its person and checks an access; returns them with the grant used, if any.
    fn gated(&self, p: &Principal, id: MaterialId, access: Access) -> Result<(Material, Person, Option<String>)> {
        let m = self.load_material(id)?;
        let person = self.load_person(m.person_id)?;
        if let Some(r) = m.destroyed_by
            && access != Access::List
        {
            // Only a caller who may know the material learns that it was destroyed; others get the plain 404.
            self.check_material(p, &person, &m, Access::List)?;
            return Err(Error::NotFound(format!("material {id} was destroyed by request {r}")));
        }
        let grant = self.check_material(p, &person, &m, access)?;
        Ok((m, person, grant.map(|g| format!("grant:{g}"))))
    }

    /// Checks the caller may download a material: may know it at all (else 404), may read it (else 403), and
    /// holds the download right — unless the read stands on a consultation grant, which needs none.
    pub(crate) fn gated_download(&self, p: &Principal, id: MaterialId) -> Result<(Material, Option<String>)> {
        let (m, _, grant) = self.gated(p, id, Access::Read)?;
        if grant.is_none() {
            self.require(p, Capability::Download)?;
        }
        Ok((m, grant))
    }

    /// A material's metadata.
    pub fn get_material(&self, p: &Principal, id: MaterialId) -> Result<Material> {
        self.audited(p, "material.read_meta", &format!("material:{id}"), false, || {
            let (m, _, grant) = self.gated(p, id, Access::List)?;
            Ok((m, grant))
        })
    }

    /// A material's current bytes, decrypted and verified.
    pub fn material_content(&self, p: &Principal, id: MaterialId) -> Result<(Material, Zeroizing<Vec<u8>>)> {
        self.audited(p, "material.download", &format!("material:{id}"), false, || {
            let (m, grant) = self.gated_download(p, id)?;
            let bytes = self.read_address(&m.address)?;
            Ok(((m, bytes), grant))
        })
    }

    /// A material's current bytes for a download: whole and verified when at most [`STREAM_FROM`] bytes (a
    /// damaged file is an error before anything is sent), else one chunk at a time ([`BlobChunks`]: each chunk
    /// authenticated as it is read, the whole checked after the last; a damaged one ends the stream early).
    pub fn material_download(&self, p: &Principal, id: MaterialId) -> Result<(Material, Download)> {
        self.audited(p, "material.download", &format!("material:{id}"), false, || {
            let (m, grant) = self.gated_download(p, id)?;
            let addr: crate::store::BlobAddress =
                m.address.parse().map_err(|_| Error::Corrupt(format!("bad address {}", m.address)))?;
            let download = if m.size <= STREAM_FROM {
                Download::Whole(self.store().read_blob(&addr)?)
            } else {
                Download::Chunks(Box::new(self.store().blob_chunks(&addr)?))
            };
            Ok(((m, download), grant))
        })
    }

    pub(crate) fn read_address(&self, address: &str) -> Result<Zeroizing<Vec<u8>>> {
        let addr = address.parse().map_err(|_| Error::Corrupt(format!("bad address {address}")))?;
        Ok(self.store().read_blob(&addr)?)
    }

    /// Benchmarks only: the bytes of a material with no access check and no audit entry, to measure what the
    /// gate and the audit trail cost. Never called by the product.
    #[doc(hidden)]
    pub fn bench_read_bypassing_gate_and_audit(&self, id: MaterialId) -> Result<Zeroizing<Vec<u8>>> {
        self.read_address(&self.load_material(id)?.address)
    }

    /// Benchmarks only: a material's bytes through the access gate but without the audit entry, to measure
    /// what the audit trail alone costs. Never called by the product.
    #[doc(hidden)]
    pub fn bench_read_gated_without_audit(&self, p: &Principal, id: MaterialId) -> Result<Zeroizing<Vec<u8>>> {
        let (m, _) = self.gated_download(p, id)?;
        self.read_address(&m.address)
    }

    /// A material's versions, oldest first.
    pub fn material_versions(&self, p: &Principal, id: MaterialId) -> Result<Vec<MaterialVersion>> {
        self.audited(p, "material.versions", &format!("material:{id}"), false, || {
            let (_, _, grant) = self.gated(p, id, Access::List)?;
            Ok((
                self.store().scan(Table::MaterialVersions, id.as_bytes())?.into_iter().map(|(_, v)| v).collect(),
                grant,
            ))
        })
    }

    /// The bytes of one version of a material.
    pub fn version_content(
        &self,
        p: &Principal,
        id: MaterialId,
        n: u32,
    ) -> Result<(MaterialVersion, Zeroizing<Vec<u8>>)> {
        self.audited(p, "material.download", &format!("material:{id}/v{n}"), false, || {
            let (_, grant) = self.gated_download(p, id)?;
            let v: MaterialVersion = self
                .store()
                .get(Table::MaterialVersions, &version_key(id.as_bytes(), n))?
                .ok_or_else(|| Error::NotFound(format!("material {id} has no version {n}")))?;
            let bytes = self.read_address(&v.material.address)?;
            Ok(((v, bytes), grant))
        })
    }

    /// A dossier's catalogue as the caller may see it, ordered by category, then formed date (unknown month as
    /// January, undated last), with 序号 restarting in each (sub)category.
    pub fn catalogue(&self, p: &Principal, person_id: PersonId) -> Result<Vec<CatalogueEntry>> {
        self.audited(p, "person.catalogue", &format!("person:{person_id}"), false, || {
            let person = self.load_person(person_id)?;
            self.check_person(p, &person)?;
            let mut materials = Vec::new();
            for id in self.material_ids_of(person_id)? {
                let m = self.load_material(id)?;
                if m.destroyed_by.is_none() {
                    materials.push(m);
                }
            }
            // 序号 counts the whole catalogue, so a reader who sees part of it sees the true numbers.
            let mut visible = Vec::new();
            for entry in self.order_catalogue(materials) {
                match self.check_material(p, &person, &entry.material, Access::List) {
                    Ok(_) => visible.push(entry),
                    Err(Error::NotFound(_)) => {}
                    Err(e) => return Err(e),
                }
            }
            Ok((visible, None))
        })
    }

    fn order_catalogue(&self, mut materials: Vec<Material>) -> Vec<CatalogueEntry> {
        let scheme = self.scheme();
        materials.sort_by_key(|m| {
            (
                scheme.order(&m.meta.category),
                m.meta.formed_on.is_none(),
                m.meta.formed_on.map(|d| d.sort_key()),
                m.created_at,
                m.id,
            )
        });
        let mut out: Vec<CatalogueEntry> = Vec::with_capacity(materials.len());
        for m in materials {
            let seq = match out.last() {
                Some(prev) if prev.material.meta.category == m.meta.category => prev.seq + 1,
                _ => 1,
            };
            out.push(CatalogueEntry { seq, material: m });
        }
        out
    }
}

pub use crate::model::request::merge_patch;

/// Keeps a file name's last path component, without control characters, at most 255 bytes.
pub fn sanitize_file_name(name: &str) -> String {
    let last = name.rsplit(['/', '\\']).next().unwrap_or(name);
    let mut out: String = last.chars().filter(|c| !c.is_control()).collect();
    while out.len() > 255 {
        out.pop();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn merge_patch_rfc7396() {
        let mut t = json!({"a": 1, "b": {"c": 2, "d": 3}, "e": [1]});
        merge_patch(&mut t, &json!({"a": null, "b": {"c": 9}, "e": [2, 3]}));
        assert_eq!(t, json!({"b": {"c": 9, "d": 3}, "e": [2, 3]}));
    }

    #[test]
    fn file_names_are_sanitised() {
        assert_eq!(sanitize_file_name("../../etc/passwd"), "passwd");
        assert_eq!(sanitize_file_name("C:\\x\\合同.pdf"), "合同.pdf");
        assert_eq!(sanitize_file_name("a\u{0}b"), "ab");
    }
}
