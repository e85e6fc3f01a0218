//! Finding every field that two devices set differently at the same time.

use std::collections::BTreeMap;

use automerge::{ObjId, ObjType, ROOT, ScalarValue, Value};
use serde::{Deserialize, Serialize};

use super::error::VisitDocError;
use super::model::Author;
use super::read::{View, parse_uuid};
use super::schema::*;

/// A field with more than one current value: concurrent edits that Automerge keeps side by side.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Conflict {
    /// Path from the document root, e.g. `["results", "S1", "answer"]`.
    pub path: Vec<String>,
    /// The criterion the field belongs to, when it is part of a criterion's result.
    pub criterion: Option<String>,
    /// Every value, each with who wrote it.
    pub values: Vec<ConflictingValue>,
}

/// One of the values of a conflicting field.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConflictingValue {
    /// The value as text (an answer is its number or `not_applicable`/`not_assessed`).
    pub value: String,
    /// Who wrote it, when the writing device registered its author.
    pub author: Option<Author>,
    /// The Automerge actor (device session) that wrote it.
    pub actor: String,
}

pub(crate) fn find_conflicts(view: View<'_>) -> Result<Vec<Conflict>, VisitDocError> {
    let authors = read_authors(view)?;
    let mut out = Vec::new();
    walk(view, &ROOT, &mut Vec::new(), &authors, &mut out)?;
    for c in &mut out {
        c.criterion = criterion_of(view, &c.path)?;
    }
    Ok(out)
}

fn walk(
    view: View<'_>,
    obj: &ObjId,
    path: &mut Vec<String>,
    authors: &BTreeMap<String, Author>,
    out: &mut Vec<Conflict>,
) -> Result<(), VisitDocError> {
    for key in view.keys(obj) {
        // Authors, signatures and marks are written once under fresh keys, and every copy of
        // their maps is read, so nothing there can disagree.
        if path.is_empty() && [AUTHORS, SIGNATURES, ANNOTATIONS].contains(&key.as_str()) {
            continue;
        }
        let all = view.get_all(obj, &key)?;
        path.push(key.clone());
        if disagree(&all) {
            out.push(Conflict {
                path: path.clone(),
                criterion: None,
                values: all
                    .iter()
                    .map(|(value, id)| {
                        let actor = match id {
                            ObjId::Id(_, actor, _) => actor.to_hex_string(),
                            ObjId::Root => String::new(),
                        };
                        ConflictingValue {
                            value: value_text(value),
                            author: authors.get(&actor).cloned(),
                            actor,
                        }
                    })
                    .collect(),
            });
        }
        if let Some((Value::Object(ObjType::Map), child)) = view.get(obj, &key)? {
            walk(view, &child, path, authors, out)?;
        }
        path.pop();
    }
    Ok(())
}

/// Whether concurrent values differ. Two monitors who score a criterion alike agree, so that
/// is no conflict; two maps made at once always are, since they may hold different fields.
pub(crate) fn disagree(all: &[(Value<'_>, ObjId)]) -> bool {
    let Some(((first, _), rest)) = all.split_first() else {
        return false;
    };
    rest.iter().any(|(v, _)| match (first, v) {
        (Value::Scalar(a), Value::Scalar(b)) => a != b,
        _ => true,
    })
}

pub(crate) fn value_text(value: &Value<'_>) -> String {
    match value {
        Value::Scalar(s) => match s.as_ref() {
            ScalarValue::Str(t) => t.to_string(),
            ScalarValue::Null => "(cleared)".into(),
            other => other.to_string(),
        },
        Value::Object(t) => format!("(a new {t})"),
    }
}

pub(crate) fn read_authors(view: View<'_>) -> Result<BTreeMap<String, Author>, VisitDocError> {
    let mut out = BTreeMap::new();
    let Some(map) = view.opt_map(&ROOT, AUTHORS, &[])? else {
        return Ok(out);
    };
    for actor in view.keys(&map) {
        let Some(entry) = view.opt_map(&map, &actor, &[AUTHORS])? else {
            continue;
        };
        let user = view.get(&entry, USER_ID)?;
        let name = view.get(&entry, NAME)?;
        if let (Some((Value::Scalar(u), _)), Some((Value::Scalar(n), _))) = (user, name)
            && let (Some(user_id), Some(name)) = (u.as_str().and_then(parse_uuid), n.as_str())
        {
            out.insert(
                actor,
                Author {
                    user_id,
                    name: name.to_owned(),
                },
            );
        }
    }
    Ok(out)
}

fn criterion_of(view: View<'_>, path: &[String]) -> Result<Option<String>, VisitDocError> {
    let [first, key, ..] = path else {
        return Ok(None);
    };
    if first != RESULTS {
        return Ok(None);
    }
    let Some(results) = view.opt_map(&ROOT, RESULTS, &[])? else {
        return Ok(None);
    };
    let Some(item) = view.opt_map(&results, key, &[RESULTS])? else {
        return Ok(None);
    };
    let layout = super::read::read_layout(&view.fields(&ROOT))?;
    Ok(match layout {
        Layout::CriterionKeys => Some(key.clone()),
        Layout::UuidKeys => match view.get(&item, CRITERION)? {
            Some((Value::Scalar(s), _)) => s.as_str().map(str::to_owned),
            _ => None,
        },
    })
}
