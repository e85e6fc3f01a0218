//! A visit's history through the real server: a revision read back from the document's own
//! history equals the record signed; a later edit's revision lists exactly what changed, with
//! each domain's percentage before and after; providers see published visits compared, never
//! revisions in review; and a published visit compares with the previous published one.

use accredit_e2e::{Client, Server, default_pack};
use accredit_shared::records::{Answer, VisitType};
use accredit_shared::sync::Replica;
use accredit_shared::visit::*;
use chrono::Utc;
use serde_json::{Value, json};
use uuid::Uuid;

#[test]
fn revisions_read_from_history_and_what_changed_between_them() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::demo(dir.path());
    let pack = default_pack();
    let mo = Client::sign_in(&server.url, "monitor1");
    let sam = Client::sign_in(&server.url, "monitor2");
    let lead = Client::sign_in(&server.url, "lead");
    let fylde = Client::sign_in(&server.url, "fylde");
    let stanley = mo.location_id("Stanley Park Lodge");
    let criteria: Vec<String> = pack.criteria().map(|c| c.id.clone()).collect();

    // Mo scores every criterion 3; Sam has the visit on his tablet before Mo signs.
    let visit_id = Uuid::new_v4();
    let header = VisitHeader {
        visit_id,
        location_id: stanley,
        pack_id: pack.id.clone(),
        pack_version: pack.version.clone(),
        visit_type: VisitType::Annual,
        announced: true,
        started_at: Utc::now(),
        plan_id: None,
    };
    let mut a = Replica::new(mo.author());
    a.insert(
        visit_id,
        VisitDoc::create(&header, &pack, mo.author()).unwrap(),
        None,
    );
    {
        let d = a.doc_mut(&visit_id).unwrap();
        for c in &criteria {
            d.set_answer(&pack, c, Some(Answer::Score(3))).unwrap();
        }
    }
    mo.sync(&mut a).unwrap();
    let mut b = Replica::new(sam.author());
    sam.sync(&mut b).unwrap();
    a.doc_mut(&visit_id).unwrap().sign_off(Utc::now()).unwrap();
    mo.sync(&mut a).unwrap();
    // Sam's later edits: one score down, a note, an action.
    {
        let d = b.doc_mut(&visit_id).unwrap();
        d.set_answer(&pack, &criteria[0], Some(Answer::Score(1)))
            .unwrap();
        d.set_notes(&pack, &criteria[5], "Rota gaps on three nights")
            .unwrap();
        d.add_action(
            &pack,
            &ActionDraft {
                criterion: Some(criteria[0].clone()),
                priority: accredit_shared::records::Priority::High,
                description: "Fill the night rota".into(),
                owner: "Manager".into(),
                due_on: None,
            },
        )
        .unwrap();
    }
    sam.sync(&mut b).unwrap();

    // Revision 1, read from the document's history, is the record signed (the stored copy).
    let detail = lead.get(&format!("/api/v1/visits/{visit_id}")).json();
    assert_eq!(detail["revisions"].as_array().unwrap().len(), 2, "{detail}");
    let r1 = lead.get(&format!("/api/v1/visits/{visit_id}/revisions/1"));
    assert_eq!(r1.status, 200, "{}", r1.text());
    let r1 = r1.json();
    assert_eq!(r1["record"], detail["revisions"][0]["record"]);
    assert_eq!(r1["record"]["signoff"]["by"]["name"], "Mo Patel");
    let r2 = lead
        .get(&format!("/api/v1/visits/{visit_id}/revisions/2"))
        .json();
    assert_eq!(r2["state"], "pending");
    assert_eq!(r2["record"], detail["revisions"][1]["record"]);

    // What changed in revision 2: exactly Sam's edits, and the first domain's score fell.
    let c = lead.get(&format!("/api/v1/visits/{visit_id}/revisions/2/changes"));
    assert_eq!(c.status, 200, "{}", c.text());
    let c = c.json();
    let results = c["diff"]["results"].as_object().unwrap();
    let mut changed: Vec<&String> = results.keys().collect();
    changed.sort();
    let mut expected = vec![&criteria[0], &criteria[5]];
    expected.sort();
    assert_eq!(changed, expected, "{}", c["diff"]);
    assert_eq!(
        results[&criteria[0]]["before"]["answer"],
        json!({"score": 3})
    );
    assert_eq!(
        results[&criteria[0]]["after"]["answer"],
        json!({"score": 1})
    );
    assert_eq!(
        results[&criteria[5]]["after"]["notes"],
        "Rota gaps on three nights"
    );
    let actions: Vec<&Value> = c["diff"]["actions"].as_object().unwrap().values().collect();
    assert_eq!(actions.len(), 1);
    assert_eq!(actions[0]["change"], "added");
    let domains = c["scores"]["domains"].as_array().unwrap();
    let changed_domains: Vec<&Value> = domains
        .iter()
        .filter(|d| d["before"] != d["after"])
        .collect();
    assert_eq!(changed_domains.len(), 1, "{domains:?}");
    assert_eq!(
        lead.get(&format!("/api/v1/visits/{visit_id}/revisions/1/changes"))
            .status,
        404,
        "revision 1 has nothing before it"
    );
    assert_eq!(
        lead.get(&format!("/api/v1/visits/{visit_id}/revisions/0"))
            .status,
        400
    );

    // The portal page says the same, for the lead deciding it.
    let page = accredit_e2e::Portal::sign_in(&server.url, "lead")
        .get(&format!("/visits/{visit_id}/revisions/2/changes"));
    assert_eq!(page.status, 200);
    let text = page.text();
    assert!(text.contains("Rota gaps on three nights"), "{text}");
    assert!(text.contains("Fill the night rota"));

    // Reject the edits, share, and publish: providers see the published comparison but never
    // revision changes, nor a revision they were not shown.
    assert_eq!(
        lead.post(
            &format!("/api/v1/visits/{visit_id}/revisions/2/reject"),
            json!({})
        )
        .status,
        200
    );
    let r = lead.post(&format!("/api/v1/visits/{visit_id}/share"), json!({}));
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        fylde
            .post(&format!("/api/v1/visits/{visit_id}/confirm"), json!({}))
            .status,
        200
    );
    let published = lead.post(&format!("/api/v1/visits/{visit_id}/publish"), json!({}));
    assert_eq!(published.status, 200, "{}", published.text());
    assert_eq!(
        fylde
            .get(&format!("/api/v1/visits/{visit_id}/revisions/2/changes"))
            .status,
        403
    );
    assert_eq!(
        fylde
            .get(&format!("/api/v1/visits/{visit_id}/revisions/2"))
            .status,
        404
    );
    let cmp = fylde.get(&format!("/api/v1/visits/{visit_id}/compare-previous"));
    assert_eq!(cmp.status, 200, "{}", cmp.text());
    let cmp = cmp.json();
    assert_eq!(cmp["to"][0], visit_id.to_string());
    assert_ne!(cmp["from"][0], visit_id.to_string());
    // Every criterion now scores 3; the previous visit's answers differ somewhere.
    assert!(!cmp["diff"]["results"].as_object().unwrap().is_empty());
    assert!(
        cmp["scores"]["overall"]["after"].is_object(),
        "{}",
        cmp["scores"]
    );
    // Another provider's visit is not theirs to compare.
    let coastal = Client::sign_in(&server.url, "coastal");
    assert_eq!(
        coastal
            .get(&format!("/api/v1/visits/{visit_id}/compare-previous"))
            .status,
        404
    );
}
