//! What the handlers share ([`Shared`], behind every route of [`crate::api`]): the engine
//! thread, the configuration, the command topic with the statuses of its commands, and the
//! running push queries with the switches that stop them ([`PushStop`]).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::Waker;

use futures::task::AtomicWaker;

use crate::command_topic::{CommandTopic, Statuses};
use crate::config::KsqlServerConfig;
use crate::engine_thread::EngineThread;

/// What the handlers share.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) engine: EngineThread,
    pub(crate) config: KsqlServerConfig,
    /// The last `commandSequenceNumber` given out.
    pub(crate) sequence: Arc<AtomicU64>,
    /// `commandId` -> status message, for `/status`: this server's commands and those it
    /// applied from the command topic.
    pub(crate) commands: Statuses,
    /// The command topic (live mode).
    pub(crate) command_topic: Option<Arc<CommandTopic>>,
    /// Running push queries: id -> the flag that stops them (`/close-query`).
    pub(crate) push_queries: PushQueries,
}

/// The running push queries (and `PRINT`s): id -> the switch that stops it.
pub(crate) type PushQueries = Arc<Mutex<HashMap<String, Arc<PushStop>>>>;

/// The stop switch of a running push query, flipped by `/close-query` and at shutdown.
#[derive(Debug, Default)]
pub(crate) struct PushStop {
    stopped: AtomicBool,
    waker: AtomicWaker,
}

impl PushStop {
    /// Ends the query's response (its stream wakes and writes the end).
    pub(crate) fn stop(&self) {
        self.stopped.store(true, Ordering::Release);
        self.waker.wake();
    }

    /// Whether [`stop`](Self::stop) was called.
    pub(crate) fn is_stopped(&self) -> bool {
        self.stopped.load(Ordering::Acquire)
    }

    /// Wakes `waker` at the next [`stop`](Self::stop) (the response's stream, to end it).
    pub(crate) fn register(&self, waker: &Waker) {
        self.waker.register(waker);
    }
}
