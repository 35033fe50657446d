//! The states of a [`KafkaStreams`](super::KafkaStreams) instance, as in Kafka Streams.

use std::fmt;

/// The state of a `KafkaStreams` instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum State {
    /// Built, not started.
    Created,
    /// Threads are joining the group, or restoring the tasks they were assigned.
    Rebalancing,
    /// Every thread is processing.
    Running,
    /// `close` was called; threads are committing and stopping.
    PendingShutdown,
    /// Stopped cleanly.
    NotRunning,
    /// Stopped because of an error (uncaught exception handler chose to shut down, or every
    /// thread died).
    Error,
}

impl State {
    /// Whether threads run (`REBALANCING` or `RUNNING`).
    pub fn is_running_or_rebalancing(self) -> bool {
        matches!(self, State::Running | State::Rebalancing)
    }

    /// Kafka's name: `RUNNING`, `PENDING_SHUTDOWN`, ...
    pub fn name(self) -> &'static str {
        match self {
            State::Created => "CREATED",
            State::Rebalancing => "REBALANCING",
            State::Running => "RUNNING",
            State::PendingShutdown => "PENDING_SHUTDOWN",
            State::NotRunning => "NOT_RUNNING",
            State::Error => "ERROR",
        }
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The state of one stream thread.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ThreadState {
    /// Started, not yet assigned.
    Starting,
    /// Between revocation and the end of restore.
    Rebalancing,
    /// Processing.
    Running,
    /// Stopping.
    PendingShutdown,
    /// Exited.
    Dead,
}
