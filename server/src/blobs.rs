//! Content-addressed photo blobs: files named by their BLAKE3 hash, written to a temporary file,
//! fsynced and renamed, so a blob is either wholly there or absent. The server re-hashes every
//! upload and refuses a mismatch.

use std::io::Write;
use std::path::{Path, PathBuf};

use accredit_shared::visit::is_blob_hash;
use rusqlite::{Connection, OptionalExtension, params};

use crate::auth::{Caller, Role};
use crate::error::ServiceError;
use crate::state::{AppState, now_text};

/// Checks a hash from a URL or body.
pub fn check_hash(hash: &str) -> Result<(), ServiceError> {
    if is_blob_hash(hash) {
        Ok(())
    } else {
        Err(ServiceError::bad_request(
            "a blob id is a BLAKE3 hash: 64 lower-case hex digits",
        ))
    }
}

/// Where a stored blob's file is.
pub(crate) fn path_of(state: &AppState, hash: &str) -> PathBuf {
    state.config.blob_dir().join(&hash[..2]).join(hash)
}

/// Which of `hashes` the server does not have.
pub fn missing(tx: &Connection, hashes: &[String]) -> Result<Vec<String>, ServiceError> {
    let mut stmt = tx.prepare_cached("SELECT 1 FROM blobs WHERE hash = ?1")?;
    let mut out = Vec::new();
    for h in hashes {
        check_hash(h)?;
        if stmt.query_row([h], |_| Ok(())).optional()?.is_none() {
            out.push(h.clone());
        }
    }
    Ok(out)
}

/// Stores an upload after checking its hash and size. Idempotent: a second upload of the same
/// bytes changes nothing.
pub fn store(
    state: &AppState,
    caller: &Caller,
    hash: &str,
    bytes: &[u8],
) -> Result<bool, ServiceError> {
    caller.require(&[Role::Monitor, Role::Lead, Role::Provider])?;
    check_hash(hash)?;
    if bytes.len() > state.config.max_blob_bytes {
        return Err(ServiceError::too_large(format!(
            "a blob may be at most {} bytes",
            state.config.max_blob_bytes
        )));
    }
    check_quota(state, caller, bytes.len() as u64, 0)?;
    let actual = blake3::hash(bytes).to_hex();
    if actual.as_str() != hash {
        return Err(ServiceError::invalid(
            "the bytes do not match the hash in the URL",
        ));
    }
    if known(state, hash)? {
        return Ok(false);
    }
    let path = path_of(state, hash);
    let dir = path
        .parent()
        .ok_or_else(|| ServiceError::internal("blob path has no parent"))?;
    std::fs::create_dir_all(dir)?;
    let tmp = dir.join(format!(".{hash}.{}.tmp", uuid::Uuid::new_v4()));
    {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
    }
    publish(state, caller, hash, &tmp, bytes.len() as u64)?;
    Ok(true)
}

/// Moves a complete, fsynced, hash-checked file into place and records the blob.
fn publish(
    state: &AppState,
    caller: &Caller,
    hash: &str,
    file: &Path,
    size: u64,
) -> Result<(), ServiceError> {
    let path = path_of(state, hash);
    let dir = path
        .parent()
        .ok_or_else(|| ServiceError::internal("blob path has no parent"))?;
    std::fs::create_dir_all(dir)?;
    std::fs::rename(file, &path)?;
    // The rename is durable only once the directory is: an upload is acknowledged after this.
    std::fs::File::open(dir)?.sync_all()?;
    let inserted = state.db.write(|tx| {
        Ok(tx.execute(
            "INSERT OR IGNORE INTO blobs (hash, size, uploaded_by, uploaded_at) VALUES (?1, ?2, ?3, ?4)",
            params![hash, size as i64, caller.user_id.to_string(), now_text()],
        )?)
    })?;
    if inserted > 0 {
        state.metrics.record_blob_upload(size);
    }
    Ok(())
}

fn known(state: &AppState, hash: &str) -> Result<bool, ServiceError> {
    state.db.read(|tx| {
        Ok(tx
            .query_row("SELECT 1 FROM blobs WHERE hash = ?1", [hash], |_| Ok(()))
            .optional()?
            .is_some())
    })
}

/// Where a resumable upload stands: bytes the server holds of a blob of `size` bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub struct UploadProgress {
    /// Bytes received so far, in order from the start.
    pub received: u64,
    /// The blob's whole size.
    pub size: u64,
    /// Whether the blob is stored (received, hash-checked and in place).
    pub complete: bool,
}

/// The staging file of one uploader's partial upload. Each uploader has their own, so nobody can
/// append to (or spoil) someone else's upload; the size is part of the name, so a client that
/// changes its mind about the size starts afresh.
fn partial_path(state: &AppState, caller: &Caller, hash: &str, size: u64) -> PathBuf {
    partial_dir(state, caller).join(format!("{hash}.{size}"))
}

fn check_upload(
    state: &AppState,
    caller: &Caller,
    hash: &str,
    size: u64,
) -> Result<(), ServiceError> {
    caller.require(&[Role::Monitor, Role::Lead, Role::Provider])?;
    check_hash(hash)?;
    if size == 0 {
        return Err(ServiceError::bad_request("a blob has at least one byte"));
    }
    if size > state.config.max_blob_bytes as u64 {
        return Err(ServiceError::too_large(format!(
            "a blob may be at most {} bytes",
            state.config.max_blob_bytes
        )));
    }
    Ok(())
}

/// How much of an upload the server holds, so a client can resume where it stopped.
/// Bytes the caller holds at the server: stored blobs they uploaded and partial uploads.
fn bytes_held(state: &AppState, caller: &Caller) -> Result<u64, ServiceError> {
    let stored: i64 = state.db.read(|tx| {
        Ok(tx.query_row(
            "SELECT coalesce(sum(size), 0) FROM blobs WHERE uploaded_by = ?1",
            [caller.user_id.to_string()],
            |r| r.get(0),
        )?)
    })?;
    let mut partial = 0u64;
    let dir = partial_dir(state, caller);
    match std::fs::read_dir(&dir) {
        Ok(entries) => {
            for e in entries {
                partial += e?.metadata()?.len();
            }
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e.into()),
    }
    Ok(u64::try_from(stored).unwrap_or(0) + partial)
}

/// Refuses an upload of `size` more bytes (of which `already` are held) that would take the
/// caller past their quota, so one account cannot fill the disk.
fn check_quota(
    state: &AppState,
    caller: &Caller,
    size: u64,
    already: u64,
) -> Result<(), ServiceError> {
    let quota = state.config.upload_quota_bytes;
    let held = bytes_held(state, caller)?;
    if held.saturating_sub(already) + size > quota {
        return Err(ServiceError::too_large(format!(
            "this upload of {size} bytes would pass your account's upload quota of {} MB ({} MB used); ask your council's administrator",
            quota / 1_000_000,
            held / 1_000_000
        )));
    }
    Ok(())
}

fn partial_dir(state: &AppState, caller: &Caller) -> PathBuf {
    state
        .config
        .blob_dir()
        .join(".partial")
        .join(caller.user_id.to_string())
}

/// Removes partial uploads untouched for longer than the configured age, and returns how many.
/// A device that comes back later simply starts that upload again.
pub fn sweep_partials(state: &AppState) -> std::io::Result<usize> {
    let root = state.config.blob_dir().join(".partial");
    let max_age = state.config.partial_upload_max_age;
    let mut removed = 0;
    let users = match std::fs::read_dir(&root) {
        Ok(u) => u,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(e),
    };
    for user in users {
        let user = user?;
        if !user.file_type()?.is_dir() {
            continue;
        }
        for file in std::fs::read_dir(user.path())? {
            let file = file?;
            // A modification time in the future (a clock set back) counts as new, not as old.
            let age = file.metadata()?.modified()?.elapsed().unwrap_or_default();
            if age > max_age {
                std::fs::remove_file(file.path())?;
                removed += 1;
            }
        }
    }
    Ok(removed)
}

pub fn upload_progress(
    state: &AppState,
    caller: &Caller,
    hash: &str,
    size: u64,
) -> Result<UploadProgress, ServiceError> {
    check_upload(state, caller, hash, size)?;
    if known(state, hash)? {
        return Ok(UploadProgress {
            received: size,
            size,
            complete: true,
        });
    }
    let received = match std::fs::metadata(partial_path(state, caller, hash, size)) {
        Ok(m) => m.len(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => 0,
        Err(e) => return Err(e.into()),
    };
    Ok(UploadProgress {
        received,
        size,
        complete: false,
    })
}

/// Appends `chunk` at `offset` of a resumable upload. The offset must be exactly what the server
/// holds (409 otherwise, with nothing written), so a chunk is never stored twice or out of order.
/// Each chunk is fsynced before it is acknowledged. The last chunk is hash-checked (422 and the
/// partial upload discarded on a mismatch) and the blob moved into place.
pub fn upload_chunk(
    state: &AppState,
    caller: &Caller,
    hash: &str,
    size: u64,
    offset: u64,
    chunk: &[u8],
) -> Result<UploadProgress, ServiceError> {
    let progress = upload_progress(state, caller, hash, size)?;
    if progress.complete {
        return Ok(progress);
    }
    if offset != progress.received {
        return Err(ServiceError::conflict(format!(
            "the upload is at byte {}, not {offset}",
            progress.received
        )));
    }
    if chunk.is_empty() {
        return Err(ServiceError::bad_request(
            "an upload chunk has at least one byte",
        ));
    }
    if offset == 0 {
        check_quota(state, caller, size, 0)?;
    }
    let end = offset + chunk.len() as u64;
    if end > size {
        return Err(ServiceError::invalid(format!(
            "the chunk runs to byte {end}, past the blob's size of {size}"
        )));
    }
    let partial = partial_path(state, caller, hash, size);
    if let Some(dir) = partial.parent() {
        std::fs::create_dir_all(dir)?;
    }
    {
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&partial)?;
        f.write_all(chunk)?;
        f.sync_all()?;
    }
    if end < size {
        return Ok(UploadProgress {
            received: end,
            size,
            complete: false,
        });
    }
    let mut hasher = blake3::Hasher::new();
    hasher.update_reader(std::fs::File::open(&partial)?)?;
    if hasher.finalize().to_hex().as_str() != hash {
        if let Err(e) = std::fs::remove_file(&partial) {
            tracing::warn!(error = %e, "removing a mismatched upload failed");
        }
        return Err(ServiceError::invalid(
            "the uploaded bytes do not match the hash in the URL; the upload was discarded",
        ));
    }
    publish(state, caller, hash, &partial, size)?;
    Ok(UploadProgress {
        received: size,
        size,
        complete: true,
    })
}

/// Whether the caller may read a blob: their own upload; anything for leads and commissioners; a
/// monitor's visit on their caseload that uses it; a provider's shared or published visit whose
/// revision uses it.
pub fn may_read(tx: &Connection, caller: &Caller, hash: &str) -> Result<bool, ServiceError> {
    if caller.sees_all() {
        return Ok(true);
    }
    let own = tx
        .query_row(
            "SELECT 1 FROM blobs WHERE hash = ?1 AND uploaded_by = ?2",
            params![hash, caller.user_id.to_string()],
            |_| Ok(()),
        )
        .optional()?
        .is_some();
    if own {
        return Ok(true);
    }
    let found = match caller.role {
        Role::Monitor => tx
            .query_row(
                "SELECT 1 FROM doc_photos p JOIN documents d ON d.id = p.doc_id JOIN caseload c ON c.location_id = d.location_id
                 WHERE p.hash = ?1 AND c.monitor_id = ?2 LIMIT 1",
                params![hash, caller.user_id.to_string()],
                |_| Ok(()),
            )
            .optional()?,
        Role::Provider => tx
            .query_row(
                "SELECT 1 FROM revision_photos p JOIN visits v ON v.id = p.visit_id JOIN locations l ON l.id = v.location_id
                 WHERE p.hash = ?1 AND l.provider_id = ?2 AND v.status IN ('shared', 'published')
                   AND (p.revision = v.current_revision OR EXISTS (SELECT 1 FROM visit_revisions r WHERE r.visit_id = p.visit_id AND r.revision = p.revision AND r.published_on IS NOT NULL))
                 LIMIT 1",
                params![hash, caller.provider_id.map(|p| p.to_string()).unwrap_or_default()],
                |_| Ok(()),
            )
            .optional()?,
        Role::Lead | Role::Commissioner => Some(()),
    };
    Ok(found.is_some())
}

/// Reads a blob the caller may see; 404 otherwise (whether or not it exists).
pub fn read(state: &AppState, caller: &Caller, hash: &str) -> Result<Vec<u8>, ServiceError> {
    check_hash(hash)?;
    let allowed = state.db.read(|tx| {
        let known = tx
            .query_row("SELECT 1 FROM blobs WHERE hash = ?1", [hash], |_| Ok(()))
            .optional()?
            .is_some();
        Ok(known && may_read(tx, caller, hash)?)
    })?;
    if !allowed {
        return Err(ServiceError::not_found("blob"));
    }
    Ok(std::fs::read(path_of(state, hash))?)
}

/// A media type from the first bytes, for downloads.
pub fn sniff(bytes: &[u8]) -> &'static str {
    match bytes {
        [0xFF, 0xD8, 0xFF, ..] => "image/jpeg",
        [0x89, b'P', b'N', b'G', ..] => "image/png",
        [b'%', b'P', b'D', b'F', ..] => "application/pdf",
        _ => "application/octet-stream",
    }
}
