//! Keeping the search index in step with the store. Every write that changes what a material's search document
//! holds puts the material on a durable queue in the same commit ([`Archive::stage_index`]). A background thread
//! takes the queue in rounds: extracts text where it is still pending (through the isolated [`Extractor`]),
//! stores it encrypted, updates the index, commits it, and only then removes the queue entries it handled. A
//! crash at any point leaves entries on the queue, and the next start finishes them: the index never claims
//! what the store lacks, and no acknowledged write is left unsearchable.
//!
//! [`Extractor`]: crate::extract::Extractor

use super::{Archive, Error, Inner, Result};
use crate::index::IndexDoc;
use crate::model::{Material, MaterialId, Person, PersonId, TextStatus};
use crate::store::Table;
use std::collections::HashMap;
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
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.indexer.state().shutdown = true;
        self.indexer.cv.notify_all();
        self.audit.shut_down();
        self.audit.flush_on_drop(&self.store);
    }
}

/// A text status to record: status, error, pages found.
type TextOutcome = (TextStatus, Option<String>, Option<u32>);

/// Extracted text of a blob, kept sealed in `texts`.
#[derive(serde::Serialize, serde::Deserialize)]
struct StoredText {
    text: String,
    pages: Option<u32>,
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

/// The indexer thread: a round at start (to finish what a crash left), then a round whenever a commit enqueues
/// work, and every two seconds. Between rounds it keeps only a weak reference, so dropping the archive ends it.
fn run(weak: Weak<Inner>, signal: Arc<Signal>) {
    loop {
        let target = signal.state().enqueued;
        match weak.upgrade() {
            Some(inner) => round(&Archive { inner }, target),
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
    if let Err(e) = archive.process_queue() {
        tracing::error!(error = %e, "indexing round failed; the queue keeps its entries and is retried");
        std::thread::sleep(Duration::from_millis(500));
    }
    let signal = &archive.inner.indexer;
    let mut st = signal.state();
    st.processed = st.processed.max(target);
    signal.cv.notify_all();
}

impl Archive {
    /// Marks a commit's queue entries as enqueued; returns the ticket to wait for.
    pub(crate) fn indexed_enqueued(&self) -> u64 {
        let signal = &self.inner.indexer;
        let mut st = signal.state();
        st.enqueued += 1;
        signal.cv.notify_all();
        st.enqueued
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

    /// Waits until the queue is empty (bulk loads, tests), at most `timeout`. Returns whether it emptied.
    pub fn wait_queue_empty(&self, timeout: Duration) -> Result<bool> {
        let deadline = Instant::now() + timeout;
        loop {
            if self.store().keys_under(Table::IndexQueue, b"")?.is_empty() {
                return Ok(true);
            }
            if Instant::now() > deadline {
                return Ok(false);
            }
            let ticket = self.indexed_enqueued();
            self.wait_indexed(ticket);
        }
    }

    /// Handles the queue until it is empty.
    fn process_queue(&self) -> Result<()> {
        loop {
            let entries: Vec<(Vec<u8>, u64)> = self.store().scan(Table::IndexQueue, b"")?;
            if entries.is_empty() {
                return Ok(());
            }
            for chunk in entries.chunks(256) {
                let mut persons: HashMap<PersonId, Option<Person>> = HashMap::new();
                let mut docs = Vec::with_capacity(chunk.len());
                let mut statuses = Vec::new();
                let mut destroyed = false;
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
                        Some(m) => {
                            // One unreadable material must not hold up the queue: it is indexed by its
                            // catalogue fields and the failure is logged (verify names it too).
                            let text = match self.ensure_text(&m) {
                                Ok((text, status)) => {
                                    statuses.extend(status.map(|s| (m.clone(), s)));
                                    text
                                }
                                Err(e) => {
                                    tracing::error!(material = %m.id, error = %e, "text not available; indexed by catalogue fields");
                                    String::new()
                                }
                            };
                            let person = persons.entry(m.person_id).or_insert_with(|| {
                                self.store().get(Table::Persons, m.person_id.as_bytes()).ok().flatten()
                            });
                            docs.push(self.index_doc(&m, person.as_ref(), text));
                        }
                    }
                }
                self.index().upsert(&docs)?;
                self.index().commit()?;
                if destroyed {
                    // A destroyed material's terms stay in its segment until that segment is merged: merge now,
                    // so no file of the index holds them any more.
                    self.index().purge_deleted()?;
                }
                // A material says its text is done only once that text is searchable.
                for (m, (status, error, pages)) in statuses.drain(..) {
                    self.record_text_status(&m, status, error, pages)?;
                }
                let _guard = self.lock();
                let mut ws = self.store().write_set();
                for (k, ticket) in chunk {
                    if self.store().get::<u64>(Table::IndexQueue, k)? == Some(*ticket) {
                        ws.delete(Table::IndexQueue, k.clone());
                    }
                }
                self.store().commit(ws)?;
            }
        }
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

    /// The text of a material's current bytes: extracted now if still pending, else from the store; with the
    /// text status to record once the text is searchable.
    fn ensure_text(&self, m: &Material) -> Result<(String, Option<TextOutcome>)> {
        let addr: crate::store::BlobAddress =
            m.address.parse().map_err(|_| Error::Corrupt(format!("bad address {}", m.address)))?;
        if let Some(t) = self.store().read_text::<StoredText>(&addr)? {
            let status = (m.text_status == TextStatus::Pending).then_some((TextStatus::Done, None, t.pages));
            return Ok((t.text, status));
        }
        if m.text_status != TextStatus::Pending {
            return Ok((String::new(), None));
        }
        let bytes = self.read_address(&m.address)?;
        let (status, error, stored) = match self.inner.extractor.extract(&m.mime, &bytes) {
            Ok(Some(ex)) => (TextStatus::Done, None, Some(StoredText { text: ex.text, pages: ex.pages })),
            Ok(None) => (TextStatus::None, None, None),
            Err(e) => {
                tracing::warn!(material = %m.id, error = %e, "text extraction failed; the file stays stored");
                (TextStatus::Failed, Some(e.to_string()), None)
            }
        };
        let pages = stored.as_ref().and_then(|s| s.pages);
        if let Some(s) = &stored {
            let mut ws = self.store().write_set();
            self.store().stage_text(&mut ws, &addr, s)?;
            self.store().commit_unflushed(ws)?;
        }
        Ok((stored.map(|s| s.text).unwrap_or_default(), Some((status, error, pages))))
    }

    fn record_text_status(
        &self,
        m: &Material,
        status: TextStatus,
        error: Option<String>,
        pages: Option<u32>,
    ) -> Result<()> {
        let _guard = self.lock();
        let Some(mut current) = self.store().get::<Material>(Table::Materials, m.id.as_bytes())? else {
            return Ok(());
        };
        if current.version != m.version {
            return Ok(()); // a newer version is queued and will be handled on its own
        }
        current.text_status = status;
        current.text_error = error;
        current.detected_pages = pages;
        let vkey = crate::store::key(&[m.id.as_bytes(), &m.version.to_be_bytes()]);
        let mut ws = self.store().write_set();
        if let Some(mut v) = self.store().get::<crate::model::MaterialVersion>(Table::MaterialVersions, &vkey)? {
            v.material = current.clone();
            ws.put(Table::MaterialVersions, vkey, &v)?;
        }
        ws.put(Table::Materials, m.id.as_bytes().to_vec(), &current)?;
        self.store().commit(ws)?;
        Ok(())
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
            let text = self.text_of(&m)?;
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
    pub fn verify(&self) -> Result<VerifyReport> {
        let mut r = VerifyReport::default();
        for addr in self.store().blob_addresses()? {
            r.blobs += 1;
            match self.store().read_blob(&addr) {
                Ok(b) => r.bytes += b.len() as u64,
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
        }
        Ok(r)
    }

    /// The extracted text of a material's current bytes (empty when none).
    pub(crate) fn text_of(&self, m: &Material) -> Result<String> {
        let Ok(addr) = m.address.parse::<crate::store::BlobAddress>() else { return Ok(String::new()) };
        Ok(self.store().read_text::<StoredText>(&addr)?.map(|t| t.text).unwrap_or_default())
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
