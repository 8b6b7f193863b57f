//! The seed's collaboration flows through the HTTP API with the demo accounts: each scenario moves from HR
//! through heads, legal, finance and administration to the leaders, and lands in the dossier as a new version
//! naming the request.

use crate::common::*;
use axum::http::{Method, StatusCode};
use dangan::crypto::MasterKey;
use dangan::service::{Config, demo};
use serde_json::{Value, json};

async fn request(app: &TestApp, token: &str, body: Value) -> (StatusCode, Value) {
    let a = app.send(Method::POST, "/api/v1/requests", Some(token), Some(body)).await;
    (a.status, serde_json::from_slice(&a.body).unwrap_or(Value::Null))
}

async fn decide(app: &TestApp, who: &str, rid: &str, decision: &str) -> (StatusCode, Value) {
    let t = app.login(who).await;
    let a = app
        .send(
            Method::POST,
            &format!("/api/v1/requests/{rid}/decisions"),
            Some(&t),
            Some(json!({"decision": decision, "comment": "同意"})),
        )
        .await;
    (a.status, serde_json::from_slice(&a.body).unwrap_or(Value::Null))
}

async fn inbox_has(app: &TestApp, who: &str, rid: &str) -> bool {
    let t = app.login(who).await;
    let inbox = app.send(Method::GET, "/api/v1/inbox", Some(&t), None).await.json();
    inbox["items"].as_array().unwrap().iter().any(|i| i["request_id"] == rid)
}

/// Walks a request through `steps`: each account's inbox holds it before it approves.
async fn walk(app: &TestApp, rid: &str, steps: &[&str]) -> Value {
    let mut last = Value::Null;
    for who in steps {
        assert!(inbox_has(app, who, rid).await, "{who}'s inbox should hold {rid}");
        let t = app.login(who).await;
        let n = app.send(Method::GET, "/api/v1/notifications", Some(&t), None).await.json();
        assert!(
            n["items"]
                .as_array()
                .unwrap()
                .iter()
                .any(|n| n["request_id"] == rid && n["event"] == "request.step_pending"),
            "{who} was notified of {rid}"
        );
        let (status, r) = decide(app, who, rid, "approve").await;
        assert_eq!(status, StatusCode::OK, "{who}: {r}");
        assert!(!inbox_has(app, who, rid).await, "{who}'s inbox is empty after deciding");
        last = r;
    }
    last
}

/// A cadre of `dept` without an account and without a contract change of the demo's in flight.
async fn idle_cadre(app: &TestApp, hr: &str, dept: &str) -> Value {
    let holders = account_holders(app);
    let list = app.send(Method::GET, &format!("/api/v1/persons?department={dept}"), Some(hr), None).await.json();
    for p in list["items"].as_array().unwrap() {
        let id = p["id"].as_str().unwrap();
        let requests = app.send(Method::GET, &format!("/api/v1/requests?person={id}"), Some(hr), None).await.json();
        let busy = requests["items"].as_array().unwrap().iter().any(|r| r["changes"].get("contracts").is_some());
        if !holders.iter().any(|h| h == id) && !busy {
            return p.clone();
        }
    }
    panic!("no cadre in {dept} without a contract change in flight")
}

async fn person(app: &TestApp, hr: &str, id: &str) -> Value {
    app.send(Method::GET, &format!("/api/v1/persons/{id}"), Some(hr), None).await.json()
}

#[tokio::test]
async fn promotion_goes_through_head_legal_finance_and_leaders_and_lands_as_a_version() {
    let app = demo_app().await;
    let hr = app.login("hr").await;
    let p = cadre(&app, &hr, "ops").await;
    let pid = p["id"].as_str().unwrap();
    let before = p["version"].as_u64().unwrap();
    app.conclude_review(pid).await;
    let (status, r) = request(
        &app,
        &hr,
        json!({"kind": "promotion", "person_id": pid, "reason": "年度考核优秀", "changes": {"position": "业务运营部副部长", "rank": "五级职员", "salary_grade": "30", "contract_change": "岗位变更补充协议"}}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{r}");
    assert_eq!(r["state"], "in_review");
    let rid = r["id"].as_str().unwrap().to_string();
    let names: Vec<&str> = r["steps"].as_array().unwrap().iter().map(|s| s["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["head-review", "legal-review", "finance-review", "leader-1", "leader-2"]);

    // Nobody decides out of turn, on their own request, or on another department's cadre.
    assert!(!inbox_has(&app, "finance", &rid).await, "finance waits for the head");
    assert_eq!(decide(&app, "hr", &rid, "approve").await.0, StatusCode::FORBIDDEN);
    assert_eq!(decide(&app, "head-sales", &rid, "approve").await.0, StatusCode::FORBIDDEN);
    assert_eq!(decide(&app, "finance", &rid, "approve").await.0, StatusCode::FORBIDDEN);

    walk(&app, &rid, &["head-ops"]).await;
    // Legal and finance review in parallel.
    assert!(inbox_has(&app, "legal", &rid).await && inbox_has(&app, "finance", &rid).await);
    walk(&app, &rid, &["finance"]).await;
    // Finance cannot decide the legal step.
    assert_ne!(decide(&app, "finance", &rid, "approve").await.0, StatusCode::OK);
    let r = walk(&app, &rid, &["legal", "leader1"]).await;
    assert_eq!(r["state"], "in_approval");
    assert_eq!(
        decide(&app, "leader1", &rid, "approve").await.0,
        StatusCode::CONFLICT,
        "a repeated decision is refused"
    );
    let r = walk(&app, &rid, &["leader2"]).await;
    assert_eq!(r["state"], "applied", "{r}");

    let after = person(&app, &hr, pid).await;
    assert_eq!(after["position"], "业务运营部副部长");
    assert_eq!(after["salary_grade"], "30");
    assert_eq!(after["version"].as_u64().unwrap(), before + 1);
    let appts = after["appointments"].as_array().unwrap();
    assert_eq!(appts.last().unwrap()["position"], "业务运营部副部长");
    assert!(appts[appts.len() - 2]["to"].is_string(), "the previous post is closed");
    // Turnaround figures count the decisions.
    let t = app.send(Method::GET, "/api/v1/reports/turnaround", Some(&hr), None).await.json();
    let promo =
        t["items"].as_array().unwrap().iter().find(|i| i["kind"] == "promotion" && i["step"] == "*").unwrap().clone();
    assert!(promo["count"].as_u64().unwrap() >= 1 && promo["median_hours"].is_number(), "{t}");
    let fin = app.login("finance").await;
    assert_eq!(
        app.send(Method::GET, "/api/v1/reports/turnaround", Some(&fin), None).await.status,
        StatusCode::FORBIDDEN
    );
    let history = app.send(Method::GET, &format!("/api/v1/persons/{pid}/versions"), Some(&hr), None).await.json();
    let last = history["items"].as_array().unwrap().last().unwrap().clone();
    assert!(last["reason"].as_str().unwrap().contains(&rid), "{last}");
    assert!(last["reason"].as_str().unwrap().contains("leader2"));
}

#[tokio::test]
async fn transfer_resignation_and_creation() {
    let app = demo_app().await;
    let hr = app.login("hr").await;
    // Transfer: old head, new head, administration, leaders.
    let p = cadre(&app, &hr, "ops").await;
    let pid = p["id"].as_str().unwrap().to_string();
    let (status, r) = request(
        &app,
        &hr,
        json!({"kind": "transfer", "person_id": pid, "changes": {"department": "research", "position": "研究员"}}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{r}");
    let rid = r["id"].as_str().unwrap().to_string();
    assert_eq!(
        decide(&app, "head-research", &rid, "approve").await.0,
        StatusCode::FORBIDDEN,
        "the new head confirms after the old one"
    );
    let r = walk(&app, &rid, &["head-ops", "head-research", "admin", "leader1", "leader2"]).await;
    assert_eq!(r["state"], "applied");
    let after = person(&app, &hr, &pid).await;
    assert_eq!(
        (after["department"].as_str(), after["department_name"].as_str()),
        (Some("research"), Some("研究发展部"))
    );

    // Resignation: head, legal (agreement), finance (settlement), leaders. Of a cadre with no request in flight
    // (the demo's contract renewal waits on legal's blocking note, which would stop this change too).
    let q = idle_cadre(&app, &hr, "research").await;
    let qid = q["id"].as_str().unwrap().to_string();
    let (_, r) = request(&app, &hr, json!({"kind": "resignation", "person_id": qid, "changes": {"resign_on": "2026-12-31", "agreement": "解除劳动合同协议", "settlement": "结清工资"}})).await;
    let rid = r["id"].as_str().unwrap().to_string();
    let r = walk(&app, &rid, &["head-research", "legal", "finance", "leader1", "leader2"]).await;
    assert_eq!(r["state"], "applied");
    let after = person(&app, &hr, &qid).await;
    assert_eq!(after["status"], "resigned");

    // Creation: the head of the new cadre's department confirms, then the leaders.
    let idn = id_number("44030519900101001");
    let (status, r) = request(
        &app,
        &hr,
        json!({"kind": "create", "changes": {"name": "新员工", "id_number": idn, "department": "legal", "birth_date": "1990-01-02"}}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{r}");
    assert_eq!(r["findings"][0]["severity"], "warning", "a file birth date differing from the ID's is a warning: {r}");
    let rid = r["id"].as_str().unwrap().to_string();
    let r = walk(&app, &rid, &["head-legal", "leader1", "leader2"]).await;
    assert_eq!(r["state"], "applied");
    let new_id = r["person_id"].as_str().unwrap();
    assert_eq!(person(&app, &hr, new_id).await["name"], "新员工");
}

#[tokio::test]
async fn fast_path_rejection_return_validation_and_conflicts() {
    let app = demo_app().await;
    let hr = app.login("hr").await;
    let p = cadre(&app, &hr, "research").await;
    let pid = p["id"].as_str().unwrap().to_string();
    let v0 = p["version"].as_u64().unwrap();

    // A routine update by HR applies at once, audited.
    let (status, r) =
        request(&app, &hr, json!({"kind": "update", "person_id": pid, "changes": {"phone": "13900000001"}})).await;
    assert_eq!(status, StatusCode::CREATED, "{r}");
    assert_eq!(r["state"], "applied");
    assert!(r["steps"].as_array().unwrap().is_empty());
    assert_eq!(person(&app, &hr, &pid).await["phone"], "13900000001");
    let auditor = app.login("auditor").await;
    let trail = app.send(Method::GET, "/api/v1/audit?action=request.fast-path", Some(&auditor), None).await.json();
    assert_eq!(trail["total"], 1);

    // A rejected promotion changes nothing.
    app.conclude_review(&pid).await;
    let (_, r) =
        request(&app, &hr, json!({"kind": "promotion", "person_id": pid, "changes": {"position": "研究发展部部长"}}))
            .await;
    let rid = r["id"].as_str().unwrap().to_string();
    let (status, r) = decide(&app, "head-research", &rid, "reject").await;
    assert_eq!((status, r["state"].as_str()), (StatusCode::OK, Some("rejected")));
    assert_ne!(person(&app, &hr, &pid).await["position"], "研究发展部部长");

    // A returned request is revised and then passes.
    let (_, r) =
        request(&app, &hr, json!({"kind": "update", "person_id": pid, "changes": {"salary_grade": "99"}})).await;
    let rid = r["id"].as_str().unwrap().to_string();
    let (_, r) = decide(&app, "finance", &rid, "return").await;
    assert_eq!(r["state"], "returned");
    let rev = app
        .send(
            Method::PATCH,
            &format!("/api/v1/requests/{rid}"),
            Some(&hr),
            Some(json!({"changes": {"salary_grade": "31"}, "reason": "按财务意见修改"})),
        )
        .await;
    assert_eq!(rev.status, StatusCode::OK, "{}", String::from_utf8_lossy(&rev.body));
    assert!(rev.json()["decisions"][0]["void"].as_bool().unwrap(), "editing the change voids the earlier decision");
    let sub = app.send(Method::POST, &format!("/api/v1/requests/{rid}/submit"), Some(&hr), None).await;
    assert_eq!(sub.json()["state"], "in_review");
    let r = walk(&app, &rid, &["finance", "leader1", "leader2"]).await;
    assert_eq!(r["state"], "applied");
    assert_eq!(person(&app, &hr, &pid).await["salary_grade"], "31");

    // Validation blocks: an invalid ID number, party entry before 18.
    let (status, r) =
        request(&app, &hr, json!({"kind": "update", "person_id": pid, "changes": {"id_number": "110105194912310021"}}))
            .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r["findings"][0]["field"], "id_number");
    let birth = person(&app, &hr, &pid).await["birth_date"].as_str().unwrap().to_string();
    let young = format!("{}-01-01", birth[..4].parse::<u32>().unwrap() + 10);
    let (status, r) =
        request(&app, &hr, json!({"kind": "update", "person_id": pid, "changes": {"party_join": young}})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{r}");
    assert_eq!(r["findings"][0]["field"], "party_join");

    // Two requests on the same version: the one approved second is flagged, not applied blindly.
    let (_, a) = request(&app, &hr, json!({"kind": "update", "person_id": pid, "changes": {"rank": "六级职员"}})).await;
    let (_, b) = request(&app, &hr, json!({"kind": "update", "person_id": pid, "changes": {"rank": "七级职员"}})).await;
    let (ra, rb) = (a["id"].as_str().unwrap().to_string(), b["id"].as_str().unwrap().to_string());
    assert_eq!(walk(&app, &ra, &["head-research", "leader1", "leader2"]).await["state"], "applied");
    let second = walk(&app, &rb, &["head-research", "leader1", "leader2"]).await;
    assert_eq!(second["state"], "approved");
    assert!(second["conflict"].as_str().unwrap().contains("rebase"), "{second}");
    assert_eq!(person(&app, &hr, &pid).await["rank"], "六级职员");
    assert!(person(&app, &hr, &pid).await["version"].as_u64().unwrap() > v0);
    // Rebased, it goes round again and applies.
    let reb = app.send(Method::POST, &format!("/api/v1/requests/{rb}/submit"), Some(&hr), None).await;
    assert_eq!(reb.json()["state"], "in_review");
    assert_eq!(walk(&app, &rb, &["head-research", "leader1", "leader2"]).await["state"], "applied");
    assert_eq!(person(&app, &hr, &pid).await["rank"], "七级职员");
}

#[tokio::test]
async fn notifications_reach_the_assignees_and_the_webhooks_signed() {
    use hmac::Mac;
    // A stand-in for an OA system: records what it is sent.
    let received: std::sync::Arc<std::sync::Mutex<Vec<(String, String)>>> = Default::default();
    let sink = received.clone();
    let oa = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: axum::http::HeaderMap, body: String| {
            let sink = sink.clone();
            async move {
                let sig =
                    headers.get("x-dangan-signature").and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
                sink.lock().unwrap().push((sig, body));
                StatusCode::OK
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, oa).await.unwrap() });

    let dir = tempfile::tempdir().unwrap();
    let config = Config { webhooks: vec![url], webhook_secret: Some("oa-shared-secret".into()), ..Config::default() };
    let archive =
        dangan::bootstrap::open(dir.path(), &MasterKey::generate().unwrap(), worker_extractor(), config).unwrap();
    let a = archive.clone();
    tokio::task::spawn_blocking(move || demo::load(&a, demo::DemoOptions { persons_per_department: 2 }).unwrap())
        .await
        .unwrap();
    let app = TestApp { router: dangan::server::router(archive.clone(), BODY_LIMIT), archive, dir };
    let hr = app.login("hr").await;
    let p = cadre(&app, &hr, "ops").await;
    app.conclude_review(p["id"].as_str().unwrap()).await;
    let (_, r) = request(
        &app,
        &hr,
        json!({"kind": "promotion", "person_id": p["id"], "changes": {"position": "业务运营部主管（试用）"}}),
    )
    .await;
    let rid = r["id"].as_str().unwrap().to_string();

    // In the app: the head of ops is told.
    let head = app.login("head-ops").await;
    let n = app.send(Method::GET, "/api/v1/notifications", Some(&head), None).await.json();
    assert!(
        n["items"].as_array().unwrap().iter().any(|n| n["request_id"] == rid.as_str() && n["step"] == "head-review"),
        "{n}"
    );
    let fin = app.login("finance").await;
    let n = app.send(Method::GET, "/api/v1/notifications", Some(&fin), None).await.json();
    assert!(!n["items"].as_array().unwrap().iter().any(|n| n["request_id"] == rid.as_str()));

    // At the webhook, signed.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let found = loop {
        let hit = received.lock().unwrap().iter().find(|(_, b)| b.contains(&rid)).cloned();
        if let Some(h) = hit {
            break h;
        }
        assert!(std::time::Instant::now() < deadline, "the webhook never received {rid}");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(b"oa-shared-secret").unwrap();
    mac.update(found.1.as_bytes());
    let expected: String = mac.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(found.0, format!("sha256={expected}"));
    let body: Value = serde_json::from_str(&found.1).unwrap();
    assert_eq!(body["event"], "request.step_pending");
    assert_eq!(body["recipient"], "head:person");

    // Approved and applied: the initiator hears of it.
    walk(&app, &rid, &["head-ops", "leader1", "leader2"]).await;
    let n = app.send(Method::GET, "/api/v1/notifications", Some(&hr), None).await.json();
    assert!(
        n["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n["request_id"] == rid.as_str() && n["event"] == "request.applied")
    );
}

#[tokio::test]
async fn definitions_are_data_versioned_and_requests_keep_theirs() {
    let app = demo_app().await;
    let hr = app.login("hr").await;
    let sec = app.login("secadmin").await;
    let p = cadre(&app, &hr, "sales").await;
    let pid = p["id"].as_str().unwrap().to_string();
    let (_, old) =
        request(&app, &hr, json!({"kind": "update", "person_id": pid, "changes": {"salary_grade": "40"}})).await;
    assert_eq!(old["definitions_version"], 1);

    // One approval level for updates from now on.
    let toml = dangan::model::workflow::DEFAULT_DEFINITIONS.replacen(
        "[[flow.step]]\nname = \"leader-2\"\nstage = \"approval\"\nassignee = \"leader:2\"\ngroup = 3\n\n[[flow]]\nkind = \"promotion\"",
        "[[flow]]\nkind = \"promotion\"",
        1,
    );
    assert_ne!(toml, dangan::model::workflow::DEFAULT_DEFINITIONS);
    let put = |token: String, body: String| {
        axum::http::Request::builder()
            .method(Method::PUT)
            .uri("/api/v1/workflows")
            .header("authorization", format!("Bearer {token}"))
            .header("content-type", "application/toml")
            .body(axum::body::Body::from(body))
            .unwrap()
    };
    assert_eq!(app.call(put(hr.clone(), toml.clone())).await.status, StatusCode::FORBIDDEN);
    assert_eq!(app.call(put(sec.clone(), "version = \"x\"".into())).await.status, StatusCode::UNPROCESSABLE_ENTITY);
    let ok = app.call(put(sec.clone(), toml)).await;
    assert_eq!(ok.status, StatusCode::OK, "{}", String::from_utf8_lossy(&ok.body));
    assert_eq!(ok.json()["version"], 2);

    let (_, new) =
        request(&app, &hr, json!({"kind": "update", "person_id": pid, "changes": {"rank": "三级职员"}})).await;
    assert_eq!(new["definitions_version"], 2);
    let names: Vec<&str> = new["steps"].as_array().unwrap().iter().map(|s| s["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["head-review", "leader-1"]);
    // The request started under version 1 keeps its two approval levels.
    let old_id = old["id"].as_str().unwrap().to_string();
    let r = walk(&app, &old_id, &["finance", "leader1"]).await;
    assert_eq!(r["state"], "in_approval", "still waits for leader 2");

    // Comments.
    let c = app
        .send(
            Method::POST,
            &format!("/api/v1/requests/{old_id}/comments"),
            Some(&hr),
            Some(json!({"text": "请尽快审批"})),
        )
        .await;
    assert_eq!(c.status, StatusCode::OK);
    assert_eq!(c.json()["comments"][0]["text"], "请尽快审批");
}

#[tokio::test]
async fn consultation_and_destruction_flows() {
    let app = demo_app().await;
    let hr = app.login("hr").await;
    let p = cadre(&app, &hr, "research").await;
    let pid = p["id"].as_str().unwrap().to_string();
    let doomed = app
        .upload(&hr, &pid, json!({"category": "10", "title": "过期借阅登记"}), "a.txt", "待销毁材料甲乙".as_bytes())
        .await
        .json();
    let twin = app
        .upload(&hr, &pid, json!({"category": "10", "title": "同内容副本"}), "b.txt", "待销毁材料甲乙".as_bytes())
        .await
        .json();
    let did = doomed["id"].as_str().unwrap().to_string();

    // 查阅 is no longer a request: it is a grant with its 查阅单位, readers and 介绍信 (tests/it/consult.rs).
    let legal = app.login("legal").await;
    let until = (time::OffsetDateTime::now_utc().date() + time::Duration::days(7)).to_string();
    let (status, r) = request(
        &app,
        &legal,
        json!({"kind": "consultation", "person_id": pid, "changes": {"purpose": "合同纠纷核查", "until": until}}),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{r}");

    // 销毁: leader approval, two supervisors sign; the bytes are gone, the register stays.
    let (status, r) = request(&app, &hr, json!({"kind": "destruction", "person_id": pid, "changes": {"material_ids": [did], "appraisal": "2026年档案鉴定会议纪要第3号"}})).await;
    assert_eq!(status, StatusCode::CREATED, "{r}");
    let rid = r["id"].as_str().unwrap().to_string();
    let r = walk(&app, &rid, &["leader1", "admin", "secadmin"]).await;
    assert_eq!(r["state"], "applied", "{r}");
    let gone = app.send(Method::GET, &format!("/api/v1/materials/{did}/content"), Some(&hr), None).await;
    assert_eq!(gone.status, StatusCode::NOT_FOUND);
    assert!(String::from_utf8_lossy(&gone.body).contains("destroyed"));
    // Only a caller who may know the material learns it was destroyed: finance, who may not list it, gets the
    // plain 404 (as for a material that never existed).
    let finance = app.login("finance").await;
    for path in [format!("/api/v1/materials/{did}/content"), format!("/api/v1/materials/{did}/versions/1/content")] {
        let hidden = app.send(Method::GET, &path, Some(&finance), None).await;
        assert_eq!(hidden.status, StatusCode::NOT_FOUND, "{path}");
        let body = String::from_utf8_lossy(&hidden.body);
        assert!(!body.contains("destroyed") && !body.contains(&rid), "{path}: {body}");
    }
    let cat = app.send(Method::GET, &format!("/api/v1/persons/{pid}/materials"), Some(&hr), None).await.json();
    assert!(!cat["items"].as_array().unwrap().iter().any(|m| m["id"] == did.as_str()));
    // A material with the same bytes keeps them (reference counting), and the store still verifies.
    let tid = twin["id"].as_str().unwrap();
    assert_eq!(
        app.send(Method::GET, &format!("/api/v1/materials/{tid}/content"), Some(&hr), None).await.body,
        "待销毁材料甲乙".as_bytes()
    );
    let archive = app.archive.clone();
    assert!(tokio::task::spawn_blocking(move || archive.indexing().verify().unwrap()).await.unwrap().ok());
    // Without an appraisal, no destruction.
    let (status, _) =
        request(&app, &hr, json!({"kind": "destruction", "person_id": pid, "changes": {"material_ids": [tid]}})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
}

/// A PUT of flow definitions (TOML) by `token`.
async fn put_definitions(app: &TestApp, token: &str, toml: String) -> Answer {
    let req = axum::http::Request::builder()
        .method(Method::PUT)
        .uri("/api/v1/workflows")
        .header("authorization", format!("Bearer {token}"))
        .header("content-type", "application/toml")
        .body(axum::body::Body::from(toml))
        .unwrap();
    app.call(req).await
}

/// An account made on the local path (as the CLI does).
async fn account(app: &TestApp, name: &str, roles: Vec<dangan::model::Role>, dept: &str, person: Option<&str>) {
    app.add_account(name, roles, Some(dept), person.map(|p| p.parse().unwrap()), None).await;
}

#[tokio::test]
async fn definitions_that_let_a_change_through_without_a_decision_are_refused() {
    let app = demo_app().await;
    let sec = app.login("secadmin").await;
    let default = dangan::model::workflow::DEFAULT_DEFINITIONS;

    // A consultation flow with no steps would grant anyone a dossier without a decision.
    let approval =
        "[[flow.step]]\nname = \"leader-approval\"\nstage = \"approval\"\nassignee = \"leader:1\"\ngroup = 1\n";
    let empty = default.replacen(approval, "", 1);
    assert_ne!(empty, default);
    let a = put_definitions(&app, &sec, empty).await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", String::from_utf8_lossy(&a.body));
    let detail = a.json()["detail"].as_str().unwrap_or_default().to_string();
    assert!(detail.contains("consultation") && detail.contains("rule workflow.always-step"), "{detail}");

    // The fast path takes routine fields only.
    let routine = "fast_path = [\"phone\", \"address\", \"training\", \"former_names\"]";
    let salary = default.replacen(routine, "fast_path = [\"phone\", \"salary_grade\"]", 1);
    assert_ne!(salary, default);
    let a = put_definitions(&app, &sec, salary).await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY);
    let detail = a.json()["detail"].as_str().unwrap_or_default().to_string();
    assert!(detail.contains("update") && detail.contains("rule workflow.fast-path"), "{detail}");

    // A typo in a condition, a flow left out, a destruction signed once: refused too; the default passes.
    let typo = default.replacen("when = \"salary\"", "when = \"salery\"", 1);
    assert_eq!(put_definitions(&app, &sec, typo).await.status, StatusCode::UNPROCESSABLE_ENTITY);
    let cut = &default[..default.find("# 销毁").unwrap()];
    assert_eq!(put_definitions(&app, &sec, cut.to_string()).await.status, StatusCode::UNPROCESSABLE_ENTITY);
    let once =
        default.replacen("assignee = \"role:secadmin\"\ngroup = 2", "assignee = \"role:secadmin\"\ngroup = 3", 1);
    assert_ne!(once, default);
    assert_eq!(put_definitions(&app, &sec, once).await.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(put_definitions(&app, &sec, default.to_string()).await.status, StatusCode::OK);
}

#[tokio::test]
async fn four_eyes_an_account_with_two_roles_decides_one_step_only() {
    let app = demo_app().await;
    let hr = app.login("hr").await;
    let own = cadre(&app, &hr, "sales").await;
    account(
        &app,
        "finlegal",
        vec![dangan::model::Role::Finance, dangan::model::Role::Legal],
        "finance",
        own["id"].as_str(),
    )
    .await;
    let p = cadre(&app, &hr, "ops").await;
    app.conclude_review(p["id"].as_str().unwrap()).await;
    let (status, r) = request(
        &app,
        &hr,
        json!({"kind": "promotion", "person_id": p["id"], "changes": {"salary_grade": "31", "contract_change": "岗位变更补充协议"}}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{r}");
    let rid = r["id"].as_str().unwrap().to_string();
    walk(&app, &rid, &["head-ops"]).await;

    // Legal and finance review in parallel: the account holding both signs one of them.
    assert!(inbox_has(&app, "finlegal", &rid).await);
    let (status, r) = decide(&app, "finlegal", &rid, "approve").await;
    assert_eq!(status, StatusCode::OK, "{r}");
    assert_eq!(r["state"], "in_review", "the other review is still open");
    assert!(!inbox_has(&app, "finlegal", &rid).await, "its inbox does not offer the second step");
    let (status, body) = decide(&app, "finlegal", &rid, "approve").await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert!(body["detail"].as_str().unwrap().starts_with("rule hard.four-eyes:"), "{body}");

    // The other step goes to a second person, and the request carries on.
    let signed = r["steps"].as_array().unwrap().iter().find(|s| s["decided_by"] == "finlegal").unwrap().clone();
    let other = if signed["name"] == "legal-review" { "finance" } else { "legal" };
    let r = walk(&app, &rid, &[other]).await;
    assert_eq!(r["state"], "in_approval", "{r}");
    assert_eq!(walk(&app, &rid, &["leader1", "leader2"]).await["state"], "applied");
}

/// The demo account linked to the person `username` holds.
fn person_of(app: &TestApp, username: &str) -> String {
    let users = app.archive.accounts().users().unwrap();
    users.into_iter().find(|u| u.username == username).unwrap().person_id.unwrap().to_string()
}

#[tokio::test]
async fn a_heads_own_promotion_escalates_to_the_leaders_and_is_applied() {
    let app = demo_app().await;
    let hr = app.login("hr").await;
    let head = person_of(&app, "head-ops");
    app.conclude_review(&head).await;
    let (status, r) = request(
        &app,
        &hr,
        json!({"kind": "promotion", "person_id": head, "reason": "任期考核优秀", "changes": {"position": "业务运营部部长（正职）"}}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{r}");
    let rid = r["id"].as_str().unwrap().to_string();
    assert_eq!(r["state"], "in_approval", "the head's review went to leader 1 at once: {r}");
    let review = &r["steps"][0];
    assert_eq!(
        (review["name"].as_str(), review["state"].as_str(), review["folded_into"].as_str()),
        (Some("head-review"), Some("escalated"), Some("leader-1"))
    );
    assert_eq!(
        (review["assignee"].as_str(), review["escalated_from"].as_str()),
        (Some("leader:1"), Some("head:person"))
    );

    // The head never sees it; leader 1, then leader 2 decide it — two distinct people.
    assert!(!inbox_has(&app, "head-ops", &rid).await);
    let h = app.login("head-ops").await;
    assert_eq!(
        app.send(Method::GET, &format!("/api/v1/requests/{rid}"), Some(&h), None).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(decide(&app, "head-ops", &rid, "approve").await.0, StatusCode::FORBIDDEN);
    assert!(inbox_has(&app, "leader1", &rid).await);
    walk(&app, &rid, &["leader1"]).await;
    assert!(!inbox_has(&app, "head-ops", &rid).await);
    let r = walk(&app, &rid, &["leader2"]).await;
    assert_eq!(r["state"], "applied", "{r}");
    assert_eq!(person(&app, &hr, &head).await["position"], "业务运营部部长（正职）");

    // The timeline and the audit trail name the escalation.
    let r = app.send(Method::GET, &format!("/api/v1/requests/{rid}"), Some(&hr), None).await.json();
    let line = r["comments"].as_array().unwrap().iter().find(|c| c["author"] == "system").cloned().unwrap_or_default();
    let text = line["text"].as_str().unwrap_or_default();
    assert!(text.contains("head-review") && text.contains("leader:1") && text.contains("本人为当事人"), "{r}");
    let auditor = app.login("auditor").await;
    let trail = app
        .send(Method::GET, &format!("/api/v1/audit?action=request.create&object=request:{rid}"), Some(&auditor), None)
        .await
        .json();
    assert!(trail["items"][0]["detail"].as_str().unwrap_or_default().contains("升级至 leader:1"), "{trail}");
}

#[tokio::test]
async fn a_step_nobody_may_decide_is_flagged_and_reported_never_silent() {
    let app = demo_app().await;
    let hr = app.login("hr").await;
    let it = app.login("it").await;
    let leader2 = app.archive.accounts().users().unwrap().into_iter().find(|u| u.username == "leader2").unwrap().id;
    let off =
        app.send(Method::PATCH, &format!("/api/v1/users/{leader2}"), Some(&it), Some(json!({"disabled": true}))).await;
    assert_eq!(off.status, StatusCode::OK, "{}", String::from_utf8_lossy(&off.body));
    let p = cadre(&app, &hr, "sales").await;
    app.conclude_review(p["id"].as_str().unwrap()).await;
    let (_, r) =
        request(&app, &hr, json!({"kind": "promotion", "person_id": p["id"], "changes": {"rank": "四级职员"}})).await;
    let rid = r["id"].as_str().unwrap().to_string();
    let r = walk(&app, &rid, &["head-sales", "leader1"]).await;
    assert_eq!(r["state"], "in_approval");
    let last = r["steps"].as_array().unwrap().last().unwrap().clone();
    assert_eq!((last["state"].as_str(), last["stuck"].as_bool()), (Some("pending"), Some(true)), "{r}");
    assert!(last["stuck_reason"].as_str().unwrap().contains("leader:2"), "{last}");

    // The security administrator and the initiator are told, and the security administrator sees the request.
    for who in ["secadmin", "hr"] {
        let t = app.login(who).await;
        let n = app.send(Method::GET, "/api/v1/notifications", Some(&t), None).await.json();
        assert!(
            n["items"]
                .as_array()
                .unwrap()
                .iter()
                .any(|n| n["request_id"] == rid.as_str() && n["event"] == "request.step_stuck"),
            "{who}: {n}"
        );
    }
    let sec = app.login("secadmin").await;
    assert_eq!(
        app.send(Method::GET, &format!("/api/v1/requests/{rid}"), Some(&sec), None).await.status,
        StatusCode::OK
    );

    // Once someone may decide it again, it is decided as usual.
    let on =
        app.send(Method::PATCH, &format!("/api/v1/users/{leader2}"), Some(&it), Some(json!({"disabled": false}))).await;
    assert_eq!(on.status, StatusCode::OK);
    let (status, r) = decide(&app, "leader2", &rid, "approve").await;
    assert_eq!((status, r["state"].as_str()), (StatusCode::OK, Some("applied")), "{r}");
    assert_eq!(r["steps"].as_array().unwrap().last().unwrap()["stuck"], false);
}

#[tokio::test]
async fn requests_follow_the_rules_of_the_dossier_they_are_about() {
    let app = demo_app().await;
    let hr = app.login("hr").await;
    let x = cadre(&app, &hr, "ops").await;
    let xid = x["id"].as_str().unwrap().to_string();
    account(&app, "hr2", vec![dangan::model::Role::Hr], "hr", Some(&xid)).await;
    app.conclude_review(&xid).await;
    let (status, r) = request(
        &app,
        &hr,
        json!({"kind": "promotion", "person_id": xid, "changes": {"position": "业务运营部主管", "salary_grade": "29", "contract_change": "岗位变更补充协议"}}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{r}");
    let rid = r["id"].as_str().unwrap().to_string();

    // The person it is about (an HR officer too) does not see it anywhere.
    let hr2 = app.login("hr2").await;
    let got = app.send(Method::GET, &format!("/api/v1/requests/{rid}"), Some(&hr2), None).await;
    assert_eq!(got.status, StatusCode::NOT_FOUND);
    for path in
        ["/api/v1/requests", &format!("/api/v1/requests?person={xid}"), "/api/v1/inbox", "/api/v1/notifications"]
    {
        let list = app.send(Method::GET, path, Some(&hr2), None).await.json();
        assert!(
            !list["items"]
                .as_array()
                .unwrap()
                .iter()
                .any(|i| i["id"] == rid.as_str() || i["request_id"] == rid.as_str()),
            "{path}"
        );
    }
    // Another HR officer sees all of it.
    let all = app.send(Method::GET, &format!("/api/v1/requests/{rid}"), Some(&hr), None).await.json();
    assert_eq!(all["changes"]["contract_change"], "岗位变更补充协议");

    // Reviewers see of the change what they may see of the person.
    walk(&app, &rid, &["head-ops"]).await;
    let fin = app.login("finance").await;
    let seen = app.send(Method::GET, &format!("/api/v1/requests/{rid}"), Some(&fin), None).await;
    assert_eq!(seen.status, StatusCode::OK);
    let seen = seen.json();
    assert_eq!(seen["changes"]["salary_grade"], "29");
    assert_eq!(seen["changes"]["position"], "业务运营部主管");
    assert!(seen["changes"].get("contract_change").is_none(), "{seen}");
    assert_eq!(seen["hidden"], json!(["contract_change"]));
    let listed = app.send(Method::GET, "/api/v1/requests", Some(&fin), None).await.json();
    let mine = listed["items"].as_array().unwrap().iter().find(|i| i["id"] == rid.as_str()).unwrap().clone();
    assert!(mine["changes"].get("contract_change").is_none());
    let legal = app.login("legal").await;
    let seen = app.send(Method::GET, &format!("/api/v1/requests/{rid}"), Some(&legal), None).await.json();
    assert_eq!(seen["changes"]["contract_change"], "岗位变更补充协议");
    assert!(seen["changes"].get("salary_grade").is_none(), "{seen}");
    // A decision's answer is redacted the same way.
    let (_, r) = decide(&app, "finance", &rid, "approve").await;
    assert!(r["changes"].get("contract_change").is_none(), "{r}");

    // Reading requests is in the audit trail: the reads, the refusal, the lists.
    let auditor = app.login("auditor").await;
    let trail =
        app.send(Method::GET, "/api/v1/audit?action=request.read&limit=1000", Some(&auditor), None).await.json();
    let items = trail["items"].as_array().unwrap();
    let has = |actor: &str, object: &str, outcome: &str| {
        items.iter().any(|e| e["actor"] == actor && e["object"] == object && e["outcome"] == outcome)
    };
    assert!(has("finance", &format!("request:{rid}"), "allowed"), "{trail}");
    assert!(has("hr2", &format!("request:{rid}"), "denied"));
    assert!(
        has("hr2", "requests", "allowed") && has("hr2", "inbox", "allowed") && has("hr2", "notifications", "allowed")
    );
}

/// 借调, the kind added as one enum variant, its rule and its flow: filed by API, routed to the home head, the
/// host head and leader 1, and recorded on the person (home department and post kept); an end before the start
/// is a 422 naming `until`; its initiator cannot approve it; the web form offers it with its fields.
#[tokio::test]
async fn a_secondment_is_routed_like_a_transfer_and_recorded_on_the_person() {
    let app = demo_app().await;
    let hr = app.login("hr").await;
    let p = cadre(&app, &hr, "ops").await;
    let pid = p["id"].as_str().unwrap().to_string();

    let backwards = json!({"department": "sales", "position": "项目经理", "from": "2027-06-01", "until": "2027-01-01"});
    let (status, r) = request(
        &app,
        &hr,
        json!({"kind": "secondment", "person_id": pid, "changes": backwards, "reason": "支援重点项目"}),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{r}");
    assert_eq!(r["findings"][0]["field"], "until", "{r}");
    let home = json!({"department": "ops", "from": "2027-01-01", "until": "2027-06-30"});
    let (status, r) = request(&app, &hr, json!({"kind": "secondment", "person_id": pid, "changes": home})).await;
    assert_eq!((status, r["findings"][0]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("department")));
    let (status, r) = request(&app, &hr, json!({"kind": "loan", "person_id": pid, "changes": {}})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "an unknown kind: {r}");
    assert!(r["detail"].as_str().unwrap_or_default().contains("secondment"), "the known kinds are named: {r}");
    let stray = json!({"department": "sales", "from": "2027-01-01", "until": "2027-06-30", "salary_grade": "30"});
    let (status, _) = request(&app, &hr, json!({"kind": "secondment", "person_id": pid, "changes": stray})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "a secondment takes its own fields only");

    let changes = json!({
        "department": "sales", "position": "项目经理", "from": "2027-01-01", "until": "2027-06-30", "reason": "支援重点项目"
    });
    let (status, r) =
        request(&app, &hr, json!({"kind": "secondment", "person_id": pid, "changes": changes, "reason": "工作需要"}))
            .await;
    assert_eq!(status, StatusCode::CREATED, "{r}");
    assert_eq!(r["kind"], "secondment");
    let steps: Vec<&str> = r["steps"].as_array().unwrap().iter().map(|s| s["name"].as_str().unwrap()).collect();
    assert_eq!(steps, ["home-head-review", "host-head-confirm", "leader-1"]);
    let rid = r["id"].as_str().unwrap().to_string();
    assert_eq!(decide(&app, "hr", &rid, "approve").await.0, StatusCode::FORBIDDEN, "nobody approves their own");
    assert_eq!(
        decide(&app, "head-sales", &rid, "approve").await.0,
        StatusCode::FORBIDDEN,
        "the host head confirms after the home head"
    );
    let r = walk(&app, &rid, &["head-ops", "head-sales", "leader1"]).await;
    assert_eq!(r["state"], "applied", "{r}");
    let after = person(&app, &hr, &pid).await;
    assert_eq!((after["department"].as_str(), after["position"].as_str()), (Some("ops"), p["position"].as_str()));
    let s = &after["secondments"][0];
    assert_eq!(
        (s["department"].as_str(), s["position"].as_str(), s["from"].as_str(), s["until"].as_str()),
        (Some("sales"), Some("项目经理"), Some("2027-01-01"), Some("2027-06-30"))
    );
    assert_eq!(after["version"].as_u64(), p["version"].as_u64().map(|v| v + 1));
    let kinds = app.send(Method::GET, "/api/v1/openapi.json", None, None).await.json();
    assert!(kinds["components"]["schemas"]["RequestKind"]["enum"].as_array().unwrap().contains(&json!("secondment")));
}

#[tokio::test]
async fn finance_starts_salary_adjustments_and_legal_contract_changes_and_nothing_else() {
    let app = demo_app().await;
    let hr = app.login("hr").await;
    let pid = cadre(&app, &hr, "research").await["id"].as_str().unwrap().to_string();
    let finance = app.login("finance").await;
    let legal = app.login("legal").await;
    // A salary adjustment (update of the salary grade only) by finance is filed and routed.
    let (status, r) =
        request(&app, &finance, json!({"kind": "update", "person_id": pid, "changes": {"salary_grade": "31"}})).await;
    assert_eq!(status, StatusCode::CREATED, "{r}");
    assert_ne!(r["state"], "applied", "a salary change is reviewed, never the fast path: {r}");
    // Anything beyond its scope is refused, naming the rule.
    for (token, changes) in [
        (&finance, json!({"salary_grade": "32", "position": "部长"})),
        (&finance, json!({"phone": "13900000009"})),
        (&legal, json!({"salary_grade": "33"})),
    ] {
        let (status, r) = request(&app, token, json!({"kind": "update", "person_id": pid, "changes": changes})).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{changes}: {r}");
        assert!(r["detail"].as_str().unwrap().contains("workflow.start"), "{r}");
    }
    let (status, r) =
        request(&app, &finance, json!({"kind": "promotion", "person_id": pid, "changes": {"salary_grade": "34"}}))
            .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{r}");
    // Legal starts a contract change.
    let contracts = json!([{"kind": "劳动合同", "from": "2024-01-01"}]);
    let (status, r) =
        request(&app, &legal, json!({"kind": "update", "person_id": pid, "changes": {"contracts": contracts}})).await;
    assert_eq!(status, StatusCode::CREATED, "{r}");
    assert_ne!(r["state"], "applied", "{r}");
}
