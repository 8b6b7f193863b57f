//! Filing materials: new materials and new content (bytes in memory, or a streamed upload's encrypted spool),
//! catalogue changes. Every write is one atomic commit of the record, its new immutable version, blob references,
//! the text state of new content (`pending`, or `none`: kept by blob address, never in the version) and the durable
//! index-queue entry, flushed before it is acknowledged; the index catches up from the queue (see
//! [`super::indexer`]). A version, once written, is never rewritten.

use super::{Error, Filing, Principal, Result, check_version, version_key};
use crate::extract;
use crate::model::AuditAction;
use crate::model::page::PageImage;
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

/// A page image of a scanned material being stored with a version: its record, and where its original is.
pub(crate) struct StagedPage {
    /// The page's record ([`PageImage::address`] set when the original is kept apart).
    pub image: PageImage,
    /// Its original.
    pub original: Original,
}

/// Where a page's original is kept.
pub(crate) enum Original {
    /// In the material's PDF (a JPEG, embedded byte for byte).
    InPdf,
    /// A blob of its own, new: sealed and written with the version.
    New(PreparedBlob, zeroize::Zeroizing<Vec<u8>>),
    /// A blob of its own the store holds already (a page kept from the version before).
    Held(BlobAddress),
}

/// Stages one more reference to each page original kept apart (a reference per version that holds it, as for a
/// material's content). Under the write lock.
fn stage_pages(store: &Store, ws: &mut WriteSet, pages: Vec<StagedPage>) -> Result<()> {
    for page in pages {
        match page.original {
            Original::InPdf => {}
            Original::New(blob, bytes) => store.stage_blob_ref(ws, blob, &bytes)?,
            Original::Held(address) => store.stage_held_blob_ref(ws, &address)?,
        }
    }
    Ok(())
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
        for (field, date) in [("received_on", meta.received_on), ("copy_made_on", meta.copy_made_on)] {
            if date.is_some_and(|d| d.first_day() > crate::model::today()) {
                return Err(Error::invalid(field, "接收时间、复制时间不能晚于今天（a date after today）"));
            }
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
    pub(crate) fn commit_material_version(
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
            secrecy: meta.secrecy.unwrap_or(0),
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
        self.file_content(p, &person, meta, content, file_name, wait, None, false, Vec::new())
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
        self.file_content(p, person, meta, Content::Bytes(bytes), file_name, wait, batch_id, false, Vec::new())
    }

    /// Files a checked scanned material: its content is `pdf` (assembled from the page images), its pages
    /// `pages`, stored with it in the same commit ([`super::pages`]). The caller has checked the principal may.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn file_scanned(
        &self,
        p: &Principal,
        person: &Person,
        meta: MaterialMeta,
        pdf: &[u8],
        pages: Vec<StagedPage>,
        wait: bool,
        batch_id: Option<crate::model::BatchId>,
    ) -> Result<Material> {
        self.file_content(p, person, meta, Content::Bytes(pdf), None, wait, batch_id, false, pages)
    }

    /// Receives a checked material (收材登记) into the 待归档 queue: stored like [`Filing::file_material`], but
    /// without a 序号 until 归档 (see [`super::intake`]). The caller has checked the principal may receive it.
    pub(crate) fn receive_material(
        &self,
        p: &Principal,
        person: &Person,
        meta: MaterialMeta,
        bytes: &[u8],
        file_name: Option<String>,
        wait: bool,
    ) -> Result<Material> {
        self.file_content(p, person, meta, Content::Bytes(bytes), file_name, wait, None, true, Vec::new())
    }

    /// Receives a streamed upload into the 待归档 queue, as [`Filing::receive_material`].
    pub(crate) fn receive_spooled_material(
        &self,
        p: &Principal,
        person: &Person,
        meta: MaterialMeta,
        content: &SpooledBlob,
        file_name: Option<String>,
        wait: bool,
    ) -> Result<Material> {
        self.file_content(p, person, meta, Content::Spooled(content), file_name, wait, None, true, Vec::new())
    }

    /// Stores a checked material: filed into the catalogue (the next 序号 of its (sub)category), or, with
    /// `received`, into the 待归档 queue without a number (docs/DOMAIN.md §2b).
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
        received: bool,
        pages: Vec<StagedPage>,
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
            awaiting_filing: received,
            page_images: pages.iter().map(|p| p.image.clone()).collect(),
        };
        let ticket = {
            let _guard = self.lock();
            let mut ws = self.store().write_set();
            blob.stage(self.store(), &mut ws)?;
            stage_pages(self.store(), &mut ws, pages)?;
            let text = self.stage_new_text(&mut ws, &material)?;
            if received {
                // Received, not filed: it waits in the 待归档 queue, without a 序号 (docs/DOMAIN.md §2b).
                ws.put(Table::Intake, material.id.as_bytes().to_vec(), &person_id)?;
            } else {
                // The next 序号 of its (sub)category, whatever its date (docs/DOMAIN.md §2).
                self.persons().stage_number(&mut ws, &material, &p.user.username)?;
            }
            self.stage_material(&mut ws, &material, text, &p.user.username, None)?;
            ws.put_raw(Table::Dossiers, key(&[person_id.as_bytes(), material.id.as_bytes()]), Vec::new());
            self.commit_audited(
                ws,
                p,
                if received { AuditAction::IntakeReceive } else { AuditAction::MaterialCreate },
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
        self.new_content_version(p, id, expected, content, file_name, reason, None, |_, _| Ok(()))
    }

    /// Commits a new version of a scanned material whose pages changed: its content `pdf` assembled from
    /// `pages`; `also` stages what else the change does, in the same commit. The caller has checked the
    /// principal may.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new_pages_version(
        &self,
        p: &Principal,
        id: MaterialId,
        expected: Option<u32>,
        pdf: &[u8],
        pages: Vec<StagedPage>,
        reason: Option<String>,
        also: impl FnOnce(&mut WriteSet, &Material) -> Result<()>,
    ) -> Result<Material> {
        self.new_content_version(p, id, expected, Content::Bytes(pdf), None, reason, Some(pages), also)
    }

    /// A new version with new content (and, for a scanned material, its new pages), under optimistic
    /// concurrency. The caller has checked the principal may.
    #[allow(clippy::too_many_arguments)]
    fn new_content_version(
        &self,
        p: &Principal,
        id: MaterialId,
        expected: Option<u32>,
        content: Content<'_>,
        file_name: Option<String>,
        reason: Option<String>,
        pages: Option<Vec<StagedPage>>,
        also: impl FnOnce(&mut WriteSet, &Material) -> Result<()>,
    ) -> Result<Material> {
        let current = self.materials().load_material(id)?;
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
            if let Some(pages) = pages {
                m.page_images = pages.iter().map(|p| p.image.clone()).collect();
                stage_pages(self.store(), &mut ws, pages)?;
            }
            also(&mut ws, &m)?;
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
            // The caller knows this material (it passed the check above), so a change out of their reach is a 403
            // naming why, not the 404 a material they may not see answers.
            match self.check_material(p, &person, &m, Access::Edit) {
                Err(Error::NotFound(_)) => {
                    return Err(Error::Forbidden(
                        "rule edit.scope: the changed category or tags would take this material out of what you may \
                         edit"
                            .into(),
                    ));
                }
                other => other.map(|_| ())?,
            }
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
pub(super) fn formed_after_birth(person: &Person, meta: &MaterialMeta) -> Result<()> {
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

#[cfg(test)]
mod tests {
    use crate::model::Role;
    use crate::service::Error;
    use crate::service::testing::{self, account, denial, file_text, is_not_found, meta};

    #[test]
    fn a_filed_text_material_reads_back_through_the_gate_unchanged() {
        let a = testing::archive();
        let hr = account(&a, "hr", &[Role::Hr], "hr");
        let person = testing::person(&a, "张三", "sales");
        let text = "干部履历表\n姓名：张三\n2001年参加工作。\n";
        let m = a
            .filing()
            .add(&hr, person, meta("1", "干部履历表", &[]), text.as_bytes(), Some("resume.txt".into()), false)
            .unwrap();
        assert_eq!((m.version, m.person_id, m.created_by.as_str()), (1, person, "hr"));
        assert!(m.mime.starts_with("text/plain"), "{}", m.mime);
        let (record, bytes) = a.materials().content(&hr, m.id).unwrap();
        assert_eq!(record.id, m.id);
        assert_eq!(&bytes[..], text.as_bytes());
        assert_eq!(a.materials().get(&hr, m.id).unwrap().meta.title, "干部履历表");
        let catalogue = a.persons().catalogue(&hr, person).unwrap();
        assert_eq!(catalogue.iter().map(|e| e.material.id).collect::<Vec<_>>(), [m.id]);
    }

    #[test]
    fn replacing_the_content_makes_a_version_and_keeps_the_old_bytes() {
        let a = testing::archive();
        let hr = account(&a, "hr", &[Role::Hr], "hr");
        let person = testing::person(&a, "李四", "ops");
        let id = file_text(&a, person, meta("3", "年度考核登记表", &[]), "2023年度 称职");
        let missing = a.filing().replace(&hr, id, None, "x".as_bytes(), None, None);
        assert!(matches!(missing, Err(Error::PreconditionRequired)), "{missing:?}");
        let m = a.filing().replace(&hr, id, Some(1), "2023年度 优秀".as_bytes(), None, Some("更正".into())).unwrap();
        assert_eq!(m.version, 2);
        let stale = a.filing().replace(&hr, id, Some(1), "又一版".as_bytes(), None, None);
        assert!(matches!(stale, Err(Error::PreconditionFailed { expected: 1, current: 2 })), "{stale:?}");

        assert_eq!(&a.materials().content(&hr, id).unwrap().1[..], "2023年度 优秀".as_bytes());
        let versions = a.materials().versions(&hr, id).unwrap();
        assert_eq!(versions.iter().map(|v| v.number).collect::<Vec<_>>(), [1, 2]);
        assert_eq!(versions[1].reason.as_deref(), Some("更正"));
        assert_eq!(&a.materials().version_content(&hr, id, 1).unwrap().1[..], "2023年度 称职".as_bytes());
        assert_eq!(&a.materials().version_content(&hr, id, 2).unwrap().1[..], "2023年度 优秀".as_bytes());
        assert!(is_not_found(&a.materials().version_content(&hr, id, 3)));
    }

    #[test]
    fn a_catalogue_change_makes_a_version_with_the_same_content() {
        let a = testing::archive();
        let hr = account(&a, "hr", &[Role::Hr], "hr");
        let person = testing::person(&a, "王五", "ops");
        let id = file_text(&a, person, meta("3", "考核表", &[]), "称职");
        let m = a.filing().patch(&hr, id, Some(1), serde_json::json!({"title": "年度考核表"}), None).unwrap();
        assert_eq!((m.version, m.meta.title.as_str()), (2, "年度考核表"));
        let versions = a.materials().versions(&hr, id).unwrap();
        assert_eq!(versions[0].material.meta.title, "考核表");
        assert_eq!(versions[0].material.content_hash, versions[1].material.content_hash);
    }

    #[test]
    fn the_three_administrators_neither_read_nor_file() {
        let a = testing::archive();
        let person = testing::person(&a, "赵六", "sales");
        let id = file_text(&a, person, meta("1", "履历表", &[]), "履历");
        for (name, role) in [("it", Role::It), ("secadmin", Role::Secadmin), ("auditor", Role::Auditor)] {
            let admin = account(&a, name, &[role], "it");
            // The gate does not even admit the material exists to them.
            assert!(is_not_found(&a.materials().content(&admin, id)), "{name} read the content");
            assert!(is_not_found(&a.materials().get(&admin, id)), "{name} saw the record");
            assert!(is_not_found(&a.materials().versions(&admin, id)), "{name} saw the versions");
            assert!(is_not_found(&a.materials().version_content(&admin, id, 1)), "{name} read version 1");
            assert!(a.persons().catalogue(&admin, person).is_err(), "{name} saw the catalogue");
            assert!(denial(a.persons().get(&admin, person)).contains("rule "), "{name} saw the person");
            let filed = a.filing().add(&admin, person, meta("1", "伪造", &[]), b"x", None, false);
            assert!(denial(filed).contains("rule "), "{name} filed a material");
            let replaced = a.filing().replace(&admin, id, Some(1), b"x", None, None);
            assert!(matches!(replaced, Err(Error::NotFound(_) | Error::Forbidden(_))), "{name} replaced it");
        }
        assert_eq!(a.materials().versions(&testing::loader(), id).unwrap().len(), 1, "nothing was replaced");
    }

    #[test]
    fn a_material_the_caller_may_not_list_is_404_and_one_it_may_list_but_not_read_is_403() {
        let a = testing::archive();
        let person = testing::person(&a, "孙七", "sales");
        let resume = file_text(&a, person, meta("1", "履历表", &[]), "履历");
        let assessment = file_text(&a, person, meta("3", "考核表", &[]), "考核");
        // The head of sales lists and reads assessments (3) only.
        let head = account(&a, "head-sales", &[Role::Head], "sales");
        assert!(is_not_found(&a.materials().content(&head, resume)));
        assert!(is_not_found(&a.materials().get(&head, resume)));
        assert!(a.materials().get(&head, assessment).is_ok());
        let listed: Vec<_> = a.persons().catalogue(&head, person).unwrap().into_iter().map(|e| e.material.id).collect();
        assert_eq!(listed, [assessment]);
        // Administration (行政部) lists everything and reads nothing: the record yes, the content 403.
        let admin = account(&a, "admin", &[Role::Admin], "admin");
        assert!(a.materials().get(&admin, resume).is_ok());
        assert!(denial(a.materials().content(&admin, resume)).contains("rule "));
    }

    #[test]
    fn finance_reads_salary_materials_only_and_files_none() {
        let a = testing::archive();
        let person = testing::person(&a, "周八", "research");
        let wage = file_text(&a, person, meta("9-1", "工资审批表", &[]), "薪级25");
        let tagged = file_text(&a, person, meta("10", "薪酬说明", &["salary"]), "绩效工资");
        let resume = file_text(&a, person, meta("1", "履历表", &[]), "履历");
        let contract = file_text(&a, person, meta("10", "劳动合同", &["contract"]), "合同");
        let finance = account(&a, "finance", &[Role::Finance], "finance");
        assert_eq!(&a.materials().content(&finance, wage).unwrap().1[..], "薪级25".as_bytes());
        assert_eq!(&a.materials().content(&finance, tagged).unwrap().1[..], "绩效工资".as_bytes());
        assert!(is_not_found(&a.materials().content(&finance, resume)));
        assert!(is_not_found(&a.materials().content(&finance, contract)));
        let mut listed: Vec<_> =
            a.persons().catalogue(&finance, person).unwrap().into_iter().map(|e| e.material.id).collect();
        listed.sort();
        let mut expected = vec![wage, tagged];
        expected.sort();
        assert_eq!(listed, expected);
        let filed = a.filing().add(&finance, person, meta("9-1", "工资表", &[]), b"x", None, false);
        assert!(denial(filed).contains("rule "));
    }

    #[test]
    fn nobody_files_into_or_reads_their_own_dossier() {
        let a = testing::archive();
        let hr = account(&a, "hr", &[Role::Hr], "hr");
        let own = hr.user.person_id.unwrap();
        let filed = a.filing().add(&hr, own, meta("7", "嘉奖令", &[]), "嘉奖".as_bytes(), None, false);
        assert!(denial(filed).contains("hard.own-dossier"));
        let id = file_text(&a, own, meta("7", "嘉奖令", &[]), "嘉奖");
        assert!(denial(a.materials().content(&hr, id)).contains("hard.own-dossier"));
    }

    #[test]
    fn a_material_dated_before_its_subjects_birth_is_refused() {
        let a = testing::archive();
        let hr = account(&a, "hr", &[Role::Hr], "hr");
        let person = a
            .persons()
            .create(
                &testing::loader(),
                serde_json::json!({"name": "吴九", "department": "ops", "id_number": testing::id_number(1990, 1, 1, 11)}),
            )
            .unwrap()
            .record
            .id;
        let mut m = meta("1", "履历表", &[]);
        m.formed_on = Some("1985-06".parse().unwrap());
        let r = a.filing().add(&hr, person, m, b"x", None, false);
        assert!(matches!(&r, Err(Error::Invalid { findings, .. }) if findings[0].field == "formed_on"), "{r:?}");
        assert!(a.persons().catalogue(&hr, person).unwrap().is_empty());
    }

    #[test]
    fn legal_edits_contract_materials_but_cannot_tag_one_out_of_its_reach() {
        let a = testing::archive();
        let legal = account(&a, "legal", &[Role::Legal], "legal");
        let person = testing::person(&a, "郑十", "sales");
        let contract = a
            .filing()
            .add(&legal, person, meta("10", "劳动合同", &["contract"]), "合同".as_bytes(), None, false)
            .unwrap()
            .id;
        let renamed = a.filing().patch(&legal, contract, Some(1), serde_json::json!({"title": "劳动合同书"}), None);
        assert_eq!(renamed.unwrap().version, 2);
        let untagged = a.filing().patch(&legal, contract, Some(2), serde_json::json!({"tags": []}), None);
        // Refused with a 403 that says why: legal knows this material, only the change is out of its reach.
        assert!(denial(untagged).contains("rule edit.scope"));
        let resume = a.filing().add(&legal, person, meta("1", "履历表", &[]), "履历".as_bytes(), None, false);
        assert!(denial(resume).contains("rule "));
        assert_eq!(
            a.materials().get(&testing::loader(), contract).unwrap().version,
            2,
            "the refused patch left no version"
        );
    }

    #[test]
    fn the_scanning_contractor_and_an_unlinked_account_read_nothing() {
        let a = testing::archive();
        let person = testing::person(&a, "钱十一", "research");
        let id = file_text(&a, person, meta("1", "履历表", &[]), "履历");
        let scanner = account(&a, "scanner", &[Role::Scanner], "research");
        assert!(is_not_found(&a.materials().content(&scanner, id)));
        assert!(a.persons().get(&scanner, person).is_err());
        let filed = a.filing().add(&scanner, person, meta("1", "扫描件", &[]), b"x", None, false);
        assert!(denial(filed).contains("rule "), "outside a batch the contractor files nothing");
        // An HR account not linked to its holder's own record acts as nobody.
        let user = a
            .accounts()
            .create_demo_user(crate::service::auth::NewUser {
                username: "hr-unlinked".into(),
                display_name: "hr-unlinked".into(),
                password: "a-long-enough-pass".into(),
                roles: vec![Role::Hr],
                department: Some("hr".into()),
                person_id: None,
                leader_level: None,
            })
            .unwrap();
        let unlinked = a.accounts().principal_for(user, "test").unwrap();
        assert!(denial(a.persons().get(&unlinked, person)).contains("hard.unlinked-account"));
        assert!(denial(a.materials().content(&unlinked, id)).contains("hard.unlinked-account"));
        let filed = a.filing().add(&unlinked, person, meta("1", "履历表", &[]), b"x", None, false);
        assert!(filed.is_err());
    }
}
