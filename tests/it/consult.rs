//! 查(借)阅 as the 条例 runs it (issue 15 item 5, docs/DOMAIN.md §4c): the consultation record (unit, readers,
//! purpose, period, 介绍信), approval by 干部管理权限 and never by an administrator, the grant's separate
//! permissions enforced by the gate, watermarks on everything read under a grant while the stored bytes stay, and
//! the 查阅登记 report.

use crate::common::*;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use serde_json::{Value, json};

fn until() -> String {
    (time::OffsetDateTime::now_utc().date() + time::Duration::days(14)).to_string()
}

fn text(a: &Answer) -> String {
    String::from_utf8_lossy(&a.body).into_owned()
}

/// A PDF of one Helvetica text per page.
pub fn pdf_pages(texts: &[&str]) -> Vec<u8> {
    let n = texts.len();
    let mut objects: Vec<String> = vec![
        "<< /Type /Catalog /Pages 2 0 R >>".into(),
        format!(
            "<< /Type /Pages /Kids [{}] /Count {n} >>",
            (0..n).map(|i| format!("{} 0 R", 4 + 2 * i)).collect::<Vec<_>>().join(" ")
        ),
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>".into(),
    ];
    for (i, t) in texts.iter().enumerate() {
        let content = format!("BT /F1 14 Tf 72 700 Td ({t}) Tj ET");
        objects.push(format!(
            "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents {} 0 R /Resources << /Font << /F1 3 0 R >> >> >>",
            5 + 2 * i
        ));
        objects.push(format!("<< /Length {} >>\nstream\n{content}\nendstream", content.len()));
    }
    let mut pdf = b"%PDF-1.4\n".to_vec();
    let mut offsets = Vec::new();
    for (i, o) in objects.iter().enumerate() {
        offsets.push(pdf.len());
        pdf.extend(format!("{} 0 obj\n{o}\nendobj\n", i + 1).as_bytes());
    }
    let xref = pdf.len();
    pdf.extend(format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).as_bytes());
    for o in offsets {
        pdf.extend(format!("{o:010} 00000 n \n").as_bytes());
    }
    pdf.extend(
        format!("trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n", objects.len() + 1).as_bytes(),
    );
    pdf
}

pub struct Office {
    pub app: TestApp,
    pub hr: String,
    pub legal: String,
    pub leader1: String,
    pub pid: String,
}

pub async fn office() -> Office {
    let app = demo_app().await;
    let hr = app.login("hr").await;
    let pid = cadre(&app, &hr, "research").await["id"].as_str().unwrap().to_string();
    let legal = app.login("legal").await;
    let leader1 = app.login("leader1").await;
    Office { app, hr, legal, leader1, pid }
}

/// Files a material (HR) and returns its id.
pub async fn file(o: &Office, category: &str, title: &str, name: &str, bytes: &[u8]) -> String {
    let m = o.app.upload(&o.hr, &o.pid, json!({"category": category, "title": title}), name, bytes).await;
    assert_eq!(m.status, StatusCode::CREATED, "{}", text(&m));
    m.json()["id"].as_str().unwrap().to_string()
}

pub async fn ask(o: &Office, token: &str, body: Value) -> Answer {
    o.app.send(Method::POST, "/api/v1/grants", Some(token), Some(body)).await
}

pub fn consultation(pid: &str, permissions: &[&str]) -> Value {
    json!({
        "person_id": pid, "purpose": "核查学历真实性", "until": until(), "unit": "某市委组织部干部监督科",
        "readers": ["legal", "finance"], "permissions": permissions,
    })
}

pub async fn put_letter(o: &Office, token: &str, gid: &str, bytes: &[u8]) -> Answer {
    put_letter_as(&o.app, token, gid, bytes).await
}

pub async fn put_letter_as(app: &TestApp, token: &str, gid: &str, bytes: &[u8]) -> Answer {
    let req = Request::builder()
        .method(Method::PUT)
        .uri(format!("/api/v1/grants/{gid}/letter?file_name=letter.pdf"))
        .header("authorization", format!("Bearer {token}"))
        .header("content-type", "application/pdf")
        .body(Body::from(bytes.to_vec()))
        .unwrap();
    app.call(req).await
}

async fn decide(o: &Office, token: &str, gid: &str) -> Answer {
    o.app
        .send(
            Method::POST,
            &format!("/api/v1/grants/{gid}/decision"),
            Some(token),
            Some(json!({"decision": "approve"})),
        )
        .await
}

/// Asks (legal), attaches the letter, and has leader1 approve; returns the grant id.
pub async fn granted(o: &Office, permissions: &[&str]) -> String {
    let g = ask(o, &o.legal, consultation(&o.pid, permissions)).await;
    assert_eq!(g.status, StatusCode::CREATED, "{}", text(&g));
    let gid = g.json()["id"].as_str().unwrap().to_string();
    assert_eq!(put_letter(o, &o.legal, &gid, &pdf_pages(&["LETTER"])).await.status, StatusCode::OK);
    let d = decide(o, &o.leader1, &gid).await;
    assert_eq!(d.status, StatusCode::OK, "{}", text(&d));
    gid
}

fn blake3_hex(b: &[u8]) -> String {
    blake3::hash(b).to_hex().to_string()
}

fn pdf_text(b: &[u8]) -> String {
    pdf_extract::extract_text_from_mem(b).unwrap()
}

#[tokio::test]
async fn a_grant_without_download_views_watermarked_but_does_not_download_and_the_stored_bytes_stay() {
    let o = office().await;
    let original = pdf_pages(&["DIPLOMA PAGE ONE", "DIPLOMA PAGE TWO"]);
    let mid = file(&o, "4-1", "学位证书", "diploma.pdf", &original).await;
    let gid = granted(&o, &["view"]).await;

    let view = o.app.send(Method::GET, &format!("/api/v1/materials/{mid}/view"), Some(&o.legal), None).await;
    assert_eq!(view.status, StatusCode::OK, "{}", text(&view));
    assert_eq!(view.header("content-type"), "application/pdf");
    assert!(view.header("content-disposition").starts_with("inline"));
    assert_eq!(view.header("x-dangan-watermark"), format!("grant {gid}"));
    let seen = pdf_text(&view.body);
    let stamp = format!("dangan GRANT {gid} - reader legal");
    for page in seen.split('\u{c}').filter(|p| p.contains("DIPLOMA")) {
        assert!(page.contains(&stamp), "a page without the stamp: {page}");
    }
    assert_eq!(seen.matches(&stamp).count(), 6, "three stamps on each of two pages: {seen}");
    assert_ne!(view.body, original);

    let down = o.app.send(Method::GET, &format!("/api/v1/materials/{mid}/content"), Some(&o.legal), None).await;
    assert_eq!(down.status, StatusCode::FORBIDDEN);
    assert!(text(&down).contains("rule grant.download") && text(&down).contains(&gid), "{}", text(&down));
    let v1 =
        o.app.send(Method::GET, &format!("/api/v1/materials/{mid}/versions/1/content"), Some(&o.legal), None).await;
    assert_eq!(v1.status, StatusCode::FORBIDDEN, "a version's bytes are a download too");

    // The stored bytes and their hash are what was filed.
    let hr = o.app.send(Method::GET, &format!("/api/v1/materials/{mid}/content"), Some(&o.hr), None).await;
    assert_eq!(hr.body, original);
    assert_eq!(hr.header("x-content-blake3"), blake3_hex(&original));
    let meta = o.app.send(Method::GET, &format!("/api/v1/materials/{mid}"), Some(&o.hr), None).await.json();
    assert_eq!(meta["content_hash"], blake3_hex(&original));

    // Every read under the grant names it in the trail.
    let auditor = o.app.login("auditor").await;
    let trail = o
        .app
        .send(Method::GET, &format!("/api/v1/audit?action=material.view&object=material:{mid}"), Some(&auditor), None)
        .await
        .json();
    assert_eq!(trail["items"][0]["detail"], format!("grant:{gid}"));
}

#[tokio::test]
async fn a_grant_with_download_serves_every_page_stamped_images_as_a_stamped_page_and_keeps_the_stored_bytes() {
    let o = office().await;
    let original = pdf_pages(&["ONE", "TWO", "THREE"]);
    let mid = file(&o, "4-1", "学历证明", "proof.pdf", &original).await;
    let jpg = fixture("scan-form.jpg");
    let scan = file(&o, "4-1", "学历证明扫描件", "scan.jpg", &jpg).await;
    let png = fixture("scan-form.png");
    let scan_png = file(&o, "4-1", "学历证明扫描件 PNG", "scan.png", &png).await;
    let gid = granted(&o, &["download", "print"]).await;

    let down = o.app.send(Method::GET, &format!("/api/v1/materials/{mid}/content"), Some(&o.legal), None).await;
    assert_eq!(down.status, StatusCode::OK, "{}", text(&down));
    assert!(down.header("content-disposition").starts_with("attachment"));
    assert_eq!(down.header("x-content-blake3"), blake3_hex(&down.body), "the hash header is the served copy's");
    let seen = pdf_text(&down.body);
    let stamp = format!("dangan GRANT {gid} - reader legal");
    for word in ["ONE", "TWO", "THREE"] {
        assert!(seen.contains(word), "{seen}");
    }
    assert_eq!(seen.matches(&stamp).count(), 9, "three stamps on each of three pages: {seen}");
    // The other reader is named on theirs.
    let finance = o.app.login("finance").await;
    let theirs = o.app.send(Method::GET, &format!("/api/v1/materials/{mid}/content"), Some(&finance), None).await;
    assert!(pdf_text(&theirs.body).contains(&format!("dangan GRANT {gid} - reader finance")));

    // A JPEG, and a PNG, come as a one-page PDF around the image, stamped. (pdf-extract reads an image
    // XObject's data as if it were a content stream and panics on a PNG's, so the PNG's page is read with lopdf.)
    for id in [&scan, &scan_png] {
        let img = o.app.send(Method::GET, &format!("/api/v1/materials/{id}/content"), Some(&o.legal), None).await;
        assert_eq!(img.status, StatusCode::OK, "{}", text(&img));
        assert_eq!(img.header("content-type"), "application/pdf");
        let doc = lopdf::Document::load_mem(&img.body).unwrap();
        let pages = doc.get_pages();
        assert_eq!(pages.len(), 1);
        let content = String::from_utf8_lossy(&doc.get_page_content(pages[&1]).unwrap()).into_owned();
        assert!(content.contains("/Im0 Do") && content.contains(&format!("({stamp}")), "{content}");
    }
    let jpg_copy = o.app.send(Method::GET, &format!("/api/v1/materials/{scan}/content"), Some(&o.legal), None).await;
    assert!(pdf_text(&jpg_copy.body).contains(&stamp));
    let hr_jpg = o.app.send(Method::GET, &format!("/api/v1/materials/{scan}/content"), Some(&o.hr), None).await;
    assert_eq!((hr_jpg.body == jpg, hr_jpg.header("x-content-blake3")), (true, blake3_hex(&jpg)));
    let hr = o.app.send(Method::GET, &format!("/api/v1/materials/{mid}/content"), Some(&o.hr), None).await;
    assert_eq!((hr.body == original, hr.header("x-content-blake3")), (true, blake3_hex(&original)));
}

#[tokio::test]
async fn the_approver_follows_the_authority_and_administrators_neither_approve_nor_read() {
    let o = office().await;
    let mid = file(&o, "4-1", "学位证书", "d.txt", "学位证书 工学学士".as_bytes()).await;
    let g = ask(&o, &o.legal, consultation(&o.pid, &["view", "download"])).await;
    assert_eq!(g.status, StatusCode::CREATED, "{}", text(&g));
    let g = g.json();
    assert_eq!((g["approver"].as_str(), g["unit"].as_str()), (Some("leader:1"), Some("某市委组织部干部监督科")));
    assert_eq!(g["readers"], json!(["legal", "finance"]));
    let gid = g["id"].as_str().unwrap().to_string();

    // Without the 介绍信 it is not approved.
    let early = decide(&o, &o.leader1, &gid).await;
    assert_eq!(early.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(text(&early).contains("介绍信"), "{}", text(&early));
    let bad = put_letter(&o, &o.legal, &gid, b"just words").await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", text(&bad));
    let hr_letter = put_letter(&o, &o.hr, &gid, &pdf_pages(&["X"])).await;
    assert_eq!(hr_letter.status, StatusCode::NOT_FOUND, "only the requester uploads the letter");
    let letter = pdf_pages(&["INTRODUCTION"]);
    assert_eq!(put_letter(&o, &o.legal, &gid, &letter).await.status, StatusCode::OK);

    // The administrators: none approves (三员分立), each refusal audited; nor does the requester, a reader, or a
    // leader without the authority.
    for who in ["secadmin", "it", "auditor"] {
        let t = o.app.login(who).await;
        let d = decide(&o, &t, &gid).await;
        assert_eq!(d.status, StatusCode::FORBIDDEN, "{who}");
        assert!(text(&d).contains("rule consultation.authority"), "{who}: {}", text(&d));
    }
    let own = decide(&o, &o.legal, &gid).await;
    assert!(text(&own).contains("hard.own-request"));
    let finance = o.app.login("finance").await;
    assert!(text(&decide(&o, &finance, &gid).await).contains("hard.four-eyes"), "a reader does not approve");
    let leader2 = o.app.login("leader2").await;
    let wrong = decide(&o, &leader2, &gid).await;
    assert_eq!(wrong.status, StatusCode::FORBIDDEN);
    assert!(text(&wrong).contains("leader:1"), "{}", text(&wrong));
    let auditor = o.app.login("auditor").await;
    let denials =
        o.app.send(Method::GET, "/api/v1/audit?action=grant.approve&outcome=denied", Some(&auditor), None).await.json();
    assert!(denials["total"].as_u64().unwrap() >= 6, "{denials}");

    // The letter: the authority and the auditor read it; not the security administrator, nor the requester.
    let l = o.app.send(Method::GET, &format!("/api/v1/grants/{gid}/letter"), Some(&o.leader1), None).await;
    assert_eq!((l.status, l.body == letter), (StatusCode::OK, true));
    let l = o.app.send(Method::GET, &format!("/api/v1/grants/{gid}/letter"), Some(&auditor), None).await;
    assert_eq!(l.status, StatusCode::OK);
    for t in [o.app.login("secadmin").await, o.legal.clone()] {
        let l = o.app.send(Method::GET, &format!("/api/v1/grants/{gid}/letter"), Some(&t), None).await;
        assert_eq!(l.status, StatusCode::FORBIDDEN);
        assert!(text(&l).contains("consultation.letter"));
    }
    let listed = o.app.send(Method::GET, &format!("/api/v1/grants/{gid}"), Some(&o.leader1), None).await.json();
    assert!(listed["letter"]["content_hash"].is_string() && listed["letter"].get("address").is_none(), "{listed}");

    assert_eq!(decide(&o, &o.leader1, &gid).await.status, StatusCode::OK);
    // The readers read; the administrators, named or not, read nothing; nor does an account not named on it.
    let path = format!("/api/v1/materials/{mid}/content");
    assert_eq!(o.app.send(Method::GET, &path, Some(&o.legal), None).await.status, StatusCode::OK);
    assert_eq!(o.app.send(Method::GET, &path, Some(&finance), None).await.status, StatusCode::OK);
    for who in ["secadmin", "it", "auditor", "head-sales", "admin"] {
        let t = o.app.login(who).await;
        for p in [path.clone(), format!("/api/v1/materials/{mid}/view")] {
            let a = o.app.send(Method::GET, &p, Some(&t), None).await;
            assert!(matches!(a.status, StatusCode::NOT_FOUND | StatusCode::FORBIDDEN), "{who} {p}: {}", a.status);
        }
    }
    assert_eq!(o.app.search(&finance, "工学学士").await["total"], 1, "a reader finds it");
}

#[tokio::test]
async fn a_consultation_is_refused_with_the_field_that_is_wrong() {
    let o = office().await;
    let cases = [
        (json!({"unit": " "}), "unit"),
        (json!({"readers": ["legal"]}), "readers"),
        (json!({"readers": ["legal", "legal"]}), "readers"),
        (json!({"readers": ["legal", "nobody-here"]}), "readers"),
        (json!({"readers": ["legal", "secadmin"]}), "readers"),
        (json!({"purpose": "x"}), "purpose"),
        (json!({"until": "2001-01-01"}), "until"),
    ];
    for (change, field) in cases {
        let mut body = consultation(&o.pid, &["view"]);
        for (k, v) in change.as_object().unwrap() {
            body[k] = v.clone();
        }
        let a = ask(&o, &o.legal, body).await;
        assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY, "{change}: {}", text(&a));
        assert!(text(&a).contains(field), "{change}: {}", text(&a));
    }
    let mut body = consultation(&o.pid, &["view"]);
    body["permissions"] = json!(["view", "steal"]);
    assert_eq!(ask(&o, &o.legal, body).await.status, StatusCode::UNPROCESSABLE_ENTITY);
    // A reader whose own dossier it is: 403 naming the rule.
    let finance_pid = o.app.archive.accounts().user_by_name("finance").unwrap().unwrap().person_id.unwrap().to_string();
    let own = ask(&o, &o.legal, consultation(&finance_pid, &["view"])).await;
    assert_eq!(own.status, StatusCode::FORBIDDEN);
    assert!(text(&own).contains("hard.own-dossier") && text(&own).contains("finance"), "{}", text(&own));
    // The old way in, a consultation request, points to the grant.
    let r = o
        .app
        .send(
            Method::POST,
            "/api/v1/requests",
            Some(&o.legal),
            Some(json!({"kind": "consultation", "person_id": o.pid, "changes": {"purpose": "核查", "until": until()}})),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(text(&r).contains("/api/v1/grants"));
}

#[tokio::test]
async fn nobody_approves_a_consultation_of_their_own_dossier() {
    let o = office().await;
    let leader1_pid = o.app.archive.accounts().user_by_name("leader1").unwrap().unwrap().person_id.unwrap().to_string();
    let g = ask(&o, &o.legal, consultation(&leader1_pid, &["view"])).await;
    assert_eq!(g.status, StatusCode::CREATED, "{}", text(&g));
    let gid = g.json()["id"].as_str().unwrap().to_string();
    put_letter(&o, &o.legal, &gid, &pdf_pages(&["L"])).await;
    let d = decide(&o, &o.leader1, &gid).await;
    assert_eq!(d.status, StatusCode::FORBIDDEN);
    assert!(text(&d).contains("hard.own-dossier"), "{}", text(&d));
}

#[tokio::test]
async fn the_consultation_register_lists_unit_readers_approver_and_what_was_read() {
    let o = office().await;
    let mid = file(&o, "4-1", "学位证书", "d.pdf", &pdf_pages(&["DEGREE"])).await;
    let gid = granted(&o, &["view"]).await;
    assert_eq!(
        o.app.send(Method::GET, &format!("/api/v1/materials/{mid}/view"), Some(&o.legal), None).await.status,
        StatusCode::OK
    );
    let auditor = o.app.login("auditor").await;
    let r = o.app.send(Method::GET, "/api/v1/reports/consultations", Some(&auditor), None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", text(&r));
    let r = r.json();
    let row = r["items"].as_array().unwrap().iter().find(|i| i["grant"] == gid.as_str()).unwrap().clone();
    assert_eq!(row["unit"], "某市委组织部干部监督科");
    assert_eq!(row["readers"], "legal, finance");
    assert_eq!((row["approver"].as_str(), row["decided_by"].as_str()), (Some("leader:1"), Some("leader1")));
    assert_eq!(row["reads"], 1);
    assert!(row["read"].as_str().unwrap().contains(&format!("legal material.view material:{mid}")), "{row}");
    let csv = o.app.send(Method::GET, "/api/v1/reports/consultations?format=csv", Some(&o.hr), None).await;
    assert_eq!(csv.status, StatusCode::OK);
    assert!(text(&csv).contains("某市委组织部干部监督科"));
    let xlsx = o.app.send(Method::GET, "/api/v1/reports/consultations?format=xlsx", Some(&o.hr), None).await;
    assert_eq!((xlsx.status, &xlsx.body[..2]), (StatusCode::OK, &b"PK"[..]));
    for who in ["legal", "secadmin", "leader1"] {
        let t = o.app.login(who).await;
        let a = o.app.send(Method::GET, "/api/v1/reports/consultations", Some(&t), None).await;
        assert_eq!(a.status, StatusCode::FORBIDDEN, "{who}");
        assert!(text(&a).contains("report.consultations"));
    }
}
