//! Behaviour tests of the partition log: append/read, rolls, recovery, indexes, retention,
//! DeleteRecords, time lookups, flush policy. Compaction tests live in `cleaner_tests`.

use std::fs::OpenOptions;
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::config::{TimestampType, TopicConfig};
use crate::error::Error;
use crate::record::batch::{split_batches, validate, BatchHeader};
use crate::record::{BatchBuilder, Compression};

use super::segment::file_name;
use super::{Log, ReadResult};

/// An uncompressed batch of `n` records (`k<i>` -> `v<i>`), timestamps `ts, ts+1, ...`.
pub(super) fn batch(n: usize, ts: i64) -> Vec<u8> {
    let mut b = BatchBuilder::new(Compression::None);
    for i in 0..n {
        let k = format!("k{i}");
        let v = format!("value-{i}-{}", "x".repeat(i % 7));
        b.push(ts + i as i64, Some(k.as_bytes()), Some(v.as_bytes()), &[]);
    }
    b.build().unwrap()
}

pub(super) fn cfg() -> TopicConfig {
    TopicConfig::default()
}

pub(super) fn small_segments(bytes: u64) -> TopicConfig {
    TopicConfig {
        segment_bytes: bytes,
        index_interval_bytes: 0,
        ..TopicConfig::default()
    }
}

fn headers_of(bytes: &[u8]) -> Vec<BatchHeader> {
    split_batches(bytes)
        .unwrap()
        .into_iter()
        .map(|(h, r)| {
            validate(&bytes[r]).expect("every batch read back has a valid CRC");
            h
        })
        .collect()
}

/// Appends `count` batches of 1..=3 records each; returns (base offset, bytes as stored).
fn fill(log: &mut Log, count: usize, ts0: i64) -> Vec<(i64, Vec<u8>)> {
    let mut out = Vec::new();
    for i in 0..count {
        let mut b = batch(1 + i % 3, ts0 + 10 * i as i64);
        let info = log.append(&mut b, ts0 + i as i64).unwrap();
        assert_eq!(info.bytes, b.len());
        out.push((info.first_offset, b));
    }
    out
}

fn read_all(log: &Log) -> Vec<u8> {
    let mut out = Vec::new();
    let mut at = log.log_start_offset();
    while at < log.log_end_offset() {
        let r = log.read(at, 300, i64::MAX).unwrap();
        assert!(!r.records.is_empty(), "read at {at} returned nothing below the end");
        assert!(r.next_offset > at);
        out.extend_from_slice(&r.records);
        at = r.next_offset;
    }
    out
}

fn seg_path(dir: &Path, base: i64, suffix: &str) -> PathBuf {
    dir.join(file_name(base, suffix))
}

#[test]
fn append_read_round_trip_across_rolls() {
    for interval in [0, 150, 4096] {
        round_trip(TopicConfig { index_interval_bytes: interval, ..small_segments(400) });
    }
}

fn round_trip(config: TopicConfig) {
    let dir = tempfile::tempdir().unwrap();
    let mut log = Log::open(dir.path().join("t-0"), config.clone()).unwrap();
    let written = fill(&mut log, 40, 1_000);
    let mut expect = 0;
    for (base, b) in &written {
        assert_eq!(*base, expect, "offsets are contiguous");
        let h = BatchHeader::parse(b).unwrap();
        assert_eq!(h.base_offset, *base, "base offset patched into the caller's buffer");
        expect = h.next_offset();
    }
    assert_eq!(log.log_end_offset(), expect);
    assert!(log.segment_base_offsets().len() > 5, "tiny segments roll");
    let all: Vec<u8> = written.iter().flat_map(|(_, b)| b.clone()).collect();
    assert_eq!(read_all(&log), all);
    assert_eq!(&log.read(0, usize::MAX, i64::MAX).unwrap().records[..], &all[..], "one read spans segments");
    assert_eq!(log.size_bytes(), all.len() as u64);
    for (base, b) in &written {
        let h = BatchHeader::parse(b).unwrap();
        for off in h.base_offset..=h.last_offset() {
            let r = log.read(off, 1, i64::MAX).unwrap();
            assert_eq!(&r.records[..], &b[..], "read at {off} gives the containing batch {base}");
            assert_eq!(r.next_offset, h.next_offset());
        }
    }
    drop(log);
    let log = Log::open(dir.path().join("t-0"), config).unwrap();
    assert_eq!(log.log_end_offset(), expect);
    assert_eq!(read_all(&log), all, "same data after reopen");
    for (_, b) in &written {
        let h = BatchHeader::parse(b).unwrap();
        let r = log.read(h.last_offset(), 1, i64::MAX).unwrap();
        assert_eq!(&r.records[..], &b[..], "index lookups after reopen");
    }
}

#[test]
fn max_bytes_upto_and_range() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = Log::open(dir.path().to_path_buf(), cfg()).unwrap();
    let written = fill(&mut log, 10, 0);
    let one = written[0].1.len();
    let r = log.read(0, 1, i64::MAX).unwrap();
    assert_eq!(r.records.len(), one, "at least one whole batch even past max_bytes");
    let two = one + written[1].1.len();
    let r = log.read(0, two + written[2].1.len() - 1, i64::MAX).unwrap();
    assert_eq!(r.records.len(), two, "whole batches only, within max_bytes");
    assert_eq!(headers_of(&r.records).len(), 2);
    let upto = written[3].0;
    let r = log.read(0, 1 << 20, upto).unwrap();
    let hs = headers_of(&r.records);
    assert_eq!(hs.len(), 3);
    assert!(hs.iter().all(|h| h.base_offset < upto));
    assert_eq!(r.next_offset, upto);
    let r = log.read(upto, 1 << 20, upto).unwrap();
    assert!(r.records.is_empty());
    assert_eq!(r.next_offset, upto);
    let end = log.log_end_offset();
    assert_eq!(
        log.read(end, 100, i64::MAX).unwrap(),
        ReadResult { records: bytes::Bytes::new(), next_offset: end }
    );
    assert!(matches!(log.read(end + 1, 100, i64::MAX), Err(Error::OffsetOutOfRange { offset, .. }) if offset == end + 1));
    assert!(matches!(log.read(-1, 100, i64::MAX), Err(Error::OffsetOutOfRange { .. })));
}

#[test]
fn multi_batch_append_and_limits() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = Log::open(dir.path().to_path_buf(), TopicConfig { max_message_bytes: 300, ..cfg() }).unwrap();
    let mut two = batch(2, 5);
    two.extend_from_slice(&batch(3, 50));
    let info = log.append(&mut two, 7).unwrap();
    assert_eq!((info.first_offset, info.last_offset), (0, 4));
    assert_eq!((info.max_timestamp, info.offset_of_max_timestamp), (52, 4));
    let hs = headers_of(&log.read(0, 1 << 20, i64::MAX).unwrap().records);
    assert_eq!(hs.iter().map(|h| h.base_offset).collect::<Vec<_>>(), vec![0, 2]);
    let mut big = batch(30, 0);
    assert!(matches!(log.append(&mut big, 8), Err(Error::MessageTooLarge { max: 300, .. })));
    let mut torn = batch(1, 0);
    torn.pop();
    assert!(matches!(log.append(&mut torn, 8), Err(Error::Corrupt(_))));
    assert_eq!(log.log_end_offset(), 5, "failed appends change nothing");
    let info = log.append(&mut [], 9).unwrap();
    assert_eq!((info.first_offset, info.last_offset, info.bytes), (5, 4, 0));
}

#[test]
fn log_append_time_is_stamped() {
    let dir = tempfile::tempdir().unwrap();
    let config = TopicConfig { timestamp_type: TimestampType::LogAppendTime, ..cfg() };
    let mut log = Log::open(dir.path().to_path_buf(), config).unwrap();
    let mut b = batch(2, 5);
    let info = log.append(&mut b, 12_345).unwrap();
    assert_eq!(info.max_timestamp, 12_345);
    let r = log.read(0, 1000, i64::MAX).unwrap();
    let h = validate(&r.records).expect("CRC recomputed after stamping");
    assert!(h.is_log_append_time());
    assert_eq!(h.max_timestamp, 12_345);
}

#[test]
fn append_with_offsets_keeps_offsets() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = Log::open(dir.path().to_path_buf(), small_segments(200)).unwrap();
    let mut b = BatchBuilder::new(Compression::None);
    b.base_offset(10).push(1, Some(b"a"), Some(b"1"), &[]).push(2, Some(b"b"), Some(b"2"), &[]);
    let first = b.build().unwrap();
    let info = log.append_with_offsets(&first, 0).unwrap();
    assert_eq!((info.first_offset, info.last_offset), (10, 11));
    assert_eq!(log.log_end_offset(), 12);
    assert!(log.append_with_offsets(&first, 0).is_err(), "offsets below the end are rejected");
    let mut b = BatchBuilder::new(Compression::None);
    b.base_offset(20).push(3, Some(b"c"), Some(b"3"), &[]);
    log.append_with_offsets(&b.build().unwrap(), 0).unwrap();
    assert_eq!(log.log_end_offset(), 21);
    let r = log.read(12, 1 << 20, i64::MAX).unwrap();
    assert_eq!(headers_of(&r.records)[0].base_offset, 20, "a read in a gap gets the next batch");
    let mut next = batch(1, 0);
    assert_eq!(log.append(&mut next, 0).unwrap().first_offset, 21);
}

/// A wall clock far from the record timestamps the tests below append.
const NOW: i64 = 1_700_000_000_000;
const HOUR: i64 = 3_600_000;

#[test]
fn segment_ms_rolls_on_record_timestamps_not_the_wall_clock() {
    let dir = tempfile::tempdir().unwrap();
    let config = TopicConfig { segment_ms: HOUR, ..cfg() };
    let mut log = Log::open(dir.path().to_path_buf(), config.clone()).unwrap();
    // Records a month old (a replay): the wall clock is not what segment.ms measures.
    let old = NOW - 30 * 24 * HOUR;
    log.append(&mut batch(1, old), NOW).unwrap();
    log.append(&mut batch(1, old + 1), NOW + 2 * HOUR).unwrap();
    assert_eq!(log.segment_base_offsets(), vec![0], "the records span 1 ms, the wall clock 2 hours");
    drop(log);
    // After a restart the decision is the same: the first batch's timestamp against the new one's.
    let mut log = Log::open(dir.path().to_path_buf(), config).unwrap();
    log.append(&mut batch(1, old + 2), NOW + 3 * HOUR).unwrap();
    assert_eq!(log.segment_base_offsets(), vec![0], "a restart does not roll a segment of old records");
    log.append(&mut batch(1, old + HOUR), NOW + 3 * HOUR).unwrap();
    assert_eq!(log.segment_base_offsets(), vec![0], "not more than segment.ms after the first batch yet");
    log.append(&mut batch(1, old + HOUR + 1), NOW + 3 * HOUR).unwrap();
    assert_eq!(log.segment_base_offsets(), vec![0, 4], "records past segment.ms roll, the wall clock standing still");
}

#[test]
fn segment_ms_without_record_timestamps_counts_from_the_first_append() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = Log::open(dir.path().to_path_buf(), TopicConfig { segment_ms: 100, ..cfg() }).unwrap();
    log.append(&mut batch(1, -1), 1_000).unwrap();
    log.append(&mut batch(1, -1), 1_100).unwrap();
    assert_eq!(log.segment_base_offsets(), vec![0], "not older than segment.ms yet");
    log.append(&mut batch(1, -1), 1_101).unwrap();
    assert_eq!(log.segment_base_offsets(), vec![0, 2]);
}

#[test]
fn rolls_by_full_index() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = Log::open(dir.path().join("b"), TopicConfig { index_interval_bytes: 0, ..cfg() }).unwrap();
    log.set_max_index_entries(2);
    for _ in 0..4 {
        log.append(&mut batch(1, 0), 0).unwrap();
    }
    // Entries are added from the second batch on: batches 1 and 2 fill the index.
    assert_eq!(log.segment_base_offsets(), vec![0, 3]);
}

#[test]
fn set_config_applies_to_the_next_append() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = Log::open(dir.path().to_path_buf(), cfg()).unwrap();
    fill(&mut log, 5, 0);
    assert_eq!(log.segment_base_offsets().len(), 1);
    let small = small_segments(100);
    log.set_config(small.clone());
    assert_eq!(log.config(), &small);
    log.append(&mut batch(1, 0), 0).unwrap();
    assert_eq!(log.segment_base_offsets().len(), 2, "the smaller segment.bytes rolls at once");
}

/// Appends raw bytes to a file, as a crash mid-write leaves them.
fn append_raw(path: &Path, bytes: &[u8]) {
    OpenOptions::new().append(true).open(path).unwrap().write_all(bytes).unwrap();
}

fn flip_byte(path: &Path, at_from_end: u64) {
    let mut data = std::fs::read(path).unwrap();
    let at = data.len() - at_from_end as usize;
    data[at] ^= 0x5a;
    std::fs::write(path, data).unwrap();
}

#[test]
fn torn_tail_is_truncated_and_appends_continue() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_path_buf();
    let mut log = Log::open(path.clone(), small_segments(500)).unwrap();
    let written = fill(&mut log, 12, 0);
    let end = log.log_end_offset();
    let active = *log.segment_base_offsets().last().unwrap();
    let all = read_all(&log);
    drop(log);
    let active_log = seg_path(&path, active, "log");
    let good_len = std::fs::metadata(&active_log).unwrap().len();
    for cut in [1, 30, 61, 70] {
        let partial = batch(3, 0);
        append_raw(&active_log, &partial[..cut]);
        let log = Log::open(path.clone(), small_segments(500)).unwrap();
        assert_eq!(log.log_end_offset(), end, "torn tail of {cut} bytes dropped");
        assert_eq!(std::fs::metadata(&active_log).unwrap().len(), good_len);
        assert_eq!(read_all(&log), all);
    }
    // A flipped byte in the last batch: that batch goes, the others stay.
    flip_byte(&active_log, 3);
    let mut log = Log::open(path.clone(), small_segments(500)).unwrap();
    let last = &written.last().unwrap().1;
    let last_h = BatchHeader::parse(last).unwrap();
    assert_eq!(log.log_end_offset(), last_h.base_offset);
    assert_eq!(read_all(&log), all[..all.len() - last.len()]);
    let info = log.append(&mut batch(2, 0), 0).unwrap();
    assert_eq!(info.first_offset, last_h.base_offset, "appends continue at the right offset");
    drop(log);
    let log = Log::open(path, small_segments(500)).unwrap();
    assert_eq!(log.log_end_offset(), last_h.base_offset + 2);
}

#[test]
fn zero_filled_tail_and_empty_dirs() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("z-0");
    let log = Log::open(path.clone(), cfg()).unwrap();
    assert_eq!((log.log_start_offset(), log.log_end_offset(), log.size_bytes()), (0, 0, 0));
    drop(log);
    let mut log = Log::open(path.clone(), cfg()).unwrap();
    fill(&mut log, 4, 0);
    let end = log.log_end_offset();
    let all = read_all(&log);
    drop(log);
    // A preallocated or zero-filled tail, as some file systems leave after a crash.
    append_raw(&seg_path(&path, 0, "log"), &[0u8; 4096]);
    let log = Log::open(path.clone(), cfg()).unwrap();
    assert_eq!(log.log_end_offset(), end);
    assert_eq!(read_all(&log), all);
    drop(log);
    // Only the data file of the active segment is left: its indexes are rebuilt.
    std::fs::remove_file(seg_path(&path, 0, "index")).unwrap();
    std::fs::remove_file(seg_path(&path, 0, "timeindex")).unwrap();
    let log = Log::open(path.clone(), cfg()).unwrap();
    assert_eq!(read_all(&log), all);
    assert!(seg_path(&path, 0, "index").exists());
}

#[test]
fn corrupt_closed_segment_cuts_the_log_there() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_path_buf();
    let mut log = Log::open(path.clone(), small_segments(300)).unwrap();
    fill(&mut log, 20, 0);
    let bases = log.segment_base_offsets();
    assert!(bases.len() >= 4);
    drop(log);
    // Corrupt the first batch of the second segment (and lose its index, so that recovery scans
    // it): the log ends where that segment begins.
    std::fs::remove_file(seg_path(&path, bases[1], "index")).unwrap();
    let mut data = std::fs::read(seg_path(&path, bases[1], "log")).unwrap();
    data[70] ^= 0xff;
    std::fs::write(seg_path(&path, bases[1], "log"), data).unwrap();
    let mut log = Log::open(path.clone(), small_segments(300)).unwrap();
    assert_eq!(log.log_end_offset(), bases[1]);
    assert_eq!(log.segment_base_offsets(), vec![bases[0], bases[1]]);
    assert!(!seg_path(&path, bases[2], "log").exists(), "later segments deleted");
    assert_eq!(log.append(&mut batch(1, 0), 0).unwrap().first_offset, bases[1]);
}

#[test]
fn torn_closed_segment_is_found_by_the_tail_scan() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_path_buf();
    let mut log = Log::open(path.clone(), small_segments(300)).unwrap();
    let written = fill(&mut log, 20, 0);
    let bases = log.segment_base_offsets();
    drop(log);
    // The second segment loses the last 10 bytes of its last batch (its index stays valid).
    let p = seg_path(&path, bases[1], "log");
    let len = std::fs::metadata(&p).unwrap().len();
    OpenOptions::new().write(true).open(&p).unwrap().set_len(len - 10).unwrap();
    let log = Log::open(path, small_segments(300)).unwrap();
    let last_whole = written.iter().filter(|(b, _)| *b < bases[2]).nth_back(1).unwrap();
    let h = BatchHeader::parse(&last_whole.1).unwrap();
    assert_eq!(log.log_end_offset(), h.next_offset());
    assert_eq!(log.segment_base_offsets(), vec![bases[0], bases[1]]);
}

#[test]
fn missing_and_corrupt_indexes_are_rebuilt() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_path_buf();
    let mut log = Log::open(path.clone(), small_segments(600)).unwrap();
    let written = fill(&mut log, 30, 0);
    let bases = log.segment_base_offsets();
    assert!(bases.len() >= 4);
    let all = read_all(&log);
    drop(log);
    let index_len = std::fs::metadata(seg_path(&path, bases[0], "index")).unwrap().len();
    assert!(index_len > 0 && index_len.is_multiple_of(8), "closed segments have an index file");
    std::fs::remove_file(seg_path(&path, bases[0], "index")).unwrap();
    std::fs::write(seg_path(&path, bases[1], "timeindex"), [1u8; 13]).unwrap();
    // Entries that go backwards, and one pointing past the end of the log.
    let mut bad = Vec::new();
    for (rel, pos) in [(5u32, 100u32), (3, 50)] {
        bad.extend_from_slice(&rel.to_be_bytes());
        bad.extend_from_slice(&pos.to_be_bytes());
    }
    std::fs::write(seg_path(&path, bases[2], "index"), &bad).unwrap();
    std::fs::write(seg_path(&path, bases[3], "index"), [0, 0, 0, 1, 0, 1, 0, 0]).unwrap();
    let log = Log::open(path.clone(), small_segments(600)).unwrap();
    assert_eq!(read_all(&log), all);
    for (_, b) in &written {
        let h = BatchHeader::parse(b).unwrap();
        assert_eq!(&log.read(h.last_offset(), 1, i64::MAX).unwrap().records[..], &b[..]);
    }
    assert_eq!(std::fs::metadata(seg_path(&path, bases[0], "index")).unwrap().len(), index_len, "rebuilt and rewritten");
    let t = std::fs::metadata(seg_path(&path, bases[1], "timeindex")).unwrap().len();
    assert!(t.is_multiple_of(12) && t > 0);
}

#[test]
fn stray_files_are_cleaned_up() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_path_buf();
    let mut log = Log::open(path.clone(), cfg()).unwrap();
    fill(&mut log, 3, 0);
    drop(log);
    std::fs::write(path.join("00000000000000000000.log.deleted"), b"junk").unwrap();
    std::fs::write(path.join("00000000000000000007.log.cleaned"), b"junk").unwrap();
    std::fs::write(path.join("00000000000000000099.index"), b"orphan!!").unwrap();
    let log = Log::open(path.clone(), cfg()).unwrap();
    assert_eq!(log.log_end_offset(), 6);
    let names: Vec<String> = std::fs::read_dir(&path).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
    assert!(names.iter().all(|n| !n.ends_with(".deleted") && !n.ends_with(".cleaned") && !n.starts_with("00000000000000000099")), "{names:?}");
}

#[test]
fn retention_by_time_and_size() {
    let dir = tempfile::tempdir().unwrap();
    let config = TopicConfig { retention_ms: 1_000, ..small_segments(200) };
    let mut log = Log::open(dir.path().to_path_buf(), config.clone()).unwrap();
    // Batch timestamps 0, 10, 20, ...: each segment holds one or two batches.
    fill(&mut log, 20, 0);
    let before = log.segment_base_offsets();
    let first_max = log.segments.values().next().unwrap().max_timestamp;
    assert!(first_max > 0);
    assert_eq!(log.enforce_retention(first_max + 1_000).unwrap(), 0, "nothing older than retention.ms");
    assert_eq!(log.enforce_retention(first_max + 1_001).unwrap(), 1);
    let deleted = log.enforce_retention(1_000 + 95).unwrap();
    assert!(deleted > 0 && deleted + 1 < before.len());
    assert!(log.segments.values().next().unwrap().max_timestamp >= 95);
    assert_eq!(log.log_start_offset(), log.segment_base_offsets()[0]);
    assert!(matches!(log.read(0, 100, i64::MAX), Err(Error::OffsetOutOfRange { .. })));
    let end = log.log_end_offset();
    let n = log.enforce_retention(i64::MAX / 2).unwrap();
    assert_eq!(log.segment_base_offsets(), vec![end], "all {n} segments deleted, the active one too");
    assert_eq!(log.log_start_offset(), end);

    let config = TopicConfig { retention_bytes: 600, ..small_segments(200) };
    let mut log = Log::open(dir.path().join("size"), config.clone()).unwrap();
    fill(&mut log, 20, 0);
    let total = log.size_bytes();
    let n = log.enforce_retention(0).unwrap();
    assert!(n > 0);
    assert!(log.size_bytes() <= 600 + 200 && log.size_bytes() < total);
    assert_eq!(log.enforce_retention(0).unwrap(), 0, "within retention.bytes now");
    let config = TopicConfig { cleanup_policy: crate::config::CleanupPolicy { delete: false, compact: true }, ..config };
    let mut log = Log::open(dir.path().join("compacted"), config).unwrap();
    fill(&mut log, 20, 0);
    assert_eq!(log.enforce_retention(i64::MAX / 2).unwrap(), 0, "compact-only topics keep everything");
}

#[test]
fn retention_rolls_and_deletes_an_expired_active_segment() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_path_buf();
    let config = TopicConfig { retention_ms: HOUR, ..cfg() };
    let mut log = Log::open(path.clone(), config.clone()).unwrap();
    fill(&mut log, 3, NOW);
    let (end, newest) = (log.log_end_offset(), NOW + 20 + 2);
    assert_eq!(log.segment_base_offsets(), vec![0], "one segment, the active one");
    assert_eq!(log.enforce_retention(newest + HOUR).unwrap(), 0, "its newest record is not past retention.ms yet");
    assert_eq!(headers_of(&read_all(&log)).len(), 3, "its batches are all readable");
    assert_eq!(log.enforce_retention(newest + HOUR + 1).unwrap(), 1);
    assert_eq!(log.segment_base_offsets(), vec![end], "rolled, then the expired segment deleted");
    assert_eq!((log.log_start_offset(), log.log_end_offset()), (end, end));
    assert_eq!(log.enforce_retention(i64::MAX / 2).unwrap(), 0, "an empty active segment stays");
    drop(log);
    // The offsets go on after a restart: the empty segment keeps the log's end.
    let mut log = Log::open(path, config).unwrap();
    assert_eq!((log.log_start_offset(), log.log_end_offset()), (end, end));
    assert_eq!(log.append(&mut batch(1, NOW), NOW).unwrap().first_offset, end);
}

#[test]
fn delete_records_survives_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_path_buf();
    let mut log = Log::open(path.clone(), small_segments(300)).unwrap();
    let written = fill(&mut log, 20, 0);
    let end = log.log_end_offset();
    let target = written[8].0 + 1;
    assert_eq!(log.delete_records(target).unwrap(), target);
    assert_eq!(log.delete_records(2).unwrap(), target, "never moves backwards");
    assert!(log.segment_base_offsets()[0] <= target);
    assert!(log.segment_base_offsets().len() < 10);
    assert!(matches!(log.read(target - 1, 100, i64::MAX), Err(Error::OffsetOutOfRange { .. })));
    let r = log.read(target, 1, i64::MAX).unwrap();
    assert_eq!(&r.records[..], &written[8].1[..], "the batch containing the start offset");
    assert!(matches!(log.delete_records(end + 1), Err(Error::OffsetOutOfRange { .. })));
    drop(log);
    let mut log = Log::open(path.clone(), small_segments(300)).unwrap();
    assert_eq!(log.log_start_offset(), target);
    assert_eq!(log.log_end_offset(), end);
    assert_eq!(log.delete_records(end).unwrap(), end);
    assert_eq!(log.segment_base_offsets(), vec![end], "everything deleted, an empty segment at the end");
    assert!(log.read(end, 100, i64::MAX).unwrap().records.is_empty());
    drop(log);
    let mut log = Log::open(path, small_segments(300)).unwrap();
    assert_eq!((log.log_start_offset(), log.log_end_offset()), (end, end));
    assert_eq!(log.append(&mut batch(1, 0), 0).unwrap().first_offset, end);
}

#[test]
fn timestamp_lookups() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_path_buf();
    let mut log = Log::open(path.clone(), small_segments(400)).unwrap();
    // Max timestamps 100, 300, 200, 400, ... (out of order within the log).
    let stamps: Vec<i64> = (0..24).map(|i| if i % 2 == 0 { 100 * i + 100 } else { 100 * i }).collect();
    let mut bases = Vec::new();
    for &ts in &stamps {
        bases.push(log.append(&mut batch(1, ts), 0).unwrap().first_offset);
    }
    let check = |log: &Log| {
        for probe in [0, 50, 100, 101, 250, 1_000, 1_001, 2_300, 2_400] {
            let want = stamps.iter().position(|&t| t >= probe);
            let got = log.batch_for_timestamp(probe).unwrap();
            match want {
                None => assert!(got.is_none(), "nothing at or after {probe}"),
                Some(i) => {
                    let (h, bytes) = got.unwrap();
                    assert_eq!(h.base_offset, bases[i], "first batch with max ts >= {probe}");
                    assert_eq!(validate(&bytes).unwrap(), h);
                }
            }
        }
        assert!(log.batch_for_timestamp(100_000).unwrap().is_none());
        let max = *stamps.iter().max().unwrap();
        let (h, _) = log.batch_with_max_timestamp().unwrap().unwrap();
        assert_eq!(h.max_timestamp, max);
        assert_eq!(h.base_offset, bases[stamps.iter().position(|&t| t == max).unwrap()]);
    };
    check(&log);
    drop(log);
    let log = Log::open(path, small_segments(400)).unwrap();
    check(&log);
}

#[test]
fn flush_policy() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = Log::open(dir.path().join("a"), TopicConfig { flush_messages: 1, ..cfg() }).unwrap();
    for _ in 0..3 {
        log.append(&mut batch(2, 0), 0).unwrap();
        assert_eq!(log.unflushed_messages(), 0, "flush.messages=1 fsyncs every append");
    }
    let mut log = Log::open(dir.path().join("b"), TopicConfig { flush_messages: 5, ..cfg() }).unwrap();
    log.append(&mut batch(2, 0), 0).unwrap();
    log.append(&mut batch(2, 0), 0).unwrap();
    assert_eq!(log.unflushed_messages(), 4);
    log.append(&mut batch(1, 0), 0).unwrap();
    assert_eq!(log.unflushed_messages(), 0);
    let mut log = Log::open(dir.path().join("c"), TopicConfig { flush_ms: 1_000, ..cfg() }).unwrap();
    log.append(&mut batch(2, 0), 10_000).unwrap();
    log.append(&mut batch(2, 0), 10_500).unwrap();
    assert_eq!(log.unflushed_messages(), 4);
    log.append(&mut batch(2, 0), 11_000).unwrap();
    assert_eq!(log.unflushed_messages(), 0, "flush.ms elapsed");
    log.append(&mut batch(2, 0), 11_100).unwrap();
    assert_eq!(log.unflushed_messages(), 2);
    log.flush().unwrap();
    assert_eq!(log.unflushed_messages(), 0);
}

#[test]
fn append_after_io_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_path_buf();
    let mut log = Log::open(path.clone(), cfg()).unwrap();
    fill(&mut log, 3, 0);
    let end = log.log_end_offset();
    let all = read_all(&log);
    let active = seg_path(&path, 0, "log");
    log.active_mut().replace_file_for_test(std::fs::File::open(&active).unwrap());
    assert!(matches!(log.append(&mut batch(2, 0), 0), Err(Error::Storage { .. })));
    assert_eq!(log.log_end_offset(), end);
    assert_eq!(read_all(&log), all, "nothing of the failed append is visible");
    let good = std::fs::OpenOptions::new().read(true).write(true).open(&active).unwrap();
    log.active_mut().replace_file_for_test(good);
    assert_eq!(log.append(&mut batch(2, 0), 0).unwrap().first_offset, end);
    drop(log);
    let log = Log::open(path, cfg()).unwrap();
    assert_eq!(log.log_end_offset(), end + 2);
}

#[test]
fn scan_batches_and_delete() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t-3");
    let mut log = Log::open(path.clone(), small_segments(300)).unwrap();
    let written = fill(&mut log, 12, 0);
    let mut seen = Vec::new();
    let from = written[4].0 + 1;
    log.scan_batches(from, &mut |h, bytes| {
        assert_eq!(validate(bytes).unwrap(), *h);
        seen.push(h.base_offset);
        Ok(())
    })
    .unwrap();
    let want: Vec<i64> = written[4..].iter().map(|(b, _)| *b).collect();
    assert_eq!(seen, want);
    let err = log.scan_batches(0, &mut |_, _| Err(Error::Corrupt("stop".into())));
    assert!(matches!(err, Err(Error::Corrupt(m)) if m == "stop"));
    log.delete().unwrap();
    assert!(!path.exists());
}

#[test]
fn recovery_survives_any_cut_or_flip() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src");
    let mut log = Log::open(src.clone(), cfg()).unwrap();
    let written = fill(&mut log, 8, 0);
    drop(log);
    let data = std::fs::read(seg_path(&src, 0, "log")).unwrap();
    // (start position, header) of every batch.
    let mut starts = Vec::new();
    let mut pos = 0;
    for (_, b) in &written {
        starts.push((pos, BatchHeader::parse(b).unwrap()));
        pos += b.len();
    }
    let reopen = |name: String, bytes: &[u8]| {
        let d = dir.path().join(name);
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(seg_path(&d, 0, "log"), bytes).unwrap();
        Log::open(d, cfg()).unwrap()
    };
    for cut in (0..data.len()).step_by(7) {
        let log = reopen(format!("cut{cut}"), &data[..cut]);
        let whole = starts.iter().filter(|(p, h)| p + h.total_len() <= cut).count();
        let want = if whole == 0 { 0 } else { starts[whole - 1].1.next_offset() };
        assert_eq!(log.log_end_offset(), want, "cut at {cut}");
        assert_eq!(log.size_bytes() as usize, starts.get(whole).map_or(data.len(), |s| s.0));
    }
    for at in (0..data.len()).step_by(4) {
        let (i, (start, h)) = starts.iter().enumerate().rev().find(|(_, (p, _))| *p <= at).unwrap();
        let rel = at - start;
        if rel < 8 || (12..16).contains(&rel) {
            continue; // base offset and leader epoch are outside the CRC, as in Kafka
        }
        let mut bytes = data.clone();
        bytes[at] ^= 0x10;
        let mut log = reopen(format!("flip{at}"), &bytes);
        assert_eq!(log.log_end_offset(), h.base_offset, "flip at {at} drops batch {i} and later");
        assert_eq!(log.size_bytes() as usize, *start);
        assert_eq!(log.append(&mut batch(1, 0), 0).unwrap().first_offset, h.base_offset);
    }
}
