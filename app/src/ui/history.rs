//! A visit's history, read on the tablet from the visit's own document: each edit session with
//! who made it and what it changed, the state as signed off, and what changed since.

use accredit_shared::ratio::percent_text;
use accredit_shared::records::Answer;
use accredit_shared::visit_diff::{Change, VisitDiff};
use chrono::{DateTime, Utc};
use dioxus::prelude::*;
use uuid::Uuid;

use super::{AppContext, Screen, Ui};
use crate::workspace::{HistoryPoint, ResultChange};

/// An answer in words, as the editor shows it.
pub(super) fn answer_words(a: Option<Answer>) -> String {
    match a {
        Some(Answer::Score(s)) => s.to_string(),
        Some(Answer::NotApplicable) => "Does not apply".to_owned(),
        Some(Answer::NotAssessed) => "Not assessed".to_owned(),
        None => "No answer".to_owned(),
    }
}

/// A time in London, as people read it.
pub(super) fn when(at: Option<DateTime<Utc>>) -> String {
    at.map_or_else(
        || "Time not recorded".to_owned(),
        |t| {
            t.with_timezone(&chrono_tz::Europe::London)
                .format("%-d %b %Y, %H:%M")
                .to_string()
        },
    )
}

fn counts<K, T>(what: &str, changes: &std::collections::BTreeMap<K, Change<T>>) -> Option<String> {
    let (mut added, mut removed, mut changed) = (0, 0, 0);
    for c in changes.values() {
        match c {
            Change::Added { .. } => added += 1,
            Change::Removed { .. } => removed += 1,
            Change::Changed { .. } => changed += 1,
        }
    }
    let parts: Vec<String> = [(added, "added"), (removed, "removed"), (changed, "changed")]
        .into_iter()
        .filter(|(n, _)| *n > 0)
        .map(|(n, w)| format!("{n} {w}"))
        .collect();
    (!parts.is_empty()).then(|| format!("{what}: {}", parts.join(", ")))
}

/// Evidence, photos, actions, resolutions, signatures and marks a diff adds, removes or changes,
/// in words.
pub(super) fn item_lines(d: &VisitDiff) -> Vec<String> {
    let mut out: Vec<String> = [
        counts("Evidence", &d.evidence),
        counts("Photos", &d.photos),
        counts("Actions", &d.actions),
        counts("Conflicts resolved", &d.resolutions),
        counts("Signatures", &d.signatures),
        counts("Marks on photos", &d.annotations),
    ]
    .into_iter()
    .flatten()
    .collect();
    if d.ended_at.is_some() {
        out.push("End of the visit recorded".to_owned());
    }
    if let Some(s) = &d.signoff
        && let Some(after) = &s.after
    {
        out.push(format!("Signed off by {}", after.by.name));
    }
    out
}

/// Criteria whose answer or notes changed, as a table.
#[component]
pub(super) fn ResultTable(id: String, caption: String, rows: Vec<ResultChange>) -> Element {
    rsx! {
        table { class: "table", id: "{id}",
            caption { class: "visually-hidden", "{caption}" }
            thead { tr { th { scope: "col", "Criterion" } th { scope: "col", "Score before" } th { scope: "col", "Score after" } th { scope: "col", "Notes" } } }
            tbody {
                for r in rows.iter() {
                    tr { key: "{r.criterion}",
                        td { "{r.prompt}" br {} span { class: "caption", "{r.criterion}" }
                            if let Some(p) = r.presence {
                                " "
                                strong { class: "tag grey", if p == "added" { "New in this version" } else { "Left the visit" } }
                            }
                        }
                        td { {if r.answer_changed || r.presence.is_some() { answer_words(r.answer_before) } else { String::new() }} }
                        td { {if r.answer_changed || r.presence.is_some() { answer_words(r.answer_after) } else { "Unchanged".to_owned() }} }
                        td { if r.notes_changed { "Changed" } else { "Unchanged" } }
                    }
                }
            }
        }
    }
}

#[component]
fn PointView(index: usize, point: HistoryPoint, first: bool) -> Element {
    let p = &point;
    let items = item_lines(&p.diff);
    // A session within one minute shows one time.
    let (from, to) = (when(p.from), when(p.to));
    let until = (to != from).then(|| to.rsplit(", ").next().unwrap_or_default().to_owned());
    rsx! {
        section { class: "panel", id: "history-point-{index}", aria_labelledby: "history-point-{index}-title",
            h3 { id: "history-point-{index}-title", style: "margin-top:0",
                "{from}"
                if let Some(until) = until { " to {until}" }
                ": {p.author}"
            }
            dl { class: "summary-list",
                div { dt { "Changes saved" } dd { "{p.changes}" } }
                div { dt { "Framework version" } dd { "{p.pack_version}" } }
                if p.as_signed {
                    div { dt { "Sign-off" } dd { strong { class: "tag green", "As signed off" } } }
                }
            }
            if first {
                p { "The visit was created on this framework version." }
            }
            if let Some(from) = &p.moved_from {
                p { id: "history-moved-{index}",
                    strong { class: "tag blue", "Moved" }
                    " From version {from} to {p.pack_version}. Criteria the version renamed, split or merged show below as leaving the visit and new in this version; every answer on version {from} is kept in the record."
                }
            }
            if !p.results.is_empty() {
                ResultTable { id: "history-results-{index}", caption: "Criteria changed in this session".to_owned(), rows: p.results.clone() }
            }
            if !items.is_empty() {
                ul { for (i, l) in items.iter().enumerate() { li { key: "{i}", "{l}" } } }
            }
            if let Some(s) = &p.scores {
                if s.domains.iter().any(|d| d.before != d.after) {
                    table { class: "table", id: "history-scores-{index}",
                        caption { class: "visually-hidden", "Each domain's percentage before and after" }
                        thead { tr { th { scope: "col", "Domain" } th { scope: "col", "Before" } th { scope: "col", "After" } } }
                        tbody {
                            for d in s.domains.iter().filter(|d| d.before != d.after) {
                                tr { key: "{d.domain_id}", td { "{d.title}" } td { {percent_text(d.before)} } td { {percent_text(d.after)} } }
                            }
                            tr { th { scope: "row", "Overall" } td { {percent_text(s.overall.before)} } td { {percent_text(s.overall.after)} } }
                        }
                    }
                }
            } else if !first {
                p { class: "caption", "The framework version changed here: scores of two versions are compared only through the version's mapping, never criterion by criterion." }
            }
        }
    }
}

/// The history screen.
#[component]
pub(super) fn HistoryScreen(id: Uuid) -> Element {
    let ctx = use_context::<AppContext>();
    let ui = use_context::<Ui>();
    let _ = (ui.tick)();
    let history = ctx.ws().visit_history(id);
    let h = match history {
        Ok(h) => h,
        Err(e) => return rsx! { p { class: "error-summary", "{e}" } },
    };
    let total = h.points.len();
    rsx! {
        div { class: "row", style: "margin-bottom: 12px",
            button { class: "button secondary", id: "back-to-visit", onclick: move |_| ui.go(Screen::Visit(id)), "Back to the visit" }
        }
        h1 { "History of this visit" }
        p { "Read from the visit's own record on this tablet, so it works without a connection. Every change is kept with the person who made it; changes made close together by one person are shown as one session." }
        if let Some(signed) = &h.signed {
            section { id: "history-signed", aria_labelledby: "history-signed-title",
                h2 { id: "history-signed-title", "As signed off" }
                dl { class: "summary-list",
                    if let Some(s) = &signed.signoff {
                        div { dt { "Signed by" } dd { "{s.by.name}" } }
                        div { dt { "Signed at" } dd { {when(Some(s.at))} } }
                    }
                    div { dt { "Framework version" } dd { "{signed.header.pack_version}" } }
                    div { dt { "Criteria answered" } dd { {format!("{} of {}", signed.answers().len(), signed.results.len())} } }
                    div { dt { "Changed since signing" }
                        dd { id: "history-since-signed",
                            match &h.since_signed {
                                Some(d) if d.changes_record() => rsx! { strong { class: "tag amber", "Changed" } " {d.results.len()} criteria, " {item_lines(d).join("; ")} },
                                _ => rsx! { "No: the record is as signed" },
                            }
                        }
                    }
                }
            }
        }
        h2 { "Sessions, newest first ({total})" }
        for (i, p) in h.points.iter().enumerate().rev() {
            PointView { key: "{i}", index: i, point: p.clone(), first: i == 0 }
        }
    }
}
