//! What the audit trail costs a read: `cargo bench --bench audit_cost [-- READERS…]` (default 1 4 16).
//!
//! A 4 KiB material is read through the service by `READERS` threads, in rounds of two seconds that alternate
//! between the access gate alone and the same read with its audit entry, so both see the same machine (on a
//! shared two-core VM, throughput drifts by several per cent from minute to minute). It prints the median
//! throughput of each kind and the process's CPU time per read (all threads: the readers, the audit's group
//! committer and sled's writers; from `/proc/self/stat`). The window is `DANGAN_AUDIT_WINDOW_MS` as for the
//! server (default 25 ms; 0 = strict).

#[path = "common/mod.rs"]
mod common;

use dangan::model::MaterialMeta;
use dangan::service::Config;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

const ROUND: Duration = Duration::from_secs(2);
/// Rounds of each kind, after one warm-up round of each.
const ROUNDS: usize = 7;

/// CPU time of the whole process so far, in clock ticks (1/100 s).
fn cpu_ticks() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let fields: Vec<&str> = stat.rsplit(')').next().unwrap_or("").split_whitespace().collect();
    let tick = |i: usize| fields.get(i).and_then(|f| f.parse::<f64>().ok()).unwrap_or(0.0);
    tick(11) + tick(12)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let readers: Vec<usize> = std::env::args().skip(1).filter_map(|a| a.parse().ok()).collect();
    let readers = if readers.is_empty() { vec![1, 4, 16] } else { readers };
    let config = match std::env::var("DANGAN_AUDIT_WINDOW_MS").ok().and_then(|v| v.parse::<u64>().ok()) {
        Some(0) => Config { audit_window: None, ..Config::default() },
        Some(ms) => Config { audit_window: Some(Duration::from_millis(ms)), ..Config::default() },
        None => Config::default(),
    };
    println!("audit window: {:?} (None = strict)", config.audit_window);
    let common::Bench { archive, hr, person, _dir } = common::installation_with("ops", config);
    let body = "干部人事档案材料正文。".repeat(4096 / 30);
    let meta = MaterialMeta { category: "3".into(), title: "考核材料".into(), ..Default::default() };
    let id = archive.filing().add(&hr, person, meta, body.as_bytes(), Some("m.txt".into()), true).unwrap().id;
    let read = |audited: bool| {
        if audited {
            drop(archive.materials().content(&hr, id).unwrap());
        } else {
            drop(archive.materials().bench_read_gated_without_audit(&hr, id).unwrap());
        }
    };
    for n in readers {
        // [gate alone, gate + audit]: reads per second and CPU microseconds per read, one of each per round.
        let mut rate: [Vec<f64>; 2] = Default::default();
        let mut cpu: [Vec<f64>; 2] = Default::default();
        for round in 0..2 * (ROUNDS + 1) {
            let audited = round % 2 == 1;
            let done = AtomicU64::new(0);
            let (ticks, start) = (cpu_ticks(), Instant::now());
            std::thread::scope(|s| {
                for _ in 0..n {
                    s.spawn(|| {
                        while start.elapsed() < ROUND {
                            (0..64).for_each(|_| read(audited));
                            done.fetch_add(64, Ordering::Relaxed);
                        }
                    });
                }
            });
            let reads = done.into_inner() as f64;
            if round >= 2 {
                rate[usize::from(audited)].push(reads / start.elapsed().as_secs_f64());
                cpu[usize::from(audited)].push((cpu_ticks() - ticks) * 10_000.0 / reads);
            }
        }
        let [rate_gate, rate_audit] = rate.map(median);
        let [cpu_gate, cpu_audit] = cpu.map(median);
        println!(
            "{n:>2} readers: gate {rate_gate:>6.0}/s, gate + audit {rate_audit:>6.0}/s: throughput -{:.1} %; \
             CPU per read {cpu_gate:.1} µs vs {cpu_audit:.1} µs: +{:.1} %",
            100.0 * (1.0 - rate_audit / rate_gate),
            100.0 * (cpu_audit / cpu_gate - 1.0),
        );
    }
}
