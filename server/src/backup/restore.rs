//! Restoring a backup into an empty or new data directory. Everything is unpacked into a staging
//! directory inside it and checked there first: each file's size and hash against the manifest,
//! the database against SQLite's integrity check, the database's list of blobs against the
//! manifest's. Only then are the files moved into place (the blobs first, so a database in place
//! always has its blobs). If anything fails, the staging directory is removed and the directory
//! is left as it was, or removed again if the restore created it.

use std::collections::HashMap;
use std::fs::{self, File};
use std::io::{Read, Write};
use std::path::Path;

use accredit_shared::visit::is_blob_hash;
use rusqlite::{Connection, OpenFlags};

use super::{
    BLOBS, BackupError, DATABASE, FORMAT, Hashing, MANIFEST, Manifest, VERSION, blob_path,
    integrity_problems, io, listed_blobs, sql, sync_dir,
};

/// A manifest larger than this is not one this server wrote (a million blobs take about 100 MB).
const MAX_MANIFEST: u64 = 256 * 1024 * 1024;

/// A backup restored.
#[derive(Debug)]
pub struct Restored {
    /// What it held.
    pub manifest: Manifest,
}

/// Restores the backup `from` into the data directory `data`, which must be empty or not exist.
pub fn restore(from: &Path, data: &Path) -> Result<Restored, BackupError> {
    let existed = match fs::metadata(data) {
        Ok(m) if !m.is_dir() => {
            return Err(BackupError::Refused(format!(
                "{} is not a directory",
                data.display()
            )));
        }
        Ok(_) => {
            let mut entries =
                fs::read_dir(data).map_err(io(format!("reading {}", data.display())))?;
            if entries.next().is_some() {
                return Err(BackupError::Refused(format!(
                    "{} is not empty: restore into an empty or new directory",
                    data.display()
                )));
            }
            true
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => false,
        Err(error) => {
            return Err(BackupError::Io {
                what: format!("reading {}", data.display()),
                error,
            });
        }
    };
    let archive = File::open(from).map_err(io(format!("opening the backup {}", from.display())))?;
    if !existed {
        fs::create_dir_all(data).map_err(io(format!("creating {}", data.display())))?;
    }
    let staging = data.join(format!(".restore-{}", uuid::Uuid::new_v4()));
    let restored = fs::create_dir(&staging)
        .map_err(io(format!("creating {}", staging.display())))
        .and_then(|()| unpack(archive, &staging))
        .and_then(|manifest| check_database(&staging, &manifest).map(|()| manifest))
        .and_then(|manifest| move_into_place(&staging, data, existed).map(|()| manifest));
    match restored {
        Ok(manifest) => Ok(Restored { manifest }),
        Err(e) => {
            // Best effort: the error that stopped the restore is the one worth reporting.
            let _ = fs::remove_dir_all(&staging);
            if !existed {
                let _ = fs::remove_dir(data);
            }
            Err(e)
        }
    }
}

fn damaged(what: &str) -> impl FnOnce(std::io::Error) -> BackupError + '_ {
    move |e| BackupError::Damaged(format!("{what}: {e}"))
}

/// Reads the archive into `staging`, checking each file against the manifest as it arrives.
fn unpack(archive: File, staging: &Path) -> Result<Manifest, BackupError> {
    let decoder = zstd::stream::read::Decoder::new(archive)
        .map_err(damaged("the file is not zstd-compressed"))?;
    let mut tar = tar::Archive::new(decoder);
    let mut entries = tar.entries().map_err(damaged("reading the archive"))?;
    let mut next = |expecting: &str| -> Result<Option<tar::Entry<'_, _>>, BackupError> {
        match entries.next() {
            None => Ok(None),
            Some(entry) => {
                let entry = entry.map_err(damaged(&format!("reading {expecting}")))?;
                if !entry.header().entry_type().is_file() {
                    return Err(BackupError::Damaged(format!(
                        "{} is not a plain file",
                        String::from_utf8_lossy(&entry.path_bytes())
                    )));
                }
                Ok(Some(entry))
            }
        }
    };

    let mut first =
        next("the manifest")?.ok_or_else(|| BackupError::Damaged("the archive is empty".into()))?;
    if &*first.path_bytes() != MANIFEST.as_bytes() || first.size() > MAX_MANIFEST {
        return Err(BackupError::Damaged(format!(
            "the archive does not start with its {MANIFEST}"
        )));
    }
    let mut json = Vec::new();
    first
        .read_to_end(&mut json)
        .map_err(damaged("reading the manifest"))?;
    let manifest: Manifest = serde_json::from_slice(&json)
        .map_err(|e| BackupError::Damaged(format!("the manifest does not read: {e}")))?;
    if manifest.format != FORMAT {
        return Err(BackupError::Damaged(format!(
            "the manifest's format is {:?}, not {FORMAT:?}",
            manifest.format
        )));
    }
    if manifest.version != VERSION {
        return Err(BackupError::Refused(format!(
            "the backup's layout is version {}, this server reads version {VERSION}: restore it with the server that made it",
            manifest.version
        )));
    }
    let mut expected: HashMap<&str, u64> = HashMap::with_capacity(manifest.blobs.len());
    for b in &manifest.blobs {
        if !is_blob_hash(&b.hash) || expected.insert(&b.hash, b.size).is_some() {
            return Err(BackupError::Damaged(format!(
                "the manifest lists the blob {:?} twice or under a name that is not a hash",
                b.hash
            )));
        }
    }

    let mut db = next("the database")?.ok_or_else(|| {
        BackupError::Damaged("the archive ends after its manifest, without a database".into())
    })?;
    if &*db.path_bytes() != DATABASE.as_bytes() || db.size() != manifest.database.size {
        return Err(BackupError::Damaged(format!(
            "the archive's second entry is not the {}-byte {DATABASE} its manifest lists",
            manifest.database.size
        )));
    }
    let (size, hash) = copy_checked(&mut db, &staging.join(DATABASE), "the database")?;
    if size != manifest.database.size || hash != manifest.database.blake3 {
        return Err(BackupError::Damaged(
            "the database's bytes do not match the manifest's hash".into(),
        ));
    }

    let blobs = staging.join(BLOBS);
    fs::create_dir(&blobs).map_err(io(format!("creating {}", blobs.display())))?;
    let mut made_dirs = Vec::new();
    while let Some(mut entry) = next("a blob")? {
        let name = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        // The entry's name is compared, never used as a path: only the checked hash is.
        let hash = name
            .strip_prefix(&format!("{BLOBS}/"))
            .and_then(|rest| rest.split_once('/'))
            .filter(|(dir, hash)| is_blob_hash(hash) && hash.starts_with(dir) && dir.len() == 2)
            .map(|(_, hash)| hash.to_owned())
            .ok_or_else(|| BackupError::Damaged(format!("unexpected entry {name:?}")))?;
        let size = expected.remove(hash.as_str()).ok_or_else(|| {
            BackupError::Damaged(format!(
                "blob {hash} is not in the manifest, or is in the archive twice"
            ))
        })?;
        let path = blob_path(&blobs, &hash);
        if let Some(dir) = path.parent()
            && !dir.exists()
        {
            fs::create_dir(dir).map_err(io(format!("creating {}", dir.display())))?;
            made_dirs.push(dir.to_path_buf());
        }
        let (count, actual) = copy_checked(&mut entry, &path, &format!("blob {hash}"))?;
        if count != size || actual != hash {
            return Err(BackupError::Damaged(format!(
                "blob {hash}'s bytes do not match its hash"
            )));
        }
    }
    if let Some(missing) = expected.keys().next() {
        return Err(BackupError::Damaged(format!(
            "the archive ends without {} of the blobs its manifest lists (blob {missing}, among others)",
            expected.len()
        )));
    }
    // Reading on to the end of the compressed stream checks its checksum too.
    std::io::copy(&mut tar.into_inner(), &mut std::io::sink())
        .map_err(damaged("reading the end of the archive"))?;
    for dir in made_dirs.iter().chain([&blobs, &staging.to_path_buf()]) {
        sync_dir(dir)?;
    }
    Ok(manifest)
}

/// Copies an archive entry into a new file, fsynced, and returns its size and hash. A failure to
/// read is damage to the archive; a failure to write is this machine's.
fn copy_checked(
    entry: &mut impl Read,
    to: &Path,
    what: &str,
) -> Result<(u64, String), BackupError> {
    let writing = format!("writing {}", to.display());
    let mut file = File::create_new(to).map_err(io(writing.clone()))?;
    let mut reader = Hashing::new(entry);
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        let n = reader
            .read(&mut buf)
            .map_err(damaged(&format!("reading {what}")))?;
        if n == 0 {
            break;
        }
        file.write_all(&buf[..n]).map_err(io(writing.clone()))?;
    }
    file.sync_all().map_err(io(writing))?;
    Ok(reader.finish())
}

/// Checks the unpacked database: SQLite's integrity check, a schema this server can run, and
/// the same blobs as the manifest.
fn check_database(staging: &Path, manifest: &Manifest) -> Result<(), BackupError> {
    let path = staging.join(DATABASE);
    let conn = Connection::open_with_flags(
        &path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(sql("opening the restored database"))?;
    let problems = integrity_problems(&conn).map_err(|e| match e {
        // A file that is not a database at all fails here, not with a list of problems.
        BackupError::Database { error, .. } => {
            BackupError::Damaged(format!("the database does not open: {error}"))
        }
        other => other,
    })?;
    if !problems.is_empty() {
        return Err(BackupError::Damaged(format!(
            "the database fails SQLite's integrity check: {}",
            problems.join("; ")
        )));
    }
    let version = crate::db::user_version(&conn).map_err(sql("reading the schema version"))?;
    if version > crate::db::latest_version() {
        return Err(BackupError::Refused(format!(
            "the backup's database has schema version {version}, newer than this server's ({}): restore it with a server at least as new as the one that made it",
            crate::db::latest_version()
        )));
    }
    let listed = listed_blobs(&conn)?;
    let same = listed.len() == manifest.blobs.len()
        && listed
            .iter()
            .zip(&manifest.blobs)
            .all(|(a, b)| a.hash == b.hash && a.size == b.size);
    if !same {
        return Err(BackupError::Damaged(
            "the database's list of blobs is not the manifest's".into(),
        ));
    }
    conn.close()
        .map_err(|(_, e)| e)
        .map_err(sql("closing the restored database"))
}

/// Moves the checked files from `staging` into `data`: the blobs first, then the database.
fn move_into_place(staging: &Path, data: &Path, existed: bool) -> Result<(), BackupError> {
    let (blobs_from, blobs_to) = (staging.join(BLOBS), data.join(BLOBS));
    let (db_from, db_to) = (staging.join(DATABASE), data.join(DATABASE));
    fs::rename(&blobs_from, &blobs_to).map_err(io(format!("moving {}", blobs_to.display())))?;
    if let Err(error) = fs::rename(&db_from, &db_to) {
        // Put the blobs back so the directory is left as it was.
        let _ = fs::rename(&blobs_to, &blobs_from);
        return Err(BackupError::Io {
            what: format!("moving {}", db_to.display()),
            error,
        });
    }
    // Everything is in place: an empty staging directory left behind is untidy, not a failure.
    if let Err(e) = fs::remove_dir(staging) {
        tracing::warn!(error = %e, "could not remove the empty staging directory of a restore");
    }
    sync_dir(data)?;
    if !existed && let Some(parent) = data.parent().filter(|p| !p.as_os_str().is_empty()) {
        sync_dir(parent)?;
    }
    Ok(())
}
