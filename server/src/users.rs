//! Creating providers, locations, users and caseloads (for the CLI, imports and demo data).

use accredit_shared::records::ServiceType;
use chrono::NaiveDate;
use rusqlite::{Connection, OptionalExtension, params};
use uuid::Uuid;

use crate::auth::{Role, hash_password};
use crate::error::ServiceError;
use crate::state::now_text;

/// Finds a provider by name, creating it if needed.
pub fn provider_by_name(tx: &Connection, name: &str) -> Result<Uuid, ServiceError> {
    let name = name.trim();
    if name.is_empty() {
        return Err(ServiceError::invalid("a provider needs a name"));
    }
    let found: Option<String> = tx
        .query_row("SELECT id FROM providers WHERE name = ?1", [name], |r| {
            r.get(0)
        })
        .optional()?;
    if let Some(id) = found {
        return Uuid::parse_str(&id).map_err(|_| ServiceError::internal("bad provider id"));
    }
    let id = Uuid::new_v4();
    tx.execute(
        "INSERT INTO providers (id, name) VALUES (?1, ?2)",
        params![id.to_string(), name],
    )?;
    Ok(id)
}

/// A location to add.
pub struct NewLocation<'a> {
    /// Its provider.
    pub provider_id: Uuid,
    /// CQC location id.
    pub cqc_location_id: &'a str,
    /// Name.
    pub name: &'a str,
    /// Address.
    pub address: &'a str,
    /// Service type.
    pub service_type: ServiceType,
    /// Registered from.
    pub registered_from: NaiveDate,
    /// Registered to.
    pub registered_to: Option<NaiveDate>,
}

/// Adds a location, or updates the one with the same CQC location id; returns its id.
pub fn upsert_location(tx: &Connection, l: &NewLocation<'_>) -> Result<Uuid, ServiceError> {
    if l.name.trim().is_empty() {
        return Err(ServiceError::invalid("a location needs a name"));
    }
    if let Some(why) = crate::service::places::cqc_id_refusal(l.cqc_location_id) {
        return Err(ServiceError::invalid(why));
    }
    let service = crate::tiers::service_text(l.service_type);
    let found: Option<(String, String)> = tx
        .query_row(
            "SELECT id, provider_id FROM locations WHERE cqc_location_id = ?1",
            [l.cqc_location_id.trim()],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    let id = match found {
        Some((id, provider)) => {
            // A location never changes hands here: DOMAIN.md §8 records a change of ownership as
            // a new location (a new CQC location id), so the old owner's history stays theirs.
            if crate::db::stored_id(&provider)? != l.provider_id {
                return Err(ServiceError::invalid(format!(
                    "location {} belongs to another provider; a change of ownership is recorded as a new location with its new CQC location id",
                    l.cqc_location_id.trim()
                )));
            }
            crate::db::stored_id(&id)?
        }
        None => Uuid::new_v4(),
    };
    tx.execute(
        "INSERT INTO locations (id, provider_id, cqc_location_id, name, address, service_type, registered_from, registered_to)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
         ON CONFLICT (id) DO UPDATE SET provider_id = excluded.provider_id, name = excluded.name, address = excluded.address,
           service_type = excluded.service_type, registered_from = excluded.registered_from, registered_to = excluded.registered_to",
        params![
            id.to_string(),
            l.provider_id.to_string(),
            l.cqc_location_id.trim(),
            l.name.trim(),
            l.address.trim(),
            service,
            l.registered_from.to_string(),
            l.registered_to.map(|d| d.to_string())
        ],
    )?;
    Ok(id)
}

/// Adds a user with a password the policy allows (`passwords::check`); usernames are unique.
pub fn add_user(
    tx: &Connection,
    username: &str,
    display_name: &str,
    role: Role,
    provider_id: Option<Uuid>,
    password: &str,
) -> Result<Uuid, ServiceError> {
    crate::passwords::check(password, username)?;
    insert_user(tx, username, display_name, role, provider_id, password)
}

/// Adds a user without the password policy: only for demo data, whose one published password
/// (`seed::DEMO_PASSWORD`) names the product, which the policy refuses.
pub fn insert_user(
    tx: &Connection,
    username: &str,
    display_name: &str,
    role: Role,
    provider_id: Option<Uuid>,
    password: &str,
) -> Result<Uuid, ServiceError> {
    let username = username.trim();
    if username.is_empty()
        || username.len() > 100
        || !username
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-@".contains(c))
    {
        return Err(ServiceError::invalid(
            "a username is 1–100 letters, digits, '.', '_', '-' or '@'",
        ));
    }
    if (role == Role::Provider) != provider_id.is_some() {
        return Err(ServiceError::invalid(
            "provider users, and only they, belong to a provider",
        ));
    }
    let taken = tx
        .query_row(
            "SELECT 1 FROM users WHERE username = ?1",
            [username],
            |_| Ok(()),
        )
        .optional()?
        .is_some();
    if taken {
        return Err(ServiceError::conflict(format!(
            "the username {username} is taken"
        )));
    }
    let hash = hash_password(password).map_err(|e| ServiceError::internal(format!("{e:#}")))?;
    let id = Uuid::new_v4();
    tx.execute(
        "INSERT INTO users (id, username, display_name, role, provider_id, password_hash, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![id.to_string(), username, display_name.trim(), role.as_str(), provider_id.map(|p| p.to_string()), hash, now_text()],
    )?;
    Ok(id)
}

/// Puts a location on a monitor's caseload.
pub fn assign(tx: &Connection, monitor: Uuid, location: Uuid) -> Result<(), ServiceError> {
    let role: Option<String> = tx
        .query_row(
            "SELECT role FROM users WHERE id = ?1",
            [monitor.to_string()],
            |r| r.get(0),
        )
        .optional()?;
    if role.as_deref() != Some("monitor") {
        return Err(ServiceError::invalid("only monitors have a caseload"));
    }
    tx.execute(
        "INSERT OR IGNORE INTO caseload (monitor_id, location_id) VALUES (?1, ?2)",
        params![monitor.to_string(), location.to_string()],
    )?;
    Ok(())
}

/// A user's id by username.
pub fn user_id(tx: &Connection, username: &str) -> Result<Uuid, ServiceError> {
    let id: String = tx
        .query_row(
            "SELECT id FROM users WHERE username = ?1",
            [username],
            |r| r.get(0),
        )
        .optional()?
        .ok_or_else(|| ServiceError::not_found("user"))?;
    Uuid::parse_str(&id).map_err(|_| ServiceError::internal("bad user id"))
}

/// A location's id by CQC location id.
pub fn location_by_cqc(tx: &Connection, cqc: &str) -> Result<Uuid, ServiceError> {
    let id: String = tx
        .query_row(
            "SELECT id FROM locations WHERE cqc_location_id = ?1",
            [cqc.trim()],
            |r| r.get(0),
        )
        .optional()?
        .ok_or_else(|| {
            ServiceError::invalid(format!("no location with CQC location id {cqc:?}"))
        })?;
    Uuid::parse_str(&id).map_err(|_| ServiceError::internal("bad location id"))
}
