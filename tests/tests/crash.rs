//! Crash safety: kill the server process (SIGKILL) while devices are syncing; after a restart and
//! a re-sync, nothing the server acknowledged is lost and every device converges.

use std::sync::{Arc, Mutex};

use accredit_e2e::{Client, Server};
use accredit_shared::FrameworkPack;
use accredit_shared::records::Answer;
use accredit_shared::sync::Replica;
use accredit_shared::visit::*;
use uuid::Uuid;

#[test]
fn killing_the_server_mid_sync_loses_nothing_acknowledged() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = Server::demo(dir.path());
    let pack = FrameworkPack::from_toml(
        &std::fs::read_to_string(
            accredit_e2e::workspace().join("assets/frameworks/cqc-quality-statements.toml"),
        )
        .unwrap(),
    )
    .unwrap();
    let mo = Client::sign_in(&server.url, "monitor1");
    let locations = mo.get("/api/v1/locations").json();
    let location = Uuid::parse_str(locations["locations"][0]["id"].as_str().unwrap()).unwrap();
    let author = Author {
        user_id: mo.user_id(),
        name: mo.name(),
    };

    // Four devices' worth of visits, each synced in a loop of edit-and-sync until the kill.
    let acknowledged: Arc<Mutex<Vec<(Uuid, String)>>> = Arc::default();
    let mut handles = Vec::new();
    let mut visits = Vec::new();
    for t in 0..4 {
        let header = accredit_e2e::annual_visit(location, &pack);
        let visit = header.visit_id;
        visits.push(visit);
        let mut replica = Replica::new(author.clone());
        replica.insert(
            visit,
            VisitDoc::create(&header, &pack, author.clone()).unwrap(),
            None,
        );
        let (mo, pack, acknowledged) = (mo.clone(), pack.clone(), acknowledged.clone());
        handles.push(std::thread::spawn(move || {
            let criteria: Vec<String> = pack.criteria().map(|c| c.id.clone()).collect();
            let mut pending: Vec<String> = Vec::new();
            for i in 0..400 {
                let doc = replica.doc_mut(&visit).unwrap();
                let text = format!("device {t} edit {i}");
                doc.set_answer(
                    &pack,
                    &criteria[i % criteria.len()],
                    Some(Answer::Score(1 + (i % 4) as i32)),
                )
                .unwrap();
                doc.add_evidence(
                    &pack,
                    &EvidenceDraft {
                        criterion: None,
                        kind: EvidenceKind::Observation,
                        text: text.clone(),
                        photo: None,
                    },
                )
                .unwrap();
                pending.push(text);
                match mo.sync(&mut replica) {
                    Ok(_) if replica.unacknowledged().is_empty() => {
                        acknowledged
                            .lock()
                            .unwrap()
                            .extend(pending.drain(..).map(|p| (visit, p)));
                    }
                    Ok(_) => {}
                    Err(_) => break,
                }
            }
            replica
        }));
    }
    // Let some syncs complete, then kill the server in the middle of the others.
    loop {
        std::thread::sleep(std::time::Duration::from_millis(50));
        if acknowledged.lock().unwrap().len() >= 20 {
            break;
        }
    }
    server.kill();
    let mut replicas: Vec<Replica> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    let acked = acknowledged.lock().unwrap().clone();
    assert!(acked.len() >= 20);

    // Restart on the same data: everything acknowledged is there, before any device re-syncs.
    server.restart();
    let lead = Client::sign_in(&server.url, "lead");
    let mut check = Replica::new(Author {
        user_id: lead.user_id(),
        name: lead.name(),
    });
    lead.sync(&mut check).unwrap();
    for (visit, text) in &acked {
        let doc = check
            .doc(visit)
            .unwrap_or_else(|| panic!("visit {visit} lost"));
        let texts: Vec<String> = doc
            .snapshot()
            .unwrap()
            .evidence
            .values()
            .map(|e| e.text.clone())
            .collect();
        assert!(texts.contains(text), "acknowledged edit {text:?} lost");
    }
    // The devices re-sync what was unacknowledged and everyone converges.
    let mo = Client::sign_in(&server.url, "monitor1");
    for r in &mut replicas {
        mo.sync(r).unwrap();
        assert!(r.unacknowledged().is_empty());
    }
    lead.sync(&mut check).unwrap();
    for (r, visit) in replicas.iter().zip(&visits) {
        assert_eq!(
            r.doc(visit).unwrap().snapshot().unwrap(),
            check.doc(visit).unwrap().snapshot().unwrap()
        );
    }
}
