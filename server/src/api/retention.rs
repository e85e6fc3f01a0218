//! Records retention over JSON: the twin of the portal's "Records due for removal" page, over
//! `service::retention::view` (commissioners only).

use axum::Router;
use axum::extract::State;
use axum::response::Response;
use axum::routing::{get, post};
use serde::Deserialize;

use super::{JsonBody, created, json_ok};
use crate::auth::Caller;
use crate::error::ServiceResult;
use crate::service::retention;
use crate::state::AppState;

/// The routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/retention", get(view))
        .route("/api/v1/retention/rules", post(add_rule))
}

/// `POST /api/v1/retention/rules`: one version as TOML.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AddRule {
    toml: String,
}

async fn add_rule(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(req): JsonBody<AddRule>,
) -> ServiceResult<Response> {
    let rule = state
        .blocking(move |s| retention::add_rule(s, &caller, &req.toml))
        .await?;
    Ok(created(&rule))
}

async fn view(State(state): State<AppState>, caller: Caller) -> ServiceResult<Response> {
    let view = state.blocking(move |s| retention::view(s, &caller)).await?;
    Ok(json_ok(&view))
}
