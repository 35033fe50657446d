//! Standby replicas: placement in the metadata, convergence, and a takeover that restores
//! only the changelog tail, with the counting engine and with RocksDB stores.

use super::*;

fn changelog_end(b: &TestBroker, app: &str, partition: i32) -> i64 {
    b.broker.list_offset(&format!("{app}-counts-changelog"), partition, OffsetSpec::Latest, IsolationLevel::ReadUncommitted).unwrap().0
}

/// Produces 10 more records per key (after 40) and checks every count ends at exactly 50 and
/// nothing was counted twice: exact output sequences under exactly-once; under at-least-once
/// one output per input, since offsets are committed inside the revocation callbacks and on
/// close.
fn ten_more_then_exact(b: &TestBroker, keys: usize, eos: bool) {
    b.produce("input", &records(keys, 10, "d"));
    wait_until("counts of 50", Duration::from_secs(30), || b.final_counts(eos) == expect_counts(keys, 50));
    if eos {
        assert_exact_sequences(&b.read_all("output", true), keys, 50);
    } else {
        assert_eq!(b.read_all("output", false).len(), keys * 50);
    }
}

pub(super) fn standby_tasks(s: &KafkaStreams) -> Vec<TaskId> {
    s.metadata_for_local_threads().into_iter().flat_map(|t| t.standby_tasks).collect()
}

pub(super) type TaskCounts = BTreeMap<TaskId, BTreeMap<Bytes, u64>>;

pub(super) fn active_counts(s: &KafkaStreams) -> TaskCounts {
    let mut out = BTreeMap::new();
    s.with_tasks(|id, e| {
        let e = e.as_any().downcast_ref::<CountEngine>().unwrap();
        out.insert(id, e.counts.iter().map(|(k, v)| (k.clone(), *v)).collect());
    });
    out
}

pub(super) fn standby_counts(s: &KafkaStreams) -> TaskCounts {
    let mut out = BTreeMap::new();
    s.with_standby_tasks(|id, e| {
        let e = e.as_any().downcast_ref::<CountEngine>().unwrap();
        out.insert(id, e.counts.iter().map(|(k, v)| (k.clone(), *v)).collect());
    });
    out
}

fn standby_replicas_take_over_with_only_the_tail(eos: bool) {
    let app = if eos { "standby-eos" } else { "standby-alos" };
    let b = TestBroker::new();
    b.create("input", 2);
    b.create("output", 2);
    let (dir_a, dir_c) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let restores = Restores::default();
    let make = |dir: &Path| {
        let mut c = config(app, dir, eos);
        c.set("num.standby.replicas", "1").unwrap();
        let s = KafkaStreams::new(CountFactory::new(app), c, Embedded::new(b.broker.clone())).unwrap();
        s.set_global_state_restore_listener(restores.clone()).unwrap();
        s
    };
    let a = make(dir_a.path());
    a.start().unwrap();
    wait_until("a owns both tasks", Duration::from_secs(30), || local_tasks(&a).len() == 2 && a.state() == State::Running);
    b.produce("input", &records(8, 20, "a"));
    wait_until("counts of 20", Duration::from_secs(30), || b.final_counts(eos) == expect_counts(8, 20));
    assert!(standby_tasks(&a).is_empty(), "no other instance: no standby");

    let c = make(dir_c.path());
    c.start().unwrap();
    // Each instance keeps a standby of the other's task.
    wait_until("tasks split with standbys", Duration::from_secs(30), || {
        let (ta, tc) = (local_tasks(&a), local_tasks(&c));
        a.state() == State::Running
            && c.state() == State::Running
            && ta.len() == 1
            && tc.len() == 1
            && standby_tasks(&a) == tc
            && standby_tasks(&c) == ta
    });
    b.produce("input", &records(8, 10, "b"));
    wait_until("counts of 30", Duration::from_secs(30), || b.final_counts(eos) == expect_counts(8, 30));
    // The standbys converge to the active stores.
    wait_until("standbys converge", Duration::from_secs(30), || {
        let (aa, ac) = (active_counts(&a), active_counts(&c));
        aa.values().chain(ac.values()).map(|m| m.values().sum::<u64>()).sum::<u64>() == 8 * 30
            && standby_counts(&c) == aa
            && standby_counts(&a) == ac
    });
    let moving = local_tasks(&a)[0];
    let warm_position = changelog_end(&b, app, moving.partition);
    assert!(warm_position > 0);

    // More records, then the active instance goes away: the other takes its task over and
    // restores only what its standby had not read yet.
    b.produce("input", &records(8, 10, "c"));
    wait_until("counts of 40", Duration::from_secs(30), || b.final_counts(eos) == expect_counts(8, 40));
    restores.0.lock().unwrap().clear();
    assert!(a.close(Duration::from_secs(30)));
    wait_until("c owns both tasks", Duration::from_secs(30), || local_tasks(&c).len() == 2 && c.state() == State::Running);
    assert!(standby_tasks(&c).is_empty(), "no other instance left for standbys");
    let end = changelog_end(&b, app, moving.partition);
    check_takeover_restores(&restores.0.lock().unwrap(), moving, warm_position, end);
    if !eos {
        // The standby engine itself became the active task (recycled): it holds every changelog
        // record it applied as a standby (under at-least-once each offset is one record).
        let mut restored = 0;
        c.with_tasks(|id, e| {
            if id == moving {
                restored = e.as_any().downcast_ref::<CountEngine>().unwrap().restored;
            }
        });
        assert!(restored as i64 >= warm_position, "restored {restored}, standby read {warm_position}");
    }
    ten_more_then_exact(&b, 8, eos);
    assert!(c.close(Duration::from_secs(30)));
}

#[test]
fn standby_replicas_take_over_with_only_the_tail_at_least_once() {
    standby_replicas_take_over_with_only_the_tail(false);
}

#[test]
fn standby_replicas_take_over_with_only_the_tail_exactly_once() {
    standby_replicas_take_over_with_only_the_tail(true);
}

/// One restore: changelog partition, start, end, total restored.
type RestoreEvent = (TopicPartition, i64, i64, u64);

/// Records the restores of active tasks.
#[derive(Default, Clone)]
struct Restores(Arc<Mutex<Vec<RestoreEvent>>>);

impl brook_processor_api::runtime::StateRestoreListener for Restores {
    fn on_restore_start(&self, changelog: &TopicPartition, store: &str, start: i64, end: i64) {
        assert_eq!(store, "counts");
        self.0.lock().unwrap().push((changelog.clone(), start, end, 0));
    }
    fn on_restore_end(&self, changelog: &TopicPartition, _store: &str, total: u64) {
        let mut v = self.0.lock().unwrap();
        let last = v.iter_mut().rev().find(|r| &r.0 == changelog).unwrap();
        last.3 = total;
    }
}

/// After a takeover: the moved task restored from at least where its standby had read
/// (`warm`), so at most `end - warm` records; the other task, closed cleanly at the rebalance,
/// restored nothing (under exactly-once it may read the transaction marker after its last
/// committed changelog record again).
fn check_takeover_restores(events: &[RestoreEvent], moving: TaskId, warm: i64, end: i64) {
    for (tp, start, _, total) in events {
        if tp.partition != moving.partition {
            assert_eq!(*total, 0, "{events:?}");
            continue;
        }
        assert!(*start >= warm, "restore from {start}; the standby had read up to {warm}: {events:?}");
        assert!(*total as i64 <= end - warm, "{events:?}");
    }
}

/// The standby copy of `key`'s count in the RocksDB store of a standby task of `s`.
fn standby_count(s: &KafkaStreams, task: TaskId, key: &str) -> Option<u64> {
    let mut out = None;
    s.with_standby_tasks(|id, e| {
        if id == task {
            let t = e.as_any().downcast_ref::<brook_processor_api::StreamTask>().unwrap();
            let kv = t.store("counts").unwrap().as_key_value().unwrap();
            out = kv.get(key.as_bytes()).unwrap().map(|v| std::str::from_utf8(&v).unwrap().parse().unwrap());
        }
    });
    out
}

fn topology_standby_takes_over_with_only_the_tail(eos: bool) {
    let app = if eos { "topo-standby-eos" } else { "topo-standby-alos" };
    let b = TestBroker::new();
    b.create("input", 2);
    b.create("output", 2);
    let (dir_a, dir_c) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let restores = Restores::default();
    let make = |dir: &Path| {
        let mut c = config(app, dir, eos);
        c.set("num.standby.replicas", "1").unwrap();
        let s = KafkaStreams::new(topology::factory(&c), c, Embedded::new(b.broker.clone())).unwrap();
        s.set_global_state_restore_listener(restores.clone()).unwrap();
        s
    };
    let changelog = format!("{app}-counts-changelog");
    let a = make(dir_a.path());
    a.start().unwrap();
    b.produce("input", &records(6, 20, "a"));
    wait_until("counts of 20", Duration::from_secs(30), || b.final_counts(eos) == expect_counts(6, 20));
    let c = make(dir_c.path());
    c.start().unwrap();
    wait_until("tasks split with standbys", Duration::from_secs(30), || {
        a.state() == State::Running
            && c.state() == State::Running
            && local_tasks(&a).len() == 1
            && standby_tasks(&c) == local_tasks(&a)
    });
    let moving = local_tasks(&a)[0];
    let keys: Vec<String> = (0..6)
        .map(|k| format!("key-{k}"))
        .filter(|k| brook_broker::client::partitioner::partition_for_key(k.as_bytes(), 2) == moving.partition)
        .collect();
    assert!(!keys.is_empty());
    b.produce("input", &records(6, 10, "b"));
    wait_until("counts of 30", Duration::from_secs(30), || b.final_counts(eos) == expect_counts(6, 30));
    wait_until("the standby store converges", Duration::from_secs(30), || {
        keys.iter().all(|k| standby_count(&c, moving, k) == Some(30))
    });
    let warm = b.broker.list_offset(&changelog, moving.partition, OffsetSpec::Latest, IsolationLevel::ReadUncommitted).unwrap().0;

    b.produce("input", &records(6, 10, "c"));
    wait_until("counts of 40", Duration::from_secs(30), || b.final_counts(eos) == expect_counts(6, 40));
    restores.0.lock().unwrap().clear();
    assert!(a.close(Duration::from_secs(30)));
    wait_until("c owns both tasks", Duration::from_secs(30), || local_tasks(&c).len() == 2 && c.state() == State::Running);
    let end = b.broker.list_offset(&changelog, moving.partition, OffsetSpec::Latest, IsolationLevel::ReadUncommitted).unwrap().0;
    check_takeover_restores(&restores.0.lock().unwrap(), moving, warm, end);
    ten_more_then_exact(&b, 6, eos);
    assert!(c.close(Duration::from_secs(30)));
}

#[test]
fn a_rocksdb_standby_takes_over_with_only_the_tail_at_least_once() {
    topology_standby_takes_over_with_only_the_tail(false);
}

#[test]
fn a_rocksdb_standby_takes_over_with_only_the_tail_exactly_once() {
    topology_standby_takes_over_with_only_the_tail(true);
}

#[test]
fn standbys_across_several_threads_take_over_exactly() {
    let app = "topo-standby-threads";
    let b = TestBroker::new();
    b.create("input", 4);
    b.create("output", 4);
    let (dir_a, dir_c) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let make = |dir: &Path| {
        let mut c = config(app, dir, false);
        c.set("num.standby.replicas", "1").unwrap();
        c.set("num.stream.threads", "2").unwrap();
        KafkaStreams::new(topology::factory(&c), c, Embedded::new(b.broker.clone())).unwrap()
    };
    let a = make(dir_a.path());
    a.start().unwrap();
    b.produce("input", &records(12, 10, "a"));
    wait_until("counts of 10", Duration::from_secs(30), || b.final_counts(false) == expect_counts(12, 10));
    let c = make(dir_c.path());
    c.start().unwrap();
    // Every task has its standby on the other instance, hosted by one of its threads.
    wait_until("standbys everywhere", Duration::from_secs(30), || {
        let (mut ta, mut tc, mut sa, mut sc) = (local_tasks(&a), local_tasks(&c), standby_tasks(&a), standby_tasks(&c));
        for v in [&mut ta, &mut tc, &mut sa, &mut sc] {
            v.sort();
        }
        a.state() == State::Running && c.state() == State::Running && ta.len() == 2 && tc.len() == 2 && sa == tc && sc == ta
    });
    b.produce("input", &records(12, 10, "b"));
    wait_until("counts of 20", Duration::from_secs(30), || b.final_counts(false) == expect_counts(12, 20));
    assert!(a.close(Duration::from_secs(30)));
    wait_until("c owns every task", Duration::from_secs(30), || local_tasks(&c).len() == 4 && c.state() == State::Running);
    b.produce("input", &records(12, 10, "c"));
    wait_until("counts of 30", Duration::from_secs(30), || b.final_counts(false) == expect_counts(12, 30));
    assert_eq!(b.read_all("output", false).len(), 12 * 30, "nothing processed twice");
    assert!(c.close(Duration::from_secs(30)));
}
