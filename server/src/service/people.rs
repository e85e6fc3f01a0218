//! People and their devices, for commissioners: accounts (added, edited, disabled, never
//! deleted, because the audit log names them), one-time passwords, every signed-in device with
//! its last use, and monitors' caseloads. Everyone may change their own password here too.
//! Argon2 runs on readers or before the write, never while the single writer is held.

use std::collections::BTreeSet;

use rusqlite::{Connection, OptionalExtension, params};
use serde_json::json;
use uuid::Uuid;

use crate::audit::{self, Entry};
use crate::auth::{self, Caller, Role};
use crate::db::stored_id;
use crate::error::{ServiceError, ServiceResult};
use crate::passwords;
use crate::service::records::{Refusal, refuse};
use crate::state::{AppState, now_text};

/// An account as commissioners see it.
#[derive(Clone, Debug)]
pub struct Person {
    /// The user.
    pub id: Uuid,
    /// Their sign-in name.
    pub username: String,
    /// The name others see.
    pub display_name: String,
    /// Their role.
    pub role: Role,
    /// For provider users, their provider and its name.
    pub provider: Option<(Uuid, String)>,
    /// Where notices go, if given.
    pub email: Option<String>,
    /// Disabled accounts cannot sign in and their sessions have ended.
    pub disabled: bool,
    /// They hold a one-time password not yet replaced.
    pub must_change_password: bool,
    /// When the account was added (RFC 3339).
    pub created_at: String,
    /// The latest use of any of their sessions (RFC 3339), if any.
    pub last_seen: Option<String>,
    /// Locations on their caseload (monitors).
    pub caseload: usize,
}

/// What a commissioner types for an account. The username is fixed once the account exists.
#[derive(Clone, Debug, Default)]
pub struct PersonInput {
    /// Sign-in name (only when adding).
    pub username: String,
    /// Name shown to others.
    pub display_name: String,
    /// Role.
    pub role: Option<Role>,
    /// Their provider, for provider users.
    pub provider_id: Option<Uuid>,
    /// Email address for notices.
    pub email: String,
}

/// The rules for an account's fields, each refusal naming its field (`username`,
/// `display_name`, `role`, `provider_id`, `email`). `adding` checks the username too.
pub fn check_person(input: &PersonInput, adding: bool) -> Vec<Refusal> {
    let mut out = Vec::new();
    if adding {
        let u = input.username.trim();
        if u.is_empty() {
            out.push(Refusal::new("username", "enter a username"));
        } else if u.len() > 100
            || !u
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "._-@".contains(c))
        {
            out.push(Refusal::new(
                "username",
                "a username is up to 100 letters, digits, full stops, hyphens, underscores or @",
            ));
        }
    }
    let name = input.display_name.trim();
    if name.is_empty() {
        out.push(Refusal::new("display_name", "enter the person's name"));
    } else if name.chars().count() > 200 {
        out.push(Refusal::new(
            "display_name",
            "a name must be 200 characters or fewer",
        ));
    }
    match input.role {
        None => out.push(Refusal::new("role", "choose a role")),
        Some(Role::Provider) if input.provider_id.is_none() => out.push(Refusal::new(
            "provider_id",
            "choose the provider this person works for",
        )),
        Some(r) if r != Role::Provider && input.provider_id.is_some() => out.push(Refusal::new(
            "provider_id",
            "only provider users belong to a provider: choose no provider",
        )),
        _ => {}
    }
    if let Some(why) = email_refusal(&input.email) {
        out.push(Refusal::new("email", why));
    }
    out
}

/// Why an email address will not do, if it will not. Deliberately loose (RFC 5322 allows far
/// more than people use), but enough to catch a typing slip before a notice goes astray.
fn email_refusal(email: &str) -> Option<&'static str> {
    let e = email.trim();
    if e.is_empty() {
        return Some("enter an email address, for notices");
    }
    let Some((local, domain)) = e.split_once('@') else {
        return Some("enter an email address in the correct format, like name@example.gov.uk");
    };
    let ok = e.len() <= 254
        && !local.is_empty()
        && local.len() <= 64
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains("..")
        && !e.chars().any(|c| c.is_whitespace() || c.is_control())
        && !domain.contains('@')
        && domain
            .chars()
            .all(|c| c.is_alphanumeric() || c == '.' || c == '-');
    if ok {
        None
    } else {
        Some("enter an email address in the correct format, like name@example.gov.uk")
    }
}

type PersonRow = (
    String,
    String,
    String,
    String,
    Option<String>,
    Option<String>,
    bool,
    bool,
    String,
    Option<String>,
    Option<String>,
    i64,
);

const PERSON_SQL: &str = "SELECT u.id, u.username, u.display_name, u.role, u.provider_id, u.email, u.disabled, u.must_change_password, u.created_at,
        (SELECT MAX(COALESCE(t.last_used_at, t.created_at)) FROM tokens t WHERE t.user_id = u.id),
        p.name,
        (SELECT COUNT(*) FROM caseload c WHERE c.monitor_id = u.id)
     FROM users u LEFT JOIN providers p ON p.id = u.provider_id";

fn person_of(r: &rusqlite::Row<'_>) -> rusqlite::Result<PersonRow> {
    r.try_into()
}

fn to_person(row: PersonRow) -> ServiceResult<Person> {
    let (
        id,
        username,
        display_name,
        role,
        provider,
        email,
        disabled,
        must,
        created,
        seen,
        pname,
        n,
    ) = row;
    let provider = match (provider, pname) {
        (Some(p), Some(name)) => Some((stored_id(&p)?, name)),
        _ => None,
    };
    Ok(Person {
        id: stored_id(&id)?,
        username,
        display_name,
        role: Role::parse(&role).ok_or_else(|| ServiceError::internal("unknown role"))?,
        provider,
        email,
        disabled,
        must_change_password: must,
        created_at: created,
        last_seen: seen,
        caseload: usize::try_from(n).unwrap_or(0),
    })
}

/// Every account, enabled first, then by name.
pub fn people(s: &AppState, caller: &Caller) -> ServiceResult<Vec<Person>> {
    caller.require(&[Role::Commissioner])?;
    s.db.read(|tx| {
        let mut stmt = tx.prepare(&format!(
            "{PERSON_SQL} ORDER BY u.disabled, u.display_name COLLATE NOCASE"
        ))?;
        let rows = stmt.query_map([], person_of)?;
        let mut out = Vec::new();
        for r in rows {
            out.push(to_person(r?)?);
        }
        Ok(out)
    })
}

fn person_in(tx: &Connection, id: Uuid) -> ServiceResult<Person> {
    let row = tx
        .query_row(
            &format!("{PERSON_SQL} WHERE u.id = ?1"),
            [id.to_string()],
            person_of,
        )
        .optional()?
        .ok_or_else(|| ServiceError::not_found("person"))?;
    to_person(row)
}

/// One account.
pub fn person(s: &AppState, caller: &Caller, id: Uuid) -> ServiceResult<Person> {
    caller.require(&[Role::Commissioner])?;
    s.db.read(|tx| person_in(tx, id))
}

/// Adds an account with a one-time password, returned once for the commissioner to hand over;
/// the person must choose their own at first sign-in.
pub fn add_person(
    s: &AppState,
    caller: &Caller,
    input: &PersonInput,
) -> ServiceResult<(Uuid, String)> {
    caller.require(&[Role::Commissioner])?;
    refuse(check_person(input, true))?;
    let role = input
        .role
        .ok_or_else(|| ServiceError::invalid("choose a role"))?;
    let one_time = passwords::one_time()?;
    let hash =
        auth::hash_password(&one_time).map_err(|e| ServiceError::internal(format!("{e:#}")))?;
    let id = Uuid::new_v4();
    s.db.write(|tx| {
        check_provider(tx, input.provider_id)?;
        let taken = tx
            .query_row(
                "SELECT 1 FROM users WHERE username = ?1 COLLATE NOCASE",
                [input.username.trim()],
                |_| Ok(()),
            )
            .optional()?
            .is_some();
        if taken {
            return Err(ServiceError::conflict(
                "that username is taken: choose another",
            ));
        }
        tx.execute(
            "INSERT INTO users (id, username, display_name, role, provider_id, password_hash, created_at, email, must_change_password)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 1)",
            params![
                id.to_string(),
                input.username.trim(),
                input.display_name.trim(),
                role.as_str(),
                input.provider_id.map(|p| p.to_string()),
                hash,
                now_text(),
                input.email.trim()
            ],
        )?;
        audit::record(
            tx,
            Some(caller),
            Entry {
                action: "user.created",
                subject_type: "user",
                subject_id: Some(id.to_string()),
                location_id: None,
                details: json!({ "role": role.as_str() }),
            },
        )
    })?;
    Ok((id, one_time))
}

fn check_provider(tx: &Connection, provider: Option<Uuid>) -> ServiceResult<()> {
    if let Some(p) = provider {
        let known = tx
            .query_row(
                "SELECT 1 FROM providers WHERE id = ?1",
                [p.to_string()],
                |_| Ok(()),
            )
            .optional()?
            .is_some();
        if !known {
            return Err(ServiceError::invalid("choose a provider from the list"));
        }
    }
    Ok(())
}

/// The enabled commissioners other than `but`: the last one may not be disabled or demoted,
/// or nobody could manage accounts again without a shell.
fn other_commissioners(tx: &Connection, but: Uuid) -> ServiceResult<i64> {
    Ok(tx.query_row(
        "SELECT COUNT(*) FROM users WHERE role = 'commissioner' AND disabled = 0 AND id != ?1",
        [but.to_string()],
        |r| r.get(0),
    )?)
}

/// What an edit changed, for the person who made it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Edited {
    /// Names of the fields that changed.
    pub fields: Vec<&'static str>,
    /// Caseload locations removed because the person is no longer a monitor.
    pub caseload_removed: usize,
}

/// Edits an account's name, role, provider and email. A role change takes effect at the
/// person's next request (sessions read the role each time); a monitor who stops being one
/// loses their caseload.
pub fn edit_person(
    s: &AppState,
    caller: &Caller,
    id: Uuid,
    input: &PersonInput,
) -> ServiceResult<Edited> {
    caller.require(&[Role::Commissioner])?;
    refuse(check_person(input, false))?;
    let role = input
        .role
        .ok_or_else(|| ServiceError::invalid("choose a role"))?;
    s.db.write(|tx| {
        let before = person_in(tx, id)?;
        check_provider(tx, input.provider_id)?;
        if before.role == Role::Commissioner
            && role != Role::Commissioner
            && !before.disabled
            && other_commissioners(tx, id)? == 0
        {
            return Err(ServiceError::invalid(
                "this is the only commissioner: add another before changing their role",
            ));
        }
        let mut edited = Edited::default();
        if before.display_name != input.display_name.trim() {
            edited.fields.push("name");
        }
        if before.role != role {
            edited.fields.push("role");
        }
        if before.provider.as_ref().map(|p| p.0) != input.provider_id {
            edited.fields.push("provider");
        }
        if before.email.as_deref() != Some(input.email.trim()) {
            edited.fields.push("email");
        }
        if edited.fields.is_empty() {
            return Ok(edited);
        }
        if before.role == Role::Monitor && role != Role::Monitor {
            edited.caseload_removed =
                tx.execute("DELETE FROM caseload WHERE monitor_id = ?1", [id.to_string()])?;
        }
        tx.execute(
            "UPDATE users SET display_name = ?2, role = ?3, provider_id = ?4, email = ?5 WHERE id = ?1",
            params![
                id.to_string(),
                input.display_name.trim(),
                role.as_str(),
                input.provider_id.map(|p| p.to_string()),
                input.email.trim()
            ],
        )?;
        audit::record(
            tx,
            Some(caller),
            Entry {
                action: "user.updated",
                subject_type: "user",
                subject_id: Some(id.to_string()),
                location_id: None,
                details: json!({
                    "changed": edited.fields,
                    "role_before": before.role.as_str(),
                    "role_after": role.as_str(),
                    "caseload_removed": edited.caseload_removed,
                }),
            },
        )?;
        Ok(edited)
    })
}

/// Disables an account (ending every session of it at once) or enables it again.
pub fn set_disabled(s: &AppState, caller: &Caller, id: Uuid, disabled: bool) -> ServiceResult<()> {
    caller.require(&[Role::Commissioner])?;
    if disabled && id == caller.user_id {
        return Err(ServiceError::invalid(
            "you cannot disable your own account: ask another commissioner",
        ));
    }
    s.db.write(|tx| {
        let before = person_in(tx, id)?;
        if before.disabled == disabled {
            return Ok(());
        }
        if disabled && before.role == Role::Commissioner && other_commissioners(tx, id)? == 0 {
            return Err(ServiceError::invalid(
                "this is the only commissioner: add another before disabling them",
            ));
        }
        tx.execute(
            "UPDATE users SET disabled = ?2 WHERE id = ?1",
            params![id.to_string(), disabled],
        )?;
        let ended = if disabled {
            end_sessions(tx, id, None)?
        } else {
            0
        };
        audit::record(
            tx,
            Some(caller),
            Entry {
                action: if disabled {
                    "user.disabled"
                } else {
                    "user.enabled"
                },
                subject_type: "user",
                subject_id: Some(id.to_string()),
                location_id: None,
                details: json!({ "sessions_ended": ended }),
            },
        )
    })
}

/// Ends every live session of a user except `keep`; returns how many.
fn end_sessions(tx: &Connection, user: Uuid, keep: Option<Uuid>) -> ServiceResult<usize> {
    Ok(tx.execute(
        "UPDATE tokens SET revoked_at = ?2 WHERE user_id = ?1 AND revoked_at IS NULL AND device_id IS NOT ?3",
        params![user.to_string(), now_text(), keep.map(|k| k.to_string())],
    )?)
}

/// Gives an account a new one-time password, returned once, and ends all its sessions.
pub fn reset_password(s: &AppState, caller: &Caller, id: Uuid) -> ServiceResult<String> {
    caller.require(&[Role::Commissioner])?;
    let one_time = passwords::one_time()?;
    let hash =
        auth::hash_password(&one_time).map_err(|e| ServiceError::internal(format!("{e:#}")))?;
    s.db.write(|tx| {
        let p = person_in(tx, id)?;
        if p.disabled {
            return Err(ServiceError::invalid(
                "this account is disabled: enable it before resetting its password",
            ));
        }
        tx.execute(
            "UPDATE users SET password_hash = ?2, must_change_password = 1 WHERE id = ?1",
            params![id.to_string(), hash],
        )?;
        let ended = end_sessions(tx, id, None)?;
        audit::record(
            tx,
            Some(caller),
            Entry {
                action: "user.password_reset",
                subject_type: "user",
                subject_id: Some(id.to_string()),
                location_id: None,
                details: json!({ "sessions_ended": ended }),
            },
        )
    })?;
    Ok(one_time)
}

/// Where a password change was refused: the current password or the new one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PasswordField {
    /// The current password is not right.
    Current,
    /// The new password breaks the policy.
    New,
}

/// Replaces the caller's own password, a one-time one included, after checking the current one
/// (throttled as sign-in is). Every other session of theirs ends; this one goes on.
pub fn change_password(
    s: &AppState,
    caller: &Caller,
    current: &str,
    new: &str,
) -> ServiceResult<Result<(), (PasswordField, String)>> {
    if current.len() > 1000 || new.len() > 4 * passwords::MAX_CHARS {
        return Err(ServiceError::bad_request("the password is too long"));
    }
    let (username, hash): (String, String) = s.db.read(|tx| {
        Ok(tx.query_row(
            "SELECT username, password_hash FROM users WHERE id = ?1",
            [caller.user_id.to_string()],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?)
    })?;
    let key = username.trim().to_lowercase();
    let delay = s.throttle.admit(&key, None)?;
    if !auth::verify_password(current, &hash) {
        s.throttle.failed(&key, None);
        std::thread::sleep(delay);
        return Ok(Err((
            PasswordField::Current,
            "Your current password is not right".into(),
        )));
    }
    if let Some(why) = passwords::refusal(new, &username) {
        return Ok(Err((PasswordField::New, why)));
    }
    if new == current {
        return Ok(Err((
            PasswordField::New,
            "Your new password must be different from the one you were given".into(),
        )));
    }
    let new_hash =
        auth::hash_password(new).map_err(|e| ServiceError::internal(format!("{e:#}")))?;
    s.db.write(|tx| {
        tx.execute(
            "UPDATE users SET password_hash = ?2, must_change_password = 0, password_changed_at = ?3 WHERE id = ?1",
            params![caller.user_id.to_string(), new_hash, now_text()],
        )?;
        let ended = end_sessions(tx, caller.user_id, Some(caller.device_id))?;
        audit::record(
            tx,
            Some(caller),
            Entry {
                action: "user.password_changed",
                subject_type: "user",
                subject_id: Some(caller.user_id.to_string()),
                location_id: None,
                details: json!({ "sessions_ended": ended }),
            },
        )
    })?;
    Ok(Ok(()))
}

/// One signed-in device (a browser or a tablet) of a user.
#[derive(Clone, Debug)]
pub struct Device {
    /// The device.
    pub id: Uuid,
    /// The name it gave when signing in.
    pub name: String,
    /// A portal browser rather than a field app.
    pub browser: bool,
    /// When it signed in (RFC 3339).
    pub signed_in_at: String,
    /// When it was last used (RFC 3339).
    pub last_seen: Option<String>,
    /// When it was signed out or revoked, if it was.
    pub revoked_at: Option<String>,
}

/// A user's devices, newest first: the caller's own, or anyone's for commissioners.
pub fn devices(s: &AppState, caller: &Caller, user: Uuid) -> ServiceResult<Vec<Device>> {
    if user != caller.user_id {
        caller.require(&[Role::Commissioner])?;
    }
    s.db.read(|tx| {
        let mut stmt = tx.prepare(
            "SELECT device_id, device_name, kind, created_at, last_used_at, revoked_at FROM tokens
             WHERE user_id = ?1 ORDER BY revoked_at IS NOT NULL, COALESCE(last_used_at, created_at) DESC LIMIT 200",
        )?;
        let rows = stmt.query_map([user.to_string()], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, Option<String>>(4)?,
                r.get::<_, Option<String>>(5)?,
            ))
        })?;
        let mut out = Vec::new();
        for r in rows {
            let (id, name, kind, created, last, revoked) = r?;
            out.push(Device {
                id: stored_id(&id)?,
                name,
                browser: kind == "portal",
                signed_in_at: created,
                last_seen: last,
                revoked_at: revoked,
            });
        }
        Ok(out)
    })
}

/// Signs one device of `user` out: the caller's own, or anyone's for commissioners.
pub fn revoke_device(s: &AppState, caller: &Caller, user: Uuid, device: Uuid) -> ServiceResult<()> {
    if user != caller.user_id {
        caller.require(&[Role::Commissioner])?;
    }
    s.db.write(|tx| {
        let n = tx.execute(
            "UPDATE tokens SET revoked_at = ?3 WHERE device_id = ?1 AND user_id = ?2 AND revoked_at IS NULL",
            params![device.to_string(), user.to_string(), now_text()],
        )?;
        if n == 0 {
            return Err(ServiceError::not_found("signed-in device"));
        }
        audit::record(
            tx,
            Some(caller),
            Entry {
                action: "device.revoked",
                subject_type: "device",
                subject_id: Some(device.to_string()),
                location_id: None,
                details: json!({ "user": user.to_string() }),
            },
        )
    })
}

/// Signs a user out everywhere (the caller's own, or anyone's for commissioners), the caller's
/// current session included; returns how many sessions ended.
pub fn sign_out_everywhere(s: &AppState, caller: &Caller, user: Uuid) -> ServiceResult<usize> {
    if user != caller.user_id {
        caller.require(&[Role::Commissioner])?;
    }
    s.db.write(|tx| {
        person_in(tx, user)?;
        let n = end_sessions(tx, user, None)?;
        audit::record(
            tx,
            Some(caller),
            Entry {
                action: "user.signed_out_everywhere",
                subject_type: "user",
                subject_id: Some(user.to_string()),
                location_id: None,
                details: json!({ "sessions_ended": n }),
            },
        )?;
        Ok(n)
    })
}

/// A location on (or offered for) a caseload.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CaseloadLocation {
    /// The location.
    pub id: Uuid,
    /// Its name.
    pub name: String,
    /// Its CQC location id.
    pub cqc_location_id: String,
    /// Its address.
    pub address: String,
}

fn caseload_in(tx: &Connection, monitor: Uuid) -> ServiceResult<Vec<CaseloadLocation>> {
    let mut stmt = tx.prepare(
        "SELECT l.id, l.name, l.cqc_location_id, l.address FROM caseload c JOIN locations l ON l.id = c.location_id
         WHERE c.monitor_id = ?1 ORDER BY l.name COLLATE NOCASE",
    )?;
    caseload_locations(&mut stmt, [monitor.to_string()])
}

/// Rows of (id, name, CQC location id, address) as locations.
fn caseload_locations(
    stmt: &mut rusqlite::Statement<'_>,
    params: impl rusqlite::Params,
) -> ServiceResult<Vec<CaseloadLocation>> {
    let rows = stmt.query_map(params, |r| {
        Ok((r.get::<_, String>(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
    })?;
    let mut out = Vec::new();
    for r in rows {
        let (id, name, cqc_location_id, address) = r?;
        out.push(CaseloadLocation {
            id: stored_id(&id)?,
            name,
            cqc_location_id,
            address,
        });
    }
    Ok(out)
}

/// A monitor's caseload, by name.
pub fn caseload(
    s: &AppState,
    caller: &Caller,
    monitor: Uuid,
) -> ServiceResult<Vec<CaseloadLocation>> {
    caller.require(&[Role::Commissioner])?;
    s.db.read(|tx| {
        require_monitor(tx, monitor)?;
        caseload_in(tx, monitor)
    })
}

/// Locations matching a search (name, CQC location id or address), at most `limit`, for
/// adding to a caseload.
pub fn find_locations(
    s: &AppState,
    caller: &Caller,
    query: &str,
    limit: usize,
) -> ServiceResult<Vec<CaseloadLocation>> {
    caller.require(&[Role::Commissioner, Role::Lead])?;
    let q = query.trim();
    if q.is_empty() {
        return Ok(Vec::new());
    }
    let pattern = format!(
        "%{}%",
        q.replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_")
    );
    s.db.read(|tx| {
        let mut stmt = tx.prepare(
            "SELECT id, name, cqc_location_id, address FROM locations
             WHERE (name LIKE ?1 ESCAPE '\\' OR cqc_location_id LIKE ?1 ESCAPE '\\' OR address LIKE ?1 ESCAPE '\\')
             ORDER BY name COLLATE NOCASE LIMIT ?2",
        )?;
        caseload_locations(&mut stmt, params![pattern, limit as i64])
    })
}

fn require_monitor(tx: &Connection, monitor: Uuid) -> ServiceResult<()> {
    let role: Option<String> = tx
        .query_row(
            "SELECT role FROM users WHERE id = ?1",
            [monitor.to_string()],
            |r| r.get(0),
        )
        .optional()?;
    match role.as_deref() {
        Some("monitor") => Ok(()),
        Some(_) => Err(ServiceError::invalid("only monitors have a caseload")),
        None => Err(ServiceError::not_found("person")),
    }
}

fn require_location(tx: &Connection, location: Uuid) -> ServiceResult<()> {
    let known = tx
        .query_row(
            "SELECT 1 FROM locations WHERE id = ?1",
            [location.to_string()],
            |_| Ok(()),
        )
        .optional()?
        .is_some();
    if known {
        Ok(())
    } else {
        Err(ServiceError::invalid("choose locations from the list"))
    }
}

fn caseload_audit(
    tx: &Connection,
    caller: &Caller,
    monitor: Uuid,
    location: Uuid,
    added: bool,
) -> ServiceResult<()> {
    audit::record(
        tx,
        Some(caller),
        Entry {
            action: if added {
                "caseload.added"
            } else {
                "caseload.removed"
            },
            subject_type: "user",
            subject_id: Some(monitor.to_string()),
            location_id: Some(location),
            details: json!({}),
        },
    )
}

/// Adds and removes locations on a monitor's caseload in one transaction; returns how many
/// were added and removed (ones already there, or already gone, count as neither).
pub fn change_caseload(
    s: &AppState,
    caller: &Caller,
    monitor: Uuid,
    add: &[Uuid],
    remove: &[Uuid],
) -> ServiceResult<(usize, usize)> {
    caller.require(&[Role::Commissioner])?;
    s.db.write(|tx| {
        require_monitor(tx, monitor)?;
        let (mut added, mut removed) = (0, 0);
        for l in add.iter().collect::<BTreeSet<_>>() {
            require_location(tx, *l)?;
            if tx.execute(
                "INSERT OR IGNORE INTO caseload (monitor_id, location_id) VALUES (?1, ?2)",
                params![monitor.to_string(), l.to_string()],
            )? == 1
            {
                caseload_audit(tx, caller, monitor, *l, true)?;
                added += 1;
            }
        }
        for l in remove.iter().collect::<BTreeSet<_>>() {
            if tx.execute(
                "DELETE FROM caseload WHERE monitor_id = ?1 AND location_id = ?2",
                params![monitor.to_string(), l.to_string()],
            )? == 1
            {
                caseload_audit(tx, caller, monitor, *l, false)?;
                removed += 1;
            }
        }
        Ok((added, removed))
    })
}

/// Every enabled monitor, with whether `location` is on their caseload.
pub fn monitors_for(
    s: &AppState,
    caller: &Caller,
    location: Uuid,
) -> ServiceResult<Vec<(Uuid, String, bool)>> {
    caller.require(&[Role::Commissioner])?;
    s.db.read(|tx| {
        require_location(tx, location).map_err(|_| ServiceError::not_found("location"))?;
        let mut stmt = tx.prepare(
            "SELECT u.id, u.display_name, EXISTS (SELECT 1 FROM caseload c WHERE c.monitor_id = u.id AND c.location_id = ?1)
             FROM users u WHERE u.role = 'monitor' AND u.disabled = 0 ORDER BY u.display_name COLLATE NOCASE",
        )?;
        let rows = stmt.query_map([location.to_string()], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, bool>(2)?))
        })?;
        let mut out = Vec::new();
        for r in rows {
            let (id, name, on) = r?;
            out.push((stored_id(&id)?, name, on));
        }
        Ok(out)
    })
}

/// Sets exactly which monitors cover a location; returns how many were added and removed.
pub fn set_location_monitors(
    s: &AppState,
    caller: &Caller,
    location: Uuid,
    monitors: &[Uuid],
) -> ServiceResult<(usize, usize)> {
    caller.require(&[Role::Commissioner])?;
    let wanted: BTreeSet<Uuid> = monitors.iter().copied().collect();
    s.db.write(|tx| {
        require_location(tx, location).map_err(|_| ServiceError::not_found("location"))?;
        for m in &wanted {
            require_monitor(tx, *m)?;
        }
        let current: BTreeSet<Uuid> = crate::db::query_ids(
            tx,
            "SELECT monitor_id FROM caseload WHERE location_id = ?1",
            [location.to_string()],
        )?
        .into_iter()
        .collect();
        let (mut added, mut removed) = (0, 0);
        for m in wanted.difference(&current) {
            tx.execute(
                "INSERT INTO caseload (monitor_id, location_id) VALUES (?1, ?2)",
                params![m.to_string(), location.to_string()],
            )?;
            caseload_audit(tx, caller, *m, location, true)?;
            added += 1;
        }
        for m in current.difference(&wanted) {
            tx.execute(
                "DELETE FROM caseload WHERE monitor_id = ?1 AND location_id = ?2",
                params![m.to_string(), location.to_string()],
            )?;
            caseload_audit(tx, caller, *m, location, false)?;
            removed += 1;
        }
        Ok((added, removed))
    })
}

/// Providers by name, for choosing a provider user's organisation.
pub fn providers(s: &AppState, caller: &Caller) -> ServiceResult<Vec<(Uuid, String)>> {
    caller.require(&[Role::Commissioner])?;
    s.db.read(|tx| {
        let mut v: Vec<(Uuid, String)> = crate::service::locations::provider_names(tx)?
            .into_iter()
            .collect();
        v.sort_by_key(|a| a.1.to_lowercase());
        Ok(v)
    })
}

/// The caller's own email address, if they have one.
pub fn own_email(s: &AppState, caller: &Caller) -> ServiceResult<Option<String>> {
    s.db.read(|tx| {
        Ok(tx
            .query_row(
                "SELECT email FROM users WHERE id = ?1",
                [caller.user_id.to_string()],
                |r| r.get::<_, Option<String>>(0),
            )?
            .filter(|e| !e.trim().is_empty()))
    })
}
