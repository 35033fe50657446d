//! The Kafka Connect worker `brook server` runs in-process: a distributed worker (Kafka's
//! `connect-distributed.sh`) of the group `group.id` (default `connect-cluster`) whose producers
//! and consumers are the embedded broker's in-process clients and whose group membership goes
//! through the server's own Kafka listener, so the group coordinator sees a Connect-protocol
//! member and a `brook connect distributed` pointed at that listener with the same `group.id`
//! joins the same group. Its REST API listens on `--connect-listen`.
//!
//! Upgrading from the standalone worker `brook server` ran before: the connectors of
//! `<data dir>/connect/connectors.json` (and their source offsets of
//! `<data dir>/connect/connect.offsets`) are written to the config (and offset) topic once,
//! then both files are renamed `*.migrated`.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use brook_broker::server::ServerConfig;
use brook_broker::Broker;
use brook_connect::herder::{
    ConfigInfos, ConnectorInfo, ConnectorOffset, ConnectorOffsets, ConnectorStateInfo, ConnectorType, Created, HerderFuture, Message, PluginInfo,
    RestartRequest, ServerInfo, TargetState, TaskInfo, TaskState,
};
use brook_connect::offsets::{FileOffsetStore, OffsetStore};
use brook_connect::standalone::{read_properties, read_stored_connectors};
use brook_connect::{Clients, Config, DistributedConfig, DistributedHerder, Herder};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// The default address of the worker's REST API (`--connect-listen`).
const CONNECT_LISTEN: &str = "127.0.0.1:8083";

/// How long the SQL statements' writes wait out a rebalance of the worker's group.
const REBALANCE_WAIT: Duration = Duration::from_secs(60);

/// Worker keys that `brook server` sets itself: the cluster is the embedded broker (its
/// listener for the group membership) and the REST address is `--connect-listen`.
const SET_BY_THE_SERVER: &[&str] = &["bootstrap.servers", "listeners", "rest.host.name", "rest.port"];

/// The standalone worker's files `brook server` kept before its worker was distributed.
const OLD_CONNECTORS: &str = "connectors.json";
const OLD_OFFSETS: &str = "connect.offsets";

/// `brook server`'s running Connect worker.
pub(crate) struct InProcess {
    /// What the SQL statements call: the worker's herder, whose writes wait out a rebalance.
    pub(crate) herder: Arc<dyn Herder>,
    worker: Arc<DistributedHerder>,
    rest: Option<(watch::Sender<bool>, JoinHandle<std::io::Result<()>>)>,
    upgrade: JoinHandle<()>,
}

impl InProcess {
    /// Stops the REST API and the worker: its tasks stop (source offsets flushed, sink offsets
    /// committed) and it leaves its group. Call it while the broker still serves.
    pub(crate) async fn stop(self) -> anyhow::Result<()> {
        self.upgrade.abort();
        if let Some((stop, rest)) = self.rest {
            let _ = stop.send(true);
            rest.await.context("the Connect REST API stopped")?.context("the Connect REST API")?;
        }
        let worker = self.worker;
        tokio::task::spawn_blocking(move || worker.stop()).await.context("stopping the Connect worker")?;
        Ok(())
    }
}

/// The address the worker reaches the server's Kafka listener at (a wildcard listener: the
/// loopback address of its family).
fn own_listener(listen: SocketAddr) -> SocketAddr {
    match listen {
        SocketAddr::V4(a) if a.ip().is_unspecified() => SocketAddr::from(([127, 0, 0, 1], a.port())),
        SocketAddr::V6(a) if a.ip().is_unspecified() => SocketAddr::from((std::net::Ipv6Addr::LOCALHOST, a.port())),
        a => a,
    }
}

/// The worker's keys: `--connect-config`'s, then the `connect.*` keys of `--config` /
/// `--override` (`keys`), without those the server sets itself.
fn worker_keys(file: Option<&Path>, keys: &Config) -> anyhow::Result<Config> {
    let mut props = match file {
        Some(path) => read_properties(path).with_context(|| format!("--connect-config {}", path.display()))?,
        None => Config::new(),
    };
    props.extend(keys.iter().map(|(k, v)| (k.clone(), v.clone())));
    for k in SET_BY_THE_SERVER {
        if let Some(v) = props.remove(*k) {
            tracing::warn!(key = k, value = %v, "ignored: brook server's Connect worker uses its embedded broker and --connect-listen");
        }
    }
    Ok(props)
}

/// Starts `brook server`'s Connect worker: binds its REST API on `connect_listen`
/// (`--connect-listen`, default 127.0.0.1:8083; a taken default address runs the worker
/// without it), reads the worker keys of `connect_config` (`--connect-config`) then `keys`,
/// creates the storage topics and joins the group through the server's Kafka listener (bound
/// at `kafka`). `None` when that listener requires SASL: the worker's group membership over it
/// does not authenticate yet.
pub(crate) async fn start_in_process(
    connect_listen: Option<&str>,
    connect_config: Option<&Path>,
    broker: Broker,
    server: &ServerConfig,
    kafka: SocketAddr,
    data_dir: &Path,
    keys: &Config,
) -> anyhow::Result<Option<InProcess>> {
    if !server.sasl_users.is_empty() {
        tracing::warn!("running without the in-process Kafka Connect worker: the Kafka listener requires SASL (sasl.plain.users), and the worker's group membership over it does not authenticate yet");
        return Ok(None);
    }
    let explicit = connect_listen.is_some();
    let listen = connect_listen.unwrap_or(CONNECT_LISTEN);
    let addr = tokio::net::lookup_host(listen)
        .await
        .ok()
        .and_then(|mut a| a.next())
        .with_context(|| format!("--connect-listen: invalid address {listen:?} (expected HOST:PORT)"))?;
    let listener = match tokio::net::TcpListener::bind(addr).await {
        Ok(l) => Some(l),
        Err(e) if !explicit && e.kind() == std::io::ErrorKind::AddrInUse => {
            tracing::warn!(%addr, "the Connect REST API's default address is taken: running the worker without it (pass --connect-listen HOST:PORT)");
            None
        }
        Err(e) => {
            return Err(e).with_context(|| format!("cannot listen on {addr} for the Connect REST API (pick another address with --connect-listen HOST:PORT, or --no-connect)"))
        }
    };
    let rest_addr = match &listener {
        Some(l) => l.local_addr()?,
        None => addr,
    };
    let props = worker_keys(connect_config, keys)?;
    let bootstrap = own_listener(kafka).to_string();
    let cfg = DistributedConfig::with_defaults(&bootstrap, &rest_addr.to_string(), &props).context("the Connect worker's configuration")?;
    let group = cfg.group_id.clone();
    let clients = Clients::embedded(broker);
    let worker = tokio::task::spawn_blocking(move || DistributedHerder::start(clients, cfg, brook_connect::Plugins::default()))
        .await
        .context("starting the Connect worker")?
        .context("cannot start the Connect worker")?;
    let herder: Arc<dyn Herder> = Arc::new(Patient(worker.clone()));
    let rest = listener.map(|l| {
        let (stop, mut stopped) = watch::channel(false);
        let serving = tokio::spawn(brook_connect::rest::serve(l, worker.clone(), async move {
            let _ = stopped.wait_for(|s| *s).await;
        }));
        (stop, serving)
    });
    tracing::info!(%group, rest = ?rest.is_some().then_some(rest_addr), "Kafka Connect distributed worker started in-process");
    let connect_dir = data_dir.join("connect");
    let offsets_file = props.get("offset.storage.file.filename").map_or_else(|| connect_dir.join(OLD_OFFSETS), PathBuf::from);
    let upgrade = tokio::spawn(upgrade(herder.clone(), worker.clone(), connect_dir.join(OLD_CONNECTORS), offsets_file));
    Ok(Some(InProcess { herder, worker, rest, upgrade }))
}

/// Renames `path` to `<path>.migrated`, if it exists.
fn retire(path: &Path) {
    let mut to = path.as_os_str().to_owned();
    to.push(".migrated");
    match std::fs::rename(path, &to) {
        Ok(()) => tracing::info!(from = %path.display(), to = %Path::new(&to).display(), "renamed after moving it to the Connect topics"),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => tracing::warn!(file = %path.display(), error = %e, "cannot rename"),
    }
}

/// Moves the connectors the standalone worker of an older `brook server` kept in `connectors`
/// into the config topic once the worker is in its group: each one not there yet is created
/// stopped, its source offsets of `offsets_file` are written to the offset topic, then it is
/// put in its stored state (running, paused, stopped). A sink's offsets are its consumer
/// group's, in the broker already. Once every connector is moved (or is refused as invalid)
/// both files are renamed `*.migrated`; otherwise they stay, to be tried again at the next
/// start.
async fn upgrade(herder: Arc<dyn Herder>, worker: Arc<DistributedHerder>, connectors: PathBuf, offsets_file: PathBuf) {
    let stored = match read_stored_connectors(&connectors) {
        Ok(stored) if stored.is_empty() => return retire(&connectors),
        Ok(stored) => stored,
        Err(e) => return tracing::error!(file = %connectors.display(), error = %e, "the connectors of the older brook server's worker were not moved"),
    };
    if tokio::time::timeout(REBALANCE_WAIT, worker.ready()).await.is_err() {
        tracing::warn!(file = %connectors.display(), wait = ?REBALANCE_WAIT, "the Connect worker is not in its group yet: its connectors move to the config topic once it is");
        worker.ready().await;
    }
    let offsets = match FileOffsetStore::open(&offsets_file) {
        Ok(o) => Some(o),
        Err(e) => {
            tracing::warn!(file = %offsets_file.display(), error = %e, "the older worker's source offsets are unreadable: its source connectors start without them");
            None
        }
    };
    let existing = herder.connectors().await.unwrap_or_default();
    let mut complete = true;
    for c in stored {
        if existing.contains(&c.name) {
            tracing::info!(connector = %c.name, "already in the config topic");
            continue;
        }
        let source_offsets = offsets.as_ref().map(|o| o.connector_offsets(&c.name)).unwrap_or_default();
        match move_connector(herder.as_ref(), &c.name, c.config, c.target, source_offsets).await {
            Ok(()) => tracing::info!(connector = %c.name, target = ?c.target, "moved from connectors.json to the config topic"),
            Err(e @ (brook_connect::Error::BadRequest(_) | brook_connect::Error::Config(_))) => {
                tracing::error!(connector = %c.name, error = %e, "a connector of connectors.json is invalid now: not moved (it stays in connectors.json.migrated)");
            }
            Err(e) => {
                tracing::error!(connector = %c.name, error = %e, "moving a connector of connectors.json failed: tried again at the next start");
                complete = false;
            }
        }
    }
    if complete {
        retire(&offsets_file);
        retire(&connectors);
    }
}

/// Creates one connector of the old file: stopped, then its source offsets, then its state.
async fn move_connector(h: &dyn Herder, name: &str, config: Config, target: TargetState, offsets: Vec<(serde_json::Value, serde_json::Value)>) -> brook_connect::Result<()> {
    let info = h.create_connector(name, config, TargetState::Stopped).await?;
    let offsets: Vec<ConnectorOffset> = offsets
        .into_iter()
        .filter_map(|(p, o)| Some(ConnectorOffset { partition: serde_json::from_value(p).ok()?, offset: serde_json::from_value(o).ok() }))
        .collect();
    if info.kind != ConnectorType::Sink && !offsets.is_empty() {
        h.alter_connector_offsets(name, ConnectorOffsets { offsets }).await?;
    }
    match target {
        TargetState::Started => h.resume_connector(name).await,
        TargetState::Paused => h.pause_connector(name).await,
        TargetState::Stopped => Ok(()),
    }
}

/// The in-process worker's herder as the SQL statements (and the upgrade) use it: a write
/// refused with 409 because the group is rebalancing (after each create or delete, or when a
/// worker joins or leaves) is tried again for up to [`REBALANCE_WAIT`], as a REST client
/// would; reads go straight through.
#[derive(Debug)]
struct Patient(Arc<DistributedHerder>);

impl Patient {
    /// Runs `call` until it is not refused with 409 or [`REBALANCE_WAIT`] has passed. While the
    /// worker is out of its group (a rebalance) the next try waits for it to be back
    /// ([`DistributedHerder::ready`]); a conflict with the worker in its group (a config write
    /// not read back yet) is tried again after a short pause.
    fn patiently<'a, T: Send + 'a>(&'a self, call: impl Fn() -> HerderFuture<'a, T> + Send + 'a) -> HerderFuture<'a, T> {
        Box::pin(async move {
            let deadline = Instant::now() + REBALANCE_WAIT;
            loop {
                match call().await {
                    Err(brook_connect::Error::Conflict(e)) if Instant::now() < deadline => {
                        tracing::debug!(error = %e, "the Connect group is rebalancing: trying again");
                        if self.0.is_ready() {
                            tokio::time::sleep(Duration::from_millis(100)).await;
                        } else {
                            let _ = tokio::time::timeout(deadline.saturating_duration_since(Instant::now()), self.0.ready()).await;
                        }
                    }
                    r => return r,
                }
            }
        })
    }
}

impl Herder for Patient {
    fn server_info(&self) -> ServerInfo {
        self.0.server_info()
    }

    fn connectors(&self) -> HerderFuture<'_, Vec<String>> {
        self.0.connectors()
    }

    fn connector_info<'a>(&'a self, name: &'a str) -> HerderFuture<'a, ConnectorInfo> {
        self.0.connector_info(name)
    }

    fn put_connector_config<'a>(&'a self, name: &'a str, config: Config, allow_replace: bool) -> HerderFuture<'a, Created<ConnectorInfo>> {
        self.patiently(move || self.0.put_connector_config(name, config.clone(), allow_replace))
    }

    fn delete_connector<'a>(&'a self, name: &'a str) -> HerderFuture<'a, ()> {
        self.patiently(move || self.0.delete_connector(name))
    }

    fn connector_status<'a>(&'a self, name: &'a str) -> HerderFuture<'a, ConnectorStateInfo> {
        self.0.connector_status(name)
    }

    fn task_status<'a>(&'a self, name: &'a str, task: u32) -> HerderFuture<'a, TaskState> {
        self.0.task_status(name, task)
    }

    fn task_configs<'a>(&'a self, name: &'a str) -> HerderFuture<'a, Vec<TaskInfo>> {
        self.0.task_configs(name)
    }

    fn restart_connector<'a>(&'a self, name: &'a str, request: RestartRequest) -> HerderFuture<'a, Option<ConnectorStateInfo>> {
        self.0.restart_connector(name, request)
    }

    fn restart_task<'a>(&'a self, name: &'a str, task: u32) -> HerderFuture<'a, ()> {
        self.0.restart_task(name, task)
    }

    fn pause_connector<'a>(&'a self, name: &'a str) -> HerderFuture<'a, ()> {
        self.patiently(move || self.0.pause_connector(name))
    }

    fn resume_connector<'a>(&'a self, name: &'a str) -> HerderFuture<'a, ()> {
        self.patiently(move || self.0.resume_connector(name))
    }

    fn stop_connector<'a>(&'a self, name: &'a str) -> HerderFuture<'a, ()> {
        self.patiently(move || self.0.stop_connector(name))
    }

    fn connector_offsets<'a>(&'a self, name: &'a str) -> HerderFuture<'a, ConnectorOffsets> {
        self.0.connector_offsets(name)
    }

    fn alter_connector_offsets<'a>(&'a self, name: &'a str, offsets: ConnectorOffsets) -> HerderFuture<'a, Message> {
        self.patiently(move || self.0.alter_connector_offsets(name, offsets.clone()))
    }

    fn reset_connector_offsets<'a>(&'a self, name: &'a str) -> HerderFuture<'a, Message> {
        self.patiently(move || self.0.reset_connector_offsets(name))
    }

    fn connector_topics<'a>(&'a self, name: &'a str) -> HerderFuture<'a, Vec<String>> {
        self.0.connector_topics(name)
    }

    fn reset_connector_topics<'a>(&'a self, name: &'a str) -> HerderFuture<'a, ()> {
        self.0.reset_connector_topics(name)
    }

    fn connector_plugins(&self) -> Vec<PluginInfo> {
        self.0.connector_plugins()
    }

    fn validate_connector_config<'a>(&'a self, plugin: &'a str, config: Config) -> HerderFuture<'a, ConfigInfos> {
        self.0.validate_connector_config(plugin, config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wildcard_listener_is_reached_on_loopback() {
        assert_eq!(own_listener("0.0.0.0:9092".parse().unwrap()).to_string(), "127.0.0.1:9092");
        assert_eq!(own_listener("[::]:9092".parse().unwrap()).to_string(), "[::1]:9092");
        assert_eq!(own_listener("10.1.2.3:9092".parse().unwrap()).to_string(), "10.1.2.3:9092");
    }

    #[test]
    fn worker_keys_are_the_files_then_the_servers_without_those_the_server_sets() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("connect-distributed.properties");
        std::fs::write(&file, "group.id=from-file\noffset.flush.interval.ms=500\nbootstrap.servers=kafka:9092\nlisteners=HTTP://:8083\n").unwrap();
        let keys: Config = [("group.id", "from-server"), ("rest.port", "9999")].iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        let props = worker_keys(Some(&file), &keys).unwrap();
        let want: Config = [("group.id", "from-server"), ("offset.flush.interval.ms", "500")].iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        assert_eq!(props, want);
        let err = crate::report(&worker_keys(Some(&dir.path().join("missing")), &keys).unwrap_err());
        assert!(err.starts_with("--connect-config ") && err.contains("missing"), "{err}");
    }
}
