//! The services tested in-process, on a real SQLite database with the demo data: each rule in
//! milliseconds, without HTTP or a browser.

use std::sync::mpsc;
use std::time::Duration;

use accredit_server::auth::Caller;
use accredit_server::error::ServiceError;
use accredit_server::service::sessions::{self, Attempt, SessionKind};
use accredit_server::service::{locations, payments, records};
use accredit_server::state::{AppState, Config};
use accredit_server::{blobs, import, seed, tiers};
use accredit_shared::api::{CqcRequest, QualificationRequest};
use accredit_shared::calendar::add_days;
use accredit_shared::records::{CqcRatingValue, QualificationKind};
use uuid::Uuid;

fn assets() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../assets")
}

fn demo_with(dir: &tempfile::TempDir, tweak: impl FnOnce(&mut Config)) -> AppState {
    let mut config = Config::new(dir.path().join("data"));
    tweak(&mut config);
    let state = accredit_server::open(config, &assets()).unwrap();
    seed::seed(&state).unwrap();
    state
}

fn demo(dir: &tempfile::TempDir) -> AppState {
    demo_with(dir, |_| {})
}

fn attempt<'a>(username: &'a str, password: &'a str, kind: SessionKind) -> Attempt<'a> {
    Attempt {
        username,
        password,
        device_name: "test",
        kind,
        address: "192.0.2.7".parse().ok(),
    }
}

fn caller(s: &AppState, username: &str) -> Caller {
    let session = sessions::sign_in(
        s,
        attempt(username, seed::DEMO_PASSWORD, SessionKind::Device),
    )
    .unwrap();
    sessions::caller_for_token(s, &session.token)
        .unwrap()
        .unwrap()
}

/// A demo user's new session of `kind`.
fn session(s: &AppState, who: &str, kind: SessionKind) -> accredit_shared::api::SessionResponse {
    sessions::sign_in(s, attempt(who, seed::DEMO_PASSWORD, kind)).unwrap()
}

/// Whether a token still signs its holder in.
fn valid(s: &AppState, token: &str) -> bool {
    sessions::caller_for_token(s, token).unwrap().is_some()
}

fn location(s: &AppState, cqc: &str) -> Uuid {
    s.db.read(|tx| accredit_server::users::location_by_cqc(tx, cqc))
        .unwrap()
}

fn audit_count(s: &AppState, action: &str) -> i64 {
    s.db.read(|tx| {
        Ok(tx.query_row(
            "SELECT count(*) FROM audit_log WHERE action = ?1",
            [action],
            |r| r.get(0),
        )?)
    })
    .unwrap()
}

#[test]
fn passwords_are_checked_while_another_request_holds_the_writer() {
    let dir = tempfile::tempdir().unwrap();
    let s = demo(&dir);
    let (release, wait) = mpsc::channel::<()>();
    let (held, is_held) = mpsc::channel::<()>();
    let writer = {
        let s = s.clone();
        std::thread::spawn(move || {
            s.db.write(|_| {
                held.send(()).unwrap();
                wait.recv().unwrap();
                Ok(())
            })
            .unwrap()
        })
    };
    is_held.recv().unwrap();
    // argon2 for a right and a wrong password, while the writer is taken: neither waits for it.
    let (done, checked) = mpsc::channel();
    {
        let s = s.clone();
        std::thread::spawn(move || {
            let right = sessions::check_credentials(&s, "monitor1", seed::DEMO_PASSWORD)
                .unwrap()
                .is_ok();
            let wrong = sessions::check_credentials(&s, "monitor1", "not it").unwrap();
            done.send((right, wrong.map(|a| a.id).err())).unwrap();
        });
    }
    let outcome = checked.recv_timeout(Duration::from_secs(60));
    release.send(()).unwrap();
    writer.join().unwrap();
    let (right, wrong) = outcome.expect("credentials were checked without the writer");
    assert!(right);
    assert_eq!(wrong.map(|r| r.reason), Some("wrong_password"));
}

#[test]
fn repeated_failures_are_slowed_then_refused_and_audited() {
    let dir = tempfile::tempdir().unwrap();
    let s = demo(&dir);
    let before = audit_count(&s, "session.refused");
    let mut refused_early = 0;
    for _ in 0..5 {
        match sessions::sign_in(&s, attempt("lead", "guess", SessionKind::Portal)) {
            Err(ServiceError::Unauthorized(_)) => {}
            other => panic!("{:?}", other.map(|_| ())),
        }
        refused_early += 1;
    }
    assert_eq!(refused_early, 5);
    // Now even the right password waits: the account is locked for a while.
    match sessions::sign_in(
        &s,
        attempt("lead", seed::DEMO_PASSWORD, SessionKind::Portal),
    ) {
        Err(ServiceError::TooManyAttempts {
            message,
            retry_after_secs,
        }) => {
            assert!(message.contains("too many failed sign-ins"), "{message}");
            assert!((1..=60).contains(&retry_after_secs));
        }
        other => panic!("{:?}", other.map(|_| ())),
    }
    // Every refusal is in the audit log, with no username or password in it.
    assert_eq!(audit_count(&s, "session.refused"), before + 6);
    let details: Vec<String> =
        s.db.read(|tx| {
            let mut st =
                tx.prepare("SELECT details FROM audit_log WHERE action = 'session.refused'")?;
            let rows = st
                .query_map([], |r| r.get(0))?
                .collect::<Result<Vec<String>, _>>()?;
            Ok(rows)
        })
        .unwrap();
    assert!(details.iter().any(|d| d.contains("wrong_password")));
    assert!(details.iter().any(|d| d.contains("throttled")));
    assert!(
        !details
            .iter()
            .any(|d| d.contains("guess") || d.contains("lead"))
    );
    // Other accounts are not affected.
    assert!(
        sessions::sign_in(
            &s,
            attempt("commissioner", seed::DEMO_PASSWORD, SessionKind::Portal)
        )
        .is_ok()
    );
}

#[test]
fn portal_sessions_end_after_inactivity_and_device_tokens_keep_going() {
    let dir = tempfile::tempdir().unwrap();
    let s = demo_with(&dir, |c| {
        c.session_idle = Duration::from_secs(1);
    });
    let portal = session(&s, "lead", SessionKind::Portal);
    let device = session(&s, "lead", SessionKind::Device);
    // In use, it lives past the idle limit: each use counts ...
    for _ in 0..6 {
        assert!(valid(&s, &portal.token));
        std::thread::sleep(Duration::from_millis(300));
    }
    // ... and once left alone for longer than the limit, it has ended.
    std::thread::sleep(Duration::from_millis(2100));
    assert!(!valid(&s, &portal.token));
    assert!(valid(&s, &device.token));
}

#[test]
fn a_session_ends_at_its_absolute_lifetime_however_busy() {
    let dir = tempfile::tempdir().unwrap();
    let s = demo_with(&dir, |c| {
        c.device_lifetime = Duration::from_secs(3);
    });
    let device = session(&s, "lead", SessionKind::Device);
    // In use all along (every 300 ms, well within the idle limit) ...
    for _ in 0..5 {
        assert!(valid(&s, &device.token));
        std::thread::sleep(Duration::from_millis(300));
    }
    // ... and still over once three seconds have passed since sign-in.
    std::thread::sleep(Duration::from_millis(2000));
    assert!(!valid(&s, &device.token));
}

#[test]
fn a_rule_set_whose_transaction_fails_leaves_the_rule_book_as_the_database_has_it() {
    let dir = tempfile::tempdir().unwrap();
    let s = demo(&dir);
    let commissioner = caller(&s, "commissioner");
    let before = s.rules().sets().len();
    let source = std::fs::read_to_string(assets().join("schemes/blackpool-style.toml"))
        .unwrap()
        .replace("version = \"2026.1\"", "version = \"2027.1\"")
        .replace(
            "effective_from = 2026-04-01",
            &format!("effective_from = {}", add_days(s.today(), 30)),
        );
    assert!(
        source.contains("2027.1"),
        "the test's draft must be a new version"
    );
    // Make the re-determination inside the transaction fail, as a full disk would.
    s.db.write(|tx| {
        tx.execute_batch(
            "CREATE TRIGGER fail_determinations BEFORE INSERT ON determinations BEGIN SELECT RAISE(ABORT, 'disk full'); END;",
        )?;
        Ok(())
    })
    .unwrap();
    let err = records::add_rule_set(&s, &commissioner, &source);
    assert!(
        matches!(err, Err(ServiceError::Internal)),
        "{:?}",
        err.map(|_| ())
    );
    assert_eq!(
        s.rules().sets().len(),
        before,
        "memory kept the failed rule set"
    );
    let stored: i64 =
        s.db.read(|tx| Ok(tx.query_row("SELECT count(*) FROM rule_sets", [], |r| r.get(0))?))
            .unwrap();
    assert_eq!(stored as usize, before);
    // Once writes succeed again, the rule set is adopted and installed.
    s.db.write(|tx| {
        tx.execute_batch("DROP TRIGGER fail_determinations")?;
        Ok(())
    })
    .unwrap();
    records::add_rule_set(&s, &commissioner, &source).unwrap();
    assert_eq!(s.rules().sets().len(), before + 1);
}

#[test]
fn one_rule_for_cqc_dates_and_certificate_references_whoever_asks() {
    let dir = tempfile::tempdir().unwrap();
    let s = demo(&dir);
    let commissioner = caller(&s, "commissioner");
    let seaview = location(&s, "1-101000001");
    let tomorrow = add_days(s.today(), 1);
    let future = CqcRequest {
        inspected_on: s.today(),
        published_on: tomorrow,
        overall: CqcRatingValue::Good,
        key_questions: Default::default(),
    };
    // The check the portal shows at the field is the one the service enforces.
    assert_eq!(
        records::check_cqc(&future, s.today())[0].field,
        "published_on"
    );
    assert!(matches!(
        records::record_cqc(&s, &commissioner, seaview, future),
        Err(ServiceError::Invalid(_))
    ));
    let provider =
        s.db.read(|tx| Ok(tiers::location(tx, seaview)?.unwrap().0.provider_id))
            .unwrap();
    let cert = |reference: String| QualificationRequest {
        provider_id: provider,
        kind: QualificationKind::Iso9001,
        certificate_ref: reference,
        issued_on: s.today(),
        expires_on: add_days(s.today(), 365),
        last_surveillance_on: None,
        verified_on: None,
        verified_by: None,
        covered_locations: vec![seaview],
    };
    // 200 characters of three bytes each: accepted, as people count characters.
    let ok = records::record_qualification(&s, &commissioner, cert("€".repeat(200)));
    assert!(ok.is_ok(), "{:?}", ok.map(|_| ()));
    assert!(matches!(
        records::record_qualification(&s, &commissioner, cert("€".repeat(201))),
        Err(ServiceError::Invalid(_))
    ));
}

#[test]
fn periods_are_months_written_strictly_and_are_issued_once() {
    let dir = tempfile::tempdir().unwrap();
    let s = demo(&dir);
    let commissioner = caller(&s, "commissioner");
    for bad in [
        "2026-+3", "+202-01", "0000-01", "2026-3", "2026-13", "26-03",
    ] {
        let r = s.db.read(|tx| payments::view(&s, tx, &commissioner, bad));
        assert!(matches!(r, Err(ServiceError::BadRequest(_))), "{bad}");
    }
    s.db.write(|tx| payments::issue(&s, tx, &commissioner, "2026-03"))
        .unwrap();
    let again =
        s.db.write(|tx| payments::issue(&s, tx, &commissioner, "2026-03"));
    assert!(matches!(again, Err(ServiceError::Conflict(_))));
    let runs: i64 =
        s.db.read(|tx| Ok(tx.query_row("SELECT count(*) FROM payment_runs", [], |r| r.get(0))?))
            .unwrap();
    assert_eq!(runs, 1);
}

#[test]
fn an_import_never_moves_a_location_to_another_provider() {
    let dir = tempfile::tempdir().unwrap();
    let s = demo(&dir);
    let seaview = location(&s, "1-101000001");
    let owner = |s: &AppState| {
        s.db.read(|tx| Ok(tiers::location(tx, seaview)?.unwrap().0.provider_id))
            .unwrap()
    };
    let was = owner(&s);
    let text = "cqc_location_id,name,provider,address,service_type,registered_from,registered_to\n\
                1-109000001,New Home,Coastal Care Ltd,1 Road,residential,2026-01-01,\n\
                1-101000001,Seaview House,Fylde Homes Partnership,12 North Promenade,residential,2019-04-01,\n";
    let r =
        s.db.write(|tx| import::import(tx, import::Kind::Locations, text, s.today()));
    let message = r.map(|_| ()).unwrap_err().message();
    assert!(message.starts_with("line 3:"), "{message}");
    assert!(message.contains("change of ownership"), "{message}");
    assert_eq!(owner(&s), was);
    // All or nothing: the good first row was not imported either.
    let new: Option<String> =
        s.db.read(|tx| {
            use rusqlite::OptionalExtension;
            Ok(tx
                .query_row(
                    "SELECT id FROM locations WHERE cqc_location_id = '1-109000001'",
                    [],
                    |r| r.get(0),
                )
                .optional()?)
        })
        .unwrap();
    assert!(new.is_none());
    for (bad, says) in [
        ("", "empty"),
        ("cqc_location_id,name\n1-1,x\n", "header must be"),
        (
            "cqc_location_id,name,provider,address,service_type,registered_from,registered_to\n",
            "no rows",
        ),
        (
            "cqc_location_id,name,provider,address,service_type,registered_from,registered_to\n1-109000001,A,Coastal Care Ltd,x,residential,26-1-1,\n",
            "line 2",
        ),
    ] {
        let r =
            s.db.write(|tx| import::import(tx, import::Kind::Locations, bad, s.today()));
        let message = r.map(|_| ()).unwrap_err().message();
        assert!(message.contains(says), "{bad:?}: {message}");
    }
}

#[test]
fn uploads_stop_at_the_quota_and_abandoned_partial_uploads_are_swept() {
    let dir = tempfile::tempdir().unwrap();
    let s = demo_with(&dir, |c| {
        c.upload_quota_bytes = 1000;
        c.partial_upload_max_age = Duration::from_secs(3600);
    });
    let mo = caller(&s, "monitor1");
    let small = vec![7u8; 600];
    let hash = blake3::hash(&small).to_hex().to_string();
    assert!(blobs::store(&s, &mo, &hash, &small).unwrap());
    let more = vec![8u8; 600];
    let hash2 = blake3::hash(&more).to_hex().to_string();
    let refused = blobs::store(&s, &mo, &hash2, &more);
    match refused {
        Err(ServiceError::TooLarge(m)) => assert!(m.contains("quota"), "{m}"),
        other => panic!("{:?}", other),
    }
    // A resumable upload is refused at its first chunk too.
    assert!(matches!(
        blobs::upload_chunk(&s, &mo, &hash2, 600, 0, &more[..100]),
        Err(ServiceError::TooLarge(_))
    ));
    // Another account has its own quota.
    let sam = caller(&s, "monitor2");
    assert!(blobs::store(&s, &sam, &hash2, &more).unwrap());

    // A partial upload left for longer than the limit is removed; a recent one is kept.
    let third = vec![9u8; 300];
    let hash3 = blake3::hash(&third).to_hex().to_string();
    let progress = blobs::upload_chunk(&s, &sam, &hash3, 300, 0, &third[..100]).unwrap();
    assert_eq!(progress.received, 100);
    assert_eq!(blobs::sweep_partials(&s).unwrap(), 0);
    let partial_dir = s
        .config
        .blob_dir()
        .join(".partial")
        .join(sam.user_id.to_string());
    for f in std::fs::read_dir(&partial_dir).unwrap() {
        let f = std::fs::File::options()
            .write(true)
            .open(f.unwrap().path())
            .unwrap();
        f.set_modified(std::time::SystemTime::now() - Duration::from_secs(7200))
            .unwrap();
    }
    assert_eq!(blobs::sweep_partials(&s).unwrap(), 1);
    assert_eq!(
        blobs::upload_progress(&s, &sam, &hash3, 300)
            .unwrap()
            .received,
        0
    );
}

#[test]
fn in_effect_since_is_the_first_day_of_the_current_tier() {
    let dir = tempfile::tempdir().unwrap();
    let s = demo(&dir);
    let commissioner = caller(&s, "commissioner");
    let seaview = location(&s, "1-101000001");
    let row = |s: &AppState| {
        s.db.read(|tx| locations::location_rows(s, tx, &commissioner))
            .unwrap()
            .into_iter()
            .find(|r| r.id == seaview)
            .unwrap()
    };
    assert_eq!(row(&s).tier.as_deref(), Some("Gold"));
    let published_on = add_days(s.today(), -5);
    records::record_cqc(
        &s,
        &commissioner,
        seaview,
        CqcRequest {
            inspected_on: add_days(s.today(), -40),
            published_on,
            overall: CqcRatingValue::RequiresImprovement,
            key_questions: Default::default(),
        },
    )
    .unwrap();
    let after = row(&s);
    assert_eq!(after.tier.as_deref(), Some("Silver"));
    assert_eq!(after.in_effect_since, published_on);
    let reason = after
        .warning
        .reasons
        .iter()
        .find(|r| r.contains("tier dropped"))
        .cloned()
        .unwrap_or_default();
    assert!(
        reason.contains(&accredit_shared::labels::long_date(published_on)),
        "{reason}"
    );
    // The change the location page reports comes from the stored determinations.
    let change =
        s.db.read(|tx| locations::last_tier_change(tx, seaview))
            .unwrap();
    assert_eq!(
        change,
        Some((Some("Gold".to_owned()), Some("Silver".to_owned())))
    );
}

#[test]
fn csv_cells_that_a_spreadsheet_would_run_are_defused() {
    for (cell, out) in [
        ("=HYPERLINK(\"x\")", "\"'=HYPERLINK(\"\"x\"\")\""),
        ("+1+1", "'+1+1"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1+1", "\"'\t=1+1\""),
        ("\r=1+1", "\"'\r=1+1\""),
        ("-12.50", "-12.50"),
        ("Seaview", "Seaview"),
    ] {
        assert_eq!(payments::csv_field(cell), out, "{cell:?}");
    }
}

#[test]
fn a_stored_id_that_is_not_a_uuid_is_an_error_not_the_nil_uuid() {
    let dir = tempfile::tempdir().unwrap();
    let s = demo(&dir);
    let commissioner = caller(&s, "commissioner");
    // A damaged row, written past the foreign keys as a faulty tool or disk could.
    let raw = rusqlite::Connection::open(s.config.data_dir.join("accredit.sqlite3")).unwrap();
    raw.execute_batch(
        "PRAGMA foreign_keys = OFF; UPDATE visits SET location_id = 'not-a-uuid' WHERE rowid = (SELECT min(rowid) FROM visits);",
    )
    .unwrap();
    let bad: Option<String> =
        s.db.read(|tx| {
            use rusqlite::OptionalExtension;
            Ok(tx
                .query_row(
                    "SELECT id FROM visits WHERE location_id = 'not-a-uuid'",
                    [],
                    |r| r.get(0),
                )
                .optional()?)
        })
        .unwrap();
    let Some(bad) = bad else {
        panic!("the test could not plant a bad id");
    };
    let id = Uuid::parse_str(&bad).unwrap();
    let r =
        s.db.read(|tx| accredit_server::service::visits::visit_state(tx, id));
    assert!(
        matches!(r, Err(ServiceError::Internal)),
        "{:?}",
        r.map(|_| ())
    );
    let _ = commissioner;
}

#[test]
fn a_visit_goes_from_signed_off_to_published_by_the_rules_of_each_step() {
    use accredit_server::service::visits::{self, VisitStatus};
    let dir = tempfile::tempdir().unwrap();
    let s = demo(&dir);
    let lead = caller(&s, "lead");
    let fylde = caller(&s, "fylde");
    let coastal = caller(&s, "coastal");
    let monitor = caller(&s, "monitor1");
    let commissioner = caller(&s, "commissioner");
    let bispham = location(&s, "1-102000002");
    let id =
        s.db.read(|tx| visits::list(tx, &lead, Some(bispham)))
            .unwrap()
            .into_iter()
            .find(|v| v.visit.status == VisitStatus::SignedOff)
            .expect("the demo's signed-off follow-up at Bispham")
            .visit
            .id;
    let step = |who: &Caller,
                f: &dyn Fn(
        &AppState,
        &rusqlite::Connection,
        &Caller,
    ) -> Result<(), ServiceError>| { s.db.write(|tx| f(&s, tx, who)) };
    // Only a lead shares; the provider cannot see it until then.
    assert!(matches!(
        s.db.read(|tx| visits::detail(tx, &fylde, id)),
        Err(ServiceError::NotFound(_))
    ));
    assert!(matches!(
        step(&monitor, &|s, tx, c| visits::share(s, tx, c, id)
            .map(|_| ())),
        Err(ServiceError::Forbidden(_))
    ));
    step(&lead, &|s, tx, c| visits::share(s, tx, c, id).map(|_| ())).unwrap();
    // The provider comments in its window; another provider cannot even see the visit.
    step(&fylde, &|s, tx, c| {
        visits::comment(s, tx, c, id, None, "The lounge was repainted last week.").map(|_| ())
    })
    .unwrap();
    assert!(matches!(
        step(&coastal, &|s, tx, c| visits::comment(
            s, tx, c, id, None, "x"
        )
        .map(|_| ())),
        Err(ServiceError::NotFound(_))
    ));
    // Nobody publishes while the window is open and the provider has not confirmed.
    assert!(matches!(
        step(&commissioner, &|s, tx, c| visits::publish(s, tx, c, id)
            .map(|_| ())),
        Err(ServiceError::Conflict(_))
    ));
    assert!(matches!(
        step(&fylde, &|s, tx, c| visits::publish(s, tx, c, id)
            .map(|_| ())),
        Err(ServiceError::Forbidden(_))
    ));
    step(&fylde, &|s, tx, c| {
        visits::confirm_factual_accuracy(s, tx, c, id).map(|_| ())
    })
    .unwrap();
    // Publishing re-determines the tier inside the service, in the same transaction.
    let before: i64 =
        s.db.read(|tx| {
            Ok(tx.query_row(
                "SELECT count(*) FROM determinations WHERE location_id = ?1",
                [bispham.to_string()],
                |r| r.get(0),
            )?)
        })
        .unwrap();
    let published =
        s.db.write(|tx| visits::publish(&s, tx, &commissioner, id))
            .unwrap();
    assert_eq!(published.visit.status, VisitStatus::Published);
    assert!(published.determination.is_some());
    let after: i64 =
        s.db.read(|tx| {
            Ok(tx.query_row(
                "SELECT count(*) FROM determinations WHERE location_id = ?1",
                [bispham.to_string()],
                |r| r.get(0),
            )?)
        })
        .unwrap();
    assert_eq!(after, before + 1);
    let detail = s.db.read(|tx| visits::detail(tx, &fylde, id)).unwrap();
    assert_eq!(detail.visit.status, VisitStatus::Published);
    assert_eq!(detail.comments.len(), 1);
}

#[test]
fn each_role_reaches_only_its_locations() {
    use accredit_server::access;
    let dir = tempfile::tempdir().unwrap();
    let s = demo(&dir);
    let seaview = location(&s, "1-101000001");
    let bispham = location(&s, "1-102000002");
    let reach = |who: &str, loc: Uuid| {
        let c = caller(&s, who);
        s.db.read(|tx| access::require_location(tx, &c, loc))
            .is_ok()
    };
    assert!(reach("coastal", seaview));
    assert!(!reach("coastal", bispham));
    assert!(reach("fylde", bispham));
    assert!(!reach("fylde", seaview));
    assert!(reach("monitor1", seaview));
    assert!(
        !reach("monitor1", bispham),
        "Bispham is not on monitor1's caseload"
    );
    assert!(reach("lead", bispham) && reach("commissioner", seaview));
    // The read model lists exactly the reachable ones.
    let coastal = caller(&s, "coastal");
    let rows =
        s.db.read(|tx| locations::location_rows(&s, tx, &coastal))
            .unwrap();
    assert!(rows.iter().all(|r| r.provider_id == rows[0].provider_id));
    assert!(rows.iter().any(|r| r.id == seaview) && !rows.iter().any(|r| r.id == bispham));
    // Records are the commissioner's alone.
    let lead = caller(&s, "lead");
    assert!(matches!(
        records::record_gate_open(
            &s,
            &lead,
            seaview,
            accredit_shared::api::GateRequest {
                kind: accredit_shared::records::GateKind::S42Enquiry,
                opened_on: s.today(),
            }
        ),
        Err(ServiceError::Forbidden(_))
    ));
}

#[test]
fn contracts_import_from_csv_by_reference_all_or_nothing_and_twice_changes_nothing() {
    use accredit_server::service::contracts;
    let dir = tempfile::tempdir().unwrap();
    let s = demo(&dir);
    let commissioner = caller(&s, "commissioner");
    let header = import::columns(import::Kind::Contracts);
    let good = format!(
        "{header}\n\
         IMP-1,Coastal Care Ltd,1-101000002,2026-04-01,2027-03-31,3,3086400,2.5\n\
         IMP-2,Fylde Homes Partnership,,2026-04-01,2027-03-31,12,9800000,\n"
    );
    let plan =
        s.db.read(|tx| import::plan(tx, import::Kind::Contracts, &good, s.today()))
            .unwrap();
    assert_eq!(plan.counts(), (2, 0, 0, 0));
    let (rows, affected) =
        s.db.write(|tx| import::import(tx, import::Kind::Contracts, &good, s.today()))
            .unwrap();
    assert_eq!((rows, affected.len()), (2, 0), "contracts move no tier");
    let list = s.db.read(|tx| contracts::list(tx, &commissioner)).unwrap();
    let imp1 = list
        .iter()
        .find(|c| c.contract.reference == "IMP-1")
        .unwrap();
    assert_eq!(imp1.location_name.as_deref(), Some("Promenade Court"));
    assert_eq!(imp1.contract.value_per_period.0, 3_086_400);
    assert_eq!(
        imp1.contract.withhold_percent,
        accredit_shared::ratio::Ratio::new(5, 2)
    );
    let imp2 = list
        .iter()
        .find(|c| c.contract.reference == "IMP-2")
        .unwrap();
    assert!(imp2.contract.location_id.is_none());
    assert!(imp2.contract.withhold_percent.is_none());

    // The same file again changes nothing; a changed value updates the same contract.
    let again =
        s.db.read(|tx| import::plan(tx, import::Kind::Contracts, &good, s.today()))
            .unwrap();
    assert_eq!(again.counts(), (0, 0, 2, 0));
    let changed = good.replace("3086400", "3100000");
    let plan =
        s.db.read(|tx| import::plan(tx, import::Kind::Contracts, &changed, s.today()))
            .unwrap();
    assert_eq!(plan.counts(), (0, 1, 1, 0));

    // Bad rows are refused with their line and reason, and nothing is written.
    let bad = format!(
        "{header}\n\
         IMP-3,Coastal Care Ltd,,2026-04-01,2027-03-31,3,100000,\n\
         IMP-4,Nobody Ltd,,2026-04-01,2027-03-31,3,100000,\n\
         IMP-5,Coastal Care Ltd,1-102000001,2026-04-01,2027-03-31,3,100000,\n\
         IMP-6,Coastal Care Ltd,,2026-04-01,2027-03-15,3,100000,\n\
         IMP-7,Coastal Care Ltd,,2026-04-01,2027-03-31,3,100000,101\n\
         IMP-3,Coastal Care Ltd,,2026-04-01,2027-03-31,3,100000,\n"
    );
    let plan =
        s.db.read(|tx| import::plan(tx, import::Kind::Contracts, &bad, s.today()))
            .unwrap();
    let refused: Vec<(u64, String)> = plan
        .refused()
        .map(|r| (r.line, r.outcome.clone().unwrap_err()))
        .collect();
    assert_eq!(
        refused.iter().map(|r| r.0).collect::<Vec<_>>(),
        [3, 4, 5, 6, 7],
        "{refused:?}"
    );
    assert!(
        refused[0].1.contains("no provider is called Nobody Ltd"),
        "{refused:?}"
    );
    assert!(
        refused[1].1.contains("one of the provider's"),
        "{refused:?}"
    );
    assert!(refused[2].1.contains("whole period"), "{refused:?}");
    assert!(refused[3].1.contains("100 or less"), "{refused:?}");
    assert!(refused[4].1.contains("line 2"), "{refused:?}");
    let r =
        s.db.write(|tx| import::import(tx, import::Kind::Contracts, &bad, s.today()));
    assert!(r.is_err());
    let after = s.db.read(|tx| contracts::list(tx, &commissioner)).unwrap();
    assert_eq!(after.len(), list.len(), "nothing was written");
}
