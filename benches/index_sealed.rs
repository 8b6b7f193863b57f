//! The sealed index directory against a plain one: the same 100,000-material corpus written to disk twice
//! (plain `MmapDirectory`; sealed, every file in XChaCha20-Poly1305 blocks with the default 64 MiB block
//! cache), then the same query mix (one- and two-word queries, top 20, a snippet per hit) run against both in
//! alternating rounds, so both see the same machine. Prints p50 and p99 per round kind and their ratio; the goal
//! is sealed p99 within 1.3× of plain. Also prints the build (index + commit) time of each.
//!
//! Run: `cargo bench --bench index_sealed` (`DANGAN_BENCH_DOCS=20000` for a quicker run).

mod common;

use dangan::crypto::{Keys, MasterKey};
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
    let keys = Keys::derive(&MasterKey::generate().unwrap());

    let started = Instant::now();
    let plain = SearchIndex::open(&dir.path().join("plain"), jieba.clone()).unwrap();
    common::fill_corpus(&plain, n);
    let plain_build = started.elapsed();
    let started = Instant::now();
    let sealer = Arc::new(dangan::service::IndexSealer(keys));
    let sealed = SearchIndex::open_sealed(&dir.path().join("sealed"), jieba, sealer, 64 * 1024 * 1024).unwrap();
    common::fill_corpus(&sealed, n);
    let sealed_build = started.elapsed();
    println!("index_sealed: {n} materials; build plain {plain_build:.1?}, sealed {sealed_build:.1?}");

    let filter = Filter { exclude_persons: vec!["p1".into()], ..Default::default() };
    // Warm both (the first queries open segment files and fill caches).
    run_queries(&plain, &filter, 200, 0);
    run_queries(&sealed, &filter, 200, 0);
    let (mut p, mut s) = (Vec::new(), Vec::new());
    for round in 0..10 {
        p.extend(run_queries(&plain, &filter, 300, round * 300));
        s.extend(run_queries(&sealed, &filter, 300, round * 300));
    }
    p.sort();
    s.sort();
    let (p50, p99, s50, s99) = (percentile(&p, 0.5), percentile(&p, 0.99), percentile(&s, 0.5), percentile(&s, 0.99));
    println!("plain:  p50 {p50:.2?}  p99 {p99:.2?}  ({} queries)", p.len());
    println!("sealed: p50 {s50:.2?}  p99 {s99:.2?}  ({} queries)", s.len());
    println!(
        "sealed / plain: p50 {:.2}×, p99 {:.2}× (goal p99 ≤ 1.3×)",
        s50.as_secs_f64() / p50.as_secs_f64(),
        s99.as_secs_f64() / p99.as_secs_f64()
    );
}
