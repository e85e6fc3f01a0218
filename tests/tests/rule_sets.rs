//! Rule sets over the API: a rule set reads back structured and as TOML that loads to the same
//! rules; checking a draft reports every problem at its path and whether adopting it would
//! succeed, changing nothing; adopting is refused for a past start date, a used version or a day
//! another rule set starts on; comparing lists every setting that differs.

use accredit_e2e::{Client, Server};
use accredit_shared::RuleSet;
use chrono::{Days, Utc};
use serde_json::Value;

const IN_FORCE: &str = include_str!("../../assets/schemes/blackpool-style.toml");

fn post_toml(c: &Client, path: &str, body: &str) -> accredit_e2e::Reply {
    c.send("POST", path, "text/plain", body.as_bytes().to_vec())
}

/// The rule set in force as a new version from a day `days` ahead, with Bronze at `bronze` pence.
fn draft(version: &str, days: u64, bronze: i64) -> String {
    let mut rs = RuleSet::from_toml(IN_FORCE).unwrap();
    rs.version = version.to_owned();
    rs.effective_from = accredit_shared::calendar::london_date(Utc::now())
        .checked_add_days(Days::new(days))
        .unwrap();
    rs.tiers[2].weekly_premium_pence = bronze;
    rs.to_toml()
}

fn paths(check: &Value) -> Vec<String> {
    check["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["path"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn checking_a_draft_reports_every_problem_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::demo(dir.path());
    let commissioner = Client::sign_in(&server.url, "commissioner");

    // The rule set in force, structured and as TOML that loads to the same rules.
    let r = commissioner.get("/api/v1/rule-sets/2026.1");
    assert_eq!(r.status, 200, "{}", r.text());
    let got = r.json();
    assert_eq!(got["status"], "in_force");
    assert_eq!(got["rule_set"]["tiers"][0]["weekly_premium_pence"], 2500);
    let source = got["source"].as_str().unwrap();
    assert_eq!(
        RuleSet::from_toml(source).unwrap(),
        RuleSet::from_toml(IN_FORCE).unwrap()
    );
    assert_eq!(commissioner.get("/api/v1/rule-sets/1999.9").status, 404);

    // Every problem, at its path.
    let bad = IN_FORCE
        .replace("weekly_premium_pence = 2500", "weekly_premium_pence = -1")
        .replace(
            "max_not_assessed_percent = 10",
            "max_not_assessed_percent = 120",
        );
    let r = post_toml(&commissioner, "/api/v1/rule-sets/check", &bad);
    assert_eq!(r.status, 200, "{}", r.text());
    let check = r.json();
    assert_eq!(check["valid"], false);
    assert_eq!(check["adoptable"], false);
    assert_eq!(
        paths(&check),
        [
            "scoring.max_not_assessed_percent",
            "tiers[0].weekly_premium_pence",
            // Silver now pays more than Gold.
            "tiers[1].weekly_premium_pence",
        ]
    );

    // The rule set in force loads, but adopting it again would fail twice over.
    let check = post_toml(&commissioner, "/api/v1/rule-sets/check", IN_FORCE).json();
    assert_eq!(check["valid"], true);
    assert_eq!(check["adoptable"], false);
    assert_eq!(paths(&check), ["effective_from", "version"]);
    assert!(
        check["problems"][0]["message"]
            .as_str()
            .unwrap()
            .contains("never retrospectively")
    );

    // A new version from a future day could be adopted; checking it adopts nothing.
    let lead = Client::sign_in(&server.url, "lead");
    let check = post_toml(&lead, "/api/v1/rule-sets/check", &draft("2027.1", 90, 1600)).json();
    assert_eq!(check["valid"], true);
    assert_eq!(check["adoptable"], true, "{check}");
    assert_eq!(paths(&check), Vec::<String>::new());
    let listed = commissioner.get("/api/v1/rule-sets").json();
    assert_eq!(listed["rule_sets"].as_array().unwrap().len(), 2);

    // Only leads and commissioners check drafts.
    for who in ["monitor1", "coastal"] {
        let c = Client::sign_in(&server.url, who);
        assert_eq!(
            post_toml(&c, "/api/v1/rule-sets/check", IN_FORCE).status,
            403
        );
    }
}

#[test]
fn adopting_is_refused_unless_it_would_succeed_and_compare_lists_what_differs() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::demo(dir.path());
    let commissioner = Client::sign_in(&server.url, "commissioner");

    // Never retrospective: today or earlier is refused.
    let r = post_toml(
        &commissioner,
        "/api/v1/rule-sets",
        &draft("2027.1", 0, 1600),
    );
    assert_eq!(r.status, 422, "{}", r.text());
    assert!(r.text().contains("never retrospectively"), "{}", r.text());
    // A version already used is a conflict.
    let r = post_toml(
        &commissioner,
        "/api/v1/rule-sets",
        &draft("2026.1", 90, 1600),
    );
    assert_eq!(r.status, 409, "{}", r.text());
    assert!(r.text().contains("version 2026.1 is already used"));
    // A new version from a future day is adopted...
    let r = post_toml(
        &commissioner,
        "/api/v1/rule-sets",
        &draft("2027.1", 90, 1600),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(
        commissioner.get("/api/v1/rule-sets/2027.1").json()["status"],
        "scheduled"
    );
    // ...and then no other may start that day.
    let r = post_toml(
        &commissioner,
        "/api/v1/rule-sets",
        &draft("2027.2", 90, 1700),
    );
    assert_eq!(r.status, 422, "{}", r.text());
    assert!(
        r.text().contains("rule set 2027.1 already starts on"),
        "{}",
        r.text()
    );

    // Every setting that differs, in words.
    let r = commissioner.get("/api/v1/rule-sets/compare?a=2026.1&b=2027.1");
    assert_eq!(r.status, 200, "{}", r.text());
    let cmp = r.json();
    let diffs = cmp["differences"].as_array().unwrap();
    let found: Vec<&str> = diffs.iter().map(|d| d["path"].as_str().unwrap()).collect();
    assert_eq!(
        found,
        ["version", "effective_from", "tiers[2].weekly_premium_pence"]
    );
    assert_eq!(diffs[2]["label"], "Tier 3 weekly premium (£)");
    assert_eq!(
        (diffs[2]["a"].as_str(), diffs[2]["b"].as_str()),
        (Some("£15.00"), Some("£16.00"))
    );
    let cmp = commissioner
        .get("/api/v1/rule-sets/compare?a=2024.1&b=2026.1")
        .json();
    // Version, start date, mode and the three tier amounts.
    assert_eq!(cmp["differences"].as_array().unwrap().len(), 6);
    assert_eq!(
        commissioner
            .get("/api/v1/rule-sets/compare?a=2026.1&b=nothing")
            .status,
        404
    );
    assert_eq!(
        commissioner
            .get("/api/v1/rule-sets/compare?a=2026.1")
            .status,
        400
    );
    let monitor = Client::sign_in(&server.url, "monitor1");
    assert_eq!(
        monitor
            .get("/api/v1/rule-sets/compare?a=2024.1&b=2026.1")
            .status,
        403
    );
}
