//! The real binary over real HTTP: serve, upload, search in both scripts, download; `kill -9` in the middle of
//! a stream of uploads; a wrong key refused at start.

use crate::common::{id_number, multipart, require};
use crate::http_api::urlencode;
use serde_json::{Value, json};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub(crate) const BIN: &str = env!("CARGO_BIN_EXE_dangan");

/// An installation for the real binary: its data directory and, beside it (never inside: `serve` refuses a key in
/// the data directory), its key file, both in one temporary directory.
pub(crate) struct Install {
    _root: tempfile::TempDir,
    data: std::path::PathBuf,
}

impl Install {
    pub(crate) fn new() -> Install {
        let root = tempfile::tempdir().unwrap();
        let data = root.path().join("data");
        Install { _root: root, data }
    }

    pub(crate) fn path(&self) -> &Path {
        &self.data
    }
}

/// The key file of the installation whose data directory is `data`.
pub(crate) fn key_for(data: &Path) -> std::path::PathBuf {
    data.parent().unwrap().join("master.key")
}

pub(crate) struct Server {
    pub(crate) child: Child,
    pub(crate) base: String,
    pub(crate) agent: ureq::Agent,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

impl Server {
    fn start(data: &Path) -> Server {
        Server::start_with(data, &[])
    }

    pub(crate) fn start_with(data: &Path, envs: &[(&str, &str)]) -> Server {
        let s = Server::spawn_with(data, envs);
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if s.health() == 200 {
                return s;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("server did not come up");
    }

    /// Starts `serve` without waiting for it to answer.
    pub(crate) fn spawn_with(data: &Path, envs: &[(&str, &str)]) -> Server {
        let port = free_port();
        let child = Command::new(BIN)
            .args(["serve", "--data", data.to_str().unwrap(), "--listen", &format!("127.0.0.1:{port}")])
            .env("DANGAN_LOG", "warn")
            .env("DANGAN_KEY_FILE", key_for(data))
            // Where the other nodes of a PostgreSQL store reach this one (nothing for an embedded store).
            .env("DANGAN_ADVERTISE", format!("http://127.0.0.1:{port}"))
            .envs(envs.iter().copied())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).build().into();
        Server { child, base: format!("http://127.0.0.1:{port}/api/v1"), agent }
    }

    /// The health check's status (0: no answer).
    pub(crate) fn health(&self) -> u16 {
        self.agent.get(&format!("{}/health", self.base)).call().map(|r| r.status().as_u16()).unwrap_or(0)
    }

    pub(crate) fn json(&self, method: &str, path: &str, token: Option<&str>, body: Option<Value>) -> (u16, Value) {
        let url = format!("{}{path}", self.base);
        let mut resp = match (method, body) {
            ("GET", _) => {
                let mut r = self.agent.get(&url);
                if let Some(t) = token {
                    r = r.header("authorization", &format!("Bearer {t}"));
                }
                r.call().unwrap()
            }
            (_, b) => {
                let mut r = self.agent.post(&url).header("content-type", "application/json");
                if let Some(t) = token {
                    r = r.header("authorization", &format!("Bearer {t}"));
                }
                r.send(b.unwrap_or(json!({})).to_string()).unwrap()
            }
        };
        let status = resp.status().as_u16();
        let text = resp.body_mut().read_to_string().unwrap_or_default();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    /// Creates a person; returns the id.
    pub(crate) fn create_person(&self, token: &str, body: Value) -> String {
        let (status, p) = self.json("POST", "/persons", Some(token), Some(body));
        assert_eq!(status, 201, "{p}");
        p["id"].as_str().unwrap().to_string()
    }

    pub(crate) fn upload(
        &self,
        token: &str,
        person: &str,
        meta: &Value,
        name: &str,
        bytes: &[u8],
    ) -> Result<Value, String> {
        let (ct, body) = multipart(&meta.to_string(), name, bytes);
        let mut resp = self
            .agent
            .post(&format!("{}/persons/{person}/materials", self.base))
            .header("authorization", &format!("Bearer {token}"))
            .header("content-type", &ct)
            .send(&body[..])
            .map_err(|e| e.to_string())?;
        let status = resp.status().as_u16();
        let text = resp.body_mut().read_to_string().map_err(|e| e.to_string())?;
        if status == 201 {
            serde_json::from_str(&text).map_err(|e| e.to_string())
        } else {
            Err(format!("{status}: {text}"))
        }
    }

    pub(crate) fn download(&self, token: &str, material: &str) -> Vec<u8> {
        let mut resp = self
            .agent
            .get(&format!("{}/materials/{material}/content", self.base))
            .header("authorization", &format!("Bearer {token}"))
            .call()
            .unwrap();
        assert_eq!(resp.status(), 200);
        resp.body_mut().with_config().limit(64 * 1024 * 1024).read_to_vec().unwrap()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn add_hr(data: &Path) {
    add_hr_with(data, &[]);
}

/// Adds the hr account offline, with `envs` (where the store is).
pub(crate) fn add_hr_with(data: &Path, envs: &[(&str, &str)]) {
    let out = Command::new(BIN)
        .args(["users", "add", "--data", data.to_str().unwrap(), "--username", "hr", "--role", "hr"])
        .args(["--department", "hr", "--holder-name", "人事专员"])
        .env("DANGAN_KEY_FILE", key_for(data))
        .env("DANGAN_NEW_PASSWORD", "demo-pass-e2e")
        .env("DANGAN_LOG", "warn")
        .envs(envs.iter().copied())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

/// Creates the store (and key) by starting and stopping a server, then adds the hr account offline.
pub(crate) fn install(data: &Path) {
    drop(Server::start(data));
    add_hr(data);
}

pub(crate) fn login(s: &Server) -> String {
    let (status, v) = s.json("POST", "/auth/login", None, Some(json!({"username": "hr", "password": "demo-pass-e2e"})));
    assert_eq!(status, 200, "{v}");
    v["token"].as_str().unwrap().to_string()
}

pub(crate) fn search_total(s: &Server, token: &str, q: &str) -> (u64, Value) {
    let (status, v) = s.json("GET", &format!("/search?q={}", urlencode(q)), Some(token), None);
    assert_eq!(status, 200, "{v}");
    (v["total"].as_u64().unwrap(), v)
}

#[test]
fn real_binary_upload_search_both_scripts_download() {
    let dir = Install::new();
    install(dir.path());
    let s = Server::start(dir.path());
    let token = login(&s);
    let pid = &s.create_person(
        &token,
        json!({"name": "张伟明", "id_number": id_number("33010619750302001"), "department": "finance"}),
    );
    let pdf = crate::common::fixture("resume-zh.pdf");
    let m = s
        .upload(
            &token,
            pid,
            &json!({"category": "1", "title": "干部履历表", "formed_on": "2021-06"}),
            "resume.pdf",
            &pdf,
        )
        .unwrap();
    assert_eq!(m["text_status"], "done", "{m}");
    let mid = m["id"].as_str().unwrap();
    // 晋升 is written in simplified in the PDF; the traditional 晉升 finds it too.
    for q in ["晋升", "晉升", "履历表核验标记甲"] {
        let (total, v) = search_total(&s, &token, q);
        assert_eq!(total, 1, "{q}: {v}");
        assert_eq!(v["hits"][0]["material_id"], mid);
    }
    assert_eq!(s.download(&token, mid), pdf);

    // Offline commands refuse while the server holds the store.
    let out = Command::new(BIN)
        .args(["verify", "--data", dir.path().to_str().unwrap()])
        .env("DANGAN_LOG", "warn")
        .env("DANGAN_KEY_FILE", key_for(dir.path()))
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("in use"), "{}", String::from_utf8_lossy(&out.stderr));
    drop(s);
    let out = Command::new(BIN)
        .args(["verify", "--data", dir.path().to_str().unwrap()])
        .env("DANGAN_LOG", "warn")
        .env("DANGAN_KEY_FILE", key_for(dir.path()))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["ok"], true);
    assert_eq!(report["blobs"], 1);
}

#[test]
fn wrong_key_is_refused_at_start() {
    let dir = Install::new();
    install(dir.path());
    let other = tempfile::tempdir().unwrap();
    let wrong_key = other.path().join("wrong.key");
    crate::common::write_private_file(&wrong_key, format!("{}\n", "ab".repeat(32)).as_bytes());
    let out = Command::new(BIN)
        .args([
            "serve",
            "--data",
            dir.path().to_str().unwrap(),
            "--listen",
            "127.0.0.1:0",
            "--key-file",
            wrong_key.to_str().unwrap(),
        ])
        .env("DANGAN_LOG", "warn")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("master key does not open this store"), "{err}");
}

#[test]
fn kill_9_during_uploads_loses_no_acknowledged_write() {
    let dir = Install::new();
    install(dir.path());
    let s = Server::start(dir.path());
    let token = login(&s);
    let pid = s.create_person(
        &token,
        json!({"name": "李建国", "id_number": id_number("11010819700101001"), "department": "ops"}),
    );

    // A stream of uploads from another thread; the server is killed while it runs.
    let base = s.base.clone();
    let (tx, rx) = std::sync::mpsc::channel::<(String, String, Vec<u8>)>();
    let uploader = {
        let token = token.clone();
        let pid = pid.clone();
        std::thread::spawn(move || {
            let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).build().into();
            for i in 0..400 {
                let word = format!("流水标记{:04}号", i);
                let bytes =
                    format!("第{i}份材料。{word}。干部人事档案正文，内容足够长以便检索。").repeat(20).into_bytes();
                let (ct, body) =
                    multipart(&json!({"category": "10", "title": format!("材料{i}")}).to_string(), "m.txt", &bytes);
                let resp = agent
                    .post(&format!("{base}/persons/{pid}/materials?wait=false"))
                    .header("authorization", &format!("Bearer {token}"))
                    .header("content-type", &ct)
                    .send(&body[..]);
                match resp {
                    Ok(mut r) if r.status() == 201 => {
                        let v: Value = serde_json::from_str(&r.body_mut().read_to_string().unwrap_or_default())
                            .unwrap_or(Value::Null);
                        if let Some(id) = v["id"].as_str() {
                            let _ = tx.send((id.to_string(), word, bytes));
                        }
                    }
                    _ => return, // the server is gone
                }
            }
        })
    };
    // Let some uploads be acknowledged, then kill -9.
    let mut acked = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    while acked.len() < 25 && Instant::now() < deadline {
        if let Ok(a) = rx.recv_timeout(Duration::from_secs(5)) {
            acked.push(a);
        }
    }
    let mut s = s;
    s.child.kill().unwrap(); // SIGKILL
    s.child.wait().unwrap();
    uploader.join().unwrap();
    acked.extend(rx.try_iter());
    assert!(acked.len() >= 25, "only {} uploads acknowledged", acked.len());
    drop(s);

    let s = Server::start(dir.path());
    let token = login(&s);
    for (id, _, bytes) in &acked {
        assert_eq!(&s.download(&token, id), bytes, "acknowledged upload {id} lost");
    }
    // The index catches up from the durable queue.
    let deadline = Instant::now() + Duration::from_secs(60);
    for (id, word, _) in &acked {
        loop {
            let (total, v) = search_total(&s, &token, word);
            if total == 1 {
                assert_eq!(v["hits"][0]["material_id"], id.as_str());
                break;
            }
            assert!(Instant::now() < deadline, "{word} not found after restart");
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

/// Runs the binary; a command on a data directory gets that installation's key file (beside the data, see
/// [`key_for`]) unless it names one itself.
fn run(args: &[&str], envs: &[(&str, &str)]) -> std::process::Output {
    let mut c = Command::new(BIN);
    c.args(args).env("DANGAN_LOG", "warn");
    if let Some(data) = args.iter().position(|a| *a == "--data").and_then(|i| args.get(i + 1))
        && !args.contains(&"--key-file")
    {
        c.env("DANGAN_KEY_FILE", key_for(Path::new(data)));
    }
    for (k, v) in envs {
        c.env(k, v);
    }
    c.output().unwrap()
}

#[test]
fn key_backup_restores_a_key_that_opens_the_store_and_reindex_rebuilds_search() {
    let dir = Install::new();
    install(dir.path());
    let data = dir.path().to_str().unwrap();
    {
        let s = Server::start(dir.path());
        let token = login(&s);
        let (_, p) = s.json("POST", "/persons", Some(&token), Some(json!({"name": "陈静", "department": "legal"})));
        s.upload(
            &token,
            p["id"].as_str().unwrap(),
            &json!({"category": "10", "title": "劳动合同书", "tags": ["contract"]}),
            "c.docx",
            &crate::common::fixture("contract.docx"),
        )
        .unwrap();
    }
    let backup = dir.path().join("key-backup.json");
    let pass = [("DANGAN_RECOVERY_PASSPHRASE", "correct horse battery staple")];
    let short = run(
        &["keys", "backup", "--data", data, "--out", backup.to_str().unwrap()],
        &[("DANGAN_RECOVERY_PASSPHRASE", "short")],
    );
    assert!(!short.status.success(), "a short passphrase is refused");
    let out = run(&["keys", "backup", "--data", data, "--out", backup.to_str().unwrap()], &pass);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let key_hex = std::fs::read_to_string(key_for(dir.path())).unwrap();
    assert!(
        !std::fs::read_to_string(&backup).unwrap().contains(key_hex.trim()),
        "the backup does not hold the key in the clear"
    );

    // Lose the key file; restore it from the backup elsewhere.
    std::fs::remove_file(key_for(dir.path())).unwrap();
    let restored = dir.path().parent().unwrap().join("restored.key");
    let wrong = run(
        &["keys", "restore", "--in", backup.to_str().unwrap(), "--key-file", restored.to_str().unwrap()],
        &[("DANGAN_RECOVERY_PASSPHRASE", "wrong passphrase here")],
    );
    assert!(!wrong.status.success());
    assert!(!restored.exists());
    let out =
        run(&["keys", "restore", "--in", backup.to_str().unwrap(), "--key-file", restored.to_str().unwrap()], &pass);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let out = run(&["verify", "--data", data, "--key-file", restored.to_str().unwrap()], &[]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));

    // Reindex from the store: delete the index entirely, rebuild, and search still finds the contract.
    std::fs::remove_dir_all(dir.path().join("index")).unwrap();
    let out = run(&["reindex", "--data", data, "--key-file", restored.to_str().unwrap()], &[]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("reindexed 1 materials"));
    std::fs::copy(&restored, key_for(dir.path())).unwrap();
    let s = Server::start(dir.path());
    let token = login(&s);
    assert_eq!(search_total(&s, &token, "竞业限制").0, 1);
}

#[test]
fn a_lost_index_is_rebuilt_at_start() {
    let dir = Install::new();
    install(dir.path());
    {
        let s = Server::start(dir.path());
        let token = login(&s);
        let (_, p) = s.json("POST", "/persons", Some(&token), Some(json!({"name": "林晓", "department": "财务部"})));
        assert_eq!(p["department"], "finance", "a department name is accepted for its code");
        s.upload(
            &token,
            p["id"].as_str().unwrap(),
            &json!({"category": "9-1", "title": "工资调整审批表", "tags": ["salary"]}),
            "s.txt",
            &crate::common::fixture("salary.txt"),
        )
        .unwrap();
    }
    std::fs::remove_dir_all(dir.path().join("index")).unwrap();
    let s = Server::start(dir.path());
    let token = login(&s);
    assert_eq!(search_total(&s, &token, "岗位工资").0, 1);
}

fn add_user(data: &Path, name: &str, role: &str, extra: &[&str]) {
    // Business accounts are linked to a record of their holder, made here.
    let holder = format!("{name}本人");
    let mut args = vec!["users", "add", "--data", data.to_str().unwrap(), "--username", name, "--role", role];
    if !["it", "secadmin", "auditor", "scanner"].contains(&role) {
        args.extend_from_slice(&["--holder-name", &holder]);
    }
    args.extend_from_slice(extra);
    let out = run(&args, &[("DANGAN_NEW_PASSWORD", "demo-pass-e2e")]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

fn login_as(s: &Server, who: &str) -> String {
    let (status, v) = s.json("POST", "/auth/login", None, Some(json!({"username": who, "password": "demo-pass-e2e"})));
    assert_eq!(status, 200, "{v}");
    v["token"].as_str().unwrap().to_string()
}

#[test]
fn kill_9_while_requests_are_applied_leaves_each_applied_exactly_once_or_not_at_all() {
    let dir = Install::new();
    install(dir.path());
    add_user(dir.path(), "finance", "finance", &[]);
    add_user(dir.path(), "leader1", "leader", &["--leader-level", "1"]);
    add_user(dir.path(), "leader2", "leader", &["--leader-level", "2"]);
    let s = Server::start(dir.path());
    let hr = login(&s);
    let (fin, l1, l2) = (login_as(&s, "finance"), login_as(&s, "leader1"), login_as(&s, "leader2"));
    let mut reqs = Vec::new();
    for i in 0..40 {
        let pid = s.create_person(&hr, json!({"name": format!("人员{i}"), "department": "ops", "salary_grade": "10"}));
        let (status, r) = s.json(
            "POST",
            "/requests",
            Some(&hr),
            Some(json!({"kind": "update", "person_id": pid, "changes": {"salary_grade": format!("{}", 20 + i)}})),
        );
        assert_eq!(status, 201, "{r}");
        let rid = r["id"].as_str().unwrap().to_string();
        for t in [&fin, &l1] {
            let (status, v) =
                s.json("POST", &format!("/requests/{rid}/decisions"), Some(t), Some(json!({"decision": "approve"})));
            assert_eq!(status, 200, "{v}");
        }
        reqs.push((rid, pid, 20 + i));
    }
    // The final approvals, which apply the changes, race a kill -9.
    let base = s.base.clone();
    let l2c = l2.clone();
    let list: Vec<String> = reqs.iter().map(|r| r.0.clone()).collect();
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    let approver = std::thread::spawn(move || {
        let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).build().into();
        for rid in list {
            let r = agent
                .post(&format!("{base}/requests/{rid}/decisions"))
                .header("authorization", &format!("Bearer {l2c}"))
                .header("content-type", "application/json")
                .send(json!({"decision": "approve"}).to_string());
            match r {
                Ok(r) if r.status() == 200 => {
                    let _ = tx.send(rid);
                }
                _ => return,
            }
        }
    });
    let mut acked = Vec::new();
    while acked.len() < 12 {
        match rx.recv_timeout(Duration::from_secs(30)) {
            Ok(r) => acked.push(r),
            Err(_) => break,
        }
    }
    let mut s = s;
    s.child.kill().unwrap();
    s.child.wait().unwrap();
    approver.join().unwrap();
    acked.extend(rx.try_iter());
    assert!(acked.len() >= 12);
    drop(s);

    let s = Server::start(dir.path());
    let hr = login(&s);
    let l2 = login_as(&s, "leader2");
    let mut applied = 0;
    for (rid, pid, grade) in &reqs {
        let (_, r) = s.json("GET", &format!("/requests/{rid}"), Some(&hr), None);
        let (_, versions) = s.json("GET", &format!("/persons/{pid}/versions"), Some(&hr), None);
        let naming = versions["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|v| v["reason"].as_str().unwrap_or("").contains(rid.as_str()))
            .count();
        match r["state"].as_str().unwrap() {
            "applied" => {
                applied += 1;
                assert_eq!(naming, 1, "{rid} applied exactly once");
                let (_, p) = s.json("GET", &format!("/persons/{pid}"), Some(&hr), None);
                assert_eq!(p["salary_grade"], grade.to_string());
                assert_eq!(p["version"], 2);
            }
            "in_approval" => {
                assert!(!acked.contains(rid), "an acknowledged approval of {rid} was lost");
                assert_eq!(naming, 0, "{rid} half applied");
                // Approving it now applies it, once.
                let (status, r) = s.json(
                    "POST",
                    &format!("/requests/{rid}/decisions"),
                    Some(&l2),
                    Some(json!({"decision": "approve"})),
                );
                assert_eq!((status, r["state"].as_str()), (200, Some("applied")));
            }
            other => panic!("{rid} in unexpected state {other}"),
        }
    }
    assert!(applied >= acked.len());
}

#[test]
fn backup_restore_verify_round_trips_and_a_damaged_backup_is_refused() {
    let dir = Install::new();
    install(dir.path());
    add_user(dir.path(), "it", "it", &[]);
    let pdf = crate::common::fixture("assessment-tw.pdf");
    let (mid, api_backup) = {
        let s = Server::start(dir.path());
        let token = login(&s);
        let pid = s.create_person(&token, json!({"name": "备份测试", "department": "ops"}));
        let m = s.upload(&token, &pid, &json!({"category": "3", "title": "年度考核登记表"}), "a.pdf", &pdf).unwrap();
        // Online backup through the API: the system administrator may, HR may not.
        let it = login_as(&s, "it");
        let get = |t: &str| {
            s.agent.get(&format!("{}/backup", s.base)).header("authorization", &format!("Bearer {t}")).call().unwrap()
        };
        assert_eq!(get(&token).status(), 403);
        let mut r = get(&it);
        assert_eq!(r.status(), 200);
        let bytes = r.body_mut().with_config().limit(256 * 1024 * 1024).read_to_vec().unwrap();
        (m["id"].as_str().unwrap().to_string(), bytes)
    };
    let data = dir.path().to_str().unwrap();
    let key = key_for(dir.path());
    let file = dir.path().join("offline.backup");
    let out = run(&["backup", "--data", data, "--out", file.to_str().unwrap()], &[]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let bytes = std::fs::read(&file).unwrap();
    assert!(
        !bytes.windows("考覈專用識別語乙".len()).any(|w| w == "考覈專用識別語乙".as_bytes()),
        "nothing readable in a backup"
    );

    for (name, backup) in [("offline", bytes.clone()), ("online", api_backup)] {
        let target = tempfile::tempdir().unwrap();
        let restored = target.path().join("data");
        let f = target.path().join("b");
        std::fs::write(&f, &backup).unwrap();
        let out = run(
            &[
                "restore",
                f.to_str().unwrap(),
                "--data",
                restored.to_str().unwrap(),
                "--key-file",
                key.to_str().unwrap(),
            ],
            &[],
        );
        assert!(out.status.success(), "{name}: {}", String::from_utf8_lossy(&out.stderr));
        assert!(String::from_utf8_lossy(&out.stdout).contains("verify: ok"));
        let out =
            run(&["audit", "verify", "--data", restored.to_str().unwrap(), "--key-file", key.to_str().unwrap()], &[]);
        assert!(out.status.success(), "{name}: {}", String::from_utf8_lossy(&out.stdout));
        std::fs::copy(&key, key_for(&restored)).unwrap();
        let s = Server::start(&restored);
        let token = login(&s);
        assert_eq!(s.download(&token, &mid), pdf, "{name}");
        assert_eq!(search_total(&s, &token, "晉升").0, 1, "{name}: the index is rebuilt from the restored store");
    }

    // One flipped byte: refused whole, nothing left behind.
    let mut damaged = bytes;
    let n = damaged.len() / 2;
    damaged[n] ^= 0x01;
    let target = tempfile::tempdir().unwrap();
    let f = target.path().join("b");
    std::fs::write(&f, &damaged).unwrap();
    let restored = target.path().join("data");
    let out = run(
        &["restore", f.to_str().unwrap(), "--data", restored.to_str().unwrap(), "--key-file", key.to_str().unwrap()],
        &[],
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("refused"), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(!restored.join("store").exists());
}

/// Sends SIGTERM (a clean stop) and waits for the server to exit.
fn terminate(mut s: Server) {
    let pid = s.child.id().to_string();
    assert!(Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
    s.child.wait().unwrap();
}

#[test]
fn audit_entries_of_reads_reach_disk_at_once_in_strict_mode_within_the_window_otherwise_and_at_a_clean_stop() {
    let dir = Install::new();
    install(dir.path());
    add_user(dir.path(), "auditor", "auditor", &[]);
    let probe = |s: &Server, who: &str| {
        let body = json!({"username": who, "password": "wrong"});
        assert_eq!(s.json("POST", "/auth/login", None, Some(body)).0, 401);
    };
    let kill_9 = |mut s: Server| {
        s.child.kill().unwrap();
        s.child.wait().unwrap();
    };

    // Strict: the answer leaves only after its entry is on disk, so an immediate kill -9 keeps it.
    let s = Server::start_with(dir.path(), &[("DANGAN_AUDIT_WINDOW_MS", "0")]);
    probe(&s, "probe-strict");
    kill_9(s);
    // Default window (25 ms): on disk well within a second.
    let s = Server::start(dir.path());
    probe(&s, "probe-window");
    std::thread::sleep(Duration::from_secs(1));
    kill_9(s);
    // A long window, stopped cleanly before it ends: the stop commits what is pending.
    let s = Server::start_with(dir.path(), &[("DANGAN_AUDIT_WINDOW_MS", "1000")]);
    probe(&s, "probe-stop");
    terminate(s);

    let s = Server::start(dir.path());
    let token = login_as(&s, "auditor");
    let (status, v) = s.json("GET", "/audit?action=auth.login&limit=1000", Some(&token), None);
    assert_eq!(status, 200, "{v}");
    let actors: Vec<&str> = v["items"].as_array().unwrap().iter().filter_map(|e| e["actor"].as_str()).collect();
    for who in ["probe-strict", "probe-window", "probe-stop"] {
        assert!(actors.contains(&who), "{who} missing from {actors:?}");
    }
    let (status, v) = s.json("GET", "/audit/verify", Some(&token), None);
    assert_eq!((status, v["ok"].as_bool()), (200, Some(true)), "{v}");
    // An unusable window is refused with a clear message.
    let out = run(&["verify", "--data", dir.path().to_str().unwrap()], &[("DANGAN_AUDIT_WINDOW_MS", "soon")]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("DANGAN_AUDIT_WINDOW_MS"));
}

#[test]
fn a_thousand_file_batch_shows_progress_and_killed_halfway_finishes_on_a_rerun_storing_each_file_once() {
    use std::io::BufRead;
    let dir = Install::new();
    install(dir.path());
    let s = Server::start(dir.path());
    let token = login(&s);
    let idn = id_number("11010119800517001");
    let person = s.create_person(&token, json!({"name": "赵六", "id_number": idn, "department": "hr"}));
    terminate(s);

    let batch = tempfile::tempdir().unwrap();
    let mut catalogue = String::from("身份证号,类别,材料名称,形成时间,页数,文件\n");
    std::fs::create_dir(batch.path().join("pages")).unwrap();
    for i in 0..1000 {
        let name = format!("pages/p{i:04}.txt");
        std::fs::write(batch.path().join(&name), format!("第{i}页 干部人事档案扫描件 正文 {i}")).unwrap();
        catalogue.push_str(&format!("{idn},10,材料{i:04},2020-01-01,1,{name}\n"));
    }
    std::fs::write(batch.path().join("catalogue.csv"), catalogue).unwrap();
    let import = || {
        Command::new(BIN)
            .args(["import", "--data", dir.path().to_str().unwrap(), batch.path().to_str().unwrap(), "--as", "hr"])
            .env("DANGAN_LOG", "warn")
            .env("DANGAN_KEY_FILE", key_for(dir.path()))
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };

    // First run: progress lines on stderr; killed once a good part is done.
    let mut child = import();
    let stderr = std::io::BufReader::new(child.stderr.take().unwrap());
    let mut seen = Vec::new();
    for line in stderr.lines() {
        let line = line.unwrap();
        if let Some(rest) = line.strip_prefix("progress ") {
            let done: usize = rest.split('/').next().unwrap().parse().unwrap();
            seen.push(done);
            if done >= 300 {
                child.kill().unwrap();
                break;
            }
        }
    }
    child.wait().unwrap();
    assert!(seen.len() >= 3 && seen.windows(2).all(|w| w[0] < w[1]), "progress lines: {seen:?}");
    assert!(*seen.last().unwrap() < 1000, "killed too late to test a re-run: {seen:?}");

    // Second run: finishes, storing only what the first did not.
    let out = import().wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    let count = |label: &str| -> usize {
        let at = stdout.find(&format!(" {label}")).unwrap_or_else(|| panic!("{label} in {stdout}"));
        stdout[..at].rsplit([' ', ':']).next().unwrap().parse().unwrap()
    };
    assert!(count("skipped") >= 300, "{stdout}");
    assert_eq!(count("imported") + count("skipped"), 1000, "{stdout}");
    assert!(stdout.contains("files/s") && stdout.contains("MB/s"), "{stdout}");

    let s = Server::start(dir.path());
    let token = login(&s);
    let (status, v) = s.json("GET", &format!("/persons/{person}/materials"), Some(&token), None);
    assert_eq!(status, 200);
    assert_eq!(v["total"], 1000, "every file stored exactly once");
    let hashes: std::collections::HashSet<&str> =
        v["items"].as_array().unwrap().iter().map(|m| m["content_hash"].as_str().unwrap()).collect();
    assert_eq!(hashes.len(), 1000);
}

#[test]
fn an_exported_package_passes_bagit_validation_and_a_receiver_that_trusts_the_sender_imports_it() {
    let from = Install::new();
    install(from.path());
    let s = Server::start(from.path());
    let token = login(&s);
    let person = s.create_person(
        &token,
        json!({"name": "孙七", "id_number": id_number("11010119800517001"), "department": "hr"}),
    );
    let resume = std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/files/resume-zh.pdf")).unwrap();
    s.upload(
        &token,
        &person,
        &json!({"category": "1", "title": "干部履历表", "formed_on": "2019-07"}),
        "r.pdf",
        &resume,
    )
    .unwrap();
    terminate(s);

    let data = |d: &Path| d.to_str().unwrap().to_string();
    let out = run(&["keys", "show", "--data", &data(from.path())], &[]);
    assert!(out.status.success());
    let key = String::from_utf8_lossy(&out.stdout).trim().to_string();
    assert!(key.starts_with("ed25519:") && key.len() == 8 + 64, "{key}");

    let work = tempfile::tempdir().unwrap();
    let package = work.path().join("package.zip");
    let out = run(
        &["export", "--data", &data(from.path()), "--person", &person, "--as", "hr", "--out", &data(&package)],
        &[],
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));

    // Unzipped, the package is a valid BagIt bag for bagit-python.
    let bag_dir = work.path().join("unzipped");
    let mut z = zip::ZipArchive::new(std::fs::File::open(&package).unwrap()).unwrap();
    z.extract(&bag_dir).unwrap();
    let bag = bag_dir.join(format!("dangan-{person}"));
    assert!(bag.join("bagit.txt").exists() && bag.join("data/manifest.json").exists());
    let validated = Command::new("bagit.py").arg("--validate").arg(&bag).output();
    require(validated.is_ok(), "bagit-python (bagit.py)", "pip install bagit");
    let o = validated.unwrap();
    assert!(o.status.success(), "bagit.py: {}", String::from_utf8_lossy(&o.stderr));

    // A receiver that does not trust the sender refuses; one that does files the dossier and answers a receipt.
    let to = Install::new();
    install(to.path());
    let args = ["import-package", "--data", &data(to.path()), &data(&package), "--as", "hr"];
    let out = run(&args, &[]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("unknown sender"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = run(&args, &[("DANGAN_TRUSTED_SENDERS", &key)]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let receipt: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (receipt["sender_trusted"].as_bool(), receipt["materials"].as_u64()),
        (Some(true), Some(1)),
        "{receipt}"
    );
    assert_eq!(format!("ed25519:{}", receipt["sender_key"].as_str().unwrap()), key);
}

/// The exit status and stderr of `serve` that is expected to refuse to start (it exits at once).
fn serve_refused(data: &Path, envs: &[(&str, &str)], extra: &[&str]) -> String {
    let mut c = Command::new(BIN);
    c.args(["serve", "--data", data.to_str().unwrap(), "--listen", "127.0.0.1:0"]).args(extra);
    c.env("DANGAN_LOG", "warn").env_remove("DANGAN_KEY_FILE").env_remove("DANGAN_PASSPHRASE");
    c.env_remove("CREDENTIALS_DIRECTORY");
    for (k, v) in envs {
        c.env(k, v);
    }
    let mut child = c.stdout(Stdio::null()).stderr(Stdio::piped()).spawn().unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            assert!(!status.success());
            let mut err = String::new();
            std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut err).unwrap();
            return err;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("serve started although it should have refused");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn the_key_lives_outside_the_data_and_a_copied_data_directory_opens_nothing() {
    let dir = Install::new();
    install(dir.path());
    let key = key_for(dir.path());
    let key_hex = std::fs::read_to_string(&key).unwrap();

    // No key given: refused, saying how to give one.
    let err = serve_refused(dir.path(), &[], &[]);
    assert!(err.contains("no master key") && err.contains("--key-file"), "{err}");
    // A key inside the data directory (as older versions made it): refused, saying how to move it.
    let inside = dir.path().join("master.key");
    std::fs::rename(&key, &inside).unwrap();
    let err = serve_refused(dir.path(), &[], &[]);
    assert!(err.contains("inside the data directory") && err.contains("dangan keys move"), "{err}");
    let err = serve_refused(dir.path(), &[], &["--key-file", inside.to_str().unwrap()]);
    assert!(err.contains("inside the data directory"), "{err}");
    // Moved out, the server starts with it.
    let out = run(&["keys", "move", "--data", dir.path().to_str().unwrap(), "--to", key.to_str().unwrap()], &[]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(!inside.exists() && key.exists());
    let s = Server::start(dir.path());
    login(&s);
    drop(s);

    // A key file others may read, and a short passphrase, are refused.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
        let err = serve_refused(dir.path(), &[], &["--key-file", key.to_str().unwrap()]);
        assert!(err.contains("chmod 600"), "{err}");
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    let err = serve_refused(dir.path(), &[("DANGAN_PASSPHRASE", "too-short")], &[]);
    assert!(err.contains("at least 12 characters"), "{err}");

    // Every file the server made is its owner's only, and no file under the data holds the key.
    let copy = Install::new();
    let mut stack = vec![dir.path().to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let e = e.unwrap();
            let meta = e.metadata().unwrap();
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                let mode = meta.permissions().mode() & 0o777;
                assert_eq!(mode & 0o077, 0, "{} is {mode:o}", e.path().display());
            }
            if meta.is_dir() {
                stack.push(e.path());
            } else {
                let bytes = std::fs::read(e.path()).unwrap();
                assert!(!bytes.windows(64).any(|w| w == key_hex.trim().as_bytes()), "{}", e.path().display());
            }
        }
    }
    // A copy of the data directory alone (a stolen disk, a snapshot) opens nothing.
    let out = Command::new("cp").args(["-a", dir.path().to_str().unwrap(), copy.path().to_str().unwrap()]).output();
    assert!(out.unwrap().status.success());
    let err = serve_refused(copy.path(), &[], &[]);
    assert!(err.contains("no master key"), "{err}");
    let out = run(&["verify", "--data", copy.path().to_str().unwrap()], &[]);
    assert!(!out.status.success(), "verify opened a copied data directory without its key");
}

#[test]
fn restoring_an_older_backup_under_the_same_witness_is_refused_at_start_until_the_security_administrator_acknowledges()
{
    let root = tempfile::tempdir().unwrap();
    let data = root.path().join("data");
    let witness = root.path().join("audit-witness.jsonl");
    install(&data);
    add_user(&data, "secadmin", "secadmin", &[]);
    add_user(&data, "auditor", "auditor", &[]);
    let d = data.to_str().unwrap();
    let w = witness.to_str().unwrap();
    let env = [("DANGAN_AUDIT_WITNESS", w), ("DANGAN_AUDIT_SYSLOG", "off")];

    // A witness inside the data directory is refused before anything is served.
    // (An address that cannot be bound: were the witness let through, the server would fail, not serve.)
    let inside = format!("{d}/w.jsonl");
    let out = run(&["serve", "--data", d, "--listen", "192.0.2.1:1", "--audit-witness", &inside], &[]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("inside the data directory"));

    let s = Server::start_with(&data, &env);
    let hr = login(&s);
    s.create_person(&hr, json!({"name": "备份之前", "department": "ops"}));
    terminate(s);
    let backup = root.path().join("older.backup");
    let out = run(&["backup", "--data", d, "--out", backup.to_str().unwrap()], &[]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let s = Server::start_with(&data, &env);
    let hr = login(&s);
    s.create_person(&hr, json!({"name": "备份之后", "department": "ops"}));
    terminate(s);
    let last = |path: &Path| -> Value {
        serde_json::from_str(std::fs::read_to_string(path).unwrap().lines().last().unwrap()).unwrap()
    };
    let newest = last(&witness);
    assert_eq!(newest["kind"], "stop", "{newest}");

    // The older backup restored into the data directory (the key stays where it was).
    std::fs::remove_dir_all(data.join("store")).unwrap();
    std::fs::remove_dir_all(data.join("index")).unwrap();
    let out = run(&["restore", backup.to_str().unwrap(), "--data", d], &[]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let out = run(&["audit", "verify", "--data", d], &[]);
    assert!(out.status.success(), "on its own the restored trail holds");
    let out = run(&["audit", "verify", "--data", d, "--witness", w], &[]);
    assert_eq!(out.status.code(), Some(1));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["witness"]["conflict"]["kind"], "behind", "{v}");
    assert_eq!(v["witness"]["conflict"]["witnessed"]["seq"], newest["seq"]);
    assert!(v["problem"].as_str().unwrap().contains(newest["hash"].as_str().unwrap()), "{v}");

    // At start the server holds: sign-in and the acknowledgement only, API and web UI alike.
    let s = Server::start_with(&data, &env);
    assert_eq!(s.json("GET", "/health", None, None).1["status"], "held");
    let hr = login(&s);
    let (status, v) = s.json("GET", "/persons", Some(&hr), None);
    assert_eq!((status, v["type"].as_str()), (503, Some("urn:dangan:problem:audit-rollback")), "{v}");
    let seq = newest["seq"].as_u64().unwrap();
    assert!(v["detail"].as_str().unwrap().contains(&format!("entry {seq}")), "{v}");
    let mut page = s.agent.get(&s.base.replace("/api/v1", "/persons")).call().unwrap();
    assert_eq!(page.status(), 503);
    assert!(page.body_mut().read_to_string().unwrap().contains("审计日志落后于见证记录"));
    let ack = |token: &str| {
        s.json("POST", "/audit/acknowledge-rollback", Some(token), Some(json!({"reason": "恢复了较早的备份，已核实"})))
    };
    assert_eq!(ack(&hr).0, 403);
    let sec = login_as(&s, "secadmin");
    let (status, v) = ack(&sec);
    assert_eq!(status, 200, "{v}");
    let first = v["entry"]["seq"].as_u64().unwrap();
    assert_eq!(s.json("GET", "/persons", Some(&hr), None).0, 200);
    let auditor = login_as(&s, "auditor");
    let (_, v) = s.json("GET", "/audit?action=audit.acknowledge-rollback&limit=10", Some(&auditor), None);
    let e = v["items"].as_array().unwrap().iter().find(|e| e["outcome"] == "allowed").unwrap().clone();
    assert_eq!((e["seq"].as_u64(), e["actor"].as_str()), (Some(first), Some("secadmin")));
    assert!(e["detail"].as_str().unwrap().contains(newest["hash"].as_str().unwrap()), "{e}");
    terminate(s);
    assert_eq!(last(&witness)["kind"], "stop");

    // The witness recorded the acknowledgement: the next start is a normal one, and the trail agrees with it.
    let s = Server::start_with(&data, &env);
    assert_eq!(s.json("GET", "/health", None, None).1["status"], "ok");
    let hr = login(&s);
    assert_eq!(s.json("GET", "/persons", Some(&hr), None).0, 200);
    terminate(s);
    let out = run(&["audit", "verify", "--data", d, "--witness", w], &[]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stdout));
}

#[test]
fn keys_rotate_switches_the_store_to_a_new_key_and_its_trail_still_verifies() {
    let dir = Install::new();
    install(dir.path());
    let old = key_for(dir.path());
    let new = dir.path().parent().unwrap().join("rotated.key");
    let data = dir.path().to_str().unwrap();
    let out = run(&["keys", "rotate", "--data", data, "--new-key-file", new.to_str().unwrap()], &[]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("master key rotated"));
    // The old key opens nothing; the new one opens the store, whose trail records the rotation and verifies.
    let err = serve_refused(dir.path(), &[], &["--key-file", old.to_str().unwrap()]);
    assert!(err.contains("does not open this store"), "{err}");
    let out = run(&["audit", "verify", "--data", data, "--key-file", new.to_str().unwrap()], &[]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stdout));
    std::fs::copy(&new, &old).unwrap();
    let s = Server::start(dir.path());
    let hr = login(&s);
    assert_eq!(s.json("GET", "/me", Some(&hr), None).0, 200, "sessions and names are keyed as before");
    drop(s);
}

/// The whole flow on the 国密 suite: `init --suite gm`, upload, search in both scripts, download (its SM3 in
/// `x-content-sm3`), a refusal under the other suite, audit verify, and a package signed with SM2 that an
/// installation of the default suite verifies and files.
#[test]
fn the_whole_flow_runs_on_the_gm_suite() {
    let dir = Install::new();
    let data = dir.path().to_str().unwrap();
    let out = run(&["init", "--data", data, "--suite", "gm"], &[]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(said.contains("gm cipher suite") && said.contains("sm2:04"), "{said}");
    let again = run(&["init", "--data", data], &[]);
    assert!(!again.status.success() && String::from_utf8_lossy(&again.stderr).contains("already holds"));
    add_hr(dir.path());
    // Under the other suite the store refuses to open, offline and at start, saying which suite it has.
    let out = run(&["verify", "--data", data], &[("DANGAN_SUITE", "default")]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--suite gm"), "{}", String::from_utf8_lossy(&out.stderr));
    let err = serve_refused(
        dir.path(),
        &[("DANGAN_KEY_FILE", key_for(dir.path()).to_str().unwrap())],
        &["--suite", "default"],
    );
    assert!(err.contains("created under the gm cipher suite"), "{err}");

    let s = Server::start(dir.path());
    assert_eq!(s.json("GET", "/health", None, None).1["suite"], "gm");
    let token = login(&s);
    let pid = s.create_person(
        &token,
        json!({"name": "欧阳国密", "id_number": id_number("44010619800101001"), "department": "finance"}),
    );
    let pdf = crate::common::fixture("resume-zh.pdf");
    let meta = json!({"category": "1", "title": "干部履历表", "formed_on": "2021-06"});
    let m = s.upload(&token, &pid, &meta, "resume.pdf", &pdf).unwrap();
    assert_eq!(m["text_status"], "done", "{m}");
    assert_eq!(m["content_hash"], dangan::crypto::Suite::Gm.hash_hex(&pdf), "the content hash is SM3");
    let mid = m["id"].as_str().unwrap();
    for q in ["晋升", "晉升", "履历表核验标记甲", "欧阳国密"] {
        let (total, v) = search_total(&s, &token, q);
        assert_eq!(total, 1, "{q}: {v}");
    }
    let resp = s
        .agent
        .get(&format!("{}/materials/{mid}/content", s.base))
        .header("authorization", &format!("Bearer {token}"))
        .call()
        .unwrap();
    assert_eq!(resp.headers().get("x-content-sm3").unwrap().to_str().unwrap(), m["content_hash"].as_str().unwrap());
    assert!(resp.headers().get("x-content-blake3").is_none());
    assert_eq!(s.download(&token, mid), pdf);
    terminate(s);

    let out = run(&["audit", "verify", "--data", data], &[]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["ok"], true, "{report}");
    let out = run(&["verify", "--data", data], &[]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));

    // The key's backup is sealed with SM4-GCM, and restores the key.
    let backup = dir.path().parent().unwrap().join("key-backup.json");
    let pass = [("DANGAN_RECOVERY_PASSPHRASE", "correct horse battery staple")];
    let out = run(&["keys", "backup", "--data", data, "--out", backup.to_str().unwrap()], &pass);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(&backup).unwrap()).unwrap();
    assert_eq!(doc["cipher"], "sm4-gcm");
    let restored = dir.path().parent().unwrap().join("restored.key");
    let out =
        run(&["keys", "restore", "--in", backup.to_str().unwrap(), "--key-file", restored.to_str().unwrap()], &pass);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(std::fs::read_to_string(&restored).unwrap(), std::fs::read_to_string(key_for(dir.path())).unwrap());

    // A package signed with SM2 over SM3 content hashes; a default-suite receiver that trusts the key files it.
    let out = run(&["keys", "show", "--data", data], &[]);
    let key = String::from_utf8_lossy(&out.stdout).trim().to_string();
    assert!(key.starts_with("sm2:04") && key.len() == 4 + 130, "{key}");
    let work = tempfile::tempdir().unwrap();
    let package = work.path().join("package.zip");
    let out = run(&["export", "--data", data, "--person", &pid, "--as", "hr", "--out", package.to_str().unwrap()], &[]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let mut z = zip::ZipArchive::new(std::fs::File::open(&package).unwrap()).unwrap();
    let mut manifest = String::new();
    std::io::Read::read_to_string(&mut z.by_name(&format!("dangan-{pid}/data/manifest.json")).unwrap(), &mut manifest)
        .unwrap();
    let manifest: Value = serde_json::from_str(&manifest).unwrap();
    let version = &manifest["materials"][0]["versions"][0];
    assert_eq!((&version["sm3"], version.get("blake3")), (&m["content_hash"], None), "{manifest}");
    let to = Install::new();
    install(to.path());
    let args = ["import-package", "--data", to.path().to_str().unwrap(), package.to_str().unwrap(), "--as", "hr"];
    let out = run(&args, &[("DANGAN_TRUSTED_SENDERS", &key)]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let receipt: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!((receipt["sender_trusted"].as_bool(), receipt["materials"].as_u64()), (Some(true), Some(1)));
    let receiver = run(&["keys", "show", "--data", to.path().to_str().unwrap()], &[]);
    assert!(String::from_utf8_lossy(&receiver.stdout).starts_with("ed25519:"));
}
