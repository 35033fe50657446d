//! Mathematical functions (ksqlDB's `udf/math`): Java's `Math` semantics, decimals rounded as
//! ksqlDB's `Round`/`Ceil`/`Floor` do.

use rand::Rng;

use super::api::Nulls;
use super::args::{arg, decimal, double, int, long};
use super::registry::FunctionRegistry;
use crate::expr::decimal::{pow10, to_f64};
use crate::value::{Decimal, SqlType, Value};
use crate::{eval_err, Result};

const CAT: &str = "MATHEMATICAL";

pub(crate) fn register(r: &mut FunctionRegistry) {
    use Nulls::*;
    r.scalar("ABS", CAT, "The absolute value of a number.", &["(INT) -> INT", "(BIGINT) -> BIGINT", "(DOUBLE) -> DOUBLE", "(DECIMAL) -> DECIMAL"], Strict, abs);
    r.scalar("CEIL", CAT, "The smallest integer greater than or equal to the value.", &["(INT) -> INT", "(BIGINT) -> BIGINT", "(DOUBLE) -> DOUBLE", "(DECIMAL) -> DECIMAL"], Strict, |a, _| round_with(a, Mode::Ceil));
    r.scalar("FLOOR", CAT, "The largest integer less than or equal to the value.", &["(INT) -> INT", "(BIGINT) -> BIGINT", "(DOUBLE) -> DOUBLE", "(DECIMAL) -> DECIMAL"], Strict, |a, _| round_with(a, Mode::Floor));
    r.scalar("TRUNC", CAT, "Truncates toward zero, optionally to a number of decimal places.", &["(INT) -> INT", "(BIGINT) -> BIGINT", "(DOUBLE) -> BIGINT", "(DOUBLE, INT) -> DOUBLE", "(DECIMAL) -> DECIMAL", "(DECIMAL, INT) -> DECIMAL"], Strict, trunc);
    r.scalar_with("ROUND", CAT, "Rounds to a number of decimal places (default 0); ties round up (toward positive infinity).", &["(INT) -> BIGINT", "(BIGINT) -> BIGINT", "(DOUBLE) -> BIGINT", "(DOUBLE, INT) -> DOUBLE", "(DECIMAL) -> DECIMAL", "(DECIMAL, INT) -> DECIMAL"], Strict, Some(round_type), round);
    r.scalar("SQRT", CAT, "The square root of a value.", &["(DOUBLE) -> DOUBLE"], Strict, |a, _| unary(a, f64::sqrt));
    r.scalar("CBRT", CAT, "The cube root of a value.", &["(DOUBLE) -> DOUBLE"], Strict, |a, _| unary(a, f64::cbrt));
    r.scalar("EXP", CAT, "e raised to the power of the value.", &["(DOUBLE) -> DOUBLE"], Strict, |a, _| unary(a, f64::exp));
    r.scalar("LN", CAT, "The natural logarithm of a value.", &["(DOUBLE) -> DOUBLE"], Strict, |a, _| unary(a, f64::ln));
    r.scalar("LOG", CAT, "The logarithm of a value: natural with one argument, LOG(base, value) with two.", &["(DOUBLE) -> DOUBLE", "(DOUBLE, DOUBLE) -> DOUBLE"], Strict, log);
    r.scalar("POWER", CAT, "The first argument raised to the power of the second.", &["(DOUBLE, DOUBLE) -> DOUBLE"], Strict, |a, _| Ok(Value::Double(double(a, 0)?.powf(double(a, 1)?))));
    r.scalar("SIGN", CAT, "The sign of a value: -1, 0 or 1.", &["(INT) -> INT", "(BIGINT) -> INT", "(DOUBLE) -> INT"], Strict, sign);
    r.scalar("RANDOM", CAT, "A random DOUBLE in [0.0, 1.0).", &["() -> DOUBLE"], Handled, |_, _| Ok(Value::Double(rand::thread_rng().gen::<f64>())));
    r.scalar("PI", CAT, "The value of pi.", &["() -> DOUBLE"], Handled, |_, _| Ok(Value::Double(std::f64::consts::PI)));
    r.scalar("DEGREES", CAT, "Converts radians to degrees.", &["(DOUBLE) -> DOUBLE"], Strict, |a, _| unary(a, f64::to_degrees));
    r.scalar("RADIANS", CAT, "Converts degrees to radians.", &["(DOUBLE) -> DOUBLE"], Strict, |a, _| unary(a, f64::to_radians));
    r.scalar("SIN", CAT, "The sine of an angle in radians.", &["(DOUBLE) -> DOUBLE"], Strict, |a, _| unary(a, f64::sin));
    r.scalar("COS", CAT, "The cosine of an angle in radians.", &["(DOUBLE) -> DOUBLE"], Strict, |a, _| unary(a, f64::cos));
    r.scalar("TAN", CAT, "The tangent of an angle in radians.", &["(DOUBLE) -> DOUBLE"], Strict, |a, _| unary(a, f64::tan));
    r.scalar("ASIN", CAT, "The inverse sine, in radians.", &["(DOUBLE) -> DOUBLE"], Strict, |a, _| unary(a, f64::asin));
    r.scalar("ACOS", CAT, "The inverse cosine, in radians.", &["(DOUBLE) -> DOUBLE"], Strict, |a, _| unary(a, f64::acos));
    r.scalar("ATAN", CAT, "The inverse tangent, in radians.", &["(DOUBLE) -> DOUBLE"], Strict, |a, _| unary(a, f64::atan));
    r.scalar("ATAN2", CAT, "The angle of the point (x, y) given as ATAN2(y, x).", &["(DOUBLE, DOUBLE) -> DOUBLE"], Strict, |a, _| Ok(Value::Double(double(a, 0)?.atan2(double(a, 1)?))));
    r.scalar("GEO_DISTANCE", "GEOSPATIAL", "The great-circle distance between two (latitude, longitude) points, in KM (default) or MI.", &["(DOUBLE, DOUBLE, DOUBLE, DOUBLE) -> DOUBLE", "(DOUBLE, DOUBLE, DOUBLE, DOUBLE, STRING) -> DOUBLE"], Strict, geo_distance);
    r.scalar_with("GREATEST", CAT, "The greatest non-null argument.", EXTREME_SIGNATURES, Handled, Some(extreme_type), |a, _| Ok(extreme(a, true)));
    r.scalar_with("LEAST", CAT, "The least non-null argument.", EXTREME_SIGNATURES, Handled, Some(extreme_type), |a, _| Ok(extreme(a, false)));
}

fn unary(a: &[Value], f: fn(f64) -> f64) -> Result<Value> {
    Ok(Value::Double(f(double(a, 0)?)))
}

fn abs(a: &[Value], _: &SqlType) -> Result<Value> {
    Ok(match arg(a, 0) {
        Value::Int(i) => Value::Int(i.wrapping_abs()),
        Value::BigInt(i) => Value::BigInt(i.wrapping_abs()),
        Value::Double(d) => Value::Double(d.abs()),
        Value::Decimal(d) => Value::Decimal(Decimal { unscaled: d.unscaled.wrapping_abs(), ..*d }),
        other => other.clone(),
    })
}

/// ksqlDB's `GeoDistance`: haversine on a sphere of 6371 km / 3959 miles.
fn geo_distance(a: &[Value], _: &SqlType) -> Result<Value> {
    let (lat1, lon1, lat2, lon2) = (double(a, 0)?, double(a, 1)?, double(a, 2)?, double(a, 3)?);
    for lat in [lat1, lat2] {
        if !(-90.0..=90.0).contains(&lat) {
            return eval_err!("valid latitude values for GEO_DISTANCE are in the range of -90 to 90 degrees, got {}", crate::expr::cast::java_double(lat));
        }
    }
    for lon in [lon1, lon2] {
        if !(-180.0..=180.0).contains(&lon) {
            return eval_err!("valid longitude values for GEO_DISTANCE are in the range of -180 to 180 degrees, got {}", crate::expr::cast::java_double(lon));
        }
    }
    let radius = match a.get(4) {
        None => 6371.0,
        Some(Value::String(u)) => match u.to_ascii_uppercase().as_str() {
            "KM" | "KILOMETER" | "KILOMETERS" | "KILOMETRE" | "KILOMETRES" => 6371.0,
            "MI" | "MILE" | "MILES" => 3959.0,
            other => return eval_err!("GEO_DISTANCE unit must be one of KM or MI, got '{other}'"),
        },
        Some(_) => return eval_err!("GEO_DISTANCE unit must be a STRING"),
    };
    let (p1, p2) = (lat1.to_radians(), lat2.to_radians());
    let (dlat, dlon) = ((lat2 - lat1).to_radians(), (lon2 - lon1).to_radians());
    let h = (dlat / 2.0).sin().powi(2) + p1.cos() * p2.cos() * (dlon / 2.0).sin().powi(2);
    Ok(Value::Double(2.0 * radius * h.sqrt().asin()))
}

fn log(a: &[Value], _: &SqlType) -> Result<Value> {
    if a.len() == 1 {
        return unary(a, f64::ln);
    }
    let (base, v) = (double(a, 0)?, double(a, 1)?);
    Ok(Value::Double(if base <= 0.0 || base == 1.0 { f64::NAN } else { v.ln() / base.ln() }))
}

fn sign(a: &[Value], _: &SqlType) -> Result<Value> {
    let s = match arg(a, 0) {
        Value::Double(d) if d.is_nan() => return Ok(Value::Null),
        Value::Double(d) => (*d > 0.0) as i32 - (*d < 0.0) as i32,
        _ => long(a, 0)?.signum() as i32,
    };
    Ok(Value::Int(s))
}

/// Rounding modes of the decimal helpers.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    Ceil,
    Floor,
    /// Ties toward positive infinity (`Math.round`, ksqlDB's ROUND).
    HalfUpPositive,
    Truncate,
}

/// `u * 10^-scale` rounded to `places` fraction digits, kept at `scale`.
pub(crate) fn round_unscaled(u: i128, scale: u8, places: i32, mode: Mode) -> Option<i128> {
    let drop = i32::from(scale).saturating_sub(places);
    if drop <= 0 {
        return Some(u);
    }
    let factor = pow10(drop.unsigned_abs())?;
    let (q, r) = (u.div_euclid(factor), u.rem_euclid(factor));
    let q = match mode {
        Mode::Floor => q,
        Mode::Ceil => q + i128::from(r > 0),
        Mode::HalfUpPositive => q + i128::from(r * 2 >= factor),
        Mode::Truncate => q + i128::from(u < 0 && r > 0),
    };
    q.checked_mul(factor)
}

fn round_decimal(d: Decimal, places: i32, mode: Mode) -> Result<Decimal> {
    match round_unscaled(d.unscaled, d.scale, places, mode) {
        Some(u) => Ok(Decimal { unscaled: u, ..d }),
        None => eval_err!("decimal overflow rounding {d}"),
    }
}

fn round_double(d: f64, places: i32, mode: Mode) -> Result<f64> {
    if !d.is_finite() {
        return eval_err!("Infinite or NaN");
    }
    let dec = crate::expr::decimal::parse(&format!("{d}"))?;
    let rounded = round_decimal(dec, places, mode)?;
    Ok(to_f64(&rounded))
}

fn round_with(a: &[Value], mode: Mode) -> Result<Value> {
    Ok(match arg(a, 0) {
        Value::Double(d) => Value::Double(match mode {
            Mode::Ceil => d.ceil(),
            Mode::Floor => d.floor(),
            _ => d.trunc(),
        }),
        Value::Decimal(d) => Value::Decimal(round_decimal(*d, 0, mode)?),
        other => other.clone(),
    })
}

fn round_type(args: &[SqlType]) -> Option<SqlType> {
    Some(match args {
        [SqlType::Decimal { precision, scale }] => SqlType::Decimal { precision: (precision - scale).max(1), scale: 0 },
        [t @ SqlType::Decimal { .. }, _] => t.clone(),
        [SqlType::Double, _] => SqlType::Double,
        _ => SqlType::BigInt,
    })
}

fn round(a: &[Value], ret: &SqlType) -> Result<Value> {
    let places = if a.len() > 1 { int(a, 1)? } else { 0 };
    Ok(match (arg(a, 0), ret) {
        (Value::Int(i), _) => Value::BigInt(i64::from(*i)),
        (Value::BigInt(i), _) => Value::BigInt(*i),
        (Value::Double(d), SqlType::BigInt) => Value::BigInt((d + 0.5).floor() as i64),
        (Value::Double(d), _) => Value::Double(round_double(*d, places, Mode::HalfUpPositive)?),
        (Value::Decimal(d), SqlType::Decimal { precision, scale }) => {
            let r = round_decimal(*d, places, Mode::HalfUpPositive)?;
            Value::Decimal(crate::expr::decimal::cast(&r, *precision, *scale)?)
        }
        (other, _) => other.clone(),
    })
}

fn trunc(a: &[Value], _: &SqlType) -> Result<Value> {
    let places = if a.len() > 1 { int(a, 1)? } else { 0 };
    Ok(match arg(a, 0) {
        Value::Double(d) if a.len() == 1 => Value::BigInt(d.trunc() as i64),
        Value::Double(d) => Value::Double(round_double(*d, places, Mode::Truncate)?),
        Value::Decimal(_) => Value::Decimal(round_decimal(decimal(a, 0)?, places, Mode::Truncate)?),
        other => other.clone(),
    })
}

/// GREATEST/LEAST: one overload per type, as ksqlDB has them (so `GREATEST(INT, BIGINT)` is
/// ambiguous and string literals convert to DATE/TIME/TIMESTAMP).
const EXTREME_SIGNATURES: &[&str] = &[
    "(INT, INT...) -> INT",
    "(BIGINT, BIGINT...) -> BIGINT",
    "(DOUBLE, DOUBLE...) -> DOUBLE",
    "(DECIMAL, DECIMAL...) -> DECIMAL",
    "(STRING, STRING...) -> STRING",
    "(BYTES, BYTES...) -> BYTES",
    "(DATE, DATE...) -> DATE",
    "(TIME, TIME...) -> TIME",
    "(TIMESTAMP, TIMESTAMP...) -> TIMESTAMP",
];

/// GREATEST/LEAST's type: the widest decimal of decimal arguments, else the overload's type.
fn extreme_type(types: &[SqlType]) -> Option<SqlType> {
    let mut decimals = types.iter().filter(|t| matches!(t, SqlType::Decimal { .. }));
    match decimals.next() {
        Some(first) => decimals.try_fold(first.clone(), |acc, t| crate::expr::types::common_type(&acc, t)),
        None => types.first().cloned(),
    }
}

/// GREATEST/LEAST: nulls skipped, `NULL` when all are.
fn extreme(a: &[Value], greatest: bool) -> Value {
    let want = if greatest { std::cmp::Ordering::Greater } else { std::cmp::Ordering::Less };
    let mut best: Option<&Value> = None;
    for v in a.iter().filter(|v| !v.is_null()) {
        if best.is_none_or(|b| v.sql_cmp(b) == Some(want)) {
            best = Some(v);
        }
    }
    best.cloned().unwrap_or(Value::Null)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounding_modes() {
        assert_eq!(round_unscaled(15, 1, 0, Mode::HalfUpPositive), Some(20));
        assert_eq!(round_unscaled(-15, 1, 0, Mode::HalfUpPositive), Some(-10));
        assert_eq!(round_unscaled(-19, 1, 0, Mode::HalfUpPositive), Some(-20));
        assert_eq!(round_unscaled(-11, 1, 0, Mode::Ceil), Some(-10));
        assert_eq!(round_unscaled(-11, 1, 0, Mode::Floor), Some(-20));
        assert_eq!(round_unscaled(-19, 1, 0, Mode::Truncate), Some(-10));
        assert_eq!(round_unscaled(1234, 0, -2, Mode::HalfUpPositive), Some(1200));
        assert_eq!(round_double(1.2345, 2, Mode::HalfUpPositive).unwrap(), 1.23);
        assert_eq!(round_double(-2.5, 0, Mode::HalfUpPositive).unwrap(), -2.0);
    }
}
