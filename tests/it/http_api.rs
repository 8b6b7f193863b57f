//! The HTTP contract (docs/DESIGN.md §5) through the router: persons, materials, content, versions, search, and the
//! clear 4xx answers to bad input.

use crate::common::*;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use serde_json::json;

/// What OCR needs (Debian packages).
const OCR_PACKAGES: &str = "apt-get install tesseract-ocr tesseract-ocr-chi-sim tesseract-ocr-chi-tra poppler-utils";

#[tokio::test]
async fn health_needs_no_token_and_everything_else_does() {
    let app = TestApp::new().await;
    let a = app.send(Method::GET, "/api/v1/health", None, None).await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(a.json()["status"], "ok");
    assert!(a.json()["ocr"].is_boolean());
    assert!(!a.header("x-request-id").is_empty());

    for path in ["/api/v1/me", "/api/v1/persons", "/api/v1/search?q=x"] {
        let a = app.send(Method::GET, path, None, None).await;
        assert_eq!(a.status, StatusCode::UNAUTHORIZED, "{path}");
        assert_eq!(a.header("content-type"), "application/problem+json");
        assert!(a.header("www-authenticate").starts_with("Bearer"));
        assert_eq!(a.json()["status"], 401);
    }
    let a = app.send(Method::GET, "/api/v1/me", Some("dg_forged"), None).await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);
    let a = app.send(Method::GET, "/api/v1/nothing-here", None, None).await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
    assert_eq!(a.header("content-type"), "application/problem+json");

    let a = app
        .send(Method::POST, "/api/v1/auth/login", None, Some(json!({"username": "hr", "password": "wrong-password"})))
        .await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);

    let hr = app.login("hr").await;
    let me = app.send(Method::GET, "/api/v1/me", Some(&hr), None).await.json();
    assert_eq!(me["username"], "hr");
    assert_eq!(me["roles"], json!(["hr"]));
    assert!(me["permissions"]["capabilities"].as_array().unwrap().contains(&json!("search")));
    assert_eq!(me["permissions"]["read"]["all"], true);
    let a = app.send(Method::POST, "/api/v1/auth/logout", Some(&hr), None).await;
    assert_eq!(a.status, StatusCode::NO_CONTENT);
    assert_eq!(app.send(Method::GET, "/api/v1/me", Some(&hr), None).await.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn persons_validate_and_version_with_etags() {
    let app = TestApp::new().await;
    let hr = app.login("hr").await;

    let bad = app
        .send(Method::POST, "/api/v1/persons", Some(&hr), Some(person_body("王芳", "110105194912310021", "finance")))
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(bad.json()["findings"][0]["field"], "id_number");
    assert!(bad.json()["detail"].as_str().unwrap().contains("校验位"));

    let bad = app
        .send(
            Method::POST,
            "/api/v1/persons",
            Some(&hr),
            Some(person_body("王芳", &id_number("11010519800517002"), "nowhere")),
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);

    let young = json!({"name": "李雷", "department": "ops", "birth_date": "1990-03-01", "party_join": "2007-01-01"});
    let bad = app.send(Method::POST, "/api/v1/persons", Some(&hr), Some(young)).await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(bad.json()["findings"][0]["field"], "party_join");

    let malformed = Request::builder()
        .method(Method::POST)
        .uri("/api/v1/persons")
        .header("authorization", format!("Bearer {hr}"))
        .header("content-type", "application/json")
        .body(Body::from("{\"name\": "))
        .unwrap();
    let a = app.call(malformed).await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    assert_eq!(a.header("content-type"), "application/problem+json");

    let idn = id_number("11010519800517002");
    let p = app.create_person(&hr, person_body("王芳", &idn, "finance")).await;
    assert_eq!(p["version"], 1);
    assert_eq!(p["gender"], "female");
    assert_eq!(p["birth_date"], "1980-05-17");
    assert_eq!(p["department_name"], "财务部");
    let id = p["id"].as_str().unwrap().to_string();

    let dup = app.send(Method::POST, "/api/v1/persons", Some(&hr), Some(person_body("王芳二", &idn, "hr"))).await;
    assert_eq!(dup.status, StatusCode::CONFLICT);

    let got = app.send(Method::GET, &format!("/api/v1/persons/{id}"), Some(&hr), None).await;
    assert_eq!(got.header("etag"), "\"1\"");
    assert_eq!(
        app.send(Method::GET, "/api/v1/persons/not-an-id", Some(&hr), None).await.status,
        StatusCode::BAD_REQUEST
    );

    let patch = |if_match: Option<&str>| {
        let mut b = Request::builder()
            .method(Method::PATCH)
            .uri(format!("/api/v1/persons/{id}"))
            .header("authorization", format!("Bearer {hr}"))
            .header("content-type", "application/json");
        if let Some(v) = if_match {
            b = b.header("if-match", v);
        }
        b.body(Body::from(json!({"phone": "13800000000", "address": "北京市西城区"}).to_string())).unwrap()
    };
    assert_eq!(app.call(patch(None)).await.status, StatusCode::PRECONDITION_REQUIRED);
    let ok = app.call(patch(Some("\"1\""))).await;
    assert_eq!(ok.status, StatusCode::OK, "{}", String::from_utf8_lossy(&ok.body));
    assert_eq!(ok.json()["version"], 2);
    assert_eq!(ok.header("etag"), "\"2\"");
    assert_eq!(app.call(patch(Some("\"1\""))).await.status, StatusCode::PRECONDITION_FAILED);

    let versions = app.send(Method::GET, &format!("/api/v1/persons/{id}/versions"), Some(&hr), None).await.json();
    assert_eq!(versions["total"], 2);
    assert_ne!(versions["items"][0]["person"]["phone"], "13800000000");
    assert_eq!(versions["items"][1]["person"]["phone"], "13800000000");

    let list = app.send(Method::GET, "/api/v1/persons?name=王芳", Some(&hr), None).await.json();
    assert_eq!(list["total"], 1);

    // Finance sees the person's basic fields and salary, the ID number masked, contact details hidden.
    let fin = app.login("finance").await;
    let a = app.send(Method::GET, &format!("/api/v1/persons/{id}"), Some(&fin), None).await;
    assert_eq!(a.status, StatusCode::OK);
    let seen = a.json();
    assert_eq!(seen["id_number"], format!("110105********{}", &idn[14..]));
    assert!(seen["phone"].is_null());
    assert!(seen["hidden"].as_array().unwrap().contains(&json!("contact")));
    assert!(!seen["hidden"].as_array().unwrap().contains(&json!("salary")));
    // IT sees no person at all, and the denial names the rule; IT lists accounts, HR may not.
    let it = app.login("it").await;
    let a = app.send(Method::GET, &format!("/api/v1/persons/{id}"), Some(&it), None).await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
    assert!(a.json()["detail"].as_str().unwrap().starts_with("rule "));
    assert_eq!(app.send(Method::GET, "/api/v1/users", Some(&it), None).await.json()["total"], 3);
    assert_eq!(app.send(Method::GET, "/api/v1/users", Some(&hr), None).await.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn upload_search_both_scripts_download_and_versions() {
    let app = TestApp::new().await;
    let hr = app.login("hr").await;
    let p = app.create_person(&hr, person_body("张伟明", &id_number("33010619750302001"), "ops")).await;
    let pid = p["id"].as_str().unwrap();

    let pdf = fixture("assessment-tw.pdf");
    let up = app
        .upload(
            &hr,
            pid,
            json!({"category": "3", "title": "2019年度考核登记表", "formed_on": "2020-01"}),
            "考核.pdf",
            &pdf,
        )
        .await;
    assert_eq!(up.status, StatusCode::CREATED, "{}", String::from_utf8_lossy(&up.body));
    let m = up.json();
    assert_eq!(m["mime"], "application/pdf");
    assert_eq!(m["text_status"], "done", "{m}");
    assert!(m.get("findings").is_none(), "no page count stated, nothing to compare");
    assert_eq!(m["content_hash"], blake3::hash(&pdf).to_hex().to_string());
    assert_eq!(m["version"], 1);
    assert!(m.get("address").is_none(), "internal address must not leave the archive");
    let mid = m["id"].as_str().unwrap().to_string();

    // The traditional text is found by the simplified and the traditional word.
    for q in ["晋升", "晉升", "优秀"] {
        let s = app.send(Method::GET, &format!("/api/v1/search?q={}", urlencode(q)), Some(&hr), None).await;
        assert_eq!(s.status, StatusCode::OK);
        let s = s.json();
        assert_eq!(s["total"], 1, "{q}: {s}");
        assert_eq!(s["hits"][0]["material_id"], mid.as_str());
        assert_eq!(s["hits"][0]["person_name"], "张伟明");
        assert!(s["hits"][0]["snippet"].as_str().unwrap().contains("<b>"), "{s}");
        // A PDF's text knows its pages: the hit names the page of its first match (this PDF has one).
        assert_eq!(s["hits"][0]["page"], 1, "{s}");
    }
    // Filters.
    let s = app.send(Method::GET, &format!("/api/v1/search?q={}&category=9", urlencode("晋升")), Some(&hr), None).await;
    assert_eq!(s.json()["total"], 0);
    let s = app
        .send(
            Method::GET,
            &format!("/api/v1/search?q={}&department=ops&from=2019&to=2020-12", urlencode("晋升")),
            Some(&hr),
            None,
        )
        .await;
    assert_eq!(s.json()["total"], 1);
    let s = app.send(Method::GET, "/api/v1/search?q=x&from=2019-13", Some(&hr), None).await;
    assert_eq!(s.status, StatusCode::UNPROCESSABLE_ENTITY);
    let s = app.send(Method::GET, "/api/v1/search?q=x&category=99", Some(&hr), None).await;
    assert_eq!(s.status, StatusCode::UNPROCESSABLE_ENTITY);

    // Download returns the exact bytes.
    let d = app.send(Method::GET, &format!("/api/v1/materials/{mid}/content"), Some(&hr), None).await;
    assert_eq!(d.status, StatusCode::OK);
    assert_eq!(d.body, pdf);
    assert_eq!(d.header("content-type"), "application/pdf");
    assert_eq!(d.header("cache-control"), "no-store");
    assert!(d.header("content-disposition").contains("filename*=UTF-8''%E8%80%83"));

    // A new version of the bytes needs If-Match; the old version stays readable.
    let text = "补充材料：该同志已调任研究发展部。".as_bytes().to_vec();
    let put = |if_match: Option<&'static str>, body: Vec<u8>| {
        let mut b = Request::builder()
            .method(Method::PUT)
            .uri(format!("/api/v1/materials/{mid}/content"))
            .header("authorization", format!("Bearer {hr}"))
            .header("content-type", "text/plain");
        if let Some(v) = if_match {
            b = b.header("if-match", v);
        }
        b.body(Body::from(body)).unwrap()
    };
    assert_eq!(app.call(put(None, text.clone())).await.status, StatusCode::PRECONDITION_REQUIRED);
    let v2 = app.call(put(Some("\"1\""), text.clone())).await;
    assert_eq!(v2.status, StatusCode::OK, "{}", String::from_utf8_lossy(&v2.body));
    assert_eq!(v2.json()["version"], 2);
    assert_eq!(app.call(put(Some("\"1\""), text.clone())).await.status, StatusCode::PRECONDITION_FAILED);
    let versions = app.send(Method::GET, &format!("/api/v1/materials/{mid}/versions"), Some(&hr), None).await.json();
    assert_eq!(versions["total"], 2);
    let old = app.send(Method::GET, &format!("/api/v1/materials/{mid}/versions/1/content"), Some(&hr), None).await;
    assert_eq!(old.body, pdf);
    let new = app.send(Method::GET, &format!("/api/v1/materials/{mid}/content"), Some(&hr), None).await;
    assert_eq!(new.body, text);
    assert_eq!(
        app.send(Method::GET, &format!("/api/v1/materials/{mid}/versions/9/content"), Some(&hr), None).await.status,
        StatusCode::NOT_FOUND
    );
    // The index follows the current version.
    let s = app.search(&hr, "晋升").await;
    assert_eq!(s["total"], 0);
    let s = app.search(&hr, "研究发展部").await;
    assert_eq!(s["total"], 1);
}

#[tokio::test]
async fn same_bytes_are_stored_once() {
    let app = TestApp::new().await;
    let hr = app.login("hr").await;
    let a = app.create_person(&hr, person_body("赵敏", &id_number("44030519850101002"), "sales")).await;
    let b = app.create_person(&hr, person_body("钱进", &id_number("44030519860101001"), "sales")).await;
    let bytes = fixture("contract.docx");
    let meta = json!({"category": "10", "title": "劳动合同书", "tags": ["contract"]});
    let m1 = app.upload(&hr, a["id"].as_str().unwrap(), meta.clone(), "c.docx", &bytes).await.json();
    let m2 = app.upload(&hr, b["id"].as_str().unwrap(), meta, "c.docx", &bytes).await.json();
    assert_ne!(m1["id"], m2["id"]);
    assert_eq!(m1["content_hash"], m2["content_hash"]);
    let archive = app.archive.clone();
    let report = tokio::task::spawn_blocking(move || archive.indexing().verify().unwrap()).await.unwrap();
    assert_eq!(report.blobs, 1, "one blob for two materials");
    assert!(report.ok());
    assert_eq!(m1["text_status"], "done");
    let s = app.search(&hr, "竞业限制").await;
    assert_eq!(s["total"], 2);
}

#[tokio::test]
async fn bad_uploads_get_clear_answers() {
    let app = TestApp::new().await;
    let hr = app.login("hr").await;
    let p = app.create_person(&hr, person_body("孙丽", &id_number("51010419800202002"), "research")).await;
    let pid = p["id"].as_str().unwrap();
    let meta = json!({"category": "1", "title": "干部履历表", "formed_on": "2019-07-01"});

    // A broken PDF is stored, with the reason extraction failed.
    let broken = app.upload(&hr, pid, meta.clone(), "broken.pdf", &fixture("broken.pdf")).await;
    assert_eq!(broken.status, StatusCode::CREATED, "{}", String::from_utf8_lossy(&broken.body));
    assert_eq!(broken.json()["text_status"], "failed");
    assert!(broken.json()["text_error"].as_str().is_some_and(|e| !e.is_empty()));

    // A scan is stored; it carries no text until OCR.
    let scan = app
        .upload(&hr, pid, json!({"category": "9-2", "title": "干部任免审批表"}), "scan.png", &fixture("scan-form.png"))
        .await;
    assert_eq!(scan.status, StatusCode::CREATED);
    assert_eq!(scan.json()["mime"], "image/png");
    let expected = if app.archive.ocr_available() { "done" } else { "none" };
    let scan = text_settled(&app, &hr, scan.json()["id"].as_str().unwrap()).await;
    assert_eq!(scan["text_status"], expected, "scans are read by OCR when tesseract is installed");
    let s = app.search(&hr, "任免审批").await;
    assert_eq!(s["total"], 1, "a scan is found by its catalogue fields");

    let empty = app.upload(&hr, pid, meta.clone(), "empty.txt", b"").await;
    assert_eq!(empty.status, StatusCode::UNPROCESSABLE_ENTITY);

    let unknown = app.upload(&hr, pid, json!({"category": "11", "title": "x"}), "a.txt", b"text").await;
    assert_eq!(unknown.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(unknown.json()["detail"].as_str().unwrap().contains("unknown category"));

    let bad_date =
        app.upload(&hr, pid, json!({"category": "1", "title": "x", "formed_on": "2019-02-30"}), "a.txt", b"text").await;
    assert_eq!(bad_date.status, StatusCode::UNPROCESSABLE_ENTITY);

    let oversized = vec![b'x'; BODY_LIMIT + 1024];
    let big = app.upload(&hr, pid, meta.clone(), "big.txt", &oversized).await;
    assert_eq!(big.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(big.header("content-type"), "application/problem+json");

    let no_multipart =
        app.send(Method::POST, &format!("/api/v1/persons/{pid}/materials"), Some(&hr), Some(meta.clone())).await;
    assert_eq!(no_multipart.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);

    let garbage = Request::builder()
        .method(Method::POST)
        .uri(format!("/api/v1/persons/{pid}/materials"))
        .header("authorization", format!("Bearer {hr}"))
        .header("content-type", "multipart/form-data; boundary=zzz")
        .body(Body::from("--zzz\r\nnonsense"))
        .unwrap();
    assert_eq!(app.call(garbage).await.status, StatusCode::BAD_REQUEST);

    let nobody = app.upload(&hr, "0190d4c8-7a3b-7cde-8f00-000000000000", meta.clone(), "a.txt", b"text").await;
    assert_eq!(nobody.status, StatusCode::NOT_FOUND);

    let unauth = app.upload("dg_nobody", pid, meta, "a.txt", b"text").await;
    assert_eq!(unauth.status, StatusCode::UNAUTHORIZED);

    // The catalogue holds exactly the two stored materials, in category order with 序号.
    let cat = app.send(Method::GET, &format!("/api/v1/persons/{pid}/materials"), Some(&hr), None).await.json();
    assert_eq!(cat["total"], 2);
    assert_eq!(cat["items"][0]["category"], "1");
    assert_eq!(cat["items"][0]["seq"], 1);
    assert_eq!(cat["items"][1]["category"], "9-2");
}

#[tokio::test]
async fn catalogue_orders_by_category_then_stored_number_and_arranging_orders_by_date_undated_last() {
    let app = TestApp::new().await;
    let hr = app.login("hr").await;
    let p = app.create_person(&hr, person_body("周强", &id_number("32010219700101001"), "admin")).await;
    let pid = p["id"].as_str().unwrap();
    for (cat, title, date) in [
        ("3", "2021年度考核", Some("2022-01")),
        ("3", "无日期鉴定", None),
        ("1", "履历表", Some("2019")),
        ("3", "2018年度考核", Some("2019-01-05")),
        ("九-1", "工资审批", Some("2020-07")),
    ] {
        let mut meta = json!({"category": cat, "title": title});
        if let Some(d) = date {
            meta["formed_on"] = json!(d);
        }
        let a = app.upload(&hr, pid, meta, "t.txt", format!("{title} 正文").as_bytes()).await;
        assert_eq!(a.status, StatusCode::CREATED);
    }
    let titles = |cat: &serde_json::Value| -> Vec<(String, u64)> {
        cat["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| (m["title"].as_str().unwrap().to_string(), m["seq"].as_u64().unwrap()))
            .collect()
    };
    let pairs = |v: &[(&str, u64)]| -> Vec<(String, u64)> { v.iter().map(|(t, n)| (t.to_string(), *n)).collect() };
    // 序号 is stored: each material took the next number of its category as it was filed (docs/DOMAIN.md §2).
    let cat = app.send(Method::GET, &format!("/api/v1/persons/{pid}/materials"), Some(&hr), None).await.json();
    assert_eq!(
        titles(&cat),
        pairs(&[("履历表", 1), ("2021年度考核", 1), ("无日期鉴定", 2), ("2018年度考核", 3), ("工资审批", 1)])
    );
    // 整理 orders each category by formed date, undated last.
    let a = app.send(Method::POST, &format!("/api/v1/persons/{pid}/catalogue/arrange"), Some(&hr), None).await;
    assert_eq!(a.status, StatusCode::OK, "{}", String::from_utf8_lossy(&a.body));
    let cat = app.send(Method::GET, &format!("/api/v1/persons/{pid}/materials"), Some(&hr), None).await.json();
    assert_eq!(
        titles(&cat),
        pairs(&[("履历表", 1), ("2018年度考核", 1), ("2021年度考核", 2), ("无日期鉴定", 3), ("工资审批", 1)])
    );
    assert_eq!(cat["items"][4]["category"], "9-1");
    assert_eq!(cat["items"][4]["category_name"], "工资");
}

/// The server's own percent-encoding of a query value, for the tests' URLs.
pub use dangan::http::urlencode;

#[tokio::test]
async fn hostile_files_are_stored_safely_and_never_hang_the_server() {
    use std::io::Write;
    let app = TestApp::new().await;
    let hr = app.login("hr").await;
    let p = app.create_person(&hr, person_body("韩梅", &id_number("21010219820303002"), "ops")).await;
    let pid = p["id"].as_str().unwrap();

    // A DOCX whose document.xml inflates to 100 MiB of zeros (a zip bomb): stored, its text refused.
    let mut bomb = Vec::new();
    {
        let mut z = zip::ZipWriter::new(std::io::Cursor::new(&mut bomb));
        let opts = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
        z.start_file("[Content_Types].xml", opts).unwrap();
        z.write_all(b"<Types/>").unwrap();
        z.start_file("word/document.xml", opts).unwrap();
        let zeros = vec![0u8; 1024 * 1024];
        for _ in 0..100 {
            z.write_all(&zeros).unwrap();
        }
        z.finish().unwrap();
    }
    assert!(bomb.len() < 1024 * 1024, "the bomb is small on the wire");
    let started = std::time::Instant::now();
    let a = app.upload(&hr, pid, json!({"category": "10", "title": "可疑文件"}), "bomb.docx", &bomb).await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", String::from_utf8_lossy(&a.body));
    assert_eq!(a.json()["text_status"], "failed");
    assert!(started.elapsed() < std::time::Duration::from_secs(20));

    // A file whose extension lies: PNG bytes named .pdf are a PNG.
    let a = app
        .upload(&hr, pid, json!({"category": "9-2", "title": "扫描件"}), "scan.pdf", &fixture("scan-form.png"))
        .await;
    assert_eq!(a.json()["mime"], "image/png");
    // A truncated image is stored as what it is.
    let png = fixture("scan-form.png");
    let a =
        app.upload(&hr, pid, json!({"category": "9-2", "title": "残缺扫描件"}), "cut.png", &png[..png.len() / 3]).await;
    assert_eq!(a.status, StatusCode::CREATED);
    // Garbage claiming to be a PDF.
    let mut fake = b"%PDF-1.7\n".to_vec();
    fake.extend((0..50_000u32).map(|i| (i * 7919 % 251) as u8));
    fake.extend_from_slice(b"\n%%EOF\n");
    let a = app.upload(&hr, pid, json!({"category": "1", "title": "损坏的PDF"}), "x.pdf", &fake).await;
    assert_eq!(a.status, StatusCode::CREATED);
    assert_eq!(a.json()["text_status"], "failed");
    // The server still answers, and everything stored reads back.
    let cat = app.send(Method::GET, &format!("/api/v1/persons/{pid}/materials"), Some(&hr), None).await.json();
    assert_eq!(cat["total"], 4);
    for m in cat["items"].as_array().unwrap() {
        let d = app
            .send(Method::GET, &format!("/api/v1/materials/{}/content", m["id"].as_str().unwrap()), Some(&hr), None)
            .await;
        assert_eq!(d.status, StatusCode::OK);
        assert_eq!(blake3::hash(&d.body).to_hex().to_string(), m["content_hash"].as_str().unwrap());
    }
}

#[tokio::test]
async fn ocr_reads_an_image_only_pdf_page_by_page() {
    let app = TestApp::new().await;
    require(app.archive.ocr_available(), "OCR (tesseract with chi_sim, and pdftoppm)", OCR_PACKAGES);
    let hr = app.login("hr").await;
    let p = app.create_person(&hr, person_body("周敏", &id_number("33010219800808002"), "it")).await;
    let scan = fixture("scan-image-only.pdf");
    let m = app
        .upload(
            &hr,
            p["id"].as_str().unwrap(),
            json!({"category": "9-2", "title": "扫描件", "pages": 2}),
            "s.pdf",
            &scan,
        )
        .await;
    assert_eq!(m.status, StatusCode::CREATED);
    let m = text_settled(&app, &hr, m.json()["id"].as_str().unwrap()).await;
    assert_eq!((m["text_status"].as_str(), m["detected_pages"].as_u64()), (Some("done"), Some(2)), "{m}");
    // Done means searchable: a word printed on page 1 and one on page 2, in neither the title nor any field; each
    // hit names the page its word is on.
    for (q, page) in [("任免审批", 1), ("毕业证书", 2)] {
        let s = app.search(&hr, q).await;
        assert_eq!(s["total"], 1, "{q}: {s}");
        assert_eq!(s["hits"][0]["page"], page, "{q}: {s}");
    }
}

#[tokio::test]
async fn ocr_finds_a_scan_by_a_word_on_it() {
    let app = TestApp::new().await;
    require(app.archive.ocr_available(), "OCR (tesseract with chi_sim, and pdftoppm)", OCR_PACKAGES);
    let hr = app.login("hr").await;
    assert_eq!(app.send(Method::GET, "/api/v1/health", None, None).await.json()["ocr"], true);
    let p = app.create_person(&hr, person_body("周敏", &id_number("33010219800808002"), "it")).await;
    let m = app
        .upload(
            &hr,
            p["id"].as_str().unwrap(),
            json!({"category": "9-2", "title": "扫描件"}),
            "scan.png",
            &fixture("scan-form.png"),
        )
        .await;
    assert_eq!(m.status, StatusCode::CREATED);
    let m = text_settled(&app, &hr, m.json()["id"].as_str().unwrap()).await;
    assert_eq!(m["text_status"], "done", "{m}");
    assert_eq!(m["detected_pages"], 1);
    // A stated page count that differs from the pages found is a warning.
    let two = app
        .upload(
            &hr,
            p["id"].as_str().unwrap(),
            json!({"category": "9-2", "title": "扫描件二", "pages": 2}),
            "scan2.png",
            &fixture("scan-form.jpg"),
        )
        .await
        .json();
    let two = text_settled(&app, &hr, two["id"].as_str().unwrap()).await;
    assert_eq!(two["findings"][0]["field"], "pages", "{two}");
    // Words printed on the form, in neither the title nor any field.
    for q in ["信息技术部部长", "任免审批"] {
        let s = app.search(&hr, q).await;
        assert_eq!(s["total"], 1, "{q}: {s}");
    }
}

#[tokio::test]
async fn the_divided_categories_take_materials_only_in_their_sub_categories() {
    let app = TestApp::new().await;
    let hr = app.login("hr").await;
    let p = app.create_person(&hr, person_body("钟离", &id_number("11010519810101003"), "ops")).await;
    let pid = p["id"].as_str().unwrap();
    for bare in ["4", "九"] {
        let a = app.upload(&hr, pid, json!({"category": bare, "title": "学历证明"}), "a.txt", "学历".as_bytes()).await;
        assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY, "{bare}");
        assert!(a.json()["detail"].as_str().unwrap().contains("-1"), "{bare}: names its sub-categories");
    }
    let a = app.upload(&hr, pid, json!({"category": "4-1", "title": "学历证明"}), "a.txt", "学历".as_bytes()).await;
    assert_eq!(a.status, StatusCode::CREATED);
}

#[tokio::test]
async fn metrics_count_searches_and_a_metrics_token_guards_them() {
    let app = TestApp::new().await;
    let hr = app.login("hr").await;
    app.search(&hr, "晋升").await;
    let m = app.send(Method::GET, "/metrics", None, None).await;
    assert_eq!(m.status, StatusCode::OK);
    let text = String::from_utf8_lossy(&m.body).into_owned();
    assert!(text.contains("# TYPE dangan_search_seconds histogram"), "{text}");
    assert!(text.lines().any(|l| l.starts_with("dangan_search_seconds_count ") && !l.ends_with(" 0")), "{text}");
    assert!(!text.contains("晋升"), "no query word in the metrics");
    let guarded = TestApp::with_config(dangan::service::Config {
        metrics_token: Some("scrape-secret".into()),
        ..Default::default()
    })
    .await;
    assert_eq!(guarded.send(Method::GET, "/metrics", None, None).await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(guarded.send(Method::GET, "/metrics", Some("wrong"), None).await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(guarded.send(Method::GET, "/metrics", Some("scrape-secret"), None).await.status, StatusCode::OK);
}

#[tokio::test]
async fn a_material_dated_before_its_subjects_birth_is_refused() {
    let app = TestApp::new().await;
    let hr = app.login("hr").await;
    let p = app.create_person(&hr, person_body("司马青", &id_number("11010519850606003"), "ops")).await;
    let pid = p["id"].as_str().unwrap();
    let upload = |formed: &'static str| {
        app.upload(&hr, pid, json!({"category": "1", "title": "履历", "formed_on": formed}), "a.txt", formed.as_bytes())
    };
    let a = upload("1984-12").await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(a.json()["detail"].as_str().unwrap().contains("出生"));
    // The year of birth itself may hold a day after it: accepted.
    assert_eq!(upload("1985").await.status, StatusCode::CREATED);
}
