//! A view of the whole market for commissioners and leads: tiers month by month, premium by tier
//! month by month with the 12 months ahead committed at today's placements, and where locations
//! score lowest (domains, criteria and a heat map of every location's domain scores, worst
//! first, filtered and paged). Each page is one call to `service::market`, which reads stored
//! figures; each says which day they are for and how many locations are still being refreshed.
//! Providers and monitors get a 404.

use accredit_shared::labels::long_date;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use chrono::Datelike;
use dioxus::prelude::*;
use serde::Deserialize;

use super::layout::{Section, money, number, page, tier_text, when};
use super::market_chart::{Bar, stacked_bars};
use super::session::{Viewer, url_encode};
use super::{PageError, PageResult, html};
use crate::error::ServiceError;
use crate::service::market::{self, Freshness, HeatFilter, TierKey};
use crate::state::AppState;

fn only_council(viewer: &Viewer) -> Result<(), PageError> {
    if viewer.caller.sees_all() {
        Ok(())
    } else {
        Err(PageError(ServiceError::not_found("page")))
    }
}

fn tier_name(t: &str) -> String {
    tier_text((t != crate::market_figures::NO_TIER).then_some(t))
}

fn tenths_text(t: Option<i64>) -> String {
    t.map_or_else(
        || "—".to_owned(),
        |t| {
            let sign = if t < 0 { "-" } else { "" };
            format!("{sign}{}.{}%", t.abs() / 10, t.abs() % 10)
        },
    )
}

fn month_name(key: &str) -> String {
    accredit_shared::calendar::parse_month(key)
        .map(|m| m.from.format("%B %Y").to_string())
        .unwrap_or_else(|_| key.to_owned())
}

fn bar_label(key: &str, first: bool) -> (String, Option<String>) {
    match accredit_shared::calendar::parse_month(key) {
        Ok(m) => (
            m.from.format("%b").to_string(),
            (first || m.from.month() == 1).then(|| m.from.year().to_string()),
        ),
        Err(_) => (key.to_owned(), None),
    }
}

fn freshness_note(f: &Freshness) -> Element {
    let day = f
        .figures_on
        .map_or_else(|| "no day yet".to_owned(), long_date);
    let behind = f.figures_on != Some(f.today);
    rsx! {
        if f.pending > 0 || behind {
            div { class: "inset", role: "status", id: "freshness",
                p {
                    strong { "Figures as of {day}. " }
                    if f.pending > 0 {
                        {format!("{} {} still being refreshed after a change or a new day, so {} figures are from before it. Reload the page in a moment.",
                            number(f.pending),
                            if f.pending == 1 { "location is" } else { "locations are" },
                            if f.pending == 1 { "its" } else { "their" })}
                    }
                }
            }
        } else {
            p { class: "hint", id: "freshness",
                {format!("Figures as of {day}, for all {} locations, last refreshed {}.", number(f.locations), when(f.refreshed_at.as_deref()))}
            }
        }
    }
}

fn sub_nav(current: &str) -> Element {
    let links = [
        ("/market", "Tiers over time"),
        ("/market/spend", "Premium spend"),
        ("/market/quality", "Where scores are lowest"),
    ];
    rsx! {
        nav { class: "inline-links", aria_label: "Market view",
            for (href, label) in links {
                a { key: "{href}", href: "{href}", aria_current: if href == current { "page" } else { "false" }, "{label}" }
            }
        }
    }
}

fn series(tiers: &[TierKey]) -> Vec<String> {
    tiers.iter().map(|t| tier_name(&t.tier)).collect()
}

/// Tiers month by month.
pub async fn overview(State(state): State<AppState>, viewer: Viewer) -> PageResult {
    only_council(&viewer)?;
    let caller = viewer.caller.clone();
    let v = state
        .blocking(move |s| market::overview(s, &caller))
        .await?;
    let names = series(&v.tiers);
    let bars: Vec<Bar> = v
        .months
        .iter()
        .enumerate()
        .map(|(i, m)| {
            let (label, year) = bar_label(&m.month, i == 0);
            Bar {
                label,
                year,
                values: v
                    .tiers
                    .iter()
                    .map(|t| {
                        m.counts
                            .iter()
                            .find(|c| c.tier == t.tier)
                            .map_or(0, |c| c.locations)
                    })
                    .collect(),
                ahead: false,
            }
        })
        .collect();
    let latest = v.months.last();
    let summary = match latest {
        Some(m) => format!(
            "Locations at each tier at the end of each of the last {} months, best tier at the bottom of each bar. On {}: {}.",
            v.months.len(),
            long_date(m.on),
            m.counts
                .iter()
                .map(|c| format!("{} {}", tier_name(&c.tier), number(c.locations as usize)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        None => "No figures yet.".to_owned(),
    };
    let chart = stacked_bars(
        "tiers-chart",
        "Locations at each tier, month by month",
        &summary,
        &names,
        &bars,
        &|n| number(n.max(0) as usize),
    );
    let body = rsx! {
        h1 { "The market" }
        {sub_nav("/market")}
        {freshness_note(&v.freshness)}
        if let Some(m) = latest {
            dl { class: "summary-list", id: "tiers-today",
                for c in m.counts.iter() {
                    div { key: "{c.tier}",
                        dt { {tier_name(&c.tier)} }
                        dd { {format!("{} {}", number(c.locations as usize), if c.locations == 1 { "location" } else { "locations" })} }
                    }
                }
                div { dt { "All registered locations" } dd { {number(m.total as usize)} } }
            }
        }
        h2 { "Tiers over time" }
        {chart}
        table { class: "table compact", id: "tiers-table",
            caption { "Locations at each tier at each month's end (the current month: today)" }
            thead { tr {
                th { scope: "col", "Month" }
                for n in names.iter() { th { key: "{n}", scope: "col", class: "numeric", "{n}" } }
                th { scope: "col", class: "numeric", "All" }
            } }
            tbody {
                for m in v.months.iter().rev() {
                    tr { key: "{m.month}",
                        th { scope: "row", {month_name(&m.month)} }
                        for t in v.tiers.iter() {
                            td { key: "{t.tier}", class: "numeric",
                                {number(m.counts.iter().find(|c| c.tier == t.tier).map_or(0, |c| c.locations) as usize)}
                            }
                        }
                        td { class: "numeric", {number(m.total as usize)} }
                    }
                }
            }
        }
    };
    Ok(html(
        StatusCode::OK,
        page("The market", Some(&viewer), Section::Market, body),
    ))
}

/// Premium by tier month by month, and committed for the next 12 months.
pub async fn spend(State(state): State<AppState>, viewer: Viewer) -> PageResult {
    only_council(&viewer)?;
    let caller = viewer.caller.clone();
    let v = state.blocking(move |s| market::spend(s, &caller)).await?;
    let names = series(&v.tiers);
    let bars: Vec<Bar> = v
        .months
        .iter()
        .enumerate()
        .map(|(i, m)| {
            let (label, year) = bar_label(&m.month, i == 0);
            Bar {
                label,
                year,
                values: v
                    .tiers
                    .iter()
                    .map(|t| {
                        m.by_tier
                            .iter()
                            .find(|x| x.tier == t.tier)
                            .map_or(0, |x| x.paid_pence)
                    })
                    .collect(),
                ahead: m.committed,
            }
        })
        .collect();
    let summary = format!(
        "Premium payable each month by tier, best tier at the bottom of each bar: the last {} months from each month's payment schedule, then the next {} months committed at today's placements, {} in all ({} on hold).",
        v.months.iter().filter(|m| !m.committed).count(),
        v.months.iter().filter(|m| m.committed).count(),
        money(v.committed_pence),
        money(v.committed_on_hold_pence)
    );
    let chart = stacked_bars(
        "spend-chart",
        "Premium payable by tier, month by month",
        &summary,
        &names,
        &bars,
        &|p| {
            // Axis ticks are round numbers; one decimal keeps £1.5k apart from £1k.
            let pounds = p / 100;
            let short = |unit: i64, suffix: &str| {
                let tenths = pounds * 10 / unit;
                if tenths % 10 == 0 {
                    format!("£{}{suffix}", tenths / 10)
                } else {
                    format!("£{}.{}{suffix}", tenths / 10, tenths % 10)
                }
            };
            if pounds >= 1_000_000 {
                short(1_000_000, "m")
            } else if pounds >= 1000 {
                short(1000, "k")
            } else {
                format!("£{pounds}")
            }
        },
    );
    let cell = |m: &market::SpendMonth, tier: &str| {
        m.by_tier
            .iter()
            .find(|x| x.tier == tier)
            .map_or(0, |x| x.paid_pence)
    };
    let body = rsx! {
        h1 { "Premium spend" }
        {sub_nav("/market/spend")}
        {freshness_note(&v.freshness)}
        h2 { "The next 12 months, committed at today's placements" }
        dl { class: "summary-list", id: "committed",
            div { dt { "Payable" } dd { id: "committed-total", {money(v.committed_pence)} } }
            for t in v.committed_by_tier.iter() {
                div { key: "{t.tier}", dt { {tier_name(&t.tier)} } dd { {money(t.paid_pence)} } }
            }
            div { dt { "On hold (open s.42 enquiries)" } dd { {money(v.committed_on_hold_pence)} } }
        }
        p { class: "hint",
            "Months ahead count the placements running today as if they continue (those with an end date stop then), at the tiers the records give for each day. Past months are each month's payment schedule, as the payments page computes it."
        }
        h2 { "Month by month" }
        {chart}
        table { class: "table compact", id: "spend-table",
            caption { "Premium payable by tier each month" }
            thead { tr {
                th { scope: "col", "Month" }
                for n in names.iter() { th { key: "{n}", scope: "col", class: "numeric", "{n}" } }
                th { scope: "col", class: "numeric", "Payable" }
                th { scope: "col", class: "numeric", "A week, on average" }
                th { scope: "col", class: "numeric", "On hold" }
            } }
            tbody {
                for m in v.months.iter() {
                    tr { key: "{m.month}",
                        th { scope: "row",
                            {month_name(&m.month)}
                            if m.committed { br {} span { class: "hint", "committed" } }
                        }
                        for t in v.tiers.iter() {
                            td { key: "{t.tier}", class: "numeric", {money(cell(m, &t.tier))} }
                        }
                        td { class: "numeric", {money(m.paid_pence)} }
                        td { class: "numeric", {money(weekly(m.paid_pence, m.days))} }
                        td { class: "numeric", {money(m.on_hold_pence)} }
                    }
                }
            }
        }
    };
    Ok(html(
        StatusCode::OK,
        page("Premium spend", Some(&viewer), Section::Market, body),
    ))
}

/// A month's amount as an average week (× 7 ÷ days), rounded half up: for reading only.
fn weekly(pence: i64, days: u32) -> i64 {
    if days == 0 {
        return 0;
    }
    let d = i64::from(days);
    (2 * pence * 7 + d).div_euclid(2 * d)
}

/// The quality page's filters.
#[derive(Deserialize, Default)]
#[serde(default)]
pub struct QualityQuery {
    q: String,
    tier: String,
    page: String,
    criteria: String,
}

fn heat_class(t: Option<i64>, bands: &[i64]) -> &'static str {
    match t {
        None => "heat-none",
        Some(t) => match bands.iter().filter(|b| t >= **b).count() {
            0 => "heat-0",
            1 => "heat-1",
            2 => "heat-2",
            _ => "heat-3",
        },
    }
}

/// Domains and criteria where locations score lowest, and the heat map.
pub async fn quality(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(q): Query<QualityQuery>,
) -> PageResult {
    only_council(&viewer)?;
    let page_no = if q.page.trim().is_empty() {
        1
    } else {
        q.page
            .trim()
            .parse::<usize>()
            .ok()
            .filter(|p| *p >= 1)
            .ok_or_else(|| ServiceError::bad_request("the page must be a whole number from 1"))?
    };
    let filter = HeatFilter {
        provider: None,
        tier: (!q.tier.is_empty()).then(|| q.tier.clone()),
        q: q.q.clone(),
        page: page_no,
    };
    let caller = viewer.caller.clone();
    let today = state.today();
    let rules = state.rules();
    // Band edges for the cells: each tier's domain minimum under the rules in force, lowest first.
    let mut bands: Vec<i64> = rules
        .in_force(today)
        .map(|r| {
            r.tiers
                .iter()
                .map(|t| crate::market_figures::tenths(t.min_domain_percent))
                .collect()
        })
        .unwrap_or_default();
    bands.sort_unstable();
    let tier_names: Vec<String> = rules
        .in_force(today)
        .map(|r| r.tiers.iter().map(|t| t.name.clone()).collect())
        .unwrap_or_default();
    let v = state
        .blocking(move |s| market::quality(s, &caller, &filter))
        .await?;
    let all_criteria = q.criteria == "all";
    let shown = if all_criteria { v.criteria.len() } else { 20 };
    let heat = &v.heat;
    let pages = heat.total.div_ceil(heat.per_page).max(1);
    let first = (heat.page - 1) * heat.per_page + 1;
    let last = (first + heat.rows.len()).saturating_sub(1);
    let link = |p: usize| {
        format!(
            "/market/quality?q={}&tier={}&page={p}#heat",
            url_encode(&q.q),
            url_encode(&q.tier)
        )
    };
    let floor = v.standard_domain_tenths;
    let body = rsx! {
        h1 { "Where scores are lowest" }
        {sub_nav("/market/quality")}
        {freshness_note(&v.freshness)}
        p { class: "hint",
            "From each location's latest published visit that sets its tier. Percentages are shown to one decimal place; tiers are decided on exact scores."
        }
        table { class: "table compact", id: "domains",
            caption { "Domains" }
            thead { tr {
                th { scope: "col", "Domain" }
                th { scope: "col", class: "numeric", "Locations scored" }
                th { scope: "col", class: "numeric", "Average" }
                th { scope: "col", class: "numeric",
                    {format!("Below the standard ({})", tenths_text(floor))}
                }
                th { scope: "col", class: "numeric", "Lowest domain at" }
            } }
            tbody {
                for d in v.domains.iter() {
                    tr { key: "{d.domain_id}",
                        th { scope: "row", "{d.title}" }
                        td { class: "numeric", {number(d.locations as usize)} }
                        td { class: "numeric", {tenths_text(Some(d.mean_tenths))} }
                        td { class: "numeric", {number(d.below_standard as usize)} }
                        td { class: "numeric", {number(d.lowest_at as usize)} }
                    }
                }
            }
        }
        h2 { id: "criteria-heading", "Criteria with the most locations at the lowest score" }
        if v.criteria.is_empty() {
            p { "No scored visits yet." }
        } else {
            table { class: "table compact", id: "criteria", aria_labelledby: "criteria-heading",
                thead { tr {
                    th { scope: "col", "Criterion" }
                    th { scope: "col", class: "numeric", "At the lowest score" }
                    th { scope: "col", class: "numeric", "Scored" }
                    th { scope: "col", "Locations at each score" }
                } }
                tbody {
                    for c in v.criteria.iter().take(shown) {
                        tr { key: "{c.pack_id}{c.pack_version}{c.criterion_id}",
                            th { scope: "row",
                                "{c.criterion_id}"
                                if !c.prompt.is_empty() { br {} span { class: "hint", "{c.prompt}" } }
                                br {}
                                span { class: "hint", "{c.pack_id} {c.pack_version}" }
                            }
                            td { class: "numeric", {number(c.at_lowest as usize)} }
                            td { class: "numeric", {number(c.scored as usize)} }
                            td { {c.by_score.iter().map(|(s, n)| format!("{s}: {}", number(*n as usize))).collect::<Vec<_>>().join(" · ")} }
                        }
                    }
                }
            }
            if !all_criteria && v.criteria.len() > shown {
                p { a { href: "/market/quality?criteria=all#criteria-heading", id: "all-criteria", {format!("Show all {} criteria", v.criteria.len())} } }
            }
        }
        h2 { id: "heat", "Every location's domain scores, worst first" }
        p { class: "hint",
            "Sorted by each location's lowest domain, then its overall score. Every cell gives the score; the shading only repeats which tier's domain minimum the score reaches, and scores below the approved standard are marked “below”."
        }
        form { class: "filters", method: "get", action: "/market/quality", role: "search", aria_label: "Filter the locations",
            div { class: "form-group",
                label { class: "label", r#for: "q", "Location or provider name" }
                input { class: "input", id: "q", name: "q", r#type: "search", value: "{q.q}" }
            }
            div { class: "form-group",
                label { class: "label", r#for: "tier", "Tier today" }
                select { class: "select", id: "tier", name: "tier",
                    option { value: "", "Any tier" }
                    for t in tier_names.iter() {
                        option { key: "{t}", value: "{t}", selected: q.tier == *t, "{t}" }
                    }
                    option { value: "none", selected: q.tier == "none", "No tier" }
                }
            }
            button { class: "button secondary", r#type: "submit", "Show" }
        }
        if heat.rows.is_empty() {
            p { id: "no-locations", "No locations with scores match." }
        } else {
            div { class: "table-scroll", tabindex: "0", role: "region", aria_labelledby: "heat-caption",
                table { class: "table compact heat", id: "heat-table",
                    caption { id: "heat-caption",
                        {format!("Locations {}–{} of {}", number(first), number(last), number(heat.total))}
                    }
                    thead { tr {
                        th { scope: "col", "Location" }
                        th { scope: "col", "Tier" }
                        th { scope: "col", class: "numeric", "Overall" }
                        for (id, title) in heat.columns.iter() { th { key: "{id}", scope: "col", class: "numeric", "{title}" } }
                    } }
                    tbody {
                        for r in heat.rows.iter() {
                            tr { key: "{r.location_id}",
                                th { scope: "row",
                                    a { href: "/locations/{r.location_id}", "{r.name}" }
                                    br {}
                                    span { class: "hint", "{r.provider}" }
                                }
                                td { {tier_name(&r.tier)} }
                                td { class: "numeric", {tenths_text(r.overall_tenths)} }
                                for (i, c) in r.cells.iter().enumerate() {
                                    td { key: "{i}", class: "numeric {heat_class(*c, &bands)}",
                                        {tenths_text(*c)}
                                        if c.zip(floor).is_some_and(|(c, f)| c < f) { br {} span { class: "heat-flag", "below" } }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            nav { class: "pagination", aria_label: "Pages of locations",
                if heat.page > 1 { a { href: link(heat.page - 1), rel: "prev", id: "previous-page", "Previous page" } }
                span { {format!("Page {} of {}", number(heat.page), number(pages))} }
                if heat.page < pages { a { href: link(heat.page + 1), rel: "next", id: "next-page", "Next page" } }
            }
        }
    };
    Ok(html(
        StatusCode::OK,
        page(
            "Where scores are lowest",
            Some(&viewer),
            Section::Market,
            body,
        ),
    ))
}
