//! The local schema, as migrations counted by `PRAGMA user_version`. Never edit a shipped
//! migration: add one.

use rusqlite::Connection;

use crate::error::{AppError, AppResult};

const MIGRATIONS: &[&str] = &[
    r#"
    CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    -- One row per visit document; `snapshot` is a full Automerge save, `doc_chunks` the
    -- incremental saves since, applied in `seq` order on load.
    CREATE TABLE docs (
        id TEXT PRIMARY KEY,
        location_id TEXT NOT NULL,
        started_at TEXT NOT NULL,
        signed_off INTEGER NOT NULL DEFAULT 0,
        created_here INTEGER NOT NULL,
        snapshot BLOB NOT NULL,
        updated_at TEXT NOT NULL
    );
    CREATE INDEX docs_by_location ON docs (location_id, started_at);
    CREATE TABLE doc_chunks (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        doc_id TEXT NOT NULL REFERENCES docs(id),
        bytes BLOB NOT NULL
    );
    CREATE INDEX doc_chunks_by_doc ON doc_chunks (doc_id, seq);
    -- Automerge sync state with the server, and the server's last receipt (its heads).
    CREATE TABLE sync_states (
        doc_id TEXT PRIMARY KEY REFERENCES docs(id),
        state BLOB NOT NULL,
        receipt TEXT NOT NULL DEFAULT '[]',
        receipt_at TEXT
    );
    -- Processed photos, by BLAKE3 hash of `bytes`.
    CREATE TABLE blobs (
        hash TEXT PRIMARY KEY,
        bytes BLOB NOT NULL,
        thumbnail BLOB NOT NULL,
        width INTEGER NOT NULL,
        height INTEGER NOT NULL,
        created_at TEXT NOT NULL
    );
    -- What must reach the server, and how far it got.
    CREATE TABLE outbox (
        kind TEXT NOT NULL CHECK (kind IN ('visit', 'photo')),
        item TEXT NOT NULL,
        label TEXT NOT NULL,
        state TEXT NOT NULL CHECK (state IN ('local_only', 'queued', 'sent', 'acknowledged', 'failed')),
        reason TEXT,
        receipt TEXT,
        bytes_total INTEGER NOT NULL DEFAULT 0,
        bytes_done INTEGER NOT NULL DEFAULT 0,
        updated_at TEXT NOT NULL,
        PRIMARY KEY (kind, item)
    );
    -- Cached reference data from the server (caseload, packs, rule sets, visit history).
    CREATE TABLE reference (key TEXT PRIMARY KEY, value TEXT NOT NULL, fetched_at TEXT NOT NULL);
"#,
    // 2: the planned visit a visit was started from, so the caseload stops offering it at once.
    r#"
    ALTER TABLE docs ADD COLUMN plan_id TEXT;
"#,
    // 3: what the server refused for a visit, and the copies set aside when the monitor
    // recovered from a refusal, so nothing the monitor entered is ever lost.
    r#"
    CREATE TABLE refusals (
        doc_id TEXT PRIMARY KEY REFERENCES docs(id),
        reason TEXT NOT NULL,
        at TEXT NOT NULL
    );
    CREATE TABLE set_aside (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        doc_id TEXT NOT NULL REFERENCES docs(id),
        reason TEXT NOT NULL,
        edits_since TEXT NOT NULL,
        bytes BLOB NOT NULL,
        created_at TEXT NOT NULL
    );
    CREATE INDEX set_aside_by_doc ON set_aside (doc_id, seq);
"#,
];

/// Brings the database to the current schema, one migration per transaction.
pub fn migrate(conn: &mut Connection) -> AppResult<()> {
    let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    let known = MIGRATIONS.len() as i64;
    if version > known {
        return Err(AppError::Corrupt(format!(
            "the local store has schema version {version}, newer than this app ({known}); update the app"
        )));
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(version as usize) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", (i + 1) as i64)?;
        tx.commit()?;
    }
    Ok(())
}
