//! The real desktop app under Xvfb, driven by mouse and keyboard through xdotool as a monitor
//! would: sign in, lose the server, record a visit (scores, a note typed fast, a photo, an
//! action), kill the app, reopen it and find everything, get the server back, sync, and check at
//! the server that the visit arrived intact. Screenshots of each screen go to
//! `target/screenshots/` (and to `docs/screenshots/` with `ACCREDIT_UPDATE_SCREENSHOTS=1`).
//!
//! The app writes where its elements are (`ACCREDIT_UI_PROBE`), so the test knows where to click.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use accredit_app::Workspace;
use accredit_e2e::{Client, Server, Xvfb, app_binary, workspace};
use accredit_shared::sync::Replica;
use image::codecs::jpeg::JpegEncoder;
use image::{Rgb, RgbImage};
use serde_json::Value;

/// Elements of the sticky header.
const HEADER: [&str; 4] = ["product", "nav-caseload", "nav-sync", "sign-out"];

struct App {
    child: Child,
    display: String,
    probe: PathBuf,
    shots: PathBuf,
}

/// An element's box on screen and what it shows.
#[derive(Debug, Clone)]
struct Seen {
    x: f64,
    y: f64,
    w: f64,
    h: f64,
    text: String,
    pressed: String,
}

impl App {
    fn start(x: &Xvfb, data: &Path, server: &str, photos: &Path, shots: &Path) -> App {
        App::start_with(x, data, server, photos, shots, &[])
    }

    fn start_with(
        x: &Xvfb,
        data: &Path,
        server: &str,
        photos: &Path,
        shots: &Path,
        env: &[(&str, &str)],
    ) -> App {
        let probe = data.join("probe.json");
        let _ = std::fs::remove_file(&probe);
        let child = Command::new(app_binary())
            .envs(env.iter().copied())
            .args(["--data-dir"])
            .arg(data)
            .args(["--server", server, "--photo-dir"])
            .arg(photos)
            .args(["--sync-every", "3600"])
            .env("DISPLAY", &x.display)
            .env("ACCREDIT_WINDOW", x.size)
            .env("ACCREDIT_UI_PROBE", &probe)
            .env("GDK_BACKEND", "x11")
            .env_remove("WAYLAND_DISPLAY")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("starting the app");
        let app = App {
            child,
            display: x.display.clone(),
            probe,
            shots: shots.to_owned(),
        };
        app.wait_for("main");
        // The first click on a fresh window only gives it focus: click the product name.
        app.click("product");
        app
    }

    fn xdotool(&self, args: &[&str]) {
        let ok = Command::new("xdotool")
            .args(args)
            .env("DISPLAY", &self.display)
            .status()
            .expect("xdotool is needed (apt package xdotool)")
            .success();
        assert!(ok, "xdotool {args:?} failed");
    }

    fn boxes(&self) -> Option<(Value, f64)> {
        let text = std::fs::read_to_string(&self.probe).ok()?;
        let v: Value = serde_json::from_str(&text).ok()?;
        let height = v["innerHeight"].as_f64()?;
        Some((v["boxes"].clone(), height))
    }

    fn seen(&self, id: &str) -> Option<Seen> {
        let (boxes, _) = self.boxes()?;
        let b = boxes.get(id)?;
        Some(Seen {
            x: b[0].as_f64()?,
            y: b[1].as_f64()?,
            w: b[2].as_f64()?,
            h: b[3].as_f64()?,
            text: b[4].as_str().unwrap_or_default().to_owned(),
            pressed: b[5].as_str().unwrap_or_default().to_owned(),
        })
    }

    fn wait_until(&self, what: &str, f: impl Fn(&App) -> bool) {
        let until = Instant::now() + Duration::from_secs(20);
        while Instant::now() < until {
            if f(self) {
                return;
            }
            std::thread::sleep(Duration::from_millis(150));
        }
        self.screenshot("failure");
        panic!("timed out waiting for {what}; see target/screenshots/failure.png");
    }

    fn wait_for(&self, id: &str) -> Seen {
        self.wait_until(id, |a| a.seen(id).is_some());
        self.seen(id).unwrap_or_else(|| panic!("{id} vanished"))
    }

    fn wait_text(&self, id: &str, needle: &str) {
        self.wait_until(&format!("{id} to show {needle:?}"), |a| {
            a.seen(id).is_some_and(|s| s.text.contains(needle))
        });
    }

    fn id_with_text(&self, prefix: &str, needle: &str) -> String {
        let (boxes, _) = self.boxes().expect("probe");
        boxes
            .as_object()
            .and_then(|m| {
                m.iter()
                    .find(|(k, v)| {
                        k.starts_with(prefix) && v[4].as_str().is_some_and(|t| t.contains(needle))
                    })
                    .map(|(k, _)| k.clone())
            })
            .unwrap_or_else(|| panic!("no {prefix}* showing {needle:?}"))
    }

    /// Scrolls with the keyboard (Page Down / Page Up, from a neutral spot) until `id` is on
    /// screen below the header, as someone would scroll to a button before pressing it.
    fn scroll_to(&self, id: &str) -> Seen {
        for _ in 0..60 {
            let s = self.wait_for(id);
            let (_, height) = self.boxes().expect("probe");
            let aim = s.y + (s.h / 2.0).min(20.0);
            // The header stays on screen; everything else must be below it.
            let top = if HEADER.contains(&id) { 0.0 } else { 64.0 };
            if aim >= top && aim <= height - 4.0 {
                // Only a position that holds is worth a tap: under load the page may still be
                // scrolling or re-laying out, and the probe may be a frame behind.
                std::thread::sleep(Duration::from_millis(250));
                match self.seen(id) {
                    Some(again) if again.x == s.x && again.y == s.y => return s,
                    _ => continue,
                }
            }
            let product = self.seen("product").expect("the header");
            let (px, py) = ((product.x + 5.0) as i64, (product.y + 5.0) as i64);
            self.xdotool(&["mousemove", &px.to_string(), &py.to_string(), "click", "1"]);
            self.key(if aim < 64.0 { "Page_Up" } else { "Page_Down" });
        }
        panic!("could not scroll {id} into view");
    }

    fn click(&self, id: &str) {
        let s = self.scroll_to(id);
        let (x, y) = (
            (s.x + (s.w / 2.0).min(40.0)) as i64,
            (s.y + s.h / 2.0) as i64,
        );
        self.xdotool(&["mousemove", &x.to_string(), &y.to_string(), "click", "1"]);
        std::thread::sleep(Duration::from_millis(700));
    }

    /// Types as a fast typist does: 12 ms between keys.
    fn type_text(&self, text: &str) {
        self.xdotool(&["type", "--delay", "12", text]);
        std::thread::sleep(Duration::from_millis(700));
    }

    fn key(&self, key: &str) {
        self.xdotool(&["key", key]);
        std::thread::sleep(Duration::from_millis(500));
    }

    fn screenshot(&self, name: &str) {
        std::fs::create_dir_all(&self.shots).unwrap();
        let path = self.shots.join(format!("{name}.png"));
        let _ = Command::new("import")
            .args(["-window", "root"])
            .arg(&path)
            .env("DISPLAY", &self.display)
            .status();
        if std::env::var_os("ACCREDIT_UPDATE_SCREENSHOTS").is_some() {
            let docs = workspace().join("docs/screenshots");
            std::fs::create_dir_all(&docs).unwrap();
            std::fs::copy(&path, docs.join(format!("{name}.png"))).unwrap();
        }
    }

    /// Ends the app at once, as when a tablet's battery dies.
    fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for App {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A D-Bus session bus on the X display, as a desktop session has: the app's file picker asks the
/// XDG desktop portal over it, and the bus starts the portal and its GTK file chooser on demand.
struct SessionBus {
    child: Child,
    address: String,
}

impl SessionBus {
    fn start(x: &Xvfb) -> SessionBus {
        use std::io::BufRead;
        let mut child = Command::new("dbus-daemon")
            .args(["--session", "--nofork", "--print-address=1"])
            .env("DISPLAY", &x.display)
            .env("GDK_BACKEND", "x11")
            .env("XDG_CURRENT_DESKTOP", "GNOME")
            .env_remove("WAYLAND_DISPLAY")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("dbus-daemon is needed (apt package dbus)");
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().expect("bus stdout"))
            .read_line(&mut line)
            .expect("the bus address");
        SessionBus {
            child,
            address: line.trim().to_owned(),
        }
    }
}

impl Drop for SessionBus {
    fn drop(&mut self) {
        // The portals it started leave with it.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Waits for a visible top-level window of this X class and returns its X id.
fn window_of_class(app: &App, class: &str) -> String {
    let until = Instant::now() + Duration::from_secs(20);
    while Instant::now() < until {
        let out = Command::new("xdotool")
            .args(["search", "--onlyvisible", "--class", class])
            .env("DISPLAY", &app.display)
            .output()
            .expect("xdotool");
        if let Some(id) = String::from_utf8_lossy(&out.stdout).lines().next() {
            return id.to_owned();
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    app.screenshot("failure");
    let out = Command::new("sh")
        .args(["-c", "for w in $(xdotool search --onlyvisible --class .); do echo \"$w $(xdotool getwindowname $w) | $(xprop -id $w WM_CLASS)\"; done"])
        .env("DISPLAY", &app.display)
        .output()
        .expect("xdotool");
    panic!(
        "no window of class {class:?} appeared; windows:\n{}\nsee target/screenshots/failure.png",
        String::from_utf8_lossy(&out.stdout)
    );
}

fn camera_roll(dir: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    let img = RgbImage::from_fn(1600, 1200, |x, y| {
        if x < 800 {
            Rgb([150, 40, 40])
        } else {
            Rgb([(y / 5) as u8, 120, 160])
        }
    });
    let mut jpeg = Vec::new();
    JpegEncoder::new_with_quality(&mut jpeg, 88)
        .encode_image(&img)
        .unwrap();
    std::fs::write(dir.join("IMG_0001.jpg"), jpeg).unwrap();
}

#[test]
fn a_monitor_records_a_visit_offline_in_the_real_app_and_it_reaches_the_server() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = Server::demo(dir.path());
    let x = Xvfb::landscape();
    let data = dir.path().join("tablet");
    let photos = dir.path().join("camera");
    camera_roll(&photos);
    let shots = workspace().join("target/screenshots");

    let app = App::start(&x, &data, &server.url, &photos, &shots);
    app.screenshot("sign-in");
    app.click("username");
    app.type_text("monitor1");
    app.click("password");
    app.type_text("accredit-demo");
    app.key("Return");
    app.wait_for("caseload");
    app.wait_text("caseload", "Seaview House");
    app.screenshot("caseload");

    // Out of signal.
    server.kill();
    let card = app.id_with_text("location-", "Seaview House");
    app.click(&card);
    app.wait_for("start-visit");
    app.screenshot("location");
    app.click("start-visit");
    app.wait_for("domain-safe");

    let pack =
        accredit_shared::FrameworkPack::from_toml(accredit_app::workspace::SHIPPED_PACK).unwrap();
    let safe: Vec<String> = pack.domains[0]
        .standards
        .iter()
        .flat_map(|s| &s.criteria)
        .map(|c| c.id.clone())
        .collect();
    let dashed = |c: &str| c.replace('.', "-");
    app.click(&format!("score-{}-3", dashed(&safe[0])));
    app.click(&format!("score-{}-n-a", dashed(&safe[1])));
    app.wait_until("the score to show as chosen", |a| {
        a.seen(&format!("score-{}-3", dashed(&safe[0])))
            .is_some_and(|s| s.pressed == "true")
    });
    // A double tap on the chosen score keeps it (checked in the store below); clearing a score
    // takes its own button.
    app.click(&format!("score-{}-3", dashed(&safe[0])));
    app.click(&format!("score-{}-2", dashed(&safe[2])));
    app.wait_until("the third score to show as chosen", |a| {
        a.seen(&format!("score-{}-2", dashed(&safe[2])))
            .is_some_and(|s| s.pressed == "true")
    });
    app.click(&format!("clear-{}", dashed(&safe[2])));
    app.wait_until("the third score to be cleared", |a| {
        a.seen(&format!("score-{}-2", dashed(&safe[2])))
            .is_some_and(|s| s.pressed == "false")
    });
    let note = "Fire door on the first floor wedged open; manager told at 10:40 and it was closed.";
    // Notes open on demand, so criteria take less room.
    app.click(&format!("notes-toggle-{}", dashed(&safe[0])));
    app.click(&format!("notes-{}", dashed(&safe[0])));
    app.type_text(note);
    app.wait_text(&format!("notes-{}", dashed(&safe[0])), note);
    app.wait_text("overall-percent", "%");

    app.click("jump-section-photos");
    app.click("photo-caption");
    app.type_text("Wedged fire door");
    app.click("recent-photo-0");
    app.wait_until("the photo to be added", |a| {
        a.seen("photos").is_some_and(|s| s.h > 50.0)
    });

    app.click("jump-section-actions");
    app.click("action-description");
    app.type_text("Fit a hold-open device linked to the fire alarm");
    app.click("action-owner");
    app.type_text("Registered manager");
    app.click("action-due-day");
    app.type_text("31");
    app.click("action-due-month");
    app.type_text("12");
    app.click("action-due-year");
    app.type_text("2026");
    app.click("add-action");
    app.wait_text("actions", "Fit a hold-open device");
    app.click("jump-section-summary");
    app.screenshot("visit-editor");

    // The battery dies.
    app.kill();
    let recorded = {
        let mut ws = Workspace::open(&data.join("accredit.db")).unwrap();
        // The visits already on the caseload arrived with the first sync; one was made here.
        let rows: Vec<_> = accredit_app::store::docs::list(ws.store().conn())
            .unwrap()
            .into_iter()
            .filter(|r| r.created_here)
            .collect();
        assert_eq!(rows.len(), 1);
        let v = ws.visit(rows[0].id).unwrap();
        let first = &v.snapshot.results[&safe[0]];
        assert_eq!(
            first.answer,
            Some(accredit_shared::records::Answer::Score(3))
        );
        assert_eq!(first.notes, note, "every keystroke typed fast was kept");
        assert_eq!(
            v.snapshot.results[&safe[1]].answer,
            Some(accredit_shared::records::Answer::NotApplicable)
        );
        assert_eq!(v.snapshot.results[&safe[2]].answer, None, "cleared");
        assert_eq!(v.snapshot.photos.len(), 1);
        assert_eq!(
            v.snapshot.photos.values().next().unwrap().caption,
            "Wedged fire door"
        );
        let action = v.snapshot.actions.values().next().expect("the action");
        assert_eq!(action.due_on, chrono::NaiveDate::from_ymd_opt(2026, 12, 31));
        assert_eq!(action.owner, "Registered manager");
        v.snapshot
    };

    // Reopened: still signed in, and the visit is all there on screen.
    let app = App::start(&x, &data, &server.url, &photos, &shots);
    app.wait_for("caseload");
    let card = app.id_with_text("location-", "Seaview House");
    app.click(&card);
    // The draft is offered first, with how far it has got, so nobody starts it twice.
    let open = format!("continue-{}", recorded.header.visit_id);
    app.wait_text(&open, "(2 of 99 answered)");
    app.wait_text("start-visit", "Start another visit");
    app.screenshot("location-with-draft");
    app.click(&open);
    app.wait_until("the saved score", |a| {
        a.seen(&format!("score-{}-3", dashed(&safe[0])))
            .is_some_and(|s| s.pressed == "true")
    });
    app.wait_text(&format!("notes-{}", dashed(&safe[0])), "wedged open");

    // Back in range: sync from the sync centre.
    server.restart();
    app.click("nav-sync");
    app.screenshot("sync-centre-pending");
    app.click("sync-now");
    app.wait_text(
        "pending-count",
        "Everything on this device has reached the server",
    );
    app.screenshot("sync-centre");

    // At the server: another device of the monitor's receives the visit exactly as recorded.
    let device = Client::sign_in(&server.url, "monitor1");
    let mut replica = Replica::new(device.author());
    device.sync(&mut replica).expect("sync");
    let at_server = replica
        .doc(&recorded.header.visit_id)
        .expect("the visit reached the server")
        .snapshot()
        .unwrap();
    assert_eq!(at_server, recorded);
    let blob = device.get(&format!(
        "/api/v1/blobs/{}",
        recorded.photos.values().next().unwrap().hash
    ));
    assert_eq!(blob.status, 200);

    // The sign-off check list, for the record.
    let card = {
        app.click("nav-caseload");
        app.id_with_text("location-", "Seaview House")
    };
    app.click(&card);
    app.click(&open);
    app.click("to-signoff");
    app.wait_text("main", "Before you can sign off");
    app.screenshot("sign-off");

    // Each unanswered criterion is a link, grouped by domain: it opens that criterion.
    let effective = pack.domains[1].standards[0].criteria[0].id.clone();
    app.click(&format!("goto-unanswered-{}", dashed(&effective)));
    app.wait_for(&format!("score-{}-3", dashed(&effective)));
    app.click("to-signoff");
    // "Mark the rest not assessed" asks first, then leaves the answers given as they were.
    app.click("mark-rest");
    app.wait_text("confirm-mark-rest", "not assessed?");
    app.screenshot("sign-off-mark-rest");
    app.click("mark-rest-yes");
    app.wait_for("ready-to-sign");
    // The manager signs on the pad with the mouse (WebKitGTK's pointer events, as a stylus or
    // finger gives on a tablet), her name typed.
    app.click("manager-sig-name");
    app.type_text("Mary Manager");
    let pad = app.scroll_to("manager-sig-pad-surface");
    let at = |dx: f64, dy: f64| {
        (
            ((pad.x + dx) as i64).to_string(),
            ((pad.y + dy) as i64).to_string(),
        )
    };
    let (x0, y0) = at(40.0, 150.0);
    app.xdotool(&["mousemove", &x0, &y0, "mousedown", "1"]);
    for (dx, dy) in [(80.0, 60.0), (120.0, 140.0), (160.0, 50.0), (200.0, 150.0)] {
        let (x, y) = at(dx, dy);
        app.xdotool(&["mousemove", &x, &y]);
        std::thread::sleep(Duration::from_millis(60));
    }
    app.xdotool(&["mouseup", "1"]);
    app.wait_text("manager-sig-pad-count", "1 stroke drawn");
    app.screenshot("signature-pad");
    app.click("manager-sig-add");
    // Taken: the pad is cleared for the next signer.
    app.wait_text("manager-sig-pad-count", "0 strokes drawn");
    app.kill();
    let ws = Workspace::open(&data.join("accredit.db")).unwrap();
    let mut ws = ws;
    let v = ws.visit(recorded.header.visit_id).unwrap();
    assert_eq!(
        v.snapshot.results[&safe[0]].answer,
        Some(accredit_shared::records::Answer::Score(3))
    );
    assert_eq!(
        v.snapshot.results[&effective].answer,
        Some(accredit_shared::records::Answer::NotAssessed)
    );
    assert!(v.snapshot.results.values().all(|r| r.answer.is_some()));
    let signature = v
        .snapshot
        .signatures
        .values()
        .next()
        .expect("the manager's signature");
    assert_eq!(signature.name, "Mary Manager");
    assert_eq!(signature.strokes.len(), 1);
    assert!(
        signature.strokes[0].len() >= 3,
        "the drag's points: {:?}",
        signature.strokes
    );
}

/// Signs a workspace in as `user`, syncing the caseload and its visits.
fn signed_in(db: &Path, url: &str, user: &str) -> Workspace {
    let ws = std::sync::Mutex::new(Workspace::open(db).unwrap());
    pollster::block_on(accredit_app::workspace::sign_in(
        &ws,
        &accredit_app::server_api::ServerApi::at(url, None),
        url,
        user,
        "accredit-demo",
        &format!("{user}'s tablet"),
    ))
    .unwrap();
    ws.into_inner().unwrap()
}

fn sync(ws: Workspace) -> Workspace {
    let api = ws.api().unwrap();
    let ws = std::sync::Mutex::new(ws);
    pollster::block_on(accredit_app::sync_client::sync(&ws, &api, &mut |_| true)).unwrap();
    ws.into_inner().unwrap()
}

#[test]
fn a_co_monitors_different_score_is_resolved_by_touch_on_a_portrait_tablet() {
    use accredit_shared::records::{Answer, VisitType};
    let dir = tempfile::tempdir().unwrap();
    let server = Server::demo(dir.path());
    let data = dir.path().join("tablet");
    let today = accredit_shared::calendar::london_date(chrono::Utc::now());

    // Mo starts a visit to Stanley Park Lodge and scores all but the first criterion; Sam, who
    // also covers the home, receives it. Both then score the first criterion offline, differently.
    let mut mo = signed_in(&data.join("accredit.db"), &server.url, "monitor1");
    let lodge = mo.caseload("Stanley Park", today).unwrap()[0].location.id;
    let id = mo
        .start_visit(lodge, VisitType::Annual, false, chrono::Utc::now())
        .unwrap();
    let criteria: Vec<(String, i32)> = mo
        .pack()
        .criteria()
        .map(|c| (c.id.clone(), c.scale.max))
        .collect();
    for (c, max) in &criteria[1..] {
        mo.set_answer(id, c, Some(Answer::Score(*max))).unwrap();
    }
    let mo = sync(mo);
    let mut sam = sync(signed_in(
        &dir.path().join("sam.db"),
        &server.url,
        "monitor2",
    ));
    let (first, max) = criteria[0].clone();
    sam.set_answer(id, &first, Some(Answer::Score(max - 1)))
        .unwrap();
    let mut mo = mo;
    mo.set_answer(id, &first, Some(Answer::Score(max))).unwrap();
    let mo = sync(mo);
    drop(sync(sam));
    drop(sync(mo));

    let x = Xvfb::portrait();
    let photos = dir.path().join("camera");
    camera_roll(&photos);
    let shots = workspace().join("target/screenshots");
    let app = App::start(&x, &data, &server.url, &photos, &shots);
    app.wait_text("caseload", "Stanley Park Lodge");
    let main = app.wait_for("main");
    assert!(main.w <= 800.0, "the window is portrait-sized: {main:?}");
    app.screenshot("portrait-caseload");
    let card = app.id_with_text("location-", "Stanley Park Lodge");
    app.click(&card);
    app.click(&format!("continue-{id}"));
    app.wait_text("conflicts", "Conflicts to resolve (1)");
    let dashed = first.replace('.', "-");
    app.click(&format!("goto-conflict-{dashed}"));
    // Both values with their authors, on the criterion itself.
    app.wait_text(&format!("criterion-{dashed}"), "recorded by Mo Patel");
    app.wait_text(&format!("criterion-{dashed}"), "recorded by Sam Okafor");
    app.screenshot("portrait-conflict");

    // Without a reason the choice is refused, and nothing changes.
    let keep = app.id_with_text("keep-", &format!("Keep {}", max - 1));
    app.click(&keep);
    app.wait_text("error-summary", "resolution needs a reason");
    assert!(app.seen("conflicts").is_some());
    // As GOV.UK forms do: the message is at the field too, and the summary links to it.
    let error = app.id_with_text("reason-", "needs a reason");
    assert!(error.ends_with("-error"), "{error}");
    let reason_field = error.trim_end_matches("-error").to_owned();
    app.screenshot("portrait-conflict-error");
    app.click(&format!("error-link-{reason_field}"));
    let reason = "Agreed with Sam: two care plans were out of date";
    app.type_text(reason);
    app.click(&keep);
    app.wait_until("the conflict to be resolved", |a| {
        a.seen("conflicts").is_none()
    });
    app.wait_until("the kept score", |a| {
        a.seen(&format!("score-{dashed}-{}", max - 1))
            .is_some_and(|s| s.pressed == "true")
    });
    app.click("to-signoff");
    app.wait_for("ready-to-sign");
    app.click("sign-off");
    app.wait_for("read-only");
    app.screenshot("portrait-signed-off");
    app.kill();

    let mut mo = Workspace::open(&data.join("accredit.db")).unwrap();
    let v = mo.visit(id).unwrap();
    assert!(v.conflicts.is_empty());
    assert!(v.read_only);
    assert_eq!(
        v.snapshot.results[&first].answer,
        Some(Answer::Score(max - 1))
    );
    let kept: Vec<_> = v.snapshot.resolutions.values().collect();
    assert_eq!(kept.len(), 1, "only the resolution with a reason");
    assert_eq!(kept[0].reason, reason);
    assert_eq!(kept[0].by.name, "Mo Patel");
    assert_eq!(v.snapshot.signoff.as_ref().unwrap().by.name, "Mo Patel");
}

#[test]
fn a_photo_chosen_in_the_desktop_file_picker_is_added_to_the_visit() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::demo(dir.path());
    let data = dir.path().join("tablet");
    let today = accredit_shared::calendar::london_date(chrono::Utc::now());
    let mut mo = signed_in(&data.join("accredit.db"), &server.url, "monitor1");
    let home = mo.caseload("Seaview", today).unwrap()[0].location.id;
    let id = mo
        .start_visit(
            home,
            accredit_shared::records::VisitType::Annual,
            true,
            chrono::Utc::now(),
        )
        .unwrap();
    drop(mo);
    // A photo somewhere on the computer, not in the camera folder.
    let downloads = dir.path().join("Downloads");
    camera_roll(&downloads);
    let chosen = downloads.join("kitchen.jpg");
    std::fs::rename(downloads.join("IMG_0001.jpg"), &chosen).unwrap();

    let x = Xvfb::landscape();
    let bus = SessionBus::start(&x);
    let shots = workspace().join("target/screenshots");
    let app = App::start_with(
        &x,
        &data,
        &server.url,
        &dir.path().join("no-camera"),
        &shots,
        &[("DBUS_SESSION_BUS_ADDRESS", bus.address.as_str())],
    );
    app.wait_for("caseload");
    let card = app.id_with_text("location-", "Seaview House");
    app.click(&card);
    app.click(&format!("continue-{id}"));
    app.click("jump-section-photos");
    app.click("photo-caption");
    app.type_text("Kitchen");
    app.click("photo-file");
    // The desktop's own file chooser, through the portal: type the path, as a person may.
    let picker = window_of_class(&app, "xdg-desktop-portal-gtk");
    app.xdotool(&["windowfocus", "--sync", &picker]);
    app.key("ctrl+l");
    app.type_text(&chosen.display().to_string());
    app.key("Return");
    app.wait_until("the chosen photo to be added", |a| {
        a.seen("photos").is_some_and(|s| s.text.contains("Kitchen"))
    });
    app.kill();

    let mut mo = Workspace::open(&data.join("accredit.db")).unwrap();
    let v = mo.visit(id).unwrap();
    let photo = v.snapshot.photos.values().next().expect("the photo");
    assert_eq!(photo.caption, "Kitchen");
    let stored = accredit_app::store::blobs::bytes(mo.store().conn(), &photo.hash)
        .unwrap()
        .expect("stored by hash");
    assert_eq!(blake3::hash(&stored).to_hex().to_string(), photo.hash);
    let img = image::load_from_memory(&stored).unwrap();
    assert_eq!(
        (img.width(), img.height()),
        (1600, 1200),
        "the chosen picture"
    );
}

/// A draft on the shipped framework version and a newer version on the tablet, in the real
/// window: the visit offers the move, previews what carries and what does not, moves, lists what
/// was not carried over, opens in the new version, and its history shows each session.
#[test]
fn a_monitor_previews_and_moves_a_draft_to_the_new_framework_version_and_reads_its_history() {
    move_a_draft_in_the_window(Xvfb::landscape(), "landscape");
    move_a_draft_in_the_window(Xvfb::portrait(), "portrait");
}

fn move_a_draft_in_the_window(x: Xvfb, layout: &str) {
    use accredit_e2e::pack_versions::*;
    use accredit_shared::records::{Answer, VisitType};
    let dir = tempfile::tempdir().unwrap();
    let assets = assets_copy(dir.path());
    publish_v2(&assets);
    let assets_env = assets.to_string_lossy().into_owned();
    let server = Server::demo_with_env(dir.path(), &[("ACCREDIT_ASSETS", &assets_env)]);
    let data = dir.path().join("tablet");
    std::fs::create_dir_all(&data).unwrap();
    let draft = {
        let ws = std::sync::Mutex::new(Workspace::open(&data.join("accredit.db")).unwrap());
        pollster::block_on(accredit_app::workspace::sign_in(
            &ws,
            &accredit_app::server_api::ServerApi::at(&server.url, None),
            &server.url,
            "monitor1",
            "accredit-demo",
            "Mo's tablet",
        ))
        .unwrap();
        let mut w = ws.lock().unwrap();
        let today = accredit_shared::calendar::london_date(chrono::Utc::now());
        let seaview = w.caseload("Seaview", today).unwrap()[0].location.id;
        let id = w
            .start_visit(seaview, VisitType::Annual, true, chrono::Utc::now())
            .unwrap();
        let criteria: Vec<(String, i32)> = w
            .pack()
            .criteria()
            .map(|c| (c.id.clone(), c.scale.max))
            .collect();
        for (c, max) in &criteria {
            w.set_answer(id, c, Some(Answer::Score(*max))).unwrap();
        }
        w.set_notes(id, REMOVED, "Apology letters on file.")
            .unwrap();
        id
    };
    let photos = dir.path().join("camera");
    camera_roll(&photos);
    let shots = workspace().join("target/screenshots");
    let app = App::start(&x, &data, &server.url, &photos, &shots);
    app.wait_for("caseload");
    let card = app.id_with_text("location-", "Seaview House");
    app.click(&card);
    app.click(&format!("continue-{draft}"));
    app.wait_text("move-offer-title", &format!("Version {V2}"));
    app.click("preview-move");
    app.wait_text("move-preview", RENAMED_TO);
    app.wait_text("preview-not-carried", REMOVED);
    app.screenshot(&format!("move-preview-{layout}"));
    app.click("move-draft");
    app.wait_text("not-carried", "Apology letters on file.");
    app.wait_text("notice", &format!("now on version {V2}"));
    assert!(app.seen("move-offer").is_none(), "no offer after the move");
    app.scroll_to("not-carried");
    app.screenshot(&format!("moved-{layout}"));
    // The editor shows the draft in its new version: the renamed criterion is there.
    app.wait_for(&format!("criterion-{}", RENAMED_TO.replace('.', "-")));
    app.click("to-history");
    app.wait_text("history-point-2", V2);
    app.wait_text("history-moved-2", &format!("From version {V1} to {V2}"));
    app.wait_text("history-point-1", "Score after");
    app.screenshot(&format!("history-{layout}"));
    app.kill();
    let mut w = Workspace::open(&data.join("accredit.db")).unwrap();
    let view = w.visit(draft).unwrap();
    assert_eq!(view.pack.version, V2);
    assert_eq!(
        view.snapshot.results[RENAMED_TO].answer,
        Some(Answer::Score(4))
    );
}

/// A move the server refuses (the draft was signed on another tablet meanwhile), in the real
/// window: the visit says why, "Go back to version …" restores the draft as it was before the
/// move, the refused copy stays on the tablet with the change made after the move, and sync
/// brings in the other tablet's sign-off.
#[test]
fn a_refused_move_is_undone_in_the_real_app_with_the_refused_copy_kept() {
    use accredit_e2e::pack_versions::*;
    use accredit_shared::records::{Answer, VisitType};
    let dir = tempfile::tempdir().unwrap();
    let assets = assets_copy(dir.path());
    publish_v2(&assets);
    let assets_env = assets.to_string_lossy().into_owned();
    let server = Server::demo_with_env(dir.path(), &[("ACCREDIT_ASSETS", &assets_env)]);
    let data = dir.path().join("tablet");
    std::fs::create_dir_all(&data).unwrap();
    let open = |db: &Path, user: &str| {
        let ws = std::sync::Mutex::new(Workspace::open(db).unwrap());
        pollster::block_on(accredit_app::workspace::sign_in(
            &ws,
            &accredit_app::server_api::ServerApi::at(&server.url, None),
            &server.url,
            user,
            "accredit-demo",
            &format!("{user}'s tablet"),
        ))
        .unwrap();
        ws
    };
    let sync = |ws: &std::sync::Mutex<Workspace>| {
        let api = ws.lock().unwrap().api().unwrap();
        pollster::block_on(accredit_app::sync_client::sync(ws, &api, &mut |_| true)).unwrap()
    };
    // Mo starts a draft at Stanley Park Lodge; Sam, who covers it too, signs it off on his tablet.
    let a = open(&data.join("accredit.db"), "monitor1");
    let b = open(&dir.path().join("b.db"), "monitor2");
    let draft = {
        let mut w = a.lock().unwrap();
        let today = accredit_shared::calendar::london_date(chrono::Utc::now());
        let lodge = w.caseload("Stanley Park", today).unwrap()[0].location.id;
        let id = w
            .start_visit(lodge, VisitType::Annual, true, chrono::Utc::now())
            .unwrap();
        let criteria: Vec<(String, i32)> = w
            .pack()
            .criteria()
            .map(|c| (c.id.clone(), c.scale.max))
            .collect();
        for (c, max) in &criteria {
            w.set_answer(id, c, Some(Answer::Score(*max))).unwrap();
        }
        id
    };
    sync(&a);
    sync(&b);
    b.lock()
        .unwrap()
        .sign_off(draft, chrono::Utc::now())
        .unwrap();
    sync(&b);
    // Mo, not knowing, moves it to v2 and notes something there; the server refuses the move.
    {
        let mut w = a.lock().unwrap();
        w.move_draft(draft, V2, chrono::Utc::now()).unwrap();
        w.set_notes(draft, RENAMED_TO, "Mo: added after the move.")
            .unwrap();
    }
    let summary = sync(&a);
    assert_eq!(summary.refused.len(), 1, "{:?}", summary.refused);
    drop(a);

    let x = Xvfb::landscape();
    let photos = dir.path().join("camera");
    camera_roll(&photos);
    let shots = workspace().join("target/screenshots");
    let app = App::start(&x, &data, &server.url, &photos, &shots);
    app.wait_for("caseload");
    let card = app.id_with_text("location-", "Stanley Park Lodge");
    app.click(&card);
    app.click(&format!("continue-{draft}"));
    app.wait_text("refused-reason", "pack_version");
    app.wait_text("refused-why", "signed off on another tablet");
    app.wait_text("refused", &format!("Go back to version {V1}"));
    app.wait_text("refused-changes", "Changed");
    app.scroll_to("recover");
    app.screenshot("refused-move");
    app.click("recover");
    app.wait_text("notice", &format!("back on version {V1}"));
    app.wait_text("set-aside-1", &format!("version {V2}"));
    app.wait_text("set-aside-edits-1", RENAMED_TO);
    app.wait_text("set-aside-edits-1", "the copy is kept for the record");
    app.wait_text("set-aside-edits-1", "Mo: added after the move.");
    // Sync resumes and brings Sam's sign-off: the visit is signed on v1, read-only here.
    app.wait_for("read-only");
    app.wait_text("read-only", "Sam Okafor");
    app.scroll_to("set-aside-1");
    app.screenshot("refused-copy-kept");
    app.kill();

    let mut w = Workspace::open(&data.join("accredit.db")).unwrap();
    let view = w.visit(draft).unwrap();
    assert_eq!(view.pack.version, V1);
    assert!(view.snapshot.signoff.is_some());
    let kept = w.set_aside(draft).unwrap();
    assert_eq!(kept.len(), 1);
    assert_eq!(kept[0].pack_version, V2);
    assert!(w.recovery(draft).unwrap().is_none());
}
