//! CSV imports for commissioners: locations, placements, CQC ratings and contracts. Each file is imported
//! in one transaction: one bad row (reported with its line number) and nothing is imported.

use std::collections::{BTreeMap, HashMap};

use accredit_shared::records::*;
use chrono::NaiveDate;
use rusqlite::{Connection, params};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use uuid::Uuid;

use accredit_shared::api::CqcRequest;
use accredit_shared::calendar::parse_date;
use accredit_shared::money::Pence;
use accredit_shared::ratio::Ratio;
use accredit_shared::withhold::Contract;

use crate::error::ServiceError;
use crate::service::records::{check_cqc, check_placement};
use crate::tiers;
use crate::users::{self, NewLocation};

/// A date cell: exactly `YYYY-MM-DD`.
fn date<'de, D: serde::Deserializer<'de>>(d: D) -> Result<NaiveDate, D::Error> {
    let text = String::deserialize(d)?;
    parse_date(&text).map_err(serde::de::Error::custom)
}

/// An optional date cell: empty, or exactly `YYYY-MM-DD`.
fn opt_date<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<NaiveDate>, D::Error> {
    match Option::<String>::deserialize(d)? {
        None => Ok(None),
        Some(t) if t.is_empty() => Ok(None),
        Some(t) => parse_date(&t).map(Some).map_err(serde::de::Error::custom),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LocationRow {
    cqc_location_id: String,
    name: String,
    provider: String,
    #[serde(default)]
    address: String,
    service_type: ServiceType,
    #[serde(deserialize_with = "date")]
    registered_from: NaiveDate,
    #[serde(default, deserialize_with = "opt_date")]
    registered_to: Option<NaiveDate>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PlacementRow {
    cqc_location_id: String,
    resident_ref: String,
    funding: FundingType,
    #[serde(deserialize_with = "date")]
    start: NaiveDate,
    #[serde(default, deserialize_with = "opt_date")]
    end: Option<NaiveDate>,
    base_weekly_rate_pence: i64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CqcRow {
    cqc_location_id: String,
    #[serde(deserialize_with = "date")]
    inspected_on: NaiveDate,
    #[serde(deserialize_with = "date")]
    published_on: NaiveDate,
    overall: CqcRatingValue,
    safe: Option<CqcRatingValue>,
    effective: Option<CqcRatingValue>,
    caring: Option<CqcRatingValue>,
    responsive: Option<CqcRatingValue>,
    well_led: Option<CqcRatingValue>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ContractRow {
    reference: String,
    provider: String,
    #[serde(default)]
    cqc_location_id: String,
    #[serde(deserialize_with = "date")]
    starts_on: NaiveDate,
    #[serde(deserialize_with = "date")]
    ends_on: NaiveDate,
    period_months: u32,
    value_per_period_pence: i64,
    #[serde(default)]
    withhold_percent: String,
}

/// A row of a file: its line, and the row or why it cannot be read.
type ReadRow<T> = (u64, Result<T, String>);

/// The rows of a file whose header must be exactly `columns`, each read or refused with its
/// line's reason. A file with another header, or with no rows, is an error, never "0 rows".
fn rows<T: DeserializeOwned>(text: &str, columns: &str) -> Result<Vec<ReadRow<T>>, ServiceError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .flexible(true)
        .from_reader(text.as_bytes());
    let header = reader
        .headers()
        .map_err(|e| ServiceError::invalid(format!("line 1: {e}")))?;
    let found: Vec<&str> = header.iter().collect();
    if found.join(",") != columns {
        return Err(ServiceError::invalid(
            if found.iter().all(|c| c.is_empty()) {
                format!("the file is empty: its first line must be the header {columns}")
            } else {
                format!(
                    "line 1: the header must be {columns}, not {}",
                    found.join(",")
                )
            },
        ));
    }
    let header = header.clone();
    let width = header.len();
    let mut out = Vec::new();
    let mut record = csv::StringRecord::new();
    loop {
        let line = reader.position().line();
        match reader.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) if record.iter().all(str::is_empty) => continue,
            Ok(true) if record.len() != width => out.push((
                line,
                Err(format!(
                    "the line has {} fields where the header has {width}",
                    record.len()
                )),
            )),
            Ok(true) => out.push((
                line,
                record
                    .deserialize::<T>(Some(&header))
                    .map_err(|e| deserialize_reason(&e)),
            )),
            Err(e) => out.push((line, Err(format!("the line cannot be read as CSV: {e}")))),
        }
    }
    if out.is_empty() {
        return Err(ServiceError::invalid(
            "the file has a header but no rows: nothing to import",
        ));
    }
    Ok(out)
}

/// A row's deserialisation error without the csv crate's position prefix (the line is shown
/// beside it already).
fn deserialize_reason(e: &csv::Error) -> String {
    match e.kind() {
        csv::ErrorKind::Deserialize { err, .. } => {
            let field = err
                .field()
                .map(|f| format!("field {}: ", f + 1))
                .unwrap_or_default();
            format!("{field}{}", err.kind())
        }
        _ => e.to_string(),
    }
}

/// The header of each kind of file.
pub fn columns(kind: Kind) -> &'static str {
    match kind {
        Kind::Locations => {
            "cqc_location_id,name,provider,address,service_type,registered_from,registered_to"
        }
        Kind::Placements => "cqc_location_id,resident_ref,funding,start,end,base_weekly_rate_pence",
        Kind::CqcRatings => {
            "cqc_location_id,inspected_on,published_on,overall,safe,effective,caring,responsive,well_led"
        }
        Kind::Contracts => {
            "reference,provider,cqc_location_id,starts_on,ends_on,period_months,value_per_period_pence,withhold_percent"
        }
    }
}

/// What kind of file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// `cqc_location_id,name,provider,address,service_type,registered_from,registered_to`
    Locations,
    /// `cqc_location_id,resident_ref,funding,start,end,base_weekly_rate_pence`
    Placements,
    /// `cqc_location_id,inspected_on,published_on,overall,safe,effective,caring,responsive,well_led`
    CqcRatings,
    /// `reference,provider,cqc_location_id,starts_on,ends_on,period_months,value_per_period_pence,withhold_percent`
    Contracts,
}

/// What importing a row would do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// A new record.
    Add,
    /// A record that exists, changed.
    Update,
    /// A record that exists already exactly as in the file.
    Unchanged,
}

/// What writing `new` does to the stored record `existing`, if any.
fn action_of<T: PartialEq>(existing: Option<&T>, new: &T) -> Action {
    match existing {
        None => Action::Add,
        Some(e) if e == new => Action::Unchanged,
        Some(_) => Action::Update,
    }
}

/// One row of a file, as the preview shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlannedRow {
    /// Its line in the file (the header is line 1).
    pub line: u64,
    /// What it names: a CQC location ID, and a resident reference or date.
    pub what: String,
    /// What importing it would do, or why it cannot be imported.
    pub outcome: Result<Action, String>,
}

enum Op {
    Location {
        provider: String,
        cqc: String,
        name: String,
        address: String,
        service_type: ServiceType,
        registered_from: NaiveDate,
        registered_to: Option<NaiveDate>,
    },
    Placement(Placement),
    Cqc(CqcRating),
    Contract(Contract),
}

/// What a file would change: every row's outcome, and the writes to make if none is refused.
pub struct Plan {
    /// What the file holds.
    pub kind: Kind,
    /// Every row, in file order.
    pub rows: Vec<PlannedRow>,
    ops: Vec<Op>,
}

impl Plan {
    /// Rows that would add, update or leave a record, and rows refused.
    pub fn counts(&self) -> (usize, usize, usize, usize) {
        let mut c = (0, 0, 0, 0);
        for r in &self.rows {
            match r.outcome {
                Ok(Action::Add) => c.0 += 1,
                Ok(Action::Update) => c.1 += 1,
                Ok(Action::Unchanged) => c.2 += 1,
                Err(_) => c.3 += 1,
            }
        }
        c
    }

    /// The refused rows.
    pub fn refused(&self) -> impl Iterator<Item = &PlannedRow> {
        self.rows.iter().filter(|r| r.outcome.is_err())
    }

    /// The writes this file would make.
    pub fn changes(&self) -> usize {
        self.ops.len()
    }
}

/// Reads a CSV text and works out, without writing anything, what each row would do: checked
/// by the same rules as the API (`service::records`, `service::places`), as of `today`. A row
/// names its record by a natural key (a location by CQC location ID; a placement by location,
/// resident reference and start; a rating by location and publication date), so importing the
/// same file twice changes nothing the second time.
pub fn plan(
    tx: &Connection,
    kind: Kind,
    text: &str,
    today: NaiveDate,
) -> Result<Plan, ServiceError> {
    let mut out = Plan {
        kind,
        rows: Vec::new(),
        ops: Vec::new(),
    };
    let mut seen: HashMap<String, u64> = HashMap::new();
    let push = |out: &mut Plan,
                line: u64,
                what: String,
                r: Result<(Action, Option<Op>), String>| {
        match r {
            Ok((action, op)) => {
                if let Some(op) = op {
                    out.ops.push(op);
                }
                out.rows.push(PlannedRow {
                    line,
                    what,
                    outcome: Ok(action),
                });
            }
            Err(why) => out.rows.push(PlannedRow {
                line,
                what,
                outcome: Err(why),
            }),
        }
    };
    let mut duplicate = |key: String, line: u64| -> Result<(), String> {
        match seen.insert(key, line) {
            Some(first) => Err(format!("the same record is on line {first} already")),
            None => Ok(()),
        }
    };
    let mut locations: HashMap<String, Option<(Location, String)>> = HashMap::new();
    let mut location_of =
        |tx: &Connection, cqc: &str| -> Result<Option<(Location, String)>, ServiceError> {
            if let Some(l) = locations.get(cqc) {
                return Ok(l.clone());
            }
            let found = match users::location_by_cqc(tx, cqc) {
                Ok(id) => tiers::location(tx, id)?,
                Err(ServiceError::Invalid(_)) => None,
                Err(e) => return Err(e),
            };
            locations.insert(cqc.to_owned(), found.clone());
            Ok(found)
        };
    let unknown = |cqc: &str| {
        format!("no location has the CQC location ID {cqc}: import it in a locations file first")
    };
    match kind {
        Kind::Locations => {
            let providers = crate::service::locations::provider_names(tx)?;
            for (line, r) in rows::<LocationRow>(text, columns(kind))? {
                let what = r
                    .as_ref()
                    .map(|r| format!("{} {}", r.cqc_location_id, r.name))
                    .unwrap_or_default();
                let result = match r {
                    Err(e) => Err(e),
                    Ok(r) => (|| {
                        if let Some(why) =
                            crate::service::places::cqc_id_refusal(&r.cqc_location_id)
                        {
                            return Err(why.to_owned());
                        }
                        if r.name.is_empty() || r.provider.is_empty() {
                            return Err("a location needs a name and a provider".to_owned());
                        }
                        if r.registered_to.is_some_and(|t| t < r.registered_from) {
                            return Err("registered_to is before registered_from".to_owned());
                        }
                        duplicate(format!("location {}", r.cqc_location_id), line)?;
                        let existing =
                            location_of(tx, &r.cqc_location_id).map_err(|e| e.message())?;
                        let action = match &existing {
                            None => Action::Add,
                            Some((l, address)) => {
                                let owner =
                                    providers.get(&l.provider_id).cloned().unwrap_or_default();
                                if owner != r.provider {
                                    return Err(format!(
                                        "location {} belongs to {owner}; a change of ownership is recorded as a new location with its new CQC location id",
                                        r.cqc_location_id
                                    ));
                                }
                                let same = l.name == r.name
                                    && *address == r.address
                                    && l.service_type == r.service_type
                                    && l.registered_from == r.registered_from
                                    && l.registered_to == r.registered_to;
                                if same {
                                    Action::Unchanged
                                } else {
                                    Action::Update
                                }
                            }
                        };
                        let op = (action != Action::Unchanged).then_some(Op::Location {
                            provider: r.provider,
                            cqc: r.cqc_location_id,
                            name: r.name,
                            address: r.address,
                            service_type: r.service_type,
                            registered_from: r.registered_from,
                            registered_to: r.registered_to,
                        });
                        Ok((action, op))
                    })(),
                };
                push(&mut out, line, what, result);
            }
        }
        Kind::Placements => {
            let mut stored: HashMap<Uuid, Vec<Placement>> = HashMap::new();
            for (line, r) in rows::<PlacementRow>(text, columns(kind))? {
                let what = r
                    .as_ref()
                    .map(|r| format!("{} {} from {}", r.cqc_location_id, r.resident_ref, r.start))
                    .unwrap_or_default();
                let result = match r {
                    Err(e) => Err(e),
                    Ok(r) => (|| {
                        let Some((loc, _)) =
                            location_of(tx, &r.cqc_location_id).map_err(|e| e.message())?
                        else {
                            return Err(unknown(&r.cqc_location_id));
                        };
                        duplicate(
                            format!(
                                "placement {} {} {}",
                                r.cqc_location_id, r.resident_ref, r.start
                            ),
                            line,
                        )?;
                        if let std::collections::hash_map::Entry::Vacant(e) = stored.entry(loc.id) {
                            e.insert(tiers::placements(tx, loc.id).map_err(|e| e.message())?);
                        }
                        let existing = stored
                            .get(&loc.id)
                            .and_then(|v| {
                                v.iter().find(|p| {
                                    p.resident_ref == r.resident_ref && p.start == r.start
                                })
                            })
                            .cloned();
                        let p = Placement {
                            id: existing.as_ref().map_or_else(Uuid::new_v4, |e| e.id),
                            location_id: loc.id,
                            resident_ref: r.resident_ref,
                            funding: r.funding,
                            start: r.start,
                            end: r.end,
                            died_on: existing.as_ref().and_then(|e| e.died_on),
                            base_weekly_rate_pence: r.base_weekly_rate_pence,
                            hospital_stays: existing
                                .as_ref()
                                .map(|e| e.hospital_stays.clone())
                                .unwrap_or_default(),
                        };
                        if let Some(r) = check_placement(&p).into_iter().next() {
                            return Err(r.message);
                        }
                        let action = action_of(existing.as_ref(), &p);
                        Ok((
                            action,
                            (action != Action::Unchanged).then_some(Op::Placement(p)),
                        ))
                    })(),
                };
                push(&mut out, line, what, result);
            }
        }
        Kind::CqcRatings => {
            let mut stored: HashMap<Uuid, Vec<CqcRating>> = HashMap::new();
            for (line, r) in rows::<CqcRow>(text, columns(kind))? {
                let what = r
                    .as_ref()
                    .map(|r| format!("{} published {}", r.cqc_location_id, r.published_on))
                    .unwrap_or_default();
                let result = match r {
                    Err(e) => Err(e),
                    Ok(r) => (|| {
                        let Some((loc, _)) =
                            location_of(tx, &r.cqc_location_id).map_err(|e| e.message())?
                        else {
                            return Err(unknown(&r.cqc_location_id));
                        };
                        duplicate(
                            format!("rating {} {}", r.cqc_location_id, r.published_on),
                            line,
                        )?;
                        let mut key_questions = BTreeMap::new();
                        for (q, v) in [
                            (KeyQuestion::Safe, r.safe),
                            (KeyQuestion::Effective, r.effective),
                            (KeyQuestion::Caring, r.caring),
                            (KeyQuestion::Responsive, r.responsive),
                            (KeyQuestion::WellLed, r.well_led),
                        ] {
                            if let Some(v) = v {
                                key_questions.insert(q, v);
                            }
                        }
                        let request = CqcRequest {
                            inspected_on: r.inspected_on,
                            published_on: r.published_on,
                            overall: r.overall,
                            key_questions: key_questions.clone(),
                        };
                        if let Some(r) = check_cqc(&request, today).into_iter().next() {
                            return Err(r.message);
                        }
                        if let std::collections::hash_map::Entry::Vacant(e) = stored.entry(loc.id) {
                            e.insert(
                                tiers::records(tx, loc.id)
                                    .map_err(|e| e.message())?
                                    .map(|r| r.cqc_ratings)
                                    .unwrap_or_default(),
                            );
                        }
                        let existing = stored
                            .get(&loc.id)
                            .and_then(|v| v.iter().find(|c| c.published_on == r.published_on))
                            .cloned();
                        let rating = CqcRating {
                            id: existing.as_ref().map_or_else(Uuid::new_v4, |e| e.id),
                            location_id: loc.id,
                            inspected_on: r.inspected_on,
                            published_on: r.published_on,
                            overall: r.overall,
                            key_questions,
                        };
                        let action = action_of(existing.as_ref(), &rating);
                        Ok((
                            action,
                            (action != Action::Unchanged).then_some(Op::Cqc(rating)),
                        ))
                    })(),
                };
                push(&mut out, line, what, result);
            }
        }
        Kind::Contracts => {
            let providers: HashMap<String, Uuid> = crate::service::locations::provider_names(tx)?
                .into_iter()
                .map(|(id, name)| (name, id))
                .collect();
            for (line, r) in rows::<ContractRow>(text, columns(kind))? {
                let what = r
                    .as_ref()
                    .map(|r| format!("contract {}", r.reference))
                    .unwrap_or_default();
                let result = match r {
                    Err(e) => Err(e),
                    Ok(r) => (|| {
                        duplicate(format!("contract {}", r.reference.trim()), line)?;
                        let Some(provider_id) = providers.get(r.provider.trim()).copied() else {
                            return Err(format!(
                                "no provider is called {}: add its locations first",
                                r.provider.trim()
                            ));
                        };
                        let location_id = if r.cqc_location_id.trim().is_empty() {
                            None
                        } else {
                            let Some((loc, _)) = location_of(tx, r.cqc_location_id.trim())
                                .map_err(|e| e.message())?
                            else {
                                return Err(unknown(r.cqc_location_id.trim()));
                            };
                            Some(loc.id)
                        };
                        let withhold_percent = if r.withhold_percent.trim().is_empty() {
                            None
                        } else {
                            Some(
                                Ratio::parse_percent(&r.withhold_percent)
                                    .map_err(|e| format!("withhold_percent: {e}"))?,
                            )
                        };
                        let existing = crate::service::contracts::by_reference(tx, &r.reference)
                            .map_err(|e| e.message())?;
                        let c = Contract {
                            id: existing.as_ref().map_or_else(Uuid::new_v4, |e| e.id),
                            reference: r.reference.trim().to_owned(),
                            provider_id,
                            location_id,
                            starts_on: r.starts_on,
                            ends_on: r.ends_on,
                            period_months: r.period_months,
                            value_per_period: Pence(r.value_per_period_pence),
                            withhold_percent,
                        };
                        let refusals =
                            crate::service::contracts::check(tx, &c).map_err(|e| e.message())?;
                        if let Some(r) = refusals.into_iter().next() {
                            let mut m = r.message;
                            if let Some(first) = m.get(..1).map(str::to_lowercase) {
                                m.replace_range(..1, &first);
                            }
                            return Err(m);
                        }
                        let action = action_of(existing.as_ref(), &c);
                        Ok((
                            action,
                            (action != Action::Unchanged).then_some(Op::Contract(c)),
                        ))
                    })(),
                };
                push(&mut out, line, what, result);
            }
        }
    }
    Ok(out)
}

/// Makes a plan's writes in the caller's transaction, if no row was refused; `progress` is told
/// how many writes are done now and then. Returns the rows written and the locations affected
/// (which the caller re-determines).
pub fn apply(
    tx: &Connection,
    plan: &Plan,
    progress: &mut dyn FnMut(usize),
) -> Result<(usize, Vec<Uuid>), ServiceError> {
    if let Some(r) = plan.refused().next() {
        return Err(ServiceError::invalid(format!(
            "line {}: {}",
            r.line,
            r.outcome.as_ref().err().map_or("", String::as_str)
        )));
    }
    let mut affected = Vec::new();
    for (i, op) in plan.ops.iter().enumerate() {
        if i % 250 == 0 {
            progress(i);
        }
        match op {
            Op::Location {
                provider,
                cqc,
                name,
                address,
                service_type,
                registered_from,
                registered_to,
            } => {
                let provider = users::provider_by_name(tx, provider)?;
                affected.push(users::upsert_location(
                    tx,
                    &NewLocation {
                        provider_id: provider,
                        cqc_location_id: cqc,
                        name,
                        address,
                        service_type: *service_type,
                        registered_from: *registered_from,
                        registered_to: *registered_to,
                    },
                )?);
            }
            Op::Placement(p) => {
                tx.prepare_cached(
                    "INSERT INTO placements (id, location_id, data) VALUES (?1, ?2, ?3) ON CONFLICT (id) DO UPDATE SET data = excluded.data",
                )?
                .execute(params![p.id.to_string(), p.location_id.to_string(), serde_json::to_string(p)?])?;
                affected.push(p.location_id);
            }
            Op::Contract(c) => crate::service::contracts::store(tx, c)?,
            Op::Cqc(c) => {
                tx.prepare_cached(
                    "INSERT INTO cqc_ratings (id, location_id, data) VALUES (?1, ?2, ?3) ON CONFLICT (id) DO UPDATE SET data = excluded.data",
                )?
                .execute(params![c.id.to_string(), c.location_id.to_string(), serde_json::to_string(c)?])?;
                affected.push(c.location_id);
            }
        }
    }
    progress(plan.ops.len());
    affected.sort();
    affected.dedup();
    Ok((plan.ops.len(), affected))
}

/// Plans and applies a CSV text in the caller's transaction: all rows or none, the first
/// refused row reported with its line. Returns the rows written and the locations affected.
pub fn import(
    tx: &Connection,
    kind: Kind,
    text: &str,
    today: NaiveDate,
) -> Result<(usize, Vec<Uuid>), ServiceError> {
    let plan = plan(tx, kind, text, today)?;
    apply(tx, &plan, &mut |_| {})
}
