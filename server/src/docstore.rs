//! Visit documents at rest: a snapshot plus incremental chunks, compacted into a new snapshot once
//! the chunks grow, all inside the caller's transaction.

use automerge::{AutoCommit, ChangeHash};
use rusqlite::{Connection, OptionalExtension, params};
use uuid::Uuid;

use crate::error::ServiceError;
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
pub fn row(tx: &Connection, id: Uuid) -> Result<Option<DocRow>, ServiceError> {
    let row: Option<(String, String)> = tx
        .prepare_cached("SELECT location_id, heads FROM documents WHERE id = ?1")?
        .query_row([id.to_string()], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    Ok(row.and_then(|(l, heads)| {
        Uuid::parse_str(&l)
            .ok()
            .map(|location_id| DocRow { location_id, heads })
    }))
}

/// Loads a stored document.
pub fn load(tx: &Connection, id: Uuid) -> Result<Option<AutoCommit>, ServiceError> {
    let snapshot: Option<Vec<u8>> = tx
        .prepare_cached("SELECT snapshot FROM documents WHERE id = ?1")?
        .query_row([id.to_string()], |r| r.get(0))
        .optional()?;
    let Some(snapshot) = snapshot else {
        return Ok(None);
    };
    let mut doc = AutoCommit::load(&snapshot)
        .map_err(|e| ServiceError::internal(format!("stored document {id}: {e}")))?;
    let mut stmt =
        tx.prepare_cached("SELECT data FROM doc_chunks WHERE doc_id = ?1 ORDER BY seq")?;
    let chunks = stmt.query_map([id.to_string()], |r| r.get::<_, Vec<u8>>(0))?;
    for chunk in chunks {
        doc.load_incremental(&chunk?)
            .map_err(|e| ServiceError::internal(format!("stored chunk of {id}: {e}")))?;
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

/// A document's new state, encoded for storage ahead of the write so the writer only writes.
pub struct Encoded {
    heads: String,
    form: Form,
}

enum Form {
    /// A whole new snapshot (a new document, or a compaction).
    Snapshot(Vec<u8>),
    /// The changes since the stored heads, to append; `seq` is its position.
    Chunk { seq: i64, data: Vec<u8> },
}

/// Encodes a document new to the server.
pub fn encode_new(doc: &mut AutoCommit) -> Encoded {
    Encoded {
        heads: heads_text(&doc.get_heads()),
        form: Form::Snapshot(doc.save()),
    }
}

/// Encodes the changes made to a stored document since `old_heads`: as a chunk to append, or as
/// a compacted snapshot once the chunks have grown. Only valid while the stored heads are still
/// `old_heads` (the chunk counters change only with them).
pub fn encode_changes(
    conn: &Connection,
    id: Uuid,
    doc: &mut AutoCommit,
    old_heads: &[ChangeHash],
) -> Result<Encoded, ServiceError> {
    let (count, bytes, snapshot_len): (i64, i64, i64) = conn
        .prepare_cached(
            "SELECT chunk_count, chunk_bytes, length(snapshot) FROM documents WHERE id = ?1",
        )?
        .query_row([id.to_string()], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
    let heads = heads_text(&doc.get_heads());
    let chunk = doc.save_after(old_heads);
    let form = if count + 1 >= COMPACT_AFTER_CHUNKS || bytes + chunk.len() as i64 > snapshot_len {
        Form::Snapshot(doc.save())
    } else {
        Form::Chunk {
            seq: count,
            data: chunk,
        }
    };
    Ok(Encoded { heads, form })
}

const INSERT_DOCUMENT: &str = "INSERT INTO documents (id, location_id, created_by, snapshot, heads, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)";
const REPLACE_SNAPSHOT: &str = "UPDATE documents SET snapshot = ?2, heads = ?3, chunk_count = 0, chunk_bytes = 0, updated_at = ?4 WHERE id = ?1";
const INSERT_CHUNK: &str = "INSERT INTO doc_chunks (doc_id, seq, data) VALUES (?1, ?2, ?3)";
const COUNT_CHUNK: &str = "UPDATE documents SET heads = ?2, chunk_count = chunk_count + 1, chunk_bytes = chunk_bytes + ?3, updated_at = ?4 WHERE id = ?1";

/// Stores a new document.
pub fn insert(
    tx: &Connection,
    id: Uuid,
    location: Uuid,
    created_by: Uuid,
    encoded: Encoded,
) -> Result<(), ServiceError> {
    let Form::Snapshot(snapshot) = encoded.form else {
        return Err(ServiceError::internal(
            "a new document must be stored whole",
        ));
    };
    tx.prepare_cached(INSERT_DOCUMENT)?.execute(params![
        id.to_string(),
        location.to_string(),
        created_by.to_string(),
        snapshot,
        encoded.heads,
        now_text()
    ])?;
    Ok(())
}

/// Stores the encoded changes of a stored document.
pub fn append(tx: &Connection, id: Uuid, encoded: Encoded) -> Result<(), ServiceError> {
    match encoded.form {
        Form::Snapshot(snapshot) => {
            tx.prepare_cached("DELETE FROM doc_chunks WHERE doc_id = ?1")?
                .execute([id.to_string()])?;
            tx.prepare_cached(REPLACE_SNAPSHOT)?.execute(params![
                id.to_string(),
                snapshot,
                encoded.heads,
                now_text()
            ])?;
        }
        Form::Chunk { seq, data } => {
            let len = data.len() as i64;
            tx.prepare_cached(INSERT_CHUNK)?
                .execute(params![id.to_string(), seq, data])?;
            tx.prepare_cached(COUNT_CHUNK)?.execute(params![
                id.to_string(),
                encoded.heads,
                len,
                now_text()
            ])?;
        }
    }
    Ok(())
}

/// Records which photo hashes a document refers to now.
pub fn set_photos<'a>(
    tx: &Connection,
    id: Uuid,
    hashes: impl Iterator<Item = &'a str>,
) -> Result<(), ServiceError> {
    tx.prepare_cached("DELETE FROM doc_photos WHERE doc_id = ?1")?
        .execute([id.to_string()])?;
    let mut stmt =
        tx.prepare_cached("INSERT OR IGNORE INTO doc_photos (doc_id, hash) VALUES (?1, ?2)")?;
    for h in hashes {
        stmt.execute(params![id.to_string(), h])?;
    }
    Ok(())
}
