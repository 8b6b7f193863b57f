//! The store: the only module that knows sled. It offers
//!
//! * [`kv`] — the narrow key-value trait with the sled and in-memory adapters;
//! * sealed **records** — every value is serialised with a format version byte, then sealed with the record key
//!   and bound to its table and key ([`Store::get`], [`WriteSet::put`]);
//! * **blobs** ([`blobs`]) — content-addressed, chunked, encrypted bytes with reference counts: the descriptors
//!   and counts are records, the sealed chunks live in a [`BlobStore`] ([`blob_store`]: the seam for another
//!   backend; today [`KvBlobStore`], a table of the same [`Kv`]).
//!
//! Writes that belong together are collected in a [`WriteSet`] and committed atomically, then flushed, so an
//! acknowledged write survives a crash. Blob chunks are the exception, on purpose: a new blob's chunks are put
//! into the blob store (and flushed) while the write set is staged, before its commit; a shredded blob's chunks
//! are deleted after its commit ([`Store::commit`]). A crash in between leaves an orphan, never a record
//! pointing at missing chunks (see [`blob_store`]).

pub mod backup;
pub mod blob_store;
pub mod blobs;
pub mod kv;
pub mod object_blobs;
pub mod postgres;
pub mod spool;

pub use blob_store::{BlobStore, ChunkKey, KvBlobStore, MemBlobStore};
pub use blobs::{BlobAddress, BlobChunks, BlobInfo, PreparedBlob};
pub use kv::{Batch, Kv, KvError, MemKv, SledKv, Table};
pub use object_blobs::{ObjectBlobStore, S3Settings};
pub use postgres::PgKv;
pub use spool::{SpoolWriter, SpooledBlob, clear_spool_dir};

use crate::crypto::{self, Keys, MasterKey, Suite};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::sync::Arc;

/// DO NOT CHANGE: format version byte of records written by this version.
pub const RECORD_FORMAT: u8 = 1;
/// DO NOT CHANGE: the installation's on-disk format.
pub const STORE_FORMAT: u32 = 1;
const KEY_CHECK: &[u8] = b"key_check";
/// DO NOT CHANGE: where a store whose master key was rotated keeps the keys that outlive the rotation.
const KEYRING: &[u8] = b"keyring";
/// Where the store's blob chunks are ([`BlobStore::location`]), recorded when the store is made, so it is never
/// opened over a blob store that does not hold its chunks. A backup leaves it out (a restore may put the chunks
/// elsewhere); a store without it adopts the blob store it is opened with, once that is shown to hold its chunks.
pub(crate) const BLOB_STORE: &[u8] = b"blob_store";
const KEY_CHECK_PLAINTEXT: &[u8] = b"dangan key check v1";

/// Errors of the store.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The storage engine failed.
    #[error(transparent)]
    Kv(#[from] KvError),
    /// The master key does not open this store.
    #[error("the master key does not open this store (wrong key file or passphrase); nothing was written")]
    WrongKey,
    /// Stored data failed authentication or its hash: it was altered or damaged on disk.
    #[error("corrupt data in {table} ({detail})")]
    Corrupt {
        /// Where.
        table: &'static str,
        /// What failed (never the content).
        detail: String,
    },
    /// A record has a format version this build does not know.
    #[error("record in {0} has unknown format version {1}")]
    Format(&'static str, u8),
    /// Encryption or randomness failed.
    #[error(transparent)]
    Crypto(#[from] crypto::Error),
    /// A spool file (a streamed upload on its way to the store) could not be written or read.
    #[error("spool file: {0}")]
    Spool(#[from] std::io::Error),
    /// The store was created under another cipher suite than the one asked for.
    #[error(
        "this store was created under the {store} cipher suite ({}) and does not open under the {asked} suite: \
         start it with --suite {store} (DANGAN_SUITE={store}) or without --suite",
        store.algorithms()
    )]
    SuiteMismatch {
        /// The store's suite.
        store: Suite,
        /// The suite asked for.
        asked: Suite,
    },
    /// The store's blob chunks are in another blob store than the one it was opened with.
    #[error(
        "this store's blob chunks are in {recorded}, not in {given}: start it with the blob store it was made with \
         (--blobs, DANGAN_BLOBS)"
    )]
    BlobsElsewhere {
        /// Where the store's chunks are (as far as it knows).
        recorded: String,
        /// The blob store it was opened with.
        given: String,
    },
}

/// The suite a key-check value was sealed under, refusing one other than `want`.
fn suite_of(sealed: &[u8], want: Option<Suite>) -> Result<Suite> {
    let store = Suite::of_sealed(sealed)
        .ok_or_else(|| Error::Corrupt { table: "meta", detail: "the key check value has an unknown version".into() })?;
    match want {
        Some(asked) if asked != store => Err(Error::SuiteMismatch { store, asked }),
        _ => Ok(store),
    }
}

/// The store's result.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Encrypted records over a [`Kv`], and blobs whose chunks are in a [`BlobStore`].
#[derive(Clone)]
pub struct Store {
    kv: Arc<dyn Kv>,
    blobs: Arc<dyn BlobStore>,
    keys: Arc<Keys>,
    /// Whether the store's one [`Unsealer`] was handed out (clones share it).
    unsealer_taken: Arc<std::sync::atomic::AtomicBool>,
}

/// The right to read content: a blob's bytes ([`Store::read_blob`], [`Store::blob_chunks`]) and its extracted
/// text ([`Store::read_text`]) take one. A store hands out exactly one ([`Store::take_unsealer`]); the archive
/// puts it inside its access gate (`service::access`), in a field no other module can reach, so code that would
/// read content around the gate does not compile (it has no unsealer to pass) — and a second take gets nothing.
pub struct Unsealer {
    _private: (),
}

impl Unsealer {
    /// An unsealer for the store's own unit tests.
    #[cfg(test)]
    pub(crate) fn testing() -> Self {
        Unsealer { _private: () }
    }
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Store")
    }
}

fn aad(t: Table, key: &[u8]) -> Vec<u8> {
    let mut a = t.name().as_bytes().to_vec();
    a.push(b'/');
    a.extend_from_slice(key);
    a
}

impl Store {
    /// Opens a store over `kv` with `master` under the suite it was created with, or initialises a new store
    /// under the default suite ([`Store::open_suite`]).
    pub fn open(kv: Arc<dyn Kv>, master: &MasterKey) -> Result<Self> {
        Self::open_suite(kv, master, None)
    }

    /// Opens a store over `kv` with `master`: checks the key against the store's key-check value (refusing a
    /// wrong key before anything is written), or initialises a new store. The store's suite is the one its
    /// key-check value was sealed under; `want` asks for one: a new store is created under it (default: the
    /// default suite), an existing store under the other suite is refused ([`Error::SuiteMismatch`]).
    /// The chunks are kept in `kv` too ([`KvBlobStore`]).
    pub fn open_suite(kv: Arc<dyn Kv>, master: &MasterKey, want: Option<Suite>) -> Result<Self> {
        let blobs = Arc::new(KvBlobStore::new(kv.clone()));
        Self::open_with_blobs(kv, blobs, master, want)
    }

    /// As [`Store::open_suite`], with the blob chunks in `blobs` (a store must always be opened with the same
    /// blob store: its records name chunks there).
    pub fn open_with_blobs(
        kv: Arc<dyn Kv>,
        blobs: Arc<dyn BlobStore>,
        master: &MasterKey,
        want: Option<Suite>,
    ) -> Result<Self> {
        let check = kv.get(Table::Meta, KEY_CHECK)?;
        let suite = match &check {
            Some(sealed) => suite_of(sealed, want)?,
            None => want.unwrap_or_default(),
        };
        let mut store =
            Store { kv, blobs, keys: Arc::new(Keys::derive(suite, master)), unsealer_taken: Arc::default() };
        match check {
            Some(sealed) => {
                let plain =
                    store.keys.records.open(&sealed, &aad(Table::Meta, KEY_CHECK)).map_err(|_| Error::WrongKey)?;
                if !crypto::ct_eq(&plain, KEY_CHECK_PLAINTEXT) {
                    return Err(Error::WrongKey);
                }
                // After a rotation the lasting keys come from the keyring, sealed under this master key.
                if let Some(ring) = store.get::<crypto::Keyring>(Table::Meta, KEYRING)? {
                    let keys = Keys::with_keyring(suite, master, &ring)
                        .ok_or_else(|| Error::Corrupt { table: "meta", detail: "malformed keyring".into() })?;
                    store.keys = Arc::new(keys);
                }
                store.check_blob_store()?;
            }
            None => {
                if !store.kv.scan(Table::Persons, b"", None, 1)?.is_empty()
                    || !store.kv.scan(Table::Blobs, b"", None, 1)?.is_empty()
                {
                    return Err(Error::Corrupt { table: "meta", detail: "key check value missing".into() });
                }
                let mut b = Batch::default();
                b.put(
                    Table::Meta,
                    KEY_CHECK,
                    store.keys.records.seal(KEY_CHECK_PLAINTEXT, &aad(Table::Meta, KEY_CHECK))?,
                );
                let mut ws = store.write_set();
                ws.put(Table::Meta, b"format".to_vec(), &STORE_FORMAT)?;
                ws.put(Table::Meta, BLOB_STORE.to_vec(), &store.blobs.location())?;
                b.ops.extend(ws.batch.ops);
                store.kv.commit(b)?;
                store.kv.flush()?;
            }
        }
        Ok(store)
    }

    /// Refuses a blob store other than the one the store recorded (see [`BLOB_STORE`]); a store without the record
    /// adopts the one given if that holds the chunks of the first stored blobs that have any.
    fn check_blob_store(&self) -> Result<()> {
        let given = self.blobs.location();
        let describe = |l: &str| match l {
            "records" => "the store itself (no --blobs)".to_string(),
            other => other.to_string(),
        };
        match self.get::<String>(Table::Meta, BLOB_STORE)? {
            Some(recorded) if recorded == given => return Ok(()),
            Some(recorded) => {
                return Err(Error::BlobsElsewhere { recorded: describe(&recorded), given: describe(&given) });
            }
            None => {}
        }
        for (key, _) in self.kv.scan(Table::Blobs, b"", None, 16)? {
            let (Some(address), Some(info)) =
                (BlobAddress::from_slice(&key), self.get::<BlobInfo>(Table::Blobs, &key)?)
            else {
                continue;
            };
            if info.chunks > 0 {
                if self.blobs.list(Some(&address), None, 1)?.is_empty() {
                    return Err(Error::BlobsElsewhere {
                        recorded: "another blob store".into(),
                        given: describe(&given),
                    });
                }
                break;
            }
        }
        let mut ws = self.write_set();
        ws.put(Table::Meta, BLOB_STORE.to_vec(), &given)?;
        self.commit(ws)
    }

    /// An in-memory store with a fresh key (unit tests).
    pub fn in_memory() -> Result<Self> {
        Self::in_memory_suite(Suite::Default)
    }

    /// An in-memory store under `suite` with a fresh key (unit tests).
    pub fn in_memory_suite(suite: Suite) -> Result<Self> {
        Self::open_suite(Arc::new(MemKv::default()), &MasterKey::generate()?, Some(suite))
    }

    /// The store's one [`Unsealer`]: the first call gets it, every later one (on this store or a clone) `None`.
    pub fn take_unsealer(&self) -> Option<Unsealer> {
        let taken = self.unsealer_taken.swap(true, std::sync::atomic::Ordering::SeqCst);
        (!taken).then_some(Unsealer { _private: () })
    }

    /// The derived keys (token digests use them).
    pub fn keys(&self) -> &Keys {
        &self.keys
    }

    /// Where the blob chunks are.
    pub fn blob_store(&self) -> &Arc<dyn BlobStore> {
        &self.blobs
    }

    /// Reads and opens a record.
    pub fn get<T: DeserializeOwned>(&self, t: Table, key: &[u8]) -> Result<Option<T>> {
        match self.kv.get(t, key)? {
            Some(v) => self.decode(t, key, &v).map(Some),
            None => Ok(None),
        }
    }

    /// Reads and opens a sealed byte string written by [`WriteSet::put_bytes`].
    pub fn get_bytes(&self, t: Table, key: &[u8]) -> Result<Option<zeroize::Zeroizing<Vec<u8>>>> {
        let Some(sealed) = self.kv.get(t, key)? else { return Ok(None) };
        let mut plain = self.keys.records.open(&sealed, &aad(t, key)).map_err(|e| Error::Corrupt {
            table: t.name(),
            detail: format!("record {} does not open: {e}", crypto::encode_hex(&key[..key.len().min(16)])),
        })?;
        match plain.first() {
            Some(&RECORD_FORMAT) => {
                plain.remove(0);
                Ok(Some(plain))
            }
            Some(&v) => Err(Error::Format(t.name(), v)),
            None => Err(Error::Corrupt { table: t.name(), detail: "empty record".into() }),
        }
    }

    /// Whether a key exists (without opening it).
    pub fn contains(&self, t: Table, key: &[u8]) -> Result<bool> {
        Ok(self.kv.get(t, key)?.is_some())
    }

    /// Reads and opens the records whose key starts with `prefix`, in key order.
    pub fn scan<T: DeserializeOwned>(&self, t: Table, prefix: &[u8]) -> Result<Vec<(Vec<u8>, T)>> {
        let mut out = Vec::new();
        self.for_each_key(t, prefix, |k, v| {
            out.push((k.to_vec(), self.decode(t, k, v)?));
            Ok(())
        })?;
        Ok(out)
    }

    /// Visits raw pairs under a prefix page by page (for large tables: verification, reindexing).
    pub fn for_each_key(&self, t: Table, prefix: &[u8], mut f: impl FnMut(&[u8], &[u8]) -> Result<()>) -> Result<()> {
        let mut after: Option<Vec<u8>> = None;
        loop {
            let page = self.kv.scan(t, prefix, after.as_deref(), 512)?;
            for (k, v) in &page {
                f(k, v)?;
            }
            match page.last() {
                Some((k, _)) if page.len() == 512 => after = Some(k.clone()),
                _ => return Ok(()),
            }
        }
    }

    /// At most `limit` keys of a table, from the start.
    pub fn keys_under_limit(&self, t: Table, limit: usize) -> Result<Vec<Vec<u8>>> {
        Ok(self.kv.scan(t, b"", None, limit)?.into_iter().map(|(k, _)| k).collect())
    }

    /// Keys only, under a prefix.
    pub fn keys_under(&self, t: Table, prefix: &[u8]) -> Result<Vec<Vec<u8>>> {
        let mut out = Vec::new();
        self.for_each_key(t, prefix, |k, _| {
            out.push(k.to_vec());
            Ok(())
        })?;
        Ok(out)
    }

    fn decode<T: DeserializeOwned>(&self, t: Table, key: &[u8], sealed: &[u8]) -> Result<T> {
        let plain = self.keys.records.open(sealed, &aad(t, key)).map_err(|e| Error::Corrupt {
            table: t.name(),
            detail: format!("record {} does not open: {e}", crypto::encode_hex(&key[..key.len().min(16)])),
        })?;
        match plain.first() {
            Some(&RECORD_FORMAT) => serde_json::from_slice(&plain[1..]).map_err(|e| Error::Corrupt {
                table: t.name(),
                detail: format!("record does not parse: {}", e.classify() as u8),
            }),
            Some(&v) => Err(Error::Format(t.name(), v)),
            None => Err(Error::Corrupt { table: t.name(), detail: "empty record".into() }),
        }
    }

    /// Starts a set of writes to commit together.
    pub fn write_set(&self) -> WriteSet {
        WriteSet { keys: self.keys.clone(), batch: Batch::default(), shredded: Vec::new() }
    }

    /// Commits a write set atomically and makes it durable; then deletes the chunks of the blobs it shredded.
    pub fn commit(&self, ws: WriteSet) -> Result<()> {
        if ws.batch.is_empty() {
            return Ok(());
        }
        self.kv.commit(ws.batch)?;
        self.kv.flush()?;
        self.delete_shredded(ws.shredded, true);
        Ok(())
    }

    /// Applies `ws` one write at a time, in order, then makes it durable; a crash may leave a prefix applied
    /// (see [`Kv::commit_in_order`]). Then deletes the chunks of the blobs it shredded.
    pub fn commit_in_order(&self, ws: WriteSet) -> Result<()> {
        if ws.batch.is_empty() {
            return Ok(());
        }
        self.kv.commit_in_order(ws.batch)?;
        self.kv.flush()?;
        self.delete_shredded(ws.shredded, true);
        Ok(())
    }

    /// Commits without waiting for durability (bulk loads that flush once at the end); then deletes the chunks
    /// of the blobs it shredded.
    pub fn commit_unflushed(&self, ws: WriteSet) -> Result<()> {
        self.kv.commit(ws.batch)?;
        self.delete_shredded(ws.shredded, false);
        Ok(())
    }

    /// Deletes the chunks of blobs whose descriptors a commit has just removed. The commit stands whatever
    /// happens here: a failure leaves orphans — unreadable ciphertext, their data key gone with the descriptor —
    /// which `verify` reports and [`Store::collect_orphans`] removes; so it is logged, not returned.
    fn delete_shredded(&self, shredded: Vec<ChunkKey>, flush: bool) {
        if shredded.is_empty() {
            return;
        }
        let done = self.blobs.delete(&shredded).and_then(|()| if flush { self.blobs.flush() } else { Ok(()) });
        if let Err(e) = done {
            tracing::warn!(error = %e, chunks = shredded.len(), "the chunks of a shredded blob could not be deleted: they stay as orphans (unreadable, their data key is gone) until `dangan verify --repair` collects them");
        }
    }

    /// Makes all commits durable.
    pub fn flush(&self) -> Result<()> {
        Ok(self.kv.flush()?)
    }

    /// Why the records' engine stopped taking writes, if it did ([`KvError::Stopped`]).
    pub fn stopped(&self) -> Option<String> {
        self.kv.stopped()
    }
}

/// Writes collected for one atomic commit.
pub struct WriteSet {
    keys: Arc<Keys>,
    pub(crate) batch: Batch,
    /// Chunks of blobs whose descriptor this set deletes: deleted from the blob store after the commit.
    shredded: Vec<ChunkKey>,
}

impl WriteSet {
    /// Seals and adds a record.
    pub fn put<T: Serialize + ?Sized>(&mut self, t: Table, key: Vec<u8>, value: &T) -> Result<()> {
        let mut plain = zeroize::Zeroizing::new(vec![RECORD_FORMAT]);
        serde_json::to_writer(&mut *plain, value)
            .map_err(|e| Error::Corrupt { table: t.name(), detail: format!("serialise: {e}") })?;
        let sealed = self.keys.records.seal(&plain, &aad(t, &key))?;
        self.batch.put(t, key, sealed);
        Ok(())
    }

    /// Seals and adds a byte string as it is (no serialisation: an opaque payload such as a received package's
    /// chunk), read back with [`Store::get_bytes`].
    pub fn put_bytes(&mut self, t: Table, key: Vec<u8>, bytes: &[u8]) -> Result<()> {
        let mut plain = zeroize::Zeroizing::new(Vec::with_capacity(bytes.len() + 1));
        plain.push(RECORD_FORMAT);
        plain.extend_from_slice(bytes);
        let sealed = self.keys.records.seal(&plain, &aad(t, &key))?;
        self.batch.put(t, key, sealed);
        Ok(())
    }

    /// Seals and adds a record whose JSON is already made (the audit trail builds its segments as it chains).
    pub fn put_json(&mut self, t: Table, key: Vec<u8>, json: &[u8]) -> Result<()> {
        let mut plain = zeroize::Zeroizing::new(Vec::with_capacity(json.len() + 1));
        plain.push(RECORD_FORMAT);
        plain.extend_from_slice(json);
        let sealed = self.keys.records.seal(&plain, &aad(t, &key))?;
        self.batch.put(t, key, sealed);
        Ok(())
    }

    /// Adds a raw value (already sealed, or deliberately empty, such as index entries).
    pub fn put_raw(&mut self, t: Table, key: Vec<u8>, value: Vec<u8>) {
        self.batch.put(t, key, value);
    }

    /// Adds a delete.
    pub fn delete(&mut self, t: Table, key: Vec<u8>) {
        self.batch.delete(t, key);
    }
}

/// DO NOT CHANGE: associated data of the key-check file.
const KEY_CHECK_FILE_AAD: &[u8] = b"dangan key check file v1";

/// Checks the master key against the key-check file beside the store, before the storage engine is opened, so
/// a wrong key is refused without the engine touching a byte (sled's recovery may rewrite files on open).
/// Returns `Ok(false)` when there is no such file yet. A store of another suite than `want` is refused here too.
pub fn check_key_file(path: &std::path::Path, master: &MasterKey, want: Option<Suite>) -> Result<bool> {
    let sealed = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(Error::Kv(KvError::Engine(format!("{}: {e}", path.display())))),
    };
    let keys = Keys::derive(suite_of(&sealed, want)?, master);
    let plain = keys.records.open(&sealed, KEY_CHECK_FILE_AAD).map_err(|_| Error::WrongKey)?;
    if crypto::ct_eq(&plain, KEY_CHECK_PLAINTEXT) { Ok(true) } else { Err(Error::WrongKey) }
}

/// How a rotation of the master key went.
#[derive(Clone, Debug, Default)]
pub struct Rotation {
    /// Records re-sealed under the new key in this run.
    pub resealed: u64,
    /// Blob data keys re-wrapped in this run.
    pub rewrapped: u64,
    /// Records found already under the new key (a resumed rotation).
    pub already: u64,
    /// Whether the rotation is complete (the store now opens only with the new key).
    pub complete: bool,
    /// The store's cipher suite (a rotation keeps it).
    pub suite: Suite,
}

/// Rotates the master key of the store in `kv` from `old` to `new`: every record is re-sealed under the new
/// records key and every blob's data key re-wrapped under the new wrapping key (the blobs themselves are not
/// re-encrypted); the keys that must not change (addresses, token digests, the signing identity, the index files)
/// are carried over in the keyring. The store's key check is switched last, in one commit with the keyring, so a
/// rotation cut short (a crash) is finished by running it again with the same two keys — records already under
/// the new key are recognised and left. `stop_after` stops after that many records (tests of that resumption).
/// Offline only: nothing else may use the store meanwhile.
pub fn rotate_master_key(
    kv: Arc<dyn Kv>,
    old: &MasterKey,
    new: &MasterKey,
    stop_after: Option<u64>,
) -> Result<Rotation> {
    let mut r = Rotation::default();
    let old_store = match Store::open(kv.clone(), old) {
        Ok(s) => s,
        Err(Error::WrongKey) => {
            // Already switched? Then it opens with the new key.
            r.suite = Store::open(kv, new)?.keys.suite();
            r.complete = true;
            return Ok(r);
        }
        Err(e) => return Err(e),
    };
    let old_keys = old_store.keys.clone();
    r.suite = old_keys.suite();
    let ring = old_keys.keyring();
    let new_keys = Keys::with_keyring(r.suite, new, &ring)
        .ok_or_else(|| Error::Corrupt { table: "meta", detail: "keyring".into() })?;
    for t in Table::ALL {
        if t == Table::BlobChunks {
            continue; // sealed under each blob's own data key, which does not change
        }
        let mut batch = Batch::default();
        for (k, v) in kv.scan(t, b"", None, usize::MAX)? {
            if t == Table::Meta && (k == KEY_CHECK || k == KEYRING) {
                continue; // switched last, together
            }
            if v.is_empty() {
                continue; // a bare key (the catalogue's index): nothing sealed
            }
            let a = aad(t, &k);
            if new_keys.records.open(&v, &a).is_ok() {
                r.already += 1;
                continue;
            }
            let mut plain = old_keys.records.open(&v, &a).map_err(|e| Error::Corrupt {
                table: t.name(),
                detail: format!("record {} opens with neither key: {e}", crypto::encode_hex(&k[..k.len().min(16)])),
            })?;
            if t == Table::Blobs && plain.first() == Some(&RECORD_FORMAT) {
                let mut info: blobs::BlobInfo = serde_json::from_slice(&plain[1..])
                    .map_err(|e| Error::Corrupt { table: "blobs", detail: format!("descriptor: {e}") })?;
                let wrapped = crypto::decode_hex(&info.wrapped_key)
                    .ok_or_else(|| Error::Corrupt { table: "blobs", detail: "bad wrapped key".into() })?;
                let data_key = old_keys
                    .wrap
                    .open(&wrapped, &k)
                    .map_err(|e| Error::Corrupt { table: "blobs", detail: format!("data key does not unwrap: {e}") })?;
                info.wrapped_key = crypto::encode_hex(&new_keys.wrap.seal(&data_key, &k)?);
                let mut again = zeroize::Zeroizing::new(vec![RECORD_FORMAT]);
                serde_json::to_writer(&mut *again, &info)
                    .map_err(|e| Error::Corrupt { table: "blobs", detail: format!("descriptor: {e}") })?;
                plain = again;
                r.rewrapped += 1;
            }
            batch.put(t, k.clone(), new_keys.records.seal(&plain, &a)?);
            r.resealed += 1;
            if stop_after.is_some_and(|n| r.resealed >= n) {
                kv.commit(batch)?;
                kv.flush()?;
                return Ok(r);
            }
            if batch.ops.len() >= 512 {
                kv.commit(std::mem::take(&mut batch))?;
            }
        }
        if !batch.is_empty() {
            kv.commit(batch)?;
        }
    }
    // The switch: the keyring and the key check under the new key, in one commit.
    let mut last = Batch::default();
    let mut ring_plain = zeroize::Zeroizing::new(vec![RECORD_FORMAT]);
    serde_json::to_writer(&mut *ring_plain, &ring)
        .map_err(|e| Error::Corrupt { table: "meta", detail: e.to_string() })?;
    last.put(Table::Meta, KEYRING, new_keys.records.seal(&ring_plain, &aad(Table::Meta, KEYRING))?);
    last.put(Table::Meta, KEY_CHECK, new_keys.records.seal(KEY_CHECK_PLAINTEXT, &aad(Table::Meta, KEY_CHECK))?);
    kv.commit(last)?;
    kv.flush()?;
    r.complete = true;
    Ok(r)
}

/// Writes the key-check file of a store under `suite` (once the store has accepted the key).
pub fn write_key_file(path: &std::path::Path, suite: Suite, master: &MasterKey) -> Result<()> {
    let sealed = Keys::derive(suite, master).records.seal(KEY_CHECK_PLAINTEXT, KEY_CHECK_FILE_AAD)?;
    crypto::write_private(path, &sealed).map_err(|e| Error::Kv(KvError::Engine(format!("{}: {e}", path.display()))))
}

/// Concatenates key parts.
pub fn key(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_store_hands_out_one_unsealer_once() {
        let s = Store::in_memory().unwrap();
        let clone = s.clone();
        assert!(s.take_unsealer().is_some());
        assert!(s.take_unsealer().is_none(), "a second take gets nothing");
        assert!(clone.take_unsealer().is_none(), "nor does a clone of the store");
    }

    #[test]
    fn records_are_sealed_and_bound_to_their_key() {
        for suite in Suite::ALL {
            records_are_sealed_and_bound_to_their_key_under(suite);
        }
    }

    fn records_are_sealed_and_bound_to_their_key_under(suite: Suite) {
        let kv: Arc<dyn Kv> = Arc::new(MemKv::default());
        let master = MasterKey::generate().unwrap();
        let s = Store::open_suite(kv.clone(), &master, Some(suite)).unwrap();
        assert_eq!(s.keys().suite(), suite);
        let mut ws = s.write_set();
        ws.put(Table::Persons, b"a".to_vec(), &"张三的档案").unwrap();
        ws.put(Table::Persons, b"b".to_vec(), &"李四").unwrap();
        s.commit(ws).unwrap();
        assert_eq!(s.get::<String>(Table::Persons, b"a").unwrap().unwrap(), "张三的档案");
        let raw = kv.get(Table::Persons, b"a").unwrap().unwrap();
        assert!(!String::from_utf8_lossy(&raw).contains("张三"));
        // Moving a sealed value to another key is detected.
        let mut b = Batch::default();
        b.put(Table::Persons, b"b".to_vec(), raw);
        kv.commit(b).unwrap();
        assert!(matches!(s.get::<String>(Table::Persons, b"b"), Err(Error::Corrupt { .. })));
        assert_eq!(s.scan::<String>(Table::Persons, b"a").unwrap().len(), 1);

        // Reopening with the right key works, under the store's own suite; with another key is refused.
        assert_eq!(Store::open(kv.clone(), &master).unwrap().keys().suite(), suite);
        assert!(Store::open_suite(kv.clone(), &master, Some(suite)).is_ok());
        assert!(matches!(Store::open(kv.clone(), &MasterKey::generate().unwrap()), Err(Error::WrongKey)));
        // Under the other suite: refused, naming both, whatever the key.
        let other = Suite::ALL[1 - suite as usize];
        let e = Store::open_suite(kv.clone(), &master, Some(other)).unwrap_err();
        assert!(matches!(e, Error::SuiteMismatch { store, asked } if store == suite && asked == other), "{e}");
        assert!(e.to_string().contains(&format!("--suite {suite}")));
        // The key-check file says the same before the engine is opened.
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("key-check");
        assert!(!check_key_file(&file, &master, None).unwrap());
        write_key_file(&file, suite, &master).unwrap();
        assert!(check_key_file(&file, &master, None).unwrap());
        assert!(check_key_file(&file, &master, Some(suite)).unwrap());
        assert!(matches!(check_key_file(&file, &master, Some(other)), Err(Error::SuiteMismatch { .. })));
        assert!(matches!(check_key_file(&file, &MasterKey::generate().unwrap(), None), Err(Error::WrongKey)));
    }

    #[test]
    fn a_rotation_keeps_the_suite() {
        let kv: Arc<dyn Kv> = Arc::new(MemKv::default());
        let (old, new) = (MasterKey::generate().unwrap(), MasterKey::generate().unwrap());
        let s = Store::open_suite(kv.clone(), &old, Some(Suite::Gm)).unwrap();
        let addr = s.address_of(b"x");
        let mut ws = s.write_set();
        ws.put(Table::Persons, b"a".to_vec(), &"王五").unwrap();
        s.commit(ws).unwrap();
        let r = rotate_master_key(kv.clone(), &old, &new, None).unwrap();
        assert!(r.complete && r.suite == Suite::Gm);
        let s = Store::open(kv.clone(), &new).unwrap();
        assert_eq!((s.keys().suite(), s.address_of(b"x")), (Suite::Gm, addr));
        assert_eq!(s.get::<String>(Table::Persons, b"a").unwrap().unwrap(), "王五");
        assert!(matches!(Store::open(kv, &old), Err(Error::WrongKey)));
    }
}
