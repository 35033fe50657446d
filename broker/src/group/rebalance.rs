//! The rebalance state machine (Kafka's `prepareRebalance`, `onCompleteJoin`, the delayed join,
//! heartbeat and sync operations) and the timers that drive it.

use std::sync::Arc;
use std::time::Instant;

use super::coordinator::{ms, GroupCoordinator, GroupsState};
use super::state::{Group, GroupState, InitialDelay};
use super::SyncGroupResult;
use crate::ErrorCode;

impl GroupCoordinator {
    /// Expires sessions, pending member ids, rebalance and sync timeouts, and (every
    /// `offsets.retention.check.interval.ms`) offsets past retention, as of `now`.
    pub(crate) fn tick(&self, now: Instant) {
        let mut inner = self.inner.lock();
        let retention_due = inner.last_retention_check.is_none_or(|t| {
            now.saturating_duration_since(t) >= self.config.offsets_retention_check_interval
        });
        if retention_due {
            inner.last_retention_check = Some(now);
        }
        let mut dead = Vec::new();
        let ids: Vec<String> = inner.groups.keys().cloned().collect();
        for id in ids {
            let Some(group) = inner.groups.get_mut(&id) else {
                continue;
            };
            self.run_timers(group, now);
            if retention_due && self.expire_offsets(group, now) {
                dead.push(id);
            }
        }
        for id in dead {
            inner.groups.remove(&id);
        }
        let GroupsState {
            groups, txn_groups, ..
        } = &mut *inner;
        txn_groups.retain(|pid, gs| {
            gs.retain(|g| {
                groups
                    .get(g)
                    .is_some_and(|g| g.pending_txn.contains_key(pid))
            });
            !gs.is_empty()
        });
    }

    /// The membership timers of one group.
    pub(super) fn run_timers(&self, group: &mut Group, now: Instant) {
        let expired_pending: Vec<String> = group
            .pending_members
            .iter()
            .filter(|(_, d)| **d <= now)
            .map(|(id, _)| id.clone())
            .collect();
        for id in &expired_pending {
            group.pending_members.remove(id);
        }
        if !expired_pending.is_empty() && group.is(GroupState::PreparingRebalance) {
            self.try_complete_join(group, now);
        }
        let expired: Vec<String> = group
            .members
            .values()
            .filter(|m| m.expired(now))
            .map(|m| m.id.clone())
            .collect();
        for id in expired {
            tracing::info!(group = %group.id, member = %id, "member session expired");
            self.remove_member_and_update(group, &id, now);
        }
        if group.is(GroupState::PreparingRebalance) && group.join_deadline.is_some_and(|d| d <= now)
        {
            self.on_join_deadline(group, now);
        }
        if matches!(
            group.state,
            GroupState::CompletingRebalance | GroupState::Stable
        ) && group.sync_deadline.is_some_and(|d| d <= now)
        {
            group.sync_deadline = None;
            if !group.pending_sync.is_empty() {
                let mut late: Vec<String> = group.pending_sync.drain().collect();
                late.sort();
                tracing::info!(group = %group.id, members = ?late, "members did not sync in time");
                for id in late {
                    group.remove(&id);
                }
                self.prepare_rebalance(group, now);
            }
        }
    }

    pub(super) fn remove_member_and_update(
        &self,
        group: &mut Group,
        member_id: &str,
        now: Instant,
    ) {
        group.remove(member_id);
        match group.state {
            GroupState::Stable | GroupState::CompletingRebalance => {
                self.maybe_prepare_rebalance(group, now)
            }
            GroupState::PreparingRebalance => self.try_complete_join(group, now),
            GroupState::Empty | GroupState::Dead => {}
        }
    }

    pub(super) fn maybe_prepare_rebalance(&self, group: &mut Group, now: Instant) {
        if matches!(
            group.state,
            GroupState::Stable | GroupState::CompletingRebalance | GroupState::Empty
        ) {
            self.prepare_rebalance(group, now);
        }
    }

    pub(super) fn prepare_rebalance(&self, group: &mut Group, now: Instant) {
        if group.is(GroupState::CompletingRebalance) {
            for m in group.members.values_mut() {
                m.assignment.clear();
            }
            self.propagate_assignment(group, ErrorCode::RebalanceInProgress, now);
        }
        group.sync_deadline = None;
        group.pending_sync.clear();
        let timeout = group.rebalance_timeout();
        if group.is(GroupState::Empty) {
            let delay = self.config.initial_rebalance_delay;
            group.initial_delay = Some(InitialDelay {
                delay,
                remaining: timeout.saturating_sub(delay),
            });
            group.join_deadline = Some(now + delay);
        } else {
            group.initial_delay = None;
            group.join_deadline = Some(now + timeout);
        }
        group.new_member_added = false;
        group.transition(GroupState::PreparingRebalance, self.wall_ms(now));
        tracing::debug!(group = %group.id, generation = group.generation, "preparing rebalance");
        self.try_complete_join(group, now);
        if group.initial_delay.is_some() && group.join_deadline.is_some_and(|d| d <= now) {
            self.on_join_deadline(group, now);
        }
    }

    /// Completes the join phase early when everyone is in (not during the initial delay).
    pub(super) fn try_complete_join(&self, group: &mut Group, now: Instant) {
        if group.is(GroupState::PreparingRebalance)
            && group.initial_delay.is_none()
            && group.all_members_joined()
        {
            self.complete_join(group, now);
        }
    }

    pub(super) fn on_join_deadline(&self, group: &mut Group, now: Instant) {
        if let Some(init) = group.initial_delay {
            if group.new_member_added && !init.remaining.is_zero() {
                group.new_member_added = false;
                let delay = self.config.initial_rebalance_delay.min(init.remaining);
                group.initial_delay = Some(InitialDelay {
                    delay,
                    remaining: init.remaining.saturating_sub(init.delay),
                });
                group.join_deadline = Some(now + delay);
                return;
            }
        }
        self.complete_join(group, now);
    }

    /// Kafka's `onCompleteJoin`: drops dynamic members that did not rejoin, starts the next
    /// generation and answers every waiting JoinGroup.
    pub(super) fn complete_join(&self, group: &mut Group, now: Instant) {
        group.join_deadline = None;
        group.initial_delay = None;
        group.new_member_added = false;
        let gone: Vec<String> = group
            .members
            .values()
            .filter(|m| !m.awaiting_join() && m.instance_id.is_none())
            .map(|m| m.id.clone())
            .collect();
        for id in gone {
            tracing::info!(group = %group.id, member = %id, "member did not rejoin in time");
            group.remove(&id);
        }
        if !group.members.is_empty() && !self.elect_joined_leader(group) {
            // Only static members that have not rejoined: wait for them (or their session) again.
            group.join_deadline = Some(now + group.rebalance_timeout());
            return;
        }
        group.generation += 1;
        let wall = self.wall_ms(now);
        if group.members.is_empty() {
            group.protocol_name = None;
            group.transition(GroupState::Empty, wall);
            if let Err(e) = self.store_group(group, now) {
                tracing::warn!(group = %group.id, error = ?e, "failed to store empty group");
            }
            return;
        }
        group.protocol_name = group.select_protocol();
        group.transition(GroupState::CompletingRebalance, wall);
        let leader_view = group.member_metadata();
        let base = self.join_result(group, String::new(), Vec::new());
        for m in group.members.values_mut() {
            if let Some(tx) = m.join_tx.take() {
                let mut r = base.clone();
                r.member_id = m.id.clone();
                if base.leader == m.id {
                    r.members = leader_view.clone();
                }
                let _ = tx.send(r);
            }
            m.heartbeat_deadline = now + m.session_timeout;
            m.is_new = false;
        }
        group.pending_sync = group.members.keys().cloned().collect();
        group.sync_deadline = Some(now + group.rebalance_timeout());
        tracing::info!(group = %group.id, generation = group.generation, members = group.members.len(), "group rebalanced");
    }

    /// Kafka's `maybeElectNewJoinedLeader`: keeps the leader if it rejoined, else picks a member
    /// that did. False when nobody rejoined.
    pub(super) fn elect_joined_leader(&self, group: &mut Group) -> bool {
        if let Some(l) = group.leader.as_ref().and_then(|l| group.members.get(l)) {
            if l.awaiting_join() {
                return true;
            }
        }
        match group.members.values().find(|m| m.awaiting_join()) {
            Some(m) => {
                group.leader = Some(m.id.clone());
                true
            }
            None => false,
        }
    }

    /// Persists the group's metadata (`GroupMetadataKey`/`Value`).
    pub(super) fn store_group(&self, group: &Group, now: Instant) -> Result<(), ErrorCode> {
        use super::storage::{group_key, group_value, GroupValue, MemberValue};
        let protocol = group.protocol_name.clone().unwrap_or_default();
        let value = GroupValue {
            protocol_type: group.protocol_type.clone().unwrap_or_default(),
            generation: group.generation,
            protocol: group.protocol_name.clone(),
            leader: group.leader.clone(),
            current_state_timestamp: group.state_timestamp.unwrap_or_else(|| self.wall_ms(now)),
            members: group
                .members
                .values()
                .map(|m| MemberValue {
                    member_id: m.id.clone(),
                    instance_id: m.instance_id.clone(),
                    client_id: m.client_id.clone(),
                    client_host: m.client_host.clone(),
                    rebalance_timeout: ms(m.rebalance_timeout),
                    session_timeout: ms(m.session_timeout),
                    subscription: m.metadata(&protocol),
                    assignment: m.assignment.clone(),
                })
                .collect(),
        };
        let record = (group_key(&group.id), Some(group_value(&value)));
        let partition = self.partition_for(&group.id);
        let upto = self
            .log
            .append(partition, vec![record], None)
            .map_err(|e| store_error(&e, false))?;
        self.note_appended(partition, upto);
        Ok(())
    }

    /// Records that group metadata was appended to `partition` up to `upto`.
    pub(super) fn note_appended(&self, partition: i32, upto: i64) {
        let mut appended = self.appended.lock();
        let e = appended.entry(partition).or_insert(upto);
        *e = (*e).max(upto);
    }

    /// Returns a successful SyncGroup answer `r` once the group metadata holding the assignment
    /// is durable, synced on the blocking pool without the coordinator lock.
    pub(super) async fn when_group_durable(&self, group_id: &str, r: SyncGroupResult) -> SyncGroupResult {
        if r.error != ErrorCode::None {
            return r;
        }
        let partition = self.partition_for(group_id);
        let Some(upto) = self.appended.lock().get(&partition).copied() else {
            return r;
        };
        let log = Arc::clone(&self.log);
        match tokio::task::spawn_blocking(move || log.sync(partition, upto)).await {
            Ok(Ok(())) => r,
            Ok(Err(e)) => SyncGroupResult::error(store_error(&e, false)),
            Err(_) => SyncGroupResult::error(ErrorCode::CoordinatorNotAvailable),
        }
    }

    /// Answers every member waiting in SyncGroup with its assignment (or `error`).
    pub(super) fn propagate_assignment(&self, group: &mut Group, error: ErrorCode, now: Instant) {
        let (pt, pn) = (group.protocol_type.clone(), group.protocol_name.clone());
        for m in group.members.values_mut() {
            if let Some(tx) = m.sync_tx.take() {
                let _ = tx.send(SyncGroupResult {
                    error,
                    protocol_type: pt.clone(),
                    protocol_name: pn.clone(),
                    assignment: if error == ErrorCode::None {
                        m.assignment.clone()
                    } else {
                        Vec::new()
                    },
                });
                m.heartbeat_deadline = now + m.session_timeout;
            }
        }
    }
}

/// Kafka's mapping of a failed `__consumer_offsets` append to the code the client sees.
pub(super) fn store_error(e: &crate::Error, offsets: bool) -> ErrorCode {
    match e.code() {
        ErrorCode::UnknownTopicOrPartition | ErrorCode::RequestTimedOut => {
            ErrorCode::CoordinatorNotAvailable
        }
        ErrorCode::KafkaStorageError => ErrorCode::NotCoordinator,
        ErrorCode::MessageTooLarge
        | ErrorCode::RecordListTooLarge
        | ErrorCode::InvalidFetchSize => {
            if offsets {
                ErrorCode::InvalidCommitOffsetSize
            } else {
                ErrorCode::UnknownServerError
            }
        }
        other => other,
    }
}
