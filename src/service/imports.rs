//! Batch imports: a directory or a zip of files plus a catalogue (`catalogue.csv` or `catalogue.xlsx`, see
//! [`crate::exchange::catalogue`]) mapping each file to a person and a catalogue entry.
//!
//! Every row is filed in its own atomic commit (bytes, material, version, dossier entry, index queue entry and
//! audit entry together), so a row is never half-imported. A row whose bytes the person's dossier already holds
//! (by content address) is `skipped`, so a re-run stores nothing twice and a batch killed halfway finishes on a
//! re-run. Each row that cannot be filed is `rejected` with its reason; the others go on. The report is kept
//! (sealed, like every record) and updated as the import runs, for `GET /api/v1/imports/{id}`.
//!
//! A batch names the classification scheme of its 类别 (DOMAIN §2a): `2018` (the default), or `2009` / `1991`,
//! whose codes are mapped to 2018 leaves (`model/legacy_category.rs`); a `scheme` column overrides it per row. A
//! mapped row keeps its old code in its note; a code the scheme does not have rejects that row.

use super::Imports;
use super::{Error, Principal, Result};
use crate::exchange::catalogue::{self, Column, Row};
use crate::exchange::zipsafe::{SafeZip, ZipLimits, ZipRefusal};
use crate::model::AuditAction;
use crate::model::legacy_category::{self, LegacyScheme};
use crate::model::policy::Capability;
use crate::model::{ImportId, MaterialId, MaterialMeta, PersonId};
use crate::store::Table;
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

/// Where an import stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ImportState {
    /// Rows are being filed.
    Running,
    /// Every row was handled.
    Done,
    /// The process stopped before the end (found so at the next start); run the batch again to finish it.
    Interrupted,
}

/// What became of one row.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RowOutcome {
    /// Filed as a new material.
    Imported,
    /// The dossier already holds these bytes.
    Skipped,
    /// Not filed; the reason says why.
    Rejected,
}

/// One row of the report.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RowReport {
    /// The catalogue line (1 is the heading).
    pub line: usize,
    /// The file the row names.
    pub file: String,
    /// What happened.
    pub outcome: RowOutcome,
    /// The material filed (or already holding the bytes).
    pub material_id: Option<MaterialId>,
    /// The person the row was filed to.
    pub person_id: Option<PersonId>,
    /// Why it was rejected or skipped.
    pub reason: Option<String>,
}

/// An import's progress and, at the end, its report.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ImportReport {
    /// The import.
    pub id: ImportId,
    /// Who started it.
    pub by: String,
    /// The batch's name (zip file or directory).
    pub source: String,
    /// Where it stands.
    pub state: ImportState,
    /// When it started (RFC 3339).
    pub started_at: String,
    /// When it ended (RFC 3339).
    pub finished_at: Option<String>,
    /// Catalogue rows.
    pub total: usize,
    /// Rows handled so far.
    pub processed: usize,
    /// Rows filed.
    pub imported: usize,
    /// Rows already stored.
    pub skipped: usize,
    /// Rows refused.
    pub rejected: usize,
    /// Bytes of the files filed.
    pub imported_bytes: u64,
    /// The rows handled, in catalogue order.
    pub rows: Vec<RowReport>,
    /// Files in the batch that no row names (not filed).
    pub unlisted: Vec<String>,
    /// The classification scheme of the catalogue's 类别 (`2018`, `2009`, `1991`), unless a row names its own.
    #[serde(default = "current_scheme")]
    pub scheme: String,
}

fn current_scheme() -> String {
    legacy_category::CURRENT.to_string()
}

/// A scheme's name as a batch gives it: the current one (the default, also for an empty name) or a known old one;
/// an unknown name is refused, naming the known ones.
pub fn scheme_named(name: &str) -> std::result::Result<String, String> {
    let name = name.trim();
    if name.is_empty() || name == legacy_category::CURRENT {
        return Ok(current_scheme());
    }
    LegacyScheme::named(name).map(|s| s.name.clone()).ok_or_else(|| {
        format!(
            "unknown classification scheme {:?}: use one of {}",
            name.chars().take(20).collect::<String>(),
            LegacyScheme::names().join(", ")
        )
    })
}

/// A row's 类别 in the 2018 scheme when the row (its `scheme` column) or the batch names an old scheme, with the
/// trace kept in the note; `None` for a 2018 row (its code is checked as any filed material's).
fn legacy_category(row: &Row, batch_scheme: &str) -> std::result::Result<Option<(String, String)>, String> {
    let name = match row.get(Column::Scheme) {
        Some(own) => scheme_named(own)?,
        None => batch_scheme.to_string(),
    };
    let Some(scheme) = LegacyScheme::named(&name) else { return Ok(None) };
    let code = row.get(Column::Category).unwrap_or_default();
    let m = scheme.map(code, row.get(Column::Title).unwrap_or_default())?;
    let how = match &m.keyword {
        Some(k) => format!("，按“{k}”归入 {}", m.code),
        None => String::new(),
    };
    Ok(Some((m.code, format!("原类号 {}（{} 方案{how}）", m.original, scheme.name))))
}

/// A batch's files: a zip (checked by [`SafeZip`]) or a directory.
pub trait ImportSource: Send {
    /// Every file, by its path relative to the batch root (forward slashes).
    fn files(&self) -> Vec<String>;
    /// One file's bytes.
    fn read(&mut self, name: &str) -> std::result::Result<Vec<u8>, String>;
}

impl<R: std::io::Read + std::io::Seek + Send> ImportSource for SafeZip<R> {
    fn files(&self) -> Vec<String> {
        SafeZip::files(self).to_vec()
    }
    fn read(&mut self, name: &str) -> std::result::Result<Vec<u8>, String> {
        SafeZip::read(self, name).map_err(|e| e.to_string())
    }
}

/// A directory of files. Symbolic links are not followed (a batch cannot reach outside its directory).
pub struct DirSource {
    root: PathBuf,
    files: Vec<String>,
    max_file_size: u64,
}

impl DirSource {
    /// Lists a directory (recursively).
    pub fn open(root: &Path, max_file_size: u64) -> std::io::Result<Self> {
        fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) -> std::io::Result<()> {
            for e in std::fs::read_dir(dir)? {
                let e = e?;
                let kind = e.file_type()?;
                if kind.is_dir() {
                    walk(root, &e.path(), out)?;
                } else if kind.is_file()
                    && let Ok(rel) = e.path().strip_prefix(root)
                {
                    out.push(rel.to_string_lossy().replace('\\', "/"));
                }
            }
            Ok(())
        }
        let mut files = Vec::new();
        walk(root, root, &mut files)?;
        files.sort();
        Ok(DirSource { root: root.to_path_buf(), files, max_file_size })
    }
}

impl ImportSource for DirSource {
    fn files(&self) -> Vec<String> {
        self.files.clone()
    }
    fn read(&mut self, name: &str) -> std::result::Result<Vec<u8>, String> {
        if !self.files.iter().any(|f| f == name) {
            return Err(format!("no file {name:?} in the batch"));
        }
        let path = self.root.join(name);
        let size = std::fs::symlink_metadata(&path).map_err(|e| e.to_string())?.len();
        if size > self.max_file_size {
            return Err(format!("the file exceeds the limit of {} bytes", self.max_file_size));
        }
        std::fs::read(&path).map_err(|e| e.to_string())
    }
}

/// Opens a zip from outside — a batch or a package (`what`) — with a file's size limit per entry; a refusal is
/// 413 for sizes and ratios, 422 otherwise, naming `what` and the `field` the client sent.
pub(crate) fn open_zip<R: std::io::Read + std::io::Seek>(
    reader: R,
    max_file_size: u64,
    what: &str,
    field: &str,
) -> std::result::Result<SafeZip<R>, Error> {
    let limits = ZipLimits { max_entry_bytes: max_file_size, ..ZipLimits::default() };
    SafeZip::open(reader, limits).map_err(|e| match e {
        ZipRefusal::TooLarge { .. } => Error::TooLarge(format!("{what} refused: {e}")),
        _ => Error::invalid(field, format!("{what} refused: {e}")),
    })
}

/// Opens a zip batch held in memory.
pub fn zip_source(bytes: Vec<u8>, max_file_size: u64) -> std::result::Result<SafeZip<std::io::Cursor<Vec<u8>>>, Error> {
    open_zip(std::io::Cursor::new(bytes), max_file_size, "batch", "file")
}

/// Opens a zip batch from a file.
pub fn zip_file_source(path: &Path, max_file_size: u64) -> std::result::Result<SafeZip<std::fs::File>, Error> {
    let file = std::fs::File::open(path).map_err(|e| Error::BadRequest(format!("{}: {e}", path.display())))?;
    open_zip(file, max_file_size, "batch", "file")
}

/// A batch whose catalogue was read: ready to run.
pub struct PreparedImport {
    report: ImportReport,
    rows: Vec<Row>,
    base: String,
    source: Box<dyn ImportSource>,
    intake: bool,
}

/// What rows of one batch share while it runs: the content hashes of the dossiers met so far, the scheme.
struct BatchState {
    known: HashMap<PersonId, HashMap<String, MaterialId>>,
    scheme: String,
}

impl PreparedImport {
    /// Puts the batch's materials into the 待归档 queue (received, not filed: docs/DOMAIN.md §2b) instead of
    /// filing them directly.
    pub fn into_intake(mut self, intake: bool) -> Self {
        self.intake = intake;
        self
    }

    /// The report as it stands (state `running`, nothing handled yet).
    pub fn report(&self) -> &ImportReport {
        &self.report
    }
}

/// Names a catalogue may have.
fn is_catalogue(name: &str) -> bool {
    let base = name.rsplit('/').next().unwrap_or(name).to_lowercase();
    ["catalogue", "catalog", "目录"].iter().any(|stem| base == format!("{stem}.csv") || base == format!("{stem}.xlsx"))
}

impl Imports<'_> {
    fn save_import(&self, r: &ImportReport) -> Result<()> {
        let mut ws = self.store().write_set();
        ws.put(Table::Imports, r.id.as_bytes().to_vec(), r)?;
        self.store().commit(ws)?;
        Ok(())
    }

    /// Reads a batch's catalogue and records the import as running. A batch without a readable catalogue, or
    /// naming an unknown classification `scheme` (`2018` when empty), is refused whole (422), before anything is
    /// filed.
    pub fn prepare(
        &self,
        p: &Principal,
        source_name: &str,
        source: Box<dyn ImportSource>,
        scheme: &str,
    ) -> Result<PreparedImport> {
        self.audited(p, AuditAction::ImportStart, "imports", false, || {
            self.require(p, Capability::Upload)?;
            let scheme = scheme_named(scheme).map_err(|e| Error::invalid("scheme", e))?;
            let files = source.files();
            let catalogues: Vec<&String> = files.iter().filter(|f| is_catalogue(f)).collect();
            let cat_name = match catalogues.as_slice() {
                [one] => (*one).clone(),
                [] => return Err(Error::invalid("catalogue", "the batch has no catalogue.csv (or catalogue.xlsx)")),
                _ => return Err(Error::invalid("catalogue", "the batch has more than one catalogue")),
            };
            let mut source = source;
            let bytes = source.read(&cat_name).map_err(|e| Error::invalid("catalogue", e))?;
            let rows = if cat_name.to_lowercase().ends_with(".xlsx") {
                catalogue::parse_xlsx(&bytes)
            } else {
                catalogue::parse_csv(&bytes)
            }
            .map_err(|e| Error::invalid("catalogue", e.to_string()))?;
            let base = cat_name.rsplit_once('/').map(|(d, _)| format!("{d}/")).unwrap_or_default();
            let named: HashSet<String> =
                rows.iter().filter_map(|r| r.get(Column::File)).map(|f| format!("{base}{}", clean_path(f))).collect();
            let unlisted = files
                .iter()
                .filter(|f| **f != cat_name && !named.contains(*f))
                .filter(|f| page_of(f).is_none_or(|(stem, _)| !named.contains(stem)))
                .cloned()
                .collect();
            let report = ImportReport {
                id: ImportId::new(),
                by: p.user.username.clone(),
                source: source_name.chars().take(200).collect(),
                state: ImportState::Running,
                started_at: crate::model::ts_rfc3339(crate::model::now_ts()),
                finished_at: None,
                total: rows.len(),
                processed: 0,
                imported: 0,
                skipped: 0,
                rejected: 0,
                imported_bytes: 0,
                rows: Vec::new(),
                unlisted,
                scheme,
            };
            self.save_import(&report)?;
            let detail = format!("import:{} rows:{} scheme:{}", report.id, rows.len(), report.scheme);
            Ok((PreparedImport { report, rows, base, source, intake: false }, Some(detail)))
        })
    }

    /// Files every row of a prepared batch, calling `progress` after each; returns the final report.
    pub fn run(
        &self,
        p: &Principal,
        prepared: PreparedImport,
        progress: &dyn Fn(&ImportReport),
    ) -> Result<ImportReport> {
        let PreparedImport { mut report, rows, base, mut source, intake } = prepared;
        // Page images named 档号-类号-序号-页号 (a row's `file` the stem 档号-类号-序号), by stem, in page order.
        let mut pages: HashMap<&str, Vec<(u32, &str)>> = HashMap::new();
        let files = source.files();
        for f in &files {
            if let Some((stem, n)) = page_of(f) {
                pages.entry(stem).or_default().push((n, f.as_str()));
            }
        }
        for list in pages.values_mut() {
            list.sort_unstable();
        }
        let mut batch = BatchState { known: HashMap::new(), scheme: report.scheme.clone() };
        let mut last_save = std::time::Instant::now();
        for row in &rows {
            let file = row.get(Column::File).map(|f| format!("{base}{}", clean_path(f))).unwrap_or_default();
            let mut r = RowReport {
                line: row.line,
                file: file.clone(),
                outcome: RowOutcome::Rejected,
                material_id: None,
                person_id: None,
                reason: None,
            };
            let page_files: Vec<&str> =
                pages.get(file.as_str()).map(|l| l.iter().map(|(_, f)| *f).collect()).unwrap_or_default();
            match self.import_row(p, row, (&file, &page_files, intake), source.as_mut(), &mut batch, &mut r) {
                Ok(bytes) => {
                    if r.outcome == RowOutcome::Imported {
                        report.imported += 1;
                        report.imported_bytes += bytes;
                    } else {
                        report.skipped += 1;
                    }
                }
                Err(reason) => {
                    r.outcome = RowOutcome::Rejected;
                    r.reason = Some(reason);
                    report.rejected += 1;
                }
            }
            report.rows.push(r);
            report.processed += 1;
            progress(&report);
            if last_save.elapsed() > std::time::Duration::from_millis(250) {
                self.save_import(&report)?;
                last_save = std::time::Instant::now();
            }
        }
        report.state = ImportState::Done;
        report.finished_at = Some(crate::model::ts_rfc3339(crate::model::now_ts()));
        self.save_import(&report)?;
        self.audit(super::audit::AuditEvent::by(
            p,
            AuditAction::ImportFinish,
            &format!("import:{}", report.id),
            super::audit::Outcome::Allowed,
            Some(format!("imported:{} skipped:{} rejected:{}", report.imported, report.skipped, report.rejected)),
        ))?;
        Ok(report)
    }

    /// Files one row; returns the bytes filed (0 when skipped) or the reason it was rejected.
    fn import_row(
        &self,
        p: &Principal,
        row: &Row,
        (file, page_files, intake): (&str, &[&str], bool),
        source: &mut dyn ImportSource,
        batch: &mut BatchState,
        r: &mut RowReport,
    ) -> std::result::Result<u64, String> {
        if file.is_empty() {
            return Err("the row names no file".into());
        }
        let person = self.import_person(row)?;
        r.person_id = Some(person.id);
        if let Some(name) = row.get(Column::Name)
            && name != person.name
        {
            return Err(format!("the name {name:?} does not match the record of this ID number"));
        }
        let mut meta = import_meta(row)?;
        if let Some((code, trace)) = legacy_category(row, &batch.scheme)? {
            meta.category = code;
            meta.note = Some(match meta.note.take() {
                Some(note) => format!("{note}；{trace}"),
                None => trace,
            });
        }
        let mut meta = self.filing().checked_meta(meta).map_err(|e| reason_of(&e))?;
        if intake {
            meta = self.intake().check_receiving(p, &person, meta).map_err(|e| reason_of(&e))?;
        } else {
            self.filing().check_filing(p, &person, &meta).map_err(|e| reason_of(&e))?;
        }
        if !page_files.is_empty() {
            return self.import_pages(p, &person, meta, page_files, intake, source, batch, r);
        }
        let bytes = source.read(file)?;
        let hash = self.store().keys().suite().hash_hex(&bytes);
        let held = match batch.known.entry(person.id) {
            std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
            std::collections::hash_map::Entry::Vacant(e) => {
                e.insert(self.content_hashes_of(person.id).map_err(|e| reason_of(&e))?)
            }
        };
        if let Some(existing) = held.get(&hash) {
            r.outcome = RowOutcome::Skipped;
            r.material_id = Some(*existing);
            r.reason = Some("the dossier already holds these bytes".into());
            return Ok(0);
        }
        let name = file.rsplit('/').next().map(str::to_string);
        let m = if intake {
            self.filing().receive_material(p, &person, meta, &bytes, name, false)
        } else {
            self.filing().file_material(p, &person, meta, &bytes, name, false, None)
        }
        .map_err(|e| reason_of(&e))?;
        held.insert(m.content_hash.clone(), m.id);
        r.outcome = RowOutcome::Imported;
        r.material_id = Some(m.id);
        Ok(bytes.len() as u64)
    }

    /// Files a row whose pages are images named 档号-类号-序号-页号: one scanned material, its pages in order,
    /// checked at intake like any scan ([`super::pages`]). A re-run skips it: the PDF assembled from the same
    /// images is the same.
    #[allow(clippy::too_many_arguments)]
    fn import_pages(
        &self,
        p: &Principal,
        person: &crate::model::Person,
        meta: crate::model::MaterialMeta,
        page_files: &[&str],
        intake: bool,
        source: &mut dyn ImportSource,
        batch: &mut BatchState,
        r: &mut RowReport,
    ) -> std::result::Result<u64, String> {
        if intake {
            return Err("page images are filed into the catalogue, not received into the 待归档 queue".into());
        }
        let mut uploads = Vec::with_capacity(page_files.len());
        for f in page_files {
            let bytes = source.read(f)?;
            uploads.push(super::pages::PageUpload { bytes, file_name: f.rsplit('/').next().map(str::to_string) });
        }
        let size: u64 = uploads.iter().map(|u| u.bytes.len() as u64).sum();
        let held = match batch.known.entry(person.id) {
            std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
            std::collections::hash_map::Entry::Vacant(e) => {
                e.insert(self.content_hashes_of(person.id).map_err(|e| reason_of(&e))?)
            }
        };
        let page_hashes: Vec<String> = uploads.iter().map(|u| self.store().keys().suite().hash_hex(&u.bytes)).collect();
        if let Some(existing) = held.get(&page_hashes.join(",")) {
            r.outcome = RowOutcome::Skipped;
            r.material_id = Some(*existing);
            r.reason = Some("the dossier already holds these page images".into());
            return Ok(0);
        }
        let m = self.digitisation().file_pages_checked(p, person, meta, uploads, None).map_err(|e| reason_of(&e))?;
        held.insert(page_hashes.join(","), m.id);
        r.outcome = RowOutcome::Imported;
        r.material_id = Some(m.id);
        Ok(size)
    }

    fn import_person(&self, row: &Row) -> std::result::Result<crate::model::Person, String> {
        if let Some(id) = row.get(Column::PersonId) {
            let id: PersonId = id.parse().map_err(|_| format!("person_id {id:?} is not an id"))?;
            return self.persons().load_person(id).map_err(|e| reason_of(&e));
        }
        let raw = row.get(Column::IdNumber).ok_or("the row has neither id_number nor person_id")?;
        let idn = crate::model::idnumber::IdNumber::parse(raw).map_err(|e| format!("ID number: {e}"))?;
        let id: Option<PersonId> = self
            .store()
            .get(Table::IdNumbers, &self.persons().id_number_key(idn.as_str()))
            .map_err(|e| reason_of(&e.into()))?;
        let id = id.ok_or_else(|| format!("no person with ID number {}", idn.masked()))?;
        self.persons().load_person(id).map_err(|e| reason_of(&e))
    }

    /// Content hash → material, for a dossier's current materials (a scanned one also by its pages' hashes,
    /// joined, so a re-run of page images finds it).
    fn content_hashes_of(&self, person: PersonId) -> Result<HashMap<String, MaterialId>> {
        let mut out = HashMap::new();
        for id in self.materials().material_ids_of(person)? {
            let m = self.materials().load_material(id)?;
            if !m.page_images.is_empty() {
                let pages: Vec<&str> = m.page_images.iter().map(|p| p.content_hash.as_str()).collect();
                out.insert(pages.join(","), id);
            }
            out.insert(m.content_hash, id);
        }
        Ok(out)
    }

    /// An import's report: its starter and HR (who may edit persons) see it; to anyone else it does not exist.
    pub fn report(&self, p: &Principal, id: ImportId) -> Result<ImportReport> {
        let not_found = || Error::NotFound(format!("import {id} not found"));
        let r: ImportReport = self.store().get(Table::Imports, id.as_bytes())?.ok_or_else(not_found)?;
        if r.by != p.user.username && !self.policy().capability(&p.subject, Capability::EditPersons).allowed {
            return Err(not_found());
        }
        Ok(r)
    }

    /// Marks imports left running by a stopped process as interrupted (at start).
    pub(crate) fn mark_interrupted_imports(&self) -> Result<()> {
        for (_, mut r) in self.store().scan::<ImportReport>(Table::Imports, b"")? {
            if r.state == ImportState::Running {
                r.state = ImportState::Interrupted;
                self.save_import(&r)?;
            }
        }
        Ok(())
    }
}

/// A row's catalogue fields.
fn import_meta(row: &Row) -> std::result::Result<MaterialMeta, String> {
    let formed_on = match row.get(Column::FormedOn) {
        None => None,
        Some(d) => {
            Some(catalogue::normalize_date(d).parse().map_err(|e| format!("形成时间 {d:?} is not a date: {e}"))?)
        }
    };
    let pages = match row.get(Column::Pages) {
        None => None,
        Some(n) => Some(n.parse::<u32>().map_err(|_| format!("页数 {n:?} is not a number"))?),
    };
    // 份数, 接收时间 and 接收人 are the receipt's own fields (收材登记, docs/DOMAIN.md §2b).
    let copies = match row.get(Column::Copies) {
        None => None,
        Some(n) => Some(n.trim().parse::<u32>().map_err(|_| format!("份数 {n:?} is not a number"))?),
    };
    let received_on = match row.get(Column::ReceivedOn) {
        None => None,
        Some(d) => {
            Some(catalogue::normalize_date(d).parse().map_err(|e| format!("接收时间 {d:?} is not a date: {e}"))?)
        }
    };
    let note: Vec<String> = row.get(Column::Note).map(str::to_string).into_iter().collect();
    Ok(MaterialMeta {
        category: row.get(Column::Category).unwrap_or_default().to_string(),
        title: row.get(Column::Title).unwrap_or_default().to_string(),
        formed_on,
        pages,
        tags: row
            .get(Column::Tags)
            .map(|t| t.split([';', '；', '、']).map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect())
            .unwrap_or_default(),
        note: (!note.is_empty()).then(|| note.join("；")),
        source_unit: row.get(Column::Source).map(str::to_string),
        copies,
        received_on,
        received_by: row.get(Column::Receiver).map(str::to_string),
        ..MaterialMeta::default()
    })
}

/// A catalogue's file path, with `\` as `/` and without a leading `./`.
/// A page image named 档号-类号-序号-页号 (`A001-4-1-002-003.jpg`): its stem (the path up to the last `-`, which
/// a catalogue row's `file` names) and its page number.
fn page_of(path: &str) -> Option<(&str, u32)> {
    let (name, ext) = path.rsplit_once('.')?;
    if !["jpg", "jpeg", "png", "tif", "tiff"].contains(&ext.to_ascii_lowercase().as_str()) {
        return None;
    }
    let (stem, page) = name.rsplit_once('-')?;
    if stem.is_empty() || stem.ends_with('/') || page.is_empty() || !page.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some((stem, page.parse().ok().filter(|n| *n > 0)?))
}

fn clean_path(f: &str) -> String {
    f.trim().replace('\\', "/").trim_start_matches("./").to_string()
}

pub(super) fn reason_of(e: &Error) -> String {
    match e {
        Error::Invalid { message, findings } if !findings.is_empty() => {
            let parts: Vec<String> = findings.iter().map(|f| format!("{}: {}", f.field, f.message)).collect();
            format!("{message} ({})", parts.join("; "))
        }
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::page_of;

    #[test]
    fn page_images_are_known_by_their_档号_类号_序号_页号_names() {
        assert_eq!(page_of("images/A017-4-1-001-003.jpg"), Some(("images/A017-4-1-001", 3)));
        assert_eq!(page_of("A017-9-2-001-012.TIF"), Some(("A017-9-2-001", 12)));
        for not in [
            "scans/form.png",
            "A017-4-1-001-003.pdf",
            "A017-4-1-001-.jpg",
            "-003.jpg",
            "dir/-1.jpg",
            "x-0.jpg",
            "x-3a.jpg",
        ] {
            assert_eq!(page_of(not), None, "{not}");
        }
    }
}
