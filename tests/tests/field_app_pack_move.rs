//! Framework versions while drafts are offline, through the field app's own code against the real
//! server: a new pack version is published while tablets hold drafts on the old one; the tablet
//! receives it, finishes one draft on the old version and moves another to the new one; both are
//! accepted and each scores in its own version. A move the server refuses (the visit was signed
//! on another tablet meanwhile) and an offline edit it refuses (another tablet moved the draft)
//! are both recovered with nothing lost. The history view reads it all from the document.

use std::path::Path;
use std::sync::Mutex;

use accredit_app::server_api::ServerApi;
use accredit_app::sync_client::{self, SyncSummary};
use accredit_app::{AppResult, Workspace};
use accredit_e2e::pack_versions::*;
use accredit_e2e::{Client, Server};
use accredit_shared::pack_migration::NotCarriedReason;
use accredit_shared::records::{Answer, VisitType};
use accredit_shared::visit::{VisitDoc, VisitSnapshot};
use chrono::Utc;
use uuid::Uuid;

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

fn sync(ws: &Mutex<Workspace>) -> AppResult<SyncSummary> {
    let api = ws.lock().unwrap().api().unwrap();
    pollster::block_on(sync_client::sync(ws, &api, &mut |_| true))
}

/// A draft at `location` with every criterion answered and the two criteria the move touches
/// noted.
fn answered_draft(w: &mut Workspace, location: Uuid) -> Uuid {
    let id = w
        .start_visit(location, VisitType::Annual, true, Utc::now())
        .unwrap();
    let criteria: Vec<(String, i32)> = w
        .pack()
        .criteria()
        .map(|c| (c.id.clone(), c.scale.max))
        .collect();
    for (i, (c, max)) in criteria.iter().enumerate() {
        w.set_answer(id, c, Some(Answer::Score(max - (i as i32 % 2))))
            .unwrap();
    }
    w.set_answer(id, RENAMED_FROM, Some(Answer::Score(2)))
        .unwrap();
    w.set_notes(id, RENAMED_FROM, "Two falls logged a week late.")
        .unwrap();
    w.set_notes(id, REMOVED, "Apology letters on file.")
        .unwrap();
    id
}

fn server_record(lead: &Client, id: Uuid) -> VisitSnapshot {
    let r = lead.get(&format!("/api/v1/visits/{id}"));
    assert_eq!(r.status, 200, "{}", r.text());
    serde_json::from_value(r.json()["record"].clone()).unwrap()
}

#[test]
fn drafts_finish_on_their_version_or_move_and_refusals_are_recovered_with_nothing_lost() {
    let dir = tempfile::tempdir().unwrap();
    let assets = assets_copy(dir.path());
    let assets_env = assets.to_string_lossy().into_owned();
    let mut server = Server::demo_with_env(dir.path(), &[("ACCREDIT_ASSETS", &assets_env)]);
    // Mo (tablet A) and Sam (tablet B) both cover Stanley Park Lodge.
    let a = sign_in_as(&dir.path().join("a.db"), &server.url, "monitor1");
    let b = sign_in_as(&dir.path().join("b.db"), &server.url, "monitor2");
    let today = accredit_shared::calendar::london_date(Utc::now());
    let [finished, moved, contested, signed_elsewhere] = {
        let mut w = a.lock().unwrap();
        let lodge = w.caseload("Stanley Park", today).unwrap()[0].location.id;
        [(); 4].map(|_| answered_draft(&mut w, lodge))
    };
    sync(&a).unwrap();
    sync(&b).unwrap();
    assert!(
        a.lock().unwrap().move_offer(moved).unwrap().is_none(),
        "no newer version yet: no offer"
    );

    // Version 2026.2 is published; tablet A receives it with its next sync.
    publish_v2(&assets);
    server.restart();
    sync(&a).unwrap();
    {
        let w = a.lock().unwrap();
        assert!(w.packs().get("cqc-quality-statements", V2).is_some());
    }
    // Tablet A then works offline. Meanwhile Sam signs one draft off on v1 on tablet B, then
    // (offline) scores the renamed criterion of another draft.
    {
        let mut w = b.lock().unwrap();
        w.sign_off(signed_elsewhere, Utc::now()).unwrap();
    }
    sync(&b).unwrap();
    {
        let mut w = b.lock().unwrap();
        w.set_answer(contested, RENAMED_FROM, Some(Answer::Score(1)))
            .unwrap();
        w.set_notes(contested, RENAMED_FROM, "Sam: the March log is missing.")
            .unwrap();
    }

    // On tablet A: the offer and its preview.
    let offer = {
        let mut w = a.lock().unwrap();
        let offer = w.move_offer(moved).unwrap().expect("a move is offered");
        assert_eq!(
            (offer.from_version.as_str(), offer.to_version.as_str()),
            (V1, V2)
        );
        let renamed = offer
            .carried
            .iter()
            .find(|r| r.from == RENAMED_FROM)
            .expect("the renamed criterion is previewed");
        assert_eq!(renamed.to.len(), 1);
        assert_eq!(renamed.to[0].0, RENAMED_TO);
        assert_eq!(renamed.answer, Some(Answer::Score(2)));
        let removed = offer
            .carried
            .iter()
            .find(|r| r.from == REMOVED)
            .expect("the removed criterion is previewed");
        assert!(removed.to.is_empty());
        assert_eq!(offer.migrated.not_carried.len(), 1);
        assert_eq!(offer.migrated.not_carried[0].criterion, REMOVED);
        assert_eq!(
            offer.migrated.not_carried[0].reason,
            NotCarriedReason::Removed
        );
        assert!(offer.new_criteria.is_empty(), "{:?}", offer.new_criteria);
        offer
    };
    {
        let mut w = a.lock().unwrap();
        // The first draft is finished and signed on v1, as it was.
        w.sign_off(finished, Utc::now()).unwrap();
        assert_eq!(w.visit(finished).unwrap().pack.version, V1);
        // A stale or wrong version is refused, changing nothing.
        let err = w.move_draft(moved, "2099.1", Utc::now()).unwrap_err();
        assert!(err.to_string().contains("not 2099.1"), "{err}");
        assert_eq!(w.visit(moved).unwrap().pack.version, V1);
        // The second moves to v2 and is signed there.
        let migrated = w.move_draft(moved, &offer.to_version, Utc::now()).unwrap();
        assert_eq!(migrated, offer.migrated);
        let view = w.visit(moved).unwrap();
        assert_eq!(view.pack.version, V2);
        assert_eq!(view.snapshot.header.pack_version, V2);
        let r = &view.snapshot.results[RENAMED_TO];
        assert_eq!(r.answer, Some(Answer::Score(2)));
        assert_eq!(r.notes, "Two falls logged a week late.");
        let m = view
            .snapshot
            .migrations
            .values()
            .next()
            .expect("the move is recorded");
        assert_eq!(m.not_carried[0].criterion, REMOVED);
        assert_eq!(m.not_carried[0].notes, "Apology letters on file.");
        assert_eq!(
            m.previous[RENAMED_FROM].notes, "Two falls logged a week late.",
            "every v1 result is kept in the record"
        );
        // The previous visit (on v1) is shown beside v2's criteria through the mapping only.
        let before = w.visit(finished).unwrap().previous;
        assert!(
            before.contains_key(RENAMED_FROM),
            "the lodge had a visit on v1"
        );
        assert_eq!(view.previous.get(RENAMED_TO), before.get(RENAMED_FROM));
        assert!(!view.previous.contains_key(RENAMED_FROM));
        assert!(w.move_offer(moved).unwrap().is_none(), "no further version");
        w.sign_off(moved, Utc::now()).unwrap();
        assert!(
            w.move_offer(finished).unwrap().is_none(),
            "a signed visit never moves"
        );
        // The third moves too (Sam's offline edit to it is still on tablet B).
        w.move_draft(contested, V2, Utc::now()).unwrap();
        // The fourth was signed on tablet B, which tablet A does not know yet: it moves it and
        // notes something on v2.
        w.move_draft(signed_elsewhere, V2, Utc::now()).unwrap();
        w.set_notes(signed_elsewhere, RENAMED_TO, "Mo: added after the move.")
            .unwrap();
    }

    let summary = sync(&a).unwrap();
    assert_eq!(summary.refused.len(), 1, "{:?}", summary.refused);
    assert_eq!(summary.refused[0].0, signed_elsewhere);

    // Tablet A is told plainly why, and recovers: back to v1, the refused copy kept.
    {
        let mut w = a.lock().unwrap();
        for id in [finished, moved, contested] {
            assert!(w.recovery(id).unwrap().is_none(), "{id} was accepted");
        }
        let rec = w.recovery(signed_elsewhere).unwrap().expect("a refusal");
        assert!(rec.reason.contains("pack_version"), "{}", rec.reason);
        assert_eq!(rec.back_to_version.as_deref(), Some(V1));
        assert_eq!(rec.to_reenter.len(), 1, "{:?}", rec.to_reenter);
        assert_eq!(rec.to_reenter[0].criterion, RENAMED_TO);
        assert!(rec.to_reenter[0].notes_changed);
        let seq = w.recover(signed_elsewhere).unwrap();
        assert!(w.recovery(signed_elsewhere).unwrap().is_none());
        let view = w.visit(signed_elsewhere).unwrap();
        assert_eq!(view.pack.version, V1);
        assert!(view.snapshot.migrations.is_empty());
        let kept = w.set_aside(signed_elsewhere).unwrap();
        assert_eq!(kept.len(), 1);
        assert_eq!(kept[0].seq, seq);
        assert_eq!(kept[0].pack_version, V2);
        assert_eq!(kept[0].edits.len(), 1);
        // Back on v1, the note made on v2 belongs where the mapping came from.
        assert_eq!(kept[0].edits[0].1.len(), 1);
        assert_eq!(kept[0].edits[0].1[0].0, RENAMED_FROM);
        // The whole refused copy is there, every change of it.
        let copy = VisitDoc::load(&kept[0].bytes, view.snapshot.created_by.clone()).unwrap();
        let copy = copy.snapshot().unwrap();
        assert_eq!(copy.header.pack_version, V2);
        assert_eq!(copy.results[RENAMED_TO].notes, "Mo: added after the move.");
    }
    sync(&a).unwrap();
    {
        let mut w = a.lock().unwrap();
        let view = w.visit(signed_elsewhere).unwrap();
        assert_eq!(view.pack.version, V1);
        assert_eq!(
            view.snapshot.signoff.as_ref().map(|s| s.by.name.as_str()),
            Some("Sam Okafor"),
            "Sam's sign-off on v1 arrived"
        );
        assert!(w.recovery(signed_elsewhere).unwrap().is_none());
    }

    // Tablet B's offline edit to a criterion the move renamed is refused; B recovers, and Sam
    // enters it again on v2 where the mapping put it.
    let summary = sync(&b).unwrap();
    assert_eq!(summary.refused.len(), 1, "{:?}", summary.refused);
    assert_eq!(summary.refused[0].0, contested);
    {
        let mut w = b.lock().unwrap();
        let rec = w.recovery(contested).unwrap().expect("a refusal");
        assert!(
            rec.reason.contains("no longer in the visit"),
            "{}",
            rec.reason
        );
        assert_eq!(rec.back_to_version, None);
        let edit = rec
            .to_reenter
            .iter()
            .find(|r| r.criterion == RENAMED_FROM)
            .expect("Sam's edit is listed");
        assert_eq!(edit.answer_after, Some(Answer::Score(1)));
        w.recover(contested).unwrap();
    }
    sync(&b).unwrap();
    {
        let mut w = b.lock().unwrap();
        let view = w.visit(contested).unwrap();
        assert_eq!(view.pack.version, V2, "tablet B has Mo's move");
        let kept = w.set_aside(contested).unwrap();
        assert_eq!(kept.len(), 1);
        let (edit, targets) = kept[0]
            .edits
            .iter()
            .find(|(e, _)| e.criterion == RENAMED_FROM)
            .expect("the edit is kept");
        assert_eq!(edit.answer_after, Some(Answer::Score(1)));
        assert_eq!(targets.len(), 1);
        assert_eq!(targets[0].0, RENAMED_TO);
        w.set_answer(contested, RENAMED_TO, Some(Answer::Score(1)))
            .unwrap();
        w.set_notes(contested, RENAMED_TO, "Sam: the March log is missing.")
            .unwrap();
        w.discard_set_aside(contested, kept[0].seq).unwrap();
        assert!(w.set_aside(contested).unwrap().is_empty());
        assert!(w.discard_set_aside(contested, kept[0].seq).is_err());
        // Sam signs it off, on v2.
        w.sign_off(contested, Utc::now()).unwrap();
    }
    let summary = sync(&b).unwrap();
    assert!(summary.refused.is_empty(), "{:?}", summary.refused);

    // The server holds each visit in its own version, and they score in it.
    let lead = Client::sign_in(&server.url, "lead");
    let cases = [
        (finished, V1, true),
        (moved, V2, true),
        (contested, V2, true),
        (signed_elsewhere, V1, true),
    ];
    for (id, version, signed) in cases {
        let record = server_record(&lead, id);
        assert_eq!(record.header.pack_version, version, "{id}");
        assert_eq!(record.signoff.is_some(), signed, "{id}");
    }
    assert_eq!(
        server_record(&lead, contested).results[RENAMED_TO].answer,
        Some(Answer::Score(1))
    );
    sync(&a).unwrap();
    let mut w = a.lock().unwrap();
    for (id, version, _) in cases {
        let view = w.visit(id).unwrap();
        assert_eq!(view.pack.version, version);
        assert_eq!(view.summary.scores.domains.len(), view.pack.domains.len());
        assert!(
            view.summary.scores.overall.is_some(),
            "{id} scores in {version}"
        );
    }

    // Sam's sessions on the contested visit show under Sam's name on Mo's tablet, after Mo's.
    let contested_history = w.visit_history(contested).unwrap();
    let authors: Vec<&str> = contested_history
        .points
        .iter()
        .map(|p| p.author.as_str())
        .collect();
    let sam = authors
        .iter()
        .position(|a| *a == "Sam Okafor")
        .expect("Sam's session");
    assert!(authors[..sam].contains(&"Mo Patel"), "{authors:?}");
    let sams = &contested_history.points[sam];
    assert!(
        sams.results
            .iter()
            .any(|r| r.criterion == RENAMED_TO && r.answer_after == Some(Answer::Score(1))),
        "{:?}",
        sams.results
    );

    // The history of the moved visit, from its own document.
    let history = w.visit_history(moved).unwrap();
    assert!(history.points.len() >= 2, "{}", history.points.len());
    assert_eq!(history.points[0].author, "Mo Patel");
    let move_point = history
        .points
        .iter()
        .find(|p| p.results.iter().any(|r| r.presence == Some("removed")))
        .expect("the move shows in the history");
    assert!(
        move_point.scores.is_none(),
        "versions are not compared score by score"
    );
    assert!(
        history
            .points
            .iter()
            .any(|p| p.pack_version == V1 && p.scores.is_some()),
        "edits on one version show each domain's change"
    );
    let signed = history.signed.as_ref().expect("the state as signed");
    assert_eq!(signed.header.pack_version, V2);
    assert!(history.points.iter().any(|p| p.as_signed));
    assert!(
        !history.since_signed.as_ref().unwrap().changes_record(),
        "nothing changed since signing"
    );

    // The copy kept on the tablet exists nowhere else: sign-out waits until it is removed.
    match w.sign_out_here() {
        Err(e) => assert!(e.to_string().contains("kept on this tablet only"), "{e}"),
        Ok(_) => panic!("signed out with a kept copy of refused changes"),
    }
    let kept = w.set_aside(signed_elsewhere).unwrap();
    assert_eq!(kept.len(), 1, "the refusal did not lose the copy");
    w.discard_set_aside(signed_elsewhere, kept[0].seq).unwrap();
    assert!(matches!(w.sign_out_here(), Ok(Ok(_))));
}
