//! Sync benchmarks against the real server (release build) on loopback.
//!
//! 1. A month of offline work (20 visits of the default pack's 99 criteria, with notes, evidence
//!    and actions) synced in one go: bytes on the wire and time, against the same visits as
//!    gzipped JSON.
//! 2. 200 devices syncing at once, each editing and syncing its own visit in a loop: throughput,
//!    request latency p50/p99 and errors.
//!
//! Run: `cargo bench -p accredit-e2e --bench sync`

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use accredit_e2e::{Client, Server, prose};
use accredit_shared::FrameworkPack;
use accredit_shared::records::{Answer, Priority};
use accredit_shared::sync::Replica;
use accredit_shared::visit::*;
use chrono::{Days, Utc};
use uuid::Uuid;

fn pack() -> FrameworkPack {
    FrameworkPack::from_toml(
        &std::fs::read_to_string(
            accredit_e2e::workspace().join("assets/frameworks/cqc-quality-statements.toml"),
        )
        .unwrap(),
    )
    .unwrap()
}

fn month_of_work(server: &Server, pack: &FrameworkPack) {
    let mut seed = 42u64;
    let mo = Client::sign_in(&server.url, "monitor1");
    let location = Uuid::parse_str(
        mo.get("/api/v1/locations").json()["locations"][0]["id"]
            .as_str()
            .unwrap(),
    )
    .unwrap();
    let author = mo.author();
    let mut replica = Replica::new(author.clone());
    let mut snapshots = Vec::new();
    let build = Instant::now();
    for v in 0..20u64 {
        let header = VisitHeader {
            started_at: Utc::now() - Days::new(30 - v),
            ..accredit_e2e::annual_visit(location, pack)
        };
        let id = header.visit_id;
        let mut doc = VisitDoc::create(&header, pack, author.clone()).unwrap();
        for (i, c) in pack.criteria().enumerate() {
            doc.set_answer(
                pack,
                &c.id,
                Some(Answer::Score(1 + ((i as u64 + v) % 4) as i32)),
            )
            .unwrap();
            doc.set_notes(pack, &c.id, &prose(&mut seed, 22)).unwrap();
            if i % 10 == 0 {
                doc.add_evidence(
                    pack,
                    &EvidenceDraft {
                        criterion: Some(c.id.clone()),
                        kind: EvidenceKind::RecordReview,
                        text: format!(
                            "Reviewed {} care plans and the MAR charts for the last 28 days.",
                            3 + i % 5
                        ),
                        photo: None,
                    },
                )
                .unwrap();
            }
        }
        for a in 0..5 {
            doc.add_action(
                pack,
                &ActionDraft {
                    criterion: None,
                    priority: Priority::Medium,
                    description: format!(
                        "Action {a}: update the falls risk assessments and review them monthly."
                    ),
                    owner: "Registered manager".into(),
                    due_on: Some(Utc::now().date_naive()),
                },
            )
            .unwrap();
        }
        snapshots.push(doc.snapshot().unwrap());
        replica.insert(id, doc, None);
    }
    let built = build.elapsed();
    let json = serde_json::to_vec(&snapshots).unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&json).unwrap();
    let gz = gz.finish().unwrap();
    let start = Instant::now();
    let report = mo.sync(&mut replica).unwrap();
    let took = start.elapsed();
    // The same data as JSON includes the visits that came down: the wire carried them too.
    let mut all_snapshots = snapshots.clone();
    for id in &report.new_documents {
        all_snapshots.push(replica.doc(id).unwrap().snapshot().unwrap());
    }
    let all_json = serde_json::to_vec(&all_snapshots).unwrap();
    let mut all_gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    all_gz.write_all(&all_json).unwrap();
    let all_gz = all_gz.finish().unwrap();
    let (on_wire_sent, on_wire_received) = (
        mo.wire[0].load(std::sync::atomic::Ordering::Relaxed),
        mo.wire[1].load(std::sync::atomic::Ordering::Relaxed),
    );
    assert!(replica.unacknowledged().is_empty());
    let wire = report.bytes_sent + report.bytes_received;
    println!(
        "month of offline work: 20 visits x {} criteria, a 22-word note on each, 10 evidence items and 5 actions per visit (built in {:.0} ms)",
        pack.criterion_count(),
        built.as_secs_f64() * 1e3
    );
    println!(
        "  sync: {} round trips, {} bytes sent, {} bytes received, {} bytes total, {:.0} ms",
        report.rounds,
        report.bytes_sent,
        report.bytes_received,
        wire,
        took.as_secs_f64() * 1e3
    );
    // The first round asks for every visit the monitor may sync, so the demo's own visits at
    // these locations come down too: part of the bytes received is theirs, not the month's.
    println!(
        "  of which {} visits already on the server came down with the first round",
        report.new_documents.len()
    );
    println!(
        "  same data as JSON: {} bytes; gzipped JSON: {} bytes; sync total / gzipped JSON = {:.2}",
        json.len(),
        gz.len(),
        wire as f64 / gz.len() as f64
    );
    let on_wire = on_wire_sent + on_wire_received;
    println!(
        "  on the wire (zstd both ways, as the field app sends them): {} bytes sent, {} received, {} total; / gzipped JSON = {:.2}; sent alone / gzipped JSON = {:.2}",
        on_wire_sent,
        on_wire_received,
        on_wire,
        on_wire as f64 / gz.len() as f64,
        on_wire_sent as f64 / gz.len() as f64
    );
    println!(
        "  every visit that crossed the wire (the month's and those that came down) as gzipped JSON: {} bytes; on the wire / that = {:.2}",
        all_gz.len(),
        on_wire as f64 / all_gz.len() as f64
    );
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

/// Adds `devices` monitors, two per location (co-monitors), to a fresh data directory.
fn seed_monitors(data: &std::path::Path, devices: usize) -> Vec<(String, Uuid)> {
    use accredit_server::{auth::Role, state::Config, users};
    let state = accredit_server::open(
        Config::new(data.to_owned()),
        &accredit_e2e::workspace().join("assets"),
    )
    .unwrap();
    state
        .db
        .write(|tx| {
            let provider = users::provider_by_name(tx, "Bench Care Group")?;
            let mut out = Vec::new();
            for d in 0..devices {
                let pair = d / 2;
                let location = users::upsert_location(
                    tx,
                    &users::NewLocation {
                        provider_id: provider,
                        cqc_location_id: &format!("1-9{pair:08}"),
                        name: &format!("Bench Home {pair}"),
                        address: "",
                        service_type: accredit_shared::records::ServiceType::Residential,
                        registered_from: chrono::NaiveDate::from_ymd_opt(2020, 1, 1).unwrap(),
                        registered_to: None,
                    },
                )?;
                let username = format!("bench{d}");
                let id = users::add_user(
                    tx,
                    &username,
                    &format!("Bench Monitor {d}"),
                    Role::Monitor,
                    None,
                    "bench-password",
                )?;
                users::assign(tx, id, location)?;
                out.push((username, location));
            }
            Ok(out)
        })
        .unwrap()
}

/// How the simulated tablets share this machine's cores with the server.
#[derive(Clone, Copy, PartialEq)]
enum Tablets {
    /// At a lower scheduling priority (nice 10): in the field every tablet has its own CPU, so
    /// the server's latency should not include 200 simulated tablets' Automerge work competing
    /// for the same two cores.
    Yielding,
    /// At the server's priority: the tablets' work and the server's share the cores equally.
    Competing,
}

fn concurrent_devices(
    server: &Server,
    pack: &FrameworkPack,
    monitors: &[(String, Uuid)],
    cycles: usize,
    tablets: Tablets,
) {
    let devices = monitors.len();
    let clients: Vec<(Client, Uuid)> = monitors
        .iter()
        .map(|(u, l)| (Client::sign_in_with(&server.url, u, "bench-password"), *l))
        .collect();
    let latencies: Arc<Mutex<Vec<Duration>>> = Arc::default();
    let first: Arc<Mutex<Vec<Duration>>> = Arc::default();
    let errors: Arc<Mutex<Vec<String>>> = Arc::default();
    let barrier = Arc::new(std::sync::Barrier::new(devices));
    let start = Instant::now();
    let handles: Vec<_> = clients
        .into_iter()
        .enumerate()
        .map(|(d, (client, location))| {
            let (pack, latencies, first, errors, barrier) = (
                pack.clone(),
                latencies.clone(),
                first.clone(),
                errors.clone(),
                barrier.clone(),
            );
            std::thread::spawn(move || {
                if tablets == Tablets::Yielding {
                    // SAFETY: setpriority with PRIO_PROCESS and who = 0 changes only the calling
                    // thread's nice value on Linux; it reads and writes no memory of ours.
                    unsafe { libc::setpriority(libc::PRIO_PROCESS, 0, 10) };
                }
                let author = client.author();
                let header = accredit_e2e::annual_visit(location, &pack);
                let id = header.visit_id;
                let mut replica = Replica::new(author.clone());
                replica.insert(id, VisitDoc::create(&header, &pack, author).unwrap(), None);
                let criteria: Vec<String> = pack.criteria().map(|c| c.id.clone()).collect();
                barrier.wait();
                for cycle in 0..cycles {
                    let doc = replica.doc_mut(&id).unwrap();
                    for k in 0..5 {
                        doc.set_answer(
                            &pack,
                            &criteria[(cycle * 5 + k) % criteria.len()],
                            Some(Answer::Score(1 + ((cycle + k) % 4) as i32)),
                        )
                        .unwrap();
                    }
                    let mut mine = Vec::new();
                    let result = replica.sync_with(
                        |body| {
                            let t = Instant::now();
                            let r = client.sync_body(body);
                            mine.push(t.elapsed());
                            r
                        },
                        30,
                    );
                    if cycle == 0 {
                        first.lock().unwrap().extend(mine.iter().copied());
                    }
                    latencies.lock().unwrap().extend(mine);
                    if let Err(e) = result {
                        errors.lock().unwrap().push(e.to_string());
                    }
                    std::thread::sleep(Duration::from_millis(
                        20 + (d as u64 * 7 + cycle as u64 * 13) % 80,
                    ));
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    let wall = start.elapsed();
    let mut lat = latencies.lock().unwrap().clone();
    lat.sort();
    let errors = errors.lock().unwrap();
    println!(
        "{devices} devices (monitors in pairs sharing a location, each pair's visits reaching both) syncing at once, {cycles} edit-and-sync cycles each (5 answers per cycle, 20–100 ms pause), simulated tablets {}:",
        match tablets {
            Tablets::Yielding => "at lower CPU priority than the server",
            Tablets::Competing => "competing with the server for the CPU at equal priority",
        }
    );
    println!(
        "  {} sync requests in {:.1} s = {:.0} requests/s; latency p50 {:.1} ms, p90 {:.1} ms, p99 {:.1} ms, max {:.1} ms; errors {}",
        lat.len(),
        wall.as_secs_f64(),
        lat.len() as f64 / wall.as_secs_f64(),
        percentile(&lat, 0.5).as_secs_f64() * 1e3,
        percentile(&lat, 0.9).as_secs_f64() * 1e3,
        percentile(&lat, 0.99).as_secs_f64() * 1e3,
        lat.last().copied().unwrap_or_default().as_secs_f64() * 1e3,
        errors.len()
    );
    let mut first = first.lock().unwrap().clone();
    first.sort();
    println!(
        "  first cycle (every device creating its visit in the same instant): {} requests, p50 {:.1} ms, p99 {:.1} ms",
        first.len(),
        percentile(&first, 0.5).as_secs_f64() * 1e3,
        percentile(&first, 0.99).as_secs_f64() * 1e3
    );
    if let Some(e) = errors.first() {
        println!("  first error: {e}");
    }
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` does not run this harness-less bench.
    let pack = pack();
    {
        let dir = tempfile::tempdir().unwrap();
        let server = Server::start(dir.path().join("data"), "release", true, None);
        month_of_work(&server, &pack);
    }
    for tablets in [Tablets::Yielding, Tablets::Competing] {
        let dir = tempfile::tempdir().unwrap();
        let monitors = seed_monitors(&dir.path().join("data"), 200);
        let server = Server::start(dir.path().join("data"), "release", false, None);
        concurrent_devices(&server, &pack, &monitors, 10, tablets);
    }
}
