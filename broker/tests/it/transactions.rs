//! Transactions: read_committed sees only committed data, zombies are fenced, abandoned
//! transactions time out, offsets commit atomically with output.

use std::collections::BTreeMap;
use std::time::Duration;

use brook_broker::client::{
    Admin, Consumer, ConsumerConfig, ConsumerGroupMetadata, OffsetReset, Producer, ProducerConfig, ProducerRecord,
    TopicPartition,
};
use brook_broker::{Broker, ErrorCode, IsolationLevel, OffsetSpec};
use brook_common::test_support::wait_until_async;

use crate::support::{broker, config, poll_n, value_str};

fn txn_producer(b: &Broker, id: &str) -> Producer {
    let cfg = ProducerConfig {
        transactional_id: Some(id.into()),
        ..Default::default()
    };
    let p = Producer::new(b.clone(), cfg).unwrap();
    p.init_transactions().unwrap();
    p
}

fn reader(b: &Broker, isolation: IsolationLevel) -> Consumer {
    let mut c = Consumer::new(
        b.clone(),
        ConsumerConfig {
            auto_offset_reset: OffsetReset::Earliest,
            isolation_level: isolation,
            ..Default::default()
        },
    );
    c.assign(&[TopicPartition::new("t", 0), TopicPartition::new("t", 1)]);
    c
}

async fn send_all(p: &Producer, values: &[&str]) {
    let futs: Vec<_> = values
        .iter()
        .map(|v| p.send(ProducerRecord::new("t", Some(v.to_string()), Some(v.to_string()))))
        .collect();
    p.flush();
    for f in futs {
        f.await.unwrap();
    }
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_committed_sees_only_committed_transactions() {
    let dir = tempfile::tempdir().unwrap();
    let b = broker(dir.path()).await;
    b.create_topic("t", 2, BTreeMap::new()).unwrap();
    let p = txn_producer(&b, "tx-1");
    p.begin_transaction().unwrap();
    send_all(&p, &["c1", "c2", "c3"]).await;
    // While open, read_committed sees nothing: the last stable offset holds back.
    let mut rc = reader(&b, IsolationLevel::ReadCommitted);
    assert!(rc.poll(Duration::from_millis(200)).await.unwrap().is_empty());
    p.commit_transaction().unwrap();
    p.begin_transaction().unwrap();
    send_all(&p, &["a1", "a2"]).await;
    p.abort_transaction().unwrap();
    p.begin_transaction().unwrap();
    send_all(&p, &["c4"]).await;
    p.commit_transaction().unwrap();

    let committed = poll_n(&mut rc, 4, Duration::from_secs(5)).await;
    assert_eq!(sorted(committed.iter().map(value_str).collect()), ["c1", "c2", "c3", "c4"]);
    assert!(rc.poll(Duration::from_millis(200)).await.unwrap().is_empty(), "nothing aborted leaks");
    let mut ru = reader(&b, IsolationLevel::ReadUncommitted);
    let all = poll_n(&mut ru, 6, Duration::from_secs(5)).await;
    assert_eq!(sorted(all.iter().map(value_str).collect()), ["a1", "a2", "c1", "c2", "c3", "c4"]);
    // Markers occupy offsets: 6 records + 3 markers per partition that took part.
    let txns = b.transactions();
    assert_eq!(txns[0].status.name(), "CompleteCommit");
    let admin = Admin::new(b.clone());
    assert!(admin.describe_topics(&["t"]).is_ok());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_instance_fences_the_zombie() {
    let dir = tempfile::tempdir().unwrap();
    let b = broker(dir.path()).await;
    b.create_topic("t", 2, BTreeMap::new()).unwrap();
    let zombie = txn_producer(&b, "app-0");
    zombie.begin_transaction().unwrap();
    send_all(&zombie, &["z1"]).await;
    // The replacement starts: its init aborts the zombie's transaction and bumps the epoch.
    let fresh = txn_producer(&b, "app-0");
    let err = zombie.commit_transaction().unwrap_err();
    assert_eq!(err.code(), ErrorCode::ProducerFenced);
    zombie.begin_transaction().unwrap_err();
    let late = zombie.send(ProducerRecord::new("t", Some("z2"), Some("z2")));
    zombie.flush();
    assert!(late.await.is_err(), "a fenced producer cannot write");
    fresh.begin_transaction().unwrap();
    send_all(&fresh, &["f1"]).await;
    fresh.commit_transaction().unwrap();
    let mut rc = reader(&b, IsolationLevel::ReadCommitted);
    let got = poll_n(&mut rc, 1, Duration::from_secs(5)).await;
    assert_eq!(got.iter().map(value_str).collect::<Vec<_>>(), ["f1"]);
    assert!(rc.poll(Duration::from_millis(200)).await.unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn abandoned_transactions_are_aborted_after_their_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(dir.path());
    cfg.transaction_abort_interval = Duration::from_millis(50);
    let b = Broker::open(cfg).await.unwrap();
    b.create_topic("t", 2, BTreeMap::new()).unwrap();
    let p = Producer::new(
        b.clone(),
        ProducerConfig {
            transactional_id: Some("slow".into()),
            transaction_timeout: Duration::from_millis(200),
            ..Default::default()
        },
    )
    .unwrap();
    p.init_transactions().unwrap();
    p.begin_transaction().unwrap();
    send_all(&p, &["lost"]).await;
    let lso = |b: &Broker| {
        (0..2)
            .map(|i| b.list_offset("t", i, OffsetSpec::Latest, IsolationLevel::ReadCommitted).unwrap().0)
            .sum::<i64>()
    };
    assert_eq!(lso(&b), 0, "the open transaction holds the last stable offset");
    wait_until_async("timeout abort", Duration::from_secs(10), || {
        let b = b.clone();
        async move { b.transactions()[0].status.name() == "CompleteAbort" }
    })
    .await;
    assert_eq!(lso(&b), 2, "record + abort marker are now stable");
    assert_eq!(p.commit_transaction().unwrap_err().code(), ErrorCode::ProducerFenced);
    let mut rc = reader(&b, IsolationLevel::ReadCommitted);
    assert!(rc.poll(Duration::from_millis(300)).await.unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn consumed_offsets_commit_with_the_transaction_and_survive_restart() {
    let dir = tempfile::tempdir().unwrap();
    {
        let b = broker(dir.path()).await;
        b.create_topic("t", 2, BTreeMap::new()).unwrap();
        let p = txn_producer(&b, "copier");
        let tp = TopicPartition::new("in", 0);
        p.begin_transaction().unwrap();
        send_all(&p, &["out1"]).await;
        p.send_offsets_to_transaction(&BTreeMap::from([(tp.clone(), 42)]), &ConsumerGroupMetadata::new("copy-group")).unwrap();
        let admin = Admin::new(b.clone());
        assert!(admin.list_group_offsets("copy-group").unwrap().is_empty(), "invisible before commit");
        p.commit_transaction().unwrap();
        assert_eq!(admin.list_group_offsets("copy-group").unwrap().get(&tp), Some(&42));
        p.begin_transaction().unwrap();
        p.send_offsets_to_transaction(&BTreeMap::from([(tp.clone(), 99)]), &ConsumerGroupMetadata::new("copy-group")).unwrap();
        p.abort_transaction().unwrap();
        assert_eq!(admin.list_group_offsets("copy-group").unwrap().get(&tp), Some(&42));
        // An open transaction at "crash" time stays invisible after restart.
        p.begin_transaction().unwrap();
        send_all(&p, &["pending"]).await;
        // Release the data directory now: dropping the handles alone leaves it locked for as
        // long as the producer's linger task, running on another worker, still holds the broker.
        b.shutdown().await;
    }
    let b = broker(dir.path()).await;
    let admin = Admin::new(b.clone());
    assert_eq!(admin.list_group_offsets("copy-group").unwrap().get(&TopicPartition::new("in", 0)), Some(&42));
    assert_eq!(b.transactions()[0].status.name(), "Ongoing");
    let mut rc = reader(&b, IsolationLevel::ReadCommitted);
    let got = poll_n(&mut rc, 1, Duration::from_secs(5)).await;
    assert_eq!(got.iter().map(value_str).collect::<Vec<_>>(), ["out1"]);
    // The restarted application fences and aborts the leftover transaction.
    let p = txn_producer(&b, "copier");
    drop(p);
    assert!(rc.poll(Duration::from_millis(300)).await.unwrap().is_empty());
    assert_eq!(b.transactions()[0].status.name(), "Empty");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_producer_with_stale_group_metadata_is_fenced() {
    let dir = tempfile::tempdir().unwrap();
    let b = broker(dir.path()).await;
    b.create_topic("t", 2, BTreeMap::new()).unwrap();
    b.create_topic("in", 1, BTreeMap::new()).unwrap();
    let tp = TopicPartition::new("in", 0);
    let member = |b: &Broker| {
        let mut c = crate::support::consumer_config("eos-group");
        c.client_id = "member".into();
        let mut c = Consumer::new(b.clone(), c);
        c.subscribe(&["in"], None).unwrap();
        c
    };
    let mut first = member(&b);
    while first.assignment().is_empty() {
        first.poll(Duration::from_millis(50)).await.unwrap();
    }
    let stale = first.group_metadata();
    assert_eq!(stale.group_id, "eos-group");
    assert!(stale.generation_id >= 1 && !stale.member_id.is_empty());
    // The member leaves (as an expelled zombie would); a new member takes the partition.
    first.close().await;
    let mut second = member(&b);
    while second.assignment().is_empty() {
        second.poll(Duration::from_millis(50)).await.unwrap();
    }
    let current = second.group_metadata();
    assert!(current.generation_id > stale.generation_id);

    let p = txn_producer(&b, "zombie");
    p.begin_transaction().unwrap();
    send_all(&p, &["late"]).await;
    let err = p.send_offsets_to_transaction(&BTreeMap::from([(tp.clone(), 7)]), &stale).unwrap_err();
    assert_eq!(err.code(), ErrorCode::UnknownMemberId, "{err}");
    // The producer is not fatally fenced: it aborts and goes on.
    p.abort_transaction().unwrap();
    // The right member but an old generation: fenced too.
    let old_generation = ConsumerGroupMetadata { generation_id: current.generation_id - 1, ..current.clone() };
    p.begin_transaction().unwrap();
    let err = p.send_offsets_to_transaction(&BTreeMap::from([(tp.clone(), 7)]), &old_generation).unwrap_err();
    assert_eq!(err.code(), ErrorCode::IllegalGeneration, "{err}");
    p.abort_transaction().unwrap();
    // The current member's metadata commits.
    p.begin_transaction().unwrap();
    p.send_offsets_to_transaction(&BTreeMap::from([(tp.clone(), 7)]), &current).unwrap();
    p.commit_transaction().unwrap();
    assert_eq!(Admin::new(b.clone()).list_group_offsets("eos-group").unwrap().get(&tp), Some(&7));
    assert!(Admin::new(b.clone()).list_group_offsets("eos-group").unwrap().len() == 1);
    second.close().await;
}
