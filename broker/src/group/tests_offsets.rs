//! Offset and administration tests: commit, fetch, transactions, replay, retention, deletion.

use brook_common::TopicPartition;
use std::sync::atomic::Ordering;
use std::time::Duration;

use super::storage::{decode_key, decode_offset_value, RecordKey};
use super::testutil::*;
use super::{GroupConfig, OffsetCommit};
use crate::ErrorCode;

fn oc(topic: &str, partition: i32, offset: i64) -> OffsetCommit {
    OffsetCommit {
        topic: topic.into(),
        partition,
        offset,
        leader_epoch: 3,
        metadata: Some(format!("m{offset}")),
    }
}

fn tps(list: &[(&str, i32)]) -> Vec<TopicPartition> {
    list.iter().map(|(t, p)| TopicPartition::new(*t, *p)).collect()
}

fn offsets_of(c: &super::GroupCoordinator, group: &str, list: &[(&str, i32)]) -> Vec<i64> {
    c.fetch_offsets(group, Some(&tps(list)), false)
        .unwrap()
        .into_iter()
        .map(|f| f.offset)
        .collect()
}

#[tokio::test]
async fn commit_and_fetch_offsets() {
    let (c, log) = coordinator(config(0));
    let (ids, generation) =
        stable_group(&c, vec![join_req("g", "", "a"), join_req("g", "", "b")]).await;
    let codes = c.commit_offsets(
        "g",
        generation,
        &ids[0],
        None,
        &[oc("t", 0, 10), oc("t", 1, 20)],
    );
    assert_eq!(codes, Ok(vec![ErrorCode::None, ErrorCode::None]));
    let f = c
        .fetch_offsets("g", Some(&tps(&[("t", 1), ("t", 7)])), true)
        .unwrap();
    assert_eq!(
        (f[0].offset, f[0].leader_epoch, f[0].metadata.as_str()),
        (20, 3, "m20")
    );
    assert_eq!(
        (
            f[1].offset,
            f[1].leader_epoch,
            f[1].metadata.as_str(),
            f[1].error
        ),
        (-1, -1, "", ErrorCode::None)
    );
    let all = c.fetch_offsets("g", None, false).unwrap();
    assert_eq!(
        all.iter()
            .map(|f| (f.partition, f.offset))
            .collect::<Vec<_>>(),
        vec![(0, 10), (1, 20)]
    );
    // The records are Kafka's OffsetCommitKey v1 / OffsetCommitValue v3 in the group's partition.
    let partition = c.partition_for("g");
    let entries = log.entries.lock().clone();
    assert!(entries
        .iter()
        .all(|e| matches!(e, Entry::Records { partition: p, .. } if *p == partition)));
    let (k, v) = log.records().into_iter().rev().nth(1).unwrap();
    assert_eq!(
        decode_key(&k).unwrap(),
        Some(RecordKey::Offset {
            group: "g".into(),
            topic: "t".into(),
            partition: 0
        })
    );
    assert_eq!(&v.as_deref().unwrap()[..2], &[0, 3]);
    assert_eq!(decode_offset_value(&v.unwrap()).unwrap().offset, 10);

    // Errors: unknown member, wrong generation, unknown group with a generation.
    assert_eq!(
        c.commit_offsets("g", generation, "ghost", None, &[oc("t", 0, 1)]),
        Err(ErrorCode::UnknownMemberId)
    );
    assert_eq!(
        c.commit_offsets("g", generation - 1, &ids[0], None, &[oc("t", 0, 1)]),
        Err(ErrorCode::IllegalGeneration)
    );
    assert_eq!(
        c.commit_offsets("nope", 3, "m", None, &[oc("t", 0, 1)]),
        Err(ErrorCode::IllegalGeneration)
    );
    // A standalone commit to a group with members is refused.
    assert_eq!(
        c.commit_offsets("g", -1, "", None, &[oc("t", 0, 1)]),
        Err(ErrorCode::UnknownMemberId)
    );
    // Too much metadata fails that partition only.
    let mut big = oc("t", 2, 5);
    big.metadata = Some("x".repeat(5000));
    assert_eq!(
        c.commit_offsets("g", generation, &ids[1], None, &[big, oc("t", 3, 30)]),
        Ok(vec![ErrorCode::OffsetMetadataTooLarge, ErrorCode::None])
    );
    assert_eq!(
        offsets_of(&c, "g", &[("t", 0), ("t", 2), ("t", 3)]),
        vec![10, -1, 30]
    );
}

#[tokio::test]
async fn commit_from_an_older_generation_is_illegal_and_commits_wait_for_sync() {
    let (c, _) = coordinator(config(0));
    let (ids, generation) = stable_group(&c, vec![join_req("g", "", "a")]).await;
    // During PreparingRebalance the current generation may still commit.
    let jb = spawn_join(&c, join_req("g", "", "b"));
    wait_until("b joined", || member_count(&c, "g") == 2).await;
    assert_eq!(
        c.commit_offsets("g", generation, &ids[0], None, &[oc("t", 0, 1)]),
        Ok(vec![ErrorCode::None])
    );
    let ra = c.join_group(join_req("g", &ids[0], "a")).await;
    jb.await.unwrap();
    // CompletingRebalance: RebalanceInProgress; the old generation is illegal.
    assert_eq!(
        c.commit_offsets("g", ra.generation_id, &ids[0], None, &[oc("t", 0, 2)]),
        Err(ErrorCode::RebalanceInProgress)
    );
    assert_eq!(
        c.commit_offsets("g", generation, &ids[0], None, &[oc("t", 0, 2)]),
        Err(ErrorCode::IllegalGeneration)
    );
    assert_eq!(offsets_of(&c, "g", &[("t", 0)]), vec![1]);
}

#[tokio::test]
async fn standalone_commits_create_an_empty_group() {
    let (c, _) = coordinator(config(0));
    assert_eq!(
        c.commit_offsets("simple", -1, "", None, &[oc("t", 0, 5)]),
        Ok(vec![ErrorCode::None])
    );
    assert_eq!(offsets_of(&c, "simple", &[("t", 0)]), vec![5]);
    let l = c.list_groups(&[]);
    assert_eq!(l.len(), 1);
    assert_eq!(
        (
            l[0].group_id.as_str(),
            l[0].protocol_type.as_str(),
            l[0].state.as_str()
        ),
        ("simple", "", "Empty")
    );
    assert_eq!(c.fetch_offsets("unknown", None, false).unwrap(), vec![]);
    assert_eq!(offsets_of(&c, "unknown", &[("t", 0)]), vec![-1]);
}

#[tokio::test]
async fn replay_restores_offsets_and_groups() {
    let (c, log) = coordinator(config(0));
    let (ids, generation) =
        stable_group(&c, vec![join_req("g", "", "a"), join_req("g", "", "b")]).await;
    c.commit_offsets(
        "g",
        generation,
        &ids[0],
        None,
        &[oc("t", 0, 10), oc("t", 1, 20)],
    )
    .unwrap();
    c.commit_offsets("g", generation, &ids[1], None, &[oc("t", 0, 11)])
        .unwrap();
    c.commit_offsets("s", -1, "", None, &[oc("u", 4, 44)])
        .unwrap();
    c.commit_offsets("gone", -1, "", None, &[oc("u", 0, 1)])
        .unwrap();
    assert_eq!(
        c.delete_groups(&["gone".into()]),
        vec![("gone".into(), ErrorCode::None)]
    );

    let (fresh, _) = coordinator(config(0));
    log.replay_into(&fresh);
    assert_eq!(offsets_of(&fresh, "g", &[("t", 0), ("t", 1)]), vec![11, 20]);
    let f = fresh.fetch_offsets("s", None, false).unwrap();
    assert_eq!(
        (
            f[0].topic.as_str(),
            f[0].partition,
            f[0].offset,
            f[0].leader_epoch,
            f[0].metadata.as_str()
        ),
        ("u", 4, 44, 3, "m44")
    );
    assert_eq!(fresh.describe_group("gone").state, "Dead");
    // The group comes back Stable with its members and assignments, and they can go on.
    let d = fresh.describe_group("g");
    assert_eq!(
        (
            d.state.as_str(),
            d.protocol_type.as_str(),
            d.protocol_name.as_str()
        ),
        ("Stable", "consumer", "range")
    );
    let mut members: Vec<_> = d
        .members
        .iter()
        .map(|m| (m.member_id.clone(), m.assignment.clone()))
        .collect();
    members.sort();
    let mut expected: Vec<_> = ids
        .iter()
        .map(|id| (id.clone(), id.as_bytes().to_vec()))
        .collect();
    expected.sort();
    assert_eq!(members, expected);
    assert_eq!(
        fresh.heartbeat("g", generation, &ids[1], None),
        ErrorCode::None
    );
    let s = fresh.sync_group(sync_req("g", generation, &ids[1])).await;
    assert_eq!(s.assignment, ids[1].as_bytes().to_vec());

    // Garbage is skipped, never a panic.
    fresh.replay(&[0, 1, 0], Some(&[1, 2, 3]));
    fresh.replay(&super::storage::offset_key("g", "t", 0), Some(&[0, 3, 0]));
    fresh.replay(&super::storage::group_key("g"), Some(&[9, 9]));
    fresh.replay(&[], None);
    assert_eq!(offsets_of(&fresh, "g", &[("t", 0)]), vec![11]);
    // A tombstone deletes.
    fresh.replay(&super::storage::offset_key("g", "t", 0), None);
    assert_eq!(offsets_of(&fresh, "g", &[("t", 0)]), vec![-1]);
}

#[tokio::test]
async fn transactional_offsets_are_pending_until_the_transaction_completes() {
    let (c, log) = coordinator(config(0));
    c.commit_offsets("g", -1, "", None, &[oc("t", 0, 5)])
        .unwrap();
    assert_eq!(
        c.txn_commit_offsets("g", 7, 0, &[oc("t", 0, 10), oc("t", 1, 20)]),
        Ok(vec![ErrorCode::None; 2])
    );
    assert_eq!(offsets_of(&c, "g", &[("t", 0), ("t", 1)]), vec![5, -1]);
    let stable = c
        .fetch_offsets("g", Some(&tps(&[("t", 0), ("t", 2)])), true)
        .unwrap();
    assert_eq!(
        (stable[0].error, stable[0].offset),
        (ErrorCode::UnstableOffsetCommit, -1)
    );
    assert_eq!(stable[1].error, ErrorCode::None);
    let p = c.partition_for("g");
    log.write_marker(p, 7, true);
    c.complete_txn(7, true);
    assert_eq!(offsets_of(&c, "g", &[("t", 0), ("t", 1)]), vec![10, 20]);
    assert_eq!(
        c.fetch_offsets("g", Some(&tps(&[("t", 0)])), true).unwrap()[0].error,
        ErrorCode::None
    );

    // Aborted: dropped.
    c.txn_commit_offsets("g", 8, 2, &[oc("t", 0, 99)]).unwrap();
    log.write_marker(p, 8, false);
    c.complete_txn(8, false);
    assert_eq!(offsets_of(&c, "g", &[("t", 0)]), vec![10]);

    // A transaction still open at "shutdown" stays pending after replay, and completes later.
    c.txn_commit_offsets("g", 9, 0, &[oc("t", 1, 21)]).unwrap();
    let (fresh, _) = coordinator(config(0));
    log.replay_into(&fresh);
    assert_eq!(offsets_of(&fresh, "g", &[("t", 0), ("t", 1)]), vec![10, 20]);
    assert_eq!(
        fresh
            .fetch_offsets("g", Some(&tps(&[("t", 1)])), true)
            .unwrap()[0]
            .error,
        ErrorCode::UnstableOffsetCommit
    );
    fresh.complete_txn(9, true);
    assert_eq!(offsets_of(&fresh, "g", &[("t", 1)]), vec![21]);
}

#[tokio::test]
async fn a_late_transaction_does_not_overwrite_a_newer_commit() {
    let (c, _) = coordinator(config(0));
    c.txn_commit_offsets("g", 1, 0, &[oc("t", 0, 10)]).unwrap();
    c.commit_offsets("g", -1, "", None, &[oc("t", 0, 50)])
        .unwrap();
    c.complete_txn(1, true);
    assert_eq!(offsets_of(&c, "g", &[("t", 0)]), vec![50]);
}

#[tokio::test]
async fn txn_commit_checks_member_and_generation_when_given() {
    let (c, _) = coordinator(config(0));
    let (ids, generation) = stable_group(&c, vec![join_req("g", "", "a")]).await;
    let o = [oc("t", 0, 1)];
    assert_eq!(
        c.txn_commit_offsets_as_member("g", generation, "ghost", None, 1, 0, &o),
        Err(ErrorCode::UnknownMemberId)
    );
    assert_eq!(
        c.txn_commit_offsets_as_member("g", generation + 1, &ids[0], None, 1, 0, &o),
        Err(ErrorCode::IllegalGeneration)
    );
    assert_eq!(
        c.txn_commit_offsets_as_member("g", generation, &ids[0], None, 1, 0, &o),
        Ok(vec![ErrorCode::None])
    );
    assert_eq!(
        c.txn_commit_offsets("", 1, 0, &o),
        Err(ErrorCode::InvalidGroupId)
    );
    assert_eq!(c.delete_offsets("", &[]), Err(ErrorCode::InvalidGroupId));
}

#[tokio::test]
async fn offsets_expire_after_retention() {
    let cfg = GroupConfig {
        offsets_retention: Duration::from_secs(60),
        offsets_retention_check_interval: Duration::ZERO,
        ..config(0)
    };
    let (c, log) = coordinator(cfg);
    // A standalone group: retention counts from the commit.
    c.commit_offsets("s", -1, "", None, &[oc("t", 0, 5)])
        .unwrap();
    // A consumer group: retention counts from when it became empty.
    let mut a = join_req("g", "", "a");
    a.session_timeout_ms = 600_000;
    let (ids, generation) = stable_group(&c, vec![a]).await;
    c.commit_offsets(
        "g",
        generation,
        &ids[0],
        None,
        &[oc("t", 0, 7), oc("other", 0, 8)],
    )
    .unwrap();
    c.tick(later(61));
    assert_eq!(offsets_of(&c, "s", &[("t", 0)]), vec![-1]);
    assert_eq!(
        c.describe_group("s").state,
        "Dead",
        "an empty group without offsets is removed"
    );
    // Stable group subscribed to "t": only "other" (not subscribed) expires.
    assert_eq!(offsets_of(&c, "g", &[("t", 0), ("other", 0)]), vec![7, -1]);
    let tombstones = log.records().iter().filter(|(_, v)| v.is_none()).count();
    assert_eq!(tombstones, 3, "offset s/t/0, group s, offset g/other/0");

    assert_eq!(
        c.leave_group("g", &[(ids[0].clone(), None)]),
        vec![ErrorCode::None]
    );
    assert_eq!(c.describe_group("g").state, "Empty");
    c.tick(later(30));
    assert_eq!(offsets_of(&c, "g", &[("t", 0)]), vec![7]);
    c.tick(later(61));
    assert_eq!(offsets_of(&c, "g", &[("t", 0)]), vec![-1]);
    assert!(c.list_groups(&[]).is_empty());
}

#[tokio::test]
async fn retention_waits_for_the_check_interval() {
    let cfg = GroupConfig {
        offsets_retention: Duration::from_secs(60),
        ..config(0)
    };
    let (c, _) = coordinator(cfg);
    c.tick(later(0));
    c.commit_offsets("s", -1, "", None, &[oc("t", 0, 5)])
        .unwrap();
    c.tick(later(61)); // the 10-minute check interval has not passed
    assert_eq!(offsets_of(&c, "s", &[("t", 0)]), vec![5]);
    c.tick(later(601));
    assert_eq!(offsets_of(&c, "s", &[("t", 0)]), vec![-1]);
}

#[tokio::test]
async fn delete_groups_and_offsets() {
    let (c, log) = coordinator(config(0));
    let (ids, generation) = stable_group(&c, vec![join_req("g", "", "a")]).await;
    c.commit_offsets(
        "g",
        generation,
        &ids[0],
        None,
        &[oc("t", 0, 1), oc("x", 0, 2)],
    )
    .unwrap();
    c.commit_offsets("e", -1, "", None, &[oc("t", 0, 3), oc("t", 1, 4)])
        .unwrap();
    let r = c.delete_groups(&["g".into(), "e".into(), "nope".into()]);
    assert_eq!(
        r,
        vec![
            ("g".into(), ErrorCode::NonEmptyGroup),
            ("e".into(), ErrorCode::None),
            ("nope".into(), ErrorCode::GroupIdNotFound)
        ]
    );
    assert_eq!(offsets_of(&c, "e", &[("t", 0), ("t", 1)]), vec![-1, -1]);
    assert_eq!(
        c.delete_groups(&["e".into()]),
        vec![("e".into(), ErrorCode::GroupIdNotFound)]
    );
    let tombstones: Vec<_> = log
        .records()
        .into_iter()
        .filter(|(_, v)| v.is_none())
        .map(|(k, _)| decode_key(&k).unwrap().unwrap())
        .collect();
    assert_eq!(tombstones.len(), 3);
    assert!(tombstones.contains(&RecordKey::Group { group: "e".into() }));

    // OffsetDelete: the consumer group subscribes to "t", not to "x".
    assert_eq!(
        c.delete_offsets("g", &tps(&[("t", 0), ("x", 0)])),
        Ok(vec![ErrorCode::NonEmptyGroup, ErrorCode::None])
    );
    assert_eq!(offsets_of(&c, "g", &[("t", 0), ("x", 0)]), vec![1, -1]);
    assert_eq!(
        c.delete_offsets("nope", &tps(&[("t", 0)])),
        Err(ErrorCode::GroupIdNotFound)
    );
    c.leave_group("g", &[(ids[0].clone(), None)]);
    assert_eq!(
        c.delete_offsets("g", &tps(&[("t", 0)])),
        Ok(vec![ErrorCode::None])
    );
    assert_eq!(offsets_of(&c, "g", &[("t", 0)]), vec![-1]);
    assert_eq!(
        c.delete_groups(&["g".into()]),
        vec![("g".into(), ErrorCode::None)]
    );
}

#[tokio::test]
async fn list_and_describe_groups() {
    let (c, _) = coordinator(config(0));
    let (ids, _) = stable_group(&c, vec![join_req("g", "", "client-a")]).await;
    c.commit_offsets("s", -1, "", None, &[oc("t", 0, 3)])
        .unwrap();
    let all = c.list_groups(&[]);
    assert_eq!(
        all.iter()
            .map(|l| (l.group_id.as_str(), l.state.as_str()))
            .collect::<Vec<_>>(),
        vec![("g", "Stable"), ("s", "Empty")]
    );
    let stable = c.list_groups(&["stable".into()]);
    assert_eq!(stable.len(), 1);
    assert_eq!(stable[0].protocol_type, "consumer");
    assert!(c.list_groups(&["Dead".into()]).is_empty());
    let d = c.describe_group("g");
    assert_eq!(d.members.len(), 1);
    let m = &d.members[0];
    assert_eq!(
        (
            m.member_id.as_str(),
            m.client_id.as_str(),
            m.client_host.as_str()
        ),
        (ids[0].as_str(), "client-a", "/127.0.0.1")
    );
    assert_eq!(m.metadata, subscription(&["t"]));
    assert_eq!(m.assignment, ids[0].as_bytes().to_vec());
    let unknown = c.describe_group("zzz");
    assert_eq!(
        (unknown.state.as_str(), unknown.error, unknown.members.len()),
        ("Dead", ErrorCode::None, 0)
    );
}

#[tokio::test]
async fn a_failed_append_leaves_offsets_unchanged() {
    let (c, log) = coordinator(config(0));
    c.commit_offsets("s", -1, "", None, &[oc("t", 0, 5)])
        .unwrap();
    log.fail.store(true, Ordering::SeqCst);
    assert_eq!(
        c.commit_offsets("s", -1, "", None, &[oc("t", 0, 6)]),
        Ok(vec![ErrorCode::NotCoordinator])
    );
    assert_eq!(
        c.txn_commit_offsets("s", 1, 0, &[oc("t", 0, 6)]),
        Ok(vec![ErrorCode::NotCoordinator])
    );
    assert_eq!(
        c.delete_groups(&["s".into()]),
        vec![("s".into(), ErrorCode::NotCoordinator)]
    );
    log.fail.store(false, Ordering::SeqCst);
    c.complete_txn(1, true);
    assert_eq!(offsets_of(&c, "s", &[("t", 0)]), vec![5]);
}
