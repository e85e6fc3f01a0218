//! CSV imports for commissioners: locations, placements and CQC ratings. Each file is imported
//! in one transaction: one bad row (reported with its line number) and nothing is imported.

use std::collections::BTreeMap;

use accredit_shared::records::*;
use chrono::NaiveDate;
use rusqlite::{Connection, params};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use uuid::Uuid;

use accredit_shared::api::CqcRequest;
use accredit_shared::calendar::parse_date;

use crate::error::ServiceError;
use crate::service::records::{check_cqc, check_placement};
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

/// The rows of a file whose header must be exactly `columns`: a file with another header, or
/// with no rows, is an error, never "imported 0 rows".
fn rows<T: DeserializeOwned>(text: &str, columns: &str) -> Result<Vec<(u64, T)>, ServiceError> {
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
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
    let mut out = Vec::new();
    for (i, row) in reader.deserialize::<T>().enumerate() {
        let line = i as u64 + 2;
        out.push((
            line,
            row.map_err(|e| ServiceError::invalid(format!("line {line}: {e}")))?,
        ));
    }
    if out.is_empty() {
        return Err(ServiceError::invalid(
            "the file has a header but no rows: nothing to import",
        ));
    }
    Ok(out)
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
}

/// Imports a CSV text checked by the same rules as the API (`service::records`), as of `today`;
/// returns the number of rows and the locations affected.
pub fn import(
    tx: &Connection,
    kind: Kind,
    text: &str,
    today: NaiveDate,
) -> Result<(usize, Vec<Uuid>), ServiceError> {
    let at = |line: u64| {
        move |e: ServiceError| ServiceError::invalid(format!("line {line}: {}", e.message()))
    };
    let mut affected = Vec::new();
    let count;
    match kind {
        Kind::Locations => {
            let rows: Vec<(u64, LocationRow)> = rows(text, columns(kind))?;
            count = rows.len();
            for (line, r) in rows {
                if r.registered_to.is_some_and(|t| t < r.registered_from) {
                    return Err(ServiceError::invalid(format!(
                        "line {line}: registered_to is before registered_from"
                    )));
                }
                let provider = users::provider_by_name(tx, &r.provider).map_err(at(line))?;
                let id = users::upsert_location(
                    tx,
                    &NewLocation {
                        provider_id: provider,
                        cqc_location_id: &r.cqc_location_id,
                        name: &r.name,
                        address: &r.address,
                        service_type: r.service_type,
                        registered_from: r.registered_from,
                        registered_to: r.registered_to,
                    },
                )
                .map_err(at(line))?;
                affected.push(id);
            }
        }
        Kind::Placements => {
            let rows: Vec<(u64, PlacementRow)> = rows(text, columns(kind))?;
            count = rows.len();
            for (line, r) in rows {
                let location = users::location_by_cqc(tx, &r.cqc_location_id).map_err(at(line))?;
                let p = Placement {
                    id: Uuid::new_v4(),
                    location_id: location,
                    resident_ref: r.resident_ref,
                    funding: r.funding,
                    start: r.start,
                    end: r.end,
                    died_on: None,
                    base_weekly_rate_pence: r.base_weekly_rate_pence,
                    hospital_stays: vec![],
                };
                if let Some(r) = check_placement(&p).into_iter().next() {
                    return Err(ServiceError::invalid(format!("line {line}: {}", r.message)));
                }
                tx.execute(
                    "INSERT INTO placements (id, location_id, data) VALUES (?1, ?2, ?3)",
                    params![
                        p.id.to_string(),
                        location.to_string(),
                        serde_json::to_string(&p)?
                    ],
                )?;
                affected.push(location);
            }
        }
        Kind::CqcRatings => {
            let rows: Vec<(u64, CqcRow)> = rows(text, columns(kind))?;
            count = rows.len();
            for (line, r) in rows {
                let location = users::location_by_cqc(tx, &r.cqc_location_id).map_err(at(line))?;
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
                    return Err(ServiceError::invalid(format!("line {line}: {}", r.message)));
                }
                let rating = CqcRating {
                    id: Uuid::new_v4(),
                    location_id: location,
                    inspected_on: r.inspected_on,
                    published_on: r.published_on,
                    overall: r.overall,
                    key_questions,
                };
                tx.execute(
                    "INSERT INTO cqc_ratings (id, location_id, data) VALUES (?1, ?2, ?3)",
                    params![
                        rating.id.to_string(),
                        location.to_string(),
                        serde_json::to_string(&rating)?
                    ],
                )?;
                affected.push(location);
            }
        }
    }
    affected.sort();
    affected.dedup();
    Ok((count, affected))
}
