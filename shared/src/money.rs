//! Money as integer pence, and exact per-day amounts.
//!
//! A weekly premium is paid per day as weekly ÷ 7. Summing those days exactly and rounding once per
//! line means counting in sevenths of a penny, which is what [`Sevenths`] does.

use crate::ratio::round_half_up_div;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::ops::{Add, AddAssign, Neg, Sub};

/// An amount of money in whole pence (may be negative, for adjustment lines).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Pence(pub i64);

impl Pence {
    /// No money.
    pub const ZERO: Pence = Pence(0);

    /// The amount as a plain decimal in pounds with two places, for CSV exports: `-12.30`.
    pub fn to_pounds_string(self) -> String {
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        format!("{sign}{}.{:02}", abs / 100, abs % 100)
    }

    /// An amount as people type it in pounds: `16`, `16.5`, `£16.50`, `1,250.00`. Never
    /// negative, at most two decimal places, commas only between groups of three digits.
    pub fn parse_pounds(text: &str) -> Result<Pence, MoneyError> {
        let t = text.trim();
        let t = t.strip_prefix('£').unwrap_or(t).trim_start();
        if t.is_empty() {
            return Err(MoneyError::Empty);
        }
        let (whole, frac) = t.split_once('.').unwrap_or((t, ""));
        if t.contains('.') && !(1..=2).contains(&frac.len()) {
            return Err(MoneyError::Format);
        }
        let groups: Vec<&str> = whole.split(',').collect();
        let grouped_ok = groups.len() == 1
            || (!groups[0].is_empty()
                && groups[0].len() <= 3
                && groups[1..].iter().all(|g| g.len() == 3));
        let digits: String = groups.concat();
        if !grouped_ok
            || digits.is_empty()
            || !digits.bytes().all(|b| b.is_ascii_digit())
            || !frac.bytes().all(|b| b.is_ascii_digit())
        {
            return Err(MoneyError::Format);
        }
        let pounds: i64 = digits.parse().map_err(|_| MoneyError::TooLarge)?;
        let pence: i64 = match frac.len() {
            0 => 0,
            1 => frac.parse::<i64>().map_err(|_| MoneyError::Format)? * 10,
            _ => frac.parse().map_err(|_| MoneyError::Format)?,
        };
        pounds
            .checked_mul(100)
            .and_then(|p| p.checked_add(pence))
            .filter(|p| *p <= 100_000_000_000)
            .map(Pence)
            .ok_or(MoneyError::TooLarge)
    }
}

/// Why typed money could not be read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    /// Nothing typed.
    #[error("enter an amount in pounds")]
    Empty,
    /// Not an amount.
    #[error("enter an amount in pounds and pence, like 16.50")]
    Format,
    /// Absurdly large.
    #[error("the amount is too large")]
    TooLarge,
}

impl fmt::Display for Pence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        write!(f, "{sign}£{}.{:02}", abs / 100, abs % 100)
    }
}

impl Add for Pence {
    type Output = Pence;
    fn add(self, rhs: Pence) -> Pence {
        Pence(self.0 + rhs.0)
    }
}

impl AddAssign for Pence {
    fn add_assign(&mut self, rhs: Pence) {
        self.0 += rhs.0;
    }
}

impl Sub for Pence {
    type Output = Pence;
    fn sub(self, rhs: Pence) -> Pence {
        Pence(self.0 - rhs.0)
    }
}

impl Neg for Pence {
    type Output = Pence;
    fn neg(self) -> Pence {
        Pence(-self.0)
    }
}

/// An exact amount in sevenths of a penny: the unit of "weekly amount × days ÷ 7".
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Sevenths(pub i128);

impl Sevenths {
    /// The exact amount earned over `days` days at `weekly` per week.
    pub fn for_days(weekly: Pence, days: u32) -> Sevenths {
        Sevenths(weekly.0 as i128 * days as i128)
    }

    /// Rounds once, half up, to the penny.
    pub fn round_half_up(self) -> Pence {
        Pence(round_half_up_div(self.0, 7) as i64)
    }
}

impl Add for Sevenths {
    type Output = Sevenths;
    fn add(self, rhs: Sevenths) -> Sevenths {
        Sevenths(self.0 + rhs.0)
    }
}

impl AddAssign for Sevenths {
    fn add_assign(&mut self, rhs: Sevenths) {
        self.0 += rhs.0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_pounds() {
        assert_eq!(Pence(4000).to_string(), "£40.00");
        assert_eq!(Pence(-1286).to_string(), "-£12.86");
        assert_eq!(Pence(-5).to_pounds_string(), "-0.05");
    }

    #[test]
    fn rounds_once_half_up() {
        // £30/week for 3 days = 1285.714… pence.
        assert_eq!(
            Sevenths::for_days(Pence(3000), 3).round_half_up(),
            Pence(1286)
        );
        // 0.5p exactly rounds up: 7/2 sevenths is not representable, so check 3.5/7 via 1 day of 3.5p.
        assert_eq!(Sevenths(3).round_half_up(), Pence(0));
        assert_eq!(Sevenths(4).round_half_up(), Pence(1));
    }
}

#[cfg(test)]
mod parse_tests {
    use super::*;

    #[test]
    fn pounds_are_read_as_people_type_them() {
        for (text, pence) in [
            ("16", 1600),
            ("16.5", 1650),
            ("£16.50", 1650),
            (" £ 1,250.00 ", 125000),
            ("0.07", 7),
            ("1,000,000", 100000000),
        ] {
            assert_eq!(Pence::parse_pounds(text), Ok(Pence(pence)), "{text}");
        }
        for text in [
            "",
            "£",
            "-5",
            "16.505",
            "16.",
            "1,25",
            "12,3456",
            ",100",
            "ten",
            "1e3",
            "16.5p",
            "99999999999999",
        ] {
            assert!(Pence::parse_pounds(text).is_err(), "{text}");
        }
    }
}
