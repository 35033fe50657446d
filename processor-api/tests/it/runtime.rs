//! The runtime over the embedded broker, with a small counting task engine of their own:
//! at-least-once and exactly-once counting, a crash (drop without close) under exactly-once,
//! a rebalance between two instances, restore after wiping the state directory, thread
//! management, the uncaught exception handler, co-partitioning checks, at-least-once commits
//! inside the revocation callback, and standby replicas (placement, convergence, takeover
//! restoring only the tail; with the counting engine and with RocksDB stores; in
//! `runtime/standby.rs`).

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use brook_broker::client::{Producer, ProducerConfig};
use brook_broker::{IsolationLevel, OffsetSpec};
use brook_processor_api::engine::TopicPartition;
use brook_processor_api::runtime::{Embedded, KafkaStreams, State};
use brook_processor_api::{
    AnyTaskId, Error, ConsumerRecord, OutputRecord, RecordCollector, Result, StreamsConfig, SubtopologyInfo, TaskEngine, TaskFactory,
    TaskId, TopologyError, UncaughtExceptionResponse,
};
use bytes::Bytes;

use crate::harness::{config, wait_running, wait_until, TestBroker};

// ---------------------------------------------------------------------------------------------
// A counting engine: counts records per key in memory, logs counts to `<app>-counts-changelog`
// at commit, sends every new count to the output topic, and persists its map with the
// changelog offset (a checkpoint) after commits under at-least-once and on clean close.

#[derive(Debug)]
struct CountFactory {
    app: String,
    input: String,
    output: String,
    copartition_with: Option<String>,
    /// Busy time per record.
    per_record: Duration,
}

impl CountFactory {
    fn new(app: &str) -> Arc<CountFactory> {
        Arc::new(CountFactory {
            app: app.into(),
            input: "input".into(),
            output: "output".into(),
            copartition_with: None,
            per_record: Duration::ZERO,
        })
    }

    fn changelog(&self) -> String {
        format!("{}-counts-changelog", self.app)
    }
}

impl TaskFactory for CountFactory {
    fn subtopologies(&self) -> Vec<SubtopologyInfo> {
        let mut sources = vec![self.input.clone()];
        let mut groups = Vec::new();
        if let Some(other) = &self.copartition_with {
            sources.push(other.clone());
            groups.push(sources.clone());
        }
        vec![SubtopologyInfo {
            id: 0,
            source_topics: sources,
            repartition_source_topics: vec![],
            repartition_sink_topics: vec![],
            repartition_partition_counts: BTreeMap::new(),
            changelog_topics: vec![(self.changelog(), BTreeMap::from([("cleanup.policy".into(), "compact".into())]))],
            copartition_groups: groups,
        }]
    }

    fn create_task(
        &self,
        id: TaskId,
        inputs: Vec<TopicPartition>,
        state_dir: &Path,
        config: &StreamsConfig,
    ) -> Result<Box<dyn TaskEngine>> {
        let dir = state_dir.join(id.to_string());
        std::fs::create_dir_all(&dir).unwrap();
        let changelog = TopicPartition::new(self.changelog(), id.partition);
        let mut engine = CountEngine {
            id,
            dir,
            eos: config.exactly_once(),
            output: self.output.clone(),
            changelog,
            counts: HashMap::new(),
            dirty: BTreeMap::new(),
            buffers: inputs.iter().map(|tp| (tp.clone(), VecDeque::new())).collect(),
            next_offsets: BTreeMap::new(),
            checkpoint: None,
            restored: 0,
            per_record: self.per_record,
        };
        engine.load();
        Ok(Box::new(engine))
    }
}

#[derive(Debug)]
struct CountEngine {
    id: TaskId,
    dir: PathBuf,
    eos: bool,
    output: String,
    changelog: TopicPartition,
    counts: HashMap<Bytes, u64>,
    dirty: BTreeMap<Bytes, u64>,
    buffers: BTreeMap<TopicPartition, VecDeque<ConsumerRecord>>,
    next_offsets: BTreeMap<TopicPartition, i64>,
    /// Changelog offset the persisted map covers.
    checkpoint: Option<i64>,
    restored: usize,
    per_record: Duration,
}

impl CountEngine {
    fn store_file(&self) -> PathBuf {
        self.dir.join("counts")
    }

    /// Loads the persisted map and its checkpoint; under exactly-once the checkpoint is
    /// deleted once read, so a crash means a full restore.
    fn load(&mut self) {
        let Ok(text) = std::fs::read_to_string(self.store_file()) else { return };
        let mut lines = text.lines();
        let Some(offset) = lines.next().and_then(|l| l.parse().ok()) else { return };
        for l in lines {
            if let Some((k, v)) = l.split_once('\t') {
                self.counts.insert(Bytes::from(k.to_owned()), v.parse().unwrap());
            }
        }
        self.checkpoint = Some(offset);
        if self.eos {
            std::fs::remove_file(self.store_file()).unwrap();
        }
    }

    fn persist(&self, offset: i64) {
        let mut text = format!("{offset}\n");
        for (k, v) in &self.counts {
            text.push_str(&format!("{}\t{v}\n", String::from_utf8_lossy(k)));
        }
        let tmp = self.dir.join("counts.tmp");
        std::fs::write(&tmp, text).unwrap();
        std::fs::rename(tmp, self.store_file()).unwrap();
    }
}

impl TaskEngine for CountEngine {
    fn id(&self) -> AnyTaskId {
        self.id.into()
    }

    fn changelog_start_offsets(&self) -> BTreeMap<TopicPartition, i64> {
        BTreeMap::from([(self.changelog.clone(), self.checkpoint.unwrap_or(0))])
    }

    fn restore(&mut self, changelog: &TopicPartition, records: &[ConsumerRecord]) -> Result<()> {
        assert_eq!(changelog, &self.changelog);
        for r in records {
            let key = r.key.clone().unwrap();
            match &r.value {
                Some(v) => {
                    self.counts.insert(key, std::str::from_utf8(v).unwrap().parse().unwrap());
                }
                None => {
                    self.counts.remove(&key);
                }
            }
            self.restored += 1;
        }
        Ok(())
    }

    fn initialize(&mut self) -> Result<()> {
        Ok(())
    }

    fn add_records(&mut self, partition: &TopicPartition, records: Vec<ConsumerRecord>) {
        self.buffers.entry(partition.clone()).or_default().extend(records);
    }

    fn buffered(&self, partition: &TopicPartition) -> usize {
        self.buffers.get(partition).map_or(0, VecDeque::len)
    }

    fn process(&mut self, _wall_clock_ms: i64, out: &mut dyn RecordCollector) -> Result<bool> {
        let next = self.buffers.iter().filter_map(|(tp, q)| q.front().map(|r| (r.timestamp, tp.clone()))).min();
        let Some((_, tp)) = next else { return Ok(false) };
        let r = self.buffers.get_mut(&tp).unwrap().pop_front().unwrap();
        self.next_offsets.insert(tp, r.offset + 1);
        let key = r.key.clone().unwrap_or_default();
        if !self.per_record.is_zero() {
            let until = Instant::now() + self.per_record;
            while Instant::now() < until {
                std::hint::spin_loop();
            }
        }
        if key.as_ref() == b"poison" {
            return Err(Error::Processing { processor: "count".into(), message: "poison record".into() });
        }
        let n = self.counts.entry(key.clone()).or_insert(0);
        *n += 1;
        let n = *n;
        self.dirty.insert(key.clone(), n);
        out.send(OutputRecord {
            topic: self.output.as_str().into(),
            partition: None,
            key: Some(key),
            value: Some(Bytes::from(n.to_string())),
            timestamp: r.timestamp,
            headers: vec![],
        })?;
        Ok(true)
    }

    fn punctuate(&mut self, _wall_clock_ms: i64, _out: &mut dyn RecordCollector) -> Result<bool> {
        Ok(false)
    }

    fn prepare_commit(&mut self, out: &mut dyn RecordCollector) -> Result<BTreeMap<TopicPartition, i64>> {
        for (k, n) in std::mem::take(&mut self.dirty) {
            out.send(OutputRecord {
                topic: self.changelog.topic.as_str().into(),
                partition: Some(self.changelog.partition),
                key: Some(k),
                value: Some(Bytes::from(n.to_string())),
                timestamp: 0,
                headers: vec![],
            })?;
        }
        Ok(std::mem::take(&mut self.next_offsets))
    }

    fn post_commit(&mut self, changelog_offsets: &BTreeMap<TopicPartition, i64>) -> Result<()> {
        if let Some(&o) = changelog_offsets.get(&self.changelog) {
            self.checkpoint = Some(o);
            if !self.eos {
                self.persist(o);
            }
        }
        Ok(())
    }

    fn commit_requested(&mut self) -> bool {
        false
    }

    fn close(&mut self, clean: bool) -> Result<()> {
        if clean && self.dirty.is_empty() {
            if let Some(o) = self.checkpoint {
                self.persist(o);
            }
        }
        Ok(())
    }

    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

// ---------------------------------------------------------------------------------------------
// Harness.

fn records(keys: usize, per_key: usize, tag: &str) -> Vec<(String, String)> {
    let mut v = Vec::new();
    for i in 0..per_key {
        for k in 0..keys {
            v.push((format!("key-{k}"), format!("{tag}-{i}")));
        }
    }
    v
}

fn expect_counts(keys: usize, n: u64) -> BTreeMap<String, u64> {
    (0..keys).map(|k| (format!("key-{k}"), n)).collect()
}

fn local_tasks(s: &KafkaStreams) -> Vec<TaskId> {
    s.metadata_for_local_threads().into_iter().flat_map(|t| t.active_tasks).collect()
}

/// Checks that under exactly-once every key's committed outputs are exactly 1, 2, ..., n.
fn assert_exact_sequences(outputs: &[(String, String)], keys: usize, n: u64) {
    let mut per_key: BTreeMap<&str, Vec<u64>> = BTreeMap::new();
    for (k, v) in outputs {
        per_key.entry(k).or_default().push(v.parse().unwrap());
    }
    assert_eq!(per_key.len(), keys);
    for (k, seq) in per_key {
        assert_eq!(seq, (1..=n).collect::<Vec<_>>(), "outputs of {k}");
    }
}

// ---------------------------------------------------------------------------------------------
// Tests.

#[test]
fn at_least_once_counts_and_walks_through_the_states() {
    let b = TestBroker::new();
    b.create("input", 3);
    b.create("output", 3);
    b.produce("input", &records(10, 20, "a"));
    let dir = tempfile::tempdir().unwrap();
    let streams = KafkaStreams::new(
        CountFactory::new("alos"),
        config("alos", dir.path(), false),
        Embedded::new(b.broker.clone()),
    )
    .unwrap();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let s2 = seen.clone();
    streams.set_state_listener(move |new, old| s2.lock().unwrap().push((old, new))).unwrap();
    assert_eq!(streams.state(), State::Created);
    streams.start().unwrap();
    assert!(matches!(streams.start(), Err(Error::IllegalState(_))));
    wait_running(&streams);
    wait_until("counts of 20", Duration::from_secs(30), || b.final_counts(false) == expect_counts(10, 20));
    let mut tasks = local_tasks(&streams);
    tasks.sort();
    assert_eq!(tasks.iter().map(ToString::to_string).collect::<Vec<_>>(), ["0_0", "0_1", "0_2"]);
    // The changelog got the counts too.
    wait_until("changelog", Duration::from_secs(10), || {
        let log: BTreeMap<String, String> = b.read_all("alos-counts-changelog", false).into_iter().collect();
        log.len() == 10 && log.values().all(|v| v == "20")
    });
    assert!(streams.close(Duration::from_secs(30)));
    assert_eq!(streams.state(), State::NotRunning);
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.first(), Some(&(State::Created, State::Rebalancing)));
    assert!(seen.contains(&(State::Rebalancing, State::Running)));
    assert_eq!(
        &seen[seen.len() - 2..],
        &[(State::Running, State::PendingShutdown), (State::PendingShutdown, State::NotRunning)]
    );
    // Offsets were committed: a restart reads nothing again and counts go on.
    let streams = KafkaStreams::new(
        CountFactory::new("alos"),
        config("alos", dir.path(), false),
        Embedded::new(b.broker.clone()),
    )
    .unwrap();
    streams.start().unwrap();
    wait_running(&streams);
    b.produce("input", &records(10, 1, "b"));
    wait_until("counts of 21", Duration::from_secs(30), || b.final_counts(false) == expect_counts(10, 21));
    assert!(streams.close(Duration::from_secs(30)));
}

#[test]
fn exactly_once_counts_exactly_across_a_crash() {
    let b = TestBroker::new();
    b.create("input", 2);
    b.create("output", 2);
    let dir = tempfile::tempdir().unwrap();
    let make = || {
        KafkaStreams::new(CountFactory::new("eos"), config("eos", dir.path(), true), Embedded::new(b.broker.clone()))
            .unwrap()
    };
    b.produce("input", &records(8, 50, "a"));
    let streams = make();
    streams.start().unwrap();
    wait_until("counts of 50", Duration::from_secs(30), || b.final_counts(true) == expect_counts(8, 50));
    let meta = streams.metadata_for_local_threads();
    assert_eq!(meta[0].transactional_id.as_deref(), Some(format!("eos-{}-1", streams.process_id()).as_str()));
    // Crash while a lot of input is in flight: dropped without close, nothing committed.
    b.produce("input", &records(8, 200, "b"));
    wait_until("some progress", Duration::from_secs(30), || b.read_all("output", false).len() > 8 * 50);
    drop(streams);
    let streams = make();
    streams.start().unwrap();
    wait_until("counts of 250", Duration::from_secs(60), || b.final_counts(true) == expect_counts(8, 250));
    assert_exact_sequences(&b.read_all("output", true), 8, 250);
    assert!(streams.close(Duration::from_secs(30)));
    // Uncommitted output of the crashed instance was aborted, not lost: read_uncommitted sees
    // at least as many records.
    assert!(b.read_all("output", false).len() >= 8 * 250);
}

#[test]
fn two_instances_split_the_tasks_and_take_over_each_others() {
    let b = TestBroker::new();
    b.create("input", 4);
    b.create("output", 4);
    let dir_a = tempfile::tempdir().unwrap();
    let dir_b = tempfile::tempdir().unwrap();
    let a = KafkaStreams::new(
        CountFactory::new("scale"),
        config("scale", dir_a.path(), true),
        Embedded::new(b.broker.clone()),
    )
    .unwrap();
    let c = KafkaStreams::new(
        CountFactory::new("scale"),
        config("scale", dir_b.path(), true),
        Embedded::new(b.broker.clone()),
    )
    .unwrap();
    assert_ne!(a.process_id(), c.process_id());
    a.start().unwrap();
    wait_running(&a);
    wait_until("a owns all tasks", Duration::from_secs(30), || local_tasks(&a).len() == 4);
    b.produce("input", &records(12, 10, "a"));
    wait_until("counts of 10", Duration::from_secs(30), || b.final_counts(true) == expect_counts(12, 10));
    c.start().unwrap();
    wait_until("the tasks are split", Duration::from_secs(30), || {
        let (ta, tc) = (local_tasks(&a), local_tasks(&c));
        a.state() == State::Running && c.state() == State::Running && ta.len() == 2 && tc.len() == 2
    });
    let mut all: Vec<TaskId> = local_tasks(&a).into_iter().chain(local_tasks(&c)).collect();
    all.sort();
    all.dedup();
    assert_eq!(all.len(), 4);
    b.produce("input", &records(12, 10, "b"));
    wait_until("counts of 20", Duration::from_secs(30), || b.final_counts(true) == expect_counts(12, 20));
    // The key's task is local on exactly one of the two.
    let ma = a.query_metadata_for_key("counts", b"key-3").unwrap();
    let mc = c.query_metadata_for_key("counts", b"key-3").unwrap();
    assert_eq!(ma.partition, brook_broker::client::partitioner::partition_for_key(b"key-3", 4));
    assert_eq!(ma.task, mc.task);
    assert!(ma.local != mc.local);
    assert!(ma.owner_client_id.is_some());
    assert!(matches!(a.query_metadata_for_key("nope", b"k"), Err(Error::Config(_))));
    // Stop one: the other restores its tasks from the changelogs and goes on exactly.
    assert!(c.close(Duration::from_secs(30)));
    wait_until("a owns all tasks again", Duration::from_secs(30), || {
        local_tasks(&a).len() == 4 && a.state() == State::Running
    });
    b.produce("input", &records(12, 10, "c"));
    wait_until("counts of 30", Duration::from_secs(30), || b.final_counts(true) == expect_counts(12, 30));
    assert_exact_sequences(&b.read_all("output", true), 12, 30);
    assert!(a.close(Duration::from_secs(30)));
}

#[test]
fn state_is_restored_from_the_changelog_after_cleanup() {
    let b = TestBroker::new();
    b.create("input", 2);
    b.create("output", 2);
    let dir = tempfile::tempdir().unwrap();
    let make = || {
        KafkaStreams::new(
            CountFactory::new("restore"),
            config("restore", dir.path(), false),
            Embedded::new(b.broker.clone()),
        )
        .unwrap()
    };
    b.produce("input", &records(5, 30, "a"));
    let streams = make();
    streams.start().unwrap();
    wait_until("counts of 30", Duration::from_secs(30), || b.final_counts(false) == expect_counts(5, 30));
    assert!(matches!(streams.cleanup(), Err(Error::IllegalState(_))));
    assert!(streams.close(Duration::from_secs(30)));
    let process_id = streams.process_id().to_owned();
    // A clean close left checkpoints: a restart restores nothing.
    let streams = make();
    streams.start().unwrap();
    wait_running(&streams);
    let mut restored = 0;
    streams.with_tasks(|_, e| restored += e.as_any().downcast_ref::<CountEngine>().unwrap().restored);
    assert_eq!(restored, 0);
    assert!(streams.close(Duration::from_secs(30)));
    streams.cleanup().unwrap();
    let app_dir = dir.path().join("restore");
    let mut left: Vec<_> = std::fs::read_dir(&app_dir).unwrap().map(|e| e.unwrap().file_name()).collect();
    left.sort();
    assert_eq!(left, [".lock", "kafka-streams-process-metadata"]);
    // Wiped: everything comes back from the changelog, and counting goes on from there.
    let streams = make();
    assert_eq!(streams.process_id(), process_id);
    streams.start().unwrap();
    wait_running(&streams);
    let mut restored = 0;
    let mut total = 0;
    streams.with_tasks(|_, e| {
        let e = e.as_any().downcast_ref::<CountEngine>().unwrap();
        restored += e.restored;
        total += e.counts.values().sum::<u64>();
    });
    assert!(restored >= 5, "restored {restored} changelog records");
    assert_eq!(total, 150);
    b.produce("input", &records(5, 1, "b"));
    wait_until("counts of 31", Duration::from_secs(30), || b.final_counts(false) == expect_counts(5, 31));
    assert!(streams.close(Duration::from_secs(30)));
}

#[test]
fn stream_threads_can_be_added_and_removed() {
    let b = TestBroker::new();
    b.create("input", 4);
    b.create("output", 4);
    let dir = tempfile::tempdir().unwrap();
    let streams = KafkaStreams::new(
        CountFactory::new("threads"),
        config("threads", dir.path(), false),
        Embedded::new(b.broker.clone()),
    )
    .unwrap();
    assert!(matches!(streams.add_stream_thread(), Err(Error::IllegalState(_))));
    streams.start().unwrap();
    wait_running(&streams);
    let name = streams.add_stream_thread().unwrap();
    assert!(name.ends_with("StreamThread-2"), "{name}");
    wait_until("two threads share the tasks", Duration::from_secs(30), || {
        let m = streams.metadata_for_local_threads();
        streams.state() == State::Running && m.len() == 2 && m.iter().all(|t| t.active_tasks.len() == 2)
    });
    b.produce("input", &records(6, 5, "a"));
    wait_until("counts of 5", Duration::from_secs(30), || b.final_counts(false) == expect_counts(6, 5));
    let removed = streams.remove_stream_thread(Duration::from_secs(30)).unwrap();
    assert_eq!(removed.as_deref(), Some(name.as_str()));
    wait_until("one thread owns all tasks", Duration::from_secs(30), || {
        let m = streams.metadata_for_local_threads();
        streams.state() == State::Running && m.len() == 1 && m[0].active_tasks.len() == 4
    });
    b.produce("input", &records(6, 5, "b"));
    wait_until("counts of 10", Duration::from_secs(30), || b.final_counts(false) >= expect_counts(6, 10));
    assert!(streams.close(Duration::from_secs(30)));
}

#[test]
fn an_uncaught_error_shuts_the_client_down_or_replaces_the_thread() {
    let b = TestBroker::new();
    b.create("input", 1);
    b.create("output", 1);
    let dir = tempfile::tempdir().unwrap();
    let streams = KafkaStreams::new(
        CountFactory::new("poison"),
        config("poison", dir.path(), false),
        Embedded::new(b.broker.clone()),
    )
    .unwrap();
    let seen = Arc::new(Mutex::new(0));
    let s2 = seen.clone();
    streams
        .set_uncaught_exception_handler(move |e| {
            assert!(matches!(e, Error::Processing { .. }), "{e}");
            let mut n = s2.lock().unwrap();
            *n += 1;
            if *n == 1 {
                UncaughtExceptionResponse::ReplaceThread
            } else {
                UncaughtExceptionResponse::ShutdownClient
            }
        })
        .unwrap();
    streams.start().unwrap();
    wait_running(&streams);
    b.produce("input", &[("poison", "x")]);
    // The replacement thread meets the same record and the handler shuts the client down.
    let (st, ok) = streams.wait_for_state(Duration::from_secs(30), |s| s == State::Error);
    assert!(ok, "state {st}");
    assert_eq!(*seen.lock().unwrap(), 2);
    assert!(streams.close(Duration::from_secs(5)));
    assert_eq!(streams.state(), State::Error);
}

#[test]
fn start_checks_source_topics_and_co_partitioning() {
    let b = TestBroker::new();
    b.create("output", 1);
    let dir = tempfile::tempdir().unwrap();
    let streams = KafkaStreams::new(
        CountFactory::new("topics"),
        config("topics", dir.path(), false),
        Embedded::new(b.broker.clone()),
    )
    .unwrap();
    let err = streams.start().unwrap_err();
    assert!(
        matches!(&err, Error::Topology(TopologyError::MissingSourceTopic { topic, subtopology: 0 }) if topic == "input"),
        "{err}"
    );
    b.create("input", 3);
    b.create("other", 2);
    let factory = Arc::new(CountFactory {
        copartition_with: Some("other".into()),
        ..(*CountFactory::new("topics")).clone_fields()
    });
    let streams =
        KafkaStreams::new(factory, config("topics", dir.path(), false), Embedded::new(b.broker.clone())).unwrap();
    let err = streams.start().unwrap_err();
    assert!(
        matches!(&err, Error::Topology(TopologyError::NotCopartitioned { counts, .. })
            if counts == &[("input".to_owned(), 3), ("other".to_owned(), 2)]),
        "{err}"
    );
    assert_eq!(streams.state(), State::Created);
    // Internal topics are created with the sub-topology's partition count.
    let streams = KafkaStreams::new(
        CountFactory::new("topics"),
        config("topics", dir.path(), false),
        Embedded::new(b.broker.clone()),
    )
    .unwrap();
    streams.start().unwrap();
    assert_eq!(b.broker.partition_count("topics-counts-changelog", false).unwrap(), 3);
    assert_eq!(
        b.broker.describe_topic("topics-counts-changelog").unwrap().config.get("cleanup.policy").as_deref(),
        Some("compact")
    );
    assert!(streams.close(Duration::from_secs(30)));
    let closed = streams.key_value_store(brook_processor_api::runtime::StoreQueryParameters::from_name("counts"));
    assert!(matches!(closed, Err(Error::InvalidStateStore(_))), "{closed:?}");
}

impl CountFactory {
    fn clone_fields(&self) -> CountFactory {
        CountFactory {
            app: self.app.clone(),
            input: self.input.clone(),
            output: self.output.clone(),
            copartition_with: self.copartition_with.clone(),
            per_record: self.per_record,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The same counting, with the Processor API's Topology and TopologyTaskFactory (RocksDB store).

mod topology {
    use std::sync::Arc;

    use brook_processor_api::{
        Processor, ProcessorContext, Record, Result, SinkOptions, SourceOptions, StreamsConfig, Topology,
        TopologyTaskFactory,
    };
    use brook_state_store::{KeyValueStore, Stores, StringSerde};
    use bytes::Bytes;

    struct Count;

    impl Processor<Option<String>, Option<String>, String, String> for Count {
        fn process(
            &mut self,
            ctx: &mut ProcessorContext<'_, String, String>,
            r: Record<Option<String>, Option<String>>,
        ) -> Result<()> {
            let store: &mut dyn KeyValueStore = ctx.get_key_value_store("counts")?;
            let key = r.key().clone().unwrap_or_default();
            let old: u64 = match store.get(key.as_bytes())? {
                Some(b) => std::str::from_utf8(&b).ok().and_then(|s| s.parse().ok()).unwrap_or(0),
                None => 0,
            };
            let new = (old + 1).to_string();
            store.put(Bytes::from(key.clone()), Some(Bytes::from(new.clone())))?;
            ctx.forward(r.with_key(key).with_value(new))
        }
    }

    pub(crate) fn factory(config: &StreamsConfig) -> Arc<TopologyTaskFactory> {
        let mut t = Topology::new();
        t.add_source(
            "source",
            SourceOptions::topics(["input"]).with_serdes(Arc::new(StringSerde), Arc::new(StringSerde)),
        )
        .unwrap()
        .add_processor("count", || Count, &["source"])
        .unwrap()
        .add_state_store(Stores::persistent_key_value_store("counts"), &["count"])
        .unwrap()
        .add_sink("sink", SinkOptions::topic("output", Arc::new(StringSerde), Arc::new(StringSerde)), &["count"])
        .unwrap();
        Arc::new(TopologyTaskFactory::new(t, config).unwrap())
    }
}

#[test]
fn a_processor_api_topology_counts_exactly_once_across_a_crash() {
    let b = TestBroker::new();
    b.create("input", 2);
    b.create("output", 2);
    let dir = tempfile::tempdir().unwrap();
    let make = || {
        let c = config("topo", dir.path(), true);
        KafkaStreams::new(topology::factory(&c), c, Embedded::new(b.broker.clone())).unwrap()
    };
    b.produce("input", &records(6, 40, "a"));
    let streams = make();
    streams.start().unwrap();
    wait_until("counts of 40", Duration::from_secs(30), || b.final_counts(true) == expect_counts(6, 40));
    b.produce("input", &records(6, 100, "b"));
    wait_until("some progress", Duration::from_secs(30), || b.read_all("output", false).len() > 6 * 40);
    drop(streams);
    let streams = make();
    streams.start().unwrap();
    wait_until("counts of 140", Duration::from_secs(60), || b.final_counts(true) == expect_counts(6, 140));
    assert_exact_sequences(&b.read_all("output", true), 6, 140);
    assert!(streams.close(Duration::from_secs(30)));
    // Clean close, wipe, restart: the RocksDB store comes back from the changelog.
    streams.cleanup().unwrap();
    let streams = make();
    streams.start().unwrap();
    b.produce("input", &records(6, 1, "c"));
    wait_until("counts of 141", Duration::from_secs(60), || b.final_counts(true) == expect_counts(6, 141));
    assert!(streams.close(Duration::from_secs(30)));
}

#[test]
fn a_fenced_thread_aborts_restores_and_stays_exact() {
    let b = TestBroker::new();
    b.create("input", 2);
    b.create("output", 2);
    let dir = tempfile::tempdir().unwrap();
    let streams = KafkaStreams::new(
        CountFactory::new("fence"),
        config("fence", dir.path(), true),
        Embedded::new(b.broker.clone()),
    )
    .unwrap();
    streams.start().unwrap();
    wait_running(&streams);
    b.produce("input", &records(4, 20, "a"));
    wait_until("counts of 20", Duration::from_secs(30), || b.final_counts(true) == expect_counts(4, 20));
    // A zombie-maker: another producer with the thread's transactional id bumps the epoch.
    let txn_id = streams.metadata_for_local_threads()[0].transactional_id.clone().unwrap();
    {
        let _g = b.rt.enter();
        let pc = ProducerConfig { transactional_id: Some(txn_id), ..Default::default() };
        let p = Producer::new(b.broker.clone(), pc).unwrap();
        p.init_transactions().unwrap();
    }
    b.produce("input", &records(4, 30, "b"));
    wait_until("counts of 50", Duration::from_secs(30), || b.final_counts(true) == expect_counts(4, 50));
    assert_exact_sequences(&b.read_all("output", true), 4, 50);
    assert_eq!(streams.state(), State::Running);
    assert!(streams.close(Duration::from_secs(30)));
}

#[test]
fn two_instances_cannot_share_a_state_directory() {
    let b = TestBroker::new();
    b.create("input", 1);
    b.create("output", 1);
    let dir = tempfile::tempdir().unwrap();
    let make = || {
        KafkaStreams::new(CountFactory::new("lock"), config("lock", dir.path(), true), Embedded::new(b.broker.clone()))
            .unwrap()
    };
    let first = make();
    first.start().unwrap();
    let second = make();
    assert_eq!(first.process_id(), second.process_id());
    let err = second.start().unwrap_err();
    let holder = format!("(pid {})", std::process::id());
    assert!(matches!(&err, Error::IllegalState(m) if m.contains("in use by another instance") && m.contains(&holder)), "{err}");
    assert!(first.close(Duration::from_secs(30)));
    second.start().unwrap();
    assert!(second.close(Duration::from_secs(30)));
}

#[test]
fn shutdown_application_stops_every_instance() {
    let b = TestBroker::new();
    b.create("input", 2);
    b.create("output", 2);
    let dirs = [tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap()];
    let instances: Vec<KafkaStreams> = dirs
        .iter()
        .map(|d| {
            let s = KafkaStreams::new(
                CountFactory::new("app-stop"),
                config("app-stop", d.path(), false),
                Embedded::new(b.broker.clone()),
            )
            .unwrap();
            s.set_uncaught_exception_handler(|_| UncaughtExceptionResponse::ShutdownApplication).unwrap();
            s.start().unwrap();
            s
        })
        .collect();
    wait_until("the tasks are split", Duration::from_secs(30), || {
        instances.iter().all(|s| s.state() == State::Running && local_tasks(s).len() == 1)
    });
    // One poison record: only the instance owning its partition fails, and both stop.
    b.produce("input", &[("poison", "x")]);
    for s in &instances {
        let (st, ok) = s.wait_for_state(Duration::from_secs(30), |s| s == State::Error);
        assert!(ok, "state {st}");
    }
}

#[test]
fn a_busy_thread_keeps_its_group_membership() {
    let b = TestBroker::new();
    b.create("input", 1);
    b.create("output", 1);
    let dir = tempfile::tempdir().unwrap();
    let mut c = config("busy", dir.path(), true);
    // Three seconds: a heartbeat thread descheduled for a second on a loaded machine (CI runs
    // many tests on two cores) is not what this test is about.
    c.session_timeout = Duration::from_millis(3000);
    c.heartbeat_interval = Duration::from_millis(200);
    let factory =
        Arc::new(CountFactory { per_record: Duration::from_micros(300), ..CountFactory::new("busy").clone_fields() });
    let streams = KafkaStreams::new(factory, c, Embedded::new(b.broker.clone())).unwrap();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let s2 = seen.clone();
    streams.set_state_listener(move |new, old| s2.lock().unwrap().push((old, new))).unwrap();
    streams.start().unwrap();
    wait_running(&streams);
    // Over 6 s of uninterrupted processing, two session timeouts.
    b.produce("input", &records(10, 2100, "a"));
    wait_until("counts of 2100", Duration::from_secs(120), || b.final_counts(true) == expect_counts(10, 2100));
    let seen = seen.lock().unwrap().clone();
    assert_eq!(
        seen,
        [(State::Created, State::Rebalancing), (State::Rebalancing, State::Running)],
        "no rebalance while busy"
    );
    assert!(streams.close(Duration::from_secs(30)));
}

// ---------------------------------------------------------------------------------------------
// The Kafka client seam (librdkafka) against the broker's wire-protocol server.

#[cfg(feature = "kafka")]
mod over_kafka {
    use super::standby::{active_counts, standby_counts, standby_tasks};
    use super::*;
    use brook_processor_api::runtime::Kafka;

    /// Serves the Kafka protocol for the test broker; returns `host:port`.
    fn serve(b: &TestBroker) -> String {
        let listener = b.rt.block_on(tokio::net::TcpListener::bind("127.0.0.1:0")).unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let config =
            brook_broker::server::ServerConfig { listen: listener.local_addr().unwrap(), ..Default::default() };
        let broker = b.broker.clone();
        b.rt.spawn(async move {
            brook_broker::server::serve(broker, listener, config, std::future::pending::<()>()).await.unwrap();
        });
        addr
    }

    fn start(addr: &str, dir: &Path, eos: bool) -> KafkaStreams {
        let mut c = config("kafka-seam", dir, eos);
        c.set("bootstrap.servers", addr).unwrap();
        let s = KafkaStreams::new(CountFactory::new("kafka-seam"), c, Kafka::new(addr)).unwrap();
        s.start().unwrap();
        s
    }

    fn rebalance_between_two_instances(eos: bool) {
        let b = TestBroker::new();
        b.create("input", 4);
        b.create("output", 4);
        let addr = serve(&b);
        let (dir_a, dir_c) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let a = start(&addr, dir_a.path(), eos);
        wait_until("a owns all tasks", Duration::from_secs(60), || {
            local_tasks(&a).len() == 4 && a.state() == State::Running
        });
        b.produce("input", &records(8, 10, "a"));
        wait_until("counts of 10", Duration::from_secs(60), || b.final_counts(eos) == expect_counts(8, 10));
        let c = start(&addr, dir_c.path(), eos);
        wait_until("the tasks are split", Duration::from_secs(60), || {
            local_tasks(&a).len() == 2
                && local_tasks(&c).len() == 2
                && a.state() == State::Running
                && c.state() == State::Running
        });
        b.produce("input", &records(8, 10, "b"));
        wait_until("counts of 20", Duration::from_secs(60), || {
            let got = b.final_counts(eos);
            if eos {
                got == expect_counts(8, 20)
            } else {
                got >= expect_counts(8, 20)
            }
        });
        assert!(c.close(Duration::from_secs(30)));
        wait_until("a owns all tasks again", Duration::from_secs(60), || {
            local_tasks(&a).len() == 4 && a.state() == State::Running
        });
        b.produce("input", &records(8, 10, "c"));
        wait_until("counts of 30", Duration::from_secs(60), || {
            let got = b.final_counts(eos);
            if eos {
                got == expect_counts(8, 30)
            } else {
                got >= expect_counts(8, 30)
            }
        });
        if eos {
            assert_exact_sequences(&b.read_all("output", true), 8, 30);
        }
        assert!(a.close(Duration::from_secs(30)));
    }

    #[test]
    fn two_instances_rebalance_over_the_kafka_protocol_exactly_once() {
        rebalance_between_two_instances(true);
    }

    #[test]
    fn two_instances_rebalance_over_the_kafka_protocol_at_least_once() {
        rebalance_between_two_instances(false);
    }

    /// Standby placement reads the group through DescribeGroups (member client ids and
    /// assignments) over the wire.
    #[test]
    fn standby_tasks_are_placed_over_the_kafka_protocol() {
        let b = TestBroker::new();
        b.create("input", 2);
        b.create("output", 2);
        let addr = serve(&b);
        let (dir_a, dir_c) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let start = |dir: &Path| {
            let mut c = config("kafka-standby", dir, false);
            c.set("bootstrap.servers", &addr).unwrap();
            c.set("num.standby.replicas", "1").unwrap();
            let s = KafkaStreams::new(CountFactory::new("kafka-standby"), c, Kafka::new(&addr)).unwrap();
            s.start().unwrap();
            s
        };
        let a = start(dir_a.path());
        b.produce("input", &records(8, 10, "a"));
        wait_until("counts of 10", Duration::from_secs(60), || b.final_counts(false) >= expect_counts(8, 10));
        let c = start(dir_c.path());
        wait_until("tasks split with standbys", Duration::from_secs(60), || {
            let (ta, tc) = (local_tasks(&a), local_tasks(&c));
            ta.len() == 1 && tc.len() == 1 && standby_tasks(&a) == tc && standby_tasks(&c) == ta
        });
        wait_until("standbys converge", Duration::from_secs(60), || {
            standby_counts(&c) == active_counts(&a) && standby_counts(&a) == active_counts(&c)
        });
        assert!(c.close(Duration::from_secs(30)));
        assert!(a.close(Duration::from_secs(30)));
    }
}

#[test]
fn at_least_once_commits_inside_the_revocation_callback_so_counts_stay_exact() {
    let b = TestBroker::new();
    b.create("input", 4);
    b.create("output", 4);
    let (dir_a, dir_c) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let make = |dir: &Path| {
        let mut c = config("alos-rebalance", dir, false);
        // Nothing is committed by the interval: only rebalances and close commit.
        c.commit_interval = Duration::from_secs(600);
        KafkaStreams::new(CountFactory::new("alos-rebalance"), c, Embedded::new(b.broker.clone())).unwrap()
    };
    let a = make(dir_a.path());
    a.start().unwrap();
    b.produce("input", &records(8, 10, "a"));
    wait_until("counts of 10", Duration::from_secs(30), || b.final_counts(false) == expect_counts(8, 10));
    let c = make(dir_c.path());
    c.start().unwrap();
    wait_until("the tasks are split", Duration::from_secs(30), || {
        a.state() == State::Running
            && c.state() == State::Running
            && local_tasks(&a).len() == 2
            && local_tasks(&c).len() == 2
    });
    b.produce("input", &records(8, 10, "b"));
    wait_until("counts of 20", Duration::from_secs(30), || b.final_counts(false) == expect_counts(8, 20));
    assert!(c.close(Duration::from_secs(30)));
    wait_until("a owns all tasks again", Duration::from_secs(30), || {
        local_tasks(&a).len() == 4 && a.state() == State::Running
    });
    b.produce("input", &records(8, 10, "c"));
    wait_until("counts of 30", Duration::from_secs(30), || b.final_counts(false) == expect_counts(8, 30));
    // Nothing was processed twice.
    assert_eq!(b.read_all("output", false).len(), 8 * 30);
    assert!(a.close(Duration::from_secs(30)));
}

#[test]
fn the_client_can_be_shared_across_threads() {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<KafkaStreams>();
    send_sync::<Embedded>();
}

#[path = "runtime/standby.rs"]
mod standby;
