//! `TRANSFORM`, `FILTER` and `REDUCE` over arrays and maps. A lambda body sees the enclosing
//! lambdas' parameters followed by its own. How a body evaluates is the caller's: the compiled
//! node tree passes its own evaluation in, so this file knows nothing of nodes.

use crate::value::Value;
use crate::{eval_err, Result};

/// What a lambda-taking function does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LambdaKind {
    /// `TRANSFORM(array, x => ..)`, `TRANSFORM(map, (k, v) => .., (k, v) => ..)`.
    Transform,
    /// `FILTER(array, x => bool)`, `FILTER(map, (k, v) => bool)`.
    Filter,
    /// `REDUCE(array, init, (s, x) => ..)`, `REDUCE(map, init, (s, k, v) => ..)`.
    Reduce,
}

fn truthy(v: Value) -> Result<bool> {
    match v {
        Value::Boolean(b) => Ok(b),
        Value::Null => Ok(false),
        other => eval_err!("lambda must return a BOOLEAN, got {}", super::cast::value_kind(&other)),
    }
}

/// Applies a lambda function; `NULL` collections give `NULL`, except for REDUCE, which gives
/// its initial state (and `NULL` for a `NULL` initial state), as in ksqlDB. `eval` evaluates
/// one of `bodies` over the lambda variables in scope (`outer`, then the body's parameters).
pub(crate) fn apply<B>(
    kind: LambdaKind,
    base: Value,
    init: Value,
    bodies: &[B],
    outer: &[Value],
    eval: impl Fn(&B, &[Value]) -> Result<Value>,
) -> Result<Value> {
    // A body sees the enclosing lambdas' parameters followed by its own.
    let call = |body: &B, params: &[Value]| {
        let mut vars = Vec::with_capacity(outer.len() + params.len());
        vars.extend_from_slice(outer);
        vars.extend_from_slice(params);
        eval(body, &vars)
    };
    let Some(first) = bodies.first() else {
        return eval_err!("lambda function without a lambda");
    };
    Ok(match (kind, base) {
        (LambdaKind::Reduce, _) if init.is_null() => Value::Null,
        (LambdaKind::Reduce, Value::Null) => init,
        (_, Value::Null) => Value::Null,
        (LambdaKind::Transform, Value::Array(items)) => Value::Array(items.into_iter().map(|x| call(first, &[x])).collect::<Result<_>>()?),
        (LambdaKind::Transform, Value::Map(entries)) => {
            let Some(second) = bodies.get(1) else {
                return eval_err!("TRANSFORM of a map needs a key and a value lambda");
            };
            let mut out: Vec<(Value, Value)> = Vec::with_capacity(entries.len());
            for (k, v) in entries {
                let params = [k, v];
                let (nk, nv) = (call(first, &params)?, call(second, &params)?);
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
                if truthy(call(first, std::slice::from_ref(&x))?)? {
                    out.push(x);
                }
            }
            Value::Array(out)
        }
        (LambdaKind::Filter, Value::Map(entries)) => {
            let mut out = Vec::new();
            for (k, v) in entries {
                let params = [k, v];
                if truthy(call(first, &params)?)? {
                    let [k, v] = params;
                    out.push((k, v));
                }
            }
            Value::Map(out)
        }
        (LambdaKind::Reduce, Value::Array(items)) => {
            let mut state = init;
            for x in items {
                state = call(first, &[state, x])?;
            }
            state
        }
        (LambdaKind::Reduce, Value::Map(entries)) => {
            let mut state = init;
            for (k, v) in java_hash_map_order(entries) {
                state = call(first, &[state, k, v])?;
            }
            state
        }
        (_, other) => return eval_err!("lambda function over {}", super::cast::value_kind(&other)),
    })
}

/// The order in which ksqlDB's REDUCE visits a map's entries: it reads the map as a Java
/// `HashMap` sized for its entries (`new HashMap<>(n)`), whose iteration goes bucket by bucket
/// (`spread(String.hashCode()) & (capacity - 1)`), entries of one bucket in insertion order.
/// Maps with keys other than strings keep their order.
fn java_hash_map_order(entries: Vec<(Value, Value)>) -> Vec<(Value, Value)> {
    if !entries.iter().all(|(k, _)| matches!(k, Value::String(_))) {
        return entries;
    }
    let n = entries.len();
    // `tableSizeFor(n)`, then doubled while the size passes the 0.75 load factor.
    let mut capacity = n.max(1).next_power_of_two();
    while n * 4 > capacity * 3 {
        capacity *= 2;
    }
    let bucket = |k: &Value| match k {
        Value::String(s) => {
            let h = s.encode_utf16().fold(0u32, |h, c| h.wrapping_mul(31).wrapping_add(u32::from(c)));
            (h ^ (h >> 16)) as usize & (capacity - 1)
        }
        _ => 0,
    };
    let mut keyed: Vec<(usize, (Value, Value))> = entries.into_iter().map(|e| (bucket(&e.0), e)).collect();
    keyed.sort_by_key(|(b, _)| *b);
    keyed.into_iter().map(|(_, e)| e).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reduce_visits_a_map_in_java_hash_map_order() {
        let s = |x: &str| Value::String(x.into());
        let entries = vec![(s("yes, thanks"), Value::Int(1)), (s("nope"), Value::Int(2)), (s("sure, yeah"), Value::Int(3))];
        // Capacity 4: buckets 0, 1, 0.
        let order: Vec<Value> = java_hash_map_order(entries).into_iter().map(|(_, v)| v).collect();
        assert_eq!(order, vec![Value::Int(1), Value::Int(3), Value::Int(2)]);
    }
}
