//! Filing materials: new materials and new content (bytes in memory, or a streamed upload's encrypted spool),
//! catalogue changes. Every write is one atomic commit of the record, its new immutable version, blob references,
//! the text state of new content (`pending`, or `none`: kept by blob address, never in the version) and the durable
//! index-queue entry, flushed before it is acknowledged; the index catches up from the queue (see
//! [`super::indexer`]). A version, once written, is never rewritten.

use super::{Error, Filing, Principal, Result, check_version, version_key};
use crate::extract;
use crate::model::AuditAction;
use crate::model::policy::{Access, Capability};
use crate::model::{
    Material, MaterialId, MaterialMeta, MaterialVersion, Person, PersonId, TextState, TextStatus, WithText, now_ts,
};
use crate::store::{BlobAddress, PreparedBlob, SpoolWriter, SpooledBlob, Store, Table, WriteSet, key};

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

impl Filing<'_> {
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
        // 四 and 九 are divided: a material goes into one of their sub-categories, never the bare parent
        // (docs/DOMAIN.md §2).
        let children = self.scheme().children(&code);
        if !children.is_empty() {
            let codes: Vec<String> = children.iter().map(|c| format!("{} {}", c.code, c.name)).collect();
            return Err(Error::invalid(
                "category",
                format!(
                    "category {code} takes no materials: file under one of its sub-categories {}（第{}类材料须归入其小类）",
                    codes.join(", "),
                    code
                ),
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

    /// Stages the text state of a material's new content (call under the write lock): `pending` when the type
    /// carries text, else `none` — unless the same content is filed already and its text is stored and `done`,
    /// which stays. Returns the state's status.
    fn stage_new_text(&self, ws: &mut WriteSet, m: &Material) -> Result<TextStatus> {
        let addr: BlobAddress = m.address.parse().map_err(|_| Error::Corrupt(format!("bad address {}", m.address)))?;
        let done = self
            .store()
            .get::<TextState>(Table::TextStatus, addr.as_bytes())?
            .is_some_and(|s| s.status == TextStatus::Done);
        if done && self.store().contains(Table::Texts, addr.as_bytes())? {
            return Ok(TextStatus::Done);
        }
        let status = if self.inner.extractor.takes_text(&m.mime) { TextStatus::Pending } else { TextStatus::None };
        ws.put(Table::TextStatus, addr.as_bytes().to_vec(), &TextState::of(status))?;
        Ok(status)
    }

    /// Stages a material's record and its new version, whose content's text has the state `text`.
    fn stage_material(
        &self,
        ws: &mut WriteSet,
        m: &Material,
        text: TextStatus,
        author: &str,
        reason: Option<String>,
    ) -> Result<()> {
        ws.put(Table::Materials, m.id.as_bytes().to_vec(), m)?;
        let v = MaterialVersion { number: m.version, material: m.clone(), author: author.into(), at: now_ts(), reason };
        ws.put(Table::MaterialVersions, version_key(m.id.as_bytes(), m.version), &v)?;
        // A scan waiting for its text goes on the OCR lane's queue too, in the same commit: the text lane indexes
        // it by its catalogue fields at once, the OCR lane reads it apart.
        if text == TextStatus::Pending && self.inner.extractor.is_scan(&m.mime) {
            self.indexing().stage_ocr(ws, m)?;
        }
        self.stage_index(ws, m.id)
    }

    /// Commits a new version of a material (with whatever `ws` already holds) and its audit entry; returns the
    /// index ticket to wait for.
    fn commit_material_version(
        &self,
        mut ws: WriteSet,
        p: &Principal,
        action: AuditAction,
        m: &Material,
        text: TextStatus,
        reason: Option<String>,
    ) -> Result<u64> {
        self.stage_material(&mut ws, m, text, &p.user.username, reason)?;
        self.commit_audited(ws, p, action, &format!("material:{}", m.id), Some(format!("version {}", m.version)))?;
        Ok(self.indexing().indexed_enqueued())
    }

    /// Files a new material into a person's dossier. With `wait`, waits (bounded) until it is searchable.
    pub fn add(
        &self,
        p: &Principal,
        person_id: PersonId,
        meta: MaterialMeta,
        bytes: &[u8],
        file_name: Option<String>,
        wait: bool,
    ) -> Result<WithText<Material>> {
        self.add_content(p, person_id, meta, Content::Bytes(bytes), file_name, wait)
    }

    /// Files a new material from a streamed upload ([`Filing::spool`]), as [`Filing::add`].
    pub fn add_spooled(
        &self,
        p: &Principal,
        person_id: PersonId,
        meta: MaterialMeta,
        content: &SpooledBlob,
        file_name: Option<String>,
        wait: bool,
    ) -> Result<WithText<Material>> {
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
    ) -> Result<WithText<Material>> {
        self.audited(p, AuditAction::MaterialCreate, &format!("person:{person_id}"), true, || {
            let m = self.add_material_inner(p, person_id, meta, content, file_name, wait)?;
            Ok((self.materials().with_text(m)?, None))
        })
    }

    /// A spool for a streamed upload: feed it the bytes as they arrive (on a blocking thread), then file the
    /// finished [`SpooledBlob`] with [`Filing::add_spooled`] or [`Filing::replace_spooled`]. See
    /// [`crate::store::spool`].
    pub fn spool(&self) -> Result<SpoolWriter> {
        Ok(self.store().spool(&self.inner.spool.path)?)
    }

    /// Where streamed uploads are spooled (tests check it is left empty).
    pub fn spool_dir(&self) -> &std::path::Path {
        &self.inner.spool.path
    }

    /// Whether the caller may file materials into this dossier at all (checked before a large body is read).
    pub fn check_may_file(&self, p: &Principal, person_id: PersonId) -> Result<()> {
        self.require(p, Capability::Upload)?;
        self.check_person(p, &self.persons().load_person(person_id)?).map(|_| ())
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
        formed_after_birth(person, meta)
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
        let person = self.persons().load_person(person_id)?;
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
            mime,
            file_name: file_name.map(|f| super::materials::sanitize_file_name(&f)),
            legacy_text_status: None,
            legacy_text_error: None,
            legacy_detected_pages: None,
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
            let text = self.stage_new_text(&mut ws, &material)?;
            // The next 序号 of its (sub)category, whatever its date (docs/DOMAIN.md §2).
            self.persons().stage_number(&mut ws, &material, &p.user.username)?;
            self.stage_material(&mut ws, &material, text, &p.user.username, None)?;
            ws.put_raw(Table::Dossiers, key(&[person_id.as_bytes(), material.id.as_bytes()]), Vec::new());
            self.commit_audited(
                ws,
                p,
                AuditAction::MaterialCreate,
                &format!("material:{}", material.id),
                Some(match batch_id {
                    Some(b) => format!("person:{person_id} batch:{b}"),
                    None => format!("person:{person_id}"),
                }),
            )?;
            self.indexing().indexed_enqueued()
        };
        if wait {
            self.indexing().wait_text(ticket, material.id);
        }
        self.materials().load_material(material.id)
    }

    /// Replaces a material's bytes (a new version), under optimistic concurrency.
    pub fn replace(
        &self,
        p: &Principal,
        id: MaterialId,
        expected: Option<u32>,
        bytes: &[u8],
        file_name: Option<String>,
        reason: Option<String>,
    ) -> Result<WithText<Material>> {
        self.replace_with(p, id, expected, Content::Bytes(bytes), file_name, reason)
    }

    /// Replaces a material's bytes with a streamed upload ([`Filing::spool`]), as [`Filing::replace`].
    pub fn replace_spooled(
        &self,
        p: &Principal,
        id: MaterialId,
        expected: Option<u32>,
        content: &SpooledBlob,
        file_name: Option<String>,
        reason: Option<String>,
    ) -> Result<WithText<Material>> {
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
    ) -> Result<WithText<Material>> {
        self.audited(p, AuditAction::MaterialReplace, &format!("material:{id}"), true, || {
            let m = self.replace_content_inner(p, id, expected, content, file_name, reason)?;
            Ok((self.materials().with_text(m)?, None))
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
        let current = self.materials().load_material(id)?;
        self.check_material(p, &self.persons().load_person(current.person_id)?, &current, Access::Edit)?;
        check_version(expected, current.version)?;
        self.check_file(content.size())?;
        let mime = content.sniff(file_name.as_deref())?;
        let blob = content.prepare(self.store())?;
        let ticket = {
            let _guard = self.lock();
            let mut m = self.materials().load_material(id)?;
            check_version(expected, m.version)?;
            m.version += 1;
            m.content_hash = blob.plain_hash();
            m.address = blob.address().to_string();
            m.size = content.size();
            m.mime = mime;
            // New content: its text's state is its own (below), not an older store's state of the old content.
            m.legacy_text_status = None;
            m.legacy_text_error = None;
            m.legacy_detected_pages = None;
            if let Some(f) = file_name {
                m.file_name = Some(super::materials::sanitize_file_name(&f));
            }
            m.updated_at = now_ts();
            m.updated_by = p.user.username.clone();
            let mut ws = self.store().write_set();
            blob.stage(self.store(), &mut ws)?;
            let text = self.stage_new_text(&mut ws, &m)?;
            self.commit_material_version(ws, p, AuditAction::MaterialReplace, &m, text, reason)?
        };
        self.indexing().wait_text(ticket, id);
        self.materials().load_material(id)
    }

    /// Changes a material's catalogue fields (a new version), under optimistic concurrency.
    pub fn patch(
        &self,
        p: &Principal,
        id: MaterialId,
        expected: Option<u32>,
        patch: serde_json::Value,
        reason: Option<String>,
    ) -> Result<WithText<Material>> {
        self.audited(p, AuditAction::MaterialUpdate, &format!("material:{id}"), true, || {
            let m = self.patch_material_inner(p, id, expected, patch, reason)?;
            Ok((self.materials().with_text(m)?, None))
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
        let current = self.materials().load_material(id)?;
        let person = self.persons().load_person(current.person_id)?;
        self.check_material(p, &person, &current, Access::Edit)?;
        if !patch.is_object() {
            return Err(Error::invalid("patch", "a JSON object (merge patch) is expected"));
        }
        let ticket = {
            let _guard = self.lock();
            let mut m = self.materials().load_material(id)?;
            check_version(expected, m.version)?;
            let mut doc = serde_json::to_value(&m.meta).map_err(|e| Error::Internal(e.to_string()))?;
            crate::model::request::merge_patch(&mut doc, &patch);
            let meta: MaterialMeta = serde_json::from_value(doc).map_err(|e| Error::invalid("meta", e.to_string()))?;
            m.meta = self.checked_meta(meta)?;
            formed_after_birth(&person, &m.meta)?;
            // The changed fields must stay within what the caller may edit (legal may not re-tag a contract away).
            self.check_material(p, &person, &m, Access::Edit)?;
            m.version += 1;
            m.updated_at = now_ts();
            m.updated_by = p.user.username.clone();
            let mut ws = self.store().write_set();
            // Moved to another (sub)category: the next 序号 there; a dossier whose numbers are not stored yet
            // keeps the ones it had before this change (a new date reorders nothing) (docs/DOMAIN.md §2).
            self.persons().stage_number(&mut ws, &m, &p.user.username)?;
            // The content is the same: so is its text's state (and an older store's state stays in the record).
            let text = self.materials().text_state(&m)?.status;
            self.commit_material_version(ws, p, AuditAction::MaterialUpdate, &m, text, reason)?
        };
        self.indexing().wait_indexed(ticket);
        self.materials().load_material(id)
    }
}

/// A material about a person is formed in their lifetime: one dated wholly before their birth is a wrong date
/// (a partial date counts if any day it can mean is on or after the birth) (docs/DOMAIN.md §5).
fn formed_after_birth(person: &Person, meta: &MaterialMeta) -> Result<()> {
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
