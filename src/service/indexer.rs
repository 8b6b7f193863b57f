//! Keeping the search index in step with the store, in two lanes so that a text upload never waits behind scans.
//!
//! **The text lane.** Every write that changes what a material's search document holds puts the material on a
//! durable queue in the same commit (`Archive::stage_index`). One background thread takes the queue in rounds:
//! extracts text where it is still pending (through the isolated [`Extractor`], OCR off), stores it encrypted,
//! updates the index, commits it, and only then removes the queue entries it handled.
//!
//! **The OCR lane.** A scan waiting for its text is also put on the OCR queue in that same commit; a PDF whose
//! text layer turns out (nearly) empty, or that its parser cannot read, is put there by the text lane in the commit
//! that removes its text-lane entry. Meanwhile the text lane indexes it by its catalogue fields (`text_status`
//! stays `pending`). The OCR lane's threads ([`Config::ocr_workers`]) read each one, store the text, and in one
//! commit put the material back on the text lane and remove the OCR entry; the text lane then makes the text
//! searchable and only then records the status `done`.
//!
//! **Text states.** A state (`pending`, `done`, `none`, `failed`, with an error and the pages found) belongs to a
//! content, not to a version: it is kept with the text, keyed by the blob address (`Table::TextStatus`). Filing
//! writes `pending` or `none` in its commit; the lanes record the outcome by writing that record alone — a
//! material's record and its versions are never rewritten for it (a version, once written, is immutable). A
//! record of an older store, which kept the state in itself, is read with that state until the lanes record one
//! (`Materials::text_state`).
//!
//! A crash at any point leaves entries on one queue or the other, and the next start finishes them: the index never
//! claims what the store lacks, and no acknowledged write is left unsearchable.
//!
//! [`Config::ocr_workers`]: super::Config::ocr_workers
//!
//! [`Extractor`]: crate::extract::Extractor

use super::Indexing;
use super::access::SystemRead;
use super::{Archive, Error, Inner, Result};
use crate::index::IndexDoc;
use crate::model::{Material, MaterialId, Person, PersonId, TextState, TextStatus, now_ts};
use crate::store::{Table, WriteSet};
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Condvar, Mutex, Weak};
use std::time::{Duration, Instant};

/// Progress of the queue: tickets handed out to commits, and tickets the indexer has finished.
#[derive(Default)]
pub struct Signal {
    state: Mutex<State>,
    cv: Condvar,
}

#[derive(Default)]
struct State {
    enqueued: u64,
    processed: u64,
    shutdown: bool,
}

impl Signal {
    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The ticket the next commit will carry (call under the write lock).
    pub fn next_ticket(&self) -> u64 {
        self.state().enqueued + 1
    }

    /// Tells the text lane's thread to end.
    pub(super) fn shut_down(&self) {
        self.state().shutdown = true;
        self.cv.notify_all();
    }

    #[cfg(test)]
    pub(super) fn is_shut_down(&self) -> bool {
        self.state().shutdown
    }
}

/// An entry of the text lane's queue. Stores written before the lanes hold the bare ticket.
#[derive(Clone, Copy, Debug, serde::Serialize, serde::Deserialize)]
#[serde(untagged)]
pub(crate) enum TextEntry {
    /// The ticket alone (an older store).
    Ticket(u64),
    /// The ticket of the commit that queued it, and when (Unix seconds).
    Entry {
        /// The commit's ticket.
        ticket: u64,
        /// When it was queued.
        at: i64,
    },
}

impl TextEntry {
    fn ticket(self) -> u64 {
        match self {
            TextEntry::Ticket(t) | TextEntry::Entry { ticket: t, .. } => t,
        }
    }

    fn at(self) -> Option<i64> {
        match self {
            TextEntry::Ticket(_) => None,
            TextEntry::Entry { at, .. } => Some(at),
        }
    }
}

/// An entry of the OCR lane's queue: the content to read (its blob address) and when it was queued.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
struct OcrEntry {
    address: String,
    at: i64,
}

/// The OCR lane's threads: the entries one of them is reading, and wake-ups.
#[derive(Default)]
pub struct OcrSignal {
    state: Mutex<OcrState>,
    cv: Condvar,
}

#[derive(Default)]
struct OcrState {
    claimed: HashSet<Vec<u8>>,
    wakes: u64,
    shutdown: bool,
}

impl OcrSignal {
    fn state(&self) -> std::sync::MutexGuard<'_, OcrState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn wake(&self) {
        self.state().wakes += 1;
        self.cv.notify_all();
    }

    /// Tells the OCR lane's threads to end.
    pub(super) fn shut_down(&self) {
        self.state().shutdown = true;
        self.cv.notify_all();
    }

    #[cfg(test)]
    pub(super) fn is_shut_down(&self) -> bool {
        self.state().shutdown
    }
}

/// An OCR thread's claim on a queue entry, released however the reading ends.
struct Claim<'a>(&'a OcrSignal, Vec<u8>);

impl Drop for Claim<'_> {
    fn drop(&mut self) {
        self.0.state().claimed.remove(&self.1);
        self.0.cv.notify_all();
    }
}

/// Depth of one lane's queue.
#[derive(Clone, Copy, Debug, Default, serde::Serialize)]
pub struct LaneStats {
    /// Materials waiting.
    pub depth: u64,
    /// Age of the oldest entry, in seconds (0 when empty).
    pub oldest_seconds: u64,
}

/// Depths of the two lanes (for `GET /api/v1/health`).
#[derive(Clone, Copy, Debug, Default, serde::Serialize)]
pub struct QueueStats {
    /// The text lane: text, documents, catalogue changes, deletions.
    pub text: LaneStats,
    /// The OCR lane: scans and image-only PDFs waiting to be read.
    pub ocr: LaneStats,
}

/// A text status to record: status, error, pages found.
type TextOutcome = (TextStatus, Option<String>, Option<u32>);

/// What the text lane found for a material: the text to index now, the status to record once it is searchable,
/// and whether the material goes to the OCR lane.
struct Found {
    text: String,
    status: Option<TextOutcome>,
    ocr: bool,
    /// Text extracted now, to store (sealed) in the batch's commit.
    new_text: Option<(crate::store::BlobAddress, StoredText)>,
}

/// Materials the text lane handles per Tantivy commit and store commit. A lone upload is a batch of one, so it
/// is searchable at once; an import fills batches, so commits are few.
const INDEX_BATCH: usize = 1024;

/// Extractions the text lane runs at a time: one per core (a PDF or DOCX each in its own worker process).
fn extraction_threads() -> usize {
    std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1).clamp(1, 8)
}

/// Extracted text of a blob, kept sealed in `texts`.
#[derive(serde::Serialize, serde::Deserialize)]
struct StoredText {
    text: String,
    pages: Option<u32>,
    /// Where each page starts in `text` (characters; see `Extracted::page_starts`); empty for formats without
    /// pages, and in texts stored before pages were kept apart.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    page_starts: Vec<u32>,
}

impl From<crate::extract::Extracted> for StoredText {
    fn from(ex: crate::extract::Extracted) -> Self {
        StoredText { text: ex.text, pages: ex.pages, page_starts: ex.page_starts }
    }
}

/// What `verify` found.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct VerifyReport {
    /// Blobs read, decrypted and re-hashed.
    pub blobs: usize,
    /// Bytes verified.
    pub bytes: u64,
    /// Blobs that failed (address and reason).
    pub corrupt: Vec<String>,
    /// Materials checked.
    pub materials: usize,
    /// Materials or versions whose blob is missing.
    pub missing: Vec<String>,
    /// Blobs with chunks but no descriptor: orphans a crash left, unreadable and harmless (not a failure).
    pub orphans: Vec<String>,
}

impl VerifyReport {
    /// Whether everything verified.
    pub fn ok(&self) -> bool {
        self.corrupt.is_empty() && self.missing.is_empty()
    }
}

pub(super) fn spawn(archive: Archive) {
    let weak: Weak<Inner> = Arc::downgrade(&archive.inner);
    let signal = archive.inner.indexer.clone();
    drop(archive);
    let spawned = std::thread::Builder::new().name("dangan-indexer".into()).spawn(move || run(weak, signal));
    if let Err(e) = spawned {
        tracing::error!(error = %e, "could not start the indexer thread");
    }
}

pub(super) fn spawn_ocr(archive: Archive) {
    let workers = archive.config().ocr_workers.max(1);
    let weak: Weak<Inner> = Arc::downgrade(&archive.inner);
    let signal = archive.inner.ocr.clone();
    drop(archive);
    for i in 0..workers {
        let (weak, signal) = (weak.clone(), signal.clone());
        let spawned = std::thread::Builder::new().name(format!("dangan-ocr-{i}")).spawn(move || run_ocr(weak, signal));
        if let Err(e) = spawned {
            tracing::error!(error = %e, "could not start an OCR lane thread");
        }
    }
}

/// An OCR lane thread: reads one queued material after another (those left by a crash first), then waits for
/// a wake-up, or two seconds. Between materials it keeps only a weak reference, so dropping the archive ends it.
fn run_ocr(weak: Weak<Inner>, signal: Arc<OcrSignal>) {
    loop {
        let seen = signal.state().wakes;
        let worked = match weak.upgrade() {
            Some(inner) => Archive::for_worker(inner).indexing().ocr_one(),
            None => return,
        };
        match worked {
            Ok(true) => {
                if signal.state().shutdown {
                    return;
                }
                continue;
            }
            Ok(false) => {}
            Err(e) => {
                tracing::error!(error = %e, "OCR lane failed; the queue keeps its entry and is retried");
                std::thread::sleep(Duration::from_millis(500));
            }
        }
        let st = signal.state();
        let (st, _) = signal
            .cv
            .wait_timeout_while(st, Duration::from_secs(2), |s| s.wakes == seen && !s.shutdown)
            .unwrap_or_else(|p| p.into_inner());
        if st.shutdown {
            return;
        }
    }
}

/// The indexer thread: a round at start (to finish what a crash left), then a round whenever a commit enqueues
/// work, and every two seconds. Between rounds it keeps only a weak reference, so dropping the archive ends it.
fn run(weak: Weak<Inner>, signal: Arc<Signal>) {
    loop {
        let target = signal.state().enqueued;
        match weak.upgrade() {
            Some(inner) => round(&Archive::for_worker(inner), target),
            None => return,
        }
        let st = signal.state();
        let (st, _) = signal
            .cv
            .wait_timeout_while(st, Duration::from_secs(2), |s| s.enqueued <= s.processed && !s.shutdown)
            .unwrap_or_else(|p| p.into_inner());
        if st.shutdown {
            return;
        }
    }
}

fn round(archive: &Archive, target: u64) {
    if let Err(e) = archive.indexing().process_queue() {
        tracing::error!(error = %e, "indexing round failed; the queue keeps its entries and is retried");
        std::thread::sleep(Duration::from_millis(500));
    }
    let signal = &archive.inner.indexer;
    let mut st = signal.state();
    st.processed = st.processed.max(target);
    signal.cv.notify_all();
}

impl Indexing<'_> {
    /// Marks a commit's queue entries as enqueued; returns the ticket to wait for.
    pub(crate) fn indexed_enqueued(&self) -> u64 {
        let ticket = {
            let signal = &self.inner.indexer;
            let mut st = signal.state();
            st.enqueued += 1;
            signal.cv.notify_all();
            st.enqueued
        };
        // The commit may have queued a scan for the OCR lane too.
        self.inner.ocr.wake();
        ticket
    }

    /// Queues a material's current content for the OCR lane (call under the write lock). An entry for the same
    /// content stays as it is (and keeps its age).
    pub(crate) fn stage_ocr(&self, ws: &mut WriteSet, m: &Material) -> Result<()> {
        if self.store().get::<OcrEntry>(Table::OcrQueue, m.id.as_bytes())?.is_some_and(|e| e.address == m.address) {
            return Ok(());
        }
        ws.put(Table::OcrQueue, m.id.as_bytes().to_vec(), &OcrEntry { address: m.address.clone(), at: now_ts() })?;
        Ok(())
    }

    /// Waits for a new content's text (an upload, a replacement): until the text lane has handled `ticket`, and
    /// then, while its text is still pending on the OCR lane, until it is done or failed — within the configured
    /// index wait in all. A scan that takes longer answers `pending`.
    pub(crate) fn wait_text(&self, ticket: u64, id: MaterialId) {
        let deadline = Instant::now() + self.config().index_wait;
        self.wait_indexed(ticket);
        loop {
            let pending = self
                .store()
                .get::<Material>(Table::Materials, id.as_bytes())
                .ok()
                .flatten()
                .and_then(|m| self.materials().text_state(&m).ok())
                .is_some_and(|t| t.status == TextStatus::Pending);
            let left = deadline.saturating_duration_since(Instant::now());
            if !pending || left.is_zero() {
                return;
            }
            let signal = &self.inner.indexer;
            let st = signal.state();
            if st.shutdown {
                return;
            }
            let _ = signal.cv.wait_timeout(st, left.min(Duration::from_millis(100)));
        }
    }

    /// Depth and age of both lanes' queues.
    pub fn queue_stats(&self) -> Result<QueueStats> {
        let now = now_ts();
        let age = |oldest: Option<i64>| oldest.map(|at| now.saturating_sub(at).max(0) as u64).unwrap_or(0);
        let text: Vec<(Vec<u8>, TextEntry)> = self.store().scan(Table::IndexQueue, b"")?;
        let ocr: Vec<(Vec<u8>, OcrEntry)> = self.store().scan(Table::OcrQueue, b"")?;
        Ok(QueueStats {
            text: LaneStats {
                depth: text.len() as u64,
                oldest_seconds: age(text.iter().filter_map(|(_, e)| e.at()).min()),
            },
            ocr: LaneStats { depth: ocr.len() as u64, oldest_seconds: age(ocr.iter().map(|(_, e)| e.at).min()) },
        })
    }

    /// Takes one entry of the OCR queue no other OCR thread holds and reads it. Whether there was one.
    fn ocr_one(&self) -> Result<bool> {
        let signal = &self.inner.ocr;
        let key = {
            let mut st = signal.state();
            let keys = self.store().keys_under_limit(Table::OcrQueue, st.claimed.len() + 1)?;
            let Some(key) = keys.into_iter().find(|k| !st.claimed.contains(k)) else {
                return Ok(false);
            };
            st.claimed.insert(key.clone());
            key
        };
        let _claim = Claim(signal, key.clone());
        self.read_by_ocr(&key)?;
        Ok(true)
    }

    /// Reads a queued material by OCR, stores the text and hands the material back to the text lane in the commit
    /// that removes its OCR entry; or records why there is no text.
    fn read_by_ocr(&self, key: &[u8]) -> Result<()> {
        let Some(entry) = self.store().get::<OcrEntry>(Table::OcrQueue, key)? else { return Ok(()) };
        let material = match MaterialId::from_slice(key) {
            Some(id) => self.store().get::<Material>(Table::Materials, id.as_bytes())?,
            None => None,
        };
        let wanted = match material {
            Some(m) if m.destroyed_by.is_none() && m.address == entry.address => {
                (self.materials().text_state(&m)?.status == TextStatus::Pending).then_some(m)
            }
            _ => None,
        };
        let mut back_to_text_lane = None;
        if let Some(m) = wanted {
            let addr: crate::store::BlobAddress =
                m.address.parse().map_err(|_| Error::Corrupt(format!("bad address {}", m.address)))?;
            let permit = self.system_permit(&m, SystemRead::Ocr);
            if self.stored_text::<StoredText>(&permit, &m)?.is_some() {
                back_to_text_lane = Some(m.id);
            } else {
                self.operations().metrics().ocr_read.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                match self.read_content(&permit, &m) {
                    // One unreadable material must not hold up the lane: logged, and left to verify.
                    Err(e) => tracing::error!(material = %m.id, error = %e, "stored file unreadable; not read by OCR"),
                    Ok(bytes) => match self.inner.extractor.extract(&m.mime, &bytes) {
                        Ok(Some(ex)) => {
                            let mut ws = self.store().write_set();
                            self.store().stage_text(&mut ws, &addr, &StoredText::from(ex))?;
                            self.store().commit_unflushed(ws)?;
                            back_to_text_lane = Some(m.id);
                        }
                        Ok(None) => self.record_text_status(&m, TextStatus::None, None, None)?,
                        Err(e) => {
                            tracing::warn!(material = %m.id, error = %e, "OCR failed; the file stays stored");
                            self.record_text_status(&m, TextStatus::Failed, Some(e.to_string()), None)?;
                        }
                    },
                }
            }
        }
        let enqueued = {
            let _guard = self.lock();
            let mut ws = self.store().write_set();
            if let Some(id) = back_to_text_lane {
                self.filing().stage_index(&mut ws, id)?;
            }
            if self.store().get::<OcrEntry>(Table::OcrQueue, key)?.is_some_and(|e| e.address == entry.address) {
                ws.delete(Table::OcrQueue, key.to_vec());
            }
            self.store().commit(ws)?;
            back_to_text_lane.is_some()
        };
        if enqueued {
            self.indexed_enqueued();
        }
        Ok(())
    }

    /// Waits (bounded by the configured index wait) until the indexer has handled `ticket`.
    pub fn wait_indexed(&self, ticket: u64) {
        let signal = &self.inner.indexer;
        let st = signal.state();
        let _ = signal
            .cv
            .wait_timeout_while(st, self.config().index_wait, |s| s.processed < ticket && !s.shutdown)
            .unwrap_or_else(|p| p.into_inner());
    }

    /// Waits until both lanes' queues are empty (bulk loads, tests), at most `timeout`. Returns whether they
    /// emptied. (A material moves from one queue to the other in one commit, so both are never empty while work
    /// is left.)
    pub fn wait_queue_empty(&self, timeout: Duration) -> Result<bool> {
        let deadline = Instant::now() + timeout;
        loop {
            let text_empty = self.store().keys_under_limit(Table::IndexQueue, 1)?.is_empty();
            let ocr_empty = self.store().keys_under_limit(Table::OcrQueue, 1)?.is_empty();
            if text_empty && ocr_empty {
                return Ok(true);
            }
            if Instant::now() > deadline {
                return Ok(false);
            }
            if !text_empty {
                let ticket = self.indexed_enqueued();
                self.wait_indexed(ticket);
            } else {
                let signal = &self.inner.ocr;
                let st = signal.state();
                if st.shutdown {
                    return Ok(false);
                }
                let _ = signal.cv.wait_timeout(st, Duration::from_millis(200));
            }
        }
    }

    /// Handles the queue until it is empty, in batches of up to [`INDEX_BATCH`] materials: their texts are
    /// extracted in parallel, indexed with one Tantivy commit, then their texts, text statuses, hand-overs to the
    /// OCR lane and queue removals are written in one store commit — so a material says its text is done only
    /// once that text is searchable, and a crash anywhere leaves its queue entry to handle again.
    fn process_queue(&self) -> Result<()> {
        loop {
            let entries: Vec<(Vec<u8>, TextEntry)> = self.store().scan(Table::IndexQueue, b"")?;
            if entries.is_empty() {
                return Ok(());
            }
            for chunk in entries.chunks(INDEX_BATCH) {
                self.index_batch(chunk)?;
            }
        }
    }

    fn index_batch(&self, chunk: &[(Vec<u8>, TextEntry)]) -> Result<()> {
        let mut destroyed = false;
        let mut live = Vec::with_capacity(chunk.len());
        for (k, _) in chunk {
            let Some(id) = MaterialId::from_slice(k) else {
                continue;
            };
            match self.store().get::<Material>(Table::Materials, id.as_bytes())? {
                None => self.index().delete(&id.to_string()),
                Some(m) if m.destroyed_by.is_some() => {
                    self.index().delete(&id.to_string());
                    destroyed = true;
                }
                Some(m) => live.push(m),
            }
        }
        let found = self.texts_of(&live);
        let mut persons: HashMap<PersonId, Option<Person>> = HashMap::new();
        let mut docs = Vec::with_capacity(live.len());
        let mut outcomes = Vec::new();
        for (m, found) in live.iter().zip(found) {
            // One unreadable material must not hold up the queue: it is indexed by its catalogue fields and the
            // failure is logged (verify names it too).
            let text = match found {
                Ok(found) => {
                    let text = found.text.clone();
                    outcomes.push((m, found));
                    text
                }
                Err(e) => {
                    tracing::error!(material = %m.id, error = %e, "text not available; indexed by catalogue fields");
                    String::new()
                }
            };
            let person = persons
                .entry(m.person_id)
                .or_insert_with(|| self.store().get(Table::Persons, m.person_id.as_bytes()).ok().flatten());
            docs.push(self.index_doc(m, person.as_ref(), text));
        }
        self.index().upsert(&docs)?;
        self.index().commit()?;
        self.operations().metrics().indexed.fetch_add(docs.len() as u64, std::sync::atomic::Ordering::Relaxed);
        if destroyed {
            // A destroyed material's terms stay in its segment until that segment is merged: merge now, so no
            // file of the index holds them any more.
            self.index().purge_deleted()?;
        }
        let guard = self.lock();
        let mut ws = self.store().write_set();
        let mut to_ocr = false;
        for (m, found) in outcomes {
            if let Some((addr, text)) = &found.new_text {
                self.store().stage_text(&mut ws, addr, text)?;
            }
            if let Some((status, error, pages)) = found.status {
                self.stage_text_status(&mut ws, m, status, error, pages)?;
            }
            // Handed to the OCR lane in the commit that removes the text lane's entry: nothing is lost between.
            if found.ocr {
                self.stage_ocr(&mut ws, m)?;
                to_ocr = true;
            }
        }
        for (k, entry) in chunk {
            let current = self.store().get::<TextEntry>(Table::IndexQueue, k)?;
            if current.map(TextEntry::ticket) == Some(entry.ticket()) {
                ws.delete(Table::IndexQueue, k.clone());
            }
        }
        self.store().commit(ws)?;
        drop(guard);
        if to_ocr {
            self.inner.ocr.wake();
        }
        // The lane reads a material's current content only: content replaced before it came to it would stay
        // pending for ever. The version before the current one is read now if so (rare: a quick correction).
        for m in live.iter().filter(|m| m.version > 1) {
            let key = super::version_key(m.id.as_bytes(), m.version - 1);
            let Ok(Some(v)) = self.store().get::<crate::model::MaterialVersion>(Table::MaterialVersions, &key) else {
                continue;
            };
            let pending = self.materials().text_state(&v.material).is_ok_and(|s| s.status == TextStatus::Pending);
            if pending
                && v.material.address != m.address
                && let Err(e) = self.settle_superseded(&v.material)
            {
                tracing::warn!(material = %m.id, version = v.number, error = %e, "text of an earlier version not read");
            }
        }
        Ok(())
    }

    /// The texts of `materials`, extracted by up to [`extraction_threads`] threads at a time (PDFs and DOCX in
    /// their own sandboxed worker process each, plain text in this one), in the materials' order.
    fn texts_of(&self, materials: &[Material]) -> Vec<Result<Found>> {
        let threads = extraction_threads().min(materials.len());
        if threads <= 1 {
            return materials.iter().map(|m| self.ensure_text(m)).collect();
        }
        let next = std::sync::atomic::AtomicUsize::new(0);
        let mut found: Vec<(usize, Result<Found>)> = std::thread::scope(|s| {
            let workers: Vec<_> = (0..threads)
                .map(|_| {
                    s.spawn(|| {
                        let mut out = Vec::new();
                        loop {
                            let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                            let Some(m) = materials.get(i) else { return out };
                            out.push((i, self.ensure_text(m)));
                        }
                    })
                })
                .collect();
            workers.into_iter().flat_map(|w| w.join().unwrap_or_else(|_| Vec::new())).collect()
        });
        found.sort_by_key(|(i, _)| *i);
        // A worker thread that panicked lost its results: those materials are reported as failed reads.
        let mut out = Vec::with_capacity(materials.len());
        let mut found = found.into_iter().peekable();
        for i in 0..materials.len() {
            match found.next_if(|(j, _)| *j == i) {
                Some((_, r)) => out.push(r),
                None => out.push(Err(Error::Internal("text extraction thread failed".into()))),
            }
        }
        out
    }

    fn index_doc(&self, m: &Material, person: Option<&Person>, body: String) -> IndexDoc {
        IndexDoc {
            material_id: m.id.to_string(),
            person_id: m.person_id.to_string(),
            names: person.map(|p| p.all_names()).unwrap_or_default(),
            title: m.meta.title.clone(),
            categories: self.scheme().lineage(&m.meta.category),
            department: person.map(|p| p.department.clone()).unwrap_or_default(),
            tags: m.meta.tags.clone(),
            family: person.map(|p| p.relatives().iter().map(|r| r.to_string()).collect()).unwrap_or_default(),
            secrecy: u64::from(m.meta.secrecy.unwrap_or(0)),
            formed: m.meta.formed_on.map(|d| d.first_day().midnight().assume_utc().unix_timestamp()),
            body,
        }
    }

    /// The text of a material's current bytes: from the store, or extracted now (OCR off) if still pending; with
    /// the text status to record once the text is searchable. A scan, or a PDF that needs OCR, goes to the OCR
    /// lane instead, and is indexed by its catalogue fields meanwhile.
    fn ensure_text(&self, m: &Material) -> Result<Found> {
        let addr: crate::store::BlobAddress =
            m.address.parse().map_err(|_| Error::Corrupt(format!("bad address {}", m.address)))?;
        let permit = self.system_permit(m, SystemRead::Indexing);
        let pending = self.materials().text_state(m)?.status == TextStatus::Pending;
        if let Some(t) = self.stored_text::<StoredText>(&permit, m)? {
            let status = pending.then_some((TextStatus::Done, None, t.pages));
            return Ok(Found { text: t.text, status, ocr: false, new_text: None });
        }
        if !pending {
            return Ok(Found { text: String::new(), status: None, ocr: false, new_text: None });
        }
        let to_ocr = Found { text: String::new(), status: None, ocr: true, new_text: None };
        let extractor = &self.inner.extractor;
        if extractor.is_scan(&m.mime) {
            return Ok(to_ocr);
        }
        let bytes = self.read_content(&permit, m)?;
        let found = extractor.without_ocr().extract(&m.mime, &bytes);
        if extractor.wants_ocr(&m.mime, &found) {
            return Ok(to_ocr);
        }
        let (status, error, stored) = match found {
            Ok(Some(ex)) => (TextStatus::Done, None, Some(StoredText::from(ex))),
            Ok(None) => (TextStatus::None, None, None),
            Err(e) => {
                tracing::warn!(material = %m.id, error = %e, "text extraction failed; the file stays stored");
                (TextStatus::Failed, Some(e.to_string()), None)
            }
        };
        let pages = stored.as_ref().and_then(|s| s.pages);
        let text = stored.as_ref().map(|s| s.text.clone()).unwrap_or_default();
        Ok(Found { text, status: Some((status, error, pages)), ocr: false, new_text: stored.map(|s| (addr, s)) })
    }

    /// Extracts and stores the text of a material's earlier content that was replaced before the text lane read
    /// it (the lane reads a material's current content only, so that state would stay pending for ever). A scan
    /// is left pending: OCR runs in its lane only.
    pub(crate) fn settle_superseded(&self, m: &Material) -> Result<()> {
        let found = self.ensure_text(m)?;
        if found.ocr {
            return Ok(());
        }
        let _guard = self.lock();
        let mut ws = self.store().write_set();
        if let Some((addr, text)) = &found.new_text {
            self.store().stage_text(&mut ws, addr, text)?;
        }
        if let Some((status, error, pages)) = found.status {
            self.stage_text_status(&mut ws, m, status, error, pages)?;
        }
        self.store().commit(ws)?;
        Ok(())
    }

    fn record_text_status(
        &self,
        m: &Material,
        status: TextStatus,
        error: Option<String>,
        pages: Option<u32>,
    ) -> Result<()> {
        let _guard = self.lock();
        let mut ws = self.store().write_set();
        self.stage_text_status(&mut ws, m, status, error, pages)?;
        self.store().commit(ws)?;
        Ok(())
    }

    /// Stages the text state of a material's content (call under the write lock): the state's own record, by
    /// blob address — the material's record and its versions are not touched. The state is the content's, so it
    /// holds whether or not the material has new content meanwhile (new content has its own, and is queued).
    fn stage_text_status(
        &self,
        ws: &mut WriteSet,
        m: &Material,
        status: TextStatus,
        error: Option<String>,
        pages: Option<u32>,
    ) -> Result<()> {
        let addr: crate::store::BlobAddress =
            m.address.parse().map_err(|_| Error::Corrupt(format!("bad address {}", m.address)))?;
        ws.put(Table::TextStatus, addr.as_bytes().to_vec(), &TextState { status, error, pages })?;
        Ok(())
    }

    /// Whether the index must be rebuilt from the store: it is empty while the store holds materials (it was
    /// deleted, or a new version changed its schema).
    pub fn needs_rebuild(&self) -> Result<bool> {
        Ok(self.index().num_docs() == 0 && !self.store().keys_under_limit(Table::Materials, 1)?.is_empty())
    }

    /// Rebuilds the search index from the store. Returns the number of materials indexed.
    pub fn reindex(&self) -> Result<usize> {
        let _guard = self.lock();
        self.index().clear()?;
        let mut persons: HashMap<PersonId, Option<Person>> = HashMap::new();
        let mut count = 0;
        let mut docs = Vec::new();
        for (_, m) in self.store().scan::<Material>(Table::Materials, b"")? {
            if m.destroyed_by.is_some() {
                continue;
            }
            let text = self.text_of(&m, SystemRead::Indexing)?;
            let person = persons
                .entry(m.person_id)
                .or_insert_with(|| self.store().get(Table::Persons, m.person_id.as_bytes()).ok().flatten());
            docs.push(self.index_doc(&m, person.as_ref(), text));
            count += 1;
            if docs.len() >= 1000 {
                self.index().upsert(&docs)?;
                docs.clear();
            }
        }
        self.index().upsert(&docs)?;
        self.index().commit()?;
        Ok(count)
    }

    /// Re-reads, decrypts and re-hashes every blob, and checks every material version's blob exists.
    /// Reports orphan blobs (chunks without a descriptor).
    pub fn verify(&self) -> Result<VerifyReport> {
        let mut r = VerifyReport::default();
        for addr in self.store().blob_addresses()? {
            r.blobs += 1;
            match self.check_blob(&addr) {
                Ok(n) => r.bytes += n,
                Err(e) => r.corrupt.push(format!("{addr}: {e}")),
            }
        }
        for (_, v) in self.store().scan::<crate::model::MaterialVersion>(Table::MaterialVersions, b"")? {
            if v.number == v.material.version && v.material.version == 1 {
                r.materials += 1;
            }
            let Ok(addr) = v.material.address.parse() else {
                r.missing.push(format!("material {} v{}: bad address", v.material.id, v.number));
                continue;
            };
            let destroyed = self
                .store()
                .get::<Material>(Table::Materials, v.material.id.as_bytes())?
                .is_some_and(|m| m.destroyed_by.is_some());
            if !destroyed && self.store().blob_info(&addr)?.is_none() {
                r.missing.push(format!("material {} v{}: blob {addr} missing", v.material.id, v.number));
            }
            for (n, page) in v.material.page_images.iter().enumerate() {
                let Some(a) = &page.address else { continue };
                match a.parse() {
                    Ok(a) if destroyed || self.store().blob_info(&a)?.is_some() => {}
                    Ok(a) => r.missing.push(format!(
                        "material {} v{} page {}: blob {a} missing",
                        v.material.id,
                        v.number,
                        n + 1
                    )),
                    Err(_) => {
                        r.missing.push(format!("material {} v{} page {}: bad address", v.material.id, v.number, n + 1))
                    }
                }
            }
        }
        r.orphans = self.store().orphan_blobs(|| self.lock())?.iter().map(ToString::to_string).collect();
        Ok(r)
    }

    /// Removes orphan blobs' chunks, confirming each under the write lock (`Store::collect_orphans`); how many.
    pub fn collect_orphans(&self) -> Result<usize> {
        Ok(self.store().collect_orphans(|| self.lock())?.len())
    }

    /// The extracted text of a material's current bytes (empty when none).
    pub(crate) fn text_of(&self, m: &Material, why: SystemRead) -> Result<String> {
        if m.address.parse::<crate::store::BlobAddress>().is_err() {
            return Ok(String::new());
        }
        Ok(self.stored_text::<StoredText>(&self.system_permit(m, why), m)?.map(|t| t.text).unwrap_or_default())
    }

    /// The extracted text of a material's current bytes (empty when none), with where its pages start (empty
    /// when the text has no pages, or was stored before pages were kept apart).
    pub(crate) fn text_and_page_starts_of(&self, m: &Material, why: SystemRead) -> Result<(String, Vec<u32>)> {
        if m.address.parse::<crate::store::BlobAddress>().is_err() {
            return Ok(Default::default());
        }
        let stored = self.stored_text::<StoredText>(&self.system_permit(m, why), m)?;
        Ok(stored.map(|t| (t.text, t.page_starts)).unwrap_or_default())
    }

    /// Whether any file of the search index still holds `word` as a term, deleted documents included (for
    /// verification and tests: a destroyed material's words must be gone).
    pub fn index_holds_term(&self, word: &str) -> bool {
        self.index().holds_term(word)
    }

    /// Number of documents the index holds.
    pub fn indexed_count(&self) -> u64 {
        self.index().num_docs()
    }

    /// Whether the index holds a material (tests of crash recovery).
    pub fn is_indexed(&self, id: MaterialId) -> Result<bool> {
        self.index().contains(&id.to_string()).map_err(Error::from)
    }
}

#[cfg(test)]
mod tests {
    use super::TextEntry;
    use crate::model::{Material, MaterialId, MaterialMeta, MaterialVersion, PersonId, TextState, TextStatus};
    use crate::store::{Kv, MemKv, Store, Table};
    use std::sync::Arc;

    /// An archive over a store whose sealed bytes the test reads, its workers not started.
    fn archive() -> (Arc<MemKv>, super::Archive) {
        let kv = Arc::new(MemKv::default());
        let store = Store::open(kv.clone(), &crate::crypto::MasterKey::generate().unwrap()).unwrap();
        let index = crate::index::SearchIndex::in_memory(Arc::new(jieba_rs::Jieba::new())).unwrap();
        let extractor = crate::extract::Extractor::in_thread(std::time::Duration::from_secs(5));
        let spool = super::super::SpoolDir::temporary().unwrap();
        (kv, super::Archive::new(store, index, extractor, Default::default(), spool).unwrap())
    }

    /// A material with version 1, stored as an older version wrote it when `legacy` is given (its status in the
    /// record), else as filed today.
    fn put_material(archive: &super::Archive, address: &str, legacy: Option<TextStatus>) -> Material {
        let m = Material {
            id: MaterialId::new(),
            person_id: PersonId::new(),
            meta: MaterialMeta { category: "3".into(), title: "考核登记表".into(), ..MaterialMeta::default() },
            version: 1,
            content_hash: "00".into(),
            address: address.into(),
            size: 1,
            mime: "application/pdf".into(),
            file_name: None,
            legacy_text_status: legacy,
            legacy_text_error: legacy.filter(|s| *s == TextStatus::Failed).map(|_| "unreadable".into()),
            legacy_detected_pages: None,
            created_at: 1,
            created_by: "hr".into(),
            updated_at: 1,
            updated_by: "hr".into(),
            batch_id: None,
            destroyed_by: None,
            awaiting_filing: false,
            page_images: Vec::new(),
        };
        let v = MaterialVersion { number: 1, material: m.clone(), author: "hr".into(), at: 1, reason: None };
        let mut ws = archive.store().write_set();
        ws.put(Table::Materials, m.id.as_bytes().to_vec(), &m).unwrap();
        ws.put(Table::MaterialVersions, super::super::version_key(m.id.as_bytes(), 1), &v).unwrap();
        archive.store().commit(ws).unwrap();
        m
    }

    fn sealed(kv: &MemKv, m: &Material) -> Vec<Option<Vec<u8>>> {
        let vkey = super::super::version_key(m.id.as_bytes(), 1);
        vec![kv.get(Table::Materials, m.id.as_bytes()).unwrap(), kv.get(Table::MaterialVersions, &vkey).unwrap()]
    }

    #[test]
    fn a_version_replaced_before_the_lane_read_it_is_compared_once_its_text_is_extracted_on_demand() {
        // No workers: the text lane never runs, as when a new version comes before the lane reached the old one.
        let (_, a) = archive();
        use super::super::testing::{loader, meta, person};
        let pid = person(&a, "甲", "legal");
        let hr = loader();
        let v1 = "劳动合同书\n\n第一条 工作地点为杭州市。\n\n第二条 月工资6500元。";
        let id =
            a.filing().add(&hr, pid, meta("10", "劳动合同书", &["contract"]), v1.as_bytes(), None, false).unwrap().id;
        let v2 = v1.replace("6500", "7000");
        a.filing().replace(&hr, id, Some(1), v2.as_bytes(), None, None).unwrap();
        let version =
            |n: u32| a.materials().versions(&hr, id).unwrap().into_iter().find(|v| v.record.number == n).unwrap();
        assert_eq!(version(1).text.status, TextStatus::Pending, "the lane never read version 1");
        // The current version is the lane's: 409 until it has read it. Version 1 is extracted by the comparison.
        assert!(matches!(a.comparisons().diff(&hr, id, 1, 2), Err(super::Error::Conflict(_))));
        assert_eq!(version(1).text.status, TextStatus::Done);
        let same = a.comparisons().diff(&hr, id, 1, 1).unwrap();
        assert_eq!(same.changed, 0);
        assert!(same.paragraphs.iter().any(|p| p.old.as_deref().is_some_and(|t| t.contains("6500"))));

        // The lane itself, reading a material's new content, reads the one it replaced if still pending.
        let w1 = "保密协议\n\n第一条 保密期限为二年。";
        let other =
            a.filing().add(&hr, pid, meta("10", "保密协议", &["contract"]), w1.as_bytes(), None, false).unwrap().id;
        a.filing().replace(&hr, other, Some(1), "保密协议\n\n第一条 保密期限为三年。".as_bytes(), None, None).unwrap();
        a.indexing().process_queue().unwrap();
        let states: Vec<TextStatus> =
            a.materials().versions(&hr, other).unwrap().into_iter().map(|v| v.text.status).collect();
        assert_eq!(states, [TextStatus::Done, TextStatus::Done]);
        assert_eq!(a.comparisons().diff(&hr, other, 1, 2).unwrap().changed, 1);
    }

    #[test]
    fn recording_a_text_status_writes_its_own_record_and_never_the_material_or_its_version() {
        let (kv, archive) = archive();
        let (old, new) = ("ab".repeat(32), "cd".repeat(32));
        let older = put_material(&archive, &old, Some(TextStatus::Pending));
        let today = put_material(&archive, &new, None);
        let failed = put_material(&archive, &"ef".repeat(32), Some(TextStatus::Failed));
        let written: Vec<_> = [&older, &today, &failed].map(|m| sealed(&kv, m)).to_vec();

        // Before the lanes record anything: an older record shows its own status, one of today `pending`.
        let state = |m: &Material| archive.materials().text_state(m).unwrap();
        assert_eq!(state(&older), TextState::of(TextStatus::Pending));
        assert_eq!(state(&today), TextState::of(TextStatus::Pending));
        let unreadable = TextState { error: Some("unreadable".into()), ..TextState::of(TextStatus::Failed) };
        assert_eq!(state(&failed), unreadable);

        archive.indexing().record_text_status(&older, TextStatus::Done, None, Some(2)).unwrap();
        archive.indexing().record_text_status(&today, TextStatus::Failed, Some("too large".into()), None).unwrap();
        assert_eq!(state(&older), TextState { pages: Some(2), ..TextState::of(TextStatus::Done) });
        assert_eq!(state(&today), TextState { error: Some("too large".into()), ..TextState::of(TextStatus::Failed) });
        assert_eq!(state(&failed), unreadable, "a content without a recorded state keeps its record's own");
        let now: Vec<_> = [&older, &today, &failed].map(|m| sealed(&kv, m)).to_vec();
        assert!(now == written, "the material records and their versions are as written");
        assert_eq!(kv.scan(Table::TextStatus, b"", None, usize::MAX).unwrap().len(), 2, "one state per content");

        // The service shows the version with its content's state.
        let v: MaterialVersion = archive
            .store()
            .get(Table::MaterialVersions, &super::super::version_key(older.id.as_bytes(), 1))
            .unwrap()
            .unwrap();
        let shown = archive.materials().version_with_text(v).unwrap();
        assert_eq!((shown.number, shown.text.status, shown.text.pages), (1, TextStatus::Done, Some(2)));
    }

    #[test]
    fn a_text_lane_entry_of_an_older_store_still_reads() {
        let old: TextEntry = serde_json::from_str("7").unwrap();
        assert_eq!((old.ticket(), old.at()), (7, None));
        let new = serde_json::to_string(&TextEntry::Entry { ticket: 9, at: 1_700_000_000 }).unwrap();
        let new: TextEntry = serde_json::from_str(&new).unwrap();
        assert_eq!((new.ticket(), new.at()), (9, Some(1_700_000_000)));
    }
}
