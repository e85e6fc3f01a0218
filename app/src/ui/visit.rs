//! The visit editor: domain by domain, criterion by criterion, with guidance, the previous
//! visit's score, large score buttons, notes, evidence, photos and actions, and the live summary.
//! Text fields are uncontrolled (no `value` binding) so fast typing never loses keystrokes; each
//! keystroke is saved.

use accredit_shared::FrameworkPack;
use accredit_shared::records::{Answer, Priority};
use accredit_shared::visit::{ActionDraft, Conflict, EvidenceDraft, EvidenceKind, VisitSnapshot};
use base64::Engine as _;
use dioxus::prelude::*;
use uuid::Uuid;

use super::FieldError;
use super::caseload::day;
use super::views::{ConflictView, SummaryPanel, display_value};
use super::{AppContext, Screen, Ui, form_text};
use crate::caseload::priority_label;
use crate::workspace::VisitView;

fn answer_text(a: Option<Answer>) -> String {
    match a {
        Some(Answer::Score(s)) => s.to_string(),
        Some(Answer::NotApplicable) => "N/A".to_owned(),
        Some(Answer::NotAssessed) => "Not assessed".to_owned(),
        None => "—".to_owned(),
    }
}

/// What a conflict is about: its criterion's prompt, or the field's path outside criteria.
fn conflict_title(pack: &FrameworkPack, conflict: &Conflict) -> String {
    conflict
        .criterion
        .as_deref()
        .and_then(|c| pack.criterion(c))
        .map_or_else(|| conflict.path.join(" › "), |(_, c)| c.prompt.clone())
}

/// A conflict with its values and authors, and the choice of one with a reason.
/// Says that every change is saved on this device, or, where changes reach the browser's storage
/// a moment after they are made (IndexedDB), "Saving…" until they have.
#[component]
fn SaveState() -> Element {
    let mut saving = use_signal(|| false);
    use_future(move || async move {
        if !crate::platform::saves_in_background() {
            return;
        }
        loop {
            let now = crate::platform::saving();
            if now != *saving.peek() {
                saving.set(now);
            }
            crate::platform::ui_sleep(std::time::Duration::from_millis(100)).await;
        }
    });
    rsx! {
        span { id: "save-state", role: "status", "data-saving": if saving() { "true" } else { "false" },
            if saving() {
                "Saving on this tablet…"
            } else {
                "Every change is saved on this tablet as you make it."
            }
        }
    }
}

#[component]
fn ConflictResolver(visit: Uuid, conflict: Conflict, title: String) -> Element {
    let ctx = use_context::<AppContext>();
    let ui = use_context::<Ui>();
    let path = conflict.path.clone();
    let reason_id = format!("reason-{}", conflict.path.join("-"));
    let error = ui.error_for(&reason_id);
    rsx! {
        ConflictView {
            conflict,
            title,
            error,
            on_resolve: move |(chosen, reason): (String, String)| {
                if reason.trim().is_empty() {
                    ui.error_at(&reason_id, "A resolution needs a reason: say why you keep this value");
                    return;
                }
                if ui.act(&ctx, |w| w.resolve_conflict(visit, &path, &chosen, &reason, chrono::Utc::now())).is_some() {
                    ui.notice(format!("Kept {}. The reason is kept in the record.", display_value(&chosen)));
                }
            },
        }
    }
}

/// A choice of criterion within the current domain, or the whole domain.
#[component]
fn CriterionSelect(id: String, criteria: Vec<String>, visit: Uuid) -> Element {
    let ctx = use_context::<AppContext>();
    let pack = match ctx.ws().visit_pack(visit) {
        Ok(p) => p,
        Err(e) => return rsx! { p { class: "error-summary", "{e}" } },
    };
    rsx! {
        label { r#for: "{id}", "Criterion" }
        select { id: "{id}", name: "criterion",
            option { value: "", "The whole domain" }
            for c in criteria.iter() {
                option { key: "{c}", value: "{c}", {pack.criterion(c).map(|(_, x)| x.prompt.clone()).unwrap_or_default()} }
            }
        }
    }
}

#[component]
pub(super) fn VisitScreen(id: Uuid) -> Element {
    let ctx = use_context::<AppContext>();
    let ui = use_context::<Ui>();
    let _ = (ui.tick)();
    let mut domain = use_signal(|| 0usize);
    let view = ctx.ws().visit(id);
    let view: VisitView = match view {
        Ok(v) => v,
        Err(e) => return rsx! { p { class: "error-summary", "{e}" } },
    };
    // The visit's own version, whatever newer one the tablet holds.
    let pack = view.pack.clone();
    // Opened from a link to one criterion (the sign-off list): show its domain, then scroll to it
    // once its criteria are drawn.
    let mut focus = ui.focus;
    let wanted: Option<String> = focus.peek().clone();
    if let Some(cid) = wanted {
        focus.set(None);
        if let Some(i) = pack.domains.iter().position(|d| {
            d.standards
                .iter()
                .flat_map(|s| &s.criteria)
                .any(|c| c.id == cid)
        }) {
            domain.set(i);
            let target = format!("criterion-{}", cid.replace('.', "-"));
            crate::platform::show_element(&target, "start", false, 80);
        }
    }
    let d_index = domain().min(pack.domains.len().saturating_sub(1));
    let dom = &pack.domains[d_index];
    let snap = &view.snapshot;
    let ro = view.read_only;
    let domain_ids: Vec<String> = dom
        .standards
        .iter()
        .flat_map(|s| &s.criteria)
        .map(|c| c.id.clone())
        .collect();
    rsx! {
        div { class: "row", style: "justify-content: space-between; margin-bottom: 12px",
            button { class: "button secondary", id: "back", onclick: move |_| ui.go(Screen::Location(view.snapshot.header.location_id)), "Back to location" }
            div { class: "row",
                button { class: "button secondary", id: "to-history", onclick: move |_| ui.go(Screen::History(id)), "History" }
                button { class: "button", id: "to-signoff", onclick: move |_| ui.go(Screen::SignOff(id)), if ro { "View sign-off" } else { "Check and sign off" } }
            }
        }
        h1 { "Visit to {view.location_name}" }
        nav { class: "row jump", aria_label: "Jump to",
            for (label, target) in [("Evidence", "section-evidence"), ("Photos", "section-photos"), ("Action plan", "section-actions"), ("Summary", "section-summary")] {
                button {
                    key: "{target}",
                    class: "button secondary",
                    id: "jump-{target}",
                    onclick: move |_| crate::platform::show_element(target, "start", false, 0),
                    "{label}"
                }
            }
        }
        p { class: "caption",
            {format!("{:?} visit, {}, started {}. ", snap.header.visit_type, if snap.header.announced { "announced" } else { "unannounced" }, snap.visited_on().format("%-d %b %Y"))}
            SaveState {}
        }
        super::pack_move::VersionPanel { id, moves: snap.migrations.values().cloned().collect::<Vec<_>>(), read_only: ro }
        if ro {
            div { class: "readonly", id: "read-only", "Signed off by {snap.signoff.as_ref().map(|s| s.by.name.clone()).unwrap_or_default()}. This visit is read-only on this tablet." }
        }
        if !view.conflicts.is_empty() {
            section { class: "conflict-summary", aria_label: "Conflicts", id: "conflicts",
                h2 { "Conflicts to resolve ({view.conflicts.len()})" }
                p { "Another monitor's offline edits disagree with yours. Choose a value for each, with a reason, before signing off." }
                ul {
                    for c in view.conflicts.iter() {
                        li { key: "{c.path.join(\"/\")}",
                            if let Some(i) = c.criterion.as_deref().and_then(|cid| pack.domains.iter().position(|d| d.standards.iter().flat_map(|s| &s.criteria).any(|x| x.id == cid))) {
                                button {
                                    class: "link-button",
                                    id: "goto-conflict-{c.criterion.as_deref().unwrap_or_default().replace('.', \"-\")}",
                                    onclick: {
                                        let target = format!("criterion-{}", c.criterion.as_deref().unwrap_or_default().replace('.', "-"));
                                        move |_| {
                                            domain.set(i);
                                            // After the domain's criteria have been drawn.
                                            crate::platform::show_element(&target, "center", false, 60);
                                        }
                                    },
                                    {conflict_title(&pack, c)}
                                }
                            } else {
                                ConflictResolver { visit: id, conflict: c.clone(), title: conflict_title(&pack, c) }
                            }
                        }
                    }
                }
            }
        }
        div { class: "editor", id: "editor",
            // On a portrait tablet the summary panel falls below the visit: this line keeps the
            // running score in sight while scoring (hidden where the panel sits beside it).
            div { class: "running-score", id: "running-score", aria_hidden: "true",
                span { "Overall " strong { {accredit_shared::ratio::percent_text(view.summary.scores.overall)} } }
                span { "Indicative tier " strong { {view.summary.indicative.tier.as_ref().map_or_else(|| "No tier".to_owned(), |t| t.name.clone())} } }
            }
            nav { class: "domains", aria_label: "Domains",
                for (i, d) in pack.domains.iter().enumerate() {
                    button {
                        key: "{d.id}",
                        id: "domain-{d.id}",
                        aria_current: if i == d_index { "true" } else { "false" },
                        onclick: move |_| {
                            domain.set(i);
                            // A domain opens at its first criterion, below the header.
                            crate::platform::show_element("editor", "start", false, 0);
                        },
                        "{d.title}"
                        span { class: "pct",
                            {view.summary.scores.domains.get(i).map(|s| format!("{} · {} scored", accredit_shared::ratio::percent_text(s.percent), s.scored)).unwrap_or_default()}
                        }
                    }
                }
            }
            div {
                h2 { "{dom.title}" }
                for std in dom.standards.iter() {
                    section { key: "{std.id}", aria_label: "{std.title}",
                        h3 { "{std.title}" }
                        for c in std.criteria.iter() {
                            CriterionRow {
                                key: "{c.id}",
                                visit: id,
                                criterion: c.id.clone(),
                                answer: snap.results.get(&c.id).and_then(|r| r.answer),
                                notes: snap.results.get(&c.id).map(|r| r.notes.clone()).unwrap_or_default(),
                                previous: view.previous.get(&c.id).copied(),
                                previous_on: view.previous_on,
                                read_only: ro,
                                conflicts: view.conflicts.iter().filter(|x| x.criterion.as_deref() == Some(c.id.as_str())).cloned().collect::<Vec<_>>(),
                            }
                        }
                    }
                }
                Evidence { visit: id, snapshot: snap.clone(), criteria: domain_ids.clone(), read_only: ro }
                Photos { visit: id, snapshot: snap.clone(), criteria: domain_ids.clone(), read_only: ro }
                Actions { visit: id, snapshot: snap.clone(), criteria: domain_ids, read_only: ro }
            }
            SummaryPanel { summary: view.summary.clone() }
        }
    }
}

#[component]
fn CriterionRow(
    visit: Uuid,
    criterion: String,
    answer: Option<Answer>,
    notes: String,
    previous: Option<Answer>,
    previous_on: Option<chrono::NaiveDate>,
    read_only: bool,
    /// Fields of this criterion that co-monitors set differently.
    conflicts: Vec<Conflict>,
) -> Element {
    let ctx = use_context::<AppContext>();
    let ui = use_context::<Ui>();
    let pack = match ctx.ws().visit_pack(visit) {
        Ok(p) => p,
        Err(e) => return rsx! { p { class: "error-summary", "{e}" } },
    };
    let Some((_, c)) = pack.criterion(&criterion) else {
        return rsx! {};
    };
    let c = c.clone();
    let mut choices: Vec<(Answer, String, String)> = (c.scale.min..=c.scale.max)
        .map(|s| {
            (
                Answer::Score(s),
                s.to_string(),
                c.scale.label(s).unwrap_or_default().to_owned(),
            )
        })
        .collect();
    choices.push((Answer::NotApplicable, "N/A".into(), "Does not apply".into()));
    choices.push((
        Answer::NotAssessed,
        "Not assessed".into(),
        "Not looked at".into(),
    ));
    let notes_id = format!("notes-{}", c.id.replace('.', "-"));
    // Either score could be the one shown, so none is shown as chosen until one is kept.
    let score_in_conflict = conflicts
        .iter()
        .any(|x| x.path.last().is_some_and(|f| f == "answer"));
    // The text shown when the field was created, kept fixed: passing each saved version back
    // would make the field controlled, and a controlled field drops keys typed quickly.
    let first_notes = use_hook(|| notes.clone());
    let cid = c.id.clone();
    let on_notes = {
        let ctx = ctx.clone();
        let cid = cid.clone();
        move |e: FormEvent| {
            let v = e.value();
            ui.save_quietly(&ctx, |w| w.set_notes(visit, &cid, &v));
        }
    };
    rsx! {
        div { class: if conflicts.is_empty() { "criterion" } else { "criterion in-conflict" }, id: "criterion-{c.id.replace('.', \"-\")}",
            p { class: "prompt", "{c.prompt}" }
            for x in conflicts.iter() {
                ConflictResolver { key: "{x.path.join(\"/\")}", visit, conflict: x.clone(), title: c.prompt.clone() }
            }
            div { class: "meta",
                if c.critical { span { class: "tag red", "Critical" } }
                span { class: "caption", id: "previous-{c.id.replace('.', \"-\")}",
                    "Previous visit"
                    if let Some(d) = previous_on { " ({day(Some(d))})" }
                    ": " strong { {answer_text(previous)} }
                }
            }
            details {
                summary { "Guidance" }
                div { class: "guidance",
                    p { "{c.guidance}" }
                    if !c.evidence_prompts.is_empty() {
                        ul { for (i, p) in c.evidence_prompts.iter().enumerate() { li { key: "{i}", "{p}" } } }
                    }
                }
            }
            if score_in_conflict {
                p { class: "hint", "Keep one of the two scores above, with a reason, before changing the score." }
            }
            div { class: "scores", role: "group", aria_label: "Score for {c.prompt}",
                for (a, label, hint) in choices {
                    button {
                        key: "{label}",
                        id: format!("score-{}-{}", c.id.replace('.', "-"), label.to_lowercase().replace([' ', '/'], "-")),
                        aria_pressed: if answer == Some(a) && !score_in_conflict { "true" } else { "false" },
                        disabled: read_only || score_in_conflict,
                        onclick: {
                            let ctx = ctx.clone();
                            let cid = cid.clone();
                            move |_| {
                                // Tapping the chosen score again keeps it: a double tap must
                                // never un-score a criterion. Clearing has its own button.
                                if answer != Some(a) {
                                    let _ = ui.act(&ctx, |w| w.set_answer(visit, &cid, Some(a)));
                                }
                            }
                        },
                        "{label}"
                        if !hint.is_empty() && matches!(a, Answer::Score(_)) { small { "{hint}" } }
                    }
                }
            }
            // Always laid out, hidden when there is nothing to clear: a link appearing under the
            // scores after a tap would move every criterion below it under the monitor's finger.
            if !read_only && !score_in_conflict {
                button {
                    class: if answer.is_some() { "link-button" } else { "link-button reserved" },
                    id: "clear-{c.id.replace('.', \"-\")}",
                    disabled: answer.is_none(),
                    aria_hidden: if answer.is_none() { "true" } else { "false" },
                    onclick: {
                        let ctx = ctx.clone();
                        let cid = cid.clone();
                        move |_| {
                            let _ = ui.act(&ctx, |w| w.set_answer(visit, &cid, None));
                        }
                    },
                    "Clear the score"
                }
            }
            // Notes open on demand, so several criteria fit on a screen; open already when written.
            details { class: "notes", open: !first_notes.is_empty(),
                summary { id: "notes-toggle-{c.id.replace('.', \"-\")}",
                    "Notes"
                }
                label { r#for: "{notes_id}", class: "visually-hidden", "Notes" }
                textarea { id: "{notes_id}", initial_value: "{first_notes}", disabled: read_only, oninput: on_notes, rows: "2" }
            }
        }
    }
}

#[component]
fn Evidence(
    visit: Uuid,
    snapshot: VisitSnapshot,
    criteria: Vec<String>,
    read_only: bool,
) -> Element {
    let ctx = use_context::<AppContext>();
    let ui = use_context::<Ui>();
    let mut form_key = use_signal(|| 0u32);
    let items: Vec<_> = snapshot
        .evidence
        .iter()
        .filter(|(_, e)| e.criterion.as_ref().is_none_or(|c| criteria.contains(c)))
        .map(|(id, e)| (*id, e.clone()))
        .collect();
    let add = {
        let ctx = ctx.clone();
        move |e: FormEvent| {
            e.prevent_default();
            let kind = EvidenceKind::ALL
                .into_iter()
                .find(|k| format!("{k:?}") == form_text(&e, "kind"))
                .unwrap_or(EvidenceKind::Observation);
            let criterion = Some(form_text(&e, "criterion")).filter(|c| !c.is_empty());
            let draft = EvidenceDraft {
                criterion,
                kind,
                text: form_text(&e, "text"),
                photo: None,
            };
            if ui.act(&ctx, |w| w.add_evidence(visit, &draft)).is_some() {
                form_key.with_mut(|k| *k += 1);
            }
        }
    };
    rsx! {
        section { aria_label: "Evidence", id: "section-evidence",
            h2 { "Evidence" }
            if items.is_empty() { p { class: "caption", "No evidence recorded for this domain yet." } }
            ul {
                for (id, e) in items {
                    li { key: "{id}", strong { {e.kind.label()} } ": {e.text}" }
                }
            }
            if !read_only {
                form { key: "{form_key}", class: "panel", onsubmit: add,
                    div { class: "row",
                        div { class: "field", style: "flex:1",
                            label { r#for: "evidence-kind", "Kind" }
                            select { id: "evidence-kind", name: "kind",
                                for k in EvidenceKind::ALL { option { value: "{k:?}", {k.label()} } }
                            }
                        }
                        div { class: "field", style: "flex:2",
                            CriterionSelect { id: "evidence-criterion", criteria: criteria.clone(), visit }
                        }
                    }
                    div { class: "field",
                        label { r#for: "evidence-text", "What you found" }
                        div { class: "hint", "Do not write residents' names: use initials or room numbers." }
                        textarea { id: "evidence-text", name: "text", rows: "3" }
                    }
                    button { class: "button secondary", r#type: "submit", id: "add-evidence", "Add evidence" }
                }
            }
        }
    }
}

#[component]
fn Photos(visit: Uuid, snapshot: VisitSnapshot, criteria: Vec<String>, read_only: bool) -> Element {
    let ctx = use_context::<AppContext>();
    let ui = use_context::<Ui>();
    let mut caption = use_signal(String::new);
    let busy = use_signal(|| false);
    let thumbs: Vec<(Uuid, String, String, usize)> = snapshot
        .photos
        .iter()
        .map(|(id, p)| {
            let data = ctx
                .ws()
                .thumbnail(&p.hash)
                .ok()
                .flatten()
                .map(|t| base64::engine::general_purpose::STANDARD.encode(t))
                .unwrap_or_default();
            let marks = snapshot.annotations_of(&p.hash).count();
            (*id, p.caption.clone(), data, marks)
        })
        .collect();
    let recent = recent_photos(ctx.photo_dir.as_deref());
    let first_criterion = criteria.first().cloned();
    let add_bytes = {
        let ctx = ctx.clone();
        move |bytes: Vec<u8>| {
            let ctx = ctx.clone();
            let crit = first_criterion.clone();
            let cap = caption();
            let (mut busy, mut caption) = (busy, caption);
            busy.set(true);
            spawn(async move {
                let processed = crate::platform::process_photo(bytes).await;
                busy.set(false);
                match processed {
                    Ok(p) => {
                        if ui
                            .act(&ctx, |w| {
                                w.add_photo(visit, &p, &cap, crit.as_deref(), chrono::Utc::now())
                            })
                            .is_some()
                        {
                            caption.set(String::new());
                            ui.notice("Photo added. Its location data was removed.");
                        }
                    }
                    Err(e) => ui.error(e.to_string()),
                }
            });
        }
    };
    let from_picker = {
        let add = add_bytes.clone();
        move |e: FormEvent| {
            let add = add.clone();
            for f in e.files() {
                let add = add.clone();
                spawn(async move {
                    match f.read_bytes().await {
                        Ok(b) => add(b.to_vec()),
                        Err(err) => ui.error(format!("the photo could not be read: {err}")),
                    }
                });
            }
        }
    };
    rsx! {
        section { aria_label: "Photos", id: "section-photos",
            h2 { "Photos" }
            div { class: "thumbs", id: "photos",
                for (id, cap, data, marks) in thumbs {
                    figure { key: "{id}",
                        img { src: "data:image/jpeg;base64,{data}", alt: if cap.is_empty() { "Photo".to_owned() } else { cap.clone() } }
                        figcaption { "{cap}"
                            if marks > 0 { span { class: "mark-count", {accredit_shared::labels::count(marks, "mark", "marks")} } }
                        }
                        button { class: "button secondary", id: "mark-up-{id}", onclick: move |_| ui.go(Screen::Marks(visit, id)),
                            if read_only { "View marks" } else { "Mark up" }
                        }
                    }
                }
            }
            if !read_only {
                div { class: "panel",
                    div { class: "field",
                        label { r#for: "photo-caption", "Caption for the next photo" }
                        input { r#type: "text", id: "photo-caption", oninput: move |e| caption.set(e.value()) }
                    }
                    if crate::platform::CAMERA_INPUT {
                        // On a tablet `capture` opens the camera straight away, which leaves no
                        // way to the gallery: so the gallery has a field of its own.
                        div { class: "row",
                            div { class: "field",
                                label { r#for: "photo-file", "Take a photo" }
                                input { r#type: "file", id: "photo-file", accept: "image/jpeg,image/png", capture: "environment", onchange: from_picker.clone() }
                            }
                            div { class: "field",
                                label { r#for: "photo-gallery", "Or choose one from the gallery" }
                                input { r#type: "file", id: "photo-gallery", accept: "image/jpeg,image/png", multiple: true, onchange: from_picker }
                            }
                        }
                    } else {
                        div { class: "field",
                            label { r#for: "photo-file", "Take or choose a photo" }
                            input { r#type: "file", id: "photo-file", accept: "image/jpeg,image/png", capture: "environment", onchange: from_picker }
                        }
                    }
                    if busy() { p { role: "status", "Processing the photo…" } }
                    if !recent.is_empty() {
                        p { class: "label", "Recent photos on this tablet" }
                        div { class: "thumbs",
                            for (i, path) in recent.into_iter().enumerate() {
                                button {
                                    key: "{i}",
                                    class: "button secondary",
                                    id: "recent-photo-{i}",
                                    onclick: {
                                        let add = add_bytes.clone();
                                        let path = path.clone();
                                        move |_| match std::fs::read(&path) {
                                            Ok(b) => add(b),
                                            Err(e) => ui.error(format!("the photo could not be read: {e}")),
                                        }
                                    },
                                    {format!("Add {}", path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default())}
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// A date from the GOV.UK three-field pattern (day, month, year).
pub fn due_date(day: &str, month: &str, year: &str) -> Option<chrono::NaiveDate> {
    let n = |s: &str| s.trim().parse::<u32>().ok();
    let year = i32::try_from(n(year)?)
        .ok()
        .filter(|y| (2000..=2100).contains(y))?;
    chrono::NaiveDate::from_ymd_opt(year, n(month)?, n(day)?)
}

/// The newest images in the camera folder, newest first.
fn recent_photos(dir: Option<&std::path::Path>) -> Vec<std::path::PathBuf> {
    let Some(dir) = dir else { return Vec::new() };
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<(std::time::SystemTime, std::path::PathBuf)> = entries
        .filter_map(Result::ok)
        .filter(|e| {
            let n = e.file_name().to_string_lossy().to_lowercase();
            n.ends_with(".jpg") || n.ends_with(".jpeg") || n.ends_with(".png")
        })
        .filter_map(|e| Some((e.metadata().ok()?.modified().ok()?, e.path())))
        .collect();
    files.sort_by_key(|f| std::cmp::Reverse(f.0));
    files.into_iter().take(6).map(|(_, p)| p).collect()
}

#[component]
fn Actions(
    visit: Uuid,
    snapshot: VisitSnapshot,
    criteria: Vec<String>,
    read_only: bool,
) -> Element {
    let ctx = use_context::<AppContext>();
    let ui = use_context::<Ui>();
    let mut form_key = use_signal(|| 0u32);
    let actions: Vec<_> = snapshot
        .actions
        .iter()
        .map(|(id, a)| (*id, a.clone()))
        .collect();
    let add = {
        let ctx = ctx.clone();
        move |e: FormEvent| {
            e.prevent_default();
            let priority = match form_text(&e, "priority").as_str() {
                "high" => Priority::High,
                "low" => Priority::Low,
                _ => Priority::Medium,
            };
            let (d, m, y) = (
                form_text(&e, "due_day"),
                form_text(&e, "due_month"),
                form_text(&e, "due_year"),
            );
            let due_on = if [&d, &m, &y].iter().all(|p| p.trim().is_empty()) {
                None
            } else {
                match due_date(&d, &m, &y) {
                    Some(date) => Some(date),
                    None => {
                        ui.error_at(
                            "action-due-day",
                            "The due date must be a real date, for example 31 12 2026",
                        );
                        return;
                    }
                }
            };
            if form_text(&e, "description").trim().is_empty() {
                ui.error_at("action-description", "Enter what must be done");
                return;
            }
            let draft = ActionDraft {
                criterion: Some(form_text(&e, "criterion")).filter(|c| !c.is_empty()),
                priority,
                description: form_text(&e, "description"),
                owner: form_text(&e, "owner"),
                due_on,
            };
            if ui.act(&ctx, |w| w.add_action(visit, &draft)).is_some() {
                form_key.with_mut(|k| *k += 1);
            }
        }
    };
    rsx! {
        section { aria_label: "Actions", id: "section-actions",
            h2 { "Action plan" }
            if actions.is_empty() { p { class: "caption", "No actions yet." } }
            table { class: "table", id: "actions",
                tbody {
                    for (id, a) in actions {
                        tr { key: "{id}",
                            td { "{a.description}" }
                            td { {priority_label(a.priority)} }
                            td { "{a.owner}" }
                            td { if a.due_on.is_none() { span { class: "tag red", "No due date" } } else { {day(a.due_on)} } }
                        }
                    }
                }
            }
            if !read_only {
                form { key: "{form_key}", class: "panel", onsubmit: add,
                    div { class: if ui.error_for("action-description").is_some() { "field field-with-error" } else { "field" },
                        label { r#for: "action-description", "What must be done" }
                        FieldError { field: "action-description" }
                        textarea { id: "action-description", name: "description", rows: "2" }
                    }
                    div { class: "row",
                        div { class: "field", style: "flex:2",
                            label { r#for: "action-owner", "Owner at the provider" }
                            input { r#type: "text", id: "action-owner", name: "owner" }
                        }
                        div { class: "field", style: "flex:1",
                            label { r#for: "action-priority", "Priority" }
                            select { id: "action-priority", name: "priority",
                                option { value: "high", "High" }
                                option { value: "medium", selected: true, "Medium" }
                                option { value: "low", "Low" }
                            }
                        }
                        fieldset { class: if ui.error_for("action-due-day").is_some() { "field field-with-error" } else { "field" }, style: "flex:2; border:0; padding:0; margin:0",
                            legend { class: "label", "Due date" }
                            div { class: "hint", "For example, 31 12 2026" }
                            FieldError { field: "action-due-day" }
                            div { class: "row", style: "flex-wrap: nowrap",
                                div { label { r#for: "action-due-day", "Day" } input { r#type: "text", inputmode: "numeric", id: "action-due-day", name: "due_day", style: "width: 4em" } }
                                div { label { r#for: "action-due-month", "Month" } input { r#type: "text", inputmode: "numeric", id: "action-due-month", name: "due_month", style: "width: 4em" } }
                                div { label { r#for: "action-due-year", "Year" } input { r#type: "text", inputmode: "numeric", id: "action-due-year", name: "due_year", style: "width: 6em" } }
                            }
                        }
                    }
                    div { class: "field",
                        CriterionSelect { id: "action-criterion", criteria: criteria.clone(), visit }
                    }
                    button { class: "button secondary", r#type: "submit", id: "add-action", "Add action" }
                }
            }
        }
    }
}
