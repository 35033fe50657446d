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
//! - q1 (currency conversion): every bid with its price times 0.908.
//! - q2 (selection): the bids on every 123rd auction.
//! - q5a: the first stage of q5 only (bids per auction in 10 s windows advancing by 2 s).
//! - q5 (hot items): q5a, then per window the auction with the most bids.
//! - q7 (highest bid): the maximum bid price per 10 s tumbling window.
//! - q7t: the maximum bid price per auction over all time (a table reduce, no windows).
//! - q8 (new users): persons joined with the auctions they open within 10 s.
//!
//! The driver commits after every record (as Kafka's TopologyTestDriver does), so there the
//! aggregations run without the record cache; `--runtime` commits every 100 ms with the cache
//! on (Kafka Streams' default), one stream thread (`NEXMARK_THREADS`), one partition per topic
//! (`NEXMARK_PARTITIONS`), `max.task.idle.ms` from `NEXMARK_TASK_IDLE_MS` (default 0).
//! `NEXMARK_QUERY=q5,q7` picks queries.
//!
//! The generator, the queries and the runners live in `support/nexmark.rs`, shared with
//! `sql-engine/benches/nexmark_sql.rs` (the same queries in SQL).
//!
//! Prints events/s and CPU-seconds per million events for each query.

#[path = "support/nexmark.rs"]
mod support;

use support::{generate, run_driver, run_runtime, ValueFormat, QUERIES};

fn main() {
    let n: u64 = std::env::args().skip(1).find_map(|a| a.parse().ok()).unwrap_or(1_000_000);
    let runtime = std::env::args().any(|a| a == "--runtime");
    let env = |k: &str, d: usize| std::env::var(k).ok().and_then(|v| v.parse().ok()).unwrap_or(d);
    let (threads, partitions) = (env("NEXMARK_THREADS", 1), env("NEXMARK_PARTITIONS", 1) as i32);
    let events = generate(n, ValueFormat::Csv);
    let only = std::env::var("NEXMARK_QUERY").ok();
    let want = |q: &str| only.as_deref().is_none_or(|o| o.split(',').any(|x| x == q));
    // The driver commits (and flushes caches) after every record, so caching only adds cost
    // there; the runtime commits every 100 ms and runs with caching, as Kafka Streams does.
    for (name, q) in QUERIES {
        if want(name) {
            if runtime {
                run_runtime(name, q(true), &events, name, threads, partitions);
            } else {
                run_driver(name, q(false), &events, name);
            }
        }
    }
}
