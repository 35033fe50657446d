//! The `brook` command line as a library, so tests can drive every subcommand in-process:
//! `brook server`, the Kafka-style admin tools (`topics`, `console-producer`, `console-consumer`,
//! `consumer-groups`), the perf tools, `test-runner` (ksqlDB's `ksql-test-runner`) and
//! `sql` (the ksqlDB CLI).
//!
//! ```no_run
//! # async fn f() -> anyhow::Result<()> {
//! use clap::Parser;
//! let cli = brook_cli::Cli::parse_from(["brook", "topics", "--bootstrap-server", "127.0.0.1:9092", "--list"]);
//! let mut out = Vec::new();
//! brook_cli::run(cli, &mut std::io::empty(), &mut out).await?;
//! # Ok(()) }
//! ```

use std::io::{BufRead, Write};

use clap::{Parser, Subcommand};

pub use args::{report, Bootstrap};

mod admin;
mod args;
pub mod connect;
mod consumer;
pub mod datagen;
mod groups;
mod perf;
mod producer;
mod records;
pub mod schema_registry;
pub mod server;
pub mod sql;
pub mod test_runner;
mod topics;
mod views;

/// `brook`: Kafka Streams and ksqlDB in one binary, on its own Kafka-compatible broker.
#[derive(Debug, Parser)]
#[command(name = "brook", version, about)]
pub struct Cli {
    /// The subcommand.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the Kafka-compatible broker.
    Server(server::ServerArgs),
    /// Create, list, describe, alter and delete topics (kafka-topics.sh).
    Topics(topics::TopicsArgs),
    /// Produce lines from stdin (kafka-console-producer.sh).
    ConsoleProducer(producer::ConsoleProducerArgs),
    /// Print records to stdout (kafka-console-consumer.sh).
    ConsoleConsumer(consumer::ConsoleConsumerArgs),
    /// List, describe, reset and delete consumer groups (kafka-consumer-groups.sh).
    ConsumerGroups(groups::GroupsArgs),
    /// Producer throughput and latency (kafka-producer-perf-test.sh).
    ProducerPerfTest(perf::ProducerPerfArgs),
    /// Consumer throughput (kafka-consumer-perf-test.sh).
    ConsumerPerfTest(perf::ConsumerPerfArgs),
    /// The ksqlDB CLI look-alike: an embedded broker and SQL engine, or a server over REST.
    Sql(sql::SqlArgs),
    /// Run SQL statements on input records and compare the output (ksql-test-runner).
    TestRunner(test_runner::TestRunnerArgs),
    /// Generate the quickstart data sets of ksql-datagen (pageviews, users, orders, ...).
    Datagen(datagen::DatagenArgs),
    /// Kafka Connect: `brook connect standalone WORKER.properties CONNECTOR.properties...`.
    Connect(connect::ConnectArgs),
}

impl Cli {
    /// The log filter when `RUST_LOG` is not set: `info` for the server, `warn` for the tools.
    pub fn default_log_filter(&self) -> &'static str {
        match self.command {
            Command::Server(_) | Command::Connect(_) => "info",
            _ => "warn",
        }
    }
}

/// Runs one command; `input` is what `console-producer` reads, `out` gets what Kafka's tools
/// print to stdout.
///
/// # Errors
/// Everything that makes the command fail; the message is meant to be printed on one line.
///
/// # Cancel safety
/// Not cancel safe: dropped, the command stops where it stands (a server without its orderly
/// shutdown, a tool between two requests).
pub async fn run(cli: Cli, input: &mut dyn BufRead, out: &mut dyn Write) -> anyhow::Result<()> {
    match cli.command {
        Command::Server(a) => server::run(a).await,
        Command::Topics(a) => topics::run(a, out).await,
        Command::ConsoleProducer(a) => producer::run(a, input).await,
        Command::ConsoleConsumer(a) => consumer::run(a, out).await,
        Command::ConsumerGroups(a) => groups::run(a, out).await,
        Command::ProducerPerfTest(a) => perf::producer(a, out).await,
        Command::ConsumerPerfTest(a) => perf::consumer(a, out).await,
        Command::Sql(a) => sql::run(a, input, out).await,
        Command::TestRunner(a) => test_runner::run(a, out),
        Command::Datagen(a) => datagen::run(a, out).await,
        Command::Connect(a) => connect::run(a).await,
    }
}
