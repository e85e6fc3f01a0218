//! Building a location's records from the database and determining its tier with the shared
//! engine; storing each determination with its explanation whenever something it depends on
//! changes.

use accredit_shared::records::{
    Action, CqcRating, Gate, Location, LocationRecords, Placement, Qualification, ServiceType,
};
use accredit_shared::visit::{ActionStatus, VisitSnapshot};
use accredit_shared::{Determination, Engine, PremiumStatus, RuleBook};
use chrono::NaiveDate;
use rusqlite::{Connection, OptionalExtension, params};
use serde::de::DeserializeOwned;
use uuid::Uuid;

use crate::db::{stored_date, stored_id};
use crate::error::ServiceError;
use crate::state::{AppState, now_text};

fn opt_date(s: Option<String>) -> Result<Option<NaiveDate>, ServiceError> {
    s.as_deref().map(stored_date).transpose()
}

/// Reads a location row.
pub fn location(tx: &Connection, id: Uuid) -> Result<Option<(Location, String)>, ServiceError> {
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
        provider_id: stored_id(&r.get::<_, String>(0)?)?,
        cqc_location_id: r.get(1)?,
        name: r.get(2)?,
        service_type: serde_json::from_value::<ServiceType>(serde_json::Value::String(service))?,
        registered_from: stored_date(&r.get::<_, String>(4)?)?,
        registered_to: opt_date(r.get(5)?)?,
    };
    Ok(Some((location, r.get(6)?)))
}

fn json_rows<T: DeserializeOwned>(
    tx: &Connection,
    sql: &str,
    key: Uuid,
) -> Result<Vec<T>, ServiceError> {
    let mut stmt = tx.prepare_cached(sql)?;
    let texts: Vec<String> = stmt
        .query_map([key.to_string()], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    texts.iter().map(|t| Ok(serde_json::from_str(t)?)).collect()
}

/// Everything the engine needs about one location.
pub fn records(tx: &Connection, id: Uuid) -> Result<Option<LocationRecords>, ServiceError> {
    let Some((location, _)) = location(tx, id)? else {
        return Ok(None);
    };
    let mut stmt = tx.prepare_cached(
        // Visits removed under the retention schedule keep the scores their determinations rest
        // on (`retention_results`), so removing evidence never changes a tier.
        "SELECT visit_id, revision, published_on, record FROM (
           SELECT r.visit_id, r.revision, r.published_on, r.record FROM visit_revisions r JOIN visits v ON v.id = r.visit_id
           WHERE v.location_id = ?1 AND r.published_on IS NOT NULL
           UNION ALL
           SELECT k.visit_id, k.revision, k.published_on, k.record FROM retention_results k
           JOIN retention_tombstones t ON t.visit_id = k.visit_id WHERE t.location_id = ?1)
         ORDER BY published_on, revision",
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
        let published_on = stored_date(&published_on)?;
        visits.push(record.to_published(revision, published_on));
        let visit_id = stored_id(&visit_id)?;
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
pub fn placements(tx: &Connection, location: Uuid) -> Result<Vec<Placement>, ServiceError> {
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
) -> Result<Option<Determination>, ServiceError> {
    let Some(records) = records(tx, id)? else {
        return Ok(None);
    };
    let rules = state.rules();
    let engine = Engine::new(&state.packs, &rules);
    Ok(Some(engine.determine(&records, day)))
}

/// The stored name of a service type.
pub fn service_text(service: ServiceType) -> String {
    match service {
        ServiceType::Residential => "residential",
        ServiceType::Nursing => "nursing",
        ServiceType::HomeCare => "home_care",
    }
    .to_owned()
}

/// The stored name of a premium status.
pub fn status_text(status: PremiumStatus) -> String {
    match serde_json::to_value(status) {
        Ok(serde_json::Value::String(s)) => s,
        // Every status serialises as its name; anything else is a bug worth seeing.
        other => format!("{other:?}"),
    }
}

/// Re-determines the locations' tiers today under `book` and stores each determination, saying
/// what caused it. The book is passed in so a change to the rules is used before it is installed.
pub fn redetermine(
    state: &AppState,
    book: &RuleBook,
    tx: &Connection,
    ids: &[Uuid],
    trigger: &str,
) -> Result<Vec<Determination>, ServiceError> {
    let day = state.today();
    let engine = Engine::new(&state.packs, book);
    // The market view's figures for these locations are recomputed once this commits.
    crate::market_figures::mark_dirty(tx, ids)?;
    let mut out = Vec::new();
    for id in ids {
        let Some(records) = records(tx, *id)? else {
            continue;
        };
        let det = engine.determine(&records, day);
        // The provider hears of a change of tier, never of a first determination.
        let before: Option<Option<String>> = tx
            .prepare_cached(
                "SELECT tier FROM determinations WHERE location_id = ?1 ORDER BY seq DESC LIMIT 1",
            )?
            .query_row([id.to_string()], |r| r.get(0))
            .optional()?;
        let after = det.tier.as_ref().map(|t| t.name.clone());
        if let Some(before) = before
            && before != after
        {
            crate::service::notices::tier_changed(tx, *id, before.as_deref(), after.as_deref())?;
        }
        tx.execute(
            "INSERT INTO determinations (location_id, day, trigger, tier, weekly_pence, status, explanation, computed_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![
                id.to_string(),
                day.to_string(),
                trigger,
                det.tier.as_ref().map(|t| t.name.clone()),
                det.rate.weekly.0,
                status_text(det.status),
                serde_json::to_string(&det)?,
                now_text()
            ],
        )?;
        out.push(det);
    }
    Ok(out)
}

/// The locations of a provider (a qualification change affects all of them).
pub fn provider_locations(tx: &Connection, provider: Uuid) -> Result<Vec<Uuid>, ServiceError> {
    crate::db::query_ids(
        tx,
        "SELECT id FROM locations WHERE provider_id = ?1",
        [provider.to_string()],
    )
}

/// Every location id.
pub fn all_locations(tx: &Connection) -> Result<Vec<Uuid>, ServiceError> {
    crate::db::query_ids(tx, "SELECT id FROM locations ORDER BY name", [])
}
