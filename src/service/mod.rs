//! The use cases of the archive, and the only gate for authorization: every operation takes the calling
//! [`Principal`] and checks what it may do before touching the store. Operations are synchronous and may block
//! (hashing, sealing, sled flushes): the HTTP layer runs them on tokio's blocking pool.
//!
//! * [`auth`] — accounts, Argon2id passwords, opaque session tokens, login throttling.
//! * [`access`] — the gate: the policy's rules applied to principals, persons and materials.
//! * [`audit`] — the hash-chained, group-committed audit trail.
//! * [`witness`] — the trail's signed witness outside the store, and the hold of a rolled-back store.
//! * [`grants`] — consultation grants.
//! * [`admin`] — accounts, the policy, the permission review.
//! * [`persons`], [`filing`], [`materials`] — persons and their catalogue; filing materials; reading them.
//! * [`indexer`] — the two lanes (text and OCR) with their durable queues, text extraction and Tantivy updates,
//!   reindexing and verification.
//! * [`search`] — full-text search with filters.
//! * [`demo`] — the deterministic demo dataset.

pub mod access;
pub mod admin;
pub mod audit;
pub mod auth;
pub mod batches;
pub mod contracts;
pub mod custody;
pub mod demo;
pub mod diff;
pub mod filing;
pub mod grants;
pub mod imports;
pub mod indexer;
pub mod intake;
pub mod materials;
pub mod metrics;
pub mod notify;
pub mod numbering;
pub mod packages;
pub mod pages;
pub mod persons;
pub mod qc;
pub mod receiving;
pub mod reports;
pub mod review;
pub mod search;
#[cfg(test)]
pub(crate) mod testing;
pub mod transfers;
pub(crate) mod watermark;
pub mod witness;
pub mod workflows;

pub use auth::Principal;

use crate::extract::Extractor;
use crate::index::SearchIndex;
use crate::model::{self, CategoryScheme, Finding};
use crate::store::{self, Store};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub use crate::store::{BlobChunks, SpoolWriter, SpooledBlob};

/// Errors of the service layer; the HTTP layer maps each to one status.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No valid credentials (401).
    #[error("{0}")]
    Unauthorized(String),
    /// The caller may not do this; says which rule denied it (403).
    #[error("{0}")]
    Forbidden(String),
    /// The object does not exist, or the caller may not know it exists (404).
    #[error("{0}")]
    NotFound(String),
    /// Malformed input (400).
    #[error("{0}")]
    BadRequest(String),
    /// Well-formed input that fails validation; findings say where and why (422).
    #[error("{message}")]
    Invalid {
        /// Summary.
        message: String,
        /// Each problem found.
        findings: Vec<Finding>,
    },
    /// `If-Match` names a version that is no longer current (412).
    #[error("the record has changed since version {expected}: current version is {current}")]
    PreconditionFailed {
        /// What the client sent.
        expected: u32,
        /// What is current.
        current: u32,
    },
    /// A write that needs `If-Match` came without it (428).
    #[error("this write needs an If-Match header with the current version (ETag)")]
    PreconditionRequired,
    /// The request conflicts with the current state (409).
    #[error("{0}")]
    Conflict(String),
    /// The payload is larger than allowed (413).
    #[error("{0}")]
    TooLarge(String),
    /// The account's password was set by the system administrator; its holder must choose their own before
    /// anything else (403).
    #[error(
        "rule password.change-required: this account's password was set by the system administrator; choose your \
         own first (POST /api/v1/me/password {{\"current\",\"new\"}}, or the web UI's password page)"
    )]
    PasswordChangeRequired,
    /// The store's audit trail is behind its witness (a rollback, an older backup restored): nothing but sign-in
    /// and the security administrator's acknowledgement is served until it is acknowledged (503).
    #[error("{0}")]
    AuditHold(String),
    /// Too many failed logins (429).
    #[error("too many failed logins; try again in {retry_after} s")]
    TooManyAttempts {
        /// Seconds to wait.
        retry_after: u64,
    },
    /// Stored data failed verification (500, logged; the client learns only that it is damaged).
    #[error("stored data failed verification")]
    Corrupt(String),
    /// The store failed (500).
    #[error("storage failure")]
    Store(store::Error),
    /// The search index failed (500).
    #[error("search index failure")]
    Index(#[from] crate::index::Error),
    /// Something else failed (500).
    #[error("internal error")]
    Internal(String),
    /// The archive serves nothing for now, and says why and when to ask again (503 with `Retry-After`): the
    /// store stopped taking writes after a failed one ([`crate::store::KvError::Stopped`]), so not even a read's
    /// audit entry can be written.
    #[error("{reason}")]
    Unavailable {
        /// Why, in words for the caller (never the engine's own message).
        reason: String,
        /// Seconds.
        retry_after: u64,
    },
}

impl From<store::Error> for Error {
    fn from(e: store::Error) -> Self {
        match e {
            store::Error::Corrupt { .. } => Error::Corrupt(e.to_string()),
            // The engine's reason is in the log already (the adapter's error when it stopped).
            store::Error::Kv(store::KvError::Stopped(_)) => Error::Unavailable {
                reason: "the archive is unavailable: its store stopped after a failed write (a full or failing disk), \
                         and what is read or changed must be recorded in its audit trail; the system administrator \
                         must fix the disk and restart it"
                    .into(),
                retry_after: 300,
            },
            other => Error::Store(other),
        }
    }
}

impl Error {
    /// A 422 with one finding.
    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        let message = message.into();
        Error::Invalid { message: format!("{field}: {message}"), findings: vec![Finding::error(field, message)] }
    }
}

/// The service's result.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A department of the organisation.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct Department {
    /// Code, e.g. `finance`.
    pub code: String,
    /// Name, e.g. 财务部.
    pub name: String,
}

/// The organisation's departments shipped by default (DESIGN §6).
pub fn default_departments() -> Vec<Department> {
    [
        ("hr", "人力资源部"),
        ("admin", "行政部"),
        ("finance", "财务部"),
        ("legal", "法务部"),
        ("it", "信息技术部"),
        ("ops", "业务运营部"),
        ("research", "研究发展部"),
        ("sales", "市场营销部"),
    ]
    .into_iter()
    .map(|(c, n)| Department { code: c.into(), name: n.into() })
    .collect()
}

/// A connection string for the records' database, kept out of logs and debug output (it may hold a password).
#[derive(Clone)]
pub struct StoreUrl(pub String);

impl std::fmt::Debug for StoreUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StoreUrl(..)")
    }
}

/// How the archive is set up.
#[derive(Clone, Debug)]
pub struct Config {
    /// Departments.
    pub departments: Vec<Department>,
    /// Lifetime of a session token.
    pub session_ttl: Duration,
    /// Failed logins allowed per account within `throttle_window` before it is throttled.
    pub max_failed_logins: u32,
    /// The throttling window.
    pub throttle_window: Duration,
    /// How long an upload waits for its text to be indexed before answering with `text_status: "pending"`.
    pub index_wait: Duration,
    /// Largest file accepted (bytes).
    pub max_file_size: u64,
    /// Threads of the OCR lane, which reads scans and image-only PDFs apart from the text lane (at least 1).
    pub ocr_workers: usize,
    /// Webhook URLs (http://) that receive every notification, e.g. an OA system's endpoint.
    pub webhooks: Vec<String>,
    /// Secret for the webhooks' HMAC-SHA256 signature (`x-dangan-signature: sha256=<hex>`).
    pub webhook_secret: Option<String>,
    /// How long a read's audit entry may wait for its group commit. Entries are chained (sequence and hash
    /// fixed) before the answer leaves; a commit makes them durable within this window, so a power cut loses at
    /// most this window of *read* records. `None` is strict mode: no answer before its entry is durable. A
    /// change always commits together with its entry, in both modes.
    pub audit_window: Option<Duration>,
    /// Public keys (hex; Ed25519, or SM2 points) of the installations whose transfer packages are accepted without asking.
    pub trusted_senders: Vec<String>,
    /// A bearer token `GET /metrics` asks for (none: the metrics, which hold no content, are open).
    pub metrics_token: Option<String>,
    /// Reverse proxies in front of the server: from these peers (only) the client's address is taken from
    /// `X-Forwarded-For`, for the login throttle and the audit trail.
    pub trusted_proxies: Vec<std::net::IpAddr>,
    /// The cipher suite asked for: a new store is created under it (none: the default suite); an existing store
    /// under the other suite is refused. None opens a store under whichever suite it has.
    pub suite: Option<crate::crypto::Suite>,
    /// Where the records are: a PostgreSQL database's connection string (issue 16), or none for the data
    /// directory's embedded sled store. It may hold a password: never shown (its `Debug` says only whether set).
    pub store: Option<StoreUrl>,
    /// Where the blob chunks are: an S3 bucket (issue 16; the CLI reads `--blobs s3://bucket[/folder]` and the
    /// endpoint and access key from the environment), or none for a table of the records' own engine. Its secret
    /// is never shown (`Debug` leaves it out).
    pub blobs: Option<crate::store::S3Settings>,
    /// The base URL other dangan nodes reach this one at (`http://10.0.0.1:8080`): announced in a store several
    /// processes write in turn (PostgreSQL) while this one holds the writer lease, so a standby forwards to it.
    pub advertise: Option<String>,
    /// The record checks set per installation (docs/DOMAIN.md §5): a gap between posts longer than
    /// `max_gap_months` is a warning (default 12).
    pub record_rules: crate::model::person::RecordRules,
    /// How many months a concluded special review (专项审核) counts for a promotion (凡提必审; default 36).
    pub review_valid_months: u32,
    /// How many readers a consultation names at least (查阅档案应当两人以上; default 2).
    pub consultation_readers: usize,
    /// Who approves a consultation of which dossiers (干部管理权限; default: `model/consultation.toml`).
    pub consultation_authority: crate::model::consultation::Authority,
    /// Custody (docs/DOMAIN.md §4c): how a person's status moves the paper dossier (default the shipped
    /// `model/custody.toml`), the months a transfer out has (转递 within two), and the months after which a
    /// transfer without a receipt is chased (催问; default one).
    pub custody: CustodyConfig,
    /// Days before a contract's end (or its probation's) that the register reminds legal and HR
    /// (`DANGAN_CONTRACT_NOTICE_DAYS`, 30 by default: notice before a fixed term ends, 《劳动合同法》).
    pub contract_notice_days: u32,
}

/// The custody settings of an installation (docs/DOMAIN.md §4c).
#[derive(Clone, Debug)]
pub struct CustodyConfig {
    /// How a status change moves custody.
    pub rules: crate::model::custody::CustodyRules,
    /// Months from a transfer's approval to its deadline (default 2).
    pub transfer_months: u32,
    /// Months without a receipt before a transfer is chased (催问; default 1).
    pub chase_months: u32,
}

impl Default for CustodyConfig {
    fn default() -> Self {
        CustodyConfig { rules: crate::model::custody::CustodyRules::shipped(), transfer_months: 2, chase_months: 1 }
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            departments: default_departments(),
            session_ttl: Duration::from_secs(12 * 3600),
            max_failed_logins: 5,
            throttle_window: Duration::from_secs(15 * 60),
            index_wait: Duration::from_secs(10),
            max_file_size: 256 * 1024 * 1024,
            ocr_workers: default_ocr_workers(),
            webhooks: Vec::new(),
            webhook_secret: None,
            audit_window: Some(Duration::from_millis(25)),
            trusted_senders: Vec::new(),
            metrics_token: None,
            trusted_proxies: Vec::new(),
            suite: None,
            store: None,
            blobs: None,
            advertise: None,
            record_rules: crate::model::person::RecordRules::default(),
            review_valid_months: 36,
            contract_notice_days: 30,
            consultation_readers: 2,
            consultation_authority: crate::model::consultation::Authority::default_rules(),
            custody: CustodyConfig::default(),
        }
    }
}

/// The OCR lane's default number of threads: one per core.
pub fn default_ocr_workers() -> usize {
    std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1).max(1)
}

/// The archive: store, index, extractor and configuration, shared by all callers.
#[derive(Clone)]
pub struct Archive {
    inner: Arc<Inner>,
    /// Shared by the callers' handles, never by the background workers: when the last caller lets go, the
    /// workers are told to stop before they take more work, even while one of them still holds the parts.
    _callers: Option<Arc<Callers>>,
}

/// The callers' share of an archive; dropping the last one stops the background workers.
struct Callers {
    indexer: Arc<indexer::Signal>,
    ocr: Arc<indexer::OcrSignal>,
    audit: Arc<audit::AuditLog>,
}

impl Drop for Callers {
    fn drop(&mut self) {
        self.indexer.shut_down();
        self.ocr.shut_down();
        self.audit.shut_down();
    }
}

struct Inner {
    store: Store,
    index: SearchIndex,
    extractor: Extractor,
    scheme: CategoryScheme,
    config: Config,
    /// Serialises read-modify-write sequences (versions, reference counts, queue entries).
    write_lock: Mutex<()>,
    indexer: Arc<indexer::Signal>,
    ocr: Arc<indexer::OcrSignal>,
    throttle: auth::Throttle,
    policy: std::sync::RwLock<Arc<crate::model::policy::Policy>>,
    audit: Arc<audit::AuditLog>,
    metrics: metrics::Metrics,
    /// Where streamed uploads are spooled.
    spool: SpoolDir,
    /// The access gate's hold on content.
    gate: access::Gate,
    /// Declared last, so dropped last: tells [`Archive::close`] that every part above is closed.
    closed: Closed,
}

/// Set when the parts of an archive are all dropped (see [`Archive::close`]).
#[derive(Default)]
struct Closed(Arc<(Mutex<bool>, std::sync::Condvar)>);

impl Drop for Closed {
    fn drop(&mut self) {
        let (done, cv) = &*self.0;
        *done.lock().unwrap_or_else(|p| p.into_inner()) = true;
        cv.notify_all();
    }
}

/// Declares a service: a view of the archive for one group of use cases, reached by an accessor on
/// [`Archive`]. It holds only a reference to the shared parts; the cross-cutting ones (the gate in
/// [`access`], the trail's recording in [`audit`], the store and the index) are reached through [`Archive`].
macro_rules! services {
    ($($(#[$doc:meta])* $name:ident => $accessor:ident;)*) => {
        $(
            $(#[$doc])*
            #[derive(Clone, Copy)]
            pub struct $name<'a>(&'a Archive);

            impl std::ops::Deref for $name<'_> {
                type Target = Archive;
                fn deref(&self) -> &Archive {
                    self.0
                }
            }

            impl std::fmt::Debug for $name<'_> {
                fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                    f.write_str(stringify!($name))
                }
            }
        )*

        impl Archive {
            $(
                $(#[$doc])*
                pub fn $accessor(&self) -> $name<'_> {
                    $name(self)
                }
            )*
        }
    };
}

services! {
    /// Person records: create, read, list, patch, their versions, and a dossier's catalogue.
    Persons => persons;
    /// Filing materials: new materials, new content, catalogue changes (the write side of materials).
    Filing => filing;
    /// 收材登记 and 归档: received materials, the 待归档 queue, filing them into the catalogue.
    Intake => intake;
    /// Reading materials: records, content, versions, and full-text search.
    Materials => materials;
    /// Two versions of a material compared (their extracted texts, through the gate).
    Comparisons => comparisons;
    /// Change requests through their approval flows, the inbox and the flow definitions.
    Requests => requests;
    /// A user's notifications, and the signed webhooks that carry them to other systems.
    Notifications => notifications;
    /// Consultation grants (查阅).
    Grants => grants;
    /// Reports for HR, the archive office and leaders.
    Reports => reports;
    /// 专项审核: a cadre's special review, its flow's hooks and the rules it sets (凡提必审, 认定 fields).
    Reviews => reviews;
    /// The audit trail as auditors read and verify it, and its witness.
    AuditTrail => audit_trail;
    /// Sign-in, sessions, CSRF tokens, the caller's own password and second factor.
    Sessions => sessions;
    /// Accounts as the system and security administrators manage them.
    Accounts => accounts;
    /// The access policy, the permission review and explanations of decisions.
    Policies => policies;
    /// Batch imports (catalogue + files) and scanning batches.
    Imports => imports;
    /// Transfer packages (转递): export, import, the signing key.
    Packages => packages;
    /// 转入 and 审核入库: the receiving queue of transfer packages, their review, acceptance and return.
    Receiving => receiving;
    /// The two indexing lanes, their queues, reindexing and verification.
    Indexing => indexing;
    /// What IT runs: backups and metrics.
    Operations => operations;
    /// Custody of the paper dossiers (档案保管): the record, its rules, paper-filing tasks, loans (借出).
    Custody => custody;
    /// Transfers out (转出): the package sent, the receipt (回执) that closes it, the register (转递登记簿).
    Transfers => transfers;
    /// Digitisation: the page images of scanned materials and their intake checks, and the quality control of
    /// scanning batches (自检, 抽检, 验收 or 退回, rescans).
    Digitisation => digitisation;
    /// The contract register (合同登记簿): records of contract materials, reminders, proposals from the text,
    /// legal's review notes.
    Contracts => contracts;
}

impl std::fmt::Debug for Archive {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Archive")
    }
}

/// Where streamed uploads are spooled: `<data>/tmp` of an installation, or a temporary directory (removed with
/// the archive) for an archive in memory.
pub struct SpoolDir {
    path: PathBuf,
    _temporary: Option<tempfile::TempDir>,
}

impl SpoolDir {
    /// A directory of the installation (its leftovers are cleared by [`crate::bootstrap::open`]).
    pub fn at(path: PathBuf) -> Self {
        SpoolDir { path, _temporary: None }
    }

    /// A new temporary directory, removed when the archive is dropped.
    pub fn temporary() -> Result<Self> {
        let tmp = tempfile::Builder::new()
            .prefix("dangan-spool-")
            .tempdir()
            .map_err(|e| Error::Internal(format!("cannot create a spool directory: {e}")))?;
        Ok(SpoolDir { path: tmp.path().to_path_buf(), _temporary: Some(tmp) })
    }
}

/// Starts the archive's background workers: the text lane's thread, the OCR lane's threads, the webhook
/// deliverer and the audit trail's group committer. Each holds only a weak reference between rounds and is told
/// to stop when the last caller's clone of the archive is dropped (`Drop for Callers`): it finishes the material
/// in hand and takes no more; the parts go, and the trail is flushed, when the last worker lets go
/// (`Drop for Inner`). Called by
/// [`crate::bootstrap`]; an archive whose workers are not started serves reads and writes, but nothing is
/// indexed and reads' audit entries are committed only at drop.
pub fn start_workers(archive: &Archive) {
    indexer::spawn(archive.clone());
    indexer::spawn_ocr(archive.clone());
    notify::spawn(archive.clone());
    audit::spawn_committer(archive);
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.indexer.shut_down();
        self.ocr.shut_down();
        self.audit.shut_down();
        self.audit.flush_on_drop(&self.store);
    }
}

impl Archive {
    /// Puts an archive together from its parts and loads the stored access policy. It starts nothing: opening
    /// the store and the index, choosing the tokenizer and starting the workers is [`crate::bootstrap`]'s job.
    /// Fails only if the store's unsealer was already taken (one archive per store).
    pub fn new(
        store: Store,
        index: SearchIndex,
        extractor: Extractor,
        config: Config,
        spool: SpoolDir,
    ) -> Result<Self> {
        let unsealer = store
            .take_unsealer()
            .ok_or_else(|| Error::Internal("this store already serves an archive (its unsealer was taken)".into()))?;
        let inner = Arc::new(Inner {
            store,
            index,
            extractor,
            scheme: CategoryScheme::scheme_2018(),
            config,
            write_lock: Mutex::new(()),
            indexer: Arc::default(),
            ocr: Arc::default(),
            throttle: auth::Throttle::default(),
            policy: std::sync::RwLock::new(Arc::new(crate::model::policy::Policy::default_policy())),
            audit: Arc::default(),
            metrics: metrics::Metrics::default(),
            spool,
            gate: access::Gate::new(unsealer),
            closed: Closed::default(),
        });
        let callers = Callers { indexer: inner.indexer.clone(), ocr: inner.ocr.clone(), audit: inner.audit.clone() };
        let archive = Archive { inner, _callers: Some(Arc::new(callers)) };
        if let Err(e) = archive.load_policy() {
            tracing::error!(error = %e, "could not load the stored access policy; the default applies");
        }
        Ok(archive)
    }

    /// Lets go of this handle — which must be the last caller's — and waits up to `timeout` until the background
    /// workers have finished the work in hand and every part is closed: the trail flushed, the index and the
    /// store closed (so a command may open them again, or the process end). Dropping the handle does the same
    /// without waiting. Returns whether everything closed in time.
    pub fn close(self, timeout: std::time::Duration) -> bool {
        let signal = self.inner.closed.0.clone();
        drop(self);
        let (done, cv) = &*signal;
        let done = done.lock().unwrap_or_else(|p| p.into_inner());
        let (done, _) = cv.wait_timeout_while(done, timeout, |d| !*d).unwrap_or_else(|p| p.into_inner());
        *done
    }

    /// A background worker's handle for one round: it does not count as a caller, so it does not keep the
    /// workers running once every caller has let go.
    fn for_worker(inner: Arc<Inner>) -> Self {
        Archive { inner, _callers: None }
    }

    pub(in crate::service) fn store(&self) -> &Store {
        &self.inner.store
    }

    pub(in crate::service) fn index(&self) -> &SearchIndex {
        &self.inner.index
    }

    /// The store's cipher suite.
    pub fn suite(&self) -> crate::crypto::Suite {
        self.store().keys().suite()
    }

    /// Why the store stopped taking writes after a failed write, if it did (a restart is needed; see
    /// [`crate::store::SledKv`]).
    pub fn store_stopped(&self) -> Option<String> {
        self.store().stopped()
    }

    /// The category scheme in force.
    pub fn scheme(&self) -> &CategoryScheme {
        &self.inner.scheme
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    /// Whether scans are read with OCR (tesseract installed with Chinese data).
    pub fn ocr_available(&self) -> bool {
        self.inner.extractor.ocr_available()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, ()> {
        self.inner.write_lock.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The department's name for a code.
    pub fn department_name(&self, code: &str) -> Option<String> {
        self.inner.config.departments.iter().find(|d| d.code == code).map(|d| d.name.clone())
    }
}

/// The key of version `n` of a record (person or material) in its versions table.
fn version_key(id: &[u8; 16], n: u32) -> Vec<u8> {
    store::key(&[id, &n.to_be_bytes()])
}

/// The `If-Match` check of a write: the version the client read must still be current.
fn check_version(expected: Option<u32>, current: u32) -> Result<()> {
    match expected {
        None => Err(Error::PreconditionRequired),
        Some(e) if e != current => Err(Error::PreconditionFailed { expected: e, current }),
        Some(_) => Ok(()),
    }
}

/// The 422 that validation findings of level error make (warnings travel with the saved record instead).
fn blocking_findings(findings: &[Finding]) -> Option<Error> {
    let errors: Vec<&Finding> = findings.iter().filter(|f| f.severity == model::Severity::Error).collect();
    (!errors.is_empty()).then(|| Error::Invalid {
        message: errors.iter().map(|f| format!("{}: {}", f.field, f.message)).collect::<Vec<_>>().join("; "),
        findings: findings.to_vec(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::service::testing;

    fn parts() -> (SearchIndex, Extractor) {
        let index = SearchIndex::in_memory(Arc::new(jieba_rs::Jieba::new())).unwrap();
        (index, Extractor::in_thread(std::time::Duration::from_secs(5)))
    }

    #[test]
    fn one_store_serves_one_archive_whose_gate_holds_its_unsealer() {
        let store = Store::in_memory().unwrap();
        let (index, extractor) = parts();
        let first =
            Archive::new(store.clone(), index, extractor, Config::default(), SpoolDir::temporary().unwrap()).unwrap();
        assert!(store.take_unsealer().is_none(), "the archive holds the store's unsealer");
        let (index, extractor) = parts();
        let second = Archive::new(store, index, extractor, Config::default(), SpoolDir::temporary().unwrap());
        assert!(matches!(second, Err(Error::Internal(_))), "a second archive over the same store is refused");
        drop(first);
    }

    /// A restart must leave unread scans on the OCR queue: a worker in the middle of a round (holding the parts)
    /// must not keep the lanes taking work after every caller has let go.
    #[test]
    fn the_last_caller_letting_go_stops_the_lanes_while_a_worker_still_holds_the_parts() {
        let a = testing::archive();
        let caller = a.clone();
        let worker = Archive::for_worker(a.inner.clone());
        drop(a);
        assert!(!worker.inner.ocr.is_shut_down(), "a caller still holds the archive");
        drop(caller);
        assert!(worker.inner.ocr.is_shut_down() && worker.inner.indexer.is_shut_down());
        let again = Archive::for_worker(worker.inner.clone());
        drop(worker);
        drop(again);
    }

    #[test]
    fn closing_waits_until_the_last_worker_has_let_go_of_the_parts() {
        let a = testing::archive();
        let worker = Archive::for_worker(a.inner.clone());
        let round = std::thread::spawn(move || {
            std::thread::sleep(std::time::Duration::from_millis(300));
            drop(worker);
        });
        // A worker in the middle of a round keeps the parts open: closing waits for it, within its time.
        let closing = a.clone();
        let other = Archive::for_worker(a.inner.clone());
        drop(a);
        assert!(!closing.clone().close(std::time::Duration::from_millis(50)), "a caller's clone still held them");
        drop(other);
        assert!(closing.close(std::time::Duration::from_secs(20)), "closed once the round ended");
        round.join().unwrap();
    }

    #[test]
    fn an_archive_put_together_by_new_starts_no_worker_until_told() {
        let store = Store::in_memory().unwrap();
        let (index, extractor) = parts();
        let a = Archive::new(store, index, extractor, Config::default(), SpoolDir::temporary().unwrap()).unwrap();
        let person = testing::person(&a, "王五", "sales");
        testing::file_text(&a, person, testing::meta("1", "履历表", &[]), "干部履历表");
        // No text lane runs: the material stays queued however long one waits.
        std::thread::sleep(std::time::Duration::from_millis(300));
        assert_eq!(a.indexing().queue_stats().unwrap().text.depth, 1);
        // Started, the workers drain it (so the queue above was waiting for them, not failing).
        start_workers(&a);
        assert!(a.indexing().wait_queue_empty(std::time::Duration::from_secs(20)).unwrap());
        assert_eq!(a.indexing().queue_stats().unwrap().text.depth, 0);
    }
}
