//! The web UI in a real browser (issue 6): headless Chromium, driven over W3C WebDriver (Debian's `chromedriver`)
//! with the `thirtyfour` client, against the real binary serving the demo dataset. HR signs in through the login
//! form, searches a Chinese word and sees highlighted hits, opens a dossier from a hit, files a PDF through the
//! dossier's upload form, starts a promotion; each reviewer and approver the request names signs in, in turn, and
//! approves it from the inbox; HR sees the new position on the dossier. Finance finds nothing with a word only a
//! labour contract holds. A second browser with JavaScript switched off searches, opens the dossier and downloads
//! the file. HR reviews the demo's scanning batch on its 抽检 page and records a defect. Every main page is photographed (1280×900) into `target/screenshots/`.
//!
//! Without `chromium` and `chromedriver` on the PATH the test fails (`.ci/run` installs them; leave it out
//! explicitly with `cargo test -- --skip browser`).

use crate::common::require;
use crate::http_api::urlencode;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use thirtyfour::common::command::FormatRequestData;
use thirtyfour::prelude::*;
use thirtyfour::{RequestData, SessionId};

const BIN: &str = env!("CARGO_BIN_EXE_dangan");
const PASSWORD: &str = "demo-pass";
/// How long a page may take to show what a step waits for.
const WAIT: Duration = Duration::from_secs(30);
/// The size of every screenshot (the browser's viewport).
const VIEWPORT: (u32, u32) = (1280, 900);

/// A child process killed (and reaped) when the guard goes.
struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(120)))
        .build()
        .into()
}

/// A program on the PATH.
fn on_path(names: &[&str]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).flat_map(|dir| names.iter().map(move |n| dir.join(n))).find(|p| p.is_file())
}

/// Polls `f` until it answers `Some`, at most `WAIT`; panics naming `what` otherwise.
async fn wait_until<T>(what: &str, f: impl AsyncFn() -> Option<T>) -> T {
    let deadline = Instant::now() + WAIT;
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out after {WAIT:?} waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The real binary serving the demo dataset (`dangan demo`) on a free port.
struct Demo {
    server: Proc,
    root: String,
    agent: ureq::Agent,
    /// The data directory and the server's log.
    dir: tempfile::TempDir,
}

impl Demo {
    fn start() -> Demo {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let log = std::fs::File::create(dir.path().join("demo.log")).unwrap();
        let child = Command::new(BIN)
            .args(["demo", "--persons-per-department", "6", "--listen", &format!("127.0.0.1:{port}"), "--data"])
            .arg(dir.path().join("data"))
            .env("DANGAN_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap();
        let mut d = Demo { server: Proc(child), root: format!("http://127.0.0.1:{port}"), agent: agent(), dir };
        // Loading the demo (extraction, OCR of its scans when tesseract is there) comes before the server listens.
        let deadline = Instant::now() + Duration::from_secs(180);
        loop {
            if let Ok(r) = d.agent.get(&d.url("/api/v1/health")).call()
                && r.status() == 200
            {
                return d;
            }
            let log = || std::fs::read_to_string(d.dir.path().join("demo.log")).unwrap_or_default();
            if let Some(status) = d.server.0.try_wait().unwrap() {
                panic!("dangan demo exited ({status}): {}", log());
            }
            assert!(Instant::now() < deadline, "dangan demo did not come up: {}", log());
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.root)
    }

    /// An API call: status and JSON answer.
    fn api(&self, method: &str, path: &str, token: Option<&str>, body: Option<Value>) -> (u16, Value) {
        let url = self.url(&format!("/api/v1{path}"));
        let auth = token.map(|t| format!("Bearer {t}")).unwrap_or_default();
        let mut resp = if method == "GET" {
            self.agent.get(&url).header("authorization", &auth).call().unwrap()
        } else {
            self.agent
                .post(&url)
                .header("authorization", &auth)
                .header("content-type", "application/json")
                .send(body.unwrap_or(json!({})).to_string())
                .unwrap()
        };
        let status = resp.status().as_u16();
        let text = resp.body_mut().read_to_string().unwrap_or_default();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    fn get(&self, path: &str, token: &str) -> Value {
        let (status, v) = self.api("GET", path, Some(token), None);
        assert_eq!(status, 200, "GET {path}: {v}");
        v
    }

    fn token(&self, user: &str) -> String {
        let (status, v) = self.api("POST", "/auth/login", None, Some(json!({"username": user, "password": PASSWORD})));
        assert_eq!(status, 200, "login {user}: {v}");
        v["token"].as_str().unwrap().to_string()
    }
}

/// `chromedriver` on a free port.
struct Driver {
    _proc: Proc,
    root: String,
    chromium: PathBuf,
}

impl Driver {
    async fn start(program: &Path, chromium: &Path) -> Driver {
        let port = free_port();
        let child = Command::new(program)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let d =
            Driver { _proc: Proc(child), root: format!("http://127.0.0.1:{port}"), chromium: chromium.to_path_buf() };
        wait_until("chromedriver to listen", async || tokio::net::TcpStream::connect(("127.0.0.1", port)).await.ok())
            .await;
        d
    }

    /// A new browser: headless Chromium with a fresh profile (the flags this machine needs: no sandbox as root,
    /// no background connections to a closed network), JavaScript on or off; downloads go to `downloads`.
    async fn session(&self, javascript: bool, downloads: &Path) -> Browser {
        // The WebDriver client is reqwest, which dangan builds with rustls and no crypto provider of its own (the
        // product installs ring where it makes a client): so does the test, before its client is made.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let profile = tempfile::tempdir().unwrap();
        let mut args = vec![
            "--headless".to_string(),
            "--no-sandbox".into(),
            "--disable-gpu".into(),
            "--disable-dev-shm-usage".into(),
            "--disable-quic".into(),
            "--no-first-run".into(),
            "--disable-background-networking".into(),
            "--disable-component-update".into(),
            "--disable-sync".into(),
            "--lang=zh-CN".into(),
            format!("--window-size={},{}", VIEWPORT.0, VIEWPORT.1),
            format!("--user-data-dir={}", profile.path().display()),
        ];
        if !javascript {
            args.push("--blink-settings=scriptEnabled=false".into());
        }
        let mut caps = DesiredCapabilities::chrome();
        caps.set_binary(self.chromium.to_str().unwrap()).unwrap();
        for a in &args {
            caps.add_arg(a).unwrap();
        }
        let prefs = json!({
            "download.default_directory": downloads,
            "download.prompt_for_download": false,
            "profile.managed_default_content_settings.javascript": if javascript { 1 } else { 2 },
        });
        caps.add_experimental_option("prefs", prefs).unwrap();
        let driver = WebDriver::builder(self.root.as_str(), caps)
            .request_timeout(Duration::from_secs(120))
            .await
            .unwrap_or_else(|e| panic!("no browser session from chromedriver: {e}"));
        let b = Browser { driver, _profile: profile, shots: screenshot_dir() };
        b.size_viewport().await;
        b
    }
}

/// A WebDriver session: one browser window. [`Browser::close`] ends it (a browser dropped on a panic is ended
/// by the client's own fallback).
struct Browser {
    driver: WebDriver,
    _profile: tempfile::TempDir,
    shots: PathBuf,
}

/// W3C WebDriver's wheel input (`POST /session/{id}/actions`), which the client's action chains do not offer.
#[derive(Debug)]
struct WheelActions(Value);

impl FormatRequestData for WheelActions {
    fn format_request(&self, session: &SessionId) -> RequestData {
        RequestData::new(axum::http::Method::POST, format!("session/{session}/actions")).add_body(self.0.clone())
    }
}

/// `target/screenshots`, created.
fn screenshot_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).parent().unwrap().join("screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Width and height of a PNG.
fn png_size(png: &[u8]) -> (u32, u32) {
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n") && png.len() > 24, "not a PNG");
    let be = |b: &[u8]| u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
    (be(&png[16..20]), be(&png[20..24]))
}

impl Browser {
    /// Ends the session (closes the browser).
    async fn close(self) {
        self.driver.quit().await.unwrap();
    }

    /// Makes the viewport (what a screenshot holds) `VIEWPORT`: the window is that plus the browser's frame.
    async fn size_viewport(&self) {
        let (w, h) = VIEWPORT;
        let mut height = h;
        for _ in 0..3 {
            self.driver.set_window_rect(0, 0, w, height).await.unwrap();
            let (_, got) = png_size(&self.png().await);
            if got == h {
                return;
            }
            height = (height + h).saturating_sub(got);
        }
    }

    async fn goto(&self, url: &str) {
        self.driver.goto(url).await.unwrap();
    }

    async fn url(&self) -> String {
        self.driver.current_url().await.unwrap().to_string()
    }

    async fn title(&self) -> String {
        self.driver.title().await.unwrap()
    }

    async fn source(&self) -> String {
        self.driver.source().await.unwrap_or_default()
    }

    async fn find_all(&self, css: &str) -> Vec<WebElement> {
        self.driver.find_all(By::Css(css)).await.unwrap_or_default()
    }

    /// Waits until the page holds an element matching `css`; on timeout, says where the browser is.
    async fn wait_for(&self, css: &str) -> WebElement {
        let deadline = Instant::now() + WAIT;
        loop {
            if let Some(e) = self.find_all(css).await.into_iter().next() {
                return e;
            }
            if Instant::now() > deadline {
                let src = self.source().await;
                let main = src.find("<main").map(|i| &src[i..]).unwrap_or(&src);
                let at = self.url().await;
                panic!("no {css} at {at} after {WAIT:?}: {}", main.chars().take(3000).collect::<String>());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Does `act` on the element matching `css`, again if the page replaced it meanwhile.
    async fn on<T>(&self, css: &str, what: &str, act: impl AsyncFn(&WebElement) -> WebDriverResult<T>) -> T {
        let mut last = String::new();
        for _ in 0..5 {
            let e = self.wait_for(css).await;
            match act(&e).await {
                Ok(v) => return v,
                Err(err) => last = err.to_string(),
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("{what} {css}: {last}");
    }

    async fn click(&self, css: &str) {
        self.on(css, "click", async |e| e.click().await).await
    }

    /// Types into a field (a file input takes the path of the file to send).
    async fn fill(&self, css: &str, text: &str) {
        self.on(css, "fill", async |e| {
            if e.prop("type").await?.as_deref() != Some("file") {
                e.clear().await?;
            }
            e.send_keys(text).await
        })
        .await
    }

    /// Chooses an option of a `<select>`.
    async fn select(&self, select: &str, value: &str) {
        self.click(&format!("{select} option[value=\"{value}\"]")).await;
    }

    async fn text(&self, css: &str) -> String {
        self.on(css, "text of", async |e| e.text().await).await
    }

    async fn texts(&self, css: &str) -> Vec<String> {
        let mut out = Vec::new();
        for e in self.find_all(css).await {
            if let Ok(t) = e.text().await {
                out.push(t);
            }
        }
        out
    }

    async fn attribute(&self, css: &str, name: &str) -> String {
        self.on(css, "attribute of", async |e| e.attr(name).await).await.unwrap_or_default()
    }

    /// Waits until the element matching `css` says `needle`.
    async fn wait_text(&self, css: &str, needle: &str) -> String {
        let deadline = Instant::now() + WAIT;
        loop {
            let t = self.text(css).await;
            if t.contains(needle) {
                return t;
            }
            let at = self.url().await;
            assert!(Instant::now() < deadline, "{css} at {at} never said {needle:?}; it says {t:?}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn wait_url(&self, needle: &str) -> String {
        wait_until(&format!("an address with {needle}"), async || Some(self.url().await).filter(|u| u.contains(needle)))
            .await
    }

    async fn png(&self) -> Vec<u8> {
        self.driver.screenshot_as_png().await.unwrap()
    }

    /// Scrolls (with the mouse wheel: no script runs) so that the element matching `css` starts `margin` pixels
    /// below the top of the window.
    async fn scroll_to(&self, css: &str, margin: i64) {
        let rect = self.on(css, "rect of", async |e| e.rect().await).await;
        let dy = rect.y as i64 - margin;
        let scroll = json!({"type": "scroll", "x": 10, "y": 10, "deltaX": 0, "deltaY": dy, "origin": "viewport"});
        let actions = json!({"actions": [{"type": "wheel", "id": "wheel", "actions": [scroll]}]});
        self.driver.cmd(WheelActions(actions)).await.unwrap();
    }

    /// Waits until the window stops changing (a PDF viewer has drawn its page), at most `WAIT`, then writes it
    /// like `screenshot`.
    async fn screenshot_when_still(&self, name: &str) -> PathBuf {
        let deadline = Instant::now() + WAIT;
        let (mut same, mut last) = (0, self.png().await);
        while same < 3 && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(250)).await;
            let png = self.png().await;
            same = if png == last { same + 1 } else { 0 };
            last = png;
        }
        self.screenshot(name).await
    }

    /// Writes what the window shows to `target/screenshots/<name>.png`.
    async fn screenshot(&self, name: &str) -> PathBuf {
        let png = self.png().await;
        assert_eq!(png_size(&png), VIEWPORT, "{name}");
        let path = self.shots.join(format!("{name}.png"));
        std::fs::write(&path, png).unwrap();
        path
    }

    /// Signs in through the login form.
    async fn login(&self, demo: &Demo, user: &str) {
        self.goto(&demo.url("/login")).await;
        self.fill("input[name=\"username\"]", user).await;
        self.fill("input[name=\"password\"]", PASSWORD).await;
        self.click("form[action=\"/login\"] button[type=\"submit\"]").await;
        self.wait_for("form.logout").await;
        assert!(!self.url().await.contains("/login"), "{user} is still on the login page");
    }

    /// Signs out with the header's button.
    async fn logout(&self) {
        self.click("form.logout button").await;
        self.wait_for("input[name=\"username\"]").await;
    }
}

/// The demo account a step's assignee names (docs/DESIGN.md §6: heads are `head-<department>`, leaders `leader1|2`).
fn account_for(assignee: &str, department: &str) -> String {
    if assignee == "head:person" {
        format!("head-{department}")
    } else if let Some(role) = assignee.strip_prefix("role:") {
        role.to_string()
    } else if let Some(level) = assignee.strip_prefix("leader:") {
        format!("leader{level}")
    } else {
        panic!("no demo account for the assignee {assignee}")
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_hr_searches_files_promotes_reviewers_approve_finance_finds_no_contract() {
    let (chromium, chromedriver) = (on_path(&["chromium", "chromium-browser"]), on_path(&["chromedriver"]));
    require(
        chromium.is_some() && chromedriver.is_some(),
        "Chromium and chromedriver",
        "apt-get install chromium chromium-driver fonts-wqy-zenhei",
    );
    let (chromium, chromedriver) = (chromium.unwrap(), chromedriver.unwrap());
    let started = Instant::now();
    // The demo server is waited for with blocking calls: off the runtime's threads.
    let demo = tokio::task::spawn_blocking(Demo::start).await.unwrap();
    let loaded = started.elapsed();
    let driver = Driver::start(&chromedriver, &chromium).await;
    let downloads = tempfile::tempdir().unwrap();
    let b = driver.session(true, downloads.path()).await;

    // What the demo holds, from the API: a word in its documents, a word only its labour contracts hold, and a
    // cadre of ops (which has a head) who is not the head and has no request open.
    let hr_token = demo.token("hr");
    let word = "晋升";
    let hits = demo.get(&format!("/search?q={}", urlencode(word)), &hr_token);
    assert!(hits["total"].as_u64().unwrap() > 0, "{hits}");
    let contract_word = "劳动合同专属条款丙";
    let hits = demo.get(&format!("/search?q={}", urlencode(contract_word)), &hr_token);
    assert!(hits["total"].as_u64().unwrap() > 0, "HR finds the contracts: {hits}");
    let head_ops = demo.get("/me", &demo.token("head-ops"))["person_id"].as_str().unwrap().to_string();
    let ops = demo.get("/persons?department=ops&limit=100", &hr_token);
    let cadre = ops["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| {
            // 凡提必审: a promotion needs a concluded special review; the demo concludes some and starts nothing
            // else for them.
            let id = p["id"].as_str().unwrap();
            let requests = demo.get(&format!("/requests?person={id}"), &hr_token);
            p["id"] != head_ops.as_str()
                && demo.get(&format!("/persons/{id}/review"), &hr_token)["state"] == "concluded"
                && requests["items"].as_array().unwrap().iter().all(|r| r["kind"] == "special_review")
        })
        .expect("an ops cadre whose special review is concluded, without other requests")
        .clone();
    let cadre_id = cadre["id"].as_str().unwrap();
    let cadre_name = cadre["name"].as_str().unwrap();

    // The login page; HR signs in and lands on the home page.
    b.goto(&demo.url("/login")).await;
    b.wait_for("input[name=\"username\"]").await;
    b.wait_for("input[name=\"password\"]").await;
    b.screenshot("01-login").await;
    b.login(&demo, "hr").await;
    assert!(b.text("main h1").await.contains("欢迎"));
    b.screenshot("02-home").await;

    // Search from the form: hits with the word highlighted.
    b.goto(&demo.url("/search")).await;
    b.fill("form.search input[name=\"q\"]", word).await;
    b.click("form.search button[type=\"submit\"]").await;
    b.wait_for("li.hit").await;
    assert!(b.url().await.contains(&format!("q={}", urlencode(word))), "{}", b.url().await);
    assert!(b.text("p.total strong").await.parse::<u64>().unwrap() > 0);
    let marks = b.texts("li.hit mark").await;
    assert!(marks.iter().any(|m| word.contains(m.as_str()) && !m.is_empty()), "highlighted: {marks:?}");
    b.screenshot("03-search").await;

    // A dossier from the first hit: the catalogue by category, with its 序号 column.
    let person_name = b.text("li.hit p.meta a").await;
    b.click("li.hit p.meta a").await;
    b.wait_for("#catalogue table.catalogue").await;
    assert!(b.text("main h1").await.contains(&person_name));
    assert!(b.text("#catalogue table.catalogue thead").await.contains("序号"));
    assert!(!b.find_all("#catalogue table.catalogue tbody tr").await.is_empty());
    let dossier = b.url().await;
    b.screenshot("04-dossier").await;
    b.goto(&format!("{}#catalogue", dossier.split('#').next().unwrap())).await;
    b.screenshot("04-dossier-catalogue").await;

    // Upload through the dossier's form: back on the dossier, the new entry is listed and marked.
    let title = "2025年度考核登记表（浏览器上传）";
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/files/assessment-tw.pdf");
    b.select("#up-category", "3").await;
    b.fill("#up-title", title).await;
    b.fill("#up-formed", "2026-01").await;
    b.fill("#up-pages", "1").await;
    b.fill("#up-file", fixture.to_str().unwrap()).await;
    b.click("form.upload button[type=\"submit\"]").await;
    b.wait_url("filed=").await;
    assert!(b.wait_text("p.flash", title).await.contains("已归档"));
    assert!(b.text("#catalogue tr.filed").await.contains(title));
    b.screenshot("05-upload-result").await;

    // The material: its catalogue entry and the inline viewer.
    b.click("#catalogue tr.filed a").await;
    b.wait_for("section.viewer iframe").await;
    assert_eq!(b.text("main h1").await, title);
    assert!(b.text("section.card").await.contains("assessment-tw.pdf"));
    let material = b.url().await;
    b.scroll_to("section.viewer", 240).await;
    b.screenshot_when_still("06-material").await;

    // Legal review of a contract (issue 17): HR files a DOCX contract from the dossier's form and, from the
    // material's page, its version 2 with the place of work changed; the comparison page shows exactly that
    // clause changed, its words struck out and inserted.
    b.goto(&dossier).await;
    b.wait_for("form.upload").await;
    b.select("#up-category", "10").await;
    b.fill("#up-title", "劳动合同书（浏览器测试）").await;
    b.fill("#up-tags", "contract").await;
    let contract = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/files/contract.docx");
    b.fill("#up-file", contract.to_str().unwrap()).await;
    b.click("form.upload button[type=\"submit\"]").await;
    b.wait_url("filed=").await;
    b.click("#catalogue tr.filed a").await;
    b.wait_for("#nv-file").await;
    let v2 = downloads.path().join("contract-v2.docx");
    std::fs::write(&v2, crate::diff::contract_with("工作地点为浙江省杭州市", "工作地点为浙江省宁波市")).unwrap();
    b.fill("#nv-reason", "工作地点变更").await;
    b.fill("#nv-file", v2.to_str().unwrap()).await;
    b.click("#new-version button[type=\"submit\"]").await;
    b.wait_for("a[href$=\"/versions/1/diff/2\"]").await;
    b.click("a[href$=\"/versions/1/diff/2\"]").await;
    b.wait_for("table.diff").await;
    let changed = b.texts("table.diff tr.changed").await;
    assert_eq!(changed.len(), 1, "one clause changed: {changed:?}");
    let (deleted, inserted) =
        (b.texts("table.diff tr.changed del").await.concat(), b.texts("table.diff tr.changed ins").await.concat());
    assert!(deleted.contains("杭州") && !deleted.contains("工作地点"), "struck out: {deleted}");
    assert!(inserted.contains("宁波") && !inserted.contains("工作地点"), "inserted: {inserted}");
    assert!(b.find_all("table.diff tbody tr").await.len() > 5, "the unchanged clauses are shown beside it");
    b.scroll_to("table.diff tr.changed", 160).await;
    b.screenshot("06b-contract-diff").await;

    // A promotion for the ops cadre, with a salary grade so it goes to finance.
    let position = "业务运营部副部长（浏览器测试）";
    b.goto(&demo.url(&format!("/requests/new?kind=promotion&person={cadre_id}"))).await;
    assert!(b.text("form.request").await.contains(cadre_name));
    b.fill("#rq-position", position).await;
    b.fill("#rq-rank", "四级调研员").await;
    b.fill("#rq-salary_grade", "26").await;
    b.fill("#rq-reason", "年度考核优秀，任职年限届满").await;
    b.screenshot("07-request-form").await;
    b.click("form.request button[type=\"submit\"]").await;
    let request_url = wait_until("the request's page", async || {
        Some(b.url().await).filter(|u| u.contains("/requests/") && !u.contains("/requests/new"))
    })
    .await;
    let request_id = request_url.rsplit('/').next().unwrap().split(['?', '#']).next().unwrap().to_string();
    assert!(b.text("main h1").await.contains("审核中"));
    assert!(b.text("main").await.contains(position));

    // Each reviewer and approver the request names, in turn, approves it from the inbox.
    let mut approvers = Vec::new();
    let decide = format!("form[action=\"/requests/{request_id}/decide\"]");
    for _ in 0..10 {
        let r = demo.get(&format!("/requests/{request_id}"), &hr_token);
        if r["state"] == "applied" {
            break;
        }
        let pending: Vec<String> = r["steps"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|s| s["state"] == "pending")
            .map(|s| account_for(s["assignee"].as_str().unwrap(), "ops"))
            .collect();
        assert!(!pending.is_empty(), "nothing pending: {r}");
        for user in pending {
            b.logout().await;
            b.login(&demo, &user).await;
            b.goto(&demo.url("/inbox")).await;
            b.wait_for(&decide).await;
            let comment = format!("同意（{user}）");
            b.fill(&format!("{decide} textarea[name=\"comment\"]"), &comment).await;
            if approvers.is_empty() {
                b.screenshot("09-inbox").await;
            }
            b.click(&format!("{decide} button[value=\"approve\"]")).await;
            b.wait_url(&format!("done={request_id}")).await;
            assert!(b.text("p.flash").await.contains(&request_id));
            approvers.push(user);
        }
    }
    assert_eq!(approvers, ["head-ops", "finance", "leader1", "leader2"], "the steps of a promotion with salary");
    assert_eq!(demo.get(&format!("/requests/{request_id}"), &hr_token)["state"], "applied");

    // HR sees the request applied, with every decision on its timeline, and the dossier changed.
    b.logout().await;
    b.login(&demo, "hr").await;
    b.goto(&request_url).await;
    assert!(b.text("main h1").await.contains("已生效"));
    let timeline = b.text("ol.timeline").await;
    for user in &approvers {
        assert!(timeline.contains(&format!("同意（{user}）")), "{user} on the timeline: {timeline}");
    }
    b.screenshot("08-request-timeline").await;
    b.goto(&demo.url(&format!("/persons/{cadre_id}"))).await;
    let record = b.text("#person dl.fields").await;
    assert!(record.contains(position) && record.contains("四级调研员"), "{record}");
    b.screenshot("10-dossier-after-promotion").await;

    // The cadre's special review (concluded before the promotion could start), the printable 目录 with the
    // paper form's columns, and 专审进度.
    b.goto(&demo.url(&format!("/persons/{cadre_id}/review"))).await;
    assert_eq!(b.text("strong.review-state").await, "已认定");
    assert!(b.text("#review-items").await.contains("出生日期"));
    b.screenshot("10a-special-review").await;
    b.goto(&demo.url(&format!("/persons/{cadre_id}/catalogue"))).await;
    let head = b.text("table.paper-catalogue thead").await;
    for column in ["类号", "序号", "材料名称", "年", "月", "日", "页数", "备注"] {
        assert!(head.contains(column), "the 目录 has the paper form's column {column}: {head}");
    }
    assert!(!b.find_all("table.paper-catalogue tbody tr").await.is_empty(), "the 目录 lists the materials");
    b.screenshot("10b-catalogue-print").await;
    b.goto(&demo.url("/reports/review")).await;
    assert!(b.text("main h1").await.contains("专审进度"));
    assert!(!b.find_all("#report-table tbody tr").await.is_empty());
    b.screenshot("10c-review-progress").await;

    // 查阅: the demo's consultation (legal and finance read, for 纪检监察室, with its 介绍信) is approved on the grants
    // page by the leader with 干部管理权限; legal then views a material of the dossier, watermarked.
    let legal_token = demo.token("legal");
    let grants = demo.get("/grants", &legal_token);
    let grant = grants["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["state"] == "requested")
        .expect("the demo's consultation")
        .clone();
    let (gid, gperson) = (grant["id"].as_str().unwrap().to_string(), grant["person_id"].as_str().unwrap().to_string());
    let approver = account_for(grant["approver"].as_str().unwrap(), "ops");
    b.logout().await;
    b.login(&demo, &approver).await;
    b.goto(&demo.url("/grants")).await;
    let decide = format!("form[action=\"/grants/{gid}/decide\"]");
    b.wait_for(&decide).await;
    assert!(b.text("main table").await.contains("纪检监察室"));
    b.screenshot("10d-consultation-to-decide").await;
    b.click(&format!("{decide} button[value=\"approve\"]")).await;
    b.wait_text("main table", "生效中").await;
    let catalogue = demo.get(&format!("/persons/{gperson}/materials"), &hr_token);
    let mid = catalogue["items"][0]["id"].as_str().unwrap().to_string();
    b.logout().await;
    b.login(&demo, "legal").await;
    b.goto(&demo.url(&format!("/materials/{mid}/view"))).await;
    b.wait_for(".watermark-overlay span").await;
    let note = b.text("main p.note").await;
    assert!(note.contains(&format!("dangan GRANT {gid}")) && note.contains("legal"), "{note}");
    assert!(!b.find_all("div.watermarked.no-copy").await.is_empty(), "copying is not granted");
    b.screenshot_when_still("10e-consultation-watermarked-view").await;

    // Legal's contract register: the reminders of terms and probations ending within 30 days, then the demo's
    // renewal in flight with legal's blocking note.
    b.click("nav a[href=\"/contracts\"]").await;
    b.wait_for("#contract-register tbody tr").await;
    assert!(b.text("#contract-reminders").await.contains("合同即将到期"), "a term ending within 30 days reminds");
    b.screenshot("10f-contract-register").await;
    let requests = demo.get("/requests", &hr_token);
    let renewed = requests["items"]
        .as_array()
        .unwrap()
        .iter()
        .find_map(|r| r["changes"]["contracts"][0]["material_id"].as_str())
        .expect("the demo's renewal in flight")
        .to_string();
    b.goto(&demo.url(&format!("/materials/{renewed}/contract"))).await;
    b.wait_for("#contract-notes article.note-card[data-severity=\"blocking\"] form").await;
    b.scroll_to("#contract-notes", 80).await;
    b.screenshot("10g-contract-blocking-note").await;

    // Finance: a word only labour contracts hold finds nothing.
    b.logout().await;
    b.login(&demo, "finance").await;
    b.goto(&demo.url("/search")).await;
    b.fill("form.search input[name=\"q\"]", contract_word).await;
    b.click("form.search button[type=\"submit\"]").await;
    b.wait_url("q=").await;
    assert_eq!(b.text("p.total strong").await, "0");
    assert!(b.find_all("li.hit").await.is_empty());
    b.screenshot("11-search-finance-contract").await;

    // 抽检 (issue 18): the demo's batch was handed over by the scanning operator; HR opens it from the batch list,
    // reviews the sample on the QC page (each page's image beside its form) and records a defect through a row's
    // form; the operator's browser is refused the QC page.
    b.logout().await;
    b.login(&demo, "hr").await;
    b.goto(&demo.url("/batches")).await;
    assert!(b.text("table.batches").await.contains("抽检"), "the demo's batch waits in 抽检");
    let token = demo.token("hr");
    let batches = demo.get("/batches", &token);
    let sampling =
        batches["items"].as_array().unwrap().iter().find(|x| x["state"] == "sampling").expect("a batch in 抽检")["id"]
            .as_str()
            .unwrap()
            .to_string();
    b.click(&format!("table.batches tbody a[href=\"/batches/{sampling}\"]")).await;
    b.wait_for("#figures table.figures").await;
    b.click("a[href$=\"/qc\"]").await;
    b.wait_for("table.qc tr.sampled img.thumb").await;
    let rows = b.find_all("table.qc tr.sampled").await.len();
    assert!(rows >= 1, "the sample");
    let natural = wait_until("the thumbnails to load", async || {
        let img = b.find_all("table.qc tr.sampled img.thumb").await.into_iter().next()?;
        let width = img.prop("naturalWidth").await.ok()??;
        Some(width).filter(|w| w != "0")
    })
    .await;
    assert!(natural.parse::<u32>().unwrap() > 100, "the page image is served to the QC page: {natural}");
    let qc_url = b.url().await;
    let comment = "左下角字迹模糊（浏览器测试）";
    b.select("#code-0", "blur").await;
    b.fill("#comment-0", comment).await;
    b.screenshot("16-qc-sample").await;
    b.click("table.qc tr.sampled form.defect button[type=\"submit\"]").await;
    b.wait_text("#defects", comment).await;
    assert!(b.text("#defects h2").await.contains("(1)"));
    b.scroll_to("#defects", 80).await;
    b.screenshot("17-qc-defect-recorded").await;
    b.logout().await;
    b.login(&demo, "scanner").await;
    b.goto(&qc_url).await;
    assert!(b.text("main h1").await.contains("无权访问"), "the operator never sees the sample");
    // The error page carries no navigation: back to a page that has the sign-out form.
    b.goto(&demo.url("/")).await;

    // The administrators' pages, each as its role.
    for (user, path, heading, table, name) in [
        ("auditor", "/audit", "审计日志", "table.audit tbody tr", "12-audit"),
        ("it", "/accounts", "账号管理", "main table tbody tr", "13-accounts"),
        ("secadmin", "/review", "权限审查", "table.review tbody tr", "14-review"),
    ] {
        b.logout().await;
        b.login(&demo, user).await;
        b.goto(&demo.url(path)).await;
        assert!(b.text("main h1").await.contains(heading), "{path}");
        assert!(!b.find_all(table).await.is_empty(), "{path} lists nothing");
        b.screenshot(name).await;
    }

    // A new account's first sign-in: the password the system administrator set must be replaced before any
    // other page.
    let (status, made) = demo.api(
        "POST",
        "/users",
        Some(&demo.token("it")),
        Some(json!({"username": "newcomer", "password": "set-by-it-2026"})),
    );
    assert_eq!(status, 201, "{made}");
    b.logout().await;
    b.fill("input[name=\"username\"]", "newcomer").await;
    b.fill("input[name=\"password\"]", "set-by-it-2026").await;
    b.click("form[action=\"/login\"] button[type=\"submit\"]").await;
    b.wait_for("form[action=\"/password\"]").await;
    assert!(b.url().await.ends_with("/password"), "{}", b.url().await);
    b.goto(&demo.url("/search")).await;
    b.wait_for("form[action=\"/password\"]").await;
    b.screenshot("15-first-sign-in-password").await;
    b.fill("input[name=\"current\"]", "set-by-it-2026").await;
    b.fill("input[name=\"new\"]", "my-own-secret-2026").await;
    b.fill("input[name=\"again\"]", "my-own-secret-2026").await;
    b.click("form[action=\"/password\"] button[type=\"submit\"]").await;
    b.wait_url("password=changed").await;
    assert!(b.text("main h1").await.contains("欢迎"), "home after the change");
    let (status, _) =
        demo.api("POST", "/auth/login", None, Some(json!({"username": "newcomer", "password": "my-own-secret-2026"})));
    assert_eq!(status, 200, "the holder's own password works");
    b.close().await;

    // Reading without JavaScript: a browser that runs no script signs in, searches, opens the dossier and
    // downloads the file.
    let b = driver.session(false, downloads.path()).await;
    b.goto("data:text/html,<title>off</title><script>document.title='on'</script>").await;
    assert_eq!(b.title().await, "off", "JavaScript is switched off");
    b.login(&demo, "hr").await;
    b.goto(&demo.url("/search")).await;
    b.fill("form.search input[name=\"q\"]", word).await;
    b.click("form.search button[type=\"submit\"]").await;
    b.wait_for("li.hit mark").await;
    assert!(b.source().await.contains("<mark>"));
    b.goto(&dossier).await;
    assert!(b.text("#catalogue table.catalogue thead").await.contains("序号"));
    assert!(b.text("#catalogue").await.contains(title));
    b.goto(&material).await;
    let href = b.attribute("section.viewer a[download]", "href").await;
    assert!(href.contains("/content?download=1"), "{href}");
    b.click("section.viewer a[download]").await;
    let saved = downloads.path().join("assessment-tw.pdf");
    let bytes = wait_until("the download", async || std::fs::read(&saved).ok().filter(|b| !b.is_empty())).await;
    assert_eq!(bytes, std::fs::read(&fixture).unwrap(), "the downloaded bytes are the uploaded file");
    b.close().await;

    println!(
        "browser test: demo loaded in {:.1} s, all in {:.1} s; screenshots in {}",
        loaded.as_secs_f64(),
        started.elapsed().as_secs_f64(),
        screenshot_dir().display()
    );
}
