//! The task engine driven directly, as the runtime does.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use brook_processor_api::{
    AnyTaskId, ConsumerRecord, OutputRecord, Processor, ProcessorContext, Record, RecordCollector, Result, SinkOptions, SourceOptions,
    StreamTask, TaskEngine, TaskFactory, TaskId, Topology, TopologyTaskFactory,
};
use brook_processor_api::engine::TopicPartition;
use brook_state_store::{FlushedRecord, I64Serde, KeyValueSpec, Serde, StoreBuilder, Stores};
use bytes::Bytes;

use crate::common::{config, longs, strings, word_count};

#[derive(Default)]
struct Collect(Vec<OutputRecord>);

impl RecordCollector for Collect {
    fn send(&mut self, record: OutputRecord) -> Result<()> {
        self.0.push(record);
        Ok(())
    }
}

fn rec(topic: &str, offset: i64, ts: i64, value: &str) -> ConsumerRecord {
    ConsumerRecord {
        topic: Arc::from(topic),
        partition: 0,
        offset,
        timestamp: ts,
        key: Some(Bytes::from_static(b"k")),
        value: Some(Bytes::copy_from_slice(value.as_bytes())),
        headers: Vec::new(),
    }
}

fn app_dir(root: &std::path::Path) -> std::path::PathBuf {
    root.join("test-app")
}

fn two_topics() -> Topology {
    let mut t = Topology::new();
    t.add_source("src", SourceOptions::topics(["a", "b"]).with_serdes(strings(), strings()))
        .unwrap()
        .add_sink("out", SinkOptions::topic("out", strings(), strings()), &["src"])
        .unwrap();
    t
}

fn values(c: &Collect) -> Vec<String> {
    c.0.iter().map(|r| String::from_utf8(r.value.clone().unwrap().to_vec()).unwrap()).collect()
}

#[test]
fn records_are_processed_in_timestamp_order_across_partitions() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path());
    let factory = TopologyTaskFactory::new(two_topics(), &cfg).unwrap();
    let (a, b) = (TopicPartition::new("a", 0), TopicPartition::new("b", 0));
    let mut task = factory.create_task(TaskId { subtopology: 0, partition: 0 }, vec![a.clone(), b.clone()], &app_dir(dir.path()), &cfg).unwrap();
    task.initialize().unwrap();
    task.add_records(&a, vec![rec("a", 0, 1, "a1"), rec("a", 1, 5, "a5"), rec("a", 2, 9, "a9")]);
    task.add_records(&b, vec![rec("b", 0, 2, "b2"), rec("b", 1, 3, "b3"), rec("b", 2, 10, "b10")]);
    assert_eq!((task.buffered(&a), task.buffered(&b)), (3, 3));
    let mut out = Collect::default();
    while task.process(0, &mut out).unwrap() {}
    assert_eq!(values(&out), vec!["a1", "b2", "b3", "a5", "a9", "b10"]);
    let offsets = task.prepare_commit(&mut out).unwrap();
    assert_eq!(offsets, BTreeMap::from([(a, 3), (b, 3)]));
    let st = task.as_any().downcast_ref::<StreamTask>().unwrap().stream_time();
    assert_eq!(st, 10);
    task.close(true).unwrap();
}

#[test]
fn waits_for_empty_partitions_up_to_max_task_idle() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(dir.path());
    cfg.max_task_idle = Duration::from_millis(100);
    let factory = TopologyTaskFactory::new(two_topics(), &cfg).unwrap();
    let (a, b) = (TopicPartition::new("a", 0), TopicPartition::new("b", 0));
    let mut task = factory.create_task(TaskId { subtopology: 0, partition: 0 }, vec![a.clone(), b.clone()], &app_dir(dir.path()), &cfg).unwrap();
    task.initialize().unwrap();
    let mut out = Collect::default();
    assert!(!task.process(0, &mut out).unwrap(), "nothing buffered");
    task.add_records(&a, vec![rec("a", 0, 1, "a1")]);
    assert!(!task.process(1_000, &mut out).unwrap(), "b is empty: wait");
    assert!(!task.process(1_099, &mut out).unwrap());
    assert!(task.process(1_100, &mut out).unwrap(), "enforced processing after max.task.idle.ms");
    assert_eq!(values(&out), vec!["a1"]);
    // Data on both partitions resets the idle timer.
    task.add_records(&a, vec![rec("a", 1, 7, "a7")]);
    task.add_records(&b, vec![rec("b", 0, 5, "b5")]);
    assert!(task.process(2_000, &mut out).unwrap());
    assert_eq!(values(&out), vec!["a1", "b5"]);
    assert!(!task.process(2_000, &mut out).unwrap(), "b empty again: wait from now");
    assert!(task.process(2_100, &mut out).unwrap());
    assert_eq!(values(&out), vec!["a1", "b5", "a7"]);
}

#[test]
fn invalid_timestamps_are_skipped_but_committed() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path());
    let factory = TopologyTaskFactory::new(two_topics(), &cfg).unwrap();
    let a = TopicPartition::new("a", 0);
    let mut task = factory.create_task(TaskId { subtopology: 0, partition: 0 }, vec![a.clone()], &app_dir(dir.path()), &cfg).unwrap();
    task.initialize().unwrap();
    task.add_records(&a, vec![rec("a", 0, -5, "bad"), rec("a", 1, 3, "ok")]);
    let mut out = Collect::default();
    while task.process(0, &mut out).unwrap() {}
    assert_eq!(values(&out), vec!["ok"]);
    assert_eq!(task.prepare_commit(&mut out).unwrap()[&a], 2);
}

#[test]
fn subtopologies_report_topics_and_changelogs() {
    let cfg = brook_processor_api::StreamsConfig::new("wc");
    let factory = TopologyTaskFactory::new(word_count(true), &cfg).unwrap();
    let subs = factory.subtopologies();
    assert_eq!(subs.len(), 1);
    assert_eq!(subs[0].id, 0);
    assert_eq!(subs[0].source_topics, vec!["words-input".to_owned()]);
    assert_eq!(subs[0].changelog_topics.len(), 1);
    assert_eq!(subs[0].changelog_topics[0].0, "wc-counts-changelog");
    assert_eq!(subs[0].changelog_topics[0].1["cleanup.policy"], "compact");
}

/// Changelog records go through the collector; after a commit and a clean close the
/// checkpoint lets a new task resume restoring at the end offset; restore replays a changelog.
#[test]
fn changelog_commit_checkpoint_and_restore() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path());
    let factory = TopologyTaskFactory::new(word_count(true), &cfg).unwrap();
    let input = TopicPartition::new("words-input", 0);
    let id = TaskId { subtopology: 0, partition: 0 };
    let changelog = TopicPartition::new("test-app-counts-changelog", 0);

    let mut task = factory.create_task(id, vec![input.clone()], &app_dir(dir.path()), &cfg).unwrap();
    assert_eq!(task.changelog_start_offsets(), BTreeMap::from([(changelog.clone(), 0)]));
    task.initialize().unwrap();
    task.add_records(&input, vec![rec("words-input", 0, 1, "a b a")]);
    let mut out = Collect::default();
    assert!(task.process(0, &mut out).unwrap());
    let logged: Vec<_> = out.0.iter().filter(|r| *r.topic == *changelog.topic).collect();
    assert_eq!(logged.len(), 3, "no cache: every write is logged");
    assert!(logged.iter().all(|r| r.partition == Some(0)));
    let offsets = task.prepare_commit(&mut out).unwrap();
    assert_eq!(offsets[&input], 1);
    task.post_commit(&BTreeMap::from([(changelog.clone(), 3)])).unwrap();
    task.close(true).unwrap();
    assert!(dir.path().join("test-app/0_0/.checkpoint").is_file());

    let mut task = factory.create_task(id, vec![input.clone()], &app_dir(dir.path()), &cfg).unwrap();
    assert_eq!(task.changelog_start_offsets(), BTreeMap::from([(changelog.clone(), 3)]));
    let restore = |offset: i64, key: &str, n: i64| ConsumerRecord {
        topic: Arc::from(changelog.topic.as_str()),
        partition: 0,
        offset,
        timestamp: 0,
        key: Some(Bytes::copy_from_slice(key.as_bytes())),
        value: Some(Bytes::from(I64Serde.serialize("", &n).unwrap())),
        headers: Vec::new(),
    };
    task.restore(&changelog, &[restore(3, "c", 7)]).unwrap();
    task.initialize().unwrap();
    let st = task.as_any().downcast_ref::<StreamTask>().unwrap();
    assert_eq!(st.store_names(), vec!["counts".to_owned()]);
    task.add_records(&input, vec![rec("words-input", 1, 2, "c a")]);
    let mut out = Collect::default();
    while task.process(0, &mut out).unwrap() {}
    let counts: Vec<(String, i64)> = out
        .0
        .iter()
        .filter(|r| &*r.topic == "counts-output")
        .map(|r| (String::from_utf8(r.key.clone().unwrap().to_vec()).unwrap(), I64Serde.deserialize("", r.value.as_ref().unwrap()).unwrap()))
        .collect();
    assert_eq!(counts, vec![("c".to_owned(), 8), ("a".to_owned(), 3)]);
    task.close(true).unwrap();
}

/// An initialized task of `in` -> `count` (the processor `p`, owning the cached store `store`,
/// named "counts") [-> sink `out`], over partition 0 of `in`.
fn counts_task<P>(dir: &std::path::Path, p: fn() -> P, store: StoreBuilder<KeyValueSpec>, sink: bool) -> (Box<dyn TaskEngine>, TopicPartition)
where
    P: Processor<Option<String>, Option<String>, String, i64> + 'static,
{
    let cfg = config(dir);
    let mut t = Topology::new();
    t.add_source("in", SourceOptions::topics(["in"]).with_serdes(strings(), strings()))
        .unwrap()
        .add_processor("count", p, &["in"])
        .unwrap()
        .add_state_store(store.with_caching_enabled(), &["count"])
        .unwrap();
    if sink {
        t.add_sink("out", SinkOptions::topic("out", strings(), longs()), &["count"]).unwrap();
    }
    let factory = TopologyTaskFactory::new(t, &cfg).unwrap();
    let input = TopicPartition::new("in", 0);
    let mut task = factory.create_task(TaskId { subtopology: 0, partition: 0 }, vec![input.clone()], &app_dir(dir), &cfg).unwrap();
    task.initialize().unwrap();
    (task, input)
}

/// Caching: repeated updates of a key are compacted until commit, which logs and forwards
/// one record per key through the cache-flush callback.
#[test]
fn caches_compact_until_commit_and_forward_on_flush() {
    struct CachedCount;
    impl Processor<Option<String>, Option<String>, String, i64> for CachedCount {
        fn init(&mut self, ctx: &mut ProcessorContext<'_, String, i64>) -> Result<()> {
            let cached = ctx.on_cache_flush("counts", |ctx, r: FlushedRecord| {
                let key = String::from_utf8_lossy(&r.key).into_owned();
                let n = I64Serde.deserialize("", r.new_value.as_deref().unwrap_or(&[0; 8]))?;
                ctx.forward(Record::new(key, n, r.timestamp))
            })?;
            assert!(cached);
            Ok(())
        }
        fn process(&mut self, ctx: &mut ProcessorContext<'_, String, i64>, r: Record<Option<String>, Option<String>>) -> Result<()> {
            let store = ctx.get_key_value_store("counts")?;
            let key = r.key().clone().unwrap_or_default();
            let old = store.get(key.as_bytes())?.map(|b| I64Serde.deserialize("", &b)).transpose()?.unwrap_or(0);
            store.put(Bytes::from(key), Some(Bytes::from(I64Serde.serialize("", &(old + 1))?)))?;
            Ok(())
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let (mut task, input) = counts_task(dir.path(), || CachedCount, Stores::persistent_key_value_store("counts"), true);
    task.add_records(&input, (0..5).map(|i| rec("in", i, i, "x")).collect());
    let mut out = Collect::default();
    while task.process(0, &mut out).unwrap() {}
    assert!(out.0.is_empty(), "all updates still in the cache");
    task.prepare_commit(&mut out).unwrap();
    let topics: Vec<&str> = out.0.iter().map(|r| &*r.topic).collect();
    assert_eq!(topics.iter().filter(|t| **t == "test-app-counts-changelog").count(), 1);
    let forwarded: Vec<_> = out.0.iter().filter(|r| &*r.topic == "out").collect();
    assert_eq!(forwarded.len(), 1);
    assert_eq!(I64Serde.deserialize("", forwarded[0].value.as_ref().unwrap()).unwrap(), 5);
    assert_eq!(forwarded[0].timestamp, 4, "timestamp of the last update");
    task.close(true).unwrap();
}

/// A cache-flush handler that writes the store it is fed from never settles: the commit fails
/// with an error naming the task instead of returning with records still in the cache.
#[test]
fn a_flush_handler_feeding_its_own_store_fails_the_commit() {
    struct Echo;
    impl Processor<Option<String>, Option<String>, String, i64> for Echo {
        fn init(&mut self, ctx: &mut ProcessorContext<'_, String, i64>) -> Result<()> {
            ctx.on_cache_flush("counts", |ctx, r: FlushedRecord| {
                let n = I64Serde.deserialize("", r.new_value.as_deref().unwrap_or(&[0; 8]))?;
                let store = ctx.get_key_value_store("counts")?;
                store.put(r.key.clone(), Some(Bytes::from(I64Serde.serialize("", &(n + 1))?)))?;
                Ok(())
            })?;
            Ok(())
        }
        fn process(&mut self, ctx: &mut ProcessorContext<'_, String, i64>, r: Record<Option<String>, Option<String>>) -> Result<()> {
            let key = r.key().clone().unwrap_or_default();
            ctx.get_key_value_store("counts")?.put(Bytes::from(key), Some(Bytes::from(I64Serde.serialize("", &1)?)))?;
            Ok(())
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let (mut task, input) = counts_task(dir.path(), || Echo, Stores::in_memory_key_value_store("counts"), false);
    task.add_records(&input, vec![rec("in", 0, 0, "x")]);
    let mut out = Collect::default();
    while task.process(0, &mut out).unwrap() {}
    let err = task.prepare_commit(&mut out).unwrap_err();
    assert!(matches!(&err, brook_processor_api::Error::IllegalState(m) if m.contains("did not settle after 2 rounds")), "{err}");
}

#[test]
fn commit_requests_and_unknown_partitions() {
    struct Committer;
    impl Processor<Option<String>, Option<String>> for Committer {
        fn process(&mut self, ctx: &mut ProcessorContext<'_, Option<String>, Option<String>>, _: Record<Option<String>, Option<String>>) -> Result<()> {
            assert_eq!(ctx.task_id(), AnyTaskId::Stream(TaskId { subtopology: 0, partition: 3 }));
            assert_eq!(ctx.application_id(), "test-app");
            let m = ctx.record_metadata().unwrap();
            assert_eq!((m.topic.as_str(), m.partition, m.offset, m.timestamp), ("in", 3, 9, 1));
            ctx.commit();
            Ok(())
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path());
    let mut t = Topology::new();
    t.add_source("in", SourceOptions::topics(["in"]).with_serdes(strings(), strings())).unwrap().add_processor("c", || Committer, &["in"]).unwrap();
    let factory = TopologyTaskFactory::new(t, &cfg).unwrap();
    let id = TaskId { subtopology: 0, partition: 3 };
    assert!(factory.create_task(id, vec![TopicPartition::new("other", 3)], &app_dir(dir.path()), &cfg).is_err());
    assert!(factory.create_task(TaskId { subtopology: 7, partition: 0 }, vec![], &app_dir(dir.path()), &cfg).is_err());
    let input = TopicPartition::new("in", 3);
    let mut task = factory.create_task(id, vec![input.clone()], &app_dir(dir.path()), &cfg).unwrap();
    task.initialize().unwrap();
    assert!(!task.commit_requested());
    let mut r = rec("in", 9, 1, "x");
    r.partition = 3;
    task.add_records(&input, vec![r]);
    assert!(task.process(0, &mut Collect::default()).unwrap());
    assert!(task.commit_requested());
    task.prepare_commit(&mut Collect::default()).unwrap();
    task.post_commit(&BTreeMap::new()).unwrap();
    assert!(!task.commit_requested());
}

#[test]
fn copartition_groups_and_the_global_task() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path());
    let mut t = Topology::new();
    t.add_internal_topic("rekeyed")
        .unwrap()
        .add_source("left", SourceOptions::topics(["left"]))
        .unwrap()
        .add_source("right", SourceOptions::topics(["rekeyed"]))
        .unwrap()
        .add_processor("join", || Join, &["left", "right"])
        .unwrap()
        .copartition_sources(&["left", "right"])
        .unwrap()
        .add_global_store(
            Stores::in_memory_key_value_store("g").with_logging_disabled(),
            "g-source",
            SourceOptions::topics(["g-topic"]),
            "g-proc",
            || GlobalPut,
        )
        .unwrap();
    assert!(t.copartition_sources(&["nope"]).is_err());
    assert_eq!(t.global_stores(), vec![("g".to_owned(), "g-topic".to_owned())]);
    let factory = TopologyTaskFactory::new(t, &cfg).unwrap();
    let subs = factory.subtopologies();
    assert_eq!(subs.len(), 1, "the global group generates no tasks");
    assert_eq!(subs[0].copartition_groups, vec![vec!["left".to_owned(), "test-app-rekeyed".to_owned()]]);
    assert_eq!(subs[0].repartition_source_topics, vec!["test-app-rekeyed".to_owned()]);

    let g = TopicPartition::new("g-topic", 0);
    let mut global = factory.create_global_task(vec![g.clone()], &app_dir(dir.path()), &cfg).unwrap().unwrap();
    global.initialize().unwrap();
    global.add_records(&g, vec![rec("g-topic", 0, 1, "gv")]);
    assert!(global.process(0, &mut Collect::default()).unwrap());
    assert_eq!(factory.global_stores().names(), vec!["g".to_owned()]);

    let left = TopicPartition::new("left", 0);
    let mut task = factory.create_task(TaskId { subtopology: 0, partition: 0 }, vec![left.clone()], &app_dir(dir.path()), &cfg).unwrap();
    task.initialize().unwrap();
    task.add_records(&left, vec![rec("left", 0, 1, "x")]);
    let mut out = Collect::default();
    assert!(task.process(0, &mut out).unwrap());
    global.close(true).unwrap();
}

type B = Option<Bytes>;

struct Join;

impl Processor<B, B, (), ()> for Join {
    fn process(&mut self, ctx: &mut ProcessorContext<'_, (), ()>, r: Record<B, B>) -> Result<()> {
        let found = ctx.get_global_key_value_store("g")?.get(r.key().as_deref().unwrap_or_default())?;
        assert_eq!(found.as_deref(), Some(&b"gv"[..]));
        Ok(())
    }
}

struct GlobalPut;

impl Processor<B, B, (), ()> for GlobalPut {
    fn process(&mut self, ctx: &mut ProcessorContext<'_, (), ()>, r: Record<B, B>) -> Result<()> {
        let (k, v, _, _) = r.into_parts();
        ctx.get_global_key_value_store("g")?.put(k.unwrap_or_default(), v)?;
        Ok(())
    }
}

#[test]
fn typed_store_access_and_production_errors() {
    struct Typed;
    impl Processor<Option<String>, Option<String>, String, i64> for Typed {
        fn process(&mut self, ctx: &mut ProcessorContext<'_, String, i64>, r: Record<Option<String>, Option<String>>) -> Result<()> {
            let key = r.key().clone().unwrap_or_default();
            let mut store = ctx.get_typed_key_value_store("typed", strings(), longs())?;
            let n = store.get(&key)?.unwrap_or(0) + 1;
            store.put(&key, Some(&n))?;
            assert_eq!(store.all()?.collect::<brook_state_store::Result<Vec<_>>>()?, vec![(key.clone(), n)]);
            ctx.forward(r.with_key(key).with_value(n))
        }
    }
    struct Failing;
    impl RecordCollector for Failing {
        fn send(&mut self, _: OutputRecord) -> Result<()> {
            Err(brook_processor_api::Error::Timeout("broker down".to_owned()))
        }
    }
    for handler in ["fail", "continue"] {
        let dir = tempfile::tempdir().unwrap();
        let mut cfg = config(dir.path());
        cfg.set("default.production.exception.handler", handler).unwrap();
        let mut t = Topology::new();
        t.add_source("in", SourceOptions::topics(["in"]).with_serdes(strings(), strings()))
            .unwrap()
            .add_processor("typed", || Typed, &["in"])
            .unwrap()
            .add_state_store(Stores::in_memory_key_value_store("typed").with_logging_disabled(), &["typed"])
            .unwrap()
            .add_sink("out", SinkOptions::topic("out", strings(), longs()), &["typed"])
            .unwrap();
        let factory = TopologyTaskFactory::new(t, &cfg).unwrap();
        let input = TopicPartition::new("in", 0);
        let mut task = factory.create_task(TaskId { subtopology: 0, partition: 0 }, vec![input.clone()], &app_dir(dir.path()), &cfg).unwrap();
        task.initialize().unwrap();
        task.add_records(&input, vec![rec("in", 0, 1, "x"), rec("in", 1, 2, "y")]);
        let r = task.process(0, &mut Failing);
        if handler == "fail" {
            assert!(matches!(r, Err(brook_processor_api::Error::Timeout(_))));
        } else {
            assert!(r.unwrap());
            let mut out = Collect::default();
            assert!(task.process(0, &mut out).unwrap());
            assert_eq!(I64Serde.deserialize("", out.0[0].value.as_ref().unwrap()).unwrap(), 2);
        }
    }
}

/// Under exactly-once the changelog offset is committed with the data in RocksDB: no
/// checkpoint file, and a reopened task resumes restoring after the committed offset; data
/// written after the last commit is dropped on a dirty close.
#[test]
fn exactly_once_commits_offsets_with_the_data() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(dir.path());
    cfg.set("processing.guarantee", "exactly_once_v2").unwrap();
    let factory = TopologyTaskFactory::new(word_count(true), &cfg).unwrap();
    let input = TopicPartition::new("words-input", 0);
    let id = TaskId { subtopology: 0, partition: 0 };
    let changelog = TopicPartition::new("test-app-counts-changelog", 0);
    let mut task = factory.create_task(id, vec![input.clone()], &app_dir(dir.path()), &cfg).unwrap();
    task.initialize().unwrap();
    task.add_records(&input, vec![rec("words-input", 0, 1, "a"), rec("words-input", 1, 2, "b")]);
    let mut out = Collect::default();
    assert!(task.process(0, &mut out).unwrap());
    task.prepare_commit(&mut out).unwrap();
    task.post_commit(&BTreeMap::from([(changelog.clone(), 1)])).unwrap();
    assert!(task.process(0, &mut out).unwrap(), "b: processed but never committed");
    task.close(false).unwrap();
    assert!(!dir.path().join("test-app/0_0/.checkpoint").exists());

    let mut task = factory.create_task(id, vec![input.clone()], &app_dir(dir.path()), &cfg).unwrap();
    assert_eq!(task.changelog_start_offsets(), BTreeMap::from([(changelog, 1)]));
    task.initialize().unwrap();
    task.add_records(&input, vec![rec("words-input", 1, 2, "b a")]);
    let mut out = Collect::default();
    assert!(task.process(0, &mut out).unwrap());
    let counts: Vec<i64> = out
        .0
        .iter()
        .filter(|r| &*r.topic == "counts-output")
        .map(|r| I64Serde.deserialize("", r.value.as_ref().unwrap()).unwrap())
        .collect();
    assert_eq!(counts, vec![1, 2], "b counted once, a resumed from the committed 1");
    task.close(true).unwrap();
}
