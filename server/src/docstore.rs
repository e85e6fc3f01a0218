//! Visit documents at rest: a snapshot plus incremental chunks, compacted into a new snapshot once
//! the chunks grow, all inside the caller's transaction.

use automerge::{AutoCommit, ChangeHash};
use rusqlite::{OptionalExtension, Transaction, params};
use uuid::Uuid;

use crate::error::ApiError;
use crate::state::now_text;

/// Compact when this many chunks have piled up.
const COMPACT_AFTER_CHUNKS: i64 = 32;

/// A stored document's index row.
pub struct DocRow {
    /// The location the visit is at.
    pub location_id: Uuid,
    /// The stored heads, comma-separated hex.
    pub heads: String,
}

/// The index row of a document, if stored.
pub fn row(tx: &Transaction<'_>, id: Uuid) -> Result<Option<DocRow>, ApiError> {
    let row: Option<(String, String)> = tx
        .query_row(
            "SELECT location_id, heads FROM documents WHERE id = ?1",
            [id.to_string()],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    Ok(row.and_then(|(l, heads)| {
        Uuid::parse_str(&l)
            .ok()
            .map(|location_id| DocRow { location_id, heads })
    }))
}

/// Loads a stored document.
pub fn load(tx: &Transaction<'_>, id: Uuid) -> Result<Option<AutoCommit>, ApiError> {
    let snapshot: Option<Vec<u8>> = tx
        .query_row(
            "SELECT snapshot FROM documents WHERE id = ?1",
            [id.to_string()],
            |r| r.get(0),
        )
        .optional()?;
    let Some(snapshot) = snapshot else {
        return Ok(None);
    };
    let mut doc = AutoCommit::load(&snapshot)
        .map_err(|e| ApiError::internal(format!("stored document {id}: {e}")))?;
    let mut stmt =
        tx.prepare_cached("SELECT data FROM doc_chunks WHERE doc_id = ?1 ORDER BY seq")?;
    let chunks = stmt.query_map([id.to_string()], |r| r.get::<_, Vec<u8>>(0))?;
    for chunk in chunks {
        doc.load_incremental(&chunk?)
            .map_err(|e| ApiError::internal(format!("stored chunk of {id}: {e}")))?;
    }
    Ok(Some(doc))
}

/// Heads as stored.
pub fn heads_text(heads: &[ChangeHash]) -> String {
    heads
        .iter()
        .map(ChangeHash::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

/// Stores a new document.
pub fn insert(
    tx: &Transaction<'_>,
    id: Uuid,
    location: Uuid,
    created_by: Uuid,
    doc: &mut AutoCommit,
) -> Result<(), ApiError> {
    tx.execute(
        "INSERT INTO documents (id, location_id, created_by, snapshot, heads, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![
            id.to_string(),
            location.to_string(),
            created_by.to_string(),
            doc.save(),
            heads_text(&doc.get_heads()),
            now_text()
        ],
    )?;
    Ok(())
}

/// Appends the changes made since `old_heads`, compacting when the chunks have grown.
pub fn append(
    tx: &Transaction<'_>,
    id: Uuid,
    doc: &mut AutoCommit,
    old_heads: &[ChangeHash],
) -> Result<(), ApiError> {
    let (count, bytes, snapshot_len): (i64, i64, i64) = tx.query_row(
        "SELECT chunk_count, chunk_bytes, length(snapshot) FROM documents WHERE id = ?1",
        [id.to_string()],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
    )?;
    let heads = heads_text(&doc.get_heads());
    let chunk = doc.save_after(old_heads);
    if count + 1 >= COMPACT_AFTER_CHUNKS || bytes + chunk.len() as i64 > snapshot_len {
        tx.execute("DELETE FROM doc_chunks WHERE doc_id = ?1", [id.to_string()])?;
        tx.execute(
            "UPDATE documents SET snapshot = ?2, heads = ?3, chunk_count = 0, chunk_bytes = 0, updated_at = ?4 WHERE id = ?1",
            params![id.to_string(), doc.save(), heads, now_text()],
        )?;
    } else {
        tx.execute(
            "INSERT INTO doc_chunks (doc_id, seq, data) VALUES (?1, ?2, ?3)",
            params![id.to_string(), count, chunk],
        )?;
        tx.execute(
            "UPDATE documents SET heads = ?2, chunk_count = chunk_count + 1, chunk_bytes = chunk_bytes + ?3, updated_at = ?4 WHERE id = ?1",
            params![id.to_string(), heads, chunk.len() as i64, now_text()],
        )?;
    }
    Ok(())
}

/// Records which photo hashes a document refers to now.
pub fn set_photos<'a>(
    tx: &Transaction<'_>,
    id: Uuid,
    hashes: impl Iterator<Item = &'a str>,
) -> Result<(), ApiError> {
    tx.execute("DELETE FROM doc_photos WHERE doc_id = ?1", [id.to_string()])?;
    let mut stmt =
        tx.prepare_cached("INSERT OR IGNORE INTO doc_photos (doc_id, hash) VALUES (?1, ?2)")?;
    for h in hashes {
        stmt.execute(params![id.to_string(), h])?;
    }
    Ok(())
}
