//! The two cipher suites side by side: sealing and opening a blob chunk (XChaCha20-Poly1305 against SM4-GCM),
//! blob addresses (keyed BLAKE3 against HMAC-SM3), content hashes (BLAKE3 against SM3), and the installation's
//! signature over a package's tag manifest (Ed25519 against SM2), each through dangan's own `crypto` layer.
//!
//! Run: `cargo bench --bench suites` (figures in the README). The index search latency of each suite's sealed
//! index against a plain one is `cargo bench --bench index_sealed`.

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use dangan::crypto::{Keys, MasterKey, SealKey, SecretKey, Suite, verify_signature_hex};
use std::time::Duration;

/// A blob chunk (the blob store seals files in chunks of this size).
const CHUNK: usize = 64 * 1024;
/// What an address or content hash covers in one step.
const FILE: usize = 1024 * 1024;

fn data(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i.wrapping_mul(2654435761) >> 13) as u8).collect()
}

fn suites(c: &mut Criterion) {
    let chunk = data(CHUNK);
    let file = data(FILE);
    let master = MasterKey::generate().unwrap();
    let mut g = c.benchmark_group("suite");
    g.sample_size(20).measurement_time(Duration::from_secs(3)).warm_up_time(Duration::from_millis(500));
    for suite in Suite::ALL {
        let keys = Keys::derive(suite, &master);
        let key = SealKey::new(suite, &SecretKey::generate().unwrap());
        let sealed = key.seal(&chunk, b"blob/0").unwrap();
        g.throughput(Throughput::Bytes(CHUNK as u64));
        g.bench_with_input(BenchmarkId::new("seal_64KiB", suite), &chunk, |b, d| {
            b.iter(|| key.seal(d, b"blob/0").unwrap())
        });
        g.bench_with_input(BenchmarkId::new("open_64KiB", suite), &sealed, |b, s| {
            b.iter(|| key.open(s, b"blob/0").unwrap())
        });
        g.throughput(Throughput::Bytes(FILE as u64));
        g.bench_with_input(BenchmarkId::new("address_1MiB", suite), &file, |b, d| {
            b.iter(|| {
                let mut h = keys.address_hasher();
                h.update(d);
                h.finalize()
            })
        });
        g.bench_with_input(BenchmarkId::new("content_hash_1MiB", suite), &file, |b, d| b.iter(|| suite.hash(d)));
        g.throughput(Throughput::Elements(1));
        let message = data(4096);
        let public = keys.signing_public();
        let signature = keys.sign_hex(&message);
        g.bench_with_input(BenchmarkId::new("sign", suite), &message, |b, m| b.iter(|| keys.sign_hex(m)));
        g.bench_with_input(BenchmarkId::new("verify", suite), &message, |b, m| {
            b.iter(|| assert!(verify_signature_hex(&public, m, &signature)))
        });
    }
    g.finish();
}

criterion_group!(benches, suites);
criterion_main!(benches);
