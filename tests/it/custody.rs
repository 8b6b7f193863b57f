//! Custody of the paper dossiers, transfers out and loans (docs/DOMAIN.md §4c) over the API: a transfer between
//! two installations from the approved request to the receiver's receipt; the 催问 flag with time made to pass
//! (`as_of`); custody changes audited and shown; paper-filing tasks; loans; and the insiders refused.

use crate::common::*;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use dangan::model::Role;
use serde_json::{Value, json};

/// Adds the archive office (`admin`, 行政部, linked to a record of its holder) and an auditor.
async fn archive_office(app: &TestApp) {
    let hr = app.login("hr").await;
    let p = app.create_person(&hr, person_body("行政专员丙", &id_number("65432119700101857"), "admin")).await;
    let pid = p["id"].as_str().unwrap().parse().unwrap();
    app.add_account("admin", vec![Role::Admin], Some("admin"), Some(pid), None).await;
    app.add_account("auditor", vec![Role::Auditor], None, None, None).await;
}

async fn post_raw(app: &TestApp, token: &str, path: &str, content_type: &str, body: Vec<u8>) -> Answer {
    let req = Request::builder()
        .method(Method::POST)
        .uri(path)
        .header("authorization", format!("Bearer {token}"))
        .header("content-type", content_type)
        .body(Body::from(body))
        .unwrap();
    app.call(req).await
}

async fn get(app: &TestApp, token: &str, path: &str) -> Value {
    let a = app.send(Method::GET, path, Some(token), None).await;
    assert_eq!(a.status, StatusCode::OK, "{path}: {}", String::from_utf8_lossy(&a.body));
    a.json()
}

fn days(n: i64) -> String {
    (time::OffsetDateTime::now_utc().date() + time::Duration::days(n)).to_string()
}

/// A cadre with one material at `app`; returns its id.
async fn dossier(app: &TestApp, hr: &str, first17: &str) -> String {
    let p = app.create_person(hr, person_body("转出对象", &id_number(first17), "ops")).await;
    let id = p["id"].as_str().unwrap().to_string();
    let meta = json!({"category": "1", "title": "干部履历表", "formed_on": "2019-07-01", "pages": 1});
    let a = app.upload(hr, &id, meta, "resume.txt", "干部履历表\n姓名 转出对象".as_bytes()).await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", String::from_utf8_lossy(&a.body));
    id
}

/// Starts a transfer_out of `person` as HR and has the archive office and leader 1 approve it; returns the
/// transfer's id.
async fn transfer_out(app: &TestApp, hr: &str, person: &str) -> String {
    let changes = json!({
        "receiving_unit": "某市人力资源和社会保障局",
        "notice_number": "调字〔2026〕18号",
        "address": "某市某路1号",
        "reason": "调动",
    });
    let a = app
        .send(
            Method::POST,
            "/api/v1/requests",
            Some(hr),
            Some(json!({"kind": "transfer_out", "person_id": person, "changes": changes, "reason": "工作调动"})),
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", String::from_utf8_lossy(&a.body));
    let r = app.approve_as(a.json()["id"].as_str().unwrap(), &["admin", "leader1"]).await;
    assert_eq!(r["state"], "applied", "{r}");
    let transfers = get(app, hr, "/api/v1/transfers").await;
    let t = transfers["items"].as_array().unwrap().iter().find(|t| t["person_id"] == person).unwrap().clone();
    t["id"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn a_transfer_runs_end_to_end_between_two_installations() {
    // B receives; A trusts B's key (for the receipt), B accepts A's package explicitly.
    let b = TestApp::new().await;
    let b_key = b.archive.packages().signing_key_hex();
    let untrusted = TestApp::new().await;
    let a = TestApp::with_config(dangan::service::Config { trusted_senders: vec![b_key], ..Default::default() }).await;
    a.add_approvers().await;
    archive_office(&a).await;
    let hr = a.login("hr").await;
    let admin = a.login("admin").await;
    let person = dossier(&a, &hr, "11010119800517001").await;

    let c = get(&a, &hr, &format!("/api/v1/persons/{person}/custody")).await;
    assert_eq!(c["state"], "in_store", "{c}");
    assert!(c["archive_number"].as_str().unwrap().starts_with("DA"), "{c}");

    let id = transfer_out(&a, &hr, &person).await;
    let c = get(&a, &admin, &format!("/api/v1/persons/{person}/custody")).await;
    assert_eq!(c["state"], "transferring", "{c}");
    assert_eq!(c["transfer"]["receiving_unit"], "某市人力资源和社会保障局");
    assert_eq!(c["transfer"]["notice_number"], "调字〔2026〕18号");
    assert!(c["history"].as_array().unwrap().iter().any(|e| e["to"] == "transferring"), "{c}");
    // The deadline: two months after the approval.
    let approved: dangan::model::PartialDate = c["transfer"]["approved_on"].as_str().unwrap().parse().unwrap();
    let deadline = dangan::model::date::add_months(approved.last_day(), 2);
    assert_eq!(c["transfer"]["deadline"], deadline.to_string());

    // A second transfer_out of the same dossier cannot be approved while one is open.
    // The package is built and signed when sent; its hash is recorded.
    let p = a.send(Method::GET, &format!("/api/v1/transfers/{id}/package"), Some(&hr), None).await;
    assert_eq!(p.status, StatusCode::OK, "{}", String::from_utf8_lossy(&p.body));
    let sha = p.header("x-package-sha256");
    let package = p.body;

    // B receives it into its receiving queue, reviews it (审核入库) and accepts it into a new dossier; the
    // acceptance answers with B's signed receipt.
    let b_hr = b.login("hr").await;
    let r =
        post_raw(&b, &b_hr, "/api/v1/receiving?accept_unknown_sender=true", "application/zip", package.clone()).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", String::from_utf8_lossy(&r.body));
    let queued = r.json()["id"].as_str().unwrap().to_string();
    let review = get(&b, &b_hr, &format!("/api/v1/receiving/{queued}")).await;
    assert!(review.to_string().contains("11010119800517001") || review["person"].is_object(), "{review}");
    let accepted = b
        .send(
            Method::POST,
            &format!("/api/v1/receiving/{queued}/accept"),
            Some(&b_hr),
            Some(serde_json::json!({"into": "new"})),
        )
        .await;
    assert_eq!(accepted.status, StatusCode::OK, "{}", String::from_utf8_lossy(&accepted.body));
    let receipt = serde_json::to_vec(&accepted.json()["receipt"]).unwrap();
    assert_eq!(accepted.json()["receipt"]["package_sha256"], sha.as_str());

    // Forged receipts are refused and change nothing: altered, another package, an untrusted receiver.
    let mut altered: Value = serde_json::from_slice(&receipt).unwrap();
    altered["materials"] = json!(99);
    let mut other: Value = serde_json::from_slice(&receipt).unwrap();
    other["package_sha256"] = json!("0".repeat(64));
    let u_hr = untrusted.login("hr").await;
    let u =
        post_raw(&untrusted, &u_hr, "/api/v1/packages?accept_unknown_sender=true", "application/zip", package).await;
    assert_eq!(u.status, StatusCode::CREATED, "{}", String::from_utf8_lossy(&u.body));
    let receipt_path = format!("/api/v1/transfers/{id}/receipt");
    for (what, body, status) in [
        ("altered", serde_json::to_vec(&altered).unwrap(), StatusCode::UNPROCESSABLE_ENTITY),
        ("another package", serde_json::to_vec(&other).unwrap(), StatusCode::UNPROCESSABLE_ENTITY),
        ("not a receipt", b"{\"hello\": 1}".to_vec(), StatusCode::UNPROCESSABLE_ENTITY),
        ("garbage", b"\x00\x01garbage".to_vec(), StatusCode::UNPROCESSABLE_ENTITY),
        ("untrusted receiver", u.body.clone(), StatusCode::FORBIDDEN),
    ] {
        let r = post_raw(&a, &hr, &receipt_path, "application/json", body).await;
        assert_eq!(r.status, status, "{what}: {}", String::from_utf8_lossy(&r.body));
        assert!(r.header("content-type").starts_with("application/problem+json"), "{what}");
        let c = get(&a, &hr, &format!("/api/v1/persons/{person}/custody")).await;
        assert_eq!(
            (c["state"].clone(), c["transfer"]["state"].clone()),
            (json!("transferring"), json!("open")),
            "{what}"
        );
    }
    // Finance may not load a receipt.
    let finance = a.login("finance").await;
    let r = post_raw(&a, &finance, &receipt_path, "application/json", receipt.clone()).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", String::from_utf8_lossy(&r.body));

    // B's receipt closes the transfer: 已转出.
    let r = post_raw(&a, &admin, &receipt_path, "application/json", receipt.clone()).await;
    assert_eq!(r.status, StatusCode::OK, "{}", String::from_utf8_lossy(&r.body));
    let t = r.json();
    assert_eq!(t["state"], "closed");
    assert_eq!(t["receipt"]["package_sha256"], sha.as_str());
    let c = get(&a, &hr, &format!("/api/v1/persons/{person}/custody")).await;
    assert_eq!(c["state"], "transferred_out", "{c}");
    let last = c["history"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(
        (last["from"].clone(), last["to"].clone(), last["by"].clone()),
        (json!("transferring"), json!("transferred_out"), json!("admin"))
    );
    // Loaded twice: 409.
    let again = post_raw(&a, &admin, &receipt_path, "application/json", receipt).await;
    assert_eq!(again.status, StatusCode::CONFLICT);

    // The register: JSON, CSV.
    let reg = get(&a, &hr, "/api/v1/reports/transfers").await;
    assert_eq!(reg["total"], 1);
    assert_eq!(reg["items"][0]["state"], "已转出");
    assert_eq!(reg["items"][0]["notice_number"], "调字〔2026〕18号");
    let csv = a.send(Method::GET, "/api/v1/reports/transfers?format=csv", Some(&admin), None).await;
    assert_eq!(csv.status, StatusCode::OK);
    assert!(String::from_utf8_lossy(&csv.body).contains("某市人力资源和社会保障局"));

    // Audited: the move to 转出中 (with the approval) and the receipt; the refusals too.
    let auditor = a.login("auditor").await;
    let trail = get(&a, &auditor, "/api/v1/audit?action=transfer.receipt&limit=50").await;
    let outcomes: Vec<&str> =
        trail["items"].as_array().unwrap().iter().map(|e| e["outcome"].as_str().unwrap()).collect();
    assert!(
        outcomes.contains(&"allowed") && outcomes.contains(&"denied") && outcomes.contains(&"failed"),
        "{outcomes:?}"
    );
}

#[tokio::test]
async fn a_transfer_without_a_receipt_is_chased_after_a_month_and_overdue_after_two() {
    let a = TestApp::new().await;
    a.add_approvers().await;
    archive_office(&a).await;
    let hr = a.login("hr").await;
    let admin = a.login("admin").await;
    let person = dossier(&a, &hr, "11010119800517001").await;
    let id = transfer_out(&a, &hr, &person).await;
    let p = a.send(Method::GET, &format!("/api/v1/transfers/{id}/package"), Some(&hr), None).await;
    assert_eq!(p.status, StatusCode::OK);

    let kinds = |v: &Value| -> Vec<String> {
        v["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|i| i["object_id"] == id.as_str())
            .map(|i| i["kind"].as_str().unwrap().to_string())
            .collect()
    };
    let now = get(&a, &admin, "/api/v1/custody/inbox").await;
    assert!(kinds(&now).is_empty(), "{now}");
    let soon = get(&a, &admin, &format!("/api/v1/custody/inbox?as_of={}", days(20))).await;
    assert!(kinds(&soon).is_empty(), "{soon}");
    let later = get(&a, &admin, &format!("/api/v1/custody/inbox?as_of={}", days(33))).await;
    assert_eq!(kinds(&later), ["chase"], "{later}");
    // HR, who sends transfers, sees the 催问 too.
    assert_eq!(kinds(&get(&a, &hr, &format!("/api/v1/custody/inbox?as_of={}", days(33))).await), ["chase"]);
    let row = |v: &Value| v["items"].as_array().unwrap().iter().find(|t| t["id"] == id.as_str()).unwrap().clone();
    let reg = get(&a, &hr, &format!("/api/v1/transfers?as_of={}", days(33))).await;
    assert_eq!((row(&reg)["chase"].clone(), row(&reg)["overdue"].clone()), (json!(true), json!(false)));
    let reg = get(&a, &hr, &format!("/api/v1/transfers?as_of={}", days(64))).await;
    assert_eq!((row(&reg)["chase"].clone(), row(&reg)["overdue"].clone()), (json!(true), json!(true)));
    let late = get(&a, &admin, &format!("/api/v1/custody/inbox?as_of={}", days(64))).await;
    assert_eq!(kinds(&late), ["chase", "transfer_overdue"], "{late}");
    // Today's register shows no flag yet.
    let reg = get(&a, &hr, "/api/v1/reports/transfers").await;
    assert_eq!((reg["items"][0]["chase"].clone(), reg["items"][0]["overdue"].clone()), (json!(false), json!(false)));
    // Not for finance.
    let finance = a.login("finance").await;
    let denied = a.send(Method::GET, "/api/v1/custody/inbox", Some(&finance), None).await;
    assert_eq!(denied.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn custody_changes_are_the_archive_offices_audited_and_shown() {
    let a = TestApp::new().await;
    archive_office(&a).await;
    let hr = a.login("hr").await;
    let admin = a.login("admin").await;
    let it = a.login("it").await;
    let person = dossier(&a, &hr, "11010119800517001").await;
    let other = dossier(&a, &hr, "11010119800517028").await;
    let path = format!("/api/v1/persons/{person}/custody");
    let c = get(&a, &admin, &path).await;
    let other_number = get(&a, &admin, &format!("/api/v1/persons/{other}/custody")).await["archive_number"].clone();
    assert_ne!(c["archive_number"], other_number, "numbers are unique");

    let put = |token: String, body: Value, version: Option<u64>| {
        let path = path.clone();
        let a = &a;
        async move {
            let mut b = Request::builder()
                .method(Method::PUT)
                .uri(&path)
                .header("authorization", format!("Bearer {token}"))
                .header("content-type", "application/json");
            if let Some(v) = version {
                b = b.header("if-match", format!("\"{v}\""));
            }
            a.call(b.body(Body::from(body.to_string())).unwrap()).await
        }
    };
    let version = c["version"].as_u64().unwrap();
    let r =
        put(admin.clone(), json!({"location": "A区-03-12", "copy": "original", "note": "上架"}), Some(version)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", String::from_utf8_lossy(&r.body));
    let c = r.json();
    assert_eq!(c["location"], "A区-03-12");
    assert!(c["history"].as_array().unwrap().last().unwrap()["what"].as_str().unwrap().contains("库位 - → A区-03-12"));
    // Stale version: 412; another dossier's number: 409; a move only a loan or transfer makes: 409.
    assert_eq!(
        put(admin.clone(), json!({"location": "B"}), Some(version)).await.status,
        StatusCode::PRECONDITION_FAILED
    );
    assert_eq!(put(admin.clone(), json!({"archive_number": other_number}), None).await.status, StatusCode::CONFLICT);
    for to in ["lent", "transferred_out", "transferring"] {
        assert_eq!(put(admin.clone(), json!({"state": to}), None).await.status, StatusCode::CONFLICT, "{to}");
    }
    assert_eq!(put(admin.clone(), json!({"state": "flying"}), None).await.status, StatusCode::UNPROCESSABLE_ENTITY);

    // The system administrator neither reads nor changes custody; HR reads but does not change it.
    assert_eq!(a.send(Method::GET, &path, Some(&it), None).await.status, StatusCode::FORBIDDEN);
    assert_eq!(put(it.clone(), json!({"location": "X"}), None).await.status, StatusCode::FORBIDDEN);
    assert_eq!(put(hr.clone(), json!({"location": "X"}), None).await.status, StatusCode::FORBIDDEN);
    // Nor does the archive office read its own holder's custody.
    let me = get(&a, &admin, "/api/v1/me").await["person_id"].as_str().unwrap().to_string();
    let own = a.send(Method::GET, &format!("/api/v1/persons/{me}/custody"), Some(&admin), None).await;
    assert_eq!(own.status, StatusCode::FORBIDDEN, "{}", String::from_utf8_lossy(&own.body));
    assert_eq!(get(&a, &admin, &path).await["location"], "A区-03-12", "nothing changed");

    // Audited, refusals too.
    let auditor = a.login("auditor").await;
    let trail = get(&a, &auditor, &format!("/api/v1/audit?action=custody.update&object=person:{person}")).await;
    let by: Vec<(String, String)> = trail["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["actor"].as_str().unwrap().to_string(), e["outcome"].as_str().unwrap().to_string()))
        .collect();
    assert!(by.contains(&("admin".into(), "allowed".into())), "{by:?}");
    assert!(by.contains(&("it".into(), "denied".into())) && by.contains(&("hr".into(), "denied".into())), "{by:?}");

    // Death moves custody by rule: the handover (已移交) is pending, due in five years.
    a.add_approvers().await;
    let r = a
        .send(
            Method::POST,
            "/api/v1/requests",
            Some(&hr),
            Some(json!({"kind": "update", "person_id": other, "changes": {"status": "deceased"}, "reason": "病故"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", String::from_utf8_lossy(&r.body));
    let r = a.approve_as(r.json()["id"].as_str().unwrap(), &["leader1", "leader2"]).await;
    assert_eq!(r["state"], "applied", "{r}");
    let c = get(&a, &admin, &format!("/api/v1/persons/{other}/custody")).await;
    assert_eq!((c["state"].clone(), c["pending"]["to"].clone()), (json!("in_store"), json!("handed_over")), "{c}");
    let due = get(&a, &admin, &format!("/api/v1/custody/inbox?as_of={}", days(5 * 366))).await;
    assert!(
        due["items"].as_array().unwrap().iter().any(|i| i["kind"] == "move_due" && i["person_id"] == other.as_str())
    );
    let r = a
        .send(
            Method::PUT,
            &format!("/api/v1/persons/{other}/custody"),
            Some(&admin),
            Some(json!({"state": "handed_over", "note": "移交市档案馆"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", String::from_utf8_lossy(&r.body));
    let c = r.json();
    assert_eq!((c["state"].clone(), c["pending"].clone()), (json!("handed_over"), Value::Null));
}

#[tokio::test]
async fn the_archive_office_files_the_paper_after_each_change() {
    let a = TestApp::new().await;
    archive_office(&a).await;
    let hr = a.login("hr").await;
    let admin = a.login("admin").await;
    let person = dossier(&a, &hr, "11010119800517001").await;
    let tasks = |v: &Value| -> Vec<Value> {
        v["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|i| i["kind"] == "filing" && i["person_id"] == person.as_str())
            .cloned()
            .collect()
    };
    let inbox = get(&a, &admin, "/api/v1/custody/inbox").await;
    let open = tasks(&inbox);
    assert_eq!(open.len(), 1, "{inbox}");
    assert!(open[0]["detail"].as_str().unwrap().contains("建档"));
    let task = open[0]["object_id"].as_str().unwrap().to_string();
    // HR may not mark it; the archive office does; twice is 409.
    let done = format!("/api/v1/custody/tasks/{task}/done");
    assert_eq!(a.send(Method::POST, &done, Some(&hr), None).await.status, StatusCode::FORBIDDEN);
    let r = a.send(Method::POST, &done, Some(&admin), None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.json()["done_by"], "admin");
    assert_eq!(a.send(Method::POST, &done, Some(&admin), None).await.status, StatusCode::CONFLICT);
    assert!(tasks(&get(&a, &admin, "/api/v1/custody/inbox").await).is_empty());
    // A change opens the next task.
    let req = Request::builder()
        .method(Method::PATCH)
        .uri(format!("/api/v1/persons/{person}"))
        .header("authorization", format!("Bearer {hr}"))
        .header("content-type", "application/json")
        .header("if-match", "\"1\"")
        .body(Body::from(json!({"phone": "13800000000"}).to_string()))
        .unwrap();
    assert_eq!(a.call(req).await.status, StatusCode::OK);
    let open = tasks(&get(&a, &admin, "/api/v1/custody/inbox").await);
    assert_eq!(open.len(), 1);
    assert!(open[0]["detail"].as_str().unwrap().contains("v2"), "{}", open[0]);
}

#[tokio::test]
async fn insiders_cannot_transfer_their_own_dossier_nor_lend_it() {
    let a = TestApp::new().await;
    a.add_approvers().await;
    archive_office(&a).await;
    let hr = a.login("hr").await;
    let me = get(&a, &hr, "/api/v1/me").await["person_id"].as_str().unwrap().to_string();
    let changes = json!({"receiving_unit": "外单位", "notice_number": "1", "reason": "调动"});
    let r = a
        .send(
            Method::POST,
            "/api/v1/requests",
            Some(&hr),
            Some(json!({"kind": "transfer_out", "person_id": me, "changes": changes})),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", String::from_utf8_lossy(&r.body));
    assert!(r.json()["detail"].as_str().unwrap().contains("own"), "{}", String::from_utf8_lossy(&r.body));
    // The request's terms are checked: no receiving unit, 422.
    let person = dossier(&a, &hr, "11010119800517001").await;
    let r = a
        .send(
            Method::POST,
            "/api/v1/requests",
            Some(&hr),
            Some(
                json!({"kind": "transfer_out", "person_id": person, "changes": {"notice_number": "1", "reason": "x"}}),
            ),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", String::from_utf8_lossy(&r.body));
    // The archive office does not lend its own holder's dossier; IT lends nothing.
    let admin = a.login("admin").await;
    let own = get(&a, &admin, "/api/v1/me").await["person_id"].as_str().unwrap().to_string();
    let loan = |who: &str| json!({"person_id": who, "borrower": "张三", "unit": "纪检组", "purpose": "核查", "due_on": days(14)});
    let r = a.send(Method::POST, "/api/v1/loans", Some(&admin), Some(loan(&own))).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", String::from_utf8_lossy(&r.body));
    let it = a.login("it").await;
    assert_eq!(
        a.send(Method::POST, "/api/v1/loans", Some(&it), Some(loan(&person))).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(a.send(Method::GET, "/api/v1/loans", Some(&it), None).await.status, StatusCode::FORBIDDEN);
    assert_eq!(a.send(Method::GET, "/api/v1/transfers", Some(&it), None).await.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn a_paper_dossier_is_lent_reminded_when_overdue_and_returned() {
    let a = TestApp::new().await;
    archive_office(&a).await;
    let hr = a.login("hr").await;
    let admin = a.login("admin").await;
    let person = dossier(&a, &hr, "11010119800517001").await;
    let body = json!({"person_id": person, "borrower": "张三", "unit": "纪检组", "purpose": "核查干部任职情况", "due_on": days(14)});
    // HR does not lend paper.
    assert_eq!(
        a.send(Method::POST, "/api/v1/loans", Some(&hr), Some(body.clone())).await.status,
        StatusCode::FORBIDDEN
    );
    let r = a.send(Method::POST, "/api/v1/loans", Some(&admin), Some(body.clone())).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", String::from_utf8_lossy(&r.body));
    let loan = r.json()["id"].as_str().unwrap().to_string();
    let c = get(&a, &admin, &format!("/api/v1/persons/{person}/custody")).await;
    assert_eq!((c["state"].clone(), c["loan"]["borrower"].clone()), (json!("lent"), json!("张三")));
    // Lent already: 409; a due date in the past: 422.
    assert_eq!(a.send(Method::POST, "/api/v1/loans", Some(&admin), Some(body)).await.status, StatusCode::CONFLICT);
    let past = json!({"person_id": person, "borrower": "x", "unit": "y", "purpose": "z", "due_on": days(-1)});
    assert_eq!(
        a.send(Method::POST, "/api/v1/loans", Some(&admin), Some(past)).await.status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    let list = get(&a, &admin, "/api/v1/loans?open=true").await;
    assert_eq!(list["total"], 1);
    // Overdue after its due date: a reminder in the custody inbox.
    let overdue = |v: &Value| {
        v["items"].as_array().unwrap().iter().any(|i| i["kind"] == "loan_overdue" && i["object_id"] == loan.as_str())
    };
    assert!(!overdue(&get(&a, &admin, &format!("/api/v1/custody/inbox?as_of={}", days(14))).await));
    assert!(overdue(&get(&a, &admin, &format!("/api/v1/custody/inbox?as_of={}", days(15))).await));
    // 归还.
    let r = a.send(Method::POST, &format!("/api/v1/loans/{loan}/return"), Some(&admin), None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.json()["returned_by"], "admin");
    let c = get(&a, &admin, &format!("/api/v1/persons/{person}/custody")).await;
    assert_eq!(c["state"], "in_store");
    let moves: Vec<(String, String)> = c["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["from"].as_str().unwrap().to_string(), e["to"].as_str().unwrap().to_string()))
        .collect();
    assert!(moves.ends_with(&[("in_store".into(), "lent".into()), ("lent".into(), "in_store".into())]), "{moves:?}");
    assert_eq!(get(&a, &admin, "/api/v1/loans?open=true").await["total"], 0);
    assert_eq!(get(&a, &admin, "/api/v1/loans").await["total"], 1);
    let again = a.send(Method::POST, &format!("/api/v1/loans/{loan}/return"), Some(&admin), None).await;
    assert_eq!(again.status, StatusCode::CONFLICT);
}
