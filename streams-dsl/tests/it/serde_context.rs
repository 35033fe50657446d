//! What serdes are told: every (de)serialization of a topology, with the topic, the side (key
//! or value) and the headers it was given. Sources, sinks and repartition topics pass the
//! record's topic and headers; stores pass their changelog topic and no headers, as Kafka's
//! `StateSerdes` do. The same topologies run on `KafkaStreams` in `runtime.rs`.

use std::sync::Arc;

use brook_processor_api::{Processor, ProcessorContext, Record, Result, SinkOptions, SourceOptions, TestRecord, Topology};
use brook_state_store::{Header, Serde, SerdeContext, StringSerde, Stores};
use brook_streams_dsl::{Consumed, Grouped, Materialized, Produced, Repartitioned, StreamsBuilder};
use bytes::Bytes;
use parking_lot::Mutex;

use crate::common::{driver, l, s};

/// One call: (de)serialize, topic, key?, headers as `key=value`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Call {
    pub(crate) op: &'static str,
    pub(crate) topic: String,
    pub(crate) is_key: bool,
    pub(crate) headers: Vec<String>,
}

pub(crate) fn call(op: &'static str, topic: &str, is_key: bool, headers: &[&str]) -> Call {
    Call { op, topic: topic.to_owned(), is_key, headers: headers.iter().map(|h| (*h).to_owned()).collect() }
}

/// A string serde that records the context of every call; the topic-only methods panic, so a
/// call that skips the context seam fails the test.
#[derive(Clone, Default)]
pub(crate) struct Recording(pub(crate) Arc<Mutex<Vec<Call>>>);

impl Recording {
    fn log(&self, op: &'static str, ctx: &SerdeContext<'_>) {
        let headers = ctx
            .headers
            .iter()
            .map(|h| format!("{}={}", h.key, h.value.as_deref().map(String::from_utf8_lossy).unwrap_or_default()))
            .collect();
        self.0.lock().push(Call { op, topic: ctx.topic.to_owned(), is_key: ctx.is_key, headers });
    }

    pub(crate) fn take(&self) -> Vec<Call> {
        std::mem::take(&mut *self.0.lock())
    }
}

impl Serde<String> for Recording {
    fn serialize(&self, topic: &str, _: &String) -> brook_state_store::Result<Vec<u8>> {
        panic!("serialize({topic}) called without a context")
    }
    fn deserialize(&self, topic: &str, _: &[u8]) -> brook_state_store::Result<String> {
        panic!("deserialize({topic}) called without a context")
    }
    fn serialize_with(&self, ctx: &SerdeContext<'_>, value: &String) -> brook_state_store::Result<Vec<u8>> {
        self.log("ser", ctx);
        StringSerde.serialize(ctx.topic, value)
    }
    fn deserialize_with(&self, ctx: &SerdeContext<'_>, bytes: &[u8]) -> brook_state_store::Result<String> {
        self.log("de", ctx);
        StringSerde.deserialize(ctx.topic, bytes)
    }
}

pub(crate) fn header(key: &str, value: &str) -> Header {
    Header { key: key.to_owned(), value: Some(Bytes::from(value.to_owned())) }
}

/// Keeps the last value per key in the typed store "last" and forwards the record (headers
/// included).
struct Last(Recording);

impl Processor<Option<String>, Option<String>, String, String> for Last {
    fn process(&mut self, ctx: &mut ProcessorContext<'_, String, String>, r: Record<Option<String>, Option<String>>) -> Result<()> {
        let (Some(k), Some(v)) = (r.key().clone(), r.value().clone()) else { return Ok(()) };
        let serde = Arc::new(self.0.clone());
        let mut store = ctx.get_typed_key_value_store("last", serde.clone(), serde)?;
        let previous = store.get(&k)?;
        store.put(&k, Some(&v))?;
        ctx.forward(r.with_key(k).with_value(format!("{v} after {}", previous.unwrap_or_default())))
    }
}

/// Processor API: a source, a processor with a typed store, and a sink, all through `rec`.
pub(crate) fn papi_topology(rec: &Recording) -> Topology {
    let serde = Arc::new(rec.clone());
    let last = rec.clone();
    let mut t = Topology::new();
    t.add_source("src", SourceOptions::topics(["in"]).with_serdes(serde.clone(), serde.clone()))
        .unwrap()
        .add_processor("last", move || Last(last.clone()), &["src"])
        .unwrap()
        .add_state_store(Stores::in_memory_key_value_store("last").with_caching_disabled(), &["last"])
        .unwrap()
        .add_sink("sink", SinkOptions::topic("out", serde.clone(), serde), &["last"])
        .unwrap();
    t
}

/// The calls one record `k -> v` with header `h=1` makes through [`papi_topology`] of
/// application `app`, the store empty before.
pub(crate) fn papi_calls(app: &str) -> Vec<Call> {
    let changelog = format!("{app}-last-changelog");
    vec![
        call("de", "in", true, &["h=1"]),
        call("de", "in", false, &["h=1"]),
        call("ser", &changelog, true, &[]),
        call("ser", &changelog, true, &[]),
        call("ser", &changelog, false, &[]),
        call("ser", "out", true, &["h=1"]),
        call("ser", "out", false, &["h=1"]),
    ]
}

#[test]
fn papi_serdes_see_topic_side_and_headers_in_the_test_driver() {
    let rec = Recording::default();
    let (d, _dir) = driver(papi_topology(&rec));
    let input = d.create_input_topic("in", s(), s());
    let mut r = TestRecord::new("k".to_owned(), "v".to_owned(), 5);
    r.headers = vec![header("h", "1")];
    input.pipe_record(r).unwrap();
    assert_eq!(rec.take(), papi_calls("dsl-test"));
    let out = d.create_output_topic("out", s(), s()).read_record().unwrap();
    assert_eq!(out.value.as_deref(), Some("v after "));
    assert_eq!(out.headers, vec![header("h", "1")]);

    // A second record reads the stored value back through the value serde.
    let mut r = TestRecord::new("k".to_owned(), "w".to_owned(), 6);
    r.headers = vec![header("h", "1")];
    input.pipe_record(r).unwrap();
    let mut want = papi_calls("dsl-test");
    want.insert(3, call("de", "dsl-test-last-changelog", false, &[]));
    assert_eq!(rec.take(), want);
}

#[test]
fn the_test_driver_topics_pass_their_context_too() {
    let rec = Recording::default();
    let (d, _dir) = driver(papi_topology(&Recording::default()));
    let serde = Arc::new(rec.clone());
    let input = d.create_input_topic("in", serde.clone(), serde.clone());
    let mut r = TestRecord::new("k".to_owned(), "v".to_owned(), 5);
    r.headers = vec![header("h", "1")];
    input.pipe_record(r).unwrap();
    d.create_output_topic("out", serde.clone(), serde).read_record().unwrap();
    assert_eq!(
        rec.take(),
        vec![
            call("ser", "in", true, &["h=1"]),
            call("ser", "in", false, &["h=1"]),
            call("de", "out", true, &["h=1"]),
            call("de", "out", false, &["h=1"]),
        ]
    );
}

/// The DSL: a source, a repartition topic, a count (its store) and a sink, all keys through
/// `rec`.
pub(crate) fn dsl_topology(rec: &Recording) -> Topology {
    let serde = Arc::new(rec.clone());
    let b = StreamsBuilder::new();
    b.stream::<String, String>(&["in"], Consumed::with(serde.clone(), serde.clone()))
        .select_key(|_, v| v.clone())
        .repartition(Repartitioned::with(serde.clone(), serde.clone()).with_name("rk"))
        .group_by_key(Grouped::with(serde.clone(), serde.clone()))
        .count(Materialized::named("counts").with_key_serde(serde.clone()).with_caching_disabled())
        .to_stream()
        .to("out", Produced::with(serde, l()));
    b.build().unwrap()
}

/// The calls one record `k -> w` with header `h=1` makes through [`dsl_topology`] of
/// application `app`.
pub(crate) fn dsl_calls(app: &str) -> Vec<Call> {
    let (repartition, changelog) = (format!("{app}-rk-repartition"), format!("{app}-counts-changelog"));
    vec![
        call("de", "in", true, &["h=1"]),
        call("de", "in", false, &["h=1"]),
        call("ser", &repartition, true, &["h=1"]),
        call("ser", &repartition, false, &["h=1"]),
        call("de", &repartition, true, &["h=1"]),
        call("de", &repartition, false, &["h=1"]),
        // The count reads and writes its store: keys of the changelog topic, no headers.
        call("ser", &changelog, true, &[]),
        call("ser", &changelog, true, &[]),
        // Aggregations forward their result without the input's headers (Kafka keeps them).
        call("ser", "out", true, &[]),
    ]
}

#[test]
fn dsl_serdes_see_topic_side_and_headers_in_the_test_driver() {
    let rec = Recording::default();
    let (d, _dir) = driver(dsl_topology(&rec));
    let mut r = TestRecord::new("k".to_owned(), "w".to_owned(), 5);
    r.headers = vec![header("h", "1")];
    d.create_input_topic("in", s(), s()).pipe_record(r).unwrap();
    assert_eq!(rec.take(), dsl_calls("dsl-test"));
    assert_eq!(d.create_output_topic("out", s(), l()).read_key_value().unwrap(), (Some("w".to_owned()), Some(1)));
}
