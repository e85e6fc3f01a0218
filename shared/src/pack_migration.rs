//! Moving a visit's results from one version of a framework pack to the next, by the mapping the
//! newer version declares ([`crate::framework::PackMigration`]).
//!
//! Nothing is dropped silently: every answer and note of the older version ends up either in the
//! newer results or in the list of what was not carried over as it was, with the reason. The rules:
//! a rename or a split copies the answer and notes to every target; a merge carries the most
//! cautious answer (the lowest score; with no score, "not assessed" before "not applicable", which
//! scoring may leave out) and lists the others; merged notes are joined, each under the name of
//! the criterion it came from. An answer off its new criterion's scale is listed, not carried.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::framework::FrameworkPack;
use crate::load_error::LoadError;
use crate::records::Answer;
use crate::visit::CriterionResult;

/// Why a migration could not be made.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum MigrationError {
    /// The newer version declares no mapping from the older one.
    #[error("framework pack {to} declares no mapping from version {from}")]
    NoMapping {
        /// The older pack, as id@version.
        from: String,
        /// The newer pack, as id@version.
        to: String,
    },
    /// The mapping does not fit the older version.
    #[error(transparent)]
    Mapping(#[from] LoadError),
    /// The results hold a criterion the older version does not have.
    #[error("criterion {0:?} is not in the framework pack the results were recorded against")]
    UnknownCriterion(String),
}

/// Why something of the older version is not in the newer results as it was.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum NotCarriedReason {
    /// The newer version has no counterpart of the criterion.
    Removed,
    /// The criterion was merged into `into`, which carries another source's answer.
    Merged {
        /// The criterion of the newer version.
        into: String,
        /// The criterion of the older version whose answer it carries.
        carried_from: String,
    },
    /// The answer is not on the scale of `into`, so `into` is left unanswered.
    OffScale {
        /// The criterion of the newer version.
        into: String,
    },
}

impl NotCarriedReason {
    /// The reason in words, for the monitor.
    pub fn describe(&self) -> String {
        match self {
            NotCarriedReason::Removed => "the criterion is not in the new version".into(),
            NotCarriedReason::Merged { into, carried_from } => format!(
                "merged into {into}, which carries the answer of {carried_from} (the most cautious)"
            ),
            NotCarriedReason::OffScale { into } => {
                format!("the answer is not on the scale of {into}")
            }
        }
    }
}

/// An answer or notes of the older version not carried over as they were.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotCarried {
    /// The criterion of the older version.
    pub criterion: String,
    /// The answer not carried, if any.
    pub answer: Option<Answer>,
    /// The notes not carried (empty when they were carried).
    pub notes: String,
    /// Why.
    #[serde(flatten)]
    pub reason: NotCarriedReason,
}

/// The results of a visit moved to a newer version of its pack.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Migrated {
    /// A result for every criterion of the newer version.
    pub results: BTreeMap<String, CriterionResult>,
    /// Everything not carried over as it was, in the older version's criterion order.
    pub not_carried: Vec<NotCarried>,
}

/// How cautious an answer is: the lowest carries a merge.
fn caution(a: Answer) -> (u8, i32) {
    match a {
        Answer::Score(s) => (0, s),
        Answer::NotAssessed => (1, 0),
        Answer::NotApplicable => (2, 0),
    }
}

/// Moves `results` (recorded against `from`) to `to`, whose mapping must be from `from`.
pub fn migrate(
    results: &BTreeMap<String, CriterionResult>,
    from: &FrameworkPack,
    to: &FrameworkPack,
) -> Result<Migrated, MigrationError> {
    let mapping = to
        .migration
        .as_ref()
        .filter(|m| m.from_version == from.version && to.id == from.id)
        .ok_or_else(|| MigrationError::NoMapping {
            from: format!("{}@{}", from.id, from.version),
            to: format!("{}@{}", to.id, to.version),
        })?;
    if let Some(unknown) = results.keys().find(|k| from.criterion(k).is_none()) {
        return Err(MigrationError::UnknownCriterion(unknown.clone()));
    }
    let routes = mapping.routes(from, to)?;
    let empty = CriterionResult::default();
    let result_of = |id: &str| results.get(id).unwrap_or(&empty);

    let mut out = Migrated {
        results: to
            .criteria()
            .map(|c| (c.id.clone(), CriterionResult::default()))
            .collect(),
        not_carried: Vec::new(),
    };
    // Each target's sources, in the older version's order: one for a rename or split.
    let mut sources: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for route in &routes {
        if route.to.is_empty() {
            let r = result_of(&route.from);
            if r.answer.is_some() || !r.notes.is_empty() {
                out.not_carried.push(NotCarried {
                    criterion: route.from.clone(),
                    answer: r.answer,
                    notes: r.notes.clone(),
                    reason: NotCarriedReason::Removed,
                });
            }
        }
        for target in &route.to {
            sources.entry(target).or_default().push(&route.from);
        }
    }
    for (target, from_ids) in sources {
        let Some((_, criterion)) = to.criterion(target) else {
            continue;
        };
        let carried = from_ids
            .iter()
            .filter_map(|id| result_of(id).answer.map(|a| (*id, a)))
            .min_by_key(|(_, a)| caution(*a));
        let notes = if let [only] = from_ids.as_slice() {
            result_of(only).notes.clone()
        } else {
            from_ids
                .iter()
                .filter(|id| !result_of(id).notes.is_empty())
                .map(|id| format!("{id}: {}", result_of(id).notes))
                .collect::<Vec<_>>()
                .join("\n\n")
        };
        let mut answer = None;
        if let Some((carried_from, a)) = carried {
            let on_scale = match a {
                Answer::Score(s) => criterion.scale.contains(s),
                _ => true,
            };
            for id in &from_ids {
                let Some(other) = result_of(id).answer else {
                    continue;
                };
                // Sources that agree with the carried answer share its fate: carried with it,
                // or all listed when it is off the new scale.
                let reason = if other != a {
                    NotCarriedReason::Merged {
                        into: target.to_owned(),
                        carried_from: carried_from.to_owned(),
                    }
                } else if !on_scale {
                    NotCarriedReason::OffScale {
                        into: target.to_owned(),
                    }
                } else {
                    continue;
                };
                out.not_carried.push(NotCarried {
                    criterion: (*id).to_owned(),
                    answer: Some(other),
                    notes: String::new(),
                    reason,
                });
            }
            if on_scale {
                answer = Some(a);
            }
        }
        out.results
            .insert(target.to_owned(), CriterionResult { answer, notes });
    }
    let order: BTreeMap<&str, usize> = from
        .criteria()
        .enumerate()
        .map(|(i, c)| (c.id.as_str(), i))
        .collect();
    out.not_carried
        .sort_by_key(|n| order.get(n.criterion.as_str()).copied());
    Ok(out)
}
