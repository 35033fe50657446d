//! Offset commits are answered once durable, and a slow fsync holds up no other group.

use std::path::Path;
use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;

use super::testutil::{join_req, stable_group};
use super::OffsetCommit;
use crate::log::SYNC_HOOK;
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_fsync_for_one_group_does_not_block_another_groups_heartbeats() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = BrokerConfig::new(dir.path());
    config.group_initial_rebalance_delay = Duration::ZERO;
    // Both groups in one `__consumer_offsets` partition, and every append asks for an fsync.
    config.offsets_topic_partitions = 1;
    config.topic_defaults.flush_messages = 1;
    let broker = Broker::open(config).await.unwrap();
    let groups = Arc::clone(&broker.inner.groups);
    let (ids, generation) = stable_group(&groups, vec![join_req("b", "", "c")]).await;

    // From now on every fsync of this broker's segments blocks until `release` is dropped.
    let (entered_tx, entered) = mpsc::channel();
    let (release, release_rx) = mpsc::channel::<()>();
    let release_rx = Mutex::new(release_rx);
    let root = dir.path().to_path_buf();
    *SYNC_HOOK.write().unwrap() = Some(Arc::new(move |path: &Path| {
        if path.starts_with(&root) {
            let _ = entered_tx.send(());
            let _ = release_rx.lock().unwrap().recv();
        }
    }));

    let committer = {
        let groups = Arc::clone(&groups);
        std::thread::spawn(move || groups.commit_offsets("a", -1, "", None, &commit(42)))
    };
    entered.recv_timeout(PATIENCE).expect("group a's commit reaches its fsync");

    let (beat_tx, beat) = mpsc::channel();
    {
        let (groups, member) = (Arc::clone(&groups), ids[0].clone());
        std::thread::spawn(move || beat_tx.send(groups.heartbeat("b", generation, &member, None)));
    }
    assert_eq!(
        beat.recv_timeout(PATIENCE),
        Ok(ErrorCode::None),
        "b's heartbeat is answered while a's fsync hangs"
    );
    assert!(!committer.is_finished(), "a's commit is answered only once durable");
    let fetched = groups.fetch_offsets("a", Some(&[("t".into(), 0)]), false).unwrap();
    assert_eq!(fetched[0].offset, -1, "not applied before it is durable");

    drop(release);
    assert_eq!(committer.join().unwrap(), Ok(vec![ErrorCode::None]));
    let fetched = groups.fetch_offsets("a", Some(&[("t".into(), 0)]), false).unwrap();
    assert_eq!(fetched[0].offset, 42);
    *SYNC_HOOK.write().unwrap() = None;
}
