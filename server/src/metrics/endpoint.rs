//! `GET /metrics` and who may read it. With a token configured, only a request carrying it;
//! without one, only a request from this machine that did not come through a proxy. Anyone else
//! gets the same 404 as an unknown page, so the route's existence is not advertised.

use std::net::IpAddr;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use super::gauges;
use crate::http::ClientAddr;
use crate::state::{AppState, Config};

/// The Prometheus text exposition format's media type.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Headers a reverse proxy adds. A proxy on the same host connects from loopback, so without
/// these checks every visitor it forwards would look local.
const PROXY_HEADERS: [&str; 3] = ["x-forwarded-for", "forwarded", "x-real-ip"];

/// Command-line settings for `/metrics` (`serve` and `demo`).
#[derive(clap::Args, Clone, Debug, Default)]
pub struct MetricsArgs {
    /// Token the monitoring must send (`Authorization: Bearer …`) to read /metrics. Without one,
    /// /metrics answers only requests from this machine that did not pass through a proxy.
    /// Prefer the environment variable: arguments are visible to other users in `ps`.
    #[arg(long, env = "ACCREDIT_METRICS_TOKEN", hide_env_values = true)]
    pub metrics_token: Option<String>,
}

impl MetricsArgs {
    /// Puts the settings into the server's configuration (an empty token counts as none).
    pub fn apply(&self, config: &mut Config) {
        config.metrics_token = self
            .metrics_token
            .as_deref()
            .filter(|t| !t.is_empty())
            .map(MetricsToken::new);
    }
}

/// The metrics token, kept only as its hash, so it is never printed with the configuration and
/// comparing it takes the same time whatever is presented.
#[derive(Clone)]
pub struct MetricsToken(blake3::Hash);

impl MetricsToken {
    /// The token to require.
    pub fn new(token: &str) -> MetricsToken {
        MetricsToken(blake3::hash(token.as_bytes()))
    }

    /// Whether `presented` is the token. `blake3::Hash` compares in constant time.
    pub fn matches(&self, presented: &str) -> bool {
        blake3::hash(presented.as_bytes()) == self.0
    }
}

impl std::fmt::Debug for MetricsToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MetricsToken(..)")
    }
}

/// The route.
pub fn routes() -> Router<AppState> {
    Router::new().route("/metrics", get(metrics))
}

async fn metrics(
    State(state): State<AppState>,
    ClientAddr(peer): ClientAddr,
    headers: HeaderMap,
) -> Response {
    if !allowed(state.config.metrics_token.as_ref(), peer, &headers) {
        return crate::portal::not_found_page().into_response();
    }
    let read = state
        .blocking(|s| s.db.read(|tx| Ok(gauges::read(tx, &s.config))))
        .await;
    // Without the database the counters are still worth having; the failure is logged.
    let gauges = read.unwrap_or_default();
    let mut r = state.metrics.render(&gauges).into_response();
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

/// Whether a request may read the metrics.
fn allowed(token: Option<&MetricsToken>, peer: Option<IpAddr>, headers: &HeaderMap) -> bool {
    match token {
        Some(token) => headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .is_some_and(|presented| token.matches(presented.trim())),
        None => {
            peer.is_some_and(|ip| ip.to_canonical().is_loopback())
                && !PROXY_HEADERS.iter().any(|h| headers.contains_key(*h))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn without_a_token_only_direct_loopback_requests_are_allowed() {
        let local: IpAddr = "127.0.0.1".parse().unwrap();
        let mapped: IpAddr = "::ffff:127.0.0.1".parse().unwrap();
        let remote: IpAddr = "192.0.2.7".parse().unwrap();
        assert!(allowed(None, Some(local), &headers(&[])));
        assert!(allowed(None, Some(mapped), &headers(&[])));
        assert!(!allowed(None, Some(remote), &headers(&[])));
        assert!(!allowed(None, None, &headers(&[])));
        for h in PROXY_HEADERS {
            assert!(!allowed(None, Some(local), &headers(&[(h, "192.0.2.7")])));
        }
    }

    #[test]
    fn with_a_token_only_that_token_is_allowed() {
        let token = MetricsToken::new("s3cret");
        let local: IpAddr = "127.0.0.1".parse().unwrap();
        assert!(!allowed(Some(&token), Some(local), &headers(&[])));
        assert!(!allowed(
            Some(&token),
            Some(local),
            &headers(&[("authorization", "Bearer wrong")])
        ));
        assert!(allowed(
            Some(&token),
            None,
            &headers(&[("authorization", "Bearer s3cret")])
        ));
        assert_eq!(format!("{token:?}"), "MetricsToken(..)");
    }
}
