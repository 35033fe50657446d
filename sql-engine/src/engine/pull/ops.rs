//! The stateless steps of a pull query (filters and projections), compiled, and applied to
//! the rows read: from a topic, or from a store through the steps above it in the writing query.

use crate::analyzer::ExprEnv;
use crate::expr::CompiledExpr;
use crate::plan::physical::ExecutionStep;
use crate::{Error, Result, Row, Value};

/// One stateless step, compiled against its input.
pub(crate) enum Op {
    Filter(CompiledExpr),
    Project(Vec<CompiledExpr>),
}

/// The compiled `steps` (filters and projections only).
pub(crate) fn ops(env: &ExprEnv, steps: &[&ExecutionStep]) -> Result<Vec<Op>> {
    steps
        .iter()
        .map(|s| match s {
            ExecutionStep::StreamFilter { source, predicate, .. } | ExecutionStep::TableFilter { source, predicate, .. } => {
                Ok(Op::Filter(env.compile(predicate, &source.schema().value)?))
            }
            ExecutionStep::StreamSelect { source, select, .. } | ExecutionStep::TableSelect { source, select, .. } => {
                Ok(Op::Project(select.iter().map(|c| env.compile(&c.expr, &source.schema().value)).collect::<Result<_>>()?))
            }
            other => Err(Error::Unsupported(format!("pull queries with {}", other.step_name()))),
        })
        .collect()
}

/// Applies filters and projections; `None` when a filter drops the row.
pub(crate) fn apply(ops: &[Op], mut row: Row) -> Result<Option<Row>> {
    for op in ops {
        match op {
            Op::Filter(p) => {
                if !matches!(p.eval(&row)?, Value::Boolean(true)) {
                    return Ok(None);
                }
            }
            Op::Project(exprs) => row = exprs.iter().map(|e| e.eval(&row).unwrap_or(Value::Null)).collect(),
        }
    }
    Ok(Some(row))
}
