//! Blob store and ingest throughput, beside the limits of the primitives underneath.
//!
//! * `primitives/*`: raw BLAKE3, raw XChaCha20-Poly1305 sealing, and a raw sled insert + flush of the same bytes;
//! * `blob_put/*`, `blob_get/*`: dangan's blob store (keyed hash, plain hash, chunked sealing, envelope key,
//!   atomic commit, flush) over sled, 64 KiB to 16 MiB;
//! * `ingest/small_materials`: filing 100 small text materials through the service (validation, blob, record,
//!   version, queue) and waiting until the indexer has extracted and indexed them all.
//!
//! Run: `cargo bench --bench store` (figures in the README).

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
mod common;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use dangan::crypto::MasterKey;
use dangan::model::MaterialMeta;
use dangan::store::{SledKv, Store};
use std::sync::Arc;
use std::time::Duration;

const SIZES: [usize; 4] = [64 * 1024, 1024 * 1024, 4 * 1024 * 1024, 16 * 1024 * 1024];

fn data(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i.wrapping_mul(2654435761) >> 13) as u8).collect()
}

fn label(n: usize) -> String {
    if n >= 1024 * 1024 { format!("{}MiB", n / 1024 / 1024) } else { format!("{}KiB", n / 1024) }
}

fn primitives(c: &mut Criterion) {
    let mut g = c.benchmark_group("primitives");
    g.sample_size(10).measurement_time(Duration::from_secs(3)).warm_up_time(Duration::from_millis(500));
    let dir = tempfile::tempdir().unwrap();
    let db = sled::open(dir.path()).unwrap();
    let cipher = chacha20poly1305::XChaCha20Poly1305::new(&[7u8; 32].into());
    for &n in &SIZES {
        let bytes = data(n);
        g.throughput(Throughput::Bytes(n as u64));
        g.bench_with_input(BenchmarkId::new("blake3", label(n)), &bytes, |b, d| b.iter(|| blake3::hash(d)));
        g.bench_with_input(BenchmarkId::new("xchacha20poly1305", label(n)), &bytes, |b, d| {
            b.iter(|| cipher.encrypt(&[1u8; 24].into(), Payload { msg: d, aad: b"x" }).unwrap())
        });
        let mut i = 0u64;
        g.bench_with_input(BenchmarkId::new("sled_put_flush", label(n)), &bytes, |b, d| {
            b.iter(|| {
                i += 1;
                db.insert(i.to_be_bytes(), d.as_slice()).unwrap();
                db.flush().unwrap();
            })
        });
    }
    g.finish();
}

fn blobs(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(Arc::new(SledKv::open(dir.path()).unwrap()), &MasterKey::generate().unwrap()).unwrap();
    let mut g = c.benchmark_group("blob_put");
    g.sample_size(10).measurement_time(Duration::from_secs(3)).warm_up_time(Duration::from_millis(500));
    let mut counter = 0u64;
    let mut last = Vec::new();
    for &n in &SIZES {
        let mut bytes = data(n);
        g.throughput(Throughput::Bytes(n as u64));
        g.bench_function(BenchmarkId::from_parameter(label(n)), |b| {
            b.iter(|| {
                // Distinct bytes each time, so nothing is deduplicated.
                counter += 1;
                bytes[..8].copy_from_slice(&counter.to_le_bytes());
                let p = store.prepare_blob(&bytes).unwrap();
                let addr = p.address;
                let mut ws = store.write_set();
                store.stage_blob_ref(&mut ws, p, &bytes).unwrap();
                store.commit(ws).unwrap();
                addr
            })
        });
        let p = store.prepare_blob(&bytes).unwrap();
        last.push((n, p.address));
        let mut ws = store.write_set();
        store.stage_blob_ref(&mut ws, p, &bytes).unwrap();
        store.commit(ws).unwrap();
    }
    g.finish();
    // A store in a benchmark has no archive: the benchmark holds its one unsealer.
    let unsealer = store.take_unsealer().unwrap();
    let mut g = c.benchmark_group("blob_get");
    g.sample_size(10).measurement_time(Duration::from_secs(3)).warm_up_time(Duration::from_millis(500));
    for (n, addr) in last {
        g.throughput(Throughput::Bytes(n as u64));
        g.bench_function(BenchmarkId::from_parameter(label(n)), |b| {
            b.iter(|| store.read_blob(&unsealer, &addr).unwrap())
        });
    }
    g.finish();
}

fn ingest(c: &mut Criterion) {
    let common::Bench { archive, hr: p, person, _dir } = common::installation("hr");
    let mut g = c.benchmark_group("ingest");
    g.sample_size(10).measurement_time(Duration::from_secs(10)).warm_up_time(Duration::from_millis(500));
    g.throughput(Throughput::Elements(100));
    let mut n = 0u64;
    g.bench_function("small_materials_x100", |b| {
        b.iter(|| {
            for _ in 0..100 {
                n += 1;
                let text = format!(
                    "第{n}号材料：该同志于二〇一九年七月晋升为处长，年度考核优秀。工资调整审批表附后。编号{n}。"
                );
                let meta =
                    MaterialMeta { category: "3".into(), title: format!("考核材料{n}"), ..Default::default() };
                archive.filing().add(&p, person, meta, text.as_bytes(), Some("m.txt".into()), false).unwrap();
            }
            assert!(archive.indexing().wait_queue_empty(Duration::from_secs(120)).unwrap());
        })
    });
    g.finish();
}

criterion_group!(benches, primitives, blobs, ingest);
criterion_main!(benches);
