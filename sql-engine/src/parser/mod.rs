//! ksqlDB statements as text -> [`ast::ParsedStatement`]s.
//!
//! A hand-written recursive-descent parser over ksqlDB's own lexical rules, following
//! SqlBase.g4 (ksqlDB 0.29) rule by rule, with ksqlDB's AST-builder semantics on top:
//! unquoted identifiers upper-cased, `-5` one literal, integer literals `INT` when they fit,
//! `1.5` `DECIMAL` and `1e3` `DOUBLE`, queries of `CREATE ... AS SELECT` and `INSERT INTO`
//! emitting changes unless `EMIT FINAL`. Errors are [`crate::Error::Parse`] with the 1-based
//! line:column of the offending token and ksqlDB's wording (`Syntax Error` followed by
//! `mismatched input 'X' expecting ...`, `Unknown statement 'X'`, ...).
//!
//! Input of any shape is rejected with an error, never a panic: nesting (parentheses, unary
//! chains, types) is limited to 128 levels and expression trees to 1,000 levels (a chain of
//! 1,000 `OR`s), so code recursing over an [`ast::Expr`] sees at most ~1,130 levels.
//!
//! Why not the `sqlparser` crate: ksqlDB's clauses (`CREATE STREAM`, `WINDOW`, `WITHIN`, `EMIT`),
//! operators (`->`, `=>`, `:=`) and literal typing all needed wrapping or rewriting, and its
//! errors are not ksqlDB's; the grammar is small enough that parsing it directly is less code.

pub mod ast;
mod cursor;
mod expr;
mod lexer;
pub(crate) mod position;
mod statement;
mod vars;
pub(crate) mod walk;

pub use vars::substitute_variables;

use ast::{Expr, ParsedStatement};
use cursor::Parser;
use lexer::Tok;

use crate::{Error, Result};

fn lex(sql: &str) -> Result<Vec<lexer::Token>> {
    lexer::tokenize(sql)
        .map_err(|e| Error::Parse { position: e.pos, message: format!("Syntax Error\n{}", e.message) })
}

/// Parses a script of `;`-separated statements. Each gets its own text (from its first token to
/// its last, without the `;`) and position in `sql`. Empty statements (`;;`) are skipped and the
/// last statement's `;` is optional.
///
/// # Errors
/// [`Error::Parse`] for the first statement that does not parse; [`Error::Unsupported`] for
/// valid ksqlDB statements Brook does not run (connectors, `ASSERT`, `ALTER SYSTEM`).
pub fn parse(sql: &str) -> Result<Vec<ParsedStatement>> {
    let toks = lex(sql)?;
    let mut p = Parser::new(sql, toks);
    let mut out = Vec::new();
    loop {
        while p.eat(&Tok::Semicolon) {}
        if p.at_eof() {
            return Ok(out);
        }
        let first = p.peek().clone();
        let statement = p.statement()?;
        let last = p.prev().clone();
        if !p.eat(&Tok::Semicolon) && !p.at_eof() {
            return p.unexpected();
        }
        let text = sql.get(first.start..last.end.max(first.start)).unwrap_or_default().to_string();
        out.push(ParsedStatement { text, position: first.pos, statement });
    }
}

/// Parses one expression (the whole input).
///
/// # Errors
/// [`Error::Parse`] when `sql` is not exactly one expression.
pub fn parse_expression(sql: &str) -> Result<Expr> {
    let toks = lex(sql)?;
    let mut p = Parser::new(sql, toks);
    let e = p.expr()?;
    if !p.at_eof() {
        p.expecting("<EOF>");
        return p.unexpected();
    }
    Ok(e)
}

#[cfg(test)]
mod tests;
