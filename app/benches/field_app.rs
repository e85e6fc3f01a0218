//! Field-app figures: edit-to-durable latency, cold start to the caseload with 1,000 stored
//! visits, the photo pipeline on a 12 MP camera JPEG, and a visit's history view read from a
//! document of thousands of changes. Prints figures; run with
//! `cargo bench -p accredit-app --bench field_app`.

use std::time::{Duration, Instant};

use accredit_app::Workspace;
use accredit_app::photo;
use accredit_app::server_api::Session;
use accredit_app::store::{Store, reference};
use accredit_shared::records::{Answer, VisitType};
use chrono::Utc;
use image::codecs::jpeg::JpegEncoder;
use image::{Rgb, RgbImage};
use serde_json::json;
use uuid::Uuid;

fn pct(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

/// A store with a signed-in session and a caseload of `locations`, as if synced earlier.
fn prepared(path: &std::path::Path, locations: usize) -> Vec<Uuid> {
    let store = Store::open(path).unwrap();
    let session = Session {
        server_url: "http://127.0.0.1:9".into(),
        token: "t".into(),
        device_id: Uuid::new_v4(),
        user_id: Uuid::new_v4(),
        name: "Bench Monitor".into(),
        role: accredit_shared::api::Role::Monitor,
    };
    store
        .set_setting("session", Some(&serde_json::to_string(&session).unwrap()))
        .unwrap();
    let ids: Vec<Uuid> = (0..locations).map(|_| Uuid::new_v4()).collect();
    let list: Vec<_> = ids
        .iter()
        .enumerate()
        .map(|(i, id)| json!({ "id": id, "name": format!("Home {i}"), "provider_id": Uuid::new_v4(), "tier": "Silver", "traffic_light": (["red", "amber", "green"][i % 3]), "last_visit_on": "2026-05-01", "next_visit_due_on": "2027-05-01" }))
        .collect();
    reference::put(store.conn(), "caseload", &list).unwrap();
    ids
}

fn edit_latency() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("a.db");
    let locs = prepared(&db, 1);
    let mut ws = Workspace::open(&db).unwrap();
    let id = ws
        .start_visit(locs[0], VisitType::Annual, true, Utc::now())
        .unwrap();
    let criteria: Vec<(String, i32)> = ws
        .pack()
        .criteria()
        .map(|c| (c.id.clone(), c.scale.max))
        .collect();
    let mut times = Vec::new();
    let mut note = String::new();
    for i in 0..2_000 {
        let (c, max) = &criteria[i % criteria.len()];
        let t = Instant::now();
        if i % 2 == 0 {
            ws.set_answer(id, c, Some(Answer::Score(max - (i as i32 / 2) % 2)))
                .unwrap();
        } else {
            note.push(if i % 7 == 0 { ' ' } else { 'x' });
            ws.set_notes(id, &criteria[0].0, &note).unwrap();
        }
        times.push(t.elapsed());
    }
    times.sort();
    println!(
        "edit to durable (score or keystroke, committed with synchronous=FULL), 2,000 edits: p50 {}  p99 {}  max {}",
        ms(pct(&times, 0.5)),
        ms(pct(&times, 0.99)),
        ms(*times.last().unwrap())
    );
}

/// The history view reads every change's metadata and the pack version at each: it must stay
/// quick on a visit typed keystroke by keystroke.
fn history_view() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("a.db");
    let locs = prepared(&db, 1);
    let mut ws = Workspace::open(&db).unwrap();
    let id = ws
        .start_visit(locs[0], VisitType::Annual, true, Utc::now())
        .unwrap();
    let criteria: Vec<(String, i32)> = ws
        .pack()
        .criteria()
        .map(|c| (c.id.clone(), c.scale.max))
        .collect();
    let mut note = String::new();
    for i in 0..3_000 {
        let (c, max) = &criteria[i % criteria.len()];
        if i % 3 == 0 {
            ws.set_answer(id, c, Some(Answer::Score(max - (i as i32 / 3) % 2)))
                .unwrap();
        } else {
            note.push(if i % 7 == 0 { ' ' } else { 'x' });
            ws.set_notes(id, &criteria[i % 5].0, &note).unwrap();
        }
    }
    let mut times = Vec::new();
    let mut points = 0;
    for _ in 0..7 {
        let t = Instant::now();
        points = ws.visit_history(id).unwrap().points.len();
        times.push(t.elapsed());
    }
    times.sort();
    println!(
        "history view of a visit of 3,001 changes ({points} points), 7 runs: median {}  max {}",
        ms(pct(&times, 0.5)),
        ms(*times.last().unwrap())
    );
}

fn cold_start() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("a.db");
    let locs = prepared(&db, 40);
    {
        let mut ws = Workspace::open(&db).unwrap();
        let criteria: Vec<(String, i32)> = ws
            .pack()
            .criteria()
            .map(|c| (c.id.clone(), c.scale.max))
            .collect();
        for v in 0..1_000 {
            let id = ws
                .start_visit(locs[v % locs.len()], VisitType::Annual, true, Utc::now())
                .unwrap();
            for (c, max) in criteria.iter().take(10) {
                ws.set_answer(id, c, Some(Answer::Score(*max))).unwrap();
            }
        }
    }
    let mut times = Vec::new();
    let mut shown = 0;
    for _ in 0..7 {
        let t = Instant::now();
        let ws = Workspace::open(&db).unwrap();
        let today = accredit_shared::calendar::london_date(Utc::now());
        shown = ws.caseload("", today).unwrap().len();
        times.push(t.elapsed());
    }
    times.sort();
    println!(
        "cold start to caseload ({shown} locations, 1,000 stored visits, 11,000 chunks), 7 runs: median {}  max {}",
        ms(pct(&times, 0.5)),
        ms(*times.last().unwrap())
    );
}

fn photo_pipeline() {
    // A 12 MP camera-like image: smooth light with fine texture, as a JPEG at quality 92.
    let mut x: u32 = 12345;
    let img = RgbImage::from_fn(4000, 3000, |px, py| {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        let n = (x % 24) as u8;
        Rgb([
            ((px / 16) % 200) as u8 + n,
            ((py / 12) % 200) as u8 + n,
            90 + n,
        ])
    });
    let mut jpeg = Vec::new();
    JpegEncoder::new_with_quality(&mut jpeg, 92)
        .encode_image(&img)
        .unwrap();
    let mut times = Vec::new();
    let mut out = None;
    for _ in 0..7 {
        let t = Instant::now();
        out = Some(photo::process(&jpeg).unwrap());
        times.push(t.elapsed());
    }
    times.sort();
    let out = out.unwrap();
    println!(
        "photo pipeline, 12 MP JPEG ({:.1} MB) to {}x{} ({} KB) + thumbnail, one thread, 7 runs: median {}  max {}",
        jpeg.len() as f64 / 1e6,
        out.width,
        out.height,
        out.bytes.len() / 1024,
        ms(pct(&times, 0.5)),
        ms(*times.last().unwrap())
    );
}

fn main() {
    // `cargo test --benches` runs bench binaries with no arguments meant for them: keep it short.
    if std::env::args().any(|a| a == "--bench") {
        edit_latency();
        cold_start();
        photo_pipeline();
        history_view();
    } else {
        println!("field_app bench: run with `cargo bench -p accredit-app --bench field_app`");
    }
}
