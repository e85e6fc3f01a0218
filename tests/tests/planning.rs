//! Visit planning end to end: the due list comes riskiest first; a lead plans a visit and the
//! monitor's tablet (the field app's workspace) lists it first; starting the planned visit links
//! it to the plan, which then reads started and signed off; reassigning moves it to another
//! monitor; cancelling needs a reason; only leads and commissioners plan.

use std::sync::Mutex;

use accredit_app::Workspace;
use accredit_app::server_api::ServerApi;
use accredit_app::sync_client;
use accredit_e2e::{Client, Server};
use accredit_shared::records::Answer;
use chrono::{Days, Utc};
use serde_json::{Value, json};

fn tablet(dir: &std::path::Path, url: &str, user: &str) -> Mutex<Workspace> {
    let ws = Mutex::new(Workspace::open(&dir.join(format!("{user}.db"))).expect("open store"));
    pollster::block_on(accredit_app::workspace::sign_in(
        &ws,
        &ServerApi::at(url, None),
        url,
        user,
        "accredit-demo",
        "tablet",
    ))
    .expect("sign in");
    ws
}

fn sync(ws: &Mutex<Workspace>) {
    let api = ws.lock().unwrap().api().unwrap();
    pollster::block_on(sync_client::sync(ws, &api, &mut |_| true)).expect("sync");
}

fn light_rank(v: &Value) -> u8 {
    match v["traffic_light"].as_str() {
        Some("red") => 0,
        Some("amber") => 1,
        _ => 2,
    }
}

#[test]
fn a_planned_visit_reaches_the_tablet_and_the_plan_follows_the_visit() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::demo(dir.path());
    let url = server.url.as_str();
    let lead = Client::sign_in(url, "lead");

    // The due list, riskiest first, then the earliest due.
    let due = lead.get("/api/v1/due-visits").json();
    let rows = due["due"].as_array().cloned().unwrap_or_default();
    assert!(!rows.is_empty(), "something is due in the demo data");
    for pair in rows.windows(2) {
        let key = |v: &Value| {
            (
                light_rank(v),
                v["due_on"].as_str().unwrap_or_default().to_owned(),
            )
        };
        assert!(
            key(&pair[0]) <= key(&pair[1]),
            "not riskiest first: {pair:?}"
        );
    }

    // monitor1's caseload: plan a visit at the one its risk order puts last.
    let mo = tablet(dir.path(), url, "monitor1");
    let today = accredit_shared::calendar::london_date(Utc::now());
    let before = mo.lock().unwrap().caseload("", today).unwrap();
    let last = before.last().expect("a caseload").location.clone();
    let monitor1 = Client::sign_in(url, "monitor1").user_id();
    let monitor2 = Client::sign_in(url, "monitor2").user_id();
    let day = today.checked_add_days(Days::new(3)).unwrap();
    let r = lead.post(
        "/api/v1/plans",
        json!({ "location_id": last.id, "visit_type": "follow_up", "planned_on": day.to_string(), "monitor_ids": [monitor1] }),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let plan = r.json();
    let plan_id = plan["id"].as_str().unwrap_or_default().to_owned();
    assert_eq!(plan["status"], "planned");
    let again = lead.get("/api/v1/due-visits").json();
    assert!(
        !again["due"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d["location_id"] == json!(last.id)),
        "a planned location is no longer due and unplanned"
    );

    // The tablet, after a sync, lists the planned location first.
    sync(&mo);
    let after = mo.lock().unwrap().caseload("", today).unwrap();
    assert_eq!(after[0].location.id, last.id);
    let planned = after[0]
        .next_planned
        .clone()
        .expect("the plan is on the tablet");
    assert_eq!(planned.planned_on, day);

    // Starting it from the plan links the visit.
    let visit = mo
        .lock()
        .unwrap()
        .start_planned_visit(planned.id, true, Utc::now())
        .expect("started from the plan");
    assert!(
        mo.lock().unwrap().caseload("", today).unwrap()[0]
            .next_planned
            .is_none(),
        "the plan is started on this tablet"
    );
    sync(&mo);
    let p = lead.get(&format!("/api/v1/plans/{plan_id}")).json();
    assert_eq!(p["status"], "started", "{p}");
    assert_eq!(p["visit_id"], json!(visit));
    assert_eq!(p["visit_type"], "follow_up");

    {
        let mut w = mo.lock().unwrap();
        let criteria: Vec<(String, i32)> = w
            .pack()
            .criteria()
            .map(|c| (c.id.clone(), c.scale.max))
            .collect();
        for (c, max) in criteria {
            w.set_answer(visit, &c, Some(Answer::Score(max))).unwrap();
        }
        w.sign_off(visit, Utc::now()).unwrap();
    }
    sync(&mo);
    assert_eq!(
        lead.get(&format!("/api/v1/plans/{plan_id}")).json()["status"],
        "signed_off"
    );

    // Another plan, reassigned to monitor2: monitor1 no longer has it.
    let r = lead.post(
        "/api/v1/plans",
        json!({ "location_id": last.id, "visit_type": "annual", "planned_on": day.to_string(), "monitor_ids": [monitor1] }),
    );
    let second = r.json()["id"].as_str().unwrap_or_default().to_owned();
    let r = lead.post(
        &format!("/api/v1/plans/{second}/reassign"),
        json!({ "planned_on": day.to_string(), "monitor_ids": [monitor2] }),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let mine = Client::sign_in(url, "monitor1").get("/api/v1/plans").json();
    assert!(
        !mine["plans"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["id"] == json!(second))
    );
    let theirs = Client::sign_in(url, "monitor2").get("/api/v1/plans").json();
    assert!(
        theirs["plans"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["id"] == json!(second))
    );

    // Cancelling needs a reason.
    assert_eq!(
        lead.post(
            &format!("/api/v1/plans/{second}/cancel"),
            json!({ "reason": " " })
        )
        .status,
        422
    );
    assert_eq!(
        lead.post(
            &format!("/api/v1/plans/{second}/cancel"),
            json!({ "reason": "provider closed for refurbishment" })
        )
        .status,
        204
    );
    assert_eq!(
        lead.get(&format!("/api/v1/plans/{second}")).json()["status"],
        "cancelled"
    );
    assert_eq!(
        lead.post(
            &format!("/api/v1/plans/{second}/reassign"),
            json!({ "planned_on": day.to_string(), "monitor_ids": [monitor2] })
        )
        .status,
        409
    );

    // A day in the past, no monitor, a provider or monitor planning: refused.
    let past = today.checked_sub_days(Days::new(1)).unwrap();
    for body in [
        json!({ "location_id": last.id, "visit_type": "annual", "planned_on": past.to_string(), "monitor_ids": [monitor1] }),
        json!({ "location_id": last.id, "visit_type": "annual", "planned_on": day.to_string(), "monitor_ids": [] }),
    ] {
        assert_eq!(lead.post("/api/v1/plans", body).status, 422);
    }
    let body = json!({ "location_id": last.id, "visit_type": "annual", "planned_on": day.to_string(), "monitor_ids": [monitor1] });
    assert_eq!(
        Client::sign_in(url, "monitor1")
            .post("/api/v1/plans", body.clone())
            .status,
        403
    );
    assert_eq!(
        Client::sign_in(url, "coastal")
            .post("/api/v1/plans", body)
            .status,
        403
    );
    assert_eq!(
        Client::sign_in(url, "coastal").get("/api/v1/plans").status,
        403
    );
    assert_eq!(
        Client::sign_in(url, "coastal")
            .get("/api/v1/due-visits")
            .status,
        403
    );
}
