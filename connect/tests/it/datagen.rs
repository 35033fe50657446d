//! The `datagen` connector through the standalone worker: quickstart records in the topic,
//! keyed by their key field, and a restart that continues the count from the stored offset.

use std::time::Duration;

use brook_broker::client::{Consumer, ConsumerConfig, TopicPartition};
use brook_broker::{Broker, BrokerConfig};
use brook_common::test_support::wait_until_async;
use brook_common::OffsetReset;
use brook_connect::standalone::{parse_properties, StandaloneWorker, WorkerConfig};
use brook_connect::{Config, Plugins};
use serde_json::Value as Json;

fn props(text: &str) -> Config {
    parse_properties("test", text).unwrap()
}

/// Every record of partition 0 of `topic` (none while it does not exist): key and value.
async fn records(b: &Broker, topic: &str) -> Vec<(String, Json)> {
    let mut cc = ConsumerConfig::default();
    cc.auto_offset_reset = OffsetReset::Earliest;
    let mut c = Consumer::new(b.clone(), cc);
    c.assign(&[TopicPartition { topic: topic.into(), partition: 0 }]);
    let mut out = Vec::new();
    loop {
        let got = match c.poll(Duration::from_millis(100)).await {
            Ok(got) if !got.is_empty() => got,
            Ok(_) | Err(brook_broker::Error::UnknownTopicOrPartition(_)) => return out,
            Err(e) => panic!("{e}"),
        };
        for r in got {
            let key = String::from_utf8(r.key.unwrap_or_default().to_vec()).unwrap();
            out.push((key, serde_json::from_slice(&r.value.unwrap()).unwrap()));
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn datagen_writes_quickstart_orders_and_a_restart_continues_the_count() {
    assert!(Plugins::default().classes().contains(&"io.confluent.kafka.connect.datagen.DatagenConnector"));
    let dir = tempfile::tempdir().unwrap();
    let mut bc = BrokerConfig::default();
    bc.log_dir = dir.path().join("broker");
    let b = Broker::open(bc).await.unwrap();
    let worker = props(&format!(
        "key.converter=org.apache.kafka.connect.storage.StringConverter\nvalue.converter=org.apache.kafka.connect.json.JsonConverter\n\
         value.converter.schemas.enable=false\noffset.storage.file.filename={}\noffset.flush.interval.ms=50\n",
        dir.path().join("offsets").display()
    ));
    for (iterations, want) in [(5, 5), (8, 8)] {
        let connector = props(&format!(
            "name=datagen-orders\nconnector.class=DatagenConnector\nkafka.topic=orders\nquickstart=orders\nmax.interval=10\niterations={iterations}\n"
        ));
        let w = StandaloneWorker::new(b.clone(), WorkerConfig::from_props(worker.clone()).unwrap(), Plugins::default()).unwrap();
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let handle = tokio::spawn(w.run(vec![connector], stopped));
        let bb = b.clone();
        wait_until_async(&format!("{want} orders"), Duration::from_secs(30), || {
            let b = bb.clone();
            async move { records(&b, "orders").await.len() >= want }
        })
        .await;
        stop.send(true).unwrap();
        handle.await.unwrap().unwrap();
    }
    let got = records(&b, "orders").await;
    // Eight orders, ids 0..8 in order: the second run went on from the fifth.
    let ids: Vec<i64> = got.iter().map(|(_, v)| v["orderid"].as_i64().unwrap()).collect();
    assert_eq!(ids, (0..8).collect::<Vec<_>>());
    for (key, value) in &got {
        assert_eq!(key, &value["orderid"].to_string(), "the key is the key field");
        let fields: Vec<&str> = value.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(fields, ["address", "itemid", "orderid", "ordertime", "orderunits"]);
        assert!(value["itemid"].as_str().unwrap().starts_with("Item_"), "{value}");
        assert!(value["address"]["zipcode"].is_i64(), "{value}");
    }
    b.shutdown().await;
}
