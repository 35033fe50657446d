//! A worker's membership of its Connect group, over the Kafka wire protocol (the broker's
//! `wire_client`): FindCoordinator, then JoinGroup / SyncGroup with protocol type `connect`,
//! Heartbeat, LeaveGroup. Neither librdkafka nor the embedded consumer speak a group protocol
//! other than `consumer`, so the worker talks to the coordinator itself, as Kafka's
//! `WorkerGroupMember` does; the same code serves an external cluster and the in-process broker
//! (over its own listener).

use std::time::Duration;

use brook_broker::server::wire_client::Client;
use bytes::Bytes;
use kafka_protocol::messages::find_coordinator_request::FindCoordinatorRequest;
use kafka_protocol::messages::join_group_request::{JoinGroupRequest, JoinGroupRequestProtocol};
use kafka_protocol::messages::leave_group_request::{LeaveGroupRequest, MemberIdentity};
use kafka_protocol::messages::sync_group_request::{SyncGroupRequest, SyncGroupRequestAssignment};
use kafka_protocol::messages::{GroupId, HeartbeatRequest};
use kafka_protocol::protocol::StrBytes;

use super::protocol::{PROTOCOL_NAME, PROTOCOL_TYPE};

/// Kafka's error codes the membership acts on.
const REBALANCE_IN_PROGRESS: i16 = 27;
const UNKNOWN_MEMBER_ID: i16 = 25;
const ILLEGAL_GENERATION: i16 = 22;
const MEMBER_ID_REQUIRED: i16 = 79;
const NOT_COORDINATOR: i16 = 16;
const COORDINATOR_NOT_AVAILABLE: i16 = 15;

/// Why a group call did not complete.
#[derive(Debug)]
pub(crate) enum GroupError {
    /// The group moved on (rebalance, generation, member id): join again.
    Rejoin(i16),
    /// The coordinator could not be reached or answered something else: retry later.
    Failed(String),
}

impl std::fmt::Display for GroupError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            GroupError::Rejoin(code) => write!(f, "the group needs a rejoin (error {code})"),
            GroupError::Failed(m) => f.write_str(m),
        }
    }
}

type Result<T> = std::result::Result<T, GroupError>;

fn failed(what: &str, e: impl std::fmt::Display) -> GroupError {
    GroupError::Failed(format!("{what}: {e}"))
}

pub(crate) fn sb(s: &str) -> StrBytes {
    StrBytes::from_string(s.to_owned())
}

/// A connection to the coordinator of `group`, found through FindCoordinator on the first
/// bootstrap broker that answers.
pub(crate) async fn find_coordinator(bootstrap: &[String], group: &str) -> std::result::Result<Client, String> {
    let mut last = String::from("no bootstrap.servers");
    for addr in bootstrap {
        let mut c = match Client::connect(addr).await {
            Ok(c) => c,
            Err(e) => {
                last = format!("{addr}: {e}");
                continue;
            }
        };
        let version = c.version_for::<FindCoordinatorRequest>().map_err(|e| format!("FindCoordinator: {e}"))?;
        let mut req = FindCoordinatorRequest::default();
        req.key_type = 0;
        if version >= 4 {
            req.coordinator_keys = vec![sb(group)];
        } else {
            req.key = sb(group);
        }
        let resp = c.send(req).await.map_err(|e| format!("FindCoordinator: {e}"))?;
        let (code, host, port) = match resp.coordinators.first() {
            Some(k) if version >= 4 => (k.error_code, k.host.to_string(), k.port),
            _ => (resp.error_code, resp.host.to_string(), resp.port),
        };
        if code != 0 {
            last = format!("FindCoordinator for group {group}: error {code}");
            continue;
        }
        let target = format!("{host}:{port}");
        return if target == *addr { Ok(c) } else { Client::connect(&target).await.map_err(|e| format!("{target}: {e}")) };
    }
    Err(last)
}

/// The `bootstrap.servers` list.
pub(crate) fn bootstrap_list(bootstrap: &str) -> Vec<String> {
    bootstrap.split(',').map(|s| s.trim().to_owned()).filter(|s| !s.is_empty()).collect()
}

/// What a JoinGroup told this member.
#[derive(Debug)]
pub(crate) struct Joined {
    pub(crate) generation: i32,
    pub(crate) member_id: String,
    pub(crate) leader: String,
    /// Every member's id and metadata (the leader's answer only).
    pub(crate) members: Vec<(String, Bytes)>,
}

/// One worker's membership.
#[derive(Debug)]
pub(crate) struct Member {
    bootstrap: Vec<String>,
    group: String,
    session_timeout: Duration,
    rebalance_timeout: Duration,
    coordinator: Option<Client>,
    pub(crate) member_id: String,
    pub(crate) generation: i32,
}

impl Member {
    pub(crate) fn new(bootstrap: &str, group: &str, session_timeout: Duration, rebalance_timeout: Duration) -> Member {
        Member {
            bootstrap: bootstrap_list(bootstrap),
            group: group.to_owned(),
            session_timeout,
            rebalance_timeout,
            coordinator: None,
            member_id: String::new(),
            generation: -1,
        }
    }

    /// The coordinator's connection, found through FindCoordinator on a bootstrap broker.
    async fn coordinator(&mut self) -> Result<&mut Client> {
        if self.coordinator.is_none() {
            let mut c = find_coordinator(&self.bootstrap, &self.group).await.map_err(GroupError::Failed)?;
            // A JoinGroup waits for the whole group, up to the rebalance timeout.
            c.set_timeout(self.rebalance_timeout + Duration::from_secs(10));
            self.coordinator = Some(c);
        }
        self.coordinator.as_mut().ok_or_else(|| GroupError::Failed("no coordinator".into()))
    }

    fn check(&mut self, what: &str, code: i16) -> Result<()> {
        match code {
            0 => Ok(()),
            UNKNOWN_MEMBER_ID => {
                self.member_id.clear();
                self.generation = -1;
                Err(GroupError::Rejoin(code))
            }
            REBALANCE_IN_PROGRESS | ILLEGAL_GENERATION => Err(GroupError::Rejoin(code)),
            NOT_COORDINATOR | COORDINATOR_NOT_AVAILABLE => {
                self.coordinator = None;
                Err(GroupError::Failed(format!("{what}: coordinator moved (error {code})")))
            }
            c => Err(GroupError::Failed(format!("{what} for group {}: error {c}", self.group))),
        }
    }

    /// Drops the connection after an I/O error, so the next call finds the coordinator again.
    fn io<T>(&mut self, what: &str, r: std::result::Result<T, brook_broker::server::wire_client::ClientError>) -> Result<T> {
        r.map_err(|e| {
            self.coordinator = None;
            failed(what, e)
        })
    }

    /// Joins (or rejoins) with `metadata`; retries once with the member id the coordinator
    /// hands a new member.
    pub(crate) async fn join(&mut self, metadata: Bytes) -> Result<Joined> {
        for _ in 0..3 {
            let mut req = JoinGroupRequest::default();
            req.group_id = GroupId(sb(&self.group));
            req.session_timeout_ms = self.session_timeout.as_millis() as i32;
            req.rebalance_timeout_ms = self.rebalance_timeout.as_millis() as i32;
            req.member_id = sb(&self.member_id);
            req.protocol_type = sb(PROTOCOL_TYPE);
            let mut p = JoinGroupRequestProtocol::default();
            p.name = sb(PROTOCOL_NAME);
            p.metadata = metadata.clone();
            req.protocols = vec![p];
            let c = self.coordinator().await?;
            let r = c.send(req).await;
            let resp = self.io("JoinGroup", r)?;
            if resp.error_code == MEMBER_ID_REQUIRED {
                self.member_id = resp.member_id.to_string();
                continue;
            }
            self.check("JoinGroup", resp.error_code)?;
            self.member_id = resp.member_id.to_string();
            self.generation = resp.generation_id;
            return Ok(Joined {
                generation: resp.generation_id,
                member_id: resp.member_id.to_string(),
                leader: resp.leader.to_string(),
                members: resp.members.into_iter().map(|m| (m.member_id.to_string(), m.metadata)).collect(),
            });
        }
        Err(GroupError::Failed("JoinGroup: the coordinator kept asking for a member id".into()))
    }

    /// SyncGroup: the leader passes every member's assignment; everyone gets their own.
    pub(crate) async fn sync(&mut self, assignments: Vec<(String, Bytes)>) -> Result<Bytes> {
        let mut req = SyncGroupRequest::default();
        req.group_id = GroupId(sb(&self.group));
        req.generation_id = self.generation;
        req.member_id = sb(&self.member_id);
        req.protocol_type = Some(sb(PROTOCOL_TYPE));
        req.protocol_name = Some(sb(PROTOCOL_NAME));
        req.assignments = assignments
            .into_iter()
            .map(|(m, a)| {
                let mut x = SyncGroupRequestAssignment::default();
                x.member_id = sb(&m);
                x.assignment = a;
                x
            })
            .collect();
        let c = self.coordinator().await?;
        let version = c.version_for::<SyncGroupRequest>().unwrap_or(0);
        if version < 5 {
            req.protocol_type = None;
            req.protocol_name = None;
        }
        let r = c.send(req).await;
        let resp = self.io("SyncGroup", r)?;
        self.check("SyncGroup", resp.error_code)?;
        Ok(resp.assignment)
    }

    pub(crate) async fn heartbeat(&mut self) -> Result<()> {
        let mut req = HeartbeatRequest::default();
        req.group_id = GroupId(sb(&self.group));
        req.generation_id = self.generation;
        req.member_id = sb(&self.member_id);
        let c = self.coordinator().await?;
        let r = c.send(req).await;
        let resp = self.io("Heartbeat", r)?;
        self.check("Heartbeat", resp.error_code)
    }

    /// Leaves the group (a clean stop), so the others rebalance at once.
    pub(crate) async fn leave(&mut self) {
        if self.member_id.is_empty() {
            return;
        }
        let (group, member_id) = (self.group.clone(), self.member_id.clone());
        let Ok(c) = self.coordinator().await else { return };
        let version = c.version_for::<LeaveGroupRequest>().unwrap_or(0);
        let mut req = LeaveGroupRequest::default();
        req.group_id = GroupId(sb(&group));
        if version >= 3 {
            let mut m = MemberIdentity::default();
            m.member_id = sb(&member_id);
            req.members = vec![m];
        } else {
            req.member_id = sb(&member_id);
        }
        if let Err(e) = c.send(req).await {
            tracing::warn!(%group, error = %e, "LeaveGroup failed");
        }
        self.member_id.clear();
        self.generation = -1;
    }
}
