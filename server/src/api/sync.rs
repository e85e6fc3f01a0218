//! `POST /api/v1/sync`: many documents' Automerge sync messages in one round trip.

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;

use super::no_store;
use crate::auth::Caller;
use crate::error::{ServiceError, ServiceResult};
use crate::state::AppState;
use crate::sync_server;

/// The route.
pub fn routes() -> Router<AppState> {
    Router::new().route("/api/v1/sync", post(sync))
}

async fn sync(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    body: Bytes,
) -> ServiceResult<Response> {
    let media = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if media != accredit_shared::sync::SYNC_MEDIA_TYPE {
        return Err(ServiceError::bad_request(format!(
            "send the body as {}",
            accredit_shared::sync::SYNC_MEDIA_TYPE
        )));
    }
    // Sync is CPU work: past a few at a time per core, more in parallel only adds switching and
    // memory, so the rest wait their turn here without holding a thread.
    let _permit = state
        .sync_permits
        .acquire()
        .await
        .map_err(|_| ServiceError::internal("the server is shutting down"))?;
    let reply = state
        .blocking(move |s| sync_server::handle(s, &caller, &body))
        .await?;
    let mut r = reply.into_response();
    no_store(&mut r);
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(accredit_shared::sync::SYNC_MEDIA_TYPE),
    );
    Ok(r)
}
