//! The consumer's group membership: JoinGroup and SyncGroup until it has an assignment (the
//! leader computing everyone's with the chosen assignor), the heartbeat task, leaving.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use tokio::sync::Notify;

use super::config::ConsumerConfig;
use crate::broker::Broker;
use crate::client::consumer_protocol::{self, Assignment, Subscription, PROTOCOL_TYPE, SUBSCRIPTION_VERSION};
use crate::client::TopicPartition;
use crate::error::{Error, ErrorCode, Result};
use crate::group::{GroupCoordinator, JoinGroup, JoinGroupResult, SyncGroup};

/// A consumer's group membership, shared with its heartbeat task and commit handles.
#[derive(Debug, Default)]
pub(crate) struct Membership {
    pub(super) member_id: String,
    pub(super) generation: i32,
    pub(super) needs_rejoin: bool,
    /// Subscribed (group member) rather than manually assigned.
    pub(super) subscribed: bool,
}

/// JoinGroup and SyncGroup until the member has an assignment; returns it. Updates the
/// membership (member id, generation) as it goes. Owns what it uses, so it can run as a task.
pub(super) async fn join_and_sync(
    broker: Broker,
    config: ConsumerConfig,
    member: Arc<Mutex<Membership>>,
    group: String,
    topics: Vec<String>,
) -> Result<Vec<TopicPartition>> {
    let groups = broker.groups().clone();
    loop {
        let member_id = member.lock().member_id.clone();
        let owned = Vec::new();
        let protocols = config
            .assignors
            .iter()
            .map(|a| {
                let mut s = Subscription::new(topics.iter().cloned());
                s.owned_partitions = owned.clone();
                (a.name().to_owned(), s.encode(SUBSCRIPTION_VERSION))
            })
            .collect();
        let join = groups
            .join_group(JoinGroup {
                group_id: group.clone(),
                session_timeout_ms: config.session_timeout.as_millis() as i32,
                rebalance_timeout_ms: config.max_poll_interval.as_millis() as i32,
                member_id,
                group_instance_id: config.group_instance_id.clone(),
                protocol_type: PROTOCOL_TYPE.to_owned(),
                protocols,
                client_id: config.client_id.clone(),
                client_host: "/127.0.0.1".to_owned(),
                require_known_member_id: true,
            })
            .await;
        match join.error {
            ErrorCode::None => {}
            ErrorCode::MemberIdRequired => {
                member.lock().member_id = join.member_id;
                continue;
            }
            ErrorCode::UnknownMemberId => {
                member.lock().member_id.clear();
                continue;
            }
            ErrorCode::RebalanceInProgress => continue,
            code => return Err(Error::kafka(code, format!("JoinGroup for {group} failed"))),
        }
        {
            let mut m = member.lock();
            m.member_id = join.member_id.clone();
            m.generation = join.generation_id;
        }
        let assignments = if join.leader == join.member_id {
            assign_as_leader(&broker, &config, &join)?
        } else {
            Vec::new()
        };
        let sync = groups
            .sync_group(SyncGroup {
                group_id: group.clone(),
                generation: join.generation_id,
                member_id: join.member_id.clone(),
                instance_id: config.group_instance_id.clone(),
                protocol_type: join.protocol_type.clone(),
                protocol_name: join.protocol_name.clone(),
                assignments,
            })
            .await;
        match sync.error {
            ErrorCode::None => {}
            ErrorCode::RebalanceInProgress | ErrorCode::IllegalGeneration => continue,
            ErrorCode::UnknownMemberId => {
                member.lock().member_id.clear();
                continue;
            }
            code => return Err(Error::kafka(code, format!("SyncGroup for {group} failed"))),
        }
        let assignment = Assignment::decode(&sync.assignment)?;
        return Ok(assignment.topic_partitions());
    }
}

fn assign_as_leader(broker: &Broker, config: &ConsumerConfig, join: &JoinGroupResult) -> Result<Vec<(String, Vec<u8>)>> {
    let name = join.protocol_name.clone().unwrap_or_default();
    let assignor = config
        .assignors
        .iter()
        .find(|a| a.name() == name)
        .ok_or_else(|| Error::kafka(ErrorCode::InconsistentGroupProtocol, format!("no assignor {name}")))?;
    let mut subs = BTreeMap::new();
    let mut topics = BTreeSet::new();
    for m in &join.members {
        let s = Subscription::decode(&m.metadata)?;
        topics.extend(s.topics.iter().cloned());
        subs.insert(m.member_id.clone(), s);
    }
    let mut counts = BTreeMap::new();
    for t in topics {
        if let Ok(n) = broker.partition_count(&t, true) {
            counts.insert(t, n);
        }
    }
    let plan = assignor.assign(&counts, &subs);
    Ok(join
        .members
        .iter()
        .map(|m| {
            let tps = plan.get(&m.member_id).cloned().unwrap_or_default();
            (m.member_id.clone(), Assignment::from_partitions(&tps).encode(consumer_protocol::ASSIGNMENT_VERSION))
        })
        .collect())
}

/// Heartbeats every `every` as the member until the group answers with an error (a rebalance,
/// an expelled member): then marks the member for a rejoin, wakes a waiting poll and stops.
/// Stops too when the consumer (the last owner of `member`) is gone.
pub(super) fn spawn_heartbeat(
    member: &Arc<Mutex<Membership>>,
    groups: Arc<GroupCoordinator>,
    group: String,
    every: Duration,
    instance: Option<String>,
    notify: Arc<Notify>,
) -> tokio::task::JoinHandle<()> {
    let member = Arc::downgrade(member);
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(every).await;
            let Some(member) = member.upgrade() else { return };
            let (generation, member_id) = {
                let m = member.lock();
                (m.generation, m.member_id.clone())
            };
            let code = groups.heartbeat(&group, generation, &member_id, instance.as_deref());
            if code != ErrorCode::None {
                member.lock().needs_rejoin = true;
                // Wake a waiting poll so it rejoins promptly.
                notify.notify_waiters();
                return;
            }
        }
    })
}

/// Leaves the group at once (LeaveGroup), if the member ever joined.
pub(super) fn leave(broker: &Broker, group: &str, member: &Mutex<Membership>, instance: Option<String>) {
    let member_id = member.lock().member_id.clone();
    if !member_id.is_empty() {
        broker.groups().leave_group(group, &[(member_id, instance)]);
    }
}
