//! Brook tests (workspace member; see Cargo.toml).
