//! Exports end to end: text a spreadsheet would run as a formula is planted through the public
//! interfaces (a location and a new provider typed in the portal, a resident reference sent to
//! the API, a visit's notes and action synced from a device, the council's name in the server's
//! settings), then every CSV the server writes is downloaded (each export, the payment schedule,
//! the Transparency Code list) and no cell may start with a formula character unless it is a
//! plain number. Also: the JSON of each export has the CSV's columns, dates are read strictly,
//! and only commissioners and leads export.

use accredit_e2e::{Client, Portal, Reply, Server};
use accredit_shared::records::{Answer, Priority};
use accredit_shared::sync::Replica;
use accredit_shared::visit::{ActionDraft, VisitDoc};
use chrono::{Datelike, Months, Utc};
use serde_json::{Value, json};
use uuid::Uuid;

const EVIL_PROVIDER: &str = "=HYPERLINK(\"http://evil.example\",\"Provider\")";
const EVIL_LOCATION: &str = "=1+2 Lodge";
const EVIL_ADDRESS: &str = "@SUM(A1:A9) Street";
const EVIL_CONTRACT: &str = "+SUM(1;2)*cmd|' /C calc'!A0";
const EVIL_RESIDENT: &str = "@R-EVIL";
const EVIL_ACTION: &str = "+cmd|' /C calc'!A0";
const EVIL_OWNER: &str = "-2+3 manager";
const EVIL_NOTE: &str = "\t=1+1 seen on the visit";
const EVIL_COUNCIL: &str = "=Council()";

/// Reads CSV as RFC 4180 writes it: quoted cells may hold commas, quotes and line breaks.
fn parse_csv(text: &str) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    let mut row = Vec::new();
    let mut cell = String::new();
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                cell.push('"');
                chars.next();
            }
            (true, '"') => quoted = false,
            (true, c) => cell.push(c),
            (false, '"') if cell.is_empty() => quoted = true,
            (false, ',') => row.push(std::mem::take(&mut cell)),
            (false, '\n') => {
                row.push(std::mem::take(&mut cell));
                rows.push(std::mem::take(&mut row));
            }
            (false, c) => cell.push(c),
        }
    }
    if !cell.is_empty() || !row.is_empty() {
        row.push(cell);
        rows.push(row);
    }
    rows
}

/// The cells a spreadsheet would run as formulas.
fn formulas(rows: &[Vec<String>]) -> Vec<String> {
    rows.iter()
        .flatten()
        .filter(|c| {
            c.starts_with(['=', '+', '-', '@', '\t', '\r']) && c.trim().parse::<f64>().is_err()
        })
        .cloned()
        .collect()
}

/// Whether some cell holds `planted`, defused.
fn holds_defused(rows: &[Vec<String>], planted: &str) -> bool {
    rows.iter().flatten().any(|c| *c == format!("'{planted}"))
}

fn csv_of(r: Reply, what: &str) -> Vec<Vec<String>> {
    assert_eq!(r.status, 200, "{what}: {}", r.text());
    assert!(
        r.content_type.starts_with("text/csv"),
        "{what}: {}",
        r.content_type
    );
    parse_csv(&r.text())
}

#[test]
fn no_csv_the_server_writes_carries_a_formula() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::demo_with_env(dir.path(), &[("ACCREDIT_COUNCIL_NAME", EVIL_COUNCIL)]);
    let url = server.url.as_str();
    let commissioner = Client::sign_in(url, "commissioner");
    let monitor = Client::sign_in(url, "monitor1");
    let pack = accredit_e2e::default_pack();

    // A new provider and its location, typed into the portal's form.
    let portal = Portal::sign_in(url, "commissioner");
    let added = portal.post(
        "/locations",
        &[
            ("new_provider", EVIL_PROVIDER),
            ("cqc_location_id", "1-999000001"),
            ("name", EVIL_LOCATION),
            ("address", EVIL_ADDRESS),
            ("service_type", "residential"),
            ("registered_from-day", "1"),
            ("registered_from-month", "4"),
            ("registered_from-year", "2020"),
        ],
    );
    assert_eq!(added.status, 303, "{}", added.text());
    let location = added
        .header("location")
        .and_then(|l| l.strip_prefix("/locations/"))
        .and_then(|l| l.split('?').next())
        .and_then(|l| Uuid::parse_str(l).ok())
        .expect("the new location's page");

    // A placement whose resident reference starts with @, at a Gold home so it has a line.
    let locations = commissioner.get("/api/v1/locations").json();
    let seaview = locations["locations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["name"] == "Seaview House")
        .and_then(|l| l["id"].as_str())
        .expect("Seaview House")
        .to_owned();
    let month = Utc::now().date_naive().with_day(1).unwrap() - Months::new(1);
    let period = format!("{:04}-{:02}", month.year(), month.month());
    let placed = commissioner.post(
        "/api/v1/placements",
        json!({
            "id": Uuid::new_v4(),
            "location_id": seaview,
            "resident_ref": EVIL_RESIDENT,
            "funding": "council_permanent",
            "start": month.to_string(),
            "end": null,
            "died_on": null,
            "base_weekly_rate_pence": 80000,
            "hospital_stays": []
        }),
    );
    assert!(placed.status < 300, "{}", placed.text());
    // A contract whose reference starts with +, its one period ending that month.
    let coastal = locations["locations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["name"] == "Seaview House")
        .and_then(|l| l["provider_id"].as_str())
        .expect("Seaview's provider")
        .to_owned();
    let contract = commissioner.post(
        "/api/v1/contracts",
        json!({
            "reference": EVIL_CONTRACT,
            "provider_id": coastal,
            "location_id": seaview,
            "starts_on": month.to_string(),
            "ends_on": (month + Months::new(1)).pred_opt().unwrap().to_string(),
            "period_months": 1,
            "value_per_period_pence": 100_000,
        }),
    );
    assert_eq!(contract.status, 201, "{}", contract.text());

    // A visit at the new location, its notes and action typed on a device, signed off.
    let caseload = commissioner.post(
        &format!("/api/v1/users/{}/caseload", monitor.user_id()),
        json!({ "add": [location], "remove": [] }),
    );
    assert!(caseload.status < 300, "{}", caseload.text());
    let header = accredit_e2e::annual_visit(location, &pack);
    let visit = header.visit_id;
    let mut device = Replica::new(monitor.author());
    device.insert(
        visit,
        VisitDoc::create(&header, &pack, monitor.author()).unwrap(),
        None,
    );
    {
        let doc = device.doc_mut(&visit).unwrap();
        let criteria: Vec<String> = pack.criteria().map(|c| c.id.clone()).collect();
        for c in &criteria {
            doc.set_answer(&pack, c, Some(Answer::Score(3))).unwrap();
        }
        doc.set_notes(&pack, &criteria[0], EVIL_NOTE).unwrap();
        doc.add_action(
            &pack,
            &ActionDraft {
                criterion: Some(criteria[1].clone()),
                priority: Priority::High,
                description: EVIL_ACTION.into(),
                owner: EVIL_OWNER.into(),
                due_on: Some(Utc::now().date_naive()),
            },
        )
        .unwrap();
        doc.sign_off(Utc::now()).unwrap();
    }
    monitor.sync(&mut device).unwrap();
    assert!(device.unacknowledged().is_empty());

    // Each export: the planted text is there, defused, and nothing else reads as a formula.
    let planted: [(&str, &[&str]); 5] = [
        ("visits", &[EVIL_LOCATION, EVIL_PROVIDER]),
        ("answers", &[EVIL_LOCATION, EVIL_NOTE]),
        ("determinations", &[EVIL_LOCATION, EVIL_PROVIDER]),
        ("actions", &[EVIL_ACTION, EVIL_OWNER]),
        ("locations", &[EVIL_LOCATION, EVIL_ADDRESS, EVIL_PROVIDER]),
    ];
    for (export, texts) in planted {
        let rows = csv_of(
            commissioner.get(&format!("/api/v1/exports/{export}")),
            export,
        );
        let missing: Vec<&&str> = texts.iter().filter(|t| !holds_defused(&rows, t)).collect();
        let live = formulas(&rows);
        assert!(
            missing.is_empty() && live.is_empty(),
            "{export}: planted text missing {missing:?}, formulas left {live:?}"
        );
    }
    // The portal's downloads are the same files.
    let rows = csv_of(portal.get("/exports/actions.csv"), "portal actions");
    assert!(
        holds_defused(&rows, EVIL_ACTION) && formulas(&rows).is_empty(),
        "portal actions: {rows:?}"
    );

    // The payment schedule, from the API and the portal.
    let rows = csv_of(
        commissioner.get_accept(&format!("/api/v1/payments?period={period}"), "text/csv"),
        "payments",
    );
    assert!(
        holds_defused(&rows, EVIL_RESIDENT)
            && holds_defused(&rows, EVIL_CONTRACT)
            && formulas(&rows).is_empty(),
        "payments: {:?}",
        formulas(&rows)
    );
    let rows = csv_of(
        portal.get(&format!("/payments.csv?period={period}")),
        "portal payments",
    );
    assert!(
        holds_defused(&rows, EVIL_RESIDENT) && formulas(&rows).is_empty(),
        "portal payments: {:?}",
        formulas(&rows)
    );

    // The Transparency Code list, from the API and the portal.
    for (what, reply) in [
        (
            "transparency",
            commissioner.get(&format!("/api/v1/transparency?period={period}")),
        ),
        (
            "portal transparency",
            portal.get(&format!("/payments/transparency.csv?period={period}")),
        ),
    ] {
        let rows = csv_of(reply, what);
        assert!(
            rows.len() > 1 && holds_defused(&rows, EVIL_COUNCIL) && formulas(&rows).is_empty(),
            "{what}: {rows:?}"
        );
    }
}

#[test]
fn json_has_the_csv_columns_dates_are_strict_and_only_commissioners_and_leads_export() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::demo(dir.path());
    let url = server.url.as_str();
    let lead = Client::sign_in(url, "lead");

    for export in [
        "visits",
        "answers",
        "determinations",
        "actions",
        "locations",
    ] {
        let csv = parse_csv(&lead.get(&format!("/api/v1/exports/{export}")).text());
        let json = lead
            .get(&format!("/api/v1/exports/{export}?format=json"))
            .json();
        let objects = json.as_array().cloned().unwrap_or_default();
        let header = csv.first().cloned().unwrap_or_default();
        let fields: Vec<Vec<String>> = objects
            .iter()
            .map(|o| {
                o.as_object()
                    .map(|m| m.keys().cloned().collect())
                    .unwrap_or_default()
            })
            .collect();
        let mut sorted_header = header.clone();
        sorted_header.sort();
        assert!(
            !objects.is_empty()
                && objects.len() == csv.len() - 1
                && fields.iter().all(|f| {
                    let mut f = f.clone();
                    f.sort();
                    f == sorted_header
                }),
            "{export}: {} JSON rows, {} CSV rows; header {header:?}",
            objects.len(),
            csv.len() - 1
        );
    }

    // A range narrows the rows to its days; the visits' days are inside it.
    let all = lead.get("/api/v1/exports/visits?format=json").json();
    let days: Vec<String> = all
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|v| v["visited_on"].as_str().map(str::to_owned))
        .collect();
    let mut sorted = days.clone();
    sorted.sort();
    let latest = sorted.last().cloned().unwrap_or_default();
    let narrowed = lead
        .get(&format!(
            "/api/v1/exports/visits?format=json&from={latest}&to={latest}"
        ))
        .json();
    let expected = days.iter().filter(|d| **d == latest).count();
    assert_eq!(
        narrowed.as_array().map(Vec::len),
        Some(expected),
        "only the visits on {latest}"
    );

    // Dates are read strictly, with a message that says what is wrong.
    for (query, says) in [
        ("from=2026-1-1", "from"),
        ("to=01%2F02%2F2026", "to"),
        ("from=2026-03-01&to=2026-02-01", "on or after"),
        ("format=xml", "csv or json"),
    ] {
        let r = lead.get(&format!("/api/v1/exports/visits?{query}"));
        let body: Value = r.json();
        assert!(
            r.status == 400 && body["message"].as_str().unwrap_or("").contains(says),
            "{query}: {} {body}",
            r.status
        );
    }
    assert_eq!(lead.get("/api/v1/exports/residents").status, 404);

    // Providers and monitors may not export.
    for who in ["coastal", "monitor1"] {
        let c = Client::sign_in(url, who);
        assert_eq!(c.get("/api/v1/exports/locations").status, 403, "{who}");
        assert_eq!(
            c.get("/api/v1/transparency?period=2026-11").status,
            403,
            "{who}"
        );
    }
}
