//! National-scale benchmark: 15,000 locations with a year of history each (two visits against the
//! shipped 99-criterion pack, a CQC rating, qualifications, some gates and actions) and 400,000
//! placements. Measures determining every tier on one day and computing a month's schedule.
//!
//! `taskset -c 0 cargo bench -p accredit-shared --bench national` (one core).

use accredit_shared::calendar::{DateRange, add_days, month_period};
use accredit_shared::premium::compute_schedule;
use accredit_shared::records::*;
use accredit_shared::{Engine, FrameworkPack, PackLibrary, RuleBook, RuleSet};
use chrono::NaiveDate;
use criterion::{Criterion, criterion_group, criterion_main};
use std::collections::BTreeMap;
use std::hint::black_box;
use uuid::Uuid;

const LOCATIONS: usize = 15_000;
const PLACEMENTS: usize = 400_000;

struct Gen(u64);
impl Gen {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        (z ^ (z >> 31)) % n.max(1)
    }
    fn day(&mut self, from: NaiveDate, span: u64) -> NaiveDate {
        add_days(from, self.below(span) as i64)
    }
}

struct Nation {
    packs: PackLibrary,
    book: RuleBook,
    locations: Vec<LocationRecords>,
    placements: Vec<Placement>,
    month: DateRange,
}

fn nation() -> Nation {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../assets");
    let pack = FrameworkPack::from_toml(
        &std::fs::read_to_string(format!("{root}/frameworks/cqc-quality-statements.toml")).unwrap(),
    )
    .unwrap();
    let scheme = RuleSet::from_toml(
        &std::fs::read_to_string(format!("{root}/schemes/blackpool-style.toml")).unwrap(),
    )
    .unwrap();
    let mut early = scheme.clone();
    early.version = "2025.1".into();
    early.effective_from = NaiveDate::from_ymd_opt(2025, 4, 1).unwrap();
    let book = RuleBook::new(vec![early, scheme]).unwrap();
    let ids: Vec<String> = pack.criteria().map(|c| c.id.clone()).collect();
    let month = month_period(2026, 10).unwrap();
    let year_ago = NaiveDate::from_ymd_opt(2025, 10, 1).unwrap();
    let mut g = Gen(42);
    let ratings = [
        CqcRatingValue::Inadequate,
        CqcRatingValue::RequiresImprovement,
        CqcRatingValue::Good,
        CqcRatingValue::Good,
        CqcRatingValue::Outstanding,
    ];
    let mut locations = Vec::with_capacity(LOCATIONS);
    for i in 0..LOCATIONS {
        let id = Uuid::from_u128(i as u128 + 1);
        let provider = Uuid::from_u128(1_000_000 + (i / 3) as u128);
        let quality = 2 + g.below(3) as i32;
        let visits = (0..2u32)
            .map(|n| {
                let visited = g.day(add_days(year_ago, 180 * n as i64), 170);
                let answers: BTreeMap<String, Answer> = ids
                    .iter()
                    .map(|c| {
                        let a = match g.below(40) {
                            0 => Answer::NotApplicable,
                            1 => Answer::NotAssessed,
                            k => Answer::Score((quality + (k % 3) as i32 - 1).clamp(1, 4)),
                        };
                        (c.clone(), a)
                    })
                    .collect();
                PublishedVisit {
                    visit_id: Uuid::from_u128(((i as u128) << 8) | n as u128 | (1 << 100)),
                    revision: 1,
                    location_id: id,
                    visit_type: VisitType::Annual,
                    visited_on: visited,
                    effective_on: add_days(visited, 14 + g.below(30) as i64),
                    pack_id: pack.id.clone(),
                    pack_version: pack.version.clone(),
                    answers,
                }
            })
            .collect();
        let published = g.day(add_days(year_ago, -200), 500);
        let cqc = CqcRating {
            id: Uuid::from_u128(((i as u128) << 8) | (2 << 100)),
            location_id: id,
            inspected_on: add_days(published, -40),
            published_on: published,
            overall: ratings[g.below(5) as usize],
            key_questions: BTreeMap::new(),
        };
        let qualifications = (0..g.below(3))
            .map(|n| {
                let issued = g.day(add_days(year_ago, -700), 900);
                Qualification {
                    id: Uuid::from_u128(((i as u128) << 8) | n as u128 | (3 << 100)),
                    provider_id: provider,
                    kind: if n == 0 {
                        QualificationKind::IipSilver
                    } else {
                        QualificationKind::Iso9001
                    },
                    certificate_ref: format!("C{i}-{n}"),
                    issued_on: issued,
                    expires_on: add_days(issued, 1095),
                    last_surveillance_on: Some(g.day(issued, 400)),
                    verified_on: Some(g.day(issued, 60)),
                    verified_by: Some("officer".into()),
                    covered_locations: vec![id],
                }
            })
            .collect();
        let gates = if g.below(10) == 0 {
            let opened = g.day(year_ago, 390);
            vec![Gate {
                id: Uuid::from_u128(((i as u128) << 8) | (4 << 100)),
                location_id: id,
                kind: [GateKind::S42Enquiry, GateKind::PlacementEmbargo][g.below(2) as usize],
                opened_on: opened,
                closed_on: (g.below(2) == 0).then(|| add_days(opened, 20 + g.below(60) as i64)),
                outcome: None,
            }]
        } else {
            vec![]
        };
        let actions = (0..g.below(4))
            .map(|n| {
                let due = g.day(year_ago, 400);
                Action {
                    id: Uuid::from_u128(((i as u128) << 8) | n as u128 | (5 << 100)),
                    location_id: id,
                    visit_id: Uuid::from_u128(((i as u128) << 8) | (1 << 100)),
                    priority: [Priority::Low, Priority::Medium, Priority::High]
                        [g.below(3) as usize],
                    due_on: due,
                    completed_on: (g.below(3) > 0).then(|| add_days(due, g.below(30) as i64 - 15)),
                }
            })
            .collect();
        locations.push(LocationRecords {
            location: Location {
                id,
                provider_id: provider,
                cqc_location_id: format!("1-{i:09}"),
                name: format!("Home {i}"),
                service_type: ServiceType::Residential,
                registered_from: NaiveDate::from_ymd_opt(2012, 1, 1).unwrap(),
                registered_to: None,
            },
            visits,
            cqc_ratings: vec![cqc],
            qualifications,
            gates,
            actions,
        });
    }
    let placements = (0..PLACEMENTS)
        .map(|n| {
            let start = g.day(add_days(year_ago, -900), 1300);
            Placement {
                id: Uuid::from_u128(n as u128 | (6 << 100)),
                location_id: Uuid::from_u128(g.below(LOCATIONS as u64) as u128 + 1),
                resident_ref: format!("R{n}"),
                funding: if g.below(5) == 0 {
                    FundingType::SelfFunded
                } else {
                    FundingType::CouncilPermanent
                },
                start,
                end: (g.below(4) == 0).then(|| g.day(month.from, 60)),
                died_on: None,
                base_weekly_rate_pence: 70_000,
                hospital_stays: if g.below(20) == 0 {
                    let from = g.day(add_days(month.from, -40), 60);
                    vec![HospitalStay {
                        from,
                        to: Some(add_days(from, g.below(50) as i64)),
                    }]
                } else {
                    vec![]
                },
            }
        })
        .collect();
    let mut packs = PackLibrary::new();
    packs.insert(pack).unwrap();
    Nation {
        packs,
        book,
        locations,
        placements,
        month,
    }
}

fn bench(c: &mut Criterion) {
    let n = nation();
    let engine = Engine::new(&n.packs, &n.book);
    let s = compute_schedule(&engine, &n.locations, &n.placements, n.month);
    let tiered = n
        .locations
        .iter()
        .filter(|r| engine.determine(r, n.month.to).tier.is_some())
        .count();
    println!(
        "data: {} locations, {} visits, {} placements; {} locations tiered on {}; schedule {}: {} lines, {} excluded, {} determinations, total {}, on hold {}",
        n.locations.len(),
        n.locations.iter().map(|r| r.visits.len()).sum::<usize>(),
        n.placements.len(),
        tiered,
        n.month.to,
        n.month.month_label().unwrap_or_default(),
        s.lines.len(),
        s.excluded.len(),
        s.determinations.len(),
        s.total,
        s.total_on_hold
    );
    let mut group = c.benchmark_group("national");
    group.sample_size(10);
    group.bench_function("determine all 15k tiers on one day", |b| {
        b.iter(|| {
            n.locations
                .iter()
                .map(|r| engine.determine(black_box(r), n.month.to).rank() as u64)
                .sum::<u64>()
        })
    });
    group.bench_function("month schedule, 15k locations, 400k placements", |b| {
        b.iter(|| {
            compute_schedule(
                &engine,
                black_box(&n.locations),
                black_box(&n.placements),
                n.month,
            )
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
