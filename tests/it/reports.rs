//! Reports: every figure checked against counts computed here, independently, from what the API lists; CSV and
//! XLSX downloads read back; each report limited to what the caller's role may see.

use crate::common::*;
use axum::http::{Method, StatusCode};
use serde_json::Value;
use std::collections::BTreeMap;

async fn get(app: &TestApp, token: &str, path: &str) -> Answer {
    app.send(Method::GET, path, Some(token), None).await
}

/// Every active person, whole: all HR may read, and HR's own record (which HR may not read, but the figures
/// count) put together from what a leader (basic fields) and finance (salary) see of it.
async fn active_persons(app: &TestApp, hr: &str) -> Vec<Value> {
    let list = get(app, hr, "/api/v1/persons?limit=1000").await.json();
    let mut out = Vec::new();
    for item in list["items"].as_array().unwrap() {
        let p = get(app, hr, &format!("/api/v1/persons/{}", item["id"].as_str().unwrap())).await.json();
        out.push(p);
    }
    let own = get(app, hr, "/api/v1/me").await.json()["person_id"].as_str().unwrap().to_string();
    let leader = app.login("leader1").await;
    let finance = app.login("finance").await;
    let mut mine = get(app, &leader, &format!("/api/v1/persons/{own}")).await.json();
    let salary = get(app, &finance, &format!("/api/v1/persons/{own}")).await.json();
    mine["salary_grade"] = salary["salary_grade"].clone();
    out.push(mine);
    out.retain(|p| p["status"] == "active");
    out
}

/// Age in whole years today, computed here from the `YYYY[-MM[-DD]]` birth date.
fn age(birth: &str) -> i64 {
    let parts: Vec<i64> = birth.split('-').map(|p| p.parse().unwrap()).collect();
    let (y, m, d) = (parts[0], *parts.get(1).unwrap_or(&1), *parts.get(2).unwrap_or(&1));
    let today = time::OffsetDateTime::now_utc().date();
    let (ty, tm, td) = (i64::from(today.year()), today.month() as i64, i64::from(today.day()));
    ty - y - i64::from((tm, td) < (m, d))
}

fn band(p: &Value) -> String {
    match p["birth_date"].as_str().map(age) {
        None => "未知",
        Some(a) if a < 30 => "30岁以下",
        Some(a) if a < 40 => "30-39岁",
        Some(a) if a < 50 => "40-49岁",
        Some(a) if a < 60 => "50-59岁",
        Some(_) => "60岁及以上",
    }
    .to_string()
}

fn text_or_blank(v: &Value) -> String {
    v.as_str().map(str::trim).filter(|s| !s.is_empty()).unwrap_or("未填写").to_string()
}

/// key → count of a report's JSON items.
fn counts(report: &Value, key: &str, count: &str) -> BTreeMap<String, u64> {
    report["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| (i[key].as_str().unwrap().to_string(), i[count].as_u64().unwrap()))
        .collect()
}

fn tally(persons: &[Value], key: impl Fn(&Value) -> String) -> BTreeMap<String, u64> {
    let mut m = BTreeMap::new();
    for p in persons {
        *m.entry(key(p)).or_insert(0) += 1;
    }
    m
}

#[tokio::test]
async fn every_report_matches_counts_computed_from_the_demo_data() {
    let app = demo_app().await;
    let hr = app.login("hr").await;
    let persons = active_persons(&app, &hr).await;
    assert!(persons.len() >= 10, "{}", persons.len());

    let expected: [(&str, BTreeMap<String, u64>); 7] = [
        ("department", tally(&persons, |p| p["department"].as_str().unwrap().to_string())),
        ("age", tally(&persons, band)),
        ("gender", tally(&persons, |p| p["gender"].as_str().unwrap_or("unknown").to_string())),
        ("education", tally(&persons, |p| text_or_blank(&p["education"]))),
        ("ethnicity", tally(&persons, |p| text_or_blank(&p["ethnicity"]))),
        ("rank", tally(&persons, |p| text_or_blank(&p["rank"]))),
        ("salary_grade", tally(&persons, |p| text_or_blank(&p["salary_grade"]))),
    ];
    for (by, want) in &expected {
        let r = get(&app, &hr, &format!("/api/v1/reports/structure?by={by}")).await;
        assert_eq!(r.status, StatusCode::OK, "{by}: {}", String::from_utf8_lossy(&r.body));
        let r = r.json();
        assert_eq!(&counts(&r, "key", "count"), want, "structure by {by}");
        let items = r["items"].as_array().unwrap();
        let percent: f64 = items.iter().map(|i| i["percent"].as_f64().unwrap()).sum();
        // Each share is rounded to a tenth of a per cent.
        let slack = 0.05 * items.len() as f64 + 1e-9;
        assert!((percent - 100.0).abs() <= slack, "{by}: shares add up to {percent}");
    }
    // Departments carry their names.
    let r = get(&app, &hr, "/api/v1/reports/structure?by=department").await.json();
    assert!(r["items"].as_array().unwrap().iter().any(|i| i["key"] == "finance" && i["label"] == "财务部"));

    // Completeness: the required categories each active dossier lacks, computed from its catalogue here.
    let mut want_incomplete = BTreeMap::new();
    let own = get(&app, &hr, "/api/v1/me").await.json()["person_id"].clone();
    for p in persons.iter().filter(|p| p["id"] != own) {
        let id = p["id"].as_str().unwrap();
        let cat = get(&app, &hr, &format!("/api/v1/persons/{id}/materials")).await.json();
        let cats: Vec<String> =
            cat["items"].as_array().unwrap().iter().map(|m| m["category"].as_str().unwrap().to_string()).collect();
        let has = |code: &str| cats.iter().any(|c| c == code || c.starts_with(&format!("{code}-")));
        let mut missing = 0;
        for code in ["1", "3", "4-1", "9-1", "9-2"] {
            missing += u64::from(!has(code));
        }
        if !p["party_join"].is_null() && !has("6") {
            missing += 1;
        }
        let mismatches = cat["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|m| !m["pages"].is_null() && !m["detected_pages"].is_null() && m["pages"] != m["detected_pages"])
            .count() as u64;
        if missing + mismatches > 0 {
            want_incomplete.insert(id.to_string(), (missing, mismatches));
        }
    }
    let r = get(&app, &hr, "/api/v1/reports/completeness").await.json();
    // Dossiers listed for a 成套 finding only (nothing required missing, no page count differs) are the next
    // test's.
    let got: BTreeMap<String, (u64, u64)> = r["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["missing_count"].as_u64().unwrap() + i["page_mismatches"].as_u64().unwrap() > 0)
        .map(|i| {
            let id = i["person_id"].as_str().unwrap().to_string();
            (id, (i["missing_count"].as_u64().unwrap(), i["page_mismatches"].as_u64().unwrap()))
        })
        .collect();
    assert_eq!(got, want_incomplete);

    // Digitization: materials by text status, against the catalogues.
    let mut want_status: BTreeMap<String, u64> = BTreeMap::new();
    for p in persons.iter().filter(|p| p["id"] != own) {
        let cat = get(&app, &hr, &format!("/api/v1/persons/{}/materials", p["id"].as_str().unwrap())).await.json();
        for m in cat["items"].as_array().unwrap() {
            *want_status.entry(m["text_status"].as_str().unwrap().to_string()).or_insert(0) += 1;
        }
    }
    let r = get(&app, &hr, "/api/v1/reports/digitization").await.json();
    let mut got_status: BTreeMap<String, u64> = BTreeMap::new();
    for i in r["items"].as_array().unwrap() {
        *got_status.entry(i["text_status"].as_str().unwrap().to_string()).or_insert(0) +=
            i["materials"].as_u64().unwrap();
    }
    assert_eq!(got_status, want_status);

    // Findings and turnaround answer, as JSON lists.
    assert_eq!(get(&app, &hr, "/api/v1/reports/findings").await.status, StatusCode::OK);
    assert!(get(&app, &hr, "/api/v1/reports/turnaround").await.json()["total"].as_u64().unwrap() > 0);
}

/// A dossier's (checks, satisfied) by the completeness rules (docs/DOMAIN.md §5), computed here from its person
/// record and its catalogue as HR sees them: each required category (6 for party members) held; each appointment
/// with a 9-2 material formed in the year it began; each assessment year with a category-3 material of that year;
/// each 入党志愿书 (category 6) with a category-6 material whose title holds 转正.
fn expected_completeness(person: &Value, catalogue: &Value) -> (u64, u64) {
    let ms = catalogue["items"].as_array().unwrap();
    let in_cat = |m: &Value, code: &str| {
        let c = m["category"].as_str().unwrap();
        c == code || c.starts_with(&format!("{code}-"))
    };
    let formed_in = |m: &Value, year: &str| m["formed_on"].as_str().is_some_and(|d| d.starts_with(year));
    let (mut checks, mut satisfied) = (0, 0);
    let mut check = |ok: bool| {
        checks += 1;
        satisfied += u64::from(ok);
    };
    let mut required = vec!["1", "3", "4-1", "9-1", "9-2"];
    if !person["party_join"].is_null() {
        required.push("6");
    }
    for code in required {
        check(ms.iter().any(|m| in_cat(m, code)));
    }
    for a in person["appointments"].as_array().unwrap() {
        let year = &a["from"].as_str().unwrap()[..4];
        check(ms.iter().any(|m| in_cat(m, "9-2") && formed_in(m, year)));
    }
    for a in person["assessments"].as_array().unwrap() {
        let year = a["year"].to_string();
        check(ms.iter().any(|m| in_cat(m, "3") && formed_in(m, &year)));
    }
    let title = |m: &Value, w: &str| m["title"].as_str().unwrap().contains(w);
    for _ in ms.iter().filter(|m| in_cat(m, "6") && title(m, "入党志愿书")) {
        check(ms.iter().any(|m| in_cat(m, "6") && title(m, "转正")));
    }
    (checks, satisfied)
}

#[tokio::test]
async fn completeness_rates_and_set_findings_match_the_records_and_catalogues() {
    let app = demo_app().await;
    let hr = app.login("hr").await;
    let persons = active_persons(&app, &hr).await;
    let own = get(&app, &hr, "/api/v1/me").await.json()["person_id"].clone();
    let report = get(&app, &hr, "/api/v1/reports/completeness").await.json();
    let items = report["items"].as_array().unwrap();
    let columns: Vec<&str> = report["columns"].as_array().unwrap().iter().map(|c| c.as_str().unwrap()).collect();
    assert_eq!(
        columns[..7],
        ["person_id", "name", "department", "missing_count", "missing", "page_mismatches", "mismatched"],
        "the fields of old come first, unchanged"
    );
    // department code → (dossiers, with findings, sum of rates)
    let mut departments: BTreeMap<String, (u64, u64, f64)> = BTreeMap::new();
    let (mut appointment_gaps, mut assessment_gaps, mut whole) = (0, 0, 0);
    for p in persons.iter().filter(|p| p["id"] != own) {
        let id = p["id"].as_str().unwrap();
        let catalogue = get(&app, &hr, &format!("/api/v1/persons/{id}/materials")).await.json();
        let (checks, satisfied) = expected_completeness(p, &catalogue);
        let mine = get(&app, &hr, &format!("/api/v1/persons/{id}/completeness")).await;
        assert_eq!(mine.status, StatusCode::OK);
        let mine = mine.json();
        assert_eq!((mine["checks"].as_u64(), mine["satisfied"].as_u64()), (Some(checks), Some(satisfied)), "{id}");
        let rate = satisfied as f64 / checks as f64;
        assert!((mine["rate"].as_f64().unwrap() - rate).abs() < 1e-4, "{id}: {mine}");
        assert!((mine["percent"].as_f64().unwrap() - rate * 100.0).abs() < 0.05 + 1e-9, "{id}: {mine}");
        let findings = mine["findings"].as_array().unwrap();
        assert_eq!(findings.len() as u64, checks - satisfied, "a finding per failed check: {mine}");
        for f in findings {
            assert!(f["missing"].as_str().unwrap().starts_with("缺少"), "{f}");
            match f["rule"].as_str().unwrap() {
                "appointment-approval" => {
                    appointment_gaps += 1;
                    let evidence = f["evidence"].as_str().unwrap();
                    let named = p["appointments"].as_array().unwrap().iter().any(|a| {
                        evidence.contains(a["position"].as_str().unwrap())
                            && evidence.contains(a["from"].as_str().unwrap())
                    });
                    assert!(named, "the finding names the appointment: {f}");
                }
                "assessment-material" => assessment_gaps += 1,
                _ => {}
            }
        }
        let mismatched = !mine["mismatched"].as_array().unwrap().is_empty();
        let has_findings = !findings.is_empty() || mismatched;
        whole += u64::from(findings.is_empty());
        let e = departments.entry(p["department"].as_str().unwrap().to_string()).or_default();
        e.0 += 1;
        e.1 += u64::from(has_findings);
        e.2 += mine["rate"].as_f64().unwrap();
        // The report lists exactly the dossiers with a finding, with the same figures.
        let item = items.iter().find(|i| i["person_id"] == id);
        assert_eq!(item.is_some(), has_findings, "{id}");
        if let Some(item) = item {
            assert_eq!((item["checks"].as_u64(), item["satisfied"].as_u64()), (Some(checks), Some(satisfied)));
            assert_eq!(item["rate"], mine["rate"]);
            assert_eq!(item["findings_count"].as_u64(), Some(checks - satisfied));
            assert_eq!(item["finding_details"], mine["findings"]);
        }
    }
    // The demo's dossiers are mostly whole, and some lack a 任免审批表 or an assessment year's material.
    assert!(appointment_gaps > 0 && assessment_gaps > 0, "{appointment_gaps} {assessment_gaps}");
    assert!(whole * 2 > persons.len() as u64 - 1, "most dossiers are whole: {whole} of {}", persons.len() - 1);
    // Per department: the mean rate and the dossiers with findings.
    let got: Vec<&Value> = report["departments"].as_array().unwrap().iter().collect();
    assert_eq!(got.len(), departments.len());
    for d in got {
        let (n, with, sum) = departments[d["department"].as_str().unwrap()];
        assert_eq!((d["dossiers"].as_u64(), d["with_findings"].as_u64()), (Some(n), Some(with)), "{d}");
        assert!((d["mean_rate"].as_f64().unwrap() - sum / n as f64).abs() < 1e-4, "{d}");
    }
    assert!(
        report["departments"].as_array().unwrap().iter().any(|d| d["department"] == "finance" && d["name"] == "财务部")
    );
    // The CSV carries the rate too.
    let csv = get(&app, &hr, "/api/v1/reports/completeness?format=csv").await;
    let text = String::from_utf8(csv.body).unwrap();
    assert!(
        text.trim_start_matches('\u{feff}')
            .lines()
            .next()
            .unwrap()
            .ends_with("checks,satisfied,rate,percent,findings_count,findings")
    );
    // Bad ids are precise 4xx.
    assert_eq!(get(&app, &hr, "/api/v1/persons/not-an-id/completeness").await.status, StatusCode::BAD_REQUEST);
    let unknown = uuid_like();
    assert_eq!(get(&app, &hr, &format!("/api/v1/persons/{unknown}/completeness")).await.status, StatusCode::NOT_FOUND);
}

fn uuid_like() -> String {
    "0190a5b0-0000-7000-8000-000000000000".into()
}

#[tokio::test]
async fn a_dossiers_completeness_is_refused_to_insiders_to_its_holder_and_audited() {
    let app = demo_app().await;
    let hr = app.login("hr").await;
    let cadre = cadre(&app, &hr, "ops").await;
    let id = cadre["id"].as_str().unwrap();
    let path = format!("/api/v1/persons/{id}/completeness");
    // Those who see the person: HR whole, the department's head only what a head may list (assessments).
    assert_eq!(get(&app, &hr, &path).await.status, StatusCode::OK);
    let head = app.login("head-ops").await;
    let seen = get(&app, &head, &path).await;
    assert_eq!(seen.status, StatusCode::OK);
    let seen = seen.json();
    assert!(
        seen["findings"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f["rule"] == "required-3" || f["rule"] == "assessment-material"),
        "{seen}"
    );
    // The three administrators and the scanner are refused; so is the head of another department.
    for who in ["it", "secadmin", "auditor", "scanner", "head-sales"] {
        let t = app.login(who).await;
        let a = get(&app, &t, &path).await;
        assert!(matches!(a.status, StatusCode::FORBIDDEN | StatusCode::NOT_FOUND), "{who}: {}", a.status);
        assert!(a.header("content-type").starts_with("application/problem+json"), "{who}");
    }
    // Nobody reads their own dossier's completeness.
    let own = get(&app, &hr, "/api/v1/me").await.json()["person_id"].as_str().unwrap().to_string();
    let mine = get(&app, &hr, &format!("/api/v1/persons/{own}/completeness")).await;
    assert_eq!(mine.status, StatusCode::FORBIDDEN);
    // Each refusal is in the trail.
    let auditor = app.login("auditor").await;
    let trail = get(&app, &auditor, &format!("/api/v1/audit?action=report.completeness&object=person:{id}&limit=100"))
        .await
        .json();
    let denied = denied(&trail, "actor");
    for who in ["it", "secadmin", "auditor", "scanner", "head-sales"] {
        assert!(denied.contains(&who), "{who} not in {denied:?}");
    }
    let trail =
        get(&app, &auditor, &format!("/api/v1/audit?action=report.completeness&object=person:{own}")).await.json();
    assert!(trail["items"].as_array().unwrap().iter().any(|e| e["actor"] == "hr" && e["outcome"] == "denied"));
}

#[tokio::test]
async fn reports_download_as_csv_and_xlsx_and_follow_the_callers_scope() {
    use calamine::Reader;
    let app = demo_app().await;
    let hr = app.login("hr").await;
    let json = get(&app, &hr, "/api/v1/reports/structure?by=gender").await.json();

    let csv = get(&app, &hr, "/api/v1/reports/structure?by=gender&format=csv").await;
    assert_eq!(csv.status, StatusCode::OK);
    assert!(csv.header("content-type").starts_with("text/csv"));
    assert!(csv.header("content-disposition").contains("structure-gender.csv"));
    let text = String::from_utf8(csv.body).unwrap();
    let mut lines = text.trim_start_matches('\u{feff}').lines();
    assert_eq!(lines.next(), Some("key,label,count,percent"));
    assert_eq!(lines.count(), json["total"].as_u64().unwrap() as usize);

    let xlsx = get(&app, &hr, "/api/v1/reports/structure?by=gender&format=xlsx").await;
    assert_eq!(xlsx.status, StatusCode::OK);
    let mut book: calamine::Xlsx<_> = calamine::open_workbook_from_rs(std::io::Cursor::new(xlsx.body)).unwrap();
    let sheet = book.worksheet_range("structure-gender").unwrap();
    let rows: Vec<Vec<String>> = sheet.rows().map(|r| r.iter().map(|c| c.to_string()).collect()).collect();
    assert_eq!(rows[0], ["key", "label", "count", "percent"]);
    for (row, item) in rows[1..].iter().zip(json["items"].as_array().unwrap()) {
        assert_eq!(row[0], item["key"].as_str().unwrap());
        assert_eq!(row[2], item["count"].to_string(), "counts are numbers in the sheet");
    }
    let bad = get(&app, &hr, "/api/v1/reports/structure?by=gender&format=pdf").await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    let bad = get(&app, &hr, "/api/v1/reports/structure?by=shoe_size").await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    // Every report of the one list has its route, as JSON, CSV and XLSX.
    for report in dangan::model::ReportKind::ALL {
        let json = get(&app, &hr, &format!("/api/v1/reports/{report}")).await;
        assert_eq!(json.status, StatusCode::OK, "{report}");
        assert!(json.json()["total"].is_u64(), "{report}");
        let csv = get(&app, &hr, &format!("/api/v1/reports/{report}?format=csv")).await;
        assert_eq!(csv.status, StatusCode::OK, "{report}");
        assert!(csv.header("content-disposition").contains(report.as_str()), "{report}");
        let x = get(&app, &hr, &format!("/api/v1/reports/{report}?format=xlsx")).await;
        assert_eq!(x.status, StatusCode::OK, "{report}");
        let book: calamine::Xlsx<_> = calamine::open_workbook_from_rs(std::io::Cursor::new(x.body)).unwrap();
        assert_eq!(book.sheet_names().len(), 1, "{report}");
    }

    // A head sees their own department only.
    let head = app.login("head-finance").await;
    let r = get(&app, &head, "/api/v1/reports/structure?by=department").await.json();
    assert_eq!(counts(&r, "key", "count").keys().collect::<Vec<_>>(), ["finance"]);
    let r = get(&app, &head, "/api/v1/reports/completeness").await.json();
    assert!(r["items"].as_array().unwrap().iter().all(|i| i["department"] == "财务部"));
    // Finance sees salary aggregates only.
    let finance = app.login("finance").await;
    assert_eq!(get(&app, &finance, "/api/v1/reports/structure?by=salary_grade").await.status, StatusCode::OK);
    for path in ["structure?by=department", "structure?by=age", "completeness", "findings", "digitization"] {
        let a = get(&app, &finance, &format!("/api/v1/reports/{path}")).await;
        assert_eq!(a.status, StatusCode::FORBIDDEN, "finance: {path}");
    }
    // IT and the auditor see no archive figures.
    for who in ["it", "auditor"] {
        let t = app.login(who).await;
        assert_eq!(get(&app, &t, "/api/v1/reports/structure").await.status, StatusCode::FORBIDDEN, "{who}");
    }
}

#[tokio::test]
async fn report_cells_that_look_like_formulas_are_neutralised_in_csv_and_xlsx() {
    use calamine::Reader;
    let app = TestApp::new().await;
    let hr = app.login("hr").await;
    let ranks = ["=HYPERLINK(\"http://evil.example\",\"x\")", "+1+1", "-2+3", "@SUM(A1)"];
    for (i, rank) in ranks.iter().enumerate() {
        let mut body = person_body("张伟", &id_number(&format!("1101051980051701{i}")), "finance");
        body["rank"] = serde_json::json!(rank);
        app.create_person(&hr, body).await;
    }
    let json = get(&app, &hr, "/api/v1/reports/structure?by=rank").await.json();
    let keys: Vec<&str> = json["items"].as_array().unwrap().iter().map(|i| i["key"].as_str().unwrap()).collect();
    assert!(ranks.iter().all(|r| keys.contains(r)), "the JSON keeps the values as they are: {keys:?}");

    let csv = get(&app, &hr, "/api/v1/reports/structure?by=rank&format=csv").await;
    assert_eq!(csv.status, StatusCode::OK);
    let text = String::from_utf8(csv.body).unwrap();
    let mut reader = csv::Reader::from_reader(text.trim_start_matches('\u{feff}').as_bytes());
    let cells: Vec<String> =
        reader.records().flat_map(|r| r.unwrap().iter().map(str::to_string).collect::<Vec<_>>()).collect();
    let xlsx = get(&app, &hr, "/api/v1/reports/structure?by=rank&format=xlsx").await;
    assert_eq!(xlsx.status, StatusCode::OK);
    let mut book: calamine::Xlsx<_> = calamine::open_workbook_from_rs(std::io::Cursor::new(xlsx.body)).unwrap();
    let sheet = book.worksheet_range("structure-rank").unwrap();
    let xcells: Vec<String> = sheet
        .rows()
        .skip(1)
        .flat_map(|r| {
            r.iter()
                .filter_map(|c| match c {
                    calamine::Data::String(s) => Some(s.clone()),
                    _ => None,
                })
                .collect::<Vec<_>>()
        })
        .collect();
    for (what, cells) in [("csv", &cells), ("xlsx", &xcells)] {
        for rank in ranks {
            assert!(cells.contains(&format!("'{rank}")), "{what}: {rank} in {cells:?}");
        }
        assert!(!cells.iter().any(|c| c.starts_with(['=', '+', '-', '@', '\t', '\r'])), "{what}: {cells:?}");
    }
}
