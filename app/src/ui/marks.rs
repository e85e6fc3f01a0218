//! Marking up a photo: arrows, circles, freehand lines and labels drawn over it, each saved at
//! once as a mark in the visit. The photo itself is never changed. Every mark can be made by
//! dragging, or by tapping (arrows and circles: two taps), so no gesture is required.

use accredit_shared::visit::points::Point;
use accredit_shared::visit::{
    AnnotationDraft, AnnotationKind, PhotoAnnotation, annotation_problem, describe_mark, svg_markup,
};
use base64::Engine;
use dioxus::prelude::*;
use uuid::Uuid;

use super::{AppContext, Screen, Ui};

/// The widest the photo is shown while marking, in CSS pixels: it fits a tablet held either way.
const SHOWN_W: u32 = 640;

/// The words on a tool's button.
fn tool_label(kind: AnnotationKind) -> &'static str {
    match kind {
        AnnotationKind::Arrow => "Arrow",
        AnnotationKind::Circle => "Circle",
        AnnotationKind::Freehand => "Freehand",
        AnnotationKind::Label => "Label",
    }
}

/// What to do next with the tool chosen.
fn tool_hint(kind: AnnotationKind, waiting: bool) -> &'static str {
    match (kind, waiting) {
        (AnnotationKind::Arrow, false) => {
            "Drag from where the arrow starts to what it points at, or tap the start."
        }
        (AnnotationKind::Arrow, true) => "Now tap what the arrow points at.",
        (AnnotationKind::Circle, false) => "Drag from the centre outwards, or tap the centre.",
        (AnnotationKind::Circle, true) => "Now tap the edge of the circle.",
        (AnnotationKind::Freehand, _) => {
            "Draw over the photo with a finger, a stylus or the mouse."
        }
        (AnnotationKind::Label, _) => "Tap where the label goes, then type it below.",
    }
}

#[component]
pub(super) fn MarkUpScreen(visit: Uuid, photo: Uuid) -> Element {
    let ctx = use_context::<AppContext>();
    let ui = use_context::<Ui>();
    let _ = (ui.tick)();
    let mut tool = use_signal(|| AnnotationKind::Arrow);
    let mut drawing = use_signal(|| false);
    let mut current = use_signal(Vec::<Point>::new);
    let mut first_tap = use_signal(|| None::<Point>);
    let mut label_at = use_signal(|| None::<Point>);
    let mut label_text = use_signal(String::new);
    let view = match ctx.ws().visit(visit) {
        Ok(v) => v,
        Err(e) => return rsx! { p { class: "error-summary", "{e}" } },
    };
    let Some(p) = view.snapshot.photos.get(&photo).cloned() else {
        return rsx! { p { class: "error-summary", "This photo is no longer in the visit." } };
    };
    let bytes = ctx.ws().photo_bytes(&p.hash);
    let data = match bytes {
        Ok(b) => base64::engine::general_purpose::STANDARD.encode(b),
        Err(e) => {
            return rsx! {
                p { button { class: "button secondary", id: "back", onclick: move |_| ui.go(Screen::Visit(visit)), "Back to the visit" } }
                p { class: "error-summary", "{e}" }
            };
        }
    };
    let (w, h) = (p.width.max(1), p.height.max(1));
    let shown_w = SHOWN_W.min(w);
    let shown_h = (u64::from(h) * u64::from(shown_w) / u64::from(w)).max(1) as u32;
    let scale = f64::from(w) / f64::from(shown_w);
    let to_photo = move |e: &PointerEvent| {
        let c = e.element_coordinates();
        let f = |v: f64, max: u32| (v * scale).round().clamp(0.0, f64::from(max)) as u32;
        Point {
            x: f(c.x, w),
            y: f(c.y, h),
        }
    };
    let marks: Vec<(Uuid, PhotoAnnotation)> = view
        .snapshot
        .annotations_of(&p.hash)
        .map(|(id, m)| (*id, m.clone()))
        .collect();
    let me = ctx
        .ws()
        .session()
        .map(|s| s.name.clone())
        .unwrap_or_default();
    let preview = PhotoAnnotation {
        photo_hash: p.hash.clone(),
        kind: tool(),
        points: current(),
        label: String::new(),
        by: accredit_shared::visit::Author {
            user_id: Uuid::nil(),
            name: me,
        },
        at: chrono::Utc::now(),
    };
    let drawn = svg_markup(marks.iter().map(|(_, m)| m), w);
    let preview_markup = if current().len() >= 2 {
        svg_markup([&preview], w)
    } else {
        String::new()
    };
    let read_only = view.read_only;
    let hash = p.hash.clone();
    let save = {
        let ctx = ctx.clone();
        let hash = hash.clone();
        move |draft: AnnotationDraft| {
            if let Some(problem) = annotation_problem(draft.kind, &draft.points, &draft.label, w, h)
            {
                ui.error_at("markup-surface", problem);
                return false;
            }
            let saved = ui
                .act(&ctx, |ws| {
                    ws.add_annotation(visit, &hash, &draft, chrono::Utc::now())
                })
                .is_some();
            if saved {
                ui.notice(format!(
                    "{} added. The original photo is unchanged.",
                    tool_label(draft.kind)
                ));
            }
            saved
        }
    };
    let mut finish = {
        let save = save.clone();
        move |end: Point| {
            drawing.set(false);
            let pts = current();
            current.set(Vec::new());
            let kind = tool();
            let start = pts.first().copied().unwrap_or(end);
            match kind {
                AnnotationKind::Label => {
                    label_at.set(Some(start));
                }
                AnnotationKind::Freehand => {
                    if pts.len() >= 2 {
                        save(AnnotationDraft {
                            kind,
                            points: pts,
                            label: String::new(),
                        });
                    }
                }
                AnnotationKind::Arrow | AnnotationKind::Circle => {
                    if start != end {
                        save(AnnotationDraft {
                            kind,
                            points: vec![start, end],
                            label: String::new(),
                        });
                        first_tap.set(None);
                    } else if let Some(a) = first_tap() {
                        // The second of two taps.
                        if save(AnnotationDraft {
                            kind,
                            points: vec![a, end],
                            label: String::new(),
                        }) {
                            first_tap.set(None);
                        }
                    } else {
                        first_tap.set(Some(end));
                    }
                }
            }
        }
    };
    let add_label = {
        let save = save.clone();
        move |_| {
            let Some(at) = label_at() else {
                ui.error_at("markup-surface", "Tap the photo where the label goes first");
                return;
            };
            let text = label_text();
            if text.trim().is_empty() {
                ui.error_at("label-text", "Enter the label's text");
                return;
            }
            if save(AnnotationDraft {
                kind: AnnotationKind::Label,
                points: vec![at],
                label: text.trim().to_owned(),
            }) {
                label_text.set(String::new());
                label_at.set(None);
            }
        }
    };
    let surface_error = ui.error_for("markup-surface");
    let label_error = ui.error_for("label-text");
    let caption = if p.caption.is_empty() {
        "Photo".to_owned()
    } else {
        p.caption.clone()
    };
    let waiting = first_tap().is_some();
    let pending_label = label_at();
    rsx! {
        p { button { class: "button secondary", id: "back", onclick: move |_| ui.go(Screen::Visit(visit)), "Back to the visit" } }
        h1 { "Mark up: {caption}" }
        if !read_only {
            fieldset { class: "tools", id: "tools",
                legend { class: "label", "Tool" }
                for kind in AnnotationKind::ALL {
                    label { key: "{kind:?}", r#for: "tool-{tool_label(kind)}",
                        input { r#type: "radio", name: "tool", id: "tool-{tool_label(kind)}", checked: tool() == kind,
                            onchange: move |_| { tool.set(kind); first_tap.set(None); current.set(Vec::new()); } }
                        "{tool_label(kind)}"
                    }
                }
            }
            p { class: "hint", id: "markup-hint", role: "status", {tool_hint(tool(), waiting)} }
            if let Some(e) = &surface_error { p { class: "field-error", id: "markup-surface-error", "{e}" } }
        }
        div { class: "pad-scroll",
            div { class: "markup", id: "markup", style: "width: {shown_w}px; height: {shown_h}px",
                img { src: "data:image/jpeg;base64,{data}", alt: "", width: "{shown_w}", height: "{shown_h}" }
                svg { view_box: "0 0 {w} {h}", width: "{shown_w}", height: "{shown_h}", role: "img",
                    "aria-label": "{caption}, with {accredit_shared::labels::count(marks.len(), \"mark\", \"marks\")}",
                    g { dangerous_inner_html: "{drawn}" }
                    g { opacity: "0.6", dangerous_inner_html: "{preview_markup}" }
                    if let Some(a) = first_tap() {
                        circle { cx: "{a.x}", cy: "{a.y}", r: "{(f64::from(w) / 80.0).max(4.0)}", fill: "#d4351c" }
                    }
                    if let Some(a) = pending_label {
                        circle { cx: "{a.x}", cy: "{a.y}", r: "{(f64::from(w) / 80.0).max(4.0)}", fill: "none", stroke: "#d4351c", stroke_width: "3" }
                    }
                }
                if !read_only {
                    div { class: "markup-surface", id: "markup-surface", "aria-hidden": "true",
                        onpointerdown: move |e: PointerEvent| {
                            drawing.set(true);
                            current.set(vec![to_photo(&e)]);
                        },
                        onpointermove: move |e: PointerEvent| {
                            if !drawing() { return; }
                            let pt = to_photo(&e);
                            current.with_mut(|c| match tool() {
                                AnnotationKind::Freehand => {
                                    if c.last() != Some(&pt) && c.len() < accredit_shared::visit::points::MAX_POINTS {
                                        c.push(pt);
                                    }
                                }
                                AnnotationKind::Label => {}
                                _ => {
                                    c.truncate(1);
                                    c.push(pt);
                                }
                            });
                        },
                        onpointerup: {
                            let mut finish = finish.clone();
                            move |e: PointerEvent| if drawing() { finish(to_photo(&e)) }
                        },
                        onpointerleave: move |_| {
                            if drawing() {
                                let last = current().last().copied();
                                if let Some(l) = last { finish(l) }
                            }
                        },
                        onpointercancel: move |_| { drawing.set(false); current.set(Vec::new()); },
                    }
                }
            }
        }
        if !read_only && pending_label.is_some() {
            div { class: if label_error.is_some() { "field field-with-error" } else { "field" },
                label { r#for: "label-text", "Label text" }
                if let Some(e) = &label_error { p { class: "field-error", id: "label-text-error", "{e}" } }
                input { r#type: "text", id: "label-text", maxlength: "200",
                    oninput: move |e| label_text.set(e.value()) }
                div { class: "row",
                    button { class: "button", id: "label-add", onclick: add_label, "Add label" }
                    button { class: "button secondary", id: "label-cancel", onclick: move |_| { label_at.set(None); label_text.set(String::new()); }, "Cancel" }
                }
            }
        }
        h2 { "Marks on this photo" }
        if marks.is_empty() { p { id: "no-marks", "No marks yet." } }
        ul { class: "list", id: "marks",
            for (mid, m) in marks.iter() {
                li { key: "{mid}", class: "row",
                    span { {describe_mark(m)} }
                    if !read_only {
                        button { class: "button secondary", id: "remove-{mid}",
                            onclick: {
                                let ctx = ctx.clone();
                                let mid = *mid;
                                move |_| {
                                    if ui.act(&ctx, |w| w.remove_annotation(visit, mid)).is_some() {
                                        ui.notice("Mark removed.");
                                    }
                                }
                            },
                            "Remove"
                        }
                    }
                }
            }
        }
    }
}
