//! Streaming uploads (issue 12, item 5): a body is hashed and sealed as it arrives into an encrypted spool under
//! `<data>/tmp`, so memory stays bounded whatever the size; a body refused or cut off midway leaves nothing on
//! disk. The 1 GiB test drives the real binary over a socket and reads its memory from `/proc`.

use crate::common::{BODY_LIMIT, TestApp, id_number, person_body};
use crate::e2e::{Install, Server, install, login};
use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use serde_json::{Value, json};
use std::io::{Read, Write};
use std::path::Path;
use std::time::{Duration, Instant};

const BOUNDARY: &str = "----dangan-stream-boundary-51c3";

fn files_in(dir: &Path) -> usize {
    std::fs::read_dir(dir).map(|d| d.count()).unwrap_or(0)
}

/// Waits (bounded) until `dir` holds `n` files.
async fn wait_files(dir: &Path, n: usize) -> usize {
    let deadline = Instant::now() + Duration::from_secs(20);
    while files_in(dir) != n && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    files_in(dir)
}

fn multipart_head(meta: &Value, file_name: &str) -> String {
    format!(
        "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"meta\"\r\nContent-Type: application/json\r\n\r\n{meta}\r\n\
         --{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{file_name}\"\r\n\
         Content-Type: application/octet-stream\r\n\r\n"
    )
}

fn multipart_tail() -> String {
    format!("\r\n--{BOUNDARY}--\r\n")
}

/// An upload whose body the test writes as it likes (through `writer`), then cuts off.
async fn start_upload(
    app: &TestApp,
    token: &str,
    person: &str,
) -> (tokio::io::DuplexStream, tokio::task::JoinHandle<crate::common::Answer>) {
    let (mut writer, reader) = tokio::io::duplex(64 * 1024);
    let req = Request::builder()
        .method(Method::POST)
        .uri(format!("/api/v1/persons/{person}/materials?wait=false"))
        .header("authorization", format!("Bearer {token}"))
        .header("content-type", format!("multipart/form-data; boundary={BOUNDARY}"))
        .body(Body::from_stream(tokio_util::io::ReaderStream::new(reader)))
        .unwrap();
    let router = app.router.clone();
    let call = tokio::spawn(async move {
        use http_body_util::BodyExt;
        use tower::ServiceExt;
        let resp = router.oneshot(req).await.unwrap();
        let status = resp.status();
        let headers = resp.headers().clone();
        let body = resp.into_body().collect().await.unwrap().to_bytes().to_vec();
        crate::common::Answer { status, headers, body }
    });
    use tokio::io::AsyncWriteExt;
    let meta = json!({"category": "1", "title": "考核登记表", "formed_on": "2020-12"});
    writer.write_all(multipart_head(&meta, "scan.bin").as_bytes()).await.unwrap();
    writer.write_all(&vec![0x5a; BODY_LIMIT / 2]).await.unwrap();
    (writer, call)
}

async fn catalogue(app: &TestApp, hr: &str, person: &str) -> u64 {
    let a = app.send(Method::GET, &format!("/api/v1/persons/{person}/materials"), Some(hr), None).await;
    a.json()["total"].as_u64().unwrap()
}

#[tokio::test]
async fn an_upload_cut_off_or_refused_leaves_no_spool_and_no_blob() {
    let app = TestApp::new().await;
    let hr = app.login("hr").await;
    let person = app.create_person(&hr, person_body("钱多多", &id_number("11010119800101102"), "finance")).await;
    let person = person["id"].as_str().unwrap().to_string();
    let tmp = app.dir.path().join("tmp");
    // The client goes away midway: the handler is dropped, the spool's thread sees its channel close.
    let (writer, call) = start_upload(&app, &hr, &person).await;
    assert_eq!(wait_files(&tmp, 1).await, 1, "the body is spooled as it arrives");
    call.abort();
    let _ = call.await;
    drop(writer);
    assert_eq!(wait_files(&tmp, 0).await, 0, "a spool of a client that went away is removed");

    // The body ends midway (no closing boundary): 400, nothing kept.
    let (writer, call) = start_upload(&app, &hr, &person).await;
    assert_eq!(wait_files(&tmp, 1).await, 1);
    drop(writer);
    let a = call.await.unwrap();
    assert_eq!(a.status, StatusCode::BAD_REQUEST, "{}", String::from_utf8_lossy(&a.body));
    assert_eq!(files_in(&tmp), 0);

    // Past the body limit: the same 413 problem+json as ever, nothing kept.
    let big = vec![7u8; BODY_LIMIT + 1024];
    let a =
        app.upload(&hr, &person, json!({"category": "1", "title": "大", "formed_on": "2020-12"}), "b.bin", &big).await;
    assert_eq!(a.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", String::from_utf8_lossy(&a.body));
    assert_eq!(a.header("content-type"), "application/problem+json");
    assert_eq!(files_in(&tmp), 0);

    // Nothing of any of them reached the store.
    assert_eq!(catalogue(&app, &hr, &person).await, 0);
    assert_eq!(app.archive.indexing().verify().unwrap().blobs, 0, "no partial blob");

    // A whole upload still files, and its spool is gone once it is filed.
    let body = "考核结果：优秀".repeat(20_000);
    let a = app
        .upload(
            &hr,
            &person,
            json!({"category": "1", "title": "考核", "formed_on": "2020-12"}),
            "k.txt",
            body.as_bytes(),
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", String::from_utf8_lossy(&a.body));
    assert_eq!(a.json()["mime"], "text/plain; charset=utf-8");
    assert_eq!(a.json()["content_hash"], app.archive.suite().hash_hex(body.as_bytes()));
    assert_eq!(files_in(&tmp), 0);
    assert_eq!(catalogue(&app, &hr, &person).await, 1);
}

#[tokio::test]
async fn a_large_download_is_streamed_whole() {
    let app = TestApp::new().await;
    let hr = app.login("hr").await;
    let person = app.create_person(&hr, person_body("钱多多", &id_number("11010119800101102"), "finance")).await;
    let person: dangan::model::PersonId = person["id"].as_str().unwrap().parse().unwrap();
    // Larger than the body limit of the test router and than the size downloads are streamed from.
    let big: Vec<u8> = (0..(17u32 << 20)).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
    let principal = app
        .archive
        .accounts()
        .principal_for(app.archive.accounts().user_by_name("hr").unwrap().unwrap(), "test")
        .unwrap();
    let meta = serde_json::from_value(json!({"category": "1", "title": "大卷", "formed_on": "2020-12"})).unwrap();
    let archive = app.archive.clone();
    let bytes = big.clone();
    let m = tokio::task::spawn_blocking(move || {
        archive.filing().add(&principal, person, meta, &bytes, Some("big.bin".into()), false).unwrap()
    })
    .await
    .unwrap();
    let a = app.send(Method::GET, &format!("/api/v1/materials/{}/content", m.id), Some(&hr), None).await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(a.header("content-length"), big.len().to_string());
    assert_eq!(a.header("x-content-blake3"), blake3::hash(&big).to_hex().to_string());
    assert!(a.body == big, "the streamed download is the file");
}

/// The server's resident memory now and its peak so far (KiB), from `/proc/<pid>/status`.
fn memory_of(pid: u32) -> (u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            .unwrap()
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// The generated content: 1 MiB blocks of pseudo-random bytes, each stamped with its number (never held whole).
struct Generated {
    block: Vec<u8>,
}

impl Generated {
    fn new() -> Generated {
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut block = Vec::with_capacity(1 << 20);
        while block.len() < 1 << 20 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            block.extend_from_slice(&x.to_le_bytes());
        }
        block[..16].copy_from_slice(b"DANGAN-BIG-SCAN\0");
        Generated { block }
    }

    /// Block `n` of the content.
    fn block(&mut self, n: u64) -> &[u8] {
        self.block[16..24].copy_from_slice(&n.to_le_bytes());
        &self.block
    }
}

/// A 1 GiB upload to the real binary: while the body is received (streamed into the spool) the server's peak
/// resident memory grows by less than 64 MiB; the file reads back whole. `DANGAN_TEST_UPLOAD_MIB` sets another
/// size (CI runs 256 MiB to keep its time down). Slow (minutes): run with
/// `cargo test --test it -- --ignored streaming::a_large_upload`.
///
/// Known gap, measured and printed but not asserted: once the body is complete, writing its chunks into sled
/// (1 MiB values) raises the peak by about the file's size (1 GiB: ~1 GiB) and runs at ~3 MB/s — sled 0.34 keeps
/// large values in its leaf nodes, rewritten and cached whole. Bounding that needs chunks outside sled's nodes.
#[test]
#[ignore = "minutes: a 1 GiB upload (see .ci/run)"]
fn a_large_upload_keeps_the_server_memory_bounded() {
    const MIB: u64 = 1 << 20;
    // DANGAN_TEST_UPLOAD_MIB tries another size (the assertion on memory holds for any).
    let size_mib: u64 = std::env::var("DANGAN_TEST_UPLOAD_MIB").ok().and_then(|v| v.parse().ok()).unwrap_or(1024);
    let size = size_mib * MIB;
    let dir = Install::new();
    install(dir.path());
    let s = Server::start_with(dir.path(), &[("DANGAN_BODY_LIMIT_MIB", "1100"), ("DANGAN_MAX_FILE_MIB", "1100")]);
    let token = login(&s);
    let person = s.create_person(
        &token,
        json!({"name": "孙大卷", "id_number": id_number("33010619750302003"), "department": "finance"}),
    );
    let pid = s.child.id();
    let (rss_before, hwm_before) = memory_of(pid);

    let head = multipart_head(&json!({"category": "1", "title": "扫描卷宗", "formed_on": "2020-12"}), "bundle.bin");
    let tail = multipart_tail();
    let addr = s.base.trim_start_matches("http://").split('/').next().unwrap().to_string();
    let started = Instant::now();
    let mut sock = std::net::TcpStream::connect(&addr).unwrap();
    write!(
        sock,
        "POST /api/v1/persons/{person}/materials?wait=false HTTP/1.1\r\nHost: {addr}\r\n\
         Authorization: Bearer {token}\r\nContent-Type: multipart/form-data; boundary={BOUNDARY}\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n",
        head.len() as u64 + size + tail.len() as u64
    )
    .unwrap();
    sock.write_all(head.as_bytes()).unwrap();
    let mut content = Generated::new();
    let mut hasher = blake3::Hasher::new();
    for n in 0..size / MIB {
        let block = content.block(n);
        hasher.update(block);
        sock.write_all(block).unwrap();
    }
    sock.write_all(tail.as_bytes()).unwrap();
    let sent = started.elapsed();
    let (_, hwm_sent) = memory_of(pid);
    let mut answer = String::new();
    sock.read_to_string(&mut answer).unwrap();
    let upload_time = started.elapsed();
    let (rss_after, hwm_after) = memory_of(pid);
    let (status_line, rest) = answer.split_once("\r\n").unwrap();
    assert!(status_line.contains(" 201 "), "{answer}");
    // The body after the headers; a chunked answer would wrap it, so take the JSON object itself.
    let json_text = &rest[rest.find('{').unwrap()..=rest.rfind('}').unwrap()];
    let m: Value = serde_json::from_str(json_text).unwrap();
    let receive_growth_mib = (hwm_sent.saturating_sub(rss_before)) as f64 / 1024.0;
    let growth_mib = (hwm_after.saturating_sub(rss_before)) as f64 / 1024.0;
    eprintln!(
        "{size_mib} MiB upload: body sent in {:.1} s, answered after {:.1} s; server RSS {rss_before} kB before \
         (peak {hwm_before} kB); peak while receiving {hwm_sent} kB: growth {receive_growth_mib:.1} MiB; \
         {rss_after} kB after, peak {hwm_after} kB: growth {growth_mib:.1} MiB including the store's commit",
        sent.as_secs_f64(),
        upload_time.as_secs_f64()
    );
    assert_eq!(m["size"], size, "{m}");
    let expected = hasher.finalize().to_hex().to_string();
    assert_eq!(m["content_hash"], expected, "{m}");
    assert!(
        receive_growth_mib < 64.0,
        "the server's peak memory grew by {receive_growth_mib:.1} MiB while receiving {size_mib} MiB"
    );
    assert_eq!(files_in(&dir.path().join("tmp")), 0, "the spool is removed once filed");

    // Read back whole, hashed as it arrives (never held).
    let material = m["id"].as_str().unwrap();
    let mut resp = s
        .agent
        .get(&format!("{}/materials/{material}/content", s.base))
        .header("authorization", &format!("Bearer {token}"))
        .call()
        .unwrap();
    assert_eq!(resp.status(), 200);
    let mut reader = resp.body_mut().with_config().limit(size + 1).reader();
    let mut back = blake3::Hasher::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut total = 0u64;
    loop {
        let n = reader.read(&mut buf).unwrap();
        if n == 0 {
            break;
        }
        total += n as u64;
        back.update(&buf[..n]);
    }
    assert_eq!(total, size);
    assert_eq!(back.finalize().to_hex().to_string(), expected);
}

/// 三员分立 on the streaming path: the system administrator, the security administrator and the auditor can
/// neither file nor replace content; each refusal is in the audit trail, and nothing of their bodies is kept.
#[tokio::test]
async fn administrators_cannot_stream_content_in_and_are_audited_and_nothing_is_kept() {
    let app = crate::common::demo_app().await;
    let hr = app.login("hr").await;
    let person = crate::common::cadre(&app, &hr, "ops").await["id"].as_str().unwrap().to_string();
    let m = app.upload(&hr, &person, json!({"category": "10", "title": "备忘"}), "a.txt", "原文".as_bytes()).await;
    assert_eq!(m.status, StatusCode::CREATED);
    let mid = m.json()["id"].as_str().unwrap().to_string();
    let tmp = app.dir.path().join("tmp");
    for who in ["it", "secadmin", "auditor"] {
        let t = app.login(who).await;
        let a = app.upload(&t, &person, json!({"category": "10", "title": "x"}), "x.txt", b"smuggled").await;
        assert!(matches!(a.status, StatusCode::FORBIDDEN | StatusCode::NOT_FOUND), "{who} filed: {}", a.status);
        let req = Request::builder()
            .method(Method::PUT)
            .uri(format!("/api/v1/materials/{mid}/content"))
            .header("authorization", format!("Bearer {t}"))
            .header("if-match", "\"1\"")
            .header("content-type", "text/plain")
            .body(Body::from("replaced"))
            .unwrap();
        let a = app.call(req).await;
        assert!(matches!(a.status, StatusCode::FORBIDDEN | StatusCode::NOT_FOUND), "{who} replaced: {}", a.status);
        assert_eq!(files_in(&tmp), 0, "{who}: nothing spooled is left");
    }
    let auditor = app.login("auditor").await;
    let trail = app
        .send(Method::GET, &format!("/api/v1/audit?object=material:{mid}&outcome=denied"), Some(&auditor), None)
        .await
        .json();
    let actors: Vec<&str> = trail["items"].as_array().unwrap().iter().map(|e| e["actor"].as_str().unwrap()).collect();
    for who in ["it", "secadmin", "auditor"] {
        assert!(actors.contains(&who), "{who}'s denied replacement is audited: {trail}");
    }
    let content = app.send(Method::GET, &format!("/api/v1/materials/{mid}/content"), Some(&hr), None).await;
    assert_eq!(content.body, "原文".as_bytes(), "the content is unchanged");
}
