//! End-to-end runs through the `TopologyTestDriver`.

use std::collections::BTreeMap;
use std::sync::Arc;

use brook_processor_api::{
    Processor, ProcessorContext, Record, Result, SinkOptions, SourceOptions, Topology, TopologyError, TopologyTestDriver,
};
use brook_state_store::{I64Serde, Serde, Stores, StringSerde};
use bytes::Bytes;

use crate::common::{config, longs, strings, word_count, Split};

#[test]
fn word_count_end_to_end() {
    for persistent in [false, true] {
        let dir = tempfile::tempdir().unwrap();
        let driver = TopologyTestDriver::new(word_count(persistent), config(dir.path()), 0).unwrap();
        let input = driver.create_input_topic("words-input", strings(), strings());
        let output = driver.create_output_topic("counts-output", strings(), longs());
        input.pipe_input("l1".to_owned(), "Hello Kafka Streams".to_owned()).unwrap();
        input.pipe_input("l2".to_owned(), "hello brook".to_owned()).unwrap();
        input.pipe_input_with_timestamp("l3".to_owned(), "HELLO".to_owned(), 42).unwrap();
        assert_eq!(output.queue_size(), 6);
        let first = output.read_record().unwrap();
        assert_eq!((first.key.as_deref(), first.value), (Some("hello"), Some(1)));
        let rest = output.read_key_values_to_map().unwrap();
        assert_eq!(
            rest,
            BTreeMap::from([("brook".to_owned(), 1), ("hello".to_owned(), 3), ("kafka".to_owned(), 1), ("streams".to_owned(), 1)])
        );
        assert!(output.is_empty());
        {
            let store = driver.get_key_value_store("counts").unwrap();
            let hello = store.get(b"hello").unwrap().unwrap();
            assert_eq!(I64Serde.deserialize("", &hello).unwrap(), 3);
            assert_eq!(store.all().unwrap().count(), 4);
        }
        let topics = driver.produced_topic_names();
        assert!(topics.contains("counts-output"));
        assert!(topics.contains("test-app-counts-changelog"), "{topics:?}");
        let changelog = driver.create_output_topic("test-app-counts-changelog", strings(), longs());
        assert_eq!(changelog.read_records_to_list().unwrap().len(), 6);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), usize::from(persistent), "RocksDB files");
        driver.close().unwrap();
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0, "the driver removes its state directory");
    }
}

#[test]
fn timestamps_and_headers_flow_to_the_output() {
    let dir = tempfile::tempdir().unwrap();
    let mut t = Topology::new();
    t.add_source("in", SourceOptions::topics(["in"]).with_serdes(strings(), strings()))
        .unwrap()
        .add_sink("out", SinkOptions::topic("out", strings(), strings()), &["in"])
        .unwrap();
    let driver = TopologyTestDriver::new(t, config(dir.path()), 1_000).unwrap();
    let input = driver.create_input_topic("in", strings(), strings()).with_auto_advance(std::time::Duration::from_millis(10));
    let output = driver.create_output_topic("out", strings(), strings());
    input.pipe_key_value_list(vec![("a".to_owned(), "1".to_owned()), ("b".to_owned(), "2".to_owned())]).unwrap();
    input.pipe_value_list(vec!["3".to_owned()]).unwrap();
    let mut header = brook_processor_api::TestRecord::new("h".to_owned(), "4".to_owned(), 7);
    header.headers.push(brook_processor_api::engine::Header { key: "trace".to_owned(), value: Some(Bytes::from_static(b"x")) });
    input.pipe_record_list(vec![header]).unwrap();
    let records = output.read_records_to_list().unwrap();
    let got: Vec<_> = records.iter().map(|r| (r.key.clone(), r.value.clone(), r.timestamp)).collect();
    assert_eq!(
        got,
        vec![
            (Some("a".to_owned()), Some("1".to_owned()), 1_000),
            (Some("b".to_owned()), Some("2".to_owned()), 1_010),
            (None, Some("3".to_owned()), 1_020),
            (Some("h".to_owned()), Some("4".to_owned()), 7),
        ]
    );
    assert_eq!(records[3].headers[0].key, "trace");
    assert!(output.read_record().is_err(), "empty topic");
}

/// Re-keys by word, writes to a repartition topic, and counts in a second sub-topology: the
/// driver feeds the repartition topic back in.
#[test]
fn repartition_topics_are_fed_back() {
    let dir = tempfile::tempdir().unwrap();
    let mut t = Topology::new();
    t.add_internal_topic("counts-repartition")
        .unwrap()
        .add_source("in", SourceOptions::topics(["lines"]).with_serdes(strings(), strings()))
        .unwrap()
        .add_processor("split", || Split, &["in"])
        .unwrap()
        .add_sink("to-repartition", SinkOptions::topic("counts-repartition", strings(), strings()), &["split"])
        .unwrap()
        .add_source("from-repartition", SourceOptions::topics(["counts-repartition"]).with_serdes(strings(), strings()))
        .unwrap()
        .add_processor("unwrap", || Unwrap, &["from-repartition"])
        .unwrap()
        .add_processor("count", || crate::common::Count { store: "counts" }, &["unwrap"])
        .unwrap()
        .add_state_store(Stores::in_memory_key_value_store("counts").with_caching_enabled(), &["count"])
        .unwrap()
        .add_sink("out", SinkOptions::topic("counts", strings(), longs()), &["count"])
        .unwrap();
    assert!(t.describe().to_string().contains("  Sub-topology: 1\n"));
    let driver = TopologyTestDriver::new(t, config(dir.path()), 0).unwrap();
    let input = driver.create_input_topic("lines", strings(), strings());
    let output = driver.create_output_topic("counts", strings(), longs());
    input.pipe_input("x".to_owned(), "a b a".to_owned()).unwrap();
    assert_eq!(
        output.read_key_values_to_map().unwrap(),
        BTreeMap::from([("a".to_owned(), 2), ("b".to_owned(), 1)])
    );
    assert!(driver.produced_topic_names().contains("test-app-counts-repartition"));
}

struct Unwrap;

impl Processor<Option<String>, Option<String>, String, String> for Unwrap {
    fn process(&mut self, ctx: &mut ProcessorContext<'_, String, String>, r: Record<Option<String>, Option<String>>) -> Result<()> {
        let (k, v) = (r.key().clone().unwrap_or_default(), r.value().clone().unwrap_or_default());
        ctx.forward(r.with_key(k).with_value(v))
    }
}

/// A global store is filled from its topic, and every store shape is reachable.
#[test]
fn global_and_window_stores_through_the_driver() {
    let dir = tempfile::tempdir().unwrap();
    let mut t = Topology::new();
    t.add_global_store(
        Stores::in_memory_key_value_store("countries").with_logging_disabled(),
        "countries-source",
        SourceOptions::topics(["countries"]),
        "countries-updater",
        || GlobalUpdater,
    )
    .unwrap()
    .add_source("clicks", SourceOptions::topics(["clicks"]))
    .unwrap()
    .add_processor("window", || Windowed, &["clicks"])
    .unwrap()
    .add_state_store(Stores::in_memory_window_store("clicks-per-minute", 3_600_000, 60_000, false), &["window"])
    .unwrap();
    let driver = TopologyTestDriver::new(t, config(dir.path()), 0).unwrap();
    driver.pipe_raw("countries", Some(Bytes::from_static(b"fr")), Some(Bytes::from_static(b"France")), 0, vec![]).unwrap();
    driver.pipe_raw("clicks", Some(Bytes::from_static(b"u1")), Some(Bytes::from_static(b"x")), 61_000, vec![]).unwrap();
    {
        let g = driver.get_key_value_store("countries").unwrap();
        assert_eq!(g.get(b"fr").unwrap().as_deref(), Some(&b"France"[..]));
    }
    let w = driver.get_window_store("clicks-per-minute").unwrap();
    assert_eq!(w.fetch_one(b"u1", 60_000).unwrap().as_deref(), Some(&b"x"[..]));
    drop(w);
    assert!(driver.get_session_store("clicks-per-minute").is_none(), "wrong shape");
    assert!(driver.get_key_value_store("nope").is_none());
    let mut names = driver.store_names();
    names.sort();
    assert_eq!(names, vec!["clicks-per-minute".to_owned(), "countries".to_owned()]);
}

type B = Option<Bytes>;

struct GlobalUpdater;

impl Processor<B, B, (), ()> for GlobalUpdater {
    fn process(&mut self, ctx: &mut ProcessorContext<'_, (), ()>, r: Record<B, B>) -> Result<()> {
        let (k, v, _, _) = r.into_parts();
        ctx.get_global_key_value_store("countries")?.put(k.unwrap_or_default(), v)?;
        Ok(())
    }
}

struct Windowed;

impl Processor<B, B, (), ()> for Windowed {
    fn process(&mut self, ctx: &mut ProcessorContext<'_, (), ()>, r: Record<B, B>) -> Result<()> {
        let start = r.timestamp() - r.timestamp() % 60_000;
        let (k, v, _, _) = r.into_parts();
        ctx.get_window_store("clicks-per-minute")?.put(k.unwrap_or_default(), v, start)?;
        Ok(())
    }
}

#[test]
fn mismatched_types_are_rejected_when_connecting() {
    let mut t = Topology::new();
    t.add_source("in", SourceOptions::topics(["in"]).with_serdes(Arc::new(I64Serde), Arc::new(StringSerde))).unwrap();
    let e = t.add_processor("split", || Split, &["in"]).unwrap_err();
    assert!(
        matches!(&e, TopologyError::TypeMismatch { node, parent, part: "keys", expected, actual }
            if node == "split" && parent == "in"
                && *expected == std::any::type_name::<Option<String>>()
                && *actual == std::any::type_name::<Option<i64>>()),
        "{e}"
    );
    // Sinks take K or Option<K>.
    t.add_sink("raw", SinkOptions::topic("out", Arc::new(I64Serde), strings()), &["in"]).unwrap();
    let e = t.add_sink("bad", SinkOptions::topic("out", strings(), strings()), &["in"]).unwrap_err();
    assert!(
        matches!(&e, TopologyError::TypeMismatch { node, part: "keys", expected, .. }
            if node == "bad" && *expected == std::any::type_name::<String>()),
        "{e}"
    );
}

/// A stream-globalTable join by hand: any processor may read a global store without being
/// connected to it (Kafka's semantics), but not a local store of another processor.
#[test]
fn processors_read_global_stores() {
    struct Enrich;
    impl Processor<B, B, Bytes, Bytes> for Enrich {
        fn process(&mut self, ctx: &mut ProcessorContext<'_, Bytes, Bytes>, r: Record<B, B>) -> Result<()> {
            let country = r.value().clone().unwrap_or_default();
            let name = ctx.get_global_key_value_store("countries")?.get(&country)?.unwrap_or_else(|| Bytes::from_static(b"?"));
            let key = r.key().clone().unwrap_or_default();
            ctx.forward(r.with_key(key).with_value(name))
        }
    }
    struct Snoop;
    impl Processor<B, B, (), ()> for Snoop {
        fn process(&mut self, ctx: &mut ProcessorContext<'_, (), ()>, _: Record<B, B>) -> Result<()> {
            ctx.get_key_value_store("private").map(|_| ())
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let mut t = Topology::new();
    t.add_source("orders", SourceOptions::topics(["orders"]))
        .unwrap()
        .add_processor("enrich", || Enrich, &["orders"])
        .unwrap()
        .add_sink("out", SinkOptions::<Bytes, Bytes>::topic("enriched", Arc::new(brook_state_store::BytesSerde), Arc::new(brook_state_store::BytesSerde)), &["enrich"])
        .unwrap()
        .add_global_store(
            Stores::persistent_key_value_store("countries").with_logging_disabled(),
            "countries-source",
            SourceOptions::topics(["countries"]),
            "countries-updater",
            || GlobalUpdater,
        )
        .unwrap()
        .add_source("other", SourceOptions::topics(["other"]))
        .unwrap()
        .add_processor("snoop", || Snoop, &["other"])
        .unwrap()
        .add_processor("owner", || Snoop, &["other"])
        .unwrap()
        .add_state_store(Stores::in_memory_key_value_store("private"), &["owner"])
        .unwrap();
    let driver = TopologyTestDriver::new(t, config(dir.path()), 0).unwrap();
    driver.pipe_raw("countries", Some(Bytes::from_static(b"fr")), Some(Bytes::from_static(b"France")), 0, vec![]).unwrap();
    driver.pipe_raw("orders", Some(Bytes::from_static(b"o1")), Some(Bytes::from_static(b"fr")), 1, vec![]).unwrap();
    driver.pipe_raw("orders", Some(Bytes::from_static(b"o2")), Some(Bytes::from_static(b"de")), 2, vec![]).unwrap();
    let out = driver.create_output_topic("enriched", strings(), strings());
    assert_eq!(out.read_values_to_list().unwrap(), vec![Some("France".to_owned()), Some("?".to_owned())]);
    let e = driver.pipe_raw("other", None, None, 3, vec![]).unwrap_err();
    assert!(matches!(&e, brook_processor_api::Error::Processing { processor, message } if processor == "snoop" && message.contains("\"private\"")), "{e}");
}

/// Pattern sources read every matching topic; timestamped values decode through the driver.
#[test]
fn pattern_sources_and_timestamped_stores() {
    struct Remember;
    impl Processor<B, B, (), ()> for Remember {
        fn process(&mut self, ctx: &mut ProcessorContext<'_, (), ()>, r: Record<B, B>) -> Result<()> {
            let ts = r.timestamp();
            let topic = ctx.record_metadata().unwrap().topic.clone();
            let v = brook_state_store::ValueAndTimestamp { value: Bytes::from(topic), timestamp: ts };
            ctx.get_key_value_store("last")?.put(r.key().clone().unwrap_or_default(), Some(v.to_bytes()))?;
            Ok(())
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let mut t = Topology::new();
    t.add_source("metrics", SourceOptions::pattern("metrics-[a-z]+"))
        .unwrap()
        .add_processor("remember", || Remember, &["metrics"])
        .unwrap()
        .add_state_store(Stores::in_memory_key_value_store("last"), &["remember"])
        .unwrap();
    let driver = TopologyTestDriver::new(t, config(dir.path()), 0).unwrap();
    driver.pipe_raw("metrics-cpu", Some(Bytes::from_static(b"h1")), None, 5, vec![]).unwrap();
    driver.pipe_raw("metrics-9", Some(Bytes::from_static(b"h1")), None, 6, vec![]).unwrap();
    driver.pipe_raw("metrics-mem", Some(Bytes::from_static(b"h2")), None, 7, vec![]).unwrap();
    let store = driver.get_timestamped_key_value_store("last").unwrap();
    let h1 = store.get(b"h1").unwrap().unwrap();
    assert_eq!((h1.value.as_ref(), h1.timestamp), (&b"metrics-cpu"[..], 5), "metrics-9 does not match");
    assert_eq!(store.get(b"h2").unwrap().unwrap().timestamp, 7);
}

/// `forward_to` picks one child by name; an unknown child is a processing error.
#[test]
fn forward_to_one_child_and_cleanup() {
    struct Route;
    impl Processor<Option<String>, Option<String>> for Route {
        fn process(&mut self, ctx: &mut ProcessorContext<'_, Option<String>, Option<String>>, r: Record<Option<String>, Option<String>>) -> Result<()> {
            let target = r.value().clone().unwrap_or_default();
            ctx.forward_to(&target, r)
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let mut t = Topology::new();
    t.add_source("in", SourceOptions::topics(["in"]).with_serdes(strings(), strings()))
        .unwrap()
        .add_processor("route", || Route, &["in"])
        .unwrap()
        .add_sink("left", SinkOptions::topic("left", strings(), strings()), &["route"])
        .unwrap()
        .add_sink("right", SinkOptions::topic("right", strings(), strings()), &["route"])
        .unwrap()
        .add_processor("count", || crate::common::Count { store: "c" }, &["route"])
        .expect_err("Count takes String keys, Route forwards Option<String>");
    let driver = TopologyTestDriver::new(t, config(dir.path()), 0).unwrap();
    let input = driver.create_input_topic("in", strings(), strings());
    input.pipe_input("k".to_owned(), "right".to_owned()).unwrap();
    input.pipe_input("k".to_owned(), "left".to_owned()).unwrap();
    let e = input.pipe_input("k".to_owned(), "nowhere".to_owned()).unwrap_err();
    assert!(matches!(&e, brook_processor_api::Error::Processing { message, .. } if message.contains("unknown child \"nowhere\"")), "{e}");
    assert_eq!(driver.create_output_topic("left", strings(), strings()).read_values_to_list().unwrap(), vec![Some("left".to_owned())]);
    assert_eq!(driver.create_output_topic("right", strings(), strings()).queue_size(), 1);
}
