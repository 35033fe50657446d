//! Shared by the DSL examples: run a topology over the embedded broker (Brook's
//! `KafkaStreams` runtime) (the tests also run them through the `TopologyTestDriver`), feeding the same input
//! records, and collect an output topic.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use brook_broker::client::{Consumer, ConsumerConfig, Producer, ProducerConfig, ProducerRecord, TopicPartition};
use brook_broker::{Broker, BrokerConfig};
use brook_processor_api::runtime::Embedded;
use brook_processor_api::{KafkaStreams, StreamsConfig, Topology, TopologyTaskFactory, TopologyTestDriver};
use brook_state_store::BytesSerde;
use bytes::Bytes;

/// An input record: topic, key, value, timestamp.
#[derive(Debug, Clone)]
pub(crate) struct Input {
    pub(crate) topic: &'static str,
    pub(crate) key: Option<Bytes>,
    pub(crate) value: Option<Bytes>,
    pub(crate) timestamp: i64,
}

impl Input {
    /// A string key and value.
    pub(crate) fn str(topic: &'static str, key: Option<&str>, value: &str, timestamp: i64) -> Input {
        Input { topic, key: key.map(|k| Bytes::from(k.to_owned())), value: Some(Bytes::from(value.to_owned())), timestamp }
    }
}

/// An output record: key, value, timestamp.
pub(crate) type Output = (Option<Bytes>, Option<Bytes>, i64);

/// Runs `topology` through the test driver: pipes `inputs` in order, reads `output`.
pub(crate) fn run_test_driver(app: &str, topology: Topology, inputs: &[Input], output: &str) -> anyhow::Result<Vec<Output>> {
    let dir = tempfile::tempdir()?;
    let mut config = StreamsConfig::new(app);
    config.state_dir = dir.path().to_path_buf();
    let driver = TopologyTestDriver::new(topology, config, 0)?;
    for i in inputs {
        driver.pipe_raw(i.topic, i.key.clone(), i.value.clone(), i.timestamp, Vec::new())?;
    }
    let out = driver.create_output_topic(output, Arc::new(BytesSerde), Arc::new(BytesSerde));
    Ok(out.read_records_to_list()?.into_iter().map(|r| (r.key, r.value, r.timestamp)).collect())
}

/// Runs `topology` with `KafkaStreams` over an embedded broker in a temporary directory:
/// creates `topics` (one partition each), produces `inputs`, and reads `output` until `done`
/// holds (or `timeout`).
pub(crate) fn run_embedded(
    app: &str,
    topology: Topology,
    topics: &[&str],
    inputs: &[Input],
    output: &str,
    done: impl Fn(&[Output]) -> bool,
    timeout: Duration,
) -> anyhow::Result<Vec<Output>> {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    let dir = tempfile::tempdir()?;
    let mut bc = BrokerConfig::new(dir.path().join("broker"));
    bc.group_initial_rebalance_delay = Duration::ZERO;
    let broker = rt.block_on(Broker::open(bc)).context("opening the embedded broker")?;
    for t in topics {
        broker.create_topic(t, 1, Default::default())?;
    }
    {
        let _g = rt.enter();
        let p = Producer::new(broker.clone(), ProducerConfig::default())?;
        let futs: Vec<_> = inputs
            .iter()
            .map(|i| {
                p.send(ProducerRecord {
                    topic: i.topic.to_owned(),
                    key: i.key.clone(),
                    value: i.value.clone(),
                    timestamp: Some(i.timestamp),
                    ..Default::default()
                })
            })
            .collect();
        p.flush();
        rt.block_on(async {
            for f in futs {
                f.await?;
            }
            anyhow::Ok(())
        })?;
    }
    let mut config = StreamsConfig::new(app);
    config.state_dir = dir.path().join("state");
    config.set("commit.interval.ms", "100")?;
    // Wait briefly for every input partition to have data, so records are processed in
    // timestamp order across topics (tables before the streams that join them).
    config.set("max.task.idle.ms", "200")?;
    config.set("auto.offset.reset", "earliest").ok();
    let factory = Arc::new(TopologyTaskFactory::new(topology, &config)?);
    let streams = KafkaStreams::new(factory, config, Embedded::new(broker.clone()))?;
    streams.start()?;
    let mut got: Vec<Output> = Vec::new();
    let deadline = Instant::now() + timeout;
    rt.block_on(async {
        let mut c = Consumer::new(broker.clone(), ConsumerConfig { enable_auto_commit: false, ..Default::default() });
        let tp = TopicPartition::new(output, 0);
        c.assign(std::slice::from_ref(&tp));
        c.seek(&tp, 0);
        while !done(&got) && Instant::now() < deadline {
            if let Ok(records) = c.poll(Duration::from_millis(100)).await {
                got.extend(records.into_iter().map(|r| (r.key, r.value, r.timestamp)));
            }
        }
    });
    let closed = streams.close(Duration::from_secs(30));
    anyhow::ensure!(closed, "the stream threads did not stop within 30 s");
    anyhow::ensure!(done(&got), "timed out waiting for the output of {output} (got {} records)", got.len());
    Ok(got)
}

/// A UTF-8 string of output bytes.
pub(crate) fn text(b: &Option<Bytes>) -> String {
    b.as_ref().map_or_else(|| "null".to_owned(), |b| String::from_utf8_lossy(b).into_owned())
}

/// A big-endian i64 of output bytes.
pub(crate) fn long(b: &Option<Bytes>) -> i64 {
    b.as_ref().and_then(|b| <[u8; 8]>::try_from(b.as_ref()).ok()).map_or(0, i64::from_be_bytes)
}
