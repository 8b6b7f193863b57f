//! Backups: the whole store as one file. Every value in the store is already sealed (records, chunks, wrapped
//! keys), so the file carries only ciphertext and opaque keys; it opens only with the installation's master key.
//! Format (DO NOT CHANGE without a new version): the magic line, a format version, then records
//! `[table][key length][key][value length][value]`, then a trailer with the record count and the BLAKE3 of
//! everything before it, so a truncated or altered backup is refused whole.

use super::{BLOB_STORE, Batch, BlobStore, ChunkKey, Error, Kv, KvError, Result, Store, Table};
use std::io::{Read, Write};

const MAGIC: &[u8] = b"DANGAN-BACKUP\n";
const FORMAT: u32 = 1;
const END: u8 = 0xFF;

/// What a backup or restore moved.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct BackupStats {
    /// Records.
    pub records: u64,
    /// Bytes of keys and values.
    pub bytes: u64,
    /// BLAKE3 of the file before its trailer (hex).
    pub hash: String,
}

fn table_code(t: Table) -> u8 {
    Table::ALL.iter().position(|x| *x == t).unwrap_or(0) as u8
}

fn bad(detail: impl Into<String>) -> Error {
    Error::Corrupt { table: "backup", detail: detail.into() }
}

struct Hashing<W> {
    inner: W,
    hasher: blake3::Hasher,
}

impl<W: Write> Hashing<W> {
    fn put(&mut self, b: &[u8]) -> Result<()> {
        self.hasher.update(b);
        self.inner.write_all(b).map_err(|e| Error::Kv(KvError::Engine(format!("backup write: {e}"))))
    }
}

impl Store {
    /// Writes every table to `out`. The caller keeps writers out while it runs, for a consistent snapshot.
    pub fn export(&self, out: impl Write) -> Result<BackupStats> {
        let mut w = Hashing { inner: out, hasher: blake3::Hasher::new() };
        let mut stats = BackupStats::default();
        w.put(MAGIC)?;
        w.put(&FORMAT.to_be_bytes())?;
        let mut record = |w: &mut Hashing<_>, code: u8, k: &[u8], v: &[u8]| -> Result<()> {
            w.put(&[code])?;
            w.put(&(k.len() as u32).to_be_bytes())?;
            w.put(k)?;
            w.put(&(v.len() as u32).to_be_bytes())?;
            w.put(v)?;
            stats.records += 1;
            stats.bytes += (k.len() + v.len()) as u64;
            Ok(())
        };
        for t in Table::ALL {
            let code = table_code(t);
            if t == Table::BlobChunks {
                // The chunks from wherever the blob store keeps them (a table of the records, or a bucket), as
                // records of the chunks' table: a backup restores into either.
                let mut after = None;
                loop {
                    let page = self.blobs.list(None, after.as_ref(), 64)?;
                    for key in &page {
                        let chunk = self.blobs.get(key)?.ok_or_else(|| {
                            Error::Kv(KvError::Engine("a chunk was removed while the backup read it".into()))
                        })?;
                        record(&mut w, code, &key.to_bytes(), &chunk)?;
                    }
                    match page.last() {
                        Some(k) if page.len() == 64 => after = Some(*k),
                        _ => break,
                    }
                }
                continue;
            }
            let mut after: Option<Vec<u8>> = None;
            loop {
                let page = self.kv.scan(t, b"", after.as_deref(), 256)?;
                for (k, v) in &page {
                    record(&mut w, code, k, v)?;
                }
                match page.last() {
                    Some((k, _)) if page.len() == 256 => after = Some(k.clone()),
                    _ => break,
                }
            }
        }
        let hash = *w.hasher.finalize().as_bytes();
        let mut trailer = vec![END];
        trailer.extend_from_slice(&stats.records.to_be_bytes());
        trailer.extend_from_slice(&hash);
        w.inner.write_all(&trailer).map_err(|e| Error::Kv(KvError::Engine(format!("backup write: {e}"))))?;
        w.inner.flush().map_err(|e| Error::Kv(KvError::Engine(format!("backup write: {e}"))))?;
        stats.hash = crate::crypto::encode_hex(&hash);
        Ok(stats)
    }
}

fn read_exact(r: &mut impl Read, n: usize, hasher: Option<&mut blake3::Hasher>) -> Result<Vec<u8>> {
    let mut buf = vec![0u8; n];
    r.read_exact(&mut buf).map_err(|_| bad("the backup ends early (truncated)"))?;
    if let Some(h) = hasher {
        h.update(&buf);
    }
    Ok(buf)
}

/// Restores a backup into an empty key-value store, the chunks into `blobs` (put before the records that name
/// them are committed). Verifies the whole file; a damaged one fails whole (the caller discards the target).
/// The record of where the source kept its chunks is left out: the restored store records `blobs` when it is
/// first opened.
pub fn import(kv: &dyn Kv, blobs: &dyn BlobStore, mut input: impl Read) -> Result<BackupStats> {
    let mut hasher = blake3::Hasher::new();
    if read_exact(&mut input, MAGIC.len(), Some(&mut hasher))? != MAGIC {
        return Err(bad("not a dangan backup"));
    }
    let format = u32::from_be_bytes(read_exact(&mut input, 4, Some(&mut hasher))?.try_into().unwrap_or([0; 4]));
    if format != FORMAT {
        return Err(bad(format!("unknown backup format {format}")));
    }
    let mut stats = BackupStats::default();
    let mut batch = Batch::default();
    let (mut chunks, mut chunk_bytes) = (Vec::new(), 0usize);
    loop {
        let code = read_exact(&mut input, 1, None)?[0];
        if code == END {
            break;
        }
        hasher.update(&[code]);
        let t = *Table::ALL.get(code as usize).ok_or_else(|| bad(format!("unknown table {code}")))?;
        let klen =
            u32::from_be_bytes(read_exact(&mut input, 4, Some(&mut hasher))?.try_into().unwrap_or([0; 4])) as usize;
        if klen > 4096 {
            return Err(bad("key too long"));
        }
        let k = read_exact(&mut input, klen, Some(&mut hasher))?;
        let vlen =
            u32::from_be_bytes(read_exact(&mut input, 4, Some(&mut hasher))?.try_into().unwrap_or([0; 4])) as usize;
        if vlen > 64 * 1024 * 1024 {
            return Err(bad("value too long"));
        }
        let v = read_exact(&mut input, vlen, Some(&mut hasher))?;
        stats.records += 1;
        stats.bytes += (klen + vlen) as u64;
        if t == Table::BlobChunks {
            let key = ChunkKey::from_bytes(&k).ok_or_else(|| bad("a chunk's key is malformed"))?;
            chunk_bytes += v.len();
            chunks.push((key, v));
            if chunks.len() >= 64 || chunk_bytes >= 32 * 1024 * 1024 {
                blobs.put(std::mem::take(&mut chunks))?;
                chunk_bytes = 0;
            }
        } else if !(t == Table::Meta && k == BLOB_STORE) {
            batch.put(t, k, v);
        }
        if batch.ops.len() >= 512 {
            blobs.put(std::mem::take(&mut chunks))?;
            chunk_bytes = 0;
            blobs.flush()?;
            kv.commit(std::mem::take(&mut batch))?;
        }
    }
    let count = u64::from_be_bytes(read_exact(&mut input, 8, None)?.try_into().unwrap_or([0; 8]));
    let hash = read_exact(&mut input, 32, None)?;
    let mut rest = Vec::new();
    let _ = input.read_to_end(&mut rest);
    if count != stats.records || hash != hasher.finalize().as_bytes() || !rest.is_empty() {
        return Err(bad("the backup's checksum does not match: it was altered or damaged"));
    }
    blobs.put(chunks)?;
    blobs.flush()?;
    if !batch.is_empty() {
        kv.commit(batch)?;
    }
    kv.flush()?;
    stats.hash = crate::crypto::encode_hex(&hash);
    Ok(stats)
}
