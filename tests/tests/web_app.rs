//! The field web app in real browsers against the real server: Debian's Chromium as a tablet
//! (both orientations) through Playwright (`tests/browser/webapp.flow.mjs`), then the server's
//! JSON API says whether what the tablet recorded offline arrived intact, and its photo without
//! metadata. The bundle is the one `scripts/build-web.sh` built (`./scripts/test.sh` runs it
//! first).

use std::path::Path;
use std::process::{Command, Output};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use accredit_app::Workspace;
use accredit_app::server_api::ServerApi;
use accredit_e2e::{Client, Server, camera_jpeg, web_app_dir, workspace};
use accredit_shared::api::VisitDetail;
use accredit_shared::records::Answer;
use exif::{In, Tag};

fn has_gps(jpeg: &[u8]) -> bool {
    exif::Reader::new()
        .read_from_container(&mut std::io::Cursor::new(jpeg))
        .is_ok_and(|e| e.get_field(Tag::GPSLatitude, In::PRIMARY).is_some())
}

/// One browser at a time: the machine has two cores, and each flow starts Chromium.
static BROWSER: Mutex<()> = Mutex::new(());

fn screenshots() -> std::path::PathBuf {
    if std::env::var_os("ACCREDIT_UPDATE_SCREENSHOTS").is_some() {
        workspace().join("docs/screenshots")
    } else {
        workspace().join("target/screenshots")
    }
}

/// A `node` command for a flow in tests/browser, checked to be runnable.
fn flow(script: &str, server: &Server) -> Command {
    let browser_dir = workspace().join("tests/browser");
    assert!(
        web_app_dir().join("index.html").exists(),
        "the web app is not built: run scripts/build-web.sh (./scripts/test.sh does)"
    );
    assert!(
        browser_dir.join("node_modules/playwright-core").exists(),
        "run `npm ci` in tests/browser (./scripts/test.sh does)"
    );
    let mut cmd = Command::new("node");
    cmd.arg(script)
        .current_dir(&browser_dir)
        .env("ACCREDIT_URL", &server.url)
        .env("ACCREDIT_SCREENSHOTS", screenshots());
    cmd
}

/// Prints a finished flow's output and fails the test if it failed.
fn check(what: &str, out: Output) {
    let report = format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    println!("{report}");
    assert!(out.status.success(), "{what} failed:\n{report}");
}

/// Runs the main flow against `server`; returns its result file.
fn run_flow(server: &Server, dir: &Path, orientation: &str) -> serde_json::Value {
    let photo = dir.join("camera.jpg");
    // Held upright: stored 1600×1200 with orientation 6, and GPS.
    let bytes = camera_jpeg(1600, 1200, 6);
    assert!(has_gps(&bytes), "the fixture must carry GPS");
    std::fs::write(&photo, bytes).unwrap();
    let result = dir.join(format!("result-{orientation}.json"));
    let out = flow("webapp.flow.mjs", server)
        .env("ACCREDIT_PHOTO", &photo)
        .env("ACCREDIT_RESULT", &result)
        .env("ACCREDIT_ORIENTATION", orientation)
        .output()
        .expect("node is needed to run the browser tests");
    check("the web app flow", out);
    serde_json::from_slice(&std::fs::read(&result).unwrap()).unwrap()
}

#[test]
fn a_visit_recorded_offline_in_the_web_app_survives_a_killed_browser_and_arrives_intact() {
    let _one = BROWSER.lock().unwrap_or_else(|p| p.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let server = Server::demo(dir.path());
    for orientation in ["landscape", "portrait"] {
        let result = run_flow(&server, dir.path(), orientation);
        let visit = result["visit"].as_str().unwrap();
        let monitor = Client::sign_in(&server.url, "monitor1");
        let reply = monitor.get(&format!("/api/v1/visits/{visit}"));
        assert_eq!(reply.status, 200, "{}", reply.text());
        let detail: VisitDetail = serde_json::from_slice(&reply.body).unwrap();
        let record = detail.record;
        assert_eq!(
            record.header.location_id.to_string(),
            result["location"].as_str().unwrap()
        );
        // The tapped scores, and the rest marked not assessed at sign-off.
        let scores = record
            .results
            .values()
            .filter(|r| matches!(r.answer, Some(Answer::Score(_))))
            .count();
        assert_eq!(scores, result["scored"].as_array().unwrap().len());
        assert!(record.results.values().all(|r| r.answer.is_some()));
        assert!(record.signoff.is_some(), "signed off on the tablet");
        assert!(
            record
                .results
                .values()
                .any(|r| r.notes == result["notes"].as_str().unwrap()),
            "the typed notes arrived whole"
        );
        let action = record.actions.values().next().expect("the action arrived");
        assert_eq!(action.description, "Review night staffing rota");
        assert_eq!(action.due_on.unwrap().to_string(), "2027-01-15");
        assert_eq!(record.photos.len(), 1);
        let photo = record.photos.values().next().unwrap();
        // Marked up and signed by touch: the marks on that photo, the signatures as strokes,
        // and nothing changed after either signature.
        let marks: Vec<_> = record.annotations_of(&photo.hash).map(|(_, m)| m).collect();
        assert_eq!(marks.len(), 2, "{marks:?}");
        assert_eq!(marks[0].kind, accredit_shared::visit::AnnotationKind::Arrow);
        assert_eq!(marks[1].label, "Call bell out of reach");
        let mut signed: Vec<_> = record.signatures.values().collect();
        signed.sort_by_key(|s| s.signed_at);
        let names: Vec<&str> = signed.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["Mary Manager", "Mo Patel"]);
        assert_eq!(signed[0].strokes.len(), 2, "two strokes by finger");
        assert!(
            signed
                .iter()
                .all(|s| s.strokes.iter().flatten().count() >= 2)
        );
        let lead = Client::sign_in(&server.url, "lead");
        let checks = lead
            .get(&format!("/api/v1/visits/{visit}/signatures"))
            .json();
        assert_eq!(checks.as_array().unwrap().len(), 2, "{checks}");
        assert!(
            checks
                .as_array()
                .unwrap()
                .iter()
                .all(|c| c["changed_after_signing"] == false),
            "{checks}"
        );
        let blob = monitor.get(&format!("/api/v1/blobs/{}", photo.hash));
        assert_eq!(blob.status, 200);
        assert_eq!(blob.body.len() as u64, photo.size);
        assert_eq!(blake3::hash(&blob.body).to_hex().to_string(), photo.hash);
        // Stored 1600×1200 with orientation 6: upright it is 1200 wide and 1600 high.
        let stored = image::load_from_memory(&blob.body).unwrap();
        assert_eq!((stored.width(), stored.height()), (1200, 1600));
        assert_eq!((photo.width, photo.height), (1200, 1600));
        assert!(
            !has_gps(&blob.body),
            "the photo left the tablet without GPS"
        );
        assert!(
            !blob.body.windows(6).any(|w| w == b"Exif\0\0"),
            "no EXIF block at all"
        );
        assert!(!blob.body.windows(9).any(|w| w == b"TabletCam"));
    }
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), target).unwrap();
        }
    }
}

#[test]
fn a_deployed_update_is_offered_and_taken_without_losing_an_offline_draft() {
    let _one = BROWSER.lock().unwrap_or_else(|p| p.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let served = dir.path().join("web-app");
    copy_dir(&web_app_dir(), &served);
    let server = Server::demo_serving(dir.path(), &served);
    let out = flow("webapp-update.flow.mjs", &server)
        .env("ACCREDIT_WEB_APP_DIR", &served)
        .output()
        .expect("node is needed to run the browser tests");
    check("the update flow", out);
}

fn wait_for(path: &Path, node: &mut std::process::Child) {
    let end = Instant::now() + Duration::from_secs(120);
    while !path.exists() {
        if let Ok(Some(status)) = node.try_wait() {
            panic!(
                "the browser side stopped ({status}) before writing {}",
                path.display()
            );
        }
        assert!(Instant::now() < end, "{} never appeared", path.display());
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn a_conflict_between_the_web_app_and_the_desktop_app_shows_on_both_and_blocks_sign_off() {
    let _one = BROWSER.lock().unwrap_or_else(|p| p.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let server = Server::demo(dir.path());
    let exchange = dir.path().join("exchange");
    std::fs::create_dir_all(&exchange).unwrap();
    let mut node = flow("webapp-conflict.flow.mjs", &server)
        .env("ACCREDIT_EXCHANGE", &exchange)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("node is needed to run the browser tests");

    // Sam's desktop app.
    let desk = Mutex::new(Workspace::open(&dir.path().join("sam/accredit.db")).unwrap());
    let sync = |ws: &Mutex<Workspace>| {
        let api = ws.lock().unwrap().api().unwrap();
        pollster::block_on(accredit_app::sync_client::sync(ws, &api, &mut |_| true)).unwrap()
    };
    pollster::block_on(accredit_app::workspace::sign_in(
        &desk,
        &ServerApi::at(&server.url, None),
        &server.url,
        "monitor2",
        "accredit-demo",
        "Sam's tablet",
    ))
    .unwrap();
    wait_for(&exchange.join("visit"), &mut node);
    let visit: uuid::Uuid = std::fs::read_to_string(exchange.join("visit"))
        .unwrap()
        .parse()
        .unwrap();
    sync(&desk);
    let criterion = {
        let mut w = desk.lock().unwrap();
        let view = w.visit(visit).expect("Sam's tablet has Mo's visit");
        let (key, _) = view
            .snapshot
            .results
            .iter()
            .find(|(_, r)| r.answer == Some(Answer::Score(3)))
            .expect("Mo's score of 3 arrived");
        let criterion = key.clone();
        w.set_answer(visit, &criterion, Some(Answer::Score(2)))
            .unwrap();
        criterion
    };
    sync(&desk);
    std::fs::write(exchange.join("desktop-edited"), "").unwrap();

    wait_for(&exchange.join("web-synced"), &mut node);
    sync(&desk);
    {
        let mut w = desk.lock().unwrap();
        let view = w.visit(visit).unwrap();
        let conflict = view
            .conflicts
            .iter()
            .find(|c| c.criterion.as_deref() == Some(criterion.as_str()))
            .expect("the desktop shows the conflict too");
        let authors: Vec<String> = conflict
            .values
            .iter()
            .filter_map(|v| v.author.as_ref().map(|a| a.name.clone()))
            .collect();
        assert!(authors.iter().any(|n| n == "Mo Patel"), "{authors:?}");
        assert!(authors.iter().any(|n| n.starts_with("Sam")), "{authors:?}");
        assert!(!w.sign_off_check(visit).unwrap().ready());
    }
    std::fs::write(exchange.join("desktop-saw"), "").unwrap();

    let out = node.wait_with_output().unwrap();
    check("the conflict flow", out);
    sync(&desk);
    let mut w = desk.lock().unwrap();
    let view = w.visit(visit).unwrap();
    assert!(
        view.conflicts.is_empty(),
        "resolved on the web, resolved here"
    );
    assert_eq!(
        view.snapshot.results[&criterion].answer,
        Some(Answer::Score(4))
    );
    assert!(view.snapshot.signoff.is_some());
}

#[test]
fn a_draft_in_the_web_app_moves_to_a_newer_framework_version_with_a_preview_and_its_history() {
    use accredit_e2e::pack_versions::*;
    let _one = BROWSER.lock().unwrap_or_else(|p| p.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let assets = assets_copy(dir.path());
    publish_v2(&assets);
    let assets_env = assets.to_string_lossy().into_owned();
    let server = Server::demo_with_env(dir.path(), &[("ACCREDIT_ASSETS", &assets_env)]);
    let result = dir.path().join("visit");
    let out = flow("webapp-packmove.flow.mjs", &server)
        .env("ACCREDIT_RESULT", &result)
        .output()
        .expect("node is needed to run the browser tests");
    check("the pack move flow", out);
    let visit: uuid::Uuid = std::fs::read_to_string(&result).unwrap().parse().unwrap();

    // Mo's desktop receives the draft as moved: on v2, the removed criterion's answer listed.
    let desk = Mutex::new(Workspace::open(&dir.path().join("desk/accredit.db")).unwrap());
    pollster::block_on(accredit_app::workspace::sign_in(
        &desk,
        &ServerApi::at(&server.url, None),
        &server.url,
        "monitor1",
        "accredit-demo",
        "Mo's desktop",
    ))
    .unwrap();
    let api = desk.lock().unwrap().api().unwrap();
    pollster::block_on(accredit_app::sync_client::sync(&desk, &api, &mut |_| true)).unwrap();
    let mut w = desk.lock().unwrap();
    let view = w.visit(visit).expect("the desktop has the draft");
    assert_eq!(view.pack.version, V2);
    assert_eq!(
        view.snapshot.results[RENAMED_TO].answer,
        Some(Answer::Score(3))
    );
    let moved = view.snapshot.migrations.values().next().expect("the move");
    assert_eq!(moved.not_carried.len(), 1);
    assert_eq!(moved.not_carried[0].criterion, REMOVED);
    assert_eq!(moved.not_carried[0].answer, Some(Answer::Score(2)));
}
