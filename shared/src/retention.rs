//! Records retention as data: how long each kind of record is kept, in versions that take effect
//! on a day, so a council can change its schedule without a new build. The server applies the
//! version in force on the day its job runs; everything here is pure calendar arithmetic.

use std::collections::BTreeSet;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::calendar::{add_days, add_months};
use crate::load_error::{LoadError, Problems, parse_toml};

const DOC: &str = "retention schedule";

/// A length of time in calendar terms. Years and months are added as calendar months (so
/// 29 February plus one year is 28 February), then days.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Period {
    /// Whole years.
    pub years: u32,
    /// Whole months.
    pub months: u32,
    /// Days.
    pub days: u32,
}

impl Period {
    /// The last day of the period that starts the day after `start`: the day a record counted
    /// from `start` expires (and may be removed).
    pub fn after(&self, start: NaiveDate) -> NaiveDate {
        let months = self.years.saturating_mul(12).saturating_add(self.months);
        add_days(add_months(start, months), i64::from(self.days))
    }

    /// The latest start whose period has run out by `today` (`after(start) <= today`): records
    /// counted from this day or earlier have expired.
    pub fn expired_by(&self, today: NaiveDate) -> NaiveDate {
        // `after` never decreases as the start moves on, so walk from a start surely expired.
        let span = i64::from(self.years) * 366 + i64::from(self.months) * 31 + i64::from(self.days);
        let mut start = add_days(today, -span - 1);
        while self.after(start) > today {
            start = add_days(start, -1);
        }
        while self.after(add_days(start, 1)) <= today && add_days(start, 1) > start {
            start = add_days(start, 1);
        }
        start
    }

    /// Whether the period is empty (nothing would be kept at all).
    pub fn is_zero(&self) -> bool {
        self.years == 0 && self.months == 0 && self.days == 0
    }

    /// The period in words, e.g. "6 years" or "1 year, 2 days".
    pub fn describe(&self) -> String {
        let part = |n: u32, one: &str, many: &str| match n {
            0 => None,
            1 => Some(format!("1 {one}")),
            n => Some(format!("{n} {many}")),
        };
        let parts: Vec<String> = [
            part(self.years, "year", "years"),
            part(self.months, "month", "months"),
            part(self.days, "day", "days"),
        ]
        .into_iter()
        .flatten()
        .collect();
        if parts.is_empty() {
            "no time".to_owned()
        } else {
            parts.join(", ")
        }
    }

    /// Whether this period is never shorter than `other` from any start: compared over a leap
    /// cycle of starts, since month arithmetic clamps at month ends.
    fn at_least(&self, other: &Period) -> bool {
        let Some(first) = NaiveDate::from_ymd_opt(2023, 1, 1) else {
            return false;
        };
        (0..4 * 366).all(|d| {
            let start = add_days(first, d);
            self.after(start) >= other.after(start)
        })
    }
}

/// One version of the retention schedule.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetentionRule {
    /// Its name, as audit entries and tombstones cite it (e.g. `2026.1`).
    pub version: String,
    /// The first day it applies.
    #[serde(with = "crate::calendar::strict_date")]
    pub effective_from: NaiveDate,
    /// A published visit's document (its history, notes, evidence and photos), comments and
    /// action responses: counted from the visit's latest publication.
    pub visit_records: Period,
    /// A visit never published (a draft, or signed off and never published): counted from the
    /// document's last change.
    pub unpublished_visits: Period,
    /// Stored determinations and their explanations.
    pub determinations: Period,
    /// Issued payment runs.
    pub payment_runs: Period,
}

/// Every version of the schedule, oldest first.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetentionRules {
    /// The versions.
    pub rules: Vec<RetentionRule>,
}

impl RetentionRules {
    /// Parses and validates the schedule; every problem is reported with its field path.
    pub fn from_toml(text: &str) -> Result<RetentionRules, LoadError> {
        let rules: RetentionRules = parse_toml(DOC, text)?;
        RetentionRules::new(rules.rules)
    }

    /// Validates versions read from elsewhere (the database), as [`RetentionRules::from_toml`].
    pub fn new(rules: Vec<RetentionRule>) -> Result<RetentionRules, LoadError> {
        let mut rules = RetentionRules { rules };
        let mut p = Problems::default();
        if rules.rules.is_empty() {
            p.add("rules", "must hold at least one version");
        }
        let mut versions = BTreeSet::new();
        let mut days = BTreeSet::new();
        for (i, r) in rules.rules.iter().enumerate() {
            let path = format!("rules[{i}]");
            if r.version.trim().is_empty() {
                p.add(format!("{path}.version"), "must not be empty");
            } else if !versions.insert(r.version.trim()) {
                p.add(
                    format!("{path}.version"),
                    format!("version {} appears twice", r.version.trim()),
                );
            }
            if !days.insert(r.effective_from) {
                p.add(
                    format!("{path}.effective_from"),
                    format!("two versions take effect on {}", r.effective_from),
                );
            }
            for (field, period) in [
                ("visit_records", &r.visit_records),
                ("unpublished_visits", &r.unpublished_visits),
                ("determinations", &r.determinations),
                ("payment_runs", &r.payment_runs),
            ] {
                if period.is_zero() {
                    p.add(
                        format!("{path}.{field}"),
                        "must keep records for some time (years, months or days)",
                    );
                }
            }
            // A determination names the visit it rests on, and a payment run the
            // determinations: the evidence behind a decision never outlives the decision.
            if !r.determinations.at_least(&r.visit_records) {
                p.add(
                    format!("{path}.determinations"),
                    "must be at least as long as visit_records",
                );
            }
            if !r.payment_runs.at_least(&r.determinations) {
                p.add(
                    format!("{path}.payment_runs"),
                    "must be at least as long as determinations",
                );
            }
        }
        rules.rules.sort_by_key(|r| r.effective_from);
        p.into_result(DOC, rules)
    }

    /// The schedule with one more version, validated whole (the new version first, so its own
    /// fields' problems are reported at `rules[0]…`).
    pub fn with(&self, added: RetentionRule) -> Result<RetentionRules, LoadError> {
        let mut all = vec![added];
        all.extend(self.rules.iter().cloned());
        RetentionRules::new(all)
    }

    /// One version written as the TOML `from_toml` reads (a `[[rules]]` table).
    pub fn version_toml(r: &RetentionRule) -> String {
        let period = |p: &Period| {
            format!(
                "{{ years = {}, months = {}, days = {} }}",
                p.years, p.months, p.days
            )
        };
        format!(
            "[[rules]]\nversion = {:?}\neffective_from = \"{}\"\nvisit_records = {}\nunpublished_visits = {}\ndeterminations = {}\npayment_runs = {}\n",
            r.version,
            r.effective_from,
            period(&r.visit_records),
            period(&r.unpublished_visits),
            period(&r.determinations),
            period(&r.payment_runs)
        )
    }

    /// The version in force on `day`, if any has taken effect yet.
    pub fn in_force(&self, day: NaiveDate) -> Option<&RetentionRule> {
        self.rules.iter().rev().find(|r| r.effective_from <= day)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    const SHIPPED: &str = include_str!("../../assets/retention.toml");

    #[test]
    fn the_shipped_schedule_loads() {
        let rules = RetentionRules::from_toml(SHIPPED).unwrap();
        let now = rules.in_force(d(2026, 12, 3)).unwrap();
        assert_eq!(now.visit_records.years, 6);
        assert_eq!(now.determinations.years, 7);
        assert_eq!(now.payment_runs.years, 10);
    }

    #[test]
    fn a_leap_day_plus_years_is_the_end_of_february() {
        let six = Period {
            years: 6,
            ..Period::default()
        };
        assert_eq!(six.after(d(2024, 2, 29)), d(2030, 2, 28));
        let four = Period {
            years: 4,
            ..Period::default()
        };
        assert_eq!(four.after(d(2024, 2, 29)), d(2028, 2, 29));
        let mixed = Period {
            years: 1,
            months: 1,
            days: 2,
        };
        assert_eq!(mixed.after(d(2023, 12, 31)), d(2025, 2, 2));
        assert_eq!(mixed.describe(), "1 year, 1 month, 2 days");
    }

    #[test]
    fn the_latest_expired_start_is_exact_around_leap_days() {
        let one = Period {
            years: 1,
            ..Period::default()
        };
        // 29 Feb 2024 + 1 year = 28 Feb 2025, and so does 28 Feb 2024.
        assert_eq!(one.expired_by(d(2025, 2, 28)), d(2024, 2, 29));
        assert_eq!(one.expired_by(d(2025, 2, 27)), d(2024, 2, 27));
        assert_eq!(one.expired_by(d(2025, 3, 1)), d(2024, 3, 1));
        let mixed = Period {
            years: 6,
            months: 1,
            days: 3,
        };
        for today in [d(2030, 1, 1), d(2031, 3, 2), d(2032, 2, 29)] {
            let start = mixed.expired_by(today);
            assert!(mixed.after(start) <= today);
            assert!(mixed.after(add_days(start, 1)) > today);
        }
    }

    #[test]
    fn a_version_written_as_toml_reads_back_the_same() {
        let rules = RetentionRules::from_toml(SHIPPED).unwrap();
        let text = RetentionRules::version_toml(&rules.rules[0]);
        assert_eq!(RetentionRules::from_toml(&text).unwrap(), rules);
        let mut later = rules.rules[0].clone();
        later.version = "2027.1".into();
        later.effective_from = d(2027, 4, 1);
        assert_eq!(rules.with(later.clone()).unwrap().rules.len(), 2);
        let e = rules.with(rules.rules[0].clone()).unwrap_err();
        assert!(e.mentions("rules[1].version"), "{e}");
    }

    #[test]
    fn every_problem_is_reported_at_its_field() {
        let text = r#"
            [[rules]]
            version = "a"
            effective_from = "2024-01-01"
            visit_records = { years = 6 }
            unpublished_visits = {}
            determinations = { years = 5 }
            payment_runs = { years = 10 }

            [[rules]]
            version = "a"
            effective_from = "2024-01-01"
            visit_records = { years = 1 }
            unpublished_visits = { years = 1 }
            determinations = { years = 1 }
            payment_runs = { months = 11 }
        "#;
        let e = RetentionRules::from_toml(text).unwrap_err();
        assert!(e.mentions("rules[0].unpublished_visits"), "{e}");
        assert!(e.mentions("rules[0].determinations"), "{e}");
        assert!(e.mentions("rules[1].version"), "{e}");
        assert!(e.mentions("rules[1].effective_from"), "{e}");
        assert!(e.mentions("rules[1].payment_runs"), "{e}");
        assert!(!e.mentions("rules[0].payment_runs"), "{e}");
    }

    #[test]
    fn dates_are_read_strictly_and_unknown_fields_refused() {
        let text = r#"
            [[rules]]
            version = "a"
            effective_from = "2024-1-01"
            visit_records = { years = 6 }
            unpublished_visits = { years = 6 }
            determinations = { years = 7 }
            payment_runs = { years = 10 }
        "#;
        assert!(RetentionRules::from_toml(text).is_err());
        let text = text.replace("2024-1-01", "2024-01-01").replace(
            "{ years = 6 }\n            unpublished",
            "{ yeers = 6 }\n            unpublished",
        );
        assert!(RetentionRules::from_toml(&text).is_err());
    }

    #[test]
    fn the_version_in_force_is_the_latest_to_have_started() {
        let text = r#"
            [[rules]]
            version = "new"
            effective_from = "2027-04-01"
            visit_records = { years = 3 }
            unpublished_visits = { years = 1 }
            determinations = { years = 7 }
            payment_runs = { years = 10 }

            [[rules]]
            version = "old"
            effective_from = "2024-01-01"
            visit_records = { years = 6 }
            unpublished_visits = { years = 6 }
            determinations = { years = 7 }
            payment_runs = { years = 10 }
        "#;
        let rules = RetentionRules::from_toml(text).unwrap();
        assert!(rules.in_force(d(2023, 12, 31)).is_none());
        assert_eq!(rules.in_force(d(2027, 3, 31)).unwrap().version, "old");
        assert_eq!(rules.in_force(d(2027, 4, 1)).unwrap().version, "new");
    }
}
