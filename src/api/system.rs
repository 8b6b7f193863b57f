//! Health and metrics: what a monitor asks, without signing in (metrics behind their own token when one is set).

use super::error::ApiError;
use crate::http::{AppState, blocking};
use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

#[derive(Serialize, utoipa::ToSchema)]
pub(super) struct Health {
    /// `ok`; `held`: the store's audit trail is behind its witness, nothing but sign-in and the
    /// acknowledgement is served; `stopped`: a write to the store failed (disk full, permissions), nothing but
    /// health and metrics is served (503) until the server is restarted.
    #[schema(example = "ok")]
    status: &'static str,
    version: &'static str,
    ocr: bool,
    /// The store's cipher suite (`default` or `gm`).
    #[schema(value_type = String, example = "default")]
    suite: crate::crypto::Suite,
    /// The indexing lanes' depths and oldest ages.
    #[schema(value_type = super::schemas::Queues)]
    queues: crate::service::indexer::QueueStats,
}

#[utoipa::path(
    get,
    path = "/health",
    operation_id = "health",
    tag = "system",
    summary = "Liveness and capabilities",
    responses(
        (status = 200, description = "The server is up.", content((Health = "application/json"))),
    ),
    security(()),
)]
pub(super) async fn health(State(st): State<AppState>) -> Json<Health> {
    // `held`: the store is behind its audit witness and nothing but sign-in and the acknowledgement is served.
    // `stopped`: a write failed and the store takes no more until restarted (the reason is in the server's log).
    let status = if st.archive.audit_trail().hold().is_some() {
        "held"
    } else if st.archive.store_stopped().is_some() {
        "stopped"
    } else {
        "ok"
    };
    // Depths and ages only: nothing of what waits on the queues.
    let archive = st.archive.clone();
    let queues = blocking(move || archive.indexing().queue_stats()).await.unwrap_or_else(|e| {
        tracing::error!(error = ?e, "cannot read the queues' depths");
        Default::default()
    });
    Json(Health {
        status,
        version: env!("CARGO_PKG_VERSION"),
        ocr: st.archive.ocr_available(),
        suite: st.archive.suite(),
        queues,
    })
}

/// `GET /metrics`: Prometheus text; behind `Authorization: Bearer <DANGAN_METRICS_TOKEN>` when one is set.
#[utoipa::path(
    get,
    path = "/metrics",
    operation_id = "metrics",
    tag = "system",
    summary = "Metrics for Prometheus",
    description = "Outside `/api/v1` (this path item names its own server, `/`). The request counts and durations, the \
        queues' depths and ages, the audit trail's head. Behind `Authorization: Bearer <DANGAN_METRICS_TOKEN>` when \
        the installation sets that token; open otherwise.",
    responses(
        (status = 200, description = "Prometheus text exposition format 0.0.4.", content((String = "text/plain"))),
        (status = 401, response = super::doc::Unauthorized),
        (status = 500, response = super::doc::InternalError),
        (status = 503, response = super::doc::AuditRollback),
    ),
    security((), ("metrics_token" = [])),
)]
pub(super) async fn metrics(State(st): State<AppState>, headers: axum::http::HeaderMap) -> Response {
    if let Some(want) = st.archive.config().metrics_token.clone() {
        let given = headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .unwrap_or_default();
        if !crate::crypto::ct_eq(given.trim().as_bytes(), want.as_bytes()) {
            return ApiError::from(crate::service::Error::Unauthorized(
                "send Authorization: Bearer <the metrics token>".into(),
            ))
            .into_response();
        }
    }
    let archive = st.archive.clone();
    match blocking(move || archive.operations().render_metrics()).await {
        Ok(text) => {
            ([(axum::http::header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], text).into_response()
        }
        Err(e) => ApiError(e).into_response(),
    }
}
