//! The group identity of a consumer ([`ConsumerGroupMetadata`]) and [`CommitHandle`], which
//! commits offsets as the consumer's group member from inside a rebalance listener.

use std::collections::BTreeMap;
use std::sync::Arc;

use parking_lot::Mutex;

use super::membership::Membership;
use crate::client::TopicPartition;
use crate::broker::Broker;
use crate::error::{Error, ErrorCode, Result};

/// The group identity of a consumer, as Kafka's `ConsumerGroupMetadata`: what
/// [`Producer::send_offsets_to_transaction`](crate::client::Producer::send_offsets_to_transaction) needs
/// so that the group coordinator fences the producer of a member that was expelled from the
/// group (a zombie).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsumerGroupMetadata {
    /// `group.id`.
    pub group_id: String,
    /// The generation of the member's last join; -1 when not a member (no fencing).
    pub generation_id: i32,
    /// The member id; empty when not a member (no fencing).
    pub member_id: String,
    /// `group.instance.id` of a static member.
    pub group_instance_id: Option<String>,
}

impl ConsumerGroupMetadata {
    /// Metadata naming only the group, as Java's `new ConsumerGroupMetadata(groupId)`: the
    /// transactional offset commit is then not fenced by the group generation.
    pub fn new(group_id: impl Into<String>) -> ConsumerGroupMetadata {
        ConsumerGroupMetadata {
            group_id: group_id.into(),
            generation_id: -1,
            member_id: String::new(),
            group_instance_id: None,
        }
    }
}

/// Commits offsets as the group member of a [`Consumer`](super::Consumer), synchronously, from
/// anywhere; notably from inside
/// [`RebalanceListener::on_partitions_revoked`](super::RebalanceListener::on_partitions_revoked),
/// where the consumer itself is busy (mid-poll) but the member still belongs to the group with
/// its current generation, as in the Java client, whose listener commits through the consumer
/// it captured.
#[derive(Clone)]
pub struct CommitHandle {
    broker: Broker,
    group_id: Option<String>,
    group_instance_id: Option<String>,
    member: Arc<Mutex<Membership>>,
}

impl std::fmt::Debug for CommitHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CommitHandle").field("group_id", &self.group_id).finish_non_exhaustive()
    }
}

impl CommitHandle {
    pub(super) fn new(
        broker: Broker,
        group_id: Option<String>,
        group_instance_id: Option<String>,
        member: Arc<Mutex<Membership>>,
    ) -> CommitHandle {
        CommitHandle { broker, group_id, group_instance_id, member }
    }

    /// Commits explicit offsets (the offset of the next record to read) with the member's
    /// current generation.
    ///
    /// # Errors
    /// As [`Consumer::commit_offsets`](super::Consumer::commit_offsets).
    pub fn commit_offsets(&self, offsets: &BTreeMap<TopicPartition, i64>) -> Result<()> {
        let group = self
            .group_id
            .clone()
            .ok_or_else(|| Error::InvalidConfig("this operation needs group.id".into()))?;
        if offsets.is_empty() {
            return Ok(());
        }
        let (generation, member_id) = {
            let m = self.member.lock();
            if m.subscribed {
                (m.generation, m.member_id.clone())
            } else {
                (-1, String::new())
            }
        };
        let commits = crate::client::offset_commits(offsets);
        let res = self.broker.groups().commit_offsets(
            &group,
            generation,
            &member_id,
            self.group_instance_id.as_deref(),
            &commits,
        );
        let code = match res {
            Ok(codes) => codes.into_iter().find(|c| *c != ErrorCode::None),
            Err(c) => Some(c),
        };
        match code {
            None => Ok(()),
            Some(c) => {
                let moved_on =
                    matches!(c, ErrorCode::RebalanceInProgress | ErrorCode::IllegalGeneration | ErrorCode::UnknownMemberId);
                if moved_on {
                    self.member.lock().needs_rejoin = true;
                }
                Err(Error::kafka(c, format!("commit failed for group {group}")))
            }
        }
    }

    /// The member's group identity now (see
    /// [`Consumer::group_metadata`](super::Consumer::group_metadata)).
    pub fn group_metadata(&self) -> ConsumerGroupMetadata {
        let m = self.member.lock();
        ConsumerGroupMetadata {
            group_id: self.group_id.clone().unwrap_or_default(),
            generation_id: m.generation,
            member_id: m.member_id.clone(),
            group_instance_id: self.group_instance_id.clone(),
        }
    }
}

