//! Loads the national data set (`shared/benches/support/nation.rs`: 15,000 locations, 30,000
//! published visits, 400,000 placements) into a fresh server database in one transaction, as the
//! server would hold it after a year of use: providers, locations, published visits as
//! `visit_revisions` with their records (answers and actions), CQC ratings, qualifications,
//! gates, placements, and the stored determinations each change made.
//!
//! Use from a bench binary under `server/benches/` with `mod support;`, then
//! `support::national_db::build(&state)` on a state from `accredit_server::open`.
//!
//! Visit documents are stored as empty snapshots: the benchmarks read published records, never
//! the Automerge documents behind them, and building 30,000 real documents would take minutes.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use accredit_server::state::AppState;
use accredit_server::tiers;
use accredit_shared::Engine;
use accredit_shared::calendar::add_days;
use accredit_shared::records::{LocationRecords, Priority};
use accredit_shared::visit::{
    ActionStatus, Author, CriterionResult, VisitAction, VisitHeader, VisitSnapshot,
};
use anyhow::anyhow;
use chrono::{NaiveDate, NaiveTime};
use rusqlite::params;
use uuid::Uuid;

use super::nation::{Nation, nation, provider_name};

/// What was loaded.
#[derive(Clone, Debug)]
pub struct Summary {
    /// Providers.
    pub providers: usize,
    /// Locations.
    pub locations: usize,
    /// Published visits.
    pub visits: usize,
    /// Answers across the published visits.
    pub answers: usize,
    /// Actions across the published visits.
    pub actions: usize,
    /// Placements.
    pub placements: usize,
    /// Stored determinations.
    pub determinations: usize,
    /// The first day of the month the nation's schedule is for (October 2026).
    pub month_from: NaiveDate,
    /// Its last day.
    pub month_to: NaiveDate,
    /// Time to generate the nation in memory.
    pub generated_in: Duration,
    /// Time to write it to the database (one transaction).
    pub loaded_in: Duration,
}

/// The monitor every visit is signed by (a user that exists only in the records).
fn monitor() -> Author {
    Author {
        user_id: Uuid::from_u128(7 << 100),
        name: "National monitor".to_owned(),
    }
}

/// A published visit's record as the server stores it, its actions those of the nation that
/// came from this visit.
fn record(r: &LocationRecords, v: usize) -> anyhow::Result<VisitSnapshot> {
    let p = &r.visits[v];
    let started_at = p
        .visited_on
        .and_time(NaiveTime::from_hms_opt(10, 0, 0).ok_or_else(|| anyhow!("a time"))?)
        .and_utc();
    let actions = r
        .actions
        .iter()
        .filter(|a| a.visit_id == p.visit_id)
        .map(|a| {
            (
                a.id,
                VisitAction {
                    criterion: None,
                    priority: a.priority,
                    description: match a.priority {
                        Priority::High => "Update the medicines records".to_owned(),
                        Priority::Medium => "Review the care plans".to_owned(),
                        Priority::Low => "Refresh the activities board".to_owned(),
                    },
                    owner: "Registered manager".to_owned(),
                    due_on: Some(a.due_on),
                    status: if a.completed_on.is_some() {
                        ActionStatus::Completed
                    } else {
                        ActionStatus::Open
                    },
                    completed_on: a.completed_on,
                },
            )
        })
        .collect();
    Ok(VisitSnapshot {
        header: VisitHeader {
            visit_id: p.visit_id,
            location_id: p.location_id,
            pack_id: p.pack_id.clone(),
            pack_version: p.pack_version.clone(),
            visit_type: p.visit_type,
            announced: true,
            started_at,
            plan_id: None,
        },
        created_by: monitor(),
        ended_at: None,
        officers: BTreeMap::from([(monitor().user_id, monitor().name)]),
        results: p
            .answers
            .iter()
            .map(|(id, a)| {
                (
                    id.clone(),
                    CriterionResult {
                        answer: Some(*a),
                        notes: String::new(),
                    },
                )
            })
            .collect(),
        evidence: BTreeMap::new(),
        photos: BTreeMap::new(),
        actions,
        resolutions: BTreeMap::new(),
        signoff: None,
        migrations: BTreeMap::new(),
        signatures: BTreeMap::new(),
        annotations: BTreeMap::new(),
    })
}

/// The days a location's tier was re-determined over its year, and why: each visit's
/// publication, its CQC rating's publication and each gate's opening, as the server stores a
/// determination whenever one of those is recorded. Days before `from` or after `to` are left
/// out.
fn events(r: &LocationRecords, from: NaiveDate, to: NaiveDate) -> Vec<(NaiveDate, &'static str)> {
    let mut days: Vec<(NaiveDate, &'static str)> = r
        .visits
        .iter()
        .map(|v| (v.effective_on, "visit published"))
        .chain(
            r.cqc_ratings
                .iter()
                .map(|c| (c.published_on, "cqc_rating.recorded")),
        )
        .chain(r.gates.iter().map(|g| (g.opened_on, "gate.opened")))
        .chain(
            r.gates
                .iter()
                .filter_map(|g| g.closed_on.map(|d| (d, "gate.closed"))),
        )
        .filter(|(d, _)| from <= *d && *d <= to)
        .collect();
    days.sort();
    days
}

/// Generates the nation and writes it into `state`'s database in one transaction. The database
/// should be fresh (`accredit_server::open` on an empty directory, seeded or not): ids are fixed,
/// so loading twice is refused by the primary keys.
pub fn build(state: &AppState) -> anyhow::Result<Summary> {
    let started = Instant::now();
    let n: Nation = nation().map_err(|e| anyhow!("generating the nation: {e}"))?;
    let generated_in = started.elapsed();
    let started = Instant::now();
    let rules = state.rules();
    let engine = Engine::new(&state.packs, &rules);
    let today = state.today();
    let history_from = add_days(n.month.from, -400);
    let signed_at = "2026-01-01T00:00:00Z";
    let mut summary = Summary {
        providers: 0,
        locations: n.locations.len(),
        visits: 0,
        answers: 0,
        actions: 0,
        placements: n.placements.len(),
        determinations: 0,
        month_from: n.month.from,
        month_to: n.month.to,
        generated_in,
        loaded_in: Duration::ZERO,
    };
    let counts = state
        .db
        .write(|tx| {
            let mut provider = tx.prepare("INSERT OR IGNORE INTO providers (id, name) VALUES (?1, ?2)")?;
            let mut location = tx.prepare(
                "INSERT INTO locations (id, provider_id, cqc_location_id, name, address, service_type, registered_from, registered_to)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            )?;
            let mut document = tx.prepare(
                "INSERT INTO documents (id, location_id, created_by, snapshot, heads, updated_at) VALUES (?1, ?2, ?3, x'', '[]', ?4)",
            )?;
            let mut visit = tx.prepare(
                "INSERT INTO visits (id, location_id, status, current_revision, shared_on, window_closes_on, published_on)
                 VALUES (?1, ?2, 'published', 1, ?3, ?4, ?5)",
            )?;
            let mut revision = tx.prepare(
                "INSERT INTO visit_revisions (visit_id, revision, heads, record, signed_by, signed_at, state, published_on, created_at)
                 VALUES (?1, 1, '[]', ?2, ?3, ?4, 'accepted', ?5, ?4)",
            )?;
            let mut rating = tx.prepare("INSERT INTO cqc_ratings (id, location_id, data) VALUES (?1, ?2, ?3)")?;
            let mut gate = tx.prepare("INSERT INTO gates (id, location_id, data) VALUES (?1, ?2, ?3)")?;
            let mut qualification =
                tx.prepare("INSERT INTO qualifications (id, provider_id, data) VALUES (?1, ?2, ?3)")?;
            let mut placement = tx.prepare("INSERT INTO placements (id, location_id, data) VALUES (?1, ?2, ?3)")?;
            let mut determination = tx.prepare(
                "INSERT INTO determinations (location_id, day, trigger, tier, weekly_pence, status, explanation, computed_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            )?;
            let (mut providers, mut visits, mut answers, mut actions, mut determinations) = (0, 0, 0, 0, 0);
            for r in &n.locations {
                let l = &r.location;
                providers += provider.execute(params![l.provider_id.to_string(), provider_name(l.provider_id)])?;
                location.execute(params![
                    l.id.to_string(),
                    l.provider_id.to_string(),
                    l.cqc_location_id,
                    l.name,
                    format!("{} High Street", l.cqc_location_id),
                    tiers::service_text(l.service_type),
                    l.registered_from.to_string(),
                    l.registered_to.map(|d| d.to_string()),
                ])?;
                for (i, p) in r.visits.iter().enumerate() {
                    let id = p.visit_id.to_string();
                    let published = p.effective_on.to_string();
                    let shared = add_days(p.effective_on, -14);
                    document.execute(params![id, l.id.to_string(), monitor().user_id.to_string(), signed_at])?;
                    visit.execute(params![id, l.id.to_string(), shared.to_string(), published, published])?;
                    let rec = record(r, i).map_err(|e| accredit_server::error::ServiceError::internal(format!("{e:#}")))?;
                    actions += rec.actions.len();
                    answers += rec.results.len();
                    revision.execute(params![
                        id,
                        serde_json::to_string(&rec)?,
                        monitor().user_id.to_string(),
                        signed_at,
                        published
                    ])?;
                    visits += 1;
                }
                for c in &r.cqc_ratings {
                    rating.execute(params![c.id.to_string(), l.id.to_string(), serde_json::to_string(c)?])?;
                }
                for g in &r.gates {
                    gate.execute(params![g.id.to_string(), l.id.to_string(), serde_json::to_string(g)?])?;
                }
                for q in &r.qualifications {
                    qualification.execute(params![q.id.to_string(), q.provider_id.to_string(), serde_json::to_string(q)?])?;
                }
                for (day, trigger) in events(r, history_from, today) {
                    let det = engine.determine(r, day);
                    determination.execute(params![
                        l.id.to_string(),
                        day.to_string(),
                        trigger,
                        det.tier.as_ref().map(|t| t.name.clone()),
                        det.rate.weekly.0,
                        tiers::status_text(det.status),
                        serde_json::to_string(&det)?,
                        format!("{day}T12:00:00Z"),
                    ])?;
                    determinations += 1;
                }
            }
            for p in &n.placements {
                placement.execute(params![p.id.to_string(), p.location_id.to_string(), serde_json::to_string(p)?])?;
            }
            Ok((providers, visits, answers, actions, determinations))
        })
        .map_err(|e| anyhow!("loading the nation: {e}"))?;
    (
        summary.providers,
        summary.visits,
        summary.answers,
        summary.actions,
        summary.determinations,
    ) = counts;
    summary.loaded_in = started.elapsed();
    Ok(summary)
}
