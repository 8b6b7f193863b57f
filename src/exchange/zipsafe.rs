//! Zip archives from outside (batch imports, transfer packages), read without trusting them: names are checked
//! before anything is read (no absolute paths, no `..`, no duplicates, no encrypted entries), declared sizes are
//! checked against the limits, and every entry is counted again *while* it inflates, because headers can lie.
//! Nothing is ever extracted to disk: entries are read into memory one at a time, within the limits.

use std::collections::HashMap;
use std::io::{Read, Seek};

/// Why a zip archive is refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ZipRefusal {
    /// Not a readable zip.
    #[error("not a readable zip archive: {0}")]
    Unreadable(String),
    /// A name that would escape the archive's root or is otherwise unusable.
    #[error("entry {name:?} has an unsafe path ({why})")]
    UnsafePath {
        /// The name as stored.
        name: String,
        /// What is wrong with it.
        why: &'static str,
    },
    /// Two entries with the same name.
    #[error("entry {0:?} appears more than once")]
    Duplicate(String),
    /// An encrypted entry.
    #[error("entry {0:?} is encrypted")]
    Encrypted(String),
    /// Too many entries, or too large, or compressed too well: a zip bomb or simply over the limit.
    #[error("{what} exceeds the limit of {limit}")]
    TooLarge {
        /// What was measured.
        what: String,
        /// The limit.
        limit: u64,
    },
    /// Reading an entry failed (a damaged archive).
    #[error("entry {name:?} cannot be read: {why}")]
    Damaged {
        /// The entry.
        name: String,
        /// The reader's complaint.
        why: String,
    },
    /// No such entry.
    #[error("no entry {0:?}")]
    Missing(String),
}

/// What a zip archive may hold.
#[derive(Clone, Copy, Debug)]
pub struct ZipLimits {
    /// Entries (files and directories).
    pub max_entries: usize,
    /// Decompressed bytes of one entry.
    pub max_entry_bytes: u64,
    /// Decompressed bytes of all entries together.
    pub max_total_bytes: u64,
    /// Decompressed ÷ compressed, judged past [`ZipLimits::ratio_grace_bytes`].
    pub max_ratio: u64,
    /// Entries smaller than this may compress as well as they like (tiny text files do).
    pub ratio_grace_bytes: u64,
}

impl Default for ZipLimits {
    fn default() -> Self {
        ZipLimits {
            max_entries: 100_000,
            max_entry_bytes: 256 * 1024 * 1024,
            max_total_bytes: 8 * 1024 * 1024 * 1024,
            max_ratio: 200,
            ratio_grace_bytes: 1024 * 1024,
        }
    }
}

/// A zip archive whose names and declared sizes passed the checks.
pub struct SafeZip<R> {
    archive: zip::ZipArchive<R>,
    files: Vec<String>,
    index: HashMap<String, usize>,
    limits: ZipLimits,
}

/// Checks one entry name; returns it normalised (forward slashes, no leading `./`).
fn check_name(name: &str) -> Result<String, ZipRefusal> {
    let unsafe_path = |why| ZipRefusal::UnsafePath { name: name.chars().take(200).collect(), why };
    if name.is_empty() || name.contains('\0') {
        return Err(unsafe_path("empty or NUL"));
    }
    let n = name.replace('\\', "/");
    if n.starts_with('/') || n.as_bytes().get(1) == Some(&b':') {
        return Err(unsafe_path("absolute"));
    }
    let n = n.trim_start_matches("./").to_string();
    if n.split('/').any(|part| part == "..") {
        return Err(unsafe_path("climbs out with .."));
    }
    Ok(n)
}

impl<R: Read + Seek> SafeZip<R> {
    /// Opens and checks an archive: every name, the entry count and the declared sizes.
    pub fn open(reader: R, limits: ZipLimits) -> Result<Self, ZipRefusal> {
        let mut archive = zip::ZipArchive::new(reader).map_err(|e| ZipRefusal::Unreadable(e.to_string()))?;
        if archive.len() > limits.max_entries {
            return Err(ZipRefusal::TooLarge { what: "number of entries".into(), limit: limits.max_entries as u64 });
        }
        let mut index = HashMap::new();
        let mut files = Vec::new();
        let mut total = 0u64;
        for i in 0..archive.len() {
            let entry = archive.by_index_raw(i).map_err(|e| ZipRefusal::Unreadable(e.to_string()))?;
            let name = check_name(&String::from_utf8_lossy(entry.name_raw()))?;
            if index.insert(name.clone(), i).is_some() {
                return Err(ZipRefusal::Duplicate(name));
            }
            if entry.encrypted() {
                return Err(ZipRefusal::Encrypted(name));
            }
            if entry.is_dir() {
                continue;
            }
            check_size(&limits, &name, entry.size(), entry.compressed_size())?;
            total = total.saturating_add(entry.size());
            if total > limits.max_total_bytes {
                return Err(ZipRefusal::TooLarge {
                    what: "decompressed size of the archive (bytes)".into(),
                    limit: limits.max_total_bytes,
                });
            }
            files.push(name);
        }
        Ok(SafeZip { archive, files, index, limits })
    }

    /// The file entries (normalised names), in archive order.
    pub fn files(&self) -> &[String] {
        &self.files
    }

    /// Reads one entry, counting its bytes as it inflates.
    pub fn read(&mut self, name: &str) -> Result<Vec<u8>, ZipRefusal> {
        let index = *self.index.get(name).ok_or_else(|| ZipRefusal::Missing(name.into()))?;
        let limits = self.limits;
        let entry = self.archive.by_index(index).map_err(|e| damaged(name, e))?;
        let compressed = entry.compressed_size();
        let mut out = Vec::with_capacity(entry.size().min(limits.max_entry_bytes).min(64 * 1024 * 1024) as usize);
        let mut limited = entry.take(limits.max_entry_bytes + 1);
        let mut buf = [0u8; 64 * 1024];
        loop {
            let n = limited.read(&mut buf).map_err(|e| damaged(name, e))?;
            if n == 0 {
                break;
            }
            out.extend_from_slice(&buf[..n]);
            check_size(&limits, name, out.len() as u64, compressed)?;
        }
        Ok(out)
    }
}

fn damaged(name: &str, e: impl std::fmt::Display) -> ZipRefusal {
    ZipRefusal::Damaged { name: name.into(), why: e.to_string() }
}

fn check_size(limits: &ZipLimits, name: &str, size: u64, compressed: u64) -> Result<(), ZipRefusal> {
    if size > limits.max_entry_bytes {
        return Err(ZipRefusal::TooLarge {
            what: format!("decompressed size of {name:?} (bytes)"),
            limit: limits.max_entry_bytes,
        });
    }
    if size > limits.ratio_grace_bytes && size > compressed.saturating_mul(limits.max_ratio) {
        return Err(ZipRefusal::TooLarge { what: format!("compression ratio of {name:?}"), limit: limits.max_ratio });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Cursor, Write};

    fn zip_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
        let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
        let opts = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
        for (name, bytes) in entries {
            w.start_file(*name, opts).unwrap();
            w.write_all(bytes).unwrap();
        }
        w.finish().unwrap().into_inner()
    }

    #[test]
    fn reads_ordinary_entries() {
        let z = zip_of(&[("catalogue.csv", b"a,b\n"), ("dir/scan.png", b"png")]);
        let mut s = SafeZip::open(Cursor::new(z), ZipLimits::default()).unwrap();
        assert_eq!(s.files(), ["catalogue.csv", "dir/scan.png"]);
        assert_eq!(s.read("dir/scan.png").unwrap(), b"png");
        assert_eq!(s.read("nope"), Err(ZipRefusal::Missing("nope".into())));
    }

    #[test]
    fn refuses_slip_absolute_and_duplicates_before_reading() {
        for bad in ["../etc/passwd", "a/../../x", "/etc/passwd", "..\\win.ini", "C:/x"] {
            let z = zip_of(&[("ok.txt", b"x"), (bad, b"y")]);
            let err = SafeZip::open(Cursor::new(z), ZipLimits::default()).err().unwrap();
            assert!(matches!(err, ZipRefusal::UnsafePath { .. }), "{bad}: {err}");
        }
        let z = zip_of(&[("a.txt", b"x"), ("./a.txt", b"y")]);
        assert!(matches!(SafeZip::open(Cursor::new(z), ZipLimits::default()), Err(ZipRefusal::Duplicate(_))));
    }

    #[test]
    fn refuses_a_bomb_by_ratio_and_by_size() {
        let zeros = vec![0u8; 8 * 1024 * 1024];
        let z = zip_of(&[("zeros.bin", &zeros)]);
        let err = SafeZip::open(Cursor::new(z.clone()), ZipLimits::default()).err().unwrap();
        assert!(err.to_string().contains("compression ratio"), "{err}");
        let small = ZipLimits { max_entry_bytes: 1024, ratio_grace_bytes: u64::MAX, ..ZipLimits::default() };
        let err = SafeZip::open(Cursor::new(z), small).err().unwrap();
        assert!(err.to_string().contains("decompressed size"), "{err}");
    }

    #[test]
    fn garbage_is_unreadable_not_a_panic() {
        assert!(matches!(
            SafeZip::open(Cursor::new(b"PK\x03\x04garbage".to_vec()), ZipLimits::default()),
            Err(ZipRefusal::Unreadable(_))
        ));
    }
}
