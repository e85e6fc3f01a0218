//! The append-only audit log: who did what, when. SQLite triggers refuse updates and deletes.

use rusqlite::{Connection, params};
use serde::Serialize;
use uuid::Uuid;

use crate::auth::Caller;
use crate::error::ServiceError;
use crate::state::now_text;

/// One entry to append.
pub struct Entry<'a> {
    /// What happened, e.g. `visit.published`.
    pub action: &'a str,
    /// The kind of thing it happened to.
    pub subject_type: &'a str,
    /// Its id.
    pub subject_id: Option<String>,
    /// The location concerned, for searching.
    pub location_id: Option<Uuid>,
    /// Details (never personal data such as notes or resident references).
    pub details: serde_json::Value,
}

/// Appends an entry in the caller's transaction, so it commits with the change it records.
pub fn record(
    tx: &Connection,
    caller: Option<&Caller>,
    entry: Entry<'_>,
) -> Result<(), ServiceError> {
    tx.execute(
        "INSERT INTO audit_log (at, user_id, action, subject_type, subject_id, location_id, details)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![
            now_text(),
            caller.map(|c| c.user_id.to_string()),
            entry.action,
            entry.subject_type,
            entry.subject_id,
            entry.location_id.map(|l| l.to_string()),
            entry.details.to_string()
        ],
    )?;
    Ok(())
}

/// An entry as read back.
#[derive(Debug, Serialize)]
pub struct AuditRow {
    /// Sequence number.
    pub seq: i64,
    /// When.
    pub at: String,
    /// Who (user id), if a person.
    pub user_id: Option<String>,
    /// Their name.
    pub user_name: Option<String>,
    /// What.
    pub action: String,
    /// Kind of subject.
    pub subject_type: String,
    /// Subject id.
    pub subject_id: Option<String>,
    /// Location.
    pub location_id: Option<String>,
    /// Details.
    pub details: serde_json::Value,
}

/// Filters for reading the log.
#[derive(Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    /// Only this location.
    pub location: Option<Uuid>,
    /// Only this user.
    pub user: Option<Uuid>,
    /// From this day (inclusive, `YYYY-MM-DD`).
    #[serde(default, with = "accredit_shared::calendar::strict_date_opt")]
    pub from: Option<chrono::NaiveDate>,
    /// To this day (inclusive).
    #[serde(default, with = "accredit_shared::calendar::strict_date_opt")]
    pub to: Option<chrono::NaiveDate>,
    /// At most this many rows (default 200, at most 1000).
    pub limit: Option<u32>,
}

/// Reads the log, newest first.
pub fn search(tx: &Connection, q: &AuditQuery) -> Result<Vec<AuditRow>, ServiceError> {
    let mut stmt = tx.prepare(
        "SELECT a.seq, a.at, a.user_id, u.display_name, a.action, a.subject_type, a.subject_id, a.location_id, a.details
         FROM audit_log a LEFT JOIN users u ON u.id = a.user_id
         WHERE (?1 IS NULL OR a.location_id = ?1) AND (?2 IS NULL OR a.user_id = ?2)
           AND (?3 IS NULL OR a.at >= ?3) AND (?4 IS NULL OR a.at < ?4)
         ORDER BY a.seq DESC LIMIT ?5",
    )?;
    let to_exclusive = q.to.and_then(|d| d.succ_opt()).map(|d| d.to_string());
    let rows = stmt
        .query_map(
            params![
                q.location.map(|l| l.to_string()),
                q.user.map(|u| u.to_string()),
                q.from.map(|d| d.to_string()),
                to_exclusive,
                q.limit.unwrap_or(200).min(1000)
            ],
            |r| {
                let details: String = r.get(8)?;
                Ok(AuditRow {
                    seq: r.get(0)?,
                    at: r.get(1)?,
                    user_id: r.get(2)?,
                    user_name: r.get(3)?,
                    action: r.get(4)?,
                    subject_type: r.get(5)?,
                    subject_id: r.get(6)?,
                    location_id: r.get(7)?,
                    details: serde_json::from_str(&details).unwrap_or(serde_json::Value::Null),
                })
            },
        )?
        .collect::<Result<_, _>>()?;
    Ok(rows)
}
