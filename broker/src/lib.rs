//! Brook's Kafka-compatible broker: partition logs on disk, topics, consumer groups, idempotent and
//! transactional producers, and the embedded client API.
//!
//! ```
//! # #[tokio::main] async fn main() -> brook_broker::Result<()> {
//! use brook_broker::{Broker, BrokerConfig};
//! let dir = tempfile::tempdir().unwrap();
//! let broker = Broker::open(BrokerConfig::new(dir.path())).await?;
//! broker.create_topic("greetings", 1, Default::default())?;
//! # broker.shutdown().await;
//! # Ok(()) }
//! ```

pub mod broker;
pub mod changes;
pub mod client;
pub(crate) mod codec;
pub mod config;
pub(crate) mod data_dir;
pub mod dir_lock;
pub mod error;
pub(crate) mod group;
pub(crate) mod log;
pub mod partition;
pub mod record;
pub mod server;
pub mod storage_health;
pub mod topic;
pub mod txn;

pub use broker::{Broker, OffsetSpec, PartitionInfo, TopicDescription};
pub use changes::TopicChanges;
pub use config::{BrokerConfig, CleanupPolicy, TimestampType, TopicConfig};
pub use dir_lock::DirLock;
pub use error::{Error, ErrorCode, Result};
pub use storage_health::StorageFault;
pub use partition::{AbortedTxn, AppendResult, FetchData, IsolationLevel, ProducerState};
