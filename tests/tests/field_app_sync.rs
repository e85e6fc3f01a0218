//! The field app's store, outbox and sync client against the real server on loopback: offline
//! work survives a restart and arrives; a retried upload makes no duplicate; a photo upload cut
//! halfway resumes without resending what arrived; two monitors' different scores are both
//! shown and block sign-off until one is chosen with a reason.

use std::path::Path;
use std::sync::{Arc, Mutex};

use accredit_app::error::AppError;
use accredit_app::photo::{self, ProcessedPhoto};
use accredit_app::platform::UreqTransport;
use accredit_app::server_api::{BoxFuture, HttpReply, HttpRequest, ServerApi, Transport};
use accredit_app::store::{ItemKind, OutboxState};
use accredit_app::sync_client::{self, CHUNK_BYTES, SyncSummary};
use accredit_app::{AppResult, Workspace};
use accredit_e2e::{Client, Server};
use accredit_shared::records::{Answer, Priority, VisitType};
use accredit_shared::visit::{ActionDraft, EvidenceDraft, EvidenceKind, VisitSnapshot};
use chrono::{Days, Utc};
use image::codecs::jpeg::JpegEncoder;
use image::{Rgb, RgbImage};
use uuid::Uuid;

fn sign_in(db: &Path, url: &str) -> Mutex<Workspace> {
    sign_in_as(db, url, "monitor1")
}

fn sign_in_as(db: &Path, url: &str, user: &str) -> Mutex<Workspace> {
    let ws = Mutex::new(Workspace::open(db).expect("open store"));
    pollster::block_on(accredit_app::workspace::sign_in(
        &ws,
        &ServerApi::at(url, None),
        url,
        user,
        "accredit-demo",
        &format!("{user}'s tablet"),
    ))
    .expect("sign in");
    ws
}

fn sync_with(ws: &Mutex<Workspace>, api: &ServerApi) -> AppResult<SyncSummary> {
    pollster::block_on(sync_client::sync(ws, api, &mut |_| true))
}

fn sync(ws: &Mutex<Workspace>) -> AppResult<SyncSummary> {
    let api = ws.lock().unwrap().api().unwrap();
    sync_with(ws, &api)
}

/// A photo that compresses badly (noise), so it takes several upload chunks.
fn noisy_photo(seed: u32) -> ProcessedPhoto {
    let mut x = seed.wrapping_mul(2_654_435_761).max(1);
    let img = RgbImage::from_fn(2400, 1800, |_, _| {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        Rgb([x as u8, (x >> 8) as u8, (x >> 16) as u8])
    });
    let mut jpeg = Vec::new();
    JpegEncoder::new_with_quality(&mut jpeg, 90)
        .encode_image(&img)
        .unwrap();
    let p = photo::process(&jpeg).expect("processed");
    assert!(
        p.bytes.len() > 3 * CHUNK_BYTES,
        "the photo must need several chunks: {}",
        p.bytes.len()
    );
    p
}

/// Records a whole visit: every criterion answered, a note, evidence, an action with a due date
/// and a photo. Returns its id.
fn record_visit(ws: &Mutex<Workspace>, photo: &ProcessedPhoto) -> Uuid {
    let mut w = ws.lock().unwrap();
    let today = accredit_shared::calendar::london_date(Utc::now());
    let location = w.caseload("", today).unwrap()[0].location.id;
    let id = w
        .start_visit(location, VisitType::Annual, true, Utc::now())
        .unwrap();
    let criteria: Vec<(String, i32)> = w
        .pack()
        .criteria()
        .map(|c| (c.id.clone(), c.scale.max))
        .collect();
    for (i, (c, max)) in criteria.iter().enumerate() {
        let answer = if i % 10 == 3 {
            Answer::NotApplicable
        } else {
            Answer::Score(max - (i as i32 % 2))
        };
        w.set_answer(id, c, Some(answer)).unwrap();
    }
    let first = &criteria[0].0;
    w.set_notes(
        id,
        first,
        "Fire door on the first floor wedged open; manager told.",
    )
    .unwrap();
    w.add_evidence(
        id,
        &EvidenceDraft {
            criterion: Some(first.clone()),
            kind: EvidenceKind::StaffInterview,
            text: "Night staff knew the evacuation plan.".into(),
            photo: None,
        },
    )
    .unwrap();
    w.add_action(
        id,
        &ActionDraft {
            criterion: Some(first.clone()),
            priority: Priority::High,
            description: "Fit a hold-open device linked to the alarm".into(),
            owner: "Registered manager".into(),
            due_on: today.checked_add_days(Days::new(28)),
        },
    )
    .unwrap();
    w.add_photo(id, photo, "Wedged fire door", Some(first), Utc::now())
        .unwrap();
    id
}

fn state_of(
    ws: &Mutex<Workspace>,
    kind: ItemKind,
    item: &str,
) -> (OutboxState, Option<String>, Option<String>) {
    let e = ws
        .lock()
        .unwrap()
        .outbox()
        .unwrap()
        .into_iter()
        .find(|e| e.kind == kind && e.item == item)
        .expect("in the outbox");
    (e.state, e.reason, e.receipt)
}

#[test]
fn offline_work_survives_a_restart_and_reaches_the_server_intact() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = Server::demo(dir.path());
    let db = dir.path().join("tablet/accredit.db");
    let ws = sign_in(&db, &server.url);

    // Out of signal from here on.
    server.kill();
    let photo = noisy_photo(1);
    let id = record_visit(&ws, &photo);
    let before: VisitSnapshot = ws.lock().unwrap().visit(id).unwrap().snapshot;
    let err = sync(&ws).unwrap_err();
    assert!(matches!(err, AppError::Network(_)), "{err}");
    let (state, reason, _) = state_of(&ws, ItemKind::Visit, &id.to_string());
    assert_eq!(state, OutboxState::Failed);
    assert!(reason.unwrap().starts_with("No connection to the server"));
    // Signing out would lose the visit: refused, naming what is pending.
    let refused = pollster::block_on(accredit_app::workspace::sign_out(&ws))
        .unwrap()
        .unwrap_err();
    let kinds: Vec<_> = refused.0.iter().map(|e| (e.kind, e.item.clone())).collect();
    assert!(kinds.contains(&(ItemKind::Visit, id.to_string())));
    assert!(kinds.contains(&(ItemKind::Photo, photo.hash.clone())));

    // The app is closed and opened again: everything is there, still signed in.
    drop(ws);
    let mut reopened = Workspace::open(&db).unwrap();
    assert!(reopened.session().is_some());
    let after = reopened.visit(id).unwrap();
    assert_eq!(after.snapshot, before);
    assert_eq!(after.snapshot.photos.len(), 1);
    assert!(reopened.thumbnail(&photo.hash).unwrap().is_some());
    let ws = Mutex::new(reopened);

    // Back in range.
    server.restart();
    let summary = sync(&ws).unwrap();
    assert_eq!(summary.photos_uploaded, 1);
    assert_eq!(summary.photo_bytes_sent, photo.bytes.len() as u64);
    for e in ws.lock().unwrap().outbox().unwrap() {
        assert_eq!(e.state, OutboxState::Acknowledged, "{e:?}");
        assert!(e.receipt.is_some());
    }
    // Signed off and synced, the visit appears at the server exactly as recorded.
    {
        let mut w = ws.lock().unwrap();
        assert!(w.sign_off_check(id).unwrap().ready());
        w.sign_off(id, Utc::now()).unwrap();
        assert!(
            w.set_notes(
                id,
                &before.results.keys().next().unwrap().clone(),
                "late edit"
            )
            .is_err(),
            "read-only after sign-off"
        );
    }
    sync(&ws).unwrap();
    let local = ws.lock().unwrap().visit(id).unwrap().snapshot;
    let lead = Client::sign_in(&server.url, "lead");
    let r = lead.get(&format!("/api/v1/visits/{id}"));
    assert_eq!(r.status, 200, "{}", r.text());
    let record: VisitSnapshot = serde_json::from_value(r.json()["record"].clone()).unwrap();
    assert_eq!(record, local);
    let blob = lead.get(&format!("/api/v1/blobs/{}", photo.hash));
    assert_eq!(blob.status, 200);
    assert_eq!(blob.body, photo.bytes);
    // Everything acknowledged: sign-out is allowed and leaves nothing behind.
    pollster::block_on(accredit_app::workspace::sign_out(&ws))
        .unwrap()
        .unwrap();
    assert!(Workspace::open(&db).unwrap().outbox().unwrap().is_empty());
}

/// A link that delivers requests to the real server but loses chosen replies, as a dropped
/// connection does after the server has acted.
struct LosesReplies {
    inner: UreqTransport,
    lose: Mutex<Vec<(&'static str, &'static str)>>,
}

impl Transport for LosesReplies {
    fn call(&self, request: HttpRequest) -> BoxFuture<'_, Result<HttpReply, String>> {
        Box::pin(async move {
            let hit = {
                let lose = self.lose.lock().unwrap();
                lose.iter()
                    .position(|(m, p)| *m == request.method && request.path.starts_with(p))
            };
            let reply = self.inner.call(request).await?;
            match hit {
                Some(i) => {
                    self.lose.lock().unwrap().remove(i);
                    Err("connection reset before the reply arrived".into())
                }
                None => Ok(reply),
            }
        })
    }
}

#[test]
fn a_retried_upload_creates_no_duplicate() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::demo(dir.path());
    let ws = sign_in(&dir.path().join("tablet.db"), &server.url);
    let photo = noisy_photo(2);
    let id = record_visit(&ws, &photo);
    ws.lock().unwrap().sign_off(id, Utc::now()).unwrap();

    let token = ws.lock().unwrap().session().unwrap().token.clone();
    let faulty = ServerApi::new(
        Arc::new(LosesReplies {
            inner: UreqTransport::new(&server.url),
            lose: Mutex::new(vec![("PATCH", "/api/v1/blobs/"), ("POST", "/api/v1/sync")]),
        }),
        Some(token),
    );
    // First run: the first photo chunk's reply is lost.
    assert!(matches!(sync_with(&ws, &faulty), Err(AppError::Network(_))));
    // Second run: the photo completes from where the server is; the visit's reply is lost.
    let err = sync_with(&ws, &faulty).unwrap_err();
    assert!(matches!(err, AppError::Network(_)), "{err}");
    // Third run: everything goes through.
    let summary = sync_with(&ws, &faulty).unwrap();
    assert_eq!(
        summary.photos_uploaded, 0,
        "the photo was done in the second run"
    );

    let lead = Client::sign_in(&server.url, "lead");
    let visits = lead.get("/api/v1/visits").json();
    let same: Vec<_> = visits["visits"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|v| v["visit"]["id"] == id.to_string())
        .collect();
    assert_eq!(same.len(), 1, "one visit, not two");
    let detail = lead.get(&format!("/api/v1/visits/{id}")).json();
    assert_eq!(
        detail["revisions"].as_array().unwrap().len(),
        1,
        "one revision: the retry added nothing"
    );
    let record: VisitSnapshot = serde_json::from_value(detail["record"].clone()).unwrap();
    assert_eq!(record, ws.lock().unwrap().visit(id).unwrap().snapshot);
    assert_eq!(
        lead.get(&format!("/api/v1/blobs/{}", photo.hash)).body,
        photo.bytes
    );
    assert_eq!(
        state_of(&ws, ItemKind::Visit, &id.to_string()).0,
        OutboxState::Acknowledged
    );
    assert_eq!(
        state_of(&ws, ItemKind::Photo, &photo.hash).0,
        OutboxState::Acknowledged
    );
}

#[test]
fn a_photo_upload_cut_halfway_resumes_without_resending_what_arrived() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = Server::demo(dir.path());
    let ws = sign_in(&dir.path().join("tablet.db"), &server.url);
    let photo = noisy_photo(3);
    record_visit(&ws, &photo);
    let size = photo.bytes.len() as u64;

    // The signal drops after two chunks have arrived.
    let api = ws.lock().unwrap().api().unwrap();
    let mut cut = false;
    let err = pollster::block_on(sync_client::sync(&ws, &api, &mut |p| {
        if !cut && p.bytes_done >= 2 * CHUNK_BYTES as u64 {
            server.kill();
            cut = true;
        }
        true
    }))
    .unwrap_err();
    assert!(matches!(err, AppError::Network(_)), "{err}");
    let (state, reason, _) = state_of(&ws, ItemKind::Photo, &photo.hash);
    assert_eq!(state, OutboxState::Failed);
    assert!(reason.unwrap().contains("No connection"));
    let entry = ws
        .lock()
        .unwrap()
        .outbox()
        .unwrap()
        .into_iter()
        .find(|e| e.item == photo.hash)
        .unwrap();
    assert_eq!(
        (entry.bytes_done, entry.bytes_total),
        (2 * CHUNK_BYTES as u64, size)
    );
    let user = ws.lock().unwrap().session().unwrap().user_id;
    let partial = server
        .data
        .join(format!("blobs/.partial/{user}/{}.{size}", photo.hash));
    assert_eq!(
        std::fs::metadata(&partial).unwrap().len(),
        2 * CHUNK_BYTES as u64
    );

    server.restart();
    let summary = sync(&ws).unwrap();
    assert_eq!(summary.photos_uploaded, 1);
    assert_eq!(
        summary.photo_bytes_sent,
        size - 2 * CHUNK_BYTES as u64,
        "only what was missing was sent"
    );
    assert!(!partial.exists(), "the partial upload became the blob");
    let lead = Client::sign_in(&server.url, "lead");
    assert_eq!(
        lead.get(&format!("/api/v1/blobs/{}", photo.hash)).body,
        photo.bytes
    );
}

#[test]
fn co_monitors_different_scores_block_sign_off_until_resolved_with_a_reason() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = Server::demo(dir.path());
    // Mo and Sam both cover Stanley Park Lodge.
    let a = sign_in_as(&dir.path().join("a.db"), &server.url, "monitor1");
    let b = sign_in_as(&dir.path().join("b.db"), &server.url, "monitor2");
    let today = accredit_shared::calendar::london_date(Utc::now());
    let (id, criteria) = {
        let mut w = a.lock().unwrap();
        let lodge = w
            .caseload("Stanley Park", today)
            .unwrap()
            .into_iter()
            .next()
            .expect("Stanley Park Lodge is on Mo's caseload")
            .location
            .id;
        let id = w
            .start_visit(lodge, VisitType::Annual, false, Utc::now())
            .unwrap();
        let criteria: Vec<(String, i32)> = w
            .pack()
            .criteria()
            .map(|c| (c.id.clone(), c.scale.max))
            .collect();
        // Everything but the first two criteria, which the pair score on the day.
        for (c, max) in &criteria[2..] {
            w.set_answer(id, c, Some(Answer::Score(*max))).unwrap();
        }
        (id, criteria)
    };
    sync(&a).unwrap();
    sync(&b).unwrap();
    assert!(
        b.lock().unwrap().visit(id).is_ok(),
        "Sam's tablet has the visit"
    );

    // The signal goes; each scores the same two criteria on their own tablet.
    server.kill();
    let (first, max) = criteria[0].clone();
    let second = criteria[1].0.clone();
    {
        let mut w = a.lock().unwrap();
        w.set_answer(id, &first, Some(Answer::Score(max))).unwrap();
        w.set_answer(id, &second, Some(Answer::Score(1))).unwrap();
    }
    {
        let mut w = b.lock().unwrap();
        w.set_answer(id, &first, Some(Answer::Score(max - 1)))
            .unwrap();
        // Agreeing on the second criterion is not a conflict.
        w.set_answer(id, &second, Some(Answer::Score(1))).unwrap();
    }
    server.restart();
    sync(&a).unwrap();
    sync(&b).unwrap();
    sync(&a).unwrap();

    for (tablet, ws) in [("Mo's", &a), ("Sam's", &b)] {
        let view = ws.lock().unwrap().visit(id).unwrap();
        assert_eq!(view.conflicts.len(), 1, "{tablet}: {:?}", view.conflicts);
        let c = &view.conflicts[0];
        assert_eq!(c.criterion.as_deref(), Some(first.as_str()));
        let mut seen: Vec<(String, String)> = c
            .values
            .iter()
            .map(|v| {
                (
                    v.value.clone(),
                    v.author
                        .as_ref()
                        .map(|a| a.name.clone())
                        .unwrap_or_default(),
                )
            })
            .collect();
        seen.sort();
        let mut expected = vec![
            (max.to_string(), "Mo Patel".to_string()),
            ((max - 1).to_string(), "Sam Okafor".to_string()),
        ];
        expected.sort();
        assert_eq!(seen, expected, "{tablet}: both values with their authors");
    }

    // Mo cannot sign while the two scores disagree.
    let path = {
        let mut w = a.lock().unwrap();
        let check = w.sign_off_check(id).unwrap();
        assert_eq!(check.conflicts, 1);
        assert!(check.unanswered.is_empty(), "{:?}", check.unanswered);
        let err = w.sign_off(id, Utc::now()).unwrap_err();
        assert!(err.to_string().contains("1 unresolved conflicts"), "{err}");
        assert!(w.visit(id).unwrap().snapshot.signoff.is_none());
        w.visit(id).unwrap().conflicts[0].path.clone()
    };

    // They agree on Sam's score; the reason is kept in the record.
    let reason = "Agreed after the visit: two residents' care plans were out of date.";
    {
        let mut w = a.lock().unwrap();
        w.resolve_conflict(id, &path, &(max - 1).to_string(), reason, Utc::now())
            .unwrap();
        let view = w.visit(id).unwrap();
        assert!(view.conflicts.is_empty());
        assert_eq!(
            view.snapshot.results[&first].answer,
            Some(Answer::Score(max - 1)),
            "the chosen score stands"
        );
        let kept: Vec<_> = view.snapshot.resolutions.values().collect();
        assert_eq!(kept.len(), 1);
        assert_eq!(kept[0].path, path);
        assert_eq!(kept[0].chosen, (max - 1).to_string());
        assert_eq!(kept[0].reason, reason);
        assert_eq!(kept[0].by.name, "Mo Patel");
        assert!(w.sign_off_check(id).unwrap().ready());
        w.sign_off(id, Utc::now()).unwrap();
    }
    sync(&a).unwrap();
    let (state, refusal, _) = state_of(&a, ItemKind::Visit, &id.to_string());
    assert_eq!(state, OutboxState::Acknowledged, "{refusal:?}");
    sync(&b).unwrap();

    // The server holds the signed record with the resolution, and so does Sam's tablet.
    let lead = Client::sign_in(&server.url, "lead");
    let r = lead.get(&format!("/api/v1/visits/{id}"));
    assert_eq!(r.status, 200, "{}", r.text());
    let record: VisitSnapshot = serde_json::from_value(r.json()["record"].clone()).unwrap();
    assert!(record.signoff.is_some());
    assert_eq!(record.results[&first].answer, Some(Answer::Score(max - 1)));
    assert_eq!(
        record
            .resolutions
            .values()
            .map(|r| r.reason.as_str())
            .collect::<Vec<_>>(),
        vec![reason]
    );
    let on_b = b.lock().unwrap().visit(id).unwrap();
    assert!(on_b.conflicts.is_empty());
    assert!(on_b.read_only, "signed off: read-only on Sam's tablet too");
    assert_eq!(on_b.snapshot, record);
}

/// The real link, noting every request made while the workspace was held: the screens would
/// freeze for as long as such a request took.
struct WatchesTheLock {
    inner: UreqTransport,
    ws: Arc<Mutex<Workspace>>,
    held_during: Mutex<Vec<String>>,
}

impl Transport for WatchesTheLock {
    fn call(&self, request: HttpRequest) -> BoxFuture<'_, Result<HttpReply, String>> {
        if self.ws.try_lock().is_err() {
            self.held_during
                .lock()
                .unwrap()
                .push(format!("{} {}", request.method, request.path));
        }
        self.inner.call(request)
    }
}

#[test]
fn a_sync_never_holds_the_workspace_across_a_request() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::demo(dir.path());
    let ws = Arc::new(sign_in(&dir.path().join("tablet/accredit.db"), &server.url));
    record_visit(&ws, &noisy_photo(3));
    let token = ws.lock().unwrap().session().unwrap().token.clone();
    let watch = Arc::new(WatchesTheLock {
        inner: UreqTransport::new(&server.url),
        ws: ws.clone(),
        held_during: Mutex::new(Vec::new()),
    });
    let api = ServerApi::new(watch.clone(), Some(token));
    let summary = sync_with(&ws, &api).unwrap();
    assert_eq!(summary.photos_uploaded, 1);
    assert!(
        ws.lock()
            .unwrap()
            .outbox()
            .unwrap()
            .iter()
            .all(|e| e.state == OutboxState::Acknowledged)
    );
    let held = watch.held_during.lock().unwrap();
    assert!(
        held.is_empty(),
        "requests made while the workspace was held: {held:?}"
    );
}

#[test]
fn an_unreachable_server_is_reported_at_once_with_the_next_try() {
    use accredit_app::sync_worker::SyncWorker;
    let dir = tempfile::tempdir().unwrap();
    let mut server = Server::demo(dir.path());
    let ws = Arc::new(sign_in(&dir.path().join("tablet/accredit.db"), &server.url));
    let worker = SyncWorker::start(ws.clone(), std::time::Duration::from_secs(600));
    worker.request();
    let synced = wait_for(|| {
        let s = worker.status();
        (!s.running && s.last_synced.is_some()).then_some(s)
    });
    assert!(synced.last_result.unwrap().starts_with("Synced at "));
    // Out of signal: pressing Sync now says so, and when it will try again.
    server.kill();
    worker.request();
    let offline = wait_for(|| {
        let s = worker.status();
        let r = s.last_result.clone().unwrap_or_default();
        (!s.running && r.contains("cannot be reached")).then_some(s)
    });
    let message = offline.last_result.unwrap();
    assert!(message.contains("will try again at"), "{message}");
    assert!(
        offline.last_synced.unwrap().starts_with("Last synced at"),
        "the last good sync is still said, as the past"
    );
}

/// Polls until `f` gives something, for at most 60 seconds.
fn wait_for<T>(mut f: impl FnMut() -> Option<T>) -> T {
    for _ in 0..600 {
        if let Some(v) = f() {
            return v;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    panic!("gave up waiting");
}

#[test]
fn a_monitor_given_a_one_time_password_chooses_their_own_on_the_tablet() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::demo(dir.path());
    let chris = Client::sign_in(&server.url, "commissioner");
    let added = chris.post(
        "/api/v1/users",
        serde_json::json!({ "username": "nadia.k", "display_name": "Nadia Khan", "role": "monitor", "email": "nadia@council.example" }),
    );
    assert_eq!(added.status, 201, "{}", added.text());
    let v = added.json();
    let (id, one_time) = (
        v["user_id"].as_str().unwrap_or_default().to_owned(),
        v["one_time_password"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
    );
    let first = chris.get("/api/v1/locations").json()["locations"][0]["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    chris.post(
        &format!("/api/v1/users/{id}/caseload"),
        serde_json::json!({ "add": [first] }),
    );

    let ws = Mutex::new(Workspace::open(&dir.path().join("tablet.db")).expect("open store"));
    let api = ServerApi::at(&server.url, None);
    let attempt = |new: Option<&str>| {
        pollster::block_on(accredit_app::workspace::sign_in_choosing(
            &ws,
            &api,
            &server.url,
            "nadia.k",
            &one_time,
            new,
            "Nadia's tablet",
        ))
    };
    assert!(matches!(
        attempt(None),
        Err(AppError::PasswordChangeRequired)
    ));
    assert!(ws.lock().unwrap().session().is_none(), "nothing kept yet");
    match attempt(Some("qwertyuiopasdfgh")) {
        Err(AppError::Invalid(why)) => assert!(why.contains("too common"), "{why}"),
        other => panic!("a common password was not refused: {other:?}"),
    }
    attempt(Some("harbour lantern biscuit")).expect("signed in with a new password");
    let today = Utc::now().date_naive();
    assert_eq!(
        ws.lock()
            .unwrap()
            .caseload("", today)
            .expect("caseload")
            .len(),
        1
    );
    // The one-time password is spent; the new one signs in anywhere.
    let spent = accredit_e2e::request(
        &accredit_e2e::agent(),
        "POST",
        &format!("{}/api/v1/session", server.url),
        None,
        Some((
            "application/json",
            serde_json::json!({ "username": "nadia.k", "password": one_time, "device_name": "x" })
                .to_string()
                .into_bytes(),
        )),
    )
    .expect("sign-in request");
    assert_eq!(spent.status, 401);
    Client::sign_in_with(&server.url, "nadia.k", "harbour lantern biscuit");
}
