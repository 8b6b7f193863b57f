//! The sealed index directory against a plain one: the same 100,000-material corpus written to disk three
//! times (plain `MmapDirectory`; sealed under the default suite, every file in XChaCha20-Poly1305 blocks; sealed
//! under the 国密 suite, in SM4-GCM blocks; both with the default 64 MiB block cache), then the same query mix
//! (one- and two-word queries, top 20, a snippet per hit) run against all three in alternating rounds, so all
//! see the same machine. Prints p50 and p99 of each and their ratio to plain; the goal is sealed p99 within
//! 1.3× of plain. Also prints the build (index + commit) time of each.
//!
//! Run: `cargo bench --bench index_sealed` (`DANGAN_BENCH_DOCS=20000` for a quicker run).

mod common;

use dangan::crypto::{Keys, MasterKey, Suite};
use dangan::index::{Filter, SearchIndex};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn percentile(sorted: &[Duration], q: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * q).round() as usize]
}

fn run_queries(index: &SearchIndex, filter: &Filter, n: usize, offset: usize) -> Vec<Duration> {
    let mut out = Vec::with_capacity(n);
    for k in 0..n {
        let i = k + offset;
        let w = &common::WORDS;
        let q = format!("{} {}", w[i % w.len()], if i.is_multiple_of(3) { w[(i + 1) % w.len()] } else { "" });
        let started = Instant::now();
        let r = index.search(&q, filter, 20, 0).unwrap();
        for _ in &r.hits {
            std::hint::black_box(r.snippet("该同志于2015年参加培训，考核情况良好，经研究同意晋升。"));
        }
        std::hint::black_box(r.total);
        out.push(started.elapsed());
    }
    out
}

fn main() {
    let n: usize = std::env::var("DANGAN_BENCH_DOCS").ok().and_then(|v| v.parse().ok()).unwrap_or(100_000);
    let dir = tempfile::tempdir().unwrap();
    let jieba = Arc::new(jieba_rs::Jieba::new());
    let master = MasterKey::generate().unwrap();

    let started = Instant::now();
    let plain = SearchIndex::open(&dir.path().join("plain"), jieba.clone()).unwrap();
    common::fill_corpus(&plain, n);
    println!("index_sealed: {n} materials; build plain {:.1?}", started.elapsed());
    let mut indexes = vec![("plain".to_string(), plain)];
    for suite in Suite::ALL {
        let started = Instant::now();
        let sealer = Arc::new(dangan::bootstrap::IndexSealer(Keys::derive(suite, &master)));
        let path = dir.path().join(format!("sealed-{suite}"));
        let sealed = SearchIndex::open_sealed(&path, jieba.clone(), sealer, 64 * 1024 * 1024).unwrap();
        common::fill_corpus(&sealed, n);
        println!("build sealed ({suite}): {:.1?}", started.elapsed());
        indexes.push((format!("sealed {suite}"), sealed));
    }

    let filter = Filter { exclude_persons: vec!["p1".into()], ..Default::default() };
    // Warm all (the first queries open segment files and fill caches).
    for (_, index) in &indexes {
        run_queries(index, &filter, 200, 0);
    }
    let mut times: Vec<Vec<Duration>> = vec![Vec::new(); indexes.len()];
    for round in 0..10 {
        for (t, (_, index)) in times.iter_mut().zip(&indexes) {
            t.extend(run_queries(index, &filter, 300, round * 300));
        }
    }
    for t in &mut times {
        t.sort();
    }
    let (p50, p99) = (percentile(&times[0], 0.5), percentile(&times[0], 0.99));
    for ((name, _), t) in indexes.iter().zip(&times) {
        let (s50, s99) = (percentile(t, 0.5), percentile(t, 0.99));
        println!(
            "{name:>16}: p50 {s50:.2?}  p99 {s99:.2?}  ({} queries; / plain: p50 {:.2}×, p99 {:.2}×, goal p99 ≤ 1.3×)",
            t.len(),
            s50.as_secs_f64() / p50.as_secs_f64(),
            s99.as_secs_f64() / p99.as_secs_f64()
        );
    }
}
