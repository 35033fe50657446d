//! The global stream thread (Kafka's `GlobalStreamThread`): keeps the global stores of an
//! instance up to date from every partition of their source topics.
//!
//! On start, before any stream thread runs, [`GlobalThread::start`] bootstraps the stores:
//! it reads each partition (assigned, not subscribed; `read_committed` under exactly-once)
//! from the local checkpoint, or the log start, up to the end offset it sees then, through the
//! global processors. A background thread then keeps reading what is appended, and writes the
//! checkpoint (`state.dir/<application.id>/global/.checkpoint`, Kafka's format) every
//! `commit.interval.ms` and on close.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Instant;

use brook_state_store::OffsetCheckpoint;
use parking_lot::{Condvar, Mutex};

use super::client::{ClientSupplier, RestoreConsumer, StreamsAdmin};
use super::os_thread::join_thread_until;
use super::thread_context::consumer_settings;
use crate::config::StreamsConfig;
use crate::engine::{ConsumerRecord, OutputRecord, RecordCollector, TaskEngine, TaskFactory, TopicPartition};
use crate::error::{Error, Result, TopologyError};
use crate::task::StreamTask;

/// Global processors only write their stores; anything they send is dropped (as in Kafka,
/// where a global processor cannot forward).
struct DropCollector;

impl RecordCollector for DropCollector {
    fn send(&mut self, record: OutputRecord) -> Result<()> {
        tracing::debug!(topic = %record.topic, "a global processor sent a record; dropped");
        Ok(())
    }
}

/// The global thread as the instance sees it.
pub(crate) struct GlobalThread {
    engine: Mutex<Option<Box<dyn TaskEngine>>>,
    stop: AtomicBool,
    abandon: AtomicBool,
    wake: (Mutex<()>, Condvar),
    handle: Mutex<Option<JoinHandle<()>>>,
}

impl std::fmt::Debug for GlobalThread {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GlobalThread").field("stopped", &self.stop.load(Ordering::SeqCst)).finish_non_exhaustive()
    }
}

/// What the background loop owns.
struct Reader {
    admin: Arc<dyn StreamsAdmin>,
    restore: Box<dyn RestoreConsumer>,
    positions: BTreeMap<TopicPartition, i64>,
    checkpoint: OffsetCheckpoint,
    /// Whether the checkpoint may be trusted on restart (every global store is persistent).
    persistent: bool,
    read_committed: bool,
}

impl Reader {
    /// Reads every partition up to the end offset seen now; whether anything was read.
    fn catch_up(&mut self, engine: &mut dyn TaskEngine) -> Result<bool> {
        let mut progressed = false;
        let tps: Vec<TopicPartition> = self.positions.keys().cloned().collect();
        for tp in tps {
            let from = self.positions[&tp];
            let end = self.admin.end_offset(&tp, self.read_committed)?;
            if from >= end {
                continue;
            }
            let pos = self.restore.read(&tp, from, end, &mut |records: &[ConsumerRecord]| {
                engine.add_records(&tp, records.to_vec());
                let now = brook_common::now_ms();
                while engine.process(now, &mut DropCollector)? {}
                Ok(())
            })?;
            self.positions.insert(tp, pos);
            progressed = true;
        }
        Ok(progressed)
    }

    /// Flushes the global stores, then records the positions they include.
    fn checkpoint(&mut self, engine: &mut dyn TaskEngine) -> Result<()> {
        engine.prepare_commit(&mut DropCollector)?;
        if self.persistent {
            self.checkpoint.write(&self.positions)?;
        }
        Ok(())
    }
}

impl GlobalThread {
    /// Creates the global-store engine, bootstraps it and starts the background thread;
    /// `None` when the topology has no global stores. `on_fatal` is told when the thread
    /// dies of an error (Kafka then moves the client to ERROR).
    ///
    /// # Errors
    /// [`Error::Topology`] for a missing global topic; client and store errors of the
    /// bootstrap.
    pub(crate) fn start(
        factory: &dyn TaskFactory,
        config: &StreamsConfig,
        supplier: &dyn ClientSupplier,
        admin: Arc<dyn StreamsAdmin>,
        app_dir: &Path,
        thread_name: String,
        on_fatal: Box<dyn Fn(Error) + Send>,
    ) -> Result<Option<Arc<GlobalThread>>> {
        let topics = factory.global_source_topics();
        if topics.is_empty() {
            return Ok(None);
        }
        let mut inputs = Vec::new();
        for t in &topics {
            let Some(n) = admin.partition_count(t)? else {
                return Err(TopologyError::MissingGlobalTopic(t.clone()).into());
            };
            inputs.extend((0..n).map(|p| TopicPartition::new(t.clone(), p)));
        }
        // Global records are processed in the order they are read: never wait for empty
        // partitions.
        let mut global_config = config.clone();
        global_config.max_task_idle = std::time::Duration::ZERO;
        // Global stores are checkpointed by file, after a flush, under either guarantee
        // (transactional stores would drop what no changelog commit covers); records are
        // still read `read_committed` under exactly-once.
        global_config.processing_guarantee = crate::config::ProcessingGuarantee::AtLeastOnce;
        let Some(mut engine) = factory.create_global_engine(inputs.clone(), app_dir, &global_config)? else {
            return Ok(None);
        };
        let persistent = engine.as_any().downcast_ref::<StreamTask>().is_none_or(|t| {
            t.store_names().iter().all(|n| t.read_global_store(n, |s| s.state_store().persistent()).unwrap_or(true))
        });
        let checkpoint = OffsetCheckpoint::new(app_dir.join("global").join(".checkpoint"));
        let saved = if persistent {
            checkpoint.read().unwrap_or_else(|e| {
                tracing::warn!(error = %e, "unreadable global checkpoint; bootstrapping from the beginning");
                BTreeMap::new()
            })
        } else {
            BTreeMap::new()
        };
        let mut positions = BTreeMap::new();
        for tp in &inputs {
            let start = admin.start_offset(tp)?;
            positions.insert(tp.clone(), saved.get(tp).copied().unwrap_or(start).max(start));
        }
        engine.initialize()?;
        let restore = supplier.restore_consumer(&consumer_settings(
            config,
            format!("{thread_name}-global-consumer"),
            false,
            0,
        ))?;
        let mut reader =
            Reader { admin, restore, positions, checkpoint, persistent, read_committed: config.exactly_once() };
        let t0 = Instant::now();
        tracing::info!(topics = ?topics, from = ?reader.positions, "bootstrapping global stores");
        reader.catch_up(engine.as_mut())?;
        reader.checkpoint(engine.as_mut())?;
        tracing::info!(ms = t0.elapsed().as_millis() as u64, to = ?reader.positions, "global stores bootstrapped");

        let thread = Arc::new(GlobalThread {
            engine: Mutex::new(Some(engine)),
            stop: AtomicBool::new(false),
            abandon: AtomicBool::new(false),
            wake: (Mutex::new(()), Condvar::new()),
            handle: Mutex::new(None),
        });
        let t = thread.clone();
        let poll = config.poll;
        let commit_interval = config.commit_interval;
        let handle = std::thread::Builder::new()
            .name("GlobalStreamThread".into())
            .spawn(move || {
                if let Err(e) = t.run(&mut reader, poll, commit_interval) {
                    tracing::error!(error = %e, "global stream thread died");
                    on_fatal(e);
                }
            })
            .map_err(|e| Error::Broker(brook_broker::Error::storage("spawning the global stream thread", e)))?;
        *thread.handle.lock() = Some(handle);
        Ok(Some(thread))
    }

    fn run(&self, reader: &mut Reader, poll: std::time::Duration, commit_interval: std::time::Duration) -> Result<()> {
        let mut last_checkpoint = Instant::now();
        let mut dirty = false;
        loop {
            if self.abandon.load(Ordering::SeqCst) {
                return Ok(());
            }
            let stopping = self.stop.load(Ordering::SeqCst);
            let progressed = {
                let mut guard = self.engine.lock();
                let Some(engine) = guard.as_mut() else { return Ok(()) };
                let progressed = if stopping { false } else { reader.catch_up(engine.as_mut())? };
                engine.punctuate(brook_common::now_ms(), &mut DropCollector)?;
                dirty |= progressed;
                if stopping || (dirty && last_checkpoint.elapsed() >= commit_interval) {
                    reader.checkpoint(engine.as_mut())?;
                    last_checkpoint = Instant::now();
                    dirty = false;
                }
                if stopping {
                    let closed = engine.close(true);
                    *guard = None;
                    closed?;
                    tracing::info!(positions = ?reader.positions, "global stream thread stopped");
                    return Ok(());
                }
                progressed
            };
            if !progressed {
                let mut g = self.wake.0.lock();
                if !self.stop.load(Ordering::SeqCst) {
                    self.wake.1.wait_for(&mut g, poll);
                }
            }
        }
    }

    /// Runs `f` on the global-store engine (interactive queries), unless it is closed.
    pub(crate) fn with_engine(&self, f: &mut dyn FnMut(&dyn TaskEngine)) {
        if let Some(e) = self.engine.lock().as_ref() {
            f(e.as_ref());
        }
    }

    /// Stops the thread: `abandon` drops it as a crash would (no checkpoint). Waits until
    /// `deadline`; whether it stopped.
    pub(crate) fn shutdown(&self, abandon: bool, deadline: Instant) -> bool {
        if abandon {
            self.abandon.store(true, Ordering::SeqCst);
        }
        self.stop.store(true, Ordering::SeqCst);
        {
            let _g = self.wake.0.lock();
            self.wake.1.notify_all();
        }
        let mut handle = self.handle.lock().take();
        if handle.as_ref().is_some_and(|h| h.thread().id() == std::thread::current().id()) {
            return true;
        }
        let stopped = join_thread_until(&mut handle, deadline);
        if !stopped {
            *self.handle.lock() = handle;
        }
        stopped
    }
}
