//! CSV imports for commissioners: locations, placements and CQC ratings. Each file is imported
//! in one transaction: one bad row (reported with its line number) and nothing is imported.

use std::collections::BTreeMap;

use accredit_shared::records::*;
use chrono::NaiveDate;
use rusqlite::{Connection, params};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use uuid::Uuid;

use crate::error::ApiError;
use crate::users::{self, NewLocation};

#[derive(Deserialize)]
struct LocationRow {
    cqc_location_id: String,
    name: String,
    provider: String,
    #[serde(default)]
    address: String,
    service_type: ServiceType,
    registered_from: NaiveDate,
    registered_to: Option<NaiveDate>,
}

#[derive(Deserialize)]
struct PlacementRow {
    cqc_location_id: String,
    resident_ref: String,
    funding: FundingType,
    start: NaiveDate,
    end: Option<NaiveDate>,
    base_weekly_rate_pence: i64,
}

#[derive(Deserialize)]
struct CqcRow {
    cqc_location_id: String,
    inspected_on: NaiveDate,
    published_on: NaiveDate,
    overall: CqcRatingValue,
    safe: Option<CqcRatingValue>,
    effective: Option<CqcRatingValue>,
    caring: Option<CqcRatingValue>,
    responsive: Option<CqcRatingValue>,
    well_led: Option<CqcRatingValue>,
}

fn rows<T: DeserializeOwned>(text: &str) -> Result<Vec<(u64, T)>, ApiError> {
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let mut out = Vec::new();
    for (i, row) in reader.deserialize::<T>().enumerate() {
        let line = i as u64 + 2;
        out.push((
            line,
            row.map_err(|e| ApiError::invalid(format!("line {line}: {e}")))?,
        ));
    }
    Ok(out)
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

/// Imports a CSV text; returns the number of rows and the locations affected.
pub fn import(tx: &Connection, kind: Kind, text: &str) -> Result<(usize, Vec<Uuid>), ApiError> {
    let at =
        |line: u64| move |e: ApiError| ApiError::invalid(format!("line {line}: {}", e.message));
    let mut affected = Vec::new();
    let count;
    match kind {
        Kind::Locations => {
            let rows: Vec<(u64, LocationRow)> = rows(text)?;
            count = rows.len();
            for (line, r) in rows {
                if r.registered_to.is_some_and(|t| t < r.registered_from) {
                    return Err(ApiError::invalid(format!(
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
            let rows: Vec<(u64, PlacementRow)> = rows(text)?;
            count = rows.len();
            for (line, r) in rows {
                let location = users::location_by_cqc(tx, &r.cqc_location_id).map_err(at(line))?;
                if r.end.is_some_and(|e| e < r.start)
                    || r.base_weekly_rate_pence < 0
                    || r.resident_ref.is_empty()
                {
                    return Err(ApiError::invalid(format!(
                        "line {line}: needs a resident reference, end on or after start, and a rate of at least 0"
                    )));
                }
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
            let rows: Vec<(u64, CqcRow)> = rows(text)?;
            count = rows.len();
            for (line, r) in rows {
                let location = users::location_by_cqc(tx, &r.cqc_location_id).map_err(at(line))?;
                if r.published_on < r.inspected_on {
                    return Err(ApiError::invalid(format!(
                        "line {line}: published before inspected"
                    )));
                }
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
