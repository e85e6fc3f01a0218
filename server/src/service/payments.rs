//! The payment schedule for a month, as JSON and as CSV for a council's finance system. Once a
//! period is issued its lines are kept; later changes show as adjustment lines, never edits.

use std::collections::BTreeMap;
use std::fmt::Write;

use accredit_shared::Engine;
use accredit_shared::calendar::{DateRange, parse_month};
use accredit_shared::money::Pence;
use accredit_shared::premium::{AdjustmentLine, IssuedLine, PaymentLine, compute_schedule};
use accredit_shared::withhold::ContractPeriodLine;
use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;
use serde_json::json;
use uuid::Uuid;

use crate::audit::{self, Entry};
use crate::auth::{Caller, Role};
use crate::csv;
use crate::error::ServiceError;
use crate::service::contracts;
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
    /// Contract periods ending this month (withhold and release), as issued for an issued month.
    pub releases: Vec<ContractPeriodLine>,
    /// Their totals.
    pub release_totals: ReleaseTotals,
    /// Differences in contract periods since the month was issued.
    pub release_adjustments: Vec<ReleaseAdjustment>,
    /// Total of the release adjustments (released now − released as issued), pence.
    pub release_adjustments_total_pence: i64,
    /// Provider names for the contract lines.
    pub providers: BTreeMap<Uuid, String>,
}

/// Totals of a month's contract periods, pence.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ReleaseTotals {
    /// At risk.
    pub at_risk_pence: i64,
    /// Released.
    pub released_pence: i64,
    /// On hold while a safeguarding enquiry is open.
    pub on_hold_pence: i64,
    /// Withheld.
    pub withheld_pence: i64,
}

impl ReleaseTotals {
    fn of(lines: &[ContractPeriodLine]) -> ReleaseTotals {
        let mut t = ReleaseTotals::default();
        for l in lines {
            t.at_risk_pence += l.at_risk.0;
            t.released_pence += l.released.0;
            t.on_hold_pence += l.on_hold.0;
            t.withheld_pence += l.withheld.0;
        }
        t
    }
}

/// A contract period whose outcome changed after its month was issued (a gate closed, a visit
/// revised, the contract edited): the issued line stays, and the difference is paid or
/// recovered by this adjustment.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ReleaseAdjustment {
    /// The contract.
    pub contract_id: Uuid,
    /// Its reference.
    pub reference: String,
    /// The provider.
    pub provider_id: Uuid,
    /// The contract period.
    pub period: DateRange,
    /// Released as issued.
    pub previously_released: Pence,
    /// Released now.
    pub released: Pence,
    /// On hold as issued.
    pub previously_on_hold: Pence,
    /// On hold now.
    pub on_hold: Pence,
    /// Released now − released as issued.
    pub delta: Pence,
}

/// The adjustments between issued contract lines and the same periods computed now. A period
/// issued but no longer computed (its contract shortened) is recovered in full; one computed
/// but not issued (a contract added later) is paid in full.
fn release_adjustments(
    issued: &[ContractPeriodLine],
    now: &[ContractPeriodLine],
) -> Vec<ReleaseAdjustment> {
    let key = |l: &ContractPeriodLine| (l.contract_id, l.period.from);
    let mut out = Vec::new();
    let now_by: BTreeMap<_, _> = now.iter().map(|l| (key(l), l)).collect();
    let issued_by: BTreeMap<_, _> = issued.iter().map(|l| (key(l), l)).collect();
    let keys: std::collections::BTreeSet<_> = now_by.keys().chain(issued_by.keys()).collect();
    for k in keys {
        let (was, is) = (issued_by.get(k), now_by.get(k));
        let Some(any) = is.or(was) else { continue };
        let (pr, po) = was.map_or((Pence::ZERO, Pence::ZERO), |l| (l.released, l.on_hold));
        let (r, o) = is.map_or((Pence::ZERO, Pence::ZERO), |l| (l.released, l.on_hold));
        if (pr, po) != (r, o) {
            out.push(ReleaseAdjustment {
                contract_id: any.contract_id,
                reference: any.reference.clone(),
                provider_id: any.provider_id,
                period: any.period,
                previously_released: pr,
                released: r,
                previously_on_hold: po,
                on_hold: o,
                delta: Pence(r.0 - pr.0),
            });
        }
    }
    out
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
    let releases_now = contracts::lines_ending_in(state, tx, caller, period)?;
    let run: Option<(String, String, String)> = tx
        .query_row(
            "SELECT issued_at, lines, releases FROM payment_runs WHERE period = ?1",
            [label],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()?;
    let (releases, release_adjustments) = match &run {
        None => (releases_now, Vec::new()),
        Some((_, _, issued)) => {
            // Providers see their own contracts' lines only, as issued.
            let issued: Vec<ContractPeriodLine> =
                serde_json::from_str::<Vec<ContractPeriodLine>>(issued)?
                    .into_iter()
                    .filter(|l| {
                        caller.role != Role::Provider || caller.provider_id == Some(l.provider_id)
                    })
                    .collect();
            let adj = release_adjustments(&issued, &releases_now);
            (issued, adj)
        }
    };
    let (issued_at, lines, adjustments) = match run.map(|(a, l, _)| (a, l)) {
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
    let mut providers = BTreeMap::new();
    for l in &releases {
        if let std::collections::btree_map::Entry::Vacant(e) = providers.entry(l.provider_id) {
            let name: Option<String> = tx
                .query_row(
                    "SELECT name FROM providers WHERE id = ?1",
                    [l.provider_id.to_string()],
                    |r| r.get(0),
                )
                .optional()?;
            e.insert(name.unwrap_or_default());
        }
    }
    Ok(PaymentsView {
        release_totals: ReleaseTotals::of(&releases),
        release_adjustments_total_pence: release_adjustments.iter().map(|a| a.delta.0).sum(),
        release_adjustments,
        releases,
        providers,
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
    let releases = contracts::lines_ending_in(state, tx, caller, period)?;
    tx.execute(
        "INSERT INTO payment_runs (period, issued_at, issued_by, lines, releases) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![
            label,
            now_text(),
            caller.user_id.to_string(),
            serde_json::to_string(&schedule.lines)?,
            serde_json::to_string(&releases)?
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
            details: json!({
                "lines": schedule.lines.len(),
                "total_pence": schedule.total.0,
                "contract_periods": releases.len(),
                "released_pence": ReleaseTotals::of(&releases).released_pence,
            }),
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

/// The file name of a month's payments CSV.
pub fn file_name(period: &str) -> String {
    format!("accredit-payments-{period}.csv")
}

/// The payments CSV's columns, in order. Premium lines fill the placement columns, contract
/// periods (`release` rows) the contract columns; both fill the amounts.
pub const CSV_COLUMNS: [&str; 32] = [
    "record_type",
    "period",
    "placement_id",
    "resident_ref",
    "location_id",
    "location_name",
    "funding",
    "from",
    "to",
    "tiers",
    "weekly_amounts",
    "days_payable",
    "days_on_hold",
    "days_suspended",
    "days_no_tier",
    "days_unpaid_absence",
    "days_ineligible",
    "amount_pence",
    "amount",
    "on_hold_pence",
    "on_hold",
    "previously_issued_pence",
    "adjustment_pence",
    "contract_id",
    "contract_reference",
    "provider_id",
    "provider_name",
    "contract_value_pence",
    "withhold_percent",
    "at_risk_pence",
    "withheld_pence",
    "release_reason",
];

/// One CSV row, filled by column name so no value can land in the wrong column.
struct Row([String; 32]);

impl Row {
    fn new(record_type: &str, period: &str) -> Row {
        let mut r = Row(std::array::from_fn(|_| String::new()));
        r.set("record_type", record_type);
        r.set("period", period);
        r
    }

    fn set(&mut self, column: &str, value: impl std::fmt::Display) {
        if let Some(i) = CSV_COLUMNS.iter().position(|c| *c == column) {
            self.0[i] = csv::field(&value.to_string()).into_owned();
        }
    }

    fn write(&self, out: &mut String) {
        let _ = writeln!(out, "{}", self.0.join(","));
    }
}

fn funding_text(f: accredit_shared::records::FundingType) -> String {
    serde_json::to_value(f)
        .ok()
        .and_then(|x| x.as_str().map(str::to_owned))
        .unwrap_or_default()
}

/// The schedule as CSV: one row per premium line with its components, then premium
/// adjustments, then one row per contract period settled this month (`release`) and their
/// adjustments (`release_adjustment`).
pub fn to_csv(v: &PaymentsView) -> String {
    let mut out = CSV_COLUMNS.join(",");
    out.push('\n');
    let location_name = |l: Option<Uuid>| {
        l.and_then(|l| v.locations.get(&l).cloned())
            .unwrap_or_default()
    };
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
        let mut r = Row::new("line", &v.period);
        r.set("placement_id", l.placement_id);
        r.set("resident_ref", &l.resident_ref);
        r.set("location_id", l.location_id);
        r.set("location_name", location_name(Some(l.location_id)));
        r.set("funding", funding_text(l.funding));
        r.set("from", l.period.from);
        r.set("to", l.period.to);
        r.set("tiers", tiers.join(";"));
        r.set("weekly_amounts", weekly.join(";"));
        // Released days are already among the payable days.
        r.set("days_payable", l.days_payable);
        r.set("days_on_hold", l.days_on_hold);
        r.set("days_suspended", l.days_suspended);
        r.set("days_no_tier", l.days_no_tier);
        r.set("days_unpaid_absence", l.days_unpaid_absence);
        r.set("days_ineligible", l.days_ineligible);
        r.set("amount_pence", l.amount.0);
        r.set("amount", pounds(l.amount));
        r.set("on_hold_pence", l.on_hold.0);
        r.set("on_hold", pounds(l.on_hold));
        r.write(&mut out);
    }
    for a in &v.adjustments {
        let mut r = Row::new("adjustment", &v.period);
        r.set("placement_id", a.placement_id);
        if let Some(l) = a.location_id {
            r.set("location_id", l);
        }
        r.set("location_name", location_name(a.location_id));
        r.set("from", a.period.from);
        r.set("to", a.period.to);
        r.set("amount_pence", a.recomputed.0);
        r.set("amount", pounds(a.recomputed));
        r.set("on_hold_pence", a.on_hold_delta.0);
        r.set("on_hold", pounds(a.on_hold_delta));
        r.set("previously_issued_pence", a.previously_issued.0);
        r.set("adjustment_pence", a.delta.0);
        r.write(&mut out);
    }
    let provider_name = |p: Uuid| v.providers.get(&p).cloned().unwrap_or_default();
    for l in &v.releases {
        let mut r = Row::new("release", &v.period);
        if let Some(loc) = l.location_id {
            r.set("location_id", loc);
        }
        r.set("location_name", location_name(l.location_id));
        r.set("from", l.period.from);
        r.set("to", l.period.to);
        r.set("amount_pence", l.released.0);
        r.set("amount", pounds(l.released));
        r.set("on_hold_pence", l.on_hold.0);
        r.set("on_hold", pounds(l.on_hold));
        r.set("contract_id", l.contract_id);
        r.set("contract_reference", &l.reference);
        r.set("provider_id", l.provider_id);
        r.set("provider_name", provider_name(l.provider_id));
        r.set("contract_value_pence", l.value.0);
        r.set("withhold_percent", l.withhold_percent.to_decimal_string(3));
        r.set("at_risk_pence", l.at_risk.0);
        r.set("withheld_pence", l.withheld.0);
        r.set("release_reason", &l.reason);
        r.write(&mut out);
    }
    for a in &v.release_adjustments {
        let mut r = Row::new("release_adjustment", &v.period);
        r.set("from", a.period.from);
        r.set("to", a.period.to);
        r.set("amount_pence", a.released.0);
        r.set("amount", pounds(a.released));
        r.set("on_hold_pence", a.on_hold.0);
        r.set("on_hold", pounds(a.on_hold));
        r.set("previously_issued_pence", a.previously_released.0);
        r.set("adjustment_pence", a.delta.0);
        r.set("contract_id", a.contract_id);
        r.set("contract_reference", &a.reference);
        r.set("provider_id", a.provider_id);
        r.set("provider_name", provider_name(a.provider_id));
        r.write(&mut out);
    }
    out
}
