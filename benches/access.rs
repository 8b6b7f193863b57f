//! The cost of access control, measured (not asserted):
//!
//! * `search_100k/*`: the same queries over a 100,000-material index, as HR (no permission clauses) and as
//!   finance and a department head (permission clauses inside the query). Index level: the service adds the same
//!   per-hit store lookups to both.
//! * `read/*`: reading a 4 KiB material through the service (gate + decrypt + verify + audit entry), one reader
//!   and 4 or 16 concurrent readers, against the same read without the gate or without the audit entry. The
//!   audit runs in both modes: the default window (entry chained before the answer, group-committed within 25 ms)
//!   and strict (no answer before its entry is on disk). These groups run one after the other, so a drifting
//!   machine blurs their comparison; `benches/audit_cost.rs` measures the audit's cost in alternating rounds.
//!
//! Run: `cargo bench --bench access`.

mod common;

use common::WORDS;
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use dangan::index::{Allow, Filter, SearchIndex};
use dangan::model::MaterialMeta;
use dangan::service::Config;
use std::sync::Arc;
use std::time::Duration;

fn search(c: &mut Criterion) {
    let index = SearchIndex::in_memory(Arc::new(jieba_rs::Jieba::new())).unwrap();
    common::fill_corpus(&index, 100_000);
    let hr = Filter { exclude_persons: vec!["p1".into()], ..Default::default() };
    let finance = Filter {
        allow: Some(vec![Allow { categories: vec!["9-1".into()], tags: vec!["salary".into()], ..Default::default() }]),
        exclude_persons: vec!["p2".into()],
        exclude_family_of: vec!["p2".into()],
        ..Default::default()
    };
    let head = Filter {
        allow: Some(vec![Allow {
            categories: vec!["3".into()],
            departments: Some(vec!["ops".into()]),
            ..Default::default()
        }]),
        exclude_persons: vec!["p3".into()],
        exclude_family_of: vec!["p3".into()],
        ..Default::default()
    };
    let mut g = c.benchmark_group("search_100k");
    g.sample_size(30).measurement_time(Duration::from_secs(4)).warm_up_time(Duration::from_millis(500));
    for (name, filter) in [("hr", &hr), ("finance", &finance), ("head", &head)] {
        g.bench_function(BenchmarkId::from_parameter(name), |b| {
            let mut i = 0;
            b.iter(|| {
                i += 1;
                let q = format!(
                    "{} {}",
                    WORDS[i % WORDS.len()],
                    if i % 3 == 0 { WORDS[(i + 1) % WORDS.len()] } else { "" }
                );
                let r = index.search(&q, filter, 20, 0).unwrap();
                // The service cuts a snippet from each hit's stored text; cut one from a typical body per hit.
                for _ in &r.hits {
                    std::hint::black_box(r.snippet("该同志于2015年参加培训，考核情况良好，经研究同意晋升。"));
                }
                r.total
            })
        });
    }
    g.finish();
}

fn reads(c: &mut Criterion) {
    let common::Bench { archive, hr: p, person, _dir } = common::installation("ops");
    let strict_config = Config { audit_window: None, ..Config::default() };
    let common::Bench { archive: strict, hr: sp, person: sperson, _dir: _sdir } =
        common::installation_with("ops", strict_config);
    let body = "干部人事档案材料正文。".repeat(4096 / 30);
    let meta = MaterialMeta { category: "3".into(), title: "考核材料".into(), ..Default::default() };
    let id = archive.filing().add(&p, person, meta.clone(), body.as_bytes(), Some("m.txt".into()), true).unwrap().id;
    let sid = strict.filing().add(&sp, sperson, meta, body.as_bytes(), Some("m.txt".into()), true).unwrap().id;
    let mut g = c.benchmark_group("read");
    g.sample_size(10).measurement_time(Duration::from_secs(4)).warm_up_time(Duration::from_millis(500));
    g.throughput(Throughput::Elements(1));
    g.bench_function("blob_only_no_gate_no_audit", |b| {
        b.iter(|| archive.materials().bench_read_bypassing_gate_and_audit(id).unwrap())
    });
    g.bench_function("gated_no_audit_1_reader", |b| {
        b.iter(|| archive.materials().bench_read_gated_without_audit(&p, id).unwrap())
    });
    g.bench_function("material_content_1_reader", |b| b.iter(|| archive.materials().content(&p, id).unwrap()));
    g.bench_function("strict_material_content_1_reader", |b| b.iter(|| strict.materials().content(&sp, sid).unwrap()));
    for readers in [4usize, 16] {
        // Each reader reads 8 times, so the group commit of the audit trail has company to batch.
        g.throughput(Throughput::Elements((readers * 8) as u64));
        let read_one: [(&str, &(dyn Fn() + Sync)); 4] = [
            ("material_content", &|| drop(archive.materials().content(&p, id).unwrap())),
            ("strict_material_content", &|| drop(strict.materials().content(&sp, sid).unwrap())),
            ("gated_no_audit", &|| drop(archive.materials().bench_read_gated_without_audit(&p, id).unwrap())),
            ("blob_only", &|| drop(archive.materials().bench_read_bypassing_gate_and_audit(id).unwrap())),
        ];
        for (name, read) in read_one {
            g.bench_function(format!("{name}_{readers}_readers"), |b| {
                b.iter(|| {
                    std::thread::scope(|s| {
                        for _ in 0..readers {
                            s.spawn(|| (0..8).for_each(|_| read()));
                        }
                    })
                })
            });
        }
    }
    g.finish();
}

criterion_group!(benches, search, reads);
criterion_main!(benches);
