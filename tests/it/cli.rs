//! The `brook` admin tools end to end, in-process, with exact output checks.

use crate::util::{brook, TestServer};

fn topic_id(id: [u8; 16]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in id.chunks(3) {
        let n = chunk.iter().enumerate().fold(0u32, |n, (i, b)| n | u32::from(*b) << (16 - 8 * i));
        for i in 0..=chunk.len() {
            out.push(A[(n >> (18 - 6 * i) & 63) as usize] as char);
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn topics_create_list_describe_alter_delete() {
    let srv = TestServer::start().await;
    let b = srv.addr.as_str();
    let out = brook(&["topics", "--bootstrap-server", b, "--create", "--topic", "orders", "--partitions", "2", "--replication-factor", "1", "--config", "retention.ms=1000", "--config", "cleanup.policy=compact"], "").await.unwrap();
    assert_eq!(out, "Created topic orders.\n");
    brook(&["topics", "--bootstrap-server", b, "--create", "--topic", "audit"], "").await.unwrap();

    let out = brook(&["topics", "--bootstrap-server", b, "--list"], "").await.unwrap();
    assert_eq!(out, "audit\norders\n");

    let id = topic_id(srv.broker.describe_topic("orders").unwrap().id);
    let out = brook(&["topics", "--bootstrap-server", b, "--describe", "--topic", "orders"], "").await.unwrap();
    assert_eq!(
        out,
        format!(
            "Topic: orders\tTopicId: {id}\tPartitionCount: 2\tReplicationFactor: 1\tConfigs: cleanup.policy=compact,retention.ms=1000\n\
             \tTopic: orders\tPartition: 0\tLeader: 0\tReplicas: 0\tIsr: 0\n\
             \tTopic: orders\tPartition: 1\tLeader: 0\tReplicas: 0\tIsr: 0\n"
        )
    );

    brook(&["topics", "--bootstrap-server", b, "--alter", "--topic", "orders", "--partitions", "3"], "").await.unwrap();
    let out = brook(&["topics", "--bootstrap-server", b, "--describe", "--topic", "orders"], "").await.unwrap();
    assert!(out.contains("PartitionCount: 3") && out.contains("\tPartition: 2\tLeader: 0"), "{out}");
    let err = brook(&["topics", "--bootstrap-server", b, "--alter", "--topic", "orders", "--partitions", "2"], "").await.unwrap_err();
    assert!(err.to_string().starts_with("Error while executing topic command : "), "{err}");

    let out = brook(&["topics", "--bootstrap-server", b, "--delete", "--topic", "audit"], "").await.unwrap();
    assert_eq!(out, "");
    assert_eq!(brook(&["topics", "--bootstrap-server", b, "--list"], "").await.unwrap(), "orders\n");

    let err = brook(&["topics", "--bootstrap-server", b, "--describe", "--topic", "nope"], "").await.unwrap_err();
    assert_eq!(err.to_string(), "Error while executing topic command : Topic 'nope' does not exist as expected");
    let err = brook(&["topics", "--bootstrap-server", b, "--create", "--topic", "bad name!"], "").await.unwrap_err();
    assert!(err.to_string().contains("bad name!"), "{err}");
    let err = brook(&["topics", "--bootstrap-server", b, "--create", "--topic", "rf", "--replication-factor", "3"], "").await.unwrap_err();
    assert!(err.to_string().contains("replication factor"), "{err}");
    srv.stop().await;

    let err = brook(&["topics", "--bootstrap-server", "127.0.0.1:1", "--list"], "").await.unwrap_err();
    assert!(err.to_string().contains("could not be established. Broker may not be available."), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn console_producer_consumer_and_groups() {
    let srv = TestServer::start().await;
    let b = srv.addr.as_str();
    brook(&["topics", "--bootstrap-server", b, "--create", "--topic", "lines", "--partitions", "1"], "").await.unwrap();
    let input: String = (0..10).map(|i| format!("k{i}:v{i}\n")).collect();
    brook(&["console-producer", "--bootstrap-server", b, "--topic", "lines", "--property", "parse.key=true", "--property", "key.separator=:"], &input).await.unwrap();

    let out = brook(&["console-consumer", "--bootstrap-server", b, "--topic", "lines", "--from-beginning", "--max-messages", "4", "--group", "g1", "--property", "print.key=true"], "").await.unwrap();
    assert_eq!(out, "k0\tv0\nk1\tv1\nk2\tv2\nk3\tv3\n");
    // The group resumes where it stopped.
    let out = brook(&["console-consumer", "--bootstrap-server", b, "--topic", "lines", "--group", "g1", "--timeout-ms", "1000"], "").await.unwrap();
    assert_eq!(out, (4..10).map(|i| format!("v{i}\n")).collect::<String>());

    assert_eq!(brook(&["consumer-groups", "--bootstrap-server", b, "--list"], "").await.unwrap(), "g1\n");
    let out = brook(&["consumer-groups", "--bootstrap-server", b, "--describe", "--group", "g1"], "").await.unwrap();
    assert_eq!(
        out,
        "\nConsumer group 'g1' has no active members.\n\n\
         GROUP           TOPIC           PARTITION  CURRENT-OFFSET  LOG-END-OFFSET  LAG             CONSUMER-ID     HOST            CLIENT-ID\n\
         g1              lines           0          10              10              0               -               -               -\n"
    );

    let plan = brook(&["consumer-groups", "--bootstrap-server", b, "--reset-offsets", "--group", "g1", "--topic", "lines", "--to-offset", "3"], "").await.unwrap();
    assert_eq!(plan, format!("\n{:30} {:30} {:10} {:15}\n{:30} {:30} {:10} {:15}\n", "GROUP", "TOPIC", "PARTITION", "NEW-OFFSET", "g1", "lines", 0, 3));
    let out = brook(&["consumer-groups", "--bootstrap-server", b, "--describe", "--group", "g1"], "").await.unwrap();
    assert!(out.contains("0          10              10              0"), "dry run changed offsets: {out}");
    brook(&["consumer-groups", "--bootstrap-server", b, "--reset-offsets", "--group", "g1", "--topic", "lines", "--to-earliest", "--execute"], "").await.unwrap();
    let out = brook(&["consumer-groups", "--bootstrap-server", b, "--describe", "--group", "g1"], "").await.unwrap();
    assert!(out.contains("0          0               10              10"), "{out}");

    let out = brook(&["consumer-groups", "--bootstrap-server", b, "--delete", "--group", "g1"], "").await.unwrap();
    assert_eq!(out, "Deletion of requested consumer groups ('g1') was successful.\n");
    let err = brook(&["consumer-groups", "--bootstrap-server", b, "--describe", "--group", "g1"], "").await.unwrap_err();
    assert_eq!(err.to_string(), "Error: Consumer group 'g1' does not exist.");
    srv.stop().await;
}
