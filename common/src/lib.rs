//! What two or more of Brook's layers truly share, so that none imports another's internals
//! for it: the wall [`clock`] (epoch milliseconds, injectable in tests) and the names of
//! internal topics ([`topics`]); behind the `test-support` feature, test helpers.

pub mod clock;
pub mod topics;
#[cfg(feature = "test-support")]
pub mod test_support;

pub use clock::{now_ms, Clock};
