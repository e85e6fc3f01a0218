//! Early warning: a traffic light per location, with the reasons for its colour.

use crate::calendar::{add_days, add_months};
use crate::determination::{Engine, cqc_in_force, gate_open_on};
use crate::labels::{count, long_date};
use crate::records::{CqcRatingValue, LocationRecords};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The colour, ordered so that sorting puts red first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Light {
    /// A gate open, CQC "Inadequate", or a critical criterion failed.
    Red,
    /// Tier dropped, an overdue action, a visit overdue, no tier, or CQC "Requires improvement".
    Amber,
    /// Tier held, no open gates, no overdue actions.
    Green,
}

/// A location's early-warning status.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EarlyWarning {
    /// The location.
    pub location_id: Uuid,
    /// Its name (for sorting and display).
    pub location_name: String,
    /// The day assessed.
    pub on: NaiveDate,
    /// The colour.
    pub light: Light,
    /// Why, most serious first; empty for green.
    pub reasons: Vec<String>,
}

/// Assesses a location on a day.
pub fn early_warning(
    engine: &Engine<'_>,
    records: &LocationRecords,
    day: NaiveDate,
) -> EarlyWarning {
    let loc = &records.location;
    let det = engine.determine(records, day);
    let mut red = Vec::new();
    let mut amber = Vec::new();

    for g in records
        .gates
        .iter()
        .filter(|g| g.location_id == loc.id && gate_open_on(g, day))
    {
        red.push(format!(
            "{} open since {}",
            g.kind.label(),
            long_date(g.opened_on)
        ));
    }
    if let Some(r) = cqc_in_force(&records.cqc_ratings, loc.id, day) {
        match r.worst() {
            CqcRatingValue::Inadequate => red.push(format!(
                "CQC rated Inadequate (published {})",
                long_date(r.published_on)
            )),
            CqcRatingValue::RequiresImprovement => amber.push(format!(
                "CQC rated Requires improvement (published {})",
                long_date(r.published_on)
            )),
            _ => {}
        }
    }
    if let Some(s) = &det.scores
        && !s.critical_failures.is_empty()
    {
        let ids: Vec<&str> = s
            .critical_failures
            .iter()
            .map(|c| c.criterion_id.as_str())
            .collect();
        red.push(format!("critical criteria failed: {}", ids.join(", ")));
    }

    match &det.tier {
        None => amber.push("no tier held".to_owned()),
        Some(t) => {
            if let Some(rules) = engine.rules.in_force(day) {
                let back = add_days(day, -(rules.early_warning.tier_drop_lookback_days as i64));
                let before = engine.determine(records, back);
                if before.rank() > t.rank {
                    // The day it dropped, not the start of the look-back window.
                    let dropped_on = engine.tier_since(records, day);
                    let was = engine.determine(records, add_days(dropped_on, -1));
                    let name = was.tier.or(before.tier).map(|t| t.name).unwrap_or_default();
                    amber.push(format!(
                        "tier dropped from {name} to {} on {}",
                        t.name,
                        long_date(dropped_on)
                    ));
                }
            }
        }
    }
    let overdue = records
        .actions
        .iter()
        .filter(|a| a.location_id == loc.id && a.is_overdue_on(day))
        .count();
    if overdue > 0 {
        amber.push(count(overdue, "overdue action", "overdue actions"));
    }
    if let Some(rules) = engine.rules.in_force(day) {
        let last_visit = records
            .visits
            .iter()
            .filter(|v| v.location_id == loc.id && v.effective_on <= day)
            .map(|v| v.visited_on)
            .max();
        match last_visit {
            Some(v) => {
                let due = add_months(v, rules.limiters.annual_visit_interval_months);
                if day > due {
                    amber.push(format!("visit overdue: due by {}", long_date(due)));
                }
            }
            None => amber.push("never visited".to_owned()),
        }
    }

    let light = if !red.is_empty() {
        Light::Red
    } else if !amber.is_empty() {
        Light::Amber
    } else {
        Light::Green
    };
    red.extend(amber);
    EarlyWarning {
        location_id: loc.id,
        location_name: loc.name.clone(),
        on: day,
        light,
        reasons: red,
    }
}

/// Sorts a list for commissioners: red first, then amber, then green; by name within a colour.
pub fn sort_red_first(list: &mut [EarlyWarning]) {
    list.sort_by(|a, b| {
        (a.light, &a.location_name, a.location_id).cmp(&(b.light, &b.location_name, b.location_id))
    });
}
