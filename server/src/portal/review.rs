//! The lead's review queue: signed-off visits to share, newer revisions to accept or reject,
//! comments to answer, and visits to publish. Sharing first asks who the report goes to and
//! until when they can comment; publishing first shows the tier and premium change it will cause
//! and the provider's comments not yet answered. Only then is either confirmed.

use accredit_shared::determination::PremiumStatus;
use accredit_shared::labels::long_date;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use dioxus::prelude::*;
use rusqlite::Connection;

use super::layout::{Section, form_key, money, page, tier_text, when};
use super::session::{Viewer, see_other};
use super::sign_in::check_key;
use super::{KeyForm, PageError, PageResult, html, path_id};
use crate::auth::{Caller, Role};
use crate::error::ServiceError;
use crate::service::visits::{self, ProviderThread, VisitState, VisitStatus};
use crate::state::AppState;
use crate::tiers;

/// A visit in the queue.
struct Item {
    visit: VisitState,
    location: String,
    visited_on: chrono::NaiveDate,
    kind: &'static str,
    /// The provider's comments by part of the report.
    threads: Vec<ProviderThread>,
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
        out.push(Item {
            threads: visits::provider_threads(tx, id)?,
            window_open: visits::window_open(s, &v),
            location,
            visited_on: record.visited_on(),
            kind: record.header.visit_type.label(),
            pending_revision: visits::pending_revision(tx, id)?,
            visit: v,
        });
    }
    out.sort_by_key(|i| i.visited_on);
    Ok(out)
}

/// The provider's comments on a queued visit, as a link to them on the report, or nothing.
fn comments_link(i: &Item) -> Element {
    if i.threads.is_empty() {
        return rsx! { span { " – no comments from the provider" } };
    }
    let comments: usize = i.threads.iter().map(|t| t.count).sum();
    let open = i.threads.iter().filter(|t| t.answered_at.is_none()).count();
    let text = format!(
        "{} from the provider, {} not answered",
        accredit_shared::labels::count(comments, "comment", "comments"),
        open
    );
    rsx! {
        " – "
        a { class: "comments-link", href: "/visits/{i.visit.id}#provider-comments", "{text}" }
    }
}

/// The queue's address after sharing: which visit was just shared.
#[derive(serde::Deserialize, Default)]
#[serde(default)]
pub struct ReviewQuery {
    shared: String,
}

/// The review queue.
pub async fn page_handler(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(q): Query<ReviewQuery>,
) -> PageResult {
    let caller = viewer.caller.clone();
    // Only the visit's id travels in the address; who it went to is read back, so the message
    // cannot be made to say anything else.
    let shared = uuid::Uuid::parse_str(q.shared.trim()).ok();
    let (items, shared) = state
        .blocking(move |s| {
            s.db.read(|tx| {
                let items = queue(s, tx, &caller)?;
                // An address naming no visit the lead may see just shows the queue.
                let shared = match shared {
                    Some(id) if caller.role == Role::Lead => {
                        match visits::share_details(s, tx, &caller, id) {
                            Ok(d) => Some(d),
                            Err(ServiceError::NotFound(_)) => None,
                            Err(e) => return Err(e),
                        }
                    }
                    _ => None,
                };
                Ok((items, shared))
            })
        })
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
    let notice = shared
        .filter(|d| d.visit.status == VisitStatus::Shared)
        .map(|d| {
            (
                d.visit.id,
                format!(
                    "You shared the report of {}, {} with {}. They can comment on its factual accuracy until {}.",
                    d.location,
                    long_date(d.visited_on),
                    d.provider,
                    long_date(d.comments_until)
                ),
            )
        });
    let body = rsx! {
        if let Some((id, text)) = &notice {
            div { class: "notification success", role: "status", id: "notification",
                p { "{text}" }
                p { a { href: "/visits/{id}", "Read the shared report" } }
            }
        }
        h1 { "Review" }
        if !lead { p { class: "inset", "Lead officers share visits and decide later edits; you can publish visits that are ready, and read every report." } }
        h2 { "Signed off, to share with the provider ({to_share.len()})" }
        if to_share.is_empty() { p { "None." } }
        ul { class: "queue", id: "to-share",
            for i in to_share.iter() {
                li { key: "{i.visit.id}",
                    a { href: "/visits/{i.visit.id}", {row(i)} }
                    if lead {
                        a { class: "button secondary", href: "/visits/{i.visit.id}/share?from=review", aria_describedby: "share-{i.visit.id}",
                            "Share with provider"
                        }
                        span { class: "visually-hidden", id: "share-{i.visit.id}", {row(i)} }
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
                    " "
                    a { class: "no-print", href: "/visits/{i.visit.id}/revisions/{i.pending_revision.unwrap_or_default()}/changes", {format!("What changed in revision {}", i.pending_revision.unwrap_or_default())} }
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
                    span {
                        a { href: "/visits/{i.visit.id}", {row(i)} }
                        {comments_link(i)}
                        {format!("; open until {}", i.visit.window_closes_on.as_deref().and_then(|d| d.parse::<chrono::NaiveDate>().ok()).map(long_date).unwrap_or_default())}
                    }
                }
            }
        }
        h2 { "Ready to publish ({to_publish.len()})" }
        if to_publish.is_empty() { p { "None." } }
        ul { class: "queue", id: "to-publish",
            for i in to_publish.iter() {
                li { key: "{i.visit.id}",
                    span {
                        a { href: "/visits/{i.visit.id}", {row(i)} }
                        {comments_link(i)}
                    }
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

/// Where the lead came from to share, so they go back there.
#[derive(serde::Deserialize, Default)]
#[serde(default)]
pub struct ShareQuery {
    from: String,
}

/// The question before sharing: who the report goes to and until when they can comment.
pub async fn share_check(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
    Query(q): Query<ShareQuery>,
) -> PageResult {
    let id = path_id(&id, "visit")?;
    let caller = viewer.caller.clone();
    let d = state
        .blocking(move |s| s.db.read(|tx| visits::share_details(s, tx, &caller, id)))
        .await?;
    let from_review = q.from == "review";
    let back = if from_review {
        "/review".to_owned()
    } else {
        format!("/visits/{id}")
    };
    let question = format!("Share this report with {}?", d.provider);
    let body = rsx! {
        span { class: "caption", {format!("{}: {}, {}", d.location, d.visit_type, long_date(d.visited_on))} }
        if let Some(why) = &d.blocked {
            h1 { "This report cannot be shared" }
            p { id: "share-blocked", "{why}" }
            p { a { href: "{back}", "Go back" } }
        } else {
            h1 { "{question}" }
            p { id: "share-window",
                {format!("They can comment on its factual accuracy until {}. After that, or once they confirm they have no further comments, the report can be published.", long_date(d.comments_until))}
            }
            p { "They will see the whole report: scores, notes, evidence and the action plan. The provider's staff with an email address are sent a message saying it is ready, unless they turned those messages off." }
            form { method: "post", action: "/visits/{id}/share", novalidate: true,
                {form_key(&viewer)}
                input { r#type: "hidden", name: "from", value: if from_review { "review" } else { "report" } }
                button { class: "button", r#type: "submit", "Share the report" }
                a { class: "link-cancel", href: "{back}", "Cancel" }
            }
        }
    };
    Ok(html(
        StatusCode::OK,
        page(&question, Some(&viewer), Section::Review, body),
    ))
}

/// The share form: the key, and where the lead came from.
#[derive(serde::Deserialize, Default)]
#[serde(default)]
pub struct ShareForm {
    form_key: String,
    from: String,
}

/// Shares a signed-off visit with its provider, after the lead confirmed.
pub async fn share(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
    Form(f): Form<ShareForm>,
) -> PageResult {
    let id = path_id(&id, "visit")?;
    check_key(&viewer, &f.form_key)?;
    let caller = viewer.caller.clone();
    state
        .blocking(move |s| s.db.write(|tx| visits::share(s, tx, &caller, id)))
        .await?;
    Ok(see_other(&if f.from == "review" {
        format!("/review?shared={id}#notification")
    } else {
        format!("/visits/{id}?done=shared")
    }))
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

/// A weekly premium for the publish check: per placement, times the placements that earn it,
/// or why nothing is paid.
fn weekly_words(weekly: (i64, PremiumStatus), placements: usize) -> String {
    let (per, status) = weekly;
    match status {
        s if s.is_paid() => format!(
            "{} a week ({} × {})",
            money(per * placements as i64),
            accredit_shared::labels::count(placements, "placement", "placements"),
            money(per)
        ),
        PremiumStatus::NoTier => "Nothing: no tier, so no premium".to_owned(),
        s => format!(
            "Nothing paid: {} ({} a week per placement)",
            s.label().to_lowercase(),
            money(per)
        ),
    }
}

/// The confirmation page: what publishing will do to the tier and premium, and the provider's
/// comments, with those not yet answered first.
pub async fn publish_check(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
) -> PageResult {
    let id = path_id(&id, "visit")?;
    let caller = viewer.caller.clone();
    let p = state
        .blocking(move |s| s.db.read(|tx| visits::publish_preview(s, tx, &caller, id)))
        .await?;
    let change = match (&p.tier_now, &p.tier_after) {
        (a, b) if a == b => format!("The tier stays {}.", tier_text(a.as_deref())),
        (a, b) => format!(
            "The tier changes from {} to {}.",
            tier_text(a.as_deref()),
            tier_text(b.as_deref())
        ),
    };
    let count = &p.placements;
    let placements_text = format!(
        "{} of the {} running today",
        count.earning,
        accredit_shared::labels::count(count.running, "placement", "placements")
    );
    let placements_hint = if count.not_earning.is_empty() {
        "Counted as the payments page counts them: funding the rules pay for, and not in a hospital stay beyond the paid days.".to_owned()
    } else {
        format!(
            "Counted as the payments page counts them. Not counted: {} (funding the rules do not pay a premium for), and hospital stays beyond the paid days.",
            count.not_earning.join(", ").to_lowercase()
        )
    };
    let mut threads: Vec<&ProviderThread> = p.threads.iter().collect();
    threads.sort_by_key(|t| t.answered_at.is_some());
    let unanswered = threads.iter().filter(|t| t.answered_at.is_none()).count();
    let part = |t: &ProviderThread| {
        t.criterion
            .as_ref()
            .map(|c| {
                (
                    format!("/visits/{id}#criterion-{c}"),
                    p.prompts.get(c).cloned().unwrap_or_else(|| c.clone()),
                )
            })
            .unwrap_or_else(|| {
                (
                    format!("/visits/{id}#comments"),
                    "The report as a whole".to_owned(),
                )
            })
    };
    let body = rsx! {
        span { class: "caption", "{p.location}" }
        h1 { "Publish the visit of {long_date(p.visited_on)}?" }
        div { class: "status-panel", id: "tier-change",
            p { strong { "{change}" } }
            dl { class: "summary-list",
                div { dt { "Tier now" } dd { id: "tier-now", {tier_text(p.tier_now.as_deref())} } }
                div { dt { "Tier after publishing" } dd { id: "tier-after", {tier_text(p.tier_after.as_deref())} } }
                div { dt { "Placements paid a premium" } dd { id: "placements",
                    "{placements_text}"
                    br {}
                    span { class: "hint", "{placements_hint}" }
                } }
                div { dt { "Premium for this location now" } dd { id: "weekly-now", {weekly_words(p.weekly_now, count.earning)} } }
                div { dt { "Premium after publishing" } dd { id: "weekly-after", {weekly_words(p.weekly_after, count.earning)} } }
            }
        }
        section { aria_labelledby: "provider-comments-title", id: "provider-comments",
            h2 { id: "provider-comments-title", "Comments from the provider" }
            if threads.is_empty() {
                p { "The provider made no comments on this report." }
            } else {
                if unanswered > 0 {
                    p { class: "warning-text", id: "unanswered",
                        {format!("{} not answered yet. Publishing makes the report final; answer on the report first if a comment changes anything.", accredit_shared::labels::count(unanswered, "comment is", "comments are"))}
                    }
                } else {
                    p { id: "unanswered", "Every comment has been answered." }
                }
                p { class: "hint", "The provider's latest comment on each part of the report. A comment counts as answered once a lead officer comments on the same part after it." }
                table { class: "table", id: "comment-threads",
                    caption { class: "visually-hidden", "Comments from the provider" }
                    thead { tr {
                        th { scope: "col", "Part of the report" }
                        th { scope: "col", "Latest comment" }
                        th { scope: "col", "Answered" }
                    } }
                    tbody {
                        for t in threads.iter() {
                            tr { key: "{t.latest.id}",
                                td { a { href: part(t).0, {part(t).1} } }
                                td { class: "notes", "{t.latest.body}"
                                    br {}
                                    span { class: "hint", {format!("{}, {}", t.latest.author, when(Some(&t.latest.created_at)))} }
                                }
                                td {
                                    match &t.answered_at {
                                        Some(at) => rsx! { {format!("Yes, {}", when(Some(at)))} },
                                        None => rsx! { strong { "Not answered" } },
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        p { "Publishing makes the report final, shows its summary on the public register and takes effect from today. Payments follow the new tier." }
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
