//! Argument accessors for function implementations (and, for aggregate constructors, checks
//! of argument types and literals). Arguments arrive converted to the matched
//! signature's types, so a mismatch is an engine bug: it is reported as an error, not a panic.

use crate::expr::cast::value_kind;
use crate::value::{Decimal, SqlType, Value};
use crate::{analysis_err, Error, Result};

static NULL: Value = Value::Null;

/// Argument `i`, `NULL` when absent.
pub(crate) fn arg(a: &[Value], i: usize) -> &Value {
    a.get(i).unwrap_or(&NULL)
}

fn wrong(want: &str, v: &Value) -> Error {
    Error::Eval(format!("expected {want} argument, got {}", value_kind(v)))
}

pub(crate) fn string(a: &[Value], i: usize) -> Result<&str> {
    match arg(a, i) {
        Value::String(s) => Ok(s),
        v => Err(wrong("a STRING", v)),
    }
}

/// A string argument that may be `NULL`.
pub(crate) fn opt_string(a: &[Value], i: usize) -> Result<Option<&str>> {
    match arg(a, i) {
        Value::Null => Ok(None),
        Value::String(s) => Ok(Some(s)),
        v => Err(wrong("a STRING", v)),
    }
}

pub(crate) fn int(a: &[Value], i: usize) -> Result<i32> {
    match arg(a, i) {
        Value::Int(v) => Ok(*v),
        v => Err(wrong("an INTEGER", v)),
    }
}

/// An `INT` or `BIGINT` argument as `i64`.
pub(crate) fn long(a: &[Value], i: usize) -> Result<i64> {
    match arg(a, i) {
        Value::Int(v) => Ok(i64::from(*v)),
        Value::BigInt(v) => Ok(*v),
        Value::Timestamp(v) => Ok(*v),
        v => Err(wrong("a BIGINT", v)),
    }
}

/// A numeric argument as `f64`.
pub(crate) fn double(a: &[Value], i: usize) -> Result<f64> {
    match arg(a, i) {
        Value::Double(v) => Ok(*v),
        Value::Int(v) => Ok(f64::from(*v)),
        Value::BigInt(v) => Ok(*v as f64),
        Value::Decimal(d) => Ok(crate::expr::decimal::to_f64(d)),
        v => Err(wrong("a DOUBLE", v)),
    }
}

pub(crate) fn decimal(a: &[Value], i: usize) -> Result<Decimal> {
    match arg(a, i) {
        Value::Decimal(d) => Ok(*d),
        v => Err(wrong("a DECIMAL", v)),
    }
}

pub(crate) fn boolean(a: &[Value], i: usize) -> Result<bool> {
    match arg(a, i) {
        Value::Boolean(b) => Ok(*b),
        v => Err(wrong("a BOOLEAN", v)),
    }
}

pub(crate) fn bytes(a: &[Value], i: usize) -> Result<&[u8]> {
    match arg(a, i) {
        Value::Bytes(b) => Ok(b),
        v => Err(wrong("a BYTES", v)),
    }
}

pub(crate) fn array(a: &[Value], i: usize) -> Result<&[Value]> {
    match arg(a, i) {
        Value::Array(items) => Ok(items),
        v => Err(wrong("an ARRAY", v)),
    }
}

pub(crate) fn map(a: &[Value], i: usize) -> Result<&[(Value, Value)]> {
    match arg(a, i) {
        Value::Map(entries) => Ok(entries),
        v => Err(wrong("a MAP", v)),
    }
}

/// `Some(s)` as a string value, `None` as `NULL`.
pub(crate) fn opt_str_value(s: Option<String>) -> Value {
    s.map_or(Value::Null, Value::String)
}

/// The first argument's type, or an error naming the function.
pub(crate) fn first_type<'a>(name: &str, types: &'a [SqlType]) -> Result<&'a SqlType> {
    match types.first() {
        Some(t) => Ok(t),
        None => analysis_err!("Function '{name}' requires an argument"),
    }
}

/// A literal integer argument (`TOPK(x, 3)`).
pub(crate) fn literal_int(name: &str, literals: &[Value], i: usize) -> Result<usize> {
    match literals.get(i) {
        Some(Value::Int(n)) if *n > 0 => Ok(*n as usize),
        Some(Value::BigInt(n)) if *n > 0 => Ok(*n as usize),
        _ => analysis_err!("Function '{name}' requires a positive integer literal as argument {}", i + 1),
    }
}
