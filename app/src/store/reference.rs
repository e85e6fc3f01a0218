//! Cached reference data from the server, as JSON by key: the caseload, framework packs, rule
//! sets and each location's visit history. The app works from this cache when offline.

use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::now_text;
use crate::error::{AppError, AppResult};

/// Stores a value under `key`.
pub fn put<T: Serialize>(conn: &Connection, key: &str, value: &T) -> AppResult<()> {
    let text = serde_json::to_string(value).map_err(|e| AppError::Corrupt(e.to_string()))?;
    conn.execute(
        "INSERT INTO reference (key, value, fetched_at) VALUES (?1, ?2, ?3)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value, fetched_at = excluded.fetched_at",
        params![key, text, now_text()],
    )?;
    Ok(())
}

/// The value under `key`, with when it was fetched.
pub fn get<T: DeserializeOwned>(conn: &Connection, key: &str) -> AppResult<Option<(T, String)>> {
    let row = conn
        .prepare_cached("SELECT value, fetched_at FROM reference WHERE key = ?1")?
        .query_row([key], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
        })
        .optional()?;
    row.map(|(text, at)| {
        serde_json::from_str(&text)
            .map(|v| (v, at))
            .map_err(|e| AppError::Corrupt(format!("cached {key}: {e}")))
    })
    .transpose()
}

/// Removes every cached value (on sign-out).
pub fn clear(conn: &Connection) -> AppResult<()> {
    conn.execute("DELETE FROM reference", [])?;
    Ok(())
}
