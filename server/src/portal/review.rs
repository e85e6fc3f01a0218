//! The lead's review queue: signed-off visits to share, newer revisions to accept or reject,
//! comments to answer, and visits to publish. Publishing first shows the tier change it will
//! cause; only then is it confirmed.

use accredit_shared::Engine;
use accredit_shared::labels::long_date;
use axum::Form;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use dioxus::prelude::*;
use rusqlite::Connection;
use uuid::Uuid;

use super::layout::{Section, form_key, money, page, tier_text};
use super::session::{Viewer, see_other};
use super::sign_in::check_key;
use super::{KeyForm, PageError, PageResult, html, path_id};
use crate::auth::{Caller, Role};
use crate::error::ServiceError;
use crate::service::visits::{self, VisitState, VisitStatus};
use crate::state::AppState;
use crate::tiers;

/// A visit in the queue.
struct Item {
    visit: VisitState,
    location: String,
    visited_on: chrono::NaiveDate,
    kind: &'static str,
    comments: usize,
    window_open: bool,
    pending_revision: Option<u32>,
}

fn queue(s: &AppState, tx: &Connection, caller: &Caller) -> Result<Vec<Item>, ServiceError> {
    caller.require(&[Role::Lead, Role::Commissioner])?;
    let ids = crate::db::query_ids(
        tx,
        "SELECT id FROM visits WHERE status IN ('signed_off', 'shared') OR id IN (SELECT visit_id FROM visit_revisions WHERE state = 'pending')",
        [],
    )?;
    let mut out = Vec::new();
    for id in ids {
        let Some(v) = visits::visit_state(tx, id)? else {
            continue;
        };
        let record = visits::revision_record(tx, id, v.current_revision)?;
        let location = tiers::location(tx, v.location_id)?
            .map(|(l, _)| l.name)
            .unwrap_or_default();
        let pending: Option<u32> = tx
            .query_row(
                "SELECT revision FROM visit_revisions WHERE visit_id = ?1 AND state = 'pending'",
                [id.to_string()],
                |r| r.get(0),
            )
            .ok();
        out.push(Item {
            comments: visits::comments(tx, id)?.len(),
            window_open: visits::window_open(s, &v),
            location,
            visited_on: record.visited_on(),
            kind: record.header.visit_type.label(),
            pending_revision: pending,
            visit: v,
        });
    }
    out.sort_by_key(|i| i.visited_on);
    Ok(out)
}

/// The review queue.
pub async fn page_handler(State(state): State<AppState>, viewer: Viewer) -> PageResult {
    let caller = viewer.caller.clone();
    let items = state
        .blocking(move |s| s.db.read(|tx| queue(s, tx, &caller)))
        .await?;
    let lead = viewer.caller.role == Role::Lead;
    // Commissioners publish visit outcomes too; sharing and revisions stay with leads.
    let publisher = matches!(viewer.caller.role, Role::Lead | Role::Commissioner);
    let to_share: Vec<&Item> = items
        .iter()
        .filter(|i| i.visit.status == VisitStatus::SignedOff && i.pending_revision.is_none())
        .collect();
    let revisions: Vec<&Item> = items
        .iter()
        .filter(|i| i.pending_revision.is_some())
        .collect();
    let in_window: Vec<&Item> = items
        .iter()
        .filter(|i| i.visit.status == VisitStatus::Shared && i.window_open)
        .collect();
    let to_publish: Vec<&Item> = items
        .iter()
        .filter(|i| i.visit.status == VisitStatus::Shared && !i.window_open)
        .collect();
    let row = |i: &Item| format!("{}: {}, {}", i.location, i.kind, long_date(i.visited_on));
    let body = rsx! {
        h1 { "Review" }
        if !lead { p { class: "inset", "Lead officers share visits and decide later edits; you can publish visits that are ready, and read every report." } }
        h2 { "Signed off, to share with the provider ({to_share.len()})" }
        if to_share.is_empty() { p { "None." } }
        ul { class: "queue", id: "to-share",
            for i in to_share.iter() {
                li { key: "{i.visit.id}",
                    a { href: "/visits/{i.visit.id}", {row(i)} }
                    if lead {
                        form { method: "post", action: "/visits/{i.visit.id}/share",
                            {form_key(&viewer)}
                            button { class: "button secondary", r#type: "submit", "Share with provider" }
                        }
                    }
                }
            }
        }
        h2 { "Later edits to accept or reject ({revisions.len()})" }
        if revisions.is_empty() { p { "None." } }
        ul { class: "queue", id: "revisions",
            for i in revisions.iter() {
                li { key: "{i.visit.id}",
                    a { href: "/visits/{i.visit.id}", {row(i)} }
                    {format!(" – revision {}", i.pending_revision.unwrap_or_default())}
                    if lead {
                        form { method: "post", action: "/visits/{i.visit.id}/revisions/{i.pending_revision.unwrap_or_default()}/accept",
                            {form_key(&viewer)}
                            button { class: "button secondary", r#type: "submit", "Accept" }
                        }
                        form { method: "post", action: "/visits/{i.visit.id}/revisions/{i.pending_revision.unwrap_or_default()}/reject",
                            {form_key(&viewer)}
                            button { class: "button warning", r#type: "submit", "Reject" }
                        }
                    }
                }
            }
        }
        h2 { "With the provider for comments ({in_window.len()})" }
        if in_window.is_empty() { p { "None." } }
        ul { class: "queue", id: "in-window",
            for i in in_window.iter() {
                li { key: "{i.visit.id}",
                    a { href: "/visits/{i.visit.id}", {row(i)} }
                    {format!(" – {} so far; open until {}", accredit_shared::labels::count(i.comments, "comment", "comments"), i.visit.window_closes_on.as_deref().and_then(|d| d.parse::<chrono::NaiveDate>().ok()).map(long_date).unwrap_or_default())}
                }
            }
        }
        h2 { "Ready to publish ({to_publish.len()})" }
        if to_publish.is_empty() { p { "None." } }
        ul { class: "queue", id: "to-publish",
            for i in to_publish.iter() {
                li { key: "{i.visit.id}",
                    a { href: "/visits/{i.visit.id}", {row(i)} }
                    {if i.comments > 0 { format!(" – {} to read", accredit_shared::labels::count(i.comments, "comment", "comments")) } else { String::new() }}
                    if publisher {
                        a { class: "button", href: "/visits/{i.visit.id}/publish", "Check and publish" }
                    }
                }
            }
        }
    };
    Ok(html(
        StatusCode::OK,
        page("Review", Some(&viewer), Section::Review, body),
    ))
}

/// Shares a signed-off visit with its provider.
pub async fn share(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
    Form(f): Form<KeyForm>,
) -> PageResult {
    let id = path_id(&id, "visit")?;
    check_key(&viewer, &f.form_key)?;
    let caller = viewer.caller.clone();
    state
        .blocking(move |s| s.db.write(|tx| visits::share(s, tx, &caller, id)))
        .await?;
    Ok(see_other("/review"))
}

/// Accepts or rejects a newer revision.
pub async fn decide(
    State(state): State<AppState>,
    viewer: Viewer,
    Path((id, revision, decision)): Path<(String, u32, String)>,
    Form(f): Form<KeyForm>,
) -> PageResult {
    let id = path_id(&id, "visit")?;
    check_key(&viewer, &f.form_key)?;
    let accept = match decision.as_str() {
        "accept" => true,
        "reject" => false,
        _ => return Err(PageError(ServiceError::not_found("page"))),
    };
    let caller = viewer.caller.clone();
    state
        .blocking(move |s| {
            s.db.write(|tx| visits::decide_revision(tx, &caller, id, revision, accept))
        })
        .await?;
    Ok(see_other("/review"))
}

/// The tier now and after publishing.
struct Preview {
    location: String,
    tier_now: Option<String>,
    weekly_now: i64,
    tier_after: Option<String>,
    weekly_after: i64,
    placements: usize,
    visited_on: chrono::NaiveDate,
}

fn preview(
    s: &AppState,
    tx: &Connection,
    caller: &Caller,
    id: Uuid,
) -> Result<Preview, ServiceError> {
    caller.require(&[Role::Lead, Role::Commissioner])?;
    let v = visits::require_visit(tx, caller, id)?;
    let record = visits::revision_record(tx, id, v.current_revision)?;
    let mut records =
        tiers::records(tx, v.location_id)?.ok_or_else(|| ServiceError::not_found("location"))?;
    let today = s.today();
    let book = s.rules();
    let engine = Engine::new(&s.packs, &book);
    let now = engine.determine(&records, today);
    records.visits.retain(|p| p.visit_id != id);
    records
        .visits
        .push(record.to_published(v.current_revision, today));
    let after = engine.determine(&records, today);
    let placements = tiers::placements(tx, v.location_id)?
        .iter()
        .filter(|p| p.start <= today && p.end.is_none_or(|e| today <= e))
        .count();
    Ok(Preview {
        location: records.location.name.clone(),
        tier_now: now.tier.map(|t| t.name),
        weekly_now: now.rate.weekly.0,
        tier_after: after.tier.map(|t| t.name),
        weekly_after: after.rate.weekly.0,
        placements,
        visited_on: record.visited_on(),
    })
}

/// The confirmation page: what publishing will do to the tier.
pub async fn publish_check(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
) -> PageResult {
    let id = path_id(&id, "visit")?;
    let caller = viewer.caller.clone();
    let p = state
        .blocking(move |s| s.db.read(|tx| preview(s, tx, &caller, id)))
        .await?;
    let change = match (&p.tier_now, &p.tier_after) {
        (a, b) if a == b => format!("The tier stays {}.", tier_text(a.as_deref())),
        (a, b) => format!(
            "The tier changes from {} to {}.",
            tier_text(a.as_deref()),
            tier_text(b.as_deref())
        ),
    };
    let body = rsx! {
        span { class: "caption", "{p.location}" }
        h1 { "Publish the visit of {long_date(p.visited_on)}?" }
        div { class: "status-panel", id: "tier-change",
            p { strong { "{change}" } }
            dl { class: "summary-list",
                div { dt { "Tier now" } dd { id: "tier-now", {tier_text(p.tier_now.as_deref())} } }
                div { dt { "Tier after publishing" } dd { id: "tier-after", {tier_text(p.tier_after.as_deref())} } }
                div { dt { "Premium per placement" } dd { {format!("{} a week, then {} a week", money(p.weekly_now), money(p.weekly_after))} } }
                div { dt { "Placements today" } dd { "{p.placements}" } }
            }
        }
        p { "Publishing makes the report final, shows it on the public register and takes effect from today. Payments follow the new tier." }
        form { method: "post", action: "/visits/{id}/publish",
            {form_key(&viewer)}
            button { class: "button", r#type: "submit", "Publish" }
            a { class: "link-cancel", href: "/review", "Cancel" }
        }
    };
    Ok(html(
        StatusCode::OK,
        page("Publish a visit", Some(&viewer), Section::Review, body),
    ))
}

/// Publishes and re-determines the tier.
pub async fn publish(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
    Form(f): Form<KeyForm>,
) -> PageResult {
    let id = path_id(&id, "visit")?;
    check_key(&viewer, &f.form_key)?;
    let caller = viewer.caller.clone();
    let location = state
        .blocking(move |s| {
            s.db.write(|tx| Ok(visits::publish(s, tx, &caller, id)?.visit.location_id))
        })
        .await?;
    Ok(see_other(&format!("/locations/{location}?done=published")))
}
