//! The Local Government Transparency Code list for a month: each provider paid over £500 under
//! the scheme, with the total, and the CSV in the published layout. Reached from the payments
//! page; commissioners and leads.

use axum::extract::{Query, State};
use axum::http::StatusCode;
use dioxus::prelude::*;

use super::layout::{FieldError, Section, error_summary, money, number, page};
use super::payments::{PeriodQuery, month_input, month_words, read_period};
use super::session::Viewer;
use super::{PageError, PageResult, html};
use crate::auth::Role;
use crate::error::ServiceError;
use crate::service::transparency::{self, TransparencyView};
use crate::state::AppState;

fn render(
    viewer: &Viewer,
    v: Option<&TransparencyView>,
    fields: &PeriodQuery,
    errors: &[FieldError],
) -> String {
    let back = v.map_or_else(
        || "/payments".to_owned(),
        |v| format!("/payments?period={}", v.period),
    );
    let body = rsx! {
        {error_summary(errors)}
        p { a { href: "{back}", id: "back", "Back to payments" } }
        h1 { "Payments over £500 per provider" }
        p { "The list the Local Government Transparency Code 2015 asks councils to publish: each provider paid more than £500 in the month under the scheme (premiums, and contract money released by withhold and release), in the column layout councils publish spending in." }
        form { class: "filters", method: "get", action: "/payments/transparency", novalidate: true,
            {month_input(fields, errors)}
            button { class: "button secondary", r#type: "submit", "Show the list" }
        }
        if let Some(v) = v {
            h2 { id: "month", {month_words(&v.period)} }
            dl { class: "summary-list", id: "transparency-totals",
                div { dt { "Name of body" } dd { id: "council", "{v.council}" } }
                div { dt { "Providers over £500" } dd { id: "providers", {number(v.rows.len())} } }
                div { dt { "Total" } dd { id: "total", {money(v.total_pence)} } }
                div { dt { "Providers paid £500 or less" } dd { id: "under", {number(v.under_threshold)}
                    br {} span { class: "hint", "Left out of the list, as the Code allows." }
                } }
            }
            p {
                a { class: "button secondary", id: "csv", href: "/payments/transparency.csv?period={v.period}", download: transparency::file_name(&v.period), "Download CSV" }
            }
            if v.rows.is_empty() {
                p { id: "none", "No provider was paid more than £500 in this month." }
            } else {
                table { class: "table", id: "providers-table",
                    caption { "Providers" }
                    thead { tr {
                        th { scope: "col", "Transaction number" }
                        th { scope: "col", "Provider" }
                        th { scope: "col", class: "numeric", "Payment lines" }
                        th { scope: "col", class: "numeric", "Premiums" }
                        th { scope: "col", class: "numeric", "Contract releases" }
                        th { scope: "col", class: "numeric", "Amount" }
                    } }
                    tbody {
                        for r in v.rows.iter() {
                            tr { key: "{r.provider_id}",
                                td { "{r.transaction_number}" }
                                td { "{r.provider_name}" }
                                td { class: "numeric", {number(r.items)} }
                                td { class: "numeric", {money(r.premium_pence)} }
                                td { class: "numeric", {money(r.released_pence)} }
                                td { class: "numeric", {money(r.amount_pence)} }
                            }
                        }
                        tr { class: "total", th { scope: "row", colspan: "5", "Total" } td { class: "numeric", {money(v.total_pence)} } }
                    }
                }
            }
        }
    };
    let title = if errors.is_empty() {
        "Payments over £500 per provider"
    } else {
        "Error: Payments over £500 per provider"
    };
    page(title, Some(viewer), Section::Payments, body)
}

/// The list's page.
pub async fn page_handler(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(q): Query<PeriodQuery>,
) -> PageResult {
    viewer.caller.require(&[Role::Commissioner, Role::Lead])?;
    let mut errors = Vec::new();
    let (period, fields) = read_period(&q, &mut errors);
    let Some(period) = period else {
        return Ok(html(
            StatusCode::BAD_REQUEST,
            render(&viewer, None, &fields, &errors),
        ));
    };
    let caller = viewer.caller.clone();
    let view = state
        .blocking(move |s| s.db.read(|tx| transparency::view(s, tx, &caller, &period)))
        .await?;
    Ok(html(
        StatusCode::OK,
        render(&viewer, Some(&view), &fields, &[]),
    ))
}

/// The list as CSV.
pub async fn csv(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(q): Query<PeriodQuery>,
) -> PageResult {
    let period = q
        .get("period")
        .map(|p| p.trim().to_owned())
        .unwrap_or_default();
    let caller = viewer.caller.clone();
    let view = state
        .blocking(move |s| s.db.read(|tx| transparency::view(s, tx, &caller, &period)))
        .await
        .map_err(|e: ServiceError| PageError(e))?;
    Ok(crate::http::csv_download(
        transparency::to_csv(&view),
        &transparency::file_name(&view.period),
    ))
}
