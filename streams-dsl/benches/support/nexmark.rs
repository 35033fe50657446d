//! Shared by the Nexmark benches (`streams-dsl/benches/nexmark.rs` and
//! `sql-engine/benches/nexmark_sql.rs`, which include this file as a module): the event
//! generator (comma-separated values for the DSL queries, JSON for the SQL ones), the DSL
//! queries, and the two ways of running a topology (TopologyTestDriver, `KafkaStreams` over
//! the embedded broker).
// Each bench uses a part of this module.
#![allow(dead_code)]

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

/// The allocator of the `brook` binary (cli/src/main.rs), so that the figures are the product's.
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// One generated event: topic, key, value, event time.
pub(crate) struct Event {
    pub(crate) topic: &'static str,
    pub(crate) key: Bytes,
    pub(crate) value: Bytes,
    pub(crate) ts: i64,
}

/// How the generator writes values.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum ValueFormat {
    /// `field,field,...` (person `id,name,state`, auction `id,seller,category`, bid
    /// `auction,bidder,price`), parsed by the DSL queries.
    Csv,
    /// The same fields as a JSON object with upper-case names (`{"AUCTION":..,"BIDDER":..,"PRICE":..}`),
    /// for the SQL queries (`VALUE_FORMAT='JSON'`).
    Json,
}

/// Nexmark's proportions: in each block of 50 events, 1 person, 3 auctions, 46 bids.
pub(crate) fn generate(n: u64, format: ValueFormat) -> Vec<Event> {
    let mut out = Vec::with_capacity(n as usize);
    let (mut persons, mut auctions) = (0u64, 0u64);
    let json = format == ValueFormat::Json;
    for i in 0..n {
        let ts = i as i64;
        let slot = i % 50;
        if slot == 0 {
            persons += 1;
            let value = if json {
                format!(r#"{{"ID":{persons},"NAME":"person-{persons}","STATE":"OR"}}"#)
            } else {
                format!("{persons},person-{persons},OR")
            };
            out.push(Event { topic: "person", key: Bytes::from(persons.to_string()), value: Bytes::from(value), ts });
        } else if slot <= 3 {
            auctions += 1;
            let seller = 1 + (auctions * 7) % persons.max(1);
            let category = 100 + auctions % 50;
            let value = if json {
                format!(r#"{{"ID":{auctions},"SELLER":{seller},"CATEGORY":{category}}}"#)
            } else {
                format!("{auctions},{seller},{category}")
            };
            out.push(Event { topic: "auction", key: Bytes::from(auctions.to_string()), value: Bytes::from(value), ts });
        } else {
            // Bids go mostly to recent auctions ("hot" ones), as Nexmark's generator does.
            let auction = auctions.saturating_sub((i * 31) % 100).max(1);
            let price = 1 + (i * 2_654_435_761) % 10_000;
            let bidder = i % 1000;
            let value = if json {
                format!(r#"{{"AUCTION":{auction},"BIDDER":{bidder},"PRICE":{price}}}"#)
            } else {
                format!("{auction},{bidder},{price}")
            };
            out.push(Event { topic: "bid", key: Bytes::new(), value: Bytes::from(value), ts });
        }
    }
    out
}

pub(crate) fn field(v: &str, i: usize) -> &str {
    v.split(',').nth(i).unwrap_or("")
}

/// q0 (pass-through): the driver's own per-record cost, as a baseline.
pub(crate) fn q0(_cached: bool) -> Topology {
    let b = StreamsBuilder::new();
    b.stream::<String, String>(&["bid"], Consumed::default()).to("q0", Produced::default());
    b.build().unwrap()
}

/// q1 (currency conversion): every bid with its price in euros (`price * 0.908`).
pub(crate) fn q1(_cached: bool) -> Topology {
    let b = StreamsBuilder::new();
    b.stream::<String, String>(&["bid"], Consumed::default())
        .map_values(|v| format!("{},{},{}", field(v, 0), field(v, 1), field(v, 2).parse::<i64>().unwrap_or(0) as f64 * 0.908))
        .to("q1", Produced::default());
    b.build().unwrap()
}

/// q2 (selection): the auction and price of the bids on every 123rd auction.
pub(crate) fn q2(_cached: bool) -> Topology {
    let b = StreamsBuilder::new();
    b.stream::<String, String>(&["bid"], Consumed::default())
        .filter(|_, v| field(v, 0).parse::<i64>().unwrap_or(1) % 123 == 0)
        .map_values(|v| format!("{},{}", field(v, 0), field(v, 2)))
        .to("q2", Produced::default());
    b.build().unwrap()
}

/// The stores of the stateful DSL queries: in memory without changelog topics, or with
/// `NEXMARK_DSL_STORES=rocksdb` the DSL's default (RocksDB with changelog topics), which is
/// what the SQL engine's queries use (`sql-engine/benches/nexmark_sql.rs` compares both).
pub(crate) fn rocksdb_stores() -> bool {
    std::env::var("NEXMARK_DSL_STORES").is_ok_and(|v| v == "rocksdb")
}

/// A store as [`rocksdb_stores`] says.
fn materialized<K, V>() -> Materialized<K, V> {
    if rocksdb_stores() {
        Materialized::default()
    } else {
        Materialized::default().with_store_type(StoreType::InMemory).with_logging_disabled()
    }
}

/// q5's first stage: bids per auction in 10 s windows advancing by 2 s.
fn q5_counts(b: &StreamsBuilder, cached: bool) -> KTable<Windowed<String>, i64> {
    let m = materialized();
    b.stream::<String, String>(&["bid"], Consumed::default())
        .select_key(|_, v| field(v, 0).to_owned())
        .group_by_key(Grouped::default())
        .windowed_by(TimeWindows::of_size_with_no_grace(Duration::from_secs(10)).advance_by(Duration::from_secs(2)))
        .count(if cached { m } else { m.with_caching_disabled() })
}

/// q5a: only the first stage of q5 (the hopping count), as measured before the full query.
pub(crate) fn q5a(cached: bool) -> Topology {
    let b = StreamsBuilder::new();
    q5_counts(&b, cached)
        .to_stream()
        .to("q5a", Produced::default().with_key_serde(Arc::new(TimeWindowedSerde::new(StringSerde, 10_000))));
    b.build().unwrap()
}

/// q5 (hot items): the hopping count per auction, then per window the auction with the most
/// bids (re-keyed by window start through a second repartition topic; counts only grow, so
/// a running max over the count updates is the window's max).
pub(crate) fn q5(cached: bool) -> Topology {
    let b = StreamsBuilder::new();
    let m = materialized();
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

/// q7 (highest bid): the maximum price per 10 s tumbling window.
pub(crate) fn q7(_cached: bool) -> Topology {
    let b = StreamsBuilder::new();
    b.stream::<String, String>(&["bid"], Consumed::default())
        .map(|_, v| ("all".to_owned(), field(v, 2).parse::<i64>().unwrap_or(0)))
        .group_by_key(Grouped::default())
        .windowed_by(TimeWindows::of_size_with_no_grace(Duration::from_secs(10)))
        .reduce(|a, b| (*a).max(*b), materialized())
        .to_stream()
        .to("q7", Produced::default().with_key_serde(Arc::new(TimeWindowedSerde::new(StringSerde, 10_000))));
    b.build().unwrap()
}

/// q7t: the highest bid per auction over all time, a table reduce (no windows): each bid reads
/// and writes the aggregation's timestamped key-value store (the DSL's table store).
pub(crate) fn q7t(cached: bool) -> Topology {
    let b = StreamsBuilder::new();
    let m = materialized();
    b.stream::<String, String>(&["bid"], Consumed::default())
        .map(|_, v| (field(v, 0).to_owned(), field(v, 2).parse::<i64>().unwrap_or(0)))
        .group_by_key(Grouped::default())
        .reduce(|a, b| (*a).max(*b), if cached { m } else { m.with_caching_disabled() })
        .to_stream()
        .to("q7t", Produced::default());
    b.build().unwrap()
}

/// q8 (new users): persons joined with the auctions they open within 10 s.
pub(crate) fn q8(_cached: bool) -> Topology {
    let b = StreamsBuilder::new();
    let persons = b.stream::<String, String>(&["person"], Consumed::default());
    let sellers = b.stream::<String, String>(&["auction"], Consumed::default()).select_key(|_, v| field(v, 1).to_owned());
    persons
        .join(
            &sellers,
            |p, a| format!("{},{}", field(p, 1), field(a, 0)),
            JoinWindows::of_time_difference_without_grace(Duration::from_secs(10)),
            if rocksdb_stores() { StreamJoined::default() } else { StreamJoined::default().with_store_type(StoreType::InMemory).with_logging_disabled() },
        )
        .to("q8", Produced::default());
    b.build().unwrap()
}

/// Builds a query's topology; the flag enables the record cache on its aggregations.
pub(crate) type Query = fn(bool) -> Topology;

/// The DSL queries, by name.
pub(crate) const QUERIES: [(&str, Query); 8] =
    [("q0", q0), ("q1", q1), ("q2", q2), ("q5a", q5a), ("q5", q5), ("q7", q7), ("q7t", q7t), ("q8", q8)];

/// utime + stime of this process, in seconds.
pub(crate) fn cpu_seconds() -> f64 {
    // In clock ticks (100 Hz on Linux).
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after = stat.rsplit(')').next().unwrap_or("");
    let f: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|x| x.parse::<f64>().ok()).unwrap_or(0.0);
    (ticks(11) + ticks(12)) / 100.0
}

/// Prints one measurement line.
fn report(label: &str, n: f64, secs: f64, cpu: f64, produced: i64) {
    println!(
        "{label}: {n} events in {secs:.2} s = {:.0} events/s, {:.2} CPU-s per million events, {produced} output records",
        n / secs,
        cpu / (n / 1e6)
    );
}

/// Runs `topology` through a `TopologyTestDriver`, piping every event.
pub(crate) fn run_driver(name: &str, topology: Topology, events: &[Event], output: &str) {
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
    report(name, events.len() as f64, secs, cpu, produced as i64);
}

/// An embedded broker holding the generated events in `person`/`auction`/`bid`.
pub(crate) struct Cluster {
    pub(crate) rt: tokio::runtime::Runtime,
    pub(crate) dir: tempfile::TempDir,
    pub(crate) broker: Broker,
    /// Events per topic.
    per_topic: BTreeMap<&'static str, i64>,
    partitions: i32,
}

impl Cluster {
    /// A broker with the input topics (`partitions` each) and `outputs`, `events` produced
    /// into them.
    pub(crate) fn new(events: &[Event], partitions: i32, outputs: &[&str]) -> Self {
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let mut bc = BrokerConfig::new(dir.path().join("broker"));
        bc.group_initial_rebalance_delay = Duration::ZERO;
        let broker = rt.block_on(Broker::open(bc)).unwrap();
        for t in ["person", "auction", "bid"].iter().chain(outputs) {
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
        Cluster { rt, dir, broker, per_topic, partitions }
    }

    /// How many events `sources` hold.
    pub(crate) fn events_in(&self, sources: &[&str]) -> i64 {
        sources.iter().map(|t| self.per_topic.get(t).copied().unwrap_or(0)).sum()
    }

    /// Waits until group `app` has committed every event of `sources` and has no lag on any
    /// partition it reads (its repartition topics included).
    pub(crate) fn wait_processed(&self, app: &str, sources: &[&str], t0: Instant) {
        let admin = Admin::new(self.broker.clone());
        let n = self.events_in(sources);
        loop {
            let lag = admin.group_lag(app).unwrap();
            let source_done: i64 =
                lag.partitions.iter().filter(|p| sources.contains(&p.partition.topic.as_str())).filter_map(|p| p.committed).sum();
            if source_done >= n && lag.partitions.iter().all(|p| p.lag == Some(0)) {
                return;
            }
            assert!(t0.elapsed() < Duration::from_secs(600), "{app} did not finish");
            std::thread::sleep(Duration::from_millis(2));
        }
    }

    /// The records written to `topic`.
    pub(crate) fn records_in(&self, topic: &str) -> i64 {
        (0..self.partitions).map(|p| self.broker.list_offset(topic, p, OffsetSpec::Latest, IsolationLevel::ReadUncommitted).unwrap().0).sum()
    }

    /// Prints the measurement of a run over `sources` that started at `t0` with `cpu0`
    /// CPU-seconds spent, and wrote to `output`. Events of topics the query does not read
    /// are not counted.
    pub(crate) fn report(&self, label: &str, sources: &[&str], output: &str, t0: Instant, cpu0: f64) {
        let (secs, cpu) = (t0.elapsed().as_secs_f64(), cpu_seconds() - cpu0);
        report(label, self.events_in(sources) as f64, secs, cpu, self.records_in(output));
    }

    pub(crate) fn shutdown(self) {
        self.rt.block_on(self.broker.shutdown());
    }
}

/// Runs `topology` with `KafkaStreams` over an embedded broker: the events are produced into
/// `person`/`auction`/`bid` (`partitions` partitions) before the clock starts; the run ends
/// when the group has committed every record of its source and repartition topics.
pub(crate) fn run_runtime(name: &str, topology: Topology, events: &[Event], output: &str, threads: usize, partitions: i32) {
    let cluster = Cluster::new(events, partitions, &[output]);
    if std::env::var("NEXMARK_SETUP_ONLY").is_ok_and(|v| v == "1") {
        // The baseline of an instruction count (bench/nexmark_instructions.sh): the events
        // produced into the broker and the broker shut down, no query.
        cluster.shutdown();
        return;
    }
    let app = format!("nexmark-{name}");
    let mut c = StreamsConfig::new(&app);
    c.state_dir = cluster.dir.path().join("state");
    // As in the issue-5 runtime benchmark: commit every 100 ms (exactly-once's default) so a
    // run ends within 100 ms of its last record; record cache at its default (10 MiB).
    // `NEXMARK_COMMIT_MS` changes it (under valgrind, whose clock is ~50x slower, so that a
    // commit covers as many records as in a normal run).
    let commit_ms = std::env::var("NEXMARK_COMMIT_MS").unwrap_or_else(|_| "100".to_owned());
    c.set("commit.interval.ms", &commit_ms).unwrap();
    c.num_stream_threads = threads;
    if let Ok(ms) = std::env::var("NEXMARK_TASK_IDLE_MS") {
        c.set("max.task.idle.ms", &ms).unwrap();
    }
    let sources: Vec<&str> = topology_sources(&topology);
    let factory = Arc::new(TopologyTaskFactory::new(topology, &c).unwrap());
    let streams = KafkaStreams::new(factory, c, Embedded::new(cluster.broker.clone())).unwrap();
    let (cpu0, t0) = (cpu_seconds(), Instant::now());
    streams.start().unwrap();
    cluster.wait_processed(&app, &sources, t0);
    let label = format!("{name} (runtime, {threads} thread(s), {partitions} partition(s))");
    cluster.report(&label, &sources, output, t0, cpu0);
    assert!(streams.close(Duration::from_secs(60)));
    cluster.shutdown();
}

/// The user topics a topology reads.
pub(crate) fn topology_sources(t: &Topology) -> Vec<&'static str> {
    let text = t.describe().to_string();
    ["person", "auction", "bid"].into_iter().filter(|s| text.contains(&format!("topics: [{s}]"))).collect()
}
