//! Commissioners' records over JSON: thin handlers over `service::records`.

use accredit_shared::api::{
    CloseGateRequest, CqcRequest, GateRequest, QualificationRequest, RuleSetSourcesResponse,
};
use accredit_shared::records::Placement;
use axum::Router;
use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::{get, post};
use serde_json::json;

use super::{JsonBody, QueryOf, created, json_ok, path_id};
use crate::auth::Caller;
use crate::error::ServiceResult;
use crate::service::{records, rule_drafts};
use crate::state::AppState;
use accredit_shared::rule_diff::diff;

/// The routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/locations/{id}/cqc-ratings", post(add_cqc))
        .route("/api/v1/locations/{id}/gates", post(open_gate))
        .route("/api/v1/gates/{id}/close", post(close_gate))
        .route("/api/v1/qualifications", post(add_qualification))
        .route("/api/v1/placements", post(add_placement))
        .route("/api/v1/rule-sets", get(list_rule_sets).post(add_rule_set))
        .route("/api/v1/rule-sets/sources", get(rule_set_sources))
        .route("/api/v1/rule-sets/check", post(check_rule_set))
        .route("/api/v1/rule-sets/compare", get(compare_rule_sets))
        .route("/api/v1/rule-sets/{version}", get(rule_set))
}

async fn rule_set(
    State(state): State<AppState>,
    _caller: Caller,
    Path(version): Path<String>,
) -> ServiceResult<Response> {
    let today = state.today();
    let set = state
        .blocking(move |s| records::rule_set(s, &version))
        .await?;
    let in_force = state.rules().in_force(today).map(|r| r.version.clone());
    let status = if Some(&set.version) == in_force.as_ref() {
        "in_force"
    } else if set.effective_from > today {
        "scheduled"
    } else {
        "superseded"
    };
    Ok(json_ok(&json!({
        "version": set.version,
        "effective_from": set.effective_from,
        "status": status,
        "rule_set": set,
        "source": set.to_toml(),
    })))
}

async fn check_rule_set(
    State(state): State<AppState>,
    caller: Caller,
    body: String,
) -> ServiceResult<Response> {
    let check = state
        .blocking(move |s| records::check_draft(s, &caller, &body))
        .await?;
    Ok(json_ok(&check))
}

#[derive(serde::Deserialize)]
struct CompareQuery {
    a: String,
    b: String,
}

async fn compare_rule_sets(
    State(state): State<AppState>,
    caller: Caller,
    QueryOf(q): QueryOf<CompareQuery>,
) -> ServiceResult<Response> {
    let (a, b, differences) = state
        .blocking(move |s| {
            let (la, a) = rule_drafts::by_reference(s, &caller, &q.a)?;
            let (lb, b) = rule_drafts::by_reference(s, &caller, &q.b)?;
            let d = diff(&a, &b);
            Ok((la, lb, d))
        })
        .await?;
    Ok(json_ok(
        &json!({ "a": a, "b": b, "differences": differences }),
    ))
}

async fn rule_set_sources(
    State(state): State<AppState>,
    _caller: Caller,
) -> ServiceResult<Response> {
    let rule_sets = state.blocking(records::rule_set_sources).await?;
    Ok(json_ok(&RuleSetSourcesResponse { rule_sets }))
}

async fn add_cqc(
    State(state): State<AppState>,
    caller: Caller,
    Path(loc): Path<String>,
    JsonBody(req): JsonBody<CqcRequest>,
) -> ServiceResult<Response> {
    let loc = path_id(&loc, "location id")?;
    let change = state
        .blocking(move |s| records::record_cqc(s, &caller, loc, req))
        .await?;
    Ok(created(&change))
}

async fn open_gate(
    State(state): State<AppState>,
    caller: Caller,
    Path(loc): Path<String>,
    JsonBody(req): JsonBody<GateRequest>,
) -> ServiceResult<Response> {
    let loc = path_id(&loc, "location id")?;
    let change = state
        .blocking(move |s| records::record_gate_open(s, &caller, loc, req))
        .await?;
    Ok(created(&change))
}

async fn close_gate(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    JsonBody(req): JsonBody<CloseGateRequest>,
) -> ServiceResult<Response> {
    let id = path_id(&id, "gate id")?;
    let change = state
        .blocking(move |s| records::record_gate_close(s, &caller, id, req))
        .await?;
    Ok(json_ok(&change))
}

async fn add_qualification(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(req): JsonBody<QualificationRequest>,
) -> ServiceResult<Response> {
    let change = state
        .blocking(move |s| records::record_qualification(s, &caller, req))
        .await?;
    Ok(created(&change))
}

async fn add_placement(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(p): JsonBody<Placement>,
) -> ServiceResult<Response> {
    let change = state
        .blocking(move |s| records::record_placement(s, &caller, p))
        .await?;
    Ok(created(&change))
}

async fn list_rule_sets(State(state): State<AppState>, caller: Caller) -> ServiceResult<Response> {
    let on = state.today();
    let sets = state
        .blocking(move |s| records::list_rule_sets(s, &caller))
        .await?;
    Ok(json_ok(&json!({ "on": on, "rule_sets": sets })))
}

async fn add_rule_set(
    State(state): State<AppState>,
    caller: Caller,
    body: String,
) -> ServiceResult<Response> {
    let adopted = state
        .blocking(move |s| records::add_rule_set(s, &caller, &body))
        .await?;
    Ok(created(&adopted))
}
