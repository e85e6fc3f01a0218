//! The layer every request passes through: one log event per request (method, route pattern,
//! status, latency, and the user when signed in) and its counts in [`crate::metrics`].
//!
//! What is logged is chosen, not dumped: the route is axum's pattern (`/api/v1/visits/{id}`),
//! so a path carries no more than ids and a query string never appears; no header, cookie, token
//! or body is read. The user is known only to the extractors that check a session ([`Caller`],
//! the portal's viewer), which run inside the handler, so they leave the id in a slot this layer
//! put into the request ([`note_user`]).
//!
//! [`Caller`]: crate::auth::Caller

use std::sync::{Arc, OnceLock};
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::request::Parts;
use axum::middleware::Next;
use axum::response::Response;
use tracing::Instrument;
use uuid::Uuid;

use crate::metrics::UNMATCHED;
use crate::state::AppState;

/// Where the session extractors leave the signed-in user's id for this request's log event.
#[derive(Clone, Default)]
struct UserSlot(Arc<OnceLock<Uuid>>);

/// Records who is behind the request, for its log event. Called by the extractors that check a
/// session; a request that did not pass through [`track`] (an in-process router test) has no
/// slot, and nothing happens.
pub fn note_user(parts: &Parts, user: Uuid) {
    if let Some(slot) = parts.extensions.get::<UserSlot>() {
        let _ = slot.0.set(user);
    }
}

/// The middleware: times the request, then logs and counts it.
pub async fn track(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = req.method().clone();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or(UNMATCHED, |p| p.as_str())
        .to_owned();
    let user = UserSlot::default();
    req.extensions_mut().insert(user.clone());
    // Whatever the handler logs (an internal error, say) carries the request's method and route.
    let span = tracing::info_span!("request", method = %method, route = %route);
    let response = next.run(req).instrument(span).await;
    let elapsed = started.elapsed();
    let status = response.status().as_u16();
    state.metrics.record_request(&route, status, elapsed);
    // Microsecond resolution: fast routes answer in well under a millisecond.
    let latency_ms = (elapsed.as_secs_f64() * 1e6).round() / 1e3;
    tracing::info!(
        method = %method,
        route = %route,
        status,
        latency_ms,
        user_id = user.0.get().map(tracing::field::display),
        "request"
    );
    response
}
