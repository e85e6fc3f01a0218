//! The shipped framework pack and scheme, loaded from `assets/` as the server and app will, drive
//! the whole engine end to end: score, tier, explanation and a payment line.

use accredit_shared::calendar::month_period;
use accredit_shared::premium::compute_schedule;
use accredit_shared::records::*;
use accredit_shared::{Engine, FrameworkPack, PackLibrary, Pence, RuleBook, RuleSet};
use chrono::NaiveDate;
use std::collections::BTreeMap;
use uuid::Uuid;

fn asset(path: &str) -> String {
    let full = format!("{}/../assets/{path}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&full).unwrap_or_else(|e| panic!("{full}: {e}"))
}

#[test]
fn shipped_assets_drive_the_engine() {
    let pack = FrameworkPack::from_toml(&asset("frameworks/cqc-quality-statements.toml")).unwrap();
    let scheme = RuleSet::from_toml(&asset("schemes/blackpool-style.toml")).unwrap();
    let book = RuleBook::new(vec![scheme]).unwrap();
    let d = |y, m, day| NaiveDate::from_ymd_opt(y, m, day).unwrap();
    let loc = Uuid::from_u128(1);
    // Every criterion "Good" (3 of 4) except one "Excellent" per domain: shift 66.7%+ → Bronze.
    let answers: BTreeMap<String, Answer> = pack
        .criteria()
        .map(|c| (c.id.clone(), Answer::Score(3)))
        .collect();
    let records = LocationRecords {
        location: Location {
            id: loc,
            provider_id: Uuid::from_u128(2),
            cqc_location_id: "1-1".into(),
            name: "Test Home".into(),
            service_type: ServiceType::Nursing,
            registered_from: d(2020, 1, 1),
            registered_to: None,
        },
        visits: vec![PublishedVisit {
            visit_id: Uuid::from_u128(3),
            revision: 1,
            location_id: loc,
            visit_type: VisitType::Annual,
            visited_on: d(2026, 5, 1),
            effective_on: d(2026, 5, 20),
            pack_id: pack.id.clone(),
            pack_version: pack.version.clone(),
            answers,
        }],
        cqc_ratings: vec![],
        qualifications: vec![],
        gates: vec![],
        actions: vec![],
    };
    let mut packs = PackLibrary::new();
    packs.insert(pack).unwrap();
    let engine = Engine::new(&packs, &book);
    let det = engine.determine(&records, d(2026, 6, 1));
    assert_eq!(det.tier.as_ref().map(|t| t.name.as_str()), Some("Bronze"));
    assert_eq!(det.rate.weekly, Pence(1500));

    let placement = Placement {
        id: Uuid::from_u128(4),
        location_id: loc,
        resident_ref: "R1".into(),
        funding: FundingType::CouncilPermanent,
        start: d(2026, 1, 1),
        end: None,
        died_on: None,
        base_weekly_rate_pence: 95_000,
        hospital_stays: vec![],
    };
    let june = month_period(2026, 6).unwrap();
    let s = compute_schedule(&engine, &[records], &[placement], june);
    assert_eq!(s.lines.len(), 1);
    assert_eq!(s.lines[0].amount, Pence(6429)); // £15 × 30 / 7 = £64.2857
    assert_eq!(s.determinations.len(), 1);
    assert_eq!(s.lines[0].determinations[0], s.determinations[0].key());
}
