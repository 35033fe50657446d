//! Array and map functions (ksqlDB's `udf/array`, `udf/map`), plus the lambda functions'
//! registry entries (TRANSFORM, FILTER, REDUCE are compiled specially, see `expr::lambda`).

use super::api::Nulls;
use super::args::{arg, array, boolean, long, map, opt_string, string};
use super::registry::FunctionRegistry;
use crate::value::{SqlType, Value};
use crate::{eval_err, Result};

const ARR: &str = "ARRAY";
const MAP: &str = "MAP";
const LAMBDA: &str = "LAMBDA";

pub(crate) fn register(r: &mut FunctionRegistry) {
    use Nulls::*;
    r.scalar("ARRAY_CONTAINS", ARR, "Whether the array contains the value (false for a null array).", &["(ARRAY<T>, T) -> BOOLEAN"], Handled, array_contains);
    r.scalar("ARRAY_DISTINCT", ARR, "The distinct elements, in first-occurrence order.", &["(ARRAY<T>) -> ARRAY<T>"], Strict, |a, _| Ok(Value::Array(distinct(array(a, 0)?.iter()))));
    r.scalar("ARRAY_EXCEPT", ARR, "The distinct elements of the first array not in the second.", &["(ARRAY<T>, ARRAY<T>) -> ARRAY<T>"], Strict, |a, _| set_op(a, SetOp::Except));
    r.scalar("ARRAY_INTERSECT", ARR, "The distinct elements in both arrays.", &["(ARRAY<T>, ARRAY<T>) -> ARRAY<T>"], Strict, |a, _| set_op(a, SetOp::Intersect));
    r.scalar("ARRAY_UNION", ARR, "The distinct elements of either array.", &["(ARRAY<T>, ARRAY<T>) -> ARRAY<T>"], Strict, |a, _| set_op(a, SetOp::Union));
    r.scalar("ARRAY_JOIN", ARR, "Joins the elements' text with a delimiter (default ',').", &["(ARRAY<T>) -> STRING", "(ARRAY<T>, STRING) -> STRING"], Handled, array_join);
    r.scalar("ARRAY_LENGTH", ARR, "The number of elements.", &["(ARRAY<T>) -> INT"], Strict, |a, _| Ok(Value::Int(array(a, 0)?.len() as i32)));
    r.scalar("ARRAY_MAX", ARR, "The largest non-null element.", &["(ARRAY<T>) -> T"], Strict, |a, _| extreme(a, std::cmp::Ordering::Greater));
    r.scalar("ARRAY_MIN", ARR, "The smallest non-null element.", &["(ARRAY<T>) -> T"], Strict, |a, _| extreme(a, std::cmp::Ordering::Less));
    r.scalar("ARRAY_REMOVE", ARR, "The array without the elements equal to the value.", &["(ARRAY<T>, T) -> ARRAY<T>"], Handled, array_remove);
    r.scalar("ARRAY_SORT", ARR, "Sorts the elements, nulls last, 'ASC' (default) or 'DESC'.", &["(ARRAY<T>) -> ARRAY<T>", "(ARRAY<T>, STRING) -> ARRAY<T>"], Strict, array_sort);
    r.scalar("ARRAY_CONCAT", ARR, "Concatenates two arrays (a null array counts as empty, both null give null).", &["(ARRAY<T>, ARRAY<T>) -> ARRAY<T>"], Handled, array_concat);
    r.scalar("SLICE", ARR, "The elements from one 1-based position to another, inclusive.", &["(ARRAY<T>, INT, INT) -> ARRAY<T>"], Handled, slice);
    r.scalar("GENERATE_SERIES", ARR, "The numbers from start to end inclusive, by step (default 1 or -1).", &["(INT, INT) -> ARRAY<INT>", "(INT, INT, INT) -> ARRAY<INT>", "(BIGINT, BIGINT) -> ARRAY<BIGINT>", "(BIGINT, BIGINT, INT) -> ARRAY<BIGINT>"], Strict, generate_series);
    r.scalar("AS_MAP", MAP, "A map from an array of keys and an array of values.", &["(ARRAY<STRING>, ARRAY<T>) -> MAP<STRING, T>"], Strict, as_map);
    r.scalar("MAP_KEYS", MAP, "The keys of a map.", &["(MAP<K, V>) -> ARRAY<K>"], Strict, |a, _| Ok(Value::Array(map(a, 0)?.iter().map(|(k, _)| k.clone()).collect())));
    r.scalar("MAP_VALUES", MAP, "The values of a map.", &["(MAP<K, V>) -> ARRAY<V>"], Strict, |a, _| Ok(Value::Array(map(a, 0)?.iter().map(|(_, v)| v.clone()).collect())));
    r.scalar("MAP_UNION", MAP, "Merges two maps; the second wins on equal keys.", &["(MAP<K, V>, MAP<K, V>) -> MAP<K, V>"], Handled, map_union);
    r.scalar_with("ENTRIES", MAP, "The entries of a map as structs with fields K and V, optionally sorted by key.", &["(MAP<STRING, T>, BOOLEAN) -> ARRAY<STRUCT>"], Strict, Some(entries_type), entries);
    r.scalar("TRANSFORM", LAMBDA, "Applies a lambda to each element of an array, or to each key and value of a map.", &["(ARRAY<T>, ANY) -> ARRAY<U>", "(MAP<K, V>, ANY, ANY) -> MAP<K, V>"], Handled, |_, _| eval_err!("TRANSFORM is compiled by the expression compiler"));
    r.scalar("FILTER", LAMBDA, "Keeps the elements (or entries) for which a lambda returns true.", &["(ARRAY<T>, ANY) -> ARRAY<T>", "(MAP<K, V>, ANY) -> MAP<K, V>"], Handled, |_, _| eval_err!("FILTER is compiled by the expression compiler"));
    r.scalar("REDUCE", LAMBDA, "Folds an array or map into a state with a lambda.", &["(ARRAY<T>, S, ANY) -> S", "(MAP<K, V>, S, ANY) -> S"], Handled, |_, _| eval_err!("REDUCE is compiled by the expression compiler"));
}

fn distinct<'a>(items: impl Iterator<Item = &'a Value>) -> Vec<Value> {
    let mut out: Vec<Value> = Vec::new();
    for v in items {
        if !out.contains(v) {
            out.push(v.clone());
        }
    }
    out
}

fn array_contains(a: &[Value], _: &SqlType) -> Result<Value> {
    Ok(Value::Boolean(match arg(a, 0) {
        Value::Array(items) => items.contains(arg(a, 1)),
        _ => false,
    }))
}

#[derive(Clone, Copy)]
enum SetOp {
    Except,
    Intersect,
    Union,
}

fn set_op(a: &[Value], op: SetOp) -> Result<Value> {
    let (l, r) = (array(a, 0)?, array(a, 1)?);
    Ok(Value::Array(match op {
        SetOp::Except => distinct(l.iter().filter(|v| !r.contains(v))),
        SetOp::Intersect => distinct(l.iter().filter(|v| r.contains(v))),
        SetOp::Union => distinct(l.iter().chain(r)),
    }))
}

fn array_join(a: &[Value], _: &SqlType) -> Result<Value> {
    if arg(a, 0).is_null() {
        return Ok(Value::Null);
    }
    let sep = if a.len() > 1 { opt_string(a, 1)?.unwrap_or("") } else { "," };
    let text: Vec<String> = array(a, 0)?.iter().map(crate::expr::cast::to_text).collect();
    Ok(Value::String(text.join(sep)))
}

fn extreme(a: &[Value], want: std::cmp::Ordering) -> Result<Value> {
    let mut best: Option<&Value> = None;
    for v in array(a, 0)?.iter().filter(|v| !v.is_null()) {
        if best.is_none_or(|b| v.sql_cmp(b) == Some(want)) {
            best = Some(v);
        }
    }
    Ok(best.cloned().unwrap_or(Value::Null))
}

fn array_remove(a: &[Value], _: &SqlType) -> Result<Value> {
    if arg(a, 0).is_null() {
        return Ok(Value::Null);
    }
    let victim = arg(a, 1);
    Ok(Value::Array(array(a, 0)?.iter().filter(|v| *v != victim).cloned().collect()))
}

fn array_sort(a: &[Value], _: &SqlType) -> Result<Value> {
    let desc = match a.get(1) {
        Some(_) => match string(a, 1)?.to_ascii_uppercase().as_str() {
            "ASC" => false,
            "DESC" => true,
            _ => return Ok(Value::Null),
        },
        None => false,
    };
    let mut items = array(a, 0)?.to_vec();
    items.sort_by(|x, y| match (x.is_null(), y.is_null()) {
        (true, true) => std::cmp::Ordering::Equal,
        (true, false) => std::cmp::Ordering::Greater,
        (false, true) => std::cmp::Ordering::Less,
        _ if desc => y.total_cmp(x),
        _ => x.total_cmp(y),
    });
    Ok(Value::Array(items))
}

fn array_concat(a: &[Value], _: &SqlType) -> Result<Value> {
    Ok(match (arg(a, 0), arg(a, 1)) {
        (Value::Null, Value::Null) => Value::Null,
        (Value::Array(x), Value::Null) | (Value::Null, Value::Array(x)) => Value::Array(x.clone()),
        (Value::Array(x), Value::Array(y)) => Value::Array([x.as_slice(), y.as_slice()].concat()),
        _ => Value::Null,
    })
}

/// ksqlDB's `Slice`: `NULL` bounds default to the ends; out-of-range bounds are clamped.
fn slice(a: &[Value], _: &SqlType) -> Result<Value> {
    let Value::Array(items) = arg(a, 0) else { return Ok(Value::Null) };
    let len = items.len() as i64;
    let from = if arg(a, 1).is_null() { 1 } else { long(a, 1)? };
    let to = if arg(a, 2).is_null() { len } else { long(a, 2)? };
    let from = if from < 0 { len.saturating_add(from).saturating_add(1) } else { from }.max(1);
    let to = if to < 0 { len.saturating_add(to).saturating_add(1) } else { to }.min(len);
    if from > to {
        return Ok(Value::Array(Vec::new()));
    }
    Ok(Value::Array(items[(from - 1) as usize..to as usize].to_vec()))
}

fn generate_series(a: &[Value], ret: &SqlType) -> Result<Value> {
    let (start, end) = (i128::from(long(a, 0)?), i128::from(long(a, 1)?));
    let step = if a.len() > 2 { i128::from(long(a, 2)?) } else if end >= start { 1 } else { -1 };
    if step == 0 {
        return eval_err!("GENERATE_SERIES step cannot be zero");
    }
    if (end - start).signum() * step.signum() < 0 {
        return eval_err!("GENERATE_SERIES step has wrong sign");
    }
    let count = (end - start) / step + 1;
    if count > 1_000_000 {
        return eval_err!("GENERATE_SERIES would produce {count} elements");
    }
    let ints = matches!(ret, SqlType::Array(e) if **e == SqlType::Int);
    Ok(Value::Array((0..count).map(|i| start + i * step).map(|v| if ints { Value::Int(v as i32) } else { Value::BigInt(v as i64) }).collect()))
}

fn as_map(a: &[Value], _: &SqlType) -> Result<Value> {
    let (keys, values) = (array(a, 0)?, array(a, 1)?);
    let mut out: Vec<(Value, Value)> = Vec::new();
    for (k, v) in keys.iter().zip(values) {
        match out.iter_mut().find(|(x, _)| x == k) {
            Some(slot) => slot.1 = v.clone(),
            None => out.push((k.clone(), v.clone())),
        }
    }
    Ok(Value::Map(out))
}

fn map_union(a: &[Value], _: &SqlType) -> Result<Value> {
    if arg(a, 0).is_null() && arg(a, 1).is_null() {
        return Ok(Value::Null);
    }
    let mut out: Vec<(Value, Value)> = if arg(a, 0).is_null() { Vec::new() } else { map(a, 0)?.to_vec() };
    if !arg(a, 1).is_null() {
        for (k, v) in map(a, 1)? {
            match out.iter_mut().find(|(x, _)| x == k) {
                Some(slot) => slot.1 = v.clone(),
                None => out.push((k.clone(), v.clone())),
            }
        }
    }
    Ok(Value::Map(out))
}

fn entries_type(args: &[SqlType]) -> Option<SqlType> {
    match args.first()? {
        SqlType::Map(k, v) => Some(SqlType::Array(Box::new(SqlType::Struct(vec![("K".into(), (**k).clone()), ("V".into(), (**v).clone())])))),
        _ => None,
    }
}

fn entries(a: &[Value], _: &SqlType) -> Result<Value> {
    let mut items = map(a, 0)?.to_vec();
    if boolean(a, 1)? {
        items.sort_by(|x, y| x.0.total_cmp(&y.0));
    }
    Ok(Value::Array(items.into_iter().map(|(k, v)| Value::Struct(vec![("K".into(), k), ("V".into(), v)])).collect()))
}

