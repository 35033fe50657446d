//! Brook examples (workspace member; see Cargo.toml).
