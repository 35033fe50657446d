//! Nexmark-style queries written with the Streams DSL, over an in-process event generator,
//! run either through the TopologyTestDriver (default) or with `KafkaStreams` over the
//! embedded broker (`--runtime`).
//!
//! ```text
//! CARGO_TARGET_DIR=$HOME/.cache/brook-target-dsl cargo bench -p brook-streams-dsl --bench nexmark -- 1000000
//! CARGO_TARGET_DIR=$HOME/.cache/brook-target-dsl cargo bench -p brook-streams-dsl --bench nexmark -- 1000000 --runtime
//! ```
//!
//! - Generator: Nexmark's default proportions (per 50 events: 1 person, 3 auctions, 46 bids,
//!   i.e. 2% / 6% / 92%), deterministic ids and event time (1 ms apart).
//! - q0 (pass-through of bids): the baseline cost per event.
//! - q5a: the first stage of q5 only (bids per auction in 10 s windows advancing by 2 s).
//! - q5 (hot items): q5a, then per window the auction with the most bids.
//! - q7 (highest bid): the maximum bid price per 10 s tumbling window.
//! - q8 (new users): persons joined with the auctions they open within 10 s.
//!
//! The driver commits after every record (as Kafka's TopologyTestDriver does), so there the
//! aggregations run without the record cache; `--runtime` commits every 100 ms with the cache
//! on (Kafka Streams' default), one stream thread (`NEXMARK_THREADS`), one partition per topic
//! (`NEXMARK_PARTITIONS`), `max.task.idle.ms` from `NEXMARK_TASK_IDLE_MS` (default 0).
//! `NEXMARK_QUERY=q5,q7` picks queries.
//!
//! Prints events/s and CPU-seconds per million events for each query.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use brook_broker::client::{Admin, Producer, ProducerConfig, ProducerRecord};
use brook_broker::{Broker, BrokerConfig, IsolationLevel, OffsetSpec};
use brook_processor_api::{Embedded, KafkaStreams, StreamsConfig, Topology, TopologyTaskFactory, TopologyTestDriver};
use brook_state_store::{BytesSerde, StringSerde, TimeWindowedSerde};
use brook_streams_dsl::{
    Consumed, Grouped, JoinWindows, KTable, Materialized, Produced, StoreType, StreamJoined, StreamsBuilder, TimeWindows, Windowed,
};
use bytes::Bytes;

/// One generated event: topic, key, value (`field,field,...`), event time.
struct Event {
    topic: &'static str,
    key: Bytes,
    value: Bytes,
    ts: i64,
}

/// Nexmark's proportions: in each block of 50 events, 1 person, 3 auctions, 46 bids.
fn generate(n: u64) -> Vec<Event> {
    let mut out = Vec::with_capacity(n as usize);
    let (mut persons, mut auctions) = (0u64, 0u64);
    for i in 0..n {
        let ts = i as i64;
        let slot = i % 50;
        if slot == 0 {
            persons += 1;
            out.push(Event { topic: "person", key: Bytes::from(persons.to_string()), value: Bytes::from(format!("{persons},person-{persons},OR")), ts });
        } else if slot <= 3 {
            auctions += 1;
            let seller = 1 + (auctions * 7) % persons.max(1);
            out.push(Event { topic: "auction", key: Bytes::from(auctions.to_string()), value: Bytes::from(format!("{auctions},{seller},{}", 100 + auctions % 50)), ts });
        } else {
            // Bids go mostly to recent auctions ("hot" ones), as Nexmark's generator does.
            let auction = auctions.saturating_sub((i * 31) % 100).max(1);
            let price = 1 + (i * 2_654_435_761) % 10_000;
            out.push(Event { topic: "bid", key: Bytes::new(), value: Bytes::from(format!("{auction},{},{price}", i % 1000)), ts });
        }
    }
    out
}

fn field(v: &str, i: usize) -> &str {
    v.split(',').nth(i).unwrap_or("")
}

/// q0 (pass-through): the driver's own per-record cost, as a baseline.
fn q0(_cached: bool) -> Topology {
    let b = StreamsBuilder::new();
    b.stream::<String, String>(&["bid"], Consumed::default()).to("q0", Produced::default());
    b.build().unwrap()
}

/// q5's first stage: bids per auction in 10 s windows advancing by 2 s.
fn q5_counts(b: &StreamsBuilder, cached: bool) -> KTable<Windowed<String>, i64> {
    let m = Materialized::default().with_store_type(StoreType::InMemory).with_logging_disabled();
    b.stream::<String, String>(&["bid"], Consumed::default())
        .select_key(|_, v| field(v, 0).to_owned())
        .group_by_key(Grouped::default())
        .windowed_by(TimeWindows::of_size_with_no_grace(Duration::from_secs(10)).advance_by(Duration::from_secs(2)))
        .count(if cached { m } else { m.with_caching_disabled() })
}

/// q5a: only the first stage of q5 (the hopping count), as measured before the full query.
fn q5a(cached: bool) -> Topology {
    let b = StreamsBuilder::new();
    q5_counts(&b, cached)
        .to_stream()
        .to("q5a", Produced::default().with_key_serde(Arc::new(TimeWindowedSerde::new(StringSerde, 10_000))));
    b.build().unwrap()
}

/// q5 (hot items): the hopping count per auction, then per window the auction with the most
/// bids (re-keyed by window start through a second repartition topic; counts only grow, so
/// a running max over the count updates is the window's max).
fn q5(cached: bool) -> Topology {
    let b = StreamsBuilder::new();
    let m = Materialized::default().with_store_type(StoreType::InMemory).with_logging_disabled();
    q5_counts(&b, cached)
        .to_stream()
        .map(|k, n| (k.map_or(0, |k| k.window.start), format!("{},{n}", k.map_or("", |k| k.key.as_str()))))
        .group_by_key(Grouped::default())
        .reduce(
            |a, b| if field(b, 1).parse::<i64>().unwrap_or(0) > field(a, 1).parse::<i64>().unwrap_or(0) { b.clone() } else { a.clone() },
            if cached { m } else { m.with_caching_disabled() },
        )
        .to_stream()
        .to("q5", Produced::default());
    b.build().unwrap()
}

fn q7(_cached: bool) -> Topology {
    let b = StreamsBuilder::new();
    b.stream::<String, String>(&["bid"], Consumed::default())
        .map(|_, v| ("all".to_owned(), field(v, 2).parse::<i64>().unwrap_or(0)))
        .group_by_key(Grouped::default())
        .windowed_by(TimeWindows::of_size_with_no_grace(Duration::from_secs(10)))
        .reduce(|a, b| (*a).max(*b), Materialized::default().with_store_type(StoreType::InMemory).with_logging_disabled())
        .to_stream()
        .to("q7", Produced::default().with_key_serde(Arc::new(TimeWindowedSerde::new(StringSerde, 10_000))));
    b.build().unwrap()
}

fn q8(_cached: bool) -> Topology {
    let b = StreamsBuilder::new();
    let persons = b.stream::<String, String>(&["person"], Consumed::default());
    let sellers = b.stream::<String, String>(&["auction"], Consumed::default()).select_key(|_, v| field(v, 1).to_owned());
    persons
        .join(
            &sellers,
            |p, a| format!("{},{}", field(p, 1), field(a, 0)),
            JoinWindows::of_time_difference_without_grace(Duration::from_secs(10)),
            StreamJoined::default().with_store_type(StoreType::InMemory).with_logging_disabled(),
        )
        .to("q8", Produced::default());
    b.build().unwrap()
}

fn cpu_seconds() -> f64 {
    // utime + stime of this process, in clock ticks (100 Hz on Linux).
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after = stat.rsplit(')').next().unwrap_or("");
    let f: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|x| x.parse::<f64>().ok()).unwrap_or(0.0);
    (ticks(11) + ticks(12)) / 100.0
}

fn run(name: &str, topology: Topology, events: &[Event], output: &str) {
    let dir = tempfile::tempdir().unwrap();
    let mut c = StreamsConfig::new(name);
    c.state_dir = dir.path().to_path_buf();
    let driver = TopologyTestDriver::new(topology, c, 0).unwrap();
    let out = driver.create_output_topic::<Bytes, Bytes>(output, Arc::new(BytesSerde), Arc::new(BytesSerde));
    let (cpu0, t0) = (cpu_seconds(), Instant::now());
    let mut produced = 0usize;
    for (i, e) in events.iter().enumerate() {
        let key = if e.key.is_empty() { None } else { Some(e.key.clone()) };
        driver.pipe_raw(e.topic, key, Some(e.value.clone()), e.ts, Vec::new()).unwrap();
        if i % 4096 == 0 {
            produced += out.read_records_to_list().unwrap().len();
        }
    }
    produced += out.read_records_to_list().unwrap().len();
    let (secs, cpu) = (t0.elapsed().as_secs_f64(), cpu_seconds() - cpu0);
    let n = events.len() as f64;
    println!(
        "{name}: {} events in {secs:.2} s = {:.0} events/s, {:.2} CPU-s per million events, {produced} output records",
        events.len(),
        n / secs,
        cpu / (n / 1e6)
    );
}

/// Runs `topology` with `KafkaStreams` over an embedded broker: the events are produced into
/// `person`/`auction`/`bid` (`NEXMARK_PARTITIONS` partitions, default 1) before the clock starts; the run ends when the
/// group has committed every record of its source and repartition topics.
fn run_runtime(name: &str, topology: Topology, events: &[Event], output: &str, threads: usize, partitions: i32) {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut bc = BrokerConfig::new(dir.path().join("broker"));
    bc.group_initial_rebalance_delay = Duration::ZERO;
    let broker = rt.block_on(Broker::open(bc)).unwrap();
    for t in ["person", "auction", "bid", output] {
        broker.create_topic(t, partitions, Default::default()).unwrap();
    }
    let mut per_topic: BTreeMap<&str, i64> = BTreeMap::new();
    {
        let _g = rt.enter();
        let p = Producer::new(broker.clone(), ProducerConfig::default()).unwrap();
        let mut last = None;
        for e in events {
            *per_topic.entry(e.topic).or_default() += 1;
            let key = if e.key.is_empty() { None } else { Some(e.key.clone()) };
            last = Some(p.send(ProducerRecord {
                topic: e.topic.to_owned(),
                key,
                value: Some(e.value.clone()),
                timestamp: Some(e.ts),
                ..Default::default()
            }));
        }
        p.flush();
        if let Some(f) = last {
            rt.block_on(f).unwrap();
        }
    }
    let app = format!("nexmark-{name}");
    let mut c = StreamsConfig::new(&app);
    c.state_dir = dir.path().join("state");
    // As in the issue-5 runtime benchmark: commit every 100 ms (exactly-once's default) so a
    // run ends within 100 ms of its last record; record cache at its default (10 MiB).
    c.set("commit.interval.ms", "100").unwrap();
    c.num_stream_threads = threads;
    if let Ok(ms) = std::env::var("NEXMARK_TASK_IDLE_MS") {
        c.set("max.task.idle.ms", &ms).unwrap();
    }
    let sources: Vec<&str> = topology_sources(&topology);
    let factory = Arc::new(TopologyTaskFactory::new(topology, &c).unwrap());
    let streams = KafkaStreams::new(factory, c, Embedded::new(broker.clone())).unwrap();
    let admin = Admin::new(broker.clone());
    let (cpu0, t0) = (cpu_seconds(), Instant::now());
    streams.start().unwrap();
    let n: i64 = sources.iter().map(|t| per_topic.get(t).copied().unwrap_or(0)).sum();
    loop {
        let lag = admin.group_lag(&app).unwrap();
        let source_done: i64 = lag
            .partitions
            .iter()
            .filter(|p| sources.contains(&p.partition.topic.as_str()))
            .filter_map(|p| p.committed)
            .sum();
        if source_done >= n && lag.partitions.iter().all(|p| p.lag == Some(0)) {
            break;
        }
        assert!(t0.elapsed() < Duration::from_secs(600), "{name} did not finish");
        std::thread::sleep(Duration::from_millis(2));
    }
    let (secs, cpu) = (t0.elapsed().as_secs_f64(), cpu_seconds() - cpu0);
    assert!(streams.close(Duration::from_secs(60)));
    let produced: i64 = (0..partitions)
        .map(|p| broker.list_offset(output, p, OffsetSpec::Latest, IsolationLevel::ReadUncommitted).unwrap().0)
        .sum();
    // Events of topics the query does not read are not counted.
    let n = n as f64;
    println!(
        "{name} (runtime, {threads} thread(s), {partitions} partition(s)): {n} events in {secs:.2} s = {:.0} events/s, {:.2} CPU-s per million events, {produced} output records",
        n / secs,
        cpu / (n / 1e6)
    );
    rt.block_on(broker.shutdown());
}

/// Builds a query's topology; the flag enables the record cache on its aggregations.
type Query = fn(bool) -> Topology;

/// The user topics a topology reads.
fn topology_sources(t: &Topology) -> Vec<&'static str> {
    let text = t.describe().to_string();
    ["person", "auction", "bid"].into_iter().filter(|s| text.contains(&format!("topics: [{s}]"))).collect()
}

fn main() {
    let n: u64 = std::env::args().skip(1).find_map(|a| a.parse().ok()).unwrap_or(1_000_000);
    let runtime = std::env::args().any(|a| a == "--runtime");
    let env = |k: &str, d: usize| std::env::var(k).ok().and_then(|v| v.parse().ok()).unwrap_or(d);
    let (threads, partitions) = (env("NEXMARK_THREADS", 1), env("NEXMARK_PARTITIONS", 1) as i32);
    let events = generate(n);
    let only = std::env::var("NEXMARK_QUERY").ok();
    let want = |q: &str| only.as_deref().is_none_or(|o| o.split(',').any(|x| x == q));
    // The driver commits (and flushes caches) after every record, so caching only adds cost
    // there; the runtime commits every 100 ms and runs with caching, as Kafka Streams does.
    let queries: [(&str, Query); 5] = [("q0", q0), ("q5a", q5a), ("q5", q5), ("q7", q7), ("q8", q8)];
    for (name, q) in queries {
        if want(name) {
            if runtime {
                run_runtime(name, q(true), &events, name, threads, partitions);
            } else {
                run(name, q(false), &events, name);
            }
        }
    }
}
