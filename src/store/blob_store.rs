//! Where a blob's sealed chunks live: the [`BlobStore`] seam. The chunks are ciphertext already (sealed under
//! each blob's own data key, with the blob's keyed address and the chunk number as associated data, see
//! [`super::blobs`]), so a blob store only keeps opaque values under [`ChunkKey`]s — it puts, gets, deletes and
//! lists them, nothing more, as narrow as [`Kv`]. What makes a chunk *reachable* — the blob's descriptor with its
//! wrapped data key, and its reference count — is metadata, committed in the store's atomic [`Kv`] commits.
//!
//! The order between the two (docs/DESIGN.md §2): a new blob's chunks are put and flushed *before* the metadata
//! commit that names them, and a shredded blob's chunks are deleted *after* the metadata commit that forgets
//! it. A crash in between leaves only unreachable ciphertext (an *orphan*: chunks without a descriptor, whose
//! data key is gone or was never committed), never a record pointing at missing chunks; `verify` reports orphans
//! and collection removes them ([`super::Store::orphan_blobs`], [`super::Store::collect_orphans`]).
//!
//! Today's implementation is [`KvBlobStore`]: the chunks in their own table ([`Table::BlobChunks`]) of the same
//! [`Kv`] as the records, under the same keys as ever (address, then chunk number big-endian), so stores written
//! before this seam existed read unchanged, and backups (which copy every table) still hold the chunks.
//! [`MemBlobStore`] keeps them in memory (tests). Both pass one shared test suite (`tests` below); an object store
//! (issue 16) is meant to be the next.

use super::blobs::BlobAddress;
use super::kv::{Batch, Kv, KvError, Table};
use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};

/// The key of one sealed chunk: its blob's address and its number. Ordered as its bytes are (address, then the
/// number big-endian), so a listing comes blob by blob, each blob's chunks in order.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct ChunkKey {
    /// The blob's address.
    pub address: BlobAddress,
    /// The chunk's number, from 0.
    pub n: u32,
}

/// DO NOT CHANGE: length of a chunk's storage key (32-byte address, 4-byte number).
const CHUNK_KEY_LEN: usize = 36;

impl ChunkKey {
    /// The storage key: the address, then the number big-endian (the layout of every store so far).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut k = Vec::with_capacity(CHUNK_KEY_LEN);
        k.extend_from_slice(self.address.as_bytes());
        k.extend_from_slice(&self.n.to_be_bytes());
        k
    }

    /// From a storage key (`None` if it is not one).
    pub fn from_bytes(b: &[u8]) -> Option<Self> {
        if b.len() != CHUNK_KEY_LEN {
            return None;
        }
        let address = BlobAddress::from_slice(&b[..32])?;
        let n = u32::from_be_bytes(b[32..].try_into().ok()?);
        Some(ChunkKey { address, n })
    }
}

/// The storage of sealed blob chunks.
///
/// Every method is about opaque ciphertext: an implementation never sees a key or a plaintext byte. Writes are
/// visible to `get` and `list` when they return, and durable once [`BlobStore::flush`] returns; the store
/// flushes a new blob's chunks before it commits the descriptor that makes them reachable.
pub trait BlobStore: Send + Sync {
    /// Stores chunks, replacing any under the same keys (a blob re-uploaded after a crash rewrites its orphan).
    fn put(&self, chunks: Vec<(ChunkKey, Vec<u8>)>) -> Result<(), KvError>;
    /// Reads one chunk.
    fn get(&self, key: &ChunkKey) -> Result<Option<Vec<u8>>, KvError>;
    /// Removes chunks; keys that are not there are no error.
    fn delete(&self, keys: &[ChunkKey]) -> Result<(), KvError>;
    /// At most `limit` keys in key order, those of `address` only when given, starting after `after` when given
    /// (paging, as S3's `prefix` and `start-after`). For verification and orphan collection.
    fn list(
        &self,
        address: Option<&BlobAddress>,
        after: Option<&ChunkKey>,
        limit: usize,
    ) -> Result<Vec<ChunkKey>, KvError>;
    /// Makes every put and delete so far durable.
    fn flush(&self) -> Result<(), KvError>;
    /// Where the chunks are, as the store records it (`records`: the records' own store; `s3://bucket/folder`).
    fn location(&self) -> String;
}

/// Chunks in their own table ([`Table::BlobChunks`]) of a [`Kv`] — with sled, a tree of the store's database.
pub struct KvBlobStore {
    kv: Arc<dyn Kv>,
}

impl KvBlobStore {
    /// Chunks in `kv`'s [`Table::BlobChunks`].
    pub fn new(kv: Arc<dyn Kv>) -> Self {
        KvBlobStore { kv }
    }
}

impl BlobStore for KvBlobStore {
    fn put(&self, chunks: Vec<(ChunkKey, Vec<u8>)>) -> Result<(), KvError> {
        if chunks.is_empty() {
            return Ok(());
        }
        // One table: sled applies it as a plain batch, not a transaction (slow over many large values).
        let mut b = Batch::default();
        for (k, v) in chunks {
            b.put(Table::BlobChunks, k.to_bytes(), v);
        }
        self.kv.commit(b)
    }

    fn get(&self, key: &ChunkKey) -> Result<Option<Vec<u8>>, KvError> {
        self.kv.get(Table::BlobChunks, &key.to_bytes())
    }

    fn delete(&self, keys: &[ChunkKey]) -> Result<(), KvError> {
        if keys.is_empty() {
            return Ok(());
        }
        let mut b = Batch::default();
        for k in keys {
            b.delete(Table::BlobChunks, k.to_bytes());
        }
        self.kv.commit(b)
    }

    fn list(
        &self,
        address: Option<&BlobAddress>,
        after: Option<&ChunkKey>,
        limit: usize,
    ) -> Result<Vec<ChunkKey>, KvError> {
        let prefix: &[u8] = address.map(|a| &a.as_bytes()[..]).unwrap_or(b"");
        let after = after.map(ChunkKey::to_bytes);
        let keys = self.kv.scan_keys(Table::BlobChunks, prefix, after.as_deref(), limit)?;
        // A key of another shape is not ours to judge here: skipped (verification reads blobs by descriptor).
        Ok(keys.iter().filter_map(|k| ChunkKey::from_bytes(k)).collect())
    }

    fn flush(&self) -> Result<(), KvError> {
        self.kv.flush()
    }

    fn location(&self) -> String {
        "records".into()
    }
}

/// Chunks in memory (tests).
#[derive(Default)]
pub struct MemBlobStore {
    chunks: RwLock<BTreeMap<ChunkKey, Vec<u8>>>,
}

fn poisoned<T>(_: T) -> KvError {
    KvError::Engine("poisoned".into())
}

impl BlobStore for MemBlobStore {
    fn put(&self, chunks: Vec<(ChunkKey, Vec<u8>)>) -> Result<(), KvError> {
        self.chunks.write().map_err(poisoned)?.extend(chunks);
        Ok(())
    }

    fn get(&self, key: &ChunkKey) -> Result<Option<Vec<u8>>, KvError> {
        Ok(self.chunks.read().map_err(poisoned)?.get(key).cloned())
    }

    fn delete(&self, keys: &[ChunkKey]) -> Result<(), KvError> {
        let mut map = self.chunks.write().map_err(poisoned)?;
        for k in keys {
            map.remove(k);
        }
        Ok(())
    }

    fn list(
        &self,
        address: Option<&BlobAddress>,
        after: Option<&ChunkKey>,
        limit: usize,
    ) -> Result<Vec<ChunkKey>, KvError> {
        use std::ops::Bound;
        let map = self.chunks.read().map_err(poisoned)?;
        let start = match (after, address) {
            (Some(a), _) => Bound::Excluded(*a),
            (None, Some(addr)) => Bound::Included(ChunkKey { address: *addr, n: 0 }),
            (None, None) => Bound::Unbounded,
        };
        Ok(map
            .range((start, Bound::Unbounded))
            .map(|(k, _)| *k)
            .skip_while(|k| address.is_some_and(|a| k.address < *a))
            .take_while(|k| address.is_none_or(|a| k.address == *a))
            .take(limit)
            .collect())
    }

    fn flush(&self) -> Result<(), KvError> {
        Ok(())
    }

    fn location(&self) -> String {
        "memory".into()
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    fn key(a: u8, n: u32) -> ChunkKey {
        ChunkKey { address: BlobAddress::from_slice(&[a; 32]).unwrap(), n }
    }

    /// The suite every blob store must pass.
    pub(crate) fn suite(bs: &dyn BlobStore) {
        assert_eq!(bs.list(None, None, 10).unwrap(), vec![]);
        assert_eq!(bs.get(&key(1, 0)).unwrap(), None);
        bs.put(vec![(key(2, 0), b"b0".to_vec()), (key(1, 1), b"a1".to_vec()), (key(1, 0), b"a0".to_vec())]).unwrap();
        bs.put(vec![(key(1, 256), b"a256".to_vec()), (key(3, 0), b"c0".to_vec())]).unwrap();
        bs.put(vec![]).unwrap();
        assert_eq!(bs.get(&key(1, 1)).unwrap().unwrap(), b"a1");
        assert_eq!(bs.get(&key(1, 2)).unwrap(), None);
        // Key order: blob by blob, each blob's chunks by number (256 after 1: big-endian).
        let all = [key(1, 0), key(1, 1), key(1, 256), key(2, 0), key(3, 0)];
        assert_eq!(bs.list(None, None, 10).unwrap(), all);
        // Paging.
        assert_eq!(bs.list(None, None, 2).unwrap(), all[..2]);
        assert_eq!(bs.list(None, Some(&key(1, 1)), 2).unwrap(), all[2..4]);
        assert_eq!(bs.list(None, Some(&key(3, 0)), 2).unwrap(), vec![]);
        // One blob's chunks only.
        let a1 = key(1, 0).address;
        assert_eq!(bs.list(Some(&a1), None, 10).unwrap(), all[..3]);
        assert_eq!(bs.list(Some(&a1), Some(&key(1, 0)), 1).unwrap(), all[1..2]);
        assert_eq!(bs.list(Some(&key(2, 0).address), None, 10).unwrap(), all[3..4]);
        assert_eq!(bs.list(Some(&key(9, 0).address), None, 10).unwrap(), vec![]);
        // Replacing, deleting (absent keys are no error).
        bs.put(vec![(key(1, 0), b"A0".to_vec())]).unwrap();
        assert_eq!(bs.get(&key(1, 0)).unwrap().unwrap(), b"A0");
        bs.delete(&[key(1, 0), key(1, 1), key(1, 256), key(7, 7)]).unwrap();
        bs.delete(&[]).unwrap();
        assert_eq!(bs.get(&key(1, 0)).unwrap(), None);
        assert_eq!(bs.list(None, None, 10).unwrap(), all[3..]);
        assert_eq!(bs.list(Some(&a1), None, 10).unwrap(), vec![]);
        bs.flush().unwrap();
        // Large values, as the real chunks are (1 MiB sealed).
        let big = vec![0xA5u8; super::super::blobs::CHUNK_SIZE + 40];
        bs.put(vec![(key(4, 0), big.clone())]).unwrap();
        assert_eq!(bs.get(&key(4, 0)).unwrap().unwrap(), big);
    }

    #[test]
    fn chunk_keys_keep_the_stored_layout() {
        let k = key(0xAB, 0x0102_0304);
        let b = k.to_bytes();
        assert_eq!(&b[..32], &[0xAB; 32]);
        assert_eq!(&b[32..], &[1, 2, 3, 4]);
        assert_eq!(ChunkKey::from_bytes(&b), Some(k));
        assert_eq!(ChunkKey::from_bytes(&b[..35]), None);
    }

    #[test]
    fn mem_blob_store_passes_the_suite() {
        suite(&MemBlobStore::default());
    }

    #[test]
    fn kv_blob_store_over_the_mem_adapter_passes_the_suite() {
        suite(&KvBlobStore::new(Arc::new(super::super::MemKv::default())));
    }

    #[test]
    fn kv_blob_store_over_sled_passes_the_suite_and_keeps_the_chunks_table() {
        let dir = tempfile::tempdir().unwrap();
        let kv: Arc<dyn Kv> = Arc::new(super::super::SledKv::open(dir.path()).unwrap());
        suite(&KvBlobStore::new(kv.clone()));
        // The chunks are in the table (and under the keys) every earlier store used.
        let raw = kv.get(Table::BlobChunks, &key(2, 0).to_bytes()).unwrap().unwrap();
        assert_eq!(raw, b"b0");
    }
}
