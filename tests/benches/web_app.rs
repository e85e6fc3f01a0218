//! The field web app's figures in Chromium with the CPU throttled 4× (standing in for a
//! mid-range tablet), against the real server (release build) on loopback:
//!
//! 1. first-load transfer: every file the app keeps for offline use, as sent compressed;
//! 2. cold start offline to the caseload with 200 stored visits and 500 stored photos;
//! 3. edit to durable (a score tapped until it is committed in the browser's storage), p50/p99;
//! 4. a 12 MP camera JPEG through the photo pipeline;
//! 5. a month of offline work (the `sync` bench's month: 20 visits, every criterion scored with
//!    a note, evidence and actions) synced from the web app: time and bytes on the wire.
//!
//! The tablets' stores are made with the field app's own workspace (the same store schema the
//! web app opens) and put into the browser's private file system before the app starts.
//!
//! Run: `./scripts/build-web.sh && cargo build --release -p accredit-server &&
//! cargo bench -p accredit-e2e --bench web_app`

use std::path::Path;
use std::process::Command;
use std::sync::Mutex;

use accredit_app::Workspace;
use accredit_app::server_api::ServerApi;
use accredit_e2e::{Server, prose, web_app_dir, workspace};
use accredit_shared::records::{Answer, Priority};
use accredit_shared::visit::{ActionDraft, EvidenceDraft, EvidenceKind};
use chrono::Utc;
use image::codecs::jpeg::JpegEncoder;
use image::{ImageEncoder, Rgb, RgbImage};

/// A camera-like JPEG of `w`×`h` with some texture (`grain` 0–48), so it compresses about as
/// photos of a room do.
fn camera_jpeg(w: u32, h: u32, seed: u32, grain: u32) -> Vec<u8> {
    let img = RgbImage::from_fn(w, h, |x, y| {
        let n =
            (x.wrapping_mul(7919) ^ y.wrapping_mul(104729) ^ seed.wrapping_mul(31)) % grain.max(1);
        Rgb([
            ((x / 7 + seed) % 200) as u8 + n as u8,
            ((y / 5) % 200) as u8 + n as u8,
            (((x + y) / 9) % 200) as u8,
        ])
    });
    let mut out = Vec::new();
    JpegEncoder::new_with_quality(&mut out, 88)
        .write_image(img.as_raw(), w, h, image::ExtendedColorType::Rgb8)
        .unwrap();
    out
}

/// A signed-in tablet store at `db` with `visits` visits (every criterion scored with a note of
/// `note_words`, `evidence` evidence items and `actions` actions each) and `photos` photos.
fn tablet(
    server: &Server,
    db: &Path,
    visits: usize,
    note_words: usize,
    evidence: usize,
    actions: usize,
    photos: usize,
) -> usize {
    let ws = Mutex::new(Workspace::open(db).unwrap());
    pollster::block_on(accredit_app::workspace::sign_in(
        &ws,
        &ServerApi::at(&server.url, None),
        &server.url,
        "monitor1",
        "accredit-demo",
        "bench tablet",
    ))
    .unwrap();
    let mut w = ws.into_inner().unwrap();
    let today = accredit_shared::calendar::london_date(Utc::now());
    let locations: Vec<_> = w
        .caseload("", today)
        .unwrap()
        .into_iter()
        .map(|e| e.location.id)
        .collect();
    let criteria: Vec<(String, i32)> = w
        .pack()
        .criteria()
        .map(|c| (c.id.clone(), c.scale.max))
        .collect();
    let photo_bytes: Vec<_> = (0..8)
        .map(|i| accredit_app::photo::process(&camera_jpeg(1600, 1200, i, 6)).unwrap())
        .collect();
    let mut seed = 7u64;
    let mut ids = Vec::new();
    for v in 0..visits {
        let id = w
            .start_visit(
                locations[v % locations.len()],
                accredit_shared::records::VisitType::Annual,
                true,
                Utc::now(),
            )
            .unwrap();
        for (i, (c, max)) in criteria.iter().enumerate() {
            w.set_answer(id, c, Some(Answer::Score(1 + ((v + i) as i32 % *max))))
                .unwrap();
            if note_words > 0 {
                w.set_notes(id, c, &prose(&mut seed, note_words)).unwrap();
            }
        }
        for e in 0..evidence {
            w.add_evidence(
                id,
                &EvidenceDraft {
                    criterion: Some(criteria[e % criteria.len()].0.clone()),
                    kind: EvidenceKind::Observation,
                    text: prose(&mut seed, 18),
                    photo: None,
                },
            )
            .unwrap();
        }
        for a in 0..actions {
            w.add_action(
                id,
                &ActionDraft {
                    criterion: Some(criteria[a % criteria.len()].0.clone()),
                    priority: Priority::Medium,
                    description: prose(&mut seed, 10),
                    owner: "Registered manager".to_owned(),
                    due_on: Some(today + chrono::Days::new(28)),
                },
            )
            .unwrap();
        }
        ids.push(id);
    }
    for p in 0..photos {
        // Each photo distinct (its bytes are its address), as a camera's are.
        let mut photo = photo_bytes[p % photo_bytes.len()].clone();
        photo.bytes.extend_from_slice(format!("{p}").as_bytes());
        photo.hash = blake3::hash(&photo.bytes).to_hex().to_string();
        w.add_photo(ids[p % ids.len()], &photo, "Lounge", None, Utc::now())
            .unwrap();
    }
    // The same visits as gzipped JSON: what the wire bytes are measured against.
    let snapshots: Vec<_> = ids
        .iter()
        .map(|id| w.visit(*id).unwrap().snapshot)
        .collect();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    std::io::Write::write_all(&mut gz, &serde_json::to_vec(&snapshots).unwrap()).unwrap();
    let gzipped_json = gz.finish().unwrap().len();
    drop(w);
    // The browser's store keeps a rollback journal, not a write-ahead log.
    let conn = rusqlite::Connection::open(db).unwrap();
    conn.pragma_update(None, "journal_mode", "DELETE").unwrap();
    gzipped_json
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    assert!(
        web_app_dir().join("index.html").exists(),
        "build the web app first: ./scripts/build-web.sh"
    );
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path().join("data"), "release", true, None);
    let started = std::time::Instant::now();
    let big = dir.path().join("big/accredit.db");
    tablet(&server, &big, 200, 6, 0, 0, 500);
    let month = dir.path().join("month/accredit.db");
    let month_gzipped_json = tablet(&server, &month, 20, 22, 10, 5, 0);
    let twelve = dir.path().join("camera-12mp.jpg");
    std::fs::write(&twelve, camera_jpeg(4000, 3000, 99, 48)).unwrap();
    eprintln!(
        "stores made in {:.1} s: 200 visits + 500 photos {:.1} MB, month {:.1} MB",
        started.elapsed().as_secs_f64(),
        std::fs::metadata(&big).unwrap().len() as f64 / 1e6,
        std::fs::metadata(&month).unwrap().len() as f64 / 1e6
    );
    let status = Command::new("node")
        .arg("webapp.bench.mjs")
        .current_dir(workspace().join("tests/browser"))
        .env("ACCREDIT_URL", &server.url)
        .env("ACCREDIT_BIG_DB", &big)
        .env("ACCREDIT_MONTH_DB", &month)
        .env(
            "ACCREDIT_MONTH_GZIPPED_JSON",
            month_gzipped_json.to_string(),
        )
        .env("ACCREDIT_PHOTO", &twelve)
        .status()
        .expect("node runs the browser side");
    assert!(status.success(), "the browser side failed");
}
