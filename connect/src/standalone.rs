//! The standalone worker (Kafka's `connect-standalone.sh`): one process runs the connectors
//! named in `.properties` files against the embedded broker or a Kafka-protocol cluster
//! ([`Clients`]). Source offsets go to `offset.storage.file.filename` every
//! `offset.flush.interval.ms` and on stop; sink tasks commit their consumer group
//! `connect-<name>` at the same interval and on stop, after the task flushed.
//!
//! Each task runs on its own OS thread (`worker/`).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use brook_broker::Broker;
use parking_lot::Mutex;
use tokio::sync::watch;

use crate::connector::{Config, Connector, SinkTask, SourceTask};
use crate::error::{Error, Result};
use crate::offsets::FileOffsetStore;
use crate::plugins::Plugins;
use crate::worker::{converters, run_sink, run_source, Clients, SourceOffsetWriter, StopSignal, TaskCtx, TaskThread};

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
    /// Every key, for the converters' `key.converter.*` / `value.converter.*`.
    pub props: Config,
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
        converters(&props, &Config::new())?;
        Ok(WorkerConfig {
            bootstrap_servers: props.get("bootstrap.servers").cloned(),
            offset_file: PathBuf::from(&props["offset.storage.file.filename"]),
            offset_flush_interval,
            props,
        })
    }
}

/// The standalone worker.
#[derive(Debug)]
pub struct StandaloneWorker {
    clients: Clients,
    config: WorkerConfig,
    plugins: Plugins,
    offsets: Arc<Mutex<FileOffsetStore>>,
}

impl StandaloneWorker {
    /// A worker over the embedded `broker`; loads the offsets file.
    ///
    /// # Errors
    /// An unreadable offsets file.
    pub fn new(broker: Broker, config: WorkerConfig, plugins: Plugins) -> Result<StandaloneWorker> {
        StandaloneWorker::with_clients(Clients::embedded(broker)?, config, plugins)
    }

    /// A worker over `clients` (the embedded broker or a cluster); loads the offsets file.
    ///
    /// # Errors
    /// An unreadable offsets file.
    pub fn with_clients(clients: Clients, config: WorkerConfig, plugins: Plugins) -> Result<StandaloneWorker> {
        let offsets = FileOffsetStore::open(&config.offset_file)?;
        Ok(StandaloneWorker { clients, config, plugins, offsets: Arc::new(Mutex::new(offsets)) })
    }

    /// Starts every connector (each a `.properties` map with `name`, `connector.class`,
    /// `tasks.max`), runs their tasks until `stop` turns true, then stops them, flushing source
    /// offsets and committing sink offsets. Must run inside a tokio runtime.
    ///
    /// # Errors
    /// A connector that does not start (unknown class, bad config) stops the worker before any
    /// task runs; the first task that failed otherwise.
    pub async fn run(self, connectors: Vec<Config>, mut stop: watch::Receiver<bool>) -> Result<()> {
        let signal = StopSignal::default();
        let mut ready = Vec::new();
        let mut started = Vec::new();
        let mut names = std::collections::BTreeSet::new();
        for props in connectors {
            let name = props.get("name").filter(|n| !n.is_empty()).cloned().ok_or_else(|| Error::Config("a connector config has no \"name\"".into()))?;
            if !names.insert(name.clone()) {
                return Err(Error::Config(format!("Connector {name} already exists")));
            }
            let class = props.get("connector.class").ok_or_else(|| Error::Config(format!("connector {name}: Missing required configuration \"connector.class\"")))?;
            let max_tasks: usize = match props.get("tasks.max") {
                None => 1,
                Some(v) => v.parse().ok().filter(|n| *n > 0).ok_or_else(|| Error::Config(format!("connector {name}: Invalid value {v} for configuration tasks.max")))?,
            };
            let mut connector = self.plugins.connector(class)?;
            let configs = match &mut connector {
                Connector::Source(c) => {
                    c.start(&props)?;
                    c.task_configs(max_tasks)
                }
                Connector::Sink(c) => {
                    c.start(&props)?;
                    c.task_configs(max_tasks)
                }
            };
            for (i, task_config) in configs.into_iter().take(max_tasks).enumerate() {
                let conv = converters(&self.config.props, &props)?;
                let ctx = TaskCtx { name: name.clone(), id: i, clients: self.clients.clone(), conv, flush_every: self.config.offset_flush_interval, stop: signal.clone() };
                match &connector {
                    Connector::Source(c) => {
                        let mut task = c.task();
                        task.start(&task_config, &self.offsets.lock().reader(&name))?;
                        ready.push(Ready::Source(ctx, task));
                    }
                    Connector::Sink(c) => {
                        let topics: Vec<String> = task_config.get("topics").map(|t| t.split(',').map(|s| s.trim().to_owned()).filter(|s| !s.is_empty()).collect()).unwrap_or_default();
                        if topics.is_empty() {
                            return Err(Error::Config(format!("connector {name}: Must configure one of topics or topics.regex")));
                        }
                        let mut task = c.task();
                        task.start(&task_config)?;
                        ready.push(Ready::Sink(ctx, task, topics));
                    }
                }
            }
            tracing::info!(connector = %name, class = %class, "connector started");
            started.push((name, connector));
        }
        // Every connector and task started: only now run them, so a bad connector config
        // leaves nothing running.
        let mut threads = Vec::new();
        for r in ready {
            let t = match r {
                Ready::Source(ctx, task) => {
                    let offsets = Box::new(FileOffsets { store: self.offsets.clone(), connector: ctx.name.clone() });
                    TaskThread::spawn(&ctx.name.clone(), ctx.id, signal.clone(), move || run_source(ctx, task, offsets))
                }
                Ready::Sink(ctx, task, topics) => TaskThread::spawn(&ctx.name.clone(), ctx.id, signal.clone(), move || run_sink(ctx, task, topics)),
            };
            match t {
                Ok(t) => threads.push(t),
                Err(e) => {
                    signal.stop();
                    return Err(e);
                }
            }
        }
        let stopper = {
            let signal = signal.clone();
            tokio::spawn(async move {
                let _ = stop.wait_for(|s| *s).await;
                signal.stop();
            })
        };
        // A task that fails stops only itself, as in Kafka; the worker runs until told to stop.
        let joined = tokio::task::spawn_blocking(move || threads.into_iter().map(TaskThread::join).collect::<Vec<_>>()).await;
        stopper.abort();
        let mut first_err = None;
        for r in joined.map_err(|e| Error::Config(format!("joining the task threads: {e}")))? {
            if let Err(e) = r {
                first_err.get_or_insert(e);
            }
        }
        for (name, c) in &mut started {
            match c {
                Connector::Source(c) => c.stop(),
                Connector::Sink(c) => c.stop(),
            }
            tracing::info!(connector = %name, "connector stopped");
        }
        first_err.map_or(Ok(()), Err)
    }
}

/// A started task, not yet running.
enum Ready {
    Source(TaskCtx, Box<dyn SourceTask>),
    Sink(TaskCtx, Box<dyn SinkTask>, Vec<String>),
}

/// A source connector's offsets in the worker's offsets file.
struct FileOffsets {
    store: Arc<Mutex<FileOffsetStore>>,
    connector: String,
}

impl SourceOffsetWriter for FileOffsets {
    fn set(&mut self, partition: &serde_json::Value, offset: serde_json::Value) {
        self.store.lock().set(&self.connector, partition, offset);
    }

    fn flush(&mut self) -> Result<()> {
        self.store.lock().flush()
    }
}
