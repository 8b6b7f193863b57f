//! The demo dataset: a deterministic organisation of cadres across the eight demo departments, with realistic
//! Chinese names, valid ID numbers, record lists, materials in all ten categories (generated text documents and
//! the real files under `fixtures/files`: Chinese PDFs, scans, a DOCX contract), and the demo accounts of
//! DESIGN §6, each linked to its holder's person record. Everything is embedded in the binary, so
//! `dangan demo` works from any directory.

use super::auth::NewUser;
use super::{Archive, Principal, Result};
use crate::model::idnumber::check_char;
use crate::model::{MaterialMeta, PartialDate, Role};
use serde::Deserialize;
use serde_json::json;

const DATASET: &str = include_str!("../../fixtures/demo/dataset.json");
const MANIFEST: &str = include_str!("../../fixtures/files/manifest.json");

/// The real fixture files, by name.
pub const FIXTURE_FILES: [(&str, &[u8]); 10] = [
    ("resume-zh.pdf", include_bytes!("../../fixtures/files/resume-zh.pdf")),
    ("assessment-tw.pdf", include_bytes!("../../fixtures/files/assessment-tw.pdf")),
    ("contract.docx", include_bytes!("../../fixtures/files/contract.docx")),
    ("salary.txt", include_bytes!("../../fixtures/files/salary.txt")),
    ("notes.md", include_bytes!("../../fixtures/files/notes.md")),
    ("scan-form.png", include_bytes!("../../fixtures/files/scan-form.png")),
    ("scan-form.jpg", include_bytes!("../../fixtures/files/scan-form.jpg")),
    ("scan-image-only.pdf", include_bytes!("../../fixtures/files/scan-image-only.pdf")),
    ("broken.pdf", include_bytes!("../../fixtures/files/broken.pdf")),
    ("empty.txt", include_bytes!("../../fixtures/files/empty.txt")),
];

/// The password of every demo account.
pub const DEMO_PASSWORD: &str = "demo-pass";

#[derive(Deserialize)]
struct Dataset {
    departments: Vec<DeptDef>,
    surnames: Vec<String>,
    given_chars: Vec<String>,
    ethnicities: Vec<Weighted>,
    native_places: Vec<Place>,
    education: Vec<Weighted>,
    ranks: Vec<String>,
    salary_grades: Vec<String>,
    universities: Vec<String>,
    majors: Vec<String>,
    material_templates: Vec<Template>,
}

#[derive(Deserialize)]
struct DeptDef {
    code: String,
    positions: Vec<String>,
}

#[derive(Deserialize)]
struct Weighted {
    name: String,
    #[serde(default)]
    degree: Option<String>,
    weight: u32,
}

#[derive(Deserialize)]
struct Place {
    name: String,
    area_code: String,
}

#[derive(Deserialize)]
struct Template {
    category: String,
    title: String,
    #[serde(default)]
    tags: Vec<String>,
    body: String,
}

/// One entry of `fixtures/files/manifest.json`.
#[derive(Clone, Debug, Deserialize)]
pub struct FixtureEntry {
    /// File name under `fixtures/files`.
    pub file: String,
    /// Expected MIME type.
    pub mime: String,
    /// Category code.
    pub category: String,
    /// 材料名称.
    pub title: String,
    /// Formed date.
    pub formed_on: Option<String>,
    /// Page count.
    pub pages: Option<u32>,
    /// Tags.
    #[serde(default)]
    pub tags: Vec<String>,
    /// Distinctive phrases that must never appear in plaintext on disk.
    #[serde(default)]
    pub phrases: Vec<String>,
    /// Words a search finds it by.
    #[serde(default)]
    pub search_words: Vec<String>,
    /// Whether text can be extracted (not for scans, broken or empty files).
    pub text_expected: bool,
}

/// The fixture manifest.
pub fn fixture_manifest() -> Vec<FixtureEntry> {
    serde_json::from_str(MANIFEST).unwrap_or_default()
}

/// The bytes of a fixture file.
pub fn fixture_bytes(name: &str) -> Option<&'static [u8]> {
    FIXTURE_FILES.iter().find(|(n, _)| *n == name).map(|(_, b)| *b)
}

/// A small deterministic generator (SplitMix64): the demo must be the same on every machine.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    fn pick<'a, T>(&mut self, v: &'a [T]) -> &'a T {
        &v[self.below(v.len())]
    }
    fn weighted<'a>(&mut self, v: &'a [Weighted]) -> &'a Weighted {
        let total: u32 = v.iter().map(|w| w.weight.max(1)).sum();
        let mut x = (self.next() % u64::from(total.max(1))) as u32;
        for w in v {
            let wt = w.weight.max(1);
            if x < wt {
                return w;
            }
            x -= wt;
        }
        &v[0]
    }
}

/// How much demo data to load.
#[derive(Clone, Copy, Debug)]
pub struct DemoOptions {
    /// Persons per department (8 departments).
    pub persons_per_department: usize,
}

impl Default for DemoOptions {
    fn default() -> Self {
        DemoOptions { persons_per_department: 30 }
    }
}

/// A demo account and its holder.
#[derive(Clone, Debug)]
pub struct DemoAccount {
    /// Login name.
    pub username: String,
    /// Roles.
    pub roles: Vec<Role>,
    /// What the account is for.
    pub description: String,
}

/// What the loader created.
#[derive(Clone, Debug, Default)]
pub struct DemoSummary {
    /// Persons created.
    pub persons: usize,
    /// Materials filed.
    pub materials: usize,
    /// Accounts created.
    pub accounts: Vec<DemoAccount>,
}

fn id_number(area: &str, birth: time::Date, seq: u32, male: bool) -> String {
    let seq = if male == (seq % 2 == 1) { seq } else { seq + 1 } % 1000;
    let first17 = format!("{area}{:04}{:02}{:02}{:03}", birth.year(), birth.month() as u8, birth.day(), seq);
    let c = check_char(first17.as_bytes());
    format!("{first17}{c}")
}

fn date(y: i32, m: u8, d: u8) -> time::Date {
    time::Date::from_calendar_date(y, time::Month::try_from(m).unwrap_or(time::Month::January), d.min(28))
        .unwrap_or(time::Date::MIN)
}

fn pd(d: time::Date) -> String {
    PartialDate::from_date(d).to_string()
}

/// Loads the demo dataset into an empty archive: accounts first, then persons and materials. Returns what it made.
pub fn load(archive: &Archive, opts: DemoOptions) -> Result<DemoSummary> {
    let data: Dataset =
        serde_json::from_str(DATASET).map_err(|e| super::Error::Internal(format!("demo dataset: {e}")))?;
    let mut rng = Rng(0x0DA6_A11D_2026_1129);
    let mut summary = DemoSummary::default();

    // A bootstrap HR principal to create records through the ordinary, checked path.
    let mut bootstrap = Principal::local("demo-loader", "演示数据装载");
    bootstrap.source = "demo".into();

    let mut used_names = std::collections::HashSet::new();
    let mut linked: Vec<(String, crate::model::PersonId, String)> = Vec::new(); // (username, person, name)
    let mut batch_persons = Vec::new();
    let mut people: std::collections::BTreeMap<String, Vec<crate::model::PersonId>> = Default::default();
    let templates = &data.material_templates;
    let mut fixture_round = 0usize;
    let manifest = fixture_manifest();
    let real: Vec<&FixtureEntry> =
        manifest.iter().filter(|f| f.file != "empty.txt" && f.file != "broken.pdf").collect();

    for (di, dept) in data.departments.iter().enumerate() {
        // Every business account is linked to its holder's person record, and the leaders' records are the
        // third person of a department: at least three per department.
        for i in 0..opts.persons_per_department.max(3) {
            let male = rng.below(100) < 58;
            let name = loop {
                let mut n = rng.pick(&data.surnames).clone();
                for _ in 0..(1 + rng.below(10).min(1)) {
                    let c: &String = rng.pick(&data.given_chars);
                    n.push_str(c);
                }
                if used_names.insert(n.clone()) {
                    break n;
                }
            };
            let birth = date(1962 + rng.below(38) as i32, 1 + rng.below(12) as u8, 1 + rng.below(28) as u8);
            let place = rng.pick(&data.native_places);
            let idn = id_number(&place.area_code, birth, (di * 100 + i) as u32 + 11, male);
            let work_start = date(birth.year() + 22 + rng.below(3) as i32, 7, 1);
            let party = (rng.below(100) < 60)
                .then(|| date((birth.year() + 24 + rng.below(6) as i32).min(2025), 1 + rng.below(12) as u8, 1));
            let edu = rng.weighted(&data.education);
            let university = rng.pick(&data.universities).clone();
            let major = rng.pick(&data.majors).clone();
            // The first person of a department is its head.
            let position = if i == 0 {
                dept.positions.first().cloned().unwrap_or_else(|| "部长".into())
            } else {
                rng.pick(&dept.positions[1.min(dept.positions.len() - 1)..]).clone()
            };
            let rank = rng.pick(&data.ranks).clone();
            let grade = rng.pick(&data.salary_grades).clone();
            let current_from =
                date((2016 + rng.below(8) as i32).max(work_start.year() + 1).min(2025), 1 + rng.below(12) as u8, 1);
            let input = json!({
                "name": name,
                "former_names": if rng.below(20) == 0 { vec![format!("{}{}", &name, rng.pick::<String>(&data.given_chars))] } else { vec![] },
                "gender": if male { "male" } else { "female" },
                "id_number": idn,
                "ethnicity": rng.weighted(&data.ethnicities).name,
                "native_place": place.name,
                "work_start": pd(work_start),
                "party_join": party.map(pd),
                // 转正 a year after 入党 (the probation the record checks expect).
                "party_full": party.filter(|d| d.year() < 2025).map(|d| pd(date(d.year() + 1, d.month() as u8, 1))),
                "education": edu.name,
                "department": dept.code,
                "position": position,
                "rank": rank,
                "salary_grade": grade,
                "phone": format!("13{:09}", rng.next() % 1_000_000_000),
                "address": format!("{}某街道{}号", place.name, 1 + rng.below(200)),
                "appointments": [
                    {"from": pd(work_start), "to": pd(current_from), "department": dept.code, "position": "科员", "document_number": format!("人字〔{}〕{}号", work_start.year(), 1 + rng.below(90))},
                    {"from": pd(current_from), "department": dept.code, "position": position, "rank": rank, "document_number": format!("人字〔{}〕{}号", current_from.year(), 1 + rng.below(90))}
                ],
                "education_history": [{"from": pd(date(birth.year() + 18, 9, 1)), "to": pd(date(birth.year() + 22, 7, 1)), "school": university, "major": major, "level": edu.name, "degree": edu.degree}],
                "training": [{"from": pd(date(2022, 3 + rng.below(6) as u8, 1)), "name": "中青年干部培训班", "organiser": "市委党校"}],
                "assessments": (2020..2025).map(|y| json!({"year": y, "grade": if rng.below(5) == 0 { "优秀" } else { "称职" }})).collect::<Vec<_>>(),
                "salary": [{"from": pd(current_from), "grade": grade, "amount": 6000 + rng.below(90) * 100}],
                "contracts": [{"kind": "劳动合同", "from": pd(work_start)}],
            });
            let person = archive.persons().create(&bootstrap, input)?.record;
            summary.persons += 1;
            if dept.code == "research" {
                batch_persons.push(person.id);
            }
            people.entry(dept.code.clone()).or_default().push(person.id);

            // Accounts linked to real employees: the first person of each department holds its head account;
            // the second of hr/admin/finance/legal/it holds that department's officer account.
            if i == 0 {
                linked.push((format!("head-{}", dept.code), person.id, person.name.clone()));
            }
            if i == 1 && ["hr", "admin", "finance", "legal", "it"].contains(&dept.code.as_str()) {
                linked.push((dept.code.clone(), person.id, person.name.clone()));
            }
            // The leaders and the two administrators who hold a dossier here: the third person of sales, hr,
            // finance and legal (nobody the demo's requests in flight are about).
            for (holder, code) in
                [("leader1", "sales"), ("leader2", "hr"), ("secadmin", "finance"), ("auditor", "legal")]
            {
                if i == 2 && dept.code == code {
                    linked.push((holder.into(), person.id, person.name.clone()));
                }
            }

            // Generated documents: one template of each of several categories.
            let fill = |t: &str, year: i32| {
                t.replace("{name}", &person.name)
                    .replace("{gender}", if male { "男" } else { "女" })
                    .replace("{birth}", &format!("{}年{}月", birth.year(), birth.month() as u8))
                    .replace("{native_place}", &place.name)
                    .replace("{dept}", person.department_name.as_deref().unwrap_or_default())
                    .replace("{position}", &position)
                    .replace("{year}", &year.to_string())
                    .replace("{university}", &university)
                    .replace("{major}", &major)
            };
            let mut chosen: Vec<&Template> = Vec::new();
            let n = 6 + rng.below(5);
            let offset = rng.below(templates.len());
            for k in 0..n {
                let t = &templates[(offset + k * 7 + rng.below(3)) % templates.len()];
                if !chosen.iter().any(|c| std::ptr::eq(*c, t)) {
                    chosen.push(t);
                }
            }
            for t in chosen {
                let year = (work_start.year() + rng.below(20) as i32).min(2025);
                let formed = if rng.below(10) == 0 {
                    format!("{year}")
                } else {
                    format!("{year}-{:02}-{:02}", 1 + rng.below(12), 1 + rng.below(28))
                };
                let body = format!("{}\n\n{}\n", fill(&t.title, year), fill(&t.body, year));
                let meta = MaterialMeta {
                    category: t.category.clone(),
                    title: fill(&t.title, year),
                    formed_on: formed.parse().ok(),
                    pages: Some(1 + rng.below(3) as u32),
                    tags: t.tags.clone(),
                    ..Default::default()
                };
                archive.filing().add(
                    &bootstrap,
                    person.id,
                    meta,
                    body.as_bytes(),
                    Some("document.txt".into()),
                    false,
                )?;
                summary.materials += 1;
            }

            // The dossier's core and its 成套 materials (docs/DOMAIN.md §5): a 履历表, the diploma, a salary
            // form, a 任免审批表 for each appointment, a 考核登记表 for each assessment year, and for party members
            // the 入党志愿书 and (once full members) the 转正 application. Most dossiers are whole; some, by
            // their place in the load, lack one: the current post's 任免审批表, the 2022 assessment's form, or
            // the salary form.
            let k = summary.persons;
            let mut core: Vec<(&str, String, time::Date)> = vec![
                ("1", format!("干部履历表（{}）", person.name), work_start),
                ("4-1", "毕业证书（复印件）".into(), date(birth.year() + 22, 7, 1)),
                ("9-2", "干部任免审批表（科员）".into(), work_start),
            ];
            if k % 8 != 3 {
                core.push(("9-1", "工资变动审批表".into(), current_from));
            }
            if k % 5 != 2 {
                core.push(("9-2", format!("干部任免审批表（{position}）"), current_from));
            }
            for y in (2020..2025).filter(|y| *y != 2022 || k % 6 != 4) {
                core.push(("3", format!("{y}年度考核登记表"), date(y, 12, 20)));
            }
            if let Some(joined) = party {
                core.push(("6", "入党志愿书".into(), joined));
                if joined.year() < 2025 {
                    core.push(("6", "入党转正申请书".into(), date(joined.year() + 1, joined.month() as u8, 1)));
                }
            }
            for (category, title, formed) in core {
                let meta = MaterialMeta {
                    category: category.into(),
                    title: title.clone(),
                    formed_on: Some(crate::model::PartialDate::from_date(formed)),
                    pages: Some(1),
                    ..Default::default()
                };
                let body = format!("{title}\n\n姓名：{}\n", person.name);
                archive.filing().add(
                    &bootstrap,
                    person.id,
                    meta,
                    body.as_bytes(),
                    Some("document.txt".into()),
                    false,
                )?;
                summary.materials += 1;
            }

            // Real files: each person of the first two per department gets one of the fixtures in turn.
            if i < 2 && !real.is_empty() {
                let f = real[fixture_round % real.len()];
                fixture_round += 1;
                if let Some(bytes) = fixture_bytes(&f.file) {
                    let meta = MaterialMeta {
                        category: f.category.clone(),
                        title: f.title.clone(),
                        formed_on: f.formed_on.as_deref().and_then(|d| d.parse().ok()),
                        pages: f.pages,
                        tags: f.tags.clone(),
                        ..Default::default()
                    };
                    archive.filing().add(&bootstrap, person.id, meta, bytes, Some(f.file.clone()), false)?;
                    summary.materials += 1;
                }
            }

            // 收材登记: received, not yet filed (the 待归档 queue, docs/DOMAIN.md §2b). The first person of sales
            // has an assessment received 45 days ago (overdue: a month has passed), the first of ops a copy of a
            // diploma received 5 days ago.
            let received = match dept.code.as_str() {
                "sales" if i == 0 => Some(("3", "年度考核登记表（待归档）", 45, true, "销售部")),
                "ops" if i == 0 => Some(("4-1", "学历证书复印件（待归档）", 5, false, "人力资源部")),
                _ => None,
            };
            if let Some((category, title, days_ago, original, source)) = received {
                let on = crate::model::today() - time::Duration::days(days_ago);
                let copy_on = (!original).then(|| PartialDate::from_date(on - time::Duration::days(1)));
                let meta = MaterialMeta {
                    category: category.into(),
                    title: title.into(),
                    formed_on: Some(PartialDate::from_date(on - time::Duration::days(10))),
                    pages: Some(1),
                    source_unit: Some(source.into()),
                    original: Some(original),
                    received_on: Some(PartialDate::from_date(on)),
                    received_by: Some("人力资源部档案室".into()),
                    copies: Some(1),
                    copy_made_on: copy_on,
                    copy_certified_by: (!original).then(|| "人力资源部（盖章）".into()),
                    ..Default::default()
                };
                let body = format!("{title}\n\n{}\n", person.name);
                archive.intake().receive(
                    &bootstrap,
                    person.id,
                    meta,
                    body.as_bytes(),
                    Some("received.txt".into()),
                    false,
                )?;
                summary.materials += 1;
            }
        }
    }

    let accounts: Vec<(&str, Vec<Role>, Option<u8>, String)> = {
        let mut v: Vec<(&str, Vec<Role>, Option<u8>, String)> = vec![
            ("hr", vec![Role::Hr], None, "人力资源部 HR officer: creates, edits and reads dossiers".into()),
            ("admin", vec![Role::Admin], None, "行政部: custody and the catalogue".into()),
            ("finance", vec![Role::Finance], None, "财务部: salary materials".into()),
            ("legal", vec![Role::Legal], None, "法务部: contract materials".into()),
            ("it", vec![Role::It], None, "系统管理员: accounts, backups; no archive content".into()),
            ("secadmin", vec![Role::Secadmin], None, "安全保密管理员: policy and grants".into()),
            ("auditor", vec![Role::Auditor], None, "安全审计员: the audit trail".into()),
            ("leader1", vec![Role::Leader], Some(1), "分管领导 (approval level 1)".into()),
            ("leader2", vec![Role::Leader], Some(2), "主要领导 (approval level 2)".into()),
        ];
        for d in &data.departments {
            v.push(("", vec![Role::Head], None, d.code.clone()));
        }
        v.push((
            "scanner",
            vec![Role::Scanner],
            None,
            "数字化操作员 (contractor): files scans into assigned batches only".into(),
        ));
        v
    };
    for (username, roles, leader_level, desc) in accounts {
        let (username, description, department) = if username.is_empty() {
            (format!("head-{desc}"), format!("部门负责人 of {desc}"), Some(desc.clone()))
        } else {
            let dept = match username {
                "hr" | "admin" | "finance" | "legal" | "it" => Some(username.to_string()),
                "scanner" => None,
                _ => Some("admin".to_string()),
            };
            (username.to_string(), desc, dept)
        };
        let link = linked.iter().find(|(u, _, _)| *u == username);
        archive.accounts().create_demo_user(NewUser {
            username: username.clone(),
            display_name: link.map(|l| l.2.clone()).unwrap_or_else(|| username.clone()),
            password: DEMO_PASSWORD.into(),
            roles: roles.clone(),
            department,
            person_id: link.map(|l| l.1),
            leader_level,
        })?;
        summary.accounts.push(DemoAccount { username, roles, description });
    }
    let renewal = contracts(archive, &bootstrap, &people)?;
    requests_in_flight(archive, &bootstrap, &people, renewal)?;
    received_package(archive, &bootstrap, &people)?;
    // Two digitization batches over the research department's dossiers, assigned to the scanning operator: an
    // earlier one, scanned and handed over, waits in 抽检 for the archive's reviewer.
    let qc = archive.imports().create_batch(
        &bootstrap,
        super::batches::NewBatch {
            name: "2025年第四批纸质档案数字化（研究发展部）".into(),
            assignees: vec!["scanner".into()],
            person_ids: batch_persons.iter().take(1).copied().collect(),
            sample_percent: None,
            sample_min: None,
        },
    )?;
    scanned_batch(archive, qc.id, &batch_persons)?;
    // And this year's, still being scanned.
    archive.imports().create_batch(
        &bootstrap,
        super::batches::NewBatch {
            name: "2026年第一批纸质档案数字化（研究发展部）".into(),
            assignees: vec!["scanner".into()],
            person_ids: batch_persons.clone(),
            sample_percent: None,
            sample_min: None,
        },
    )?;
    Ok(summary)
}

/// The scanning operator files two scanned materials from page images into the batch, finishes scanning and
/// hands it over: the batch waits in 抽检 with its sample drawn, for the QC page.
fn scanned_batch(archive: &Archive, batch: crate::model::BatchId, persons: &[crate::model::PersonId]) -> Result<()> {
    let Some(&person) = persons.first() else { return Ok(()) };
    let user = archive
        .accounts()
        .user_by_name("scanner")?
        .ok_or_else(|| super::Error::Internal("no demo user scanner".into()))?;
    let scanner = archive.accounts().principal_for(user, "demo")?;
    let materials = [("4-1", "大学毕业生登记表", "1998-07", 3u32), ("4-1", "学士学位证书", "1998-07", 1)];
    let mut seed = 0;
    for (category, title, formed, pages) in materials {
        let uploads = (1..=pages)
            .map(|n| {
                seed += 1;
                Ok(super::pages::PageUpload {
                    bytes: demo_page(seed)?,
                    file_name: Some(format!("R001-{category}-{:03}-{n:03}.jpg", seed)),
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let meta = MaterialMeta {
            category: category.into(),
            title: title.into(),
            formed_on: formed.parse().ok(),
            ..Default::default()
        };
        archive.digitisation().file_pages_in_batch(&scanner, batch, person, meta, uploads)?;
    }
    archive.digitisation().finish_scanning(&scanner, batch)?;
    archive.digitisation().hand_over(&scanner, batch)?;
    Ok(())
}

/// A scanned page of "text" (dark lines on white), 300 dpi, varied by `seed` so that no two pages are the same.
fn demo_page(seed: u32) -> Result<Vec<u8>> {
    use image::codecs::jpeg::{JpegEncoder, PixelDensity};
    let (w, h) = (620u32, 877u32);
    let img = image::GrayImage::from_fn(w, h, |x, y| {
        let line = (y / 24) % 2 == 1 && y > 60 && y < h - 60;
        let word = !((x + seed * 37) / 40).is_multiple_of(5) && x > 50 && x < w - 50 - (y * seed) % 120;
        image::Luma([if line && word { 25 } else { 245 }])
    });
    let mut out = Vec::new();
    let mut enc = JpegEncoder::new_with_quality(&mut out, 85);
    enc.set_pixel_density(PixelDensity::dpi(300));
    enc.encode_image(&img).map_err(|e| super::Error::Internal(format!("demo page image: {e}")))?;
    Ok(out)
}

/// 转入 (docs/DOMAIN.md §2c): a package of loose materials (零散材料) for a research cadre held here, as the
/// archive office of a former unit sends them (name and ID number only), waiting in the receiving queue.
fn received_package(
    archive: &Archive,
    hr: &Principal,
    people: &std::collections::BTreeMap<String, Vec<crate::model::PersonId>>,
) -> Result<()> {
    let Some(&id) = people.get("research").and_then(|v| v.first()) else { return Ok(()) };
    let person = archive.persons().load_person(id)?;
    let record = serde_json::json!({ "name": person.name, "id_number": person.id_number });
    let item = |category: &str, title: &str, formed: &str, text: String| {
        let meta = MaterialMeta {
            category: category.into(),
            title: title.into(),
            formed_on: formed.parse().ok(),
            pages: Some(1),
            source_unit: Some("原工作单位组织人事处".into()),
            ..Default::default()
        };
        (meta, text.into_bytes())
    };
    let materials = [
        item("7", "优秀共产党员表彰决定", "2019-07-01", format!("关于表彰{}同志为优秀共产党员的决定", person.name)),
        item("3", "2019年度考核登记表（原单位）", "2020-01-15", format!("{} 2019年度考核 优秀", person.name)),
    ];
    let zip = archive.packages().build(record, "former-unit-hr", &materials)?;
    archive.receiving().receive(hr, zip, Some("零散材料.zip".into()), false)?;
    Ok(())
}

/// Special reviews (专项审核) in every state: concluded (among them the two cadres promoted below), one concluded
/// long ago (expired), one with leaders for 认定 and 组织审批, one waiting for 初审, drafts with problems found.
fn special_reviews(
    archive: &Archive,
    hr: &Principal,
    people: &std::collections::BTreeMap<String, Vec<crate::model::PersonId>>,
) -> Result<()> {
    use super::workflows::NewRequest;
    use crate::model::RequestKind;
    // Nobody's own dossier: account holders' records are left out, and so are dossiers the dataset lacks.
    let linked: Vec<crate::model::PersonId> = archive
        .store()
        .scan::<crate::model::User>(crate::store::Table::Users, b"")?
        .into_iter()
        .filter_map(|(_, u)| u.person_id)
        .collect();
    let nth = |dept: &str, i: usize| people.get(dept).and_then(|v| v.get(i)).copied().filter(|p| !linked.contains(p));
    let principal = |who: &str| -> Result<Principal> {
        let user = archive
            .accounts()
            .user_by_name(who)?
            .ok_or_else(|| super::Error::Internal(format!("no demo user {who}")))?;
        archive.accounts().principal_for(user, "demo")
    };
    // (department, index, steps approved after submission: None = a draft, left unsubmitted; problems found)
    let plan: [(&str, usize, Option<usize>, bool); 10] = [
        ("research", 2, Some(4), false),
        ("ops", 5, Some(4), false),
        ("it", 2, Some(4), false),
        ("finance", 3, Some(4), true),
        ("sales", 3, Some(4), false),
        ("ops", 3, Some(4), false),
        ("sales", 4, Some(2), false),
        ("research", 4, Some(0), true),
        ("it", 4, None, true),
        ("finance", 4, None, false),
    ];
    for (dept, n, steps, problems) in plan {
        let Some(id) = nth(dept, n) else { continue };
        let person = archive.persons().load_person(id)?;
        let materials: Vec<crate::model::Material> = archive
            .materials()
            .material_ids_of(id)?
            .into_iter()
            .map(|m| archive.materials().load_material(m))
            .collect::<Result<_>>()?;
        let of = |code: &str| materials.iter().find(|m| m.meta.category == code).or(materials.first()).map(|m| m.id);
        let (Some(resume), Some(diploma)) = (of("1"), of("4-1")) else { continue };
        let mut entries = Vec::new();
        let mut entry = |item: &str, value: Option<String>, source: crate::model::MaterialId| {
            if let Some(v) = value {
                entries.push(json!({"item": item, "found": [{"material_id": source, "value": v}],
                    "determined": v, "evidence": [source], "basis": "以最早形成的原始材料为准"}));
            }
        };
        entry("birth_date", person.birth_date.map(|d| d.to_string()), resume);
        entry("work_start", person.work_start.map(|d| d.to_string()), resume);
        entry("party_join", person.party_join.map(|d| d.to_string()), resume);
        entry("education", person.education.clone(), diploma);
        if problems && let Some(first) = entries.first_mut() {
            first["problems"] = json!([{"kind": "inconsistent", "material_id": resume,
                "note": "干部履历表与入党志愿书所填出生年月相差一年，以户籍材料和最早的履历表为准"}]);
        }
        if problems && steps.is_none() {
            // A draft still waiting for an answer from the cadre's former unit.
            entries.push(json!({"item": "cadre_status", "problems": [{"kind": "missing", "material_id": resume,
                "note": "缺少转干审批表，已函询原单位"}]}));
        }
        let input = serde_json::from_value(json!({"entries": entries}))
            .map_err(|e| super::Error::Internal(format!("demo review: {e}")))?;
        archive.reviews().record(hr, id, None, input)?;
        let Some(steps) = steps else { continue };
        let r = archive.requests().create(
            hr,
            NewRequest {
                kind: RequestKind::SpecialReview,
                person_id: Some(id),
                changes: json!({}),
                reason: Some("干部人事档案专项审核".into()),
                draft: false,
            },
        )?;
        let head = format!("head-{dept}");
        for who in ["admin", head.as_str(), "leader1", "leader2"].into_iter().take(steps) {
            archive.requests().decide(&principal(who)?, r.id, "approve", Some("同意".into()))?;
        }
        if (dept, n) == ("ops", 3) {
            // Concluded in the 2016 campaign: long past the age a promotion accepts.
            archive.reviews().backdate_conclusion(id, 1_466_000_000)?;
        }
    }
    Ok(())
}

/// A labour contract as a text document: the usual form, with this term, probation and pay.
fn contract_text(name: &str, kind: &str, term: &str, probation: &str, pay: &str) -> String {
    format!(
        "{kind}\n\n甲方（用人单位）：某某市信息产业集团有限公司\n乙方（劳动者）：{name}\n\n\
         第一条 合同期限\n{term}{probation}\n\n\
         第二条 工作内容和工作地点\n乙方同意根据甲方工作需要担任相应岗位工作，工作地点为浙江省杭州市。\n\n\
         第三条 劳动报酬\n{pay}\n\n\
         第四条 保密与竞业限制\n乙方应保守甲方的商业秘密。乙方离职后一年内负有竞业限制义务，甲方每月支付竞业限制经济补偿3000元。\n\n\
         第五条 其他\n本合同一式两份，甲乙双方各执一份。\n签订日期：{signed}\n",
        signed = term.split('自').nth(1).and_then(|t| t.split('起').next()).unwrap_or("2024年1月1日"),
    )
}

fn cn_date(d: time::Date) -> String {
    format!("{}年{}月{}日", d.year(), d.month() as u8, d.day())
}

/// The contract register's demo (docs/DOMAIN.md §4e): in each department one cadre's contract filed and recorded
/// — one ending within the notice window, one ending later, a renewed pair, a new hire in probation, a
/// separation with its 竞业限制 — and, for the second cadre of sales, a renewal filed in two versions (a clause
/// changed) with a blocking review note by legal, which the contract change in flight is waiting on. Returns
/// that contract.
fn contracts(
    archive: &Archive,
    hr: &Principal,
    people: &std::collections::BTreeMap<String, Vec<crate::model::PersonId>>,
) -> Result<Option<crate::model::MaterialId>> {
    use crate::model::contract::{ContractKind, ContractStatus, ContractTerms, NewNote, NonCompete, NoteSeverity};
    let today = crate::model::today();
    let days = |n: i64| today + time::Duration::days(n);
    let years = |d: time::Date, n: u32| crate::model::date::add_months(d, 12 * n);
    let file = |person, title: &str, text: &str| -> Result<crate::model::MaterialId> {
        let meta = MaterialMeta {
            category: "10".into(),
            title: title.into(),
            formed_on: Some(PartialDate::from_date(today)),
            pages: Some(2),
            tags: vec![super::contracts::CONTRACT_TAG.into()],
            ..Default::default()
        };
        Ok(archive.filing().add(hr, person, meta, text.as_bytes(), Some("contract.txt".into()), false)?.record.id)
    };
    let record = |id, terms: ContractTerms| archive.contracts().save(hr, id, terms, None).map(|_| ());
    // The person record lists the cadre's contracts as filed (kind, term, material), replacing the open-ended
    // contract every demo cadre starts with: what HR records when it files them, so register and record agree.
    let list = |person, entries: &[(&str, time::Date, Option<time::Date>, Option<crate::model::MaterialId>)]| {
        let contracts: Vec<serde_json::Value> = entries
            .iter()
            .map(|(kind, from, to, m)| {
                json!({"kind": kind, "from": PartialDate::from_date(*from), "to": to.map(PartialDate::from_date), "material_id": m})
            })
            .collect();
        let patch = json!({ "contracts": contracts });
        let version = archive.persons().load_person(person)?.version;
        let reason = Some("合同登记（演示数据）".to_string());
        archive.persons().patch_person_as(hr, person, Some(version), patch, reason, false).map(|_| ())
    };
    let fixed = |from: time::Date, to: time::Date, probation: Option<time::Date>| ContractTerms {
        kind: ContractKind::Labour,
        parties: vec!["某某市信息产业集团有限公司".into()],
        signed_on: Some(PartialDate::from_date(from)),
        from: Some(PartialDate::from_date(from)),
        to: Some(PartialDate::from_date(to)),
        probation_until: probation.map(PartialDate::from_date),
        ..Default::default()
    };
    let term = |from: time::Date, to: time::Date| {
        format!("本合同为固定期限劳动合同，自{}起至{}止。", cn_date(from), cn_date(to))
    };
    for (j, ids) in people.values().enumerate() {
        let Some(&pid) = ids.last() else { continue };
        let name = archive.persons().load_person(pid)?.name;
        let title = "劳动合同书";
        let terms_for = |from: time::Date, to: time::Date, probation: Option<time::Date>| -> Result<()> {
            let p = probation.map(|p| format!("试用期至{}。", cn_date(p))).unwrap_or_default();
            let id =
                file(pid, title, &contract_text(&name, title, &term(from, to), &p, "月工资按岗位绩效工资制度执行。"))?;
            let mut terms = fixed(from, to, probation);
            terms.parties.push(name.clone());
            record(id, terms)?;
            list(pid, &[("劳动合同", from, Some(to), Some(id))])
        };
        match j % 5 {
            // Ends within the notice window: legal's and HR's inbox remind of it now.
            0 => terms_for(days(20) - time::Duration::days(3 * 365), days(20), None)?,
            // Ends in 75 days: reminded once 45 days have passed.
            1 => terms_for(days(75) - time::Duration::days(3 * 365), days(75), None)?,
            // Renewed: the old contract and the one that renews it.
            2 => {
                let (old_from, old_to) = (days(-400) - time::Duration::days(3 * 365), days(-400));
                let old = file(
                    pid,
                    "劳动合同书（首次）",
                    &contract_text(&name, title, &term(old_from, old_to), "", "月工资6000元。"),
                )?;
                let mut t = fixed(old_from, old_to, None);
                t.status = ContractStatus::Renewed;
                t.parties.push(name.clone());
                record(old, t)?;
                let (from, to) = (old_to + time::Duration::days(1), years(old_to, 5));
                let new = file(
                    pid,
                    "劳动合同书（续订）",
                    &contract_text(&name, title, &term(from, to), "", "月工资6800元。"),
                )?;
                let mut t = fixed(from, to, None);
                t.renews = Some(old);
                t.parties.push(name.clone());
                record(new, t)?;
                list(pid, &[("劳动合同", old_from, Some(old_to), Some(old)), ("劳动合同", from, Some(to), Some(new))])?;
            }
            // A new hire whose probation ends within the window.
            3 => {
                let from = days(-70);
                terms_for(from, years(from, 3) - time::Duration::days(1), Some(days(20)))?;
            }
            // Left, with a separation agreement and a 竞业限制 that binds now.
            _ => {
                let text = format!(
                    "离职协议\n\n甲方：某某市信息产业集团有限公司\n乙方：{name}\n\n双方协商一致解除劳动合同，乙方离职后一年内负有竞业限制义务，甲方每月支付竞业限制经济补偿3500元。\n签订日期：{}\n",
                    cn_date(days(-90))
                );
                let id = file(pid, "离职协议", &text)?;
                record(
                    id,
                    ContractTerms {
                        kind: ContractKind::Separation,
                        parties: vec!["某某市信息产业集团有限公司".into(), name.clone()],
                        signed_on: Some(PartialDate::from_date(days(-90))),
                        non_compete: Some(NonCompete {
                            months: 12,
                            monthly_compensation: Some(3500.0),
                            from: Some(PartialDate::from_date(days(-89))),
                        }),
                        ..Default::default()
                    },
                )?;
                list(pid, &[("离职协议", days(-90), None, Some(id))])?;
            }
        }
    }
    // The renewal in flight: filed, then filed again with the pay clause changed, and legal's blocking note.
    let Some(pid) = people.get("sales").and_then(|v| v.get(1.min(v.len().saturating_sub(1)))).copied() else {
        return Ok(None);
    };
    let name = archive.persons().load_person(pid)?.name;
    let (from, to) = (crate::model::date::add_months(today, 1), years(today, 3));
    let text = |pay: &str| contract_text(&name, "劳动合同书", &term(from, to), "", pay);
    let id = file(pid, "劳动合同书（续订）", &text("月工资6500元，每月15日前支付。"))?;
    archive.filing().replace(
        hr,
        id,
        Some(1),
        text("月工资按岗位绩效工资制度执行，具体金额另行通知。").as_bytes(),
        Some("contract-v2.txt".into()),
        Some("法务修改意见稿".into()),
    )?;
    let mut terms = fixed(from, to, None);
    terms.parties.push(name);
    record(id, terms)?;
    // The contract it renews ends the day before (its paper not digitised: the record alone knows it).
    let ends = from - time::Duration::days(1);
    list(pid, &[("劳动合同", from - time::Duration::days(3 * 365), Some(ends), None)])?;
    let legal =
        archive.accounts().user_by_name("legal")?.ok_or_else(|| super::Error::Internal("no demo user legal".into()))?;
    archive.contracts().add_note(
        &archive.accounts().principal_for(legal, "demo")?,
        id,
        NewNote {
            clause: "第三条 劳动报酬：月工资按岗位绩效工资制度执行，具体金额另行通知。".into(),
            finding: "劳动报酬条款未约定具体金额，不符合《劳动合同法》第十七条必备条款的要求；请写明工资标准后再审批。"
                .into(),
            severity: NoteSeverity::Blocking,
        },
    )?;
    Ok(Some(id))
}

/// A few requests in flight, so every reviewer's and leader's inbox holds something.
fn requests_in_flight(
    archive: &Archive,
    hr: &Principal,
    people: &std::collections::BTreeMap<String, Vec<crate::model::PersonId>>,
    renewal: Option<crate::model::MaterialId>,
) -> Result<()> {
    use super::workflows::NewRequest;
    use crate::model::RequestKind;
    let nth = |dept: &str, i: usize| people.get(dept).and_then(|v| v.get(i.min(v.len().saturating_sub(1)))).copied();
    let ask = |person, kind: RequestKind, changes: serde_json::Value, reason: &str| {
        archive
            .requests()
            .create(hr, NewRequest { kind, person_id: person, changes, reason: Some(reason.into()), draft: false })
    };
    let act = |who: &str, id| -> Result<()> {
        let user = archive
            .accounts()
            .user_by_name(who)?
            .ok_or_else(|| super::Error::Internal(format!("no demo user {who}")))?;
        archive.requests().decide(
            &archive.accounts().principal_for(user, "demo")?,
            id,
            "approve",
            Some("同意".into()),
        )?;
        Ok(())
    };
    // Each head: a change of post in their department.
    for dept in people.keys() {
        ask(nth(dept, 1), RequestKind::Update, json!({"position": "业务主管"}), "岗位调整")?;
    }
    // Finance: a salary change; legal: a contract record.
    ask(nth("research", 1), RequestKind::Update, json!({"salary_grade": "28"}), "薪级正常晋升")?;
    ask(
        nth("sales", 1),
        RequestKind::Update,
        json!({"contracts": [{"kind": "劳动合同", "from": PartialDate::from_date(crate::model::date::add_months(crate::model::today(), 1)), "material_id": renewal}]}),
        "续签劳动合同",
    )?;
    // Administration: a transfer past both heads.
    let t =
        ask(nth("ops", 2), RequestKind::Transfer, json!({"department": "sales", "position": "市场专员"}), "工作需要")?;
    act("head-ops", t.id)?;
    act("head-sales", t.id)?;
    special_reviews(archive, hr, people)?;
    // Leaders: a promotion past the head (leader 1), another past leader 1 (leader 2). Both cadres' special
    // reviews were concluded first (凡提必审).
    let a = ask(
        nth("research", 2),
        RequestKind::Promotion,
        json!({"position": "研究发展部副部长（试用期一年）"}),
        "考核优秀",
    )?;
    act("head-research", a.id)?;
    let b = ask(
        nth("it", 2),
        RequestKind::Promotion,
        json!({"position": "信息技术部副部长（试用期一年）", "rank": "五级职员"}),
        "任职年限届满",
    )?;
    act("head-it", b.id)?;
    act("leader1", b.id)?;
    // 查阅: legal asks, for the 纪检监察 unit, to consult a dossier with its 介绍信; leader 1 decides (DOMAIN §4c).
    if let Some(person) = nth("ops", 3) {
        let legal =
            archive.accounts().user_by_name("legal")?.ok_or_else(|| super::Error::Internal("no legal".into()))?;
        let legal = archive.accounts().principal_for(legal, "demo")?;
        let req = super::grants::GrantRequest {
            person_id: person,
            material_ids: None,
            purpose: "核查反映问题线索涉及的任职经历".into(),
            from: None,
            until: crate::model::PartialDate::from_date(crate::model::today() + time::Duration::days(30)),
            unit: "纪检监察室".into(),
            readers: vec!["legal".into(), "finance".into()],
            permissions: vec![crate::model::consultation::GrantPermission::Excerpt],
        };
        archive.grants().request_with_letter(&legal, req, &letter_pdf(), Some("介绍信.pdf".into()))?;
    }
    // Custody (docs/DOMAIN.md §4c): a dossier transferred out, its package sent and the receipt awaited; a
    // paper dossier lent to the discipline inspection group; a shelf location given.
    let holders: Vec<crate::model::PersonId> =
        archive.accounts().users()?.into_iter().filter_map(|u| u.person_id).collect();
    // The last of a department's cadres who holds no account here.
    let free = |dept: &str| people.get(dept).and_then(|v| v.iter().rev().find(|p| !holders.contains(p))).copied();
    let out = ask(
        free("sales"),
        RequestKind::TransferOut,
        json!({"receiving_unit": "市人力资源和社会保障局", "notice_number": "调字〔2026〕27号",
            "address": "市政务服务中心3楼", "reason": "调出本单位"}),
        "调动",
    )?;
    act("admin", out.id)?;
    act("leader1", out.id)?;
    if let Some(t) = archive.transfers().all()?.into_iter().next() {
        archive.transfers().package(hr, t.id)?;
    }
    let admin =
        archive.accounts().user_by_name("admin")?.ok_or_else(|| super::Error::Internal("no demo user admin".into()))?;
    let admin = archive.accounts().principal_for(admin, "demo")?;
    if let Some(lent) = free("research") {
        archive.custody().lend(
            &admin,
            super::custody::NewLoan {
                person_id: lent,
                borrower: "王纪检".into(),
                unit: "纪检监察组".into(),
                purpose: "核查干部任职经历".into(),
                due_on: crate::model::PartialDate::from_date(crate::model::today() + time::Duration::days(14)),
            },
        )?;
    }
    if let Some(shelved) = free("ops") {
        let patch = super::custody::CustodyPatch { location: Some("A区-01-03".into()), ..Default::default() };
        archive.custody().update(&admin, shelved, None, patch)?;
    }
    Ok(())
}

/// A one-page PDF standing for a scanned 介绍信.
fn letter_pdf() -> Vec<u8> {
    let content = "BT /F1 16 Tf 72 760 Td (Letter of introduction - dangan demo) Tj ET";
    let objects = [
        "<< /Type /Catalog /Pages 2 0 R >>".to_string(),
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_string(),
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>"
            .to_string(),
        format!("<< /Length {} >>\nstream\n{content}\nendstream", content.len()),
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>".to_string(),
    ];
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_full_demo_loads() {
        let archive = crate::bootstrap::in_memory(
            crate::extract::Extractor::in_thread(std::time::Duration::from_secs(30)),
            crate::service::Config::default(),
        )
        .unwrap();
        let s = load(&archive, DemoOptions::default()).unwrap();
        assert!(s.persons >= 200);
        assert!(s.materials >= 6 * s.persons);
        assert_eq!(s.accounts.len(), 18);
        assert!(archive.indexing().wait_queue_empty(std::time::Duration::from_secs(120)).unwrap());
        let hr = archive.accounts().user_by_name("hr").unwrap().unwrap();
        let p = archive.accounts().principal_for(hr, "test").unwrap();
        for code in ["1", "2", "3", "4", "5", "6", "7", "8", "9", "10"] {
            let params = crate::service::search::SearchParams { category: Some(code.into()), ..Default::default() };
            assert!(archive.materials().search(&p, &params).unwrap().total > 0, "no demo material in category {code}");
        }
        let params = crate::service::search::SearchParams { q: "晋升".into(), ..Default::default() };
        assert!(archive.materials().search(&p, &params).unwrap().total > 0);
        // Every reviewer's and leader's inbox holds something.
        for who in ["head-hr", "head-ops", "head-sales", "finance", "legal", "admin", "leader1", "leader2"] {
            let u = archive.accounts().user_by_name(who).unwrap().unwrap();
            let inbox = archive.requests().inbox(&archive.accounts().principal_for(u, "test").unwrap()).unwrap();
            assert!(!inbox.is_empty(), "{who}'s inbox is empty");
        }
        // A package of loose materials waits in the receiving queue, for a cadre held here, both materials new.
        let state = Some(crate::service::receiving::ReceivingState::Queued);
        let (queued, total) = archive.receiving().queue(&p, state, 10, 0).unwrap();
        assert_eq!(total, 1);
        assert!(queued[0].loose && queued[0].existing.is_some() && queued[0].package.catalogue_findings.is_empty());
        assert!(queued[0].materials.iter().all(|m| m.held == crate::service::receiving::HeldState::New));
        // Special reviews in every state, and problems found.
        let t = archive.reports().review_progress(&p).unwrap();
        for state in
            crate::model::review::ReviewState::ALL.map(|s| s.as_str()).into_iter().chain(["problems_inconsistent"])
        {
            let i = t.columns.iter().position(|c| c == state).unwrap();
            let n: u64 = t.rows.iter().map(|r| r[i].as_u64().unwrap()).sum();
            assert!(n > 0, "no demo review in state {state}");
        }
    }

    #[test]
    fn generated_id_numbers_are_valid() {
        let mut rng = Rng(1);
        for i in 0..500u32 {
            let b = date(1960 + rng.below(40) as i32, 1 + rng.below(12) as u8, 1 + rng.below(28) as u8);
            let male = i % 3 == 0;
            let id = id_number("110105", b, i, male);
            let parsed = crate::model::idnumber::IdNumber::parse(&id).unwrap();
            assert_eq!(parsed.is_male(), male);
            assert_eq!(parsed.birth_date(), b);
        }
    }

    #[test]
    fn dataset_and_manifest_parse_and_cover_all_categories() {
        let d: Dataset = serde_json::from_str(DATASET).unwrap();
        let scheme = crate::model::CategoryScheme::scheme_2018();
        for code in ["1", "2", "3", "4", "5", "6", "7", "8", "9", "10"] {
            assert!(
                d.material_templates.iter().any(|t| scheme.lineage(&t.category).contains(&code.to_string())),
                "no template for category {code}"
            );
        }
        for t in &d.material_templates {
            assert!(scheme.resolve(&t.category).is_some(), "bad category {}", t.category);
        }
        assert_eq!(d.departments.len(), 8);
        let m = fixture_manifest();
        assert!(m.len() >= 7);
        for f in &m {
            assert!(fixture_bytes(&f.file).is_some(), "{} not embedded", f.file);
        }
    }
}
