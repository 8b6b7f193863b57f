//! Setup shared by the benchmarks: a real installation (sled + Tantivy in a temporary directory) with an HR
//! account and one person record.

use dangan::crypto::MasterKey;
use dangan::extract::Extractor;
use dangan::model::{PersonId, Role};
use dangan::service::{Archive, Config, Principal};
use std::time::Duration;

/// The installation, an HR principal, and a person to file materials into.
#[allow(dead_code)] // not every bench sets up an installation
pub struct Bench {
    /// Keeps the directory alive.
    pub _dir: tempfile::TempDir,
    /// The archive.
    pub archive: Archive,
    /// HR.
    pub hr: Principal,
    /// A person in `department`.
    pub person: PersonId,
}

/// Sets up an installation.
#[allow(dead_code)] // not every bench uses both
pub fn installation(department: &str) -> Bench {
    installation_with(department, Config::default())
}

/// A new account of `role` (the bench password), not yet linked to a holder: it may file persons, nothing more.
#[allow(dead_code)] // not every bench sets up accounts
pub fn new_account(archive: &Archive, username: &str, role: Role, department: Option<&str>) -> Principal {
    let user = archive
        .accounts()
        .create_user(dangan::service::auth::NewUser {
            username: username.into(),
            display_name: username.into(),
            password: "a-bench-password".into(),
            roles: vec![role],
            department: department.map(Into::into),
            person_id: None,
            leader_level: None,
        })
        .unwrap();
    archive.accounts().principal_for(user, "bench").unwrap()
}

/// Links `username` to a holder record named `holder` that `creator` files in `department`, and returns it as a
/// principal.
#[allow(dead_code)] // not every bench sets up accounts
pub fn link_holder(
    archive: &Archive,
    creator: &Principal,
    username: &str,
    holder: &str,
    department: &str,
) -> Principal {
    let holder = archive
        .persons()
        .create(creator, serde_json::json!({"name": holder, "department": department}))
        .unwrap()
        .record
        .id;
    archive.accounts().principal_for(archive.accounts().link_user_local(username, holder).unwrap(), "bench").unwrap()
}

/// Sets up an installation with `config`.
#[allow(dead_code)] // not every bench sets up an installation
pub fn installation_with(department: &str, config: Config) -> Bench {
    let dir = tempfile::tempdir().unwrap();
    let archive = dangan::bootstrap::open(
        dir.path(),
        &MasterKey::generate().unwrap(),
        Extractor::in_thread(Duration::from_secs(30)),
        config,
    )
    .unwrap();
    // A business account reads nothing until it is linked to its holder's own person record.
    let bootstrap = new_account(&archive, "hr", Role::Hr, None);
    let hr = link_holder(&archive, &bootstrap, "hr", "基准人事", "hr");
    let person = archive
        .persons()
        .create(&hr, serde_json::json!({"name": "基准测试", "department": department}))
        .unwrap()
        .record
        .id;
    Bench { _dir: dir, archive, hr, person }
}

/// The words of the benchmark corpus and its queries.
#[allow(dead_code)]
pub const WORDS: [&str; 12] =
    ["晋升", "考核", "工资", "合同", "学位", "党员", "奖励", "处分", "培训", "任免", "出国", "审计"];
const CATS: [&str; 8] = ["1", "3", "4-1", "6", "8", "9-1", "9-2", "10"];
const DEPTS: [&str; 8] = ["hr", "admin", "finance", "legal", "it", "ops", "research", "sales"];

/// Fills an index with `n` synthetic materials (eight per person, spread over categories, departments and tags)
/// and commits.
#[allow(dead_code)]
pub fn fill_corpus(index: &dangan::index::SearchIndex, n: usize) {
    let mut docs = Vec::with_capacity(10_000);
    for i in 0..n {
        let w = |k: usize| WORDS[(i * 7 + k * 5) % WORDS.len()];
        let cat = CATS[i % CATS.len()];
        docs.push(dangan::index::IndexDoc {
            material_id: format!("m{i}"),
            person_id: format!("p{}", i / 8),
            names: vec![format!("人员{}", i / 8)],
            title: format!("{}材料第{i}号", w(0)),
            categories: vec![cat.to_string(), cat.split('-').next().unwrap_or(cat).to_string()],
            department: DEPTS[(i / 8) % DEPTS.len()].to_string(),
            tags: if i % 13 == 0 {
                vec!["salary".into()]
            } else if i % 17 == 0 {
                vec!["contract".into()]
            } else {
                vec![]
            },
            body: format!("该同志于{}年参加{}，{}情况良好，经研究同意{}。", 1990 + i % 30, w(1), w(2), w(3)),
            formed: Some(1_000_000_000 + i as i64 * 1000),
            ..Default::default()
        });
        if docs.len() == 10_000 {
            index.upsert(&docs).unwrap();
            docs.clear();
        }
    }
    index.upsert(&docs).unwrap();
    index.commit().unwrap();
}
