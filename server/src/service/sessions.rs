//! Signing in and out, for the API and the portal alike: the password is checked on a reader
//! (argon2 is slow on purpose and must never hold the writer), failures are throttled per
//! account and per address and audited, and sessions expire after inactivity and after an
//! absolute lifetime.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use accredit_shared::api::SessionResponse;
use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, params};
use serde_json::json;
use uuid::Uuid;

use crate::audit::{self, Entry};
use crate::auth::{self, Caller, Role};
use crate::db::stored_id;
use crate::error::{ServiceError, ServiceResult};
use crate::state::{AppState, now_text};

/// How a session was made, which decides how long it lives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SessionKind {
    /// A browser on the portal: minutes of inactivity, hours in all.
    Portal,
    /// A device on the API (the field app): weeks of inactivity, months in all.
    Device,
}

impl SessionKind {
    fn as_str(self) -> &'static str {
        match self {
            SessionKind::Portal => "portal",
            SessionKind::Device => "device",
        }
    }

    fn parse(s: &str) -> SessionKind {
        if s == "portal" {
            SessionKind::Portal
        } else {
            SessionKind::Device
        }
    }
}

/// Failures before sign-in attempts for an account are slowed.
const SLOW_AFTER: u32 = 3;
/// Failures before an account refuses attempts for a while.
const LOCK_AFTER: u32 = 5;
/// Failures from one address, over all accounts, before it is refused for a while.
const ADDRESS_LOCK_AFTER: u32 = 20;
/// Failures older than this are forgotten.
const WINDOW: Duration = Duration::from_secs(15 * 60);

/// Failed sign-ins counted for one account or address.
#[derive(Clone, Copy, Debug)]
struct Failures {
    count: u32,
    last: Instant,
}

/// Recent failed sign-ins per account (by username, as typed, lower-cased) and per address.
/// Kept in memory: a restart forgives, which NCSC's guidance accepts for throttling.
#[derive(Default)]
pub struct Throttle {
    accounts: Mutex<HashMap<String, Failures>>,
    addresses: Mutex<HashMap<IpAddr, Failures>>,
}

/// How long an account or address must wait after `count` failures, if at all.
fn wait_for(count: u32, lock_after: u32) -> Option<Duration> {
    if count < lock_after {
        return None;
    }
    // 1 minute at the threshold, doubling with each further failure, at most 15 minutes.
    let doublings = (count - lock_after).min(4);
    Some(Duration::from_secs(60 << doublings).min(WINDOW))
}

impl Throttle {
    fn current<K: std::hash::Hash + Eq>(map: &Mutex<HashMap<K, Failures>>, key: &K) -> Failures {
        let map = match map.lock() {
            Ok(m) => m,
            Err(p) => p.into_inner(),
        };
        match map.get(key) {
            Some(f) if f.last.elapsed() < WINDOW => *f,
            _ => Failures {
                count: 0,
                last: Instant::now(),
            },
        }
    }

    fn bump<K: std::hash::Hash + Eq>(map: &Mutex<HashMap<K, Failures>>, key: K) {
        let mut map = match map.lock() {
            Ok(m) => m,
            Err(p) => p.into_inner(),
        };
        // Forget old entries now and then, so a spray of names cannot grow the map for ever.
        if map.len() > 10_000 {
            map.retain(|_, f| f.last.elapsed() < WINDOW);
        }
        let f = map.entry(key).or_insert(Failures {
            count: 0,
            last: Instant::now(),
        });
        if f.last.elapsed() >= WINDOW {
            f.count = 0;
        }
        f.count += 1;
        f.last = Instant::now();
    }

    fn clear_account(&self, account: &str) {
        if let Ok(mut map) = self.accounts.lock() {
            map.remove(account);
        }
    }

    /// Refuses an attempt while the account or the address must wait; otherwise the delay to
    /// add before answering (slowing guessing without refusing a person who mistyped twice).
    pub(crate) fn admit(&self, account: &str, address: Option<IpAddr>) -> ServiceResult<Duration> {
        let acc = Throttle::current(&self.accounts, &account.to_owned());
        let addr = address.map(|a| Throttle::current(&self.addresses, &a));
        let waits = [
            wait_for(acc.count, LOCK_AFTER).map(|w| (w, acc.last)),
            addr.and_then(|f| wait_for(f.count, ADDRESS_LOCK_AFTER).map(|w| (w, f.last))),
        ];
        for (wait, last) in waits.into_iter().flatten() {
            let elapsed = last.elapsed();
            if elapsed < wait {
                let left = (wait - elapsed).as_secs().max(1);
                return Err(ServiceError::TooManyAttempts {
                    message: format!(
                        "too many failed sign-ins: wait {} and try again, or ask your council to reset your password",
                        if left > 60 {
                            format!("{} minutes", left.div_ceil(60))
                        } else {
                            format!("{left} seconds")
                        }
                    ),
                    retry_after_secs: left,
                });
            }
        }
        Ok(if acc.count >= SLOW_AFTER {
            Duration::from_millis(500 * u64::from(acc.count - SLOW_AFTER + 1)).min(WINDOW)
        } else {
            Duration::ZERO
        })
    }

    pub(crate) fn failed(&self, account: &str, address: Option<IpAddr>) {
        Throttle::bump(&self.accounts, account.to_owned());
        if let Some(a) = address {
            Throttle::bump(&self.addresses, a);
        }
    }
}

/// A sign-in attempt.
pub struct Attempt<'a> {
    /// The username typed.
    pub username: &'a str,
    /// The password typed.
    pub password: &'a str,
    /// A name for the device.
    pub device_name: &'a str,
    /// The kind of session to make.
    pub kind: SessionKind,
    /// The client's address, when known, for throttling.
    pub address: Option<IpAddr>,
}

/// The stored account behind a username.
pub struct Account {
    /// The user.
    pub id: Uuid,
    name: String,
    role: Role,
    provider_id: Option<Uuid>,
    hash: String,
    disabled: bool,
    must_change_password: bool,
}

fn account(tx: &Connection, username: &str) -> ServiceResult<Option<Account>> {
    type Row = (String, String, String, String, Option<String>, bool, bool);
    let row: Option<Row> = tx
        .prepare_cached("SELECT id, display_name, role, password_hash, provider_id, disabled, must_change_password FROM users WHERE username = ?1")?
        .query_row([username], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?, r.get(6)?))
        })
        .optional()?;
    let Some((id, name, role, hash, provider, disabled, must_change_password)) = row else {
        return Ok(None);
    };
    Ok(Some(Account {
        id: stored_id(&id)?,
        name,
        role: Role::parse(&role)
            .ok_or_else(|| ServiceError::internal("unknown role in database"))?,
        provider_id: provider.as_deref().map(stored_id).transpose()?,
        hash,
        disabled,
        must_change_password,
    }))
}

/// Records a refused sign-in. No username, password or address is written: only the account's
/// id when the name was one, and why.
fn audit_refusal(
    s: &AppState,
    user: Option<Uuid>,
    kind: SessionKind,
    reason: &str,
) -> ServiceResult<()> {
    s.db.write(|tx| {
        audit::record(
            tx,
            None,
            Entry {
                action: "session.refused",
                subject_type: "user",
                subject_id: user.map(|u| u.to_string()),
                location_id: None,
                details: json!({ "via": kind.as_str(), "reason": reason }),
            },
        )
    })
}

/// Why credentials were refused, for the audit log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refused {
    /// The account, when the username was one.
    pub user: Option<Uuid>,
    /// `unknown_user`, `disabled` or `wrong_password`.
    pub reason: &'static str,
}

/// The account whose credentials these are, checked on a reader: argon2 takes tens of
/// milliseconds on purpose, and must never run while the database's single writer is held.
pub fn check_credentials(
    s: &AppState,
    username: &str,
    password: &str,
) -> ServiceResult<Result<Account, Refused>> {
    let found = s.db.read(|tx| account(tx, username))?;
    Ok(match found {
        None => {
            // Spend the same time as a real check.
            auth::verify_password(password, auth::dummy_hash()?);
            Err(Refused {
                user: None,
                reason: "unknown_user",
            })
        }
        Some(a) => {
            let right = auth::verify_password(password, &a.hash);
            match (right, a.disabled) {
                (true, false) => Ok(a),
                (_, true) => Err(Refused {
                    user: Some(a.id),
                    reason: "disabled",
                }),
                (false, false) => Err(Refused {
                    user: Some(a.id),
                    reason: "wrong_password",
                }),
            }
        }
    })
}

/// Checks a username and password and issues a token for a new device, or refuses with the
/// same message for an unknown user, a disabled one and a wrong password, so usernames cannot
/// be probed. The password is verified outside any transaction; only the token and its audit
/// entry are written.
pub fn sign_in(s: &AppState, attempt: Attempt<'_>) -> ServiceResult<SessionResponse> {
    if attempt.username.chars().count() > 200
        || attempt.password.len() > 1000
        || attempt.device_name.trim().is_empty()
        || attempt.device_name.chars().count() > 200
    {
        return Err(ServiceError::bad_request(
            "username, password and a device name (up to 200 characters) are required",
        ));
    }
    let key = attempt.username.trim().to_lowercase();
    let delay = match s.throttle.admit(&key, attempt.address) {
        Ok(d) => d,
        Err(e) => {
            let known = s.db.read(|tx| account(tx, attempt.username))?;
            audit_refusal(s, known.map(|a| a.id), attempt.kind, "throttled")?;
            return Err(e);
        }
    };
    let account = match check_credentials(s, attempt.username, attempt.password)? {
        Ok(a) => a,
        Err(refused) => {
            s.throttle.failed(&key, attempt.address);
            audit_refusal(s, refused.user, attempt.kind, refused.reason)?;
            std::thread::sleep(delay);
            return Err(ServiceError::unauthorized(
                "the username or password is not right",
            ));
        }
    };
    s.throttle.clear_account(&key);
    let token = auth::new_token()?;
    let device_id = Uuid::new_v4();
    let session = SessionResponse {
        token,
        device_id,
        user_id: account.id,
        name: account.name,
        role: account.role,
        provider_id: account.provider_id,
        password_change_required: account.must_change_password,
    };
    s.db.write(|tx| {
        let now = now_text();
        tx.execute(
            "INSERT INTO tokens (token_hash, user_id, device_id, device_name, created_at, kind, last_used_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?5)",
            params![auth::token_hash(&session.token), session.user_id.to_string(), device_id.to_string(), attempt.device_name.trim(), now, attempt.kind.as_str()],
        )?;
        let caller = caller_of(&session);
        audit::record(
            tx,
            Some(&caller),
            Entry {
                action: "session.created",
                subject_type: "device",
                subject_id: Some(device_id.to_string()),
                location_id: None,
                details: json!({ "via": attempt.kind.as_str() }),
            },
        )
    })?;
    Ok(session)
}

fn caller_of(session: &SessionResponse) -> Caller {
    Caller {
        user_id: session.user_id,
        name: session.name.clone(),
        role: session.role,
        provider_id: session.provider_id,
        device_id: session.device_id,
        password_change_due: session.password_change_required,
    }
}

/// Revokes a device's token (the caller's own, or any, for commissioners) and records it.
pub fn revoke(s: &AppState, caller: &Caller, device: Uuid) -> ServiceResult<()> {
    if device != caller.device_id {
        caller.require(&[Role::Commissioner])?;
    }
    s.db.write(|tx| {
        let n = tx.execute(
            "UPDATE tokens SET revoked_at = ?2 WHERE device_id = ?1 AND revoked_at IS NULL",
            [device.to_string(), now_text()],
        )?;
        if n == 0 {
            return Err(ServiceError::not_found("active device"));
        }
        audit::record(
            tx,
            Some(caller),
            Entry {
                action: "device.revoked",
                subject_type: "device",
                subject_id: Some(device.to_string()),
                location_id: None,
                details: json!({}),
            },
        )
    })
}

/// How often a session's last use is written: often enough for minutes of idle timeout,
/// rarely enough that reads stay reads.
const TOUCH_EVERY: Duration = Duration::from_secs(60);

/// The caller behind a token, if it is valid: known, not revoked, its user enabled, and neither
/// idle too long nor past its lifetime. Records its use (at most once a minute).
pub fn caller_for_token(s: &AppState, token: &str) -> ServiceResult<Option<Caller>> {
    let Some(auth::TokenRow {
        caller,
        kind,
        created_at: created,
        last_used_at: last_used,
    }) = s.db.read(|tx| auth::token_row(tx, token))?
    else {
        return Ok(None);
    };
    let hash = auth::token_hash(token);
    let (idle, lifetime) = match SessionKind::parse(&kind) {
        SessionKind::Portal => (s.config.session_idle, s.config.session_lifetime),
        SessionKind::Device => (s.config.device_idle, s.config.device_lifetime),
    };
    let now = Utc::now();
    let created = instant(&created)?;
    let last = last_used
        .as_deref()
        .map(instant)
        .transpose()?
        .unwrap_or(created);
    let age = |t: DateTime<Utc>| (now - t).to_std().unwrap_or(Duration::ZERO);
    if age(created) > lifetime || age(last) > idle {
        return Ok(None);
    }
    // Touched often enough that an active session never looks idle, whatever the limit.
    if age(last) > TOUCH_EVERY.min(idle / 2) {
        s.db.write(|tx| {
            tx.execute(
                "UPDATE tokens SET last_used_at = ?2 WHERE token_hash = ?1",
                params![hash, now_text()],
            )?;
            Ok(())
        })?;
    }
    Ok(Some(caller))
}

fn instant(text: &str) -> ServiceResult<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text)
        .map(|d| d.with_timezone(&Utc))
        .map_err(|_| ServiceError::internal("a stored time is not RFC 3339"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_start_at_the_threshold_and_double_up_to_fifteen_minutes() {
        assert_eq!(wait_for(LOCK_AFTER - 1, LOCK_AFTER), None);
        assert_eq!(
            wait_for(LOCK_AFTER, LOCK_AFTER),
            Some(Duration::from_secs(60))
        );
        assert_eq!(
            wait_for(LOCK_AFTER + 1, LOCK_AFTER),
            Some(Duration::from_secs(120))
        );
        assert_eq!(wait_for(LOCK_AFTER + 50, LOCK_AFTER), Some(WINDOW));
    }

    #[test]
    fn an_account_is_slowed_then_refused_and_others_are_not() {
        let t = Throttle::default();
        let addr: Option<IpAddr> = "192.0.2.1".parse().ok();
        for _ in 0..SLOW_AFTER {
            t.failed("mo", addr);
        }
        assert!(t.admit("mo", addr).is_ok_and(|d| d > Duration::ZERO));
        for _ in SLOW_AFTER..LOCK_AFTER {
            t.failed("mo", addr);
        }
        assert!(matches!(
            t.admit("mo", addr),
            Err(ServiceError::TooManyAttempts { .. })
        ));
        assert_eq!(t.admit("sam", addr).ok(), Some(Duration::ZERO));
        t.clear_account("mo");
        assert!(t.admit("mo", addr).is_ok());
    }
}
