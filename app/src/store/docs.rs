//! Visit documents as a snapshot plus incremental chunks, and their sync states with the server.

use rusqlite::{Connection, OptionalExtension, params};
use uuid::Uuid;

use super::now_text;
use crate::error::{AppError, AppResult};

/// A document's index row: what the caseload and sync centre need without loading it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DocRow {
    /// The visit id (also the document id).
    pub id: Uuid,
    /// Where the visit is.
    pub location_id: Uuid,
    /// When it started (RFC 3339).
    pub started_at: String,
    /// Whether it carries a sign-off.
    pub signed_off: bool,
    /// Whether this device created it.
    pub created_here: bool,
}

/// A document's saved bytes: the snapshot followed by every chunk, ready for `VisitDoc::load`.
pub struct StoredDoc {
    /// Snapshot then chunks, concatenated.
    pub bytes: Vec<u8>,
    /// Chunks after the snapshot.
    pub chunks: i64,
}

fn uuid(text: String) -> AppResult<Uuid> {
    Uuid::parse_str(&text).map_err(|_| AppError::Corrupt(format!("{text:?} is not a UUID")))
}

/// Adds a document with its first full save.
pub fn insert(conn: &Connection, row: &DocRow, snapshot: &[u8]) -> AppResult<()> {
    conn.execute(
        "INSERT INTO docs (id, location_id, started_at, signed_off, created_here, snapshot, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![
            row.id.to_string(),
            row.location_id.to_string(),
            row.started_at,
            row.signed_off,
            row.created_here,
            snapshot,
            now_text()
        ],
    )?;
    Ok(())
}

/// Records the planned visit a document was started from.
pub fn set_plan(conn: &Connection, id: Uuid, plan: Uuid) -> AppResult<()> {
    conn.execute(
        "UPDATE docs SET plan_id = ?2 WHERE id = ?1",
        params![id.to_string(), plan.to_string()],
    )?;
    Ok(())
}

/// The planned visits started on this device.
pub fn started_plans(conn: &Connection) -> AppResult<Vec<Uuid>> {
    let mut stmt = conn.prepare_cached("SELECT plan_id FROM docs WHERE plan_id IS NOT NULL")?;
    let ids = stmt
        .query_map([], |r| r.get::<_, String>(0))?
        .collect::<Result<Vec<_>, _>>()?;
    ids.into_iter().map(uuid).collect()
}

/// Appends an incremental save. An empty chunk (nothing changed) is not stored.
pub fn append(conn: &Connection, id: Uuid, chunk: &[u8]) -> AppResult<()> {
    if chunk.is_empty() {
        return Ok(());
    }
    let changed = conn.execute(
        "UPDATE docs SET updated_at = ?2 WHERE id = ?1",
        params![id.to_string(), now_text()],
    )?;
    if changed == 0 {
        return Err(AppError::NotFound(format!("visit {id}")));
    }
    conn.prepare_cached("INSERT INTO doc_chunks (doc_id, bytes) VALUES (?1, ?2)")?
        .execute(params![id.to_string(), chunk])?;
    Ok(())
}

/// Marks a document signed off in the index.
pub fn set_signed_off(conn: &Connection, id: Uuid) -> AppResult<()> {
    conn.execute(
        "UPDATE docs SET signed_off = 1 WHERE id = ?1",
        [id.to_string()],
    )?;
    Ok(())
}

/// Replaces the snapshot with a full save and drops the chunks it includes.
pub fn compact(conn: &Connection, id: Uuid, snapshot: &[u8]) -> AppResult<()> {
    conn.execute(
        "UPDATE docs SET snapshot = ?2 WHERE id = ?1",
        params![id.to_string(), snapshot],
    )?;
    conn.execute("DELETE FROM doc_chunks WHERE doc_id = ?1", [id.to_string()])?;
    Ok(())
}

/// A document's bytes, if stored.
pub fn load(conn: &Connection, id: Uuid) -> AppResult<Option<StoredDoc>> {
    let Some(mut bytes) = conn
        .query_row(
            "SELECT snapshot FROM docs WHERE id = ?1",
            [id.to_string()],
            |r| r.get::<_, Vec<u8>>(0),
        )
        .optional()?
    else {
        return Ok(None);
    };
    let mut stmt =
        conn.prepare_cached("SELECT bytes FROM doc_chunks WHERE doc_id = ?1 ORDER BY seq")?;
    let mut rows = stmt.query([id.to_string()])?;
    let mut chunks = 0;
    while let Some(row) = rows.next()? {
        let chunk: Vec<u8> = row.get(0)?;
        bytes.extend_from_slice(&chunk);
        chunks += 1;
    }
    Ok(Some(StoredDoc { bytes, chunks }))
}

/// One document's index row.
pub fn get(conn: &Connection, id: Uuid) -> AppResult<Option<DocRow>> {
    let row = conn
        .prepare_cached(
            "SELECT location_id, started_at, signed_off, created_here FROM docs WHERE id = ?1",
        )?
        .query_row([id.to_string()], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, bool>(2)?,
                r.get::<_, bool>(3)?,
            ))
        })
        .optional()?;
    row.map(|(loc, started_at, signed_off, created_here)| {
        Ok(DocRow {
            id,
            location_id: uuid(loc)?,
            started_at,
            signed_off,
            created_here,
        })
    })
    .transpose()
}

/// Every document's index row, newest first.
pub fn list(conn: &Connection) -> AppResult<Vec<DocRow>> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, location_id, started_at, signed_off, created_here FROM docs ORDER BY started_at DESC",
    )?;
    let rows = stmt
        .query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, bool>(3)?,
                r.get::<_, bool>(4)?,
            ))
        })?
        .collect::<Result<Vec<_>, _>>()?;
    rows.into_iter()
        .map(|(id, loc, started_at, signed_off, created_here)| {
            Ok(DocRow {
                id: uuid(id)?,
                location_id: uuid(loc)?,
                started_at,
                signed_off,
                created_here,
            })
        })
        .collect()
}

/// Saves a document's sync state and the server's receipt (hex heads).
pub fn save_sync_state(
    conn: &Connection,
    id: Uuid,
    state: &[u8],
    receipt: Option<&[String]>,
) -> AppResult<()> {
    let receipt_json = receipt
        .map(serde_json::to_string)
        .transpose()
        .map_err(|e| AppError::Corrupt(e.to_string()))?;
    conn.prepare_cached(
        "INSERT INTO sync_states (doc_id, state, receipt, receipt_at) VALUES (?1, ?2, COALESCE(?3, '[]'), CASE WHEN ?3 IS NULL THEN NULL ELSE ?4 END)
         ON CONFLICT (doc_id) DO UPDATE SET state = excluded.state,
           receipt = COALESCE(?3, sync_states.receipt),
           receipt_at = CASE WHEN ?3 IS NULL THEN sync_states.receipt_at ELSE ?4 END",
    )?
    .execute(params![id.to_string(), state, receipt_json, now_text()])?;
    Ok(())
}

/// A document's saved sync state and the server's last receipt.
pub fn sync_state(conn: &Connection, id: Uuid) -> AppResult<Option<(Vec<u8>, Vec<String>)>> {
    let row = conn
        .prepare_cached("SELECT state, receipt FROM sync_states WHERE doc_id = ?1")?
        .query_row([id.to_string()], |r| {
            Ok((r.get::<_, Vec<u8>>(0)?, r.get::<_, String>(1)?))
        })
        .optional()?;
    row.map(|(state, receipt)| {
        let receipt: Vec<String> =
            serde_json::from_str(&receipt).map_err(|e| AppError::Corrupt(e.to_string()))?;
        Ok((state, receipt))
    })
    .transpose()
}
