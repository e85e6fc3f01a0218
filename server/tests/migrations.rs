//! Schema migrations: a database left at any earlier schema version, holding data, upgrades to
//! the latest version with its data intact; a database from a newer server is refused.

use accredit_server::db::{Db, latest_version, migrate_to, user_version};
use rusqlite::Connection;

/// Puts data in the tables each version has, so the upgrade must carry it.
fn fill(conn: &Connection, version: u32) {
    if version >= 1 {
        conn.execute_batch(
            "INSERT INTO providers (id, name) VALUES ('p1', 'Coastal Care');
             INSERT INTO locations (id, provider_id, cqc_location_id, name, service_type, registered_from) VALUES ('l1', 'p1', '1-1', 'Seaview', 'residential', '2020-01-01');
             INSERT INTO users (id, username, display_name, role, password_hash, created_at) VALUES ('u1', 'mo', 'Mo', 'monitor', 'h', 'now');
             INSERT INTO caseload (monitor_id, location_id) VALUES ('u1', 'l1');
             INSERT INTO audit_log (at, action, subject_type) VALUES ('now', 'test', 'test');",
        )
        .unwrap();
    }
    if version >= 2 {
        conn.execute_batch(
            "INSERT INTO documents (id, location_id, created_by, snapshot, heads, updated_at) VALUES ('d1', 'l1', 'u1', x'00', '', 'now');
             INSERT INTO blobs (hash, size, uploaded_by, uploaded_at) VALUES ('ab', 1, 'u1', 'now');",
        )
        .unwrap();
    }
}

#[test]
fn every_earlier_schema_version_upgrades_with_its_data() {
    assert!(latest_version() >= 3);
    for start in 0..latest_version() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db.sqlite3");
        {
            let mut conn = Connection::open(&path).unwrap();
            migrate_to(&mut conn, start).unwrap();
            assert_eq!(user_version(&conn).unwrap(), start);
            fill(&conn, start);
        }
        let db = Db::open(&path).unwrap();
        db.read(|tx| {
            assert_eq!(user_version(tx).unwrap(), latest_version(), "from version {start}");
            if start >= 1 {
                let name: String = tx.query_row("SELECT name FROM locations WHERE id = 'l1'", [], |r| r.get(0))?;
                assert_eq!(name, "Seaview");
                let n: i64 = tx.query_row("SELECT count(*) FROM caseload", [], |r| r.get(0))?;
                assert_eq!(n, 1);
            }
            if start >= 2 {
                let n: i64 = tx.query_row("SELECT count(*) FROM documents", [], |r| r.get(0))?;
                assert_eq!(n, 1);
            }
            // The newest tables exist and work after any upgrade.
            tx.execute("INSERT INTO determinations (location_id, day, trigger, weekly_pence, status, explanation, computed_at) SELECT id, '2026-01-01', 't', 0, 'no_tier', '{}', 'now' FROM locations", [])?;
            Ok(())
        })
        .unwrap();
        // Opening again is a no-op.
        drop(db);
        let again = Db::open(&path).unwrap();
        let version = again.read(|tx| Ok(user_version(tx)?)).unwrap();
        assert_eq!(version, latest_version());
    }
}

#[test]
fn a_database_from_a_newer_server_is_refused_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db.sqlite3");
    {
        let conn = Connection::open(&path).unwrap();
        conn.pragma_update(None, "user_version", latest_version() + 1)
            .unwrap();
    }
    let err = Db::open(&path).err().expect("refused");
    assert!(
        format!("{err:#}").contains("newer than this server"),
        "{err:#}"
    );
    let conn = Connection::open(&path).unwrap();
    assert_eq!(user_version(&conn).unwrap(), latest_version() + 1);
}

#[test]
fn the_audit_log_refuses_updates_and_deletes() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(&dir.path().join("db.sqlite3")).unwrap();
    db.write(|tx| {
        tx.execute(
            "INSERT INTO audit_log (at, action, subject_type) VALUES ('now', 'a', 'b')",
            [],
        )?;
        Ok(())
    })
    .unwrap();
    assert!(
        db.write(|tx| Ok(tx.execute("UPDATE audit_log SET action = 'x'", [])?))
            .is_err()
    );
    assert!(
        db.write(|tx| Ok(tx.execute("DELETE FROM audit_log", [])?))
            .is_err()
    );
    let n: i64 = db
        .read(|tx| {
            Ok(tx.query_row(
                "SELECT count(*) FROM audit_log WHERE action = 'a'",
                [],
                |r| r.get(0),
            )?)
        })
        .unwrap();
    assert_eq!(n, 1);
}
