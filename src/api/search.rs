//! Full-text search of materials.

use super::error::ApiError;
use super::extract::{ApiQuery, AuthUser};
use crate::http::{AppState, blocking};
use crate::model::PartialDate;
use crate::service::search::SearchParams;
use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};

type ApiResult<T> = Result<T, ApiError>;

#[derive(Deserialize)]
pub(super) struct SearchQuery {
    #[serde(default)]
    q: String,
    category: Option<String>,
    department: Option<String>,
    from: Option<String>,
    to: Option<String>,
    limit: Option<usize>,
    offset: Option<usize>,
}

#[derive(Serialize)]
pub(super) struct SearchAnswer {
    total: usize,
    hits: Vec<crate::service::search::SearchHit>,
    items: Vec<crate::service::search::SearchHit>,
}

fn date_param(name: &str, v: Option<String>) -> ApiResult<Option<PartialDate>> {
    match v.filter(|s| !s.trim().is_empty()) {
        None => Ok(None),
        Some(s) => s
            .parse()
            .map(Some)
            .map_err(|e: crate::model::date::InvalidDate| crate::service::Error::invalid(name, e.to_string()).into()),
    }
}

pub(super) async fn search(
    State(st): State<AppState>,
    auth: AuthUser,
    ApiQuery(q): ApiQuery<SearchQuery>,
) -> ApiResult<Json<SearchAnswer>> {
    let params = SearchParams {
        q: q.q,
        category: q.category.filter(|s| !s.is_empty()),
        department: q.department.filter(|s| !s.is_empty()),
        from: date_param("from", q.from)?,
        to: date_param("to", q.to)?,
        limit: q.limit,
        offset: q.offset,
    };
    let archive = st.archive.clone();
    let page = blocking(move || archive.search(&auth.principal, &params)).await?;
    Ok(Json(SearchAnswer { total: page.total, items: page.hits.clone(), hits: page.hits }))
}
