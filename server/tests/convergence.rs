//! Convergence under a faulty link: N devices make random edits to one visit and sync in a random
//! schedule with the server's real sync handler on a real SQLite database, over a link that drops
//! requests and responses, duplicates requests and delivers stale ones late. After the link heals,
//! every replica and the server hold the same visit, and every edit is there.

use std::collections::{BTreeMap, BTreeSet};

use accredit_server::auth::{Caller, Role};
use accredit_server::state::{AppState, Config};
use accredit_server::{default_assets_dir, docstore, open, sync_server};
use accredit_shared::FrameworkPack;
use accredit_shared::records::{Answer, VisitType};
use accredit_shared::sync::Replica;
use accredit_shared::visit::{Author, EvidenceDraft, EvidenceKind, VisitDoc, VisitHeader};
use chrono::Utc;
use proptest::prelude::*;
use rusqlite::params;
use uuid::Uuid;

#[derive(Debug)]
struct Dropped;
impl std::fmt::Display for Dropped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("message lost")
    }
}
impl std::error::Error for Dropped {}

#[derive(Clone, Debug)]
enum Op {
    Edit {
        device: usize,
        criterion: usize,
        score: i32,
    },
    Sync {
        device: usize,
        faults: Vec<u8>,
    },
}

fn op(devices: usize) -> impl Strategy<Value = Op> {
    prop_oneof![
        (0..devices, 0..12usize, 1..=4i32).prop_map(|(device, criterion, score)| Op::Edit {
            device,
            criterion,
            score
        }),
        (0..devices, proptest::collection::vec(0u8..10, 1..6))
            .prop_map(|(device, faults)| Op::Sync { device, faults }),
    ]
}

struct World {
    state: AppState,
    pack: FrameworkPack,
    callers: Vec<Caller>,
    replicas: Vec<Replica>,
    stale: Vec<Vec<Vec<u8>>>,
    _dir: tempfile::TempDir,
}

fn world(devices: usize) -> (World, Uuid) {
    let dir = tempfile::tempdir().unwrap();
    let state = open(Config::new(dir.path().join("data")), &default_assets_dir()).unwrap();
    let pack = state
        .packs
        .get("cqc-quality-statements", "2026.1")
        .unwrap()
        .clone();
    let provider = Uuid::new_v4();
    let location = Uuid::new_v4();
    let mut callers = Vec::new();
    state
        .db
        .write(|tx| {
            tx.execute("INSERT INTO providers (id, name) VALUES (?1, 'P')", [provider.to_string()])?;
            tx.execute(
                "INSERT INTO locations (id, provider_id, cqc_location_id, name, service_type, registered_from) VALUES (?1, ?2, '1-1', 'Home', 'residential', '2020-01-01')",
                [location.to_string(), provider.to_string()],
            )?;
            for i in 0..devices {
                let user = Uuid::new_v4();
                // Accounts are made directly: password hashing is not what this test is about.
                tx.execute(
                    "INSERT INTO users (id, username, display_name, role, password_hash, created_at) VALUES (?1, ?2, ?3, 'monitor', 'x', 'now')",
                    params![user.to_string(), format!("m{i}"), format!("Monitor {i}")],
                )?;
                tx.execute("INSERT INTO caseload (monitor_id, location_id) VALUES (?1, ?2)", [user.to_string(), location.to_string()])?;
                callers.push(Caller { user_id: user, name: format!("Monitor {i}"), role: Role::Monitor, provider_id: None, device_id: Uuid::new_v4(), password_change_due: false });
            }
            Ok(())
        })
        .unwrap();
    let replicas: Vec<Replica> = callers
        .iter()
        .map(|c| {
            Replica::new(Author {
                user_id: c.user_id,
                name: c.name.clone(),
            })
        })
        .collect();
    let mut w = World {
        state,
        pack,
        callers,
        replicas,
        stale: vec![Vec::new(); devices],
        _dir: dir,
    };
    let visit = Uuid::new_v4();
    let header = VisitHeader {
        visit_id: visit,
        location_id: location,
        pack_id: w.pack.id.clone(),
        pack_version: w.pack.version.clone(),
        visit_type: VisitType::Annual,
        announced: true,
        started_at: Utc::now(),
        plan_id: None,
    };
    let author = Author {
        user_id: w.callers[0].user_id,
        name: w.callers[0].name.clone(),
    };
    w.replicas[0].insert(
        visit,
        VisitDoc::create(&header, &w.pack, author).unwrap(),
        None,
    );
    for d in 0..devices {
        w.sync(d, &[]).unwrap();
    }
    (w, visit)
}

impl World {
    /// One sync run for a device; `faults` decide, message by message, what the link does.
    fn sync(&mut self, device: usize, faults: &[u8]) -> Result<(), String> {
        let state = &self.state;
        let caller = &self.callers[device];
        let stale = &mut self.stale[device];
        let mut n = 0usize;
        let result = self.replicas[device].sync_with(
            |body| {
                let fault = faults.get(n).copied().unwrap_or(9);
                n += 1;
                let deliver = |b: &[u8]| sync_server::handle(state, caller, b).map_err(|_| Dropped);
                match fault {
                    0 => Err(Dropped),
                    1 => {
                        deliver(&body)?;
                        Err(Dropped)
                    }
                    2 => {
                        deliver(&body)?;
                        deliver(&body)
                    }
                    3 => {
                        stale.push(body.clone());
                        deliver(&body)
                    }
                    4 if !stale.is_empty() => {
                        let old = stale.remove(0);
                        let _ = deliver(&old);
                        deliver(&body)
                    }
                    _ => deliver(&body),
                }
            },
            40,
        );
        result.map(|_| ()).map_err(|e| e.to_string())
    }
}

fn server_snapshot(w: &World, visit: Uuid) -> accredit_shared::visit::VisitSnapshot {
    w.state
        .db
        .read(|tx| {
            let doc = docstore::load(tx, visit)?.unwrap();
            Ok(VisitDoc::read_automerge(&doc, None).unwrap())
        })
        .unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn replicas_converge_and_keep_every_edit(devices in 2usize..=4, ops in proptest::collection::vec(op(4), 1..40)) {
        let (mut w, visit) = world(devices);
        let criteria: Vec<String> = w.pack.criteria().take(12).map(|c| c.id.clone()).collect();
        let mut evidence = BTreeSet::new();
        let mut written: BTreeMap<String, BTreeSet<i32>> = BTreeMap::new();
        for (i, op) in ops.into_iter().enumerate() {
            match op {
                Op::Edit { device, criterion, score } => {
                    let device = device % devices;
                    let pack = w.pack.clone();
                    let doc = w.replicas[device].doc_mut(&visit).unwrap();
                    let in_conflict = doc.conflicts().unwrap().iter().any(|c| {
                        c.criterion.as_deref() == Some(criteria[criterion].as_str())
                            && c.path.last().map(String::as_str) == Some("answer")
                    });
                    // A score in conflict is refused until someone keeps one with a reason.
                    match doc.set_answer(&pack, &criteria[criterion], Some(Answer::Score(score))) {
                        Ok(()) => {
                            prop_assert!(!in_conflict, "a score in conflict was overwritten");
                            written.entry(criteria[criterion].clone()).or_default().insert(score);
                        }
                        Err(e) => prop_assert!(in_conflict, "refused without a conflict: {}", e),
                    }
                    let text = format!("edit {i} on device {device}");
                    doc.add_evidence(&pack, &EvidenceDraft { criterion: Some(criteria[criterion].clone()), kind: EvidenceKind::Observation, text: text.clone(), photo: None }).unwrap();
                    evidence.insert(text);
                }
                Op::Sync { device, faults } => {
                    // A failed run is what a faulty link does; the next one carries on.
                    let _ = w.sync(device % devices, &faults);
                }
            }
        }
        // The link heals: everyone syncs until nothing is left to exchange.
        for _ in 0..3 {
            for d in 0..devices {
                w.sync(d, &[]).unwrap();
            }
        }
        let server = server_snapshot(&w, visit);
        for d in 0..devices {
            prop_assert!(w.replicas[d].unacknowledged().is_empty());
            let snap = w.replicas[d].doc(&visit).unwrap().snapshot().unwrap();
            prop_assert_eq!(&snap, &server, "device {} differs from the server", d);
        }
        let kept: BTreeSet<String> = server.evidence.values().map(|e| e.text.clone()).collect();
        prop_assert_eq!(&kept, &evidence, "every edit survives");
        for (criterion, scores) in &written {
            match server.results[criterion].answer {
                Some(Answer::Score(s)) => prop_assert!(scores.contains(&s)),
                other => prop_assert!(false, "{} lost its answer: {:?}", criterion, other),
            }
        }
        // Concurrent different scores are reported, not silently dropped.
        let conflicts = w.replicas[0].doc(&visit).unwrap().conflicts().unwrap();
        for c in conflicts {
            let crit = c.criterion.clone().unwrap();
            for v in &c.values {
                prop_assert!(written[&crit].contains(&v.value.parse::<i32>().unwrap()));
            }
        }
    }
}
