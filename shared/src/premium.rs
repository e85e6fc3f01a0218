//! The payment schedule: one line per eligible placement for a billing period, with its
//! components, pro-rated by day across tier changes, rounded once per line.

use crate::calendar::{DateRange, add_days};
use crate::determination::{Determination, Engine, PremiumStatus, ScoreCache, change_points};
use crate::money::{Pence, Sevenths};
use crate::records::{FundingType, LocationRecords, Placement};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use uuid::Uuid;

/// Errors from the payment engine.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PaymentError {
    /// An issued line belongs to another period than the one recomputed.
    #[error(
        "issued line for placement {placement_id} covers {issued:?}, not the period recomputed"
    )]
    PeriodMismatch {
        /// The placement.
        placement_id: Uuid,
        /// Its period.
        issued: DateRange,
    },
    /// The location of a contract is not among the records.
    #[error("no records for location {0}")]
    UnknownLocation(Uuid),
}

/// Identifies a determination within a schedule: the location and the first day it covers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct DeterminationKey {
    /// The location.
    pub location_id: Uuid,
    /// The first day the determination covers.
    pub from: NaiveDate,
}

/// A determination and the days it covers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CoveredDetermination {
    /// The days it covers.
    pub covers: DateRange,
    /// The determination (made on the first of those days).
    pub determination: Determination,
}

impl CoveredDetermination {
    /// Its key.
    pub fn key(&self) -> DeterminationKey {
        DeterminationKey {
            location_id: self.determination.location_id,
            from: self.covers.from,
        }
    }
}

/// Splits a period into runs of days over which a location's determination is constant, and
/// determines each run once.
pub fn determinations_over(
    engine: &Engine<'_>,
    records: &LocationRecords,
    period: DateRange,
) -> Vec<CoveredDetermination> {
    let pts = change_points(records, engine.rules, period.from, period.to);
    let mut cache = ScoreCache::new();
    let mut out: Vec<CoveredDetermination> = Vec::with_capacity(pts.len());
    for (i, &from) in pts.iter().enumerate() {
        let to = pts.get(i + 1).map_or(period.to, |&n| add_days(n, -1));
        let determination = engine.determine_cached(records, from, &mut cache);
        // Merge runs whose outcome is the same, so lines show real changes only.
        if let Some(prev) = out.last_mut()
            && same_outcome(&prev.determination, &determination)
        {
            prev.covers.to = to;
            continue;
        }
        out.push(CoveredDetermination {
            covers: DateRange { from, to },
            determination,
        });
    }
    out
}

fn same_outcome(a: &Determination, b: &Determination) -> bool {
    a.tier == b.tier
        && a.rate == b.rate
        && a.status == b.status
        && a.rule_set == b.rule_set
        && a.visit == b.visit
        && a.limiters == b.limiters
        && a.gates == b.gates
        && a.cqc == b.cqc
        && a.qualifications == b.qualifications
}

/// Part of a line: a run of days at one rate and status.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LineSegment {
    /// The days of the period this run covers.
    pub covers: DateRange,
    /// Days of the placement in the run.
    pub days: u32,
    /// Of which, days of hospital stays beyond the paid allowance.
    pub days_unpaid_absence: u32,
    /// Whether the funding type earns a premium under the rule set in force.
    pub eligible: bool,
    /// What happened to the premium.
    pub status: PremiumStatus,
    /// Tier name.
    pub tier: Option<String>,
    /// Tier amount per week.
    pub tier_weekly: Pence,
    /// Qualification amount per week (after its cap).
    pub qualification_weekly: Pence,
    /// Whether the qualification cap applied.
    pub qualification_cap_applied: bool,
    /// Whether the weekly cap applied.
    pub weekly_cap_applied: bool,
    /// Weekly premium.
    pub weekly: Pence,
    /// Days counted at that rate (days − unpaid absence, if eligible).
    pub days_counted: u32,
    /// The determination used.
    pub determination: DeterminationKey,
}

/// One placement's line for a period.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentLine {
    /// The placement.
    pub placement_id: Uuid,
    /// Its location.
    pub location_id: Uuid,
    /// Pseudonymous resident reference.
    pub resident_ref: String,
    /// Funding type.
    pub funding: FundingType,
    /// The billing period.
    pub period: DateRange,
    /// Runs of days at one rate and status.
    pub segments: Vec<LineSegment>,
    /// Days paid (including released days).
    pub days_payable: u32,
    /// Of which, days released after an unsubstantiated s.42 enquiry.
    pub days_released: u32,
    /// Days on hold.
    pub days_on_hold: u32,
    /// Days forfeited.
    pub days_forfeited: u32,
    /// Days suspended.
    pub days_suspended: u32,
    /// Days with no tier.
    pub days_no_tier: u32,
    /// Days of hospital stays beyond the paid allowance.
    pub days_unpaid_absence: u32,
    /// Days not eligible under the rules in force.
    pub days_ineligible: u32,
    /// The amount payable, rounded once, half up.
    pub amount: Pence,
    /// The amount on hold, rounded once, half up.
    pub on_hold: Pence,
    /// Determinations used.
    pub determinations: Vec<DeterminationKey>,
}

/// A placement left out of the schedule, and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExcludedPlacement {
    /// The placement.
    pub placement_id: Uuid,
    /// Why.
    pub reason: String,
}

/// The payment schedule for a period.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Schedule {
    /// The billing period.
    pub period: DateRange,
    /// One line per eligible placement, ordered by location then placement.
    pub lines: Vec<PaymentLine>,
    /// Placements in the period that earn nothing because of their funding or location.
    pub excluded: Vec<ExcludedPlacement>,
    /// Every determination the lines used.
    pub determinations: Vec<CoveredDetermination>,
    /// Sum of line amounts.
    pub total: Pence,
    /// Sum of amounts on hold.
    pub total_on_hold: Pence,
}

/// Days of a hospital stay beyond the paid allowance.
fn unpaid_absences(p: &Placement, paid_days: u32) -> Vec<DateRange> {
    let mut v: Vec<DateRange> = p
        .hospital_stays
        .iter()
        .filter_map(|s| {
            DateRange::new(
                add_days(s.from, paid_days as i64),
                s.to.unwrap_or(NaiveDate::MAX),
            )
        })
        .collect();
    v.sort();
    let mut merged: Vec<DateRange> = Vec::with_capacity(v.len());
    for r in v {
        match merged.last_mut() {
            Some(last) if r.from <= add_days(last.to, 1) => last.to = last.to.max(r.to),
            _ => merged.push(r),
        }
    }
    merged
}

fn overlap_days(range: DateRange, ranges: &[DateRange]) -> u32 {
    ranges
        .iter()
        .filter_map(|r| r.intersect(&range))
        .map(|r| r.days())
        .sum()
}

/// Computes the schedule for a period. Inputs may come in any order; the result does not depend on
/// it.
pub fn compute_schedule(
    engine: &Engine<'_>,
    locations: &[LocationRecords],
    placements: &[Placement],
    period: DateRange,
) -> Schedule {
    let mut by_location: BTreeMap<Uuid, Vec<&Placement>> = BTreeMap::new();
    let mut excluded = Vec::new();
    let known: HashMap<Uuid, &LocationRecords> =
        locations.iter().map(|r| (r.location.id, r)).collect();
    for p in placements {
        let last = p.last_day().unwrap_or(NaiveDate::MAX);
        if DateRange::new(p.start, last)
            .and_then(|r| r.intersect(&period))
            .is_none()
        {
            continue;
        }
        if known.contains_key(&p.location_id) {
            by_location.entry(p.location_id).or_default().push(p);
        } else {
            excluded.push(ExcludedPlacement {
                placement_id: p.id,
                reason: format!("location {} is not known", p.location_id),
            });
        }
    }

    let mut lines = Vec::new();
    let mut determinations = Vec::new();
    for (location_id, mut ps) in by_location {
        let records = known[&location_id];
        let covered = determinations_over(engine, records, period);
        ps.sort_by_key(|p| p.id);
        let mut used = vec![false; covered.len()];
        for p in ps {
            match placement_line(engine, p, period, &covered, &mut used) {
                Some(line) => lines.push(line),
                None => excluded.push(ExcludedPlacement {
                    placement_id: p.id,
                    reason: if engine
                        .rules
                        .in_force(period.to)
                        .is_some_and(|r| !r.mode.pays_premiums())
                    {
                        "the scheme pays no premiums under the rules in force (withhold and release only)".to_owned()
                    } else {
                        format!(
                            "{} placements earn no premium under the rules in force",
                            p.funding.label()
                        )
                    },
                }),
            }
        }
        determinations.extend(
            covered
                .into_iter()
                .zip(used)
                .filter(|(_, u)| *u)
                .map(|(c, _)| c),
        );
    }
    excluded.sort_by_key(|e| e.placement_id);
    let total = lines
        .iter()
        .map(|l| l.amount)
        .fold(Pence::ZERO, |a, b| a + b);
    let total_on_hold = lines
        .iter()
        .map(|l| l.on_hold)
        .fold(Pence::ZERO, |a, b| a + b);
    Schedule {
        period,
        lines,
        excluded,
        determinations,
        total,
        total_on_hold,
    }
}

fn placement_line(
    engine: &Engine<'_>,
    p: &Placement,
    period: DateRange,
    covered: &[CoveredDetermination],
    used: &mut [bool],
) -> Option<PaymentLine> {
    let active =
        DateRange::new(p.start, p.last_day().unwrap_or(NaiveDate::MAX))?.intersect(&period)?;
    let mut line = PaymentLine {
        placement_id: p.id,
        location_id: p.location_id,
        resident_ref: p.resident_ref.clone(),
        funding: p.funding,
        period,
        segments: vec![],
        days_payable: 0,
        days_released: 0,
        days_on_hold: 0,
        days_forfeited: 0,
        days_suspended: 0,
        days_no_tier: 0,
        days_unpaid_absence: 0,
        days_ineligible: 0,
        amount: Pence::ZERO,
        on_hold: Pence::ZERO,
        determinations: vec![],
    };
    let (mut paid, mut held) = (Sevenths::default(), Sevenths::default());
    let mut any_eligible = false;
    let mut unpaid_ranges: Option<(u32, Vec<DateRange>)> = None;
    for (i, c) in covered.iter().enumerate() {
        let Some(days_range) = c.covers.intersect(&active) else {
            continue;
        };
        let rules = engine.rules.in_force(c.covers.from);
        let eligible = rules.is_some_and(|r| {
            r.mode.pays_premiums() && r.payments.eligible_funding.contains(&p.funding)
        });
        let paid_days = rules.map_or(0, |r| r.payments.hospital_absence_paid_days);
        // Rebuilt only when a rule-set change alters the paid allowance, not on every run.
        if unpaid_ranges.as_ref().is_none_or(|(d, _)| *d != paid_days) {
            unpaid_ranges = Some((paid_days, unpaid_absences(p, paid_days)));
        }
        let unpaid_days = unpaid_ranges
            .as_ref()
            .map_or(&[][..], |(_, r)| r.as_slice());
        let days = days_range.days();
        let unpaid = overlap_days(days_range, unpaid_days);
        let counted = if eligible { days - unpaid } else { 0 };
        any_eligible |= eligible;
        let d = &c.determination;
        let weekly = d.rate.weekly;
        if eligible {
            line.days_unpaid_absence += unpaid;
            match d.status {
                PremiumStatus::Payable => {
                    line.days_payable += counted;
                    paid += Sevenths::for_days(weekly, counted);
                }
                PremiumStatus::Released => {
                    line.days_payable += counted;
                    line.days_released += counted;
                    paid += Sevenths::for_days(weekly, counted);
                }
                PremiumStatus::OnHold => {
                    line.days_on_hold += counted;
                    held += Sevenths::for_days(weekly, counted);
                }
                PremiumStatus::Forfeited => line.days_forfeited += counted,
                PremiumStatus::Suspended => line.days_suspended += counted,
                PremiumStatus::NoTier => line.days_no_tier += counted,
            }
        } else {
            line.days_ineligible += days;
        }
        used[i] = true;
        line.determinations.push(c.key());
        line.segments.push(LineSegment {
            covers: days_range,
            days,
            days_unpaid_absence: unpaid,
            eligible,
            status: d.status,
            tier: d.tier.as_ref().map(|t| t.name.clone()),
            tier_weekly: d.rate.tier_weekly,
            qualification_weekly: d.rate.qualification_weekly,
            qualification_cap_applied: d.rate.qualification_cap_applied,
            weekly_cap_applied: d.rate.weekly_cap_applied,
            weekly,
            days_counted: counted,
            determination: c.key(),
        });
    }
    if !any_eligible {
        return None;
    }
    line.amount = paid.round_half_up();
    line.on_hold = held.round_half_up();
    Some(line)
}

/// What finance already issued for a placement and period (an original line or an adjustment).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IssuedLine {
    /// The placement.
    pub placement_id: Uuid,
    /// The period.
    pub period: DateRange,
    /// Amount paid.
    pub amount: Pence,
    /// Amount that was on hold.
    pub on_hold: Pence,
}

/// A correction to what was issued, after a backdated change. Issued lines are never rewritten.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdjustmentLine {
    /// The placement.
    pub placement_id: Uuid,
    /// Its location, when it still has a line.
    pub location_id: Option<Uuid>,
    /// The period corrected.
    pub period: DateRange,
    /// Sum of what was issued before.
    pub previously_issued: Pence,
    /// What the period comes to now.
    pub recomputed: Pence,
    /// The payment to make (negative to recover).
    pub delta: Pence,
    /// Change in the amount on hold.
    pub on_hold_delta: Pence,
    /// Determinations behind the recomputed line.
    pub determinations: Vec<DeterminationKey>,
}

/// Compares a recomputed schedule with what was issued for the same period and returns the
/// adjustment lines needed (none where nothing changed).
pub fn adjustments(
    issued: &[IssuedLine],
    recomputed: &Schedule,
) -> Result<Vec<AdjustmentLine>, PaymentError> {
    let mut before: BTreeMap<Uuid, (Pence, Pence)> = BTreeMap::new();
    for l in issued {
        if l.period != recomputed.period {
            return Err(PaymentError::PeriodMismatch {
                placement_id: l.placement_id,
                issued: l.period,
            });
        }
        let e = before.entry(l.placement_id).or_default();
        e.0 += l.amount;
        e.1 += l.on_hold;
    }
    let now: BTreeMap<Uuid, &PaymentLine> = recomputed
        .lines
        .iter()
        .map(|l| (l.placement_id, l))
        .collect();
    let mut ids: Vec<Uuid> = before.keys().chain(now.keys()).copied().collect();
    ids.sort();
    ids.dedup();
    let mut out = Vec::new();
    for id in ids {
        let (prev_amount, prev_hold) = before.get(&id).copied().unwrap_or_default();
        let line = now.get(&id);
        let (amount, hold) = line.map_or((Pence::ZERO, Pence::ZERO), |l| (l.amount, l.on_hold));
        if amount == prev_amount && hold == prev_hold {
            continue;
        }
        out.push(AdjustmentLine {
            placement_id: id,
            location_id: line.map(|l| l.location_id),
            period: recomputed.period,
            previously_issued: prev_amount,
            recomputed: amount,
            delta: amount - prev_amount,
            on_hold_delta: hold - prev_hold,
            determinations: line.map(|l| l.determinations.clone()).unwrap_or_default(),
        });
    }
    Ok(out)
}
