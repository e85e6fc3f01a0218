//! Contracts for withhold and release over JSON: thin handlers over `service::contracts`.

use accredit_shared::api::ContractRequest;
use axum::Router;
use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::get;
use serde_json::json;
use uuid::Uuid;

use super::{JsonBody, created, json_ok, path_id};
use crate::auth::Caller;
use crate::error::{ServiceError, ServiceResult};
use crate::service::contracts;
use crate::state::AppState;

/// The routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/contracts", get(list).post(add))
        .route("/api/v1/contracts/{id}", get(show).put(edit))
}

async fn list(State(state): State<AppState>, caller: Caller) -> ServiceResult<Response> {
    let contracts = state
        .blocking(move |s| s.db.read(|tx| contracts::list(tx, &caller)))
        .await?;
    Ok(json_ok(&json!({ "contracts": contracts })))
}

async fn show(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ServiceResult<Response> {
    let id = path_id(&id, "contract id")?;
    let view = state
        .blocking(move |s| s.db.read(|tx| contracts::show(s, tx, &caller, id)))
        .await?;
    Ok(json_ok(&view))
}

async fn add(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(req): JsonBody<ContractRequest>,
) -> ServiceResult<Response> {
    let c = contracts::from_request(Uuid::new_v4(), &req)
        .map_err(|r| ServiceError::invalid(r.message))?;
    let view = state
        .blocking(move |s| contracts::add(s, &caller, c))
        .await?;
    Ok(created(&view))
}

async fn edit(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    JsonBody(req): JsonBody<ContractRequest>,
) -> ServiceResult<Response> {
    let id = path_id(&id, "contract id")?;
    let c = contracts::from_request(id, &req).map_err(|r| ServiceError::invalid(r.message))?;
    let view = state
        .blocking(move |s| contracts::edit(s, &caller, c))
        .await?;
    Ok(json_ok(&view))
}
