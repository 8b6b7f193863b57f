//! Full-text search of materials.

use super::doc::*;
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

#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = SearchResponse)]
pub(super) struct SearchAnswer {
    total: usize,
    #[schema(value_type = Vec<super::schemas::SearchHit>)]
    hits: Vec<crate::service::search::SearchHit>,
    /// The same hits as `hits`.
    #[schema(value_type = Vec<super::schemas::SearchHit>)]
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

#[utoipa::path(
    get,
    path = "/search",
    operation_id = "search",
    tag = "search",
    summary = "Full-text search of materials",
    description = "All words must match (text, titles, names). Filters narrow the result; totals count only what the \
        caller may see; the caller's own dossier is excluded.",
    params(
        ("q" = Option<String>, Query, description = "Words; may be empty to list by filters (over 500 characters gives \
            422)."),
        ("category" = Option<String>, Query, description = "Category code; a parent matches its sub-categories \
            (unknown gives 422)."),
        ("department" = Option<String>, Query, description = "Department code (unknown gives 422)."),
        ("from" = Option<String>, Query, description = "Formed on or after (start of the period; invalid gives 422)."),
        ("to" = Option<String>, Query, description = "Formed on or before (`2019` includes all of 2019; invalid gives \
            422)."),
        ("limit" = Option<usize>, Query, description = "Clamped to 1–100. Default: `20`."),
        ("offset" = Option<usize>, Query, description = "Clamped to 10000."),
    ),
    responses(
        (status = 200, description = "A page of hits the caller may see.",
            content((SearchAnswer = "application/json"))),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 422, response = Unprocessable),
        (status = 500, response = InternalError),
        (status = 503, response = AuditRollback),
    ),
)]
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
    let page = blocking(move || archive.materials().search(&auth.principal, &params)).await?;
    Ok(Json(SearchAnswer { total: page.total, items: page.hits.clone(), hits: page.hits }))
}
