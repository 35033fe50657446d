//! The `brook` command line.
fn main() {}
