//! Full-text search as a use case: the caller's rights and the requested filters become filter clauses of one
//! index query (so totals and pages count only what the caller may see); hits are completed from the store
//! (names, titles) and snippets are cut from the decrypted text, never from the index.

use super::Materials;
use super::{Error, Principal, Result};
use crate::index::Filter;
use crate::model::AuditAction;
use crate::model::policy::Capability;
use crate::model::{Material, MaterialId, PartialDate, Person, PersonId};
use crate::store::Table;
use serde::Serialize;

/// What the caller asks for.
#[derive(Clone, Debug, Default)]
pub struct SearchParams {
    /// Words (all must match); may be empty to list by filters.
    pub q: String,
    /// Category code (a parent matches its sub-categories).
    pub category: Option<String>,
    /// Department code.
    pub department: Option<String>,
    /// Formed on or after.
    pub from: Option<PartialDate>,
    /// Formed on or before.
    pub to: Option<PartialDate>,
    /// Page size (1–100, default 20).
    pub limit: Option<usize>,
    /// Page start.
    pub offset: Option<usize>,
}

/// One hit as the API shows it.
#[derive(Clone, Debug, Serialize)]
pub struct SearchHit {
    /// Material id.
    pub material_id: MaterialId,
    /// Person id.
    pub person_id: PersonId,
    /// The person's name.
    pub person_name: String,
    /// 材料名称.
    pub title: String,
    /// Category code.
    pub category: String,
    /// 材料形成时间.
    pub formed_on: Option<PartialDate>,
    /// Highlighted fragment: HTML-escaped text with `<b>` around matches.
    pub snippet: String,
    /// The same fragment as plain text.
    pub snippet_text: String,
    /// The page (1-based) on which the snippet's first highlighted match lies, when the material's text knows
    /// where its pages start (PDFs, scans read page by page); `None` otherwise.
    pub page: Option<u32>,
    /// Relevance.
    pub score: f32,
}

/// A page of hits.
#[derive(Clone, Debug, Serialize)]
pub struct SearchPage {
    /// Matches in all.
    pub total: usize,
    /// This page.
    pub hits: Vec<SearchHit>,
}

impl Materials<'_> {
    /// Searches the archive.
    pub fn search(&self, p: &Principal, params: &SearchParams) -> Result<SearchPage> {
        let detail = format!(
            "q={:?} category={:?} department={:?} from={:?} to={:?}",
            params.q,
            params.category,
            params.department,
            params.from.map(|d| d.to_string()),
            params.to.map(|d| d.to_string())
        );
        self.audited(p, AuditAction::Search, "archive", false, || {
            let started = std::time::Instant::now();
            let page = self.search_inner(p, params)?;
            self.operations().metrics().search.observe(started.elapsed());
            let detail = format!("{detail} total={}", page.total);
            Ok((page, Some(detail)))
        })
    }

    fn search_inner(&self, p: &Principal, params: &SearchParams) -> Result<SearchPage> {
        self.require(p, Capability::Search)?;
        if params.q.chars().count() > 500 {
            return Err(Error::invalid("q", "the query is longer than 500 characters"));
        }
        let mut filter: Filter = self.search_filter(p)?;
        if let Some(c) = &params.category {
            let cat = self
                .scheme()
                .resolve(c)
                .ok_or_else(|| Error::invalid("category", format!("unknown category {c:?}")))?;
            filter.categories = Some(vec![cat.code.clone()]);
        }
        if let Some(d) = &params.department {
            if self.department_name(d).is_none() {
                return Err(Error::invalid("department", format!("unknown department {d:?}")));
            }
            filter.departments = Some(vec![d.clone()]);
        }
        let ts = |d: time::Date| d.midnight().assume_utc().unix_timestamp();
        filter.formed_from = params.from.map(|d| ts(d.first_day()));
        filter.formed_to = params.to.map(|d| ts(d.last_day()));
        let limit = params.limit.unwrap_or(20).clamp(1, 100);
        let offset = params.offset.unwrap_or(0).min(10_000);
        let results = self.index().search(&params.q, &filter, limit, offset)?;
        let mut hits = Vec::with_capacity(results.hits.len());
        // A page's hits often share a dossier: each person's record is read once per search.
        let mut names: std::collections::HashMap<PersonId, String> = std::collections::HashMap::new();
        for h in &results.hits {
            let Ok(id) = h.material_id.parse::<MaterialId>() else {
                continue;
            };
            // The index may briefly lag a change; the store is the truth.
            let Some(m) = self.store().get::<Material>(Table::Materials, id.as_bytes())? else {
                continue;
            };
            let person_name = match names.get(&m.person_id) {
                Some(name) => name.clone(),
                None => {
                    let person: Option<Person> = self.store().get(Table::Persons, m.person_id.as_bytes())?;
                    let name = person.map(|p| p.name).unwrap_or_default();
                    names.insert(m.person_id, name.clone());
                    name
                }
            };
            let (text, page_starts) =
                self.indexing().text_and_page_starts_of(&m, super::access::SystemRead::SearchHit)?;
            let snippet = if text.is_empty() { Default::default() } else { results.snippet(&text) };
            let page = snippet.first_match.and_then(|at| crate::extract::page_at(&page_starts, at));
            hits.push(SearchHit {
                material_id: m.id,
                person_id: m.person_id,
                person_name,
                title: m.meta.title.clone(),
                category: m.meta.category.clone(),
                formed_on: m.meta.formed_on,
                snippet: snippet.html,
                snippet_text: snippet.text,
                page,
                score: h.score,
            });
        }
        Ok(SearchPage { total: results.total, hits })
    }
}

#[cfg(test)]
mod tests {
    use super::SearchParams;
    use crate::model::{MaterialId, Role, TextStatus};
    use crate::service::testing::{self, account, denial, file_text, meta};
    use crate::service::{Archive, Principal};
    use std::time::Duration;

    fn settle(a: &Archive) {
        assert!(a.indexing().wait_queue_empty(Duration::from_secs(20)).unwrap(), "the queues did not empty");
    }

    fn found(a: &Archive, p: &Principal, q: &str) -> Vec<MaterialId> {
        let params = SearchParams { q: q.into(), limit: Some(100), ..Default::default() };
        let mut ids: Vec<_> =
            a.materials().search(p, &params).unwrap().hits.into_iter().map(|h| h.material_id).collect();
        ids.sort();
        ids
    }

    #[test]
    fn a_filed_text_is_found_by_its_words_once_the_queues_are_empty() {
        let a = testing::archive();
        let hr = account(&a, "hr", &[Role::Hr], "hr");
        let person = testing::person(&a, "张三", "sales");
        let id = file_text(&a, person, meta("7", "表彰决定", &[]), "该同志在扶贫攻坚工作中表现突出，予以嘉奖。");
        file_text(&a, person, meta("1", "履历表", &[]), "一九九八年毕业于师范学院。");
        settle(&a);
        assert_eq!(a.materials().get(&hr, id).unwrap().text.status, TextStatus::Done);
        assert!(a.indexing().is_indexed(id).unwrap());
        let params = SearchParams { q: "扶贫".into(), ..Default::default() };
        let page = a.materials().search(&hr, &params).unwrap();
        assert_eq!(page.total, 1);
        let hit = &page.hits[0];
        assert_eq!((hit.material_id, hit.person_id, hit.person_name.as_str()), (id, person, "张三"));
        assert!(hit.snippet.contains("<b>扶贫</b>"), "{}", hit.snippet);
        assert!(hit.snippet_text.contains("扶贫攻坚"), "{}", hit.snippet_text);
        assert!(found(&a, &hr, "区块链").is_empty());
        // Filters narrow the search: category 1 holds no 扶贫.
        let params = SearchParams { q: "扶贫".into(), category: Some("1".into()), ..Default::default() };
        assert_eq!(a.materials().search(&hr, &params).unwrap().total, 0);
    }

    /// A PDF with a text layer, one page per text (Helvetica, Latin text).
    fn pdf_of_pages(texts: &[&str]) -> Vec<u8> {
        use lopdf::{Dictionary, Document, Object, Stream, dictionary};
        let mut doc = Document::with_version("1.4");
        let pages_id = doc.new_object_id();
        let font = doc.add_object(dictionary! { "Type" => "Font", "Subtype" => "Type1", "BaseFont" => "Helvetica" });
        let mut kids = Vec::new();
        for t in texts {
            let content = format!("BT /F1 14 Tf 72 700 Td ({t}) Tj ET");
            let c = doc.add_object(Stream::new(Dictionary::new(), content.into_bytes()));
            kids.push(Object::from(
                doc.add_object(dictionary! { "Type" => "Page", "Parent" => pages_id, "Contents" => c }),
            ));
        }
        let count = kids.len() as i64;
        doc.objects.insert(
            pages_id,
            Object::Dictionary(dictionary! {
                "Type" => "Pages", "Kids" => kids, "Count" => count,
                "MediaBox" => vec![0.into(), 0.into(), 612.into(), 792.into()],
                "Resources" => dictionary! { "Font" => dictionary! { "F1" => font } },
            }),
        );
        let catalog = doc.add_object(dictionary! { "Type" => "Catalog", "Pages" => pages_id });
        doc.trailer.set("Root", catalog);
        let mut out = Vec::new();
        doc.save_to(&mut out).unwrap();
        out
    }

    #[test]
    fn a_hit_in_a_pdf_names_the_page_of_its_first_match() {
        let a = testing::archive();
        let hr = account(&a, "hr", &[Role::Hr], "hr");
        let person = testing::person(&a, "钱七", "ops");
        let pdf = pdf_of_pages(&[
            "Annual assessment of the comrade, first page of the report",
            "Seconded to the Quillmere county office for two years",
            "Signed and sealed by the assessment committee",
        ]);
        let loader = testing::loader();
        let id =
            a.filing().add(&loader, person, meta("3", "考核材料", &[]), &pdf, Some("a.pdf".into()), false).unwrap().id;
        let plain = file_text(&a, person, meta("3", "考核表", &[]), "Quillmere appears in plain text too");
        settle(&a);
        assert_eq!(a.materials().get(&hr, id).unwrap().text.pages, Some(3));
        let hits = |q: &str| {
            let params = SearchParams { q: q.into(), ..Default::default() };
            a.materials().search(&hr, &params).unwrap().hits
        };
        // The rare word is on page 2 only; a word on pages 1 and 3 names the first.
        let quillmere = hits("quillmere");
        let pdf_hit = quillmere.iter().find(|h| h.material_id == id).expect("the PDF is found");
        assert_eq!(pdf_hit.page, Some(2), "{}", pdf_hit.snippet_text);
        assert!(pdf_hit.snippet.contains("<b>Quillmere</b>"), "{}", pdf_hit.snippet);
        // Plain text has no pages.
        assert_eq!(quillmere.iter().find(|h| h.material_id == plain).expect("the text is found").page, None);
        assert_eq!(hits("assessment")[0].page, Some(1));
        assert_eq!(hits("committee")[0].page, Some(3));
        // A match in the catalogue fields only (no match in the text) names no page.
        assert_eq!(hits("考核材料").iter().find(|h| h.material_id == id).map(|h| h.page), Some(None));
    }

    #[test]
    fn replaced_content_is_found_by_its_new_words_only() {
        let a = testing::archive();
        let hr = account(&a, "hr", &[Role::Hr], "hr");
        let person = testing::person(&a, "李四", "ops");
        let id = file_text(&a, person, meta("3", "考核表", &[]), "年度考核结果为称职。");
        settle(&a);
        assert_eq!(found(&a, &hr, "称职"), [id]);
        a.filing().replace(&hr, id, Some(1), "年度考核结果为优秀。".as_bytes(), None, None).unwrap();
        settle(&a);
        assert!(found(&a, &hr, "称职").is_empty());
        assert_eq!(found(&a, &hr, "优秀"), [id]);
    }

    #[test]
    fn search_finds_only_what_the_caller_may_read() {
        let a = testing::archive();
        let hr = account(&a, "hr", &[Role::Hr], "hr");
        let finance = account(&a, "finance", &[Role::Finance], "finance");
        let head = account(&a, "head-sales", &[Role::Head], "sales");
        let sales = testing::person(&a, "王五", "sales");
        let research = testing::person(&a, "赵六", "research");
        let wage = file_text(&a, sales, meta("9-1", "工资审批表", &[]), "调整档案工资标准");
        let assessment = file_text(&a, sales, meta("3", "考核表", &[]), "档案工作考核优秀");
        let elsewhere = file_text(&a, research, meta("3", "考核表", &[]), "档案整理考核称职");
        let resume = file_text(&a, research, meta("1", "履历表", &[]), "档案管理员履历");
        let own = file_text(&a, hr.user.person_id.unwrap(), meta("1", "履历表", &[]), "档案本人履历");
        settle(&a);

        let mut everything = vec![wage, assessment, elsewhere, resume];
        everything.sort();
        assert_eq!(found(&a, &hr, "档案"), everything, "HR: all but its own dossier");
        assert!(!found(&a, &hr, "档案").contains(&own));
        assert_eq!(found(&a, &finance, "档案"), [wage], "finance: salary materials");
        assert_eq!(found(&a, &head, "档案"), [assessment], "a head: assessments of their department");
        for (name, role) in [("it", Role::It), ("secadmin", Role::Secadmin), ("auditor", Role::Auditor)] {
            let admin = account(&a, name, &[role], "it");
            let r = a.materials().search(&admin, &SearchParams { q: "档案".into(), ..Default::default() });
            assert!(denial(r).contains("rule "), "{name} searched");
        }
    }
}
