//! The worker: runs connector instances and their tasks (Kafka's `Worker`), for a herder to
//! drive. Each task runs on its own OS thread over the worker's [`Clients`] (the embedded broker
//! or a Kafka-protocol cluster, through processor-api's synchronous client seam), controlled
//! through a [`TaskHandle`] (pause, resume, stop) and reporting its
//! [`TaskStatus`] (`RUNNING`, `PAUSED`, `FAILED` with the error as trace, `UNASSIGNED` once
//! stopped).
//!
//! A source task's batch is produced, then its offsets are recorded in the [`OffsetStore`],
//! which is flushed every `offset.flush.interval.ms`, when the task pauses and when it stops. A
//! sink task consumes as the group `connect-<name>` (from `earliest` without a committed
//! offset) and commits after the task flushed, on the same interval, when paused, on stop and
//! when a rebalance of its group takes partitions away.
//! A task that fails stays `FAILED` until restarted; the other tasks keep running.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use brook_broker::client::{ConsumerRecord, ProducerRecord};
use brook_broker::Broker;
use brook_common::TopicPartition;
use brook_processor_api::runtime::{GroupMetadata, OffsetCommitFn, RebalanceHandler, StreamsConsumer};
use brook_processor_api::OutputRecord;
use parking_lot::{Condvar, Mutex};

use crate::clients::Clients;
use crate::config::connector_config_def;
use crate::connector::{Config, ConnectRecord, Connector, Header, SinkRecord, SinkTask, SourceTask};
use crate::data::{Schema, SchemaAndValue, SchemaType, Value};
use crate::converter::{converter_by_class, Converter};
use crate::error::{Error, Result};
use crate::error_handling::{Errant, ErrorHandler, ErrorsConfig, Failure, Stage};
use crate::exactly_once::{EosOffsetReader, ExactlyOnceSourceSupport, ExactlyOnceWorker, Transactional};
use crate::herder::{ConfigInfos, ConnectorTaskId, State};
use crate::offsets::{ConnectorOffsetReader, OffsetStore};
use crate::plugins::Plugins;
use crate::transforms::TransformationChain;

/// How long an idle task waits before polling again. Default: 100 ms.
pub(crate) const IDLE_POLL: Duration = Duration::from_millis(100);

/// How long a stopping task may take before it is abandoned (Kafka's
/// `task.shutdown.graceful.timeout.ms`). Default: 5 s.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// The consumer group of a sink connector: `connect-<name>`, as Kafka names it.
pub fn sink_group(connector: &str) -> String {
    format!("connect-{connector}")
}

/// What a task is told to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Signal {
    Run,
    Pause,
    Shutdown,
}

/// A task's state as the worker sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskStatus {
    /// `RUNNING`, `PAUSED`, `FAILED` or `UNASSIGNED`.
    pub state: State,
    /// The error of a failed task.
    pub trace: Option<String>,
}

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
        let ordered: Vec<_> = def.keys().iter().map(|k| values.iter().find(|v| v.name == k.name).cloned().unwrap_or(crate::config::ConfigValue { name: k.name.clone(), value: config.get(&k.name).cloned(), errors: Vec::new() })).collect();
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

/// What a sink task consumes: `topics`, or the topics whose whole name matches `topics.regex`
/// (Java's `Pattern.matches`), looked up again every [`PATTERN_REFRESH`] so that topics
/// created later are consumed too (Kafka's consumer does so on its metadata refresh).
#[derive(Debug, Clone)]
enum Subscription {
    Topics(Vec<String>),
    Pattern(regex::Regex),
}

/// How often a `topics.regex` subscription looks for new topics. Default: 5 s.
const PATTERN_REFRESH: Duration = Duration::from_secs(5);

impl Subscription {
    fn of(connector: &str, config: &Config) -> Result<Subscription> {
        let given = |k: &str| config.get(k).map(|v| v.trim()).filter(|v| !v.is_empty());
        match (given("topics"), given("topics.regex")) {
            (Some(_), Some(_)) => Err(Error::Config(format!("connector {connector}: topics and topics.regex are mutually exclusive options, but both are set."))),
            (Some(t), None) => Ok(Subscription::Topics(t.split(',').map(|s| s.trim().to_owned()).filter(|s| !s.is_empty()).collect())),
            (None, Some(r)) => regex::Regex::new(&format!("^(?:{r})$"))
                .map(Subscription::Pattern)
                .map_err(|e| Error::Config(format!("connector {connector}: Invalid value {r} for configuration topics.regex: Invalid regex: {e}"))),
            (None, None) => Err(Error::Config(format!("connector {connector}: Must configure one of topics or topics.regex"))),
        }
    }

    /// The topics to subscribe to now, sorted (internal topics never match a pattern, as
    /// Kafka's consumer excludes them).
    fn topics(&self, clients: &Clients) -> Result<Vec<String>> {
        match self {
            Subscription::Topics(t) => Ok(t.clone()),
            Subscription::Pattern(re) => {
                let mut t: Vec<String> = clients.admin()?.list_topics()?.into_iter().filter(|t| !matches!(t.as_str(), "__consumer_offsets" | "__transaction_state") && re.is_match(t)).collect();
                t.sort();
                Ok(t)
            }
        }
    }
}

/// An error as a status trace: the message and its causes, one per line.
pub(crate) fn trace(e: &Error) -> String {
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        let cause = s.to_string();
        // Errors that print their source already need it once only.
        if !text.contains(&cause) {
            text.push_str("\nCaused by: ");
            text.push_str(&cause);
        }
        source = s.source();
    }
    text
}

/// The key and value converters of a connector: its own `key.converter` / `value.converter`
/// override the worker's, with their `*.converter.` sub-keys.
fn converters(worker: &Config, connector: &Config) -> Result<Converters> {
    let make = |prefix: &str, is_key: bool| -> Result<(Box<dyn Converter>, String)> {
        let source = if connector.contains_key(prefix) { connector } else { worker };
        let class = source.get(prefix).ok_or_else(|| Error::Config(format!("Missing required configuration \"{prefix}\"")))?;
        let mut c = converter_by_class(class)?;
        let sub = format!("{prefix}.");
        let config: Config = source.iter().filter_map(|(k, v)| k.strip_prefix(&sub).map(|k| (k.to_owned(), v.clone()))).collect();
        c.configure(&config, is_key)?;
        Ok((c, class.clone()))
    };
    let (key, key_class) = make("key.converter", true)?;
    let (value, value_class) = make("value.converter", false)?;
    Ok(Converters { key, value, key_class, value_class })
}

/// Checks the worker's converter keys.
///
/// # Errors
/// An unknown converter class or a bad converter key.
pub(crate) fn check_converters(worker: &Config) -> Result<()> {
    converters(worker, &Config::new()).map(|_| ())
}

/// A task's converters with their class names (for the error reporters).
struct Converters {
    key: Box<dyn Converter>,
    value: Box<dyn Converter>,
    key_class: String,
    value_class: String,
}

/// A task's signal, waited on by its thread (a condition variable: the loops are synchronous).
#[derive(Debug, Clone)]
struct Signals(Arc<(Mutex<Signal>, Condvar)>);

impl Signals {
    fn new(initial: Signal) -> Signals {
        Signals(Arc::new((Mutex::new(initial), Condvar::new())))
    }

    fn send(&self, s: Signal) {
        let (m, cv) = &*self.0;
        *m.lock() = s;
        cv.notify_all();
    }

    fn get(&self) -> Signal {
        *self.0 .0.lock()
    }

    /// Waits up to `d` or until the signal changes; returns the signal.
    fn wait(&self, d: Duration) -> Signal {
        let (m, cv) = &*self.0;
        let mut s = m.lock();
        let before = *s;
        if before != Signal::Shutdown {
            let deadline = Instant::now() + d;
            while *s == before && !cv.wait_until(&mut s, deadline).timed_out() {}
        }
        *s
    }
}

pub(crate) struct TaskCtx {
    pub(crate) id: ConnectorTaskId,
    clients: Clients,
    conv: Converters,
    transforms: TransformationChain,
    errors: ErrorHandler,
    rt: tokio::runtime::Runtime,
    flush_every: Duration,
    signals: Signals,
    status: Arc<Mutex<TaskStatus>>,
    topics: Arc<Mutex<BTreeMap<String, BTreeSet<String>>>>,
}

impl TaskCtx {
    pub(crate) fn signal(&self) -> Signal {
        self.signals.get()
    }

    /// Waits up to `d` or until the signal changes; returns the signal.
    pub(crate) fn idle(&self, d: Duration) -> Signal {
        self.signals.wait(d)
    }

    pub(crate) fn set_state(&self, state: State) {
        let mut s = self.status.lock();
        if s.state != State::Failed {
            *s = TaskStatus { state, trace: None };
        }
    }

    pub(crate) fn record_topic(&self, topic: &str) {
        let mut topics = self.topics.lock();
        let set = topics.entry(self.id.connector.clone()).or_default();
        if !set.contains(topic) {
            set.insert(topic.to_owned());
        }
    }

    /// Logs how the task ended and records it in its status.
    fn finish(&self, kind: &str, result: &Result<()>) {
        match result {
            Ok(()) => {
                tracing::info!(connector = %self.id.connector, task = self.id.task, "{kind} task stopped");
                self.set_state(State::Unassigned);
            }
            Err(e) => {
                tracing::error!(connector = %self.id.connector, task = self.id.task, error = %e, "{kind} task failed");
                *self.status.lock() = TaskStatus { state: State::Failed, trace: Some(trace(e)) };
            }
        }
    }
}

fn run_source(mut ctx: TaskCtx, mut task: Box<dyn SourceTask>, offsets: Arc<dyn OffsetStore>) {
    let result = source_loop(&mut ctx, task.as_mut(), offsets.as_ref());
    task.stop();
    ctx.finish("source", &result);
}

fn run_eos_source(mut ctx: TaskCtx, mut task: Box<dyn SourceTask>, mut txn: Transactional) {
    let result = crate::exactly_once::run(&mut ctx, task.as_mut(), &mut txn);
    task.stop();
    ctx.finish("source", &result);
}

fn source_loop(ctx: &mut TaskCtx, task: &mut dyn SourceTask, offsets: &dyn OffsetStore) -> Result<()> {
    let mut producer = ctx.clients.producer(format!("connector-producer-{}-{}", ctx.id.connector, ctx.id.task))?;
    let mut last_flush = Instant::now();
    let mut dirty = false;
    let mut topics: Vec<Arc<str>> = Vec::new();
    loop {
        let signal = ctx.signal();
        if signal == Signal::Pause {
            if dirty {
                offsets.flush()?;
                task.commit()?;
                dirty = false;
            }
            ctx.set_state(State::Paused);
            if ctx.idle(IDLE_POLL) == Signal::Shutdown {
                offsets.flush()?;
                task.commit()?;
                return Ok(());
            }
            continue;
        }
        ctx.set_state(State::Running);
        let records = if signal == Signal::Run { task.poll()? } else { Vec::new() };
        if !records.is_empty() {
            for r in &records {
                // Transformed, then converted; a record a transformation dropped or a
                // tolerated failure skipped is not produced, but its offset is stored.
                if let Some(pr) = source_record(ctx, &r.record)? {
                    producer.send(output_record(pr, &mut topics))?;
                }
            }
            // Every record acknowledged before its offset is recorded.
            producer.flush()?;
            for r in &records {
                offsets.set(&ctx.id.connector, &r.source_partition, Some(r.source_offset.clone()));
                ctx.record_topic(&r.record.topic);
            }
            dirty = true;
        }
        let signal = if records.is_empty() { ctx.idle(IDLE_POLL) } else { ctx.signal() };
        let stopping = signal == Signal::Shutdown;
        if stopping || (dirty && last_flush.elapsed() >= ctx.flush_every) {
            offsets.flush()?;
            task.commit()?;
            last_flush = Instant::now();
            dirty = false;
        }
        if stopping {
            return Ok(());
        }
    }
}

/// A broker-client record as the seam's producer takes it (the topic's name shared).
pub(crate) fn output_record(pr: ProducerRecord, topics: &mut Vec<Arc<str>>) -> OutputRecord {
    let topic = match topics.iter().find(|t| ***t == *pr.topic) {
        Some(t) => t.clone(),
        None => {
            let t: Arc<str> = Arc::from(pr.topic.as_str());
            topics.push(t.clone());
            t
        }
    };
    OutputRecord { topic, partition: pr.partition, key: pr.key, value: pr.value, timestamp: pr.timestamp.unwrap_or_else(now_ms), headers: pr.headers }
}

/// Reports a failed stage: `Ok(())` when tolerated (the record is skipped), the task's error
/// otherwise. Dead letter records are produced before this returns.
fn report(ctx: &TaskCtx, failure: Failure, errant: Errant<'_>, dlq: Option<&mut DeadLetterQueue>) -> Result<()> {
    let mut records = Vec::new();
    let verdict = ctx.errors.report(failure, errant, &mut records);
    if let (Some(q), false) = (dlq, records.is_empty()) {
        q.send(records);
    }
    verdict
}

/// A source record through the transformations and the converters (with error handling);
/// `None`: dropped or skipped.
pub(crate) fn source_record(ctx: &mut TaskCtx, original: &ConnectRecord) -> Result<Option<ProducerRecord>> {
    let mut class = String::new();
    let chain = &ctx.transforms;
    let transformed = ctx.rt.block_on(ctx.errors.execute(Stage::Transformation, "", || {
        chain.apply(original.clone(), None).map_err(|(c, e)| {
            class = c;
            e
        })
    }));
    let r = match transformed {
        Ok(Some(r)) => r,
        Ok(None) => return Ok(None),
        Err(mut f) => {
            f.class_name = class;
            report(ctx, f, Errant::Source(original), None)?;
            return Ok(None);
        }
    };
    let conv = &ctx.conv;
    let key = match ctx.rt.block_on(ctx.errors.execute(Stage::KeyConverter, &conv.key_class, || conv.key.from_connect_data(&r.topic, &r.key))) {
        Ok(k) => k,
        Err(f) => return report(ctx, f, Errant::Source(original), None).map(|()| None),
    };
    let value = match ctx.rt.block_on(ctx.errors.execute(Stage::ValueConverter, &conv.value_class, || conv.value.from_connect_data(&r.topic, &r.value))) {
        Ok(v) => v,
        Err(f) => return report(ctx, f, Errant::Source(original), None).map(|()| None),
    };
    let mut pr = ProducerRecord::new(r.topic.clone(), key, value);
    pr.partition = r.partition;
    pr.timestamp = r.timestamp;
    pr.headers = r.headers.iter().map(header_to_kafka).collect();
    Ok(Some(pr))
}

/// A sink task's dead letter queue: a producer of the seam and the topic (created with one
/// partition when missing, as Kafka's `DeadLetterQueueReporter` does).
struct DeadLetterQueue {
    producer: Box<dyn brook_processor_api::runtime::StreamsProducer>,
    topics: Vec<Arc<str>>,
}

impl DeadLetterQueue {
    fn open(ctx: &TaskCtx) -> Result<Option<DeadLetterQueue>> {
        let Some(topic) = &ctx.errors.config().dlq_topic else { return Ok(None) };
        ctx.clients
            .create_topic(topic, 1, BTreeMap::new())
            .map_err(|e| Error::Config(format!("Could not initialize dead letter queue with topic={topic}: {e}")))?;
        let producer = ctx.clients.producer(format!("connector-dlq-producer-{}-{}", ctx.id.connector, ctx.id.task))?;
        Ok(Some(DeadLetterQueue { producer, topics: Vec::new() }))
    }

    /// Produces and waits; a failed send is logged, as Kafka's reporter does.
    fn send(&mut self, records: Vec<ProducerRecord>) {
        for r in records {
            if let Err(e) = self.producer.send(output_record(r, &mut self.topics)) {
                tracing::error!(error = %e, "Could not produce message to dead letter queue");
            }
        }
        if let Err(e) = self.producer.flush() {
            tracing::error!(error = %e, "Could not produce message to dead letter queue");
        }
    }
}

/// A consumed record through the converters and the transformations (with error handling);
/// `None`: dropped or skipped (and sent to the dead letter queue if there is one).
fn sink_record(ctx: &mut TaskCtx, r: &ConsumerRecord, mut dlq: Option<&mut DeadLetterQueue>) -> Result<Option<SinkRecord>> {
    let conv = &ctx.conv;
    let key = match ctx.rt.block_on(ctx.errors.execute(Stage::KeyConverter, &conv.key_class, || conv.key.to_connect_data(&r.topic, r.key.as_deref()))) {
        Ok(k) => k,
        Err(f) => return report(ctx, f, Errant::Consumed(r), dlq.as_deref_mut()).map(|()| None),
    };
    let value = match ctx.rt.block_on(ctx.errors.execute(Stage::ValueConverter, &conv.value_class, || conv.value.to_connect_data(&r.topic, r.value.as_deref()))) {
        Ok(v) => v,
        Err(f) => return report(ctx, f, Errant::Consumed(r), dlq.as_deref_mut()).map(|()| None),
    };
    let record = ConnectRecord {
        topic: r.topic.to_string(),
        partition: Some(r.partition),
        key,
        value,
        timestamp: Some(r.timestamp),
        headers: r.headers.iter().map(header_from_kafka).collect(),
    };
    let mut class = String::new();
    let chain = &ctx.transforms;
    let transformed = ctx.rt.block_on(ctx.errors.execute(Stage::Transformation, "", || {
        chain.apply(record.clone(), Some(r.offset)).map_err(|(c, e)| {
            class = c;
            e
        })
    }));
    match transformed {
        Ok(Some(record)) => Ok(Some(SinkRecord { kafka_offset: r.offset, record })),
        Ok(None) => Ok(None),
        Err(mut f) => {
            f.class_name = class;
            report(ctx, f, Errant::Consumed(r), dlq).map(|()| None)
        }
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64)
}

type Offsets = BTreeMap<TopicPartition, i64>;

/// A sink task and its offsets, shared with the rebalance handler (which runs inside `poll`,
/// on the task's thread).
struct SinkShared {
    task: Box<dyn SinkTask>,
    /// Next offset to commit per partition.
    next: Offsets,
    committed: Offsets,
}

impl SinkShared {
    /// Flushes the task and commits what changed.
    fn flush_and_commit(&mut self, commit: &mut dyn FnMut(&Offsets) -> Result<()>) -> Result<()> {
        if self.next == self.committed {
            return Ok(());
        }
        self.task.flush(&self.next)?;
        commit(&self.next)?;
        self.committed = self.next.clone();
        Ok(())
    }
}

/// Flushes and commits before the sink group moves partitions away (Kafka's
/// `WorkerSinkTask.HandleRebalance`).
struct Revocations {
    shared: Arc<Mutex<SinkShared>>,
    id: ConnectorTaskId,
}

impl RebalanceHandler for Revocations {
    fn on_revoked(&mut self, partitions: &[TopicPartition], _group: &GroupMetadata, commit: &mut OffsetCommitFn<'_>) {
        let mut s = self.shared.lock();
        if let Err(e) = s.flush_and_commit(&mut |o| Ok(commit(o)?)) {
            tracing::warn!(connector = %self.id.connector, task = self.id.task, error = %e, "committing sink offsets on revocation failed; the records since the last commit will be delivered again");
        }
        for tp in partitions {
            s.next.remove(tp);
            s.committed.remove(tp);
        }
    }

    fn on_assigned(&mut self, partitions: &[TopicPartition]) {
        tracing::debug!(connector = %self.id.connector, task = self.id.task, ?partitions, "sink partitions assigned");
    }
}

fn run_sink(mut ctx: TaskCtx, task: Box<dyn SinkTask>, topics: Subscription) {
    let shared = Arc::new(Mutex::new(SinkShared { task, next: Offsets::new(), committed: Offsets::new() }));
    let result = ctx.clients.consumer(sink_group(&ctx.id.connector), format!("connector-consumer-{}-{}", ctx.id.connector, ctx.id.task)).and_then(|mut consumer| {
        let r = sink_loop(&mut ctx, &shared, consumer.as_mut(), &topics);
        consumer.close();
        r
    });
    shared.lock().task.stop();
    ctx.finish("sink", &result);
}

fn sink_loop(ctx: &mut TaskCtx, shared: &Arc<Mutex<SinkShared>>, consumer: &mut dyn StreamsConsumer, subscription: &Subscription) -> Result<()> {
    let mut last_flush = Instant::now();
    // The topics subscribed to; none yet while a pattern matches nothing.
    let mut subscribed: Vec<String> = Vec::new();
    let mut looked_up: Option<Instant> = None;
    let mut dlq = DeadLetterQueue::open(ctx)?;
    let mut polled = Vec::new();
    let mut paused = false;
    loop {
        if looked_up.is_none_or(|at| matches!(subscription, Subscription::Pattern(_)) && at.elapsed() >= PATTERN_REFRESH) {
            looked_up = Some(Instant::now());
            let topics = subscription.topics(&ctx.clients)?;
            if topics != subscribed && !topics.is_empty() {
                tracing::info!(connector = %ctx.id.connector, task = ctx.id.task, ?topics, "sink task subscribes");
                consumer.subscribe(&topics, Box::new(Revocations { shared: shared.clone(), id: ctx.id.clone() }))?;
                subscribed = topics;
            }
        }
        if subscribed.is_empty() {
            // A pattern matching no topic yet: nothing to consume.
            if ctx.idle(IDLE_POLL) == Signal::Shutdown {
                return Ok(());
            }
            continue;
        }
        let signal = ctx.signal();
        // A paused sink keeps polling (so it stays in its group) with its partitions paused.
        let pause = signal == Signal::Pause;
        let assignment = consumer.assignment();
        if pause {
            consumer.pause(&assignment);
        } else if paused {
            consumer.resume(&assignment);
        }
        paused = pause;
        ctx.set_state(if pause { State::Paused } else { State::Running });
        consumer.poll(IDLE_POLL, &mut polled)?;
        if !polled.is_empty() {
            let mut s = shared.lock();
            let mut batch = Vec::with_capacity(polled.len());
            for r in polled.drain(..) {
                s.next.insert(TopicPartition::new(&*r.topic, r.partition), r.offset + 1);
                ctx.record_topic(&r.topic);
                if let Some(record) = sink_record(ctx, &r, dlq.as_mut())? {
                    batch.push(record);
                }
            }
            if !batch.is_empty() {
                s.task.put(batch)?;
            }
        }
        let stopping = ctx.signal() == Signal::Shutdown;
        if stopping || pause || last_flush.elapsed() >= ctx.flush_every {
            shared.lock().flush_and_commit(&mut |o| Ok(consumer.commit(o)?))?;
            last_flush = Instant::now();
        }
        if stopping {
            return Ok(());
        }
    }
}

/// A Kafka header as Connect's: UTF-8 bytes as an optional string, other bytes as bytes, null as
/// null (the string part of Kafka's `SimpleHeaderConverter`; numbers stay strings).
pub(crate) fn header_from_kafka(h: &brook_common::record::Header) -> Header {
    let value = match &h.value {
        None => SchemaAndValue { schema: None, value: Value::Null },
        Some(b) => match std::str::from_utf8(b) {
            Ok(s) => SchemaAndValue { schema: Some(Schema::optional_string()), value: Value::String(s.to_owned()) },
            Err(_) => SchemaAndValue { schema: Some(Schema::of(SchemaType::Bytes).optional()), value: Value::Bytes(b.to_vec()) },
        },
    };
    Header { key: h.key.clone(), value }
}

/// A Connect header as Kafka's: bytes as they are, null as null, anything else its `toString()`.
pub(crate) fn header_to_kafka(h: &Header) -> brook_common::record::Header {
    let value = match &h.value.value {
        Value::Null => None,
        Value::Bytes(b) => Some(bytes::Bytes::from(b.clone())),
        v => Some(bytes::Bytes::from(v.to_string())),
    };
    brook_common::record::Header { key: h.key.clone(), value }
}
