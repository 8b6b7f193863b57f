//! 收材登记 and 归档 (docs/DOMAIN.md §2a) through the API: receiving a material into the 待归档 queue with its
//! receipt fields, the queue with its due dates and overdue flags, 归档 into the catalogue (the next 序号), and the
//! insiders who may not: the three administrators, a scanner, and anyone on their own dossier.

use crate::common::*;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use dangan::model::Role;
use serde_json::{Value, json};

async fn receive(app: &TestApp, token: &str, person: &str, meta: Value, bytes: &[u8]) -> Answer {
    let (ct, body) = multipart(&meta.to_string(), "received.txt", bytes);
    let req = Request::builder()
        .method(Method::POST)
        .uri(format!("/api/v1/persons/{person}/intake"))
        .header("authorization", format!("Bearer {token}"))
        .header("content-type", ct)
        .body(Body::from(body))
        .unwrap();
    app.call(req).await
}

async fn get(app: &TestApp, token: &str, path: &str) -> Value {
    let a = app.send(Method::GET, path, Some(token), None).await;
    assert_eq!(a.status, StatusCode::OK, "GET {path}: {}", String::from_utf8_lossy(&a.body));
    a.json()
}

fn days_ago(n: i64) -> String {
    (time::OffsetDateTime::now_utc().date() - time::Duration::days(n)).to_string()
}

fn titles(list: &Value) -> Vec<String> {
    list["items"].as_array().unwrap().iter().map(|m| m["title"].as_str().unwrap().to_string()).collect()
}

/// Adds 行政部 (`admin`), linked to its holder's person record.
async fn with_admin(app: &TestApp) {
    app.add_account("admin", vec![Role::Admin], Some("admin"), None, None).await;
    app.link_holder("admin", "行政专员丙", "65432119700101775", "admin").await;
}

#[tokio::test]
async fn a_received_material_waits_in_the_queue_with_its_due_date_and_filing_numbers_it_into_the_catalogue() {
    let app = TestApp::new().await;
    with_admin(&app).await;
    app.add_account("auditor", vec![Role::Auditor], None, None, None).await;
    let hr = app.login("hr").await;
    let admin = app.login("admin").await;
    let person = app.create_person(&hr, person_body("收材测试", &id_number("11010119800517001"), "finance")).await;
    let pid = person["id"].as_str().unwrap();

    // One material filed directly: 序号 1 of category 3.
    let filed =
        app.upload(&hr, pid, json!({"category": "3", "title": "2020年度考核表"}), "a.txt", "称职".as_bytes()).await;
    assert_eq!(filed.status, StatusCode::CREATED);

    // Received 40 days ago: a copy, with its receipt fields as real fields.
    let old = receive(
        &app,
        &hr,
        pid,
        json!({"category": "3", "title": "2023年度考核表", "source_unit": "财务部", "received_on": days_ago(40),
               "received_by": "档案室王某", "copies": 2, "original": false, "copy_made_on": days_ago(41),
               "copy_certified_by": "财务部（盖章）"}),
        "优秀".as_bytes(),
    )
    .await;
    assert_eq!(old.status, StatusCode::CREATED, "{}", String::from_utf8_lossy(&old.body));
    let old = old.json();
    assert_eq!(old["awaiting_filing"], true);
    assert_eq!((old["copies"].clone(), old["original"].clone()), (json!(2), json!(false)));
    assert_eq!(old["received_by"], "档案室王某");
    assert_eq!(old["copy_certified_by"], "财务部（盖章）");
    assert_eq!(old["received_on"], days_ago(40));
    let old_id = old["id"].as_str().unwrap().to_string();

    // Received today, by 行政部 (custody), the receipt's date and receiver left to their defaults.
    let new = receive(&app, &admin, pid, json!({"category": "7", "title": "嘉奖令"}), "嘉奖".as_bytes()).await;
    assert_eq!(new.status, StatusCode::CREATED, "{}", String::from_utf8_lossy(&new.body));
    let new = new.json();
    assert_eq!((new["received_on"].clone(), new["received_by"].clone()), (json!(days_ago(0)), json!("admin")));

    // A copy's fields on an original are refused.
    let copy_fields = json!({"category": "7", "title": "x", "original": true, "copy_made_on": "2020"});
    let bad = receive(&app, &hr, pid, copy_fields, b"x").await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", String::from_utf8_lossy(&bad.body));

    // The queue: oldest due first, with the due date and the overdue flag; filters by dossier and by overdue.
    let queue = get(&app, &hr, "/api/v1/intake").await;
    assert_eq!(queue["total"], 2, "{queue}");
    assert_eq!(titles(&queue), ["2023年度考核表", "嘉奖令"]);
    let first = &queue["items"][0];
    assert_eq!((first["overdue"].clone(), first["person_name"].clone()), (json!(true), json!("收材测试")));
    assert_eq!(first["received_on"], days_ago(40));
    assert_eq!(queue["items"][1]["overdue"], false);
    assert!(first["due"].as_str().unwrap() < days_ago(0).as_str(), "{first}");
    assert_eq!(titles(&get(&app, &admin, "/api/v1/intake?overdue=true").await), ["2023年度考核表"]);
    assert_eq!(get(&app, &hr, &format!("/api/v1/intake?person_id={pid}&overdue=false")).await["total"], 1);

    // Not filed, not in the catalogue (neither listing), and no 序号.
    let cat = get(&app, &hr, &format!("/api/v1/persons/{pid}/catalogue")).await;
    assert_eq!(titles(&cat), ["2020年度考核表"]);
    assert_eq!(titles(&get(&app, &hr, &format!("/api/v1/persons/{pid}/materials")).await), ["2020年度考核表"]);
    // The material itself reads as any other (HR reads its content).
    let content = app.send(Method::GET, &format!("/api/v1/materials/{old_id}/content"), Some(&hr), None).await;
    assert_eq!(content.status, StatusCode::OK);

    // 归档 by 行政部: the next 序号 of category 3, a new version; the queue loses it.
    let f = app.send(Method::POST, &format!("/api/v1/intake/{old_id}/file"), Some(&admin), None).await;
    assert_eq!(f.status, StatusCode::OK, "{}", String::from_utf8_lossy(&f.body));
    let f = f.json();
    assert_eq!((f["awaiting_filing"].clone(), f["version"].clone()), (json!(false), json!(2)));
    let cat = get(&app, &hr, &format!("/api/v1/persons/{pid}/catalogue")).await;
    let numbered: Vec<(String, u64)> = cat["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| (m["title"].as_str().unwrap().to_string(), m["seq"].as_u64().unwrap()))
        .collect();
    assert_eq!(numbered, [("2020年度考核表".to_string(), 1), ("2023年度考核表".to_string(), 2)]);
    assert_eq!(titles(&get(&app, &hr, "/api/v1/intake").await), ["嘉奖令"]);
    let versions = get(&app, &hr, &format!("/api/v1/materials/{old_id}/versions")).await;
    assert_eq!(versions["items"][1]["reason"], "归档", "{versions}");

    // Filed already: 409 problem+json, and nothing changes.
    let again = app.send(Method::POST, &format!("/api/v1/intake/{old_id}/file"), Some(&hr), None).await;
    assert_eq!(again.status, StatusCode::CONFLICT, "{}", String::from_utf8_lossy(&again.body));
    assert!(again.header("content-type").starts_with("application/problem+json"));
    assert_eq!(get(&app, &hr, &format!("/api/v1/materials/{old_id}")).await["version"], 2);

    // HR files the other one; the trail has both steps.
    let path = format!("/api/v1/intake/{}/file", new["id"].as_str().unwrap());
    assert_eq!(app.send(Method::POST, &path, Some(&hr), None).await.status, StatusCode::OK);
    assert_eq!(get(&app, &hr, "/api/v1/intake").await["total"], 0);
    let auditor = app.login("auditor").await;
    let trail = get(&app, &auditor, "/api/v1/audit?action=intake.*&limit=100").await;
    let items = trail["items"].as_array().unwrap();
    let has = |action: &str, actor: &str, object: &str| {
        items
            .iter()
            .any(|e| e["action"] == action && e["actor"] == actor && e["outcome"] == "allowed" && e["object"] == object)
    };
    assert!(has("intake.file", "admin", &format!("material:{old_id}")), "{trail}");
    assert!(has("intake.receive", "hr", &format!("material:{old_id}")), "{trail}");
    assert!(items.iter().any(|e| e["action"] == "intake.list" && e["actor"] == "hr"), "{trail}");
}

#[tokio::test]
async fn administrators_scanners_and_anyone_on_their_own_dossier_neither_receive_file_nor_see_the_queue() {
    let app = TestApp::new().await;
    with_admin(&app).await;
    for (name, role) in [("secadmin", Role::Secadmin), ("auditor", Role::Auditor), ("scanner", Role::Scanner)] {
        app.add_account(name, vec![role], Some("it"), None, None).await;
    }
    let hr = app.login("hr").await;
    let admin = app.login("admin").await;
    let person = app.create_person(&hr, person_body("他人档案", &id_number("11010119800517001"), "sales")).await;
    let pid = person["id"].as_str().unwrap().to_string();
    let waiting = receive(&app, &hr, &pid, json!({"category": "1", "title": "履历表"}), "履历".as_bytes()).await;
    assert_eq!(waiting.status, StatusCode::CREATED);
    let waiting = waiting.json()["id"].as_str().unwrap().to_string();

    for name in ["it", "secadmin", "auditor", "scanner", "finance"] {
        let token = app.login(name).await;
        let r = receive(&app, &token, &pid, json!({"category": "1", "title": "伪造"}), b"x").await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{name} received: {}", String::from_utf8_lossy(&r.body));
        let q = app.send(Method::GET, "/api/v1/intake", Some(&token), None).await;
        assert_eq!(q.status, StatusCode::FORBIDDEN, "{name} saw the queue");
        let f = app.send(Method::POST, &format!("/api/v1/intake/{waiting}/file"), Some(&token), None).await;
        assert!(matches!(f.status, StatusCode::FORBIDDEN | StatusCode::NOT_FOUND), "{name} filed: {}", f.status);
    }

    // Nobody receives into their own dossier; what waits in one's own dossier is not in one's queue.
    let hr_own = app.archive.accounts().users().unwrap().into_iter().find(|u| u.username == "hr").unwrap();
    let hr_own = hr_own.person_id.unwrap().to_string();
    let admin_own = app.archive.accounts().users().unwrap().into_iter().find(|u| u.username == "admin").unwrap();
    let admin_own = admin_own.person_id.unwrap().to_string();
    let own = receive(&app, &hr, &hr_own, json!({"category": "7", "title": "嘉奖令"}), "嘉奖".as_bytes()).await;
    assert_eq!(own.status, StatusCode::FORBIDDEN);
    assert!(String::from_utf8_lossy(&own.body).contains("hard.own-dossier"));
    let own = receive(&app, &admin, &admin_own, json!({"category": "7", "title": "嘉奖令"}), b"x").await;
    assert_eq!(own.status, StatusCode::FORBIDDEN);
    // 行政部 receives into HR's holder's dossier; HR never sees it waiting, nor files it.
    let into_hr = receive(&app, &admin, &hr_own, json!({"category": "7", "title": "本人嘉奖令"}), b"y").await;
    assert_eq!(into_hr.status, StatusCode::CREATED, "{}", String::from_utf8_lossy(&into_hr.body));
    let into_hr = into_hr.json()["id"].as_str().unwrap().to_string();
    assert_eq!(titles(&get(&app, &hr, "/api/v1/intake").await), ["履历表"]);
    assert_eq!(get(&app, &hr, &format!("/api/v1/intake?person_id={hr_own}")).await["total"], 0);
    let f = app.send(Method::POST, &format!("/api/v1/intake/{into_hr}/file"), Some(&hr), None).await;
    assert_eq!(f.status, StatusCode::FORBIDDEN, "{}", String::from_utf8_lossy(&f.body));
    let mut seen = titles(&get(&app, &admin, "/api/v1/intake").await);
    seen.sort();
    assert_eq!(seen, ["履历表", "本人嘉奖令"]);

    // Every refusal is in the trail.
    let auditor = app.login("auditor").await;
    let trail = get(&app, &auditor, "/api/v1/audit?action=intake.*&outcome=denied&limit=200").await;
    let items = trail["items"].as_array().unwrap();
    for name in ["it", "secadmin", "auditor", "scanner", "finance"] {
        for action in ["intake.receive", "intake.list", "intake.file"] {
            assert!(
                items.iter().any(|e| e["actor"] == name && e["action"] == action),
                "no denied {action} by {name} in {trail}"
            );
        }
    }
    assert!(items.iter().any(|e| e["actor"] == "hr" && e["action"] == "intake.receive"), "{trail}");
    assert!(items.iter().any(|e| e["actor"] == "hr" && e["action"] == "intake.file"), "{trail}");
}

#[tokio::test]
async fn a_batch_import_may_put_its_materials_into_the_queue_with_their_receipt_fields() {
    let app = TestApp::new().await;
    let hr = app.login("hr").await;
    let person = app.create_person(&hr, person_body("导入收材", &id_number("11010119800517001"), "sales")).await;
    let pid = person["id"].as_str().unwrap();
    let csv = format!(
        "person_id,E01Z101,E01Z111,E01Z124,E01Z201,E01Z207,file\n{pid},1,履历表,2,{},档案室李某,a.txt\n",
        days_ago(3)
    );
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default();
    zip.start_file("catalogue.csv", opts).unwrap();
    std::io::Write::write_all(&mut zip, csv.as_bytes()).unwrap();
    zip.start_file("a.txt", opts).unwrap();
    std::io::Write::write_all(&mut zip, "履历".as_bytes()).unwrap();
    let bytes = zip.finish().unwrap().into_inner();
    let req = Request::builder()
        .method(Method::POST)
        .uri("/api/v1/imports?intake=true")
        .header("authorization", format!("Bearer {hr}"))
        .header("content-type", "application/zip")
        .body(Body::from(bytes))
        .unwrap();
    let started = app.call(req).await;
    assert_eq!(started.status, StatusCode::ACCEPTED, "{}", String::from_utf8_lossy(&started.body));
    let id = started.json()["id"].as_str().unwrap().to_string();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let r = get(&app, &hr, &format!("/api/v1/imports/{id}")).await;
        if r["state"] != "running" {
            assert_eq!(r["imported"], 1, "{r}");
            break;
        }
        assert!(std::time::Instant::now() < deadline, "the import did not finish");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let queue = get(&app, &hr, "/api/v1/intake").await;
    assert_eq!(titles(&queue), ["履历表"]);
    let m = &queue["items"][0]["material"];
    assert_eq!((m["copies"].clone(), m["received_by"].clone()), (json!(2), json!("档案室李某")));
    assert_eq!(m["received_on"], days_ago(3));
    assert_eq!(m["note"], Value::Null, "the receipt is no longer folded into the note");
    assert!(titles(&get(&app, &hr, &format!("/api/v1/persons/{pid}/catalogue")).await).is_empty());
}

#[tokio::test]
async fn a_transfer_package_may_be_received_into_the_queue_keeping_the_receipt_fields() {
    let from = TestApp::new().await;
    let hr = from.login("hr").await;
    let person = from.create_person(&hr, person_body("转递收材", &id_number("11010119800517001"), "sales")).await;
    let pid = person["id"].as_str().unwrap();
    let meta = json!({"category": "1", "title": "干部履历表", "copies": 1, "received_on": "2024-03-05",
                      "received_by": "原单位档案室", "original": true, "source_unit": "原单位"});
    assert_eq!(from.upload(&hr, pid, meta, "r.txt", "履历".as_bytes()).await.status, StatusCode::CREATED);
    let package = from.send(Method::GET, &format!("/api/v1/persons/{pid}/package"), Some(&hr), None).await;
    assert_eq!(package.status, StatusCode::OK);

    let to = TestApp::new().await;
    let to_hr = to.login("hr").await;
    let req = Request::builder()
        .method(Method::POST)
        .uri("/api/v1/packages?accept_unknown_sender=true&intake=true")
        .header("authorization", format!("Bearer {to_hr}"))
        .header("content-type", "application/zip")
        .body(Body::from(package.body))
        .unwrap();
    let a = to.call(req).await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", String::from_utf8_lossy(&a.body));
    let new_person = a.json()["person_id"].as_str().unwrap().to_string();
    let queue = get(&to, &to_hr, &format!("/api/v1/intake?person_id={new_person}")).await;
    assert_eq!(titles(&queue), ["干部履历表"]);
    let m = &queue["items"][0];
    // Received here today by the caller; what the sender recorded of the material travels.
    assert_eq!((m["received_on"].clone(), m["overdue"].clone()), (json!(days_ago(0)), json!(false)));
    assert_eq!((m["material"]["received_by"].clone(), m["material"]["copies"].clone()), (json!("hr"), json!(1)));
    assert_eq!(m["material"]["source_unit"], "原单位");
    assert!(titles(&get(&to, &to_hr, &format!("/api/v1/persons/{new_person}/catalogue")).await).is_empty());
}
