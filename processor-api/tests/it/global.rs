//! A global store fed from a topic, read by a stream processor (a stream-globalTable join by
//! hand), over the runtime's global stream thread.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use brook_processor_api::runtime::{Embedded, KafkaStreams, StoreQueryParameters};
use brook_processor_api::{
    Processor, ProcessorContext, Record, Result, SinkOptions, SourceOptions, Topology, TopologyTaskFactory,
};
use brook_state_store::{BytesSerde, Stores};
use bytes::Bytes;

use crate::harness::{config, wait_running, wait_until, TestBroker};

type B = Option<Bytes>;

/// Writes the global store; counts the records it sees.
struct Updater(Arc<AtomicUsize>);

impl Processor<B, B, (), ()> for Updater {
    fn process(&mut self, ctx: &mut ProcessorContext<'_, (), ()>, r: Record<B, B>) -> Result<()> {
        self.0.fetch_add(1, Ordering::SeqCst);
        let (k, v, _, _) = r.into_parts();
        ctx.get_global_key_value_store("countries")?.put(k.unwrap_or_default(), v)?;
        Ok(())
    }
}

/// `order -> country code` becomes `order -> code:name`.
struct Enrich;

impl Processor<B, B, Bytes, Bytes> for Enrich {
    fn process(&mut self, ctx: &mut ProcessorContext<'_, Bytes, Bytes>, r: Record<B, B>) -> Result<()> {
        let code = r.value().clone().unwrap_or_default();
        let name = ctx.get_global_key_value_store("countries")?.get(&code)?.unwrap_or_else(|| Bytes::from_static(b"?"));
        let mut v = code.to_vec();
        v.push(b':');
        v.extend_from_slice(&name);
        let key = r.key().clone().unwrap_or_default();
        ctx.forward(r.with_key(key).with_value(Bytes::from(v)))
    }
}

pub(crate) fn factory(c: &brook_processor_api::StreamsConfig, updates: Arc<AtomicUsize>) -> Arc<TopologyTaskFactory> {
    let mut t = Topology::new();
    t.add_global_store(
        Stores::persistent_key_value_store("countries").with_logging_disabled(),
        "countries-source",
        SourceOptions::topics(["countries"]),
        "countries-updater",
        move || Updater(updates.clone()),
    )
    .unwrap()
    .add_source("orders", SourceOptions::topics(["orders"]))
    .unwrap()
    .add_processor("enrich", || Enrich, &["orders"])
    .unwrap()
    .add_sink(
        "out",
        SinkOptions::<Bytes, Bytes>::topic("enriched", Arc::new(BytesSerde), Arc::new(BytesSerde)),
        &["enrich"],
    )
    .unwrap();
    Arc::new(TopologyTaskFactory::new(t, c).unwrap())
}

pub(crate) fn enriched(b: &TestBroker, order: &str) -> Option<String> {
    b.read_all("enriched", true).into_iter().rev().find(|(k, _)| k == order).map(|(_, v)| v)
}

pub(crate) fn global_name(streams: &KafkaStreams, code: &str) -> Option<String> {
    let view = streams.key_value_store(StoreQueryParameters::from_name("countries")).unwrap();
    view.get(code.as_bytes()).unwrap().map(|v| String::from_utf8(v.to_vec()).unwrap())
}

fn global_store_follows_its_topic(eos: bool) {
    let b = TestBroker::new();
    b.create("countries", 2);
    b.create("orders", 2);
    b.create("enriched", 2);
    b.produce("countries", &[("de", "Germany"), ("fr", "Frankreich")]);
    let dir = tempfile::tempdir().unwrap();
    let app = if eos { "global-eos" } else { "global-alos" };
    let updates = Arc::new(AtomicUsize::new(0));
    let make = |updates: &Arc<AtomicUsize>| {
        let c = config(app, dir.path(), eos);
        KafkaStreams::new(factory(&c, updates.clone()), c, Embedded::new(b.broker.clone())).unwrap()
    };
    let streams = make(&updates);
    streams.start().unwrap();
    // Bootstrapped before start returns: the store is complete before any record is processed.
    assert_eq!(updates.load(Ordering::SeqCst), 2);
    wait_running(&streams);
    assert_eq!(global_name(&streams, "de").as_deref(), Some("Germany"));
    let md = streams.query_metadata_for_key("countries", b"de").unwrap();
    assert!(md.local && md.partition == -1 && md.task == brook_processor_api::AnyTaskId::Global, "{md:?}");
    b.produce("orders", &[("o1", "de")]);
    wait_until("o1 enriched", Duration::from_secs(30), || enriched(&b, "o1").is_some());
    assert_eq!(enriched(&b, "o1").as_deref(), Some("de:Germany"));

    // Updates after start reach the store and the tasks reading it.
    b.produce("countries", &[("fr", "France"), ("it", "Italia")]);
    wait_until("the update is visible", Duration::from_secs(30), || {
        global_name(&streams, "fr").as_deref() == Some("France")
    });
    b.produce("orders", &[("o2", "fr")]);
    wait_until("o2 enriched", Duration::from_secs(30), || enriched(&b, "o2").is_some());
    assert_eq!(enriched(&b, "o2").as_deref(), Some("fr:France"));
    assert!(streams.close(Duration::from_secs(30)));
    assert_eq!(updates.load(Ordering::SeqCst), 4);
    let checkpoint = std::fs::read_to_string(dir.path().join(app).join("global").join(".checkpoint")).unwrap();
    assert!(checkpoint.starts_with("0\n2\ncountries 0 "), "{checkpoint}");

    // Restart: the store resumes from the checkpoint; only the record appended meanwhile is
    // read.
    b.produce("countries", &[("it", "Italy")]);
    let updates = Arc::new(AtomicUsize::new(0));
    let streams = make(&updates);
    streams.start().unwrap();
    wait_running(&streams);
    assert_eq!(updates.load(Ordering::SeqCst), 1, "resumed from the checkpoint");
    assert_eq!(global_name(&streams, "it").as_deref(), Some("Italy"));
    assert_eq!(global_name(&streams, "de").as_deref(), Some("Germany"));
    b.produce("orders", &[("o3", "it")]);
    wait_until("o3 enriched", Duration::from_secs(30), || enriched(&b, "o3").is_some());
    assert_eq!(enriched(&b, "o3").as_deref(), Some("it:Italy"));
    assert!(streams.close(Duration::from_secs(30)));
}

#[test]
fn a_global_store_is_bootstrapped_updated_and_resumed_at_least_once() {
    global_store_follows_its_topic(false);
}

#[test]
fn a_global_store_is_bootstrapped_updated_and_resumed_exactly_once() {
    global_store_follows_its_topic(true);
}

#[test]
fn a_missing_global_topic_fails_start() {
    let b = TestBroker::new();
    b.create("orders", 1);
    b.create("enriched", 1);
    let dir = tempfile::tempdir().unwrap();
    let c = config("global-missing", dir.path(), false);
    let streams = KafkaStreams::new(factory(&c, Arc::default()), c, Embedded::new(b.broker.clone())).unwrap();
    let err = streams.start().unwrap_err();
    assert!(
        matches!(&err, brook_processor_api::Error::Topology(brook_processor_api::TopologyError::MissingGlobalTopic(t)) if t == "countries"),
        "{err}"
    );
}
