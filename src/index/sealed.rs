//! The index directory, sealed: a Tantivy [`Directory`] that keeps every file encrypted on disk. Without it the
//! index would be the one place the documents' words lie in the clear — its term dictionary holds every name
//! and word, its positions their order, its filter fields who holds which category of material.
//!
//! A file is written as a stream of blocks of [`BLOCK`] plaintext bytes, each sealed on its own by a
//! [`FileSealer`] (the service hands one in, backed by the installation's keys: a key per file name, the block
//! number as associated data), followed by a sealed footer holding the plaintext length. So a block cannot be
//! moved within a file or to another file, and a file cut short is refused. Reads decrypt the blocks a range
//! needs into a bounded cache shared by all files; nothing decrypted is ever written to disk. The small atomic
//! files (`meta.json`, `.managed.json`) are sealed whole. Locks, deletion, existence, watching and directory
//! syncs pass through to the plain directory underneath, which holds only ciphertext.

use std::collections::HashMap;
use std::io::{self, Write};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use tantivy::HasLen;
use tantivy::directory::error::{DeleteError, LockError, OpenReadError, OpenWriteError};
use tantivy::directory::{
    AntiCallToken, Directory, DirectoryLock, FileHandle, Lock, OwnedBytes, TerminatingWrite, WatchCallback,
    WatchHandle, WritePtr,
};

/// DO NOT CHANGE (sealed index files depend on it): plaintext bytes per block.
pub const BLOCK: usize = 16 * 1024;
/// DO NOT CHANGE: the block number the footer is sealed under.
const FOOTER: u64 = u64::MAX;
/// DO NOT CHANGE: the block number an atomic file is sealed under.
const WHOLE: u64 = u64::MAX - 1;
/// The marker file telling a sealed index directory from a plain one written by an older version.
pub const MARKER: &str = "dangan-sealed-index";

/// Seals and opens the blocks of index files. Implemented by the service with the installation's keys, so
/// this layer needs no key material of its own.
pub trait FileSealer: Send + Sync + 'static {
    /// Seals `plain`, block `block` of the file `file`.
    fn seal(&self, file: &str, block: u64, plain: &[u8]) -> io::Result<Vec<u8>>;
    /// Opens a sealed block; an error if the key, the file name, the block number or the bytes differ.
    fn open(&self, file: &str, block: u64, sealed: &[u8]) -> io::Result<Vec<u8>>;
    /// How many bytes sealing adds to a block.
    fn overhead(&self) -> usize;
}

fn name_of(path: &Path) -> String {
    path.to_string_lossy().into_owned()
}

fn corrupt(path: &Path, what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, format!("sealed index file {}: {what}", path.display()))
}

/// Decrypted blocks shared by all files, bounded in bytes; the least recently used go first.
struct BlockCache {
    budget: usize,
    state: Mutex<CacheState>,
}

/// A cached block: (file handle, block number) → the plaintext and when it was last used.
type CachedBlocks = HashMap<(u64, u64), (Arc<[u8]>, u64)>;

#[derive(Default)]
struct CacheState {
    blocks: CachedBlocks,
    bytes: usize,
    clock: u64,
}

impl BlockCache {
    fn get(&self, key: (u64, u64)) -> Option<Arc<[u8]>> {
        let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        s.clock += 1;
        let now = s.clock;
        s.blocks.get_mut(&key).map(|(b, used)| {
            *used = now;
            b.clone()
        })
    }

    fn put(&self, key: (u64, u64), block: Arc<[u8]>) {
        let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        s.clock += 1;
        let now = s.clock;
        s.bytes += block.len();
        if let Some((old, _)) = s.blocks.insert(key, (block, now)) {
            s.bytes -= old.len();
        }
        while s.bytes > self.budget && s.blocks.len() > 1 {
            let Some(oldest) = s.blocks.iter().min_by_key(|(_, (_, used))| *used).map(|(k, _)| *k) else { break };
            if let Some((b, _)) = s.blocks.remove(&oldest) {
                s.bytes -= b.len();
            }
        }
    }
}

/// A Tantivy directory whose files are sealed on disk (see the module documentation).
#[derive(Clone)]
pub struct SealedDirectory {
    inner: Box<dyn Directory>,
    sealer: Arc<dyn FileSealer>,
    cache: Arc<BlockCache>,
    next_handle: Arc<AtomicU64>,
}

impl std::fmt::Debug for SealedDirectory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SealedDirectory")
    }
}

impl SealedDirectory {
    /// Seals the files of `inner` with `sealer`, keeping at most `cache_bytes` of decrypted blocks in memory.
    pub fn new(inner: Box<dyn Directory>, sealer: Arc<dyn FileSealer>, cache_bytes: usize) -> Self {
        SealedDirectory {
            inner,
            sealer,
            cache: Arc::new(BlockCache { budget: cache_bytes, state: Mutex::default() }),
            next_handle: Arc::new(AtomicU64::new(1)),
        }
    }

    fn sealed_len(&self) -> usize {
        BLOCK + self.sealer.overhead()
    }
}

impl Directory for SealedDirectory {
    fn get_file_handle(&self, path: &Path) -> Result<Arc<dyn FileHandle>, OpenReadError> {
        let raw = self.inner.get_file_handle(path)?;
        let io_err = |e: io::Error| OpenReadError::wrap_io_error(e, path.to_path_buf());
        let footer_len = 8 + self.sealer.overhead();
        let total = raw.len();
        if total < footer_len {
            return Err(io_err(corrupt(path, "shorter than its footer")));
        }
        let name = name_of(path);
        let footer = raw.read_bytes(total - footer_len..total).map_err(io_err)?;
        let len_bytes = self.sealer.open(&name, FOOTER, footer.as_slice()).map_err(io_err)?;
        let len = u64::from_le_bytes(len_bytes.as_slice().try_into().map_err(|_| io_err(corrupt(path, "bad footer")))?);
        let len = usize::try_from(len).map_err(|_| io_err(corrupt(path, "bad length")))?;
        let blocks = len.div_ceil(BLOCK);
        let expected = if blocks == 0 {
            0
        } else {
            (blocks - 1) * self.sealed_len() + (len - (blocks - 1) * BLOCK) + self.sealer.overhead()
        };
        if expected + footer_len != total {
            return Err(io_err(corrupt(path, "its length does not match its footer")));
        }
        Ok(Arc::new(SealedFile {
            raw,
            path: path.to_path_buf(),
            name,
            len,
            id: self.next_handle.fetch_add(1, Ordering::Relaxed),
            sealer: self.sealer.clone(),
            cache: self.cache.clone(),
        }))
    }

    fn delete(&self, path: &Path) -> Result<(), DeleteError> {
        self.inner.delete(path)
    }

    fn exists(&self, path: &Path) -> Result<bool, OpenReadError> {
        self.inner.exists(path)
    }

    fn open_write(&self, path: &Path) -> Result<WritePtr, OpenWriteError> {
        let inner = self.inner.open_write(path)?;
        Ok(io::BufWriter::new(Box::new(SealedWriter {
            inner,
            name: name_of(path),
            sealer: self.sealer.clone(),
            buffer: Vec::with_capacity(BLOCK),
            block: 0,
            len: 0,
        })))
    }

    fn atomic_read(&self, path: &Path) -> Result<Vec<u8>, OpenReadError> {
        let sealed = self.inner.atomic_read(path)?;
        self.sealer
            .open(&name_of(path), WHOLE, &sealed)
            .map_err(|e| OpenReadError::wrap_io_error(e, path.to_path_buf()))
    }

    fn atomic_write(&self, path: &Path, data: &[u8]) -> io::Result<()> {
        let sealed = self.sealer.seal(&name_of(path), WHOLE, data)?;
        self.inner.atomic_write(path, &sealed)
    }

    fn sync_directory(&self) -> io::Result<()> {
        self.inner.sync_directory()
    }

    fn acquire_lock(&self, lock: &Lock) -> Result<DirectoryLock, LockError> {
        self.inner.acquire_lock(lock)
    }

    fn watch(&self, watch_callback: WatchCallback) -> tantivy::Result<WatchHandle> {
        self.inner.watch(watch_callback)
    }
}

/// Writes a file as sealed blocks, then the sealed footer (at termination).
struct SealedWriter {
    inner: WritePtr,
    name: String,
    sealer: Arc<dyn FileSealer>,
    buffer: Vec<u8>,
    block: u64,
    len: u64,
}

impl SealedWriter {
    fn seal_block(&mut self) -> io::Result<()> {
        let sealed = self.sealer.seal(&self.name, self.block, &self.buffer)?;
        self.inner.write_all(&sealed)?;
        self.block += 1;
        self.buffer.clear();
        Ok(())
    }
}

impl Write for SealedWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = buf.len().min(BLOCK - self.buffer.len());
        self.buffer.extend_from_slice(&buf[..n]);
        self.len += n as u64;
        if self.buffer.len() == BLOCK {
            self.seal_block()?;
        }
        Ok(n)
    }

    /// Flushes what is sealed; a partial block waits for more bytes or for the end of the file.
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

impl TerminatingWrite for SealedWriter {
    fn terminate_ref(&mut self, token: AntiCallToken) -> io::Result<()> {
        if !self.buffer.is_empty() {
            self.seal_block()?;
        }
        let footer = self.sealer.seal(&self.name, FOOTER, &self.len.to_le_bytes())?;
        self.inner.write_all(&footer)?;
        self.inner.flush()?;
        self.inner.get_mut().terminate_ref(token)
    }
}

/// A sealed file opened for reading: blocks are decrypted on demand through the shared cache.
struct SealedFile {
    raw: Arc<dyn FileHandle>,
    path: PathBuf,
    name: String,
    len: usize,
    id: u64,
    sealer: Arc<dyn FileSealer>,
    cache: Arc<BlockCache>,
}

impl std::fmt::Debug for SealedFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SealedFile({})", self.path.display())
    }
}

impl HasLen for SealedFile {
    fn len(&self) -> usize {
        self.len
    }
}

impl SealedFile {
    fn block(&self, i: usize) -> io::Result<Arc<[u8]>> {
        if let Some(b) = self.cache.get((self.id, i as u64)) {
            return Ok(b);
        }
        let sealed_len = BLOCK + self.sealer.overhead();
        let start = i * sealed_len;
        let plain_len = BLOCK.min(self.len - i * BLOCK);
        let raw = self.raw.read_bytes(start..start + plain_len + self.sealer.overhead())?;
        let plain: Arc<[u8]> = self.sealer.open(&self.name, i as u64, raw.as_slice())?.into();
        if plain.len() != plain_len {
            return Err(corrupt(&self.path, "a block has the wrong length"));
        }
        self.cache.put((self.id, i as u64), plain.clone());
        Ok(plain)
    }
}

impl FileHandle for SealedFile {
    fn read_bytes(&self, range: Range<usize>) -> io::Result<OwnedBytes> {
        if range.end > self.len || range.start > range.end {
            return Err(io::Error::new(io::ErrorKind::UnexpectedEof, format!("{range:?} is past {}", self.len)));
        }
        if range.is_empty() {
            return Ok(OwnedBytes::empty());
        }
        let first = range.start / BLOCK;
        let last = (range.end - 1) / BLOCK;
        if first == last {
            let b = self.block(first)?;
            let offset = first * BLOCK;
            return Ok(OwnedBytes::new(b).slice(range.start - offset..range.end - offset));
        }
        let mut out = Vec::with_capacity(range.len());
        for i in first..=last {
            let b = self.block(i)?;
            let offset = i * BLOCK;
            let from = range.start.max(offset) - offset;
            let to = range.end.min(offset + b.len()) - offset;
            out.extend_from_slice(&b[from..to]);
        }
        Ok(OwnedBytes::new(out))
    }
}

/// Whether `dir` holds an index written by an older version without sealing (it is then rebuilt).
pub fn is_plain_index(dir: &Path) -> bool {
    dir.join("meta.json").exists() && !dir.join(MARKER).exists()
}

#[cfg(test)]
mod tests {
    use super::*;
    use tantivy::directory::RamDirectory;

    /// A toy sealer for the layer's own tests: XOR with a byte, a checksum as the tag, the block and name mixed
    /// in, so misplaced or altered blocks are refused (the real one is the service's XChaCha20-Poly1305).
    struct Toy;
    impl FileSealer for Toy {
        fn seal(&self, file: &str, block: u64, plain: &[u8]) -> io::Result<Vec<u8>> {
            let tag = blake3::hash(&[file.as_bytes(), &block.to_le_bytes(), plain].concat());
            let mut out: Vec<u8> = plain.iter().map(|b| b ^ 0x5a).collect();
            out.extend_from_slice(&tag.as_bytes()[..8]);
            Ok(out)
        }
        fn open(&self, file: &str, block: u64, sealed: &[u8]) -> io::Result<Vec<u8>> {
            let (body, tag) = sealed.split_at(sealed.len().checked_sub(8).ok_or(io::ErrorKind::InvalidData)?);
            let plain: Vec<u8> = body.iter().map(|b| b ^ 0x5a).collect();
            let want = blake3::hash(&[file.as_bytes(), &block.to_le_bytes(), &plain].concat());
            if &want.as_bytes()[..8] != tag {
                return Err(io::ErrorKind::InvalidData.into());
            }
            Ok(plain)
        }
        fn overhead(&self) -> usize {
            8
        }
    }

    fn write(dir: &SealedDirectory, name: &str, bytes: &[u8]) {
        let mut w = dir.open_write(Path::new(name)).unwrap();
        for chunk in bytes.chunks(1000) {
            w.write_all(chunk).unwrap();
        }
        w.terminate().unwrap();
    }

    /// The sealers under test: the toy, and the service's real one under each cipher suite.
    fn sealers() -> Vec<Arc<dyn FileSealer>> {
        let master = crate::crypto::MasterKey::from_bytes([5; 32]);
        let mut all: Vec<Arc<dyn FileSealer>> = vec![Arc::new(Toy)];
        for suite in crate::crypto::Suite::ALL {
            all.push(Arc::new(crate::bootstrap::IndexSealer(crate::crypto::Keys::derive(suite, &master))));
        }
        all
    }

    #[test]
    fn files_of_any_length_read_back_in_any_range_and_only_ciphertext_is_underneath() {
        for sealer in sealers() {
            files_of_any_length_read_back_with(sealer);
        }
    }

    fn files_of_any_length_read_back_with(sealer: Arc<dyn FileSealer>) {
        let ram = RamDirectory::create();
        let dir = SealedDirectory::new(Box::new(ram.clone()), sealer, 3 * BLOCK);
        for len in [0, 1, BLOCK - 1, BLOCK, BLOCK + 1, 5 * BLOCK + 77] {
            let name = format!("f{len}");
            let bytes: Vec<u8> = (0..len).map(|i| (i * 7 % 251) as u8).collect();
            write(&dir, &name, &bytes);
            let f = dir.open_read(Path::new(&name)).unwrap();
            assert_eq!(f.len(), len);
            assert_eq!(f.read_bytes().unwrap().as_slice(), bytes.as_slice());
            for r in [0..len.min(3), len / 3..len / 2, len.saturating_sub(BLOCK + 5)..len] {
                assert_eq!(f.read_bytes_slice(r.clone()).unwrap().as_slice(), &bytes[r]);
            }
            let raw = ram.atomic_read(Path::new(&name)).unwrap();
            if len >= 128 {
                let probe = &bytes[len / 2..len / 2 + 64];
                assert!(!raw.windows(64).any(|w| w == probe), "plaintext underneath");
            }
        }
        dir.atomic_write(Path::new("meta.json"), b"{\"segments\":[]}").unwrap();
        assert_eq!(dir.atomic_read(Path::new("meta.json")).unwrap(), b"{\"segments\":[]}");
        assert_ne!(ram.atomic_read(Path::new("meta.json")).unwrap(), b"{\"segments\":[]}");
    }

    #[test]
    fn moved_cut_or_altered_blocks_are_refused() {
        for sealer in sealers() {
            moved_cut_or_altered_blocks_are_refused_with(sealer);
        }
    }

    fn moved_cut_or_altered_blocks_are_refused_with(sealer: Arc<dyn FileSealer>) {
        let ram = RamDirectory::create();
        let dir = SealedDirectory::new(Box::new(ram.clone()), sealer.clone(), BLOCK);
        let bytes = vec![7u8; 3 * BLOCK];
        write(&dir, "a", &bytes);
        write(&dir, "b", &bytes);
        let raw = ram.atomic_read(Path::new("a")).unwrap();
        // The same file under another name.
        ram.atomic_write(Path::new("c"), &raw).unwrap();
        assert!(dir.open_read(Path::new("c")).is_err());
        // Cut short: the last block taken out, the footer (the sealed length) kept.
        let (n, footer) = (BLOCK + sealer.overhead(), 8 + sealer.overhead());
        let mut cut = raw[..raw.len() - footer - n].to_vec();
        cut.extend_from_slice(&raw[raw.len() - footer..]);
        ram.atomic_write(Path::new("d"), &cut).unwrap();
        assert!(dir.open_read(Path::new("d")).is_err());
        // Two blocks swapped.
        let mut swapped = raw.clone();
        swapped[..n].copy_from_slice(&raw[n..2 * n]);
        swapped[n..2 * n].copy_from_slice(&raw[..n]);
        ram.delete(Path::new("a")).unwrap();
        ram.atomic_write(Path::new("a"), &swapped).unwrap();
        let dir2 = SealedDirectory::new(Box::new(ram.clone()), sealer, BLOCK);
        assert!(dir2.open_read(Path::new("a")).unwrap().read_bytes().is_err());
    }

    #[test]
    fn the_cache_stays_within_its_budget() {
        let dir = SealedDirectory::new(Box::new(RamDirectory::create()), Arc::new(Toy), 2 * BLOCK);
        write(&dir, "big", &vec![1u8; 10 * BLOCK]);
        let f = dir.open_read(Path::new("big")).unwrap();
        for i in 0..10 {
            f.read_bytes_slice(i * BLOCK..i * BLOCK + 10).unwrap();
        }
        let s = dir.cache.state.lock().unwrap();
        assert!(s.bytes <= 2 * BLOCK && s.blocks.len() <= 2, "{} bytes", s.bytes);
    }
}
