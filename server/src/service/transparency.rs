//! The Local Government Transparency Code list for a month: what the council pays each provider
//! under the scheme, one row per provider whose total is over £500, as CSV in the published
//! column layout.
//!
//! A provider's amount is the sum of a list of payment items, each from one source: the month's
//! premium lines and the contract money released in it (withhold and release).

use std::collections::BTreeMap;

use rusqlite::Connection;
use serde::Serialize;
use uuid::Uuid;

use crate::auth::{Caller, Role};
use crate::csv;
use crate::db::stored_id;
use crate::error::ServiceError;
use crate::service::payments;
use crate::state::AppState;

/// The Code asks for "each individual item of expenditure that exceeds £500".
pub const THRESHOLD_PENCE: i64 = 50_000;

/// The columns, in order. The names are those of the spending-over-£500 files English councils
/// publish in the layout of the Local Public Data Panel's spending data guidance, as adopted
/// for the Local Government Transparency Code 2015 (e.g. Devon County Council's
/// `DCCSpendingOver500_*.csv`: "Name of Body", "Date", "Transaction Number", "Amount",
/// "Supplier Name", "Supplier ID", "Expense Area", "Expense Type"), with the Code 2015's
/// further required fields (paragraph on expenditure exceeding £500: "summary of the purpose
/// of the expenditure", "Value Added Tax that cannot be recovered", "merchant category")
/// named as the Code names them.
pub const COLUMNS: &[&str] = &[
    "Name of Body",
    "Date",
    "Transaction Number",
    "Amount",
    "Irrecoverable VAT",
    "Supplier Name",
    "Supplier ID",
    "Expense Area",
    "Expense Type",
    "Purpose of Expenditure",
    "Merchant Category",
];

/// Where a payment item comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// A premium payment line of the month's schedule.
    Premium,
    /// Contract money released for a contract period ending in the month.
    Release,
}

/// One amount paid to a provider in the month.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PaymentItem {
    /// The provider paid.
    pub provider_id: Uuid,
    /// Where it comes from.
    pub source: Source,
    /// Pence.
    pub amount_pence: i64,
}

/// One provider's row.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Row {
    /// The reference written in "Transaction Number".
    pub transaction_number: String,
    /// The provider.
    pub provider_id: Uuid,
    /// Its name.
    pub provider_name: String,
    /// The sum of its items, pence.
    pub amount_pence: i64,
    /// Of which premiums, pence.
    pub premium_pence: i64,
    /// Of which contract money released, pence.
    pub released_pence: i64,
    /// How many items made it.
    pub items: usize,
}

/// The month's list.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TransparencyView {
    /// `YYYY-MM`.
    pub period: String,
    /// The council's name ("Name of Body").
    pub council: String,
    /// The payment date written: the last day of the month.
    pub paid_on: chrono::NaiveDate,
    /// Providers paid over £500, by name.
    pub rows: Vec<Row>,
    /// Their total, pence.
    pub total_pence: i64,
    /// Providers paid something, but not over £500 (left out, as the Code allows).
    pub under_threshold: usize,
}

/// Every payment item of the month: the schedule's premium lines, each for the provider of its
/// location, and the contract money released for contract periods ending in the month (both
/// as issued, once the month is issued).
pub fn items(
    state: &AppState,
    tx: &Connection,
    caller: &Caller,
    period: &str,
) -> Result<Vec<PaymentItem>, ServiceError> {
    let schedule = payments::view(state, tx, caller, period)?;
    let providers = location_providers(tx)?;
    let mut out: Vec<PaymentItem> = schedule
        .lines
        .iter()
        .filter(|l| l.amount.0 != 0)
        .map(|l| {
            let provider_id = *providers.get(&l.location_id).ok_or_else(|| {
                ServiceError::internal(format!("location {} has no provider", l.location_id))
            })?;
            Ok(PaymentItem {
                provider_id,
                source: Source::Premium,
                amount_pence: l.amount.0,
            })
        })
        .collect::<Result<_, ServiceError>>()?;
    out.extend(
        schedule
            .releases
            .iter()
            .filter(|r| r.released.0 != 0)
            .map(|r| PaymentItem {
                provider_id: r.provider_id,
                source: Source::Release,
                amount_pence: r.released.0,
            }),
    );
    Ok(out)
}

fn location_providers(tx: &Connection) -> Result<BTreeMap<Uuid, Uuid>, ServiceError> {
    let mut stmt = tx.prepare("SELECT id, provider_id FROM locations")?;
    let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?;
    let mut out = BTreeMap::new();
    for row in rows {
        let (l, p) = row?;
        out.insert(stored_id(&l)?, stored_id(&p)?);
    }
    Ok(out)
}

/// The council's name: the `--council-name` setting, or the name of the scheme in force.
pub fn council_name(state: &AppState) -> String {
    if let Some(name) = state.config.council_name.clone() {
        return name;
    }
    state
        .rules()
        .in_force(state.today())
        .map(|r| r.name.clone())
        .unwrap_or_default()
}

/// The month's list for commissioners and leads.
pub fn view(
    state: &AppState,
    tx: &Connection,
    caller: &Caller,
    period: &str,
) -> Result<TransparencyView, ServiceError> {
    caller.require(&[Role::Commissioner, Role::Lead])?;
    let range = payments::parse_period(period)?;
    // Per provider: premiums, releases, and how many items.
    let mut sums: BTreeMap<Uuid, (i64, i64, usize)> = BTreeMap::new();
    for item in items(state, tx, caller, period)? {
        let s = sums.entry(item.provider_id).or_default();
        match item.source {
            Source::Premium => s.0 += item.amount_pence,
            Source::Release => s.1 += item.amount_pence,
        }
        s.2 += 1;
    }
    let names = crate::service::locations::provider_names(tx)?;
    let mut rows: Vec<Row> = Vec::new();
    let mut under_threshold = 0;
    for (provider_id, (premium_pence, released_pence, items)) in sums {
        let amount_pence = premium_pence + released_pence;
        if amount_pence <= THRESHOLD_PENCE {
            under_threshold += 1;
            continue;
        }
        let provider_name = names.get(&provider_id).cloned().ok_or_else(|| {
            ServiceError::internal(format!("provider {provider_id} has no stored name"))
        })?;
        rows.push(Row {
            transaction_number: String::new(),
            provider_id,
            provider_name,
            amount_pence,
            premium_pence,
            released_pence,
            items,
        });
    }
    rows.sort_by(|a, b| {
        (a.provider_name.to_lowercase(), a.provider_id)
            .cmp(&(b.provider_name.to_lowercase(), b.provider_id))
    });
    let compact = period.replace('-', "");
    for (i, r) in rows.iter_mut().enumerate() {
        r.transaction_number = format!("AQP-{compact}-{:05}", i + 1);
    }
    Ok(TransparencyView {
        period: period.to_owned(),
        council: council_name(state),
        paid_on: range.to,
        total_pence: rows.iter().map(|r| r.amount_pence).sum(),
        rows,
        under_threshold,
    })
}

/// The file name of a month's list.
pub fn file_name(period: &str) -> String {
    format!("accredit-spend-over-500-{period}.csv")
}

/// The list as CSV, in the published column layout. Dates as the layout writes them
/// (`DD/MM/YYYY`), amounts in pounds with two decimals.
pub fn to_csv(v: &TransparencyView) -> String {
    let mut out = String::new();
    csv::push_line(&mut out, COLUMNS.iter().copied());
    let date = v.paid_on.format("%d/%m/%Y").to_string();
    let month = v.paid_on.format("%B %Y");
    for r in &v.rows {
        let (expense_type, purpose) = match (r.premium_pence != 0, r.released_pence != 0) {
            (true, true) => (
                "Care quality premium and contract release",
                format!(
                    "Quality accreditation premium and withheld contract payment released for {month}"
                ),
            ),
            (false, true) => (
                "Contract release",
                format!("Withheld contract payment released on quality for {month}"),
            ),
            _ => (
                "Care home quality premium",
                format!("Quality accreditation premium for {month}"),
            ),
        };
        let amount = accredit_shared::money::Pence(r.amount_pence).to_pounds_string();
        let supplier_id = r.provider_id.to_string();
        csv::push_line(
            &mut out,
            [
                v.council.as_str(),
                &date,
                &r.transaction_number,
                &amount,
                "0.00",
                &r.provider_name,
                &supplier_id,
                "Adult Social Care",
                expense_type,
                &purpose,
                "Social care",
            ],
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_list_is_written_in_the_published_layout() {
        let v = TransparencyView {
            period: "2026-11".into(),
            council: "Blackpool Council".into(),
            paid_on: chrono::NaiveDate::from_ymd_opt(2026, 11, 30).unwrap_or_default(),
            rows: vec![Row {
                transaction_number: "AQP-202611-00001".into(),
                provider_id: Uuid::nil(),
                provider_name: "Coastal Care, Ltd".into(),
                amount_pence: 123_456,
                premium_pence: 123_456,
                released_pence: 0,
                items: 3,
            }],
            total_pence: 123_456,
            under_threshold: 1,
        };
        let csv = to_csv(&v);
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(
            lines,
            [
                "Name of Body,Date,Transaction Number,Amount,Irrecoverable VAT,Supplier Name,Supplier ID,Expense Area,Expense Type,Purpose of Expenditure,Merchant Category",
                "Blackpool Council,30/11/2026,AQP-202611-00001,1234.56,0.00,\"Coastal Care, Ltd\",00000000-0000-0000-0000-000000000000,Adult Social Care,Care home quality premium,Quality accreditation premium for November 2026,Social care",
            ]
        );
    }
}
