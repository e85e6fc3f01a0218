//! The embedded SQLite database: one writer connection (SQLite has one writer at a time anyway)
//! and a small pool of readers, all in WAL mode with full fsync, so a committed transaction
//! survives a killed process. Writers that queue up are committed as a group, so the fsync that
//! durability costs is paid once per group rather than once per request.

pub mod migrations;

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex};

use rusqlite::{Connection, OpenFlags, Params, TransactionBehavior};
use uuid::Uuid;

use crate::error::ServiceError;
use migrations::MIGRATIONS;

/// The database.
pub struct Db {
    path: PathBuf,
    writer: Mutex<Writer>,
    /// Signalled after every commit, for callers whose work rides in someone else's commit.
    committed: Condvar,
    /// Callers queued for the writer; while any are, a finished job leaves the transaction open
    /// for them so one fsync makes the whole group durable.
    queued: AtomicUsize,
    readers: Mutex<Readers>,
    /// Signalled when a reader connection is returned to the pool.
    reader_free: Condvar,
}

/// The reader connections: a bounded pool, so a burst of requests waits for a connection rather
/// than opening (and throwing away) one each.
struct Readers {
    idle: Vec<Connection>,
    /// Connections open, idle or in use.
    open: usize,
}

/// How many reader connections the pool opens at most.
fn max_readers() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get() * 2)
        .unwrap_or(4)
        .max(4)
}

/// The writer connection and its group-commit bookkeeping.
struct Writer {
    conn: Connection,
    /// A transaction is open, holding jobs not yet committed.
    open: bool,
    /// Jobs in the open transaction.
    jobs: usize,
    /// The number of the open (or next) transaction; waiters compare against it.
    generation: u64,
    /// Recent transactions whose commit failed, with the reason, so their jobs report it.
    failed: VecDeque<(u64, String)>,
}

/// At most this many jobs share one commit, so a steady stream of writers cannot postpone a
/// commit indefinitely.
const MAX_GROUP: usize = 64;

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

/// Runs one statement through the statement cache: the group-commit bookkeeping runs several
/// per request, and parsing them each time showed up in profiles.
fn run(conn: &Connection, sql: &str) -> rusqlite::Result<()> {
    conn.prepare_cached(sql)?.execute([]).map(|_| ())
}

impl Writer {
    /// Commits the open transaction (rolling it back if the commit fails) and starts a new
    /// generation.
    fn commit(&mut self) {
        if let Err(e) = run(&self.conn, "COMMIT") {
            // Nothing of this group is durable; every job in it reports the failure.
            let _ = run(&self.conn, "ROLLBACK");
            self.record_failure(e.to_string());
        }
        self.open = false;
        self.jobs = 0;
        self.generation += 1;
    }

    /// Ends a transaction left in an unknown state by rolling it back for the whole group, whose
    /// waiting members then report `reason`.
    fn abandon(&mut self, reason: String) {
        let _ = run(&self.conn, "ROLLBACK");
        self.record_failure(reason);
        self.open = false;
        self.jobs = 0;
        self.generation += 1;
    }

    fn record_failure(&mut self, reason: String) {
        self.failed.push_back((self.generation, reason));
        while self.failed.len() > 64 {
            self.failed.pop_front();
        }
    }

    fn outcome(&self, generation: u64) -> Result<(), ServiceError> {
        match self.failed.iter().find(|(g, _)| *g == generation) {
            Some((_, reason)) => Err(ServiceError::internal(format!(
                "the database could not commit: {reason}"
            ))),
            None => Ok(()),
        }
    }
}

impl Db {
    /// Opens (creating if needed) and migrates the database at `path`.
    pub fn open(path: &Path) -> anyhow::Result<Db> {
        let mut writer = Connection::open(path)?;
        configure(&writer)?;
        migrate_to(&mut writer, latest_version())?;
        Ok(Db {
            path: path.to_owned(),
            writer: Mutex::new(Writer {
                conn: writer,
                open: false,
                jobs: 0,
                generation: 0,
                failed: VecDeque::new(),
            }),
            committed: Condvar::new(),
            queued: AtomicUsize::new(0),
            readers: Mutex::new(Readers {
                idle: Vec::new(),
                open: 0,
            }),
            reader_free: Condvar::new(),
        })
    }

    /// Runs `f` as one atomic unit of a write transaction and returns once its work is durable.
    ///
    /// Callers that queue up while a job runs join the same transaction (each in its own
    /// savepoint, so a failing job undoes only its own work) and are committed together: one
    /// fsync for the group instead of one per caller. No caller returns before its commit.
    pub fn write<T>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T, ServiceError>,
    ) -> Result<T, ServiceError> {
        self.queued.fetch_add(1, Ordering::SeqCst);
        let locked = self.writer.lock();
        self.queued.fetch_sub(1, Ordering::SeqCst);
        let mut w = locked.map_err(|_| ServiceError::internal("database writer lock poisoned"))?;
        if !w.open {
            run(&w.conn, "BEGIN IMMEDIATE")?;
            w.open = true;
        }
        let generation = w.generation;
        if let Err(e) = run(&w.conn, "SAVEPOINT job") {
            w.abandon(e.to_string());
            self.committed.notify_all();
            return Err(e.into());
        }
        let out = f(&w.conn);
        let settled = match &out {
            Ok(_) => run(&w.conn, "RELEASE job"),
            Err(_) => run(&w.conn, "ROLLBACK TO job").and_then(|()| run(&w.conn, "RELEASE job")),
        };
        if let Err(e) = settled {
            w.abandon(e.to_string());
            self.committed.notify_all();
            return Err(e.into());
        }
        if out.is_ok() {
            w.jobs += 1;
        }
        if self.queued.load(Ordering::SeqCst) == 0 || w.jobs >= MAX_GROUP {
            w.commit();
            self.committed.notify_all();
            let committed = w.outcome(generation);
            return out.and_then(|value| committed.map(|()| value));
        }
        let out = out?;
        // Someone is queued behind us: they (or whoever follows them) commit our work too.
        while w.generation == generation {
            w = self
                .committed
                .wait(w)
                .map_err(|_| ServiceError::internal("database writer lock poisoned"))?;
        }
        w.outcome(generation)?;
        Ok(out)
    }

    /// How many write transactions have ended (committed or not) since the database was opened;
    /// fewer than the writes made when writers were grouped.
    pub fn transactions(&self) -> u64 {
        self.writer.lock().map(|w| w.generation).unwrap_or(0)
    }

    /// Runs `f` on a reader connection in a read transaction (a consistent snapshot).
    pub fn read<T>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T, ServiceError>,
    ) -> Result<T, ServiceError> {
        let mut conn = self.take_reader()?;
        let out = (|| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Deferred)?;
            let out = f(&tx);
            tx.commit()?;
            out
        })();
        self.return_reader(conn);
        out
    }

    /// An idle reader, a new one while the pool has room, or the next one returned.
    fn take_reader(&self) -> Result<Connection, ServiceError> {
        let poisoned = |_| ServiceError::internal("database reader pool poisoned");
        let mut readers = self.readers.lock().map_err(poisoned)?;
        loop {
            if let Some(conn) = readers.idle.pop() {
                return Ok(conn);
            }
            if readers.open < max_readers() {
                readers.open += 1;
                drop(readers);
                let opened = Connection::open_with_flags(
                    &self.path,
                    OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
                )
                .and_then(|c| configure(&c).map(|()| c));
                if opened.is_err()
                    && let Ok(mut r) = self.readers.lock()
                {
                    r.open -= 1;
                }
                return Ok(opened?);
            }
            readers = self.reader_free.wait(readers).map_err(poisoned)?;
        }
    }

    fn return_reader(&self, conn: Connection) {
        if let Ok(mut readers) = self.readers.lock() {
            readers.idle.push(conn);
            self.reader_free.notify_one();
        }
    }
}

/// Runs a query whose first column is an id and returns the ids. A database error or a stored id
/// that is not a UUID is an error, never silently skipped.
pub fn query_ids(
    tx: &Connection,
    sql: &str,
    params: impl Params,
) -> Result<Vec<Uuid>, ServiceError> {
    let mut stmt = tx.prepare_cached(sql)?;
    let texts: Vec<String> = stmt
        .query_map(params, |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    texts
        .iter()
        .map(|t| {
            Uuid::parse_str(t).map_err(|_| ServiceError::internal("a stored id is not a UUID"))
        })
        .collect()
}

/// A stored id column read back: anything but a UUID is a fault in the database, reported.
pub fn stored_id(text: &str) -> Result<Uuid, ServiceError> {
    Uuid::parse_str(text).map_err(|_| ServiceError::internal("a stored id is not a UUID"))
}

/// A stored date column read back: anything but `YYYY-MM-DD` is a fault, reported.
pub fn stored_date(text: &str) -> Result<chrono::NaiveDate, ServiceError> {
    accredit_shared::calendar::parse_date(text)
        .map_err(|e| ServiceError::internal(format!("a stored date: {e}")))
}
