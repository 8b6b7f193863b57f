//! The extraction worker's sandbox, seen from inside (the worker's probe mode) and from outside (what is left
//! of its process group, what happens to a file that needs more memory than it may have): a cleared
//! environment, resource limits, its own process group killed whole, Landlock rules that keep the key file and
//! the data directory out of its reach.
//!
//! Landlock needs Linux 5.13 or later with Landlock enabled; without it the Landlock test fails (leave it out
//! explicitly with `cargo test -- --skip landlock` on such a kernel).

use crate::common::*;
use axum::http::{Method, StatusCode};
use dangan::extract::{Extractor, FILE_SIZE_LIMIT, ProbeRead, SandboxProbe};
use serde_json::json;
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// What the worker may see of its environment: nothing of the server's.
const WORKER_ENV: [&str; 6] = [
    "PATH",
    "LANG",
    "OMP_THREAD_LIMIT",
    "TESSDATA_PREFIX",
    "DANGAN_WORKER_MEMORY_BYTES",
    "DANGAN_WORKER_TIME_LIMIT_MS",
];

/// The bytes of the stand-in master key.
const KEY_BYTES: &[u8] = b"dangan-test-master-key-0123456789abcdef";

/// The probing test, run by [`probe_the_worker`] in a process of its own that holds the server's secrets in its
/// environment.
const PROBE_TEST: &str = "sandbox::probe_as_a_server_holding_secrets";

/// Runs [`PROBE_TEST`] as a "server" (this test binary) with secrets in its environment, a key file and a data
/// directory; the worker it starts probes the key file, the data directory and the loader's cache.
fn probe_the_worker() -> [SandboxProbe; 3] {
    let dir = tempfile::tempdir().unwrap();
    let key_file = dir.path().join("master.key");
    std::fs::write(&key_file, KEY_BYTES).unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir(&data).unwrap();
    std::fs::write(data.join("blob"), b"sealed").unwrap();
    // The parent can read both.
    assert_eq!(std::fs::read(&key_file).unwrap(), KEY_BYTES);
    assert!(std::fs::read_dir(&data).unwrap().next().is_some());

    let out = Command::new(std::env::current_exe().unwrap())
        .args([PROBE_TEST, "--exact", "--ignored", "--nocapture", "--test-threads=1"])
        .env("DANGAN_PASSPHRASE", "a passphrase the worker must not see")
        .env("DANGAN_WEBHOOK_SECRET", "a webhook secret the worker must not see")
        .env("DANGAN_KEY_FILE", &key_file)
        .env("DANGAN_DATA", &data)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    let probes: Vec<SandboxProbe> = stdout
        .lines()
        .filter_map(|l| l.split_once("probe: ").map(|(_, probe)| probe))
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    probes.try_into().unwrap_or_else(|p: Vec<_>| panic!("three probes expected, got {}: {stdout}", p.len()))
}

#[test]
fn the_worker_sees_no_secret_and_runs_within_its_limits_in_its_own_process_group() {
    for probe in &probe_the_worker() {
        // Nothing of the server's environment, secrets least of all.
        for name in &probe.env {
            assert!(WORKER_ENV.contains(&name.as_str()), "{name} reaches the worker: {:?}", probe.env);
        }
        assert!(probe.env.iter().any(|n| n == "PATH"), "{:?}", probe.env);
        // Its own process group; its limits.
        assert!(probe.own_process_group);
        let limits = &probe.confinement.limits;
        assert_eq!(limits.address_space, Some(dangan::extract::DEFAULT_MEMORY_LIMIT));
        assert_eq!(limits.cpu_seconds, Some(60 + dangan::extract::CPU_SLACK_SECS), "time limit 60 s");
        assert_eq!(limits.file_size, Some(FILE_SIZE_LIMIT));
        assert_eq!(limits.core, Some(0));
        assert_eq!(probe.confinement.helper_time_limit_ms, 54_000);
    }
}

#[test]
fn landlock_keeps_the_key_file_and_the_data_out_of_the_workers_reach() {
    let [key, data_dir, loader] = probe_the_worker();
    require(
        key.confinement.landlock.enforced(),
        &format!("Landlock in force ({:?})", key.confinement.landlock),
        "Linux 5.13 or later with Landlock among its security modules",
    );
    assert_eq!(key.read, Some(ProbeRead::Denied), "the worker read the key file");
    assert_eq!(data_dir.read, Some(ProbeRead::Denied), "the worker listed the data directory");
    // It can read what it needs (so the denials above are the rules, not a broken probe).
    assert_eq!(loader.read, Some(ProbeRead::Read), "the worker cannot read the loader's cache");
}

/// Not a test of its own: the server's side of the two tests above, in a process whose environment holds secrets.
#[test]
#[ignore = "run by probe_the_worker, for the two probing tests"]
fn probe_as_a_server_holding_secrets() {
    let (Ok(key_file), Ok(data)) = (std::env::var("DANGAN_KEY_FILE"), std::env::var("DANGAN_DATA")) else {
        panic!("run by probe_the_worker (sandbox.rs), which sets DANGAN_KEY_FILE and DANGAN_DATA, not on its own");
    };
    assert!(std::env::var("DANGAN_PASSPHRASE").is_ok(), "the secrets are in this process's environment");
    let extractor = worker_extractor();
    for path in [key_file.as_str(), data.as_str(), "/etc/ld.so.cache"] {
        let probe = extractor.probe_sandbox(Some(Path::new(path))).unwrap();
        println!("probe: {}", serde_json::to_string(&probe).unwrap());
    }
}

/// A one-page PDF whose page has `streams` content streams, each a FlateDecode stream of `inflated` spaces
/// (about a thousandth of that compressed).
fn inflating_pdf(streams: usize, inflated: usize) -> Vec<u8> {
    let mut encoder = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
    let chunk = vec![b' '; 1 << 20];
    for _ in 0..inflated / chunk.len() {
        encoder.write_all(&chunk).unwrap();
    }
    let deflated = encoder.finish().unwrap();
    let contents: Vec<String> = (0..streams).map(|i| format!("{} 0 R", 4 + i)).collect();
    let mut objects: Vec<Vec<u8>> = vec![
        b"<< /Type /Catalog /Pages 2 0 R >>".to_vec(),
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_vec(),
        format!("<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents [{}] >>", contents.join(" "))
            .into_bytes(),
    ];
    for _ in 0..streams {
        let mut stream = format!("<< /Length {} /Filter /FlateDecode >>\nstream\n", deflated.len()).into_bytes();
        stream.extend_from_slice(&deflated);
        stream.extend_from_slice(b"\nendstream");
        objects.push(stream);
    }
    let mut out = b"%PDF-1.4\n".to_vec();
    let mut offsets = Vec::new();
    for (i, o) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.extend_from_slice(format!("{} 0 obj\n", i + 1).as_bytes());
        out.extend_from_slice(o);
        out.extend_from_slice(b"\nendobj\n");
    }
    let xref = out.len();
    out.extend_from_slice(format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).as_bytes());
    for o in offsets {
        out.extend_from_slice(format!("{o:010} 00000 n \n").as_bytes());
    }
    out.extend_from_slice(
        format!("trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n", objects.len() + 1).as_bytes(),
    );
    out
}

#[tokio::test]
async fn a_pdf_that_inflates_past_the_memory_limit_is_stored_with_text_failed() {
    // 256 MiB for the worker (a fresh worker needs well under half of it); the page inflates to 1 GiB.
    let app = TestApp::with_extractor(worker_extractor().with_memory_limit(256 << 20)).await;
    let hr = app.login("hr").await;
    let p = app.create_person(&hr, person_body("孙九", &id_number("51010419800303003"), "research")).await;
    let pid = p["id"].as_str().unwrap().to_string();
    let bomb = inflating_pdf(16, 64 << 20);
    assert!(bomb.len() < 2 << 20, "{} bytes", bomb.len());

    let started = Instant::now();
    let up = app.upload(&hr, &pid, json!({"category": "10", "title": "膨胀"}), "bomb.pdf", &bomb).await;
    assert_eq!(up.status, StatusCode::CREATED, "{}", String::from_utf8_lossy(&up.body));
    let m = text_settled(&app, &hr, up.json()["id"].as_str().unwrap()).await;
    assert_eq!(m["text_status"], "failed", "{m}");
    let reason = m["text_error"].as_str().unwrap_or_default();
    assert!(reason.contains("out of memory"), "{reason}");
    eprintln!("inflating PDF: {reason} after {:?}", started.elapsed());

    // The same extractor still reads an ordinary PDF, and the server still serves.
    let resume =
        app.upload(&hr, &pid, json!({"category": "1", "title": "履历"}), "r.pdf", &fixture("resume-zh.pdf")).await;
    assert_eq!(resume.json()["text_status"], "done", "{}", resume.json());
    assert_eq!(app.send(Method::GET, "/api/v1/health", None, None).await.status, StatusCode::OK);
}

/// A live (not zombie) process: its pid, process group and command line.
struct Process {
    pid: String,
    group: String,
    cmdline: String,
}

fn live_processes() -> Vec<Process> {
    let Ok(entries) = std::fs::read_dir("/proc") else { return Vec::new() };
    entries
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().bytes().all(|b| b.is_ascii_digit()))
        .filter_map(|e| {
            let stat = std::fs::read_to_string(e.path().join("stat")).ok()?;
            let mut fields = stat[stat.rfind(')')? + 1..].split_whitespace();
            let state = fields.next()?;
            let group = fields.nth(1)?.to_owned();
            let cmdline = std::fs::read(e.path().join("cmdline")).ok()?;
            (state != "Z").then(|| Process {
                pid: e.file_name().to_string_lossy().into_owned(),
                group,
                cmdline: String::from_utf8_lossy(&cmdline).replace('\0', " "),
            })
        })
        .collect()
}

#[tokio::test]
async fn a_hung_ocr_helper_is_killed_and_nothing_of_the_worker_s_group_survives() {
    // A `tesseract` that hangs, and starts a child of its own that would outlive it.
    let bin = tempfile::tempdir().unwrap();
    let marker = bin.path().to_string_lossy().into_owned();
    let fake = bin.path().join("tesseract");
    std::fs::write(&fake, "#!/bin/sh\nsleep 60 &\nsleep 60\n").unwrap();
    std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();
    let extractor = Extractor::with_worker(
        PathBuf::from(env!("CARGO_BIN_EXE_dangan")),
        vec!["extract-worker".into()],
        Duration::from_secs(5),
    )
    .with_ocr(Some("chi_sim".into()))
    .with_helper_path(format!("{marker}:/usr/bin:/bin"));
    let app = TestApp::with_extractor(extractor).await;
    let hr = app.login("hr").await;
    let p = app.create_person(&hr, person_body("周十", &id_number("51010419800404004"), "research")).await;
    let pid = p["id"].as_str().unwrap().to_string();

    // Watch for the fake helper while the upload waits for its text: its process group is the worker's.
    let watch_marker = marker.clone();
    let watcher = std::thread::spawn(move || {
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Some(p) = live_processes().into_iter().find(|p| p.cmdline.contains(&watch_marker)) {
                return Some((p.pid, p.group));
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        None
    });
    let started = Instant::now();
    let up = app
        .upload(&hr, &pid, json!({"category": "10", "title": "扫描件"}), "scan.png", &fixture("scan-form.png"))
        .await;
    assert_eq!(up.status, StatusCode::CREATED, "{}", String::from_utf8_lossy(&up.body));
    let m = text_settled(&app, &hr, up.json()["id"].as_str().unwrap()).await;
    let elapsed = started.elapsed();
    let (helper, group) = watcher.join().unwrap().expect("the fake tesseract never ran");
    let own_group = live_processes().into_iter().find(|p| p.pid == std::process::id().to_string()).unwrap().group;
    assert_ne!(group, own_group, "the helper runs in the worker's process group, not the server's");

    // The worker killed its helper at the helper's own time limit and answered; the material is stored.
    assert_eq!(m["text_status"], "failed", "{m}");
    let reason = m["text_error"].as_str().unwrap_or_default();
    assert!(reason.contains("tesseract") && reason.contains("time limit"), "{reason}");
    assert!(elapsed < Duration::from_secs(10), "{elapsed:?}");

    // Nothing of the worker's group is alive: not the helper, not the child it left behind.
    let deadline = Instant::now() + Duration::from_secs(2);
    let survivors = loop {
        let left: Vec<String> = live_processes()
            .into_iter()
            .filter(|p| p.group == group || p.cmdline.contains(&marker))
            .map(|p| format!("{} {}", p.pid, p.cmdline))
            .collect();
        if left.is_empty() || Instant::now() > deadline {
            break left;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(survivors.is_empty(), "helper {helper} of group {group}: survivors {survivors:?}");
}
