//! Withhold/release mode (Westminster style): a share of a contract's value for each period is at
//! risk, and released by the compliance score the scheme names, with an explanation like a
//! tier's: which visit, which band, which gate held it back.
//!
//! Arithmetic is exact: the at-risk amount is `value × withhold%` and the released (or held)
//! amount `value × withhold% × release%`, each rounded once, half up, to the penny; the withheld
//! amount is what is left, so the three always add up to the at-risk amount.

use crate::calendar::{DateRange, add_days, add_months};
use crate::determination::{Engine, GateRecord, RuleSetRef, VisitRef};
use crate::labels::long_date;
use crate::load_error::FieldProblem;
use crate::money::Pence;
use crate::ratio::{Ratio, round_half_up_div};
use crate::records::{GateOutcome, LocationRecords};
use crate::scheme::{GateEffect, ScoreSource};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Contract periods may be this many months long.
pub const PERIOD_MONTHS: [u32; 4] = [1, 3, 6, 12];

/// A contract between the council and a provider, for one location or for all of the provider's
/// locations, paid in periods of equal value (the council's social-care part only; NHS-funded
/// nursing care is never part of it).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Contract {
    /// Accredit's id.
    pub id: Uuid,
    /// The council's contract reference, unique.
    pub reference: String,
    /// The provider contracted.
    pub provider_id: Uuid,
    /// The location contracted; `None` for a contract covering every location of the provider.
    pub location_id: Option<Uuid>,
    /// First day of the first period.
    pub starts_on: NaiveDate,
    /// Last day of the last period.
    pub ends_on: NaiveDate,
    /// Length of each period in months (1, 3, 6 or 12).
    pub period_months: u32,
    /// Contract value for each period.
    pub value_per_period: Pence,
    /// Share of each period's value at risk; `None` takes the rule set's.
    pub withhold_percent: Option<Ratio>,
}

impl Contract {
    /// Everything wrong with the contract's own fields, by field name (empty when valid).
    pub fn problems(&self) -> Vec<FieldProblem> {
        let mut out = Vec::new();
        let mut add = |path: &str, message: String| {
            out.push(FieldProblem {
                path: path.to_owned(),
                message,
            })
        };
        let reference = self.reference.trim();
        if reference.is_empty() {
            add("reference", "Enter the contract reference".into());
        } else if reference.chars().count() > 60 {
            add(
                "reference",
                "The contract reference must be 60 characters or fewer".into(),
            );
        } else if reference.chars().any(char::is_control) {
            add(
                "reference",
                "The contract reference must not hold control characters".into(),
            );
        }
        if !PERIOD_MONTHS.contains(&self.period_months) {
            add(
                "period_months",
                "A contract period is 1, 3, 6 or 12 months".into(),
            );
        }
        if self.value_per_period.0 <= 0 {
            add(
                "value_per_period",
                "The value for each period must be more than £0".into(),
            );
        } else if self.value_per_period.0 > 100_000_000_000 {
            add(
                "value_per_period",
                "The value for each period must be under £1,000,000,000".into(),
            );
        }
        if let Some(w) = self.withhold_percent
            && !(Ratio::ZERO < w && w <= Ratio::integer(100))
        {
            add(
                "withhold_percent",
                "The share withheld must be more than 0% and at most 100%".into(),
            );
        }
        if self.ends_on < self.starts_on {
            add(
                "ends_on",
                "The end date must be on or after the start date".into(),
            );
        } else if PERIOD_MONTHS.contains(&self.period_months) {
            let periods = self.periods();
            if periods.len() > 120 {
                add("ends_on", "A contract may run at most 120 periods".into());
            } else if periods.last().is_none_or(|p| p.to != self.ends_on) {
                let before = periods
                    .iter()
                    .rev()
                    .map(|p| p.to)
                    .find(|to| *to < self.ends_on);
                let after = periods
                    .last()
                    .map(|p| add_days(add_months(p.from, self.period_months), -1));
                let hint = match (before, after) {
                    (Some(b), Some(a)) => {
                        format!(" (for example {} or {})", long_date(b), long_date(a))
                    }
                    (None, Some(a)) => format!(" (for example {})", long_date(a)),
                    _ => String::new(),
                };
                add(
                    "ends_on",
                    format!(
                        "The end date must close a whole period of {} from the start date{hint}",
                        crate::labels::count(self.period_months as usize, "month", "months")
                    ),
                );
            }
        }
        out
    }

    /// The contract's periods in order: consecutive runs of `period_months` from `starts_on`, the
    /// last one ending on or after `ends_on` (exactly on it for a valid contract).
    pub fn periods(&self) -> Vec<DateRange> {
        let mut out = Vec::new();
        if self.period_months == 0 {
            return out;
        }
        let mut n = 0u32;
        // Months are counted from the start each time so that a period starting on the 31st
        // does not drift to the 28th after February.
        while out.len() <= 240 {
            let from = add_months(self.starts_on, n * self.period_months);
            if from > self.ends_on {
                break;
            }
            let to = add_days(add_months(self.starts_on, (n + 1) * self.period_months), -1);
            match DateRange::new(from, to) {
                Some(p) => out.push(p),
                None => break,
            }
            n += 1;
        }
        out
    }

    /// The periods that end within `range` (the periods a payment month settles).
    pub fn periods_ending_in(&self, range: DateRange) -> Vec<DateRange> {
        self.periods()
            .into_iter()
            .filter(|p| range.contains(p.to) && p.to <= self.ends_on)
            .collect()
    }
}

/// What happened to the amount at risk for a period.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReleaseStatus {
    /// The scheme did not run withhold/release then: nothing was at risk.
    NotAtRisk,
    /// Everything at risk is released.
    Released,
    /// Part is released, the rest withheld.
    PartlyReleased,
    /// Nothing is released.
    Withheld,
    /// The release is held while a safeguarding enquiry is open.
    OnHold,
}

impl ReleaseStatus {
    /// In words.
    pub fn label(self) -> &'static str {
        match self {
            ReleaseStatus::NotAtRisk => "Not at risk",
            ReleaseStatus::Released => "Released",
            ReleaseStatus::PartlyReleased => "Partly released",
            ReleaseStatus::Withheld => "Withheld",
            ReleaseStatus::OnHold => "On hold",
        }
    }
}

/// The score that decided a period's release.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScoreUsed {
    /// The location visited.
    pub location_id: Uuid,
    /// Its name.
    pub location_name: String,
    /// The visit revision.
    pub visit: VisitRef,
    /// Its overall score.
    pub overall_percent: Ratio,
}

/// A location of the contract that had no score to count.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unscored {
    /// The location.
    pub location_id: Uuid,
    /// Its name.
    pub location_name: String,
    /// Why, in words.
    pub reason: String,
}

/// A gate in effect during the period, and what it did to the release.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GateHeld {
    /// The location.
    pub location_id: Uuid,
    /// Its name.
    pub location_name: String,
    /// The gate.
    pub gate: GateRecord,
    /// What it did, in words.
    pub effect: String,
}

/// The outcome for one period of one contract, with its explanation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContractPeriodLine {
    /// The contract.
    pub contract_id: Uuid,
    /// Its reference.
    pub reference: String,
    /// Its provider.
    pub provider_id: Uuid,
    /// Its location, for a single-location contract.
    pub location_id: Option<Uuid>,
    /// The period.
    pub period: DateRange,
    /// The period's contract value.
    pub value: Pence,
    /// Share of the value at risk.
    pub withhold_percent: Ratio,
    /// Amount at risk: value × withhold share, rounded once.
    pub at_risk: Pence,
    /// Amount released now.
    pub released: Pence,
    /// Amount that would be released, held while a safeguarding enquiry is open.
    pub on_hold: Pence,
    /// Amount withheld: at risk − released − on hold.
    pub withheld: Pence,
    /// Share of the at-risk amount the band releases.
    pub release_percent: Ratio,
    /// The lowest score of the band reached, if any.
    pub band_from_percent: Option<Ratio>,
    /// The score that decided it (the lowest of the contract's locations).
    pub score: Option<ScoreUsed>,
    /// Locations with no score to count.
    pub unscored: Vec<Unscored>,
    /// Gates in effect during the period.
    pub gates: Vec<GateHeld>,
    /// The rule set in force on the period's last day.
    pub rule_set: Option<RuleSetRef>,
    /// What happened.
    pub status: ReleaseStatus,
    /// Why, in one or two sentences.
    pub reason: String,
}

/// A contract's records do not match it.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum WithholdError {
    /// A location's records were given that the contract does not cover.
    #[error("location {0} is not covered by the contract")]
    NotCovered(Uuid),
    /// A location contract's location was not among the records.
    #[error("no records for location {0}")]
    UnknownLocation(Uuid),
    /// The contract is not valid.
    #[error("the contract is not valid: {0}")]
    Invalid(String),
}

fn pct(r: Ratio) -> String {
    let text = r.to_decimal_string(3);
    let text = text.trim_end_matches('0').trim_end_matches('.');
    format!("{text}%")
}

/// Computes what is at risk, released, held and withheld for one period of a contract.
///
/// `locations` are the records of the contract's locations (for a provider-wide contract, every
/// location of the provider; those not registered during the period are left out). The rule set
/// in force on the period's last day decides: its mode (nothing is at risk unless it runs
/// withhold/release), its withhold share (unless the contract sets one), its release bands, and
/// which score counts: by default the overall score of each location's latest conclusive visit
/// published within the period. A provider-wide contract takes the lowest of its locations'
/// scores, and a location with no score to count releases nothing. A gate in effect on any day of
/// the period holds the release back: a suspending gate (or its sustainability period) or a
/// substantiated safeguarding enquiry withholds it; an open enquiry puts it on hold; an enquiry
/// closed as not substantiated does not stop it.
pub fn withhold_release(
    engine: &Engine<'_>,
    locations: &[&LocationRecords],
    contract: &Contract,
    period: DateRange,
) -> Result<ContractPeriodLine, WithholdError> {
    if let Some(p) = contract.problems().first() {
        return Err(WithholdError::Invalid(p.to_string()));
    }
    for r in locations {
        let covered = match contract.location_id {
            Some(l) => r.location.id == l,
            None => r.location.provider_id == contract.provider_id,
        };
        if !covered {
            return Err(WithholdError::NotCovered(r.location.id));
        }
    }
    if let Some(l) = contract.location_id
        && !locations.iter().any(|r| r.location.id == l)
    {
        return Err(WithholdError::UnknownLocation(l));
    }
    let mut line = ContractPeriodLine {
        contract_id: contract.id,
        reference: contract.reference.clone(),
        provider_id: contract.provider_id,
        location_id: contract.location_id,
        period,
        value: contract.value_per_period,
        withhold_percent: Ratio::ZERO,
        at_risk: Pence::ZERO,
        released: Pence::ZERO,
        on_hold: Pence::ZERO,
        withheld: Pence::ZERO,
        release_percent: Ratio::ZERO,
        band_from_percent: None,
        score: None,
        unscored: Vec::new(),
        gates: Vec::new(),
        rule_set: None,
        status: ReleaseStatus::NotAtRisk,
        reason: String::new(),
    };
    let Some(rules) = engine.rules.in_force(period.to) else {
        line.reason = format!(
            "No rule set was in force on {}: nothing is at risk.",
            long_date(period.to)
        );
        return Ok(line);
    };
    line.rule_set = Some(rules.into());
    if !rules.mode.withholds() {
        line.reason = format!(
            "Rule set {} does not run withhold and release: nothing is at risk.",
            rules.version
        );
        return Ok(line);
    }
    let w = contract
        .withhold_percent
        .unwrap_or(rules.withhold_release.withhold_percent);
    line.withhold_percent = w;
    let value = contract.value_per_period.0 as i128;
    let at_risk = round_half_up_div(value * w.numer(), 100 * w.denom()) as i64;
    line.at_risk = Pence(at_risk);

    // Each location's score, and the gates in effect during the period.
    let in_period: Vec<&&LocationRecords> = locations
        .iter()
        .filter(|r| {
            let l = &r.location;
            l.registered_from <= period.to && l.registered_to.is_none_or(|to| to >= period.from)
        })
        .collect();
    for r in &in_period {
        let loc = &r.location;
        let day = loc.registered_to.map_or(period.to, |to| to.min(period.to));
        let det = engine.determine(r, day);
        let scored = det
            .visit
            .as_ref()
            .zip(det.scores.as_ref().and_then(|s| s.overall));
        match scored {
            Some((visit, overall))
                if rules.withhold_release.score_from == ScoreSource::LatestVisit
                    || period.contains(visit.effective_on) =>
            {
                let lower = line
                    .score
                    .as_ref()
                    .is_none_or(|s| overall < s.overall_percent);
                if lower {
                    line.score = Some(ScoreUsed {
                        location_id: loc.id,
                        location_name: loc.name.clone(),
                        visit: visit.clone(),
                        overall_percent: overall,
                    });
                }
            }
            Some((visit, _)) => line.unscored.push(Unscored {
                location_id: loc.id,
                location_name: loc.name.clone(),
                reason: format!(
                    "its latest conclusive visit was published on {}, before the period",
                    long_date(visit.effective_on)
                ),
            }),
            None => line.unscored.push(Unscored {
                location_id: loc.id,
                location_name: loc.name.clone(),
                reason: "it has no conclusive published visit".to_owned(),
            }),
        }
        for g in r.gates.iter().filter(|g| g.location_id == loc.id) {
            let effect = rules.gate_effect(g.kind);
            let resumes_on = crate::determination::resumes_on(g, rules);
            let ends = match effect {
                GateEffect::Hold => g.closed_on,
                GateEffect::Suspend => resumes_on,
            };
            let overlaps = g.opened_on <= period.to && ends.is_none_or(|e| e > period.from);
            if !overlaps {
                continue;
            }
            let what = match (effect, g.outcome) {
                (GateEffect::Suspend, _) => "suspends the release",
                (GateEffect::Hold, Some(GateOutcome::Substantiated)) => {
                    "was substantiated: the release is forfeited"
                }
                (GateEffect::Hold, Some(GateOutcome::NotSubstantiated | GateOutcome::Closed)) => {
                    "closed without being substantiated: it does not stop the release"
                }
                (GateEffect::Hold, None) => "is open: the release is held until its outcome",
            };
            line.gates.push(GateHeld {
                location_id: loc.id,
                location_name: loc.name.clone(),
                gate: GateRecord {
                    gate_id: g.id,
                    kind: g.kind,
                    effect,
                    opened_on: g.opened_on,
                    closed_on: g.closed_on,
                    outcome: g.outcome,
                    resumes_on,
                },
                effect: what.to_owned(),
            });
        }
    }
    line.gates
        .sort_by_key(|g| (g.gate.opened_on, g.gate.gate_id));

    // The band.
    let mut reason = if let Some(first) = line.unscored.first() {
        format!(
            "{} has no score in the period ({}): nothing is released.",
            first.location_name, first.reason
        )
    } else if let Some(s) = &line.score {
        let whose = if contract.location_id.is_none() && in_period.len() > 1 {
            format!("the lowest of its {} locations", in_period.len())
        } else {
            "the overall score".to_owned()
        };
        let visit = format!(
            "{}'s visit of {} (published {}) scored {}, {whose}",
            s.location_name,
            long_date(s.visit.visited_on),
            long_date(s.visit.effective_on),
            pct(s.overall_percent)
        );
        match rules
            .withhold_release
            .bands
            .iter()
            .find(|b| s.overall_percent >= b.min_score_percent)
        {
            Some(b) => {
                line.band_from_percent = Some(b.min_score_percent);
                line.release_percent = b.release_percent;
                format!(
                    "{visit}; it reaches the band from {}, which releases {}.",
                    pct(b.min_score_percent),
                    pct(b.release_percent)
                )
            }
            None => format!("{visit}, below every release band: nothing is released."),
        }
    } else {
        "No location of the contract was registered during the period: nothing is released."
            .to_owned()
    };
    let release = line.release_percent;
    let amount = round_half_up_div(
        value * w.numer() * release.numer(),
        100 * w.denom() * 100 * release.denom(),
    ) as i64;
    let amount = amount.min(at_risk);

    let stopping = line
        .gates
        .iter()
        .find(|g| {
            g.gate.effect == GateEffect::Suspend
                || g.gate.outcome == Some(GateOutcome::Substantiated)
        })
        .cloned();
    let holding = line
        .gates
        .iter()
        .find(|g| g.gate.effect == GateEffect::Hold && g.gate.outcome.is_none())
        .cloned();
    if amount > 0
        && let Some(g) = stopping
    {
        reason.push_str(&format!(
            " But the {} at {} (opened {}) {}, so nothing is released.",
            g.gate.kind.label().to_lowercase(),
            g.location_name,
            long_date(g.gate.opened_on),
            g.effect
        ));
        line.status = ReleaseStatus::Withheld;
    } else if amount > 0
        && let Some(g) = holding
    {
        reason.push_str(&format!(
            " The {} at {} (opened {}) is open, so the release is on hold until its outcome.",
            g.gate.kind.label().to_lowercase(),
            g.location_name,
            long_date(g.gate.opened_on)
        ));
        line.on_hold = Pence(amount);
        line.status = ReleaseStatus::OnHold;
    } else {
        line.released = Pence(amount);
        line.status = if at_risk == 0 {
            ReleaseStatus::NotAtRisk
        } else if amount == 0 {
            ReleaseStatus::Withheld
        } else if amount == at_risk {
            ReleaseStatus::Released
        } else {
            ReleaseStatus::PartlyReleased
        };
    }
    line.withheld = Pence(at_risk - line.released.0 - line.on_hold.0);
    line.reason = reason;
    Ok(line)
}
