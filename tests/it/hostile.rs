//! Hostile files through the real extraction worker: each is stored (or refused) with a clear answer, the
//! server keeps serving, and nothing already stored is touched. Zip bombs, zip slips and malformed catalogues
//! are in `imports` and `packages`; empty, oversized and unknown-category uploads in `http_api`.

use crate::common::*;
use axum::http::{Method, StatusCode};
use serde_json::json;

/// A PDF whose page dictionary nests arrays 200,000 deep: a recursive parser overflows its stack on it.
fn deeply_nested_pdf() -> Vec<u8> {
    let deep = format!("{}{}", "[".repeat(200_000), "]".repeat(200_000));
    let objects = [
        "<< /Type /Catalog /Pages 2 0 R >>".to_string(),
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_string(),
        format!("<< /Type /Page /Parent 2 0 R /X {deep} >>"),
    ];
    let mut out = b"%PDF-1.4\n".to_vec();
    let mut offsets = Vec::new();
    for (i, o) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.extend_from_slice(format!("{} 0 obj\n{o}\nendobj\n", i + 1).as_bytes());
    }
    let xref = out.len();
    out.extend_from_slice(format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).as_bytes());
    for o in offsets {
        out.extend_from_slice(format!("{o:010} 00000 n \n").as_bytes());
    }
    out.extend_from_slice(
        format!("trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n", objects.len() + 1).as_bytes(),
    );
    out
}

#[tokio::test]
async fn hostile_files_are_stored_with_a_reason_and_the_server_keeps_serving() {
    let app = TestApp::new().await;
    let hr = app.login("hr").await;
    let p = app.create_person(&hr, person_body("钱八", &id_number("51010419800202002"), "research")).await;
    let pid = p["id"].as_str().unwrap().to_string();
    // Something stored before, to show it is untouched after.
    let resume = fixture("resume-zh.pdf");
    let before =
        app.upload(&hr, &pid, json!({"category": "1", "title": "干部履历表"}), "resume.pdf", &resume).await.json();
    let meta = |title: &str| json!({"category": "10", "title": title});

    // A PDF that overflows the parser's stack: the worker dies, the material is stored with text_status failed.
    let deep = app.upload(&hr, &pid, meta("嵌套"), "deep.pdf", &deeply_nested_pdf()).await;
    assert_eq!(deep.status, StatusCode::CREATED, "{}", String::from_utf8_lossy(&deep.body));
    assert_eq!(deep.json()["text_status"], "failed", "{}", deep.json());

    // A truncated scan: stored; OCR (when installed) fails or reads nothing, never hangs.
    let png = fixture("scan-form.png");
    let truncated = app.upload(&hr, &pid, meta("残缺扫描件"), "cut.png", &png[..png.len() / 3]).await;
    assert_eq!(truncated.status, StatusCode::CREATED);
    assert_eq!(truncated.json()["mime"], "image/png");
    let truncated = text_settled(&app, &hr, truncated.json()["id"].as_str().unwrap()).await;
    assert!(["failed", "done", "none"].contains(&truncated["text_status"].as_str().unwrap()), "{truncated}");

    // Extensions that lie: the type comes from the content.
    let lying_pdf = app.upload(&hr, &pid, meta("伪装成图片的PDF"), "photo.jpg", &resume).await.json();
    assert_eq!(
        (lying_pdf["mime"].as_str(), lying_pdf["text_status"].as_str()),
        (Some("application/pdf"), Some("done"))
    );
    let lying_png = app.upload(&hr, &pid, meta("伪装成PDF的图片"), "form.pdf", &png).await.json();
    assert_eq!(lying_png["mime"], "image/png");
    // Random bytes called .docx: stored as what they are, with no text.
    let noise: Vec<u8> = (0..4096u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
    let docx = app.upload(&hr, &pid, meta("乱码"), "contract.docx", &noise).await;
    assert_eq!(docx.status, StatusCode::CREATED);
    assert_ne!(docx.json()["mime"], "application/vnd.openxmlformats-officedocument.wordprocessingml.document");

    // Still serving, and what was stored before is byte for byte the same.
    assert_eq!(app.send(Method::GET, "/api/v1/health", None, None).await.status, StatusCode::OK);
    let id = before["id"].as_str().unwrap();
    let a = app.send(Method::GET, &format!("/api/v1/materials/{id}/content"), Some(&hr), None).await;
    assert_eq!(a.body, resume);
    // The résumé and the same PDF under a lying name.
    assert_eq!(app.search(&hr, "干部履历表").await["total"], 2);
}
