//! The supervisor of a running instance: watches for shutdown requests of other instances
//! (SHUTDOWN_APPLICATION, sent by [`request_application_shutdown`]) and, every
//! `metadata.max.age.ms`, for new topics matching pattern sources (the stream threads then
//! re-subscribe).
//!
//! Without a shared runtime it is an OS thread of the instance; with one
//! ([`KafkaStreams::with_runtime`](super::KafkaStreams::with_runtime)) it is a task there that
//! sleeps between checks and runs each check (admin calls, which may block on the `Kafka` seam)
//! on the runtime's bounded blocking pool, so no shared worker ever waits on a client.

use std::collections::BTreeMap;
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use bytes::Bytes;

use super::Instance;
use crate::engine::{OutputRecord, TopicPartition};
use crate::error::{Error, Result};
use crate::runtime::client::{InternalTopic, ProducerSettings, StreamsAdmin};
use crate::runtime::state::State;
use crate::runtime::topics::TopologyTopics;

/// The topic that carries SHUTDOWN_APPLICATION requests between instances.
pub(super) fn shutdown_topic(application_id: &str) -> String {
    format!("{application_id}-shutdown-requests")
}

/// SHUTDOWN_APPLICATION: appends a request to `<application.id>-shutdown-requests`, which
/// every instance's supervisor watches.
pub(super) fn request_application_shutdown(inner: &Arc<Instance>, thread: &str) -> Result<()> {
    let topic = shutdown_topic(&inner.config.application_id);
    let admin = inner.supplier.admin()?;
    admin.create_topics(&[InternalTopic {
        name: topic.clone(),
        partitions: 1,
        configs: BTreeMap::from([("retention.ms".to_owned(), "604800000".to_owned())]),
    }])?;
    let mut producer = inner.supplier.producer(&ProducerSettings {
        client_id: format!("{thread}-shutdown-requester"),
        transactional_id: None,
        overrides: BTreeMap::new(),
        runtime: inner.config.runtime.clone(),
    })?;
    producer.send(OutputRecord {
        topic: topic.into(),
        partition: Some(0),
        key: Some(Bytes::from(inner.process_id.clone())),
        value: Some(Bytes::from(format!("shutdown requested by {thread}"))),
        timestamp: brook_common::now_ms(),
        headers: Vec::new(),
    })?;
    producer.flush()?;
    tracing::error!(thread, "SHUTDOWN_APPLICATION: every instance of the application is asked to shut down");
    Ok(())
}

/// What one instance's supervisor keeps between checks.
struct Supervisor {
    inner: Weak<Instance>,
    admin: Arc<dyn StreamsAdmin>,
    topics: Arc<TopologyTopics>,
    max_age: Duration,
    last_refresh: Instant,
    request_tp: TopicPartition,
    baseline: i64,
}

/// Starts the supervisor of a started instance: a task on its shared runtime, else a thread.
///
/// # Errors
/// The OS refused the thread.
pub(super) fn start(inner: Weak<Instance>, request_tp: TopicPartition, baseline: i64) -> Result<()> {
    let Some(strong) = inner.upgrade() else { return Ok(()) };
    let Some((admin, topics, max_age)) =
        strong.ctx.lock().as_ref().map(|c| (c.admin.clone(), c.topics.clone(), c.config.metadata_max_age))
    else {
        return Ok(());
    };
    let shared = strong.config.runtime.clone();
    drop(strong);
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
        self.inner.upgrade().is_some_and(|i| i.state.lock().is_running_or_rebalancing())
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
            tracing::error!(application = %inner.config.application_id, "another instance requested SHUTDOWN_APPLICATION; shutting down");
            Instance::shutdown(&inner, Duration::from_secs(60), false, State::Error);
            return false;
        }
        true
    }
}

/// The supervisor as a thread: waits on the instance's state between checks.
fn supervise(mut sup: Supervisor) {
    let tick = sup.tick();
    loop {
        {
            let Some(inner) = sup.inner.upgrade() else { return };
            let mut st = inner.state.lock();
            if !st.is_running_or_rebalancing() {
                return;
            }
            inner.state_cv.wait_for(&mut st, tick);
            if !st.is_running_or_rebalancing() {
                return;
            }
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
