//! Visit planning over JSON: thin handlers over `service::planning`, the same functions the
//! portal's plan pages call. Monitors read their own plans; leads and commissioners plan.

use accredit_shared::api::{CancelPlanRequest, PlanRequest, ReassignRequest};
use accredit_shared::calendar::parse_date;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::json;

use super::{JsonBody, created, json_ok, path_id};
use crate::auth::Caller;
use crate::error::{ServiceError, ServiceResult};
use crate::service::planning::{self, PlanFilter, PlanInput};
use crate::state::AppState;

/// The routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/plans", get(list).post(add))
        .route("/api/v1/plans/{id}", get(one))
        .route("/api/v1/plans/{id}/reassign", post(reassign))
        .route("/api/v1/plans/{id}/cancel", post(cancel))
        .route("/api/v1/due-visits", get(due))
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
struct ListQuery {
    monitor: Option<String>,
    from: Option<String>,
    to: Option<String>,
    location: Option<String>,
    all: Option<bool>,
}

async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Query(q): Query<ListQuery>,
) -> ServiceResult<Response> {
    let date = |t: Option<String>, what: &str| {
        t.map(|t| parse_date(&t).map_err(|e| ServiceError::bad_request(format!("{what}: {e}"))))
            .transpose()
    };
    let filter = PlanFilter {
        monitor: q
            .monitor
            .as_deref()
            .map(|m| path_id(m, "monitor"))
            .transpose()?,
        location: q
            .location
            .as_deref()
            .map(|l| path_id(l, "location"))
            .transpose()?,
        from: date(q.from, "from")?,
        to: date(q.to, "to")?,
        all: q.all.unwrap_or(false),
    };
    let plans = state
        .blocking(move |s| planning::plans(s, &caller, &filter))
        .await?;
    Ok(json_ok(&json!({ "plans": plans })))
}

async fn one(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ServiceResult<Response> {
    let id = path_id(&id, "plan id")?;
    let plan = state
        .blocking(move |s| planning::plan(s, &caller, id))
        .await?;
    Ok(json_ok(&plan))
}

async fn add(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(req): JsonBody<PlanRequest>,
) -> ServiceResult<Response> {
    let input = PlanInput {
        location_id: req.location_id,
        visit_type: Some(req.visit_type),
        planned_on: Some(req.planned_on),
        monitors: req.monitor_ids,
        reason: req.reason,
    };
    let plan = state
        .blocking(move |s| {
            let id = planning::plan_visit(s, &caller, &input)?;
            planning::plan(s, &caller, id)
        })
        .await?;
    Ok(created(&plan))
}

async fn reassign(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    JsonBody(req): JsonBody<ReassignRequest>,
) -> ServiceResult<Response> {
    let id = path_id(&id, "plan id")?;
    let plan = state
        .blocking(move |s| {
            planning::reassign(s, &caller, id, Some(req.planned_on), &req.monitor_ids)?;
            planning::plan(s, &caller, id)
        })
        .await?;
    Ok(json_ok(&plan))
}

async fn cancel(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    JsonBody(req): JsonBody<CancelPlanRequest>,
) -> ServiceResult<StatusCode> {
    let id = path_id(&id, "plan id")?;
    state
        .blocking(move |s| planning::cancel(s, &caller, id, &req.reason))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn due(State(state): State<AppState>, caller: Caller) -> ServiceResult<Response> {
    let due = state
        .blocking(move |s| planning::due_list(s, &caller))
        .await?;
    Ok(json_ok(&json!({ "due": due })))
}
