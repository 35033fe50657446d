//! Offsets (commit, transactional commit, fetch, delete, retention) and group administration
//! (list, describe, delete), following Kafka's `GroupCoordinator` and `GroupMetadataManager`.

use brook_common::TopicPartition;
use std::collections::{BTreeSet, HashMap};
use std::time::Instant;

use super::coordinator::{GroupCoordinator, GroupsState};
use super::rebalance::store_error;
use super::state::{CommittedOffset, Group, GroupState};
use super::storage::{group_key, offset_key, offset_value, OffsetValue};
use super::{FetchedOffset, GroupDescription, GroupListing, MemberDescription, OffsetCommit};
use crate::ErrorCode;

type Records = Vec<(Vec<u8>, Option<Vec<u8>>)>;

/// Offsets appended to `__consumer_offsets`, waiting to be durable before they are applied.
#[derive(Debug)]
struct Appended {
    group_id: String,
    producer: Option<(i64, i16)>,
    /// One per requested partition, in request order.
    codes: Vec<ErrorCode>,
    /// The offsets whose code is `None`, with their commit sequence numbers.
    offsets: Vec<(TopicPartition, CommittedOffset)>,
    /// The `__consumer_offsets` partition and the offset to sync up to, when anything was
    /// appended.
    durable_at: Option<(i32, i64)>,
}

/// Sets every code that is still `None` to `code`.
fn fail_all(codes: &mut [ErrorCode], code: ErrorCode) {
    for c in codes.iter_mut().filter(|c| **c == ErrorCode::None) {
        *c = code;
    }
}

impl Appended {
    /// Fails every partition that had not failed already.
    fn fail(&mut self, code: ErrorCode) {
        fail_all(&mut self.codes, code);
        self.offsets.clear();
        self.durable_at = None;
    }
}

impl GroupCoordinator {
    /// Handles an OffsetCommit. Generation -1 with an empty member id is a standalone commit,
    /// allowed while the group is empty or unknown.
    ///
    /// # Errors
    /// A group-level code that applies to every partition (`IllegalGeneration`,
    /// `UnknownMemberId`, `FencedInstanceId`, `RebalanceInProgress`, ...). Per-partition codes
    /// (`OffsetMetadataTooLarge`, storage failures) come in the `Ok` vector, in request order.
    pub(crate) fn commit_offsets(
        &self,
        group_id: &str,
        generation: i32,
        member_id: &str,
        instance_id: Option<&str>,
        offsets: &[OffsetCommit],
    ) -> Result<Vec<ErrorCode>, ErrorCode> {
        let now = Self::now();
        let appended = {
            let mut inner = self.inner.lock();
            self.check_commit(&mut inner, group_id, generation, member_id, instance_id, now)?;
            self.store_offsets(&mut inner, group_id, offsets, None, now)
        };
        Ok(self.when_durable(appended))
    }

    /// The group checks of an OffsetCommit (creating the group for a standalone commit).
    fn check_commit(
        &self,
        inner: &mut GroupsState,
        group_id: &str,
        generation: i32,
        member_id: &str,
        instance_id: Option<&str>,
        now: Instant,
    ) -> Result<(), ErrorCode> {
        if !inner.groups.contains_key(group_id) {
            if generation >= 0 {
                return Err(ErrorCode::IllegalGeneration);
            }
            inner
                .groups
                .insert(group_id.to_owned(), Group::new(group_id));
        }
        let group = inner
            .groups
            .get_mut(group_id)
            .ok_or(ErrorCode::UnknownServerError)?;
        if group.is(GroupState::Dead) {
            return Err(ErrorCode::CoordinatorNotAvailable);
        }
        if group.is_static_member_fenced(instance_id, member_id) {
            return Err(ErrorCode::FencedInstanceId);
        }
        if !(generation < 0 && group.is(GroupState::Empty)) {
            if !group.members.contains_key(member_id) {
                return Err(ErrorCode::UnknownMemberId);
            }
            if generation != group.generation {
                return Err(ErrorCode::IllegalGeneration);
            }
            match group.state {
                GroupState::Stable | GroupState::PreparingRebalance => {
                    if let Some(m) = group.members.get_mut(member_id) {
                        m.heartbeat_deadline = now + m.session_timeout;
                    }
                }
                GroupState::CompletingRebalance => return Err(ErrorCode::RebalanceInProgress),
                GroupState::Empty | GroupState::Dead => return Err(ErrorCode::UnknownMemberId),
            }
        }
        Ok(())
    }

    /// Handles a TxnOffsetCommit without group membership information (TxnOffsetCommit v0-v2).
    /// The offsets stay pending, invisible to fetches, until [`GroupCoordinator::complete_txn`].
    ///
    /// # Errors
    /// As [`GroupCoordinator::txn_commit_offsets_as_member`].
    pub(crate) fn txn_commit_offsets(
        &self,
        group_id: &str,
        producer_id: i64,
        producer_epoch: i16,
        offsets: &[OffsetCommit],
    ) -> Result<Vec<ErrorCode>, ErrorCode> {
        self.txn_commit_offsets_as_member(
            group_id,
            -1,
            "",
            None,
            producer_id,
            producer_epoch,
            offsets,
        )
    }

    /// Handles a TxnOffsetCommit v3+ (KIP-447): when a member id / generation is given, they are
    /// checked against the group, fencing zombie producers of an older generation.
    ///
    /// # Errors
    /// `InvalidGroupId`, `CoordinatorNotAvailable`, `FencedInstanceId`, `UnknownMemberId`,
    /// `IllegalGeneration`, for every partition.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn txn_commit_offsets_as_member(
        &self,
        group_id: &str,
        generation: i32,
        member_id: &str,
        instance_id: Option<&str>,
        producer_id: i64,
        producer_epoch: i16,
        offsets: &[OffsetCommit],
    ) -> Result<Vec<ErrorCode>, ErrorCode> {
        if group_id.is_empty() {
            return Err(ErrorCode::InvalidGroupId);
        }
        let now = Self::now();
        let appended = {
            let mut inner = self.inner.lock();
            let group = inner.group_mut(group_id);
            if group.is(GroupState::Dead) {
                return Err(ErrorCode::CoordinatorNotAvailable);
            }
            if group.is_static_member_fenced(instance_id, member_id) {
                return Err(ErrorCode::FencedInstanceId);
            }
            if !member_id.is_empty() && !group.members.contains_key(member_id) {
                return Err(ErrorCode::UnknownMemberId);
            }
            if generation >= 0 && generation != group.generation {
                return Err(ErrorCode::IllegalGeneration);
            }
            self.store_offsets(&mut inner, group_id, offsets, Some((producer_id, producer_epoch)), now)
        };
        Ok(self.when_durable(appended))
    }

    /// Appends the offsets to `__consumer_offsets` (under the coordinator lock, which orders
    /// them: each offset gets its commit sequence number here). [`GroupCoordinator::when_durable`]
    /// applies them once they are durable.
    fn store_offsets(
        &self,
        inner: &mut GroupsState,
        group_id: &str,
        offsets: &[OffsetCommit],
        producer: Option<(i64, i16)>,
        now: Instant,
    ) -> Appended {
        let ts = self.wall_ms(now);
        let mut appended = Appended {
            group_id: group_id.to_owned(),
            producer,
            codes: Vec::with_capacity(offsets.len()),
            offsets: Vec::new(),
            durable_at: None,
        };
        let mut records: Records = Vec::new();
        for o in offsets {
            let metadata = o.metadata.clone().unwrap_or_default();
            if metadata.len() > self.config.max_metadata_size {
                appended.codes.push(ErrorCode::OffsetMetadataTooLarge);
                continue;
            }
            appended.codes.push(ErrorCode::None);
            let value = OffsetValue {
                offset: o.offset,
                leader_epoch: o.leader_epoch,
                metadata: metadata.clone(),
                commit_timestamp: ts,
                expire_timestamp: None,
            };
            records.push((offset_key(group_id, &o.topic, o.partition), Some(offset_value(&value))));
            let committed = CommittedOffset {
                offset: o.offset,
                leader_epoch: o.leader_epoch,
                metadata,
                commit_timestamp: ts,
                expire_timestamp: None,
                seq: 0,
            };
            appended.offsets.push((TopicPartition::new(o.topic.clone(), o.partition), committed));
        }
        if records.is_empty() {
            return appended;
        }
        let partition = self.partition_for(group_id);
        match self.log.append(partition, records, producer) {
            Ok(upto) => appended.durable_at = Some((partition, upto)),
            Err(e) => {
                tracing::warn!(group = group_id, error = %e, "offset commit append failed");
                appended.fail(store_error(&e, true));
                return appended;
            }
        }
        for (_, o) in &mut appended.offsets {
            inner.seq += 1;
            o.seq = inner.seq;
        }
        appended
    }

    /// Waits (without the coordinator lock) until `appended` is durable, then applies it: the
    /// offsets become committed (or, for a transaction, pending), unless a later commit of the
    /// same partition was applied first. Returns the per-partition codes.
    fn when_durable(&self, mut appended: Appended) -> Vec<ErrorCode> {
        let Some((partition, upto)) = appended.durable_at else {
            return appended.codes;
        };
        if let Err(e) = self.log.sync(partition, upto) {
            tracing::warn!(group = %appended.group_id, error = %e, "offset commit sync failed");
            appended.fail(store_error(&e, true));
            return appended.codes;
        }
        let mut inner = self.inner.lock();
        let GroupsState { groups, txn_groups, .. } = &mut *inner;
        let Some(group) = groups.get_mut(&appended.group_id) else {
            return appended.codes;
        };
        let target = match appended.producer {
            None => &mut group.offsets,
            Some((pid, epoch)) => {
                txn_groups.entry(pid).or_default().insert(appended.group_id.clone());
                let entry = group.pending_txn.entry(pid).or_insert_with(|| (epoch, HashMap::new()));
                entry.0 = epoch;
                &mut entry.1
            }
        };
        for (tp, o) in appended.offsets {
            if target.get(&tp).is_none_or(|cur| cur.seq < o.seq) {
                target.insert(tp, o);
            }
        }
        appended.codes
    }

    /// Ends a transaction's offset commits once the transaction coordinator has written its
    /// markers (to `__consumer_offsets` too, where replay finds them): with `commit` the
    /// producer's pending offsets become committed (unless a newer plain commit exists), else
    /// they are dropped.
    pub(crate) fn complete_txn(&self, producer_id: i64, commit: bool) {
        let mut inner = self.inner.lock();
        self.finish_txn(&mut inner, producer_id, commit, None);
    }

    /// Materializes or drops `producer_id`'s pending offsets (only in groups stored in
    /// `partition`, when given). Returns the partitions touched, with the producer epoch.
    pub(super) fn finish_txn(
        &self,
        inner: &mut GroupsState,
        producer_id: i64,
        commit: bool,
        partition: Option<i32>,
    ) -> BTreeSet<(i32, i16)> {
        let mut touched = BTreeSet::new();
        let Some(group_ids) = inner.txn_groups.remove(&producer_id) else {
            return touched;
        };
        let mut left = std::collections::HashSet::new();
        for gid in group_ids {
            let p = self.partition_for(&gid);
            if partition.is_some_and(|want| want != p) {
                left.insert(gid);
                continue;
            }
            let Some(group) = inner.groups.get_mut(&gid) else {
                continue;
            };
            let Some((epoch, pending)) = group.pending_txn.remove(&producer_id) else {
                continue;
            };
            touched.insert((p, epoch));
            if commit {
                for (tp, o) in pending {
                    if group.offsets.get(&tp).is_none_or(|cur| cur.seq < o.seq) {
                        group.offsets.insert(tp, o);
                    }
                }
            }
        }
        if !left.is_empty() {
            inner.txn_groups.insert(producer_id, left);
        }
        touched
    }

    /// Handles an OffsetFetch: `partitions` `None` means every committed partition of the group.
    /// Partitions without a committed offset get offset -1.
    ///
    /// # Errors
    /// None today (kept for coordinator-level errors); per-partition codes are in the answer:
    /// `UnstableOffsetCommit` when `require_stable` and a transactional commit is pending.
    pub(crate) fn fetch_offsets(
        &self,
        group_id: &str,
        partitions: Option<&[TopicPartition]>,
        require_stable: bool,
    ) -> Result<Vec<FetchedOffset>, ErrorCode> {
        let inner = self.inner.lock();
        let group = inner
            .groups
            .get(group_id)
            .filter(|g| !g.is(GroupState::Dead));
        let answer = |topic: &str, partition: i32| -> FetchedOffset {
            let tp = TopicPartition::new(topic, partition);
            let mut f = FetchedOffset {
                topic: topic.to_owned(),
                partition,
                offset: -1,
                leader_epoch: -1,
                metadata: String::new(),
                error: ErrorCode::None,
            };
            if let Some(g) = group {
                if require_stable && g.has_pending_txn_offset(&tp) {
                    f.error = ErrorCode::UnstableOffsetCommit;
                } else if let Some(o) = g.offsets.get(&tp) {
                    f.offset = o.offset;
                    f.leader_epoch = o.leader_epoch;
                    f.metadata = o.metadata.clone();
                }
            }
            f
        };
        Ok(match partitions {
            Some(list) => list.iter().map(|tp| answer(&tp.topic, tp.partition)).collect(),
            None => {
                let mut tps: Vec<&TopicPartition> = group
                    .map(|g| g.offsets.keys().collect())
                    .unwrap_or_default();
                tps.sort();
                tps.into_iter().map(|tp| answer(&tp.topic, tp.partition)).collect()
            }
        })
    }

    /// Handles an OffsetDelete. Partitions of topics the (non-empty) consumer group subscribes to
    /// are refused with `NonEmptyGroup` (Kafka's `GroupSubscribedToTopic`, which Brook's error
    /// codes lack).
    ///
    /// # Errors
    /// `InvalidGroupId` for an empty group id, `GroupIdNotFound` for an unknown group;
    /// `NonEmptyGroup` for a non-empty group that does not use the consumer protocol.
    pub(crate) fn delete_offsets(
        &self,
        group_id: &str,
        partitions: &[TopicPartition],
    ) -> Result<Vec<ErrorCode>, ErrorCode> {
        if group_id.is_empty() {
            return Err(ErrorCode::InvalidGroupId);
        }
        let mut inner = self.inner.lock();
        let group = inner
            .groups
            .get_mut(group_id)
            .filter(|g| !g.is(GroupState::Dead))
            .ok_or(ErrorCode::GroupIdNotFound)?;
        let subscribed = if group.is(GroupState::Empty) {
            Default::default()
        } else {
            group.subscribed_topics().ok_or(ErrorCode::NonEmptyGroup)?
        };
        let mut codes = Vec::with_capacity(partitions.len());
        let mut records: Records = Vec::new();
        for tp in partitions {
            if subscribed.contains(&tp.topic) {
                codes.push(ErrorCode::NonEmptyGroup);
            } else {
                codes.push(ErrorCode::None);
                if group.offsets.contains_key(tp) {
                    records.push((offset_key(group_id, &tp.topic, tp.partition), None));
                }
            }
        }
        let partition = self.partition_for(group_id);
        let mut durable_at = None;
        if !records.is_empty() {
            match self.log.append(partition, records, None) {
                Ok(upto) => durable_at = Some(upto),
                Err(e) => {
                    fail_all(&mut codes, store_error(&e, true));
                    return Ok(codes);
                }
            }
        }
        for (tp, c) in partitions.iter().zip(&codes) {
            if *c == ErrorCode::None {
                group.offsets.remove(tp);
            }
        }
        drop(inner);
        // Answered once the tombstones are durable, synced without the coordinator lock.
        if let Some(Err(e)) = durable_at.map(|upto| self.log.sync(partition, upto)) {
            fail_all(&mut codes, store_error(&e, true));
        }
        Ok(codes)
    }

    /// Handles a ListGroups: every live group whose state is in `states` (case-insensitive; all
    /// when empty), sorted by group id.
    pub(crate) fn list_groups(&self, states: &[String]) -> Vec<GroupListing> {
        let inner = self.inner.lock();
        let mut out: Vec<GroupListing> = inner
            .groups
            .values()
            .filter(|g| !g.is(GroupState::Dead))
            .filter(|g| {
                states.is_empty()
                    || states
                        .iter()
                        .any(|s| s.eq_ignore_ascii_case(g.state.name()))
            })
            .map(|g| GroupListing {
                group_id: g.id.clone(),
                protocol_type: g.protocol_type.clone().unwrap_or_default(),
                state: g.state.name().to_owned(),
            })
            .collect();
        out.sort_by(|a, b| a.group_id.cmp(&b.group_id));
        out
    }

    /// Handles a DescribeGroups for one group; an unknown group is `Dead` with no members.
    pub(crate) fn describe_group(&self, group_id: &str) -> GroupDescription {
        let inner = self.inner.lock();
        let Some(g) = inner.groups.get(group_id) else {
            return GroupDescription {
                error: ErrorCode::None,
                group_id: group_id.to_owned(),
                state: GroupState::Dead.name().to_owned(),
                protocol_type: String::new(),
                protocol_name: String::new(),
                members: Vec::new(),
            };
        };
        let stable = g.is(GroupState::Stable);
        let protocol = g.protocol_name.clone().unwrap_or_default();
        GroupDescription {
            error: ErrorCode::None,
            group_id: group_id.to_owned(),
            state: g.state.name().to_owned(),
            protocol_type: g.protocol_type.clone().unwrap_or_default(),
            protocol_name: if stable {
                protocol.clone()
            } else {
                String::new()
            },
            members: g
                .members
                .values()
                .map(|m| MemberDescription {
                    member_id: m.id.clone(),
                    group_instance_id: m.instance_id.clone(),
                    client_id: m.client_id.clone(),
                    client_host: m.client_host.clone(),
                    metadata: if stable {
                        m.metadata(&protocol)
                    } else {
                        Vec::new()
                    },
                    assignment: if stable {
                        m.assignment.clone()
                    } else {
                        Vec::new()
                    },
                })
                .collect(),
        }
    }

    /// Handles a DeleteGroups: an empty group is deleted with its offsets (tombstones written);
    /// `NonEmptyGroup` if it has members, `GroupIdNotFound` if unknown.
    pub(crate) fn delete_groups(&self, group_ids: &[String]) -> Vec<(String, ErrorCode)> {
        let now = Self::now();
        let mut inner = self.inner.lock();
        let mut out = Vec::with_capacity(group_ids.len());
        for id in group_ids {
            let code = match inner.groups.get_mut(id) {
                None => ErrorCode::GroupIdNotFound,
                Some(g) if g.is(GroupState::Dead) => ErrorCode::GroupIdNotFound,
                Some(g) if !g.is(GroupState::Empty) => ErrorCode::NonEmptyGroup,
                Some(g) => match self.write_group_tombstones(g) {
                    Ok(()) => {
                        g.transition(GroupState::Dead, self.wall_ms(now));
                        inner.groups.remove(id);
                        ErrorCode::None
                    }
                    Err(e) => e,
                },
            };
            out.push((id.clone(), code));
        }
        out
    }

    /// Tombstones for every offset of the group and for its metadata.
    fn write_group_tombstones(&self, g: &Group) -> Result<(), ErrorCode> {
        let mut records: Records = g
            .offsets
            .keys()
            .map(|tp| (offset_key(&g.id, &tp.topic, tp.partition), None))
            .collect();
        records.push((group_key(&g.id), None));
        self.log
            .append(self.partition_for(&g.id), records, None)
            .map(|_| ())
            .map_err(|e| store_error(&e, false))
    }

    /// Kafka 2.1+ offsets retention for one group: offsets of an empty group expire
    /// `offsets.retention.minutes` after the group became empty; offsets of a stable consumer
    /// group expire that long after their commit if the group no longer subscribes to the topic;
    /// a standalone group's offsets expire that long after their commit. An empty group left
    /// without offsets is removed. Returns whether the group is now dead.
    pub(super) fn expire_offsets(&self, group: &mut Group, now: Instant) -> bool {
        let now_ms = self.wall_ms(now);
        let retention = self.config.offsets_retention.as_millis() as i64;
        let (base_state, subscribed) = match (&group.protocol_type, group.state) {
            (Some(_), GroupState::Empty) => (group.state_timestamp, Default::default()),
            (Some(t), GroupState::Stable) if t == "consumer" => match group.subscribed_topics() {
                Some(s) => (None, s),
                None => return false,
            },
            (None, _) => (None, Default::default()),
            _ => return false,
        };
        let expired: Vec<TopicPartition> = group
            .offsets
            .iter()
            .filter(|(tp, _)| !subscribed.contains(&tp.topic) && !group.has_pending_txn_offset(tp))
            .filter(|(_, o)| match o.expire_timestamp {
                Some(t) => now_ms >= t,
                None => now_ms - base_state.unwrap_or(o.commit_timestamp) >= retention,
            })
            .map(|(tp, _)| tp.clone())
            .collect();
        if !expired.is_empty() {
            let records: Records = expired
                .iter()
                .map(|tp| (offset_key(&group.id, &tp.topic, tp.partition), None))
                .collect();
            if let Err(e) = self
                .log
                .append(self.partition_for(&group.id), records, None)
            {
                tracing::warn!(group = %group.id, error = %e, "failed to write offset tombstones");
                return false;
            }
            tracing::info!(group = %group.id, count = expired.len(), "expired committed offsets");
            for tp in &expired {
                group.offsets.remove(tp);
            }
        }
        if group.is(GroupState::Empty)
            && group.offsets.is_empty()
            && group.pending_txn.is_empty()
            && group.pending_members.is_empty()
        {
            if let Err(e) = self.log.append(
                self.partition_for(&group.id),
                vec![(group_key(&group.id), None)],
                None,
            ) {
                tracing::warn!(group = %group.id, error = %e, "failed to write group tombstone");
                return false;
            }
            group.transition(GroupState::Dead, now_ms);
            return true;
        }
        false
    }
}
