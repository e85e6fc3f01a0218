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

/// The years a date typed into Accredit may fall in: wide enough for any registration, rating or
/// placement, narrow enough to catch a two-digit year or a typo.
pub const YEARS: std::ops::RangeInclusive<i32> = 1900..=2199;

/// Why a typed date or month was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DateError {
    /// Not written as the format asks.
    #[error("{0:?} is not a date written YYYY-MM-DD")]
    NotADate(String),
    /// Not written as a month.
    #[error("{0:?} is not a month written YYYY-MM")]
    NotAMonth(String),
    /// Written correctly but no such day or month exists.
    #[error("{0:?} is not a real date")]
    NoSuchDay(String),
    /// A year outside [`YEARS`].
    #[error("{0:?} has a year outside 1900 to 2199")]
    YearOutOfRange(String),
}

/// Digits at `range` of `text`, which must all be ASCII digits.
fn digits(text: &str, range: std::ops::Range<usize>) -> Option<u32> {
    let part = text.get(range)?;
    if part.bytes().all(|b| b.is_ascii_digit()) {
        part.parse().ok()
    } else {
        None
    }
}

/// Parses a civil date written exactly `YYYY-MM-DD` (ISO 8601, as the API and CSV files carry
/// dates), with a year in [`YEARS`]. Lenient forms such as `26-1-1` or `+2026-01-01` are refused
/// rather than read as some other day.
pub fn parse_date(text: &str) -> Result<NaiveDate, DateError> {
    let bad = || DateError::NotADate(text.to_owned());
    if text.len() != 10 || text.as_bytes()[4] != b'-' || text.as_bytes()[7] != b'-' {
        return Err(bad());
    }
    let (y, m, d) = (
        digits(text, 0..4).ok_or_else(bad)?,
        digits(text, 5..7).ok_or_else(bad)?,
        digits(text, 8..10).ok_or_else(bad)?,
    );
    let year = y as i32;
    if !YEARS.contains(&year) {
        return Err(DateError::YearOutOfRange(text.to_owned()));
    }
    NaiveDate::from_ymd_opt(year, m, d).ok_or_else(|| DateError::NoSuchDay(text.to_owned()))
}

/// Parses a billing month written exactly `YYYY-MM`, with a year in [`YEARS`].
pub fn parse_month(text: &str) -> Result<DateRange, DateError> {
    let bad = || DateError::NotAMonth(text.to_owned());
    if text.len() != 7 || text.as_bytes()[4] != b'-' {
        return Err(bad());
    }
    let (y, m) = (
        digits(text, 0..4).ok_or_else(bad)?,
        digits(text, 5..7).ok_or_else(bad)?,
    );
    let year = y as i32;
    if !YEARS.contains(&year) {
        return Err(DateError::YearOutOfRange(text.to_owned()));
    }
    month_period(year, m).ok_or_else(|| DateError::NoSuchDay(text.to_owned()))
}

/// Serde support for dates written strictly, as [`parse_date`] reads them:
/// `#[serde(with = "accredit_shared::calendar::strict_date")]`.
pub mod strict_date {
    use chrono::NaiveDate;
    use serde::{Deserialize, Deserializer, Serializer};

    /// Writes `YYYY-MM-DD`.
    pub fn serialize<S: Serializer>(date: &NaiveDate, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&date.format("%Y-%m-%d"))
    }

    /// Reads exactly `YYYY-MM-DD`.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<NaiveDate, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        super::parse_date(&text).map_err(serde::de::Error::custom)
    }
}

/// Serde support for optional dates written strictly (`null` or absent is `None`).
pub mod strict_date_opt {
    use chrono::NaiveDate;
    use serde::{Deserialize, Deserializer, Serializer};

    /// Writes `YYYY-MM-DD` or `null`.
    pub fn serialize<S: Serializer>(date: &Option<NaiveDate>, s: S) -> Result<S::Ok, S::Error> {
        match date {
            Some(d) => s.collect_str(&d.format("%Y-%m-%d")),
            None => s.serialize_none(),
        }
    }

    /// Reads `null` or exactly `YYYY-MM-DD`.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<NaiveDate>, D::Error> {
        match <Option<std::borrow::Cow<'de, str>>>::deserialize(d)? {
            None => Ok(None),
            Some(text) => super::parse_date(&text)
                .map(Some)
                .map_err(serde::de::Error::custom),
        }
    }
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
    fn dates_and_months_are_read_strictly() {
        assert_eq!(parse_date("2026-11-25"), Ok(d(2026, 11, 25)));
        for bad in [
            "26-1-1",
            "2026-1-1",
            "+2026-01-01",
            "2026-01-01 ",
            " 2026-01-01",
            "2026/01/01",
            "20260101",
            "2026-00-10",
            "2026-02-30",
            "0000-01-01",
            "9999-12-31",
            "2026-+1-01",
            "",
            "2026-01-1x",
        ] {
            assert!(parse_date(bad).is_err(), "{bad}");
        }
        assert_eq!(parse_month("2026-03").map(|p| p.from), Ok(d(2026, 3, 1)));
        for bad in [
            "2026-+3",
            "+202-01",
            "0000-01",
            "2026-3",
            "2026-13",
            "2026-00",
            "26-03",
            "2026-03-01",
        ] {
            assert!(parse_month(bad).is_err(), "{bad}");
        }
        #[derive(serde::Deserialize)]
        struct T {
            #[serde(with = "strict_date")]
            on: NaiveDate,
            #[serde(default, with = "strict_date_opt")]
            until: Option<NaiveDate>,
        }
        let t: T = serde_json::from_str(r#"{"on":"2026-01-02","until":null}"#).unwrap();
        assert_eq!((t.on, t.until), (d(2026, 1, 2), None));
        assert!(serde_json::from_str::<T>(r#"{"on":"26-1-1"}"#).is_err());
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
