//! Streaming uploads: a body is taken in chunk by chunk into an encrypted **spool** file, so filing a file of
//! any size needs memory for a few chunks, not for the file.
//!
//! A blob's address is the keyed hash of its whole content, and its chunks are sealed with that address in their
//! associated data ([`super::blobs`]): the address is known only once the last byte has arrived. So the bytes are
//! first written to a temporary file under the data directory's `tmp/` (created 0600, in a 0700 directory),
//! each 1 MiB chunk sealed under a **fresh random key that lives only in memory** (never plaintext on disk, and
//! a spool left behind by a crash cannot be read by anyone, the server included), while the keyed address, the
//! content hash (the suite's hash) and the size are computed as the bytes pass. Once the body is complete the
//! [`SpooledBlob`] knows its address: if the store holds it already, filing only adds a reference; otherwise the
//! spool is read back chunk by chunk, each chunk opened and sealed anew under the blob's own data key with the
//! real associated data, and put into the blob store in batches of a few chunks ([`Store::stage_spooled_ref`]).
//! The spool file is removed when its writer or its blob is dropped — on success, on every error, and when the
//! client goes away midway (the writer's thread sees its channel close and drops it) — and whatever a crash leaves
//! in `tmp/` is removed when the archive is opened next.
//!
//! Re-sealing costs a second pass over the bytes (decrypt + encrypt, on a blocking thread); the alternative,
//! writing chunks under a provisional id and re-keying them, would have needed a change of the blob format.

use super::blobs::{BlobAddress, CHUNK_SIZE};
use super::{Error, Result, Store};
use crate::crypto::{Hasher, SealKey, SecretKey, encode_hex, random_bytes};
use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use zeroize::Zeroizing;

/// How much of the start of the content a spool keeps in memory for sniffing its type.
pub const SPOOL_HEAD: usize = 64 * 1024;
/// How much of the end of the content a spool keeps in memory (a PDF's `%%EOF` marker).
pub const SPOOL_TAIL: usize = 4 * 1024;

/// A spool file being written: feed it the bytes with [`SpoolWriter::write`], then [`SpoolWriter::finish`].
/// Dropped unfinished, it removes its file.
pub struct SpoolWriter {
    file: Option<BufWriter<File>>,
    path: PathBuf,
    key: SealKey,
    buf: Zeroizing<Vec<u8>>,
    address: Hasher,
    content: Hasher,
    size: u64,
    chunks: u32,
    head: Vec<u8>,
    tail: Vec<u8>,
}

/// A complete spooled content: its address, content hash and size, and the sealed chunks in the spool file
/// (removed when this is dropped).
pub struct SpooledBlob {
    path: PathBuf,
    key: SealKey,
    address: BlobAddress,
    plain_hash: String,
    size: u64,
    chunks: u32,
    head: Vec<u8>,
    tail: Vec<u8>,
}

fn spool_aad(n: u32) -> [u8; 10] {
    let mut a = *b"spool\0\0\0\0\0";
    a[6..].copy_from_slice(&n.to_be_bytes());
    a
}

/// Removes the spool files a crash left in `dir` (they are unreadable anyway: their keys died with the process).
pub fn clear_spool_dir(dir: &Path) -> std::io::Result<()> {
    if !dir.exists() {
        return Ok(());
    }
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        if entry.file_name().to_string_lossy().starts_with("spool-") {
            std::fs::remove_file(entry.path())?;
        }
    }
    Ok(())
}

impl Store {
    /// Starts a spool file in `dir` (created 0700 if missing; the file 0600).
    pub fn spool(&self, dir: &Path) -> Result<SpoolWriter> {
        create_private_dir(dir)?;
        let path = dir.join(format!("spool-{}", encode_hex(&random_bytes::<16>()?)));
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let file = options.open(&path)?;
        let suite = self.keys.suite();
        Ok(SpoolWriter {
            file: Some(BufWriter::with_capacity(256 * 1024, file)),
            path,
            key: SealKey::new(suite, &SecretKey::generate()?),
            buf: Zeroizing::new(Vec::with_capacity(CHUNK_SIZE)),
            address: self.keys.address_hasher(),
            content: suite.hasher(),
            size: 0,
            chunks: 0,
            head: Vec::new(),
            tail: Vec::new(),
        })
    }
}

fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        if !dir.exists() {
            std::fs::DirBuilder::new().recursive(true).mode(0o700).create(dir)?;
        }
    }
    #[cfg(not(unix))]
    std::fs::create_dir_all(dir)?;
    Ok(())
}

impl SpoolWriter {
    /// Bytes written so far.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Takes in the next bytes of the content.
    pub fn write(&mut self, mut data: &[u8]) -> Result<()> {
        self.address.update(data);
        self.content.update(data);
        self.size += data.len() as u64;
        if self.head.len() < SPOOL_HEAD {
            let n = (SPOOL_HEAD - self.head.len()).min(data.len());
            self.head.extend_from_slice(&data[..n]);
        }
        keep_tail(&mut self.tail, data);
        while !data.is_empty() {
            let n = (CHUNK_SIZE - self.buf.len()).min(data.len());
            self.buf.extend_from_slice(&data[..n]);
            data = &data[n..];
            if self.buf.len() == CHUNK_SIZE {
                self.seal_chunk()?;
            }
        }
        Ok(())
    }

    fn seal_chunk(&mut self) -> Result<()> {
        let sealed = self.key.seal(&self.buf, &spool_aad(self.chunks))?;
        let file = self.file.as_mut().ok_or_else(|| std::io::Error::other("spool closed"))?;
        file.write_all(&(sealed.len() as u32).to_le_bytes())?;
        file.write_all(&sealed)?;
        self.chunks += 1;
        self.buf.clear();
        Ok(())
    }

    /// Seals the last chunk and closes the file: the content's address is known.
    pub fn finish(mut self) -> Result<SpooledBlob> {
        if !self.buf.is_empty() {
            self.seal_chunk()?;
        }
        if let Some(f) = self.file.take() {
            f.into_inner().map_err(|e| e.into_error())?;
        }
        let path = std::mem::take(&mut self.path);
        let address = std::mem::replace(&mut self.address, crate::crypto::Suite::Default.hasher());
        let content = std::mem::replace(&mut self.content, crate::crypto::Suite::Default.hasher());
        Ok(SpooledBlob {
            path,
            key: self.key.clone(),
            address: BlobAddress::from_slice(&address.finalize()).expect("32 bytes"),
            plain_hash: encode_hex(&content.finalize()),
            size: self.size,
            chunks: self.chunks,
            head: std::mem::take(&mut self.head),
            tail: std::mem::take(&mut self.tail),
        })
    }
}

fn keep_tail(tail: &mut Vec<u8>, data: &[u8]) {
    if data.len() >= SPOOL_TAIL {
        tail.clear();
        tail.extend_from_slice(&data[data.len() - SPOOL_TAIL..]);
    } else {
        tail.extend_from_slice(data);
        if tail.len() > SPOOL_TAIL {
            tail.drain(..tail.len() - SPOOL_TAIL);
        }
    }
}

impl Drop for SpoolWriter {
    fn drop(&mut self) {
        self.file = None;
        if !self.path.as_os_str().is_empty() {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

impl SpooledBlob {
    /// The content's address in the store it was spooled for.
    pub fn address(&self) -> BlobAddress {
        self.address
    }
    /// The content hash (the suite's hash, hex).
    pub fn plain_hash(&self) -> &str {
        &self.plain_hash
    }
    /// Size in bytes.
    pub fn size(&self) -> u64 {
        self.size
    }
    /// The number of 1 MiB chunks.
    pub fn chunk_count(&self) -> u32 {
        self.chunks
    }
    /// What a type sniffer gets to see: the whole content if it fits in [`SPOOL_HEAD`], else its first
    /// [`SPOOL_HEAD`] bytes followed by its last [`SPOOL_TAIL`].
    pub fn sniff_window(&self) -> Vec<u8> {
        let mut w = self.head.clone();
        if self.size > self.head.len() as u64 {
            let overlap = (self.head.len() as u64 + self.tail.len() as u64).saturating_sub(self.size) as usize;
            w.extend_from_slice(&self.tail[overlap.min(self.tail.len())..]);
        }
        w
    }

    /// The content, one chunk at a time, decrypted from the spool.
    pub fn chunks(&self) -> Result<SpoolChunks<'_>> {
        Ok(SpoolChunks { blob: self, file: BufReader::with_capacity(256 * 1024, File::open(&self.path)?), next: 0 })
    }

    /// The whole content in memory (small files: sniffing; tests).
    pub fn read_all(&self) -> Result<Zeroizing<Vec<u8>>> {
        let mut out = Zeroizing::new(Vec::with_capacity(self.size as usize));
        for c in self.chunks()? {
            out.extend_from_slice(&c?);
        }
        Ok(out)
    }
}

impl Drop for SpooledBlob {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

impl std::fmt::Debug for SpooledBlob {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SpooledBlob({} bytes)", self.size)
    }
}

/// The chunks of a spool, decrypted one at a time.
pub struct SpoolChunks<'a> {
    blob: &'a SpooledBlob,
    file: BufReader<File>,
    next: u32,
}

impl Iterator for SpoolChunks<'_> {
    type Item = Result<Zeroizing<Vec<u8>>>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.next == self.blob.chunks {
            return None;
        }
        let n = self.next;
        self.next += 1;
        let mut read = || -> Result<Zeroizing<Vec<u8>>> {
            let mut len = [0u8; 4];
            self.file.read_exact(&mut len)?;
            let len = u32::from_le_bytes(len) as usize;
            if len > CHUNK_SIZE + 64 {
                return Err(Error::Corrupt { table: "spool", detail: format!("chunk {n} length {len}") });
            }
            let mut sealed = vec![0u8; len];
            self.file.read_exact(&mut sealed)?;
            self.blob
                .key
                .open(&sealed, &spool_aad(n))
                .map_err(|_| Error::Corrupt { table: "spool", detail: format!("chunk {n} fails authentication") })
        };
        Some(read())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::Suite;

    fn spooled(s: &Store, dir: &Path, bytes: &[u8], piece: usize) -> SpooledBlob {
        let mut w = s.spool(dir).unwrap();
        for p in bytes.chunks(piece.max(1)) {
            w.write(p).unwrap();
        }
        w.finish().unwrap()
    }

    fn file_count(dir: &Path) -> usize {
        std::fs::read_dir(dir).map(|d| d.count()).unwrap_or(0)
    }

    #[test]
    fn streamed_and_in_memory_filing_agree_under_both_suites() {
        for suite in Suite::ALL {
            let s = Store::in_memory_suite(suite).unwrap();
            let dir = tempfile::tempdir().unwrap();
            let big: Vec<u8> = (0..(CHUNK_SIZE * 3 + 12_345)).map(|i| (i * 7 % 253) as u8).collect();
            for (bytes, piece) in [(&big[..], 8191), (&big[..], CHUNK_SIZE), (&b"x"[..], 1), (&b""[..], 1)] {
                let sp = spooled(&s, dir.path(), bytes, piece);
                // Same address and content hash as the in-memory path.
                let mem = s.prepare_blob(bytes).unwrap();
                assert_eq!(sp.address(), mem.address);
                assert_eq!(sp.plain_hash(), mem.plain_hash);
                assert_eq!(sp.plain_hash(), suite.hash_hex(bytes));
                assert_eq!(sp.size(), bytes.len() as u64);
                assert_eq!(&sp.read_all().unwrap()[..], bytes);
                // The spool holds no plaintext.
                if bytes.len() > 64 {
                    let raw = std::fs::read(&sp.path).unwrap();
                    assert!(!raw.windows(64).any(|w| w == &bytes[1000..1064]));
                }
            }
            // Streamed first, then the same bytes in memory: one blob, two references, read back whole.
            let sp = spooled(&s, dir.path(), &big, 65_536);
            let mut ws = s.write_set();
            s.stage_spooled_ref(&mut ws, &sp).unwrap();
            s.commit(ws).unwrap();
            let a = sp.address();
            assert_eq!(&s.read_blob(&crate::store::Unsealer::testing(), &a).unwrap()[..], &big[..]);
            assert_eq!(s.blob_info(&a).unwrap().unwrap().chunks, 4);
            assert_eq!(s.blob_info(&a).unwrap().unwrap().plain_hash, suite.hash_hex(&big));
            let mem = s.prepare_blob(&big).unwrap();
            let mut ws = s.write_set();
            s.stage_blob_ref(&mut ws, mem, &big).unwrap();
            s.commit(ws).unwrap();
            assert_eq!(s.blob_refs(&a).unwrap(), 2);
            // And in memory first, then streamed: deduplicated too.
            let small = "劳动合同 第一条".as_bytes();
            let mem = s.prepare_blob(small).unwrap();
            let b = mem.address;
            let mut ws = s.write_set();
            s.stage_blob_ref(&mut ws, mem, small).unwrap();
            s.commit(ws).unwrap();
            let sp2 = spooled(&s, dir.path(), small, 3);
            let mut ws = s.write_set();
            s.stage_spooled_ref(&mut ws, &sp2).unwrap();
            s.commit(ws).unwrap();
            assert_eq!(s.blob_refs(&b).unwrap(), 2);
            assert_eq!(&s.read_blob(&crate::store::Unsealer::testing(), &b).unwrap()[..], small);
            assert_eq!(s.blob_addresses().unwrap().len(), 2);
            drop((sp, sp2));
            assert_eq!(file_count(dir.path()), 0, "every spool file is removed with its blob");
        }
    }

    #[test]
    fn an_abandoned_spool_leaves_no_file() {
        let s = Store::in_memory().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let mut w = s.spool(dir.path()).unwrap();
        w.write(&vec![7u8; CHUNK_SIZE + 10]).unwrap();
        assert_eq!(file_count(dir.path()), 1);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let f = std::fs::read_dir(dir.path()).unwrap().next().unwrap().unwrap();
            assert_eq!(f.metadata().unwrap().permissions().mode() & 0o777, 0o600);
        }
        drop(w);
        assert_eq!(file_count(dir.path()), 0);
        // Left by a crash: cleared at the next start.
        std::fs::write(dir.path().join("spool-leftover"), b"sealed").unwrap();
        clear_spool_dir(dir.path()).unwrap();
        assert_eq!(file_count(dir.path()), 0);
    }

    #[test]
    fn the_sniff_window_is_head_and_tail() {
        let s = Store::in_memory().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let small = spooled(&s, dir.path(), b"%PDF-1.4 ... %%EOF", 4);
        assert_eq!(small.sniff_window(), b"%PDF-1.4 ... %%EOF");
        let mut big = b"%PDF-1.7\n".to_vec();
        big.resize(SPOOL_HEAD * 3, b' ');
        big.extend_from_slice(b"\n%%EOF\n");
        let sp = spooled(&s, dir.path(), &big, 1000);
        let w = sp.sniff_window();
        assert_eq!(w.len(), SPOOL_HEAD + SPOOL_TAIL);
        assert!(w.starts_with(b"%PDF-1.7"));
        assert!(w.ends_with(b"%%EOF\n"));
        // Head and tail overlap for a file just above the head.
        let mid: Vec<u8> = (0..SPOOL_HEAD + 100).map(|i| i as u8).collect();
        assert_eq!(spooled(&s, dir.path(), &mid, 777).sniff_window(), mid);
    }
}
