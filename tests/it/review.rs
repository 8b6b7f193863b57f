//! 专项审核 through the API (docs/DOMAIN.md §4): a promotion waits for a concluded review (凡提必审); the review is
//! recorded as versions under If-Match, submitted into its flow (初审 → 复审 → 认定 → 组织审批), concluded; the fields
//! it determined then change only with a 组织说明; 专审进度 counts it; insiders read and record nothing they may not.

use crate::common::*;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use serde_json::{Value, json};

async fn put_review(app: &TestApp, token: &str, person: &str, if_match: Option<&str>, body: Value) -> Answer {
    let mut b = Request::builder()
        .method(Method::PUT)
        .uri(format!("/api/v1/persons/{person}/review"))
        .header("authorization", format!("Bearer {token}"))
        .header("content-type", "application/json");
    if let Some(v) = if_match {
        b = b.header("if-match", v);
    }
    app.call(b.body(Body::from(body.to_string())).unwrap()).await
}

async fn material(app: &TestApp, token: &str, person: &str, category: &str, title: &str) -> String {
    let a = app.upload(token, person, json!({"category": category, "title": title}), "m.txt", title.as_bytes()).await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", String::from_utf8_lossy(&a.body));
    a.json()["id"].as_str().unwrap().to_string()
}

async fn start(app: &TestApp, token: &str, body: Value) -> Answer {
    app.send(Method::POST, "/api/v1/requests", Some(token), Some(body)).await
}

#[tokio::test]
async fn a_promotion_waits_for_a_special_review_that_runs_its_flow_and_then_guards_what_it_determined() {
    let app = demo_app().await;
    let hr = app.login("hr").await;
    let cadre = cadre(&app, &hr, "ops").await;
    let pid = cadre["id"].as_str().unwrap().to_string();
    let promotion = json!({"kind": "promotion", "person_id": pid, "reason": "考核优秀", "changes": {"position": "业务运营部副部长"}});

    // 凡提必审: refused with the reason.
    let a = start(&app, &hr, promotion.clone()).await;
    assert_eq!(a.status, StatusCode::CONFLICT, "{}", String::from_utf8_lossy(&a.body));
    assert!(a.json()["detail"].as_str().unwrap().contains("review.required"));
    let none = app.send(Method::GET, &format!("/api/v1/persons/{pid}/review"), Some(&hr), None).await;
    assert_eq!((none.status, none.json()["state"].clone()), (StatusCode::OK, json!("none")));

    let resume = material(&app, &hr, &pid, "1", "干部履历表（1998年）").await;
    let diploma = material(&app, &hr, &pid, "4-1", "毕业证书").await;
    let birth = cadre["birth_date"].as_str().unwrap().to_string();
    let work = cadre["work_start"].as_str().unwrap().to_string();
    let mut entries = vec![
        json!({"item": "birth_date", "found": [{"material_id": resume, "value": birth}], "determined": birth, "evidence": [resume]}),
        json!({"item": "work_start", "determined": work, "evidence": [resume], "basis": "以最早的履历表为准"}),
        json!({"item": "education", "problems": [{"kind": "altered", "note": "毕业时间处有涂改", "material_id": diploma}]}),
    ];
    if let Some(party) = cadre["party_join"].as_str() {
        entries.push(json!({"item": "party_join", "determined": party, "evidence": [resume]}));
    }
    let a = put_review(&app, &hr, &pid, None, json!({"entries": entries})).await;
    assert_eq!(a.status, StatusCode::OK, "{}", String::from_utf8_lossy(&a.body));
    assert_eq!((a.json()["state"].clone(), a.header("etag")), (json!("draft"), "\"1\"".to_string()));
    assert_eq!(a.json()["problems"]["altered"], 1);
    // Concurrency: a second recording names the version it read.
    let body = json!({"entries": entries});
    assert_eq!(put_review(&app, &hr, &pid, None, body.clone()).await.status, StatusCode::PRECONDITION_REQUIRED);
    assert_eq!(put_review(&app, &hr, &pid, Some("\"7\""), body).await.status, StatusCode::PRECONDITION_FAILED);
    // Evidence from another dossier, a date that is no date, an unknown item: 422 / 400, nothing stored.
    let other = cadre_other(&app, &hr, &pid).await;
    let foreign = material(&app, &hr, &other, "1", "别人的履历表").await;
    let bad = json!({"entries": [{"item": "birth_date", "determined": birth, "evidence": [foreign]}]});
    assert_eq!(put_review(&app, &hr, &pid, Some("1"), bad).await.status, StatusCode::UNPROCESSABLE_ENTITY);
    let bad = json!({"entries": [{"item": "birth_date", "determined": "八十年代", "evidence": [resume]}]});
    assert_eq!(put_review(&app, &hr, &pid, Some("1"), bad).await.status, StatusCode::UNPROCESSABLE_ENTITY);
    let bad = json!({"entries": [{"item": "salary", "determined": "1"}]});
    assert!(put_review(&app, &hr, &pid, Some("1"), bad).await.status.is_client_error());

    // Submission needs every reviewed item determined (学历学位 is not yet).
    let submit = json!({"kind": "special_review", "person_id": pid, "changes": {"birth_date": "1900-01-01"}});
    let a = start(&app, &hr, submit.clone()).await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", String::from_utf8_lossy(&a.body));
    entries[2]["determined"] = json!("大学本科");
    entries[2]["evidence"] = json!([diploma]);
    let a = put_review(&app, &hr, &pid, Some("1"), json!({"entries": entries})).await;
    assert_eq!(a.status, StatusCode::OK, "{}", String::from_utf8_lossy(&a.body));
    let a = start(&app, &hr, submit).await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", String::from_utf8_lossy(&a.body));
    let r = a.json();
    assert_eq!(r["changes"]["birth_date"], birth.as_str(), "the terms are the stored review's, not the client's");
    assert_eq!(r["changes"]["review_version"], 2);
    let rid = r["id"].as_str().unwrap().to_string();
    assert_eq!(
        put_review(&app, &hr, &pid, Some("2"), json!({"entries": []})).await.status,
        StatusCode::CONFLICT,
        "no change while the flow runs"
    );
    let done = app.approve_as(&rid, &["admin", "head-ops", "leader1", "leader2"]).await;
    assert_eq!(done["state"], "applied", "{done}");
    let steps: Vec<&str> = done["steps"].as_array().unwrap().iter().map(|s| s["name"].as_str().unwrap()).collect();
    assert_eq!(steps, ["first-review", "second-review", "determination", "org-approval"]);

    let review = app.send(Method::GET, &format!("/api/v1/persons/{pid}/review"), Some(&hr), None).await.json();
    assert_eq!(review["state"], "concluded", "{review}");
    assert_eq!(review["conclusion"]["request_id"], rid.as_str());
    assert!(review["valid_until"].as_str().is_some());
    assert!(review["locked_fields"].as_array().unwrap().contains(&json!("work_start")));

    // Now the promotion starts.
    let a = start(&app, &hr, promotion).await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", String::from_utf8_lossy(&a.body));

    // A determined field changes only with a 组织说明 filed in this dossier.
    let later = format!("{}{}", work[..4].parse::<u32>().unwrap() + 1, &work[4..]);
    let change = |extra: Value| {
        let mut c = json!({"work_start": later});
        c.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        json!({"kind": "update", "person_id": pid, "reason": "组织认定", "changes": c})
    };
    let a = start(&app, &hr, change(json!({}))).await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(a.json()["findings"][0]["field"], "org_explanation", "{}", String::from_utf8_lossy(&a.body));
    assert_eq!(
        start(&app, &hr, change(json!({"org_explanation": foreign}))).await.status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    let explanation = material(&app, &hr, &pid, "5", "关于参加工作时间的组织说明").await;
    let a = start(&app, &hr, change(json!({"org_explanation": explanation}))).await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", String::from_utf8_lossy(&a.body));

    // 专审进度 counts it, in JSON and as a spreadsheet.
    let t = app.send(Method::GET, "/api/v1/reports/review", Some(&hr), None).await.json();
    let ops = t["items"].as_array().unwrap().iter().find(|r| r["department"] == "业务运营部").expect("ops").clone();
    assert!(ops["concluded"].as_u64().unwrap() >= 1 && ops["problems_altered"].as_u64().unwrap() >= 1, "{ops}");
    let csv = app.send(Method::GET, "/api/v1/reports/review?format=csv", Some(&hr), None).await;
    assert_eq!(csv.status, StatusCode::OK);
    assert!(String::from_utf8_lossy(&csv.body).contains("concluded"));
}

/// Another dossier of the demo than `not`.
async fn cadre_other(app: &TestApp, hr: &str, not: &str) -> String {
    let list = app.send(Method::GET, "/api/v1/persons?department=sales", Some(hr), None).await.json();
    list["items"].as_array().unwrap().iter().map(|p| p["id"].as_str().unwrap().to_string()).find(|p| p != not).unwrap()
}

#[tokio::test]
async fn nobody_reads_or_records_a_review_outside_their_role_or_of_their_own_dossier() {
    let app = demo_app().await;
    let hr = app.login("hr").await;
    let pid = cadre(&app, &hr, "sales").await["id"].as_str().unwrap().to_string();
    let path = format!("/api/v1/persons/{pid}/review");
    for who in ["it", "secadmin", "auditor", "scanner"] {
        let t = app.login(who).await;
        assert_eq!(app.send(Method::GET, &path, Some(&t), None).await.status, StatusCode::FORBIDDEN, "{who} reads it");
        let a = put_review(&app, &t, &pid, None, json!({"entries": []})).await;
        assert_eq!(a.status, StatusCode::FORBIDDEN, "{who} records it");
        let a = app.send(Method::GET, "/api/v1/reports/review", Some(&t), None).await;
        assert_eq!(a.status, StatusCode::FORBIDDEN, "{who} runs 专审进度");
    }
    for who in ["finance", "legal"] {
        let t = app.login(who).await;
        assert_eq!(app.send(Method::GET, &path, Some(&t), None).await.status, StatusCode::FORBIDDEN, "{who} reads it");
    }
    let head = app.login("head-sales").await;
    assert_eq!(app.send(Method::GET, &path, Some(&head), None).await.status, StatusCode::OK, "the head takes part");
    for who in ["head-sales", "finance", "legal"] {
        let t = app.login(who).await;
        let a = put_review(&app, &t, &pid, None, json!({"entries": []})).await;
        assert_eq!(a.status, StatusCode::FORBIDDEN, "{who} records a review");
        let a = start(&app, &t, json!({"kind": "special_review", "person_id": pid, "changes": {}})).await;
        assert_eq!(a.status, StatusCode::FORBIDDEN, "{who} submits one");
    }
    // HR's own dossier: neither read nor recorded.
    let own =
        app.send(Method::GET, "/api/v1/me", Some(&hr), None).await.json()["person_id"].as_str().unwrap().to_string();
    let own_path = format!("/api/v1/persons/{own}/review");
    assert_eq!(app.send(Method::GET, &own_path, Some(&hr), None).await.status, StatusCode::FORBIDDEN);
    assert_eq!(put_review(&app, &hr, &own, None, json!({"entries": []})).await.status, StatusCode::FORBIDDEN);
    // Every refusal is in the trail.
    let auditor = app.login("auditor").await;
    let trail = app.send(Method::GET, "/api/v1/audit?action=review.*&outcome=denied", Some(&auditor), None).await;
    assert!(trail.json()["total"].as_u64().unwrap() >= 15, "{}", String::from_utf8_lossy(&trail.body));
}
