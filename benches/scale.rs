//! Ingest and search at scale: a synthetic archive of N text materials (~2.5 KB of Chinese each, words drawn
//! Zipf-distributed from a 20,000-word vocabulary, 40 materials a cadre, eight departments) filed through the
//! service with the production extractor (the sandboxed worker process), then searched.
//!
//! Reports: filed/s (the upload path: validate, hash, seal, commit), searchable/s end to end (from the first
//! filing until the text lane has made everything searchable), bytes written per byte of text, peak RSS, search
//! latency per query kind (common, mid-frequency and rare words, a name, two words) for HR (all departments) and
//! finance (salary records only: a permission filter), concurrent searches/s from 32 clients, reindex time, and
//! raw Tantivy (dangan's own schema and analyzers, no store) indexing the same corpus.
//!
//! Run: `cargo bench --bench scale` (100,000 materials; `DANGAN_BENCH_MATERIALS=1000000` for a million,
//! `DANGAN_BENCH_MATERIALS=10000` for a quick look). Figures in the README.

mod common;

use dangan::crypto::MasterKey;
use dangan::extract::Extractor;
use dangan::model::{MaterialMeta, Role};
use dangan::service::Config;
use dangan::service::search::SearchParams;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Common characters the vocabulary's two-character words are made of.
const HANZI: &str = "的一是在不了有和人这中大为上个国我以要他时来用们生到作地于出就分对成会可主发年动同工也能下过子说产种\
面而方后多定行学法所民得经十三之进着等部度家电力里如水化高自二理起小物现实加量都两体制机当使点从业本去把性好应开它合还因由\
其些然前外天政四日那社义事平形相全表间样与关各重新线内数正心反你明看原又么利比或但质气第向道命此变条只没结解问意建月公无系\
军很情者最立代想已通并提直题党程展五果料象员革位入常文总次品式活设及管特件长求老头基资边流路级少图山统接知较将组见计别她手\
角期根论运农指几九区强放决西被干做必战先回则任取据处队南给色光门即保治北造百规热领七海口东导器压志世金增争济阶油思术极交受\
联什认六共权收证改清己美再采转更单风切打白教速花带安场身车例真务具万每目至达走积示议声报斗完类八离华名确才科张信马节话米整空\
元况今集温传土许步群广石记需段研界拉林律叫且究观越织装影算低持音众书布复容儿须际商非验连断深难近矿千周委素技备半办青省列习响\
约支般史感劳便团往酸历市克何除消构府称太准精值号率族维划选标写存候毛亲快效斯院查江型眼王按格养易置派层片始却专状育厂京识适属\
圆包火住调满县局照参红细引听该铁价严龙飞";

const DEPTS: [&str; 8] = ["hr", "admin", "finance", "legal", "it", "ops", "research", "sales"];
const SURNAMES: &str =
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈";
const GIVEN: &str = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红建国志文辉鹏飞宇浩然欣怡晨阳佳琪梓涵";
const CATEGORIES: [&str; 8] = ["1", "2", "3", "4-1", "5", "7", "9-1", "10"];
const VOCABULARY: usize = 20_000;
const MATERIALS_PER_PERSON: usize = 40;

/// A deterministic generator (SplitMix64).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// The vocabulary (two-character words) and the cumulative Zipf weights of its ranks.
struct Corpus {
    words: Vec<String>,
    cumulative: Vec<f64>,
}

impl Corpus {
    fn new() -> Corpus {
        let chars: Vec<char> = HANZI.chars().collect();
        let mut rng = Rng(7);
        let mut words = Vec::with_capacity(VOCABULARY);
        let mut seen = std::collections::HashSet::new();
        while words.len() < VOCABULARY {
            let a = chars[(rng.next() % chars.len() as u64) as usize];
            let b = chars[(rng.next() % chars.len() as u64) as usize];
            let w: String = [a, b].iter().collect();
            if seen.insert(w.clone()) {
                words.push(w);
            }
        }
        let mut total = 0.0;
        let cumulative = (1..=VOCABULARY)
            .map(|r| {
                total += 1.0 / r as f64;
                total
            })
            .collect::<Vec<_>>();
        let cumulative = cumulative.into_iter().map(|c| c / total).collect();
        Corpus { words, cumulative }
    }

    fn word(&self, rng: &mut Rng) -> &str {
        let u = rng.unit();
        let i = self.cumulative.partition_point(|&c| c < u).min(VOCABULARY - 1);
        &self.words[i]
    }

    /// About 2.5 KB of text (some 420 words in sentences).
    fn text(&self, rng: &mut Rng) -> String {
        let mut s = String::with_capacity(2_600);
        while s.len() < 2_500 {
            for _ in 0..(6 + rng.next() % 8) {
                s.push_str(self.word(rng));
            }
            s.push_str(if rng.next().is_multiple_of(4) { "。\n" } else { "，" });
        }
        s
    }
}

fn name(i: usize) -> String {
    let s: Vec<char> = SURNAMES.chars().collect();
    let g: Vec<char> = GIVEN.chars().collect();
    [s[i % s.len()], g[(i / s.len()) % g.len()], g[(i / 7) % g.len()]].iter().collect()
}

fn percentile(sorted: &[Duration], q: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * q).round() as usize]
}

/// A figure of this process from `/proc/self/<file>` (`VmHWM` in kB, `write_bytes` in bytes).
fn proc_figure(file: &str, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/self/{file}"))
        .ok()
        .and_then(|t| {
            t.lines()
                .find_map(|l| l.strip_prefix(field)?.trim_start_matches(':').split_whitespace().next()?.parse().ok())
        })
        .unwrap_or(0)
}

fn main() {
    let n: usize = std::env::var("DANGAN_BENCH_MATERIALS").ok().and_then(|v| v.parse().ok()).unwrap_or(100_000);
    let dir = tempfile::tempdir().unwrap();
    let extractor = Extractor::with_worker(
        env!("CARGO_BIN_EXE_dangan").into(),
        vec!["extract-worker".into()],
        Duration::from_secs(60),
    );
    let config = Config { index_wait: Duration::ZERO, ..Config::default() };
    let archive = dangan::bootstrap::open(dir.path(), &MasterKey::generate().unwrap(), extractor, config).unwrap();
    // An HR account that may create the holders of the other accounts, then the measured ones.
    let boot = common::new_account(&archive, "hr-bootstrap", Role::Hr, None);
    common::new_account(&archive, "hr", Role::Hr, Some("hr"));
    let hr = common::link_holder(&archive, &boot, "hr", "hr本人", "hr");
    common::new_account(&archive, "finance", Role::Finance, Some("finance"));
    let finance = common::link_holder(&archive, &hr, "finance", "finance本人", "finance");

    let corpus = Corpus::new();
    let persons: Vec<_> = (0..n.div_ceil(MATERIALS_PER_PERSON))
        .map(|i| {
            archive
                .persons()
                .create(&hr, serde_json::json!({"name": name(i), "department": DEPTS[i % DEPTS.len()]}))
                .unwrap()
                .record
                .id
        })
        .collect();
    println!("scale: {n} materials, {} persons", persons.len());

    // Filing from two threads (the upload path, without waiting for the text), then waiting until searchable.
    let written_before = proc_figure("io", "write_bytes");
    let started = Instant::now();
    let text_bytes = std::sync::atomic::AtomicU64::new(0);
    std::thread::scope(|s| {
        for t in 0..2 {
            let (archive, hr, corpus, persons, text_bytes) = (&archive, &hr, &corpus, &persons, &text_bytes);
            s.spawn(move || {
                let mut rng = Rng(1000 + t as u64);
                for i in (t..n).step_by(2) {
                    let text = corpus.text(&mut rng);
                    text_bytes.fetch_add(text.len() as u64, std::sync::atomic::Ordering::Relaxed);
                    let meta = MaterialMeta {
                        category: CATEGORIES[i % CATEGORIES.len()].into(),
                        title: format!("{}材料{i}", corpus.word(&mut rng)),
                        tags: if CATEGORIES[i % CATEGORIES.len()] == "9-1" { vec!["salary".into()] } else { vec![] },
                        ..MaterialMeta::default()
                    };
                    let person = persons[i / MATERIALS_PER_PERSON];
                    archive.filing().add(hr, person, meta, text.as_bytes(), Some(format!("m{i}.txt")), false).unwrap();
                }
            });
        }
    });
    let filed = started.elapsed();
    assert!(archive.indexing().wait_queue_empty(Duration::from_secs(24 * 3600)).unwrap());
    let searchable = started.elapsed();
    let written = proc_figure("io", "write_bytes").saturating_sub(written_before);
    let text_bytes = text_bytes.into_inner();
    println!(
        "filed: {:.1?} ({:.0}/s); searchable end to end: {:.1?} ({:.0}/s); written {:.1} bytes per byte of text \
         ({} MB of text); peak RSS {} MB",
        filed,
        n as f64 / filed.as_secs_f64(),
        searchable,
        n as f64 / searchable.as_secs_f64(),
        written as f64 / text_bytes as f64,
        text_bytes / 1_000_000,
        proc_figure("status", "VmHWM") / 1024
    );

    // Search latency per query kind, HR (all departments) and finance (salary records of its scope only).
    let kinds: Vec<(&str, String)> = vec![
        ("common word", corpus.words[0].clone()),
        ("mid-frequency word", corpus.words[300].clone()),
        ("rare word", corpus.words[15_000].clone()),
        ("name", name(persons.len() / 2)),
        ("two words", format!("{} {}", corpus.words[3], corpus.words[60])),
    ];
    for (who, p) in [("hr", &hr), ("finance", &finance)] {
        for (kind, q) in &kinds {
            let params = SearchParams { q: q.clone(), ..SearchParams::default() };
            for _ in 0..20 {
                archive.materials().search(p, &params).unwrap();
            }
            let mut times = Vec::with_capacity(300);
            let mut total = 0;
            for _ in 0..300 {
                let t = Instant::now();
                total = archive.materials().search(p, &params).unwrap().total;
                times.push(t.elapsed());
            }
            times.sort();
            println!(
                "search {who:>7} {kind:<18} ({total:>6} hits): p50 {:.2?} p99 {:.2?}",
                percentile(&times, 0.5),
                percentile(&times, 0.99)
            );
        }
    }

    // 32 concurrent clients, HR, the query mix.
    let started = Instant::now();
    let times: Vec<Duration> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..32)
            .map(|c| {
                let (archive, hr, kinds) = (&archive, &hr, &kinds);
                s.spawn(move || {
                    (0..60)
                        .map(|i| {
                            let params =
                                SearchParams { q: kinds[(c + i) % kinds.len()].1.clone(), ..SearchParams::default() };
                            let t = Instant::now();
                            archive.materials().search(hr, &params).unwrap();
                            t.elapsed()
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles.into_iter().flat_map(|h| h.join().unwrap()).collect()
    });
    let elapsed = started.elapsed();
    let mut times = times;
    times.sort();
    println!(
        "32 concurrent clients: {:.0} searches/s, p50 {:.2?} p99 {:.2?}",
        times.len() as f64 / elapsed.as_secs_f64(),
        percentile(&times, 0.5),
        percentile(&times, 0.99)
    );

    let started = Instant::now();
    let count = archive.indexing().reindex().unwrap();
    println!("reindex: {count} materials in {:.1?}", started.elapsed());
    println!("peak RSS: {} MB", proc_figure("status", "VmHWM") / 1024);
    drop(archive);

    // Raw Tantivy with dangan's schema and analyzers on the same corpus: the ceiling of the text lane.
    let raw = dangan::index::SearchIndex::open(&dir.path().join("raw"), Arc::new(jieba_rs::Jieba::new())).unwrap();
    let started = Instant::now();
    let mut rng = Rng(1000);
    let mut docs = Vec::with_capacity(10_000);
    for i in 0..n {
        docs.push(dangan::index::IndexDoc {
            material_id: format!("m{i}"),
            person_id: format!("p{}", i / MATERIALS_PER_PERSON),
            names: vec![name(i / MATERIALS_PER_PERSON)],
            title: format!("材料{i}"),
            categories: vec![CATEGORIES[i % CATEGORIES.len()].into()],
            department: DEPTS[(i / MATERIALS_PER_PERSON) % DEPTS.len()].into(),
            body: corpus.text(&mut rng),
            ..Default::default()
        });
        if docs.len() == 10_000 {
            raw.upsert(&docs).unwrap();
            raw.commit().unwrap();
            docs.clear();
        }
    }
    raw.upsert(&docs).unwrap();
    raw.commit().unwrap();
    let t = started.elapsed();
    println!("raw tantivy, same corpus: {t:.1?} ({:.0} docs/s)", n as f64 / t.as_secs_f64());
}
