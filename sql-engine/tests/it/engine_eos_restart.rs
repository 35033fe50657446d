//! Live mode with `exactly_once_v2` across an engine restart: a filtering CSAS and a windowed
//! CTAS over JSON keep every output exactly once when the engine is dropped mid-stream and a
//! new one (same broker, same state dir, same statements and so the same query ids) takes over.
//! Re-executing the statements stands in for the server's command-topic replay.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use brook_broker::client::producer::{Producer, ProducerConfig, ProducerRecord};
use brook_broker::client::{Consumer, ConsumerConfig, ConsumerRecord, TopicPartition};
use brook_broker::{Broker, BrokerConfig, IsolationLevel};
use brook_sql_engine::engine::EngineConfig;
use brook_sql_engine::{Engine, StatementResult};

use crate::engine_support::wait_for;

const STATEMENTS: [&str; 3] = [
    "CREATE STREAM S (ID INT KEY, K STRING, V INT) WITH (KAFKA_TOPIC='s', PARTITIONS=2, FORMAT='JSON');",
    "CREATE STREAM BIG AS SELECT ID, K, V FROM S WHERE V > 1;",
    "CREATE TABLE COUNTS AS SELECT K, COUNT(*) AS N FROM S WINDOW TUMBLING (SIZE 1 HOUR) GROUP BY K;",
];
const KEYS: [&str; 3] = ["a", "b", "c"];
/// Records 0..30 go to the first engine, 30..60 are produced as it is dropped, 60..90 go
/// to the second one.
const TOTAL: i32 = 90;

/// Starts an engine on `broker` and runs [`STATEMENTS`]; returns it with its query ids.
fn start_engine(broker: &Broker, state: &Path) -> (Engine, Vec<String>) {
    let mut config = EngineConfig::live(broker.clone(), state);
    config.properties.insert("ksql.streams.commit.interval.ms".into(), "50".into());
    config.properties.insert("ksql.streams.cache.max.bytes.buffering".into(), "0".into());
    config.properties.insert("ksql.streams.processing.guarantee".into(), "exactly_once_v2".into());
    let mut e = Engine::new(config).unwrap();
    let mut ids = Vec::new();
    for s in STATEMENTS {
        match e.execute(s).unwrap().remove(0) {
            StatementResult::Status(st) => ids.extend(st.query_id),
            other => panic!("{other:?}"),
        }
    }
    (e, ids)
}

fn k_of(id: i32) -> &'static str {
    KEYS[id as usize % KEYS.len()]
}

fn v_of(id: i32) -> i32 {
    id % 4
}

/// Produces records `ids` in one transaction.
fn produce(producer: &Producer, ids: std::ops::Range<i32>) {
    producer.begin_transaction().unwrap();
    for id in ids {
        let value = format!(r#"{{"K":"{}","V":{}}}"#, k_of(id), v_of(id));
        producer.send(ProducerRecord { timestamp: Some(1_000 + i64::from(id)), ..ProducerRecord::new("s", Some(id.to_string().into_bytes()), Some(value.into_bytes())) });
    }
    producer.commit_transaction().unwrap();
}

/// Every committed record of `topic`, read by a `read_committed` consumer up to each
/// partition's last stable offset.
fn read_committed(rt: &tokio::runtime::Runtime, broker: &Broker, topic: &str) -> Vec<ConsumerRecord> {
    let config = ConsumerConfig { isolation_level: IsolationLevel::ReadCommitted, ..ConsumerConfig::default() };
    let partitions: Vec<TopicPartition> =
        (0..broker.partition_count(topic, false).unwrap()).map(|partition| TopicPartition { topic: topic.to_owned(), partition }).collect();
    let mut ends = Consumer::new(broker.clone(), config.clone());
    ends.assign(&partitions);
    ends.seek_to_end(&partitions).unwrap();
    let mut c = Consumer::new(broker.clone(), config);
    c.assign(&partitions);
    c.seek_to_beginning(&partitions).unwrap();
    let mut out = Vec::new();
    rt.block_on(async {
        let mut end = Vec::new();
        for tp in &partitions {
            end.push(ends.position(tp).await.unwrap());
        }
        loop {
            let mut done = true;
            for (tp, end) in partitions.iter().zip(&end) {
                done &= c.position(tp).await.unwrap() >= *end;
            }
            if done {
                break;
            }
            out.extend(c.poll(Duration::from_millis(100)).await.unwrap());
        }
    });
    out
}

/// The `{"N":n}` counts of COUNTS per windowed key, in offset order.
fn count_updates(records: &[ConsumerRecord]) -> BTreeMap<Vec<u8>, Vec<i64>> {
    let mut out: BTreeMap<Vec<u8>, Vec<i64>> = BTreeMap::new();
    for r in records {
        let v: serde_json::Value = serde_json::from_slice(r.value.as_ref().unwrap()).unwrap();
        out.entry(r.key.as_ref().unwrap().to_vec()).or_default().push(v["N"].as_i64().unwrap());
    }
    out
}

fn big_ids(records: &[ConsumerRecord]) -> Vec<i32> {
    let mut ids: Vec<i32> = records.iter().map(|r| std::str::from_utf8(r.key.as_ref().unwrap()).unwrap().parse().unwrap()).collect();
    ids.sort_unstable();
    ids
}

#[test]
fn eos_csas_and_windowed_ctas_survive_an_engine_restart_exactly_once() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut bc = BrokerConfig::new(dir.path().join("log"));
    bc.group_initial_rebalance_delay = Duration::ZERO;
    let broker = rt.block_on(Broker::open(bc)).unwrap();
    let _guard = rt.enter();
    let state = dir.path().join("state");
    let producer = Producer::new(broker.clone(), ProducerConfig { transactional_id: Some("eos-input".into()), ..ProducerConfig::default() }).unwrap();

    let (first, first_ids) = start_engine(&broker, &state);
    producer.init_transactions().unwrap();
    let passing = |ids: std::ops::Range<i32>| ids.filter(|&id| v_of(id) > 1).collect::<Vec<_>>();
    for chunk in [0..10, 10..20, 20..30] {
        produce(&producer, chunk);
    }
    // Some commits happened: the first third is in both sinks.
    wait_for("the first 30 records in BIG", || big_ids(&read_committed(&rt, &broker, "BIG")) == passing(0..30));
    wait_for("the first 30 records counted", || count_updates(&read_committed(&rt, &broker, "COUNTS")).values().map(|n| n.len()).sum::<usize>() == 30);
    // Mid-stream: the next records are in the input as the engine stops.
    produce(&producer, 30..45);
    produce(&producer, 45..60);
    drop(first);

    let (second, second_ids) = start_engine(&broker, &state);
    assert_eq!(second_ids, first_ids, "the same statements get the same query ids");
    produce(&producer, 60..TOTAL);
    let expected_counts = |k: &str| (0..TOTAL).filter(|&id| k_of(id) == k).count() as i64;
    wait_for("every record counted", || count_updates(&read_committed(&rt, &broker, "COUNTS")).values().map(|n| n.len()).sum::<usize>() >= TOTAL as usize);
    wait_for("every passing record in BIG", || read_committed(&rt, &broker, "BIG").len() >= passing(0..TOTAL).len());

    // Exactly once: every passing record once, none lost, none twice.
    assert_eq!(big_ids(&read_committed(&rt, &broker, "BIG")), passing(0..TOTAL));
    // Not reprocessed from the beginning: each window's count goes 1, 2, ..., n without
    // repeats (a replay would restart at 1 or double the totals).
    let counts = count_updates(&read_committed(&rt, &broker, "COUNTS"));
    let mut by_key: BTreeMap<String, Vec<i64>> = BTreeMap::new();
    for (key, updates) in counts {
        // A windowed JSON key: the key's JSON then the window start (8 bytes).
        let json = String::from_utf8(key[..key.len() - 8].to_vec()).unwrap();
        by_key.insert(json, updates);
    }
    let want: BTreeMap<String, Vec<i64>> = KEYS.iter().map(|k| (format!("\"{k}\""), (1..=expected_counts(k)).collect())).collect();
    assert_eq!(by_key, want);
    drop(second);
    rt.block_on(broker.shutdown());
}
