//! Taking a backup while the server runs: the database is copied with SQLite's online backup
//! API in one step, which reads a single snapshot (in WAL mode a reader never blocks the writer,
//! and a copy made in one step is never restarted by the server's commits), so the copy holds
//! exactly the transactions committed when it began, every acknowledged change among them. The
//! blobs it lists are then added from the data directory: a blob's file is in place, fsynced,
//! before its row is written, and blobs are never changed or removed, so each one is there.

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rusqlite::backup::{Backup, StepResult};
use rusqlite::{Connection, OpenFlags};

use super::{
    ArchiveWriter, BLOBS, BackupError, BlobEntry, DATABASE, FORMAT, FileEntry, Hashing, MANIFEST,
    Manifest, VERSION, integrity_problems, io, listed_blobs, sql, sync_dir,
};

/// How long the copy waits for a database that stays locked (a long migration, say).
const BUSY_FOR: Duration = Duration::from_secs(600);

/// A backup written.
#[derive(Debug)]
pub struct Taken {
    /// Where it is.
    pub path: PathBuf,
    /// What it holds.
    pub manifest: Manifest,
    /// Its size in bytes (compressed).
    pub bytes: u64,
}

/// Backs up the data directory `data` into one file at `to`, replacing any file there only once
/// the new one is complete and on disk: until then it is written to a temporary file beside `to`,
/// removed if anything fails.
pub fn take(data: &Path, to: &Path) -> Result<Taken, BackupError> {
    let database = data.join(DATABASE);
    if !database.is_file() {
        return Err(BackupError::Data(format!(
            "there is no database at {}: is {} the server's data directory?",
            database.display(),
            data.display()
        )));
    }
    let name = to
        .file_name()
        .ok_or_else(|| BackupError::Refused(format!("{} names no file", to.display())))?
        .to_string_lossy()
        .into_owned();
    let dir = match to.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    if !dir.is_dir() {
        return Err(BackupError::Refused(format!(
            "the directory {} does not exist",
            dir.display()
        )));
    }
    let partial = |suffix: &str| {
        tempfile::Builder::new()
            .prefix(&format!(".{name}."))
            .suffix(suffix)
            .tempfile_in(&dir)
            .map_err(io(format!(
                "creating a temporary file in {}",
                dir.display()
            )))
    };
    let copy = partial(".db.partial")?;
    let created_at = crate::state::now_text();
    let (schema_version, blobs) = copy_database(&database, copy.path())?;
    let (size, blake3) = {
        let mut reader =
            Hashing::new(File::open(copy.path()).map_err(io("reading the copied database"))?);
        std::io::copy(&mut reader, &mut std::io::sink())
            .map_err(io("reading the copied database"))?;
        reader.finish()
    };
    let manifest = Manifest {
        format: FORMAT.to_owned(),
        version: VERSION,
        created_at,
        schema_version,
        database: FileEntry { size, blake3 },
        blobs,
    };
    let archive = partial(".partial")?;
    let writing = format!("writing {}", archive.path().display());
    write_archive(
        archive.as_file(),
        &writing,
        &manifest,
        copy.path(),
        &data.join(BLOBS),
    )?;
    archive.as_file().sync_all().map_err(io(writing.clone()))?;
    let bytes = archive.as_file().metadata().map_err(io(writing))?.len();
    archive.persist(to).map_err(|e| BackupError::Io {
        what: format!("moving the backup into place at {}", to.display()),
        error: e.error,
    })?;
    sync_dir(&dir)?;
    Ok(Taken {
        path: to.to_path_buf(),
        manifest,
        bytes,
    })
}

/// Copies the live database at `source` into the empty file `dest` and returns the copy's schema
/// version and the blobs it lists. The copy is checked (`PRAGMA integrity_check`) and left as one
/// self-contained file (rollback journal, not WAL).
fn copy_database(source: &Path, dest: &Path) -> Result<(u32, Vec<BlobEntry>), BackupError> {
    let opening = format!("opening the database {}", source.display());
    // Read-write without create, so a wrong path is an error rather than a new empty database;
    // `query_only` then guarantees the live database is only read.
    let src = Connection::open_with_flags(
        source,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(sql(opening.clone()))?;
    src.busy_timeout(Duration::from_secs(10))
        .and_then(|()| src.pragma_update(None, "query_only", true))
        .map_err(sql(opening))?;
    let mut dst = Connection::open(dest).map_err(sql("opening the copy"))?;
    {
        let copying = "copying the database";
        let backup = Backup::new(&src, &mut dst).map_err(sql(copying))?;
        let until = Instant::now() + BUSY_FOR;
        loop {
            match backup.step(-1).map_err(sql(copying))? {
                StepResult::Done => break,
                StepResult::More => {}
                StepResult::Busy | StepResult::Locked if Instant::now() < until => {
                    std::thread::sleep(Duration::from_millis(50));
                }
                _ => {
                    return Err(BackupError::Data(format!(
                        "the database stayed locked for {} minutes; try again later",
                        BUSY_FOR.as_secs() / 60
                    )));
                }
            }
        }
    }
    drop(src);
    let mode: String = dst
        .pragma_update_and_check(None, "journal_mode", "DELETE", |r| r.get(0))
        .map_err(sql("making the copy one file"))?;
    if !mode.eq_ignore_ascii_case("delete") {
        return Err(BackupError::Data(format!(
            "the copy stayed in journal mode {mode}"
        )));
    }
    let problems = integrity_problems(&dst)?;
    if !problems.is_empty() {
        return Err(BackupError::Data(format!(
            "the database fails SQLite's integrity check, so no backup was written: {}",
            problems.join("; ")
        )));
    }
    let version = crate::db::user_version(&dst).map_err(sql("reading the schema version"))?;
    let blobs = listed_blobs(&dst)?;
    dst.close()
        .map_err(|(_, e)| e)
        .map_err(sql("closing the copy"))?;
    Ok((version, blobs))
}

/// Writes the archive: the manifest, the database copy, then each blob, whose hash and size are
/// checked as it is copied.
fn write_archive(
    file: &File,
    writing: &str,
    manifest: &Manifest,
    database: &Path,
    blobs: &Path,
) -> Result<(), BackupError> {
    let mut archive = ArchiveWriter::new(file, writing)?;
    let json = serde_json::to_vec_pretty(manifest).map_err(|e| BackupError::Io {
        what: "writing the manifest".into(),
        error: e.into(),
    })?;
    archive.append(MANIFEST, json.len() as u64, &mut &json[..])?;
    let mut db = File::open(database)
        .map_err(io("reading the copied database"))?
        .take(manifest.database.size);
    archive.append(DATABASE, manifest.database.size, &mut db)?;
    for blob in &manifest.blobs {
        archive.append_blob(blobs, &blob.hash, blob.size)?;
    }
    archive.finish()
}
