//! Membership protocol tests: JoinGroup, SyncGroup, Heartbeat, LeaveGroup, expiry, static members.

use std::time::Duration;

use super::testutil::*;
use super::JoinGroupMember;
use crate::ErrorCode;

#[tokio::test]
async fn two_members_join_leader_gets_metadata_and_sync_distributes() {
    let (c, _) = coordinator(config(30_000));
    let mut a = join_req("g", "", "client-a");
    a.rebalance_timeout_ms = 100_000;
    let mut b = join_req("g", "", "client-b");
    b.rebalance_timeout_ms = 100_000;
    b.protocols = vec![("range".into(), subscription(&["t", "u"]))];
    let ja = spawn_join(&c, a);
    wait_until("a in the group", || awaiting_join(&c, "g") == 1).await;
    let jb = spawn_join(&c, b);
    wait_until("b in the group", || awaiting_join(&c, "g") == 2).await;
    // The initial delay (30 s) ends, but b arrived during it: it is extended once more.
    c.tick(later(30) + Duration::from_millis(10));
    assert_eq!(c.describe_group("g").state, "PreparingRebalance");
    assert!(!ja.is_finished() && !jb.is_finished());
    c.tick(later(61));
    let (ra, rb) = (ja.await.unwrap(), jb.await.unwrap());
    assert_eq!((ra.error, rb.error), (ErrorCode::None, ErrorCode::None));
    assert_eq!((ra.generation_id, rb.generation_id), (1, 1));
    assert_eq!(ra.protocol_name.as_deref(), Some("range"));
    assert_eq!(ra.protocol_type.as_deref(), Some("consumer"));
    assert!(ra.member_id.starts_with("client-a-"), "{}", ra.member_id);
    assert_eq!(ra.leader, rb.leader);
    let (leader, follower) = if ra.leader == ra.member_id {
        (ra, rb)
    } else {
        (rb, ra)
    };
    assert!(follower.members.is_empty());
    let mut expected = vec![
        JoinGroupMember {
            member_id: leader.member_id.clone(),
            group_instance_id: None,
            metadata: Vec::new(),
        },
        JoinGroupMember {
            member_id: follower.member_id.clone(),
            group_instance_id: None,
            metadata: Vec::new(),
        },
    ];
    for m in &mut expected {
        m.metadata = if m.member_id.starts_with("client-a-") {
            subscription(&["t"])
        } else {
            subscription(&["t", "u"])
        };
    }
    expected.sort_by(|x, y| x.member_id.cmp(&y.member_id));
    assert_eq!(leader.members, expected);
    assert_eq!(c.describe_group("g").state, "CompletingRebalance");

    // The follower syncs first and waits for the leader's assignments.
    let fs = spawn_sync(&c, sync_req("g", 1, &follower.member_id));
    wait_until("follower waiting in sync", || {
        c.inner.lock().groups["g"].members[&follower.member_id]
            .sync_tx
            .is_some()
    })
    .await;
    assert!(!fs.is_finished());
    let mut ls = sync_req("g", 1, &leader.member_id);
    ls.assignments = vec![
        (leader.member_id.clone(), vec![1]),
        (follower.member_id.clone(), vec![2, 2]),
    ];
    let lr = c.sync_group(ls).await;
    assert_eq!((lr.error, lr.assignment), (ErrorCode::None, vec![1]));
    let fr = fs.await.unwrap();
    assert_eq!((fr.error, fr.assignment), (ErrorCode::None, vec![2, 2]));
    assert_eq!(fr.protocol_name.as_deref(), Some("range"));
    let d = c.describe_group("g");
    assert_eq!(
        (d.state.as_str(), d.protocol_name.as_str()),
        ("Stable", "range")
    );
    let fm = d
        .members
        .iter()
        .find(|m| m.member_id == follower.member_id)
        .unwrap();
    assert_eq!(fm.assignment, vec![2, 2]);
    assert_eq!(fm.client_id, "client-b");
    assert_eq!(
        c.heartbeat("g", 1, &follower.member_id, None),
        ErrorCode::None
    );
    // A sync in the Stable state returns the stored assignment again.
    assert_eq!(
        c.sync_group(sync_req("g", 1, &follower.member_id))
            .await
            .assignment,
        vec![2, 2]
    );
}

#[tokio::test]
async fn third_member_triggers_rebalance_and_others_rejoin() {
    let (c, _) = coordinator(config(0));
    let (ids, generation) =
        stable_group(&c, vec![join_req("g", "", "a"), join_req("g", "", "b")]).await;
    assert_eq!(generation, 2);
    let jc = spawn_join(&c, join_req("g", "", "c"));
    wait_until("c in the group", || member_count(&c, "g") == 3).await;
    assert_eq!(c.describe_group("g").state, "PreparingRebalance");
    for id in &ids {
        assert_eq!(
            c.heartbeat("g", generation, id, None),
            ErrorCode::RebalanceInProgress
        );
    }
    let ja = spawn_join(&c, join_req("g", &ids[0], "a"));
    wait_until("a rejoined", || awaiting_join(&c, "g") == 2).await;
    assert!(!jc.is_finished());
    let jb = spawn_join(&c, join_req("g", &ids[1], "b"));
    let (ra, rb, rc) = (ja.await.unwrap(), jb.await.unwrap(), jc.await.unwrap());
    for r in [&ra, &rb, &rc] {
        assert_eq!((r.error, r.generation_id), (ErrorCode::None, 3));
    }
    assert_eq!(
        ra.leader, ids[0],
        "the leader keeps its role when it rejoins"
    );
    assert_eq!(ra.members.len(), 3);
    assert!(rb.members.is_empty() && rc.members.is_empty());
    // The old generation is now illegal.
    assert_eq!(
        c.heartbeat("g", generation, &ids[0], None),
        ErrorCode::IllegalGeneration
    );
    assert_eq!(c.heartbeat("g", 3, &ids[0], None), ErrorCode::None);
}

#[tokio::test]
async fn leave_triggers_rebalance() {
    let (c, _) = coordinator(config(0));
    let (ids, generation) =
        stable_group(&c, vec![join_req("g", "", "a"), join_req("g", "", "b")]).await;
    let codes = c.leave_group("g", &[(ids[1].clone(), None), ("nobody".into(), None)]);
    assert_eq!(codes, vec![ErrorCode::None, ErrorCode::UnknownMemberId]);
    assert_eq!(c.describe_group("g").state, "PreparingRebalance");
    assert_eq!(
        c.heartbeat("g", generation, &ids[0], None),
        ErrorCode::RebalanceInProgress
    );
    assert_eq!(
        c.heartbeat("g", generation, &ids[1], None),
        ErrorCode::UnknownMemberId
    );
    let r = c.join_group(join_req("g", &ids[0], "a")).await;
    assert_eq!(
        (r.error, r.generation_id, r.members.len()),
        (ErrorCode::None, generation + 1, 1)
    );
    // The last member leaves: the group becomes Empty with a new generation.
    assert_eq!(
        c.leave_group("g", &[(ids[0].clone(), None)]),
        vec![ErrorCode::None]
    );
    let d = c.describe_group("g");
    assert_eq!((d.state.as_str(), d.members.len()), ("Empty", 0));
    assert_eq!(
        c.leave_group("nope", &[(ids[0].clone(), None)]),
        vec![ErrorCode::UnknownMemberId]
    );
}

#[tokio::test]
async fn session_expiry_removes_a_silent_member() {
    let (c, _) = coordinator(config(0));
    let mut a = join_req("g", "", "a");
    a.session_timeout_ms = 30_000;
    let b = join_req("g", "", "b"); // 10 s session
    let (ids, generation) = stable_group(&c, vec![a, b]).await;
    c.tick(later(5));
    assert_eq!(member_count(&c, "g"), 2);
    c.tick(later(15));
    assert_eq!(
        member_count(&c, "g"),
        1,
        "b did not heartbeat for its 10 s session"
    );
    assert_eq!(
        c.heartbeat("g", generation, &ids[1], None),
        ErrorCode::UnknownMemberId
    );
    assert_eq!(
        c.heartbeat("g", generation, &ids[0], None),
        ErrorCode::RebalanceInProgress
    );
}

#[tokio::test]
async fn members_that_do_not_rejoin_in_time_are_removed() {
    let (c, _) = coordinator(config(0));
    let mut a = join_req("g", "", "a");
    a.session_timeout_ms = 120_000;
    let mut b = join_req("g", "", "b");
    b.session_timeout_ms = 120_000;
    let (ids, generation) = stable_group(&c, vec![a.clone(), b]).await;
    // The leader rejoins: that forces a rebalance, even with unchanged metadata.
    a.member_id = ids[0].clone();
    let ja = spawn_join(&c, a);
    wait_until("a waiting", || awaiting_join(&c, "g") == 1).await;
    assert_eq!(c.describe_group("g").state, "PreparingRebalance");
    c.tick(later(30));
    assert_eq!(awaiting_join(&c, "g"), 1);
    assert_eq!(c.describe_group("g").state, "PreparingRebalance");
    c.tick(later(61)); // rebalance timeout is 60 s
    let r = ja.await.unwrap();
    assert_eq!(
        (r.error, r.generation_id, r.members.len()),
        (ErrorCode::None, generation + 1, 1)
    );
    assert_eq!(
        c.heartbeat("g", generation, &ids[1], None),
        ErrorCode::UnknownMemberId
    );
}

#[tokio::test]
async fn follower_rejoin_with_same_metadata_keeps_the_generation() {
    let (c, _) = coordinator(config(0));
    let (ids, generation) =
        stable_group(&c, vec![join_req("g", "", "a"), join_req("g", "", "b")]).await;
    let r = c.join_group(join_req("g", &ids[1], "b")).await;
    assert_eq!(
        (r.error, r.generation_id, r.leader.as_str()),
        (ErrorCode::None, generation, ids[0].as_str())
    );
    assert_eq!(c.describe_group("g").state, "Stable");
    // With new metadata it rebalances.
    let mut b = join_req("g", &ids[1], "b");
    b.protocols = vec![("range".into(), subscription(&["other"]))];
    let jb = spawn_join(&c, b);
    wait_until("b waiting", || awaiting_join(&c, "g") == 1).await;
    assert_eq!(c.describe_group("g").state, "PreparingRebalance");
    let ra = c.join_group(join_req("g", &ids[0], "a")).await;
    assert_eq!(ra.generation_id, generation + 1);
    assert_eq!(jb.await.unwrap().generation_id, generation + 1);
}

#[tokio::test]
async fn static_member_rejoin_fences_the_old_member_id() {
    let (c, log) = coordinator(config(0));
    let mut a = join_req("g", "", "a");
    a.group_instance_id = Some("instance-a".into());
    let (ids, generation) = stable_group(&c, vec![a.clone(), join_req("g", "", "b")]).await;
    assert!(ids[0].starts_with("instance-a-"), "{}", ids[0]);
    let stored_before = log.records().len();
    // "a" restarts: it joins with its instance id and no member id.
    let r = c.join_group(a.clone()).await;
    assert_eq!(r.error, ErrorCode::None);
    assert_ne!(r.member_id, ids[0]);
    assert_eq!(
        r.generation_id, generation,
        "no rebalance for a static rejoin in Stable"
    );
    assert_eq!(r.leader, ids[0], "the old leader id is returned");
    assert!(
        log.records().len() > stored_before,
        "the new member id is persisted"
    );
    assert_eq!(c.describe_group("g").state, "Stable");
    let new_id = r.member_id;
    assert_eq!(
        c.heartbeat("g", generation, &ids[0], Some("instance-a")),
        ErrorCode::FencedInstanceId
    );
    assert_eq!(
        c.heartbeat("g", generation, &ids[0], None),
        ErrorCode::UnknownMemberId
    );
    assert_eq!(
        c.heartbeat("g", generation, &new_id, Some("instance-a")),
        ErrorCode::None
    );
    // It keeps the old member's assignment.
    let s = c.sync_group(sync_req("g", generation, &new_id)).await;
    assert_eq!(
        (s.error, s.assignment),
        (ErrorCode::None, ids[0].as_bytes().to_vec())
    );
    assert_eq!(
        c.commit_offsets("g", generation, &ids[0], Some("instance-a"), &[]),
        Err(ErrorCode::FencedInstanceId)
    );
    // A static member can be removed by its instance id alone.
    assert_eq!(
        c.leave_group("g", &[(String::new(), Some("instance-a".into()))]),
        vec![ErrorCode::None]
    );
    assert_eq!(c.describe_group("g").state, "PreparingRebalance");
    assert_eq!(member_count(&c, "g"), 1);
    assert_eq!(
        c.leave_group("g", &[(String::new(), Some("instance-a".into()))]),
        vec![ErrorCode::UnknownMemberId]
    );
}

#[tokio::test]
async fn new_member_gets_member_id_required_first() {
    let (c, _) = coordinator(config(0));
    let mut req = join_req("g", "", "client");
    req.require_known_member_id = true;
    let r = c.join_group(req.clone()).await;
    assert_eq!(r.error, ErrorCode::MemberIdRequired);
    assert!(r.member_id.starts_with("client-") && r.member_id.len() == "client-".len() + 36);
    assert_eq!(r.generation_id, -1);
    req.member_id = r.member_id.clone();
    let r2 = c.join_group(req).await;
    assert_eq!((r2.error, r2.generation_id), (ErrorCode::None, 1));
    assert_eq!(
        (r2.member_id.as_str(), r2.leader.as_str()),
        (r.member_id.as_str(), r.member_id.as_str())
    );
    assert_eq!(r2.members.len(), 1);
}

#[tokio::test]
async fn pending_member_id_expires_after_the_session_timeout() {
    let (c, _) = coordinator(config(0));
    let mut a = join_req("g", "", "a");
    a.session_timeout_ms = 30_000;
    let (ids, generation) = stable_group(&c, vec![a]).await;
    let mut req = join_req("g", "", "b");
    req.require_known_member_id = true;
    let r = c.join_group(req.clone()).await;
    assert_eq!(r.error, ErrorCode::MemberIdRequired);
    c.tick(later(11));
    req.member_id = r.member_id;
    assert_eq!(c.join_group(req).await.error, ErrorCode::UnknownMemberId);
    assert_eq!(c.heartbeat("g", generation, &ids[0], None), ErrorCode::None);
}

#[tokio::test]
async fn leader_that_never_syncs_is_removed_after_the_rebalance_timeout() {
    let (c, _) = coordinator(config(0));
    let r = c.join_group(join_req("g", "", "a")).await;
    assert_eq!(r.error, ErrorCode::None);
    assert_eq!(c.describe_group("g").state, "CompletingRebalance");
    c.tick(later(61));
    let d = c.describe_group("g");
    assert_eq!((d.state.as_str(), d.members.len()), ("Empty", 0));
    assert_eq!(
        c.heartbeat("g", r.generation_id, &r.member_id, None),
        ErrorCode::UnknownMemberId
    );
}

#[tokio::test]
async fn protocol_is_the_most_preferred_one_all_members_support() {
    let (c, _) = coordinator(config(0));
    let mut a = join_req("g", "", "a");
    a.protocols = vec![("roundrobin".into(), vec![1]), ("range".into(), vec![2])];
    let mut b = join_req("g", "", "b");
    b.protocols = vec![
        ("cooperative-sticky".into(), vec![3]),
        ("roundrobin".into(), vec![4]),
    ];
    let ja = spawn_join(&c, a.clone());
    let ra = ja.await.unwrap();
    assert_eq!(ra.protocol_name.as_deref(), Some("roundrobin"));
    let jb = spawn_join(&c, b);
    wait_until("b joined", || member_count(&c, "g") == 2).await;
    a.member_id = ra.member_id.clone();
    let ra = c.join_group(a).await;
    let rb = jb.await.unwrap();
    assert_eq!(ra.protocol_name.as_deref(), Some("roundrobin"));
    assert_eq!(rb.protocol_name.as_deref(), Some("roundrobin"));
    let metadata: Vec<Vec<u8>> = ra.members.iter().map(|m| m.metadata.clone()).collect();
    assert!(metadata.contains(&vec![1]) && metadata.contains(&vec![4]));
    // A member that supports none of the group's protocols is refused.
    let mut x = join_req("g", "", "x");
    x.protocols = vec![("range".into(), vec![])];
    assert_eq!(
        c.join_group(x).await.error,
        ErrorCode::InconsistentGroupProtocol
    );
}

#[tokio::test]
async fn membership_errors() {
    let (c, _) = coordinator(config(0));
    let mut bad = join_req("g", "", "a");
    bad.session_timeout_ms = 1_000;
    assert_eq!(
        c.join_group(bad.clone()).await.error,
        ErrorCode::InvalidSessionTimeout
    );
    bad.session_timeout_ms = 3_600_000;
    assert_eq!(
        c.join_group(bad).await.error,
        ErrorCode::InvalidSessionTimeout
    );
    assert_eq!(
        c.join_group(join_req("", "", "a")).await.error,
        ErrorCode::InvalidGroupId
    );
    assert_eq!(
        c.join_group(join_req("g", "ghost", "a")).await.error,
        ErrorCode::UnknownMemberId
    );
    assert_eq!(
        c.heartbeat("g", 1, "ghost", None),
        ErrorCode::UnknownMemberId
    );
    assert_eq!(c.heartbeat("", 1, "ghost", None), ErrorCode::InvalidGroupId);

    let (ids, generation) = stable_group(&c, vec![join_req("g", "", "a")]).await;
    assert_eq!(
        c.heartbeat("g", generation + 5, &ids[0], None),
        ErrorCode::IllegalGeneration
    );
    assert_eq!(
        c.heartbeat("g", generation, "ghost", None),
        ErrorCode::UnknownMemberId
    );
    assert_eq!(
        c.sync_group(sync_req("g", generation + 1, &ids[0]))
            .await
            .error,
        ErrorCode::IllegalGeneration
    );
    assert_eq!(
        c.sync_group(sync_req("g", generation, "ghost")).await.error,
        ErrorCode::UnknownMemberId
    );
    let mut wrong = sync_req("g", generation, &ids[0]);
    wrong.protocol_name = Some("roundrobin".into());
    assert_eq!(
        c.sync_group(wrong).await.error,
        ErrorCode::InconsistentGroupProtocol
    );
    let mut other_type = join_req("g", "", "z");
    other_type.protocol_type = "connect".into();
    assert_eq!(
        c.join_group(other_type).await.error,
        ErrorCode::InconsistentGroupProtocol
    );
    assert_eq!(c.heartbeat("g", generation, &ids[0], None), ErrorCode::None);
}

#[tokio::test]
async fn initial_delay_ends_when_no_one_else_arrives() {
    let (c, _) = coordinator(config(30_000));
    let mut a = join_req("g", "", "a");
    a.rebalance_timeout_ms = 50_000;
    let ja = spawn_join(&c, a);
    wait_until("a in", || awaiting_join(&c, "g") == 1).await;
    // No one else arrives: the group completes when the first delay ends.
    c.tick(later(20));
    assert!(awaiting_join(&c, "g") == 1);
    c.tick(later(30) + Duration::from_millis(10));
    let r = ja.await.unwrap();
    assert_eq!((r.error, r.generation_id), (ErrorCode::None, 1));
}

#[tokio::test]
async fn initial_delay_extensions_stop_at_the_rebalance_timeout() {
    let (c, _) = coordinator(config(30_000));
    let mut reqs: Vec<_> = ["a", "b", "c"]
        .iter()
        .map(|n| join_req("g", "", n))
        .collect();
    for r in &mut reqs {
        r.rebalance_timeout_ms = 40_000;
    }
    let ja = spawn_join(&c, reqs[0].clone());
    wait_until("a in", || awaiting_join(&c, "g") == 1).await;
    let jb = spawn_join(&c, reqs[1].clone());
    wait_until("b in", || awaiting_join(&c, "g") == 2).await;
    // First delay over, b arrived: extended, but only by the 10 s left of the rebalance timeout.
    let t1 = later(30) + Duration::from_millis(10);
    c.tick(t1);
    assert_eq!(c.describe_group("g").state, "PreparingRebalance");
    let jc = spawn_join(&c, reqs[2].clone());
    wait_until("c in", || awaiting_join(&c, "g") == 3).await;
    // c arrived too, but no time is left: the group completes.
    c.tick(t1 + Duration::from_millis(10_010));
    for j in [ja, jb, jc] {
        let r = j.await.unwrap();
        assert_eq!((r.error, r.generation_id), (ErrorCode::None, 1));
    }
}

#[test]
fn partition_for_uses_java_string_hash_code() {
    let (c, _) = coordinator(config(0));
    assert_eq!(super::coordinator::java_hash("hello"), 99_162_322);
    assert_eq!(
        super::coordinator::java_hash("polygenelubricants"),
        i32::MIN
    );
    assert_eq!(
        super::coordinator::java_hash("\u{1F600}"),
        0xd83d * 31 + 0xde00
    );
    assert_eq!(c.partition_for("hello"), 99_162_322 % 50);
    assert_eq!(
        c.partition_for("polygenelubricants"),
        0,
        "Utils.abs(MIN_VALUE) is 0"
    );
    assert_eq!(c.partition_for(""), 0);
    // A negative hash is made positive before the modulo.
    let h = super::coordinator::java_hash("group-1");
    assert!(h != i32::MIN);
    assert_eq!(c.partition_for("group-1"), h.abs() % 50);
}

#[tokio::test]
async fn the_ticker_expires_sessions_in_real_time() {
    let cfg = super::GroupConfig {
        min_session_timeout: Duration::from_millis(10),
        ..config(0)
    };
    let (c, _) = coordinator(cfg);
    let mut a = join_req("g", "", "a");
    a.session_timeout_ms = 100;
    a.rebalance_timeout_ms = 100;
    let (ids, _) = stable_group(&c, vec![a]).await;
    let ticker = c.spawn_ticker(Duration::from_millis(10));
    wait_until("the silent member to expire", || member_count(&c, "g") == 0).await;
    assert_eq!(c.describe_group("g").state, "Empty");
    assert_eq!(
        c.heartbeat("g", 1, &ids[0], None),
        ErrorCode::UnknownMemberId
    );
    ticker.abort();
}

/// Kafka Connect's workers use the classic protocol with their own protocol type (`connect`,
/// protocol `default`, opaque metadata): the coordinator treats it like any other, hands the
/// leader every member's metadata, distributes the leader's opaque assignments, and keeps
/// consumers (protocol type `consumer`) out of that group.
#[tokio::test]
async fn a_connect_protocol_group_joins_syncs_and_rejects_consumers() {
    let (c, _) = coordinator(config(30_000));
    let connect = |client: &str, meta: &[u8]| {
        let mut r = join_req("connect-cluster", "", client);
        r.protocol_type = "connect".into();
        r.protocols = vec![("default".into(), meta.to_vec())];
        r
    };
    let ja = spawn_join(&c, connect("worker-a", b"url-a"));
    wait_until("a in the group", || awaiting_join(&c, "connect-cluster") == 1).await;
    let jb = spawn_join(&c, connect("worker-b", b"url-b"));
    wait_until("b in the group", || awaiting_join(&c, "connect-cluster") == 2).await;
    // A consumer cannot join a group of workers.
    let consumer = c.join_group(join_req("connect-cluster", "", "consumer")).await;
    assert_eq!(consumer.error, ErrorCode::InconsistentGroupProtocol);
    c.tick(later(30) + Duration::from_millis(10));
    c.tick(later(61));
    let (ra, rb) = (ja.await.unwrap(), jb.await.unwrap());
    assert_eq!((ra.error, rb.error), (ErrorCode::None, ErrorCode::None));
    assert_eq!(ra.protocol_type.as_deref(), Some("connect"));
    assert_eq!(ra.protocol_name.as_deref(), Some("default"));
    let (leader, follower) = if ra.leader == ra.member_id { (ra, rb) } else { (rb, ra) };
    let mut metas: Vec<Vec<u8>> = leader.members.iter().map(|m| m.metadata.clone()).collect();
    metas.sort();
    assert_eq!(metas, vec![b"url-a".to_vec(), b"url-b".to_vec()]);
    let sync = |member: &str| {
        let mut s = sync_req("connect-cluster", leader.generation_id, member);
        s.protocol_type = Some("connect".into());
        s.protocol_name = Some("default".into());
        s
    };
    let fs = spawn_sync(&c, sync(&follower.member_id));
    let mut ls = sync(&leader.member_id);
    ls.assignments = vec![(leader.member_id.clone(), b"conn-a".to_vec()), (follower.member_id.clone(), b"conn-b".to_vec())];
    let lr = c.sync_group(ls).await;
    assert_eq!((lr.error, lr.assignment), (ErrorCode::None, b"conn-a".to_vec()));
    let fr = fs.await.unwrap();
    assert_eq!((fr.error, fr.assignment), (ErrorCode::None, b"conn-b".to_vec()));
    let d = c.describe_group("connect-cluster");
    assert_eq!((d.state.as_str(), d.protocol_type.as_str(), d.protocol_name.as_str()), ("Stable", "connect", "default"));
    assert_eq!(d.members.len(), 2);
}
