//! Building a location's records from the database and determining its tier with the shared
//! engine; storing each determination with its explanation whenever something it depends on
//! changes.

use accredit_shared::records::{
    Action, CqcRating, Gate, Location, LocationRecords, Placement, Qualification, ServiceType,
};
use accredit_shared::visit::{ActionStatus, VisitSnapshot};
use accredit_shared::{Determination, Engine};
use chrono::NaiveDate;
use rusqlite::{Connection, params};
use serde::de::DeserializeOwned;
use uuid::Uuid;

use crate::error::ApiError;
use crate::state::{AppState, now_text};

fn uuid_col(s: String) -> Uuid {
    Uuid::parse_str(&s).unwrap_or_default()
}

fn date_col(s: Option<String>) -> Option<NaiveDate> {
    s.and_then(|d| d.parse().ok())
}

/// Reads a location row.
pub fn location(tx: &Connection, id: Uuid) -> Result<Option<(Location, String)>, ApiError> {
    let mut stmt = tx.prepare_cached(
        "SELECT provider_id, cqc_location_id, name, service_type, registered_from, registered_to, address FROM locations WHERE id = ?1",
    )?;
    let mut rows = stmt.query([id.to_string()])?;
    let Some(r) = rows.next()? else {
        return Ok(None);
    };
    let service: String = r.get(3)?;
    let location = Location {
        id,
        provider_id: uuid_col(r.get(0)?),
        cqc_location_id: r.get(1)?,
        name: r.get(2)?,
        service_type: serde_json::from_value::<ServiceType>(serde_json::Value::String(service))?,
        registered_from: date_col(Some(r.get(4)?))
            .ok_or_else(|| ApiError::internal("bad registered_from"))?,
        registered_to: date_col(r.get(5)?),
    };
    Ok(Some((location, r.get(6)?)))
}

fn json_rows<T: DeserializeOwned>(
    tx: &Connection,
    sql: &str,
    key: Uuid,
) -> Result<Vec<T>, ApiError> {
    let mut stmt = tx.prepare_cached(sql)?;
    let texts: Vec<String> = stmt
        .query_map([key.to_string()], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    texts.iter().map(|t| Ok(serde_json::from_str(t)?)).collect()
}

/// Everything the engine needs about one location.
pub fn records(tx: &Connection, id: Uuid) -> Result<Option<LocationRecords>, ApiError> {
    let Some((location, _)) = location(tx, id)? else {
        return Ok(None);
    };
    let mut stmt = tx.prepare_cached(
        "SELECT r.visit_id, r.revision, r.published_on, r.record FROM visit_revisions r JOIN visits v ON v.id = r.visit_id
         WHERE v.location_id = ?1 AND r.published_on IS NOT NULL ORDER BY r.published_on, r.revision",
    )?;
    let published: Vec<(String, u32, String, String)> = stmt
        .query_map([id.to_string()], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
        })?
        .collect::<Result<_, _>>()?;
    let mut visits = Vec::new();
    let mut actions = Vec::new();
    for (visit_id, revision, published_on, record) in published {
        let record: VisitSnapshot = serde_json::from_str(&record)?;
        let published_on =
            date_col(Some(published_on)).ok_or_else(|| ApiError::internal("bad published_on"))?;
        visits.push(record.to_published(revision, published_on));
        let visit_id = uuid_col(visit_id);
        // Actions of the latest published revision of each visit replace those of earlier ones.
        actions.retain(|a: &Action| a.visit_id != visit_id);
        for (action_id, a) in &record.actions {
            let (Some(due_on), true) = (a.due_on, a.status != ActionStatus::Withdrawn) else {
                continue;
            };
            actions.push(Action {
                id: *action_id,
                location_id: id,
                visit_id,
                priority: a.priority,
                due_on,
                completed_on: if a.status == ActionStatus::Completed {
                    a.completed_on.or(Some(due_on))
                } else {
                    None
                },
            });
        }
    }
    let cqc_ratings: Vec<CqcRating> = json_rows(
        tx,
        "SELECT data FROM cqc_ratings WHERE location_id = ?1",
        id,
    )?;
    let gates: Vec<Gate> = json_rows(tx, "SELECT data FROM gates WHERE location_id = ?1", id)?;
    let qualifications: Vec<Qualification> = json_rows(
        tx,
        "SELECT data FROM qualifications WHERE provider_id = ?1",
        location.provider_id,
    )?;
    Ok(Some(LocationRecords {
        location,
        visits,
        cqc_ratings,
        qualifications,
        gates,
        actions,
    }))
}

/// Placements at a location.
pub fn placements(tx: &Connection, location: Uuid) -> Result<Vec<Placement>, ApiError> {
    json_rows(
        tx,
        "SELECT data FROM placements WHERE location_id = ?1",
        location,
    )
}

/// Determines a location's tier on `day`.
pub fn determine(
    state: &AppState,
    tx: &Connection,
    id: Uuid,
    day: NaiveDate,
) -> Result<Option<Determination>, ApiError> {
    let Some(records) = records(tx, id)? else {
        return Ok(None);
    };
    let rules = state.rules();
    let engine = Engine::new(&state.packs, &rules);
    Ok(Some(engine.determine(&records, day)))
}

/// Re-determines the locations' tiers today and stores each determination, saying what caused it.
pub fn redetermine(
    state: &AppState,
    tx: &Connection,
    ids: &[Uuid],
    trigger: &str,
) -> Result<Vec<Determination>, ApiError> {
    let day = state.today();
    let mut out = Vec::new();
    for id in ids {
        let Some(det) = determine(state, tx, *id, day)? else {
            continue;
        };
        tx.execute(
            "INSERT INTO determinations (location_id, day, trigger, tier, weekly_pence, status, explanation, computed_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![
                id.to_string(),
                day.to_string(),
                trigger,
                det.tier.as_ref().map(|t| t.name.clone()),
                det.rate.weekly.0,
                serde_json::to_value(det.status)?.as_str().unwrap_or_default().to_owned(),
                serde_json::to_string(&det)?,
                now_text()
            ],
        )?;
        out.push(det);
    }
    Ok(out)
}

/// The locations of a provider (a qualification change affects all of them).
pub fn provider_locations(tx: &Connection, provider: Uuid) -> Result<Vec<Uuid>, ApiError> {
    crate::db::query_ids(
        tx,
        "SELECT id FROM locations WHERE provider_id = ?1",
        [provider.to_string()],
    )
}

/// Every location id.
pub fn all_locations(tx: &Connection) -> Result<Vec<Uuid>, ApiError> {
    crate::db::query_ids(tx, "SELECT id FROM locations ORDER BY name", [])
}
