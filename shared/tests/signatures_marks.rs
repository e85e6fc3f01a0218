//! Signatures bound to the record they signed, and marks drawn over photos: what a device writes,
//! what merges keep, and what the server's checks refuse.

mod common;

use accredit_shared::records::Answer;
use accredit_shared::visit::points::Point;
use accredit_shared::visit::*;
use accredit_shared::visit_diff::{Change, diff};
use automerge::transaction::Transactable;
use automerge::{ChangeHash, ObjType, ROOT, ReadDoc};
use chrono::{TimeZone, Utc};
use common::*;

fn at(minute: u32) -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 2, 15, minute, 0).unwrap()
}

fn p(x: u32, y: u32) -> Point {
    Point { x, y }
}

fn manager_signature() -> SignatureDraft {
    SignatureDraft {
        name: "Mary Manager".into(),
        role: "Registered manager".into(),
        width: 600,
        height: 200,
        strokes: vec![vec![p(10, 100), p(60, 40), p(120, 150)], vec![p(200, 90)]],
    }
}

const HASH: &str = "0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0";

fn with_photo() -> VisitDoc {
    let mut doc = VisitDoc::create(&header(), &test_pack(), ann()).unwrap();
    doc.add_photo(&PhotoRef {
        hash: HASH.into(),
        size: 1000,
        width: 800,
        height: 600,
        taken_at: at(0),
        caption: "Fire door wedged open".into(),
        criterion: Some("safe.c1".into()),
    })
    .unwrap();
    doc
}

fn packs() -> accredit_shared::PackLibrary {
    library()
}

/// The server's check of everything a device added since `before`.
fn server_check(doc: &mut VisitDoc, before: &[ChangeHash]) -> Result<ChangeCheck, VisitDocError> {
    let mut copy = doc.automerge().clone();
    VisitDoc::check_automerge_changes(&mut copy, before, &packs())
}

#[test]
fn a_signature_keeps_the_record_it_signed_and_shows_what_changed_after() {
    let pack = test_pack();
    let mut doc = with_photo();
    doc.set_answer(&pack, "safe.c2", Some(Answer::Score(3)))
        .unwrap();
    let id = doc.add_signature(&manager_signature(), at(5)).unwrap();
    let signed = doc.snapshot().unwrap().signatures[&id].clone();
    assert_eq!(signed.name, "Mary Manager");
    assert_eq!(signed.strokes, manager_signature().strokes);
    assert_eq!(signed.taken_by, ann());
    let heads = heads_from_strings(&signed.heads).unwrap();

    // Signing is not itself a change to what was signed.
    let now = doc.snapshot().unwrap();
    let at_signing = doc.snapshot_at(&heads).unwrap();
    assert!(diff(&at_signing.signed_content(), &now.signed_content()).is_empty());

    // A later edit is exactly what changed since signing.
    doc.set_answer(&pack, "safe.c2", Some(Answer::Score(1)))
        .unwrap();
    let now = doc.snapshot().unwrap();
    let since = diff(&at_signing.signed_content(), &now.signed_content());
    assert_eq!(
        since.answer_changes(),
        vec![("safe.c2", Some(Answer::Score(3)), Some(Answer::Score(1)))]
    );
    assert!(since.signatures.is_empty(), "{since:?}");

    // The monitor's sign-off after the manager signed keeps both.
    doc.sign_off(at(9)).unwrap();
    let signed_off = doc.snapshot().unwrap();
    assert_eq!(signed_off.signatures.len(), 1);
    assert!(doc.add_signature(&manager_signature(), at(10)).is_err());
}

#[test]
fn bad_signatures_are_refused_with_a_reason_and_change_nothing() {
    let mut doc = with_photo();
    let before = doc.heads();
    for (draft, needle) in [
        (
            SignatureDraft {
                name: " ".into(),
                ..manager_signature()
            },
            "name",
        ),
        (
            SignatureDraft {
                role: String::new(),
                ..manager_signature()
            },
            "role",
        ),
        (
            SignatureDraft {
                strokes: vec![vec![p(601, 10)]],
                ..manager_signature()
            },
            "outside",
        ),
        (
            SignatureDraft {
                strokes: vec![vec![]],
                ..manager_signature()
            },
            "no points",
        ),
    ] {
        let e = doc.add_signature(&draft, at(1)).unwrap_err().to_string();
        assert!(e.contains(needle), "{e}");
    }
    assert_eq!(doc.heads(), before);
    // Typed name and role alone (no strokes) are a signature: for someone who cannot draw one.
    let typed = SignatureDraft {
        strokes: Vec::new(),
        ..manager_signature()
    };
    doc.add_signature(&typed, at(2)).unwrap();
}

/// A copy of `doc` on another session of Ann's, its actor registered by a real edit, ready to be
/// tampered with as a hostile client would; with the heads the server had checked.
fn hostile_copy(doc: &mut VisitDoc) -> (VisitDoc, Vec<ChangeHash>) {
    let mut copy = VisitDoc::load(&doc.save(), ann()).unwrap();
    copy.set_notes(&test_pack(), "safe.c4", "registered")
        .unwrap();
    let heads = copy.heads();
    (copy, heads)
}

/// The map of the only signature, for tampering as a hostile client would.
fn signature_obj(doc: &mut VisitDoc) -> automerge::ObjId {
    let am = doc.automerge();
    let (_, sigs) = am.get(ROOT, "signatures").unwrap().unwrap();
    let key = am.keys(&sigs).next().unwrap();
    am.get(&sigs, &key).unwrap().unwrap().1
}

#[test]
fn the_server_refuses_a_signature_changed_removed_or_claiming_unknown_heads() {
    let mut doc = with_photo();
    doc.add_signature(&manager_signature(), at(5)).unwrap();
    server_check(&mut doc, &[]).unwrap();

    let (mut changed, before) = hostile_copy(&mut doc);
    let sig = signature_obj(&mut changed);
    changed
        .automerge()
        .put(&sig, "name", "Someone Else")
        .unwrap();
    changed.automerge().commit();
    let e = server_check(&mut changed, &before).unwrap_err().to_string();
    assert!(e.contains("cannot be changed"), "{e}");

    let (mut removed, before) = hostile_copy(&mut doc);
    let am = removed.automerge();
    let (_, sigs) = am.get(ROOT, "signatures").unwrap().unwrap();
    let key = am.keys(&sigs).next().unwrap();
    am.delete(&sigs, key.as_str()).unwrap();
    am.commit();
    let e = server_check(&mut removed, &before).unwrap_err().to_string();
    assert!(e.contains("cannot be removed"), "{e}");

    let (mut forged, before) = hostile_copy(&mut doc);
    let sig = signature_obj(&mut forged);
    forged
        .automerge()
        .put(&sig, "heads", "00".repeat(32))
        .unwrap();
    forged.automerge().commit();
    let e = server_check(&mut forged, &before).unwrap_err().to_string();
    assert!(e.contains("does not hold"), "{e}");
}

fn arrow() -> AnnotationDraft {
    AnnotationDraft {
        kind: AnnotationKind::Arrow,
        points: vec![p(100, 100), p(300, 200)],
        label: String::new(),
    }
}

fn label(text: &str) -> AnnotationDraft {
    AnnotationDraft {
        kind: AnnotationKind::Label,
        points: vec![p(400, 50)],
        label: text.into(),
    }
}

#[test]
fn two_devices_marking_one_photo_offline_both_keep_their_marks() {
    let mut a = with_photo();
    let mut b = VisitDoc::load(&a.save(), bob()).unwrap();
    let photo_before = a.snapshot().unwrap().photos;
    // Neither device has marked a photo yet, so each makes the maps that hold marks.
    let ann_arrow = a.add_annotation(HASH, &arrow(), at(3)).unwrap();
    let bob_label = b.add_annotation(HASH, &label("Wedge"), at(4)).unwrap();
    let bob_circle = b
        .add_annotation(
            HASH,
            &AnnotationDraft {
                kind: AnnotationKind::Circle,
                points: vec![p(500, 300), p(540, 300)],
                label: String::new(),
            },
            at(5),
        )
        .unwrap();
    let before_merge = b.heads();
    b.automerge().merge(a.automerge()).unwrap();
    a.automerge().merge(b.automerge()).unwrap();
    for doc in [&mut a, &mut b] {
        let s = doc.snapshot().unwrap();
        let marks: Vec<_> = s
            .annotations_of(HASH)
            .map(|(id, m)| (*id, m.kind))
            .collect();
        assert_eq!(
            marks,
            vec![
                (ann_arrow, AnnotationKind::Arrow),
                (bob_label, AnnotationKind::Label),
                (bob_circle, AnnotationKind::Circle)
            ]
        );
        assert_eq!(s.annotations[&bob_label].label, "Wedge");
        assert_eq!(s.annotations[&ann_arrow].by, ann());
        assert!(doc.conflicts().unwrap().is_empty(), "marks are no conflict");
        assert_eq!(s.photos, photo_before, "the photo itself is untouched");
    }
    // The server accepts Ann's marks arriving at Bob's copy.
    let merged_check =
        VisitDoc::check_automerge_changes(&mut b.automerge().clone(), &before_merge, &packs());
    assert!(merged_check.is_ok(), "{merged_check:?}");
    // A mark removed is removed from whichever copy holds it.
    a.remove_annotation(ann_arrow).unwrap();
    assert!(!a.snapshot().unwrap().annotations.contains_key(&ann_arrow));
    assert_eq!(a.snapshot().unwrap().annotations.len(), 2);
}

#[test]
fn marks_are_checked_on_the_device_and_again_by_the_server() {
    let mut doc = with_photo();
    let before = doc.heads();
    for (draft, needle) in [
        (label(" "), "label's text"),
        (
            AnnotationDraft {
                points: vec![p(100, 100), p(900, 100)],
                ..arrow()
            },
            "outside the photo",
        ),
        (
            AnnotationDraft {
                points: vec![p(100, 100), p(100, 100)],
                ..arrow()
            },
            "no length",
        ),
        (
            AnnotationDraft {
                label: "text".into(),
                ..arrow()
            },
            "only a label",
        ),
    ] {
        let e = doc
            .add_annotation(HASH, &draft, at(1))
            .unwrap_err()
            .to_string();
        assert!(e.contains(needle), "{e}");
    }
    assert!(
        doc.add_annotation(&"ab".repeat(32), &arrow(), at(1))
            .is_err()
    );
    assert_eq!(doc.heads(), before);

    // A hostile client writes what the device would not: the server refuses each.
    let id = doc.add_annotation(HASH, &arrow(), at(2)).unwrap();
    server_check(&mut doc, &before).unwrap();
    let mark_obj = |d: &mut VisitDoc| {
        let am = d.automerge();
        let (_, root) = am.get(ROOT, "annotations").unwrap().unwrap();
        let (_, marks) = am.get(&root, HASH).unwrap().unwrap();
        am.get(&marks, id.to_string()).unwrap().unwrap().1
    };
    let (mut moved, after_mark) = hostile_copy(&mut doc);
    let obj = mark_obj(&mut moved);
    moved
        .automerge()
        .put(&obj, "points", "100,100 200,200")
        .unwrap();
    moved.automerge().commit();
    let e = server_check(&mut moved, &after_mark)
        .unwrap_err()
        .to_string();
    assert!(e.contains("cannot be changed"), "{e}");

    let (mut stray, after_mark) = hostile_copy(&mut doc);
    let am = stray.automerge();
    let (_, root) = am.get(ROOT, "annotations").unwrap().unwrap();
    let other = am.put_object(&root, "ab".repeat(32), ObjType::Map).unwrap();
    let mark = am
        .put_object(&other, uuid::Uuid::new_v4().to_string(), ObjType::Map)
        .unwrap();
    am.put(&mark, "kind", "arrow").unwrap();
    am.put(&mark, "points", "1,1 2,2").unwrap();
    am.commit();
    let e = server_check(&mut stray, &after_mark)
        .unwrap_err()
        .to_string();
    assert!(e.contains("does not hold"), "{e}");

    // Bob's device cannot sign Ann's name to a mark: the author must be the sender.
    let mut b = VisitDoc::load(&doc.save(), bob()).unwrap();
    b.set_notes(&test_pack(), "safe.c1", "x").unwrap();
    let before_bob = b.heads();
    let (_, marks) = {
        let am = b.automerge();
        let (_, root) = am.get(ROOT, "annotations").unwrap().unwrap();
        am.get(&root, HASH).unwrap().unwrap()
    };
    let am = b.automerge();
    let forged = am
        .put_object(&marks, uuid::Uuid::new_v4().to_string(), ObjType::Map)
        .unwrap();
    am.put(&forged, "kind", "arrow").unwrap();
    am.put(&forged, "points", "1,1 50,50").unwrap();
    am.put(&forged, "at", at(7).to_rfc3339()).unwrap();
    let by = am.put_object(&forged, "by", ObjType::Map).unwrap();
    am.put(&by, "user_id", ann().user_id.to_string()).unwrap();
    am.put(&by, "name", ann().name).unwrap();
    am.commit();
    let e = server_check(&mut b, &before_bob).unwrap_err().to_string();
    assert!(e.contains("made by the person"), "{e}");
}

#[test]
fn a_diff_lists_marks_and_signatures_and_applies_exactly() {
    let mut doc = with_photo();
    let before = doc.snapshot().unwrap();
    doc.add_annotation(HASH, &label("Wedge"), at(3)).unwrap();
    doc.add_signature(&manager_signature(), at(4)).unwrap();
    let after = doc.snapshot().unwrap();
    let d = diff(&before, &after);
    assert_eq!(d.annotations.len(), 1);
    assert!(matches!(
        d.annotations.values().next(),
        Some(Change::Added { .. })
    ));
    assert_eq!(d.signatures.len(), 1);
    assert_eq!(d.apply_to(&before).unwrap(), after);
}
