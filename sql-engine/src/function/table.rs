//! Table functions: one input row becomes zero or more output rows. ksqlDB's `EXPLODE` over
//! arrays; several table functions in one projection zip their outputs (shorter ones padded
//! with `NULL`), which is the planner's job.

use std::sync::Arc;

use super::FunctionRegistry;
use crate::value::{SqlType, Value};
use crate::{analysis_err, eval_err, Result};

/// One table function call site.
pub trait TableFunction: Send + Sync {
    /// The type of each produced value.
    fn return_type(&self) -> SqlType;
    /// The values for one row's arguments (empty for `NULL`).
    ///
    /// # Errors
    /// [`crate::Error::Eval`] for a bad argument.
    fn apply(&self, args: &[Value]) -> Result<Vec<Value>>;
}

impl std::fmt::Debug for dyn TableFunction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "TableFunction -> {}", self.return_type())
    }
}

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
        _ => analysis_err!("Function 'EXPLODE' does not accept parameters ({})", types.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")),
    }
}

pub(crate) fn register(r: &mut FunctionRegistry) {
    r.table("EXPLODE", "Explodes an array: one output row per element.", &["(ARRAY<T>) -> T"], explode);
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
}
