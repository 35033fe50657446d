//! The SQL engine's integration tests, one binary (see STYLE.md).

mod qtt;
