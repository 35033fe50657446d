//! `brook connect standalone`: Kafka's `connect-standalone.sh WORKER.properties
//! CONNECTOR.properties...` against the Kafka-protocol cluster at `bootstrap.servers` (a
//! `brook server`, Kafka, Redpanda), or with `--embedded` over an embedded broker in this
//! process (data in `--data-dir`), which then serves the Kafka protocol at the first
//! `bootstrap.servers` address so the other tools (`brook console-consumer`, kcat, Kafka's
//! clients) reach the connectors' topics.
//! The standalone worker's REST API listens at `listeners` (default `http://:8083`, as Kafka).
//! `brook connect distributed`: Kafka's `connect-distributed.sh WORKER.properties`, a worker of
//! the group `group.id` on the cluster at `bootstrap.servers`. `brook server`'s in-process
//! distributed worker is in `in_process.rs`.

use std::path::PathBuf;

use anyhow::Context;
use brook_broker::server::{serve, ServerConfig};
use brook_broker::{Broker, BrokerConfig};
use brook_connect::standalone::{read_properties, StandaloneWorker, WorkerConfig};
use brook_connect::{Clients, DistributedConfig, DistributedHerder};
use clap::{Args, Subcommand};

mod in_process;

pub(crate) use in_process::start_in_process;

/// Flags of `brook connect`.
#[derive(Debug, Args)]
pub struct ConnectArgs {
    /// The mode.
    #[command(subcommand)]
    pub mode: ConnectMode,
}

/// Kafka Connect's modes.
#[derive(Debug, Subcommand)]
pub enum ConnectMode {
    /// One worker process, offsets in a file (connect-standalone.sh).
    Standalone(StandaloneArgs),
    /// A worker of a group sharing connectors through the cluster (connect-distributed.sh).
    Distributed(DistributedArgs),
}

/// Flags of `brook connect distributed`.
#[derive(Debug, Args)]
pub struct DistributedArgs {
    /// The worker's `connect-distributed.properties` (`bootstrap.servers`, `group.id`, the
    /// three storage topics, converters, `listeners`).
    pub worker: PathBuf,
}

/// Flags of `brook connect standalone`.
#[derive(Debug, Args)]
pub struct StandaloneArgs {
    /// The worker's `connect-standalone.properties`.
    pub worker: PathBuf,
    /// One `.properties` file per connector (`name`, `connector.class`, `tasks.max`, ...).
    #[arg(required = true)]
    pub connectors: Vec<PathBuf>,
    /// Run an embedded broker in this process, listening at the first `bootstrap.servers`
    /// address, instead of connecting to the cluster there.
    #[arg(long)]
    pub embedded: bool,
    /// The embedded broker's data directory (with --embedded). Default: ./data.
    #[arg(long = "data-dir", value_name = "DIR", default_value = "./data")]
    pub data_dir: PathBuf,
}

pub(crate) async fn run(args: ConnectArgs) -> anyhow::Result<()> {
    match args.mode {
        ConnectMode::Standalone(a) if a.embedded => standalone_embedded(a).await,
        ConnectMode::Standalone(a) => standalone(a).await,
        ConnectMode::Distributed(a) => distributed(a).await,
    }
}

/// The client properties of a worker file passed on to every client (librdkafka takes the
/// same names for these).
fn client_props(props: &brook_connect::Config) -> brook_connect::Config {
    props
        .iter()
        .filter(|(k, _)| k.starts_with("security.") || k.starts_with("sasl.") || k.starts_with("ssl."))
        .filter(|(k, _)| k.as_str() != "sasl.jaas.config")
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// The standalone worker against the cluster at `bootstrap.servers`.
async fn standalone(a: StandaloneArgs) -> anyhow::Result<()> {
    let shutdown = crate::server::shutdown_signal();
    let wc = WorkerConfig::from_props(read_properties(&a.worker)?).with_context(|| a.worker.display().to_string())?;
    let connectors = a.connectors.iter().map(|p| read_properties(p)).collect::<Result<Vec<_>, _>>()?;
    let bootstrap = wc.bootstrap_servers.clone().unwrap_or_else(|| "localhost:9092".into());
    let clients = Clients::kafka(&bootstrap, &client_props(&wc.props));
    let rest_listen = wc.rest_listen.clone();
    let rest_listener = tokio::net::TcpListener::bind(&rest_listen)
        .await
        .with_context(|| format!("cannot listen on {rest_listen} for the REST API (listeners / rest.port)"))?;
    let worker_id = wc.worker_id.clone();
    let worker = StandaloneWorker::with_clients(clients, wc, brook_connect::Plugins::default(), &worker_id)?;
    let (stop, stopped) = tokio::sync::watch::channel(false);
    tracing::info!(%bootstrap, rest = %rest_listen, "Kafka Connect standalone worker started");
    run_standalone(worker, connectors, rest_listener, &stop, stopped, shutdown).await
}

/// Serves `worker`'s REST API on `rest_listener` and runs `connectors` until `shutdown` (Ctrl-C,
/// SIGTERM) or the worker ends; then sends `stop` and waits for both.
async fn run_standalone(
    worker: StandaloneWorker,
    connectors: Vec<brook_connect::Config>,
    rest_listener: tokio::net::TcpListener,
    stop: &tokio::sync::watch::Sender<bool>,
    stopped: tokio::sync::watch::Receiver<bool>,
    shutdown: impl std::future::Future<Output = ()>,
) -> anyhow::Result<()> {
    let herder: std::sync::Arc<dyn brook_connect::Herder> = worker.herder();
    let mut rest_stop = stopped.clone();
    let rest = tokio::spawn(brook_connect::rest::serve(rest_listener, herder, async move {
        let _ = rest_stop.wait_for(|s| *s).await;
    }));
    let mut work = tokio::spawn(worker.run(connectors, stopped));
    let result = tokio::select! {
        () = shutdown => {
            let _ = stop.send(true);
            (&mut work).await.context("the worker stopped")?
        }
        r = &mut work => {
            let _ = stop.send(true);
            r.context("the worker stopped")?
        }
    };
    rest.await.context("the REST API stopped")?.context("the REST API")?;
    Ok(result?)
}

/// The standalone worker over an embedded broker serving `bootstrap.servers`.
async fn standalone_embedded(a: StandaloneArgs) -> anyhow::Result<()> {
    let shutdown = crate::server::shutdown_signal();
    let wc = WorkerConfig::from_props(read_properties(&a.worker)?).with_context(|| a.worker.display().to_string())?;
    let connectors = a.connectors.iter().map(|p| read_properties(p)).collect::<Result<Vec<_>, _>>()?;
    let listen = wc.bootstrap_servers.as_deref().unwrap_or("localhost:9092").split(',').next().unwrap_or("").trim().to_owned();
    let addr = tokio::net::lookup_host(&listen)
        .await
        .ok()
        .and_then(|mut a| a.next())
        .with_context(|| format!("bootstrap.servers: invalid address {listen:?} (expected HOST:PORT)"))?;
    crate::server::check_data_dir(&a.data_dir)?;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr} (bootstrap.servers): with --embedded the worker serves its own broker there; without it, it connects to the cluster there"))?;
    let mut bc = BrokerConfig::default();
    bc.log_dir = a.data_dir.clone();
    let broker = Broker::open(bc).await.with_context(|| format!("cannot open the broker's data directory {}", a.data_dir.display()))?;
    let mut sc = ServerConfig::default();
    sc.listen = addr;
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let mut server_stop = stopped.clone();
    let server = tokio::spawn(serve(broker.clone(), listener, sc, async move {
        let _ = server_stop.wait_for(|s| *s).await;
    }));
    let rest_listen = wc.rest_listen.clone();
    let rest_listener = tokio::net::TcpListener::bind(&rest_listen)
        .await
        .with_context(|| format!("cannot listen on {rest_listen} for the REST API (listeners / rest.port)"))?;
    let worker = StandaloneWorker::new(broker.clone(), wc, brook_connect::Plugins::default())?;
    tracing::info!(%addr, rest = %rest_listen, "Kafka Connect standalone worker started");
    let result = run_standalone(worker, connectors, rest_listener, &stop, stopped, shutdown).await;
    server.await.context("the broker listener stopped")??;
    broker.shutdown().await;
    result
}

/// A distributed worker against the cluster at `bootstrap.servers`, until Ctrl-C or SIGTERM
/// (then its tasks stop, offsets flushed and committed, and it leaves the group).
async fn distributed(a: DistributedArgs) -> anyhow::Result<()> {
    let shutdown = crate::server::shutdown_signal();
    let cfg = DistributedConfig::from_props(read_properties(&a.worker)?).with_context(|| a.worker.display().to_string())?;
    let clients = Clients::kafka(&cfg.bootstrap_servers, &client_props(&cfg.props));
    let (group, worker_id) = (cfg.group_id.clone(), cfg.rest_addr.clone());
    let rest_listener = tokio::net::TcpListener::bind(&worker_id)
        .await
        .with_context(|| format!("cannot listen on {worker_id} for the REST API (listeners / rest.port)"))?;
    let herder = tokio::task::spawn_blocking(move || DistributedHerder::start(clients, cfg, brook_connect::Plugins::default())).await??;
    let (stop, mut rest_stop) = tokio::sync::watch::channel(false);
    let rest = tokio::spawn(brook_connect::rest::serve(rest_listener, herder.clone(), async move {
        let _ = rest_stop.wait_for(|s| *s).await;
    }));
    tracing::info!(%group, %worker_id, "Kafka Connect distributed worker started");
    shutdown.await;
    let _ = stop.send(true);
    rest.await.context("the REST API stopped")?.context("the REST API")?;
    tokio::task::spawn_blocking(move || herder.stop()).await?;
    Ok(())
}
