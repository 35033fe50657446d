//! Expected JSON against actual values, with ksqlDB's rules (`ExpectedRecordComparator`), and
//! actual values printed as ksqlDB prints them in a mismatch (Java's `toString`).
//!
//! The rules, by the JSON type of the expectation:
//! - number vs `INT`/`BIGINT` (and `DATE`/`TIME`/`TIMESTAMP`, which JSON carries as numbers):
//!   the expectation truncated to a whole number (`intValue()`/`longValue()`) must equal it;
//! - number vs `DOUBLE`: `1` and `1.0` both equal `1.0`;
//! - number vs `DECIMAL`: an integer literal matches only a decimal of scale 0 with that value,
//!   a decimal literal only the same digits *and* scale (`1.10` is not `1.1`, as `BigDecimal::equals`);
//! - string vs `DECIMAL`: the string read as a decimal, same rule; string vs `BYTES`: base64;
//! - object vs struct or map: same number of fields, each field looked up as written, then
//!   upper-cased; array vs array: same length, element by element; `null` vs `null` only.

use std::fmt::Write;

use crate::value::{Decimal, Value};

use super::json::Json;
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;

/// A decimal as `BigDecimal` holds it: `unscaled * 10^-scale`, scale possibly negative.
fn parse_decimal(text: &str) -> Option<(i128, i32)> {
    let (mantissa, exp) = match text.find(['e', 'E']) {
        Some(i) => (&text[..i], text[i + 1..].parse::<i32>().ok()?),
        None => (text, 0),
    };
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    if frac.contains(['-', '+']) || int.is_empty() && frac.is_empty() {
        return None;
    }
    let unscaled: i128 = format!("{int}{frac}").parse().ok()?;
    let scale = i32::try_from(frac.len()).ok()?.checked_sub(exp)?;
    Some((unscaled, scale))
}

/// `NumericNode::longValue()`: the value truncated towards zero (wrapping, as Java's casts).
fn truncated(text: &str) -> Option<i64> {
    if let Ok(v) = text.parse::<i128>() {
        return Some(v as i64);
    }
    let (unscaled, scale) = parse_decimal(text)?;
    Some(if scale >= 0 {
        10i128
            .checked_pow(scale.unsigned_abs())
            .map_or(0, |p| unscaled / p) as i64
    } else {
        10i128
            .checked_pow(scale.unsigned_abs())
            .and_then(|p| unscaled.checked_mul(p))
            .unwrap_or(0) as i64
    })
}

fn decimal_eq(d: &Decimal, expected: (i128, i32)) -> bool {
    (d.unscaled, i32::from(d.scale)) == expected
}

/// Whether `actual` satisfies `expected` by ksqlDB's rules (see the module docs).
pub fn matches(actual: &Value, expected: &Json) -> bool {
    match expected {
        Json::Null => actual.is_null(),
        Json::Bool(b) => matches!(actual, Value::Boolean(a) if a == b),
        Json::String(s) => match actual {
            Value::String(a) => a == s,
            Value::Decimal(d) => parse_decimal(s).is_some_and(|e| decimal_eq(d, e)),
            Value::Bytes(b) => BASE64.encode(b) == *s,
            _ => false,
        },
        Json::Number(text) => match actual {
            Value::Int(a) | Value::Date(a) | Value::Time(a) => {
                truncated(text).is_some_and(|e| e as i32 == *a)
            }
            Value::BigInt(a) | Value::Timestamp(a) => truncated(text) == Some(*a),
            Value::Double(a) => text.parse::<f64>().is_ok_and(|e| e == *a),
            Value::Decimal(d) if expected.is_integral() => {
                d.scale == 0 && text.parse::<i128>().is_ok_and(|e| e == d.unscaled)
            }
            Value::Decimal(d) => parse_decimal(text).is_some_and(|e| decimal_eq(d, e)),
            _ => false,
        },
        Json::Array(items) => match actual {
            Value::Array(a) => {
                a.len() == items.len() && a.iter().zip(items).all(|(a, e)| matches(a, e))
            }
            _ => false,
        },
        Json::Object(fields) => {
            let get = |name: &str| -> Option<&Value> {
                match actual {
                    Value::Struct(f) => f.iter().find(|(k, _)| k == name).map(|(_, v)| v),
                    Value::Map(m) => m
                        .iter()
                        .find(|(k, _)| matches!(k, Value::String(k) if k == name))
                        .map(|(_, v)| v),
                    _ => None,
                }
            };
            let len = match actual {
                Value::Struct(f) => f.len(),
                Value::Map(m) => m.len(),
                _ => return false,
            };
            len == fields.len()
                && fields.iter().all(|(name, e)| {
                    let a = get(name).or_else(|| get(&name.to_uppercase()));
                    a.map_or(*e == Json::Null, |a| matches(a, e))
                })
        }
    }
}

/// An actual value read from JSON bytes as ksqlDB's test tool reads them (Jackson with exact
/// decimals): whole numbers become `BIGINT`, others `DECIMAL` with the scale as written (a
/// `DOUBLE` when the digits do not fit), objects structs in field order.
pub fn value_from_json(json: &Json) -> Value {
    match json {
        Json::Null => Value::Null,
        Json::Bool(b) => Value::Boolean(*b),
        Json::String(s) => Value::String(s.clone()),
        Json::Number(t) => {
            if json.is_integral() {
                if let Ok(v) = t.parse::<i64>() {
                    return Value::BigInt(v);
                }
            }
            match parse_decimal(t) {
                Some((unscaled, scale))
                    if (0..=38).contains(&scale) && unscaled.unsigned_abs() < 10u128.pow(38) =>
                {
                    let digits = unscaled
                        .unsigned_abs()
                        .to_string()
                        .len()
                        .max(scale as usize + 1);
                    Value::Decimal(Decimal {
                        unscaled,
                        precision: digits.min(38) as u8,
                        scale: scale as u8,
                    })
                }
                _ => Value::Double(t.parse().unwrap_or(f64::NAN)),
            }
        }
        Json::Array(items) => Value::Array(items.iter().map(value_from_json).collect()),
        Json::Object(fields) => Value::Struct(
            fields
                .iter()
                .map(|(k, v)| (k.clone(), value_from_json(v)))
                .collect(),
        ),
    }
}

/// Java's `Double.toString`: `1.0`, `0.001`, `1.0E7`, `1.5E-4`, `NaN`, `Infinity`.
pub(crate) fn java_double(v: f64) -> String {
    if v.is_nan() {
        return "NaN".into();
    }
    if v.is_infinite() {
        return if v > 0.0 { "Infinity" } else { "-Infinity" }.into();
    }
    let abs = v.abs();
    if abs == 0.0 || (1e-3..1e7).contains(&abs) {
        let s = v.to_string();
        return if s.contains('.') { s } else { format!("{s}.0") };
    }
    let s = format!("{v:e}");
    let (mantissa, exp) = s.split_once('e').unwrap_or((&s, "0"));
    let mantissa = if mantissa.contains('.') {
        mantissa.to_owned()
    } else {
        format!("{mantissa}.0")
    };
    format!("{mantissa}E{exp}")
}

/// `value` as Java prints the object ksqlDB's test tool holds for it: maps and structs as
/// `{A=1, B=x}`, lists as `[1, 2]`, strings bare, bytes as base64.
pub fn java_string(value: &Value) -> String {
    let mut out = String::new();
    write_java(&mut out, value);
    out
}

fn write_java(out: &mut String, value: &Value) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Boolean(b) => {
            let _ = write!(out, "{b}");
        }
        Value::Int(v) | Value::Date(v) | Value::Time(v) => {
            let _ = write!(out, "{v}");
        }
        Value::BigInt(v) | Value::Timestamp(v) => {
            let _ = write!(out, "{v}");
        }
        Value::Double(v) => out.push_str(&java_double(*v)),
        Value::Decimal(d) => {
            let _ = write!(out, "{d}");
        }
        Value::String(s) => out.push_str(s),
        Value::Bytes(b) => out.push_str(&BASE64.encode(b)),
        Value::Array(items) => write_seq(out, "[]", items, write_java),
        Value::Map(entries) => write_seq(out, "{}", entries, |out, (k, v)| {
            write_java(out, k);
            out.push('=');
            write_java(out, v);
        }),
        Value::Struct(fields) => write_seq(out, "{}", fields, |out, (k, v)| {
            out.push_str(k);
            out.push('=');
            write_java(out, v);
        }),
    }
}

/// `items` between the two characters of `brackets`, separated by `", "`.
fn write_seq<T>(
    out: &mut String,
    brackets: &str,
    items: &[T],
    mut item: impl FnMut(&mut String, &T),
) {
    let mut b = brackets.chars();
    out.extend(b.next());
    for (i, v) in items.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        item(out, v);
    }
    out.extend(b.next());
}

#[cfg(test)]
mod tests {
    use super::*;

    fn j(text: &str) -> Json {
        Json::parse(text).unwrap()
    }

    fn dec(unscaled: i128, scale: u8) -> Value {
        Value::Decimal(Decimal {
            unscaled,
            precision: 10,
            scale,
        })
    }

    #[test]
    fn numbers_follow_ksqldb() {
        assert!(matches(&Value::Double(1.0), &j("1")));
        assert!(matches(&Value::Double(1.0), &j("1.0")));
        assert!(!matches(&Value::Double(1.5), &j("1")));
        assert!(matches(&Value::Int(1), &j("1.9")), "intValue() truncates");
        assert!(matches(&Value::BigInt(-3), &j("-3")));
        assert!(!matches(&Value::BigInt(3), &j("\"3\"")));
        assert!(matches(&dec(110, 2), &j("1.10")));
        assert!(
            !matches(&dec(110, 2), &j("1.1")),
            "decimals compare digits and scale"
        );
        assert!(
            !matches(&dec(10, 1), &j("1")),
            "an integer literal never matches a fraction"
        );
        assert!(matches(&dec(12, 0), &j("12")));
        assert!(matches(&dec(110, 2), &j("\"1.10\"")));
        assert!(!matches(&dec(110, 2), &j("\"abc\"")));
        assert!(matches(
            &Value::Timestamp(1_600_000_000_000),
            &j("1600000000000")
        ));
    }

    #[test]
    fn structs_maps_arrays_and_nulls() {
        let s = Value::Struct(vec![("A".into(), Value::Int(1)), ("B".into(), Value::Null)]);
        assert!(
            matches(&s, &j(r#"{"a":1,"B":null}"#)),
            "field names fall back to upper case"
        );
        assert!(!matches(&s, &j(r#"{"A":1}"#)), "field counts must agree");
        assert!(!matches(&s, &j(r#"{"A":1,"C":2}"#)));
        assert!(
            matches(&s, &j(r#"{"A":1,"C":null}"#)),
            "a missing field reads as null, as Java's Map::get"
        );
        let m = Value::Map(vec![(
            Value::String("k".into()),
            Value::Array(vec![Value::Boolean(true)]),
        )]);
        assert!(matches(&m, &j(r#"{"k":[true]}"#)));
        assert!(!matches(&m, &j(r#"{"k":[true,false]}"#)));
        assert!(matches(&Value::Null, &j("null")));
        assert!(!matches(&Value::String("null".into()), &j("null")));
        assert!(matches(&Value::Bytes(vec![1, 2]), &j("\"AQI=\"")));
    }

    #[test]
    fn json_bytes_read_as_jackson_reads_them() {
        let v = value_from_json(&j(r#"{"A":1,"B":1.50,"C":[true,"x"],"D":1e400}"#));
        let Value::Struct(f) = &v else {
            panic!("not a struct: {v:?}")
        };
        assert_eq!(f[0].1, Value::BigInt(1));
        assert!(matches!(
            f[1].1,
            Value::Decimal(Decimal {
                unscaled: 150,
                scale: 2,
                ..
            })
        ));
        assert!(!matches(&f[1].1, &j("1.5")));
        assert!(matches!(f[3].1, Value::Double(d) if d.is_infinite()));
        assert_eq!(java_string(&v), "{A=1, B=1.50, C=[true, x], D=Infinity}");
    }

    #[test]
    fn doubles_print_as_java() {
        for (v, s) in [
            (1.0, "1.0"),
            (0.5, "0.5"),
            (1e7, "1.0E7"),
            (1.5e-4, "1.5E-4"),
            (-0.0, "-0.0"),
            (123456.789, "123456.789"),
        ] {
            assert_eq!(java_double(v), s);
        }
    }
}
