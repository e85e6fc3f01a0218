//! Appeals and records retention end to end, against the real server and the real binary's
//! `retention` command, with a schedule of days instead of years (`ACCREDIT_RETENTION_RULES`):
//! a published visit past its retention is removed (its document answers 404 naming the rule,
//! its tombstone is listed, the audit log has the entry) while the tiers stay as they were; a
//! draft's photo blob goes with it; a visit with an open appeal is kept, and so is one behind a
//! payment period not yet issued, until that period is issued; a dry run changes nothing.
//! Appeals are lodged, decided and withdrawn through the API with their access rules. Stored
//! determinations and issued payment runs go after their own periods, never the latest, and no
//! tier changes.

use std::path::Path;
use std::process::{Command, Output};

use accredit_e2e::{Client, Server, server_binary};
use accredit_shared::calendar::add_days;
use accredit_shared::sync::Replica;
use accredit_shared::visit::VisitDoc;
use chrono::{Datelike, NaiveDate};
use serde_json::{Value, json};

const RULES: &str = r#"
[[rules]]
version = "test.1"
effective_from = "2000-01-01"
visit_records = { days = 30 }
unpublished_visits = { days = 1 }
determinations = { years = 7 }
payment_runs = { years = 10 }
"#;

fn retention(data: &Path, rules: &Path, today: NaiveDate, dry_run: bool) -> Output {
    let mut cmd = Command::new(server_binary("debug"));
    cmd.args(["retention", "--data"])
        .arg(data)
        .args(["--today", &today.to_string()])
        .env("ACCREDIT_ASSETS", accredit_e2e::workspace().join("assets"))
        .env("ACCREDIT_RETENTION_RULES", rules)
        .env("RUST_BACKTRACE", "0");
    if dry_run {
        cmd.arg("--dry-run");
    }
    let out = cmd.output().expect("running accredit-server retention");
    assert!(
        out.status.success(),
        "retention failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// The published visits at a location, oldest publication first.
fn published(c: &Client, location: uuid::Uuid) -> Vec<Value> {
    let mut v: Vec<Value> = c.get(&format!("/api/v1/visits?location={location}")).json()["visits"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .map(|v| v["visit"].clone())
        .filter(|v| v["status"] == "published")
        .collect();
    v.sort_by_key(|v| v["published_on"].as_str().unwrap_or_default().to_owned());
    v
}

fn ids(list: &Value) -> Vec<String> {
    list.as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|i| i["visit_id"].as_str().unwrap_or_default().to_owned())
        .collect()
}

fn reason_for(view: &Value, visit: &str) -> String {
    view["kept"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .find(|i| i["visit_id"] == visit)
        .and_then(|i| i["kept_because"].as_str().map(str::to_owned))
        .unwrap_or_default()
}

/// `period` of a month label before `day`'s month.
fn previous_month(day: NaiveDate) -> String {
    let n = day.year() * 12 + day.month0() as i32 - 1;
    format!("{:04}-{:02}", n.div_euclid(12), n.rem_euclid(12) + 1)
}

#[test]
fn expired_visits_are_removed_unless_an_appeal_or_an_unissued_payment_needs_them() {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("retention.toml");
    std::fs::write(&rules, RULES).unwrap();
    let server = Server::demo_with_env(
        dir.path(),
        &[("ACCREDIT_RETENTION_RULES", rules.to_str().unwrap())],
    );
    let url = server.url.as_str();
    let commissioner = Client::sign_in(url, "commissioner");
    let lead = Client::sign_in(url, "lead");
    let coastal = Client::sign_in(url, "coastal");
    let mo = Client::sign_in(url, "monitor1");
    let seaview = commissioner.location_id("Seaview House");
    let visits = published(&commissioner, seaview);
    assert_eq!(visits.len(), 3, "{visits:?}");
    let oldest = visits[0]["id"].as_str().unwrap().to_owned();
    let middle = visits[1]["id"].as_str().unwrap().to_owned();
    let latest = visits[2]["id"].as_str().unwrap().to_owned();

    // Only commissioners see the schedule.
    assert_eq!(lead.get("/api/v1/retention").status, 403);
    assert_eq!(coastal.get("/api/v1/retention").status, 403);
    let view = commissioner.get("/api/v1/retention").json();
    assert_eq!(view["rule"]["version"], "test.1", "{view}");
    // Nothing has been issued yet: payment lines of every month since the first publication
    // rest on these visits, the oldest included (the month the middle one replaced it).
    for kept in [&oldest, &middle, &latest] {
        assert!(
            reason_for(&view, kept).contains("not yet issued"),
            "{kept}: {view}"
        );
    }
    assert!(ids(&view["due"]).is_empty(), "{view}");
    // Issuing the month the middle visit was published closes it and every month before it
    // (months are issued in order), so the oldest visit is no longer behind any payment.
    let replaced_in = &visits[1]["published_on"].as_str().unwrap()[..7];
    let r = commissioner.post(
        &format!("/api/v1/payments/issue?period={replaced_in}"),
        json!({}),
    );
    assert!(r.status == 200 || r.status == 201, "{}", r.text());
    let first_issued = commissioner
        .get(&format!("/api/v1/payments?period={replaced_in}"))
        .json();
    let view = commissioner.get("/api/v1/retention").json();
    assert!(ids(&view["due"]).contains(&oldest), "{view}");
    assert!(
        reason_for(&view, &middle).contains("not yet issued"),
        "{view}"
    );

    // A draft at Seaview with a photo only it refers to.
    let pack = accredit_e2e::default_pack();
    let header = accredit_e2e::annual_visit(seaview, &pack);
    let draft = header.visit_id.to_string();
    let mut replica = Replica::new(mo.author());
    replica.insert(
        header.visit_id,
        VisitDoc::create(&header, &pack, mo.author()).unwrap(),
        None,
    );
    let bytes: Vec<u8> = (0..20_000u32).map(|i| (i * 11 % 251) as u8).collect();
    let hash = mo.add_uploaded_photo(replica.doc_mut(&header.visit_id).unwrap(), &bytes, 100, 50);
    mo.sync(&mut replica).unwrap();
    assert!(replica.unacknowledged().is_empty());

    // Appeals: the provider appeals against its own oldest published visit.
    let fylde = Client::sign_in(url, "fylde");
    let refused = fylde.post(
        "/api/v1/appeals",
        json!({"visit_id": oldest, "grounds": "Not ours to appeal"}),
    );
    assert_eq!(refused.status, 404, "{}", refused.text());
    let refused = mo.post(
        "/api/v1/appeals",
        json!({"visit_id": oldest, "grounds": "Monitors do not appeal"}),
    );
    assert_eq!(refused.status, 403, "{}", refused.text());
    let empty = coastal.post(
        "/api/v1/appeals",
        json!({"visit_id": oldest, "grounds": "  "}),
    );
    assert_eq!(empty.status, 422, "{}", empty.text());
    let appeal = coastal.post(
        "/api/v1/appeals",
        json!({"visit_id": oldest, "grounds": "The dining room was scored on the wrong day"}),
    );
    assert_eq!(appeal.status, 201, "{}", appeal.text());
    let appeal = appeal.json();
    assert_eq!(appeal["status"], "open");
    let appeal_id = appeal["id"].as_str().unwrap().to_owned();
    let twice = coastal.post(
        "/api/v1/appeals",
        json!({"visit_id": oldest, "grounds": "Again"}),
    );
    assert_eq!(twice.status, 409, "{}", twice.text());
    assert_eq!(
        fylde.get(&format!("/api/v1/appeals/{appeal_id}")).status,
        404
    );
    assert!(
        fylde.get("/api/v1/appeals").json()["appeals"]
            .as_array()
            .is_some_and(|a| a.is_empty())
    );
    // Nobody but the appellant withdraws; only leads and commissioners decide.
    let r = lead.post(&format!("/api/v1/appeals/{appeal_id}/withdraw"), json!({}));
    assert_eq!(r.status, 403, "{}", r.text());
    let r = coastal.post(
        &format!("/api/v1/appeals/{appeal_id}/decision"),
        json!({"outcome": "upheld", "reason": "We agree with ourselves"}),
    );
    assert_eq!(r.status, 403, "{}", r.text());

    // A second appeal, on the latest visit, decided by the lead.
    let second = coastal
        .post(
            "/api/v1/appeals",
            json!({"visit_id": latest, "grounds": "The score for activities ignores the new programme"}),
        )
        .json();
    let second_id = second["id"].as_str().unwrap().to_owned();
    let r = lead.post(
        &format!("/api/v1/appeals/{second_id}/decision"),
        json!({"outcome": "maybe", "reason": "x"}),
    );
    assert_eq!(r.status, 400, "{}", r.text());
    let r = lead.post(
        &format!("/api/v1/appeals/{second_id}/decision"),
        json!({"outcome": "dismissed", "reason": ""}),
    );
    assert_eq!(r.status, 422, "{}", r.text());
    let r = lead.post(
        &format!("/api/v1/appeals/{second_id}/decision"),
        json!({"outcome": "dismissed", "reason": "The programme started after the visit"}),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["status"], "dismissed");
    let r = coastal.post(&format!("/api/v1/appeals/{second_id}/withdraw"), json!({}));
    assert_eq!(
        r.status,
        409,
        "a decided appeal cannot be withdrawn: {}",
        r.text()
    );

    let view = commissioner.get("/api/v1/retention").json();
    assert!(reason_for(&view, &oldest).contains("open appeal"), "{view}");

    // A dry run, two days on (the draft has then expired too), changes nothing.
    let today: NaiveDate = view["today"].as_str().unwrap().parse().unwrap();
    let later = add_days(today, 2);
    let audit_before = commissioner.get("/api/v1/audit?limit=1000").json();
    let dry = retention(&server.data, &rules, later, true);
    let said = String::from_utf8_lossy(&dry.stdout).to_string();
    assert!(said.contains(&format!("would remove {draft}")), "{said}");
    assert!(said.contains("nothing was changed"), "{said}");
    assert!(!said.contains(&format!("would remove {oldest}")), "{said}");
    assert_eq!(
        commissioner.get("/api/v1/audit?limit=1000").json(),
        audit_before
    );
    assert_eq!(
        commissioner.get(&format!("/api/v1/visits/{oldest}")).status,
        200
    );
    assert_eq!(
        commissioner.get(&format!("/api/v1/blobs/{hash}")).status,
        200
    );

    // The tier on a day the middle visit decided, before anything is removed.
    let tier_then = |c: &Client| {
        let on = add_days(today, -300);
        let t = c
            .get(&format!("/api/v1/locations/{seaview}/tier?on={on}"))
            .json();
        (
            t["determination"]["tier"].clone(),
            t["determination"]["rate"].clone(),
            t["determination"]["visit"]["visit_id"].clone(),
        )
    };
    let before = tier_then(&commissioner);
    assert_eq!(before.2, json!(middle), "{before:?}");

    // The appeal withdrawn, the job runs: the oldest visit and the draft go.
    let r = coastal.post(&format!("/api/v1/appeals/{appeal_id}/withdraw"), json!({}));
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["status"], "withdrawn");
    let ran = retention(&server.data, &rules, later, false);
    let said = String::from_utf8_lossy(&ran.stdout).to_string();
    assert!(said.contains(&format!("removed {oldest}")), "{said}");
    assert!(
        said.contains(&format!("removed {draft} (1 blob(s))")),
        "{said}"
    );
    for gone in [&oldest, &draft] {
        let r = commissioner.get(&format!("/api/v1/visits/{gone}"));
        assert_eq!(r.status, 404, "{}", r.text());
        assert!(
            r.text().contains("removed under retention rule test.1"),
            "{}",
            r.text()
        );
    }
    // The portal's pages for it say so too, to those who may see the location.
    let portal = accredit_e2e::Portal::sign_in(url, "coastal");
    for path in [
        format!("/visits/{oldest}"),
        format!("/visits/{oldest}/history"),
    ] {
        let page = portal.get(&path);
        assert_eq!(page.status, 404, "{path}");
        assert!(
            page.text().contains("This visit&#x27;s record was removed")
                || page.text().contains("This visit's record was removed"),
            "{path}: {}",
            page.text()
        );
        assert!(page.text().contains("retention rule test.1"), "{path}");
    }
    // Another provider is not told that the visit existed.
    let r = fylde.get(&format!("/api/v1/visits/{oldest}"));
    assert_eq!(r.status, 404);
    assert!(!r.text().contains("retention"), "{}", r.text());
    assert_eq!(
        commissioner.get(&format!("/api/v1/blobs/{hash}")).status,
        404
    );
    assert_eq!(mo.get(&format!("/api/v1/blobs/{hash}")).status, 404);
    // The middle and latest visits stay: payment periods not yet issued rest on them.
    for kept in [&middle, &latest] {
        assert_eq!(
            commissioner.get(&format!("/api/v1/visits/{kept}")).status,
            200
        );
    }
    let audit = commissioner
        .get(&format!("/api/v1/audit?location={seaview}&limit=1000"))
        .json();
    let removals: Vec<&Value> = audit
        .as_array()
        .or_else(|| audit["entries"].as_array())
        .map(|a| {
            a.iter()
                .filter(|e| e["action"] == "retention.removed")
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(removals.len(), 2, "{audit}");
    assert!(
        removals
            .iter()
            .all(|e| e["details"]["rule_version"] == "test.1")
    );
    let view = commissioner.get("/api/v1/retention").json();
    let removed = ids(&view["removed"]);
    assert!(
        removed.contains(&oldest) && removed.contains(&draft),
        "{view}"
    );
    // A device that still holds the removed draft cannot send it back.
    replica
        .doc_mut(&header.visit_id)
        .unwrap()
        .set_notes(&pack, &pack.criteria().next().unwrap().id, "still here")
        .unwrap();
    let _ = mo.sync(&mut replica);
    assert_eq!(
        commissioner.get(&format!("/api/v1/visits/{draft}")).status,
        404
    );

    // Issuing the previous month closes every earlier period: the middle visit may then go,
    // and the tier it decided is unchanged, read from the scores kept with its tombstone.
    let period = previous_month(later);
    let r = commissioner.post(
        &format!("/api/v1/payments/issue?period={period}"),
        json!({}),
    );
    assert!(r.status == 200 || r.status == 201, "{}", r.text());
    let issued_before = commissioner
        .get(&format!("/api/v1/payments?period={period}"))
        .json();
    let ran = retention(&server.data, &rules, later, false);
    let said = String::from_utf8_lossy(&ran.stdout).to_string();
    assert!(said.contains(&format!("removed {middle}")), "{said}");
    assert!(!said.contains(&format!("removed {latest}")), "{said}");
    assert_eq!(
        commissioner.get(&format!("/api/v1/visits/{middle}")).status,
        404
    );
    assert_eq!(
        commissioner.get(&format!("/api/v1/visits/{latest}")).status,
        200
    );
    assert_eq!(tier_then(&commissioner), before);
    let issued_after = commissioner
        .get(&format!("/api/v1/payments?period={period}"))
        .json();
    assert_eq!(issued_after["adjustments"], json!([]), "{issued_after}");
    // The month the oldest visit was paid under, issued before it was removed, is unchanged too.
    let first_after = commissioner
        .get(&format!("/api/v1/payments?period={replaced_in}"))
        .json();
    assert_eq!(first_after["adjustments"], json!([]), "{first_after}");
    assert_eq!(first_after["lines"], first_issued["lines"]);
    assert_eq!(issued_after["total_pence"], issued_before["total_pence"]);
}

#[test]
fn old_determinations_and_payment_runs_go_but_never_the_latest() {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("retention.toml");
    std::fs::write(
        &rules,
        r#"
[[rules]]
version = "short.1"
effective_from = "2000-01-01"
visit_records = { days = 1 }
unpublished_visits = { days = 1 }
determinations = { days = 1 }
payment_runs = { days = 1 }
"#,
    )
    .unwrap();
    let server = Server::demo_with_env(
        dir.path(),
        &[("ACCREDIT_RETENTION_RULES", rules.to_str().unwrap())],
    );
    let url = server.url.as_str();
    let commissioner = Client::sign_in(url, "commissioner");
    let seaview = commissioner.location_id("Seaview House");
    let today: NaiveDate = commissioner.get("/api/v1/retention").json()["today"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    // A second determination at Seaview: a gate opened today re-determines it.
    let r = commissioner.post(
        &format!("/api/v1/locations/{seaview}/gates"),
        json!({"kind": "s42_enquiry", "opened_on": today.to_string()}),
    );
    assert!(r.status == 200 || r.status == 201, "{}", r.text());
    let stored = |c: &Client| {
        c.get(&format!("/api/v1/locations/{seaview}/determinations"))
            .json()["determinations"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    };
    let before = stored(&commissioner);
    assert!(before.len() >= 2, "{before:?}");
    // Two months issued: the older run may go, the latest stays.
    let older = previous_month(add_days(today, -40));
    let newer = previous_month(today);
    for period in [&older, &newer] {
        let r = commissioner.post(
            &format!("/api/v1/payments/issue?period={period}"),
            json!({}),
        );
        assert!(r.status == 200 || r.status == 201, "{}", r.text());
    }
    let tiers = |c: &Client| {
        c.get("/api/v1/locations").json()["locations"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .iter()
            .map(|l| {
                (
                    l["id"].clone(),
                    l["tier"].clone(),
                    l["weekly_premium_pence"].clone(),
                )
            })
            .collect::<Vec<_>>()
    };
    let tiers_before = tiers(&commissioner);

    let later = add_days(today, 2);
    let dry = retention(&server.data, &rules, later, true);
    let said = String::from_utf8_lossy(&dry.stdout).to_string();
    assert!(
        said.contains("payment run(s) due; nothing was changed"),
        "{said}"
    );
    assert_eq!(stored(&commissioner).len(), before.len());
    let ran = retention(&server.data, &rules, later, false);
    let said = String::from_utf8_lossy(&ran.stdout).to_string();
    assert!(said.contains("1 payment run(s) removed"), "{said}");
    let after = stored(&commissioner);
    assert_eq!(after.len(), 1, "only the latest is kept: {after:?}");
    assert_eq!(
        after[0]["seq"], before[0]["seq"],
        "the latest is the one kept"
    );
    assert!(
        !commissioner
            .get(&format!("/api/v1/payments?period={older}"))
            .json()["issued"]
            .as_bool()
            .unwrap_or(true)
    );
    assert!(
        commissioner
            .get(&format!("/api/v1/payments?period={newer}"))
            .json()["issued"]
            .as_bool()
            .unwrap_or(false)
    );
    assert_eq!(tiers(&commissioner), tiers_before);
    let audit = commissioner.get("/api/v1/audit?limit=1000").json();
    let subjects: Vec<String> = audit["entries"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .filter(|e| e["action"] == "retention.removed")
        .map(|e| e["subject_type"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert!(subjects.contains(&"determinations".to_owned()), "{audit}");
    assert!(subjects.contains(&"payment_run".to_owned()), "{audit}");
}

#[test]
fn a_commissioner_adds_a_version_of_the_schedule_for_a_later_day() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::demo(dir.path());
    let url = server.url.as_str();
    let commissioner = Client::sign_in(url, "commissioner");
    let lead = Client::sign_in(url, "lead");
    let view = commissioner.get("/api/v1/retention").json();
    assert_eq!(
        view["rule"]["version"], "2026.1",
        "the shipped version: {view}"
    );
    let today: NaiveDate = view["today"].as_str().unwrap().parse().unwrap();
    let tomorrow = add_days(today, 1);
    let version = |name: &str, from: NaiveDate, visits: &str| {
        format!(
            "[[rules]]\nversion = \"{name}\"\neffective_from = \"{from}\"\nvisit_records = {visits}\nunpublished_visits = {{ years = 2 }}\ndeterminations = {{ years = 7 }}\npayment_runs = {{ years = 10 }}\n"
        )
    };
    let good = version("2027.1", tomorrow, "{ years = 5 }");
    let add = |c: &Client, text: &str| c.post("/api/v1/retention/rules", json!({ "toml": text }));

    assert_eq!(add(&lead, &good).status, 403);
    for (text, names) in [
        (version("2027.1", tomorrow, "{}"), "rules[0].visit_records"),
        (
            version("2027.1", tomorrow, "{ years = 8 }"),
            "rules[0].determinations",
        ),
        (
            version("2027.1", today, "{ years = 5 }"),
            "rules[0].effective_from",
        ),
        (version("2027.1", tomorrow, "{ yeers = 5 }"), "yeers"),
        (
            format!(
                "{good}\n{}",
                version("2027.2", add_days(today, 9), "{ years = 5 }")
            ),
            "one [[rules]] table",
        ),
    ] {
        let r = add(&commissioner, &text);
        assert_eq!(r.status, 422, "{text}: {}", r.text());
        assert!(r.text().contains(names), "{names}: {}", r.text());
    }
    let r = add(&commissioner, &good);
    assert_eq!(r.status, 201, "{}", r.text());
    let r = add(&commissioner, &good);
    assert_eq!(r.status, 422, "the same version twice: {}", r.text());
    assert!(r.text().contains("appears twice"), "{}", r.text());

    let view = commissioner.get("/api/v1/retention").json();
    assert_eq!(view["rules"].as_array().map(Vec::len), Some(2), "{view}");
    assert_eq!(
        view["rule"]["version"], "2026.1",
        "not in force before its day"
    );
    let audit = commissioner.get("/api/v1/audit?limit=50").json();
    assert!(
        audit["entries"].as_array().is_some_and(|a| a
            .iter()
            .any(|e| e["action"] == "retention_rule.added" && e["subject_id"] == "2027.1")),
        "{audit}"
    );
    // The job applies it from its day on.
    let rules_file = accredit_e2e::workspace().join("assets/retention.toml");
    let out = retention(&server.data, &rules_file, tomorrow, true);
    let said = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        said.contains(&format!("retention rule 2027.1 (from {tomorrow})")),
        "{said}"
    );
}
