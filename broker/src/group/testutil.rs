//! Test harness: an in-memory `__consumer_offsets`, and helpers to build groups.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;

use super::coordinator::GroupCoordinator;
use super::{GroupConfig, JoinGroup, JoinGroupResult, OffsetsLog, SyncGroup, SyncGroupResult};
use crate::{Error, ErrorCode};

/// One append to the in-memory log.
#[derive(Debug, Clone)]
pub(super) enum Entry {
    Records {
        partition: i32,
        records: Vec<(Vec<u8>, Option<Vec<u8>>)>,
        producer: Option<(i64, i16)>,
    },
    Marker {
        partition: i32,
        producer_id: i64,
        commit: bool,
    },
}

/// An in-memory `__consumer_offsets`.
#[derive(Debug, Default)]
pub(super) struct MemLog {
    pub(super) entries: Mutex<Vec<Entry>>,
    pub(super) fail: AtomicBool,
}

impl OffsetsLog for MemLog {
    fn append(
        &self,
        partition: i32,
        records: Vec<(Vec<u8>, Option<Vec<u8>>)>,
        producer: Option<(i64, i16)>,
    ) -> crate::Result<i64> {
        if self.fail.load(Ordering::SeqCst) {
            return Err(Error::storage("append", std::io::Error::other("disk full")));
        }
        let mut entries = self.entries.lock();
        entries.push(Entry::Records {
            partition,
            records,
            producer,
        });
        Ok(entries.len() as i64)
    }

    fn sync(&self, _partition: i32, _upto: i64) -> crate::Result<()> {
        Ok(())
    }
}

impl MemLog {
    /// Records the marker the transaction coordinator writes to `__consumer_offsets` when
    /// `producer_id`'s transaction ends (before it calls `complete_txn`).
    pub(super) fn write_marker(&self, partition: i32, producer_id: i64, commit: bool) {
        self.entries.lock().push(Entry::Marker { partition, producer_id, commit });
    }

    /// Replays everything appended so far into `c`, as the broker does at startup.
    pub(super) fn replay_into(&self, c: &GroupCoordinator) {
        for e in self.entries.lock().iter() {
            match e {
                Entry::Records {
                    records, producer, ..
                } => {
                    for (k, v) in records {
                        match producer {
                            None => c.replay(k, v.as_deref()),
                            Some((pid, epoch)) => c.replay_txn(*pid, *epoch, k, v.as_deref()),
                        }
                    }
                }
                Entry::Marker {
                    partition,
                    producer_id,
                    commit,
                } => c.replay_marker(*partition, *producer_id, *commit),
            }
        }
    }

    /// Every (key, value) record appended, in order.
    pub(super) fn records(&self) -> Vec<(Vec<u8>, Option<Vec<u8>>)> {
        self.entries
            .lock()
            .iter()
            .flat_map(|e| match e {
                Entry::Records { records, .. } => records.clone(),
                Entry::Marker { .. } => Vec::new(),
            })
            .collect()
    }
}

/// A config with the initial rebalance delay set to `delay_ms`.
pub(super) fn config(delay_ms: u64) -> GroupConfig {
    GroupConfig {
        initial_rebalance_delay: Duration::from_millis(delay_ms),
        ..GroupConfig::default()
    }
}

pub(super) fn coordinator(config: GroupConfig) -> (Arc<GroupCoordinator>, Arc<MemLog>) {
    let log = Arc::new(MemLog::default());
    (GroupCoordinator::new(config, log.clone()), log)
}

/// A ConsumerProtocol Subscription v0 for `topics` (no user data).
pub(super) fn subscription(topics: &[&str]) -> Vec<u8> {
    let mut b = vec![0, 0];
    b.extend_from_slice(&(topics.len() as i32).to_be_bytes());
    for t in topics {
        b.extend_from_slice(&(t.len() as i16).to_be_bytes());
        b.extend_from_slice(t.as_bytes());
    }
    b.extend_from_slice(&(-1i32).to_be_bytes());
    b
}

/// A JoinGroup of a consumer subscribed to topic `t` with the range assignor.
pub(super) fn join_req(group: &str, member_id: &str, client: &str) -> JoinGroup {
    JoinGroup {
        group_id: group.into(),
        session_timeout_ms: 10_000,
        rebalance_timeout_ms: 60_000,
        member_id: member_id.into(),
        group_instance_id: None,
        protocol_type: "consumer".into(),
        protocols: vec![("range".into(), subscription(&["t"]))],
        client_id: client.into(),
        client_host: "/127.0.0.1".into(),
        require_known_member_id: false,
    }
}

pub(super) fn sync_req(group: &str, generation: i32, member_id: &str) -> SyncGroup {
    SyncGroup {
        group_id: group.into(),
        generation,
        member_id: member_id.into(),
        instance_id: None,
        protocol_type: Some("consumer".into()),
        protocol_name: Some("range".into()),
        assignments: Vec::new(),
    }
}

pub(super) fn spawn_join(
    c: &Arc<GroupCoordinator>,
    req: JoinGroup,
) -> tokio::task::JoinHandle<JoinGroupResult> {
    let c = c.clone();
    tokio::spawn(async move { c.join_group(req).await })
}

pub(super) fn spawn_sync(
    c: &Arc<GroupCoordinator>,
    req: SyncGroup,
) -> tokio::task::JoinHandle<SyncGroupResult> {
    let c = c.clone();
    tokio::spawn(async move { c.sync_group(req).await })
}

/// Waits (yielding to other tasks, bounded by 10 s of real time) until `f` holds.
pub(super) async fn wait_until(what: &str, mut f: impl FnMut() -> bool) {
    let r = tokio::time::timeout(Duration::from_secs(10), async {
        while !f() {
            tokio::task::yield_now().await;
        }
    })
    .await;
    assert!(r.is_ok(), "timed out waiting for {what}");
}

/// The number of members of `group` waiting in a JoinGroup.
pub(super) fn awaiting_join(c: &GroupCoordinator, group: &str) -> usize {
    c.inner
        .lock()
        .groups
        .get(group)
        .map(|g| g.members.values().filter(|m| m.awaiting_join()).count())
        .unwrap_or(0)
}

/// The number of members of `group`.
pub(super) fn member_count(c: &GroupCoordinator, group: &str) -> usize {
    c.inner
        .lock()
        .groups
        .get(group)
        .map(|g| g.members.len())
        .unwrap_or(0)
}

/// A Stable group built with `requests` joining one after the other (each join makes the
/// existing members rejoin). Every member's assignment is its member id's bytes. Returns the
/// member ids (in `requests` order) and the generation. Needs an initial delay of 0.
pub(super) async fn stable_group(
    c: &Arc<GroupCoordinator>,
    requests: Vec<JoinGroup>,
) -> (Vec<String>, i32) {
    let mut ids: Vec<String> = Vec::new();
    let mut protocols = Vec::new();
    let mut generation = 0;
    for req in requests {
        let group = req.group_id.clone();
        protocols.push(req.clone());
        let new = spawn_join(c, req);
        let n = ids.len() + 1;
        if n > 1 {
            wait_until("the new member to join", || member_count(c, &group) == n).await;
        }
        let mut rejoins = Vec::new();
        for (i, id) in ids.iter().enumerate() {
            let mut r = protocols[i].clone();
            r.member_id = id.clone();
            rejoins.push(spawn_join(c, r));
        }
        let mut results = vec![new.await.unwrap()];
        for j in rejoins {
            results.push(j.await.unwrap());
        }
        for r in &results {
            assert_eq!(r.error, ErrorCode::None, "{r:?}");
        }
        let new_id = results[0].member_id.clone();
        ids.push(new_id);
        generation = results[0].generation_id;
        let leader = results[0].leader.clone();
        let mut syncs = Vec::new();
        for id in ids.iter().filter(|id| **id != leader) {
            syncs.push(spawn_sync(c, sync_req(&group, generation, id)));
        }
        let mut leader_sync = sync_req(&group, generation, &leader);
        leader_sync.assignments = ids
            .iter()
            .map(|id| (id.clone(), id.as_bytes().to_vec()))
            .collect();
        let r = c.sync_group(leader_sync).await;
        assert_eq!(r.error, ErrorCode::None);
        for s in syncs {
            assert_eq!(s.await.unwrap().error, ErrorCode::None);
        }
    }
    (ids, generation)
}

/// `now` plus `secs` seconds.
pub(super) fn later(secs: u64) -> Instant {
    GroupCoordinator::now() + Duration::from_secs(secs)
}
