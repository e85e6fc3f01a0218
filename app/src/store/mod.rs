//! The device's local store: one SQLite database, in the platform's data directory on the desktop
//! and in the browser's origin-private file system in the web app. It holds
//! visit documents as a snapshot plus incremental chunks, sync states and receipts, photo blobs,
//! the outbox ledger and cached reference data. Every edit is one committed transaction with
//! `synchronous=FULL`, so what was on the screen survives the app being killed or the tablet
//! losing power.

pub mod blobs;
pub mod docs;
mod migrations;
pub mod outbox;
pub mod reference;
pub mod set_aside;

use std::path::{Path, PathBuf};

use rusqlite::{Connection, OptionalExtension, params};

pub use blobs::{StoredBlob, StoredPhotoMeta};
pub use docs::{DocRow, StoredDoc};
pub use outbox::{ItemKind, OutboxEntry, OutboxState};

use crate::error::AppResult;

/// The local store.
pub struct Store {
    conn: Connection,
    path: PathBuf,
}

/// Chunks kept before a document is compacted into a new snapshot.
pub const COMPACT_AFTER_CHUNKS: i64 = 64;

impl Store {
    /// Opens (creating if needed) the store at `path`, migrating it to the current schema.
    pub fn open(path: &Path) -> AppResult<Store> {
        // Where the file lives and its journal differ per platform; durability does not: every
        // commit is synced before it returns.
        let conn = crate::platform::connect(path)?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "foreign_keys", true)?;
        let mut store = Store {
            conn,
            path: path.to_owned(),
        };
        migrations::migrate(&mut store.conn)?;
        Ok(store)
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Runs `f` in one transaction: all of it is stored, or none.
    pub fn atomically<T>(&mut self, f: impl FnOnce(&Connection) -> AppResult<T>) -> AppResult<T> {
        let tx = self.conn.transaction()?;
        let out = f(&tx)?;
        tx.commit()?;
        Ok(out)
    }

    /// The connection, for reads.
    pub fn conn(&self) -> &Connection {
        &self.conn
    }

    /// A setting.
    pub fn setting(&self, key: &str) -> AppResult<Option<String>> {
        Ok(self
            .conn
            .query_row("SELECT value FROM settings WHERE key = ?1", [key], |r| {
                r.get(0)
            })
            .optional()?)
    }

    /// Sets (or with `None`, removes) a setting.
    pub fn set_setting(&self, key: &str, value: Option<&str>) -> AppResult<()> {
        set_setting(&self.conn, key, value)
    }
}

/// Sets (or with `None`, removes) a setting inside a transaction.
pub fn set_setting(conn: &Connection, key: &str, value: Option<&str>) -> AppResult<()> {
    match value {
        Some(v) => conn.execute(
            "INSERT INTO settings (key, value) VALUES (?1, ?2)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            params![key, v],
        )?,
        None => conn.execute("DELETE FROM settings WHERE key = ?1", [key])?,
    };
    Ok(())
}

/// The current time as stored (RFC 3339, UTC).
pub fn now_text() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}
