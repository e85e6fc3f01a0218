//! The council's bulk operations at national scale, in process on a real database file:
//! importing 10,000 placements from CSV through the portal's import service (preview, then the
//! background import with every affected tier re-determined), and building the "due and not
//! planned" list for 15,000 locations, each with a published visit, a CQC rating, and some with
//! open gates and overdue actions. Prints figures; `BENCHMARKS.md` records them.
//!
//! `cargo bench -p accredit-server --bench council_ops`

mod support;

use support::measure::{caller, peak_mb};

use std::time::{Duration, Instant};

use accredit_server::auth::Role;
use accredit_server::import::{self, Kind};
use accredit_server::service::{imports, planning};
use accredit_server::state::Config;
use accredit_server::{default_assets_dir, open, seed};
use anyhow::{Context, anyhow};
use rusqlite::params;
use uuid::Uuid;

const LOCATIONS: usize = 15_000;
const PLACEMENTS: usize = 10_000;

fn main() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let mut config = Config::new(dir.path().join("data"));
    config.today = accredit_shared::calendar::parse_date("2026-12-03").ok();
    let s = open(config, &default_assets_dir())?;
    seed::seed(&s).map_err(|e| anyhow!("seeding: {e}"))?;
    let commissioner = caller(&s, "commissioner", Role::Commissioner)?;
    let lead = caller(&s, "lead", Role::Lead)?;

    // 15,000 locations through the importer (a national register as CSV).
    let mut csv = String::from(import::columns(Kind::Locations));
    csv.push('\n');
    for i in 0..LOCATIONS {
        csv.push_str(&format!(
            "1-8{i:08},Home {i},Provider {},{i} High Street,residential,2015-04-01,\n",
            i / 5
        ));
    }
    let started = Instant::now();
    let (rows, _) =
        s.db.write(|tx| import::import(tx, Kind::Locations, &csv, s.today()))
            .map_err(|e| anyhow!("{e}"))?;
    println!(
        "import {rows} locations (plan + write, no re-determination): {:?}",
        started.elapsed()
    );

    // Each location gets a copy of a published demo visit (varied), a CQC rating, and every
    // tenth an open gate: the records the due list reads.
    let started = Instant::now();
    s.db.write(|tx| {
        let templates: Vec<String> = {
            let mut stmt = tx.prepare("SELECT v.id FROM visits v WHERE v.status = 'published'")?;
            stmt.query_map([], |r| r.get(0))?.collect::<Result<_, _>>()?
        };
        let locations: Vec<String> = {
            let mut stmt = tx.prepare("SELECT id FROM locations WHERE cqc_location_id LIKE '1-8%'")?;
            stmt.query_map([], |r| r.get(0))?.collect::<Result<_, _>>()?
        };
        for (i, loc) in locations.iter().enumerate() {
            let t = &templates[i % templates.len()];
            let v = Uuid::new_v4().to_string();
            tx.execute(
                "INSERT INTO documents (id, location_id, created_by, snapshot, heads, chunk_count, chunk_bytes, updated_at)
                 SELECT ?1, ?2, created_by, snapshot, heads, chunk_count, chunk_bytes, updated_at FROM documents WHERE id = ?3",
                params![v, loc, t],
            )?;
            tx.execute(
                "INSERT INTO visits (id, location_id, status, current_revision, shared_on, window_closes_on, provider_confirmed_at, published_on)
                 SELECT ?1, ?2, status, current_revision, shared_on, window_closes_on, provider_confirmed_at, published_on FROM visits WHERE id = ?3",
                params![v, loc, t],
            )?;
            tx.execute(
                "INSERT INTO visit_revisions (visit_id, revision, heads, record, signed_by, signed_at, state, decided_by, decided_at, published_on, created_at)
                 SELECT ?1, revision, heads, json_set(record, '$.header.location_id', ?2, '$.header.visit_id', ?1), signed_by, signed_at, state, decided_by, decided_at, published_on, created_at
                 FROM visit_revisions WHERE visit_id = ?3",
                params![v, loc, t],
            )?;
            let rating = format!(
                r#"{{"id":"{}","location_id":"{loc}","inspected_on":"2025-05-01","published_on":"2025-06-01","overall":"{}","key_questions":{{}}}}"#,
                Uuid::new_v4(),
                ["good", "requires_improvement", "outstanding", "inadequate"][i % 4]
            );
            tx.execute(
                "INSERT INTO cqc_ratings (id, location_id, data) VALUES (?1, ?2, ?3)",
                params![Uuid::new_v4().to_string(), loc, rating],
            )?;
            if i % 10 == 0 {
                let gate = format!(
                    r#"{{"id":"{}","location_id":"{loc}","kind":"s42_enquiry","opened_on":"2026-11-20","closed_on":null,"outcome":null}}"#,
                    Uuid::new_v4()
                );
                tx.execute(
                    "INSERT INTO gates (id, location_id, data) VALUES (?1, ?2, ?3)",
                    params![Uuid::new_v4().to_string(), loc, gate],
                )?;
            }
        }
        Ok(())
    })
    .map_err(|e| anyhow!("fixture: {e}"))?;
    println!(
        "fixture: a published visit, a rating and every tenth an open gate at each: {:?}",
        started.elapsed()
    );

    // The due list, as the portal and the API build it.
    let mut times = Vec::new();
    let mut due = 0;
    for _ in 0..3 {
        let started = Instant::now();
        due = planning::due_list(&s, &lead)
            .map_err(|e| anyhow!("{e}"))?
            .len();
        times.push(started.elapsed());
    }
    times.sort();
    println!(
        "due and not planned for {} locations: {due} rows, median {:?} (best {:?}, worst {:?}), peak memory {:.0} MB",
        LOCATIONS + 6,
        times[1],
        times[0],
        times[2],
        peak_mb()
    );

    // 10,000 placements through the portal's import: preview, then the background import.
    let mut csv = String::from(import::columns(Kind::Placements));
    csv.push('\n');
    for i in 0..PLACEMENTS {
        csv.push_str(&format!(
            "1-8{:08},R-{i:06},council_permanent,2026-0{}-01,,{}\n",
            (i * 7) % LOCATIONS,
            1 + i % 9,
            80_000 + i
        ));
    }
    let started = Instant::now();
    let draft = imports::upload(&s, &commissioner, Kind::Placements, "placements.csv", &csv)
        .map_err(|e| anyhow!("{e}"))?;
    let uploaded = started.elapsed();
    let started = Instant::now();
    let (_, plan) = imports::preview(&s, &commissioner, draft).map_err(|e| anyhow!("{e}"))?;
    let plan = plan.context("a preview")?;
    let previewed = started.elapsed();
    let (add, update, same, refused) = plan.counts();
    let started = Instant::now();
    imports::start(&s, &commissioner, draft).map_err(|e| anyhow!("{e}"))?;
    loop {
        if imports::progress(&s, draft) == Some(imports::Progress::Finished) {
            break;
        }
        if started.elapsed() > Duration::from_secs(600) {
            return Err(anyhow!("the import did not finish in 10 minutes"));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let imported = started.elapsed();
    let (d, _) = imports::preview(&s, &commissioner, draft).map_err(|e| anyhow!("{e}"))?;
    println!(
        "import {PLACEMENTS} placements: upload and check {uploaded:?}, preview {previewed:?} ({add} to add, {update} to update, {same} unchanged, {refused} refused), import with re-determination {imported:?}: {}; peak memory {:.0} MB",
        d.outcome.unwrap_or_default(),
        peak_mb()
    );
    Ok(())
}
