//! When a location needs a visit, from the scheme's rules (`[limiters]` and `[planning]`): the
//! annual visit within the interval of the last one; a follow-up some months after a poor
//! outcome (PAMMS practice); a follow-up when an action of a named priority becomes overdue;
//! a concern-led visit when a gate opens. A visit made after the event that called for it
//! answers it. Pure: the server lists what is due, the portal plans it.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::calendar::{add_days, add_months};
use crate::determination::Engine;
use crate::labels::long_date;
use crate::ratio::Ratio;
use crate::records::{GateKind, LocationRecords, VisitType};

/// Why a visit is due.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum DueReason {
    /// The location has never had a published visit.
    NeverVisited,
    /// The annual visit: the interval since the last visit runs out.
    Annual {
        /// The last visit.
        #[serde(with = "crate::calendar::strict_date")]
        last_visit: NaiveDate,
    },
    /// A visit's outcome was poor: no tier, or a low overall score.
    PoorOutcome {
        /// That visit.
        #[serde(with = "crate::calendar::strict_date")]
        visited_on: NaiveDate,
    },
    /// An action of a named priority is overdue.
    OverdueAction {
        /// Its due date.
        #[serde(with = "crate::calendar::strict_date")]
        due_on: NaiveDate,
    },
    /// A gate (safeguarding enquiry, embargo…) opened.
    GateOpened {
        /// Which kind.
        gate: GateKind,
        /// When.
        #[serde(with = "crate::calendar::strict_date")]
        opened_on: NaiveDate,
    },
}

impl DueReason {
    /// The kind of visit this reason calls for.
    pub fn visit_type(&self) -> VisitType {
        match self {
            DueReason::NeverVisited | DueReason::Annual { .. } => VisitType::Annual,
            DueReason::PoorOutcome { .. } | DueReason::OverdueAction { .. } => VisitType::FollowUp,
            DueReason::GateOpened { .. } => VisitType::ConcernLed,
        }
    }

    /// The reason in words for people.
    pub fn text(&self) -> String {
        match self {
            DueReason::NeverVisited => "never visited".to_owned(),
            DueReason::Annual { last_visit } => {
                format!("annual visit: last visited {}", long_date(*last_visit))
            }
            DueReason::PoorOutcome { visited_on } => format!(
                "follow-up after a poor outcome on {}",
                long_date(*visited_on)
            ),
            DueReason::OverdueAction { due_on } => format!(
                "follow-up: a high-priority action was due {}",
                long_date(*due_on)
            ),
            DueReason::GateOpened { gate, opened_on } => format!(
                "concern: {} opened {}",
                gate.label().to_lowercase(),
                long_date(*opened_on)
            ),
        }
    }
}

/// A visit a location needs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DueVisit {
    /// The location.
    pub location_id: Uuid,
    /// Why.
    pub reason: DueReason,
    /// The kind of visit.
    pub visit_type: VisitType,
    /// The day by which it should happen.
    #[serde(with = "crate::calendar::strict_date")]
    pub due_on: NaiveDate,
    /// The event that called for it: a visit made on or after this day answers it.
    #[serde(with = "crate::calendar::strict_date")]
    pub since: NaiveDate,
}

/// The visits a location needs as of `day`, earliest due first, under the rules in force. At
/// most one per reason. Any visit answers every reason at once, so with another reason the
/// annual visit is not listed separately.
pub fn due_visits(engine: &Engine<'_>, records: &LocationRecords, day: NaiveDate) -> Vec<DueVisit> {
    let Some(rules) = engine.rules.in_force(day) else {
        return Vec::new();
    };
    let loc = &records.location;
    if loc.registered_to.is_some_and(|t| t < day) {
        return Vec::new();
    }
    let published: Vec<_> = records
        .visits
        .iter()
        .filter(|v| v.location_id == loc.id && v.effective_on <= day)
        .collect();
    let last_visit = published.iter().map(|v| v.visited_on).max();
    let visited_since = |since: NaiveDate| last_visit.is_some_and(|v| v >= since);
    let mut out = Vec::new();
    let mut push = |reason: DueReason, due_on: NaiveDate, since: NaiveDate| {
        out.push(DueVisit {
            location_id: loc.id,
            visit_type: reason.visit_type(),
            reason,
            due_on,
            since,
        });
    };
    match last_visit {
        None => push(
            DueReason::NeverVisited,
            loc.registered_from.max(day),
            loc.registered_from,
        ),
        Some(last) => push(
            DueReason::Annual { last_visit: last },
            add_months(last, rules.limiters.annual_visit_interval_months),
            add_days(last, 1),
        ),
    }
    // The latest visit's outcome, as its publication left the tier.
    if let Some(latest) = published
        .iter()
        .max_by_key(|v| (v.visited_on, v.effective_on))
    {
        let det = engine.determine(records, latest.effective_on.max(latest.visited_on));
        let low = det
            .scores
            .as_ref()
            .and_then(|s| s.overall)
            .is_some_and(|o| o < Ratio::integer(i128::from(rules.planning.poor_below_percent)));
        if det.tier.is_none() || low {
            push(
                DueReason::PoorOutcome {
                    visited_on: latest.visited_on,
                },
                add_months(
                    latest.visited_on,
                    rules.planning.follow_up_after_poor_months,
                ),
                add_days(latest.visited_on, 1),
            );
        }
    }
    if let Some(a) = records
        .actions
        .iter()
        .filter(|a| {
            a.location_id == loc.id
                && a.is_overdue_on(day)
                && rules
                    .planning
                    .follow_up_action_priorities
                    .contains(&a.priority)
        })
        .min_by_key(|a| a.due_on)
    {
        let overdue_from = add_days(a.due_on, 1);
        if !visited_since(overdue_from) {
            push(
                DueReason::OverdueAction { due_on: a.due_on },
                add_days(
                    overdue_from,
                    i64::from(rules.planning.overdue_action_follow_up_days),
                ),
                overdue_from,
            );
        }
    }
    if let Some(g) = records
        .gates
        .iter()
        .filter(|g| g.location_id == loc.id && crate::determination::gate_open_on(g, day))
        .min_by_key(|g| g.opened_on)
        && !visited_since(g.opened_on)
    {
        push(
            DueReason::GateOpened {
                gate: g.kind,
                opened_on: g.opened_on,
            },
            add_days(g.opened_on, i64::from(rules.planning.concern_visit_days)),
            g.opened_on,
        );
    }
    out.sort_by_key(|d| d.due_on);
    // One visit answers every reason at once: an annual visit due after a more pressing one
    // is not listed separately.
    if out.len() > 1 {
        out.retain(|d| !matches!(d.reason, DueReason::Annual { .. }));
    }
    out
}

/// The earliest due visit, if any: the day a location's next visit should happen by.
pub fn next_due(
    engine: &Engine<'_>,
    records: &LocationRecords,
    day: NaiveDate,
) -> Option<NaiveDate> {
    due_visits(engine, records, day).first().map(|d| d.due_on)
}
