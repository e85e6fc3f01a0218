//! The HTTP API under `/api/v1` (see API.md): sessions, locations and tiers, sync, blobs, visits
//! and their lifecycle, payments and the audit log. Every handler starts from a [`Caller`], so no
//! route is reachable without a valid token, and checks the caller's role and reach itself.

use accredit_shared::visit::VisitDoc;
use axum::body::Bytes;
use axum::extract::rejection::JsonRejection;
use axum::extract::{DefaultBodyLimit, FromRequest, Path, Query, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::NaiveDate;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use tower_http::limit::RequestBodyLimitLayer;
use uuid::Uuid;

use crate::access::{self, parse_id};
use crate::audit::{self, AuditQuery};
use crate::auth::{self, Caller, Role};
use crate::error::{ApiError, ApiResult};
use crate::state::{AppState, now_text};
use crate::{blobs, lifecycle, payments, records_api, sync_server, tiers};

/// A JSON body whose rejections are API errors (JSON, with a message) rather than plain text.
pub struct JsonBody<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;
    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        match Json::<T>::from_request(req, state).await {
            Ok(Json(v)) => Ok(JsonBody(v)),
            Err(JsonRejection::MissingJsonContentType(_)) => {
                Err(ApiError::bad_request("send the body as application/json"))
            }
            Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                Err(ApiError::too_large("the body is too large"))
            }
            Err(e) => Err(ApiError::bad_request(e.body_text())),
        }
    }
}

/// Every route.
pub fn router(state: AppState) -> Router {
    let sync_limit = state.config.max_sync_bytes;
    let blob_limit = state.config.max_blob_bytes;
    // Each group gets its own limit, checked against Content-Length before any body is read, so
    // an oversized upload is refused at once instead of being received and then dropped.
    let limited = |router: Router<AppState>, bytes: usize| {
        router
            .layer(DefaultBodyLimit::max(bytes))
            .layer(RequestBodyLimitLayer::new(bytes))
    };
    let sync_routes = limited(Router::new().route("/api/v1/sync", post(sync)), sync_limit);
    let blob_routes = limited(
        Router::new()
            .route("/api/v1/blobs/{hash}", get(blob_get).put(blob_put))
            .route(
                "/api/v1/blobs/{hash}/upload",
                get(upload_progress).patch(upload_chunk),
            ),
        blob_limit,
    );
    let routes = Router::new()
        .route("/healthz", get(healthz))
        .route("/api/v1/session", post(create_session).delete(end_session))
        .route("/api/v1/me", get(me))
        .route("/api/v1/devices/{id}/revoke", post(revoke_device))
        .route("/api/v1/locations", get(list_locations))
        .route("/api/v1/locations/{id}/tier", get(location_tier))
        .route(
            "/api/v1/locations/{id}/determinations",
            get(location_determinations),
        )
        .route("/api/v1/packs/{id}/{version}", get(get_pack))
        .route("/api/v1/blobs/missing", post(blobs_missing))
        .route("/api/v1/visits", get(list_visits))
        .route("/api/v1/visits/{id}", get(get_visit))
        .route("/api/v1/visits/{id}/conflicts", get(visit_conflicts))
        .route("/api/v1/visits/{id}/share", post(share_visit))
        .route("/api/v1/visits/{id}/comments", post(comment_visit))
        .route("/api/v1/visits/{id}/confirm", post(confirm_visit))
        .route("/api/v1/visits/{id}/publish", post(publish_visit))
        .route(
            "/api/v1/visits/{id}/revisions/{revision}/{decision}",
            post(decide_revision),
        )
        .route(
            "/api/v1/visits/{id}/actions/{action}/responses",
            post(respond_action),
        )
        .route("/api/v1/payments", get(get_payments))
        .route("/api/v1/payments/issue", post(issue_payments))
        .route("/api/v1/audit", get(get_audit))
        .merge(records_api::routes())
        .merge(crate::portal::routes());
    let upload_routes = limited(crate::portal::upload_routes(), 40 * 1024 * 1024);
    limited(routes, 1024 * 1024)
        .merge(upload_routes)
        .merge(sync_routes)
        .merge(blob_routes)
        .with_state(state)
}

async fn healthz(State(state): State<AppState>) -> ApiResult<Json<Value>> {
    let version = state
        .blocking(|s| s.db.read(|tx| Ok(crate::db::user_version(tx)?)))
        .await?;
    Ok(Json(json!({ "status": "ok", "schema_version": version })))
}

#[derive(Deserialize)]
struct SessionRequest {
    username: String,
    password: String,
    device_name: String,
}

async fn create_session(
    State(state): State<AppState>,
    JsonBody(req): JsonBody<SessionRequest>,
) -> ApiResult<Response> {
    if req.username.len() > 200
        || req.password.len() > 1000
        || req.device_name.trim().is_empty()
        || req.device_name.len() > 200
    {
        return Err(ApiError::bad_request(
            "username, password and a device name (up to 200 characters) are required",
        ));
    }
    let session = state
        .blocking(move |s| {
            s.db.write(|tx| {
                auth::sign_in_recorded(
                    tx,
                    &req.username,
                    &req.password,
                    req.device_name.trim(),
                    "api",
                )
            })
        })
        .await?;
    Ok((StatusCode::CREATED, Json(session)).into_response())
}

async fn end_session(State(state): State<AppState>, caller: Caller) -> ApiResult<StatusCode> {
    state
        .blocking(move |s| s.db.write(|tx| revoke(tx, &caller, caller.device_id)))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Revokes a device's token and records it.
pub(crate) fn revoke(
    tx: &rusqlite::Connection,
    caller: &Caller,
    device: Uuid,
) -> Result<(), ApiError> {
    let n = tx.execute(
        "UPDATE tokens SET revoked_at = ?2 WHERE device_id = ?1 AND revoked_at IS NULL",
        [device.to_string(), now_text()],
    )?;
    if n == 0 {
        return Err(ApiError::not_found("active device"));
    }
    audit::record(
        tx,
        Some(caller),
        audit::Entry {
            action: "device.revoked",
            subject_type: "device",
            subject_id: Some(device.to_string()),
            location_id: None,
            details: json!({}),
        },
    )
}

async fn revoke_device(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let device = parse_id(&id, "device id")?;
    if device != caller.device_id {
        caller.require(&[Role::Commissioner])?;
    }
    state
        .blocking(move |s| s.db.write(|tx| revoke(tx, &caller, device)))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn me(caller: Caller) -> Json<Value> {
    Json(json!({
        "user_id": caller.user_id,
        "name": caller.name,
        "role": caller.role,
        "provider_id": caller.provider_id,
        "device_id": caller.device_id,
    }))
}

async fn list_locations(State(state): State<AppState>, caller: Caller) -> ApiResult<Json<Value>> {
    state
        .blocking(move |s| {
            s.db.read(|tx| {
                let out: Vec<Value> = crate::portal::location_rows(s, tx, &caller)?
                    .into_iter()
                    .map(|r| {
                        json!({
                            "id": r.id,
                            "name": r.name,
                            "provider_id": r.provider_id,
                            "cqc_location_id": r.cqc_location_id,
                            "service_type": r.service_type,
                            "address": r.address,
                            "tier": r.tier,
                            "weekly_premium_pence": r.weekly_pence,
                            "status": r.status,
                            "traffic_light": r.warning.light,
                            "traffic_light_reasons": r.warning.reasons,
                            "last_visit_on": r.last_visit,
                            "next_visit_due_on": r.next_due,
                        })
                    })
                    .collect();
                Ok(Json(json!({ "on": s.today(), "locations": out })))
            })
        })
        .await
}

#[derive(Deserialize)]
struct OnQuery {
    on: Option<NaiveDate>,
}

async fn location_tier(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Query(q): Query<OnQuery>,
) -> ApiResult<Json<Value>> {
    let id = parse_id(&id, "location id")?;
    state
        .blocking(move |s| {
            s.db.read(|tx| {
                access::require_location(tx, &caller, id)?;
                let day = q.on.unwrap_or_else(|| s.today());
                let det = tiers::determine(s, tx, id, day)?
                    .ok_or_else(|| ApiError::not_found("location"))?;
                Ok(Json(
                    json!({ "location_id": id, "on": day, "determination": det }),
                ))
            })
        })
        .await
}

async fn location_determinations(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let id = parse_id(&id, "location id")?;
    state
        .blocking(move |s| {
            s.db.read(|tx| {
                access::require_location(tx, &caller, id)?;
                let mut stmt = tx.prepare(
                    "SELECT seq, day, trigger, tier, weekly_pence, status, computed_at, explanation FROM determinations WHERE location_id = ?1 ORDER BY seq DESC LIMIT 200",
                )?;
                let rows: Vec<Value> = stmt
                    .query_map([id.to_string()], |r| {
                        let explanation: String = r.get(7)?;
                        Ok(json!({
                            "seq": r.get::<_, i64>(0)?,
                            "day": r.get::<_, String>(1)?,
                            "trigger": r.get::<_, String>(2)?,
                            "tier": r.get::<_, Option<String>>(3)?,
                            "weekly_pence": r.get::<_, i64>(4)?,
                            "status": r.get::<_, String>(5)?,
                            "computed_at": r.get::<_, String>(6)?,
                            "explanation": serde_json::from_str::<Value>(&explanation).unwrap_or(Value::Null),
                        }))
                    })?
                    .collect::<Result<_, _>>()?;
                Ok(Json(json!({ "location_id": id, "determinations": rows })))
            })
        })
        .await
}

async fn get_pack(
    State(state): State<AppState>,
    _caller: Caller,
    Path((id, version)): Path<(String, String)>,
) -> ApiResult<Json<Value>> {
    let pack = state
        .packs
        .get(&id, &version)
        .ok_or_else(|| ApiError::not_found("framework pack"))?;
    Ok(Json(serde_json::to_value(pack)?))
}

async fn sync(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    let media = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if media != accredit_shared::sync::SYNC_MEDIA_TYPE {
        return Err(ApiError::bad_request(format!(
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
        .map_err(|_| ApiError::internal("the server is shutting down"))?;
    let reply = state
        .blocking(move |s| sync_server::handle(s, &caller, &body))
        .await?;
    Ok((
        [(header::CONTENT_TYPE, accredit_shared::sync::SYNC_MEDIA_TYPE)],
        reply,
    )
        .into_response())
}

#[derive(Deserialize)]
struct MissingRequest {
    hashes: Vec<String>,
}

async fn blobs_missing(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(req): JsonBody<MissingRequest>,
) -> ApiResult<Json<Value>> {
    caller.require(&[Role::Monitor, Role::Lead, Role::Provider])?;
    if req.hashes.len() > 10_000 {
        return Err(ApiError::bad_request(
            "ask about at most 10,000 hashes at a time",
        ));
    }
    let missing = state
        .blocking(move |s| s.db.read(|tx| blobs::missing(tx, &req.hashes)))
        .await?;
    Ok(Json(json!({ "missing": missing })))
}

async fn blob_put(
    State(state): State<AppState>,
    caller: Caller,
    Path(hash): Path<String>,
    body: Bytes,
) -> ApiResult<StatusCode> {
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
struct UploadQuery {
    size: u64,
}

async fn upload_progress(
    State(state): State<AppState>,
    caller: Caller,
    Path(hash): Path<String>,
    Query(q): Query<UploadQuery>,
) -> ApiResult<Json<blobs::UploadProgress>> {
    let progress = state
        .blocking(move |s| blobs::upload_progress(s, &caller, &hash, q.size))
        .await?;
    Ok(Json(progress))
}

/// `PATCH /api/v1/blobs/{hash}/upload?size=N` with `Upload-Offset: K`: appends the body at K.
async fn upload_chunk(
    State(state): State<AppState>,
    caller: Caller,
    Path(hash): Path<String>,
    Query(q): Query<UploadQuery>,
    headers: axum::http::HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    let offset = headers
        .get("upload-offset")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .ok_or_else(|| {
            ApiError::bad_request("an upload chunk needs an Upload-Offset header: a byte count")
        })?;
    let progress = state
        .blocking(move |s| blobs::upload_chunk(s, &caller, &hash, q.size, offset, &body))
        .await?;
    let status = if progress.complete {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(progress)).into_response())
}

async fn blob_get(
    State(state): State<AppState>,
    caller: Caller,
    Path(hash): Path<String>,
) -> ApiResult<Response> {
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

#[derive(Deserialize)]
struct VisitsQuery {
    location: Option<Uuid>,
}

async fn list_visits(
    State(state): State<AppState>,
    caller: Caller,
    Query(q): Query<VisitsQuery>,
) -> ApiResult<Json<Value>> {
    state
        .blocking(move |s| {
            s.db.read(|tx| {
                let locations = match q.location {
                    Some(l) => {
                        access::require_location(tx, &caller, l)?;
                        vec![l]
                    }
                    None => access::visible_locations(tx, &caller)?,
                };
                let mut out = Vec::new();
                let mut stmt = tx.prepare("SELECT id FROM visits WHERE location_id = ?1")?;
                for l in locations {
                    let ids: Vec<String> = stmt.query_map([l.to_string()], |r| r.get(0))?.collect::<Result<_, _>>()?;
                    for id in ids {
                        let id = parse_id(&id, "visit id")?;
                        let Some(v) = lifecycle::visit_state(tx, id)? else { continue };
                        if caller.role == Role::Provider && v.status == "signed_off" {
                            continue;
                        }
                        let record = lifecycle::revision_record(tx, id, v.current_revision)?;
                        out.push(json!({ "visit": v, "visited_on": record.visited_on(), "visit_type": record.header.visit_type }));
                    }
                }
                Ok(Json(json!({ "visits": out })))
            })
        })
        .await
}

async fn get_visit(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let id = parse_id(&id, "visit id")?;
    state
        .blocking(move |s| {
            s.db.read(|tx| {
                let v = lifecycle::require_visit(tx, &caller, id)?;
                let mut revisions = lifecycle::revisions(tx, id)?;
                if caller.role == Role::Provider {
                    // Providers see what was shared with them, not drafts of later revisions.
                    revisions.retain(|r| r.revision == v.current_revision || r.published_on.is_some());
                }
                let record = lifecycle::revision_record(tx, id, v.current_revision)?;
                let comments = lifecycle::comments(tx, id)?;
                Ok(Json(json!({ "visit": v, "record": record, "revisions": revisions, "comments": comments })))
            })
        })
        .await
}

async fn visit_conflicts(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let id = parse_id(&id, "visit id")?;
    caller.require(&[Role::Monitor, Role::Lead, Role::Commissioner])?;
    state
        .blocking(move |s| {
            s.db.read(|tx| {
                let row =
                    crate::docstore::row(tx, id)?.ok_or_else(|| ApiError::not_found("visit"))?;
                access::require_location(tx, &caller, row.location_id)?;
                let doc =
                    crate::docstore::load(tx, id)?.ok_or_else(|| ApiError::not_found("visit"))?;
                let conflicts = VisitDoc::conflicts_of(&doc, None)
                    .map_err(|e| ApiError::internal(e.to_string()))?;
                Ok(Json(json!({ "visit_id": id, "conflicts": conflicts })))
            })
        })
        .await
}

/// Runs a lifecycle step on a visit in a write transaction and returns `{"visit": state}`.
async fn visit_step(
    state: AppState,
    caller: Caller,
    id: String,
    step: impl FnOnce(
        &AppState,
        &rusqlite::Connection,
        &Caller,
        Uuid,
    ) -> Result<lifecycle::VisitState, ApiError>
    + Send
    + 'static,
) -> ApiResult<Json<Value>> {
    let id = parse_id(&id, "visit id")?;
    state
        .blocking(move |s| {
            s.db.write(|tx| Ok(Json(json!({ "visit": step(s, tx, &caller, id)? }))))
        })
        .await
}

async fn share_visit(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    visit_step(state, caller, id, lifecycle::share).await
}

#[derive(Deserialize)]
struct CommentRequest {
    criterion: Option<String>,
    body: String,
}

async fn comment_visit(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    JsonBody(req): JsonBody<CommentRequest>,
) -> ApiResult<Response> {
    let id = parse_id(&id, "visit id")?;
    let comment = state
        .blocking(move |s| {
            s.db.write(|tx| {
                lifecycle::comment(s, tx, &caller, id, req.criterion.as_deref(), &req.body)
            })
        })
        .await?;
    Ok((StatusCode::CREATED, Json(json!({ "id": comment }))).into_response())
}

async fn confirm_visit(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    visit_step(state, caller, id, lifecycle::confirm_factual_accuracy).await
}

async fn publish_visit(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let id = parse_id(&id, "visit id")?;
    state
        .blocking(move |s| {
            s.db.write(|tx| {
                let v = lifecycle::publish(s, tx, &caller, id)?;
                let det = tiers::redetermine(s, tx, &[v.location_id], "visit published")?;
                Ok(Json(json!({ "visit": v, "determination": det.first() })))
            })
        })
        .await
}

async fn decide_revision(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, revision, decision)): Path<(String, u32, String)>,
) -> ApiResult<Json<Value>> {
    let id = parse_id(&id, "visit id")?;
    let accept = match decision.as_str() {
        "accept" => true,
        "reject" => false,
        _ => return Err(ApiError::not_found("route")),
    };
    state
        .blocking(move |s| s.db.write(|tx| Ok(Json(json!({ "visit": lifecycle::decide_revision(tx, &caller, id, revision, accept)? })))))
        .await
}

#[derive(Deserialize)]
struct ResponseRequest {
    body: String,
}

async fn respond_action(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, action)): Path<(String, String)>,
    JsonBody(req): JsonBody<ResponseRequest>,
) -> ApiResult<Response> {
    let id = parse_id(&id, "visit id")?;
    let action = parse_id(&action, "action id")?;
    let rid = state
        .blocking(move |s| {
            s.db.write(|tx| lifecycle::respond_to_action(tx, &caller, id, action, &req.body, &[]))
        })
        .await?;
    Ok((StatusCode::CREATED, Json(json!({ "id": rid }))).into_response())
}

#[derive(Deserialize)]
struct PeriodQuery {
    period: String,
}

async fn get_payments(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    Query(q): Query<PeriodQuery>,
) -> ApiResult<Response> {
    let wants_csv = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("text/csv"));
    let view = state
        .blocking(move |s| s.db.read(|tx| payments::view(s, tx, &caller, &q.period)))
        .await?;
    if wants_csv {
        let name = format!(
            "attachment; filename=\"accredit-payments-{}.csv\"",
            view.period
        );
        Ok((
            [
                (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
                (header::CONTENT_DISPOSITION, name),
            ],
            payments::to_csv(&view),
        )
            .into_response())
    } else {
        Ok(Json(view).into_response())
    }
}

async fn issue_payments(
    State(state): State<AppState>,
    caller: Caller,
    Query(q): Query<PeriodQuery>,
) -> ApiResult<Json<payments::PaymentsView>> {
    state
        .blocking(move |s| s.db.write(|tx| payments::issue(s, tx, &caller, &q.period)))
        .await
        .map(Json)
}

async fn get_audit(
    State(state): State<AppState>,
    caller: Caller,
    Query(q): Query<AuditQuery>,
) -> ApiResult<Json<Value>> {
    caller.require(&[Role::Commissioner, Role::Lead])?;
    let rows = state
        .blocking(move |s| s.db.read(|tx| audit::search(tx, &q)))
        .await?;
    Ok(Json(json!({ "entries": rows })))
}
