//! Table functions: one input row becomes zero or more output rows. ksqlDB's `EXPLODE` over
//! arrays; several table functions in one projection zip their outputs (shorter ones padded
//! with `NULL`), which is the planner's job.

use std::sync::Arc;

use super::api::TableFunction;
use super::registry::FunctionRegistry;
use crate::value::{SqlType, Value};
use crate::{analysis_err, eval_err, Result};

struct Explode {
    elem: SqlType,
}

impl TableFunction for Explode {
    fn return_type(&self) -> SqlType {
        self.elem.clone()
    }
    fn apply(&self, args: &[Value]) -> Result<Vec<Value>> {
        match args.first() {
            Some(Value::Array(items)) => Ok(items.clone()),
            Some(Value::Null) | None => Ok(Vec::new()),
            Some(other) => eval_err!("EXPLODE expects an ARRAY, got {}", crate::expr::cast::value_kind(other)),
        }
    }
}

fn explode(types: &[SqlType]) -> Result<Arc<dyn TableFunction>> {
    match types {
        [SqlType::Array(elem)] => Ok(Arc::new(Explode { elem: (**elem).clone() })),
        _ => analysis_err!("Function 'explode' does not accept parameters ({}).\nValid alternatives are:\nexplode(ARRAY<DECIMAL> input)\nexplode(ARRAY<T> list)", types.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")),
    }
}

/// ksqlDB's cap on CUBE_EXPLODE inputs: 2^20 output rows.
const CUBE_MAX_COLUMNS: usize = 20;

/// `CUBE_EXPLODE(ARRAY[a, b])`: every combination of the elements and `NULL`s, in ksqlDB's
/// bit-mask order, without duplicates for elements already `NULL`.
struct Cube {
    ty: SqlType,
}

impl TableFunction for Cube {
    fn return_type(&self) -> SqlType {
        self.ty.clone()
    }
    fn apply(&self, args: &[Value]) -> Result<Vec<Value>> {
        let items = match args.first() {
            Some(Value::Array(items)) => items,
            _ => return Ok(Vec::new()),
        };
        let n = items.len();
        if n > CUBE_MAX_COLUMNS {
            return eval_err!("CUBE_EXPLODE input size ({n}) exceeds the maximum of {CUBE_MAX_COLUMNS} columns. The output cardinality is 2^N rows and would exhaust server memory.");
        }
        let present = (0..n).filter(|&i| !items[i].is_null()).fold(0usize, |m, i| m | 1 << (n - 1 - i));
        Ok((0..1usize << n)
            .filter(|mask| mask & present == *mask)
            .map(|mask| Value::Array((0..n).map(|i| if mask & (1 << (n - 1 - i)) != 0 { items[i].clone() } else { Value::Null }).collect()))
            .collect())
    }
}

fn cube(types: &[SqlType]) -> Result<Arc<dyn TableFunction>> {
    match types {
        [t @ SqlType::Array(_)] => Ok(Arc::new(Cube { ty: t.clone() })),
        _ => analysis_err!("Function 'cube_explode' does not accept parameters ({}).", types.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")),
    }
}

pub(crate) fn register(r: &mut FunctionRegistry) {
    r.table("EXPLODE", "Explodes an array: one output row per element.", &["(ARRAY<T>) -> T"], explode);
    r.table("CUBE_EXPLODE", "All combinations of the array's elements and NULLs: 2^N rows.", &["(ARRAY<T>) -> ARRAY<T>"], cube);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn explode_arrays_and_nulls() {
        let r = FunctionRegistry::new();
        let f = r.table_function("EXPLODE", &[SqlType::Array(Box::new(SqlType::Int))]).unwrap();
        assert_eq!(f.return_type(), SqlType::Int);
        assert_eq!(f.apply(&[Value::Array(vec![Value::Int(1), Value::Null])]).unwrap(), vec![Value::Int(1), Value::Null]);
        assert!(f.apply(&[Value::Null]).unwrap().is_empty());
        assert!(r.table_function("EXPLODE", &[SqlType::Int]).is_err());
        assert!(r.is_table_function("EXPLODE"));
    }

    #[test]
    fn cube_explode_skips_duplicate_nulls() {
        let r = FunctionRegistry::new();
        let f = r.table_function("CUBE_EXPLODE", &[SqlType::Array(Box::new(SqlType::Int))]).unwrap();
        let arr = |v: Vec<Value>| Value::Array(v);
        let (a, b, n) = (Value::Int(1), Value::Int(2), Value::Null);
        let out = f.apply(&[arr(vec![a.clone(), b.clone()])]).unwrap();
        assert_eq!(out, vec![arr(vec![n.clone(), n.clone()]), arr(vec![n.clone(), b.clone()]), arr(vec![a.clone(), n.clone()]), arr(vec![a.clone(), b])]);
        assert_eq!(f.apply(&[arr(vec![a.clone(), n.clone()])]).unwrap(), vec![arr(vec![n.clone(), n.clone()]), arr(vec![a, n])]);
        assert!(f.apply(&[arr(vec![Value::Int(0); 21])]).is_err());
    }
}
