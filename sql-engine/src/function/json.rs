//! JSON functions (ksqlDB's `udf/json`): JSON text in, text or SQL values out. Invalid JSON
//! gives `NULL`, as in ksqlDB.

use super::jsondoc::Doc as Json;

use super::api::Nulls;
use super::args::{arg, string};
use super::registry::FunctionRegistry;
use crate::expr::cast;
use crate::value::{SqlType, Value};
use crate::Result;

const CAT: &str = "JSON";

pub(crate) fn register(r: &mut FunctionRegistry) {
    use Nulls::*;
    r.scalar("EXTRACTJSONFIELD", CAT, "The value at a JSONPath ($.a.b[0]) in JSON text: strings unquoted, other values as JSON.", &["(STRING, STRING) -> STRING"], Strict, extract_json_field);
    r.scalar("JSON_ARRAY_LENGTH", CAT, "The length of a JSON array, NULL for anything else.", &["(STRING) -> INT"], Strict, json_array_length);
    r.scalar("JSON_CONCAT", CAT, "Merges JSON objects, or concatenates JSON arrays (other values wrapped as one-element arrays).", &["(STRING, STRING...) -> STRING"], Handled, json_concat);
    r.scalar("JSON_ARRAY_CONTAINS", CAT, "Whether a JSON array contains a value (compared as JSON), false for anything else.", &["(STRING, ANY) -> BOOLEAN"], Handled, json_array_contains);
    r.scalar("JSON_KEYS", CAT, "The keys of a JSON object.", &["(STRING) -> ARRAY<STRING>"], Strict, json_keys);
    r.scalar("JSON_RECORDS", CAT, "The entries of a JSON object, values as JSON text.", &["(STRING) -> MAP<STRING, STRING>"], Strict, json_records);
    r.scalar("IS_JSON_STRING", CAT, "Whether the string is valid JSON.", &["(STRING) -> BOOLEAN"], Handled, |a, _| Ok(Value::Boolean(matches!(arg(a, 0), Value::String(s) if parse(s).is_some()))));
    r.scalar("TO_JSON_STRING", CAT, "Any value as JSON text.", &["(ANY) -> STRING"], Handled, |a, _| Ok(Value::String(to_json(arg(a, 0)).to_string())));
}

fn parse(s: &str) -> Option<Json> {
    Json::parse(s)
}

/// Path steps of `$.a['b'][0]`.
fn path_steps(path: &str) -> Option<Vec<Step>> {
    let rest = path.trim().strip_prefix('$')?;
    let mut steps = Vec::new();
    let chars: Vec<char> = rest.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        match chars[i] {
            '.' => {
                let start = i + 1;
                i = start;
                while i < chars.len() && chars[i] != '.' && chars[i] != '[' {
                    i += 1;
                }
                steps.push(Step::Key(chars[start..i].iter().collect()));
            }
            '[' => {
                let end = i + chars[i..].iter().position(|c| *c == ']')?;
                let inner: String = chars[i + 1..end].iter().collect();
                let inner = inner.trim();
                let quoted = inner.strip_prefix('\'').and_then(|s| s.strip_suffix('\'')).or_else(|| inner.strip_prefix('"').and_then(|s| s.strip_suffix('"')));
                steps.push(match quoted {
                    Some(k) => Step::Key(k.to_string()),
                    None => Step::Index(inner.parse().ok()?),
                });
                i = end + 1;
            }
            _ => return None,
        }
    }
    Some(steps)
}

enum Step {
    Key(String),
    Index(usize),
}

fn extract_json_field(a: &[Value], _: &SqlType) -> Result<Value> {
    let (Some(mut node), Some(steps)) = (Json::parse_first(string(a, 0)?), path_steps(string(a, 1)?)) else {
        return Ok(Value::Null);
    };
    for step in steps {
        let next = match (&step, &mut node) {
            (Step::Key(k), Json::Object(o)) => o.iter().position(|(key, _)| key == k).map(|i| o.swap_remove(i).1),
            (Step::Index(i), Json::Array(v)) if *i < v.len() => Some(v.swap_remove(*i)),
            _ => None,
        };
        match next {
            Some(n) => node = n,
            None => return Ok(Value::Null),
        }
    }
    Ok(match node {
        Json::Null => Value::Null,
        Json::String(s) => Value::String(s),
        other => Value::String(other.to_string()),
    })
}

fn json_array_length(a: &[Value], _: &SqlType) -> Result<Value> {
    Ok(match parse(string(a, 0)?) {
        Some(Json::Array(v)) => Value::Int(v.len() as i32),
        _ => Value::Null,
    })
}

fn json_array_contains(a: &[Value], _: &SqlType) -> Result<Value> {
    let Value::String(text) = arg(a, 0) else { return Ok(Value::Boolean(false)) };
    let Some(Json::Array(items)) = parse(text) else { return Ok(Value::Boolean(false)) };
    let wanted = arg(a, 1);
    Ok(Value::Boolean(items.iter().any(|item| json_equals(item, wanted))))
}

/// ksqlDB's JSON_ARRAY_CONTAINS equality: numbers by value, strings and booleans exactly,
/// `NULL` matches JSON `null`.
fn json_equals(item: &Json, v: &Value) -> bool {
    match (item, v) {
        (Json::Null, Value::Null) => true,
        (Json::Bool(a), Value::Boolean(b)) => a == b,
        (Json::String(a), Value::String(b)) => a == b,
        (Json::Number(n), Value::Int(i)) => n.as_i64() == Some(i64::from(*i)),
        (Json::Number(n), Value::BigInt(i)) => n.as_i64() == Some(*i),
        (Json::Number(n), Value::Double(d)) => n.as_f64() == Some(*d),
        _ => false,
    }
}

fn json_keys(a: &[Value], _: &SqlType) -> Result<Value> {
    Ok(match parse(string(a, 0)?) {
        Some(Json::Object(o)) => Value::Array(o.into_iter().map(|(k, _)| Value::String(k)).collect()),
        _ => Value::Null,
    })
}

fn json_concat(a: &[Value], _: &SqlType) -> Result<Value> {
    let mut docs = Vec::with_capacity(a.len());
    for v in a {
        match v {
            Value::String(s) => match parse(s) {
                Some(j) => docs.push(j),
                None => return Ok(Value::Null),
            },
            _ => return Ok(Value::Null),
        }
    }
    let merged = if docs.iter().all(|d| matches!(d, Json::Object(_))) {
        let mut out = Vec::new();
        for d in docs {
            if let Json::Object(o) = d {
                for (k, v) in o {
                    Json::insert(&mut out, k, v);
                }
            }
        }
        Json::Object(out)
    } else {
        Json::Array(docs.into_iter().flat_map(|d| if let Json::Array(v) = d { v } else { vec![d] }).collect())
    };
    Ok(Value::String(merged.to_string()))
}

fn json_records(a: &[Value], _: &SqlType) -> Result<Value> {
    Ok(match parse(string(a, 0)?) {
        // String values unquoted, others as JSON text (Jackson's `asText`/`toString`).
        Some(Json::Object(o)) => Value::Map(o.into_iter().map(|(k, v)| (Value::String(k), Value::String(match v {
            Json::String(s) => s,
            other => other.to_string(),
        }))).collect()),
        _ => Value::Null,
    })
}

/// A value as JSON: structs and maps as objects, decimals as numbers, bytes as base64,
/// dates, times and timestamps as their ISO text.
pub(crate) fn to_json(v: &Value) -> Json {
    match v {
        Value::Null => Json::Null,
        Value::Boolean(b) => Json::Bool(*b),
        Value::Int(i) => Json::Number((*i).into()),
        Value::BigInt(i) => Json::Number((*i).into()),
        Value::Double(d) => serde_json::Number::from_f64(*d).map_or(Json::Null, Json::Number),
        Value::Decimal(d) => d.to_string().parse::<serde_json::Number>().map_or_else(|_| Json::String(d.to_string()), Json::Number),
        Value::String(s) => Json::String(s.clone()),
        Value::Array(items) => Json::Array(items.iter().map(to_json).collect()),
        Value::Map(entries) => Json::Object(entries.iter().map(|(k, v)| (cast::to_text(k), to_json(v))).collect()),
        Value::Struct(fields) => Json::Object(fields.iter().map(|(k, v)| (k.clone(), to_json(v))).collect()),
        other => Json::String(cast::to_text(other)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &str) -> Value {
        Value::String(v.into())
    }

    #[test]
    fn extract_json_field_paths() {
        let doc = s(r#"{"a": {"b": [10, {"c": "x"}]}, "n": null}"#);
        let get = |p: &str| extract_json_field(&[doc.clone(), s(p)], &SqlType::String).unwrap();
        assert_eq!(get("$.a.b[0]"), s("10"));
        assert_eq!(get("$.a.b[1].c"), s("x"));
        assert_eq!(get("$['a']['b'][1]"), s(r#"{"c":"x"}"#));
        assert_eq!(get("$.a.zz"), Value::Null);
        assert_eq!(get("$.n"), Value::Null);
        assert_eq!(extract_json_field(&[s("{oops"), s("$.a")], &SqlType::String).unwrap(), Value::Null);
    }

    #[test]
    fn concat_objects_and_arrays() {
        assert_eq!(json_concat(&[s(r#"{"a":1}"#), s(r#"{"b":2}"#)], &SqlType::String).unwrap(), s(r#"{"a":1,"b":2}"#));
        assert_eq!(json_concat(&[s("[1]"), s("2")], &SqlType::String).unwrap(), s("[1,2]"));
        assert_eq!(json_concat(&[s("[1]"), Value::Null], &SqlType::String).unwrap(), Value::Null);
    }
}
