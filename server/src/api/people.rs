//! Accounts, devices and caseloads over JSON, for commissioners: thin handlers over
//! `service::people`, the same functions the portal's People pages call.

use accredit_shared::api::{
    CaseloadChange, DeviceSummary, OneTimePasswordResponse, UserRequest, UserSummary,
};
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use serde_json::json;

use super::{JsonBody, created, json_ok, path_id};
use crate::auth::Caller;
use crate::error::ServiceResult;
use crate::service::people::{self, Person, PersonInput};
use crate::state::AppState;

/// The routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/users", get(list).post(add))
        .route("/api/v1/users/{id}", get(one).put(edit))
        .route("/api/v1/users/{id}/disable", post(disable))
        .route("/api/v1/users/{id}/enable", post(enable))
        .route("/api/v1/users/{id}/reset-password", post(reset))
        .route("/api/v1/users/{id}/devices", get(devices))
        .route(
            "/api/v1/users/{id}/sign-out-everywhere",
            post(sign_out_everywhere),
        )
        .route(
            "/api/v1/users/{id}/caseload",
            get(caseload).post(change_caseload),
        )
}

fn summary(p: Person) -> UserSummary {
    UserSummary {
        id: p.id,
        username: p.username,
        display_name: p.display_name,
        role: p.role,
        provider_id: p.provider.map(|(id, _)| id),
        email: p.email,
        disabled: p.disabled,
        must_change_password: p.must_change_password,
        last_seen: p.last_seen,
    }
}

fn input(req: UserRequest) -> PersonInput {
    PersonInput {
        username: req.username,
        display_name: req.display_name,
        role: Some(req.role),
        provider_id: req.provider_id,
        email: req.email,
    }
}

async fn list(State(state): State<AppState>, caller: Caller) -> ServiceResult<Response> {
    let everyone = state.blocking(move |s| people::people(s, &caller)).await?;
    let users: Vec<UserSummary> = everyone.into_iter().map(summary).collect();
    Ok(json_ok(&json!({ "users": users })))
}

async fn one(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ServiceResult<Response> {
    let id = path_id(&id, "user id")?;
    let p = state
        .blocking(move |s| people::person(s, &caller, id))
        .await?;
    Ok(json_ok(&summary(p)))
}

async fn add(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(req): JsonBody<UserRequest>,
) -> ServiceResult<Response> {
    let (user_id, one_time_password) = state
        .blocking(move |s| people::add_person(s, &caller, &input(req)))
        .await?;
    Ok(created(&OneTimePasswordResponse {
        user_id,
        one_time_password,
    }))
}

async fn edit(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    JsonBody(req): JsonBody<UserRequest>,
) -> ServiceResult<Response> {
    let id = path_id(&id, "user id")?;
    let edited = state
        .blocking(move |s| people::edit_person(s, &caller, id, &input(req)))
        .await?;
    Ok(json_ok(&json!({
        "changed": edited.fields,
        "caseload_removed": edited.caseload_removed,
    })))
}

async fn disable(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ServiceResult<StatusCode> {
    set_disabled(state, caller, id, true).await
}

async fn enable(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ServiceResult<StatusCode> {
    set_disabled(state, caller, id, false).await
}

async fn set_disabled(
    state: AppState,
    caller: Caller,
    id: String,
    disabled: bool,
) -> ServiceResult<StatusCode> {
    let id = path_id(&id, "user id")?;
    state
        .blocking(move |s| people::set_disabled(s, &caller, id, disabled))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn reset(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ServiceResult<Response> {
    let id = path_id(&id, "user id")?;
    let one_time_password = state
        .blocking(move |s| people::reset_password(s, &caller, id))
        .await?;
    Ok(json_ok(&OneTimePasswordResponse {
        user_id: id,
        one_time_password,
    }))
}

async fn devices(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ServiceResult<Response> {
    let id = path_id(&id, "user id")?;
    let devices = state
        .blocking(move |s| people::devices(s, &caller, id))
        .await?;
    let devices: Vec<DeviceSummary> = devices
        .into_iter()
        .map(|d| DeviceSummary {
            device_id: d.id,
            name: d.name,
            kind: if d.browser { "portal" } else { "device" }.to_owned(),
            signed_in_at: d.signed_in_at,
            last_seen: d.last_seen,
            revoked_at: d.revoked_at,
        })
        .collect();
    Ok(json_ok(&json!({ "devices": devices })))
}

async fn sign_out_everywhere(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ServiceResult<Response> {
    let id = path_id(&id, "user id")?;
    let ended = state
        .blocking(move |s| people::sign_out_everywhere(s, &caller, id))
        .await?;
    Ok(json_ok(&json!({ "sessions_ended": ended })))
}

async fn caseload(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ServiceResult<Response> {
    let id = path_id(&id, "user id")?;
    let locations = state
        .blocking(move |s| people::caseload(s, &caller, id))
        .await?;
    let ids: Vec<_> = locations.iter().map(|l| l.id).collect();
    Ok(json_ok(&json!({ "location_ids": ids })))
}

async fn change_caseload(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    JsonBody(req): JsonBody<CaseloadChange>,
) -> ServiceResult<Response> {
    let id = path_id(&id, "user id")?;
    let (added, removed) = state
        .blocking(move |s| people::change_caseload(s, &caller, id, &req.add, &req.remove))
        .await?;
    Ok(json_ok(&json!({ "added": added, "removed": removed })))
}
