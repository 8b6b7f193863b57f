//! Separation of duties, tried as an insider would over HTTP: the three administrators (系统管理员,
//! 安全保密管理员, 安全审计员) check each other and none can widen its own reach; accounts created by the system
//! administrator carry no role and a temporary password; an account not linked to its holder's person record
//! reads nothing; person fields outside the routine set change only through requests; accounts written by an
//! older version that break a hard rule are named by the permission review.

use crate::common::*;
use axum::http::{Method, StatusCode};
use serde_json::{Value, json};

async fn call(app: &TestApp, method: Method, path: &str, token: &str, body: Option<Value>) -> (StatusCode, Value) {
    let a = app.send(method, path, Some(token), body).await;
    (a.status, serde_json::from_slice(&a.body).unwrap_or(Value::Null))
}

fn user_id(app: &TestApp, name: &str) -> String {
    app.archive.accounts().user_by_name(name).unwrap().unwrap().id.to_string()
}

#[tokio::test]
async fn the_system_administrator_creates_accounts_but_never_gives_roles_and_nobody_widens_their_own() {
    let app = demo_app().await;
    let it = app.login("it").await;
    let sec = app.login("secadmin").await;
    let hr = app.login("hr").await;

    // IT cannot create an account with a business role, nor with an administrator role.
    for roles in [json!(["hr"]), json!(["auditor"]), json!(["leader"])] {
        let (status, body) = call(
            &app,
            Method::POST,
            "/api/v1/users",
            &it,
            Some(json!({"username": "rogue", "password": "a-temporary-pass", "roles": roles})),
        )
        .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{roles}: {body}");
        assert!(body["detail"].as_str().unwrap().contains("sod.roles-by-secadmin"), "{body}");
    }
    // Nor give its own account the auditor role, or another account a role.
    let me = user_id(&app, "it");
    let (status, body) =
        call(&app, Method::PATCH, &format!("/api/v1/users/{me}"), &it, Some(json!({"roles": ["auditor"]}))).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let finance = user_id(&app, "finance");
    let (status, _) =
        call(&app, Method::PATCH, &format!("/api/v1/users/{finance}"), &it, Some(json!({"roles": ["hr"]}))).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // Nor reset an administrator's password (and so take over the auditor's account).
    let auditor = user_id(&app, "auditor");
    let (status, body) = call(
        &app,
        Method::POST,
        &format!("/api/v1/users/{auditor}/password"),
        &it,
        Some(json!({"password": "i-know-this-one"})),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");

    // IT creates an account without roles, linked to a cadre; the security administrator assigns the role.
    let cadre = cadre(&app, &hr, "ops").await;
    let pid = cadre["id"].as_str().unwrap();
    let (status, made) = call(
        &app,
        Method::POST,
        "/api/v1/users",
        &it,
        Some(json!({"username": "clerk", "password": "first-pass-2026", "department": "ops", "person_id": pid})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{made}");
    assert_eq!(made["roles"], json!([]));
    assert_eq!(made["must_change_password"], true);
    let clerk_id = made["id"].as_str().unwrap().to_string();
    // The security administrator may not give an administrator role through the API, nor change itself.
    let (status, _) =
        call(&app, Method::PATCH, &format!("/api/v1/users/{clerk_id}"), &sec, Some(json!({"roles": ["auditor"]})))
            .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let sec_id = user_id(&app, "secadmin");
    let (status, body) =
        call(&app, Method::PATCH, &format!("/api/v1/users/{sec_id}"), &sec, Some(json!({"roles": ["hr"]}))).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert!(body["detail"].as_str().unwrap().contains("hard.own-account"), "{body}");
    // Nor may HR or a leader assign roles.
    let (status, _) =
        call(&app, Method::PATCH, &format!("/api/v1/users/{clerk_id}"), &hr, Some(json!({"roles": ["hr"]}))).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, body) =
        call(&app, Method::PATCH, &format!("/api/v1/users/{clerk_id}"), &sec, Some(json!({"roles": ["hr"]}))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["roles"], json!(["hr"]));

    // The security administrator cannot widen its own role through the policy: persons, fields, capabilities.
    let (_, policy) = call(&app, Method::GET, "/api/v1/policy", &sec, None).await;
    let policy = policy.get("policy").cloned().unwrap_or(policy);
    for widen in [
        json!({"persons": "all"}),
        json!({"fields": {"basic": true}}),
        json!({"read": {"all": true}}),
        json!({"capabilities": ["manage_policy", "decide_grants", "search"]}),
        json!({"capabilities": ["manage_policy", "decide_grants", "read_audit"]}),
    ] {
        let mut p = policy.clone();
        for (k, v) in widen.as_object().unwrap() {
            p["roles"]["secadmin"][k] = v.clone();
        }
        let (status, body) = call(&app, Method::PUT, "/api/v1/policy", &sec, Some(p)).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{widen}: {body}");
        assert!(body["detail"].as_str().unwrap().contains("rule sod."), "{body}");
    }
    // The policy in force is unchanged: the security administrator still reads nothing.
    let (status, list) = call(&app, Method::GET, "/api/v1/persons", &sec, None).await;
    assert!(status == StatusCode::FORBIDDEN || list["total"] == 0, "{list}");

    // The auditor's own reads are in the trail, and the security administrator sees them (and only them).
    let auditor = app.login("auditor").await;
    let (status, _) = call(&app, Method::GET, "/api/v1/audit?action=auth.login", &auditor, None).await;
    assert_eq!(status, StatusCode::OK);
    let (status, seen) = call(&app, Method::GET, "/api/v1/audit?limit=1000", &sec, None).await;
    assert_eq!(status, StatusCode::OK, "{seen}");
    let items = seen["items"].as_array().unwrap();
    assert!(items.iter().any(|e| e["actor"] == "auditor" && e["action"] == "audit.query"), "{seen}");
    assert!(
        items.iter().all(|e| e["actor"] == "auditor"),
        "the security administrator sees only the auditors' entries"
    );
    let (status, _) = call(&app, Method::GET, "/api/v1/audit", &it, None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn an_initial_password_must_be_changed_before_anything_else() {
    let app = TestApp::new().await;
    let it = app.login("it").await;
    let (status, made) = call(
        &app,
        Method::POST,
        "/api/v1/users",
        &it,
        Some(json!({"username": "newcomer", "password": "set-by-it-2026"})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{made}");
    // Weak initial passwords are refused too.
    for weak in ["short", "newcomer2-pass", "1234567890"] {
        let (status, _) =
            call(&app, Method::POST, "/api/v1/users", &it, Some(json!({"username": "newcomer2", "password": weak})))
                .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{weak}");
    }
    let login = app
        .send(
            Method::POST,
            "/api/v1/auth/login",
            None,
            Some(json!({"username": "newcomer", "password": "set-by-it-2026"})),
        )
        .await;
    assert_eq!(login.status, StatusCode::OK);
    assert_eq!(login.json()["user"]["must_change_password"], true);
    let token = login.json()["token"].as_str().unwrap().to_string();
    let a = app.send(Method::GET, "/api/v1/inbox", Some(&token), None).await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
    assert_eq!(a.json()["type"], "urn:dangan:problem:password-change-required");
    let (status, me) = call(&app, Method::GET, "/api/v1/me", &token, None).await;
    assert_eq!((status, me["must_change_password"].clone()), (StatusCode::OK, json!(true)), "{me}");
    let change = |current: &str, new: &str| json!({"current": current, "new": new});
    let (status, _) =
        call(&app, Method::POST, "/api/v1/me/password", &token, Some(change("wrong-password", "my-own-choice"))).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) =
        call(&app, Method::POST, "/api/v1/me/password", &token, Some(change("set-by-it-2026", "short"))).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, body) =
        call(&app, Method::POST, "/api/v1/me/password", &token, Some(change("set-by-it-2026", "my-own-choice-42")))
            .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let (status, me) = call(&app, Method::GET, "/api/v1/me", &token, None).await;
    assert_eq!((status, me["must_change_password"].clone()), (StatusCode::OK, json!(false)));
    assert_eq!(app.send(Method::GET, "/api/v1/inbox", Some(&token), None).await.status, StatusCode::OK);
    // IT knows only the old password now.
    let old = app
        .send(
            Method::POST,
            "/api/v1/auth/login",
            None,
            Some(json!({"username": "newcomer", "password": "set-by-it-2026"})),
        )
        .await;
    assert_eq!(old.status, StatusCode::UNAUTHORIZED);
    // A reset by IT makes the password temporary again and ends the sessions.
    let id = user_id(&app, "newcomer");
    let (status, _) = call(
        &app,
        Method::POST,
        &format!("/api/v1/users/{id}/password"),
        &it,
        Some(json!({"password": "reset-by-it-77"})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(app.send(Method::GET, "/api/v1/me", Some(&token), None).await.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn an_account_without_a_person_link_reads_nothing() {
    let app = TestApp::new().await;
    let hr = app.login("hr").await;
    let p = app.create_person(&hr, person_body("林晓光", &id_number("11010519800101003"), "ops")).await;
    let pid = p["id"].as_str().unwrap().to_string();
    let m = app
        .upload(&hr, &pid, json!({"category": "1", "title": "干部履历表"}), "cv.txt", "履历 独特词语庚辛".as_bytes())
        .await;
    assert_eq!(m.status, StatusCode::CREATED);
    let mid = m.json()["id"].as_str().unwrap().to_string();
    // An HR account as an older version (or the web form before this rule) made it: no person link.
    app.add_account("hr-unlinked", vec![dangan::model::Role::Hr], Some("hr"), None, None).await;
    let t = app.login("hr-unlinked").await;
    let (status, list) = call(&app, Method::GET, "/api/v1/persons", &t, None).await;
    assert_eq!((status, list["total"].clone()), (StatusCode::OK, json!(0)));
    let (status, body) = call(&app, Method::GET, &format!("/api/v1/persons/{pid}"), &t, None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(body["detail"].as_str().unwrap().contains("hard.unlinked-account"), "{body}");
    assert_eq!(app.search(&t, "独特词语庚辛").await["total"], 0);
    let (status, _) = call(&app, Method::GET, &format!("/api/v1/materials/{mid}/content"), &t, None).await;
    assert!(status == StatusCode::FORBIDDEN || status == StatusCode::NOT_FOUND, "{status}");
    let (status, _) = call(&app, Method::GET, &format!("/api/v1/persons/{pid}/materials"), &t, None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // The linked HR account reads it.
    assert_eq!(app.search(&hr, "独特词语庚辛").await["total"], 1);

    // The system administrator's new accounts carry no role; the security administrator cannot give a business
    // role to one without a person link.
    let it = app.login("it").await;
    let (status, made) = call(
        &app,
        Method::POST,
        "/api/v1/users",
        &it,
        Some(json!({"username": "webclerk", "password": "web-clerk-temp-1"})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let id = made["id"].as_str().unwrap().to_string();
    app.add_account("secadmin", vec![dangan::model::Role::Secadmin], None, None, None).await;
    let sec = app.login("secadmin").await;
    let (status, body) =
        call(&app, Method::PATCH, &format!("/api/v1/users/{id}"), &sec, Some(json!({"roles": ["hr"]}))).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(body["detail"].as_str().unwrap().contains("hard.unlinked-account"), "{body}");
    // Linked by the security administrator, it may then hold the role (a person already linked elsewhere may not).
    let holder = app.create_person(&hr, person_body("周文清", &id_number("11010519850505004"), "hr")).await;
    let hid = holder["id"].as_str().unwrap();
    let hr_holder = app.archive.accounts().user_by_name("hr").unwrap().unwrap().person_id.unwrap().to_string();
    let (status, _) =
        call(&app, Method::PATCH, &format!("/api/v1/users/{id}"), &sec, Some(json!({"person_id": hr_holder}))).await;
    assert_eq!(status, StatusCode::CONFLICT);
    let (status, body) = call(
        &app,
        Method::PATCH,
        &format!("/api/v1/users/{id}"),
        &sec,
        Some(json!({"person_id": hid, "roles": ["hr"], "department": "hr"})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

#[tokio::test]
async fn hr_changes_posts_salary_and_department_only_through_requests() {
    let app = demo_app().await;
    let hr = app.login("hr").await;
    let cadre = cadre(&app, &hr, "ops").await;
    let pid = cadre["id"].as_str().unwrap().to_string();
    let version = cadre["version"].as_u64().unwrap();
    let patch = |body: Value| {
        axum::http::Request::builder()
            .method(Method::PATCH)
            .uri(format!("/api/v1/persons/{pid}"))
            .header("authorization", format!("Bearer {hr}"))
            .header("content-type", "application/json")
            .header("if-match", format!("\"{version}\""))
            .body(axum::body::Body::from(body.to_string()))
            .unwrap()
    };
    for (field, value, kind) in [
        ("position", "处长", "promotion"),
        ("salary_grade", "99", "promotion"),
        ("department", "sales", "transfer"),
        ("punishments", "[]", "update"),
    ] {
        let v: Value = serde_json::from_str(value).unwrap_or(json!(value));
        let a = app.call(patch(json!({ field: v }))).await;
        assert_eq!(a.status, StatusCode::CONFLICT, "{field}: {}", String::from_utf8_lossy(&a.body));
        let detail = a.json()["detail"].as_str().unwrap().to_string();
        assert!(detail.contains("workflow.request-required") && detail.contains(kind), "{field}: {detail}");
    }
    // A routine field still changes directly.
    let a = app.call(patch(json!({"phone": "13900001111"}))).await;
    assert_eq!(a.status, StatusCode::OK, "{}", String::from_utf8_lossy(&a.body));
    // The same promotion as a request applies after its reviews and approvals.
    app.conclude_review(&pid).await;
    let (status, r) = call(
        &app,
        Method::POST,
        "/api/v1/requests",
        &hr,
        Some(json!({"kind": "promotion", "person_id": pid, "reason": "考核优秀", "changes": {"position": "处长", "salary_grade": "30"}})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{r}");
    let rid = r["id"].as_str().unwrap().to_string();
    for who in ["head-ops", "finance", "leader1", "leader2"] {
        let t = app.login(who).await;
        let (status, body) = call(
            &app,
            Method::POST,
            &format!("/api/v1/requests/{rid}/decisions"),
            &t,
            Some(json!({"decision": "approve", "comment": "同意"})),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{who}: {body}");
    }
    let (_, person) = call(&app, Method::GET, &format!("/api/v1/persons/{pid}"), &hr, None).await;
    assert_eq!((person["position"].as_str(), person["salary_grade"].as_str()), (Some("处长"), Some("30")));
}

#[tokio::test]
async fn the_permission_review_names_every_account_that_breaks_a_hard_rule() {
    use dangan::crypto::MasterKey;
    use dangan::model::{Role, User, UserId};
    use dangan::store::{SledKv, Store, Table};
    let dir = tempfile::tempdir().unwrap();
    let key = MasterKey::generate().unwrap();
    {
        let archive =
            dangan::bootstrap::open(dir.path(), &key, worker_extractor(), dangan::service::Config::default()).unwrap();
        for (name, role) in [("secadmin", Role::Secadmin), ("hr", Role::Hr)] {
            local_account(&archive, name, vec![role], None, None, None);
        }
    }
    // Accounts as an older version let the system administrator write them: IT holding HR, an auditor who is
    // also the security administrator, a leader without a level.
    std::thread::sleep(std::time::Duration::from_millis(200));
    {
        let kv = SledKv::open(&dir.path().join("store")).unwrap();
        let store = Store::open(std::sync::Arc::new(kv), &key).unwrap();
        let mut ws = store.write_set();
        for (name, roles) in [
            ("it-hr", vec![Role::It, Role::Hr]),
            ("audit-sec", vec![Role::Auditor, Role::Secadmin]),
            ("leader-x", vec![Role::Leader]),
        ] {
            let u = User {
                id: UserId::new(),
                username: name.into(),
                display_name: name.into(),
                roles,
                department: None,
                person_id: None,
                leader_level: None,
                password_hash: dangan::service::auth::hash_password(PASSWORD).unwrap(),
                disabled: false,
                created_at: 0,
                must_change_password: false,
                totp_secret: None,
                totp_pending: None,
                clearance: None,
            };
            ws.put(Table::Users, u.id.as_bytes().to_vec(), &u).unwrap();
            ws.put(Table::UserNames, store.keys().token_digest(&format!("username:{name}")).to_vec(), &u.id).unwrap();
        }
        store.commit(ws).unwrap();
    }
    std::thread::sleep(std::time::Duration::from_millis(200));
    let archive =
        dangan::bootstrap::open(dir.path(), &key, worker_extractor(), dangan::service::Config::default()).unwrap();
    let app = TestApp { router: dangan::server::router(archive.clone(), BODY_LIMIT), archive, dir };
    let sec = app.login("secadmin").await;
    let (status, review) = call(&app, Method::GET, "/api/v1/access/review", &sec, None).await;
    assert_eq!(status, StatusCode::OK, "{review}");
    let items = review["items"].as_array().or(review.as_array()).unwrap().clone();
    let violations = |name: &str| -> Vec<String> {
        items.iter().find(|a| a["username"] == name).unwrap_or_else(|| panic!("{name} missing"))["violations"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().to_string())
            .collect()
    };
    assert!(violations("it-hr").iter().any(|v| v.starts_with("hard.separation-of-duties")), "{review}");
    assert!(violations("audit-sec").iter().any(|v| v.starts_with("hard.separation-of-duties")), "{review}");
    assert!(violations("leader-x").iter().any(|v| v.starts_with("hard.leader-level")), "{review}");
    assert!(violations("leader-x").iter().any(|v| v.starts_with("hard.unlinked-account")), "{review}");
    assert!(violations("hr").iter().any(|v| v.starts_with("hard.unlinked-account")), "{review}");
    assert!(violations("secadmin").is_empty(), "{review}");
    // Such an account acts with no role: IT-with-HR reads no person, and the auditor-secadmin reads no trail.
    let t = app.login("it-hr").await;
    let (status, list) = call(&app, Method::GET, "/api/v1/persons", &t, None).await;
    assert!(status == StatusCode::FORBIDDEN || list["total"] == 0, "{list}");
    let t = app.login("audit-sec").await;
    assert_eq!(app.send(Method::GET, "/api/v1/audit", Some(&t), None).await.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn a_second_factor_once_confirmed_is_needed_at_every_sign_in() {
    let app = TestApp::new().await;
    let hr = app.login("hr").await;
    let (status, e) = call(&app, Method::POST, "/api/v1/me/totp", &hr, None).await;
    assert_eq!(status, StatusCode::OK, "{e}");
    assert!(e["otpauth"].as_str().unwrap().starts_with("otpauth://totp/dangan:hr?secret="));
    let pending = app.archive.accounts().user_by_name("hr").unwrap().unwrap().totp_pending.unwrap();
    let secret = dangan::crypto::decode_hex(&pending).unwrap();
    let now = || std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    let code = |t: u64| format!("{:06}", dangan::service::auth::totp::code(&secret, t));
    // A wrong code does not confirm it; the right one does.
    let (status, _) = call(&app, Method::POST, "/api/v1/me/totp/confirm", &hr, Some(json!({"code": "000000"}))).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, _) =
        call(&app, Method::POST, "/api/v1/me/totp/confirm", &hr, Some(json!({"code": code(now())}))).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(call(&app, Method::GET, "/api/v1/me", &hr, None).await.1["totp"], true);
    // Now the password alone, or with a wrong code, does not sign in; with the code it does.
    let login = |otp: Option<String>| {
        let mut body = json!({"username": "hr", "password": PASSWORD});
        if let Some(c) = otp {
            body["otp"] = json!(c);
        }
        app.send(Method::POST, "/api/v1/auth/login", None, Some(body))
    };
    let a = login(None).await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);
    assert!(a.json()["detail"].as_str().unwrap().contains("one-time code required"));
    assert_eq!(login(Some(code(now() + 3600))).await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(login(Some(code(now()))).await.status, StatusCode::OK);
}
