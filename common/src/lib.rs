//! What two or more of Brook's layers truly share, so that none imports another's internals
//! for it: the wall [`clock`] (epoch milliseconds, injectable in tests) and the names of
//! internal topics ([`topics`]).

pub mod clock;
pub mod topics;

pub use clock::{now_ms, Clock};
