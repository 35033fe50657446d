//! Metadata for interactive queries: which tasks run where.

use std::collections::BTreeSet;

use crate::engine::{AnyTaskId, TaskId, TopicPartition};

/// One stream thread of this instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThreadMetadata {
    /// `<application.id>-<process id>-StreamThread-<n>`.
    pub thread_name: String,
    /// Its state: `STARTING`, `REBALANCING`, `RUNNING`, `PENDING_SHUTDOWN`, `DEAD`.
    pub state: String,
    /// The active tasks it runs.
    pub active_tasks: BTreeSet<TaskId>,
    /// The standby tasks it keeps up to date (Kafka's `standbyTasks`).
    pub standby_tasks: BTreeSet<TaskId>,
    /// Their input partitions.
    pub partitions: BTreeSet<TopicPartition>,
    /// The transactional id of its producer under exactly-once.
    pub transactional_id: Option<String>,
}

/// Where the partition of a key lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyQueryMetadata {
    /// The partition (murmur2 of the serialized key, as the default partitioner).
    pub partition: i32,
    /// The task owning it (the global task for a global store).
    pub task: AnyTaskId,
    /// Whether a thread of this instance runs that task now.
    pub local: bool,
    /// The `client.id` of the group member (stream thread) that owns the partition, when the
    /// group can be described (embedded seam); it names the instance's process id.
    pub owner_client_id: Option<String>,
}
