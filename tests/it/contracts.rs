//! The contract register (issue 17, docs/DOMAIN.md §4e) over the API with the demo accounts: the demo's contracts
//! in the register with their terms and reminders as time passes; a contract's terms proposed from its text,
//! recorded with If-Match; a blocking review note that stops the approval of a contract change until legal
//! resolves it; and finance, a department head and the administrators refused (404) for all of it, in the trail.

use crate::common::*;
use axum::http::{Method, StatusCode};
use serde_json::{Value, json};

async fn ok(app: &TestApp, method: Method, path: &str, token: &str, body: Option<Value>) -> Value {
    let a = app.send(method, path, Some(token), body).await;
    assert!(a.status.is_success(), "{path}: {} {}", a.status, String::from_utf8_lossy(&a.body));
    a.json()
}

fn day(offset: i64) -> String {
    (dangan::model::today() + time::Duration::days(offset)).to_string()
}

/// Files a contract material for a cadre as HR; returns its id once its text is settled.
async fn contract(app: &TestApp, hr: &str, pid: &str, name: &str, bytes: &[u8]) -> String {
    let meta = json!({"category": "10", "title": "劳动合同书", "tags": ["contract"]});
    let m = app.upload(hr, pid, meta, name, bytes).await;
    assert_eq!(m.status, StatusCode::CREATED, "{}", String::from_utf8_lossy(&m.body));
    let id = m.json()["id"].as_str().unwrap().to_string();
    assert_eq!(text_settled(app, hr, &id).await["text_status"], "done");
    id
}

#[tokio::test]
async fn the_demo_contracts_are_in_the_register_and_remind_legal_as_their_end_comes_near() {
    let app = demo_app().await;
    let legal = app.login("legal").await;
    let register = ok(&app, Method::GET, "/api/v1/contracts", &legal, None).await;
    let rows = register["items"].as_array().unwrap();
    assert_eq!(register["total"].as_u64().unwrap() as usize, rows.len());
    let recorded: Vec<&Value> = rows.iter().filter(|r| r["source"] == "register").collect();
    assert!(recorded.len() >= 5, "{register}");
    for r in &recorded {
        assert!(r["material_id"].is_string() && r["version"].is_u64(), "{r}");
        assert!(r["terms"]["parties"].as_array().unwrap().len() == 2, "{r}");
    }
    // Their terms as recorded: a labour contract with its end, a separation with a 竞业限制 that binds.
    assert!(recorded.iter().any(|r| r["terms"]["kind"] == "labour" && r["terms"]["to"].is_string()));
    assert!(recorded.iter().any(|r| r["terms"]["kind"] == "separation" && r["non_compete_active"] == true));
    assert!(recorded.iter().any(|r| r["state"] == "renewed"));
    // The person records' open-ended contracts no record covers are listed too.
    assert!(rows.iter().any(|r| r["source"] == "person_record" && r["state"] == "open_term"), "{register}");

    // Today: the contract ending in 20 days and the probation ending in 20 days remind; the one ending in 75
    // days does not yet.
    let reminders = |v: &Value| -> Vec<(String, i64)> {
        v["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| (r["kind"].as_str().unwrap().to_string(), r["days"].as_i64().unwrap()))
            .collect()
    };
    let now = ok(&app, Method::GET, "/api/v1/contracts/reminders", &legal, None).await;
    let now_r = reminders(&now);
    assert!(now_r.contains(&("ending".into(), 20)), "{now}");
    assert!(now_r.contains(&("probation_ending".into(), 20)), "{now}");
    assert!(!now_r.iter().any(|(_, d)| *d == 75), "{now}");
    // Counted independently from the register: every active fixed term ending within 30 days.
    let ending_soon = rows
        .iter()
        .filter(|r| r["state"] == "active" && r["days_left"].as_i64().is_some_and(|d| (0..=30).contains(&d)))
        .count();
    assert_eq!(now_r.iter().filter(|(k, _)| k == "ending").count(), ending_soon, "{now}");
    // HR's inbox holds the same reminders.
    let hr = app.login("hr").await;
    assert_eq!(reminders(&ok(&app, Method::GET, "/api/v1/contracts/reminders", &hr, None).await), now_r);

    // Fifty days later: the 75-day one ends in 25 and reminds; the 20-day one has ended, not dealt with.
    let later = ok(&app, Method::GET, &format!("/api/v1/contracts/reminders?as_of={}", day(50)), &legal, None).await;
    let later_r = reminders(&later);
    assert!(later_r.contains(&("ending".into(), 25)), "{later}");
    assert!(later_r.contains(&("ended".into(), -30)), "{later}");
    let filtered =
        ok(&app, Method::GET, &format!("/api/v1/contracts?as_of={}&ending_within=30", day(50)), &legal, None).await;
    assert!(filtered["items"].as_array().unwrap().iter().all(|r| r["days_left"] == 25), "{filtered}");
    let binding = ok(&app, Method::GET, "/api/v1/contracts?non_compete_active=true", &legal, None).await;
    assert!(binding["total"].as_u64().unwrap() >= 1);
    assert!(binding["items"].as_array().unwrap().iter().all(|r| r["non_compete_active"] == true));
    let bad = app.send(Method::GET, "/api/v1/contracts?kind=marriage", Some(&legal), None).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);

    // The register as a report to download.
    let csv = app.send(Method::GET, "/api/v1/reports/contracts?format=csv", Some(&legal), None).await;
    assert_eq!(csv.status, StatusCode::OK);
    let csv = String::from_utf8(csv.body.to_vec()).unwrap();
    assert!(csv.starts_with("\u{feff}person_name,department,kind"), "{csv}");
    assert!(csv.contains("离职协议") && csv.contains("劳动合同"), "{csv}");
    let xlsx = app.send(Method::GET, "/api/v1/reports/contracts?format=xlsx", Some(&hr), None).await;
    assert_eq!((xlsx.status, &xlsx.body[..2]), (StatusCode::OK, &b"PK"[..]));
}

#[tokio::test]
async fn a_contract_is_proposed_from_its_text_and_recorded_with_if_match() {
    let app = demo_app().await;
    let hr = app.login("hr").await;
    let legal = app.login("legal").await;
    let person = cadre(&app, &hr, "ops").await;
    let pid = person["id"].as_str().unwrap().to_string();
    let mid = contract(&app, &hr, &pid, "c.docx", &fixture("contract.docx")).await;
    let url = format!("/api/v1/materials/{mid}/contract");

    // No record yet; the text proposes the terms.
    assert_eq!(app.send(Method::GET, &url, Some(&legal), None).await.status, StatusCode::NOT_FOUND);
    let p = ok(&app, Method::GET, &format!("{url}/proposal"), &legal, None).await;
    assert_eq!(p["terms"]["kind"], "labour", "{p}");
    assert_eq!(p["terms"]["number"], "HT-2018-0107");
    assert_eq!(p["terms"]["parties"], json!(["某某市信息产业集团有限公司", "张伟明"]));
    assert_eq!(
        (&p["terms"]["from"], &p["terms"]["to"], &p["open_term"]),
        (&json!("2018-01-01"), &Value::Null, &json!(true))
    );
    assert_eq!(p["terms"]["signed_on"], "2018-01-02");
    assert_eq!(p["terms"]["non_compete"]["months"], 24);

    // Legal confirms the proposal: the first record needs no If-Match.
    let mut terms = p["terms"].clone();
    let put = app.send(Method::PUT, &url, Some(&legal), Some(terms.clone())).await;
    assert_eq!(put.status, StatusCode::OK, "{}", String::from_utf8_lossy(&put.body));
    assert_eq!(put.header("etag"), "\"1\"");
    let row = put.json();
    assert_eq!((&row["state"], &row["source"], &row["version"]), (&json!("open_term"), &json!("register"), &json!(1)));
    // A non-compete without compensation travels as a warning.
    assert!(row["findings"].as_array().unwrap().iter().any(|f| f["field"] == "non_compete.monthly_compensation"));

    // A change needs the version read: 428 without, 412 when stale.
    terms["non_compete"]["monthly_compensation"] = json!(4000);
    assert_eq!(
        app.send(Method::PUT, &url, Some(&legal), Some(terms.clone())).await.status,
        StatusCode::PRECONDITION_REQUIRED
    );
    let put = |v: &str, body: Value| {
        let req = axum::http::Request::builder()
            .method(Method::PUT)
            .uri(&url)
            .header("authorization", format!("Bearer {legal}"))
            .header("content-type", "application/json")
            .header("if-match", v)
            .body(axum::body::Body::from(body.to_string()))
            .unwrap();
        app.call(req)
    };
    let a = put("\"1\"", terms.clone()).await;
    assert_eq!((a.status, a.header("etag")), (StatusCode::OK, "\"2\"".to_string()));
    assert_eq!(put("\"1\"", terms.clone()).await.status, StatusCode::PRECONDITION_FAILED);
    // Terms that cannot be: the end before the start, a non-compete of three years.
    let mut wrong = terms.clone();
    wrong["to"] = json!("2017-12-31");
    wrong["non_compete"]["months"] = json!(36);
    let a = put("\"2\"", wrong).await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY);
    let fields: Vec<String> =
        a.json()["findings"].as_array().unwrap().iter().map(|f| f["field"].as_str().unwrap().to_string()).collect();
    assert!(fields.contains(&"to".into()) && fields.contains(&"non_compete.months".into()), "{fields:?}");
    let mut unknown = terms.clone();
    unknown["salary"] = json!(1);
    assert_eq!(put("\"2\"", unknown).await.status, StatusCode::UNPROCESSABLE_ENTITY);

    let got = app.send(Method::GET, &url, Some(&hr), None).await;
    assert_eq!((got.status, got.header("etag")), (StatusCode::OK, "\"2\"".to_string()));
    assert_eq!(got.json()["terms"]["non_compete"]["monthly_compensation"], 4000.0);
    // The cadre's part of the register holds the recorded contract.
    let mine = ok(&app, Method::GET, &format!("/api/v1/contracts?person_id={pid}"), &legal, None).await;
    assert!(mine["items"].as_array().unwrap().iter().any(|r| r["material_id"] == mid.as_str()), "{mine}");

    // A material not tagged contract has no record: legal may not know it (404), HR is told why (422).
    let other =
        app.upload(&hr, &pid, json!({"category": "1", "title": "履历表"}), "r.txt", "履历表 内容".as_bytes()).await;
    let oid = other.json()["id"].as_str().unwrap().to_string();
    let ourl = format!("/api/v1/materials/{oid}/contract");
    assert_eq!(app.send(Method::PUT, &ourl, Some(&legal), Some(terms.clone())).await.status, StatusCode::NOT_FOUND);
    assert_eq!(
        app.send(Method::PUT, &ourl, Some(&hr), Some(terms.clone())).await.status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    // A renewal names another contract of the same cadre, not the contract itself.
    terms["renews"] = json!(mid);
    assert_eq!(put("\"2\"", terms).await.status, StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn a_blocking_note_stops_the_approval_of_a_contract_change_until_legal_resolves_it() {
    let app = demo_app().await;
    let hr = app.login("hr").await;
    let legal = app.login("legal").await;
    let person = cadre(&app, &hr, "ops").await;
    let pid = person["id"].as_str().unwrap().to_string();
    let mid = contract(&app, &hr, &pid, "c.docx", &fixture("contract.docx")).await;
    let notes = format!("/api/v1/materials/{mid}/contract/notes");

    // HR starts the contract change; legal reviews it.
    let r = ok(
        &app,
        Method::POST,
        "/api/v1/requests",
        &hr,
        Some(json!({"kind": "update", "person_id": pid, "reason": "续签",
            "changes": {"contracts": [{"kind": "劳动合同", "from": "2018-01-01", "material_id": mid}]}})),
    )
    .await;
    let rid = r["id"].as_str().unwrap().to_string();
    assert!(r["steps"].as_array().unwrap().iter().any(|s| s["name"] == "legal-review"), "{r}");

    // Legal finds a clause it cannot pass.
    let note = app
        .send(
            Method::POST,
            &notes,
            Some(&legal),
            Some(json!({"clause": "第五条 特别约定", "finding": "违约责任约定不明，须改写", "severity": "blocking"})),
        )
        .await;
    assert_eq!(note.status, StatusCode::CREATED, "{}", String::from_utf8_lossy(&note.body));
    let note = note.json();
    let nid = note["id"].as_str().unwrap().to_string();
    assert_eq!((&note["version"], &note["role"], &note["resolved"]), (&json!(1), &json!("legal"), &json!(false)));
    let empty = app
        .send(Method::POST, &notes, Some(&legal), Some(json!({"clause": "", "finding": " ", "severity": "info"})))
        .await;
    assert_eq!(empty.status, StatusCode::UNPROCESSABLE_ENTITY);
    let bad = app
        .send(Method::POST, &notes, Some(&legal), Some(json!({"clause": "x", "finding": "y", "severity": "fatal"})))
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);

    let decide = |who: String, d: &'static str| {
        let app = &app;
        let rid = rid.clone();
        async move {
            let t = app.login(&who).await;
            let path = format!("/api/v1/requests/{rid}/decisions");
            app.send(Method::POST, &path, Some(&t), Some(json!({"decision": d, "comment": "审查"}))).await
        }
    };
    // Legal's approval is refused while the note is open, naming the rule.
    let refused = decide("legal".into(), "approve").await;
    assert_eq!(refused.status, StatusCode::CONFLICT, "{}", String::from_utf8_lossy(&refused.body));
    assert!(String::from_utf8_lossy(&refused.body).contains("contract.blocking-note"));
    // HR, who started the change, cannot clear legal's finding.
    let resolve = format!("{notes}/{nid}/resolve");
    let hr_try = app.send(Method::POST, &resolve, Some(&hr), Some(json!({"resolution": "已处理"}))).await;
    assert_eq!(hr_try.status, StatusCode::FORBIDDEN);
    assert!(String::from_utf8_lossy(&hr_try.body).contains("contract.note-role"));
    // HR sees the note; the register counts it.
    let listed = ok(&app, Method::GET, &notes, &hr, None).await;
    assert_eq!(listed["items"][0]["finding"], "违约责任约定不明，须改写");
    let row = ok(&app, Method::GET, &format!("/api/v1/materials/{mid}/contract/proposal"), &legal, None).await;
    let rec = app
        .send(Method::PUT, &format!("/api/v1/materials/{mid}/contract"), Some(&legal), Some(row["terms"].clone()))
        .await;
    assert_eq!(rec.json()["blocking_notes"], 1);

    // Legal resolves it; now legal approves.
    let done = ok(&app, Method::POST, &resolve, &legal, Some(json!({"resolution": "第五条已按意见改写"}))).await;
    assert_eq!((&done["resolved"], &done["resolved_by"]), (&json!(true), &json!("legal")));
    assert_eq!(app.send(Method::POST, &resolve, Some(&legal), Some(json!({}))).await.status, StatusCode::CONFLICT);
    assert_eq!(decide("legal".into(), "approve").await.status, StatusCode::OK);

    // A blocking note written after legal's step holds the leaders too; reject stays possible.
    let second = ok(
        &app,
        Method::POST,
        &notes,
        &legal,
        Some(json!({"clause": "第三条", "finding": "薪资条款与工资表不符", "severity": "blocking"})),
    )
    .await;
    assert_eq!(decide("leader1".into(), "approve").await.status, StatusCode::CONFLICT);
    let sid = second["id"].as_str().unwrap();
    ok(&app, Method::POST, &format!("{notes}/{sid}/resolve"), &legal, Some(json!({}))).await;
    assert_eq!(decide("leader1".into(), "approve").await.status, StatusCode::OK);

    // A note that does not block stops nothing; a note id that is not one is 404.
    let unknown = app.send(Method::POST, &format!("{notes}/not-a-note/resolve"), Some(&legal), Some(json!({}))).await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);

    let auditor = app.login("auditor").await;
    let trail = ok(&app, Method::GET, "/api/v1/audit?action=contract.*&limit=200", &auditor, None).await;
    let actions: Vec<&str> = trail["items"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    for want in ["contract.note", "contract.notes", "contract.resolve", "contract.propose", "contract.record"] {
        assert!(actions.contains(&want), "{want} in {actions:?}");
    }
}

#[tokio::test]
async fn finance_heads_and_administrators_get_404_for_the_register_the_diff_and_the_notes() {
    let app = demo_app().await;
    let hr = app.login("hr").await;
    let legal = app.login("legal").await;
    let person = cadre(&app, &hr, "ops").await;
    let pid = person["id"].as_str().unwrap().to_string();
    let mid = contract(&app, &hr, &pid, "c.txt", "劳动合同书\n甲方：某公司\n乙方：某人\n第一条 期限".as_bytes()).await;
    let put = |body: &'static str| {
        let req = axum::http::Request::builder()
            .method(Method::PUT)
            .uri(format!("/api/v1/materials/{mid}/content"))
            .header("authorization", format!("Bearer {hr}"))
            .header("content-type", "text/plain")
            .header("if-match", "\"1\"")
            .body(axum::body::Body::from(body))
            .unwrap();
        app.call(req)
    };
    assert_eq!(put("劳动合同书\n甲方：某公司\n乙方：某人\n第一条 期限三年").await.status, StatusCode::OK);
    text_settled(&app, &hr, &mid).await;
    ok(&app, Method::PUT, &format!("/api/v1/materials/{mid}/contract"), &legal, Some(json!({"kind": "labour"}))).await;
    let note = json!({"clause": "第一条", "finding": "期限不明", "severity": "warning"});
    let nid = ok(&app, Method::POST, &format!("/api/v1/materials/{mid}/contract/notes"), &legal, Some(note.clone()))
        .await["id"]
        .as_str()
        .unwrap()
        .to_string();

    let paths = [
        (Method::GET, "/api/v1/contracts".to_string(), None),
        (Method::GET, "/api/v1/contracts/reminders".to_string(), None),
        (Method::GET, "/api/v1/reports/contracts?format=csv".to_string(), None),
        (Method::GET, format!("/api/v1/materials/{mid}/contract"), None),
        (Method::PUT, format!("/api/v1/materials/{mid}/contract"), Some(json!({"kind": "labour"}))),
        (Method::GET, format!("/api/v1/materials/{mid}/contract/proposal"), None),
        (Method::GET, format!("/api/v1/materials/{mid}/contract/notes"), None),
        (Method::POST, format!("/api/v1/materials/{mid}/contract/notes"), Some(note)),
        (Method::POST, format!("/api/v1/materials/{mid}/contract/notes/{nid}/resolve"), Some(json!({}))),
        (Method::GET, format!("/api/v1/materials/{mid}/versions/1/diff/2"), None),
    ];
    for who in ["finance", "head-ops", "it", "secadmin", "auditor", "scanner"] {
        let t = app.login(who).await;
        for (method, path, body) in &paths {
            let a = app.send(method.clone(), path, Some(&t), body.clone()).await;
            assert_eq!(a.status, StatusCode::NOT_FOUND, "{who} {method} {path}: {}", String::from_utf8_lossy(&a.body));
        }
    }
    // Legal and HR reach all of it.
    for t in [&legal, &hr] {
        for (method, path, _) in paths.iter().filter(|(m, ..)| *m == Method::GET) {
            assert_eq!(app.send(method.clone(), path, Some(t), None).await.status, StatusCode::OK, "{path}");
        }
    }

    // Every refusal is in the trail.
    let auditor = app.login("auditor").await;
    let trail = ok(&app, Method::GET, "/api/v1/audit?action=contract.*&limit=500", &auditor, None).await;
    let denied = |who: &str, action: &str| {
        trail["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["actor"] == who && e["action"] == action && e["outcome"] == "denied")
    };
    for who in ["finance", "head-ops"] {
        for action in ["contract.register", "contract.read", "contract.notes", "contract.note", "contract.resolve"] {
            assert!(denied(who, action), "{who} {action} not denied in the trail");
        }
    }
}

#[tokio::test]
async fn legal_may_not_keep_or_review_its_own_contract_and_the_refusals_are_in_the_trail() {
    let app = demo_app().await;
    let hr = app.login("hr").await;
    let legal = app.login("legal").await;
    let own = ok(&app, Method::GET, "/api/v1/me", &legal, None).await["person_id"].as_str().unwrap().to_string();
    let mid = contract(&app, &hr, &own, "c.docx", &fixture("contract.docx")).await;
    let terms = json!({"kind": "labour", "parties": ["某某集团", "本人"], "from": "2020-01-01"});
    ok(&app, Method::PUT, &format!("/api/v1/materials/{mid}/contract"), &hr, Some(terms.clone())).await;

    // 403 naming the rule (legal knows its own dossier exists), for every path of its own contract.
    let note = json!({"clause": "第一条", "finding": "自我审查", "severity": "blocking"});
    let paths = [
        (Method::GET, format!("/api/v1/materials/{mid}/contract"), None),
        (Method::PUT, format!("/api/v1/materials/{mid}/contract"), Some(terms)),
        (Method::GET, format!("/api/v1/materials/{mid}/contract/proposal"), None),
        (Method::GET, format!("/api/v1/materials/{mid}/contract/notes"), None),
        (Method::POST, format!("/api/v1/materials/{mid}/contract/notes"), Some(note)),
    ];
    for (method, path, body) in paths {
        let a = app.send(method.clone(), &path, Some(&legal), body).await;
        let text = String::from_utf8_lossy(&a.body).to_string();
        assert_eq!(a.status, StatusCode::FORBIDDEN, "{method} {path}: {text}");
        assert!(text.contains("hard.own-dossier"), "{text}");
    }
    // The register and the reminders leave it out quietly; HR keeps it.
    let mine = |v: &Value| v["items"].as_array().unwrap().iter().any(|r| r["person_id"] == own.as_str());
    assert!(!mine(&ok(&app, Method::GET, "/api/v1/contracts", &legal, None).await));
    assert!(mine(&ok(&app, Method::GET, "/api/v1/contracts", &hr, None).await));

    let auditor = app.login("auditor").await;
    let trail = ok(&app, Method::GET, "/api/v1/audit?action=contract.*&actor=legal&limit=500", &auditor, None).await;
    let denied = denied(&trail, "action");
    for action in ["contract.read", "contract.record", "contract.propose", "contract.notes", "contract.note"] {
        assert!(denied.contains(&action), "{action} not denied in the trail: {denied:?}");
    }
}
