//! Contracts for withhold and release (DOMAIN.md §6, Westminster mode): commissioners record
//! them, and each period's at-risk, released, held and withheld amounts are computed from the
//! shared engine's `withhold_release`, with its explanation. Providers see their own contracts;
//! monitors none. Every rule for a contract's fields lives in [`check`], which the API, the
//! portal and the CSV importer all call.

use accredit_shared::Engine;
use accredit_shared::api::ContractRequest;
use accredit_shared::calendar::DateRange;
use accredit_shared::money::Pence;
use accredit_shared::ratio::Ratio;
use accredit_shared::records::LocationRecords;
use accredit_shared::withhold::{Contract, ContractPeriodLine, withhold_release};
use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;
use serde_json::json;
use uuid::Uuid;

use crate::audit::{self, Entry};
use crate::auth::{Caller, Role};
use crate::error::{ServiceError, ServiceResult};
use crate::service::records::{Refusal, refuse};
use crate::state::{AppState, now_text};
use crate::tiers;

/// The form and request fields a refusal can name.
const FIELDS: [&str; 9] = [
    "reference",
    "provider_id",
    "location_id",
    "starts_on",
    "ends_on",
    "period_months",
    "value_per_period",
    "withhold_percent",
    "",
];

fn field(path: &str) -> &'static str {
    FIELDS.iter().find(|f| **f == path).copied().unwrap_or("")
}

/// A contract from the API's request; a withhold share that is not a percentage with at most
/// three decimals is refused at its field.
pub fn from_request(id: Uuid, r: &ContractRequest) -> Result<Contract, Refusal> {
    let withhold_percent = match r.withhold_percent {
        None => None,
        Some(v) => Some(Ratio::from_decimal(v).ok_or_else(|| {
            Refusal::new(
                "withhold_percent",
                "the share withheld must be a percentage with at most three decimals",
            )
        })?),
    };
    Ok(Contract {
        id,
        reference: r.reference.trim().to_owned(),
        provider_id: r.provider_id,
        location_id: r.location_id,
        starts_on: r.starts_on,
        ends_on: r.ends_on,
        period_months: r.period_months,
        value_per_period: Pence(r.value_per_period_pence),
        withhold_percent,
    })
}

/// Every rule a contract breaks, each naming its field: its own terms (whole periods, a value,
/// a share between 0 and 100%), a known provider, a location of that provider, and a reference
/// no other contract uses.
pub fn check(tx: &Connection, c: &Contract) -> ServiceResult<Vec<Refusal>> {
    let mut out: Vec<Refusal> = c
        .problems()
        .into_iter()
        .map(|p| Refusal::new(field(&p.path), p.message))
        .collect();
    let provider_known = tx
        .query_row(
            "SELECT 1 FROM providers WHERE id = ?1",
            [c.provider_id.to_string()],
            |_| Ok(()),
        )
        .optional()?
        .is_some();
    if !provider_known {
        out.push(Refusal::new(
            "provider_id",
            "Choose a provider from the list",
        ));
    } else if let Some(l) = c.location_id {
        match crate::access::location_provider(tx, l)? {
            None => out.push(Refusal::new(
                "location_id",
                "Choose a location from the list",
            )),
            Some(p) if p != c.provider_id => out.push(Refusal::new(
                "location_id",
                "The location must be one of the provider's",
            )),
            Some(_) => {}
        }
    }
    let taken = tx
        .query_row(
            "SELECT 1 FROM contracts WHERE reference = ?1 AND id <> ?2",
            params![c.reference.trim(), c.id.to_string()],
            |_| Ok(()),
        )
        .optional()?
        .is_some();
    if taken {
        out.push(Refusal::new(
            "reference",
            "Another contract has this reference",
        ));
    }
    Ok(out)
}

/// Stores a contract as it is (insert or replace), in the caller's transaction. Checked first.
pub(crate) fn store(tx: &Connection, c: &Contract) -> ServiceResult<()> {
    refuse(check(tx, c)?)?;
    let now = now_text();
    tx.prepare_cached(
        "INSERT INTO contracts (id, reference, provider_id, location_id, data, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)
         ON CONFLICT (id) DO UPDATE SET reference = excluded.reference, provider_id = excluded.provider_id,
           location_id = excluded.location_id, data = excluded.data, updated_at = excluded.updated_at",
    )?
    .execute(params![
        c.id.to_string(),
        c.reference,
        c.provider_id.to_string(),
        c.location_id.map(|l| l.to_string()),
        serde_json::to_string(c)?,
        now
    ])?;
    Ok(())
}

/// Adds a contract (commissioners); audited. Returns it as [`show`] does.
pub fn add(s: &AppState, caller: &Caller, c: Contract) -> ServiceResult<ContractView> {
    caller.require(&[Role::Commissioner])?;
    s.db.write(|tx| {
        if stored(tx, c.id)?.is_some() {
            return Err(ServiceError::conflict("a contract with this id exists"));
        }
        store(tx, &c)?;
        audit::record(
            tx,
            Some(caller),
            Entry {
                action: "contract.added",
                subject_type: "contract",
                subject_id: Some(c.id.to_string()),
                location_id: c.location_id,
                details: json!({ "reference": c.reference, "provider": c.provider_id }),
            },
        )?;
        show(s, tx, caller, c.id)
    })
}

/// Replaces a contract's terms (commissioners); audited with what it was. Periods already
/// issued keep their issued lines; a difference shows as an adjustment.
pub fn edit(s: &AppState, caller: &Caller, c: Contract) -> ServiceResult<ContractView> {
    caller.require(&[Role::Commissioner])?;
    s.db.write(|tx| {
        let Some(before) = stored(tx, c.id)? else {
            return Err(ServiceError::not_found("contract"));
        };
        store(tx, &c)?;
        audit::record(
            tx,
            Some(caller),
            Entry {
                action: "contract.updated",
                subject_type: "contract",
                subject_id: Some(c.id.to_string()),
                location_id: c.location_id,
                details: json!({ "before": before, "after": c }),
            },
        )?;
        show(s, tx, caller, c.id)
    })
}

fn read_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<String> {
    r.get(0)
}

fn parse(text: &str) -> ServiceResult<Contract> {
    Ok(serde_json::from_str(text)?)
}

/// A stored contract.
pub fn stored(tx: &Connection, id: Uuid) -> ServiceResult<Option<Contract>> {
    tx.query_row(
        "SELECT data FROM contracts WHERE id = ?1",
        [id.to_string()],
        read_row,
    )
    .optional()?
    .map(|t| parse(&t))
    .transpose()
}

/// A contract by its reference (the importer's natural key).
pub fn by_reference(tx: &Connection, reference: &str) -> ServiceResult<Option<Contract>> {
    tx.query_row(
        "SELECT data FROM contracts WHERE reference = ?1",
        [reference.trim()],
        read_row,
    )
    .optional()?
    .map(|t| parse(&t))
    .transpose()
}

/// The contracts a caller may see: all for commissioners and leads, a provider's own for its
/// users, none for monitors (refused).
fn visible(tx: &Connection, caller: &Caller) -> ServiceResult<Vec<Contract>> {
    caller.require(&[Role::Commissioner, Role::Lead, Role::Provider])?;
    let texts: Vec<String> = if caller.role == Role::Provider {
        let Some(p) = caller.provider_id else {
            return Ok(Vec::new());
        };
        let mut stmt =
            tx.prepare("SELECT data FROM contracts WHERE provider_id = ?1 ORDER BY reference")?;
        stmt.query_map([p.to_string()], read_row)?
            .collect::<Result<_, _>>()?
    } else {
        let mut stmt = tx.prepare("SELECT data FROM contracts ORDER BY reference")?;
        stmt.query_map([], read_row)?.collect::<Result<_, _>>()?
    };
    texts.iter().map(|t| parse(t)).collect()
}

fn may_see(caller: &Caller, c: &Contract) -> bool {
    match caller.role {
        Role::Commissioner | Role::Lead => true,
        Role::Provider => caller.provider_id == Some(c.provider_id),
        Role::Monitor => false,
    }
}

/// The records of every location a contract covers.
fn covered_records(tx: &Connection, c: &Contract) -> ServiceResult<Vec<LocationRecords>> {
    let ids = match c.location_id {
        Some(l) => vec![l],
        None => tiers::provider_locations(tx, c.provider_id)?,
    };
    let mut out = Vec::new();
    for id in ids {
        if let Some(r) = tiers::records(tx, id)? {
            out.push(r);
        }
    }
    Ok(out)
}

fn compute(
    engine: &Engine<'_>,
    records: &[LocationRecords],
    c: &Contract,
    period: DateRange,
) -> ServiceResult<ContractPeriodLine> {
    let refs: Vec<&LocationRecords> = records.iter().collect();
    withhold_release(engine, &refs, c, period)
        .map_err(|e| ServiceError::internal(format!("withhold/release for {}: {e}", c.id)))
}

/// A contract with its names, for lists.
#[derive(Clone, Debug, Serialize)]
pub struct ContractSummary {
    /// The contract.
    #[serde(flatten)]
    pub contract: Contract,
    /// Its provider's name.
    pub provider_name: String,
    /// Its location's name, for a single-location contract.
    pub location_name: Option<String>,
}

/// One period of a contract: its outcome once it has ended.
#[derive(Clone, Debug, Serialize)]
pub struct PeriodView {
    /// The period.
    pub period: DateRange,
    /// Its outcome, computed for periods that have ended (today's data, as the payments page
    /// shows it until the month is issued).
    pub line: Option<ContractPeriodLine>,
}

/// A contract, its names and every period.
#[derive(Clone, Debug, Serialize)]
pub struct ContractView {
    /// The contract and names.
    #[serde(flatten)]
    pub summary: ContractSummary,
    /// Every period, in order.
    pub periods: Vec<PeriodView>,
}

fn summary(tx: &Connection, c: Contract) -> ServiceResult<ContractSummary> {
    let provider_name = tx
        .query_row(
            "SELECT name FROM providers WHERE id = ?1",
            [c.provider_id.to_string()],
            |r| r.get(0),
        )
        .optional()?
        .unwrap_or_default();
    let location_name = match c.location_id {
        Some(l) => tiers::location(tx, l)?.map(|(l, _)| l.name),
        None => None,
    };
    Ok(ContractSummary {
        contract: c,
        provider_name,
        location_name,
    })
}

/// The contracts the caller may see, by reference.
pub fn list(tx: &Connection, caller: &Caller) -> ServiceResult<Vec<ContractSummary>> {
    visible(tx, caller)?
        .into_iter()
        .map(|c| summary(tx, c))
        .collect()
}

/// One contract with each period; periods that have ended carry their outcome.
pub fn show(
    s: &AppState,
    tx: &Connection,
    caller: &Caller,
    id: Uuid,
) -> ServiceResult<ContractView> {
    caller.require(&[Role::Commissioner, Role::Lead, Role::Provider])?;
    let c = stored(tx, id)?
        .filter(|c| may_see(caller, c))
        .ok_or_else(|| ServiceError::not_found("contract"))?;
    let today = s.today();
    let rules = s.rules();
    let engine = Engine::new(&s.packs, &rules);
    let records = covered_records(tx, &c)?;
    let mut periods = Vec::new();
    for p in c.periods() {
        let line = if p.to < today {
            Some(compute(&engine, &records, &c, p)?)
        } else {
            None
        };
        periods.push(PeriodView { period: p, line });
    }
    Ok(ContractView {
        summary: summary(tx, c)?,
        periods,
    })
}

/// The outcomes of the contract periods that end within `range` (a payment month), for the
/// contracts the caller may see, by reference.
pub fn lines_ending_in(
    s: &AppState,
    tx: &Connection,
    caller: &Caller,
    range: DateRange,
) -> ServiceResult<Vec<ContractPeriodLine>> {
    let rules = s.rules();
    let engine = Engine::new(&s.packs, &rules);
    let mut out = Vec::new();
    for c in visible(tx, caller)? {
        let periods = c.periods_ending_in(range);
        if periods.is_empty() {
            continue;
        }
        let records = covered_records(tx, &c)?;
        for p in periods {
            out.push(compute(&engine, &records, &c, p)?);
        }
    }
    Ok(out)
}
