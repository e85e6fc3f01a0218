//! Email notices. An event (a report shared, a visit planned, a tier changed…) writes its
//! notices to the `notices` outbox in the same transaction as the event, so a notice exists
//! exactly when its event does; a background sender (`mail::Sender`) delivers them with retries
//! and backoff, and a restart resumes where it stopped. Each notice says only what its recipient
//! may see (their own location, dates, a link to the portal page), never notes, comments or
//! resident references. Recipients choose which kinds they receive.

use std::collections::BTreeSet;

use accredit_shared::labels::long_date;
use chrono::{DateTime, NaiveDate, Utc};
use rusqlite::{Connection, OptionalExtension, params};
use uuid::Uuid;

use crate::auth::{Caller, Role};
use crate::db::stored_id;
use crate::error::{ServiceError, ServiceResult};
use crate::state::{AppState, now_text};

/// A kind of notice; recipients turn each on or off.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    /// A report shared with the provider: the factual-accuracy window opens.
    ReportShared,
    /// The factual-accuracy window closes soon.
    WindowClosing,
    /// A report published.
    ReportPublished,
    /// An action falls due within a week.
    ActionDueSoon,
    /// An action is overdue.
    ActionOverdue,
    /// A visit planned for a monitor, or moved.
    VisitPlanned,
    /// A gate opened at the provider's location.
    GateOpened,
    /// The provider's tier changed.
    TierChanged,
}

/// Every kind, in the order the preferences page lists them.
pub const KINDS: [Kind; 8] = [
    Kind::ReportShared,
    Kind::WindowClosing,
    Kind::ReportPublished,
    Kind::ActionDueSoon,
    Kind::ActionOverdue,
    Kind::VisitPlanned,
    Kind::GateOpened,
    Kind::TierChanged,
];

impl Kind {
    /// The stored name.
    pub fn key(self) -> &'static str {
        match self {
            Kind::ReportShared => "report_shared",
            Kind::WindowClosing => "window_closing",
            Kind::ReportPublished => "report_published",
            Kind::ActionDueSoon => "action_due_soon",
            Kind::ActionOverdue => "action_overdue",
            Kind::VisitPlanned => "visit_planned",
            Kind::GateOpened => "gate_opened",
            Kind::TierChanged => "tier_changed",
        }
    }

    /// A kind from its stored name.
    pub fn parse(s: &str) -> Option<Kind> {
        KINDS.into_iter().find(|k| k.key() == s)
    }

    /// What it is, for the preferences page.
    pub fn label(self) -> &'static str {
        match self {
            Kind::ReportShared => "A visit report is shared with you for comments",
            Kind::WindowClosing => "Your time to comment on a report is about to end",
            Kind::ReportPublished => "A visit report is published",
            Kind::ActionDueSoon => "An action falls due within 7 days",
            Kind::ActionOverdue => "An action is overdue",
            Kind::VisitPlanned => "A visit is planned for you, or moved",
            Kind::GateOpened => "A safeguarding or contract gate opens at your location",
            Kind::TierChanged => "Your location's tier changes",
        }
    }

    /// Who can receive it.
    pub fn for_role(self, role: Role) -> bool {
        match self {
            Kind::VisitPlanned => role == Role::Monitor,
            _ => role == Role::Provider,
        }
    }
}

/// One notice to write.
pub struct Notice {
    /// Its kind.
    pub kind: Kind,
    /// The recipient.
    pub user: Uuid,
    /// The subject line.
    pub subject: String,
    /// The text, which must hold nothing the recipient may not see.
    pub text: String,
    /// The portal page it is about (a path: the public address is prefixed when sent).
    pub link: String,
    /// A notice with the same key is written once only (reminders, daily scans).
    pub once: Option<String>,
}

/// Writes a notice to the outbox in the caller's transaction, if its recipient wants this kind.
/// A recipient with no email address gets a notice marked `skipped`, so commissioners see it.
pub fn enqueue(tx: &Connection, n: Notice) -> ServiceResult<bool> {
    let row: Option<(Option<String>, String, bool, String)> = tx
        .query_row(
            "SELECT email, notice_optout, disabled, role FROM users WHERE id = ?1",
            [n.user.to_string()],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .optional()?;
    let Some((email, optout, disabled, role)) = row else {
        return Ok(false);
    };
    let role = Role::parse(&role).ok_or_else(|| ServiceError::internal("unknown role"))?;
    if disabled || !n.kind.for_role(role) || optout.split(',').any(|k| k == n.kind.key()) {
        return Ok(false);
    }
    let email = email.filter(|e| !e.trim().is_empty());
    let (state, error) = match &email {
        Some(_) => ("queued", None),
        None => ("skipped", Some("the person has no email address")),
    };
    let inserted = tx.execute(
        "INSERT OR IGNORE INTO notices (id, kind, user_id, to_address, subject, body, link, once_key, state, attempts, next_attempt_at, last_error, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, 0, ?10, ?11, ?10)",
        params![
            Uuid::new_v4().to_string(),
            n.kind.key(),
            n.user.to_string(),
            email.unwrap_or_default(),
            n.subject,
            n.text,
            n.link,
            n.once,
            state,
            now_text(),
            error
        ],
    )?;
    Ok(inserted == 1)
}

/// The enabled provider users of a location's provider.
fn provider_users(tx: &Connection, location: Uuid) -> ServiceResult<Vec<Uuid>> {
    crate::db::query_ids(
        tx,
        "SELECT u.id FROM users u JOIN locations l ON l.provider_id = u.provider_id
         WHERE l.id = ?1 AND u.role = 'provider' AND u.disabled = 0",
        [location.to_string()],
    )
}

fn location_name(tx: &Connection, location: Uuid) -> ServiceResult<String> {
    Ok(tx
        .query_row(
            "SELECT name FROM locations WHERE id = ?1",
            [location.to_string()],
            |r| r.get(0),
        )
        .optional()?
        .unwrap_or_default())
}

/// A visit planned for monitors, or moved (`reassigned`).
pub fn visit_planned(
    _s: &AppState,
    tx: &Connection,
    plan: Uuid,
    monitors: &BTreeSet<Uuid>,
    reassigned: bool,
) -> ServiceResult<()> {
    let (location, day, kind): (String, String, String) = tx.query_row(
        "SELECT location_id, planned_on, visit_type FROM planned_visits WHERE id = ?1",
        [plan.to_string()],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
    )?;
    let location = stored_id(&location)?;
    let name = location_name(tx, location)?;
    let day = crate::db::stored_date(&day)?;
    let kind = kind.replace('_', " ");
    for m in monitors {
        let (subject, text) = if reassigned {
            (
                format!("Visit to {name} now on {}", long_date(day)),
                format!(
                    "The {kind} visit to {name} is now planned for {} with you as a monitor. It is on your tablet's caseload at its next sync.",
                    long_date(day)
                ),
            )
        } else {
            (
                format!("Visit to {name} planned for {}", long_date(day)),
                format!(
                    "A {kind} visit to {name} is planned for {} with you as a monitor. It is on your tablet's caseload at its next sync.",
                    long_date(day)
                ),
            )
        };
        enqueue(
            tx,
            Notice {
                kind: Kind::VisitPlanned,
                user: *m,
                subject,
                text,
                link: "/plan".to_owned(),
                once: None,
            },
        )?;
    }
    Ok(())
}

/// A report shared with the provider: the window opens now and closes on `closes`.
pub fn report_shared(
    tx: &Connection,
    visit: Uuid,
    location: Uuid,
    closes: NaiveDate,
) -> ServiceResult<()> {
    let name = location_name(tx, location)?;
    for u in provider_users(tx, location)? {
        enqueue(
            tx,
            Notice {
                kind: Kind::ReportShared,
                user: u,
                subject: format!(
                    "Visit report for {name}: comments open until {}",
                    long_date(closes)
                ),
                text: format!(
                    "The report of the council's quality visit to {name} is ready for you to read. You can comment on its factual accuracy until {} (the end of that day). After that, the council publishes it.",
                    long_date(closes)
                ),
                link: format!("/visits/{visit}"),
                once: None,
            },
        )?;
    }
    Ok(())
}

/// A report published.
pub fn report_published(tx: &Connection, visit: Uuid, location: Uuid) -> ServiceResult<()> {
    let name = location_name(tx, location)?;
    for u in provider_users(tx, location)? {
        enqueue(
            tx,
            Notice {
                kind: Kind::ReportPublished,
                user: u,
                subject: format!("Visit report for {name} published"),
                text: format!(
                    "The council has published the report of its quality visit to {name}. The portal shows the scores, the action plan and the accreditation tier that follows from it."
                ),
                link: format!("/visits/{visit}"),
                once: None,
            },
        )?;
    }
    Ok(())
}

/// A gate opened at a location.
pub fn gate_opened(
    tx: &Connection,
    location: Uuid,
    what: &str,
    opened_on: NaiveDate,
) -> ServiceResult<()> {
    let name = location_name(tx, location)?;
    for u in provider_users(tx, location)? {
        enqueue(
            tx,
            Notice {
                kind: Kind::GateOpened,
                user: u,
                subject: format!("{what} recorded at {name}"),
                text: format!(
                    "The council has recorded a {} at {name} from {}. While it is open, the accreditation premium may be held. The portal page for {name} explains the effect.",
                    what.to_lowercase(),
                    long_date(opened_on)
                ),
                link: format!("/locations/{location}"),
                once: None,
            },
        )?;
    }
    Ok(())
}

/// A location's tier changed from `before` to `after` (`None`: no tier).
pub fn tier_changed(
    tx: &Connection,
    location: Uuid,
    before: Option<&str>,
    after: Option<&str>,
) -> ServiceResult<()> {
    let name = location_name(tx, location)?;
    let word = |t: Option<&str>| t.map_or("no tier".to_owned(), |t| t.to_owned());
    for u in provider_users(tx, location)? {
        enqueue(
            tx,
            Notice {
                kind: Kind::TierChanged,
                user: u,
                subject: format!("{name}: tier now {}", word(after)),
                text: format!(
                    "The accreditation tier of {name} changed from {} to {}. The portal page for {name} says why and what the weekly premium is now.",
                    word(before),
                    word(after)
                ),
                link: format!("/locations/{location}"),
                once: None,
            },
        )?;
    }
    Ok(())
}

/// The daily notices: a reminder three days before a factual-accuracy window closes, and
/// actions due within seven days or overdue. Each is written once (keyed), so running this
/// often is harmless; it runs in one transaction.
pub fn scan(s: &AppState) -> ServiceResult<usize> {
    let today = s.today();
    // Worked out on a reader (it reads every location's records), then written in one short
    // transaction: the writer is never held for the scan.
    let pending: Vec<Notice> = s.db.read(|tx| {
        let mut pending = Vec::new();
        let mut stmt = tx.prepare(
            "SELECT id, location_id, window_closes_on FROM visits WHERE status = 'shared' AND provider_confirmed_at IS NULL AND window_closes_on IS NOT NULL",
        )?;
        let shared: Vec<(String, String, String)> = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
            .collect::<Result<_, _>>()?;
        for (visit, location, closes) in shared {
            let closes = crate::db::stored_date(&closes)?;
            let days_left = (closes - today).num_days();
            if !(0..=3).contains(&days_left) {
                continue;
            }
            let (visit, location) = (stored_id(&visit)?, stored_id(&location)?);
            let name = location_name(tx, location)?;
            let key = format!("window_closing:{visit}:{closes}");
            for u in provider_users(tx, location)? {
                let once = format!("{key}:{u}");
                pending.push(Notice {
                        kind: Kind::WindowClosing,
                        user: u,
                        subject: format!("Comments on the {name} report close on {}", long_date(closes)),
                        text: format!(
                            "You can comment on the factual accuracy of the report of the visit to {name} until {} (the end of that day). If you have no comments, you can say so in the portal.",
                            long_date(closes)
                        ),
                        link: format!("/visits/{visit}"),
                        once: Some(once),
                    });
            }
        }
        for location in crate::tiers::all_locations(tx)? {
            let Some(records) = crate::tiers::records(tx, location)? else { continue };
            let name = records.location.name.clone();
            for a in records.actions.iter().filter(|a| a.completed_on.is_none()) {
                let days = (a.due_on - today).num_days();
                let (kind, key, subject, text) = if a.is_overdue_on(today) {
                    (
                        Kind::ActionOverdue,
                        format!("action_overdue:{}", a.id),
                        format!("An action at {name} is overdue"),
                        format!(
                            "An action from the council's visit to {name} was due on {} and is not marked complete. Overdue actions can lower the accreditation tier. Respond in the portal with what you have done.",
                            long_date(a.due_on)
                        ),
                    )
                } else if (0..=7).contains(&days) {
                    (
                        Kind::ActionDueSoon,
                        format!("action_due:{}", a.id),
                        format!("An action at {name} is due on {}", long_date(a.due_on)),
                        format!(
                            "An action from the council's visit to {name} is due on {}. Respond in the portal with what you have done.",
                            long_date(a.due_on)
                        ),
                    )
                } else {
                    continue;
                };
                for u in provider_users(tx, location)? {
                    let once = format!("{key}:{u}");
                    pending.push(Notice {
                            kind,
                            user: u,
                            subject: subject.clone(),
                            text: text.clone(),
                            link: format!("/visits/{}", a.visit_id),
                            once: Some(once),
                        });
                }
            }
        }
        Ok(pending)
    })?;
    s.db.write(|tx| {
        let mut written = 0;
        for n in pending {
            written += usize::from(enqueue(tx, n)?);
        }
        Ok(written)
    })
}

/// A notice as commissioners see it.
#[derive(Clone, Debug)]
pub struct NoticeRow {
    /// Its id.
    pub id: Uuid,
    /// Its kind.
    pub kind: Kind,
    /// The recipient's name.
    pub recipient: String,
    /// The subject line.
    pub subject: String,
    /// `queued`, `sent`, `failed` or `skipped`.
    pub state: String,
    /// Attempts made.
    pub attempts: i64,
    /// Why the last attempt failed, or why it was skipped.
    pub last_error: Option<String>,
    /// When it was written (RFC 3339).
    pub created_at: String,
    /// When it was sent.
    pub sent_at: Option<String>,
    /// When the next attempt is due, while queued.
    pub next_attempt_at: String,
}

/// The latest notices (commissioners), optionally of one state.
pub fn list(
    s: &AppState,
    caller: &Caller,
    state: Option<&str>,
    limit: usize,
) -> ServiceResult<Vec<NoticeRow>> {
    caller.require(&[Role::Commissioner])?;
    s.db.read(|tx| {
        let mut stmt = tx.prepare(
            "SELECT n.id, n.kind, u.display_name, n.subject, n.state, n.attempts, n.last_error, n.created_at, n.sent_at, n.next_attempt_at
             FROM notices n JOIN users u ON u.id = n.user_id
             WHERE (?1 IS NULL OR n.state = ?1) ORDER BY n.created_at DESC LIMIT ?2",
        )?;
        let rows = stmt.query_map(params![state, limit as i64], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, String>(4)?,
                r.get::<_, i64>(5)?,
                r.get::<_, Option<String>>(6)?,
                r.get::<_, String>(7)?,
                r.get::<_, Option<String>>(8)?,
                r.get::<_, String>(9)?,
            ))
        })?;
        let mut out = Vec::new();
        for r in rows {
            let (id, kind, recipient, subject, state, attempts, last_error, created_at, sent_at, next) = r?;
            out.push(NoticeRow {
                id: stored_id(&id)?,
                kind: Kind::parse(&kind).ok_or_else(|| ServiceError::internal("unknown notice kind"))?,
                recipient,
                subject,
                state,
                attempts,
                last_error,
                created_at,
                sent_at,
                next_attempt_at: next,
            });
        }
        Ok(out)
    })
}

/// How many notices are in each state.
pub fn counts(s: &AppState) -> ServiceResult<Vec<(String, i64)>> {
    s.db.read(|tx| {
        let mut stmt =
            tx.prepare("SELECT state, COUNT(*) FROM notices GROUP BY state ORDER BY state")?;
        let rows = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    })
}

/// The kinds the caller can receive and whether each is on.
pub fn preferences(s: &AppState, caller: &Caller) -> ServiceResult<Vec<(Kind, bool)>> {
    let optout: String = s.db.read(|tx| {
        Ok(tx.query_row(
            "SELECT notice_optout FROM users WHERE id = ?1",
            [caller.user_id.to_string()],
            |r| r.get(0),
        )?)
    })?;
    Ok(KINDS
        .into_iter()
        .filter(|k| k.for_role(caller.role))
        .map(|k| (k, !optout.split(',').any(|o| o == k.key())))
        .collect())
}

/// Sets which kinds the caller receives (those in `on`; the rest are off).
pub fn set_preferences(s: &AppState, caller: &Caller, on: &[Kind]) -> ServiceResult<()> {
    let off: Vec<&str> = KINDS
        .into_iter()
        .filter(|k| k.for_role(caller.role) && !on.contains(k))
        .map(Kind::key)
        .collect();
    s.db.write(|tx| {
        tx.execute(
            "UPDATE users SET notice_optout = ?2 WHERE id = ?1",
            params![caller.user_id.to_string(), off.join(",")],
        )?;
        Ok(())
    })
}

/// A notice to send: id, address, subject, text, link and attempts so far.
pub type DueNotice = (Uuid, String, String, String, String, i64);

/// Notices due to be sent now: queued, and their next attempt due.
pub fn due(s: &AppState, now: DateTime<Utc>, limit: usize) -> ServiceResult<Vec<DueNotice>> {
    let now = now.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    s.db.read(|tx| {
        let mut stmt = tx.prepare_cached(
            "SELECT id, to_address, subject, body, link, attempts FROM notices WHERE state = 'queued' AND next_attempt_at <= ?1 ORDER BY next_attempt_at LIMIT ?2",
        )?;
        let rows = stmt
            .query_map(params![now, limit as i64], |r| {
                Ok((r.get::<_, String>(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?))
            })?
            .collect::<Result<Vec<_>, _>>()?;
        rows.into_iter()
            .map(|(id, to, subject, body, link, attempts)| Ok((stored_id(&id)?, to, subject, body, link, attempts)))
            .collect()
    })
}

/// The most attempts before a notice is marked failed.
pub const MAX_ATTEMPTS: i64 = 8;

/// How long to wait after `attempts` failed attempts: `base` (30 s unless configured),
/// doubling with each, at most an hour.
pub fn backoff(base: std::time::Duration, attempts: i64) -> chrono::Duration {
    let base = i64::try_from(base.as_millis()).unwrap_or(30_000).max(1);
    let millis = base.saturating_mul(1 << (attempts - 1).clamp(0, 12));
    chrono::Duration::milliseconds(millis.min(3_600_000))
}

/// Records the outcome of an attempt to send a notice.
pub fn record_attempt(
    s: &AppState,
    id: Uuid,
    attempts: i64,
    outcome: Result<(), String>,
) -> ServiceResult<()> {
    s.db.write(|tx| {
        let now = Utc::now();
        match outcome {
            Ok(()) => tx.execute(
                "UPDATE notices SET state = 'sent', attempts = ?2, sent_at = ?3, last_error = NULL WHERE id = ?1",
                params![id.to_string(), attempts, now_text()],
            )?,
            Err(why) if attempts >= MAX_ATTEMPTS => tx.execute(
                "UPDATE notices SET state = 'failed', attempts = ?2, last_error = ?3 WHERE id = ?1",
                params![id.to_string(), attempts, why],
            )?,
            Err(why) => tx.execute(
                "UPDATE notices SET attempts = ?2, last_error = ?3, next_attempt_at = ?4 WHERE id = ?1",
                params![
                    id.to_string(),
                    attempts,
                    why,
                    (now + backoff(s.config.notice_retry_base, attempts)).to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
                ],
            )?,
        };
        Ok(())
    })
}

/// Sends a failed notice again (commissioners), from a fresh count of attempts.
pub fn retry(s: &AppState, caller: &Caller, id: Uuid) -> ServiceResult<()> {
    caller.require(&[Role::Commissioner])?;
    s.db.write(|tx| {
        let n = tx.execute(
            "UPDATE notices SET state = 'queued', attempts = 0, next_attempt_at = ?2 WHERE id = ?1 AND state = 'failed'",
            params![id.to_string(), now_text()],
        )?;
        if n == 0 {
            return Err(ServiceError::not_found("failed notice"));
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_back_off_doubling_up_to_an_hour() {
        let base = std::time::Duration::from_secs(30);
        assert_eq!(backoff(base, 1), chrono::Duration::seconds(30));
        assert_eq!(backoff(base, 2), chrono::Duration::seconds(60));
        assert_eq!(backoff(base, 4), chrono::Duration::seconds(240));
        assert_eq!(backoff(base, 9), chrono::Duration::seconds(3600));
    }
}
