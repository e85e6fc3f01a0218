//! The outbox ledger: every visit and photo that must reach the server, and how far it got. The
//! sync centre shows it; sign-out is refused while anything in it is not acknowledged.

use rusqlite::{Connection, OptionalExtension, params};
use serde::{Deserialize, Serialize};

use super::now_text;
use crate::error::{AppError, AppResult};

/// What an outbox item is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ItemKind {
    /// A visit document.
    Visit,
    /// A photo blob.
    Photo,
}

impl ItemKind {
    fn as_str(self) -> &'static str {
        match self {
            ItemKind::Visit => "visit",
            ItemKind::Photo => "photo",
        }
    }

    fn parse(s: &str) -> AppResult<ItemKind> {
        match s {
            "visit" => Ok(ItemKind::Visit),
            "photo" => Ok(ItemKind::Photo),
            _ => Err(AppError::Corrupt(format!("unknown outbox kind {s:?}"))),
        }
    }
}

/// Where an item stands on its way to the server.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutboxState {
    /// The server has never had any of it, and no attempt has been made yet.
    LocalOnly,
    /// Has changes waiting for the next sync.
    Queued,
    /// Sent; the server's acknowledgement has not arrived yet.
    Sent,
    /// The server holds all of it; its receipt is kept.
    Acknowledged,
    /// The last attempt failed; the reason says why. Retried automatically.
    Failed,
}

impl OutboxState {
    /// The state's stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            OutboxState::LocalOnly => "local_only",
            OutboxState::Queued => "queued",
            OutboxState::Sent => "sent",
            OutboxState::Acknowledged => "acknowledged",
            OutboxState::Failed => "failed",
        }
    }

    /// The state as a monitor reads it.
    pub fn label(self) -> &'static str {
        match self {
            OutboxState::LocalOnly => "On this device only",
            OutboxState::Queued => "Waiting to send",
            OutboxState::Sent => "Sent, awaiting receipt",
            OutboxState::Acknowledged => "Received by the server",
            OutboxState::Failed => "Not sent",
        }
    }

    fn parse(s: &str) -> AppResult<OutboxState> {
        Ok(match s {
            "local_only" => OutboxState::LocalOnly,
            "queued" => OutboxState::Queued,
            "sent" => OutboxState::Sent,
            "acknowledged" => OutboxState::Acknowledged,
            "failed" => OutboxState::Failed,
            _ => return Err(AppError::Corrupt(format!("unknown outbox state {s:?}"))),
        })
    }
}

/// One outbox item.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboxEntry {
    /// Visit or photo.
    pub kind: ItemKind,
    /// The visit id or photo hash.
    pub item: String,
    /// What a monitor calls it ("Visit to Seaview, 23 Nov").
    pub label: String,
    /// Where it stands.
    pub state: OutboxState,
    /// Why it failed, in plain words.
    pub reason: Option<String>,
    /// The server's receipt (heads, or the stored hash) once acknowledged.
    pub receipt: Option<String>,
    /// Bytes to upload (photos).
    pub bytes_total: u64,
    /// Bytes the server holds (photos).
    pub bytes_done: u64,
    /// When it last changed (RFC 3339).
    pub updated_at: String,
}

/// Records an item's state. `reason` and `receipt` replace what was there.
pub fn set_state(
    conn: &Connection,
    kind: ItemKind,
    item: &str,
    label: &str,
    state: OutboxState,
    reason: Option<&str>,
    receipt: Option<&str>,
) -> AppResult<()> {
    conn.prepare_cached(
        "INSERT INTO outbox (kind, item, label, state, reason, receipt, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
         ON CONFLICT (kind, item) DO UPDATE SET label = excluded.label, state = excluded.state,
           reason = excluded.reason, receipt = COALESCE(excluded.receipt, outbox.receipt),
           updated_at = excluded.updated_at",
    )?
    .execute(params![
        kind.as_str(),
        item,
        label,
        state.as_str(),
        reason,
        receipt,
        now_text()
    ])?;
    Ok(())
}

/// Records upload progress.
pub fn set_progress(
    conn: &Connection,
    kind: ItemKind,
    item: &str,
    done: u64,
    total: u64,
) -> AppResult<()> {
    conn.prepare_cached(
        "UPDATE outbox SET bytes_done = ?3, bytes_total = ?4 WHERE kind = ?1 AND item = ?2",
    )?
    .execute(params![kind.as_str(), item, done as i64, total as i64])?;
    Ok(())
}

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<[Option<String>; 7]> {
    Ok([
        r.get(0)?,
        r.get(1)?,
        r.get(2)?,
        r.get(3)?,
        r.get(4)?,
        r.get(5)?,
        r.get(8)?,
    ])
}

const COLUMNS: &str =
    "kind, item, label, state, reason, receipt, bytes_total, bytes_done, updated_at";

fn entry(conn_row: ([Option<String>; 7], i64, i64)) -> AppResult<OutboxEntry> {
    let ([kind, item, label, state, reason, receipt, updated_at], total, done) = conn_row;
    Ok(OutboxEntry {
        kind: ItemKind::parse(kind.as_deref().unwrap_or_default())?,
        item: item.unwrap_or_default(),
        label: label.unwrap_or_default(),
        state: OutboxState::parse(state.as_deref().unwrap_or_default())?,
        reason,
        receipt,
        bytes_total: total as u64,
        bytes_done: done as u64,
        updated_at: updated_at.unwrap_or_default(),
    })
}

/// Every item, not yet acknowledged first, then by kind and label.
pub fn list(conn: &Connection) -> AppResult<Vec<OutboxEntry>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM outbox ORDER BY state = 'acknowledged', kind DESC, updated_at DESC"
    ))?;
    let rows = stmt
        .query_map([], |r| Ok((row(r)?, r.get(6)?, r.get(7)?)))?
        .collect::<Result<Vec<_>, _>>()?;
    rows.into_iter().map(entry).collect()
}

/// One item.
pub fn get(conn: &Connection, kind: ItemKind, item: &str) -> AppResult<Option<OutboxEntry>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM outbox WHERE kind = ?1 AND item = ?2"
    ))?;
    let found = stmt
        .query_row(params![kind.as_str(), item], |r| {
            Ok((row(r)?, r.get(6)?, r.get(7)?))
        })
        .optional()?;
    found.map(entry).transpose()
}

/// Removes every item (after a sign-out that found nothing pending).
pub fn clear(conn: &Connection) -> AppResult<()> {
    conn.execute("DELETE FROM outbox", [])?;
    Ok(())
}
