//! Topic creation is all or nothing: absurd partition counts are refused up front, a creation
//! that fails half-way removes what it made, and a restart sweeps directories no topic owns.

use std::collections::BTreeMap;
use std::path::Path;

use brook_broker::server::wire_client::Client;
use brook_broker::server::{serve, ServerConfig};
use brook_broker::{Broker, Error, ErrorCode};
use kafka_protocol::messages::create_topics_request::CreatableTopic;
use kafka_protocol::messages::{CreateTopicsRequest, TopicName};
use kafka_protocol::protocol::StrBytes;

use crate::support::{broker, config, produce};

/// Entries of the data directory other than the broker's own files.
fn partition_dirs(root: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(root)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| ![".lock", "brook-topics.json", "brook-producer-ids", "meta.properties"].contains(&n.as_str()))
        .collect();
    names.sort();
    names
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_million_partitions_are_refused_before_anything_is_created() {
    let dir = tempfile::tempdir().unwrap();
    let b = broker(dir.path()).await;
    let err = b.create_topic("huge", 1_000_000, BTreeMap::new()).unwrap_err();
    assert_eq!(err.code(), ErrorCode::InvalidPartitions, "{err}");
    assert!(err.to_string().contains("max.partitions.per.topic"), "{err}");

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(serve(b.clone(), listener, ServerConfig::default(), stopped));
    let mut c = Client::connect(&addr).await.unwrap();
    let mut t = CreatableTopic::default();
    t.name = TopicName(StrBytes::from_static_str("huge"));
    t.num_partitions = 1_000_000;
    t.replication_factor = 1;
    let mut req = CreateTopicsRequest::default();
    req.topics.push(t);
    req.timeout_ms = 30_000;
    let resp = c.send(req).await.unwrap();
    assert_eq!(resp.topics[0].error_code, ErrorCode::InvalidPartitions.as_i16());
    let msg = resp.topics[0].error_message.as_ref().unwrap().to_string();
    assert!(msg.contains("1000000 partitions exceed the limit of 10000"), "{msg}");
    assert_eq!(partition_dirs(dir.path()), Vec::<String>::new(), "nothing is left on disk");
    let _ = stop.send(());
    server.await.unwrap().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_broker_wide_limit_counts_every_topic() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(dir.path());
    cfg.set("max.broker.partitions", "10").unwrap();
    let b = Broker::open(cfg).await.unwrap();
    b.create_topic("a", 6, BTreeMap::new()).unwrap();
    let err = b.create_topic("b", 5, BTreeMap::new()).unwrap_err();
    assert_eq!(err.code(), ErrorCode::PolicyViolation, "{err}");
    assert!(err.to_string().contains("max.broker.partitions"), "{err}");
    assert_eq!(b.validate_new_topic("b", 5, &BTreeMap::new()).unwrap_err().code(), ErrorCode::PolicyViolation);
    assert_eq!(b.create_partitions("a", 11).unwrap_err().code(), ErrorCode::PolicyViolation);
    assert_eq!(b.validate_new_partitions("a", 11).unwrap_err().code(), ErrorCode::PolicyViolation);
    assert_eq!(b.validate_new_partitions("a", 6).unwrap_err().code(), ErrorCode::InvalidPartitions);
    b.create_topic("b", 4, BTreeMap::new()).unwrap();
    assert_eq!(partition_dirs(dir.path()).len(), 10);
    b.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_creation_failing_half_way_leaves_nothing_and_a_restart_sweeps_debris() {
    let dir = tempfile::tempdir().unwrap();
    {
        let b = broker(dir.path()).await;
        // Partition 5's directory cannot be created: a file is in the way.
        std::fs::write(dir.path().join("t-5"), b"in the way").unwrap();
        let err = b.create_topic("t", 10, BTreeMap::new()).unwrap_err();
        assert!(matches!(err, Error::Storage { .. }), "{err}");
        assert_eq!(partition_dirs(dir.path()), ["t-5"], "partitions 0 to 4 were rolled back");
        assert!(matches!(b.describe_topic("t"), Err(Error::UnknownTopicOrPartition(_))));
        // The same for partitions added to an existing topic.
        b.create_topic("u", 1, BTreeMap::new()).unwrap();
        std::fs::write(dir.path().join("u-3"), b"in the way").unwrap();
        assert!(matches!(b.create_partitions("u", 5), Err(Error::Storage { .. })));
        assert_eq!(partition_dirs(dir.path()), ["t-5", "u-0", "u-3"]);
        assert_eq!(b.describe_topic("u").unwrap().partitions.len(), 1);
        std::fs::remove_file(dir.path().join("t-5")).unwrap();
        std::fs::remove_file(dir.path().join("u-3")).unwrap();
        b.create_topic("t", 10, BTreeMap::new()).unwrap();
        produce(&b, "t", 10, 10).await;
        b.shutdown().await;
    }
    // What a crash in the middle of a creation leaves: directories the catalog does not list,
    // one empty, one (made by hand) with records in it.
    std::fs::create_dir(dir.path().join("ghost-0")).unwrap();
    std::fs::write(dir.path().join("ghost-0").join("00000000000000000000.log"), b"").unwrap();
    std::fs::create_dir(dir.path().join("ghost-1")).unwrap();
    std::fs::write(dir.path().join("ghost-1").join("00000000000000000000.log"), b"records").unwrap();
    std::fs::create_dir(dir.path().join("t-10")).unwrap();
    // Not named like a partition: someone else's (`brook server` keeps SQL state in `ksql/`).
    std::fs::create_dir_all(dir.path().join("ksql").join("app")).unwrap();
    std::fs::write(dir.path().join("ksql").join("app").join("state"), b"state").unwrap();

    let b = broker(dir.path()).await;
    assert!(dir.path().join("ksql").join("app").join("state").exists(), "a directory not named like a partition is left alone");
    let left = partition_dirs(dir.path());
    let stray: Vec<&String> = left.iter().filter(|n| n.starts_with("ghost-1.") && n.ends_with("-stray")).collect();
    assert_eq!(stray.len(), 1, "the directory with records is quarantined: {left:?}");
    let t: Vec<String> = (0..10).map(|p| format!("t-{p}")).collect();
    let owned: Vec<&String> = left.iter().filter(|n| !n.starts_with("ghost") && *n != "u-0" && *n != "ksql").collect();
    assert_eq!(owned.len(), 10, "empty debris is removed, the topics' partitions are kept: {left:?}");
    assert!(owned.iter().all(|n| t.contains(n)), "{left:?}");
    assert!(!b.list_topics().contains(&"ghost".to_owned()));
    let total: i64 = b.describe_topic("t").unwrap().partitions.iter().map(|p| p.high_watermark).sum();
    assert_eq!(total, 10);
    b.shutdown().await;
}
