//! Joins: the sources of `FROM a JOIN b ON ...` planned as ksqlDB's join steps.

use crate::catalog::Catalog;
use crate::parser::ast::{Expr, Query};
use crate::plan::physical::ExecutionStep;
use crate::{Error, Result};

use super::env::ExprEnv;

/// The joined step and the expressions its key is equal to.
pub(crate) struct PlannedJoin {
    pub(crate) step: ExecutionStep,
    pub(crate) key_expressions: Vec<Expr>,
}

pub(crate) fn plan_joins(_query: &Query, _catalog: &Catalog, _env: &ExprEnv, _left: ExecutionStep, _sources: &mut Vec<String>) -> Result<PlannedJoin> {
    Err(Error::Unsupported("joins are not supported by Brook yet".into()))
}
