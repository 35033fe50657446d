//! Java `DateTimeFormatter` / `SimpleDateFormat` patterns (`yyyy-MM-dd'T'HH:mm:ss.SSSZ`)
//! translated to chrono's strftime: shared by the SQL engine's time functions and Kafka
//! Connect's `TimestampConverter` / `TimestampRouter`.
//!
//! Differences from Java: `S` and `SS` print and parse three digits; week-based fields (`w`,
//! `Y`) are ISO weeks. Java's `X`/`XX`/`XXX` have no strftime letter: the translation marks them
//! with [`X_SHORT`] and [`X_COLON`], which callers turn into chrono items.

use chrono::format::{parse, Fixed, Item, Parsed, StrftimeItems};
use chrono::{FixedOffset, NaiveDateTime};

/// A Java pattern as a chrono strftime string.
///
/// # Errors
/// A message for letters Java reserves that have no translation, or an unclosed quote.
pub fn to_strftime(pattern: &str) -> Result<String, String> {
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
                    None => return Err(format!("Invalid pattern '{pattern}': unterminated quote")),
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
            _ => return Err(format!("Unknown pattern letter: {c}")),
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

/// The marker of Java's `X`/`XX`. Java's `X`/`XX` (`+0200`, `Z` at zero) and `XXX` (`+02:00`, `Z`): chrono has these items
/// but no strftime letters, so the translation marks them with private-use characters.
pub const X_SHORT: char = '\u{E000}';
/// The marker of Java's `XXX`.
pub const X_COLON: char = '\u{E001}';


/// Items of a translated pattern, rejecting ones chrono cannot handle.
pub fn items(fmt: &str) -> Result<Vec<Item<'_>>, String> {
    let mut out = Vec::new();
    for item in StrftimeItems::new(fmt) {
        match item {
            Item::Error => return Err(format!("Invalid pattern: {fmt}")),
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

/// Parses text with a Java pattern into a local date-time (missing fields defaulted to
/// 1970-01-01 00:00) and the offset the text carried, if any.
pub fn parse_local(text: &str, pattern: &str) -> Result<(NaiveDateTime, Option<FixedOffset>), String> {
    let fmt = to_strftime(pattern)?;
    let items = items(&fmt)?;
    let bad = |why: &str| format!("Text '{text}' could not be parsed with pattern '{pattern}': {why}");
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

