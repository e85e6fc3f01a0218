//! Pack migration: a pack version's mapping from the previous one, checked on load and in the
//! library, and the move of a visit's results along it, which never loses an answer or a note.

use std::collections::BTreeMap;

use accredit_shared::framework::{FrameworkPack, PackLibrary};
use accredit_shared::pack_migration::{MigrationError, NotCarriedReason, migrate};
use accredit_shared::records::Answer;
use accredit_shared::visit::CriterionResult;
use proptest::prelude::*;

/// A pack of one domain and one standard holding `criteria` (id, scale max), with a mapping.
fn pack_toml(version: &str, criteria: &[(String, i32)], migration: &str) -> String {
    let mut s = format!(
        "id = \"p\"\nversion = \"{version}\"\ntitle = \"P\"\ndefault_scale = \"four\"\n\
         [scales.four]\nmin = 1\nmax = 4\n[scales.three]\nmin = 1\nmax = 3\n\
         [policy]\nnot_applicable = \"exclude\"\nnot_assessed = \"exclude\"\n\
         [[domains]]\nid = \"d\"\ntitle = \"D\"\n[[domains.standards]]\nid = \"d.s\"\ntitle = \"S\"\n"
    );
    for (id, max) in criteria {
        let scale = if *max == 3 { "three" } else { "four" };
        s += &format!(
            "[[domains.standards.criteria]]\nid = \"{id}\"\nprompt = \"Check\"\nscale = \"{scale}\"\n"
        );
    }
    s + migration
}

fn ids(list: &[String]) -> String {
    list.iter()
        .map(|i| format!("\"{i}\""))
        .collect::<Vec<_>>()
        .join(", ")
}

fn mapping(from_version: &str, maps: &[(Vec<String>, Vec<String>)], removed: &[String]) -> String {
    let mut s = format!(
        "[migration]\nfrom_version = \"{from_version}\"\nremoved = [{}]\n",
        ids(removed)
    );
    for (from, to) in maps {
        s += &format!(
            "[[migration.map]]\nfrom = [{}]\nto = [{}]\n",
            ids(from),
            ids(to)
        );
    }
    s
}

fn v1_ids(n: usize) -> Vec<(String, i32)> {
    (0..n).map(|i| (format!("old.{i}"), 4)).collect()
}

#[test]
fn a_mapping_is_checked_on_load_with_field_paths() {
    let v2 = [("a".to_string(), 4), ("b".to_string(), 4)];
    let bad = pack_toml(
        "2",
        &v2,
        &mapping(
            "2",
            &[
                (vec!["x".into()], vec!["a".into()]),
                (vec!["x".into()], vec!["nope".into()]),
                (vec!["Bad Id".into()], vec!["a".into()]),
                (vec![], vec!["b".into()]),
            ],
            &["x".into()],
        ),
    );
    let err = FrameworkPack::from_toml(&bad).unwrap_err();
    for path in [
        "migration.from_version",
        "migration.map[1].from[0]",
        "migration.map[1].to[0]",
        "migration.map[2].from[0]",
        "migration.map[2].to[0]",
        "migration.map[3].from",
        "migration.removed[0]",
    ] {
        assert!(err.mentions(path), "{path} not in {err}");
    }
}

#[test]
fn the_library_refuses_a_mapping_that_misses_or_invents_a_criterion_of_the_previous_version() {
    let v1 = FrameworkPack::from_toml(&pack_toml("1", &v1_ids(3), "")).unwrap();
    let v2_criteria = [("new.0".to_string(), 4), ("old.1".to_string(), 4)];
    // old.2 is neither kept (v2 lacks it), mapped nor removed; ghost is not in v1.
    let missing = FrameworkPack::from_toml(&pack_toml(
        "2",
        &v2_criteria,
        &mapping(
            "1",
            &[(vec!["old.0".into(), "ghost".into()], vec!["new.0".into()])],
            &[],
        ),
    ))
    .unwrap();
    let mut lib = PackLibrary::new();
    lib.insert(v1.clone()).unwrap();
    let err = lib.insert(missing.clone()).unwrap_err();
    assert!(err.mentions("migration.map[0].from[1]"), "{err}");
    assert!(err.to_string().contains("old.2"), "{err}");
    assert!(lib.get("p", "2").is_none());
    // The same check when the newer version is loaded first.
    let mut lib = PackLibrary::new();
    lib.insert(missing).unwrap();
    assert!(lib.insert(v1.clone()).is_err());
    assert!(lib.get("p", "1").is_none());

    let good = FrameworkPack::from_toml(&pack_toml(
        "2",
        &v2_criteria,
        &mapping(
            "1",
            &[(vec!["old.0".into()], vec!["new.0".into()])],
            &["old.2".into()],
        ),
    ))
    .unwrap();
    let mut lib = PackLibrary::new();
    lib.insert(v1).unwrap();
    lib.insert(good).unwrap();
    assert_eq!(
        lib.successor("p", "1").map(|p| p.version.as_str()),
        Some("2")
    );
}

#[test]
fn a_merge_carries_the_lowest_score_lists_the_others_and_keeps_every_note() {
    let v1 = FrameworkPack::from_toml(&pack_toml("1", &v1_ids(4), "")).unwrap();
    let v2 = FrameworkPack::from_toml(&pack_toml(
        "2",
        &[
            ("m".into(), 4),
            ("s1".into(), 4),
            ("s2".into(), 3),
            ("added".into(), 4),
        ],
        &mapping(
            "1",
            &[
                (vec!["old.0".into(), "old.1".into()], vec!["m".into()]),
                (vec!["old.2".into()], vec!["s1".into(), "s2".into()]),
            ],
            &["old.3".into()],
        ),
    ))
    .unwrap();
    let r = |a: Option<Answer>, n: &str| CriterionResult {
        answer: a,
        notes: n.into(),
    };
    let results = BTreeMap::from([
        ("old.0".to_string(), r(Some(Answer::Score(3)), "fine")),
        ("old.1".to_string(), r(Some(Answer::Score(2)), "gaps")),
        ("old.2".to_string(), r(Some(Answer::Score(4)), "split me")),
        ("old.3".to_string(), r(Some(Answer::NotApplicable), "gone")),
    ]);
    let m = migrate(&results, &v1, &v2).unwrap();
    assert_eq!(m.results["m"].answer, Some(Answer::Score(2)));
    assert_eq!(m.results["m"].notes, "old.0: fine\n\nold.1: gaps");
    assert_eq!(m.results["s1"], r(Some(Answer::Score(4)), "split me"));
    // 4 is off s2's 1–3 scale: left unanswered, listed; the notes still go there.
    assert_eq!(m.results["s2"], r(None, "split me"));
    assert_eq!(m.results["added"], CriterionResult::default());
    let reasons: Vec<(&str, &NotCarriedReason)> = m
        .not_carried
        .iter()
        .map(|n| (n.criterion.as_str(), &n.reason))
        .collect();
    assert_eq!(
        reasons,
        vec![
            (
                "old.0",
                &NotCarriedReason::Merged {
                    into: "m".into(),
                    carried_from: "old.1".into()
                }
            ),
            ("old.2", &NotCarriedReason::OffScale { into: "s2".into() }),
            ("old.3", &NotCarriedReason::Removed),
        ]
    );
    assert_eq!(m.not_carried[2].notes, "gone");
    assert_eq!(m.not_carried[2].answer, Some(Answer::NotApplicable));

    // Results of another pack, or a pack with no mapping from this one, are refused.
    let stray = BTreeMap::from([("zzz".to_string(), r(None, ""))]);
    assert!(matches!(
        migrate(&stray, &v1, &v2),
        Err(MigrationError::UnknownCriterion(_))
    ));
    assert!(matches!(
        migrate(&results, &v2, &v1),
        Err(MigrationError::NoMapping { .. })
    ));
}

/// What becomes of one criterion of the older version.
#[derive(Clone, Debug)]
enum Fate {
    Keep,
    Rename,
    Split(usize),
    Remove,
    /// Joins the previous criterion's group when that was renamed or merged, else a rename.
    MergeWithPrevious,
}

fn fate() -> impl Strategy<Value = Fate> {
    prop_oneof![
        3 => Just(Fate::Keep),
        2 => Just(Fate::Rename),
        1 => (2usize..4).prop_map(Fate::Split),
        1 => Just(Fate::Remove),
        2 => Just(Fate::MergeWithPrevious),
    ]
}

fn answer() -> impl Strategy<Value = Option<Answer>> {
    prop_oneof![
        2 => Just(None),
        4 => (1i32..5).prop_map(|s| Some(Answer::Score(s))),
        1 => Just(Some(Answer::NotApplicable)),
        1 => Just(Some(Answer::NotAssessed)),
    ]
}

/// A random older version, a newer version with a valid mapping from it, each older criterion's
/// targets, and results.
struct Case {
    v1: FrameworkPack,
    v2: FrameworkPack,
    targets: BTreeMap<String, Vec<String>>,
    results: BTreeMap<String, CriterionResult>,
}

fn build_case(
    fates: &[Fate],
    three_point: &[bool],
    added: usize,
    results: Vec<(Option<Answer>, String)>,
) -> Case {
    let v1_criteria = v1_ids(fates.len());
    let mut v2_criteria: Vec<(String, i32)> = Vec::new();
    let mut groups: Vec<(Vec<String>, Vec<String>)> = Vec::new();
    let mut removed = Vec::new();
    let mut targets = BTreeMap::new();
    let mut last_was_group = false;
    for (i, f) in fates.iter().enumerate() {
        let old = format!("old.{i}");
        let max = |k: usize| {
            if three_point[k % three_point.len()] {
                3
            } else {
                4
            }
        };
        let to: Vec<String> = match f {
            Fate::Keep => {
                v2_criteria.push((old.clone(), max(i)));
                last_was_group = false;
                vec![old.clone()]
            }
            Fate::MergeWithPrevious if last_was_group => {
                let g = groups.last_mut().expect("a group precedes");
                g.0.push(old.clone());
                g.1.clone()
            }
            Fate::Rename | Fate::MergeWithPrevious => {
                let new = format!("new.{i}");
                v2_criteria.push((new.clone(), max(i)));
                groups.push((vec![old.clone()], vec![new.clone()]));
                last_was_group = true;
                vec![new]
            }
            Fate::Split(k) => {
                let new: Vec<String> = (0..*k).map(|j| format!("new.{i}.{j}")).collect();
                for (j, n) in new.iter().enumerate() {
                    v2_criteria.push((n.clone(), max(i + j)));
                }
                groups.push((vec![old.clone()], new.clone()));
                last_was_group = false;
                new
            }
            Fate::Remove => {
                removed.push(old.clone());
                last_was_group = false;
                Vec::new()
            }
        };
        targets.insert(old, to);
    }
    for a in 0..added {
        v2_criteria.push((format!("added.{a}"), 4));
    }
    if v2_criteria.is_empty() {
        v2_criteria.push(("added.only".into(), 4));
    }
    let v1 = FrameworkPack::from_toml(&pack_toml("1", &v1_criteria, "")).unwrap();
    let v2 = FrameworkPack::from_toml(&pack_toml(
        "2",
        &v2_criteria,
        &mapping("1", &groups, &removed),
    ))
    .unwrap();
    let results = v1_criteria
        .iter()
        .zip(results)
        .map(|((id, _), (answer, notes))| (id.clone(), CriterionResult { answer, notes }))
        .collect();
    Case {
        v1,
        v2,
        targets,
        results,
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Over random packs and valid mappings, every older answer and note lands in the newer
    /// results (at one of its criterion's targets) or in the list of what was not carried over.
    #[test]
    fn no_answer_or_note_is_lost(
        fates in proptest::collection::vec(fate(), 1..9),
        three_point in proptest::collection::vec(any::<bool>(), 1..4),
        added in 0usize..3,
        results in proptest::collection::vec((answer(), "[a-z ]{0,6}"), 9),
    ) {
        let case = build_case(&fates, &three_point, added, results);
        let mut lib = PackLibrary::new();
        lib.insert(case.v1.clone()).unwrap();
        prop_assert!(lib.insert(case.v2.clone()).is_ok(), "a generated mapping is valid");
        let m = migrate(&case.results, &case.v1, &case.v2).unwrap();
        let v2_ids: Vec<String> = case.v2.criteria().map(|c| c.id.clone()).collect();
        prop_assert_eq!(m.results.keys().cloned().collect::<Vec<_>>(), { let mut v = v2_ids; v.sort(); v });
        for (old, r) in &case.results {
            let targets = &case.targets[old];
            let listed: Vec<_> = m.not_carried.iter().filter(|n| &n.criterion == old).collect();
            if let Some(a) = r.answer {
                let carried = targets.iter().any(|t| m.results[t].answer == Some(a));
                let kept = listed.iter().any(|n| n.answer == Some(a));
                prop_assert!(carried || kept, "answer of {} lost", old);
                // An answer off a target's scale is never written there.
                for t in targets {
                    if let Some(Answer::Score(s)) = m.results[t].answer {
                        prop_assert!(case.v2.criterion(t).unwrap().1.scale.contains(s));
                    }
                }
            }
            if !r.notes.is_empty() {
                let carried = targets.iter().any(|t| m.results[t].notes.contains(&r.notes));
                let kept = listed.iter().any(|n| n.notes == r.notes);
                prop_assert!(carried || kept, "notes of {} lost", old);
            }
        }
    }

    /// A mapping of renames only, followed by its inverse, gives back exactly the original.
    #[test]
    fn renames_and_their_inverse_round_trip_exactly(
        renamed in proptest::collection::vec(any::<bool>(), 1..9),
        results in proptest::collection::vec((answer(), "[a-z ]{0,6}"), 9),
    ) {
        let fates: Vec<Fate> = renamed.iter().map(|r| if *r { Fate::Rename } else { Fate::Keep }).collect();
        let case = build_case(&fates, &[false], 0, results);
        let v1_criteria = v1_ids(fates.len());
        let inverse: Vec<(Vec<String>, Vec<String>)> = case
            .targets
            .iter()
            .filter(|(old, to)| to[0] != **old)
            .map(|(old, to)| (to.clone(), vec![old.clone()]))
            .collect();
        let v3 = FrameworkPack::from_toml(&pack_toml("3", &v1_criteria, &mapping("2", &inverse, &[]))).unwrap();
        let there = migrate(&case.results, &case.v1, &case.v2).unwrap();
        prop_assert!(there.not_carried.is_empty());
        let back = migrate(&there.results, &case.v2, &v3).unwrap();
        prop_assert!(back.not_carried.is_empty());
        prop_assert_eq!(back.results, case.results);
    }
}

/// Found by `no_answer_or_note_is_lost`: two merged criteria agreeing on a score the new
/// criterion's scale lacks are both listed, not only the one that would have carried.
#[test]
fn agreeing_merged_answers_off_the_new_scale_are_all_listed() {
    let v1 = FrameworkPack::from_toml(&pack_toml("1", &v1_ids(2), "")).unwrap();
    let v2 = FrameworkPack::from_toml(&pack_toml(
        "2",
        &[("m".into(), 3)],
        &mapping(
            "1",
            &[(vec!["old.0".into(), "old.1".into()], vec!["m".into()])],
            &[],
        ),
    ))
    .unwrap();
    let four = CriterionResult {
        answer: Some(Answer::Score(4)),
        notes: String::new(),
    };
    let results = BTreeMap::from([
        ("old.0".to_string(), four.clone()),
        ("old.1".to_string(), four),
    ]);
    let m = migrate(&results, &v1, &v2).unwrap();
    assert_eq!(m.results["m"].answer, None);
    let listed: Vec<_> = m
        .not_carried
        .iter()
        .map(|n| (n.criterion.as_str(), n.answer, &n.reason))
        .collect();
    let off = NotCarriedReason::OffScale { into: "m".into() };
    assert_eq!(
        listed,
        vec![
            ("old.0", Some(Answer::Score(4)), &off),
            ("old.1", Some(Answer::Score(4)), &off)
        ]
    );
}
