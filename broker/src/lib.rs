//! Brook's Kafka-compatible broker: partition logs on disk, topics, consumer groups, idempotent and
//! transactional producers, and the embedded client API.

pub mod config;
pub mod error;
// Temporary while the group and log modules are written in parallel: the lead builds with
// RUSTFLAGS="--cfg brook_lead_only" to test the rest.
#[cfg(not(brook_lead_only))]
pub(crate) mod group;
#[cfg(not(brook_lead_only))]
pub(crate) mod log;
pub mod record;

pub use config::{BrokerConfig, CleanupPolicy, TimestampType, TopicConfig};
pub use error::{Error, ErrorCode, Result};
