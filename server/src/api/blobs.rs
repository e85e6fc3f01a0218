//! Photo and document blobs: which are missing, whole uploads, resumable uploads, downloads.

use accredit_shared::api::{MissingBlobsRequest, MissingBlobsResponse};
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;

use super::{JsonBody, QueryOf, created, json_ok};
use crate::auth::{Caller, Role};
use crate::blobs;
use crate::error::{ServiceError, ServiceResult};
use crate::state::AppState;

/// `missing`: small JSON, under the ordinary body limit.
pub fn routes() -> Router<AppState> {
    Router::new().route("/api/v1/blobs/missing", post(blobs_missing))
}

/// The upload routes, which get the blob body limit.
pub fn upload_routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/blobs/{hash}", get(blob_get).put(blob_put))
        .route(
            "/api/v1/blobs/{hash}/upload",
            get(upload_progress).patch(upload_chunk),
        )
}

async fn blobs_missing(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(req): JsonBody<MissingBlobsRequest>,
) -> ServiceResult<Response> {
    caller.require(&[Role::Monitor, Role::Lead, Role::Provider])?;
    if req.hashes.len() > 10_000 {
        return Err(ServiceError::bad_request(
            "ask about at most 10,000 hashes at a time",
        ));
    }
    let missing = state
        .blocking(move |s| s.db.read(|tx| blobs::missing(tx, &req.hashes)))
        .await?;
    Ok(json_ok(&MissingBlobsResponse { missing }))
}

async fn blob_put(
    State(state): State<AppState>,
    caller: Caller,
    Path(hash): Path<String>,
    body: Bytes,
) -> ServiceResult<StatusCode> {
    let created = state
        .blocking(move |s| blobs::store(s, &caller, &hash, &body))
        .await?;
    Ok(if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UploadQuery {
    size: u64,
}

async fn upload_progress(
    State(state): State<AppState>,
    caller: Caller,
    Path(hash): Path<String>,
    QueryOf(q): QueryOf<UploadQuery>,
) -> ServiceResult<Response> {
    let progress = state
        .blocking(move |s| blobs::upload_progress(s, &caller, &hash, q.size))
        .await?;
    Ok(json_ok(&progress))
}

/// `PATCH /api/v1/blobs/{hash}/upload?size=N` with `Upload-Offset: K`: appends the body at K.
async fn upload_chunk(
    State(state): State<AppState>,
    caller: Caller,
    Path(hash): Path<String>,
    QueryOf(q): QueryOf<UploadQuery>,
    headers: HeaderMap,
    body: Bytes,
) -> ServiceResult<Response> {
    let offset = headers
        .get("upload-offset")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .ok_or_else(|| {
            ServiceError::bad_request("an upload chunk needs an Upload-Offset header: a byte count")
        })?;
    let progress = state
        .blocking(move |s| blobs::upload_chunk(s, &caller, &hash, q.size, offset, &body))
        .await?;
    Ok(if progress.complete {
        created(&progress)
    } else {
        json_ok(&progress)
    })
}

async fn blob_get(
    State(state): State<AppState>,
    caller: Caller,
    Path(hash): Path<String>,
) -> ServiceResult<Response> {
    let etag = format!("\"{hash}\"");
    let bytes = state
        .blocking(move |s| blobs::read(s, &caller, &hash))
        .await?;
    Ok((
        [
            (header::CONTENT_TYPE, blobs::sniff(&bytes).to_owned()),
            (
                header::CACHE_CONTROL,
                "private, max-age=31536000, immutable".to_owned(),
            ),
            (header::ETAG, etag),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_owned()),
        ],
        bytes,
    )
        .into_response())
}
