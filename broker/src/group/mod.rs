//! The group coordinator.
//!
//! Kafka's classic group protocol (JoinGroup / SyncGroup / Heartbeat / LeaveGroup) and the offset
//! APIs (OffsetCommit, TxnOffsetCommit, OffsetFetch, OffsetDelete), with groups and committed
//! offsets persisted to `__consumer_offsets` in Kafka's own record schema, so a restart (or Kafka's
//! own tooling reading the topic) sees the same state. Modelled on Kafka's `GroupCoordinator.scala`
//! and `GroupMetadataManager.scala`.
//!
//! - [`coordinator`]: the [`GroupCoordinator`] and the membership requests (JoinGroup, SyncGroup,
//!   Heartbeat, LeaveGroup).
//! - `rebalance`: the rebalance state machine and the timers [`GroupCoordinator::tick`] drives.
//! - `offsets`: offset commit, fetch, delete, transactional offsets, retention, group admin.
//! - `state`: one group's state and members.
//! - [`storage`]: the `__consumer_offsets` key/value schemas; `replay` rebuilds state from them.

use std::time::Duration;

use crate::{BrokerConfig, ErrorCode};

pub(crate) mod coordinator;
mod offsets;
mod rebalance;
mod replay;
mod state;
pub(crate) mod storage;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_durability;
#[cfg(test)]
mod tests_offsets;
#[cfg(test)]
mod testutil;

pub(crate) use coordinator::GroupCoordinator;

/// The group coordinator's settings, taken from [`BrokerConfig`].
#[derive(Debug, Clone)]
pub(crate) struct GroupConfig {
    /// `group.min.session.timeout.ms`. Default: 6 s.
    pub(crate) min_session_timeout: Duration,
    /// `group.max.session.timeout.ms`. Default: 30 minutes.
    pub(crate) max_session_timeout: Duration,
    /// `group.initial.rebalance.delay.ms`. Default: 3 s.
    pub(crate) initial_rebalance_delay: Duration,
    /// `offsets.retention.minutes`. Default: 7 days.
    pub(crate) offsets_retention: Duration,
    /// `offsets.topic.num.partitions`. Default: 50.
    pub(crate) offsets_topic_partitions: i32,
    /// `offset.metadata.max.bytes`. Default: 4096.
    pub(crate) max_metadata_size: usize,
    /// How long a new member (no member id yet) may wait in a JoinGroup. Kafka's
    /// `GroupCoordinator.NewMemberJoinTimeoutMs`. Default: 5 minutes.
    pub(crate) new_member_join_timeout: Duration,
    /// `offsets.retention.check.interval.ms`: how often [`GroupCoordinator::tick`] looks for
    /// expired offsets. Default: 10 minutes.
    pub(crate) offsets_retention_check_interval: Duration,
}

impl Default for GroupConfig {
    fn default() -> Self {
        GroupConfig::from(&BrokerConfig::default())
    }
}

impl From<&BrokerConfig> for GroupConfig {
    fn from(c: &BrokerConfig) -> Self {
        GroupConfig {
            min_session_timeout: c.group_min_session_timeout,
            max_session_timeout: c.group_max_session_timeout,
            initial_rebalance_delay: c.group_initial_rebalance_delay,
            offsets_retention: c.offsets_retention,
            offsets_topic_partitions: c.offsets_topic_partitions.max(1),
            max_metadata_size: 4096,
            new_member_join_timeout: Duration::from_secs(300),
            offsets_retention_check_interval: Duration::from_secs(600),
        }
    }
}

/// Where the coordinator persists its records: the `__consumer_offsets` topic.
///
/// Appends happen under the coordinator's lock, so they keep the order of the requests; they
/// only reach the page cache. [`OffsetsLog::sync`] makes them durable and is called after the
/// lock is released, so one slow fsync never holds up another group's requests.
pub(crate) trait OffsetsLog: Send + Sync {
    /// Appends records (key, value or tombstone) to partition `partition` of `__consumer_offsets`.
    /// `producer` = `Some((producer_id, epoch))` marks a transactional batch (TxnOffsetCommit).
    /// Returns once appended (not necessarily durable), with the partition's log end offset:
    /// pass it to [`OffsetsLog::sync`] to wait until the records are durable.
    ///
    /// # Errors
    /// Whatever the log returns; the coordinator then reports the request as failed and leaves
    /// its in-memory state unchanged.
    fn append(
        &self,
        partition: i32,
        records: Vec<(Vec<u8>, Option<Vec<u8>>)>,
        producer: Option<(i64, i16)>,
    ) -> crate::Result<i64>;

    /// Blocks until everything appended to `partition` below offset `upto` is durable. Callers
    /// waiting at the same time share one fsync (group commit).
    ///
    /// # Errors
    /// Whatever the fsync returns; the coordinator reports the request as failed.
    fn sync(&self, partition: i32, upto: i64) -> crate::Result<()>;
}

/// A JoinGroup request.
#[derive(Debug, Clone, Default)]
pub(crate) struct JoinGroup {
    pub(crate) group_id: String,
    pub(crate) session_timeout_ms: i32,
    /// JoinGroup v0 has none: pass the session timeout.
    pub(crate) rebalance_timeout_ms: i32,
    /// Empty for a new member.
    pub(crate) member_id: String,
    pub(crate) group_instance_id: Option<String>,
    pub(crate) protocol_type: String,
    /// (name, metadata) in the member's order of preference.
    pub(crate) protocols: Vec<(String, Vec<u8>)>,
    pub(crate) client_id: String,
    pub(crate) client_host: String,
    /// True for JoinGroup v4+: a new member first gets `MemberIdRequired` and its member id.
    pub(crate) require_known_member_id: bool,
}

/// One member as the leader sees it in its JoinGroup response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct JoinGroupMember {
    pub(crate) member_id: String,
    pub(crate) group_instance_id: Option<String>,
    pub(crate) metadata: Vec<u8>,
}

/// A JoinGroup response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct JoinGroupResult {
    pub(crate) error: ErrorCode,
    /// -1 on error.
    pub(crate) generation_id: i32,
    pub(crate) protocol_type: Option<String>,
    pub(crate) protocol_name: Option<String>,
    /// Empty on error.
    pub(crate) leader: String,
    pub(crate) member_id: String,
    /// All members' metadata for the chosen protocol for the leader; empty for followers.
    pub(crate) members: Vec<JoinGroupMember>,
}

impl JoinGroupResult {
    pub(crate) fn error(member_id: impl Into<String>, error: ErrorCode) -> Self {
        JoinGroupResult {
            error,
            generation_id: -1,
            protocol_type: None,
            protocol_name: None,
            leader: String::new(),
            member_id: member_id.into(),
            members: Vec::new(),
        }
    }
}

/// A SyncGroup request.
#[derive(Debug, Clone, Default)]
pub(crate) struct SyncGroup {
    pub(crate) group_id: String,
    pub(crate) generation: i32,
    pub(crate) member_id: String,
    pub(crate) instance_id: Option<String>,
    /// SyncGroup v5+; `None` skips the check.
    pub(crate) protocol_type: Option<String>,
    /// SyncGroup v5+; `None` skips the check.
    pub(crate) protocol_name: Option<String>,
    /// The leader's assignments (member id, assignment bytes); empty for followers.
    pub(crate) assignments: Vec<(String, Vec<u8>)>,
}

/// A SyncGroup response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SyncGroupResult {
    pub(crate) error: ErrorCode,
    pub(crate) protocol_type: Option<String>,
    pub(crate) protocol_name: Option<String>,
    pub(crate) assignment: Vec<u8>,
}

impl SyncGroupResult {
    pub(crate) fn error(error: ErrorCode) -> Self {
        SyncGroupResult {
            error,
            protocol_type: None,
            protocol_name: None,
            assignment: Vec::new(),
        }
    }
}

/// One partition's offset in an OffsetCommit or TxnOffsetCommit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct OffsetCommit {
    pub(crate) topic: String,
    pub(crate) partition: i32,
    pub(crate) offset: i64,
    /// -1 when unknown.
    pub(crate) leader_epoch: i32,
    /// `None` is stored as the empty string, as Kafka does.
    pub(crate) metadata: Option<String>,
}

/// One partition's answer to an OffsetFetch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FetchedOffset {
    pub(crate) topic: String,
    pub(crate) partition: i32,
    /// -1 when nothing is committed.
    pub(crate) offset: i64,
    /// -1 when unknown.
    pub(crate) leader_epoch: i32,
    /// Empty when nothing is committed.
    pub(crate) metadata: String,
    pub(crate) error: ErrorCode,
}

/// One group in a ListGroups answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct GroupListing {
    pub(crate) group_id: String,
    /// Empty for a group that only stores offsets.
    pub(crate) protocol_type: String,
    /// `Empty`, `PreparingRebalance`, `CompletingRebalance`, `Stable`.
    pub(crate) state: String,
}

/// A DescribeGroups answer for one group. An unknown group is described as `Dead` with no
/// members and error `None`, as Kafka does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct GroupDescription {
    pub(crate) error: ErrorCode,
    pub(crate) group_id: String,
    /// `Empty`, `PreparingRebalance`, `CompletingRebalance`, `Stable` or `Dead`.
    pub(crate) state: String,
    pub(crate) protocol_type: String,
    /// The chosen protocol when `Stable`, else empty.
    pub(crate) protocol_name: String,
    pub(crate) members: Vec<MemberDescription>,
}

/// One member in a [`GroupDescription`]. Metadata and assignment are only filled in when the group
/// is `Stable`, as Kafka does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct MemberDescription {
    pub(crate) member_id: String,
    pub(crate) group_instance_id: Option<String>,
    pub(crate) client_id: String,
    pub(crate) client_host: String,
    pub(crate) metadata: Vec<u8>,
    pub(crate) assignment: Vec<u8>,
}
