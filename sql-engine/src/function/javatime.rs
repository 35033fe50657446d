//! Java `DateTimeFormatter` / `SimpleDateFormat` patterns (`yyyy-MM-dd'T'HH:mm:ss.SSSZ`)
//! translated to chrono's strftime, plus the time zones ksqlDB accepts (`ZoneId.of`: region
//! names, `UTC`, `Z`, `+02:00`). Parsing fills missing fields as ksqlDB does: 1970-01-01,
//! midnight.
//!
//! Differences from Java: `S` and `SS` print and parse three digits; a single `X` prints
//! `+hhmm` like `XX` (Java: `+hh`); week-based fields (`w`,
//! `Y`) are ISO weeks.

use std::fmt::Write;

use chrono::format::Item;
use chrono::{DateTime, FixedOffset, NaiveDateTime, Offset, TimeZone, Utc};
use chrono_tz::Tz;

use crate::{eval_err, Error, Result};

/// A Java pattern as a chrono strftime string (`brook_common::javatime`).
///
/// # Errors
/// [`Error::Eval`] for letters Java reserves that have no translation, or an unclosed quote.
pub(crate) fn to_strftime(pattern: &str) -> Result<String> {
    brook_common::javatime::to_strftime(pattern).map_err(Error::Eval)
}

/// Items of a translated pattern, rejecting ones chrono cannot handle.
fn items(fmt: &str) -> Result<Vec<Item<'_>>> {
    brook_common::javatime::items(fmt).map_err(Error::Eval)
}

/// A time zone: a region (`America/New_York`, `UTC`) or a fixed offset (`+02:00`).
#[derive(Debug, Clone, Copy)]
pub(crate) enum Zone {
    Region(Tz),
    Fixed(FixedOffset),
}

impl Zone {
    /// `ZoneId.of` spellings: region names, `UTC`/`GMT`/`Z`, `+hh:mm`, `UTC+hh:mm`.
    pub(crate) fn parse(s: &str) -> Result<Zone> {
        let t = s.trim();
        if t == "Z" {
            return Ok(Zone::Fixed(Utc.fix()));
        }
        if let Ok(tz) = t.parse::<Tz>() {
            return Ok(Zone::Region(tz));
        }
        let offset = t.strip_prefix("UTC").or_else(|| t.strip_prefix("GMT")).unwrap_or(t);
        fixed_offset(offset).map(Zone::Fixed).ok_or_else(|| Error::Eval(format!("Unknown time-zone ID: {s}")))
    }

    /// The offset in effect at a UTC instant.
    pub(crate) fn offset_at(self, utc: &NaiveDateTime) -> FixedOffset {
        match self {
            Zone::Region(tz) => tz.offset_from_utc_datetime(utc).fix(),
            Zone::Fixed(f) => f,
        }
    }

    /// The UTC instant of a local date-time (the earlier one in a DST overlap, the later
    /// side of a gap).
    pub(crate) fn to_utc(self, local: &NaiveDateTime) -> Option<DateTime<Utc>> {
        match self {
            Zone::Region(tz) => tz.from_local_datetime(local).earliest().or_else(|| local.checked_add_signed(chrono::Duration::hours(1)).and_then(|later| tz.from_local_datetime(&later).earliest())).map(|d| d.with_timezone(&Utc)),
            Zone::Fixed(f) => f.from_local_datetime(local).earliest().map(|d| d.with_timezone(&Utc)),
        }
    }
}

fn fixed_offset(s: &str) -> Option<FixedOffset> {
    let (sign, rest) = match s.chars().next()? {
        '+' => (1, &s[1..]),
        '-' => (-1, &s[1..]),
        _ => return None,
    };
    let digits: String = rest.chars().filter(|c| *c != ':').collect();
    let (h, m) = match digits.len() {
        1 | 2 => (digits.parse::<i32>().ok()?, 0),
        4 => (digits[..2].parse::<i32>().ok()?, digits[2..].parse::<i32>().ok()?),
        _ => return None,
    };
    FixedOffset::east_opt(sign * (h * 3600 + m * 60))
}

/// Formats the instant `ms` in `zone` with a Java pattern.
pub(crate) fn format_instant(ms: i64, pattern: &str, zone: &Zone) -> Result<String> {
    let fmt = to_strftime(pattern)?;
    let items = items(&fmt)?;
    let Some(utc) = DateTime::from_timestamp_millis(ms) else {
        return eval_err!("timestamp {ms} out of range");
    };
    let mut out = String::new();
    let written = match zone {
        Zone::Region(tz) => write!(out, "{}", utc.with_timezone(tz).format_with_items(items.iter())),
        Zone::Fixed(f) => write!(out, "{}", utc.with_timezone(f).format_with_items(items.iter())),
    };
    written.map_err(|_| Error::Eval(format!("cannot format timestamp with pattern '{pattern}'")))?;
    Ok(out)
}

/// Formats a naive date or time with a Java pattern.
pub(crate) fn format_naive<T>(value: &T, pattern: &str) -> Result<String>
where
    T: NaiveFormat,
{
    let fmt = to_strftime(pattern)?;
    let items = items(&fmt)?;
    let mut out = String::new();
    value.write(&mut out, &items).map_err(|_| Error::Eval(format!("pattern '{pattern}' asks for fields the value does not have")))?;
    Ok(out)
}

/// Chrono's naive types that format with items.
pub(crate) trait NaiveFormat {
    fn write(&self, out: &mut String, items: &[Item<'_>]) -> std::fmt::Result;
}

impl NaiveFormat for chrono::NaiveDate {
    fn write(&self, out: &mut String, items: &[Item<'_>]) -> std::fmt::Result {
        write!(out, "{}", self.format_with_items(items.iter()))
    }
}

impl NaiveFormat for chrono::NaiveTime {
    fn write(&self, out: &mut String, items: &[Item<'_>]) -> std::fmt::Result {
        write!(out, "{}", self.format_with_items(items.iter()))
    }
}

/// Parses text with a Java pattern into a local date-time (missing fields defaulted to
/// 1970-01-01 00:00) and the offset the text carried, if any (`brook_common::javatime`).
pub(crate) fn parse_local(text: &str, pattern: &str) -> Result<(NaiveDateTime, Option<FixedOffset>)> {
    brook_common::javatime::parse_local(text, pattern).map_err(Error::Eval)
}

/// Parses an instant: the text's own offset wins over `zone`.
pub(crate) fn parse_instant(text: &str, pattern: &str, zone: &Zone) -> Result<i64> {
    let (local, offset) = parse_local(text, pattern)?;
    let utc = match offset {
        Some(f) => f.from_local_datetime(&local).earliest().map(|d| d.with_timezone(&Utc)),
        None => zone.to_utc(&local),
    };
    utc.map(|d| d.timestamp_millis()).ok_or_else(|| Error::Eval(format!("Text '{text}' is not a valid instant")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn translates_java_patterns() {
        assert_eq!(to_strftime("yyyy-MM-dd'T'HH:mm:ss.SSS").unwrap(), "%Y-%m-%dT%H:%M:%S.%3f");
        assert_eq!(to_strftime("dd/MMM/yy h:mm a Z").unwrap(), "%d/%b/%y %-I:%M %p %z");
        assert_eq!(to_strftime("'It''s' 100%").unwrap(), "It's 100%%");
        assert!(to_strftime("yyyy 'oops").is_err());
        assert!(to_strftime("qqq").is_err());
    }

    #[test]
    fn formats_and_parses_instants() {
        let utc = Zone::parse("UTC").unwrap();
        let ms = 1_577_934_245_678;
        assert_eq!(format_instant(ms, "yyyy-MM-dd HH:mm:ss.SSS", &utc).unwrap(), "2020-01-02 03:04:05.678");
        let ny = Zone::parse("America/New_York").unwrap();
        assert_eq!(format_instant(ms, "yyyy-MM-dd HH:mm z", &ny).unwrap(), "2020-01-01 22:04 EST");
        assert_eq!(parse_instant("2020-01-02 03:04:05.678", "yyyy-MM-dd HH:mm:ss.SSS", &utc).unwrap(), ms);
        assert_eq!(parse_instant("2020-01-01 22:04:05.678", "yyyy-MM-dd HH:mm:ss.SSS", &ny).unwrap(), ms);
        assert_eq!(parse_instant("2020-01-02 04:04:05.678 +0100", "yyyy-MM-dd HH:mm:ss.SSS Z", &ny).unwrap(), ms);
        assert_eq!(parse_instant("2020-01-02", "yyyy-MM-dd", &utc).unwrap(), 1_577_923_200_000);
        assert!(parse_instant("nope", "yyyy", &utc).is_err());
        assert!(matches!(Zone::parse("+05:30").unwrap(), Zone::Fixed(f) if f.local_minus_utc() == 19800));
        assert!(Zone::parse("Mars/Base").is_err());
    }
}
