//! Decimal arithmetic on [`Decimal`]'s `i128` unscaled form: rescaling with Java's `HALF_UP`,
//! precision checks, conversions to and from doubles and text, and the result types of
//! ksqlDB's decimal operators (`SqlDecimal.add/multiply/divide/modulus`).

use crate::value::Decimal;
use crate::{eval_err, Result};

/// The largest precision a [`Decimal`] can hold (and ksqlDB allows).
pub(crate) const MAX_PRECISION: u8 = 38;

/// `10^n`, or `None` past `i128`.
pub(crate) fn pow10(n: u32) -> Option<i128> {
    10i128.checked_pow(n)
}

/// `10^n` for `n` in `0..=38`, as `u128`.
const POW10: [u128; 39] = {
    let mut t = [1u128; 39];
    let mut i = 1;
    while i < 39 {
        t[i] = t[i - 1] * 10;
        i += 1;
    }
    t
};

/// Number of decimal digits of `|u|` (0 has one digit).
pub(crate) fn digits(u: i128) -> u8 {
    let n = u.unsigned_abs();
    // The first power of ten above `n`, by the table (no 128-bit divisions).
    POW10.iter().position(|&p| p > n).map_or(39, |d| d.max(1) as u8)
}

/// Whether `|u|` has at most `precision` digits.
pub(crate) fn fits(u: i128, precision: u8) -> bool {
    POW10.get(usize::from(precision)).is_none_or(|&p| u.unsigned_abs() < p)
}

/// `u * 10^-from` expressed with `to` fraction digits, rounding `HALF_UP` when digits are dropped.
pub(crate) fn rescale(u: i128, from: u8, to: u8) -> Option<i128> {
    if to == from {
        return Some(u);
    }
    if to > from {
        u.checked_mul(pow10(u32::from(to - from))?)
    } else {
        let div = pow10(u32::from(from - to))?;
        let (q, r) = (u / div, u % div);
        let half = div / 2;
        Some(if r.abs() >= half && r != 0 { q + u.signum() } else { q })
    }
}

/// `u` with `scale` as a `DECIMAL(precision, scale)`, or an error if it does not fit.
pub(crate) fn make(u: i128, precision: u8, scale: u8) -> Result<Decimal> {
    if !fits(u, precision) && u != 0 {
        return eval_err!("numeric field overflow: value does not fit DECIMAL({precision}, {scale})");
    }
    Ok(Decimal { unscaled: u, precision, scale })
}

/// `d` converted to `DECIMAL(precision, scale)` (rounding `HALF_UP`).
pub(crate) fn cast(d: &Decimal, precision: u8, scale: u8) -> Result<Decimal> {
    match rescale(d.unscaled, d.scale, scale) {
        Some(u) if u == 0 || fits(u, precision) => Ok(Decimal { unscaled: u, precision, scale }),
        _ => eval_err!("Cannot fit decimal '{d}' into DECIMAL({precision}, {scale}) without rounding"),
    }
}

/// An integer as `DECIMAL(precision, scale)`.
pub(crate) fn from_i64(v: i64, precision: u8, scale: u8) -> Result<Decimal> {
    cast(&Decimal { unscaled: i128::from(v), precision: MAX_PRECISION, scale: 0 }, precision, scale)
}

/// The double closest to `d`.
pub(crate) fn to_f64(d: &Decimal) -> f64 {
    // Parsing the text gives the correctly rounded double, as BigDecimal.doubleValue() does.
    d.to_string().parse().unwrap_or(f64::NAN)
}

/// `d` truncated toward zero, as `BigDecimal.longValue()` (wrapping past 64 bits).
pub(crate) fn to_i64(d: &Decimal) -> i64 {
    let div = pow10(u32::from(d.scale)).unwrap_or(i128::MAX);
    (d.unscaled / div) as i64
}

/// A double as `DECIMAL(precision, scale)`, via its shortest decimal text (`BigDecimal.valueOf`).
pub(crate) fn from_f64(v: f64, precision: u8, scale: u8) -> Result<Decimal> {
    if !v.is_finite() {
        return eval_err!("Cannot convert {v} to DECIMAL({precision}, {scale})");
    }
    let parsed = parse(&format!("{v}"))?;
    cast(&parsed, precision, scale)
}

/// Decimal text (`-12.30`, `1e3`, `.5`) with its natural precision and scale, as `new BigDecimal(s)`.
pub(crate) fn parse(text: &str) -> Result<Decimal> {
    let bad = || crate::Error::Eval(format!("Cannot parse decimal from '{text}'"));
    let s = text.trim();
    let (mantissa, exp) = match s.find(['e', 'E']) {
        Some(i) => (&s[..i], s[i + 1..].parse::<i32>().map_err(|_| bad())?),
        None => (s, 0),
    };
    let (neg, body) = match mantissa.strip_prefix('-') {
        Some(b) => (true, b),
        None => (false, mantissa.strip_prefix('+').unwrap_or(mantissa)),
    };
    let (int, frac) = body.split_once('.').unwrap_or((body, ""));
    if int.is_empty() && frac.is_empty() || !int.chars().chain(frac.chars()).all(|c| c.is_ascii_digit()) {
        return Err(bad());
    }
    let all: String = format!("{int}{frac}");
    let mut u: i128 = all.trim_start_matches('0').parse().unwrap_or(0);
    if all.trim_start_matches('0').len() > 38 {
        return Err(bad());
    }
    let mut scale = frac.len() as i32 - exp;
    if scale < 0 {
        u = u.checked_mul(pow10(scale.unsigned_abs()).ok_or_else(bad)?).ok_or_else(bad)?;
        scale = 0;
    }
    let scale = u8::try_from(scale).ok().filter(|s| *s <= MAX_PRECISION).ok_or_else(bad)?;
    if neg {
        u = -u;
    }
    let precision = digits(u).max(scale).max(1);
    if precision > MAX_PRECISION {
        return Err(bad());
    }
    Ok(Decimal { unscaled: u, precision, scale })
}

/// Result type of `+` and `-`.
pub(crate) fn add_type(p1: u8, s1: u8, p2: u8, s2: u8) -> (u8, u8) {
    let scale = s1.max(s2);
    (clamp(u32::from(scale) + u32::from(p1.saturating_sub(s1).max(p2.saturating_sub(s2))) + 1), scale)
}

/// Result type of `*`.
pub(crate) fn mul_type(p1: u8, s1: u8, p2: u8, s2: u8) -> (u8, u8) {
    (clamp(u32::from(p1) + u32::from(p2) + 1), s1.saturating_add(s2).min(MAX_PRECISION))
}

/// Result type of `/`.
pub(crate) fn div_type(p1: u8, s1: u8, p2: u8, s2: u8) -> (u8, u8) {
    let scale = 6u32.max(u32::from(s1) + u32::from(p2) + 1);
    let precision = u32::from(p1.saturating_sub(s1)) + u32::from(s2) + scale;
    (clamp(precision), clamp(scale))
}

/// Result type of `%`.
pub(crate) fn mod_type(p1: u8, s1: u8, p2: u8, s2: u8) -> (u8, u8) {
    let scale = s1.max(s2);
    (clamp(u32::from(p1.saturating_sub(s1).min(p2.saturating_sub(s2))) + u32::from(scale)).max(1), scale)
}

/// ksqlDB rejects types past 38 digits; Brook clamps result types to 38 and reports an overflow
/// per record instead, so that `DECIMAL(38, 2) * DECIMAL(38, 2)` still plans.
fn clamp(p: u32) -> u8 {
    p.min(u32::from(MAX_PRECISION)) as u8
}

/// The decimal type that holds every value of an integer type: `INT` -> `DECIMAL(10, 0)`,
/// `BIGINT` -> `DECIMAL(19, 0)`.
pub(crate) fn int_precision(is_bigint: bool) -> u8 {
    if is_bigint {
        19
    } else {
        10
    }
}

/// Binary arithmetic on two decimals, with the result type `(precision, scale)`.
pub(crate) fn arith(op: char, a: &Decimal, b: &Decimal, precision: u8, scale: u8) -> Result<Decimal> {
    let overflow = || crate::Error::Eval("numeric overflow in decimal arithmetic".into());
    let common = a.scale.max(b.scale);
    let x = rescale(a.unscaled, a.scale, common).ok_or_else(overflow)?;
    let y = rescale(b.unscaled, b.scale, common).ok_or_else(overflow)?;
    let (u, s) = match op {
        '+' => (x.checked_add(y).ok_or_else(overflow)?, common),
        '-' => (x.checked_sub(y).ok_or_else(overflow)?, common),
        '*' => (a.unscaled.checked_mul(b.unscaled).ok_or_else(overflow)?, a.scale.saturating_add(b.scale)),
        '%' => {
            if y == 0 {
                return eval_err!("Division by zero");
            }
            (x.checked_rem(y).ok_or_else(overflow)?, common)
        }
        _ => {
            if y == 0 {
                return eval_err!("Division by zero");
            }
            // ksqlDB divides with `MathContext(precision, UNNECESSARY)`: a quotient that
            // does not end within the result scale fails the record ("Rounding necessary").
            let up = rescale(x, 0, scale).ok_or_else(overflow)?;
            if up.checked_rem(y).ok_or_else(overflow)? != 0 {
                return eval_err!("Rounding necessary: {a} / {b} does not fit DECIMAL({precision}, {scale}) exactly");
            }
            (up.checked_div(y).ok_or_else(overflow)?, scale)
        }
    };
    let u = rescale(u, s, scale).ok_or_else(overflow)?;
    make(u, precision, scale)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Decimal {
        parse(s).unwrap()
    }

    #[test]
    fn parses_with_natural_precision_and_scale() {
        assert_eq!(d("12.30"), Decimal { unscaled: 1230, precision: 4, scale: 2 });
        assert_eq!(d("0.05"), Decimal { unscaled: 5, precision: 2, scale: 2 });
        assert_eq!(d("-1e2"), Decimal { unscaled: -100, precision: 3, scale: 0 });
        assert!(parse("1.2.3").is_err());
        assert!(parse("").is_err());
    }

    #[test]
    fn digits_by_table() {
        for (u, d) in [(0i128, 1u8), (9, 1), (10, 2), (-99, 2), (100, 3), (i128::from(i64::MAX), 19), (i128::MAX, 39), (i128::MIN, 39)] {
            assert_eq!(digits(u), d, "{u}");
        }
        assert!(fits(999, 3) && !fits(1000, 3) && fits(-999, 3) && !fits(-1000, 3));
        assert!(fits(i128::MAX, 39));
    }

    #[test]
    fn rescale_rounds_half_up_away_from_zero() {
        assert_eq!(rescale(125, 2, 1), Some(13));
        assert_eq!(rescale(-125, 2, 1), Some(-13));
        assert_eq!(rescale(124, 2, 1), Some(12));
        assert_eq!(rescale(12, 1, 3), Some(1200));
    }

    #[test]
    fn result_types_follow_ksqldb() {
        assert_eq!(add_type(4, 2, 3, 1), (5, 2));
        assert_eq!(mul_type(4, 2, 3, 1), (8, 3));
        assert_eq!(div_type(4, 2, 3, 1), (9, 6));
        assert_eq!(mod_type(4, 2, 3, 1), (4, 2));
    }

    #[test]
    fn division_is_exact_or_fails() {
        let (p, s) = div_type(2, 0, 2, 0);
        assert_eq!(arith('/', &d("10"), &d("4"), p, s).unwrap().to_string(), "2.500000");
        assert!(arith('/', &d("2"), &d("3"), p, s).is_err(), "ksqlDB fails inexact decimal division");
        assert!(arith('/', &d("2"), &d("0"), p, s).is_err());
        assert_eq!(arith('+', &d("1.5"), &d("2.25"), 5, 2).unwrap().to_string(), "3.75");
        assert_eq!(arith('%', &d("7.5"), &d("2"), 2, 1).unwrap().to_string(), "1.5");
    }
}
