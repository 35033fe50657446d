//! The `brook` binary's integration tests, one binary (see STYLE.md).

mod test_runner;
