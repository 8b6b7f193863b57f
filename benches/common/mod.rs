//! Setup shared by the benchmarks: a real installation (sled + Tantivy in a temporary directory) with an HR
//! account and one person record.

use dangan::crypto::MasterKey;
use dangan::extract::Extractor;
use dangan::model::{PersonId, Role};
use dangan::service::{Archive, Config, Principal};
use std::time::Duration;

/// The installation, an HR principal, and a person to file materials into.
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

/// Sets up an installation with `config`.
pub fn installation_with(department: &str, config: Config) -> Bench {
    let dir = tempfile::tempdir().unwrap();
    let archive = Archive::open(
        dir.path(),
        &MasterKey::generate().unwrap(),
        Extractor::in_thread(Duration::from_secs(30)),
        config,
    )
    .unwrap();
    let user = archive
        .create_user(dangan::service::auth::NewUser {
            username: "hr".into(),
            display_name: "hr".into(),
            password: "a-bench-password".into(),
            roles: vec![Role::Hr],
            department: None,
            person_id: None,
            leader_level: None,
        })
        .unwrap();
    // A business account reads nothing until it is linked to its holder's own person record.
    let bootstrap = archive.principal_for(user, "bench").unwrap();
    let holder = archive
        .create_person(&bootstrap, serde_json::json!({"name": "基准人事", "department": "hr"}))
        .unwrap()
        .record
        .id;
    let hr = archive.principal_for(archive.link_user_local("hr", holder).unwrap(), "bench").unwrap();
    let person = archive
        .create_person(&hr, serde_json::json!({"name": "基准测试", "department": department}))
        .unwrap()
        .record
        .id;
    Bench { _dir: dir, archive, hr, person }
}
