//! The stable 目录 (docs/DOMAIN.md §2) and the archivist's record checks (§5), through the API: stored 序号,
//! 整理 as a new numbering with the old ones readable, no materials under the bare parents 4 and 9, materials
//! dated before their subject's birth, and the person-record findings.

use crate::common::*;
use axum::http::{Method, StatusCode};
use dangan::model::Role;
use serde_json::{Value, json};

async fn file(app: &TestApp, hr: &str, person: &str, category: &str, title: &str, formed_on: &str) -> String {
    let meta = json!({"category": category, "title": title, "formed_on": formed_on, "pages": 2});
    let a = app.upload(hr, person, meta, "a.txt", format!("{title} 正文").as_bytes()).await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", String::from_utf8_lossy(&a.body));
    a.json()["id"].as_str().unwrap().to_string()
}

/// title → 序号 of the answer's items, in their order.
fn numbers(list: &Value) -> Vec<(String, u64)> {
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| (m["title"].as_str().unwrap().to_string(), m["seq"].as_u64().unwrap()))
        .collect()
}

async fn get(app: &TestApp, token: &str, path: &str) -> Value {
    let a = app.send(Method::GET, path, Some(token), None).await;
    assert_eq!(a.status, StatusCode::OK, "GET {path}: {}", String::from_utf8_lossy(&a.body));
    a.json()
}

fn pairs(v: &[(&str, u64)]) -> Vec<(String, u64)> {
    v.iter().map(|(t, n)| (t.to_string(), *n)).collect()
}

#[tokio::test]
async fn filing_keeps_every_number_and_arranging_renumbers_as_a_new_readable_numbering() {
    let app = TestApp::new().await;
    let hr = app.login("hr").await;
    let person = app.create_person(&hr, person_body("编号测试", &id_number("11010119800517001"), "finance")).await;
    let pid = person["id"].as_str().unwrap();
    file(&app, &hr, pid, "9-2", "任命2010", "2010-03-01").await;
    file(&app, &hr, pid, "9-2", "任命2015", "2015").await;
    file(&app, &hr, pid, "1", "履历表", "2012-05").await;
    let before = get(&app, &hr, &format!("/api/v1/persons/{pid}/materials")).await;
    assert_eq!(numbers(&before), pairs(&[("履历表", 1), ("任命2010", 1), ("任命2015", 2)]));

    // An older material takes the next number of its sub-category; nothing else moves.
    file(&app, &hr, pid, "9-2", "任命2008", "2008-07").await;
    let after = get(&app, &hr, &format!("/api/v1/persons/{pid}/materials")).await;
    assert_eq!(numbers(&after), pairs(&[("履历表", 1), ("任命2010", 1), ("任命2015", 2), ("任命2008", 3)]));
    let cat = get(&app, &hr, &format!("/api/v1/persons/{pid}/catalogue")).await;
    assert_eq!(numbers(&cat), numbers(&after), "the two listings agree");
    assert_eq!(cat["numbering"]["number"], 1);
    assert_eq!(cat["numbering"]["kind"], "initial");
    assert_eq!(cat["numberings"].as_array().unwrap().len(), 1);

    // A reader who may not arrange (finance files nothing) is refused, and nothing changes.
    let finance = app.login("finance").await;
    let refused =
        app.send(Method::POST, &format!("/api/v1/persons/{pid}/catalogue/arrange"), Some(&finance), None).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", String::from_utf8_lossy(&refused.body));

    // 整理 renumbers by formed date as numbering 2; numbering 1 stays readable as it was.
    let req = axum::http::Request::builder()
        .method(Method::POST)
        .uri(format!("/api/v1/persons/{pid}/catalogue/arrange"))
        .header("authorization", format!("Bearer {hr}"))
        .header("x-change-reason", "annual arrangement")
        .body(axum::body::Body::empty())
        .unwrap();
    let arranged = app.call(req).await;
    assert_eq!(arranged.status, StatusCode::OK, "{}", String::from_utf8_lossy(&arranged.body));
    let arranged = arranged.json();
    assert_eq!(numbers(&arranged), pairs(&[("履历表", 1), ("任命2008", 1), ("任命2010", 2), ("任命2015", 3)]));
    assert_eq!(arranged["numbering"]["number"], 2);
    assert_eq!(arranged["numbering"]["kind"], "arranged");
    assert_eq!(arranged["numbering"]["reason"], "annual arrangement");
    assert_eq!(arranged["numbering"]["current"], true);
    let old = get(&app, &hr, &format!("/api/v1/persons/{pid}/catalogue?numbering=1")).await;
    assert_eq!(numbers(&old), numbers(&after), "the earlier numbering reads as it was");
    assert_eq!(old["numbering"]["current"], false);
    let listed = get(&app, &hr, &format!("/api/v1/persons/{pid}/materials")).await;
    assert_eq!(numbers(&listed), numbers(&arranged));

    // Filing after 整理 extends the new numbering only.
    file(&app, &hr, pid, "9-2", "任命2005", "2005").await;
    let now = get(&app, &hr, &format!("/api/v1/persons/{pid}/catalogue")).await;
    assert_eq!(now["items"].as_array().unwrap().last().unwrap()["seq"], 4);
    let old = get(&app, &hr, &format!("/api/v1/persons/{pid}/catalogue?numbering=1")).await;
    assert_eq!(numbers(&old), numbers(&after));
    let missing = app.send(Method::GET, &format!("/api/v1/persons/{pid}/catalogue?numbering=9"), Some(&hr), None).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);

    // A material moved to another sub-category takes the next number there.
    let moved = now["items"].as_array().unwrap().iter().find(|m| m["title"] == "任命2010").unwrap().clone();
    let req = axum::http::Request::builder()
        .method(Method::PATCH)
        .uri(format!("/api/v1/materials/{}", moved["id"].as_str().unwrap()))
        .header("authorization", format!("Bearer {hr}"))
        .header("content-type", "application/merge-patch+json")
        .header("if-match", format!("\"{}\"", moved["version"]))
        .body(axum::body::Body::from(json!({"category": "9-1"}).to_string()))
        .unwrap();
    let a = app.call(req).await;
    assert_eq!(a.status, StatusCode::OK, "{}", String::from_utf8_lossy(&a.body));
    let now = get(&app, &hr, &format!("/api/v1/persons/{pid}/catalogue")).await;
    assert_eq!(
        numbers(&now),
        pairs(&[("履历表", 1), ("任命2010", 1), ("任命2008", 1), ("任命2015", 3), ("任命2005", 4)]),
        "9-1 before 9-2; the gap it left in 9-2 stays until the next 整理"
    );

    // The arrangement is in the trail.
    app.add_account("auditor", vec![Role::Auditor], None, None, None).await;
    let auditor = app.login("auditor").await;
    let trail = get(&app, &auditor, "/api/v1/audit?limit=500").await;
    let arranged: Vec<&Value> =
        trail["items"].as_array().unwrap().iter().filter(|e| e["action"] == "catalogue.arrange").collect();
    assert!(arranged.iter().any(|e| e["outcome"] == "allowed" && e["detail"] == "numbering 2"), "{arranged:?}");
    assert!(arranged.iter().any(|e| e["actor"] == "finance" && e["outcome"] == "denied"), "{arranged:?}");
}

#[tokio::test]
async fn the_bare_parents_4_and_9_take_no_materials() {
    let app = TestApp::new().await;
    let hr = app.login("hr").await;
    let person = app.create_person(&hr, person_body("分类测试", &id_number("11010119800517002"), "finance")).await;
    let pid = person["id"].as_str().unwrap();
    for (code, subs) in
        [("4", ["4-1", "4-2", "4-3", "4-4"]), ("9", ["9-1", "9-2", "9-3", "9-4"]), ("九", ["9-1", "9-2", "9-3", "9-4"])]
    {
        let meta = json!({"category": code, "title": "材料", "formed_on": "2019"});
        let a = app.upload(&hr, pid, meta, "a.txt", b"x").await;
        assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY, "{code}");
        let detail = a.json()["detail"].as_str().unwrap().to_string();
        for s in subs {
            assert!(detail.contains(s), "{code}: {detail}");
        }
        assert!(detail.contains("takes no materials"), "{detail}");
    }
    file(&app, &hr, pid, "4-1", "毕业证书", "2002-07").await;
}

#[tokio::test]
async fn a_material_dated_before_its_subjects_birth_is_refused_unless_its_period_reaches_the_birth() {
    let app = TestApp::new().await;
    let hr = app.login("hr").await;
    // Born 1980-05-17 (from the ID number).
    let person = app.create_person(&hr, person_body("日期测试", &id_number("11010119800517003"), "finance")).await;
    let pid = person["id"].as_str().unwrap();
    for formed in ["1979", "1980-04", "1980-05-16"] {
        let meta = json!({"category": "1", "title": "履历表", "formed_on": formed});
        let a = app.upload(&hr, pid, meta, "a.txt", b"x").await;
        assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY, "{formed}");
        assert!(a.json()["detail"].as_str().unwrap().contains("出生"), "{formed}");
    }
    // The birth year or month itself may be after the birth: filed.
    let mut filed = Vec::new();
    for formed in ["1980", "1980-05", "1980-05-17"] {
        filed.push(file(&app, &hr, pid, "1", "出生证明", formed).await);
    }
    // Nor can a catalogue change date it before the birth.
    let req = axum::http::Request::builder()
        .method(Method::PATCH)
        .uri(format!("/api/v1/materials/{}", filed[0]))
        .header("authorization", format!("Bearer {hr}"))
        .header("content-type", "application/merge-patch+json")
        .header("if-match", "\"1\"")
        .body(axum::body::Body::from(json!({"formed_on": "1979-12"}).to_string()))
        .unwrap();
    let a = app.call(req).await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", String::from_utf8_lossy(&a.body));
}

async fn create(app: &TestApp, hr: &str, extra: Value) -> crate::common::Answer {
    let mut body = json!({"name": "核查", "department": "finance", "birth_date": "1989-05-17"});
    body.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
    app.send(Method::POST, "/api/v1/persons", Some(hr), Some(body)).await
}

/// (field, severity) of an answer's findings.
fn findings(a: &crate::common::Answer) -> Vec<(String, String)> {
    a.json()["findings"]
        .as_array()
        .map(|f| {
            f.iter()
                .map(|f| (f["field"].as_str().unwrap().to_string(), f["severity"].as_str().unwrap().to_string()))
                .collect()
        })
        .unwrap_or_default()
}

fn post(from: &str, to: Option<&str>) -> Value {
    json!({"from": from, "to": to, "department": "finance", "position": "科员"})
}

#[tokio::test]
async fn each_record_check_reports_its_finding() {
    let app = TestApp::new().await;
    let hr = app.login("hr").await;
    let warn = |field: &str| vec![(field.to_string(), "warning".to_string())];
    type Case = (Value, StatusCode, Vec<(String, String)>);
    let cases: Vec<Case> = vec![
        // The 16- and 18-year rules with a year-only date in that year: saved, with a warning.
        (json!({"work_start": "2005"}), StatusCode::CREATED, warn("work_start")),
        (json!({"party_join": "2007"}), StatusCode::CREATED, warn("party_join")),
        // Wholly before the birthday: refused.
        (json!({"work_start": "2004"}), StatusCode::UNPROCESSABLE_ENTITY, vec![("work_start".into(), "error".into())]),
        (
            json!({"party_join": "2007-05-16"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            vec![("party_join".into(), "error".into())],
        ),
        // 转正 less than a year after 入党; before it.
        (json!({"party_join": "2010-07-01", "party_full": "2011-01-01"}), StatusCode::CREATED, warn("party_full")),
        (
            json!({"party_join": "2010-07-01", "party_full": "2009-07-01"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            vec![("party_full".into(), "error".into())],
        ),
        // Posts that overlap; a gap over twelve months; a post before the work start.
        (
            json!({"work_start": "2011-07", "appointments": [post("2011-07", Some("2015-03")), post("2014-01", None)]}),
            StatusCode::CREATED,
            warn("appointments[1].from"),
        ),
        (
            json!({"work_start": "2011-07", "appointments": [post("2011-07", Some("2013-01")), post("2015-01", None)]}),
            StatusCode::CREATED,
            warn("appointments[1].from"),
        ),
        (
            json!({"work_start": "2011-07", "appointments": [post("2010-01", Some("2011-06"))]}),
            StatusCode::CREATED,
            warn("appointments[0].from"),
        ),
        // Study overlapping study, and study overlapping a post.
        (
            json!({"education": [{"from": "2007-09", "to": "2011-07", "school": "甲"}, {"from": "2010-09", "to": "2013-07", "school": "乙"}]}),
            StatusCode::CREATED,
            warn("education_history[1].from"),
        ),
        (
            json!({"education": [{"from": "2012-09", "to": "2015-07", "school": "甲"}], "appointments": [post("2011-07", None)]}),
            StatusCode::CREATED,
            warn("education_history[0].from"),
        ),
        // All in order: nothing.
        (
            json!({"work_start": "2011-07", "party_join": "2010-06-01", "party_full": "2011-06-01",
                   "education": [{"from": "2007-09", "to": "2011-07", "school": "甲"}],
                   "appointments": [post("2011-07", Some("2015-03")), post("2015-03", None)]}),
            StatusCode::CREATED,
            vec![],
        ),
    ];
    for (extra, status, expected) in cases {
        let a = create(&app, &hr, extra.clone()).await;
        assert_eq!(a.status, status, "{extra}: {}", String::from_utf8_lossy(&a.body));
        assert_eq!(findings(&a), expected, "{extra}");
    }
}

#[tokio::test]
async fn the_gap_allowed_between_posts_is_configured() {
    let config = dangan::service::Config {
        record_rules: dangan::model::person::RecordRules { max_gap_months: 30 },
        ..dangan::service::Config::default()
    };
    let app = TestApp::with_config(config).await;
    let hr = app.login("hr").await;
    let a = create(&app, &hr, json!({"appointments": [post("2011-07", Some("2013-01")), post("2015-01", None)]})).await;
    assert_eq!(a.status, StatusCode::CREATED);
    assert!(findings(&a).is_empty(), "24 months is within 30");
}
