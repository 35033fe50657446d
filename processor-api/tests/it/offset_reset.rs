//! `auto.offset.reset`: a source's own policy and the unprefixed config both reach the main
//! consumer; without either, a new group starts from the earliest offset.

use std::time::Duration;

use brook_processor_api::runtime::{Embedded, KafkaStreams};
use brook_processor_api::{OffsetReset, SourceOptions, StreamsConfig, Topology, TopologyTaskFactory};
use brook_state_store::Stores;

use crate::harness::{config, wait_running, wait_until, TestBroker};
use crate::patterns::{seen, Remember};

/// Runs `in` -> remember with `reset` on the source and `config_reset` as the unprefixed
/// config; "old" is produced before the start, "new" once the instance runs. Returns the keys
/// processed.
fn keys_seen(app: &str, reset: Option<OffsetReset>, config_reset: Option<&str>) -> Vec<String> {
    let b = TestBroker::new();
    b.create("in", 1);
    b.produce("in", &[("old", "x")]);
    let dir = tempfile::tempdir().unwrap();
    let mut c: StreamsConfig = config(app, dir.path(), false);
    if let Some(r) = config_reset {
        c.set("auto.offset.reset", r).unwrap();
    }
    let mut source = SourceOptions::topics(["in"]);
    if let Some(r) = reset {
        source = source.with_offset_reset(r);
    }
    let mut t = Topology::new();
    t.add_source("src", source)
        .unwrap()
        .add_processor("remember", || Remember, &["src"])
        .unwrap()
        .add_state_store(Stores::in_memory_key_value_store("seen"), &["remember"])
        .unwrap();
    let factory = std::sync::Arc::new(TopologyTaskFactory::new(t, &c).unwrap());
    let streams = KafkaStreams::new(factory, c, Embedded::new(b.broker.clone())).unwrap();
    streams.start().unwrap();
    wait_running(&streams);
    wait_until("the partition is assigned", Duration::from_secs(30), || {
        streams.metadata_for_local_threads().iter().any(|t| !t.partitions.is_empty())
    });
    b.produce("in", &[("new", "x")]);
    wait_until("the new record is processed", Duration::from_secs(30), || seen(&streams).iter().any(|(k, _)| k == "new"));
    let keys = seen(&streams).into_iter().map(|(k, _)| k).collect();
    assert!(streams.close(Duration::from_secs(30)));
    keys
}

#[test]
fn a_new_group_starts_from_the_earliest_offset_by_default() {
    assert_eq!(keys_seen("reset-default", None, None), ["new", "old"]);
}

#[test]
fn a_source_with_latest_skips_what_was_written_before_the_start() {
    assert_eq!(keys_seen("reset-source", Some(OffsetReset::Latest), None), ["new"]);
    // The source's policy wins over the configured one, as in Kafka Streams.
    assert_eq!(keys_seen("reset-source-over-config", Some(OffsetReset::Latest), Some("earliest")), ["new"]);
}

#[test]
fn the_unprefixed_config_reaches_the_main_consumer() {
    assert_eq!(keys_seen("reset-config", None, Some("latest")), ["new"]);
}
