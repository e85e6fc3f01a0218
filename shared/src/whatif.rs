//! What-if: a draft rule set applied to today's records, compared with the rules in force, so a
//! commissioner sees per tier and in total how the weekly and annual premium cost would change,
//! and which locations would move, before anyone adopts it.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use uuid::Uuid;

use crate::determination::{Determination, Engine};
use crate::records::{LocationRecords, Placement};
use crate::scheme::RuleSet;

/// One location under both rule sets.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LocationChange {
    /// The location.
    pub location_id: Uuid,
    /// Its name.
    pub name: String,
    /// Tier under the rules in force (`None`: no tier).
    pub tier_before: Option<String>,
    /// Tier under the draft.
    pub tier_after: Option<String>,
    /// Weekly premium per placement now, in pence (0 when not paid).
    pub weekly_before: i64,
    /// Weekly premium per placement under the draft.
    pub weekly_after: i64,
    /// Eligible placements today.
    pub placements: u32,
}

impl LocationChange {
    /// Whether the location changes tier.
    pub fn moves(&self) -> bool {
        self.tier_before != self.tier_after
    }
    /// Weekly cost now: premium × eligible placements, in pence.
    pub fn cost_before(&self) -> i64 {
        self.weekly_before * i64::from(self.placements)
    }
    /// Weekly cost under the draft.
    pub fn cost_after(&self) -> i64 {
        self.weekly_after * i64::from(self.placements)
    }
}

/// One tier's totals under both rule sets.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TierTotals {
    /// Locations holding it now.
    pub locations_before: u32,
    /// Locations holding it under the draft.
    pub locations_after: u32,
    /// Weekly cost of its locations now, in pence.
    pub weekly_before: i64,
    /// Weekly cost of its locations under the draft.
    pub weekly_after: i64,
}

/// The comparison.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WhatIf {
    /// The day compared.
    pub on: NaiveDate,
    /// Every location.
    pub locations: Vec<LocationChange>,
    /// Totals by tier name (`"No tier"` for none), best tier first as the draft lists them.
    pub tiers: Vec<(String, TierTotals)>,
    /// Weekly cost now, in pence.
    pub weekly_before: i64,
    /// Weekly cost under the draft.
    pub weekly_after: i64,
}

impl WhatIf {
    /// Annual cost now: the weekly cost over 365 days, rounded half up to the penny.
    pub fn annual_before(&self) -> i64 {
        annual(self.weekly_before)
    }
    /// Annual cost under the draft.
    pub fn annual_after(&self) -> i64 {
        annual(self.weekly_after)
    }
}

fn annual(weekly: i64) -> i64 {
    crate::ratio::round_half_up_div(i128::from(weekly) * 365, 7) as i64
}

fn paid_weekly(det: &Determination) -> i64 {
    if det.status.is_paid() {
        det.rate.weekly.0
    } else {
        0
    }
}

/// Applies `draft` to each location's records on `day` and compares it with `current` (an
/// engine with the rule book in force). `placements` are all placements; those eligible under
/// each rule set and active on the day are counted.
pub fn compare(
    current: &Engine<'_>,
    draft: &Engine<'_>,
    draft_rules: &RuleSet,
    records: &[LocationRecords],
    placements: &[Placement],
    day: NaiveDate,
) -> WhatIf {
    let mut locations = Vec::new();
    for r in records {
        let before = current.determine(r, day);
        let after = draft.determine(r, day);
        let eligible = current
            .rules
            .in_force(day)
            .map(|x| x.payments.eligible_funding.clone())
            .unwrap_or_default();
        let placements = placements
            .iter()
            .filter(|p| {
                p.location_id == r.location.id
                    && p.start <= day
                    && p.end.is_none_or(|e| day <= e)
                    && p.died_on.is_none_or(|d| day < d)
                    && (eligible.contains(&p.funding)
                        || draft_rules.payments.eligible_funding.contains(&p.funding))
            })
            .count() as u32;
        locations.push(LocationChange {
            location_id: r.location.id,
            name: r.location.name.clone(),
            tier_before: before.tier.as_ref().map(|t| t.name.clone()),
            tier_after: after.tier.as_ref().map(|t| t.name.clone()),
            weekly_before: paid_weekly(&before),
            weekly_after: paid_weekly(&after),
            placements,
        });
    }
    locations.sort_by(|a, b| a.name.cmp(&b.name));
    let mut names: Vec<String> = draft_rules.tiers.iter().map(|t| t.name.clone()).collect();
    for l in &locations {
        for t in [&l.tier_before, &l.tier_after].into_iter().flatten() {
            if !names.contains(t) {
                names.push(t.clone());
            }
        }
    }
    names.push("No tier".to_owned());
    let mut totals: BTreeMap<String, TierTotals> = BTreeMap::new();
    let key = |t: &Option<String>| t.clone().unwrap_or_else(|| "No tier".to_owned());
    for l in &locations {
        let b = totals.entry(key(&l.tier_before)).or_default();
        b.locations_before += 1;
        b.weekly_before += l.cost_before();
        let a = totals.entry(key(&l.tier_after)).or_default();
        a.locations_after += 1;
        a.weekly_after += l.cost_after();
    }
    WhatIf {
        on: day,
        weekly_before: locations.iter().map(LocationChange::cost_before).sum(),
        weekly_after: locations.iter().map(LocationChange::cost_after).sum(),
        tiers: names
            .into_iter()
            .map(|n| {
                let t = totals.remove(&n).unwrap_or_default();
                (n, t)
            })
            .collect(),
        locations,
    }
}
