//! Payments: a month's schedule with totals, one line per placement and adjustment lines after
//! the month was issued; the same as CSV for finance. Providers see only their own lines.

use accredit_shared::calendar::london_date;
use axum::Form;
use axum::extract::{Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::IntoResponse;
use chrono::{Datelike, Utc};
use dioxus::prelude::*;
use serde::Deserialize;

use super::layout::{FieldError, Section, error_summary, field_error, form_key, money, page};
use super::session::{Viewer, see_other};
use super::sign_in::check_key;
use super::{PageError, PageResult, html};
use crate::auth::Role;
use crate::error::ServiceError;
use crate::service::payments::{self, PaymentsView};
use crate::state::AppState;

/// Which month.
#[derive(Deserialize, Default)]
#[serde(default)]
pub struct PeriodQuery {
    period: String,
}

/// A stored `YYYY-MM-DD` day as people write it.
fn iso_day(d: &str) -> String {
    d.parse::<chrono::NaiveDate>()
        .map_or_else(|_| d.to_owned(), accredit_shared::labels::long_date)
}

fn this_month() -> String {
    let d = london_date(Utc::now());
    format!("{:04}-{:02}", d.year(), d.month())
}

fn render(
    viewer: &Viewer,
    v: Option<&PaymentsView>,
    period: &str,
    errors: &[FieldError],
) -> String {
    let commissioner = viewer.caller.role == Role::Commissioner;
    let body = rsx! {
        {error_summary(errors)}
        h1 { "Payments" }
        form { class: "filters", method: "get", action: "/payments",
            div { class: if errors.is_empty() { "form-group" } else { "form-group form-group-error" },
                label { class: "label", r#for: "period", "Month" }
                div { class: "hint", "As year and month, for example 2026-11" }
                {field_error(errors, "period")}
                input { class: "input w8", id: "period", name: "period", r#type: "text", value: "{period}", inputmode: "numeric" }
            }
            button { class: "button secondary", r#type: "submit", "Show" }
        }
        if let Some(v) = v {
            dl { class: "summary-list", id: "payment-totals",
                div { dt { "Period" } dd { {format!("{} to {}", iso_day(&v.from), iso_day(&v.to))} } }
                div { dt { "State" } dd { {if v.issued { format!("Issued {}", v.issued_at.clone().unwrap_or_default()) } else { "Not issued: the lines follow every change".to_owned() }} } }
                div { dt { "Total to pay" } dd { id: "total", {money(v.total_pence)} } }
                div { dt { "On hold" } dd { id: "on-hold", {money(v.total_on_hold_pence)} } }
                div { dt { "Adjustments since issue" } dd { id: "adjustments-total", {money(v.adjustments_total_pence)} } }
                div { dt { "Lines" } dd { "{v.lines.len()}" } }
            }
            p {
                a { class: "button secondary", href: "/payments.csv?period={v.period}", id: "csv", download: "accredit-payments-{v.period}.csv", "Download CSV" }
            }
            if commissioner && !v.issued {
                form { method: "post", action: "/payments/issue",
                    {form_key(viewer)}
                    input { r#type: "hidden", name: "period", value: "{v.period}" }
                    p { "Issuing keeps this month's lines as they are now. Later changes then appear as adjustment lines." }
                    button { class: "button", r#type: "submit", "Issue {v.period}" }
                }
            }
            table { class: "table", id: "payment-lines",
                caption { "Lines" }
                thead { tr {
                    th { scope: "col", "Location" }
                    th { scope: "col", "Resident" }
                    th { scope: "col", "Tiers" }
                    th { scope: "col", class: "numeric", "Days paid" }
                    th { scope: "col", class: "numeric", "On hold" }
                    th { scope: "col", class: "numeric", "Amount" }
                } }
                tbody {
                    for l in v.lines.iter() {
                        tr { key: "{l.placement_id}",
                            td { {v.locations.get(&l.location_id).cloned().unwrap_or_default()} }
                            td { "{l.resident_ref}" }
                            td { {l.segments.iter().map(|s| s.tier.clone().unwrap_or_else(|| "No tier".into())).collect::<Vec<_>>().join(", ")} }
                            td { class: "numeric", "{l.days_payable + l.days_released}" }
                            td { class: "numeric", {money(l.on_hold.0)} }
                            td { class: "numeric", {money(l.amount.0)} }
                        }
                    }
                    tr { class: "total", th { scope: "row", colspan: "4", "Total" } td { class: "numeric", {money(v.total_on_hold_pence)} } td { class: "numeric", {money(v.total_pence)} } }
                }
            }
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
    page("Payments", Some(viewer), Section::Payments, body)
}

/// The schedule page.
pub async fn page_handler(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(q): Query<PeriodQuery>,
) -> PageResult {
    let period = if q.period.trim().is_empty() {
        this_month()
    } else {
        q.period.trim().to_owned()
    };
    let v = viewer.clone();
    let p = period.clone();
    let result = state
        .blocking(move |s| s.db.read(|tx| payments::view(s, tx, &v.caller, &p)))
        .await;
    match result {
        Ok(view) => Ok(html(
            StatusCode::OK,
            render(&viewer, Some(&view), &period, &[]),
        )),
        Err(ServiceError::BadRequest(_) | ServiceError::Invalid(_)) => Ok(html(
            StatusCode::BAD_REQUEST,
            render(
                &viewer,
                None,
                &period,
                &[FieldError::new(
                    "period",
                    "Enter a month as year and month, for example 2026-11",
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
    let period = q.period.trim().to_owned();
    let v = viewer.clone();
    let p = period.clone();
    let view = state
        .blocking(move |s| s.db.read(|tx| payments::view(s, tx, &v.caller, &p)))
        .await?;
    let mut r = payments::to_csv(&view).into_response();
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Ok(d) = HeaderValue::from_str(&format!(
        "attachment; filename=\"accredit-payments-{period}.csv\""
    )) {
        h.insert(header::CONTENT_DISPOSITION, d);
    }
    Ok(r)
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
    Ok(see_other(&format!("/payments?period={}", f.period)))
}
