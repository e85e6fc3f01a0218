//! The embedded SQLite database: one writer connection (SQLite has one writer at a time anyway)
//! and a small pool of readers, all in WAL mode with full fsync, so a committed transaction
//! survives a killed process.

pub mod migrations;

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use rusqlite::{Connection, OpenFlags, Params, Transaction, TransactionBehavior};
use uuid::Uuid;

use crate::error::ApiError;
use migrations::MIGRATIONS;

/// The database.
pub struct Db {
    path: PathBuf,
    writer: Mutex<Connection>,
    readers: Mutex<Vec<Connection>>,
}

/// The schema version this build writes.
pub fn latest_version() -> u32 {
    MIGRATIONS.len() as u32
}

fn configure(conn: &Connection) -> rusqlite::Result<()> {
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    Ok(())
}

/// The schema version of an open database.
pub fn user_version(conn: &Connection) -> rusqlite::Result<u32> {
    conn.pragma_query_value(None, "user_version", |r| r.get(0))
}

/// Runs the migrations from the database's version up to `target`, each in its own transaction.
pub fn migrate_to(conn: &mut Connection, target: u32) -> anyhow::Result<()> {
    let current = user_version(conn)?;
    if current > latest_version() {
        anyhow::bail!(
            "the database has schema version {current}, newer than this server ({}); upgrade the server",
            latest_version()
        );
    }
    for (i, sql) in MIGRATIONS
        .iter()
        .enumerate()
        .take(target as usize)
        .skip(current as usize)
    {
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.execute_batch(sql)
            .map_err(|e| anyhow::anyhow!("migration {} failed: {e}", i + 1))?;
        tx.pragma_update(None, "user_version", (i + 1) as u32)?;
        tx.commit()?;
    }
    Ok(())
}

impl Db {
    /// Opens (creating if needed) and migrates the database at `path`.
    pub fn open(path: &Path) -> anyhow::Result<Db> {
        let mut writer = Connection::open(path)?;
        configure(&writer)?;
        migrate_to(&mut writer, latest_version())?;
        Ok(Db {
            path: path.to_owned(),
            writer: Mutex::new(writer),
            readers: Mutex::new(Vec::new()),
        })
    }

    /// Runs `f` in an immediate write transaction, committed only if `f` succeeds.
    pub fn write<T>(
        &self,
        f: impl FnOnce(&Transaction<'_>) -> Result<T, ApiError>,
    ) -> Result<T, ApiError> {
        let mut conn = self
            .writer
            .lock()
            .map_err(|_| ApiError::internal("database writer lock poisoned"))?;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let out = f(&tx)?;
        tx.commit()?;
        Ok(out)
    }

    /// Runs `f` on a reader connection in a read transaction (a consistent snapshot).
    pub fn read<T>(
        &self,
        f: impl FnOnce(&Transaction<'_>) -> Result<T, ApiError>,
    ) -> Result<T, ApiError> {
        let pooled = self.readers.lock().ok().and_then(|mut r| r.pop());
        let mut conn = match pooled {
            Some(c) => c,
            None => {
                let c = Connection::open_with_flags(
                    &self.path,
                    OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
                )?;
                configure(&c)?;
                c
            }
        };
        let out = {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Deferred)?;
            let out = f(&tx);
            tx.rollback()?;
            out
        };
        if let Ok(mut readers) = self.readers.lock()
            && readers.len() < 8
        {
            readers.push(conn);
        }
        out
    }
}

/// Runs a query whose first column is an id and returns the ids. A database error or a stored id
/// that is not a UUID is an error, never silently skipped.
pub fn query_ids(
    tx: &Transaction<'_>,
    sql: &str,
    params: impl Params,
) -> Result<Vec<Uuid>, ApiError> {
    let mut stmt = tx.prepare_cached(sql)?;
    let texts: Vec<String> = stmt
        .query_map(params, |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    texts
        .iter()
        .map(|t| Uuid::parse_str(t).map_err(|_| ApiError::internal("a stored id is not a UUID")))
        .collect()
}
