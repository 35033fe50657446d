//! Where a statement or token starts in the submitted text. A leaf of its own: the lexer, the
//! AST and the crate's [`Error`](crate::Error) all carry one.

use serde::{Deserialize, Serialize};

/// Where a statement or token starts in the submitted text: 1-based line and column.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Position {
    pub line: u32,
    pub column: u32,
}
