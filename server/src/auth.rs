//! Accounts, passwords (argon2) and bearer tokens (one per device, stored only as a BLAKE3 hash),
//! and the [`Caller`] every route starts from.

use argon2::{Argon2, PasswordHash, PasswordHasher, PasswordVerifier};
use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use rusqlite::{Connection, OptionalExtension};
use uuid::Uuid;

use crate::error::ServiceError;
use crate::state::AppState;

pub use accredit_shared::api::Role;

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
    /// Signed in with a one-time password: nothing but choosing their own password (and signing
    /// out) is allowed until they do.
    pub password_change_due: bool,
}

impl Caller {
    /// Refuses unless the caller has one of `roles`.
    pub fn require(&self, roles: &[Role]) -> Result<(), ServiceError> {
        if roles.contains(&self.role) {
            Ok(())
        } else {
            Err(ServiceError::forbidden(format!(
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

/// A real hash to check against for unknown users, made once, so they cost the same time.
pub(crate) fn dummy_hash() -> Result<&'static str, ServiceError> {
    static HASH: std::sync::OnceLock<Result<String, String>> = std::sync::OnceLock::new();
    HASH.get_or_init(|| hash_password("no such user").map_err(|e| e.to_string()))
        .as_deref()
        .map_err(|e| ServiceError::internal(format!("making the stand-in hash: {e}")))
}

/// Whether `password` matches the stored argon2 hash.
pub(crate) fn verify_password(password: &str, stored: &str) -> bool {
    PasswordHash::new(stored)
        .map(|h| {
            Argon2::default()
                .verify_password(password.as_bytes(), &h)
                .is_ok()
        })
        .unwrap_or(false)
}

/// A fresh token: 32 random bytes as hex. Only its hash is stored.
pub fn new_token() -> Result<String, ServiceError> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| ServiceError::internal(format!("random: {e}")))?;
    Ok(hex::encode(bytes))
}

/// The stored form of a token.
pub fn token_hash(token: &str) -> String {
    blake3::hash(token.as_bytes()).to_hex().to_string()
}

fn parse_id(s: &str) -> Result<Uuid, ServiceError> {
    Uuid::parse_str(s).map_err(|_| ServiceError::internal("bad id in database"))
}

/// A live token as stored: who it signs in, and the times its expiry is judged by.
pub struct TokenRow {
    /// The caller it stands for.
    pub caller: Caller,
    /// `portal` or `device`.
    pub kind: String,
    /// When it was issued (RFC 3339).
    pub created_at: String,
    /// When it was last used, if recorded (RFC 3339).
    pub last_used_at: Option<String>,
}

/// Looks up a token; `None` if it is unknown, revoked, or its user disabled. Expiry is the
/// sessions service's to judge (`service::sessions::caller_for_token`) from the times returned.
pub fn token_row(tx: &Connection, token: &str) -> Result<Option<TokenRow>, ServiceError> {
    // Two lookups rather than a join: SQLite re-plans that join on every new token value, which
    // costs more than the second lookup on the hottest path of the server.
    let row: Option<(String, String, String, String, Option<String>)> = tx
        .prepare_cached(
            "SELECT user_id, device_id, kind, created_at, last_used_at FROM tokens WHERE token_hash = ?1 AND revoked_at IS NULL",
        )?
        .query_row([token_hash(token)], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
        })
        .optional()?;
    let Some((user, device, kind, created_at, last_used_at)) = row else {
        return Ok(None);
    };
    let user_row: Option<(String, String, String, Option<String>, bool)> = tx
        .prepare_cached(
            "SELECT id, display_name, role, provider_id, must_change_password FROM users WHERE id = ?1 AND disabled = 0",
        )?
        .query_row([&user], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
        })
        .optional()?;
    let Some((id, name, role, provider, change_due)) = user_row else {
        return Ok(None);
    };
    Ok(Some(TokenRow {
        caller: Caller {
            user_id: parse_id(&id)?,
            name,
            role: Role::parse(&role)
                .ok_or_else(|| ServiceError::internal("unknown role in database"))?,
            provider_id: provider.as_deref().map(parse_id).transpose()?,
            device_id: parse_id(&device)?,
            password_change_due: change_due,
        },
        kind,
        created_at,
        last_used_at,
    }))
}

/// The caller behind a request's bearer token, whether or not they still have a one-time
/// password to replace. Only the routes that let them replace it (or sign out) take this.
#[derive(Clone, Debug)]
pub struct AnyCaller(pub Caller);

impl FromRequestParts<AppState> for AnyCaller {
    type Rejection = ServiceError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<AnyCaller, ServiceError> {
        let header = parts
            .headers
            .get(AUTHORIZATION)
            .ok_or_else(|| ServiceError::unauthorized("sign in first: no bearer token"))?;
        let token = header
            .to_str()
            .ok()
            .and_then(|h| h.strip_prefix("Bearer "))
            .map(str::trim)
            .filter(|t| !t.is_empty() && t.len() <= 128)
            .ok_or_else(|| {
                ServiceError::unauthorized("the Authorization header is not a bearer token")
            })?
            .to_owned();
        let caller = state
            .blocking(move |s| crate::service::sessions::caller_for_token(s, &token))
            .await?
            .ok_or_else(|| {
                ServiceError::unauthorized("the token is not valid or has been revoked")
            })?;
        crate::observe::note_user(parts, caller.user_id);
        Ok(AnyCaller(caller))
    }
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ServiceError;

    /// A caller who has chosen their own password; one still holding a one-time password is
    /// refused with `password_change_required`.
    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Caller, ServiceError> {
        let AnyCaller(caller) = AnyCaller::from_request_parts(parts, state).await?;
        if caller.password_change_due {
            return Err(ServiceError::PasswordChangeRequired);
        }
        Ok(caller)
    }
}
