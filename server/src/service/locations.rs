//! The locations read model: each location the caller may see with its tier, premium, early
//! warning and visit dates, computed once here for the API's list and the portal's pages.

use std::collections::HashMap;

use accredit_shared::Engine;
use accredit_shared::api::LocationSummary;
use accredit_shared::determination::PremiumStatus;
use accredit_shared::warning::{EarlyWarning, early_warning};
use chrono::NaiveDate;
use rusqlite::Connection;
use uuid::Uuid;

use crate::access;
use crate::auth::Caller;
use crate::db::stored_id;
use crate::error::ServiceError;
use crate::state::AppState;
use crate::tiers;

/// One row of the locations list.
#[derive(Clone, Debug, PartialEq)]
pub struct LocationRow {
    /// The location.
    pub id: Uuid,
    /// Its name.
    pub name: String,
    /// Its provider.
    pub provider_id: Uuid,
    /// Its provider's name.
    pub provider: String,
    /// CQC's location id.
    pub cqc_location_id: String,
    /// Kind of service.
    pub service_type: accredit_shared::records::ServiceType,
    /// Postal address.
    pub address: String,
    /// Tier held today.
    pub tier: Option<String>,
    /// Its rank (0 for none), for sorting.
    pub rank: u8,
    /// Weekly premium per placement, in pence.
    pub weekly_pence: i64,
    /// Where the premium stands.
    pub status: PremiumStatus,
    /// Early warning.
    pub warning: EarlyWarning,
    /// Last published visit.
    pub last_visit: Option<NaiveDate>,
    /// When the next visit is due.
    pub next_due: Option<NaiveDate>,
    /// The first day of the current tier and premium.
    pub in_effect_since: NaiveDate,
}

/// Provider names by id.
pub fn provider_names(tx: &Connection) -> Result<HashMap<Uuid, String>, ServiceError> {
    let mut stmt = tx.prepare_cached("SELECT id, name FROM providers")?;
    let rows = stmt
        .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?
        .collect::<Result<Vec<_>, _>>()?;
    rows.into_iter()
        .map(|(id, name)| Ok((stored_id(&id)?, name)))
        .collect()
}

/// Every location the caller may see, as list rows.
pub fn location_rows(
    s: &AppState,
    tx: &Connection,
    caller: &Caller,
) -> Result<Vec<LocationRow>, ServiceError> {
    let day = s.today();
    let rules = s.rules();
    let engine = Engine::new(&s.packs, &rules);
    let names = provider_names(tx)?;
    let mut out = Vec::new();
    for id in access::visible_locations(tx, caller)? {
        let records = tiers::records(tx, id)?
            .ok_or_else(|| ServiceError::internal("a listed location vanished"))?;
        let (_, address) = tiers::location(tx, id)?
            .ok_or_else(|| ServiceError::internal("a listed location vanished"))?;
        let det = engine.determine(&records, day);
        let warning = early_warning(&engine, &records, day);
        let last_visit = records.visits.iter().map(|v| v.visited_on).max();
        out.push(LocationRow {
            id,
            provider_id: records.location.provider_id,
            cqc_location_id: records.location.cqc_location_id.clone(),
            service_type: records.location.service_type,
            address,
            name: records.location.name.clone(),
            provider: names
                .get(&records.location.provider_id)
                .cloned()
                .ok_or_else(|| ServiceError::internal("a location's provider is missing"))?,
            rank: det.rank(),
            tier: det.tier.as_ref().map(|t| t.name.clone()),
            weekly_pence: det.rate.weekly.0,
            status: det.status,
            warning,
            last_visit,
            next_due: accredit_shared::planning::next_due(&engine, &records, day),
            in_effect_since: engine.in_effect_since(&records, day),
        });
    }
    Ok(out)
}

impl LocationRow {
    /// The row as the API sends it.
    pub fn summary(&self) -> LocationSummary {
        LocationSummary {
            id: self.id,
            name: self.name.clone(),
            provider_id: self.provider_id,
            cqc_location_id: self.cqc_location_id.clone(),
            service_type: tiers::service_text(self.service_type),
            address: self.address.clone(),
            tier: self.tier.clone(),
            weekly_premium_pence: self.weekly_pence,
            status: tiers::status_text(self.status),
            traffic_light: self.warning.light,
            traffic_light_reasons: self.warning.reasons.clone(),
            in_effect_since: Some(self.in_effect_since),
            last_visit_on: self.last_visit,
            next_visit_due_on: self.next_due,
            planned_visits: Vec::new(),
        }
    }
}

/// A location's tier before and after a change (`None`: no tier).
pub type TierChange = (Option<String>, Option<String>);

/// The tiers before and after the latest stored determination of a location, from the
/// server's own record, so a page can say how the last change moved the tier. `None` before
/// there are two.
pub fn last_tier_change(
    tx: &Connection,
    location: Uuid,
) -> Result<Option<TierChange>, ServiceError> {
    let mut stmt = tx.prepare_cached(
        "SELECT tier FROM determinations WHERE location_id = ?1 ORDER BY seq DESC LIMIT 2",
    )?;
    let tiers: Vec<Option<String>> = stmt
        .query_map([location.to_string()], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    Ok(match tiers.as_slice() {
        [after, before] => Some((before.clone(), after.clone())),
        _ => None,
    })
}

/// A location's stored determinations, newest first (at most 200), for those who may see it.
pub fn determinations(
    tx: &Connection,
    caller: &Caller,
    id: Uuid,
) -> Result<Vec<serde_json::Value>, ServiceError> {
    access::require_location(tx, caller, id)?;
    let mut stmt = tx.prepare(
        "SELECT seq, day, trigger, tier, weekly_pence, status, computed_at, explanation FROM determinations WHERE location_id = ?1 ORDER BY seq DESC LIMIT 200",
    )?;
    let rows = stmt
        .query_map([id.to_string()], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, Option<String>>(3)?,
                r.get::<_, i64>(4)?,
                r.get::<_, String>(5)?,
                r.get::<_, String>(6)?,
                r.get::<_, String>(7)?,
            ))
        })?
        .collect::<Result<Vec<_>, _>>()?;
    rows.into_iter()
        .map(
            |(seq, day, trigger, tier, weekly, status, computed_at, explanation)| {
                // A stored explanation that does not read is a fault, reported rather than nulled.
                let explanation: serde_json::Value = serde_json::from_str(&explanation)?;
                Ok(serde_json::json!({
                    "seq": seq,
                    "day": day,
                    "trigger": trigger,
                    "tier": tier,
                    "weekly_pence": weekly,
                    "status": status,
                    "computed_at": computed_at,
                    "explanation": explanation,
                }))
            },
        )
        .collect()
}
