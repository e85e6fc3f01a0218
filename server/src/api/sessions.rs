//! Sessions and devices over JSON, and the health check.

use accredit_shared::api::{ChangePasswordRequest, MeResponse, SessionRequest};
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use serde_json::json;

use super::{JsonBody, created, json_ok, path_id};
use crate::auth::{AnyCaller, Caller};
use crate::error::{ServiceError, ServiceResult};
use crate::http::ClientAddr;
use crate::service::people::{self, PasswordField};
use crate::service::sessions::{self, Attempt, SessionKind};
use crate::state::AppState;

/// The routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/api/v1/session", post(create_session).delete(end_session))
        .route("/api/v1/me", get(me))
        .route("/api/v1/password", post(change_password))
        .route("/api/v1/devices/{id}/revoke", post(revoke_device))
}

async fn healthz(State(state): State<AppState>) -> ServiceResult<Response> {
    let version = state
        .blocking(|s| s.db.read(|tx| Ok(crate::db::user_version(tx)?)))
        .await?;
    Ok(json_ok(
        &json!({ "status": "ok", "schema_version": version }),
    ))
}

async fn create_session(
    State(state): State<AppState>,
    ClientAddr(address): ClientAddr,
    JsonBody(req): JsonBody<SessionRequest>,
) -> ServiceResult<Response> {
    let session = state
        .blocking(move |s| {
            sessions::sign_in(
                s,
                Attempt {
                    username: &req.username,
                    password: &req.password,
                    device_name: &req.device_name,
                    kind: SessionKind::Device,
                    address,
                },
            )
        })
        .await?;
    Ok(created(&session))
}

/// Signing out is allowed before a one-time password is replaced.
async fn end_session(
    State(state): State<AppState>,
    AnyCaller(caller): AnyCaller,
) -> ServiceResult<StatusCode> {
    state
        .blocking(move |s| sessions::revoke(s, &caller, caller.device_id))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn revoke_device(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ServiceResult<StatusCode> {
    let device = path_id(&id, "device id")?;
    state
        .blocking(move |s| sessions::revoke(s, &caller, device))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The caller's own password, a one-time one included; every other session of theirs ends.
async fn change_password(
    State(state): State<AppState>,
    AnyCaller(caller): AnyCaller,
    JsonBody(req): JsonBody<ChangePasswordRequest>,
) -> ServiceResult<StatusCode> {
    state
        .blocking(move |s| {
            people::change_password(s, &caller, &req.current_password, &req.new_password)
        })
        .await?
        .map_err(|(field, why)| match field {
            PasswordField::Current => ServiceError::unauthorized(why),
            PasswordField::New => ServiceError::invalid(why),
        })?;
    Ok(StatusCode::NO_CONTENT)
}

async fn me(caller: Caller) -> Response {
    json_ok(&MeResponse {
        user_id: caller.user_id,
        name: caller.name,
        role: caller.role,
        provider_id: caller.provider_id,
        device_id: caller.device_id,
    })
}
