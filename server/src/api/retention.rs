//! Records retention over JSON: the twin of the portal's "Records due for removal" page, over
//! `service::retention::view` (commissioners only).

use axum::Router;
use axum::extract::State;
use axum::response::Response;
use axum::routing::get;

use super::json_ok;
use crate::auth::Caller;
use crate::error::ServiceResult;
use crate::service::retention;
use crate::state::AppState;

/// The routes.
pub fn routes() -> Router<AppState> {
    Router::new().route("/api/v1/retention", get(view))
}

async fn view(State(state): State<AppState>, caller: Caller) -> ServiceResult<Response> {
    let view = state.blocking(move |s| retention::view(s, &caller)).await?;
    Ok(json_ok(&view))
}
