//! Sign-off: the check list, then signing as the monitor.

use dioxus::prelude::*;
use uuid::Uuid;

use super::pad::{SignatureForm, SignatureShown};
use super::views::ChecklistView;
use super::{AppContext, Screen, Ui};

#[component]
pub(super) fn SignOffScreen(id: Uuid) -> Element {
    let ctx = use_context::<AppContext>();
    let ui = use_context::<Ui>();
    let _ = (ui.tick)();
    let (check, view, name) = {
        let mut w = ctx.ws();
        let name = w.session().map(|s| s.name.clone()).unwrap_or_default();
        (w.sign_off_check(id), w.visit(id), name)
    };
    let (check, view) = match (check, view) {
        (Ok(c), Ok(v)) => (c, v),
        (Err(e), _) | (_, Err(e)) => return rsx! { p { class: "error-summary", "{e}" } },
    };
    let mut signatures: Vec<_> = view.snapshot.signatures.clone().into_iter().collect();
    signatures.sort_by_key(|(sid, s)| (s.signed_at, *sid));
    let ready = check.ready();
    let unanswered = check.unanswered.len();
    let mut confirming = use_signal(|| false);
    let mark_rest = {
        let ctx = ctx.clone();
        move |_| {
            if let Some(n) = ui.act(&ctx, |w| w.mark_unanswered_not_assessed(id)) {
                confirming.set(false);
                ui.notice(format!(
                    "{} marked not assessed.",
                    accredit_shared::labels::count(n, "criterion", "criteria")
                ));
            }
        }
    };
    let sign = {
        let ctx = ctx.clone();
        move |_| {
            if ui
                .act(&ctx, |w| w.sign_off(id, chrono::Utc::now()))
                .is_some()
            {
                ctx.sync.request();
                ui.go(Screen::Visit(id));
                ui.notice("Signed off. The visit will be sent to the server as soon as there is a connection.");
            }
        }
    };
    rsx! {
        p { button { class: "button secondary", id: "back", onclick: move |_| ui.go(Screen::Visit(id)), "Back to the visit" } }
        h1 { "Sign off the visit to {view.location_name}" }
        if let Some(s) = &view.snapshot.signoff {
            div { class: "readonly", id: "signed", {format!("Signed off by {} at {}.", s.by.name, s.at.format("%H:%M on %-d %b %Y"))} }
            for (sid, s) in signatures.iter() {
                SignatureShown { key: "{sid}", id: *sid, signature: s.clone() }
            }
        } else {
            ChecklistView { check, on_open: move |cid: String| ui.go_to_criterion(id, cid),
            if unanswered > 0 {
                if confirming() {
                    div { class: "panel warning", id: "confirm-mark-rest", role: "alertdialog", aria_labelledby: "confirm-mark-rest-title",
                        h2 { id: "confirm-mark-rest-title", {format!("Mark {} not assessed?", accredit_shared::labels::count(unanswered, "criterion", "criteria"))} }
                        p { "Use this only for criteria you did not look at. A visit with more than a tenth of its criteria not assessed is inconclusive and cannot set a tier." }
                        div { class: "row",
                            button { class: "button", id: "mark-rest-yes", onclick: mark_rest, "Yes, mark them not assessed" }
                            button { class: "button secondary", id: "mark-rest-no", onclick: move |_| confirming.set(false), "Cancel" }
                        }
                    }
                } else {
                    p { button { class: "button secondary", id: "mark-rest", onclick: move |_| confirming.set(true), "Mark the rest not assessed" } }
                }
            }
            }
            section { id: "signatures", aria_labelledby: "signatures-title",
                h2 { id: "signatures-title", "Signatures" }
                p { "You and the home's manager can each sign here. Each signature keeps the record as it stands when they sign: the report shows if anything changes afterwards." }
                for (sid, s) in signatures.iter() {
                    SignatureShown { key: "{sid}", id: *sid, signature: s.clone() }
                }
                SignatureForm { visit: id, who: "manager", heading: "The manager's signature", default_name: String::new(), default_role: "Registered manager".to_owned() }
                SignatureForm { visit: id, who: "monitor", heading: "Your signature", default_name: name.clone(), default_role: "Quality monitor".to_owned() }
            }
            p { "Signing off confirms the scores, evidence and actions as your record of the visit. It cannot be edited on this tablet afterwards." }
            button { class: "button", id: "sign-off", disabled: !ready, onclick: sign, "Sign off as {name}" }
        }
    }
}
