//! The two indexing lanes: a text upload is searchable while scans still wait for OCR, and health reports the
//! depth of both queues. OCR is made slow and deterministic with a fake `tesseract` (a script that sleeps, then
//! prints a word) on the extraction worker's helper path.

use crate::common::*;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use dangan::extract::Extractor;
use dangan::service::Config;
use serde_json::{Value, json};
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::time::Duration;

/// The word the fake OCR reads on every scan.
const SCAN_WORD: &str = "quillscanword";

/// An extractor whose OCR takes `seconds` per scan and reads [`SCAN_WORD`]; keep the directory alive.
fn slow_ocr(seconds: u32) -> (tempfile::TempDir, Extractor) {
    let bin = tempfile::tempdir().unwrap();
    let fake = bin.path().join("tesseract");
    std::fs::write(&fake, format!("#!/bin/sh\ncat >/dev/null\nsleep {seconds}\necho {SCAN_WORD}\n")).unwrap();
    std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();
    let extractor = Extractor::with_worker(
        PathBuf::from(env!("CARGO_BIN_EXE_dangan")),
        vec!["extract-worker".into()],
        Duration::from_secs(60),
    )
    .with_ocr(Some("chi_sim".into()))
    .with_helper_path(format!("{}:/usr/bin:/bin", bin.path().display()));
    (bin, extractor)
}

/// An app whose OCR lane has one thread and reads each scan in `seconds`.
async fn backlogged_app(seconds: u32) -> (tempfile::TempDir, TestApp) {
    let (bin, extractor) = slow_ocr(seconds);
    let app = TestApp::with_extractor_and_config(extractor, Config { ocr_workers: 1, ..Config::default() }).await;
    (bin, app)
}

/// The scan fixture made distinct by `n` trailing bytes (text is kept per content: equal scans are read once).
fn distinct_scan(n: usize) -> Vec<u8> {
    let mut scan = fixture("scan-form.png");
    scan.extend(std::iter::repeat_n(0u8, n + 1));
    scan
}

/// Uploads without waiting for the text (`?wait=false`), as a scanning station does.
async fn upload_no_wait(app: &TestApp, token: &str, person: &str, title: &str, name: &str, bytes: &[u8]) -> Value {
    let meta = json!({"category": "9-2", "title": title}).to_string();
    let (ct, body) = multipart(&meta, name, bytes);
    let req = Request::builder()
        .method(Method::POST)
        .uri(format!("/api/v1/persons/{person}/materials?wait=false"))
        .header("authorization", format!("Bearer {token}"))
        .header("content-type", ct)
        .body(Body::from(body))
        .unwrap();
    let a = app.call(req).await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", String::from_utf8_lossy(&a.body));
    a.json()
}

async fn health(app: &TestApp) -> Value {
    let a = app.send(Method::GET, "/api/v1/health", None, None).await;
    assert_eq!(a.status, StatusCode::OK);
    a.json()
}

async fn settle(app: &TestApp) {
    let a = app.archive.clone();
    let emptied = tokio::task::spawn_blocking(move || a.indexing().wait_queue_empty(Duration::from_secs(120)).unwrap());
    assert!(emptied.await.unwrap(), "both lanes' queues empty within two minutes");
}

#[tokio::test]
async fn a_text_upload_is_searchable_while_scans_wait_for_ocr() {
    let (_bin, app) = backlogged_app(3).await;
    let hr = app.login("hr").await;
    let p = app.create_person(&hr, person_body("林晓", &id_number("11010519800101001"), "it")).await;
    let pid = p["id"].as_str().unwrap();
    for i in 0..5 {
        let m = upload_no_wait(&app, &hr, pid, &format!("干部任免审批表{i}"), "scan.png", &distinct_scan(i)).await;
        assert_eq!(m["text_status"], "pending");
    }

    // A text upload waits for its own text only: the text lane does not wait behind the scans.
    let body = "关于任职的通知\n经研究决定 zebraquill 同志任信息技术部副部长。\n".as_bytes();
    let t = app.upload(&hr, pid, json!({"category": "4-1", "title": "任职通知"}), "notice.txt", body).await;
    assert_eq!(t.status, StatusCode::CREATED, "{}", String::from_utf8_lossy(&t.body));
    assert_eq!(t.json()["text_status"], "done", "{}", t.json());
    assert_eq!(app.search(&hr, "zebraquill").await["total"], 1, "the text is searchable at once");
    let h = health(&app).await;
    assert!(h["queues"]["ocr"]["depth"].as_u64().unwrap() > 0, "the scans still wait for OCR: {h}");
    // Meanwhile the scans are found by their catalogue fields.
    assert_eq!(app.search(&hr, "任免审批").await["total"], 5);
    assert_eq!(app.search(&hr, SCAN_WORD).await["total"], 0, "no scan's text is searchable before it is read");

    // Then the OCR lane reads them all; each is `done` once its text is searchable.
    settle(&app).await;
    assert_eq!(app.search(&hr, SCAN_WORD).await["total"], 5);
    let list = app.send(Method::GET, &format!("/api/v1/persons/{pid}/materials"), Some(&hr), None).await.json();
    let items = list["items"].as_array().or(list.as_array()).cloned().unwrap_or_default();
    assert_eq!(items.len(), 6, "{list}");
    assert!(items.iter().all(|m| m["text_status"] == "done"), "{list}");
    let h = health(&app).await;
    assert_eq!((h["queues"]["text"]["depth"].as_u64(), h["queues"]["ocr"]["depth"].as_u64()), (Some(0), Some(0)));
}

#[tokio::test]
async fn health_reports_the_depth_and_age_of_both_lanes() {
    let (_bin, app) = backlogged_app(6).await;
    let h = health(&app).await;
    for lane in ["text", "ocr"] {
        assert_eq!(h["queues"][lane], json!({"depth": 0, "oldest_seconds": 0}), "{h}");
    }
    let hr = app.login("hr").await;
    let p = app.create_person(&hr, person_body("林晓", &id_number("11010519800101001"), "it")).await;
    let pid = p["id"].as_str().unwrap();
    for i in 0..3 {
        upload_no_wait(&app, &hr, pid, &format!("干部任免审批表{i}"), "scan.png", &distinct_scan(i)).await;
    }
    tokio::time::sleep(Duration::from_millis(2100)).await;
    // No sign-in needed, and nothing of the materials in the answer: depths and ages only.
    let a = app.send(Method::GET, "/api/v1/health", None, None).await;
    let text = String::from_utf8_lossy(&a.body).into_owned();
    assert!(!text.contains("审批") && !text.contains(pid), "{text}");
    let h = a.json();
    let ocr = &h["queues"]["ocr"];
    assert!(ocr["depth"].as_u64().unwrap() >= 2, "three scans queued, at most one read yet: {h}");
    assert!(ocr["oldest_seconds"].as_u64().unwrap() >= 1, "{h}");
    assert!(h["queues"]["text"]["depth"].is_u64() && h["queues"]["text"]["oldest_seconds"].is_u64(), "{h}");
    // The Prometheus metrics say the same, and hold nothing of the materials either.
    let m = app.send(Method::GET, "/metrics", None, None).await;
    assert_eq!(m.status, axum::http::StatusCode::OK);
    assert!(m.header("content-type").starts_with("text/plain"));
    let text = String::from_utf8_lossy(&m.body).into_owned();
    let value = |name: &str| -> u64 {
        let line = text.lines().find(|l| l.starts_with(name)).unwrap_or_else(|| panic!("{name} missing: {text}"));
        line.rsplit(' ').next().unwrap().parse().unwrap()
    };
    assert!(value("dangan_queue_depth{lane=\"ocr\"}") >= 2, "{text}");
    assert!(value("dangan_queue_oldest_seconds{lane=\"ocr\"}") >= 1, "{text}");
    assert!(value("dangan_http_request_seconds_count") >= 1);
    assert!(!text.contains("审批") && !text.contains(pid), "{text}");

    settle(&app).await;
    let h = health(&app).await;
    for lane in ["text", "ocr"] {
        assert_eq!(h["queues"][lane], json!({"depth": 0, "oldest_seconds": 0}), "{h}");
    }
}

/// Opens the store at `dir` once the previous archive has let go of it (sled's threads release the lock within
/// moments); waits at most 30 s.
fn reopen_store(dir: &std::path::Path) -> dangan::store::SledKv {
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        match dangan::store::SledKv::open(&dir.join("store")) {
            Ok(kv) => return kv,
            Err(e) if std::time::Instant::now() > deadline => panic!("store still locked: {e}"),
            Err(_) => std::thread::sleep(Duration::from_millis(100)),
        }
    }
}

#[tokio::test]
async fn scans_left_on_the_ocr_queue_are_read_after_a_restart() {
    use dangan::crypto::MasterKey;
    use dangan::model::Role;
    use dangan::store::Table;

    let dir = tempfile::tempdir().unwrap();
    let key = MasterKey::generate().unwrap();
    let (bin, slow) = slow_ocr(2);
    let archive =
        dangan::bootstrap::open(dir.path(), &key, slow, Config { ocr_workers: 1, ..Config::default() }).unwrap();
    let app = TestApp::over(archive);
    app.add_account("hr", vec![Role::Hr], Some("hr"), None, None).await;
    app.link_holder("hr", "人事专员甲", "65432119700101771", "hr").await;
    let hr = app.login("hr").await;
    let p = app.create_person(&hr, person_body("林晓", &id_number("11010519800101001"), "it")).await;
    let pid = p["id"].as_str().unwrap().to_string();
    for i in 0..3 {
        upload_no_wait(&app, &hr, &pid, &format!("干部任免审批表{i}"), "scan.png", &distinct_scan(i)).await;
    }

    // Stop while the OCR lane is still at work: its thread ends after the scan it is reading.
    let TestApp { router, archive, .. } = app;
    drop(router);
    let closed = tokio::task::spawn_blocking(move || archive.close(Duration::from_secs(120))).await.unwrap();
    assert!(closed, "the archive closes once the OCR lane's thread has read the scan in hand");
    let d = dir.path().to_path_buf();
    let k = key.clone();
    let left = tokio::task::spawn_blocking(move || {
        let store = dangan::store::Store::open(std::sync::Arc::new(reopen_store(&d)), &k).unwrap();
        store.keys_under(Table::OcrQueue, b"").unwrap().len()
    })
    .await
    .unwrap();
    assert!(left >= 1, "scans are left on the OCR queue");
    drop(bin);

    // The next start resumes both queues: every scan is read and searchable.
    let (_fast_bin, fast) = slow_ocr(0);
    let d = dir.path().to_path_buf();
    let archive = tokio::task::spawn_blocking(move || {
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        loop {
            match dangan::bootstrap::open(&d, &key, fast.clone(), Config::default()) {
                Ok(a) => return a,
                Err(e) if std::time::Instant::now() > deadline => panic!("cannot reopen: {e}"),
                Err(_) => std::thread::sleep(Duration::from_millis(100)),
            }
        }
    })
    .await
    .unwrap();
    let app = TestApp::over(archive);
    settle(&app).await;
    let hr = app.login("hr").await;
    assert_eq!(app.search(&hr, SCAN_WORD).await["total"], 3);
}

/// Every material record and every version record a store holds, as the sealed bytes on disk.
fn material_records(kv: &dangan::store::MemKv) -> Vec<(Vec<u8>, Vec<u8>)> {
    use dangan::store::{Kv, Table};
    let mut out = Vec::new();
    for t in [Table::Materials, Table::MaterialVersions] {
        out.extend(kv.scan(t, b"", None, usize::MAX).unwrap());
    }
    out
}

/// GET an answer that must be 200.
async fn get_json(app: &TestApp, token: &str, path: &str) -> Value {
    let a = app.send(Method::GET, path, Some(token), None).await;
    assert_eq!(a.status, StatusCode::OK, "GET {path}: {}", String::from_utf8_lossy(&a.body));
    a.json()
}

/// An archive over an in-memory store the test reads too (its key returned, to open the store beside it), with
/// the fake OCR and its workers not started yet — filing commits, nothing is indexed — and an `hr` account.
struct Unstarted {
    kv: std::sync::Arc<dangan::store::MemKv>,
    key: dangan::crypto::MasterKey,
    app: TestApp,
    _bin: tempfile::TempDir,
}

async fn unstarted() -> Unstarted {
    use std::sync::Arc;
    let kv = Arc::new(dangan::store::MemKv::default());
    let key = dangan::crypto::MasterKey::generate().unwrap();
    let store = dangan::store::Store::open(kv.clone(), &key).unwrap();
    let index = dangan::index::SearchIndex::in_memory(Arc::new(jieba_rs::Jieba::new())).unwrap();
    let (bin, ocr) = slow_ocr(0);
    let config = Config { ocr_workers: 1, ..Config::default() };
    let spool = dangan::service::SpoolDir::temporary().unwrap();
    let app = TestApp::over(dangan::service::Archive::new(store, index, ocr, config, spool).unwrap());
    app.add_account("hr", vec![dangan::model::Role::Hr], Some("hr"), None, None).await;
    app.link_holder("hr", "人事专员甲", "65432119700101771", "hr").await;
    Unstarted { kv, key, app, _bin: bin }
}

#[tokio::test]
async fn indexing_records_the_text_status_without_rewriting_a_material_or_its_versions() {
    let Unstarted { kv, app, _bin, .. } = unstarted().await;
    let hr = app.login("hr").await;
    let p = app.create_person(&hr, person_body("林晓", &id_number("11010519800101001"), "it")).await;
    let pid = p["id"].as_str().unwrap();
    let body = "关于任职的通知\n经研究决定 quillnotice 同志任信息技术部副部长。\n".as_bytes();
    let text = upload_no_wait(&app, &hr, pid, "任职通知", "notice.txt", body).await;
    let broken = upload_no_wait(&app, &hr, pid, "干部履历表", "broken.pdf", &fixture("broken.pdf")).await;
    let scan = upload_no_wait(&app, &hr, pid, "干部任免审批表", "scan.png", &distinct_scan(7)).await;
    for m in [&text, &broken, &scan] {
        assert_eq!(m["text_status"], "pending", "{m}");
    }
    let filed = material_records(&kv);
    assert_eq!(filed.len(), 6, "three materials and their first versions");

    // The text lane reads the text and the broken PDF, the OCR lane the scan (handed back to the text lane).
    dangan::service::start_workers(&app.archive);
    settle(&app).await;
    assert_eq!(app.search(&hr, "quillnotice").await["total"], 1);
    assert_eq!(app.search(&hr, SCAN_WORD).await["total"], 1);
    assert!(material_records(&kv) == filed, "no material or version record was rewritten: the same sealed bytes");

    // The answers still carry each text's state, in the record and in the version list.
    let id = |m: &Value| m["id"].as_str().unwrap().to_string();
    for (m, status) in [(&text, "done"), (&broken, "failed"), (&scan, "done")] {
        let got = get_json(&app, &hr, &format!("/api/v1/materials/{}", id(m))).await;
        assert_eq!(got["text_status"], status, "{got}");
        let versions = get_json(&app, &hr, &format!("/api/v1/materials/{}/versions", id(m))).await;
        let v1 = &versions["items"][0]["material"];
        for field in ["text_status", "text_error", "detected_pages"] {
            assert_eq!(v1[field], got[field], "version 1 shows its content's {field}: {versions}");
        }
    }
    let broken = get_json(&app, &hr, &format!("/api/v1/materials/{}", id(&broken))).await;
    assert!(broken["text_error"].as_str().is_some_and(|e| !e.is_empty()), "{broken}");
    let catalogue = get_json(&app, &hr, &format!("/api/v1/persons/{pid}/materials")).await;
    let statuses: Vec<&str> =
        catalogue["items"].as_array().unwrap().iter().map(|m| m["text_status"].as_str().unwrap()).collect();
    assert_eq!(statuses.iter().filter(|s| **s == "done").count(), 2, "{catalogue}");
    assert_eq!(statuses.iter().filter(|s| **s == "failed").count(), 1, "{catalogue}");

    // New content is a new version with its own state; the first version, as written, still shows its own.
    let filed = material_records(&kv);
    let put = Request::builder()
        .method(Method::PUT)
        .uri(format!("/api/v1/materials/{}/content", id(&text)))
        .header("authorization", format!("Bearer {hr}"))
        .header("content-type", "text/plain")
        .header("if-match", "\"1\"")
        .body(Body::from("关于任职的通知（更正）\n quillcorrected 同志。\n".as_bytes().to_vec()))
        .unwrap();
    let v2 = app.call(put).await;
    assert_eq!(v2.status, StatusCode::OK, "{}", String::from_utf8_lossy(&v2.body));
    assert_eq!((v2.json()["version"].as_u64(), v2.json()["text_status"].as_str()), (Some(2), Some("done")));
    settle(&app).await;
    let after = material_records(&kv);
    // Only the material's own record changed (version 2 is current); every version record, version 1 of this
    // material among them, is as it was written.
    let changed: Vec<_> = filed.iter().filter(|r| !after.contains(r)).map(|r| r.0.clone()).collect();
    assert_eq!(changed, [uuid_bytes(&id(&text))], "only the material's record was rewritten");
    let versions = get_json(&app, &hr, &format!("/api/v1/materials/{}/versions", id(&text))).await;
    let shown: Vec<(u64, &str)> = versions["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| (v["version"].as_u64().unwrap(), v["material"]["text_status"].as_str().unwrap()))
        .collect();
    assert_eq!(shown, [(1, "done"), (2, "done")], "{versions}");
    assert_eq!(app.search(&hr, "quillcorrected").await["total"], 1);
}

/// The 16 bytes of a UUID in its text form (a record key's first part).
fn uuid_bytes(id: &str) -> Vec<u8> {
    let hex: String = id.chars().filter(|c| *c != '-').collect();
    (0..16).map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).unwrap()).collect()
}

#[tokio::test]
async fn records_of_an_older_store_show_the_status_they_hold_until_the_lanes_record_one() {
    use dangan::store::{Kv, Table};
    let Unstarted { kv, key, app, _bin } = unstarted().await;
    let hr = app.login("hr").await;
    let p = app.create_person(&hr, person_body("林晓", &id_number("11010519800101001"), "it")).await;
    let pid = p["id"].as_str().unwrap();
    let body = "关于任职的通知\n经研究决定 quillolder 同志任信息技术部副部长。\n".as_bytes();
    let queued = upload_no_wait(&app, &hr, pid, "任职通知", "notice.txt", body).await;
    let settled = upload_no_wait(&app, &hr, pid, "任免通知", "other.txt", "另一份通知。\n".as_bytes()).await;

    // Made into what an older version wrote: the status in the material and its version, none kept apart — one
    // still queued (`pending`), one read long ago (`failed`, with its reason and pages).
    let beside = dangan::store::Store::open(kv.clone(), &key).unwrap();
    let mut ws = beside.write_set();
    for (m, status, error, pages) in
        [(&queued, "pending", Value::Null, Value::Null), (&settled, "failed", json!("unreadable"), json!(3))]
    {
        let id = uuid_bytes(m["id"].as_str().unwrap());
        let mut vkey = id.clone();
        vkey.extend(1u32.to_be_bytes());
        for (t, k) in [(Table::Materials, id.clone()), (Table::MaterialVersions, vkey)] {
            let mut record: Value = beside.get(t, &k).unwrap().unwrap();
            let material = if t == Table::Materials { &mut record } else { &mut record["material"] };
            material["text_status"] = json!(status);
            material["text_error"] = error.clone();
            material["detected_pages"] = pages.clone();
            ws.put_json(t, k, &serde_json::to_vec(&record).unwrap()).unwrap();
        }
    }
    for (k, _) in kv.scan(Table::TextStatus, b"", None, usize::MAX).unwrap() {
        ws.delete(Table::TextStatus, k);
    }
    beside.commit(ws).unwrap();
    let settled_id = settled["id"].as_str().unwrap();
    let queued_id = queued["id"].as_str().unwrap();
    let failed = get_json(&app, &hr, &format!("/api/v1/materials/{settled_id}")).await;
    let shown = (failed["text_status"].as_str(), failed["text_error"].as_str(), failed["detected_pages"].as_u64());
    assert_eq!(shown, (Some("failed"), Some("unreadable"), Some(3)), "{failed}");
    assert_eq!(get_json(&app, &hr, &format!("/api/v1/materials/{queued_id}")).await["text_status"], "pending");
    let written = material_records(&kv);

    // The lanes handle both (each is still queued): the pending one is read and shown `done` as the lanes recorded
    // it; the failed one is not read again and still shows what its record holds; the records stay as written.
    dangan::service::start_workers(&app.archive);
    settle(&app).await;
    assert!(material_records(&kv) == written, "no material or version record was rewritten");
    for (id, status) in [(queued_id, "done"), (settled_id, "failed")] {
        assert_eq!(get_json(&app, &hr, &format!("/api/v1/materials/{id}")).await["text_status"], status);
        let versions = get_json(&app, &hr, &format!("/api/v1/materials/{id}/versions")).await;
        assert_eq!(versions["items"][0]["material"]["text_status"], status, "{versions}");
    }
    let failed = get_json(&app, &hr, &format!("/api/v1/materials/{settled_id}")).await;
    assert_eq!((failed["text_error"].as_str(), failed["detected_pages"].as_u64()), (Some("unreadable"), Some(3)));
    assert_eq!(app.search(&hr, "quillolder").await["total"], 1);
}
