//! Locations: the list (everyone sees the locations they may: providers their own, monitors their
//! caseload, leads and commissioners all), and one location's accreditation status: tier and
//! premium with the explanation, what would move it up a tier, its history and its visits.

use accredit_shared::advice::next_tier;
use accredit_shared::determination::{Determination, PremiumStatus};
use accredit_shared::labels::long_date;
use accredit_shared::ratio::percent_text;
use accredit_shared::warning::{EarlyWarning, Light, early_warning};
use accredit_shared::{Engine, RuleSet};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use chrono::NaiveDate;
use dioxus::prelude::*;
use rusqlite::Connection;
use serde::Deserialize;
use uuid::Uuid;

use super::chart::{Band, HistoryPoint, history_chart};
use super::layout::{Section, day, light_tag, money, page, tier_text};
use super::session::{MaybeViewer, Viewer, see_other};
use super::{PageResult, html};
use crate::access;
use crate::auth::{Caller, Role};
use crate::error::ServiceError;
use crate::service::locations::{LocationRow, location_rows};
use crate::service::visits;
use crate::state::AppState;
use crate::tiers;

/// The start page: a signed-in person's locations, anyone else the sign-in page.
pub async fn home(MaybeViewer(viewer): MaybeViewer) -> Response {
    match viewer {
        Some(_) => see_other("/locations"),
        None => see_other("/sign-in"),
    }
}

/// Filters and order of the list.
#[derive(Deserialize, Default, Clone)]
#[serde(default)]
pub struct ListQuery {
    q: String,
    light: String,
    sort: String,
}

fn sort_rows(rows: &mut [LocationRow], sort: &str) {
    match sort {
        "name" => rows.sort_by(|a, b| a.name.cmp(&b.name)),
        "tier" => rows.sort_by(|a, b| b.rank.cmp(&a.rank).then(a.name.cmp(&b.name))),
        "premium" => rows.sort_by(|a, b| {
            b.weekly_pence
                .cmp(&a.weekly_pence)
                .then(a.name.cmp(&b.name))
        }),
        "due" => rows.sort_by(|a, b| {
            (a.next_due.is_some(), a.next_due)
                .cmp(&(b.next_due.is_some(), b.next_due))
                .then(a.name.cmp(&b.name))
        }),
        // Riskiest first: red, then amber, then green; within a colour, the most reasons.
        _ => rows.sort_by(|a, b| {
            a.warning
                .light
                .cmp(&b.warning.light)
                .then(b.warning.reasons.len().cmp(&a.warning.reasons.len()))
                .then(a.name.cmp(&b.name))
        }),
    }
}

/// The locations list, filtered and sorted.
pub async fn list(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(q): Query<ListQuery>,
) -> PageResult {
    let caller = viewer.caller.clone();
    let (mut rows, cost) = state
        .blocking(move |s| {
            s.db.read(|tx| {
                Ok((
                    location_rows(s, tx, &caller)?,
                    crate::service::payments::weekly_cost(s, tx, &caller)?,
                ))
            })
        })
        .await?;
    let needle = q.q.trim().to_lowercase();
    rows.retain(|r| {
        (needle.is_empty()
            || r.name.to_lowercase().contains(&needle)
            || r.provider.to_lowercase().contains(&needle))
            && match q.light.as_str() {
                "red" => r.warning.light == Light::Red,
                "amber" => r.warning.light == Light::Amber,
                "green" => r.warning.light == Light::Green,
                _ => true,
            }
    });
    sort_rows(&mut rows, &q.sort);
    let today = state.today();
    let heading = match viewer.caller.role {
        Role::Provider => "Your locations",
        Role::Monitor => "Your caseload",
        _ => "All locations",
    };
    let counts = [Light::Red, Light::Amber, Light::Green]
        .map(|l| rows.iter().filter(|r| r.warning.light == l).count());
    // The cost is of every location the person may see, so a filter does not change it: say so.
    let cost_text = format!(
        "Premiums are paid per placement per week. Today {} at {} are eligible: funded in a way the rules pay a premium for, and not in a hospital stay beyond the paid days. At each location's premium that is {} a week in all.{}",
        accredit_shared::labels::count(cost.placements, "placement", "placements"),
        match viewer.caller.role {
            Role::Provider => "your locations",
            Role::Monitor => "the locations on your caseload",
            _ => "all locations",
        },
        money(cost.pence),
        if cost.held_placements > 0 {
            format!(
                " The {} at locations whose premium is on hold or suspended are not in that sum.",
                cost.held_placements
            )
        } else {
            String::new()
        }
    );
    let sorts = [
        ("risk", "Risk (red first)"),
        ("name", "Name"),
        ("tier", "Tier"),
        ("premium", "Weekly premium"),
        ("due", "Next visit due"),
    ];
    let lights = [
        ("", "All colours"),
        ("red", "Red"),
        ("amber", "Amber"),
        ("green", "Green"),
    ];
    let body = rsx! {
        h1 { "{heading}" }
        p { class: "lede",
            "Status on {long_date(today)}. "
            "{rows.len()} locations: {counts[0]} red, {counts[1]} amber, {counts[2]} green."
        }
        p { id: "weekly-cost", "{cost_text}" }
        if viewer.caller.role == Role::Commissioner {
            a { class: "button secondary", href: "/locations/new", id: "add-location", "Add a location" }
        }
        form { class: "filters", method: "get", action: "/locations", role: "search", aria_label: "Filter locations",
            div { class: "form-group",
                label { class: "label", r#for: "q", "Name or provider" }
                input { class: "input", id: "q", name: "q", r#type: "search", value: "{q.q}" }
            }
            div { class: "form-group",
                label { class: "label", r#for: "light", "Traffic light" }
                select { class: "select", id: "light", name: "light",
                    for (v, l) in lights {
                        option { key: "{v}", value: "{v}", selected: q.light == v, "{l}" }
                    }
                }
            }
            div { class: "form-group",
                label { class: "label", r#for: "sort", "Sort by" }
                select { class: "select", id: "sort", name: "sort",
                    for (v, l) in sorts {
                        option { key: "{v}", value: "{v}", selected: q.sort == v || (q.sort.is_empty() && v == "risk"), "{l}" }
                    }
                }
            }
            button { class: "button secondary", r#type: "submit", "Apply" }
        }
        if rows.is_empty() {
            p { "No locations match." }
        } else {
            table { class: "table", id: "locations",
                caption { class: "visually-hidden", "{heading}" }
                thead { tr {
                    th { scope: "col", "Location" }
                    th { scope: "col", "Tier" }
                    th { scope: "col", class: "numeric", "Premium a week per placement" }
                    th { scope: "col", class: "numeric", "Eligible placements" }
                    th { scope: "col", "Traffic light" }
                    th { scope: "col", "Last visit" }
                    th { scope: "col", "Next due" }
                } }
                tbody {
                    for r in rows.iter() {
                        tr { key: "{r.id}",
                            td {
                                a { href: "/locations/{r.id}", "{r.name}" }
                                br {}
                                span { class: "hint", "{r.provider}" }
                            }
                            td { {tier_text(r.tier.as_deref())} }
                            td { class: "numeric", {money(r.weekly_pence)}
                                if !r.status.is_paid() && r.status != PremiumStatus::NoTier {
                                    br {} span { class: "hint", {r.status.label()} }
                                }
                            }
                            td { class: "numeric", {cost.by_location.get(&r.id).copied().unwrap_or_default().to_string()} }
                            td {
                                {light_tag(r.warning.light)}
                                if !r.warning.reasons.is_empty() {
                                    ul { class: "reasons",
                                        for (i, why) in r.warning.reasons.iter().enumerate() { li { key: "{i}", "{why}" } }
                                    }
                                }
                            }
                            td { {day(r.last_visit)} }
                            td {
                                {day(r.next_due)}
                                if r.next_due.is_some_and(|d| d < today) { br {} strong { class: "overdue", "Overdue" } }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(html(
        StatusCode::OK,
        page(heading, Some(&viewer), Section::Locations, body),
    ))
}

/// A visit of the location, as listed on its page.
struct VisitLine {
    id: Uuid,
    visited_on: NaiveDate,
    kind: &'static str,
    status: String,
    open_actions: usize,
}

fn status_words(v: &visits::VisitState) -> String {
    match v.status.as_str() {
        "signed_off" => "Signed off, not yet shared".to_owned(),
        "shared" => match &v.window_closes_on {
            Some(d) => format!(
                "Draft report: comments open until {}",
                NaiveDate::parse_from_str(d, "%Y-%m-%d").map_or_else(|_| d.clone(), long_date)
            ),
            None => "Draft report shared".to_owned(),
        },
        "published" => match &v.published_on {
            Some(d) => format!(
                "Published {}",
                NaiveDate::parse_from_str(d, "%Y-%m-%d").map_or_else(|_| d.clone(), long_date)
            ),
            None => "Published".to_owned(),
        },
        other => other.to_owned(),
    }
}

fn visit_lines(
    tx: &Connection,
    caller: &Caller,
    location: Uuid,
) -> Result<Vec<VisitLine>, ServiceError> {
    let ids = crate::db::query_ids(
        tx,
        "SELECT id FROM visits WHERE location_id = ?1",
        [location.to_string()],
    )?;
    let mut out = Vec::new();
    for id in ids {
        let Some(v) = visits::visit_state(tx, id)? else {
            continue;
        };
        if caller.role == Role::Provider && v.status == visits::VisitStatus::SignedOff {
            continue;
        }
        let record = visits::revision_record(tx, id, v.current_revision)?;
        out.push(VisitLine {
            id,
            visited_on: record.visited_on(),
            kind: record.header.visit_type.label(),
            status: status_words(&v),
            open_actions: record
                .actions
                .values()
                .filter(|a| a.status == accredit_shared::visit::ActionStatus::Open)
                .count(),
        });
    }
    out.sort_by_key(|v| std::cmp::Reverse(v.visited_on));
    Ok(out)
}

/// Everything the status page shows.
struct Status {
    name: String,
    provider: String,
    address: String,
    service: &'static str,
    cqc_id: String,
    det: Determination,
    rules: Option<RuleSet>,
    warning: EarlyWarning,
    next_due: Option<NaiveDate>,
    history: Vec<HistoryPoint>,
    visits: Vec<VisitLine>,
    /// The first day of the current tier and premium.
    in_effect_since: NaiveDate,
    /// The tiers before and after the last stored change.
    last_change: Option<crate::service::locations::TierChange>,
}

fn load_status(
    s: &AppState,
    tx: &Connection,
    caller: &Caller,
    id: Uuid,
) -> Result<Status, ServiceError> {
    access::require_location(tx, caller, id)?;
    let records = tiers::records(tx, id)?.ok_or_else(|| ServiceError::not_found("location"))?;
    let (_, address) =
        tiers::location(tx, id)?.ok_or_else(|| ServiceError::not_found("location"))?;
    let today = s.today();
    let book = s.rules();
    let engine = Engine::new(&s.packs, &book);
    let det = engine.determine(&records, today);
    let warning = early_warning(&engine, &records, today);
    let rules = book.in_force(today).cloned();
    let next_due = accredit_shared::planning::next_due(&engine, &records, today);
    // The tier and scores as each published visit took effect.
    let history = records
        .visits
        .iter()
        .map(|v| {
            let d = engine.determine(&records, v.effective_on);
            HistoryPoint {
                on: v.effective_on,
                tier: d.tier.as_ref().map(|t| t.name.clone()),
                overall: d.scores.as_ref().and_then(|s| s.overall),
                domains: d
                    .scores
                    .as_ref()
                    .map(|s| {
                        s.domains
                            .iter()
                            .map(|x| (x.title.clone(), x.percent))
                            .collect()
                    })
                    .unwrap_or_default(),
            }
        })
        .collect();
    let provider = crate::service::locations::provider_names(tx)?
        .remove(&records.location.provider_id)
        .ok_or_else(|| ServiceError::internal("a location's provider is missing"))?;
    Ok(Status {
        name: records.location.name.clone(),
        provider,
        address,
        service: records.location.service_type.label(),
        cqc_id: records.location.cqc_location_id.clone(),
        visits: visit_lines(tx, caller, id)?,
        det,
        rules,
        warning,
        next_due,
        history,
        in_effect_since: engine.in_effect_since(&records, today),
        last_change: crate::service::locations::last_tier_change(tx, id)?,
    })
}

/// What was just done, to say how the tier changed. Only the kind of change travels in the
/// address; the tiers before and after are read from the stored determinations.
#[derive(Deserialize, Default)]
#[serde(default)]
pub struct StatusQuery {
    done: String,
}

/// A location's accreditation status.
pub async fn status(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
    Query(q): Query<StatusQuery>,
) -> PageResult {
    let id = super::path_id(&id, "location")?;
    let caller = viewer.caller.clone();
    let st = state
        .blocking(move |s| s.db.read(|tx| load_status(s, tx, &caller, id)))
        .await?;
    let det = &st.det;
    let advice = st.rules.as_ref().map(|r| next_tier(det, r));
    let tier_rule = st
        .rules
        .as_ref()
        .and_then(|r| det.tier.as_ref().and_then(|t| r.tier_at(t.rank)).cloned());
    let effective = Some(st.in_effect_since);
    let bands: Vec<Band> = st
        .rules
        .as_ref()
        .map(|r| {
            r.tiers
                .iter()
                .map(|t| Band {
                    name: t.name.clone(),
                    min_overall: t.min_overall_percent,
                    min_domain: t.min_domain_percent,
                })
                .collect()
        })
        .unwrap_or_default();
    let rules_name = st
        .rules
        .as_ref()
        .map(|r| {
            format!(
                "the rules in force today ({}, version {})",
                r.name, r.version
            )
        })
        .unwrap_or_default();
    let what = match q.done.as_str() {
        "cqc" => Some("CQC rating recorded."),
        "gate" => Some("Gate opened."),
        "gate-closed" => Some("Gate closed."),
        "qualification" => Some("Certificate recorded."),
        "published" => Some("Visit published."),
        "location" => Some("Location added."),
        "location-saved" => Some("Details saved."),
        d if d.starts_with("ownership-") => Some(
            "Change of ownership recorded: this is the location under its new owner, with its monitors; the previous location's registration has ended.",
        ),
        _ => None,
    };
    let now = tier_text(det.tier.as_ref().map(|t| t.name.as_str()));
    let notice = what.map(|w| match &st.last_change {
        Some((before, _)) => {
            let was = tier_text(before.as_deref());
            if was == now {
                format!("{w} The tier stays {now}.")
            } else {
                format!("{w} The tier changed from {was} to {now}.")
            }
        }
        None => format!("{w} The tier is {now}."),
    });
    let commissioner = viewer.caller.role == Role::Commissioner;
    let body = rsx! {
        if let Some(n) = &notice {
            div { class: "notification success", role: "status", id: "notification", p { "{n}" } }
        }
        span { class: "caption", "{st.provider}" }
        h1 { "{st.name}" }
        p { class: "hint", "{st.service} · {st.address} · CQC location {st.cqc_id}" }
        if commissioner {
            ul { class: "inline-links",
                li { a { href: "/locations/{id}/records", id: "records-link", "CQC ratings, gates and records" } }
                li { a { href: "/locations/{id}/placements", id: "placements-link", "Placements" } }
                li { a { href: "/locations/{id}/monitors", id: "monitors-link", "Monitors" } }
                li { a { href: "/locations/{id}/edit", id: "edit-link", "Details and change of ownership" } }
            }
        }
        if viewer.caller.sees_all() {
            p { a { href: "/plan/new?location={id}", id: "plan-link", class: "button secondary", "Plan a visit" } }
        }
        div { class: "status-panel",
            dl { class: "summary-list",
                div { dt { "Tier" } dd { id: "tier", strong { {tier_text(det.tier.as_ref().map(|t| t.name.as_str()))} } } }
                div { dt { "Premium per placement" } dd { id: "premium", {format!("{} a week", money(det.rate.weekly.0))} } }
                div { dt { "Premium status" } dd { id: "premium-status", {det.status.label()} } }
                div { dt { "In effect since" } dd { {day(effective)} } }
                div { dt { "Next visit due" } dd { {day(st.next_due)} } }
                div { dt { "Traffic light" } dd {
                    {light_tag(st.warning.light)}
                    if !st.warning.reasons.is_empty() {
                        ul { class: "reasons", for (i, r) in st.warning.reasons.iter().enumerate() { li { key: "{i}", "{r}" } } }
                    }
                } }
            }
        }
        h2 { "Why this tier" }
        if let Some(s) = &det.scores {
            p {
                {format!("From the {} on {}", det.visit.as_ref().map_or("visit", |v| v.visit_type.label()).to_lowercase(), day(det.visit.as_ref().map(|v| v.visited_on)))}
                {det.rule_set.as_ref().map(|r| format!(", under {} (version {}).", r.name, r.version)).unwrap_or_else(|| ".".to_owned())}
            }
            table { class: "table", id: "scores",
                caption { "Scores by domain" }
                thead { tr {
                    th { scope: "col", "Domain" }
                    th { scope: "col", class: "numeric", "Score" }
                    if let Some(t) = &tier_rule { th { scope: "col", class: "numeric", "{t.name} needs" } }
                    th { scope: "col", class: "numeric", "Criteria scored" }
                } }
                tbody {
                    for d in s.domains.iter() {
                        tr { key: "{d.domain_id}",
                            th { scope: "row", "{d.title}" }
                            td { class: "numeric", {percent_text(d.percent)} }
                            if let Some(t) = &tier_rule { td { class: "numeric", {percent_text(Some(t.min_domain_percent))} } }
                            td { class: "numeric", "{d.scored}" }
                        }
                    }
                    tr { class: "total",
                        th { scope: "row", "Overall" }
                        td { class: "numeric", {percent_text(s.overall)} }
                        if let Some(t) = &tier_rule { td { class: "numeric", {percent_text(Some(t.min_overall_percent))} } }
                        td { class: "numeric", "{s.scored} of {s.criteria}" }
                    }
                }
            }
            if let Some(why) = &s.inconclusive_reason { p { class: "warning-text", "{why}" } }
        } else {
            p { "No published visit sets a tier yet." }
        }
        if let Some(q) = &det.quality_tier {
            p { {format!("On quality alone the scores reach {}.", q.name)} }
        }
        if !det.limiters.is_empty() {
            h3 { "What changed the tier" }
            ul { class: "list", id: "limiters",
                for (i, l) in det.limiters.iter().enumerate() { li { key: "{i}", "{l.detail}" } }
            }
        }
        h3 { "Qualifications" }
        if det.qualifications.is_empty() {
            p { "None recorded." }
        } else {
            ul { class: "list", id: "qualifications",
                for q in det.qualifications.iter() {
                    li { key: "{q.qualification_id}",
                        strong { {q.kind.label()} }
                        if q.valid { {format!(": counted, {} a week; ", money(q.weekly.0))} } else { ": not counted: " }
                        "{q.reason}"
                    }
                }
            }
            if det.rate.qualification_cap_applied {
                p { {format!("Qualifications add at most {} a week together.", money(det.rate.qualification_weekly.0))} }
            }
        }
        if let Some(c) = &det.cqc {
            p { {format!("CQC rating: {} overall, published {}.", c.overall.label(), long_date(c.published_on))} }
        }
        if !det.gates.is_empty() {
            h3 { "Safeguarding and contract gates" }
            ul { class: "list", id: "gates",
                for g in det.gates.iter() {
                    li { key: "{g.gate_id}",
                        {format!("{}: opened {}", g.kind.label(), long_date(g.opened_on))}
                        {g.closed_on.map(|d| format!(", closed {}", long_date(d))).unwrap_or_default()}
                        {g.resumes_on.map(|d| format!("; the premium resumes on {}", long_date(d))).unwrap_or_default()}
                    }
                }
            }
        }
        if let Some(a) = &advice {
            h2 { "To reach the next tier" }
            div { id: "next-tier",
                match &a.tier {
                    Some(t) => rsx! { p { {format!("{t} pays {} a week per placement. It needs:", money(a.weekly_premium_pence))} } },
                    None => rsx! { p { "This is the highest tier." } },
                }
                if !a.steps.is_empty() {
                    ul { class: "list",
                        for (i, s) in a.steps.iter().enumerate() { li { key: "{i}", "{s.text}" } }
                    }
                }
            }
        }
        h2 { "History" }
        {history_chart(&st.history, &bands, &rules_name)}
        h2 { "Visits" }
        if st.visits.is_empty() {
            p { "No visit reports yet." }
        } else {
            table { class: "table", id: "visits",
                caption { class: "visually-hidden", "Visits" }
                thead { tr {
                    th { scope: "col", "Date" }
                    th { scope: "col", "Visit" }
                    th { scope: "col", "Report" }
                    th { scope: "col", class: "numeric", "Open actions" }
                } }
                tbody {
                    for v in st.visits.iter() {
                        tr { key: "{v.id}",
                            td { a { href: "/visits/{v.id}", {long_date(v.visited_on)} } }
                            td { "{v.kind}" }
                            td { "{v.status}" }
                            td { class: "numeric", "{v.open_actions}" }
                        }
                    }
                }
            }
        }
    };
    Ok(html(
        StatusCode::OK,
        page(&st.name, Some(&viewer), Section::Locations, body),
    ))
}
