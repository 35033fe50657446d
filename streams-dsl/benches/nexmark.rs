//! Nexmark-style queries written with the Streams DSL, run through the TopologyTestDriver
//! over an in-process event generator.
//!
//! ```text
//! CARGO_TARGET_DIR=$HOME/.cache/brook-target-dsl cargo bench -p brook-streams-dsl --bench nexmark -- 1000000
//! ```
//!
//! - Generator: Nexmark's default proportions (per 50 events: 1 person, 3 auctions, 46 bids,
//!   i.e. 2% / 6% / 92%), deterministic ids and event time (1 ms apart).
//! - q0 (pass-through of bids): the driver's baseline cost per event.
//! - q5 (hot items): bids per auction in 10 s windows advancing by 2 s (hopping count).
//! - q7 (highest bid): the maximum bid price per 10 s tumbling window.
//! - q8 (new users): persons joined with the auctions they open within 10 s.
//!
//! Prints events/s and CPU-seconds per million events for each query.

use std::sync::Arc;
use std::time::{Duration, Instant};

use brook_processor_api::{StreamsConfig, Topology, TopologyTestDriver};
use brook_state_store::{BytesSerde, StringSerde, TimeWindowedSerde};
use brook_streams_dsl::{Consumed, Grouped, JoinWindows, Materialized, Produced, StreamJoined, StreamsBuilder, TimeWindows};
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
fn q0() -> Topology {
    let b = StreamsBuilder::new();
    b.stream::<String, String>(&["bid"], Consumed::default()).to("q0", Produced::default());
    b.build().unwrap()
}

fn q5() -> Topology {
    let b = StreamsBuilder::new();
    b.stream::<String, String>(&["bid"], Consumed::default())
        .select_key(|_, v| field(v, 0).to_owned())
        .group_by_key(Grouped::default())
        .windowed_by(TimeWindows::of_size_with_no_grace(Duration::from_secs(10)).advance_by(Duration::from_secs(2)))
        .count(Materialized::default().with_store_type(brook_streams_dsl::StoreType::InMemory).with_logging_disabled().with_caching_disabled())
        .to_stream()
        .to("q5", Produced::default().with_key_serde(Arc::new(TimeWindowedSerde::new(StringSerde, 10_000))));
    b.build().unwrap()
}

fn q7() -> Topology {
    let b = StreamsBuilder::new();
    b.stream::<String, String>(&["bid"], Consumed::default())
        .map(|_, v| ("all".to_owned(), field(v, 2).parse::<i64>().unwrap_or(0)))
        .group_by_key(Grouped::default())
        .windowed_by(TimeWindows::of_size_with_no_grace(Duration::from_secs(10)))
        .reduce(|a, b| (*a).max(*b), Materialized::default().with_store_type(brook_streams_dsl::StoreType::InMemory).with_logging_disabled())
        .to_stream()
        .to("q7", Produced::default().with_key_serde(Arc::new(TimeWindowedSerde::new(StringSerde, 10_000))));
    b.build().unwrap()
}

fn q8() -> Topology {
    let b = StreamsBuilder::new();
    let persons = b.stream::<String, String>(&["person"], Consumed::default());
    let sellers = b.stream::<String, String>(&["auction"], Consumed::default()).select_key(|_, v| field(v, 1).to_owned());
    persons
        .join(
            &sellers,
            |p, a| format!("{},{}", field(p, 1), field(a, 0)),
            JoinWindows::of_time_difference_without_grace(Duration::from_secs(10)),
            StreamJoined::default().with_store_type(brook_streams_dsl::StoreType::InMemory).with_logging_disabled(),
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

fn main() {
    let n: u64 = std::env::args().skip(1).find_map(|a| a.parse().ok()).unwrap_or(1_000_000);
    let events = generate(n);
    let only = std::env::var("NEXMARK_QUERY").ok();
    let want = |q: &str| only.as_deref().is_none_or(|o| o == q);
    if want("q0") {
        run("q0", q0(), &events, "q0");
    }
    if want("q5") {
        run("q5", q5(), &events, "q5");
    }
    if want("q7") {
        run("q7", q7(), &events, "q7");
    }
    if want("q8") {
        run("q8", q8(), &events, "q8");
    }
}
