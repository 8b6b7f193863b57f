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
use crate::store::object_blobs::{Bucket, S3Settings};
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

/// A directory of backups: a folder, or a folder of an S3 bucket (`s3://bucket/folder`).
pub struct BackupDir(Place);

enum Place {
    Folder(PathBuf),
    /// Backups are staged in a temporary file (ciphertext only, as every backup), then uploaded in parts: an
    /// object appears whole or not at all, so no partial name is needed.
    Bucket(Bucket),
}

/// One complete backup in a [`BackupDir`].
#[derive(Clone, Debug)]
pub struct BackupFile {
    /// When it was taken (from its name).
    pub taken: OffsetDateTime,
    /// Its file name (`dangan-<UTC time>.backup`).
    pub name: String,
    /// Where it is: a path, or `s3://bucket/folder/name`.
    pub location: String,
}

/// A backup on this machine's disk, to restore from: the file itself, or a downloaded copy removed when dropped.
pub struct LocalBackup {
    /// The file.
    pub path: PathBuf,
    _download: Option<tempfile::TempPath>,
}

/// An `s3://` target, if `target` is one.
fn bucket_of(target: &Path) -> Result<Option<Bucket>> {
    match target.to_str().filter(|t| t.starts_with("s3://")) {
        Some(url) => Ok(Some(Bucket::s3(&S3Settings::from_env(url)?)?)),
        None => Ok(None),
    }
}

impl BackupDir {
    /// The directory `target`, a folder (created where missing, 0700) or `s3://bucket/folder` (endpoint and access
    /// key from the environment, as `--blobs`).
    pub fn at(target: &Path) -> Result<Self> {
        if let Some(bucket) = bucket_of(target)? {
            return Ok(BackupDir(Place::Bucket(bucket)));
        }
        std::fs::create_dir_all(target).with_context(|| format!("cannot create {}", target.display()))?;
        rustix::fs::chmod(target, rustix::fs::Mode::from_raw_mode(0o700))
            .with_context(|| format!("cannot restrict {}", target.display()))?;
        Ok(BackupDir(Place::Folder(target.to_path_buf())))
    }

    /// The existing directory `target` (a folder or `s3://bucket/folder`), to read backups from.
    pub fn existing(target: &Path) -> Result<Self> {
        if let Some(bucket) = bucket_of(target)? {
            return Ok(BackupDir(Place::Bucket(bucket)));
        }
        if !target.is_dir() {
            bail!("no backup directory at {}", target.display());
        }
        Ok(BackupDir(Place::Folder(target.to_path_buf())))
    }

    fn describe(&self) -> String {
        match &self.0 {
            Place::Folder(p) => p.display().to_string(),
            Place::Bucket(b) => b.name().to_string(),
        }
    }

    fn location(&self, name: &str) -> String {
        match &self.0 {
            Place::Folder(p) => p.join(name).display().to_string(),
            Place::Bucket(b) => format!("{}/{name}", b.name()),
        }
    }

    /// Writes a backup taken at `taken` with `write` (which gets the open file), then keeps the newest `keep`.
    /// Returns the new backup and the ones retention removed.
    pub fn write<T>(
        &self,
        taken: OffsetDateTime,
        keep: usize,
        write: impl FnOnce(&mut std::io::BufWriter<&std::fs::File>) -> Result<T>,
    ) -> Result<(BackupFile, T, Vec<String>)> {
        let stamp = taken.to_offset(time::UtcOffset::UTC).format(STAMP)?;
        let name = format!("{PREFIX}{stamp}{SUFFIX}");
        let location = self.location(&name);
        let t = match &self.0 {
            Place::Folder(dir) => write_file(dir, &name, write)?,
            Place::Bucket(bucket) => {
                if bucket.list_files()?.iter().any(|(n, _)| *n == name) {
                    bail!("{location} exists already");
                }
                let staged = tempfile::NamedTempFile::new().context("cannot stage the backup in a temporary file")?;
                let mut out = std::io::BufWriter::new(staged.as_file());
                let t = write(&mut out)?;
                out.flush()?;
                drop(out);
                bucket.upload(staged.path(), &name).with_context(|| format!("cannot upload the backup {location}"))?;
                t
            }
        };
        let mut removed = Vec::new();
        for old in self.list()?.into_iter().skip(keep.max(1)) {
            match &self.0 {
                Place::Folder(dir) => std::fs::remove_file(dir.join(&old.name))
                    .with_context(|| format!("cannot remove {}", old.location))?,
                Place::Bucket(bucket) => {
                    bucket.remove(&old.name).with_context(|| format!("cannot remove {}", old.location))?
                }
            }
            removed.push(old.location);
        }
        Ok((BackupFile { taken, name, location }, t, removed))
    }

    /// The complete backups, newest first (partial ones and other files are not listed).
    pub fn list(&self) -> Result<Vec<BackupFile>> {
        let names: Vec<String> = match &self.0 {
            Place::Folder(dir) => {
                let read = || format!("cannot read {}", dir.display());
                let mut names = Vec::new();
                for entry in std::fs::read_dir(dir).with_context(read)? {
                    names.extend(entry.with_context(read)?.file_name().to_str().map(str::to_string));
                }
                names
            }
            Place::Bucket(bucket) => bucket.list_files()?.into_iter().map(|(n, _)| n).collect(),
        };
        let mut found = Vec::new();
        for name in names {
            let Some(stamp) = name.strip_prefix(PREFIX).and_then(|n| n.strip_suffix(SUFFIX)) else {
                continue;
            };
            if let Ok(taken) = time::PrimitiveDateTime::parse(stamp, STAMP) {
                found.push(BackupFile { taken: taken.assume_utc(), location: self.location(&name), name });
            }
        }
        found.sort_by_key(|b| std::cmp::Reverse(b.taken));
        Ok(found)
    }

    /// The newest complete backup.
    pub fn newest(&self) -> Result<BackupFile> {
        self.list()?.into_iter().next().ok_or_else(|| anyhow!("no dangan backup in {}", self.describe()))
    }

    /// The backup `file` on this machine's disk (downloaded from a bucket into a temporary file).
    pub fn local(&self, file: &BackupFile) -> Result<LocalBackup> {
        match &self.0 {
            Place::Folder(dir) => Ok(LocalBackup { path: dir.join(&file.name), _download: None }),
            Place::Bucket(bucket) => {
                let temp = tempfile::NamedTempFile::new().context("cannot create a temporary file")?.into_temp_path();
                bucket.download(&file.name, &temp).with_context(|| format!("cannot download {}", file.location))?;
                Ok(LocalBackup { path: temp.to_path_buf(), _download: Some(temp) })
            }
        }
    }
}

/// Writes the backup `name` into the folder `dir`: under a hidden partial name, synced, then renamed.
fn write_file<T>(
    dir: &Path,
    name: &str,
    write: impl FnOnce(&mut std::io::BufWriter<&std::fs::File>) -> Result<T>,
) -> Result<T> {
    let path = dir.join(name);
    let partial = dir.join(format!(".{name}.partial"));
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
        std::fs::File::open(dir).and_then(|d| d.sync_all())?;
        Ok(t)
    })()
    .with_context(|| format!("cannot write the backup {}", path.display()));
    if written.is_err() {
        let _ = std::fs::remove_file(&partial);
    }
    written
}

/// Takes a backup of `archive` (online: writes wait while the snapshot is taken) into `dir`, keeping the newest
/// `keep`.
pub fn backup_into(
    archive: &crate::service::Archive,
    dir: &BackupDir,
    keep: usize,
) -> Result<(BackupFile, crate::store::backup::BackupStats, Vec<String>)> {
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
    /// The backup restored (a path, or `s3://bucket/folder/name`).
    pub backup: String,
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
    let local = dir.local(&newest)?;
    let stats = super::restore(scratch, &local.path, None, None)?;
    drop(local);
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
        backup: newest.location,
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
        assert!(stats.records > 0 && std::fs::metadata(&file.location).unwrap().len() > stats.bytes);
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
        let restored =
            crate::bootstrap::restore(&tmp.path().join("b"), Path::new(&file.location), Some(&url), None).unwrap();
        assert_eq!((restored.records, restored.hash), (stats.records, stats.hash));
        let again =
            crate::bootstrap::restore(&tmp.path().join("c"), Path::new(&file.location), Some(&url), None).unwrap_err();
        assert!(again.to_string().contains("already holds a dangan store"), "{again}");

        let config = Config { store: Some(crate::service::StoreUrl(url.clone())), ..Config::default() };
        let archive = crate::bootstrap::open(&tmp.path().join("b"), &master, extractor(), config).unwrap();
        assert_eq!(archive.persons().get(&hr, person).unwrap().person.name, "王小明");
        assert!(archive.audit_trail().verify().unwrap().ok);
        assert!(archive.close(Duration::from_secs(60)));

        // A damaged backup is refused whole, and the empty database it was meant for is empty again.
        let mut bytes = std::fs::read(&file.location).unwrap();
        let middle = bytes.len() / 2;
        bytes[middle] ^= 0x55;
        let damaged = tmp.path().join("damaged.backup");
        std::fs::write(&damaged, &bytes).unwrap();
        postgres::Client::connect(&url, postgres::NoTls).unwrap().batch_execute("CREATE DATABASE other").unwrap();
        let other = url.replace("dbname=postgres", "dbname=other");
        let refused = crate::bootstrap::restore(&tmp.path().join("d"), &damaged, Some(&other), None).unwrap_err();
        assert!(refused.to_string().contains("restore refused"), "{refused}");
        let kv = PgKv::open(&other).unwrap();
        for t in Table::ALL {
            assert_eq!(kv.scan_keys(t, b"", None, 1).unwrap(), Vec::<Vec<u8>>::new(), "{t:?}");
        }
    }

    /// An archive whose chunks are in a three-node Garage bucket: uploads read back from it (and nothing of them is
    /// in the records' store), a backup carries them, a store is never opened over another blob store, and a
    /// backup restores into the embedded store or into another bucket; with one Garage node down every blob still
    /// reads back whole and re-hashes.
    #[test]
    fn an_archive_keeps_its_chunks_in_a_garage_bucket_and_its_backups_restore_anywhere() {
        use crate::model::MaterialMeta;
        use crate::store::{BlobStore, Table};
        let garage = crate::store::object_blobs::testing::Garage::start(3);
        let master = crate::crypto::MasterKey::generate().unwrap();
        let tmp = tempfile::tempdir().unwrap();
        let extractor = || Extractor::in_thread(Duration::from_secs(5));
        let bucket = |folder: &str| Config { blobs: Some(garage.settings(0, folder)), ..Config::default() };
        let archive = crate::bootstrap::open(&tmp.path().join("a"), &master, extractor(), bucket("site-a")).unwrap();
        let hr = crate::service::testing::loader();
        let json = serde_json::json!({"name": "王小明", "department": "hr"});
        let person = archive.persons().create(&hr, json).unwrap().record.id;
        // Two chunks and a bit: 1 MiB chunks.
        let bytes: Vec<u8> = (0..2_200_000u32).map(|i| (i * 7 % 251) as u8).collect();
        let meta = MaterialMeta { category: "4-1".into(), title: "学历证明".into(), ..MaterialMeta::default() };
        let m = archive.filing().add(&hr, person, meta, &bytes, Some("diploma.bin".into()), false).unwrap().record.id;
        assert_eq!(*archive.materials().content(&hr, m).unwrap().1, bytes);
        let in_bucket = crate::store::ObjectBlobStore::s3(&garage.settings(0, "site-a")).unwrap();
        assert_eq!(in_bucket.list(None, None, 100).unwrap().len(), 3);
        let dir = BackupDir::at(&tmp.path().join("backups")).unwrap();
        let (file, stats, _) = backup_into(&archive, &dir, 3).unwrap();
        assert!(archive.close(Duration::from_secs(60)));
        {
            use crate::store::Kv;
            let records = crate::store::SledKv::open(&crate::bootstrap::DataDir(tmp.path().join("a")).store()).unwrap();
            assert!(records.scan_keys(Table::BlobChunks, b"", None, 1).unwrap().is_empty());
        }

        // Opened over the records' own store (or another folder), the store refuses: its chunks are not there.
        for config in [Config::default(), bucket("site-x")] {
            let Err(crate::service::Error::Store(refused)) =
                crate::bootstrap::open(&tmp.path().join("a"), &master, extractor(), config)
            else {
                panic!("a store opened over a blob store that does not hold its chunks");
            };
            assert!(refused.to_string().contains("s3://dangan-test/site-a"), "{refused}");
        }

        // The backup restores into a data directory's own store, and into another bucket.
        let backup = Path::new(&file.location);
        for (name, config) in [("b", Config::default()), ("c", bucket("site-c"))] {
            let restored =
                crate::bootstrap::restore(&tmp.path().join(name), backup, None, config.blobs.as_ref()).unwrap();
            assert_eq!((restored.records, &restored.hash), (stats.records, &stats.hash));
            let archive = crate::bootstrap::open(&tmp.path().join(name), &master, extractor(), config).unwrap();
            assert_eq!(*archive.materials().content(&hr, m).unwrap().1, bytes);
            let report = archive.indexing().verify().unwrap();
            assert!(report.ok() && report.blobs == 1, "{report:?}");
            assert!(archive.audit_trail().verify().unwrap().ok);
            assert!(archive.close(Duration::from_secs(60)));
        }

        // One Garage node fails: the restored archive in the bucket still reads every blob whole.
        garage.kill(1);
        let archive = crate::bootstrap::open(&tmp.path().join("c"), &master, extractor(), bucket("site-c")).unwrap();
        assert_eq!(*archive.materials().content(&hr, m).unwrap().1, bytes);
        assert!(archive.indexing().verify().unwrap().ok());
        assert!(archive.close(Duration::from_secs(60)));
    }

    /// Retention and failures, the same in a folder and in a bucket (here an in-memory object store).
    fn keeps_the_newest_and_never_lists_a_failed_backup(dir: &BackupDir) {
        let read = |b: &BackupFile| std::fs::read_to_string(&dir.local(b).unwrap().path).unwrap();
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
            assert_eq!(read(&b), format!("backup {day}"));
            assert_eq!(removed.len(), usize::from(day == 3), "{removed:?}");
        }
        let listed = dir.list().unwrap();
        assert_eq!(listed.len(), 3);
        assert_eq!(listed[0].taken, t0 + time::Duration::days(3));
        assert_eq!(read(&dir.newest().unwrap()), "backup 3");
        assert!(listed.iter().all(|b| b.taken > t0), "the oldest went");

        // A backup that fails while written leaves nothing, and is never the newest.
        let failed = dir.write(t0 + time::Duration::days(9), 3, |out| {
            out.write_all(b"half a backup").unwrap();
            Err::<(), _>(anyhow!("disk full"))
        });
        assert!(failed.is_err());
        assert_eq!(dir.list().unwrap().len(), 3);
        assert_eq!(dir.newest().unwrap().taken, t0 + time::Duration::days(3));
        // The same time twice is refused, not overwritten.
        assert!(dir.write(t0 + time::Duration::days(3), 3, |_| Ok(())).is_err());
        assert_eq!(read(&dir.newest().unwrap()), "backup 3");
    }

    #[test]
    fn a_backup_directory_keeps_the_newest_and_never_lists_a_partial_backup() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = BackupDir::at(&tmp.path().join("backups")).unwrap();
        keeps_the_newest_and_never_lists_a_failed_backup(&dir);
        assert_eq!(std::fs::read_dir(tmp.path().join("backups")).unwrap().count(), 3);
        // A partial file a crash left, and other files, are not backups.
        std::fs::write(tmp.path().join("backups/.dangan-20261231T000000.000Z.backup.partial"), b"x").unwrap();
        std::fs::write(tmp.path().join("backups/notes.txt"), b"x").unwrap();
        assert_eq!(dir.list().unwrap().len(), 3);
    }

    #[test]
    fn a_backup_bucket_keeps_the_newest_and_downloads_the_one_restored() {
        let objects = std::sync::Arc::new(object_store::memory::InMemory::new());
        let dir =
            BackupDir(Place::Bucket(Bucket::new(objects, "site-a/backups", "s3://b/site-a/backups".into()).unwrap()));
        keeps_the_newest_and_never_lists_a_failed_backup(&dir);
        let newest = dir.newest().unwrap();
        assert_eq!(newest.location, format!("s3://b/site-a/backups/{}", newest.name));
        // The downloaded copy goes with its handle.
        let local = dir.local(&newest).unwrap();
        let path = local.path.clone();
        assert!(path.exists());
        drop(local);
        assert!(!path.exists());
    }
}
