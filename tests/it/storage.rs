//! What lies on disk: no readable archive content, a wrong key refused without writing, corruption detected.

use crate::common::*;
use axum::http::{Method, StatusCode};
use dangan::crypto::{MasterKey, Suite};
use dangan::service::{Archive, Config, demo};
use dangan::store::{Batch, BlobStore, Kv, KvBlobStore, SledKv, Table};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

fn all_files(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() { out.extend(all_files(&p)) } else { out.push(p) }
    }
    out
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

fn snapshot(dir: &Path) -> Vec<(std::path::PathBuf, u64, std::time::SystemTime)> {
    let mut v: Vec<_> = all_files(dir)
        .into_iter()
        .map(|p| {
            let m = std::fs::metadata(&p).unwrap();
            (p, m.len(), m.modified().unwrap())
        })
        .collect();
    v.sort();
    v
}

/// Drops an archive and waits until sled has released its lock.
fn close(archive: Archive, dir: &Path) {
    archive.indexing().wait_queue_empty(Duration::from_secs(120)).unwrap();
    assert!(archive.close(Duration::from_secs(120)), "the archive closes");
    // The store opens again once the archive is closed.
    drop(SledKv::open(&dir.join("store")).expect("store still locked"));
}

#[test]
fn demo_store_holds_no_readable_phrase_and_refuses_a_wrong_key() {
    let dir = tempfile::tempdir().unwrap();
    let key = MasterKey::generate().unwrap();
    let archive = dangan::bootstrap::open(dir.path(), &key, worker_extractor(), Config::default()).unwrap();
    let summary = demo::load(&archive, demo::DemoOptions { persons_per_department: 2 }).unwrap();
    assert_eq!(summary.persons, 24, "at least three per department: the leaders hold dossiers too");
    assert!(archive.indexing().wait_queue_empty(Duration::from_secs(120)).unwrap());
    let names: Vec<String> = summary.accounts.iter().map(|a| a.username.clone()).collect();
    for want in
        ["hr", "admin", "finance", "legal", "it", "secadmin", "auditor", "leader1", "leader2", "head-ops", "head-sales"]
    {
        assert!(names.iter().any(|n| n == want), "demo account {want} missing");
    }
    let hr = archive.accounts().user_by_name("hr").unwrap().unwrap();
    assert!(hr.person_id.is_some(), "the hr account is linked to its holder's person record");
    close(archive, dir.path());

    let mut phrases: Vec<String> = demo::fixture_manifest().into_iter().flat_map(|f| f.phrases).collect();
    phrases.extend(["张伟明".to_string(), "干部履历表".to_string(), "demo-pass".to_string()]);
    assert!(phrases.len() >= 8);
    let files = all_files(&dir.path().join("store"));
    assert!(!files.is_empty());
    for f in &files {
        let bytes = std::fs::read(f).unwrap();
        for phrase in &phrases {
            assert!(!contains(&bytes, phrase.as_bytes()), "{phrase} readable in {}", f.display());
        }
    }

    // A wrong key is refused, and nothing is written.
    let before = snapshot(&dir.path().join("store"));
    let wrong = MasterKey::generate().unwrap();
    let err = dangan::bootstrap::open(dir.path(), &wrong, worker_extractor(), Config::default()).unwrap_err();
    assert!(err.to_string().contains("storage") || format!("{err:?}").contains("WrongKey"), "{err:?}");
    std::thread::sleep(Duration::from_millis(200));
    let after = snapshot(&dir.path().join("store"));
    assert_eq!(before, after, "a wrong key must not touch the store");

    // The right key still opens it, and every blob verifies.
    let archive = dangan::bootstrap::open(dir.path(), &key, worker_extractor(), Config::default()).unwrap();
    let report = archive.indexing().verify().unwrap();
    assert!(report.ok(), "{report:?}");
    assert!(report.blobs > 50);
}

#[tokio::test]
async fn corruption_is_reported_by_the_api_and_verify() {
    let dir = tempfile::tempdir().unwrap();
    let key = MasterKey::generate().unwrap();
    let open =
        |key: &MasterKey| dangan::bootstrap::open(dir.path(), key, worker_extractor(), Config::default()).unwrap();
    let app = TestApp::over(open(&key));
    app.add_account("hr", vec![dangan::model::Role::Hr], None, None, None).await;
    app.link_holder("hr", "人事专员甲", "65432119700101771", "hr").await;
    let hr = app.login("hr").await;
    let p = app.create_person(&hr, person_body("吴桐", &id_number("37020219880808001"), "legal")).await;
    let m = app
        .upload(
            &hr,
            p["id"].as_str().unwrap(),
            serde_json::json!({"category": "10", "title": "保密协议"}),
            "nda.txt",
            "保密协议 正文".as_bytes(),
        )
        .await
        .json();
    let mid = m["id"].as_str().unwrap().to_string();
    let TestApp { router, archive, .. } = app;
    drop(router);
    let d = dir.path().to_path_buf();
    tokio::task::spawn_blocking(move || close(archive, &d)).await.unwrap();

    {
        let kv = SledKv::open(&dir.path().join("store")).unwrap();
        let (k, mut v) = kv.scan(Table::BlobChunks, b"", None, 10).unwrap().into_iter().next().unwrap();
        let n = v.len() - 5;
        v[n] ^= 0x20;
        let mut b = Batch::default();
        b.put(Table::BlobChunks, k, v);
        kv.commit(b).unwrap();
        kv.flush().unwrap();
    }

    let archive = open(&key);
    let app = TestApp::over(archive);
    let hr = app.login("hr").await;
    let a = app.send(Method::GET, &format!("/api/v1/materials/{mid}/content"), Some(&hr), None).await;
    assert_eq!(a.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(a.header("content-type"), "application/problem+json");
    assert_eq!(a.json()["type"], "urn:dangan:problem:corrupt");
    assert!(!String::from_utf8_lossy(&a.body).contains("保密"));
    let archive = app.archive.clone();
    let report = tokio::task::spawn_blocking(move || archive.indexing().verify().unwrap()).await.unwrap();
    assert!(!report.ok());
    assert_eq!(report.corrupt.len(), 1);
}

#[tokio::test]
async fn a_crash_between_chunks_and_metadata_leaves_an_orphan_that_verify_reports_and_repair_removes() {
    let dir = tempfile::tempdir().unwrap();
    let key = MasterKey::generate().unwrap();
    let open =
        |key: &MasterKey| dangan::bootstrap::open(dir.path(), key, worker_extractor(), Config::default()).unwrap();
    let app = TestApp::over(open(&key));
    app.add_account("hr", vec![dangan::model::Role::Hr], None, None, None).await;
    app.link_holder("hr", "人事专员乙", "65432119700101771", "hr").await;
    let hr = app.login("hr").await;
    let p = app.create_person(&hr, person_body("郑直", &id_number("37020219880808001"), "legal")).await;
    let body = "任职决定 正文".as_bytes();
    let m = app
        .upload(
            &hr,
            p["id"].as_str().unwrap(),
            serde_json::json!({"category": "9-2", "title": "任职决定"}),
            "d.txt",
            body,
        )
        .await
        .json();
    let mid = m["id"].as_str().unwrap().to_string();
    let TestApp { router, archive, .. } = app;
    drop(router);
    let d = dir.path().to_path_buf();
    tokio::task::spawn_blocking(move || close(archive, &d)).await.unwrap();

    // The crash: an upload's chunks reached the blob store (and disk), its metadata commit never happened.
    let orphan = dangan::store::BlobAddress::from_slice(&[0x5A; 32]).unwrap();
    let crash = || {
        let kv: std::sync::Arc<dyn Kv> = std::sync::Arc::new(SledKv::open(&dir.path().join("store")).unwrap());
        let blobs = dangan::store::KvBlobStore::new(kv);
        let chunks = (0..2).map(|n| (dangan::store::ChunkKey { address: orphan, n }, vec![n as u8; 64])).collect();
        blobs.put(chunks).unwrap();
        blobs.flush().unwrap();
    };
    crash();

    let archive = open(&key);
    let a = archive.clone();
    let report = tokio::task::spawn_blocking(move || a.indexing().verify().unwrap()).await.unwrap();
    assert!(report.ok(), "an orphan is no failure: {report:?}");
    assert_eq!(report.orphans, [orphan.to_string()]);
    assert!(report.missing.is_empty() && report.corrupt.is_empty(), "no record points at missing chunks");
    assert_eq!(report.blobs, 1);
    let a = archive.clone();
    assert_eq!(tokio::task::spawn_blocking(move || a.indexing().collect_orphans().unwrap()).await.unwrap(), 1);
    let a = archive.clone();
    let report = tokio::task::spawn_blocking(move || a.indexing().verify().unwrap()).await.unwrap();
    assert!(report.ok() && report.orphans.is_empty(), "{report:?}");
    // The material's own chunks are untouched.
    let app = TestApp::over(archive);
    let hr = app.login("hr").await;
    let c = app.send(Method::GET, &format!("/api/v1/materials/{mid}/content"), Some(&hr), None).await;
    assert_eq!(c.status, StatusCode::OK);
    assert_eq!(c.body, body);
    let TestApp { router, archive, .. } = app;
    drop(router);
    let d = dir.path().to_path_buf();
    tokio::task::spawn_blocking(move || close(archive, &d)).await.unwrap();

    // The same through the command line: `verify` reports, `verify --repair` removes.
    crash();
    let (_key_dir, key_file) = key_file_of(&key);
    let verify = |repair: bool| {
        let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_dangan"));
        c.args(["verify", "--data", dir.path().to_str().unwrap(), "--key-file", key_file.to_str().unwrap()]);
        if repair {
            c.arg("--repair");
        }
        let out = c.env("DANGAN_LOG", "warn").output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap()
    };
    let report = verify(false);
    assert_eq!(report["orphans"], serde_json::json!([orphan.to_string()]), "{report}");
    assert_eq!(report["collected"], 0);
    let report = verify(true);
    assert_eq!(report["collected"], 1, "{report}");
    let report = verify(false);
    assert_eq!(report["orphans"], serde_json::json!([]), "{report}");
    assert_eq!(report["ok"], true);

    let kv = SledKv::open(&dir.path().join("store")).unwrap();
    let chunks = kv.scan_keys(Table::BlobChunks, b"", None, 100).unwrap();
    assert_eq!(chunks.len(), 1, "only the material's one chunk is left");
    assert!(!chunks[0].starts_with(orphan.as_bytes()));
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let target = to.join(e.file_name());
        if e.path().is_dir() {
            copy_dir(&e.path(), &target)
        } else {
            std::fs::copy(e.path(), &target).map(|_| ()).unwrap()
        }
    }
}

/// `key` in a key file of its own folder, outside any data directory (as the command line asks): the folder and
/// the file's path.
fn key_file_of(key: &MasterKey) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("master.key");
    write_private_file(&file, dangan::crypto::encode_hex(key.expose()).as_bytes());
    (dir, file)
}

/// Opens an installation; sled may hold its lock for a moment after another handle on the store is dropped.
fn open_retrying(dir: &Path, key: &MasterKey) -> Archive {
    let mut tries = 0;
    loop {
        match dangan::bootstrap::open(dir, key, worker_extractor(), Config::default()) {
            Ok(a) => return a,
            Err(e) if tries < 100 => {
                tries += 1;
                eprintln!("retrying open: {e}");
                std::thread::sleep(Duration::from_millis(100));
            }
            Err(e) => panic!("cannot open {}: {e:?}", dir.display()),
        }
    }
}

/// Verifies the audit chain of a data directory.
fn verify_audit(dir: &Path, key: &MasterKey) -> dangan::service::audit::AuditVerify {
    let archive = open_retrying(dir, key);
    let r = archive.audit_trail().verify().unwrap();
    close(archive, dir);
    r
}

#[test]
fn removing_altering_or_swapping_an_audit_entry_is_detected_and_named() {
    use dangan::service::audit::AuditEntry;
    let dir = tempfile::tempdir().unwrap();
    let key = MasterKey::generate().unwrap();
    let archive = dangan::bootstrap::open(dir.path(), &key, worker_extractor(), Config::default()).unwrap();
    demo::load(&archive, demo::DemoOptions { persons_per_department: 4 }).unwrap();
    close(archive, dir.path());
    let good = verify_audit(dir.path(), &key);
    assert!(good.ok, "{good:?}");
    assert!(good.entries > 50);
    assert!(good.checkpoints >= 1, "a checkpoint every 256 entries");

    let tamper = |name: &str, f: &dyn Fn(&SledKv, &dangan::store::Store)| {
        let copy =
            dir.path().parent().unwrap().join(format!("{}-{name}", dir.path().file_name().unwrap().to_string_lossy()));
        copy_dir(dir.path(), &copy);
        {
            let kv = std::sync::Arc::new(SledKv::open(&copy.join("store")).unwrap());
            let store = dangan::store::Store::open(kv.clone(), &key).unwrap();
            f(&kv, &store);
            kv.flush().unwrap();
        }
        let r = verify_audit(&copy, &key);
        std::fs::remove_dir_all(&copy).unwrap();
        r
    };
    // The trail is stored as sealed segments (one per group commit) keyed by their first sequence number.
    use dangan::service::audit::Segment;
    let first_of = |k: &[u8]| u64::from_be_bytes(k.try_into().unwrap());
    // The key of the segment holding entry `n`.
    let segment_of = |kv: &SledKv, n: u64| -> Vec<u8> {
        kv.scan(Table::Audit, b"", None, usize::MAX)
            .unwrap()
            .into_iter()
            .map(|(k, _)| k)
            .rfind(|k| k.len() == 8 && first_of(k) <= n)
            .unwrap()
    };
    let rewrite = |store: &dangan::store::Store, key: &[u8], f: &dyn Fn(&mut Vec<AuditEntry>)| {
        let mut seg = Segment::read(store, key).unwrap().unwrap();
        f(&mut seg.entries);
        let mut ws = store.write_set();
        seg.write(&mut ws, key.to_vec()).unwrap();
        store.commit(ws).unwrap();
    };
    let first_in = |n: u64| {
        let kv = SledKv::open(&dir.path().join("store")).unwrap();
        first_of(&segment_of(&kv, n))
    };
    let (seg20, seg31) = (first_in(20), first_in(31));

    // Removed: the segment holding entry 20 is gone; the gap is named.
    let r = tamper("removed", &|kv, _| {
        let mut b = Batch::default();
        b.delete(Table::Audit, segment_of(kv, 20));
        kv.commit(b).unwrap();
    });
    assert_eq!((r.ok, r.first_bad), (false, Some(seg20)), "{r:?}");
    assert!(r.problem.unwrap().contains("missing"));

    // Altered by someone holding the key (resealed): the hash chain catches it.
    let r = tamper("altered", &|kv, store| {
        rewrite(store, &segment_of(kv, 30), &|entries| {
            entries.iter_mut().filter(|e| e.seq == 30).for_each(|e| e.event.actor = "nobody".into())
        });
    });
    assert_eq!((r.ok, r.first_bad), (false, Some(30)), "{r:?}");

    // Altered without the key: the segment no longer opens.
    let r = tamper("flipped", &|kv, _| {
        let key = segment_of(kv, 31);
        let mut v = kv.get(Table::Audit, &key).unwrap().unwrap();
        let n = v.len() - 3;
        v[n] ^= 1;
        let mut b = Batch::default();
        b.put(Table::Audit, key, v);
        kv.commit(b).unwrap();
    });
    assert_eq!((r.ok, r.first_bad), (false, Some(seg31)), "{r:?}");

    // Swapped, with the key (resealed): the sequence numbers give it away.
    let r = tamper("swapped", &|kv, store| {
        let (ka, kb) = (segment_of(kv, 40), segment_of(kv, 41));
        let mut a = Segment::read(store, &ka).unwrap().unwrap();
        let mut b = Segment::read(store, &kb).unwrap().unwrap();
        let ia = a.entries.iter().position(|e| e.seq == 40).unwrap();
        let ib = b.entries.iter().position(|e| e.seq == 41).unwrap();
        if ka == kb {
            a.entries.swap(ia, ib);
        } else {
            std::mem::swap(&mut a.entries[ia], &mut b.entries[ib]);
        }
        let mut ws = store.write_set();
        if ka != kb {
            b.write(&mut ws, kb.clone()).unwrap();
        }
        a.write(&mut ws, ka).unwrap();
        store.commit(ws).unwrap();
    });
    assert_eq!((r.ok, r.first_bad), (false, Some(40)), "{r:?}");

    // The tail cut off: the head gives it away.
    let r = tamper("truncated", &|kv, _| {
        let last =
            kv.scan(Table::Audit, b"", None, 100_000).unwrap().into_iter().rfind(|(k, _)| k.len() == 8).unwrap().0;
        let mut b = Batch::default();
        b.delete(Table::Audit, last);
        kv.commit(b).unwrap();
    });
    assert!(!r.ok, "{r:?}");

    // A crash between a group's segment and its head (the head written last): the segment past the head chains
    // on and is adopted, nothing is reported missing.
    let r = tamper("head-behind", &|kv, store| {
        let key =
            kv.scan(Table::Audit, b"", None, 100_000).unwrap().into_iter().rfind(|(k, _)| k.len() == 8).unwrap().0;
        let last = Segment::read(store, &key).unwrap().unwrap();
        let first = &last.entries[0];
        #[derive(serde::Serialize)]
        struct Head {
            seq: u64,
            hash: String,
        }
        let mut ws = store.write_set();
        ws.put(Table::Audit, b"head".to_vec(), &Head { seq: first.seq - 1, hash: first.prev.clone() }).unwrap();
        store.commit(ws).unwrap();
    });
    assert!(r.ok && r.entries >= good.entries, "{r:?}");

    // And the original still verifies.
    assert!(verify_audit(dir.path(), &key).ok);
}

#[test]
fn backup_restore_verify_round_trips_the_demo_store_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let key = MasterKey::generate().unwrap();
    let archive = dangan::bootstrap::open(dir.path(), &key, worker_extractor(), Config::default()).unwrap();
    demo::load(&archive, demo::DemoOptions { persons_per_department: 2 }).unwrap();
    archive.indexing().wait_queue_empty(Duration::from_secs(120)).unwrap();
    let mut backup = Vec::new();
    let stats = archive.operations().backup_to(&mut backup).unwrap();
    close(archive, dir.path());

    let restored = tempfile::tempdir().unwrap();
    {
        let kv: Arc<dyn Kv> = Arc::new(SledKv::open(&restored.path().join("store")).unwrap());
        let back = dangan::store::backup::import(&*kv, &KvBlobStore::new(kv.clone()), &backup[..]).unwrap();
        assert_eq!((back.records, back.hash.clone()), (stats.records, stats.hash.clone()));
        kv.flush().unwrap();
    }
    // Table by table, key by key, the restored store holds exactly the original's (sealed) bytes, but for the
    // record of where the chunks were (a restore records its own blob store when it first opens).
    {
        let a = SledKv::open(&dir.path().join("store")).unwrap();
        let b = SledKv::open(&restored.path().join("store")).unwrap();
        assert!(a.get(Table::Meta, b"blob_store").unwrap().is_some());
        assert!(b.get(Table::Meta, b"blob_store").unwrap().is_none());
        for t in Table::ALL {
            let pairs = |kv: &SledKv| {
                let all = kv.scan(t, b"", None, usize::MAX).unwrap();
                all.into_iter().filter(|(k, _)| !(t == Table::Meta && k == b"blob_store")).collect::<Vec<_>>()
            };
            let (pa, pb) = (pairs(&a), pairs(&b));
            assert_eq!(pa.len(), pb.len(), "{t:?}");
            assert!(pa == pb, "{t:?} differs");
            if matches!(t, Table::Materials | Table::Requests | Table::Audit | Table::MaterialVersions | Table::Users) {
                assert!(!pa.is_empty(), "the demo has {t:?}");
            }
        }
    }
    // And it opens with the same key, verifies, and its audit chain holds; the backup's own entry is in it.
    let archive = open_retrying(restored.path(), &key);
    let v = archive.indexing().verify().unwrap();
    assert!(v.ok() && v.materials > 0, "{v:?}");
    assert!(archive.audit_trail().verify().unwrap().ok);
    assert_eq!(newest_entry(&archive), ("system".to_string(), "backup".to_string()));
    close(archive, restored.path());
}

/// Disaster recovery (issue 16, item 4) through the command line: backups shipped to a directory with
/// retention, a drill that restores the newest and reports its RPO and RTO, a damaged newest backup failing the
/// drill, a restore from the directory, and the server's scheduled backup.
#[test]
fn backups_go_to_a_directory_with_retention_and_the_drill_restores_the_newest_and_reports_rpo_and_rto() {
    let dir = tempfile::tempdir().unwrap();
    let key = MasterKey::generate().unwrap();
    let archive = dangan::bootstrap::open(dir.path(), &key, worker_extractor(), Config::default()).unwrap();
    demo::load(&archive, demo::DemoOptions { persons_per_department: 1 }).unwrap();
    let materials = archive.indexing().verify().unwrap().materials;
    close(archive, dir.path());
    let (outside, key_file) = key_file_of(&key);
    let backups = outside.path().join("backups");
    let dangan = |args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_dangan"))
            .args(args)
            .args(["--key-file", key_file.to_str().unwrap()])
            .env("DANGAN_LOG", "warn")
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).to_string(),
            String::from_utf8_lossy(&out.stderr).to_string(),
        )
    };
    let data = dir.path().to_str().unwrap();
    for _ in 0..3 {
        let (code, out, err) = dangan(&["backup", "--data", data, "--to", backups.to_str().unwrap(), "--keep", "2"]);
        assert_eq!(code, Some(0), "{out}{err}");
    }
    let mut kept: Vec<String> =
        std::fs::read_dir(&backups).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().to_string()).collect();
    kept.sort();
    assert_eq!(kept.len(), 2, "{kept:?}");
    assert!(kept.iter().all(|n| n.starts_with("dangan-") && n.ends_with(".backup")), "{kept:?}");

    // The drill: the newest restored elsewhere, opened, verified; the installation untouched.
    let before = snapshot(dir.path());
    let (code, out, err) = dangan(&["restore-drill", "--from", backups.to_str().unwrap(), "--json"]);
    assert_eq!(code, Some(0), "{out}{err}");
    let r: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(r["ok"], true, "{r}");
    assert!(r["backup"].as_str().unwrap().ends_with(kept.last().unwrap()), "the newest: {r}");
    assert!(r["rpo_seconds"].as_u64().unwrap() < 600, "{r}");
    assert!(r["rto_seconds"].as_f64().unwrap() > 0.0 && r["records"].as_u64().unwrap() > 100, "{r}");
    assert_eq!(r["materials"].as_u64().unwrap() as usize, materials, "{r}");
    assert!(r["audit_entries"].as_u64().unwrap() > 0, "{r}");
    assert_eq!(snapshot(dir.path()), before, "the drill does not touch the installation");
    let (code, out, _) = dangan(&["restore-drill", "--from", backups.to_str().unwrap()]);
    assert_eq!(code, Some(0));
    assert!(out.contains("RPO") && out.contains("RTO") && out.contains("verify ok"), "{out}");

    // A damaged newest backup fails the drill (refused whole), and says so.
    let newest = backups.join(kept.last().unwrap());
    let mut bytes = std::fs::read(&newest).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x55;
    std::fs::write(&newest, &bytes).unwrap();
    let (code, out, err) = dangan(&["restore-drill", "--from", backups.to_str().unwrap()]);
    assert_ne!(code, Some(0), "{out}{err}");
    assert!(err.contains("restore refused"), "{err}");
    std::fs::remove_file(&newest).unwrap();

    // A restore from the directory takes its newest (now the older one).
    let restored = tempfile::tempdir().unwrap();
    let target = restored.path().join("data");
    let (code, out, err) =
        dangan(&["restore", "--from", backups.to_str().unwrap(), "--data", target.to_str().unwrap()]);
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(out.contains("verify: ok"), "{out}");

    // The server takes a backup at start when none is recent, then on its schedule.
    let scheduled = outside.path().join("scheduled");
    let mut server = std::process::Command::new(env!("CARGO_BIN_EXE_dangan"))
        .args(["serve", "--data", data, "--listen", "127.0.0.1:0", "--key-file", key_file.to_str().unwrap()])
        .args(["--backup-to", scheduled.to_str().unwrap(), "--backup-every-hours", "24"])
        .env("DANGAN_LOG", "warn")
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    let taken = loop {
        let found: Vec<_> = std::fs::read_dir(&scheduled)
            .map(|d| {
                d.filter_map(|e| e.ok()).filter(|e| e.file_name().to_string_lossy().ends_with(".backup")).collect()
            })
            .unwrap_or_default();
        if !found.is_empty() || std::time::Instant::now() > deadline {
            break found.len();
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    let _ = server.kill();
    let _ = server.wait();
    assert_eq!(taken, 1, "the scheduled backup at start");
}

/// A write that fails inside the embedded store (here: sled's folder of large values gone, as a failing disk
/// would do) stops the store instead of leaving it to hang: health and metrics say so, every change and every
/// (audited) read is refused with 503 and Retry-After naming the remedy, and closing the archive returns.
#[tokio::test]
async fn a_store_that_stopped_after_a_failed_write_refuses_changes_and_reads_with_503_and_closes() {
    let dir = tempfile::tempdir().unwrap();
    let key = MasterKey::generate().unwrap();
    let app = demo_in(dir.path(), &key).await;
    let hr = app.login("hr").await;
    let list = app.send(Method::GET, "/api/v1/persons?department=research", Some(&hr), None).await.json();
    let person = list["items"][0]["id"].as_str().unwrap().to_string();
    let health = app.send(Method::GET, "/api/v1/health", None, None).await.json();
    assert_eq!(health["status"], "ok");

    std::fs::remove_dir_all(dir.path().join("store").join("blobs")).unwrap();
    let meta = serde_json::json!({"category": "3", "title": "大文件", "formed_on": "2020"});
    let big = "考核登记".repeat(100_000);
    let failed = app.upload(&hr, &person, meta.clone(), "big.txt", big.as_bytes()).await;
    // The upload whose write failed is refused, and so its refusal, which the stopped store cannot record, is 503.
    assert_eq!(failed.status, StatusCode::SERVICE_UNAVAILABLE, "{}", String::from_utf8_lossy(&failed.body));

    let health = app.send(Method::GET, "/api/v1/health", None, None).await.json();
    assert_eq!(health["status"], "stopped", "{health}");
    let metrics = app.send(Method::GET, "/metrics", None, None).await;
    assert!(
        String::from_utf8_lossy(&metrics.body).contains("dangan_store_stopped 1"),
        "{}",
        String::from_utf8_lossy(&metrics.body)
    );
    let again = app.upload(&hr, &person, meta, "small.txt", "小文件".as_bytes()).await;
    assert_eq!(again.status, StatusCode::SERVICE_UNAVAILABLE, "{}", String::from_utf8_lossy(&again.body));
    assert_eq!(again.json()["type"], "urn:dangan:problem:unavailable");
    assert!(again.json()["detail"].as_str().unwrap().contains("restart"), "{}", String::from_utf8_lossy(&again.body));
    assert_eq!(again.headers.get("retry-after").and_then(|v| v.to_str().ok()), Some("300"));
    // Nor is anything read: its audit entry could not be written, and no read goes unrecorded.
    let read = app.send(Method::GET, &format!("/api/v1/persons/{person}"), Some(&hr), None).await;
    assert_eq!(read.status, StatusCode::SERVICE_UNAVAILABLE, "{}", String::from_utf8_lossy(&read.body));
    let search = app.send(Method::GET, "/api/v1/search?q=%E8%80%83%E6%A0%B8", Some(&hr), None).await;
    assert_eq!(search.status, StatusCode::SERVICE_UNAVAILABLE);

    let TestApp { router, archive, .. } = app;
    drop(router);
    let closed = tokio::task::spawn_blocking(move || archive.close(Duration::from_secs(60))).await.unwrap();
    assert!(closed, "the archive closes");
}

/// The newest entry of an installation's trail: actor and action.
fn newest_entry(archive: &Archive) -> (String, String) {
    let auditor =
        archive.accounts().principal_for(archive.accounts().user_by_name("auditor").unwrap().unwrap(), "test").unwrap();
    let q = dangan::service::audit::AuditQuery { limit: Some(1), ..Default::default() };
    let (entries, _) = archive.audit_trail().query(&auditor, &q).unwrap();
    (entries[0].event.actor.clone(), entries[0].event.action.clone())
}

#[test]
fn a_backup_through_the_api_holds_its_own_audit_entry() {
    let dir = tempfile::tempdir().unwrap();
    let key = MasterKey::generate().unwrap();
    let archive = dangan::bootstrap::open(dir.path(), &key, worker_extractor(), Config::default()).unwrap();
    demo::load(&archive, demo::DemoOptions { persons_per_department: 1 }).unwrap();
    let it =
        archive.accounts().principal_for(archive.accounts().user_by_name("it").unwrap().unwrap(), "10.0.0.9").unwrap();
    let (mut file, _) = archive.operations().backup_as(&it).unwrap();
    let mut backup = Vec::new();
    std::io::Read::read_to_end(&mut file, &mut backup).unwrap();
    // The live trail ends with what was written (after the snapshot); the backup itself with its own entry.
    assert_eq!(newest_entry(&archive), ("it".to_string(), "backup.written".to_string()));
    close(archive, dir.path());
    let restored = tempfile::tempdir().unwrap();
    {
        let kv: Arc<dyn Kv> = Arc::new(SledKv::open(&restored.path().join("store")).unwrap());
        dangan::store::backup::import(&*kv, &KvBlobStore::new(kv.clone()), &backup[..]).unwrap();
        kv.flush().unwrap();
    }
    let archive = open_retrying(restored.path(), &key);
    assert!(archive.audit_trail().verify().unwrap().ok);
    assert_eq!(newest_entry(&archive), ("it".to_string(), "backup".to_string()));
    close(archive, restored.path());
}

/// The witness file beside (not inside) a data directory, with no copies to the system log.
fn witness_at(path: &Path) -> dangan::service::witness::WitnessConfig {
    dangan::service::witness::WitnessConfig { path: path.to_path_buf(), syslog: None }
}

/// `n` more entries in the trail: the security administrator reads the policy `n` times.
fn add_entries(archive: &Archive, n: usize) {
    let p = archive
        .accounts()
        .principal_for(archive.accounts().user_by_name("secadmin").unwrap().unwrap(), "10.0.0.7")
        .unwrap();
    for _ in 0..n {
        archive.policies().versions(&p).unwrap();
    }
}

fn raw_head(data: &Path) -> Vec<u8> {
    let kv = SledKv::open(&data.join("store")).unwrap();
    kv.get(Table::Audit, b"head").unwrap().unwrap()
}

#[tokio::test]
async fn a_rolled_back_trail_is_named_by_its_witness_and_held_until_the_security_administrator_acknowledges() {
    use dangan::service::witness::{ConflictKind, WitnessKind, read_witness};
    let root = tempfile::tempdir().unwrap();
    let data = root.path().join("data");
    let witness = root.path().join("audit-witness.jsonl");
    let key = MasterKey::generate().unwrap();

    // First days: accounts, a trail past its first checkpoint; the witness sees it, and the head at the stop.
    let archive = dangan::bootstrap::open(&data, &key, worker_extractor(), Config::default()).unwrap();
    let inside =
        archive.audit_trail().attach_witness(&witness_at(&data.join("audit-witness.jsonl")), &data).unwrap_err();
    assert!(inside.to_string().contains("inside the data directory"), "{inside}");
    assert_eq!(archive.audit_trail().attach_witness(&witness_at(&witness), &data).unwrap(), None);
    for (name, role) in [("secadmin", dangan::model::Role::Secadmin), ("auditor", dangan::model::Role::Auditor)] {
        local_account(&archive, name, vec![role], None, None, None);
    }
    add_entries(&archive, 300);
    close(archive, &data);
    // The attacker keeps the sealed head of that day (every backup holds one).
    let old_head = raw_head(&data);
    let old = verify_audit(&data, &key);
    assert!(old.ok && (256..512).contains(&old.entries), "{old:?}");

    // Later: the trail goes on past the next checkpoint.
    let archive = open_retrying(&data, &key);
    assert_eq!(archive.audit_trail().attach_witness(&witness_at(&witness), &data).unwrap(), None);
    add_entries(&archive, 300);
    close(archive, &data);
    let lines: Vec<_> = read_witness(&witness).unwrap().into_iter().map(|(_, l)| l.unwrap()).collect();
    let kinds: Vec<(WitnessKind, u64)> = lines.iter().map(|l| (l.kind, l.seq)).collect();
    assert!(kinds.contains(&(WitnessKind::Checkpoint, 256)) && kinds.contains(&(WitnessKind::Checkpoint, 512)));
    assert_eq!(kinds.iter().filter(|(k, _)| *k == WitnessKind::Start).count(), 2, "{kinds:?}");
    let newest = lines.last().unwrap().clone();
    assert_eq!(newest.kind, WitnessKind::Stop, "{kinds:?}");
    assert!(newest.seq > 512);

    // The rollback: the later segments and checkpoints deleted, the old head written back.
    {
        let kv = SledKv::open(&data.join("store")).unwrap();
        let mut b = Batch::default();
        let seq = |k: &[u8]| u64::from_be_bytes(k.try_into().unwrap());
        for (k, _) in kv.scan(Table::Audit, b"", None, usize::MAX).unwrap() {
            if k.len() == 8 && seq(&k) > old.entries {
                b.delete(Table::Audit, k);
            }
        }
        for (k, _) in kv.scan(Table::AuditCheckpoints, b"", None, usize::MAX).unwrap() {
            if seq(&k) > old.entries {
                b.delete(Table::AuditCheckpoints, k);
            }
        }
        b.put(Table::Audit, b"head".to_vec(), old_head);
        kv.commit(b).unwrap();
        kv.flush().unwrap();
    }
    // On its own the trail still verifies: that is the attack.
    let alone = verify_audit(&data, &key);
    assert!(alone.ok && alone.entries == old.entries, "{alone:?}");

    // Against its witness it does not: the witnessed point it ends before is named.
    let archive = open_retrying(&data, &key);
    let r = archive.audit_trail().verify_with_witness(&read_witness(&witness).unwrap()).unwrap();
    assert!(!r.ok, "{r:?}");
    assert_eq!(r.first_bad, Some(old.entries + 1));
    let c = r.witness.as_ref().unwrap().conflict.clone().unwrap();
    assert_eq!(c.kind, ConflictKind::Behind);
    let named = c.witnessed.clone().unwrap();
    assert_eq!((named.seq, &named.hash, named.kind), (newest.seq, &newest.hash, WitnessKind::Stop));
    let problem = r.problem.unwrap();
    assert!(problem.contains(&format!("entry {}", newest.seq)) && problem.contains(&newest.hash), "{problem}");

    // At start the server holds: sign-in and the acknowledgement only.
    let held =
        archive.audit_trail().attach_witness(&witness_at(&witness), &data).unwrap().expect("the store is behind");
    assert_eq!(held, c);
    let app = TestApp::over(archive);
    let health = app.send(Method::GET, "/api/v1/health", None, None).await;
    assert_eq!((health.status, health.json()["status"].as_str()), (StatusCode::OK, Some("held")));
    let auditor = app.login("auditor").await;
    for path in ["/api/v1/audit", "/api/v1/audit/verify", "/api/v1/me", "/api/v1/persons"] {
        let a = app.send(Method::GET, path, Some(&auditor), None).await;
        assert_eq!(a.status, StatusCode::SERVICE_UNAVAILABLE, "{path}");
        assert_eq!(a.header("content-type"), "application/problem+json");
        let v = a.json();
        assert_eq!(v["type"], "urn:dangan:problem:audit-rollback");
        let detail = v["detail"].as_str().unwrap();
        assert!(detail.contains(&format!("entry {}", newest.seq)) && detail.contains(&newest.hash), "{detail}");
    }
    let page = app.send(Method::GET, "/persons", None, None).await;
    assert_eq!(page.status, StatusCode::SERVICE_UNAVAILABLE);
    let html = String::from_utf8_lossy(&page.body);
    assert!(html.contains("审计日志落后于见证记录") && html.contains(&newest.hash), "{html}");
    let ack = |token: String, reason: &'static str| {
        let app = &app;
        async move {
            app.send(
                Method::POST,
                "/api/v1/audit/acknowledge-rollback",
                Some(&token),
                Some(serde_json::json!({"reason": reason})),
            )
            .await
        }
    };
    assert_eq!(ack(auditor.clone(), "not mine to say").await.status, StatusCode::FORBIDDEN);
    let secadmin = app.login("secadmin").await;
    assert_eq!(ack(secadmin.clone(), " ").await.status, StatusCode::UNPROCESSABLE_ENTITY);
    let done = ack(secadmin.clone(), "restored after the disk failure; checked with IT").await;
    assert_eq!(done.status, StatusCode::OK, "{}", String::from_utf8_lossy(&done.body));
    let first = old.entries + 1;
    assert_eq!(done.json()["entry"]["seq"], first);
    assert_eq!(ack(secadmin.clone(), "again").await.status, StatusCode::CONFLICT);

    // The archive serves again; the acknowledgement is the first entry of the resumed trail, naming the
    // witnessed point; the sign-ins and the refusal of the held time follow it.
    let a = app.send(Method::GET, "/api/v1/audit?limit=1000", Some(&auditor), None).await;
    assert_eq!(a.status, StatusCode::OK);
    let mut items = a.json()["items"].as_array().unwrap().clone();
    items.reverse();
    let resumed: Vec<&serde_json::Value> = items.iter().filter(|e| e["seq"].as_u64().unwrap() >= first).collect();
    let e = resumed[0];
    assert_eq!((e["seq"].as_u64(), e["action"].as_str()), (Some(first), Some("audit.acknowledge-rollback")));
    assert_eq!(e["actor"], "secadmin");
    let detail = e["detail"].as_str().unwrap();
    assert!(detail.contains(&newest.hash) && detail.contains("restored after the disk failure"), "{detail}");
    let held_actions: Vec<(&str, &str)> =
        resumed[1..].iter().map(|e| (e["actor"].as_str().unwrap(), e["action"].as_str().unwrap())).collect();
    for want in [("auditor", "auth.login"), ("auditor", "audit.acknowledge-rollback"), ("secadmin", "auth.login")] {
        assert!(held_actions.contains(&want), "{want:?} not in {held_actions:?}");
    }
    // The witness records the acknowledgement; verified against it, the resumed trail holds.
    let last = read_witness(&witness).unwrap().pop().unwrap().1.unwrap();
    assert_eq!((last.kind, last.seq), (WitnessKind::Acknowledge, first));
    assert_eq!(last.behind.as_ref().map(|b| b.seq), Some(newest.seq));
    let v = app.send(Method::GET, "/api/v1/audit/verify", Some(&auditor), None).await.json();
    assert_eq!(v["ok"], true, "{v}");
    assert_eq!(v["witness"]["acknowledged"][0]["behind"]["seq"], newest.seq);

    // The next start is a normal one.
    let TestApp { router, archive, .. } = app;
    drop(router);
    let d = data.clone();
    tokio::task::spawn_blocking(move || close(archive, &d)).await.unwrap();
    let archive = open_retrying(&data, &key);
    assert_eq!(archive.audit_trail().attach_witness(&witness_at(&witness), &data).unwrap(), None);
    assert!(archive.audit_trail().hold().is_none());
    close(archive, &data);
}

#[test]
fn a_witness_line_that_does_not_verify_is_reported_and_holds_the_archive() {
    use dangan::service::witness::{ConflictKind, read_witness};
    let root = tempfile::tempdir().unwrap();
    let data = root.path().join("data");
    let witness = root.path().join("audit-witness.jsonl");
    let key = MasterKey::generate().unwrap();
    let archive = dangan::bootstrap::open(&data, &key, worker_extractor(), Config::default()).unwrap();
    assert_eq!(archive.audit_trail().attach_witness(&witness_at(&witness), &data).unwrap(), None);
    local_account(&archive, "secadmin", vec![dangan::model::Role::Secadmin], None, None, None);
    add_entries(&archive, 300);
    close(archive, &data);
    let good = verify_audit(&data, &key);
    let archive = open_retrying(&data, &key);
    let r = archive.audit_trail().verify_with_witness(&read_witness(&witness).unwrap()).unwrap();
    assert!(r.ok && r.witness.as_ref().unwrap().compared >= 3, "{r:?}");

    // The checkpoint's line says another hash: its signature no longer holds, and that is named.
    let text = std::fs::read_to_string(&witness).unwrap();
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    let n = lines.iter().position(|l| l.contains("\"kind\":\"checkpoint\"")).unwrap();
    let mut line: serde_json::Value = serde_json::from_str(&lines[n]).unwrap();
    line["hash"] = serde_json::Value::String("0".repeat(64));
    lines[n] = line.to_string();
    std::fs::write(&witness, lines.join("\n") + "\n").unwrap();
    let r = archive.audit_trail().verify_with_witness(&read_witness(&witness).unwrap()).unwrap();
    assert!(!r.ok, "{r:?}");
    let w = r.witness.unwrap();
    assert_eq!(w.unverified.iter().map(|u| u.line).collect::<Vec<_>>(), vec![n + 1]);
    assert!(r.problem.unwrap().contains(&format!("witness line {}", n + 1)));
    assert_eq!(r.entries, good.entries);

    // And the server will not serve against an altered witness until it is acknowledged.
    let held = archive.audit_trail().attach_witness(&witness_at(&witness), &data).unwrap().expect("held");
    assert_eq!((held.kind, held.line), (ConflictKind::Unverified, n + 1));
    assert!(archive.audit_trail().hold().is_some());
    close(archive, &data);
}

#[tokio::test]
async fn no_file_under_the_data_directory_yields_a_word_of_the_archive() {
    no_file_yields_a_word_under(Suite::Default).await;
}

#[tokio::test]
async fn no_file_under_the_data_directory_yields_a_word_of_the_archive_on_the_gm_suite() {
    no_file_yields_a_word_under(Suite::Gm).await;
}

async fn no_file_yields_a_word_under(suite: Suite) {
    let dir = tempfile::tempdir().unwrap();
    let key = MasterKey::generate().unwrap();
    let app = demo_under(dir.path(), &key, suite).await;
    // A cadre with a distinctive name, and a text with rare phrases in both scripts.
    let hr = app.login("hr").await;
    let person = app.create_person(&hr, person_body("欧阳翠微", &id_number("11010519830303003"), "ops")).await;
    let text = "鸿鹄凌霄独特短语 与 鴻鵠淩霄繁體詞組 以及 Zyxwvut-marker";
    let m = app
        .upload(
            &hr,
            person["id"].as_str().unwrap(),
            serde_json::json!({"category": "10", "title": "备忘"}),
            "m.txt",
            text.as_bytes(),
        )
        .await;
    assert_eq!(m.status, StatusCode::CREATED);
    assert_eq!(m.json()["text_status"], "done");
    // The sealed index finds them, in either script.
    for q in ["鸿鹄凌霄独特短语", "鴻鵠淩霄繁體詞組", "欧阳翠微"] {
        assert!(app.search(&hr, q).await["total"].as_u64().unwrap() >= 1, "{q}");
    }
    let TestApp { router, archive, .. } = app;
    drop(router);
    let d = dir.path().to_path_buf();
    tokio::task::spawn_blocking(move || close(archive, &d)).await.unwrap();

    // No file anywhere under the data directory holds a word, in UTF-8, UTF-16 or GB18030.
    let words = ["欧阳翠微", "鸿鹄凌霄", "独特短语", "鴻鵠淩霄", "繁體詞組", "Zyxwvut"];
    let mut encodings: Vec<(String, Vec<u8>)> = Vec::new();
    for w in words {
        encodings.push((format!("{w} utf-8"), w.as_bytes().to_vec()));
        encodings.push((format!("{w} utf-16le"), w.encode_utf16().flat_map(|u| u.to_le_bytes()).collect()));
        encodings.push((format!("{w} utf-16be"), w.encode_utf16().flat_map(|u| u.to_be_bytes()).collect()));
        let (gb, _, _) = encoding_rs::GB18030.encode(w);
        encodings.push((format!("{w} gb18030"), gb.into_owned()));
    }
    // The index keeps words as its analysers cut them (simplified, lower-cased, in n-grams and jieba words): look
    // for those forms too — every bigram of the rare words, and the Latin marker in lower case.
    let mut forms: Vec<String> = vec!["zyxwvut".into()];
    for w in ["欧阳翠微", "鸿鹄凌霄", "鴻鵠淩霄", "繁體詞組"] {
        forms.extend(
            dangan::index::analyzer::NgramTokenizer::grams(w)
                .into_iter()
                .map(|g| g.0)
                .filter(|g| g.chars().count() == 2),
        );
    }
    forms.retain(|f| !["独特", "短语"].contains(&f.as_str()));
    for f in &forms {
        encodings.push((format!("{f} (as indexed) utf-8"), f.as_bytes().to_vec()));
    }
    let files = all_files(dir.path());
    assert!(files.iter().any(|f| f.starts_with(dir.path().join("index"))), "the index has files");
    for f in &files {
        let bytes = std::fs::read(f).unwrap();
        for (what, needle) in &encodings {
            assert!(!contains(&bytes, needle), "{what} readable in {}", f.display());
        }
    }
    // Tantivy's own reader finds no index there to read terms from.
    match tantivy::Index::open_in_dir(dir.path().join("index")) {
        Err(_) => {}
        Ok(index) => {
            let reader = index.reader().unwrap();
            for segment in reader.searcher().segment_readers() {
                for (field, _) in index.schema().fields() {
                    let Ok(inv) = segment.inverted_index(field) else { continue };
                    let mut terms = inv.terms().stream().unwrap();
                    while terms.advance() {
                        let t = String::from_utf8_lossy(terms.key()).into_owned();
                        assert!(!forms.iter().any(|w| t.contains(w.as_str())), "term {t} readable");
                    }
                }
            }
        }
    }
}

#[tokio::test]
async fn a_destroyed_materials_text_and_words_are_gone_from_the_store_and_the_index() {
    let dir = tempfile::tempdir().unwrap();
    let key = MasterKey::generate().unwrap();
    let app = demo_in(dir.path(), &key).await;
    let hr = app.login("hr").await;
    let cadre = cadre(&app, &hr, "sales").await;
    let pid = cadre["id"].as_str().unwrap().to_string();
    let words = ["销毁专用词甲", "鸩羽之约"];
    let text = format!("{} 与 {} 的记录", words[0], words[1]);
    let m = app
        .upload(&hr, &pid, serde_json::json!({"category": "10", "title": "待鉴定材料"}), "x.txt", text.as_bytes())
        .await;
    assert_eq!(m.status, StatusCode::CREATED);
    let mid = m.json()["id"].as_str().unwrap().to_string();
    let a = app.archive.clone();
    assert!(tokio::task::spawn_blocking(move || words.iter().all(|w| a.indexing().index_holds_term(w))).await.unwrap());
    // A backup taken while it is held: the register must name it.
    let it = app.login("it").await;
    assert_eq!(app.send(Method::GET, "/api/v1/backup", Some(&it), None).await.status, StatusCode::OK);

    let a = app
        .send(
            Method::POST,
            "/api/v1/requests",
            Some(&hr),
            Some(serde_json::json!({"kind": "destruction", "person_id": pid, "changes": {"material_ids": [mid], "appraisal": "鉴定会议纪要第9号"}})),
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", String::from_utf8_lossy(&a.body));
    let r = app.approve_as(a.json()["id"].as_str().unwrap(), &["leader1", "admin", "secadmin"]).await;
    assert_eq!(r["state"], "applied", "{r}");
    let register =
        r["comments"].as_array().unwrap().iter().map(|c| c["text"].as_str().unwrap()).collect::<Vec<_>>().join("\n");
    assert!(register.contains("销毁登记") && register.contains("备份"), "{register}");
    let a = app.archive.clone();
    tokio::task::spawn_blocking(move || a.indexing().wait_queue_empty(Duration::from_secs(60)).unwrap()).await.unwrap();
    // The index files no longer hold its words (the segment was rewritten without it).
    let a = app.archive.clone();
    assert!(
        tokio::task::spawn_blocking(move || words.iter().all(|w| !a.indexing().index_holds_term(w))).await.unwrap()
    );
    let TestApp { router, archive, .. } = app;
    drop(router);
    let d = dir.path().to_path_buf();
    tokio::task::spawn_blocking(move || close(archive, &d)).await.unwrap();

    // Even with the master key, no record of any table holds its text any more.
    let kv = SledKv::open(&dir.path().join("store")).unwrap();
    let store = dangan::store::Store::open(std::sync::Arc::new(kv), &key).unwrap();
    // Its chunks went after the commit: every chunk left belongs to a blob that is still described.
    assert!(store.orphan_blobs(|| ()).unwrap().is_empty(), "a shredded blob's chunks are deleted");
    for t in Table::ALL {
        for (k, v) in store.scan::<serde_json::Value>(t, b"").unwrap_or_default() {
            let s = v.to_string();
            assert!(!words.iter().any(|w| s.contains(w)), "{t:?} {k:?} holds the destroyed text");
        }
    }
}

/// The demo dataset in an installation at `dir` (which the caller keeps, to look at its files afterwards).
async fn demo_in(dir: &Path, key: &MasterKey) -> TestApp {
    demo_under(dir, key, Suite::Default).await
}

/// The demo dataset (three persons a department) in a new store under `suite`.
async fn demo_under(dir: &Path, key: &MasterKey, suite: Suite) -> TestApp {
    let config = Config { suite: Some(suite), ..Config::default() };
    let archive = dangan::bootstrap::open(dir, key, worker_extractor(), config).unwrap();
    assert_eq!(archive.suite(), suite);
    let a = archive.clone();
    tokio::task::spawn_blocking(move || {
        demo::load(&a, demo::DemoOptions { persons_per_department: 3 }).unwrap();
        a.indexing().wait_queue_empty(Duration::from_secs(120)).unwrap();
    })
    .await
    .unwrap();
    TestApp::over(archive)
}

#[tokio::test]
async fn rotating_the_master_key_reseals_everything_and_a_cut_short_rotation_finishes_on_a_rerun() {
    let dir = tempfile::tempdir().unwrap();
    let old = MasterKey::generate().unwrap();
    let app = demo_in(dir.path(), &old).await;
    let hr = app.login("hr").await;
    let before_search = app.search(&hr, "晋升").await["total"].clone();
    let signer = app.archive.packages().signing_key_hex();
    let TestApp { router, archive, .. } = app;
    drop(router);
    let d = dir.path().to_path_buf();
    tokio::task::spawn_blocking(move || close(archive, &d)).await.unwrap();

    // A rotation cut short (as by a crash), then run again with the same two keys.
    let new = MasterKey::generate().unwrap();
    let kv = || std::sync::Arc::new(SledKv::open(&dir.path().join("store")).unwrap());
    let first = dangan::store::rotate_master_key(kv(), &old, &new, Some(100)).unwrap();
    assert!(!first.complete && first.resealed == 100);
    std::thread::sleep(Duration::from_millis(200));
    let second = dangan::store::rotate_master_key(kv(), &old, &new, None).unwrap();
    assert!(second.complete && second.already >= 100 && second.rewrapped > 0, "{second:?}");
    std::thread::sleep(Duration::from_millis(200));
    let third = dangan::store::rotate_master_key(kv(), &old, &new, None).unwrap();
    assert!(third.complete && third.resealed == 0, "a finished rotation is not run twice: {third:?}");
    std::thread::sleep(Duration::from_millis(200));
    std::fs::remove_file(dir.path().join("key-check")).unwrap();

    // The old key opens nothing any more; the new one opens everything, and what must not change has not.
    assert!(dangan::bootstrap::open(dir.path(), &old, worker_extractor(), Config::default()).is_err());
    std::fs::remove_file(dir.path().join("key-check")).ok();
    let archive = dangan::bootstrap::open(dir.path(), &new, worker_extractor(), Config::default()).unwrap();
    let report = archive.indexing().verify().unwrap();
    assert!(report.ok() && report.blobs > 50, "{report:?}");
    assert!(archive.audit_trail().verify().unwrap().ok, "the trail's chain is unchanged");
    assert_eq!(archive.packages().signing_key_hex(), signer, "the installation's signing identity is kept");
    let app = TestApp::over(archive);
    let hr = app.login("hr").await;
    assert_eq!(app.search(&hr, "晋升").await["total"], before_search, "the sealed index opens as it was");
}
