//! Offset commits are answered once durable, and a slow fsync holds up no other group.

use std::sync::{mpsc, Arc};
use std::time::Duration;

use brook_common::TopicPartition;

use super::testutil::{join_req, spawn_join, stable_group, sync_req};
use super::OffsetCommit;
use crate::log::block_syncs_under;
use crate::{Broker, BrokerConfig, ErrorCode};

const PATIENCE: Duration = Duration::from_secs(20);

fn commit(offset: i64) -> Vec<OffsetCommit> {
    vec![OffsetCommit {
        topic: "t".into(),
        partition: 0,
        offset,
        leader_epoch: -1,
        metadata: None,
    }]
}

/// A broker whose appends all ask for an fsync, with one `__consumer_offsets` partition (every
/// group shares it: the worst case), and a Stable group "b" of one member.
async fn broker_with_group_b(dir: &std::path::Path) -> (Broker, String, i32) {
    let mut config = BrokerConfig::new(dir);
    config.group_initial_rebalance_delay = Duration::ZERO;
    config.offsets_topic_partitions = 1;
    config.topic_defaults.flush_messages = 1;
    let broker = Broker::open(config).await.unwrap();
    let (ids, generation) = stable_group(broker.groups(), vec![join_req("b", "", "c")]).await;
    (broker, ids[0].clone(), generation)
}

/// Whether b's heartbeat is answered within [`PATIENCE`] (from another thread).
fn b_heartbeat_answered(broker: &Broker, member: &str, generation: i32) -> bool {
    let (tx, rx) = mpsc::channel();
    let (groups, member) = (Arc::clone(broker.groups()), member.to_owned());
    std::thread::spawn(move || tx.send(groups.heartbeat("b", generation, &member, None)));
    rx.recv_timeout(PATIENCE) == Ok(ErrorCode::None)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_sync_group_fsync_holds_up_only_its_own_answer() {
    let dir = tempfile::tempdir().unwrap();
    let (broker, member, generation) = broker_with_group_b(dir.path()).await;
    let groups = Arc::clone(broker.groups());
    let joined = spawn_join(&groups, join_req("s", "", "c")).await.unwrap();
    let mut disk = block_syncs_under(dir.path().to_path_buf());
    let mut sync = sync_req("s", joined.generation_id, &joined.member_id);
    sync.assignments = vec![(joined.member_id.clone(), b"mine".to_vec())];
    let syncing = {
        let groups = Arc::clone(&groups);
        tokio::spawn(async move { groups.sync_group(sync).await })
    };
    tokio::task::block_in_place(|| disk.entered.recv_timeout(PATIENCE)).expect("the assignment reaches its fsync");
    assert!(b_heartbeat_answered(&broker, &member, generation), "b's heartbeat is answered meanwhile");
    assert!(!syncing.is_finished(), "the assignment is answered only once durable");
    disk.release();
    let r = syncing.await.unwrap();
    assert_eq!((r.error, r.assignment), (ErrorCode::None, b"mine".to_vec()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_fsync_for_one_group_does_not_block_another_groups_heartbeats() {
    let dir = tempfile::tempdir().unwrap();
    let (broker, member, generation) = broker_with_group_b(dir.path()).await;
    let groups = Arc::clone(broker.groups());

    // From now on every fsync of this broker's segments blocks until `disk.release()`.
    let mut disk = block_syncs_under(dir.path().to_path_buf());

    let committer = {
        let groups = Arc::clone(&groups);
        std::thread::spawn(move || groups.commit_offsets("a", -1, "", None, &commit(42)))
    };
    disk.entered.recv_timeout(PATIENCE).expect("group a's commit reaches its fsync");

    assert!(b_heartbeat_answered(&broker, &member, generation), "b's heartbeat is answered while a's fsync hangs");
    assert!(!committer.is_finished(), "a's commit is answered only once durable");
    let fetched = groups.fetch_offsets("a", Some(&[TopicPartition::new("t", 0)]), false).unwrap();
    assert_eq!(fetched[0].offset, -1, "not applied before it is durable");

    disk.release();
    assert_eq!(committer.join().unwrap(), Ok(vec![ErrorCode::None]));
    let fetched = groups.fetch_offsets("a", Some(&[TopicPartition::new("t", 0)]), false).unwrap();
    assert_eq!(fetched[0].offset, 42);
}
