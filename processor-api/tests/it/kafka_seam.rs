//! The global stream thread and pattern sources over the Kafka client seam (librdkafka)
//! against the broker's wire-protocol server.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use brook_processor_api::runtime::{Kafka, KafkaStreams};

use crate::harness::{config, wait_running, wait_until, TestBroker};

/// Serves the Kafka protocol for the test broker; returns `host:port`.
fn serve(b: &TestBroker) -> String {
    let listener = b.rt.block_on(tokio::net::TcpListener::bind("127.0.0.1:0")).unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let config = brook_broker::server::ServerConfig { listen: listener.local_addr().unwrap(), ..Default::default() };
    let broker = b.broker.clone();
    b.rt.spawn(async move {
        brook_broker::server::serve(broker, listener, config, std::future::pending::<()>()).await.unwrap();
    });
    addr
}

#[test]
fn a_global_store_follows_its_topic_over_the_kafka_protocol() {
    let b = TestBroker::new();
    b.create("countries", 2);
    b.create("orders", 2);
    b.create("enriched", 2);
    b.produce("countries", &[("de", "Germany")]);
    let addr = serve(&b);
    let dir = tempfile::tempdir().unwrap();
    let mut c = config("global-kafka", dir.path(), true);
    c.set("bootstrap.servers", &addr).unwrap();
    let updates = Arc::new(AtomicUsize::new(0));
    let streams = KafkaStreams::new(crate::global::factory(&c, updates.clone()), c, Kafka::new(addr.clone())).unwrap();
    streams.start().unwrap();
    assert_eq!(updates.load(Ordering::SeqCst), 1, "bootstrapped before start returns");
    wait_running(&streams);
    b.produce("countries", &[("fr", "France")]);
    wait_until("the update is visible", Duration::from_secs(60), || {
        crate::global::global_name(&streams, "fr").as_deref() == Some("France")
    });
    b.produce("orders", &[("o1", "fr")]);
    wait_until("o1 enriched", Duration::from_secs(60), || crate::global::enriched(&b, "o1").is_some());
    assert_eq!(crate::global::enriched(&b, "o1").as_deref(), Some("fr:France"));
    assert!(streams.close(Duration::from_secs(30)));
}

#[test]
fn a_pattern_source_picks_up_new_topics_over_the_kafka_protocol() {
    let b = TestBroker::new();
    b.create("in-a", 2);
    let addr = serve(&b);
    let dir = tempfile::tempdir().unwrap();
    let mut c = config("pattern-kafka", dir.path(), false);
    c.set("bootstrap.servers", &addr).unwrap();
    c.set("metadata.max.age.ms", "100").unwrap();
    let streams = KafkaStreams::new(crate::patterns::factory(&c), c, Kafka::new(addr.clone())).unwrap();
    streams.start().unwrap();
    wait_running(&streams);
    b.produce("in-a", &[("k1", "x")]);
    b.create("in-b", 2);
    b.produce("in-b", &[("k2", "x")]);
    let expected: BTreeSet<(String, String)> =
        [("k1", "in-a"), ("k2", "in-b")].iter().map(|(k, t)| (k.to_string(), t.to_string())).collect();
    wait_until("both topics processed", Duration::from_secs(60), || crate::patterns::seen(&streams) == expected);
    assert!(streams.close(Duration::from_secs(30)));
}
