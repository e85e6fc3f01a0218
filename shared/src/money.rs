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
