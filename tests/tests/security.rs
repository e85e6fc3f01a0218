//! Security through the real server: tokens, who sees what, and hostile input that must get a 4xx
//! and change nothing.

use accredit_e2e::{Client, Server, fresh_agent, request, request_with};
use accredit_shared::FrameworkPack;
use accredit_shared::sync::{DocMessage, Replica, SYNC_MEDIA_TYPE, SyncRequest};
use accredit_shared::visit::*;
use chrono::Utc;
use serde_json::{Value, json};
use uuid::Uuid;

fn ids(c: &Client) -> Vec<(String, String)> {
    c.get("/api/v1/locations").json()["locations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            (
                l["name"].as_str().unwrap().to_owned(),
                l["id"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn audit_count(c: &Client) -> usize {
    c.get("/api/v1/audit?limit=1000").json()["entries"]
        .as_array()
        .unwrap()
        .len()
}

/// Every route, with a method and a body that would otherwise be acceptable in shape.
fn routes(loc: &str, visit: &str) -> Vec<(&'static str, String)> {
    vec![
        ("DELETE", "/api/v1/session".into()),
        ("GET", "/api/v1/me".into()),
        ("POST", format!("/api/v1/devices/{}/revoke", Uuid::new_v4())),
        ("GET", "/api/v1/locations".into()),
        ("GET", format!("/api/v1/locations/{loc}/tier")),
        ("GET", format!("/api/v1/locations/{loc}/determinations")),
        ("GET", "/api/v1/packs/cqc-quality-statements/2026.1".into()),
        ("POST", "/api/v1/sync".into()),
        ("POST", "/api/v1/blobs/missing".into()),
        ("GET", format!("/api/v1/blobs/{}", "a".repeat(64))),
        ("PUT", format!("/api/v1/blobs/{}", "a".repeat(64))),
        ("GET", "/api/v1/visits".into()),
        ("GET", format!("/api/v1/visits/{visit}")),
        ("GET", format!("/api/v1/visits/{visit}/conflicts")),
        ("GET", format!("/api/v1/visits/{visit}/revisions/1")),
        ("GET", format!("/api/v1/visits/{visit}/revisions/2/changes")),
        ("GET", format!("/api/v1/visits/{visit}/compare-previous")),
        ("GET", format!("/api/v1/visits/{visit}/signatures")),
        ("POST", format!("/api/v1/visits/{visit}/share")),
        ("POST", format!("/api/v1/visits/{visit}/comments")),
        ("POST", format!("/api/v1/visits/{visit}/confirm")),
        ("POST", format!("/api/v1/visits/{visit}/publish")),
        ("POST", format!("/api/v1/visits/{visit}/revisions/1/accept")),
        (
            "POST",
            format!(
                "/api/v1/visits/{visit}/actions/{}/responses",
                Uuid::new_v4()
            ),
        ),
        ("GET", "/api/v1/payments?period=2026-11".into()),
        ("POST", "/api/v1/payments/issue?period=2026-11".into()),
        ("GET", "/api/v1/audit".into()),
        ("POST", format!("/api/v1/locations/{loc}/cqc-ratings")),
        ("POST", format!("/api/v1/locations/{loc}/gates")),
        ("POST", format!("/api/v1/gates/{}/close", Uuid::new_v4())),
        ("POST", "/api/v1/qualifications".into()),
        ("POST", "/api/v1/placements".into()),
        ("GET", "/api/v1/rule-sets".into()),
        ("POST", "/api/v1/rule-sets".into()),
        ("GET", "/api/v1/rule-sets/2026.1".into()),
        ("POST", "/api/v1/rule-sets/check".into()),
        ("GET", "/api/v1/rule-sets/compare?a=2024.1&b=2026.1".into()),
        ("POST", "/api/v1/password".into()),
        ("GET", "/api/v1/users".into()),
        ("POST", "/api/v1/users".into()),
        ("GET", format!("/api/v1/users/{}", Uuid::new_v4())),
        ("PUT", format!("/api/v1/users/{}", Uuid::new_v4())),
        ("POST", format!("/api/v1/users/{}/disable", Uuid::new_v4())),
        ("POST", format!("/api/v1/users/{}/enable", Uuid::new_v4())),
        (
            "POST",
            format!("/api/v1/users/{}/reset-password", Uuid::new_v4()),
        ),
        ("GET", format!("/api/v1/users/{}/devices", Uuid::new_v4())),
        (
            "POST",
            format!("/api/v1/users/{}/sign-out-everywhere", Uuid::new_v4()),
        ),
        ("GET", format!("/api/v1/users/{}/caseload", Uuid::new_v4())),
        ("POST", format!("/api/v1/users/{}/caseload", Uuid::new_v4())),
        ("GET", "/api/v1/plans".into()),
        ("POST", "/api/v1/plans".into()),
        ("GET", format!("/api/v1/plans/{}", Uuid::new_v4())),
        ("POST", format!("/api/v1/plans/{}/reassign", Uuid::new_v4())),
        ("POST", format!("/api/v1/plans/{}/cancel", Uuid::new_v4())),
        ("GET", "/api/v1/due-visits".into()),
        ("GET", "/api/v1/notices".into()),
        ("GET", "/api/v1/market".into()),
        ("GET", "/api/v1/market/spend".into()),
        ("GET", "/api/v1/market/quality".into()),
        ("GET", "/api/v1/market/locations".into()),
        ("GET", "/api/v1/contracts".into()),
        ("POST", "/api/v1/contracts".into()),
        ("GET", format!("/api/v1/contracts/{}", Uuid::new_v4())),
        ("PUT", format!("/api/v1/contracts/{}", Uuid::new_v4())),
        ("GET", "/api/v1/exports/visits".into()),
        ("GET", "/api/v1/exports/answers?format=json".into()),
        ("GET", "/api/v1/transparency?period=2026-11".into()),
        ("GET", "/api/v1/appeals".into()),
        ("POST", "/api/v1/appeals".into()),
        ("GET", format!("/api/v1/appeals/{}", Uuid::new_v4())),
        (
            "POST",
            format!("/api/v1/appeals/{}/decision", Uuid::new_v4()),
        ),
        (
            "POST",
            format!("/api/v1/appeals/{}/withdraw", Uuid::new_v4()),
        ),
        ("GET", "/api/v1/retention".into()),
        ("POST", "/api/v1/retention/rules".into()),
    ]
}

/// The portal's pages and forms for commissioners and leads only (people, places, placements,
/// imports, planning, notices, exports, the Transparency Code list), with `{loc}` a location:
/// providers and monitors get 403 or 404 on each, and nothing changes.
fn council_pages(loc: &str) -> Vec<(&'static str, String)> {
    let any = Uuid::new_v4();
    vec![
        ("GET", "/people".into()),
        ("POST", "/people".into()),
        ("GET", "/people/new".into()),
        ("GET", format!("/people/{any}")),
        ("POST", format!("/people/{any}")),
        ("GET", format!("/people/{any}/reset-password")),
        ("POST", format!("/people/{any}/reset-password")),
        ("GET", format!("/people/{any}/disable")),
        ("POST", format!("/people/{any}/disable")),
        ("POST", format!("/people/{any}/enable")),
        ("POST", format!("/people/{any}/devices/{any}/sign-out")),
        ("POST", format!("/people/{any}/sign-out-everywhere")),
        ("GET", format!("/people/{any}/caseload")),
        ("POST", format!("/people/{any}/caseload")),
        ("GET", format!("/locations/{loc}/monitors")),
        ("POST", format!("/locations/{loc}/monitors")),
        ("GET", "/locations/new".into()),
        ("POST", "/locations".into()),
        ("GET", format!("/locations/{loc}/edit")),
        ("POST", format!("/locations/{loc}/edit")),
        ("GET", format!("/locations/{loc}/change-of-ownership")),
        ("POST", format!("/locations/{loc}/change-of-ownership")),
        ("GET", format!("/locations/{loc}/placements")),
        ("POST", format!("/locations/{loc}/placements")),
        ("GET", format!("/placements/{any}")),
        ("POST", format!("/placements/{any}/end")),
        ("GET", "/imports".into()),
        ("GET", format!("/imports/{any}")),
        ("POST", format!("/imports/{any}/import")),
        ("GET", "/plan/due".into()),
        ("GET", format!("/plan/new?location={loc}")),
        ("POST", "/plan".into()),
        ("POST", format!("/plan/{any}/reassign")),
        ("POST", format!("/plan/{any}/cancel")),
        ("GET", "/notices".into()),
        ("POST", format!("/notices/{any}/retry")),
        ("GET", "/market".into()),
        ("GET", "/market/spend".into()),
        ("GET", "/market/quality".into()),
        ("POST", "/contracts".into()),
        ("GET", "/contracts/new".into()),
        ("GET", format!("/contracts/{any}/edit")),
        ("POST", format!("/contracts/{any}/edit")),
        ("GET", "/exports".into()),
        ("GET", "/exports/answers.csv".into()),
        ("GET", "/exports/locations.json?from=2020-01-01".into()),
        ("GET", "/payments/transparency?period=2026-11".into()),
        ("GET", "/payments/transparency.csv?period=2026-11".into()),
        ("GET", "/retention".into()),
        ("POST", "/retention/rules".into()),
    ]
}

#[test]
fn every_route_refuses_a_missing_wrong_or_revoked_token() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::demo(dir.path());
    let commissioner = Client::sign_in(&server.url, "commissioner");
    let loc = ids(&commissioner)[0].1.clone();
    let visits = commissioner.get("/api/v1/visits").json();
    let visit = visits["visits"][0]["visit"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let revoked = Client::sign_in(&server.url, "commissioner");
    assert_eq!(
        revoked
            .send("DELETE", "/api/v1/session", "application/json", vec![])
            .status,
        204
    );
    let before = audit_count(&commissioner);
    // Refused before their bodies are read, these requests may each end their connection.
    let agent = fresh_agent();
    for (method, path) in routes(&loc, &visit) {
        let url = format!("{}{path}", server.url);
        let body = Some(("application/json", b"{}".to_vec()));
        for token in [
            None,
            Some("not-a-token"),
            Some("0".repeat(64).as_str()),
            Some(revoked.token.as_str()),
        ] {
            let r = request(&agent, method, &url, token, body.clone()).unwrap();
            assert_eq!(
                r.status,
                401,
                "{method} {path} with {token:?}: {}",
                r.text()
            );
            assert_eq!(r.json()["error"], "unauthorized");
        }
    }
    assert_eq!(
        audit_count(&commissioner),
        before,
        "refused requests change nothing"
    );
    // A valid token still works, and a revoked device is recorded.
    assert_eq!(commissioner.get("/api/v1/me").status, 200);
    let health = request(
        &agent,
        "GET",
        &format!("{}/healthz", server.url),
        None,
        None,
    )
    .unwrap();
    assert_eq!(health.status, 200, "health needs no token");
}

#[test]
fn a_provider_never_receives_another_providers_data() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::demo(dir.path());
    let lead = Client::sign_in(&server.url, "lead");
    let coastal = Client::sign_in(&server.url, "coastal");
    let fylde = Client::sign_in(&server.url, "fylde");
    let monitor2 = Client::sign_in(&server.url, "monitor2");
    let all = ids(&lead);
    let coastal_names: Vec<String> = ids(&coastal).into_iter().map(|(n, _)| n).collect();
    assert_eq!(coastal_names, vec!["Promenade Court", "Seaview House"]);
    let fylde_ids: Vec<String> = all
        .iter()
        .filter(|(n, _)| !coastal_names.contains(n))
        .map(|(_, id)| id.clone())
        .collect();
    assert_eq!(fylde_ids.len(), 3);

    // A photo in a Fylde visit, uploaded by its monitor.
    let bytes = b"\xFF\xD8\xFF\xE0 fake jpeg bytes of a Fylde bedroom".to_vec();
    let hash = blake3::hash(&bytes).to_hex().to_string();
    assert_eq!(
        monitor2
            .send(
                "PUT",
                &format!("/api/v1/blobs/{hash}"),
                "application/octet-stream",
                bytes.clone()
            )
            .status,
        201
    );
    assert_eq!(
        fylde.get(&format!("/api/v1/blobs/{hash}")).status,
        404,
        "not yet in a shared visit"
    );
    let fylde_visits = lead
        .get(&format!("/api/v1/visits?location={}", fylde_ids[0]))
        .json();

    for id in &fylde_ids {
        for path in [
            format!("/api/v1/locations/{id}/tier"),
            format!("/api/v1/locations/{id}/determinations"),
            format!("/api/v1/visits?location={id}"),
        ] {
            let r = coastal.get(&path);
            assert_eq!(r.status, 404, "{path}: {}", r.text());
            assert!(!r.text().contains(id.as_str()));
        }
        let r = coastal.post(
            &format!("/api/v1/locations/{id}/gates"),
            json!({ "kind": "placement_embargo", "opened_on": "2026-11-01" }),
        );
        assert_eq!(r.status, 403);
    }
    for v in fylde_visits["visits"].as_array().unwrap() {
        let vid = v["visit"]["id"].as_str().unwrap();
        assert_eq!(coastal.get(&format!("/api/v1/visits/{vid}")).status, 404);
        assert_eq!(
            coastal
                .post(
                    &format!("/api/v1/visits/{vid}/comments"),
                    json!({ "body": "hello" })
                )
                .status,
            404
        );
        assert_eq!(
            coastal
                .get(&format!("/api/v1/visits/{vid}/conflicts"))
                .status,
            403
        );
    }
    assert_eq!(coastal.get(&format!("/api/v1/blobs/{hash}")).status, 404);
    // Listings and payments hold only the provider's own locations.
    let listing = coastal.get("/api/v1/visits").text() + &coastal.get("/api/v1/locations").text();
    let period = Utc::now().format("%Y-%m").to_string();
    let pay = coastal.get(&format!("/api/v1/payments?period={period}"));
    let csv = coastal.get_accept(&format!("/api/v1/payments?period={period}"), "text/csv");
    for id in &fylde_ids {
        assert!(!listing.contains(id.as_str()));
        assert!(!pay.text().contains(id.as_str()));
        assert!(!csv.text().contains(id.as_str()));
    }
    assert!(
        !pay.json()["lines"].as_array().unwrap().is_empty(),
        "but their own lines are there"
    );
    // Providers do not sync visit documents at all, and cannot pull them with include_all.
    let body = SyncRequest {
        include_all: true,
        docs: vec![],
    }
    .encode();
    assert_eq!(
        coastal
            .send("POST", "/api/v1/sync", SYNC_MEDIA_TYPE, body)
            .status,
        403
    );
    // Only commissioners change records and rules; only leads publish.
    let loc = &fylde_ids[0];
    for who in [&lead, &monitor2, &fylde] {
        assert_eq!(who.post(&format!("/api/v1/locations/{loc}/cqc-ratings"), json!({ "inspected_on": "2026-10-01", "published_on": "2026-10-20", "overall": "inadequate" })).status, 403);
        assert_eq!(
            who.send(
                "POST",
                "/api/v1/rule-sets",
                "text/plain",
                b"version = \"x\"".to_vec()
            )
            .status,
            403
        );
    }
    assert_eq!(monitor2.get("/api/v1/payments?period=2026-11").status, 403);
}

#[test]
fn a_monitor_syncs_only_their_caseload() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::demo(dir.path());
    let lead = Client::sign_in(&server.url, "lead");
    let mo = Client::sign_in(&server.url, "monitor1");
    let pack = FrameworkPack::from_toml(
        &std::fs::read_to_string(
            accredit_e2e::workspace().join("assets/frameworks/cqc-quality-statements.toml"),
        )
        .unwrap(),
    )
    .unwrap();
    let all = ids(&lead);
    let bispham =
        Uuid::parse_str(&all.iter().find(|(n, _)| n == "Bispham Gardens").unwrap().1).unwrap();
    // Mo receives only visits at locations on his caseload.
    let mut replica = Replica::new(Author {
        user_id: mo.user_id(),
        name: mo.name(),
    });
    mo.sync(&mut replica).unwrap();
    let mine: Vec<String> = ids(&mo).into_iter().map(|(_, id)| id).collect();
    for id in replica.ids() {
        let loc = replica
            .doc(&id)
            .unwrap()
            .snapshot()
            .unwrap()
            .header
            .location_id
            .to_string();
        assert!(mine.contains(&loc));
    }
    // A visit he creates at a location off his caseload is refused and not stored.
    let header = accredit_e2e::annual_visit(bispham, &pack);
    let visit_id = header.visit_id;
    replica.insert(
        visit_id,
        VisitDoc::create(
            &header,
            &pack,
            Author {
                user_id: mo.user_id(),
                name: mo.name(),
            },
        )
        .unwrap(),
        None,
    );
    let report = mo.sync(&mut replica).unwrap();
    assert!(
        report
            .refused
            .iter()
            .any(|(id, _, reason)| *id == visit_id && reason.contains("caseload")),
        "{report:?}"
    );
    assert_eq!(
        lead.get(&format!("/api/v1/visits/{visit_id}/conflicts"))
            .status,
        404
    );
    let mut lead_replica = Replica::new(Author {
        user_id: lead.user_id(),
        name: lead.name(),
    });
    lead.sync(&mut lead_replica).unwrap();
    assert!(lead_replica.doc(&visit_id).is_none());
}

#[test]
fn hostile_input_gets_a_4xx_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::demo(dir.path());
    let lead = Client::sign_in(&server.url, "lead");
    let mo = Client::sign_in(&server.url, "monitor1");
    let commissioner = Client::sign_in(&server.url, "commissioner");
    let before = audit_count(&commissioner);
    let snapshot = |c: &Client| -> Value {
        json!([
            c.get("/api/v1/visits").json(),
            c.get("/api/v1/locations").json()
        ])
    };
    let state_before = snapshot(&lead);

    // Malformed sync bodies and messages.
    let good_id = Uuid::new_v4();
    let bad_bodies: Vec<Vec<u8>> = vec![
        vec![],
        b"garbage".to_vec(),
        b"ACQ1\x00\xff\xff\xff\xff".to_vec(),
        SyncRequest {
            include_all: false,
            docs: vec![DocMessage {
                doc_id: good_id,
                known_heads: vec![],
                message: Some(b"not an automerge message".to_vec()),
            }],
        }
        .encode(),
    ];
    for body in bad_bodies {
        let r = mo.send("POST", "/api/v1/sync", SYNC_MEDIA_TYPE, body);
        assert_eq!(r.status, 400, "{}", r.text());
    }
    assert_eq!(
        mo.send("POST", "/api/v1/sync", "application/json", b"{}".to_vec())
            .status,
        400
    );
    // Oversized bodies.
    let announce = |method: &str, path: &str, media: &str, len: usize| {
        accredit_e2e::status_for_announced_body(&server.url, method, path, &mo.token, media, len)
    };
    assert_eq!(
        announce("POST", "/api/v1/sync", SYNC_MEDIA_TYPE, 33 * 1024 * 1024),
        413
    );
    assert_eq!(
        announce(
            "PUT",
            &format!("/api/v1/blobs/{}", "a".repeat(64)),
            "application/octet-stream",
            21 * 1024 * 1024
        ),
        413
    );
    assert_eq!(
        announce(
            "POST",
            "/api/v1/blobs/missing",
            "application/json",
            2 * 1024 * 1024
        ),
        413
    );
    // A blob whose bytes do not match its hash.
    let bytes = b"photo bytes".to_vec();
    let wrong = blake3::hash(b"other bytes").to_hex().to_string();
    let r = mo.send(
        "PUT",
        &format!("/api/v1/blobs/{wrong}"),
        "application/octet-stream",
        bytes,
    );
    assert_eq!(r.status, 422, "{}", r.text());
    let missing = mo
        .post("/api/v1/blobs/missing", json!({ "hashes": [wrong] }))
        .json();
    assert_eq!(
        missing["missing"].as_array().unwrap().len(),
        1,
        "the mismatched blob was not stored"
    );
    // Path-like and malformed ids.
    for path in [
        "/api/v1/blobs/..%2F..%2Fetc%2Fpasswd",
        "/api/v1/blobs/%2e%2e",
        "/api/v1/blobs/ABCDEF",
        "/api/v1/locations/..%2F..%2Fetc/tier",
        "/api/v1/visits/%2e%2e%2faccredit.sqlite3",
        "/api/v1/visits/not-a-uuid/conflicts",
        "/api/v1/payments?period=../2026",
        "/api/v1/payments?period=2026-13",
    ] {
        let r = lead.get(path);
        assert!(
            (400..500).contains(&r.status),
            "{path}: {} {}",
            r.status,
            r.text()
        );
        assert!(!r.text().contains("root:"), "{path}");
    }
    let r = mo.send(
        "PUT",
        "/api/v1/blobs/..%2F..%2Fescape",
        "application/octet-stream",
        b"x".to_vec(),
    );
    assert!((400..500).contains(&r.status));
    assert!(!server.data.join("../escape").exists());
    // Bad JSON and bad values in commissioner routes.
    let loc = ids(&commissioner)[0].1.clone();
    for body in [
        json!({}),
        json!({ "inspected_on": "2026-10-01", "published_on": "2026-09-01", "overall": "good" }),
        json!({ "inspected_on": "yesterday", "published_on": "2026-09-01", "overall": "good" }),
        json!({ "inspected_on": "2026-10-01", "published_on": "2026-10-02", "overall": "splendid" }),
    ] {
        let r = commissioner.post(
            &format!("/api/v1/locations/{loc}/cqc-ratings"),
            body.clone(),
        );
        assert!((400..500).contains(&r.status), "{body}: {}", r.text());
    }
    let r = commissioner.send(
        "POST",
        "/api/v1/rule-sets",
        "text/plain",
        b"version = 3\n[tiers".to_vec(),
    );
    assert_eq!(r.status, 422);
    assert_eq!(audit_count(&commissioner), before, "nothing was recorded");
    assert_eq!(snapshot(&lead), state_before, "nothing changed");
}

#[test]
fn providers_and_monitors_reach_none_of_the_councils_people_places_or_plans() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::demo(dir.path());
    let commissioner = Client::sign_in(&server.url, "commissioner");
    let loc = ids(&commissioner)[0].1.clone();
    let callers: Vec<(&str, Client)> = ["coastal", "monitor1"]
        .into_iter()
        .map(|who| (who, Client::sign_in(&server.url, who)))
        .collect();
    let before = audit_count(&commissioner);
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .build()
        .into();
    let host = server.url.trim_start_matches("http://").to_owned();
    for (who, c) in &callers {
        // The page's own form key, so a refusal is the access rule's, not the forgery check's.
        let key = accredit_server::portal::form_key(&c.token);
        let cookie = format!("accredit_session={}", c.token);
        for (method, path) in council_pages(&loc) {
            let form = format!(
                "form_key={key}&username=x.y&display_name=X&role=commissioner&email=x%40council.example"
            );
            let r = request_with(
                &agent,
                method,
                &format!("{}{path}", server.url),
                None,
                &[
                    ("cookie", &cookie),
                    ("origin", &format!("http://{host}")),
                    ("host", &host),
                ],
                (method == "POST")
                    .then(|| ("application/x-www-form-urlencoded", form.into_bytes())),
            )
            .unwrap();
            assert!(
                matches!(r.status, 403 | 404),
                "{who}: {method} {path} gave {}",
                r.status
            );
        }
        // The JSON API likewise.
        for (method, path) in [
            ("GET", "/api/v1/users"),
            ("POST", "/api/v1/users"),
            ("POST", "/api/v1/plans"),
            ("GET", "/api/v1/due-visits"),
            ("GET", "/api/v1/notices"),
            ("GET", "/api/v1/market"),
            ("GET", "/api/v1/market/spend"),
            ("GET", "/api/v1/market/quality"),
            ("GET", "/api/v1/market/locations"),
            ("POST", "/api/v1/contracts"),
            ("GET", "/api/v1/retention"),
            ("POST", "/api/v1/retention/rules"),
        ] {
            let r = c.send(method, path, "application/json", b"{}".to_vec());
            assert!(
                matches!(r.status, 400 | 403 | 404),
                "{who}: {method} {path} gave {}",
                r.status
            );
        }
    }
    assert_eq!(
        audit_count(&commissioner),
        before,
        "refused requests change nothing"
    );
}
