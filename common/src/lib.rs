//! What two or more of Brook's layers truly share, so that none imports another's internals
//! for it: the wall [`clock`] (epoch milliseconds, injectable in tests), the names of
//! internal topics ([`topics`]) and the record vocabulary ([`record`]: [`TopicPartition`],
//! [`Header`], [`ConsumerRecord`], [`RecordMetadata`], [`OffsetReset`]); behind the `test-support` feature, test
//! helpers.

pub mod clock;
pub mod javaregex;
pub mod javatime;
pub mod record;
pub mod topics;
#[cfg(feature = "test-support")]
pub mod test_support;

pub use clock::{now_ms, Clock};
pub use record::{ConsumerRecord, Header, OffsetReset, RecordMetadata, TopicPartition, UnknownOffsetReset};
