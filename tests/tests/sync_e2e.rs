//! End to end through the real server on 127.0.0.1: two monitors edit the same visit offline,
//! sync in either order, end identical to each other and to the server with the real conflict
//! reported and nothing lost; then sign-off, a later revision, sharing, a provider comment,
//! publication, the tier and a payment line, all through the public API.

use accredit_e2e::{Client, Server};
use accredit_shared::records::{Answer, Priority, VisitType};
use accredit_shared::sync::Replica;
use accredit_shared::visit::*;
use chrono::Utc;
use serde_json::{Value, json};
use uuid::Uuid;

fn evidence_texts(doc: &VisitDoc) -> Vec<String> {
    let mut v: Vec<String> = doc
        .snapshot()
        .unwrap()
        .evidence
        .values()
        .map(|e| e.text.clone())
        .collect();
    v.sort();
    v
}

fn run_scenario(a_first: bool) {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::demo(dir.path());
    let pack = accredit_e2e::default_pack();
    let mo = Client::sign_in(&server.url, "monitor1");
    let sam = Client::sign_in(&server.url, "monitor2");
    let lead = Client::sign_in(&server.url, "lead");
    let provider = Client::sign_in(&server.url, "fylde");
    let stanley = mo.location_id("Stanley Park Lodge");

    // Mo creates the visit and syncs; Sam receives it.
    let visit_id = Uuid::new_v4();
    let header = VisitHeader {
        visit_id,
        location_id: stanley,
        pack_id: pack.id.clone(),
        pack_version: pack.version.clone(),
        visit_type: VisitType::Unannounced,
        announced: false,
        started_at: Utc::now(),
        plan_id: None,
    };
    let mut a = Replica::new(mo.author());
    a.insert(
        visit_id,
        VisitDoc::create(&header, &pack, mo.author()).unwrap(),
        None,
    );
    mo.sync(&mut a).unwrap();
    let mut b = Replica::new(sam.author());
    let report = sam.sync(&mut b).unwrap();
    assert!(report.new_documents.contains(&visit_id), "{report:?}");

    // Both work offline on the same visit.
    let criteria: Vec<String> = pack.criteria().map(|c| c.id.clone()).collect();
    let disputed = criteria[3].clone();
    {
        let da = a.doc_mut(&visit_id).unwrap();
        for c in &criteria[..40] {
            da.set_answer(&pack, c, Some(Answer::Score(3))).unwrap();
        }
        da.set_answer(&pack, &disputed, Some(Answer::Score(2)))
            .unwrap();
        da.set_notes(
            &pack,
            &criteria[0],
            "Two agency staff unaware of the safeguarding lead.",
        )
        .unwrap();
        da.add_evidence(
            &pack,
            &EvidenceDraft {
                criterion: Some(criteria[0].clone()),
                kind: EvidenceKind::StaffInterview,
                text: "Mo: spoke to night staff".into(),
                photo: None,
            },
        )
        .unwrap();
        da.add_action(
            &pack,
            &ActionDraft {
                criterion: Some(disputed.clone()),
                priority: Priority::High,
                description: "Update the falls risk assessments".into(),
                owner: "Manager".into(),
                due_on: Some(Utc::now().date_naive()),
            },
        )
        .unwrap();
    }
    {
        let db = b.doc_mut(&visit_id).unwrap();
        for c in &criteria[40..] {
            db.set_answer(&pack, c, Some(Answer::Score(4))).unwrap();
        }
        db.set_answer(&pack, &disputed, Some(Answer::Score(4)))
            .unwrap();
        db.add_evidence(
            &pack,
            &EvidenceDraft {
                criterion: None,
                kind: EvidenceKind::ResidentInterview,
                text: "Sam: resident praised activities".into(),
                photo: None,
            },
        )
        .unwrap();
    }
    if a_first {
        mo.sync(&mut a).unwrap();
        sam.sync(&mut b).unwrap();
        mo.sync(&mut a).unwrap();
    } else {
        sam.sync(&mut b).unwrap();
        mo.sync(&mut a).unwrap();
        sam.sync(&mut b).unwrap();
    }
    assert!(a.unacknowledged().is_empty() && b.unacknowledged().is_empty());
    let (sa, sb) = (
        a.doc(&visit_id).unwrap().snapshot().unwrap(),
        b.doc(&visit_id).unwrap().snapshot().unwrap(),
    );
    assert_eq!(sa, sb, "both devices end identical");
    assert_eq!(
        evidence_texts(a.doc(&visit_id).unwrap()),
        vec![
            "Mo: spoke to night staff",
            "Sam: resident praised activities"
        ]
    );
    assert_eq!(
        sa.answers().len(),
        criteria.len(),
        "every answer from both devices survived"
    );
    assert_eq!(sa.actions.len(), 1);
    // The server holds the same document and reports the real conflict with both authors.
    let a_heads: Vec<[u8; 32]> = a
        .doc_mut(&visit_id)
        .unwrap()
        .heads()
        .iter()
        .map(|h| h.0)
        .collect();
    assert_eq!(
        a.receipt(&visit_id)
            .unwrap()
            .iter()
            .map(|h| h.0)
            .collect::<Vec<_>>(),
        a_heads
    );
    let conflicts = lead
        .get(&format!("/api/v1/visits/{visit_id}/conflicts"))
        .json();
    let list = conflicts["conflicts"].as_array().unwrap();
    assert_eq!(list.len(), 1, "{conflicts}");
    assert_eq!(list[0]["criterion"], disputed.as_str());
    let mut by: Vec<(String, String)> = list[0]["values"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            (
                v["value"].as_str().unwrap().to_owned(),
                v["author"]["name"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    by.sort();
    assert_eq!(
        by,
        vec![
            ("2".to_owned(), "Mo Patel".to_owned()),
            ("4".to_owned(), "Sam Okafor".to_owned())
        ]
    );

    // Sam keeps working offline; meanwhile Mo resolves the conflict and signs off.
    let late_criterion = criteria[50].clone();
    b.doc_mut(&visit_id)
        .unwrap()
        .set_answer(&pack, &late_criterion, Some(Answer::Score(1)))
        .unwrap();
    {
        let da = a.doc_mut(&visit_id).unwrap();
        let c = da.conflicts().unwrap().remove(0);
        assert!(matches!(
            da.sign_off(Utc::now()),
            Err(VisitDocError::UnresolvedConflicts(1))
        ));
        da.resolve_conflict(
            &c.path,
            "2",
            "Falls log shows three unreviewed falls",
            Utc::now(),
        )
        .unwrap();
        da.sign_off(Utc::now()).unwrap();
    }
    mo.sync(&mut a).unwrap();
    let visit = lead.get(&format!("/api/v1/visits/{visit_id}")).json();
    assert_eq!(visit["visit"]["status"], "signed_off");
    assert_eq!(
        visit["record"]["results"][&disputed]["answer"],
        json!({"score": 2})
    );
    assert_eq!(
        visit["record"]["results"][&late_criterion]["answer"],
        json!({"score": 4})
    );
    assert_eq!(visit["record"]["signoff"]["by"]["name"], "Mo Patel");
    // Providers cannot see a visit before it is shared.
    assert_eq!(
        provider.get(&format!("/api/v1/visits/{visit_id}")).status,
        404
    );

    // Sam's late edit arrives: it becomes a pending revision; the signed record does not change.
    sam.sync(&mut b).unwrap();
    let visit = lead.get(&format!("/api/v1/visits/{visit_id}")).json();
    let revisions = visit["revisions"].as_array().unwrap();
    assert_eq!(revisions.len(), 2, "{visit}");
    assert_eq!(revisions[0]["state"], "accepted");
    assert_eq!(
        revisions[0]["record"]["results"][&late_criterion]["answer"],
        json!({"score": 4})
    );
    assert_eq!(revisions[1]["state"], "pending");
    assert_eq!(
        revisions[1]["record"]["results"][&late_criterion]["answer"],
        json!({"score": 1})
    );
    // A lead must decide on it before sharing.
    assert_eq!(
        lead.post(&format!("/api/v1/visits/{visit_id}/share"), json!({}))
            .status,
        409
    );
    assert_eq!(
        mo.post(
            &format!("/api/v1/visits/{visit_id}/revisions/2/reject"),
            json!({})
        )
        .status,
        403
    );
    assert_eq!(
        lead.post(
            &format!("/api/v1/visits/{visit_id}/revisions/2/reject"),
            json!({})
        )
        .status,
        200
    );

    // Share, provider comments within the window and confirms, lead publishes.
    let shared = lead.post(&format!("/api/v1/visits/{visit_id}/share"), json!({}));
    assert_eq!(shared.status, 200, "{}", shared.text());
    assert_eq!(
        lead.post(&format!("/api/v1/visits/{visit_id}/publish"), json!({}))
            .status,
        409,
        "window still open"
    );
    let seen = provider.get(&format!("/api/v1/visits/{visit_id}"));
    assert_eq!(seen.status, 200);
    assert_eq!(
        seen.json()["revisions"].as_array().unwrap().len(),
        1,
        "providers see only the shared revision"
    );
    let c = provider.post(&format!("/api/v1/visits/{visit_id}/comments"), json!({ "criterion": disputed, "body": "The falls were reviewed on 3 November; see the log." }));
    assert_eq!(c.status, 201, "{}", c.text());
    assert_eq!(
        provider
            .post(
                &format!("/api/v1/visits/{visit_id}/comments"),
                json!({ "criterion": "no.such", "body": "x" })
            )
            .status,
        422
    );
    assert_eq!(
        provider
            .post(&format!("/api/v1/visits/{visit_id}/confirm"), json!({}))
            .status,
        200
    );
    let published = lead.post(&format!("/api/v1/visits/{visit_id}/publish"), json!({}));
    assert_eq!(published.status, 200, "{}", published.text());
    let det = &published.json()["determination"];
    assert_eq!(
        det["visit"]["visit_id"],
        visit_id.to_string(),
        "the new visit sets the tier: {det}"
    );

    let visit = provider.get(&format!("/api/v1/visits/{visit_id}")).json();
    assert_eq!(visit["visit"]["status"], "published");
    assert_eq!(
        visit["comments"][0]["body"],
        "The falls were reviewed on 3 November; see the log."
    );

    // The tier, with its explanation, and a payment line linked to the determination.
    let tier = provider
        .get(&format!("/api/v1/locations/{stanley}/tier"))
        .json();
    assert_eq!(
        tier["determination"]["visit"]["visit_id"],
        visit_id.to_string()
    );
    assert!(
        tier["determination"]["scores"]["overall"].is_object()
            || tier["determination"]["scores"]["overall"].is_string(),
        "{tier}"
    );
    let period = Utc::now().format("%Y-%m").to_string();
    let pay = lead
        .get(&format!("/api/v1/payments?period={period}"))
        .json();
    let lines: Vec<&Value> = pay["lines"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|l| l["location_id"] == stanley.to_string())
        .collect();
    assert!(!lines.is_empty());
    assert!(
        lines[0]["determinations"]
            .as_array()
            .unwrap()
            .iter()
            .any(|k| k["location_id"] == stanley.to_string())
    );
    // The audit log recorded the lifecycle.
    let audit = lead
        .get(&format!("/api/v1/audit?location={stanley}"))
        .json();
    let actions: Vec<&str> = audit["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    for expected in [
        "visit.signed_off",
        "visit.revision_received",
        "visit.revision_rejected",
        "visit.shared",
        "visit.commented",
        "visit.published",
    ] {
        assert!(
            actions.contains(&expected),
            "{expected} missing from {actions:?}"
        );
    }
}

#[test]
fn two_monitors_offline_mo_syncs_first() {
    run_scenario(true);
}

#[test]
fn two_monitors_offline_sam_syncs_first() {
    run_scenario(false);
}

#[test]
fn payments_csv_totals_match_the_json_schedule() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::demo(dir.path());
    let commissioner = Client::sign_in(&server.url, "commissioner");
    let period = Utc::now().format("%Y-%m").to_string();
    let json = commissioner
        .get(&format!("/api/v1/payments?period={period}"))
        .json();
    let csv = commissioner.get_accept(&format!("/api/v1/payments?period={period}"), "text/csv");
    assert!(
        csv.content_type.starts_with("text/csv"),
        "{}",
        csv.content_type
    );
    let text = csv.text();
    let mut rows = text.lines();
    let header: Vec<&str> = rows.next().unwrap().split(',').collect();
    let amount = header.iter().position(|h| *h == "amount_pence").unwrap();
    let on_hold = header.iter().position(|h| *h == "on_hold_pence").unwrap();
    let (mut total, mut held, mut count) = (0i64, 0i64, 0usize);
    // Premium lines only (the demo's contract periods follow as `release` rows).
    for row in rows.filter(|r| r.starts_with("line,")) {
        let cols: Vec<&str> = row.split(',').collect();
        assert_eq!(cols.len(), header.len(), "{row}");
        total += cols[amount].parse::<i64>().unwrap();
        held += cols[on_hold].parse::<i64>().unwrap();
        count += 1;
    }
    assert_eq!(count, json["lines"].as_array().unwrap().len());
    assert_eq!(total, json["total_pence"].as_i64().unwrap());
    assert_eq!(held, json["total_on_hold_pence"].as_i64().unwrap());
    assert!(held > 0, "the demo's open s.42 enquiry puts money on hold");

    // Issuing freezes the lines; a later change shows as an adjustment line, never an edit.
    assert_eq!(
        commissioner
            .post(
                &format!("/api/v1/payments/issue?period={period}"),
                json!({})
            )
            .status,
        200
    );
    assert_eq!(
        commissioner
            .post(
                &format!("/api/v1/payments/issue?period={period}"),
                json!({})
            )
            .status,
        409
    );
    let locations = commissioner.get("/api/v1/locations").json();
    let stanley = locations["locations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["name"] == "Stanley Park Lodge")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let gates = commissioner
        .get(&format!("/api/v1/locations/{stanley}/tier"))
        .json();
    let gate_id = gates["determination"]["gates"][0]["gate_id"]
        .as_str()
        .map(str::to_owned);
    let opened = gates["determination"]["gates"][0]["opened_on"]
        .as_str()
        .unwrap()
        .to_owned();
    let gate_id = gate_id.unwrap_or_else(|| panic!("no gate id in {gates}"));
    let closed = commissioner.post(
        &format!("/api/v1/gates/{gate_id}/close"),
        json!({ "closed_on": opened, "outcome": "not_substantiated" }),
    );
    assert_eq!(closed.status, 200, "{}", closed.text());
    let after = commissioner
        .get(&format!("/api/v1/payments?period={period}"))
        .json();
    assert_eq!(
        after["total_pence"], json["total_pence"],
        "issued lines are kept as issued"
    );
    assert!(
        after["adjustments_total_pence"].as_i64().unwrap() > 0,
        "{after}"
    );
    let csv = commissioner
        .get_accept(&format!("/api/v1/payments?period={period}"), "text/csv")
        .text();
    assert!(csv.lines().any(|l| l.starts_with("adjustment,")));
}

#[test]
fn a_device_with_many_unsynced_visits_sends_them_in_bounded_bodies() {
    use accredit_shared::sync::replica::REQUEST_BUDGET;
    let dir = tempfile::tempdir().unwrap();
    let server = Server::demo(dir.path());
    let pack = accredit_e2e::default_pack();
    let mo = Client::sign_in(&server.url, "monitor1");
    let location = mo.location_id("Stanley Park Lodge");
    let mut replica = Replica::new(mo.author());
    let mut seed = 11u64;
    let mut ids = Vec::new();
    let mut largest = 0;
    for _ in 0..30 {
        let header = accredit_e2e::annual_visit(location, &pack);
        let mut doc = VisitDoc::create(&header, &pack, mo.author()).unwrap();
        for c in pack.criteria() {
            doc.set_notes(&pack, &c.id, &accredit_e2e::prose(&mut seed, 40))
                .unwrap();
        }
        largest = largest.max(doc.automerge().save_nocompress().len());
        ids.push(header.visit_id);
        replica.insert(header.visit_id, doc, None);
    }
    let mut bodies = Vec::new();
    replica
        .sync_with(
            |body| {
                bodies.push(body.len());
                mo.sync_body(body)
            },
            30,
        )
        .unwrap();
    assert!(replica.unacknowledged().is_empty(), "every visit stored");
    // More than a budget's worth of visits: they went whole, in two bodies or more, none much
    // past the budget.
    let carrying = bodies.iter().filter(|b| **b > largest).count();
    assert!(
        carrying >= 2
            && bodies
                .iter()
                .all(|b| *b < REQUEST_BUDGET + largest + 64 * 1024),
        "{} visits of up to {largest} bytes went in bounded bodies: {bodies:?}",
        ids.len()
    );
    // The server has them all: a second tablet of the same monitor receives every one, whole.
    let mut other = Replica::new(mo.author());
    mo.sync(&mut other).unwrap();
    for id in &ids {
        let theirs = other
            .doc(id)
            .expect("the visit came down")
            .snapshot()
            .unwrap();
        let mine = replica.doc(id).unwrap().snapshot().unwrap();
        assert_eq!(theirs, mine, "{id} arrived intact");
    }
}
