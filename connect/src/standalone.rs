//! Standalone mode (Kafka's `connect-standalone.sh`): one process runs its connectors against
//! the embedded broker, source offsets in `offset.storage.file.filename`, connector configs in
//! memory only (the `.properties` files given at start, plus what the REST API creates). The
//! [`StandaloneHerder`] implements [`Herder`] over a [`Worker`]; [`StandaloneWorker`] is the
//! command-line entry: create the connectors of the files, run until told to stop.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use brook_broker::client::{Admin, TopicPartition};
use brook_broker::Broker;
use serde_json::{json, Value as Json};
use tokio::sync::watch;

use crate::clients::Clients;
use crate::config::Config;
use crate::connector::Connector;
use crate::error::{Error, Result};
use crate::herder::{
    ConfigInfos, ConnectorInfo, ConnectorOffset, ConnectorOffsets, ConnectorState, ConnectorStateInfo, ConnectorTaskId, ConnectorType, Created, Herder,
    HerderFuture, Message, PluginInfo, RestartRequest, ServerInfo, State, TargetState, TaskInfo, TaskState,
};
use crate::offsets::{FileOffsetStore, OffsetStore};
use crate::plugins::Plugins;
use crate::worker::{check_converters, sink_group, trace, TaskHandle, Worker};

/// Parses a `.properties` file with the broker's reader (`key=value`, `#` and `!` comments,
/// whitespace around keys and values trimmed); `origin` names the file in errors.
///
/// # Errors
/// [`Error::Config`] naming the file and line.
pub fn parse_properties(origin: &str, text: &str) -> Result<Config> {
    let lines = brook_broker::config::parse_properties(text).map_err(|e| Error::Config(format!("{origin}: {e}")))?;
    Ok(lines.into_iter().map(|(_, k, v)| (k.to_owned(), v.to_owned())).collect())
}

/// Reads a `.properties` file.
///
/// # Errors
/// I/O errors, and those of [`parse_properties`].
pub fn read_properties(path: &Path) -> Result<Config> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path.display(), e))?;
    parse_properties(&path.display().to_string(), &text)
}

/// `connect-standalone.properties`: the keys the standalone worker reads.
#[derive(Debug, Clone)]
pub struct WorkerConfig {
    /// `bootstrap.servers`, as given (the CLI serves the embedded broker at the first one).
    pub bootstrap_servers: Option<String>,
    /// `offset.storage.file.filename` (required).
    pub offset_file: PathBuf,
    /// `offset.flush.interval.ms`. Default: 60000 ms (Kafka's default).
    pub offset_flush_interval: Duration,
    /// Where the REST API listens (`listeners`, else `rest.host.name` / `rest.port`).
    /// Default: `0.0.0.0:8083`, as Kafka's `http://:8083`.
    pub rest_listen: String,
    /// How statuses name this worker (`rest.advertised.host.name` / `rest.advertised.port`,
    /// else the listener's host, `localhost` for a wildcard, and port).
    pub worker_id: String,
    /// Every key, for the converters' `key.converter.*` / `value.converter.*`.
    pub props: Config,
}

/// The REST listener and the advertised worker id of a worker's keys: `listeners`
/// (`http://host:port`, the first one; `https` is refused), else the legacy `rest.host.name`
/// and `rest.port`; `rest.advertised.host.name` / `rest.advertised.port` override the id.
///
/// # Errors
/// [`Error::Config`] for an `https` listener or a bad port.
pub fn rest_listener(props: &Config) -> Result<(String, String)> {
    let bad = |k: &str, v: &str, why: &str| Error::Config(format!("Invalid value {v} for configuration {k}: {why}"));
    let (host, port) = match props.get("listeners").map(|l| l.split(',').next().unwrap_or("").trim().to_owned()).filter(|l| !l.is_empty()) {
        Some(l) => {
            let rest = match l.split_once("://") {
                Some((scheme, rest)) if scheme.eq_ignore_ascii_case("http") => rest.to_owned(),
                Some(_) => return Err(bad("listeners", &l, "only http:// listeners are supported by Brook")),
                None => return Err(bad("listeners", &l, "expected PROTOCOL://HOST:PORT")),
            };
            let (host, port) = rest.rsplit_once(':').ok_or_else(|| bad("listeners", &l, "expected PROTOCOL://HOST:PORT"))?;
            let port: u16 = port.trim_end_matches('/').parse().map_err(|_| bad("listeners", &l, "not a port"))?;
            (host.trim_matches(['[', ']']).to_owned(), port)
        }
        None => {
            let port = match props.get("rest.port") {
                Some(p) => p.trim().parse().map_err(|_| bad("rest.port", p, "Not a number of type INT"))?,
                None => 8083,
            };
            (props.get("rest.host.name").cloned().unwrap_or_default(), port)
        }
    };
    let listen_host = if host.is_empty() { "0.0.0.0".to_owned() } else { host.clone() };
    let listen = if listen_host.contains(':') { format!("[{listen_host}]:{port}") } else { format!("{listen_host}:{port}") };
    let advertised_host = props
        .get("rest.advertised.host.name")
        .cloned()
        .unwrap_or_else(|| if host.is_empty() || host == "0.0.0.0" { "localhost".to_owned() } else { host.clone() });
    let advertised_port = props.get("rest.advertised.port").cloned().unwrap_or_else(|| port.to_string());
    Ok((listen, format!("{advertised_host}:{advertised_port}")))
}

impl WorkerConfig {
    /// Reads the worker keys.
    ///
    /// # Errors
    /// [`Error::Config`] on a missing `offset.storage.file.filename`, `key.converter` or
    /// `value.converter` (required, as in Kafka), or a bad interval.
    pub fn from_props(props: Config) -> Result<WorkerConfig> {
        for k in ["key.converter", "value.converter", "offset.storage.file.filename"] {
            if props.get(k).is_none_or(|v| v.is_empty()) {
                return Err(Error::Config(format!("Missing required configuration \"{k}\" which has no default value.")));
            }
        }
        let offset_flush_interval = match props.get("offset.flush.interval.ms") {
            None => Duration::from_secs(60),
            Some(v) => Duration::from_millis(
                v.parse().map_err(|_| Error::Config(format!("Invalid value {v} for configuration offset.flush.interval.ms: Not a number of type LONG")))?,
            ),
        };
        // Fail now on an unknown converter class rather than when a connector starts.
        check_converters(&props)?;
        let (rest_listen, worker_id) = rest_listener(&props)?;
        Ok(WorkerConfig {
            rest_listen,
            worker_id,
            bootstrap_servers: props.get("bootstrap.servers").cloned(),
            offset_file: PathBuf::from(&props["offset.storage.file.filename"]),
            offset_flush_interval,
            props,
        })
    }
}

/// One connector of the standalone herder.
struct Entry {
    config: Config,
    kind: ConnectorType,
    target: TargetState,
    instance: Option<Connector>,
    state: State,
    trace: Option<String>,
    tasks: Vec<TaskHandle>,
}

impl Entry {
    fn info(&self, name: &str) -> ConnectorInfo {
        ConnectorInfo {
            name: name.to_owned(),
            config: self.config.clone(),
            tasks: self.tasks.iter().map(|t| t.id().clone()).collect(),
            kind: self.kind,
        }
    }

    /// Starts the connector instance and its tasks as the target state says.
    fn start(&mut self, worker: &Worker, name: &str) {
        self.trace = None;
        if self.target == TargetState::Stopped {
            self.state = State::Stopped;
            return;
        }
        match worker.start_connector(name, &self.config) {
            Ok((instance, configs)) => {
                let paused = self.target == TargetState::Paused;
                self.tasks = configs
                    .into_iter()
                    .enumerate()
                    .map(|(i, c)| worker.start_task(&instance, ConnectorTaskId { connector: name.to_owned(), task: i as u32 }, &self.config, c, paused))
                    .collect();
                self.instance = Some(instance);
                self.state = if paused { State::Paused } else { State::Running };
            }
            Err(e) => {
                tracing::error!(connector = %name, error = %e, "connector failed to start");
                self.state = State::Failed;
                self.trace = Some(trace(&e));
            }
        }
    }

    /// Stops the tasks and the connector instance.
    async fn stop(&mut self) {
        for t in self.tasks.drain(..) {
            t.stop().await;
        }
        if let Some(mut c) = self.instance.take() {
            c.stop();
        }
    }

    /// Restarts task `i` with its config: the old task stops (offsets flushed) before the new
    /// one starts from them.
    async fn restart_task(&mut self, worker: &Worker, name: &str, i: usize) {
        if self.instance.is_none() || i >= self.tasks.len() {
            return;
        }
        let old = self.tasks.remove(i);
        let (id, config) = (old.id().clone(), old.config().clone());
        old.stop().await;
        let paused = self.target == TargetState::Paused;
        if let Some(instance) = self.instance.as_ref() {
            self.tasks.insert(i, worker.start_task(instance, id, &self.config, config, paused));
        }
        tracing::info!(connector = %name, task = i, "task restarted");
    }
}

/// The herder of a standalone worker: connectors in memory, offsets in the worker's store.
pub struct StandaloneHerder {
    worker: Arc<Worker>,
    cluster_id: String,
    connectors: tokio::sync::Mutex<BTreeMap<String, Entry>>,
    /// Where the connectors' configs and target states are kept, if anywhere.
    config_file: parking_lot::Mutex<Option<PathBuf>>,
}

impl std::fmt::Debug for StandaloneHerder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StandaloneHerder").field("worker_id", &self.worker.worker_id()).finish_non_exhaustive()
    }
}

const STOPPED_FOR_OFFSETS: &str = "Connectors must be in the STOPPED state before their offsets can be modified. This can be done for the specified connector by issuing a 'PUT' request to the '/connectors/{}/stop' endpoint";

fn not_found(name: &str) -> Error {
    Error::NotFound(format!("Connector {name} not found"))
}

impl StandaloneHerder {
    /// A herder over `worker`; `cluster_id` is what `GET /` reports as `kafka_cluster_id`.
    pub fn new(worker: Worker, cluster_id: impl Into<String>) -> StandaloneHerder {
        StandaloneHerder {
            worker: Arc::new(worker),
            cluster_id: cluster_id.into(),
            connectors: tokio::sync::Mutex::default(),
            config_file: parking_lot::Mutex::new(None),
        }
    }

    /// The worker.
    pub fn worker(&self) -> &Worker {
        &self.worker
    }

    /// Stops every connector and task (offsets flushed and committed); the connectors stay
    /// defined, stopped.
    ///
    /// # Cancel safety
    /// Not cancel safe: dropped half-way, the connectors stopped so far stay stopped and the
    /// others keep running.
    pub async fn stop_all(&self) {
        let mut connectors = self.connectors.lock().await;
        for (name, e) in connectors.iter_mut() {
            e.stop().await;
            tracing::info!(connector = %name, "connector stopped");
        }
    }

    /// Keeps the connectors' configs and target states in `path` from now on (a JSON document
    /// rewritten on every change, through a temporary file), and first creates the connectors
    /// it holds, in their target state: Kafka's standalone mode forgets its connectors on
    /// restart, `brook server`'s worker keeps them this way. Returns their names.
    ///
    /// # Errors
    /// An unreadable or malformed file; a stored connector that does not validate any more is
    /// skipped with a warning.
    ///
    /// # Cancel safety
    /// Not cancel safe: dropped half-way, some stored connectors are created and the file is
    /// not yet kept.
    pub async fn keep_connectors_in(&self, path: PathBuf) -> Result<Vec<String>> {
        let stored = read_stored_connectors(&path)?;
        let mut names = Vec::new();
        for c in stored {
            match self.create_connector(&c.name, c.config, c.target).await {
                Ok(_) => names.push(c.name),
                Err(e) => tracing::warn!(connector = %c.name, error = %e, "a stored connector was not created again"),
            }
        }
        *self.config_file.lock() = Some(path);
        self.persist(&*self.connectors.lock().await)?;
        Ok(names)
    }

    /// Writes the connectors to the config file, if there is one.
    fn persist(&self, connectors: &BTreeMap<String, Entry>) -> Result<()> {
        let Some(path) = self.config_file.lock().clone() else { return Ok(()) };
        let stored: Vec<StoredConnector> =
            connectors.iter().map(|(name, e)| StoredConnector { name: name.clone(), config: e.config.clone(), target: e.target }).collect();
        let text = serde_json::to_vec_pretty(&stored).map_err(|e| Error::Data(e.to_string()))?;
        let tmp = path.with_extension("tmp");
        let write = || -> std::io::Result<()> {
            use std::io::Write;
            let mut f = std::fs::File::create(&tmp)?;
            f.write_all(&text)?;
            f.sync_all()?;
            std::fs::rename(&tmp, &path)
        };
        write().map_err(|e| Error::io(path.display(), e))
    }

    fn check_stopped(e: &Entry, name: &str) -> Result<()> {
        if e.target == TargetState::Stopped {
            Ok(())
        } else {
            Err(Error::BadRequest(STOPPED_FOR_OFFSETS.replace("{}", name)))
        }
    }
}

/// A connector as [`StandaloneHerder::keep_connectors_in`] keeps it in its file.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct StoredConnector {
    /// The connector's name.
    pub name: String,
    /// Its config.
    pub config: Config,
    /// Running, paused or stopped.
    pub target: TargetState,
}

/// The connectors of a file [`StandaloneHerder::keep_connectors_in`] wrote (none when it is
/// missing), for `brook server` to move them to a distributed worker's config topic.
///
/// # Errors
/// An unreadable or malformed file.
pub fn read_stored_connectors(path: &Path) -> Result<Vec<StoredConnector>> {
    match std::fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| Error::Config(format!("{}: not a connectors file: {e}", path.display()))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(Error::io(path.display(), e)),
    }
}

/// The error of a create or update whose config does not validate.
pub(crate) fn invalid_config(infos: &ConfigInfos) -> Error {
    let errors = infos.errors();
    Error::BadRequest(format!(
        "Connector configuration is invalid and contains the following {} error(s):\n{}\nYou can also find the above list of errors at the endpoint `/connector-plugins/{{connectorType}}/config/validate`",
        errors.len(),
        errors.join("\n")
    ))
}

/// A sink offset's partition: `{"kafka_topic": T, "kafka_partition": P}`.
/// A sink connector's offset in Connect's REST body: `{"kafka_topic","kafka_partition"}` ->
/// `{"kafka_offset"}`.
pub(crate) fn sink_offset(tp: &TopicPartition, offset: i64) -> ConnectorOffset {
    ConnectorOffset {
        partition: [("kafka_topic".to_owned(), json!(tp.topic)), ("kafka_partition".to_owned(), json!(tp.partition))].into(),
        offset: Some([("kafka_offset".to_owned(), json!(offset))].into()),
    }
}

/// A sink connector's `PATCH /offsets` body: the offsets to commit and the partitions whose
/// offsets to delete (`null` offsets).
///
/// # Errors
/// [`Error::BadRequest`] for a partition or offset not in Connect's sink form.
pub(crate) fn parse_sink_offsets(offsets: &ConnectorOffsets) -> Result<(BTreeMap<TopicPartition, i64>, Vec<TopicPartition>)> {
    let mut set = BTreeMap::new();
    let mut remove = Vec::new();
    for o in &offsets.offsets {
        let tp = sink_partition(&o.partition)?;
        match &o.offset {
            None => remove.push(tp),
            Some(off) => match off.get("kafka_offset").and_then(Json::as_i64) {
                Some(n) if n >= 0 => {
                    set.insert(tp, n);
                }
                _ => return Err(Error::BadRequest(format!("Offsets for sink connectors must have a non-negative \"kafka_offset\" integer; got {}", json!(off)))),
            },
        }
    }
    Ok((set, remove))
}

fn sink_partition(p: &BTreeMap<String, Json>) -> Result<TopicPartition> {
    let topic = p.get("kafka_topic").and_then(Json::as_str);
    let partition = p.get("kafka_partition").and_then(Json::as_i64).and_then(|n| i32::try_from(n).ok());
    match (topic, partition) {
        (Some(t), Some(n)) if n >= 0 => Ok(TopicPartition { topic: t.to_owned(), partition: n }),
        _ => Err(Error::BadRequest(format!(
            "Partitions for sink connectors must have a \"kafka_topic\" string and a non-negative \"kafka_partition\" integer; got {}",
            json!(p)
        ))),
    }
}

impl Herder for StandaloneHerder {
    fn server_info(&self) -> ServerInfo {
        ServerInfo { version: env!("CARGO_PKG_VERSION").to_owned(), commit: "brook".to_owned(), kafka_cluster_id: self.cluster_id.clone() }
    }

    fn connectors(&self) -> HerderFuture<'_, Vec<String>> {
        Box::pin(async move { Ok(self.connectors.lock().await.keys().cloned().collect()) })
    }

    fn connector_info<'a>(&'a self, name: &'a str) -> HerderFuture<'a, ConnectorInfo> {
        Box::pin(async move { self.connectors.lock().await.get(name).map(|e| e.info(name)).ok_or_else(|| not_found(name)) })
    }

    fn put_connector_config<'a>(&'a self, name: &'a str, mut config: Config, allow_replace: bool) -> HerderFuture<'a, Created<ConnectorInfo>> {
        Box::pin(async move {
            config.insert("name".to_owned(), name.to_owned());
            let class = config.get("connector.class").cloned().unwrap_or_default();
            if class.is_empty() {
                return Err(Error::BadRequest("Connector config {...} contains no connector type".replace("{...}", &json!(config).to_string())));
            }
            let infos = self.worker.validate(&class, &config).map_err(|e| Error::BadRequest(e.to_string()))?;
            if infos.error_count > 0 {
                return Err(invalid_config(&infos));
            }
            let kind = self.worker.plugins().connector(&class)?.kind();
            let mut connectors = self.connectors.lock().await;
            let created = match connectors.get_mut(name) {
                Some(_) if !allow_replace => return Err(Error::AlreadyExists(format!("Connector {name} already exists"))),
                Some(e) => {
                    e.stop().await;
                    e.config = config;
                    e.kind = kind;
                    e.start(&self.worker, name);
                    false
                }
                None => {
                    let mut e = Entry { config, kind, target: TargetState::Started, instance: None, state: State::Unassigned, trace: None, tasks: Vec::new() };
                    e.start(&self.worker, name);
                    connectors.insert(name.to_owned(), e);
                    true
                }
            };
            let result = connectors[name].info(name);
            self.persist(&connectors)?;
            Ok(Created { created, result })
        })
    }

    fn delete_connector<'a>(&'a self, name: &'a str) -> HerderFuture<'a, ()> {
        Box::pin(async move {
            let mut connectors = self.connectors.lock().await;
            let mut e = connectors.remove(name).ok_or_else(|| not_found(name))?;
            e.stop().await;
            self.worker.reset_active_topics(name);
            tracing::info!(connector = %name, "connector deleted");
            self.persist(&connectors)
        })
    }

    fn connector_status<'a>(&'a self, name: &'a str) -> HerderFuture<'a, ConnectorStateInfo> {
        Box::pin(async move {
            let connectors = self.connectors.lock().await;
            let e = connectors.get(name).ok_or_else(|| not_found(name))?;
            let worker_id = self.worker.worker_id().to_owned();
            let tasks = e
                .tasks
                .iter()
                .map(|t| {
                    let s = t.status();
                    TaskState { id: t.id().task, state: s.state, worker_id: worker_id.clone(), trace: s.trace }
                })
                .collect();
            Ok(ConnectorStateInfo {
                name: name.to_owned(),
                connector: ConnectorState { state: e.state, worker_id, trace: e.trace.clone() },
                tasks,
                kind: e.kind,
            })
        })
    }

    fn task_configs<'a>(&'a self, name: &'a str) -> HerderFuture<'a, Vec<TaskInfo>> {
        Box::pin(async move {
            let connectors = self.connectors.lock().await;
            let e = connectors.get(name).ok_or_else(|| not_found(name))?;
            Ok(e.tasks.iter().map(|t| TaskInfo { id: t.id().clone(), config: t.config().clone() }).collect())
        })
    }

    fn restart_connector<'a>(&'a self, name: &'a str, request: RestartRequest) -> HerderFuture<'a, Option<ConnectorStateInfo>> {
        Box::pin(async move {
            let before = self.connector_status(name).await?;
            let mut connectors = self.connectors.lock().await;
            let e = connectors.get_mut(name).ok_or_else(|| not_found(name))?;
            if e.target == TargetState::Stopped {
                return Ok((request != RestartRequest::default()).then_some(before));
            }
            let restart_connector = request.restarts_connector(before.connector.state);
            let restart_tasks: Vec<usize> = before.tasks.iter().filter(|t| request.restarts_task(t.state)).map(|t| t.id as usize).collect();
            let all_tasks = restart_tasks.len() == e.tasks.len();
            if restart_connector && (all_tasks || e.instance.is_none()) {
                // The connector and every task: start over (new task configs too).
                e.stop().await;
                e.start(&self.worker, name);
            } else {
                if restart_connector {
                    if let Some(c) = e.instance.as_mut() {
                        c.stop();
                        let max = e.tasks.len().max(1);
                        match c.start(&e.config, max) {
                            Ok(_) => e.state = if e.target == TargetState::Paused { State::Paused } else { State::Running },
                            Err(err) => {
                                e.state = State::Failed;
                                e.trace = Some(trace(&err));
                            }
                        }
                    }
                }
                for i in &restart_tasks {
                    e.restart_task(&self.worker, name, *i).await;
                }
            }
            if request == RestartRequest::default() {
                return Ok(None);
            }
            let mut plan = before;
            if restart_connector {
                plan.connector.state = State::Restarting;
                plan.connector.trace = None;
            }
            for t in plan.tasks.iter_mut().filter(|t| restart_tasks.contains(&(t.id as usize))) {
                t.state = State::Restarting;
                t.trace = None;
            }
            Ok(Some(plan))
        })
    }

    fn restart_task<'a>(&'a self, name: &'a str, task: u32) -> HerderFuture<'a, ()> {
        Box::pin(async move {
            let mut connectors = self.connectors.lock().await;
            let e = connectors.get_mut(name).ok_or_else(|| not_found(name))?;
            if task as usize >= e.tasks.len() {
                return Err(Error::NotFound(format!("Task {name}-{task} not found")));
            }
            e.restart_task(&self.worker, name, task as usize).await;
            Ok(())
        })
    }

    fn pause_connector<'a>(&'a self, name: &'a str) -> HerderFuture<'a, ()> {
        Box::pin(async move {
            let mut connectors = self.connectors.lock().await;
            let e = connectors.get_mut(name).ok_or_else(|| not_found(name))?;
            if e.target == TargetState::Stopped {
                // Kafka pauses a stopped connector: it starts, paused.
                e.target = TargetState::Paused;
                e.start(&self.worker, name);
                return self.persist(&connectors);
            }
            e.target = TargetState::Paused;
            e.tasks.iter().for_each(TaskHandle::pause);
            if e.state == State::Running {
                e.state = State::Paused;
            }
            self.persist(&connectors)
        })
    }

    fn resume_connector<'a>(&'a self, name: &'a str) -> HerderFuture<'a, ()> {
        Box::pin(async move {
            let mut connectors = self.connectors.lock().await;
            let e = connectors.get_mut(name).ok_or_else(|| not_found(name))?;
            match e.target {
                TargetState::Started => {}
                TargetState::Stopped => {
                    e.target = TargetState::Started;
                    e.start(&self.worker, name);
                }
                TargetState::Paused => {
                    e.target = TargetState::Started;
                    e.tasks.iter().for_each(TaskHandle::resume);
                    if e.state == State::Paused {
                        e.state = State::Running;
                    }
                }
            }
            self.persist(&connectors)
        })
    }

    fn stop_connector<'a>(&'a self, name: &'a str) -> HerderFuture<'a, ()> {
        Box::pin(async move {
            let mut connectors = self.connectors.lock().await;
            let e = connectors.get_mut(name).ok_or_else(|| not_found(name))?;
            e.target = TargetState::Stopped;
            e.stop().await;
            e.state = State::Stopped;
            e.trace = None;
            tracing::info!(connector = %name, "connector stopped");
            self.persist(&connectors)
        })
    }

    fn connector_offsets<'a>(&'a self, name: &'a str) -> HerderFuture<'a, ConnectorOffsets> {
        Box::pin(async move {
            let kind = self.connectors.lock().await.get(name).map(|e| e.kind).ok_or_else(|| not_found(name))?;
            let offsets = match kind {
                ConnectorType::Sink => Admin::new(self.worker.broker()?.clone())
                    .list_group_offsets(&sink_group(name))
                    .unwrap_or_default()
                    .into_iter()
                    .map(|(tp, o)| sink_offset(&tp, o))
                    .collect(),
                _ => self
                    .worker
                    .offsets()
                    .connector_offsets(name)
                    .into_iter()
                    .filter_map(|(p, o)| {
                        let partition = serde_json::from_value(p).ok()?;
                        Some(ConnectorOffset { partition, offset: serde_json::from_value(o).ok() })
                    })
                    .collect(),
            };
            Ok(ConnectorOffsets { offsets })
        })
    }

    fn alter_connector_offsets<'a>(&'a self, name: &'a str, offsets: ConnectorOffsets) -> HerderFuture<'a, Message> {
        Box::pin(async move {
            let connectors = self.connectors.lock().await;
            let e = connectors.get(name).ok_or_else(|| not_found(name))?;
            Self::check_stopped(e, name)?;
            if offsets.offsets.is_empty() {
                return Err(Error::BadRequest("The offsets to alter must be provided and non-empty".into()));
            }
            if e.kind == ConnectorType::Sink {
                let (set, remove) = parse_sink_offsets(&offsets)?;
                let admin = Admin::new(self.worker.broker()?.clone());
                if !set.is_empty() {
                    admin.alter_group_offsets(&sink_group(name), &set)?;
                }
                if !remove.is_empty() {
                    admin.delete_group_offsets(&sink_group(name), &remove)?;
                }
                return Ok(Message { message: "The offsets for this connector have been altered successfully".into() });
            }
            let store = self.worker.offsets();
            for o in offsets.offsets {
                store.set(name, &json!(o.partition), o.offset.map(|off| json!(off)));
            }
            store.flush()?;
            Ok(Message {
                message: "The Connect framework-managed offsets for this connector have been altered successfully. However, if this connector manages offsets externally, they will need to be manually altered in the system that the connector uses.".into(),
            })
        })
    }

    fn reset_connector_offsets<'a>(&'a self, name: &'a str) -> HerderFuture<'a, Message> {
        Box::pin(async move {
            let connectors = self.connectors.lock().await;
            let e = connectors.get(name).ok_or_else(|| not_found(name))?;
            Self::check_stopped(e, name)?;
            if e.kind == ConnectorType::Sink {
                let admin = Admin::new(self.worker.broker()?.clone());
                let group = sink_group(name);
                if admin.list_groups().iter().any(|(g, _)| *g == group) {
                    if let Some(Err(err)) = admin.delete_groups(&[group.as_str()]).into_iter().next() {
                        return Err(err.into());
                    }
                }
                return Ok(Message { message: "The offsets for this connector have been reset successfully".into() });
            }
            let store = self.worker.offsets();
            for (p, _) in store.connector_offsets(name) {
                store.set(name, &p, None);
            }
            store.flush()?;
            Ok(Message {
                message: "The Connect framework-managed offsets for this connector have been reset successfully. However, if this connector manages offsets externally, they will need to be manually reset in the system that the connector uses.".into(),
            })
        })
    }

    fn connector_topics<'a>(&'a self, name: &'a str) -> HerderFuture<'a, Vec<String>> {
        Box::pin(async move {
            if !self.connectors.lock().await.contains_key(name) {
                return Err(not_found(name));
            }
            Ok(self.worker.active_topics(name))
        })
    }

    fn reset_connector_topics<'a>(&'a self, name: &'a str) -> HerderFuture<'a, ()> {
        Box::pin(async move {
            if !self.connectors.lock().await.contains_key(name) {
                return Err(not_found(name));
            }
            self.worker.reset_active_topics(name);
            Ok(())
        })
    }

    fn connector_plugins(&self) -> Vec<PluginInfo> {
        plugin_infos(self.worker.plugins())
    }

    fn validate_connector_config<'a>(&'a self, plugin: &'a str, config: Config) -> HerderFuture<'a, ConfigInfos> {
        Box::pin(async move { self.worker.validate(plugin, &config) })
    }
}

/// `GET /connector-plugins` of a plugin registry.
pub fn plugin_infos(plugins: &Plugins) -> Vec<PluginInfo> {
    plugins
        .classes()
        .into_iter()
        .filter_map(|class| {
            let c = plugins.connector(class).ok()?;
            Some(PluginInfo { class: class.to_owned(), kind: c.kind(), version: c.version() })
        })
        .collect()
}

/// The standalone worker of `brook connect standalone`: a [`StandaloneHerder`] over an
/// embedded broker with a file offset store.
#[derive(Debug)]
pub struct StandaloneWorker {
    herder: Arc<StandaloneHerder>,
}

impl StandaloneWorker {
    /// A worker over `broker`; loads the offsets file. Statuses name it `config.worker_id`.
    ///
    /// # Errors
    /// An unreadable offsets file.
    pub fn new(broker: Broker, config: WorkerConfig, plugins: Plugins) -> Result<StandaloneWorker> {
        let worker_id = config.worker_id.clone();
        StandaloneWorker::with_worker_id(broker, config, plugins, &worker_id)
    }

    /// [`new`](Self::new) with the worker id statuses report.
    ///
    /// # Errors
    /// An unreadable offsets file.
    pub fn with_worker_id(broker: Broker, config: WorkerConfig, plugins: Plugins, worker_id: &str) -> Result<StandaloneWorker> {
        StandaloneWorker::with_clients(Clients::embedded(broker), config, plugins, worker_id)
    }

    /// A worker over `clients` (the embedded broker or a Kafka-protocol cluster).
    ///
    /// # Errors
    /// An unreadable offsets file.
    pub fn with_clients(clients: Clients, config: WorkerConfig, plugins: Plugins, worker_id: &str) -> Result<StandaloneWorker> {
        let offsets: Arc<dyn OffsetStore> = Arc::new(FileOffsetStore::open(&config.offset_file)?);
        let worker = Worker::with_clients(clients, config.props, config.offset_flush_interval, plugins, offsets, worker_id);
        Ok(StandaloneWorker { herder: Arc::new(StandaloneHerder::new(worker, "brook")) })
    }

    /// The herder (for the REST API).
    pub fn herder(&self) -> Arc<StandaloneHerder> {
        self.herder.clone()
    }

    /// Creates every connector (each a `.properties` map with `name`, `connector.class`,
    /// `tasks.max`), runs them until `stop` turns true, then stops them, flushing source offsets
    /// and committing sink offsets. Must run inside a tokio runtime. A task that fails is
    /// `FAILED` in its status (and logged); the others keep running, as in Kafka.
    ///
    /// # Errors
    /// A connector config that does not validate (unknown class, missing or bad keys): the
    /// connectors created before it are stopped again.
    ///
    /// # Cancel safety
    /// Not cancel safe: dropped, the connectors are not stopped and their offsets not flushed;
    /// turn `stop` true instead.
    pub async fn run(self, connectors: Vec<Config>, mut stop: watch::Receiver<bool>) -> Result<()> {
        let mut names = std::collections::BTreeSet::new();
        for props in &connectors {
            let name = props.get("name").filter(|n| !n.is_empty()).cloned().ok_or_else(|| Error::Config("a connector config has no \"name\"".into()))?;
            if !names.insert(name.clone()) {
                return Err(Error::Config(format!("Connector {name} already exists")));
            }
        }
        for props in connectors {
            let name = props["name"].clone();
            if let Err(e) = self.herder.put_connector_config(&name, props, false).await {
                self.herder.stop_all().await;
                return Err(match e {
                    Error::BadRequest(m) => Error::Config(format!("connector {name}: {m}")),
                    e => e,
                });
            }
        }
        let _ = stop.wait_for(|s| *s).await;
        self.herder.stop_all().await;
        Ok(())
    }
}
