//! Commissioners' records: CQC ratings, gates, qualifications, placements and rule sets. Each
//! service function checks the caller, validates the request (the one place each rule lives, so
//! the API and the portal cannot disagree), stores the record, audits it and re-determines the
//! tiers it affects, all in one transaction that it owns.

use accredit_shared::api::{
    CloseGateRequest, CqcRequest, GateRequest, QualificationRequest, RuleSetSource, TierEffect,
};
use accredit_shared::labels::long_date;
use accredit_shared::records::*;
use accredit_shared::whatif::{WhatIf, compare};
use accredit_shared::{Engine, RuleBook, RuleSet};
use chrono::NaiveDate;
use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;
use serde_json::json;
use uuid::Uuid;

use crate::audit::{self, Entry};
use crate::auth::{Caller, Role};
use crate::db::stored_date;
use crate::error::{ServiceError, ServiceResult};
use crate::state::{AppState, now_text};
use crate::tiers;

/// A rule a request broke, with the request field it concerns, so a form can show the message
/// at its field and the API can send it as a sentence.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refusal {
    /// The request field (`published_on`, `certificate_ref`, …).
    pub field: &'static str,
    /// What is wrong, as a sentence.
    pub message: String,
}

impl Refusal {
    pub(crate) fn new(field: &'static str, message: impl Into<String>) -> Refusal {
        Refusal {
            field,
            message: message.into(),
        }
    }
}

/// The first refusal as the error a service returns.
pub(crate) fn refuse(refusals: Vec<Refusal>) -> ServiceResult<()> {
    match refusals.into_iter().next() {
        Some(r) => Err(ServiceError::invalid(r.message)),
        None => Ok(()),
    }
}

/// A stored record and the tiers it left.
#[derive(Clone, Debug, Serialize)]
pub struct RecordChange<T> {
    /// The record's id.
    pub id: Uuid,
    /// The record as stored.
    pub record: T,
    /// The tier of each location it affected, after the change.
    pub effects: Vec<TierEffect>,
}

fn require_location_exists(tx: &Connection, id: Uuid) -> ServiceResult<Location> {
    tiers::location(tx, id)?
        .map(|(l, _)| l)
        .ok_or_else(|| ServiceError::not_found("location"))
}

/// Stores a record, audits it and re-determines the affected locations.
struct Save<'a, T> {
    table: &'static str,
    key_column: &'static str,
    id: Uuid,
    key: Uuid,
    record: T,
    action: &'static str,
    affected: &'a [Uuid],
}

fn save<T: Serialize>(
    state: &AppState,
    tx: &Connection,
    caller: &Caller,
    s: Save<'_, T>,
) -> ServiceResult<RecordChange<T>> {
    tx.execute(
        &format!(
            "INSERT INTO {} (id, {}, data) VALUES (?1, ?2, ?3) ON CONFLICT (id) DO UPDATE SET data = excluded.data",
            s.table, s.key_column
        ),
        params![s.id.to_string(), s.key.to_string(), serde_json::to_string(&s.record)?],
    )?;
    audit::record(
        tx,
        Some(caller),
        Entry {
            action: s.action,
            subject_type: s.table,
            subject_id: Some(s.id.to_string()),
            location_id: (s.affected.len() == 1).then(|| s.affected[0]),
            details: json!({ "affected_locations": s.affected }),
        },
    )?;
    let book = state.rules();
    let dets = tiers::redetermine(state, &book, tx, s.affected, s.action)?;
    let effects = s
        .affected
        .iter()
        .zip(&dets)
        .map(|(l, d)| TierEffect {
            location_id: *l,
            tier: d.tier.as_ref().map(|t| t.name.clone()),
            weekly_premium_pence: d.rate.weekly.0,
            status: tiers::status_text(d.status),
        })
        .collect();
    Ok(RecordChange {
        id: s.id,
        record: s.record,
        effects,
    })
}

/// Every rule a CQC rating must meet.
pub fn check_cqc(req: &CqcRequest, today: NaiveDate) -> Vec<Refusal> {
    let mut out = Vec::new();
    if req.published_on < req.inspected_on {
        out.push(Refusal::new(
            "published_on",
            "a rating cannot be published before the inspection",
        ));
    }
    if req.published_on > today {
        out.push(Refusal::new(
            "published_on",
            "the date CQC published the rating must be today or in the past",
        ));
    }
    out
}

/// Records a CQC rating for a location (commissioners), audits it and re-determines the tier.
pub fn record_cqc(
    s: &AppState,
    caller: &Caller,
    loc: Uuid,
    req: CqcRequest,
) -> ServiceResult<RecordChange<CqcRating>> {
    caller.require(&[Role::Commissioner])?;
    refuse(check_cqc(&req, s.today()))?;
    s.db.write(|tx| {
        require_location_exists(tx, loc)?;
        let rating = CqcRating {
            id: Uuid::new_v4(),
            location_id: loc,
            inspected_on: req.inspected_on,
            published_on: req.published_on,
            overall: req.overall,
            key_questions: req.key_questions.clone(),
        };
        save(
            s,
            tx,
            caller,
            Save {
                table: "cqc_ratings",
                key_column: "location_id",
                id: rating.id,
                key: loc,
                record: rating,
                action: "cqc_rating.recorded",
                affected: &[loc],
            },
        )
    })
}

/// Opens a gate on a location (commissioners), audits it and re-determines the tier.
pub fn record_gate_open(
    s: &AppState,
    caller: &Caller,
    loc: Uuid,
    req: GateRequest,
) -> ServiceResult<RecordChange<Gate>> {
    caller.require(&[Role::Commissioner])?;
    s.db.write(|tx| {
        require_location_exists(tx, loc)?;
        let gate = Gate {
            id: Uuid::new_v4(),
            location_id: loc,
            kind: req.kind,
            opened_on: req.opened_on,
            closed_on: None,
            outcome: None,
        };
        crate::service::notices::gate_opened(tx, loc, gate.kind.label(), gate.opened_on)?;
        save(
            s,
            tx,
            caller,
            Save {
                table: "gates",
                key_column: "location_id",
                id: gate.id,
                key: loc,
                record: gate,
                action: "gate.opened",
                affected: &[loc],
            },
        )
    })
}

/// Closes a gate (commissioners), audits it and re-determines the tier. The record says which
/// location it was.
pub fn record_gate_close(
    s: &AppState,
    caller: &Caller,
    id: Uuid,
    req: CloseGateRequest,
) -> ServiceResult<RecordChange<Gate>> {
    caller.require(&[Role::Commissioner])?;
    s.db.write(|tx| {
        let data: String = tx
            .query_row(
                "SELECT data FROM gates WHERE id = ?1",
                [id.to_string()],
                |r| r.get(0),
            )
            .optional()?
            .ok_or_else(|| ServiceError::not_found("gate"))?;
        let mut gate: Gate = serde_json::from_str(&data)?;
        if gate.closed_on.is_some() {
            return Err(ServiceError::conflict("the gate is already closed"));
        }
        if req.closed_on < gate.opened_on {
            return Err(ServiceError::invalid(
                "a gate cannot close before it opened",
            ));
        }
        gate.closed_on = Some(req.closed_on);
        gate.outcome = req.outcome;
        let loc = gate.location_id;
        save(
            s,
            tx,
            caller,
            Save {
                table: "gates",
                key_column: "location_id",
                id,
                key: loc,
                record: gate,
                action: "gate.closed",
                affected: &[loc],
            },
        )
    })
}

/// The longest certificate reference, in characters (what people count), not bytes.
pub const MAX_CERTIFICATE_REF_CHARS: usize = 200;

/// Every rule a certificate must meet on its own (its provider's locations are checked when it
/// is stored).
pub fn check_qualification(req: &QualificationRequest) -> Vec<Refusal> {
    let mut out = Vec::new();
    let reference = req.certificate_ref.trim();
    if reference.is_empty() {
        out.push(Refusal::new(
            "certificate_ref",
            "enter the certificate reference",
        ));
    } else if reference.chars().count() > MAX_CERTIFICATE_REF_CHARS {
        out.push(Refusal::new(
            "certificate_ref",
            format!(
                "the certificate reference must be {MAX_CERTIFICATE_REF_CHARS} characters or fewer"
            ),
        ));
    }
    if req.expires_on < req.issued_on {
        out.push(Refusal::new(
            "expires_on",
            "a certificate cannot expire before it was issued",
        ));
    }
    if req.covered_locations.is_empty() {
        out.push(Refusal::new(
            "covered_locations",
            "choose at least one location its scope covers",
        ));
    }
    if req
        .verified_by
        .as_deref()
        .is_some_and(|v| v.chars().count() > 200)
    {
        out.push(Refusal::new(
            "verified_by",
            "who verified it must be 200 characters or fewer",
        ));
    }
    out
}

/// Records a certificate (commissioners), audits it and re-determines the provider's locations.
pub fn record_qualification(
    s: &AppState,
    caller: &Caller,
    req: QualificationRequest,
) -> ServiceResult<RecordChange<Qualification>> {
    caller.require(&[Role::Commissioner])?;
    refuse(check_qualification(&req))?;
    s.db.write(|tx| {
        let own = tiers::provider_locations(tx, req.provider_id)?;
        if own.is_empty() {
            return Err(ServiceError::not_found("provider"));
        }
        if let Some(stray) = req.covered_locations.iter().find(|l| !own.contains(l)) {
            return Err(ServiceError::invalid(format!(
                "location {stray} is not one of the provider's"
            )));
        }
        let q = Qualification {
            id: Uuid::new_v4(),
            provider_id: req.provider_id,
            kind: req.kind,
            certificate_ref: req.certificate_ref.trim().to_owned(),
            issued_on: req.issued_on,
            expires_on: req.expires_on,
            last_surveillance_on: req.last_surveillance_on,
            verified_on: req.verified_on,
            verified_by: req
                .verified_by
                .as_deref()
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .map(str::to_owned),
            covered_locations: req.covered_locations.clone(),
        };
        save(
            s,
            tx,
            caller,
            Save {
                table: "qualifications",
                key_column: "provider_id",
                id: q.id,
                key: q.provider_id,
                record: q,
                action: "qualification.recorded",
                affected: &own,
            },
        )
    })
}

/// Every rule a placement must meet.
pub fn check_placement(p: &Placement) -> Vec<Refusal> {
    let mut out = Vec::new();
    let reference = p.resident_ref.trim();
    if reference.is_empty() || reference.chars().count() > 64 {
        out.push(Refusal::new(
            "resident_ref",
            "a placement needs a resident reference of 1 to 64 characters (a pseudonym, never a name)",
        ));
    }
    if p.end.is_some_and(|e| e < p.start) {
        out.push(Refusal::new(
            "end",
            "a placement cannot end before it starts",
        ));
    }
    if p.died_on.is_some_and(|d| d < p.start) {
        out.push(Refusal::new(
            "died_on",
            "a date of death cannot be before the placement started",
        ));
    }
    if p.base_weekly_rate_pence < 0 {
        out.push(Refusal::new(
            "base_weekly_rate_pence",
            "the weekly rate must be at least 0",
        ));
    }
    let mut stays: Vec<_> = p.hospital_stays.iter().collect();
    stays.sort_by_key(|h| h.from);
    for (i, h) in stays.iter().enumerate() {
        if h.from < p.start || p.last_day().is_some_and(|l| h.from > l) {
            out.push(Refusal::new(
                "hospital_stays",
                "a hospital stay must start while the placement runs",
            ));
        }
        if h.to.is_some_and(|t| t < h.from) {
            out.push(Refusal::new(
                "hospital_stays",
                "a hospital stay cannot end before it starts",
            ));
        }
        if let Some(next) = stays.get(i + 1)
            && h.to.is_none_or(|t| t >= next.from)
        {
            out.push(Refusal::new(
                "hospital_stays",
                "hospital stays cannot overlap: record the return from one before the next",
            ));
        }
    }
    out
}

/// Records a placement (commissioners), audits it and re-determines the location's tier.
pub fn record_placement(
    s: &AppState,
    caller: &Caller,
    mut p: Placement,
) -> ServiceResult<RecordChange<Placement>> {
    caller.require(&[Role::Commissioner])?;
    refuse(check_placement(&p))?;
    if p.id.is_nil() {
        p.id = Uuid::new_v4();
    }
    s.db.write(|tx| {
        require_location_exists(tx, p.location_id)?;
        let loc = p.location_id;
        // A placement stays at its location: a move is an end here and a start there, so each
        // location's payments keep their own history.
        let stored: Option<String> = tx
            .query_row(
                "SELECT location_id FROM placements WHERE id = ?1",
                [p.id.to_string()],
                |r| r.get(0),
            )
            .optional()?;
        if stored.is_some_and(|l| l != loc.to_string()) {
            return Err(ServiceError::invalid(
                "a placement cannot move to another location: end it and add one there",
            ));
        }
        save(
            s,
            tx,
            caller,
            Save {
                table: "placements",
                key_column: "location_id",
                id: p.id,
                key: loc,
                record: p.clone(),
                action: "placement.recorded",
                affected: &[loc],
            },
        )
    })
}

/// Every rule set's TOML source, in force and scheduled: any signed-in user may read them (the
/// field app computes its indicative tier with the very rules the server applies; the scheme
/// publishes its rules, and they hold no personal data).
pub fn rule_set_sources(s: &AppState) -> ServiceResult<Vec<RuleSetSource>> {
    s.db.read(|tx| {
        let mut stmt = tx.prepare(
            "SELECT version, effective_from, source FROM rule_sets ORDER BY effective_from",
        )?;
        let rows = stmt
            .query_map([], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                ))
            })?
            .collect::<Result<Vec<_>, _>>()?;
        rows.into_iter()
            .map(|(version, from, source)| {
                Ok(RuleSetSource {
                    version,
                    effective_from: stored_date(&from)?,
                    source,
                })
            })
            .collect()
    })
}

/// A rule set as listed for leads and commissioners.
#[derive(Clone, Debug, Serialize)]
pub struct RuleSetListing {
    /// Its version.
    pub version: String,
    /// Its first day.
    pub effective_from: NaiveDate,
    /// Whether it is the one in force today.
    pub in_force: bool,
    /// Whether it starts after today.
    pub scheduled: bool,
}

/// The rule sets, in force, scheduled and superseded (leads and commissioners).
pub fn list_rule_sets(s: &AppState, caller: &Caller) -> ServiceResult<Vec<RuleSetListing>> {
    caller.require(&[Role::Commissioner, Role::Lead])?;
    let today = s.today();
    let rules = s.rules();
    let in_force = rules.in_force(today).map(|r| r.version.clone());
    Ok(rules
        .sets()
        .iter()
        .map(|r| RuleSetListing {
            version: r.version.clone(),
            effective_from: r.effective_from,
            in_force: Some(&r.version) == in_force.as_ref(),
            scheduled: r.effective_from > today,
        })
        .collect())
}

/// Why adopting this rule set would fail today, if it would: the one place the adoption rules
/// live, so the portal offers "Adopt" exactly when [`add_rule_set`] would succeed. A rule set
/// takes effect from a day after today (never retrospectively), under a version no other rule
/// set has, and on a day no other rule set starts.
pub fn adoption_refusals(s: &AppState, set: &RuleSet) -> Vec<Refusal> {
    refusals_against(&s.rules(), s.today(), set)
}

/// [`adoption_refusals`] against a given rule book: `add_rule_set` checks again against the book
/// its own transaction reads, so two adoptions at once cannot both take a version or a day.
fn refusals_against(book: &RuleBook, today: NaiveDate, set: &RuleSet) -> Vec<Refusal> {
    let mut out = Vec::new();
    if set.effective_from <= today {
        out.push(Refusal::new(
            "effective_from",
            format!(
                "the start date must be after today ({}): a rule set takes effect from a future date, never retrospectively",
                long_date(today)
            ),
        ));
    }
    if book.sets().iter().any(|r| r.version == set.version) {
        out.push(Refusal::new(
            "version",
            format!(
                "version {} is already used: give this rule set a new version",
                set.version
            ),
        ));
    }
    if let Some(other) = book
        .sets()
        .iter()
        .find(|r| r.effective_from == set.effective_from && r.version != set.version)
    {
        out.push(Refusal::new(
            "effective_from",
            format!(
                "rule set {} already starts on {}: choose another start date",
                other.version,
                long_date(other.effective_from)
            ),
        ));
    }
    out
}

/// Checks a draft rule set as adopting it would: it must load, and [`adoption_refusals`] must
/// find nothing. Returns the set.
pub fn check_rule_set(s: &AppState, source: &str) -> ServiceResult<RuleSet> {
    let set = RuleSet::from_toml(source).map_err(|e| ServiceError::invalid(e.to_string()))?;
    refuse_adoption(adoption_refusals(s, &set))?;
    Ok(set)
}

/// The first adoption refusal as an error: a used version conflicts; a date is invalid.
fn refuse_adoption(refusals: Vec<Refusal>) -> ServiceResult<()> {
    match refusals.into_iter().next() {
        None => Ok(()),
        Some(r) if r.field == "version" => Err(ServiceError::conflict(r.message)),
        Some(r) => Err(ServiceError::invalid(r.message)),
    }
}

/// A problem with a draft rule set, at a rule-set path (empty for the document as a whole).
#[derive(Clone, Debug, Serialize)]
pub struct RuleSetProblem {
    /// The path, as the loader names it: `tiers[1].weekly_premium_pence`.
    pub path: String,
    /// What is wrong.
    pub message: String,
}

/// What checking a draft found: whether it loads, whether adopting it would succeed, and why not.
#[derive(Clone, Debug, Serialize)]
pub struct RuleSetCheck {
    /// Whether it loads as a rule set.
    pub valid: bool,
    /// Whether adopting it today would succeed.
    pub adoptable: bool,
    /// Its version, when it loads.
    pub version: Option<String>,
    /// Its first day, when it loads.
    pub effective_from: Option<NaiveDate>,
    /// Everything wrong with it: the loader's problems, else the adoption refusals.
    pub problems: Vec<RuleSetProblem>,
}

/// Checks a draft without adopting it (leads and commissioners): every problem, not just the
/// first. Changes nothing.
pub fn check_draft(s: &AppState, caller: &Caller, source: &str) -> ServiceResult<RuleSetCheck> {
    caller.require(&[Role::Commissioner, Role::Lead])?;
    Ok(match RuleSet::from_toml(source) {
        Err(e) => RuleSetCheck {
            valid: false,
            adoptable: false,
            version: None,
            effective_from: None,
            problems: e
                .problems
                .into_iter()
                .map(|p| RuleSetProblem {
                    path: p.path,
                    message: p.message,
                })
                .collect(),
        },
        Ok(set) => {
            let refusals = adoption_refusals(s, &set);
            RuleSetCheck {
                valid: true,
                adoptable: refusals.is_empty(),
                version: Some(set.version),
                effective_from: Some(set.effective_from),
                problems: refusals
                    .into_iter()
                    .map(|r| RuleSetProblem {
                        path: r.field.to_owned(),
                        message: r.message,
                    })
                    .collect(),
            }
        }
    })
}

/// What-if (leads and commissioners): a draft rule set applied to today's data, as if it had
/// always been in force, beside the rules in force. Changes nothing.
pub fn what_if(s: &AppState, caller: &Caller, draft: &RuleSet) -> ServiceResult<WhatIf> {
    caller.require(&[Role::Commissioner, Role::Lead])?;
    s.db.read(|tx| {
        let book = s.rules();
        let today = s.today();
        // The draft as if it had always been in force, so history-dependent rules (lapses,
        // lookbacks) read it too.
        let mut always = draft.clone();
        always.effective_from = NaiveDate::from_ymd_opt(2000, 1, 1).unwrap_or(today);
        let draft_book =
            RuleBook::new(vec![always]).map_err(|e| ServiceError::internal(e.to_string()))?;
        let current = Engine::new(&s.packs, &book);
        let drafted = Engine::new(&s.packs, &draft_book);
        let mut records = Vec::new();
        let mut placements = Vec::new();
        for id in tiers::all_locations(tx)? {
            if let Some(r) = tiers::records(tx, id)? {
                records.push(r);
            }
            placements.extend(tiers::placements(tx, id)?);
        }
        Ok(compare(
            &current,
            &drafted,
            draft,
            &records,
            &placements,
            today,
        ))
    })
}

/// A rule set in the book by version (any signed-in user: the scheme publishes its rules).
pub fn rule_set(s: &AppState, version: &str) -> ServiceResult<RuleSet> {
    s.rules()
        .sets()
        .iter()
        .find(|r| r.version == version)
        .cloned()
        .ok_or_else(|| ServiceError::not_found("rule set"))
}

/// What adopting a rule set did.
#[derive(Clone, Debug, Serialize)]
pub struct AdoptedRuleSet {
    /// Its version.
    pub version: String,
    /// Its first day.
    pub effective_from: NaiveDate,
}

/// Adds a rule set from its TOML source (commissioners), as [`check_rule_set`] allows. Audited;
/// every location is re-determined with the new book. The process-wide rule book is replaced
/// only after the transaction has committed, so memory never holds rules the database lacks.
pub fn add_rule_set(s: &AppState, caller: &Caller, source: &str) -> ServiceResult<AdoptedRuleSet> {
    caller.require(&[Role::Commissioner])?;
    let set = check_rule_set(s, source)?;
    let today = s.today();
    let book = s.db.write(|tx| {
        refuse_adoption(refusals_against(
            &crate::state::load_rule_book(tx)?,
            today,
            &set,
        ))?;
        tx.execute(
            "INSERT INTO rule_sets (version, effective_from, source, created_by, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![set.version, set.effective_from.to_string(), source, caller.user_id.to_string(), now_text()],
        )?;
        audit::record(
            tx,
            Some(caller),
            Entry {
                action: "rule_set.added",
                subject_type: "rule_set",
                subject_id: Some(set.version.clone()),
                location_id: None,
                details: json!({ "effective_from": set.effective_from }),
            },
        )?;
        // The book as this transaction sees it: other rule sets added meanwhile included.
        let book = crate::state::load_rule_book(tx)?;
        let all = tiers::all_locations(tx)?;
        tiers::redetermine(s, &book, tx, &all, "rule_set.added")?;
        Ok(book)
    })?;
    s.install_rules(book);
    Ok(AdoptedRuleSet {
        version: set.version,
        effective_from: set.effective_from,
    })
}

/// The location a gate belongs to, if the gate exists.
pub fn gate_location(s: &AppState, gate: Uuid) -> ServiceResult<Option<Uuid>> {
    s.db.read(|tx| {
        let data: Option<String> = tx
            .query_row(
                "SELECT data FROM gates WHERE id = ?1",
                [gate.to_string()],
                |r| r.get(0),
            )
            .optional()?;
        Ok(match data {
            Some(d) => Some(serde_json::from_str::<Gate>(&d)?.location_id),
            None => None,
        })
    })
}
