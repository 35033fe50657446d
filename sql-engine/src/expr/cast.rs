//! `CAST` and the implicit conversions: which types convert to which (ksqlDB's
//! `CastEvaluator` rules), the conversions themselves, and the text forms values take when
//! cast to `STRING` (Java's `Double.toString`, ISO-8601 dates and times).

use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, Timelike};

use super::decimal;
use crate::value::{SqlType, Value};
use crate::{eval_err, Error, Result};

/// Days from 0001-01-01 (chrono's CE day 1) to 1970-01-01.
const EPOCH_DAYS_FROM_CE: i32 = 719_163;
pub(crate) const MS_PER_DAY: i64 = 86_400_000;

/// Whether `CAST(x AS to)` is allowed for an `x` of type `from`.
pub(crate) fn castable(from: &SqlType, to: &SqlType) -> bool {
    use SqlType as T;
    if from == to || *to == T::String {
        return !matches!(from, T::Bytes) || *to == T::Bytes;
    }
    match (from, to) {
        (T::Int | T::BigInt | T::Double | T::Decimal { .. }, T::Int | T::BigInt | T::Double | T::Decimal { .. }) => true,
        (T::String, T::Boolean | T::Int | T::BigInt | T::Double | T::Decimal { .. } | T::Date | T::Time | T::Timestamp) => true,
        (T::Timestamp, T::Date | T::Time) | (T::Date, T::Timestamp) => true,
        (T::Array(a), T::Array(b)) => castable(a, b),
        (T::Map(k1, v1), T::Map(k2, v2)) => castable(k1, k2) && castable(v1, v2),
        (T::Struct(a), T::Struct(b)) => b.iter().all(|(n, t)| a.iter().find(|(m, _)| m == n).is_none_or(|(_, s)| castable(s, t))),
        _ => false,
    }
}

/// `CAST(v AS to)`; `v` is a value of a type [`castable`] to `to`.
///
/// # Errors
/// [`Error::Eval`] when the value does not convert (unparsable text, decimal overflow).
pub(crate) fn cast(v: Value, to: &SqlType) -> Result<Value> {
    use SqlType as T;
    Ok(match (v, to) {
        (Value::Null, _) => Value::Null,
        (v, T::String) => Value::String(to_text(&v)),
        (Value::Boolean(b), T::Boolean) => Value::Boolean(b),
        (Value::String(s), T::Boolean) => Value::Boolean(parse_bool(&s)?),
        (Value::String(s), T::Int) => Value::Int(s.trim().parse().map_err(|_| number_error(&s, to))?),
        (Value::String(s), T::BigInt) => Value::BigInt(s.trim().parse().map_err(|_| number_error(&s, to))?),
        (Value::String(s), T::Double) => Value::Double(parse_double(&s).ok_or_else(|| number_error(&s, to))?),
        (Value::String(s), T::Decimal { precision, scale }) => Value::Decimal(decimal::cast(&decimal::parse(&s)?, *precision, *scale)?),
        (Value::String(s), T::Date) => Value::Date(parse_date(&s)?),
        (Value::String(s), T::Time) => Value::Time(parse_time(&s)?),
        (Value::String(s), T::Timestamp) => Value::Timestamp(parse_timestamp(&s)?),
        (v @ (Value::Int(_) | Value::BigInt(_) | Value::Double(_) | Value::Decimal(_)), _) => cast_number(v, to)?,
        (Value::Timestamp(ms), T::Date) => Value::Date(ms.div_euclid(MS_PER_DAY) as i32),
        (Value::Timestamp(ms), T::Time) => Value::Time(ms.rem_euclid(MS_PER_DAY) as i32),
        (Value::Timestamp(ms), T::Timestamp) => Value::Timestamp(ms),
        (Value::Date(d), T::Timestamp) => Value::Timestamp(i64::from(d) * MS_PER_DAY),
        (Value::Date(d), T::Date) => Value::Date(d),
        (Value::Time(t), T::Time) => Value::Time(t),
        (Value::Bytes(b), T::Bytes) => Value::Bytes(b),
        (Value::Array(items), T::Array(t)) => Value::Array(items.into_iter().map(|v| cast(v, t)).collect::<Result<_>>()?),
        (Value::Map(entries), T::Map(kt, vt)) => Value::Map(entries.into_iter().map(|(k, v)| Ok((cast(k, kt)?, cast(v, vt)?))).collect::<Result<_>>()?),
        (Value::Struct(fields), T::Struct(types)) => {
            let mut fields = fields;
            let mut out = Vec::with_capacity(types.len());
            for (name, ty) in types {
                let v = match fields.iter().position(|(n, _)| n == name) {
                    Some(i) => cast(std::mem::replace(&mut fields[i].1, Value::Null), ty)?,
                    None => Value::Null,
                };
                out.push((name.clone(), v));
            }
            Value::Struct(out)
        }
        (v, to) => return eval_err!("cannot cast {} to {to}", value_kind(&v)),
    })
}

fn number_error(s: &str, to: &SqlType) -> Error {
    Error::Eval(format!("Cannot cast '{s}' to {to}: not a number"))
}

/// The name of a value's type, for messages.
pub(crate) fn value_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "NULL",
        Value::Boolean(_) => "BOOLEAN",
        Value::Int(_) => "INTEGER",
        Value::BigInt(_) => "BIGINT",
        Value::Double(_) => "DOUBLE",
        Value::Decimal(_) => "DECIMAL",
        Value::String(_) => "STRING",
        Value::Bytes(_) => "BYTES",
        Value::Date(_) => "DATE",
        Value::Time(_) => "TIME",
        Value::Timestamp(_) => "TIMESTAMP",
        Value::Array(_) => "ARRAY",
        Value::Map(_) => "MAP",
        Value::Struct(_) => "STRUCT",
    }
}

/// Numeric conversions with Java's semantics: narrowing integers wrap, doubles truncate toward
/// zero and saturate, decimals round `HALF_UP` to the target scale.
fn cast_number(v: Value, to: &SqlType) -> Result<Value> {
    use SqlType as T;
    Ok(match (v, to) {
        (Value::Int(i), T::Int) => Value::Int(i),
        (Value::Int(i), T::BigInt) => Value::BigInt(i64::from(i)),
        (Value::Int(i), T::Double) => Value::Double(f64::from(i)),
        (Value::Int(i), T::Decimal { precision, scale }) => Value::Decimal(decimal::from_i64(i64::from(i), *precision, *scale)?),
        (Value::BigInt(i), T::Int) => Value::Int(i as i32),
        (Value::BigInt(i), T::BigInt) => Value::BigInt(i),
        (Value::BigInt(i), T::Double) => Value::Double(i as f64),
        (Value::BigInt(i), T::Decimal { precision, scale }) => Value::Decimal(decimal::from_i64(i, *precision, *scale)?),
        (Value::Double(d), T::Int) => Value::Int(d as i32),
        (Value::Double(d), T::BigInt) => Value::BigInt(d as i64),
        (Value::Double(d), T::Double) => Value::Double(d),
        (Value::Double(d), T::Decimal { precision, scale }) => Value::Decimal(decimal::from_f64(d, *precision, *scale)?),
        (Value::Decimal(d), T::Int) => Value::Int(decimal::to_i64(&d) as i32),
        (Value::Decimal(d), T::BigInt) => Value::BigInt(decimal::to_i64(&d)),
        (Value::Decimal(d), T::Double) => Value::Double(decimal::to_f64(&d)),
        (Value::Decimal(d), T::Decimal { precision, scale }) => Value::Decimal(decimal::cast(&d, *precision, *scale)?),
        (v, to) => return eval_err!("cannot cast {} to {to}", value_kind(&v)),
    })
}

/// ksqlDB's boolean text: `true`/`false`, `yes`/`no`, `t`/`f`, `y`/`n`, any case.
pub(crate) fn parse_bool(s: &str) -> Result<bool> {
    match s.trim().to_ascii_lowercase().as_str() {
        "true" | "yes" | "t" | "y" => Ok(true),
        "false" | "no" | "f" | "n" => Ok(false),
        _ => eval_err!("Cannot cast '{s}' to BOOLEAN: not a boolean"),
    }
}

/// Java's `Double.parseDouble`: also `NaN`, `Infinity`, a trailing `d`/`f`.
pub(crate) fn parse_double(s: &str) -> Option<f64> {
    let t = s.trim();
    let t = t.strip_suffix(['d', 'D', 'f', 'F']).unwrap_or(t);
    match t {
        "NaN" => Some(f64::NAN),
        "Infinity" | "+Infinity" => Some(f64::INFINITY),
        "-Infinity" => Some(f64::NEG_INFINITY),
        _ if t.chars().any(|c| c.is_ascii_alphabetic() && c != 'e' && c != 'E') => None,
        _ => t.parse().ok(),
    }
}

pub(crate) use crate::format::scalar::java_double;

/// The text of a value as `CAST(v AS STRING)` gives it.
pub(crate) fn to_text(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Boolean(b) => b.to_string(),
        Value::Int(i) => i.to_string(),
        Value::BigInt(i) => i.to_string(),
        Value::Double(d) => java_double(*d),
        Value::Decimal(d) => d.to_string(),
        Value::String(s) => s.clone(),
        Value::Bytes(b) => {
            use base64::Engine;
            base64::engine::general_purpose::STANDARD.encode(b)
        }
        Value::Date(d) => format_date(*d),
        Value::Time(t) => format_time(*t),
        Value::Timestamp(ms) => format_timestamp(*ms),
        Value::Array(items) => format!("[{}]", items.iter().map(to_text).collect::<Vec<_>>().join(", ")),
        Value::Map(entries) => format!("{{{}}}", entries.iter().map(|(k, v)| format!("{}={}", to_text(k), to_text(v))).collect::<Vec<_>>().join(", ")),
        Value::Struct(fields) => format!("Struct{{{}}}", fields.iter().filter(|(_, v)| !v.is_null()).map(|(k, v)| format!("{k}={}", to_text(v))).collect::<Vec<_>>().join(",")),
    }
}

/// Days since the epoch as a date.
pub(crate) fn date_of(days: i32) -> Option<NaiveDate> {
    NaiveDate::from_num_days_from_ce_opt(days.checked_add(EPOCH_DAYS_FROM_CE)?)
}

/// A date as days since the epoch.
pub(crate) fn days_of(date: NaiveDate) -> i32 {
    date.num_days_from_ce() - EPOCH_DAYS_FROM_CE
}

use chrono::Datelike;

/// Milliseconds since the epoch as a UTC date-time.
pub(crate) fn datetime_of(ms: i64) -> Option<NaiveDateTime> {
    DateTime::from_timestamp_millis(ms).map(|d| d.naive_utc())
}

/// Milliseconds after midnight as a time of day.
pub(crate) fn time_of(ms: i32) -> Option<NaiveTime> {
    let ms = u32::try_from(ms).ok()?;
    NaiveTime::from_num_seconds_from_midnight_opt(ms / 1000, (ms % 1000) * 1_000_000)
}

/// `yyyy-MM-dd`.
pub(crate) fn format_date(days: i32) -> String {
    date_of(days).map_or_else(|| days.to_string(), |d| d.format("%Y-%m-%d").to_string())
}

/// `HH:mm:ss`, with `.SSS` when there are milliseconds.
pub(crate) fn format_time(ms: i32) -> String {
    match time_of(ms) {
        Some(t) if t.nanosecond() == 0 => t.format("%H:%M:%S").to_string(),
        Some(t) => t.format("%H:%M:%S%.3f").to_string(),
        None => ms.to_string(),
    }
}

/// `yyyy-MM-ddTHH:mm:ss.SSS` in UTC, as ksqlDB prints timestamps.
pub(crate) fn format_timestamp(ms: i64) -> String {
    datetime_of(ms).map_or_else(|| ms.to_string(), |d| d.format("%Y-%m-%dT%H:%M:%S%.3f").to_string())
}

/// `yyyy-MM-dd`.
pub(crate) fn parse_date(s: &str) -> Result<i32> {
    NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").map(days_of).map_err(|_| Error::Eval(format!("Failed to parse date '{s}': required format is yyyy-MM-dd")))
}

/// `HH:mm[:ss[.SSS]]`.
pub(crate) fn parse_time(s: &str) -> Result<i32> {
    let t = s.trim();
    ["%H:%M:%S%.f", "%H:%M"]
        .iter()
        .find_map(|f| NaiveTime::parse_from_str(t, f).ok())
        .map(|t| (t.num_seconds_from_midnight() * 1000 + t.nanosecond() / 1_000_000) as i32)
        .ok_or_else(|| Error::Eval(format!("Failed to parse time '{s}': required format is HH:mm:ss")))
}

/// ISO-8601, partial forms allowed (`2020-01-01`, `2020-01-01T10:00`, `...:00.123`), optional
/// offset (`Z`, `+02:00`, `+0200`); no offset means UTC, as ksqlDB's timestamp literals.
pub(crate) fn parse_timestamp(s: &str) -> Result<i64> {
    let bad = || Error::Eval(format!("Failed to parse timestamp '{s}': required format is yyyy-MM-ddTHH:mm:ss.SSS[Z]"));
    let t = s.trim();
    if let Ok(d) = DateTime::parse_from_rfc3339(t) {
        return Ok(d.timestamp_millis());
    }
    for f in ["%Y-%m-%dT%H:%M:%S%.f%z", "%Y-%m-%dT%H:%M:%S%.f%:z", "%Y-%m-%dT%H:%M%z", "%Y-%m-%dT%H:%M%:z"] {
        if let Ok(d) = DateTime::parse_from_str(t, f) {
            return Ok(d.timestamp_millis());
        }
    }
    let local = t.strip_suffix('Z').unwrap_or(t);
    for f in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H"] {
        if let Ok(d) = NaiveDateTime::parse_from_str(local, f) {
            return Ok(d.and_utc().timestamp_millis());
        }
    }
    if let Ok(d) = NaiveDate::parse_from_str(local, "%Y-%m-%d") {
        return Ok(i64::from(days_of(d)) * MS_PER_DAY);
    }
    Err(bad())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn java_double_text() {
        assert_eq!(java_double(1.0), "1.0");
        assert_eq!(java_double(0.001), "0.001");
        assert_eq!(java_double(1e7), "1.0E7");
        assert_eq!(java_double(1.234e-5), "1.234E-5");
        assert_eq!(java_double(-2.5), "-2.5");
        assert_eq!(java_double(123456.789), "123456.789");
        assert_eq!(java_double(f64::NAN), "NaN");
    }

    #[test]
    fn temporal_text_round_trips() {
        let ts = parse_timestamp("2020-01-02T03:04:05.678").unwrap();
        assert_eq!(ts, 1_577_934_245_678);
        assert_eq!(format_timestamp(ts), "2020-01-02T03:04:05.678");
        assert_eq!(parse_timestamp("2020-01-02T03:04:05.678+01:00").unwrap(), ts - 3_600_000);
        assert_eq!(parse_timestamp("2020-01-02").unwrap(), 1_577_923_200_000);
        assert_eq!(parse_date("1970-01-11").unwrap(), 10);
        assert_eq!(format_date(-1), "1969-12-31");
        assert_eq!(parse_time("01:00:00.5").unwrap(), 3_600_500);
        assert_eq!(format_time(3_600_500), "01:00:00.500");
        assert!(parse_timestamp("yesterday").is_err());
    }

    #[test]
    fn casts_follow_java() {
        assert_eq!(cast(Value::Double(-2.9), &SqlType::Int).unwrap(), Value::Int(-2));
        assert_eq!(cast(Value::BigInt(1 << 32), &SqlType::Int).unwrap(), Value::Int(0));
        assert_eq!(cast(Value::String(" 42 ".into()), &SqlType::BigInt).unwrap(), Value::BigInt(42));
        assert!(cast(Value::String("4x".into()), &SqlType::Int).is_err());
        assert_eq!(cast(Value::String("YES".into()), &SqlType::Boolean).unwrap(), Value::Boolean(true));
        assert_eq!(cast(Value::Double(1.005), &SqlType::Decimal { precision: 4, scale: 2 }).unwrap().to_owned(), cast(Value::String("1.01".into()), &SqlType::Decimal { precision: 4, scale: 2 }).unwrap());
        assert!(cast(Value::Int(1000), &SqlType::Decimal { precision: 3, scale: 1 }).is_err());
        assert!(castable(&SqlType::Int, &SqlType::String));
        assert!(!castable(&SqlType::Boolean, &SqlType::Int));
        assert!(!castable(&SqlType::Bytes, &SqlType::String));
    }
}
