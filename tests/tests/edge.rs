//! The HTTP edge through the real server: JSON errors everywhere the API promises them, headers
//! for personal data, strict dates, the packs list, and the portal's defences against other
//! sites (Origin, the sign-in form's key, open redirects, words planted in a banner).

use accredit_e2e::{Client, Server, request_with};
use serde_json::{Value, json};

fn location_id(c: &Client, name: &str) -> String {
    c.get("/api/v1/locations").json()["locations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["name"] == name)
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[test]
fn the_api_answers_json_with_no_store_and_refuses_lenient_dates() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::demo(dir.path());
    let c = Client::sign_in(&server.url, "commissioner");
    let seaview = location_id(&c, "Seaview House");

    // Personal data is never cached or sniffed.
    let r = c.get("/api/v1/locations");
    assert_eq!(r.header("cache-control"), Some("no-store"));
    assert_eq!(r.header("x-content-type-options"), Some("nosniff"));
    let locations = r.json();
    let row = &locations["locations"][0];
    assert!(row["in_effect_since"].is_string(), "{row}");

    // Errors the framework makes itself are JSON too.
    for (reply, status) in [
        (c.get("/api/v1/payments?period=2026-11&extra=1"), 400),
        (c.get("/api/v1/payments"), 400),
        (
            c.get(&format!("/api/v1/locations/{seaview}/tier?on=26-1-1")),
            400,
        ),
        (c.get("/api/v1/no-such-route"), 404),
    ] {
        assert_eq!(reply.status, status, "{}", reply.text());
        assert!(
            reply.content_type.starts_with("application/json"),
            "{}",
            reply.content_type
        );
        let body: Value = reply.json();
        assert!(
            body["error"].is_string() && body["message"].is_string(),
            "{body}"
        );
        assert_eq!(reply.header("cache-control"), Some("no-store"));
    }

    // A body too large is refused from its Content-Length, before it is read, in JSON.
    let answer = announced(
        &server.url,
        &c.token,
        "/api/v1/qualifications",
        2 * 1024 * 1024,
    );
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(
        answer
            .to_ascii_lowercase()
            .contains("content-type: application/json"),
        "{answer}"
    );
    assert!(answer.contains(r#""error":"too_large""#), "{answer}");

    // A date the API used to read as the year 26 is refused, and nothing is recorded.
    let before = c
        .get(&format!("/api/v1/locations/{seaview}/determinations"))
        .json()["determinations"]
        .as_array()
        .unwrap()
        .len();
    for (inspected, published) in [("26-1-1", "2026-01-05"), ("2026-01-01", "+2026-01-05")] {
        let r = c.post(
            &format!("/api/v1/locations/{seaview}/cqc-ratings"),
            json!({ "inspected_on": inspected, "published_on": published, "overall": "good" }),
        );
        assert_eq!(r.status, 400, "{}", r.text());
        assert!(r.json()["message"].as_str().unwrap().contains("YYYY-MM-DD"));
    }
    // The API refuses a rating published in the future, as the portal does.
    let r = c.post(
        &format!("/api/v1/locations/{seaview}/cqc-ratings"),
        json!({ "inspected_on": "2026-01-01", "published_on": "2099-01-05", "overall": "good" }),
    );
    assert_eq!(r.status, 422, "{}", r.text());
    let after = c
        .get(&format!("/api/v1/locations/{seaview}/determinations"))
        .json()["determinations"]
        .as_array()
        .unwrap()
        .len();
    assert_eq!(before, after);

    // A month is written exactly YYYY-MM, so a period cannot be issued twice under two labels.
    let issue = |p: &str| c.post(&format!("/api/v1/payments/issue?period={p}"), json!({}));
    assert_eq!(issue("2026-03").status, 200);
    assert_eq!(issue("2026-%2B3").status, 400);
    assert_eq!(issue("2026-03").status, 409);

    // Sync bodies may be sent with zstd or gzip; anything else that claims an encoding, or a
    // damaged or oversized stream, is refused with JSON.
    let mo = Client::sign_in(&server.url, "monitor1");
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let sync_url = format!("{}/api/v1/sync", server.url);
    let empty = accredit_shared::sync::SyncRequest::default().encode();
    let zeros = vec![0u8; 40 * 1024 * 1024];
    let gzip_bomb = accredit_shared::sync::compress::gzip(&zeros).unwrap();
    let zstd_bomb = accredit_shared::sync::compress::zstd(&zeros).unwrap();
    assert!(gzip_bomb.len() < 1024 * 1024 && zstd_bomb.len() < 1024 * 1024);
    for (encoding, body, status) in [
        ("deflate", empty.clone(), 400),
        ("gzip", b"\x1f\x8bdamaged".to_vec(), 400),
        ("gzip", gzip_bomb, 413),
        ("zstd", b"\x28\xb5\x2f\xfddamaged".to_vec(), 400),
        ("zstd", zstd_bomb, 413),
    ] {
        let r = request_with(
            &agent,
            "POST",
            &sync_url,
            Some(&mo.token),
            &[("content-encoding", encoding)],
            Some((accredit_shared::sync::SYNC_MEDIA_TYPE, body)),
        )
        .unwrap();
        assert_eq!(r.status, status, "{encoding}: {}", r.text());
        assert!(r.content_type.starts_with("application/json"));
    }
    // The answer comes in what the client takes: zstd (Accredit's clients, Chromium), brotli
    // for the large answers that carry visits (Safari), gzip; a client that names no encodings
    // (earlier field apps) gets its request's own back. Each way syncs the monitor's visits.
    for (sent, accept, answered) in [
        (None, Some("gzip, deflate, br, zstd"), vec!["zstd"]),
        (None, Some("gzip, deflate, br"), vec!["br", "gzip"]),
        (None, Some("gzip"), vec!["gzip"]),
        (Some("gzip"), None, vec!["gzip"]),
        (None, None, vec![]),
    ] {
        let mut seen = std::collections::BTreeSet::new();
        let mut replica = accredit_shared::sync::Replica::new(mo.author());
        let report = replica
            .sync_with(
                |body: Vec<u8>| {
                    let mut headers = Vec::new();
                    let body = match sent {
                        Some(e) => {
                            headers.push(("content-encoding", e));
                            accredit_shared::sync::compress::gzip(&body).unwrap()
                        }
                        None => body,
                    };
                    if let Some(a) = accept {
                        headers.push(("accept-encoding", a));
                    }
                    let r = request_with(
                        &agent,
                        "POST",
                        &sync_url,
                        Some(&mo.token),
                        &headers,
                        Some((accredit_shared::sync::SYNC_MEDIA_TYPE, body)),
                    )
                    .unwrap();
                    assert_eq!(r.status, 200, "{sent:?} {accept:?}: {}", r.text());
                    let encoding = r.header("content-encoding");
                    if let Some(e) = encoding {
                        seen.insert(e.to_owned());
                    }
                    Ok::<_, std::io::Error>(
                        accredit_shared::sync::compress::Encoding::from_header(encoding)
                            .unwrap()
                            .decode(&r.body, 1 << 24)
                            .unwrap(),
                    )
                },
                10,
            )
            .unwrap();
        assert!(
            report.new_documents.len() > 1,
            "{accept:?}: visits came down"
        );
        assert_eq!(
            seen.into_iter().collect::<Vec<_>>(),
            answered,
            "{sent:?} {accept:?}"
        );
    }
    // JSON answers are compressed as the client takes them; a client that names nothing gets
    // them as they are.
    for (accept, answered) in [
        (Some("gzip, deflate, br, zstd"), Some("zstd")),
        (Some("gzip"), Some("gzip")),
        (None, None),
    ] {
        let headers: Vec<(&str, &str)> =
            accept.map(|a| ("accept-encoding", a)).into_iter().collect();
        let r = request_with(
            &agent,
            "GET",
            &format!("{}/api/v1/rule-sets/sources", server.url),
            Some(&mo.token),
            &headers,
            None,
        )
        .unwrap();
        assert_eq!(r.status, 200);
        assert_eq!(r.header("content-encoding"), answered, "{accept:?}");
        let body = accredit_shared::sync::compress::Encoding::from_header(answered)
            .unwrap()
            .decode(&r.body, 1 << 24)
            .unwrap();
        let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert!(
            v["rule_sets"][0]["source"]
                .as_str()
                .unwrap()
                .contains("[[tiers]]")
        );
        if answered.is_some() {
            assert!(r.body.len() * 2 < body.len(), "{answered:?} compresses");
        }
    }
    // The field app's exchange (zstd both ways) syncs as an uncompressed one does, in fewer
    // bytes.
    let mut replica = accredit_shared::sync::Replica::new(mo.author());
    let report = mo.sync(&mut replica).unwrap();
    assert!(report.new_documents.len() > 1);
    assert!(mo.wire[1].load(std::sync::atomic::Ordering::Relaxed) < report.bytes_received);

    // Clients discover the packs they may use.
    let packs = c.get("/api/v1/packs").json();
    let pack = &packs["packs"][0];
    assert_eq!(pack["id"], "cqc-quality-statements");
    let href = pack["href"].as_str().unwrap();
    assert_eq!(c.get(href).status, 200);
    assert!(pack["criteria"].as_u64().unwrap() > 50);
}

/// Sends only the head of a POST announcing `length` bytes and returns the whole answer.
fn announced(url: &str, token: &str, path: &str, length: usize) -> String {
    use std::io::{Read, Write};
    let addr = url.trim_start_matches("http://");
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(30)))
        .unwrap();
    write!(
        stream,
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\nContent-Type: application/json\r\nContent-Length: {length}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    while let Ok(n) = stream.read(&mut buf) {
        if n == 0 {
            break;
        }
        out.extend_from_slice(&buf[..n]);
        if String::from_utf8_lossy(&out).contains("}") {
            break;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// What a browser sends: the page's cookie and, on a POST, its origin.
fn browser(
    server: &Server,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    form: Option<&str>,
) -> accredit_e2e::Reply {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .build()
        .into();
    request_with(
        &agent,
        method,
        &format!("{}{path}", server.url),
        None,
        headers,
        form.map(|f| ("application/x-www-form-urlencoded", f.as_bytes().to_vec())),
    )
    .unwrap()
}

fn cookie_value(r: &accredit_e2e::Reply, name: &str) -> Option<String> {
    r.headers
        .iter()
        .filter(|(k, _)| k == "set-cookie")
        .filter_map(|(_, v)| v.split(';').next())
        .filter_map(|kv| kv.split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
}

#[test]
fn the_portal_refuses_other_sites_and_planted_words() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::demo(dir.path());
    let host = server.url.trim_start_matches("http://").to_owned();
    let own_origin = server.url.clone();

    // The sign-in page sets a key in a cookie and in the form.
    let page = browser(&server, "GET", "/sign-in", &[], None);
    let key = cookie_value(&page, "accredit_sign_in").expect("a sign-in key cookie");
    assert!(page.text().contains(&key));
    let cookie = format!("accredit_sign_in={key}");
    let good = format!("username=lead&password=accredit-demo&next=%2Flocations&form_key={key}");

    // Login CSRF: another site's form, or one without the key, signs nobody in.
    let forged = browser(
        &server,
        "POST",
        "/sign-in",
        &[("origin", "https://evil.example"), ("cookie", &cookie)],
        Some(&good),
    );
    assert_eq!(forged.status, 403);
    assert!(cookie_value(&forged, "accredit_session").is_none());
    let keyless = browser(
        &server,
        "POST",
        "/sign-in",
        &[("origin", &own_origin)],
        Some("username=lead&password=accredit-demo&next=%2Flocations"),
    );
    assert_eq!(keyless.status, 403);
    assert!(cookie_value(&keyless, "accredit_session").is_none());
    assert!(keyless.text().contains("This form has expired"));

    // An open redirect through a tab the browser would drop goes home instead.
    let evil_next =
        format!("username=lead&password=accredit-demo&next=%2F%09%2Fevil.example&form_key={key}");
    let signed = browser(
        &server,
        "POST",
        "/sign-in",
        &[
            ("origin", &own_origin),
            ("cookie", &cookie),
            ("host", &host),
        ],
        Some(&evil_next),
    );
    assert_eq!(signed.status, 303, "{}", signed.text());
    assert_eq!(signed.header("location"), Some("/"));
    let session = cookie_value(&signed, "accredit_session").expect("signed in");
    let _ = good;

    // Words in the address never reach the page's banner: the change comes from the server.
    let lead = Client::sign_in(&server.url, "lead");
    let seaview = location_id(&lead, "Seaview House");
    let planted = browser(
        &server,
        "GET",
        &format!("/locations/{seaview}?done=cqc&was=Platinum%20Plus%20-%20call%200800"),
        &[("cookie", &format!("accredit_session={session}"))],
        None,
    );
    assert_eq!(planted.status, 200);
    assert!(!planted.text().contains("Platinum"));

    // A published report says which tier the visit led to, from the day it took effect.
    let visits = lead
        .get(&format!("/api/v1/visits?location={seaview}"))
        .json();
    let published = visits["visits"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|v| v["visit"]["status"] == "published")
        .max_by_key(|v| v["visit"]["published_on"].as_str().unwrap().to_owned())
        .unwrap()["visit"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let report = browser(
        &server,
        "GET",
        &format!("/visits/{published}"),
        &[("cookie", &format!("accredit_session={session}"))],
        None,
    );
    let text = report.text();
    assert!(text.contains("Tier this visit led to"), "{text}");
    assert!(text.contains(r#"id="tier-after">Gold, from"#), "{text}");

    // After a CQC rating takes Seaview from Gold to Silver, the public register's "in effect
    // since" is the day the rating was published, not the day of the last visit.
    let commissioner = Client::sign_in(&server.url, "commissioner");
    let today = accredit_shared::calendar::london_date(chrono::Utc::now());
    let published_on = accredit_shared::calendar::add_days(today, -2);
    let r = commissioner.post(
        &format!("/api/v1/locations/{seaview}/cqc-ratings"),
        json!({
            "inspected_on": accredit_shared::calendar::add_days(today, -30).to_string(),
            "published_on": published_on.to_string(),
            "overall": "requires_improvement"
        }),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let register = browser(&server, "GET", "/register?q=Seaview", &[], None).text();
    let since = accredit_shared::labels::long_date(published_on);
    assert!(register.contains("Silver"), "{register}");
    assert!(
        register.contains(&since),
        "in effect since {since}: {register}"
    );

    // Any other form post from another site is refused before its handler runs.
    let out = browser(
        &server,
        "POST",
        "/sign-out",
        &[
            ("origin", "https://evil.example"),
            ("cookie", &format!("accredit_session={session}")),
        ],
        Some("form_key=whatever"),
    );
    assert_eq!(out.status, 403);
    let still = browser(
        &server,
        "GET",
        "/locations",
        &[("cookie", &format!("accredit_session={session}"))],
        None,
    );
    assert_eq!(
        still.status, 200,
        "the forged sign-out did not end the session"
    );
}
