//! The TestApp: a real installation (sled + Tantivy in a temporary directory, the isolated extractor as a
//! child process of the real binary) behind the real router, called in-process with `Router::oneshot`.

#![allow(dead_code)]

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode};
use dangan::crypto::MasterKey;
use dangan::extract::Extractor;
use dangan::model::Role;
use dangan::service::auth::NewUser;
use dangan::service::{Archive, Config};
use http_body_util::BodyExt;
use serde_json::Value;
use std::path::PathBuf;
use std::time::Duration;
use tower::ServiceExt;

pub const PASSWORD: &str = "demo-pass";

pub fn worker_extractor() -> Extractor {
    Extractor::with_worker(
        PathBuf::from(env!("CARGO_BIN_EXE_dangan")),
        vec!["extract-worker".into()],
        Duration::from_secs(60),
    )
}

/// The extractor with OCR when tesseract is installed (tests of scans; the demo-loading tests skip OCR's cost).
pub fn ocr_extractor() -> Extractor {
    worker_extractor().with_ocr(dangan::extract::ocr::detect())
}

pub struct TestApp {
    pub router: Router,
    pub archive: Archive,
    pub dir: tempfile::TempDir,
}

pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Answer {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|_| panic!("not JSON: {}", String::from_utf8_lossy(&self.body)))
    }
    pub fn header(&self, name: &str) -> String {
        self.headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default().to_string()
    }
}

pub const BODY_LIMIT: usize = 2 * 1024 * 1024;

impl TestApp {
    /// A fresh installation with one account per role of interest: `hr` and `finance`, each linked to its
    /// holder's own person record (人事专员甲 of hr, 财务专员乙 of finance — a business account reads nothing
    /// until it is linked), and `it`.
    pub async fn new() -> TestApp {
        Self::with_config(Config::default()).await
    }

    /// [`TestApp::new`] with this configuration.
    pub async fn with_config(config: Config) -> TestApp {
        Self::with_extractor_and_config(ocr_extractor(), config).await
    }

    /// [`TestApp::new`] with this extractor (e.g. a worker with small limits).
    pub async fn with_extractor(extractor: Extractor) -> TestApp {
        Self::with_extractor_and_config(extractor, Config::default()).await
    }

    /// [`TestApp::new`] with this extractor and this configuration.
    pub async fn with_extractor_and_config(extractor: Extractor, config: Config) -> TestApp {
        let dir = tempfile::tempdir().unwrap();
        let key = MasterKey::generate().unwrap();
        let archive = dangan::bootstrap::open(dir.path(), &key, extractor, config).unwrap();
        let app = TestApp { router: dangan::server::router(archive.clone(), BODY_LIMIT), archive, dir };
        for (name, role) in [("hr", Role::Hr), ("finance", Role::Finance), ("it", Role::It)] {
            app.add_account(name, vec![role], Some(name), None, None).await;
        }
        app.link_holder("hr", "人事专员甲", "65432119700101771", "hr").await;
        app.link_holder("finance", "财务专员乙", "65432119700101773", "finance").await;
        app
    }

    /// A TestApp over an installation opened elsewhere (its directory kept by the caller).
    pub fn over(archive: Archive) -> TestApp {
        TestApp {
            router: dangan::server::router(archive.clone(), BODY_LIMIT),
            archive,
            dir: tempfile::tempdir().unwrap(),
        }
    }

    /// Creates the person record of `user`'s holder (as HR) and links the account to it: a business account reads
    /// nothing until it is linked.
    pub async fn link_holder(&self, user: &'static str, name: &str, first17: &str, department: &str) {
        let hr = self.login("hr").await;
        let p = self.create_person(&hr, person_body(name, &id_number(first17), department)).await;
        let pid = p["id"].as_str().unwrap().parse().unwrap();
        let a = self.archive.clone();
        tokio::task::spawn_blocking(move || a.accounts().link_user_local(user, pid).unwrap()).await.unwrap();
    }

    /// Adds an account on the local path (as `dangan users add` does, without the password policy: its password
    /// is [`PASSWORD`]).
    pub async fn add_account(
        &self,
        name: &str,
        roles: Vec<Role>,
        department: Option<&str>,
        person: Option<dangan::model::PersonId>,
        leader_level: Option<u8>,
    ) {
        let a = self.archive.clone();
        let department = department.map(str::to_string);
        let name = name.to_string();
        tokio::task::spawn_blocking(move || {
            local_account(&a, &name, roles, department.as_deref(), person, leader_level)
        })
        .await
        .unwrap();
    }

    /// Adds the reviewers and approvers a request about a cadre needs beyond `finance`: `legal`, `leader1`
    /// (level 1) and `leader2` (level 2), each linked to a person record of its holder.
    pub async fn add_approvers(&self) {
        let hr = self.login("hr").await;
        for (user, role, level, idn) in [
            ("legal", Role::Legal, None, "65432119700101791"),
            ("leader1", Role::Leader, Some(1), "65432119700101813"),
            ("leader2", Role::Leader, Some(2), "65432119700101835"),
        ] {
            let p = self.create_person(&hr, person_body(&format!("{user}本人"), &id_number(idn), "admin")).await;
            let pid = p["id"].as_str().unwrap().parse().unwrap();
            self.add_account(user, vec![role], Some("admin"), Some(pid), level).await;
        }
    }

    /// Concludes a special review (专项审核) of `person` through its whole flow, as a promotion needs one (凡提必审):
    /// see [`conclude_review`].
    pub async fn conclude_review(&self, person: &str) {
        let a = self.archive.clone();
        let pid = person.parse().unwrap();
        tokio::task::spawn_blocking(move || conclude_review(&a, pid)).await.unwrap();
    }

    /// Each of `who`, in turn, approves its step of the request; returns the request as the last left it.
    pub async fn approve_as(&self, request: &str, who: &[&str]) -> Value {
        let mut last = Value::Null;
        for user in who {
            let t = self.login(user).await;
            let a = self
                .send(
                    Method::POST,
                    &format!("/api/v1/requests/{request}/decisions"),
                    Some(&t),
                    Some(serde_json::json!({"decision": "approve", "comment": "同意"})),
                )
                .await;
            assert_eq!(a.status, StatusCode::OK, "{user}: {}", String::from_utf8_lossy(&a.body));
            last = a.json();
        }
        last
    }

    pub async fn call(&self, req: Request<Body>) -> Answer {
        let resp = self.router.clone().oneshot(req).await.unwrap();
        let status = resp.status();
        let headers = resp.headers().clone();
        let body = resp.into_body().collect().await.unwrap().to_bytes().to_vec();
        Answer { status, headers, body }
    }

    pub async fn send(&self, method: Method, path: &str, token: Option<&str>, json: Option<Value>) -> Answer {
        let mut b = Request::builder().method(method).uri(path);
        if let Some(t) = token {
            b = b.header("authorization", format!("Bearer {t}"));
        }
        let req = match json {
            Some(v) => b.header("content-type", "application/json").body(Body::from(v.to_string())).unwrap(),
            None => b.body(Body::empty()).unwrap(),
        };
        self.call(req).await
    }

    pub async fn login(&self, user: &str) -> String {
        let a = self
            .send(
                Method::POST,
                "/api/v1/auth/login",
                None,
                Some(serde_json::json!({"username": user, "password": PASSWORD})),
            )
            .await;
        assert_eq!(a.status, StatusCode::OK, "{}", String::from_utf8_lossy(&a.body));
        a.json()["token"].as_str().unwrap().to_string()
    }

    /// Searches for `q` (URL-encoded here) and returns the answer's JSON.
    pub async fn search(&self, token: &str, q: &str) -> Value {
        let a = self
            .send(Method::GET, &format!("/api/v1/search?q={}", crate::http_api::urlencode(q)), Some(token), None)
            .await;
        assert_eq!(a.status, StatusCode::OK, "{}", String::from_utf8_lossy(&a.body));
        a.json()
    }

    pub async fn create_person(&self, token: &str, body: Value) -> Value {
        let a = self.send(Method::POST, "/api/v1/persons", Some(token), Some(body)).await;
        assert_eq!(a.status, StatusCode::CREATED, "{}", String::from_utf8_lossy(&a.body));
        a.json()
    }

    pub async fn upload(&self, token: &str, person: &str, meta: Value, file_name: &str, bytes: &[u8]) -> Answer {
        let (ct, body) = multipart(&meta.to_string(), file_name, bytes);
        let req = Request::builder()
            .method(Method::POST)
            .uri(format!("/api/v1/persons/{person}/materials"))
            .header("authorization", format!("Bearer {token}"))
            .header("content-type", ct)
            .body(Body::from(body))
            .unwrap();
        self.call(req).await
    }
}

/// A multipart/form-data body with parts `meta` (JSON) and `file`.
pub fn multipart(meta: &str, file_name: &str, bytes: &[u8]) -> (String, Vec<u8>) {
    let boundary = "----dangan-test-boundary-7d1f";
    let mut body = Vec::new();
    body.extend_from_slice(
        format!("--{boundary}\r\nContent-Disposition: form-data; name=\"meta\"\r\nContent-Type: application/json\r\n\r\n{meta}\r\n").as_bytes(),
    );
    body.extend_from_slice(
        format!("--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{file_name}\"\r\nContent-Type: application/octet-stream\r\n\r\n").as_bytes(),
    );
    body.extend_from_slice(bytes);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

/// A valid person body.
pub fn person_body(name: &str, id_number: &str, department: &str) -> Value {
    serde_json::json!({
        "name": name,
        "id_number": id_number,
        "department": department,
        "ethnicity": "汉族",
        "work_start": "2005-07",
        "position": "科员",
    })
}

/// Computes a valid ID number from a 17-digit prefix.
pub fn id_number(first17: &str) -> String {
    let c = dangan::model::idnumber::check_char(first17.as_bytes());
    format!("{first17}{c}")
}

pub fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/files").join(name)).unwrap()
}

/// A fresh installation with the demo dataset (three cadres per department), its text indexed.
pub async fn demo_app() -> TestApp {
    let dir = tempfile::tempdir().unwrap();
    let archive =
        dangan::bootstrap::open(dir.path(), &MasterKey::generate().unwrap(), worker_extractor(), Config::default())
            .unwrap();
    let a = archive.clone();
    tokio::task::spawn_blocking(move || {
        dangan::service::demo::load(&a, dangan::service::demo::DemoOptions { persons_per_department: 3 }).unwrap();
        a.indexing().wait_queue_empty(std::time::Duration::from_secs(120)).unwrap();
    })
    .await
    .unwrap();
    TestApp { router: dangan::server::router(archive.clone(), BODY_LIMIT), archive, dir }
}

/// A material once its text is no longer pending (OCR can outlast an upload's wait on a busy machine).
pub async fn text_settled(app: &TestApp, token: &str, material: &str) -> Value {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(180);
    loop {
        let m = app.send(Method::GET, &format!("/api/v1/materials/{material}"), Some(token), None).await.json();
        if m["text_status"] != "pending" || std::time::Instant::now() > deadline {
            return m;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
}

/// The person ids of the cadres who hold an account.
pub fn account_holders(app: &TestApp) -> Vec<String> {
    app.archive.accounts().users().unwrap().into_iter().filter_map(|u| u.person_id.map(|p| p.to_string())).collect()
}

/// A cadre of `dept` who holds no account (so no hard rule about one's own dossier gets in the way).
pub async fn cadre(app: &TestApp, hr: &str, dept: &str) -> Value {
    let list = app.send(Method::GET, &format!("/api/v1/persons?department={dept}"), Some(hr), None).await.json();
    let holders = account_holders(app);
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| !holders.contains(&p["id"].as_str().unwrap().to_string()))
        .unwrap()
        .clone()
}

/// The values of `field` (`actor`, `action`, …) of the denied entries of an audit-trail answer.
pub fn denied<'a>(trail: &'a Value, field: &str) -> Vec<&'a str> {
    trail["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["outcome"] == "denied")
        .map(|e| e[field].as_str().unwrap())
        .collect()
}

/// Writes a file readable by its owner only (as a key file must be).
pub fn write_private_file(path: &std::path::Path, bytes: &[u8]) {
    dangan::crypto::write_private(path, bytes).unwrap();
}

/// Creates an account on the local path (as `dangan users add` does, without the password policy: its password
/// is [`PASSWORD`]). Blocking: call it off the async runtime, or before one runs.
pub fn local_account(
    archive: &Archive,
    name: &str,
    roles: Vec<Role>,
    department: Option<&str>,
    person: Option<dangan::model::PersonId>,
    leader_level: Option<u8>,
) -> dangan::model::User {
    archive
        .accounts()
        .create_demo_user(NewUser {
            username: name.into(),
            display_name: name.into(),
            password: PASSWORD.into(),
            roles,
            department: department.map(str::to_string),
            person_id: person,
            leader_level,
        })
        .unwrap()
}

/// Concludes a special review of `person` through its whole flow — recorded by HR with the record's own dates as
/// the determined values (evidence: a 履历表 filed for it), then 初审, 复审, 认定 and 组织审批 — by accounts made
/// for it (each linked to a record of its holder, in `admin`) and disabled right after, so that the test's own
/// routing and inboxes are as they were. The record is confirmed as it stands: no new person version.
pub fn conclude_review(a: &Archive, person: dangan::model::PersonId) {
    use dangan::model::RequestKind;
    use dangan::service::workflows::NewRequest;
    static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let made = |role: &str, roles: Vec<Role>, dept: Option<&str>, level: Option<u8>| {
        let name = format!("review{n}-{role}");
        let holder = roles
            .iter()
            .any(|r| r.needs_person_link())
            .then(|| a.accounts().create_holder_record(&format!("专审{n}{role}"), "admin").unwrap());
        let u = local_account(a, &name, roles, dept, holder, level);
        (u.username.clone(), a.accounts().principal_for(u, "test").unwrap())
    };
    let (hr_id, hr) = made("hr", vec![Role::Hr], Some("hr"), None);
    let record = a.persons().get(&hr, person).unwrap().person;
    let deciders = [
        made("admin", vec![Role::Admin], Some("admin"), None),
        made("head", vec![Role::Head], Some(&record.department), None),
        made("leader1", vec![Role::Leader], Some("admin"), Some(1)),
        made("leader2", vec![Role::Leader], Some("admin"), Some(2)),
    ];
    let meta =
        dangan::model::MaterialMeta {
            category: "1".into(), title: "干部履历表（专审）".into(), ..Default::default()
        };
    let resume = a.filing().add(&hr, person, meta, "干部履历表".as_bytes(), None, false).unwrap().id;
    let mut entries = Vec::new();
    for (item, value) in [
        ("birth_date", record.birth_date.map(|d| d.to_string())),
        ("work_start", record.work_start.map(|d| d.to_string())),
        ("party_join", record.party_join.map(|d| d.to_string())),
        ("education", record.education.clone()),
    ] {
        if let Some(v) = value {
            entries.push(serde_json::json!({"item": item, "determined": v, "evidence": [resume]}));
        }
    }
    let input = serde_json::from_value(serde_json::json!({"entries": entries})).unwrap();
    a.reviews().record(&hr, person, None, input).unwrap();
    let new = NewRequest {
        kind: RequestKind::SpecialReview,
        person_id: Some(person),
        changes: serde_json::json!({}),
        reason: Some("专项审核".into()),
        draft: false,
    };
    let r = a.requests().create(&hr, new).unwrap();
    for (_, p) in &deciders {
        a.requests().decide(p, r.id, "approve", None).unwrap();
    }
    let (_, it) = made("it", vec![Role::It], None, None);
    for name in std::iter::once(hr_id).chain(deciders.into_iter().map(|(n, _)| n)) {
        let id = a.accounts().user_by_name(&name).unwrap().unwrap().id;
        let patch = dangan::service::admin::UserPatch { disabled: Some(true), ..Default::default() };
        a.accounts().update(&it, id, patch).unwrap();
    }
}

/// What a test needs of the machine (a tool, a kernel feature): missing, the test fails — it is never skipped in
/// silence. `.ci/run` installs the tools; to run the suite without one, leave its tests out by name
/// (`cargo test -- --skip <test>`), so the report says they did not run.
pub fn require(found: bool, what: &str, install: &str) {
    assert!(
        found,
        "{what} is needed by this test and is missing ({install}). `.ci/run` installs it; to leave the test out, say \
         so: cargo test -- --skip <this test's name>"
    );
}
