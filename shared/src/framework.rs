//! Framework packs: the versioned questions a monitor answers (domains → standards → criteria).
//!
//! Packs are data in TOML (see `assets/frameworks/`). A published pack version is never edited in
//! place: visits record the pack id and version they were scored against, and scores are only
//! compared within one version.

use crate::load_error::{LoadError, Problems, is_valid_id, parse_toml};
use crate::ratio::Ratio;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};

/// A scoring scale such as 1–4 ("Poor" … "Excellent").
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scale {
    /// Lowest score (a failed criterion when the criterion is critical).
    pub min: i32,
    /// Highest score.
    pub max: i32,
    /// A label per score from `min` to `max`; may be empty.
    #[serde(default)]
    pub labels: Vec<String>,
}

impl Scale {
    /// The label for a score, if the scale has labels.
    pub fn label(&self, score: i32) -> Option<&str> {
        let i = usize::try_from(score.checked_sub(self.min)?).ok()?;
        self.labels.get(i).map(String::as_str)
    }

    /// Whether a score is on this scale.
    pub fn contains(&self, score: i32) -> bool {
        self.min <= score && score <= self.max
    }
}

/// How "not applicable" answers are treated.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NotApplicablePolicy {
    /// Left out of both numerator and denominator.
    Exclude,
    /// Counted as if scored at the scale maximum.
    CountAsMax,
}

/// How "not assessed" answers are treated. They are always counted, so a visit with too many can
/// be declared inconclusive by the scheme's rules.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NotAssessedPolicy {
    /// Left out of both numerator and denominator.
    Exclude,
    /// Counted as the scale minimum.
    CountAsMin,
}

/// The pack's treatment of answers that are not scores.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AnswerPolicy {
    /// Treatment of "not applicable".
    pub not_applicable: NotApplicablePolicy,
    /// Treatment of "not assessed".
    pub not_assessed: NotAssessedPolicy,
}

/// One thing a monitor checks and scores.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Criterion {
    /// Unique id within the pack, e.g. `safe.safeguarding.training`.
    pub id: String,
    /// What the monitor checks, in one sentence.
    pub prompt: String,
    /// What good looks like and what to score down for.
    pub guidance: String,
    /// Where to look and whom to ask.
    pub evidence_prompts: Vec<String>,
    /// Relative weight within its domain (exact; from the pack's decimal).
    pub weight: Ratio,
    /// A failed critical criterion caps the tier.
    pub critical: bool,
    /// The id of the scale it is scored on.
    pub scale_id: String,
    /// That scale, resolved.
    pub scale: Scale,
}

impl Criterion {
    /// The weight in thousandths: exact, because pack weights have at most three decimals.
    pub fn weight_thousandths(&self) -> i128 {
        self.weight.numer() * (1000 / self.weight.denom())
    }
}

/// A quality statement, grouping criteria.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Standard {
    /// Unique id within the pack.
    pub id: String,
    /// Short title, e.g. "Safeguarding".
    pub title: String,
    /// The statement of what good care is.
    pub statement: String,
    /// The criteria under it, in order.
    pub criteria: Vec<Criterion>,
}

/// A domain (by default one of CQC's five key questions).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Domain {
    /// Unique id within the pack, e.g. `safe`.
    pub id: String,
    /// Title, e.g. "Safe".
    pub title: String,
    /// Weight in the overall percentage.
    pub weight: Ratio,
    /// The standards under it, in order.
    pub standards: Vec<Standard>,
}

/// Where a criterion sits in its pack, for fast lookup while scoring.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CriterionPosition {
    /// Index of the domain.
    pub domain: usize,
    /// Index of the standard within the domain.
    pub standard: usize,
    /// Index of the criterion within the standard.
    pub criterion: usize,
}

/// A validated framework pack.
#[derive(Clone, Debug, Serialize)]
pub struct FrameworkPack {
    /// Pack id, stable across versions.
    pub id: String,
    /// Version; a visit is scored against exactly one.
    pub version: String,
    /// Title shown to users.
    pub title: String,
    /// What the pack is for.
    pub description: String,
    /// The pack's scales by id.
    pub scales: BTreeMap<String, Scale>,
    /// Treatment of non-score answers.
    pub policy: AnswerPolicy,
    /// The domains, in order.
    pub domains: Vec<Domain>,
    /// How a visit of the previous version moves to this one, if this version declares it.
    pub migration: Option<PackMigration>,
    #[serde(skip)]
    index: HashMap<String, CriterionPosition>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPack {
    id: String,
    version: String,
    title: String,
    #[serde(default)]
    description: String,
    default_scale: String,
    scales: BTreeMap<String, Scale>,
    policy: AnswerPolicy,
    domains: Vec<RawDomain>,
    #[serde(default)]
    migration: Option<RawMigration>,
}

/// A pack in its served JSON form: every criterion names its scale, weights are exact ratios.
#[derive(Deserialize)]
struct ServedPack {
    id: String,
    version: String,
    title: String,
    #[serde(default)]
    description: String,
    scales: BTreeMap<String, Scale>,
    policy: AnswerPolicy,
    domains: Vec<ServedDomain>,
    #[serde(default)]
    migration: Option<RawMigration>,
}

#[derive(Deserialize)]
struct ServedDomain {
    id: String,
    title: String,
    weight: Ratio,
    standards: Vec<ServedStandard>,
}

#[derive(Deserialize)]
struct ServedStandard {
    id: String,
    title: String,
    #[serde(default)]
    statement: String,
    criteria: Vec<ServedCriterion>,
}

#[derive(Deserialize)]
struct ServedCriterion {
    id: String,
    prompt: String,
    #[serde(default)]
    guidance: String,
    #[serde(default)]
    evidence_prompts: Vec<String>,
    weight: Ratio,
    #[serde(default)]
    critical: bool,
    scale_id: String,
}

/// A weight as the pack's decimal: exact, since pack weights have at most three decimals (one
/// that has more is refused by the checks, as in TOML).
fn decimal(r: Ratio) -> f64 {
    r.numer() as f64 / r.denom() as f64
}

impl ServedPack {
    fn into_raw(self) -> RawPack {
        // Every criterion names its scale, so the default is never used; any known one will do.
        let default_scale = self.scales.keys().next().cloned().unwrap_or_default();
        RawPack {
            id: self.id,
            version: self.version,
            title: self.title,
            description: self.description,
            default_scale,
            scales: self.scales,
            policy: self.policy,
            domains: self
                .domains
                .into_iter()
                .map(|d| RawDomain {
                    id: d.id,
                    title: d.title,
                    weight: decimal(d.weight),
                    standards: d
                        .standards
                        .into_iter()
                        .map(|s| RawStandard {
                            id: s.id,
                            title: s.title,
                            statement: s.statement,
                            criteria: s
                                .criteria
                                .into_iter()
                                .map(|c| RawCriterion {
                                    id: c.id,
                                    prompt: c.prompt,
                                    guidance: c.guidance,
                                    evidence_prompts: c.evidence_prompts,
                                    weight: decimal(c.weight),
                                    critical: c.critical,
                                    scale: Some(c.scale_id),
                                })
                                .collect(),
                        })
                        .collect(),
                })
                .collect(),
            migration: self.migration,
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMigration {
    from_version: String,
    #[serde(default)]
    map: Vec<CriterionMap>,
    #[serde(default)]
    removed: Vec<String>,
}

/// One entry of a pack version's mapping from the previous version: `from` (criteria of the
/// previous version) become `to` (criteria of this one). One to one is a rename, one to many a
/// split, many to one a merge.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CriterionMap {
    /// Criteria of the previous version.
    pub from: Vec<String>,
    /// Criteria of this version.
    pub to: Vec<String>,
}

/// How visits of the previous version of a pack move to this version. A criterion of the previous
/// version that no entry names and whose id this version still has carries over unchanged; one
/// that this version lacks must be mapped or listed as removed (checked by [`PackLibrary::insert`]
/// when both versions are loaded). A criterion of this version that nothing maps to is new.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PackMigration {
    /// The version this one follows.
    pub from_version: String,
    /// Renames, splits and merges.
    pub map: Vec<CriterionMap>,
    /// Criteria of the previous version with no counterpart here.
    pub removed: Vec<String>,
}

impl PackMigration {
    /// Where each criterion of `previous` goes: the criteria of this version its answer moves to
    /// (empty when removed), in `previous`'s order, with the index of the map entry (`None` for an
    /// unchanged id or a removal). Refused, with field paths, unless every criterion of `previous`
    /// is accounted for exactly once and every id named is one of `previous`'s.
    pub fn routes(
        &self,
        previous: &FrameworkPack,
        this: &FrameworkPack,
    ) -> Result<Vec<Route>, LoadError> {
        let mut p = Problems::default();
        if previous.id != this.id || previous.version != self.from_version {
            p.add(
                "migration.from_version",
                format!(
                    "maps from {}@{}, not from {}@{}",
                    this.id, self.from_version, previous.id, previous.version
                ),
            );
            return p.into_result(DOC, Vec::new());
        }
        // Each id of the previous version named by the mapping: where, and in which map entry.
        let mut named: HashMap<String, (String, Option<usize>)> = HashMap::new();
        let mut note = |p: &mut Problems, id: &str, path: String, entry: Option<usize>| {
            if previous.criterion(id).is_none() {
                p.add(
                    &path,
                    format!(
                        "criterion `{id}` is not in {}@{}",
                        previous.id, previous.version
                    ),
                );
            } else if let Some((first, _)) = named.get(id) {
                p.add(&path, format!("`{id}` is already mapped at {first}"));
            } else {
                named.insert(id.to_owned(), (path, entry));
            }
        };
        for (i, m) in self.map.iter().enumerate() {
            for (j, id) in m.from.iter().enumerate() {
                note(&mut p, id, format!("migration.map[{i}].from[{j}]"), Some(i));
            }
        }
        for (j, id) in self.removed.iter().enumerate() {
            note(&mut p, id, format!("migration.removed[{j}]"), None);
        }
        let targets: std::collections::HashSet<&str> = self
            .map
            .iter()
            .flat_map(|m| m.to.iter().map(String::as_str))
            .collect();
        let mut routes = Vec::new();
        for c in previous.criteria() {
            let to = match named.get(c.id.as_str()) {
                Some((_, Some(i))) => (self.map[*i].to.clone(), Some(*i)),
                Some(_) => (Vec::new(), None),
                None if this.criterion(&c.id).is_some() && !targets.contains(c.id.as_str()) => {
                    (vec![c.id.clone()], None)
                }
                None => {
                    p.add(
                        "migration",
                        format!(
                            "criterion `{}` of {}@{} is neither kept, mapped nor removed",
                            c.id, previous.id, previous.version
                        ),
                    );
                    continue;
                }
            };
            routes.push(Route {
                from: c.id.clone(),
                to: to.0,
                entry: to.1,
            });
        }
        p.into_result(DOC, routes)
    }
}

/// Where one criterion of the previous version goes, from [`PackMigration::routes`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Route {
    /// The criterion of the previous version.
    pub from: String,
    /// The criteria of this version it moves to; empty when it was removed.
    pub to: Vec<String>,
    /// The map entry that moves it; `None` when kept under its id or removed.
    pub entry: Option<usize>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDomain {
    id: String,
    title: String,
    #[serde(default = "one")]
    weight: f64,
    standards: Vec<RawStandard>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStandard {
    id: String,
    title: String,
    #[serde(default)]
    statement: String,
    criteria: Vec<RawCriterion>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCriterion {
    id: String,
    prompt: String,
    #[serde(default)]
    guidance: String,
    #[serde(default)]
    evidence_prompts: Vec<String>,
    #[serde(default = "one")]
    weight: f64,
    #[serde(default)]
    critical: bool,
    #[serde(default)]
    scale: Option<String>,
}

fn one() -> f64 {
    1.0
}

const DOC: &str = "framework pack";

fn check_weight(problems: &mut Problems, path: &str, weight: f64) -> Ratio {
    match Ratio::from_decimal(weight) {
        Some(w) if w > Ratio::ZERO && w <= Ratio::integer(1000) => w,
        Some(w) if w > Ratio::ZERO => {
            problems.add(path, format!("must be at most 1000, found {weight}"));
            Ratio::integer(1)
        }
        Some(_) => {
            problems.add(path, format!("must be greater than 0, found {weight}"));
            Ratio::integer(1)
        }
        None => {
            problems.add(path, "must be a number with at most three decimal places");
            Ratio::integer(1)
        }
    }
}

/// The checks a mapping gets from its own pack: ids well formed and named once, targets in
/// this pack. Its sources are checked against the previous version by [`PackMigration::routes`].
fn check_migration(
    p: &mut Problems,
    m: &RawMigration,
    version: &str,
    index: &HashMap<String, CriterionPosition>,
) {
    if m.from_version.trim().is_empty() {
        p.add("migration.from_version", "must not be empty");
    } else if m.from_version == version {
        p.add(
            "migration.from_version",
            "must name the previous version, not this one",
        );
    }
    let mut sources: HashMap<&str, String> = HashMap::new();
    let mut targets: HashMap<&str, String> = HashMap::new();
    fn once<'a>(p: &mut Problems, seen: &mut HashMap<&'a str, String>, id: &'a str, path: String) {
        if !is_valid_id(id) {
            p.add(&path, "must be lowercase letters, digits, '.', '-' or '_'");
        } else if let Some(first) = seen.get(id) {
            p.add(&path, format!("`{id}` is already used at {first}"));
        } else {
            seen.insert(id, path);
        }
    }
    for (i, entry) in m.map.iter().enumerate() {
        let path = format!("migration.map[{i}]");
        if entry.from.is_empty() {
            p.add(format!("{path}.from"), "must name at least one criterion");
        }
        if entry.to.is_empty() {
            p.add(
                format!("{path}.to"),
                "must name at least one criterion (list a criterion with no successor under removed)",
            );
        }
        for (j, id) in entry.from.iter().enumerate() {
            once(p, &mut sources, id, format!("{path}.from[{j}]"));
        }
        for (j, id) in entry.to.iter().enumerate() {
            let at = format!("{path}.to[{j}]");
            if is_valid_id(id) && !index.contains_key(id) {
                p.add(&at, format!("criterion `{id}` is not in this pack"));
            }
            once(p, &mut targets, id, at);
        }
    }
    for (j, id) in m.removed.iter().enumerate() {
        once(p, &mut sources, id, format!("migration.removed[{j}]"));
    }
}

impl FrameworkPack {
    /// Parses and validates a pack from TOML. Every problem is reported with its field path.
    pub fn from_toml(text: &str) -> Result<FrameworkPack, LoadError> {
        FrameworkPack::from_raw(parse_toml(DOC, text)?)
    }

    /// Reads a pack as `GET /api/v1/packs/{id}/{version}` serves it (this type's JSON form), with
    /// the checks [`FrameworkPack::from_toml`] makes: a device keeps the versions it is sent.
    pub fn from_json(text: &str) -> Result<FrameworkPack, LoadError> {
        let served: ServedPack = serde_json::from_str(text).map_err(|e| LoadError {
            document: DOC,
            problems: vec![crate::load_error::FieldProblem {
                path: String::new(),
                message: e.to_string(),
            }],
        })?;
        FrameworkPack::from_raw(served.into_raw())
    }

    fn from_raw(raw: RawPack) -> Result<FrameworkPack, LoadError> {
        let mut p = Problems::default();
        if !is_valid_id(&raw.id) {
            p.add("id", "must be lowercase letters, digits, '.', '-' or '_'");
        }
        if raw.version.trim().is_empty() {
            p.add("version", "must not be empty");
        }
        if raw.title.trim().is_empty() {
            p.add("title", "must not be empty");
        }
        for (id, scale) in &raw.scales {
            let path = format!("scales.{id}");
            if scale.min < -1000 || scale.max > 1000 {
                p.add(&path, "scores must lie between -1000 and 1000");
            } else if scale.min >= scale.max {
                p.add(format!("{path}.max"), "must be greater than min");
            } else if !scale.labels.is_empty()
                && scale.labels.len() as i64 != (scale.max as i64 - scale.min as i64 + 1)
            {
                p.add(
                    format!("{path}.labels"),
                    "needs one label per score from min to max",
                );
            }
        }
        if !raw.scales.contains_key(&raw.default_scale) {
            p.add(
                "default_scale",
                format!("unknown scale `{}`", raw.default_scale),
            );
        }
        if raw.domains.is_empty() {
            p.add("domains", "a pack needs at least one domain");
        }

        let mut seen: HashMap<String, String> = HashMap::new();
        let mut note_id = |p: &mut Problems, id: &str, path: String| {
            if !is_valid_id(id) {
                p.add(&path, "must be lowercase letters, digits, '.', '-' or '_'");
            } else if let Some(first) = seen.get(id) {
                p.add(
                    &path,
                    format!("duplicate id `{id}` (first used at {first})"),
                );
            } else {
                seen.insert(id.to_owned(), path);
            }
        };

        let mut domains = Vec::with_capacity(raw.domains.len());
        let mut index = HashMap::new();
        for (di, rd) in raw.domains.into_iter().enumerate() {
            let dpath = format!("domains[{di}]");
            note_id(&mut p, &rd.id, format!("{dpath}.id"));
            let weight = check_weight(&mut p, &format!("{dpath}.weight"), rd.weight);
            if rd.standards.is_empty() {
                p.add(
                    format!("{dpath}.standards"),
                    "domain is empty: it needs at least one standard",
                );
            }
            let mut standards = Vec::with_capacity(rd.standards.len());
            for (si, rs) in rd.standards.into_iter().enumerate() {
                let spath = format!("{dpath}.standards[{si}]");
                note_id(&mut p, &rs.id, format!("{spath}.id"));
                if rs.criteria.is_empty() {
                    p.add(
                        format!("{spath}.criteria"),
                        "standard is empty: it needs at least one criterion",
                    );
                }
                let mut criteria = Vec::with_capacity(rs.criteria.len());
                for (ci, rc) in rs.criteria.into_iter().enumerate() {
                    let cpath = format!("{spath}.criteria[{ci}]");
                    note_id(&mut p, &rc.id, format!("{cpath}.id"));
                    if rc.prompt.trim().is_empty() {
                        p.add(format!("{cpath}.prompt"), "must not be empty");
                    }
                    let weight = check_weight(&mut p, &format!("{cpath}.weight"), rc.weight);
                    let scale_id = rc.scale.unwrap_or_else(|| raw.default_scale.clone());
                    let scale = match raw.scales.get(&scale_id) {
                        Some(s) => s.clone(),
                        None => {
                            if scale_id != raw.default_scale {
                                p.add(
                                    format!("{cpath}.scale"),
                                    format!("unknown scale `{scale_id}`"),
                                );
                            }
                            Scale {
                                min: 1,
                                max: 4,
                                labels: vec![],
                            }
                        }
                    };
                    index.insert(
                        rc.id.clone(),
                        CriterionPosition {
                            domain: di,
                            standard: si,
                            criterion: ci,
                        },
                    );
                    criteria.push(Criterion {
                        id: rc.id,
                        prompt: rc.prompt,
                        guidance: rc.guidance,
                        evidence_prompts: rc.evidence_prompts,
                        weight,
                        critical: rc.critical,
                        scale_id,
                        scale,
                    });
                }
                standards.push(Standard {
                    id: rs.id,
                    title: rs.title,
                    statement: rs.statement,
                    criteria,
                });
            }
            domains.push(Domain {
                id: rd.id,
                title: rd.title,
                weight,
                standards,
            });
        }

        let migration = raw.migration.map(|m| {
            check_migration(&mut p, &m, &raw.version, &index);
            PackMigration {
                from_version: m.from_version,
                map: m.map,
                removed: m.removed,
            }
        });
        let pack = FrameworkPack {
            migration,
            id: raw.id,
            version: raw.version,
            title: raw.title,
            description: raw.description,
            scales: raw.scales,
            policy: raw.policy,
            domains,
            index,
        };
        p.into_result(DOC, pack)
    }

    /// Looks a criterion up by id.
    pub fn criterion(&self, id: &str) -> Option<(CriterionPosition, &Criterion)> {
        let pos = *self.index.get(id)?;
        let c = &self.domains[pos.domain].standards[pos.standard].criteria[pos.criterion];
        Some((pos, c))
    }

    /// Every criterion in pack order.
    pub fn criteria(&self) -> impl Iterator<Item = &Criterion> {
        self.domains
            .iter()
            .flat_map(|d| d.standards.iter().flat_map(|s| s.criteria.iter()))
    }

    /// Number of criteria in the pack.
    pub fn criterion_count(&self) -> usize {
        self.index.len()
    }
}

/// The framework packs known to a process, by id and version.
#[derive(Clone, Debug, Default)]
pub struct PackLibrary {
    // Nested maps so a lookup by `&str` allocates nothing: it runs once per visit scored.
    packs: HashMap<String, HashMap<String, FrameworkPack>>,
}

impl PackLibrary {
    /// An empty library.
    pub fn new() -> PackLibrary {
        PackLibrary::default()
    }

    /// Adds a pack; refuses a second, different pack with the same id and version, because a
    /// published version must never change under visits already scored against it.
    pub fn insert(&mut self, pack: FrameworkPack) -> Result<(), LoadError> {
        if self.get(&pack.id, &pack.version).is_some() {
            return Err(LoadError {
                document: DOC,
                problems: vec![crate::load_error::FieldProblem {
                    path: "version".into(),
                    message: format!(
                        "pack `{}` version `{}` is already loaded",
                        pack.id, pack.version
                    ),
                }],
            });
        }
        // A mapping must account for every criterion of the version it follows, or a migrated
        // visit would lose answers; the previous version may also arrive later.
        if let Some(m) = &pack.migration
            && let Some(previous) = self.get(&pack.id, &m.from_version)
        {
            m.routes(previous, &pack)?;
        }
        if let Some(next) = self.successor(&pack.id, &pack.version)
            && let Some(m) = &next.migration
        {
            m.routes(&pack, next)?;
        }
        self.packs
            .entry(pack.id.clone())
            .or_default()
            .insert(pack.version.clone(), pack);
        Ok(())
    }

    /// The pack with this id and version.
    pub fn get(&self, id: &str, version: &str) -> Option<&FrameworkPack> {
        self.packs.get(id)?.get(version)
    }

    /// The version of pack `id` that declares a mapping from `version`, if one is loaded.
    pub fn successor(&self, id: &str, version: &str) -> Option<&FrameworkPack> {
        self.packs.get(id)?.values().find(|p| {
            p.migration
                .as_ref()
                .is_some_and(|m| m.from_version == version)
        })
    }

    /// Every pack, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = &FrameworkPack> {
        self.packs.values().flat_map(|versions| versions.values())
    }
}
