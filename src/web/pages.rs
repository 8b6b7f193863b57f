//! Reading pages: home, search, the list of persons, a dossier (person record, catalogue by the ten categories,
//! history), a material (metadata, versions, viewer) and its content. Each calls the service function the API
//! calls, with the caller's principal, on the blocking pool; everything shown is in the HTML itself.

use super::error::{WebError, WebQuery, WebResult, parse_id};
use super::layout::{page, pager, role_name, when};
use super::nonempty;
use super::session::WebUser;
use crate::http::{AppState, Disposition, blocking, file_response, urlencode};
use crate::model::{CategoryScheme, Material, MaterialId, PartialDate, Person, PersonId};
use crate::service::persons::{CatalogueEntry, PersonQuery, PersonView};
use crate::service::search::SearchParams;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use maud::{Markup, PreEscaped, html};
use serde::Deserialize;

const NUMERALS: [&str; 10] = ["一", "二", "三", "四", "五", "六", "七", "八", "九", "十"];

/// `GET /`: who I am and what my roles let me use.
pub(super) async fn home(user: WebUser) -> Response {
    let l = user.lang;
    let u = &user.principal.user;
    let c = &user.can;
    let body = html! {
        h1 { (l.t("欢迎，", "Welcome, ")) (u.display_name) }
        section.card {
            h2 { (l.t("我的账号", "My account")) }
            dl.fields {
                dt { (l.t("用户名", "Username")) } dd { (u.username) }
                dt { (l.t("角色", "Roles")) }
                dd { @for (i, r) in u.roles.iter().enumerate() { @if i > 0 { "、" } (role_name(l, *r)) } }
                dt { (l.t("部门", "Department")) } dd { (user.department_name.as_deref().unwrap_or("—")) }
            }
        }
        section.card {
            h2 { (l.t("我可以使用", "What I can use")) }
            ul.links {
                @if c.search { li { a href="/search" { (l.t("全文检索档案材料", "Search the materials")) } } }
                @if c.persons { li { a href="/persons" { (l.t("浏览干部档案", "Browse the dossiers")) } } }
                li { a href="/inbox" { (l.t("待办审批事项与我的申请", "My inbox and requests")) } }
                li { a href="/grants" { @if c.grants { (l.t("决定查阅授权", "Decide consultation grants")) } @else { (l.t("我的查阅授权", "My consultation grants")) } } }
                @if c.audit {
                    li { a href="/audit" { (l.t("查询审计日志", "Query the audit trail")) } }
                    li { a href="/audit/verify" { (l.t("校验审计日志完整性", "Verify the audit trail")) } }
                }
                @if c.upload { li { a href="/imports" { (l.t("批量导入材料（zip 与目录）", "Batch import (zip with a catalogue)")) } } }
                @if c.reports { li { a href="/reports" { (l.t("统计报表与图表", "Reports and charts")) } } }
                @if c.review { li { a href="/review" { (l.t("权限审查报告", "Permission review")) } } }
                @if c.accounts { li { a href="/accounts" { (l.t("账号管理", "Accounts")) } } }
            }
        }
    };
    page(l, Some(&user), l.t("首页", "Home"), body).into_response()
}

fn category_options(scheme: &CategoryScheme, selected: Option<&str>, any: &str) -> Markup {
    html! {
        option value="" { (any) }
        @for c in &scheme.categories {
            option value=(c.code) selected[selected == Some(c.code.as_str())] {
                @if c.parent.is_some() { "　" } (c.code) " " (c.name)
            }
        }
    }
}

fn department_options(st: &AppState, selected: Option<&str>, any: &str) -> Markup {
    html! {
        option value="" { (any) }
        @for d in &st.archive.config().departments {
            option value=(d.code) selected[selected == Some(d.code.as_str())] { (d.name) }
        }
    }
}

fn category_label(scheme: &CategoryScheme, code: &str) -> String {
    scheme.resolve(code).map(|c| format!("{} {}", c.code, c.name)).unwrap_or_else(|| code.to_string())
}

/// Search parameters as the form sends them.
#[derive(Deserialize, Default)]
pub(super) struct SearchForm {
    #[serde(default)]
    q: String,
    category: Option<String>,
    department: Option<String>,
    from: Option<String>,
    to: Option<String>,
    page: Option<usize>,
}

fn date_param(name: &str, v: &Option<String>) -> WebResult<Option<PartialDate>> {
    match nonempty(v) {
        None => Ok(None),
        Some(s) => s.parse().map(Some).map_err(|e: crate::model::date::InvalidDate| {
            WebError::from(crate::service::Error::invalid(name, e.to_string()))
        }),
    }
}

const SEARCH_PAGE: usize = 20;

/// `GET /search`: the form, and with words or filters the hits with highlighted snippets, total and paging.
pub(super) async fn search(
    State(st): State<AppState>,
    user: WebUser,
    WebQuery(f): WebQuery<SearchForm>,
) -> WebResult<Response> {
    let l = user.lang;
    let (category, department) = (nonempty(&f.category), nonempty(&f.department));
    let asked = !f.q.trim().is_empty()
        || category.is_some()
        || department.is_some()
        || nonempty(&f.from).is_some()
        || nonempty(&f.to).is_some();
    let page_no = f.page.unwrap_or(1).clamp(1, 500);
    let results = if asked {
        let params = SearchParams {
            q: f.q.trim().to_string(),
            category: category.clone(),
            department: department.clone(),
            from: date_param("from", &f.from)?,
            to: date_param("to", &f.to)?,
            limit: Some(SEARCH_PAGE),
            offset: Some((page_no - 1) * SEARCH_PAGE),
        };
        let archive = st.archive.clone();
        let p = user.principal.clone();
        Some(blocking(move || archive.materials().search(&p, &params)).await?)
    } else {
        None
    };
    // Scans still being read are found by their catalogue fields only: say so (a count, nothing more).
    let archive = st.archive.clone();
    let reading = blocking(move || archive.indexing().queue_stats()).await.map(|q| q.ocr.depth).unwrap_or(0);
    let scheme = st.archive.scheme();
    let base = format!(
        "q={}&category={}&department={}&from={}&to={}",
        urlencode(f.q.trim()),
        urlencode(category.as_deref().unwrap_or("")),
        urlencode(department.as_deref().unwrap_or("")),
        urlencode(nonempty(&f.from).as_deref().unwrap_or("")),
        urlencode(nonempty(&f.to).as_deref().unwrap_or("")),
    );
    let body = html! {
        h1 { (l.t("档案检索", "Search")) }
        form.search method="get" action="/search" role="search" {
            p.grow {
                label for="q" { (l.t("检索词", "Words")) }
                input #q type="search" name="q" value=(f.q) autofocus placeholder=(l.t("如：晋升、劳动合同", "e.g. 晋升"));
            }
            p {
                label for="category" { (l.t("类别", "Category")) }
                select #category name="category" { (category_options(scheme, category.as_deref(), l.t("全部类别", "All"))) }
            }
            p {
                label for="department" { (l.t("部门", "Department")) }
                select #department name="department" { (department_options(&st, department.as_deref(), l.t("全部部门", "All"))) }
            }
            p {
                label for="from" { (l.t("形成时间自", "Formed from")) }
                input #from type="text" name="from" value=(f.from.clone().unwrap_or_default()) placeholder="2019" size="10";
            }
            p {
                label for="to" { (l.t("至", "to")) }
                input #to type="text" name="to" value=(f.to.clone().unwrap_or_default()) placeholder="2020-06" size="10";
            }
            p { button type="submit" { (l.t("检索", "Search")) } }
        }
        @if reading > 0 {
            p.hint role="status" {
                (reading) (l.t(" 份材料正在识别，稍后可检索。", " materials are still being read by OCR; they can be found by their text soon."))
            }
        }
        @if let Some(r) = &results {
            p.total { (l.t("共找到 ", "Found ")) strong { (r.total) } (l.t(" 份材料", " materials")) }
            @if r.hits.is_empty() {
                p { (l.t("没有找到您可以查看的材料。", "Nothing you may see matches.")) }
            } @else {
                ol.hits start=((page_no - 1) * SEARCH_PAGE + 1) {
                    @for h in &r.hits {
                        li.hit {
                            h2 { a href={ "/materials/" (h.material_id) } { (h.title) } }
                            p.meta {
                                a href={ "/persons/" (h.person_id) } { (h.person_name) }
                                " · " (category_label(scheme, &h.category))
                                @if let Some(d) = h.formed_on { " · " (d) }
                            }
                            @if !h.snippet.is_empty() {
                                // The snippet's text is HTML-escaped by the index; its only tags are the `<b>` around
                                // matches, which become `<mark>`.
                                // The page the first match is on, when the text knows its pages (PDFs, scans).
                                p.snippet {
                                    @if let Some(n) = h.page {
                                        span.page-no { (l.t("第 ", "p. ")) (n) (l.t(" 页", "")) }
                                        " "
                                    }
                                    (PreEscaped(h.snippet.replace("<b>", "<mark>").replace("</b>", "</mark>")))
                                }
                            }
                        }
                    }
                }
                (pager(l, "/search", &base, page_no, SEARCH_PAGE, r.total))
            }
        }
    };
    Ok(page(l, Some(&user), l.t("检索", "Search"), body).into_response())
}

#[derive(Deserialize)]
pub(super) struct PersonsForm {
    name: Option<String>,
    department: Option<String>,
    page: Option<usize>,
}

const PERSONS_PAGE: usize = 50;

fn status_name(l: super::session::Lang, s: crate::model::PersonStatus) -> &'static str {
    use crate::model::PersonStatus as S;
    match s {
        S::Active => l.t("在职", "active"),
        S::Transferred => l.t("调出", "transferred"),
        S::Resigned => l.t("离职", "resigned"),
        S::Retired => l.t("退休", "retired"),
        S::Deceased => l.t("去世", "deceased"),
    }
}

fn gender_name(l: super::session::Lang, g: Option<crate::model::person::Gender>) -> &'static str {
    match g {
        Some(crate::model::person::Gender::Male) => l.t("男", "male"),
        Some(crate::model::person::Gender::Female) => l.t("女", "female"),
        None => "—",
    }
}

/// `GET /persons`: the persons the caller may see, by name and department, paged.
pub(super) async fn persons(
    State(st): State<AppState>,
    user: WebUser,
    WebQuery(f): WebQuery<PersonsForm>,
) -> WebResult<Response> {
    let l = user.lang;
    let page_no = f.page.unwrap_or(1).clamp(1, 10_000);
    let query = PersonQuery {
        name: nonempty(&f.name),
        department: nonempty(&f.department),
        limit: PERSONS_PAGE,
        offset: (page_no - 1) * PERSONS_PAGE,
    };
    let archive = st.archive.clone();
    let p = user.principal.clone();
    let q = query.clone();
    let (items, total) = blocking(move || archive.persons().list(&p, &q)).await?;
    let base = format!(
        "name={}&department={}",
        urlencode(query.name.as_deref().unwrap_or("")),
        urlencode(query.department.as_deref().unwrap_or(""))
    );
    let body = html! {
        h1 { (l.t("干部档案", "Dossiers")) }
        @if user.can.create { p { a.button href="/persons/new" { (l.t("新建人员档案", "New person")) } } }
        form.search method="get" action="/persons" {
            p.grow {
                label for="name" { (l.t("姓名（含曾用名）", "Name (or former name)")) }
                input #name type="search" name="name" value=(query.name.clone().unwrap_or_default());
            }
            p {
                label for="department" { (l.t("部门", "Department")) }
                select #department name="department" { (department_options(&st, query.department.as_deref(), l.t("全部部门", "All"))) }
            }
            p { button type="submit" { (l.t("筛选", "Filter")) } }
        }
        p.total { (l.t("共 ", "")) strong { (total) } (l.t(" 人", " persons")) }
        table {
            thead { tr {
                th scope="col" { (l.t("姓名", "Name")) }
                th scope="col" { (l.t("性别", "Gender")) }
                th scope="col" { (l.t("部门", "Department")) }
                th scope="col" { (l.t("职务", "Position")) }
                th scope="col" { (l.t("职级", "Rank")) }
                th scope="col" { (l.t("状态", "Status")) }
            } }
            tbody {
                @for v in &items {
                    @let x = &v.person;
                    tr {
                        td { a href={ "/persons/" (x.id) } { (x.name) } }
                        td { (gender_name(l, x.gender)) }
                        td { (x.department_name.as_deref().unwrap_or(&x.department)) }
                        td { (x.position.as_deref().unwrap_or("—")) }
                        td { (x.rank.as_deref().unwrap_or("—")) }
                        td { (status_name(l, x.status)) }
                    }
                }
            }
        }
        (pager(l, "/persons", &base, page_no, PERSONS_PAGE, total))
    };
    Ok(page(l, Some(&user), l.t("干部档案", "Dossiers"), body).into_response())
}

fn opt<T: std::fmt::Display>(v: &Option<T>) -> String {
    v.as_ref().map(|x| x.to_string()).unwrap_or_else(|| "—".into())
}

fn person_fields(l: super::session::Lang, v: &PersonView) -> Markup {
    let x = &v.person;
    let row = |zh: &'static str, en: &'static str, value: String| html! { dt { (l.t(zh, en)) } dd { (value) } };
    html! {
        dl.fields {
            (row("姓名", "Name", x.name.clone()))
            @if !x.former_names.is_empty() { (row("曾用名", "Former names", x.former_names.join("、"))) }
            (row("性别", "Gender", gender_name(l, x.gender).into()))
            (row("出生日期", "Born", opt(&x.birth_date)))
            (row("公民身份号码", "ID number", opt(&x.id_number)))
            (row("民族", "Ethnicity", opt(&x.ethnicity)))
            (row("籍贯", "Native place", opt(&x.native_place)))
            (row("参加工作时间", "Started work", opt(&x.work_start)))
            (row("入党时间", "Joined the party", opt(&x.party_join)))
            @if x.party_full.is_some() { (row("转正时间", "Full party membership", opt(&x.party_full))) }
            (row("学历学位", "Education", opt(&x.education)))
            (row("部门", "Department", x.department_name.clone().unwrap_or_else(|| x.department.clone())))
            (row("职务", "Position", opt(&x.position)))
            (row("职级", "Rank", opt(&x.rank)))
            @if x.salary_grade.is_some() { (row("薪级", "Salary grade", opt(&x.salary_grade))) }
            @if x.phone.is_some() { (row("电话", "Phone", opt(&x.phone))) }
            @if x.address.is_some() { (row("地址", "Address", opt(&x.address))) }
            (row("状态", "Status", status_name(l, x.status).into()))
            (row("版本", "Version", x.version.to_string()))
        }
        @if !v.hidden.is_empty() {
            p.note { (l.t("按您的权限，以下部分不显示或已遮蔽：", "Hidden or masked for your role: ")) (v.hidden.join(", ")) }
        }
    }
}

fn has_records(x: &Person) -> bool {
    !(x.appointments.is_empty()
        && x.secondments.is_empty()
        && x.education_history.is_empty()
        && x.training.is_empty()
        && x.assessments.is_empty()
        && x.rewards.is_empty()
        && x.punishments.is_empty()
        && x.salary.is_empty()
        && x.contracts.is_empty()
        && x.family.is_empty())
}

fn person_records(st: &AppState, l: super::session::Lang, x: &Person) -> Markup {
    let department = |code: &str| st.archive.department_name(code).unwrap_or_else(|| code.to_string());
    html! {
        @if !x.appointments.is_empty() {
            h3 { (l.t("任职经历", "Appointments")) }
            table { thead { tr { th { (l.t("起", "From")) } th { (l.t("止", "To")) } th { (l.t("部门", "Department")) } th { (l.t("职务", "Position")) } th { (l.t("职级", "Rank")) } th { (l.t("文号", "Document")) } } }
                tbody { @for a in &x.appointments { tr { td { (a.from) } td { (opt(&a.to)) } td { (department(&a.department)) } td { (a.position) } td { (opt(&a.rank)) } td { (opt(&a.document_number)) } } } } }
        }
        @if !x.secondments.is_empty() {
            h3 { (l.t("借调", "Secondments")) }
            table { thead { tr { th { (l.t("起", "From")) } th { (l.t("止", "Until")) } th { (l.t("借调单位", "Host department")) } th { (l.t("职务", "Position")) } th { (l.t("事由", "Reason")) } } }
                tbody { @for s in &x.secondments { tr { td { (s.from) } td { (s.until) } td { (department(&s.department)) } td { (opt(&s.position)) } td { (opt(&s.reason)) } } } } }
        }
        @if !x.education_history.is_empty() {
            h3 { (l.t("学历学位", "Education")) }
            table { thead { tr { th { (l.t("起", "From")) } th { (l.t("止", "To")) } th { (l.t("学校", "School")) } th { (l.t("专业", "Major")) } th { (l.t("学历", "Level")) } th { (l.t("学位", "Degree")) } } }
                tbody { @for e in &x.education_history { tr { td { (opt(&e.from)) } td { (opt(&e.to)) } td { (e.school) } td { (opt(&e.major)) } td { (opt(&e.level)) } td { (opt(&e.degree)) } } } } }
        }
        @if !x.training.is_empty() {
            h3 { (l.t("培训", "Training")) }
            table { thead { tr { th { (l.t("起", "From")) } th { (l.t("止", "To")) } th { (l.t("名称", "Course")) } th { (l.t("主办", "Organiser")) } } }
                tbody { @for t in &x.training { tr { td { (t.from) } td { (opt(&t.to)) } td { (t.name) } td { (opt(&t.organiser)) } } } } }
        }
        @if !x.assessments.is_empty() {
            h3 { (l.t("年度考核", "Assessments")) }
            table { thead { tr { th { (l.t("年度", "Year")) } th { (l.t("等次", "Grade")) } } }
                tbody { @for a in &x.assessments { tr { td { (a.year) } td { (a.grade) } } } } }
        }
        @for (zh, en, list) in [("奖励", "Rewards", &x.rewards), ("处分", "Punishments", &x.punishments)] {
            @if !list.is_empty() {
                h3 { (l.t(zh, en)) }
                table { thead { tr { th { (l.t("日期", "Date")) } th { (l.t("名称", "Title")) } th { (l.t("决定机关", "Authority")) } } }
                    tbody { @for h in list { tr { td { (h.date) } td { (h.title) } td { (opt(&h.authority)) } } } } }
            }
        }
        @if !x.salary.is_empty() {
            h3 { (l.t("工资", "Salary")) }
            table { thead { tr { th { (l.t("起", "From")) } th { (l.t("薪级", "Grade")) } th { (l.t("金额（元/月）", "Amount")) } } }
                tbody { @for s in &x.salary { tr { td { (s.from) } td { (s.grade) } td { (opt(&s.amount)) } } } } }
        }
        @if !x.contracts.is_empty() {
            h3 { (l.t("合同", "Contracts")) }
            table { thead { tr { th { (l.t("种类", "Kind")) } th { (l.t("起", "From")) } th { (l.t("止", "To")) } th { (l.t("材料", "Material")) } } }
                tbody { @for c in &x.contracts { tr { td { (c.kind) } td { (c.from) } td { (opt(&c.to)) }
                    td { @if let Some(m) = c.material_id { a href={ "/materials/" (m) } { (l.t("查看", "open")) } } @else { "—" } } } } } }
        }
        @if !x.family.is_empty() {
            h3 { (l.t("家庭成员", "Family")) }
            table { thead { tr { th { (l.t("关系", "Relation")) } th { (l.t("姓名", "Name")) } th { (l.t("工作单位", "Work unit")) } } }
                tbody { @for f in &x.family { tr { td { (f.relation) } td { (f.name) } td { (opt(&f.work_unit)) } } } } }
        }
    }
}

/// The (sub)category codes of catalogue entries, in catalogue order, each once.
fn categories_in<'a>(entries: &[&'a CatalogueEntry]) -> Vec<&'a str> {
    let mut codes: Vec<&str> = Vec::new();
    for e in entries {
        let c = e.material.meta.category.as_str();
        if !codes.contains(&c) {
            codes.push(c);
        }
    }
    codes
}

/// The catalogue grouped by the ten categories, 序号 · 材料名称 · 形成时间 · 页数 · 备注.
fn catalogue(
    l: super::session::Lang,
    scheme: &CategoryScheme,
    entries: &[CatalogueEntry],
    filed: Option<MaterialId>,
) -> Markup {
    let tops: Vec<_> = scheme.categories.iter().filter(|c| c.parent.is_none()).collect();
    html! {
        @for (i, top) in tops.iter().enumerate() {
            @let mine: Vec<&CatalogueEntry> = entries.iter().filter(|e| scheme.lineage(&e.material.meta.category).contains(&top.code)).collect();
            section.category aria-labelledby={ "cat-" (top.code) } {
                h3 #{ "cat-" (top.code) } { (NUMERALS.get(i).copied().unwrap_or("")) "、" (top.name) " " span.count { "(" (mine.len()) ")" } }
                @if mine.is_empty() {
                    p.empty { (l.t("（无材料）", "(none)")) }
                } @else {
                    @for code in &categories_in(&mine) {
                        table.catalogue {
                            @if *code != top.code.as_str() { caption { (category_label(scheme, code)) } }
                            thead { tr {
                                th scope="col" { (l.t("序号", "No.")) }
                                th scope="col" { (l.t("材料名称", "Title")) }
                                th scope="col" { (l.t("形成时间", "Formed")) }
                                th scope="col" { (l.t("页数", "Pages")) }
                                th scope="col" { (l.t("备注", "Note")) }
                            } }
                            tbody {
                                @for e in mine.iter().filter(|e| e.material.meta.category == *code) {
                                    @let m = &e.material;
                                    tr class=[(filed == Some(m.id)).then_some("filed")] {
                                        td.num { (e.seq) }
                                        td { a href={ "/materials/" (m.id) } { (m.meta.title) } }
                                        td { (opt(&m.meta.formed_on)) }
                                        td.num { (opt(&m.meta.pages)) }
                                        td { (m.meta.note.as_deref().unwrap_or("")) }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

#[derive(Deserialize)]
pub(super) struct DossierQuery {
    /// The material just filed (the flash after an upload).
    filed: Option<String>,
}

/// `GET /persons/{id}`: the dossier.
pub(super) async fn dossier(
    State(st): State<AppState>,
    user: WebUser,
    Path(id): Path<String>,
    WebQuery(q): WebQuery<DossierQuery>,
) -> WebResult<Response> {
    let id: PersonId = parse_id(&id)?;
    let l = user.lang;
    let archive = st.archive.clone();
    let p = user.principal.clone();
    let (person, entries, versions, requests, completeness, custody) = blocking(move || {
        let person = archive.persons().get(&p, id)?;
        let entries = archive.persons().catalogue(&p, id)?;
        // The history is shown to those the service lets read it; others simply do not see the section.
        let versions = archive.persons().versions(&p, id).ok();
        let requests = archive.requests().list(&p, None, None, Some(id))?;
        // So is the completeness (docs/DOMAIN.md §5).
        let completeness = archive.reports().dossier_completeness(&p, id).ok();
        // And the custody of the paper dossier (docs/DOMAIN.md §4c).
        let custody = archive.custody().get(&p, id).ok();
        Ok((person, entries, versions, requests, completeness, custody))
    })
    .await?;
    let scheme = st.archive.scheme();
    let filed = q.filed.as_deref().and_then(|s| s.parse::<MaterialId>().ok());
    let filed_entry = filed.and_then(|f| entries.iter().find(|e| e.material.id == f));
    let x = &person.person;
    let body = html! {
        h1 { (x.name) " " span.sub { (l.t("干部人事档案", "personnel dossier")) } }
        @if let Some(e) = filed_entry {
            p.flash role="status" { (l.t("已归档：", "Filed: ")) (e.material.meta.title) }
        }
        nav.toc aria-label=(l.t("本页目录", "On this page")) {
            a href="#person" { (l.t("基本信息", "Person")) } " · "
            a href="#catalogue" { (l.t("档案目录", "Catalogue")) } " · "
            @if st.archive.reviews().readable_by(&user.principal) { a href={ "/persons/" (x.id) "/review" } { (l.t("专项审核", "Special review")) } " · " }
            @if completeness.is_some() { a href="#completeness" { (l.t("完整性", "Completeness")) } " · " }
            @if custody.is_some() { a href="#custody" { (l.t("档案保管", "Custody")) } " · " }
            @if user.can.upload { a href="#upload" { (l.t("上传材料", "Upload")) } " · " }
            @if versions.is_some() { a href="#history" { (l.t("版本历史", "History")) } " · " }
            @if user.can.start {
                a href={ "/requests/new?kind=promotion&person=" (x.id) } { (l.t("发起变更申请", "Start a request")) } " · "
            }
            a href={ "/grants/new?person=" (x.id) } { (l.t("申请查阅", "Ask to consult")) }
        }
        section #person {
            h2 { (l.t("基本信息", "Person")) }
            (person_fields(l, &person))
            @if has_records(x) { details.records {
                summary { (l.t("任职、学历、考核等记录", "Appointments, education, assessments and other records")) }
                (person_records(&st, l, x))
            } }
        }
        section #catalogue {
            h2 { (l.t("档案目录", "Catalogue")) " " span.count { "(" (entries.len()) ")" } }
            p { a href={ "/persons/" (x.id) "/catalogue" } { (l.t("打印目录（A4）· 整理 · 编号版本", "Print the catalogue (A4) · arrange · numberings")) } }
            @if user.can.intake {
                p { a href={ "/intake?person_id=" (x.id) } { (l.t("本档案的待归档材料（收材未归档）", "This dossier's materials to file (received, not filed)")) } }
            }
            (catalogue(l, scheme, &entries, filed))
        }
        @if let Some(d) = &completeness { (completeness_section(l, d)) }
        @if let Some(c) = &custody { (super::custody::section(l, &user, c, user.can.manage_custody)) }
        @if user.can.upload {
            section #upload {
                h2 { (l.t("上传材料", "Upload a material")) }
                (super::forms::upload_form(&user, scheme, x.id))
            }
        }
        @if !requests.is_empty() {
            section #requests {
                h2 { (l.t("相关申请", "Requests")) }
                table {
                    thead { tr {
                        th scope="col" { (l.t("类型", "Kind")) } th scope="col" { (l.t("状态", "State")) }
                        th scope="col" { (l.t("发起人", "By")) } th scope="col" { (l.t("时间", "When")) }
                    } }
                    tbody {
                        @for r in &requests {
                            tr {
                                td { a href={ "/requests/" (r.id) } { (super::layout::kind_name(l, r.kind)) } }
                                td { (super::layout::state_name(l, r.state)) } td { (r.initiator) } td { (when(r.created_at)) }
                            }
                        }
                    }
                }
            }
        }
        @if let Some(vs) = &versions {
            section #history {
                h2 { (l.t("人员信息版本历史", "History of the person record")) }
                table {
                    thead { tr { th { (l.t("版本", "Version")) } th { (l.t("时间", "When")) } th { (l.t("修改人", "By")) } th { (l.t("原因", "Reason")) } } }
                    tbody { @for v in vs.iter().rev() { tr { td.num { (v.number) } td { (when(v.at)) } td { (v.author) } td { (v.reason.as_deref().unwrap_or("—")) } } } }
                }
            }
        }
    };
    Ok(page(l, Some(&user), &x.name, body).into_response())
}

/// The dossier's completeness: its rate and the findings (docs/DOMAIN.md §5).
fn completeness_section(l: super::session::Lang, d: &crate::service::reports::DossierCompleteness) -> Markup {
    let c = &d.completeness;
    html! {
        section #completeness {
            h2 { (l.t("档案完整性", "Completeness")) }
            p.rate {
                (l.t("完整率 ", "Rate ")) strong { (c.percent) "%" }
                " (" (c.satisfied) " / " (c.checks) (l.t(" 项检查通过）", " checks met)"))
            }
            @if c.findings.is_empty() && d.mismatched.is_empty() {
                p { (l.t("未发现缺漏。", "Nothing is missing.")) }
            } @else {
                table.findings {
                    thead { tr {
                        th scope="col" { (l.t("规则", "Rule")) }
                        th scope="col" { (l.t("依据", "Evidence")) }
                        th scope="col" { (l.t("缺少", "Missing")) }
                    } }
                    tbody {
                        @for f in &c.findings {
                            tr { td { (f.name) } td { (f.evidence.as_deref().unwrap_or("—")) } td { (f.missing) } }
                        }
                        @for m in &d.mismatched {
                            tr { td { (l.t("页数", "Pages")) } td { (m) } td { (l.t("登记页数与文件不符", "stated pages differ from the file")) } }
                        }
                    }
                }
            }
        }
    }
}

fn text_status(l: super::session::Lang, s: crate::model::TextStatus, error: Option<&str>) -> String {
    use crate::model::TextStatus as T;
    match s {
        T::Pending => l.t("排队中", "queued").into(),
        T::Done => l.t("已提取，可全文检索", "extracted; searchable").into(),
        T::None => l.t("无文字（按目录信息检索）", "no text (found by its catalogue fields)").into(),
        T::Failed => format!("{}{}", l.t("提取失败：", "failed: "), error.unwrap_or("")),
    }
}

fn viewable(mime: &str) -> bool {
    matches!(mime, "application/pdf" | "image/png" | "image/jpeg" | "image/gif" | "image/webp")
}

fn size_text(n: u64) -> String {
    match n {
        n if n >= 1 << 20 => format!("{:.1} MiB", n as f64 / (1 << 20) as f64),
        n if n >= 1 << 10 => format!("{:.1} KiB", n as f64 / 1024.0),
        n => format!("{n} B"),
    }
}

/// `GET /materials/{id}`: metadata, viewer, download, versions.
pub(super) async fn material(State(st): State<AppState>, user: WebUser, Path(id): Path<String>) -> WebResult<Response> {
    let id: MaterialId = parse_id(&id)?;
    let l = user.lang;
    let archive = st.archive.clone();
    let p = user.principal.clone();
    let (m, versions): (crate::model::WithText<Material>, _) = blocking(move || {
        let m = archive.materials().get(&p, id)?;
        let versions = archive.materials().versions(&p, id)?;
        Ok((m, versions))
    })
    .await?;
    let scheme = st.archive.scheme();
    let content = format!("/materials/{}/content", m.id);
    let row = |zh: &'static str, en: &'static str, value: String| html! { dt { (l.t(zh, en)) } dd { (value) } };
    let body = html! {
        h1 { (m.meta.title) }
        p { a href={ "/persons/" (m.person_id) "#catalogue" } { (l.t("← 返回档案目录", "← Back to the catalogue")) } }
        section.card {
            h2 { (l.t("目录信息", "Catalogue entry")) }
            dl.fields {
                (row("类别", "Category", category_label(scheme, &m.meta.category)))
                (row("材料名称", "Title", m.meta.title.clone()))
                (row("形成时间", "Formed", opt(&m.meta.formed_on)))
                (row("页数", "Pages", opt(&m.meta.pages)))
                @if let Some(found) = m.text.pages { (row("文件实际页数", "Pages in the file", found.to_string())) }
                (row("备注", "Note", m.meta.note.clone().unwrap_or_else(|| "—".into())))
                @if !m.meta.tags.is_empty() { (row("标签", "Tags", m.meta.tags.join(", "))) }
                @if let Some(s) = &m.meta.source_unit { (row("来处", "Source", s.clone())) }
                @if let Some(d) = &m.meta.received_on { (row("接收时间", "Received", d.to_string())) }
                @if let Some(r) = &m.meta.received_by { (row("接收人", "Received by", r.clone())) }
                @if let Some(c) = m.meta.copies { (row("份数", "Copies", c.to_string())) }
                @if m.meta.original.is_some() {
                    (row("原件/复印件", "Original/copy", super::intake::original_label(l, m.meta.original).to_string()))
                }
                @if let Some(d) = &m.meta.copy_made_on { (row("复制时间", "Copied", d.to_string())) }
                @if let Some(c) = &m.meta.copy_certified_by { (row("复印件核对人", "Copy certified by", c.clone())) }
                @if m.awaiting_filing {
                    (row("归档状态", "Filing", l.t("待归档（已收材，尚未归入目录）", "to file (received, not yet in the catalogue)").to_string()))
                }
                (row("文件", "File", format!("{} · {} · {}", m.file_name.as_deref().unwrap_or("—"), m.mime, size_text(m.size))))
                (row(
                    if st.archive.suite() == crate::crypto::Suite::Gm { "内容哈希 (SM3)" } else { "内容哈希 (BLAKE3)" },
                    if st.archive.suite() == crate::crypto::Suite::Gm { "Content hash (SM3)" } else { "Content hash (BLAKE3)" },
                    m.content_hash.clone()
                ))
                (row("版本", "Version", m.version.to_string()))
                (row("文字提取", "Text", text_status(l, m.text.status, m.text.error.as_deref())))
                (row(if m.awaiting_filing { "收材" } else { "归档" }, if m.awaiting_filing { "Received" } else { "Filed" }, format!("{} · {}", when(m.created_at), m.created_by)))
            }
        }
        @if user.can.contracts && m.meta.tags.iter().any(|t| t == crate::service::contracts::CONTRACT_TAG) {
            p { a.button href={ "/materials/" (m.id) "/contract" } { (l.t("合同登记与审查", "Contract record and review")) } }
        }
        p { a.button href={ "/materials/" (m.id) "/view" } { (l.t("阅览（依查阅授权时带水印）", "View (watermarked under a consultation grant)")) } }
        @if user.can.download {
            section.viewer {
                h2 { (l.t("原件", "Content")) }
                p { a.button href={ (content) "?download=1" } download { (l.t("下载原件", "Download")) } }
                @if m.mime == "application/pdf" {
                    iframe src=(content) title=(m.meta.title) {}
                } @else if viewable(&m.mime) {
                    img src=(content) alt=(m.meta.title);
                } @else {
                    p.note { (l.t("此类文件不能在浏览器中预览，请下载查看。", "This kind of file cannot be shown in the browser; download it.")) }
                }
            }
        }
        @if user.can.download && !m.page_images.is_empty() {
            (super::batches::pages_section(l, &m))
        }
        @if user.can.upload {
            section #new-version {
                h2 { (l.t("更换文件（新版本）", "Replace the file (new version)")) }
                (super::forms::new_version_form(&user, m.id, m.version))
            }
        }
        section {
            h2 { (l.t("版本历史", "Versions")) }
            table {
                thead { tr {
                    th scope="col" { (l.t("版本", "Version")) } th scope="col" { (l.t("时间", "When")) }
                    th scope="col" { (l.t("修改人", "By")) } th scope="col" { (l.t("原因", "Reason")) }
                    th scope="col" { (l.t("大小", "Size")) }
                    @if user.can.download {
                        th scope="col" { (l.t("原件", "Content")) }
                        th scope="col" { (l.t("比较", "Compare")) }
                    }
                } }
                tbody {
                    @for v in versions.iter().rev() {
                        tr {
                            td.num { (v.number) } td { (when(v.at)) } td { (v.author) }
                            td { (v.reason.as_deref().unwrap_or("—")) } td.num { (size_text(v.material.size)) }
                            @if user.can.download {
                                td { a href={ "/materials/" (m.id) "/versions/" (v.number) "/content?download=1" } { (l.t("下载", "download")) } }
                                td {
                                    @if v.number > 1 {
                                        a href={ "/materials/" (m.id) "/versions/" (v.number - 1) "/diff/" (v.number) } {
                                            (l.t("与上一版比较", "compare with the previous"))
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(page(l, Some(&user), &m.meta.title, body).into_response())
}

#[derive(Deserialize)]
pub(super) struct ContentQuery {
    download: Option<String>,
}

fn content_response(bytes: Vec<u8>, m: &Material, download: bool) -> Response {
    let name = m.file_name.clone().unwrap_or_else(|| m.id.to_string());
    let kind = if !download && viewable(&m.mime) { Disposition::Inline } else { Disposition::Attachment };
    let mut resp = file_response(bytes, &m.mime, kind, &name);
    // Only this site's pages may frame the content; it runs nothing.
    resp.headers_mut().insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; object-src 'self'; frame-ancestors 'self'",
        ),
    );
    resp
}

/// `GET /materials/{id}/content`: the bytes for the viewer (inline for PDFs and images) or as a download.
pub(super) async fn content(
    State(st): State<AppState>,
    user: WebUser,
    Path(id): Path<String>,
    WebQuery(q): WebQuery<ContentQuery>,
) -> WebResult<Response> {
    let id: MaterialId = parse_id(&id)?;
    let archive = st.archive.clone();
    let p = user.principal.clone();
    let (m, bytes) = blocking(move || archive.materials().content(&p, id)).await?;
    Ok(content_response(bytes.to_vec(), &m, q.download.is_some()))
}

/// `GET /materials/{id}/versions/{n}/content`: the bytes of one version.
pub(super) async fn version_content(
    State(st): State<AppState>,
    user: WebUser,
    Path((id, n)): Path<(String, String)>,
    WebQuery(q): WebQuery<ContentQuery>,
) -> WebResult<Response> {
    let id: MaterialId = parse_id(&id)?;
    let n: u32 = parse_id(&n)?;
    let archive = st.archive.clone();
    let p = user.principal.clone();
    let (v, bytes) = blocking(move || archive.materials().version_content(&p, id, n)).await?;
    Ok(content_response(bytes.to_vec(), &v.material, q.download.is_some()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_pdfs_and_common_images_show_inline() {
        assert!(viewable("application/pdf") && viewable("image/png"));
        assert!(!viewable("text/plain; charset=utf-8") && !viewable("image/tiff") && !viewable("image/svg+xml"));
        assert_eq!(
            crate::http::content_disposition(Disposition::Inline, "简历.pdf"),
            "inline; filename=\"__.pdf\"; filename*=UTF-8''%E7%AE%80%E5%8E%86.pdf"
        );
    }

    #[test]
    fn role_names_cover_every_role() {
        for r in crate::model::Role::ALL {
            assert_ne!(role_name(super::super::session::Lang::Zh, r), "?");
        }
    }
}
