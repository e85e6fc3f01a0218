//! `POST /api/v1/sync`: many documents' Automerge sync messages in one round trip.

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;

use accredit_shared::sync::WireError;
use accredit_shared::sync::compress;

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
    // A gzip body gets a gzip answer: clients on mobile data send and receive a third as much.
    let gzipped = match headers
        .get(header::CONTENT_ENCODING)
        .map(|v| v.to_str().unwrap_or(""))
    {
        None => false,
        Some(v) if v.eq_ignore_ascii_case(compress::GZIP) => true,
        Some(other) => {
            return Err(ServiceError::bad_request(format!(
                "a sync body is sent as it is or with Content-Encoding: gzip, not {other:?}"
            )));
        }
    };
    let limit = state.config.max_sync_bytes;
    // Sync is CPU work: past a few at a time per core, more in parallel only adds switching and
    // memory, so the rest wait their turn here without holding a thread.
    let _permit = state
        .sync_permits
        .acquire()
        .await
        .map_err(|_| ServiceError::internal("the server is shutting down"))?;
    let reply = state
        .blocking(move |s| {
            let body = if gzipped {
                compress::gunzip(&body, limit).map_err(|e| match e {
                    WireError::TooLarge(_) => ServiceError::too_large(e.to_string()),
                    _ => ServiceError::bad_request(e.to_string()),
                })?
            } else {
                body.to_vec()
            };
            let reply = sync_server::handle(s, &caller, &body)?;
            if gzipped {
                compress::gzip(&reply).map_err(ServiceError::internal)
            } else {
                Ok(reply)
            }
        })
        .await?;
    let mut r = reply.into_response();
    no_store(&mut r);
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(accredit_shared::sync::SYNC_MEDIA_TYPE),
    );
    if gzipped {
        h.insert(
            header::CONTENT_ENCODING,
            HeaderValue::from_static(compress::GZIP),
        );
    }
    Ok(r)
}
