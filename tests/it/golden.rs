//! Golden fixtures of stored records: a small archive per cipher suite, made once by an earlier version and
//! committed under `fixtures/golden/<suite>/` as the store's own backup (`store.backup`) and what must read back
//! from it (`expected.json`). Every later version must restore, open and read them back equal — the model is
//! tantivy's compatibility tests, one index per format. See `fixtures/README.md`.
//!
//! A failure here means a change broke stores on disk (a record's layout, the sealing, the key derivation, the
//! audit chain, the backup format). Do not regenerate the fixtures to make it pass: only a change that bumps a
//! stored-format version, together with the code that still opens the older records, may add new ones.
//!
//! `DANGAN_REGENERATE_GOLDEN=1 cargo test --test it regenerate_golden_fixtures -- --ignored` writes them anew
//! (from today's code, with the fixed master key below).

use crate::common::*;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use dangan::crypto::{MasterKey, Suite};
use dangan::model::Role;
use dangan::service::Config;
use dangan::store::SledKv;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The fixtures' master key. Fixed, so the committed backups open; never a real installation's key.
const KEY: [u8; 32] = [0x42; 32];

/// The uploaded file's first version, and the bytes that replace it as version 2 (phrases found nowhere else).
const TEXT_V1: &str = "干部考核登记表（黄金样本）\n考核等次：优秀。金样识别语甲。\n";
const TEXT_V2: &str = "干部考核登记表（黄金样本，更正）\n考核等次：优秀。金样识别语乙。\n";

fn golden_dir(suite: Suite) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/golden").join(suite.name())
}

fn key() -> MasterKey {
    MasterKey::from_bytes(KEY)
}

/// The named fields of an object, in that order (absent ones as null): what the fixtures pin. New fields of the
/// API do not disturb it; a stored field that is lost or changes its value does.
fn pick(v: &Value, fields: &[&str]) -> Value {
    Value::Object(fields.iter().map(|f| (f.to_string(), v.get(*f).cloned().unwrap_or(Value::Null))).collect())
}

async fn get_ok(app: &TestApp, token: &str, path: &str) -> crate::common::Answer {
    let a = app.send(Method::GET, path, Some(token), None).await;
    assert_eq!(a.status, StatusCode::OK, "GET {path}: {}", String::from_utf8_lossy(&a.body));
    a
}

/// Everything the fixtures pin that can be read through the API: the same function reads the archive that was
/// just built (to write `expected.json`) and the restored one (to compare with it).
async fn read_back(app: &TestApp, ids: &Value) -> Value {
    let hr = app.login("hr").await;
    let mut persons = Vec::new();
    for pid in ids["persons"].as_array().unwrap() {
        let pid = pid.as_str().unwrap();
        let p = get_ok(app, &hr, &format!("/api/v1/persons/{pid}")).await.json();
        let versions = get_ok(app, &hr, &format!("/api/v1/persons/{pid}/versions")).await.json();
        let versions: Vec<Value> = versions["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| {
                let mut out = pick(v, &["version", "author", "at", "reason"]);
                out["person"] = pick(&v["person"], &["name", "phone", "position", "version"]);
                out
            })
            .collect();
        persons.push(json!({
            "person": pick(&p, &["id", "name", "id_number", "gender", "birth_date", "department", "position", "phone", "ethnicity", "work_start", "version"]),
            "versions": versions,
        }));
    }
    let mut materials = Vec::new();
    for mid in ids["materials"].as_array().unwrap() {
        let mid = mid.as_str().unwrap();
        let m = get_ok(app, &hr, &format!("/api/v1/materials/{mid}")).await.json();
        let list = get_ok(app, &hr, &format!("/api/v1/materials/{mid}/versions")).await.json();
        let mut versions = Vec::new();
        for item in list["items"].as_array().unwrap() {
            let n = item["version"].as_u64().unwrap();
            let bytes = get_ok(app, &hr, &format!("/api/v1/materials/{mid}/versions/{n}/content")).await.body;
            let mut v = pick(item, &["version", "author", "at", "reason"]);
            v["material"] = pick(&item["material"], &["version", "content_hash", "size", "mime", "file_name", "title"]);
            v["content"] = Value::String(String::from_utf8(bytes).expect("the golden files are text"));
            versions.push(v);
        }
        materials.push(json!({
            "material": pick(&m, &["id", "person_id", "category", "title", "formed_on", "pages", "tags", "note", "version", "content_hash", "size", "mime", "file_name", "text_status", "created_by"]),
            "versions": versions,
        }));
    }
    let mut search = Vec::new();
    for phrase in ["金样识别语乙", "金样识别语甲"] {
        let s = app.search(&hr, phrase).await;
        let hits: Vec<Value> = s["items"].as_array().unwrap().iter().map(|h| h["material_id"].clone()).collect();
        search.push(json!({"q": phrase, "total": s["total"], "material_ids": hits}));
    }
    let mut requests = Vec::new();
    for rid in ids["requests"].as_array().unwrap() {
        let r = get_ok(app, &hr, &format!("/api/v1/requests/{}", rid.as_str().unwrap())).await.json();
        requests.push(pick(&r, &["id", "kind", "person_id", "state", "changes", "reason", "initiator"]));
    }
    let it = app.login("it").await;
    let users = get_ok(app, &it, "/api/v1/users").await.json();
    let mut users: Vec<Value> = users["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| pick(u, &["id", "username", "roles", "department", "person_id", "leader_level", "disabled"]))
        .collect();
    users.sort_by(|a, b| a["username"].as_str().cmp(&b["username"].as_str()));
    json!({"persons": persons, "materials": materials, "search": search, "requests": requests, "users": users})
}

/// The trail as far as `entries` (what the backup holds; reading it back adds entries after those), as the
/// auditor reads it: every entry's number, actor, action, object, outcome and hash.
async fn trail(app: &TestApp, entries: u64) -> Vec<Value> {
    let auditor = app.login("auditor").await;
    let page = get_ok(app, &auditor, "/api/v1/audit?limit=1000").await.json();
    let mut items: Vec<Value> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["seq"].as_u64().unwrap() <= entries)
        .map(|e| pick(e, &["seq", "at", "actor", "source", "action", "object", "outcome", "detail", "prev", "hash"]))
        .collect();
    items.sort_by_key(|e| e["seq"].as_u64());
    items
}

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    tokio::task::spawn_blocking(f).await.unwrap()
}

/// Builds the small archive through the real service and API, and writes its backup and `expected.json`.
async fn generate(suite: Suite) {
    let dir = tempfile::tempdir().unwrap();
    let config = Config { suite: Some(suite), ..Config::default() };
    let archive = dangan::bootstrap::open(dir.path(), &key(), worker_extractor(), config).unwrap();
    assert_eq!(archive.suite(), suite);
    let app = TestApp::over(archive);
    for (name, role) in [("hr", Role::Hr), ("finance", Role::Finance), ("it", Role::It), ("auditor", Role::Auditor)] {
        app.add_account(name, vec![role], Some(name), None, None).await;
    }
    app.link_holder("hr", "人事专员甲", "65432119700101771", "hr").await;
    app.link_holder("finance", "财务专员乙", "65432119700101773", "finance").await;
    app.add_approvers().await;
    let hr = app.login("hr").await;

    // A cadre, a material with an uploaded text file, and its second version.
    let p = app
        .create_person(
            &hr,
            json!({"name": "张伟明", "id_number": "330106197803120017", "department": "finance", "ethnicity": "汉族",
                   "work_start": "2000-07", "position": "科员"}),
        )
        .await;
    let pid = p["id"].as_str().unwrap().to_string();
    let up = app
        .upload(
            &hr,
            &pid,
            json!({"category": "3", "title": "2019年度考核登记表", "formed_on": "2020-01"}),
            "assessment.txt",
            TEXT_V1.as_bytes(),
        )
        .await;
    assert_eq!(up.status, StatusCode::CREATED, "{}", String::from_utf8_lossy(&up.body));
    let mid = up.json()["id"].as_str().unwrap().to_string();
    let put = Request::builder()
        .method(Method::PUT)
        .uri(format!("/api/v1/materials/{mid}/content"))
        .header("authorization", format!("Bearer {hr}"))
        .header("content-type", "text/plain")
        .header("if-match", "\"1\"")
        .body(Body::from(TEXT_V2.as_bytes().to_vec()))
        .unwrap();
    let v2 = app.call(put).await;
    assert_eq!(v2.status, StatusCode::OK, "{}", String::from_utf8_lossy(&v2.body));
    assert_eq!(v2.json()["version"], 2);

    // Workflow requests: a routine update on the fast path (applied: person version 2) and a promotion in flight.
    let mut requests = Vec::new();
    for body in [
        json!({"kind": "update", "person_id": pid, "changes": {"phone": "13900000001"}}),
        json!({"kind": "promotion", "person_id": pid, "reason": "年度考核优秀", "changes": {"position": "财务部副部长"}}),
    ] {
        let a = app.send(Method::POST, "/api/v1/requests", Some(&hr), Some(body)).await;
        assert_eq!(a.status, StatusCode::CREATED, "{}", String::from_utf8_lossy(&a.body));
        requests.push(a.json()["id"].clone());
    }
    let a = app.archive.clone();
    blocking(move || a.indexing().wait_queue_empty(Duration::from_secs(120)).unwrap()).await;

    let ids = json!({"persons": [pid], "materials": [mid], "requests": requests});
    let read = read_back(&app, &ids).await;

    // The backup, with its own audit entry last; then the trail it holds.
    let out = golden_dir(suite);
    std::fs::create_dir_all(&out).unwrap();
    let backup_path = out.join("store.backup");
    let a = app.archive.clone();
    let (stats, verify) = blocking(move || {
        let file = std::fs::File::create(&backup_path).unwrap();
        let stats = a.operations().backup_to(std::io::BufWriter::new(file)).unwrap();
        (stats, a.audit_trail().verify().unwrap())
    })
    .await;
    assert!(verify.ok, "{verify:?}");
    let expected = json!({
        "about": "What must read back from store.backup (fixtures/README.md). Made once; never edit by hand.",
        "suite": suite.name(),
        "master_key": "32 bytes of 0x42",
        "backup": {"records": stats.records, "blake3": stats.hash},
        "ids": ids,
        "audit": {"entries": verify.entries, "head_hash": verify.head_hash, "trail": trail(&app, verify.entries).await},
        "read_back": read,
    });
    std::fs::write(out.join("expected.json"), serde_json::to_string_pretty(&expected).unwrap() + "\n").unwrap();
    shut_down(app).await;
}

/// Lets the indexer finish, then closes the archive (its store is opened again afterwards).
async fn shut_down(app: TestApp) {
    let TestApp { router, archive, .. } = app;
    drop(router);
    blocking(move || {
        archive.indexing().wait_queue_empty(Duration::from_secs(120)).unwrap();
        assert!(archive.close(Duration::from_secs(120)), "the archive closes");
    })
    .await;
}

/// Restores a golden backup into `dir` with the fixed key, as `dangan restore` does.
fn restore(backup: &Path, dir: &Path) -> dangan::store::backup::BackupStats {
    use dangan::store::{Kv, KvBlobStore, Table};
    let kv: std::sync::Arc<dyn Kv> = std::sync::Arc::new(SledKv::open(&dir.join("store")).unwrap());
    let input = std::fs::File::open(backup).unwrap_or_else(|e| panic!("{}: {e}", backup.display()));
    let stats = dangan::store::backup::import(&*kv, &KvBlobStore::new(kv.clone()), std::io::BufReader::new(input))
        .expect("the golden backup restores");
    // The fixtures were written while a material and its versions carried their text status themselves: no
    // status is kept apart, so the status they show is read from the records as they were written.
    assert!(kv.scan(Table::TextStatus, b"", None, 1).unwrap().is_empty(), "an older store keeps no text statuses");
    stats
}

async fn check(suite: Suite) {
    let golden = golden_dir(suite);
    let text = std::fs::read_to_string(golden.join("expected.json"))
        .unwrap_or_else(|e| panic!("{}: {e} (the golden fixtures are part of the repository)", golden.display()));
    let expected: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(expected["suite"], suite.name());

    let dir = tempfile::tempdir().unwrap();
    let stats = restore(&golden.join("store.backup"), dir.path());
    assert_eq!(stats.records, expected["backup"]["records"].as_u64().unwrap(), "{suite}: records restored");
    assert_eq!(stats.hash, expected["backup"]["blake3"].as_str().unwrap(), "{suite}: the backup's checksum");

    // Opened without naming a suite, the store opens under its own.
    let d = dir.path().to_path_buf();
    let archive =
        blocking(move || dangan::bootstrap::open(&d, &key(), worker_extractor(), Config::default()).unwrap()).await;
    assert_eq!(archive.suite(), suite, "the store records its suite");

    // Before anything adds to it: the trail is whole and ends with the backup's own entry at the pinned hash.
    let a = archive.clone();
    let (verify, report) = blocking(move || (a.audit_trail().verify().unwrap(), a.indexing().verify().unwrap())).await;
    assert!(verify.ok, "{suite}: the golden trail verifies: {verify:?}");
    assert_eq!(verify.entries, expected["audit"]["entries"].as_u64().unwrap(), "{suite}: audit entries");
    assert_eq!(verify.head_hash, expected["audit"]["head_hash"].as_str().unwrap(), "{suite}: the audit head hash");
    assert!(report.ok(), "{suite}: every blob reads, decrypts and re-hashes: {report:?}");

    let app = TestApp::over(archive);
    let trail = trail(&app, verify.entries).await;
    assert_eq!(Value::Array(trail.clone()), expected["audit"]["trail"], "{suite}: the trail's entries");
    assert_eq!(trail.last().unwrap()["action"], "backup", "the backup's own entry is its last");
    let read = read_back(&app, &expected["ids"]).await;
    assert_eq!(read, expected["read_back"], "{suite}: the records read back as they were written");
    // Spelled out, so the fixture cannot silently lose them.
    let m = &read["materials"][0];
    assert_eq!(m["versions"][0]["content"], TEXT_V1);
    assert_eq!(m["versions"][1]["content"], TEXT_V2);
    assert_eq!(m["material"]["version"], 2);
    assert_eq!(m["material"]["text_status"], "done", "{suite}: an older record shows the text status it holds");
    // So does every version of it, each as its own record holds it (the pinned fields leave the status out).
    let mid = expected["ids"]["materials"][0].as_str().unwrap();
    let hr = app.login("hr").await;
    let list = get_ok(&app, &hr, &format!("/api/v1/materials/{mid}/versions")).await.json();
    let shown: Vec<&Value> = list["items"].as_array().unwrap().iter().map(|v| &v["material"]["text_status"]).collect();
    assert_eq!(shown, [&json!("done"), &json!("done")], "{suite}: {list}");
    for v in m["versions"].as_array().unwrap() {
        let content = v["content"].as_str().unwrap().as_bytes();
        assert_eq!(v["material"]["content_hash"], suite.hash_hex(content), "{suite}: the content hash is the suite's");
    }
    assert_eq!(read["persons"][0]["person"]["name"], "张伟明");
    assert_eq!(read["persons"][0]["person"]["phone"], "13900000001", "the fast-path update was applied");

    // A dossier filed before 序号 was stored reads in today's order, no numbering stored; its first filing stores
    // those numbers unchanged and gives the newcomer the next one, older though it is (docs/DOMAIN.md §2).
    let hr = app.login("hr").await;
    let pid = expected["ids"]["persons"][0].as_str().unwrap();
    let cat = get_ok(&app, &hr, &format!("/api/v1/persons/{pid}/catalogue")).await.json();
    assert_eq!(cat["numbering"], Value::Null, "{suite}: no numbering stored before the first filing");
    assert_eq!(cat["numberings"], json!([]));
    assert_eq!(
        (cat["items"][0]["title"].clone(), cat["items"][0]["seq"].clone()),
        (json!("2019年度考核登记表"), json!(1))
    );
    let meta = json!({"category": "3", "title": "2017年度考核登记表", "formed_on": "2018-01"});
    let a = app.upload(&hr, pid, meta, "k.txt", "二〇一七年度考核".as_bytes()).await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", String::from_utf8_lossy(&a.body));
    let cat = get_ok(&app, &hr, &format!("/api/v1/persons/{pid}/catalogue")).await.json();
    assert_eq!(cat["numbering"]["number"], 1);
    assert_eq!(cat["numbering"]["kind"], "initial");
    let seqs: Vec<(&str, u64)> = cat["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| (m["title"].as_str().unwrap(), m["seq"].as_u64().unwrap()))
        .collect();
    assert_eq!(seqs, [("2019年度考核登记表", 1), ("2017年度考核登记表", 2)], "{suite}");

    shut_down(app).await;
}

#[tokio::test]
async fn the_golden_default_suite_store_opens_and_reads_back_equal() {
    check(Suite::Default).await;
}

#[tokio::test]
async fn the_golden_gm_suite_store_opens_and_reads_back_equal() {
    check(Suite::Gm).await;
}

/// The same backups through the command line an operator uses: `dangan restore` (which verifies every blob) and
/// `dangan audit verify` (the pinned head, with nothing added by opening).
#[test]
fn the_golden_backups_restore_and_verify_with_the_dangan_command() {
    for suite in Suite::ALL {
        let golden = golden_dir(suite);
        let expected: Value =
            serde_json::from_str(&std::fs::read_to_string(golden.join("expected.json")).unwrap()).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let key_file = dir.path().join("golden.key");
        write_private_file(&key_file, key().to_hex().as_bytes());
        let data = dir.path().join("data");
        let dangan = |args: &[&str]| {
            let out = std::process::Command::new(env!("CARGO_BIN_EXE_dangan"))
                .args(args)
                .env_remove("DANGAN_DATA")
                .env_remove("DANGAN_SUITE")
                .env_remove("DANGAN_PASSPHRASE")
                .env("DANGAN_KEY_FILE", &key_file)
                .output()
                .unwrap();
            let stdout = String::from_utf8_lossy(&out.stdout).to_string();
            assert!(out.status.success(), "dangan {args:?}: {stdout}{}", String::from_utf8_lossy(&out.stderr));
            stdout
        };
        let backup = golden.join("store.backup");
        let restored = dangan(&["restore", backup.to_str().unwrap(), "--data", data.to_str().unwrap()]);
        let records = expected["backup"]["records"].as_u64().unwrap();
        assert!(restored.contains(&format!("restored {records} records")), "{suite}: {restored}");
        assert!(restored.contains("verify: ok"), "{suite}: {restored}");
        let verify: Value =
            serde_json::from_str(&dangan(&["audit", "verify", "--data", data.to_str().unwrap()])).unwrap();
        assert_eq!(verify["ok"], true, "{suite}: {verify}");
        assert_eq!(verify["entries"], expected["audit"]["entries"], "{suite}");
        assert_eq!(verify["head_hash"], expected["audit"]["head_hash"], "{suite}");
    }
}

#[tokio::test]
#[ignore = "writes fixtures/golden anew: only with a stored-format version bump (fixtures/README.md)"]
async fn regenerate_golden_fixtures() {
    // Not by accident (`cargo test -- --include-ignored`): the fixtures are the record of an older version.
    assert!(
        std::env::var("DANGAN_REGENERATE_GOLDEN").is_ok_and(|v| v == "1"),
        "this rewrites fixtures/golden: only with a stored-format version bump, and with DANGAN_REGENERATE_GOLDEN=1 \
         (fixtures/README.md)"
    );
    for suite in Suite::ALL {
        generate(suite).await;
    }
}
