//! Comparing two versions of a material (issue 17 item 2, docs/DESIGN.md §5): a DOCX contract filed again with
//! one clause changed shows exactly that clause changed, in the API and on the web page; finance and a
//! department head may not know the contract (404), and every comparison is in the trail.

use crate::common::*;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use serde_json::{Value, json};
use std::io::{Read, Write};

/// The contract fixture with `from` replaced by `to` in its document body.
pub(crate) fn contract_with(from: &str, to: &str) -> Vec<u8> {
    let mut src = zip::ZipArchive::new(std::io::Cursor::new(fixture("contract.docx"))).unwrap();
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    for i in 0..src.len() {
        let mut f = src.by_index(i).unwrap();
        let name = f.name().unwrap().to_string();
        let mut bytes = Vec::new();
        f.read_to_end(&mut bytes).unwrap();
        if name == "word/document.xml" {
            let xml = String::from_utf8(bytes).unwrap();
            assert!(xml.contains(from), "the fixture holds {from}");
            bytes = xml.replace(from, to).into_bytes();
        }
        w.start_file(name, opts).unwrap();
        w.write_all(&bytes).unwrap();
    }
    w.finish().unwrap().into_inner()
}

#[tokio::test]
async fn a_changed_clause_of_a_contract_is_the_one_change() {
    let app = demo_app().await;
    let hr = app.login("hr").await;
    let person = cadre(&app, &hr, "ops").await;
    let pid = person["id"].as_str().unwrap().to_string();
    let meta = json!({"category": "10", "title": "劳动合同书", "tags": ["contract"]});
    let m = app.upload(&hr, &pid, meta, "c.docx", &fixture("contract.docx")).await;
    assert_eq!(m.status, StatusCode::CREATED, "{}", String::from_utf8_lossy(&m.body));
    let mid = m.json()["id"].as_str().unwrap().to_string();
    let v2 = contract_with("工作地点为浙江省杭州市", "工作地点为浙江省宁波市");
    let put = Request::builder()
        .method(Method::PUT)
        .uri(format!("/api/v1/materials/{mid}/content"))
        .header("authorization", format!("Bearer {hr}"))
        .header("content-type", "application/vnd.openxmlformats-officedocument.wordprocessingml.document")
        .header("if-match", "\"1\"")
        .body(Body::from(v2))
        .unwrap();
    let put = app.call(put).await;
    assert_eq!(put.status, StatusCode::OK, "{}", String::from_utf8_lossy(&put.body));
    assert_eq!(text_settled(&app, &hr, &mid).await["text_status"], "done");

    let legal = app.login("legal").await;
    let url = format!("/api/v1/materials/{mid}/versions/1/diff/2");
    let d = app.send(Method::GET, &url, Some(&legal), None).await;
    assert_eq!(d.status, StatusCode::OK, "{}", String::from_utf8_lossy(&d.body));
    let d = d.json();
    assert_eq!((d["material_id"].as_str(), &d["from"], &d["to"]), (Some(mid.as_str()), &json!(1), &json!(2)));
    assert_eq!(d["changed"], 1, "{d}");
    let changed: Vec<&Value> = d["paragraphs"].as_array().unwrap().iter().filter(|p| p["op"] != "equal").collect();
    assert_eq!(changed.len(), 1);
    let c = changed[0];
    assert_eq!(c["op"], "replace");
    assert!(c["old"].as_str().unwrap().contains("杭州市") && c["new"].as_str().unwrap().contains("宁波市"), "{c}");
    let runs = |op: &str| -> String {
        c["words"].as_array().unwrap().iter().filter(|w| w["op"] == op).map(|w| w["text"].as_str().unwrap()).collect()
    };
    assert!(runs("delete").contains("杭州") && !runs("delete").contains("工作地点"), "{c}");
    assert!(runs("insert").contains("宁波") && !runs("insert").contains("工作地点"), "{c}");
    assert!(d["paragraphs"].as_array().unwrap().len() > 10, "the rest of the contract is there, unchanged");

    // The same version with itself: nothing changed. A version that does not exist: 404; a bad number: 400.
    let same = app.send(Method::GET, &format!("/api/v1/materials/{mid}/versions/2/diff/2"), Some(&legal), None).await;
    assert_eq!(same.json()["changed"], 0);
    let none = app.send(Method::GET, &format!("/api/v1/materials/{mid}/versions/1/diff/9"), Some(&legal), None).await;
    assert_eq!(none.status, StatusCode::NOT_FOUND);
    let bad = app.send(Method::GET, &format!("/api/v1/materials/{mid}/versions/x/diff/2"), Some(&legal), None).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);

    // Finance and a department head may not know the contract: 404, as for its content.
    for who in ["finance", "head-ops"] {
        let t = app.login(who).await;
        assert_eq!(app.send(Method::GET, &url, Some(&t), None).await.status, StatusCode::NOT_FOUND, "{who}");
        let content = app.send(Method::GET, &format!("/api/v1/materials/{mid}/content"), Some(&t), None).await;
        assert_eq!(content.status, StatusCode::NOT_FOUND, "{who}");
    }

    // The web page: the clause side by side, the words marked.
    let browser = crate::web::sign_in(&app, "legal").await;
    let page = browser.get(&format!("/materials/{mid}/versions/1/diff/2")).await;
    assert_eq!(page.status, StatusCode::OK);
    let html = String::from_utf8_lossy(&page.body);
    assert_eq!(html.matches("<tr class=\"changed\">").count(), 1, "{html}");
    assert!(html.contains("<del>杭州</del>") || html.contains("<del>杭州市</del>"), "{html}");
    assert!(html.contains("<ins>宁波</ins>") || html.contains("<ins>宁波市</ins>"), "{html}");
    let material = String::from_utf8_lossy(&browser.get(&format!("/materials/{mid}")).await.body).to_string();
    assert!(material.contains(&format!("/materials/{mid}/versions/1/diff/2")), "the version list links the comparison");
    let finance = crate::web::sign_in(&app, "finance").await;
    assert_eq!(finance.get(&format!("/materials/{mid}/versions/1/diff/2")).await.status, StatusCode::NOT_FOUND);

    // The auditor sees every comparison, the refused ones too.
    let auditor = app.login("auditor").await;
    let trail =
        app.send(Method::GET, "/api/v1/audit?action=material.diff&limit=100", Some(&auditor), None).await.json();
    let entries = trail["items"].as_array().unwrap_or_else(|| panic!("{trail}"));
    assert!(entries.len() >= 5, "{trail}");
    assert!(entries.iter().any(|e| e["outcome"] == "denied"), "{trail}");
}
