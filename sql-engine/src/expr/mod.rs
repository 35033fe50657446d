//! Expressions: type checking ([`compile`]) and evaluation ([`CompiledExpr::eval`]) with
//! ksqlDB's rules: `NULL` propagation and three-valued logic, Java integer overflow (wraps),
//! `/ by zero` failing the record, decimal result types from `SqlDecimal`, numeric widening in
//! comparisons, `CAST` between castable types, 1-based array subscripts (negative from the end,
//! out of range `NULL`), lambdas in `TRANSFORM`/`FILTER`/`REDUCE`.
//!
//! Aggregate and table function calls are not expressions here: the planner takes them out
//! first ([`collect_aggregates`]) and puts their results in scope as columns.
//!
//! # Examples
//! ```
//! use brook_sql_engine::expr::{compile, Scope, ScopeColumn};
//! use brook_sql_engine::function::FunctionRegistry;
//! use brook_sql_engine::parser::ast::{BinaryOp, Expr, Literal};
//! use brook_sql_engine::{SqlType, Value};
//!
//! let scope = Scope::new(vec![ScopeColumn { qualifier: None, name: "PRICE".into(), ty: SqlType::Int }]);
//! let expr = Expr::Binary {
//!     op: BinaryOp::Mul,
//!     left: Box::new(Expr::Column { source: None, name: "PRICE".into() }),
//!     right: Box::new(Expr::Literal(Literal::Int(2))),
//! };
//! let compiled = compile(&expr, &scope, &FunctionRegistry::new(), &|_| None).unwrap();
//! assert_eq!(compiled.ty(), &SqlType::Int);
//! assert_eq!(compiled.eval(&[Value::Int(21)]).unwrap(), Value::Int(42));
//! ```

pub(crate) mod cast;
mod compile;
pub(crate) mod decimal;
mod lambda;
mod scope;
pub mod vector;
pub(crate) mod node;
pub(crate) mod types;

#[cfg(test)]
mod golden;
#[cfg(test)]
mod tests;

use std::sync::Arc;

use crate::function::FunctionRegistry;
use crate::parser::ast::Expr;
use crate::parser::walk::children;
use crate::value::{SqlType, Value};
use crate::Result;
use compile::{coerce, Compiler};
use node::Node;

pub use scope::{Scope, ScopeColumn};

/// A type-checked expression, ready to evaluate. Cheap to clone and share between threads.
#[derive(Debug, Clone)]
pub struct CompiledExpr {
    node: Arc<Node>,
    ty: SqlType,
    untyped_null: bool,
}

impl CompiledExpr {
    /// The result type. A bare `NULL` literal reports `STRING` (see [`Self::is_untyped_null`]).
    pub fn ty(&self) -> &SqlType {
        &self.ty
    }

    /// Whether the expression is an untyped `NULL` literal (it converts to any type).
    pub fn is_untyped_null(&self) -> bool {
        self.untyped_null
    }

    /// Evaluates on one row: `row[i]` is the value of scope column `i`.
    ///
    /// # Errors
    /// [`crate::Error::Eval`] when the expression fails on this row (`/ by zero`, a bad
    /// `CAST`, a function error); queries log it and go on, as ksqlDB does.
    pub fn eval(&self, row: &[Value]) -> Result<Value> {
        node::clear_call_errors();
        self.node.eval(row, &[])
    }

    /// As [`Self::eval`], passing each function call that failed (and returned `NULL`, as
    /// in ksqlDB) to `report`.
    ///
    /// # Errors
    /// As [`Self::eval`].
    pub fn eval_reporting(&self, row: &[Value], mut report: impl FnMut(&str)) -> Result<Value> {
        let v = self.eval(row);
        for m in node::take_call_errors() {
            report(&m);
        }
        v
    }

    /// The scope columns the expression reads, ascending (for projection pushdown).
    pub fn columns(&self) -> Vec<usize> {
        let mut out = Vec::new();
        self.node.visit(&mut |n| {
            if let Node::Column(i) = n {
                out.push(*i);
            }
        });
        out.sort_unstable();
        out.dedup();
        out
    }

    /// The value of an expression that reads no columns (`INSERT ... VALUES`, literals).
    ///
    /// # Errors
    /// As [`Self::eval`].
    pub fn eval_constant(&self) -> Result<Value> {
        self.eval(&[])
    }
}

/// Type-checks `expr` against the columns of `scope`.
///
/// # Errors
/// [`crate::Error::Analysis`] for unknown or ambiguous columns, unknown functions, wrong
/// argument types, aggregate or table function calls, and type mismatches.
pub fn compile(expr: &Expr, scope: &Scope, functions: &FunctionRegistry, named_types: &dyn Fn(&str) -> Option<SqlType>) -> Result<CompiledExpr> {
    let mut c = Compiler { scope, functions, named_types, vars: Vec::new() };
    let typed = c.compile(expr)?;
    let untyped_null = typed.ty.is_none();
    Ok(CompiledExpr { node: Arc::new(typed.node), ty: typed.ty.unwrap_or(SqlType::String), untyped_null })
}

/// [`compile`], then converts the result to `target` (implicit widening, or any `CAST`-able
/// conversion when `allow_cast`), e.g. for `INSERT ... VALUES` into typed columns.
///
/// # Errors
/// As [`compile`], and [`crate::Error::Analysis`] when the type does not convert.
pub fn compile_as(expr: &Expr, target: &SqlType, allow_cast: bool, scope: &Scope, functions: &FunctionRegistry, named_types: &dyn Fn(&str) -> Option<SqlType>) -> Result<CompiledExpr> {
    let mut c = Compiler { scope, functions, named_types, vars: Vec::new() };
    let typed = c.compile(expr)?;
    if let Some(ty) = &typed.ty {
        let ok = if allow_cast { cast::castable(ty, target) } else { types::widening_cost(ty, target).is_some() };
        if !ok {
            return crate::analysis_err!("Expected type {target} for expression, got {ty}");
        }
    }
    Ok(CompiledExpr { node: Arc::new(coerce(typed, target)), ty: target.clone(), untyped_null: false })
}

/// The aggregate calls in `expr`, outermost first, each once (by structure), not descending
/// into their arguments. The planner computes them and binds them as columns.
pub fn collect_aggregates(expr: &Expr, registry: &FunctionRegistry) -> Vec<Expr> {
    collect_calls(expr, &|name| registry.is_aggregate(name))
}

/// The table function calls in `expr` (`EXPLODE(...)`), each once.
pub fn collect_table_functions(expr: &Expr, registry: &FunctionRegistry) -> Vec<Expr> {
    collect_calls(expr, &|name| registry.is_table_function(name))
}

fn collect_calls(expr: &Expr, wanted: &dyn Fn(&str) -> bool) -> Vec<Expr> {
    let mut out = Vec::new();
    walk(expr, &mut |e| match e {
        Expr::Function { name, .. } if wanted(&name.to_ascii_uppercase()) => {
            if !out.contains(e) {
                out.push(e.clone());
            }
            false
        }
        _ => true,
    });
    out
}

/// Visits `expr` and its sub-expressions, pre-order; `visit` returns whether to descend.
pub fn walk(expr: &Expr, visit: &mut dyn FnMut(&Expr) -> bool) {
    stacker::maybe_grow(node::STACK_RED_ZONE, node::STACK_SEGMENT, || walk_inner(expr, visit));
}

fn walk_inner(expr: &Expr, visit: &mut dyn FnMut(&Expr) -> bool) {
    if visit(expr) {
        for child in children(expr) {
            walk(child, visit);
        }
    }
}

/// Compiles and evaluates any expression on any row without panicking: the entry for fuzz
/// targets. Columns are `C0..Cn` of the row's value types (`STRING` for nulls).
pub fn fuzz_eval(expr: &Expr, row: &[Value]) -> Result<Value> {
    let columns = row.iter().enumerate().map(|(i, v)| ScopeColumn { qualifier: None, name: format!("C{i}"), ty: value_type(v) }).collect();
    let registry = FunctionRegistry::new();
    compile(expr, &Scope::new(columns), &registry, &|_| None)?.eval(row)
}

/// Parses, compiles and evaluates expression text on an empty row without panicking: the
/// entry for a fuzz target over SQL text.
pub fn fuzz_eval_text(text: &str) -> Result<Value> {
    fuzz_eval(&crate::parser::parse_expression(text)?, &[])
}

/// The type of a value, as best it can be told (`STRING` for nulls and empty collections).
pub fn value_type(v: &Value) -> SqlType {
    match v {
        Value::Null | Value::String(_) => SqlType::String,
        Value::Boolean(_) => SqlType::Boolean,
        Value::Int(_) => SqlType::Int,
        Value::BigInt(_) => SqlType::BigInt,
        Value::Double(_) => SqlType::Double,
        Value::Decimal(d) => SqlType::Decimal { precision: d.precision, scale: d.scale },
        Value::Bytes(_) => SqlType::Bytes,
        Value::Date(_) => SqlType::Date,
        Value::Time(_) => SqlType::Time,
        Value::Timestamp(_) => SqlType::Timestamp,
        Value::Array(items) => SqlType::Array(Box::new(items.first().map_or(SqlType::String, value_type))),
        Value::Map(entries) => {
            let (k, v) = entries.first().map_or((SqlType::String, SqlType::String), |(k, v)| (value_type(k), value_type(v)));
            SqlType::Map(Box::new(k), Box::new(v))
        }
        Value::Struct(fields) => SqlType::Struct(fields.iter().map(|(n, v)| (n.clone(), value_type(v))).collect()),
    }
}
