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
            let text = self.indexing().text_of(&m, super::access::SystemRead::SearchHit)?;
            let snippet = if text.is_empty() { Default::default() } else { results.snippet(&text) };
            hits.push(SearchHit {
                material_id: m.id,
                person_id: m.person_id,
                person_name,
                title: m.meta.title.clone(),
                category: m.meta.category.clone(),
                formed_on: m.meta.formed_on,
                snippet: snippet.html,
                snippet_text: snippet.text,
                score: h.score,
            });
        }
        Ok(SearchPage { total: results.total, hits })
    }
}
