//! A dossier's 目录 with its stored 序号: read by any numbering, and 整理 (docs/DOMAIN.md §2).

use super::doc::*;
use super::error::ApiError;
use super::extract::{ApiPath, ApiQuery, AuthUser};
use super::reason_of;
use super::views::MaterialView;
use crate::http::{AppState, blocking};
use crate::model::{PersonId, ts_rfc3339};
use crate::service::numbering::{NumberedCatalogue, Numbering, NumberingKind};
use axum::Json;
use axum::extract::State;
use axum::http::HeaderMap;
use serde::{Deserialize, Serialize};

type ApiResult<T> = Result<T, ApiError>;

/// A numbering of a dossier's catalogue.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = CatalogueNumbering)]
pub(super) struct NumberingView {
    /// From 1; the highest is current.
    number: u32,
    /// How it came to be.
    kind: NumberingKind,
    /// When it was made (RFC 3339).
    at: String,
    /// By whom.
    by: String,
    /// Why (an arrangement's reason, from `X-Change-Reason`).
    reason: Option<String>,
    /// Whether it is the current numbering (new materials extend it).
    current: bool,
}

impl NumberingView {
    fn new(n: Numbering, current: u32) -> Self {
        NumberingView {
            current: n.number == current,
            number: n.number,
            kind: n.kind,
            at: ts_rfc3339(n.at),
            by: n.by,
            reason: n.reason,
        }
    }
}

/// A dossier's catalogue by one numbering.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = Catalogue)]
pub(super) struct CatalogueView {
    /// The numbering shown; `null` while the dossier's numbers are not stored yet (they are then its order by
    /// formed date, then filing, and are stored unchanged by its next filing or arrangement).
    numbering: Option<NumberingView>,
    /// Every numbering of the dossier, oldest first.
    numberings: Vec<NumberingView>,
    /// The materials the caller may see, by category, then 序号 (`seq`).
    items: Vec<MaterialView>,
    /// How many.
    total: usize,
}

fn view(st: &AppState, c: NumberedCatalogue) -> CatalogueView {
    let current = c.numberings.last().map(|n| n.number).unwrap_or(0);
    let items: Vec<MaterialView> =
        c.entries.into_iter().map(|e| MaterialView::new(e.material, st.archive.scheme(), Some(e.seq))).collect();
    CatalogueView {
        numbering: c.numbering.map(|n| NumberingView::new(n, current)),
        numberings: c.numberings.into_iter().map(|n| NumberingView::new(n, current)).collect(),
        total: items.len(),
        items,
    }
}

#[derive(Deserialize)]
pub(super) struct CatalogueQuery {
    numbering: Option<u32>,
}

#[utoipa::path(
    get,
    path = "/persons/{id}/catalogue",
    operation_id = "numberedCatalogue",
    tag = "materials",
    summary = "The dossier's 目录 by its stored 序号, current or earlier",
    description = "The materials the caller may see, by category, then 序号 (`seq`), with the numbering shown and the \
        list of the dossier's numberings. A new material takes the next 序号 of its (sub)category, so filing never \
        renumbers; only `POST /persons/{id}/catalogue/arrange` (整理) does, as a new numbering. `numbering=N` shows an \
        earlier numbering (the materials it numbered, as they are now).",
    params(
        ("id" = crate::model::PersonId, Path, description = "Person id (400 if malformed)."),
        ("numbering" = Option<u32>, Query, description = "A numbering's number (404 if the dossier has none such); \
            default: the current one."),
    ),
    responses(
        (status = 200, description = "The catalogue.", content((CatalogueView = "application/json"))),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 500, response = InternalError),
        (status = 503, response = AuditRollback),
    ),
)]
pub(super) async fn numbered_catalogue(
    State(st): State<AppState>,
    auth: AuthUser,
    ApiPath(person): ApiPath<PersonId>,
    ApiQuery(q): ApiQuery<CatalogueQuery>,
) -> ApiResult<Json<CatalogueView>> {
    let archive = st.archive.clone();
    let c = blocking(move || archive.persons().numbered_catalogue(&auth.principal, person, q.numbering)).await?;
    Ok(Json(view(&st, c)))
}

#[utoipa::path(
    post,
    path = "/persons/{id}/catalogue/arrange",
    operation_id = "arrangeCatalogue",
    tag = "materials",
    summary = "整理: renumber the dossier's 目录 by formed date, as a new numbering",
    description = "No body. Renumbers every (sub)category by formed date (unknown month as January, undated last), \
        then filing, and stores the result as the dossier's next numbering; the earlier ones stay readable \
        (`GET /persons/{id}/catalogue?numbering=N`). Needs the right to file materials and to edit every material of \
        the dossier (403 otherwise). Audited (`catalogue.arrange`).",
    params(
        ("id" = crate::model::PersonId, Path, description = "Person id (400 if malformed)."),
        ("X-Change-Reason" = Option<String>, Header, description = "Why the catalogue is arranged; kept with the \
            numbering (first 500 characters)."),
    ),
    responses(
        (status = 200, description = "The catalogue by its new numbering.", content((CatalogueView = "application/json"))),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 500, response = InternalError),
        (status = 503, response = AuditRollback),
    ),
)]
pub(super) async fn arrange(
    State(st): State<AppState>,
    auth: AuthUser,
    ApiPath(person): ApiPath<PersonId>,
    headers: HeaderMap,
) -> ApiResult<Json<CatalogueView>> {
    let archive = st.archive.clone();
    let reason = reason_of(&headers);
    let c = blocking(move || {
        archive.persons().arrange(&auth.principal, person, reason)?;
        archive.persons().numbered_catalogue(&auth.principal, person, None)
    })
    .await?;
    Ok(Json(view(&st, c)))
}
