//! Withhold and release through the JSON API on the real server: a visit scoring exactly 75%
//! (every criterion 3 of 4, scored by ratio) is published; future rule sets put release bands at
//! and just above that score; a monthly contract's periods are then read from each month's
//! payment schedule, in exact pence: a band at its edge, a thousandth of a percent above it, the
//! top band, a safeguarding gate during a period (on hold, then released when not
//! substantiated), a suspending gate, no visit in the period, and a month when the scheme runs
//! premiums only. Contract validation and access are checked on the same routes.

use accredit_e2e::{Client, Server};
use accredit_shared::records::{Answer, VisitType};
use accredit_shared::sync::Replica;
use accredit_shared::visit::{Author, VisitDoc, VisitHeader};
use chrono::{Datelike, NaiveDate, Utc};
use serde_json::{Value, json};
use uuid::Uuid;

fn id_of(list: &Value, key: &str, name: &str) -> String {
    list[key]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["name"] == name)
        .unwrap_or_else(|| panic!("{name} not in {list}"))["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// Publishes a visit at `location` with every criterion scored `score`, through sync, sign-off,
/// sharing, the provider's confirmation and publication.
fn publish_visit(monitor: &Client, lead: &Client, provider: &Client, location: Uuid, score: i32) {
    let pack = accredit_e2e::default_pack();
    let visit_id = Uuid::new_v4();
    let header = VisitHeader {
        visit_id,
        location_id: location,
        pack_id: pack.id.clone(),
        pack_version: pack.version.clone(),
        visit_type: VisitType::Annual,
        announced: true,
        started_at: Utc::now(),
        plan_id: None,
    };
    let author = Author {
        user_id: monitor.user_id(),
        name: monitor.name(),
    };
    let mut replica = Replica::new(author.clone());
    replica.insert(
        visit_id,
        VisitDoc::create(&header, &pack, author).unwrap(),
        None,
    );
    {
        let doc = replica.doc_mut(&visit_id).unwrap();
        for c in pack.criteria() {
            doc.set_answer(&pack, &c.id, Some(Answer::Score(score)))
                .unwrap();
        }
        doc.sign_off(Utc::now()).unwrap();
    }
    monitor.sync(&mut replica).unwrap();
    for (who, step) in [(lead, "share"), (provider, "confirm"), (lead, "publish")] {
        let r = who.post(&format!("/api/v1/visits/{visit_id}/{step}"), json!({}));
        assert_eq!(r.status, 200, "{step}: {}", r.text());
    }
}

/// The first day of the month `n` months after this one.
fn month_start(n: i32) -> NaiveDate {
    let today = Utc::now().date_naive();
    let m = today.year() * 12 + today.month0() as i32 + n;
    NaiveDate::from_ymd_opt(m.div_euclid(12), m.rem_euclid(12) as u32 + 1, 1).unwrap()
}

fn month_label(n: i32) -> String {
    month_start(n).format("%Y-%m").to_string()
}

/// The shipped rule set, rescheduled and changed: ratio scoring, the given mode, score source
/// and release bands (`(min score, release)` in per cent, as TOML numbers).
fn rule_set(
    version: &str,
    from: NaiveDate,
    mode: &str,
    score_from: &str,
    bands: &[(&str, &str)],
) -> String {
    let text = std::fs::read_to_string(
        accredit_e2e::workspace().join("assets/schemes/blackpool-style.toml"),
    )
    .unwrap();
    let head = text.split("[[withhold_release.bands]]").next().unwrap();
    let tail = &text[text.find("[early_warning]").unwrap()..];
    let mut bands_text = String::new();
    for (min, release) in bands {
        bands_text.push_str(&format!(
            "[[withhold_release.bands]]\nmin_score_percent = {min}\nrelease_percent = {release}\n\n"
        ));
    }
    let out = format!("{head}{bands_text}{tail}")
        .replace("version = \"2026.1\"", &format!("version = \"{version}\""))
        .replace(
            "effective_from = 2026-04-01",
            &format!("effective_from = {from}"),
        )
        .replace("rescale = \"shift\"", "rescale = \"ratio\"")
        .replace("mode = \"both\"", &format!("mode = \"{mode}\""))
        .replace(
            "score_from = \"latest_visit_in_period\"",
            &format!("score_from = \"{score_from}\""),
        );
    assert!(out.contains(&format!("version = \"{version}\"")), "{out}");
    out
}

fn adopt(commissioner: &Client, toml: String) {
    let r = commissioner.send(
        "POST",
        "/api/v1/rule-sets",
        "application/toml",
        toml.into_bytes(),
    );
    assert_eq!(r.status, 201, "{}", r.text());
}

/// The contract's line in a month's schedule.
fn release(c: &Client, month: i32, reference: &str) -> Value {
    let v = c
        .get(&format!("/api/v1/payments?period={}", month_label(month)))
        .json();
    v["releases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["reference"] == reference)
        .unwrap_or_else(|| panic!("no line for {reference} in {}", v["releases"]))
        .clone()
}

/// (at risk, released, on hold, withheld) in pence.
fn amounts(l: &Value) -> (i64, i64, i64, i64) {
    let n = |k: &str| l[k].as_i64().unwrap_or_else(|| panic!("{k} in {l}"));
    (n("at_risk"), n("released"), n("on_hold"), n("withheld"))
}

#[test]
fn withhold_and_release_is_exact_at_band_edges_gates_and_gaps() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::demo(dir.path());
    let commissioner = Client::sign_in(&server.url, "commissioner");
    let lead = Client::sign_in(&server.url, "lead");
    let monitor = Client::sign_in(&server.url, "monitor1");
    let coastal = Client::sign_in(&server.url, "coastal");
    let fylde = Client::sign_in(&server.url, "fylde");
    let locations = commissioner.get("/api/v1/locations").json();
    let promenade = id_of(&locations, "locations", "Promenade Court");
    let promenade_id = Uuid::parse_str(&promenade).unwrap();
    let provider_id = locations["locations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["id"] == promenade.as_str())
        .unwrap()["provider_id"]
        .as_str()
        .unwrap()
        .to_owned();

    publish_visit(&monitor, &lead, &coastal, promenade_id, 3);

    adopt(
        &commissioner,
        rule_set(
            "T1",
            month_start(2),
            "both",
            "latest_visit",
            &[("80", "100"), ("75", "50")],
        ),
    );
    adopt(
        &commissioner,
        rule_set(
            "T2",
            month_start(3),
            "both",
            "latest_visit",
            &[("75.001", "50")],
        ),
    );
    adopt(
        &commissioner,
        rule_set(
            "T3",
            month_start(4),
            "withhold_release",
            "latest_visit",
            &[("75", "100"), ("50", "50")],
        ),
    );
    adopt(
        &commissioner,
        rule_set(
            "T4",
            month_start(7),
            "both",
            "latest_visit_in_period",
            &[("75", "100")],
        ),
    );
    adopt(
        &commissioner,
        rule_set(
            "T5",
            month_start(8),
            "premium",
            "latest_visit",
            &[("75", "100")],
        ),
    );

    // A monthly contract from two months ahead, seven periods: £12,345.67 each.
    let ends = month_start(9).pred_opt().unwrap();
    let body = json!({
        "reference": "WR-TEST-1",
        "provider_id": provider_id,
        "location_id": promenade,
        "starts_on": month_start(2).to_string(),
        "ends_on": ends.to_string(),
        "period_months": 1,
        "value_per_period_pence": 1_234_567,
    });
    let added = commissioner.post("/api/v1/contracts", body.clone());
    assert_eq!(added.status, 201, "{}", added.text());
    let contract = added.json();
    assert_eq!(contract["periods"].as_array().unwrap().len(), 7);
    assert!(
        contract["periods"][0]["line"].is_null(),
        "a period that has not ended has no outcome yet"
    );

    // 5% of £12,345.67 = £617.2835 → £617.28 at risk. The score is exactly 75%: the band from
    // 75% releases half of the exact amount, £308.64175 → £308.64, and £308.64 is withheld.
    let l = release(&commissioner, 2, "WR-TEST-1");
    assert_eq!(
        l["score"]["overall_percent"],
        json!({"num": 75, "den": 1}),
        "{l}"
    );
    assert_eq!(amounts(&l), (61_728, 30_864, 0, 30_864), "{l}");
    assert_eq!(l["status"], "partly_released");
    assert_eq!(l["rule_set"]["version"], "T1");
    assert!(
        l["reason"].as_str().unwrap().contains("band from 75%"),
        "{l}"
    );

    // A band from 75.001%: the score is below every band.
    let l = release(&commissioner, 3, "WR-TEST-1");
    assert_eq!(amounts(&l), (61_728, 0, 0, 61_728), "{l}");
    assert_eq!(l["status"], "withheld");

    // The top band from exactly 75%: all released.
    let l = release(&commissioner, 4, "WR-TEST-1");
    assert_eq!(amounts(&l), (61_728, 61_728, 0, 0), "{l}");

    // A safeguarding enquiry opened during the fourth period: its release is held, and the
    // next period's too while it stays open.
    let opened = month_start(5).with_day(10).unwrap();
    let gate = commissioner.post(
        &format!("/api/v1/locations/{promenade}/gates"),
        json!({ "kind": "s42_enquiry", "opened_on": opened.to_string() }),
    );
    assert_eq!(gate.status, 201, "{}", gate.text());
    let gate_id = gate.json()["id"].as_str().unwrap().to_owned();
    let l = release(&commissioner, 5, "WR-TEST-1");
    assert_eq!(amounts(&l), (61_728, 0, 61_728, 0), "{l}");
    assert_eq!(l["status"], "on_hold");
    assert_eq!(l["gates"][0]["gate"]["gate_id"], gate_id.as_str());
    assert_eq!(amounts(&release(&commissioner, 6, "WR-TEST-1")).2, 61_728);
    // Closed as not substantiated within the period: released, the gate still listed.
    let closed = commissioner.post(
        &format!("/api/v1/gates/{gate_id}/close"),
        json!({ "closed_on": month_start(5).with_day(20).unwrap().to_string(), "outcome": "not_substantiated" }),
    );
    assert_eq!(closed.status, 200, "{}", closed.text());
    let l = release(&commissioner, 5, "WR-TEST-1");
    assert_eq!(amounts(&l), (61_728, 61_728, 0, 0), "{l}");
    assert_eq!(l["gates"].as_array().unwrap().len(), 1);
    // A large-scale enquiry in the fifth period suspends its release.
    let large = commissioner.post(
        &format!("/api/v1/locations/{promenade}/gates"),
        json!({ "kind": "large_scale_enquiry", "opened_on": month_start(6).with_day(5).unwrap().to_string() }),
    );
    assert_eq!(large.status, 201, "{}", large.text());
    let l = release(&commissioner, 6, "WR-TEST-1");
    assert_eq!(amounts(&l), (61_728, 0, 0, 61_728), "{l}");
    assert!(l["reason"].as_str().unwrap().contains("suspends"), "{l}");
    // ...and every later period while it is open and for its sustainability period; the
    // sixth period also has no visit in it under T4's default score source.
    let l = release(&commissioner, 7, "WR-TEST-1");
    assert_eq!(amounts(&l), (61_728, 0, 0, 61_728), "{l}");
    assert!(
        l["reason"]
            .as_str()
            .unwrap()
            .contains("no score in the period"),
        "{l}"
    );
    // A month when the scheme pays premiums only: nothing is at risk.
    let l = release(&commissioner, 8, "WR-TEST-1");
    assert_eq!(amounts(&l), (0, 0, 0, 0), "{l}");
    assert_eq!(l["status"], "not_at_risk");
    // T3 runs withhold and release only: no premium lines that month.
    let month4 = commissioner
        .get(&format!("/api/v1/payments?period={}", month_label(4)))
        .json();
    assert_eq!(
        month4["lines"].as_array().unwrap().len(),
        0,
        "{}",
        month4["lines"]
    );
    assert!(
        !commissioner
            .get(&format!("/api/v1/payments?period={}", month_label(2)))
            .json()["lines"]
            .as_array()
            .unwrap()
            .is_empty()
    );

    // The CSV has the same release row.
    let csv = commissioner
        .get_accept(
            &format!("/api/v1/payments?period={}", month_label(2)),
            "text/csv",
        )
        .text();
    let row = csv
        .lines()
        .find(|r| r.starts_with("release,") && r.contains("WR-TEST-1"))
        .unwrap_or_else(|| panic!("{csv}"));
    assert!(row.contains(",30864,308.64,0,0.00,"), "{row}");

    // Validation: each refusal changes nothing and says what to fix.
    let refused = |b: Value, needle: &str| {
        let r = commissioner.post("/api/v1/contracts", b);
        assert_eq!(r.status, 422, "{}", r.text());
        assert!(r.text().contains(needle), "{needle}: {}", r.text());
    };
    refused(body.clone(), "Another contract has this reference");
    let mut b = body.clone();
    b["reference"] = json!("WR-TEST-2");
    b["ends_on"] = json!(month_start(3).with_day(15).unwrap().to_string());
    refused(b.clone(), "whole period");
    b["ends_on"] = json!(ends.to_string());
    b["withhold_percent"] = json!(100.5);
    refused(b.clone(), "at most 100%");
    b["withhold_percent"] = json!(2.0001);
    refused(b.clone(), "three decimals");
    b["withhold_percent"] = json!(null);
    b["value_per_period_pence"] = json!(0);
    refused(b.clone(), "more than £0");
    b["value_per_period_pence"] = json!(100);
    let stanley = id_of(&locations, "locations", "Stanley Park Lodge");
    b["location_id"] = json!(stanley);
    refused(b.clone(), "one of the provider's");
    b["location_id"] = json!(null);
    b["provider_id"] = json!(Uuid::new_v4());
    refused(b.clone(), "Choose a provider");
    let bad_date = commissioner.post(
        "/api/v1/contracts",
        json!({ "reference": "X", "provider_id": provider_id, "starts_on": "2026-02-30", "ends_on": "2026-03-31", "period_months": 1, "value_per_period_pence": 1 }),
    );
    assert!(matches!(bad_date.status, 400 | 422), "{}", bad_date.text());
    let list = commissioner.get("/api/v1/contracts").json();
    assert!(
        !list["contracts"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["reference"] == "WR-TEST-2")
    );

    // Editing: a new value changes the amounts; audited.
    let cid = contract["id"].as_str().unwrap();
    let mut edited = body.clone();
    edited["value_per_period_pence"] = json!(1_000_000);
    let r = commissioner.send(
        "PUT",
        &format!("/api/v1/contracts/{cid}"),
        "application/json",
        edited.to_string().into_bytes(),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        amounts(&release(&commissioner, 2, "WR-TEST-1")),
        (50_000, 25_000, 0, 25_000)
    );

    // Access: leads read, only commissioners write, providers see their own, monitors nothing.
    assert_eq!(lead.get(&format!("/api/v1/contracts/{cid}")).status, 200);
    assert_eq!(lead.post("/api/v1/contracts", body.clone()).status, 403);
    assert_eq!(coastal.get(&format!("/api/v1/contracts/{cid}")).status, 200);
    assert_eq!(fylde.get(&format!("/api/v1/contracts/{cid}")).status, 404);
    assert!(
        !fylde.get("/api/v1/contracts").json()["contracts"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["id"] == cid)
    );
    let fylde_pay = fylde
        .get(&format!("/api/v1/payments?period={}", month_label(2)))
        .json();
    assert!(
        !fylde_pay["releases"]
            .as_array()
            .unwrap()
            .iter()
            .any(|l| l["reference"] == "WR-TEST-1")
    );
    assert_eq!(monitor.get("/api/v1/contracts").status, 403);
}

#[test]
fn an_issued_month_keeps_its_contract_lines_and_shows_later_changes_as_adjustments() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::demo(dir.path());
    let commissioner = Client::sign_in(&server.url, "commissioner");
    let period = Utc::now().format("%Y-%m").to_string();
    let before = commissioner
        .get(&format!("/api/v1/payments?period={period}"))
        .json();
    let seaview = before["releases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["reference"] == "BPL-QAP-2026-001")
        .unwrap_or_else(|| panic!("{}", before["releases"]))
        .clone();
    assert_eq!(seaview["status"], "released", "{seaview}");

    // The Transparency Code list pays each provider its premiums plus its released contract
    // money: the sums over the schedule's lines and releases, by provider.
    let locations = commissioner.get("/api/v1/locations").json();
    let provider_of = |loc: &Value| -> String {
        locations["locations"]
            .as_array()
            .unwrap()
            .iter()
            .find(|l| &l["id"] == loc)
            .unwrap()["provider_id"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let mut expected: std::collections::BTreeMap<String, (i64, i64)> = Default::default();
    for l in before["lines"].as_array().unwrap() {
        expected
            .entry(provider_of(&l["location_id"]))
            .or_default()
            .0 += l["amount"].as_i64().unwrap();
    }
    for r in before["releases"].as_array().unwrap() {
        expected
            .entry(r["provider_id"].as_str().unwrap().to_owned())
            .or_default()
            .1 += r["released"].as_i64().unwrap();
    }
    let list = commissioner
        .get(&format!("/api/v1/transparency?period={period}&format=json"))
        .json();
    let rows = list["rows"].as_array().unwrap();
    let over: Vec<_> = expected
        .iter()
        .filter(|(_, (p, r))| p + r > 50_000)
        .collect();
    assert_eq!(rows.len(), over.len(), "{list}");
    assert!(
        over.iter().any(|(_, (_, r))| *r > 0),
        "the demo releases contract money this month: {expected:?}"
    );
    for (provider, (premium, released)) in over {
        let row = rows
            .iter()
            .find(|r| r["provider_id"] == provider.as_str())
            .unwrap_or_else(|| panic!("{provider} missing from {list}"));
        assert_eq!(row["premium_pence"].as_i64().unwrap(), *premium, "{row}");
        assert_eq!(row["released_pence"].as_i64().unwrap(), *released, "{row}");
        assert_eq!(
            row["amount_pence"].as_i64().unwrap(),
            premium + released,
            "{row}"
        );
    }

    let issued = commissioner.post(
        &format!("/api/v1/payments/issue?period={period}"),
        json!({}),
    );
    assert_eq!(issued.status, 200, "{}", issued.text());
    // A safeguarding enquiry at Seaview House today puts the period's release on hold: the
    // issued line stays, and an adjustment takes the release back.
    let loc = id_of(&locations, "locations", "Seaview House");
    let today = Utc::now().date_naive();
    assert_eq!(
        commissioner
            .post(
                &format!("/api/v1/locations/{loc}/gates"),
                json!({ "kind": "s42_enquiry", "opened_on": today.to_string() })
            )
            .status,
        201
    );
    let after = commissioner
        .get(&format!("/api/v1/payments?period={period}"))
        .json();
    let kept = after["releases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["reference"] == "BPL-QAP-2026-001")
        .unwrap()
        .clone();
    assert_eq!(kept, seaview, "the issued line is never rewritten");
    let adj = after["release_adjustments"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["reference"] == "BPL-QAP-2026-001")
        .unwrap_or_else(|| panic!("{}", after["release_adjustments"]))
        .clone();
    let released = seaview["released"].as_i64().unwrap();
    assert_eq!(adj["previously_released"].as_i64().unwrap(), released);
    assert_eq!(adj["released"].as_i64().unwrap(), 0);
    assert_eq!(adj["on_hold"].as_i64().unwrap(), released);
    assert_eq!(adj["delta"].as_i64().unwrap(), -released);
    assert_eq!(
        after["release_adjustments_total_pence"].as_i64().unwrap(),
        -released
    );
}
