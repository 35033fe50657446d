//! An in-process `brook server` on 127.0.0.1:0 with a temporary data directory.

use std::path::PathBuf;
use std::time::Duration;

use brook_broker::server::{serve, ServerConfig};
use brook_broker::{Broker, BrokerConfig};

pub(crate) struct TestServer {
    pub(crate) addr: String,
    pub(crate) broker: Broker,
    dir: Option<tempfile::TempDir>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl TestServer {
    pub(crate) async fn start() -> TestServer {
        Self::start_in(tempfile::tempdir().unwrap()).await
    }

    pub(crate) async fn start_in(dir: tempfile::TempDir) -> TestServer {
        let mut config = BrokerConfig::new(dir.path());
        config.set("group.initial.rebalance.delay.ms", "0").unwrap();
        config.set("offsets.topic.num.partitions", "5").unwrap();
        config.set("transaction.state.log.num.partitions", "5").unwrap();
        let broker = Broker::open(config).await.unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let b = broker.clone();
        let task = tokio::spawn(async move {
            serve(b, listener, ServerConfig::default(), rx).await.unwrap();
        });
        TestServer { addr, broker, dir: Some(dir), stop: Some(tx), task: Some(task) }
    }

    #[allow(dead_code)]
    pub(crate) fn data_dir(&self) -> PathBuf {
        self.dir.as_ref().unwrap().path().to_owned()
    }

    /// Stops the server gracefully and hands back its data directory.
    pub(crate) async fn stop(mut self) -> tempfile::TempDir {
        let _ = self.stop.take().unwrap().send(());
        tokio::time::timeout(Duration::from_secs(40), self.task.take().unwrap())
            .await
            .expect("server did not stop")
            .unwrap();
        self.dir.take().unwrap()
    }
}

/// Whether a program is on the PATH.
pub(crate) fn have(program: &str) -> bool {
    std::process::Command::new(program)
        .arg("-V")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok()
}

/// Runs one `brook` command in-process; stdout as a string.
#[allow(dead_code)]
pub(crate) async fn brook(args: &[&str], input: &str) -> anyhow::Result<String> {
    use clap::Parser;
    let cli = brook_cli::Cli::try_parse_from(std::iter::once("brook").chain(args.iter().copied()))?;
    let mut out = Vec::new();
    let mut input = input.as_bytes();
    brook_cli::run(cli, &mut input, &mut out).await?;
    Ok(String::from_utf8(out).unwrap())
}
