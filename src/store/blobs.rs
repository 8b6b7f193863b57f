//! Content-addressed, encrypted blobs. The address of a file is the keyed BLAKE3 hash of its bytes, so equal
//! files are stored once (reference-counted) without letting anyone probe the store with a known file's plain
//! hash. Each blob has its own random data key, wrapped by the installation's wrapping key; the bytes are cut into
//! 1 MiB chunks, each sealed with the address and the chunk number as associated data. Every read is verified:
//! a chunk that fails authentication, or bytes whose hash differs from the address, give [`Error::Corrupt`] —
//! never wrong bytes.
//!
//! The descriptor (sizes, content hash, wrapped data key) and the reference count are records, committed with
//! the change that files or destroys the blob; the sealed chunks go to the store's [`super::BlobStore`] — a new
//! blob's before that commit (and flushed), a shredded blob's after it. Chunks without a descriptor are orphans:
//! [`Store::orphan_blobs`] finds them, [`Store::collect_orphans`] removes them.

use super::blob_store::ChunkKey;
use super::{Error, Result, Store, Table, Unsealer, WriteSet};
use crate::crypto::{SealKey, SecretKey, encode_hex};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;
use zeroize::Zeroizing;

/// DO NOT CHANGE: chunk size of blobs written by this version (recorded per blob, so it may change later).
pub const CHUNK_SIZE: usize = 1024 * 1024;
/// Chunks of a spooled upload written to the store per batch (bounds the memory of a large upload).
pub const SPOOL_BATCH_CHUNKS: usize = 8;

/// A blob's address: the keyed BLAKE3 hash of its bytes.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BlobAddress([u8; 32]);

impl BlobAddress {
    /// The raw bytes (the storage key).
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
    /// From a storage key.
    pub fn from_slice(b: &[u8]) -> Option<Self> {
        b.try_into().ok().map(BlobAddress)
    }
}

impl fmt::Display for BlobAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&encode_hex(&self.0))
    }
}

impl fmt::Debug for BlobAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "BlobAddress({self})")
    }
}

impl FromStr for BlobAddress {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        let b = crate::crypto::decode_hex(s).ok_or(())?;
        Self::from_slice(&b).ok_or(())
    }
}

/// What the store keeps about a blob (sealed in `blobs`).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct BlobInfo {
    /// Size in bytes.
    pub size: u64,
    /// Number of chunks.
    pub chunks: u32,
    /// Chunk size used.
    pub chunk_size: u32,
    /// Plain BLAKE3 of the bytes (hex), for manifests and clients.
    pub plain_hash: String,
    /// The data key, sealed with the wrapping key (hex).
    pub wrapped_key: String,
}

/// A blob hashed (and, when new, sealed) outside the write lock, ready to be staged.
pub struct PreparedBlob {
    /// Its address.
    pub address: BlobAddress,
    /// Its plain BLAKE3 (hex).
    pub plain_hash: String,
    /// Its size.
    pub size: u64,
    sealed: Option<(BlobInfo, Vec<Vec<u8>>)>,
}

fn chunk_aad(addr: &BlobAddress, n: u32) -> Vec<u8> {
    let mut a = addr.0.to_vec();
    a.extend_from_slice(&n.to_be_bytes());
    a
}

impl Store {
    /// The address `bytes` would have.
    pub fn address_of(&self, bytes: &[u8]) -> BlobAddress {
        let mut h = self.keys.address_hasher();
        h.update(bytes);
        BlobAddress(h.finalize())
    }

    /// Hashes `bytes` and, unless the store holds them already, seals them. CPU-heavy: call off the async runtime.
    pub fn prepare_blob(&self, bytes: &[u8]) -> Result<PreparedBlob> {
        let address = self.address_of(bytes);
        let plain_hash = self.keys.suite().hash_hex(bytes);
        let sealed = if self.contains(Table::Blobs, address.as_bytes())? {
            None
        } else {
            Some(self.seal_blob(&address, &plain_hash, bytes)?)
        };
        Ok(PreparedBlob { address, plain_hash, size: bytes.len() as u64, sealed })
    }

    fn seal_blob(&self, address: &BlobAddress, plain_hash: &str, bytes: &[u8]) -> Result<(BlobInfo, Vec<Vec<u8>>)> {
        let data_key = SecretKey::generate()?;
        let cipher = self.keys.data_key(&data_key);
        let chunks = bytes
            .chunks(CHUNK_SIZE)
            .enumerate()
            .map(|(i, c)| cipher.seal(c, &chunk_aad(address, i as u32)))
            .collect::<Result<Vec<_>, _>>()?;
        let info = BlobInfo {
            size: bytes.len() as u64,
            chunks: chunks.len() as u32,
            chunk_size: CHUNK_SIZE as u32,
            plain_hash: plain_hash.to_string(),
            wrapped_key: encode_hex(&self.keys.wrap.seal(data_key.expose(), address.as_bytes())?),
        };
        Ok((info, chunks))
    }

    /// Stages one more reference to a prepared blob, writing its chunks if the store does not hold it yet.
    /// Call under the archive's write lock (reference counts are read-modify-write, and orphan collection relies
    /// on no chunks being written outside it).
    pub fn stage_blob_ref(&self, ws: &mut WriteSet, blob: PreparedBlob, bytes: &[u8]) -> Result<()> {
        let key = blob.address.as_bytes().to_vec();
        let refs: u64 = self.get(Table::BlobRefs, &key)?.unwrap_or(0);
        if !self.contains(Table::Blobs, &key)? {
            let (info, chunks) = match blob.sealed {
                Some(s) => s,
                None => self.seal_blob(&blob.address, &blob.plain_hash, bytes)?,
            };
            // Blob first, then metadata: the chunks are put into the blob store and made durable now; the
            // descriptor that makes them reachable follows in the caller's atomic commit. A crash (or a failed
            // commit) in between leaves only an orphan — unreachable ciphertext, its data key never committed —
            // rewritten by the next upload of the same bytes, or collected (`Store::collect_orphans`).
            let address = blob.address;
            self.blobs
                .put(chunks.into_iter().enumerate().map(|(i, c)| (ChunkKey { address, n: i as u32 }, c)).collect())?;
            self.blobs.flush()?;
            ws.put(Table::Blobs, key.clone(), &info)?;
        }
        ws.put(Table::BlobRefs, key, &(refs + 1))?;
        Ok(())
    }

    /// Stages one more reference to a spooled content ([`super::spool`]), writing its chunks if the store does not
    /// hold it yet: the spool is read back one chunk at a time, each chunk sealed under a new data key with the
    /// blob's address in its associated data, and the chunks committed in batches of [`SPOOL_BATCH_CHUNKS`], so
    /// memory stays at a few chunks whatever the size. Call under the archive's write lock (reference counts are
    /// read-modify-write, two uploads of the same new content must not both write its chunks, and orphan
    /// collection relies on no chunks being written outside it).
    pub fn stage_spooled_ref(&self, ws: &mut WriteSet, spooled: &super::SpooledBlob) -> Result<()> {
        let address = spooled.address();
        let key = address.as_bytes().to_vec();
        let refs: u64 = self.get(Table::BlobRefs, &key)?.unwrap_or(0);
        if !self.contains(Table::Blobs, &key)? {
            let data_key = SecretKey::generate()?;
            let cipher = self.keys.data_key(&data_key);
            let mut b = Vec::with_capacity(SPOOL_BATCH_CHUNKS);
            let mut n = 0u32;
            for chunk in spooled.chunks()? {
                b.push((ChunkKey { address, n }, cipher.seal(&chunk?, &chunk_aad(&address, n))?));
                n += 1;
                if b.len() == SPOOL_BATCH_CHUNKS {
                    // As in `stage_blob_ref`: the chunks first (made durable below), the descriptor in the
                    // caller's atomic commit.
                    self.blobs.put(std::mem::take(&mut b))?;
                }
            }
            self.blobs.put(b)?;
            self.blobs.flush()?;
            let info = BlobInfo {
                size: spooled.size(),
                chunks: n,
                chunk_size: CHUNK_SIZE as u32,
                plain_hash: spooled.plain_hash().to_string(),
                wrapped_key: encode_hex(&self.keys.wrap.seal(data_key.expose(), address.as_bytes())?),
            };
            ws.put(Table::Blobs, key.clone(), &info)?;
        }
        ws.put(Table::BlobRefs, key, &(refs + 1))?;
        Ok(())
    }

    /// Stages one more reference to a blob the store holds (a page original kept by a new version). Call under
    /// the archive's write lock.
    pub fn stage_held_blob_ref(&self, ws: &mut WriteSet, address: &BlobAddress) -> Result<()> {
        let key = address.as_bytes().to_vec();
        if !self.contains(Table::Blobs, &key)? {
            return Err(Error::Corrupt {
                table: "blobs",
                detail: format!("blob {address} is referenced but not held"),
            });
        }
        let refs: u64 = self.get(Table::BlobRefs, &key)?.unwrap_or(0);
        ws.put(Table::BlobRefs, key, &(refs + 1))?;
        Ok(())
    }

    /// Stages `count` references fewer; dropping the last one deletes the descriptor (with the wrapped data key:
    /// crypto-shredding) and the extracted text in the commit, and the chunks from the blob store after it
    /// ([`Store::commit`]). Call under the archive's write lock, and commit under it too: an upload of the same
    /// bytes between the commit and the deletion would lose its new chunks.
    pub fn stage_blob_unref(&self, ws: &mut WriteSet, address: &BlobAddress, count: u64) -> Result<()> {
        let key = address.as_bytes().to_vec();
        let refs: u64 = self.get(Table::BlobRefs, &key)?.unwrap_or(0);
        if refs > count {
            ws.put(Table::BlobRefs, key, &(refs - count))?;
            return Ok(());
        }
        if let Some(info) = self.blob_info(address)? {
            ws.shredded.extend((0..info.chunks).map(|n| ChunkKey { address: *address, n }));
        }
        ws.delete(Table::Blobs, key.clone());
        ws.delete(Table::BlobRefs, key.clone());
        ws.delete(Table::Texts, key);
        Ok(())
    }

    /// What the store knows of a blob.
    pub fn blob_info(&self, address: &BlobAddress) -> Result<Option<BlobInfo>> {
        self.get(Table::Blobs, address.as_bytes())
    }

    /// Number of references to a blob.
    pub fn blob_refs(&self, address: &BlobAddress) -> Result<u64> {
        Ok(self.get(Table::BlobRefs, address.as_bytes())?.unwrap_or(0))
    }

    /// A blob's own data key, unwrapped, with its descriptor.
    fn data_key(&self, address: &BlobAddress) -> Result<(SealKey, BlobInfo)> {
        let corrupt = |detail: String| Error::Corrupt { table: "blobs", detail: format!("blob {address}: {detail}") };
        let info = self.blob_info(address)?.ok_or_else(|| corrupt("descriptor missing".into()))?;
        let wrapped = crate::crypto::decode_hex(&info.wrapped_key).ok_or_else(|| corrupt("bad wrapped key".into()))?;
        let raw_key = self
            .keys
            .wrap
            .open(&wrapped, address.as_bytes())
            .map_err(|_| corrupt("data key does not unwrap".into()))?;
        let arr: [u8; 32] = raw_key.as_slice().try_into().map_err(|_| corrupt("data key length".into()))?;
        Ok((self.keys.data_key(&SecretKey::from_bytes(arr)), info))
    }

    /// Stages the text extracted from a blob, sealed under the blob's own data key (and, as every record, the
    /// records key): when the last reference drops and the data key is destroyed, the text goes with the bytes,
    /// even where an old copy of the record lingers.
    pub fn stage_text<T: Serialize>(&self, ws: &mut WriteSet, address: &BlobAddress, text: &T) -> Result<()> {
        let (key, _) = self.data_key(address)?;
        let json = Zeroizing::new(
            serde_json::to_vec(text)
                .map_err(|e| Error::Corrupt { table: "texts", detail: format!("serialise: {e}") })?,
        );
        let sealed = key
            .seal(&json, &text_aad(address))
            .map_err(|e| Error::Corrupt { table: "texts", detail: e.to_string() })?;
        ws.put(Table::Texts, address.as_bytes().to_vec(), &TextRecord::Sealed { sealed: encode_hex(&sealed) })
    }

    /// The text extracted from a blob, if any (texts written by older versions, sealed under the records key
    /// only, still read).
    pub fn read_text<T: DeserializeOwned>(&self, _: &Unsealer, address: &BlobAddress) -> Result<Option<T>> {
        let corrupt =
            |detail: String| Error::Corrupt { table: "texts", detail: format!("text of blob {address}: {detail}") };
        match self.get::<TextRecord>(Table::Texts, address.as_bytes())? {
            None => Ok(None),
            Some(TextRecord::Sealed { sealed }) => {
                let (key, _) = self.data_key(address)?;
                let bytes = crate::crypto::decode_hex(&sealed).ok_or_else(|| corrupt("not hex".into()))?;
                let plain = key.open(&bytes, &text_aad(address)).map_err(|e| corrupt(e.to_string()))?;
                serde_json::from_slice(&plain).map(Some).map_err(|e| corrupt(e.to_string()))
            }
            Some(TextRecord::Plain(v)) => serde_json::from_value(v).map(Some).map_err(|e| corrupt(e.to_string())),
        }
    }

    /// Reads, decrypts and verifies a blob. CPU-heavy: call off the async runtime.
    pub fn read_blob(&self, _: &Unsealer, address: &BlobAddress) -> Result<Zeroizing<Vec<u8>>> {
        let corrupt = |detail: String| Error::Corrupt { table: "blobs", detail: format!("blob {address}: {detail}") };
        let (cipher, info) = self.data_key(address)?;
        let mut out = Zeroizing::new(Vec::with_capacity(info.size as usize));
        for n in 0..info.chunks {
            let sealed = self
                .blobs
                .get(&ChunkKey { address: *address, n })?
                .ok_or_else(|| corrupt(format!("chunk {n} missing")))?;
            let plain = cipher
                .open(&sealed, &chunk_aad(address, n))
                .map_err(|_| corrupt(format!("chunk {n} fails authentication")))?;
            out.extend_from_slice(&plain);
        }
        if out.len() as u64 != info.size || self.address_of(&out) != *address {
            return Err(corrupt("content does not match its address".into()));
        }
        Ok(out)
    }

    /// A blob read one chunk at a time, each decrypted and authenticated (bound to the address and its number);
    /// after the last chunk the size and the address of the whole are checked, and a mismatch is the last item
    /// ([`Error::Corrupt`]). For downloads too large to hold: memory stays at one chunk.
    pub fn blob_chunks(&self, _: &Unsealer, address: &BlobAddress) -> Result<BlobChunks> {
        let (cipher, info) = self.data_key(address)?;
        Ok(BlobChunks {
            store: self.clone(),
            address: *address,
            cipher,
            info,
            next: 0,
            size: 0,
            hasher: Some(self.keys.address_hasher()),
        })
    }

    /// Every blob address in the store.
    pub fn blob_addresses(&self) -> Result<Vec<BlobAddress>> {
        Ok(self.keys_under(Table::Blobs, b"")?.iter().filter_map(|k| BlobAddress::from_slice(k)).collect())
    }

    /// The raw storage key of a chunk (tests use it to damage a chunk on purpose).
    pub fn chunk_storage_key(address: &BlobAddress, n: u32) -> Vec<u8> {
        ChunkKey { address: *address, n }.to_bytes()
    }

    /// Blobs whose chunks are in the blob store without a descriptor: orphans, which a crash between a new
    /// blob's chunks and its metadata commit, a failed commit, or a failed deletion after shredding leaves. Their
    /// ciphertext cannot be read (no committed data key) and nothing refers to them.
    ///
    /// `lock` must take the archive's write lock. The chunks are listed without it (the listing reads every
    /// chunk key); each candidate is then confirmed under it. Every chunk write and the commit of its descriptor
    /// happen under that lock ([`Store::stage_blob_ref`], [`Store::stage_spooled_ref`]), so an upload in flight
    /// — chunks written, descriptor not yet committed — has finished by then, and is never taken for an orphan.
    /// (A grace period would need a time per chunk, which the blob store does not keep.)
    pub fn orphan_blobs<G>(&self, lock: impl Fn() -> G) -> Result<Vec<BlobAddress>> {
        let mut out = Vec::new();
        for address in self.orphan_candidates()? {
            let _guard = lock();
            if !self.contains(Table::Blobs, address.as_bytes())? {
                out.push(address);
            }
        }
        Ok(out)
    }

    /// Removes the chunks of orphan blobs ([`Store::orphan_blobs`], with the same `lock`: each candidate is
    /// confirmed and its chunks deleted under it), and returns their addresses.
    pub fn collect_orphans<G>(&self, lock: impl Fn() -> G) -> Result<Vec<BlobAddress>> {
        let mut out = Vec::new();
        for address in self.orphan_candidates()? {
            let _guard = lock();
            if self.contains(Table::Blobs, address.as_bytes())? {
                continue;
            }
            loop {
                let keys = self.blobs.list(Some(&address), None, 512)?;
                if keys.is_empty() {
                    break;
                }
                self.blobs.delete(&keys)?;
            }
            self.blobs.flush()?;
            out.push(address);
        }
        Ok(out)
    }

    /// The addresses of the chunks in the blob store that have no descriptor at the moment of looking.
    fn orphan_candidates(&self) -> Result<Vec<BlobAddress>> {
        let mut out = Vec::new();
        let mut seen: Option<BlobAddress> = None;
        let mut after: Option<ChunkKey> = None;
        loop {
            let page = self.blobs.list(None, after.as_ref(), 512)?;
            for k in &page {
                if seen != Some(k.address) {
                    seen = Some(k.address);
                    if !self.contains(Table::Blobs, k.address.as_bytes())? {
                        out.push(k.address);
                    }
                }
            }
            match page.last() {
                Some(k) if page.len() == 512 => after = Some(*k),
                _ => return Ok(out),
            }
        }
    }
}

/// The chunks of a blob, decrypted one at a time ([`Store::blob_chunks`]).
pub struct BlobChunks {
    store: Store,
    address: BlobAddress,
    cipher: SealKey,
    info: BlobInfo,
    next: u32,
    size: u64,
    hasher: Option<crate::crypto::Hasher>,
}

impl BlobChunks {
    /// The blob's size in bytes.
    pub fn size(&self) -> u64 {
        self.info.size
    }
}

impl Iterator for BlobChunks {
    type Item = Result<Zeroizing<Vec<u8>>>;

    fn next(&mut self) -> Option<Self::Item> {
        let address = self.address;
        let corrupt = |detail: String| Error::Corrupt { table: "blobs", detail: format!("blob {address}: {detail}") };
        if self.next == self.info.chunks {
            let hasher = self.hasher.take()?;
            if self.size != self.info.size || hasher.finalize() != address.0 {
                return Some(Err(corrupt("content does not match its address".into())));
            }
            return None;
        }
        let n = self.next;
        self.next += 1;
        let read = || -> Result<Zeroizing<Vec<u8>>> {
            let sealed =
                self.store.blobs.get(&ChunkKey { address, n })?.ok_or_else(|| corrupt(format!("chunk {n} missing")))?;
            self.cipher
                .open(&sealed, &chunk_aad(&address, n))
                .map_err(|_| corrupt(format!("chunk {n} fails authentication")))
        };
        let item = read();
        match &item {
            Ok(plain) => {
                self.size += plain.len() as u64;
                if let Some(h) = self.hasher.as_mut() {
                    h.update(plain);
                }
            }
            Err(_) => {
                self.next = self.info.chunks;
                self.hasher = None;
            }
        }
        Some(item)
    }
}

/// A stored text: sealed under its blob's data key, or (written by an older version) the text itself.
#[derive(Serialize, Deserialize)]
#[serde(untagged)]
enum TextRecord {
    /// Hex of the text's JSON sealed under the blob's data key.
    Sealed { sealed: String },
    /// Older versions: the text's JSON as it is.
    Plain(serde_json::Value),
}

/// DO NOT CHANGE: the associated data of a blob's sealed text.
fn text_aad(address: &BlobAddress) -> Vec<u8> {
    let mut aad = b"text:".to_vec();
    aad.extend_from_slice(address.as_bytes());
    aad
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{Batch, BlobStore, Kv, MemKv};
    use std::sync::Arc;

    fn put(s: &Store, bytes: &[u8]) -> BlobAddress {
        let p = s.prepare_blob(bytes).unwrap();
        let addr = p.address;
        let mut ws = s.write_set();
        s.stage_blob_ref(&mut ws, p, bytes).unwrap();
        s.commit(ws).unwrap();
        addr
    }

    #[test]
    fn round_trip_dedupe_and_multi_chunk() {
        for suite in crate::crypto::Suite::ALL {
            round_trip_dedupe_and_multi_chunk_under(suite);
        }
    }

    fn round_trip_dedupe_and_multi_chunk_under(suite: crate::crypto::Suite) {
        let s = Store::in_memory_suite(suite).unwrap();
        let big: Vec<u8> = (0..(CHUNK_SIZE * 2 + 17)).map(|i| (i * 31 % 251) as u8).collect();
        let a = put(&s, &big);
        assert_eq!(&s.read_blob(&Unsealer::testing(), &a).unwrap()[..], &big[..]);
        assert_eq!(s.blob_info(&a).unwrap().unwrap().chunks, 3);
        let b = put(&s, &big);
        assert_eq!(a, b);
        assert_eq!(s.blob_refs(&a).unwrap(), 2);
        assert_eq!(s.blob_addresses().unwrap().len(), 1);
        let empty = put(&s, b"");
        assert_eq!(s.read_blob(&Unsealer::testing(), &empty).unwrap().len(), 0);
        // The content hash is the suite's (BLAKE3 or SM3), kept beside the keyed address.
        assert_eq!(s.blob_info(&a).unwrap().unwrap().plain_hash, suite.hash_hex(&big));
    }

    #[test]
    fn flipped_byte_is_corrupt_not_wrong_bytes() {
        for suite in crate::crypto::Suite::ALL {
            flipped_byte_is_corrupt_not_wrong_bytes_under(suite);
        }
    }

    fn flipped_byte_is_corrupt_not_wrong_bytes_under(suite: crate::crypto::Suite) {
        let kv: Arc<dyn Kv> = Arc::new(MemKv::default());
        let s = Store::open_suite(kv.clone(), &crate::crypto::MasterKey::generate().unwrap(), Some(suite)).unwrap();
        let a = put(&s, "劳动合同 第一条".as_bytes());
        let k = Store::chunk_storage_key(&a, 0);
        let mut v = kv.get(Table::BlobChunks, &k).unwrap().unwrap();
        v[30] ^= 0x01;
        let mut b = Batch::default();
        b.put(Table::BlobChunks, k, v);
        kv.commit(b).unwrap();
        assert!(matches!(s.read_blob(&Unsealer::testing(), &a), Err(Error::Corrupt { .. })));
        assert!(s.blob_chunks(&Unsealer::testing(), &a).unwrap().any(|c| matches!(c, Err(Error::Corrupt { .. }))));
    }

    #[test]
    fn chunks_read_back_what_read_blob_does() {
        for suite in crate::crypto::Suite::ALL {
            let s = Store::in_memory_suite(suite).unwrap();
            let big: Vec<u8> = (0..(CHUNK_SIZE * 2 + 5)).map(|i| (i * 13 % 241) as u8).collect();
            let a = put(&s, &big);
            let chunks = s.blob_chunks(&Unsealer::testing(), &a).unwrap();
            assert_eq!(chunks.size(), big.len() as u64);
            let mut back = Vec::new();
            for c in chunks {
                back.extend_from_slice(&c.unwrap());
            }
            assert_eq!(back, big);
            let empty = put(&s, b"");
            assert_eq!(s.blob_chunks(&Unsealer::testing(), &empty).unwrap().count(), 0);
        }
    }

    /// Records, in order, what reaches the metadata [`Kv`] and the [`BlobStore`]; at each commit of a
    /// descriptor it checks that the blob store holds every chunk the descriptor names.
    #[derive(Default)]
    struct Recorder {
        events: std::sync::Mutex<Vec<String>>,
        kv: MemKv,
        blobs: crate::store::MemBlobStore,
        /// Deletes from the blob store fail (an object store out of reach).
        fail_deletes: std::sync::atomic::AtomicBool,
    }

    impl Recorder {
        fn log(&self, e: String) {
            self.events.lock().unwrap().push(e);
        }
        fn take(&self) -> Vec<String> {
            std::mem::take(&mut *self.events.lock().unwrap())
        }
    }

    struct RecKv(Arc<Recorder>);
    struct RecBlobs(Arc<Recorder>);

    impl Kv for RecKv {
        fn get(&self, t: Table, key: &[u8]) -> Result<Option<Vec<u8>>, crate::store::KvError> {
            self.0.kv.get(t, key)
        }
        fn scan(
            &self,
            t: Table,
            prefix: &[u8],
            after: Option<&[u8]>,
            limit: usize,
        ) -> Result<Vec<crate::store::kv::Pair>, crate::store::KvError> {
            self.0.kv.scan(t, prefix, after, limit)
        }
        fn commit(&self, batch: Batch) -> Result<(), crate::store::KvError> {
            for (t, k, v) in &batch.ops {
                if *t != Table::Blobs {
                    continue;
                }
                let address = BlobAddress::from_slice(k).unwrap();
                let held = self.0.blobs.list(Some(&address), None, usize::MAX)?.len();
                self.0.log(match v {
                    Some(_) => format!("commit descriptor, {held} chunks held"),
                    None => format!("commit descriptor removal, {held} chunks held"),
                });
            }
            self.0.kv.commit(batch)
        }
        fn flush(&self) -> Result<(), crate::store::KvError> {
            self.0.kv.flush()
        }
    }

    impl BlobStore for RecBlobs {
        fn put(&self, chunks: Vec<(ChunkKey, Vec<u8>)>) -> Result<(), crate::store::KvError> {
            self.0.log(format!("put {} chunks", chunks.len()));
            self.0.blobs.put(chunks)
        }
        fn get(&self, key: &ChunkKey) -> Result<Option<Vec<u8>>, crate::store::KvError> {
            self.0.blobs.get(key)
        }
        fn delete(&self, keys: &[ChunkKey]) -> Result<(), crate::store::KvError> {
            self.0.log(format!("delete {} chunks", keys.len()));
            if self.0.fail_deletes.load(std::sync::atomic::Ordering::SeqCst) {
                return Err(crate::store::KvError::Engine("unreachable".into()));
            }
            self.0.blobs.delete(keys)
        }
        fn list(
            &self,
            address: Option<&BlobAddress>,
            after: Option<&ChunkKey>,
            limit: usize,
        ) -> Result<Vec<ChunkKey>, crate::store::KvError> {
            self.0.blobs.list(address, after, limit)
        }
        fn flush(&self) -> Result<(), crate::store::KvError> {
            self.0.log("flush chunks".into());
            self.0.blobs.flush()
        }
        fn location(&self) -> String {
            self.0.blobs.location()
        }
    }

    fn recorded_store() -> (Store, Arc<Recorder>) {
        let rec = Arc::new(Recorder::default());
        let s = Store::open_with_blobs(
            Arc::new(RecKv(rec.clone())),
            Arc::new(RecBlobs(rec.clone())),
            &crate::crypto::MasterKey::generate().unwrap(),
            None,
        )
        .unwrap();
        rec.take();
        (s, rec)
    }

    #[test]
    fn chunks_are_durable_before_their_descriptor_commits_and_deleted_after_it_is_removed() {
        let (s, rec) = recorded_store();
        // In memory: all chunks at once, flushed, then the descriptor's commit finds them all.
        let big: Vec<u8> = (0..(CHUNK_SIZE * 2 + 3)).map(|i| (i * 7 % 251) as u8).collect();
        let a = put(&s, &big);
        assert_eq!(rec.take(), ["put 3 chunks", "flush chunks", "commit descriptor, 3 chunks held"]);
        // A second reference writes no chunk.
        put(&s, &big);
        assert_eq!(rec.take(), Vec::<String>::new());
        // Streamed: in batches of SPOOL_BATCH_CHUNKS, flushed, then the descriptor.
        let dir = tempfile::tempdir().unwrap();
        let streamed: Vec<u8> = (0..(CHUNK_SIZE * (SPOOL_BATCH_CHUNKS + 1) + 1)).map(|i| (i % 249) as u8).collect();
        let mut w = s.spool(dir.path()).unwrap();
        w.write(&streamed).unwrap();
        let sp = w.finish().unwrap();
        let mut ws = s.write_set();
        s.stage_spooled_ref(&mut ws, &sp).unwrap();
        s.commit(ws).unwrap();
        let n = SPOOL_BATCH_CHUNKS + 2;
        assert_eq!(
            rec.take(),
            [
                format!("put {SPOOL_BATCH_CHUNKS} chunks"),
                "put 2 chunks".into(),
                "flush chunks".into(),
                format!("commit descriptor, {n} chunks held"),
            ]
        );
        assert_eq!(&s.read_blob(&Unsealer::testing(), &sp.address()).unwrap()[..], &streamed[..]);
        // Shredding: one reference fewer keeps everything; the last one removes the descriptor in the commit,
        // and only after it the chunks.
        let mut ws = s.write_set();
        s.stage_blob_unref(&mut ws, &a, 1).unwrap();
        s.commit(ws).unwrap();
        assert_eq!(rec.take(), Vec::<String>::new());
        assert_eq!(s.read_blob(&Unsealer::testing(), &a).unwrap().len(), big.len());
        let mut ws = s.write_set();
        s.stage_blob_unref(&mut ws, &a, 1).unwrap();
        assert_eq!(rec.take(), Vec::<String>::new(), "nothing is deleted before the commit");
        s.commit(ws).unwrap();
        assert_eq!(rec.take(), ["commit descriptor removal, 3 chunks held", "delete 3 chunks", "flush chunks"]);
        assert!(s.blob_info(&a).unwrap().is_none());
        assert!(s.blob_store().list(Some(&a), None, 10).unwrap().is_empty());
        assert!(s.orphan_blobs(|| ()).unwrap().is_empty());
    }

    #[test]
    fn a_failed_deletion_after_shredding_leaves_the_commit_standing_and_an_orphan_to_collect() {
        let (s, rec) = recorded_store();
        let a = put(&s, b"to be destroyed");
        rec.fail_deletes.store(true, std::sync::atomic::Ordering::SeqCst);
        let mut ws = s.write_set();
        s.stage_blob_unref(&mut ws, &a, 1).unwrap();
        s.commit(ws).expect("the metadata commit stands");
        assert!(s.blob_info(&a).unwrap().is_none(), "the data key is gone: crypto-shredded");
        assert!(matches!(s.read_blob(&Unsealer::testing(), &a), Err(Error::Corrupt { .. })));
        assert_eq!(s.orphan_blobs(|| ()).unwrap(), [a]);
        rec.fail_deletes.store(false, std::sync::atomic::Ordering::SeqCst);
        assert_eq!(s.collect_orphans(|| ()).unwrap(), [a]);
        assert!(s.blob_store().list(None, None, 10).unwrap().is_empty());
    }

    #[test]
    fn a_crash_between_chunks_and_metadata_leaves_an_orphan_that_verify_finds_and_collection_removes() {
        for suite in crate::crypto::Suite::ALL {
            let s = Store::in_memory_suite(suite).unwrap();
            let kept = put(&s, "档案 一".as_bytes());
            // The crash: chunks written through the blob store, the metadata never committed.
            let lost = s.address_of(b"never committed");
            let chunks = (0..3).map(|n| (ChunkKey { address: lost, n }, vec![n as u8; 40])).collect();
            s.blob_store().put(chunks).unwrap();
            // A commit that never happens (the write set is dropped, as on an error before the commit).
            let bytes = "档案 二".as_bytes();
            let p = s.prepare_blob(bytes).unwrap();
            let dropped = p.address;
            let mut ws = s.write_set();
            s.stage_blob_ref(&mut ws, p, bytes).unwrap();
            drop(ws);
            // No record points at them: neither has a descriptor or a reference.
            for a in [lost, dropped] {
                assert!(s.blob_info(&a).unwrap().is_none());
                assert_eq!(s.blob_refs(&a).unwrap(), 0);
                assert!(matches!(s.read_blob(&Unsealer::testing(), &a), Err(Error::Corrupt { .. })));
            }
            assert_eq!(s.blob_addresses().unwrap(), [kept]);
            // Verification names them; collection removes them and nothing else.
            let mut orphans = s.orphan_blobs(|| ()).unwrap();
            orphans.sort();
            let mut want = vec![lost, dropped];
            want.sort();
            assert_eq!(orphans, want);
            let mut collected = s.collect_orphans(|| ()).unwrap();
            collected.sort();
            assert_eq!(collected, want);
            assert!(s.orphan_blobs(|| ()).unwrap().is_empty());
            let left: Vec<BlobAddress> =
                s.blob_store().list(None, None, 100).unwrap().into_iter().map(|k| k.address).collect();
            assert_eq!(left, [kept]);
            assert_eq!(&s.read_blob(&Unsealer::testing(), &kept).unwrap()[..], "档案 一".as_bytes());
            // The bytes whose commit was lost file normally afterwards.
            assert_eq!(put(&s, bytes), dropped);
            assert_eq!(&s.read_blob(&Unsealer::testing(), &dropped).unwrap()[..], bytes);
            assert!(s.collect_orphans(|| ()).unwrap().is_empty());
        }
    }

    #[test]
    fn an_upload_in_flight_under_the_write_lock_is_not_an_orphan() {
        let s = Store::in_memory().unwrap();
        let write_lock = Arc::new(std::sync::Mutex::new(()));
        let guard = write_lock.lock().unwrap();
        // The upload has written its chunks under the lock; its commit is still to come.
        let bytes = b"in flight".to_vec();
        let p = s.prepare_blob(&bytes).unwrap();
        let address = p.address;
        let mut ws = s.write_set();
        s.stage_blob_ref(&mut ws, p, &bytes).unwrap();
        // Collection lists the chunks without the lock, sees no descriptor, and waits for the lock to confirm.
        let (asking, asked) = std::sync::mpsc::channel();
        let collector = {
            let (s, write_lock) = (s.clone(), write_lock.clone());
            std::thread::spawn(move || {
                let lock: &std::sync::Mutex<()> = &write_lock;
                s.collect_orphans(|| {
                    asking.send(()).unwrap();
                    lock.lock().unwrap()
                })
                .unwrap()
            })
        };
        asked.recv_timeout(std::time::Duration::from_secs(60)).expect("the in-flight chunks are a candidate");
        s.commit(ws).unwrap();
        drop(guard);
        assert_eq!(collector.join().unwrap(), Vec::<BlobAddress>::new());
        assert_eq!(&s.read_blob(&Unsealer::testing(), &address).unwrap()[..], b"in flight");
    }

    #[test]
    fn address_is_keyed() {
        for suite in crate::crypto::Suite::ALL {
            let s1 = Store::in_memory_suite(suite).unwrap();
            let s2 = Store::in_memory_suite(suite).unwrap();
            assert_ne!(s1.address_of(b"x"), s2.address_of(b"x"));
            assert_ne!(s1.address_of(b"x").to_string(), suite.hash_hex(b"x"));
        }
    }
}
