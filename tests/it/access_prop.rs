//! Property: for random accounts, materials and queries, every search hit is readable by the caller under the
//! policy, and the reported total equals the number of readable matches (nothing leaks through totals). And for
//! random 密级 levels and clearances: a material above the caller's clearance is absent from its search totals,
//! its catalogue listings and its reads (docs/DOMAIN.md §3).

use crate::common::worker_extractor;
use dangan::model::policy::{Access, Capability, Target};
use dangan::model::{MaterialMeta, Role, User, UserId};
use dangan::service::search::SearchParams;
use dangan::service::{Config, Error};
use proptest::prelude::*;
use std::collections::HashSet;

const DEPTS: [&str; 3] = ["ops", "sales", "finance"];
const CATEGORIES: [&str; 6] = ["1", "3", "4-1", "8", "9-1", "10"];
const TAGS: [&[&str]; 3] = [&[], &["contract"], &["salary"]];
const WORDS: [&str; 4] = ["甲乙", "丙丁", "戊己", "庚辛"];
const ROLES: [Role; 9] = [
    Role::Hr,
    Role::Admin,
    Role::Finance,
    Role::Legal,
    Role::It,
    Role::Head,
    Role::Leader,
    Role::Auditor,
    Role::Scanner,
];

fn user(roles: Vec<Role>, dept: &str) -> User {
    User {
        id: UserId::new(),
        username: format!("u{}", UserId::new()),
        display_name: "测试".into(),
        roles,
        department: Some(dept.into()),
        // Linked to a holder of its own (an unlinked business account reads nothing at all).
        person_id: Some(dangan::model::PersonId::new()),
        leader_level: None,
        password_hash: String::new(),
        disabled: false,
        created_at: 0,
        must_change_password: false,
        totp_secret: None,
        totp_pending: None,
        clearance: None,
    }
}

#[derive(Debug, Clone)]
struct Doc {
    person: usize,
    category: usize,
    tags: usize,
    words: Vec<usize>,
}

fn docs() -> impl Strategy<Value = Vec<Doc>> {
    prop::collection::vec(
        (0..6usize, 0..CATEGORIES.len(), 0..TAGS.len(), prop::collection::vec(0..WORDS.len(), 0..3))
            .prop_map(|(person, category, tags, words)| Doc { person, category, tags, words }),
        1..14,
    )
}

fn accounts() -> impl Strategy<Value = Vec<(Vec<usize>, usize)>> {
    prop::collection::vec((prop::collection::vec(0..ROLES.len(), 1..3), 0..DEPTS.len()), 1..5)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn search_shows_exactly_what_the_caller_may_read(docs in docs(), accounts in accounts(), word in 0..WORDS.len()) {
        let archive = dangan::bootstrap::in_memory(worker_extractor(), Config::default()).unwrap();
        let hr = archive.accounts().principal_for(user(vec![Role::Hr], "hr"), "prop").unwrap();
        let mut persons = Vec::new();
        for i in 0..6 {
            let body = serde_json::json!({"name": format!("人员{}", ["一", "二", "三", "四", "五", "六"][i]), "department": DEPTS[i % 3]});
            persons.push(archive.persons().create(&hr, body).unwrap().record);
        }
        let mut materials = Vec::new();
        for (n, d) in docs.iter().enumerate() {
            let text: Vec<&str> = d.words.iter().map(|w| WORDS[*w]).collect();
            let body = format!("材料正文{n}：{}。", text.join("，"));
            let meta = MaterialMeta {
                category: CATEGORIES[d.category].into(),
                title: format!("材料{n}"),
                tags: TAGS[d.tags].iter().map(|t| t.to_string()).collect(),
                ..Default::default()
            };
            let m = archive.filing().add(&hr, persons[d.person].id, meta, body.as_bytes(), Some("m.txt".into()), false).unwrap();
            materials.push((m, body));
        }
        prop_assert!(archive.indexing().wait_queue_empty(std::time::Duration::from_secs(60)).unwrap());
        let policy = archive.policy();
        let q = WORDS[word];
        for (roles, dept) in &accounts {
            let roles: Vec<Role> = roles.iter().map(|r| ROLES[*r]).collect::<HashSet<_>>().into_iter().collect();
            let p = archive.accounts().principal_for(user(roles, DEPTS[*dept]), "prop").unwrap();
            let expected: HashSet<String> = materials
                .iter()
                .filter(|(m, body)| {
                    let person = persons.iter().find(|x| x.id == m.person_id).unwrap();
                    let t = Target {
                        person_id: Some(person.id),
                        department: Some(&person.department),
                        family: vec![],
                        lineage: archive.scheme().lineage(&m.meta.category),
                        tags: m.meta.tags.clone(),
                        secrecy: 0,
                    };
                    body.contains(q) && policy.decide(&p.subject, &t, Access::Read).allowed
                })
                .map(|(m, _)| m.id.to_string())
                .collect();
            let params = SearchParams { q: q.into(), limit: Some(100), ..Default::default() };
            match archive.materials().search(&p, &params) {
                Ok(page) => {
                    let hits: HashSet<String> = page.hits.iter().map(|h| h.material_id.to_string()).collect();
                    prop_assert_eq!(&hits, &expected, "roles {:?} dept {}", p.user.roles, DEPTS[*dept]);
                    prop_assert_eq!(page.total, expected.len());
                }
                Err(Error::Forbidden(_)) => {
                    prop_assert!(!policy.capability(&p.subject, Capability::Search).allowed);
                }
                Err(e) => prop_assert!(false, "search failed: {e}"),
            }
        }
    }
}

/// Roles that list, read, download and search category 9-1 in every department under the default policy.
const READERS: [Role; 2] = [Role::Hr, Role::Finance];

proptest! {
    #![proptest_config(ProptestConfig { cases: 10, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn a_material_above_the_callers_clearance_is_absent_from_search_totals_lists_and_reads(
        levels in prop::collection::vec((0..4u8, any::<bool>(), 0..3usize), 1..12),
        accounts in prop::collection::vec((0..READERS.len(), prop::option::of(0..4u8)), 1..4),
    ) {
        let archive = dangan::bootstrap::in_memory(worker_extractor(), Config::default()).unwrap();
        let filer = User { clearance: Some(3), ..user(vec![Role::Hr], "hr") };
        let hr = archive.accounts().principal_for(filer, "prop").unwrap();
        let mut persons = Vec::new();
        for (i, name) in ["人员甲", "人员乙", "人员丙"].into_iter().enumerate() {
            let body = serde_json::json!({"name": name, "department": DEPTS[i]});
            persons.push(archive.persons().create(&hr, body).unwrap().record);
        }
        let mut materials = Vec::new();
        for (n, (level, unset, person)) in levels.iter().enumerate() {
            // A material without 密级 counts as 0.
            let secrecy = if *level == 0 && *unset { None } else { Some(*level) };
            let meta = MaterialMeta {
                category: "9-1".into(),
                title: format!("材料{n}"),
                secrecy,
                ..Default::default()
            };
            let body = format!("材料正文{n}：甲乙丙丁。");
            let m = archive.filing().add(&hr, persons[*person].id, meta, body.as_bytes(), Some("m.txt".into()), false).unwrap();
            materials.push(m);
        }
        prop_assert!(archive.indexing().wait_queue_empty(std::time::Duration::from_secs(60)).unwrap());
        for (role, clearance) in &accounts {
            let p = archive.accounts().principal_for(User { clearance: *clearance, ..user(vec![READERS[*role]], "ops") }, "prop").unwrap();
            let cleared = clearance.unwrap_or(dangan::model::user::DEFAULT_CLEARANCE);
            prop_assert_eq!(p.subject.clearance, cleared);
            let visible: HashSet<String> = materials
                .iter()
                .filter(|m| m.meta.secrecy.unwrap_or(0) <= cleared)
                .map(|m| m.id.to_string())
                .collect();
            // Search: hits and total are exactly the materials within the clearance (every reader role here
            // reads 9-1).
            let params = SearchParams { q: "甲乙".into(), limit: Some(100), ..Default::default() };
            let page = archive.materials().search(&p, &params).unwrap();
            let hits: HashSet<String> = page.hits.iter().map(|h| h.material_id.to_string()).collect();
            prop_assert_eq!(&hits, &visible, "role {:?} clearance {:?}", READERS[*role], clearance);
            prop_assert_eq!(page.total, visible.len());
            // Lists: the dossiers' catalogues hold exactly the materials within the clearance.
            let mut listed = HashSet::new();
            for person in &persons {
                for e in archive.persons().catalogue(&p, person.id).unwrap() {
                    listed.insert(e.material.id.to_string());
                }
            }
            prop_assert_eq!(&listed, &visible);
            // Reads: metadata, versions and content of one above the clearance are 404, as if it did not exist.
            for m in &materials {
                let above = m.meta.secrecy.unwrap_or(0) > cleared;
                let get = archive.materials().get(&p, m.id);
                let versions = archive.materials().versions(&p, m.id);
                let content = archive.materials().content(&p, m.id);
                if above {
                    prop_assert!(matches!(get, Err(Error::NotFound(_))), "{get:?}");
                    prop_assert!(matches!(versions, Err(Error::NotFound(_))), "{versions:?}");
                    prop_assert!(matches!(content, Err(Error::NotFound(_))));
                } else {
                    prop_assert!(get.is_ok(), "{get:?}");
                    prop_assert!(versions.is_ok());
                    prop_assert!(content.is_ok());
                }
            }
        }
    }
}
