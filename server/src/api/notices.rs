//! Email notices over JSON, for commissioners: their states (queued, sent, failed and why,
//! skipped), as the portal's notices page shows them.

use axum::Router;
use axum::extract::{Query, State};
use axum::response::Response;
use axum::routing::get;
use serde::Deserialize;
use serde_json::json;

use super::json_ok;
use crate::auth::Caller;
use crate::error::{ServiceError, ServiceResult};
use crate::service::notices;
use crate::state::AppState;

/// The routes.
pub fn routes() -> Router<AppState> {
    Router::new().route("/api/v1/notices", get(list))
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
struct ListQuery {
    state: Option<String>,
}

async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Query(q): Query<ListQuery>,
) -> ServiceResult<Response> {
    if let Some(s) = &q.state
        && !["queued", "sent", "failed", "skipped"].contains(&s.as_str())
    {
        return Err(ServiceError::bad_request(
            "state is one of queued, sent, failed or skipped",
        ));
    }
    let rows = state
        .blocking(move |s| notices::list(s, &caller, q.state.as_deref(), 500))
        .await?;
    let notices: Vec<_> = rows
        .into_iter()
        .map(|n| {
            json!({
                "id": n.id,
                "kind": n.kind.key(),
                "recipient": n.recipient,
                "subject": n.subject,
                "state": n.state,
                "attempts": n.attempts,
                "last_error": n.last_error,
                "created_at": n.created_at,
                "sent_at": n.sent_at,
            })
        })
        .collect();
    Ok(json_ok(&json!({ "notices": notices })))
}
