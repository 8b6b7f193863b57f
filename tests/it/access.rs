//! Access control through the API with the demo accounts: department scopes, hard rules, separation of
//! duties, consultation grants, the audit trail and its verification.

use crate::common::*;
use axum::http::{Method, StatusCode};
use serde_json::{Value, json};

fn in_a_month() -> String {
    (time::OffsetDateTime::now_utc().date() + time::Duration::days(30)).to_string()
}

async fn get(app: &TestApp, token: &str, path: &str) -> (StatusCode, Value) {
    let a = app.send(Method::GET, path, Some(token), None).await;
    let v = serde_json::from_slice(&a.body).unwrap_or(Value::Null);
    (a.status, v)
}

#[tokio::test]
async fn departments_see_what_their_job_needs_and_no_more() {
    let app = demo_app().await;
    let hr = app.login("hr").await;
    // A cadre of ops (not linked to any account) gets a contract and a salary record.
    let person = cadre(&app, &hr, "ops").await;
    let pid = person["id"].as_str().unwrap().to_string();
    let contract = app
        .upload(
            &hr,
            &pid,
            json!({"category": "10", "title": "劳动合同书", "tags": ["contract"]}),
            "c.docx",
            &fixture("contract.docx"),
        )
        .await
        .json();
    let salary = app
        .upload(
            &hr,
            &pid,
            json!({"category": "9-1", "title": "工资调整审批表", "tags": ["salary"]}),
            "s.txt",
            &fixture("salary.txt"),
        )
        .await
        .json();
    let contract_word = "劳动合同专属条款丙";
    let salary_word = "薪酬调整专用语丁";

    let finance = app.login("finance").await;
    let legal = app.login("legal").await;
    let s = app.search(&finance, contract_word).await;
    assert_eq!((s["total"].as_u64(), s["hits"].as_array().map(Vec::len)), (Some(0), Some(0)), "finance: {s}");
    // (The demo files the same contract and salary record for a few cadres, so there is more than one.)
    let s = app.search(&legal, contract_word).await;
    assert!(s["total"].as_u64().unwrap() >= 1, "legal: {s}");
    assert!(s["hits"].as_array().unwrap().iter().any(|h| h["material_id"] == contract["id"]));
    let s = app.search(&finance, salary_word).await;
    assert!(s["total"].as_u64().unwrap() >= 1, "finance: {s}");
    assert!(s["hits"].as_array().unwrap().iter().any(|h| h["material_id"] == salary["id"]));
    let s = app.search(&legal, salary_word).await;
    assert_eq!(s["total"], 0, "legal: {s}");

    let cid = contract["id"].as_str().unwrap();
    let sid = salary["id"].as_str().unwrap();
    assert_eq!(get(&app, &legal, &format!("/api/v1/materials/{cid}/content")).await.0, StatusCode::OK);
    assert_eq!(get(&app, &finance, &format!("/api/v1/materials/{cid}/content")).await.0, StatusCode::NOT_FOUND);
    assert_eq!(get(&app, &finance, &format!("/api/v1/materials/{sid}/content")).await.0, StatusCode::OK);
    // Finance's catalogue of the dossier holds salary records only.
    let (_, cat) = get(&app, &finance, &format!("/api/v1/persons/{pid}/materials")).await;
    assert!(
        cat["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|m| m["category"] == "9-1" || m["tags"].as_array().unwrap().contains(&json!("salary")))
    );

    // Administration sees the catalogue but never content; IT sees neither.
    let admin = app.login("admin").await;
    let (status, cat) = get(&app, &admin, &format!("/api/v1/persons/{pid}/materials")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(cat["total"].as_u64().unwrap() >= 2);
    let (status, body) = get(&app, &admin, &format!("/api/v1/materials/{cid}/content")).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(body["detail"].as_str().unwrap().contains("rule"));
    assert_eq!(
        get(&app, &admin, &format!("/api/v1/search?q={}", crate::http_api::urlencode("劳动合同"))).await.0,
        StatusCode::FORBIDDEN
    );
    let it = app.login("it").await;
    for path in [
        format!("/api/v1/persons/{pid}"),
        format!("/api/v1/persons/{pid}/materials"),
        format!("/api/v1/materials/{cid}/content"),
    ] {
        let (status, _) = get(&app, &it, &path).await;
        assert!(status == StatusCode::FORBIDDEN || status == StatusCode::NOT_FOUND, "it {path}: {status}");
    }
    assert_eq!(get(&app, &it, "/api/v1/audit").await.0, StatusCode::FORBIDDEN);

    // Heads see their own department only.
    let head_ops = app.login("head-ops").await;
    assert_eq!(get(&app, &head_ops, &format!("/api/v1/persons/{pid}")).await.0, StatusCode::OK);
    let head_sales = app.login("head-sales").await;
    let (status, body) = get(&app, &head_sales, &format!("/api/v1/persons/{pid}")).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(body["detail"].as_str().unwrap().contains("own-department"));

    // Nobody opens their own dossier, HR included.
    let own = app.archive.accounts().user_by_name("hr").unwrap().unwrap().person_id.unwrap();
    let (status, body) = get(&app, &hr, &format!("/api/v1/persons/{own}")).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(body["detail"].as_str().unwrap().contains("own-dossier"));
    assert_eq!(get(&app, &hr, &format!("/api/v1/persons/{own}/materials")).await.0, StatusCode::FORBIDDEN);
    let everything = app.send(Method::GET, "/api/v1/search?limit=100", Some(&hr), None).await.json();
    assert!(everything["hits"].as_array().unwrap().iter().all(|h| h["person_id"] != own.to_string().as_str()));

    // The permission review explains it.
    let sec = app.login("secadmin").await;
    let (status, d) = get(&app, &sec, &format!("/api/v1/access/explain?user=finance&material={cid}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(d["allowed"], false);
    let (_, d) = get(&app, &sec, &format!("/api/v1/access/explain?user=legal&material={cid}")).await;
    assert_eq!((d["allowed"].as_bool(), d["rule"].as_str()), (Some(true), Some("role.legal.read")));
    let (status, review) = get(&app, &sec, "/api/v1/access/review").await;
    assert_eq!(status, StatusCode::OK);
    assert!(review["total"].as_u64().unwrap() >= 17);
    assert_eq!(get(&app, &sec, &format!("/api/v1/materials/{cid}/content")).await.0, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn consultation_grants_open_a_dossier_for_a_period_and_every_read_names_them() {
    let app = demo_app().await;
    let hr = app.login("hr").await;
    let persons = app.send(Method::GET, "/api/v1/persons?department=research", Some(&hr), None).await.json();
    let pid = persons["items"][1]["id"].as_str().unwrap().to_string();
    let m = app
        .upload(&hr, &pid, json!({"category": "4-1", "title": "学位证书"}), "d.txt", "学位证书 工学学士".as_bytes())
        .await
        .json();
    let mid = m["id"].as_str().unwrap();

    let legal = app.login("legal").await;
    assert_eq!(get(&app, &legal, &format!("/api/v1/materials/{mid}/content")).await.0, StatusCode::NOT_FOUND);
    let req = app
        .send(
            Method::POST,
            "/api/v1/grants",
            Some(&legal),
            Some(json!({"person_id": pid, "purpose": "核查学历真实性", "until": in_a_month(),
                "unit": "法务部", "readers": ["legal", "finance"], "permissions": ["view", "download"]})),
        )
        .await;
    assert_eq!(req.status, StatusCode::CREATED, "{}", String::from_utf8_lossy(&req.body));
    let gid = req.json()["id"].as_str().unwrap().to_string();
    let letter = axum::http::Request::builder()
        .method(Method::PUT)
        .uri(format!("/api/v1/grants/{gid}/letter"))
        .header("authorization", format!("Bearer {legal}"))
        .body(axum::body::Body::from(b"%PDF-1.4\n%%EOF\n".to_vec()))
        .unwrap();
    assert_eq!(app.call(letter).await.status, StatusCode::OK);
    // Not in force until decided; the requester cannot decide, nor the security administrator (三员分立); the
    // leader with 干部管理权限 does.
    assert_eq!(get(&app, &legal, &format!("/api/v1/materials/{mid}/content")).await.0, StatusCode::NOT_FOUND);
    let own = app
        .send(
            Method::POST,
            &format!("/api/v1/grants/{gid}/decision"),
            Some(&legal),
            Some(json!({"decision": "approve"})),
        )
        .await;
    assert_eq!(own.status, StatusCode::FORBIDDEN);
    let sec = app.login("secadmin").await;
    let refused = app
        .send(Method::POST, &format!("/api/v1/grants/{gid}/decision"), Some(&sec), Some(json!({"decision": "approve"})))
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    let leader = app.login("leader1").await;
    let ok = app
        .send(
            Method::POST,
            &format!("/api/v1/grants/{gid}/decision"),
            Some(&leader),
            Some(json!({"decision": "approve", "comment": "同意"})),
        )
        .await;
    assert_eq!(ok.status, StatusCode::OK, "{}", String::from_utf8_lossy(&ok.body));
    let again = app
        .send(
            Method::POST,
            &format!("/api/v1/grants/{gid}/decision"),
            Some(&leader),
            Some(json!({"decision": "approve"})),
        )
        .await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    let (status, _) = get(&app, &legal, &format!("/api/v1/materials/{mid}/content")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(app.search(&legal, "工学学士").await["total"], 1, "a grant opens search too");

    // The read names the grant in the audit trail.
    let auditor = app.login("auditor").await;
    let (status, trail) =
        get(&app, &auditor, &format!("/api/v1/audit?action=material.download&object=material:{mid}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(trail["items"][0]["actor"], "legal");
    assert_eq!(trail["items"][0]["detail"], format!("grant:{gid}"));

    // Revoked: closed again.
    let rev = app.send(Method::POST, &format!("/api/v1/grants/{gid}/revoke"), Some(&sec), None).await;
    assert_eq!(rev.status, StatusCode::OK);
    assert_eq!(get(&app, &legal, &format!("/api/v1/materials/{mid}/content")).await.0, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_audit_trail_records_reads_searches_denials_and_logins_and_exports_csv() {
    let app = demo_app().await;
    let _ = app
        .send(
            Method::POST,
            "/api/v1/auth/login",
            None,
            Some(json!({"username": "finance", "password": "wrong-password"})),
        )
        .await;
    let hr = app.login("hr").await;
    let _ = app.search(&hr, "晋升").await;
    let it = app.login("it").await;
    let _ = get(&app, &it, "/api/v1/search?q=x").await;
    let auditor = app.login("auditor").await;
    let (status, trail) = get(&app, &auditor, "/api/v1/audit?limit=1000").await;
    assert_eq!(status, StatusCode::OK, "{trail}");
    let items = trail["items"].as_array().unwrap();
    let has = |action: &str, actor: &str, outcome: &str| {
        items.iter().any(|e| e["action"] == action && e["actor"] == actor && e["outcome"] == outcome)
    };
    assert!(has("auth.login", "finance", "denied"));
    assert!(has("auth.login", "hr", "allowed"));
    assert!(has("search", "hr", "allowed"));
    assert!(has("search", "it", "denied"));
    assert!(items.iter().any(|e| e["action"] == "search" && e["detail"].as_str().unwrap_or("").contains("晋升")));
    assert!(has("person.create", "demo-loader", "allowed"));
    let csv = app.send(Method::GET, "/api/v1/audit?format=csv&actor=hr", Some(&auditor), None).await;
    assert_eq!(csv.status, StatusCode::OK);
    assert!(csv.header("content-type").starts_with("text/csv"));
    let text = String::from_utf8(csv.body).unwrap();
    assert!(text.starts_with("seq,at,actor"));
    assert!(text.lines().count() > 2);
    let (status, v) = get(&app, &auditor, "/api/v1/audit/verify").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(v["ok"], true, "{v}");
    // Only the auditor reads the trail.
    for who in ["hr", "it"] {
        let t = app.login(who).await;
        assert_eq!(get(&app, &t, "/api/v1/audit").await.0, StatusCode::FORBIDDEN, "{who}");
        assert_eq!(get(&app, &t, "/api/v1/audit/verify").await.0, StatusCode::FORBIDDEN, "{who}");
    }
}

#[tokio::test]
async fn accounts_roles_and_sessions() {
    let app = TestApp::new().await;
    app.add_account("secadmin", vec![dangan::model::Role::Secadmin], None, None, None).await;
    let it = app.login("it").await;
    let sec = app.login("secadmin").await;
    let hr = app.login("hr").await;
    let bad = app
        .send(
            Method::POST,
            "/api/v1/users",
            Some(&it),
            Some(json!({"username": "x", "password": "long-enough-1", "roles": ["auditor", "it"]})),
        )
        .await;
    assert_eq!(bad.status, StatusCode::FORBIDDEN);
    let holder = app.create_person(&hr, person_body("郑小川", &id_number("11010519800909005"), "hr")).await;
    let made = app
        .send(
            Method::POST,
            "/api/v1/users",
            Some(&it),
            Some(json!({"username": "clerk", "password": "first-temp-pass1", "person_id": holder["id"]})),
        )
        .await;
    assert_eq!(made.status, StatusCode::CREATED, "{}", String::from_utf8_lossy(&made.body));
    let uid = made.json()["id"].as_str().unwrap().to_string();
    let login = |password: &'static str| {
        app.send(Method::POST, "/api/v1/auth/login", None, Some(json!({"username": "clerk", "password": password})))
    };
    let clerk = login("first-temp-pass1").await.json()["token"].as_str().unwrap().to_string();
    let changed = app
        .send(
            Method::POST,
            "/api/v1/me/password",
            Some(&clerk),
            Some(json!({"current": "first-temp-pass1", "new": "my-own-secret-77"})),
        )
        .await;
    assert_eq!(changed.status, StatusCode::NO_CONTENT);
    assert_eq!(get(&app, &clerk, "/api/v1/me").await.1["roles"], json!([]));
    // A role change (by the security administrator) ends the account's sessions.
    let ch = app.send(Method::PATCH, &format!("/api/v1/users/{uid}"), Some(&sec), Some(json!({"roles": ["hr"]}))).await;
    assert_eq!(ch.status, StatusCode::OK, "{}", String::from_utf8_lossy(&ch.body));
    assert_eq!(get(&app, &clerk, "/api/v1/me").await.0, StatusCode::UNAUTHORIZED);
    let clerk = login("my-own-secret-77").await.json()["token"].as_str().unwrap().to_string();
    assert_eq!(get(&app, &clerk, "/api/v1/persons").await.0, StatusCode::OK);
    let dis =
        app.send(Method::PATCH, &format!("/api/v1/users/{uid}"), Some(&it), Some(json!({"disabled": true}))).await;
    assert_eq!(dis.status, StatusCode::OK);
    assert_eq!(get(&app, &clerk, "/api/v1/me").await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(
        app.send(Method::POST, "/api/v1/users", Some(&hr), Some(json!({"username": "y", "password": "long-enough-1"})))
            .await
            .status,
        StatusCode::FORBIDDEN
    );
}

#[tokio::test]
async fn a_scanning_operator_files_into_its_batch_and_sees_only_its_own_filings() {
    let app = demo_app().await;
    let scanner = app.login("scanner").await;
    let (status, batches) = get(&app, &scanner, "/api/v1/batches").await;
    assert_eq!(status, StatusCode::OK);
    // The demo's batch still being scanned (the other waits in 抽检).
    assert_eq!(batches["total"], 2);
    let open = batches["items"].as_array().unwrap().iter().find(|b| b["state"] == "scanning").unwrap().clone();
    let batch = open["id"].as_str().unwrap().to_string();
    let in_batch = open["person_ids"][0].as_str().unwrap().to_string();

    let file = |person: String| {
        let meta = json!({"person_id": person, "category": "9-2", "title": "干部任免审批表（扫描件）", "formed_on": "2015-03"});
        let (ct, body) = multipart(&meta.to_string(), "scan.png", &fixture("scan-form.png"));
        axum::http::Request::builder()
            .method(Method::POST)
            .uri(format!("/api/v1/batches/{batch}/materials"))
            .header("authorization", format!("Bearer {scanner}"))
            .header("content-type", ct)
            .body(axum::body::Body::from(body))
            .unwrap()
    };
    let filed = app.call(file(in_batch.clone())).await;
    assert_eq!(filed.status, StatusCode::CREATED, "{}", String::from_utf8_lossy(&filed.body));
    let mid = filed.json()["id"].as_str().unwrap().to_string();

    // A dossier outside the batch is refused.
    let hr = app.login("hr").await;
    let outside = app.send(Method::GET, "/api/v1/persons?department=sales", Some(&hr), None).await.json();
    let outside = outside["items"][0]["id"].as_str().unwrap().to_string();
    assert_eq!(app.call(file(outside)).await.status, StatusCode::FORBIDDEN);

    // The operator sees what they filed in the batch — and nothing else: no dossier, no content, no search.
    let (_, mine) = get(&app, &scanner, &format!("/api/v1/batches/{batch}/materials")).await;
    assert_eq!(mine["total"], 1);
    assert_eq!(mine["items"][0]["id"], mid.as_str());
    assert_eq!(get(&app, &scanner, &format!("/api/v1/materials/{mid}/content")).await.0, StatusCode::NOT_FOUND);
    assert_eq!(get(&app, &scanner, &format!("/api/v1/persons/{in_batch}")).await.0, StatusCode::FORBIDDEN);
    assert_eq!(get(&app, &scanner, &format!("/api/v1/persons/{in_batch}/materials")).await.0, StatusCode::FORBIDDEN);
    assert_eq!(get(&app, &scanner, "/api/v1/search?q=x").await.0, StatusCode::FORBIDDEN);
    // HR finds the scan in the dossier.
    let (_, cat) = get(&app, &hr, &format!("/api/v1/persons/{in_batch}/materials")).await;
    assert!(cat["items"].as_array().unwrap().iter().any(|m| m["id"] == mid.as_str()));
}

#[tokio::test]
async fn only_the_security_administrator_sets_a_clearance_and_above_it_a_material_is_not_there() {
    let owned = TestApp::new().await;
    let app = &owned;
    app.add_account("secadmin", vec![dangan::model::Role::Secadmin], None, None, None).await;
    app.add_account("auditor", vec![dangan::model::Role::Auditor], None, None, None).await;
    let it = app.login("it").await;
    let sec = app.login("secadmin").await;
    let uid = |name: &str| app.archive.accounts().user_by_name(name).unwrap().unwrap().id.to_string();
    let patch = |token: String, user: String, body: Value| async move {
        app.send(Method::PATCH, &format!("/api/v1/users/{user}"), Some(&token), Some(body)).await
    };
    // The system administrator may not set a clearance; nobody sets their own; 0–3 only.
    let by_it = patch(it.clone(), uid("hr"), json!({"clearance": 3})).await;
    assert_eq!(by_it.status, StatusCode::FORBIDDEN);
    assert!(String::from_utf8_lossy(&by_it.body).contains("sod.roles-by-secadmin"));
    assert_eq!(patch(sec.clone(), uid("secadmin"), json!({"clearance": 3})).await.status, StatusCode::FORBIDDEN);
    assert_eq!(patch(sec.clone(), uid("hr"), json!({"clearance": 4})).await.status, StatusCode::UNPROCESSABLE_ENTITY);
    // Without a clearance HR is cleared for public and internal material only: it cannot file a secret one.
    let hr = app.login("hr").await;
    let person = app.create_person(&hr, person_body("王保密", &id_number("11010519800909005"), "ops")).await;
    let pid = person["id"].as_str().unwrap();
    let secret = json!({"category": "9-1", "title": "秘密工资材料", "secrecy": 2});
    assert_eq!(
        app.upload(&hr, pid, secret.clone(), "a.txt", "保密正文".as_bytes()).await.status,
        StatusCode::FORBIDDEN
    );
    // The security administrator clears HR for 秘密.
    let set = patch(sec.clone(), uid("hr"), json!({"clearance": 2})).await;
    assert_eq!(set.status, StatusCode::OK, "{}", String::from_utf8_lossy(&set.body));
    let hr = app.login("hr").await;
    let up = app.upload(&hr, pid, secret, "a.txt", "保密正文".as_bytes()).await;
    assert_eq!(up.status, StatusCode::CREATED, "{}", String::from_utf8_lossy(&up.body));
    let mid = up.json()["id"].as_str().unwrap().to_string();
    text_settled(app, &hr, &mid).await;
    assert_eq!(get(app, &hr, &format!("/api/v1/materials/{mid}")).await.0, StatusCode::OK);
    assert_eq!(app.search(&hr, "保密正文").await["total"], 1);
    // The permission review shows each account's clearance.
    let (status, review) = get(app, &sec, "/api/v1/access/review").await;
    assert_eq!(status, StatusCode::OK, "{review}");
    let row = |name: &str| review["items"].as_array().unwrap().iter().find(|a| a["username"] == name).unwrap().clone();
    assert_eq!((row("hr")["clearance"].clone(), row("hr")["clearance_set"].clone()), (json!(2), json!(true)));
    assert_eq!(
        (row("finance")["clearance"].clone(), row("finance")["clearance_set"].clone()),
        (json!(1), json!(false))
    );
    // Lowered to internal, HR no longer finds, lists or reads it: 404 as if it were not there.
    assert_eq!(patch(sec.clone(), uid("hr"), json!({"clearance": 1})).await.status, StatusCode::OK);
    let hr = app.login("hr").await;
    assert_eq!(get(app, &hr, &format!("/api/v1/materials/{mid}")).await.0, StatusCode::NOT_FOUND);
    assert_eq!(get(app, &hr, &format!("/api/v1/materials/{mid}/content")).await.0, StatusCode::NOT_FOUND);
    assert_eq!(app.search(&hr, "保密正文").await["total"], 0);
    let (_, listed) = get(app, &hr, &format!("/api/v1/persons/{pid}/materials")).await;
    assert!(!listed.to_string().contains(&mid), "{listed}");
    // Every change and refusal is in the trail.
    let auditor = app.login("auditor").await;
    let (_, trail) = get(app, &auditor, "/api/v1/audit?action=user.update&limit=100").await;
    let items = trail["items"].as_array().unwrap();
    assert!(items.iter().any(|e| e["actor"] == "it" && e["outcome"] == "denied"), "{trail}");
    assert!(
        items.iter().any(|e| e["actor"] == "secadmin"
            && e["outcome"] == "allowed"
            && e["detail"].as_str().unwrap_or("").contains("clearance 2 (changed)")),
        "{trail}"
    );
    let (_, reads) = get(app, &auditor, &format!("/api/v1/audit?object=material:{mid}&limit=100")).await;
    assert!(
        reads["items"].as_array().unwrap().iter().any(|e| e["actor"] == "hr" && e["outcome"] == "denied"),
        "{reads}"
    );
}
