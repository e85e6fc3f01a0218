//! The JSON API under `/api/v1` (API.md): thin adapters that read a request, call one service
//! function and write its answer. Every handler starts from a [`Caller`] (except sign-in and
//! health), so no route is reachable without a valid token. One module per area; none of them
//! imports the portal.

mod appeals;
mod blobs;
mod contracts;
mod exports;
mod history;
mod locations;
mod market;
mod notices;
mod people;
mod planning;
mod records;
mod retention;
mod sessions;
mod sync;
mod visits;

use axum::Router;
use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, Request};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde::de::DeserializeOwned;
use uuid::Uuid;

use crate::error::{ServiceError, ServiceResult};
use crate::state::AppState;

/// Every API route but the large-body ones (see [`sync_routes`] and [`blob_routes`]).
pub fn routes() -> Router<AppState> {
    Router::new()
        .merge(sessions::routes())
        .merge(locations::routes())
        .merge(visits::routes())
        .merge(records::routes())
        .merge(people::routes())
        .merge(notices::routes())
        .merge(planning::routes())
        .merge(market::routes())
        .merge(contracts::routes())
        .merge(exports::routes())
        .merge(history::routes())
        .merge(blobs::routes())
        .merge(appeals::routes())
        .merge(retention::routes())
}

/// Sync, which takes bodies up to the configured sync limit.
pub fn sync_routes() -> Router<AppState> {
    sync::routes()
}

/// Blob uploads, which take bodies up to the configured blob limit.
pub fn blob_routes() -> Router<AppState> {
    blobs::upload_routes()
}

/// A JSON body whose rejections are API errors (JSON, with a message) rather than plain text.
pub struct JsonBody<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for JsonBody<T> {
    type Rejection = ServiceError;
    async fn from_request(req: Request, state: &S) -> Result<Self, ServiceError> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(v)) => Ok(JsonBody(v)),
            Err(JsonRejection::MissingJsonContentType(_)) => Err(ServiceError::bad_request(
                "send the body as application/json",
            )),
            Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                Err(ServiceError::too_large("the body is too large"))
            }
            Err(e) => Err(ServiceError::bad_request(e.body_text())),
        }
    }
}

/// A query string whose rejections are API errors (JSON) rather than plain text.
pub struct QueryOf<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> axum::extract::FromRequestParts<S> for QueryOf<T> {
    type Rejection = ServiceError;
    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _state: &S,
    ) -> Result<Self, ServiceError> {
        axum::extract::Query::<T>::try_from_uri(&parts.uri)
            .map(|q| QueryOf(q.0))
            .map_err(|e| {
                ServiceError::bad_request(format!(
                    "the query string is not right: {}",
                    e.body_text()
                ))
            })
    }
}

/// A JSON answer with the headers personal data needs: never cached, never sniffed.
pub fn json_ok<T: Serialize>(value: &T) -> Response {
    with_status(StatusCode::OK, value)
}

/// A 201 JSON answer, as [`json_ok`].
pub fn created<T: Serialize>(value: &T) -> Response {
    with_status(StatusCode::CREATED, value)
}

fn with_status<T: Serialize>(status: StatusCode, value: &T) -> Response {
    let mut r = (status, axum::Json(value)).into_response();
    no_store(&mut r);
    r
}

/// Marks a response as personal: not stored by any cache, not sniffed as another type.
pub fn no_store(r: &mut Response) {
    let h = r.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
}

/// An id from a path; anything else is a 400 naming `what`.
pub fn path_id(text: &str, what: &str) -> ServiceResult<Uuid> {
    crate::access::parse_id(text, what)
}
