//! Presentational components: they take plain data and render it, with no access to the store,
//! so tests render them with `dioxus-ssr`.

use accredit_shared::ratio::percent_text;
use accredit_shared::visit::Conflict;
use dioxus::prelude::*;

use crate::store::{ItemKind, OutboxEntry, OutboxState};
use crate::sync_client::SyncProgress;
use crate::workspace::{LiveSummary, SignOffCheck};

/// The live summary beside the visit editor: domain and overall percentages and the indicative
/// tier, as the shared engine computes them.
#[component]
pub fn SummaryPanel(summary: LiveSummary) -> Element {
    let s = &summary.scores;
    let tier = summary
        .indicative
        .tier
        .as_ref()
        .map_or_else(|| "No tier".to_owned(), |t| t.name.clone());
    rsx! {
        section { class: "panel summary", aria_label: "Live summary", id: "section-summary",
            h2 { "Summary" }
            p { class: "caption", "Overall" }
            p { class: "overall", id: "overall-percent", {percent_text(s.overall)} }
            p {
                "Indicative tier: "
                strong { id: "indicative-tier", "{tier}" }
            }
            if let Some(why) = &summary.indicative.capped_because {
                p { class: "caption", id: "tier-capped", "{why}" }
            }
            table {
                caption { class: "caption", "Scores by domain" }
                thead { tr { th { scope: "col", "Domain" } th { scope: "col", "Score" } th { scope: "col", "Scored" } } }
                tbody {
                    for d in s.domains.iter() {
                        tr { key: "{d.domain_id}",
                            td { "{d.title}" }
                            td { {percent_text(d.percent)} }
                            td { "{d.scored}" }
                        }
                    }
                }
            }
            p { class: "caption",
                "{s.scored} scored, {s.not_applicable} not applicable, {s.not_assessed} not assessed of {s.criteria}. Rules: {summary.rule_set}."
            }
            if !s.critical_failures.is_empty() {
                p { class: "tag red", "Critical criteria failed: {s.critical_failures.len()}" }
            }
        }
    }
}

/// One conflict: every value with its author, and the choice of value with a reason.
#[component]
pub fn ConflictView(
    conflict: Conflict,
    title: String,
    /// Called with (chosen value, reason) when the monitor resolves it.
    on_resolve: Option<EventHandler<(String, String)>>,
    /// An error about the reason, shown beside it.
    #[props(default)]
    error: Option<String>,
) -> Element {
    let path = conflict.path.join("/");
    let reason_id = format!("reason-{}", path.replace('/', "-"));
    let mut reason = use_signal(String::new);
    rsx! {
        div { class: "conflict", role: "group", aria_label: "Conflict on {title}",
            h3 { "Two different values for {title}" }
            ul {
                for v in conflict.values.iter() {
                    li { key: "{v.actor}",
                        strong { {display_value(&v.value)} }
                        " recorded by "
                        {v.author.as_ref().map_or_else(|| "an unknown device".to_owned(), |a| a.name.clone())}
                    }
                }
            }
            if let Some(handler) = on_resolve {
                div { class: "field",
                    label { r#for: "{reason_id}", "Why this value (kept in the record)" }
                    if let Some(m) = &error {
                        p { class: "field-error", id: "{reason_id}-error", span { class: "visually-hidden", "Error: " } "{m}" }
                    }
                    input { r#type: "text", id: "{reason_id}", aria_describedby: if error.is_some() { Some(format!("{reason_id}-error")) } else { None }, oninput: move |e| reason.set(e.value()) }
                }
                div { class: "choices",
                    for v in conflict.values.iter() {
                        button {
                            key: "{v.actor}",
                            class: "button secondary",
                            id: "keep-{path.replace('/', \"-\")}-{v.value.replace(' ', \"-\")}",
                            onclick: {
                                let value = v.value.clone();
                                move |_| handler.call((value.clone(), reason()))
                            },
                            "Keep {display_value(&v.value)}"
                        }
                    }
                }
            }
        }
    }
}

/// The conflicts of a visit, or a line saying there are none.
#[component]
pub fn ConflictList(conflicts: Vec<(Conflict, String)>) -> Element {
    rsx! {
        section { aria_label: "Conflicts",
            h2 { "Conflicts" }
            if conflicts.is_empty() {
                p { id: "no-conflicts", "No conflicts: nobody else has changed the same answers." }
            } else {
                p { "Another monitor's offline edits disagree with yours. Choose a value for each, with a reason, before signing off." }
                for (c, title) in conflicts.iter() {
                    ConflictView { key: "{c.path.join(\"/\")}", conflict: c.clone(), title: title.clone(), on_resolve: None }
                }
            }
        }
    }
}

/// An answer as a monitor reads it.
pub fn display_value(value: &str) -> String {
    match value {
        "not_applicable" => "N/A".to_owned(),
        "not_assessed" => "Not assessed".to_owned(),
        other => other.to_owned(),
    }
}

fn state_tag(state: OutboxState) -> &'static str {
    match state {
        OutboxState::Acknowledged => "tag green",
        OutboxState::Failed => "tag red",
        OutboxState::Sent => "tag blue",
        OutboxState::Queued => "tag amber",
        OutboxState::LocalOnly => "tag grey",
    }
}

/// The sync centre: each visit and photo with where it stands, the server's receipt or the
/// reason it failed, and a progress bar while photos upload.
#[component]
pub fn SyncCentreView(
    entries: Vec<OutboxEntry>,
    progress: Option<SyncProgress>,
    last_result: Option<String>,
    /// When the last run reached the server, in words.
    #[props(default)]
    last_synced: Option<String>,
) -> Element {
    let pending = entries
        .iter()
        .filter(|e| e.state != OutboxState::Acknowledged)
        .count();
    rsx! {
        section { aria_label: "Sync centre",
            if let Some(p) = &progress {
                div { class: "panel", role: "status",
                    p { strong { "{p.stage}" } }
                    if p.bytes_total > 0 {
                        div {
                            class: "progress",
                            role: "progressbar",
                            aria_valuemin: "0",
                            aria_valuemax: "{p.bytes_total}",
                            aria_valuenow: "{p.bytes_done}",
                            aria_label: "Photo upload",
                            div { style: "width: {p.bytes_done * 100 / p.bytes_total.max(1)}%" }
                        }
                        p { class: "caption", "{kib(p.bytes_done)} of {kib(p.bytes_total)} uploaded" }
                    }
                }
            }
            if let Some(r) = &last_result {
                p { class: "notice", id: "last-sync", "{r}" }
            }
            if let Some(t) = &last_synced {
                p { class: "caption", id: "last-synced", "{t}" }
            }
            p { id: "pending-count",
                if pending == 0 {
                    "Everything on this device has reached the server."
                } else {
                    {format!("{} not yet received by the server.", accredit_shared::labels::count(pending, "item", "items"))}
                }
            }
            table { class: "table",
                thead { tr { th { scope: "col", "Item" } th { scope: "col", "Status" } th { scope: "col", "Details" } } }
                tbody {
                    for e in entries.iter() {
                        tr { key: "{e.item}",
                            td {
                                {match e.kind { ItemKind::Visit => "Visit: ", ItemKind::Photo => "Photo: " }}
                                "{e.label}"
                            }
                            td { span { class: state_tag(e.state), {e.state.label()} } }
                            td {
                                if let Some(r) = &e.reason { span { class: "reason", "{r}" } }
                                // The receipt itself (the server's version of the visit) is for
                                // the device, not for people: say what it means.
                                if e.receipt.is_some() && e.state == OutboxState::Acknowledged {
                                    span { class: "receipt", "The server has this version." }
                                }
                                if e.kind == ItemKind::Photo && e.state != OutboxState::Acknowledged && e.bytes_total > 0 {
                                    span { class: "caption", " {kib(e.bytes_done)} of {kib(e.bytes_total)}" }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn kib(bytes: u64) -> String {
    if bytes >= 1024 * 1024 {
        format!("{:.1} MB", bytes as f64 / (1024.0 * 1024.0))
    } else {
        format!("{} KB", bytes.div_ceil(1024))
    }
}

/// The sign-off check list. Unanswered criteria are grouped by domain, each a link to the
/// criterion (through `on_open`, with its id); `children` (what to do about them) comes between
/// the summary and the list, where it is seen without scrolling past every criterion.
#[component]
pub fn ChecklistView(
    check: SignOffCheck,
    on_open: Option<EventHandler<String>>,
    children: Element,
) -> Element {
    use accredit_shared::labels::count;
    let mut groups: Vec<(String, Vec<(String, String)>)> = Vec::new();
    for u in &check.unanswered {
        match groups.last_mut() {
            Some((d, items)) if *d == u.domain => items.push((u.id.clone(), u.prompt.clone())),
            _ => groups.push((u.domain.clone(), vec![(u.id.clone(), u.prompt.clone())])),
        }
    }
    rsx! {
        if check.ready() {
            p { class: "notice", id: "ready-to-sign", "Every criterion is answered, there are no conflicts and every action has a due date." }
        } else {
            div { class: "error-summary", role: "alert", tabindex: "-1",
                h2 { "Before you can sign off" }
                ul { class: "checklist",
                    if !check.unanswered.is_empty() {
                        li { {format!("{} no answer (a score, N/A or not assessed)", count(check.unanswered.len(), "criterion has", "criteria have"))} }
                    }
                    if check.conflicts > 0 {
                        li { {format!("{} to resolve", count(check.conflicts, "conflict", "conflicts"))} }
                    }
                    if !check.actions_without_due.is_empty() {
                        li { {format!("{} no due date", count(check.actions_without_due.len(), "action has", "actions have"))} }
                    }
                }
            }
            {children}
            if !groups.is_empty() {
                section { class: "unanswered", id: "unanswered", aria_label: "Criteria without an answer",
                    h2 { "Criteria without an answer" }
                    for (domain, items) in groups.iter() {
                        h3 { key: "{domain}", {format!("{domain} ({})", items.len())} }
                        ul { class: "plain",
                            for (id, prompt) in items.iter() {
                                li { key: "{id}",
                                    button {
                                        class: "link-button",
                                        id: "goto-unanswered-{id.replace('.', \"-\")}",
                                        onclick: {
                                            let id = id.clone();
                                            move |_| {
                                                if let Some(h) = on_open {
                                                    h.call(id.clone());
                                                }
                                            }
                                        },
                                        "{prompt}"
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// Bytes as a monitor reads them: "12.4 MB".
fn megabytes(bytes: u64) -> String {
    if bytes >= 1_000_000_000 {
        format!("{:.1} GB", bytes as f64 / 1e9)
    } else {
        format!("{:.1} MB", bytes as f64 / 1e6)
    }
}

/// The web app's storage: whether the browser will keep it, and how full it is.
#[component]
pub fn StorageView(report: crate::platform::StorageReport) -> Element {
    rsx! {
        section { aria_label: "Storage on this device", id: "storage",
            h2 { "Storage on this device" }
            dl { class: "summary-list",
                div { dt { "Kept in" }
                    dd { id: "storage-kind",
                        if report.in_indexeddb {
                            "This browser's IndexedDB: it offers web apps no private files, so each change is written a moment after you make it (\"Saving…\" shows until it is). The whole store is read when Accredit starts, so starting takes longer as photos build up. Safari 17 or later, Chrome and Edge, in a normal window, keep Accredit's data in private files instead."
                        } else {
                            "This browser's private files for Accredit"
                        }
                    }
                }
                div { dt { "Used" } dd { {format!("{} of {} this browser allows", megabytes(report.used), megabytes(report.quota))} } }
                div { dt { "Kept permanently" }
                    dd { id: "storage-persisted",
                        if report.persisted {
                            "Yes: the browser will not remove Accredit's data to free space."
                        } else {
                            "No: the browser may remove Accredit's data if the device runs short of space. Sync whenever you can, and add Accredit to the home screen, which makes browsers keep it."
                        }
                    }
                }
            }
        }
    }
}
