//! Signing on the tablet: a pad that takes strokes from a finger, a stylus or a mouse through
//! pointer events, with the signer's name and role typed beside it. The strokes are kept as
//! vectors in the visit, with the record's heads at the moment of signing.

use accredit_shared::visit::points::{Point, svg_path};
use accredit_shared::visit::{Signature, SignatureDraft, signature_problem};
use dioxus::prelude::*;
use uuid::Uuid;

use super::{AppContext, Ui};

/// The pad's size in CSS pixels, which are also the units the strokes are kept in.
const PAD_W: u32 = 600;
const PAD_H: u32 = 200;

/// Where a pointer event falls on the pad, kept within it.
fn pad_point(e: &PointerEvent) -> Point {
    let p = e.element_coordinates();
    let clamp = |v: f64, max: u32| v.round().clamp(0.0, f64::from(max)) as u32;
    Point {
        x: clamp(p.x, PAD_W),
        y: clamp(p.y, PAD_H),
    }
}

/// A signature taken already, drawn from its strokes.
#[component]
pub(super) fn SignatureShown(id: Uuid, signature: Signature) -> Element {
    let s = &signature;
    let path = svg_path(&s.strokes);
    rsx! {
        div { class: "signature-shown", id: "signature-{id}",
            p { strong { "{s.name}" } ", {s.role}" }
            if s.strokes.is_empty() {
                p { class: "hint", "Typed name only" }
            } else {
                svg { class: "signature", view_box: "0 0 {s.width} {s.height}", role: "img", "aria-label": "Signature of {s.name}",
                    path { d: "{path}", fill: "none", stroke: "#0b0c0c", stroke_width: "3", stroke_linecap: "round", stroke_linejoin: "round" }
                }
            }
            p { class: "hint", {format!("Signed {}", accredit_shared::labels::london_time(s.signed_at))} }
        }
    }
}

/// A form to take one person's signature: name, role, the pad, and "Add signature".
#[component]
pub(super) fn SignatureForm(
    visit: Uuid,
    who: &'static str,
    heading: String,
    default_name: String,
    default_role: String,
) -> Element {
    let ctx = use_context::<AppContext>();
    let ui = use_context::<Ui>();
    let mut strokes = use_signal(Vec::<Vec<Point>>::new);
    let mut drawing = use_signal(|| false);
    let mut name = use_signal(|| default_name.clone());
    let mut role = use_signal(|| default_role.clone());
    let mut typed_only = use_signal(|| false);
    let mut round = use_signal(|| 0u32);
    let field = |f: &str| format!("{who}-sig-{f}");
    let (name_id, role_id, pad_id, typed_id) =
        (field("name"), field("role"), field("pad"), field("typed"));
    let error_name = ui.error_for(&name_id);
    let error_role = ui.error_for(&role_id);
    let error_pad = ui.error_for(&pad_id);
    let path = svg_path(&strokes());
    let add = {
        let (name_id, role_id, pad_id) = (name_id.clone(), role_id.clone(), pad_id.clone());
        let default_name = default_name.clone();
        move |_| {
            let draft = SignatureDraft {
                name: name(),
                role: role(),
                width: PAD_W,
                height: PAD_H,
                strokes: strokes(),
            };
            if let Some(problem) =
                signature_problem(&draft.name, &draft.role, PAD_W, PAD_H, &draft.strokes)
            {
                let at = if problem.contains("name") {
                    &name_id
                } else if problem.contains("role") {
                    &role_id
                } else {
                    &pad_id
                };
                ui.error_at(at, problem);
                return;
            }
            if draft.strokes.is_empty() && !typed_only() {
                ui.error_at(
                    &pad_id,
                    "Sign in the box, or tick “Typed name only” if the signer cannot draw a signature",
                );
                return;
            }
            if ui
                .act(&ctx, |w| w.add_signature(visit, &draft, chrono::Utc::now()))
                .is_some()
            {
                ui.notice(format!("Signature of {} added.", draft.name.trim()));
                strokes.set(Vec::new());
                typed_only.set(false);
                name.set(default_name.clone());
                round += 1;
            }
        }
    };
    rsx! {
        fieldset { class: "panel signature-form", id: "{who}-signature",
            legend { class: "label", "{heading}" }
            // The fields are not bound to their values, so fast typing never loses a key to a
            // redraw; after a signature is taken they are drawn afresh (a new round) with the
            // defaults.
            for r in [round()] {
                div { key: "{r}",
                    div { class: if error_name.is_some() { "field field-with-error" } else { "field" },
                        label { r#for: "{name_id}", "Name" }
                        if let Some(e) = &error_name { p { class: "field-error", id: "{name_id}-error", "{e}" } }
                        input { r#type: "text", id: "{name_id}", initial_value: "{name.peek()}", autocomplete: "off",
                            aria_describedby: if error_name.is_some() { "{name_id}-error" } else { "" },
                            oninput: move |e| name.set(e.value()) }
                    }
                    div { class: if error_role.is_some() { "field field-with-error" } else { "field" },
                        label { r#for: "{role_id}", "Role" }
                        if let Some(e) = &error_role { p { class: "field-error", id: "{role_id}-error", "{e}" } }
                        input { r#type: "text", id: "{role_id}", initial_value: "{role.peek()}",
                            aria_describedby: if error_role.is_some() { "{role_id}-error" } else { "" },
                            oninput: move |e| role.set(e.value()) }
                    }
                }
            }
            div { class: if error_pad.is_some() { "field field-with-error" } else { "field" },
                p { class: "label", id: "{pad_id}-label", "Signature" }
                p { class: "hint", id: "{pad_id}-hint", "Sign in the box with a finger, a stylus or the mouse." }
                if let Some(e) = &error_pad { p { class: "field-error", id: "{pad_id}-error", "{e}" } }
                div { class: "pad-scroll",
                    div { class: "pad", id: "{pad_id}",
                        svg { class: "pad-ink", view_box: "0 0 {PAD_W} {PAD_H}", width: "{PAD_W}", height: "{PAD_H}", "aria-hidden": "true",
                            line { x1: "20", y1: "160", x2: "580", y2: "160", stroke: "#b1b4b6", stroke_width: "2" }
                            path { d: "{path}", fill: "none", stroke: "#0b0c0c", stroke_width: "3", stroke_linecap: "round", stroke_linejoin: "round" }
                        }
                        // The surface that takes the pointer: it has no children, so every
                        // event's position is relative to the pad itself.
                        div { class: "pad-surface", id: "{pad_id}-surface", role: "img",
                            "aria-labelledby": "{pad_id}-label", "aria-describedby": "{pad_id}-hint",
                            onpointerdown: move |e: PointerEvent| {
                                drawing.set(true);
                                strokes.with_mut(|s| s.push(vec![pad_point(&e)]));
                            },
                            onpointermove: move |e: PointerEvent| {
                                if !drawing() { return; }
                                let p = pad_point(&e);
                                strokes.with_mut(|s| {
                                    if let Some(last) = s.last_mut() && last.last() != Some(&p) {
                                        last.push(p);
                                    }
                                });
                            },
                            onpointerup: move |_| drawing.set(false),
                            onpointercancel: move |_| drawing.set(false),
                            onpointerleave: move |_| drawing.set(false),
                        }
                    }
                }
                div { class: "row",
                    button { class: "button secondary", id: "{pad_id}-clear", r#type: "button", onclick: move |_| strokes.set(Vec::new()), "Clear" }
                    span { class: "hint", id: "{pad_id}-count", {format!("{} drawn", accredit_shared::labels::count(strokes().len(), "stroke", "strokes"))} }
                }
                div { class: "checkbox",
                    input { r#type: "checkbox", id: "{typed_id}", checked: typed_only(), onchange: move |e| typed_only.set(e.checked()) }
                    label { r#for: "{typed_id}", "Typed name only (the signer cannot draw a signature)" }
                }
            }
            button { class: "button", id: "{who}-sig-add", r#type: "button", onclick: add, "Add signature" }
        }
    }
}
