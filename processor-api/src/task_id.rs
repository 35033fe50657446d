//! Task ids: [`TaskId`] for a stream task (sub-topology x partition), [`AnyTaskId`] for any
//! task including the global-store task.

use std::fmt;

/// A task: sub-topology x partition, printed `0_3` as in Kafka Streams.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TaskId {
    /// The sub-topology (connected component) index.
    pub subtopology: u32,
    /// The input partition.
    pub partition: i32,
}

impl fmt::Display for TaskId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}_{}", self.subtopology, self.partition)
    }
}

/// The task a processor runs in: a stream task, or the global-store task (Kafka's global
/// thread: one per instance, reading every partition of the global topics, in no
/// sub-topology's numbering). Printed `0_3`, or `global`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum AnyTaskId {
    /// A stream task.
    Stream(TaskId),
    /// The global-store task.
    Global,
}

impl AnyTaskId {
    /// The input partition of a stream task; `None` for the global task.
    pub fn partition(&self) -> Option<i32> {
        match self {
            AnyTaskId::Stream(id) => Some(id.partition),
            AnyTaskId::Global => None,
        }
    }
}

impl From<TaskId> for AnyTaskId {
    fn from(id: TaskId) -> Self {
        AnyTaskId::Stream(id)
    }
}

impl fmt::Display for AnyTaskId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AnyTaskId::Stream(id) => id.fmt(f),
            AnyTaskId::Global => f.write_str("global"),
        }
    }
}
