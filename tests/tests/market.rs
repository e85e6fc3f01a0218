//! The market view end to end, on the demo server: every aggregate figure (tiers month by month,
//! premium by tier month by month and committed ahead, domains, criteria, the heat map) equals
//! the sum over the API's per-location figures; the figures agree with independent APIs (the
//! tiers of `/api/v1/locations`, the totals of `/api/v1/payments`); a change (a gate opened) is
//! reflected once the background refresh has run; providers and monitors are refused.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use accredit_e2e::{Client, Server};
use serde_json::{Value, json};

/// Waits until no location is waiting for a refresh and the figures are for today.
fn settled(c: &Client) -> Value {
    let start = Instant::now();
    loop {
        let v = c.get("/api/v1/market").json();
        let f = &v["freshness"];
        if f["pending"] == 0 && f["figures_on"] == f["today"] && f["locations"].as_u64() > Some(0) {
            return v;
        }
        assert!(
            start.elapsed() < Duration::from_secs(90),
            "the market figures never settled: {f}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn per_location(c: &Client) -> Vec<Value> {
    let mut out = Vec::new();
    let mut offset = 0;
    loop {
        // A small page, so the paging itself is exercised on the demo's few locations.
        let page = c
            .get(&format!("/api/v1/market/locations?offset={offset}&limit=3"))
            .json();
        let rows = page["locations"].as_array().cloned().unwrap_or_default();
        if rows.is_empty() {
            assert_eq!(out.len() as u64, page["total"].as_u64().unwrap(), "{page}");
            return out;
        }
        offset += rows.len();
        out.extend(rows);
    }
}

fn i(v: &Value) -> i64 {
    v.as_i64().unwrap_or_else(|| panic!("not a number: {v}"))
}

/// Checks every aggregate against the per-location figures; returns them for further checks.
fn check_sums(c: &Client) -> (Value, Value, Value, Vec<Value>) {
    let overview = settled(c);
    let spend = c.get("/api/v1/market/spend").json();
    let quality = c.get("/api/v1/market/quality").json();
    let locations = per_location(c);
    assert!(locations.iter().all(|l| l["pending"] == false));

    // Tiers month by month.
    for m in overview["months"].as_array().unwrap() {
        let month = m["month"].as_str().unwrap();
        let mut expected: BTreeMap<String, i64> = BTreeMap::new();
        for l in &locations {
            if let Some(t) = l["tiers"][month].as_str() {
                *expected.entry(t.to_owned()).or_default() += 1;
            }
        }
        let got: BTreeMap<String, i64> = m["counts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| (c["tier"].as_str().unwrap().to_owned(), i(&c["locations"])))
            .collect();
        assert_eq!(got, expected, "tiers in {month}");
        assert_eq!(i(&m["total"]), expected.values().sum::<i64>());
    }

    // Premium by tier month by month, and committed ahead.
    let mut committed = 0;
    for m in spend["months"].as_array().unwrap() {
        let month = m["month"].as_str().unwrap();
        let ahead = m["committed"].as_bool().unwrap();
        let mut expected: BTreeMap<String, (i64, i64)> = BTreeMap::new();
        for l in &locations {
            for s in l["spend"].as_array().unwrap() {
                if s["month"] == month && s["committed"] == ahead {
                    let e = expected
                        .entry(s["tier"].as_str().unwrap().to_owned())
                        .or_default();
                    e.0 += i(&s["paid_pence"]);
                    e.1 += i(&s["on_hold_pence"]);
                }
            }
        }
        let got: BTreeMap<String, (i64, i64)> = m["by_tier"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| {
                (
                    t["tier"].as_str().unwrap().to_owned(),
                    (i(&t["paid_pence"]), i(&t["on_hold_pence"])),
                )
            })
            .collect();
        assert_eq!(got, expected, "premium in {month}");
        assert_eq!(
            i(&m["paid_pence"]),
            expected.values().map(|v| v.0).sum::<i64>()
        );
        if ahead {
            committed += i(&m["paid_pence"]);
        }
    }
    assert_eq!(i(&spend["committed_pence"]), committed);
    assert!(committed > 0, "the demo's placements commit premium ahead");

    // Domains.
    let floor = quality["standard_domain_tenths"].as_i64().unwrap();
    for d in quality["domains"].as_array().unwrap() {
        let id = d["domain_id"].as_str().unwrap();
        let scores: Vec<i64> = locations
            .iter()
            .filter_map(|l| l["domains"][id].as_i64())
            .collect();
        assert_eq!(i(&d["locations"]), scores.len() as i64, "{id}");
        assert_eq!(i(&d["sum_tenths"]), scores.iter().sum::<i64>(), "{id}");
        assert_eq!(
            i(&d["below_standard"]),
            scores.iter().filter(|s| **s < floor).count() as i64,
            "{id}"
        );
        assert_eq!(
            i(&d["lowest_at"]),
            locations
                .iter()
                .filter(|l| l["lowest_domain"] == id)
                .count() as i64,
            "{id}"
        );
    }
    assert!(!quality["domains"].as_array().unwrap().is_empty());

    // Criteria: locations at each score, per pack version.
    let mut expected: BTreeMap<(String, String, String, i64), i64> = BTreeMap::new();
    for l in &locations {
        let (Some(pack), Some(version)) = (l["pack_id"].as_str(), l["pack_version"].as_str())
        else {
            continue;
        };
        for (criterion, score) in l["criteria"].as_object().unwrap() {
            *expected
                .entry((pack.into(), version.into(), criterion.clone(), i(score)))
                .or_default() += 1;
        }
    }
    let mut got = BTreeMap::new();
    for c in quality["criteria"].as_array().unwrap() {
        let mut at_lowest = 0;
        for s in c["by_score"].as_array().unwrap() {
            got.insert(
                (
                    c["pack_id"].as_str().unwrap().to_owned(),
                    c["pack_version"].as_str().unwrap().to_owned(),
                    c["criterion_id"].as_str().unwrap().to_owned(),
                    i(&s[0]),
                ),
                i(&s[1]),
            );
            if i(&s[0]) <= i(&c["scale_min"]) {
                at_lowest += i(&s[1]);
            }
        }
        assert_eq!(i(&c["at_lowest"]), at_lowest);
    }
    assert_eq!(got, expected, "criterion scores");
    let lows: Vec<i64> = quality["criteria"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| i(&c["at_lowest"]))
        .collect();
    assert!(
        lows.windows(2).all(|w| w[0] >= w[1]),
        "most at the lowest first"
    );

    // The heat map: every location with scores, worst first.
    let heat = &quality["heat"];
    let scored = locations
        .iter()
        .filter(|l| !l["lowest_domain_tenths"].is_null())
        .count();
    assert_eq!(heat["total"].as_u64().unwrap() as usize, scored);
    let worst: Vec<i64> = heat["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| i(&r["lowest_domain_tenths"]))
        .collect();
    assert!(worst.windows(2).all(|w| w[0] <= w[1]), "{worst:?}");
    for r in heat["rows"].as_array().unwrap() {
        let l = locations
            .iter()
            .find(|l| l["location_id"] == r["location_id"])
            .unwrap();
        let cols = heat["columns"].as_array().unwrap();
        for (col, cell) in cols.iter().zip(r["cells"].as_array().unwrap()) {
            assert_eq!(cell, &l["domains"][col[0].as_str().unwrap()]);
        }
    }
    (overview, spend, quality, locations)
}

/// The figures agree with APIs that compute them independently: the tiers `/api/v1/locations`
/// gives today, and `/api/v1/payments` for past months.
fn cross_check(c: &Client, overview: &Value, spend: &Value) {
    let listed = c.get("/api/v1/locations").json();
    let mut tiers: BTreeMap<String, i64> = BTreeMap::new();
    for l in listed["locations"].as_array().unwrap() {
        let t = l["tier"].as_str().unwrap_or("none").to_owned();
        *tiers.entry(t).or_default() += 1;
    }
    let now = overview["months"].as_array().unwrap().last().unwrap();
    let got: BTreeMap<String, i64> = now["counts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["tier"].as_str().unwrap().to_owned(), i(&c["locations"])))
        .collect();
    assert_eq!(got, tiers, "today's tiers as /api/v1/locations gives them");

    let months = spend["months"].as_array().unwrap();
    let past: Vec<&Value> = months.iter().filter(|m| m["committed"] == false).collect();
    let mut some_paid = false;
    // The current month and the two before it.
    for m in past.iter().rev().take(3) {
        let period = m["month"].as_str().unwrap();
        let p = c.get(&format!("/api/v1/payments?period={period}")).json();
        assert_eq!(m["paid_pence"], p["total_pence"], "{period}");
        assert_eq!(m["on_hold_pence"], p["total_on_hold_pence"], "{period}");
        some_paid |= i(&p["total_pence"]) > 0;
    }
    assert!(some_paid, "the demo pays premiums");
}

#[test]
fn market_figures_add_up_agree_with_payments_and_follow_a_change() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::demo(dir.path());
    let commissioner = Client::sign_in(&server.url, "commissioner");
    let lead = Client::sign_in(&server.url, "lead");

    let (overview, spend, _, locations) = check_sums(&commissioner);
    cross_check(&commissioner, &overview, &spend);
    // A lead sees the same figures.
    assert_eq!(
        lead.get("/api/v1/market/spend").json()["months"],
        spend["months"]
    );

    // Open an embargo at a location that is paid a premium today: its premium stops, so the
    // current month's spend and the committed months fall once the refresh has run.
    let paid = locations
        .iter()
        .find(|l| l["status"] == "payable" && l["spend"].as_array().is_some_and(|s| !s.is_empty()))
        .expect("a location paid a premium");
    let id = paid["location_id"].as_str().unwrap();
    let today = overview["freshness"]["today"].as_str().unwrap();
    let opened = commissioner.post(
        &format!("/api/v1/locations/{id}/gates"),
        json!({ "kind": "placement_embargo", "opened_on": today }),
    );
    assert_eq!(opened.status, 201, "{}", opened.text());
    let (overview2, spend2, _, locations2) = check_sums(&commissioner);
    cross_check(&commissioner, &overview2, &spend2);
    let after = locations2.iter().find(|l| l["location_id"] == id).unwrap();
    assert_eq!(after["status"], "suspended", "{after}");
    assert!(
        i(&spend2["committed_pence"]) < i(&spend["committed_pence"]),
        "committed premium falls: {} then {}",
        spend["committed_pence"],
        spend2["committed_pence"]
    );
    let ahead_of = |l: &Value| -> i64 {
        l["spend"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|s| s["committed"] == true)
            .map(|s| i(&s["paid_pence"]))
            .sum()
    };
    assert_eq!(
        ahead_of(after),
        0,
        "an embargoed location earns nothing ahead"
    );
    assert!(ahead_of(paid) > 0);

    // Paging and bad input.
    assert_eq!(
        commissioner.get("/api/v1/market/locations?limit=0").status,
        400
    );
    assert_eq!(
        commissioner
            .get("/api/v1/market/quality?provider=not-an-id")
            .status,
        400
    );
    assert_eq!(
        commissioner.get("/api/v1/market/quality?page=x").status,
        400
    );

    // Providers and monitors are refused.
    for who in ["coastal", "monitor1"] {
        let c = Client::sign_in(&server.url, who);
        for path in [
            "/api/v1/market",
            "/api/v1/market/spend",
            "/api/v1/market/quality",
            "/api/v1/market/locations",
        ] {
            assert_eq!(c.get(path).status, 403, "{who} {path}");
        }
    }
}
