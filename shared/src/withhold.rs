//! Withhold/release mode (Westminster style): a share of contract value is at risk and released
//! by the compliance score.

use crate::calendar::DateRange;
use crate::determination::{Determination, Engine};
use crate::money::Pence;
use crate::premium::PaymentError;
use crate::ratio::{Ratio, round_half_up_div};
use crate::records::LocationRecords;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// A contract's value for a period (the council's social-care part only; NHS-funded nursing care
/// is never part of it).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Contract {
    /// Accredit's id.
    pub id: Uuid,
    /// The location contracted.
    pub location_id: Uuid,
    /// The period.
    pub period: DateRange,
    /// Contract value for the period.
    pub value: Pence,
}

/// The outcome for one contract.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WithholdReleaseLine {
    /// The contract.
    pub contract_id: Uuid,
    /// Amount at risk: value × withhold share, rounded once.
    pub at_risk: Pence,
    /// Amount released.
    pub released: Pence,
    /// Amount withheld (at risk − released).
    pub withheld: Pence,
    /// Share of the at-risk amount released.
    pub release_percent: Ratio,
    /// Why.
    pub reason: String,
    /// The determination on the period's last day that decided it.
    pub determination: Determination,
}

/// Computes what is withheld and released for a contract, from the determination on the last day
/// of its period and the withhold/release rules in force then. An open gate releases nothing.
pub fn withhold_release(
    engine: &Engine<'_>,
    records: &LocationRecords,
    contract: &Contract,
) -> Result<WithholdReleaseLine, PaymentError> {
    if records.location.id != contract.location_id {
        return Err(PaymentError::UnknownLocation(contract.location_id));
    }
    let day = contract.period.to;
    let det = engine.determine(records, day);
    let Some(rules) = engine.rules.in_force(day) else {
        return Ok(WithholdReleaseLine {
            contract_id: contract.id,
            at_risk: Pence::ZERO,
            released: Pence::ZERO,
            withheld: Pence::ZERO,
            release_percent: Ratio::ZERO,
            reason: format!("no rule set in force on {day}"),
            determination: det,
        });
    };
    let w = rules.withhold_release.withhold_percent;
    let value = contract.value.0 as i128;
    let at_risk = round_half_up_div(value * w.numer(), 100 * w.denom()) as i64;
    let score = det.scores.as_ref().and_then(|s| s.overall);
    let (release, reason) = if !det.gates.is_empty() {
        (
            Ratio::ZERO,
            "a gate is in effect: nothing is released".to_owned(),
        )
    } else if let Some(score) = score {
        match rules
            .withhold_release
            .bands
            .iter()
            .find(|b| score >= b.min_score_percent)
        {
            Some(b) => (
                b.release_percent,
                format!(
                    "score {}% reaches the {}% band: {}% released",
                    score.to_decimal_string(1),
                    b.min_score_percent,
                    b.release_percent
                ),
            ),
            None => (
                Ratio::ZERO,
                format!(
                    "score {}% is below every release band",
                    score.to_decimal_string(1)
                ),
            ),
        }
    } else {
        (
            Ratio::ZERO,
            "no conclusive published visit: nothing is released".to_owned(),
        )
    };
    let released = round_half_up_div(
        value * w.numer() * release.numer(),
        100 * w.denom() * 100 * release.denom(),
    ) as i64;
    let released = released.min(at_risk);
    Ok(WithholdReleaseLine {
        contract_id: contract.id,
        at_risk: Pence(at_risk),
        released: Pence(released),
        withheld: Pence(at_risk - released),
        release_percent: release,
        reason,
        determination: det,
    })
}
