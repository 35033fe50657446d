//! ksqlDB statements as text -> [`ast::ParsedStatement`]s.

pub mod ast;
