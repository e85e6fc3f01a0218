//! Visits over JSON: lists, records, conflicts and every lifecycle step.

use accredit_shared::api::{ActionResponseRequest, CommentRequest, VisitsResponse};
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
use crate::service::visits::{self, VisitState};
use crate::state::AppState;

/// The routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/visits", get(list_visits))
        .route("/api/v1/visits/{id}", get(get_visit))
        .route("/api/v1/visits/{id}/conflicts", get(visit_conflicts))
        .route("/api/v1/visits/{id}/share", post(share_visit))
        .route("/api/v1/visits/{id}/comments", post(comment_visit))
        .route("/api/v1/visits/{id}/confirm", post(confirm_visit))
        .route("/api/v1/visits/{id}/publish", post(publish_visit))
        .route(
            "/api/v1/visits/{id}/revisions/{revision}/{decision}",
            post(decide_revision),
        )
        .route(
            "/api/v1/visits/{id}/actions/{action}/responses",
            post(respond_action),
        )
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct VisitsQuery {
    location: Option<String>,
}

async fn list_visits(
    State(state): State<AppState>,
    caller: Caller,
    QueryOf(q): QueryOf<VisitsQuery>,
) -> ServiceResult<Response> {
    let location = q
        .location
        .as_deref()
        .map(|l| path_id(l, "location"))
        .transpose()?;
    let visits = state
        .blocking(move |s| s.db.read(|tx| visits::list(tx, &caller, location)))
        .await?;
    Ok(json_ok(&VisitsResponse { visits }))
}

async fn get_visit(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ServiceResult<Response> {
    let id = path_id(&id, "visit id")?;
    let detail = state
        .blocking(move |s| s.db.read(|tx| visits::detail(tx, &caller, id)))
        .await?;
    Ok(json_ok(&detail))
}

async fn visit_conflicts(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ServiceResult<Response> {
    let id = path_id(&id, "visit id")?;
    let conflicts = state
        .blocking(move |s| s.db.read(|tx| visits::conflicts(tx, &caller, id)))
        .await?;
    Ok(json_ok(&json!({ "visit_id": id, "conflicts": conflicts })))
}

/// Runs a lifecycle step on a visit in a write transaction and answers `{"visit": state}`.
async fn visit_step(
    state: AppState,
    caller: Caller,
    id: String,
    step: impl FnOnce(&AppState, &rusqlite::Connection, &Caller, Uuid) -> ServiceResult<VisitState>
    + Send
    + 'static,
) -> ServiceResult<Response> {
    let id = path_id(&id, "visit id")?;
    let visit = state
        .blocking(move |s| s.db.write(|tx| step(s, tx, &caller, id)))
        .await?;
    Ok(json_ok(&json!({ "visit": visit })))
}

async fn share_visit(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ServiceResult<Response> {
    visit_step(state, caller, id, visits::share).await
}

async fn comment_visit(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    JsonBody(req): JsonBody<CommentRequest>,
) -> ServiceResult<Response> {
    let id = path_id(&id, "visit id")?;
    let comment = state
        .blocking(move |s| {
            s.db.write(|tx| {
                visits::comment(s, tx, &caller, id, req.criterion.as_deref(), &req.body)
            })
        })
        .await?;
    Ok(created(&json!({ "id": comment })))
}

async fn confirm_visit(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ServiceResult<Response> {
    visit_step(state, caller, id, visits::confirm_factual_accuracy).await
}

async fn publish_visit(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ServiceResult<Response> {
    let id = path_id(&id, "visit id")?;
    let published = state
        .blocking(move |s| s.db.write(|tx| visits::publish(s, tx, &caller, id)))
        .await?;
    Ok(json_ok(&published))
}

async fn decide_revision(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, revision, decision)): Path<(String, u32, String)>,
) -> ServiceResult<Response> {
    let id = path_id(&id, "visit id")?;
    let accept = match decision.as_str() {
        "accept" => true,
        "reject" => false,
        _ => return Err(ServiceError::not_found("route")),
    };
    let visit = state
        .blocking(move |s| {
            s.db.write(|tx| visits::decide_revision(tx, &caller, id, revision, accept))
        })
        .await?;
    Ok(json_ok(&json!({ "visit": visit })))
}

async fn respond_action(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, action)): Path<(String, String)>,
    JsonBody(req): JsonBody<ActionResponseRequest>,
) -> ServiceResult<Response> {
    let id = path_id(&id, "visit id")?;
    let action = path_id(&action, "action id")?;
    let rid = state
        .blocking(move |s| {
            s.db.write(|tx| visits::respond_to_action(tx, &caller, id, action, &req.body, &[]))
        })
        .await?;
    Ok(created(&json!({ "id": rid })))
}
