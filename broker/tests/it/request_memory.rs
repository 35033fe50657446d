//! A broker in a child process under an address-space limit (`ulimit -v`): a few hundred
//! connections announcing 100 MiB requests and stalling do not make it reserve the memory (it
//! used to allocate every announced frame up front, and abort), and produce and fetch keep
//! working meanwhile.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use brook_broker::record::{BatchBuilder, Compression};
use brook_broker::server::wire_client::Client;
use brook_broker::server::{serve, ServerConfig};
use brook_broker::Broker;
use bytes::Bytes;
use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kafka_protocol::messages::{FetchRequest, MetadataRequest, ProduceRequest, TopicName};
use kafka_protocol::protocol::StrBytes;
use tokio::io::AsyncWriteExt;

use crate::support::config;

const CHILD_DIR: &str = "BROOK_MEMORY_TEST_DIR";
/// The child's address-space limit, in KiB: 3 GiB, far below 300 x 100 MiB.
const LIMIT_KIB: u64 = 3 * 1024 * 1024;

/// Run by the test below in a child process: a broker with a Kafka listener; prints its address
/// and serves until stdin closes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "helper: runs in a child process"]
async fn child_serves_until_stdin_closes() {
    let Some(dir) = std::env::var_os(CHILD_DIR) else { return };
    let broker = Broker::open(config(std::path::Path::new(&dir))).await.unwrap();
    broker.create_topic("t", 1, Default::default()).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    println!("ADDR {}", listener.local_addr().unwrap());
    let stdin_closed = tokio::task::spawn_blocking(|| {
        let _ = std::io::copy(&mut std::io::stdin(), &mut std::io::sink());
    });
    serve(broker, listener, ServerConfig::default(), stdin_closed).await.unwrap();
}

fn produce_request(value: &str) -> ProduceRequest {
    let mut b = BatchBuilder::new(Compression::None);
    b.push(1, Some(b"k"), Some(value.as_bytes()), &[]);
    let mut part = PartitionProduceData::default();
    part.index = 0;
    part.records = Some(Bytes::from(b.build().unwrap()));
    let mut topic = TopicProduceData::default();
    topic.name = TopicName(StrBytes::from_static_str("t"));
    topic.partition_data.push(part);
    let mut req = ProduceRequest::default();
    req.acks = -1;
    req.timeout_ms = 10_000;
    req.topic_data.push(topic);
    req
}

fn fetch_request() -> FetchRequest {
    let mut part = FetchPartition::default();
    part.partition = 0;
    part.fetch_offset = 0;
    part.partition_max_bytes = 1 << 20;
    let mut topic = FetchTopic::default();
    topic.topic = TopicName(StrBytes::from_static_str("t"));
    topic.partitions.push(part);
    let mut req = FetchRequest::default();
    req.max_bytes = 1 << 20;
    req.max_wait_ms = 0;
    req.topics.push(topic);
    req
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stalled_100_mib_announcements_neither_abort_nor_block_a_memory_limited_broker() {
    let dir = tempfile::tempdir().unwrap();
    let exe = std::env::current_exe().unwrap();
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(format!("ulimit -v {LIMIT_KIB} && exec \"$0\" \"$@\""))
        .arg(&exe)
        .args(["--exact", "request_memory::child_serves_until_stdin_closes", "--ignored", "--nocapture", "--test-threads=1"])
        .env(CHILD_DIR, dir.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let addr = loop {
        let line = lines.next().expect("the child printed its address").unwrap();
        // libtest prints "test <name> ... " before the test's own output, on the same line.
        if let Some((_, a)) = line.split_once("ADDR ") {
            break a.trim().to_owned();
        }
    };

    let mut stalled = Vec::new();
    for _ in 0..300 {
        let mut s = tokio::net::TcpStream::connect(&addr).await.unwrap();
        let mut announce = 104_857_600i32.to_be_bytes().to_vec();
        announce.extend_from_slice(&[0u8; 100]);
        s.write_all(&announce).await.unwrap();
        stalled.push(s);
    }
    let mut c = Client::connect(&addr).await.unwrap();
    c.set_timeout(Duration::from_secs(10));
    for i in 0..5 {
        let resp = c.send(produce_request(&format!("v{i}"))).await.unwrap();
        let p = &resp.responses[0].partition_responses[0];
        assert_eq!((p.error_code, p.base_offset), (0, i), "produce {i}");
    }
    let resp = c.send(fetch_request()).await.unwrap();
    let p = &resp.responses[0].partitions[0];
    assert_eq!((p.error_code, p.high_watermark), (0, 5));
    assert!(p.records.as_ref().is_some_and(|r| !r.is_empty()));
    assert_eq!(c.send(MetadataRequest::default()).await.unwrap().brokers.len(), 1);
    assert!(child.try_wait().unwrap().is_none(), "the broker is alive");

    drop(stalled);
    drop(child.stdin.take());
    let status = child.wait().unwrap();
    assert!(status.success(), "the broker shut down cleanly: {status}");
}
