//! Accounts, passwords (argon2) and bearer tokens (one per device, stored only as a BLAKE3 hash),
//! and the [`Caller`] every route starts from.

use argon2::{Argon2, PasswordHash, PasswordHasher, PasswordVerifier};
use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use rusqlite::{Connection, OptionalExtension, params};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::ApiError;
use crate::state::AppState;

/// What a user is, per DOMAIN.md §2.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Records visits on their caseload.
    Monitor,
    /// Reviews and publishes visits.
    Lead,
    /// A care provider's manager: sees only their own locations.
    Provider,
    /// Sets rules and records, exports payments.
    Commissioner,
}

impl Role {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Monitor => "monitor",
            Role::Lead => "lead",
            Role::Provider => "provider",
            Role::Commissioner => "commissioner",
        }
    }

    /// Parses a stored name.
    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "monitor" => Some(Role::Monitor),
            "lead" => Some(Role::Lead),
            "provider" => Some(Role::Provider),
            "commissioner" => Some(Role::Commissioner),
            _ => None,
        }
    }
}

/// The authenticated user and device behind a request.
#[derive(Clone, Debug)]
pub struct Caller {
    /// The user.
    pub user_id: Uuid,
    /// Their name.
    pub name: String,
    /// Their role.
    pub role: Role,
    /// For providers, their organisation.
    pub provider_id: Option<Uuid>,
    /// The device the token was issued to.
    pub device_id: Uuid,
}

impl Caller {
    /// Refuses unless the caller has one of `roles`.
    pub fn require(&self, roles: &[Role]) -> Result<(), ApiError> {
        if roles.contains(&self.role) {
            Ok(())
        } else {
            Err(ApiError::forbidden(format!(
                "a {} may not do this",
                self.role.as_str()
            )))
        }
    }

    /// Whether the caller sees everything (leads and commissioners).
    pub fn sees_all(&self) -> bool {
        matches!(self.role, Role::Lead | Role::Commissioner)
    }
}

/// Hashes a password with argon2id and a random salt.
pub fn hash_password(password: &str) -> anyhow::Result<String> {
    let hash: PasswordHash = Argon2::default()
        .hash_password(password.as_bytes())
        .map_err(|e| anyhow::anyhow!("hashing a password: {e}"))?;
    Ok(hash.to_string())
}

/// A real hash to check against for unknown users, made once.
fn dummy_hash() -> &'static str {
    static HASH: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    HASH.get_or_init(|| hash_password("no such user").unwrap_or_default())
}

fn verify_password(password: &str, stored: &str) -> bool {
    PasswordHash::new(stored)
        .map(|h| {
            Argon2::default()
                .verify_password(password.as_bytes(), &h)
                .is_ok()
        })
        .unwrap_or(false)
}

/// A fresh token: 32 random bytes as hex. Only its hash is stored.
pub fn new_token() -> Result<String, ApiError> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| ApiError::internal(format!("random: {e}")))?;
    Ok(hex::encode(bytes))
}

/// The stored form of a token.
pub fn token_hash(token: &str) -> String {
    blake3::hash(token.as_bytes()).to_hex().to_string()
}

/// The outcome of signing in.
#[derive(Serialize, Deserialize)]
pub struct Session {
    /// Bearer token for this device.
    pub token: String,
    /// The device's id (sync states are kept per device).
    pub device_id: Uuid,
    /// The user.
    pub user_id: Uuid,
    /// Their name.
    pub name: String,
    /// Their role.
    pub role: Role,
    /// For providers, their organisation.
    pub provider_id: Option<Uuid>,
}

/// Checks a username and password and issues a token for a new device. The same message for an
/// unknown user and a wrong password, so usernames cannot be probed.
pub fn sign_in(
    tx: &Connection,
    username: &str,
    password: &str,
    device_name: &str,
    now: &str,
) -> Result<Session, ApiError> {
    let row: Option<(String, String, String, String, Option<String>, bool)> = tx
        .prepare_cached("SELECT id, display_name, role, password_hash, provider_id, disabled FROM users WHERE username = ?1")?
        .query_row(

            [username],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?)),
        )
        .optional()?;
    let refused = || ApiError::unauthorized("the username or password is not right");
    let Some((id, name, role, hash, provider, disabled)) = row else {
        // Spend the same time as a real check.
        let _ = verify_password(password, dummy_hash());
        return Err(refused());
    };
    if disabled || !verify_password(password, &hash) {
        return Err(refused());
    }
    let token = new_token()?;
    let device_id = Uuid::new_v4();
    tx.execute(
        "INSERT INTO tokens (token_hash, user_id, device_id, device_name, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![token_hash(&token), id, device_id.to_string(), device_name, now],
    )?;
    Ok(Session {
        token,
        device_id,
        user_id: parse_id(&id)?,
        name,
        role: Role::parse(&role).ok_or_else(|| ApiError::internal("unknown role in database"))?,
        provider_id: provider.as_deref().map(parse_id).transpose()?,
    })
}

fn parse_id(s: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(s).map_err(|_| ApiError::internal("bad id in database"))
}

/// Looks up a token; `None` if it is unknown, revoked, or its user disabled.
pub fn caller_for_token(tx: &Connection, token: &str) -> Result<Option<Caller>, ApiError> {
    // Two lookups rather than a join: SQLite re-plans that join on every new token value, which
    // costs more than the second lookup on the hottest path of the server.
    let token_row: Option<(String, String)> = tx
        .prepare_cached(
            "SELECT user_id, device_id FROM tokens WHERE token_hash = ?1 AND revoked_at IS NULL",
        )?
        .query_row([token_hash(token)], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    let Some((user, device)) = token_row else {
        return Ok(None);
    };
    let row: Option<(String, String, String, Option<String>, String)> = tx
        .prepare_cached(
            "SELECT id, display_name, role, provider_id FROM users WHERE id = ?1 AND disabled = 0",
        )?
        .query_row([&user], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, device.clone()))
        })
        .optional()?;
    let Some((id, name, role, provider, device)) = row else {
        return Ok(None);
    };
    Ok(Some(Caller {
        user_id: parse_id(&id)?,
        name,
        role: Role::parse(&role).ok_or_else(|| ApiError::internal("unknown role in database"))?,
        provider_id: provider.as_deref().map(parse_id).transpose()?,
        device_id: parse_id(&device)?,
    }))
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Caller, ApiError> {
        let header = parts
            .headers
            .get(AUTHORIZATION)
            .ok_or_else(|| ApiError::unauthorized("sign in first: no bearer token"))?;
        let token = header
            .to_str()
            .ok()
            .and_then(|h| h.strip_prefix("Bearer "))
            .map(str::trim)
            .filter(|t| !t.is_empty() && t.len() <= 128)
            .ok_or_else(|| {
                ApiError::unauthorized("the Authorization header is not a bearer token")
            })?
            .to_owned();
        state
            .blocking(move |s| s.db.read(|tx| caller_for_token(tx, &token)))
            .await?
            .ok_or_else(|| ApiError::unauthorized("the token is not valid or has been revoked"))
    }
}

/// Signs in as [`sign_in`] does and records the new session in the audit log, saying how it
/// was made (`api` or `portal`).
pub fn sign_in_recorded(
    tx: &Connection,
    username: &str,
    password: &str,
    device_name: &str,
    via: &str,
) -> Result<Session, ApiError> {
    let session = sign_in(
        tx,
        username,
        password,
        device_name,
        &crate::state::now_text(),
    )?;
    let caller = Caller {
        user_id: session.user_id,
        name: session.name.clone(),
        role: session.role,
        provider_id: session.provider_id,
        device_id: session.device_id,
    };
    crate::audit::record(
        tx,
        Some(&caller),
        crate::audit::Entry {
            action: "session.created",
            subject_type: "device",
            subject_id: Some(session.device_id.to_string()),
            location_id: None,
            details: serde_json::json!({ "via": via }),
        },
    )?;
    Ok(session)
}
