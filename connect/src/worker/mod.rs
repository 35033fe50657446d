//! The worker: runs connector instances and their tasks (Kafka's `Worker`), for a herder to
//! drive. Each task runs on its own OS thread over the worker's [`Clients`] (the embedded broker
//! or a Kafka-protocol cluster, through processor-api's synchronous client seam), controlled
//! through a [`TaskHandle`] (pause, resume, stop) and reporting its
//! [`TaskStatus`] (`RUNNING`, `PAUSED`, `FAILED` with the error as trace, `UNASSIGNED` once
//! stopped).
//!
//! A source task's batch is produced, then its offsets are recorded in the [`OffsetStore`],
//! which is flushed every `offset.flush.interval.ms`, when the task pauses and when it stops
//! (`source.rs`; exactly-once: `crate::exactly_once`). A sink task consumes as the group
//! `connect-<name>` (from `earliest` without a committed offset) and commits after the task
//! flushed, on the same interval, when paused, on stop and when a rebalance of its group takes
//! partitions away (`sink.rs`). What every task runs with is `task.rs`.
//! A task that fails stays `FAILED` until restarted; the other tasks keep running.

mod sink;
mod source;
pub(crate) mod task;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use brook_broker::Broker;
use parking_lot::Mutex;

use crate::clients::Clients;
use crate::config::{connector_config_def, Config, ConfigValue};
use crate::connector::{Connector, SinkTask, SourceTask};
use crate::error::{Error, Result};
use crate::error_handling::{ErrorHandler, ErrorsConfig};
use crate::exactly_once::{EosOffsetReader, ExactlyOnceSourceSupport, ExactlyOnceWorker, Transactional};
use crate::herder::{ConfigInfos, ConnectorTaskId, State};
use crate::offsets::{ConnectorOffsetReader, OffsetStore};
use crate::plugins::Plugins;
use crate::transforms::TransformationChain;
use sink::{run_sink, Subscription};
use source::{run_eos_source, run_source};
use task::{converters, Signal, Signals, TaskCtx};

pub use sink::sink_group;
pub(crate) use task::{check_converters, trace};
pub use task::TaskStatus;

/// How long a stopping task may take before it is abandoned (Kafka's
/// `task.shutdown.graceful.timeout.ms`). Default: 5 s.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// A running task: control and status.
#[derive(Debug)]
pub struct TaskHandle {
    id: ConnectorTaskId,
    config: Config,
    signal: Signals,
    status: Arc<Mutex<TaskStatus>>,
    join: Option<std::thread::JoinHandle<()>>,
}

impl TaskHandle {
    /// The task's id.
    pub fn id(&self) -> &ConnectorTaskId {
        &self.id
    }

    /// The config it runs with.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Its status now.
    pub fn status(&self) -> TaskStatus {
        self.status.lock().clone()
    }

    /// Stops polling (source) or putting (sink) until [`resume`](Self::resume).
    pub fn pause(&self) {
        self.signal.send(Signal::Pause);
    }

    /// Polls or puts again.
    pub fn resume(&self) {
        self.signal.send(Signal::Run);
    }

    /// Stops the task (offsets flushed and committed) and waits for it, at most 5 s.
    ///
    /// # Cancel safety
    /// Dropping the future leaves the task stopping on its own.
    pub async fn stop(mut self) {
        self.signal.send(Signal::Shutdown);
        if let Some(join) = self.join.take() {
            // The thread is joined off the runtime's workers; one that overruns is left to
            // finish on its own (it stops at its next poll).
            let joined = tokio::task::spawn_blocking(move || join.join());
            if tokio::time::timeout(SHUTDOWN_GRACE, joined).await.is_err() {
                tracing::warn!(connector = %self.id.connector, task = self.id.task, "task did not stop in time; abandoned");
            }
        }
    }

    /// [`stop`](Self::stop) from a thread outside the runtime (the distributed herder's).
    pub(crate) fn stop_blocking(mut self) {
        self.signal.send(Signal::Shutdown);
        if let Some(join) = self.join.take() {
            let deadline = Instant::now() + SHUTDOWN_GRACE;
            while !join.is_finished() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(10));
            }
            if join.is_finished() {
                let _ = join.join();
            } else {
                tracing::warn!(connector = %self.id.connector, task = self.id.task, "task did not stop in time; abandoned");
            }
        }
    }
}

/// The worker: clients, converters' worker keys, plugins, source offsets.
#[derive(Debug)]
pub struct Worker {
    clients: Clients,
    props: Config,
    flush_every: Duration,
    plugins: Plugins,
    offsets: Arc<dyn OffsetStore>,
    worker_id: String,
    /// The topics each connector produced to or consumed from.
    topics: Arc<Mutex<BTreeMap<String, BTreeSet<String>>>>,
    /// A distributed worker's exactly-once source support (KIP-618); `None` standalone.
    eos: Option<Arc<ExactlyOnceWorker>>,
}

impl Worker {
    /// A worker over the embedded `broker`. `props` are the worker's keys (for `key.converter`,
    /// `value.converter` and their sub-keys), `flush_every` is `offset.flush.interval.ms`,
    /// `worker_id` is how statuses name this worker (its REST `host:port`).
    pub fn new(broker: Broker, props: Config, flush_every: Duration, plugins: Plugins, offsets: Arc<dyn OffsetStore>, worker_id: impl Into<String>) -> Worker {
        Worker::with_clients(Clients::embedded(broker), props, flush_every, plugins, offsets, worker_id)
    }

    /// [`new`](Self::new) over `clients` (the embedded broker or a Kafka-protocol cluster).
    pub fn with_clients(clients: Clients, props: Config, flush_every: Duration, plugins: Plugins, offsets: Arc<dyn OffsetStore>, worker_id: impl Into<String>) -> Worker {
        Worker { clients, props, flush_every, plugins, offsets, worker_id: worker_id.into(), topics: Arc::default(), eos: None }
    }

    /// The worker of a distributed group, with its exactly-once source settings.
    pub(crate) fn with_exactly_once(mut self, eos: Arc<ExactlyOnceWorker>) -> Worker {
        self.eos = Some(eos);
        self
    }

    /// The exactly-once source settings of a distributed worker.
    pub(crate) fn exactly_once(&self) -> Option<&Arc<ExactlyOnceWorker>> {
        self.eos.as_ref()
    }

    /// Whether source tasks run transactionally (`exactly.once.source.support=enabled`).
    fn transactional_sources(&self) -> Option<&Arc<ExactlyOnceWorker>> {
        self.eos.as_ref().filter(|e| e.support == ExactlyOnceSourceSupport::Enabled)
    }

    /// Fences the producers of tasks `0..tasks` of a source connector before new task configs
    /// replace theirs, when source tasks run exactly-once; nothing otherwise.
    ///
    /// # Errors
    /// Client or coordinator errors.
    pub(crate) fn fence_source_tasks(&self, connector: &str, tasks: u32) -> Result<()> {
        match self.transactional_sources() {
            Some(eos) if tasks > 0 => eos.fence(connector, tasks),
            _ => Ok(()),
        }
    }

    /// The clients.
    pub fn clients(&self) -> &Clients {
        &self.clients
    }

    /// The embedded broker, for what the seam does not offer (a sink connector's group
    /// offsets).
    ///
    /// # Errors
    /// [`Error::Config`] when the worker runs against an external cluster.
    pub fn broker(&self) -> Result<&Broker> {
        self.clients.broker().ok_or_else(|| Error::Config(format!("not supported yet against an external cluster ({}): needs the embedded broker", self.clients.bootstrap)))
    }

    /// The plugins.
    pub fn plugins(&self) -> &Plugins {
        &self.plugins
    }

    /// The source offsets.
    pub fn offsets(&self) -> &Arc<dyn OffsetStore> {
        &self.offsets
    }

    /// This worker's id.
    pub fn worker_id(&self) -> &str {
        &self.worker_id
    }

    /// The topics `connector` produced to or consumed from, sorted.
    pub fn active_topics(&self, connector: &str) -> Vec<String> {
        self.topics.lock().get(connector).map(|t| t.iter().cloned().collect()).unwrap_or_default()
    }

    /// Forgets the active topics of `connector`.
    pub fn reset_active_topics(&self, connector: &str) {
        self.topics.lock().remove(connector);
    }

    /// Validates a connector config: the framework's keys (`name`, `connector.class`,
    /// `tasks.max`, converters, a sink's `topics`) and the connector's own. `plugin` is the
    /// class (or alias) to validate against.
    ///
    /// # Errors
    /// [`Error::UnknownPlugin`].
    pub fn validate(&self, plugin: &str, config: &Config) -> Result<ConfigInfos> {
        let connector = self.plugins.connector(plugin)?;
        let sink = matches!(connector, Connector::Sink(_));
        let def = connector_config_def(sink).merge(connector.config_def());
        let mut values = connector_config_def(sink).validate(config);
        let own: Vec<_> = connector.validate(config).into_iter().filter(|v| !values.iter().any(|have| have.name == v.name)).collect();
        values.extend(own);
        // Exactly-once source keys: a distributed worker's preflight checks (Kafka's
        // `DistributedHerder`); the standalone worker ignores them, as Kafka's.
        if let Some(eos) = &self.eos {
            crate::exactly_once::validate(&connector, config, eos.support, &mut values);
        }
        // The transformation chain as a whole (classes, predicates, their own keys).
        if let Err(e) = TransformationChain::from_config(config) {
            if let Some(v) = values.iter_mut().find(|v| v.name == "transforms") {
                v.errors.push(e.to_string());
            }
        }
        if sink {
            let given = |k: &str| config.get(k).is_some_and(|v| !v.trim().is_empty());
            let message = match (given("topics"), given("topics.regex")) {
                (false, false) => Some("Must configure one of topics or topics.regex"),
                (true, true) => Some("topics and topics.regex are mutually exclusive options, but both are set."),
                _ => None,
            };
            if let Some(m) = message {
                for v in values.iter_mut().filter(|v| v.name == "topics" || v.name == "topics.regex") {
                    v.errors.push(m.to_owned());
                }
            }
            if let Some((key, m)) = crate::error_handling::dlq_conflict(config) {
                if let Some(v) = values.iter_mut().find(|v| v.name == key) {
                    v.errors.push(m);
                }
            }
        }
        // Keys of the definition, in its order, each with its value.
        let ordered: Vec<_> = def.keys().iter().map(|k| values.iter().find(|v| v.name == k.name).cloned().unwrap_or(ConfigValue { name: k.name.clone(), value: config.get(&k.name).cloned(), errors: Vec::new() })).collect();
        let class = self.plugins.class_of(plugin).unwrap_or(plugin).to_owned();
        Ok(ConfigInfos::from_validation(&class, &def, &ordered))
    }

    /// Creates and starts the connector instance of `config` and returns it with its task
    /// configs (at most `tasks.max`).
    ///
    /// # Errors
    /// An unknown class, the connector's own start errors.
    pub fn start_connector(&self, name: &str, config: &Config) -> Result<(Connector, Vec<Config>)> {
        let class = config.get("connector.class").ok_or_else(|| Error::Config(format!("connector {name}: Missing required configuration \"connector.class\"")))?;
        let max_tasks: usize = match config.get("tasks.max") {
            None => 1,
            Some(v) => v.trim().parse().ok().filter(|n| *n > 0).ok_or_else(|| Error::Config(format!("connector {name}: Invalid value {v} for configuration tasks.max")))?,
        };
        let mut connector = self.plugins.connector(class)?;
        let configs = connector.start(config, max_tasks)?;
        tracing::info!(connector = %name, class = %class, tasks = configs.len(), "connector started");
        Ok((connector, configs))
    }

    /// Starts task `id` of `connector` with `task_config` (the connector's converters come
    /// from `connector_config`), paused if `paused`. A task that does not start is returned
    /// `FAILED`.
    pub fn start_task(&self, connector: &Connector, id: ConnectorTaskId, connector_config: &Config, task_config: Config, paused: bool) -> TaskHandle {
        let initial = if paused { Signal::Pause } else { Signal::Run };
        let signal = Signals::new(initial);
        let signals = signal.clone();
        let state = if paused { State::Paused } else { State::Running };
        let status = Arc::new(Mutex::new(TaskStatus { state, trace: None }));
        let started = self.spawn_task(connector, &id, connector_config, &task_config, signals, status.clone());
        let join = match started {
            Ok(join) => Some(join),
            Err(e) => {
                tracing::error!(connector = %id.connector, task = id.task, error = %e, "task failed to start");
                *status.lock() = TaskStatus { state: State::Failed, trace: Some(trace(&e)) };
                None
            }
        };
        TaskHandle { id, config: task_config, signal, status, join }
    }

    fn spawn_task(&self, connector: &Connector, id: &ConnectorTaskId, connector_config: &Config, task_config: &Config, signals: Signals, status: Arc<Mutex<TaskStatus>>) -> Result<std::thread::JoinHandle<()>> {
        let conv = converters(&self.props, connector_config)?;
        let sink = matches!(connector, Connector::Sink(_));
        let errors = ErrorHandler::new(ErrorsConfig::from_config(connector_config, sink)?, id.connector.clone(), id.task);
        let transforms = TransformationChain::from_config(connector_config)?;
        // The task starts before its runtime is built: a runtime must not be dropped (a task
        // that does not start) on the async thread a herder may call from.
        let started = match connector {
            Connector::Source(c) if self.transactional_sources().is_some() => {
                let eos = self.transactional_sources().ok_or_else(|| Error::Config("exactly-once source support is not enabled".into()))?;
                let partitions = self.props.get("offset.storage.partitions").and_then(|p| p.trim().parse().ok()).filter(|p: &i32| *p > 0).unwrap_or(25);
                let txn = eos.prepare_task(&id.connector, id.task, connector_config, self.flush_every, partitions)?;
                let mut task = c.task();
                task.start(task_config, &EosOffsetReader { store: &txn.store, global: &txn.global, connector: &id.connector })?;
                Started::ExactlyOnceSource(task, Box::new(txn))
            }
            Connector::Source(c) => {
                let mut task = c.task();
                task.start(task_config, &ConnectorOffsetReader { store: self.offsets.as_ref(), connector: &id.connector })?;
                Started::Source(task)
            }
            Connector::Sink(c) => {
                let topics = Subscription::of(&id.connector, task_config)?;
                let mut task = c.task();
                task.start(task_config)?;
                Started::Sink(task, topics)
            }
        };
        // The error handler's retries wait on tokio's timer: each task thread drives them
        // on a small runtime of its own (no client call runs on it).
        let rt = tokio::runtime::Builder::new_current_thread().enable_time().build().map_err(|e| Error::io("starting a task's runtime", e))?;
        let ctx = TaskCtx {
            id: id.clone(),
            clients: self.clients.clone(),
            conv,
            transforms,
            errors,
            rt,
            flush_every: self.flush_every,
            signals,
            status,
            topics: self.topics.clone(),
        };
        let thread = std::thread::Builder::new().name(format!("connect-{}-{}", id.connector, id.task));
        let spawned = match started {
            Started::Source(task) => {
                let offsets = self.offsets.clone();
                thread.spawn(move || run_source(ctx, task, offsets))
            }
            Started::ExactlyOnceSource(task, txn) => thread.spawn(move || run_eos_source(ctx, task, *txn)),
            Started::Sink(task, topics) => thread.spawn(move || run_sink(ctx, task, topics)),
        };
        spawned.map_err(|e| Error::Config(format!("starting the thread of task {}-{}: {e}", id.connector, id.task)))
    }
}

/// A task that started, not yet running on its thread.
enum Started {
    Source(Box<dyn SourceTask>),
    /// A source task with its transactional producer (exactly-once).
    ExactlyOnceSource(Box<dyn SourceTask>, Box<Transactional>),
    Sink(Box<dyn SinkTask>, Subscription),
}
