//! Java `DateTimeFormatter` / `SimpleDateFormat` patterns (`yyyy-MM-dd'T'HH:mm:ss.SSSZ`)
//! translated to chrono's strftime, plus the time zones ksqlDB accepts (`ZoneId.of`: region
//! names, `UTC`, `Z`, `+02:00`). Parsing fills missing fields as ksqlDB does: 1970-01-01,
//! midnight.
//!
//! Differences from Java: `S` and `SS` print and parse three digits; a single `X` prints
//! `+hhmm` like `XX` (Java: `+hh`); week-based fields (`w`,
//! `Y`) are ISO weeks.

use std::fmt::Write;

use chrono::format::{parse, Fixed, Item, Parsed, StrftimeItems};
use chrono::{DateTime, FixedOffset, NaiveDateTime, Offset, TimeZone, Utc};
use chrono_tz::Tz;

use crate::{eval_err, Error, Result};

/// A Java pattern as a chrono strftime string.
///
/// # Errors
/// [`Error::Eval`] for letters Java reserves that have no translation, or an unclosed quote.
pub(crate) fn to_strftime(pattern: &str) -> Result<String> {
    let chars: Vec<char> = pattern.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '\'' {
            let mut j = i + 1;
            if chars.get(j) == Some(&'\'') {
                out.push('\'');
                i += 2;
                continue;
            }
            loop {
                match chars.get(j) {
                    None => return eval_err!("Invalid pattern '{pattern}': unterminated quote"),
                    Some('\'') if chars.get(j + 1) == Some(&'\'') => {
                        out.push('\'');
                        j += 2;
                    }
                    Some('\'') => break,
                    Some(&l) => {
                        push_literal(&mut out, l);
                        j += 1;
                    }
                }
            }
            i = j + 1;
            continue;
        }
        if !c.is_ascii_alphabetic() {
            push_literal(&mut out, c);
            i += 1;
            continue;
        }
        let mut n = 1;
        while chars.get(i + n) == Some(&c) {
            n += 1;
        }
        let spec = match (c, n) {
            ('y' | 'u', 2) => "%y",
            ('y' | 'u', _) => "%Y",
            ('Y', 2) => "%g",
            ('Y', _) => "%G",
            ('M' | 'L', 1) => "%-m",
            ('M' | 'L', 2) => "%m",
            ('M' | 'L', 3) => "%b",
            ('M' | 'L', _) => "%B",
            ('d', 1) => "%-d",
            ('d', _) => "%d",
            ('D', 1 | 2) => "%-j",
            ('D', _) => "%j",
            ('E' | 'e' | 'c', 1..=3) => "%a",
            ('E' | 'e' | 'c', _) => "%A",
            ('a', _) => "%p",
            ('H' | 'k', 1) => "%-H",
            ('H' | 'k', _) => "%H",
            ('h' | 'K', 1) => "%-I",
            ('h' | 'K', _) => "%I",
            ('m', 1) => "%-M",
            ('m', _) => "%M",
            ('s', 1) => "%-S",
            ('s', _) => "%S",
            ('S', 1..=3) => "%3f",
            ('S', 4..=6) => "%6f",
            ('S', _) => "%9f",
            ('n', _) => "%9f",
            ('w', _) => "%V",
            ('z' | 'V' | 'v', _) => "%Z",
            ('Z' | 'x', 1..=3) => "%z",
            ('Z' | 'x' | 'X', _) => "%:z",
            ('G', _) => "AD",
            _ => return eval_err!("Unknown pattern letter: {c}"),
        };
        match (c, n) {
            ('X', 1 | 2) => out.push(X_SHORT),
            ('X', _) => out.push(X_COLON),
            _ => out.push_str(spec),
        }
        i += n;
    }
    Ok(out)
}

fn push_literal(out: &mut String, c: char) {
    if c == '%' {
        out.push_str("%%");
    } else {
        out.push(c);
    }
}

/// Java's `X`/`XX` (`+0200`, `Z` at zero) and `XXX` (`+02:00`, `Z`): chrono has these items
/// but no strftime letters, so the translation marks them with private-use characters.
const X_SHORT: char = '\u{E000}';
const X_COLON: char = '\u{E001}';

/// Items of a translated pattern, rejecting ones chrono cannot handle.
fn items(fmt: &str) -> Result<Vec<Item<'_>>> {
    let mut out = Vec::new();
    for item in StrftimeItems::new(fmt) {
        match item {
            Item::Error => return eval_err!("Invalid pattern: {fmt}"),
            Item::Literal(s) if s.contains([X_SHORT, X_COLON]) => {
                let mut rest = s;
                while let Some(i) = rest.find([X_SHORT, X_COLON]) {
                    if i > 0 {
                        out.push(Item::Literal(&rest[..i]));
                    }
                    let marker = rest[i..].chars().next().unwrap_or(X_SHORT);
                    out.push(Item::Fixed(if marker == X_SHORT { Fixed::TimezoneOffsetZ } else { Fixed::TimezoneOffsetColonZ }));
                    rest = &rest[i + marker.len_utf8()..];
                }
                if !rest.is_empty() {
                    out.push(Item::Literal(rest));
                }
            }
            other => out.push(other),
        }
    }
    Ok(out)
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
/// 1970-01-01 00:00) and the offset the text carried, if any.
pub(crate) fn parse_local(text: &str, pattern: &str) -> Result<(NaiveDateTime, Option<FixedOffset>)> {
    let fmt = to_strftime(pattern)?;
    let items = items(&fmt)?;
    let bad = |why: &str| Error::Eval(format!("Text '{text}' could not be parsed with pattern '{pattern}': {why}"));
    let mut p = Parsed::new();
    parse(&mut p, text, items.iter()).map_err(|e| bad(&e.to_string()))?;
    let defaults = |p: &mut Parsed| -> chrono::format::ParseResult<()> {
        if p.year().is_none() && p.year_mod_100().is_none() && p.isoyear().is_none() {
            p.set_year(1970)?;
        }
        if p.month().is_none() && p.ordinal().is_none() && p.isoweek().is_none() {
            p.set_month(1)?;
        }
        if p.day().is_none() && p.ordinal().is_none() && p.isoweek().is_none() {
            p.set_day(1)?;
        }
        if p.hour_div_12().is_none() {
            if p.hour_mod_12().is_none() {
                p.set_hour(0)?;
            } else {
                p.set_ampm(false)?;
            }
        }
        if p.minute().is_none() {
            p.set_minute(0)?;
        }
        Ok(())
    };
    defaults(&mut p).map_err(|e| bad(&e.to_string()))?;
    let date = p.to_naive_date().map_err(|e| bad(&e.to_string()))?;
    let time = p.to_naive_time().map_err(|e| bad(&e.to_string()))?;
    let offset = p.offset().and_then(FixedOffset::east_opt);
    Ok((date.and_time(time), offset))
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
