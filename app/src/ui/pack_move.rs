//! Framework versions in the visit editor: the offer to move a draft to a newer version with its
//! preview, what a move did not carry over, and recovery when the server refuses a visit.

use accredit_shared::visit::PackMove;
use dioxus::prelude::*;
use uuid::Uuid;

use super::history::{ResultTable, answer_words};
use super::{AppContext, Ui};

/// Everything about the visit's framework version, above the editor.
#[component]
pub(super) fn VersionPanel(id: Uuid, moves: Vec<PackMove>, read_only: bool) -> Element {
    let ctx = use_context::<AppContext>();
    let ui = use_context::<Ui>();
    let _ = (ui.tick)();
    let recovery = ctx.ws().recovery(id);
    let recovery = match recovery {
        Ok(r) => r,
        Err(e) => return rsx! { p { class: "error-summary", "{e}" } },
    };
    let set_aside = match ctx.ws().set_aside(id) {
        Ok(s) => s,
        Err(e) => return rsx! { p { class: "error-summary", "{e}" } },
    };
    // No offer while a refusal stands: the monitor recovers first.
    let offer = if recovery.is_some() {
        None
    } else {
        match ctx.ws().move_offer(id) {
            Ok(o) => o,
            Err(e) => return rsx! { p { class: "error-summary", "{e}" } },
        }
    };
    rsx! {
        if let Some(r) = recovery {
            section { class: "panel warning", id: "refused", aria_labelledby: "refused-title",
                h2 { id: "refused-title", style: "margin-top:0", "The server did not accept this visit's latest changes" }
                p { id: "refused-why", {plain_reason(&r.reason)} }
                p { class: "caption", "The server said: " span { id: "refused-reason", "{r.reason}" } }
                p { "Nothing is lost. Everything you entered is kept on this tablet, and the server keeps the visit as it last accepted it." }
                if let Some(v) = r.back_to_version.clone() {
                    p { "Go back to version {v} to carry on: the draft returns to how it was just before you moved it, and the copy you moved is kept on this tablet with everything in it." }
                } else {
                    p { "Set your refused changes aside to carry on: the draft returns to what the server has, sync brings in the other tablet's changes, and the changes listed below stay on this tablet for you to enter again." }
                }
                if !r.to_reenter.is_empty() {
                    h3 { "Changes to enter again afterwards" }
                    ResultTable { id: "refused-changes", caption: "Changes the server did not accept".to_owned(), rows: r.to_reenter.clone() }
                }
                if r.other_items > 0 {
                    p { "Also {r.other_items} changes to evidence, photos, actions, signatures or marks, kept in the copy." }
                }
                button {
                    class: "button",
                    id: "recover",
                    onclick: {
                        let ctx = ctx.clone();
                        let back = r.back_to_version.clone();
                        move |_| {
                            if ui.act(&ctx, |w| w.recover(id)).is_some() {
                                ctx.sync.request();
                                ui.notice(match &back {
                                    Some(v) => format!("The draft is back on version {v}. The refused copy is kept on this tablet."),
                                    None => "Your refused changes are set aside on this tablet. Enter them again below once sync has brought the visit up to date.".to_owned(),
                                });
                            }
                        }
                    },
                    match &r.back_to_version {
                        Some(v) => format!("Go back to version {v}"),
                        None => "Set the refused changes aside and carry on".to_owned(),
                    }
                }
            }
        }
        for copy in set_aside.iter() {
            section { class: "panel", key: "{copy.seq}", id: "set-aside-{copy.seq}", aria_labelledby: "set-aside-{copy.seq}-title",
                h2 { id: "set-aside-{copy.seq}-title", style: "margin-top:0", "Changes kept on this tablet (version {copy.pack_version})" }
                p { {plain_reason(&copy.reason)} }
                p { class: "caption", "The server said: {copy.reason}" }
                if copy.edits.is_empty() {
                    p { "The copy holds no criterion changes beyond the draft." }
                } else {
                    table { class: "table", id: "set-aside-edits-{copy.seq}",
                        caption { class: "visually-hidden", "Changes to enter again" }
                        thead { tr { th { scope: "col", "Criterion" } th { scope: "col", "Your score" } th { scope: "col", "Notes" } th { scope: "col", "Enter it again at" } } }
                        tbody {
                            for (e, targets) in copy.edits.iter() {
                                tr { key: "{e.criterion}",
                                    td { "{e.prompt}" br {} span { class: "caption", "{e.criterion}" } }
                                    td { {if e.answer_changed { answer_words(e.answer_after) } else { "Unchanged".to_owned() }} }
                                    td { if e.notes_changed { "{e.notes_after}" } else { "Unchanged" } }
                                    td {
                                        if targets.is_empty() {
                                            "Not in this version: add it as a note or evidence"
                                        } else if read_only {
                                            "The visit is signed off here: the copy is kept for the record"
                                        }
                                        for (t, prompt) in targets.iter().filter(|_| !read_only) {
                                            button {
                                                key: "{t}",
                                                class: "link-button",
                                                id: "reenter-{t.replace('.', \"-\")}",
                                                onclick: {
                                                    let t = t.clone();
                                                    move |_| ui.go_to_criterion(id, t.clone())
                                                },
                                                "Go to “{prompt}”"
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
                if copy.other_items > 0 {
                    p { "Also {copy.other_items} changes to evidence, photos, actions, signatures or marks." }
                }
                button {
                    class: "button secondary",
                    id: "discard-set-aside-{copy.seq}",
                    onclick: {
                        let ctx = ctx.clone();
                        let seq = copy.seq;
                        move |_| {
                            if ui.act(&ctx, |w| w.discard_set_aside(id, seq)).is_some() {
                                ui.notice("The kept copy is removed.");
                            }
                        }
                    },
                    if read_only { "Remove the kept copy" } else { "I have entered these again: remove the kept copy" }
                }
            }
        }
        if let Some(o) = offer {
            MoveOfferView { id, offer_to: o.to_version.clone(), from: o.from_version.clone(), title: o.to_title.clone() }
        }
        for m in moves.iter() {
            section { class: "panel", key: "{m.to_version}", id: "moved-{m.to_version}", aria_labelledby: "moved-{m.to_version}-title",
                h2 { id: "moved-{m.to_version}-title", style: "margin-top:0", "Moved from version {m.from_version} to {m.to_version}" }
                p { {format!("Moved by {} on {}. Every answer on version {} is kept in the record.", m.by.name, super::history::when(Some(m.at)), m.from_version)} }
                if m.not_carried.is_empty() {
                    p { "Every answer and note was carried over." }
                } else {
                    table { class: "table", id: "not-carried",
                        caption { "Not carried over as it was" }
                        thead { tr { th { scope: "col", "Criterion (version {m.from_version})" } th { scope: "col", "Answer" } th { scope: "col", "Notes" } th { scope: "col", "Why" } } }
                        tbody {
                            for (i, n) in m.not_carried.iter().enumerate() {
                                tr { key: "{i}",
                                    td { "{n.criterion}" }
                                    td { {answer_words(n.answer)} }
                                    td { "{n.notes}" }
                                    td { {n.reason.describe()} }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// The server's reason in plain words, for the refusals a move brings; others as it said them.
fn plain_reason(reason: &str) -> String {
    if reason.contains("no longer in the visit") {
        "Another tablet moved this draft to a newer framework version while this one was offline, so the changes made here to criteria the move renamed, merged or removed cannot be kept where they were.".to_owned()
    } else if reason.contains("pack_version") {
        "The server would not accept moving this visit to another framework version. This usually means the visit was signed off on another tablet while this one was offline: a signed visit keeps the version it was signed on.".to_owned()
    } else {
        "The server found something in this visit's latest changes it cannot accept.".to_owned()
    }
}

/// The offer to move a draft, its preview and the move itself.
#[component]
fn MoveOfferView(id: Uuid, offer_to: String, from: String, title: String) -> Element {
    let ctx = use_context::<AppContext>();
    let ui = use_context::<Ui>();
    let mut previewing = use_signal(|| false);
    let preview = if previewing() {
        match ctx.ws().move_offer(id) {
            Ok(o) => o,
            Err(e) => return rsx! { p { class: "error-summary", "{e}" } },
        }
    } else {
        None
    };
    // Answered criteria whose place does not change: counted, not listed.
    let kept = preview.as_ref().map_or(0, |o| {
        o.carried
            .iter()
            .filter(|r| r.to.len() == 1 && r.to[0].0 == r.from)
            .count()
    });
    rsx! {
        section { class: "panel", id: "move-offer", aria_labelledby: "move-offer-title",
            h2 { id: "move-offer-title", style: "margin-top:0", "Version {offer_to} of this framework is available" }
            p { "This draft is on version {from} of {title}. You can finish and sign it on version {from}, or move it to version {offer_to}. Answers are carried over by the version's mapping, and anything that cannot be carried is listed and kept in the record." }
            if !previewing() {
                button { class: "button secondary", id: "preview-move", onclick: move |_| previewing.set(true), "Preview the move to version {offer_to}" }
            }
            if let Some(o) = preview {
                h3 { "What moves where" }
                table { class: "table", id: "move-preview",
                    caption { class: "visually-hidden", "Each answered criterion and where it goes" }
                    thead { tr { th { scope: "col", "Criterion (version {o.from_version})" } th { scope: "col", "Answer" } th { scope: "col", "Goes to (version {o.to_version})" } } }
                    tbody {
                        for r in o.carried.iter().filter(|r| r.to.len() != 1 || r.to[0].0 != r.from) {
                            tr { key: "{r.from}",
                                td { "{r.prompt}" br {} span { class: "caption", "{r.from}" } }
                                td { {answer_words(r.answer)} if r.has_notes { ", with notes" } }
                                td {
                                    if r.to.is_empty() { strong { "Not in the new version" } }
                                    for (t, prompt) in r.to.iter() { p { key: "{t}", style: "margin:0", "{prompt} " span { class: "caption", "({t})" } } }
                                }
                            }
                        }
                    }
                }
                if kept > 0 {
                    p { {accredit_shared::labels::count(kept, "other answered criterion keeps its place.", "other answered criteria keep their place.")} }
                }
                h3 { "Not carried over as it was" }
                if o.migrated.not_carried.is_empty() {
                    p { id: "preview-all-carried", "Everything is carried over." }
                } else {
                    ul { id: "preview-not-carried",
                        for (i, n) in o.migrated.not_carried.iter().enumerate() {
                            li { key: "{i}", strong { "{n.criterion}" } {format!(" ({}): {}. It stays in the record.", answer_words(n.answer), n.reason.describe())} }
                        }
                    }
                }
                if !o.new_criteria.is_empty() {
                    h3 { "New criteria to answer" }
                    ul { for (c, p) in o.new_criteria.iter() { li { key: "{c}", "{p}" } } }
                }
                div { class: "row",
                    button {
                        class: "button",
                        id: "move-draft",
                        onclick: {
                            let ctx = ctx.clone();
                            let to = o.to_version.clone();
                            move |_| {
                                let to = to.clone();
                                if ui.act(&ctx, |w| w.move_draft(id, &to, chrono::Utc::now())).is_some() {
                                    previewing.set(false);
                                    ui.notice(format!("This draft is now on version {to}. What was not carried over is listed below and kept in the record."));
                                }
                            }
                        },
                        "Move this draft to version {o.to_version}"
                    }
                    button { class: "button secondary", id: "cancel-move", onclick: move |_| previewing.set(false), "Keep it on version {o.from_version}" }
                }
            }
        }
    }
}
