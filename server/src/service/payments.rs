//! The payment schedule for a month, as JSON and as CSV for a council's finance system. Once a
//! period is issued its lines are kept; later changes show as adjustment lines, never edits.

use std::collections::BTreeMap;
use std::fmt::Write;

use accredit_shared::Engine;
use accredit_shared::calendar::{DateRange, parse_month};
use accredit_shared::money::Pence;
use accredit_shared::premium::{AdjustmentLine, IssuedLine, PaymentLine, compute_schedule};
use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;
use serde_json::json;
use uuid::Uuid;

use crate::audit::{self, Entry};
use crate::auth::{Caller, Role};
use crate::csv;
use crate::error::ServiceError;
use crate::state::{AppState, now_text};
use crate::tiers;

/// Parses `YYYY-MM` into the month's range.
pub fn parse_period(text: &str) -> Result<DateRange, ServiceError> {
    parse_month(text).map_err(|e| {
        ServiceError::bad_request(format!("period must be a month, written YYYY-MM: {e}"))
    })
}

/// The schedule as the API returns it.
#[derive(Serialize)]
pub struct PaymentsView {
    /// `YYYY-MM`.
    pub period: String,
    /// First day.
    pub from: String,
    /// Last day.
    pub to: String,
    /// Whether finance has issued this period.
    pub issued: bool,
    /// When, if it was.
    pub issued_at: Option<String>,
    /// The lines (as issued, for an issued period).
    pub lines: Vec<PaymentLine>,
    /// Adjustments since issue.
    pub adjustments: Vec<AdjustmentLine>,
    /// Total of the lines, pence.
    pub total_pence: i64,
    /// Total on hold, pence.
    pub total_on_hold_pence: i64,
    /// Total of the adjustments, pence.
    pub adjustments_total_pence: i64,
    /// Location names for the lines.
    pub locations: BTreeMap<Uuid, String>,
}

fn computed_lines(
    state: &AppState,
    tx: &Connection,
    period: DateRange,
    only: &[Uuid],
) -> Result<accredit_shared::premium::Schedule, ServiceError> {
    let mut records = Vec::new();
    let mut placements = Vec::new();
    for id in only {
        if let Some(r) = tiers::records(tx, *id)? {
            records.push(r);
            placements.extend(tiers::placements(tx, *id)?);
        }
    }
    let rules = state.rules();
    let engine = Engine::new(&state.packs, &rules);
    Ok(compute_schedule(&engine, &records, &placements, period))
}

/// The schedule for `period`, limited to the locations the caller may see.
pub fn view(
    state: &AppState,
    tx: &Connection,
    caller: &Caller,
    label: &str,
) -> Result<PaymentsView, ServiceError> {
    caller.require(&[Role::Commissioner, Role::Lead, Role::Provider])?;
    let period = parse_period(label)?;
    let visible = crate::access::visible_locations(tx, caller)?;
    let schedule = computed_lines(state, tx, period, &visible)?;
    let run: Option<(String, String)> = tx
        .query_row(
            "SELECT issued_at, lines FROM payment_runs WHERE period = ?1",
            [label],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    let (issued_at, lines, adjustments) = match run {
        None => (None, schedule.lines.clone(), Vec::new()),
        Some((at, lines)) => {
            let visible_set: std::collections::HashSet<Uuid> = visible.iter().copied().collect();
            let issued: Vec<PaymentLine> = serde_json::from_str::<Vec<PaymentLine>>(&lines)?
                .into_iter()
                .filter(|l| visible_set.contains(&l.location_id))
                .collect();
            let as_issued: Vec<IssuedLine> = issued
                .iter()
                .map(|l| IssuedLine {
                    placement_id: l.placement_id,
                    period: l.period,
                    amount: l.amount,
                    on_hold: l.on_hold,
                })
                .collect();
            let adj = accredit_shared::premium::adjustments(&as_issued, &schedule)
                .map_err(|e| ServiceError::internal(format!("adjustments: {e}")))?;
            (Some(at), issued, adj)
        }
    };
    let mut locations = BTreeMap::new();
    for l in &lines {
        if let std::collections::btree_map::Entry::Vacant(e) = locations.entry(l.location_id)
            && let Some((loc, _)) = tiers::location(tx, l.location_id)?
        {
            e.insert(loc.name);
        }
    }
    Ok(PaymentsView {
        period: label.to_owned(),
        from: period.from.to_string(),
        to: period.to.to_string(),
        issued: issued_at.is_some(),
        issued_at,
        total_pence: lines.iter().map(|l| l.amount.0).sum(),
        total_on_hold_pence: lines.iter().map(|l| l.on_hold.0).sum(),
        adjustments_total_pence: adjustments.iter().map(|a| a.delta.0).sum(),
        lines,
        adjustments,
        locations,
    })
}

/// A commissioner issues a period: its lines are kept as they are now.
pub fn issue(
    state: &AppState,
    tx: &Connection,
    caller: &Caller,
    label: &str,
) -> Result<PaymentsView, ServiceError> {
    caller.require(&[Role::Commissioner])?;
    let period = parse_period(label)?;
    let exists = tx
        .query_row(
            "SELECT 1 FROM payment_runs WHERE period = ?1",
            [label],
            |_| Ok(()),
        )
        .optional()?
        .is_some();
    if exists {
        return Err(ServiceError::conflict(format!(
            "{label} has already been issued; later changes appear as adjustment lines"
        )));
    }
    let all = tiers::all_locations(tx)?;
    let schedule = computed_lines(state, tx, period, &all)?;
    tx.execute(
        "INSERT INTO payment_runs (period, issued_at, issued_by, lines) VALUES (?1, ?2, ?3, ?4)",
        params![
            label,
            now_text(),
            caller.user_id.to_string(),
            serde_json::to_string(&schedule.lines)?
        ],
    )?;
    audit::record(
        tx,
        Some(caller),
        Entry {
            action: "payments.issued",
            subject_type: "payment_run",
            subject_id: Some(label.to_owned()),
            location_id: None,
            details: json!({ "lines": schedule.lines.len(), "total_pence": schedule.total.0 }),
        },
    )?;
    view(state, tx, caller, label)
}

/// A location's placements on one day, counted as the payment schedule counts them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PlacementCount {
    /// Placements running that day (started, not ended, the resident alive), however funded.
    pub running: usize,
    /// Of which, those the schedule would pay a premium for that day: a funding type the rules
    /// in force pay for, and not in a hospital stay beyond the paid allowance.
    pub earning: usize,
    /// The funding types of the running placements that earn nothing, in words.
    pub not_earning: Vec<&'static str>,
}

/// Counts a location's placements on `day` with the very function that computes payment lines
/// (a one-day schedule), so the figure cannot drift from what the payments page pays.
pub fn placements_on(
    engine: &Engine<'_>,
    records: &accredit_shared::records::LocationRecords,
    placements: &[accredit_shared::records::Placement],
    day: chrono::NaiveDate,
) -> PlacementCount {
    let running: Vec<_> = placements
        .iter()
        .filter(|p| p.location_id == records.location.id)
        .filter(|p| p.start <= day && p.last_day().is_none_or(|last| day <= last))
        .collect();
    let Some(one_day) = DateRange::new(day, day) else {
        return PlacementCount::default();
    };
    let schedule = compute_schedule(engine, std::slice::from_ref(records), placements, one_day);
    let earning: Vec<Uuid> = schedule
        .lines
        .iter()
        .filter(|l| l.segments.iter().any(|s| s.days_counted > 0))
        .map(|l| l.placement_id)
        .collect();
    let mut not_earning: Vec<&'static str> = running
        .iter()
        .filter(|p| !earning.contains(&p.id))
        .map(|p| p.funding.label())
        .collect();
    not_earning.sort_unstable();
    not_earning.dedup();
    PlacementCount {
        running: running.len(),
        earning: earning.len(),
        not_earning,
    }
}

/// What the council pays a week across locations today: each location's weekly premium (only
/// while it is paid, not on hold or suspended) times its placements that earn it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WeeklyCost {
    /// Pence a week.
    pub pence: i64,
    /// Placements that earn a premium.
    pub placements: usize,
    /// Placements earning a premium that is not being paid now (on hold, suspended, forfeited).
    pub held_placements: usize,
    /// Earning placements by location, for the list.
    pub by_location: BTreeMap<Uuid, usize>,
}

/// The weekly cost of premiums today at `locations` (those the caller may see).
pub fn weekly_cost(
    state: &AppState,
    tx: &Connection,
    caller: &Caller,
) -> Result<WeeklyCost, ServiceError> {
    let day = state.today();
    let rules = state.rules();
    let engine = Engine::new(&state.packs, &rules);
    let mut out = WeeklyCost::default();
    for id in crate::access::visible_locations(tx, caller)? {
        let Some(records) = tiers::records(tx, id)? else {
            continue;
        };
        let placements = tiers::placements(tx, id)?;
        let count = placements_on(&engine, &records, &placements, day).earning;
        let det = engine.determine(&records, day);
        if det.status.is_paid() {
            out.pence += det.rate.weekly.0 * count as i64;
        } else if det.tier.is_some() {
            out.held_placements += count;
        }
        out.placements += count;
        out.by_location.insert(id, count);
    }
    Ok(out)
}

fn pounds(p: Pence) -> String {
    p.to_pounds_string()
}

/// The schedule as CSV: one row per line with its components, then adjustment rows.
pub fn to_csv(v: &PaymentsView) -> String {
    let mut out = String::from(
        "record_type,period,placement_id,resident_ref,location_id,location_name,funding,from,to,tiers,weekly_amounts,days_payable,days_on_hold,days_suspended,days_no_tier,days_unpaid_absence,days_ineligible,amount_pence,amount,on_hold_pence,on_hold,previously_issued_pence,adjustment_pence\n",
    );
    for l in &v.lines {
        let tiers: Vec<String> = l
            .segments
            .iter()
            .map(|s| s.tier.clone().unwrap_or_else(|| "none".into()))
            .collect();
        let weekly: Vec<String> = l
            .segments
            .iter()
            .map(|s| s.weekly.to_pounds_string())
            .collect();
        let _ = writeln!(
            out,
            "line,{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},,",
            v.period,
            l.placement_id,
            csv::field(&l.resident_ref),
            l.location_id,
            csv::field(v.locations.get(&l.location_id).map_or("", String::as_str)),
            serde_json::to_value(l.funding)
                .ok()
                .and_then(|x| x.as_str().map(str::to_owned))
                .unwrap_or_default(),
            l.period.from,
            l.period.to,
            csv::field(&tiers.join(";")),
            csv::field(&weekly.join(";")),
            // Released days are already among the payable days.
            l.days_payable,
            l.days_on_hold,
            l.days_suspended,
            l.days_no_tier,
            l.days_unpaid_absence,
            l.days_ineligible,
            l.amount.0,
            pounds(l.amount),
            l.on_hold.0,
            pounds(l.on_hold),
        );
    }
    for a in &v.adjustments {
        let location = a.location_id.map(|l| l.to_string()).unwrap_or_default();
        let name = a
            .location_id
            .and_then(|l| v.locations.get(&l))
            .map_or("", String::as_str);
        let _ = writeln!(
            out,
            "adjustment,{},{},,{},{},,{},{},,,,,,,,,{},{},{},{},{},{}",
            v.period,
            a.placement_id,
            location,
            csv::field(name),
            a.period.from,
            a.period.to,
            a.recomputed.0,
            pounds(a.recomputed),
            a.on_hold_delta.0,
            pounds(a.on_hold_delta),
            a.previously_issued.0,
            a.delta.0,
        );
    }
    out
}
