//! Records retention: what the schedule (`accredit_shared::retention`) says has expired, what is
//! kept anyway and why, and the job that removes the rest.
//!
//! A visit's records (its Automerge document with every chunk and sync state, its revisions'
//! notes, evidence and photos, comments, action responses and closed appeals) expire the
//! schedule's `visit_records` after its latest publication, or `unpublished_visits` after the
//! document's last change if it was never published. An expired visit is kept whole while an open
//! appeal names it, or while a payment line of a period not yet issued rests on a determination
//! that used it. A removed visit leaves a tombstone (id, location, publication day, removal day,
//! rule version) and the scores and action dates of its published revisions, nothing else, so
//! every tier computed afterwards is the same as before. Each removal is one transaction with
//! its audit entry (ids and counts only). Stored determinations and issued payment runs go after
//! their own (longer) periods, except each location's latest determination and the latest run.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use accredit_shared::Engine;
use accredit_shared::calendar::{DateRange, add_days, london_date, month_period};
use accredit_shared::premium::compute_schedule;
use accredit_shared::retention::{RetentionRule, RetentionRules};
use accredit_shared::visit::{Author, CriterionResult, VisitAction, VisitSnapshot};
use anyhow::Context;
use chrono::{Datelike, NaiveDate};
use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;
use serde_json::json;
use uuid::Uuid;

use crate::audit::{self, Entry};
use crate::auth::{Caller, Role};
use crate::db::{stored_date, stored_id};
use crate::error::{ServiceError, ServiceResult};
use crate::service::appeals;
use crate::state::AppState;
use crate::tiers;

/// How far ahead the page looks for records coming due.
pub const LOOK_AHEAD_DAYS: i64 = 90;

/// Reads the schedule: `ACCREDIT_RETENTION_RULES` (a file) if set, else `retention.toml` in the
/// assets directory. A schedule that does not validate stops the server from starting.
pub fn load_rules(assets: &Path) -> anyhow::Result<RetentionRules> {
    let path = std::env::var_os("ACCREDIT_RETENTION_RULES")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| assets.join("retention.toml"));
    let text =
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    RetentionRules::from_toml(&text).with_context(|| format!("loading {}", path.display()))
}

/// Adds each version of the shipped schedule the database does not hold yet (by version), then
/// reads every stored version back as the schedule in force. A stored version is never changed
/// by the file: tombstones and audit entries name it.
pub fn seed_rules(tx: &Connection, shipped: &RetentionRules) -> ServiceResult<RetentionRules> {
    for r in &shipped.rules {
        tx.execute(
            "INSERT INTO retention_rules (version, effective_from, data, created_at) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (version) DO NOTHING",
            params![
                r.version,
                r.effective_from.to_string(),
                serde_json::to_string(r)?,
                crate::state::now_text()
            ],
        )?;
    }
    stored_rules(tx)
}

/// Every stored version, validated as a whole.
pub fn stored_rules(tx: &Connection) -> ServiceResult<RetentionRules> {
    let mut stmt = tx.prepare("SELECT data FROM retention_rules ORDER BY effective_from")?;
    let rows: Vec<String> = stmt
        .query_map([], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    let rules = rows
        .iter()
        .map(|d| serde_json::from_str::<RetentionRule>(d))
        .collect::<Result<Vec<_>, _>>()?;
    RetentionRules::new(rules)
        .map_err(|e| ServiceError::internal(format!("stored retention rules: {e}")))
}

/// A commissioner adds a version of the schedule, written as one `[[rules]]` table in TOML. It
/// takes effect tomorrow at the earliest: what was removed cannot come back, so no version
/// applies to the past. Each problem is named with its field. Returns the version added.
pub fn add_rule(state: &AppState, caller: &Caller, text: &str) -> ServiceResult<RetentionRule> {
    caller.require(&[Role::Commissioner])?;
    let parsed =
        RetentionRules::from_toml(text).map_err(|e| ServiceError::invalid(e.to_string()))?;
    let [rule] = <[RetentionRule; 1]>::try_from(parsed.rules)
        .map_err(|_| ServiceError::invalid("write exactly one version: one [[rules]] table"))?;
    let today = state.today();
    if rule.effective_from <= today {
        return Err(ServiceError::invalid(format!(
            "rules[0].effective_from: a new version takes effect after today ({today}); records already removed cannot come back"
        )));
    }
    let added = rule.clone();
    let rules = state.db.write(|tx| {
        let current = stored_rules(tx)?;
        current
            .with(rule.clone())
            .map_err(|e| ServiceError::invalid(e.to_string()))?;
        tx.execute(
            "INSERT INTO retention_rules (version, effective_from, data, created_by, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![
                rule.version,
                rule.effective_from.to_string(),
                serde_json::to_string(&rule)?,
                caller.user_id.to_string(),
                crate::state::now_text()
            ],
        )?;
        audit::record(
            tx,
            Some(caller),
            Entry {
                action: "retention_rule.added",
                subject_type: "retention_rule",
                subject_id: Some(rule.version.clone()),
                location_id: None,
                details: json!({ "effective_from": rule.effective_from.to_string() }),
            },
        )?;
        stored_rules(tx)
    })?;
    state.install_retention(rules);
    Ok(added)
}

/// What a visit's retention is counted from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Basis {
    /// Its latest publication.
    Published,
    /// Never published: the document's last change.
    LastChanged,
}

/// One visit's place in the schedule.
#[derive(Clone, Debug, Serialize)]
pub struct Item {
    /// The visit (and its document).
    pub visit_id: Uuid,
    /// Its location.
    pub location_id: Uuid,
    /// The location's name.
    pub location_name: String,
    /// What the period is counted from.
    pub basis: Basis,
    /// The day it is counted from.
    pub counted_from: NaiveDate,
    /// The day it may be removed from.
    pub expires_on: NaiveDate,
    /// Why an expired visit is kept, if it is.
    pub kept_because: Option<String>,
}

/// A visit removed under the schedule.
#[derive(Clone, Debug, Serialize)]
pub struct Removed {
    /// The visit.
    pub visit_id: Uuid,
    /// Its location.
    pub location_id: Uuid,
    /// The location's name.
    pub location_name: String,
    /// Its latest publication, if it was published.
    pub published_on: Option<String>,
    /// The day it was removed.
    pub removed_on: String,
    /// The schedule version that removed it.
    pub rule_version: String,
}

/// What the schedule says today: for the page, the API and the job.
#[derive(Clone, Debug, Serialize)]
pub struct RetentionView {
    /// The day it was worked out for.
    pub today: NaiveDate,
    /// The version in force today, if any.
    pub rule: Option<RetentionRule>,
    /// Every version.
    pub rules: Vec<RetentionRule>,
    /// Expired and not kept: the job removes these.
    pub due: Vec<Item>,
    /// Expired but kept, each with its reason.
    pub kept: Vec<Item>,
    /// Expiring within the next [`LOOK_AHEAD_DAYS`] days.
    pub upcoming: Vec<Item>,
    /// Removed so far, newest first.
    pub removed: Vec<Removed>,
    /// The payment periods not yet issued that the check covered (`YYYY-MM`).
    pub unissued_periods: Vec<String>,
    /// Stored determinations past their retention (each location's latest, the one in force,
    /// is always kept).
    pub determinations_due: usize,
    /// Issued payment runs past their retention, counted from the period's last day (the latest
    /// issued run is always kept: it marks which periods are issued).
    pub payment_runs_due: Vec<String>,
}

struct Candidate {
    visit_id: Uuid,
    location_id: Uuid,
    location_name: String,
    basis: Basis,
    counted_from: NaiveDate,
}

fn candidates(tx: &Connection, only: Option<Uuid>) -> ServiceResult<Vec<Candidate>> {
    let mut stmt = tx.prepare(
        "SELECT d.id, d.location_id, l.name, d.updated_at,
                (SELECT max(r.published_on) FROM visit_revisions r WHERE r.visit_id = d.id AND r.published_on IS NOT NULL)
         FROM documents d JOIN locations l ON l.id = d.location_id
         WHERE ?1 IS NULL OR d.id = ?1
         ORDER BY d.id",
    )?;
    let rows: Vec<(String, String, String, String, Option<String>)> = stmt
        .query_map(params![only.map(|o| o.to_string())], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
        })?
        .collect::<Result<_, _>>()?;
    rows.into_iter()
        .map(|(id, loc, name, updated, published)| {
            let (basis, counted_from) = match published {
                Some(p) => (Basis::Published, stored_date(&p)?),
                None => {
                    let at = chrono::DateTime::parse_from_rfc3339(&updated).map_err(|e| {
                        ServiceError::internal(format!("stored documents.updated_at: {e}"))
                    })?;
                    (Basis::LastChanged, london_date(at.to_utc()))
                }
            };
            Ok(Candidate {
                visit_id: stored_id(&id)?,
                location_id: stored_id(&loc)?,
                location_name: name,
                basis,
                counted_from,
            })
        })
        .collect()
}

fn month_of(day: NaiveDate) -> ServiceResult<DateRange> {
    month_period(day.year(), day.month())
        .ok_or_else(|| ServiceError::internal(format!("no month for {day}")))
}

/// The payment periods not yet issued that a kept visit could still be paid under: every month
/// after the latest issued one (a council issues months in order) up to the current month, or
/// the month after the latest issued one if that is later; with nothing issued yet, every month
/// from the month of the earliest publication at these locations.
fn unissued_periods(
    tx: &Connection,
    today: NaiveDate,
    earliest: Option<NaiveDate>,
) -> ServiceResult<Vec<DateRange>> {
    let latest: Option<String> = tx
        .query_row("SELECT max(period) FROM payment_runs", [], |r| r.get(0))
        .optional()?
        .flatten();
    let current = month_of(today)?;
    let first = match latest {
        Some(label) => {
            let issued = crate::service::payments::parse_period(&label)?;
            month_of(add_days(issued.to, 1))?
        }
        None => match earliest {
            Some(day) => month_of(day)?,
            None => return Ok(Vec::new()),
        },
    };
    let last = if first.from > current.from {
        first
    } else {
        current
    };
    let mut out = Vec::new();
    let mut m = first;
    while m.from <= last.from {
        out.push(m);
        m = month_of(add_days(m.to, 1))?;
    }
    Ok(out)
}

/// The visits that payment lines of unissued periods at `locations` rest on, each with the first
/// such period (`YYYY-MM`), computed with the function that computes the lines themselves.
fn payment_dependencies(
    state: &AppState,
    tx: &Connection,
    periods: &[DateRange],
    locations: &[Uuid],
) -> ServiceResult<HashMap<Uuid, String>> {
    let mut records = Vec::new();
    let mut placements = Vec::new();
    for id in locations {
        if let Some(r) = tiers::records(tx, *id)? {
            records.push(r);
            placements.extend(tiers::placements(tx, *id)?);
        }
    }
    let rules = state.rules();
    let engine = Engine::new(&state.packs, &rules);
    let mut out = HashMap::new();
    for period in periods {
        let schedule = compute_schedule(&engine, &records, &placements, *period);
        for covered in &schedule.determinations {
            if let Some(v) = &covered.determination.visit {
                out.entry(v.visit_id)
                    .or_insert_with(|| period.month_label().unwrap_or_default());
            }
        }
    }
    Ok(out)
}

/// Why an expired visit must be kept, if it must.
fn kept_because(
    tx: &Connection,
    c: &Candidate,
    depends: &HashMap<Uuid, String>,
) -> ServiceResult<Option<String>> {
    if appeals::open_on(tx, c.visit_id)?.is_some() {
        return Ok(Some("an open appeal names this visit".to_owned()));
    }
    if let Some(period) = depends.get(&c.visit_id) {
        return Ok(Some(format!(
            "payment lines for {period}, not yet issued, rest on a determination that used this visit"
        )));
    }
    Ok(None)
}

fn period_of(rule: &RetentionRule, basis: Basis) -> accredit_shared::retention::Period {
    match basis {
        Basis::Published => rule.visit_records,
        Basis::LastChanged => rule.unpublished_visits,
    }
}

/// Works out the schedule on `today` without changing anything.
pub fn assess(state: &AppState, tx: &Connection, today: NaiveDate) -> ServiceResult<RetentionView> {
    let rule = state.retention().in_force(today).cloned();
    let mut due = Vec::new();
    let mut kept = Vec::new();
    let mut upcoming = Vec::new();
    let mut periods = Vec::new();
    if let Some(rule) = &rule {
        let all = candidates(tx, None)?;
        let horizon = add_days(today, LOOK_AHEAD_DAYS);
        let mut expired = Vec::new();
        for c in all {
            let expires_on = period_of(rule, c.basis).after(c.counted_from);
            if expires_on <= today {
                expired.push((c, expires_on));
            } else if expires_on <= horizon {
                upcoming.push(item(&c, expires_on, None));
            }
        }
        let mut locations: Vec<Uuid> = expired.iter().map(|(c, _)| c.location_id).collect();
        locations.sort();
        locations.dedup();
        let earliest = expired
            .iter()
            .filter(|(c, _)| c.basis == Basis::Published)
            .map(|(c, _)| c.counted_from)
            .min();
        periods = unissued_periods(tx, today, earliest)?;
        let depends = if locations.is_empty() {
            HashMap::new()
        } else {
            payment_dependencies(state, tx, &periods, &locations)?
        };
        for (c, expires_on) in expired {
            match kept_because(tx, &c, &depends)? {
                Some(why) => kept.push(item(&c, expires_on, Some(why))),
                None => due.push(item(&c, expires_on, None)),
            }
        }
    }
    let (determinations_due, payment_runs_due) = match &rule {
        Some(rule) => (
            determinations_due(tx, rule, today)?,
            payment_runs_due(tx, rule, today)?,
        ),
        None => (0, Vec::new()),
    };
    upcoming.sort_by_key(|i| (i.expires_on, i.visit_id));
    due.sort_by_key(|i| (i.expires_on, i.visit_id));
    kept.sort_by_key(|i| (i.expires_on, i.visit_id));
    Ok(RetentionView {
        today,
        rule,
        rules: state.retention().rules.clone(),
        due,
        kept,
        upcoming,
        removed: removed(tx)?,
        unissued_periods: periods.iter().filter_map(|p| p.month_label()).collect(),
        determinations_due,
        payment_runs_due,
    })
}

/// Stored determinations past retention, but never a location's latest.
const OLD_DETERMINATIONS: &str = "FROM determinations WHERE day <= ?1
     AND seq < (SELECT max(d.seq) FROM determinations d WHERE d.location_id = determinations.location_id)";

fn determinations_due(
    tx: &Connection,
    rule: &RetentionRule,
    today: NaiveDate,
) -> ServiceResult<usize> {
    let cutoff = rule.determinations.expired_by(today).to_string();
    let n: i64 = tx.query_row(
        &format!("SELECT count(*) {OLD_DETERMINATIONS}"),
        [cutoff],
        |r| r.get(0),
    )?;
    usize::try_from(n).map_err(|e| ServiceError::internal(format!("count: {e}")))
}

fn payment_runs_due(
    tx: &Connection,
    rule: &RetentionRule,
    today: NaiveDate,
) -> ServiceResult<Vec<String>> {
    let cutoff = rule.payment_runs.expired_by(today);
    let mut stmt = tx.prepare("SELECT period FROM payment_runs ORDER BY period")?;
    let mut periods: Vec<String> = stmt
        .query_map([], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    periods.pop();
    let mut due = Vec::new();
    for label in periods {
        let range = crate::service::payments::parse_period(&label)?;
        if range.to <= cutoff {
            due.push(label);
        }
    }
    Ok(due)
}

/// Removes stored determinations and issued payment runs past retention, in one transaction
/// with an audit entry for each location's determinations and for each run.
fn remove_decisions(
    tx: &Connection,
    rule: &RetentionRule,
    today: NaiveDate,
) -> ServiceResult<(usize, usize)> {
    let cutoff = rule.determinations.expired_by(today).to_string();
    let per_location: Vec<(String, i64)> = {
        let mut stmt = tx.prepare(&format!(
            "SELECT location_id, count(*) {OLD_DETERMINATIONS} GROUP BY location_id ORDER BY location_id"
        ))?;
        stmt.query_map([&cutoff], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<Result<_, _>>()?
    };
    let removed = tx.execute(&format!("DELETE {OLD_DETERMINATIONS}"), [&cutoff])?;
    for (location, count) in per_location {
        audit::record(
            tx,
            None,
            Entry {
                action: "retention.removed",
                subject_type: "determinations",
                subject_id: None,
                location_id: Some(stored_id(&location)?),
                details: json!({ "rule_version": rule.version, "determined_on_or_before": cutoff, "count": count }),
            },
        )?;
    }
    let runs = payment_runs_due(tx, rule, today)?;
    for period in &runs {
        tx.execute("DELETE FROM payment_runs WHERE period = ?1", [period])?;
        audit::record(
            tx,
            None,
            Entry {
                action: "retention.removed",
                subject_type: "payment_run",
                subject_id: Some(period.clone()),
                location_id: None,
                details: json!({ "rule_version": rule.version }),
            },
        )?;
    }
    Ok((removed, runs.len()))
}

fn item(c: &Candidate, expires_on: NaiveDate, kept_because: Option<String>) -> Item {
    Item {
        visit_id: c.visit_id,
        location_id: c.location_id,
        location_name: c.location_name.clone(),
        basis: c.basis,
        counted_from: c.counted_from,
        expires_on,
        kept_because,
    }
}

fn removed(tx: &Connection) -> ServiceResult<Vec<Removed>> {
    let mut stmt = tx.prepare(
        "SELECT t.visit_id, t.location_id, l.name, t.published_on, t.removed_on, t.rule_version
         FROM retention_tombstones t JOIN locations l ON l.id = t.location_id
         ORDER BY t.removed_on DESC, t.visit_id",
    )?;
    let rows: Vec<(String, String, String, Option<String>, String, String)> = stmt
        .query_map([], |r| r.try_into())?
        .collect::<Result<_, _>>()?;
    rows.into_iter()
        .map(|(v, l, name, published_on, removed_on, rule_version)| {
            Ok(Removed {
                visit_id: stored_id(&v)?,
                location_id: stored_id(&l)?,
                location_name: name,
                published_on,
                removed_on,
                rule_version,
            })
        })
        .collect()
}

/// The page and `GET /api/v1/retention`: commissioners only.
pub fn view(state: &AppState, caller: &Caller) -> ServiceResult<RetentionView> {
    caller.require(&[Role::Commissioner])?;
    let today = state.today();
    state.db.read(|tx| assess(state, tx, today))
}

/// A removed visit's tombstone, as pages that name the visit show it.
#[derive(Clone, Debug, Serialize)]
pub struct Tombstone {
    /// The location it was at.
    pub location_id: Uuid,
    /// Its latest publication.
    pub published_on: Option<String>,
    /// The day it was removed.
    pub removed_on: String,
    /// The schedule version that removed it.
    pub rule_version: String,
}

impl Tombstone {
    /// The sentence pages show where the visit was.
    pub fn sentence(&self) -> String {
        format!(
            "removed under retention rule {} on {}",
            self.rule_version, self.removed_on
        )
    }
}

/// The tombstone of a removed visit, if it was removed.
pub fn tombstone(tx: &Connection, visit: Uuid) -> ServiceResult<Option<Tombstone>> {
    let row: Option<(String, Option<String>, String, String)> = tx
        .query_row(
            "SELECT location_id, published_on, removed_on, rule_version FROM retention_tombstones WHERE visit_id = ?1",
            [visit.to_string()],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .optional()?;
    row.map(|(l, published_on, removed_on, rule_version)| {
        Ok(Tombstone {
            location_id: stored_id(&l)?,
            published_on,
            removed_on,
            rule_version,
        })
    })
    .transpose()
}

/// The not-found error for a visit the caller may know was removed, or plain not-found.
pub fn not_found_visit(tx: &Connection, caller: &Caller, visit: Uuid) -> ServiceError {
    match tombstone(tx, visit) {
        // Providers never saw a visit that was not published, so they are not told of one.
        Ok(Some(t)) if caller.role == Role::Provider && t.published_on.is_none() => {
            ServiceError::not_found("visit")
        }
        Ok(Some(t)) => match crate::access::may_see_location(tx, caller, t.location_id) {
            Ok(true) => ServiceError::not_found(&format!("visit: its record was {}", t.sentence())),
            Ok(false) => ServiceError::not_found("visit"),
            Err(e) => e,
        },
        Ok(None) => ServiceError::not_found("visit"),
        Err(e) => e,
    }
}

/// A published revision reduced to what determinations read: the header, the visit's end, the
/// answers (no notes) and each action's priority, due day, status and completion (no
/// description, owner or criterion). The record is taken apart field by field, with no `..`, so
/// a field added to it later (as signatures and marks on photos were) does not compile here
/// until someone decides whether it is kept.
fn scores_only(record: &str) -> ServiceResult<String> {
    let VisitSnapshot {
        header,
        created_by,
        ended_at,
        officers: _,
        results,
        evidence: _,
        photos: _,
        actions,
        resolutions: _,
        signoff: _,
        migrations: _,
        signatures: _,
        annotations: _,
    } = serde_json::from_str(record)?;
    let results = results
        .into_iter()
        .map(|(id, CriterionResult { answer, notes: _ })| {
            (
                id,
                CriterionResult {
                    answer,
                    notes: String::new(),
                },
            )
        })
        .collect();
    let actions = actions
        .into_iter()
        .map(|(id, a)| {
            let VisitAction {
                criterion: _,
                priority,
                description: _,
                owner: _,
                due_on,
                status,
                completed_on,
            } = a;
            (
                id,
                VisitAction {
                    criterion: None,
                    priority,
                    description: String::new(),
                    owner: String::new(),
                    due_on,
                    status,
                    completed_on,
                },
            )
        })
        .collect();
    let stripped = VisitSnapshot {
        header,
        created_by: Author {
            user_id: created_by.user_id,
            name: String::new(),
        },
        ended_at,
        officers: BTreeMap::new(),
        results,
        evidence: BTreeMap::new(),
        photos: BTreeMap::new(),
        actions,
        resolutions: BTreeMap::new(),
        signoff: None,
        migrations: BTreeMap::new(),
        signatures: BTreeMap::new(),
        annotations: BTreeMap::new(),
    };
    Ok(serde_json::to_string(&stripped)?)
}

/// What one removal did.
#[derive(Clone, Debug, Serialize)]
pub struct Removal {
    /// The visit.
    pub visit_id: Uuid,
    /// Photo and file blobs removed (nothing kept refers to them).
    pub blobs_removed: Vec<String>,
}

/// Removes one expired visit in the caller's transaction, after checking again (inside it) that
/// it has expired and nothing keeps it. Returns `None` if it no longer may be removed.
fn remove_visit(
    state: &AppState,
    tx: &Connection,
    rule: &RetentionRule,
    visit: Uuid,
    today: NaiveDate,
) -> ServiceResult<Option<Removal>> {
    let Some(c) = candidates(tx, Some(visit))?.into_iter().next() else {
        return Ok(None);
    };
    if period_of(rule, c.basis).after(c.counted_from) > today {
        return Ok(None);
    }
    let published_on = (c.basis == Basis::Published).then_some(c.counted_from);
    let periods = unissued_periods(tx, today, published_on)?;
    let depends = payment_dependencies(state, tx, &periods, &[c.location_id])?;
    if kept_because(tx, &c, &depends)?.is_some() {
        return Ok(None);
    }
    let id = visit.to_string();
    let mut hashes: Vec<String> = {
        let mut stmt = tx.prepare(
            "SELECT hash FROM doc_photos WHERE doc_id = ?1
             UNION SELECT hash FROM revision_photos WHERE visit_id = ?1
             UNION SELECT f.hash FROM response_files f JOIN action_responses a ON a.id = f.response_id WHERE a.visit_id = ?1",
        )?;
        stmt.query_map([&id], |r| r.get(0))?
            .collect::<Result<_, _>>()?
    };
    hashes.sort();
    let revisions: Vec<(u32, String, String)> = {
        let mut stmt = tx.prepare(
            "SELECT revision, published_on, record FROM visit_revisions WHERE visit_id = ?1 AND published_on IS NOT NULL ORDER BY revision",
        )?;
        stmt.query_map([&id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
            .collect::<Result<_, _>>()?
    };
    tx.execute(
        "INSERT INTO retention_tombstones (visit_id, location_id, published_on, removed_on, rule_version)
         VALUES (?1, ?2, ?3, ?4, ?5)",
        params![
            id,
            c.location_id.to_string(),
            published_on.map(|d| d.to_string()),
            today.to_string(),
            rule.version
        ],
    )?;
    for (revision, on, record) in &revisions {
        tx.execute(
            "INSERT INTO retention_results (visit_id, revision, published_on, record) VALUES (?1, ?2, ?3, ?4)",
            params![id, revision, on, scores_only(record)?],
        )?;
    }
    let mut counts = BTreeMap::new();
    for (what, sql) in [
        (
            "response_files",
            "DELETE FROM response_files WHERE response_id IN (SELECT id FROM action_responses WHERE visit_id = ?1)",
        ),
        (
            "action_responses",
            "DELETE FROM action_responses WHERE visit_id = ?1",
        ),
        ("comments", "DELETE FROM visit_comments WHERE visit_id = ?1"),
        (
            "appeals",
            "DELETE FROM appeals WHERE visit_id = ?1 AND status <> 'open'",
        ),
        (
            "revision_photos",
            "DELETE FROM revision_photos WHERE visit_id = ?1",
        ),
        (
            "revisions",
            "DELETE FROM visit_revisions WHERE visit_id = ?1",
        ),
        ("visit", "DELETE FROM visits WHERE id = ?1"),
        ("doc_photos", "DELETE FROM doc_photos WHERE doc_id = ?1"),
        ("chunks", "DELETE FROM doc_chunks WHERE doc_id = ?1"),
        ("sync_states", "DELETE FROM sync_states WHERE doc_id = ?1"),
        ("document", "DELETE FROM documents WHERE id = ?1"),
    ] {
        counts.insert(what, tx.execute(sql, [&id])?);
    }
    let mut blobs_removed = Vec::new();
    for hash in hashes {
        let referenced = tx
            .query_row(
                "SELECT 1 FROM doc_photos WHERE hash = ?1
                 UNION ALL SELECT 1 FROM revision_photos WHERE hash = ?1
                 UNION ALL SELECT 1 FROM response_files WHERE hash = ?1 LIMIT 1",
                [&hash],
                |_| Ok(()),
            )
            .optional()?
            .is_some();
        if !referenced && tx.execute("DELETE FROM blobs WHERE hash = ?1", [&hash])? > 0 {
            blobs_removed.push(hash);
        }
    }
    audit::record(
        tx,
        None,
        Entry {
            action: "retention.removed",
            subject_type: "visit",
            subject_id: Some(id),
            location_id: Some(c.location_id),
            details: json!({
                "rule_version": rule.version,
                "basis": c.basis,
                "counted_from": c.counted_from.to_string(),
                "removed": counts,
                "blobs": blobs_removed.len(),
            }),
        },
    )?;
    Ok(Some(Removal {
        visit_id: visit,
        blobs_removed,
    }))
}

/// What a run of the job did (or, dry, would do).
#[derive(Clone, Debug, Serialize)]
pub struct RunReport {
    /// Whether nothing was changed.
    pub dry_run: bool,
    /// The schedule as it stood before the run.
    pub before: RetentionView,
    /// Visits removed (none in a dry run).
    pub removed: Vec<Removal>,
    /// Stored determinations removed.
    pub determinations_removed: usize,
    /// Issued payment runs removed.
    pub payment_runs_removed: usize,
}

/// Runs the job on `today`: every due visit removed in its own transaction, then its blob files
/// deleted. A dry run only assesses. The first failure stops the run and is returned; what was
/// removed before it stays removed (each removal is whole).
pub fn run(state: &AppState, today: NaiveDate, dry_run: bool) -> ServiceResult<RunReport> {
    let before = state.db.read(|tx| assess(state, tx, today))?;
    let mut report = RunReport {
        dry_run,
        before,
        removed: Vec::new(),
        determinations_removed: 0,
        payment_runs_removed: 0,
    };
    if dry_run {
        return Ok(report);
    }
    let Some(rule) = report.before.rule.clone() else {
        return Ok(report);
    };
    let due: Vec<Uuid> = report.before.due.iter().map(|i| i.visit_id).collect();
    for visit in due {
        let Some(removal) = state
            .db
            .write(|tx| remove_visit(state, tx, &rule, visit, today))?
        else {
            continue;
        };
        if let Ok(mut cache) = state.doc_cache.lock() {
            cache.remove(&visit);
        }
        for hash in &removal.blobs_removed {
            match std::fs::remove_file(crate::blobs::path_of(state, hash)) {
                Ok(()) => {}
                // Already gone: the row said it was there, but the outcome is the one wanted.
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => {
                    return Err(ServiceError::internal(format!(
                        "removing blob {hash} of visit {visit}: {e}"
                    )));
                }
            }
        }
        report.removed.push(removal);
    }
    // After the visits: a determination may name a removed visit (its tombstone answers for it),
    // never the other way round, since determinations are kept at least as long.
    let (determinations, runs) = state.db.write(|tx| remove_decisions(tx, &rule, today))?;
    report.determinations_removed = determinations;
    report.payment_runs_removed = runs;
    Ok(report)
}

/// The scheduled job: once a night at 02:00 UTC (before the working day in London), applying
/// the schedule to the London date then.
pub async fn nightly(state: AppState) {
    loop {
        let now = chrono::Utc::now();
        let slot = |day: NaiveDate| day.and_hms_opt(2, 0, 0).map(|t| t.and_utc());
        let next = match slot(now.date_naive()) {
            Some(t) if t > now => Some(t),
            _ => slot(now.date_naive() + chrono::TimeDelta::days(1)),
        };
        let wait = next
            .and_then(|t| (t - now).to_std().ok())
            .unwrap_or(std::time::Duration::from_secs(24 * 3600));
        tokio::time::sleep(wait).await;
        let result = state.blocking(|s| run(s, s.today(), false)).await;
        match result {
            Ok(r) => tracing::info!(
                removed = r.removed.len(),
                kept = r.before.kept.len(),
                "records retention ran"
            ),
            Err(e) => tracing::error!(error = %e, "records retention failed"),
        }
    }
}

#[cfg(test)]
mod tests {
    use accredit_shared::FrameworkPack;
    use accredit_shared::records::{Answer, Priority, VisitType};
    use accredit_shared::visit::points::Point;
    use accredit_shared::visit::{
        ActionDraft, EvidenceDraft, EvidenceKind, SignatureDraft, VisitDoc, VisitHeader,
    };

    use super::*;

    #[test]
    fn a_reduced_record_keeps_what_tiers_read_and_nothing_written_about_people() {
        let pack = FrameworkPack::from_toml(include_str!(
            "../../../assets/frameworks/cqc-quality-statements.toml"
        ))
        .unwrap();
        let author = Author {
            user_id: Uuid::new_v4(),
            name: "Mo Patel".into(),
        };
        let header = VisitHeader {
            visit_id: Uuid::new_v4(),
            location_id: Uuid::new_v4(),
            pack_id: pack.id.clone(),
            pack_version: pack.version.clone(),
            visit_type: VisitType::Annual,
            announced: true,
            started_at: chrono::Utc::now(),
            plan_id: None,
        };
        let mut doc = VisitDoc::create(&header, &pack, author).unwrap();
        let criteria: Vec<String> = pack.criteria().map(|c| c.id.clone()).collect();
        for c in &criteria {
            doc.set_answer(&pack, c, Some(Answer::Score(3))).unwrap();
        }
        doc.set_notes(&pack, &criteria[0], "Mrs Smith in room 4 was not turned")
            .unwrap();
        doc.add_evidence(
            &pack,
            &EvidenceDraft {
                criterion: Some(criteria[0].clone()),
                kind: EvidenceKind::ResidentInterview,
                text: "Spoke to Mrs Smith".into(),
                photo: None,
            },
        )
        .unwrap();
        doc.add_action(
            &pack,
            &ActionDraft {
                criterion: Some(criteria[1].clone()),
                priority: Priority::High,
                description: "Review Mrs Smith's care plan".into(),
                owner: "Jane the manager".into(),
                due_on: Some(chrono::NaiveDate::from_ymd_opt(2026, 1, 31).unwrap()),
            },
        )
        .unwrap();
        doc.add_signature(
            &SignatureDraft {
                name: "Jane Doe".into(),
                role: "Manager".into(),
                width: 100,
                height: 50,
                strokes: vec![vec![Point { x: 1, y: 1 }, Point { x: 20, y: 30 }]],
            },
            chrono::Utc::now(),
        )
        .unwrap();
        let full = doc.snapshot().unwrap();
        let reduced: VisitSnapshot =
            serde_json::from_str(&scores_only(&serde_json::to_string(&full).unwrap()).unwrap())
                .unwrap();
        let day = full.visited_on();
        assert_eq!(reduced.to_published(1, day), full.to_published(1, day));
        let text = serde_json::to_string(&reduced).unwrap();
        for personal in ["Smith", "Jane", "Mo Patel", "care plan"] {
            assert!(!text.contains(personal), "{personal} kept: {text}");
        }
        assert!(reduced.signatures.is_empty() && reduced.evidence.is_empty());
        let (kept, was) = (
            reduced.actions.values().next().unwrap(),
            full.actions.values().next().unwrap(),
        );
        assert_eq!(
            (kept.priority, kept.due_on, kept.status, kept.completed_on),
            (was.priority, was.due_on, was.status, was.completed_on)
        );
    }
}
