//! Counts the records of a topic per key and writes each key's running count (a decimal
//! string) to another topic, keyed by the same key.
//!
//! ```text
//! cargo run --release --example count_by_key -- --bootstrap-server localhost:9092 \
//!     --application-id counts --input events --output counts \
//!     --guarantee exactly_once_v2 --state-dir /tmp/counts
//! ```
//!
//! SIGTERM or Ctrl-C closes it cleanly (final commit, checkpoints, group left).

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use brook_processor_api::runtime::Kafka;
use brook_processor_api::{KafkaStreams, State, StreamsConfig, TopologyTaskFactory};
use clap::Parser;

#[derive(Debug, Parser)]
#[command(about = "Counts records per key with Brook's Kafka Streams runtime")]
struct Args {
    /// Kafka bootstrap servers (host:port).
    #[arg(long)]
    bootstrap_server: String,
    /// application.id: consumer group, internal topic prefix, state directory.
    #[arg(long)]
    application_id: String,
    /// Input topic.
    #[arg(long)]
    input: String,
    /// Output topic.
    #[arg(long)]
    output: String,
    /// processing.guarantee: exactly_once_v2 or at_least_once.
    #[arg(long, default_value = "exactly_once_v2")]
    guarantee: String,
    /// state.dir.
    #[arg(long)]
    state_dir: String,
    /// num.stream.threads.
    #[arg(long, default_value_t = 1)]
    threads: usize,
    /// commit.interval.ms (default: Kafka's, 100 under exactly-once).
    #[arg(long)]
    commit_interval_ms: Option<u64>,
    /// group.instance.id (static membership: a restart takes the tasks back at once); each
    /// stream thread uses `<id>-<thread index>`.
    #[arg(long)]
    group_instance_id: Option<String>,
}

fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()))
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let args = Args::parse();
    let mut config = StreamsConfig::new(&args.application_id);
    config.set("bootstrap.servers", &args.bootstrap_server)?;
    config.set("processing.guarantee", &args.guarantee)?;
    config.set("state.dir", &args.state_dir)?;
    config.set("num.stream.threads", &args.threads.to_string())?;
    if let Some(ms) = args.commit_interval_ms {
        config.set("commit.interval.ms", &ms.to_string())?;
    }
    if let Some(id) = &args.group_instance_id {
        config.set("group.instance.id", id)?;
    }
    config.session_timeout = Duration::from_secs(10);
    config.heartbeat_interval = Duration::from_secs(1);
    let topology = brook_examples::count_by_key(&args.input, &args.output);
    let factory = Arc::new(TopologyTaskFactory::new(topology, &config)?);
    let streams = KafkaStreams::new(factory, config, Kafka::new(&args.bootstrap_server))?;
    streams.start().context("starting the streams client")?;

    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let failed = rt.block_on(async {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
        let mut tick = tokio::time::interval(Duration::from_millis(200));
        loop {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => return anyhow::Ok(false),
                _ = term.recv() => return Ok(false),
                _ = tick.tick() => {
                    if matches!(streams.state(), State::Error | State::NotRunning) {
                        return Ok(true);
                    }
                }
            }
        }
    })?;
    tracing::info!("closing");
    let closed = streams.close(Duration::from_secs(30));
    anyhow::ensure!(!failed, "the streams client stopped with state {}", streams.state());
    anyhow::ensure!(closed, "the stream threads did not stop within 30 s");
    Ok(())
}
