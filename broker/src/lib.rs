//! Brook's Kafka-compatible broker: partition logs on disk, topics, consumer groups, idempotent and
//! transactional producers, and the embedded client API.

pub mod config;
pub mod error;
pub(crate) mod group;
pub(crate) mod log;
pub mod record;

pub use config::{BrokerConfig, CleanupPolicy, TimestampType, TopicConfig};
pub use error::{Error, ErrorCode, Result};
