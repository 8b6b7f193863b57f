//! 转入 and 审核入库 (docs/DOMAIN.md §2c) between two installations over the API: a package waits in the receiving
//! queue until reviewed; accepted into the dossier of the same ID number it adds only the materials that dossier
//! does not hold (by content hash) and says what it merged and skipped; a fresh cadre gets a new dossier; a
//! returned package files nothing; a damaged or untrusted one never reaches the queue; and the insiders who may
//! not — the administrators, the auditor, finance, a scanner, anyone on their own dossier — are refused, audited.

use crate::common::*;
use crate::imports::zip_of;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use dangan::model::Role;
use serde_json::{Value, json};

const CADRE: &str = "11010119800517001";

async fn post_zip(app: &TestApp, token: &str, uri: &str, zip: Vec<u8>) -> Answer {
    let req = Request::builder()
        .method(Method::POST)
        .uri(uri)
        .header("authorization", format!("Bearer {token}"))
        .header("content-type", "application/zip")
        .body(Body::from(zip))
        .unwrap();
    app.call(req).await
}

async fn receive(app: &TestApp, token: &str, zip: Vec<u8>) -> Answer {
    post_zip(app, token, "/api/v1/receiving?accept_unknown_sender=true", zip).await
}

async fn get(app: &TestApp, token: &str, path: &str) -> Value {
    let a = app.send(Method::GET, path, Some(token), None).await;
    assert_eq!(a.status, StatusCode::OK, "GET {path}: {}", String::from_utf8_lossy(&a.body));
    a.json()
}

async fn accept(app: &TestApp, token: &str, id: &str, into: &str) -> Answer {
    app.send(Method::POST, &format!("/api/v1/receiving/{id}/accept"), Some(token), Some(json!({ "into": into }))).await
}

fn three() -> [(&'static str, &'static str, &'static [u8]); 3] {
    [
        ("1", "干部履历表", "干部履历表 王小明 2019年".as_bytes()),
        ("3", "2020年度考核登记表", "年度考核 称职 2020".as_bytes()),
        ("9-2", "任职通知", "任命王小明为科长 2021".as_bytes()),
    ]
}

/// Installation A with a dossier of `id` holding the three materials; returns its package.
pub(crate) async fn package_from_a(name: &str, first17: &str) -> Vec<u8> {
    let a = TestApp::new().await;
    let hr = a.login("hr").await;
    let person = a.create_person(&hr, person_body(name, &id_number(first17), "sales")).await;
    let pid = person["id"].as_str().unwrap();
    for (cat, title, bytes) in three() {
        let meta = json!({"category": cat, "title": title, "formed_on": "2021-03-01", "pages": 1});
        let up = a.upload(&hr, pid, meta, "m.txt", bytes).await;
        assert_eq!(up.status, StatusCode::CREATED, "{}", String::from_utf8_lossy(&up.body));
    }
    let out = a.send(Method::GET, &format!("/api/v1/persons/{pid}/package"), Some(&hr), None).await;
    assert_eq!(out.status, StatusCode::OK, "{}", String::from_utf8_lossy(&out.body));
    out.body
}

async fn titles_of(app: &TestApp, token: &str, person: &str) -> Vec<String> {
    let list = get(app, token, &format!("/api/v1/persons/{person}/materials")).await;
    let mut t: Vec<String> =
        list["items"].as_array().unwrap().iter().map(|m| m["title"].as_str().unwrap().to_string()).collect();
    t.sort();
    t
}

#[tokio::test]
async fn a_package_for_a_cadre_held_here_merges_only_the_new_materials_and_says_what_it_merged() {
    let package = package_from_a("王小明", CADRE).await;
    let b = TestApp::new().await;
    let hr = b.login("hr").await;
    // B holds the cadre already, with one of the three materials (the same bytes) and another post.
    let mut body = person_body("王小明", &id_number(CADRE), "research");
    body["position"] = json!("副科长");
    let held = b.create_person(&hr, body).await;
    let pid = held["id"].as_str().unwrap().to_string();
    let (cat, title, bytes) = three()[1];
    let up = b.upload(&hr, &pid, json!({"category": cat, "title": "考核表（本馆）"}), "k.txt", bytes).await;
    assert_eq!(up.status, StatusCode::CREATED);
    let here_id = up.json()["id"].as_str().unwrap().to_string();

    // Received: queued, nothing filed yet; the review shows the dossier held here and each material against it.
    let r = receive(&b, &hr, package.clone()).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", String::from_utf8_lossy(&r.body));
    assert!(r.header("location").starts_with("/api/v1/receiving/"));
    let review = r.json();
    let id = review["id"].as_str().unwrap().to_string();
    assert_eq!(review["state"], "queued");
    assert_eq!(review["sender"]["trusted"], false);
    assert_eq!(review["person_name"], "王小明");
    assert_eq!(review["loose"], false);
    assert_eq!(review["existing"]["person_id"], pid.as_str());
    assert_eq!(review["catalogue_findings"], json!([]), "{review}");
    let states: Vec<(&str, &str)> = review["materials"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| (m["title"].as_str().unwrap(), m["held"].as_str().unwrap()))
        .collect();
    assert_eq!(states.iter().filter(|(_, h)| *h == "new").count(), 2, "{states:?}");
    assert!(states.contains(&(title, "held")), "{states:?}");
    // The person record is compared, not applied: the post differs.
    let diff = review["differences"].as_array().unwrap();
    assert!(
        diff.iter().any(|d| d["field"] == "position" && d["here"] == "副科长" && d["package"] == "科员"),
        "{diff:?}"
    );
    assert!(review["completeness"]["checks"].as_u64().unwrap() > 0);
    assert_eq!(titles_of(&b, &hr, &pid).await, ["考核表（本馆）"], "receiving filed something");
    let queue = get(&b, &hr, "/api/v1/receiving?state=queued").await;
    assert_eq!(queue["total"], 1);
    assert_eq!(get(&b, &hr, &format!("/api/v1/receiving/{id}")).await["id"], id.as_str());

    // As a new dossier: one of this ID number is held here (409).
    let new = accept(&b, &hr, &id, "new").await;
    assert_eq!(new.status, StatusCode::CONFLICT, "{}", String::from_utf8_lossy(&new.body));
    let ok = accept(&b, &hr, &id, "existing").await;
    assert_eq!(ok.status, StatusCode::OK, "{}", String::from_utf8_lossy(&ok.body));
    let done = ok.json();
    assert_eq!(done["person_id"], pid.as_str());
    assert_eq!(done["merged"].as_array().unwrap().len(), 2, "{done}");
    assert_eq!(done["skipped"].as_array().unwrap().len(), 1, "{done}");
    assert_eq!(done["skipped"][0]["title"], title);
    assert_eq!(done["skipped"][0]["held_by"], here_id.as_str());
    assert_eq!(done["receipt"]["person_id"], pid.as_str());
    assert_eq!(done["receipt"]["materials"], 2);
    assert_eq!(done["receipt"]["signature"].as_str().unwrap().len(), 128);
    // B's dossier gained exactly the two; its person record is as it was.
    let mut want = vec!["任职通知", "干部履历表", "考核表（本馆）"];
    want.sort();
    assert_eq!(titles_of(&b, &hr, &pid).await, want);
    assert_eq!(get(&b, &hr, &format!("/api/v1/persons/{pid}")).await["position"], "副科长");

    // Accepting twice is a 409; so is returning a decided package.
    assert_eq!(accept(&b, &hr, &id, "existing").await.status, StatusCode::CONFLICT);
    let back =
        b.send(Method::POST, &format!("/api/v1/receiving/{id}/return"), Some(&hr), Some(json!({"reasons": "x"}))).await;
    assert_eq!(back.status, StatusCode::CONFLICT);
    let decided = get(&b, &hr, &format!("/api/v1/receiving/{id}")).await;
    assert_eq!((decided["state"].as_str(), decided["decided_by"].as_str()), (Some("accepted"), Some("hr")));
    assert_eq!(decided["outcome"]["merged"].as_array().unwrap().len(), 2);

    // The same package again adds nothing: every material is held now (none twice).
    let again = receive(&b, &hr, package).await;
    assert_eq!(again.status, StatusCode::CREATED);
    let again = again.json();
    assert!(again["materials"].as_array().unwrap().iter().all(|m| m["held"] == "held"), "{again}");
    let ok = accept(&b, &hr, again["id"].as_str().unwrap(), "existing").await.json();
    assert_eq!((ok["merged"].as_array().unwrap().len(), ok["skipped"].as_array().unwrap().len()), (0, 3), "{ok}");
    assert_eq!(titles_of(&b, &hr, &pid).await.len(), 3);

    // The trail has each step.
    b.add_account("auditor", vec![Role::Auditor], None, None, None).await;
    let auditor = b.login("auditor").await;
    let trail = get(&b, &auditor, "/api/v1/audit?action=receiving.*&limit=100").await;
    let items = trail["items"].as_array().unwrap();
    for action in ["receiving.receive", "receiving.list", "receiving.read", "receiving.accept"] {
        assert!(
            items.iter().any(|e| e["action"] == action && e["actor"] == "hr" && e["outcome"] == "allowed"),
            "{action}"
        );
    }
    assert!(
        items.iter().any(|e| e["action"] == "receiving.accept" && e["outcome"] == "failed"),
        "the 409s are recorded"
    );
}

#[tokio::test]
async fn a_fresh_cadre_is_accepted_into_a_new_dossier_and_a_returned_package_files_nothing() {
    let package = package_from_a("李四", "11010119850101002").await;
    let b = TestApp::new().await;
    let hr = b.login("hr").await;
    let before = get(&b, &hr, "/api/v1/persons").await["total"].as_u64().unwrap();

    // Returned: nothing filed, and the decision stands.
    let r = receive(&b, &hr, package.clone()).await.json();
    let returned = r["id"].as_str().unwrap().to_string();
    assert!(r["existing"].is_null());
    let path = format!("/api/v1/receiving/{returned}/return");
    let no_reason = b.send(Method::POST, &path, Some(&hr), Some(json!({"reasons": "  "}))).await;
    assert_eq!(no_reason.status, StatusCode::UNPROCESSABLE_ENTITY);
    let back = b.send(Method::POST, &path, Some(&hr), Some(json!({"reasons": "缺少任免审批表原件"}))).await;
    assert_eq!(back.status, StatusCode::OK, "{}", String::from_utf8_lossy(&back.body));
    assert_eq!(
        (back.json()["state"].as_str(), back.json()["reasons"].as_str()),
        (Some("returned"), Some("缺少任免审批表原件"))
    );
    assert_eq!(accept(&b, &hr, &returned, "new").await.status, StatusCode::CONFLICT);
    assert_eq!(get(&b, &hr, "/api/v1/persons").await["total"].as_u64().unwrap(), before, "a returned package filed");

    // Into an existing dossier: none is held (409). As a new dossier: every material.
    let id = receive(&b, &hr, package).await.json()["id"].as_str().unwrap().to_string();
    assert_eq!(accept(&b, &hr, &id, "existing").await.status, StatusCode::CONFLICT);
    let ok = accept(&b, &hr, &id, "new").await;
    assert_eq!(ok.status, StatusCode::OK, "{}", String::from_utf8_lossy(&ok.body));
    let done = ok.json();
    assert_eq!(done["into"], "new");
    assert_eq!(done["merged"].as_array().unwrap().len(), 3, "{done}");
    assert_eq!(done["receipt"]["materials"], 3);
    let pid = done["person_id"].as_str().unwrap();
    assert_eq!(get(&b, &hr, &format!("/api/v1/persons/{pid}")).await["name"], "李四");
    assert_eq!(titles_of(&b, &hr, pid).await.len(), 3);
    assert_eq!(get(&b, &hr, "/api/v1/persons").await["total"].as_u64().unwrap(), before + 1);
    // The queue keeps the register: both, newest first.
    let all = get(&b, &hr, "/api/v1/receiving").await;
    let states: Vec<&str> = all["items"].as_array().unwrap().iter().map(|i| i["state"].as_str().unwrap()).collect();
    assert_eq!(states, ["accepted", "returned"]);
    let bad = b.send(Method::GET, "/api/v1/receiving?state=filed", Some(&hr), None).await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn a_damaged_or_untrusted_package_never_reaches_the_queue() {
    let package = package_from_a("王小明", CADRE).await;
    let b = TestApp::new().await;
    let hr = b.login("hr").await;
    // Untrusted, not accepted explicitly.
    let a = post_zip(&b, &hr, "/api/v1/receiving", package.clone()).await;
    assert_eq!(a.status, StatusCode::FORBIDDEN, "{}", String::from_utf8_lossy(&a.body));
    assert!(a.json()["detail"].as_str().unwrap().contains("unknown sender"));
    // One byte of a material changed.
    let needle = three()[2].2;
    let at = package.windows(needle.len()).position(|w| w == needle).expect("stored material bytes") + 3;
    let mut flipped = package.clone();
    flipped[at] ^= 0x01;
    let a = receive(&b, &hr, flipped).await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", String::from_utf8_lossy(&a.body));
    assert!(a.json()["detail"].as_str().unwrap().contains("data/materials/"));
    for zip in [zip_of(&[("bag/bagit.txt", b"BagIt-Version: 1.0\n"), ("bag/../../x", b"x")]), b"garbage".to_vec()] {
        assert_eq!(receive(&b, &hr, zip).await.status, StatusCode::UNPROCESSABLE_ENTITY);
    }
    assert_eq!(receive(&b, &hr, Vec::new()).await.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(get(&b, &hr, "/api/v1/receiving").await["total"], 0);
}

#[tokio::test]
async fn administrators_finance_scanners_and_anyone_on_their_own_dossier_neither_see_nor_decide_the_queue() {
    // A package for the receiver's HR clerk `hr2` (the same ID number as the clerk's own record there).
    let own = package_from_a("人事专员戊", "65432119700101779").await;
    let other = package_from_a("王小明", CADRE).await;
    let b = TestApp::new().await;
    b.add_account("admin", vec![Role::Admin], Some("admin"), None, None).await;
    b.link_holder("admin", "行政专员丙", "65432119700101775", "admin").await;
    b.add_account("scanner", vec![Role::Scanner], Some("it"), None, None).await;
    b.link_holder("scanner", "扫描员丁", "65432119700101777", "it").await;
    for (name, role) in [("secadmin", Role::Secadmin), ("auditor", Role::Auditor)] {
        b.add_account(name, vec![role], Some("it"), None, None).await;
    }
    b.add_account("hr2", vec![Role::Hr], Some("hr"), None, None).await;
    b.link_holder("hr2", "人事专员戊", "65432119700101779", "hr").await;
    let hr = b.login("hr").await;
    let hr2 = b.login("hr2").await;

    // The clerk may not receive a package for their own dossier; a colleague may.
    let mine = receive(&b, &hr2, own.clone()).await;
    assert_eq!(mine.status, StatusCode::FORBIDDEN, "{}", String::from_utf8_lossy(&mine.body));
    assert!(mine.json()["detail"].as_str().unwrap().contains("hard.own-dossier"));
    let mine = receive(&b, &hr, own).await;
    assert_eq!(mine.status, StatusCode::CREATED, "{}", String::from_utf8_lossy(&mine.body));
    let mine = mine.json()["id"].as_str().unwrap().to_string();
    let queued = receive(&b, &hr, other).await.json()["id"].as_str().unwrap().to_string();

    // The clerk neither sees it in the queue, nor opens, accepts or returns it.
    let seen = get(&b, &hr2, "/api/v1/receiving").await;
    assert_eq!(seen["total"], 1, "{seen}");
    assert_eq!(seen["items"][0]["id"], queued.as_str());
    let r = b.send(Method::GET, &format!("/api/v1/receiving/{mine}"), Some(&hr2), None).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = accept(&b, &hr2, &mine, "existing").await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", String::from_utf8_lossy(&r.body));
    assert!(r.json()["detail"].as_str().unwrap().contains("hard.own-dossier"));
    let path = format!("/api/v1/receiving/{mine}/return");
    let r = b.send(Method::POST, &path, Some(&hr2), Some(json!({"reasons": "不收"}))).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(get(&b, &hr, &format!("/api/v1/receiving/{mine}")).await["state"], "queued");

    // The administrators, the auditor, finance and a scanner: 403 on everything.
    for name in ["it", "secadmin", "auditor", "admin", "finance", "scanner"] {
        let token = b.login(name).await;
        let q = b.send(Method::GET, "/api/v1/receiving", Some(&token), None).await;
        assert_eq!(q.status, StatusCode::FORBIDDEN, "{name} saw the queue");
        let v = b.send(Method::GET, &format!("/api/v1/receiving/{queued}"), Some(&token), None).await;
        assert_eq!(v.status, StatusCode::FORBIDDEN, "{name} opened a package");
        assert_eq!(accept(&b, &token, &queued, "existing").await.status, StatusCode::FORBIDDEN, "{name} accepted");
        let path = format!("/api/v1/receiving/{queued}/return");
        let r = b.send(Method::POST, &path, Some(&token), Some(json!({"reasons": "x"}))).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{name} returned");
    }
    assert_eq!(get(&b, &hr, &format!("/api/v1/receiving/{queued}")).await["state"], "queued");

    // Every refusal is in the trail.
    let auditor = b.login("auditor").await;
    let trail = get(&b, &auditor, "/api/v1/audit?action=receiving.*&outcome=denied&limit=500").await;
    let items = trail["items"].as_array().unwrap();
    for name in ["it", "secadmin", "auditor", "admin", "finance", "scanner"] {
        for action in ["receiving.list", "receiving.read", "receiving.accept", "receiving.return"] {
            assert!(items.iter().any(|e| e["actor"] == name && e["action"] == action), "no denied {action} by {name}");
        }
    }
    for action in ["receiving.receive", "receiving.read", "receiving.accept", "receiving.return"] {
        assert!(items.iter().any(|e| e["actor"] == "hr2" && e["action"] == action), "no denied {action} by hr2");
    }
}
