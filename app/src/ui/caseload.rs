//! The caseload screen: locations riskiest first, with a search by name.

use accredit_shared::money::Pence;
use accredit_shared::warning::Light;
use dioxus::prelude::*;

use super::{AppContext, Screen, Ui};
use crate::caseload::CaseloadEntry;

/// Today in London.
pub fn today() -> chrono::NaiveDate {
    accredit_shared::calendar::london_date(chrono::Utc::now())
}

/// The colour's class and words.
pub fn light(l: Light) -> (&'static str, &'static str) {
    match l {
        Light::Red => ("red", "Red"),
        Light::Amber => ("amber", "Amber"),
        Light::Green => ("green", "Green"),
    }
}

/// Optional dates as a monitor reads them.
pub fn day(d: Option<chrono::NaiveDate>) -> String {
    d.map_or_else(|| "Never".to_owned(), |d| d.format("%-d %b %Y").to_string())
}

/// When cached data was fetched, in London time.
pub fn fetched_text(at: &str) -> String {
    chrono::DateTime::parse_from_rfc3339(at)
        .map(|t| {
            t.with_timezone(&chrono_tz::Europe::London)
                .format("at %H:%M on %-d %b %Y")
                .to_string()
        })
        .unwrap_or_else(|_| at.to_owned())
}

#[component]
pub(super) fn CaseloadScreen() -> Element {
    let ctx = use_context::<AppContext>();
    let ui = use_context::<Ui>();
    let _ = (ui.tick)();
    let mut query = use_signal(String::new);
    let (entries, fetched) = {
        let w = ctx.ws();
        (
            w.caseload(&query(), today()),
            w.caseload_fetched_at().ok().flatten(),
        )
    };
    let entries = match entries {
        Ok(e) => e,
        Err(e) => return rsx! { p { class: "error-summary", "{e}" } },
    };
    let first = entries.first().map(|e| e.location.id);
    rsx! {
        h1 { "Your caseload" }
        p { class: "caption",
            "Your planned visits first, by day; then riskiest first: overdue and red at the top. "
            if let Some(at) = fetched { {format!("Updated from the server {}.", fetched_text(&at))} }
        }
        form {
            class: "search",
            role: "search",
            onsubmit: move |e: FormEvent| {
                e.prevent_default();
                if let Some(id) = first {
                    ui.go(Screen::Location(id));
                }
            },
            label { r#for: "search", class: "label", style: "position:absolute;left:-9999px", "Search by name" }
            input { r#type: "search", id: "search", name: "q", placeholder: "Search by name", oninput: move |e| query.set(e.value()) }
            button { class: "button secondary", r#type: "submit", "Open first" }
        }
        if entries.is_empty() {
            p { id: "no-locations", "No locations match." }
        }
        div { class: "cards", id: "caseload",
            for e in entries {
                CaseloadCard { key: "{e.location.id}", entry: e }
            }
        }
    }
}

#[component]
fn CaseloadCard(entry: CaseloadEntry) -> Element {
    let ui = use_context::<Ui>();
    let loc = &entry.location;
    let (class, words) = light(loc.traffic_light);
    let id = loc.id;
    let reason = loc
        .traffic_light_reasons
        .first()
        .cloned()
        .unwrap_or_default();
    rsx! {
        button {
            class: "card {class}",
            id: "location-{id}",
            onclick: move |_| ui.go(Screen::Location(id)),
            h3 { "{loc.name}" }
            span { class: "tag {class}", "{words}" }
            if entry.overdue { " " span { class: "tag red", "Visit overdue" } }
            if let Some(p) = &entry.next_planned {
                p { class: "plan-line", {format!("Planned: {} on {}", p.visit_type.label(), day(Some(p.planned_on)))} }
            }
            dl {
                dt { "Tier" } dd { {loc.tier.clone().unwrap_or_else(|| "None".to_owned())} " · " {Pence(loc.weekly_premium_pence).to_string()} " a week" }
                dt { "Last visit" } dd { {day(entry.last_visit_on)} }
                if let Some(d) = entry.draft_started_on {
                    dt { "In progress" } dd { class: "draft", {format!("a visit started {}", day(Some(d)))} }
                }
                dt { "Next due" } dd { {day(loc.next_visit_due_on)} }
                dt { "Open actions" } dd { "{entry.open_actions}" if entry.overdue_actions > 0 { " ({entry.overdue_actions} overdue)" } }
                if !reason.is_empty() { dt { "Why" } dd { "{reason}" } }
            }
        }
    }
}
