//! The [`GroupCoordinator`]: the classic group membership protocol (JoinGroup, SyncGroup,
//! Heartbeat, LeaveGroup), following Kafka's `GroupCoordinator.scala`.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use parking_lot::Mutex;
use tokio::sync::oneshot;

use super::state::{Group, GroupState, Member};
use super::{GroupConfig, JoinGroup, JoinGroupResult, OffsetsLog, SyncGroup, SyncGroupResult};
use crate::ErrorCode;

/// Everything behind the coordinator's lock.
#[derive(Debug, Default)]
pub(super) struct GroupsState {
    pub(super) groups: HashMap<String, Group>,
    /// producer id -> groups holding its pending transactional offsets.
    pub(super) txn_groups: HashMap<i64, HashSet<String>>,
    /// Order of offset commits (stands in for the log offset Kafka compares).
    pub(super) seq: u64,
    /// When [`GroupCoordinator::tick`] last looked for expired offsets.
    pub(super) last_retention_check: Option<Instant>,
}

impl GroupsState {
    /// The group named `group`, created empty when missing (an offset commit or a replayed
    /// record of a group the coordinator does not know yet).
    pub(super) fn group_mut(&mut self, group: &str) -> &mut Group {
        self.groups.entry(group.to_owned()).or_insert_with(|| Group::new(group))
    }
}

/// The group coordinator of the single Brook node: every group's membership and committed
/// offsets, persisted through an [`OffsetsLog`].
///
/// Shared as `Arc<GroupCoordinator>` by the wire-protocol server and the embedded client; all
/// methods take `&self`. Time-driven work (session expiry, rebalance and sync timeouts, offsets
/// retention) happens in [`GroupCoordinator::tick`], which the broker calls periodically (see
/// [`GroupCoordinator::spawn_ticker`]); a waiting JoinGroup or SyncGroup also wakes itself at its
/// group's deadline.
pub(crate) struct GroupCoordinator {
    pub(super) config: GroupConfig,
    pub(super) log: Arc<dyn OffsetsLog>,
    pub(super) inner: Mutex<GroupsState>,
    /// Per `__consumer_offsets` partition, the log end offset after the last group metadata
    /// append: what a SyncGroup answer waits to be durable. Taken after `inner`, never before.
    pub(super) appended: Mutex<HashMap<i32, i64>>,
    /// A monotonic instant and the wall-clock milliseconds it corresponds to.
    anchor: (Instant, i64),
}

impl fmt::Debug for GroupCoordinator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GroupCoordinator")
            .field("config", &self.config)
            .field("groups", &self.inner.try_lock().map(|i| i.groups.len()))
            .finish_non_exhaustive()
    }
}

/// What a JoinGroup turned into under the lock.
enum Join {
    Done(JoinGroupResult),
    Wait(oneshot::Receiver<JoinGroupResult>),
}

pub(super) fn ms(d: Duration) -> i32 {
    i32::try_from(d.as_millis()).unwrap_or(i32::MAX)
}

fn duration_ms(v: i32) -> Duration {
    Duration::from_millis(v.max(0) as u64)
}

/// A random (v4) UUID in Java's `UUID.toString()` form.
fn uuid() -> String {
    let mut v: u128 = rand::random();
    v = (v & !(0xf << 76)) | (0x4 << 76);
    v = (v & !(0x3 << 62)) | (0x2 << 62);
    let h = format!("{v:032x}");
    format!(
        "{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..]
    )
}

/// Java's `String.hashCode` (over UTF-16 code units).
pub(crate) fn java_hash(s: &str) -> i32 {
    s.encode_utf16()
        .fold(0i32, |h, c| h.wrapping_mul(31).wrapping_add(i32::from(c)))
}

impl GroupCoordinator {
    /// A coordinator with no groups; call [`GroupCoordinator::replay`] with the records of
    /// `__consumer_offsets` before serving requests.
    pub(crate) fn new(config: GroupConfig, log: Arc<dyn OffsetsLog>) -> Arc<Self> {
        let wall = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or(0);
        let now = Self::now();
        Arc::new(GroupCoordinator {
            config,
            log,
            inner: Mutex::new(GroupsState {
                last_retention_check: Some(now),
                ..GroupsState::default()
            }),
            appended: Mutex::new(HashMap::new()),
            anchor: (now, wall),
        })
    }

    /// The coordinator's clock (tokio's, so tests may pause it).
    pub(super) fn now() -> Instant {
        tokio::time::Instant::now().into_std()
    }

    /// Wall-clock milliseconds at `at`.
    pub(super) fn wall_ms(&self, at: Instant) -> i64 {
        let (base, wall) = self.anchor;
        if at >= base {
            wall + at.duration_since(base).as_millis() as i64
        } else {
            wall - base.duration_since(at).as_millis() as i64
        }
    }

    /// The `__consumer_offsets` partition that holds `group_id`:
    /// `Utils.abs(groupId.hashCode()) % offsets.topic.num.partitions`.
    pub(crate) fn partition_for(&self, group_id: &str) -> i32 {
        let h = java_hash(group_id);
        let abs = if h == i32::MIN { 0 } else { h.abs() };
        abs % self.config.offsets_topic_partitions
    }

    /// Spawns a task calling [`GroupCoordinator::tick`] every `interval` until the coordinator is
    /// dropped.
    pub(crate) fn spawn_ticker(
        self: &Arc<Self>,
        interval: Duration,
    ) -> tokio::task::JoinHandle<()> {
        let weak: Weak<Self> = Arc::downgrade(self);
        tokio::spawn(async move {
            let mut t = tokio::time::interval(interval);
            t.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                t.tick().await;
                match weak.upgrade() {
                    Some(c) => c.tick(Self::now()),
                    None => return,
                }
            }
        })
    }

    /// Handles a JoinGroup: waits until the rebalance completes (every known member rejoined, or
    /// the rebalance timeout passed; a new group first waits `group.initial.rebalance.delay.ms`,
    /// extended while members keep arriving, up to the rebalance timeout).
    ///
    /// # Cancel safety
    /// Dropping the future leaves the member in the group, as a dropped connection does in Kafka:
    /// it gets no answer and expires unless it rejoins or heartbeats.
    pub(crate) async fn join_group(&self, req: JoinGroup) -> JoinGroupResult {
        let member_id = req.member_id.clone();
        let group_id = req.group_id.clone();
        let rx = match self.join_locked(req, Self::now()) {
            Join::Done(r) => return r,
            Join::Wait(rx) => rx,
        };
        let r = self
            .wait(&group_id, rx, |g| {
                g.is(GroupState::PreparingRebalance)
                    .then_some(g.join_deadline)
                    .flatten()
            })
            .await;
        r.unwrap_or_else(|| JoinGroupResult::error(member_id, ErrorCode::UnknownMemberId))
    }

    /// Waits for `rx`, waking at the group's deadline (as `deadline` reads it) to run its timers.
    async fn wait<T>(
        &self,
        group_id: &str,
        mut rx: oneshot::Receiver<T>,
        deadline: impl Fn(&Group) -> Option<Instant>,
    ) -> Option<T> {
        loop {
            let d = self.inner.lock().groups.get(group_id).and_then(&deadline);
            match d {
                None => return rx.await.ok(),
                Some(d) => {
                    tokio::select! {
                        r = &mut rx => return r.ok(),
                        _ = tokio::time::sleep_until(tokio::time::Instant::from_std(d)) => {
                            let now = Self::now().max(d);
                            let mut inner = self.inner.lock();
                            if let Some(g) = inner.groups.get_mut(group_id) {
                                self.run_timers(g, now);
                            }
                        }
                    }
                }
            }
        }
    }

    fn join_locked(&self, req: JoinGroup, now: Instant) -> Join {
        if req.group_id.is_empty() {
            return Join::Done(JoinGroupResult::error(
                req.member_id,
                ErrorCode::InvalidGroupId,
            ));
        }
        let session = duration_ms(req.session_timeout_ms);
        if req.session_timeout_ms < 0
            || session < self.config.min_session_timeout
            || session > self.config.max_session_timeout
        {
            return Join::Done(JoinGroupResult::error(
                req.member_id,
                ErrorCode::InvalidSessionTimeout,
            ));
        }
        let mut inner = self.inner.lock();
        let unknown = req.member_id.is_empty();
        if !inner.groups.contains_key(&req.group_id) {
            if !unknown {
                return Join::Done(JoinGroupResult::error(
                    req.member_id,
                    ErrorCode::UnknownMemberId,
                ));
            }
            inner
                .groups
                .insert(req.group_id.clone(), Group::new(&req.group_id));
        }
        let Some(group) = inner.groups.get_mut(&req.group_id) else {
            return Join::Done(JoinGroupResult::error(
                req.member_id,
                ErrorCode::UnknownServerError,
            ));
        };
        let r = if unknown {
            self.new_member_join(group, req, now)
        } else {
            self.current_member_join(group, req, now)
        };
        if group.is(GroupState::PreparingRebalance) {
            self.try_complete_join(group, now);
        }
        r
    }

    fn new_member_join(&self, group: &mut Group, req: JoinGroup, now: Instant) -> Join {
        if group.is(GroupState::Dead) {
            return Join::Done(JoinGroupResult::error(
                "",
                ErrorCode::CoordinatorNotAvailable,
            ));
        }
        if !group.supports_protocols(&req.protocol_type, &req.protocols) {
            return Join::Done(JoinGroupResult::error(
                "",
                ErrorCode::InconsistentGroupProtocol,
            ));
        }
        let prefix = req.group_instance_id.as_deref().unwrap_or(&req.client_id);
        let new_id = format!("{prefix}-{}", uuid());
        if let Some(instance) = req.group_instance_id.clone() {
            match group.static_members.get(&instance).cloned() {
                Some(old) => self.replace_static_member(group, &old, new_id, req, now),
                None => self.add_member_and_rebalance(group, new_id, req, now),
            }
        } else if req.require_known_member_id {
            let expiry = now + duration_ms(req.session_timeout_ms);
            group.pending_members.insert(new_id.clone(), expiry);
            Join::Done(JoinGroupResult::error(new_id, ErrorCode::MemberIdRequired))
        } else {
            self.add_member_and_rebalance(group, new_id, req, now)
        }
    }

    fn current_member_join(&self, group: &mut Group, req: JoinGroup, now: Instant) -> Join {
        let id = req.member_id.clone();
        if group.is(GroupState::Dead) {
            return Join::Done(JoinGroupResult::error(
                id,
                ErrorCode::CoordinatorNotAvailable,
            ));
        }
        if !group.supports_protocols(&req.protocol_type, &req.protocols) {
            return Join::Done(JoinGroupResult::error(
                id,
                ErrorCode::InconsistentGroupProtocol,
            ));
        }
        if group.pending_members.contains_key(&id) {
            return self.add_member_and_rebalance(group, id, req, now);
        }
        if let Some(e) = group.validate_member(&id, req.group_instance_id.as_deref()) {
            return Join::Done(JoinGroupResult::error(id, e));
        }
        let matches = group
            .members
            .get(&id)
            .is_some_and(|m| m.matches(&req.protocols));
        match group.state {
            GroupState::PreparingRebalance => self.update_member_and_rebalance(group, req, now),
            GroupState::CompletingRebalance if matches => {
                // The member missed its JoinGroup answer: give it the current generation again.
                let members = if group.is_leader(&id) {
                    group.member_metadata()
                } else {
                    Vec::new()
                };
                Join::Done(self.join_result(group, id, members))
            }
            GroupState::CompletingRebalance => self.update_member_and_rebalance(group, req, now),
            GroupState::Stable if group.is_leader(&id) || !matches => {
                // The leader rejoins to force a rebalance (e.g. topic metadata changed); anyone
                // with new metadata does too.
                self.update_member_and_rebalance(group, req, now)
            }
            GroupState::Stable => Join::Done(self.join_result(group, id, Vec::new())),
            GroupState::Empty | GroupState::Dead => {
                Join::Done(JoinGroupResult::error(id, ErrorCode::UnknownMemberId))
            }
        }
    }

    /// A successful JoinGroup answer for the current generation.
    pub(super) fn join_result(
        &self,
        group: &Group,
        member_id: String,
        members: Vec<super::JoinGroupMember>,
    ) -> JoinGroupResult {
        JoinGroupResult {
            error: ErrorCode::None,
            generation_id: group.generation,
            protocol_type: group.protocol_type.clone(),
            protocol_name: group.protocol_name.clone(),
            leader: group.leader.clone().unwrap_or_default(),
            member_id,
            members,
        }
    }

    fn add_member_and_rebalance(
        &self,
        group: &mut Group,
        member_id: String,
        req: JoinGroup,
        now: Instant,
    ) -> Join {
        let (tx, rx) = oneshot::channel();
        let member = Member {
            id: member_id.clone(),
            instance_id: req.group_instance_id,
            client_id: req.client_id,
            client_host: req.client_host,
            rebalance_timeout: duration_ms(req.rebalance_timeout_ms),
            session_timeout: duration_ms(req.session_timeout_ms),
            protocol_type: req.protocol_type,
            protocols: req.protocols,
            assignment: Vec::new(),
            join_tx: Some(tx),
            sync_tx: None,
            is_new: true,
            heartbeat_deadline: now + self.config.new_member_join_timeout,
        };
        if group.is(GroupState::PreparingRebalance) && group.generation == 0 {
            group.new_member_added = true;
        }
        group.pending_members.remove(&member_id);
        group.add(member);
        self.maybe_prepare_rebalance(group, now);
        Join::Wait(rx)
    }

    fn update_member_and_rebalance(&self, group: &mut Group, req: JoinGroup, now: Instant) -> Join {
        let (tx, rx) = oneshot::channel();
        if let Some(m) = group.members.get_mut(&req.member_id) {
            m.protocols = req.protocols;
            m.rebalance_timeout = duration_ms(req.rebalance_timeout_ms);
            m.session_timeout = duration_ms(req.session_timeout_ms);
            m.join_tx = Some(tx);
        }
        self.maybe_prepare_rebalance(group, now);
        Join::Wait(rx)
    }

    /// A static member rejoined with an unknown member id: it takes over the old member's seat
    /// under a new member id; the old id is fenced.
    fn replace_static_member(
        &self,
        group: &mut Group,
        old_id: &str,
        new_id: String,
        req: JoinGroup,
        now: Instant,
    ) -> Join {
        let current_leader = group.leader.clone().unwrap_or_default();
        let Some(mut m) = group.members.remove(old_id) else {
            return Join::Done(JoinGroupResult::error("", ErrorCode::UnknownServerError));
        };
        if let Some(tx) = m.join_tx.take() {
            let _ = tx.send(JoinGroupResult::error(old_id, ErrorCode::FencedInstanceId));
        }
        if let Some(tx) = m.sync_tx.take() {
            let _ = tx.send(SyncGroupResult::error(ErrorCode::FencedInstanceId));
        }
        let (tx, rx) = oneshot::channel();
        m.id = new_id.clone();
        m.protocols = req.protocols;
        m.rebalance_timeout = duration_ms(req.rebalance_timeout_ms);
        m.session_timeout = duration_ms(req.session_timeout_ms);
        m.client_id = req.client_id;
        m.client_host = req.client_host;
        m.heartbeat_deadline = now + m.session_timeout;
        m.join_tx = Some(tx);
        if let Some(instance) = &m.instance_id {
            group
                .static_members
                .insert(instance.clone(), new_id.clone());
        }
        group.members.insert(new_id.clone(), m);
        if group.is_leader(old_id) {
            group.leader = Some(new_id.clone());
        }
        if group.pending_sync.remove(old_id) {
            group.pending_sync.insert(new_id.clone());
        }
        match group.state {
            GroupState::Stable => {
                if group.select_protocol() == group.protocol_name {
                    // Nothing the assignment depends on changed: persist the new member id and
                    // answer with the current generation. The old leader id is returned so that
                    // a replaced leader does not run a (useless) assignment.
                    let stored = self.store_group(group, now);
                    let mut r = self.join_result(group, new_id.clone(), Vec::new());
                    r.leader = current_leader;
                    if let Err(e) = stored {
                        r = JoinGroupResult::error(new_id.clone(), e);
                    }
                    if let Some(tx) = group
                        .members
                        .get_mut(&new_id)
                        .and_then(|m| m.join_tx.take())
                    {
                        let _ = tx.send(r);
                    }
                } else {
                    self.maybe_prepare_rebalance(group, now);
                }
            }
            GroupState::CompletingRebalance => self.prepare_rebalance(group, now),
            _ => {}
        }
        Join::Wait(rx)
    }

    /// Handles a SyncGroup: the leader's call carries every member's assignment; everyone waits
    /// until the leader's assignments are stored, then gets its own.
    ///
    /// # Cancel safety
    /// Dropping the future is harmless: the member keeps its assignment and can SyncGroup again.
    pub(crate) async fn sync_group(&self, req: SyncGroup) -> SyncGroupResult {
        let r = match self.sync_locked(&req, Self::now()) {
            Ok(rx) => self
                .wait(&req.group_id, rx, |g| {
                    matches!(g.state, GroupState::CompletingRebalance | GroupState::Stable)
                        .then_some(g.sync_deadline)
                        .flatten()
                })
                .await
                .unwrap_or_else(|| SyncGroupResult::error(ErrorCode::UnknownMemberId)),
            Err(r) => r,
        };
        self.when_group_durable(&req.group_id, r).await
    }

    fn sync_locked(
        &self,
        req: &SyncGroup,
        now: Instant,
    ) -> Result<oneshot::Receiver<SyncGroupResult>, SyncGroupResult> {
        let err = |e| Err(SyncGroupResult::error(e));
        if req.group_id.is_empty() {
            return err(ErrorCode::InvalidGroupId);
        }
        let mut inner = self.inner.lock();
        let Some(group) = inner.groups.get_mut(&req.group_id) else {
            return err(ErrorCode::UnknownMemberId);
        };
        if group.is(GroupState::Dead) {
            return err(ErrorCode::CoordinatorNotAvailable);
        }
        if let Some(e) = group.validate_member(&req.member_id, req.instance_id.as_deref()) {
            return err(e);
        }
        if req.generation != group.generation {
            return err(ErrorCode::IllegalGeneration);
        }
        if req
            .protocol_type
            .as_ref()
            .is_some_and(|t| Some(t) != group.protocol_type.as_ref())
            || req
                .protocol_name
                .as_ref()
                .is_some_and(|n| Some(n) != group.protocol_name.as_ref())
        {
            return err(ErrorCode::InconsistentGroupProtocol);
        }
        match group.state {
            GroupState::Empty | GroupState::Dead => err(ErrorCode::UnknownMemberId),
            GroupState::PreparingRebalance => err(ErrorCode::RebalanceInProgress),
            GroupState::Stable => {
                group.pending_sync.remove(&req.member_id);
                let (pt, pn) = (group.protocol_type.clone(), group.protocol_name.clone());
                let Some(m) = group.members.get_mut(&req.member_id) else {
                    return err(ErrorCode::UnknownMemberId);
                };
                m.heartbeat_deadline = now + m.session_timeout;
                Err(SyncGroupResult {
                    error: ErrorCode::None,
                    protocol_type: pt,
                    protocol_name: pn,
                    assignment: m.assignment.clone(),
                })
            }
            GroupState::CompletingRebalance => {
                let (tx, rx) = oneshot::channel();
                if let Some(m) = group.members.get_mut(&req.member_id) {
                    m.sync_tx = Some(tx);
                }
                group.pending_sync.remove(&req.member_id);
                if group.is_leader(&req.member_id) {
                    let assignments: HashMap<&str, &Vec<u8>> = req
                        .assignments
                        .iter()
                        .map(|(id, a)| (id.as_str(), a))
                        .collect();
                    for m in group.members.values_mut() {
                        m.assignment = assignments
                            .get(m.id.as_str())
                            .map(|a| a.to_vec())
                            .unwrap_or_default();
                    }
                    match self.store_group(group, now) {
                        Ok(()) => {
                            self.propagate_assignment(group, ErrorCode::None, now);
                            group.transition(GroupState::Stable, self.wall_ms(now));
                        }
                        Err(e) => {
                            for m in group.members.values_mut() {
                                m.assignment.clear();
                            }
                            self.propagate_assignment(group, e, now);
                            self.maybe_prepare_rebalance(group, now);
                        }
                    }
                }
                Ok(rx)
            }
        }
    }

    /// Handles a Heartbeat. `RebalanceInProgress` tells the member to rejoin.
    pub(crate) fn heartbeat(
        &self,
        group_id: &str,
        generation: i32,
        member_id: &str,
        group_instance_id: Option<&str>,
    ) -> ErrorCode {
        if group_id.is_empty() {
            return ErrorCode::InvalidGroupId;
        }
        let now = Self::now();
        let mut inner = self.inner.lock();
        let Some(group) = inner.groups.get_mut(group_id) else {
            return ErrorCode::UnknownMemberId;
        };
        if group.is(GroupState::Dead) {
            return ErrorCode::CoordinatorNotAvailable;
        }
        if let Some(e) = group.validate_member(member_id, group_instance_id) {
            return e;
        }
        if generation != group.generation {
            return ErrorCode::IllegalGeneration;
        }
        let state = group.state;
        if let Some(m) = group.members.get_mut(member_id) {
            m.heartbeat_deadline = now + m.session_timeout;
        }
        match state {
            GroupState::Empty | GroupState::Dead => ErrorCode::UnknownMemberId,
            GroupState::PreparingRebalance => ErrorCode::RebalanceInProgress,
            GroupState::CompletingRebalance | GroupState::Stable => ErrorCode::None,
        }
    }

    /// Handles a LeaveGroup for `members` (member id, instance id); a static member may be
    /// removed by its instance id alone (empty member id). One code per member.
    pub(crate) fn leave_group(
        &self,
        group_id: &str,
        members: &[(String, Option<String>)],
    ) -> Vec<ErrorCode> {
        if group_id.is_empty() {
            return vec![ErrorCode::InvalidGroupId; members.len()];
        }
        let now = Self::now();
        let mut inner = self.inner.lock();
        let Some(group) = inner.groups.get_mut(group_id) else {
            return vec![ErrorCode::UnknownMemberId; members.len()];
        };
        if group.is(GroupState::Dead) {
            return vec![ErrorCode::CoordinatorNotAvailable; members.len()];
        }
        let mut out = Vec::with_capacity(members.len());
        for (member_id, instance_id) in members {
            let code = if member_id.is_empty() {
                match instance_id
                    .as_ref()
                    .and_then(|i| group.static_members.get(i))
                    .cloned()
                {
                    Some(current) => {
                        self.remove_member_and_update(group, &current, now);
                        ErrorCode::None
                    }
                    None => ErrorCode::UnknownMemberId,
                }
            } else if group.pending_members.remove(member_id).is_some() {
                if group.is(GroupState::PreparingRebalance) {
                    self.try_complete_join(group, now);
                }
                ErrorCode::None
            } else {
                match group.validate_member(member_id, instance_id.as_deref()) {
                    Some(e) => e,
                    None => {
                        self.remove_member_and_update(group, member_id, now);
                        ErrorCode::None
                    }
                }
            };
            out.push(code);
        }
        out
    }
}
