//! Tier determination: a location's tier on a day, and an explanation of why.
//!
//! Order of application (each step recorded in the explanation):
//! 1. the rule set in force on the day, and the location's registration;
//! 2. the latest conclusive published visit (inconclusive ones are skipped and listed), scored
//!    with the rule set's scoring rules, gives the quality tier;
//! 3. a failed critical criterion caps it; a qualification uplift (if enabled) lifts a tier that
//!    exists; CQC caps, overdue actions and a lapsed annual visit then limit it;
//! 4. qualifications add to the weekly amount of a tier that exists, within their cap, and the
//!    total is capped;
//! 5. gates override everything: the premium is held, forfeited, released or suspended.

use crate::calendar::{add_days, add_months};
use crate::framework::PackLibrary;
use crate::labels::long_date;
use crate::money::Pence;
use crate::records::{
    CqcRating, CqcRatingValue, Gate, GateKind, GateOutcome, LocationRecords, PublishedVisit,
    Qualification, QualificationFamily, QualificationKind, VisitType,
};
use crate::scheme::{GateEffect, RuleBook, RuleSet, TierRef};
use crate::scoring::{ScoreSummary, score};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use uuid::Uuid;

/// Which rule set was used.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleSetRef {
    /// Scheme name.
    pub name: String,
    /// Version.
    pub version: String,
    /// First day in force.
    pub effective_from: NaiveDate,
}

impl From<&RuleSet> for RuleSetRef {
    fn from(r: &RuleSet) -> Self {
        RuleSetRef {
            name: r.name.clone(),
            version: r.version.clone(),
            effective_from: r.effective_from,
        }
    }
}

/// Which visit revision was used (or skipped).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VisitRef {
    /// The visit.
    pub visit_id: Uuid,
    /// Its revision.
    pub revision: u32,
    /// Kind of visit.
    pub visit_type: VisitType,
    /// Day of the visit.
    pub visited_on: NaiveDate,
    /// Day the revision took effect.
    pub effective_on: NaiveDate,
    /// Pack id.
    pub pack_id: String,
    /// Pack version.
    pub pack_version: String,
}

impl From<&PublishedVisit> for VisitRef {
    fn from(v: &PublishedVisit) -> Self {
        VisitRef {
            visit_id: v.visit_id,
            revision: v.revision,
            visit_type: v.visit_type,
            visited_on: v.visited_on,
            effective_on: v.effective_on,
            pack_id: v.pack_id.clone(),
            pack_version: v.pack_version.clone(),
        }
    }
}

/// A visit that could not set the tier, and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SkippedVisit {
    /// The visit revision.
    pub visit: VisitRef,
    /// Why it was skipped.
    pub reason: String,
}

/// What moved the tier after the score.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LimiterKind {
    /// A critical criterion failed.
    CriticalFailure,
    /// A qualification lifted the tier one step.
    QualificationUplift,
    /// A CQC rating capped the tier.
    CqcRating,
    /// An overdue action cost tiers.
    OverdueAction,
    /// The annual visit is overdue past the grace period.
    VisitLapsed,
}

/// One limiter (or uplift) that fired.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LimiterEffect {
    /// Which.
    pub kind: LimiterKind,
    /// In plain words.
    pub detail: String,
    /// Tier rank before.
    pub rank_before: u8,
    /// Tier rank after.
    pub rank_after: u8,
}

/// A qualification considered, and whether it counted.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct QualificationEffect {
    /// The qualification record.
    pub qualification_id: Uuid,
    /// Its kind.
    pub kind: QualificationKind,
    /// Whether it is valid for this location on this day.
    pub valid: bool,
    /// Why it is or is not valid.
    pub reason: String,
    /// What it adds per week before the cap (zero if invalid, or if a better one of the same
    /// family already counts, or if there is no tier).
    pub weekly: Pence,
}

/// A gate in effect on the day.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GateRecord {
    /// The gate.
    pub gate_id: Uuid,
    /// Its kind.
    pub kind: GateKind,
    /// What it does.
    pub effect: GateEffect,
    /// When it opened.
    pub opened_on: NaiveDate,
    /// When it closed, if it has.
    pub closed_on: Option<NaiveDate>,
    /// Outcome, if known.
    pub outcome: Option<GateOutcome>,
    /// For a closed suspending gate: the day the premium resumes.
    pub resumes_on: Option<NaiveDate>,
}

/// What happens to the premium on the day.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PremiumStatus {
    /// No tier: nothing is earned.
    NoTier,
    /// Earned and payable.
    Payable,
    /// Held during an s.42 enquiry that was not substantiated: payable.
    Released,
    /// Held during an open s.42 enquiry (outcome not yet known).
    OnHold,
    /// Held during an s.42 enquiry that was substantiated: not paid.
    Forfeited,
    /// Suspended by a gate or its sustainability period: not earned.
    Suspended,
}

impl PremiumStatus {
    /// Whether the premium for a day with this status is paid.
    pub fn is_paid(self) -> bool {
        matches!(self, PremiumStatus::Payable | PremiumStatus::Released)
    }
}

/// The weekly amounts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PremiumRate {
    /// The tier's weekly amount.
    pub tier_weekly: Pence,
    /// Qualification amounts summed, before their cap.
    pub qualification_weekly_uncapped: Pence,
    /// Qualification amount after its cap.
    pub qualification_weekly: Pence,
    /// Whether the qualification cap cut the amount.
    pub qualification_cap_applied: bool,
    /// Whether the weekly cap cut the total.
    pub weekly_cap_applied: bool,
    /// The weekly premium: tier plus qualifications, capped.
    pub weekly: Pence,
}

/// The CQC rating used.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CqcRef {
    /// The record.
    pub id: Uuid,
    /// Overall rating.
    pub overall: CqcRatingValue,
    /// Worst of overall and key questions.
    pub worst: CqcRatingValue,
    /// Publication date.
    pub published_on: NaiveDate,
}

/// A location's tier on a day, with everything that explains it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Determination {
    /// The location.
    pub location_id: Uuid,
    /// The day determined.
    pub on: NaiveDate,
    /// Rule set used; `None` when none was in force.
    pub rule_set: Option<RuleSetRef>,
    /// Visit used.
    pub visit: Option<VisitRef>,
    /// Its scores.
    pub scores: Option<ScoreSummary>,
    /// Newer visits that could not be used.
    pub skipped_visits: Vec<SkippedVisit>,
    /// The tier the scores alone reach.
    pub quality_tier: Option<TierRef>,
    /// Limiters and uplifts that fired, in order.
    pub limiters: Vec<LimiterEffect>,
    /// The tier held.
    pub tier: Option<TierRef>,
    /// CQC rating in force.
    pub cqc: Option<CqcRef>,
    /// Qualifications considered.
    pub qualifications: Vec<QualificationEffect>,
    /// Gates in effect.
    pub gates: Vec<GateRecord>,
    /// The weekly amounts.
    pub rate: PremiumRate,
    /// What happens to the premium.
    pub status: PremiumStatus,
    /// Other facts that decided the outcome (no rule set, not registered, no visit…).
    pub notes: Vec<String>,
}

impl Determination {
    fn empty(location_id: Uuid, on: NaiveDate) -> Determination {
        Determination {
            location_id,
            on,
            rule_set: None,
            visit: None,
            scores: None,
            skipped_visits: vec![],
            quality_tier: None,
            limiters: vec![],
            tier: None,
            cqc: None,
            qualifications: vec![],
            gates: vec![],
            rate: PremiumRate::default(),
            status: PremiumStatus::NoTier,
            notes: vec![],
        }
    }

    /// The tier's rank (0 for no tier).
    pub fn rank(&self) -> u8 {
        self.tier.as_ref().map_or(0, |t| t.rank)
    }
}

/// Scores keyed by (visit index in the location's records, rule set's effective date), so that a
/// visit is scored once per rule set however many days are determined.
pub(crate) type ScoreCache = HashMap<(usize, NaiveDate), ScoreSummary>;

/// The engine: framework packs and scheme rules, applied to records.
#[derive(Clone, Copy)]
pub struct Engine<'a> {
    /// Known framework packs.
    pub packs: &'a PackLibrary,
    /// Scheme rules.
    pub rules: &'a RuleBook,
}

impl<'a> Engine<'a> {
    /// An engine over these packs and rules.
    pub fn new(packs: &'a PackLibrary, rules: &'a RuleBook) -> Engine<'a> {
        Engine { packs, rules }
    }

    /// Determines a location's tier on a day.
    pub fn determine(&self, records: &LocationRecords, day: NaiveDate) -> Determination {
        self.determine_cached(records, day, &mut ScoreCache::new())
    }

    /// The first day of the run of days up to `day` over which `same` holds between each day's
    /// determination and `day`'s: for example the first day of the current tier and premium.
    /// Determinations change only at change points, so only those are tried, latest first.
    pub fn since(
        &self,
        records: &LocationRecords,
        day: NaiveDate,
        same: impl Fn(&Determination, &Determination) -> bool,
    ) -> NaiveDate {
        let start = records.location.registered_from.min(day);
        let now = self.determine(records, day);
        let mut points = change_points(records, self.rules, start, day);
        points.sort_unstable();
        points.dedup();
        let mut cache = ScoreCache::new();
        for p in points.into_iter().rev().filter(|p| *p > start) {
            let before = self.determine_cached(records, add_days(p, -1), &mut cache);
            if !same(&before, &now) {
                return p;
            }
        }
        start
    }

    /// The first day of the current tier, weekly premium and premium status ("in effect since").
    pub fn in_effect_since(&self, records: &LocationRecords, day: NaiveDate) -> NaiveDate {
        self.since(records, day, |a, b| {
            a.rank() == b.rank() && a.rate.weekly == b.rate.weekly && a.status == b.status
        })
    }

    /// The first day of the current tier, whatever the premium did meanwhile.
    pub fn tier_since(&self, records: &LocationRecords, day: NaiveDate) -> NaiveDate {
        self.since(records, day, |a, b| a.rank() == b.rank())
    }

    pub(crate) fn determine_cached(
        &self,
        records: &LocationRecords,
        day: NaiveDate,
        cache: &mut ScoreCache,
    ) -> Determination {
        let loc = &records.location;
        let mut det = Determination::empty(loc.id, day);
        let Some(rules) = self.rules.in_force(day) else {
            det.notes.push(format!("no rule set is in force on {day}"));
            return det;
        };
        det.rule_set = Some(rules.into());

        if day < loc.registered_from || loc.registered_to.is_some_and(|to| day > to) {
            det.notes.push(format!(
                "location {} is not registered on {day}",
                loc.cqc_location_id
            ));
            return det;
        }

        // The latest conclusive published visit.
        let mut latest: BTreeMap<Uuid, usize> = BTreeMap::new();
        for (i, v) in records.visits.iter().enumerate() {
            if v.location_id != loc.id || v.effective_on > day {
                continue;
            }
            let e = latest.entry(v.visit_id).or_insert(i);
            if v.revision > records.visits[*e].revision {
                *e = i;
            }
        }
        let mut candidates: Vec<usize> = latest.into_values().collect();
        candidates.sort_by(|&a, &b| {
            let (va, vb) = (&records.visits[a], &records.visits[b]);
            (vb.visited_on, vb.effective_on, vb.visit_id).cmp(&(
                va.visited_on,
                va.effective_on,
                va.visit_id,
            ))
        });
        let mut chosen = None;
        for i in candidates {
            let v = &records.visits[i];
            let Some(pack) = self.packs.get(&v.pack_id, &v.pack_version) else {
                det.skipped_visits.push(SkippedVisit {
                    visit: v.into(),
                    reason: format!(
                        "framework pack {} {} is not known",
                        v.pack_id, v.pack_version
                    ),
                });
                continue;
            };
            let summary = cache
                .entry((i, rules.effective_from))
                .or_insert_with(|| score(pack, &v.answers, &rules.scoring));
            if summary.conclusive {
                chosen = Some((v, summary.clone()));
                break;
            }
            det.skipped_visits.push(SkippedVisit {
                visit: v.into(),
                reason: format!(
                    "inconclusive: {}",
                    summary.inconclusive_reason.as_deref().unwrap_or("")
                ),
            });
        }

        det.cqc = cqc_in_force(&records.cqc_ratings, loc.id, day).map(|r| CqcRef {
            id: r.id,
            overall: r.overall,
            worst: r.worst(),
            published_on: r.published_on,
        });
        det.gates = gates_in_effect(&records.gates, loc.id, day, rules);

        let Some((visit, scores)) = chosen else {
            det.notes.push("no conclusive published visit".to_owned());
            det.qualifications = qualification_effects(records, day, rules, false);
            return det;
        };
        det.visit = Some(visit.into());
        let quality_rank = quality_rank(&scores, rules);
        det.quality_tier = rules.tier_ref(quality_rank);
        let mut rank = quality_rank;

        if !scores.critical_failures.is_empty() {
            let cap = rules
                .tier_cap_rank(&rules.scoring.critical_failure_cap)
                .unwrap_or(0);
            let ids: Vec<&str> = scores
                .critical_failures
                .iter()
                .map(|c| c.criterion_id.as_str())
                .collect();
            rank = limited(
                &mut det,
                rank,
                LimiterKind::CriticalFailure,
                rank.min(cap),
                format!("critical criteria failed: {}", ids.join(", ")),
            );
        }

        let quals = qualification_effects(records, day, rules, true);
        if rules.qualifications.tier_step_up && rank > 0 && quals.iter().any(|q| q.valid) {
            rank = limited(
                &mut det,
                rank,
                LimiterKind::QualificationUplift,
                (rank + 1).min(rules.top_rank()),
                "a valid qualification lifts the tier one step".to_owned(),
            );
        }

        if let Some(r) = cqc_in_force(&records.cqc_ratings, loc.id, day) {
            for cap in &rules.limiters.cqc {
                let Some(value) = r.rating_for(cap.key_question) else {
                    continue;
                };
                if value <= cap.rating {
                    let cap_rank = rules.tier_cap_rank(&cap.cap).unwrap_or(0);
                    rank = limited(
                        &mut det,
                        rank,
                        LimiterKind::CqcRating,
                        rank.min(cap_rank),
                        format!(
                            "CQC {} rated {} (published {}): at most {}",
                            cap.key_question.label(),
                            value.label(),
                            crate::labels::long_date(r.published_on),
                            cap.cap
                        ),
                    );
                }
            }
        }

        let overdue: Vec<_> = records
            .actions
            .iter()
            .filter(|a| {
                a.location_id == loc.id
                    && rules
                        .limiters
                        .overdue_action_priorities
                        .contains(&a.priority)
                    && a.is_overdue_on(day)
            })
            .collect();
        if let Some(first) = overdue.iter().min_by_key(|a| (a.due_on, a.id)) {
            rank = limited(
                &mut det,
                rank,
                LimiterKind::OverdueAction,
                rank.saturating_sub(rules.limiters.overdue_action_tier_steps),
                format!(
                    "{} ({} priority), the oldest due {}",
                    crate::labels::count(overdue.len(), "overdue action", "overdue actions"),
                    first.priority.label().to_lowercase(),
                    crate::labels::long_date(first.due_on)
                ),
            );
        }

        let lapses_after = lapse_day(visit.visited_on, rules);
        if day > lapses_after {
            rank = limited(
                &mut det,
                rank,
                LimiterKind::VisitLapsed,
                0,
                format!(
                    "last conclusive visit on {}: the tier lapsed after {lapses_after}",
                    visit.visited_on
                ),
            );
        }

        det.scores = Some(scores);
        det.tier = rules.tier_ref(rank);
        det.qualifications = quals;
        if det.tier.is_none() {
            for q in &mut det.qualifications {
                q.weekly = Pence::ZERO;
            }
        }
        det.rate = premium_rate(rules, rank, &det.qualifications);
        if !rules.mode.pays_premiums() {
            // The tier still stands (it is the accreditation); only the money is off.
            det.rate = PremiumRate::default();
            for q in &mut det.qualifications {
                q.weekly = Pence::ZERO;
            }
            det.notes.push(format!(
                "rule set {} runs withhold and release only: no weekly premium is paid",
                rules.version
            ));
        }
        det.status = premium_status(rank, &det.gates);
        det
    }
}

/// Records a limiter (or uplift) when it changes the rank, and returns the new rank.
fn limited(
    det: &mut Determination,
    rank: u8,
    kind: LimiterKind,
    new_rank: u8,
    detail: String,
) -> u8 {
    if new_rank != rank {
        det.limiters.push(LimiterEffect {
            kind,
            detail,
            rank_before: rank,
            rank_after: new_rank,
        });
    }
    new_rank
}

/// The last day a tier can rest on a visit: interval plus grace months after it.
pub(crate) fn lapse_day(visited_on: NaiveDate, rules: &RuleSet) -> NaiveDate {
    add_months(
        visited_on,
        rules.limiters.annual_visit_interval_months + rules.limiters.visit_lapse_grace_months,
    )
}

/// What a visit's own scores would earn under a rule set, before CQC ratings, gates,
/// qualifications and lapse are applied: the indicative tier a monitor sees while scoring.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IndicativeTier {
    /// The tier the percentages reach.
    pub quality_tier: Option<TierRef>,
    /// After the critical-failure cap.
    pub tier: Option<TierRef>,
    /// Why the tier is lower than the quality tier, if it is.
    pub capped_because: Option<String>,
}

/// The indicative tier of one visit's scores (see [`IndicativeTier`]). An inconclusive visit
/// earns no tier, as on the server.
pub fn indicative_tier(scores: &ScoreSummary, rules: &RuleSet) -> IndicativeTier {
    if !scores.conclusive {
        return IndicativeTier {
            quality_tier: None,
            tier: None,
            capped_because: scores.inconclusive_reason.clone(),
        };
    }
    let quality = quality_rank(scores, rules);
    let mut rank = quality;
    let mut capped_because = None;
    if !scores.critical_failures.is_empty() {
        let cap = rules
            .tier_cap_rank(&rules.scoring.critical_failure_cap)
            .unwrap_or(0);
        if cap < rank {
            rank = cap;
            let ids: Vec<&str> = scores
                .critical_failures
                .iter()
                .map(|c| c.criterion_id.as_str())
                .collect();
            capped_because = Some(format!("critical criteria failed: {}", ids.join(", ")));
        }
    }
    IndicativeTier {
        quality_tier: rules.tier_ref(quality),
        tier: rules.tier_ref(rank),
        capped_because,
    }
}

fn quality_rank(scores: &ScoreSummary, rules: &RuleSet) -> u8 {
    let (Some(overall), Some(lowest)) = (scores.overall, scores.lowest_domain()) else {
        return 0;
    };
    let n = rules.tiers.len();
    rules
        .tiers
        .iter()
        .position(|t| overall >= t.min_overall_percent && lowest >= t.min_domain_percent)
        .map_or(0, |i| (n - i) as u8)
}

/// The CQC rating in force on a day: the latest published on or before it.
pub(crate) fn cqc_in_force(
    ratings: &[CqcRating],
    location: Uuid,
    day: NaiveDate,
) -> Option<&CqcRating> {
    ratings
        .iter()
        .filter(|r| r.location_id == location && r.published_on <= day)
        .max_by_key(|r| (r.published_on, r.inspected_on, r.id))
}

/// Whether a gate is open on a day: `opened_on ≤ day < closed_on`.
pub(crate) fn gate_open_on(g: &Gate, day: NaiveDate) -> bool {
    g.opened_on <= day && g.closed_on.is_none_or(|c| day < c)
}

/// For a closed suspending gate, the day the premium (or a contract's release) resumes: the
/// closing day plus the sustainability period. `None` for a hold, or a gate still open.
pub(crate) fn resumes_on(g: &Gate, rules: &RuleSet) -> Option<NaiveDate> {
    match (rules.gate_effect(g.kind), g.closed_on) {
        (GateEffect::Suspend, Some(c)) => {
            Some(add_days(c, 7 * rules.gates.sustainability_weeks as i64))
        }
        _ => None,
    }
}

fn gates_in_effect(
    gates: &[Gate],
    location: Uuid,
    day: NaiveDate,
    rules: &RuleSet,
) -> Vec<GateRecord> {
    let mut out: Vec<GateRecord> = gates
        .iter()
        .filter(|g| g.location_id == location && g.opened_on <= day)
        .filter_map(|g| {
            let effect = rules.gate_effect(g.kind);
            let resumes_on = resumes_on(g, rules);
            let applies = match effect {
                GateEffect::Hold => gate_open_on(g, day),
                GateEffect::Suspend => resumes_on.is_none_or(|r| day < r),
            };
            applies.then_some(GateRecord {
                gate_id: g.id,
                kind: g.kind,
                effect,
                opened_on: g.opened_on,
                closed_on: g.closed_on,
                outcome: g.outcome,
                resumes_on,
            })
        })
        .collect();
    out.sort_by_key(|g| (g.opened_on, g.gate_id));
    out
}

/// Why a qualification does or does not count for a location on a day.
pub(crate) fn qualification_validity(
    q: &Qualification,
    location: Uuid,
    day: NaiveDate,
    rules: &RuleSet,
) -> Result<String, String> {
    if !q.covered_locations.contains(&location) {
        return Err("its scope does not cover this location".to_owned());
    }
    let Some(verified_on) = q.verified_on else {
        return Err("not verified".to_owned());
    };
    let backdate_limit = add_days(
        q.issued_on,
        rules.qualifications.verification_backdate_days as i64,
    );
    let effective_from = if verified_on <= backdate_limit {
        q.issued_on
    } else {
        verified_on
    };
    if day < effective_from {
        return Err(format!("counts from {}", long_date(effective_from)));
    }
    if day > q.expires_on {
        return Err(format!("expired on {}", long_date(q.expires_on)));
    }
    if q.kind == QualificationKind::Iso9001 {
        let audit = q
            .last_surveillance_on
            .unwrap_or(q.issued_on)
            .max(q.issued_on);
        let due = add_months(audit, rules.qualifications.iso9001_surveillance_months);
        if day > due {
            return Err(format!(
                "no surveillance audit since {} (one was due by {})",
                long_date(audit),
                long_date(due)
            ));
        }
    }
    Ok(format!(
        "valid from {} to {}",
        long_date(effective_from),
        long_date(q.expires_on)
    ))
}

fn qualification_effects(
    records: &LocationRecords,
    day: NaiveDate,
    rules: &RuleSet,
    tier_possible: bool,
) -> Vec<QualificationEffect> {
    let loc = records.location.id;
    let mut effects: Vec<QualificationEffect> = records
        .qualifications
        .iter()
        .filter(|q| q.provider_id == records.location.provider_id)
        .map(|q| {
            let validity = qualification_validity(q, loc, day, rules);
            QualificationEffect {
                qualification_id: q.id,
                kind: q.kind,
                valid: validity.is_ok(),
                reason: validity.unwrap_or_else(|e| e),
                weekly: Pence::ZERO,
            }
        })
        .collect();
    effects.sort_by_key(|e| (e.kind, e.qualification_id));
    if !tier_possible {
        return effects;
    }
    // One amount per family: the best valid certificate in it.
    let mut best: BTreeMap<QualificationFamily, (i64, usize)> = BTreeMap::new();
    for (i, e) in effects.iter().enumerate().filter(|(_, e)| e.valid) {
        let amount = rules
            .qualifications
            .weekly_pence
            .get(&e.kind)
            .copied()
            .unwrap_or(0);
        let slot = best.entry(e.kind.family()).or_insert((amount, i));
        if amount > slot.0 {
            *slot = (amount, i);
        }
    }
    for (amount, i) in best.into_values() {
        effects[i].weekly = Pence(amount);
    }
    effects
}

fn premium_rate(rules: &RuleSet, rank: u8, quals: &[QualificationEffect]) -> PremiumRate {
    let Some(tier) = rules.tier_at(rank) else {
        return PremiumRate::default();
    };
    let uncapped: i64 = quals.iter().map(|q| q.weekly.0).sum();
    let qual = uncapped.min(rules.qualifications.weekly_cap_pence);
    let total = tier.weekly_premium_pence + qual;
    let weekly = total.min(rules.payments.weekly_cap_pence);
    PremiumRate {
        tier_weekly: Pence(tier.weekly_premium_pence),
        qualification_weekly_uncapped: Pence(uncapped),
        qualification_weekly: Pence(qual),
        qualification_cap_applied: qual < uncapped,
        weekly_cap_applied: weekly < total,
        weekly: Pence(weekly),
    }
}

fn premium_status(rank: u8, gates: &[GateRecord]) -> PremiumStatus {
    if rank == 0 {
        return PremiumStatus::NoTier;
    }
    if gates.iter().any(|g| g.effect == GateEffect::Suspend) {
        return PremiumStatus::Suspended;
    }
    let held: Vec<PremiumStatus> = gates
        .iter()
        .filter(|g| g.effect == GateEffect::Hold)
        .map(|g| match g.outcome {
            Some(GateOutcome::Substantiated) => PremiumStatus::Forfeited,
            Some(GateOutcome::NotSubstantiated) => PremiumStatus::Released,
            _ => PremiumStatus::OnHold,
        })
        .collect();
    if held.contains(&PremiumStatus::Forfeited) {
        PremiumStatus::Forfeited
    } else if held.contains(&PremiumStatus::OnHold) {
        PremiumStatus::OnHold
    } else if held.contains(&PremiumStatus::Released) {
        PremiumStatus::Released
    } else {
        PremiumStatus::Payable
    }
}

/// Every day in `(from, to]` on which a location's determination may differ from the day before,
/// plus `from` itself. Determining once per resulting segment equals determining every day (a
/// property test holds the engine to that).
pub(crate) fn change_points(
    records: &LocationRecords,
    book: &RuleBook,
    from: NaiveDate,
    to: NaiveDate,
) -> Vec<NaiveDate> {
    let mut pts = vec![from];
    let mut push = |d: NaiveDate| {
        if from < d && d <= to {
            pts.push(d);
        }
    };
    let loc = &records.location;
    push(loc.registered_from);
    if let Some(t) = loc.registered_to {
        push(add_days(t, 1));
    }
    let mut lapse_months = Vec::new();
    let mut surveillance_months = Vec::new();
    let mut sustain_weeks = Vec::new();
    for s in book.sets() {
        push(s.effective_from);
        lapse_months
            .push(s.limiters.annual_visit_interval_months + s.limiters.visit_lapse_grace_months);
        surveillance_months.push(s.qualifications.iso9001_surveillance_months);
        sustain_weeks.push(s.gates.sustainability_weeks);
    }
    for v in &records.visits {
        push(v.effective_on);
        for &m in &lapse_months {
            push(add_days(add_months(v.visited_on, m), 1));
        }
    }
    for r in &records.cqc_ratings {
        push(r.published_on);
    }
    for a in &records.actions {
        push(add_days(a.due_on, 1));
        if let Some(c) = a.completed_on {
            push(c);
        }
    }
    for q in &records.qualifications {
        push(q.issued_on);
        if let Some(v) = q.verified_on {
            push(v);
        }
        push(add_days(q.expires_on, 1));
        let audit = q
            .last_surveillance_on
            .unwrap_or(q.issued_on)
            .max(q.issued_on);
        for &m in &surveillance_months {
            push(add_days(add_months(audit, m), 1));
        }
    }
    for g in &records.gates {
        push(g.opened_on);
        if let Some(c) = g.closed_on {
            push(c);
            for &w in &sustain_weeks {
                push(add_days(c, 7 * w as i64));
            }
        }
    }
    pts.sort_unstable();
    pts.dedup();
    pts
}
