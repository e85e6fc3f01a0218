//! `POST /api/v1/sync`: many documents' Automerge sync messages in one round trip.

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;

use accredit_shared::sync::WireError;
use accredit_shared::sync::compress::{self, Encoding};

use super::no_store;
use crate::auth::Caller;
use crate::error::{ServiceError, ServiceResult};
use crate::metrics::SyncOutcome;
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
    let started = std::time::Instant::now();
    let received = body.len();
    let answered = answer(&state, caller, headers, body).await;
    let (outcome, sent) = match &answered {
        Ok((_, sent)) => (SyncOutcome::Ok, *sent),
        Err(e) if crate::http::status_of(e).is_server_error() => (SyncOutcome::Failed, 0),
        Err(_) => (SyncOutcome::Refused, 0),
    };
    state
        .metrics
        .record_sync(outcome, received, sent, started.elapsed());
    answered.map(|(response, _)| response)
}

/// The answer to a sync request and its body's size on the wire.
async fn answer(
    state: &AppState,
    caller: Caller,
    headers: HeaderMap,
    body: Bytes,
) -> ServiceResult<(Response, usize)> {
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
    let encoding = Encoding::from_header(
        headers
            .get(header::CONTENT_ENCODING)
            .map(|v| v.to_str().unwrap_or("?")),
    )
    .map_err(|e| ServiceError::bad_request(e.to_string()))?;
    let limit = state.config.max_sync_bytes;
    // Sync is CPU work: past a few at a time per core, more in parallel only adds switching and
    // memory, so the rest wait their turn here without holding a thread.
    let _permit = state
        .sync_permits
        .acquire()
        .await
        .map_err(|_| ServiceError::internal("the server is shutting down"))?;
    let (answer, reply) = state
        .blocking(move |s| {
            let body = encoding.decode(&body, limit).map_err(|e| match e {
                WireError::TooLarge(_) => ServiceError::too_large(e.to_string()),
                _ => ServiceError::bad_request(e.to_string()),
            })?;
            let reply = sync_server::handle(s, &caller, &body)?;
            let answer = answer_encoding(&headers, encoding, reply.len());
            Ok::<_, ServiceError>((answer, encode_answer(answer, reply)?))
        })
        .await?;
    let sent = reply.len();
    let mut r = reply.into_response();
    no_store(&mut r);
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(accredit_shared::sync::SYNC_MEDIA_TYPE),
    );
    h.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    if let Some(name) = answer.header() {
        h.insert(header::CONTENT_ENCODING, HeaderValue::from_static(name));
    }
    Ok((r, sent))
}

/// How the answer goes back (tablets sync over metered mobile data), from what the client takes:
/// zstd (Accredit's own clients, Chromium and Firefox), else brotli for a large answer (Safari),
/// else gzip. brotli is kept for large answers because its encoder here costs milliseconds even
/// for a few hundred bytes. A client that names no encodings gets its request's own (what
/// earlier field apps expect).
fn answer_encoding(headers: &HeaderMap, request: Encoding, length: usize) -> Encoding {
    let takes = |name| crate::http::accepts_encoding(headers, name);
    if takes(compress::ZSTD) {
        Encoding::Zstd
    } else if takes(compress::BROTLI) && length >= 16 * 1024 {
        Encoding::Brotli
    } else if takes(compress::GZIP)
        || (headers.get(header::ACCEPT_ENCODING).is_none() && request == Encoding::Gzip)
    {
        Encoding::Gzip
    } else {
        Encoding::Identity
    }
}

fn encode_answer(encoding: Encoding, reply: Vec<u8>) -> ServiceResult<Vec<u8>> {
    match encoding {
        Encoding::Identity => Ok(reply),
        Encoding::Gzip => compress::gzip(&reply).map_err(ServiceError::internal),
        Encoding::Zstd => compress::zstd(&reply).map_err(ServiceError::internal),
        Encoding::Brotli => {
            // A window no larger than the answer: it needs no 4 MB tables.
            let lgwin = (usize::BITS - reply.len().max(1).leading_zeros()).clamp(16, 22);
            let params = brotli::enc::BrotliEncoderParams {
                quality: 9,
                lgwin: lgwin as i32,
                size_hint: reply.len(),
                ..Default::default()
            };
            let mut out = Vec::with_capacity(reply.len() / 3);
            brotli::BrotliCompress(&mut &reply[..], &mut out, &params)
                .map_err(ServiceError::internal)?;
            Ok(out)
        }
    }
}
