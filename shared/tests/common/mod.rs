//! Fixtures for the rules tests: a small pack whose percentages are easy to reason about, the
//! shipped rule set, and builders for records.
#![allow(dead_code)]

use accredit_shared::framework::{FrameworkPack, PackLibrary};
use accredit_shared::records::*;
use accredit_shared::scheme::{RuleBook, RuleSet};
use accredit_shared::{Determination, Engine};
use chrono::NaiveDate;
use std::collections::BTreeMap;
use uuid::Uuid;

pub const SCHEME_TOML: &str = include_str!("../../../assets/schemes/blackpool-style.toml");
pub const DEFAULT_PACK_TOML: &str =
    include_str!("../../../assets/frameworks/cqc-quality-statements.toml");
pub const DOMAINS: [&str; 5] = ["safe", "effective", "caring", "responsive", "well-led"];

pub fn d(y: i32, m: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, day).unwrap()
}

pub fn id(n: u128) -> Uuid {
    Uuid::from_u128(n)
}

/// Five domains of four criteria each, weight 1, scale 1–4. `<domain>.c1` in `safe` is critical.
pub fn test_pack_toml() -> String {
    let mut s = String::from(
        "id = \"test-pack\"\nversion = \"1\"\ntitle = \"Test\"\ndefault_scale = \"four\"\n\
         [scales.four]\nmin = 1\nmax = 4\n[policy]\nnot_applicable = \"exclude\"\nnot_assessed = \"exclude\"\n",
    );
    for dom in DOMAINS {
        s += &format!(
            "[[domains]]\nid = \"{dom}\"\ntitle = \"{dom}\"\n[[domains.standards]]\nid = \"{dom}.s\"\ntitle = \"S\"\n"
        );
        for c in 1..=4 {
            let critical = dom == "safe" && c == 1;
            s += &format!(
                "[[domains.standards.criteria]]\nid = \"{dom}.c{c}\"\nprompt = \"Check {c}\"\ncritical = {critical}\n"
            );
        }
    }
    s
}

/// Version 2 of the test pack, with a mapping from version 1: `safe.c2` renamed `safe.c2-renamed`,
/// `effective.c3` and `effective.c4` merged into `effective.c34`, `caring.c4` split into
/// `caring.c4a` and `caring.c4b`, `responsive.c4` removed, `well-led.c5` added; the rest kept.
pub fn test_pack_v2_toml() -> String {
    let mut s = String::from(
        "id = \"test-pack\"\nversion = \"2\"\ntitle = \"Test\"\ndefault_scale = \"four\"\n\
         [scales.four]\nmin = 1\nmax = 4\n[policy]\nnot_applicable = \"exclude\"\nnot_assessed = \"exclude\"\n",
    );
    for dom in DOMAINS {
        s += &format!(
            "[[domains]]\nid = \"{dom}\"\ntitle = \"{dom}\"\n[[domains.standards]]\nid = \"{dom}.s\"\ntitle = \"S\"\n"
        );
        let criteria: Vec<&str> = match dom {
            "safe" => vec!["c1", "c2-renamed", "c3", "c4"],
            "effective" => vec!["c1", "c2", "c34"],
            "caring" => vec!["c1", "c2", "c3", "c4a", "c4b"],
            "responsive" => vec!["c1", "c2", "c3"],
            _ => vec!["c1", "c2", "c3", "c4", "c5"],
        };
        for c in criteria {
            let critical = dom == "safe" && c == "c1";
            s += &format!(
                "[[domains.standards.criteria]]\nid = \"{dom}.{c}\"\nprompt = \"Check {c}\"\ncritical = {critical}\n"
            );
        }
    }
    s + "[migration]\nfrom_version = \"1\"\nremoved = [\"responsive.c4\"]\n\
         [[migration.map]]\nfrom = [\"safe.c2\"]\nto = [\"safe.c2-renamed\"]\n\
         [[migration.map]]\nfrom = [\"effective.c3\", \"effective.c4\"]\nto = [\"effective.c34\"]\n\
         [[migration.map]]\nfrom = [\"caring.c4\"]\nto = [\"caring.c4a\", \"caring.c4b\"]\n"
}

/// Version 2 of the test pack ([`test_pack_v2_toml`]).
pub fn test_pack_v2() -> FrameworkPack {
    FrameworkPack::from_toml(&test_pack_v2_toml()).unwrap()
}

pub fn test_pack() -> FrameworkPack {
    FrameworkPack::from_toml(&test_pack_toml()).unwrap()
}

pub fn library() -> PackLibrary {
    let mut lib = PackLibrary::new();
    lib.insert(test_pack()).unwrap();
    lib
}

pub fn scheme() -> RuleSet {
    RuleSet::from_toml(SCHEME_TOML).unwrap()
}

/// The shipped rule set, in force from long before any test date.
pub fn scheme_from(day: NaiveDate) -> RuleSet {
    let mut r = scheme();
    r.effective_from = day;
    r
}

pub fn book() -> RuleBook {
    RuleBook::new(vec![scheme_from(d(2000, 1, 1))]).unwrap()
}

/// The same four scores in every domain.
pub fn answers(pattern: [i32; 4]) -> BTreeMap<String, Answer> {
    let mut a = BTreeMap::new();
    for dom in DOMAINS {
        for (i, s) in pattern.iter().enumerate() {
            a.insert(format!("{dom}.c{}", i + 1), Answer::Score(*s));
        }
    }
    a
}

/// Scores reaching Gold (100%), Silver (83.3%), Bronze (66.7%) and none (33.3%) under "shift".
pub const GOLD: [i32; 4] = [4, 4, 4, 4];
pub const SILVER: [i32; 4] = [4, 4, 3, 3];
pub const BRONZE: [i32; 4] = [3, 3, 3, 3];
pub const NONE: [i32; 4] = [2, 2, 2, 2];

pub const LOC: u128 = 1;
pub const PROVIDER: u128 = 2;

pub fn location() -> Location {
    Location {
        id: id(LOC),
        provider_id: id(PROVIDER),
        cqc_location_id: "1-000000001".into(),
        name: "Seaview House".into(),
        service_type: ServiceType::Residential,
        registered_from: d(2010, 1, 1),
        registered_to: None,
    }
}

pub fn records() -> LocationRecords {
    LocationRecords {
        location: location(),
        visits: vec![],
        cqc_ratings: vec![],
        qualifications: vec![],
        gates: vec![],
        actions: vec![],
    }
}

pub fn visit(
    n: u128,
    visited_on: NaiveDate,
    effective_on: NaiveDate,
    pattern: [i32; 4],
) -> PublishedVisit {
    PublishedVisit {
        visit_id: id(1000 + n),
        revision: 1,
        location_id: id(LOC),
        visit_type: VisitType::Annual,
        visited_on,
        effective_on,
        pack_id: "test-pack".into(),
        pack_version: "1".into(),
        answers: answers(pattern),
    }
}

pub fn qualification(
    n: u128,
    kind: QualificationKind,
    issued_on: NaiveDate,
    expires_on: NaiveDate,
) -> Qualification {
    Qualification {
        id: id(2000 + n),
        provider_id: id(PROVIDER),
        kind,
        certificate_ref: format!("CERT-{n}"),
        issued_on,
        expires_on,
        last_surveillance_on: None,
        verified_on: Some(issued_on),
        verified_by: Some("commissioner".into()),
        covered_locations: vec![id(LOC)],
    }
}

pub fn gate(n: u128, kind: GateKind, opened_on: NaiveDate, closed_on: Option<NaiveDate>) -> Gate {
    Gate {
        id: id(3000 + n),
        location_id: id(LOC),
        kind,
        opened_on,
        closed_on,
        outcome: None,
    }
}

pub fn cqc(
    n: u128,
    overall: CqcRatingValue,
    inspected_on: NaiveDate,
    published_on: NaiveDate,
) -> CqcRating {
    CqcRating {
        id: id(4000 + n),
        location_id: id(LOC),
        inspected_on,
        published_on,
        overall,
        key_questions: BTreeMap::new(),
    }
}

pub fn action(n: u128, priority: Priority, due_on: NaiveDate) -> Action {
    Action {
        id: id(5000 + n),
        location_id: id(LOC),
        visit_id: id(1001),
        priority,
        due_on,
        completed_on: None,
    }
}

pub fn placement(n: u128, start: NaiveDate, end: Option<NaiveDate>) -> Placement {
    Placement {
        id: id(6000 + n),
        location_id: id(LOC),
        resident_ref: format!("R{n:04}"),
        funding: FundingType::CouncilPermanent,
        start,
        end,
        died_on: None,
        base_weekly_rate_pence: 70_000,
        hospital_stays: vec![],
    }
}

/// Determines with the test pack library.
pub fn determine(records: &LocationRecords, book: &RuleBook, day: NaiveDate) -> Determination {
    let lib = library();
    Engine::new(&lib, book).determine(records, day)
}

/// Ann, the monitor who creates the test visits.
pub fn ann() -> accredit_shared::visit::Author {
    accredit_shared::visit::Author {
        user_id: id(100),
        name: "Ann Monitor".into(),
    }
}

/// Bob, a second monitor on another device.
pub fn bob() -> accredit_shared::visit::Author {
    accredit_shared::visit::Author {
        user_id: id(101),
        name: "Bob Monitor".into(),
    }
}

/// The header of the test visit: an announced annual visit at the test location.
pub fn header() -> accredit_shared::visit::VisitHeader {
    use chrono::TimeZone;
    accredit_shared::visit::VisitHeader {
        visit_id: id(500),
        location_id: id(LOC),
        pack_id: "test-pack".into(),
        pack_version: "1".into(),
        visit_type: VisitType::Annual,
        announced: true,
        started_at: chrono::Utc.with_ymd_and_hms(2026, 11, 2, 9, 30, 0).unwrap(),
        plan_id: None,
    }
}
