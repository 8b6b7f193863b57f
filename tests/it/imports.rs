//! Batch imports over the API: a zip of files with a catalogue, the report, re-runs, and hostile batches.

use crate::common::*;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use serde_json::Value;
use std::io::Write;
use std::time::{Duration, Instant};

/// A zip of `(name, bytes)`.
pub fn zip_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    for (name, bytes) in entries {
        w.start_file(*name, opts).unwrap();
        w.write_all(bytes).unwrap();
    }
    w.finish().unwrap().into_inner()
}

async fn post_zip(app: &TestApp, token: &str, zip: Vec<u8>) -> Answer {
    post_zip_at(app, token, "/api/v1/imports", zip).await
}

async fn post_zip_at(app: &TestApp, token: &str, uri: &str, zip: Vec<u8>) -> Answer {
    let req = Request::builder()
        .method(Method::POST)
        .uri(uri)
        .header("authorization", format!("Bearer {token}"))
        .header("content-type", "application/zip")
        .body(Body::from(zip))
        .unwrap();
    app.call(req).await
}

/// Starts an import and waits for its report.
pub async fn import(app: &TestApp, token: &str, zip: Vec<u8>) -> Value {
    import_at(app, token, "/api/v1/imports", zip).await
}

/// Starts an import at `uri` (with its query) and waits for its report.
async fn import_at(app: &TestApp, token: &str, uri: &str, zip: Vec<u8>) -> Value {
    let a = post_zip_at(app, token, uri, zip).await;
    assert_eq!(a.status, StatusCode::ACCEPTED, "{}", String::from_utf8_lossy(&a.body));
    let location = a.header("location");
    assert_eq!(location, format!("/api/v1/imports/{}", a.json()["id"].as_str().unwrap()));
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let r = app.send(Method::GET, &location, Some(token), None).await;
        assert_eq!(r.status, StatusCode::OK);
        let v = r.json();
        if v["state"] == "done" {
            return v;
        }
        assert!(Instant::now() < deadline, "import did not finish: {v}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn catalogue_titles(app: &TestApp, token: &str, person: &str) -> Vec<String> {
    let a = app.send(Method::GET, &format!("/api/v1/persons/{person}/materials"), Some(token), None).await;
    a.json()["items"].as_array().unwrap().iter().map(|m| m["title"].as_str().unwrap().to_string()).collect()
}

#[tokio::test]
async fn a_batch_is_imported_row_by_row_with_a_report_and_a_rerun_stores_nothing_twice() {
    let app = TestApp::new().await;
    let hr = app.login("hr").await;
    let idn_a = id_number("11010119800517001");
    let idn_b = id_number("11010119851203002");
    let a = app.create_person(&hr, person_body("张三", &idn_a, "hr")).await["id"].as_str().unwrap().to_string();
    let b = app.create_person(&hr, person_body("李四", &idn_b, "hr")).await["id"].as_str().unwrap().to_string();
    // Headings by national code, dates as catalogues write them, GB18030 as Excel saves it.
    let catalogue = format!(
        "A0184,A0101,E01Z101,E01Z111,E01Z117,E01Z114,E01Z231,file\n\
         {idn_a},张三,一,干部履历表,2019.07.01,1,原件,scans/resume.pdf\n\
         {idn_a},张三,9-1,工资审批表,201907,1,,scans/salary.txt\n\
         {idn_b},李四,4-1,毕业证书扫描件,2003年7月,1,,scans/form.png\n\
         {idn_b},李四,4-1,学位证书,2003-07,1,,scans/form.png\n\
         {},王五,1,无此人,2019,1,,scans/notes.md\n\
         {idn_a},张三,1,空文件,2019,1,,scans/empty.txt\n\
         {idn_a},张三,1,日期有误,2019-13-01,1,,scans/notes.md\n\
         {idn_a},李四,1,姓名不符,2019,1,,scans/notes.md\n\
         {idn_a},张三,11,类别有误,2019,1,,scans/notes.md\n\
         {idn_a},张三,1,缺少文件,2019,1,,scans/missing.pdf\n",
        id_number("11010119900101003"),
    );
    let (gbk, _, _) = encoding_rs::GB18030.encode(&catalogue);
    let files: Vec<(&str, Vec<u8>)> = vec![
        ("catalogue.csv", gbk.into_owned()),
        ("scans/resume.pdf", fixture("resume-zh.pdf")),
        ("scans/salary.txt", fixture("salary.txt")),
        ("scans/form.png", fixture("scan-form.png")),
        ("scans/notes.md", fixture("notes.md")),
        ("scans/empty.txt", Vec::new()),
        ("scans/stray.txt", b"not in the catalogue".to_vec()),
    ];
    let entries: Vec<(&str, &[u8])> = files.iter().map(|(n, b)| (*n, b.as_slice())).collect();
    let zip = zip_of(&entries);

    // Finance may not file materials at all.
    let finance = app.login("finance").await;
    assert_eq!(post_zip(&app, &finance, zip.clone()).await.status, StatusCode::FORBIDDEN);

    let r = import(&app, &hr, zip.clone()).await;
    assert_eq!((r["total"].as_u64(), r["processed"].as_u64()), (Some(10), Some(10)), "{r}");
    // The same scan filed twice for one person is stored once: the second row is skipped.
    assert_eq!((r["imported"].as_u64(), r["skipped"].as_u64(), r["rejected"].as_u64()), (Some(3), Some(1), Some(6)));
    assert_eq!(r["unlisted"], serde_json::json!(["scans/stray.txt"]));
    let reason = |line: u64| -> String {
        let row = r["rows"].as_array().unwrap().iter().find(|x| x["line"] == line).unwrap();
        format!("{} {}", row["outcome"], row["reason"])
    };
    assert!(reason(5).contains("skipped"), "{}", reason(5));
    assert!(reason(6).contains("no person with ID number") && !reason(6).contains("11010119900101003"));
    assert!(reason(7).contains("empty"), "{}", reason(7));
    assert!(reason(8).contains("形成时间"), "{}", reason(8));
    assert!(reason(9).contains("does not match"), "{}", reason(9));
    assert!(reason(10).contains("category"), "{}", reason(10));
    assert!(reason(11).contains("missing.pdf"), "{}", reason(11));
    let mut titles = catalogue_titles(&app, &hr, &a).await;
    titles.sort();
    assert_eq!(titles, ["工资审批表", "干部履历表"]);
    assert_eq!(catalogue_titles(&app, &hr, &b).await, ["毕业证书扫描件"]);
    // The catalogue fields came through: category by Chinese numeral, the date, the note.
    let items = app.send(Method::GET, &format!("/api/v1/persons/{a}/materials"), Some(&hr), None).await.json();
    let resume = items["items"].as_array().unwrap().iter().find(|m| m["title"] == "干部履历表").unwrap().clone();
    assert_eq!((resume["category"].as_str(), resume["formed_on"].as_str()), (Some("1"), Some("2019-07-01")));
    assert_eq!(resume["note"], "原件");
    // Imported text is searchable once indexed.
    app.archive.indexing().wait_queue_empty(Duration::from_secs(60)).unwrap();
    assert_eq!(app.search(&hr, "干部履历表").await["total"], 1);

    // The same batch again: nothing new is stored.
    let again = import(&app, &hr, zip).await;
    assert_eq!((again["imported"].as_u64(), again["skipped"].as_u64()), (Some(0), Some(4)), "{again}");
    assert_eq!(catalogue_titles(&app, &hr, &a).await.len(), 2);
}

#[tokio::test]
async fn hostile_batches_are_refused_whole_in_seconds_and_change_nothing() {
    let app = TestApp::new().await;
    let hr = app.login("hr").await;
    let idn = id_number("11010119800517001");
    let person = app.create_person(&hr, person_body("张三", &idn, "hr")).await["id"].as_str().unwrap().to_string();
    let catalogue = format!("id_number,category,title,file\n{idn},1,履历表,a.txt\n");
    let bomb = vec![0u8; 64 * 1024 * 1024];
    let cases: Vec<(&str, Vec<u8>, StatusCode, &str)> = vec![
        (
            "zip slip",
            zip_of(&[("catalogue.csv", catalogue.as_bytes()), ("../../etc/cron.d/x", b"evil"), ("a.txt", b"ok")]),
            StatusCode::UNPROCESSABLE_ENTITY,
            "unsafe path",
        ),
        (
            "absolute path",
            zip_of(&[("catalogue.csv", catalogue.as_bytes()), ("/etc/passwd", b"evil"), ("a.txt", b"ok")]),
            StatusCode::UNPROCESSABLE_ENTITY,
            "absolute",
        ),
        (
            "zip bomb",
            zip_of(&[("catalogue.csv", catalogue.as_bytes()), ("a.txt", &bomb)]),
            StatusCode::PAYLOAD_TOO_LARGE,
            "compression ratio",
        ),
        (
            "duplicate names",
            zip_of(&[("catalogue.csv", catalogue.as_bytes()), ("a.txt", b"one"), ("./a.txt", b"two")]),
            StatusCode::UNPROCESSABLE_ENTITY,
            "more than once",
        ),
        ("not a zip", b"%PDF-1.4 this is not a zip".to_vec(), StatusCode::UNPROCESSABLE_ENTITY, "not a readable zip"),
        ("no catalogue", zip_of(&[("a.txt", b"ok")]), StatusCode::UNPROCESSABLE_ENTITY, "no catalogue.csv"),
        (
            "catalogue without columns",
            zip_of(&[("catalogue.csv", b"name,remark\nx,y\n"), ("a.txt", b"ok")]),
            StatusCode::UNPROCESSABLE_ENTITY,
            "no file column",
        ),
        (
            "catalogue not text",
            zip_of(&[("catalogue.csv", b"\xff\xfe\xfd\x80\x81"), ("a.txt", b"ok")]),
            StatusCode::UNPROCESSABLE_ENTITY,
            "catalogue",
        ),
    ];
    for (what, zip, status, says) in cases {
        let started = Instant::now();
        let a = post_zip(&app, &hr, zip).await;
        assert_eq!(a.status, status, "{what}: {}", String::from_utf8_lossy(&a.body));
        assert_eq!(a.header("content-type"), "application/problem+json", "{what}");
        let detail = a.json()["detail"].as_str().unwrap_or_default().to_string();
        assert!(detail.contains(says), "{what}: {detail}");
        assert!(started.elapsed() < Duration::from_secs(10), "{what} took {:?}", started.elapsed());
    }
    assert!(catalogue_titles(&app, &hr, &person).await.is_empty(), "a refused batch filed something");
    // An empty body and an unknown import.
    assert_eq!(post_zip(&app, &hr, Vec::new()).await.status, StatusCode::UNPROCESSABLE_ENTITY);
    let unknown = app.send(Method::GET, "/api/v1/imports/0190a8c0-0000-7000-8000-000000000000", Some(&hr), None).await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    let bad = app.send(Method::GET, "/api/v1/imports/not-an-id", Some(&hr), None).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn a_batch_with_an_xlsx_catalogue_is_imported() {
    let app = TestApp::new().await;
    let hr = app.login("hr").await;
    let idn = id_number("11010119800517001");
    let person = app.create_person(&hr, person_body("张三", &idn, "hr")).await["id"].as_str().unwrap().to_string();
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    for (c, h) in ["身份证号", "类别", "材料名称", "形成时间", "文件"].iter().enumerate() {
        sheet.write_string(0, c as u16, *h).unwrap();
    }
    for (c, v) in [idn.as_str(), "3", "年度考核登记表", "2020-01-08", "a.pdf"].iter().enumerate() {
        sheet.write_string(1, c as u16, *v).unwrap();
    }
    let xlsx = book.save_to_buffer().unwrap();
    let pdf = fixture("assessment-tw.pdf");
    let r = import(&app, &hr, zip_of(&[("catalogue.xlsx", &xlsx), ("a.pdf", &pdf)])).await;
    assert_eq!((r["imported"].as_u64(), r["rejected"].as_u64()), (Some(1), Some(0)), "{r}");
    assert_eq!(catalogue_titles(&app, &hr, &person).await, ["年度考核登记表"]);
}

#[tokio::test]
async fn an_xlsx_date_no_workbook_can_hold_rejects_its_row_with_the_reason() {
    let app = TestApp::new().await;
    let hr = app.login("hr").await;
    let idn = id_number("11010119800517001");
    let person = app.create_person(&hr, person_body("张三", &idn, "hr")).await["id"].as_str().unwrap().to_string();
    let date = rust_xlsxwriter::Format::new().set_num_format("yyyy-mm-dd");
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    for (c, h) in ["身份证号", "类别", "材料名称", "形成时间", "文件"].iter().enumerate() {
        sheet.write_string(0, c as u16, *h).unwrap();
    }
    // A date serial of 10^12 days, a negative one, one in the year 99999; then a good row.
    let serials = [1e12, -5.0, 35_800_000.0, 43_838.0];
    for (i, serial) in serials.iter().enumerate() {
        let r = i as u32 + 1;
        for (c, v) in [idn.as_str(), "3", &format!("考核表{r}")].iter().enumerate() {
            sheet.write_string(r, c as u16, *v).unwrap();
        }
        sheet.write_number_with_format(r, 3, *serial, &date).unwrap();
        sheet.write_string(r, 4, format!("{r}.txt")).unwrap();
    }
    let xlsx = book.save_to_buffer().unwrap();
    let files: Vec<(String, Vec<u8>)> =
        (1..=4).map(|r| (format!("{r}.txt"), format!("年度考核材料第{r}份").into_bytes())).collect();
    let mut entries: Vec<(&str, &[u8])> = vec![("catalogue.xlsx", &xlsx)];
    entries.extend(files.iter().map(|(n, b)| (n.as_str(), b.as_slice())));
    let r = import(&app, &hr, zip_of(&entries)).await;
    assert_eq!((r["imported"].as_u64(), r["rejected"].as_u64()), (Some(1), Some(3)), "{r}");
    for row in r["rows"].as_array().unwrap().iter().filter(|row| row["outcome"] == "rejected") {
        let reason = row["reason"].as_str().unwrap();
        assert!(reason.contains("形成时间") && reason.contains("out of range"), "{reason}");
    }
    assert_eq!(catalogue_titles(&app, &hr, &person).await, ["考核表4"]);
}

#[tokio::test]
async fn an_import_report_is_seen_by_its_starter_and_hr_only() {
    let app = TestApp::new().await;
    let hr = app.login("hr").await;
    app.add_approvers().await;
    let idn = id_number("11010119800517001");
    app.create_person(&hr, person_body("张三", &idn, "hr")).await;
    let catalogue = format!("id_number,category,title,tags,file\n{idn},10,劳动合同,contract,a.txt\n");
    let zip = zip_of(&[("catalogue.csv", catalogue.as_bytes()), ("a.txt", "劳动合同正文".as_bytes())]);
    let by_hr = import(&app, &hr, zip.clone()).await["id"].as_str().unwrap().to_string();
    // Legal may file (contracts), so it may start an import: it sees its own, not HR's.
    let legal = app.login("legal").await;
    let by_legal = import(&app, &legal, zip).await["id"].as_str().unwrap().to_string();
    let hr_sees = app.send(Method::GET, &format!("/api/v1/imports/{by_legal}"), Some(&hr), None).await;
    assert_eq!(hr_sees.status, StatusCode::OK, "HR sees every import");
    let legal_sees = app.send(Method::GET, &format!("/api/v1/imports/{by_hr}"), Some(&legal), None).await;
    assert_eq!(legal_sees.status, StatusCode::NOT_FOUND);
    for who in ["finance", "it"] {
        let t = app.login(who).await;
        for id in [&by_hr, &by_legal] {
            let a = app.send(Method::GET, &format!("/api/v1/imports/{id}"), Some(&t), None).await;
            assert_eq!(a.status, StatusCode::NOT_FOUND, "{who}");
            assert_eq!(a.header("content-type"), "application/problem+json");
        }
    }
    // The web page says the same.
    let finance = app.login("finance").await;
    let req = Request::builder()
        .uri(format!("/imports/{by_hr}"))
        .header("cookie", format!("dangan_session={finance}"))
        .body(Body::empty())
        .unwrap();
    assert_eq!(app.call(req).await.status, StatusCode::NOT_FOUND);
    let req = Request::builder()
        .uri(format!("/imports/{by_hr}"))
        .header("cookie", format!("dangan_session={hr}"))
        .body(Body::empty())
        .unwrap();
    assert_eq!(app.call(req).await.status, StatusCode::OK);
}

#[tokio::test]
async fn a_batch_catalogued_in_the_2009_scheme_is_filed_into_the_2018_categories_with_the_old_code_kept() {
    let app = TestApp::new().await;
    let hr = app.login("hr").await;
    let idn = id_number("11010119800517001");
    let person = app.create_person(&hr, person_body("张三", &idn, "hr")).await["id"].as_str().unwrap().to_string();
    // A legacy catalogue under the national codes: 2009 classes, compact dates (00 for an unknown day), class 9
    // and class 4 without their sub-class, a code-table value, a Chinese numeral; a `scheme` column for two rows.
    let rows = [
        ("9", "调整工资审批表", "19990700", "", ""),
        ("9", "因公出国人员审批表", "200103", "原件", ""),
        ("9", "干部任免审批表", "2002", "", ""),
        ("09", "市人民代表大会代表登记表", "20030115", "", ""),
        ("4-3", "论文发表证明", "20040301", "", ""),
        ("0404", "中青年干部培训班结业登记表", "20050601", "", ""),
        ("3", "经济责任审计结果报告", "20060601", "", ""),
        ("四", "毕业生登记表", "20020701", "", ""),
        ("9-5", "类别有误", "2007", "", ""),
        ("9-1", "工资套改表", "2008", "", "2018"),
        ("9", "离休审批表", "2009", "", "1991"),
        ("1", "方案有误", "2010", "", "1980"),
    ];
    let mut catalogue = String::from("A0184,E01Z101,E01Z111,E01Z117,E01Z114,E01Z231,scheme,file\n");
    let mut files: Vec<(String, Vec<u8>)> = Vec::new();
    for (i, (cat, title, date, note, scheme)) in rows.iter().enumerate() {
        catalogue.push_str(&format!("{idn},{cat},{title},{date},1,{note},{scheme},f{i}.txt\n"));
        files.push((format!("f{i}.txt"), format!("{title} 正文 {i}").into_bytes()));
    }
    files.push(("catalogue.csv".into(), catalogue.into_bytes()));
    let entries: Vec<(&str, &[u8])> = files.iter().map(|(n, b)| (n.as_str(), b.as_slice())).collect();
    let zip = zip_of(&entries);

    // An unknown scheme refuses the batch whole, naming the known ones.
    let a = post_zip_at(&app, &hr, "/api/v1/imports?scheme=1980", zip.clone()).await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", String::from_utf8_lossy(&a.body));
    assert_eq!(a.header("content-type"), "application/problem+json");
    let detail = a.json()["detail"].as_str().unwrap().to_string();
    assert!(detail.contains("1980") && detail.contains("2009") && detail.contains("1991"), "{detail}");
    assert!(catalogue_titles(&app, &hr, &person).await.is_empty());

    let r = import_at(&app, &hr, "/api/v1/imports?scheme=2009", zip).await;
    assert_eq!(r["scheme"], "2009", "{r}");
    assert_eq!((r["imported"].as_u64(), r["rejected"].as_u64()), (Some(10), Some(2)), "{r}");
    let reason = |line: u64| -> String {
        let row = r["rows"].as_array().unwrap().iter().find(|x| x["line"] == line).unwrap();
        format!("{} {}", row["outcome"], row["reason"])
    };
    // Line 10 (9-5) is not a 2009 code; line 13 names an unknown scheme.
    assert!(
        reason(10).contains("rejected") && reason(10).contains("9-5") && reason(10).contains("2009"),
        "{}",
        reason(10)
    );
    assert!(reason(13).contains("rejected") && reason(13).contains("1980"), "{}", reason(13));

    let items = app.send(Method::GET, &format!("/api/v1/persons/{person}/materials"), Some(&hr), None).await.json();
    let filed = |title: &str| -> (String, String, String) {
        let m = items["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["title"] == title)
            .unwrap_or_else(|| panic!("{title}"));
        let s = |k: &str| m[k].as_str().unwrap_or_default().to_string();
        (s("category"), s("formed_on"), s("note"))
    };
    for (title, category, formed_on) in [
        ("调整工资审批表", "9-1", "1999-07"),
        ("因公出国人员审批表", "9-3", "2001-03"),
        ("干部任免审批表", "9-2", "2002"),
        ("市人民代表大会代表登记表", "9-4", "2003-01-15"),
        ("论文发表证明", "4-3", "2004-03-01"),
        ("中青年干部培训班结业登记表", "4-4", "2005-06-01"),
        ("经济责任审计结果报告", "5", "2006-06-01"),
        ("毕业生登记表", "4-1", "2002-07-01"),
        ("工资套改表", "9-1", "2008"),
        ("离休审批表", "9-2", "2009"),
    ] {
        let (c, d, _) = filed(title);
        assert_eq!((c.as_str(), d.as_str()), (category, formed_on), "{title}");
    }
    // The old code is kept in the note, with the keyword that chose the sub-category; a note the row had stays.
    assert_eq!(filed("调整工资审批表").2, "原类号 9（2009 方案，按“工资”归入 9-1）");
    assert_eq!(filed("因公出国人员审批表").2, "原件；原类号 9（2009 方案，按“出国”归入 9-3）");
    assert_eq!(filed("干部任免审批表").2, "原类号 9（2009 方案）");
    assert_eq!(filed("论文发表证明").2, "原类号 4-3（2009 方案）");
    assert_eq!(filed("离休审批表").2, "原类号 9（1991 方案）");
    // A row in the 2018 scheme is filed as it is, with no trace.
    assert_eq!(filed("工资套改表").2, "");
}
