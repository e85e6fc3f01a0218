//! Who may see which location, enforced on the server for every route and every sync. A location
//! the caller may not see is reported as not found, so its existence does not leak.

use rusqlite::{Connection, OptionalExtension};
use uuid::Uuid;

use crate::auth::{Caller, Role};
use crate::error::ServiceError;

/// A location's provider, read for access checks.
pub fn location_provider(tx: &Connection, location: Uuid) -> Result<Option<Uuid>, ServiceError> {
    let p: Option<String> = tx
        .prepare_cached("SELECT provider_id FROM locations WHERE id = ?1")?
        .query_row([location.to_string()], |r| r.get(0))
        .optional()?;
    p.as_deref().map(crate::db::stored_id).transpose()
}

/// Whether a monitor has the location on their caseload.
pub fn on_caseload(tx: &Connection, monitor: Uuid, location: Uuid) -> Result<bool, ServiceError> {
    Ok(tx
        .prepare_cached("SELECT 1 FROM caseload WHERE monitor_id = ?1 AND location_id = ?2")?
        .query_row([monitor.to_string(), location.to_string()], |_| Ok(()))
        .optional()?
        .is_some())
}

/// Whether the caller may see the location at all.
pub fn may_see_location(
    tx: &Connection,
    caller: &Caller,
    location: Uuid,
) -> Result<bool, ServiceError> {
    let Some(provider) = location_provider(tx, location)? else {
        return Ok(false);
    };
    Ok(match caller.role {
        Role::Lead | Role::Commissioner => true,
        Role::Monitor => on_caseload(tx, caller.user_id, location)?,
        Role::Provider => caller.provider_id == Some(provider),
    })
}

/// Refuses with 404 unless the caller may see the location.
pub fn require_location(
    tx: &Connection,
    caller: &Caller,
    location: Uuid,
) -> Result<(), ServiceError> {
    if may_see_location(tx, caller, location)? {
        Ok(())
    } else {
        Err(ServiceError::not_found("location"))
    }
}

/// The ids of every location the caller may see.
pub fn visible_locations(tx: &Connection, caller: &Caller) -> Result<Vec<Uuid>, ServiceError> {
    let (sql, arg) = match caller.role {
        Role::Lead | Role::Commissioner => (
            "SELECT id FROM locations WHERE ?1 = ?1 ORDER BY name",
            String::new(),
        ),
        Role::Monitor => (
            "SELECT l.id FROM locations l JOIN caseload c ON c.location_id = l.id WHERE c.monitor_id = ?1 ORDER BY l.name",
            caller.user_id.to_string(),
        ),
        Role::Provider => (
            "SELECT id FROM locations WHERE provider_id = ?1 ORDER BY name",
            caller
                .provider_id
                .ok_or_else(|| ServiceError::internal("a provider user without a provider"))?
                .to_string(),
        ),
    };
    crate::db::query_ids(tx, sql, [arg])
}

/// Whether the caller may sync (read and write) a visit document at this location.
pub fn may_sync_location(
    tx: &Connection,
    caller: &Caller,
    location: Uuid,
) -> Result<bool, ServiceError> {
    Ok(match caller.role {
        Role::Lead => location_provider(tx, location)?.is_some(),
        Role::Monitor => on_caseload(tx, caller.user_id, location)?,
        Role::Provider | Role::Commissioner => false,
    })
}

/// Parses an id from a URL or body; anything else (including path-like text) is a 400.
pub fn parse_id(text: &str, what: &str) -> Result<Uuid, ServiceError> {
    Uuid::parse_str(text).map_err(|_| ServiceError::bad_request(format!("{what} must be a UUID")))
}
