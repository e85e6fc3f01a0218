//! Tier determination (DOMAIN.md §5) and its explanation.

mod common;
use accredit_shared::determination::{LimiterKind, PremiumStatus};
use accredit_shared::records::*;
use accredit_shared::scheme::{Rescale, RuleBook};
use accredit_shared::{Engine, Pence};
use common::*;

fn tier_of(records: &LocationRecords, book: &RuleBook, day: chrono::NaiveDate) -> Option<String> {
    determine(records, book, day).tier.map(|t| t.name)
}

fn with_visit(pattern: [i32; 4]) -> LocationRecords {
    let mut r = records();
    r.visits
        .push(visit(1, d(2026, 5, 1), d(2026, 5, 20), pattern));
    r
}

#[test]
fn thresholds_decide_the_tier() {
    let book = book();
    let day = d(2026, 6, 1);
    assert_eq!(
        tier_of(&with_visit(GOLD), &book, day).as_deref(),
        Some("Gold")
    );
    assert_eq!(
        tier_of(&with_visit(SILVER), &book, day).as_deref(),
        Some("Silver")
    );
    assert_eq!(
        tier_of(&with_visit(BRONZE), &book, day).as_deref(),
        Some("Bronze")
    );
    assert_eq!(tier_of(&with_visit(NONE), &book, day), None);
}

#[test]
fn every_domain_must_reach_its_threshold() {
    let mut r = with_visit(GOLD);
    // Caring at 33%: overall (4 × 100 + 33.3) / 5 = 86.7% passes Gold's overall bar, but caring
    // is below every domain threshold.
    for c in 1..=4 {
        r.visits[0]
            .answers
            .insert(format!("caring.c{c}"), Answer::Score(2));
    }
    let book = book();
    let det = determine(&r, &book, d(2026, 6, 1));
    assert!(
        det.scores.as_ref().unwrap().overall.unwrap() > accredit_shared::ratio::Ratio::integer(85)
    );
    assert_eq!(det.tier, None);
}

#[test]
fn tier_takes_effect_on_publication_not_visit() {
    let book = book();
    let r = with_visit(GOLD);
    assert_eq!(tier_of(&r, &book, d(2026, 5, 19)), None);
    assert_eq!(tier_of(&r, &book, d(2026, 5, 20)).as_deref(), Some("Gold"));
}

#[test]
fn the_two_rescale_modes_give_different_tiers() {
    let shift = book();
    let mut ratio_rules = scheme_from(d(2000, 1, 1));
    ratio_rules.scoring.rescale = Rescale::Ratio;
    let ratio = RuleBook::new(vec![ratio_rules]).unwrap();
    let r = with_visit([3, 3, 3, 2]); // shift 58.3%, ratio 68.75%
    assert_eq!(tier_of(&r, &shift, d(2026, 6, 1)), None);
    assert_eq!(
        tier_of(&r, &ratio, d(2026, 6, 1)).as_deref(),
        Some("Bronze")
    );
    let r = with_visit(BRONZE); // shift 66.7% Bronze, ratio 75% Silver
    assert_eq!(
        tier_of(&r, &shift, d(2026, 6, 1)).as_deref(),
        Some("Bronze")
    );
    assert_eq!(
        tier_of(&r, &ratio, d(2026, 6, 1)).as_deref(),
        Some("Silver")
    );
}

#[test]
fn an_inconclusive_visit_cannot_set_a_tier() {
    let mut r = with_visit(SILVER);
    let mut later = visit(2, d(2026, 9, 1), d(2026, 9, 10), GOLD);
    for c in ["safe.c2", "safe.c3", "caring.c4"] {
        later.answers.insert(c.into(), Answer::NotAssessed);
    }
    r.visits.push(later);
    let book = book();
    let det = determine(&r, &book, d(2026, 9, 15));
    assert_eq!(
        det.tier.unwrap().name,
        "Silver",
        "the earlier conclusive visit still holds"
    );
    assert_eq!(det.visit.unwrap().visit_id, id(1001));
    assert_eq!(det.skipped_visits.len(), 1);
    assert!(det.skipped_visits[0].reason.contains("inconclusive"));

    let mut only = records();
    only.visits.push(r.visits[1].clone());
    let det = determine(&only, &book, d(2026, 9, 15));
    assert_eq!(det.tier, None);
    assert!(det.notes.iter().any(|n| n.contains("no conclusive")));
}

#[test]
fn a_later_revision_supersedes_from_its_effective_date() {
    let mut r = with_visit(BRONZE);
    let mut appeal = visit(1, d(2026, 5, 1), d(2026, 7, 1), SILVER);
    appeal.revision = 2;
    r.visits.push(appeal);
    let book = book();
    assert_eq!(
        tier_of(&r, &book, d(2026, 6, 30)).as_deref(),
        Some("Bronze")
    );
    assert_eq!(tier_of(&r, &book, d(2026, 7, 1)).as_deref(), Some("Silver"));
}

#[test]
fn critical_failure_caps_to_no_tier() {
    let mut r = with_visit(GOLD);
    r.visits[0]
        .answers
        .insert("safe.c1".into(), Answer::Score(1));
    let book = book();
    let det = determine(&r, &book, d(2026, 6, 1));
    assert_eq!(det.quality_tier.unwrap().name, "Gold");
    assert_eq!(det.tier, None);
    assert_eq!(det.limiters[0].kind, LimiterKind::CriticalFailure);
    assert!(det.limiters[0].detail.contains("safe.c1"));
}

#[test]
fn cqc_ratings_cap_from_their_publication_date() {
    let book = book();
    let mut r = with_visit(GOLD);
    r.cqc_ratings.push(cqc(
        1,
        CqcRatingValue::RequiresImprovement,
        d(2026, 6, 1),
        d(2026, 7, 15),
    ));
    assert_eq!(
        tier_of(&r, &book, d(2026, 7, 14)).as_deref(),
        Some("Gold"),
        "inspection date does not count"
    );
    assert_eq!(
        tier_of(&r, &book, d(2026, 7, 15)).as_deref(),
        Some("Silver")
    );

    r.cqc_ratings.push(cqc(
        2,
        CqcRatingValue::Inadequate,
        d(2026, 8, 1),
        d(2026, 8, 20),
    ));
    assert_eq!(tier_of(&r, &book, d(2026, 8, 20)), None);

    r.cqc_ratings
        .push(cqc(3, CqcRatingValue::Good, d(2026, 9, 1), d(2026, 9, 20)));
    assert_eq!(tier_of(&r, &book, d(2026, 9, 20)).as_deref(), Some("Gold"));

    let mut safe = cqc(4, CqcRatingValue::Good, d(2026, 10, 1), d(2026, 10, 10));
    safe.key_questions
        .insert(KeyQuestion::Safe, CqcRatingValue::Inadequate);
    r.cqc_ratings.push(safe);
    assert_eq!(tier_of(&r, &book, d(2026, 10, 10)), None);

    let mut well_led = cqc(5, CqcRatingValue::Good, d(2026, 11, 1), d(2026, 11, 5));
    well_led
        .key_questions
        .insert(KeyQuestion::WellLed, CqcRatingValue::Inadequate);
    r.cqc_ratings.push(well_led);
    assert_eq!(tier_of(&r, &book, d(2026, 11, 5)), None);

    let mut caring = cqc(6, CqcRatingValue::Good, d(2026, 11, 10), d(2026, 11, 12));
    caring
        .key_questions
        .insert(KeyQuestion::Caring, CqcRatingValue::Inadequate);
    r.cqc_ratings.push(caring);
    assert_eq!(
        tier_of(&r, &book, d(2026, 11, 12)).as_deref(),
        Some("Gold"),
        "no cap on caring by default"
    );
}

#[test]
fn an_overdue_high_priority_action_costs_one_tier() {
    let book = book();
    let mut r = with_visit(SILVER);
    r.actions.push(action(1, Priority::Medium, d(2026, 6, 1)));
    r.actions.push(action(2, Priority::High, d(2026, 6, 10)));
    assert_eq!(
        tier_of(&r, &book, d(2026, 6, 10)).as_deref(),
        Some("Silver"),
        "due today is not overdue"
    );
    assert_eq!(
        tier_of(&r, &book, d(2026, 6, 11)).as_deref(),
        Some("Bronze")
    );
    r.actions[1].completed_on = Some(d(2026, 6, 20));
    assert_eq!(
        tier_of(&r, &book, d(2026, 6, 19)).as_deref(),
        Some("Bronze")
    );
    assert_eq!(
        tier_of(&r, &book, d(2026, 6, 20)).as_deref(),
        Some("Silver")
    );
    // Bronze one step down is no tier.
    let mut b = with_visit(BRONZE);
    b.actions.push(action(3, Priority::High, d(2026, 6, 10)));
    assert_eq!(tier_of(&b, &book, d(2026, 7, 1)), None);
}

#[test]
fn the_tier_lapses_fourteen_months_after_the_visit() {
    let book = book();
    let r = with_visit(GOLD); // visited 1 May 2026
    assert_eq!(tier_of(&r, &book, d(2027, 7, 1)).as_deref(), Some("Gold"));
    assert_eq!(tier_of(&r, &book, d(2027, 7, 2)), None);
}

#[test]
fn a_new_location_registration_ends_the_tier() {
    let book = book();
    let mut r = with_visit(GOLD);
    r.location.registered_to = Some(d(2026, 8, 31));
    assert_eq!(tier_of(&r, &book, d(2026, 8, 31)).as_deref(), Some("Gold"));
    assert_eq!(tier_of(&r, &book, d(2026, 9, 1)), None);
}

#[test]
fn a_rule_set_change_applies_from_its_effective_date_only() {
    let first = scheme_from(d(2000, 1, 1));
    let mut stricter = scheme_from(d(2026, 10, 1));
    stricter.version = "2026.2".into();
    stricter.tiers[1].min_overall_percent = accredit_shared::ratio::Ratio::integer(84);
    let book = RuleBook::new(vec![first, stricter]).unwrap();
    let r = with_visit(SILVER); // 83.3%
    assert_eq!(
        tier_of(&r, &book, d(2026, 9, 30)).as_deref(),
        Some("Silver")
    );
    assert_eq!(
        tier_of(&r, &book, d(2026, 10, 1)).as_deref(),
        Some("Bronze")
    );
    let det = determine(&r, &book, d(2026, 10, 1));
    assert_eq!(det.rule_set.unwrap().version, "2026.2");
}

#[test]
fn no_rule_set_means_no_tier() {
    let book = RuleBook::new(vec![scheme()]).unwrap(); // from 1 April 2026
    let r = with_visit(GOLD);
    let det = determine(&r, &book, d(2026, 3, 31));
    assert_eq!(det.tier, None);
    assert!(det.notes[0].contains("no rule set"));
}

fn rate(
    r: &LocationRecords,
    book: &RuleBook,
    day: chrono::NaiveDate,
) -> (Option<String>, Pence, Pence) {
    let det = determine(r, book, day);
    (
        det.tier.map(|t| t.name),
        det.rate.qualification_weekly,
        det.rate.weekly,
    )
}

#[test]
fn qualifications_add_while_valid() {
    let book = book();
    let mut r = with_visit(SILVER);
    r.qualifications.push(qualification(
        1,
        QualificationKind::IipGold,
        d(2026, 1, 1),
        d(2028, 12, 31),
    ));
    assert_eq!(
        rate(&r, &book, d(2026, 6, 1)),
        (Some("Silver".into()), Pence(500), Pence(2500))
    );
    assert_eq!(rate(&r, &book, d(2029, 1, 1)).1, Pence::ZERO, "expired");

    // An older IIP Standard certificate does not stack with IIP Gold.
    r.qualifications.push(qualification(
        2,
        QualificationKind::IipStandard,
        d(2025, 1, 1),
        d(2027, 12, 31),
    ));
    assert_eq!(rate(&r, &book, d(2026, 6, 1)).1, Pence(500));

    // ISO 9001 stacks with IIP; the sum is capped at £10.
    let mut iso = qualification(
        3,
        QualificationKind::Iso9001,
        d(2026, 1, 1),
        d(2028, 12, 31),
    );
    iso.last_surveillance_on = Some(d(2026, 3, 1));
    r.qualifications.push(iso);
    assert_eq!(rate(&r, &book, d(2026, 6, 1)).1, Pence(1000));
    let mut book_rules = scheme_from(d(2000, 1, 1));
    book_rules
        .qualifications
        .weekly_pence
        .insert(QualificationKind::Iso9001, 800);
    let generous = RuleBook::new(vec![book_rules]).unwrap();
    let det = determine(&r, &generous, d(2026, 6, 1));
    assert_eq!(det.rate.qualification_weekly_uncapped, Pence(1300));
    assert_eq!(det.rate.qualification_weekly, Pence(1000));
    assert!(det.rate.qualification_cap_applied);
}

#[test]
fn iso_9001_needs_a_surveillance_audit_within_fifteen_months() {
    let book = book();
    let mut r = with_visit(SILVER);
    let mut iso = qualification(1, QualificationKind::Iso9001, d(2025, 1, 10), d(2028, 1, 9));
    iso.last_surveillance_on = Some(d(2025, 6, 1));
    r.qualifications.push(iso);
    assert_eq!(rate(&r, &book, d(2026, 9, 1)).1, Pence(500));
    assert_eq!(
        rate(&r, &book, d(2026, 9, 2)).1,
        Pence::ZERO,
        "surveillance missed"
    );
    let det = determine(&r, &book, d(2026, 9, 2));
    assert!(
        det.qualifications[0].reason.contains("surveillance"),
        "{}",
        det.qualifications[0].reason
    );
}

#[test]
fn qualification_effective_date_depends_on_prompt_verification() {
    let book = book();
    let mut r = with_visit(SILVER);
    let mut prompt = qualification(
        1,
        QualificationKind::IipStandard,
        d(2026, 6, 1),
        d(2029, 5, 31),
    );
    prompt.verified_on = Some(d(2026, 7, 1)); // 30 days: counts from issue
    r.qualifications.push(prompt);
    assert_eq!(rate(&r, &book, d(2026, 6, 1)).1, Pence(500));

    let mut late = r.clone();
    late.qualifications[0].verified_on = Some(d(2026, 7, 2)); // 31 days: from verification
    assert_eq!(rate(&late, &book, d(2026, 7, 1)).1, Pence::ZERO);
    assert_eq!(rate(&late, &book, d(2026, 7, 2)).1, Pence(500));

    let mut unverified = r.clone();
    unverified.qualifications[0].verified_on = None;
    assert_eq!(rate(&unverified, &book, d(2026, 8, 1)).1, Pence::ZERO);

    let mut out_of_scope = r.clone();
    out_of_scope.qualifications[0].covered_locations = vec![id(99)];
    let det = determine(&out_of_scope, &book, d(2026, 8, 1));
    assert_eq!(det.rate.qualification_weekly, Pence::ZERO);
    assert!(det.qualifications[0].reason.contains("scope"));
}

#[test]
fn qualifications_only_add_to_a_tier() {
    let book = book();
    let mut r = with_visit(NONE);
    r.qualifications.push(qualification(
        1,
        QualificationKind::IipGold,
        d(2026, 1, 1),
        d(2028, 12, 31),
    ));
    r.qualifications.push(qualification(
        2,
        QualificationKind::Iso9001,
        d(2026, 1, 1),
        d(2028, 12, 31),
    ));
    assert_eq!(
        rate(&r, &book, d(2026, 6, 1)),
        (None, Pence::ZERO, Pence::ZERO)
    );

    // With the optional uplift, Silver becomes Gold, but no tier never becomes Bronze.
    let mut uplift = scheme_from(d(2000, 1, 1));
    uplift.qualifications.tier_step_up = true;
    let uplift = RuleBook::new(vec![uplift]).unwrap();
    assert_eq!(rate(&r, &uplift, d(2026, 6, 1)).0, None);
    let mut silver = r.clone();
    silver.visits = with_visit(SILVER).visits;
    assert_eq!(
        rate(&silver, &uplift, d(2026, 6, 1)).0.as_deref(),
        Some("Gold")
    );
    // The uplift cannot beat a CQC cap.
    silver.cqc_ratings.push(cqc(
        1,
        CqcRatingValue::RequiresImprovement,
        d(2026, 1, 1),
        d(2026, 2, 1),
    ));
    assert_eq!(
        rate(&silver, &uplift, d(2026, 6, 1)).0.as_deref(),
        Some("Silver")
    );
}

#[test]
fn the_weekly_cap_applies() {
    let mut rules = scheme_from(d(2000, 1, 1));
    rules.payments.weekly_cap_pence = 3200;
    let book = RuleBook::new(vec![rules]).unwrap();
    let mut r = with_visit(GOLD);
    r.qualifications.push(qualification(
        1,
        QualificationKind::IipGold,
        d(2026, 1, 1),
        d(2028, 12, 31),
    ));
    r.qualifications.push(qualification(
        2,
        QualificationKind::Iso9001,
        d(2026, 1, 1),
        d(2028, 12, 31),
    ));
    let det = determine(&r, &book, d(2026, 6, 1));
    assert_eq!(det.rate.weekly, Pence(3200));
    assert!(det.rate.weekly_cap_applied);
}

#[test]
fn gates_set_the_premium_status() {
    let book = book();
    let lib = library();
    let engine = Engine::new(&lib, &book);
    let mut r = with_visit(GOLD);
    r.gates.push(gate(
        1,
        GateKind::S42Enquiry,
        d(2026, 6, 10),
        Some(d(2026, 6, 20)),
    ));
    assert_eq!(
        engine.determine(&r, d(2026, 6, 9)).status,
        PremiumStatus::Payable
    );
    assert_eq!(
        engine.determine(&r, d(2026, 6, 10)).status,
        PremiumStatus::OnHold
    );
    assert_eq!(
        engine.determine(&r, d(2026, 6, 20)).status,
        PremiumStatus::Payable,
        "closed_on is not covered"
    );
    r.gates[0].outcome = Some(GateOutcome::Substantiated);
    assert_eq!(
        engine.determine(&r, d(2026, 6, 15)).status,
        PremiumStatus::Forfeited
    );
    r.gates[0].outcome = Some(GateOutcome::NotSubstantiated);
    assert_eq!(
        engine.determine(&r, d(2026, 6, 15)).status,
        PremiumStatus::Released
    );

    let mut e = with_visit(GOLD);
    e.gates.push(gate(
        2,
        GateKind::PlacementEmbargo,
        d(2026, 6, 10),
        Some(d(2026, 7, 1)),
    ));
    assert_eq!(
        engine.determine(&e, d(2026, 6, 30)).status,
        PremiumStatus::Suspended
    );
    // Resumes 12 weeks after closing: 1 July + 84 days = 23 September.
    let det = engine.determine(&e, d(2026, 9, 22));
    assert_eq!(det.status, PremiumStatus::Suspended);
    assert_eq!(det.gates[0].resumes_on, Some(d(2026, 9, 23)));
    assert_eq!(
        engine.determine(&e, d(2026, 9, 23)).status,
        PremiumStatus::Payable
    );
    // The tier itself stands: gates act on the premium.
    assert_eq!(
        engine.determine(&e, d(2026, 6, 30)).tier.unwrap().name,
        "Gold"
    );
}

#[test]
fn the_explanation_records_every_input() {
    let book = book();
    let mut r = with_visit(GOLD);
    r.cqc_ratings.push(cqc(
        1,
        CqcRatingValue::RequiresImprovement,
        d(2026, 1, 1),
        d(2026, 2, 1),
    ));
    r.actions.push(action(1, Priority::High, d(2026, 5, 25)));
    r.qualifications.push(qualification(
        1,
        QualificationKind::IipSilver,
        d(2026, 1, 1),
        d(2028, 12, 31),
    ));
    r.gates
        .push(gate(1, GateKind::S42Enquiry, d(2026, 5, 30), None));
    let det = determine(&r, &book, d(2026, 6, 1));
    assert_eq!(det.rule_set.as_ref().unwrap().version, "2026.1");
    assert_eq!(det.visit.as_ref().unwrap().visit_id, id(1001));
    assert_eq!(det.quality_tier.as_ref().unwrap().name, "Gold");
    let kinds: Vec<LimiterKind> = det.limiters.iter().map(|l| l.kind).collect();
    assert_eq!(kinds, [LimiterKind::CqcRating, LimiterKind::OverdueAction]);
    assert_eq!(det.tier.as_ref().unwrap().name, "Bronze");
    assert_eq!(det.cqc.as_ref().unwrap().id, id(4001));
    assert!(det.qualifications[0].valid);
    assert_eq!(det.gates.len(), 1);
    assert_eq!(det.status, PremiumStatus::OnHold);
    assert_eq!(det.rate.weekly, Pence(2000));
    // The explanation serialises for storage and the API.
    let json = serde_json::to_string(&det).unwrap();
    let back: accredit_shared::Determination = serde_json::from_str(&json).unwrap();
    assert_eq!(back, det);
}

#[test]
fn other_suspending_gates_suspend_too() {
    let book = book();
    let lib = library();
    let engine = Engine::new(&lib, &book);
    for kind in [GateKind::LargeScaleEnquiry, GateKind::ContractDefault] {
        let mut r = with_visit(GOLD);
        r.gates.push(gate(1, kind, d(2026, 6, 10), None));
        assert_eq!(
            engine.determine(&r, d(2026, 6, 9)).status,
            PremiumStatus::Payable
        );
        assert_eq!(
            engine.determine(&r, d(2026, 6, 10)).status,
            PremiumStatus::Suspended,
            "{kind:?}"
        );
    }
}

#[test]
fn a_qualification_counts_on_its_expiry_day() {
    let book = book();
    let mut r = with_visit(SILVER);
    r.qualifications.push(qualification(
        1,
        QualificationKind::IipGold,
        d(2026, 1, 1),
        d(2026, 6, 30),
    ));
    assert_eq!(rate(&r, &book, d(2026, 6, 30)).1, Pence(500));
    assert_eq!(rate(&r, &book, d(2026, 7, 1)).1, Pence::ZERO);
    // Another provider's certificate never counts, even if it names the location.
    r.qualifications[0].provider_id = id(99);
    assert_eq!(rate(&r, &book, d(2026, 6, 1)).1, Pence::ZERO);
}

#[test]
fn a_visit_scored_against_an_unknown_pack_version_is_skipped() {
    let mut r = with_visit(SILVER);
    let mut newer = visit(2, d(2026, 8, 1), d(2026, 8, 10), GOLD);
    newer.pack_version = "2".into();
    r.visits.push(newer);
    let book = book();
    let det = determine(&r, &book, d(2026, 8, 15));
    assert_eq!(det.tier.unwrap().name, "Silver");
    assert!(
        det.skipped_visits[0]
            .reason
            .contains("test-pack 2 is not known")
    );
}
