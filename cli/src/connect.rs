//! `brook connect standalone`: Kafka's `connect-standalone.sh WORKER.properties
//! CONNECTOR.properties...` over an embedded broker in this process (data in `--data-dir`),
//! which also serves the Kafka protocol at the first `bootstrap.servers` address so the other
//! tools (`brook console-consumer`, kcat, Kafka's clients) reach the connectors' topics.
//! Connecting to an external cluster is not supported yet (docs/connect.md).

use std::path::PathBuf;

use anyhow::Context;
use brook_broker::server::{serve, ServerConfig};
use brook_broker::{Broker, BrokerConfig};
use brook_connect::standalone::{read_properties, StandaloneWorker, WorkerConfig};
use clap::{Args, Subcommand};

/// Flags of `brook connect`.
#[derive(Debug, Args)]
pub struct ConnectArgs {
    /// The mode.
    #[command(subcommand)]
    pub mode: ConnectMode,
}

/// Kafka Connect's modes (only standalone so far).
#[derive(Debug, Subcommand)]
pub enum ConnectMode {
    /// One worker process, offsets in a file (connect-standalone.sh).
    Standalone(StandaloneArgs),
}

/// Flags of `brook connect standalone`.
#[derive(Debug, Args)]
pub struct StandaloneArgs {
    /// The worker's `connect-standalone.properties`.
    pub worker: PathBuf,
    /// One `.properties` file per connector (`name`, `connector.class`, `tasks.max`, ...).
    #[arg(required = true)]
    pub connectors: Vec<PathBuf>,
    /// The embedded broker's data directory. Default: ./data.
    #[arg(long = "data-dir", value_name = "DIR", default_value = "./data")]
    pub data_dir: PathBuf,
}

pub(crate) async fn run(args: ConnectArgs) -> anyhow::Result<()> {
    let ConnectMode::Standalone(a) = args.mode;
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
        .with_context(|| format!("cannot listen on {addr} (bootstrap.servers): connecting to an external cluster is not supported yet; pick a free address"))?;
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
    let worker = StandaloneWorker::new(broker.clone(), wc, brook_connect::Plugins::default())?;
    let mut work = tokio::spawn(worker.run(connectors, stopped));
    tracing::info!(%addr, "Kafka Connect standalone worker started");
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
    server.await.context("the broker listener stopped")??;
    broker.shutdown().await;
    Ok(result?)
}
