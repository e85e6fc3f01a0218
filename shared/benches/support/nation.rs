//! The national data set the benchmarks share: 15,000 locations with a year of history each (two
//! visits against the shipped 99-criterion pack, a CQC rating, qualifications, some gates and
//! actions) and 400,000 placements, generated in memory from a fixed seed, so every run and every
//! benchmark sees the same nation. Plain Rust without criterion: `shared/benches/national.rs`
//! takes it as `mod support;`, the server's benchmarks by
//! `#[path = "../../shared/benches/support/nation.rs"] mod nation;`.

#![allow(dead_code)]

use accredit_shared::calendar::{DateRange, add_days, month_period};
use accredit_shared::records::*;
use accredit_shared::{FrameworkPack, PackLibrary, RuleBook, RuleSet};
use chrono::NaiveDate;
use std::collections::BTreeMap;
use uuid::Uuid;

/// Locations in the nation.
pub const LOCATIONS: usize = 15_000;
/// Placements in the nation.
pub const PLACEMENTS: usize = 400_000;

/// A small deterministic generator (splitmix64), so the nation is the same on every run.
pub struct Gen(pub u64);
impl Gen {
    /// A number below `n`.
    pub fn below(&mut self, n: u64) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        (z ^ (z >> 31)) % n.max(1)
    }
    /// A day within `span` days from `from`.
    pub fn day(&mut self, from: NaiveDate, span: u64) -> NaiveDate {
        add_days(from, self.below(span) as i64)
    }
}

/// The generated nation.
pub struct Nation {
    /// The shipped framework pack.
    pub packs: PackLibrary,
    /// The shipped rule set, with an earlier copy in force from April 2025.
    pub book: RuleBook,
    /// Every location's records.
    pub locations: Vec<LocationRecords>,
    /// Every placement.
    pub placements: Vec<Placement>,
    /// The month the benchmarks compute a schedule for (October 2026).
    pub month: DateRange,
}

/// The day from which every location is registered.
fn registered_from() -> NaiveDate {
    NaiveDate::from_ymd_opt(2012, 1, 1).unwrap_or_default()
}

/// The name of a provider in the nation (three locations each).
pub fn provider_name(provider: Uuid) -> String {
    format!("Provider {}", provider.as_u128() - 1_000_000)
}

/// Generates the nation from the shipped pack and rule set.
pub fn nation() -> Result<Nation, Box<dyn std::error::Error>> {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../assets");
    let pack = FrameworkPack::from_toml(&std::fs::read_to_string(format!(
        "{root}/frameworks/cqc-quality-statements.toml"
    ))?)?;
    let scheme = RuleSet::from_toml(&std::fs::read_to_string(format!(
        "{root}/schemes/blackpool-style.toml"
    ))?)?;
    let mut early = scheme.clone();
    early.version = "2025.1".into();
    early.effective_from = NaiveDate::from_ymd_opt(2025, 4, 1).ok_or("a day")?;
    let book = RuleBook::new(vec![early, scheme])?;
    let ids: Vec<String> = pack.criteria().map(|c| c.id.clone()).collect();
    let month = month_period(2026, 10).ok_or("a month")?;
    let year_ago = NaiveDate::from_ymd_opt(2025, 10, 1).ok_or("a day")?;
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
                registered_from: registered_from(),
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
    packs.insert(pack)?;
    Ok(Nation {
        packs,
        book,
        locations,
        placements,
        month,
    })
}
