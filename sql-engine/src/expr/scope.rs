//! The columns an expression is compiled against ([`Scope`]), below both the compiler and
//! the public entry points of [`crate::expr`].

use crate::value::SqlType;

/// One column an expression can refer to: `qualifier.name` (the source name or alias; `None`
/// for columns without one, like a projection's output).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScopeColumn {
    pub qualifier: Option<String>,
    pub name: String,
    pub ty: SqlType,
}

/// The columns in scope, in row order: `row[i]` holds column `i`.
#[derive(Debug, Clone, Default)]
pub struct Scope {
    columns: Vec<ScopeColumn>,
}

impl Scope {
    /// A scope over `columns`, in row order.
    pub fn new(columns: Vec<ScopeColumn>) -> Self {
        Scope { columns }
    }

    /// The columns, in row order.
    pub fn columns(&self) -> &[ScopeColumn] {
        &self.columns
    }
}
