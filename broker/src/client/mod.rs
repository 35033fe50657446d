//! The embedded client: [`Producer`], [`Consumer`] and [`Admin`] talking to an in-process
//! [`Broker`](crate::Broker) without sockets, plus the pieces the Java client keeps on the client
//! side (partitioner, consumer protocol, assignors).

pub mod admin;
pub mod assignor;
pub mod consumer;
pub mod consumer_protocol;
pub mod partitioner;
pub mod producer;

use std::sync::Arc;
use std::time::Duration;

pub use admin::{Admin, ConsumerGroupLag, GroupDescription, GroupMember, NewTopic, PartitionLag};
pub use assignor::{CooperativeStickyAssignor, PartitionAssignor, RangeAssignor, RoundRobinAssignor};
pub use consumer::{
    CommitHandle, Consumer, ConsumerConfig, ConsumerGroupMetadata, ConsumerRecord, OffsetReset, RebalanceListener,
    WakeupHandle,
};
pub use partitioner::Partitioner;
pub use producer::{DeliveryFuture, DeliveryReport, Producer, ProducerConfig, ProducerRecord, RecordMetadata};

pub use brook_common::TopicPartition;

use crate::error::{Error, Result};

/// Offsets to commit as the group coordinator takes them.
pub(crate) fn offset_commits(offsets: &std::collections::BTreeMap<TopicPartition, i64>) -> Vec<crate::group::OffsetCommit> {
    offsets
        .iter()
        .map(|(tp, &offset)| crate::group::OffsetCommit {
            topic: tp.topic.clone(),
            partition: tp.partition,
            offset,
            leader_epoch: -1,
            metadata: Some(String::new()),
        })
        .collect()
}

pub(crate) fn parse_ms(key: &str, value: &str) -> Result<Duration> {
    value
        .trim()
        .parse::<u64>()
        .map(Duration::from_millis)
        .map_err(|_| Error::InvalidConfig(format!("invalid value {value:?} for {key}")))
}

/// The assignor Kafka's `partition.assignment.strategy` names: `range`, `roundrobin`,
/// `cooperative-sticky` (or the Java class names).
pub fn assignor_by_name(name: &str) -> Option<Arc<dyn PartitionAssignor>> {
    let short = name.rsplit('.').next().unwrap_or(name);
    Some(match short {
        "range" | "RangeAssignor" => Arc::new(RangeAssignor),
        "roundrobin" | "RoundRobinAssignor" => Arc::new(RoundRobinAssignor),
        "cooperative-sticky" | "CooperativeStickyAssignor" => Arc::new(CooperativeStickyAssignor),
        _ => return None,
    })
}
