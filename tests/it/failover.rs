//! Two `dangan serve` nodes on one PostgreSQL database (a primary with a synchronous standby) and one three-node
//! Garage bucket (issue 16): one node writes, the other waits as a standby (health `standby`, 503 with
//! Retry-After), passing the requests it gets on to the writer, and takes over within seconds when the writer is
//! killed (`kill -9`); the database's primary is
//! stopped and its standby promoted, and the archive goes on after reconnecting; a node that comes back rebuilds
//! the part of its search index the other wrote; every acknowledged upload reads back byte for byte with a
//! Garage node down, is found by search on whichever node serves, and the audit chain verifies.

use crate::e2e::{BIN, Install, Server, add_hr_with, key_for, login, search_total};
use dangan::store::object_blobs::testing::Garage;
use dangan::store::postgres::testing::TestServer;
use serde_json::{Value, json};
use std::process::Command;
use std::time::{Duration, Instant};

/// Polls `node`'s health until it is 200; how long that took.
fn until_serving(node: &Server, within: Duration) -> Duration {
    let started = Instant::now();
    while started.elapsed() < within {
        if node.health() == 200 {
            return started.elapsed();
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("the node did not take over within {within:?}");
}

/// Polls `node` until it answers as a standby.
fn until_standby(node: &Server) {
    let started = Instant::now();
    while node.health() != 503 {
        assert!(started.elapsed() < Duration::from_secs(60), "the standby did not start listening");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Uploads a text material holding `word`; its id and bytes.
fn try_upload(node: &Server, token: &str, person: &str, word: &str) -> Result<(String, Vec<u8>), String> {
    let text = format!("述职报告。本年度负责{word}项目的推进，完成考核目标。").into_bytes();
    let meta = json!({"category": "4-1", "title": format!("{word}述职报告"), "formed_on": "2026-11"});
    let m = node.upload(token, person, &meta, "report.txt", &text)?;
    Ok((m["id"].as_str().unwrap().to_string(), text))
}

fn upload(node: &Server, token: &str, person: &str, word: &str) -> (String, Vec<u8>) {
    try_upload(node, token, person, word).unwrap()
}

#[test]
fn a_standby_node_takes_over_within_seconds_when_the_writer_is_killed() {
    let primary = TestServer::start();
    let standby = TestServer::start_standby(&primary);
    let garage = Garage::start(3);
    let s3 = garage.settings(0, "failover");
    let endpoint = s3.endpoint.clone().unwrap();
    let url = TestServer::url_of_any(&[&primary, &standby]);
    let envs = [
        ("DANGAN_STORE", url.as_str()),
        ("DANGAN_BLOBS", "s3://dangan-test/failover"),
        ("AWS_ENDPOINT_URL", endpoint.as_str()),
        ("AWS_REGION", "garage"),
        ("AWS_ACCESS_KEY_ID", s3.access_key_id.as_str()),
        ("AWS_SECRET_ACCESS_KEY", s3.secret_access_key.as_str()),
    ];
    // Node a makes the store (and the key) and the hr account; node b has its own data directory (its index and
    // the key check) with the same key.
    let (a_dir, b_dir) = (Install::new(), Install::new());
    drop(Server::start_with(a_dir.path(), &envs));
    add_hr_with(a_dir.path(), &envs);
    std::fs::copy(key_for(a_dir.path()), key_for(b_dir.path())).unwrap();

    let a = Server::start_with(a_dir.path(), &envs);
    let b = Server::spawn_with(b_dir.path(), &envs);
    until_standby(&b);
    let token = login(&a);
    let person = a.create_person(&token, json!({"name": "赵志远", "department": "ops"}));
    let mut acknowledged: Vec<(String, String, Vec<u8>)> = Vec::new();
    for word in ["水利", "交通", "教育"] {
        let (id, bytes) = upload(&a, &token, &person, word);
        acknowledged.push((word.to_string(), id, bytes));
    }
    // The standby passes what it gets on to the writer (it serves nothing itself: a read's audit entry is
    // chained by the writer), while its own health says it is the standby and when to ask again.
    let started = Instant::now();
    let v = loop {
        // Until the standby has read where the writer is (at once after it starts listening).
        match b.json("GET", &format!("/persons/{person}"), Some(&token), None) {
            (200, v) => break v,
            (status, v) => {
                assert!(started.elapsed() < Duration::from_secs(10), "not forwarded: {status} {v}");
                std::thread::sleep(Duration::from_millis(100));
            }
        }
    };
    assert_eq!(v["name"], "赵志远");
    let through_b = login(&b);
    for word in ["卫生", "科技"] {
        let (id, bytes) = upload(&b, &through_b, &person, word);
        acknowledged.push((word.to_string(), id, bytes));
    }
    // Somebody with access to the database (not a dangan node: no master key) points the standby elsewhere, to
    // collect passwords: the standby refuses to forward to an address without the writer's tag.
    let mut db = postgres::Client::connect(&url, postgres::NoTls).unwrap();
    let announced: String = db.query_one("SELECT holder FROM dangan_lease", &[]).unwrap().get(0);
    // (Here the forged address is the writer's own, so only the tag tells them apart.)
    let forged = format!("{} {}", "0".repeat(64), announced.split_once(' ').unwrap().1);
    db.execute("UPDATE dangan_lease SET holder = $1", &[&forged]).unwrap();
    let started = Instant::now();
    while b.json("GET", &format!("/persons/{person}"), Some(&token), None).0 != 503 {
        assert!(started.elapsed() < Duration::from_secs(10), "the standby forwarded to a forged address");
        std::thread::sleep(Duration::from_millis(200));
    }
    let (status, v) = b.json("POST", "/auth/login", None, Some(json!({"username": "hr", "password": "demo-pass-e2e"})));
    assert_eq!(status, 503, "{v}");
    db.execute("UPDATE dangan_lease SET holder = $1", &[&announced]).unwrap();

    let mut resp = b.agent.get(&format!("{}/health", b.base)).call().unwrap();
    assert_eq!(resp.status(), 503);
    assert!(resp.headers().get("retry-after").is_some());
    let health: Value = serde_json::from_str(&resp.body_mut().read_to_string().unwrap()).unwrap();
    assert_eq!(health["status"], "standby");

    // kill -9 the writer: the standby takes over within 10 s, and the session made on a works on b.
    let mut a = a;
    a.child.kill().unwrap();
    a.child.wait().unwrap();
    let took = until_serving(&b, Duration::from_secs(10));
    eprintln!("the standby took over {took:?} after the writer was killed");
    for word in ["财务", "审计"] {
        let (id, bytes) = upload(&b, &token, &person, word);
        acknowledged.push((word.to_string(), id, bytes));
    }

    // The database's primary fails and its synchronous standby is promoted: b reconnects to it by itself (an
    // upload in the gap may fail, and is not acknowledged), and every acknowledged write is there.
    primary.stop();
    standby.promote();
    let started = Instant::now();
    let (id, bytes) = loop {
        match try_upload(&b, &token, &person, "人事") {
            Ok(done) => break done,
            Err(e) => {
                assert!(started.elapsed() < Duration::from_secs(30), "no upload after the failover: {e}");
                std::thread::sleep(Duration::from_millis(200));
            }
        }
    };
    eprintln!("an upload succeeded {:?} after the database failed over", started.elapsed());
    acknowledged.push(("人事".to_string(), id, bytes));

    // a comes back as the standby; b is killed; a takes over and finds what b filed (its index is rebuilt: b
    // indexed those while a was down).
    drop(a);
    let a = Server::spawn_with(a_dir.path(), &envs);
    until_standby(&a);
    drop(b);
    until_serving(&a, Duration::from_secs(30));
    // One Garage node fails: every blob still reads back whole.
    garage.kill(2);
    for (word, id, bytes) in &acknowledged {
        assert_eq!(&a.download(&token, id), bytes, "{word}");
        let (total, v) = search_total(&a, &token, word);
        assert_eq!(total, 1, "{word}: {v}");
        assert_eq!(v["hits"][0]["material_id"], id.as_str());
    }
    drop(a);

    // The trail verifies whole across the three writers.
    let out = Command::new(BIN)
        .args(["audit", "verify", "--data", a_dir.path().to_str().unwrap()])
        .env("DANGAN_KEY_FILE", key_for(a_dir.path()))
        .env("DANGAN_LOG", "warn")
        .envs(envs.iter().copied())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["ok"], true, "{report}");
}
