//! Scoring rules (DOMAIN.md §4).

mod common;
use accredit_shared::ratio::Ratio;
use accredit_shared::records::Answer;
use accredit_shared::scheme::Rescale;
use accredit_shared::scoring::score;
use common::*;

fn pct(n: i128, d: i128) -> Option<Ratio> {
    Ratio::new(n, d)
}

#[test]
fn shift_maps_the_scale_to_0_to_100() {
    let rules = scheme().scoring;
    let pack = test_pack();
    assert_eq!(
        score(&pack, &answers([1, 1, 1, 1]), &rules).overall,
        pct(0, 1)
    );
    assert_eq!(score(&pack, &answers(GOLD), &rules).overall, pct(100, 1));
    let s = score(&pack, &answers(SILVER), &rules);
    // (3 + 3 + 2 + 2) / (4 × 3) = 83.33…%
    assert_eq!(s.overall, pct(250, 3));
    assert!(s.domains.iter().all(|d| d.percent == pct(250, 3)));
    assert!(s.conclusive);
}

#[test]
fn ratio_rescale_divides_by_the_maximum() {
    let mut rules = scheme().scoring;
    rules.rescale = Rescale::Ratio;
    let pack = test_pack();
    assert_eq!(
        score(&pack, &answers([1, 1, 1, 1]), &rules).overall,
        pct(25, 1)
    );
    assert_eq!(score(&pack, &answers(BRONZE), &rules).overall, pct(75, 1));
}

#[test]
fn not_applicable_is_left_out_of_the_denominator() {
    let rules = scheme().scoring;
    let pack = test_pack();
    let mut a = answers([4, 4, 1, 1]);
    a.insert("caring.c3".into(), Answer::NotApplicable);
    a.insert("caring.c4".into(), Answer::NotApplicable);
    let s = score(&pack, &a, &rules);
    let caring = s.domains.iter().find(|d| d.domain_id == "caring").unwrap();
    assert_eq!(caring.percent, pct(100, 1));
    assert_eq!((caring.scored, caring.not_applicable), (2, 2));
    assert_eq!(s.not_applicable, 2);
    // Overall is the mean of domain percentages: four at 50%, caring at 100%.
    assert_eq!(s.overall, pct(60, 1));
}

#[test]
fn more_than_ten_percent_not_assessed_is_inconclusive() {
    let rules = scheme().scoring;
    let pack = test_pack();
    let mut a = answers(GOLD);
    a.insert("safe.c2".into(), Answer::NotAssessed);
    a.remove("caring.c2"); // unanswered counts as not assessed
    let s = score(&pack, &a, &rules);
    assert_eq!(s.not_assessed, 2); // 2 of 20 = 10%: still conclusive
    assert!(s.conclusive, "{:?}", s.inconclusive_reason);
    a.insert("responsive.c2".into(), Answer::NotAssessed);
    let s = score(&pack, &a, &rules);
    assert_eq!(s.not_assessed, 3); // 15%
    assert!(!s.conclusive);
    assert!(s.inconclusive_reason.unwrap().contains("3 of 20"));
}

#[test]
fn a_domain_with_nothing_scored_is_inconclusive() {
    let mut rules = scheme().scoring;
    rules.max_not_assessed_percent = Ratio::integer(100);
    let pack = test_pack();
    let mut a = answers(GOLD);
    for c in 1..=4 {
        a.insert(format!("caring.c{c}"), Answer::NotApplicable);
    }
    let s = score(&pack, &a, &rules);
    assert!(!s.conclusive);
    assert!(s.inconclusive_reason.unwrap().contains("caring"));
}

#[test]
fn critical_criterion_at_the_minimum_fails() {
    let rules = scheme().scoring;
    let pack = test_pack();
    let mut a = answers(GOLD);
    a.insert("safe.c1".into(), Answer::Score(1));
    let s = score(&pack, &a, &rules);
    assert_eq!(s.critical_failures.len(), 1);
    assert_eq!(s.critical_failures[0].criterion_id, "safe.c1");
    a.insert("safe.c1".into(), Answer::Score(2));
    assert!(score(&pack, &a, &rules).critical_failures.is_empty());
    // A non-critical criterion at the minimum is not a critical failure.
    a.insert("safe.c2".into(), Answer::Score(1));
    assert!(score(&pack, &a, &rules).critical_failures.is_empty());
}

#[test]
fn unknown_criteria_and_off_scale_scores_are_ignored_and_listed() {
    let rules = scheme().scoring;
    let pack = test_pack();
    let mut a = answers(GOLD);
    a.insert("nonsense.c9".into(), Answer::Score(4));
    a.insert("safe.c3".into(), Answer::Score(9));
    let s = score(&pack, &a, &rules);
    assert_eq!(s.ignored_answers.len(), 2, "{:?}", s.ignored_answers);
    assert_eq!(s.scored, 19);
    assert_eq!(s.overall, pct(100, 1));
}

#[test]
fn weights_count() {
    let toml = test_pack_toml().replacen(
        "prompt = \"Check 1\"",
        "prompt = \"Check 1\"\nweight = 3",
        1,
    );
    let pack = accredit_shared::FrameworkPack::from_toml(&toml).unwrap();
    let rules = scheme().scoring;
    let s = score(&pack, &answers([4, 1, 1, 1]), &rules);
    let safe = &s.domains[0];
    // safe.c1 weighs 3 of 6: 50%; other domains have weight 1 each: 25%.
    assert_eq!(safe.percent, pct(50, 1));
    assert_eq!(s.domains[1].percent, pct(25, 1));
}

#[test]
fn the_shipped_pack_scores() {
    let pack = accredit_shared::FrameworkPack::from_toml(DEFAULT_PACK_TOML).unwrap();
    let all: std::collections::BTreeMap<String, Answer> = pack
        .criteria()
        .map(|c| (c.id.clone(), Answer::Score(3)))
        .collect();
    let s = score(&pack, &all, &scheme().scoring);
    assert_eq!(s.overall, Some(Ratio::new(200, 3).unwrap()));
    assert_eq!(s.scored as usize, pack.criterion_count());
    assert!(s.conclusive);
}

#[test]
fn overall_is_the_weighted_mean_of_domains() {
    let toml = test_pack_toml().replacen("title = \"safe\"", "title = \"safe\"\nweight = 3", 1);
    let pack = accredit_shared::FrameworkPack::from_toml(&toml).unwrap();
    let mut a = answers([1, 1, 1, 1]);
    for c in 1..=4 {
        a.insert(format!("safe.c{c}"), Answer::Score(4));
    }
    let s = score(&pack, &a, &scheme().scoring);
    // safe 100% × 3, four domains at 0% × 1: 300 / 7.
    assert_eq!(s.overall, pct(300, 7));
}

mod extreme_packs {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]
        /// Any pack the loader accepts scores without panicking, however fine its weights.
        #[test]
        fn fine_grained_weights_never_panic(
            domains in proptest::collection::vec((1u32..1_000_000, proptest::collection::vec((1u32..1_000_000, 1i32..5), 1..6)), 1..30),
        ) {
            let mut toml = String::from("id = \"p\"\nversion = \"1\"\ntitle = \"P\"\ndefault_scale = \"s\"\n[scales.s]\nmin = 1\nmax = 4\n[policy]\nnot_applicable = \"exclude\"\nnot_assessed = \"exclude\"\n");
            let mut a = std::collections::BTreeMap::new();
            for (di, (dw, criteria)) in domains.iter().enumerate() {
                toml += &format!("[[domains]]\nid = \"d{di}\"\ntitle = \"D\"\nweight = {}.{:03}\n[[domains.standards]]\nid = \"d{di}.s\"\ntitle = \"S\"\n", dw / 1000, dw % 1000);
                for (ci, (cw, s)) in criteria.iter().enumerate() {
                    toml += &format!("[[domains.standards.criteria]]\nid = \"d{di}.c{ci}\"\nprompt = \"P\"\nweight = {}.{:03}\n", cw / 1000, cw % 1000);
                    a.insert(format!("d{di}.c{ci}"), Answer::Score(*s));
                }
            }
            let pack = accredit_shared::FrameworkPack::from_toml(&toml).unwrap();
            let s = score(&pack, &a, &scheme().scoring);
            prop_assert!(s.conclusive || s.inconclusive_reason.is_some());
            if let Some(o) = s.overall {
                prop_assert!(Ratio::ZERO <= o && o <= Ratio::integer(100));
            }
        }
    }
}
