//! Transfer packages (转递) over the API: export → import into a fresh installation reproduces every material
//! and version byte for byte; a damaged, bombed or slipped package is refused whole and changes nothing.

use crate::common::*;
use crate::imports::zip_of;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

async fn post_package(app: &TestApp, token: &str, zip: Vec<u8>, accept_unknown: bool) -> Answer {
    let uri = if accept_unknown { "/api/v1/packages?accept_unknown_sender=true" } else { "/api/v1/packages" };
    let req = Request::builder()
        .method(Method::POST)
        .uri(uri)
        .header("authorization", format!("Bearer {token}"))
        .header("content-type", "application/zip")
        .body(Body::from(zip))
        .unwrap();
    app.call(req).await
}

async fn get_bytes(app: &TestApp, token: &str, path: &str) -> Vec<u8> {
    let a = app.send(Method::GET, path, Some(token), None).await;
    assert_eq!(a.status, StatusCode::OK, "{path}: {}", String::from_utf8_lossy(&a.body));
    a.body
}

/// Every material of a dossier: title → the bytes of each version, oldest first.
async fn dossier_bytes(app: &TestApp, token: &str, person: &str) -> Vec<(String, Vec<Vec<u8>>)> {
    let items = app.send(Method::GET, &format!("/api/v1/persons/{person}/materials"), Some(token), None).await.json();
    let mut out = Vec::new();
    for m in items["items"].as_array().unwrap() {
        let id = m["id"].as_str().unwrap();
        let n = m["version"].as_u64().unwrap();
        let mut versions = Vec::new();
        for v in 1..=n {
            versions.push(get_bytes(app, token, &format!("/api/v1/materials/{id}/versions/{v}/content")).await);
        }
        out.push((m["title"].as_str().unwrap().to_string(), versions));
    }
    out.sort();
    out
}

/// The persons the caller sees beyond the TestApp's own account holders (finance's holder; HR's own record is
/// hidden from HR).
async fn persons_total(app: &TestApp, token: &str) -> u64 {
    app.send(Method::GET, "/api/v1/persons", Some(token), None).await.json()["total"].as_u64().unwrap() - 1
}

/// A sender with a dossier of real files, one of them in two versions; returns the app, token, person, package.
async fn sender() -> (TestApp, String, String, Vec<u8>) {
    let app = TestApp::new().await;
    let hr = app.login("hr").await;
    let person = app.create_person(&hr, person_body("王小明", &id_number("11010119800517001"), "hr")).await;
    let person = person["id"].as_str().unwrap().to_string();
    for (cat, title, file) in [
        ("1", "干部履历表", "resume-zh.pdf"),
        ("3", "年度考核登记表", "assessment-tw.pdf"),
        ("4-1", "毕业证书扫描件", "scan-form.png"),
        ("9-1", "工资审批表", "salary.txt"),
        ("10", "劳动合同", "contract.docx"),
    ] {
        let meta = json!({"category": cat, "title": title, "formed_on": "2019-07-01", "pages": 1});
        let a = app.upload(&hr, &person, meta, file, &fixture(file)).await;
        assert_eq!(a.status, StatusCode::CREATED, "{}", String::from_utf8_lossy(&a.body));
    }
    // A second version of the salary form.
    let items = app.send(Method::GET, &format!("/api/v1/persons/{person}/materials"), Some(&hr), None).await.json();
    let salary = items["items"].as_array().unwrap().iter().find(|m| m["title"] == "工资审批表").unwrap().clone();
    let (ct, body) = multipart("{}", "salary-v2.txt", "工资审批表（更正）\n月薪 12000 元".as_bytes());
    let req = Request::builder()
        .method(Method::PUT)
        .uri(format!("/api/v1/materials/{}/content", salary["id"].as_str().unwrap()))
        .header("authorization", format!("Bearer {hr}"))
        .header("content-type", ct)
        .header("if-match", "\"1\"")
        .body(Body::from(body))
        .unwrap();
    let a = app.call(req).await;
    assert_eq!(a.status, StatusCode::OK, "{}", String::from_utf8_lossy(&a.body));

    // The labour contract is linked from the person's contracts.
    let contract = items["items"].as_array().unwrap().iter().find(|m| m["title"] == "劳动合同").unwrap()["id"].clone();
    let contracts = json!({"contracts": [
        {"kind": "劳动合同", "from": "2019-07", "material_id": contract},
        {"kind": "保密协议", "from": "2019-07"}
    ]});
    // Contract records change through a request (legal reviews, the leaders approve).
    app.add_approvers().await;
    let a = app
        .send(
            Method::POST,
            "/api/v1/requests",
            Some(&hr),
            Some(json!({"kind": "update", "person_id": person, "changes": contracts, "reason": "合同归档"})),
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", String::from_utf8_lossy(&a.body));
    let r = app.approve_as(a.json()["id"].as_str().unwrap(), &["legal", "leader1", "leader2"]).await;
    assert_eq!(r["state"], "applied", "{r}");

    let a = app.send(Method::GET, &format!("/api/v1/persons/{person}/package"), Some(&hr), None).await;
    assert_eq!(a.status, StatusCode::OK, "{}", String::from_utf8_lossy(&a.body));
    assert_eq!(a.header("content-type"), "application/zip");
    assert_eq!(a.header("cache-control"), "no-store");
    assert_eq!(a.header("x-package-sha256").len(), 64);
    (app, hr, person, a.body)
}

#[tokio::test]
async fn export_then_import_into_a_fresh_installation_reproduces_every_version_byte_for_byte() {
    let (from, from_hr, person, package) = sender().await;
    // Finance may not export a dossier.
    let finance = from.login("finance").await;
    let denied = from.send(Method::GET, &format!("/api/v1/persons/{person}/package"), Some(&finance), None).await;
    assert_eq!(denied.status, StatusCode::FORBIDDEN);

    let to = TestApp::new().await;
    let to_hr = to.login("hr").await;
    // The receiver does not know the sender's key: refused, and nothing is filed.
    let a = post_package(&to, &to_hr, package.clone(), false).await;
    assert_eq!(a.status, StatusCode::FORBIDDEN, "{}", String::from_utf8_lossy(&a.body));
    assert!(a.json()["detail"].as_str().unwrap().contains("unknown sender"));
    assert_eq!(persons_total(&to, &to_hr).await, 0);

    let a = post_package(&to, &to_hr, package.clone(), true).await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", String::from_utf8_lossy(&a.body));
    let receipt: Value = a.json();
    assert_eq!((receipt["materials"].as_u64(), receipt["versions"].as_u64()), (Some(5), Some(6)), "{receipt}");
    assert_eq!(receipt["sender_trusted"], false);
    assert_eq!(receipt["sender_person_id"], person.as_str());
    assert_eq!(receipt["signature"].as_str().unwrap().len(), 128);
    let new_person = receipt["person_id"].as_str().unwrap().to_string();

    let sent = dossier_bytes(&from, &from_hr, &person).await;
    let received = dossier_bytes(&to, &to_hr, &new_person).await;
    assert_eq!(sent.len(), 5);
    assert_eq!(sent, received, "every material and version byte for byte");
    // The person record came along (ID number, name).
    let p = to.send(Method::GET, &format!("/api/v1/persons/{new_person}"), Some(&to_hr), None).await.json();
    assert_eq!(p["name"], "王小明");
    assert_eq!(p["id_number"], id_number("11010119800517001"));
    // The contract links to the receiver's copy of the contract material, not to the sender's id.
    let items = to.send(Method::GET, &format!("/api/v1/persons/{new_person}/materials"), Some(&to_hr), None).await;
    let items = items.json();
    let here = items["items"].as_array().unwrap().iter().find(|m| m["title"] == "劳动合同").unwrap()["id"].clone();
    assert_eq!(p["contracts"][0]["material_id"], here, "{}", p["contracts"]);
    assert!(p["contracts"][1].get("material_id").is_none_or(|v| v.is_null()), "{}", p["contracts"]);
    assert_eq!(p["contracts"][1]["kind"], "保密协议");
    // Its text is searchable at the receiver.
    to.archive.indexing().wait_queue_empty(Duration::from_secs(60)).unwrap();
    assert!(to.search(&to_hr, "履历").await["total"].as_u64().unwrap() >= 1);

    // The same package again: the person exists already (409), nothing is added.
    let again = post_package(&to, &to_hr, package, true).await;
    assert_eq!(again.status, StatusCode::CONFLICT, "{}", String::from_utf8_lossy(&again.body));
    assert_eq!(persons_total(&to, &to_hr).await, 1);
}

/// Where `needle` starts in `hay`.
fn find(hay: &[u8], needle: &[u8]) -> usize {
    hay.windows(needle.len()).position(|w| w == needle).expect("needle in the package")
}

#[tokio::test]
async fn a_damaged_bombed_or_slipped_package_is_refused_whole_naming_the_file() {
    let (_from, _, _, package) = sender().await;
    let to = TestApp::new().await;
    let hr = to.login("hr").await;

    // One byte flipped inside a scan (stored, so its bytes lie in the zip as they are).
    let png = fixture("scan-form.png");
    let at = find(&package, &png[..64]) + 40;
    let mut flipped = package.clone();
    flipped[at] ^= 0x01;
    let a = post_package(&to, &hr, flipped, true).await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", String::from_utf8_lossy(&a.body));
    let v = a.json();
    let detail = v["detail"].as_str().unwrap();
    assert!(detail.contains("data/materials/") && detail.contains(".png"), "{detail}");
    assert_eq!(persons_total(&to, &hr).await, 0, "a damaged package filed something");

    let bomb = vec![0u8; 64 * 1024 * 1024];
    for (what, zip, status) in [
        (
            "zip bomb",
            zip_of(&[("bag/bagit.txt", b"BagIt-Version: 1.0\n"), ("bag/data/x.bin", &bomb)]),
            StatusCode::PAYLOAD_TOO_LARGE,
        ),
        (
            "zip slip",
            zip_of(&[("bag/bagit.txt", b"BagIt-Version: 1.0\n"), ("bag/../../x", b"x")]),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        ("not a bag", zip_of(&[("readme.txt", b"hello")]), StatusCode::UNPROCESSABLE_ENTITY),
        ("not a zip", b"garbage".to_vec(), StatusCode::UNPROCESSABLE_ENTITY),
    ] {
        let started = Instant::now();
        let a = post_package(&to, &hr, zip, true).await;
        assert_eq!(a.status, status, "{what}: {}", String::from_utf8_lossy(&a.body));
        assert!(started.elapsed() < Duration::from_secs(10), "{what}");
    }
    assert_eq!(persons_total(&to, &hr).await, 0);
}

#[tokio::test]
async fn the_package_catalogue_writes_national_dates_and_code_table_values_and_reads_back() {
    use dangan::exchange::catalogue::{Column, normalize_date, parse_csv};
    let (_app, _hr, _person, package) = sender().await;
    let mut z = zip::ZipArchive::new(std::io::Cursor::new(package)).unwrap();
    let name = (0..z.len())
        .map(|i| z.by_index(i).unwrap().name().unwrap().to_string())
        .find(|n| n.ends_with("data/catalogue.csv"))
        .unwrap();
    let mut text = String::new();
    std::io::Read::read_to_string(&mut z.by_name(&name).unwrap(), &mut text).unwrap();
    // Headings by national code; 类别 by its code-table value and 形成时间 as YYYYMMDD under them.
    assert!(text.starts_with("A0184,A0101,E01Z101,E01Z104,E01Z111,E01Z114,E01Z117,"), "{text}");
    let line = |title: &str| text.lines().find(|l| l.contains(title)).unwrap_or_else(|| panic!("{title}: {text}"));
    assert!(line("工资审批表").contains(",0901,") && line("工资审批表").contains(",20190701,"), "{text}");
    assert!(line("干部履历表").contains(",01,"), "{text}");
    assert!(line("毕业证书扫描件").contains(",0401,"), "{text}");
    assert!(line("劳动合同").contains(",10,"), "{text}");
    assert!(!text.contains("2019-07-01") && !text.contains(",9-1,"), "{text}");
    // Read back as an import reads it: the same categories and dates.
    let scheme = dangan::model::CategoryScheme::scheme_2018();
    let mut read: Vec<(String, String)> = parse_csv(text.as_bytes())
        .unwrap()
        .iter()
        .map(|r| {
            let category = scheme.resolve(r.get(Column::Category).unwrap()).unwrap().code.clone();
            (category, normalize_date(r.get(Column::FormedOn).unwrap()))
        })
        .collect();
    read.sort();
    let want: Vec<(String, String)> =
        ["1", "10", "3", "4-1", "9-1"].iter().map(|c| (c.to_string(), "2019-07-01".to_string())).collect();
    assert_eq!(read, want);
}
