//! The supervisor of a running instance: watches for shutdown requests of other instances
//! (SHUTDOWN_APPLICATION, appended to [`shutdown_topic`]) and, every
//! `metadata.max.age.ms`, for new topics matching pattern sources (the stream threads then
//! re-subscribe).
//!
//! Without a shared runtime it is an OS thread of the instance; with one
//! ([`KafkaStreams::with_runtime`](super::KafkaStreams::with_runtime)) it is a task there that
//! sleeps between checks and runs each check (admin calls, which may block on the `Kafka` seam)
//! on the runtime's bounded blocking pool, so no shared worker ever waits on a client.

use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use crate::engine::TopicPartition;
use crate::error::{Error, Result};
use crate::runtime::client::StreamsAdmin;
use crate::runtime::shared::SharedRuntime;
use crate::runtime::topics::TopologyTopics;

/// What the supervisor needs of its instance.
pub(super) trait Supervised: Send + Sync {
    /// The instance's `application.id`.
    fn application_id(&self) -> &str;
    /// Whether the instance runs or rebalances; with `wait`, after waiting up to that long for a
    /// change of its state (returning at once when it does not run).
    fn running(&self, wait: Option<Duration>) -> bool;
    /// Shuts the instance down into ERROR, as a SHUTDOWN_APPLICATION request asks.
    fn shut_down(self: Arc<Self>);
}

/// The topic that carries SHUTDOWN_APPLICATION requests between instances.
pub(super) fn shutdown_topic(application_id: &str) -> String {
    format!("{application_id}-shutdown-requests")
}

/// What one instance's supervisor keeps between checks.
struct Supervisor {
    inner: Weak<dyn Supervised>,
    admin: Arc<dyn StreamsAdmin>,
    topics: Arc<TopologyTopics>,
    max_age: Duration,
    last_refresh: Instant,
    request_tp: TopicPartition,
    baseline: i64,
}

/// How to start a supervisor: its instance's admin client, topics, `metadata.max.age.ms` and
/// shared runtime, and where shutdown requests arrive (those past `baseline` are new).
pub(super) struct Start {
    pub(super) admin: Arc<dyn StreamsAdmin>,
    pub(super) topics: Arc<TopologyTopics>,
    pub(super) max_age: Duration,
    pub(super) shared: Option<SharedRuntime>,
    pub(super) request_tp: TopicPartition,
    pub(super) baseline: i64,
}

/// Starts the supervisor of a started instance: a task on its shared runtime, else a thread.
///
/// # Errors
/// The OS refused the thread.
pub(super) fn start(inner: Weak<dyn Supervised>, how: Start) -> Result<()> {
    let Start { admin, topics, max_age, shared, request_tp, baseline } = how;
    let sup = Supervisor { inner, admin, topics, max_age, last_refresh: Instant::now(), request_tp, baseline };
    match shared {
        Some(rt) => {
            rt.handle().spawn(supervise_async(sup));
            Ok(())
        }
        None => std::thread::Builder::new()
            .name("streams-supervisor".into())
            .spawn(move || supervise(sup))
            .map(drop)
            .map_err(|e| Error::Broker(brook_broker::Error::storage("spawning the supervisor thread", e))),
    }
}

impl Supervisor {
    fn tick(&self) -> Duration {
        let tick = Duration::from_millis(500);
        if self.topics.has_patterns() {
            self.max_age.min(tick)
        } else {
            tick
        }
    }

    /// Whether the instance still runs.
    fn running(&self) -> bool {
        self.inner.upgrade().is_some_and(|i| i.running(None))
    }

    /// One round of checks; `false` once the supervisor should stop.
    fn check(&mut self) -> bool {
        if self.topics.has_patterns() && self.last_refresh.elapsed() >= self.max_age {
            self.last_refresh = Instant::now();
            if let Err(e) = self.topics.refresh(self.admin.as_ref()) {
                tracing::warn!(error = %e, "looking for topics matching pattern sources failed");
            }
        }
        let requested = matches!(self.admin.partition_count(&self.request_tp.topic), Ok(Some(_)))
            && self.admin.end_offset(&self.request_tp, false).is_ok_and(|end| end > self.baseline);
        if requested {
            let Some(inner) = self.inner.upgrade() else { return false };
            tracing::error!(application = %inner.application_id(), "another instance requested SHUTDOWN_APPLICATION; shutting down");
            inner.shut_down();
            return false;
        }
        true
    }
}

/// The supervisor as a thread: waits on the instance's state between checks.
fn supervise(mut sup: Supervisor) {
    let tick = sup.tick();
    loop {
        if !sup.inner.upgrade().is_some_and(|inner| inner.running(Some(tick))) {
            return;
        }
        if !sup.check() {
            return;
        }
    }
}

/// The supervisor as a task of the shared runtime; checks run on its blocking pool.
async fn supervise_async(mut sup: Supervisor) {
    let tick = sup.tick();
    loop {
        tokio::time::sleep(tick).await;
        if !sup.running() {
            return;
        }
        match tokio::task::spawn_blocking(move || {
            let go = sup.check();
            (sup, go)
        })
        .await
        {
            Ok((s, true)) => sup = s,
            Ok((_, false)) => return,
            Err(e) => {
                tracing::error!(error = %e, "a supervisor check failed; the instance is no longer supervised");
                return;
            }
        }
    }
}
