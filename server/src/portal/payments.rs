//! Payments: a month's schedule with totals, one line per placement with its tier and premium by
//! period, and adjustment lines after the month was issued; the same as CSV for finance.
//! Providers see only their own lines. The month is chosen as GOV.UK month and year fields.

use accredit_shared::calendar::london_date;
use accredit_shared::labels::long_date;
use axum::Form;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use chrono::{Datelike, Utc};
use dioxus::prelude::*;
use serde::Deserialize;

use super::layout::{
    FieldError, Section, error_summary, field_error, form_key, money, number, page, when,
};
use super::session::{Viewer, see_other};
use super::sign_in::check_key;
use super::{PageError, PageResult, contracts, html};
use crate::auth::Role;
use crate::error::ServiceError;
use crate::service::payments::{self, PaymentsView};
use crate::state::AppState;
use accredit_shared::premium::{LineSegment, PaymentLine};
use std::collections::HashMap;

/// Which month: as month and year fields from the form, or as `YYYY-MM` (`period`) from a link.
pub(super) type PeriodQuery = HashMap<String, String>;

/// A stored `YYYY-MM-DD` day as people write it.
fn iso_day(d: &str) -> String {
    d.parse::<chrono::NaiveDate>()
        .map_or_else(|_| d.to_owned(), accredit_shared::labels::long_date)
}

fn this_month() -> String {
    let d = london_date(Utc::now());
    format!("{:04}-{:02}", d.year(), d.month())
}

/// A month as people say it: "November 2026"; anything that is not a month as it is.
pub(super) fn month_words(period: &str) -> String {
    accredit_shared::calendar::parse_month(period).map_or_else(
        |_| period.to_owned(),
        |r| r.from.format("%B %Y").to_string(),
    )
}

/// The month asked for, as `YYYY-MM`, and the fields to show in the form. The month and year
/// fields win over `period`; nothing at all is this month.
pub(super) fn read_period(
    q: &PeriodQuery,
    errors: &mut Vec<FieldError>,
) -> (Option<String>, PeriodQuery) {
    let part = |k: &str| q.get(k).map(|v| v.trim().to_owned()).unwrap_or_default();
    let (month, year) = (part("period-month"), part("period-year"));
    let mut shown = PeriodQuery::new();
    if month.is_empty() && year.is_empty() {
        let period = Some(part("period")).filter(|p| !p.is_empty());
        let period = period.unwrap_or_else(this_month);
        match accredit_shared::calendar::parse_month(&period) {
            Ok(r) => {
                shown.insert("period-month".into(), r.from.month().to_string());
                shown.insert("period-year".into(), r.from.year().to_string());
                return (Some(period), shown);
            }
            Err(_) => {
                errors.push(FieldError::new(
                    "period-month",
                    "Enter a real month, for example 11 and 2026",
                ));
                return (None, shown);
            }
        }
    }
    shown.insert("period-month".into(), month.clone());
    shown.insert("period-year".into(), year.clone());
    let m = month.parse::<u32>().ok().filter(|m| (1..=12).contains(m));
    let y = year
        .parse::<i32>()
        .ok()
        .filter(|y| (1900..=2200).contains(y));
    if month.is_empty() {
        errors.push(FieldError::new("period-month", "Enter the month"));
    } else if m.is_none() {
        errors.push(FieldError::new(
            "period-month",
            "The month must be a number from 1 to 12",
        ));
    }
    if year.is_empty() {
        errors.push(FieldError::new("period-year", "Enter the year"));
    } else if y.is_none() {
        errors.push(FieldError::new(
            "period-year",
            "The year must be a real year, for example 2026",
        ));
    }
    match (m, y) {
        (Some(m), Some(y)) => (Some(format!("{y:04}-{m:02}")), shown),
        _ => (None, shown),
    }
}

/// A GOV.UK date input with only the month and year.
pub(super) fn month_input(f: &PeriodQuery, errors: &[FieldError]) -> Element {
    let has_error = errors.iter().any(|e| e.field.starts_with("period-"));
    let first_error = errors
        .iter()
        .find(|e| e.field.starts_with("period-"))
        .map(|e| e.field.clone());
    let val = |p: &str| f.get(p).cloned().unwrap_or_default();
    let described = std::iter::once("period-hint".to_owned())
        .chain(
            errors
                .iter()
                .filter(|e| e.field.starts_with("period-"))
                .map(|e| format!("{}-error", e.field)),
        )
        .collect::<Vec<_>>()
        .join(" ");
    rsx! {
        div { class: if has_error { "form-group form-group-error" } else { "form-group" },
            fieldset { class: "fieldset", role: "group", aria_describedby: "{described}",
                legend { class: "legend", "Month" }
                div { class: "hint", id: "period-hint", "For example, 11 2026" }
                for e in errors.iter().filter(|e| e.field.starts_with("period-")) {
                    {field_error(errors, &e.field)}
                }
                div { class: "date-input",
                    for (id, label, width) in [("period-month", "Month", "w2"), ("period-year", "Year", "w4")] {
                        div { key: "{id}", class: "date-item",
                            label { class: "label", r#for: "{id}", "{label}" }
                            input { class: "input {width}", id: "{id}", name: "{id}", r#type: "text", inputmode: "numeric", value: val(id),
                                aria_invalid: if first_error.as_deref() == Some(id) { "true" } else { "false" },
                            }
                        }
                    }
                }
            }
        }
    }
}

/// A line's runs of days in words, one per tier, premium and status. Runs that read the same
/// (a new determination with the same tier and rate) are joined, so "Bronze, Bronze" never shows.
fn periods(l: &PaymentLine) -> Vec<String> {
    let mut runs: Vec<(&LineSegment, chrono::NaiveDate)> = Vec::new();
    for s in &l.segments {
        match runs.last_mut() {
            Some((first, to))
                if first.tier == s.tier
                    && first.weekly == s.weekly
                    && first.status == s.status
                    && first.eligible == s.eligible
                    && to.succ_opt() == Some(s.covers.from) =>
            {
                *to = s.covers.to;
            }
            _ => runs.push((s, s.covers.to)),
        }
    }
    runs.iter()
        .map(|(s, to)| {
            let dates = if s.covers.from == *to {
                s.covers.from.format("%-d %B").to_string()
            } else {
                format!("{} to {}", s.covers.from.format("%-d"), to.format("%-d %B"))
            };
            let how = if !s.eligible {
                "funding not eligible".to_owned()
            } else if s.status.is_paid() {
                format!("{} a week", money(s.weekly.0))
            } else {
                s.status.label().to_lowercase()
            };
            format!(
                "{}, {dates}: {how}",
                s.tier.clone().unwrap_or_else(|| "No tier".into())
            )
        })
        .collect()
}

/// The contract periods settled this month (withhold and release), with their explanation.
fn releases_view(v: &PaymentsView) -> Element {
    if v.releases.is_empty() && v.release_adjustments.is_empty() {
        return rsx! {};
    }
    let provider = |p: &uuid::Uuid| v.providers.get(p).cloned().unwrap_or_default();
    let t = &v.release_totals;
    rsx! {
        h2 { id: "releases-heading", "Withhold and release" }
        p { "Contract periods that end this month. A share of each period's value is at risk; the compliance score releases all, part or none of it, and a gate holds it back." }
        table { class: "table", id: "release-lines",
            caption { class: "visually-hidden", "Contract periods ending this month" }
            thead { tr {
                th { scope: "col", "Contract" }
                th { scope: "col", "Provider" }
                th { scope: "col", "Period" }
                {contracts::outcome_headers()}
            } }
            tbody {
                for l in v.releases.iter() {
                    tr { key: "{l.contract_id}-{l.period.from}", class: "with-explanation",
                        td { a { href: "/contracts/{l.contract_id}", "{l.reference}" } }
                        td { {provider(&l.provider_id)} }
                        td { {format!("{} to {}", long_date(l.period.from), long_date(l.period.to))} }
                        {contracts::outcome_cells(l)}
                    }
                    {contracts::outcome_reason(l, 8)}
                }
                tr { class: "total",
                    th { scope: "row", colspan: "3", "Total" }
                    td { class: "numeric", {money(t.at_risk_pence)} }
                    td { class: "numeric", id: "releases-released", {money(t.released_pence)} }
                    td { class: "numeric", {money(t.on_hold_pence)} }
                    td { class: "numeric", {money(t.withheld_pence)} }
                    td {}
                }
            }
        }
        p { class: "hint", id: "releases-explained",
            "Each amount is rounded once to the penny: at risk is the value times the share at risk; released (or on hold) is the value times that share times the band's release; withheld is what is left. "
            "Money released after a safeguarding hold can differ by a penny from the amount shown on hold, because each line is rounded once."
        }
        if !v.release_adjustments.is_empty() {
            table { class: "table", id: "release-adjustments",
                caption { "Contract adjustments since the month was issued" }
                thead { tr {
                    th { scope: "col", "Contract" }
                    th { scope: "col", "Period" }
                    th { scope: "col", class: "numeric", "Released as issued" }
                    th { scope: "col", class: "numeric", "Released now" }
                    th { scope: "col", class: "numeric", "Difference" }
                } }
                tbody {
                    for a in v.release_adjustments.iter() {
                        tr { key: "{a.contract_id}-{a.period.from}",
                            td { a { href: "/contracts/{a.contract_id}", "{a.reference}" } }
                            td { {format!("{} to {}", long_date(a.period.from), long_date(a.period.to))} }
                            td { class: "numeric", {money(a.previously_released.0)} }
                            td { class: "numeric", {money(a.released.0)} }
                            td { class: "numeric", {money(a.delta.0)} }
                        }
                    }
                }
            }
        }
    }
}

fn render(
    viewer: &Viewer,
    v: Option<&PaymentsView>,
    fields: &PeriodQuery,
    errors: &[FieldError],
) -> String {
    let commissioner = viewer.caller.role == Role::Commissioner;
    let issued_now = fields.contains_key("issued") && v.is_some_and(|v| v.issued);
    let body = rsx! {
        {error_summary(errors)}
        if issued_now && let Some(v) = v {
            div { class: "notification success", role: "status", id: "notification",
                p { {format!("The payment schedule for {} has been issued. Later changes will appear as adjustment lines.", month_words(&v.period))} }
            }
        }
        h1 { "Payments" }
        form { class: "filters", method: "get", action: "/payments", novalidate: true,
            {month_input(fields, errors)}
            button { class: "button secondary", r#type: "submit", "Show payments" }
        }
        if let Some(v) = v {
            h2 { id: "month", {format!("Payment schedule for {}", month_words(&v.period))} }
            dl { class: "summary-list", id: "payment-totals",
                div { dt { "Period" } dd { {format!("{} to {}", iso_day(&v.from), iso_day(&v.to))} } }
                div { dt { "State" } dd { {if v.issued { format!("Issued {}", when(v.issued_at.as_deref())) } else { "Not issued: the lines follow every change".to_owned() }} } }
                div { dt { "Total to pay" } dd { id: "total", {money(v.total_pence)} } }
                div { dt { "On hold" } dd { id: "on-hold", {money(v.total_on_hold_pence)}
                    br {} span { class: "hint", "Premium held during a safeguarding enquiry: paid later by an adjustment if the concern is not substantiated. The amount then paid can differ by a penny from the amount shown on hold, because each line is rounded once." }
                } }
                if !v.releases.is_empty() {
                    div { dt { "Released from contracts" } dd { id: "released-total", {money(v.release_totals.released_pence)}
                        br {} span { class: "hint", {format!("Of {} at risk in contract periods ending this month; {} withheld, {} on hold.", money(v.release_totals.at_risk_pence), money(v.release_totals.withheld_pence), money(v.release_totals.on_hold_pence))} }
                    } }
                }
                div { dt { "Adjustments since issue" } dd { id: "adjustments-total", {money(v.adjustments_total_pence)}
                    br {} span { class: "hint", "Differences found after the month was issued; none until it is." }
                } }
                div { dt { "Placements with a line" } dd { {number(v.lines.len())} } }
            }
            p {
                a { class: "button secondary", href: "/payments.csv?period={v.period}", id: "csv", download: "accredit-payments-{v.period}.csv", "Download CSV" }
                if viewer.caller.sees_all() {
                    " "
                    a { class: "button secondary", href: "/payments/transparency?period={v.period}", id: "transparency", "Payments over £500 per provider (Transparency Code)" }
                }
            }
            if commissioner && !v.issued {
                form { method: "post", action: "/payments/issue",
                    {form_key(viewer)}
                    input { r#type: "hidden", name: "period", value: "{v.period}" }
                    p { "Issuing keeps this month's lines as they are now. Later changes then appear as adjustment lines." }
                    button { class: "button", r#type: "submit", id: "issue", {format!("Issue the payment schedule for {}", month_words(&v.period))} }
                }
            }
            table { class: "table", id: "payment-lines",
                caption { "Lines" }
                thead { tr {
                    th { scope: "col", "Location" }
                    th { scope: "col", "Resident" }
                    th { scope: "col", "Tier and premium by period" }
                    th { scope: "col", class: "numeric", "Days paid" }
                    th { scope: "col", class: "numeric", "On hold" }
                    th { scope: "col", class: "numeric", "Amount" }
                } }
                tbody {
                    for l in v.lines.iter() {
                        tr { key: "{l.placement_id}",
                            td { {v.locations.get(&l.location_id).cloned().unwrap_or_default()} }
                            td { "{l.resident_ref}" }
                            td { class: "periods",
                                for (i, p) in periods(l).into_iter().enumerate() {
                                    span { key: "{i}", class: "period", "{p}" }
                                }
                            }
                            td { class: "numeric", "{l.days_payable}" }
                            td { class: "numeric", {money(l.on_hold.0)} }
                            td { class: "numeric", {money(l.amount.0)} }
                        }
                    }
                    tr { class: "total", th { scope: "row", colspan: "4", "Total" } td { class: "numeric", {money(v.total_on_hold_pence)} } td { class: "numeric", {money(v.total_pence)} } }
                }
            }
            p { class: "hint", id: "lines-explained",
                "One line per placement that was eligible for a premium on some day of the month. A line is split into periods where the tier, the premium or its status changed. "
                "Days paid are the days the premium was paid; hospital stays beyond the paid days, and days with no tier or a suspended premium, are not paid. "
                "The amount is each period's weekly premium for its days paid, in sevenths of a week, rounded once to the penny."
            }
            {releases_view(v)}
            if !v.adjustments.is_empty() {
                table { class: "table", id: "adjustment-lines",
                    caption { "Adjustments since the month was issued" }
                    thead { tr {
                        th { scope: "col", "Location" }
                        th { scope: "col", class: "numeric", "Issued" }
                        th { scope: "col", class: "numeric", "Now" }
                        th { scope: "col", class: "numeric", "Difference" }
                    } }
                    tbody {
                        for a in v.adjustments.iter() {
                            tr { key: "{a.placement_id}",
                                td { {a.location_id.and_then(|l| v.locations.get(&l).cloned()).unwrap_or_default()} }
                                td { class: "numeric", {money(a.previously_issued.0)} }
                                td { class: "numeric", {money(a.recomputed.0)} }
                                td { class: "numeric", {money(a.delta.0)} }
                            }
                        }
                    }
                }
            }
        }
    };
    let title = if errors.is_empty() {
        "Payments"
    } else {
        "Error: Payments"
    };
    page(title, Some(viewer), Section::Payments, body)
}

/// The schedule page.
pub async fn page_handler(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(q): Query<PeriodQuery>,
) -> PageResult {
    let mut errors = Vec::new();
    let (period, fields) = read_period(&q, &mut errors);
    let Some(period) = period else {
        return Ok(html(
            StatusCode::BAD_REQUEST,
            render(&viewer, None, &fields, &errors),
        ));
    };
    let v = viewer.clone();
    let result = state
        .blocking(move |s| s.db.read(|tx| payments::view(s, tx, &v.caller, &period)))
        .await;
    match result {
        Ok(view) => {
            let mut fields = fields;
            if q.get("done").is_some_and(|d| d == "issued") {
                fields.insert("issued".into(), String::new());
            }
            Ok(html(
                StatusCode::OK,
                render(&viewer, Some(&view), &fields, &[]),
            ))
        }
        Err(ServiceError::BadRequest(_) | ServiceError::Invalid(_)) => Ok(html(
            StatusCode::BAD_REQUEST,
            render(
                &viewer,
                None,
                &fields,
                &[FieldError::new(
                    "period-month",
                    "Enter a real month, for example 11 and 2026",
                )],
            ),
        )),
        Err(e) => Err(PageError(e)),
    }
}

/// The schedule as CSV, as the API gives it.
pub async fn csv(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(q): Query<PeriodQuery>,
) -> PageResult {
    let period = q
        .get("period")
        .map(|p| p.trim().to_owned())
        .unwrap_or_default();
    let v = viewer.clone();
    let p = period.clone();
    let view = state
        .blocking(move |s| s.db.read(|tx| payments::view(s, tx, &v.caller, &p)))
        .await?;
    Ok(crate::http::csv_download(
        payments::to_csv(&view),
        &payments::file_name(&view.period),
    ))
}

/// The issue form.
#[derive(Deserialize, Default)]
#[serde(default)]
pub struct IssueForm {
    form_key: String,
    period: String,
}

/// Issues a month (commissioners).
pub async fn issue(
    State(state): State<AppState>,
    viewer: Viewer,
    Form(f): Form<IssueForm>,
) -> PageResult {
    check_key(&viewer, &f.form_key)?;
    let caller = viewer.caller.clone();
    let period = f.period.clone();
    state
        .blocking(move |s| s.db.write(|tx| payments::issue(s, tx, &caller, &period)))
        .await
        .map_err(|e: ServiceError| PageError(e))?;
    Ok(see_other(&format!(
        "/payments?period={}&done=issued",
        f.period.trim()
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(pairs: &[(&str, &str)]) -> PeriodQuery {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn the_month_comes_from_its_fields_or_a_link() {
        let mut errors = Vec::new();
        let (p, shown) = read_period(
            &query(&[("period-month", " 3 "), ("period-year", "2026")]),
            &mut errors,
        );
        assert_eq!(p.as_deref(), Some("2026-03"));
        assert_eq!(shown["period-month"], "3");
        let (p, shown) = read_period(&query(&[("period", "2026-11")]), &mut errors);
        assert_eq!(p.as_deref(), Some("2026-11"));
        assert_eq!(shown["period-month"], "11");
        assert!(errors.is_empty(), "{errors:?}");
    }

    #[test]
    fn a_bad_month_names_the_field_to_fix() {
        for (pairs, field) in [
            (
                &[("period-month", "13"), ("period-year", "2026")][..],
                "period-month",
            ),
            (
                &[("period-month", "11"), ("period-year", "26")][..],
                "period-year",
            ),
            (
                &[("period-month", ""), ("period-year", "2026")][..],
                "period-month",
            ),
            (&[("period", "2026-13")][..], "period-month"),
        ] {
            let mut errors = Vec::new();
            let (p, _) = read_period(&query(pairs), &mut errors);
            assert_eq!(p, None, "{pairs:?}");
            assert_eq!(
                errors.first().map(|e| e.field.as_str()),
                Some(field),
                "{pairs:?}"
            );
        }
    }

    #[test]
    fn month_words_are_as_people_say_them() {
        assert_eq!(month_words("2026-11"), "November 2026");
        assert_eq!(month_words("soon"), "soon");
    }
}
