//! Form fields as the GOV.UK Design System draws them: a label, an optional hint, the error
//! message above the control, and `aria-describedby` tying them together.

use std::collections::HashMap;

use dioxus::prelude::*;

use super::layout::{FieldError, field_error};

fn group_class(errors: &[FieldError], id: &str) -> &'static str {
    if errors.iter().any(|e| e.field == id) {
        "form-group form-group-error"
    } else {
        "form-group"
    }
}

fn described_by(errors: &[FieldError], id: &str, hint: &str) -> Option<String> {
    let mut ids = Vec::new();
    if !hint.is_empty() {
        ids.push(format!("{id}-hint"));
    }
    if errors.iter().any(|e| e.field == id) {
        ids.push(format!("{id}-error"));
    }
    (!ids.is_empty()).then(|| ids.join(" "))
}

/// The value a form sent for `id`, or nothing.
pub fn value(f: &HashMap<String, String>, id: &str) -> String {
    f.get(id).cloned().unwrap_or_default()
}

/// A text input. `kind` is the input type (`text`, `email`, `password`); `autocomplete` the
/// browser's hint for filling it.
pub fn text_input(
    id: &str,
    label: &str,
    hint: &str,
    f: &HashMap<String, String>,
    errors: &[FieldError],
    kind: &str,
    autocomplete: &str,
) -> Element {
    let described = described_by(errors, id, hint);
    let val = if kind == "password" {
        String::new()
    } else {
        value(f, id)
    };
    rsx! {
        div { class: group_class(errors, id),
            label { class: "label", r#for: "{id}", "{label}" }
            if !hint.is_empty() { div { class: "hint", id: "{id}-hint", "{hint}" } }
            {field_error(errors, id)}
            input { class: "input", id: "{id}", name: "{id}", r#type: "{kind}", autocomplete: "{autocomplete}", spellcheck: "false", value: "{val}", aria_describedby: described }
        }
    }
}

/// A select from `(value, label)` options, with a first blank option saying what to choose.
pub fn select(
    id: &str,
    label: &str,
    prompt: &str,
    options: &[(String, String)],
    f: &HashMap<String, String>,
    errors: &[FieldError],
) -> Element {
    let chosen = value(f, id);
    let described = described_by(errors, id, "");
    rsx! {
        div { class: group_class(errors, id),
            label { class: "label", r#for: "{id}", "{label}" }
            {field_error(errors, id)}
            select { class: "select", id: "{id}", name: "{id}", aria_describedby: described,
                option { value: "", "{prompt}" }
                for (v, l) in options.iter() {
                    option { key: "{v}", value: "{v}", selected: *v == chosen, "{l}" }
                }
            }
        }
    }
}
