//! What changed between two states of a visit: per criterion the answer and notes, evidence,
//! photos and actions added, removed or changed, and the sign-off; and, for two visits scored
//! against the same pack version, each domain's percentage before and after.
//!
//! A diff is exact: applied to the older state it gives the newer one ([`VisitDiff::apply_to`]),
//! which a property test checks over random edit histories. Visits scored against different
//! pack versions are never compared score by score: [`score_diff`] refuses them, since their
//! criteria are not the same questions.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::framework::FrameworkPack;
use crate::ratio::Ratio;
use crate::scheme::ScoringRules;
use crate::scoring::score;
use crate::visit::{
    CriterionResult, Evidence, PackMove, PhotoAnnotation, PhotoRef, Resolution, SignOff, Signature,
    VisitAction, VisitHeader, VisitSnapshot,
};

/// One keyed item that differs between the two states.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "change")]
pub enum Change<T> {
    /// Only in the newer state.
    Added {
        /// The item.
        after: T,
    },
    /// Only in the older state.
    Removed {
        /// The item.
        before: T,
    },
    /// In both, different.
    Changed {
        /// As it was.
        before: T,
        /// As it is.
        after: T,
    },
}

impl<T> Change<T> {
    /// The change as a past participle: added, removed or changed.
    pub fn verb(&self) -> &'static str {
        match self {
            Change::Added { .. } => "added",
            Change::Removed { .. } => "removed",
            Change::Changed { .. } => "changed",
        }
    }

    /// The item as it now is, or as it was before it was removed.
    pub fn latest(&self) -> &T {
        match self {
            Change::Added { after } | Change::Changed { after, .. } => after,
            Change::Removed { before } => before,
        }
    }
}

/// A value that differs, before and after.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Altered<T> {
    /// As it was.
    pub before: T,
    /// As it is.
    pub after: T,
}

/// Everything that differs between two states of a visit.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct VisitDiff {
    /// The header (its plan link, or a different visit altogether).
    pub header: Option<Altered<VisitHeader>>,
    /// When the visit ended.
    pub ended_at: Option<Altered<Option<DateTime<Utc>>>>,
    /// Officers on the visit.
    pub officers: BTreeMap<Uuid, Change<String>>,
    /// Results by criterion id: the answer and the notes.
    pub results: BTreeMap<String, Change<CriterionResult>>,
    /// Evidence by id.
    pub evidence: BTreeMap<Uuid, Change<Evidence>>,
    /// Photos by id.
    pub photos: BTreeMap<Uuid, Change<PhotoRef>>,
    /// Actions by id.
    pub actions: BTreeMap<Uuid, Change<VisitAction>>,
    /// Resolved conflicts by id.
    pub resolutions: BTreeMap<Uuid, Change<Resolution>>,
    /// The sign-off.
    pub signoff: Option<Altered<Option<SignOff>>>,
    /// Moves to newer pack versions by id.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub migrations: BTreeMap<Uuid, Change<PackMove>>,
    /// Signatures by id.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub signatures: BTreeMap<Uuid, Change<Signature>>,
    /// Marks on photos by id.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<Uuid, Change<PhotoAnnotation>>,
}

/// A diff that does not fit the state it is applied to.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DiffError {
    /// An item the diff removes or changes is not as the diff says it was.
    #[error("{0} is not as the diff expects")]
    Mismatch(String),
    /// The two visits were scored against different pack versions.
    #[error(
        "the visits were scored against {0} and {1}: they are compared only through the pack's declared mapping"
    )]
    DifferentPacks(String, String),
    /// The pack of the visits is not the one given.
    #[error("the visits were scored against {0}, not the pack given")]
    WrongPack(String),
}

fn diff_maps<K: Ord + Clone, T: Clone + PartialEq>(
    before: &BTreeMap<K, T>,
    after: &BTreeMap<K, T>,
) -> BTreeMap<K, Change<T>> {
    let mut out = BTreeMap::new();
    for (k, b) in before {
        match after.get(k) {
            None => {
                out.insert(k.clone(), Change::Removed { before: b.clone() });
            }
            Some(a) if a != b => {
                out.insert(
                    k.clone(),
                    Change::Changed {
                        before: b.clone(),
                        after: a.clone(),
                    },
                );
            }
            Some(_) => {}
        }
    }
    for (k, a) in after {
        if !before.contains_key(k) {
            out.insert(k.clone(), Change::Added { after: a.clone() });
        }
    }
    out
}

fn apply_map<K: Ord + Clone + std::fmt::Debug, T: Clone + PartialEq>(
    what: &str,
    map: &mut BTreeMap<K, T>,
    changes: &BTreeMap<K, Change<T>>,
) -> Result<(), DiffError> {
    let mismatch = |k: &K| DiffError::Mismatch(format!("{what} {k:?}"));
    for (k, c) in changes {
        match c {
            Change::Added { after } => {
                if map.insert(k.clone(), after.clone()).is_some() {
                    return Err(mismatch(k));
                }
            }
            Change::Removed { before } => {
                if map.remove(k).as_ref() != Some(before) {
                    return Err(mismatch(k));
                }
            }
            Change::Changed { before, after } => match map.get_mut(k) {
                Some(v) if v == before => *v = after.clone(),
                _ => return Err(mismatch(k)),
            },
        }
    }
    Ok(())
}

fn altered<T: Clone + PartialEq>(before: &T, after: &T) -> Option<Altered<T>> {
    (before != after).then(|| Altered {
        before: before.clone(),
        after: after.clone(),
    })
}

fn apply_altered<T: Clone + PartialEq>(
    what: &str,
    value: &mut T,
    change: &Option<Altered<T>>,
) -> Result<(), DiffError> {
    if let Some(c) = change {
        if *value != c.before {
            return Err(DiffError::Mismatch(what.to_owned()));
        }
        *value = c.after.clone();
    }
    Ok(())
}

/// What changed from `before` to `after`.
pub fn diff(before: &VisitSnapshot, after: &VisitSnapshot) -> VisitDiff {
    VisitDiff {
        header: altered(&before.header, &after.header),
        ended_at: altered(&before.ended_at, &after.ended_at),
        officers: diff_maps(&before.officers, &after.officers),
        results: diff_maps(&before.results, &after.results),
        evidence: diff_maps(&before.evidence, &after.evidence),
        photos: diff_maps(&before.photos, &after.photos),
        actions: diff_maps(&before.actions, &after.actions),
        resolutions: diff_maps(&before.resolutions, &after.resolutions),
        signoff: altered(&before.signoff, &after.signoff),
        migrations: diff_maps(&before.migrations, &after.migrations),
        signatures: diff_maps(&before.signatures, &after.signatures),
        annotations: diff_maps(&before.annotations, &after.annotations),
    }
}

impl VisitDiff {
    /// Whether nothing changed.
    pub fn is_empty(&self) -> bool {
        *self == VisitDiff::default()
    }

    /// Whether anything other than the sign-off changed: the record itself.
    pub fn changes_record(&self) -> bool {
        VisitDiff {
            signoff: None,
            ..self.clone()
        } != VisitDiff::default()
    }

    /// The older state with this diff applied: the newer state. Refused, changing nothing, when
    /// an item the diff removes or changes is not as the diff says it was.
    pub fn apply_to(&self, before: &VisitSnapshot) -> Result<VisitSnapshot, DiffError> {
        let mut s = before.clone();
        apply_altered("the header", &mut s.header, &self.header)?;
        apply_altered("the end of the visit", &mut s.ended_at, &self.ended_at)?;
        apply_map("officer", &mut s.officers, &self.officers)?;
        apply_map("result", &mut s.results, &self.results)?;
        apply_map("evidence", &mut s.evidence, &self.evidence)?;
        apply_map("photo", &mut s.photos, &self.photos)?;
        apply_map("action", &mut s.actions, &self.actions)?;
        apply_map("resolution", &mut s.resolutions, &self.resolutions)?;
        apply_altered("the sign-off", &mut s.signoff, &self.signoff)?;
        apply_map("pack move", &mut s.migrations, &self.migrations)?;
        apply_map("signature", &mut s.signatures, &self.signatures)?;
        apply_map("mark", &mut s.annotations, &self.annotations)?;
        Ok(s)
    }

    /// The criteria whose answer changed: (criterion, before, after).
    pub fn answer_changes(
        &self,
    ) -> Vec<(
        &str,
        Option<crate::records::Answer>,
        Option<crate::records::Answer>,
    )> {
        self.results
            .iter()
            .filter_map(|(id, c)| {
                let (b, a) = match c {
                    Change::Added { after } => (None, after.answer),
                    Change::Removed { before } => (before.answer, None),
                    Change::Changed { before, after } => (before.answer, after.answer),
                };
                (b != a).then_some((id.as_str(), b, a))
            })
            .collect()
    }

    /// Every change as a sentence, in the document's order (results by criterion, then the
    /// other sections): what a report lists under a signature the record changed after, and
    /// what the field app's history shows.
    pub fn lines(&self, pack: Option<&FrameworkPack>) -> Vec<String> {
        use crate::records::Answer;
        let prompt = |id: &str| {
            let text = pack
                .and_then(|p| p.criterion(id))
                .map(|(_, c)| c.prompt.trim_end_matches('.').to_owned())
                .unwrap_or_else(|| id.to_owned());
            format!("“{text}”")
        };
        let answer = |id: &str, a: Option<Answer>| -> String {
            match a {
                Some(Answer::Score(v)) => {
                    match pack
                        .and_then(|p| p.criterion(id))
                        .and_then(|(_, c)| c.scale.label(v))
                    {
                        Some(l) if !l.is_empty() => format!("{v} – {l}"),
                        _ => v.to_string(),
                    }
                }
                Some(Answer::NotApplicable) => "not applicable".into(),
                Some(Answer::NotAssessed) => "not assessed".into(),
                None => "not answered".into(),
            }
        };
        let mut out = Vec::new();
        if let Some(h) = &self.header {
            if h.before.pack_version != h.after.pack_version {
                out.push(format!(
                    "Moved from framework version {} to {}",
                    h.before.pack_version, h.after.pack_version
                ));
            } else {
                out.push("The visit's details changed".into());
            }
        }
        if self.ended_at.is_some() {
            out.push("The end time of the visit changed".into());
        }
        for (id, before, after) in self.answer_changes() {
            out.push(format!(
                "Score for {}: {} → {}",
                prompt(id),
                answer(id, before),
                answer(id, after)
            ));
        }
        for id in self.notes_changed() {
            out.push(format!("Notes on {} changed", prompt(id)));
        }
        for c in self.officers.values() {
            out.push(format!("An officer {}", c.verb()));
        }
        for c in self.evidence.values() {
            out.push(format!("Evidence {}: {}", c.verb(), c.latest().text));
        }
        for c in self.photos.values() {
            out.push(format!("Photo {}: {}", c.verb(), c.latest().caption));
        }
        for c in self.annotations.values() {
            out.push(format!(
                "Mark on a photo {}: {}",
                c.verb(),
                crate::visit::describe_mark(c.latest())
            ));
        }
        for c in self.actions.values() {
            out.push(format!("Action {}: {}", c.verb(), c.latest().description));
        }
        for c in self.resolutions.values() {
            out.push(format!("A conflict resolution {}", c.verb()));
        }
        for c in self.migrations.values() {
            out.push(format!("A move to a newer framework version {}", c.verb()));
        }
        for c in self.signatures.values() {
            out.push(format!("Signature of {} {}", c.latest().name, c.verb()));
        }
        if let Some(s) = &self.signoff {
            out.push(match (&s.before, &s.after) {
                (None, Some(_)) => "Signed off".into(),
                (Some(_), None) => "Sign-off removed".into(),
                _ => "Sign-off changed".into(),
            });
        }
        out
    }

    /// The criteria whose notes changed.
    pub fn notes_changed(&self) -> Vec<&str> {
        self.results
            .iter()
            .filter(|(_, c)| match c {
                Change::Added { after } => !after.notes.is_empty(),
                Change::Removed { before } => !before.notes.is_empty(),
                Change::Changed { before, after } => before.notes != after.notes,
            })
            .map(|(id, _)| id.as_str())
            .collect()
    }
}

/// A domain's percentage before and after.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DomainChange {
    /// Domain id.
    pub domain_id: String,
    /// Its title.
    pub title: String,
    /// Before, if anything in it was scored.
    pub before: Option<Ratio>,
    /// After.
    pub after: Option<Ratio>,
}

/// The scores of two visits (or two states of one) against the same pack version.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScoreDiff {
    /// Per domain, in pack order.
    pub domains: Vec<DomainChange>,
    /// Overall before and after.
    pub overall: Altered<Option<Ratio>>,
}

/// Each domain's percentage and the overall score before and after, scored by the one scoring
/// function with `rules`. Only visits against the same pack version (`pack`) are compared.
pub fn score_diff(
    pack: &FrameworkPack,
    rules: &ScoringRules,
    before: &VisitSnapshot,
    after: &VisitSnapshot,
) -> Result<ScoreDiff, DiffError> {
    let key = |s: &VisitSnapshot| format!("{} {}", s.header.pack_id, s.header.pack_version);
    if (&before.header.pack_id, &before.header.pack_version)
        != (&after.header.pack_id, &after.header.pack_version)
    {
        return Err(DiffError::DifferentPacks(key(before), key(after)));
    }
    if (&pack.id, &pack.version) != (&before.header.pack_id, &before.header.pack_version) {
        return Err(DiffError::WrongPack(key(before)));
    }
    let b = score(pack, &before.answers(), rules);
    let a = score(pack, &after.answers(), rules);
    let domains = b
        .domains
        .iter()
        .zip(&a.domains)
        .map(|(db, da)| DomainChange {
            domain_id: db.domain_id.clone(),
            title: db.title.clone(),
            before: db.percent,
            after: da.percent,
        })
        .collect();
    Ok(ScoreDiff {
        domains,
        overall: Altered {
            before: b.overall,
            after: a.overall,
        },
    })
}
