//! Rebuilding the coordinator from `__consumer_offsets` at startup (Kafka's
//! `GroupMetadataManager.loadGroupsAndOffsets`). Bad records are skipped with a warning.

use std::collections::HashMap;

use brook_common::TopicPartition;

use super::coordinator::{GroupCoordinator, GroupsState};
use super::state::{CommittedOffset, Group, GroupState, Member};
use super::storage::{decode_group_value, decode_key, decode_offset_value, GroupValue, OffsetValue, RecordKey};

impl GroupsState {
    /// The commit a replayed offset record stands for, ordered after every commit replayed so
    /// far (its sequence number).
    fn replayed_commit(&mut self, v: OffsetValue) -> CommittedOffset {
        self.seq += 1;
        CommittedOffset {
            offset: v.offset,
            leader_epoch: v.leader_epoch,
            metadata: v.metadata,
            commit_timestamp: v.commit_timestamp,
            expire_timestamp: v.expire_timestamp,
            seq: self.seq,
        }
    }
}

fn duration_ms(v: i32) -> std::time::Duration {
    std::time::Duration::from_millis(v.max(0) as u64)
}

impl GroupCoordinator {
    /// Replays one non-transactional `__consumer_offsets` record (`value` `None` is a tombstone),
    /// in log order.
    pub(crate) fn replay(&self, key: &[u8], value: Option<&[u8]>) {
        let key = match decode_key(key) {
            Ok(Some(k)) => k,
            Ok(None) => return,
            Err(e) => {
                tracing::warn!(error = %e, "skipping bad __consumer_offsets key");
                return;
            }
        };
        let now = Self::now();
        let mut inner = self.inner.lock();
        match key {
            RecordKey::Offset {
                group,
                topic,
                partition,
            } => {
                let tp = TopicPartition::new(topic, partition);
                match value {
                    None => {
                        if let Some(g) = inner.groups.get_mut(&group) {
                            g.offsets.remove(&tp);
                        }
                    }
                    Some(v) => {
                        let v = match decode_offset_value(v) {
                            Ok(v) => v,
                            Err(e) => {
                                tracing::warn!(group, error = %e, "skipping bad offset commit record");
                                return;
                            }
                        };
                        let committed = inner.replayed_commit(v);
                        inner.group_mut(&group).offsets.insert(tp, committed);
                    }
                }
            }
            RecordKey::Group { group } => match value {
                None => {
                    let remove = match inner.groups.get_mut(&group) {
                        Some(g) => {
                            let offsets = std::mem::take(&mut g.offsets);
                            let pending = std::mem::take(&mut g.pending_txn);
                            *g = Group::new(&group);
                            g.offsets = offsets;
                            g.pending_txn = pending;
                            g.offsets.is_empty() && g.pending_txn.is_empty()
                        }
                        None => false,
                    };
                    if remove {
                        inner.groups.remove(&group);
                    }
                }
                Some(v) => match decode_group_value(v) {
                    Ok(v) => load_group(inner.group_mut(&group), v, now),
                    Err(e) => {
                        tracing::warn!(group, error = %e, "skipping bad group metadata record")
                    }
                },
            },
        }
    }

    /// Replays one record of a transactional batch of `producer_id`: an offset commit stays
    /// pending until [`GroupCoordinator::replay_marker`] for the same producer and partition.
    pub(crate) fn replay_txn(
        &self,
        producer_id: i64,
        producer_epoch: i16,
        key: &[u8],
        value: Option<&[u8]>,
    ) {
        let (group, tp) = match decode_key(key) {
            Ok(Some(RecordKey::Offset {
                group,
                topic,
                partition,
            })) => (group, TopicPartition::new(topic, partition)),
            Ok(Some(RecordKey::Group { .. })) => return self.replay(key, value),
            Ok(None) => return,
            Err(e) => {
                tracing::warn!(error = %e, "skipping bad transactional __consumer_offsets key");
                return;
            }
        };
        let Some(value) = value else {
            return;
        };
        let v = match decode_offset_value(value) {
            Ok(v) => v,
            Err(e) => {
                tracing::warn!(group, error = %e, "skipping bad transactional offset record");
                return;
            }
        };
        let mut inner = self.inner.lock();
        let committed = inner.replayed_commit(v);
        let entry = inner
            .group_mut(&group)
            .pending_txn
            .entry(producer_id)
            .or_insert_with(|| (producer_epoch, HashMap::new()));
        entry.0 = producer_epoch;
        entry.1.insert(tp, committed);
        inner
            .txn_groups
            .entry(producer_id)
            .or_default()
            .insert(group);
    }

    /// Replays a transaction marker (control batch) of `producer_id` found in `partition` of
    /// `__consumer_offsets`: that producer's pending offsets of groups in this partition become
    /// committed, or are dropped on abort.
    pub(crate) fn replay_marker(&self, partition: i32, producer_id: i64, commit: bool) {
        let mut inner = self.inner.lock();
        self.finish_txn(&mut inner, producer_id, commit, Some(partition));
    }
}

/// Kafka's `GroupMetadata.loadGroup`: a group with members comes back `Stable`, its members with a
/// fresh session; without members it is `Empty`.
fn load_group(g: &mut Group, v: GroupValue, now: std::time::Instant) {
    g.members.clear();
    g.static_members.clear();
    g.pending_members.clear();
    g.pending_sync.clear();
    g.join_deadline = None;
    g.sync_deadline = None;
    g.initial_delay = None;
    g.protocol_type = Some(v.protocol_type).filter(|t| !t.is_empty());
    g.generation = v.generation;
    g.protocol_name = v.protocol.clone();
    g.leader = v.leader;
    g.state_timestamp = Some(v.current_state_timestamp).filter(|t| *t >= 0);
    let protocol = v.protocol.unwrap_or_default();
    for m in v.members {
        if let Some(i) = &m.instance_id {
            g.static_members.insert(i.clone(), m.member_id.clone());
        }
        let session = duration_ms(m.session_timeout);
        g.members.insert(
            m.member_id.clone(),
            Member {
                id: m.member_id,
                instance_id: m.instance_id,
                client_id: m.client_id,
                client_host: m.client_host,
                rebalance_timeout: duration_ms(m.rebalance_timeout),
                session_timeout: session,
                protocol_type: g.protocol_type.clone().unwrap_or_default(),
                protocols: vec![(protocol.clone(), m.subscription)],
                assignment: m.assignment,
                join_tx: None,
                sync_tx: None,
                is_new: false,
                heartbeat_deadline: now + session,
            },
        );
    }
    if g.leader
        .as_ref()
        .is_some_and(|l| !g.members.contains_key(l))
    {
        g.leader = g.members.keys().next().cloned();
    }
    g.state = if g.members.is_empty() {
        GroupState::Empty
    } else {
        GroupState::Stable
    };
}
