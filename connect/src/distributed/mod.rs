//! The distributed worker (Kafka's `connect-distributed.sh` and `DistributedHerder`): workers
//! with one `group.id` form a group through the cluster's group coordinator (protocol type
//! `connect`, `membership.rs`); the leader deals connectors and tasks out round robin
//! (`protocol.rs`); connector configs, task configs and target states live in the compacted
//! config topic, source offsets in the offset topic, statuses in the status topic, in Connect's
//! record formats (`records.rs`, `offsets.rs`).
//!
//! One herder thread per worker (Kafka's herder tick loop) reads the config and status topics,
//! heartbeats, rejoins the group when the set of connectors or their task configs change, and
//! starts what it was assigned on the [`Worker`]. The protocol is eager: every rebalance stops
//! every task of the member first (offsets flushed and committed), so a clean rebalance
//! duplicates nothing; a worker that dies is noticed after `session.timeout.ms` and its tasks
//! restart elsewhere from the last flushed source offset or committed sink offset
//! (at-least-once).
//!
//! The REST API's writes go straight to the config topic from any worker (one partition: every
//! worker applies them in one order) rather than being forwarded to the leader; during a
//! rebalance they are refused with 409, as Kafka does. A restart is served by the worker that
//! runs the connector or task (others answer 409 naming it).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use brook_processor_api::runtime::StreamsProducer;
use brook_processor_api::OutputRecord;
use parking_lot::Mutex;
use serde_json::json;

use self::membership::{bootstrap_list, GroupError, Member};
use self::protocol::{assign, Assignment, WorkerState};
use self::records::{ConfigState, Status};
use crate::clients::{Clients, TopicReader};
use crate::config::Config;
use crate::connector::Connector;
use crate::error::{Error, Result};
use crate::herder::{
    ConfigInfos, ConnectorInfo, ConnectorOffset, ConnectorOffsets, ConnectorState, ConnectorStateInfo, ConnectorTaskId, ConnectorType, Created,
    Herder, HerderFuture, Message, PluginInfo, RestartRequest, ServerInfo, State, TargetState, TaskInfo, TaskState,
};
use crate::exactly_once::{ExactlyOnceSourceSupport, ExactlyOnceWorker};
use crate::offsets::{OffsetStore, TopicOffsetStore};
use crate::plugins::Plugins;
use crate::standalone::{parse_sink_offsets, sink_offset};
use crate::worker::{sink_group, trace, TaskHandle, Worker};

mod group_admin;
mod membership;
mod protocol;
mod records;

fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64)
}

/// `connect-distributed.properties`: the keys the distributed worker reads.
#[derive(Debug, Clone)]
pub struct DistributedConfig {
    /// `bootstrap.servers`. Default: `localhost:9092`.
    pub bootstrap_servers: String,
    /// `group.id` (required).
    pub group_id: String,
    /// `config.storage.topic` (required).
    pub config_topic: String,
    /// `offset.storage.topic` (required).
    pub offset_topic: String,
    /// `status.storage.topic` (required).
    pub status_topic: String,
    /// `offset.storage.partitions`. Default: 25.
    pub offset_partitions: i32,
    /// `status.storage.partitions`. Default: 5.
    pub status_partitions: i32,
    /// `session.timeout.ms`. Default: 10 s.
    pub session_timeout: Duration,
    /// `heartbeat.interval.ms`. Default: 3 s.
    pub heartbeat_interval: Duration,
    /// `rebalance.timeout.ms`. Default: 60 s.
    pub rebalance_timeout: Duration,
    /// `offset.flush.interval.ms`. Default: 60 s.
    pub offset_flush_interval: Duration,
    /// `exactly.once.source.support`: `disabled` (default), `preparing`, `enabled`
    /// (`crate::exactly_once`).
    pub exactly_once_source_support: ExactlyOnceSourceSupport,
    /// The REST listener's `host:port`, from `listeners` (`http://host:port`; first one) or
    /// `rest.host.name` / `rest.port`. Default: `localhost:8083`. It is the worker id statuses
    /// report.
    pub rest_addr: String,
    /// Every key (converters and their sub-keys).
    pub props: Config,
}

fn ms(props: &Config, key: &str, default_ms: u64) -> Result<Duration> {
    match props.get(key) {
        None => Ok(Duration::from_millis(default_ms)),
        Some(v) => v.trim().parse().map(Duration::from_millis).map_err(|_| Error::Config(format!("Invalid value {v} for configuration {key}: Not a number of type LONG"))),
    }
}

fn int(props: &Config, key: &str, default: i32) -> Result<i32> {
    match props.get(key) {
        None => Ok(default),
        Some(v) => v.trim().parse().ok().filter(|n: &i32| *n > 0 || *n == -1).ok_or_else(|| Error::Config(format!("Invalid value {v} for configuration {key}: Not a number of type INT"))),
    }
}

impl DistributedConfig {
    /// The settings of a worker inside `brook server`: the cluster at `bootstrap_servers`,
    /// Kafka's sample `connect-distributed.properties` (group `connect-cluster`, topics
    /// `connect-configs` / `connect-offsets` / `connect-status`, JsonConverter with schemas),
    /// REST at `rest_addr`, then `overrides`.
    ///
    /// # Errors
    /// As [`from_props`](Self::from_props) for a bad override.
    pub fn with_defaults(bootstrap_servers: &str, rest_addr: &str, overrides: &Config) -> Result<DistributedConfig> {
        let mut props: Config = [
            ("bootstrap.servers", bootstrap_servers),
            ("group.id", "connect-cluster"),
            ("config.storage.topic", "connect-configs"),
            ("offset.storage.topic", "connect-offsets"),
            ("status.storage.topic", "connect-status"),
            ("key.converter", "org.apache.kafka.connect.json.JsonConverter"),
            ("value.converter", "org.apache.kafka.connect.json.JsonConverter"),
            ("key.converter.schemas.enable", "true"),
            ("value.converter.schemas.enable", "true"),
            ("offset.flush.interval.ms", "10000"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        props.insert("listeners".to_owned(), format!("http://{rest_addr}"));
        props.extend(overrides.iter().map(|(k, v)| (k.clone(), v.clone())));
        DistributedConfig::from_props(props)
    }

    /// Reads the worker keys.
    ///
    /// # Errors
    /// [`Error::Config`] on a missing `group.id`, storage topic or converter (required, as in
    /// Kafka), or a bad number.
    pub fn from_props(props: Config) -> Result<DistributedConfig> {
        for k in ["group.id", "config.storage.topic", "offset.storage.topic", "status.storage.topic", "key.converter", "value.converter"] {
            if props.get(k).is_none_or(|v| v.trim().is_empty()) {
                return Err(Error::Config(format!("Missing required configuration \"{k}\" which has no default value.")));
            }
        }
        crate::worker::check_converters(&props)?;
        let rest_addr = match props.get("listeners").and_then(|l| l.split(',').next()).map(str::trim).filter(|l| !l.is_empty()) {
            Some(l) => l.split_once("://").map_or(l, |(_, a)| a).trim_end_matches('/').to_owned(),
            None => format!("{}:{}", props.get("rest.host.name").map_or("localhost", String::as_str), props.get("rest.port").map_or("8083", String::as_str)),
        };
        Ok(DistributedConfig {
            bootstrap_servers: props.get("bootstrap.servers").cloned().unwrap_or_else(|| "localhost:9092".into()),
            group_id: props["group.id"].trim().to_owned(),
            config_topic: props["config.storage.topic"].trim().to_owned(),
            offset_topic: props["offset.storage.topic"].trim().to_owned(),
            status_topic: props["status.storage.topic"].trim().to_owned(),
            offset_partitions: int(&props, "offset.storage.partitions", 25)?.max(1),
            status_partitions: int(&props, "status.storage.partitions", 5)?.max(1),
            session_timeout: ms(&props, "session.timeout.ms", 10_000)?,
            heartbeat_interval: ms(&props, "heartbeat.interval.ms", 3_000)?,
            rebalance_timeout: ms(&props, "rebalance.timeout.ms", 60_000)?,
            offset_flush_interval: ms(&props, "offset.flush.interval.ms", 60_000)?,
            exactly_once_source_support: props.get("exactly.once.source.support").map_or(Ok(ExactlyOnceSourceSupport::Disabled), |v| ExactlyOnceSourceSupport::parse(v))?,
            rest_addr,
            props,
        })
    }
}

/// What the herder thread and the REST calls share.
#[derive(Default)]
struct View {
    config: ConfigState,
    statuses: BTreeMap<String, Status>,
    generation: i32,
    rebalancing: bool,
    leader_url: String,
    assignment: Assignment,
}

struct Shared {
    cfg: DistributedConfig,
    view: Mutex<View>,
    writer: Mutex<Box<dyn StreamsProducer>>,
    /// Restarts asked of this worker, done by the herder thread.
    restarts: Mutex<Vec<(String, Option<u32>)>>,
    stop: AtomicBool,
    /// Whether the worker has an assignment from the group and is not rebalancing (what
    /// [`DistributedHerder::ready`] waits for); set with `view` by the herder thread.
    ready: tokio::sync::watch::Sender<bool>,
}

impl Shared {
    /// Writes records to `topic` and waits for them.
    fn write(&self, topic: &str, records: Vec<(String, Option<Vec<u8>>)>) -> Result<()> {
        let topic: Arc<str> = Arc::from(topic);
        let mut w = self.writer.lock();
        for (k, v) in records {
            w.send(OutputRecord { topic: topic.clone(), partition: None, key: Some(k.into_bytes().into()), value: v.map(Into::into), timestamp: now_ms(), headers: Vec::new() })?;
        }
        w.flush()?;
        Ok(())
    }

    fn write_status(&self, key: String, state: State, trace: Option<String>, generation: i32) {
        let s = Status { state, trace, worker_id: self.cfg.rest_addr.clone(), generation };
        let value = serde_json::to_vec(&s).unwrap_or_default();
        if let Err(e) = self.write(&self.cfg.status_topic, vec![(key, Some(value))]) {
            tracing::warn!(error = %e, "writing a status record failed");
        }
    }
}

/// A distributed worker's herder: the REST API's view of the group.
pub struct DistributedHerder {
    shared: Arc<Shared>,
    worker: Arc<Worker>,
    offsets: Arc<TopicOffsetStore>,
    thread: Mutex<Option<std::thread::JoinHandle<()>>>,
}

impl std::fmt::Debug for DistributedHerder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DistributedHerder").field("worker_id", &self.shared.cfg.rest_addr).field("group", &self.shared.cfg.group_id).finish_non_exhaustive()
    }
}

impl DistributedHerder {
    /// Creates the storage topics (compacted) unless they exist and starts the herder thread:
    /// it joins the group and runs what it is assigned until [`stop`](Self::stop). Call it
    /// from a thread that may block (or `spawn_blocking`): the seam's clients are synchronous.
    ///
    /// # Errors
    /// Client errors creating the topics or the clients.
    pub fn start(clients: Clients, cfg: DistributedConfig, plugins: Plugins) -> Result<Arc<DistributedHerder>> {
        let compact = || BTreeMap::from([("cleanup.policy".to_owned(), "compact".to_owned())]);
        clients.create_topic(&cfg.config_topic, 1, compact())?;
        clients.create_topic(&cfg.offset_topic, cfg.offset_partitions, compact())?;
        clients.create_topic(&cfg.status_topic, cfg.status_partitions, compact())?;
        let client_id = format!("connect-{}", cfg.rest_addr);
        let support = cfg.exactly_once_source_support;
        let offsets = Arc::new(TopicOffsetStore::new(&clients, &cfg.offset_topic, &client_id, support.reads_committed())?);
        offsets.refresh()?;
        let store: Arc<dyn OffsetStore> = offsets.clone();
        let eos = Arc::new(ExactlyOnceWorker::new(support, &cfg.group_id, clients.clone(), &client_id, offsets.clone()));
        let worker = Arc::new(Worker::with_clients(clients.clone(), cfg.props.clone(), cfg.offset_flush_interval, plugins, store, cfg.rest_addr.clone()).with_exactly_once(eos));
        let shared = Arc::new(Shared {
            writer: Mutex::new(clients.producer(format!("{client_id}-configs"))?),
            view: Mutex::default(),
            restarts: Mutex::default(),
            stop: AtomicBool::new(false),
            ready: tokio::sync::watch::Sender::new(false),
            cfg: cfg.clone(),
        });
        let mut runner = Runner {
            member: Member::new(&cfg.bootstrap_servers, &cfg.group_id, cfg.session_timeout, cfg.rebalance_timeout),
            config_reader: clients.reader(format!("{client_id}-config-reader"))?,
            status_reader: clients.reader(format!("{client_id}-status-reader"))?,
            shared: shared.clone(),
            worker: worker.clone(),
            offsets: offsets.clone(),
            connectors: BTreeMap::new(),
            tasks: BTreeMap::new(),
            task_states: BTreeMap::new(),
            snapshot: None,
            last_heartbeat: Instant::now(),
        };
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(|e| Error::io("starting the herder's runtime", e))?;
        let thread = std::thread::Builder::new()
            .name(format!("connect-herder-{}", cfg.group_id))
            .spawn(move || runner.run(&rt))
            .map_err(|e| Error::io("starting the herder thread", e))?;
        tracing::info!(group = %cfg.group_id, worker = %cfg.rest_addr, exactly_once_source_support = ?support, "distributed worker started");
        Ok(Arc::new(DistributedHerder { shared, worker, offsets, thread: Mutex::new(Some(thread)) }))
    }

    /// Stops every task (offsets flushed and committed), leaves the group and waits for the
    /// herder thread. Blocks: call it off the async runtime.
    pub fn stop(&self) {
        self.shared.stop.store(true, Ordering::Release);
        if let Some(t) = self.thread.lock().take() {
            let _ = t.join();
        }
    }

    /// The worker.
    pub fn worker(&self) -> &Worker {
        &self.worker
    }

    /// True once this worker has an assignment from the group (not rebalancing).
    pub fn is_ready(&self) -> bool {
        *self.shared.ready.borrow()
    }

    /// Waits until this worker has an assignment from the group (not rebalancing): at once
    /// when it has one now, else when the herder thread next gets one.
    ///
    /// # Cancel safety
    /// Cancel safe: dropping the future only stops the waiting.
    pub async fn ready(&self) {
        // The sender lives in `shared`, which `self` holds: `wait_for` cannot see it closed.
        let _ = self.shared.ready.subscribe().wait_for(|ready| *ready).await;
    }

    /// The connectors and tasks this worker runs now.
    pub fn assigned(&self) -> (Vec<String>, Vec<ConnectorTaskId>) {
        let v = self.shared.view.lock();
        (v.assignment.connectors.clone(), v.assignment.tasks.iter().map(|(c, t)| ConnectorTaskId { connector: c.clone(), task: *t }).collect())
    }

    fn check_not_rebalancing(&self) -> Result<()> {
        if self.shared.view.lock().rebalancing {
            return Err(Error::Conflict("Cannot complete request momentarily due to stale configuration (typically caused by a concurrent config change)".into()));
        }
        Ok(())
    }

    /// Writes config records, then waits until this worker's view satisfies `done`.
    async fn write_config(&self, records: Vec<(String, Option<Vec<u8>>)>, done: impl Fn(&ConfigState) -> bool) -> Result<()> {
        let shared = self.shared.clone();
        tokio::task::spawn_blocking(move || shared.write(&shared.cfg.config_topic.clone(), records))
            .await
            .map_err(|e| Error::Conflict(format!("writing the config topic: {e}")))??;
        let deadline = Instant::now() + Duration::from_secs(30);
        while !done(&self.shared.view.lock().config) {
            if Instant::now() > deadline {
                return Err(Error::Conflict("the config topic write was not read back in 30 s".into()));
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        Ok(())
    }

    fn info(config: &ConfigState, plugins: &Plugins, name: &str) -> Result<ConnectorInfo> {
        let c = config.connectors.get(name).ok_or_else(|| not_found(name))?;
        let kind = c.get("connector.class").and_then(|k| plugins.connector(k).ok()).map_or(ConnectorType::Unknown, |k| k.kind());
        let n = config.tasks.get(name).map_or(0, Vec::len) as u32;
        Ok(ConnectorInfo { name: name.to_owned(), config: c.clone(), tasks: (0..n).map(|task| ConnectorTaskId { connector: name.to_owned(), task }).collect(), kind })
    }

    async fn set_target(&self, name: &str, target: TargetState) -> Result<()> {
        self.check_not_rebalancing()?;
        if !self.shared.view.lock().config.connectors.contains_key(name) {
            return Err(not_found(name));
        }
        let (k, v) = records::target_record(name, target);
        let n = name.to_owned();
        self.write_config(vec![(k, Some(v))], move |c| c.target(&n) == target).await
    }
}

impl DistributedHerder {
    fn bootstrap(&self) -> Vec<String> {
        bootstrap_list(&self.shared.cfg.bootstrap_servers)
    }

    /// Offsets may change only while the connector is STOPPED (Kafka 3.6+).
    fn check_stopped(&self, name: &str) -> Result<()> {
        if self.shared.view.lock().config.target(name) != TargetState::Stopped {
            return Err(Error::BadRequest(format!("Connectors must be in the STOPPED state before their offsets can be modified. This can be done for the specified connector by issuing a 'PUT' request to the '/connectors/{name}/stop' endpoint")));
        }
        Ok(())
    }

    /// The offset stores of a source connector, read to their end: its own
    /// `offsets.storage.topic` (if any) first, then the worker's.
    async fn source_stores(&self, config: &Config) -> Result<Vec<Arc<TopicOffsetStore>>> {
        let (worker, global, config) = (self.worker.clone(), self.offsets.clone(), config.clone());
        let partitions = self.shared.cfg.offset_partitions;
        tokio::task::spawn_blocking(move || -> Result<Vec<Arc<TopicOffsetStore>>> {
            let mut stores = Vec::new();
            if let Some(eos) = worker.exactly_once() {
                stores.extend(eos.own_store(&config, partitions)?);
            }
            stores.push(global);
            for s in &stores {
                s.refresh()?;
            }
            Ok(stores)
        })
        .await
        .map_err(|e| Error::Conflict(e.to_string()))?
    }

    /// Writes a stopped source connector's offsets to its offset store (its own topic if it
    /// has one); under exactly-once its tasks' producers are fenced first, as Kafka does, so
    /// that no zombie task commits over them.
    async fn write_source_offsets(&self, name: &str, config: &Config, offsets: Vec<(serde_json::Value, Option<serde_json::Value>)>) -> Result<()> {
        let stores = self.source_stores(config).await?;
        let tasks = self.shared.view.lock().config.tasks.get(name).map_or(0, Vec::len) as u32;
        let (worker, n) = (self.worker.clone(), name.to_owned());
        tokio::task::spawn_blocking(move || {
            worker.fence_source_tasks(&n, tasks)?;
            let store = &stores[0];
            for (p, o) in offsets {
                store.set(&n, &p, o);
            }
            store.flush()
        })
        .await
        .map_err(|e| Error::Conflict(e.to_string()))?
    }
}

fn not_found(name: &str) -> Error {
    Error::NotFound(format!("Connector {name} not found"))
}

impl Herder for DistributedHerder {
    fn server_info(&self) -> ServerInfo {
        ServerInfo { version: env!("CARGO_PKG_VERSION").to_owned(), commit: "brook".to_owned(), kafka_cluster_id: "brook".to_owned() }
    }

    fn connectors(&self) -> HerderFuture<'_, Vec<String>> {
        Box::pin(async move { Ok(self.shared.view.lock().config.connectors.keys().cloned().collect()) })
    }

    fn connector_info<'a>(&'a self, name: &'a str) -> HerderFuture<'a, ConnectorInfo> {
        Box::pin(async move { Self::info(&self.shared.view.lock().config, self.worker.plugins(), name) })
    }

    fn put_connector_config<'a>(&'a self, name: &'a str, mut config: Config, allow_replace: bool) -> HerderFuture<'a, Created<ConnectorInfo>> {
        Box::pin(async move {
            config.insert("name".to_owned(), name.to_owned());
            let class = config.get("connector.class").cloned().unwrap_or_default();
            if class.is_empty() {
                return Err(Error::BadRequest(format!("Connector config {} contains no connector type", json!(config))));
            }
            let infos = self.worker.validate(&class, &config).map_err(|e| Error::BadRequest(e.to_string()))?;
            if infos.error_count > 0 {
                return Err(crate::standalone::invalid_config(&infos));
            }
            let exists = self.shared.view.lock().config.connectors.contains_key(name);
            if exists && !allow_replace {
                return Err(Error::AlreadyExists(format!("Connector {name} already exists")));
            }
            self.check_not_rebalancing()?;
            let (n, c) = (name.to_owned(), config.clone());
            self.write_config(vec![(records::connector_key(name), Some(records::connector_value(&config)))], move |s| s.connectors.get(&n) == Some(&c)).await?;
            let result = Self::info(&self.shared.view.lock().config, self.worker.plugins(), name)?;
            Ok(Created { created: !exists, result })
        })
    }

    fn delete_connector<'a>(&'a self, name: &'a str) -> HerderFuture<'a, ()> {
        Box::pin(async move {
            self.check_not_rebalancing()?;
            if !self.shared.view.lock().config.connectors.contains_key(name) {
                return Err(not_found(name));
            }
            let n = name.to_owned();
            self.write_config(vec![(records::connector_key(name), None), (format!("target-state-{name}"), None)], move |s| !s.connectors.contains_key(&n)).await
        })
    }

    fn connector_status<'a>(&'a self, name: &'a str) -> HerderFuture<'a, ConnectorStateInfo> {
        Box::pin(async move {
            let v = self.shared.view.lock();
            let info = Self::info(&v.config, self.worker.plugins(), name)?;
            let status = |key: String| v.statuses.get(&key).cloned().unwrap_or(Status { state: State::Unassigned, trace: None, worker_id: v.leader_url.clone(), generation: -1 });
            let c = status(records::connector_status_key(name));
            let tasks = info
                .tasks
                .iter()
                .map(|t| {
                    let s = status(records::task_status_key(name, t.task));
                    TaskState { id: t.task, state: s.state, worker_id: s.worker_id, trace: s.trace }
                })
                .collect();
            Ok(ConnectorStateInfo { name: name.to_owned(), connector: ConnectorState { state: c.state, worker_id: c.worker_id, trace: c.trace }, tasks, kind: info.kind })
        })
    }

    fn task_configs<'a>(&'a self, name: &'a str) -> HerderFuture<'a, Vec<TaskInfo>> {
        Box::pin(async move {
            let v = self.shared.view.lock();
            if !v.config.connectors.contains_key(name) {
                return Err(not_found(name));
            }
            let tasks = v.config.tasks.get(name).cloned().unwrap_or_default();
            Ok(tasks.into_iter().enumerate().map(|(i, config)| TaskInfo { id: ConnectorTaskId { connector: name.to_owned(), task: i as u32 }, config }).collect())
        })
    }

    fn restart_connector<'a>(&'a self, name: &'a str, request: RestartRequest) -> HerderFuture<'a, Option<ConnectorStateInfo>> {
        Box::pin(async move {
            self.check_not_rebalancing()?;
            let before = self.connector_status(name).await?;
            let owner = before.connector.worker_id.clone();
            if !self.shared.view.lock().assignment.connectors.iter().any(|c| c == name) {
                return Err(Error::Conflict(format!("Connector {name} runs on worker {owner}: send the restart there")));
            }
            let mut restarts = self.shared.restarts.lock();
            if request.restarts_connector(before.connector.state) {
                restarts.push((name.to_owned(), None));
            }
            for t in &before.tasks {
                if request.restarts_task(t.state) && self.shared.view.lock().assignment.tasks.contains(&(name.to_owned(), t.id)) {
                    restarts.push((name.to_owned(), Some(t.id)));
                }
            }
            Ok((request != RestartRequest::default()).then_some(before))
        })
    }

    fn restart_task<'a>(&'a self, name: &'a str, task: u32) -> HerderFuture<'a, ()> {
        Box::pin(async move {
            self.check_not_rebalancing()?;
            let status = self.connector_status(name).await?;
            let t = status.tasks.iter().find(|t| t.id == task).ok_or_else(|| Error::NotFound(format!("Task {name}-{task} not found")))?;
            if !self.shared.view.lock().assignment.tasks.contains(&(name.to_owned(), task)) {
                return Err(Error::Conflict(format!("Task {name}-{task} runs on worker {}: send the restart there", t.worker_id)));
            }
            self.shared.restarts.lock().push((name.to_owned(), Some(task)));
            Ok(())
        })
    }

    fn pause_connector<'a>(&'a self, name: &'a str) -> HerderFuture<'a, ()> {
        Box::pin(self.set_target(name, TargetState::Paused))
    }

    fn resume_connector<'a>(&'a self, name: &'a str) -> HerderFuture<'a, ()> {
        Box::pin(self.set_target(name, TargetState::Started))
    }

    fn stop_connector<'a>(&'a self, name: &'a str) -> HerderFuture<'a, ()> {
        Box::pin(self.set_target(name, TargetState::Stopped))
    }

    fn connector_offsets<'a>(&'a self, name: &'a str) -> HerderFuture<'a, ConnectorOffsets> {
        Box::pin(async move {
            let info = self.connector_info(name).await?;
            if info.kind == ConnectorType::Sink {
                let committed = group_admin::fetch(&self.bootstrap(), &sink_group(name)).await?;
                return Ok(ConnectorOffsets { offsets: committed.iter().map(|(tp, o)| sink_offset(tp, *o)).collect() });
            }
            let stores = self.source_stores(&info.config).await?;
            // The connector's own topic wins over the worker's (Kafka's
            // `ConnectorOffsetBackingStore`).
            let mut merged: BTreeMap<String, (serde_json::Value, serde_json::Value)> = BTreeMap::new();
            for store in stores.iter().rev() {
                for (p, o) in store.connector_offsets(name) {
                    merged.insert(p.to_string(), (p, o));
                }
            }
            let offsets = merged
                .into_values()
                .filter_map(|(p, o)| Some(ConnectorOffset { partition: serde_json::from_value(p).ok()?, offset: serde_json::from_value(o).ok() }))
                .collect();
            Ok(ConnectorOffsets { offsets })
        })
    }

    fn alter_connector_offsets<'a>(&'a self, name: &'a str, offsets: ConnectorOffsets) -> HerderFuture<'a, Message> {
        Box::pin(async move {
            let info = self.connector_info(name).await?;
            self.check_stopped(name)?;
            if offsets.offsets.is_empty() {
                return Err(Error::BadRequest("The offsets to alter must be provided and non-empty".into()));
            }
            if info.kind == ConnectorType::Sink {
                let (set, remove) = parse_sink_offsets(&offsets)?;
                let (bootstrap, group) = (self.bootstrap(), sink_group(name));
                if !set.is_empty() {
                    group_admin::alter(&bootstrap, &group, name, &set).await?;
                }
                if !remove.is_empty() {
                    group_admin::delete(&bootstrap, &group, name, &remove).await?;
                }
                return Ok(Message { message: "The offsets for this connector have been altered successfully".into() });
            }
            self.write_source_offsets(name, &info.config, offsets.offsets.into_iter().map(|o| (json!(o.partition), o.offset.map(|off| json!(off)))).collect()).await?;
            Ok(Message { message: "The Connect framework-managed offsets for this connector have been altered successfully. However, if this connector manages offsets externally, they will need to be manually altered in the system that the connector uses.".into() })
        })
    }

    fn reset_connector_offsets<'a>(&'a self, name: &'a str) -> HerderFuture<'a, Message> {
        Box::pin(async move {
            let info = self.connector_info(name).await?;
            self.check_stopped(name)?;
            if info.kind == ConnectorType::Sink {
                group_admin::delete_group(&self.bootstrap(), &sink_group(name), name).await?;
                return Ok(Message { message: "The offsets for this connector have been reset successfully".into() });
            }
            let current = self.connector_offsets(name).await?;
            self.write_source_offsets(name, &info.config, current.offsets.into_iter().map(|o| (json!(o.partition), None)).collect()).await?;
            Ok(Message { message: "The Connect framework-managed offsets for this connector have been reset successfully. However, if this connector manages offsets externally, they will need to be manually reset in the system that the connector uses.".into() })
        })
    }

    fn connector_topics<'a>(&'a self, name: &'a str) -> HerderFuture<'a, Vec<String>> {
        Box::pin(async move {
            self.connector_info(name).await?;
            Ok(self.worker.active_topics(name))
        })
    }

    fn reset_connector_topics<'a>(&'a self, name: &'a str) -> HerderFuture<'a, ()> {
        Box::pin(async move {
            self.connector_info(name).await?;
            self.worker.reset_active_topics(name);
            Ok(())
        })
    }

    fn connector_plugins(&self) -> Vec<PluginInfo> {
        crate::standalone::plugin_infos(self.worker.plugins())
    }

    fn validate_connector_config<'a>(&'a self, plugin: &'a str, config: Config) -> HerderFuture<'a, ConfigInfos> {
        Box::pin(async move { self.worker.validate(plugin, &config) })
    }
}

/// What the group's assignment depends on: each connector's config, whether it is stopped,
/// and its committed task configs. A change of it makes the worker rejoin.
type Snapshot = BTreeMap<String, (Config, bool, Vec<Config>)>;

fn snapshot(c: &ConfigState) -> Snapshot {
    c.connectors
        .iter()
        .map(|(n, cfg)| (n.clone(), (cfg.clone(), c.target(n) == TargetState::Stopped, c.tasks.get(n).cloned().unwrap_or_default())))
        .collect()
}

/// The herder thread.
struct Runner {
    member: Member,
    config_reader: TopicReader,
    status_reader: TopicReader,
    shared: Arc<Shared>,
    worker: Arc<Worker>,
    offsets: Arc<TopicOffsetStore>,
    connectors: BTreeMap<String, Connector>,
    tasks: BTreeMap<ConnectorTaskId, TaskHandle>,
    /// The state last written to the status topic per task.
    task_states: BTreeMap<ConnectorTaskId, (State, Option<String>)>,
    /// The config the current assignment was made for; `None`: not a member yet.
    snapshot: Option<Snapshot>,
    last_heartbeat: Instant,
}

impl Runner {
    fn run(&mut self, rt: &tokio::runtime::Runtime) {
        let mut need_rejoin = true;
        while !self.shared.stop.load(Ordering::Acquire) {
            if let Err(e) = self.read_topics() {
                tracing::warn!(error = %e, "reading the config or status topic failed");
            }
            if need_rejoin {
                match self.rejoin(rt) {
                    Ok(()) => need_rejoin = false,
                    Err(GroupError::Rejoin(_)) => continue,
                    Err(GroupError::Failed(e)) => {
                        tracing::warn!(group = %self.shared.cfg.group_id, error = %e, "joining the Connect group failed; retrying");
                        std::thread::sleep(Duration::from_secs(1));
                        continue;
                    }
                }
            }
            let now = snapshot(&self.shared.view.lock().config);
            if self.snapshot.as_ref() != Some(&now) {
                tracing::info!(group = %self.shared.cfg.group_id, "connector configs changed: rejoining");
                need_rejoin = true;
                continue;
            }
            self.apply_targets();
            self.do_restarts();
            self.report_task_states();
            if self.last_heartbeat.elapsed() >= self.shared.cfg.heartbeat_interval {
                self.last_heartbeat = Instant::now();
                match rt.block_on(self.member.heartbeat()) {
                    Ok(()) => {}
                    Err(GroupError::Rejoin(code)) => {
                        tracing::info!(group = %self.shared.cfg.group_id, code, "the group is rebalancing: rejoining");
                        need_rejoin = true;
                        continue;
                    }
                    Err(GroupError::Failed(e)) => tracing::warn!(error = %e, "heartbeat failed"),
                }
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        self.stop_all();
        rt.block_on(self.member.leave());
        tracing::info!(group = %self.shared.cfg.group_id, worker = %self.shared.cfg.rest_addr, "distributed worker stopped");
    }

    fn read_topics(&mut self) -> Result<()> {
        let cfg = &self.shared.cfg;
        let mut config = self.shared.view.lock().config.clone();
        let n = self.config_reader.read_to_end(&cfg.config_topic, &mut |r| {
            if let Some(k) = r.key.as_ref() {
                config.apply(k, r.value.as_deref());
            }
        })?;
        if n > 0 {
            self.shared.view.lock().config = config;
        }
        let mut statuses = Vec::new();
        self.status_reader.read_to_end(&cfg.status_topic, &mut |r| {
            let (Some(k), Some(v)) = (r.key.as_ref(), r.value.as_ref()) else { return };
            if let (Ok(k), Ok(s)) = (std::str::from_utf8(k), serde_json::from_slice::<Status>(v)) {
                statuses.push((k.to_owned(), s));
            }
        })?;
        let mut v = self.shared.view.lock();
        for (k, s) in statuses {
            // A late write of an older generation does not override a newer one.
            if v.statuses.get(&k).is_none_or(|old| s.generation >= old.generation) {
                v.statuses.insert(k, s);
            }
        }
        Ok(())
    }

    /// Eager rebalance: stop everything, JoinGroup, the leader assigns, SyncGroup, start what
    /// this worker got.
    fn rejoin(&mut self, rt: &tokio::runtime::Runtime) -> std::result::Result<(), GroupError> {
        self.stop_all();
        self.shared.view.lock().rebalancing = true;
        self.shared.ready.send_replace(false);
        let url = format!("http://{}/", self.shared.cfg.rest_addr);
        let config_offset = self.config_reader.position(&self.shared.cfg.config_topic);
        let joined = rt.block_on(self.member.join(WorkerState { url: url.clone(), config_offset }.encode()))?;
        let mut assignments = Vec::new();
        if joined.leader == joined.member_id {
            // The leader assigns from the config topic read to its end.
            let _ = self.read_topics();
            let config_offset = self.config_reader.position(&self.shared.cfg.config_topic);
            let counts = self.shared.view.lock().config.task_counts();
            let members: Vec<String> = joined.members.iter().map(|(m, _)| m.clone()).collect();
            for (m, meta) in &joined.members {
                if let Ok(s) = WorkerState::decode(meta.clone()) {
                    tracing::debug!(member = %m, url = %s.url, offset = s.config_offset, "group member");
                }
            }
            for (m, (connectors, tasks)) in assign(&members, &counts) {
                let a = Assignment { error: 0, leader: joined.member_id.clone(), leader_url: url.clone(), config_offset, connectors, tasks };
                assignments.push((m, a.encode()));
            }
        }
        let bytes = rt.block_on(self.member.sync(assignments))?;
        let a = Assignment::decode(bytes).map_err(|e| GroupError::Failed(e.to_string()))?;
        // Read the config topic at least as far as the leader had.
        let deadline = Instant::now() + Duration::from_secs(30);
        while self.config_reader.position(&self.shared.cfg.config_topic) < a.config_offset && Instant::now() < deadline {
            let _ = self.read_topics();
            std::thread::sleep(Duration::from_millis(50));
        }
        tracing::info!(group = %self.shared.cfg.group_id, generation = joined.generation, leader = %a.leader_url, connectors = ?a.connectors, tasks = ?a.tasks, "joined the Connect group");
        self.snapshot = Some(snapshot(&self.shared.view.lock().config));
        {
            let mut v = self.shared.view.lock();
            v.rebalancing = false;
            v.generation = joined.generation;
            v.leader_url = a.leader_url.clone();
            v.assignment = a.clone();
        }
        self.shared.ready.send_replace(joined.generation > 0);
        self.last_heartbeat = Instant::now();
        self.start_assigned(&a, joined.generation);
        Ok(())
    }

    fn start_assigned(&mut self, a: &Assignment, generation: i32) {
        if let Err(e) = self.offsets.refresh() {
            tracing::warn!(error = %e, "reading the offset topic failed; source tasks start from the offsets read before");
        }
        let config = self.shared.view.lock().config.clone();
        for name in &a.connectors {
            let Some(props) = config.connectors.get(name) else { continue };
            let key = records::connector_status_key(name);
            let target = config.target(name);
            if target == TargetState::Stopped {
                self.shared.write_status(key, State::Stopped, None, generation);
                continue;
            }
            match self.worker.start_connector(name, props) {
                Ok((instance, task_configs)) => {
                    if config.tasks.get(name) != Some(&task_configs) {
                        // Under exactly-once, the producers of the tasks the new configs
                        // replace are fenced first (Kafka's leader does so before it writes a
                        // connector's new task count).
                        let before = config.tasks.get(name).map_or(0, Vec::len) as u32;
                        if instance.kind() == ConnectorType::Source {
                            if let Err(e) = self.worker.fence_source_tasks(name, before) {
                                tracing::warn!(connector = %name, error = %e, "fencing the producers of the previous tasks failed");
                            }
                        }
                        // New task configs: written with their commit record; every worker
                        // sees the change and the group rebalances onto them.
                        let mut recs: Vec<(String, Option<Vec<u8>>)> = task_configs.iter().enumerate().map(|(i, c)| records::task_record(name, i, c)).map(|(k, v)| (k, Some(v))).collect();
                        let (k, v) = records::commit_record(name, task_configs.len());
                        recs.push((k, Some(v)));
                        if let Err(e) = self.shared.write(&self.shared.cfg.config_topic, recs) {
                            tracing::warn!(connector = %name, error = %e, "writing task configs failed");
                        }
                    }
                    let state = if target == TargetState::Paused { State::Paused } else { State::Running };
                    self.shared.write_status(key, state, None, generation);
                    self.connectors.insert(name.clone(), instance);
                }
                Err(e) => {
                    tracing::error!(connector = %name, error = %e, "connector failed to start");
                    self.shared.write_status(key, State::Failed, Some(trace(&e)), generation);
                }
            }
        }
        for (name, n) in &a.tasks {
            self.start_task(&config, name, *n);
        }
    }

    fn start_task(&mut self, config: &ConfigState, name: &str, n: u32) {
        let (Some(props), Some(task_config)) = (config.connectors.get(name), config.tasks.get(name).and_then(|t| t.get(n as usize))) else { return };
        let id = ConnectorTaskId { connector: name.to_owned(), task: n };
        let instance = match props.get("connector.class").map(|c| self.worker.plugins().connector(c)) {
            Some(Ok(i)) => i,
            Some(Err(e)) => {
                self.shared.write_status(records::task_status_key(name, n), State::Failed, Some(trace(&e)), self.member.generation);
                return;
            }
            None => return,
        };
        let paused = config.target(name) == TargetState::Paused;
        let handle = self.worker.start_task(&instance, id.clone(), props, task_config.clone(), paused);
        self.tasks.insert(id, handle);
    }

    /// Stops every task and connector of this worker (eager rebalance, shutdown).
    fn stop_all(&mut self) {
        let generation = self.member.generation;
        for (id, t) in std::mem::take(&mut self.tasks) {
            t.stop_blocking();
            self.shared.write_status(records::task_status_key(&id.connector, id.task), State::Unassigned, None, generation);
        }
        self.task_states.clear();
        for (name, mut c) in std::mem::take(&mut self.connectors) {
            c.stop();
            self.shared.write_status(records::connector_status_key(&name), State::Unassigned, None, generation);
        }
    }

    /// Pauses or resumes tasks as their connector's target state says.
    fn apply_targets(&mut self) {
        let config = self.shared.view.lock().config.clone();
        for (id, t) in &self.tasks {
            match config.target(&id.connector) {
                TargetState::Paused => t.pause(),
                _ => t.resume(),
            }
        }
        for name in self.connectors.keys() {
            let state = if config.target(name) == TargetState::Paused { State::Paused } else { State::Running };
            let key = records::connector_status_key(name);
            let current = self.shared.view.lock().statuses.get(&key).map(|s| s.state);
            if current.is_some_and(|s| s != state && s != State::Failed) {
                self.shared.write_status(key, state, None, self.member.generation);
            }
        }
    }

    fn do_restarts(&mut self) {
        let restarts = std::mem::take(&mut *self.shared.restarts.lock());
        if restarts.is_empty() {
            return;
        }
        let config = self.shared.view.lock().config.clone();
        for (name, task) in restarts {
            match task {
                Some(n) => {
                    let id = ConnectorTaskId { connector: name.clone(), task: n };
                    if let Some(t) = self.tasks.remove(&id) {
                        t.stop_blocking();
                        self.task_states.remove(&id);
                        self.start_task(&config, &name, n);
                        tracing::info!(connector = %name, task = n, "task restarted");
                    }
                }
                None => {
                    if let (Some(mut c), Some(props)) = (self.connectors.remove(&name), config.connectors.get(&name)) {
                        c.stop();
                        match self.worker.start_connector(&name, props) {
                            Ok((instance, _)) => {
                                self.connectors.insert(name.clone(), instance);
                                self.shared.write_status(records::connector_status_key(&name), State::Running, None, self.member.generation);
                            }
                            Err(e) => self.shared.write_status(records::connector_status_key(&name), State::Failed, Some(trace(&e)), self.member.generation),
                        }
                    }
                }
            }
        }
    }

    /// Writes the status of each task whose state changed.
    fn report_task_states(&mut self) {
        for (id, t) in &self.tasks {
            let s = t.status();
            let now = (s.state, s.trace.clone());
            if self.task_states.get(id) != Some(&now) {
                self.shared.write_status(records::task_status_key(&id.connector, id.task), s.state, s.trace, self.member.generation);
                self.task_states.insert(id.clone(), now);
            }
        }
    }
}
