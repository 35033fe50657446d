//! One data directory, one broker: a second opener (another process, or another `Broker::open`
//! in this one) is refused with the holder's pid, and the first broker keeps serving.

use std::collections::BTreeMap;
use std::process::Command;
use std::time::Duration;

use brook_broker::server::wire_client::Client;
use brook_broker::server::{serve, ServerConfig};
use brook_broker::{Broker, Error};
use kafka_protocol::messages::MetadataRequest;

use crate::support::{broker, config, produce};

const CHILD_DIR: &str = "BROOK_LOCK_TEST_DIR";

/// Run by `second_broker_on_a_data_dir_is_refused_and_the_first_keeps_serving` in a child
/// process: the "second server" opening the same data directory. Prints what happened.
#[tokio::test]
#[ignore = "helper: runs in a child process"]
async fn child_opens_the_data_dir() {
    let Some(dir) = std::env::var_os(CHILD_DIR) else { return };
    match Broker::open(config(std::path::Path::new(&dir))).await {
        Ok(b) => {
            println!("CHILD OPENED");
            b.shutdown().await;
        }
        Err(e) => println!("CHILD REFUSED: {e}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn second_broker_on_a_data_dir_is_refused_and_the_first_keeps_serving() {
    let dir = tempfile::tempdir().unwrap();
    let first = broker(dir.path()).await;
    first.create_topic("t", 1, BTreeMap::new()).unwrap();
    produce(&first, "t", 100, 10).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(serve(first.clone(), listener, ServerConfig::default(), stopped));

    // A second server process on the same directory.
    let out = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "dir_lock::child_opens_the_data_dir", "--ignored", "--nocapture", "--test-threads=1"])
        .env(CHILD_DIR, dir.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let me = std::process::id();
    assert!(stdout.contains("CHILD REFUSED"), "the second process was not refused: {stdout}");
    assert!(stdout.contains(&format!("another broker (pid {me})")), "the refusal names the holder: {stdout}");

    // A second Broker::open in this process.
    let err = Broker::open(config(dir.path())).await.unwrap_err();
    assert!(matches!(&err, Error::DirectoryLocked(m) if m.contains(&format!("pid {me}"))), "{err}");
    // Neither attempt touched the first broker's topic: it still serves and keeps every record.
    produce(&first, "t", 100, 10).await;
    let mut c = Client::connect(&addr).await.unwrap();
    let md = c.send(MetadataRequest::default()).await.unwrap();
    assert_eq!(md.brokers.len(), 1);
    assert_eq!(first.describe_topic("t").unwrap().partitions[0].high_watermark, 200);

    let _ = stop.send(());
    tokio::time::timeout(Duration::from_secs(10), server).await.unwrap().unwrap().unwrap();
    // After shutdown the lock is released and everything acknowledged is there.
    let reopened = broker(dir.path()).await;
    assert_eq!(reopened.describe_topic("t").unwrap().partitions[0].high_watermark, 200);
    reopened.shutdown().await;
}
