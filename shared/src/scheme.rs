//! Scheme rules: versioned data with an effective date, holding every setting DOMAIN.md marks as a
//! default (tiers and amounts, rescale mode, limiters, qualification effects, gates, payments,
//! withhold/release, early warning). Several rule sets coexist; the one in force on a day applies,
//! and a new one is never retrospective.

use crate::load_error::{LoadError, Problems, parse_toml};
use crate::ratio::Ratio;
use crate::records::{CqcRatingValue, FundingType, KeyQuestion, Priority, QualificationKind};
use chrono::NaiveDate;
use serde::{Deserialize, Deserializer, Serialize};
use std::collections::{BTreeMap, HashSet};

/// How scores are turned into percentages.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Rescale {
    /// `(s − min) / (max − min)`: on a 1–4 scale, 1 is 0% and 4 is 100%.
    Shift,
    /// `s / max`, as CQC does: on a 1–4 scale, 1 is 25%.
    Ratio,
}

/// Whether the scheme pays premiums or withholds and releases part of the contract value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SchemeMode {
    /// Blackpool style: a weekly premium per placement by tier.
    Premium,
    /// Westminster style: a share of contract value is withheld and released by score.
    WithholdRelease,
    /// Both: premiums by tier, and a share of contract value withheld and released by score.
    Both,
}

impl SchemeMode {
    /// Whether the scheme pays weekly premiums.
    pub fn pays_premiums(self) -> bool {
        matches!(self, SchemeMode::Premium | SchemeMode::Both)
    }

    /// Whether the scheme withholds and releases a share of contract value.
    pub fn withholds(self) -> bool {
        matches!(self, SchemeMode::WithholdRelease | SchemeMode::Both)
    }

    /// In words.
    pub fn label(self) -> &'static str {
        match self {
            SchemeMode::Premium => "Premiums by tier",
            SchemeMode::WithholdRelease => "Withhold and release",
            SchemeMode::Both => "Premiums and withhold and release",
        }
    }
}

/// Which score decides a contract period's release.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ScoreSource {
    /// The overall score of the latest conclusive visit published within the period; a period
    /// with none releases nothing.
    #[default]
    LatestVisitInPeriod,
    /// The overall score of the latest conclusive visit published by the period's end, however
    /// long before.
    LatestVisit,
}

/// What a gate does to the premium while it applies.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GateEffect {
    /// The premium accrues on hold, released or forfeited on the gate's outcome.
    Hold,
    /// No premium accrues; it resumes after the gate closes plus the sustainability period.
    Suspend,
}

/// A cap a tier can be held down to: a tier name, or `none`.
pub type TierCap = String;

/// Scoring settings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScoringRules {
    /// Rescale mode.
    pub rescale: Rescale,
    /// A visit with more than this share of criteria not assessed is inconclusive.
    #[serde(deserialize_with = "de_percent")]
    pub max_not_assessed_percent: Ratio,
    /// A critical criterion scored at or below this has failed; default: the scale minimum.
    #[serde(default)]
    pub critical_fail_at_or_below: Option<i32>,
    /// What a failed critical criterion caps the tier to (`none` by default).
    pub critical_failure_cap: TierCap,
}

/// One tier and what it takes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TierRule {
    /// Name, e.g. "Gold".
    pub name: String,
    /// Overall percentage needed (inclusive).
    #[serde(deserialize_with = "de_percent")]
    pub min_overall_percent: Ratio,
    /// Percentage every domain needs (inclusive).
    #[serde(deserialize_with = "de_percent")]
    pub min_domain_percent: Ratio,
    /// Weekly premium per eligible placement, in pence.
    pub weekly_premium_pence: i64,
}

/// A CQC rating that caps the tier.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CqcCap {
    /// Which rating it looks at.
    pub key_question: KeyQuestion,
    /// The rating (or worse) that triggers it.
    pub rating: CqcRatingValue,
    /// The highest tier allowed (`none` for no tier).
    pub cap: TierCap,
}

/// Limiters applied after the score.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Limiters {
    /// CQC caps.
    pub cqc: Vec<CqcCap>,
    /// Priorities whose overdue actions pull the tier down.
    pub overdue_action_priorities: Vec<Priority>,
    /// How many tiers an overdue action costs.
    pub overdue_action_tier_steps: u8,
    /// A visit is due this many months after the last one.
    pub annual_visit_interval_months: u32,
    /// The tier lapses when the visit is overdue by more than this many months.
    pub visit_lapse_grace_months: u32,
}

/// Qualification effects.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QualificationRules {
    /// Weekly amount per qualification kind, in pence.
    pub weekly_pence: BTreeMap<QualificationKind, i64>,
    /// Cap on the summed qualification amounts, in pence per week.
    pub weekly_cap_pence: i64,
    /// Whether a valid qualification also lifts the tier one step (never from no tier).
    pub tier_step_up: bool,
    /// Verified within this many days of issue: counts from the issue date; otherwise from the
    /// verification date.
    pub verification_backdate_days: u32,
    /// ISO 9001 needs a surveillance audit within this many months.
    pub iso9001_surveillance_months: u32,
}

/// Gate effects.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GateRules {
    /// Effect of an open s.42 enquiry.
    pub s42_enquiry: GateEffect,
    /// Effect of a large-scale enquiry.
    pub large_scale_enquiry: GateEffect,
    /// Effect of a placement embargo.
    pub placement_embargo: GateEffect,
    /// Effect of a contract default notice.
    pub contract_default: GateEffect,
    /// After a suspending gate closes, the premium resumes this many weeks later.
    pub sustainability_weeks: u32,
}

/// Payment settings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PaymentRules {
    /// Cap on tier plus qualification amounts, in pence per week.
    pub weekly_cap_pence: i64,
    /// Funding types that earn a premium.
    pub eligible_funding: Vec<FundingType>,
    /// Days of each hospital stay that are still paid.
    pub hospital_absence_paid_days: u32,
}

/// One release band in withhold/release mode.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReleaseBand {
    /// Overall score needed (inclusive).
    #[serde(deserialize_with = "de_percent")]
    pub min_score_percent: Ratio,
    /// Share of the withheld amount released.
    #[serde(deserialize_with = "de_percent")]
    pub release_percent: Ratio,
}

/// Withhold/release settings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WithholdReleaseRules {
    /// Share of contract value at risk.
    #[serde(deserialize_with = "de_percent")]
    pub withhold_percent: Ratio,
    /// Bands, highest score first.
    pub bands: Vec<ReleaseBand>,
    /// Which score decides the release.
    #[serde(default)]
    pub score_from: ScoreSource,
}

/// Early-warning settings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EarlyWarningRules {
    /// A tier lower than it was this many days ago counts as "dropped".
    pub tier_drop_lookback_days: u32,
}

/// When visits fall due beyond the annual visit (PAMMS practice), as data. A rule set without a
/// `[planning]` section takes these defaults.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PlanningRules {
    /// A follow-up visit is due this many months after a visit with a poor outcome.
    pub follow_up_after_poor_months: u32,
    /// An outcome is poor when the visit leaves no tier, or its overall score is below this.
    pub poor_below_percent: u32,
    /// Priorities whose overdue actions call for a follow-up visit.
    pub follow_up_action_priorities: Vec<Priority>,
    /// ... due this many days after such an action became overdue.
    pub overdue_action_follow_up_days: u32,
    /// A concern-led visit is due this many days after a gate opens.
    pub concern_visit_days: u32,
}

impl Default for PlanningRules {
    fn default() -> PlanningRules {
        PlanningRules {
            follow_up_after_poor_months: 6,
            poor_below_percent: 50,
            follow_up_action_priorities: vec![Priority::High],
            overdue_action_follow_up_days: 14,
            concern_visit_days: 14,
        }
    }
}

/// A validated rule set.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleSet {
    /// Name of the scheme.
    pub name: String,
    /// Version label, unique within a rule book.
    pub version: String,
    /// First day in force.
    #[serde(deserialize_with = "de_date")]
    pub effective_from: NaiveDate,
    /// Premium or withhold/release.
    pub mode: SchemeMode,
    /// Scoring.
    pub scoring: ScoringRules,
    /// Tiers, best first.
    pub tiers: Vec<TierRule>,
    /// Limiters.
    pub limiters: Limiters,
    /// Qualifications.
    pub qualifications: QualificationRules,
    /// Gates.
    pub gates: GateRules,
    /// Payments.
    pub payments: PaymentRules,
    /// Withhold/release.
    pub withhold_release: WithholdReleaseRules,
    /// Early warning.
    pub early_warning: EarlyWarningRules,
    /// When visits fall due.
    #[serde(default)]
    pub planning: PlanningRules,
}

/// A tier by rank: 0 is no tier; the best tier has the highest rank.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct TierRef {
    /// Rank (Bronze 1, Silver 2, Gold 3 by default).
    pub rank: u8,
    /// Name.
    pub name: String,
}

fn de_percent<'de, D: Deserializer<'de>>(d: D) -> Result<Ratio, D::Error> {
    let v = f64::deserialize(d)?;
    Ratio::from_decimal(v).ok_or_else(|| {
        serde::de::Error::custom("must be a number with at most three decimal places")
    })
}

#[derive(Deserialize)]
#[serde(untagged)]
enum DateValue {
    Text(String),
    Toml(toml::value::Datetime),
}

fn de_date<'de, D: Deserializer<'de>>(d: D) -> Result<NaiveDate, D::Error> {
    let text = match DateValue::deserialize(d)? {
        DateValue::Text(s) => s,
        DateValue::Toml(t) => t.to_string(),
    };
    NaiveDate::parse_from_str(&text, "%Y-%m-%d")
        .map_err(|_| serde::de::Error::custom(format!("`{text}` is not a date (YYYY-MM-DD)")))
}

const DOC: &str = "rule set";

impl RuleSet {
    /// Parses and validates a rule set from TOML.
    pub fn from_toml(text: &str) -> Result<RuleSet, LoadError> {
        let rs: RuleSet = parse_toml(DOC, text)?;
        let mut p = Problems::default();
        rs.validate(&mut p);
        p.into_result(DOC, rs)
    }

    pub(crate) fn validate(&self, p: &mut Problems) {
        let hundred = Ratio::integer(100);
        let pct_ok = |r: Ratio| Ratio::ZERO <= r && r <= hundred;
        if self.name.trim().is_empty() {
            p.add("name", "must not be empty");
        }
        if self.version.trim().is_empty() {
            p.add("version", "must not be empty");
        }
        if !pct_ok(self.scoring.max_not_assessed_percent) {
            p.add(
                "scoring.max_not_assessed_percent",
                "must be between 0 and 100",
            );
        }
        if self.tiers.is_empty() {
            p.add("tiers", "a rule set needs at least one tier");
        }
        if self.tiers.len() > 20 {
            p.add("tiers", "at most 20 tiers");
        }
        let mut names = HashSet::new();
        for (i, t) in self.tiers.iter().enumerate() {
            let path = format!("tiers[{i}]");
            if t.name.trim().is_empty() || t.name.eq_ignore_ascii_case("none") {
                p.add(format!("{path}.name"), "must be a name other than `none`");
            } else if !names.insert(t.name.to_lowercase()) {
                p.add(
                    format!("{path}.name"),
                    format!("duplicate tier `{}`", t.name),
                );
            }
            if !pct_ok(t.min_overall_percent) {
                p.add(
                    format!("{path}.min_overall_percent"),
                    "must be between 0 and 100",
                );
            }
            if !pct_ok(t.min_domain_percent) {
                p.add(
                    format!("{path}.min_domain_percent"),
                    "must be between 0 and 100",
                );
            }
            if t.weekly_premium_pence < 0 {
                p.add(
                    format!("{path}.weekly_premium_pence"),
                    "must not be negative",
                );
            }
            if let Some(prev) = i.checked_sub(1).map(|j| &self.tiers[j]) {
                if t.min_overall_percent > prev.min_overall_percent
                    || t.min_domain_percent > prev.min_domain_percent
                {
                    p.add(
                        format!("{path}.min_overall_percent"),
                        "tiers are listed best first: thresholds must not rise down the list",
                    );
                }
                if t.weekly_premium_pence > prev.weekly_premium_pence {
                    p.add(
                        format!("{path}.weekly_premium_pence"),
                        "tiers are listed best first: a lower tier cannot pay more",
                    );
                }
            }
        }
        if self
            .tier_cap_rank(&self.scoring.critical_failure_cap)
            .is_none()
        {
            p.add(
                "scoring.critical_failure_cap",
                format!("unknown tier `{}`", self.scoring.critical_failure_cap),
            );
        }
        for (i, c) in self.limiters.cqc.iter().enumerate() {
            if self.tier_cap_rank(&c.cap).is_none() {
                p.add(
                    format!("limiters.cqc[{i}].cap"),
                    format!("unknown tier `{}`", c.cap),
                );
            }
        }
        if self.planning.follow_up_after_poor_months == 0 {
            p.add("planning.follow_up_after_poor_months", "must be at least 1");
        }
        if self.planning.poor_below_percent > 100 {
            p.add("planning.poor_below_percent", "must be 100 or less");
        }
        if self.limiters.annual_visit_interval_months == 0 {
            p.add(
                "limiters.annual_visit_interval_months",
                "must be at least 1",
            );
        }
        for (kind, amount) in &self.qualifications.weekly_pence {
            if *amount < 0 {
                p.add(
                    format!("qualifications.weekly_pence.{}", kind_key(*kind)),
                    "must not be negative",
                );
            }
        }
        if self.qualifications.weekly_cap_pence < 0 {
            p.add("qualifications.weekly_cap_pence", "must not be negative");
        }
        if self.qualifications.iso9001_surveillance_months == 0 {
            p.add(
                "qualifications.iso9001_surveillance_months",
                "must be at least 1",
            );
        }
        if self.payments.weekly_cap_pence < 0 {
            p.add("payments.weekly_cap_pence", "must not be negative");
        }
        if !pct_ok(self.withhold_release.withhold_percent) {
            p.add(
                "withhold_release.withhold_percent",
                "must be between 0 and 100",
            );
        }
        for (i, b) in self.withhold_release.bands.iter().enumerate() {
            if !pct_ok(b.min_score_percent) {
                p.add(
                    format!("withhold_release.bands[{i}].min_score_percent"),
                    "must be between 0 and 100",
                );
            }
            if !pct_ok(b.release_percent) {
                p.add(
                    format!("withhold_release.bands[{i}].release_percent"),
                    "must be between 0 and 100",
                );
            }
            if i > 0 && b.min_score_percent >= self.withhold_release.bands[i - 1].min_score_percent
            {
                p.add(
                    format!("withhold_release.bands[{i}].min_score_percent"),
                    "bands are listed highest score first",
                );
            }
        }
    }

    /// The rank a cap allows: `none` is 0, otherwise the named tier's rank.
    pub fn tier_cap_rank(&self, cap: &str) -> Option<u8> {
        if cap.eq_ignore_ascii_case("none") {
            return Some(0);
        }
        self.tiers
            .iter()
            .position(|t| t.name.eq_ignore_ascii_case(cap))
            .map(|i| (self.tiers.len() - i) as u8)
    }

    /// The tier at a rank (`None` for rank 0 or out of range).
    pub fn tier_at(&self, rank: u8) -> Option<&TierRule> {
        let n = self.tiers.len();
        let rank = rank as usize;
        (1..=n).contains(&rank).then(|| &self.tiers[n - rank])
    }

    /// A reference to the tier at a rank.
    pub fn tier_ref(&self, rank: u8) -> Option<TierRef> {
        self.tier_at(rank).map(|t| TierRef {
            rank,
            name: t.name.clone(),
        })
    }

    /// The highest rank.
    pub fn top_rank(&self) -> u8 {
        self.tiers.len() as u8
    }

    /// The weekly gate effect for a gate kind.
    pub fn gate_effect(&self, kind: crate::records::GateKind) -> GateEffect {
        use crate::records::GateKind::*;
        match kind {
            S42Enquiry => self.gates.s42_enquiry,
            LargeScaleEnquiry => self.gates.large_scale_enquiry,
            PlacementEmbargo => self.gates.placement_embargo,
            ContractDefault => self.gates.contract_default,
        }
    }
}

fn kind_key(kind: QualificationKind) -> &'static str {
    match kind {
        QualificationKind::IipStandard => "iip_standard",
        QualificationKind::IipSilver => "iip_silver",
        QualificationKind::IipGold => "iip_gold",
        QualificationKind::IipPlatinum => "iip_platinum",
        QualificationKind::Iso9001 => "iso9001",
    }
}

/// Every rule set of a scheme, past, current and scheduled.
#[derive(Clone, Debug, Default, Serialize)]
pub struct RuleBook {
    // Sorted by effective date; validated to have distinct dates and versions.
    sets: Vec<RuleSet>,
}

impl RuleBook {
    /// A rule book from rule sets given in any order. Two rule sets may not share an effective
    /// date or a version.
    pub fn new(mut sets: Vec<RuleSet>) -> Result<RuleBook, LoadError> {
        sets.sort_by_key(|s| s.effective_from);
        let mut p = Problems::default();
        let mut versions = HashSet::new();
        for (i, s) in sets.iter().enumerate() {
            if !versions.insert(s.version.clone()) {
                p.add(
                    "version",
                    format!("two rule sets have version `{}`", s.version),
                );
            }
            if i > 0 && sets[i - 1].effective_from == s.effective_from {
                p.add(
                    "effective_from",
                    format!("two rule sets take effect on {}", s.effective_from),
                );
            }
        }
        p.into_result("rule book", RuleBook { sets })
    }

    /// The rule set in force on a day, if any.
    pub fn in_force(&self, day: NaiveDate) -> Option<&RuleSet> {
        let i = self.sets.partition_point(|s| s.effective_from <= day);
        i.checked_sub(1).map(|i| &self.sets[i])
    }

    /// All rule sets, by effective date.
    pub fn sets(&self) -> &[RuleSet] {
        &self.sets
    }
}
