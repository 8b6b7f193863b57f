//! Disaster recovery for the embedded store (issue 16, item 4): backups shipped to a directory with
//! retention, the newest restored from it, and a restore drill that measures what a disaster would cost.
//!
//! A backup directory holds `dangan-<UTC time>.backup` files (the backup format of `store::backup`: ciphertext
//! only). A backup is written under a hidden `.partial` name, synced and then renamed, so a backup cut short
//! (a crash, a full disk) is never taken for one; retention removes the oldest complete ones beyond `keep`. The
//! directory can be a mount of another machine, a NAS or a bucket mounted as a file system; the file's name says
//! when it was taken, which the drill reads as its age.
//!
//! The drill restores the newest backup into a scratch directory, opens it with the master key (rebuilding the
//! search index), re-reads and re-hashes every blob (`verify`) and checks the audit chain (`audit verify`). It
//! reports the RPO (the newest backup's age: what a disaster now would lose) and the RTO (restore plus open: how
//! long until the archive serves again), and fails when anything does not verify.

use crate::extract::Extractor;
use crate::service::Config;
use anyhow::{Context, Result, anyhow, bail};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use time::OffsetDateTime;

const PREFIX: &str = "dangan-";
const SUFFIX: &str = ".backup";
/// `20261202T151300.123Z`: sorts as it dates.
const STAMP: &[time::format_description::FormatItem<'static>] =
    time::macros::format_description!("[year][month][day]T[hour][minute][second].[subsecond digits:3]Z");

/// A directory of backups.
pub struct BackupDir(PathBuf);

/// One complete backup in a [`BackupDir`].
#[derive(Clone, Debug)]
pub struct BackupFile {
    /// When it was taken (from its name).
    pub taken: OffsetDateTime,
    /// Where it is.
    pub path: PathBuf,
}

impl BackupDir {
    /// The directory `path` (created where missing, 0700).
    pub fn at(path: &Path) -> Result<Self> {
        std::fs::create_dir_all(path).with_context(|| format!("cannot create {}", path.display()))?;
        rustix::fs::chmod(path, rustix::fs::Mode::from_raw_mode(0o700))
            .with_context(|| format!("cannot restrict {}", path.display()))?;
        Ok(BackupDir(path.to_path_buf()))
    }

    /// The existing directory `path`, to read backups from.
    pub fn existing(path: &Path) -> Result<Self> {
        if !path.is_dir() {
            bail!("no backup directory at {}", path.display());
        }
        Ok(BackupDir(path.to_path_buf()))
    }

    /// Writes a backup taken at `taken` with `write` (which gets the open file), then keeps the newest `keep`.
    /// Returns the new backup and the ones retention removed.
    pub fn write<T>(
        &self,
        taken: OffsetDateTime,
        keep: usize,
        write: impl FnOnce(&mut std::io::BufWriter<&std::fs::File>) -> Result<T>,
    ) -> Result<(BackupFile, T, Vec<PathBuf>)> {
        let stamp = taken.to_offset(time::UtcOffset::UTC).format(STAMP)?;
        let name = format!("{PREFIX}{stamp}{SUFFIX}");
        let path = self.0.join(&name);
        let partial = self.0.join(format!(".{name}.partial"));
        let file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&partial)
            .with_context(|| format!("cannot create {}", partial.display()))?;
        let written = (|| -> Result<T> {
            let mut out = std::io::BufWriter::new(&file);
            let t = write(&mut out)?;
            out.flush()?;
            drop(out);
            file.sync_all()?;
            if path.exists() {
                bail!("{} exists already", path.display());
            }
            std::fs::rename(&partial, &path)?;
            // The rename is durable once the directory is.
            std::fs::File::open(&self.0).and_then(|d| d.sync_all())?;
            Ok(t)
        })()
        .with_context(|| format!("cannot write the backup {}", path.display()));
        let t = match written {
            Ok(t) => t,
            Err(e) => {
                let _ = std::fs::remove_file(&partial);
                return Err(e);
            }
        };
        let mut removed = Vec::new();
        for old in self.list()?.into_iter().skip(keep.max(1)) {
            std::fs::remove_file(&old.path).with_context(|| format!("cannot remove {}", old.path.display()))?;
            removed.push(old.path);
        }
        Ok((BackupFile { taken, path }, t, removed))
    }

    /// The complete backups, newest first (partial ones and other files are not listed).
    pub fn list(&self) -> Result<Vec<BackupFile>> {
        let mut found = Vec::new();
        let read = || format!("cannot read {}", self.0.display());
        for entry in std::fs::read_dir(&self.0).with_context(read)? {
            let entry = entry.with_context(read)?;
            let name = entry.file_name();
            let Some(stamp) = name.to_str().and_then(|n| n.strip_prefix(PREFIX)).and_then(|n| n.strip_suffix(SUFFIX))
            else {
                continue;
            };
            if let Ok(taken) = time::PrimitiveDateTime::parse(stamp, STAMP) {
                found.push(BackupFile { taken: taken.assume_utc(), path: entry.path() });
            }
        }
        found.sort_by_key(|b| std::cmp::Reverse(b.taken));
        Ok(found)
    }

    /// The newest complete backup.
    pub fn newest(&self) -> Result<BackupFile> {
        self.list()?.into_iter().next().ok_or_else(|| anyhow!("no dangan backup in {}", self.0.display()))
    }
}

/// Takes a backup of `archive` (online: writes wait while the snapshot is taken) into `dir`, keeping the newest
/// `keep`.
pub fn backup_into(
    archive: &crate::service::Archive,
    dir: &BackupDir,
    keep: usize,
) -> Result<(BackupFile, crate::store::backup::BackupStats, Vec<PathBuf>)> {
    let done = dir.write(OffsetDateTime::now_utc(), keep, |out| Ok(archive.operations().backup_to(out)?));
    let operations = archive.operations();
    let metrics = operations.metrics();
    match &done {
        Ok((file, ..)) => metrics
            .backup_last_success
            .store(u64::try_from(file.taken.unix_timestamp()).unwrap_or(0), std::sync::atomic::Ordering::Relaxed),
        Err(_) => {
            metrics.backup_failures.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
    }
    done
}

/// How long until the next scheduled backup is due: `every` after the newest one (at once when there is none).
pub fn next_due(dir: &BackupDir, every: Duration) -> Duration {
    match dir.newest() {
        Ok(b) => {
            let age = (OffsetDateTime::now_utc() - b.taken).max(time::Duration::ZERO);
            every.saturating_sub(Duration::try_from(age).unwrap_or(Duration::ZERO))
        }
        Err(_) => Duration::ZERO,
    }
}

/// What a restore drill found.
#[derive(Debug, serde::Serialize)]
pub struct DrillReport {
    /// The backup restored.
    pub backup: PathBuf,
    /// When it was taken.
    #[serde(with = "time::serde::rfc3339")]
    pub taken: OffsetDateTime,
    /// Recovery point: the backup's age when the drill began, in seconds (what a disaster then would lose).
    pub rpo_seconds: u64,
    /// Recovery time: restore plus open (the index rebuilt), in seconds (until the archive serves again).
    pub rto_seconds: f64,
    /// Of which the restore of the records.
    pub restore_seconds: f64,
    /// Of which opening the restored store, the search index rebuilt.
    pub open_seconds: f64,
    /// The blobs' verification and the audit chain's, in seconds (not part of the RTO).
    pub verify_seconds: f64,
    /// Records restored.
    pub records: u64,
    /// Blobs re-read and re-hashed.
    pub blobs: usize,
    /// Materials searchable after the rebuild.
    pub materials: usize,
    /// Audit entries whose chain was checked.
    pub audit_entries: u64,
    /// Whether every blob verified and the audit chain holds.
    pub ok: bool,
    /// What did not verify.
    pub problems: Vec<String>,
}

/// Restores the newest backup of `dir` into `scratch` (which must not hold a store) and checks it; `master` must
/// be the key the backup was made with.
pub fn drill(
    dir: &BackupDir,
    scratch: &Path,
    master: &crate::crypto::MasterKey,
    extractor: Extractor,
    config: Config,
) -> Result<DrillReport> {
    let newest = dir.newest()?;
    let rpo = (OffsetDateTime::now_utc() - newest.taken).max(time::Duration::ZERO);
    let started = Instant::now();
    let stats = super::restore(scratch, &newest.path, None)?;
    let restored = started.elapsed();
    let archive = super::open(scratch, master, extractor, config)
        .map_err(|e| anyhow!("the restored store does not open: {e} (was the backup made with another master key?)"))?;
    let opened = started.elapsed();
    let verify = archive.indexing().verify()?;
    let audit = archive.audit_trail().verify()?;
    let verified = started.elapsed() - opened;
    let mut problems: Vec<String> = verify
        .corrupt
        .iter()
        .map(|b| format!("corrupt blob {b}"))
        .chain(verify.missing.iter().map(|b| format!("missing blob {b}")))
        .collect();
    if !audit.ok {
        problems.push(format!(
            "audit chain broken at entry {}: {}",
            audit.first_bad.map(|n| n.to_string()).unwrap_or_default(),
            audit.problem.clone().unwrap_or_default()
        ));
    }
    if !archive.close(Duration::from_secs(120)) {
        tracing::warn!("the drill's archive did not finish its background work within two minutes");
    }
    Ok(DrillReport {
        backup: newest.path,
        taken: newest.taken,
        rpo_seconds: rpo.whole_seconds().max(0) as u64,
        rto_seconds: secs(opened),
        restore_seconds: secs(restored),
        open_seconds: secs(opened - restored),
        verify_seconds: secs(verified),
        records: stats.records,
        blobs: verify.blobs,
        materials: verify.materials,
        audit_entries: audit.entries,
        ok: problems.is_empty(),
        problems,
    })
}

fn secs(d: Duration) -> f64 {
    (d.as_secs_f64() * 100.0).round() / 100.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_backup_of_an_archive_is_written_and_its_time_is_in_the_metrics() {
        let archive = crate::bootstrap::in_memory(
            crate::extract::Extractor::in_thread(Duration::from_secs(5)),
            Config::default(),
        )
        .unwrap();
        let metrics = || archive.operations().render_metrics().unwrap();
        assert!(metrics().contains("dangan_backup_last_success_timestamp_seconds 0\n"));
        let tmp = tempfile::tempdir().unwrap();
        let dir = BackupDir::at(tmp.path()).unwrap();
        let (file, stats, _) = backup_into(&archive, &dir, 2).unwrap();
        assert!(stats.records > 0 && std::fs::metadata(&file.path).unwrap().len() > stats.bytes);
        assert!(
            metrics()
                .contains(&format!("dangan_backup_last_success_timestamp_seconds {}\n", file.taken.unix_timestamp()))
        );
        assert!(metrics().contains("dangan_store_stopped 0\n"));
        // A directory that cannot be written is counted as a failure.
        std::fs::remove_dir_all(tmp.path()).unwrap();
        assert!(backup_into(&archive, &dir, 2).is_err());
        assert!(metrics().contains("dangan_backup_failures_total 1\n"));
    }

    /// Disaster recovery onto PostgreSQL: a backup of an embedded store restores into an empty database, which
    /// then serves the archive; a database holding a store is refused, and a damaged backup leaves an empty one
    /// empty.
    #[test]
    fn a_backup_restores_into_an_empty_postgres_database_only() {
        use crate::store::{Kv, PgKv, Table};
        let server = crate::store::postgres::testing::TestServer::start();
        let master = crate::crypto::MasterKey::generate().unwrap();
        let tmp = tempfile::tempdir().unwrap();
        let extractor = || Extractor::in_thread(Duration::from_secs(5));
        let archive = crate::bootstrap::open(&tmp.path().join("a"), &master, extractor(), Config::default()).unwrap();
        let hr = crate::service::testing::loader();
        let json = serde_json::json!({"name": "王小明", "department": "hr"});
        let person = archive.persons().create(&hr, json).unwrap().record.id;
        let dir = BackupDir::at(&tmp.path().join("backups")).unwrap();
        let (file, stats, _) = backup_into(&archive, &dir, 3).unwrap();
        assert!(archive.close(Duration::from_secs(60)));

        let url = server.url();
        let restored = crate::bootstrap::restore(&tmp.path().join("b"), &file.path, Some(&url)).unwrap();
        assert_eq!((restored.records, restored.hash), (stats.records, stats.hash));
        let again = crate::bootstrap::restore(&tmp.path().join("c"), &file.path, Some(&url)).unwrap_err();
        assert!(again.to_string().contains("already holds a dangan store"), "{again}");

        let config = Config { store: Some(crate::service::StoreUrl(url.clone())), ..Config::default() };
        let archive = crate::bootstrap::open(&tmp.path().join("b"), &master, extractor(), config).unwrap();
        assert_eq!(archive.persons().get(&hr, person).unwrap().person.name, "王小明");
        assert!(archive.audit_trail().verify().unwrap().ok);
        assert!(archive.close(Duration::from_secs(60)));

        // A damaged backup is refused whole, and the empty database it was meant for is empty again.
        let mut bytes = std::fs::read(&file.path).unwrap();
        let middle = bytes.len() / 2;
        bytes[middle] ^= 0x55;
        let damaged = tmp.path().join("damaged.backup");
        std::fs::write(&damaged, &bytes).unwrap();
        postgres::Client::connect(&url, postgres::NoTls).unwrap().batch_execute("CREATE DATABASE other").unwrap();
        let other = url.replace("dbname=postgres", "dbname=other");
        let refused = crate::bootstrap::restore(&tmp.path().join("d"), &damaged, Some(&other)).unwrap_err();
        assert!(refused.to_string().contains("restore refused"), "{refused}");
        let kv = PgKv::open(&other).unwrap();
        for t in Table::ALL {
            assert_eq!(kv.scan_keys(t, b"", None, 1).unwrap(), Vec::<Vec<u8>>::new(), "{t:?}");
        }
    }

    #[test]
    fn a_backup_directory_keeps_the_newest_and_never_lists_a_partial_backup() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = BackupDir::at(&tmp.path().join("backups")).unwrap();
        assert!(dir.newest().unwrap_err().to_string().contains("no dangan backup"));
        let t0 = time::macros::datetime!(2026-12-01 02:00:00 UTC);
        for day in 0..4 {
            let (b, n, removed) = dir
                .write(t0 + time::Duration::days(day), 3, |out| {
                    out.write_all(format!("backup {day}").as_bytes()).unwrap();
                    Ok(day)
                })
                .unwrap();
            assert_eq!(n, day);
            assert_eq!(std::fs::read_to_string(&b.path).unwrap(), format!("backup {day}"));
            assert_eq!(removed.len(), usize::from(day == 3), "{removed:?}");
        }
        let listed = dir.list().unwrap();
        assert_eq!(listed.len(), 3);
        assert_eq!(listed[0].taken, t0 + time::Duration::days(3));
        assert_eq!(std::fs::read_to_string(&dir.newest().unwrap().path).unwrap(), "backup 3");
        assert!(listed.iter().all(|b| b.taken > t0), "the oldest went");

        // A backup that fails while written leaves nothing, and is never the newest.
        let failed = dir.write(t0 + time::Duration::days(9), 3, |out| {
            out.write_all(b"half a backup").unwrap();
            Err::<(), _>(anyhow!("disk full"))
        });
        assert!(failed.is_err());
        assert_eq!(std::fs::read_dir(tmp.path().join("backups")).unwrap().count(), 3);
        assert_eq!(dir.newest().unwrap().taken, t0 + time::Duration::days(3));
        // A partial file a crash left, and other files, are not backups.
        std::fs::write(tmp.path().join("backups/.dangan-20261231T000000.000Z.backup.partial"), b"x").unwrap();
        std::fs::write(tmp.path().join("backups/notes.txt"), b"x").unwrap();
        assert_eq!(dir.list().unwrap().len(), 3);
    }
}
