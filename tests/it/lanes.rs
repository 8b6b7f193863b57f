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
    drop(archive);
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
