//! Locations, tiers, determinations, framework packs, payments and the audit log over JSON.

use accredit_shared::api::{LocationsResponse, PackSummary, PacksResponse};
use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, header};
use axum::response::Response;
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{QueryOf, json_ok, path_id};
use crate::access;
use crate::audit::{self, AuditQuery};
use crate::auth::{Caller, Role};
use crate::error::{ServiceError, ServiceResult};
use crate::service::{locations, payments};
use crate::state::AppState;
use crate::tiers;

/// The routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/locations", get(list_locations))
        .route("/api/v1/locations/{id}/tier", get(location_tier))
        .route(
            "/api/v1/locations/{id}/determinations",
            get(location_determinations),
        )
        .route("/api/v1/packs", get(list_packs))
        .route("/api/v1/packs/{id}/{version}", get(get_pack))
        .route("/api/v1/payments", get(get_payments))
        .route("/api/v1/payments/issue", post(issue_payments))
        .route("/api/v1/audit", get(get_audit))
}

async fn list_locations(State(state): State<AppState>, caller: Caller) -> ServiceResult<Response> {
    let on = state.today();
    let (rows, mut plans) = state
        .blocking(move |s| {
            let rows = s.db.read(|tx| locations::location_rows(s, tx, &caller))?;
            Ok((
                rows,
                crate::service::planning::active_by_location(s, &caller)?,
            ))
        })
        .await?;
    Ok(json_ok(&LocationsResponse {
        on,
        locations: rows
            .iter()
            .map(|r| {
                let mut summary = r.summary();
                summary.planned_visits = plans.remove(&r.id).unwrap_or_default();
                summary
            })
            .collect(),
    }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct OnQuery {
    on: Option<String>,
}

async fn location_tier(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    QueryOf(q): QueryOf<OnQuery>,
) -> ServiceResult<Response> {
    let id = path_id(&id, "location id")?;
    let day = match q.on.as_deref() {
        Some(text) => accredit_shared::calendar::parse_date(text)
            .map_err(|e| ServiceError::bad_request(format!("on: {e}")))?,
        None => state.today(),
    };
    let det = state
        .blocking(move |s| {
            s.db.read(|tx| {
                access::require_location(tx, &caller, id)?;
                tiers::determine(s, tx, id, day)?.ok_or_else(|| ServiceError::not_found("location"))
            })
        })
        .await?;
    Ok(json_ok(
        &json!({ "location_id": id, "on": day, "determination": det }),
    ))
}

async fn location_determinations(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ServiceResult<Response> {
    let id = path_id(&id, "location id")?;
    let rows = state
        .blocking(move |s| s.db.read(|tx| locations::determinations(tx, &caller, id)))
        .await?;
    Ok(json_ok(
        &json!({ "location_id": id, "determinations": rows }),
    ))
}

/// Every framework pack this server knows, so a client can discover what to create visits on.
/// Packs hold no personal data; any signed-in user may read them.
async fn list_packs(State(state): State<AppState>, _caller: Caller) -> Response {
    let mut packs: Vec<PackSummary> = state
        .packs
        .iter()
        .map(|p| PackSummary {
            id: p.id.clone(),
            version: p.version.clone(),
            title: p.title.clone(),
            criteria: p.criterion_count(),
            href: format!("/api/v1/packs/{}/{}", p.id, p.version),
        })
        .collect();
    packs.sort_by(|a, b| (&a.id, &a.version).cmp(&(&b.id, &b.version)));
    json_ok(&PacksResponse { packs })
}

async fn get_pack(
    State(state): State<AppState>,
    _caller: Caller,
    Path((id, version)): Path<(String, String)>,
) -> ServiceResult<Response> {
    let pack = state
        .packs
        .get(&id, &version)
        .ok_or_else(|| ServiceError::not_found("framework pack"))?;
    Ok(json_ok(pack))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PeriodQuery {
    period: String,
}

async fn get_payments(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    QueryOf(q): QueryOf<PeriodQuery>,
) -> ServiceResult<Response> {
    let wants_csv = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("text/csv"));
    let view = state
        .blocking(move |s| s.db.read(|tx| payments::view(s, tx, &caller, &q.period)))
        .await?;
    if !wants_csv {
        return Ok(json_ok(&view));
    }
    Ok(crate::http::csv_download(
        payments::to_csv(&view),
        &payments::file_name(&view.period),
    ))
}

async fn issue_payments(
    State(state): State<AppState>,
    caller: Caller,
    QueryOf(q): QueryOf<PeriodQuery>,
) -> ServiceResult<Response> {
    let view = state
        .blocking(move |s| s.db.write(|tx| payments::issue(s, tx, &caller, &q.period)))
        .await?;
    Ok(json_ok(&view))
}

async fn get_audit(
    State(state): State<AppState>,
    caller: Caller,
    QueryOf(q): QueryOf<AuditQuery>,
) -> ServiceResult<Response> {
    caller.require(&[Role::Commissioner, Role::Lead])?;
    let rows = state
        .blocking(move |s| s.db.read(|tx| audit::search(tx, &q)))
        .await?;
    let entries: Vec<Value> = rows.into_iter().map(|r| json!(r)).collect();
    Ok(json_ok(&json!({ "entries": entries })))
}
