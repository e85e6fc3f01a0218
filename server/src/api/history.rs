//! A visit's history over JSON: a revision as the document held it, what changed from the
//! revision before, and the comparison with the previous published visit at the location. Thin
//! handlers over `service::history`.

use axum::Router;
use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::get;

use super::{json_ok, path_id};
use crate::auth::Caller;
use crate::error::{ServiceError, ServiceResult};
use crate::service::history;
use crate::state::AppState;

/// The routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/visits/{id}/revisions/{revision}", get(revision_at))
        .route(
            "/api/v1/visits/{id}/revisions/{revision}/changes",
            get(revision_changes),
        )
        .route(
            "/api/v1/visits/{id}/compare-previous",
            get(compare_previous),
        )
        .route("/api/v1/visits/{id}/signatures", get(signatures))
}

fn revision_number(text: &str) -> ServiceResult<u32> {
    text.parse::<u32>()
        .ok()
        .filter(|n| *n >= 1)
        .ok_or_else(|| ServiceError::bad_request("a revision is a whole number from 1"))
}

async fn revision_at(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, revision)): Path<(String, String)>,
) -> ServiceResult<Response> {
    let id = path_id(&id, "visit id")?;
    let revision = revision_number(&revision)?;
    let r = state
        .blocking(move |s| {
            s.db.read(|tx| history::revision_at(tx, &caller, id, revision))
        })
        .await?;
    Ok(json_ok(&r))
}

async fn revision_changes(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, revision)): Path<(String, String)>,
) -> ServiceResult<Response> {
    let id = path_id(&id, "visit id")?;
    let revision = revision_number(&revision)?;
    let c = state
        .blocking(move |s| {
            s.db.read(|tx| history::revision_changes(s, tx, &caller, id, revision))
        })
        .await?;
    Ok(json_ok(&c))
}

async fn compare_previous(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ServiceResult<Response> {
    let id = path_id(&id, "visit id")?;
    let c = state
        .blocking(move |s| {
            s.db.read(|tx| history::compare_with_previous(s, tx, &caller, id))
        })
        .await?;
    Ok(json_ok(&c))
}

async fn signatures(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ServiceResult<Response> {
    let id = path_id(&id, "visit id")?;
    let c = state
        .blocking(move |s| {
            s.db.read(|tx| history::signature_checks(s, tx, &caller, id))
        })
        .await?;
    Ok(json_ok(&c))
}
