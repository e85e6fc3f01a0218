//! A visit's history (issue 16): for random edit histories on two devices that merge now and
//! then, the visit read at any recorded heads equals its state at that point, and the diff of
//! two recorded states, applied to the older, gives the newer. Scores are compared only within
//! one pack version.

mod common;
use accredit_shared::records::{Answer, Priority};
use accredit_shared::visit::*;
use accredit_shared::visit_diff::{Change, DiffError, diff, score_diff};
use chrono::Utc;
use common::*;
use proptest::prelude::*;

#[derive(Clone, Debug)]
enum Edit {
    Score(usize, i32),
    Clear(usize),
    Note(usize, String),
    Evidence(String),
    EvidenceText(usize, String),
    Action(String),
    ActionDone(usize),
    Officer,
    /// The other device's work so far is merged in.
    Merge,
}

fn edit_strategy() -> impl Strategy<Value = Edit> {
    prop_oneof![
        5 => (0usize..20, 1i32..5).prop_map(|(c, s)| Edit::Score(c, s)),
        1 => (0usize..20).prop_map(Edit::Clear),
        3 => (0usize..20, "[a-z ]{0,12}").prop_map(|(c, t)| Edit::Note(c, t)),
        2 => "[a-z][a-z ]{0,11}".prop_map(Edit::Evidence),
        1 => (0usize..4, "[a-z ]{0,12}").prop_map(|(i, t)| Edit::EvidenceText(i, t)),
        2 => "[a-z][a-z ]{0,11}".prop_map(Edit::Action),
        1 => (0usize..4).prop_map(Edit::ActionDone),
        1 => Just(Edit::Officer),
        2 => Just(Edit::Merge),
    ]
}

fn apply(doc: &mut VisitDoc, other: &mut VisitDoc, edit: &Edit) {
    let pack = test_pack();
    let criteria: Vec<String> = pack.criteria().map(|c| c.id.clone()).collect();
    let c = |i: usize| criteria[i % criteria.len()].clone();
    let snap = doc.snapshot().unwrap();
    // A score over two devices' different scores is refused until someone resolves them: a
    // refused edit changes nothing, which the history must show too.
    match edit {
        Edit::Score(i, s) => {
            let _ = doc.set_answer(&pack, &c(*i), Some(Answer::Score(*s)));
        }
        Edit::Clear(i) => {
            let _ = doc.set_answer(&pack, &c(*i), None);
        }
        Edit::Note(i, t) => {
            let _ = doc.set_notes(&pack, &c(*i), t);
        }
        Edit::Evidence(t) => {
            doc.add_evidence(
                &pack,
                &EvidenceDraft {
                    criterion: Some(c(0)),
                    kind: EvidenceKind::Observation,
                    text: t.clone(),
                    photo: None,
                },
            )
            .unwrap();
        }
        Edit::EvidenceText(i, t) => {
            if let Some(id) = snap.evidence.keys().nth(*i % snap.evidence.len().max(1)) {
                let _ = doc.set_evidence_text(*id, t);
            }
        }
        Edit::Action(t) => {
            doc.add_action(
                &pack,
                &ActionDraft {
                    criterion: None,
                    priority: Priority::Medium,
                    description: t.clone(),
                    owner: "Manager".into(),
                    due_on: Some(d(2026, 12, 20)),
                },
            )
            .unwrap();
        }
        Edit::ActionDone(i) => {
            if let Some(id) = snap.actions.keys().nth(*i % snap.actions.len().max(1)) {
                let _ = doc.set_action_status(*id, ActionStatus::Completed, Some(d(2026, 12, 1)));
            }
        }
        Edit::Officer => doc.add_officer(&bob()).unwrap(),
        Edit::Merge => {
            doc.automerge().merge(other.automerge()).unwrap();
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]
    #[test]
    fn any_recorded_state_reads_back_at_its_heads_and_diffs_apply_exactly(
        edits in proptest::collection::vec((any::<bool>(), edit_strategy()), 1..40)
    ) {
        let pack = test_pack();
        let mut a = VisitDoc::create(&header(), &pack, ann()).unwrap();
        let mut b = VisitDoc::from_automerge(a.automerge().fork(), bob());
        let mut recorded = vec![(a.heads(), a.snapshot().unwrap())];
        for (on_a, e) in &edits {
            if *on_a {
                apply(&mut a, &mut b, e);
            } else {
                apply(&mut b, &mut a, e);
            }
            // Each device's state after every edit is a point in the history of the merged
            // document once everything is merged.
            let doc = if *on_a { &mut a } else { &mut b };
            recorded.push((doc.heads(), doc.snapshot().unwrap()));
        }
        a.automerge().merge(b.automerge()).unwrap();
        recorded.push((a.heads(), a.snapshot().unwrap()));

        for (heads, state) in &recorded {
            prop_assert_eq!(&a.snapshot_at(heads).unwrap(), state);
        }
        for (i, (_, older)) in recorded.iter().enumerate() {
            prop_assert!(diff(older, older).is_empty());
            for (_, newer) in recorded.iter().skip(i) {
                let d = diff(older, newer);
                prop_assert_eq!(&d.apply_to(older).unwrap(), newer);
                // And backwards: the diff of newer to older undoes it.
                prop_assert_eq!(&diff(newer, older).apply_to(newer).unwrap(), older);
            }
        }
    }
}

#[test]
fn a_diff_names_score_and_note_changes_and_refuses_a_state_it_does_not_fit() {
    let pack = test_pack();
    let mut doc = VisitDoc::create(&header(), &pack, ann()).unwrap();
    let criteria: Vec<String> = pack.criteria().map(|c| c.id.clone()).collect();
    for c in &criteria {
        doc.set_answer(&pack, c, Some(Answer::Score(3))).unwrap();
    }
    // Bob's device holds the visit unsigned; his later edits arrive after Ann signs.
    let mut late = VisitDoc::from_automerge(doc.automerge().fork(), bob());
    let signed = doc.sign_off(Utc::now()).unwrap();
    let at_signing = doc.snapshot().unwrap();
    late.set_answer(&pack, &criteria[0], Some(Answer::Score(1)))
        .unwrap();
    late.set_notes(&pack, &criteria[1], "Two agency staff unaware of the lead")
        .unwrap();
    late.add_action(
        &pack,
        &ActionDraft {
            criterion: Some(criteria[0].clone()),
            priority: Priority::High,
            description: "Train agency staff".into(),
            owner: "Manager".into(),
            due_on: Some(d(2026, 12, 20)),
        },
    )
    .unwrap();
    doc.automerge().merge(late.automerge()).unwrap();
    let now = doc.snapshot().unwrap();
    // The document read at the signed heads is the record as signed.
    let heads = heads_from_strings(&signed.heads).unwrap();
    assert!(doc.snapshot_at(&heads).unwrap().same_record_as(&at_signing));

    let d = diff(&at_signing, &now);
    assert!(d.changes_record());
    assert_eq!(
        d.answer_changes(),
        vec![(
            criteria[0].as_str(),
            Some(Answer::Score(3)),
            Some(Answer::Score(1))
        )]
    );
    assert_eq!(d.notes_changed(), vec![criteria[1].as_str()]);
    assert_eq!(d.actions.len(), 1);
    assert!(matches!(
        d.actions.values().next(),
        Some(Change::Added { .. })
    ));
    // Applied to a state it was not made from: refused.
    let err = d.apply_to(&now).unwrap_err();
    assert!(matches!(err, DiffError::Mismatch(_)), "{err}");

    // Domain scores: the safe domain's first criterion fell from 3 to 1.
    let rules = scheme().scoring;
    let s = score_diff(&pack, &rules, &at_signing, &now).unwrap();
    let safe = s.domains.iter().find(|x| x.domain_id == "safe").unwrap();
    assert!(safe.after < safe.before, "{safe:?}");
    let others = s.domains.iter().filter(|x| x.domain_id != "safe");
    assert!(
        others.clone().all(|x| x.before == x.after),
        "{:?}",
        s.domains
    );
    assert!(s.overall.after < s.overall.before);

    // Another pack version: never compared raw.
    let mut v2 = now.clone();
    v2.header.pack_version = "2".into();
    assert!(matches!(
        score_diff(&pack, &rules, &at_signing, &v2),
        Err(DiffError::DifferentPacks(..))
    ));
}
