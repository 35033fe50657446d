//! Brook bench (workspace member; see Cargo.toml).
