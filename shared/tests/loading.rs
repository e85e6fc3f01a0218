//! Framework packs and rule sets load from TOML; bad input is rejected with the field named.

mod common;
use accredit_shared::framework::FrameworkPack;
use accredit_shared::ratio::Ratio;
use accredit_shared::records::{FundingType, QualificationKind};
use accredit_shared::scheme::{Rescale, RuleBook, RuleSet, SchemeMode};
use common::*;

#[test]
fn shipped_pack_is_the_cqc_framework() {
    let pack = FrameworkPack::from_toml(DEFAULT_PACK_TOML).unwrap();
    let ids: Vec<&str> = pack.domains.iter().map(|d| d.id.as_str()).collect();
    assert_eq!(ids, DOMAINS);
    let standards: usize = pack.domains.iter().map(|d| d.standards.len()).sum();
    assert_eq!(standards, 34, "CQC's 34 quality statements");
    assert!(
        (90..=110).contains(&pack.criterion_count()),
        "{}",
        pack.criterion_count()
    );
    for s in pack.domains.iter().flat_map(|d| &d.standards) {
        assert!(
            (2..=4).contains(&s.criteria.len()),
            "{} has {}",
            s.id,
            s.criteria.len()
        );
    }
    let critical: Vec<&str> = pack
        .criteria()
        .filter(|c| c.critical)
        .map(|c| c.id.as_str())
        .collect();
    assert!(critical.iter().any(|c| c.contains("safeguarding")));
    assert!(critical.iter().any(|c| c.contains("medicines")));
    assert!(critical.iter().any(|c| c.contains("dbs")));
    assert!(
        pack.criteria()
            .all(|c| !c.guidance.is_empty() && !c.evidence_prompts.is_empty())
    );
}

#[test]
fn shipped_scheme_has_the_domain_defaults() {
    let r = scheme();
    // Premiums as DOMAIN.md §5 says; withhold and release too, which touches only the contracts
    // a council records (none by default).
    assert_eq!(r.mode, SchemeMode::Both);
    assert!(r.mode.pays_premiums() && r.mode.withholds());
    assert_eq!(r.effective_from, d(2026, 4, 1));
    assert_eq!(r.scoring.rescale, Rescale::Shift);
    assert_eq!(r.scoring.max_not_assessed_percent, Ratio::integer(10));
    let tiers: Vec<(&str, i64)> = r
        .tiers
        .iter()
        .map(|t| (t.name.as_str(), t.weekly_premium_pence))
        .collect();
    assert_eq!(tiers, [("Gold", 2500), ("Silver", 2000), ("Bronze", 1500)]);
    assert_eq!(r.tiers[0].min_overall_percent, Ratio::integer(85));
    assert_eq!(r.tiers[2].min_domain_percent, Ratio::integer(50));
    assert_eq!(
        r.qualifications.weekly_pence[&QualificationKind::Iso9001],
        500
    );
    assert_eq!(r.qualifications.weekly_cap_pence, 1000);
    assert_eq!(r.payments.weekly_cap_pence, 4000);
    assert_eq!(r.payments.eligible_funding, [FundingType::CouncilPermanent]);
    assert_eq!(r.payments.hospital_absence_paid_days, 28);
    assert_eq!(r.gates.sustainability_weeks, 12);
    assert_eq!(r.tier_cap_rank("Silver"), Some(2));
    assert_eq!(r.tier_cap_rank("none"), Some(0));
}

fn pack_error(toml: &str) -> accredit_shared::LoadError {
    FrameworkPack::from_toml(toml).expect_err("should be rejected")
}

#[test]
fn malformed_packs_name_the_field() {
    let good = test_pack_toml();
    let dup = good.replacen("id = \"effective.c2\"", "id = \"effective.c1\"", 1);
    let e = pack_error(&dup);
    assert!(e.mentions("domains[1].standards[0].criteria[1].id"), "{e}");
    assert!(e.to_string().contains("duplicate id `effective.c1`"), "{e}");

    let weight = good.replacen(
        "prompt = \"Check 2\"",
        "prompt = \"Check 2\"\nweight = 0",
        1,
    );
    assert!(pack_error(&weight).mentions("domains[0].standards[0].criteria[1].weight"));
    let negative = good.replacen(
        "prompt = \"Check 2\"",
        "prompt = \"Check 2\"\nweight = -1.5",
        1,
    );
    assert!(
        pack_error(&negative)
            .to_string()
            .contains("must be greater than 0")
    );

    let scale = good.replacen(
        "prompt = \"Check 3\"",
        "prompt = \"Check 3\"\nscale = \"ten\"",
        1,
    );
    let e = pack_error(&scale);
    assert!(
        e.mentions("domains[0].standards[0].criteria[2].scale"),
        "{e}"
    );
    assert!(e.to_string().contains("unknown scale `ten`"));
    let default_scale = good.replacen("default_scale = \"four\"", "default_scale = \"five\"", 1);
    assert!(pack_error(&default_scale).mentions("default_scale"));

    let empty = "id = \"p\"\nversion = \"1\"\ntitle = \"T\"\ndefault_scale = \"s\"\n[scales.s]\nmin = 1\nmax = 4\n\
                 [policy]\nnot_applicable = \"exclude\"\nnot_assessed = \"exclude\"\n\
                 [[domains]]\nid = \"safe\"\ntitle = \"Safe\"\nstandards = []\n";
    let e = pack_error(empty);
    assert!(e.mentions("domains[0].standards"), "{e}");
    assert!(e.to_string().contains("domain is empty"));

    let unknown = good.replacen(
        "prompt = \"Check 1\"",
        "prompt = \"Check 1\"\ncolour = \"red\"",
        1,
    );
    let e = pack_error(&unknown);
    assert!(
        e.mentions("domains[0].standards[0].criteria[0].colour"),
        "{e}"
    );
    assert!(e.to_string().contains("colour"), "{e}");

    let wrong_type = good.replacen("critical = false", "critical = \"no\"", 1);
    let e = pack_error(&wrong_type);
    assert!(
        e.mentions("domains[0].standards[0].criteria[1].critical"),
        "{e}"
    );

    let e = pack_error("id = \"p\"\nversion = ");
    assert!(!e.problems.is_empty());
    let e = pack_error("");
    assert!(e.to_string().contains("missing field"), "{e}");
}

#[test]
fn weights_and_scales_are_bounded() {
    let good = test_pack_toml();
    let heavy = good.replacen(
        "prompt = \"Check 2\"",
        "prompt = \"Check 2\"\nweight = 1000.5",
        1,
    );
    let e = pack_error(&heavy);
    assert!(
        e.mentions("domains[0].standards[0].criteria[1].weight"),
        "{e}"
    );
    assert!(e.to_string().contains("at most 1000"), "{e}");
    let wide = good.replacen("max = 4", "max = 40000", 1);
    assert!(pack_error(&wide).mentions("scales.four"));
}

#[test]
fn every_problem_is_reported_at_once() {
    let bad = test_pack_toml()
        .replacen(
            "prompt = \"Check 2\"",
            "prompt = \"Check 2\"\nweight = 0",
            1,
        )
        .replacen("default_scale = \"four\"", "default_scale = \"five\"", 1);
    let e = pack_error(&bad);
    assert!(e.problems.len() >= 2, "{e}");
}

fn scheme_error(toml: &str) -> accredit_shared::LoadError {
    RuleSet::from_toml(toml).expect_err("should be rejected")
}

#[test]
fn malformed_rule_sets_name_the_field() {
    let e = scheme_error(&SCHEME_TOML.replacen("cap = \"Silver\"", "cap = \"Platinum\"", 1));
    assert!(e.mentions("limiters.cqc[1].cap"), "{e}");
    assert!(e.to_string().contains("unknown tier `Platinum`"));

    let e = scheme_error(&SCHEME_TOML.replacen(
        "min_overall_percent = 85",
        "min_overall_percent = 185",
        1,
    ));
    assert!(e.mentions("tiers[0].min_overall_percent"), "{e}");

    let e = scheme_error(&SCHEME_TOML.replacen(
        "weekly_premium_pence = 1500",
        "weekly_premium_pence = 3000",
        1,
    ));
    assert!(e.mentions("tiers[2].weekly_premium_pence"), "{e}");

    let e = scheme_error(&SCHEME_TOML.replacen(
        "effective_from = 2026-04-01",
        "effective_from = \"April\"",
        1,
    ));
    assert!(e.mentions("effective_from"), "{e}");

    let e = scheme_error(&SCHEME_TOML.replacen("rescale = \"shift\"", "rescale = \"stretch\"", 1));
    assert!(e.mentions("scoring.rescale"), "{e}");

    let e = scheme_error(&SCHEME_TOML.replacen(
        "weekly_cap_pence = 4000",
        "weekly_cap_pence = 40.5",
        1,
    ));
    assert!(e.mentions("payments.weekly_cap_pence"), "{e}");

    let e = scheme_error(&SCHEME_TOML.replacen(
        "eligible_funding = [\"council_permanent\"]",
        "eligible_funding = [\"lottery\"]",
        1,
    ));
    assert!(e.mentions("payments.eligible_funding[0]"), "{e}");

    let e =
        scheme_error(&SCHEME_TOML.replacen("[early_warning]\ntier_drop_lookback_days = 90", "", 1));
    assert!(e.to_string().contains("early_warning"), "{e}");
}

#[test]
fn dates_may_be_quoted_or_bare() {
    let quoted = SCHEME_TOML.replacen(
        "effective_from = 2026-04-01",
        "effective_from = \"2026-04-01\"",
        1,
    );
    assert_eq!(
        RuleSet::from_toml(&quoted).unwrap().effective_from,
        d(2026, 4, 1)
    );
}

#[test]
fn rule_set_in_force_follows_effective_dates() {
    let mut later = scheme_from(d(2027, 4, 1));
    later.version = "2027.1".into();
    let book = RuleBook::new(vec![later, scheme()]).unwrap();
    assert!(book.in_force(d(2026, 3, 31)).is_none());
    assert_eq!(book.in_force(d(2026, 4, 1)).unwrap().version, "2026.1");
    assert_eq!(book.in_force(d(2027, 3, 31)).unwrap().version, "2026.1");
    assert_eq!(book.in_force(d(2027, 4, 1)).unwrap().version, "2027.1");

    let e = RuleBook::new(vec![scheme(), scheme()]).unwrap_err();
    assert!(e.to_string().contains("version `2026.1`"), "{e}");
}

#[test]
fn a_pack_version_cannot_be_loaded_twice() {
    let mut lib = library();
    assert!(lib.insert(test_pack()).is_err());
    assert!(lib.get("test-pack", "1").is_some());
    assert!(lib.get("test-pack", "2").is_none());
}

mod garbage {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]
        /// Arbitrary text and arbitrary edits of valid files never panic the loaders.
        #[test]
        fn loaders_never_panic(text in ".{0,400}", cut in 0usize..4000, insert in ".{0,20}") {
            let _ = FrameworkPack::from_toml(&text);
            let _ = RuleSet::from_toml(&text);
            let mut pack = test_pack_toml();
            let at = (cut % pack.len()..pack.len()).find(|i| pack.is_char_boundary(*i)).unwrap_or(0);
            pack.insert_str(at, &insert);
            let _ = FrameworkPack::from_toml(&pack);
            let mut s = SCHEME_TOML.to_owned();
            let at = (cut % s.len()..s.len()).find(|i| s.is_char_boundary(*i)).unwrap_or(0);
            s.insert_str(at, &insert);
            let _ = RuleSet::from_toml(&s);
        }
    }
}
