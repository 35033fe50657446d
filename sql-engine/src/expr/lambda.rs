//! `TRANSFORM`, `FILTER` and `REDUCE` over arrays and maps. A lambda body sees the enclosing
//! lambdas' parameters followed by its own.

use super::node::{LambdaKind, Node};
use crate::value::Value;
use crate::{eval_err, Result};

fn call(body: &Node, row: &[Value], outer: &[Value], params: &[Value]) -> Result<Value> {
    let mut vars = Vec::with_capacity(outer.len() + params.len());
    vars.extend_from_slice(outer);
    vars.extend_from_slice(params);
    body.eval(row, &vars)
}

fn truthy(v: Value) -> Result<bool> {
    match v {
        Value::Boolean(b) => Ok(b),
        Value::Null => Ok(false),
        other => eval_err!("lambda must return a BOOLEAN, got {}", super::cast::value_kind(&other)),
    }
}

/// Applies a lambda function; `NULL` collections give `NULL`, except for REDUCE, which gives
/// its initial state (and `NULL` for a `NULL` initial state), as in ksqlDB.
pub(crate) fn apply(kind: LambdaKind, base: Value, init: Value, bodies: &[Node], row: &[Value], outer: &[Value]) -> Result<Value> {
    let Some(first) = bodies.first() else {
        return eval_err!("lambda function without a lambda");
    };
    Ok(match (kind, base) {
        (LambdaKind::Reduce, _) if init.is_null() => Value::Null,
        (LambdaKind::Reduce, Value::Null) => init,
        (_, Value::Null) => Value::Null,
        (LambdaKind::Transform, Value::Array(items)) => Value::Array(items.into_iter().map(|x| call(first, row, outer, &[x])).collect::<Result<_>>()?),
        (LambdaKind::Transform, Value::Map(entries)) => {
            let Some(second) = bodies.get(1) else {
                return eval_err!("TRANSFORM of a map needs a key and a value lambda");
            };
            let mut out: Vec<(Value, Value)> = Vec::with_capacity(entries.len());
            for (k, v) in entries {
                let params = [k, v];
                let (nk, nv) = (call(first, row, outer, &params)?, call(second, row, outer, &params)?);
                // ksqlDB builds the map with `Collectors.toMap`, which fails on a NULL value or
                // a repeated key: the call's result is then NULL.
                if nv.is_null() || out.iter().any(|(ek, _)| *ek == nk) {
                    return Ok(Value::Null);
                }
                out.push((nk, nv));
            }
            Value::Map(out)
        }
        (LambdaKind::Filter, Value::Array(items)) => {
            let mut out = Vec::new();
            for x in items {
                if truthy(call(first, row, outer, std::slice::from_ref(&x))?)? {
                    out.push(x);
                }
            }
            Value::Array(out)
        }
        (LambdaKind::Filter, Value::Map(entries)) => {
            let mut out = Vec::new();
            for (k, v) in entries {
                let params = [k, v];
                if truthy(call(first, row, outer, &params)?)? {
                    let [k, v] = params;
                    out.push((k, v));
                }
            }
            Value::Map(out)
        }
        (LambdaKind::Reduce, Value::Array(items)) => {
            let mut state = init;
            for x in items {
                state = call(first, row, outer, &[state, x])?;
            }
            state
        }
        (LambdaKind::Reduce, Value::Map(entries)) => {
            let mut state = init;
            for (k, v) in entries {
                state = call(first, row, outer, &[state, k, v])?;
            }
            state
        }
        (_, other) => return eval_err!("lambda function over {}", super::cast::value_kind(&other)),
    })
}
