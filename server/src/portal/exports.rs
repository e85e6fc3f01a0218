//! Exports for business intelligence: a date range (GOV.UK date inputs), then each export with
//! its rows (and the register's weekly premium total) as the files will hold them, a CSV and a
//! JSON download, and its documented columns. Commissioners and leads.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use chrono::NaiveDate;
use dioxus::prelude::*;

use super::layout::{FieldError, Section, error_summary, error_titled_page, money, number};
use super::records::{date_input, read_optional_date};
use super::session::Viewer;
use super::{PageError, PageResult, html};
use crate::download;
use crate::error::ServiceError;
use crate::service::exports::{self, Export, Format, Range, Totals};
use crate::state::AppState;

/// The query string of a download for `range`: `?from=…&to=…`, or nothing.
fn range_query(range: Range) -> String {
    let mut parts = Vec::new();
    if let Some(d) = range.from {
        parts.push(format!("from={d}"));
    }
    if let Some(d) = range.to {
        parts.push(format!("to={d}"));
    }
    if parts.is_empty() {
        String::new()
    } else {
        format!("?{}", parts.join("&"))
    }
}

fn range_words(range: Range) -> String {
    let day = |d: NaiveDate| accredit_shared::labels::long_date(d);
    match (range.from, range.to) {
        (None, None) => "All dates".to_owned(),
        (Some(a), None) => format!("From {}", day(a)),
        (None, Some(b)) => format!("Up to {}", day(b)),
        (Some(a), Some(b)) => format!("{} to {}", day(a), day(b)),
    }
}

fn render(
    viewer: &Viewer,
    f: &HashMap<String, String>,
    errors: &[FieldError],
    range: Range,
    totals: &[(Export, Totals)],
) -> String {
    let query = range_query(range);
    let body = rsx! {
        {error_summary(errors)}
        h1 { "Exports" }
        p { "Data for reporting and business intelligence tools, as CSV (for spreadsheets) or JSON. Each file's columns are listed under it; the same names head the CSV and name the JSON fields." }
        form { class: "filters", method: "get", action: "/exports", novalidate: true,
            {date_input("from", "From (optional)", "The first day to include, for example 1 4 2026", f, errors)}
            {date_input("to", "To (optional)", "The last day to include, for example 31 3 2027", f, errors)}
            button { class: "button secondary", r#type: "submit", id: "apply", "Apply dates" }
        }
        if errors.is_empty() {
            p { id: "range", strong { "Dates: " } {range_words(range)} }
            for (e, t) in totals.iter() {
                section { key: "{e.name()}", class: "export", id: "export-{e.name()}", aria_labelledby: "title-{e.name()}",
                    h2 { id: "title-{e.name()}", {e.title()} }
                    p { {format!("{}.", capital(e.row_is()))} }
                    dl { class: "summary-list compact",
                        div { dt { "Rows" } dd { id: "rows-{e.name()}", {number(t.rows as usize)} } }
                        if let Some(p) = t.weekly_premium_pence {
                            div { dt { "Weekly premium, all locations" } dd { id: "total-{e.name()}", {money(p)} } }
                        }
                    }
                    p { class: "downloads",
                        a { class: "button secondary", id: "csv-{e.name()}", href: "/exports/{e.name()}.csv{query}", download: exports::file_name(*e, range, Format::Csv),
                            "Download CSV"
                            span { class: "visually-hidden", {format!(" of {}", e.title().to_lowercase())} }
                        }
                        " "
                        a { class: "button secondary", id: "json-{e.name()}", href: "/exports/{e.name()}.json{query}", download: exports::file_name(*e, range, Format::Json),
                            "Download JSON"
                            span { class: "visually-hidden", {format!(" of {}", e.title().to_lowercase())} }
                        }
                    }
                    details { class: "details",
                        summary { {format!("Columns of {}", e.title().to_lowercase())} }
                        table { class: "table columns", id: "columns-{e.name()}",
                            caption { class: "visually-hidden", {format!("Columns of {}", e.title().to_lowercase())} }
                            thead { tr { th { scope: "col", "Column" } th { scope: "col", "Holds" } } }
                            tbody {
                                for c in e.columns().iter() {
                                    tr { key: "{c.name}",
                                        td { code { "{c.name}" } }
                                        td { {c.description.replace('`', "")} }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    error_titled_page(
        "Exports",
        !errors.is_empty(),
        Some(viewer),
        Section::Exports,
        body,
    )
}

fn capital(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|first| first.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}

/// The exports page. The dates arrive as a GET query, so a range can be bookmarked.
pub async fn page_handler(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(f): Query<HashMap<String, String>>,
) -> PageResult {
    exports::check_access(&viewer.caller)?;
    let mut errors = Vec::new();
    let from = read_optional_date(&f, "from", "the first day", &mut errors);
    let to = read_optional_date(&f, "to", "the last day", &mut errors);
    if let (Some(a), Some(b)) = (from, to)
        && b < a
    {
        errors.push(FieldError::new(
            "to-day",
            "The last day must be the same as or after the first day",
        ));
    }
    if !errors.is_empty() {
        return Ok(html(
            StatusCode::BAD_REQUEST,
            render(&viewer, &f, &errors, Range::default(), &[]),
        ));
    }
    let range = Range::new(from, to)?;
    let caller = viewer.caller.clone();
    let totals = state
        .blocking(move |s| s.db.read(|tx| exports::totals(s, tx, &caller, range)))
        .await?;
    Ok(html(
        StatusCode::OK,
        render(&viewer, &f, &[], range, &totals),
    ))
}

/// One export as a file: `/exports/visits.csv?from=2026-04-01&to=2027-03-31`.
pub async fn file(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(file): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> PageResult {
    exports::check_access(&viewer.caller)?;
    let (name, extension) = file
        .rsplit_once('.')
        .ok_or_else(|| PageError(ServiceError::not_found("export")))?;
    let export = Export::parse(name)?;
    let format = match extension {
        "csv" => Format::Csv,
        "json" => Format::Json,
        _ => return Err(PageError(ServiceError::not_found("export"))),
    };
    let range = Range::parse(
        q.get("from").map(String::as_str),
        q.get("to").map(String::as_str),
    )?;
    let caller = viewer.caller.clone();
    Ok(download::stream(
        &state,
        format.content_type(),
        &exports::file_name(export, range, format),
        move |s, out| {
            s.db.read(|tx| exports::write_file(s, tx, &caller, export, range, format, out))
                .map(|_| ())
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_range_is_carried_into_the_download_links() {
        let day = |s: &str| s.parse::<NaiveDate>().ok();
        assert_eq!(range_query(Range::default()), "");
        assert_eq!(
            range_query(Range {
                from: day("2026-04-01"),
                to: day("2027-03-31")
            }),
            "?from=2026-04-01&to=2027-03-31"
        );
        assert_eq!(
            range_query(Range {
                from: None,
                to: day("2027-03-31")
            }),
            "?to=2027-03-31"
        );
    }
}
