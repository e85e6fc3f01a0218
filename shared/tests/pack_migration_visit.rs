//! Framework versions while drafts are offline: a v1 draft on a device, v2 published; one draft
//! finished and signed on v1, another moved to v2 and signed; each scores with its own version
//! and nothing is lost. Also what the server's checks accept and refuse around a move.

mod common;

use accredit_shared::PackLibrary;
use accredit_shared::pack_migration::NotCarriedReason;
use accredit_shared::records::{Answer, VisitType};
use accredit_shared::scoring::score;
use accredit_shared::visit::*;
use automerge::transaction::Transactable;
use automerge::{ROOT, ReadDoc};
use chrono::{TimeZone, Utc};
use common::*;

fn ann() -> Author {
    Author {
        user_id: id(100),
        name: "Ann Monitor".into(),
    }
}

fn header(visit: u128) -> VisitHeader {
    VisitHeader {
        visit_id: id(visit),
        location_id: id(LOC),
        pack_id: "test-pack".into(),
        pack_version: "1".into(),
        visit_type: VisitType::Annual,
        announced: true,
        started_at: Utc.with_ymd_and_hms(2026, 12, 1, 9, 30, 0).unwrap(),
        plan_id: None,
    }
}

fn both_versions() -> PackLibrary {
    let mut lib = library();
    lib.insert(test_pack_v2()).unwrap();
    lib
}

/// A v1 draft with every criterion answered (scores 1–4 in turn, one not applicable) and noted.
fn answered_draft(visit: u128) -> VisitDoc {
    let pack = test_pack();
    let mut doc = VisitDoc::create(&header(visit), &pack, ann()).unwrap();
    let ids: Vec<String> = pack.criteria().map(|c| c.id.clone()).collect();
    for (i, c) in ids.iter().enumerate() {
        let answer = if c == "caring.c2" {
            Answer::NotApplicable
        } else {
            Answer::Score(i as i32 % 4 + 1)
        };
        doc.set_answer(&pack, c, Some(answer)).unwrap();
        doc.set_notes(&pack, c, &format!("seen for {c}")).unwrap();
    }
    doc
}

fn at(hour: u32) -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 1, hour, 0, 0).unwrap()
}

#[test]
fn drafts_finish_on_their_version_or_move_to_the_next_without_losing_an_answer() {
    let (v1, v2) = (test_pack(), test_pack_v2());
    // Offline on the tablet, before v2 is published: the server has both drafts as they were.
    let mut finished = answered_draft(600);
    let mut moved = answered_draft(601);
    let before_publish = library();
    VisitDoc::validate_automerge(finished.automerge(), &before_publish).unwrap();
    let server_heads = moved.heads();

    // v2 is published. The first draft is still finished and signed on v1.
    let packs = both_versions();
    finished.set_ended_at(at(15)).unwrap();
    finished.sign_off(at(16)).unwrap();
    let signed_v1 = VisitDoc::validate_automerge(finished.automerge(), &packs).unwrap();
    assert_eq!(signed_v1.header.pack_version, "1");
    let heads = finished.heads();
    assert!(matches!(
        finished.migrate_to(&v1, &v2, at(17)),
        Err(VisitDocError::SignedOff)
    ));
    assert_eq!(finished.heads(), heads, "a refused move changes nothing");

    // The second draft moves to v2.
    let old = moved.snapshot().unwrap().results;
    let migrated = moved.migrate_to(&v1, &v2, at(16)).unwrap();
    let mut am = moved.automerge().clone();
    let check = VisitDoc::check_automerge_changes(&mut am, &server_heads, &packs).unwrap();
    assert_eq!(check.header.pack_version, "2");
    let snap = VisitDoc::validate_automerge(moved.automerge(), &packs).unwrap();
    assert_eq!(snap.header.pack_version, "2");
    assert_eq!(snap.results.keys().cloned().collect::<Vec<_>>(), {
        let mut ids: Vec<String> = v2.criteria().map(|c| c.id.clone()).collect();
        ids.sort();
        ids
    });
    assert_eq!(snap.results, migrated.results);
    assert_eq!(snap.results["safe.c2-renamed"], old["safe.c2"]);
    assert_eq!(snap.results["caring.c4a"], old["caring.c4"]);
    assert_eq!(snap.results["caring.c4b"], old["caring.c4"]);
    assert_eq!(snap.results["well-led.c5"], CriterionResult::default());
    // effective.c3 scored 3, effective.c4 scored 4: the lower carries, the other is listed.
    assert_eq!(snap.results["effective.c34"].answer, Some(Answer::Score(3)));
    assert_eq!(
        snap.results["effective.c34"].notes,
        "effective.c3: seen for effective.c3\n\neffective.c4: seen for effective.c4"
    );

    // The record keeps every old result and what was not carried over.
    let (_, record) = snap.migrations.iter().next().unwrap();
    assert_eq!(snap.migrations.len(), 1);
    assert_eq!(
        (record.from_version.as_str(), record.to_version.as_str()),
        ("1", "2")
    );
    assert_eq!(record.previous, old);
    assert_eq!((record.by.clone(), record.at), (ann(), at(16)));
    assert_eq!(record.not_carried, migrated.not_carried);
    let listed: Vec<(&str, &NotCarriedReason)> = record
        .not_carried
        .iter()
        .map(|n| (n.criterion.as_str(), &n.reason))
        .collect();
    assert_eq!(
        listed,
        vec![
            (
                "effective.c4",
                &NotCarriedReason::Merged {
                    into: "effective.c34".into(),
                    carried_from: "effective.c3".into()
                }
            ),
            ("responsive.c4", &NotCarriedReason::Removed),
        ]
    );
    assert_eq!(record.not_carried[1].notes, "seen for responsive.c4");
    // Nothing lost: each old answer and note is in the new results or in the record's list.
    for (c, r) in &old {
        let listed = |f: &dyn Fn(&accredit_shared::pack_migration::NotCarried) -> bool| {
            record.not_carried.iter().any(|n| &n.criterion == c && f(n))
        };
        let answer_kept = targets(c)
            .iter()
            .any(|t| snap.results[*t].answer == r.answer)
            || listed(&|n| n.answer == r.answer);
        let notes_kept = targets(c)
            .iter()
            .any(|t| snap.results[*t].notes.contains(&r.notes))
            || listed(&|n| n.notes == r.notes);
        assert!(answer_kept && notes_kept, "{c} lost");
    }
    // Saved and loaded, the move reads back the same.
    let reloaded = VisitDoc::load(&moved.save(), ann()).unwrap();
    assert_eq!(reloaded.snapshot().unwrap(), snap);

    // Finished on v2: edited with v2 only, then signed.
    assert!(matches!(
        moved.set_answer(&v1, "safe.c1", Some(Answer::Score(2))),
        Err(VisitDocError::WrongPack { .. })
    ));
    moved
        .set_answer(&v2, "well-led.c5", Some(Answer::Score(4)))
        .unwrap();
    moved.sign_off(at(17)).unwrap();
    let signed_v2 = VisitDoc::validate_automerge(moved.automerge(), &packs).unwrap();

    // Each scores with its own version, every answer matched.
    let rules = scheme().scoring;
    let s1 = score(&v1, &signed_v1.answers(), &rules);
    let s2 = score(&v2, &signed_v2.answers(), &rules);
    assert!(s1.ignored_answers.is_empty() && s2.ignored_answers.is_empty());
    assert_eq!((s1.criteria, s1.scored, s1.not_applicable), (20, 19, 1));
    assert_eq!((s2.criteria, s2.scored, s2.not_applicable), (20, 19, 1));
    // The signed v1 visit still reads as v1 with v2 loaded.
    assert_eq!(
        VisitDoc::validate_automerge(finished.automerge(), &packs)
            .unwrap()
            .header
            .pack_version,
        "1"
    );
}

/// Both server checks, whole and changes only, for a candidate built from `before`.
fn verdicts(
    candidate: &mut VisitDoc,
    before: &[automerge::ChangeHash],
    packs: &PackLibrary,
) -> (Result<(), String>, Result<(), String>) {
    let whole = VisitDoc::validate_automerge(candidate.automerge(), packs)
        .map(|_| ())
        .map_err(|e| e.to_string());
    let mut am = candidate.automerge().clone();
    let changes = VisitDoc::check_automerge_changes(&mut am, before, packs)
        .map(|_| ())
        .map_err(|e| e.to_string());
    (whole, changes)
}

#[test]
fn the_server_refuses_a_version_change_that_is_not_a_recorded_move() {
    let (v1, v2) = (test_pack(), test_pack_v2());
    let packs = both_versions();
    let mut draft = answered_draft(700);
    let before = draft.heads();

    // The version changed by hand, with no move recorded.
    let mut bare = copy(&mut draft);
    bare.automerge().put(ROOT, "pack_version", "2").unwrap();
    let (whole, changes) = verdicts(&mut bare, &before, &packs);
    assert!(whole.is_err() && changes.is_err(), "{whole:?} {changes:?}");

    // A move whose record is nonsense.
    let mut forged = copy(&mut draft);
    forged.migrate_to(&v1, &v2, at(12)).unwrap();
    let am = forged.automerge();
    let (_, migrations) = am.get(ROOT, "migrations").unwrap().unwrap();
    let key = am.keys(&migrations).next().unwrap();
    let (_, entry) = am.get(&migrations, key.as_str()).unwrap().unwrap();
    let (_, list) = am.get(&entry, "not_carried").unwrap().unwrap();
    let (_, first) = am.get(&list, "0").unwrap().unwrap();
    am.put(&first, "reason", "lost it").unwrap();
    let (whole, changes) = verdicts(&mut forged, &before, &packs);
    assert!(whole.unwrap_err().contains("reason"));
    assert!(changes.unwrap_err().contains("reason"));

    // A move that claims to come from another version.
    let mut wrong_from = copy(&mut draft);
    wrong_from.migrate_to(&v1, &v2, at(12)).unwrap();
    let am = wrong_from.automerge();
    let (_, migrations) = am.get(ROOT, "migrations").unwrap().unwrap();
    let key = am.keys(&migrations).next().unwrap();
    let (_, entry) = am.get(&migrations, key.as_str()).unwrap().unwrap();
    am.put(&entry, "from_version", "0").unwrap();
    let (_, changes) = verdicts(&mut wrong_from, &before, &packs);
    assert!(changes.unwrap_err().contains("pack_version"));

    // Without v2's mapping known to the server, the move is refused.
    let mut honest = copy(&mut draft);
    honest.migrate_to(&v1, &v2, at(12)).unwrap();
    let mut no_mapping = library();
    let mut v2_alone = test_pack_v2();
    v2_alone.migration = None;
    no_mapping.insert(v2_alone).unwrap();
    let (_, changes) = verdicts(&mut honest, &before, &no_mapping);
    assert!(changes.is_err());
    let (whole, changes) = verdicts(&mut honest, &before, &packs);
    assert_eq!((whole, changes), (Ok(()), Ok(())));

    // A draft signed on the server meanwhile keeps its version, even if a device moved it.
    let mut signer = copy(&mut draft);
    signer.sign_off(at(13)).unwrap();
    let signed_heads = signer.heads();
    let mut mover = copy(&mut draft);
    mover.migrate_to(&v1, &v2, at(13)).unwrap();
    mover.automerge().merge(signer.automerge()).unwrap();
    let (_, changes) = verdicts(&mut mover, &signed_heads, &packs);
    assert!(changes.unwrap_err().contains("unsigned"));

    // A move with conflicts open is refused, and changes nothing.
    let mut bob = copy(&mut draft);
    draft
        .set_answer(&v1, "safe.c3", Some(Answer::Score(1)))
        .unwrap();
    bob.set_answer(&v1, "safe.c3", Some(Answer::Score(4)))
        .unwrap();
    draft.automerge().merge(bob.automerge()).unwrap();
    let heads = draft.heads();
    assert!(matches!(
        draft.migrate_to(&v1, &v2, at(14)),
        Err(VisitDocError::UnresolvedConflicts(1))
    ));
    assert_eq!(draft.heads(), heads);
}

/// Another device's copy, with its own actor.
fn copy(doc: &mut VisitDoc) -> VisitDoc {
    VisitDoc::load(&doc.save(), ann()).unwrap()
}

/// Where the test pack's v2 mapping sends a v1 criterion.
fn targets(criterion: &str) -> Vec<&str> {
    match criterion {
        "safe.c2" => vec!["safe.c2-renamed"],
        "effective.c3" | "effective.c4" => vec!["effective.c34"],
        "caring.c4" => vec!["caring.c4a", "caring.c4b"],
        "responsive.c4" => vec![],
        other => vec![other],
    }
}

/// A device still editing the v1 draft offline while another moves it: its later edit to a result
/// the move deleted is refused by the server, not silently dropped.
#[test]
fn an_offline_edit_to_a_result_the_move_deleted_is_refused_not_lost() {
    let (v1, v2) = (test_pack(), test_pack_v2());
    let packs = both_versions();
    let mut mover = answered_draft(800);
    let mut offline = copy(&mut mover);
    mover.migrate_to(&v1, &v2, at(12)).unwrap();
    let server_heads = mover.heads();
    offline
        .set_answer(&v1, "safe.c2", Some(Answer::Score(1)))
        .unwrap();
    let mut merged = copy(&mut mover);
    merged.automerge().merge(offline.automerge()).unwrap();
    let (whole, changes) = verdicts(&mut merged, &server_heads, &packs);
    // Read whole, the merged visit looks fine (the edit is hidden), so only the change check can
    // tell, and it does.
    assert_eq!(whole, Ok(()));
    let refused = changes.unwrap_err();
    assert!(refused.contains("results/safe.c2"), "{refused}");
    assert!(refused.contains("no longer in the visit"), "{refused}");
    // The offline device still holds its edit, to enter again on the new version.
    assert_eq!(
        offline.snapshot().unwrap().results["safe.c2"].answer,
        Some(Answer::Score(1))
    );
}
