//! Civil-date helpers. Every date in Accredit is a civil date in Europe/London.

use chrono::{DateTime, Datelike, Months, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

/// Adds calendar months, clamping to the end of a shorter month (31 Jan + 1 month = 28/29 Feb).
pub fn add_months(date: NaiveDate, months: u32) -> NaiveDate {
    date.checked_add_months(Months::new(months))
        .unwrap_or(NaiveDate::MAX)
}

/// Adds days, saturating at the calendar's ends instead of panicking.
pub fn add_days(date: NaiveDate, days: i64) -> NaiveDate {
    date.checked_add_signed(chrono::TimeDelta::days(days))
        .unwrap_or(if days < 0 {
            NaiveDate::MIN
        } else {
            NaiveDate::MAX
        })
}

/// The civil date in Europe/London at an instant: what "today" means to a council.
pub fn london_date(at: DateTime<Utc>) -> NaiveDate {
    at.with_timezone(&chrono_tz::Europe::London).date_naive()
}

/// The billing month `YYYY-MM` as a period from its first to its last day.
pub fn month_period(year: i32, month: u32) -> Option<DateRange> {
    let from = NaiveDate::from_ymd_opt(year, month, 1)?;
    let to = add_days(add_months(from, 1), -1);
    Some(DateRange { from, to })
}

/// A closed range of civil days, `from ≤ day ≤ to`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct DateRange {
    /// First day, inclusive.
    pub from: NaiveDate,
    /// Last day, inclusive.
    pub to: NaiveDate,
}

impl DateRange {
    /// A range, or `None` when `to` is before `from`.
    pub fn new(from: NaiveDate, to: NaiveDate) -> Option<DateRange> {
        (from <= to).then_some(DateRange { from, to })
    }

    /// Number of days in the range.
    pub fn days(&self) -> u32 {
        (self.to - self.from).num_days() as u32 + 1
    }

    /// Whether `day` lies in the range.
    pub fn contains(&self, day: NaiveDate) -> bool {
        self.from <= day && day <= self.to
    }

    /// The overlap of two ranges, if any.
    pub fn intersect(&self, other: &DateRange) -> Option<DateRange> {
        DateRange::new(self.from.max(other.from), self.to.min(other.to))
    }

    /// Every day of the range in order.
    pub fn iter_days(&self) -> impl Iterator<Item = NaiveDate> + '_ {
        self.from.iter_days().take_while(move |d| d <= &self.to)
    }

    /// The label of a month period, `YYYY-MM`, when the range is exactly one calendar month.
    pub fn month_label(&self) -> Option<String> {
        let month = month_period(self.from.year(), self.from.month())?;
        (month == *self).then(|| format!("{:04}-{:02}", self.from.year(), self.from.month()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn month_arithmetic_clamps() {
        assert_eq!(add_months(d(2026, 1, 31), 1), d(2026, 2, 28));
        assert_eq!(add_months(d(2024, 12, 31), 14), d(2026, 2, 28));
    }

    #[test]
    fn london_dates_follow_clock_changes() {
        // 23:30 UTC on 28 March 2026 is 23:30 GMT: still the 28th.
        assert_eq!(
            london_date(Utc.with_ymd_and_hms(2026, 3, 28, 23, 30, 0).unwrap()),
            d(2026, 3, 28)
        );
        // 23:30 UTC on 29 March 2026 is 00:30 BST: already the 30th in London.
        assert_eq!(
            london_date(Utc.with_ymd_and_hms(2026, 3, 29, 23, 30, 0).unwrap()),
            d(2026, 3, 30)
        );
        // After the autumn change, 23:30 UTC is 23:30 GMT again.
        assert_eq!(
            london_date(Utc.with_ymd_and_hms(2026, 10, 25, 23, 30, 0).unwrap()),
            d(2026, 10, 25)
        );
    }

    #[test]
    fn month_periods() {
        let feb = month_period(2028, 2).unwrap();
        assert_eq!(feb.days(), 29);
        assert_eq!(feb.month_label().as_deref(), Some("2028-02"));
        assert!(month_period(2026, 13).is_none());
        assert_eq!(
            DateRange::new(d(2026, 1, 1), d(2026, 1, 10))
                .unwrap()
                .month_label(),
            None
        );
    }
}
