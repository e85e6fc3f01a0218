//! Commissioners' records: CQC ratings, gates, qualifications, placements and rule sets. Every
//! change is audited and re-determines the tiers it affects, in the same transaction.

use std::collections::BTreeMap;

use accredit_shared::RuleSet;
use accredit_shared::records::*;
use axum::Json;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use chrono::NaiveDate;
use rusqlite::{Connection, OptionalExtension, params};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::access::parse_id;
use crate::api::JsonBody;
use crate::audit::{self, Entry};
use crate::auth::{Caller, Role};
use crate::error::{ApiError, ApiResult};
use crate::state::{AppState, now_text};
use crate::tiers;

/// The routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/locations/{id}/cqc-ratings", post(add_cqc))
        .route("/api/v1/locations/{id}/gates", post(open_gate))
        .route("/api/v1/gates/{id}/close", post(close_gate))
        .route("/api/v1/qualifications", post(add_qualification))
        .route("/api/v1/placements", post(add_placement))
        .route("/api/v1/rule-sets", get(list_rule_sets).post(add_rule_set))
        .route("/api/v1/rule-sets/sources", get(rule_set_sources))
}

/// Every rule set's TOML source, in force and scheduled, for any signed-in user: the field app
/// computes its indicative tier with the very rules the server applies. Rules are not personal
/// data and the scheme publishes them.
async fn rule_set_sources(
    State(state): State<AppState>,
    _caller: Caller,
) -> ApiResult<Json<Value>> {
    let sets = state
        .blocking(|s| {
            s.db.read(|tx| {
                let mut stmt = tx.prepare(
                    "SELECT version, effective_from, source FROM rule_sets ORDER BY effective_from",
                )?;
                let rows = stmt
                    .query_map([], |r| {
                        Ok(json!({ "version": r.get::<_, String>(0)?, "effective_from": r.get::<_, String>(1)?, "source": r.get::<_, String>(2)? }))
                    })?
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(rows)
            })
        })
        .await?;
    Ok(Json(json!({ "rule_sets": sets })))
}

fn require_location_exists(tx: &Connection, id: Uuid) -> Result<Location, ApiError> {
    tiers::location(tx, id)?
        .map(|(l, _)| l)
        .ok_or_else(|| ApiError::not_found("location"))
}

/// Stores a record, audits it and re-determines the affected locations.
#[allow(clippy::too_many_arguments)]
fn save<T: Serialize>(
    state: &AppState,
    tx: &Connection,
    caller: &Caller,
    table: &str,
    key_column: &str,
    id: Uuid,
    key: Uuid,
    record: &T,
    action: &str,
    affected: &[Uuid],
) -> Result<Value, ApiError> {
    tx.execute(
        &format!("INSERT INTO {table} (id, {key_column}, data) VALUES (?1, ?2, ?3) ON CONFLICT (id) DO UPDATE SET data = excluded.data"),
        params![id.to_string(), key.to_string(), serde_json::to_string(record)?],
    )?;
    audit::record(
        tx,
        Some(caller),
        Entry {
            action,
            subject_type: table,
            subject_id: Some(id.to_string()),
            location_id: (affected.len() == 1).then(|| affected[0]),
            details: json!({ "affected_locations": affected }),
        },
    )?;
    let dets = tiers::redetermine(state, tx, affected, action)?;
    let effects: Vec<Value> = affected
        .iter()
        .zip(&dets)
        .map(|(l, d)| json!({ "location_id": l, "tier": d.tier.as_ref().map(|t| t.name.clone()), "weekly_premium_pence": d.rate.weekly.0, "status": d.status }))
        .collect();
    Ok(json!({ "id": id, "record": record, "effects": effects }))
}

fn created(v: Value) -> Response {
    (StatusCode::CREATED, Json(v)).into_response()
}

/// A CQC rating to record.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CqcRequest {
    /// Inspection day.
    pub inspected_on: NaiveDate,
    /// Publication day: the rating counts from then.
    pub published_on: NaiveDate,
    /// Overall rating.
    pub overall: CqcRatingValue,
    /// Ratings per key question.
    #[serde(default)]
    pub key_questions: BTreeMap<KeyQuestion, CqcRatingValue>,
}

/// Records a CQC rating for a location (commissioners), audits it and re-determines the tier.
pub fn record_cqc(
    s: &AppState,
    tx: &Connection,
    caller: &Caller,
    loc: Uuid,
    req: CqcRequest,
) -> Result<Value, ApiError> {
    caller.require(&[Role::Commissioner])?;
    if req.published_on < req.inspected_on {
        return Err(ApiError::invalid(
            "a rating cannot be published before the inspection",
        ));
    }
    require_location_exists(tx, loc)?;
    let rating = CqcRating {
        id: Uuid::new_v4(),
        location_id: loc,
        inspected_on: req.inspected_on,
        published_on: req.published_on,
        overall: req.overall,
        key_questions: req.key_questions,
    };
    save(
        s,
        tx,
        caller,
        "cqc_ratings",
        "location_id",
        rating.id,
        loc,
        &rating,
        "cqc_rating.recorded",
        &[loc],
    )
}

async fn add_cqc(
    State(state): State<AppState>,
    caller: Caller,
    Path(loc): Path<String>,
    JsonBody(req): JsonBody<CqcRequest>,
) -> ApiResult<Response> {
    let loc = parse_id(&loc, "location id")?;
    state
        .blocking(move |s| s.db.write(|tx| record_cqc(s, tx, &caller, loc, req)))
        .await
        .map(created)
}

/// A gate to open.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GateRequest {
    /// What kind.
    pub kind: GateKind,
    /// From when.
    pub opened_on: NaiveDate,
}

/// Opens a gate on a location (commissioners), audits it and re-determines the tier.
pub fn record_gate_open(
    s: &AppState,
    tx: &Connection,
    caller: &Caller,
    loc: Uuid,
    req: GateRequest,
) -> Result<Value, ApiError> {
    caller.require(&[Role::Commissioner])?;
    require_location_exists(tx, loc)?;
    let gate = Gate {
        id: Uuid::new_v4(),
        location_id: loc,
        kind: req.kind,
        opened_on: req.opened_on,
        closed_on: None,
        outcome: None,
    };
    save(
        s,
        tx,
        caller,
        "gates",
        "location_id",
        gate.id,
        loc,
        &gate,
        "gate.opened",
        &[loc],
    )
}

async fn open_gate(
    State(state): State<AppState>,
    caller: Caller,
    Path(loc): Path<String>,
    JsonBody(req): JsonBody<GateRequest>,
) -> ApiResult<Response> {
    let loc = parse_id(&loc, "location id")?;
    state
        .blocking(move |s| s.db.write(|tx| record_gate_open(s, tx, &caller, loc, req)))
        .await
        .map(created)
}

/// How a gate closes.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CloseGateRequest {
    /// The day it closed.
    pub closed_on: NaiveDate,
    /// Its outcome.
    pub outcome: Option<GateOutcome>,
}

/// Closes a gate (commissioners), audits it and re-determines the tier. Returns the change and
/// the gate's location.
pub fn record_gate_close(
    s: &AppState,
    tx: &Connection,
    caller: &Caller,
    id: Uuid,
    req: CloseGateRequest,
) -> Result<(Value, Uuid), ApiError> {
    caller.require(&[Role::Commissioner])?;
    let data: String = tx
        .query_row(
            "SELECT data FROM gates WHERE id = ?1",
            [id.to_string()],
            |r| r.get(0),
        )
        .optional()?
        .ok_or_else(|| ApiError::not_found("gate"))?;
    let mut gate: Gate = serde_json::from_str(&data)?;
    if gate.closed_on.is_some() {
        return Err(ApiError::conflict("the gate is already closed"));
    }
    if req.closed_on < gate.opened_on {
        return Err(ApiError::invalid("a gate cannot close before it opened"));
    }
    gate.closed_on = Some(req.closed_on);
    gate.outcome = req.outcome;
    let loc = gate.location_id;
    let v = save(
        s,
        tx,
        caller,
        "gates",
        "location_id",
        id,
        loc,
        &gate,
        "gate.closed",
        &[loc],
    )?;
    Ok((v, loc))
}

async fn close_gate(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    JsonBody(req): JsonBody<CloseGateRequest>,
) -> ApiResult<Json<Value>> {
    let id = parse_id(&id, "gate id")?;
    state
        .blocking(move |s| {
            s.db.write(|tx| record_gate_close(s, tx, &caller, id, req).map(|(v, _)| Json(v)))
        })
        .await
}

/// A certificate to record.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QualificationRequest {
    /// The provider holding it.
    pub provider_id: Uuid,
    /// IIP level or ISO 9001.
    pub kind: QualificationKind,
    /// The certificate's reference.
    pub certificate_ref: String,
    /// Issue day.
    pub issued_on: NaiveDate,
    /// Expiry day.
    pub expires_on: NaiveDate,
    /// Last surveillance audit or review.
    pub last_surveillance_on: Option<NaiveDate>,
    /// When the council verified it.
    pub verified_on: Option<NaiveDate>,
    /// Who verified it.
    pub verified_by: Option<String>,
    /// The provider's locations its scope covers.
    pub covered_locations: Vec<Uuid>,
}

/// Records a certificate (commissioners), audits it and re-determines the provider's locations.
pub fn record_qualification(
    s: &AppState,
    tx: &Connection,
    caller: &Caller,
    req: QualificationRequest,
) -> Result<Value, ApiError> {
    caller.require(&[Role::Commissioner])?;
    if req.expires_on < req.issued_on {
        return Err(ApiError::invalid(
            "a certificate cannot expire before it was issued",
        ));
    }
    if req.certificate_ref.trim().is_empty() || req.certificate_ref.len() > 200 {
        return Err(ApiError::invalid(
            "a certificate reference (up to 200 characters) is required",
        ));
    }
    let own = tiers::provider_locations(tx, req.provider_id)?;
    if own.is_empty() {
        return Err(ApiError::not_found("provider"));
    }
    if let Some(stray) = req.covered_locations.iter().find(|l| !own.contains(l)) {
        return Err(ApiError::invalid(format!(
            "location {stray} is not one of the provider's"
        )));
    }
    let q = Qualification {
        id: Uuid::new_v4(),
        provider_id: req.provider_id,
        kind: req.kind,
        certificate_ref: req.certificate_ref.trim().to_owned(),
        issued_on: req.issued_on,
        expires_on: req.expires_on,
        last_surveillance_on: req.last_surveillance_on,
        verified_on: req.verified_on,
        verified_by: req.verified_by,
        covered_locations: req.covered_locations,
    };
    save(
        s,
        tx,
        caller,
        "qualifications",
        "provider_id",
        q.id,
        q.provider_id,
        &q,
        "qualification.recorded",
        &own,
    )
}

async fn add_qualification(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(req): JsonBody<QualificationRequest>,
) -> ApiResult<Response> {
    state
        .blocking(move |s| s.db.write(|tx| record_qualification(s, tx, &caller, req)))
        .await
        .map(created)
}

async fn add_placement(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(mut p): JsonBody<Placement>,
) -> ApiResult<Response> {
    caller.require(&[Role::Commissioner])?;
    if p.end.is_some_and(|e| e < p.start) {
        return Err(ApiError::invalid("a placement cannot end before it starts"));
    }
    if p.base_weekly_rate_pence < 0 || p.resident_ref.trim().is_empty() {
        return Err(ApiError::invalid(
            "a placement needs a resident reference and a rate of at least 0",
        ));
    }
    if p.id.is_nil() {
        p.id = Uuid::new_v4();
    }
    state
        .blocking(move |s| {
            s.db.write(|tx| {
                require_location_exists(tx, p.location_id)?;
                let loc = p.location_id;
                save(
                    s,
                    tx,
                    &caller,
                    "placements",
                    "location_id",
                    p.id,
                    loc,
                    &p,
                    "placement.recorded",
                    &[loc],
                )
            })
        })
        .await
        .map(created)
}

async fn list_rule_sets(State(state): State<AppState>, caller: Caller) -> ApiResult<Json<Value>> {
    caller.require(&[Role::Commissioner, Role::Lead])?;
    let today = state.today();
    let rules = state.rules();
    let in_force = rules.in_force(today).map(|r| r.version.clone());
    let sets: Vec<Value> = rules
        .sets()
        .iter()
        .map(|r| json!({ "version": r.version, "effective_from": r.effective_from, "in_force": Some(&r.version) == in_force.as_ref(), "scheduled": r.effective_from > today }))
        .collect();
    Ok(Json(json!({ "on": today, "rule_sets": sets })))
}

/// Adds a rule set from its TOML source (commissioners): it must start after today, never
/// retrospectively, and fit the rule book. Audited; every location is re-determined.
pub fn record_rule_set(
    s: &AppState,
    tx: &Connection,
    caller: &Caller,
    source: &str,
) -> Result<Value, ApiError> {
    caller.require(&[Role::Commissioner])?;
    let set = RuleSet::from_toml(source).map_err(|e| ApiError::invalid(e.to_string()))?;
    let today = s.today();
    if set.effective_from <= today {
        return Err(ApiError::invalid(format!(
            "a rule set takes effect from a future date, never retrospectively: effective_from must be after {today}"
        )));
    }
    let mut sets: Vec<RuleSet> = s.rules().sets().to_vec();
    sets.push(set.clone());
    accredit_shared::RuleBook::new(sets).map_err(|e| ApiError::conflict(e.to_string()))?;
    tx.execute(
        "INSERT INTO rule_sets (version, effective_from, source, created_by, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![set.version, set.effective_from.to_string(), source, caller.user_id.to_string(), now_text()],
    )?;
    audit::record(
        tx,
        Some(caller),
        Entry {
            action: "rule_set.added",
            subject_type: "rule_set",
            subject_id: Some(set.version.clone()),
            location_id: None,
            details: json!({ "effective_from": set.effective_from }),
        },
    )?;
    s.reload_rules(tx)?;
    let all = tiers::all_locations(tx)?;
    tiers::redetermine(s, tx, &all, "rule_set.added")?;
    Ok(json!({ "version": set.version, "effective_from": set.effective_from }))
}

async fn add_rule_set(
    State(state): State<AppState>,
    caller: Caller,
    body: String,
) -> ApiResult<Response> {
    state
        .blocking(move |s| s.db.write(|tx| record_rule_set(s, tx, &caller, &body)))
        .await
        .map(created)
}
