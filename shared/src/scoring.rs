//! Scoring: a pure function of a framework pack version, the scheme's scoring rules and a visit's
//! answers. The app's live summary and the server's tier determination both call [`score`].

use crate::framework::{FrameworkPack, NotApplicablePolicy, NotAssessedPolicy};
use crate::ratio::Ratio;
use crate::records::Answer;
use crate::scheme::{Rescale, ScoringRules};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A domain's result.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DomainScore {
    /// Domain id.
    pub domain_id: String,
    /// Domain title.
    pub title: String,
    /// Percentage, exact; `None` when nothing in the domain was scored.
    pub percent: Option<Ratio>,
    /// Criteria scored.
    pub scored: u32,
    /// Criteria answered "not applicable".
    pub not_applicable: u32,
    /// Criteria answered "not assessed" or left unanswered.
    pub not_assessed: u32,
}

/// A critical criterion that failed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CriticalFailure {
    /// Criterion id.
    pub criterion_id: String,
    /// The score given.
    pub score: i32,
}

/// The result of scoring a visit.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScoreSummary {
    /// Per domain, in pack order.
    pub domains: Vec<DomainScore>,
    /// Weighted mean of the domain percentages; `None` when nothing was scored.
    pub overall: Option<Ratio>,
    /// Total criteria in the pack.
    pub criteria: u32,
    /// Criteria scored.
    pub scored: u32,
    /// Criteria answered "not applicable".
    pub not_applicable: u32,
    /// Criteria not assessed (including unanswered).
    pub not_assessed: u32,
    /// Critical criteria that failed.
    pub critical_failures: Vec<CriticalFailure>,
    /// Whether the visit can set a tier.
    pub conclusive: bool,
    /// Why not, when it cannot.
    pub inconclusive_reason: Option<String>,
    /// Answers that were ignored: unknown criterion ids or scores off the scale.
    pub ignored_answers: Vec<String>,
}

impl ScoreSummary {
    /// The lowest domain percentage.
    pub fn lowest_domain(&self) -> Option<Ratio> {
        self.domains.iter().filter_map(|d| d.percent).min()
    }
}

#[derive(Clone, Copy, Default)]
struct Acc {
    // Sums in thousandths of a weight unit: pack weights have at most three decimals, so these are
    // exact integers and no fraction needs reducing until the domain percentage is formed.
    num: i128,
    den: i128,
    scored: u32,
    na: u32,
    nas: u32,
}

/// Scores a visit's answers against a pack with the scheme's scoring rules.
///
/// Answers for criteria not in the pack, and scores off a criterion's scale, are ignored and
/// listed (never guessed at); an unanswered criterion counts as not assessed.
pub fn score(
    pack: &FrameworkPack,
    answers: &BTreeMap<String, Answer>,
    rules: &ScoringRules,
) -> ScoreSummary {
    let mut acc = vec![Acc::default(); pack.domains.len()];
    let mut critical_failures = Vec::new();
    let mut ignored = Vec::new();
    let mut matched = 0usize;

    for (a, d) in acc.iter_mut().zip(&pack.domains) {
        for c in d.standards.iter().flat_map(|s| &s.criteria) {
            let w = c.weight_thousandths();
            let (lo, hi) = (c.scale.min as i128, c.scale.max as i128);
            let (zero, span) = match rules.rescale {
                Rescale::Shift => (lo, hi - lo),
                Rescale::Ratio => (0, hi),
            };
            let count = |s: i128, a: &mut Acc| {
                a.num += w * (s - zero);
                a.den += w * span;
            };
            let answer = answers.get(&c.id);
            if answer.is_some() {
                matched += 1;
            }
            match answer.copied().unwrap_or(Answer::NotAssessed) {
                Answer::Score(s) if c.scale.contains(s) => {
                    count(s as i128, a);
                    a.scored += 1;
                    if c.critical && s <= rules.critical_fail_at_or_below.unwrap_or(c.scale.min) {
                        critical_failures.push(CriticalFailure {
                            criterion_id: c.id.clone(),
                            score: s,
                        });
                    }
                }
                Answer::Score(s) => {
                    ignored.push(format!("{}: score {s} is not on the scale {lo}–{hi}", c.id));
                    a.nas += 1;
                }
                Answer::NotApplicable => {
                    a.na += 1;
                    if pack.policy.not_applicable == NotApplicablePolicy::CountAsMax {
                        count(hi, a);
                    }
                }
                Answer::NotAssessed => {
                    a.nas += 1;
                    if pack.policy.not_assessed == NotAssessedPolicy::CountAsMin {
                        count(lo, a);
                    }
                }
            }
        }
    }
    if matched < answers.len() {
        for id in answers.keys().filter(|id| pack.criterion(id).is_none()) {
            ignored.push(format!(
                "{id}: not a criterion of {} {}",
                pack.id, pack.version
            ));
        }
    }

    let mut domains = Vec::with_capacity(pack.domains.len());
    // `None` once the exact sums no longer fit: reported as inconclusive, never a panic.
    let (mut wsum, mut wtotal) = (Some(Ratio::ZERO), Some(Ratio::ZERO));
    for (d, a) in pack.domains.iter().zip(&acc) {
        let percent = Ratio::new(100 * a.num, a.den);
        if let Some(p) = percent {
            wsum = wsum.and_then(|s| s.checked_plus(d.weight.checked_times(p)?));
            wtotal = wtotal.and_then(|t| t.checked_plus(d.weight));
        }
        domains.push(DomainScore {
            domain_id: d.id.clone(),
            title: d.title.clone(),
            percent,
            scored: a.scored,
            not_applicable: a.na,
            not_assessed: a.nas,
        });
    }
    let overflow = wsum.is_none() || wtotal.is_none();
    let overall = wsum.zip(wtotal).and_then(|(s, t)| s.checked_div(t));
    let criteria = pack.criterion_count() as u32;
    let scored = acc.iter().map(|a| a.scored).sum();
    let not_applicable = acc.iter().map(|a| a.na).sum();
    let not_assessed: u32 = acc.iter().map(|a| a.nas).sum();

    let share_not_assessed =
        Ratio::new(100 * not_assessed as i128, criteria.max(1) as i128).unwrap_or(Ratio::ZERO);
    let inconclusive_reason = if overflow {
        Some("the pack's weights are too fine-grained to score exactly".to_owned())
    } else if share_not_assessed > rules.max_not_assessed_percent {
        Some(format!(
            "{not_assessed} of {criteria} criteria not assessed ({}%), more than the {}% allowed",
            share_not_assessed.to_decimal_string(1),
            rules.max_not_assessed_percent
        ))
    } else {
        domains
            .iter()
            .find(|d| d.percent.is_none())
            .map(|d| format!("nothing in the {} domain was scored", d.title))
    };

    ScoreSummary {
        domains,
        overall,
        criteria,
        scored,
        not_applicable,
        not_assessed,
        critical_failures,
        conclusive: inconclusive_reason.is_none(),
        inconclusive_reason,
        ignored_answers: ignored,
    }
}
