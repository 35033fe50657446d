//! `brook datagen`: the quickstart records, read back from the broker they were written to.

use std::time::Duration;

use brook_broker::client::{Consumer, ConsumerConfig, OffsetReset, TopicPartition};
use brook_broker::{Broker, BrokerConfig};

use crate::brook;
use crate::util::TestServer;

/// Every record of partition 0 of `topic`, as (key, value) bytes.
async fn read_all(broker: &Broker, topic: &str, expected: usize) -> Vec<(Vec<u8>, Vec<u8>)> {
    let mut cfg = ConsumerConfig::default();
    cfg.auto_offset_reset = OffsetReset::Earliest;
    let mut c = Consumer::new(broker.clone(), cfg);
    c.assign(&[TopicPartition { topic: topic.to_owned(), partition: 0 }]);
    let mut out = Vec::new();
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while out.len() < expected && std::time::Instant::now() < deadline {
        for r in c.poll(Duration::from_millis(200)).await.unwrap() {
            out.push((r.key.unwrap().to_vec(), r.value.unwrap().to_vec()));
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pageviews_into_the_embedded_data_directory() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let data_arg = data.to_str().unwrap();
    brook(&["datagen", "--quickstart", "pageviews", "--topic", "pv", "--iterations", "25", "--data-dir", data_arg], "").await.unwrap();
    let broker = Broker::open(BrokerConfig::new(&data)).await.unwrap();
    let records = read_all(&broker, "pv", 25).await;
    assert_eq!(records.len(), 25);
    for (i, (key, value)) in records.iter().enumerate() {
        let v: serde_json::Value = serde_json::from_slice(value).unwrap();
        let fields: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(fields, ["pageid", "userid", "viewtime"], "{v}");
        // ksql-datagen's key: the viewtime, a KAFKA BIGINT; viewtime counts 1, 11, 21, ...
        let viewtime = v["viewtime"].as_i64().unwrap();
        assert_eq!(viewtime, 1 + 10 * i as i64);
        assert_eq!(key.as_slice(), viewtime.to_be_bytes());
        assert!(v["userid"].as_str().unwrap().starts_with("User_") && v["pageid"].as_str().unwrap().starts_with("Page_"), "{v}");
    }
    broker.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn users_over_tcp_and_bad_flags() {
    let srv = TestServer::start().await;
    let b = srv.addr.as_str();
    brook(&["datagen", "--quickstart", "users", "--iterations", "40", "--msgRate", "400", "--bootstrap-server", b], "").await.unwrap();
    let records = read_all(&srv.broker, "users_kafka_topic_json", 40).await;
    assert_eq!(records.len(), 40);
    for (key, value) in &records {
        let v: serde_json::Value = serde_json::from_slice(value).unwrap();
        let mut fields: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
        fields.sort_unstable();
        assert_eq!(fields, ["gender", "regionid", "registertime", "userid"], "{v}");
        assert_eq!(key.as_slice(), v["userid"].as_str().unwrap().as_bytes());
        assert!(["MALE", "FEMALE", "OTHER"].contains(&v["gender"].as_str().unwrap()), "{v}");
    }
    let err = brook(&["datagen", "--quickstart", "users", "--msgRate", "0", "--bootstrap-server", b], "").await.unwrap_err();
    assert_eq!(err.to_string(), "--msgRate must be positive, or -1 for as fast as possible");
    let err = brook(&["datagen", "--quickstart", "nope"], "").await.unwrap_err();
    assert!(err.to_string().contains("invalid value 'nope' for '--quickstart <QUICKSTART>'"), "{err}");
    srv.stop().await;
}
