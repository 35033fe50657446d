//! Throughput of the stream runtime over the embedded broker: a stateless pass-through and a
//! stateful count per key, under at_least_once and exactly_once_v2.
//!
//! ```text
//! cargo run --release -p brook-examples --example bench_streams -- --records 1000000
//! ```
//!
//! `--pool N` runs the stream threads as units of a `StreamThreadPool` of `N` workers
//! (`KafkaStreams::with_pool`, as the SQL engine runs its persistent queries) instead of OS
//! threads of their own, to measure what the pool costs.
//!
//! The input (`--records` records over `--keys` keys, `--value-bytes` each, 4 partitions) is
//! produced before the clock starts; a run ends when the group's committed offsets reach the
//! end of the input (both guarantees commit every 100 ms). CPU time is the process's user + system time over the run (stream
//! threads and the in-process broker), from `/proc/self/stat`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use brook_broker::client::{Admin, Producer, ProducerConfig, ProducerRecord};
use brook_broker::{Broker, BrokerConfig};
use brook_processor_api::runtime::{SharedRuntime, StreamThreadPool};
use brook_processor_api::{Embedded, KafkaStreams, StreamsConfig, TopologyTaskFactory};
use clap::Parser;

#[derive(Debug, Parser)]
struct Args {
    /// Input records per run.
    #[arg(long, default_value_t = 1_000_000)]
    records: usize,
    /// Distinct keys.
    #[arg(long, default_value_t = 10_000)]
    keys: usize,
    /// Value size in bytes.
    #[arg(long, default_value_t = 100)]
    value_bytes: usize,
    /// Input partitions.
    #[arg(long, default_value_t = 4)]
    partitions: i32,
    /// Stream threads.
    #[arg(long, default_value_t = 1)]
    threads: usize,
    /// buffered.records.per.partition.
    #[arg(long, default_value_t = 1000)]
    buffered_records: usize,
    /// Run only this topology (`pass-through` or `count`).
    #[arg(long)]
    only: Option<String>,
    /// Run only this guarantee (`at_least_once` or `exactly_once_v2`).
    #[arg(long)]
    guarantee: Option<String>,
    /// Run the stream threads on a `StreamThreadPool` of this many workers (0: OS threads).
    #[arg(long, default_value_t = 0)]
    pool: usize,
    /// Without `--pool`: OS stream threads whose clients run on one `SharedRuntime`
    /// (`KafkaStreams::with_runtime`) instead of runtimes of their own.
    #[arg(long)]
    shared_runtime: bool,
}

/// User + system CPU seconds of this process.
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name (which is in parentheses): utime is the 14th field, stime
    // the 15th, both in clock ticks (100 per second on Linux).
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|s| s.parse::<f64>().ok()).unwrap_or(0.0);
    (ticks(11) + ticks(12)) / 100.0
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    let dir = tempfile::tempdir()?;
    let mut bc = BrokerConfig::new(dir.path().join("broker"));
    bc.set("group.initial.rebalance.delay.ms", "0")?;
    let broker = rt.block_on(Broker::open(bc))?;
    broker.create_topic("input", args.partitions, Default::default())?;
    broker.create_topic("output", args.partitions, Default::default())?;
    let value = "x".repeat(args.value_bytes);
    rt.block_on(async {
        let p = Producer::new(broker.clone(), ProducerConfig::default())?;
        let mut last = None;
        for i in 0..args.records {
            last =
                Some(p.send(ProducerRecord::new("input", Some(format!("key-{}", i % args.keys)), Some(value.clone()))));
        }
        p.flush();
        if let Some(f) = last {
            f.await?;
        }
        anyhow::Ok(())
    })?;
    let pool = match args.pool {
        0 => None,
        n => Some(StreamThreadPool::new(n, SharedRuntime::new()?)?),
    };
    let shared = if args.shared_runtime { Some(SharedRuntime::new()?) } else { None };
    println!(
        "{} records, {} keys, {}-byte values, {} partitions, {} stream thread(s), {}",
        args.records,
        args.keys,
        args.value_bytes,
        args.partitions,
        args.threads,
        match (args.pool, args.shared_runtime) {
            (0, false) => "each an OS thread".to_owned(),
            (0, true) => "each an OS thread, clients on a shared runtime".to_owned(),
            (n, _) => format!("on a pool of {n} worker(s)"),
        }
    );
    println!("{:<14} {:<16} {:>12} {:>10} {:>18}", "topology", "guarantee", "records/s", "seconds", "cpu-s/M records");
    for (name, stateful) in [("pass-through", false), ("count", true)] {
        if args.only.as_deref().is_some_and(|only| only != name) {
            continue;
        }
        for guarantee in ["at_least_once", "exactly_once_v2"] {
            if args.guarantee.as_deref().is_some_and(|only| only != guarantee) {
                continue;
            }
            let app = format!("bench-{name}-{guarantee}");
            let mut config = StreamsConfig::new(&app);
            config.set("processing.guarantee", guarantee)?;
            // Both guarantees commit every 100 ms (exactly-once's default), so a run ends
            // within 100 ms of its last record.
            config.set("commit.interval.ms", "100")?;
            config.state_dir = dir.path().join("state");
            config.num_stream_threads = args.threads;
            config.buffered_records_per_partition = args.buffered_records;
            let topology = if stateful {
                brook_examples::count_by_key("input", "output")
            } else {
                brook_examples::pass_through("input", "output")
            };
            let factory = Arc::new(TopologyTaskFactory::new(topology, &config)?);
            let client = Embedded::new(broker.clone());
            let streams = match (&pool, &shared) {
                (Some(p), _) => KafkaStreams::with_pool(factory, config, client, p.clone())?,
                (None, Some(rt)) => KafkaStreams::with_runtime(factory, config, client, rt.clone())?,
                (None, None) => KafkaStreams::new(factory, config, client)?,
            };
            let admin = Admin::new(broker.clone());
            let cpu0 = cpu_seconds();
            let t0 = Instant::now();
            streams.start()?;
            loop {
                let done: i64 = admin.list_group_offsets(&app)?.values().sum();
                if done >= args.records as i64 {
                    break;
                }
                anyhow::ensure!(t0.elapsed() < Duration::from_secs(600), "run {app} did not finish");
                std::thread::sleep(Duration::from_millis(5));
            }
            let secs = t0.elapsed().as_secs_f64();
            let cpu = cpu_seconds() - cpu0;
            streams.close(Duration::from_secs(60));
            println!(
                "{:<14} {:<16} {:>12.0} {:>10.2} {:>18.2}",
                name,
                guarantee,
                args.records as f64 / secs,
                secs,
                cpu / (args.records as f64 / 1e6)
            );
        }
    }
    rt.block_on(broker.shutdown());
    Ok(())
}
