//! A rule set as a form a commissioner fills in: every setting as text keyed by a form field id,
//! money in pounds and thresholds in per cent, read strictly and turned into a [`RuleSet`].
//!
//! One set of rules decides validity: after each field has been read, the rule set's own
//! validation runs, and each problem it reports at a path (`tiers[1].weekly_premium_pence`) is
//! put back on the form field that holds that setting. The layout ([`RuleForm::sections`]) is the
//! one table tying field ids, rule-set paths and labels together; the form, the error mapping and
//! [`crate::rule_diff`] all read it.

use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDate};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::labels::long_date;
use crate::load_error::Problems;
use crate::money::{MoneyError, Pence};
use crate::ratio::Ratio;
use crate::records::{CqcRatingValue, FundingType, KeyQuestion, Priority, QualificationKind};
use crate::scheme::{
    CqcCap, EarlyWarningRules, GateEffect, GateRules, Limiters, PaymentRules, PlanningRules,
    QualificationRules, ReleaseBand, Rescale, RuleSet, SchemeMode, ScoreSource, ScoringRules,
    TierRule, WithholdReleaseRules,
};
use crate::scheme_toml::percent_decimal;

/// At most this many rows in a repeated group (the loader allows 20 tiers).
pub const MAX_ROWS: usize = 20;

/// What a field holds, which decides how it is read, shown and compared.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FieldKind {
    /// Free text.
    Text,
    /// An amount in pounds (`16.00`, `£16`), held in pence.
    Pounds,
    /// An amount in pounds, or blank for none.
    OptionalPounds,
    /// A percentage with up to three decimal places (`72.5`, `85%`).
    Percent,
    /// A whole number of days, weeks, months or steps.
    Whole,
    /// A whole number, or blank for the default the hint names.
    OptionalWhole,
    /// A civil date as day, month and year fields (`{id}-day`, `{id}-month`, `{id}-year`).
    Date,
    /// One of these `(value, label)` options.
    Choice(Vec<(String, String)>),
    /// Any of these `(value, label)` options, held comma-separated.
    Flags(Vec<(String, String)>),
}

/// One field of the form.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldSpec {
    /// The form field id (and HTML id).
    pub id: String,
    /// The rule-set path it sets, as the loader names it: `tiers[1].weekly_premium_pence`.
    pub path: String,
    /// Its label.
    pub label: String,
    /// A hint under the label, or empty.
    pub hint: String,
    /// The row it belongs to (`Tier 2`), for repeated groups.
    pub row: Option<String>,
    /// What it holds.
    pub kind: FieldKind,
    /// What a blank value means, in words.
    pub blank: String,
}

/// First letter in lower case, for a label inside a sentence.
fn lower_first(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f)
            if !s.starts_with("CQC") && !s.starts_with("ISO") && !s.starts_with("Investors") =>
        {
            f.to_lowercase().chain(c).collect()
        }
        _ => s.to_owned(),
    }
}

/// First letter in upper case, for the start of a sentence.
fn upper_first(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

impl FieldSpec {
    /// The field named in words, with its row: "Tier 2 weekly premium".
    pub fn words(&self) -> String {
        match &self.row {
            Some(r) => format!("{r} {}", lower_first(&self.label)),
            None => self.label.clone(),
        }
    }

    /// The id an error summary links to: the first part of a date, the field otherwise.
    pub fn target(&self) -> String {
        match self.kind {
            FieldKind::Date => format!("{}-day", self.id),
            _ => self.id.clone(),
        }
    }

    /// A form value as people read it: `£25.00`, `85%`, an option's label.
    pub fn show(&self, value: &str) -> String {
        let v = value.trim();
        if v.is_empty() && !matches!(self.kind, FieldKind::Flags(_)) {
            return self.blank.clone();
        }
        match &self.kind {
            FieldKind::Text | FieldKind::Whole | FieldKind::OptionalWhole => v.to_owned(),
            FieldKind::Pounds | FieldKind::OptionalPounds => match Pence::parse_pounds(v) {
                Ok(p) => format!("£{}", p.to_pounds_string()),
                Err(_) => v.to_owned(),
            },
            FieldKind::Percent => match parse_percent(v) {
                Some(r) => format!("{}%", percent_decimal(r)),
                None => v.to_owned(),
            },
            FieldKind::Date => v.to_owned(),
            FieldKind::Choice(options) => options
                .iter()
                .find(|(k, _)| k == v)
                .map_or_else(|| v.to_owned(), |(_, l)| l.clone()),
            FieldKind::Flags(options) => {
                let chosen: Vec<&str> = v.split(',').map(str::trim).collect();
                let labels: Vec<&str> = options
                    .iter()
                    .filter(|(k, _)| chosen.contains(&k.as_str()))
                    .map(|(_, l)| l.as_str())
                    .collect();
                if labels.is_empty() {
                    "None".to_owned()
                } else {
                    labels.join(", ")
                }
            }
        }
    }
}

/// A repeated group of rows (tiers, CQC limiters, release bands).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RowGroup {
    /// The group id: the prefix of its fields (`tiers-0-name`) and its anchor.
    pub id: &'static str,
    /// One row in words: "tier".
    pub noun: &'static str,
    /// The rows, each a list of fields.
    pub rows: Vec<Vec<FieldSpec>>,
}

/// A section of the form, under its own heading.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FormSection {
    /// Its anchor.
    pub id: &'static str,
    /// Its heading.
    pub title: &'static str,
    /// A sentence under the heading, or empty.
    pub intro: &'static str,
    /// Its single fields.
    pub fields: Vec<FieldSpec>,
    /// Its repeated rows, if it has any.
    pub group: Option<RowGroup>,
}

impl FormSection {
    /// Every field of the section, rows included, in order.
    pub fn all_fields(&self) -> impl Iterator<Item = &FieldSpec> {
        self.fields
            .iter()
            .chain(self.group.iter().flat_map(|g| g.rows.iter().flatten()))
    }
}

/// A problem with the form, at the field to fix.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FormProblem {
    /// The id to link to (a field, the first part of a date, or a group's anchor).
    pub field: String,
    /// What is wrong, as a sentence.
    pub message: String,
}

/// A rule set as form values, field id → text.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RuleForm {
    values: BTreeMap<String, String>,
}

/// The repeated groups: id, the column whose presence counts a row, the columns.
const GROUPS: [(&str, &[&str]); 3] = [
    ("tiers", &["name", "overall", "domain", "weekly"]),
    ("cqc", &["question", "rating", "cap"]),
    ("bands", &["min", "release"]),
];

fn key<T: Serialize>(v: T) -> String {
    match serde_json::to_value(v) {
        Ok(serde_json::Value::String(s)) => s,
        _ => String::new(),
    }
}

fn from_key<T: DeserializeOwned>(k: &str) -> Option<T> {
    serde_json::from_value(serde_json::Value::String(k.trim().to_owned())).ok()
}

fn options<T: Serialize + Copy>(
    all: &[T],
    label: impl Fn(T) -> &'static str,
) -> Vec<(String, String)> {
    all.iter()
        .map(|v| (key(*v), label(*v).to_owned()))
        .collect()
}

const PRIORITIES: [Priority; 3] = [Priority::High, Priority::Medium, Priority::Low];
const FUNDING: [FundingType; 5] = [
    FundingType::CouncilPermanent,
    FundingType::CouncilShortTerm,
    FundingType::JointFunded,
    FundingType::NhsContinuingHealthcare,
    FundingType::SelfFunded,
];
const QUALIFICATIONS: [QualificationKind; 5] = [
    QualificationKind::IipStandard,
    QualificationKind::IipSilver,
    QualificationKind::IipGold,
    QualificationKind::IipPlatinum,
    QualificationKind::Iso9001,
];
const QUESTIONS: [KeyQuestion; 6] = [
    KeyQuestion::Overall,
    KeyQuestion::Safe,
    KeyQuestion::Effective,
    KeyQuestion::Caring,
    KeyQuestion::Responsive,
    KeyQuestion::WellLed,
];
const RATINGS: [CqcRatingValue; 4] = [
    CqcRatingValue::Inadequate,
    CqcRatingValue::RequiresImprovement,
    CqcRatingValue::Good,
    CqcRatingValue::Outstanding,
];
const GATES: [(&str, &str); 4] = [
    ("s42_enquiry", "Section 42 safeguarding enquiry"),
    ("large_scale_enquiry", "Large-scale safeguarding enquiry"),
    ("placement_embargo", "Placement embargo"),
    ("contract_default", "Contract default notice"),
];

fn gate_options() -> Vec<(String, String)> {
    vec![
        (
            "hold".into(),
            "Hold: the premium accrues and waits for the outcome".into(),
        ),
        (
            "suspend".into(),
            "Suspend: no premium until the sustainability period ends".into(),
        ),
    ]
}

fn yes_no() -> Vec<(String, String)> {
    vec![("false".into(), "No".into()), ("true".into(), "Yes".into())]
}

fn field(id: &str, path: &str, label: &str, hint: &str, kind: FieldKind) -> FieldSpec {
    FieldSpec {
        id: id.to_owned(),
        path: path.to_owned(),
        label: label.to_owned(),
        hint: hint.to_owned(),
        row: None,
        kind,
        blank: "—".to_owned(),
    }
}

fn pounds_text(p: i64) -> String {
    Pence(p).to_pounds_string()
}

/// A percentage as typed: digits with up to three decimals, an optional sign and `%`.
pub fn parse_percent(text: &str) -> Option<Ratio> {
    let t = text.trim();
    let t = t.strip_suffix('%').unwrap_or(t).trim_end();
    let (neg, t) = match t.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, t),
    };
    let (whole, frac) = t.split_once('.').unwrap_or((t, ""));
    if whole.is_empty()
        || whole.len() > 12
        || frac.len() > 3
        || (t.contains('.') && frac.is_empty())
        || !whole.bytes().all(|b| b.is_ascii_digit())
        || !frac.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let mut milli: i128 = whole.parse().ok()?;
    milli *= 1000;
    if !frac.is_empty() {
        let scale = 10i128.pow(3 - frac.len() as u32);
        milli += frac.parse::<i128>().ok()? * scale;
    }
    Ratio::new(if neg { -milli } else { milli }, 1000)
}

impl RuleForm {
    /// A form from submitted pairs; a repeated name (a group of checkboxes) is joined with commas.
    pub fn from_pairs(pairs: impl IntoIterator<Item = (String, String)>) -> RuleForm {
        let mut values: BTreeMap<String, String> = BTreeMap::new();
        for (k, v) in pairs {
            values
                .entry(k)
                .and_modify(|old| {
                    old.push(',');
                    old.push_str(&v);
                })
                .or_insert(v);
        }
        RuleForm { values }
    }

    /// The value of a field, or empty.
    pub fn get(&self, id: &str) -> &str {
        self.values.get(id).map_or("", String::as_str)
    }

    /// Sets a field.
    pub fn set(&mut self, id: &str, value: impl Into<String>) {
        self.values.insert(id.to_owned(), value.into());
    }

    /// The form holding a rule set's settings.
    pub fn from_rule_set(rs: &RuleSet) -> RuleForm {
        let mut f = RuleForm::default();
        f.set("name", &rs.name);
        f.set("version", &rs.version);
        f.set("effective_from-day", rs.effective_from.day().to_string());
        f.set(
            "effective_from-month",
            rs.effective_from.month().to_string(),
        );
        f.set("effective_from-year", rs.effective_from.year().to_string());
        f.set("mode", key(rs.mode));
        f.set("rescale", key(rs.scoring.rescale));
        f.set(
            "max_not_assessed",
            percent_decimal(rs.scoring.max_not_assessed_percent),
        );
        f.set(
            "critical_fail_at_or_below",
            rs.scoring
                .critical_fail_at_or_below
                .map(|n| n.to_string())
                .unwrap_or_default(),
        );
        f.set("critical_failure_cap", &rs.scoring.critical_failure_cap);
        for (i, t) in rs.tiers.iter().enumerate() {
            f.set(&format!("tiers-{i}-name"), &t.name);
            f.set(
                &format!("tiers-{i}-overall"),
                percent_decimal(t.min_overall_percent),
            );
            f.set(
                &format!("tiers-{i}-domain"),
                percent_decimal(t.min_domain_percent),
            );
            f.set(
                &format!("tiers-{i}-weekly"),
                pounds_text(t.weekly_premium_pence),
            );
        }
        let l = &rs.limiters;
        f.set(
            "overdue_priorities",
            join_keys(&l.overdue_action_priorities),
        );
        f.set("overdue_steps", l.overdue_action_tier_steps.to_string());
        f.set("visit_interval", l.annual_visit_interval_months.to_string());
        f.set("visit_grace", l.visit_lapse_grace_months.to_string());
        for (i, c) in l.cqc.iter().enumerate() {
            f.set(&format!("cqc-{i}-question"), key(c.key_question));
            f.set(&format!("cqc-{i}-rating"), key(c.rating));
            f.set(&format!("cqc-{i}-cap"), &c.cap);
        }
        let q = &rs.qualifications;
        for kind in QUALIFICATIONS {
            f.set(
                &format!("qual-{}", key(kind)),
                q.weekly_pence
                    .get(&kind)
                    .map(|p| pounds_text(*p))
                    .unwrap_or_default(),
            );
        }
        f.set("qual_cap", pounds_text(q.weekly_cap_pence));
        f.set("step_up", q.tier_step_up.to_string());
        f.set("backdate_days", q.verification_backdate_days.to_string());
        f.set(
            "surveillance_months",
            q.iso9001_surveillance_months.to_string(),
        );
        let g = &rs.gates;
        for (id, effect) in [
            ("s42_enquiry", g.s42_enquiry),
            ("large_scale_enquiry", g.large_scale_enquiry),
            ("placement_embargo", g.placement_embargo),
            ("contract_default", g.contract_default),
        ] {
            f.set(&format!("gate-{id}"), key(effect));
        }
        f.set("sustainability_weeks", g.sustainability_weeks.to_string());
        let p = &rs.payments;
        f.set("pay_cap", pounds_text(p.weekly_cap_pence));
        f.set("funding", join_keys(&p.eligible_funding));
        f.set("hospital_days", p.hospital_absence_paid_days.to_string());
        let w = &rs.withhold_release;
        f.set("withhold_percent", percent_decimal(w.withhold_percent));
        f.set("score_from", key(w.score_from));
        for (i, b) in w.bands.iter().enumerate() {
            f.set(
                &format!("bands-{i}-min"),
                percent_decimal(b.min_score_percent),
            );
            f.set(
                &format!("bands-{i}-release"),
                percent_decimal(b.release_percent),
            );
        }
        f.set(
            "lookback_days",
            rs.early_warning.tier_drop_lookback_days.to_string(),
        );
        let pl = &rs.planning;
        f.set(
            "follow_up_months",
            pl.follow_up_after_poor_months.to_string(),
        );
        f.set("poor_below", pl.poor_below_percent.to_string());
        f.set(
            "follow_up_priorities",
            join_keys(&pl.follow_up_action_priorities),
        );
        f.set(
            "follow_up_days",
            pl.overdue_action_follow_up_days.to_string(),
        );
        f.set("concern_days", pl.concern_visit_days.to_string());
        f
    }

    /// How many rows a group has.
    pub fn rows(&self, group: &str) -> usize {
        let Some((_, cols)) = GROUPS.iter().find(|(g, _)| *g == group) else {
            return 0;
        };
        (0..)
            .take_while(|i| {
                self.values
                    .contains_key(&format!("{group}-{i}-{}", cols[0]))
            })
            .count()
    }

    /// Adds an empty row at the end of a group (up to [`MAX_ROWS`]).
    pub fn add_row(&mut self, group: &str) {
        let n = self.rows(group);
        if n >= MAX_ROWS {
            return;
        }
        if let Some((_, cols)) = GROUPS.iter().find(|(g, _)| *g == group) {
            for c in cols.iter() {
                self.set(&format!("{group}-{n}-{c}"), "");
            }
        }
    }

    /// Removes row `index` of a group, moving the later rows up.
    pub fn remove_row(&mut self, group: &str, index: usize) {
        let n = self.rows(group);
        let Some((_, cols)) = GROUPS.iter().find(|(g, _)| *g == group) else {
            return;
        };
        if index >= n {
            return;
        }
        for i in index..n - 1 {
            for c in cols.iter() {
                let next = self.get(&format!("{group}-{}-{c}", i + 1)).to_owned();
                self.set(&format!("{group}-{i}-{c}"), next);
            }
        }
        for c in cols.iter() {
            self.values.remove(&format!("{group}-{}-{c}", n - 1));
        }
    }

    /// The tier names typed so far, as the options of a tier cap, with "No tier" last. A value
    /// naming no tier stays an option so that the form shows what was there.
    fn cap_options(&self, current: &str) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = (0..self.rows("tiers"))
            .map(|i| self.get(&format!("tiers-{i}-name")).trim().to_owned())
            .filter(|n| !n.is_empty())
            .map(|n| (n.clone(), n))
            .collect();
        out.push(("none".into(), "No tier".into()));
        let cur = current.trim();
        if !cur.is_empty() && !out.iter().any(|(k, _)| k.eq_ignore_ascii_case(cur)) {
            out.push((cur.to_owned(), cur.to_owned()));
        }
        out
    }

    /// The form's layout: sections, their fields and rows, each tied to its rule-set path.
    pub fn sections(&self) -> Vec<FormSection> {
        use FieldKind::*;
        let tier_rows = (0..self.rows("tiers"))
            .map(|i| {
                let row = Some(format!("Tier {}", i + 1));
                let p = format!("tiers[{i}]");
                vec![
                    field(
                        &format!("tiers-{i}-name"),
                        &format!("{p}.name"),
                        "Name",
                        "",
                        Text,
                    ),
                    field(
                        &format!("tiers-{i}-overall"),
                        &format!("{p}.min_overall_percent"),
                        "Overall score needed (%)",
                        "",
                        Percent,
                    ),
                    field(
                        &format!("tiers-{i}-domain"),
                        &format!("{p}.min_domain_percent"),
                        "Score every domain needs (%)",
                        "",
                        Percent,
                    ),
                    field(
                        &format!("tiers-{i}-weekly"),
                        &format!("{p}.weekly_premium_pence"),
                        "Weekly premium (£)",
                        "",
                        Pounds,
                    ),
                ]
                .into_iter()
                .map(|f| FieldSpec {
                    row: row.clone(),
                    ..f
                })
                .collect()
            })
            .collect();
        let cqc_rows = (0..self.rows("cqc"))
            .map(|i| {
                let row = Some(format!("CQC limiter {}", i + 1));
                let p = format!("limiters.cqc[{i}]");
                let cap = self.get(&format!("cqc-{i}-cap"));
                vec![
                    field(
                        &format!("cqc-{i}-question"),
                        &format!("{p}.key_question"),
                        "CQC rating for",
                        "",
                        Choice(options(&QUESTIONS, KeyQuestion::label)),
                    ),
                    field(
                        &format!("cqc-{i}-rating"),
                        &format!("{p}.rating"),
                        "When rated (or worse)",
                        "",
                        Choice(options(&RATINGS, CqcRatingValue::label)),
                    ),
                    field(
                        &format!("cqc-{i}-cap"),
                        &format!("{p}.cap"),
                        "Allows at most",
                        "",
                        Choice(self.cap_options(cap)),
                    ),
                ]
                .into_iter()
                .map(|f| FieldSpec {
                    row: row.clone(),
                    ..f
                })
                .collect()
            })
            .collect();
        let band_rows = (0..self.rows("bands"))
            .map(|i| {
                let row = Some(format!("Release band {}", i + 1));
                let p = format!("withhold_release.bands[{i}]");
                vec![
                    field(
                        &format!("bands-{i}-min"),
                        &format!("{p}.min_score_percent"),
                        "Overall score needed (%)",
                        "",
                        Percent,
                    ),
                    field(
                        &format!("bands-{i}-release"),
                        &format!("{p}.release_percent"),
                        "Share of the withheld amount released (%)",
                        "",
                        Percent,
                    ),
                ]
                .into_iter()
                .map(|f| FieldSpec {
                    row: row.clone(),
                    ..f
                })
                .collect()
            })
            .collect();
        let mut critical = field(
            "critical_fail_at_or_below",
            "scoring.critical_fail_at_or_below",
            "A critical criterion fails at or below this score",
            "Leave blank to use each criterion's scale minimum",
            OptionalWhole,
        );
        critical.blank = "The scale minimum".into();
        let qualification_fields = QUALIFICATIONS.iter().map(|k| {
            let mut f = field(
                &format!("qual-{}", key(*k)),
                &format!("qualifications.weekly_pence.{}", key(*k)),
                &format!("{}, a week (£)", k.label()),
                "",
                OptionalPounds,
            );
            f.blank = "Nothing".into();
            f
        });
        vec![
            FormSection {
                id: "about",
                title: "Version and start date",
                intro: "",
                fields: vec![
                    field("name", "name", "Name of the scheme", "", Text),
                    field(
                        "version",
                        "version",
                        "Version",
                        "A label no other rule set uses, for example 2027.1",
                        Text,
                    ),
                    field(
                        "effective_from",
                        "effective_from",
                        "Start date",
                        "The first day it applies. Rules never apply to the past, so adopting needs a day after today. For example, 1 4 2027",
                        Date,
                    ),
                    field(
                        "mode",
                        "mode",
                        "How the scheme pays",
                        "Withhold and release applies only to the contracts recorded",
                        Choice(options(
                            &[SchemeMode::Premium, SchemeMode::WithholdRelease, SchemeMode::Both],
                            SchemeMode::label,
                        )),
                    ),
                ],
                group: None,
            },
            FormSection {
                id: "scoring",
                title: "Scoring",
                intro: "",
                fields: vec![
                    field(
                        "rescale",
                        "scoring.rescale",
                        "How scores become percentages",
                        "",
                        Choice(vec![
                            ("shift".into(), "Shift: the lowest score is 0%".into()),
                            (
                                "ratio".into(),
                                "Ratio: score ÷ highest score, as CQC does".into(),
                            ),
                        ]),
                    ),
                    field(
                        "max_not_assessed",
                        "scoring.max_not_assessed_percent",
                        "Inconclusive threshold (%)",
                        "A visit with more than this share of criteria not assessed is inconclusive and cannot set a tier",
                        Percent,
                    ),
                    critical,
                    field(
                        "critical_failure_cap",
                        "scoring.critical_failure_cap",
                        "A failed critical criterion allows at most",
                        "",
                        Choice(self.cap_options(self.get("critical_failure_cap"))),
                    ),
                ],
                group: None,
            },
            FormSection {
                id: "tiers",
                title: "Tiers",
                intro: "Best first. A location needs both the overall score and the score in every domain.",
                fields: vec![],
                group: Some(RowGroup {
                    id: "tiers",
                    noun: "tier",
                    rows: tier_rows,
                }),
            },
            FormSection {
                id: "limiters",
                title: "Limiters",
                intro: "Applied after the score. A CQC rating can cap the tier.",
                fields: vec![
                    field(
                        "overdue_priorities",
                        "limiters.overdue_action_priorities",
                        "Overdue actions that cost a tier",
                        "",
                        Flags(options(&PRIORITIES, Priority::label)),
                    ),
                    field(
                        "overdue_steps",
                        "limiters.overdue_action_tier_steps",
                        "Tiers an overdue action costs",
                        "",
                        Whole,
                    ),
                    field(
                        "visit_interval",
                        "limiters.annual_visit_interval_months",
                        "Months between annual visits",
                        "",
                        Whole,
                    ),
                    field(
                        "visit_grace",
                        "limiters.visit_lapse_grace_months",
                        "Months overdue before the tier lapses",
                        "The tier lapses when the annual visit is overdue by more than this",
                        Whole,
                    ),
                ],
                group: Some(RowGroup {
                    id: "cqc",
                    noun: "CQC limiter",
                    rows: cqc_rows,
                }),
            },
            FormSection {
                id: "qualifications",
                title: "Qualifications",
                intro: "Weekly amounts added to a tier while a qualification is valid. Leave an amount blank if it earns nothing.",
                fields: qualification_fields
                    .chain([
                        field(
                            "qual_cap",
                            "qualifications.weekly_cap_pence",
                            "Cap on qualification amounts, a week (£)",
                            "",
                            Pounds,
                        ),
                        field(
                            "step_up",
                            "qualifications.tier_step_up",
                            "A valid qualification also lifts the tier one step",
                            "Never from no tier: the approved standard is met on quality alone",
                            Choice(yes_no()),
                        ),
                        field(
                            "backdate_days",
                            "qualifications.verification_backdate_days",
                            "Days after issue within which verification counts from the issue date",
                            "",
                            Whole,
                        ),
                        field(
                            "surveillance_months",
                            "qualifications.iso9001_surveillance_months",
                            "Months within which ISO 9001 needs a surveillance audit",
                            "",
                            Whole,
                        ),
                    ])
                    .collect(),
                group: None,
            },
            FormSection {
                id: "gates",
                title: "Gates",
                intro: "What each gate does to the premium while it is open.",
                fields: GATES
                    .iter()
                    .map(|(id, label)| {
                        field(
                            &format!("gate-{id}"),
                            &format!("gates.{id}"),
                            label,
                            "",
                            Choice(gate_options()),
                        )
                    })
                    .chain([field(
                        "sustainability_weeks",
                        "gates.sustainability_weeks",
                        "Sustainability period (weeks)",
                        "A suspended premium resumes this many weeks after the gate closes",
                        Whole,
                    )])
                    .collect(),
                group: None,
            },
            FormSection {
                id: "payments",
                title: "Payments",
                intro: "",
                fields: vec![
                    field(
                        "pay_cap",
                        "payments.weekly_cap_pence",
                        "Weekly cap on tier and qualification amounts (£)",
                        "",
                        Pounds,
                    ),
                    field(
                        "funding",
                        "payments.eligible_funding",
                        "Funding that earns a premium",
                        "",
                        Flags(options(&FUNDING, FundingType::label)),
                    ),
                    field(
                        "hospital_days",
                        "payments.hospital_absence_paid_days",
                        "Days of a hospital stay still paid",
                        "",
                        Whole,
                    ),
                ],
                group: None,
            },
            FormSection {
                id: "withhold",
                title: "Withhold and release",
                intro: "Used when the scheme withholds part of the contract value. Bands highest score first.",
                fields: vec![
                    field(
                        "withhold_percent",
                        "withhold_release.withhold_percent",
                        "Share of contract value withheld (%)",
                        "",
                        Percent,
                    ),
                    field(
                        "score_from",
                        "withhold_release.score_from",
                        "Score that decides a period's release",
                        "",
                        Choice(vec![
                            (
                                "latest_visit_in_period".into(),
                                "The latest visit published within the period (none: nothing released)".into(),
                            ),
                            (
                                "latest_visit".into(),
                                "The latest visit published by the period's end".into(),
                            ),
                        ]),
                    ),
                ],
                group: Some(RowGroup {
                    id: "bands",
                    noun: "release band",
                    rows: band_rows,
                }),
            },
            FormSection {
                id: "warning",
                title: "Early warning",
                intro: "",
                fields: vec![field(
                    "lookback_days",
                    "early_warning.tier_drop_lookback_days",
                    "Days to look back for a dropped tier",
                    "A tier lower than it was this many days ago counts as dropped",
                    Whole,
                )],
                group: None,
            },
            FormSection {
                id: "planning",
                title: "Visit planning",
                intro: "When visits fall due beyond the annual visit.",
                fields: vec![
                    field(
                        "follow_up_months",
                        "planning.follow_up_after_poor_months",
                        "Months after a poor visit that a follow-up is due",
                        "",
                        Whole,
                    ),
                    field(
                        "poor_below",
                        "planning.poor_below_percent",
                        "A visit is poor below this overall score (%)",
                        "A whole number",
                        Whole,
                    ),
                    field(
                        "follow_up_priorities",
                        "planning.follow_up_action_priorities",
                        "Overdue actions that call for a follow-up visit",
                        "",
                        Flags(options(&PRIORITIES, Priority::label)),
                    ),
                    field(
                        "follow_up_days",
                        "planning.overdue_action_follow_up_days",
                        "Days after such an action is overdue that the follow-up is due",
                        "",
                        Whole,
                    ),
                    field(
                        "concern_days",
                        "planning.concern_visit_days",
                        "Days after a gate opens that a concern-led visit is due",
                        "",
                        Whole,
                    ),
                ],
                group: None,
            },
        ]
    }

    /// The field a rule-set path belongs to, for putting a loader's problem on the form: the
    /// field itself, else the group or section whose path is a prefix of it.
    pub fn target_for_path(sections: &[FormSection], path: &str) -> Option<(String, String)> {
        let mut fields = sections.iter().flat_map(FormSection::all_fields);
        if let Some(f) = fields.find(|f| f.path == path) {
            return Some((f.target(), f.words()));
        }
        // A whole group ("tiers": at least one tier) links to the group.
        let group = match path {
            "tiers" => Some(("tiers", "Tiers")),
            "limiters.cqc" => Some(("cqc", "CQC limiters")),
            "withhold_release.bands" => Some(("bands", "Release bands")),
            _ => None,
        };
        group.map(|(id, words)| (id.to_owned(), words.to_owned()))
    }

    /// Reads the form into a rule set, checked by the rule set's own validation; every problem
    /// is reported at its field.
    pub fn to_rule_set(&self) -> Result<RuleSet, Vec<FormProblem>> {
        let sections = self.sections();
        let mut r = Reader {
            form: self,
            specs: sections
                .iter()
                .flat_map(FormSection::all_fields)
                .map(|f| (f.id.clone(), f.clone()))
                .collect(),
            problems: Vec::new(),
        };
        let effective_from = r.date("effective_from");
        let tiers = (0..self.rows("tiers"))
            .map(|i| TierRule {
                name: r.text(&format!("tiers-{i}-name")),
                min_overall_percent: r.percent(&format!("tiers-{i}-overall")),
                min_domain_percent: r.percent(&format!("tiers-{i}-domain")),
                weekly_premium_pence: r.pounds(&format!("tiers-{i}-weekly")),
            })
            .collect();
        let cqc = (0..self.rows("cqc"))
            .map(|i| CqcCap {
                key_question: r.choice(&format!("cqc-{i}-question"), KeyQuestion::Overall),
                rating: r.choice(&format!("cqc-{i}-rating"), CqcRatingValue::Inadequate),
                cap: r.text(&format!("cqc-{i}-cap")),
            })
            .collect();
        let bands = (0..self.rows("bands"))
            .map(|i| ReleaseBand {
                min_score_percent: r.percent(&format!("bands-{i}-min")),
                release_percent: r.percent(&format!("bands-{i}-release")),
            })
            .collect();
        let mut weekly_pence = BTreeMap::new();
        for kind in QUALIFICATIONS {
            if let Some(p) = r.optional_pounds(&format!("qual-{}", key(kind))) {
                weekly_pence.insert(kind, p);
            }
        }
        let rs = RuleSet {
            name: r.text("name"),
            version: r.text("version"),
            effective_from,
            mode: r.choice("mode", SchemeMode::Premium),
            scoring: ScoringRules {
                rescale: r.choice("rescale", Rescale::Shift),
                max_not_assessed_percent: r.percent("max_not_assessed"),
                critical_fail_at_or_below: r.optional_whole("critical_fail_at_or_below"),
                critical_failure_cap: r.text("critical_failure_cap"),
            },
            tiers,
            limiters: Limiters {
                cqc,
                overdue_action_priorities: r.flags("overdue_priorities"),
                overdue_action_tier_steps: r.whole("overdue_steps"),
                annual_visit_interval_months: r.whole("visit_interval"),
                visit_lapse_grace_months: r.whole("visit_grace"),
            },
            qualifications: QualificationRules {
                weekly_pence,
                weekly_cap_pence: r.pounds("qual_cap"),
                tier_step_up: r.yes_no("step_up"),
                verification_backdate_days: r.whole("backdate_days"),
                iso9001_surveillance_months: r.whole("surveillance_months"),
            },
            gates: GateRules {
                s42_enquiry: r.choice("gate-s42_enquiry", GateEffect::Hold),
                large_scale_enquiry: r.choice("gate-large_scale_enquiry", GateEffect::Suspend),
                placement_embargo: r.choice("gate-placement_embargo", GateEffect::Suspend),
                contract_default: r.choice("gate-contract_default", GateEffect::Suspend),
                sustainability_weeks: r.whole("sustainability_weeks"),
            },
            payments: PaymentRules {
                weekly_cap_pence: r.pounds("pay_cap"),
                eligible_funding: r.flags("funding"),
                hospital_absence_paid_days: r.whole("hospital_days"),
            },
            withhold_release: WithholdReleaseRules {
                withhold_percent: r.percent("withhold_percent"),
                bands,
                score_from: r.choice("score_from", ScoreSource::LatestVisitInPeriod),
            },
            early_warning: EarlyWarningRules {
                tier_drop_lookback_days: r.whole("lookback_days"),
            },
            planning: PlanningRules {
                follow_up_after_poor_months: r.whole("follow_up_months"),
                poor_below_percent: r.whole("poor_below"),
                follow_up_action_priorities: r.flags("follow_up_priorities"),
                overdue_action_follow_up_days: r.whole("follow_up_days"),
                concern_visit_days: r.whole("concern_days"),
            },
        };
        let mut problems = r.problems;
        if problems.is_empty() {
            let mut p = Problems::default();
            rs.validate(&mut p);
            problems =
                p.0.into_iter()
                    .map(|problem| loader_problem(&sections, &problem.path, &problem.message))
                    .collect();
        }
        if problems.is_empty() {
            return Ok(rs);
        }
        // The error summary lists problems in the order of the form, as people read it.
        let order: Vec<String> = sections
            .iter()
            .flat_map(|s| {
                std::iter::once(s.id.to_owned())
                    .chain(s.fields.iter().map(FieldSpec::target))
                    .chain(s.group.iter().flat_map(|g| {
                        std::iter::once(g.id.to_owned())
                            .chain(g.rows.iter().flatten().map(FieldSpec::target))
                    }))
            })
            .collect();
        problems.sort_by_key(|p| order.iter().position(|o| *o == p.field));
        Err(problems)
    }
}

/// A loader's problem at a path, put on its form field in words.
pub fn loader_problem(sections: &[FormSection], path: &str, message: &str) -> FormProblem {
    match RuleForm::target_for_path(sections, path) {
        Some((field, words)) => FormProblem {
            field,
            message: if message.starts_with("must") {
                format!("{words} {message}")
            } else {
                format!("{words}: {message}")
            },
        },
        // Every path validation names has a field (a unit test holds it to that); should one
        // appear without, the problem still shows, on the first field, with its path.
        None => FormProblem {
            field: "name".to_owned(),
            message: format!("{path}: {message}"),
        },
    }
}

fn join_keys<T: Serialize + Copy>(vs: &[T]) -> String {
    vs.iter().map(|v| key(*v)).collect::<Vec<_>>().join(",")
}

/// Reads fields, collecting a problem for each that does not read. A field that fails gives a
/// placeholder so the rest can still be read and reported; the placeholders are never used,
/// because any problem makes the whole read fail.
struct Reader<'a> {
    form: &'a RuleForm,
    specs: BTreeMap<String, FieldSpec>,
    problems: Vec<FormProblem>,
}

impl Reader<'_> {
    fn words(&self, id: &str) -> String {
        self.specs
            .get(id)
            .map_or_else(|| id.to_owned(), FieldSpec::words)
    }

    fn fail(&mut self, id: &str, message: String) {
        let field = self
            .specs
            .get(id)
            .map_or_else(|| id.to_owned(), FieldSpec::target);
        self.problems.push(FormProblem { field, message });
    }

    fn text(&mut self, id: &str) -> String {
        self.form.get(id).trim().to_owned()
    }

    fn pounds(&mut self, id: &str) -> i64 {
        match Pence::parse_pounds(self.form.get(id)) {
            Ok(p) => p.0,
            Err(e) => {
                let words = self.words(id);
                let message = match e {
                    MoneyError::Empty => format!("Enter {}", lower_first(&words)),
                    MoneyError::Format => format!(
                        "{} must be an amount in pounds, like 16.00 or £16",
                        upper_first(&words)
                    ),
                    MoneyError::TooLarge => format!("{} is too large", upper_first(&words)),
                };
                self.fail(id, message);
                0
            }
        }
    }

    fn optional_pounds(&mut self, id: &str) -> Option<i64> {
        if self.form.get(id).trim().is_empty() {
            None
        } else {
            Some(self.pounds(id))
        }
    }

    fn percent(&mut self, id: &str) -> Ratio {
        let text = self.form.get(id);
        if text.trim().is_empty() {
            let m = format!("Enter {}", lower_first(&self.words(id)));
            self.fail(id, m);
            return Ratio::ZERO;
        }
        match parse_percent(text) {
            Some(r) => r,
            None => {
                let m = format!(
                    "{} must be a percentage with up to 3 decimal places, like 72.5",
                    upper_first(&self.words(id))
                );
                self.fail(id, m);
                Ratio::ZERO
            }
        }
    }

    fn whole<T: std::str::FromStr + Default>(&mut self, id: &str) -> T {
        let text = self.form.get(id).trim();
        let parsed = if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
            None
        } else {
            text.parse::<T>().ok()
        };
        match parsed {
            Some(v) => v,
            None => {
                let m = if text.is_empty() {
                    format!("Enter {}", lower_first(&self.words(id)))
                } else if text.bytes().all(|b| b.is_ascii_digit()) {
                    format!("{} is too large", upper_first(&self.words(id)))
                } else {
                    format!(
                        "{} must be a whole number, like 12",
                        upper_first(&self.words(id))
                    )
                };
                self.fail(id, m);
                T::default()
            }
        }
    }

    fn optional_whole(&mut self, id: &str) -> Option<i32> {
        let text = self.form.get(id).trim();
        if text.is_empty() {
            return None;
        }
        let digits = text.strip_prefix('-').unwrap_or(text);
        match (!digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()))
            .then(|| text.parse::<i32>().ok())
            .flatten()
        {
            Some(v) => Some(v),
            None => {
                let m = format!(
                    "{} must be a whole number, or blank",
                    upper_first(&self.words(id))
                );
                self.fail(id, m);
                None
            }
        }
    }

    fn choice<T: DeserializeOwned>(&mut self, id: &str, placeholder: T) -> T {
        match from_key(self.form.get(id)) {
            Some(v) => v,
            None => {
                let m = format!("Choose {}", lower_first(&self.words(id)));
                self.fail(id, m);
                placeholder
            }
        }
    }

    fn yes_no(&mut self, id: &str) -> bool {
        match self.form.get(id).trim() {
            "true" => true,
            "false" => false,
            _ => {
                let m = format!("Choose whether {}", lower_first(&self.words(id)));
                self.fail(id, m);
                false
            }
        }
    }

    fn flags<T: DeserializeOwned + PartialEq>(&mut self, id: &str) -> Vec<T> {
        let mut out = Vec::new();
        for part in self.form.get(id).split(',').map(str::trim) {
            if part.is_empty() {
                continue;
            }
            match from_key::<T>(part) {
                Some(v) if !out.contains(&v) => out.push(v),
                Some(_) => {}
                None => {
                    let m = format!("Choose {} from the list", lower_first(&self.words(id)));
                    self.fail(id, m);
                    return Vec::new();
                }
            }
        }
        out
    }

    fn date(&mut self, id: &str) -> NaiveDate {
        let part = |p: &str| self.form.get(&format!("{id}-{p}")).trim().to_owned();
        let (d, m, y) = (part("day"), part("month"), part("year"));
        let words = lower_first(&self.words(id));
        if d.is_empty() && m.is_empty() && y.is_empty() {
            self.fail(id, format!("Enter the {words}"));
            return NaiveDate::MIN;
        }
        let number = |s: &str| {
            (!s.is_empty() && s.len() <= 4 && s.bytes().all(|b| b.is_ascii_digit()))
                .then(|| s.parse::<i32>().ok())
                .flatten()
        };
        let date = match (number(&d), number(&m), number(&y)) {
            (Some(d), Some(m), Some(y)) if (1900..=2200).contains(&y) => {
                NaiveDate::from_ymd_opt(y, m as u32, d as u32)
            }
            _ => None,
        };
        match date {
            Some(date) => date,
            None => {
                self.fail(
                    id,
                    format!("The {words} must be a real date, like 1 4 2027"),
                );
                NaiveDate::MIN
            }
        }
    }
}

/// A date for people, as the form's summary shows it.
pub fn date_words(form: &RuleForm, id: &str) -> String {
    let part = |p: &str| form.get(&format!("{id}-{p}")).trim().parse::<u32>().ok();
    match (part("day"), part("month"), part("year")) {
        (Some(d), Some(m), Some(y)) => NaiveDate::from_ymd_opt(y as i32, m, d)
            .map_or_else(|| format!("{d} {m} {y}"), long_date),
        _ => "—".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHIPPED: [&str; 2] = [
        include_str!("../../assets/schemes/blackpool-style.toml"),
        include_str!("../../assets/schemes/blackpool-style-2024.toml"),
    ];

    fn shipped() -> RuleSet {
        RuleSet::from_toml(SHIPPED[0]).unwrap()
    }

    #[test]
    fn shipped_schemes_round_trip_through_the_form() {
        for text in SHIPPED {
            let rs = RuleSet::from_toml(text).unwrap();
            let form = RuleForm::from_rule_set(&rs);
            assert_eq!(form.to_rule_set().unwrap(), rs);
            // And through submitted pairs, as a browser sends them.
            let pairs: Vec<(String, String)> = form
                .values
                .iter()
                .flat_map(|(k, v)| {
                    if matches!(
                        k.as_str(),
                        "overdue_priorities" | "funding" | "follow_up_priorities"
                    ) {
                        v.split(',')
                            .filter(|s| !s.is_empty())
                            .map(|s| (k.clone(), s.to_owned()))
                            .collect::<Vec<_>>()
                    } else {
                        vec![(k.clone(), v.clone())]
                    }
                })
                .collect();
            assert_eq!(RuleForm::from_pairs(pairs).to_rule_set().unwrap(), rs);
        }
    }

    #[test]
    fn pounds_and_percents_are_read_strictly() {
        let mut f = RuleForm::from_rule_set(&shipped());
        f.set("tiers-0-weekly", "£26");
        f.set("tiers-1-weekly", "20.5");
        f.set("tiers-0-overall", "85.125%");
        let rs = f.to_rule_set().unwrap();
        assert_eq!(rs.tiers[0].weekly_premium_pence, 2600);
        assert_eq!(rs.tiers[1].weekly_premium_pence, 2050);
        assert_eq!(
            rs.tiers[0].min_overall_percent,
            Ratio::new(85_125, 1000).unwrap()
        );
        for bad in ["16.001", "-5", "16,00", "£", "sixteen", "1e3"] {
            f.set("tiers-2-weekly", bad);
            let problems = f.to_rule_set().unwrap_err();
            assert_eq!(problems.len(), 1, "{bad}: {problems:?}");
            assert_eq!(problems[0].field, "tiers-2-weekly");
            assert!(
                problems[0].message.contains("ier 3 weekly premium"),
                "{problems:?}"
            );
        }
        f.set("tiers-2-weekly", "15");
        for bad in ["72.1234", "abc", "7.", ".5", "1,0"] {
            f.set("max_not_assessed", bad);
            let problems = f.to_rule_set().unwrap_err();
            assert_eq!(problems[0].field, "max_not_assessed", "{bad}");
        }
        assert_eq!(parse_percent("-2.5"), Ratio::new(-5, 2));
        assert_eq!(parse_percent(" 10 % "), Some(Ratio::integer(10)));
    }

    #[test]
    fn a_bad_date_and_a_missing_choice_point_at_their_fields() {
        let mut f = RuleForm::from_rule_set(&shipped());
        f.set("effective_from-day", "31");
        f.set("effective_from-month", "2");
        f.set("gate-s42_enquiry", "maybe");
        f.set("visit_grace", "two");
        f.set("overdue_steps", "300");
        let fields: Vec<String> = f
            .to_rule_set()
            .unwrap_err()
            .into_iter()
            .map(|p| p.field)
            .collect();
        assert_eq!(
            fields,
            [
                "effective_from-day",
                "overdue_steps",
                "visit_grace",
                "gate-s42_enquiry"
            ]
        );
        let mut f = RuleForm::from_rule_set(&shipped());
        f.set("overdue_steps", "300");
        assert_eq!(
            f.to_rule_set().unwrap_err()[0].message,
            "Tiers an overdue action costs is too large"
        );
    }

    #[test]
    fn every_validation_path_maps_to_a_field() {
        // A rule set breaking every rule `validate` has.
        let mut rs = shipped();
        rs.name = " ".into();
        rs.version = String::new();
        rs.scoring.max_not_assessed_percent = Ratio::integer(101);
        rs.scoring.critical_failure_cap = "Platinum".into();
        rs.tiers[0].name = "none".into();
        rs.tiers[1].name = "Bronze".into();
        rs.tiers[0].min_overall_percent = Ratio::integer(-1);
        rs.tiers[0].min_domain_percent = Ratio::integer(200);
        rs.tiers[0].weekly_premium_pence = -1;
        rs.tiers[2].weekly_premium_pence = 99_999;
        rs.limiters.cqc[0].cap = "Diamond".into();
        rs.planning.follow_up_after_poor_months = 0;
        rs.planning.poor_below_percent = 101;
        rs.limiters.annual_visit_interval_months = 0;
        rs.qualifications
            .weekly_pence
            .insert(QualificationKind::Iso9001, -5);
        rs.qualifications.weekly_cap_pence = -1;
        rs.qualifications.iso9001_surveillance_months = 0;
        rs.payments.weekly_cap_pence = -1;
        rs.withhold_release.withhold_percent = Ratio::integer(-3);
        rs.withhold_release.bands[0].min_score_percent = Ratio::integer(101);
        rs.withhold_release.bands[1].release_percent = Ratio::integer(101);
        rs.withhold_release.bands[1].min_score_percent = Ratio::integer(100);
        let mut p = Problems::default();
        rs.validate(&mut p);
        let mut empty = rs.clone();
        empty.tiers.clear();
        empty.validate(&mut p);
        assert!(p.0.len() >= 20, "{:?}", p.0);
        let form = RuleForm::from_rule_set(&rs);
        let sections = form.sections();
        let ids: Vec<String> = sections
            .iter()
            .flat_map(|s| {
                s.all_fields()
                    .map(FieldSpec::target)
                    .chain([s.id.to_owned()])
            })
            .chain(["cqc".to_owned(), "bands".to_owned()])
            .collect();
        for problem in &p.0 {
            let (target, _) = RuleForm::target_for_path(&sections, &problem.path)
                .unwrap_or_else(|| panic!("no field for {}", problem.path));
            assert!(ids.contains(&target), "{} → {target}", problem.path);
        }
        // And the form reports them at those fields, in words, in the order of the form.
        let mut rs = shipped();
        rs.tiers[2].weekly_premium_pence = 99_999;
        rs.scoring.critical_failure_cap = "Platinum".into();
        let problems = RuleForm::from_rule_set(&rs).to_rule_set().unwrap_err();
        assert_eq!(
            problems,
            [
                FormProblem {
                    field: "critical_failure_cap".into(),
                    message: "A failed critical criterion allows at most: unknown tier `Platinum`".into()
                },
                FormProblem {
                    field: "tiers-2-weekly".into(),
                    message: "Tier 3 weekly premium (£): tiers are listed best first: a lower tier cannot pay more".into()
                },
            ]
        );
    }

    #[test]
    fn rows_are_added_and_removed_without_losing_the_others() {
        let mut f = RuleForm::from_rule_set(&shipped());
        assert_eq!(f.rows("tiers"), 3);
        f.add_row("tiers");
        assert_eq!(f.rows("tiers"), 4);
        f.set("tiers-3-name", "Copper");
        f.remove_row("tiers", 1);
        assert_eq!(f.rows("tiers"), 3);
        assert_eq!(f.get("tiers-1-name"), "Bronze");
        assert_eq!(f.get("tiers-2-name"), "Copper");
        for _ in 0..30 {
            f.add_row("bands");
        }
        assert_eq!(f.rows("bands"), MAX_ROWS);
        f.remove_row("nothing", 0);
        f.remove_row("tiers", 9);
        assert_eq!(f.rows("tiers"), 3);
    }
}
