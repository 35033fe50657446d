//! What a function is, below the registry that holds them and the families that implement
//! them: a scalar's implementation and `NULL` handling, an aggregate ([`AggregateFunction`])
//! and its factory, a table function ([`TableFunction`]).

use std::sync::Arc;

use crate::value::{SqlType, Value};
use crate::Result;

/// A scalar implementation: arguments converted to the matched signature, and the call's
/// resolved return type.
pub type ScalarImpl = Arc<dyn Fn(&[Value], &SqlType) -> Result<Value> + Send + Sync>;

/// Builds an aggregate for concrete argument types and the values of literal arguments
/// (`TOPK(x, 3)`: `[Null, Int(3)]`, non-literals as `Null`).
pub type AggregateFactory = Arc<dyn Fn(&[SqlType], &[Value]) -> Result<Arc<dyn AggregateFunction>> + Send + Sync>;

/// How a scalar function treats `NULL` arguments.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Nulls {
    /// Any `NULL` argument makes the result `NULL` without calling the implementation.
    Strict,
    /// The implementation sees `NULL`s.
    Handled,
}

/// A custom return type rule, for results whose precision depends on the arguments.
pub type ReturnRule = fn(&[SqlType]) -> Option<SqlType>;

/// One aggregate call site, created for concrete argument types.
pub trait AggregateFunction: Send + Sync {
    /// The type of [`Self::result`].
    fn return_type(&self) -> SqlType;
    /// The empty accumulator.
    fn init(&self) -> Value;
    /// Folds one row's arguments in.
    ///
    /// # Errors
    /// [`crate::Error::Eval`] on overflow or a bad argument.
    fn add(&self, acc: Value, args: &[Value]) -> Result<Value>;
    /// Takes one row's arguments out; `None` when the aggregate cannot undo (it then cannot
    /// aggregate a table, as in ksqlDB).
    fn undo(&self, acc: Value, args: &[Value]) -> Option<Result<Value>>;
    /// Combines two accumulators (session windows merging).
    ///
    /// # Errors
    /// [`crate::Error::Eval`] on overflow.
    fn merge(&self, a: Value, b: Value) -> Result<Value>;
    /// The aggregate's value for an accumulator.
    ///
    /// # Errors
    /// [`crate::Error::Eval`] for a corrupt accumulator.
    fn result(&self, acc: &Value) -> Result<Value>;
    /// Whether ksqlDB's intermediate state for this aggregate is a STRUCT (AVG, STDDEV_*,
    /// CORRELATION), which a DELIMITED value format cannot hold: ksqlDB rejects the query.
    fn intermediate_is_struct(&self) -> bool {
        false
    }
    /// Whether [`Self::undo`] is supported (checked by the planner before aggregating a table).
    fn supports_undo(&self) -> bool {
        self.undo(self.init(), &[]).is_some()
    }
}

impl std::fmt::Debug for dyn AggregateFunction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "AggregateFunction -> {}", self.return_type())
    }
}

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
