//! Exports for business intelligence: visits, answers, determinations over time, actions and the
//! locations register, each as CSV or JSON with the same documented columns, filtered by an
//! optional date range. Rows are produced one at a time and written as they come, so a national
//! export (3 million answers) never sits in memory whole. Commissioners and leads only.
//!
//! Scores come from the shared scoring function with the rule set in force on the visit's day,
//! as the report and the tier engine compute them; no score is worked out differently here.

use std::collections::HashMap;
use std::io::Write;

use accredit_shared::Determination;
use accredit_shared::calendar::parse_date;
use accredit_shared::records::Answer;
use accredit_shared::scoring::{ScoreSummary, score};
use accredit_shared::visit::{ActionStatus, VisitSnapshot};
use chrono::NaiveDate;
use rusqlite::Connection;
use serde::Serialize;
use uuid::Uuid;

use crate::auth::{Caller, Role};
use crate::csv;
use crate::db::{stored_date, stored_id};
use crate::error::ServiceError;
use crate::state::AppState;

/// One export's column: its name (the CSV header and the JSON field) and what it holds.
#[derive(Clone, Copy, Debug)]
pub struct Column {
    /// The name, as in the CSV header and the JSON objects.
    pub name: &'static str,
    /// What it holds, for API.md and the exports page.
    pub description: &'static str,
}

const fn col(name: &'static str, description: &'static str) -> Column {
    Column { name, description }
}

/// The columns of the visits export.
pub const VISIT_COLUMNS: &[Column] = &[
    col("visit_id", "The visit's id"),
    col("location_id", "The location's id"),
    col("location_name", "The location's name"),
    col("cqc_location_id", "The location's CQC location ID"),
    col("provider_name", "The provider's name"),
    col(
        "visit_type",
        "`annual`, `unannounced`, `follow_up`, `concern_led` or `themed`",
    ),
    col(
        "announced",
        "Whether the provider was told in advance (`true`/`false`)",
    ),
    col(
        "visited_on",
        "The day of the visit (`YYYY-MM-DD`); the date range filters on it",
    ),
    col("status", "`signed_off`, `shared` or `published`"),
    col(
        "revision",
        "The revision the row describes: the visit's current one",
    ),
    col(
        "shared_on",
        "When the report was shared with the provider, if it was",
    ),
    col("published_on", "When it was published, if it was"),
    col("pack_id", "The framework pack scored against"),
    col("pack_version", "Its version"),
    col(
        "rule_set_version",
        "The rule set whose scoring rules were applied (in force on the visit's day)",
    ),
    col("criteria", "Criteria in the pack"),
    col("scored", "Criteria given a score"),
    col("not_applicable", "Criteria answered not applicable"),
    col("not_assessed", "Criteria not assessed or not answered"),
    col("critical_failures", "Critical criteria failed"),
    col(
        "conclusive",
        "Whether the visit can set a tier (`true`/`false`)",
    ),
    col(
        "overall_percent",
        "Overall score, percent to two decimals; empty when nothing was scored",
    ),
    col("safe_percent", "Safe domain score, percent"),
    col("effective_percent", "Effective domain score, percent"),
    col("caring_percent", "Caring domain score, percent"),
    col("responsive_percent", "Responsive domain score, percent"),
    col("well_led_percent", "Well-led domain score, percent"),
    col(
        "other_domains",
        "Scores of any other domains, as `id=percent` separated by `;`",
    ),
];

/// The columns of the answers export.
pub const ANSWER_COLUMNS: &[Column] = &[
    col("visit_id", "The visit's id"),
    col(
        "revision",
        "The revision answered (the visit's current one)",
    ),
    col("location_id", "The location's id"),
    col("location_name", "The location's name"),
    col(
        "visited_on",
        "The day of the visit; the date range filters on it",
    ),
    col("visit_status", "`signed_off`, `shared` or `published`"),
    col("pack_id", "The framework pack"),
    col(
        "pack_version",
        "Its version: criteria are compared only within one version",
    ),
    col("domain_id", "The criterion's domain"),
    col("standard_id", "Its standard (quality statement)"),
    col("criterion_id", "The criterion"),
    col(
        "critical",
        "Whether a failure caps the tier (`true`/`false`)",
    ),
    col("weight", "Its weight within the domain"),
    col(
        "answer",
        "`score`, `not_applicable`, `not_assessed` or `unanswered`",
    ),
    col("score", "The score, when the answer is `score`"),
    col("scale_min", "The lowest score on its scale"),
    col("scale_max", "The highest"),
    col("notes", "The monitor's notes"),
];

/// The columns of the determinations export.
pub const DETERMINATION_COLUMNS: &[Column] = &[
    col("location_id", "The location's id"),
    col("location_name", "The location's name"),
    col("cqc_location_id", "Its CQC location ID"),
    col("provider_name", "The provider's name"),
    col("day", "The day determined; the date range filters on it"),
    col(
        "trigger",
        "What caused it (`visit published`, `cqc_rating.recorded`, `import`, …)",
    ),
    col("tier", "The tier held; empty for none"),
    col(
        "previous_tier",
        "The tier before this change; empty for none or for the first",
    ),
    col(
        "weekly_premium_pence",
        "Weekly premium per placement, pence",
    ),
    col("weekly_premium", "The same in pounds"),
    col(
        "previous_weekly_premium_pence",
        "The weekly premium before, pence; empty for the first",
    ),
    col(
        "premium_status",
        "`paid`, `on_hold`, `suspended`, `no_tier`, …",
    ),
    col(
        "previous_premium_status",
        "The status before; empty for the first",
    ),
    col("rule_set_version", "The rule set applied"),
    col("visit_id", "The visit whose scores were used, if any"),
    col("visit_revision", "Its revision"),
    col("overall_percent", "That visit's overall score, percent"),
    col("cqc_rating", "The CQC overall rating in force, if any"),
    col("computed_at", "When it was stored (UTC)"),
];

/// The columns of the actions export.
pub const ACTION_COLUMNS: &[Column] = &[
    col("action_id", "The action's id"),
    col("visit_id", "The visit that raised it"),
    col("location_id", "The location's id"),
    col("location_name", "The location's name"),
    col("provider_name", "The provider's name"),
    col("raised_on", "The day of the visit that raised it"),
    col("criterion_id", "The criterion it follows from, if any"),
    col("priority", "`low`, `medium` or `high`"),
    col("description", "What must be done"),
    col("owner", "Who at the provider owns it"),
    col(
        "due_on",
        "When it is due; the date range filters on it (on `raised_on` when there is none)",
    ),
    col(
        "state",
        "`open`, `overdue`, `completed` or `withdrawn` (overdue: open after its due day)",
    ),
    col("completed_on", "When it was completed"),
    col("responses", "Responses from the provider"),
    col("last_response_at", "When the latest response came (UTC)"),
    col("visit_status", "The visit's status"),
];

/// The columns of the locations register.
pub const LOCATION_COLUMNS: &[Column] = &[
    col("location_id", "The location's id"),
    col("cqc_location_id", "Its CQC location ID"),
    col("name", "Its name"),
    col("address", "Its address"),
    col("service_type", "`residential`, `nursing` or `home_care`"),
    col("provider_id", "The provider's id"),
    col("provider_name", "The provider's name"),
    col(
        "registered_from",
        "First day registered; the date range filters on it",
    ),
    col("registered_to", "Last day registered, if it has ended"),
    col(
        "tier",
        "The tier at the latest determination; empty for none",
    ),
    col(
        "weekly_premium_pence",
        "Its weekly premium per placement, pence",
    ),
    col("weekly_premium", "The same in pounds"),
    col("premium_status", "Its premium status"),
    col("determined_on", "The day of that determination"),
];

/// The exports there are.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Export {
    /// One row per visit.
    Visits,
    /// One row per visit and criterion.
    Answers,
    /// One row per location and change of tier, premium or status.
    Determinations,
    /// One row per action.
    Actions,
    /// One row per location.
    Locations,
}

impl Export {
    /// Every export, in the order the page lists them.
    pub const ALL: [Export; 5] = [
        Export::Visits,
        Export::Answers,
        Export::Determinations,
        Export::Actions,
        Export::Locations,
    ];

    /// Its name in addresses and file names.
    pub fn name(self) -> &'static str {
        match self {
            Export::Visits => "visits",
            Export::Answers => "answers",
            Export::Determinations => "determinations",
            Export::Actions => "actions",
            Export::Locations => "locations",
        }
    }

    /// Its title on the page.
    pub fn title(self) -> &'static str {
        match self {
            Export::Visits => "Visits",
            Export::Answers => "Answers",
            Export::Determinations => "Determinations over time",
            Export::Actions => "Actions",
            Export::Locations => "Locations register",
        }
    }

    /// What one row is.
    pub fn row_is(self) -> &'static str {
        match self {
            Export::Visits => "one row per visit, with its domain and overall scores and status",
            Export::Answers => "one row per visit and criterion, with the pack version",
            Export::Determinations => {
                "one row per location and change of tier, weekly premium or premium status"
            }
            Export::Actions => "one row per action, with its state",
            Export::Locations => "one row per location, with its latest determination",
        }
    }

    /// Its columns.
    pub fn columns(self) -> &'static [Column] {
        match self {
            Export::Visits => VISIT_COLUMNS,
            Export::Answers => ANSWER_COLUMNS,
            Export::Determinations => DETERMINATION_COLUMNS,
            Export::Actions => ACTION_COLUMNS,
            Export::Locations => LOCATION_COLUMNS,
        }
    }

    /// The export a name stands for.
    pub fn parse(name: &str) -> Result<Export, ServiceError> {
        Export::ALL
            .into_iter()
            .find(|e| e.name() == name)
            .ok_or_else(|| ServiceError::not_found("export"))
    }
}

/// CSV or JSON.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// A header row, then one line per row.
    Csv,
    /// An array of objects whose fields are the CSV's columns.
    Json,
}

impl Format {
    /// Reads `csv` or `json` (nothing is CSV).
    pub fn parse(text: Option<&str>) -> Result<Format, ServiceError> {
        match text.map(str::trim) {
            None | Some("") | Some("csv") => Ok(Format::Csv),
            Some("json") => Ok(Format::Json),
            Some(other) => Err(ServiceError::bad_request(format!(
                "format must be csv or json, not {other:?}"
            ))),
        }
    }

    /// The file extension.
    pub fn extension(self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::Json => "json",
        }
    }

    /// The media type.
    pub fn content_type(self) -> &'static str {
        match self {
            Format::Csv => "text/csv; charset=utf-8",
            Format::Json => "application/json",
        }
    }
}

/// The days an export covers, both ends included; either may be open.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Range {
    /// The first day, if any.
    pub from: Option<NaiveDate>,
    /// The last day, if any.
    pub to: Option<NaiveDate>,
}

impl Range {
    /// Reads `from` and `to` strictly as `YYYY-MM-DD`; blank is open. The last day may not be
    /// before the first.
    pub fn parse(from: Option<&str>, to: Option<&str>) -> Result<Range, ServiceError> {
        let day = |name: &str, text: Option<&str>| -> Result<Option<NaiveDate>, ServiceError> {
            match text.map(str::trim).filter(|t| !t.is_empty()) {
                None => Ok(None),
                Some(t) => parse_date(t)
                    .map(Some)
                    .map_err(|e| ServiceError::bad_request(format!("{name}: {e}"))),
            }
        };
        Range::new(day("from", from)?, day("to", to)?)
    }

    /// A range from its ends, refusing one that ends before it starts.
    pub fn new(from: Option<NaiveDate>, to: Option<NaiveDate>) -> Result<Range, ServiceError> {
        if let (Some(a), Some(b)) = (from, to)
            && b < a
        {
            return Err(ServiceError::bad_request(format!(
                "to ({b}) must be on or after from ({a})"
            )));
        }
        Ok(Range { from, to })
    }

    /// Whether a day is in the range.
    pub fn contains(&self, day: NaiveDate) -> bool {
        self.from.is_none_or(|f| f <= day) && self.to.is_none_or(|t| day <= t)
    }
}

/// A cell of a row, typed so that CSV and JSON each write it their own way.
#[derive(Clone, Debug, PartialEq)]
pub enum Cell<'a> {
    /// Text (CSV: defused and quoted; JSON: a string).
    Text(&'a str),
    /// Text made for the row.
    Owned(String),
    /// A whole number.
    Int(i64),
    /// A decimal number written exactly, e.g. `72.50` (JSON: a number).
    Decimal(String),
    /// Yes or no.
    Bool(bool),
    /// A civil date (`YYYY-MM-DD`).
    Date(NaiveDate),
    /// Nothing (CSV: an empty cell; JSON: null).
    Empty,
}

impl Cell<'_> {
    fn opt_text(t: Option<&str>) -> Cell<'_> {
        t.map_or(Cell::Empty, Cell::Text)
    }

    fn opt_date(d: Option<NaiveDate>) -> Cell<'static> {
        d.map_or(Cell::Empty, Cell::Date)
    }

    fn pounds(pence: i64) -> Cell<'static> {
        Cell::Decimal(accredit_shared::money::Pence(pence).to_pounds_string())
    }

    fn percent(r: Option<accredit_shared::ratio::Ratio>) -> Cell<'static> {
        r.map_or(Cell::Empty, |r| Cell::Decimal(r.to_decimal_string(2)))
    }
}

/// Where an export's rows go: a CSV or JSON writer, or a counter.
pub trait Sink {
    /// Takes one row, its cells in the export's column order.
    fn row(&mut self, cells: &[Cell<'_>]) -> Result<(), ServiceError>;
}

/// Writes rows as CSV or JSON to `out`.
pub struct Writer<W: Write> {
    out: W,
    format: Format,
    columns: &'static [Column],
    rows: u64,
    line: String,
}

impl<W: Write> Writer<W> {
    /// Starts a file: the CSV header, or the JSON array's opening.
    pub fn new(
        out: W,
        format: Format,
        columns: &'static [Column],
    ) -> Result<Writer<W>, ServiceError> {
        let mut w = Writer {
            out,
            format,
            columns,
            rows: 0,
            line: String::with_capacity(512),
        };
        match format {
            Format::Csv => {
                csv::push_line(&mut w.line, columns.iter().map(|c| c.name));
                w.flush_line()?;
            }
            Format::Json => w.out.write_all(b"[")?,
        }
        Ok(w)
    }

    fn flush_line(&mut self) -> Result<(), ServiceError> {
        self.out.write_all(self.line.as_bytes())?;
        self.line.clear();
        Ok(())
    }

    /// Ends the file and hands back the output.
    pub fn finish(mut self) -> Result<W, ServiceError> {
        self.flush_line()?;
        if self.format == Format::Json {
            self.out
                .write_all(if self.rows == 0 { b"]\n" } else { b"\n]\n" })?;
        }
        self.out.flush()?;
        Ok(self.out)
    }

    /// Rows written so far.
    pub fn rows(&self) -> u64 {
        self.rows
    }
}

fn json_string(out: &mut String, s: &str) {
    // Serialising a string cannot fail; the fallback keeps the file valid regardless.
    out.push_str(&serde_json::to_string(s).unwrap_or_else(|_| "null".to_owned()));
}

impl<W: Write> Sink for Writer<W> {
    fn row(&mut self, cells: &[Cell<'_>]) -> Result<(), ServiceError> {
        if cells.len() != self.columns.len() {
            return Err(ServiceError::internal(format!(
                "an export row has {} cells for {} columns",
                cells.len(),
                self.columns.len()
            )));
        }
        let line = &mut self.line;
        match self.format {
            Format::Csv => {
                for (i, c) in cells.iter().enumerate() {
                    if i > 0 {
                        line.push(',');
                    }
                    match c {
                        Cell::Text(t) => line.push_str(&csv::field(t)),
                        Cell::Owned(t) => line.push_str(&csv::field(t)),
                        Cell::Int(n) => line.push_str(&n.to_string()),
                        Cell::Decimal(d) => line.push_str(&csv::field(d)),
                        Cell::Bool(b) => line.push_str(if *b { "true" } else { "false" }),
                        Cell::Date(d) => line.push_str(&d.to_string()),
                        Cell::Empty => {}
                    }
                }
                line.push('\n');
            }
            Format::Json => {
                line.push_str(if self.rows == 0 { "\n{" } else { ",\n{" });
                for (i, (c, column)) in cells.iter().zip(self.columns).enumerate() {
                    if i > 0 {
                        line.push(',');
                    }
                    json_string(line, column.name);
                    line.push(':');
                    match c {
                        Cell::Text(t) => json_string(line, t),
                        Cell::Owned(t) => json_string(line, t),
                        Cell::Int(n) => line.push_str(&n.to_string()),
                        Cell::Decimal(d) => line.push_str(d),
                        Cell::Bool(b) => line.push_str(if *b { "true" } else { "false" }),
                        Cell::Date(d) => {
                            line.push('"');
                            line.push_str(&d.to_string());
                            line.push('"');
                        }
                        Cell::Empty => line.push_str("null"),
                    }
                }
                line.push('}');
            }
        }
        self.rows += 1;
        // Lines are gathered into the output in pieces of about 64 KiB rather than one by one.
        if self.line.len() >= 64 * 1024 {
            self.flush_line()?;
        }
        Ok(())
    }
}

/// What the page shows of an export before it is downloaded: its rows and, for the register,
/// the weekly premium total.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Totals {
    /// Rows in the file.
    pub rows: u64,
    /// The sum of the `weekly_premium_pence` column, where the export has one and it means a
    /// total (the locations register).
    pub weekly_premium_pence: Option<i64>,
}

/// A sink that counts rows and adds up a pence column.
struct Counter {
    totals: Totals,
    sum_column: Option<usize>,
}

impl Sink for Counter {
    fn row(&mut self, cells: &[Cell<'_>]) -> Result<(), ServiceError> {
        self.totals.rows += 1;
        if let Some(i) = self.sum_column
            && let Some(Cell::Int(n)) = cells.get(i)
        {
            *self.totals.weekly_premium_pence.get_or_insert(0) += n;
        }
        Ok(())
    }
}

/// Only commissioners and leads export.
pub fn check_access(caller: &Caller) -> Result<(), ServiceError> {
    caller.require(&[Role::Commissioner, Role::Lead])
}

/// Writes one export's rows in `range` to `sink`.
pub fn write(
    state: &AppState,
    tx: &Connection,
    caller: &Caller,
    export: Export,
    range: Range,
    sink: &mut dyn Sink,
) -> Result<(), ServiceError> {
    check_access(caller)?;
    match export {
        Export::Visits => visits(state, tx, range, sink),
        Export::Answers => answers(state, tx, range, sink),
        Export::Determinations => determinations(tx, range, sink),
        Export::Actions => actions(state, tx, range, sink),
        Export::Locations => locations(tx, range, sink),
    }
}

/// Writes one export in `range` as a whole file in `format` to `out`; returns its rows.
pub fn write_file(
    state: &AppState,
    tx: &Connection,
    caller: &Caller,
    export: Export,
    range: Range,
    format: Format,
    out: &mut dyn Write,
) -> Result<u64, ServiceError> {
    check_access(caller)?;
    let mut w = Writer::new(out, format, export.columns())?;
    write(state, tx, caller, export, range, &mut w)?;
    let rows = w.rows();
    w.finish()?;
    Ok(rows)
}

/// The file name of an export: `accredit-visits-2026-01-01-to-2026-03-31.csv`.
pub fn file_name(export: Export, range: Range, format: Format) -> String {
    let day = |d: Option<NaiveDate>| d.map_or_else(|| "all".to_owned(), |d| d.to_string());
    let dates = match (range.from, range.to) {
        (None, None) => String::new(),
        (from, to) => format!("-{}-to-{}", day(from), day(to)),
    };
    format!("accredit-{}{dates}.{}", export.name(), format.extension())
}

/// Each export's totals for `range`, as the files would hold them.
pub fn totals(
    state: &AppState,
    tx: &Connection,
    caller: &Caller,
    range: Range,
) -> Result<Vec<(Export, Totals)>, ServiceError> {
    check_access(caller)?;
    let mut out = Vec::new();
    for export in Export::ALL {
        let sum_column = (export == Export::Locations)
            .then(|| {
                export
                    .columns()
                    .iter()
                    .position(|c| c.name == "weekly_premium_pence")
            })
            .flatten();
        let mut counter = Counter {
            totals: Totals {
                rows: 0,
                weekly_premium_pence: sum_column.map(|_| 0),
            },
            sum_column,
        };
        write(state, tx, caller, export, range, &mut counter)?;
        out.push((export, counter.totals));
    }
    Ok(out)
}

/// A serde enum's name (`follow_up`), as BI tools filter on it.
fn code<T: Serialize>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(s)) => s,
        other => format!("{other:?}"),
    }
}

/// A text column read in place (visit records are large: copying each would double the work).
fn text_at<'r>(r: &'r rusqlite::Row<'_>, i: usize) -> Result<&'r str, ServiceError> {
    r.get_ref(i)?
        .as_str()
        .map_err(|e| ServiceError::internal(format!("column {i} is not text: {e}")))
}

/// An optional text column read in place.
fn opt_text_at<'r>(r: &'r rusqlite::Row<'_>, i: usize) -> Result<Option<&'r str>, ServiceError> {
    r.get_ref(i)?
        .as_str_or_null()
        .map_err(|e| ServiceError::internal(format!("column {i} is not text: {e}")))
}

/// What every row about a location repeats.
struct Place {
    name: String,
    cqc_location_id: String,
    provider_name: String,
}

fn places(tx: &Connection) -> Result<HashMap<Uuid, Place>, ServiceError> {
    let mut stmt = tx.prepare(
        "SELECT l.id, l.name, l.cqc_location_id, p.name FROM locations l JOIN providers p ON p.id = l.provider_id",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok((
            r.get::<_, String>(0)?,
            Place {
                name: r.get(1)?,
                cqc_location_id: r.get(2)?,
                provider_name: r.get(3)?,
            },
        ))
    })?;
    let mut out = HashMap::new();
    for row in rows {
        let (id, place) = row?;
        out.insert(stored_id(&id)?, place);
    }
    Ok(out)
}

/// A visit as the exports read it: its current revision's record and its lifecycle.
struct VisitRow {
    revision: u32,
    status: String,
    shared_on: Option<NaiveDate>,
    published_on: Option<NaiveDate>,
    record: VisitSnapshot,
}

/// Calls `each` with every visit whose day is in `range`, by location and then as stored: the
/// order the location index gives without sorting 30,000 records.
fn each_visit(
    tx: &Connection,
    range: Range,
    mut each: impl FnMut(VisitRow) -> Result<(), ServiceError>,
) -> Result<(), ServiceError> {
    let mut stmt = tx.prepare(
        "SELECT v.current_revision, v.status, v.shared_on, v.published_on, r.record
         FROM visits v JOIN visit_revisions r ON r.visit_id = v.id AND r.revision = v.current_revision
         ORDER BY v.location_id, v.rowid",
    )?;
    let mut rows = stmt.query([])?;
    while let Some(r) = rows.next()? {
        let record: VisitSnapshot = serde_json::from_str(text_at(r, 4)?)?;
        if !range.contains(record.visited_on()) {
            continue;
        }
        let opt_date = |i: usize| -> Result<Option<NaiveDate>, ServiceError> {
            r.get::<_, Option<String>>(i)?
                .as_deref()
                .map(stored_date)
                .transpose()
        };
        each(VisitRow {
            revision: r.get(0)?,
            status: r.get(1)?,
            shared_on: opt_date(2)?,
            published_on: opt_date(3)?,
            record,
        })?;
    }
    Ok(())
}

/// Scores a visit with the shared scoring function and the rule set in force on its day, as the
/// report does; `None` when its pack or a rule set is missing.
fn visit_scores(
    state: &AppState,
    book: &accredit_shared::RuleBook,
    record: &VisitSnapshot,
) -> Option<(ScoreSummary, String)> {
    let h = &record.header;
    let pack = state.packs.get(&h.pack_id, &h.pack_version)?;
    let rules = book.in_force(record.visited_on())?;
    Some((
        score(pack, &record.answers(), &rules.scoring),
        rules.version.clone(),
    ))
}

/// The domains that have their own column in the visits export, by the shipped pack's ids.
const DOMAIN_COLUMNS: [&str; 5] = ["safe", "effective", "caring", "responsive", "well-led"];

fn visits(
    state: &AppState,
    tx: &Connection,
    range: Range,
    sink: &mut dyn Sink,
) -> Result<(), ServiceError> {
    let places = places(tx)?;
    let book = state.rules();
    each_visit(tx, range, |v| {
        let h = &v.record.header;
        let place = places.get(&h.location_id);
        let scored = visit_scores(state, &book, &v.record);
        let summary = scored.as_ref().map(|(s, _)| s);
        let domain = |id: &str| {
            Cell::percent(
                summary
                    .and_then(|s| s.domains.iter().find(|d| d.domain_id == id))
                    .and_then(|d| d.percent),
            )
        };
        let others: Vec<String> = summary
            .map(|s| {
                s.domains
                    .iter()
                    .filter(|d| !DOMAIN_COLUMNS.contains(&d.domain_id.as_str()))
                    .map(|d| {
                        format!(
                            "{}={}",
                            d.domain_id,
                            d.percent
                                .map(|p| p.to_decimal_string(2))
                                .unwrap_or_default()
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        let count =
            |f: fn(&ScoreSummary) -> u32| summary.map_or(Cell::Empty, |s| Cell::Int(f(s).into()));
        sink.row(&[
            Cell::Owned(h.visit_id.to_string()),
            Cell::Owned(h.location_id.to_string()),
            Cell::opt_text(place.map(|p| p.name.as_str())),
            Cell::opt_text(place.map(|p| p.cqc_location_id.as_str())),
            Cell::opt_text(place.map(|p| p.provider_name.as_str())),
            Cell::Owned(code(&h.visit_type)),
            Cell::Bool(h.announced),
            Cell::Date(v.record.visited_on()),
            Cell::Text(&v.status),
            Cell::Int(v.revision.into()),
            Cell::opt_date(v.shared_on),
            Cell::opt_date(v.published_on),
            Cell::Text(&h.pack_id),
            Cell::Text(&h.pack_version),
            scored
                .as_ref()
                .map_or(Cell::Empty, |(_, version)| Cell::Text(version)),
            count(|s| s.criteria),
            count(|s| s.scored),
            count(|s| s.not_applicable),
            count(|s| s.not_assessed),
            summary.map_or(Cell::Empty, |s| Cell::Int(s.critical_failures.len() as i64)),
            summary.map_or(Cell::Empty, |s| Cell::Bool(s.conclusive)),
            Cell::percent(summary.and_then(|s| s.overall)),
            domain("safe"),
            domain("effective"),
            domain("caring"),
            domain("responsive"),
            domain("well-led"),
            Cell::Owned(others.join(";")),
        ])
    })
}

fn answers(
    state: &AppState,
    tx: &Connection,
    range: Range,
    sink: &mut dyn Sink,
) -> Result<(), ServiceError> {
    let places = places(tx)?;
    each_visit(tx, range, |v| {
        let h = &v.record.header;
        let Some(pack) = state.packs.get(&h.pack_id, &h.pack_version) else {
            return Err(ServiceError::internal(format!(
                "visit {} uses the pack {}@{}, which the server does not have",
                h.visit_id, h.pack_id, h.pack_version
            )));
        };
        let visit_id = h.visit_id.to_string();
        let location_id = h.location_id.to_string();
        let location_name = places.get(&h.location_id).map(|p| p.name.as_str());
        let visited_on = v.record.visited_on();
        for d in &pack.domains {
            for s in &d.standards {
                for c in &s.criteria {
                    let result = v.record.results.get(&c.id);
                    let (answer, score) = match result.and_then(|r| r.answer) {
                        Some(Answer::Score(n)) => ("score", Cell::Int(n.into())),
                        Some(Answer::NotApplicable) => ("not_applicable", Cell::Empty),
                        Some(Answer::NotAssessed) => ("not_assessed", Cell::Empty),
                        None => ("unanswered", Cell::Empty),
                    };
                    sink.row(&[
                        Cell::Text(&visit_id),
                        Cell::Int(v.revision.into()),
                        Cell::Text(&location_id),
                        Cell::opt_text(location_name),
                        Cell::Date(visited_on),
                        Cell::Text(&v.status),
                        Cell::Text(&h.pack_id),
                        Cell::Text(&h.pack_version),
                        Cell::Text(&d.id),
                        Cell::Text(&s.id),
                        Cell::Text(&c.id),
                        Cell::Bool(c.critical),
                        Cell::Decimal(c.weight.to_decimal_string(3)),
                        Cell::Text(answer),
                        score,
                        Cell::Int(c.scale.min.into()),
                        Cell::Int(c.scale.max.into()),
                        Cell::Text(result.map_or("", |r| r.notes.as_str())),
                    ])?;
                }
            }
        }
        Ok(())
    })
}

fn determinations(tx: &Connection, range: Range, sink: &mut dyn Sink) -> Result<(), ServiceError> {
    let places = places(tx)?;
    let mut stmt = tx.prepare(
        "SELECT location_id, day, trigger, tier, weekly_pence, status, explanation, computed_at
         FROM determinations ORDER BY location_id, seq",
    )?;
    let mut rows = stmt.query([])?;
    // The previous stored determination of the location being read: a row is a change from it.
    let mut previous: Option<(String, Option<String>, i64, String)> = None;
    while let Some(r) = rows.next()? {
        let location: String = r.get(0)?;
        let tier: Option<String> = r.get(3)?;
        let weekly: i64 = r.get(4)?;
        let status: String = r.get(5)?;
        let before = previous
            .take()
            .filter(|(l, ..)| *l == location)
            .map(|(_, t, w, s)| (t, w, s));
        let changed = before
            .as_ref()
            .is_none_or(|(t, w, s)| *t != tier || *w != weekly || *s != status);
        let day = stored_date(text_at(r, 1)?)?;
        if changed && range.contains(day) {
            let det: Determination = serde_json::from_str(text_at(r, 6)?)?;
            let location_id = stored_id(&location)?;
            let place = places.get(&location_id);
            let trigger: String = r.get(2)?;
            let computed_at: String = r.get(7)?;
            sink.row(&[
                Cell::Text(&location),
                Cell::opt_text(place.map(|p| p.name.as_str())),
                Cell::opt_text(place.map(|p| p.cqc_location_id.as_str())),
                Cell::opt_text(place.map(|p| p.provider_name.as_str())),
                Cell::Date(day),
                Cell::Text(&trigger),
                Cell::opt_text(tier.as_deref()),
                Cell::opt_text(before.as_ref().and_then(|(t, ..)| t.as_deref())),
                Cell::Int(weekly),
                Cell::pounds(weekly),
                before
                    .as_ref()
                    .map_or(Cell::Empty, |(_, w, _)| Cell::Int(*w)),
                Cell::Text(&status),
                Cell::opt_text(before.as_ref().map(|(.., s)| s.as_str())),
                Cell::opt_text(det.rule_set.as_ref().map(|r| r.version.as_str())),
                det.visit
                    .as_ref()
                    .map_or(Cell::Empty, |v| Cell::Owned(v.visit_id.to_string())),
                det.visit
                    .as_ref()
                    .map_or(Cell::Empty, |v| Cell::Int(v.revision.into())),
                Cell::percent(det.scores.as_ref().and_then(|s| s.overall)),
                det.cqc
                    .as_ref()
                    .map_or(Cell::Empty, |c| Cell::Owned(code(&c.overall))),
                Cell::Text(&computed_at),
            ])?;
        }
        previous = Some((location, tier, weekly, status));
    }
    Ok(())
}

fn actions(
    state: &AppState,
    tx: &Connection,
    range: Range,
    sink: &mut dyn Sink,
) -> Result<(), ServiceError> {
    let places = places(tx)?;
    let today = state.today();
    let mut responses: HashMap<String, (i64, String)> = HashMap::new();
    {
        let mut stmt = tx.prepare(
            "SELECT action_id, count(*), max(created_at) FROM action_responses GROUP BY action_id",
        )?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, (r.get(1)?, r.get(2)?))))?;
        for row in rows {
            let (id, n): (String, (i64, String)) = row?;
            responses.insert(id, n);
        }
    }
    each_visit(tx, Range::default(), |v| {
        let h = &v.record.header;
        let place = places.get(&h.location_id);
        let raised_on = v.record.visited_on();
        let visit_id = h.visit_id.to_string();
        let location_id = h.location_id.to_string();
        for (id, a) in &v.record.actions {
            if !range.contains(a.due_on.unwrap_or(raised_on)) {
                continue;
            }
            let state = match a.status {
                ActionStatus::Open if a.due_on.is_some_and(|d| d < today) => "overdue",
                ActionStatus::Open => "open",
                ActionStatus::Completed => "completed",
                ActionStatus::Withdrawn => "withdrawn",
            };
            let id = id.to_string();
            let answered = responses.get(&id);
            sink.row(&[
                Cell::Text(&id),
                Cell::Text(&visit_id),
                Cell::Text(&location_id),
                Cell::opt_text(place.map(|p| p.name.as_str())),
                Cell::opt_text(place.map(|p| p.provider_name.as_str())),
                Cell::Date(raised_on),
                Cell::opt_text(a.criterion.as_deref()),
                Cell::Owned(code(&a.priority)),
                Cell::Text(&a.description),
                Cell::Text(&a.owner),
                Cell::opt_date(a.due_on),
                Cell::Text(state),
                Cell::opt_date(a.completed_on),
                Cell::Int(answered.map_or(0, |(n, _)| *n)),
                Cell::opt_text(answered.map(|(_, at)| at.as_str())),
                Cell::Text(&v.status),
            ])?;
        }
        Ok(())
    })
}

fn locations(tx: &Connection, range: Range, sink: &mut dyn Sink) -> Result<(), ServiceError> {
    let mut stmt = tx.prepare(
        "SELECT l.id, l.cqc_location_id, l.name, l.address, l.service_type, l.provider_id, p.name,
                l.registered_from, l.registered_to, d.tier, d.weekly_pence, d.status, d.day
         FROM locations l JOIN providers p ON p.id = l.provider_id
         LEFT JOIN determinations d ON d.seq = (SELECT max(seq) FROM determinations WHERE location_id = l.id)
         ORDER BY l.name, l.id",
    )?;
    let mut rows = stmt.query([])?;
    while let Some(r) = rows.next()? {
        let registered_from = stored_date(text_at(r, 7)?)?;
        if !range.contains(registered_from) {
            continue;
        }
        let text = |i: usize| opt_text_at(r, i);
        let registered_to = text(8)?.map(stored_date).transpose()?;
        let weekly: Option<i64> = r.get(10)?;
        let determined_on = text(12)?.map(stored_date).transpose()?;
        sink.row(&[
            Cell::opt_text(text(0)?),
            Cell::opt_text(text(1)?),
            Cell::opt_text(text(2)?),
            Cell::opt_text(text(3)?),
            Cell::opt_text(text(4)?),
            Cell::opt_text(text(5)?),
            Cell::opt_text(text(6)?),
            Cell::Date(registered_from),
            Cell::opt_date(registered_to),
            Cell::opt_text(text(9)?),
            weekly.map_or(Cell::Empty, Cell::Int),
            weekly.map_or(Cell::Empty, Cell::pounds),
            Cell::opt_text(text(11)?),
            Cell::opt_date(determined_on),
        ])?;
    }
    Ok(())
}

/// The columns of every export as Markdown, as API.md holds them (a test keeps the two equal).
pub fn columns_markdown() -> String {
    let mut out = String::new();
    for e in Export::ALL {
        out.push_str(&format!(
            "\n`{}`: {}.\n\n| column | holds |\n|---|---|\n",
            e.name(),
            e.row_is()
        ));
        for c in e.columns() {
            out.push_str(&format!(
                "| `{}` | {} |\n",
                c.name,
                c.description.replace('|', "\\|")
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_range_is_read_strictly() {
        assert_eq!(
            Range::parse(Some("2026-01-01"), None).ok(),
            Some(Range {
                from: NaiveDate::from_ymd_opt(2026, 1, 1),
                to: None
            })
        );
        assert_eq!(
            Range::parse(Some(""), Some(" ")).ok(),
            Some(Range::default())
        );
        for (from, to) in [
            (Some("2026-1-1"), None),
            (Some("01/01/2026"), None),
            (None, Some("2026-02-30")),
            (Some("2026-03-01"), Some("2026-02-01")),
        ] {
            assert!(
                matches!(Range::parse(from, to), Err(ServiceError::BadRequest(_))),
                "{from:?} {to:?}"
            );
        }
    }

    #[test]
    fn csv_and_json_carry_the_same_columns() {
        const COLUMNS: &[Column] = &[col("a", "A"), col("b", "B"), col("c", "C")];
        let columns = COLUMNS;
        let row = [Cell::Text("=1+1"), Cell::Int(-3), Cell::Empty];
        let mut w = Writer::new(Vec::new(), Format::Csv, columns).unwrap_or_else(|e| panic!("{e}"));
        w.row(&row).unwrap_or_else(|e| panic!("{e}"));
        let text =
            String::from_utf8(w.finish().unwrap_or_else(|e| panic!("{e}"))).unwrap_or_default();
        assert_eq!(text, "a,b,c\n'=1+1,-3,\n");
        let mut w =
            Writer::new(Vec::new(), Format::Json, columns).unwrap_or_else(|e| panic!("{e}"));
        w.row(&row).unwrap_or_else(|e| panic!("{e}"));
        let bytes = w.finish().unwrap_or_else(|e| panic!("{e}"));
        let value: serde_json::Value = serde_json::from_slice(&bytes).unwrap_or_default();
        assert_eq!(
            value,
            serde_json::json!([{ "a": "=1+1", "b": -3, "c": null }])
        );
        let w = Writer::new(Vec::new(), Format::Json, columns).unwrap_or_else(|e| panic!("{e}"));
        let empty = w.finish().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            serde_json::from_slice::<serde_json::Value>(&empty).ok(),
            Some(serde_json::json!([]))
        );
    }

    #[test]
    fn a_row_with_the_wrong_number_of_cells_is_refused() {
        let mut w =
            Writer::new(Vec::new(), Format::Csv, VISIT_COLUMNS).unwrap_or_else(|e| panic!("{e}"));
        assert!(w.row(&[Cell::Empty]).is_err());
    }

    #[test]
    fn api_md_documents_every_column_as_the_code_names_it() {
        let api = include_str!("../../../API.md");
        let docs = columns_markdown();
        assert!(
            api.contains(&docs),
            "API.md's export columns differ from the code; paste this section in:\n{docs}"
        );
    }
}
