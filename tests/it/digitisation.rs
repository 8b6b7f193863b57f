//! Digitisation as the scanning room works (issue 18): page images filed as one material, viewed in order and
//! downloaded as one PDF or a zip of the originals; intake checks on every page; a batch through 自检, 抽检,
//! 退回 with defects, rescans and 验收, the sample never shown to the operators.

use crate::common::{TestApp, id_number, person_body};
use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use dangan::model::Role;
use image::codecs::jpeg::JpegEncoder;
use image::codecs::png::PngEncoder;
use image::{GrayImage, ImageEncoder, Luma};
use serde_json::{Value, json};

/// A page of "text" (dark bars on white) at `dpi`, A4-ish at a small size, varied by `seed`.
pub fn page_jpeg(dpi: u16, seed: u32) -> Vec<u8> {
    encode_jpeg(&text_page(seed), dpi)
}

fn text_page(seed: u32) -> GrayImage {
    let (w, h) = (620, 877);
    GrayImage::from_fn(w, h, |x, y| {
        let line = (y / 24) % 2 == 1 && y > 60 && y < h - 60;
        let word = !((x + seed * 37) / 40).is_multiple_of(5) && x > 50 && x < w - 50 - (y * seed) % 120;
        if line && word { Luma([25]) } else { Luma([245]) }
    })
}

fn encode_jpeg(img: &GrayImage, dpi: u16) -> Vec<u8> {
    let mut out = Vec::new();
    let mut enc = JpegEncoder::new_with_quality(&mut out, 85);
    enc.set_pixel_density(image::codecs::jpeg::PixelDensity::dpi(dpi));
    enc.encode_image(img).unwrap();
    out
}

/// A blank page: white with the speckle a scanner leaves.
fn blank_jpeg(dpi: u16) -> Vec<u8> {
    let img = GrayImage::from_fn(
        620,
        877,
        |x, y| if (x * 7919 + y * 104_729) % 997 == 0 { Luma([200]) } else { Luma([250]) },
    );
    encode_jpeg(&img, dpi)
}

/// A PNG page (no resolution recorded).
fn page_png(seed: u32) -> Vec<u8> {
    let img = text_page(seed);
    let mut out = Vec::new();
    PngEncoder::new(&mut out)
        .write_image(img.as_raw(), img.width(), img.height(), image::ExtendedColorType::L8)
        .unwrap();
    out
}

/// A multipart body: `meta` (JSON, if any) and one `file` part per image, in order.
fn multipart_files(meta: Option<&Value>, files: &[(&str, &[u8])]) -> (String, Vec<u8>) {
    let boundary = "----dangan-pages-boundary-51c3";
    let mut body = Vec::new();
    if let Some(meta) = meta {
        body.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"meta\"\r\nContent-Type: application/json\r\n\r\n{meta}\r\n")
                .as_bytes(),
        );
    }
    for (name, bytes) in files {
        body.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\nContent-Type: application/octet-stream\r\n\r\n")
                .as_bytes(),
        );
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

pub async fn send_files(
    app: &TestApp,
    method: Method,
    path: &str,
    token: &str,
    meta: Option<&Value>,
    files: &[(&str, &[u8])],
) -> crate::common::Answer {
    let (ct, body) = multipart_files(meta, files);
    let req = Request::builder()
        .method(method)
        .uri(path)
        .header("authorization", format!("Bearer {token}"))
        .header("content-type", ct)
        .body(Body::from(body))
        .unwrap();
    app.call(req).await
}

async fn ok(app: &TestApp, method: Method, path: &str, token: &str, body: Option<Value>) -> Value {
    let a = app.send(method, path, Some(token), body).await;
    assert!(a.status.is_success(), "{path}: {} {}", a.status, String::from_utf8_lossy(&a.body));
    a.json()
}

/// An installation with HR, two scanning operators, a dossier and a batch over it: (app, hr token, person id,
/// batch id).
async fn scanning_room(sample_percent: u8, sample_min: u32) -> (TestApp, String, String, String) {
    let app = TestApp::new().await;
    app.add_account("scanner", vec![Role::Scanner], None, None, None).await;
    app.add_account("scanner2", vec![Role::Scanner], None, None, None).await;
    app.add_account("auditor", vec![Role::Auditor], None, None, None).await;
    let hr = app.login("hr").await;
    let person = app.create_person(&hr, person_body("周文远", &id_number("11010519750312401"), "research")).await;
    let pid = person["id"].as_str().unwrap().to_string();
    let batch = ok(
        &app,
        Method::POST,
        "/api/v1/batches",
        &hr,
        Some(json!({"name": "2026年第二批数字化", "assignees": ["scanner", "scanner2"], "person_ids": [pid],
                    "sample_percent": sample_percent, "sample_min": sample_min})),
    )
    .await;
    let bid = batch["id"].as_str().unwrap().to_string();
    (app, hr, pid, bid)
}

fn meta(pid: &str, title: &str) -> Value {
    json!({"person_id": pid, "category": "4-1", "title": title, "formed_on": "1998-07"})
}

fn rules_of(page: &Value) -> Vec<String> {
    page["findings"]
        .as_array()
        .map(|f| f.iter().map(|f| f["rule"].as_str().unwrap().to_string()).collect())
        .unwrap_or_default()
}

#[tokio::test]
async fn page_images_file_as_one_material_viewed_in_order_and_downloaded_as_one_pdf_or_the_originals() {
    let (app, hr, pid, bid) = scanning_room(10, 5).await;
    let scanner = app.login("scanner").await;
    let (p1, p2, p3) = (page_jpeg(300, 1), page_png(2), page_jpeg(300, 3));
    let filed = send_files(
        &app,
        Method::POST,
        &format!("/api/v1/batches/{bid}/materials"),
        &scanner,
        Some(&meta(&pid, "大学毕业登记表")),
        &[("A001-4-1-001.jpg", &p1), ("A001-4-1-002.png", &p2), ("A001-4-1-003.jpg", &p3)],
    )
    .await;
    assert_eq!(filed.status, StatusCode::CREATED, "{}", String::from_utf8_lossy(&filed.body));
    let m = filed.json();
    let mid = m["id"].as_str().unwrap().to_string();
    assert_eq!(m["mime"], "application/pdf");
    assert_eq!(m["pages"], 3, "页数 taken from the pages held");
    let pages = m["page_images"].as_array().unwrap();
    assert_eq!(pages.len(), 3);
    assert_eq!((pages[0]["info"]["format"].as_str(), pages[1]["info"]["format"].as_str()), (Some("jpeg"), Some("png")));
    assert_eq!(pages[0]["info"]["dpi"], json!([300, 300]));
    assert!(pages.iter().all(|p| p.get("address").is_none()), "no blob address leaves the archive");

    // HR views the pages in order, each exactly as scanned; a page that is not there is 404.
    for (n, want) in [(1, &p1), (2, &p2), (3, &p3)] {
        let a = app.send(Method::GET, &format!("/api/v1/materials/{mid}/pages/{n}"), Some(&hr), None).await;
        assert_eq!(a.status, StatusCode::OK, "page {n}");
        assert_eq!(&a.body, want, "page {n} as scanned");
    }
    assert_eq!(
        app.send(Method::GET, &format!("/api/v1/materials/{mid}/pages/4"), Some(&hr), None).await.status,
        StatusCode::NOT_FOUND
    );

    // One PDF, as many pages as images, read back with a PDF library.
    let pdf = app.send(Method::GET, &format!("/api/v1/materials/{mid}/content"), Some(&hr), None).await;
    assert_eq!(pdf.status, StatusCode::OK);
    let doc = lopdf::Document::load_mem(&pdf.body).unwrap();
    assert_eq!(doc.get_pages().len(), 3);
    // The JPEG is embedded byte for byte, not re-encoded.
    assert!(pdf.body.windows(p3.len()).any(|w| w == p3.as_slice()), "page 3's JPEG inside the PDF as scanned");

    // The originals, as a zip.
    let z = app.send(Method::GET, &format!("/api/v1/materials/{mid}/pages.zip"), Some(&hr), None).await;
    assert_eq!(z.status, StatusCode::OK);
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(z.body)).unwrap();
    let names: Vec<String> = (0..zip.len()).map(|i| zip.by_index(i).unwrap().name().unwrap().to_string()).collect();
    assert_eq!(names, ["0001.jpg", "0002.png", "0003.jpg"]);
    // Dated as the pages were changed (today), not the format's 1980 default.
    let year = zip.by_index(0).unwrap().last_modified().map(|d| d.year());
    assert_eq!(year, Some(dangan::model::today().year() as u16));
    for (i, want) in [&p1, &p2, &p3].into_iter().enumerate() {
        let mut got = Vec::new();
        std::io::Read::read_to_end(&mut zip.by_index(i).unwrap(), &mut got).unwrap();
        assert_eq!(&got, want);
    }

    // The operator reads no content, not even their own scan's pages.
    for path in [format!("/api/v1/materials/{mid}/pages/1"), format!("/api/v1/materials/{mid}/pages.zip")] {
        let a = app.send(Method::GET, &path, Some(&scanner), None).await;
        assert!(matches!(a.status, StatusCode::FORBIDDEN | StatusCode::NOT_FOUND), "{path}: {}", a.status);
    }

    // HR puts the pages in a new order: a new version, the images follow.
    let r =
        ok(&app, Method::PUT, &format!("/api/v1/materials/{mid}/page-order"), &hr, Some(json!({"order": [3, 1, 2]})))
            .await;
    assert_eq!(r["version"], 2);
    let first = app.send(Method::GET, &format!("/api/v1/materials/{mid}/pages/1"), Some(&hr), None).await;
    assert_eq!(first.body, p3);
    let bad = app
        .send(Method::PUT, &format!("/api/v1/materials/{mid}/page-order"), Some(&hr), Some(json!({"order": [1, 1, 2]})))
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);

    // HR files a scanned material of two pages straight into the dossier too.
    let direct = send_files(
        &app,
        Method::POST,
        &format!("/api/v1/persons/{pid}/materials"),
        &hr,
        Some(&json!({"category": "4-1", "title": "学位证书", "formed_on": "1998-07"})),
        &[("a.jpg", &page_jpeg(300, 7)), ("b.jpg", &page_jpeg(300, 8))],
    )
    .await;
    assert_eq!(direct.status, StatusCode::CREATED, "{}", String::from_utf8_lossy(&direct.body));
    assert_eq!(direct.json()["page_images"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn intake_flags_a_low_resolution_page_a_blank_page_and_a_duplicate_page_with_the_rule_that_caught_each() {
    let (app, _hr, pid, bid) = scanning_room(10, 5).await;
    let scanner = app.login("scanner").await;
    let path = format!("/api/v1/batches/{bid}/materials");

    // 72 dpi: refused, naming the rule; nothing is filed.
    let low = page_jpeg(72, 1);
    let a = send_files(
        &app,
        Method::POST,
        &path,
        &scanner,
        Some(&meta(&pid, "低分辨率")),
        &[("p1.jpg", &page_jpeg(300, 2)), ("p2.jpg", &low)],
    )
    .await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", String::from_utf8_lossy(&a.body));
    let problem = String::from_utf8_lossy(&a.body).to_string();
    assert!(problem.contains("resolution.min") && problem.contains("image 2"), "{problem}");
    let listed = ok(&app, Method::GET, &path, &scanner, None).await;
    assert_eq!(listed["total"], 0, "a refused upload files nothing");

    // A blank page: filed, flagged.
    let a = send_files(
        &app,
        Method::POST,
        &path,
        &scanner,
        Some(&meta(&pid, "含空白页")),
        &[("p1.jpg", &page_jpeg(300, 3)), ("p2.jpg", &blank_jpeg(300))],
    )
    .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", String::from_utf8_lossy(&a.body));
    let pages = a.json()["page_images"].clone();
    assert!(!rules_of(&pages[0]).contains(&"blank".to_string()), "{pages}");
    assert!(rules_of(&pages[1]).contains(&"blank".to_string()), "{pages}");

    // A page scanned twice: the second flagged as a duplicate of the first; one already held by another
    // material of the dossier is flagged too.
    let twice = page_jpeg(300, 4);
    let a = send_files(
        &app,
        Method::POST,
        &path,
        &scanner,
        Some(&meta(&pid, "重页")),
        &[("p1.jpg", &twice), ("p2.jpg", &twice)],
    )
    .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", String::from_utf8_lossy(&a.body));
    let pages = a.json()["page_images"].clone();
    assert!(!rules_of(&pages[0]).contains(&"duplicate".to_string()), "{pages}");
    assert!(rules_of(&pages[1]).contains(&"duplicate".to_string()), "{pages}");
    let a = send_files(&app, Method::POST, &path, &scanner, Some(&meta(&pid, "他处重页")), &[("p1.jpg", &twice)]).await;
    assert_eq!(a.status, StatusCode::CREATED);
    let page = a.json()["page_images"][0].clone();
    let dup =
        page["findings"].as_array().unwrap().iter().find(|f| f["rule"] == "duplicate").cloned().unwrap_or_default();
    assert!(dup["message"].as_str().unwrap_or_default().contains("重页"), "{page}");

    // Not an image at all, or a truncated one: refused with a clear reason.
    let a = send_files(
        &app,
        Method::POST,
        &path,
        &scanner,
        Some(&meta(&pid, "坏图")),
        &[("p1.jpg", &page_jpeg(300, 5)), ("p2.jpg", &twice[..200])],
    )
    .await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", String::from_utf8_lossy(&a.body));
}

/// The pages of a batch's materials as (material, page) pairs.
fn sample_of(review: &Value) -> Vec<(String, u64)> {
    review["sample"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["material_id"].as_str().unwrap().to_string(), s["page"].as_u64().unwrap()))
        .collect()
}

#[tokio::test]
async fn a_batch_walks_self_check_sampling_return_rescans_and_acceptance_and_its_operators_never_see_the_sample() {
    let (app, hr, pid, bid) = scanning_room(50, 2).await;
    let scanner = app.login("scanner").await;
    let scanner2 = app.login("scanner2").await;
    let path = format!("/api/v1/batches/{bid}/materials");
    let mut materials = Vec::new();
    for (who, title, seed) in
        [(&scanner, "干部履历表", 10), (&scanner, "考核登记表", 20), (&scanner2, "入党志愿书", 30)]
    {
        let pages: Vec<Vec<u8>> = (0..2).map(|i| page_jpeg(300, seed + i)).collect();
        let a = send_files(
            &app,
            Method::POST,
            &path,
            who,
            Some(&meta(&pid, title)),
            &[("1.jpg", &pages[0]), ("2.jpg", &pages[1])],
        )
        .await;
        assert_eq!(a.status, StatusCode::CREATED, "{}", String::from_utf8_lossy(&a.body));
        materials.push(a.json()["id"].as_str().unwrap().to_string());
    }
    let batch_path = format!("/api/v1/batches/{bid}");

    // Handing over before 自检 is refused; HR is no operator of the batch and cannot hand it over.
    assert_eq!(
        app.send(Method::POST, &format!("{batch_path}/hand-over"), Some(&scanner), None).await.status,
        StatusCode::CONFLICT
    );
    assert_eq!(
        app.send(Method::POST, &format!("{batch_path}/self-check"), Some(&hr), None).await.status,
        StatusCode::FORBIDDEN
    );
    let b = ok(&app, Method::POST, &format!("{batch_path}/self-check"), &scanner, None).await;
    assert_eq!(b["state"], "self_check");
    let b = ok(&app, Method::POST, &format!("{batch_path}/hand-over"), &scanner2, None).await;
    assert_eq!(b["state"], "sampling");
    // No new scans while it is under review.
    let late =
        send_files(&app, Method::POST, &path, &scanner, Some(&meta(&pid, "迟到")), &[("1.jpg", &page_jpeg(300, 99))])
            .await;
    assert_eq!(late.status, StatusCode::CONFLICT);

    // The operators never see the sample: not in the batch, not in the list, and the review is refused.
    for token in [&scanner, &scanner2] {
        let mine = ok(&app, Method::GET, &batch_path, token, None).await;
        assert!(mine["batch"]["rounds"][0]["sample"].as_array().is_none_or(|s| s.is_empty()), "{mine}");
        let list = ok(&app, Method::GET, "/api/v1/batches", token, None).await;
        assert!(list["items"][0]["rounds"][0]["sample"].as_array().is_none_or(|s| s.is_empty()), "{list}");
        let r = app.send(Method::GET, &format!("{batch_path}/qc"), Some(token), None).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);
        assert!(String::from_utf8_lossy(&r.body).contains("qc.reviewer"));
    }

    // The reviewer sees 50% of the 6 pages, drawn at random among them.
    let review = ok(&app, Method::GET, &format!("{batch_path}/qc"), &hr, None).await;
    let sample = sample_of(&review);
    assert_eq!(sample.len(), 3, "{review}");
    assert!(sample.iter().all(|(m, p)| materials.contains(m) && (1..=2).contains(p)));
    assert_eq!(review["round"]["pages_held"], 6);

    // Two defects, then 退回.
    let (m1, p1) = sample[0].clone();
    let (m2, p2) = sample[1].clone();
    let no_defects = app
        .send(Method::POST, &format!("{batch_path}/qc/decision"), Some(&hr), Some(json!({"decision": "return"})))
        .await;
    assert_eq!(no_defects.status, StatusCode::UNPROCESSABLE_ENTITY, "a return names its defects");
    ok(
        &app,
        Method::POST,
        &format!("{batch_path}/qc/defects"),
        &hr,
        Some(json!({"material_id": m1, "page": p1, "code": "blur", "comment": "字迹模糊"})),
    )
    .await;
    let round = ok(
        &app,
        Method::POST,
        &format!("{batch_path}/qc/defects"),
        &hr,
        Some(json!({"material_id": m2, "page": p2, "code": "skew"})),
    )
    .await;
    assert_eq!(round["defects"].as_array().unwrap().len(), 2);
    // A defect on a material outside the sample, or a code that is none, is refused; an operator records none.
    let outside: Vec<&String> = materials.iter().filter(|m| !sample.iter().any(|(s, _)| s == *m)).collect();
    if let Some(o) = outside.first() {
        let a = app
            .send(
                Method::POST,
                &format!("{batch_path}/qc/defects"),
                Some(&hr),
                Some(json!({"material_id": o, "page": 1, "code": "blur"})),
            )
            .await;
        assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY);
    }
    let a = app
        .send(
            Method::POST,
            &format!("{batch_path}/qc/defects"),
            Some(&hr),
            Some(json!({"material_id": m1, "page": 1, "code": "smudge"})),
        )
        .await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY);
    let a = app
        .send(
            Method::POST,
            &format!("{batch_path}/qc/defects"),
            Some(&scanner),
            Some(json!({"material_id": m1, "page": 1, "code": "blur"})),
        )
        .await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
    let returned = ok(
        &app,
        Method::POST,
        &format!("{batch_path}/qc/decision"),
        &hr,
        Some(json!({"decision": "return", "comment": "两页需重扫"})),
    )
    .await;
    assert_eq!(returned["state"], "returned");

    // Each defect is a rescan of the operator who filed that material.
    let owner = |m: &str| if *m == materials[2] { "scanner2" } else { "scanner" };
    let all = ok(&app, Method::GET, &format!("{batch_path}/rescans"), &hr, None).await;
    assert_eq!(all["total"], 2);
    let mine = ok(&app, Method::GET, &format!("{batch_path}/rescans"), &scanner, None).await;
    let expect_mine = [&m1, &m2].iter().filter(|m| owner(m) == "scanner").count();
    assert_eq!(mine["total"], expect_mine);
    // Handing over again before the rescans are done is refused.
    assert_eq!(
        app.send(Method::POST, &format!("{batch_path}/hand-over"), Some(&scanner), None).await.status,
        StatusCode::CONFLICT
    );

    // An operator may not touch another operator's scan.
    let (other_token, other_m) = if owner(&m1) == "scanner" { (&scanner2, &m1) } else { (&scanner, &m1) };
    let a = send_files(
        &app,
        Method::PUT,
        &format!("/api/v1/materials/{other_m}/pages/{p1}"),
        other_token,
        None,
        &[("r.jpg", &page_jpeg(300, 77))],
    )
    .await;
    assert_eq!(a.status, StatusCode::FORBIDDEN, "{}", String::from_utf8_lossy(&a.body));

    // The owners rescan their pages.
    let mut rescanned = Vec::new();
    for (m, p, seed) in [(&m1, p1, 41), (&m2, p2, 42)] {
        let token = if owner(m) == "scanner" { &scanner } else { &scanner2 };
        let new = page_jpeg(300, seed);
        let a = send_files(
            &app,
            Method::PUT,
            &format!("/api/v1/materials/{m}/pages/{p}"),
            token,
            None,
            &[("rescan.jpg", &new)],
        )
        .await;
        assert_eq!(a.status, StatusCode::OK, "{}", String::from_utf8_lossy(&a.body));
        rescanned.push((m.clone(), p, new));
    }
    let all = ok(&app, Method::GET, &format!("{batch_path}/rescans"), &hr, None).await;
    assert!(all["items"].as_array().unwrap().iter().all(|r| r["done_at"].is_i64()), "{all}");
    for (m, p, new) in &rescanned {
        let a = app.send(Method::GET, &format!("/api/v1/materials/{m}/pages/{p}"), Some(&hr), None).await;
        assert_eq!(&a.body, new, "the rescan replaced page {p}");
    }

    // Round two looks at every rescanned page again; then 验收 closes the batch.
    ok(&app, Method::POST, &format!("{batch_path}/hand-over"), &scanner, None).await;
    let review = ok(&app, Method::GET, &format!("{batch_path}/qc"), &hr, None).await;
    let sample2 = sample_of(&review);
    for (m, p, _) in &rescanned {
        assert!(sample2.contains(&(m.clone(), *p)), "rescanned {m} p{p} in {sample2:?}");
    }
    let accepted =
        ok(&app, Method::POST, &format!("{batch_path}/qc/decision"), &hr, Some(json!({"decision": "accept"}))).await;
    assert_eq!((accepted["state"].as_str(), accepted["open"].as_bool()), (Some("accepted"), Some(false)));
    let late =
        send_files(&app, Method::POST, &path, &scanner, Some(&meta(&pid, "验收后")), &[("1.jpg", &page_jpeg(300, 98))])
            .await;
    assert_eq!(late.status, StatusCode::CONFLICT);
    let a = send_files(
        &app,
        Method::PUT,
        &format!("/api/v1/materials/{m1}/pages/1"),
        if owner(&m1) == "scanner" { &scanner } else { &scanner2 },
        None,
        &[("x.jpg", &page_jpeg(300, 97))],
    )
    .await;
    assert_eq!(a.status, StatusCode::CONFLICT, "an accepted batch's scans stay as accepted");

    // The figures: pages, samples, defects by code, rescans, per operator; turnaround once accepted.
    let b = ok(&app, Method::GET, &batch_path, &hr, None).await;
    let f = &b["figures"];
    assert_eq!((f["pages"].as_u64(), f["materials"].as_u64(), f["dossiers"].as_u64()), (Some(6), Some(3), Some(1)));
    assert_eq!(f["sampled"].as_u64().unwrap(), 3 + sample2.len() as u64);
    assert_eq!((f["defects"].as_u64(), f["rescans"].as_u64(), f["rescans_open"].as_u64()), (Some(2), Some(2), Some(0)));
    assert_eq!(f["defects_by_code"], json!({"模糊": 1, "倾斜": 1}));
    assert!((f["defect_rate"].as_f64().unwrap() - 2.0 / (3.0 + sample2.len() as f64)).abs() < 1e-9);
    assert!(f["turnaround_secs"].is_i64());
    let per = &f["operators"];
    assert_eq!(per["scanner"]["pages"].as_u64().unwrap() + per["scanner2"]["pages"].as_u64().unwrap(), 6);
    assert_eq!(per["scanner"]["defects"].as_u64().unwrap() + per["scanner2"]["defects"].as_u64().unwrap(), 2);

    // Every step is in the trail.
    let auditor = app.login("auditor").await;
    let trail = ok(&app, Method::GET, "/api/v1/audit?action=qc.*&limit=100", &auditor, None).await;
    let actions: Vec<&str> = trail["items"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    for want in ["qc.sample", "qc.defect", "qc.decide"] {
        assert!(actions.contains(&want), "{want} in {actions:?}");
    }
    let trail = ok(&app, Method::GET, "/api/v1/audit?action=batch.*&limit=100", &auditor, None).await;
    let actions: Vec<&str> = trail["items"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    for want in ["batch.self-check", "batch.submit"] {
        assert!(actions.contains(&want), "{want} in {actions:?}");
    }
}

#[tokio::test]
async fn the_digitisation_report_counts_dossiers_and_pages_per_state_as_counted_here() {
    let (app, hr, pid, bid) = scanning_room(100, 1).await;
    let scanner = app.login("scanner").await;
    let second = app.create_person(&hr, person_body("钱立群", &id_number("11010519790101402"), "research")).await;
    let pid2 = second["id"].as_str().unwrap().to_string();
    let other = ok(
        &app,
        Method::POST,
        "/api/v1/batches",
        &hr,
        Some(json!({"name": "第三批", "assignees": ["scanner"], "person_ids": [pid2]})),
    )
    .await;
    let bid2 = other["id"].as_str().unwrap().to_string();
    let mut seed = 200;
    let mut file = |batch: String, person: String, pages: usize, stated: Option<u32>| {
        seed += 10;
        let images: Vec<Vec<u8>> = (0..pages).map(|i| page_jpeg(300, seed + i as u32)).collect();
        let mut m = meta(&person, &format!("材料{seed}"));
        if let Some(n) = stated {
            m["pages"] = json!(n);
        }
        let (app, scanner) = (&app, scanner.clone());
        async move {
            let files: Vec<(&str, &[u8])> = images.iter().map(|i| ("p.jpg", i.as_slice())).collect();
            let a = send_files(
                app,
                Method::POST,
                &format!("/api/v1/batches/{batch}/materials"),
                &scanner,
                Some(&m),
                &files,
            )
            .await;
            assert_eq!(a.status, StatusCode::CREATED, "{}", String::from_utf8_lossy(&a.body));
            a.json()["id"].as_str().unwrap().to_string()
        }
    };
    // Batch one (accepted): a material of 2 pages, and one of 3 pages catalogued as 5 (not linked).
    let a1 = file(bid.clone(), pid.clone(), 2, None).await;
    let a2 = file(bid.clone(), pid.clone(), 3, Some(5)).await;
    // Batch two (still scanning): one of 1 page.
    let b1 = file(bid2.clone(), pid2.clone(), 1, None).await;
    ok(&app, Method::POST, &format!("/api/v1/batches/{bid}/self-check"), &scanner, None).await;
    ok(&app, Method::POST, &format!("/api/v1/batches/{bid}/hand-over"), &scanner, None).await;
    ok(&app, Method::POST, &format!("/api/v1/batches/{bid}/qc/decision"), &hr, Some(json!({"decision": "accept"})))
        .await;

    // Counted here: what was filed, and each material's text as it settles.
    let mut searchable = std::collections::HashMap::new();
    for m in [&a1, &a2, &b1] {
        let v = crate::common::text_settled(&app, &hr, m).await;
        searchable.insert(m.clone(), v["text_status"] == "done");
    }
    let s = |m: &String| searchable[m];
    let pages_if = |items: &[(&String, u64)], f: &dyn Fn(&String) -> bool| {
        items.iter().filter(|(m, _)| f(m)).map(|(_, n)| n).sum::<u64>()
    };
    let one = [(&a1, 2u64), (&a2, 3u64)];
    let two = [(&b1, 1u64)];
    let expect = |items: &[(&String, u64)], state: &str, accepted: bool| -> (u64, u64) {
        let f: Box<dyn Fn(&String) -> bool> = match state {
            "scanned" => Box::new(|_| true),
            "passed_qc" => Box::new(move |_| accepted),
            "linked" => Box::new(|m: &String| *m != a2),
            _ => Box::new(|m: &String| s(m)),
        };
        let pages = pages_if(items, &*f);
        let dossier = if state == "scanned" { !items.is_empty() } else { items.iter().all(|(m, _)| f(m)) };
        (u64::from(dossier), pages)
    };

    let report = ok(&app, Method::GET, "/api/v1/reports/digitization?by=pages", &hr, None).await;
    assert_eq!(report["columns"], json!(["by", "group", "state", "dossiers", "pages"]));
    let rows = report["items"].as_array().unwrap();
    let row = |by: &str, group: &str, state: &str| -> (u64, u64) {
        let r = rows
            .iter()
            .find(|r| r["by"] == by && r["group"] == group && r["state"] == state)
            .unwrap_or_else(|| panic!("{by} {group} {state} in {report}"));
        (r["dossiers"].as_u64().unwrap(), r["pages"].as_u64().unwrap())
    };
    for state in ["scanned", "passed_qc", "linked", "searchable"] {
        assert_eq!(row("batch", "2026年第二批数字化", state), expect(&one, state, true), "batch one, {state}");
        assert_eq!(row("batch", "第三批", state), expect(&two, state, false), "batch two, {state}");
        // Both dossiers are in the research department: the department row adds them up.
        let (d1, p1) = expect(&one, state, true);
        let (d2, p2) = expect(&two, state, false);
        let dept = rows.iter().find(|r| r["by"] == "department" && r["state"] == state).unwrap();
        assert_eq!(
            (dept["dossiers"].as_u64().unwrap(), dept["pages"].as_u64().unwrap()),
            (d1 + d2, p1 + p2),
            "department, {state}"
        );
    }

    // Defects by batch and code: none yet; a scanner may not read them.
    let defects = ok(&app, Method::GET, "/api/v1/reports/digitization?by=defects", &hr, None).await;
    assert_eq!(defects["items"], json!([]));
    assert_eq!(
        app.send(Method::GET, "/api/v1/reports/digitization?by=defects", Some(&scanner), None).await.status,
        StatusCode::FORBIDDEN
    );
}

#[tokio::test]
async fn a_batch_import_of_page_images_named_by_the_pattern_assembles_multi_page_materials() {
    let app = TestApp::new().await;
    let hr = app.login("hr").await;
    let idn = id_number("11010519700101403");
    let pid = app.create_person(&hr, person_body("孙启明", &idn, "research")).await["id"].as_str().unwrap().to_string();
    let catalogue = format!(
        "id_number,name,category,title,formed_on,file\n\
         {idn},孙启明,4-1,毕业登记表,1992-07,images/A017-4-1-001\n\
         {idn},孙启明,9-2,任免审批表,2015-03,images/A017-9-2-001\n"
    );
    let pages: Vec<Vec<u8>> = (0..5).map(|i| page_jpeg(300, 300 + i)).collect();
    // Out of order in the zip, as a scanner's folder may list them: the page numbers decide.
    let zip = crate::imports::zip_of(&[
        ("catalogue.csv", catalogue.as_bytes()),
        ("images/A017-4-1-001-003.jpg", &pages[2]),
        ("images/A017-4-1-001-001.jpg", &pages[0]),
        ("images/A017-4-1-001-002.jpg", &pages[1]),
        ("images/A017-9-2-001-001.jpg", &pages[3]),
        ("images/A017-9-2-001-002.jpg", &pages[4]),
        ("images/stray.jpg", &pages[4]),
    ]);
    let r = crate::imports::import(&app, &hr, zip.clone()).await;
    assert_eq!((r["imported"].as_u64(), r["rejected"].as_u64()), (Some(2), Some(0)), "{r}");
    assert_eq!(r["unlisted"], json!(["images/stray.jpg"]), "{r}");
    let first = r["rows"][0]["material_id"].as_str().unwrap().to_string();
    let m = ok(&app, Method::GET, &format!("/api/v1/materials/{first}"), &hr, None).await;
    let names: Vec<&str> =
        m["page_images"].as_array().unwrap().iter().map(|p| p["file_name"].as_str().unwrap()).collect();
    assert_eq!(names, ["A017-4-1-001-001.jpg", "A017-4-1-001-002.jpg", "A017-4-1-001-003.jpg"]);
    assert_eq!(m["pages"], 3);
    for (n, want) in pages[..3].iter().enumerate() {
        let a = app.send(Method::GET, &format!("/api/v1/materials/{first}/pages/{}", n + 1), Some(&hr), None).await;
        assert_eq!(&a.body, want, "page {}", n + 1);
    }
    let pdf = app.send(Method::GET, &format!("/api/v1/materials/{first}/content"), Some(&hr), None).await;
    assert_eq!(lopdf::Document::load_mem(&pdf.body).unwrap().get_pages().len(), 3);
    // A re-run files nothing twice.
    let again = crate::imports::import(&app, &hr, zip).await;
    assert_eq!((again["imported"].as_u64(), again["skipped"].as_u64()), (Some(0), Some(2)), "{again}");
    assert_eq!(m["person_id"], pid.as_str());
}

#[tokio::test]
async fn nobody_reviews_a_batch_holding_their_own_dossier() {
    let (app, hr, _pid, _bid) = scanning_room(100, 1).await;
    let scanner = app.login("scanner").await;
    let own = app.archive.accounts().user_by_name("hr").unwrap().unwrap().person_id.unwrap().to_string();
    let b = ok(
        &app,
        Method::POST,
        "/api/v1/batches",
        &hr,
        Some(json!({"name": "含本人档案", "assignees": ["scanner"], "person_ids": [own]})),
    )
    .await;
    let bid = b["id"].as_str().unwrap();
    let a = send_files(
        &app,
        Method::POST,
        &format!("/api/v1/batches/{bid}/materials"),
        &scanner,
        Some(&meta(&own, "履历表")),
        &[("1.jpg", &page_jpeg(300, 5))],
    )
    .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", String::from_utf8_lossy(&a.body));
    ok(&app, Method::POST, &format!("/api/v1/batches/{bid}/self-check"), &scanner, None).await;
    ok(&app, Method::POST, &format!("/api/v1/batches/{bid}/hand-over"), &scanner, None).await;
    for (method, path, body) in [
        (Method::GET, format!("/api/v1/batches/{bid}/qc"), None),
        (Method::POST, format!("/api/v1/batches/{bid}/qc/decision"), Some(json!({"decision": "accept"}))),
    ] {
        let a = app.send(method, &path, Some(&hr), body).await;
        assert_eq!(a.status, StatusCode::FORBIDDEN, "{path}");
        assert!(String::from_utf8_lossy(&a.body).contains("hard.own-dossier"), "{}", String::from_utf8_lossy(&a.body));
    }
}

#[tokio::test]
async fn destroying_a_scanned_material_shreds_its_pdf_and_the_originals_kept_apart() {
    let app = crate::common::demo_app().await;
    let hr = app.login("hr").await;
    let pid = crate::common::cadre(&app, &hr, "sales").await["id"].as_str().unwrap().to_string();
    let blobs = || {
        let a = app.archive.clone();
        async move { tokio::task::spawn_blocking(move || a.indexing().verify().unwrap()).await.unwrap() }
    };
    let before = blobs().await;
    let filed = send_files(
        &app,
        Method::POST,
        &format!("/api/v1/persons/{pid}/materials"),
        &hr,
        Some(&json!({"category": "10", "title": "待鉴定扫描件", "formed_on": "2001"})),
        &[("1.jpg", &page_jpeg(300, 61)), ("2.png", &page_png(62))],
    )
    .await;
    assert_eq!(filed.status, StatusCode::CREATED, "{}", String::from_utf8_lossy(&filed.body));
    let mid = filed.json()["id"].as_str().unwrap().to_string();
    // The PDF and the PNG's original: two blobs more (the JPEG's original is the PDF's image).
    let held = blobs().await;
    assert_eq!(held.blobs, before.blobs + 2, "{held:?}");
    assert!(held.missing.is_empty() && held.corrupt.is_empty(), "{held:?}");

    let a = app
        .send(
            Method::POST,
            "/api/v1/requests",
            Some(&hr),
            Some(json!({"kind": "destruction", "person_id": pid, "changes": {"material_ids": [mid], "appraisal": "鉴定会议纪要第10号"}})),
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", String::from_utf8_lossy(&a.body));
    let r = app.approve_as(a.json()["id"].as_str().unwrap(), &["leader1", "admin", "secadmin"]).await;
    assert_eq!(r["state"], "applied", "{r}");
    let after = blobs().await;
    assert_eq!(after.blobs, before.blobs, "both shredded: {after:?}");
    assert!(after.missing.is_empty() && after.orphans.is_empty(), "{after:?}");
    let gone = app.send(Method::GET, &format!("/api/v1/materials/{mid}/pages/2"), Some(&hr), None).await;
    assert!(matches!(gone.status, StatusCode::NOT_FOUND | StatusCode::GONE | StatusCode::FORBIDDEN), "{}", gone.status);
}

#[tokio::test]
async fn the_three_administrators_reach_no_batch_and_no_page_and_their_refusals_are_in_the_trail() {
    let (app, _hr, pid, bid) = scanning_room(100, 1).await;
    app.add_account("secadmin", vec![Role::Secadmin], None, None, None).await;
    let scanner = app.login("scanner").await;
    let a = send_files(
        &app,
        Method::POST,
        &format!("/api/v1/batches/{bid}/materials"),
        &scanner,
        Some(&meta(&pid, "履历表")),
        &[("1.jpg", &page_jpeg(300, 9))],
    )
    .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", String::from_utf8_lossy(&a.body));
    let mid = a.json()["id"].as_str().unwrap().to_string();
    ok(&app, Method::POST, &format!("/api/v1/batches/{bid}/self-check"), &scanner, None).await;
    ok(&app, Method::POST, &format!("/api/v1/batches/{bid}/hand-over"), &scanner, None).await;
    for who in ["it", "secadmin", "auditor"] {
        let token = app.login(who).await;
        for (method, path, body) in [
            (Method::GET, format!("/api/v1/batches/{bid}"), None),
            (Method::GET, format!("/api/v1/batches/{bid}/qc"), None),
            (Method::GET, format!("/api/v1/batches/{bid}/rescans"), None),
            (
                Method::POST,
                format!("/api/v1/batches/{bid}/qc/defects"),
                Some(json!({"material_id": mid, "page": 1, "code": "blur"})),
            ),
            (Method::POST, format!("/api/v1/batches/{bid}/qc/decision"), Some(json!({"decision": "accept"}))),
            (Method::GET, format!("/api/v1/materials/{mid}/pages/1"), None),
            (Method::GET, format!("/api/v1/materials/{mid}/pages.zip"), None),
            (Method::PUT, format!("/api/v1/materials/{mid}/page-order"), Some(json!({"order": [1]}))),
            (Method::DELETE, format!("/api/v1/materials/{mid}/pages/1"), None),
        ] {
            let a = app.send(method.clone(), &path, Some(&token), body).await;
            // What they may not even list is not there (404); nothing is readable or decidable (403 at most).
            assert!(
                matches!(a.status, StatusCode::NOT_FOUND | StatusCode::FORBIDDEN),
                "{who} {method} {path}: {}",
                a.status
            );
        }
    }
    let auditor = app.login("auditor").await;
    let trail = ok(&app, Method::GET, "/api/v1/audit?action=qc.*&limit=100", &auditor, None).await;
    assert!(
        trail["items"].as_array().unwrap().iter().any(|e| e["actor"] == "secadmin" && e["outcome"] == "denied"),
        "{trail}"
    );
    let trail = ok(&app, Method::GET, "/api/v1/audit?action=material.page&limit=100", &auditor, None).await;
    assert!(
        trail["items"].as_array().unwrap().iter().any(|e| e["actor"] == "it" && e["outcome"] == "denied"),
        "{trail}"
    );
}
