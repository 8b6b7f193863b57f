//! What the services' unit tests share: an archive on the in-memory store (its workers started, text extracted
//! in process), person records filed through the ordinary checked path, and accounts linked to their holders'
//! records, as principals.

use super::auth::NewUser;
use super::{Archive, Config, Error, Principal};
use crate::extract::Extractor;
use crate::model::{MaterialMeta, PersonId, Role};
use std::time::Duration;

/// An archive in memory with its workers (the text lane indexes plain text in process: no Tesseract). Put
/// together as `bootstrap::in_memory` does, from the parts the service layer may name.
pub(crate) fn archive() -> Archive {
    let store = crate::store::Store::in_memory().unwrap();
    let index = crate::index::SearchIndex::in_memory(std::sync::Arc::new(jieba_rs::Jieba::new())).unwrap();
    let extractor = Extractor::in_thread(Duration::from_secs(5));
    let archive =
        Archive::new(store, index, extractor, Config::default(), super::SpoolDir::temporary().unwrap()).unwrap();
    super::start_workers(&archive);
    archive
}

/// The principal the command line and the demo loader use: acts as HR, holds no dossier of its own.
pub(crate) fn loader() -> Principal {
    Principal::local("test-loader", "测试装载")
}

/// A valid GB 11643 ID number (Beijing Dongcheng) for a birth date and sequence number (odd: male).
pub(crate) fn id_number(year: i32, month: u8, day: u8, seq: u32) -> String {
    let first17 = format!("110101{year:04}{month:02}{day:02}{:03}", seq % 1000);
    let check = crate::model::idnumber::check_char(first17.as_bytes());
    format!("{first17}{check}")
}

/// A person record in `department`, created by the loader; returns its id.
pub(crate) fn person(a: &Archive, name: &str, department: &str) -> PersonId {
    a.persons().create(&loader(), serde_json::json!({"name": name, "department": department})).unwrap().record.id
}

/// An account with `roles`, linked (for a business role) to a new person record of its own in `department`,
/// as a principal.
pub(crate) fn account(a: &Archive, username: &str, roles: &[Role], department: &str) -> Principal {
    account_with(a, username, roles, department, None)
}

/// A leader account of approval level `level`, as [`account`].
pub(crate) fn leader(a: &Archive, username: &str, level: u8) -> Principal {
    account_with(a, username, &[Role::Leader], "admin", Some(level))
}

fn account_with(a: &Archive, username: &str, roles: &[Role], department: &str, level: Option<u8>) -> Principal {
    let linked = roles.iter().any(|r| r.needs_person_link());
    let person_id = linked.then(|| person(a, &format!("{username}本人"), department));
    let user = a
        .accounts()
        .create_demo_user(NewUser {
            username: username.into(),
            display_name: username.into(),
            password: "a-long-enough-pass".into(),
            roles: roles.to_vec(),
            department: Some(department.into()),
            person_id,
            leader_level: level,
        })
        .unwrap();
    a.accounts().principal_for(user, "test").unwrap()
}

/// Catalogue fields of a text material.
pub(crate) fn meta(category: &str, title: &str, tags: &[&str]) -> MaterialMeta {
    MaterialMeta {
        category: category.into(),
        title: title.into(),
        tags: tags.iter().map(|t| t.to_string()).collect(),
        ..Default::default()
    }
}

/// Files a plain-text material as the loader (without waiting for its text); returns its id.
pub(crate) fn file_text(a: &Archive, person: PersonId, m: MaterialMeta, text: &str) -> crate::model::MaterialId {
    a.filing().add(&loader(), person, m, text.as_bytes(), Some("material.txt".into()), false).unwrap().id
}

/// The rule a 403 names (`hard.own-dossier`, `role.finance…`), or what else the result was.
pub(crate) fn denial<T: std::fmt::Debug>(r: Result<T, Error>) -> String {
    match r {
        Err(Error::Forbidden(m)) => m,
        other => panic!("expected 403, got {other:?}"),
    }
}

/// Whether the result is a 404.
pub(crate) fn is_not_found<T>(r: &Result<T, Error>) -> bool {
    matches!(r, Err(Error::NotFound(_)))
}
