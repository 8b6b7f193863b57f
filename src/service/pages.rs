//! The pages of scanned materials (docs/DOMAIN.md §2d): filing a material from its page images, changing them
//! (add, replace, remove, reorder: each a new version), and reading them back one by one or as a zip.
//!
//! Every page is checked at intake against the intake rules ([`crate::model::page::IntakeRules`]: resolution,
//! colour, format, near-blank, orientation where tesseract's OSD is installed, duplicates): an error refuses the
//! upload naming its rule, a warning is kept with the page. The material's content is one PDF assembled from the
//! pages ([`crate::digitise::pdf`]): download, the watermarked view, OCR and transfer packages see it as any PDF.
//! A JPEG page's original is that PDF's image, byte for byte (checked against its hash when given back); a PNG or
//! TIFF original is kept as a blob of its own.

use super::access::SystemRead;
use super::filing::{Original, StagedPage};
use super::{Digitisation, Error, Principal, Result};
use crate::digitise;
use crate::model::consultation::GrantPermission;
use crate::model::page::{BatchState, IntakeRules, PageContext, PageFormat, PageImage};
use crate::model::policy::{Access, Capability};
use crate::model::{AuditAction, BatchId, Material, MaterialId, MaterialMeta, PersonId, WithText};
use crate::store::BlobAddress;
use std::sync::OnceLock;
use zeroize::Zeroizing;

/// Most pages one material holds.
pub const MAX_PAGES: usize = 2000;

/// A page image as uploaded.
#[derive(Clone, Debug)]
pub struct PageUpload {
    /// The bytes.
    pub bytes: Vec<u8>,
    /// The file's name, if given (a batch import reads 档号-类号-序号-页号 from it).
    pub file_name: Option<String>,
}

/// A change of a scanned material's pages.
#[derive(Clone, Debug)]
pub enum PageChange {
    /// New pages, at the end or before page `at` (1-based).
    Add {
        /// Before which page; `None`: at the end.
        at: Option<u32>,
        /// The images.
        pages: Vec<PageUpload>,
    },
    /// Page `page` rescanned.
    Replace {
        /// Which page (1-based).
        page: u32,
        /// Its new image.
        upload: PageUpload,
    },
    /// Page `page` taken out (重页: a page scanned twice).
    Remove {
        /// Which page (1-based).
        page: u32,
    },
    /// The pages in a new order: `order[i]` is the old number of the new page `i + 1` (错页).
    Reorder {
        /// A permutation of 1..=n.
        order: Vec<u32>,
    },
}

impl PageChange {
    /// The pages (new numbering) this change touched, for rescans.
    fn touched(&self, old_len: usize) -> Vec<u32> {
        match self {
            PageChange::Add { at, pages } => {
                let start = at.unwrap_or(old_len as u32 + 1);
                (start..start + pages.len() as u32).collect()
            }
            PageChange::Replace { page, .. } | PageChange::Remove { page } => vec![*page],
            PageChange::Reorder { order } => {
                (1..=order.len() as u32).filter(|new| order[*new as usize - 1] != *new).collect()
            }
        }
    }

    fn label(&self) -> String {
        match self {
            PageChange::Add { at: Some(at), pages } => format!("add {} page(s) before page {at}", pages.len()),
            PageChange::Add { at: None, pages } => format!("add {} page(s)", pages.len()),
            PageChange::Replace { page, .. } => format!("replace page {page}"),
            PageChange::Remove { page } => format!("remove page {page}"),
            PageChange::Reorder { .. } => "reorder pages".into(),
        }
    }
}

/// Whether these bytes are a page image a scanned material is filed from: JPEG, PNG or TIFF (by their magic).
pub fn is_page_image(bytes: &[u8]) -> bool {
    digitise::image::sniff(bytes).is_some()
}

/// The intake rules in force (the embedded defaults, `src/model/intake_rules.toml`).
fn rules() -> &'static IntakeRules {
    static RULES: OnceLock<IntakeRules> = OnceLock::new();
    RULES.get_or_init(IntakeRules::default)
}

/// A page taken in: its record, and its bytes (the original).
struct Taken {
    image: PageImage,
    bytes: Zeroizing<Vec<u8>>,
}

impl Digitisation<'_> {
    /// Reads and checks page images: what each is, what the rules find (an error refuses them all, naming the
    /// page and the rule), duplicates of each other and of the pages `held` (label, hash).
    fn take_in(&self, uploads: Vec<PageUpload>, held: &[(String, String)]) -> Result<Vec<Taken>> {
        if uploads.is_empty() {
            return Err(Error::invalid("file", "no page image: send one or more images (JPEG, TIFF, PNG)"));
        }
        let suite = self.store().keys().suite();
        let mut seen: Vec<(String, String)> = held.to_vec();
        let mut out = Vec::with_capacity(uploads.len());
        for (i, up) in uploads.into_iter().enumerate() {
            let name = up.file_name.as_deref().map(super::materials::sanitize_file_name);
            let what = match &name {
                Some(n) => format!("image {} ({n})", i + 1),
                None => format!("image {}", i + 1),
            };
            if up.bytes.is_empty() {
                return Err(Error::invalid("file", format!("{what} is empty")));
            }
            if up.bytes.len() as u64 > self.config().max_file_size {
                return Err(Error::TooLarge(format!(
                    "{what} exceeds the limit of {} bytes",
                    self.config().max_file_size
                )));
            }
            let info =
                digitise::image::inspect(&up.bytes).map_err(|e| Error::invalid("file", format!("{what}: {e}")))?;
            let hash = suite.hash_hex(&up.bytes);
            let duplicate_of = seen.iter().find(|(_, h)| *h == hash).map(|(label, _)| label.clone());
            let ctx = PageContext { duplicate_of, rotation: None };
            let findings = rules().check_page(&info, &ctx);
            if let Some(f) = crate::model::page::blocking(&findings) {
                return Err(Error::Invalid {
                    message: format!("{what} refused by rule {}: {}", f.rule, f.message),
                    findings: vec![crate::model::Finding::error(
                        format!("file[{i}]: rule {}", f.rule),
                        f.message.clone(),
                    )],
                });
            }
            seen.push((format!("第{}张图像", i + 1), hash.clone()));
            out.push(Taken {
                image: PageImage {
                    content_hash: hash,
                    size: up.bytes.len() as u64,
                    file_name: name,
                    info,
                    findings,
                    address: None,
                },
                bytes: Zeroizing::new(up.bytes),
            });
        }
        Ok(out)
    }

    /// The pages of the other scanned materials of a dossier, as (label, hash), to find duplicates.
    fn dossier_pages(&self, person: PersonId, except: Option<MaterialId>) -> Result<Vec<(String, String)>> {
        let mut out = Vec::new();
        for id in self.materials().material_ids_of(person)? {
            if Some(id) == except {
                continue;
            }
            let m = self.materials().load_material(id)?;
            if m.destroyed_by.is_some() {
                continue;
            }
            for (n, page) in m.page_images.iter().enumerate() {
                out.push((format!("《{}》第{}页", m.meta.title, n + 1), page.content_hash.clone()));
            }
        }
        Ok(out)
    }

    /// Assembles the PDF of `pages` and stages them: a JPEG's original is the PDF's image; any other is kept
    /// apart, new or held from before.
    fn assemble(&self, pages: Vec<(PageImage, Zeroizing<Vec<u8>>)>) -> Result<(Vec<u8>, Vec<StagedPage>)> {
        if pages.len() > MAX_PAGES {
            return Err(Error::invalid("file", format!("a material holds at most {MAX_PAGES} pages")));
        }
        let inputs: Vec<(&[u8], &crate::model::page::PageInfo)> =
            pages.iter().map(|(image, bytes)| (bytes.as_slice(), &image.info)).collect();
        let pdf = digitise::pdf::assemble(&inputs).map_err(|e| Error::invalid("file", e.to_string()))?;
        let mut staged = Vec::with_capacity(pages.len());
        for (mut image, bytes) in pages {
            let original = if image.info.format == PageFormat::Jpeg {
                image.address = None;
                Original::InPdf
            } else if let Some(held) = image.address.as_ref().and_then(|a| a.parse::<BlobAddress>().ok()) {
                Original::Held(held)
            } else {
                let blob = self.store().prepare_blob(&bytes)?;
                image.address = Some(blob.address.to_string());
                Original::New(blob, bytes)
            };
            staged.push(StagedPage { image, original });
        }
        Ok((pdf, staged))
    }

    /// Files a scanned material from its page images into a dossier of a batch (one of its operators, while it
    /// is 扫描中 or 自检), as [`super::Imports::file_in_batch`] files one file.
    pub fn file_pages_in_batch(
        &self,
        p: &Principal,
        batch: BatchId,
        person_id: PersonId,
        meta: MaterialMeta,
        uploads: Vec<PageUpload>,
    ) -> Result<WithText<Material>> {
        self.audited(p, AuditAction::BatchFile, &format!("batch:{batch}"), true, || {
            let (person, meta) = self.imports().check_batch_filing(p, batch, person_id, meta)?;
            let m = self.file_pages_checked(p, &person, meta, uploads, Some(batch))?;
            Ok((self.materials().with_text(m)?, None))
        })
    }

    /// Files a scanned material from its page images into a dossier (HR: capability upload and the right to
    /// edit such a material).
    pub fn file_pages(
        &self,
        p: &Principal,
        person_id: PersonId,
        meta: MaterialMeta,
        uploads: Vec<PageUpload>,
    ) -> Result<WithText<Material>> {
        self.audited(p, AuditAction::MaterialCreate, &format!("person:{person_id}"), true, || {
            let person = self.persons().load_person(person_id)?;
            let meta = self.filing().checked_meta(meta)?;
            self.filing().check_filing(p, &person, &meta)?;
            let m = self.file_pages_checked(p, &person, meta, uploads, None)?;
            Ok((self.materials().with_text(m)?, None))
        })
    }

    /// Files a scanned material whose filing the caller has checked (a batch's operator, HR, a batch import).
    pub(crate) fn file_pages_checked(
        &self,
        p: &Principal,
        person: &crate::model::Person,
        mut meta: MaterialMeta,
        uploads: Vec<PageUpload>,
        batch: Option<BatchId>,
    ) -> Result<Material> {
        let held = self.dossier_pages(person.id, None)?;
        let taken = self.take_in(uploads, &held)?;
        // 挂接: a material catalogued without its 页数 takes the pages it holds; one that states it is checked
        // against them (a warning shown with the material).
        meta.pages.get_or_insert(taken.len() as u32);
        let (pdf, staged) = self.assemble(taken.into_iter().map(|t| (t.image, t.bytes)).collect())?;
        self.filing().file_scanned(p, person, meta, &pdf, staged, false, batch)
    }

    /// Changes a scanned material's pages: a new version. One of its batch's operators may change what they
    /// filed while the batch is 扫描中, 自检 or 退回 (a change while 退回 marks the rescans of the pages it
    /// touches done); anyone else needs the right to edit the material.
    pub fn change_pages(
        &self,
        p: &Principal,
        id: MaterialId,
        expected: Option<u32>,
        change: PageChange,
    ) -> Result<WithText<Material>> {
        self.audited(p, AuditAction::MaterialPages, &format!("material:{id}"), true, || {
            let m = self.materials().load_material(id)?;
            let person = self.persons().load_person(m.person_id)?;
            self.check_page_change(p, &person, &m)?;
            if m.page_images.is_empty() {
                return Err(Error::Conflict(format!(
                    "material {id} was not filed from page images: replace its file instead"
                )));
            }
            // If-Match is optional here: without it, the version read now is the one expected (a change in
            // between is still refused, 412).
            let expected = expected.or(Some(m.version));
            let label = change.label();
            let touched = change.touched(m.page_images.len());
            let mut pages = self.held_pages(&m)?;
            let n = pages.len() as u32;
            let check = |page: u32, field: &str| {
                if page == 0 || page > n {
                    Err(Error::invalid(field, format!("the material holds pages 1–{n}")))
                } else {
                    Ok(page as usize - 1)
                }
            };
            match change {
                PageChange::Add { at, pages: uploads } => {
                    let at = match at {
                        Some(at) if at == n + 1 => n as usize,
                        Some(at) => check(at, "at")?,
                        None => n as usize,
                    };
                    let held = self.held_and_dossier(&m, &pages)?;
                    let taken = self.take_in(uploads, &held)?;
                    pages.splice(at..at, taken.into_iter().map(|t| (t.image, t.bytes)));
                }
                PageChange::Replace { page, upload } => {
                    let i = check(page, "page")?;
                    let mut others = pages.clone();
                    others.remove(i);
                    let held = self.held_and_dossier(&m, &others)?;
                    let t = self.take_in(vec![upload], &held)?.remove(0);
                    pages[i] = (t.image, t.bytes);
                }
                PageChange::Remove { page } => {
                    let i = check(page, "page")?;
                    if n == 1 {
                        return Err(Error::invalid("page", "a material keeps at least one page"));
                    }
                    pages.remove(i);
                }
                PageChange::Reorder { order } => {
                    let mut sorted = order.clone();
                    sorted.sort_unstable();
                    if sorted != (1..=n).collect::<Vec<_>>() {
                        return Err(Error::invalid("order", format!("a permutation of the pages 1–{n}")));
                    }
                    let old = std::mem::take(&mut pages);
                    pages = order.iter().map(|o| old[*o as usize - 1].clone()).collect();
                }
            }
            let (pdf, staged) = self.assemble(pages)?;
            let updated =
                self.filing().new_pages_version(p, id, expected, &pdf, staged, Some(label.clone()), |ws, m| {
                    self.stage_rescanned(ws, p, m, &touched)
                })?;
            Ok((self.materials().with_text(updated)?, Some(label)))
        })
    }

    /// Who may change a material's pages: the operator who filed it, in its batch, while the batch takes
    /// changes; anyone else with the right to edit it.
    fn check_page_change(&self, p: &Principal, person: &crate::model::Person, m: &Material) -> Result<()> {
        if let Some(bid) = m.batch_id {
            let b = self.imports().load_batch(bid)?;
            if b.assignees.contains(&p.user.username) {
                self.require(p, Capability::ScanBatches)?;
                if m.created_by != p.user.username {
                    return Err(Error::Forbidden(
                        "rule batch.own: an operator changes only the scans they filed".into(),
                    ));
                }
                if !matches!(b.state, BatchState::Scanning | BatchState::SelfCheck | BatchState::Returned) {
                    return Err(Error::Conflict(format!(
                        "batch {bid} is {}: its scans change while it is 扫描中, 自检 or 退回",
                        b.state.label()
                    )));
                }
                if let Some(hard) = self.policy().hard_rules(&p.subject, &super::access::person_target(person)) {
                    return Err(super::access::forbidden(&hard));
                }
                return Ok(());
            }
        }
        self.require(p, Capability::Upload)?;
        self.check_material(p, person, m, Access::Edit).map(|_| ())
    }

    /// The pages held now with their originals (read by the archive itself to assemble the next version).
    fn held_pages(&self, m: &Material) -> Result<Vec<(PageImage, Zeroizing<Vec<u8>>)>> {
        let permit = self.system_permit(m, SystemRead::Pages);
        let pdf = self.read_content(&permit, m)?;
        let mut out = Vec::with_capacity(m.page_images.len());
        for (i, image) in m.page_images.iter().enumerate() {
            let bytes = self.original(&permit, m, &pdf, i)?;
            out.push((image.clone(), bytes));
        }
        Ok(out)
    }

    /// The original of page `i` (0-based): the PDF's image for a JPEG, its own blob otherwise; checked against
    /// its hash.
    fn original(
        &self,
        permit: &super::access::ReadPermit,
        m: &Material,
        pdf: &[u8],
        i: usize,
    ) -> Result<Zeroizing<Vec<u8>>> {
        let image = &m.page_images[i];
        let bytes = match &image.address {
            Some(a) => {
                let a: BlobAddress = a.parse().map_err(|_| Error::Corrupt(format!("bad address {a}")))?;
                self.read_page_blob(permit, m, &a)?
            }
            None => Zeroizing::new(digitise::pdf::embedded_jpeg(pdf, i as u32 + 1).ok_or_else(|| {
                Error::Corrupt(format!("material {} v{}: page {} has no image in its PDF", m.id, m.version, i + 1))
            })?),
        };
        if self.store().keys().suite().hash_hex(&bytes) != image.content_hash {
            return Err(Error::Corrupt(format!("material {} page {}: the image does not match its hash", m.id, i + 1)));
        }
        Ok(bytes)
    }

    fn held_and_dossier(
        &self,
        m: &Material,
        pages: &[(PageImage, Zeroizing<Vec<u8>>)],
    ) -> Result<Vec<(String, String)>> {
        let mut held: Vec<(String, String)> = pages
            .iter()
            .enumerate()
            .map(|(n, (image, _))| (format!("第{}页", n + 1), image.content_hash.clone()))
            .collect();
        held.extend(self.dossier_pages(m.person_id, Some(m.id))?);
        Ok(held)
    }

    /// Reads a scanned material's pages for the caller: each original, through the gate (the right to read the
    /// material and to download; a consultation grant reads the watermarked view instead).
    fn readable(
        &self,
        p: &Principal,
        id: MaterialId,
    ) -> Result<(Material, super::access::ReadPermit, Zeroizing<Vec<u8>>)> {
        let (m, grant, permit) = self.materials().gated(p, id, GrantPermission::Download)?;
        if grant.is_some() {
            return Err(Error::Forbidden(
                "rule pages.grant: a consultation reads the watermarked view, not the page images".into(),
            ));
        }
        if m.page_images.is_empty() {
            return Err(Error::NotFound(format!("material {id} was not filed from page images")));
        }
        let pdf = self.read_content(&permit, &m)?;
        Ok((m, permit, pdf))
    }

    /// One page's original image, with its record.
    pub fn page(&self, p: &Principal, id: MaterialId, page: u32) -> Result<(PageImage, Zeroizing<Vec<u8>>)> {
        self.audited(p, AuditAction::PageRead, &format!("material:{id}"), false, || {
            let (m, permit, pdf) = self.readable(p, id)?;
            if page == 0 || page as usize > m.page_images.len() {
                return Err(Error::NotFound(format!("material {id} has no page {page}")));
            }
            let bytes = self.original(&permit, &m, &pdf, page as usize - 1)?;
            Ok(((m.page_images[page as usize - 1].clone(), bytes), Some(format!("page {page}"))))
        })
    }

    /// Every page's original image, in a zip (`0001.jpg`, `0002.tif` …, in page order), with the material.
    pub fn pages_zip(&self, p: &Principal, id: MaterialId) -> Result<(Material, Vec<u8>)> {
        self.audited(p, AuditAction::PageRead, &format!("material:{id}"), false, || {
            let (m, permit, pdf) = self.readable(p, id)?;
            let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
            // Scans are compressed already: stored, not deflated. Dated as the material's pages were last changed
            // (UTC; a zip has no zone), not the format's 1980 default.
            let mut options =
                zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
            if let Ok(t) = time::OffsetDateTime::from_unix_timestamp(m.updated_at)
                && let Ok(d) = zip::DateTime::from_date_and_time(
                    u16::try_from(t.year()).unwrap_or(1980),
                    t.month() as u8,
                    t.day(),
                    t.hour(),
                    t.minute(),
                    t.second(),
                )
            {
                options = options.last_modified_time(d);
            }
            for (i, image) in m.page_images.iter().enumerate() {
                let bytes = self.original(&permit, &m, &pdf, i)?;
                zip.start_file(format!("{:04}.{}", i + 1, image.info.format.extension()), options)
                    .map_err(|e| Error::Internal(e.to_string()))?;
                std::io::Write::write_all(&mut zip, &bytes).map_err(|e| Error::Internal(e.to_string()))?;
            }
            let bytes = zip.finish().map_err(|e| Error::Internal(e.to_string()))?.into_inner();
            let n = m.page_images.len();
            Ok(((m, bytes), Some(format!("{n} pages (zip)"))))
        })
    }
}
