//! Exact rational numbers for percentages and thresholds.
//!
//! Tier thresholds are compared exactly: a domain at 64.999…% must not round up into Bronze, and
//! the same answers must give the same tier on every platform, so no floats are used in decisions.

use serde::{Deserialize, Serialize};
use std::cmp::Ordering;
use std::fmt;

/// An exact fraction `num / den`, always reduced, with `den > 0`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "RatioParts", into = "RatioParts")]
pub struct Ratio {
    num: i128,
    den: i128,
}

#[derive(Serialize, Deserialize)]
struct RatioParts {
    num: i128,
    den: i128,
}

impl TryFrom<RatioParts> for Ratio {
    type Error = String;
    fn try_from(p: RatioParts) -> Result<Self, Self::Error> {
        Ratio::new(p.num, p.den).ok_or_else(|| "a ratio needs a non-zero denominator".to_owned())
    }
}

impl From<Ratio> for RatioParts {
    fn from(r: Ratio) -> Self {
        RatioParts {
            num: r.num,
            den: r.den,
        }
    }
}

fn gcd(mut a: i128, mut b: i128) -> i128 {
    a = a.abs();
    b = b.abs();
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

impl Ratio {
    /// Zero.
    pub const ZERO: Ratio = Ratio { num: 0, den: 1 };

    /// `num / den`, reduced; `None` when `den` is zero.
    pub fn new(num: i128, den: i128) -> Option<Ratio> {
        if den == 0 {
            return None;
        }
        let sign = if den < 0 { -1 } else { 1 };
        let g = gcd(num, den).max(1);
        Some(Ratio {
            num: sign * num / g,
            den: sign * den / g,
        })
    }

    /// A whole number.
    pub fn integer(n: i128) -> Ratio {
        Ratio { num: n, den: 1 }
    }

    /// Converts a decimal read from a configuration file, keeping at most three decimal places.
    /// Returns `None` for non-finite values or values with more precision than that.
    pub fn from_decimal(value: f64) -> Option<Ratio> {
        if !value.is_finite() || value.abs() > 1e12 {
            return None;
        }
        let milli = (value * 1000.0).round();
        if ((milli / 1000.0) - value).abs() > 1e-9 {
            return None;
        }
        Ratio::new(milli as i128, 1000)
    }

    /// The numerator (of the reduced fraction).
    pub fn numer(&self) -> i128 {
        self.num
    }

    /// The denominator (of the reduced fraction, always positive).
    pub fn denom(&self) -> i128 {
        self.den
    }

    /// Sum of two ratios; `None` if it does not fit in 128 bits.
    pub fn checked_plus(self, other: Ratio) -> Option<Ratio> {
        let g = gcd(self.den, other.den).max(1);
        let den = (self.den / g).checked_mul(other.den)?;
        let num = self
            .num
            .checked_mul(other.den / g)?
            .checked_add(other.num.checked_mul(self.den / g)?)?;
        Ratio::new(num, den)
    }

    /// Product of two ratios; `None` if it does not fit in 128 bits.
    pub fn checked_times(self, other: Ratio) -> Option<Ratio> {
        let g1 = gcd(self.num, other.den).max(1);
        let g2 = gcd(other.num, self.den).max(1);
        Ratio::new(
            (self.num / g1).checked_mul(other.num / g2)?,
            (self.den / g2).checked_mul(other.den / g1)?,
        )
    }

    /// Quotient; `None` when dividing by zero or if it does not fit in 128 bits.
    pub fn checked_div(self, other: Ratio) -> Option<Ratio> {
        if other.num == 0 {
            return None;
        }
        self.checked_times(Ratio {
            num: other.den * other.num.signum(),
            den: other.num.abs(),
        })
    }

    /// A percentage as people type it: `5`, `2.5`, `12.125`, with or without a `%` sign; never
    /// negative, at most three decimal places, at most 100.
    pub fn parse_percent(text: &str) -> Result<Ratio, PercentError> {
        let t = text.trim();
        let t = t.strip_suffix('%').unwrap_or(t).trim_end();
        if t.is_empty() {
            return Err(PercentError::Empty);
        }
        let (whole, frac) = t.split_once('.').unwrap_or((t, ""));
        if whole.is_empty()
            || whole.len() > 3
            || frac.len() > 3
            || (t.contains('.') && frac.is_empty())
            || !whole
                .bytes()
                .chain(frac.bytes())
                .all(|b| b.is_ascii_digit())
        {
            return Err(PercentError::Format);
        }
        let scale = 10i128.pow(frac.len() as u32);
        let num = format!("{whole}{frac}")
            .parse::<i128>()
            .map_err(|_| PercentError::Format)?;
        let r = Ratio::new(num, scale).ok_or(PercentError::Format)?;
        if r > Ratio::integer(100) {
            return Err(PercentError::OverHundred);
        }
        Ok(r)
    }

    /// An approximation for display and charts only; never use it to decide anything.
    pub fn to_f64(&self) -> f64 {
        self.num as f64 / self.den as f64
    }

    /// Rounds half up to `places` decimal places, as text (for reports and explanations).
    pub fn to_decimal_string(&self, places: u32) -> String {
        let scale = 10i128.pow(places);
        let scaled = round_half_up_div(self.num * scale, self.den);
        let sign = if scaled < 0 { "-" } else { "" };
        let abs = scaled.abs();
        if places == 0 {
            format!("{sign}{abs}")
        } else {
            format!(
                "{sign}{}.{:0width$}",
                abs / scale,
                abs % scale,
                width = places as usize
            )
        }
    }
}

/// Why a typed percentage could not be read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PercentError {
    /// Nothing typed.
    #[error("enter a percentage")]
    Empty,
    /// Not a percentage.
    #[error("enter a percentage as a number with at most three decimals, like 5 or 2.5")]
    Format,
    /// More than 100.
    #[error("a percentage must be 100 or less")]
    OverHundred,
}

/// `num / den` rounded half up (towards +∞ at exactly one half), for `den > 0`.
pub fn round_half_up_div(num: i128, den: i128) -> i128 {
    debug_assert!(den > 0);
    (2 * num + den).div_euclid(2 * den)
}

impl PartialOrd for Ratio {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Ratio {
    fn cmp(&self, other: &Self) -> Ordering {
        // Cross-multiplying could overflow; comparing continued-fraction terms cannot.
        let (mut a, mut b, mut c, mut d) = (self.num, self.den, other.num, other.den);
        loop {
            let (qa, qc) = (a.div_euclid(b), c.div_euclid(d));
            if qa != qc {
                return qa.cmp(&qc);
            }
            let (ra, rc) = (a.rem_euclid(b), c.rem_euclid(d));
            match (ra == 0, rc == 0) {
                (true, true) => return Ordering::Equal,
                (true, false) => return Ordering::Less,
                (false, true) => return Ordering::Greater,
                // ra/b < rc/d  ⇔  d/rc < b/ra: compare the reciprocals, swapped.
                (false, false) => (a, b, c, d) = (d, rc, b, ra),
            }
        }
    }
}

impl fmt::Display for Ratio {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_decimal_string(1))
    }
}

/// A percentage for reports and explanations (`72.5%`), or `—` when there is none.
pub fn percent_text(r: Option<Ratio>) -> String {
    r.map_or_else(
        || "—".to_owned(),
        |r| format!("{}%", r.to_decimal_string(1)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentages_are_read_strictly() {
        let p = |t: &str| Ratio::parse_percent(t);
        assert_eq!(p("5"), Ok(Ratio::integer(5)));
        assert_eq!(p(" 2.5 % "), Ok(Ratio::new(5, 2).unwrap()));
        assert_eq!(p("12.125"), Ok(Ratio::new(12_125, 1000).unwrap()));
        assert_eq!(p("100"), Ok(Ratio::integer(100)));
        assert_eq!(p(""), Err(PercentError::Empty));
        assert_eq!(p("100.001"), Err(PercentError::OverHundred));
        for bad in [
            "-5", "5.", ".5", "1.2345", "5,5", "five", "1e2", "+5", "5 5",
        ] {
            assert_eq!(p(bad), Err(PercentError::Format), "{bad}");
        }
    }

    #[test]
    fn reduces_and_compares_exactly() {
        let a = Ratio::new(2, 6).unwrap();
        assert_eq!((a.numer(), a.denom()), (1, 3));
        assert!(Ratio::new(649_999, 10_000).unwrap() < Ratio::integer(65));
        assert_eq!(Ratio::new(130, 2).unwrap(), Ratio::integer(65));
        assert!(Ratio::new(1, 0).is_none());
    }

    #[test]
    fn comparison_agrees_with_cross_multiplication() {
        for a in -12..12 {
            for b in 1..12 {
                for c in -12..12 {
                    for d in 1..12 {
                        let (x, y) = (Ratio::new(a, b).unwrap(), Ratio::new(c, d).unwrap());
                        assert_eq!(x.cmp(&y), (a * d).cmp(&(c * b)), "{a}/{b} vs {c}/{d}");
                    }
                }
            }
        }
    }

    #[test]
    fn comparison_never_overflows() {
        let big = Ratio::new(i128::MAX / 3, i128::MAX / 2 - 1).unwrap();
        let other = Ratio::new(i128::MAX / 3 - 1, i128::MAX / 2 - 1).unwrap();
        assert!(big > other);
        assert!(Ratio::new(-7, 2).unwrap() < Ratio::new(-3, 1).unwrap());
        assert!(Ratio::new(1, 3).unwrap() < Ratio::new(1, 2).unwrap());
        assert_eq!(
            Ratio::new(5, 10).unwrap().cmp(&Ratio::new(1, 2).unwrap()),
            Ordering::Equal
        );
        assert!(big.checked_times(big).is_none());
    }

    #[test]
    fn decimals_from_config() {
        assert_eq!(Ratio::from_decimal(72.5), Ratio::new(145, 2));
        assert_eq!(Ratio::from_decimal(0.0001), None);
        assert_eq!(Ratio::from_decimal(f64::NAN), None);
    }

    #[test]
    fn rounding_half_up() {
        assert_eq!(round_half_up_div(5, 2), 3);
        assert_eq!(round_half_up_div(-5, 2), -2);
        assert_eq!(round_half_up_div(4, 7), 1);
        assert_eq!(round_half_up_div(3, 7), 0);
        assert_eq!(Ratio::new(2, 3).unwrap().to_decimal_string(2), "0.67");
        assert_eq!(Ratio::new(-1, 8).unwrap().to_decimal_string(2), "-0.12");
    }
}
