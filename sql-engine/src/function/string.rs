//! String functions (ksqlDB's `udf/string`). Positions are 1-based; lengths count characters.

use super::api::Nulls;
use super::args::{arg, bytes, int, opt_str_value, opt_string, string};
use super::registry::FunctionRegistry;
use crate::value::{SqlType, Value};
use crate::{eval_err, Result};

const CAT: &str = "STRING";
/// Brook's cap on LPAD/RPAD results, so one record cannot exhaust memory.
const MAX_PADDED_LEN: usize = 10_000_000;

pub(crate) fn register(r: &mut FunctionRegistry) {
    use Nulls::*;
    r.scalar("LCASE", CAT, "Converts a string to lower case.", &["(STRING) -> STRING"], Strict, |a, _| Ok(Value::String(string(a, 0)?.to_lowercase())));
    r.scalar("UCASE", CAT, "Converts a string to upper case.", &["(STRING) -> STRING"], Strict, |a, _| Ok(Value::String(string(a, 0)?.to_uppercase())));
    r.scalar("LEN", CAT, "The length of a string in characters, or of bytes in bytes.", &["(STRING) -> INT", "(BYTES) -> INT"], Strict, len);
    r.scalar("TRIM", CAT, "Removes leading and trailing whitespace.", &["(STRING) -> STRING"], Strict, |a, _| Ok(Value::String(string(a, 0)?.trim_matches(is_java_space).to_string())));
    r.scalar("LTRIM", CAT, "Removes leading whitespace.", &["(STRING) -> STRING"], Strict, |a, _| Ok(Value::String(string(a, 0)?.trim_start_matches(is_java_space).to_string())));
    r.scalar("RTRIM", CAT, "Removes trailing whitespace.", &["(STRING) -> STRING"], Strict, |a, _| Ok(Value::String(string(a, 0)?.trim_end_matches(is_java_space).to_string())));
    r.scalar("SUBSTRING", CAT, "The part of a string from a 1-based position (negative from the end), optionally of a length.", &["(STRING, INT) -> STRING", "(STRING, INT, INT) -> STRING", "(BYTES, INT) -> BYTES", "(BYTES, INT, INT) -> BYTES"], Strict, substring);
    r.scalar("REPLACE", CAT, "Replaces every occurrence of a substring.", &["(STRING, STRING, STRING) -> STRING"], Strict, |a, _| Ok(Value::String(string(a, 0)?.replace(string(a, 1)?, string(a, 2)?))));
    r.scalar("CONCAT", CAT, "Concatenates its arguments, skipping nulls.", &["(STRING...) -> STRING", "(BYTES...) -> BYTES"], Handled, concat);
    r.scalar("CONCAT_WS", CAT, "Concatenates its arguments with a separator, skipping nulls.", &["(STRING, STRING...) -> STRING", "(BYTES, BYTES...) -> BYTES"], Handled, concat_ws);
    r.scalar("INSTR", CAT, "The 1-based position of a substring (0 when absent), from a position, for an occurrence.", &["(STRING, STRING) -> INT", "(STRING, STRING, INT) -> INT", "(STRING, STRING, INT, INT) -> INT"], Strict, instr);
    r.scalar("LPAD", CAT, "Pads a string on the left to a length (truncating longer ones).", &["(STRING, INT, STRING) -> STRING", "(BYTES, INT, BYTES) -> BYTES"], Strict, |a, _| pad(a, true));
    r.scalar("RPAD", CAT, "Pads a string on the right to a length (truncating longer ones).", &["(STRING, INT, STRING) -> STRING", "(BYTES, INT, BYTES) -> BYTES"], Strict, |a, _| pad(a, false));
    r.scalar("SPLIT", CAT, "Splits a string at a delimiter (into characters for an empty one).", &["(STRING, STRING) -> ARRAY<STRING>", "(BYTES, BYTES) -> ARRAY<BYTES>"], Strict, split);
    r.scalar("SPLIT_TO_MAP", CAT, "Splits a string into a map: SPLIT_TO_MAP(s, entryDelimiter, kvDelimiter).", &["(STRING, STRING, STRING) -> MAP<STRING, STRING>"], Strict, split_to_map);
    r.scalar("INITCAP", CAT, "Capitalizes the first letter of each word and lower-cases the rest.", &["(STRING) -> STRING"], Strict, initcap);
    r.scalar("MASK", CAT, "Masks letters and digits: MASK(s[, upper, lower, digit, other]).", &["(STRING) -> STRING", "(STRING, STRING, STRING, STRING, STRING) -> STRING"], Handled, |a, _| mask(a, 1, Span::All));
    r.scalar("MASK_LEFT", CAT, "Masks the first N characters.", &["(STRING, INT) -> STRING", "(STRING, INT, STRING, STRING, STRING, STRING) -> STRING"], Handled, |a, _| mask(a, 2, Span::Left));
    r.scalar("MASK_RIGHT", CAT, "Masks the last N characters.", &["(STRING, INT) -> STRING", "(STRING, INT, STRING, STRING, STRING, STRING) -> STRING"], Handled, |a, _| mask(a, 2, Span::Right));
    r.scalar("MASK_KEEP_LEFT", CAT, "Masks all but the first N characters.", &["(STRING, INT) -> STRING", "(STRING, INT, STRING, STRING, STRING, STRING) -> STRING"], Handled, |a, _| mask(a, 2, Span::KeepLeft));
    r.scalar("MASK_KEEP_RIGHT", CAT, "Masks all but the last N characters.", &["(STRING, INT) -> STRING", "(STRING, INT, STRING, STRING, STRING, STRING) -> STRING"], Handled, |a, _| mask(a, 2, Span::KeepRight));
    r.scalar("UUID", CAT, "A random version 4 UUID, or the UUID text of 16 bytes.", &["() -> STRING", "(BYTES) -> STRING"], Strict, uuid);
    r.scalar("CHR", CAT, "The character of a code point, or of a '\\uXXXX' escape.", &["(INT) -> STRING", "(STRING) -> STRING"], Strict, chr);
    r.scalar("REVERSE", CAT, "The string with its characters in reverse order.", &["(STRING) -> STRING"], Strict, |a, _| Ok(Value::String(string(a, 0)?.chars().rev().collect())));
    r.scalar("ELT", CAT, "The N-th (1-based) of the following strings, NULL when out of range.", &["(INT, STRING...) -> STRING"], Handled, elt);
    r.scalar("FIELD", CAT, "The 1-based position of the first argument among the rest, 0 when absent.", &["(STRING, STRING...) -> INT"], Handled, field);
}

/// Java's `String.trim()` whitespace: every char up to U+0020.
fn is_java_space(c: char) -> bool {
    c <= ' '
}

fn len(a: &[Value], _: &SqlType) -> Result<Value> {
    Ok(Value::Int(match arg(a, 0) {
        Value::Bytes(b) => b.len() as i32,
        _ => string(a, 0)?.chars().count() as i32,
    }))
}

/// ksqlDB's `Substring`: start clamped into the string, length clamped to what is left.
fn substring_range(len: usize, pos: i32, count: Option<i32>) -> (usize, usize) {
    let len_i = len as i64;
    let pos = i64::from(pos);
    let start = if pos > 0 { pos - 1 } else if pos < 0 { len_i + pos } else { 0 }.clamp(0, len_i);
    let end = match count {
        Some(c) => (start + i64::from(c).max(0)).min(len_i),
        None => len_i,
    };
    (start as usize, end.max(start) as usize)
}

fn substring(a: &[Value], _: &SqlType) -> Result<Value> {
    let count = if a.len() > 2 { Some(int(a, 2)?) } else { None };
    let pos = int(a, 1)?;
    Ok(match arg(a, 0) {
        Value::Bytes(b) => {
            let (s, e) = substring_range(b.len(), pos, count);
            Value::Bytes(b[s..e].to_vec())
        }
        _ => {
            let chars: Vec<char> = string(a, 0)?.chars().collect();
            let (s, e) = substring_range(chars.len(), pos, count);
            Value::String(chars[s..e].iter().collect())
        }
    })
}

fn concat(a: &[Value], _: &SqlType) -> Result<Value> {
    if a.iter().any(|v| matches!(v, Value::Bytes(_))) {
        return Ok(Value::Bytes(a.iter().filter_map(|v| if let Value::Bytes(b) = v { Some(b.as_slice()) } else { None }).collect::<Vec<_>>().concat()));
    }
    Ok(Value::String(a.iter().filter_map(|v| if let Value::String(s) = v { Some(s.as_str()) } else { None }).collect()))
}

fn concat_ws(a: &[Value], _: &SqlType) -> Result<Value> {
    Ok(match arg(a, 0) {
        Value::String(sep) => Value::String(a[1..].iter().filter_map(|v| if let Value::String(s) = v { Some(s.as_str()) } else { None }).collect::<Vec<_>>().join(sep)),
        Value::Bytes(sep) => Value::Bytes(a[1..].iter().filter_map(|v| if let Value::Bytes(b) = v { Some(b.as_slice()) } else { None }).collect::<Vec<_>>().join(sep.as_slice())),
        _ => Value::Null,
    })
}

/// ksqlDB's `Instr`: a negative position searches backwards from that position from the end.
fn instr(a: &[Value], _: &SqlType) -> Result<Value> {
    let hay: Vec<char> = string(a, 0)?.chars().collect();
    let needle: Vec<char> = string(a, 1)?.chars().collect();
    let pos = if a.len() > 2 { int(a, 2)? } else { 1 };
    let occurrence = if a.len() > 3 { int(a, 3)? } else { 1 };
    if occurrence <= 0 || pos == 0 || needle.len() > hay.len() {
        return Ok(Value::Int(0));
    }
    let matches_at = |i: usize| hay[i..].starts_with(&needle);
    let last = hay.len() - needle.len();
    let mut seen = 0;
    if pos > 0 {
        for i in (pos as usize - 1)..=last {
            if matches_at(i) {
                seen += 1;
                if seen == occurrence {
                    return Ok(Value::Int(i as i32 + 1));
                }
            }
        }
    } else {
        let start = hay.len() as i64 + i64::from(pos);
        if start < 0 {
            return Ok(Value::Int(0));
        }
        for i in (0..=(start as usize).min(last)).rev() {
            if matches_at(i) {
                seen += 1;
                if seen == occurrence {
                    return Ok(Value::Int(i as i32 + 1));
                }
            }
        }
    }
    Ok(Value::Int(0))
}

fn pad_items<T: Clone>(input: &[T], len: usize, fill: &[T], left: bool) -> Vec<T> {
    if input.len() >= len {
        return input[..len].to_vec();
    }
    let padding: Vec<T> = fill.iter().cycle().take(len - input.len()).cloned().collect();
    if left {
        [padding.as_slice(), input].concat()
    } else {
        [input, padding.as_slice()].concat()
    }
}

fn pad(a: &[Value], left: bool) -> Result<Value> {
    let Ok(len) = usize::try_from(int(a, 1)?) else { return Ok(Value::Null) };
    if len > MAX_PADDED_LEN {
        return eval_err!("cannot pad to {len} characters (at most {MAX_PADDED_LEN})");
    }
    Ok(match (arg(a, 0), arg(a, 2)) {
        (Value::Bytes(b), Value::Bytes(f)) if !f.is_empty() => Value::Bytes(pad_items(b, len, f, left)),
        (Value::String(s), Value::String(f)) if !f.is_empty() => {
            let (s, f): (Vec<char>, Vec<char>) = (s.chars().collect(), f.chars().collect());
            Value::String(pad_items(&s, len, &f, left).into_iter().collect())
        }
        _ => Value::Null,
    })
}

fn split(a: &[Value], _: &SqlType) -> Result<Value> {
    Ok(match (arg(a, 0), arg(a, 1)) {
        (Value::String(s), Value::String(d)) if d.is_empty() => Value::Array(s.chars().map(|c| Value::String(c.to_string())).collect()),
        (Value::String(s), Value::String(d)) => Value::Array(s.split(d.as_str()).map(|p| Value::String(p.to_string())).collect()),
        (Value::Bytes(b), Value::Bytes(d)) if d.is_empty() => Value::Array(b.iter().map(|x| Value::Bytes(vec![*x])).collect()),
        (Value::Bytes(b), Value::Bytes(d)) => {
            let mut parts = Vec::new();
            let mut start = 0;
            let mut i = 0;
            while i + d.len() <= b.len() {
                if b[i..].starts_with(d) {
                    parts.push(Value::Bytes(b[start..i].to_vec()));
                    i += d.len();
                    start = i;
                } else {
                    i += 1;
                }
            }
            parts.push(Value::Bytes(b[start..].to_vec()));
            Value::Array(parts)
        }
        _ => Value::Null,
    })
}

/// Entries without the key-value delimiter are skipped; empty delimiters give `NULL`.
fn split_to_map(a: &[Value], _: &SqlType) -> Result<Value> {
    let (s, entry, kv) = (string(a, 0)?, string(a, 1)?, string(a, 2)?);
    if entry.is_empty() || kv.is_empty() || entry == kv {
        return Ok(Value::Null);
    }
    let mut out: Vec<(Value, Value)> = Vec::new();
    for part in s.split(entry).filter(|p| !p.is_empty()) {
        // ksqlDB keeps the first two parts of an entry split at the key-value delimiter.
        let mut parts = part.split(kv);
        if let (Some(k), Some(v)) = (parts.next(), parts.next()) {
            let k = Value::String(k.to_string());
            match out.iter_mut().find(|(x, _)| *x == k) {
                Some(slot) => slot.1 = Value::String(v.to_string()),
                None => out.push((k, Value::String(v.to_string()))),
            }
        }
    }
    Ok(Value::Map(out))
}

fn initcap(a: &[Value], _: &SqlType) -> Result<Value> {
    let mut out = String::new();
    let mut start = true;
    for c in string(a, 0)?.chars() {
        if c.is_whitespace() {
            start = true;
            out.push(c);
        } else if start {
            out.extend(c.to_uppercase());
            start = false;
        } else {
            out.extend(c.to_lowercase());
        }
    }
    Ok(Value::String(out))
}

#[derive(Clone, Copy)]
enum Span {
    All,
    Left,
    Right,
    KeepLeft,
    KeepRight,
}

/// ksqlDB's masking: upper-case letters -> `X`, lower-case -> `x`, digits -> `n`, others -> `-`;
/// a `NULL` replacement keeps that class unmasked.
fn mask(a: &[Value], first_mask_arg: usize, span: Span) -> Result<Value> {
    let Some(s) = opt_string(a, 0)? else { return Ok(Value::Null) };
    let replacement = |i: usize, default: char| -> Result<Option<char>> {
        if a.len() <= first_mask_arg {
            return Ok(Some(default));
        }
        Ok(opt_string(a, first_mask_arg + i)?.and_then(|r| r.chars().next()))
    };
    let (upper, lower, digit, other) = (replacement(0, 'X')?, replacement(1, 'x')?, replacement(2, 'n')?, replacement(3, '-')?);
    let n = match span {
        Span::All => 0,
        _ => match arg(a, 1) {
            Value::Int(n) if *n >= 0 => *n as usize,
            Value::Int(n) => return eval_err!("function mask requires a non-negative number of characters, got {n}"),
            _ => return Ok(Value::Null),
        },
    };
    let chars: Vec<char> = s.chars().collect();
    let len = chars.len();
    let masked = |i: usize| match span {
        Span::All => true,
        Span::Left => i < n,
        Span::Right => i + n >= len,
        Span::KeepLeft => i >= n,
        Span::KeepRight => i + n < len,
    };
    let out: String = chars
        .iter()
        .enumerate()
        .map(|(i, &c)| {
            if !masked(i) {
                return c;
            }
            let r = if c.is_uppercase() {
                upper
            } else if c.is_lowercase() {
                lower
            } else if c.is_ascii_digit() {
                digit
            } else {
                other
            };
            r.unwrap_or(c)
        })
        .collect();
    Ok(Value::String(out))
}

fn uuid(a: &[Value], _: &SqlType) -> Result<Value> {
    if a.is_empty() {
        return Ok(Value::String(uuid::Uuid::new_v4().to_string()));
    }
    Ok(match uuid::Uuid::from_slice(bytes(a, 0)?) {
        Ok(u) => Value::String(u.to_string()),
        Err(_) => Value::Null,
    })
}

fn chr(a: &[Value], _: &SqlType) -> Result<Value> {
    let code = match arg(a, 0) {
        Value::Int(c) => u32::try_from(*c).ok(),
        _ => {
            // `\\uXXXX` escapes (a surrogate pair gives one character), as Java unescapes them.
            let s = string(a, 0)?;
            let units: Option<Vec<u16>> = s.strip_prefix("\\u").map(|rest| rest.split("\\u").map(|h| if h.len() == 4 { u16::from_str_radix(h, 16).ok() } else { None }).collect::<Option<Vec<u16>>>()).flatten();
            return Ok(opt_str_value(units.and_then(|u| String::from_utf16(&u).ok())));
        }
    };
    Ok(opt_str_value(code.and_then(char::from_u32).map(String::from)))
}

fn elt(a: &[Value], _: &SqlType) -> Result<Value> {
    let Value::Int(n) = arg(a, 0) else { return Ok(Value::Null) };
    Ok(match usize::try_from(*n) {
        Ok(n) if n >= 1 && n < a.len() => a[n].clone(),
        _ => Value::Null,
    })
}

fn field(a: &[Value], _: &SqlType) -> Result<Value> {
    let target = arg(a, 0);
    if target.is_null() {
        return Ok(Value::Int(0));
    }
    Ok(Value::Int(a[1..].iter().position(|v| v == target).map_or(0, |p| p as i32 + 1)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn substring_ranges_follow_ksqldb() {
        assert_eq!(substring_range(5, 2, None), (1, 5));
        assert_eq!(substring_range(5, -2, None), (3, 5));
        assert_eq!(substring_range(5, 2, Some(2)), (1, 3));
        assert_eq!(substring_range(5, 9, Some(2)), (5, 5));
        assert_eq!(substring_range(5, -9, Some(2)), (0, 2));
        assert_eq!(substring_range(5, 1, Some(-1)), (0, 0));
    }
}
