//! The analyzer's and lowering's one door to the expression compiler and the function
//! registry: builds [`Scope`]s from step schemas, types and compiles expressions, resolves
//! aggregate and table function calls.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::expr::{compile, CompiledExpr, Scope, ScopeColumn};
use crate::function::{AggregateFunction, FunctionRegistry, TableFunction};
use crate::parser::ast::{Expr, Literal};
use crate::plan::physical::PlanColumn;
use crate::{analysis_err, Result, SqlType, Value};

/// The function registry and named types an expression compiles against.
#[derive(Clone)]
pub(crate) struct ExprEnv {
    pub(crate) registry: Arc<FunctionRegistry>,
    pub(crate) types: BTreeMap<String, SqlType>,
}

impl std::fmt::Debug for ExprEnv {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExprEnv").field("types", &self.types).finish_non_exhaustive()
    }
}

/// One aggregate call, compiled: the function and its arguments over the input row.
#[derive(Clone)]
pub(crate) struct AggregateCall {
    pub(crate) function: Arc<dyn AggregateFunction>,
    pub(crate) args: Vec<Arc<CompiledExpr>>,
}

/// One table function call, compiled.
#[derive(Clone)]
pub(crate) struct TableFunctionCall {
    pub(crate) function: Arc<dyn TableFunction>,
    pub(crate) args: Vec<Arc<CompiledExpr>>,
}

impl ExprEnv {
    pub(crate) fn scope(cols: &[PlanColumn]) -> Scope {
        Scope::new(cols.iter().map(|c| ScopeColumn { qualifier: c.qualifier.clone(), name: c.name.clone(), ty: c.ty.clone() }).collect())
    }

    /// Compiles `expr` over a row of `cols`.
    pub(crate) fn compile(&self, expr: &Expr, cols: &[PlanColumn]) -> Result<CompiledExpr> {
        compile(expr, &Self::scope(cols), &self.registry, &|n| self.types.get(n).cloned())
    }

    /// The type of `expr` over a row of `cols`.
    pub(crate) fn type_of(&self, expr: &Expr, cols: &[PlanColumn]) -> Result<SqlType> {
        Ok(self.compile(expr, cols)?.ty().clone())
    }

    pub(crate) fn is_aggregate(&self, name: &str) -> bool {
        self.registry.is_aggregate(name)
    }

    pub(crate) fn is_table_function(&self, name: &str) -> bool {
        self.registry.is_table_function(name)
    }

    /// Resolves an aggregate call `NAME(args)` over a row of `cols`.
    pub(crate) fn aggregate(&self, call: &Expr, cols: &[PlanColumn]) -> Result<AggregateCall> {
        let Expr::Function { name, args, .. } = call else {
            return analysis_err!("not an aggregate call: {call:?}");
        };
        // COUNT(*) counts rows: no argument.
        let args: Vec<&Expr> = args.iter().filter(|a| !matches!(a, Expr::Star)).collect();
        let mut compiled = Vec::new();
        let mut types = Vec::new();
        let mut literals = Vec::new();
        for a in args {
            let c = self.compile(a, cols)?;
            types.push(c.ty().clone());
            literals.push(match a {
                Expr::Literal(l) => literal_value(l),
                _ => Value::Null,
            });
            compiled.push(Arc::new(c));
        }
        let function = self.registry.aggregate(name, &types, &literals)?;
        Ok(AggregateCall { function, args: compiled })
    }

    /// Resolves a table function call over a row of `cols`.
    pub(crate) fn table_function(&self, call: &Expr, cols: &[PlanColumn]) -> Result<TableFunctionCall> {
        let Expr::Function { name, args, .. } = call else {
            return analysis_err!("not a table function call: {call:?}");
        };
        let mut compiled = Vec::new();
        let mut types = Vec::new();
        for a in args {
            let c = self.compile(a, cols)?;
            types.push(c.ty().clone());
            compiled.push(Arc::new(c));
        }
        let function = self.registry.table_function(name, &types)?;
        Ok(TableFunctionCall { function, args: compiled })
    }
}

/// The value of a literal (for aggregate parameters such as `TOPK(x, 3)`).
pub(crate) fn literal_value(l: &Literal) -> Value {
    match l {
        Literal::Null => Value::Null,
        Literal::Boolean(b) => Value::Boolean(*b),
        Literal::Int(i) => Value::Int(*i),
        Literal::BigInt(i) => Value::BigInt(*i),
        Literal::Double(d) => Value::Double(*d),
        Literal::String(s) => Value::String(s.clone()),
        Literal::Bytes(b) => Value::Bytes(b.clone()),
        Literal::Decimal(d) => d.parse::<f64>().map_or(Value::Null, Value::Double),
    }
}
