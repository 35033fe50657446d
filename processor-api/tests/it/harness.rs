//! The harness of the runtime tests: a test broker, configs and polling helpers.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use brook_broker::client::{self as bc, Consumer, ConsumerConfig, Producer, ProducerConfig, ProducerRecord};
use brook_broker::{Broker, BrokerConfig, IsolationLevel, OffsetSpec};
use brook_processor_api::runtime::{KafkaStreams, State};
use brook_processor_api::StreamsConfig;
pub(crate) use brook_common::test_support::wait_until;

pub(crate) struct TestBroker {
    pub(crate) rt: tokio::runtime::Runtime,
    pub(crate) broker: Broker,
    _dir: tempfile::TempDir,
}

impl TestBroker {
    pub(crate) fn new() -> TestBroker {
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let mut config = BrokerConfig::new(dir.path());
        config.group_initial_rebalance_delay = Duration::ZERO;
        config.group_min_session_timeout = Duration::from_millis(500);
        let broker = rt.block_on(Broker::open(config)).unwrap();
        TestBroker { rt, broker, _dir: dir }
    }

    pub(crate) fn create(&self, topic: &str, partitions: i32) {
        self.broker.create_topic(topic, partitions, Default::default()).unwrap();
    }

    pub(crate) fn produce<K: AsRef<str>, V: AsRef<str>>(&self, topic: &str, records: &[(K, V)]) {
        let _g = self.rt.enter();
        let p = Producer::new(self.broker.clone(), ProducerConfig::default()).unwrap();
        let futs: Vec<_> = records
            .iter()
            .map(|(k, v)| p.send(ProducerRecord::new(topic, Some(k.as_ref().to_owned()), Some(v.as_ref().to_owned()))))
            .collect();
        p.flush();
        self.rt.block_on(async {
            for f in futs {
                f.await.unwrap();
            }
        });
    }

    /// Every record of `topic` (committed ones only under `read_committed`), per partition in
    /// offset order.
    pub(crate) fn read_all(&self, topic: &str, read_committed: bool) -> Vec<(String, String)> {
        let iso = if read_committed { IsolationLevel::ReadCommitted } else { IsolationLevel::ReadUncommitted };
        let n = self.broker.partition_count(topic, false).unwrap();
        let mut out = Vec::new();
        self.rt.block_on(async {
            for p in 0..n {
                let end = self.broker.list_offset(topic, p, OffsetSpec::Latest, iso).unwrap().0;
                let mut c = Consumer::new(
                    self.broker.clone(),
                    ConsumerConfig { isolation_level: iso, enable_auto_commit: false, ..Default::default() },
                );
                let tp = bc::TopicPartition::new(topic, p);
                c.assign(std::slice::from_ref(&tp));
                c.seek(&tp, 0);
                while c.position(&tp).await.unwrap() < end {
                    for r in c.poll(Duration::from_millis(100)).await.unwrap() {
                        if r.offset < end {
                            out.push((
                                String::from_utf8(r.key.unwrap().to_vec()).unwrap(),
                                String::from_utf8(r.value.unwrap().to_vec()).unwrap(),
                            ));
                        }
                    }
                }
            }
        });
        out
    }

    /// The last count per key in `output`.
    pub(crate) fn final_counts(&self, read_committed: bool) -> BTreeMap<String, u64> {
        self.read_all("output", read_committed).into_iter().map(|(k, v)| (k, v.parse().unwrap())).collect()
    }
}

pub(crate) fn config(app: &str, dir: &Path, eos: bool) -> StreamsConfig {
    let mut c = StreamsConfig::new(app);
    c.state_dir = dir.to_path_buf();
    if eos {
        c.set("processing.guarantee", "exactly_once_v2").unwrap();
    }
    c.commit_interval = Duration::from_millis(50);
    c.session_timeout = Duration::from_secs(6);
    c.heartbeat_interval = Duration::from_millis(200);
    c.poll = Duration::from_millis(20);
    c
}

pub(crate) fn wait_running(s: &KafkaStreams) {
    let (st, ok) = s.wait_for_state(Duration::from_secs(30), |s| s == State::Running);
    assert!(ok, "not RUNNING but {st}");
}
