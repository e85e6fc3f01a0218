//! The public register: every location's published tier, for people choosing a care home, each
//! linked to the summary of the published report behind it. No sign-in; only what has been
//! published is shown, and of a report only its dates, scores and tier.

use accredit_shared::Engine;
use accredit_shared::labels::long_date;
use accredit_shared::ratio::percent_text;
use accredit_shared::records::ServiceType;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use chrono::NaiveDate;
use dioxus::prelude::*;
use serde::Deserialize;
use uuid::Uuid;

use super::layout::{Section, day, page, tier_text};
use super::session::MaybeViewer;
use super::{PageResult, html};
use crate::error::ServiceError;
use crate::service::locations::provider_names;
use crate::service::visits;
use crate::state::AppState;
use crate::tiers;

/// One entry of the register.
struct Entry {
    id: Uuid,
    name: String,
    provider: String,
    address: String,
    service: ServiceType,
    tier: Option<String>,
    since: Option<NaiveDate>,
    last_published: Option<NaiveDate>,
    /// The published report behind the tier shown (the latest one if the tier comes from none).
    report: Option<Uuid>,
}

/// Filters.
#[derive(Deserialize, Default)]
#[serde(default)]
pub struct RegisterQuery {
    q: String,
    service: String,
}

/// The register page.
pub async fn page_handler(
    State(state): State<AppState>,
    MaybeViewer(viewer): MaybeViewer,
    Query(q): Query<RegisterQuery>,
) -> PageResult {
    let (today, mut entries) = state
        .blocking(|s| {
            s.db.read(|tx| {
                let today = s.today();
                let rules = s.rules();
                let engine = Engine::new(&s.packs, &rules);
                let names = provider_names(tx)?;
                let mut out = Vec::new();
                for id in tiers::all_locations(tx)? {
                    let records = tiers::records(tx, id)?
                        .ok_or_else(|| ServiceError::internal("a listed location vanished"))?;
                    if records.visits.is_empty() {
                        continue;
                    }
                    let (_, address) = tiers::location(tx, id)?
                        .ok_or_else(|| ServiceError::internal("a listed location vanished"))?;
                    let det = engine.determine(&records, today);
                    out.push(Entry {
                        id,
                        name: records.location.name.clone(),
                        provider: names
                            .get(&records.location.provider_id)
                            .cloned()
                            .ok_or_else(|| {
                                ServiceError::internal("a location's provider is missing")
                            })?,
                        address,
                        service: records.location.service_type,
                        tier: det.tier.as_ref().map(|t| t.name.clone()),
                        // The first day of the tier shown, not of the last visit: a CQC rating
                        // or a gate can change the tier long after.
                        since: det
                            .tier
                            .as_ref()
                            .map(|_| engine.tier_since(&records, today)),
                        last_published: records.visits.iter().map(|v| v.effective_on).max(),
                        report: det.visit.as_ref().map(|v| v.visit_id).or_else(|| {
                            records
                                .visits
                                .iter()
                                .max_by_key(|v| v.effective_on)
                                .map(|v| v.visit_id)
                        }),
                    });
                }
                Ok((today, out))
            })
        })
        .await?;
    let needle = q.q.trim().to_lowercase();
    entries.retain(|e| {
        (needle.is_empty()
            || e.name.to_lowercase().contains(&needle)
            || e.address.to_lowercase().contains(&needle)
            || e.provider.to_lowercase().contains(&needle))
            && (q.service.is_empty() || format!("{:?}", e.service).eq_ignore_ascii_case(&q.service))
    });
    entries.sort_by(|a, b| a.name.cmp(&b.name));
    let services = [
        ("", "All services"),
        ("residential", ServiceType::Residential.label()),
        ("nursing", ServiceType::Nursing.label()),
        ("homecare", ServiceType::HomeCare.label()),
    ];
    let body = rsx! {
        h1 { "Register of accredited care services" }
        p { class: "lede",
            "The council visits the care homes and home-care services it funds and publishes how each meets its quality standard. "
            "Bronze is the council's approved standard; Silver and Gold are higher. "
            {format!("Tiers shown are those in force on {}.", long_date(today))}
        }
        form { class: "filters", method: "get", action: "/register", role: "search", aria_label: "Search the register",
            div { class: "form-group",
                label { class: "label", r#for: "q", "Name, provider or address" }
                input { class: "input", id: "q", name: "q", r#type: "search", value: "{q.q}" }
            }
            div { class: "form-group",
                label { class: "label", r#for: "service", "Type of service" }
                select { class: "select", id: "service", name: "service",
                    for (v, l) in services { option { key: "{v}", value: "{v}", selected: q.service == v, "{l}" } }
                }
            }
            button { class: "button secondary", r#type: "submit", "Search" }
        }
        if entries.is_empty() {
            p { "No services match your search." }
        } else {
            table { class: "table", id: "register",
                caption { class: "visually-hidden", "Published tiers" }
                thead { tr {
                    th { scope: "col", "Service" }
                    th { scope: "col", "Type" }
                    th { scope: "col", "Tier" }
                    th { scope: "col", "In effect since" }
                    th { scope: "col", "Last report published" }
                } }
                tbody {
                    for e in entries.iter() {
                        tr { key: "{e.id}",
                            td { strong { "{e.name}" } br {} span { class: "hint", "{e.address}" } br {} span { class: "hint", "Run by {e.provider}" } }
                            td { {e.service.label()} }
                            td {
                                strong { {tier_text(e.tier.as_deref())} }
                                if let Some(r) = e.report {
                                    br {}
                                    a { href: "/register/reports/{r}", class: "report-link",
                                        "Report summary"
                                        span { class: "visually-hidden", {format!(" of {}", e.name)} }
                                    }
                                }
                            }
                            td { {day(e.since)} }
                            td { {day(e.last_published)} }
                        }
                    }
                }
            }
        }
    };
    Ok(html(
        StatusCode::OK,
        page(
            "Register of accredited care services",
            viewer.as_ref(),
            Section::Register,
            body,
        ),
    ))
}

/// The public summary of a published report: when the visit was, its scores and the tier it led
/// to. Anyone may read it; a visit with no published report is a 404.
pub async fn report_summary(
    State(state): State<AppState>,
    MaybeViewer(viewer): MaybeViewer,
    Path(id): Path<String>,
) -> PageResult {
    let id = super::path_id(&id, "report")?;
    let r = state
        .blocking(move |s| s.db.read(|tx| visits::public_summary(s, tx, id)))
        .await?;
    let title = format!(
        "{}: {}, {}",
        r.location,
        r.visit_type,
        long_date(r.visited_on)
    );
    let body = rsx! {
        span { class: "caption", "{r.location}" }
        h1 { "{r.visit_type}, {long_date(r.visited_on)}" }
        p { class: "hint", "{r.address} · Run by {r.provider}" }
        if r.superseded {
            p { class: "inset", id: "superseded", "A later report on this service has been published since. The register shows the tier in force now." }
        }
        dl { class: "summary-list", id: "summary",
            div { dt { "Date of the visit" } dd { {long_date(r.visited_on)} } }
            div { dt { "Report published" } dd { {long_date(r.published_on)} } }
            div { dt { "Overall score" } dd { id: "overall", {percent_text(r.overall)} } }
            div { dt { "Tier it led to" } dd { id: "tier", strong { {tier_text(r.tier.as_deref())} } } }
            div { dt { "Criteria scored" } dd { {format!("{} of {}", r.scored.0, r.scored.1)} } }
        }
        if r.limited {
            p { "The scores alone would reach a different tier. Other records, such as a CQC rating, limit the tier the council awards." }
        }
        table { class: "table", id: "domain-scores",
            caption { "Scores by domain" }
            thead { tr { th { scope: "col", "Domain" } th { scope: "col", class: "numeric", "Score" } } }
            tbody {
                for (t, v) in r.domains.iter() {
                    tr { key: "{t}", th { scope: "row", "{t}" } td { class: "numeric", {percent_text(*v)} } }
                }
                tr { class: "total", th { scope: "row", "Overall" } td { class: "numeric", {percent_text(r.overall)} } }
            }
        }
        p { "Each domain is scored against the council's quality framework; Bronze is the council's approved standard, Silver and Gold are higher. This summary leaves out the visitors' notes, evidence and anything about residents." }
        p { a { href: "/register", "Back to the register" } }
    };
    Ok(html(
        StatusCode::OK,
        page(&title, viewer.as_ref(), Section::Register, body),
    ))
}
