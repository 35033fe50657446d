//! librdkafka through the `rdkafka` crate: produce/consume, a two-member group rebalancing,
//! committed offsets across a restart, idempotent and transactional producers.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::message::Message;
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};

use crate::util::TestServer;

const T: Duration = Duration::from_secs(30);

fn producer(addr: &str, extra: &[(&str, &str)]) -> BaseProducer {
    let mut c = ClientConfig::new();
    c.set("bootstrap.servers", addr).set("linger.ms", "5");
    for (k, v) in extra {
        c.set(*k, *v);
    }
    c.create().expect("producer")
}

fn consumer(addr: &str, group: &str, extra: &[(&str, &str)]) -> BaseConsumer {
    let mut c = ClientConfig::new();
    c.set("bootstrap.servers", addr)
        .set("group.id", group)
        .set("auto.offset.reset", "earliest")
        .set("enable.auto.commit", "false")
        .set("session.timeout.ms", "6000")
        .set("heartbeat.interval.ms", "200");
    for (k, v) in extra {
        c.set(*k, *v);
    }
    c.create().expect("consumer")
}

fn send(p: &BaseProducer, topic: &str, key: &str, value: &str) {
    let mut rec = BaseRecord::to(topic).key(key).payload(value);
    loop {
        match p.send(rec) {
            Ok(()) => return,
            Err((e, r)) => {
                assert!(matches!(e, rdkafka::error::KafkaError::MessageProduction(rdkafka::types::RDKafkaErrorCode::QueueFull)), "{e}");
                rec = r;
                p.poll(Duration::from_millis(10));
            }
        }
    }
}

/// Polls until `n` messages arrived (or the deadline passes): (key, value, offset).
fn consume_n(c: &BaseConsumer, n: usize) -> Vec<(String, String, i64)> {
    let deadline = Instant::now() + T;
    let mut out = Vec::new();
    while out.len() < n && Instant::now() < deadline {
        if let Some(m) = c.poll(Duration::from_millis(100)) {
            let m = m.expect("consume error");
            let s = |b: Option<&[u8]>| String::from_utf8_lossy(b.unwrap_or_default()).into_owned();
            out.push((s(m.key()), s(m.payload()), m.offset()));
        }
    }
    out
}

async fn blocking<R: Send + 'static>(f: impl FnOnce() -> R + Send + 'static) -> R {
    tokio::task::spawn_blocking(f).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn produce_consume_and_idempotence() {
    let srv = TestServer::start().await;
    srv.broker.create_topic("rd", 3, Default::default()).unwrap();
    let addr = srv.addr.clone();
    blocking(move || {
        let p = producer(&addr, &[("enable.idempotence", "true"), ("acks", "all")]);
        for i in 0..1000 {
            send(&p, "rd", &format!("k{}", i % 10), &format!("v{i}"));
        }
        p.flush(T).unwrap();
        let c = consumer(&addr, "rd-group", &[]);
        c.subscribe(&["rd"]).unwrap();
        let got = consume_n(&c, 1000);
        assert_eq!(got.len(), 1000);
        let values: BTreeSet<String> = got.iter().map(|(_, v, _)| v.clone()).collect();
        assert_eq!(values.len(), 1000, "duplicates or losses");
        assert!(c.poll(Duration::from_millis(500)).is_none(), "more than 1000 messages");
    })
    .await;
    let producers: usize = (0..3).map(|p| srv.broker.describe_producers("rd", p).unwrap().len()).sum();
    assert!(producers >= 1, "the idempotent producer left no producer state");
    srv.stop().await;
}

fn assigned(c: &BaseConsumer) -> BTreeSet<i32> {
    c.assignment().unwrap().elements().iter().map(|e| e.partition()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_group_of_two_rebalances_on_join_and_leave() {
    let srv = TestServer::start().await;
    srv.broker.create_topic("rb", 4, Default::default()).unwrap();
    let addr = srv.addr.clone();
    blocking(move || {
        let all: BTreeSet<i32> = (0..4).collect();
        let a = consumer(&addr, "rb-group", &[]);
        a.subscribe(&["rb"]).unwrap();
        let deadline = Instant::now() + T;
        while assigned(&a) != all {
            assert!(Instant::now() < deadline, "first member never got all partitions");
            a.poll(Duration::from_millis(50));
        }
        let b = consumer(&addr, "rb-group", &[]);
        b.subscribe(&["rb"]).unwrap();
        let deadline = Instant::now() + T;
        loop {
            a.poll(Duration::from_millis(20));
            b.poll(Duration::from_millis(20));
            let (x, y) = (assigned(&a), assigned(&b));
            if x.len() == 2 && y.len() == 2 && x.union(&y).count() == 4 {
                break;
            }
            assert!(Instant::now() < deadline, "no rebalance to 2+2: {x:?} {y:?}");
        }
        drop(b); // closes the consumer: LeaveGroup
        let deadline = Instant::now() + T;
        while assigned(&a) != all {
            assert!(Instant::now() < deadline, "remaining member never got all partitions back");
            a.poll(Duration::from_millis(50));
        }
    })
    .await;
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn committed_offsets_survive_a_restart() {
    let srv = TestServer::start().await;
    srv.broker.create_topic("rs", 1, Default::default()).unwrap();
    let addr = srv.addr.clone();
    blocking(move || {
        let p = producer(&addr, &[]);
        for i in 0..10 {
            send(&p, "rs", "k", &format!("v{i}"));
        }
        p.flush(T).unwrap();
        let c = consumer(&addr, "rs-group", &[]);
        c.subscribe(&["rs"]).unwrap();
        let got = consume_n(&c, 5);
        assert_eq!(got.len(), 5);
        let mut tpl = rdkafka::TopicPartitionList::new();
        tpl.add_partition_offset("rs", 0, rdkafka::Offset::Offset(got[4].2 + 1)).unwrap();
        c.commit(&tpl, CommitMode::Sync).unwrap();
    })
    .await;
    let dir = srv.stop().await;
    let srv = TestServer::start_in(dir).await;
    let addr = srv.addr.clone();
    blocking(move || {
        let c = consumer(&addr, "rs-group", &[]);
        c.subscribe(&["rs"]).unwrap();
        let got = consume_n(&c, 5);
        let values: Vec<&str> = got.iter().map(|(_, v, _)| v.as_str()).collect();
        assert_eq!(values, ["v5", "v6", "v7", "v8", "v9"]);
        c.commit_consumer_state(CommitMode::Sync).unwrap();
    })
    .await;
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_committed_sees_only_committed_transactions() {
    let srv = TestServer::start().await;
    srv.broker.create_topic("tx", 2, Default::default()).unwrap();
    let addr = srv.addr.clone();
    blocking(move || {
        let p = producer(&addr, &[("transactional.id", "tx-1")]);
        p.init_transactions(T).unwrap();
        p.begin_transaction().unwrap();
        for i in 0..10 {
            send(&p, "tx", &format!("k{i}"), &format!("committed-{i}"));
        }
        p.commit_transaction(T).unwrap();
        p.begin_transaction().unwrap();
        for i in 0..10 {
            send(&p, "tx", &format!("k{i}"), &format!("aborted-{i}"));
        }
        p.flush(T).unwrap();
        p.abort_transaction(T).unwrap();
        p.begin_transaction().unwrap();
        for i in 10..15 {
            send(&p, "tx", &format!("k{i}"), &format!("committed-{i}"));
        }
        p.commit_transaction(T).unwrap();

        let c = consumer(&addr, "tx-group", &[("isolation.level", "read_committed")]);
        c.subscribe(&["tx"]).unwrap();
        let got = consume_n(&c, 15);
        let values: BTreeSet<String> = got.iter().map(|(_, v, _)| v.clone()).collect();
        let want: BTreeSet<String> = (0..15).map(|i| format!("committed-{i}")).collect();
        assert_eq!(values, want);
        assert!(c.poll(Duration::from_millis(1000)).is_none(), "read_committed saw more than the committed records");

        let u = consumer(&addr, "tx-group-2", &[("isolation.level", "read_uncommitted")]);
        u.subscribe(&["tx"]).unwrap();
        assert_eq!(consume_n(&u, 25).len(), 25, "read_uncommitted sees aborted records too");

        // Offsets sent to a transaction become visible when it commits, not before, and never
        // when it aborts (TxnOffsetCommit, AddOffsetsToTxn).
        let eos = consumer(&addr, "eos-group", &[]);
        let meta = eos.group_metadata().unwrap();
        let committed = |c: &BaseConsumer| {
            let mut tpl = rdkafka::TopicPartitionList::new();
            tpl.add_partition("tx", 0);
            c.committed_offsets(tpl, T).unwrap().find_partition("tx", 0).unwrap().offset()
        };
        for (offset, commit) in [(3, false), (7, true)] {
            let mut tpl = rdkafka::TopicPartitionList::new();
            tpl.add_partition_offset("tx", 0, rdkafka::Offset::Offset(offset)).unwrap();
            p.begin_transaction().unwrap();
            p.send_offsets_to_transaction(&tpl, &meta, T).unwrap();
            if commit {
                p.commit_transaction(T).unwrap();
            } else {
                p.abort_transaction(T).unwrap();
                assert_eq!(committed(&eos), rdkafka::Offset::Invalid, "aborted offsets are visible");
            }
        }
        assert_eq!(committed(&eos), rdkafka::Offset::Offset(7));
    })
    .await;
    srv.stop().await;
}
