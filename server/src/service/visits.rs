//! A visit's life after sign-off: revisions, sharing with the provider, the factual-accuracy
//! window with its comments, and publication, which feeds tiers.
//!
//! A sign-off fixes revision 1 as the document at the signed heads. Edits that arrive later never
//! change it: they become a pending revision that a lead accepts or rejects. Publishing marks the
//! current accepted revision published; earlier published revisions stay in force for the days
//! before.

use accredit_shared::calendar::add_days;
use accredit_shared::visit::{VisitDoc, VisitSnapshot, heads_from_strings, heads_to_strings};
use automerge::AutoCommit;
use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;
use serde_json::json;
use uuid::Uuid;

use crate::audit::{self, Entry};
use crate::auth::{Caller, Role};
use crate::db::stored_id;
use crate::error::ServiceError;
use crate::state::{AppState, now_text};
use crate::tiers;

pub use accredit_shared::api::{CommentView, RevisionView, VisitDetail, VisitState, VisitStatus};

/// Reads a visit's state. A stored id or status that does not read is an error, never a default.
pub fn visit_state(tx: &Connection, id: Uuid) -> Result<Option<VisitState>, ServiceError> {
    let row = tx
        .query_row(
            "SELECT location_id, status, current_revision, shared_on, window_closes_on, provider_confirmed_at, published_on
             FROM visits WHERE id = ?1",
            [id.to_string()],
            |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    VisitState {
                        id,
                        location_id: Uuid::nil(),
                        status: VisitStatus::SignedOff,
                        current_revision: r.get(2)?,
                        shared_on: r.get(3)?,
                        window_closes_on: r.get(4)?,
                        provider_confirmed_at: r.get(5)?,
                        published_on: r.get(6)?,
                    },
                ))
            },
        )
        .optional()?;
    let Some((location, status, state)) = row else {
        return Ok(None);
    };
    Ok(Some(VisitState {
        location_id: stored_id(&location)?,
        status: VisitStatus::parse(&status)
            .ok_or_else(|| ServiceError::internal(format!("stored visit status {status:?}")))?,
        ..state
    }))
}

/// Called after a sync changed a document: records a sign-off as revision 1, or later edits to a
/// signed-off visit as a pending revision. Returns a rejection reason if the change is refused.
pub fn after_change(
    tx: &Connection,
    caller: &Caller,
    id: Uuid,
    doc: &mut AutoCommit,
    snapshot: &VisitSnapshot,
) -> Result<Option<String>, ServiceError> {
    let Some(signoff) = &snapshot.signoff else {
        return Ok(None);
    };
    let existing = visit_state(tx, id)?;
    if existing.is_none() {
        if signoff.by.user_id != caller.user_id {
            return Ok(Some(
                "a sign-off must arrive from the signer's own device".into(),
            ));
        }
        let Some(heads) = heads_from_strings(&signoff.heads) else {
            return Ok(Some("the sign-off's heads are not change hashes".into()));
        };
        let signed = match VisitDoc::read_automerge(doc, Some(&heads)) {
            Ok(s) => s,
            Err(e) => return Ok(Some(format!("the signed record cannot be read: {e}"))),
        };
        if !VisitDoc::conflicts_of(doc, Some(&heads))
            .map(|c| c.is_empty())
            .unwrap_or(false)
        {
            return Ok(Some(
                "a visit cannot be signed off with unresolved conflicts".into(),
            ));
        }
        let record = VisitSnapshot {
            signoff: Some(signoff.clone()),
            ..signed
        };
        tx.execute(
            "INSERT INTO visits (id, location_id, status, current_revision) VALUES (?1, ?2, 'signed_off', 1)",
            params![id.to_string(), snapshot.header.location_id.to_string()],
        )?;
        insert_revision(
            tx,
            id,
            1,
            &signoff.heads,
            &record,
            &signoff.by.user_id,
            &signoff.at.to_rfc3339(),
            "accepted",
        )?;
        audit::record(
            tx,
            Some(caller),
            Entry {
                action: "visit.signed_off",
                subject_type: "visit",
                subject_id: Some(id.to_string()),
                location_id: Some(snapshot.header.location_id),
                details: json!({ "revision": 1 }),
            },
        )?;
        return Ok(None);
    }
    // Already signed off: anything beyond the latest revision is a newer revision to review.
    let (latest, latest_state, latest_record): (u32, String, String) = tx.query_row(
        "SELECT revision, state, record FROM visit_revisions WHERE visit_id = ?1 ORDER BY revision DESC LIMIT 1",
        [id.to_string()],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
    )?;
    let latest_record: VisitSnapshot = serde_json::from_str(&latest_record)?;
    if snapshot.same_record_as(&latest_record) {
        return Ok(None);
    }
    let heads = heads_to_strings(&doc.get_heads());
    if latest_state == "pending" {
        tx.execute(
            "UPDATE visit_revisions SET heads = ?3, record = ?4 WHERE visit_id = ?1 AND revision = ?2",
            params![id.to_string(), latest, heads.join(","), serde_json::to_string(snapshot)?],
        )?;
    } else {
        insert_revision(
            tx,
            id,
            latest + 1,
            &heads,
            snapshot,
            &caller.user_id,
            &now_text(),
            "pending",
        )?;
        audit::record(
            tx,
            Some(caller),
            Entry {
                action: "visit.revision_received",
                subject_type: "visit",
                subject_id: Some(id.to_string()),
                location_id: Some(snapshot.header.location_id),
                details: json!({ "revision": latest + 1 }),
            },
        )?;
    }
    Ok(None)
}

#[allow(clippy::too_many_arguments)]
fn insert_revision(
    tx: &Connection,
    id: Uuid,
    revision: u32,
    heads: &[String],
    record: &VisitSnapshot,
    signed_by: &Uuid,
    signed_at: &str,
    state: &str,
) -> Result<(), ServiceError> {
    tx.execute(
        "INSERT INTO visit_revisions (visit_id, revision, heads, record, signed_by, signed_at, state, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![
            id.to_string(),
            revision,
            heads.join(","),
            serde_json::to_string(record)?,
            signed_by.to_string(),
            signed_at,
            state,
            now_text()
        ],
    )?;
    let mut stmt = tx.prepare_cached(
        "INSERT OR IGNORE INTO revision_photos (visit_id, revision, hash) VALUES (?1, ?2, ?3)",
    )?;
    for h in record.photo_hashes() {
        stmt.execute(params![id.to_string(), revision, h])?;
    }
    Ok(())
}

/// Every revision of a visit, oldest first.
pub fn revisions(tx: &Connection, id: Uuid) -> Result<Vec<RevisionView>, ServiceError> {
    let mut stmt = tx.prepare(
        "SELECT revision, state, signed_by, signed_at, heads, published_on, record FROM visit_revisions WHERE visit_id = ?1 ORDER BY revision",
    )?;
    let rows = stmt
        .query_map([id.to_string()], |r| {
            Ok((
                r.get::<_, u32>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, String>(4)?,
                r.get::<_, Option<String>>(5)?,
                r.get::<_, String>(6)?,
            ))
        })?
        .collect::<Result<Vec<_>, _>>()?;
    rows.into_iter()
        .map(
            |(revision, state, signed_by, signed_at, heads, published_on, record)| {
                Ok(RevisionView {
                    revision,
                    state,
                    signed_by,
                    signed_at,
                    heads: heads
                        .split(',')
                        .filter(|h| !h.is_empty())
                        .map(str::to_owned)
                        .collect(),
                    published_on,
                    record: serde_json::from_str(&record)?,
                })
            },
        )
        .collect()
}

/// The record of a given revision.
pub fn revision_record(
    tx: &Connection,
    id: Uuid,
    revision: u32,
) -> Result<VisitSnapshot, ServiceError> {
    let record: String = tx.query_row(
        "SELECT record FROM visit_revisions WHERE visit_id = ?1 AND revision = ?2",
        params![id.to_string(), revision],
        |r| r.get(0),
    )?;
    Ok(serde_json::from_str(&record)?)
}

/// Finds a visit the caller may see, or 404. Providers see only shared or published visits of
/// their own locations.
pub fn require_visit(
    tx: &Connection,
    caller: &Caller,
    id: Uuid,
) -> Result<VisitState, ServiceError> {
    let Some(state) = visit_state(tx, id)? else {
        // A visit removed under the retention schedule says so to those who may see its location.
        return Err(crate::service::retention::not_found_visit(tx, caller, id));
    };
    let visible = crate::access::may_see_location(tx, caller, state.location_id)?
        && (caller.role != Role::Provider || state.status != VisitStatus::SignedOff);
    if visible {
        Ok(state)
    } else {
        Err(ServiceError::not_found("visit"))
    }
}

fn audit_visit(
    tx: &Connection,
    caller: &Caller,
    action: &str,
    v: &VisitState,
    details: serde_json::Value,
) -> Result<(), ServiceError> {
    audit::record(
        tx,
        Some(caller),
        Entry {
            action,
            subject_type: "visit",
            subject_id: Some(v.id.to_string()),
            location_id: Some(v.location_id),
            details,
        },
    )
}

/// A lead shares a signed-off visit with its provider, opening the factual-accuracy window.
pub fn share(
    state: &AppState,
    tx: &Connection,
    caller: &Caller,
    id: Uuid,
) -> Result<VisitState, ServiceError> {
    caller.require(&[Role::Lead])?;
    let v = require_visit(tx, caller, id)?;
    if v.status != VisitStatus::SignedOff {
        return Err(ServiceError::conflict(format!(
            "the visit is {}, not signed off",
            v.status.as_str().replace('_', " ")
        )));
    }
    if has_pending(tx, id)? {
        return Err(ServiceError::conflict(
            "a newer revision is waiting: accept or reject it first",
        ));
    }
    let today = state.today();
    let closes = add_days(today, state.config.factual_accuracy_days);
    tx.execute(
        "UPDATE visits SET status = 'shared', shared_on = ?2, window_closes_on = ?3, provider_confirmed_at = NULL WHERE id = ?1",
        params![id.to_string(), today.to_string(), closes.to_string()],
    )?;
    audit_visit(
        tx,
        caller,
        "visit.shared",
        &v,
        json!({ "revision": v.current_revision, "window_closes_on": closes }),
    )?;
    crate::service::notices::report_shared(tx, id, v.location_id, closes)?;
    visit_state(tx, id)?.ok_or_else(|| ServiceError::not_found("visit"))
}

fn has_pending(tx: &Connection, id: Uuid) -> Result<bool, ServiceError> {
    Ok(pending_revision(tx, id)?.is_some())
}

/// Whether the provider may still comment: shared, not confirmed, and the window not closed.
pub fn window_open(state: &AppState, v: &VisitState) -> bool {
    v.status == VisitStatus::Shared
        && v.provider_confirmed_at.is_none()
        && v.window_closes_on
            .as_deref()
            .and_then(|d| d.parse::<chrono::NaiveDate>().ok())
            .is_some_and(|closes| state.today() <= closes)
}

/// A provider comments on a shared visit during the factual-accuracy window.
pub fn comment(
    state: &AppState,
    tx: &Connection,
    caller: &Caller,
    id: Uuid,
    criterion: Option<&str>,
    body: &str,
) -> Result<Uuid, ServiceError> {
    caller.require(&[Role::Provider, Role::Lead])?;
    let v = require_visit(tx, caller, id)?;
    if caller.role == Role::Provider && !window_open(state, &v) {
        return Err(ServiceError::conflict(
            "the factual-accuracy window is not open for this visit",
        ));
    }
    let body = body.trim();
    if body.is_empty() || body.len() > 10_000 {
        return Err(ServiceError::invalid(
            "a comment needs between 1 and 10,000 characters",
        ));
    }
    if let Some(c) = criterion {
        let record = revision_record(tx, id, v.current_revision)?;
        if !record.results.contains_key(c) {
            return Err(ServiceError::invalid(format!(
                "criterion {c:?} is not part of this visit"
            )));
        }
    }
    let comment_id = Uuid::new_v4();
    tx.execute(
        "INSERT INTO visit_comments (id, visit_id, revision, criterion, author_id, body, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![comment_id.to_string(), id.to_string(), v.current_revision, criterion, caller.user_id.to_string(), body, now_text()],
    )?;
    audit_visit(
        tx,
        caller,
        "visit.commented",
        &v,
        json!({ "comment": comment_id, "criterion": criterion }),
    )?;
    Ok(comment_id)
}

/// The provider says they have no further comments, closing the window early.
pub fn confirm_factual_accuracy(
    state: &AppState,
    tx: &Connection,
    caller: &Caller,
    id: Uuid,
) -> Result<VisitState, ServiceError> {
    caller.require(&[Role::Provider])?;
    let v = require_visit(tx, caller, id)?;
    if !window_open(state, &v) {
        return Err(ServiceError::conflict(
            "the factual-accuracy window is not open for this visit",
        ));
    }
    tx.execute(
        "UPDATE visits SET provider_confirmed_at = ?2 WHERE id = ?1",
        params![id.to_string(), now_text()],
    )?;
    audit_visit(
        tx,
        caller,
        "visit.factual_accuracy_confirmed",
        &v,
        json!({}),
    )?;
    visit_state(tx, id)?.ok_or_else(|| ServiceError::not_found("visit"))
}

/// A lead or commissioner publishes a shared visit once the window has closed (or the provider
/// confirmed). The caller re-determines the location's tier in the same transaction.
pub fn publish(
    state: &AppState,
    tx: &Connection,
    caller: &Caller,
    id: Uuid,
) -> Result<Published, ServiceError> {
    caller.require(&[Role::Lead, Role::Commissioner])?;
    let v = require_visit(tx, caller, id)?;
    if v.status != VisitStatus::Shared {
        return Err(ServiceError::conflict(format!(
            "only a shared visit can be published; this one is {}",
            v.status.as_str().replace('_', " ")
        )));
    }
    if window_open(state, &v) {
        return Err(ServiceError::conflict(format!(
            "the provider's factual-accuracy window is open until {}",
            v.window_closes_on.as_deref().unwrap_or("?")
        )));
    }
    let today = state.today().to_string();
    tx.execute(
        "UPDATE visit_revisions SET published_on = ?3 WHERE visit_id = ?1 AND revision = ?2",
        params![id.to_string(), v.current_revision, today],
    )?;
    tx.execute(
        "UPDATE visits SET status = 'published', published_on = ?2 WHERE id = ?1",
        params![id.to_string(), today],
    )?;
    audit_visit(
        tx,
        caller,
        "visit.published",
        &v,
        json!({ "revision": v.current_revision }),
    )?;
    crate::service::notices::report_published(tx, id, v.location_id)?;
    // Publication is what feeds tiers: the location is re-determined in the same transaction.
    let determination = tiers::redetermine(
        state,
        &state.rules(),
        tx,
        &[v.location_id],
        "visit published",
    )?
    .into_iter()
    .next();
    let visit = visit_state(tx, id)?.ok_or_else(|| ServiceError::not_found("visit"))?;
    Ok(Published {
        visit,
        determination,
    })
}

/// A published visit and the determination publishing it made.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Published {
    /// Where the visit stands now.
    pub visit: VisitState,
    /// The location's tier after publication.
    pub determination: Option<accredit_shared::Determination>,
}

/// A lead accepts or rejects a pending revision. Accepting makes it the revision in review, to be
/// shared and published again; the published one stays in force meanwhile.
pub fn decide_revision(
    tx: &Connection,
    caller: &Caller,
    id: Uuid,
    revision: u32,
    accept: bool,
) -> Result<VisitState, ServiceError> {
    caller.require(&[Role::Lead])?;
    let v = require_visit(tx, caller, id)?;
    let current: Option<String> = tx
        .query_row(
            "SELECT state FROM visit_revisions WHERE visit_id = ?1 AND revision = ?2",
            params![id.to_string(), revision],
            |r| r.get(0),
        )
        .optional()?;
    match current.as_deref() {
        None => return Err(ServiceError::not_found("revision")),
        Some("pending") => {}
        Some(other) => {
            return Err(ServiceError::conflict(format!(
                "revision {revision} is already {other}"
            )));
        }
    }
    let new_state = if accept { "accepted" } else { "rejected" };
    tx.execute(
        "UPDATE visit_revisions SET state = ?3, decided_by = ?4, decided_at = ?5 WHERE visit_id = ?1 AND revision = ?2",
        params![id.to_string(), revision, new_state, caller.user_id.to_string(), now_text()],
    )?;
    if accept {
        tx.execute(
            "UPDATE visits SET status = 'signed_off', current_revision = ?2, shared_on = NULL, window_closes_on = NULL, provider_confirmed_at = NULL WHERE id = ?1",
            params![id.to_string(), revision],
        )?;
    }
    audit_visit(
        tx,
        caller,
        if accept {
            "visit.revision_accepted"
        } else {
            "visit.revision_rejected"
        },
        &v,
        json!({ "revision": revision }),
    )?;
    visit_state(tx, id)?.ok_or_else(|| ServiceError::not_found("visit"))
}

/// Comments on a visit, oldest first.
pub fn comments(tx: &Connection, id: Uuid) -> Result<Vec<CommentView>, ServiceError> {
    let mut stmt = tx.prepare(
        "SELECT c.id, c.revision, c.criterion, u.display_name, c.body, c.created_at FROM visit_comments c JOIN users u ON u.id = c.author_id
         WHERE c.visit_id = ?1 ORDER BY c.created_at, c.id",
    )?;
    let rows = stmt
        .query_map([id.to_string()], |r| {
            Ok(CommentView {
                id: r.get(0)?,
                revision: r.get(1)?,
                criterion: r.get(2)?,
                author: r.get(3)?,
                body: r.get(4)?,
                created_at: r.get(5)?,
            })
        })?
        .collect::<Result<_, _>>()?;
    Ok(rows)
}

/// Where the provider's comments on one part of a report stand. There is no separate "answered"
/// flag: a lead's comment on the same part, made after the provider's latest, counts as the
/// answer, since that is how a lead answers in the portal.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProviderThread {
    /// The criterion, or `None` for the report as a whole.
    pub criterion: Option<String>,
    /// How many comments the provider made on it.
    pub count: usize,
    /// The provider's latest comment on it.
    pub latest: CommentView,
    /// When a lead last commented on the same part after the provider's latest comment.
    pub answered_at: Option<String>,
}

/// The provider's comments on a visit, one thread per part of the report, oldest latest comment
/// first; unanswered ones are those with no `answered_at`.
pub fn provider_threads(tx: &Connection, id: Uuid) -> Result<Vec<ProviderThread>, ServiceError> {
    // rowid breaks ties between comments written in the same millisecond, in the order written.
    let mut stmt = tx.prepare(
        "SELECT c.id, c.revision, c.criterion, u.display_name, c.body, c.created_at, u.role FROM visit_comments c JOIN users u ON u.id = c.author_id
         WHERE c.visit_id = ?1 ORDER BY c.created_at, c.rowid",
    )?;
    let rows = stmt
        .query_map([id.to_string()], |r| {
            Ok((
                CommentView {
                    id: r.get(0)?,
                    revision: r.get(1)?,
                    criterion: r.get(2)?,
                    author: r.get(3)?,
                    body: r.get(4)?,
                    created_at: r.get(5)?,
                },
                r.get::<_, String>(6)? == "provider",
            ))
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(threads_of(rows))
}

/// Threads from comments in the order written, each marked whether a provider wrote it.
fn threads_of(comments: Vec<(CommentView, bool)>) -> Vec<ProviderThread> {
    let mut threads: Vec<ProviderThread> = Vec::new();
    for (c, by_provider) in comments {
        let at = threads.iter().position(|t| t.criterion == c.criterion);
        match (at, by_provider) {
            (Some(i), true) => {
                let t = &mut threads[i];
                t.count += 1;
                t.answered_at = None;
                t.latest = c;
            }
            (None, true) => threads.push(ProviderThread {
                criterion: c.criterion.clone(),
                count: 1,
                latest: c,
                answered_at: None,
            }),
            (Some(i), false) => threads[i].answered_at = Some(c.created_at),
            // A lead's comment on a part the provider has not commented on answers nothing.
            (None, false) => {}
        }
    }
    threads.sort_by(|a, b| a.latest.created_at.cmp(&b.latest.created_at));
    threads
}

/// The pending revision of a visit, if later edits are waiting for a lead's decision.
pub fn pending_revision(tx: &Connection, id: Uuid) -> Result<Option<u32>, ServiceError> {
    Ok(tx
        .query_row(
            "SELECT revision FROM visit_revisions WHERE visit_id = ?1 AND state = 'pending'",
            [id.to_string()],
            |r| r.get(0),
        )
        .optional()?)
}

/// What sharing a visit means for its provider, for the lead's confirmation and the message
/// after it.
#[derive(Clone, Debug)]
pub struct ShareDetails {
    /// The visit.
    pub visit: VisitState,
    /// The location's name.
    pub location: String,
    /// The provider's name.
    pub provider: String,
    /// The day of the visit.
    pub visited_on: chrono::NaiveDate,
    /// The kind of visit, in words.
    pub visit_type: &'static str,
    /// The last day the provider can comment: the window's end once shared, or where it would
    /// end if shared today.
    pub comments_until: chrono::NaiveDate,
    /// Why it cannot be shared now, if it cannot.
    pub blocked: Option<String>,
}

/// The details a lead confirms before sharing a visit (and reads after).
pub fn share_details(
    state: &AppState,
    tx: &Connection,
    caller: &Caller,
    id: Uuid,
) -> Result<ShareDetails, ServiceError> {
    caller.require(&[Role::Lead])?;
    let v = require_visit(tx, caller, id)?;
    let record = revision_record(tx, id, v.current_revision)?;
    let (location, _) =
        tiers::location(tx, v.location_id)?.ok_or_else(|| ServiceError::not_found("visit"))?;
    let provider = crate::service::locations::provider_names(tx)?
        .remove(&location.provider_id)
        .ok_or_else(|| ServiceError::internal("a location's provider is missing"))?;
    let comments_until = match &v.window_closes_on {
        Some(d) => crate::db::stored_date(d)?,
        None => add_days(state.today(), state.config.factual_accuracy_days),
    };
    let blocked = if v.status != VisitStatus::SignedOff {
        Some(format!(
            "This report is already {}.",
            match v.status {
                VisitStatus::Shared => "shared with the provider",
                _ => "published",
            }
        ))
    } else if pending_revision(tx, id)?.is_some() {
        Some("Later edits to this visit are waiting: accept or reject them first.".to_owned())
    } else {
        None
    };
    Ok(ShareDetails {
        location: location.name,
        provider,
        visited_on: record.visited_on(),
        visit_type: record.header.visit_type.label(),
        comments_until,
        blocked,
        visit: v,
    })
}

/// What anyone may read of a published visit on the public register: when it was, its scores and
/// the tier it led to. Never notes, evidence, photos, comments, actions or anything about
/// residents or the people who visited.
#[derive(Clone, Debug)]
pub struct PublicSummary {
    /// The visit.
    pub visit_id: Uuid,
    /// Its location.
    pub location_id: Uuid,
    /// The location's name.
    pub location: String,
    /// Its address.
    pub address: String,
    /// Its provider's name.
    pub provider: String,
    /// The kind of visit, in words.
    pub visit_type: &'static str,
    /// The day of the visit.
    pub visited_on: chrono::NaiveDate,
    /// The day the published report took effect.
    pub published_on: chrono::NaiveDate,
    /// Each domain's title and score.
    pub domains: Vec<(String, Option<accredit_shared::ratio::Ratio>)>,
    /// The overall score.
    pub overall: Option<accredit_shared::ratio::Ratio>,
    /// Criteria scored, of all the framework's criteria.
    pub scored: (u32, u32),
    /// The tier from the day it took effect (`None`: no tier).
    pub tier: Option<String>,
    /// Whether the scores alone would have reached a different tier (another record, such as a
    /// CQC rating, limited it).
    pub limited: bool,
    /// Whether a later report of the location has been published since.
    pub superseded: bool,
}

/// The public summary of a visit's published report. A visit with no published revision is a
/// 404, as if it did not exist; a later revision still in review is never shown, only the
/// latest published one.
pub fn public_summary(
    state: &AppState,
    tx: &Connection,
    id: Uuid,
) -> Result<PublicSummary, ServiceError> {
    let missing = || ServiceError::not_found("report");
    let v = visit_state(tx, id)?.ok_or_else(missing)?;
    let records = tiers::records(tx, v.location_id)?.ok_or_else(missing)?;
    let published = records
        .visits
        .iter()
        .filter(|p| p.visit_id == id)
        .max_by_key(|p| p.revision)
        .ok_or_else(missing)?;
    let (location, address) = tiers::location(tx, v.location_id)?.ok_or_else(missing)?;
    let provider = crate::service::locations::provider_names(tx)?
        .remove(&location.provider_id)
        .ok_or_else(|| ServiceError::internal("a location's provider is missing"))?;
    let book = state.rules();
    let (domains, overall, scored) = match (
        state.packs.get(&published.pack_id, &published.pack_version),
        book.in_force(published.visited_on),
    ) {
        (Some(pack), Some(rules)) => {
            let s = accredit_shared::scoring::score(pack, &published.answers, &rules.scoring);
            (
                s.domains
                    .iter()
                    .map(|d| (d.title.clone(), d.percent))
                    .collect(),
                s.overall,
                (s.scored, s.criteria),
            )
        }
        _ => (Vec::new(), None, (0, 0)),
    };
    let engine = accredit_shared::Engine::new(&state.packs, &book);
    let det = engine.determine(&records, published.effective_on);
    Ok(PublicSummary {
        visit_id: id,
        location_id: v.location_id,
        location: location.name,
        address,
        provider,
        visit_type: published.visit_type.label(),
        visited_on: published.visited_on,
        published_on: published.effective_on,
        domains,
        overall,
        scored,
        tier: det.tier.as_ref().map(|t| t.name.clone()),
        limited: det.quality_tier.as_ref().map(|t| &t.name) != det.tier.as_ref().map(|t| &t.name),
        superseded: records
            .visits
            .iter()
            .any(|p| p.visit_id != id && p.effective_on > published.effective_on),
    })
}

/// What publishing a visit would do, for the check a lead or commissioner reads before
/// confirming: the tier and premium before and after, the placements they are paid for, and the
/// provider's comments with whether each was answered.
#[derive(Clone, Debug)]
pub struct PublishPreview {
    /// The location's name.
    pub location: String,
    /// The day of the visit.
    pub visited_on: chrono::NaiveDate,
    /// The tier today.
    pub tier_now: Option<String>,
    /// The tier after publishing.
    pub tier_after: Option<String>,
    /// Weekly premium per placement today, and where it stands (paid, on hold, no tier…).
    pub weekly_now: (i64, accredit_shared::determination::PremiumStatus),
    /// Weekly premium per placement after publishing, and where it would stand.
    pub weekly_after: (i64, accredit_shared::determination::PremiumStatus),
    /// Today's placements as the payment schedule counts them.
    pub placements: crate::service::payments::PlacementCount,
    /// The provider's comments, by part of the report.
    pub threads: Vec<ProviderThread>,
    /// The prompt of each criterion the threads name.
    pub prompts: std::collections::BTreeMap<String, String>,
}

/// Works out what publishing would change, without changing anything.
pub fn publish_preview(
    state: &AppState,
    tx: &Connection,
    caller: &Caller,
    id: Uuid,
) -> Result<PublishPreview, ServiceError> {
    caller.require(&[Role::Lead, Role::Commissioner])?;
    let v = require_visit(tx, caller, id)?;
    let record = revision_record(tx, id, v.current_revision)?;
    let mut records =
        tiers::records(tx, v.location_id)?.ok_or_else(|| ServiceError::not_found("location"))?;
    let today = state.today();
    let book = state.rules();
    let engine = accredit_shared::Engine::new(&state.packs, &book);
    let now = engine.determine(&records, today);
    let placements = crate::service::payments::placements_on(
        &engine,
        &records,
        &tiers::placements(tx, v.location_id)?,
        today,
    );
    records.visits.retain(|p| p.visit_id != id);
    records
        .visits
        .push(record.to_published(v.current_revision, today));
    let after = engine.determine(&records, today);
    let threads = provider_threads(tx, id)?;
    let prompts = state
        .packs
        .get(&record.header.pack_id, &record.header.pack_version)
        .map(|pack| {
            pack.domains
                .iter()
                .flat_map(|d| &d.standards)
                .flat_map(|s| &s.criteria)
                .filter(|c| {
                    threads
                        .iter()
                        .any(|t| t.criterion.as_deref() == Some(&c.id))
                })
                .map(|c| (c.id.clone(), c.prompt.clone()))
                .collect()
        })
        .unwrap_or_default();
    Ok(PublishPreview {
        location: records.location.name.clone(),
        visited_on: record.visited_on(),
        tier_now: now.tier.map(|t| t.name),
        tier_after: after.tier.map(|t| t.name),
        weekly_now: (now.rate.weekly.0, now.status),
        weekly_after: (after.rate.weekly.0, after.status),
        placements,
        threads,
        prompts,
    })
}

/// A provider responds to an action of a shared or published visit.
pub fn respond_to_action(
    tx: &Connection,
    caller: &Caller,
    id: Uuid,
    action: Uuid,
    body: &str,
    files: &[AttachedFile],
) -> Result<Uuid, ServiceError> {
    caller.require(&[Role::Provider])?;
    let v = require_visit(tx, caller, id)?;
    let record = revision_record(tx, id, v.current_revision)?;
    if !record.actions.contains_key(&action) {
        return Err(ServiceError::not_found("action"));
    }
    let body = body.trim();
    if body.is_empty() || body.len() > 10_000 {
        return Err(ServiceError::invalid(
            "a response needs between 1 and 10,000 characters",
        ));
    }
    let rid = Uuid::new_v4();
    tx.execute(
        "INSERT INTO action_responses (id, visit_id, action_id, author_id, body, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![rid.to_string(), id.to_string(), action.to_string(), caller.user_id.to_string(), body, now_text()],
    )?;
    for f in files {
        tx.execute(
            "INSERT OR IGNORE INTO response_files (response_id, hash, name, media_type, size) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![rid.to_string(), f.hash, f.name, f.media_type, f.size as i64],
        )?;
    }
    audit_visit(
        tx,
        caller,
        "action.responded",
        &v,
        json!({ "action": action, "files": files.len() }),
    )?;
    Ok(rid)
}

/// A file attached to a response, already stored as a blob.
#[derive(Clone, Debug, Serialize)]
pub struct AttachedFile {
    /// Its BLAKE3 hash (the blob's name).
    pub hash: String,
    /// The name it was uploaded with, cleaned for display.
    pub name: String,
    /// Its media type, from its bytes.
    pub media_type: String,
    /// Its size in bytes.
    pub size: u64,
}

/// The files of a visit's responses, by response id.
pub fn response_files(
    tx: &Connection,
    id: Uuid,
) -> Result<std::collections::BTreeMap<String, Vec<AttachedFile>>, ServiceError> {
    let mut stmt = tx.prepare(
        "SELECT f.response_id, f.hash, f.name, f.media_type, f.size FROM response_files f JOIN action_responses r ON r.id = f.response_id
         WHERE r.visit_id = ?1 ORDER BY f.name",
    )?;
    let rows = stmt
        .query_map([id.to_string()], |r| {
            Ok((
                r.get::<_, String>(0)?,
                AttachedFile {
                    hash: r.get(1)?,
                    name: r.get(2)?,
                    media_type: r.get(3)?,
                    size: r.get::<_, i64>(4)? as u64,
                },
            ))
        })?
        .collect::<Result<Vec<_>, _>>()?;
    let mut out: std::collections::BTreeMap<String, Vec<AttachedFile>> = Default::default();
    for (rid, f) in rows {
        out.entry(rid).or_default().push(f);
    }
    Ok(out)
}

/// A file attached to one of the visit's responses, if it is one.
pub fn response_file(
    tx: &Connection,
    id: Uuid,
    hash: &str,
) -> Result<Option<AttachedFile>, ServiceError> {
    Ok(response_files(tx, id)?
        .into_values()
        .flatten()
        .find(|f| f.hash == hash))
}

/// A provider's response to an action.
#[derive(Serialize)]
pub struct ResponseView {
    /// Its id.
    pub id: String,
    /// The action it answers.
    pub action_id: String,
    /// Who wrote it.
    pub author: String,
    /// What they wrote.
    pub body: String,
    /// When.
    pub created_at: String,
}

/// Responses to a visit's actions, oldest first.
pub fn action_responses(tx: &Connection, id: Uuid) -> Result<Vec<ResponseView>, ServiceError> {
    let mut stmt = tx.prepare(
        "SELECT r.id, r.action_id, u.display_name, r.body, r.created_at FROM action_responses r JOIN users u ON u.id = r.author_id
         WHERE r.visit_id = ?1 ORDER BY r.created_at, r.id",
    )?;
    let rows = stmt
        .query_map([id.to_string()], |r| {
            Ok(ResponseView {
                id: r.get(0)?,
                action_id: r.get(1)?,
                author: r.get(2)?,
                body: r.get(3)?,
                created_at: r.get(4)?,
            })
        })?
        .collect::<Result<_, _>>()?;
    Ok(rows)
}

/// The visits the caller may see, at one location or all their locations. Providers see only
/// what was shared with them.
pub fn list(
    tx: &Connection,
    caller: &Caller,
    location: Option<Uuid>,
) -> Result<Vec<accredit_shared::api::VisitListItem>, ServiceError> {
    let locations = match location {
        Some(l) => {
            crate::access::require_location(tx, caller, l)?;
            vec![l]
        }
        None => crate::access::visible_locations(tx, caller)?,
    };
    let mut out = Vec::new();
    for l in locations {
        let ids = crate::db::query_ids(
            tx,
            "SELECT id FROM visits WHERE location_id = ?1",
            [l.to_string()],
        )?;
        for id in ids {
            let v = visit_state(tx, id)?
                .ok_or_else(|| ServiceError::internal("a listed visit vanished"))?;
            if caller.role == Role::Provider && v.status == VisitStatus::SignedOff {
                continue;
            }
            let record = revision_record(tx, id, v.current_revision)?;
            out.push(accredit_shared::api::VisitListItem {
                visited_on: record.visited_on(),
                visit_type: record.header.visit_type,
                visit: v,
            });
        }
    }
    Ok(out)
}

/// A visit in full, as the caller may see it: its state, the record in review, its revisions
/// (providers: only the shared and published ones) and the comments.
pub fn detail(tx: &Connection, caller: &Caller, id: Uuid) -> Result<VisitDetail, ServiceError> {
    let v = require_visit(tx, caller, id)?;
    let mut revisions = revisions(tx, id)?;
    if caller.role == Role::Provider {
        // Providers see what was shared with them, not drafts of later revisions.
        revisions.retain(|r| r.revision == v.current_revision || r.published_on.is_some());
    }
    let record = revision_record(tx, id, v.current_revision)?;
    let comments = comments(tx, id)?;
    Ok(VisitDetail {
        visit: v,
        record,
        revisions,
        comments,
    })
}

/// The conflicts in a visit's document now (monitors on their caseload, leads, commissioners).
pub fn conflicts(
    tx: &Connection,
    caller: &Caller,
    id: Uuid,
) -> Result<Vec<accredit_shared::visit::Conflict>, ServiceError> {
    caller.require(&[Role::Monitor, Role::Lead, Role::Commissioner])?;
    let row = crate::docstore::row(tx, id)?.ok_or_else(|| ServiceError::not_found("visit"))?;
    crate::access::require_location(tx, caller, row.location_id)?;
    let doc = crate::docstore::load(tx, id)?.ok_or_else(|| ServiceError::not_found("visit"))?;
    VisitDoc::conflicts_of(&doc, None).map_err(|e| ServiceError::internal(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn comment(n: u32, criterion: Option<&str>) -> CommentView {
        CommentView {
            id: format!("c{n}"),
            revision: 1,
            criterion: criterion.map(str::to_owned),
            author: "someone".into(),
            body: format!("comment {n}"),
            created_at: format!("2026-11-0{n}T10:00:00.000Z"),
        }
    }

    #[test]
    fn a_lead_comment_after_the_providers_latest_answers_it() {
        let threads = threads_of(vec![
            (comment(1, Some("safe.a")), true),
            (comment(2, Some("safe.a")), false),
            (comment(3, None), true),
            // A lead's comment on a part the provider never commented on answers nothing.
            (comment(4, Some("safe.b")), false),
        ]);
        assert_eq!(threads.len(), 2);
        assert_eq!(threads[0].criterion.as_deref(), Some("safe.a"));
        assert_eq!(
            threads[0].answered_at.as_deref(),
            Some("2026-11-02T10:00:00.000Z")
        );
        assert_eq!(threads[1].criterion, None);
        assert_eq!(threads[1].answered_at, None);
    }

    #[test]
    fn the_provider_writing_again_reopens_the_thread() {
        let threads = threads_of(vec![
            (comment(1, Some("safe.a")), true),
            (comment(2, Some("safe.a")), false),
            (comment(3, Some("safe.a")), true),
        ]);
        assert_eq!(threads.len(), 1);
        assert_eq!(threads[0].count, 2);
        assert_eq!(threads[0].latest.body, "comment 3");
        assert_eq!(threads[0].answered_at, None);
    }
}
