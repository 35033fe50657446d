//! The tools' flags and messages, in-process against a server on 127.0.0.1:0.

use std::time::{Duration, Instant};

use brook_broker::client::{Consumer, ConsumerConfig, OffsetReset};

use crate::brook;
use crate::util::TestServer;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_values_get_kafkas_messages() {
    let srv = TestServer::start().await;
    let b = srv.addr.as_str();
    for p in ["-1", "0"] {
        let err = brook(&["topics", "--bootstrap-server", b, "--create", "--topic", "t", "--partitions", p], "").await.unwrap_err();
        assert_eq!(err.to_string(), "The partitions must be greater than 0");
    }
    let err = brook(&["topics", "--bootstrap-server", b, "--create", "--topic", "t", "--replication-factor", "40000"], "").await.unwrap_err();
    assert_eq!(err.to_string(), "The replication factor must be between 1 and 32767 inclusive");
    assert_eq!(brook(&["topics", "--bootstrap-server", b, "--list"], "").await.unwrap(), "", "nothing was created");

    brook(&["topics", "--bootstrap-server", b, "--create", "--topic", "t"], "").await.unwrap();
    let err = brook(&["topics", "--bootstrap-server", b, "--create", "--topic", "t"], "").await.unwrap_err();
    assert!(err.to_string().contains("already exists"), "{err}");
    brook(&["topics", "--bootstrap-server", b, "--create", "--topic", "t", "--if-not-exists"], "").await.unwrap();

    let err = brook(&["console-producer", "--bootstrap-server", b, "--topic", "t", "--request-required-acks", "7"], "x\n").await.unwrap_err();
    assert_eq!(err.to_string(), "Invalid value 7 for configuration acks: String must be one of: all, -1, 0, 1");
    let err = brook(&["producer-perf-test", "--topic", "t", "--num-records", "1", "--record-size", "1", "--throughput", "-1", "--producer-props", &format!("bootstrap.servers={b}"), "acks=7"], "").await.unwrap_err();
    assert_eq!(err.to_string(), "Invalid value 7 for configuration acks: String must be one of: all, -1, 0, 1");
    let err = brook(&["console-consumer", "--bootstrap-server", b, "--topic", "t", "--property", "print.key"], "").await.unwrap_err();
    assert_eq!(err.to_string(), "invalid --property \"print.key\": expected KEY=VALUE");
    let err = brook(&["consumer-groups", "--bootstrap-server", b, "--describe"], "").await.unwrap_err();
    assert!(err.to_string().starts_with("Option --group is required with --describe"), "{err}");
    // Flag mistakes are reported before connecting.
    let err = brook(&["consumer-groups", "--bootstrap-server", "127.0.0.1:1", "--list", "--members"], "").await.unwrap_err();
    assert_eq!(err.to_string(), "Option --members can only be used with --describe");
    let err = brook(&["consumer-groups", "--bootstrap-server", b, "--list", "--state", "Sleeping"], "").await.unwrap_err();
    assert_eq!(err.to_string(), "Invalid state list 'Sleeping'. Valid states are: PreparingRebalance, CompletingRebalance, Stable, Dead, Empty");
    for bad in ["localhost", "127.0.0.1:x", ":9092"] {
        let err = brook(&["topics", "--bootstrap-server", bad, "--list"], "").await.unwrap_err();
        assert_eq!(err.to_string(), format!("Invalid url in bootstrap.servers: {bad} (expected HOST:PORT, e.g. 127.0.0.1:9092)"));
    }
    let named = b.replace("127.0.0.1", "localhost");
    brook(&["topics", "--bootstrap-server", &named, "--list"], "").await.unwrap();
    // Nothing was produced by the rejected commands.
    let out = brook(&["console-consumer", "--bootstrap-server", b, "--topic", "t", "--from-beginning", "--timeout-ms", "300"], "").await.unwrap();
    assert_eq!(out, "");
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn key_separator_keeps_its_spaces() {
    let srv = TestServer::start().await;
    let b = srv.addr.as_str();
    brook(&["topics", "--bootstrap-server", b, "--create", "--topic", "kv", "--partitions", "1"], "").await.unwrap();
    brook(&["console-producer", "--bootstrap-server", b, "--topic", "kv", "--property", "parse.key=true", "--property", "key.separator= | "], "a | x|y\nb | z\n").await.unwrap();
    let out = brook(&["console-consumer", "--bootstrap-server", b, "--topic", "kv", "--from-beginning", "--max-messages", "2", "--property", "print.key=true", "--property", "key.separator= => "], "").await.unwrap();
    assert_eq!(out, "a => x|y\nb => z\n");
    let err = brook(&["console-producer", "--bootstrap-server", b, "--topic", "kv", "--property", "parse.key=true", "--property", "key.separator= | "], "c | 1\nd|2\n").await.unwrap_err();
    assert_eq!(err.to_string(), "No key separator found on line number 2: 'd|2'");
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn producer_perf_test_takes_bootstrap_server() {
    let srv = TestServer::start().await;
    let b = srv.addr.as_str();
    let out = brook(&["producer-perf-test", "--bootstrap-server", b, "--topic", "perf", "--num-records", "10", "--record-size", "10", "--throughput", "-1"], "").await.unwrap();
    assert!(out.starts_with("10 records sent, "), "{out}");
    // The flag wins over the property, as in Kafka.
    let out = brook(&["producer-perf-test", "--bootstrap-server", b, "--topic", "perf", "--num-records", "5", "--record-size", "10", "--throughput", "-1", "--producer-props", "bootstrap.servers=127.0.0.1:1", "acks=1"], "").await.unwrap();
    assert!(out.starts_with("5 records sent, "), "{out}");
    let err = brook(&["producer-perf-test", "--topic", "perf", "--num-records", "1", "--record-size", "1", "--throughput", "-1"], "").await.unwrap_err();
    assert!(err.to_string().starts_with("Either --bootstrap-server or bootstrap.servers in --producer-props must be specified"), "{err}");
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn consumer_groups_members_and_state_views() {
    let srv = TestServer::start().await;
    let b = srv.addr.as_str();
    brook(&["topics", "--bootstrap-server", b, "--create", "--topic", "clicks", "--partitions", "3"], "").await.unwrap();
    let mut cfg = ConsumerConfig::with_group("viewers");
    cfg.auto_offset_reset = OffsetReset::Earliest;
    cfg.client_id = "viewer-1".to_owned();
    let mut consumer = Consumer::new(srv.broker.clone(), cfg);
    consumer.subscribe(&["clicks"], None).unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    let out = loop {
        consumer.poll(Duration::from_millis(50)).await.unwrap();
        let out = brook(&["consumer-groups", "--bootstrap-server", b, "--describe", "--group", "viewers", "--state"], "").await.unwrap();
        if out.contains("Stable") {
            break out;
        }
        assert!(Instant::now() < deadline, "the group never became stable: {out}");
    };
    let port = b.rsplit(':').next().unwrap();
    let coordinator = format!("127.0.0.1:{port}  (0)");
    let w = coordinator.len().max(25);
    assert_eq!(
        out,
        format!(
            "\n{:15} {:w$} {:20} {:20} #MEMBERS\n{:15} {:w$} {:20} {:20} 1\n",
            "GROUP", "COORDINATOR (ID)", "ASSIGNMENT-STRATEGY", "STATE", "viewers", coordinator, "range", "Stable"
        )
    );
    let verbose = brook(&["consumer-groups", "--bootstrap-server", b, "--describe", "--group", "viewers", "--state", "--verbose"], "").await.unwrap();
    assert!(verbose.contains("GROUP-EPOCH     TARGET-ASSIGNMENT-EPOCH   #MEMBERS\n"), "{verbose}");

    let members = brook(&["consumer-groups", "--bootstrap-server", b, "--describe", "--group", "viewers", "--members"], "").await.unwrap();
    let lines: Vec<&str> = members.lines().collect();
    assert_eq!(lines.len(), 3, "{members}");
    assert_eq!(lines[0], "");
    let head: Vec<&str> = lines[1].split_whitespace().collect();
    assert_eq!(head, ["GROUP", "CONSUMER-ID", "HOST", "CLIENT-ID", "#PARTITIONS"]);
    let row: Vec<&str> = lines[2].split_whitespace().collect();
    assert_eq!((row[0], row[row.len() - 2], row[row.len() - 1]), ("viewers", "viewer-1", "3"), "{members}");
    assert_eq!(lines[1].find("CONSUMER-ID"), Some(16), "GROUP is 15 wide: {members}");

    let verbose = brook(&["consumer-groups", "--bootstrap-server", b, "--describe", "--group", "viewers", "--members", "--verbose"], "").await.unwrap();
    assert!(verbose.contains("CURRENT-EPOCH   CURRENT-ASSIGNMENT   TARGET-EPOCH    TARGET-ASSIGNMENT\n"), "{verbose}");
    assert!(verbose.contains(" clicks:0,1,2 "), "{verbose}");

    let listed = brook(&["consumer-groups", "--bootstrap-server", b, "--list", "--state"], "").await.unwrap();
    assert_eq!(listed, format!("{:25} STATE\n{:25} Stable\n", "GROUP", "viewers"));
    let none = brook(&["consumer-groups", "--bootstrap-server", b, "--list", "--state", "empty"], "").await.unwrap();
    assert_eq!(none, format!("{:25} STATE\n", "GROUP"));
    consumer.close().await;

    let err = brook(&["consumer-groups", "--bootstrap-server", b, "--describe", "--group", "nobody", "--members"], "").await.unwrap_err();
    assert_eq!(err.to_string(), "Error: Consumer group 'nobody' does not exist.");
    srv.stop().await;
}
