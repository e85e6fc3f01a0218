//! Appeals over JSON: thin handlers over `service::appeals`, the same functions the portal's
//! appeal pages call. Providers (their own locations), leads and commissioners lodge; leads and
//! commissioners decide; whoever lodged an appeal may withdraw it.

use axum::Router;
use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::json;
use uuid::Uuid;

use super::{JsonBody, QueryOf, created, json_ok, path_id};
use crate::auth::Caller;
use crate::error::{ServiceError, ServiceResult};
use crate::service::appeals::{self, Outcome};
use crate::state::AppState;

/// The routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/appeals", get(list).post(lodge))
        .route("/api/v1/appeals/{id}", get(one))
        .route("/api/v1/appeals/{id}/decision", post(decide))
        .route("/api/v1/appeals/{id}/withdraw", post(withdraw))
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
struct ListQuery {
    visit: Option<String>,
}

async fn list(
    State(state): State<AppState>,
    caller: Caller,
    QueryOf(q): QueryOf<ListQuery>,
) -> ServiceResult<Response> {
    let visit = q
        .visit
        .as_deref()
        .map(|v| path_id(v, "visit"))
        .transpose()?;
    let appeals = state
        .blocking(move |s| s.db.read(|tx| appeals::list(tx, &caller, visit)))
        .await?;
    Ok(json_ok(&json!({ "appeals": appeals })))
}

async fn one(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ServiceResult<Response> {
    let id = path_id(&id, "appeal id")?;
    let appeal = state
        .blocking(move |s| s.db.read(|tx| appeals::appeal(tx, &caller, id)))
        .await?;
    Ok(json_ok(&appeal))
}

/// `POST /api/v1/appeals`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LodgeRequest {
    visit_id: Uuid,
    grounds: String,
}

async fn lodge(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(req): JsonBody<LodgeRequest>,
) -> ServiceResult<Response> {
    let appeal = state
        .blocking(move |s| {
            s.db.write(|tx| appeals::lodge(tx, &caller, req.visit_id, &req.grounds))
        })
        .await?;
    Ok(created(&appeal))
}

/// `POST /api/v1/appeals/{id}/decision`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DecisionRequest {
    outcome: String,
    reason: String,
}

async fn decide(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    JsonBody(req): JsonBody<DecisionRequest>,
) -> ServiceResult<Response> {
    let id = path_id(&id, "appeal id")?;
    let outcome = Outcome::parse(&req.outcome)
        .ok_or_else(|| ServiceError::bad_request("outcome: must be \"upheld\" or \"dismissed\""))?;
    let appeal = state
        .blocking(move |s| {
            s.db.write(|tx| appeals::decide(tx, &caller, id, Some(outcome), &req.reason))
        })
        .await?;
    Ok(json_ok(&appeal))
}

async fn withdraw(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ServiceResult<Response> {
    let id = path_id(&id, "appeal id")?;
    let appeal = state
        .blocking(move |s| s.db.write(|tx| appeals::withdraw(tx, &caller, id)))
        .await?;
    Ok(json_ok(&appeal))
}
