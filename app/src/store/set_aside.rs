//! Refusals and set-aside copies: when the server refuses a visit's changes, the reason is kept;
//! when the monitor recovers, the refused copy is kept here whole (every change, viewable and
//! exportable) before the draft is restored to a state the server accepts.

use rusqlite::{Connection, OptionalExtension, params};
use uuid::Uuid;

use super::now_text;
use crate::error::{AppError, AppResult};

/// Records the server's refusal of a visit's changes (the latest reason wins).
pub fn refuse(conn: &Connection, id: Uuid, reason: &str) -> AppResult<()> {
    conn.execute(
        "INSERT INTO refusals (doc_id, reason, at) VALUES (?1, ?2, ?3)
         ON CONFLICT (doc_id) DO UPDATE SET reason = excluded.reason, at = excluded.at",
        params![id.to_string(), reason, now_text()],
    )?;
    Ok(())
}

/// Forgets a refusal: the server has since accepted the visit, or the monitor recovered.
pub fn clear_refusal(conn: &Connection, id: Uuid) -> AppResult<()> {
    conn.execute("DELETE FROM refusals WHERE doc_id = ?1", [id.to_string()])?;
    Ok(())
}

/// The server's last refusal of a visit's changes, with when (RFC 3339).
pub fn refusal(conn: &Connection, id: Uuid) -> AppResult<Option<(String, String)>> {
    Ok(conn
        .query_row(
            "SELECT reason, at FROM refusals WHERE doc_id = ?1",
            [id.to_string()],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?)
}

/// A copy set aside.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SetAsideRow {
    /// Its number on this device.
    pub seq: i64,
    /// The visit.
    pub doc_id: Uuid,
    /// Why the server refused it.
    pub reason: String,
    /// The heads of the copy its edits to enter again are counted from (hex).
    pub edits_since: Vec<String>,
    /// The whole refused document (an Automerge save).
    pub bytes: Vec<u8>,
    /// When it was set aside.
    pub created_at: String,
}

/// Keeps a refused copy; returns its number.
pub fn keep(
    conn: &Connection,
    id: Uuid,
    reason: &str,
    edits_since: &[String],
    bytes: &[u8],
) -> AppResult<i64> {
    conn.execute(
        "INSERT INTO set_aside (doc_id, reason, edits_since, bytes, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5)",
        params![
            id.to_string(),
            reason,
            edits_since.join(","),
            bytes,
            now_text()
        ],
    )?;
    Ok(conn.last_insert_rowid())
}

/// The copies set aside for a visit, oldest first.
pub fn list(conn: &Connection, id: Uuid) -> AppResult<Vec<SetAsideRow>> {
    let mut stmt = conn.prepare_cached(
        "SELECT seq, reason, edits_since, bytes, created_at FROM set_aside WHERE doc_id = ?1 ORDER BY seq",
    )?;
    let rows = stmt
        .query_map([id.to_string()], |r| {
            Ok(SetAsideRow {
                seq: r.get(0)?,
                doc_id: id,
                reason: r.get(1)?,
                edits_since: r
                    .get::<_, String>(2)?
                    .split(',')
                    .filter(|h| !h.is_empty())
                    .map(str::to_owned)
                    .collect(),
                bytes: r.get(3)?,
                created_at: r.get(4)?,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

/// How many copies are kept on this device, for every visit.
pub fn count(conn: &Connection) -> AppResult<i64> {
    Ok(conn.query_row("SELECT count(*) FROM set_aside", [], |r| r.get(0))?)
}

/// Removes a copy once the monitor has entered again what it held. Refused for an unknown one.
pub fn discard(conn: &Connection, id: Uuid, seq: i64) -> AppResult<()> {
    let n = conn.execute(
        "DELETE FROM set_aside WHERE doc_id = ?1 AND seq = ?2",
        params![id.to_string(), seq],
    )?;
    if n == 0 {
        return Err(AppError::NotFound(format!(
            "set-aside copy {seq} of visit {id}"
        )));
    }
    Ok(())
}
