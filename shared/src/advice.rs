//! What would move a location up a tier: the gaps between its determination and the next tier's
//! thresholds, and the limiters, gates and missing visits holding it back. Said in plain words,
//! for the provider's status page.

use crate::determination::{Determination, LimiterKind, PremiumStatus};
use crate::labels::long_date;
use crate::ratio::{Ratio, percent_text};
use crate::scheme::RuleSet;

/// One thing that stands between a location and the next tier.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Step {
    /// What to do or what is missing, as a sentence.
    pub text: String,
}

/// The next tier and what it needs, or `None` when the location already holds the best tier
/// and nothing holds its premium back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NextTier {
    /// The tier above the one held (`None` when already at the top).
    pub tier: Option<String>,
    /// Its weekly premium per placement, in pence.
    pub weekly_premium_pence: i64,
    /// What it needs, most important first.
    pub steps: Vec<Step>,
}

fn gap(have: Option<Ratio>, need: Ratio) -> Option<String> {
    match have {
        Some(h) if h >= need => None,
        Some(h) => Some(format!(
            "{} now, {} needed",
            percent_text(Some(h)),
            percent_text(Some(need))
        )),
        None => Some(format!("not scored, {} needed", percent_text(Some(need)))),
    }
}

/// What would move the location up from its determination under `rules`.
pub fn next_tier(det: &Determination, rules: &RuleSet) -> NextTier {
    let mut steps = Vec::new();
    let step = |text: String| Step { text };
    match det.status {
        PremiumStatus::OnHold => steps.push(step(
            "The premium is on hold while a safeguarding enquiry is open; it is released if the concern is not substantiated.".into(),
        )),
        PremiumStatus::Suspended => {
            let resumes = det.gates.iter().filter_map(|g| g.resumes_on).max();
            steps.push(step(match resumes {
                Some(d) => format!("The premium is suspended and resumes on {} if no new concern arises.", long_date(d)),
                None => "The premium is suspended until the open enquiry, embargo or notice is closed, and a sustainability period has passed.".into(),
            }))
        }
        _ => {}
    }
    for l in &det.limiters {
        if l.rank_after >= l.rank_before {
            continue;
        }
        let text = match l.kind {
            LimiterKind::OverdueAction => format!("Complete the overdue actions: {}.", l.detail),
            LimiterKind::CqcRating => format!(
                "The CQC rating limits the tier ({}); a better published rating lifts the limit.",
                l.detail
            ),
            LimiterKind::CriticalFailure => format!(
                "A critical criterion failed ({}); it must be met at the next visit.",
                l.detail
            ),
            LimiterKind::VisitLapsed => format!("The annual visit is overdue: {}.", l.detail),
            LimiterKind::QualificationUplift => continue,
        };
        steps.push(step(text));
    }
    let quality_rank = det.quality_tier.as_ref().map_or(0, |t| t.rank);
    let above = rules.tier_at(quality_rank + 1);
    if let Some(t) = above {
        match &det.scores {
            None => steps.push(step(format!(
                "A published visit scoring at least {} overall, and {} in every domain, is needed for {}.",
                percent_text(Some(t.min_overall_percent)),
                percent_text(Some(t.min_domain_percent)),
                t.name
            ))),
            Some(s) if !s.conclusive => steps.push(step(format!(
                "The last visit could not set a tier ({}): a conclusive visit is needed.",
                s.inconclusive_reason.clone().unwrap_or_default()
            ))),
            Some(s) => {
                if let Some(g) = gap(s.overall, t.min_overall_percent) {
                    steps.push(step(format!("Overall score for {}: {g}.", t.name)));
                }
                for d in &s.domains {
                    if let Some(g) = gap(d.percent, t.min_domain_percent) {
                        steps.push(step(format!("{} for {}: {g}.", d.title, t.name)));
                    }
                }
            }
        }
    }
    let tier = above.map(|t| t.name.clone());
    NextTier {
        weekly_premium_pence: above.map_or(0, |t| t.weekly_premium_pence),
        tier,
        steps,
    }
}
