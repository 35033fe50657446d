//! Compaction tests.

use std::collections::BTreeMap;

use crate::config::{CleanupPolicy, TopicConfig};
use crate::record::batch::split_batches;
use crate::record::{control_batch, decode_batch, BatchBuilder, Compression, ControlType};

use super::cleaner::CRASH_AFTER;
use super::Log;

const DAY: i64 = 24 * 3600 * 1000;

fn compacted(segment_bytes: u64) -> TopicConfig {
    TopicConfig {
        cleanup_policy: CleanupPolicy { delete: false, compact: true },
        segment_bytes,
        index_interval_bytes: 0,
        min_cleanable_dirty_ratio: 0.0,
        ..TopicConfig::default()
    }
}

/// Appends one record `key -> value` (None: tombstone); returns its offset.
fn put(log: &mut Log, ts: i64, key: &str, value: Option<&str>) -> i64 {
    let mut b = BatchBuilder::new(Compression::None);
    b.push(ts, Some(key.as_bytes()), value.map(str::as_bytes), &[]);
    log.append(&mut b.build().unwrap(), ts).unwrap().first_offset
}

/// Every record in the log: offset -> (key, value).
fn contents(log: &Log) -> BTreeMap<i64, (String, Option<String>)> {
    let mut out = BTreeMap::new();
    let r = log.read(log.log_start_offset(), usize::MAX, i64::MAX).unwrap();
    for (h, range) in split_batches(&r.records).unwrap() {
        if h.is_control() {
            continue;
        }
        let (_, records) = decode_batch(&r.records[range]).unwrap();
        for rec in records {
            let k = String::from_utf8(rec.key.unwrap().to_vec()).unwrap();
            let v = rec.value.map(|v| String::from_utf8(v.to_vec()).unwrap());
            out.insert(rec.offset, (k, v));
        }
    }
    out
}

/// Writes 5 keys x 8 rounds (one record per batch) at timestamps 1000.. and returns what was
/// written, offset -> (key, value).
fn fill(log: &mut Log) -> BTreeMap<i64, (String, Option<String>)> {
    let mut written = BTreeMap::new();
    for round in 0..8 {
        for k in 0..5 {
            let (key, value) = (format!("key{k}"), format!("v{round}"));
            let off = put(log, 1_000 + round * 10 + k, &key, Some(&value));
            written.insert(off, (key, Some(value)));
        }
    }
    written
}

/// The latest record of each key in `written`, offset -> (key, value).
fn latest(written: &BTreeMap<i64, (String, Option<String>)>) -> BTreeMap<String, (i64, Option<String>)> {
    let mut m = BTreeMap::new();
    for (off, (k, v)) in written {
        m.insert(k.clone(), (*off, v.clone()));
    }
    m
}

#[test]
fn keeps_the_latest_value_per_key_at_its_offset() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = Log::open(dir.path().to_path_buf(), compacted(400)).unwrap();
    let written = fill(&mut log);
    let end = log.log_end_offset();
    let active = *log.segment_base_offsets().last().unwrap();
    assert!(log.segment_base_offsets().len() > 3);
    let size = log.size_bytes();
    let stats = log.compact(10_000).unwrap();
    assert!(stats.segments_cleaned > 0 && stats.records_removed > 0, "{stats:?}");
    assert!(log.size_bytes() < size);
    assert_eq!(log.log_end_offset(), end, "the end offset never moves");
    let now = contents(&log);
    for (off, kv) in &now {
        assert_eq!(written.get(off), Some(kv), "record at {off} keeps its offset and data");
    }
    let want = latest(&written);
    for (k, (off, _)) in &want {
        assert!(now.contains_key(off), "latest record of {k} kept");
    }
    for (off, (k, _)) in &now {
        assert!(*off >= active || want[k].0 == *off, "superseded record {off} of {k} in a closed segment dropped");
    }
    assert!(now.len() < written.len());
    let segments = log.segment_base_offsets().len();
    let second = log.compact(10_000).unwrap();
    assert_eq!(second.records_removed, 0, "a second pass drops nothing more");
    assert!(log.segment_base_offsets().len() < segments, "but merges the small cleaned segments");
    assert_eq!(contents(&log), now);
    assert_eq!(log.compact(10_000).unwrap().segments_cleaned, 0, "a third pass has nothing to do");
    drop(log);
    let log = Log::open(dir.path().to_path_buf(), compacted(400)).unwrap();
    assert_eq!(contents(&log), now, "compacted log reopens the same");
    assert_eq!(log.log_end_offset(), end);
}

#[test]
fn tombstones_expire_after_delete_retention() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = Log::open(dir.path().to_path_buf(), compacted(150)).unwrap();
    let a1 = put(&mut log, 1_000, "a", Some("1"));
    let tomb = put(&mut log, 2_000, "a", None);
    let b1 = put(&mut log, 3_000, "b", Some("1"));
    for i in 0..4 {
        put(&mut log, 4_000 + i, "c", Some("x"));
    }
    assert!(*log.segment_base_offsets().last().unwrap() > b1, "a, its tombstone and b are in closed segments");
    log.compact(2_000 + DAY - 1).unwrap();
    let now = contents(&log);
    assert!(!now.contains_key(&a1), "value shadowed by the tombstone is gone");
    assert_eq!(now.get(&tomb), Some(&("a".to_string(), None)), "tombstone kept within delete.retention.ms");
    log.compact(2_000 + DAY + 1).unwrap();
    let now = contents(&log);
    assert!(!now.contains_key(&tomb), "tombstone dropped after delete.retention.ms");
    assert!(now.contains_key(&b1));
}

#[test]
fn min_compaction_lag_protects_recent_records() {
    let dir = tempfile::tempdir().unwrap();
    let config = TopicConfig { min_compaction_lag_ms: 1_000, ..compacted(400) };
    let mut log = Log::open(dir.path().to_path_buf(), config).unwrap();
    let written = fill(&mut log);
    let stats = log.compact(1_050).unwrap();
    assert_eq!(stats.segments_cleaned, 0, "every segment is newer than the lag");
    assert_eq!(contents(&log), written);
    assert!(log.compact(1_000 + 1_000 + 80).unwrap().segments_cleaned > 0);
}

#[test]
fn delete_policy_does_not_compact() {
    let dir = tempfile::tempdir().unwrap();
    let config = TopicConfig { cleanup_policy: CleanupPolicy { delete: true, compact: false }, ..compacted(400) };
    let mut log = Log::open(dir.path().to_path_buf(), config).unwrap();
    let written = fill(&mut log);
    assert_eq!(log.compact(i64::MAX / 2).unwrap().segments_cleaned, 0);
    assert_eq!(contents(&log), written);
}

#[test]
fn a_crash_at_any_step_of_the_swap_recovers() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = Log::open(dir.path().to_path_buf(), compacted(400)).unwrap();
    fill(&mut log);
    log.compact(10_000).unwrap();
    let reference = contents(&log);
    // With segment.bytes raised after writing, the pass merges all closed segments into one.
    for (step, merge) in [(1u8, false), (2, false), (3, false), (1, true), (2, true), (3, true)] {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().to_path_buf();
        let mut log = Log::open(path.clone(), compacted(400)).unwrap();
        let written = fill(&mut log);
        let end = log.log_end_offset();
        let config = if merge { compacted(100_000) } else { compacted(400) };
        log.set_config(config.clone());
        CRASH_AFTER.with(|c| c.set(step));
        let res = log.compact(10_000);
        CRASH_AFTER.with(|c| c.set(0));
        assert!(res.is_err(), "step {step}: the injected crash stops the pass");
        drop(log);
        let mut log = Log::open(path.clone(), config).unwrap();
        let leftovers: Vec<String> = std::fs::read_dir(&path)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .filter(|n| n.ends_with(".cleaned") || n.ends_with(".swap"))
            .collect();
        assert!(leftovers.is_empty(), "step {step}: {leftovers:?}");
        assert_eq!(log.log_end_offset(), end);
        let now = contents(&log);
        for (off, kv) in &now {
            assert_eq!(written.get(off), Some(kv));
        }
        for (k, (off, _)) in latest(&written) {
            assert!(now.contains_key(&off), "step {step}: latest record of {k} survives");
        }
        if step >= 2 {
            assert!(now.len() < written.len(), "step {step}: the committed swap was completed");
        } else {
            assert_eq!(now, written, "step 1: the uncommitted cleaning is discarded");
        }
        log.compact(10_000).unwrap();
        assert_eq!(contents(&log), reference, "step {step}: a later pass gives the same result");
        if merge {
            assert_eq!(log.segment_base_offsets().len(), 2, "closed segments merged into one");
        }
    }
}

#[test]
fn transactions_only_supersede_once_committed() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = Log::open(dir.path().to_path_buf(), compacted(400)).unwrap();
    let a1 = put(&mut log, 1_000, "a", Some("1"));
    let b1 = put(&mut log, 1_000, "b", Some("1"));
    let txn = |log: &mut Log, pid: i64, key: &str, value: &str, marker: ControlType| {
        let mut b = BatchBuilder::new(Compression::None);
        b.producer(pid, 0, 0).transactional(true).push(1_000, Some(key.as_bytes()), Some(value.as_bytes()), &[]);
        let off = log.append(&mut b.build().unwrap(), 1_000).unwrap().first_offset;
        log.append(&mut control_batch(pid, 0, marker, 0, 1_000), 1_000).unwrap();
        off
    };
    let aborted = txn(&mut log, 7, "a", "2", ControlType::Abort);
    let committed = txn(&mut log, 8, "b", "2", ControlType::Commit);
    for i in 0..20 {
        put(&mut log, 2_000 + i, "filler", Some("x"));
    }
    log.compact(10_000).unwrap();
    let now = contents(&log);
    assert!(now.contains_key(&a1), "an aborted write does not supersede a1");
    assert!(now.contains_key(&aborted), "aborted data is left alone");
    assert!(!now.contains_key(&b1), "a committed write supersedes b1");
    assert!(now.contains_key(&committed));
    let r = log.read(0, usize::MAX, i64::MAX).unwrap();
    let markers = split_batches(&r.records).unwrap().iter().filter(|(h, _)| h.is_control()).count();
    assert_eq!(markers, 2, "control batches are kept");
}

#[test]
fn compressed_multi_record_batches_are_rebuilt() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = Log::open(dir.path().to_path_buf(), compacted(150)).unwrap();
    let mut written = BTreeMap::new();
    for round in 0..6 {
        let mut b = BatchBuilder::new(Compression::Gzip);
        for k in 0..4 {
            let key = format!("key{}", (k + round) % 6);
            b.push(1_000 + round, Some(key.as_bytes()), Some(format!("r{round}").as_bytes()), &[]);
        }
        let info = log.append(&mut b.build().unwrap(), 1_000).unwrap();
        for k in 0..4 {
            written.insert(info.first_offset + k, (format!("key{}", (k + round) % 6), Some(format!("r{round}"))));
        }
    }
    assert!(log.segment_base_offsets().len() > 2);
    let stats = log.compact(5_000).unwrap();
    assert!(stats.records_removed > 0);
    let r = log.read(0, usize::MAX, i64::MAX).unwrap();
    for (h, range) in split_batches(&r.records).unwrap() {
        assert_eq!(h.compression(), Compression::Gzip.id(), "batches keep their codec");
        crate::record::batch::validate(&r.records[range]).unwrap();
    }
    let now = contents(&log);
    for (off, kv) in &now {
        assert_eq!(written.get(off), Some(kv));
    }
    for (k, (off, _)) in latest(&written) {
        assert!(now.contains_key(&off), "latest record of {k} kept");
    }
}

#[test]
fn dirty_ratio_and_tombstone_expiry_trigger_passes() {
    let dir = tempfile::tempdir().unwrap();
    let config = TopicConfig { min_cleanable_dirty_ratio: 0.5, ..compacted(150) };
    let mut log = Log::open(dir.path().to_path_buf(), config).unwrap();
    put(&mut log, 1_000, "a", Some("1"));
    let tomb = put(&mut log, 2_000, "a", None);
    for i in 0..6 {
        put(&mut log, 3_000 + i, "b", Some("x"));
    }
    let first = log.compact(10_000).unwrap();
    assert!(first.records_removed > 0, "everything is dirty at first");
    let segments = log.segment_base_offsets();
    let kept = contents(&log);
    assert!(kept.contains_key(&tomb));
    assert_eq!(log.compact(20_000).unwrap(), Default::default(), "nothing dirty: the pass is skipped");
    assert_eq!(log.segment_base_offsets(), segments, "not even merged");
    let stats = log.compact(2_000 + DAY + 1).unwrap();
    assert!(stats.records_removed > 0, "the kept tombstone expired: a pass runs");
    assert!(!contents(&log).contains_key(&tomb));
    // New closed segments make the log dirty again.
    for i in 0..8 {
        put(&mut log, 5_000 + i, "b", Some("y"));
    }
    assert!(log.compact(2_000 + DAY + 2).unwrap().records_removed > 0);
}

/// Opens a log whose compaction offset map has room for `keys` keys only.
fn open_with_map_room(path: std::path::PathBuf, config: TopicConfig, keys: usize) -> Log {
    let shared = std::sync::Arc::new(super::LogShared {
        files: super::FilePool::new(64),
        // 32-byte slots filled to 0.9: `keys + 1` slots hold `keys` keys for small `keys`.
        dedupe_buffer_size: (keys + 1) * 32,
    });
    Log::open_in(path, config, shared).unwrap()
}

/// The same history for both logs: 12 keys x 6 rounds in multi-record batches (some values are
/// tombstones), a committed and an aborted transaction in the middle, then a few more rounds.
fn history(log: &mut Log) {
    let round = |log: &mut Log, r: i64| {
        let mut b = BatchBuilder::new(Compression::None);
        for k in 0..12 {
            let value = ((k + r) % 5 != 0).then(|| format!("r{r}"));
            b.push(1_000 + r, Some(format!("key{k}").as_bytes()), value.as_deref().map(str::as_bytes), &[]);
        }
        log.append(&mut b.build().unwrap(), 1_000 + r).unwrap();
    };
    for r in 0..3 {
        round(log, r);
    }
    for (pid, marker) in [(7, ControlType::Commit), (8, ControlType::Abort)] {
        let mut b = BatchBuilder::new(Compression::None);
        b.producer(pid, 0, 0).transactional(true);
        for k in 0..4 {
            b.push(1_100, Some(format!("key{k}").as_bytes()), Some(format!("txn{pid}").as_bytes()), &[]);
        }
        log.append(&mut b.build().unwrap(), 1_100).unwrap();
        log.append(&mut control_batch(pid, 0, marker, 0, 1_100), 1_100).unwrap();
    }
    for r in 3..6 {
        round(log, r);
    }
}

#[test]
fn a_tiny_offset_map_compacts_in_several_passes_like_an_unbounded_one() {
    let dir = tempfile::tempdir().unwrap();
    let config = compacted(300);
    let mut tiny = open_with_map_room(dir.path().join("tiny"), config.clone(), 3);
    let mut roomy = open_with_map_room(dir.path().join("roomy"), config, 1 << 16);
    history(&mut tiny);
    history(&mut roomy);
    assert!(roomy.segment_base_offsets().len() > 4);
    let before = contents(&roomy);
    // Tombstones kept (within delete.retention.ms), then expired.
    for now in [10_000, 10 * DAY] {
        let t = tiny.compact(now).unwrap();
        let r = roomy.compact(now).unwrap();
        assert_eq!(r.passes, 1, "at {now}");
        assert!(t.passes > 3, "12 keys through a 3-key map take several passes, got {}", t.passes);
        assert_eq!(contents(&tiny), contents(&roomy), "at {now}");
    }
    // Expired tombstones gone (but in the active segment, never cleaned): the latest committed
    // value of each key, and the aborted data.
    let active = *roomy.segment_base_offsets().last().unwrap();
    let aborted = |v: &Option<String>| v.as_deref() == Some("txn8");
    let committed: BTreeMap<i64, _> = before.clone().into_iter().filter(|(_, (_, v))| !aborted(v)).collect();
    let mut expected: BTreeMap<i64, (String, Option<String>)> = latest(&committed)
        .into_iter()
        .filter(|(_, (off, v))| v.is_some() || *off >= active)
        .map(|(k, (off, v))| (off, (k, v)))
        .collect();
    expected.extend(before.into_iter().filter(|(_, (_, v))| aborted(v)));
    assert_eq!(contents(&roomy), expected);
    assert_eq!(tiny.log_end_offset(), roomy.log_end_offset());
}
