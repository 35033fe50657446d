//! Pattern sources: every existing matching topic at start, and topics created later.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use brook_processor_api::runtime::{Embedded, KafkaStreams, StoreQueryParameters};
use brook_processor_api::{Processor, ProcessorContext, Record, Result, SourceOptions, Topology, TopologyTaskFactory};
use brook_state_store::{KeyValueStore, Stores};
use bytes::Bytes;

use crate::harness::{config, wait_running, wait_until, TestBroker};

type B = Option<Bytes>;

/// Remembers `key -> topic` of every record.
pub(crate) struct Remember;

impl Processor<B, B, (), ()> for Remember {
    fn process(&mut self, ctx: &mut ProcessorContext<'_, (), ()>, r: Record<B, B>) -> Result<()> {
        let topic = ctx.record_metadata().map(|m| m.topic.clone()).unwrap_or_default();
        let store: &mut dyn KeyValueStore = ctx.get_key_value_store("seen")?;
        store.put(r.key().clone().unwrap_or_default(), Some(Bytes::from(topic)))?;
        Ok(())
    }
}

pub(crate) fn seen(streams: &KafkaStreams) -> BTreeSet<(String, String)> {
    let Ok(view) = streams.key_value_store(StoreQueryParameters::from_name("seen")) else { return BTreeSet::new() };
    view.all()
        .map(|all| {
            all.into_iter()
                .map(|(k, v)| (String::from_utf8(k.to_vec()).unwrap(), String::from_utf8(v.to_vec()).unwrap()))
                .collect()
        })
        .unwrap_or_default()
}

pub(crate) fn factory(c: &brook_processor_api::StreamsConfig) -> Arc<TopologyTaskFactory> {
    let mut t = Topology::new();
    t.add_source("src", SourceOptions::pattern("in-.*"))
        .unwrap()
        .add_processor("remember", || Remember, &["src"])
        .unwrap()
        .add_state_store(Stores::persistent_key_value_store("seen"), &["remember"])
        .unwrap();
    Arc::new(TopologyTaskFactory::new(t, c).unwrap())
}

#[test]
fn a_pattern_source_reads_existing_and_new_matching_topics() {
    let b = TestBroker::new();
    b.create("in-a", 2);
    b.create("in-b", 2);
    b.create("other", 2);
    // Internal topics never match: the broker's and this application's own.
    b.create("in-pattern-seen-changelog", 2);
    let dir = tempfile::tempdir().unwrap();
    // The application id starts like the pattern, so its changelog matches `in-.*` by name.
    let mut c = config("in-pattern", dir.path(), false);
    c.set("metadata.max.age.ms", "100").unwrap();
    let factory = factory(&c);
    let streams = KafkaStreams::new(factory, c, Embedded::new(b.broker.clone())).unwrap();
    streams.start().unwrap();
    wait_running(&streams);
    let partitions: BTreeSet<String> = streams
        .metadata_for_local_threads()
        .into_iter()
        .flat_map(|t| t.partitions)
        .map(|tp| tp.to_string())
        .collect();
    assert_eq!(partitions, BTreeSet::from(["in-a-0", "in-a-1", "in-b-0", "in-b-1"].map(String::from)));

    b.produce("in-a", &[("k1", "x"), ("k2", "x")]);
    b.produce("in-b", &[("k3", "x")]);
    b.produce("other", &[("k9", "x")]);
    let expected = |pairs: &[(&str, &str)]| -> BTreeSet<(String, String)> {
        pairs.iter().map(|(k, t)| (k.to_string(), t.to_string())).collect()
    };
    wait_until("in-a and in-b processed", Duration::from_secs(30), || {
        seen(&streams) == expected(&[("k1", "in-a"), ("k2", "in-a"), ("k3", "in-b")])
    });

    // A third matching topic, created while running, is picked up by the next metadata
    // refresh: a rebalance gives the tasks its partitions.
    b.create("in-c", 2);
    b.produce("in-c", &[("k4", "x"), ("k5", "x")]);
    b.produce("in-a", &[("k6", "x")]);
    wait_until("in-c processed", Duration::from_secs(30), || {
        seen(&streams)
            == expected(&[
                ("k1", "in-a"),
                ("k2", "in-a"),
                ("k3", "in-b"),
                ("k4", "in-c"),
                ("k5", "in-c"),
                ("k6", "in-a"),
            ])
    });
    wait_running(&streams);
    let partitions: BTreeSet<String> = streams
        .metadata_for_local_threads()
        .into_iter()
        .flat_map(|t| t.partitions)
        .map(|tp| tp.to_string())
        .collect();
    assert_eq!(partitions.len(), 6, "{partitions:?}");
    assert!(
        partitions.iter().all(|p| p.starts_with("in-a") || p.starts_with("in-b") || p.starts_with("in-c")),
        "{partitions:?}"
    );
    assert!(streams.close(Duration::from_secs(30)));
}
