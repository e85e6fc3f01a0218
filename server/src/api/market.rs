//! The market view over JSON (commissioners and leads): thin handlers over `service::market`,
//! the functions the portal's market pages call, so both give the same figures.

use axum::Router;
use axum::extract::State;
use axum::response::Response;
use axum::routing::get;
use serde::Deserialize;

use super::{QueryOf, json_ok, path_id};
use crate::auth::Caller;
use crate::error::ServiceResult;
use crate::service::market::{self, HeatFilter};
use crate::state::AppState;

/// The routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/market", get(overview))
        .route("/api/v1/market/spend", get(spend))
        .route("/api/v1/market/quality", get(quality))
        .route("/api/v1/market/locations", get(locations))
}

async fn overview(State(state): State<AppState>, caller: Caller) -> ServiceResult<Response> {
    let v = state
        .blocking(move |s| market::overview(s, &caller))
        .await?;
    Ok(json_ok(&v))
}

async fn spend(State(state): State<AppState>, caller: Caller) -> ServiceResult<Response> {
    let v = state.blocking(move |s| market::spend(s, &caller)).await?;
    Ok(json_ok(&v))
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
struct QualityQuery {
    provider: Option<String>,
    tier: Option<String>,
    q: Option<String>,
    page: Option<usize>,
}

async fn quality(
    State(state): State<AppState>,
    caller: Caller,
    QueryOf(q): QueryOf<QualityQuery>,
) -> ServiceResult<Response> {
    let filter = HeatFilter {
        provider: q
            .provider
            .as_deref()
            .map(|p| path_id(p, "provider"))
            .transpose()?,
        tier: q.tier.filter(|t| !t.is_empty()),
        q: q.q.unwrap_or_default(),
        page: q.page.unwrap_or(1),
    };
    let v = state
        .blocking(move |s| market::quality(s, &caller, &filter))
        .await?;
    Ok(json_ok(&v))
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
struct LocationsQuery {
    offset: Option<usize>,
    limit: Option<usize>,
}

async fn locations(
    State(state): State<AppState>,
    caller: Caller,
    QueryOf(q): QueryOf<LocationsQuery>,
) -> ServiceResult<Response> {
    let v = state
        .blocking(move |s| {
            market::locations(s, &caller, q.offset.unwrap_or(0), q.limit.unwrap_or(500))
        })
        .await?;
    Ok(json_ok(&v))
}
