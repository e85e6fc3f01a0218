//! Accounts through the JSON API against the real server: a one-time password must be replaced
//! before anything else works, the password policy refuses short and common passwords, a
//! disabled account's tokens stop at once, a reset signs the person out everywhere, the last
//! commissioner cannot lock everyone out, and only commissioners manage people.

use accredit_e2e::{Client, Server, agent, request};
use serde_json::{Value, json};

fn sign_in_raw(url: &str, username: &str, password: &str) -> accredit_e2e::Reply {
    request(
        &agent(),
        "POST",
        &format!("{url}/api/v1/session"),
        None,
        Some((
            "application/json",
            json!({ "username": username, "password": password, "device_name": "test tablet" })
                .to_string()
                .into_bytes(),
        )),
    )
    .expect("sign-in request")
}

fn call(
    url: &str,
    method: &str,
    path: &str,
    token: &str,
    body: Option<Value>,
) -> accredit_e2e::Reply {
    request(
        &agent(),
        method,
        &format!("{url}{path}"),
        Some(token),
        body.map(|b| ("application/json", b.to_string().into_bytes())),
    )
    .expect("request")
}

fn add_monitor(chris: &Client, username: &str) -> (String, String) {
    let r = chris.post(
        "/api/v1/users",
        json!({ "username": username, "display_name": "Nadia Khan", "role": "monitor", "email": format!("{username}@council.example") }),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let v = r.json();
    (
        v["user_id"].as_str().unwrap_or_default().to_owned(),
        v["one_time_password"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
    )
}

#[test]
fn a_one_time_password_must_be_replaced_and_a_disabled_account_stops_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::demo(dir.path());
    let url = server.url.as_str();
    let chris = Client::sign_in(url, "commissioner");
    let (id, one_time) = add_monitor(&chris, "nadia.k");
    assert_eq!(one_time.len(), 19);

    // Signed in with the one-time password: only the password change and sign-out work.
    let r = sign_in_raw(url, "nadia.k", &one_time);
    assert_eq!(r.status, 201, "{}", r.text());
    let s = r.json();
    assert_eq!(s["password_change_required"], true);
    let token = s["token"].as_str().unwrap_or_default().to_owned();
    for path in ["/api/v1/me", "/api/v1/locations", "/api/v1/visits"] {
        let r = call(url, "GET", path, &token, None);
        assert_eq!(r.status, 403, "{path}");
        assert_eq!(r.json()["error"], "password_change_required", "{path}");
    }
    let sync = call(url, "POST", "/api/v1/sync", &token, Some(json!({})));
    assert_eq!(sync.status, 403);

    // The policy: too short, common, the username, the wrong current password.
    for (current, new, status) in [
        (one_time.as_str(), "short one", 422),
        (one_time.as_str(), "qwertyuiopasdfgh", 422),
        (one_time.as_str(), "nadia.k's long password", 422),
        ("not the one", "harbour lantern biscuit", 401),
    ] {
        let r = call(
            url,
            "POST",
            "/api/v1/password",
            &token,
            Some(json!({ "current_password": current, "new_password": new })),
        );
        assert_eq!(r.status, status, "{new}: {}", r.text());
    }
    let r = call(
        url,
        "POST",
        "/api/v1/password",
        &token,
        Some(json!({ "current_password": one_time, "new_password": "harbour lantern biscuit" })),
    );
    assert_eq!(r.status, 204, "{}", r.text());
    assert_eq!(call(url, "GET", "/api/v1/me", &token, None).status, 200);
    assert_eq!(
        sign_in_raw(url, "nadia.k", &one_time).status,
        401,
        "the one-time password works once"
    );
    let nadia = Client::sign_in_with(url, "nadia.k", "harbour lantern biscuit");
    assert_eq!(nadia.session["password_change_required"], false);

    // Devices: both sessions listed for the commissioner.
    let devices = chris.get(&format!("/api/v1/users/{id}/devices")).json();
    let live = devices["devices"]
        .as_array()
        .map(|d| d.iter().filter(|d| d["revoked_at"].is_null()).count())
        .unwrap_or_default();
    assert_eq!(live, 2);

    // Disabled: every token stops on its next request; nothing else about her is lost.
    let r = chris.post(&format!("/api/v1/users/{id}/disable"), json!({}));
    assert_eq!(r.status, 204, "{}", r.text());
    assert_eq!(call(url, "GET", "/api/v1/me", &token, None).status, 401);
    assert_eq!(nadia.get("/api/v1/me").status, 401);
    assert_eq!(
        sign_in_raw(url, "nadia.k", "harbour lantern biscuit").status,
        401
    );
    let r = chris.post(&format!("/api/v1/users/{id}/enable"), json!({}));
    assert_eq!(r.status, 204);
    assert_eq!(
        nadia.get("/api/v1/me").status,
        401,
        "enabling does not revive ended sessions"
    );
    let back = Client::sign_in_with(url, "nadia.k", "harbour lantern biscuit");

    // A reset: a new one-time password, and every session ends.
    let r = chris.post(&format!("/api/v1/users/{id}/reset-password"), json!({}));
    assert_eq!(r.status, 200, "{}", r.text());
    let again = r.json()["one_time_password"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert_ne!(again, one_time);
    assert_eq!(back.get("/api/v1/me").status, 401);
    assert_eq!(
        sign_in_raw(url, "nadia.k", "harbour lantern biscuit").status,
        401
    );
    assert_eq!(
        sign_in_raw(url, "nadia.k", &again).json()["password_change_required"],
        true
    );

    // The audit log says what happened, and holds no email address.
    let audit = chris.get("/api/v1/audit?limit=1000").text();
    for action in [
        "user.created",
        "user.disabled",
        "user.enabled",
        "user.password_changed",
        "user.password_reset",
    ] {
        assert!(audit.contains(action), "{action} audited");
    }
    assert!(!audit.contains("nadia.k@council.example"));
}

#[test]
fn caseloads_change_what_a_monitor_syncs_and_only_commissioners_manage_people() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::demo(dir.path());
    let url = server.url.as_str();
    let chris = Client::sign_in(url, "commissioner");
    let (id, one_time) = add_monitor(&chris, "sam.w");
    let r = sign_in_raw(url, "sam.w", &one_time);
    let token = r.json()["token"].as_str().unwrap_or_default().to_owned();
    call(
        url,
        "POST",
        "/api/v1/password",
        &token,
        Some(json!({ "current_password": one_time, "new_password": "copper kettle meadow" })),
    );
    let sam = Client::sign_in_with(url, "sam.w", "copper kettle meadow");
    let visible = |c: &Client| {
        c.get("/api/v1/locations").json()["locations"]
            .as_array()
            .map_or(0, Vec::len)
    };
    assert_eq!(visible(&sam), 0, "a new monitor covers nothing");

    let all = chris.get("/api/v1/locations").json();
    let first = all["locations"][0]["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let r = chris.post(
        &format!("/api/v1/users/{id}/caseload"),
        json!({ "add": [first] }),
    );
    assert_eq!(r.json()["added"], 1, "{}", r.text());
    assert_eq!(visible(&sam), 1);
    let r = chris.post(
        &format!("/api/v1/users/{id}/caseload"),
        json!({ "remove": [first] }),
    );
    assert_eq!(r.json()["removed"], 1);
    assert_eq!(visible(&sam), 0);
    let r = chris.post(
        &format!("/api/v1/users/{id}/caseload"),
        json!({ "add": ["00000000-0000-4000-8000-000000000000"] }),
    );
    assert_eq!(r.status, 422, "an unknown location is refused");

    // Nobody but a commissioner reaches any of it.
    for who in ["lead", "monitor1", "coastal"] {
        let c = Client::sign_in(url, who);
        for (method, path) in [
            ("GET", "/api/v1/users".to_owned()),
            ("POST", "/api/v1/users".to_owned()),
            ("GET", format!("/api/v1/users/{id}")),
            ("PUT", format!("/api/v1/users/{id}")),
            ("POST", format!("/api/v1/users/{id}/disable")),
            ("POST", format!("/api/v1/users/{id}/enable")),
            ("POST", format!("/api/v1/users/{id}/reset-password")),
            ("GET", format!("/api/v1/users/{id}/devices")),
            ("POST", format!("/api/v1/users/{id}/sign-out-everywhere")),
            ("GET", format!("/api/v1/users/{id}/caseload")),
            ("POST", format!("/api/v1/users/{id}/caseload")),
        ] {
            let body = json!({ "username": "x.y", "display_name": "X", "role": "commissioner", "email": "x@council.example" });
            let r = call(
                url,
                method,
                &path,
                &c.token,
                (method != "GET").then_some(body),
            );
            assert!(
                matches!(r.status, 403 | 404 | 400),
                "{who} {method} {path}: {}",
                r.status
            );
        }
    }
    assert_eq!(
        sam.get("/api/v1/me").status,
        200,
        "nothing a refused caller sent took effect"
    );

    // The only commissioner can neither be disabled nor lose the role.
    let me = chris.user_id();
    let r = chris.post(&format!("/api/v1/users/{me}/disable"), json!({}));
    assert_eq!(r.status, 422);
    let r = call(
        url,
        "PUT",
        &format!("/api/v1/users/{me}"),
        &chris.token,
        Some(
            json!({ "display_name": "Chris Hall", "role": "lead", "email": "chris@council.example" }),
        ),
    );
    assert_eq!(r.status, 422, "{}", r.text());
    assert_eq!(chris.get("/api/v1/users").status, 200);

    // A monitor who becomes a lead loses the caseload, and the role applies at once.
    chris.post(
        &format!("/api/v1/users/{id}/caseload"),
        json!({ "add": [first] }),
    );
    let r = call(
        url,
        "PUT",
        &format!("/api/v1/users/{id}"),
        &chris.token,
        Some(json!({ "display_name": "Sam W", "role": "lead", "email": "sam@council.example" })),
    );
    assert_eq!(r.json()["caseload_removed"], 1, "{}", r.text());
    assert_eq!(sam.get("/api/v1/me").json()["role"], "lead");
}
