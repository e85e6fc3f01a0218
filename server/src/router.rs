//! One router composes the JSON API and the portal, each with its body limits; neither adapter
//! knows of the other. API errors that axum or tower produce themselves (a body too large, an
//! unknown route, a wrong method) are rewritten as the API's JSON errors.

use axum::Router;
use axum::body::Body;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderValue, Request, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use tower_http::compression::CompressionLayer;
use tower_http::limit::RequestBodyLimitLayer;

use crate::error::ServiceError;
use crate::http::json_error;
use crate::state::AppState;
use crate::{api, metrics, observe, portal, web_app};

/// Every route of the server.
pub fn router(state: AppState) -> Router {
    let sync_limit = state.config.max_sync_bytes;
    let blob_limit = state.config.max_blob_bytes;
    // JSON answers compressed as the client takes them (tablets on metered mobile data fetch
    // their caseload, rules and visits on every sync): zstd or gzip, fast levels. Sync answers
    // are compressed by their own route; photos are JPEG already.
    let api = limited(api::routes(), 1024 * 1024)
        .layer(CompressionLayer::new())
        .merge(limited(api::sync_routes(), sync_limit))
        .merge(limited(api::blob_routes(), blob_limit))
        .layer(middleware::from_fn(api_errors_as_json));
    let portal = limited(portal::routes(), 1024 * 1024)
        .merge(limited(portal::upload_routes(), 40 * 1024 * 1024))
        .layer(middleware::from_fn(portal::same_origin_only));
    api.merge(portal)
        .merge(web_app::routes())
        .merge(metrics::routes())
        .fallback(not_found)
        .layer(middleware::from_fn_with_state(
            state.clone(),
            observe::track,
        ))
        .with_state(state)
}

/// Each group gets its own limit, checked against Content-Length before any body is read, so
/// an oversized upload is refused at once instead of being received and then dropped.
fn limited(router: Router<AppState>, bytes: usize) -> Router<AppState> {
    router
        .layer(DefaultBodyLimit::max(bytes))
        .layer(RequestBodyLimitLayer::new(bytes))
}

/// Rewrites any API error that is not already JSON (from the body limit, the router or the
/// extractors) as the API's JSON error, as API.md promises.
async fn api_errors_as_json(req: Request<Body>, next: Next) -> Response {
    let response = next.run(req).await;
    let status = response.status();
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return response;
    }
    let error = match status {
        StatusCode::PAYLOAD_TOO_LARGE => ServiceError::too_large("the body is too large"),
        StatusCode::NOT_FOUND => ServiceError::not_found("route"),
        StatusCode::METHOD_NOT_ALLOWED => {
            ServiceError::bad_request("this route does not take that method")
        }
        StatusCode::UNSUPPORTED_MEDIA_TYPE => {
            ServiceError::bad_request("send the body as application/json")
        }
        s if s.is_server_error() => ServiceError::internal(format!("status {s}")),
        s => ServiceError::bad_request(format!(
            "the request is not right ({})",
            s.canonical_reason().unwrap_or("refused")
        )),
    };
    let mut out = json_error(&error);
    *out.status_mut() = status;
    out
}

/// Unknown paths: a JSON error under `/api/`, the portal's page elsewhere.
async fn not_found(req: Request<Body>) -> Response {
    if req.uri().path().starts_with("/api/") {
        let mut r = json_error(&ServiceError::not_found("route"));
        r.headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        r
    } else {
        portal::not_found_page().into_response()
    }
}
