//! Withhold/release (DOMAIN.md §6, Westminster mode): contract periods, bands at their edges,
//! gates during the period, no visit in the period, provider-wide contracts, and the mode.

mod common;
use accredit_shared::calendar::DateRange;
use accredit_shared::ratio::Ratio;
use accredit_shared::records::*;
use accredit_shared::scheme::{RuleBook, RuleSet, SchemeMode, ScoreSource};
use accredit_shared::withhold::{Contract, ReleaseStatus, withhold_release};
use accredit_shared::{Engine, Pence};
use common::*;

fn rules(mode: SchemeMode) -> RuleSet {
    let mut r = scheme_from(d(2000, 1, 1));
    r.mode = mode;
    r
}

fn contract(value: i64) -> Contract {
    Contract {
        id: id(7001),
        reference: "WCC-2026-001".into(),
        provider_id: id(PROVIDER),
        location_id: Some(id(LOC)),
        starts_on: d(2026, 4, 1),
        ends_on: d(2027, 3, 31),
        period_months: 3,
        value_per_period: Pence(value),
        withhold_percent: None,
    }
}

fn june_quarter() -> DateRange {
    DateRange::new(d(2026, 4, 1), d(2026, 6, 30)).unwrap()
}

fn run(
    book: &RuleBook,
    r: &LocationRecords,
    c: &Contract,
) -> accredit_shared::withhold::ContractPeriodLine {
    let lib = library();
    withhold_release(&Engine::new(&lib, book), &[r], c, june_quarter()).unwrap()
}

fn with_visit(pattern: [i32; 4], published: chrono::NaiveDate) -> LocationRecords {
    let mut r = records();
    r.visits.push(visit(1, d(2026, 5, 2), published, pattern));
    r
}

#[test]
fn periods_are_whole_and_do_not_drift() {
    let mut c = contract(100_000);
    c.starts_on = d(2026, 1, 31);
    c.ends_on = d(2026, 4, 29);
    c.period_months = 1;
    let p = c.periods();
    assert_eq!(
        p.iter().map(|p| (p.from, p.to)).collect::<Vec<_>>(),
        vec![
            (d(2026, 1, 31), d(2026, 2, 27)),
            (d(2026, 2, 28), d(2026, 3, 30)),
            (d(2026, 3, 31), d(2026, 4, 29)),
        ]
    );
    assert!(c.problems().is_empty(), "{:?}", c.problems());
    c.ends_on = d(2026, 4, 30);
    let problems = c.problems();
    assert_eq!(problems.len(), 1);
    assert_eq!(problems[0].path, "ends_on");
    assert!(
        problems[0].message.contains("29 April 2026"),
        "{problems:?}"
    );

    let mut bad = contract(0);
    bad.period_months = 2;
    bad.reference = " ".into();
    bad.withhold_percent = Some(Ratio::integer(101));
    let paths: Vec<String> = bad.problems().into_iter().map(|p| p.path).collect();
    assert_eq!(
        paths,
        [
            "reference",
            "period_months",
            "value_per_period",
            "withhold_percent"
        ]
    );
}

#[test]
fn release_bands_at_their_edges_in_exact_pence() {
    let mut r = rules(SchemeMode::WithholdRelease);
    r.scoring.rescale = accredit_shared::scheme::Rescale::Ratio;
    // BRONZE answers (all 3 of 4) score exactly 75% under the ratio rescale.
    r.withhold_release.bands[0].min_score_percent = Ratio::integer(80);
    r.withhold_release.bands[1].min_score_percent = Ratio::integer(75);
    let book = RuleBook::new(vec![r.clone()]).unwrap();
    let rec = with_visit(BRONZE, d(2026, 5, 20));
    let c = contract(1_234_567);
    let line = run(&book, &rec, &c);
    assert_eq!(
        line.score.as_ref().unwrap().overall_percent,
        Ratio::integer(75)
    );
    // 5% of £12,345.67 = £617.2835 → £617.28; half of the exact amount, £308.64175 → £308.64.
    assert_eq!(line.at_risk, Pence(61_728));
    assert_eq!(line.release_percent, Ratio::integer(50));
    assert_eq!(line.band_from_percent, Some(Ratio::integer(75)));
    assert_eq!(
        (line.released, line.on_hold, line.withheld),
        (Pence(30_864), Pence(0), Pence(30_864))
    );
    assert_eq!(line.status, ReleaseStatus::PartlyReleased);
    assert!(line.reason.contains("scored 75%"), "{}", line.reason);
    assert!(line.reason.contains("band from 75%"), "{}", line.reason);

    // A thousandth of a percent above the score: below the band, nothing released.
    let mut r2 = r.clone();
    r2.withhold_release.bands[1].min_score_percent = Ratio::new(75_001, 1000).unwrap();
    let line = run(&RuleBook::new(vec![r2]).unwrap(), &rec, &c);
    assert_eq!((line.released, line.withheld), (Pence(0), Pence(61_728)));
    assert_eq!(line.status, ReleaseStatus::Withheld);
    assert!(
        line.reason.contains("below every release band"),
        "{}",
        line.reason
    );

    // The top band at exactly the score releases everything.
    let mut r3 = r.clone();
    r3.withhold_release.bands[0].min_score_percent = Ratio::integer(75);
    r3.withhold_release.bands[1].min_score_percent = Ratio::integer(50);
    let line = run(&RuleBook::new(vec![r3]).unwrap(), &rec, &c);
    assert_eq!((line.released, line.withheld), (Pence(61_728), Pence(0)));
    assert_eq!(line.status, ReleaseStatus::Released);

    // The contract's own withhold share: 2.5% of £12,345.67 = £308.64175 → £308.64 at risk,
    // half of the exact amount £154.320875 → £154.32, and £154.32 withheld.
    let mut c2 = c.clone();
    c2.withhold_percent = Some(Ratio::new(25, 10).unwrap());
    let line = run(&book, &rec, &c2);
    assert_eq!(
        (line.at_risk, line.released, line.withheld),
        (Pence(30_864), Pence(15_432), Pence(15_432))
    );
}

#[test]
fn no_visit_in_the_period_releases_nothing_unless_the_rules_say_otherwise() {
    let r = rules(SchemeMode::WithholdRelease);
    let rec = with_visit(GOLD, d(2026, 3, 20)); // published before the quarter
    let c = contract(1_000_000);
    let line = run(&RuleBook::new(vec![r.clone()]).unwrap(), &rec, &c);
    assert_eq!((line.released, line.withheld), (Pence(0), Pence(50_000)));
    assert!(line.score.is_none());
    assert_eq!(line.unscored.len(), 1);
    assert!(line.reason.contains("before the period"), "{}", line.reason);

    let mut latest = r.clone();
    latest.withhold_release.score_from = ScoreSource::LatestVisit;
    let line = run(&RuleBook::new(vec![latest]).unwrap(), &rec, &c);
    assert_eq!((line.released, line.withheld), (Pence(50_000), Pence(0)));

    let none = records();
    let line = run(&RuleBook::new(vec![r]).unwrap(), &none, &c);
    assert_eq!(line.released, Pence(0));
    assert!(
        line.reason.contains("no conclusive published visit"),
        "{}",
        line.reason
    );
}

#[test]
fn gates_during_the_period_hold_or_stop_the_release() {
    let book = RuleBook::new(vec![rules(SchemeMode::WithholdRelease)]).unwrap();
    let c = contract(1_000_000);
    let base = with_visit(GOLD, d(2026, 5, 20));
    assert_eq!(run(&book, &base, &c).released, Pence(50_000));

    // An open s.42 enquiry from the last week: the release is on hold.
    let mut r = base.clone();
    r.gates
        .push(gate(1, GateKind::S42Enquiry, d(2026, 6, 24), None));
    let line = run(&book, &r, &c);
    assert_eq!(
        (line.released, line.on_hold, line.withheld),
        (Pence(0), Pence(50_000), Pence(0))
    );
    assert_eq!(line.status, ReleaseStatus::OnHold);
    assert!(line.reason.contains("on hold"), "{}", line.reason);

    // Closed not substantiated (even within the period): released.
    r.gates[0].closed_on = Some(d(2026, 6, 27));
    r.gates[0].outcome = Some(GateOutcome::NotSubstantiated);
    let line = run(&book, &r, &c);
    assert_eq!((line.released, line.on_hold), (Pence(50_000), Pence(0)));
    assert_eq!(line.gates.len(), 1, "the gate is still shown");

    // Substantiated: forfeited.
    r.gates[0].outcome = Some(GateOutcome::Substantiated);
    let line = run(&book, &r, &c);
    assert_eq!((line.released, line.withheld), (Pence(0), Pence(50_000)));
    assert!(line.reason.contains("forfeited"), "{}", line.reason);

    // A large-scale enquiry closed before the period still suspends during its 12-week
    // sustainability period, which runs into the quarter.
    let mut r = base.clone();
    r.gates.push(gate(
        2,
        GateKind::LargeScaleEnquiry,
        d(2026, 1, 5),
        Some(d(2026, 3, 2)),
    ));
    let line = run(&book, &r, &c);
    assert_eq!(line.released, Pence(0));
    assert_eq!(line.gates[0].gate.resumes_on, Some(d(2026, 5, 25)));
    assert!(line.reason.contains("suspends"), "{}", line.reason);
    // Closed long enough before: no effect, and not listed.
    r.gates[0].closed_on = Some(d(2025, 12, 1));
    let line = run(&book, &r, &c);
    assert_eq!(line.released, Pence(50_000));
    assert!(line.gates.is_empty());
}

#[test]
fn a_provider_wide_contract_takes_the_lowest_score_of_its_locations() {
    let book = RuleBook::new(vec![rules(SchemeMode::WithholdRelease)]).unwrap();
    let lib = library();
    let engine = Engine::new(&lib, &book);
    let a = with_visit(GOLD, d(2026, 5, 20));
    let mut b = records();
    b.location.id = id(3);
    b.location.name = "Second Home".into();
    b.visits
        .push(visit(2, d(2026, 6, 1), d(2026, 6, 10), SILVER));
    b.visits[0].location_id = id(3);
    let mut c = contract(1_000_000);
    c.location_id = None;
    let line = withhold_release(&engine, &[&a, &b], &c, june_quarter()).unwrap();
    let score = line.score.clone().unwrap();
    assert_eq!(score.location_id, id(3), "the lower score decides");
    assert_eq!(line.release_percent, Ratio::integer(50));
    assert_eq!(
        (line.released, line.withheld),
        (Pence(25_000), Pence(25_000))
    );
    assert!(
        line.reason.contains("lowest of its 2 locations"),
        "{}",
        line.reason
    );

    // A location of another provider is refused; a location contract needs its location.
    let mut other = b.clone();
    other.location.provider_id = id(99);
    assert!(withhold_release(&engine, &[&a, &other], &c, june_quarter()).is_err());
    let single = contract(1_000_000);
    assert!(withhold_release(&engine, &[], &single, june_quarter()).is_err());
}

#[test]
fn the_mode_decides_whether_anything_is_at_risk_or_any_premium_paid() {
    let rec = with_visit(GOLD, d(2026, 5, 20));
    let c = contract(1_000_000);
    let premium = RuleBook::new(vec![rules(SchemeMode::Premium)]).unwrap();
    let line = run(&premium, &rec, &c);
    assert_eq!(line.status, ReleaseStatus::NotAtRisk);
    assert_eq!(line.at_risk, Pence(0));
    let both = RuleBook::new(vec![rules(SchemeMode::Both)]).unwrap();
    assert_eq!(run(&both, &rec, &c).released, Pence(50_000));

    // Withhold/release only: the tier stands but no premium is paid.
    let lib = library();
    let only = RuleBook::new(vec![rules(SchemeMode::WithholdRelease)]).unwrap();
    let engine = Engine::new(&lib, &only);
    let det = engine.determine(&rec, d(2026, 6, 1));
    assert_eq!(det.tier.as_ref().map(|t| t.name.as_str()), Some("Gold"));
    assert_eq!(det.rate.weekly, Pence(0));
    let p = placement(1, d(2026, 1, 1), None);
    let s = accredit_shared::premium::compute_schedule(
        &engine,
        std::slice::from_ref(&rec),
        &[p],
        DateRange::new(d(2026, 6, 1), d(2026, 6, 30)).unwrap(),
    );
    assert!(s.lines.is_empty());
    assert!(
        s.excluded[0].reason.contains("no premiums"),
        "{:?}",
        s.excluded
    );
    let both_engine = Engine::new(&lib, &both);
    assert!(both_engine.determine(&rec, d(2026, 6, 1)).rate.weekly > Pence(0));
}
