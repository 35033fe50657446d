use std::fs;

use brook_state_store::{
    restore_start_offset, ChangelogRecord, CollectingChangelogSink, Error, KeyValueStore, OffsetCheckpoint, Offsets, OpenOutcome,
    SessionKeySchema, StoreContext, Stores, Window, WindowKeySchema,
};
use brook_common::TopicPartition;
use bytes::Bytes;

use crate::{b, both_backends, Fixture, Kind};

both_backends!(restore_from_changelog, restore_window_store, restore_session_store);

fn records(n: i64) -> Vec<ChangelogRecord> {
    (0..n)
        .map(move |i| ChangelogRecord {
            key: Bytes::from(format!("k{:05}", i % 15_000)),
            value: if i == n - 1 { None } else { Some(Bytes::from(format!("v{i}"))) },
            offset: i,
            timestamp: i,
        })
        .collect()
}

fn restore_from_changelog(kind: Kind) {
    let f = Fixture::new();
    let mut st = f.kv(kind, "kv", true);
    // In write batches of 10,000, as the runtime restores.
    for batch in records(25_000).chunks(10_000) {
        st.restore_batch(batch).unwrap();
    }
    assert_eq!(st.get(b"k00001").unwrap(), Some(b("v15001")), "later records win");
    assert_eq!(st.get(b"k09998").unwrap(), Some(b("v24998")));
    assert_eq!(st.get(b"k10000").unwrap(), Some(b("v10000")));
    assert_eq!(st.get(b"k09999").unwrap(), None, "the tombstone deleted it");
    assert_eq!(st.all().unwrap().count(), 14_999);
    assert!(f.sink.records().is_empty(), "restoring is not logged");
}

fn restore_window_store(kind: Kind) {
    let f = Fixture::new();
    let mut st = f.window(kind, "w", 120_000, 10, false, false);
    let rec = |start: i64, off: i64| ChangelogRecord {
        key: WindowKeySchema::to_store_key_binary(b"k", start, 0),
        value: Some(Bytes::from(start.to_string())),
        offset: off,
        timestamp: start,
    };
    let recs = vec![rec(0, 0), rec(70_000, 1), rec(300_000, 2)];
    st.restore_batch(&recs).unwrap();
    assert_eq!(st.observed_stream_time(), 300_000);
    let got: Vec<_> = st.fetch(b"k", 0, i64::MAX).unwrap().map(|r| r.unwrap().0).collect();
    assert_eq!(got, vec![300_000], "expired records are not restored");
    let bad = ChangelogRecord { key: b("short"), value: None, offset: 3, timestamp: 0 };
    assert!(matches!(st.restore_batch(&[bad]), Err(Error::Decode { .. })));
}

fn restore_session_store(kind: Kind) {
    let f = Fixture::new();
    let mut st = f.session(kind, "s", 120_000, false);
    let rec = |start: i64, end: i64, off: i64| ChangelogRecord {
        key: SessionKeySchema::to_binary(b"k", Window::new(start, end)),
        value: Some(Bytes::from(end.to_string())),
        offset: off,
        timestamp: end,
    };
    st.restore_batch(&[rec(0, 10, 0), rec(60_000, 70_000, 1), rec(290_000, 300_000, 2)]).unwrap();
    let got: Vec<_> = st.fetch(b"k").unwrap().map(|r| r.unwrap().0.window).collect();
    assert_eq!(got, vec![Window::new(290_000, 300_000)], "sessions of expired segments are not restored");
    assert_eq!(st.fetch_session(b"k", 290_000, 300_000).unwrap(), Some(b("300000")));
    assert!(f.sink.records().is_empty(), "restoring is not logged");
    let bad = ChangelogRecord { key: b("short"), value: None, offset: 3, timestamp: 0 };
    assert!(matches!(st.restore_batch(&[bad]), Err(Error::Decode { .. })));
}

#[test]
fn checkpoint_file_round_trip() {
    let f = Fixture::new();
    let cp = OffsetCheckpoint::for_task_dir(&f.ctx.task_dir());
    assert!(cp.read().unwrap().is_empty());
    let offsets = [(TopicPartition::new("app-a-changelog", 1), 10), (TopicPartition::new("app-b-changelog", 1), 20)].into_iter().collect();
    cp.write(&offsets).unwrap();
    assert_eq!(cp.read().unwrap(), offsets);
    assert!(!cp.path().with_extension("tmp").exists(), "temp file renamed away");
    let text = fs::read_to_string(cp.path()).unwrap();
    assert_eq!(text, "0\n2\napp-a-changelog 1 10\napp-b-changelog 1 20\n");

    // With a clean reopen the checkpoint decides where restoring starts.
    let mut st = f.kv(Kind::RocksDb, "a", false);
    st.put(b("x"), Some(b("1"))).unwrap();
    st.close().unwrap();
    let st = f.kv(Kind::RocksDb, "a", false);
    assert_eq!(st.open_outcome(), OpenOutcome::Opened);
    assert_eq!(restore_start_offset(&*st, cp.read().unwrap().get(&TopicPartition::new("app-a-changelog", 1)).copied()), Some(11));
    assert_eq!(st.get(b"x").unwrap(), Some(b("1")));
}

fn tx_store(dir: &std::path::Path, sink: &CollectingChangelogSink) -> Box<dyn KeyValueStore> {
    let ctx = StoreContext::new(dir, "app", "0_0", 0).with_changelog_sink(sink.shared()).with_transactional_offsets(true);
    Stores::persistent_key_value_store("tx").build(&ctx).unwrap()
}

#[test]
fn transactional_offset_is_stored_with_the_data() {
    let dir = tempfile::tempdir().unwrap();
    let sink = CollectingChangelogSink::new();
    let mut st = tx_store(dir.path(), &sink);
    assert_eq!(st.open_outcome(), OpenOutcome::Created);
    assert_eq!(st.committed_offset(), None);
    st.put(b("a"), Some(b("1"))).unwrap();
    st.flush().unwrap();
    st.commit(Some(41)).unwrap();
    st.put(b("b"), Some(b("2"))).unwrap();
    st.flush().unwrap();
    assert_eq!(st.get(b"b").unwrap(), Some(b("2")), "uncommitted writes are readable");
    // Crash: the store is dropped without commit or close.
    drop(st);
    let mut st = tx_store(dir.path(), &sink);
    assert_eq!(st.open_outcome(), OpenOutcome::Opened);
    assert_eq!(st.committed_offset(), Some(41));
    assert_eq!(restore_start_offset(&*st, None), Some(42), "replay only the tail");
    assert_eq!(st.get(b"a").unwrap(), Some(b("1")));
    assert_eq!(st.get(b"b").unwrap(), None, "data of the unfinished transaction is not in RocksDB");
    // Restoring the tail also advances the stored offset atomically.
    let tail = vec![ChangelogRecord { key: b("b"), value: Some(b("2")), offset: 42, timestamp: 0 }];
    st.restore_batch(&tail).unwrap();
    st.close().unwrap();
    let st = tx_store(dir.path(), &sink);
    assert_eq!(st.committed_offset(), Some(42));
    assert_eq!(st.get(b"b").unwrap(), Some(b("2")));
}

fn corrupt_and_reopen(damage: impl Fn(&std::path::Path)) -> OpenOutcome {
    let f = Fixture::new();
    let mut st = f.kv(Kind::RocksDb, "kv", false);
    st.put(b("a"), Some(b("1"))).unwrap();
    st.close().unwrap();
    drop(st);
    damage(&f.ctx.store_dir("kv"));
    let st = f.kv(Kind::RocksDb, "kv", false);
    let outcome = st.open_outcome();
    assert!(outcome.needs_full_restore());
    assert_eq!(st.get(b"a").unwrap(), None, "wiped");
    assert_eq!(restore_start_offset(&*st, Some(100)), None, "a wiped store ignores its checkpoint");
    outcome
}

#[test]
fn corrupted_store_dir_is_wiped() {
    let outcome = corrupt_and_reopen(|dir| {
        for e in fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            let name = p.file_name().unwrap().to_string_lossy().to_string();
            if name.starts_with("MANIFEST") || name == "CURRENT" {
                fs::write(&p, b"garbage garbage garbage").unwrap();
            }
        }
    });
    assert!(matches!(outcome, OpenOutcome::Wiped { .. }), "{outcome:?}");
}

#[test]
fn incompatible_store_dir_is_wiped() {
    let outcome = corrupt_and_reopen(|dir| fs::write(dir.join("BROOK-FORMAT"), "brook-state-store 99\n").unwrap());
    assert!(matches!(outcome, OpenOutcome::Wiped { ref reason } if reason.contains("incompatible")), "{outcome:?}");
}

#[test]
fn io_errors_surface_as_errors() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("not-a-dir");
    fs::write(&file, b"x").unwrap();
    let ctx = StoreContext::new(&file, "app", "0_0", 0);
    let err = Stores::persistent_key_value_store("kv").build(&ctx).unwrap_err();
    assert!(matches!(err, Error::Io { .. } | Error::RocksDb { .. }), "{err}");
    let cp = OffsetCheckpoint::new(file.join(".checkpoint"));
    assert!(matches!(cp.write(&Default::default()), Err(Error::Io { .. })));
    assert!(matches!(Stores::in_memory_key_value_store("a/b").build(&ctx), Err(Error::Config { .. })));
}

#[test]
fn state_manager_checkpoints_persistent_stores() {
    use std::collections::BTreeMap;

    use brook_state_store::{AnyStore, StateManager};

    let f = Fixture::new();
    let mut task = StateManager::new(f.ctx.clone());
    task.register(f.kv(Kind::RocksDb, "p", true).into());
    task.register(f.kv(Kind::InMemory, "m", true).into());
    task.register(AnyStore::Window(f.window(Kind::RocksDb, "w", 3_600_000, 10, false, true)));
    task.get_mut("p").unwrap().as_key_value_mut().unwrap().put(b("k"), Some(b("v"))).unwrap();
    task.get_mut("w").unwrap().as_window_mut().unwrap().put(b("k"), Some(b("v")), 5).unwrap();
    assert!(task.get_mut("w").unwrap().as_session_mut().is_none());
    task.commit(&BTreeMap::from([("p".to_owned(), 5), ("m".to_owned(), 7), ("w".to_owned(), 3)])).unwrap();
    assert_eq!(f.sink.records().len(), 2, "commit flushed the caches into the changelog");
    let file = OffsetCheckpoint::for_task_dir(&f.ctx.task_dir());
    assert!(file.read().unwrap().is_empty(), "8 records: below Kafka's threshold, no checkpoint written");
    let p_w = |p: i64| -> Offsets {
        [(TopicPartition::new("app-p-changelog", 1), p), (TopicPartition::new("app-w-changelog", 1), 3)].into_iter().collect()
    };
    task.commit(&BTreeMap::from([("p".to_owned(), 10_005)])).unwrap();
    assert_eq!(file.read().unwrap(), p_w(10_005), "past 10,000 records a commit writes the checkpoint");
    task.commit(&BTreeMap::from([("p".to_owned(), 10_010)])).unwrap();
    assert_eq!(file.read().unwrap(), p_w(10_005), "5 records since: the file is left as it is");
    task.close().unwrap();
    assert_eq!(file.read().unwrap(), p_w(10_010), "a clean close writes the latest offsets");

    let mut task = StateManager::new(f.ctx.clone());
    task.register(f.kv(Kind::RocksDb, "p", true).into());
    task.register(f.kv(Kind::InMemory, "m", true).into());
    let starts = task.restore_start_offsets().unwrap();
    assert_eq!(starts, BTreeMap::from([("m".to_owned(), None), ("p".to_owned(), Some(10_011))]));
    assert_eq!(task.store_names().collect::<Vec<_>>(), ["m", "p"]);
}

#[test]
fn state_manager_in_transactional_mode_needs_no_checkpoint() {
    use std::collections::BTreeMap;

    use brook_state_store::StateManager;

    let dir = tempfile::tempdir().unwrap();
    let sink = CollectingChangelogSink::new();
    let ctx = StoreContext::new(dir.path(), "app", "0_0", 0).with_changelog_sink(sink.shared()).with_transactional_offsets(true);
    let mut task = StateManager::new(ctx.clone());
    task.register(tx_store(dir.path(), &sink).into());
    task.get_mut("tx").unwrap().as_key_value_mut().unwrap().put(b("k"), Some(b("v"))).unwrap();
    task.commit(&BTreeMap::from([("tx".to_owned(), 9)])).unwrap();
    assert!(!OffsetCheckpoint::for_task_dir(&ctx.task_dir()).path().exists());
    drop(task); // crash
    let mut task = StateManager::new(ctx);
    task.register(tx_store(dir.path(), &sink).into());
    assert_eq!(task.restore_start_offsets().unwrap()["tx"], Some(10));
    assert_eq!(task.get_mut("tx").unwrap().as_key_value_mut().unwrap().get(b"k").unwrap(), Some(b("v")));
}
