//! One group's state: its members, its place in the state machine, its committed offsets.

use brook_common::TopicPartition;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::{Duration, Instant};

use tokio::sync::oneshot;

use super::{JoinGroupMember, JoinGroupResult, SyncGroupResult};

/// Kafka's `GroupState`: Empty -> PreparingRebalance -> CompletingRebalance -> Stable, and Dead
/// once the group is deleted or expired.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum GroupState {
    Empty,
    PreparingRebalance,
    CompletingRebalance,
    Stable,
    Dead,
}

impl GroupState {
    /// The name Kafka reports (DescribeGroups, ListGroups).
    pub(super) fn name(self) -> &'static str {
        match self {
            GroupState::Empty => "Empty",
            GroupState::PreparingRebalance => "PreparingRebalance",
            GroupState::CompletingRebalance => "CompletingRebalance",
            GroupState::Stable => "Stable",
            GroupState::Dead => "Dead",
        }
    }
}

/// One committed (or pending transactional) offset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct CommittedOffset {
    pub(super) offset: i64,
    pub(super) leader_epoch: i32,
    pub(super) metadata: String,
    /// Wall-clock milliseconds.
    pub(super) commit_timestamp: i64,
    /// Wall-clock milliseconds, from OffsetCommitValue v1 only.
    pub(super) expire_timestamp: Option<i64>,
    /// Order of the commit in the log, so a transactional commit that completes late does not
    /// overwrite a newer plain commit (Kafka compares log offsets).
    pub(super) seq: u64,
}

/// A producer's pending transactional offsets: its epoch and the offsets.
pub(super) type PendingTxn = (i16, HashMap<TopicPartition, CommittedOffset>);

/// A group member.
#[derive(Debug)]
pub(super) struct Member {
    pub(super) id: String,
    pub(super) instance_id: Option<String>,
    pub(super) client_id: String,
    pub(super) client_host: String,
    pub(super) rebalance_timeout: Duration,
    pub(super) session_timeout: Duration,
    pub(super) protocol_type: String,
    /// (name, metadata), in order of preference.
    pub(super) protocols: Vec<(String, Vec<u8>)>,
    pub(super) assignment: Vec<u8>,
    /// Set while the member waits in a JoinGroup.
    pub(super) join_tx: Option<oneshot::Sender<JoinGroupResult>>,
    /// Set while the member waits in a SyncGroup.
    pub(super) sync_tx: Option<oneshot::Sender<SyncGroupResult>>,
    /// Joined but never got a JoinGroup answer.
    pub(super) is_new: bool,
    /// When the member expires unless it heartbeats (ignored while it waits in a join or sync,
    /// unless it is new).
    pub(super) heartbeat_deadline: Instant,
}

impl Member {
    pub(super) fn awaiting_join(&self) -> bool {
        self.join_tx.is_some()
    }

    pub(super) fn metadata(&self, protocol: &str) -> Vec<u8> {
        self.protocols
            .iter()
            .find(|(n, _)| n == protocol)
            .map(|(_, m)| m.clone())
            .unwrap_or_default()
    }

    /// Same protocols with the same metadata, in the same order (Kafka's `MemberMetadata.matches`).
    pub(super) fn matches(&self, protocols: &[(String, Vec<u8>)]) -> bool {
        self.protocols == protocols
    }

    /// Whether `now` is past the member's heartbeat deadline and nothing excuses it.
    pub(super) fn expired(&self, now: Instant) -> bool {
        if now < self.heartbeat_deadline {
            return false;
        }
        if self.is_new {
            return true;
        }
        !(self.awaiting_join() || self.sync_tx.is_some())
    }
}

/// The initial rebalance delay of a new (empty) group: `InitialDelayedJoin`.
#[derive(Debug, Clone, Copy)]
pub(super) struct InitialDelay {
    pub(super) delay: Duration,
    pub(super) remaining: Duration,
}

/// One group.
#[derive(Debug)]
pub(super) struct Group {
    pub(super) id: String,
    pub(super) state: GroupState,
    pub(super) protocol_type: Option<String>,
    pub(super) protocol_name: Option<String>,
    pub(super) generation: i32,
    pub(super) leader: Option<String>,
    pub(super) members: BTreeMap<String, Member>,
    /// Member ids handed out with `MemberIdRequired`, with their expiry.
    pub(super) pending_members: HashMap<String, Instant>,
    /// group.instance.id -> member id.
    pub(super) static_members: HashMap<String, String>,
    /// Members that have not sent their SyncGroup for the current generation.
    pub(super) pending_sync: HashSet<String>,
    /// When the current PreparingRebalance phase ends.
    pub(super) join_deadline: Option<Instant>,
    pub(super) initial_delay: Option<InitialDelay>,
    pub(super) new_member_added: bool,
    /// When members still in `pending_sync` are removed.
    pub(super) sync_deadline: Option<Instant>,
    /// Wall-clock ms of the last state change (`currentStateTimestamp`), for offsets retention.
    pub(super) state_timestamp: Option<i64>,
    pub(super) offsets: HashMap<TopicPartition, CommittedOffset>,
    /// producer id -> its pending transactional offsets.
    pub(super) pending_txn: HashMap<i64, PendingTxn>,
}

impl Group {
    pub(super) fn new(id: &str) -> Group {
        Group {
            id: id.to_owned(),
            state: GroupState::Empty,
            protocol_type: None,
            protocol_name: None,
            generation: 0,
            leader: None,
            members: BTreeMap::new(),
            pending_members: HashMap::new(),
            static_members: HashMap::new(),
            pending_sync: HashSet::new(),
            join_deadline: None,
            initial_delay: None,
            new_member_added: false,
            sync_deadline: None,
            state_timestamp: None,
            offsets: HashMap::new(),
            pending_txn: HashMap::new(),
        }
    }

    pub(super) fn is(&self, s: GroupState) -> bool {
        self.state == s
    }

    pub(super) fn transition(&mut self, s: GroupState, wall_ms: i64) {
        self.state = s;
        self.state_timestamp = Some(wall_ms);
    }

    pub(super) fn is_leader(&self, member_id: &str) -> bool {
        self.leader.as_deref() == Some(member_id)
    }

    /// The rebalance timeout of the group: the largest of its members'.
    pub(super) fn rebalance_timeout(&self) -> Duration {
        self.members
            .values()
            .map(|m| m.rebalance_timeout)
            .max()
            .unwrap_or_default()
    }

    /// Kafka's `supportsProtocols`.
    pub(super) fn supports_protocols(
        &self,
        protocol_type: &str,
        protocols: &[(String, Vec<u8>)],
    ) -> bool {
        if self.members.is_empty() {
            return !protocol_type.is_empty() && !protocols.is_empty();
        }
        self.protocol_type.as_deref() == Some(protocol_type)
            && protocols.iter().any(|(name, _)| {
                self.members
                    .values()
                    .all(|m| m.protocols.iter().any(|(n, _)| n == name))
            })
    }

    /// The protocol every member supports that gets the most first-choice votes; ties go to the
    /// name that sorts first.
    pub(super) fn select_protocol(&self) -> Option<String> {
        let candidates: Vec<&String> = match self.members.values().next() {
            None => return None,
            Some(first) => first
                .protocols
                .iter()
                .map(|(n, _)| n)
                .filter(|n| {
                    self.members
                        .values()
                        .all(|m| m.protocols.iter().any(|(p, _)| p == *n))
                })
                .collect(),
        };
        let mut votes: BTreeMap<&String, usize> = BTreeMap::new();
        for m in self.members.values() {
            if let Some((vote, _)) = m.protocols.iter().find(|(n, _)| candidates.contains(&n)) {
                *votes.entry(vote).or_default() += 1;
            }
        }
        let best = votes.values().copied().max()?;
        votes
            .into_iter()
            .find(|(_, v)| *v == best)
            .map(|(n, _)| n.clone())
    }

    /// Kafka's `hasAllMembersJoined`: every member waits in a JoinGroup and no member id handed
    /// out with `MemberIdRequired` is still unused.
    pub(super) fn all_members_joined(&self) -> bool {
        self.pending_members.is_empty() && self.members.values().all(Member::awaiting_join)
    }

    /// All members' metadata for the chosen protocol, as the leader receives it.
    pub(super) fn member_metadata(&self) -> Vec<JoinGroupMember> {
        let protocol = self.protocol_name.clone().unwrap_or_default();
        self.members
            .values()
            .map(|m| JoinGroupMember {
                member_id: m.id.clone(),
                group_instance_id: m.instance_id.clone(),
                metadata: m.metadata(&protocol),
            })
            .collect()
    }

    /// Adds a member; the first member fixes the protocol type and becomes leader.
    pub(super) fn add(&mut self, member: Member) {
        if self.members.is_empty() {
            self.protocol_type = Some(member.protocol_type.clone());
        }
        if self.leader.is_none() {
            self.leader = Some(member.id.clone());
        }
        if let Some(instance) = &member.instance_id {
            self.static_members
                .insert(instance.clone(), member.id.clone());
        }
        self.members.insert(member.id.clone(), member);
    }

    /// Removes a member (answering a waiting JoinGroup with `UnknownMemberId`) and elects a new
    /// leader if it led.
    pub(super) fn remove(&mut self, member_id: &str) -> Option<Member> {
        let mut m = self.members.remove(member_id)?;
        if let Some(tx) = m.join_tx.take() {
            let _ = tx.send(JoinGroupResult::error(
                "",
                crate::ErrorCode::UnknownMemberId,
            ));
        }
        if let Some(instance) = &m.instance_id {
            if self.static_members.get(instance).map(String::as_str) == Some(member_id) {
                self.static_members.remove(instance);
            }
        }
        self.pending_sync.remove(member_id);
        if self.is_leader(member_id) {
            self.leader = self.members.keys().next().cloned();
        }
        Some(m)
    }

    /// Kafka's `isStaticMemberFenced`: the instance id is known but mapped to another member id.
    pub(super) fn is_static_member_fenced(
        &self,
        instance_id: Option<&str>,
        member_id: &str,
    ) -> bool {
        match instance_id.and_then(|i| self.static_members.get(i)) {
            Some(current) => current != member_id,
            None => false,
        }
    }

    /// Kafka's `validateCurrentMember` without the generation check.
    pub(super) fn validate_member(
        &self,
        member_id: &str,
        instance_id: Option<&str>,
    ) -> Option<crate::ErrorCode> {
        if self.is_static_member_fenced(instance_id, member_id) {
            return Some(crate::ErrorCode::FencedInstanceId);
        }
        if !self.members.contains_key(member_id) {
            return Some(crate::ErrorCode::UnknownMemberId);
        }
        if let Some(i) = instance_id {
            if !self.static_members.contains_key(i) {
                return Some(crate::ErrorCode::UnknownMemberId);
            }
        }
        None
    }

    /// The topics the members subscribe to (from every protocol's subscription; they are the
    /// same for all consumer assignors), when the group uses the consumer protocol.
    pub(super) fn subscribed_topics(&self) -> Option<HashSet<String>> {
        if self.protocol_type.as_deref() != Some("consumer") {
            return None;
        }
        let mut topics = HashSet::new();
        for m in self.members.values() {
            for (_, metadata) in &m.protocols {
                topics.extend(subscription_topics(metadata).unwrap_or_default());
            }
        }
        Some(topics)
    }

    /// Whether any offset of `producer_id`, or of any producer for `tp`, is pending.
    pub(super) fn has_pending_txn_offset(&self, tp: &TopicPartition) -> bool {
        self.pending_txn.values().any(|(_, p)| p.contains_key(tp))
    }
}

/// The topic list of a ConsumerProtocol Subscription (any version): i16 version, then an array of
/// i16-length strings. `None` when the bytes do not decode.
pub(super) fn subscription_topics(bytes: &[u8]) -> Option<Vec<String>> {
    let version = i16::from_be_bytes(bytes.get(0..2)?.try_into().ok()?);
    if version < 0 {
        return None;
    }
    let n = i32::from_be_bytes(bytes.get(2..6)?.try_into().ok()?);
    let mut pos = 6;
    let mut topics = Vec::new();
    for _ in 0..n.max(0) {
        let len = i16::from_be_bytes(bytes.get(pos..pos + 2)?.try_into().ok()?);
        let len = usize::try_from(len).ok()?;
        pos += 2;
        topics.push(String::from_utf8(bytes.get(pos..pos + len)?.to_vec()).ok()?);
        pos += len;
    }
    Some(topics)
}
