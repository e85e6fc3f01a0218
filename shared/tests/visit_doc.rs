//! The visit document: edits, concurrent merges, conflicts with authors, sign-off and revisions,
//! and the sync wire format.

mod common;

use accredit_shared::records::{Answer, Priority, VisitType};
use accredit_shared::sync::{
    DocMessage, DocOutcome, DocReply, SyncRequest, SyncResponse, WireError,
};
use accredit_shared::visit::*;
use automerge::sync::{State, SyncDoc};
use chrono::{TimeZone, Utc};
use common::*;
use proptest::prelude::*;
use uuid::Uuid;

fn ann() -> Author {
    Author {
        user_id: id(100),
        name: "Ann Monitor".into(),
    }
}

fn bob() -> Author {
    Author {
        user_id: id(101),
        name: "Bob Monitor".into(),
    }
}

fn header() -> VisitHeader {
    VisitHeader {
        visit_id: id(500),
        location_id: id(LOC),
        pack_id: "test-pack".into(),
        pack_version: "1".into(),
        visit_type: VisitType::Annual,
        announced: true,
        started_at: Utc.with_ymd_and_hms(2026, 11, 2, 9, 30, 0).unwrap(),
        plan_id: None,
    }
}

/// Ann creates the visit; Bob receives it by merging a copy, as sync would give him.
fn two_devices() -> (VisitDoc, VisitDoc) {
    let pack = test_pack();
    let mut a = VisitDoc::create(&header(), &pack, ann()).unwrap();
    let mut b = VisitDoc::empty(bob());
    b.automerge().merge(a.automerge()).unwrap();
    (a, b)
}

/// Two devices with the visit, offline: Ann scores safe.c2 as 2, Bob as 4 (not yet merged).
fn scored_apart() -> (VisitDoc, VisitDoc) {
    let pack = test_pack();
    let (mut a, mut b) = two_devices();
    a.set_answer(&pack, "safe.c2", Some(Answer::Score(2)))
        .unwrap();
    b.set_answer(&pack, "safe.c2", Some(Answer::Score(4)))
        .unwrap();
    (a, b)
}

fn merge_both(a: &mut VisitDoc, b: &mut VisitDoc) {
    a.automerge().merge(b.automerge()).unwrap();
    b.automerge().merge(a.automerge()).unwrap();
}

#[test]
fn a_new_visit_has_every_criterion_unanswered_and_reads_back_after_save_and_load() {
    let pack = test_pack();
    let mut doc = VisitDoc::create(&header(), &pack, ann()).unwrap();
    let snap = doc.snapshot().unwrap();
    assert_eq!(snap.header, header());
    assert_eq!(snap.results.len(), pack.criterion_count());
    assert!(
        snap.results
            .values()
            .all(|r| r.answer.is_none() && r.notes.is_empty())
    );
    assert_eq!(snap.created_by, ann());

    doc.set_answer(&pack, "safe.c1", Some(Answer::Score(3)))
        .unwrap();
    doc.set_answer(&pack, "caring.c2", Some(Answer::NotApplicable))
        .unwrap();
    doc.set_notes(&pack, "safe.c1", "MAR charts complete for all residents")
        .unwrap();
    let photo = doc
        .add_photo(&PhotoRef {
            hash: "ab".repeat(32),
            size: 123_456,
            width: 2048,
            height: 1536,
            taken_at: Utc.with_ymd_and_hms(2026, 11, 2, 10, 0, 0).unwrap(),
            caption: "Medicines trolley locked".into(),
            criterion: Some("safe.c1".into()),
        })
        .unwrap();
    let ev = doc
        .add_evidence(
            &pack,
            &EvidenceDraft {
                criterion: Some("safe.c1".into()),
                kind: EvidenceKind::RecordReview,
                text: "Checked 12 MAR charts".into(),
                photo: Some(photo),
            },
        )
        .unwrap();
    let action = doc
        .add_action(
            &pack,
            &ActionDraft {
                criterion: Some("safe.c2".into()),
                priority: Priority::High,
                description: "Review the fire risk assessment".into(),
                owner: "Registered manager".into(),
                due_on: Some(d(2026, 11, 16)),
            },
        )
        .unwrap();

    let bytes = doc.save();
    let loaded = VisitDoc::load(&bytes, bob()).unwrap();
    let snap = loaded.snapshot().unwrap();
    assert_eq!(snap.results["safe.c1"].answer, Some(Answer::Score(3)));
    assert_eq!(
        snap.results["safe.c1"].notes,
        "MAR charts complete for all residents"
    );
    assert_eq!(
        snap.results["caring.c2"].answer,
        Some(Answer::NotApplicable)
    );
    assert_eq!(snap.evidence[&ev].photo, Some(photo));
    assert_eq!(snap.evidence[&ev].kind, EvidenceKind::RecordReview);
    assert_eq!(snap.photos[&photo].width, 2048);
    assert_eq!(snap.actions[&action].priority, Priority::High);
    assert_eq!(snap.actions[&action].due_on, Some(d(2026, 11, 16)));
    assert_eq!(snap.actions[&action].status, ActionStatus::Open);
    let published = snap.to_published(1, d(2026, 11, 20));
    assert_eq!(published.visited_on, d(2026, 11, 2));
    assert_eq!(published.answers.len(), 2);
}

#[test]
fn bad_edits_are_refused_and_change_nothing() {
    let pack = test_pack();
    let mut doc = VisitDoc::create(&header(), &pack, ann()).unwrap();
    let before = doc.heads();
    assert!(matches!(
        doc.set_answer(&pack, "no.such", Some(Answer::Score(3))),
        Err(VisitDocError::UnknownCriterion(_))
    ));
    assert!(matches!(
        doc.set_answer(&pack, "safe.c1", Some(Answer::Score(7))),
        Err(VisitDocError::Invalid(_))
    ));
    let mut photo = PhotoRef {
        hash: "../../etc/passwd".into(),
        size: 1,
        width: 1,
        height: 1,
        taken_at: Utc::now(),
        caption: String::new(),
        criterion: None,
    };
    assert!(doc.add_photo(&photo).is_err());
    photo.hash = "AB".repeat(32);
    assert!(
        doc.add_photo(&photo).is_err(),
        "upper-case hex is not a content address"
    );
    let mut other = test_pack();
    other.version = "2".into();
    assert!(matches!(
        doc.set_answer(&other, "safe.c1", Some(Answer::Score(3))),
        Err(VisitDocError::WrongPack { .. })
    ));
    assert_eq!(doc.heads(), before);
}

#[test]
fn different_scores_offline_are_both_kept_with_their_authors_until_resolved() {
    let pack = test_pack();
    let (mut a, mut b) = scored_apart();
    // The same value on both devices is not a conflict.
    a.set_answer(&pack, "safe.c3", Some(Answer::Score(3)))
        .unwrap();
    b.set_answer(&pack, "safe.c3", Some(Answer::Score(3)))
        .unwrap();
    // Different criteria merge without conflict.
    a.set_answer(&pack, "caring.c1", Some(Answer::Score(4)))
        .unwrap();
    b.set_answer(&pack, "caring.c4", Some(Answer::NotAssessed))
        .unwrap();
    merge_both(&mut a, &mut b);

    assert_eq!(a.snapshot().unwrap(), b.snapshot().unwrap());
    let conflicts = a.conflicts().unwrap();
    assert_eq!(conflicts, b.conflicts().unwrap());
    let score_conflicts: Vec<_> = conflicts
        .iter()
        .filter(|c| c.path.last().map(String::as_str) == Some("answer"))
        .collect();
    assert_eq!(score_conflicts.len(), 1, "{conflicts:#?}");
    assert!(
        conflicts
            .iter()
            .all(|c| c.criterion.as_deref() != Some("safe.c3")),
        "both devices scored safe.c3 as 3: they agree"
    );
    let c2 = score_conflicts
        .iter()
        .find(|c| c.criterion.as_deref() == Some("safe.c2"))
        .unwrap();
    let mut values: Vec<(String, String)> = c2
        .values
        .iter()
        .map(|v| (v.value.clone(), v.author.as_ref().unwrap().name.clone()))
        .collect();
    values.sort();
    assert_eq!(
        values,
        vec![
            ("2".into(), "Ann Monitor".into()),
            ("4".into(), "Bob Monitor".into())
        ]
    );
    let snap = a.snapshot().unwrap();
    assert_eq!(snap.results["caring.c1"].answer, Some(Answer::Score(4)));
    assert_eq!(snap.results["caring.c4"].answer, Some(Answer::NotAssessed));

    // A third score cannot quietly replace both: the conflict is resolved first, with a reason.
    let err = a
        .set_answer(&pack, "safe.c2", Some(Answer::Score(3)))
        .unwrap_err();
    assert!(
        err.to_string().contains("scored safe.c2 differently"),
        "{err}"
    );
    assert_eq!(
        a.conflicts().unwrap(),
        conflicts,
        "the refused edit changed nothing"
    );

    // Sign-off is blocked while conflicts remain.
    assert!(matches!(
        a.sign_off(Utc::now()),
        Err(VisitDocError::UnresolvedConflicts(1))
    ));

    for c in a.conflicts().unwrap() {
        a.resolve_conflict(
            &c.path,
            "2",
            "Agreed after reviewing the records together",
            Utc::now(),
        )
        .unwrap();
    }
    merge_both(&mut a, &mut b);
    assert!(b.conflicts().unwrap().is_empty());
    let snap = b.snapshot().unwrap();
    assert_eq!(snap.results["safe.c2"].answer, Some(Answer::Score(2)));
    assert_eq!(snap.resolutions.len(), 1);
    assert_eq!(snap.results["safe.c3"].answer, Some(Answer::Score(3)));
    let r = snap.resolutions.values().find(|r| r.chosen == "2").unwrap();
    assert_eq!(r.by, ann());
    assert_eq!(r.reason, "Agreed after reviewing the records together");
    // A value that was not in conflict cannot be "chosen".
    let err = a.resolve_conflict(
        &["results".into(), "x".into(), "answer".into()],
        "1",
        "why",
        Utc::now(),
    );
    assert!(matches!(err, Err(VisitDocError::NoConflict(_))));
}

#[test]
fn notes_typed_on_two_devices_merge_without_losing_either() {
    let pack = test_pack();
    let (mut a, mut b) = two_devices();
    a.set_notes(&pack, "safe.c1", "Fire doors propped open.")
        .unwrap();
    merge_both(&mut a, &mut b);
    a.set_notes(
        &pack,
        "safe.c1",
        "Fire doors propped open. Manager informed.",
    )
    .unwrap();
    b.set_notes(&pack, "safe.c1", "Staff say: fire doors propped open.")
        .unwrap();
    merge_both(&mut a, &mut b);
    let notes = a.snapshot().unwrap().results["safe.c1"].notes.clone();
    assert!(notes.contains("Manager informed."), "{notes}");
    assert!(notes.contains("Staff say: "), "{notes}");
    assert!(a.conflicts().unwrap().is_empty());
}

#[test]
fn sign_off_freezes_the_signed_record_and_later_edits_show_as_a_newer_revision() {
    let pack = test_pack();
    let (mut a, mut b) = two_devices();
    a.set_answer(&pack, "safe.c1", Some(Answer::Score(3)))
        .unwrap();
    merge_both(&mut a, &mut b);
    // Bob keeps working offline while Ann signs off.
    b.set_answer(&pack, "safe.c4", Some(Answer::Score(1)))
        .unwrap();
    let at = Utc.with_ymd_and_hms(2026, 11, 2, 16, 0, 0).unwrap();
    let signed = a.sign_off(at).unwrap();
    assert_eq!(signed.by, ann());
    assert!(matches!(
        a.set_answer(&pack, "safe.c2", Some(Answer::Score(2))),
        Err(VisitDocError::SignedOff)
    ));
    let signed_heads = heads_from_strings(&signed.heads).unwrap();
    let signed_record = a.snapshot_at(&signed_heads).unwrap();

    merge_both(&mut a, &mut b);
    let now = a.snapshot().unwrap();
    assert_eq!(now.signoff.as_ref().unwrap().at, at);
    assert_eq!(now.results["safe.c4"].answer, Some(Answer::Score(1)));
    // The signed record is unchanged, and differs from the newer state only by Bob's edit.
    assert_eq!(a.snapshot_at(&signed_heads).unwrap(), signed_record);
    assert_eq!(signed_record.results["safe.c4"].answer, None);
    assert!(!now.same_record_as(&signed_record));
    // Without later edits, the signed record and the signed-off document are the same record.
    let (mut c, _) = two_devices();
    let s = c.sign_off(at).unwrap();
    let at_sign = c
        .snapshot_at(&heads_from_strings(&s.heads).unwrap())
        .unwrap();
    assert!(c.snapshot().unwrap().same_record_as(&at_sign));
}

#[test]
fn a_document_with_a_wrong_field_type_is_reported_with_its_path() {
    use automerge::transaction::Transactable;
    let pack = test_pack();
    let mut doc = VisitDoc::create(&header(), &pack, ann()).unwrap();
    doc.automerge()
        .put(automerge::ROOT, "announced", "perhaps")
        .unwrap();
    match doc.snapshot() {
        Err(VisitDocError::Malformed { path, .. }) => assert_eq!(path, "announced"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn sync_wire_round_trips_and_refuses_damaged_bodies() {
    let pack = test_pack();
    let mut doc = VisitDoc::create(&header(), &pack, ann()).unwrap();
    let msg = doc
        .automerge()
        .sync()
        .generate_sync_message(&mut State::new())
        .unwrap()
        .encode();
    let req = SyncRequest {
        include_all: true,
        docs: vec![
            DocMessage {
                doc_id: id(1),
                known_heads: vec![[3; 32]],
                message: Some(msg.clone()),
            },
            DocMessage {
                doc_id: id(2),
                known_heads: vec![],
                message: None,
            },
        ],
    };
    let body = req.encode();
    assert_eq!(SyncRequest::decode(&body).unwrap(), req);
    for cut in 0..body.len() {
        assert!(SyncRequest::decode(&body[..cut]).is_err(), "cut at {cut}");
    }
    let mut extra = body.clone();
    extra.push(0);
    assert_eq!(SyncRequest::decode(&extra), Err(WireError::Trailing(1)));
    let dup = SyncRequest {
        include_all: false,
        docs: vec![req.docs[1].clone(), req.docs[1].clone()],
    };
    assert_eq!(
        SyncRequest::decode(&dup.encode()),
        Err(WireError::Duplicate(id(2)))
    );

    let resp = SyncResponse {
        docs: vec![
            DocReply {
                doc_id: id(1),
                outcome: DocOutcome::Ok,
                reason: String::new(),
                heads: vec![[7; 32]],
                message: Some(msg),
            },
            DocReply {
                doc_id: id(3),
                outcome: DocOutcome::Forbidden,
                reason: "not on your caseload".into(),
                heads: vec![],
                message: None,
            },
        ],
    };
    assert_eq!(SyncResponse::decode(&resp.encode()).unwrap(), resp);
    assert_eq!(SyncResponse::decode(&body), Err(WireError::BadMagic));
}

proptest! {
    #[test]
    fn garbage_sync_bodies_are_errors_not_panics(bytes in proptest::collection::vec(any::<u8>(), 0..300), prefix in any::<bool>()) {
        let mut body = if prefix { b"ACQ1".to_vec() } else { Vec::new() };
        body.extend(bytes);
        let _ = SyncRequest::decode(&body);
        let _ = SyncResponse::decode(&body);
    }
}

#[test]
fn result_keys_are_the_same_on_every_device_and_differ_by_pack_version() {
    use accredit_shared::visit::schema::{self, Layout};
    let v1 = Layout::UuidKeys;
    assert_eq!(v1.result_key("p", "1", "c"), v1.result_key("p", "1", "c"));
    assert_ne!(v1.result_key("p", "1", "c"), v1.result_key("p", "2", "c"));
    assert_eq!(
        v1.result_key("p", "1", "c"),
        schema::result_uuid("p", "1", "c").to_string()
    );
    assert_ne!(Uuid::nil(), schema::result_uuid("p", "1", "c"));
    // New visits key a result by its criterion: the pack and its version are the visit's own.
    assert_eq!(Layout::CURRENT.result_key("p", "1", "c"), "c");
    assert_eq!(Layout::of_version(2), Some(Layout::CURRENT));
    assert_eq!(Layout::of_version(3), None);
}

/// A visit saved by the version before layout 2 (UUID result keys), with a note, two concurrent
/// scores and two authors (`tests/fixtures/visit-layout-1.automerge`, written by that version).
fn layout_1_visit(author: Author) -> VisitDoc {
    let bytes = std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/visit-layout-1.automerge"),
    )
    .unwrap();
    VisitDoc::load(&bytes, author).unwrap()
}

#[test]
fn a_visit_in_the_first_layout_still_opens_edits_validates_and_names_its_conflicts() {
    let pack = test_pack();
    let mut doc = layout_1_visit(ann());
    let snap = doc.snapshot().unwrap();
    assert_eq!(snap.header.visit_id, id(501));
    assert_eq!(snap.results.len(), pack.criterion_count());
    assert_eq!(snap.results["safe.c1"].answer, Some(Answer::Score(3)));
    assert_eq!(
        snap.results["safe.c1"].notes,
        "Care plans reviewed with the manager."
    );
    let conflicts = doc.conflicts().unwrap();
    assert_eq!(conflicts.len(), 1);
    assert_eq!(conflicts[0].criterion.as_deref(), Some("safe.c2"));
    let uuid_key =
        accredit_shared::visit::schema::result_uuid(&pack.id, &pack.version, "safe.c2").to_string();
    assert_eq!(conflicts[0].path, ["results", uuid_key.as_str(), "answer"]);

    // Edited by this version, it keeps its layout: the edit lands in the existing result.
    let before = doc.heads();
    doc.set_answer(&pack, "caring.c3", Some(Answer::Score(4)))
        .unwrap();
    doc.set_notes(
        &pack,
        "safe.c1",
        "Care plans reviewed with the manager twice.",
    )
    .unwrap();
    let snap = doc.snapshot().unwrap();
    assert_eq!(snap.results.len(), pack.criterion_count());
    assert_eq!(snap.results["caring.c3"].answer, Some(Answer::Score(4)));
    assert!(snap.results["safe.c1"].notes.ends_with("twice."));
    VisitDoc::validate_automerge(doc.automerge(), &library()).unwrap();
    VisitDoc::check_automerge_changes(doc.automerge(), &before, &library()).unwrap();

    // A new visit is written in layout 2 and reads the same way.
    let mut new = VisitDoc::create(&header(), &pack, ann()).unwrap();
    new.set_answer(&pack, "safe.c2", Some(Answer::Score(2)))
        .unwrap();
    let am = new.automerge();
    let (_, results) = automerge::ReadDoc::get(am, automerge::ROOT, "results")
        .unwrap()
        .unwrap();
    assert!(
        automerge::ReadDoc::get(am, &results, "safe.c2")
            .unwrap()
            .is_some()
    );
    assert!(
        automerge::ReadDoc::get(am, &results, uuid_key.as_str())
            .unwrap()
            .is_none()
    );
    VisitDoc::validate_automerge(new.automerge(), &library()).unwrap();
}

/// One edit for the incremental-check property: a valid edit through the API, or a raw write that
/// breaks the layout somewhere.
#[derive(Clone, Debug)]
enum Edit {
    Score(usize, i32),
    Note(usize, String),
    Evidence(String),
    Action(String),
    /// Raw: a result's answer set to a number rather than its encoded text.
    BadAnswer(usize),
    /// Raw: an evidence item whose kind is not a kind.
    BadEvidenceKind,
    /// Raw: a photo item keyed by something that is not a UUID.
    BadPhotoKey,
    /// Raw: the visit id replaced by a number.
    BadVisitId,
    /// Raw: a result item deleted and replaced by a string.
    ResultNotAMap(usize),
    /// Raw: a score written as its text but outside the criterion's scale.
    OffScale(usize, i32),
    /// Raw: an invalid answer written concurrently with a valid one (either may win).
    ConcurrentBadAnswer(usize),
    /// Raw: the location moved on a concurrent branch.
    ConcurrentMove,
    /// Raw: a criterion's result removed.
    RemoveResult(usize),
    /// Raw: a result for a criterion that is not in the pack.
    ExtraResult,
    /// The draft moved to version 2 of the test pack (refused once signed or moved).
    Migrate,
    /// Raw: the pack version changed with no move recorded.
    BareVersionChange,
    /// A photo added (hash from the number).
    Photo(u8),
    /// A mark drawn on the n-th photo (an arrow, or a label when the flag is set).
    Mark(usize, bool),
    /// A mark removed.
    Unmark(usize),
    /// A signature taken.
    Sign,
    /// Raw: a signature's name changed afterwards.
    ChangeSignature,
    /// Raw: a signature removed.
    RemoveSignature,
    /// Raw: a mark on a hash no photo of the visit has.
    StrayMark,
    /// Raw: a mark's points moved afterwards.
    MoveMark,
}

fn edit_strategy() -> impl Strategy<Value = Edit> {
    prop_oneof![
        4 => (0usize..6, 1i32..5).prop_map(|(c, s)| Edit::Score(c, s)),
        3 => (0usize..6, "[a-z ]{0,12}").prop_map(|(c, t)| Edit::Note(c, t)),
        2 => "[a-z ]{1,12}".prop_map(Edit::Evidence),
        2 => "[a-z ]{1,12}".prop_map(Edit::Action),
        1 => (0usize..6).prop_map(Edit::BadAnswer),
        1 => Just(Edit::BadEvidenceKind),
        1 => Just(Edit::BadPhotoKey),
        1 => Just(Edit::BadVisitId),
        1 => (0usize..6).prop_map(Edit::ResultNotAMap),
        1 => (0usize..6, prop_oneof![Just(-5), Just(0), Just(5), Just(99)]).prop_map(|(c, s)| Edit::OffScale(c, s)),
        1 => (0usize..6).prop_map(Edit::ConcurrentBadAnswer),
        1 => Just(Edit::ConcurrentMove),
        1 => (0usize..6).prop_map(Edit::RemoveResult),
        1 => Just(Edit::ExtraResult),
        1 => Just(Edit::Migrate),
        1 => Just(Edit::BareVersionChange),
        2 => (0u8..3).prop_map(Edit::Photo),
        3 => (0usize..3, any::<bool>()).prop_map(|(p, l)| Edit::Mark(p, l)),
        1 => (0usize..3).prop_map(Edit::Unmark),
        2 => Just(Edit::Sign),
        1 => Just(Edit::ChangeSignature),
        1 => Just(Edit::RemoveSignature),
        1 => Just(Edit::StrayMark),
        1 => Just(Edit::MoveMark),
    ]
}

/// The first map under `path` (keys from the root), if all are there.
fn raw_map(am: &automerge::AutoCommit, path: &[&str]) -> Option<automerge::ObjId> {
    use automerge::ReadDoc;
    let mut obj = automerge::ROOT;
    for key in path {
        match am.get(&obj, *key).ok()?? {
            (automerge::Value::Object(automerge::ObjType::Map), id) => obj = id,
            _ => return None,
        }
    }
    Some(obj)
}

fn apply_edit(doc: &mut VisitDoc, edit: &Edit) {
    use automerge::transaction::Transactable;
    use automerge::{ObjType, ROOT, ReadDoc};
    // Edits go through the pack of the version the draft is on (it may have moved).
    let pack = match doc.snapshot() {
        Ok(s) if s.header.pack_version == "2" => test_pack_v2(),
        _ => test_pack(),
    };
    let criteria: Vec<String> = pack.criteria().map(|c| c.id.clone()).collect();
    let criterion = |i: usize| criteria[i % criteria.len()].clone();
    let result_key = |i: usize| {
        accredit_shared::visit::schema::Layout::CURRENT
            .result_key(&pack.id, &pack.version, &criterion(i))
            .to_string()
    };
    let section = |am: &mut automerge::AutoCommit, name: &str| match am.get(ROOT, name).unwrap() {
        Some((_, id)) => id,
        None => am.put_object(ROOT, name, ObjType::Map).unwrap(),
    };
    match edit {
        Edit::Score(c, s) => {
            let _ = doc.set_answer(&pack, &criterion(*c), Some(Answer::Score(*s)));
        }
        Edit::Note(c, t) => {
            let _ = doc.set_notes(&pack, &criterion(*c), t);
        }
        Edit::Evidence(t) => {
            let _ = doc.add_evidence(
                &pack,
                &EvidenceDraft {
                    criterion: None,
                    kind: EvidenceKind::Observation,
                    text: t.clone(),
                    photo: None,
                },
            );
        }
        Edit::Action(t) => {
            let _ = doc.add_action(
                &pack,
                &ActionDraft {
                    criterion: None,
                    priority: Priority::Low,
                    description: t.clone(),
                    owner: String::new(),
                    due_on: None,
                },
            );
        }
        Edit::BadAnswer(c) => {
            let am = doc.automerge();
            let results = section(am, "results");
            if let Some((automerge::Value::Object(ObjType::Map), item)) =
                am.get(&results, result_key(*c)).unwrap()
            {
                am.put(&item, "answer", 7_i64).unwrap();
            }
        }
        Edit::BadEvidenceKind => {
            let am = doc.automerge();
            let evidence = section(am, "evidence");
            let item = am
                .put_object(&evidence, Uuid::new_v4().to_string(), ObjType::Map)
                .unwrap();
            am.put(&item, "kind", "gossip").unwrap();
        }
        Edit::BadPhotoKey => {
            let am = doc.automerge();
            let photos = section(am, "photos");
            am.put_object(&photos, "../etc/passwd", ObjType::Map)
                .unwrap();
        }
        Edit::BadVisitId => {
            doc.automerge().put(ROOT, "visit_id", 12_i64).unwrap();
        }
        Edit::ResultNotAMap(c) => {
            let am = doc.automerge();
            let results = section(am, "results");
            am.put(&results, result_key(*c), "not a map").unwrap();
        }
        Edit::OffScale(c, s) => {
            let am = doc.automerge();
            let results = section(am, "results");
            if let Some((automerge::Value::Object(ObjType::Map), item)) =
                am.get(&results, result_key(*c)).unwrap()
            {
                am.put(&item, "answer", s.to_string()).unwrap();
            }
        }
        Edit::ConcurrentBadAnswer(c) => {
            let am = doc.automerge();
            let mut fork = am.fork();
            let results = section(am, "results");
            if let Some((automerge::Value::Object(ObjType::Map), item)) =
                am.get(&results, result_key(*c)).unwrap()
            {
                am.put(&item, "answer", "2").unwrap();
                fork.put(&item, "answer", 3_i64).unwrap();
                am.merge(&mut fork).unwrap();
            }
        }
        Edit::ConcurrentMove => {
            let am = doc.automerge();
            let mut fork = am.fork();
            fork.put(ROOT, "location_id", Uuid::new_v4().to_string())
                .unwrap();
            am.put(ROOT, "ended_at", "2026-11-30T12:00:00+00:00")
                .unwrap();
            am.merge(&mut fork).unwrap();
        }
        Edit::RemoveResult(c) => {
            let am = doc.automerge();
            let results = section(am, "results");
            am.delete(&results, result_key(*c)).unwrap();
        }
        Edit::ExtraResult => {
            let am = doc.automerge();
            let results = section(am, "results");
            let key = accredit_shared::visit::schema::Layout::CURRENT
                .result_key(&pack.id, &pack.version, "NOT-IN-PACK")
                .to_string();
            let item = am.put_object(&results, key, ObjType::Map).unwrap();
            am.put(&item, "criterion", "NOT-IN-PACK").unwrap();
        }
        Edit::Migrate => {
            let at = Utc.with_ymd_and_hms(2026, 11, 2, 12, 0, 0).unwrap();
            let _ = doc.migrate_to(&test_pack(), &test_pack_v2(), at);
        }
        Edit::BareVersionChange => {
            doc.automerge().put(ROOT, "pack_version", "2").unwrap();
        }
        Edit::Photo(n) => {
            let _ = doc.add_photo(&PhotoRef {
                hash: format!("{n:02x}").repeat(32),
                size: 10,
                width: 400,
                height: 300,
                taken_at: Utc.with_ymd_and_hms(2026, 11, 2, 10, 0, 0).unwrap(),
                caption: String::new(),
                criterion: None,
            });
        }
        Edit::Mark(p, label) => {
            let Ok(snap) = doc.snapshot() else { return };
            let Some(photo) = snap.photos.values().nth(*p % snap.photos.len().max(1)) else {
                return;
            };
            let at = Utc.with_ymd_and_hms(2026, 11, 2, 11, 0, 0).unwrap();
            let pt = |x, y| accredit_shared::visit::points::Point { x, y };
            let draft = if *label {
                AnnotationDraft {
                    kind: AnnotationKind::Label,
                    points: vec![pt(10, 20)],
                    label: "Wedge".into(),
                }
            } else {
                AnnotationDraft {
                    kind: AnnotationKind::Arrow,
                    points: vec![pt(10, 20), pt(200, 150)],
                    label: String::new(),
                }
            };
            let hash = photo.hash.clone();
            let _ = doc.add_annotation(&hash, &draft, at);
        }
        Edit::Unmark(m) => {
            let Ok(snap) = doc.snapshot() else { return };
            if let Some(id) = snap
                .annotations
                .keys()
                .nth(*m % snap.annotations.len().max(1))
            {
                let _ = doc.remove_annotation(*id);
            }
        }
        Edit::Sign => {
            let _ = doc.add_signature(
                &SignatureDraft {
                    name: "Mary Manager".into(),
                    role: "Registered manager".into(),
                    width: 600,
                    height: 200,
                    strokes: vec![vec![
                        accredit_shared::visit::points::Point { x: 1, y: 2 },
                        accredit_shared::visit::points::Point { x: 30, y: 40 },
                    ]],
                },
                Utc.with_ymd_and_hms(2026, 11, 2, 12, 0, 0).unwrap(),
            );
        }
        Edit::ChangeSignature | Edit::RemoveSignature => {
            let am = doc.automerge();
            let Some(sigs) = raw_map(am, &["signatures"]) else {
                return;
            };
            let Some(key) = am.keys(&sigs).next() else {
                return;
            };
            if matches!(edit, Edit::RemoveSignature) {
                am.delete(&sigs, key.as_str()).unwrap();
            } else if let Some(sig) = raw_map(am, &["signatures", key.as_str()]) {
                am.put(&sig, "name", "Someone Else").unwrap();
            }
        }
        Edit::StrayMark => {
            let am = doc.automerge();
            let root = section(am, "annotations");
            let marks = am.put_object(&root, "ee".repeat(32), ObjType::Map).unwrap();
            let mark = am
                .put_object(&marks, Uuid::new_v4().to_string(), ObjType::Map)
                .unwrap();
            am.put(&mark, "kind", "arrow").unwrap();
            am.put(&mark, "points", "1,1 9,9").unwrap();
        }
        Edit::MoveMark => {
            let am = doc.automerge();
            let Some(root) = raw_map(am, &["annotations"]) else {
                return;
            };
            let Some(hash) = am.keys(&root).next() else {
                return;
            };
            let Some(marks) = raw_map(am, &["annotations", hash.as_str()]) else {
                return;
            };
            let Some(key) = am.keys(&marks).next() else {
                return;
            };
            if let Some(mark) = raw_map(am, &["annotations", hash.as_str(), key.as_str()]) {
                am.put(&mark, "points", "3,3 50,50").unwrap();
            }
        }
    }
}

fn library() -> accredit_shared::PackLibrary {
    let mut packs = accredit_shared::PackLibrary::new();
    packs.insert(test_pack()).unwrap();
    packs.insert(test_pack_v2()).unwrap();
    packs
}

/// Whether every change since `before` is by an actor registered in `authors`.
fn every_change_has_an_author(
    doc: &mut automerge::AutoCommit,
    before: &[automerge::ChangeHash],
) -> bool {
    use automerge::ReadDoc;
    let actors: Vec<String> = doc
        .get_changes(before)
        .iter()
        .map(|c| c.actor_id().to_hex_string())
        .collect();
    let Ok(Some((_, authors))) = doc.get(automerge::ROOT, "authors") else {
        return actors.is_empty();
    };
    let known: Vec<String> = doc.keys(&authors).collect();
    actors.iter().all(|a| known.contains(a))
}

/// The whole-visit verdict of the server: valid against the pack, still the same visit, and
/// every new change traceable to an author.
fn whole_verdict(
    before: &mut VisitDoc,
    candidate: &mut VisitDoc,
    packs: &accredit_shared::PackLibrary,
) -> Result<VisitSnapshot, String> {
    let heads = before.heads();
    if !every_change_has_an_author(candidate.automerge(), &heads) {
        return Err("a change has no author".into());
    }
    let snapshot =
        VisitDoc::validate_automerge(candidate.automerge(), packs).map_err(|e| e.to_string())?;
    let was = before.snapshot().map_err(|e| e.to_string())?;
    let same = |a: &VisitHeader, b: &VisitHeader| {
        (a.visit_id, a.location_id, &a.pack_id) == (b.visit_id, b.location_id, &b.pack_id)
    };
    if !same(&was.header, &snapshot.header) {
        return Err("the visit's identity changed".into());
    }
    // The version changes only by a newly recorded move of an unsigned draft to its successor.
    let (from, to) = (&was.header.pack_version, &snapshot.header.pack_version);
    let recorded_move = snapshot.migrations.iter().any(|(id, m)| {
        !was.migrations.contains_key(id) && &m.from_version == from && &m.to_version == to
    });
    let successor = packs
        .successor(&snapshot.header.pack_id, from)
        .is_some_and(|p| &p.version == to);
    if from != to && !(recorded_move && successor && was.signoff.is_none()) {
        return Err("the pack version changed without a recorded move".into());
    }
    // Signatures stand as made; marks are only ever removed; new ones are the sender's own.
    if was
        .signatures
        .iter()
        .any(|(id, s)| snapshot.signatures.get(id) != Some(s))
    {
        return Err("a signature changed or went".into());
    }
    if was
        .annotations
        .iter()
        .any(|(id, m)| snapshot.annotations.get(id).is_some_and(|now| now != m))
    {
        return Err("a mark changed".into());
    }
    let sender = ann();
    let new_signature_by_other = snapshot
        .signatures
        .iter()
        .any(|(id, s)| !was.signatures.contains_key(id) && s.taken_by != sender);
    let new_mark_by_other = snapshot
        .annotations
        .iter()
        .any(|(id, m)| !was.annotations.contains_key(id) && m.by != sender);
    if new_signature_by_other || new_mark_by_other {
        return Err("a new signature or mark is not the sender's".into());
    }
    Ok(snapshot)
}

fn raw_result(doc: &mut VisitDoc, criterion: &str) -> automerge::ObjId {
    use automerge::ReadDoc;
    let pack = test_pack();
    let key = accredit_shared::visit::schema::Layout::CURRENT.result_key(
        &pack.id,
        &pack.version,
        criterion,
    );
    let am = doc.automerge();
    let (_, results) = am.get(automerge::ROOT, "results").unwrap().unwrap();
    let (_, item) = am.get(&results, key.to_string()).unwrap().unwrap();
    item
}

#[test]
fn the_server_check_refuses_every_value_a_device_would_never_write() {
    use automerge::transaction::Transactable;
    let pack = test_pack();
    let packs = library();
    let first = pack.criteria().next().unwrap().id.clone();
    let check = |doc: &mut VisitDoc, before: &[automerge::ChangeHash]| {
        let whole = VisitDoc::validate_automerge(doc.automerge(), &packs).map(|_| ());
        let partial =
            VisitDoc::check_automerge_changes(&mut doc.automerge().clone(), before, &packs)
                .map(|_| ());
        (
            whole.map_err(|e| e.to_string()),
            partial.map_err(|e| e.to_string()),
        )
    };

    // Scores outside the scale, written as a device writes a score (its number as text).
    for bad in ["99", "-5", "0", "5", "maybe", ""] {
        let mut doc = VisitDoc::create(&header(), &pack, ann()).unwrap();
        let before = doc.heads();
        let item = raw_result(&mut doc, &first);
        doc.automerge().put(&item, "answer", bad).unwrap();
        let (whole, partial) = check(&mut doc, &before);
        assert!(
            whole.is_err() && partial.is_err(),
            "{bad}: {whole:?} {partial:?}"
        );
    }
    // A good score passes both checks.
    let mut doc = VisitDoc::create(&header(), &pack, ann()).unwrap();
    let before = doc.heads();
    doc.set_answer(&pack, &first, Some(Answer::Score(4)))
        .unwrap();
    assert_eq!(check(&mut doc, &before), (Ok(()), Ok(())));

    // An invalid answer written concurrently with a valid one, whichever wins the ordering.
    for bad in [
        automerge::ScalarValue::Int(3),
        automerge::ScalarValue::Str("excellent".into()),
        automerge::ScalarValue::Str("7".into()),
    ] {
        let mut doc = VisitDoc::create(&header(), &pack, ann()).unwrap();
        let before = doc.heads();
        let item = raw_result(&mut doc, &first);
        let mut fork = doc.automerge().fork();
        fork.put(&item, "answer", bad.clone()).unwrap();
        doc.set_answer(&pack, &first, Some(Answer::Score(2)))
            .unwrap();
        doc.automerge().merge(&mut fork).unwrap();
        let (whole, partial) = check(&mut doc, &before);
        assert!(
            whole.is_err() && partial.is_err(),
            "{bad:?}: {whole:?} {partial:?}"
        );
        assert!(whole.unwrap_err().contains("answer"));
    }

    // The location moved on a concurrent branch: refused even if the old value wins.
    let mut doc = VisitDoc::create(&header(), &pack, ann()).unwrap();
    let before = doc.heads();
    let mut fork = doc.automerge().fork();
    fork.put(automerge::ROOT, "location_id", Uuid::new_v4().to_string())
        .unwrap();
    // The same location, written differently, so the write is not elided as a no-op.
    let here = header().location_id.simple().to_string();
    doc.automerge()
        .put(automerge::ROOT, "location_id", here.as_str())
        .unwrap();
    doc.automerge().merge(&mut fork).unwrap();
    let (whole, partial) = check(&mut doc, &before);
    assert!(whole.is_err() && partial.is_err(), "{whole:?} {partial:?}");
    assert!(partial.unwrap_err().contains("location_id"));
    // Moved outright: the visit read alone looks fine, but it is no longer the visit it was.
    let mut doc = VisitDoc::create(&header(), &pack, ann()).unwrap();
    let before = doc.heads();
    doc.automerge()
        .put(automerge::ROOT, "location_id", Uuid::new_v4().to_string())
        .unwrap();
    let (_, partial) = check(&mut doc, &before);
    assert!(partial.unwrap_err().contains("cannot change"));

    // A new visit without its pre-created results, or with a result the pack does not have.
    let mut doc = VisitDoc::create(&header(), &pack, ann()).unwrap();
    let (_, results) = automerge::ReadDoc::get(doc.automerge(), automerge::ROOT, "results")
        .unwrap()
        .unwrap();
    let key =
        accredit_shared::visit::schema::Layout::CURRENT.result_key(&pack.id, &pack.version, &first);
    doc.automerge().delete(&results, key.to_string()).unwrap();
    let (whole, partial) = check(&mut doc, &[]);
    assert!(whole.unwrap_err().contains("has no result"));
    assert!(partial.is_err());

    // A second result for the first criterion, under a fresh key, as the first layout had it.
    let extra_result = |mut doc: VisitDoc| {
        let before = doc.heads();
        let (_, results) = automerge::ReadDoc::get(doc.automerge(), automerge::ROOT, "results")
            .unwrap()
            .unwrap();
        let am = doc.automerge();
        let item = am
            .put_object(
                &results,
                Uuid::new_v4().to_string(),
                automerge::ObjType::Map,
            )
            .unwrap();
        am.put(&item, "criterion", first.as_str()).unwrap();
        let (whole, partial) = check(&mut doc, &before);
        assert!(partial.is_err());
        whole.unwrap_err()
    };
    // In layout 2 the key is the criterion, so another key is not a criterion of the pack.
    let err = extra_result(VisitDoc::create(&header(), &pack, ann()).unwrap());
    assert!(err.contains("is not in framework pack"), "{err}");
    // In the first layout a result names its criterion, so a second one would score it twice.
    let err = extra_result(layout_1_visit(ann()));
    assert!(err.contains("must be keyed"), "{err}");

    // Criterion references, descriptions and reasons are the pack's and the device's rules too.
    let mut doc = VisitDoc::create(&header(), &pack, ann()).unwrap();
    let before = doc.heads();
    let id = doc
        .add_action(
            &pack,
            &ActionDraft {
                criterion: Some(first.clone()),
                priority: Priority::High,
                description: "Fix the rota".into(),
                owner: String::new(),
                due_on: None,
            },
        )
        .unwrap();
    assert_eq!(check(&mut doc, &before), (Ok(()), Ok(())));
    let (_, actions) = automerge::ReadDoc::get(doc.automerge(), automerge::ROOT, "actions")
        .unwrap()
        .unwrap();
    let (_, action) = automerge::ReadDoc::get(doc.automerge(), &actions, id.to_string())
        .unwrap()
        .unwrap();
    let before = doc.heads();
    doc.automerge().put(&action, "criterion", "Z99").unwrap();
    let (whole, partial) = check(&mut doc, &before);
    assert!(whole.unwrap_err().contains("not in framework pack"));
    assert!(partial.is_err());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    /// The server checks only what a sync's changes reached; that must reach the same verdict as
    /// reading the whole visit, whatever the changes were.
    #[test]
    fn checking_only_the_changes_agrees_with_reading_the_whole_visit(
        edits in proptest::collection::vec(proptest::collection::vec(edit_strategy(), 1..5), 1..6)
    ) {
        let pack = test_pack();
        let packs = library();
        let mut doc = VisitDoc::create(&header(), &pack, ann()).unwrap();
        for batch in edits {
            let before = doc.heads();
            let mut candidate = VisitDoc::from_automerge(doc.automerge().clone(), ann());
            for e in &batch {
                apply_edit(&mut candidate, e);
            }
            let whole = whole_verdict(&mut doc, &mut candidate, &packs);
            let mut am = candidate.automerge().clone();
            let partial = VisitDoc::check_automerge_changes(&mut am, &before, &packs);
            prop_assert_eq!(whole.is_ok(), partial.is_ok(), "whole {:?} partial {:?}", whole.as_ref().err(), partial.as_ref().err());
            if let (Ok(w), Ok(p)) = (&whole, &partial) {
                prop_assert_eq!(&w.header, &p.header);
                prop_assert_eq!(w.signoff.is_some(), p.signed_off);
            }
            // As on the server: only a change that passes is kept.
            if whole.is_ok() {
                doc = candidate;
            }
        }
    }
}

#[test]
fn the_server_check_refuses_a_third_score_over_a_conflict_unless_one_is_kept_with_a_reason() {
    use automerge::transaction::Transactable;
    let packs = library();
    let (mut a, mut b) = scored_apart();
    merge_both(&mut a, &mut b);
    let before = a.heads();
    let check = |doc: &mut VisitDoc| {
        VisitDoc::check_automerge_changes(&mut doc.automerge().clone(), &before, &packs)
            .map(|c| c.change_authors)
            .map_err(|e| e.to_string())
    };
    // A raw write over both values (what a client without the app's rule could send).
    let mut raw = VisitDoc::from_automerge(a.automerge().clone(), ann());
    let item = raw_result(&mut raw, "safe.c2");
    raw.automerge().put(&item, "answer", "3").unwrap();
    let refused = check(&mut raw).unwrap_err();
    assert!(refused.contains("keep one of their scores"), "{refused}");
    // Keeping one of the two with a reason passes, and names who did it.
    let path = a
        .conflicts()
        .unwrap()
        .into_iter()
        .find(|c| c.criterion.as_deref() == Some("safe.c2"))
        .unwrap()
        .path;
    a.resolve_conflict(&path, "4", "Bob saw the medicines audit", Utc::now())
        .unwrap();
    assert_eq!(check(&mut a), Ok(vec![ann()]));
}

#[test]
fn a_device_that_only_knew_its_own_score_may_change_it_while_the_conflict_stands() {
    let pack = test_pack();
    let packs = library();
    // Ann scores 2 and Bob 4, offline; the server receives both: a conflict.
    let (mut a, mut b) = scored_apart();
    let mut server = VisitDoc::from_automerge(a.automerge().clone(), ann());
    server.automerge().merge(b.automerge()).unwrap();
    let before = server.heads();
    // Ann, still offline and unaware of Bob's score, changes her own mind: 2 -> 4, agreeing.
    a.set_answer(&pack, "safe.c2", Some(Answer::Score(4)))
        .unwrap();
    server.automerge().merge(a.automerge()).unwrap();
    let checked =
        VisitDoc::check_automerge_changes(&mut server.automerge().clone(), &before, &packs);
    assert!(checked.is_ok(), "{:?}", checked.err());
}
