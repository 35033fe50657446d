//! Null handling: COALESCE, IFNULL, NULLIF.

use super::api::Nulls;
use super::args::arg;
use super::registry::FunctionRegistry;
use crate::value::{SqlType, Value};
use crate::Result;

const CAT: &str = "NULLS";

pub(crate) fn register(r: &mut FunctionRegistry) {
    r.scalar("COALESCE", CAT, "The first non-null argument.", &["(T, T...) -> T"], Nulls::Handled, coalesce);
    r.scalar("IFNULL", CAT, "The first argument, or the second when the first is null.", &["(T, T) -> T"], Nulls::Handled, coalesce);
    r.scalar("NULLIF", CAT, "NULL when both arguments are equal, else the first.", &["(T, T) -> T"], Nulls::Handled, nullif);
}

fn coalesce(a: &[Value], _: &SqlType) -> Result<Value> {
    Ok(a.iter().find(|v| !v.is_null()).cloned().unwrap_or(Value::Null))
}

fn nullif(a: &[Value], _: &SqlType) -> Result<Value> {
    let (x, y) = (arg(a, 0), arg(a, 1));
    Ok(if !y.is_null() && x == y { Value::Null } else { x.clone() })
}
