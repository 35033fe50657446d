//! Shared helpers: a broker in a temp dir with test-friendly timings, and waiting on conditions.

use std::time::{Duration, Instant};

use brook_broker::client::{Consumer, ConsumerConfig, ConsumerRecord, OffsetReset, Producer, ProducerConfig, ProducerRecord};
use brook_broker::{Broker, BrokerConfig};

pub(crate) fn config(dir: &std::path::Path) -> BrokerConfig {
    let mut c = BrokerConfig::new(dir);
    c.group_initial_rebalance_delay = Duration::ZERO;
    c.group_min_session_timeout = Duration::from_millis(100);
    c.offsets_topic_partitions = 3;
    c.transaction_topic_partitions = 3;
    c
}

pub(crate) async fn broker(dir: &std::path::Path) -> Broker {
    Broker::open(config(dir)).await.expect("broker opens")
}

pub(crate) fn consumer_config(group: &str) -> ConsumerConfig {
    let mut c = ConsumerConfig::with_group(group);
    c.auto_offset_reset = OffsetReset::Earliest;
    c.enable_auto_commit = false;
    c.heartbeat_interval = Duration::from_millis(50);
    c.session_timeout = Duration::from_millis(2000);
    c.max_poll_interval = Duration::from_millis(3000);
    c
}

/// Produces `n` records `key-i` / `value-i` (keys cycle over `keys`) and waits for them.
pub(crate) async fn produce(broker: &Broker, topic: &str, n: usize, keys: usize) {
    produce_from(broker, topic, 0, n, keys).await
}

/// Like [`produce`], numbering the records from `start`.
pub(crate) async fn produce_from(broker: &Broker, topic: &str, start: usize, n: usize, keys: usize) {
    let p = Producer::new(broker.clone(), ProducerConfig::default()).unwrap();
    let futs: Vec<_> = (start..start + n)
        .map(|i| {
            p.send(ProducerRecord::new(
                topic,
                Some(format!("key-{}", i % keys)),
                Some(format!("value-{i}")),
            ))
        })
        .collect();
    p.flush();
    for f in futs {
        f.await.expect("record appended");
    }
}

/// Polls until `want` records arrived or `within` passed.
pub(crate) async fn poll_n(c: &mut Consumer, want: usize, within: Duration) -> Vec<ConsumerRecord> {
    let deadline = Instant::now() + within;
    let mut out = Vec::new();
    while out.len() < want && Instant::now() < deadline {
        out.extend(c.poll(Duration::from_millis(100)).await.expect("poll"));
    }
    out
}

pub(crate) fn value_str(r: &ConsumerRecord) -> String {
    String::from_utf8(r.value.clone().unwrap_or_default().to_vec()).unwrap()
}
