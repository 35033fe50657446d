//! What two or more of Brook's layers truly share, so that none imports another's internals
//! for it: the wall [`clock`] (epoch milliseconds, injectable in tests) and the names of
//! internal topics ([`topics`]), and the record [`Header`].

pub mod clock;
pub mod header;
pub mod topics;

pub use clock::{now_ms, Clock};
pub use header::Header;
