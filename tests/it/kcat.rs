//! kcat (librdkafka 2.0.2 on Debian 12) against `brook server`.

use std::collections::HashMap;
use std::process::Command;

use crate::util::{have, TestServer};

fn kcat(args: Vec<String>) -> (bool, String, String) {
    let out = Command::new("kcat").args(&args).output().expect("running kcat");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

async fn kcat_async(args: Vec<&str>) -> (bool, String, String) {
    let args: Vec<String> = args.into_iter().map(str::to_owned).collect();
    tokio::task::spawn_blocking(move || kcat(args)).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kcat_lists_brokers_topics_and_partitions() {
    if !have("kcat") {
        eprintln!("SKIPPED: kcat is not installed (apt-get install kcat)");
        return;
    }
    let srv = TestServer::start().await;
    srv.broker.create_topic("kc-meta", 3, Default::default()).unwrap();
    let (ok, out, err) = kcat_async(vec!["-b", &srv.addr, "-L"]).await;
    assert!(ok, "kcat -L failed: {err}");
    assert!(out.contains(&format!("broker 0 at {} (controller)", srv.addr)), "{out}");
    assert!(out.contains("topic \"kc-meta\" with 3 partitions:"), "{out}");
    for p in 0..3 {
        assert!(out.contains(&format!("partition {p}, leader 0, replicas: 0, isrs: 0")), "{out}");
    }
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kcat_round_trips_100k_keyed_messages() {
    if !have("kcat") {
        eprintln!("SKIPPED: kcat is not installed (apt-get install kcat)");
        return;
    }
    let srv = TestServer::start().await;
    srv.broker.create_topic("kc-data", 4, Default::default()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.txt");
    let n = 100_000;
    let mut text = String::with_capacity(n * 24);
    for i in 0..n {
        text.push_str(&format!("key-{}:value-{i}\n", i % 997));
    }
    std::fs::write(&input, &text).unwrap();
    let (ok, _, err) = kcat_async(vec!["-b", &srv.addr, "-P", "-t", "kc-data", "-K:", "-l", input.to_str().unwrap()]).await;
    assert!(ok, "kcat -P failed: {err}");
    let (ok, out, err) = kcat_async(vec![
        "-b", &srv.addr, "-C", "-t", "kc-data", "-e", "-q", "-o", "beginning", "-f", "%p|%o|%k|%s\n",
    ])
    .await;
    assert!(ok, "kcat -C failed: {err}");
    let mut count = 0;
    let mut last_seq: HashMap<String, (i32, i64)> = HashMap::new();
    let mut last_offset: HashMap<i32, i64> = HashMap::new();
    for line in out.lines() {
        let mut f = line.splitn(4, '|');
        let (p, o, k, v) = (f.next().unwrap(), f.next().unwrap(), f.next().unwrap(), f.next().unwrap());
        let p: i32 = p.parse().unwrap();
        let o: i64 = o.parse().unwrap();
        let seq: i64 = v.strip_prefix("value-").unwrap().parse().unwrap();
        assert_eq!(k, format!("key-{}", seq % 997), "key/value mismatch: {line}");
        if let Some(prev) = last_offset.insert(p, o) {
            assert!(o > prev, "offsets out of order in partition {p}");
        }
        if let Some((pp, prev)) = last_seq.insert(k.to_owned(), (p, seq)) {
            assert_eq!(pp, p, "key {k} in two partitions");
            assert!(seq > prev, "key {k}: {seq} after {prev}");
        }
        count += 1;
    }
    assert_eq!(count, n, "consumed {count} of {n} messages");
    srv.stop().await;
}
