//! The audit trail: who did what to which object, when, from where, with what outcome. Entries are sealed
//! like every record (one sealed segment per group commit), append-only, and hash-chained with BLAKE3 — each
//! entry commits to the one before — with a checkpoint every 256 entries whose hash can be exported and kept
//! elsewhere. `verify` names the first entry
//! that was removed, altered or reordered. Against the store being put back to an older state as a whole, each
//! checkpoint, the head at start and at a clean stop are also written, signed, to a witness outside the store
//! ([`super::witness`]), which verification and the start compare the trail with.
//!
//! Writes are group-committed: events are chained in memory (sequence and hash fixed) the moment they happen,
//! and a committer thread makes everything pending durable with one commit-and-flush a few milliseconds later
//! (`Config::audit_window`; strict mode waits for durability before answering). A change to the archive carries
//! its audit entry — and every entry chained before it — in the same atomic commit, so a change is never without
//! its record. Queries, verification and backups commit what is pending first; a clean shutdown commits it too.

use super::AuditTrail;
use super::witness::{Conflict, Point, SignedCheckpoint, SignedCheckpoints, Witness, WitnessKind, WitnessLines};
use super::{Archive, Error, Principal, Result};
use crate::crypto::{Suite, encode_hex};
use crate::model::AuditAction;
use crate::store::{Table, WriteSet};
use serde::{Deserialize, Serialize};
use std::sync::{Arc, Condvar, Mutex, OnceLock, RwLock};

/// DO NOT CHANGE: entries between checkpoints.
const CHECKPOINT_EVERY: u64 = 256;
/// DO NOT CHANGE: the chain head lives in the audit tree itself (4-byte key; entries have 8-byte keys), so a
/// group commit touches one tree and needs no multi-tree transaction.
const HEAD_KEY: &[u8] = b"head";

/// Whether a key of the audit tree is an entry (8-byte sequence number) rather than the head.
fn is_entry_key(k: &[u8]) -> bool {
    k.len() == 8
}

/// How an action ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// Done.
    Allowed,
    /// Refused by a rule (the reason names it).
    Denied,
    /// Failed otherwise (bad input, missing object, storage).
    Failed,
}

/// One entry of the trail.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct AuditEntry {
    /// Sequence number, from 1, without gaps.
    pub seq: u64,
    /// When (Unix milliseconds).
    pub at: i64,
    /// What happened.
    #[serde(flatten)]
    pub event: AuditEvent,
    /// Hash of the previous entry (hex).
    pub prev: String,
    /// This entry's hash (hex): BLAKE3 of the previous hash and this entry's fields.
    pub hash: String,
}

/// A checkpoint: the chain's hash at a sequence number.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Checkpoint {
    /// Sequence number.
    pub seq: u64,
    /// Hash of that entry.
    pub hash: String,
    /// When written.
    pub at: i64,
}

/// DO NOT CHANGE: one group commit's entries, stored (sealed) as one value under the first entry's sequence
/// number, in a compact form: `{"first":N,"prev":"…","entries":[[at,"hash","actor","source","action","object",
/// "outcome",detail],…]}`. Each entry's sequence number and previous hash follow from its place. The committer
/// builds this JSON as entries are chained (see [`Pending`]), so a group commit only seals and writes it.
#[derive(Serialize, Deserialize)]
struct Compact<S, H> {
    first: u64,
    prev: H,
    entries: Vec<CompactEntry<S, H>>,
}

/// `[at, "hash", "actor", "source", "action", "object", "outcome", detail]`.
type CompactEntry<S, H> = (i64, H, S, S, S, S, Outcome, Option<S>);

/// A segment as read back: the compact form, or the form of segments written before it (whole entries).
#[derive(Deserialize)]
#[serde(untagged)]
enum Stored {
    Compact(Compact<String, String>),
    Entries { entries: Vec<AuditEntry> },
}

/// A segment of the trail as it is stored: one group commit's entries. Public for tools and tests that
/// inspect or (deliberately) damage a copy of a store.
pub struct Segment {
    /// The entries, oldest first.
    pub entries: Vec<AuditEntry>,
}

impl Segment {
    /// Reads and opens the segment under `key`.
    pub fn read(store: &crate::store::Store, key: &[u8]) -> Result<Option<Segment>> {
        let Some(stored) = store.get::<Stored>(Table::Audit, key)? else { return Ok(None) };
        let entries = match stored {
            Stored::Entries { entries } => entries,
            Stored::Compact(c) => {
                let mut prev = c.prev;
                let mut out = Vec::with_capacity(c.entries.len());
                for (i, (at, hash, actor, source, action, object, outcome, detail)) in c.entries.into_iter().enumerate()
                {
                    let event = AuditEvent { actor, source, action, object, outcome, detail };
                    let next = hash.clone();
                    out.push(AuditEntry { seq: c.first + i as u64, at, event, prev, hash });
                    prev = next;
                }
                out
            }
        };
        Ok(Some(Segment { entries }))
    }

    /// Adds the segment to `ws` under `key`, in the stored form (sequence numbers and previous hashes are taken
    /// from the first entry and implied for the rest).
    pub fn write(&self, ws: &mut WriteSet, key: Vec<u8>) -> Result<()> {
        let Some(first) = self.entries.first() else { return Ok(()) };
        let entries = self
            .entries
            .iter()
            .map(|e| {
                let v = &e.event;
                (e.at, e.hash.as_str(), &*v.actor, &*v.source, &*v.action, &*v.object, v.outcome, v.detail.as_deref())
            })
            .collect();
        Ok(ws.put(Table::Audit, key, &Compact { first: first.seq, prev: first.prev.as_str(), entries })?)
    }
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
struct Head {
    seq: u64,
    hash: String,
}

/// An event to record.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct AuditEvent {
    /// Who (username; the name tried, for a failed login; `system` for local commands).
    pub actor: String,
    /// From where (source address).
    pub source: String,
    /// What, e.g. `material.download`, `search`, `auth.login`.
    pub action: String,
    /// On which object, e.g. `material:…`, `person:…`.
    pub object: String,
    /// Outcome.
    pub outcome: Outcome,
    /// Why (the rule for a denial), or what (the query of a search, the grant a read stood on).
    pub detail: Option<String>,
}

impl AuditEvent {
    /// An event by a principal.
    pub fn by(p: &Principal, action: AuditAction, object: &str, outcome: Outcome, detail: Option<String>) -> Self {
        AuditEvent {
            actor: p.user.username.clone(),
            source: p.source.clone(),
            action: action.as_str().into(),
            object: object.into(),
            outcome,
            detail,
        }
    }
}

/// The fields of an event in hashed order, borrowed; serialises to `["actor","source","action","object","outcome",
/// detail]`.
#[derive(Serialize)]
struct Fields<'a>(&'a str, &'a str, &'a str, &'a str, Outcome, Option<&'a str>);

impl AuditEvent {
    fn fields(&self) -> Fields<'_> {
        Fields(&self.actor, &self.source, &self.action, &self.object, self.outcome, self.detail.as_deref())
    }
}

/// DO NOT CHANGE: the suite's hash (BLAKE3, or SM3 under 国密) of the compact JSON array `[prev, seq, at,
/// actor, source, action, object, outcome, detail]`, fed from `tail`, the array's end from `"actor"` on (as it
/// stands in a stored segment).
fn chained_hash(suite: Suite, prev: &str, seq: u64, at: i64, tail: &[u8]) -> [u8; 32] {
    use std::io::Write;
    let mut h = suite.hasher();
    h.update(b"[");
    // Writing into a hasher cannot fail.
    let _ = serde_json::to_writer(&mut h, prev);
    let _ = write!(h, ",{seq},{at},");
    h.update(tail);
    h.finalize()
}

/// The hash an entry should carry.
fn recompute(suite: Suite, e: &AuditEntry) -> String {
    // The event's array without its opening `[`, as in `State::chain`.
    let array = serde_json::to_vec(&e.event.fields()).unwrap_or_default();
    encode_hex(&chained_hash(suite, &e.prev, e.seq, e.at, array.get(1..).unwrap_or_default()))
}

/// The entries chained since the last group commit, already as the JSON of their segments ([`Compact`]), one
/// after the other, the last one open: chaining an entry appends to it, a group commit closes the last segment
/// and seals each as it stands.
#[derive(Default)]
struct Pending {
    json: Vec<u8>,
    /// Each segment's first sequence number and where it starts in `json`.
    segments: Vec<(u64, usize)>,
    count: u64,
    checkpoints: Vec<Checkpoint>,
}

/// A segment is closed once it holds this many bytes, so that one read back stays small even after a long
/// backlog. A group commit is normally one segment: measured, one sealed value per commit costs sled less than
/// several small ones (`cargo bench --bench audit_cost`).
const SEGMENT_BYTES: usize = 1 << 20;

impl Pending {
    fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// The segments, each closed: first sequence number and JSON.
    fn segments(&mut self) -> impl Iterator<Item = (u64, &[u8])> {
        if !self.is_empty() {
            self.json.extend_from_slice(b"]}");
        }
        let json = &self.json;
        let ends = self.segments.iter().skip(1).map(|s| s.1).chain([json.len()]);
        self.segments.iter().zip(ends).map(move |(&(first, start), end)| (first, &json[start..end]))
    }
}

struct State {
    loaded: bool,
    /// The store's suite, whose hash chains the entries (set when the head is loaded).
    suite: Suite,
    next_seq: u64,
    last_hash: String,
    pending: Pending,
    /// A buffer a group commit gave back, for the next batch.
    spare: Vec<u8>,
    /// Where an event's fields are serialised.
    scratch: Vec<u8>,
    flushing: bool,
    durable: u64,
    failed: bool,
    shutdown: bool,
    /// While the store is behind its witness (until the security administrator acknowledges it): the events
    /// of that time (sign-ins, denials), kept out of the trail so that the acknowledgement is the first entry of
    /// the resumed trail; they follow it, with their own times.
    held: Option<Held>,
}

/// Events waiting while the archive is held.
#[derive(Default)]
struct Held {
    events: Vec<(i64, AuditEvent)>,
    /// Events beyond [`HELD_EVENTS`], counted only.
    dropped: u64,
}

/// At most this many events are kept while the archive is held (failed sign-ins could otherwise fill memory);
/// the rest are counted in an entry of their own.
const HELD_EVENTS: usize = 10_000;

impl Default for State {
    fn default() -> Self {
        State {
            loaded: false,
            suite: Suite::Default,
            next_seq: 1,
            last_hash: encode_hex(&[0; 32]),
            pending: Pending::default(),
            spare: Vec::new(),
            scratch: Vec::new(),
            flushing: false,
            durable: 0,
            failed: false,
            shutdown: false,
            held: None,
        }
    }
}

impl State {
    /// Chains an event: fixes its sequence number and hash and appends it to the pending segment.
    fn chain(&mut self, at: i64, event: &Fields<'_>) -> Result<()> {
        use std::io::Write;
        self.scratch.clear();
        serde_json::to_writer(&mut self.scratch, event)
            .map_err(|e| Error::Internal(format!("audit entry not serialisable: {e}")))?;
        let seq = self.next_seq;
        let prev = std::mem::take(&mut self.last_hash);
        let p = &mut self.pending;
        match p.segments.last() {
            Some(&(_, start)) if p.json.len() - start < SEGMENT_BYTES => p.json.push(b','),
            last => {
                if last.is_some() {
                    p.json.extend_from_slice(b"]}");
                } else {
                    p.json.clear();
                }
                p.segments.push((seq, p.json.len()));
                let _ = write!(p.json, r#"{{"first":{seq},"prev":"{prev}","entries":["#);
            }
        }
        let _ = write!(p.json, "[{at},\"");
        let hash_at = p.json.len();
        p.json.extend_from_slice(&[b'0'; 64]);
        p.json.push(b'"');
        // The event's array opened with `[`; in the entry it continues the array after the hash.
        p.json.push(b',');
        p.json.extend_from_slice(&self.scratch[1..]);
        let hex = encode_hex(&chained_hash(self.suite, &prev, seq, at, &self.scratch[1..]));
        p.json[hash_at..hash_at + 64].copy_from_slice(hex.as_bytes());
        if seq.is_multiple_of(CHECKPOINT_EVERY) {
            p.checkpoints.push(Checkpoint { seq, hash: hex.clone(), at });
        }
        p.count += 1;
        self.last_hash = hex;
        self.next_seq += 1;
        Ok(())
    }

    /// The pending entries and the head they bring the chain to, for one group commit.
    fn take_batch(&mut self) -> (Pending, Head) {
        let next = Pending { json: std::mem::take(&mut self.spare), ..Pending::default() };
        let head = Head { seq: self.next_seq - 1, hash: self.last_hash.clone() };
        (std::mem::replace(&mut self.pending, next), head)
    }

    /// Takes back a written batch's buffer for reuse.
    fn give_back(&mut self, mut batch: Pending) {
        if batch.json.capacity() > self.spare.capacity() {
            batch.json.clear();
            self.spare = batch.json;
        }
    }
}

/// The trail's in-memory state: the chain head and the events waiting for the next group commit; the witness
/// outside the store, and whether the archive is held because the store is behind it.
#[derive(Default)]
pub struct AuditLog {
    state: Mutex<State>,
    cv: Condvar,
    witness: OnceLock<Witness>,
    hold: RwLock<Option<Arc<Conflict>>>,
}

impl AuditLog {
    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(super) fn set_witness(&self, witness: Witness) -> Result<()> {
        self.witness.set(witness).map_err(|_| Error::Conflict("an audit witness is attached already".into()))
    }

    /// Writes a witness line, if a witness is attached.
    pub(super) fn witness_record(&self, keys: &crate::crypto::Keys, kind: WitnessKind, point: &Point, at: i64) {
        if let Some(w) = self.witness.get() {
            w.record(keys, kind, point, at);
        }
    }

    /// Witnesses the checkpoints a group commit made durable.
    fn witness_checkpoints(&self, keys: &crate::crypto::Keys, checkpoints: &[Checkpoint]) {
        for cp in checkpoints {
            self.witness_record(keys, WitnessKind::Checkpoint, &Point { seq: cp.seq, hash: cp.hash.clone() }, cp.at);
        }
    }
}

/// What `verify` found.
#[derive(Clone, Debug, Default, Serialize)]
pub struct AuditVerify {
    /// Whether the whole chain holds.
    pub ok: bool,
    /// Entries checked.
    pub entries: u64,
    /// Checkpoints checked.
    pub checkpoints: u64,
    /// The first bad entry's sequence number.
    pub first_bad: Option<u64>,
    /// What is wrong with it.
    pub problem: Option<String>,
    /// The chain's head hash (to compare with an exported checkpoint).
    pub head_hash: String,
    /// What the witness says, when the trail was compared with one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub witness: Option<super::witness::WitnessReport>,
}

/// A query over the trail.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct AuditQuery {
    /// Actor (exact).
    pub actor: Option<String>,
    /// Object (exact, or a prefix ending in `*`).
    pub object: Option<String>,
    /// Action (exact, or a prefix ending in `*`).
    pub action: Option<String>,
    /// From (RFC 3339 or YYYY-MM-DD).
    pub from: Option<String>,
    /// To (RFC 3339 or YYYY-MM-DD, inclusive).
    pub to: Option<String>,
    /// Outcome.
    pub outcome: Option<Outcome>,
    /// Page size (default 100, at most 1000).
    pub limit: Option<usize>,
    /// Page start.
    pub offset: Option<usize>,
}

fn matches_pattern(value: &str, pattern: &Option<String>) -> bool {
    match pattern.as_deref() {
        None | Some("") => true,
        Some(p) => match p.strip_suffix('*') {
            Some(prefix) => value.starts_with(prefix),
            None => value == p,
        },
    }
}

fn parse_time(s: &str, end: bool) -> Result<i64> {
    if let Ok(t) = time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339) {
        return Ok(t.unix_timestamp() * 1000 + i64::from(t.millisecond()));
    }
    let d: crate::model::PartialDate =
        s.parse().map_err(|_| Error::invalid("from/to", format!("{s:?} is neither RFC 3339 nor YYYY[-MM[-DD]]")))?;
    let day = if end { d.last_day().next_day().unwrap_or(d.last_day()) } else { d.first_day() };
    Ok(day.midnight().assume_utc().unix_timestamp() * 1000 - i64::from(end))
}

pub(super) fn now_ms() -> i64 {
    (time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64
}

/// Writes a group of entries (one segment) and the new head. With a change (`ws`), in its atomic commit. Alone,
/// write by write with the head last, which keeps sled's readers running (its atomic batches lock them out): a
/// crash in between leaves a segment past the head, which [`Archive::load_head`] adopts when it chains on.
fn write_batch(store: &crate::store::Store, ws: Option<WriteSet>, batch: &mut Pending, head: &Head) -> Result<()> {
    let carried = ws.is_some();
    let mut w = ws.unwrap_or_else(|| store.write_set());
    for (first, json) in batch.segments() {
        w.put_json(Table::Audit, first.to_be_bytes().to_vec(), json)?;
    }
    for cp in &batch.checkpoints {
        w.put(Table::AuditCheckpoints, cp.seq.to_be_bytes().to_vec(), cp)?;
    }
    w.put(Table::Audit, HEAD_KEY.to_vec(), head)?;
    if carried {
        store.commit(w)?
    } else {
        store.commit_in_order(w)?
    }
    Ok(())
}

impl AuditLog {
    /// Commits what is pending when the archive goes away (a clean shutdown loses no entry), and witnesses
    /// the head it leaves (a `stop` line) — unless the archive is held or the trail could not be written.
    pub(super) fn flush_on_drop(&self, store: &crate::store::Store) {
        let mut st = self.state();
        if st.failed || st.held.is_some() || !st.loaded {
            return;
        }
        if !st.pending.is_empty() {
            let (mut batch, head) = st.take_batch();
            match write_batch(store, None, &mut batch, &head) {
                Ok(()) => {
                    st.durable = head.seq;
                    self.witness_checkpoints(store.keys(), &batch.checkpoints);
                }
                Err(e) => {
                    tracing::error!(error = %e, "audit commit at shutdown failed");
                    return;
                }
            }
        }
        if st.durable + 1 == st.next_seq {
            let head = Point { seq: st.durable, hash: st.last_hash.clone() };
            self.witness_record(store.keys(), WitnessKind::Stop, &head, now_ms());
        }
    }

    pub(super) fn shut_down(&self) {
        self.state().shutdown = true;
        self.cv.notify_all();
    }
}

/// Starts the group committer: once an entry is pending it waits `window` for company, then commits the lot.
/// It keeps only a weak reference between rounds, so dropping the archive ends it.
pub(super) fn spawn_committer(archive: &Archive) {
    let Some(window) = archive.inner.config.audit_window else { return };
    let weak = std::sync::Arc::downgrade(&archive.inner);
    let log = archive.inner.audit.clone();
    let spawned = std::thread::Builder::new().name("dangan-audit".into()).spawn(move || {
        loop {
            {
                let st = log.state();
                let (st, _) = log
                    .cv
                    .wait_timeout_while(st, std::time::Duration::from_secs(1), |s| s.pending.is_empty() && !s.shutdown)
                    .unwrap_or_else(|p| p.into_inner());
                if st.shutdown {
                    return;
                }
            }
            std::thread::sleep(window);
            let Some(inner) = weak.upgrade() else { return };
            let archive = Archive::for_worker(inner);
            let started = std::time::Instant::now();
            let synced = archive.audit_sync();
            archive.operations().metrics().audit_commit.observe(started.elapsed());
            if let Err(e) = synced {
                tracing::error!(error = %e, "audit group commit failed");
                std::thread::sleep(std::time::Duration::from_millis(500));
            }
        }
    });
    if let Err(e) = spawned {
        tracing::error!(error = %e, "could not start the audit committer; entries wait for the next change or shutdown");
    }
}

impl Archive {
    fn audit_log(&self) -> &AuditLog {
        &self.inner.audit
    }

    fn load_head(&self, st: &mut State) -> Result<()> {
        if st.loaded {
            return Ok(());
        }
        let suite = self.suite();
        st.suite = suite;
        let mut head: Head = self.store().get(Table::Audit, HEAD_KEY)?.unwrap_or_default();
        if head.hash.is_empty() {
            head.hash = encode_hex(&[0u8; 32]);
        }
        // Entries a crash left past the head (written before it) are adopted while they chain on.
        let mut adopted = false;
        let mut w = self.store().write_set();
        'segments: while let Some(seg) = Segment::read(self.store(), &(head.seq + 1).to_be_bytes())? {
            let mut next = head.clone();
            for e in &seg.entries {
                if e.seq != next.seq + 1 || e.prev != next.hash || recompute(suite, e) != e.hash {
                    break 'segments;
                }
                next = Head { seq: e.seq, hash: e.hash.clone() };
            }
            for e in seg.entries.iter().filter(|e| e.seq % CHECKPOINT_EVERY == 0) {
                let cp = Checkpoint { seq: e.seq, hash: e.hash.clone(), at: e.at };
                w.put(Table::AuditCheckpoints, e.seq.to_be_bytes().to_vec(), &cp)?;
            }
            adopted |= next.seq > head.seq;
            if next.seq == head.seq {
                break;
            }
            head = next;
        }
        if adopted {
            tracing::warn!(seq = head.seq, "audit entries written before a crash were adopted; the head moves on");
            w.put(Table::Audit, HEAD_KEY.to_vec(), &head)?;
            self.store().commit(w)?;
        }
        st.next_seq = head.seq + 1;
        st.durable = head.seq;
        if crate::crypto::decode_hex(&head.hash).is_none_or(|h| h.len() != 32) {
            return Err(Error::Internal("the audit trail's head hash does not parse".into()));
        }
        st.last_hash = head.hash.to_ascii_lowercase();
        st.loaded = true;
        Ok(())
    }

    /// Appends events, committing `ws` with them when given. A change (with `ws`) and a `durable` append return
    /// once the events are durable; otherwise the events are chained now and committed by the next group commit
    /// (within the configured window, see [`Config::audit_window`](super::Config)).
    fn append(&self, events: &[Fields<'_>], mut ws: Option<WriteSet>, durable: bool) -> Result<()> {
        // A store that stopped taking writes cannot record the entry: nothing is done unrecorded, reads included.
        if let Some(why) = self.store().stopped() {
            return Err(crate::store::Error::Kv(crate::store::KvError::Stopped(why)).into());
        }
        let log = self.audit_log();
        let mut st = log.state();
        self.load_head(&mut st)?;
        if st.failed {
            return Err(Error::Internal("the audit trail could not be written; refusing to continue".into()));
        }
        if let Some(held) = st.held.as_mut() {
            let at = now_ms();
            for e in events {
                if held.events.len() < HELD_EVENTS {
                    let event = AuditEvent {
                        actor: e.0.into(),
                        source: e.1.into(),
                        action: e.2.into(),
                        object: e.3.into(),
                        outcome: e.4,
                        detail: e.5.map(str::to_string),
                    };
                    tracing::info!(action = %event.action, "the audit trail is held: the event waits for the acknowledgement");
                    held.events.push((at, event));
                } else {
                    held.dropped += 1;
                }
            }
            drop(st);
            if let Some(ws) = ws {
                self.store().commit(ws)?;
            }
            return Ok(());
        }
        // A change carries its own data: it must be the one to commit, so it waits for any flush under way.
        while ws.is_some() && st.flushing {
            st = log.cv.wait(st).unwrap_or_else(|p| p.into_inner());
        }
        let at = now_ms();
        let was_idle = st.pending.is_empty();
        for e in events {
            st.chain(at, e)?;
        }
        let mine = st.next_seq - 1;
        if ws.is_none() && !durable && self.inner.config.audit_window.is_some() {
            if was_idle && !st.pending.is_empty() {
                // Wake the group committer for the first entry of a window only: the others ride along.
                log.cv.notify_all();
            }
            return Ok(());
        }
        loop {
            if st.failed {
                return Err(Error::Internal("the audit trail could not be written; refusing to continue".into()));
            }
            if ws.is_none() && st.durable >= mine {
                return Ok(());
            }
            if !st.flushing {
                st.flushing = true;
                let (mut batch, head) = st.take_batch();
                drop(st);
                let carried = ws.is_some();
                let result = write_batch(self.store(), ws.take(), &mut batch, &head);
                if result.is_ok() {
                    // Still the only committer: the witness gets the checkpoints in order.
                    log.witness_checkpoints(self.store().keys(), &batch.checkpoints);
                }
                st = log.state();
                st.give_back(batch);
                st.flushing = false;
                match &result {
                    Ok(()) => st.durable = st.durable.max(head.seq),
                    Err(e) => {
                        tracing::error!(error = %e, "audit commit failed");
                        st.failed = true;
                    }
                }
                log.cv.notify_all();
                result?;
                if carried {
                    return Ok(());
                }
                continue;
            }
            st = log.cv.wait(st).unwrap_or_else(|p| p.into_inner());
        }
    }

    /// Makes every entry chained so far durable.
    pub(crate) fn audit_sync(&self) -> Result<()> {
        self.append(&[], None, true)
    }

    /// Runs `f` with the trail quiet: no group commit starts until it returns (consistent backups).
    pub(crate) fn with_audit_paused<T>(&self, f: impl FnOnce() -> T) -> T {
        if let Err(e) = self.audit_sync() {
            tracing::error!(error = %e, "audit commit before a pause failed");
        }
        let log = self.audit_log();
        {
            let mut st = log.state();
            while st.flushing {
                st = log.cv.wait(st).unwrap_or_else(|p| p.into_inner());
            }
            st.flushing = true;
        }
        let out = f();
        let mut st = log.state();
        st.flushing = false;
        log.cv.notify_all();
        out
    }

    /// Records an event and returns once it is durable.
    pub(crate) fn audit_durable(&self, event: AuditEvent) -> Result<()> {
        self.append(&[event.fields()], None, true)
    }

    /// The trail's durable head: the last entry's sequence number and hash (zeros for an empty trail).
    pub(crate) fn audit_head(&self) -> Result<Point> {
        self.audit_sync()?;
        let mut st = self.audit_log().state();
        self.load_head(&mut st)?;
        Ok(Point { seq: st.next_seq - 1, hash: st.last_hash.clone() })
    }

    /// The hash of entry `seq` as stored, if the trail holds it (looks back for the segment that holds it).
    pub(crate) fn audit_hash_at(&self, seq: u64) -> Result<Option<String>> {
        // A segment holds at most about 1 MiB of entries, so its first entry is not far back.
        for first in (seq.saturating_sub(1 << 16).max(1)..=seq).rev() {
            if !self.store().contains(Table::Audit, &first.to_be_bytes())? {
                continue;
            }
            let Ok(Some(seg)) = Segment::read(self.store(), &first.to_be_bytes()) else { return Ok(None) };
            return Ok(seg.entries.into_iter().find(|e| e.seq == seq).map(|e| e.hash));
        }
        Ok(None)
    }

    /// Holds the archive: events wait outside the trail until [`Archive::resume_audit`].
    pub(super) fn hold_audit(&self, conflict: Conflict) {
        let log = self.audit_log();
        log.state().held.get_or_insert_with(Held::default);
        *log.hold.write().unwrap_or_else(|p| p.into_inner()) = Some(Arc::new(conflict));
    }

    /// Resumes a held trail with `first` (the acknowledgement) as its first entry, the events that waited after
    /// it; makes them durable and witnesses the acknowledgement (superseding the witness lines before it).
    pub(super) fn resume_audit(&self, first: AuditEvent, behind: Option<Point>) -> Result<Point> {
        let log = self.audit_log();
        let (entry, at) = {
            let mut st = log.state();
            self.load_head(&mut st)?;
            let Some(held) = st.held.take() else {
                return Err(Error::Conflict("the audit trail is not held".into()));
            };
            let at = now_ms();
            st.chain(at, &first.fields())?;
            let entry = Point { seq: st.next_seq - 1, hash: st.last_hash.clone() };
            for (at, e) in &held.events {
                st.chain(*at, &e.fields())?;
            }
            if held.dropped > 0 {
                let detail = format!("{} more events while the trail was held were not kept", held.dropped);
                let note = Fields("system", "local", "audit.held-events", "audit", Outcome::Failed, Some(&detail));
                st.chain(now_ms(), &note)?;
            }
            (entry, at)
        };
        self.audit_sync()?;
        *log.hold.write().unwrap_or_else(|p| p.into_inner()) = None;
        if let Some(w) = log.witness.get() {
            let line =
                super::witness::WitnessLine::signed(self.store().keys(), WitnessKind::Acknowledge, &entry, at, behind);
            if let Err(e) = w.append(&line) {
                tracing::error!(error = %e, "the acknowledgement could not be witnessed; the next start holds again");
            }
        }
        Ok(entry)
    }

    /// Records an event: chained at once, durable with the next group commit (at once in strict mode).
    pub(crate) fn audit(&self, event: AuditEvent) -> Result<()> {
        self.append(&[event.fields()], None, false)
    }

    /// Commits a change together with its audit entry, atomically.
    pub(crate) fn commit_audited(
        &self,
        ws: WriteSet,
        p: &Principal,
        action: AuditAction,
        object: &str,
        detail: Option<String>,
    ) -> Result<()> {
        self.append(
            &[Fields(&p.user.username, &p.source, action.as_str(), object, Outcome::Allowed, detail.as_deref())],
            Some(ws),
            true,
        )
    }

    pub(crate) fn commit_audited_event(&self, ws: WriteSet, event: AuditEvent) -> Result<()> {
        self.append(&[event.fields()], Some(ws), true)
    }

    /// Runs a use case and records its outcome. `changes` use cases record their success themselves (in the
    /// same commit as the change); their denials and failures are recorded here.
    pub(crate) fn audited<T>(
        &self,
        p: &Principal,
        action: AuditAction,
        object: &str,
        changes: bool,
        f: impl FnOnce() -> Result<(T, Option<String>)>,
    ) -> Result<T> {
        let r = f();
        use std::borrow::Cow;
        let (outcome, detail) = match &r {
            Ok((_, detail)) => (Outcome::Allowed, detail.as_deref().map(Cow::Borrowed)),
            Err(Error::Forbidden(m) | Error::NotFound(m)) => (Outcome::Denied, Some(Cow::Borrowed(m.as_str()))),
            Err(e) => (Outcome::Failed, Some(Cow::Owned(e.to_string()))),
        };
        if !(changes && outcome == Outcome::Allowed) {
            // Borrowed fields: the hot read path records its entry without copying them.
            let fields = Fields(&p.user.username, &p.source, action.as_str(), object, outcome, detail.as_deref());
            self.append(&[fields], None, false)?;
        }
        r.map(|(t, _)| t)
    }

    /// Records a login attempt (before there is a principal).
    pub(crate) fn audit_login(
        &self,
        username: &str,
        source: &str,
        outcome: Outcome,
        detail: Option<String>,
    ) -> Result<()> {
        self.audit(AuditEvent {
            actor: username.chars().take(64).collect(),
            source: source.into(),
            action: AuditAction::AuthLogin.as_str().into(),
            object: format!("user:{}", username.chars().take(64).collect::<String>()),
            outcome,
            detail,
        })
    }

    /// Calls `f` with every entry, oldest first (segments that do not open are skipped; `verify` names them).
    pub(crate) fn for_each_audit_entry(&self, mut f: impl FnMut(AuditEntry)) -> Result<()> {
        self.store().for_each_key(Table::Audit, b"", |k, _| {
            if is_entry_key(k)
                && let Ok(Some(seg)) = Segment::read(self.store(), k)
            {
                seg.entries.into_iter().for_each(&mut f);
            }
            Ok(())
        })?;
        Ok(())
    }
}

impl AuditTrail<'_> {
    /// Whether the archive is held because its store is behind its witness, and what the witness says.
    pub fn hold(&self) -> Option<Arc<Conflict>> {
        self.audit_log().hold.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Commits a change together with an audit event that has no principal (local commands), atomically.
    /// Records an act done on the server's command line (as `system`, from `local`), such as a key rotation.
    pub fn record_local_event(&self, action: AuditAction, object: &str, detail: Option<String>) -> Result<()> {
        let event = AuditEvent {
            actor: "system".into(),
            source: "local".into(),
            action: action.as_str().into(),
            object: object.into(),
            outcome: Outcome::Allowed,
            detail,
        };
        self.commit_audited_event(self.store().write_set(), event)
    }

    fn require_auditor(&self, p: &Principal) -> Result<()> {
        self.require(p, crate::model::policy::Capability::ReadAudit)
    }

    /// Queries the trail (auditor), newest first.
    pub fn query(&self, p: &Principal, q: &AuditQuery) -> Result<(Vec<AuditEntry>, usize)> {
        self.audited(p, AuditAction::AuditQuery, "audit", false, || {
            // The auditor reads the whole trail; the security administrator reads what the auditors did (the
            // watchers are watched too); nobody else reads it.
            let auditors_only = match self.require_auditor(p) {
                Ok(()) => None,
                Err(_) if p.subject.roles.contains(&crate::model::Role::Secadmin) => Some(
                    self.accounts()
                        .users()?
                        .into_iter()
                        .filter(|u| u.has(crate::model::Role::Auditor))
                        .map(|u| u.username)
                        .collect::<Vec<_>>(),
                ),
                Err(e) => return Err(e),
            };
            self.audit_sync()?;
            let from = q.from.as_deref().filter(|s| !s.is_empty()).map(|s| parse_time(s, false)).transpose()?;
            let to = q.to.as_deref().filter(|s| !s.is_empty()).map(|s| parse_time(s, true)).transpose()?;
            let mut out: Vec<AuditEntry> = Vec::new();
            self.for_each_audit_entry(|e| {
                if q.actor.as_deref().is_none_or(|a| a.is_empty() || e.event.actor == a)
                    && auditors_only.as_ref().is_none_or(|names| names.contains(&e.event.actor))
                    && matches_pattern(&e.event.object, &q.object)
                    && matches_pattern(&e.event.action, &q.action)
                    && from.is_none_or(|f| e.at >= f)
                    && to.is_none_or(|t| e.at <= t)
                    && q.outcome.is_none_or(|o| e.event.outcome == o)
                {
                    out.push(e);
                }
            })?;
            out.reverse();
            let total = out.len();
            let page =
                out.into_iter().skip(q.offset.unwrap_or(0)).take(q.limit.unwrap_or(100).clamp(1, 1000)).collect();
            Ok(((page, total), None))
        })
    }

    /// The checkpoints (auditor), each with the signature of its witness line and the installation's public
    /// key: kept elsewhere, they are a witness for `dangan audit verify --witness`.
    pub fn checkpoints(&self, p: &Principal) -> Result<SignedCheckpoints> {
        self.audited(p, AuditAction::AuditCheckpoints, "audit", false, || {
            self.require_auditor(p)?;
            self.audit_sync()?;
            let keys = self.store().keys();
            let items: Vec<SignedCheckpoint> = self
                .store()
                .scan::<Checkpoint>(Table::AuditCheckpoints, b"")?
                .into_iter()
                .map(|(_, c)| {
                    let text = super::witness::signed_text(WitnessKind::Checkpoint, c.seq, &c.hash, c.at, None);
                    SignedCheckpoint { signature: keys.sign_hex(text.as_bytes()), seq: c.seq, hash: c.hash, at: c.at }
                })
                .collect();
            let public_key = keys.signing_public();
            Ok((SignedCheckpoints { total: items.len(), items, public_key }, None))
        })
    }

    /// Verifies the chain (auditor), and against the configured witness if there is one.
    pub fn verify_as(&self, p: &Principal) -> Result<AuditVerify> {
        self.audited(p, AuditAction::AuditVerify, "audit", false, || {
            self.require_auditor(p)?;
            // The witness is read first: every line in it was written once its entry was durable.
            let lines = self.audit_log().witness.get().map(|w| w.read()).transpose()?;
            Ok((self.verify_trail(lines.as_ref())?, None))
        })
    }

    /// Verifies the chain: sequence without gaps, every segment opens, each entry commits to the one before, the
    /// checkpoints and the head agree.
    pub fn verify(&self) -> Result<AuditVerify> {
        self.verify_trail(None)
    }

    /// Verifies the chain, then compares it with a witness (a witness file, or downloaded checkpoints): every
    /// line must verify with this installation's key, and the trail must reach, and agree with, every point
    /// witnessed since the last acknowledged rollback.
    pub fn verify_with_witness(&self, witness: &WitnessLines) -> Result<AuditVerify> {
        self.verify_trail(Some(witness))
    }

    fn verify_trail(&self, witness: Option<&WitnessLines>) -> Result<AuditVerify> {
        let wanted: std::collections::HashSet<u64> =
            witness.iter().flat_map(|w| w.iter()).filter_map(|(_, l)| l.as_ref().ok().map(|l| l.seq)).collect();
        let mut witnessed_hashes = std::collections::HashMap::new();
        self.audit_sync()?;
        let suite = self.suite();
        let mut r = AuditVerify { ok: true, ..Default::default() };
        let mut prev = encode_hex(&[0u8; 32]);
        let mut expect = 1u64;
        let mut bad: Option<(u64, String)> = None;
        let mut at_checkpoints = std::collections::HashMap::new();
        self.store().for_each_key(Table::Audit, b"", |k, _| {
            if bad.is_some() || !is_entry_key(k) {
                return Ok(());
            }
            let seq = k.try_into().map(u64::from_be_bytes).unwrap_or(0);
            if seq != expect {
                bad = Some((expect, format!("entry {expect} is missing (next present is {seq})")));
                return Ok(());
            }
            let seg = match Segment::read(self.store(), k) {
                Ok(Some(seg)) if !seg.entries.is_empty() => seg,
                _ => {
                    bad = Some((seq, format!("entries from {seq} do not open: altered or moved")));
                    return Ok(());
                }
            };
            for e in seg.entries {
                if e.seq != expect {
                    bad = Some((expect, format!("entry {expect} carries sequence number {}: reordered", e.seq)));
                } else if e.prev != prev {
                    bad = Some((expect, format!("entry {expect} does not follow the entry before it")));
                } else if recompute(suite, &e) != e.hash {
                    bad = Some((expect, format!("entry {expect} was altered (hash mismatch)")));
                }
                if bad.is_some() {
                    return Ok(());
                }
                if e.seq % CHECKPOINT_EVERY == 0 {
                    at_checkpoints.insert(e.seq, e.hash.clone());
                }
                if wanted.contains(&e.seq) {
                    witnessed_hashes.insert(e.seq, e.hash.clone());
                }
                prev = e.hash;
                expect += 1;
                r.entries += 1;
            }
            Ok(())
        })?;
        if bad.is_none() {
            for (_, cp) in self.store().scan::<Checkpoint>(Table::AuditCheckpoints, b"")? {
                r.checkpoints += 1;
                if at_checkpoints.get(&cp.seq) != Some(&cp.hash) {
                    bad = Some((cp.seq, format!("checkpoint at entry {} does not match the chain", cp.seq)));
                    break;
                }
            }
        }
        if bad.is_none() {
            let head: Head = self.store().get(Table::Audit, HEAD_KEY)?.unwrap_or_default();
            if head.seq != expect - 1 {
                bad = Some((
                    expect,
                    format!("the trail ends at entry {} but its head says {}: entries removed", expect - 1, head.seq),
                ));
            } else if head.seq > 0 && head.hash != prev {
                bad = Some((head.seq, "the head hash does not match the last entry".into()));
            }
        }
        if let Some(lines) = witness {
            let end = Point { seq: expect - 1, hash: prev.clone() };
            let public = self.store().keys().signing_public_hex();
            let report =
                super::witness::compare(lines, &public, &end, true, |seq| Ok(witnessed_hashes.get(&seq).cloned()))?;
            if bad.is_none() && !report.ok() {
                use super::witness::ConflictKind;
                r.ok = false;
                r.first_bad = report.conflict.as_ref().and_then(|c| match c.kind {
                    ConflictKind::Behind => Some(c.trail_end + 1),
                    ConflictKind::Differs => c.witnessed.as_ref().map(|w| w.seq),
                    ConflictKind::Unverified => None,
                });
                r.problem = Some(match (&report.conflict, report.unverified.first()) {
                    (Some(c), _) => c.to_string(),
                    (None, Some(u)) => format!("witness line {} does not verify: {}", u.line, u.problem),
                    (None, None) => String::new(),
                });
            }
            r.witness = Some(report);
        }
        if let Some((seq, problem)) = bad {
            r.ok = false;
            r.first_bad = Some(seq);
            r.problem = Some(problem);
        }
        r.head_hash = prev;
        Ok(r)
    }

    /// CSV of entries (auditor export): a header line, then one record per entry, written by the `csv` crate
    /// (fields with a comma, a quote or a line break quoted, quotes doubled). Every text cell passes through
    /// [`super::reports::spreadsheet_safe`], so that a value an outsider chose (an actor name, a search term in
    /// `detail`) never runs as a formula when the file is opened in a spreadsheet.
    pub fn csv(entries: &[AuditEntry]) -> String {
        let safe = |s: &str| super::reports::spreadsheet_safe(s).into_owned();
        let mut w = csv::Writer::from_writer(Vec::new());
        // Writing to memory, records of one length: neither can fail.
        w.write_record(["seq", "at", "actor", "source", "action", "object", "outcome", "detail", "hash"])
            .expect("CSV header into memory");
        for e in entries {
            let ev = &e.event;
            let outcome =
                serde_json::to_value(ev.outcome).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default();
            w.write_record([
                e.seq.to_string(),
                safe(&crate::model::ts_rfc3339(e.at / 1000)),
                safe(&ev.actor),
                safe(&ev.source),
                safe(&ev.action),
                safe(&ev.object),
                outcome,
                safe(ev.detail.as_deref().unwrap_or("")),
                e.hash.clone(),
            ])
            .expect("CSV record into memory");
        }
        let bytes = w.into_inner().expect("CSV flushed into memory");
        // Every field was a `str`: the bytes are UTF-8.
        String::from_utf8(bytes).expect("CSV of UTF-8 fields")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_audit_csv_quotes_what_needs_it_and_defuses_formulas() {
        let entry = |seq: u64, actor: &str, detail: Option<&str>| AuditEntry {
            seq,
            at: 1_700_000_000_000,
            event: AuditEvent {
                actor: actor.into(),
                source: "127.0.0.1".into(),
                action: "search".into(),
                object: "index".into(),
                outcome: Outcome::Denied,
                detail: detail.map(str::to_string),
            },
            prev: "p".into(),
            hash: "ab12".into(),
        };
        let entries = [
            entry(1, "hr", Some("q=干部, \"晋升\"\n第二行")),
            entry(2, "=HYPERLINK(\"http://x\",\"y\")", Some("+1")),
            entry(3, "-2+3", Some("@SUM(A1)")),
            entry(4, "\tx", Some("\r=1")),
            entry(5, "a=b", None),
        ];
        let text = AuditTrail::csv(&entries);
        assert!(text.starts_with("seq,at,actor,source,action,object,outcome,detail,hash\n"), "{text}");
        let mut r = csv::Reader::from_reader(text.as_bytes());
        assert_eq!(
            r.headers().unwrap().iter().collect::<Vec<_>>(),
            ["seq", "at", "actor", "source", "action", "object", "outcome", "detail", "hash"]
        );
        let rows: Vec<Vec<String>> = r.records().map(|x| x.unwrap().iter().map(str::to_string).collect()).collect();
        assert_eq!(rows.len(), entries.len(), "a line break inside a field stays inside it: {text}");
        assert_eq!(rows[0][..3], ["1", "2023-11-14T22:13:20Z", "hr"]);
        assert_eq!(rows[0][6..], ["denied", "q=干部, \"晋升\"\n第二行", "ab12"]);
        let cell = |row: usize, col: usize| rows[row][col].as_str();
        assert_eq!(cell(1, 2), "'=HYPERLINK(\"http://x\",\"y\")");
        assert_eq!(cell(1, 7), "'+1");
        assert_eq!((cell(2, 2), cell(2, 7)), ("'-2+3", "'@SUM(A1)"));
        assert_eq!((cell(3, 2), cell(3, 7)), ("'\tx", "'\r=1"));
        assert_eq!((cell(4, 2), cell(4, 7)), ("a=b", ""));
        for row in &rows {
            for c in row {
                assert!(!c.starts_with(['=', '+', '-', '@', '\t', '\r']), "{c:?} would run as a formula");
            }
        }
    }

    #[test]
    fn the_entry_hash_is_the_suites_hash_of_the_field_array() {
        let e = AuditEvent {
            actor: "hr".into(),
            source: "127.0.0.1".into(),
            action: "material.download".into(),
            object: "material:x".into(),
            outcome: Outcome::Allowed,
            detail: Some("说明 \"quoted\"".into()),
        };
        let array = serde_json::json!([
            "p",
            7,
            1_700_000_000_000i64,
            "hr",
            "127.0.0.1",
            "material.download",
            "material:x",
            "allowed",
            "说明 \"quoted\""
        ]);
        let entry = AuditEntry { seq: 7, at: 1_700_000_000_000, event: e, prev: "p".into(), hash: String::new() };
        for suite in Suite::ALL {
            assert_eq!(recompute(suite, &entry), suite.hash_hex(array.to_string().as_bytes()), "{suite}");
        }
        assert_eq!(recompute(Suite::Default, &entry), blake3::hash(array.to_string().as_bytes()).to_hex().as_str());
        // Pinned: the chain's definition (the field array, its JSON text, the hash) is part of the stored format.
        // A change here breaks every trail on disk: it needs a new format version, not a new literal. (The gm value
        // is also what OpenSSL's SM3 gives for the array's compact JSON text.)
        assert_eq!(
            recompute(Suite::Default, &entry),
            "8d750623eb89ac87e7b6f31a6cadcc1892615c346da8f9ce19efa9dd32c51016",
            "the default suite's entry hash moved"
        );
        assert_eq!(
            recompute(Suite::Gm, &entry),
            "e02f388eb6e8fc275f82674382f01ea51774b70e516560f4700108fd169d4f12",
            "the gm suite's entry hash moved"
        );
    }

    fn event(i: usize) -> AuditEvent {
        AuditEvent {
            actor: format!("用户{i}"),
            source: "10.0.0.1".into(),
            action: "material.download".into(),
            object: format!("material:{i}"),
            outcome: if i.is_multiple_of(3) { Outcome::Denied } else { Outcome::Allowed },
            detail: i.is_multiple_of(2).then(|| format!("grant \"{i}\"\n\u{7}")),
        }
    }

    #[test]
    fn chained_entries_are_stored_as_the_segment_they_read_back_as() {
        for suite in Suite::ALL {
            chained_entries_are_stored_as_the_segment_they_read_back_as_under(suite);
        }
    }

    fn chained_entries_are_stored_as_the_segment_they_read_back_as_under(suite: Suite) {
        let store = crate::store::Store::in_memory_suite(suite).unwrap();
        let mut st = State { next_seq: 250, suite, ..State::default() };
        let events: Vec<AuditEvent> = (0..10).map(event).collect();
        for (i, e) in events.iter().enumerate() {
            st.chain(1_700_000_000_000 + i as i64, &e.fields()).unwrap();
        }
        let (mut batch, head) = st.take_batch();
        assert_eq!((batch.segments[0].0, batch.count, head.seq), (250, 10, 259));
        assert_eq!(batch.checkpoints.iter().map(|c| c.seq).collect::<Vec<_>>(), vec![256]);
        write_batch(&store, None, &mut batch, &head).unwrap();

        let seg = Segment::read(&store, &250u64.to_be_bytes()).unwrap().unwrap();
        assert_eq!(seg.entries.iter().map(|e| &e.event).collect::<Vec<_>>(), events.iter().collect::<Vec<_>>());
        let mut prev = encode_hex(&[0u8; 32]);
        for (i, e) in seg.entries.iter().enumerate() {
            assert_eq!((e.seq, &e.prev), (250 + i as u64, &prev));
            assert_eq!(recompute(suite, e), e.hash, "entry {}", e.seq);
            assert_ne!(recompute(suite, e), recompute(Suite::ALL[1 - suite as usize], e));
            prev = e.hash.clone();
        }
        assert_eq!(head.hash, prev);
        let cp: Checkpoint = store.get(Table::AuditCheckpoints, &256u64.to_be_bytes()).unwrap().unwrap();
        assert_eq!(cp.hash, seg.entries[6].hash);

        // Written again from the entries, the segment reads back the same.
        let mut ws = store.write_set();
        seg.write(&mut ws, 1u64.to_be_bytes().to_vec()).unwrap();
        store.commit(ws).unwrap();
        assert_eq!(Segment::read(&store, &1u64.to_be_bytes()).unwrap().unwrap().entries, seg.entries);
    }

    #[test]
    fn a_large_batch_is_cut_into_segments_that_chain_on() {
        let store = crate::store::Store::in_memory().unwrap();
        let mut st = State::default();
        let long = AuditEvent { detail: Some("检索词".repeat(100)), ..event(1) };
        let n = 3 * SEGMENT_BYTES as u64 / 900;
        for i in 0..n {
            st.chain(i as i64, &long.fields()).unwrap();
        }
        let (mut batch, head) = st.take_batch();
        let firsts: Vec<u64> = batch.segments.iter().map(|s| s.0).collect();
        assert!(firsts.len() >= 3, "{firsts:?}");
        write_batch(&store, None, &mut batch, &head).unwrap();
        let mut prev = encode_hex(&[0u8; 32]);
        let mut seq = 1;
        for first in firsts {
            assert_eq!(first, seq);
            let seg = Segment::read(&store, &first.to_be_bytes()).unwrap().unwrap();
            for e in seg.entries {
                assert_eq!((e.seq, &e.prev, &e.event), (seq, &prev, &long));
                assert_eq!(recompute(Suite::Default, &e), e.hash);
                prev = e.hash;
                seq += 1;
            }
        }
        assert_eq!((seq, head.hash), (n + 1, prev));
        // The buffer is kept for the next batch, which starts a fresh segment.
        st.give_back(batch);
        st.chain(7, &long.fields()).unwrap();
        let (batch, _) = st.take_batch();
        assert_eq!(batch.segments, vec![(n + 1, 0)]);
    }

    #[test]
    fn segments_written_as_whole_entries_still_read() {
        #[derive(Serialize)]
        struct Old<'a> {
            entries: &'a [AuditEntry],
        }
        let store = crate::store::Store::in_memory().unwrap();
        let entries: Vec<AuditEntry> = (0..3)
            .map(|i| AuditEntry { seq: i + 1, at: 5, event: event(i as usize), prev: "x".into(), hash: "y".into() })
            .collect();
        let mut ws = store.write_set();
        ws.put(Table::Audit, 1u64.to_be_bytes().to_vec(), &Old { entries: &entries }).unwrap();
        store.commit(ws).unwrap();
        assert_eq!(Segment::read(&store, &1u64.to_be_bytes()).unwrap().unwrap().entries, entries);
    }
}

#[cfg(test)]
#[path = "audit_trail_tests.rs"]
mod trail_tests;
