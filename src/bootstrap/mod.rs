//! Bootstrap: where an installation is put together. It chooses the engines (sled for the store, an encrypted
//! Tantivy directory on disk or in memory, jieba for Chinese), checks the master key against the data directory,
//! builds the [`Archive`] from these parts and starts its background workers ([`service::start_workers`]); the
//! workers stop when the last clone of the archive is dropped. Nothing else in the crate opens sled or a
//! Tantivy directory for an archive, so another engine (issue 16) is a change here and behind the store's and
//! the blob store's traits, not in the use cases.

pub mod backups;
pub mod extraction;
pub mod keys;

pub use crate::crypto::{MasterKey, Suite, labelled_key, unlabelled_key};
pub use extraction::{extract_worker_main, extractor};
pub use keys::{KeyUse, load_key};

use crate::extract::Extractor;
use crate::index::SearchIndex;
use crate::service::{self, Archive, Config, Error, Result, SpoolDir};
pub use crate::store::S3Settings;
use crate::store::{self, BlobStore, Kv, KvBlobStore, ObjectBlobStore, PgKv, SledKv, Store};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Opens an installation: checks the key, opens the records' store (the sled store under `data`, or the
/// PostgreSQL database `config.store` names), its blob store (the records' own, or the bucket `config.blobs`
/// names) and the sealed index under `data`, clears
/// spools a crash left behind, builds the archive and starts its workers; rebuilds the index if it was lost,
/// marks imports a crash interrupted, and warns about accounts that break a hard rule.
pub fn open(data: &Path, master: &crate::crypto::MasterKey, extractor: Extractor, config: Config) -> Result<Archive> {
    let dir = DataDir(data.to_path_buf());
    dir.restrict_permissions().map_err(|e| Error::Internal(format!("cannot secure {}: {e}", data.display())))?;
    // A wrong key is refused before sled opens (and possibly rewrites) anything.
    let checked = store::check_key_file(&dir.key_check(), master, config.suite)?;
    let kv = open_records(data, config.store.as_ref().map(|u| u.0.as_str())).map_err(store::Error::from)?;
    let lease = kv.lease_generation();
    if let Some(address) = &config.advertise {
        kv.announce_writer(&format!("{} {address}", writer_tag(master, address))).map_err(store::Error::from)?;
    }
    let blobs = open_blobs(&kv, config.blobs.as_ref()).map_err(store::Error::from)?;
    let store = Store::open_with_blobs(kv, blobs, master, config.suite)?;
    if !checked {
        store::write_key_file(&dir.key_check(), store.keys().suite(), master)?;
    }
    let sealer = Arc::new(IndexSealer(store.keys().clone()));
    let index = SearchIndex::open_sealed(&dir.index(), tokenizer(), sealer, INDEX_CACHE_BYTES)?;
    // Spools a crash left behind are unreadable (their keys lived only in memory): they go.
    store::clear_spool_dir(&dir.tmp())
        .map_err(|e| Error::Internal(format!("cannot clear {}: {e}", dir.tmp().display())))?;
    let archive = Archive::new(store, index, extractor, config, SpoolDir::at(dir.tmp()))?;
    service::start_workers(&archive);
    // The index is derived data: if it was lost (deleted, or a new schema), rebuild it from the store.
    if archive.indexing().needs_rebuild()? {
        tracing::warn!("the search index is empty but the store holds materials: rebuilding it");
        archive.indexing().reindex()?;
    } else if let Some(g) = lease
        && index_lease(&dir) != Some(g - 1)
    {
        // A store several processes write in turn (PostgreSQL), each indexing into its own data directory: where
        // another process held the writer lease since this index was last kept (or it is not known), the other
        // may have indexed — and taken from the durable queue — what this index lacks.
        tracing::warn!("another process wrote the store since this search index was kept up to date: rebuilding it");
        archive.indexing().reindex()?;
    }
    if let Some(g) = lease {
        std::fs::write(dir.index_lease(), g.to_string())
            .map_err(|e| Error::Internal(format!("cannot write {}: {e}", dir.index_lease().display())))?;
    }
    archive.imports().mark_interrupted_imports()?;
    for (username, violations) in archive.policies().account_violations()? {
        for v in violations {
            tracing::warn!(%username, violation = %v, "an account breaks a hard rule; it acts without the offending roles until the security administrator mends it (see GET /api/v1/access/review)");
        }
    }
    Ok(archive)
}

/// The tag that proves an announced writer address was written by a holder of `master`: a standby forwards
/// its users' requests (passwords among them) only to an address a dangan node announced, never to one that
/// somebody with access to the database wrote there.
fn writer_tag(master: &crate::crypto::MasterKey, address: &str) -> String {
    let key = blake3::derive_key("dangan 2026-12 writer address tag", master.expose());
    crate::crypto::encode_hex(blake3::keyed_hash(&key, address.as_bytes()).as_bytes())
}

/// The address the writer of the PostgreSQL store `store` announced (see [`crate::service::Config::advertise`]),
/// if it did, the database answers, and its tag shows a holder of `master` announced it.
pub fn writer_address(store: &str, master: &crate::crypto::MasterKey) -> Option<String> {
    let announced = match PgKv::writer_address(store) {
        Ok(announced) => announced?,
        Err(e) => {
            tracing::warn!(error = %e, "cannot read the writer's address");
            return None;
        }
    };
    let (tag, address) = announced.split_once(' ')?;
    if !crate::crypto::ct_eq(tag.as_bytes(), writer_tag(master, address).as_bytes()) {
        tracing::error!("the writer address in the database is not one a dangan node announced: not forwarding to it");
        return None;
    }
    Some(address.to_string())
}

/// Whether opening failed because another process holds the store (sled's folder, PostgreSQL's writer lease).
pub fn held_elsewhere(e: &anyhow::Error) -> bool {
    matches!(e.downcast_ref::<store::Error>(), Some(store::Error::Kv(store::KvError::Locked(_))))
}

/// The writer lease under which the index in `dir` was last kept up to date (see [`open`]).
fn index_lease(dir: &DataDir) -> Option<i64> {
    std::fs::read_to_string(dir.index_lease()).ok()?.trim().parse().ok()
}

/// The records' engine: the PostgreSQL database `store` names, or the sled store under `data`.
pub fn open_records(data: &Path, store: Option<&str>) -> std::result::Result<Arc<dyn Kv>, store::KvError> {
    Ok(match store {
        Some(url) => Arc::new(PgKv::open(url)?),
        None => Arc::new(SledKv::open(&DataDir(data.to_path_buf()).store())?),
    })
}

/// Where the blob chunks go: the S3 bucket `blobs` names (the CLI reads them with [`S3Settings::from_env`]), or a
/// table of the records' own engine.
pub fn open_blobs(
    kv: &Arc<dyn Kv>,
    blobs: Option<&S3Settings>,
) -> std::result::Result<Arc<dyn BlobStore>, store::KvError> {
    Ok(match blobs {
        Some(settings) => Arc::new(ObjectBlobStore::s3(settings)?),
        None => Arc::new(KvBlobStore::new(kv.clone())),
    })
}

/// Whether a records' engine already holds a store (its meta table has the store's key check).
fn holds_store(kv: &dyn Kv) -> std::result::Result<bool, store::KvError> {
    Ok(!kv.scan_keys(store::Table::Meta, b"", None, 1)?.is_empty())
}

/// Refuses a PostgreSQL database that holds a store already, for `init` (a new store is made only in an empty
/// database). A data directory's store is refused by its folder (`init` checks it).
pub fn refuse_existing_records(data: &Path, store: Option<&str>) -> anyhow::Result<()> {
    if let Some(url) = store
        && holds_store(&*open_records(data, Some(url))?)?
    {
        anyhow::bail!("that PostgreSQL database already holds a dangan store (serve it, or give an empty database)");
    }
    Ok(())
}

/// Restores a backup file (`dangan backup`'s output) into `data` (or the PostgreSQL database `store` names),
/// which must hold no store yet, the chunks into the blob store `blobs` names ([`open_blobs`]); the records are
/// checked as they are read. A refused restore leaves nothing
/// behind in a data directory; a database is emptied again. The master key is checked by opening the restored
/// store afterwards ([`open`]), which also rebuilds the index.
pub fn restore(
    data: &Path,
    file: &Path,
    store: Option<&str>,
    blobs: Option<&S3Settings>,
) -> anyhow::Result<store::backup::BackupStats> {
    use anyhow::Context;
    let dir = DataDir(data.to_path_buf());
    if store.is_none() && dir.store().exists() {
        anyhow::bail!("{} already holds a store; restore needs an empty directory", data.display());
    }
    let input = std::fs::File::open(file).with_context(|| format!("cannot read {}", file.display()))?;
    let kv = open_records(data, store)?;
    if store.is_some() && holds_store(&*kv)? {
        anyhow::bail!("that PostgreSQL database already holds a dangan store; restore needs an empty database");
    }
    let blob_store = open_blobs(&kv, blobs)?;
    match store::backup::import(&*kv, &*blob_store, std::io::BufReader::new(input)) {
        Ok(s) => Ok(s),
        Err(e) => {
            if store.is_some() {
                // Every table emptied again, a page of keys at a time.
                for t in store::Table::ALL {
                    while let Ok(keys) = kv.scan_keys(t, b"", None, 1024)
                        && !keys.is_empty()
                    {
                        let mut b = store::Batch::default();
                        for k in keys {
                            b.delete(t, k);
                        }
                        if kv.commit(b).is_err() {
                            break;
                        }
                    }
                }
            }
            drop(kv);
            if store.is_none() {
                let _ = std::fs::remove_dir_all(dir.store());
            }
            anyhow::bail!("restore refused: {e}")
        }
    }
}

/// An archive in memory, with its workers started (tests, benchmarks, trying things out).
pub fn in_memory(extractor: Extractor, config: Config) -> Result<Archive> {
    let store = Store::in_memory()?;
    let index = SearchIndex::in_memory(tokenizer())?;
    let archive = Archive::new(store, index, extractor, config, SpoolDir::temporary()?)?;
    service::start_workers(&archive);
    Ok(archive)
}

/// The Chinese tokenizer the index uses: jieba with its default dictionary.
fn tokenizer() -> Arc<jieba_rs::Jieba> {
    Arc::new(jieba_rs::Jieba::new())
}

/// Decrypted index blocks kept in memory (the sealed index directory's cache).
const INDEX_CACHE_BYTES: usize = 64 * 1024 * 1024;

/// Seals the search index's files with the installation's keys: a key per file name, the block number as
/// associated data. Public for the benchmark that compares the sealed index with a plain one.
pub struct IndexSealer(pub crate::crypto::Keys);

impl crate::index::FileSealer for IndexSealer {
    fn seal(&self, file: &str, block: u64, plain: &[u8]) -> std::io::Result<Vec<u8>> {
        self.0.index_file_key(file).seal(plain, &block.to_le_bytes()).map_err(std::io::Error::other)
    }

    fn open(&self, file: &str, block: u64, sealed: &[u8]) -> std::io::Result<Vec<u8>> {
        self.0
            .index_file_key(file)
            .open(sealed, &block.to_le_bytes())
            .map(|plain| plain.to_vec())
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))
    }

    fn overhead(&self) -> usize {
        self.0.suite().overhead()
    }
}

/// Where an installation keeps its files.
pub struct DataDir(pub PathBuf);

impl DataDir {
    /// `<data>/store`
    pub fn store(&self) -> PathBuf {
        self.0.join("store")
    }
    /// `<data>/index.lease`: the writer lease (of a store several processes write in turn) under which the index
    /// was last kept.
    pub fn index_lease(&self) -> PathBuf {
        self.0.join("index.lease")
    }
    /// `<data>/index`
    pub fn index(&self) -> PathBuf {
        self.0.join("index")
    }
    /// `<data>/tmp`: spool files of streamed uploads (sealed under keys held only in memory; emptied at start).
    pub fn tmp(&self) -> PathBuf {
        self.0.join("tmp")
    }
    /// `<data>/key-check`: a sealed value that tells a wrong key before the store is opened.
    pub fn key_check(&self) -> PathBuf {
        self.0.join("key-check")
    }
    /// `<data>/master.key`: only the demo keeps its throw-away key here.
    pub fn key_file(&self) -> PathBuf {
        self.0.join("master.key")
    }

    /// Makes the data directory readable by its owner only: every directory 0700, every file 0600 (a store made
    /// by an older version, or copied in, may have been created 0644). New files are created so by the process
    /// umask the command line sets.
    pub fn restrict_permissions(&self) -> std::io::Result<()> {
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::create_dir_all(&self.0)?;
            let mut stack = vec![self.0.clone()];
            while let Some(dir) = stack.pop() {
                std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700))?;
                for entry in std::fs::read_dir(&dir)? {
                    let entry = entry?;
                    let kind = entry.file_type()?;
                    if kind.is_dir() {
                        stack.push(entry.path());
                    } else if kind.is_file() {
                        std::fs::set_permissions(entry.path(), std::fs::Permissions::from_mode(0o600))?;
                    }
                }
            }
        }
        Ok(())
    }
}
