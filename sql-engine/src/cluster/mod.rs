//! What the SQL engine needs from a Kafka cluster, as one small trait ([`Cluster`]), with two
//! implementations: [`EmbeddedCluster`] over the in-process broker (no sockets, no
//! re-encoding) and `KafkaCluster` (feature `kafka`) over any Kafka-protocol cluster through
//! librdkafka. The engine's live mode, the ksqlDB server's command topic and the processing log
//! reach the cluster only through it; persistent and push queries run as `KafkaStreams` over the
//! matching client seam of the stream runtime ([`Cluster::streams`]).
//!
//! Records are appended as Kafka's default partitioner places them: `murmur2(key)` over the
//! partition count (`brook_broker::client::partitioner`); a record without a key goes to
//! partition 0. Reads see committed records only (`read_committed`).
//!
//! ```
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let rt = tokio::runtime::Runtime::new()?;
//! # let dir = tempfile::tempdir()?;
//! use brook_sql_engine::cluster::{Cluster, EmbeddedCluster};
//! use brook_sql_engine::cluster::OutputRecord;
//! let broker = rt.block_on(brook_broker::Broker::open(brook_broker::BrokerConfig::new(dir.path())))?;
//! let cluster = EmbeddedCluster::new(broker);
//! cluster.create_topic("t", 3, &Default::default())?;
//! let r = OutputRecord { key: Some(b"k".to_vec()), value: Some(b"v".to_vec()), timestamp: 7, headers: vec![] };
//! cluster.append("t", std::slice::from_ref(&r))?;
//! assert_eq!(cluster.read_all("t")?, vec![r]);
//! # Ok(()) }
//! ```

mod embedded;
#[cfg(feature = "kafka")]
mod kafka;
mod record;
mod seam;

pub(crate) use self::embedded::committed_records;
pub use self::embedded::EmbeddedCluster;
#[cfg(feature = "kafka")]
pub use self::kafka::KafkaCluster;
pub use self::record::OutputRecord;
pub use self::seam::{Cluster, StreamThreads};
