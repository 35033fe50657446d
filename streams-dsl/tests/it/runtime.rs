//! DSL topologies run by `KafkaStreams` over an embedded broker: what only the runtime shows
//! (internal topic creation, restore from changelogs after losing the state directory).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use brook_broker::client::{Consumer, ConsumerConfig, Producer, ProducerConfig, ProducerRecord, TopicPartition};
use brook_broker::{Broker, BrokerConfig, IsolationLevel, OffsetSpec};
use brook_processor_api::{
    Embedded, KafkaStreams, StreamsConfig, TaskFactory, Topology, TopologyError, TopologyTaskFactory,
};
use brook_streams_dsl::{
    Consumed, Error, Grouped, Materialized, Produced, Repartitioned, StreamsBuilder, Suppressed, TimeWindows,
};
use bytes::Bytes;

/// An embedded broker in a temporary directory, with its runtime.
struct Cluster {
    rt: tokio::runtime::Runtime,
    broker: Broker,
    dir: tempfile::TempDir,
}

impl Cluster {
    fn new(topics: &[(&str, i32)]) -> Cluster {
        Cluster::with_config(topics, &[])
    }

    /// As [`Cluster::new`], with broker configs.
    fn with_config(topics: &[(&str, i32)], configs: &[(&str, &str)]) -> Cluster {
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let mut bc = BrokerConfig::new(dir.path().join("broker"));
        bc.group_initial_rebalance_delay = Duration::ZERO;
        for (k, v) in configs {
            bc.set(k, v).unwrap();
        }
        let broker = rt.block_on(Broker::open(bc)).unwrap();
        for (t, n) in topics {
            broker.create_topic(t, *n, Default::default()).unwrap();
        }
        Cluster { rt, broker, dir }
    }

    /// Produces string key/value records with timestamps and waits for their acks.
    fn produce(&self, topic: &str, records: &[(&str, &str, i64)]) {
        let _g = self.rt.enter();
        let p = Producer::new(self.broker.clone(), ProducerConfig::default()).unwrap();
        let futs: Vec<_> = records
            .iter()
            .map(|(k, v, ts)| {
                p.send(ProducerRecord {
                    topic: topic.to_owned(),
                    key: Some(Bytes::from(k.to_string())),
                    value: Some(Bytes::from(v.to_string())),
                    timestamp: Some(*ts),
                    ..Default::default()
                })
            })
            .collect();
        p.flush();
        self.rt.block_on(async {
            for f in futs {
                f.await.unwrap();
            }
        });
    }

    /// Produces one record with headers and waits for its ack.
    fn produce_with_headers(&self, topic: &str, key: &str, value: &str, headers: Vec<brook_state_store::Header>) {
        let _g = self.rt.enter();
        let p = Producer::new(self.broker.clone(), ProducerConfig::default()).unwrap();
        let sent = p.send(ProducerRecord {
            topic: topic.to_owned(),
            key: Some(Bytes::from(key.to_owned())),
            value: Some(Bytes::from(value.to_owned())),
            headers,
            ..Default::default()
        });
        p.flush();
        self.rt.block_on(sent).unwrap();
    }

    /// Starts `KafkaStreams` for `topology` with its state under `state`.
    fn start(&self, app: &str, topology: Topology, state: &str) -> KafkaStreams {
        self.start_with(app, topology, state, &[])
    }

    /// As [`Cluster::start`], with extra configs.
    fn start_with(&self, app: &str, topology: Topology, state: &str, extra: &[(&str, &str)]) -> KafkaStreams {
        let mut config = StreamsConfig::new(app);
        config.state_dir = self.dir.path().join(state);
        config.set("commit.interval.ms", "100").unwrap();
        for (k, v) in extra {
            config.set(k, v).unwrap();
        }
        let factory = Arc::new(TopologyTaskFactory::new(topology, &config).unwrap());
        let streams = KafkaStreams::new(factory, config, Embedded::new(self.broker.clone())).unwrap();
        streams.start().unwrap();
        streams
    }

    fn end_offset(&self, topic: &str, partition: i32) -> i64 {
        self.broker.list_offset(topic, partition, OffsetSpec::Latest, IsolationLevel::ReadUncommitted).unwrap().0
    }

    /// Reads every partition of `topic` from `from` (per partition) until `done` holds or 60 s
    /// pass; returns (partition, key, value) in partition order.
    fn read_until(
        &self,
        topic: &str,
        from: &BTreeMap<i32, i64>,
        done: impl Fn(&[(i32, String, Bytes)]) -> bool,
    ) -> Vec<(i32, String, Bytes)> {
        let partitions = self.broker.partition_count(topic, false).unwrap();
        let mut got = Vec::new();
        let deadline = Instant::now() + Duration::from_secs(60);
        self.rt.block_on(async {
            let mut c = Consumer::new(
                self.broker.clone(),
                // Committed records only: exactly-once outputs of aborted transactions never count.
                ConsumerConfig { enable_auto_commit: false, isolation_level: IsolationLevel::ReadCommitted, ..Default::default() },
            );
            let tps: Vec<TopicPartition> = (0..partitions).map(|p| TopicPartition::new(topic, p)).collect();
            c.assign(&tps);
            for tp in &tps {
                c.seek(tp, from.get(&tp.partition).copied().unwrap_or(0));
            }
            while !done(&got) && Instant::now() < deadline {
                if let Ok(records) = c.poll(Duration::from_millis(50)).await {
                    got.extend(records.into_iter().map(|r| {
                        let key = r.key.map(|k| String::from_utf8_lossy(&k).into_owned()).unwrap_or_default();
                        (r.partition, key, r.value.unwrap_or_default())
                    }));
                }
            }
        });
        got
    }
}

fn long(b: &Bytes) -> i64 {
    <[u8; 8]>::try_from(b.as_ref()).map_or(i64::MIN, i64::from_be_bytes)
}

/// words(k -> word) re-keyed by word through a repartition topic of 3 partitions, counted.
fn repartitioned_count() -> Topology {
    let b = StreamsBuilder::new();
    b.stream::<String, String>(&["words"], Consumed::default())
        .select_key(|_, w| w.clone())
        .repartition(Repartitioned::default().with_name("by-word").with_number_of_partitions(3))
        .group_by_key(Grouped::default())
        .count(Materialized::named("word-counts"))
        .to_stream()
        .to("word-counts-out", Produced::default());
    b.build().unwrap()
}

/// The topology and the runtime's view of it carry the requested partition count.
#[test]
fn repartitioned_with_a_partition_count_is_declared_in_the_topology() {
    let t = repartitioned_count();
    assert_eq!(t.internal_topic_partitions("by-word-repartition"), Some(3));
    let factory = TopologyTaskFactory::new(t, &StreamsConfig::new("app")).unwrap();
    let subs = factory.subtopologies();
    assert_eq!(subs.len(), 2);
    assert_eq!(subs[0].repartition_sink_topics, ["app-by-word-repartition"]);
    assert_eq!(subs[0].repartition_partition_counts, BTreeMap::from([("app-by-word-repartition".to_owned(), 3)]));
    assert_eq!(subs[1].repartition_source_topics, ["app-by-word-repartition"]);

    // Without a count, the topic takes its writer's partition count at runtime.
    let b = StreamsBuilder::new();
    b.stream::<String, String>(&["words"], Consumed::default())
        .repartition(Repartitioned::default().with_name("plain"))
        .to("out", Produced::default());
    let t = b.build().unwrap();
    assert_eq!(t.internal_topic_partitions("plain-repartition"), None);

    // A count below 1 fails the build.
    let b = StreamsBuilder::new();
    b.stream::<String, String>(&["words"], Consumed::default())
        .repartition(Repartitioned::default().with_name("zero").with_number_of_partitions(0))
        .to("out", Produced::default());
    let err = b.build().unwrap_err();
    assert!(
        matches!(&err, Error::Topology(TopologyError::InvalidPartitionCount { topic, partitions: 0 }) if topic == "zero-repartition"),
        "{err}"
    );
}

/// The runtime creates the repartition topic with the requested count (3, while the input
/// has 1), spreads records over it, and the counts come out right.
#[test]
fn repartition_topic_is_created_with_the_requested_partition_count() {
    let cluster = Cluster::new(&[("words", 1), ("word-counts-out", 1)]);
    let words = ["apple", "banana", "cherry", "date", "elder", "fig", "grape", "apple", "banana", "apple"];
    let input: Vec<(&str, &str, i64)> = words.iter().enumerate().map(|(i, w)| ("k", *w, i as i64)).collect();
    cluster.produce("words", &input);
    let streams = cluster.start("rep", repartitioned_count(), "state");
    let expected = BTreeMap::from([("apple", 3), ("banana", 2), ("cherry", 1), ("date", 1), ("elder", 1), ("fig", 1), ("grape", 1)]);
    let latest = |g: &[(i32, String, Bytes)]| {
        let mut m: BTreeMap<String, i64> = BTreeMap::new();
        for (_, k, v) in g {
            m.insert(k.clone(), long(v));
        }
        m
    };
    let want: BTreeMap<String, i64> = expected.iter().map(|(k, v)| (k.to_string(), *v)).collect();
    let got = cluster.read_until("word-counts-out", &BTreeMap::new(), |g| latest(g) == want);
    assert!(streams.close(Duration::from_secs(30)));
    assert_eq!(latest(&got), want);

    let topic = "rep-by-word-repartition";
    assert_eq!(cluster.broker.partition_count(topic, false).unwrap(), 3);
    let per_partition: Vec<i64> = (0..3).map(|p| cluster.end_offset(topic, p)).collect();
    assert_eq!(per_partition.iter().sum::<i64>(), words.len() as i64, "{per_partition:?}");
    assert!(per_partition.iter().filter(|&&n| n > 0).count() > 1, "all records in one partition: {per_partition:?}");
    // The counting sub-topology runs 3 tasks: its changelog has 3 partitions too.
    assert_eq!(cluster.broker.partition_count("rep-word-counts-changelog", false).unwrap(), 3);
}

/// clicks(user) -> 10 s tumbling windows, no grace -> count -> suppress(until_window_closes)
/// -> "user@start" -> count.
fn final_click_counts() -> Topology {
    click_counts(true)
}

/// [`final_click_counts`], with or without the record cache on the count.
fn click_counts(cached: bool) -> Topology {
    let b = StreamsBuilder::new();
    let m = Materialized::named("click-counts");
    b.stream::<String, String>(&["clicks"], Consumed::default())
        .group_by_key(Grouped::default())
        .windowed_by(TimeWindows::of_size_with_no_grace(Duration::from_secs(10)))
        .count(if cached { m } else { m.with_caching_disabled() })
        .suppress(Suppressed::until_window_closes().with_name("final"))
        .to_stream()
        .map(|k, n| (format!("{}@{}", k.map_or("?", |k| k.key.as_str()), k.map_or(0, |k| k.window.start)), *n))
        .to("final-counts", Produced::default());
    b.build().unwrap()
}

/// "key -> count" lines, sorted (windows closing together come out in cache-flush order).
fn lines(got: &[(i32, String, Bytes)]) -> Vec<String> {
    let mut l: Vec<String> = got.iter().map(|(_, k, v)| format!("{k} -> {}", long(v))).collect();
    l.sort();
    l
}

/// Waits until the group of `app` has committed `n` records of `topic` partition 0.
fn wait_committed(cluster: &Cluster, app: &str, topic: &str, n: i64) {
    let admin = brook_broker::client::Admin::new(cluster.broker.clone());
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let committed = admin.list_group_offsets(app).unwrap().get(&TopicPartition::new(topic, 0)).copied();
        if committed >= Some(n) {
            return;
        }
        assert!(Instant::now() < deadline, "{app} did not commit {n} records of {topic} (at {committed:?})");
        std::thread::yield_now();
    }
}

/// The suppression buffer survives losing the state directory: its changelog restores the
/// buffered windows, which are emitted once when stream time passes their end, and windows
/// emitted before the restart are not emitted again.
#[test]
fn suppression_buffer_is_restored_from_its_changelog() {
    let cluster = Cluster::new(&[("clicks", 1), ("final-counts", 1)]);
    let s = 1000;
    // [0, 10 s) closes at 12 s; [10 s, 20 s) stays buffered when the instance stops.
    let first = [
        ("alice", "/a", s),
        ("bob", "/b", 2 * s),
        ("alice", "/c", 3 * s),
        ("alice", "/d", 12 * s),
        ("bob", "/e", 13 * s),
        ("alice", "/f", 15 * s),
    ];
    cluster.produce("clicks", &first);
    let streams = cluster.start("suppress", final_click_counts(), "state-1");
    let got = cluster.read_until("final-counts", &BTreeMap::new(), |g| g.len() >= 2);
    assert_eq!(lines(&got), ["alice@0 -> 2", "bob@0 -> 1"]);
    wait_committed(&cluster, "suppress", "clicks", first.len() as i64);
    assert!(streams.close(Duration::from_secs(30)));
    let buffered = cluster.end_offset("suppress-final-store-changelog", 0);
    assert!(buffered > 0, "the suppression buffer wrote no changelog");

    // A new instance with an empty state directory restores the buffer (and the counts).
    let streams = cluster.start("suppress", final_click_counts(), "state-2");
    // 25 s closes [10 s, 20 s); 41 s then closes [20 s, 30 s) and is the sentinel: nothing
    // from before it may be missing or repeated.
    cluster.produce("clicks", &[("carol", "/g", 25 * s)]);
    cluster.produce("clicks", &[("dave", "/h", 41 * s)]);
    let got = cluster.read_until("final-counts", &BTreeMap::new(), |g| g.iter().any(|(_, k, _)| k == "carol@20000"));
    assert!(streams.close(Duration::from_secs(30)));
    assert_eq!(lines(&got), ["alice@0 -> 2", "alice@10000 -> 2", "bob@0 -> 1", "bob@10000 -> 1", "carol@20000 -> 1"]);
}

/// views(user) -> count -> suppress(until_time_limit(10 s)) -> count.
fn limited_view_counts() -> Topology {
    let b = StreamsBuilder::new();
    b.stream::<String, String>(&["views"], Consumed::default())
        .group_by_key(Grouped::default())
        // Uncached, so every update reaches the buffer with its own timestamp (with the cache,
        // a key's first buffered update is the one the cache flushes).
        .count(Materialized::named("view-counts").with_caching_disabled())
        .suppress(Suppressed::until_time_limit(Duration::from_secs(10)).with_name("limited"))
        .to_stream()
        .to("limited-counts", Produced::default());
    b.build().unwrap()
}

/// As above for `until_time_limit`: a key's latest count is held for 10 s of stream time
/// after its first buffered update, across a restart that rebuilds the buffer.
#[test]
fn time_limited_suppression_buffer_is_restored_from_its_changelog() {
    let cluster = Cluster::new(&[("views", 1), ("limited-counts", 1)]);
    let s = 1000;
    // At 12 s, a (buffered at 1 s) and b (2 s) are due; d (5 s) and c (12 s) stay buffered.
    let first = [("a", "/1", s), ("b", "/2", 2 * s), ("a", "/3", 3 * s), ("d", "/4", 5 * s), ("c", "/5", 12 * s)];
    cluster.produce("views", &first);
    let streams = cluster.start("limited", limited_view_counts(), "state-1");
    let got = cluster.read_until("limited-counts", &BTreeMap::new(), |g| g.len() >= 2);
    assert_eq!(lines(&got), ["a -> 2", "b -> 1"]);
    wait_committed(&cluster, "limited", "views", first.len() as i64);
    assert!(streams.close(Duration::from_secs(30)));

    let streams = cluster.start("limited", limited_view_counts(), "state-2");
    // 16 s releases d (5 s); 30 s then releases c (12 s) and e (16 s), the sentinel.
    cluster.produce("views", &[("e", "/6", 16 * s)]);
    cluster.produce("views", &[("f", "/7", 30 * s)]);
    let got = cluster.read_until("limited-counts", &BTreeMap::new(), |g| g.iter().any(|(_, k, _)| k == "e"));
    assert!(streams.close(Duration::from_secs(30)));
    assert_eq!(lines(&got), ["a -> 2", "b -> 1", "c -> 1", "d -> 1", "e -> 1"]);
}

/// Crash-like: the first instance is dropped without `close` (its threads are abandoned
/// without a final commit) right after more input arrived, under exactly-once. Whatever it
/// had committed, the next instance, with an empty state directory, restores the buffer and
/// the counts from the changelogs and emits every window once.
#[test]
fn suppression_is_exactly_once_across_an_abandoned_instance() {
    let cluster = Cluster::new(&[("clicks", 1), ("final-counts", 1)]);
    let s = 1000;
    let eos = [("processing.guarantee", "exactly_once_v2")];
    let first = [("alice", "/a", s), ("bob", "/b", 2 * s), ("alice", "/c", 3 * s), ("alice", "/d", 12 * s), ("alice", "/e", 15 * s)];
    cluster.produce("clicks", &first);
    let streams = cluster.start_with("crash", final_click_counts(), "state-1", &eos);
    let got = cluster.read_until("final-counts", &BTreeMap::new(), |g| g.len() >= 2);
    assert_eq!(lines(&got), ["alice@0 -> 2", "bob@0 -> 1"]);
    wait_committed(&cluster, "crash", "clicks", first.len() as i64);
    // Processed or not, committed or not: the abandoned instance must not leave a trace.
    cluster.produce("clicks", &[("bob", "/f", 16 * s)]);
    drop(streams);

    let streams = cluster.start_with("crash", final_click_counts(), "state-2", &eos);
    cluster.produce("clicks", &[("carol", "/g", 25 * s)]);
    cluster.produce("clicks", &[("dave", "/h", 41 * s)]);
    let got = cluster.read_until("final-counts", &BTreeMap::new(), |g| g.iter().any(|(_, k, _)| k == "carol@20000"));
    assert!(streams.close(Duration::from_secs(30)));
    assert_eq!(lines(&got), ["alice@0 -> 2", "alice@10000 -> 2", "bob@0 -> 1", "bob@10000 -> 1", "carol@20000 -> 1"]);
}

/// Crash-like with nothing committed: the first instance processes everything inside one open
/// transaction (60 s commit interval) and is abandoned. Its successor has an empty state
/// directory, hence a new process id and transactional id, so it cannot fence the abandoned
/// transaction: as in Kafka, the broker aborts it after `transaction.timeout.ms` (shortened
/// here to 1 s; Kafka Streams uses 10 s, Brook's embedded producer defaults to 60 s), and
/// until then the changelogs' last stable offset holds the restore back. The aborted writes
/// to the changelogs and the output must then leave no trace.
#[test]
fn suppression_ignores_the_aborted_writes_of_an_abandoned_instance() {
    let cluster = Cluster::with_config(
        &[("clicks", 1), ("final-counts", 1)],
        &[("transaction.abort.timed.out.transaction.cleanup.interval.ms", "100")],
    );
    let s = 1000;
    let first = [("alice", "/a", s), ("bob", "/b", 2 * s), ("alice", "/c", 3 * s), ("alice", "/d", 12 * s), ("alice", "/e", 15 * s)];
    cluster.produce("clicks", &first);
    let eos = [("processing.guarantee", "exactly_once_v2"), ("producer.transaction.timeout.ms", "1000")];
    let slow = [eos[0], eos[1], ("commit.interval.ms", "60000")];
    // Uncached, so the updates reach the suppression buffer before any commit.
    let streams = cluster.start_with("abort", click_counts(false), "state-1", &slow);
    // The uncommitted writes reach the logs (the suppression buffer's changelog and the output).
    let deadline = Instant::now() + Duration::from_secs(30);
    while cluster.end_offset("abort-final-store-changelog", 0) == 0 || cluster.end_offset("final-counts", 0) == 0 {
        assert!(Instant::now() < deadline, "the first instance wrote nothing before its commit");
        std::thread::yield_now();
    }
    drop(streams);

    let streams = cluster.start_with("abort", click_counts(false), "state-2", &eos);
    cluster.produce("clicks", &[("carol", "/g", 25 * s)]);
    cluster.produce("clicks", &[("dave", "/h", 41 * s)]);
    let got = cluster.read_until("final-counts", &BTreeMap::new(), |g| g.iter().any(|(_, k, _)| k == "carol@20000"));
    assert!(streams.close(Duration::from_secs(30)));
    assert_eq!(lines(&got), ["alice@0 -> 2", "alice@10000 -> 2", "bob@0 -> 1", "carol@20000 -> 1"]);
}

/// Runs `topology(rec)` as application `app` over one record `k -> value` with header `h=1`
/// on `KafkaStreams`, and returns the serde calls `rec` saw.
fn serde_calls_on_the_runtime(
    app: &str,
    value: &str,
    topology: fn(&crate::serde_context::Recording) -> Topology,
) -> Vec<crate::serde_context::Call> {
    use crate::serde_context::{header, Recording};

    let cluster = Cluster::new(&[("in", 1), ("out", 1)]);
    cluster.produce_with_headers("in", "k", value, vec![header("h", "1")]);
    let rec = Recording::default();
    let streams = cluster.start(app, topology(&rec), "state");
    let got = cluster.read_until("out", &BTreeMap::new(), |g| !g.is_empty());
    assert!(streams.close(Duration::from_secs(30)));
    assert_eq!(got.len(), 1);
    rec.take()
}

/// The serdes of a source, a typed store and a sink see on `KafkaStreams` what they see in the
/// test driver (`serde_context.rs`): the record's topic and headers, the store's changelog topic.
#[test]
fn serdes_see_topic_side_and_headers_on_the_runtime() {
    use crate::serde_context::{papi_calls, papi_topology};
    assert_eq!(serde_calls_on_the_runtime("sctx", "v", papi_topology), papi_calls("sctx"));
}

/// The DSL topology of `serde_context.rs` on `KafkaStreams`: the repartition topic and the
/// count's store pass their topics as in the test driver.
#[test]
fn dsl_serdes_see_topic_side_and_headers_on_the_runtime() {
    use crate::serde_context::{dsl_calls, dsl_topology};
    assert_eq!(serde_calls_on_the_runtime("dsctx", "w", dsl_topology), dsl_calls("dsctx"));
}
