//! The generated OpenAPI document (DESIGN §5) against the API as it answers: the document lists exactly the
//! routes of the contract, every documented path and method answers on a demo installation (with real ids, as an
//! account allowed to), no documented path answers a method it does not document, and the document validates.

use crate::common::*;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use serde_json::{Value, json};
use std::collections::BTreeSet;

/// The API's routes as the contract lists them (DESIGN §5), kept here by hand: independent of the one list in
/// `src/api/mod.rs` that builds both the router and the document. Paths as the document has them (under its
/// server `/api/v1`; `/metrics` under its own server `/`).
const ROUTES: &[(&str, &str)] = &[
    ("get", "/health"),
    ("get", "/openapi.json"),
    ("post", "/auth/login"),
    ("post", "/auth/logout"),
    ("get", "/me"),
    ("post", "/me/password"),
    ("post", "/me/totp"),
    ("post", "/me/totp/confirm"),
    ("get", "/users"),
    ("post", "/users"),
    ("patch", "/users/{id}"),
    ("post", "/users/{id}/password"),
    ("get", "/backup"),
    ("get", "/audit"),
    ("get", "/audit/verify"),
    ("get", "/audit/checkpoints"),
    ("post", "/audit/acknowledge-rollback"),
    ("get", "/policy"),
    ("put", "/policy"),
    ("get", "/access/explain"),
    ("get", "/access/review"),
    ("post", "/batches"),
    ("get", "/batches"),
    ("post", "/batches/{id}/materials"),
    ("get", "/batches/{id}/materials"),
    ("post", "/grants"),
    ("get", "/grants"),
    ("get", "/grants/{id}"),
    ("post", "/grants/{id}/decision"),
    ("post", "/grants/{id}/revoke"),
    ("post", "/persons"),
    ("get", "/persons"),
    ("get", "/persons/{id}"),
    ("patch", "/persons/{id}"),
    ("get", "/persons/{id}/versions"),
    ("get", "/persons/{id}/review"),
    ("put", "/persons/{id}/review"),
    ("post", "/persons/{id}/materials"),
    ("get", "/persons/{id}/materials"),
    ("get", "/persons/{id}/catalogue"),
    ("post", "/persons/{id}/catalogue/arrange"),
    ("post", "/persons/{id}/intake"),
    ("get", "/intake"),
    ("post", "/intake/{id}/file"),
    ("get", "/materials/{id}"),
    ("patch", "/materials/{id}"),
    ("get", "/materials/{id}/content"),
    ("put", "/materials/{id}/content"),
    ("get", "/materials/{id}/versions"),
    ("get", "/materials/{id}/versions/{n}/content"),
    ("get", "/materials/{id}/versions/{a}/diff/{b}"),
    ("get", "/search"),
    ("post", "/requests"),
    ("get", "/requests"),
    ("get", "/requests/{id}"),
    ("patch", "/requests/{id}"),
    ("post", "/requests/{id}/submit"),
    ("post", "/requests/{id}/withdraw"),
    ("post", "/requests/{id}/decisions"),
    ("post", "/requests/{id}/comments"),
    ("get", "/workflows"),
    ("put", "/workflows"),
    ("get", "/inbox"),
    ("get", "/notifications"),
    ("get", "/reports/turnaround"),
    ("get", "/reports/structure"),
    ("get", "/reports/completeness"),
    ("get", "/persons/{id}/completeness"),
    ("get", "/reports/findings"),
    ("get", "/reports/digitization"),
    ("get", "/reports/review"),
    ("post", "/imports"),
    ("get", "/imports/{id}"),
    ("get", "/persons/{id}/package"),
    ("post", "/packages"),
    // 转入 and 审核入库 (issue 15 item 4).
    ("post", "/receiving"),
    ("get", "/receiving"),
    ("get", "/receiving/{id}"),
    ("post", "/receiving/{id}/accept"),
    ("post", "/receiving/{id}/return"),
    // Custody, transfers out, loans (docs/DOMAIN.md §4c).
    ("get", "/persons/{id}/custody"),
    ("put", "/persons/{id}/custody"),
    ("get", "/custody/inbox"),
    ("post", "/custody/tasks/{id}/done"),
    ("get", "/transfers"),
    ("get", "/transfers/{id}/package"),
    ("post", "/transfers/{id}/receipt"),
    ("get", "/reports/transfers"),
    ("get", "/loans"),
    ("post", "/loans"),
    ("post", "/loans/{id}/return"),
    // Digitisation: pages and quality control (docs/DOMAIN.md §2d).
    ("get", "/batches/{id}"),
    ("post", "/batches/{id}/self-check"),
    ("post", "/batches/{id}/hand-over"),
    ("get", "/batches/{id}/qc"),
    ("post", "/batches/{id}/qc/defects"),
    ("post", "/batches/{id}/qc/decision"),
    ("get", "/batches/{id}/rescans"),
    ("get", "/materials/{id}/pages/{n}"),
    ("put", "/materials/{id}/pages/{n}"),
    ("delete", "/materials/{id}/pages/{n}"),
    ("get", "/materials/{id}/pages.zip"),
    ("post", "/materials/{id}/pages"),
    ("put", "/materials/{id}/page-order"),
    ("get", "/metrics"),
    // 查(借)阅 (issue 15 item 5)
    ("put", "/grants/{id}/letter"),
    ("get", "/grants/{id}/letter"),
    ("get", "/materials/{id}/view"),
    ("get", "/reports/consultations"),
    // The contract register (docs/DOMAIN.md §4e).
    ("get", "/contracts"),
    ("get", "/contracts/reminders"),
    ("get", "/reports/contracts"),
    ("get", "/materials/{id}/contract"),
    ("put", "/materials/{id}/contract"),
    ("get", "/materials/{id}/contract/proposal"),
    ("get", "/materials/{id}/contract/notes"),
    ("post", "/materials/{id}/contract/notes"),
    ("post", "/materials/{id}/contract/notes/{note}/resolve"),
];

/// Operations that need no sign-in.
const PUBLIC: &[&str] = &["/health", "/openapi.json", "/auth/login", "/metrics"];

const METHODS: [&str; 8] = ["get", "put", "post", "delete", "options", "head", "patch", "trace"];

async fn document(app: &TestApp) -> Value {
    let a = app.send(Method::GET, "/api/v1/openapi.json", None, None).await;
    assert_eq!(a.status, StatusCode::OK);
    assert!(a.header("content-type").starts_with("application/json"), "{}", a.header("content-type"));
    a.json()
}

/// The (method, path) pairs of the document, walked from its `paths`.
fn operations(doc: &Value) -> BTreeSet<(String, String)> {
    let mut ops = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for m in METHODS {
            if item.get(m).is_some() {
                ops.insert((m.to_string(), path.clone()));
            }
        }
    }
    ops
}

/// The URL of a documented path: under `/api/v1`, or under the path item's own server.
fn url_of(doc: &Value, path: &str) -> String {
    let server = doc["paths"][path]["servers"][0]["url"]
        .as_str()
        .or_else(|| doc["servers"][0]["url"].as_str())
        .unwrap()
        .trim_end_matches('/');
    format!("{server}{path}")
}

#[tokio::test]
async fn the_document_lists_every_route_of_the_contract_and_nothing_else() {
    let app = TestApp::new().await;
    let doc = document(&app).await;
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."), "{}", doc["openapi"]);
    assert_eq!(doc["servers"][0]["url"], "/api/v1");
    let documented = operations(&doc);
    let expected: BTreeSet<(String, String)> = ROUTES.iter().map(|(m, p)| (m.to_string(), p.to_string())).collect();
    let missing: Vec<_> = expected.difference(&documented).collect();
    let extra: Vec<_> = documented.difference(&expected).collect();
    assert!(missing.is_empty() && extra.is_empty(), "not documented: {missing:?}; not in the contract: {extra:?}");

    // Each operation as a client needs it: an id, a summary, a tag, the problem answers, and the security.
    for (method, path) in &documented {
        let op = &doc["paths"][path][method];
        let what = format!("{} {path}", method.to_uppercase());
        assert!(op["operationId"].is_string(), "{what}: no operationId");
        assert!(op["summary"].as_str().is_some_and(|s| !s.is_empty()), "{what}: no summary");
        assert!(op["tags"][0].is_string(), "{what}: no tag");
        let answers = op["responses"].as_object().unwrap();
        assert!(answers.keys().any(|s| s.starts_with('2')), "{what}: no success answer");
        for (status, answer) in answers {
            if status.starts_with('4') || status.starts_with('5') {
                let name = answer["$ref"].as_str().unwrap_or_else(|| panic!("{what} {status}: not a problem"));
                let shared = &doc["components"]["responses"][name.trim_start_matches("#/components/responses/")];
                assert!(
                    shared["content"]["application/problem+json"]["schema"]["$ref"] == "#/components/schemas/Problem",
                    "{what} {status}: {shared}"
                );
            }
        }
        let security = op.get("security").unwrap_or(&doc["security"]);
        if PUBLIC.contains(&path.as_str()) {
            let open = security.as_array().unwrap();
            assert!(
                open.is_empty() || open.iter().any(|s| s.as_object().unwrap().is_empty()),
                "{what} needs no sign-in: {security}"
            );
        } else {
            assert_eq!(security, &json!([{"bearer": []}]), "{what}: bearer token");
            assert!(answers.contains_key("401"), "{what}: no 401");
        }
        // Every path parameter is declared.
        for name in path.split('{').skip(1).map(|s| &s[..s.find('}').unwrap()]) {
            let declared =
                op["parameters"].as_array().into_iter().flatten().any(|p| p["in"] == "path" && p["name"] == name);
            assert!(declared, "{what}: path parameter {name} not declared");
        }
    }
    assert_eq!(doc["paths"]["/metrics"]["servers"][0]["url"], "/");
    for scheme in ["bearer", "metrics_token"] {
        assert_eq!(doc["components"]["securitySchemes"][scheme]["scheme"], "bearer");
    }
}

/// The routes come only from the one list (utoipa-axum's `routes!`, which takes each handler's annotation): no
/// file of `src/api/` adds a route to a plain axum router, where it would be served undocumented.
#[test]
fn the_api_adds_no_route_outside_the_documented_list() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/api");
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        for bad in [".route(", ".route_service(", ".nest_service(", "axum::routing::"] {
            assert!(!text.contains(bad), "{} uses {bad}: add the handler to the list in api/mod.rs", path.display());
        }
        // Every handler the list names carries its annotation (without one, `routes!` does not compile: this
        // says why).
        if path.file_name().unwrap() == "mod.rs" {
            for name in text.split("routes!(").skip(1).flat_map(|s| s[..s.find(')').unwrap()].split(", ")) {
                let (module, handler) = name.trim().split_once("::").unwrap();
                let source = std::fs::read_to_string(dir.join(format!("{module}.rs"))).unwrap();
                let at = source.find(&format!("async fn {handler}(")).unwrap_or_else(|| panic!("{name}"));
                let before = &source[..at];
                let annotation = before.rfind("#[utoipa::path(").unwrap_or_else(|| panic!("{name}: no annotation"));
                assert!(
                    !before[annotation..].contains("\nfn ") && !before[annotation..].contains("async fn "),
                    "{name}"
                );
            }
        }
    }
}

/// A call of a documented operation: a body that fits it, as the account allowed to make it.
fn request(method: &str, url: &str, token: Option<&str>) -> Request<Body> {
    let mut b = Request::builder().method(method.to_uppercase().as_str()).uri(url);
    if let Some(t) = token {
        b = b.header("authorization", format!("Bearer {t}"));
    }
    if method == "patch" {
        b = b.header("if-match", "\"1\"");
    }
    let body = if url.ends_with("/materials") && method == "post" || url.ends_with("/content") && method == "put" {
        let meta = json!({"category": "4", "title": "试用期考核表", "formed_on": "2020-01-01"});
        let (ct, body) = multipart(&meta.to_string(), "a.txt", "探测文件".as_bytes());
        b = b.header("content-type", ct).header("if-match", "\"1\"");
        Body::from(body)
    } else if url.ends_with("/imports") || url.ends_with("/packages") {
        b = b.header("content-type", "application/zip");
        Body::from(Vec::new())
    } else if url.ends_with("/workflows") && method == "put" {
        b = b.header("content-type", "application/toml");
        Body::from("version = 0")
    } else if matches!(method, "post" | "put" | "patch") {
        b = b.header("content-type", "application/json");
        Body::from("{}")
    } else {
        Body::empty()
    };
    b.body(body).unwrap()
}

#[tokio::test]
async fn every_documented_path_and_method_answers_on_a_demo_installation() {
    let app = demo_app().await;
    let doc = document(&app).await;
    let mut tokens = std::collections::BTreeMap::new();
    for who in ["hr", "it", "secadmin", "auditor", "scanner", "legal", "admin"] {
        tokens.insert(who, app.login(who).await);
    }
    let hr = tokens["hr"].clone();

    // Real ids for the path parameters: a cadre and one of their materials, a change request, a grant, the
    // scanner's batch, an import, an account.
    let person = cadre(&app, &hr, "ops").await["id"].as_str().unwrap().to_string();
    let catalogue = app.send(Method::GET, &format!("/api/v1/persons/{person}/materials"), Some(&hr), None).await;
    let material = catalogue.json()["items"][0]["id"].as_str().unwrap().to_string();
    app.conclude_review(&person).await;
    // A received material of the demo, waiting in the 待归档 queue (filed by `POST /intake/{id}/file`).
    let queue = app.send(Method::GET, "/api/v1/intake", Some(&hr), None).await.json();
    let received = queue["items"][0]["material"]["id"].as_str().expect("the demo has materials to file").to_string();
    let created = app
        .send(
            Method::POST,
            "/api/v1/requests",
            Some(&hr),
            Some(json!({"kind": "promotion", "person_id": person, "reason": "年度考核优秀", "changes": {"position": "运营部副部长"}})),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", String::from_utf8_lossy(&created.body));
    let request_id = created.json()["id"].as_str().unwrap().to_string();
    let until = (time::OffsetDateTime::now_utc().date() + time::Duration::days(30)).to_string();
    let grant = app
        .send(
            Method::POST,
            "/api/v1/grants",
            Some(&tokens["legal"]),
            Some(json!({"person_id": person, "purpose": "核查学历真实性", "until": until, "unit": "纪检监察室",
                "readers": ["legal", "finance"]})),
        )
        .await;
    assert_eq!(grant.status, StatusCode::CREATED, "{}", String::from_utf8_lossy(&grant.body));
    let grant = grant.json()["id"].as_str().unwrap().to_string();
    // A package in the receiving queue: the cadre's dossier as this installation exports it.
    let package = app.send(Method::GET, &format!("/api/v1/persons/{person}/package"), Some(&hr), None).await;
    assert_eq!(package.status, StatusCode::OK);
    let queued = app
        .call(
            Request::builder()
                .method(Method::POST)
                .uri("/api/v1/receiving")
                .header("authorization", format!("Bearer {hr}"))
                .header("content-type", "application/zip")
                .body(Body::from(package.body))
                .unwrap(),
        )
        .await;
    assert_eq!(queued.status, StatusCode::CREATED, "{}", String::from_utf8_lossy(&queued.body));
    let queued = queued.json()["id"].as_str().unwrap().to_string();
    let letter =
        crate::consult::put_letter_as(&app, &tokens["legal"], &grant, &crate::consult::pdf_pages(&["L"])).await;
    assert_eq!(letter.status, StatusCode::OK);
    let batches = app.send(Method::GET, "/api/v1/batches", Some(&tokens["scanner"]), None).await.json();
    let batch = batches["items"].as_array().unwrap().iter().find(|b| b["state"] == "scanning").unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let zip = crate::imports::zip_of(&[
        (
            "catalogue.csv",
            format!("id_number,category,title,file\n{},1,履历表,a.txt\n", id_number("11010119800517001")).as_bytes(),
        ),
        ("a.txt", "履历".as_bytes()),
    ]);
    let import = app
        .call(
            Request::builder()
                .method(Method::POST)
                .uri("/api/v1/imports")
                .header("authorization", format!("Bearer {hr}"))
                .header("content-type", "application/zip")
                .body(Body::from(zip))
                .unwrap(),
        )
        .await;
    assert_eq!(import.status, StatusCode::ACCEPTED, "{}", String::from_utf8_lossy(&import.body));
    let import = import.json()["id"].as_str().unwrap().to_string();
    let users = app.send(Method::GET, "/api/v1/users", Some(&tokens["it"]), None).await.json();
    let user = users["items"].as_array().unwrap().iter().find(|u| u["username"] == "finance").unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    // Custody: the demo's transfer out and loan; a paper-filing task of the archive office.
    let transfers = app.send(Method::GET, "/api/v1/transfers", Some(&hr), None).await.json();
    let transfer = transfers["items"][0]["id"].as_str().expect("the demo has a transfer out").to_string();
    let loans = app.send(Method::GET, "/api/v1/loans", Some(&tokens["admin"]), None).await.json();
    let loan = loans["items"][0]["id"].as_str().expect("the demo has a loan").to_string();
    let inbox = app.send(Method::GET, "/api/v1/custody/inbox", Some(&tokens["admin"]), None).await.json();
    let task =
        inbox["items"].as_array().unwrap().iter().find(|i| i["kind"] == "filing").expect("a filing task")["object_id"]
            .as_str()
            .unwrap()
            .to_string();
    // A scanned material (filed from page images) for the page operations.
    let scanned = {
        let (p1, p2) = (crate::digitisation::page_jpeg(300, 1), crate::digitisation::page_jpeg(300, 2));
        let meta = serde_json::json!({"category": "4-1", "title": "毕业登记表", "formed_on": "1998-07"});
        let a = crate::digitisation::send_files(
            &app,
            Method::POST,
            &format!("/api/v1/persons/{person}/materials"),
            &hr,
            Some(&meta),
            &[("1.jpg", &p1), ("2.jpg", &p2)],
        )
        .await;
        assert_eq!(a.status, StatusCode::CREATED, "{}", String::from_utf8_lossy(&a.body));
        a.json()["id"].as_str().unwrap().to_string()
    };
    // The demo's contract renewal in flight, recorded in the register with legal's blocking note.
    let register = app.send(Method::GET, "/api/v1/contracts", Some(&tokens["legal"]), None).await.json();
    let contract =
        register["items"].as_array().unwrap().iter().find(|r| r["blocking_notes"] == 1).unwrap()["material_id"]
            .as_str()
            .unwrap()
            .to_string();
    let notes = app
        .send(Method::GET, &format!("/api/v1/materials/{contract}/contract/notes"), Some(&tokens["legal"]), None)
        .await
        .json();
    let note = notes["items"][0]["id"].as_str().unwrap().to_string();
    // Logging out ends a session: its own.
    let spare = app.login("hr").await;

    let mut failures = Vec::new();
    let mut shapes = Vec::new();
    let mut checked = 0;
    for (method, path) in operations(&doc) {
        let id = match path.split('/').nth(1).unwrap() {
            "materials" if path.starts_with("/materials/{id}/page") => &scanned,
            "materials" if path.starts_with("/materials/{id}/contract") => &contract,
            "persons" => &person,
            "materials" => &material,
            "requests" => &request_id,
            "grants" => &grant,
            "batches" => &batch,
            "imports" => &import,
            "intake" => &received,
            "receiving" => &queued,
            "transfers" => &transfer,
            "loans" => &loan,
            "custody" => &task,
            "users" => &user,
            _ => "",
        };
        let mut url = url_of(&doc, &path)
            .replace("{id}", id)
            .replace("{n}", "1")
            .replace("{a}", "1")
            .replace("{b}", "1")
            .replace("{note}", &note);
        if path == "/access/explain" {
            url.push_str(&format!("?user=finance&material={material}"));
        }
        let who = match (method.as_str(), path.as_str()) {
            (_, "/auth/logout") => Some(spare.as_str()),
            (_, p) if PUBLIC.contains(&p) => None,
            (_, p) if p.starts_with("/users") || p == "/backup" => Some(tokens["it"].as_str()),
            ("get", p) if p.starts_with("/audit") => Some(tokens["auditor"].as_str()),
            (_, p) if p.starts_with("/audit") || p.starts_with("/policy") || p.starts_with("/access") => {
                Some(tokens["secadmin"].as_str())
            }
            ("put", "/workflows") => Some(tokens["secadmin"].as_str()),
            ("put", "/grants/{id}/letter") => Some(tokens["legal"].as_str()),
            ("get", "/grants/{id}/letter") => Some(tokens["auditor"].as_str()),
            (_, p) if p.starts_with("/grants/") => Some(tokens["secadmin"].as_str()),
            (_, "/batches/{id}/materials" | "/batches/{id}/self-check" | "/batches/{id}/hand-over") => {
                Some(tokens["scanner"].as_str())
            }
            (_, p) if p.starts_with("/materials/{id}/contract") || p.starts_with("/contracts") => {
                Some(tokens["legal"].as_str())
            }
            ("put", "/persons/{id}/custody") => Some(tokens["admin"].as_str()),
            (_, p) if p.starts_with("/custody/") || p.starts_with("/loans") => Some(tokens["admin"].as_str()),
            _ => Some(hr.as_str()),
        };
        let a = app.call(request(&method, &url, who)).await;
        let what = format!("{} {url} → {}: {}", method.to_uppercase(), a.status, String::from_utf8_lossy(&a.body));
        // A JSON answer has the shape its schema documents.
        let schema =
            &doc["paths"][&path][&method]["responses"][a.status.as_str()]["content"]["application/json"]["schema"];
        if a.status.is_success() && !schema.is_null() && a.header("content-type").starts_with("application/json") {
            checked += 1;
            let mut wrong = Vec::new();
            conforms(&doc, &a.json(), schema, "$", &mut wrong);
            if !wrong.is_empty() {
                shapes.push(format!("{} {path}: {}", method.to_uppercase(), wrong.join("; ")));
            }
        }
        // With real ids, any 404 is a failure; the router's own ("no such resource") says the route is missing.
        let no_route = a.status == StatusCode::NOT_FOUND && a.json()["detail"] == "no such resource";
        if no_route {
            failures.push(format!("{what} (no such route)"));
        } else if a.status == StatusCode::NOT_FOUND
            || a.status == StatusCode::METHOD_NOT_ALLOWED
            || a.status.is_server_error()
        {
            failures.push(what);
        } else if a.status == StatusCode::UNAUTHORIZED || a.status == StatusCode::FORBIDDEN {
            failures.push(format!("{what} (called as an account not allowed to)"));
        }
    }
    assert!(failures.is_empty(), "documented operations that do not answer:\n{}", failures.join("\n"));
    assert!(checked >= 30, "only {checked} answers compared with their schema");
    assert!(shapes.is_empty(), "answers that differ from their documented schema:\n{}", shapes.join("\n"));

    // A documented path answers no method the document does not list for it (405).
    for (path, item) in doc["paths"].as_object().unwrap() {
        let url = url_of(&doc, path)
            .replace("{id}", &person)
            .replace("{n}", "1")
            .replace("{a}", "1")
            .replace("{b}", "1")
            .replace("{note}", "x");
        for m in ["get", "put", "post", "delete", "patch"] {
            if item.get(m).is_none() {
                let a = app.send(Method::from_bytes(m.to_uppercase().as_bytes()).unwrap(), &url, Some(&hr), None).await;
                assert_eq!(a.status, StatusCode::METHOD_NOT_ALLOWED, "{} {url} answers undocumented", m.to_uppercase());
            }
        }
    }
}

/// The schema a `$ref` names, or the schema itself.
fn resolve<'a>(doc: &'a Value, schema: &'a Value) -> &'a Value {
    match schema["$ref"].as_str() {
        Some(r) => resolve(doc, &doc["components"]["schemas"][r.trim_start_matches("#/components/schemas/")]),
        None => schema,
    }
}

/// Whether `value` has the documented shape: an object's keys are all documented and its required ones present
/// (recursively, into lists and maps); a schema without properties (free-form) takes anything.
fn conforms(doc: &Value, value: &Value, schema: &Value, at: &str, wrong: &mut Vec<String>) {
    let schema = resolve(doc, schema);
    if let Some(parts) = schema["allOf"].as_array() {
        let mut merged = json!({"type": "object", "properties": {}, "required": []});
        for part in parts {
            let part = resolve(doc, part);
            if let Some(props) = part["properties"].as_object() {
                merged["properties"].as_object_mut().unwrap().extend(props.clone());
            }
            if let Some(req) = part["required"].as_array() {
                merged["required"].as_array_mut().unwrap().extend(req.clone());
            }
        }
        return conforms(doc, value, &merged, at, wrong);
    }
    if let Some(variants) = schema["oneOf"].as_array().or(schema["anyOf"].as_array()) {
        if value.is_null() {
            return;
        }
        let concrete: Vec<_> = variants.iter().filter(|v| v["type"] != "null").collect();
        if let [only] = concrete.as_slice() {
            conforms(doc, value, only, at, wrong);
        }
        return;
    }
    match value {
        Value::Object(map) => {
            if let Some(props) = schema["properties"].as_object() {
                for (k, v) in map {
                    match props.get(k) {
                        Some(s) => conforms(doc, v, s, &format!("{at}.{k}"), wrong),
                        None => wrong.push(format!("{at}.{k} is not documented")),
                    }
                }
                for r in schema["required"].as_array().into_iter().flatten() {
                    if !map.contains_key(r.as_str().unwrap()) {
                        wrong.push(format!("{at}.{} is required but absent", r.as_str().unwrap()));
                    }
                }
            } else if schema["additionalProperties"].is_object() {
                for (k, v) in map {
                    conforms(doc, v, &schema["additionalProperties"], &format!("{at}.{k}"), wrong);
                }
            }
        }
        Value::Array(items) if !schema["items"].is_null() => {
            for (i, v) in items.iter().enumerate().take(5) {
                conforms(doc, v, &schema["items"], &format!("{at}[{i}]"), wrong);
            }
        }
        _ => {}
    }
}

#[tokio::test]
async fn the_served_document_validates() {
    let app = TestApp::new().await;
    let a = app.send(Method::GET, "/api/v1/openapi.json", None, None).await;
    assert_eq!(a.status, StatusCode::OK);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("openapi.json");
    std::fs::write(&file, &a.body).unwrap();
    let found = std::process::Command::new("python3")
        .args(["-c", "import openapi_spec_validator"])
        .output()
        .is_ok_and(|o| o.status.success());
    require(found, "openapi-spec-validator (Python)", "pip install openapi-spec-validator");
    let out =
        std::process::Command::new("python3").arg("-m").arg("openapi_spec_validator").arg(&file).output().unwrap();
    assert!(
        out.status.success(),
        "the document does not validate:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The document's `RequestKind` enum is `RequestKind::ALL`, in order (the one list of kinds, DESIGN §5).
#[tokio::test]
async fn the_document_lists_every_request_kind() {
    let app = TestApp::new().await;
    let doc = document(&app).await;
    let kinds: Vec<&str> = dangan::model::RequestKind::ALL.iter().map(|k| k.as_str()).collect();
    assert_eq!(doc["components"]["schemas"]["RequestKind"]["enum"], json!(kinds));
}
