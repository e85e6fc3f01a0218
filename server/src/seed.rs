//! Realistic demo data for `accredit-server demo`: a council's commissioner, a lead, two monitors,
//! two providers with five locations, published visits scored against the default pack, CQC
//! ratings, IIP and ISO 9001 certificates, an open s.42 enquiry, a visit waiting for review, and
//! placements. Everything goes through the same functions the API uses.

use std::collections::BTreeMap;

use accredit_shared::FrameworkPack;
use accredit_shared::calendar::{add_days, add_months};
use accredit_shared::money::Pence;
use accredit_shared::records::*;
use accredit_shared::visit::points::Point;
use accredit_shared::visit::{
    ActionDraft, Author, EvidenceDraft, EvidenceKind, SignatureDraft, VisitDoc, VisitHeader,
};
use accredit_shared::withhold::Contract;
use chrono::Datelike;
use chrono::{NaiveDate, TimeZone, Utc};
use rusqlite::{Connection, params};
use uuid::Uuid;

use crate::auth::{Caller, Role};
use crate::error::ServiceError;
use crate::service::visits;
use crate::state::AppState;
use crate::users::{self, NewLocation};
use crate::{docstore, tiers};

/// The password of every demo account.
pub const DEMO_PASSWORD: &str = "accredit-demo";

/// A demo login, printed at start-up.
pub struct Login {
    /// Username.
    pub username: &'static str,
    /// Who it is.
    pub description: String,
}

const PACK_ID: &str = "cqc-quality-statements";

fn demo_answers(pack: &FrameworkPack, base: i32, seed: usize) -> BTreeMap<String, Answer> {
    pack.criteria()
        .enumerate()
        .map(|(i, c)| {
            let wobble = match (i * 7 + seed) % 5 {
                0 => -1,
                1 => 1,
                _ => 0,
            };
            let answer = if (i + seed).is_multiple_of(41) {
                Answer::NotApplicable
            } else {
                Answer::Score((base + wobble).clamp(c.scale.min + 1, c.scale.max))
            };
            (c.id.clone(), answer)
        })
        .collect()
}

/// Builds, signs off and stores a visit; returns its id.
#[allow(clippy::too_many_arguments)]
fn record_visit(
    tx: &Connection,
    pack: &FrameworkPack,
    monitor: &Author,
    location: Uuid,
    visited_on: NaiveDate,
    base: i32,
    seed: usize,
    sign: bool,
    actions_done: bool,
) -> Result<Uuid, ServiceError> {
    let err = |e: accredit_shared::visit::VisitDocError| {
        ServiceError::internal(format!("demo visit: {e}"))
    };
    let visit_id = Uuid::new_v4();
    let started = Utc
        .from_local_datetime(&visited_on.and_hms_opt(9, 30, 0).unwrap_or_default())
        .single()
        .unwrap_or_else(Utc::now);
    let header = VisitHeader {
        visit_id,
        location_id: location,
        pack_id: pack.id.clone(),
        pack_version: pack.version.clone(),
        visit_type: if seed % 3 == 2 {
            VisitType::Unannounced
        } else {
            VisitType::Annual
        },
        announced: seed % 3 != 2,
        started_at: started,
        plan_id: None,
    };
    let mut doc = VisitDoc::create(&header, pack, monitor.clone()).map_err(err)?;
    for (criterion, answer) in demo_answers(pack, base, seed) {
        doc.set_answer(pack, &criterion, Some(answer))
            .map_err(err)?;
    }
    let first = pack.criteria().next().map(|c| c.id.clone());
    if let Some(c) = &first {
        doc.set_notes(
            pack,
            c,
            "Safeguarding policy reviewed; staff could describe how to raise a concern.",
        )
        .map_err(err)?;
        doc.add_evidence(
            pack,
            &EvidenceDraft {
                criterion: Some(c.clone()),
                kind: EvidenceKind::StaffInterview,
                text: "Spoke with two senior carers on the day shift.".into(),
                photo: None,
            },
        )
        .map_err(err)?;
    }
    let medicines = pack
        .criteria()
        .find(|c| c.critical && c.id.contains("medic"))
        .or_else(|| pack.criteria().find(|c| c.critical))
        .map(|c| c.id.clone());
    doc.add_action(
        pack,
        &ActionDraft {
            criterion: medicines,
            priority: if base < 3 {
                Priority::High
            } else {
                Priority::Medium
            },
            description:
                "Complete PRN protocols for all residents prescribed 'as required' medicines."
                    .into(),
            owner: "Registered manager".into(),
            due_on: Some(add_days(visited_on, 28)),
        },
    )
    .map_err(err)?;
    if actions_done {
        // An earlier visit's action plan was carried out on time.
        let ids: Vec<Uuid> = doc
            .snapshot()
            .map_err(err)?
            .actions
            .keys()
            .copied()
            .collect();
        for id in ids {
            doc.set_action_status(
                id,
                accredit_shared::visit::ActionStatus::Completed,
                Some(add_days(visited_on, 21)),
            )
            .map_err(err)?;
        }
    }
    doc.set_ended_at(started + chrono::Duration::hours(6))
        .map_err(err)?;
    if sign {
        // The home's manager and the monitor sign on the tablet before sign-off.
        let pad = |shift: u32| {
            vec![
                [(20, 150), (50, 60), (80, 140), (110, 55), (140, 150)]
                    .iter()
                    .map(|&(x, y)| Point { x: x + shift, y })
                    .collect::<Vec<_>>(),
                vec![
                    Point {
                        x: 170 + shift,
                        y: 120,
                    },
                    Point {
                        x: 260 + shift,
                        y: 110,
                    },
                ],
            ]
        };
        for (name, role, shift) in [
            ("Alex Morgan", "Registered manager", 0),
            (monitor.name.as_str(), "Quality monitor", 40),
        ] {
            doc.add_signature(
                &SignatureDraft {
                    name: name.to_owned(),
                    role: role.to_owned(),
                    width: 600,
                    height: 200,
                    strokes: pad(shift),
                },
                started + chrono::Duration::minutes(415),
            )
            .map_err(err)?;
        }
        doc.sign_off(started + chrono::Duration::hours(7))
            .map_err(err)?;
    }
    let caller = Caller {
        user_id: monitor.user_id,
        name: monitor.name.clone(),
        role: Role::Monitor,
        provider_id: None,
        device_id: Uuid::new_v4(),
        password_change_due: false,
    };
    let snapshot = doc.snapshot().map_err(err)?;
    docstore::insert(
        tx,
        visit_id,
        location,
        monitor.user_id,
        docstore::encode_new(doc.automerge()),
    )?;
    docstore::set_photos(tx, visit_id, snapshot.photo_hashes())?;
    if let Some(reason) = visits::after_change(tx, &caller, visit_id, doc.automerge(), &snapshot)? {
        return Err(ServiceError::internal(format!(
            "demo visit refused: {reason}"
        )));
    }
    Ok(visit_id)
}

fn publish_on(
    tx: &Connection,
    visit: Uuid,
    shared_on: NaiveDate,
    published_on: NaiveDate,
) -> Result<(), ServiceError> {
    tx.execute(
        "UPDATE visits SET status = 'published', shared_on = ?2, window_closes_on = ?3, published_on = ?4 WHERE id = ?1",
        params![visit.to_string(), shared_on.to_string(), add_days(shared_on, 14).to_string(), published_on.to_string()],
    )?;
    tx.execute(
        "UPDATE visit_revisions SET published_on = ?2 WHERE visit_id = ?1 AND revision = 1",
        params![visit.to_string(), published_on.to_string()],
    )?;
    Ok(())
}

fn json_insert<T: serde::Serialize>(
    tx: &Connection,
    table: &str,
    key_col: &str,
    id: Uuid,
    key: Uuid,
    v: &T,
) -> Result<(), ServiceError> {
    tx.execute(
        &format!("INSERT INTO {table} (id, {key_col}, data) VALUES (?1, ?2, ?3)"),
        params![id.to_string(), key.to_string(), serde_json::to_string(v)?],
    )?;
    Ok(())
}

fn d(y: i32, m: u32, day: u32) -> Result<NaiveDate, ServiceError> {
    NaiveDate::from_ymd_opt(y, m, day).ok_or_else(|| ServiceError::internal("bad demo date"))
}

/// Seeds an empty database; returns the demo logins.
pub fn seed(state: &AppState) -> Result<Vec<Login>, ServiceError> {
    let pack = state
        .packs
        .get(PACK_ID, "2026.1")
        .ok_or_else(|| {
            ServiceError::internal(
                "the default framework pack cqc-quality-statements@2026.1 is missing from assets",
            )
        })?
        .clone();
    let today = state.today();
    state.db.write(|tx| {
        let empty: i64 = tx.query_row("SELECT count(*) FROM users", [], |r| r.get(0))?;
        if empty > 0 {
            return Err(ServiceError::conflict(
                "the database already has users; demo data goes only into an empty one",
            ));
        }
        let coastal = users::provider_by_name(tx, "Coastal Care Ltd")?;
        let fylde = users::provider_by_name(tx, "Fylde Homes Partnership")?;
        let homes = [
            (
                coastal,
                "1-101000001",
                "Seaview House",
                "12 North Promenade, Blackpool FY1 2AA",
                ServiceType::Residential,
            ),
            (
                coastal,
                "1-101000002",
                "Promenade Court",
                "88 South Promenade, Blackpool FY4 1BB",
                ServiceType::Nursing,
            ),
            (
                fylde,
                "1-102000001",
                "Stanley Park Lodge",
                "3 West Park Drive, Blackpool FY3 9CC",
                ServiceType::Residential,
            ),
            (
                fylde,
                "1-102000002",
                "Bispham Gardens",
                "40 Red Bank Road, Bispham FY2 9DD",
                ServiceType::Residential,
            ),
            (
                fylde,
                "1-102000003",
                "Fylde Coast Home Care",
                "Unit 5, Whitehills Park, Blackpool FY4 5EE",
                ServiceType::HomeCare,
            ),
        ];
        let mut loc = Vec::new();
        for (provider, cqc, name, address, service) in homes {
            loc.push(users::upsert_location(
                tx,
                &NewLocation {
                    provider_id: provider,
                    cqc_location_id: cqc,
                    name,
                    address,
                    service_type: service,
                    registered_from: d(2014, 6, 1)?,
                    registered_to: None,
                },
            )?);
        }
        let commissioner = users::insert_user(
            tx,
            "commissioner",
            "Chris Hall (Commissioning)",
            Role::Commissioner,
            None,
            DEMO_PASSWORD,
        )?;
        let _ = commissioner;
        users::insert_user(
            tx,
            "lead",
            "Lena Shaw (Lead Officer)",
            Role::Lead,
            None,
            DEMO_PASSWORD,
        )?;
        let m1 = users::insert_user(
            tx,
            "monitor1",
            "Mo Patel",
            Role::Monitor,
            None,
            DEMO_PASSWORD,
        )?;
        let m2 = users::insert_user(
            tx,
            "monitor2",
            "Sam Okafor",
            Role::Monitor,
            None,
            DEMO_PASSWORD,
        )?;
        users::insert_user(
            tx,
            "coastal",
            "Jo Barnes (Coastal Care)",
            Role::Provider,
            Some(coastal),
            DEMO_PASSWORD,
        )?;
        users::insert_user(
            tx,
            "fylde",
            "Priya Singh (Fylde Homes)",
            Role::Provider,
            Some(fylde),
            DEMO_PASSWORD,
        )?;
        // Demo addresses on reserved example domains: a test SMTP server catches them.
        tx.execute(
            "UPDATE users SET email = username || CASE role WHEN 'provider' THEN '@provider.example' ELSE '@council.example' END",
            [],
        )?;
        for l in [loc[0], loc[1], loc[2]] {
            users::assign(tx, m1, l)?;
        }
        for l in [loc[2], loc[3], loc[4]] {
            users::assign(tx, m2, l)?;
        }
        let mo = Author {
            user_id: m1,
            name: "Mo Patel".into(),
        };
        let sam = Author {
            user_id: m2,
            name: "Sam Okafor".into(),
        };

        // Earlier published visits, so each home has a history: Seaview and Stanley improved.
        let earlier = [(0, &mo, 3, 560), (0, &mo, 3, 930), (2, &sam, 2, 480), (1, &mo, 3, 520)];
        for (seed_no, (i, who, base, days_ago)) in earlier.into_iter().enumerate() {
            let visited = add_days(today, -days_ago);
            let v = record_visit(tx, &pack, who, loc[i], visited, base, 20 + seed_no, true, true)?;
            publish_on(tx, v, add_days(visited, 7), add_days(visited, 24))?;
        }
        // Published visits: Seaview strong, Promenade good, Stanley good, Bispham weaker.
        let plan = [
            (0, &mo, 4, 200),
            (1, &mo, 3, 150),
            (2, &sam, 3, 120),
            (3, &sam, 3, 90),
        ];
        for (seed_no, (i, who, base, days_ago)) in plan.into_iter().enumerate() {
            let visited = add_days(today, -days_ago);
            let v = record_visit(tx, &pack, who, loc[i], visited, base, seed_no + i, true, false)?;
            publish_on(tx, v, add_days(visited, 7), add_days(visited, 24))?;
        }
        // A follow-up at Promenade Court shared three days ago: its provider can comment until
        // the window closes.
        let follow_up = record_visit(tx, &pack, &mo, loc[1], add_days(today, -5), 3, 12, true, false)?;
        let shared_on = add_days(today, -3);
        tx.execute(
            "UPDATE visits SET status = 'shared', shared_on = ?2, window_closes_on = ?3 WHERE id = ?1",
            params![follow_up.to_string(), shared_on.to_string(), add_days(shared_on, 14).to_string()],
        )?;
        // Waiting for review: a signed-off follow-up at Bispham Gardens; a draft at the home care service.
        record_visit(tx, &pack, &sam, loc[3], add_days(today, -6), 2, 9, true, false)?;
        record_visit(tx, &pack, &sam, loc[4], add_days(today, -1), 3, 4, false, false)?;

        // CQC ratings, published some weeks after inspection.
        let ratings = [
            (0, CqcRatingValue::Outstanding),
            (1, CqcRatingValue::RequiresImprovement),
            (2, CqcRatingValue::Good),
            (3, CqcRatingValue::Good),
            (4, CqcRatingValue::Good),
        ];
        for (i, overall) in ratings {
            let r = CqcRating {
                id: Uuid::new_v4(),
                location_id: loc[i],
                inspected_on: add_days(today, -400),
                published_on: add_days(today, -350),
                overall,
                key_questions: BTreeMap::from([(
                    KeyQuestion::Safe,
                    if overall == CqcRatingValue::RequiresImprovement {
                        CqcRatingValue::RequiresImprovement
                    } else {
                        CqcRatingValue::Good
                    },
                )]),
            };
            json_insert(tx, "cqc_ratings", "location_id", r.id, loc[i], &r)?;
        }
        // Certificates: IIP Gold for Coastal (covers Seaview), ISO 9001 for Fylde (both homes).
        let iip = Qualification {
            id: Uuid::new_v4(),
            provider_id: coastal,
            kind: QualificationKind::IipGold,
            certificate_ref: "IIP-2025-04417".into(),
            issued_on: d(2025, 3, 1)?,
            expires_on: d(2028, 2, 28)?,
            last_surveillance_on: None,
            verified_on: Some(d(2025, 3, 12)?),
            verified_by: Some("Chris Hall".into()),
            covered_locations: vec![loc[0]],
        };
        json_insert(tx, "qualifications", "provider_id", iip.id, coastal, &iip)?;
        let iso = Qualification {
            id: Uuid::new_v4(),
            provider_id: fylde,
            kind: QualificationKind::Iso9001,
            certificate_ref: "ISO9001-GB-77310".into(),
            issued_on: d(2024, 9, 1)?,
            expires_on: d(2027, 8, 31)?,
            last_surveillance_on: Some(add_days(today, -200)),
            verified_on: Some(d(2024, 9, 20)?),
            verified_by: Some("Chris Hall".into()),
            covered_locations: vec![loc[2], loc[3]],
        };
        json_insert(tx, "qualifications", "provider_id", iso.id, fylde, &iso)?;
        // An open s.42 safeguarding enquiry at Stanley Park Lodge.
        let gate = Gate {
            id: Uuid::new_v4(),
            location_id: loc[2],
            kind: GateKind::S42Enquiry,
            opened_on: add_days(today, -10),
            closed_on: None,
            outcome: None,
        };
        json_insert(tx, "gates", "location_id", gate.id, loc[2], &gate)?;
        // Placements: mostly council-funded permanent residents, with the exclusions finance expects.
        let mut n = 0;
        for (i, l) in loc.iter().enumerate().take(4) {
            for p in 0..6 {
                n += 1;
                let funding = match p {
                    4 => FundingType::SelfFunded,
                    5 if i == 1 => FundingType::NhsContinuingHealthcare,
                    5 => FundingType::CouncilShortTerm,
                    _ => FundingType::CouncilPermanent,
                };
                let placement = Placement {
                    id: Uuid::new_v4(),
                    location_id: *l,
                    resident_ref: format!("BPL-{:05}", 10_000 + n * 37),
                    funding,
                    start: add_days(today, -(400 + 30 * p as i64)),
                    end: None,
                    died_on: None,
                    base_weekly_rate_pence: if i == 1 { 86_500 } else { 72_500 },
                    hospital_stays: vec![],
                };
                json_insert(
                    tx,
                    "placements",
                    "location_id",
                    placement.id,
                    *l,
                    &placement,
                )?;
            }
        }
        // Contracts for withhold and release, each with a period ending this month so the
        // payments page settles it: Seaview House's and Fylde's (all its homes, the lowest score
        // deciding) run for a year; Stanley Park Lodge's runs in quarters.
        let first_of = |months_back: i32| -> Result<NaiveDate, ServiceError> {
            let n = today.year() * 12 + today.month0() as i32 - months_back;
            d(n.div_euclid(12), n.rem_euclid(12) as u32 + 1, 1)
        };
        let year_start = first_of(11)?;
        let quarter_start = first_of(2)?;
        for c in [
            Contract {
                id: Uuid::new_v4(),
                reference: "BPL-QAP-2026-001".into(),
                provider_id: coastal,
                location_id: Some(loc[0]),
                starts_on: year_start,
                ends_on: add_days(add_months(year_start, 12), -1),
                period_months: 12,
                value_per_period: Pence(15_000_000),
                withhold_percent: None,
            },
            Contract {
                id: Uuid::new_v4(),
                reference: "BPL-QAP-2026-002".into(),
                provider_id: fylde,
                location_id: Some(loc[2]),
                starts_on: quarter_start,
                ends_on: add_days(add_months(quarter_start, 12), -1),
                period_months: 3,
                value_per_period: Pence(3_120_000),
                withhold_percent: Some(accredit_shared::ratio::Ratio::integer(4)),
            },
            Contract {
                id: Uuid::new_v4(),
                reference: "BPL-QAP-2026-003".into(),
                provider_id: fylde,
                location_id: None,
                starts_on: year_start,
                ends_on: add_days(add_months(year_start, 12), -1),
                period_months: 12,
                value_per_period: Pence(9_800_000),
                withhold_percent: None,
            },
        ] {
            crate::service::contracts::store(tx, &c)?;
        }
        let all = tiers::all_locations(tx)?;
        tiers::redetermine(state, &state.rules(), tx, &all, "demo data")?;
        Ok(())
    })?;
    Ok(vec![
        Login {
            username: "commissioner",
            description: "commissioner: rules, CQC ratings, gates, certificates, payments".into(),
        },
        Login {
            username: "lead",
            description: "lead officer: reviews, shares and publishes visits".into(),
        },
        Login {
            username: "monitor1",
            description: "quality monitor (Seaview House, Promenade Court, Stanley Park Lodge)"
                .into(),
        },
        Login {
            username: "monitor2",
            description:
                "quality monitor (Stanley Park Lodge, Bispham Gardens, Fylde Coast Home Care)"
                    .into(),
        },
        Login {
            username: "coastal",
            description: "provider: Coastal Care Ltd".into(),
        },
        Login {
            username: "fylde",
            description: "provider: Fylde Homes Partnership".into(),
        },
    ])
}
