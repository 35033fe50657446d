//! `KafkaStreams`: the client that runs a topology's tasks on stream threads.

mod queries;
mod supervisor;

pub use self::queries::{
    ReadOnlyKeyValueView, ReadOnlySessionView, ReadOnlyWindowView, StoreQueryParameters,
};

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Weak};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use bytes::Bytes;
use parking_lot::{Condvar, Mutex};

use super::client::{ClientSupplier, InternalTopic, ProducerSettings};
use super::global_thread::GlobalThread;
use super::metadata::ThreadMetadata;
use super::process_id;
use super::restore_listener::StateRestoreListener;
use super::pool::{StreamThreadPool, Unit};
use super::shared::SharedRuntime;
use super::state::{State, ThreadState};
use super::os_thread::{join_thread_until, panic_message};
use super::standby::Standbys;
use super::stream_thread::{self, ThreadShared};
use super::thread_context::ThreadContext;
use super::topics;
use supervisor::Supervised;
use crate::config::{StreamsConfig, UncaughtExceptionResponse};
use crate::engine::{OutputRecord, TaskEngine, TaskFactory, TaskId, TopicPartition};
use crate::error::{Error, Result};

/// Told about every state change: `(new, old)`, as Kafka's `StateListener.onChange`.
pub type StateListener = Box<dyn Fn(State, State) + Send + Sync>;

/// Decides what happens when a stream thread dies of an error.
pub type UncaughtExceptionHandler = Box<dyn Fn(&Error) -> UncaughtExceptionResponse + Send + Sync>;

struct ThreadEntry {
    shared: Arc<ThreadShared>,
    runner: Runner,
}

/// What runs a stream thread.
enum Runner {
    /// Its own OS thread (`None` once joined).
    Thread(Option<JoinHandle<()>>),
    /// A unit of a [`StreamThreadPool`].
    Unit(Arc<Unit>),
}

/// One instance's state, shared by the [`KafkaStreams`] handle, its stream threads' exit
/// callbacks and the supervisor.
struct Instance {
    factory: Arc<dyn TaskFactory>,
    config: Arc<StreamsConfig>,
    supplier: Arc<dyn ClientSupplier>,
    process_id: String,
    app_dir: PathBuf,
    state: Mutex<State>,
    state_cv: Condvar,
    listener: Mutex<Option<StateListener>>,
    handler: Mutex<Option<UncaughtExceptionHandler>>,
    restore_listener: Mutex<Option<Arc<dyn StateRestoreListener>>>,
    threads: Mutex<Vec<ThreadEntry>>,
    /// The global stream thread, when the topology has global stores.
    global: Mutex<Option<Arc<GlobalThread>>>,
    ctx: Mutex<Option<Arc<ThreadContext>>>,
    /// The instance's standby tasks, shared by its threads.
    standbys: Arc<Standbys>,
    /// The lock on `state.dir/<application.id>` held while running.
    dir_lock: Mutex<Option<brook_broker::DirLock>>,
    /// The pool that runs the stream threads, when the instance was given one.
    pool: Option<StreamThreadPool>,
}

/// Runs a topology: stream threads consume the topology's source topics as one consumer group
/// (`application.id`), each task (sub-topology x partition) restoring its stores from their
/// changelogs before it processes.
///
/// Dropping a running instance without [`close`](Self::close) abandons its threads as a crash
/// would: nothing is committed, open transactions are left to be fenced by the next instance.
///
/// # Examples
/// ```
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use std::sync::Arc;
/// use std::time::Duration;
/// use brook_broker::{Broker, BrokerConfig};
/// use brook_processor_api::runtime::Embedded;
/// use brook_processor_api::{KafkaStreams, SinkOptions, SourceOptions, State, StreamsConfig, Topology, TopologyTaskFactory};
/// use brook_state_store::BytesSerde;
/// use bytes::Bytes;
///
/// let rt = tokio::runtime::Runtime::new()?;
/// let dir = tempfile::tempdir()?;
/// let mut broker_config = BrokerConfig::new(dir.path().join("log"));
/// broker_config.group_initial_rebalance_delay = Duration::ZERO;
/// let broker = rt.block_on(Broker::open(broker_config))?;
/// broker.create_topic("in", 2, Default::default())?;
/// broker.create_topic("out", 2, Default::default())?;
///
/// let mut topology = Topology::new();
/// topology
///     .add_source("src", SourceOptions::topics(["in"]))?
///     .add_sink("sink", SinkOptions::<Bytes, Bytes>::topic("out", Arc::new(BytesSerde), Arc::new(BytesSerde)), &["src"])?;
/// let mut config = StreamsConfig::new("copy");
/// config.set("processing.guarantee", "exactly_once_v2")?;
/// config.state_dir = dir.path().join("state");
/// let factory = Arc::new(TopologyTaskFactory::new(topology, &config)?);
/// let streams = KafkaStreams::new(factory, config, Embedded::new(broker))?;
/// streams.start()?;
/// assert!(streams.wait_for_state(Duration::from_secs(30), |s| s == State::Running).1);
/// assert!(streams.close(Duration::from_secs(30)));
/// assert_eq!(streams.state(), State::NotRunning);
/// # Ok(()) }
/// ```
pub struct KafkaStreams {
    inner: Arc<Instance>,
}

impl std::fmt::Debug for KafkaStreams {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KafkaStreams")
            .field("application_id", &self.inner.config.application_id)
            .field("process_id", &self.inner.process_id)
            .field("state", &*self.inner.state.lock())
            .finish_non_exhaustive()
    }
}

impl KafkaStreams {
    /// An instance in state `CREATED`. The process id is read from (or written to)
    /// `state.dir/<application.id>/kafka-streams-process-metadata`.
    ///
    /// # Errors
    /// [`Error::Config`] for an empty application id; I/O errors on the state directory.
    pub fn new(
        factory: Arc<dyn TaskFactory>,
        config: StreamsConfig,
        client: impl ClientSupplier + 'static,
    ) -> Result<KafkaStreams> {
        if config.num_stream_threads == 0 {
            tracing::warn!("num.stream.threads=0: the instance runs no tasks until a thread is added");
        }
        KafkaStreams::build(factory, config, client, None)
    }

    /// An instance in state `CREATED` whose clients run their background tasks (heartbeats,
    /// lingering batches) on `runtime`, shared with the other instances given it, and whose
    /// supervisor is a task there too, instead of runtimes and a thread of its own: its only
    /// threads are its stream threads (and its global stream thread). A stream thread that
    /// errors or panics stops only its own instance's work (as the uncaught exception handler
    /// says), and a slow one blocks no shared worker: stream threads drive their clients on
    /// their own OS threads. See [`SharedRuntime`] for an example.
    ///
    /// # Errors
    /// As [`new`](Self::new).
    ///
    pub fn with_runtime(
        factory: Arc<dyn TaskFactory>,
        mut config: StreamsConfig,
        client: impl ClientSupplier + 'static,
        runtime: SharedRuntime,
    ) -> Result<KafkaStreams> {
        config.runtime = Some(runtime);
        KafkaStreams::build(factory, config, client, None)
    }

    /// An instance in state `CREATED` whose stream threads are units of `pool` instead of OS
    /// threads, run a bounded step at a time by the pool's workers together with the stream
    /// threads of every other instance given the pool; its clients run their background tasks
    /// on the pool's [`SharedRuntime`] (as [`with_runtime`](Self::with_runtime)). Everything else
    /// is as with dedicated threads: `num.stream.threads` units, each with its consumer,
    /// transactional producer and thread index; rebalances, commits, standbys, state
    /// transitions; a unit that errors or panics goes to the uncaught exception handler and
    /// stops only this instance's work. See [`StreamThreadPool`] for an example.
    ///
    /// # Errors
    /// As [`new`](Self::new).
    pub fn with_pool(
        factory: Arc<dyn TaskFactory>,
        mut config: StreamsConfig,
        client: impl ClientSupplier + 'static,
        pool: StreamThreadPool,
    ) -> Result<KafkaStreams> {
        config.runtime = Some(pool.runtime().clone());
        KafkaStreams::build(factory, config, client, Some(pool))
    }

    fn build(
        factory: Arc<dyn TaskFactory>,
        config: StreamsConfig,
        client: impl ClientSupplier + 'static,
        pool: Option<StreamThreadPool>,
    ) -> Result<KafkaStreams> {
        if config.application_id.is_empty() {
            return Err(Error::Config("application.id must be set".into()));
        }
        let app_dir = config.state_dir.join(&config.application_id);
        let process_id = process_id::load_or_create(&app_dir)?;
        Ok(KafkaStreams {
            inner: Arc::new(Instance {
                factory,
                config: Arc::new(config),
                supplier: Arc::new(client),
                process_id,
                app_dir,
                state: Mutex::new(State::Created),
                state_cv: Condvar::new(),
                listener: Mutex::new(None),
                handler: Mutex::new(None),
                restore_listener: Mutex::new(None),
                threads: Mutex::new(Vec::new()),
                global: Mutex::new(None),
                ctx: Mutex::new(None),
                standbys: Arc::default(),
                dir_lock: Mutex::new(None),
                pool,
            }),
        })
    }

    /// The current state.
    pub fn state(&self) -> State {
        *self.inner.state.lock()
    }

    /// The process id (a UUID stable per state directory).
    pub fn process_id(&self) -> &str {
        &self.inner.process_id
    }

    /// Sets the listener told about every restore of an active task's store (Kafka's
    /// `setGlobalStateRestoreListener`); only before `start`.
    ///
    /// # Errors
    /// [`Error::IllegalState`] after `start`.
    pub fn set_global_state_restore_listener(&self, listener: impl StateRestoreListener + 'static) -> Result<()> {
        self.require_created("set_global_state_restore_listener")?;
        *self.inner.restore_listener.lock() = Some(Arc::new(listener));
        Ok(())
    }

    /// Sets the state listener; only before `start`.
    ///
    /// # Errors
    /// [`Error::IllegalState`] after `start`.
    pub fn set_state_listener(&self, listener: impl Fn(State, State) + Send + Sync + 'static) -> Result<()> {
        self.require_created("set_state_listener")?;
        *self.inner.listener.lock() = Some(Box::new(listener));
        Ok(())
    }

    /// Sets the uncaught exception handler (default: the config's
    /// `uncaught_exception_response`); only before `start`.
    ///
    /// # Errors
    /// [`Error::IllegalState`] after `start`.
    pub fn set_uncaught_exception_handler(
        &self,
        handler: impl Fn(&Error) -> UncaughtExceptionResponse + Send + Sync + 'static,
    ) -> Result<()> {
        self.require_created("set_uncaught_exception_handler")?;
        *self.inner.handler.lock() = Some(Box::new(handler));
        Ok(())
    }

    fn require_created(&self, what: &str) -> Result<()> {
        match self.state() {
            State::Created => Ok(()),
            s => Err(Error::IllegalState(format!("{what} is only allowed in state CREATED, not {s}"))),
        }
    }

    /// Creates the internal topics (checking co-partitioning) and starts
    /// `num.stream.threads` threads; the state becomes `REBALANCING`, then `RUNNING` once
    /// every thread restored its tasks.
    ///
    /// # Errors
    /// [`Error::IllegalState`] unless `CREATED`; [`Error::Topology`] for a missing source
    /// topic or topics that are not co-partitioned; client errors.
    pub fn start(&self) -> Result<()> {
        self.require_created("start")?;
        let inner = &self.inner;
        Instance::lock_state_dir(inner)?;
        let prepared = inner.supplier.admin().and_then(|admin| {
            Ok((
                topics::prepare(
                    inner.factory.subtopologies(),
                    inner.factory.source_patterns(),
                    admin.as_ref(),
                    &inner.config,
                )?,
                admin,
            ))
        });
        let (topics, admin) = match prepared {
            Ok(p) => p,
            Err(e) => {
                *inner.dir_lock.lock() = None;
                return Err(e);
            }
        };
        // Shutdown requests of other instances are the ones after this offset.
        let request_tp = TopicPartition::new(supervisor::shutdown_topic(&inner.config.application_id), 0);
        let baseline = match admin.partition_count(&request_tp.topic) {
            Ok(Some(_)) => admin.end_offset(&request_tp, false).unwrap_or(0),
            _ => 0,
        };
        let weak: Weak<Instance> = Arc::downgrade(inner);
        let ctx = Arc::new(ThreadContext {
            config: inner.config.clone(),
            factory: inner.factory.clone(),
            topics: Arc::new(topics),
            supplier: inner.supplier.clone(),
            admin,
            process_id: inner.process_id.clone(),
            app_dir: inner.app_dir.clone(),
            restore_listener: inner.restore_listener.lock().clone(),
            on_state_change: Arc::new(move || {
                if let Some(inner) = weak.upgrade() {
                    Instance::recompute_state(&inner);
                }
            }),
        });
        *inner.ctx.lock() = Some(ctx.clone());
        tracing::info!(application = %inner.config.application_id, process = %inner.process_id, threads = inner.config.num_stream_threads, "starting");
        Instance::set_state(inner, State::Rebalancing);
        // Global stores are bootstrapped before any stream thread processes (Kafka's
        // GlobalStreamThread start).
        let weak = Arc::downgrade(inner);
        let global = GlobalThread::start(
            inner.factory.as_ref(),
            &inner.config,
            inner.supplier.as_ref(),
            ctx.admin.clone(),
            &inner.app_dir,
            format!("{}-{}-GlobalStreamThread", inner.config.application_id, inner.process_id),
            Box::new(move |_err| {
                let Some(inner) = weak.upgrade() else { return };
                let _ = std::thread::Builder::new().name("streams-shutdown".into()).spawn(move || {
                    Instance::shutdown(&inner, Duration::from_secs(60), false, State::Error);
                });
            }),
        );
        match global {
            Ok(g) => *inner.global.lock() = g,
            Err(e) => {
                tracing::error!(error = %e, "bootstrapping the global stores failed");
                *inner.dir_lock.lock() = None;
                Instance::set_state(inner, State::Error);
                return Err(e);
            }
        }
        for _ in 0..inner.config.num_stream_threads {
            Instance::spawn_thread(inner, None)?;
        }
        Instance::recompute_state(inner);
        let start = supervisor::Start {
            admin: ctx.admin.clone(),
            topics: ctx.topics.clone(),
            max_age: inner.config.metadata_max_age,
            shared: inner.config.runtime.clone(),
            request_tp,
            baseline,
        };
        supervisor::start(Arc::downgrade(inner) as Weak<dyn Supervised>, start)?;
        Ok(())
    }

    /// Adds a stream thread; returns its name.
    ///
    /// # Errors
    /// [`Error::IllegalState`] unless running or rebalancing.
    pub fn add_stream_thread(&self) -> Result<String> {
        if !self.state().is_running_or_rebalancing() {
            return Err(Error::IllegalState(format!("cannot add a stream thread in state {}", self.state())));
        }
        let name = Instance::spawn_thread(&self.inner, None)?;
        Instance::recompute_state(&self.inner);
        Ok(name)
    }

    /// Stops one stream thread cleanly (its tasks are committed and move to the others);
    /// returns its name, `None` when there is no live thread.
    ///
    /// # Errors
    /// [`Error::IllegalState`] unless running or rebalancing; [`Error::Timeout`] when the
    /// thread did not stop in time.
    pub fn remove_stream_thread(&self, timeout: Duration) -> Result<Option<String>> {
        if !self.state().is_running_or_rebalancing() {
            return Err(Error::IllegalState(format!("cannot remove a stream thread in state {}", self.state())));
        }
        let entry = {
            let mut threads = self.inner.threads.lock();
            let pos = threads.iter().rposition(|t| t.shared.state() != ThreadState::Dead);
            pos.map(|p| threads.remove(p))
        };
        let Some(mut entry) = entry else { return Ok(None) };
        entry.shared.request_stop();
        let name = entry.shared.name.clone();
        if !join_until(&mut entry.runner, Instant::now() + timeout) {
            return Err(Error::Timeout(format!("stream thread {name} did not stop within {timeout:?}")));
        }
        Instance::recompute_state(&self.inner);
        Ok(Some(name))
    }

    /// Stops every thread cleanly (final commit, tasks closed with checkpoints, group left)
    /// and waits up to `timeout`; returns whether they all stopped in time.
    pub fn close(&self, timeout: Duration) -> bool {
        Instance::shutdown(&self.inner, timeout, false, State::NotRunning)
    }

    /// Deletes the local state of this application (`state.dir/<application.id>`), keeping
    /// the process id.
    ///
    /// # Errors
    /// [`Error::IllegalState`] while running; I/O errors.
    pub fn cleanup(&self) -> Result<()> {
        if self.state().is_running_or_rebalancing() || self.state() == State::PendingShutdown {
            return Err(Error::IllegalState(format!("cleanup needs a stopped instance, not {}", self.state())));
        }
        let Ok(entries) = std::fs::read_dir(&self.inner.app_dir) else { return Ok(()) };
        for entry in entries.flatten() {
            if entry.file_name() == process_id::PROCESS_FILE || entry.file_name() == ".lock" {
                continue;
            }
            let path = entry.path();
            let res = if path.is_dir() { std::fs::remove_dir_all(&path) } else { std::fs::remove_file(&path) };
            res.map_err(|source| Error::Io { action: "removing", path, source })?;
        }
        tracing::info!(dir = %self.inner.app_dir.display(), "local state wiped");
        Ok(())
    }

    /// Waits until `pred(state)` holds or `timeout` passes; returns the last state seen and
    /// whether the predicate held.
    pub fn wait_for_state(&self, timeout: Duration, pred: impl Fn(State) -> bool) -> (State, bool) {
        let deadline = Instant::now() + timeout;
        let mut st = self.inner.state.lock();
        loop {
            if pred(*st) {
                return (*st, true);
            }
            if self.inner.state_cv.wait_until(&mut st, deadline).timed_out() {
                return (*st, pred(*st));
            }
        }
    }

    /// Metadata of this instance's live threads.
    pub fn metadata_for_local_threads(&self) -> Vec<ThreadMetadata> {
        self.inner.threads.lock().iter().map(|t| t.shared.metadata()).collect()
    }

    /// Runs `f` on every initialised task engine of this instance (under the owning thread's
    /// lock): downcast with [`TaskEngine::as_any`] to query its stores.
    pub fn with_tasks(&self, mut f: impl FnMut(TaskId, &dyn TaskEngine)) {
        let threads: Vec<Arc<ThreadShared>> = self.inner.threads.lock().iter().map(|t| t.shared.clone()).collect();
        for t in threads {
            t.for_each_task(&mut f);
        }
    }

    /// Runs `f` on every standby task engine of this instance (`num.standby.replicas`); their
    /// stores lag the active tasks' by what the standbys have not read yet.
    pub fn with_standby_tasks(&self, mut f: impl FnMut(TaskId, &dyn TaskEngine)) {
        self.inner.standbys.for_each(&mut f);
    }
}

impl Drop for KafkaStreams {
    fn drop(&mut self) {
        let st = self.state();
        if st.is_running_or_rebalancing() {
            tracing::warn!(application = %self.inner.config.application_id, "KafkaStreams dropped without close: abandoning its threads");
            Instance::shutdown(&self.inner, Duration::from_secs(30), true, State::NotRunning);
        }
    }
}

/// Joins a stream thread (an OS thread or a pool unit), waiting at most until `deadline`;
/// `true` when it finished.
fn join_until(runner: &mut Runner, deadline: Instant) -> bool {
    match runner {
        Runner::Thread(h) => join_thread_until(h, deadline),
        Runner::Unit(u) => u.join_until(deadline),
    }
}

impl Supervised for Instance {
    fn application_id(&self) -> &str {
        &self.config.application_id
    }

    fn running(&self, wait: Option<Duration>) -> bool {
        let mut st = self.state.lock();
        if let Some(wait) = wait.filter(|_| st.is_running_or_rebalancing()) {
            self.state_cv.wait_for(&mut st, wait);
        }
        st.is_running_or_rebalancing()
    }

    fn shut_down(self: Arc<Self>) {
        Instance::shutdown(&self, Duration::from_secs(60), false, State::Error);
    }
}

impl Instance {
    /// SHUTDOWN_APPLICATION: appends a request to `<application.id>-shutdown-requests`, which
    /// every instance's supervisor watches.
    fn request_application_shutdown(inner: &Arc<Instance>, thread: &str) -> Result<()> {
        let topic = supervisor::shutdown_topic(&inner.config.application_id);
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

    /// Locks the application's state directory, so two instances never share it (they would
    /// share a process id, hence transactional ids, and fence each other).
    fn lock_state_dir(inner: &Arc<Instance>) -> Result<()> {
        match brook_broker::DirLock::acquire(&inner.app_dir, "Kafka Streams instance") {
            Ok(lock) => {
                *inner.dir_lock.lock() = Some(lock);
                Ok(())
            }
            Err(brook_broker::Error::DirectoryLocked(why)) => Err(Error::IllegalState(format!(
                "state directory {} is in use by another instance of {}: {why}",
                inner.app_dir.display(),
                inner.config.application_id
            ))),
            Err(e) => Err(Error::Broker(e)),
        }
    }

    fn set_state(inner: &Arc<Instance>, new: State) {
        let old = {
            let mut st = inner.state.lock();
            let old = *st;
            if old == new {
                return;
            }
            *st = new;
            old
        };
        Instance::announce(inner, old, new);
    }

    /// Wakes waiters and tells the state listener about a transition already made.
    fn announce(inner: &Arc<Instance>, old: State, new: State) {
        inner.state_cv.notify_all();
        tracing::info!(application = %inner.config.application_id, from = %old, to = %new, "state transition");
        if let Some(l) = &*inner.listener.lock() {
            l(new, old);
        }
    }

    /// Derives the instance state from its threads while it runs.
    fn recompute_state(inner: &Arc<Instance>) {
        let current = *inner.state.lock();
        if !current.is_running_or_rebalancing() {
            return;
        }
        let states: Vec<ThreadState> = inner.threads.lock().iter().map(|t| t.shared.state()).collect();
        let live: Vec<ThreadState> =
            states.into_iter().filter(|s| *s != ThreadState::Dead && *s != ThreadState::PendingShutdown).collect();
        let new = if live.is_empty() {
            if inner.config.num_stream_threads == 0 {
                State::Running
            } else {
                return;
            }
        } else if live.iter().all(|s| *s == ThreadState::Running) {
            State::Running
        } else {
            State::Rebalancing
        };
        Instance::set_state(inner, new);
    }

    fn spawn_thread(inner: &Arc<Instance>, index: Option<usize>) -> Result<String> {
        let ctx = inner.ctx.lock().clone().ok_or_else(|| Error::IllegalState("the instance is not started".into()))?;
        let mut threads = inner.threads.lock();
        let index = index.unwrap_or_else(|| {
            let used: Vec<usize> =
                threads.iter().filter(|t| t.shared.state() != ThreadState::Dead).map(|t| t.shared.index).collect();
            (1..).find(|i| !used.contains(i)).unwrap_or(1)
        });
        threads.retain(|t| !(t.shared.index == index && t.shared.state() == ThreadState::Dead));
        let shared = ThreadShared::new(ctx, inner.standbys.clone(), index);
        let name = shared.name.clone();
        let weak = Arc::downgrade(inner);
        let s = shared.clone();
        // After the thread's end: DEAD, then the uncaught exception handler.
        let exited = move |result: Result<()>| {
            *s.state.lock() = ThreadState::Dead;
            if let Some(inner) = weak.upgrade() {
                Instance::thread_exited(&inner, &s, result);
            }
        };
        let runner = match &inner.pool {
            Some(pool) => Runner::Unit(pool.submit(shared.clone(), inner.config.poll, Box::new(exited))),
            None => {
                let s = shared.clone();
                let handle = std::thread::Builder::new()
                    .name(format!("StreamThread-{index}"))
                    .spawn(move || {
                        // A panic (a bug, in a processor or a client) ends this thread as an error
                        // would, for the handler to judge, instead of leaving it RUNNING and dead.
                        let result =
                            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| stream_thread::run(&s)))
                                .unwrap_or_else(|panic| {
                                    *s.core.lock() = None;
                                    Err(Error::IllegalState(format!(
                                        "stream thread panicked: {}",
                                        panic_message(panic.as_ref())
                                    )))
                                });
                        exited(result);
                    })
                    .map_err(|e| Error::Broker(brook_broker::Error::storage("spawning a stream thread", e)))?;
                Runner::Thread(Some(handle))
            }
        };
        threads.push(ThreadEntry { shared, runner });
        Ok(name)
    }

    /// Runs on the exiting thread: applies the uncaught exception handler.
    fn thread_exited(inner: &Arc<Instance>, thread: &Arc<ThreadShared>, result: Result<()>) {
        let stopping = thread.stop.load(Ordering::SeqCst) || thread.abandon.load(Ordering::SeqCst);
        let err = match result {
            Ok(()) => {
                Instance::recompute_state(inner);
                return;
            }
            Err(e) => e,
        };
        tracing::error!(thread = %thread.name, error = %err, "stream thread died");
        if stopping || !inner.state.lock().is_running_or_rebalancing() {
            return;
        }
        let response = match &*inner.handler.lock() {
            Some(h) => h(&err),
            None => inner.config.uncaught_exception_response,
        };
        match response {
            UncaughtExceptionResponse::ReplaceThread => {
                tracing::info!(thread = %thread.name, "replacing the dead stream thread");
                if let Err(e) = Instance::spawn_thread(inner, Some(thread.index)) {
                    tracing::error!(error = %e, "could not replace the stream thread");
                }
                Instance::recompute_state(inner);
            }
            UncaughtExceptionResponse::ShutdownClient | UncaughtExceptionResponse::ShutdownApplication => {
                if response == UncaughtExceptionResponse::ShutdownApplication {
                    if let Err(e) = Instance::request_application_shutdown(inner, &thread.name) {
                        tracing::error!(error = %e, "could not ask the other instances to shut down");
                    }
                }
                // Not from this thread: shutdown joins the threads.
                let inner = inner.clone();
                let _ = std::thread::Builder::new().name("streams-shutdown".into()).spawn(move || {
                    Instance::shutdown(&inner, Duration::from_secs(60), false, State::Error);
                });
            }
        }
    }

    fn shutdown(inner: &Arc<Instance>, timeout: Duration, abandon: bool, final_state: State) -> bool {
        let deadline = Instant::now() + timeout;
        let old = {
            let mut st = inner.state.lock();
            match *st {
                State::NotRunning | State::Error => return true,
                State::PendingShutdown => {
                    // Another caller is shutting down: wait for it.
                    while !matches!(*st, State::NotRunning | State::Error) {
                        if inner.state_cv.wait_until(&mut st, deadline).timed_out() {
                            return false;
                        }
                    }
                    return true;
                }
                State::Created => {
                    *st = State::NotRunning;
                    drop(st);
                    Instance::announce(inner, State::Created, State::NotRunning);
                    return true;
                }
                old => {
                    *st = State::PendingShutdown;
                    old
                }
            }
        };
        Instance::announce(inner, old, State::PendingShutdown);
        let mut entries: Vec<ThreadEntry> = std::mem::take(&mut *inner.threads.lock());
        for t in &entries {
            if abandon {
                t.shared.abandon.store(true, Ordering::SeqCst);
            }
            t.shared.request_stop();
        }
        let mut all = true;
        for t in &mut entries {
            all &= join_until(&mut t.runner, deadline);
        }
        // Threads replaced while we were joining.
        let late: Vec<ThreadEntry> = std::mem::take(&mut *inner.threads.lock());
        for mut t in late {
            t.shared.request_stop();
            all &= join_until(&mut t.runner, deadline);
        }
        // The global thread stops last, as in Kafka.
        let global = inner.global.lock().take();
        if let Some(g) = global {
            all &= g.shutdown(abandon, deadline);
        }
        if all {
            *inner.dir_lock.lock() = None;
        }
        Instance::set_state(inner, final_state);
        all
    }
}

