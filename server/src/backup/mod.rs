//! Backups of a data directory as one file, and restoring one (`accredit-server backup` and
//! `restore`).
//!
//! A backup is a zstd-compressed tar archive holding, in this order: `manifest.json` (see
//! [`Manifest`]), `accredit.sqlite3` (a consistent copy of the database, made with SQLite's
//! online backup API while the server runs), and every blob the copied database lists, at
//! `blobs/ab/abcd…` as in the data directory. Every file's BLAKE3 hash is checked on the way in
//! and on the way out, so a backup that was written is whole, and a restore that finished is
//! exactly what was backed up.

mod archive;
mod restore;
mod take;

use std::io::Read;
use std::path::{Path, PathBuf};

use accredit_shared::visit::is_blob_hash;
use rusqlite::Connection;
use serde::{Deserialize, Serialize};

pub(crate) use archive::ArchiveWriter;
pub use restore::{Restored, restore};
pub use take::{Taken, take};

/// What the manifest's `format` says: this is an Accredit backup.
pub const FORMAT: &str = "accredit-backup";
/// The archive layout this build writes and reads.
pub const VERSION: u32 = 1;
/// The manifest's name in the archive.
const MANIFEST: &str = "manifest.json";
/// The database's name, in the archive and in the data directory.
const DATABASE: &str = "accredit.sqlite3";
/// The blob directory's name, in the archive and in the data directory.
const BLOBS: &str = "blobs";

/// The archive's table of contents, its first entry.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Manifest {
    /// Always [`FORMAT`].
    pub format: String,
    /// The layout, [`VERSION`].
    pub version: u32,
    /// When the database was copied (RFC 3339, UTC).
    pub created_at: String,
    /// The copied database's schema version (`PRAGMA user_version`).
    pub schema_version: u32,
    /// The database file.
    pub database: FileEntry,
    /// Every blob, by hash.
    pub blobs: Vec<BlobEntry>,
}

/// The database file in a backup.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct FileEntry {
    /// Bytes.
    pub size: u64,
    /// BLAKE3, hex.
    pub blake3: String,
}

/// A blob in a backup: its name is its BLAKE3 hash.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct BlobEntry {
    /// BLAKE3, hex, 64 lower-case digits.
    pub hash: String,
    /// Bytes.
    pub size: u64,
}

/// Why a backup or restore did not complete. Either way nothing is left half-done: no file at
/// the backup's path, no change to the restore's directory.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    /// Reading or writing a file failed.
    #[error("{what}: {error}")]
    Io {
        /// What was being done, naming the file.
        what: String,
        /// The system's reason.
        error: std::io::Error,
    },
    /// SQLite refused or failed.
    #[error("{what}: {error}")]
    Database {
        /// What was being done.
        what: String,
        /// SQLite's reason.
        error: rusqlite::Error,
    },
    /// The data directory is not fit to back up: no database, a blob missing or damaged.
    #[error("{0}")]
    Data(String),
    /// The backup file is damaged, or not an Accredit backup.
    #[error("the backup is damaged or not an Accredit backup: {0}")]
    Damaged(String),
    /// The request cannot be carried out as asked (a non-empty directory to restore into).
    #[error("{0}")]
    Refused(String),
}

/// Attaches what was being done to an I/O error.
fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> BackupError {
    let what = what.into();
    move |error| BackupError::Io { what, error }
}

/// Attaches what was being done to an SQLite error.
fn sql(what: impl Into<String>) -> impl FnOnce(rusqlite::Error) -> BackupError {
    let what = what.into();
    move |error| BackupError::Database { what, error }
}

/// A blob's place under a directory laid out as the data directory's `blobs/`.
pub(crate) fn blob_path(blobs: &Path, hash: &str) -> PathBuf {
    blobs.join(&hash[..2]).join(hash)
}

/// A blob's name in the archive.
pub(crate) fn blob_entry_name(hash: &str) -> String {
    format!("{BLOBS}/{}/{hash}", &hash[..2])
}

/// A reader that hashes and counts what passes through it.
pub(crate) struct Hashing<R> {
    inner: R,
    hasher: blake3::Hasher,
    count: u64,
}

impl<R: Read> Hashing<R> {
    pub(crate) fn new(inner: R) -> Hashing<R> {
        Hashing {
            inner,
            hasher: blake3::Hasher::new(),
            count: 0,
        }
    }

    /// Bytes read and their hash, hex.
    pub(crate) fn finish(&self) -> (u64, String) {
        (self.count, self.hasher.finalize().to_hex().to_string())
    }
}

impl<R: Read> Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        self.count += n as u64;
        Ok(n)
    }
}

/// Makes a file's creation or rename durable: the directory entry is only on disk once its
/// directory is synced.
pub(crate) fn sync_dir(dir: &Path) -> Result<(), BackupError> {
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io(format!("syncing the directory {}", dir.display())))
}

/// Runs `PRAGMA integrity_check` and returns SQLite's complaints, if any.
fn integrity_problems(conn: &Connection) -> Result<Vec<String>, BackupError> {
    let mut stmt = conn
        .prepare("PRAGMA integrity_check")
        .map_err(sql("checking the database's integrity"))?;
    let lines = stmt
        .query_map([], |r| r.get::<_, String>(0))
        .and_then(|rows| rows.collect::<Result<Vec<_>, _>>())
        .map_err(sql("checking the database's integrity"))?;
    Ok(if lines == ["ok"] { Vec::new() } else { lines })
}

/// The blobs a database lists, by hash.
fn listed_blobs(conn: &Connection) -> Result<Vec<BlobEntry>, BackupError> {
    let reading = "reading the list of blobs";
    let mut stmt = conn
        .prepare("SELECT hash, size FROM blobs ORDER BY hash")
        .map_err(sql(reading))?;
    let rows: Vec<(String, i64)> = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .and_then(|rows| rows.collect())
        .map_err(sql(reading))?;
    rows.into_iter()
        .map(|(hash, size)| match u64::try_from(size) {
            Ok(size) if is_blob_hash(&hash) => Ok(BlobEntry { hash, size }),
            _ => Err(BackupError::Data(format!(
                "the database lists a blob {hash:?} of {size} bytes, which is not a valid blob"
            ))),
        })
        .collect()
}
