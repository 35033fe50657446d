//! Date and time functions (ksqlDB's `udf/datetime`). Patterns are Java's (see
//! [`super::javatime`]); zones default to UTC. `DATEADD`/`TIMEADD`/`TIMESTAMPADD` take a time
//! unit word as their first argument (`MINUTES`), which the compiler passes as a string.

use super::api::Nulls;
use super::args::{arg, int, long, string};
use super::javatime::{format_instant, format_naive, parse_instant, parse_local, Zone};
use super::registry::FunctionRegistry;
use crate::expr::cast::{date_of, days_of, time_of, MS_PER_DAY};
use crate::value::{SqlType, Value};
use crate::{eval_err, Result};

const CAT: &str = "DATE / TIME";

pub(crate) fn register(r: &mut FunctionRegistry) {
    use Nulls::*;
    r.scalar("UNIX_TIMESTAMP", CAT, "Milliseconds since the epoch: now, or of a TIMESTAMP.", &["() -> BIGINT", "(TIMESTAMP) -> BIGINT"], Strict, unix_timestamp);
    r.scalar("UNIX_DATE", CAT, "Days since the epoch: today, or of a DATE.", &["() -> INT", "(DATE) -> INT"], Strict, unix_date);
    r.scalar("FROM_UNIXTIME", CAT, "The TIMESTAMP of milliseconds since the epoch.", &["(BIGINT) -> TIMESTAMP"], Strict, |a, _| Ok(Value::Timestamp(long(a, 0)?)));
    r.scalar("FROM_DAYS", CAT, "The DATE of days since the epoch.", &["(INT) -> DATE"], Strict, |a, _| Ok(Value::Date(int(a, 0)?)));
    r.scalar("TIMESTAMPTOSTRING", CAT, "Formats epoch milliseconds with a Java pattern, in UTC or a zone.", &["(BIGINT, STRING) -> STRING", "(BIGINT, STRING, STRING) -> STRING"], Strict, format_ts);
    r.scalar("STRINGTOTIMESTAMP", CAT, "Parses epoch milliseconds with a Java pattern, in UTC or a zone.", &["(STRING, STRING) -> BIGINT", "(STRING, STRING, STRING) -> BIGINT"], Strict, |a, _| Ok(Value::BigInt(parse_ts(a)?)));
    r.scalar("FORMAT_TIMESTAMP", CAT, "Formats a TIMESTAMP with a Java pattern, in UTC or a zone.", &["(TIMESTAMP, STRING) -> STRING", "(TIMESTAMP, STRING, STRING) -> STRING"], Strict, format_ts);
    r.scalar("PARSE_TIMESTAMP", CAT, "Parses a TIMESTAMP with a Java pattern, in UTC or a zone.", &["(STRING, STRING) -> TIMESTAMP", "(STRING, STRING, STRING) -> TIMESTAMP"], Strict, |a, _| Ok(Value::Timestamp(parse_ts(a)?)));
    r.scalar("FORMAT_DATE", CAT, "Formats a DATE with a Java pattern.", &["(DATE, STRING) -> STRING"], Strict, format_date);
    r.scalar("PARSE_DATE", CAT, "Parses a DATE with a Java pattern.", &["(STRING, STRING) -> DATE"], Strict, |a, _| Ok(Value::Date(days_of(parse_local(string(a, 0)?, string(a, 1)?)?.0.date()))));
    r.scalar("DATETOSTRING", CAT, "Formats days since the epoch with a Java pattern.", &["(INT, STRING) -> STRING"], Strict, format_date);
    r.scalar("STRINGTODATE", CAT, "Parses days since the epoch with a Java pattern.", &["(STRING, STRING) -> INT"], Strict, |a, _| Ok(Value::Int(days_of(parse_local(string(a, 0)?, string(a, 1)?)?.0.date()))));
    r.scalar("FORMAT_TIME", CAT, "Formats a TIME with a Java pattern.", &["(TIME, STRING) -> STRING"], Strict, format_time);
    r.scalar("PARSE_TIME", CAT, "Parses a TIME with a Java pattern.", &["(STRING, STRING) -> TIME"], Strict, parse_time);
    r.scalar("DATEADD", CAT, "Adds an interval in a unit (DAYS, ...) to a DATE.", &["(STRING, INT, DATE) -> DATE"], Strict, |a, _| shift_date(a, 1));
    r.scalar("DATESUB", CAT, "Subtracts an interval in a unit (DAYS, ...) from a DATE.", &["(STRING, INT, DATE) -> DATE"], Strict, |a, _| shift_date(a, -1));
    r.scalar("TIMEADD", CAT, "Adds an interval in a unit (HOURS, MINUTES, ...) to a TIME, wrapping at midnight.", &["(STRING, INT, TIME) -> TIME"], Strict, |a, _| shift_time(a, 1));
    r.scalar("TIMESUB", CAT, "Subtracts an interval in a unit from a TIME, wrapping at midnight.", &["(STRING, INT, TIME) -> TIME"], Strict, |a, _| shift_time(a, -1));
    r.scalar("TIMESTAMPADD", CAT, "Adds an interval in a unit (MILLISECONDS ... DAYS) to a TIMESTAMP.", &["(STRING, BIGINT, TIMESTAMP) -> TIMESTAMP"], Strict, |a, _| shift_timestamp(a, 1));
    r.scalar("TIMESTAMPSUB", CAT, "Subtracts an interval in a unit from a TIMESTAMP.", &["(STRING, BIGINT, TIMESTAMP) -> TIMESTAMP"], Strict, |a, _| shift_timestamp(a, -1));
    r.scalar("CONVERT_TZ", CAT, "Shifts a TIMESTAMP's (or TIME's) wall-clock time from one zone to another.", &["(TIMESTAMP, STRING, STRING) -> TIMESTAMP", "(TIME, STRING, STRING) -> TIME"], Strict, convert_tz);
}

use brook_common::now_ms;

fn unix_timestamp(a: &[Value], _: &SqlType) -> Result<Value> {
    Ok(Value::BigInt(if a.is_empty() { now_ms() } else { long(a, 0)? }))
}

fn unix_date(a: &[Value], _: &SqlType) -> Result<Value> {
    Ok(Value::Int(match arg(a, 0) {
        Value::Date(d) => *d,
        _ => now_ms().div_euclid(MS_PER_DAY) as i32,
    }))
}

fn zone_arg(a: &[Value], i: usize) -> Result<Zone> {
    if a.len() > i {
        Zone::parse(string(a, i)?)
    } else {
        Ok(Zone::Fixed(chrono::Utc.fix()))
    }
}

use chrono::{Offset, Timelike};

fn format_ts(a: &[Value], _: &SqlType) -> Result<Value> {
    Ok(Value::String(format_instant(long(a, 0)?, string(a, 1)?, &zone_arg(a, 2)?)?))
}

fn parse_ts(a: &[Value]) -> Result<i64> {
    parse_instant(string(a, 0)?, string(a, 1)?, &zone_arg(a, 2)?)
}

fn format_date(a: &[Value], _: &SqlType) -> Result<Value> {
    let days = match arg(a, 0) {
        Value::Date(d) => *d,
        _ => int(a, 0)?,
    };
    let Some(date) = date_of(days) else { return eval_err!("date {days} out of range") };
    Ok(Value::String(format_naive(&date, string(a, 1)?)?))
}

fn format_time(a: &[Value], _: &SqlType) -> Result<Value> {
    let Value::Time(ms) = arg(a, 0) else { return eval_err!("FORMAT_TIME expects a TIME") };
    let Some(t) = time_of(*ms) else { return eval_err!("time {ms} out of range") };
    Ok(Value::String(format_naive(&t, string(a, 1)?)?))
}

fn parse_time(a: &[Value], _: &SqlType) -> Result<Value> {
    let t = parse_local(string(a, 0)?, string(a, 1)?)?.0.time();
    Ok(Value::Time((t.num_seconds_from_midnight() * 1000 + t.nanosecond() / 1_000_000) as i32))
}

/// Milliseconds in one of Java's `TimeUnit`s, by ksqlDB's spelling (plural or singular).
/// As a fraction `(numerator, denominator)`.
fn unit_ms(unit: &str) -> Result<(i128, i128)> {
    Ok(match unit.to_ascii_uppercase().trim_end_matches('S') {
        "NANOSECOND" => (1, 1_000_000),
        "MICROSECOND" => (1, 1000),
        "MILLISECOND" => (1, 1),
        "SECOND" => (1000, 1),
        "MINUTE" => (60_000, 1),
        "HOUR" => (3_600_000, 1),
        "DAY" => (86_400_000, 1),
        _ => return eval_err!("Unknown time unit: '{unit}'. Use one of NANOSECONDS, MICROSECONDS, MILLISECONDS, SECONDS, MINUTES, HOURS, DAYS"),
    })
}

/// `interval` of `unit` in milliseconds, truncated toward zero like `TimeUnit.toMillis`.
fn interval_ms(unit: &str, interval: i64, sign: i64) -> Result<i64> {
    let (num, den) = unit_ms(unit)?;
    let ms = i128::from(interval) * num / den * i128::from(sign);
    i64::try_from(ms).map_err(|_| crate::Error::Eval(format!("interval of {interval} {unit} overflows")))
}

fn shift_date(a: &[Value], sign: i64) -> Result<Value> {
    let Value::Date(d) = arg(a, 2) else { return eval_err!("expected a DATE") };
    let days = interval_ms(string(a, 0)?, i64::from(int(a, 1)?), sign)? / MS_PER_DAY;
    Ok(Value::Date((i64::from(*d) + days) as i32))
}

fn shift_time(a: &[Value], sign: i64) -> Result<Value> {
    let Value::Time(t) = arg(a, 2) else { return eval_err!("expected a TIME") };
    let ms = interval_ms(string(a, 0)?, i64::from(int(a, 1)?), sign)?;
    Ok(Value::Time((i64::from(*t) + ms).rem_euclid(MS_PER_DAY) as i32))
}

fn shift_timestamp(a: &[Value], sign: i64) -> Result<Value> {
    let Value::Timestamp(ts) = arg(a, 2) else { return eval_err!("expected a TIMESTAMP") };
    Ok(Value::Timestamp(ts.wrapping_add(interval_ms(string(a, 0)?, long(a, 1)?, sign)?)))
}

/// The instant whose wall-clock time in `to` equals `ts`'s wall-clock time in `from`.
fn convert_tz(a: &[Value], _: &SqlType) -> Result<Value> {
    let (ts, time) = match arg(a, 0) {
        Value::Timestamp(ts) => (*ts, false),
        // A TIME shifts as that time of 1970-01-01, wrapping around midnight.
        Value::Time(t) => (i64::from(*t), true),
        _ => return eval_err!("expected a TIMESTAMP or TIME"),
    };
    let (from, to) = (Zone::parse(string(a, 1)?)?, Zone::parse(string(a, 2)?)?);
    let Some(utc) = chrono::DateTime::from_timestamp_millis(ts).map(|d| d.naive_utc()) else {
        return eval_err!("timestamp {ts} out of range");
    };
    let shift = i64::from(to.offset_at(&utc).local_minus_utc() - from.offset_at(&utc).local_minus_utc()) * 1000;
    if time {
        return Ok(Value::Time(ts.saturating_add(shift).rem_euclid(MS_PER_DAY) as i32));
    }
    Ok(Value::Timestamp(ts.saturating_add(shift)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_and_shifts() {
        assert_eq!(interval_ms("MINUTES", 2, 1).unwrap(), 120_000);
        assert_eq!(interval_ms("day", 1, -1).unwrap(), -MS_PER_DAY);
        assert!(interval_ms("FORTNIGHTS", 1, 1).is_err());
        let s = |v: &str| Value::String(v.into());
        assert_eq!(shift_time(&[s("HOURS"), Value::Int(3), Value::Time(23 * 3_600_000)], 1).unwrap(), Value::Time(2 * 3_600_000));
        assert_eq!(shift_date(&[s("DAYS"), Value::Int(3), Value::Date(10)], -1).unwrap(), Value::Date(7));
        assert_eq!(shift_date(&[s("HOURS"), Value::Int(47), Value::Date(10)], 1).unwrap(), Value::Date(11));
    }
}
