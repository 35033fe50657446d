//! Logs survive crashes, retention and compaction do what the configs say, bad input is refused.

use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::time::Duration;

use brook_broker::client::{Consumer, ConsumerConfig, OffsetReset, TopicPartition};
use brook_broker::record::{BatchBuilder, Compression};
use brook_broker::{Broker, Error, ErrorCode, IsolationLevel, OffsetSpec};

use crate::support::{broker, config, poll_n, produce, value_str};

fn read_all(b: &Broker, topic: &str, partition: i32) -> Vec<(i64, Option<String>, Option<String>)> {
    let mut out = Vec::new();
    let mut offset = b.describe_topic(topic).unwrap().partitions[partition as usize].log_start_offset;
    loop {
        let data = b.fetch(topic, partition, offset, 1 << 20, IsolationLevel::ReadUncommitted).unwrap();
        if data.records.is_empty() {
            return out;
        }
        for (h, range) in brook_broker::record::batch::split_batches(&data.records).unwrap() {
            let (_, recs) = brook_broker::record::decode_batch(&data.records[range]).unwrap();
            for r in recs.into_iter().filter(|r| r.offset >= offset) {
                let s = |b: Option<bytes::Bytes>| b.map(|b| String::from_utf8(b.to_vec()).unwrap());
                out.push((r.offset, s(r.key), s(r.value)));
            }
            offset = h.next_offset();
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn torn_tail_is_truncated_and_complete_batches_survive() {
    let dir = tempfile::tempdir().unwrap();
    {
        let b = broker(dir.path()).await;
        b.create_topic("t", 1, BTreeMap::new()).unwrap();
        produce(&b, "t", 1000, 10).await;
        // No shutdown: the broker is dropped as if the process died.
    }
    // A crash mid-write leaves half a batch at the end of the active segment.
    let seg = dir.path().join("t-0").join("00000000000000000000.log");
    let mut half = BatchBuilder::new(Compression::None);
    half.push(1, Some(b"k"), Some(b"partial"), &[]);
    let bytes = half.build().unwrap();
    let mut f = std::fs::OpenOptions::new().append(true).open(&seg).unwrap();
    f.write_all(&bytes[..bytes.len() / 2]).unwrap();
    drop(f);

    let b = broker(dir.path()).await;
    let records = read_all(&b, "t", 0);
    assert_eq!(records.len(), 1000, "every complete batch is kept");
    assert_eq!(records.last().unwrap().2.as_deref(), Some("value-999"));
    // Appends continue at the right offset after recovery.
    produce(&b, "t", 1, 1).await;
    let records = read_all(&b, "t", 0);
    assert_eq!(records.last().unwrap().0, 1000);
    b.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn topics_and_committed_offsets_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    {
        let b = broker(dir.path()).await;
        b.create_topic("orders", 3, BTreeMap::from([("retention.ms".into(), "1234567".into())])).unwrap();
        produce(&b, "orders", 30, 30).await;
        let mut c = Consumer::new(b.clone(), ConsumerConfig::with_group("g"));
        c.assign(&[TopicPartition::new("orders", 0)]);
        c.commit_offsets(&BTreeMap::from([(TopicPartition::new("orders", 0), 7)])).unwrap();
        b.shutdown().await;
    }
    let b = broker(dir.path()).await;
    let d = b.describe_topic("orders").unwrap();
    assert_eq!(d.partitions.len(), 3);
    assert_eq!(d.overrides.get("retention.ms").map(String::as_str), Some("1234567"));
    assert_eq!(d.partitions.iter().map(|p| p.high_watermark).sum::<i64>(), 30);
    let admin = brook_broker::client::Admin::new(b.clone());
    let offsets = admin.list_group_offsets("g").unwrap();
    assert_eq!(offsets.get(&TopicPartition::new("orders", 0)), Some(&7));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retention_by_size_and_time_deletes_old_segments() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = config(dir.path());
    c.clock = brook_common::Clock::manual(1_700_000_000_000);
    let clock = c.clock.clone();
    let b = Broker::open(c).await.unwrap();
    let small = |extra: &[(&str, &str)]| {
        let mut m = BTreeMap::from([("segment.bytes".to_owned(), "2000".to_owned())]);
        m.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        m
    };
    b.create_topic("by-size", 1, small(&[("retention.bytes", "5000")])).unwrap();
    b.create_topic("by-time", 1, small(&[("retention.ms", "1")])).unwrap();
    b.create_topic("kept", 1, small(&[])).unwrap();
    for t in ["by-size", "by-time", "kept"] {
        for _ in 0..60 {
            produce(&b, t, 10, 10).await;
        }
    }
    clock.advance(Duration::from_millis(5)); // "by-time" records age past 1 ms
    b.run_cleanup(false);
    let start = |t: &str| b.list_offset(t, 0, OffsetSpec::Earliest, IsolationLevel::ReadUncommitted).unwrap().0;
    let end = |t: &str| b.list_offset(t, 0, OffsetSpec::Latest, IsolationLevel::ReadUncommitted).unwrap().0;
    assert_eq!(start("kept"), 0);
    assert!(start("by-size") > 0, "size retention moved the log start");
    assert_eq!(start("by-time"), 600, "time retention rolls and deletes the active segment too");
    for t in ["by-size", "by-time", "kept"] {
        assert_eq!(end(t), 600, "{t}: retention never touches the end");
    }
    produce(&b, "by-time", 1, 1).await;
    assert_eq!(end("by-time"), 601, "appends go on after the log was emptied");
    let dir_size: u64 = std::fs::read_dir(dir.path().join("by-size-0"))
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().ends_with(".log"))
        .map(|e| e.metadata().unwrap().len())
        .sum();
    assert!(dir_size <= 5000 + 2000, "by-size keeps about retention.bytes, has {dir_size}");
    // A consumer positioned before the log start is reset to it.
    let mut c = Consumer::new(b.clone(), ConsumerConfig { auto_offset_reset: OffsetReset::Earliest, ..Default::default() });
    c.assign(&[TopicPartition::new("by-size", 0)]);
    let got = poll_n(&mut c, 600 - start("by-size") as usize, Duration::from_secs(5)).await;
    assert_eq!(got.first().unwrap().offset, start("by-size"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_does_not_roll_a_segment_of_old_records() {
    const HOUR: i64 = 3_600_000;
    let dir = tempfile::tempdir().unwrap();
    let clock = brook_common::Clock::manual(1_700_000_000_000);
    let open = || {
        let mut c = config(dir.path());
        c.clock = clock.clone();
        Broker::open(c)
    };
    let append = |b: &Broker, ts: i64| {
        let mut batch = BatchBuilder::new(Compression::None);
        batch.push(ts, Some(b"k"), Some(b"v"), &[]);
        b.produce("replay", 0, &mut batch.build().unwrap()).unwrap();
    };
    // A replay of records two days old: within retention.ms (7 days), segment.ms one hour.
    let old = clock.now_ms() - 48 * HOUR;
    {
        let b = open().await.unwrap();
        b.create_topic("replay", 1, BTreeMap::from([("segment.ms".to_owned(), HOUR.to_string())])).unwrap();
        append(&b, old);
        append(&b, old + 1);
        b.shutdown().await;
    }
    clock.advance(Duration::from_secs(3 * 3600));
    let b = open().await.unwrap();
    append(&b, old + 2);
    b.run_cleanup(false);
    let segments = std::fs::read_dir(dir.path().join("replay-0"))
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().ends_with(".log"))
        .count();
    assert_eq!(segments, 1, "the records span 2 ms: neither the restart nor 3 hours of wall clock roll");
    assert_eq!(read_all(&b, "replay", 0).len(), 3);
    b.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compaction_keeps_the_latest_value_per_key_and_expires_tombstones() {
    let dir = tempfile::tempdir().unwrap();
    let b = broker(dir.path()).await;
    let cfg = BTreeMap::from([
        ("cleanup.policy".to_owned(), "compact".to_owned()),
        ("segment.bytes".to_owned(), "1500".to_owned()),
        ("delete.retention.ms".to_owned(), "0".to_owned()),
        ("min.cleanable.dirty.ratio".to_owned(), "0.01".to_owned()),
    ]);
    b.create_topic("table", 1, cfg).unwrap();
    let p = brook_broker::client::Producer::new(b.clone(), Default::default()).unwrap();
    for round in 0..10 {
        for k in 0..10 {
            let value = if k == 3 && round == 9 { None } else { Some(format!("{k}@{round}")) };
            p.send(brook_broker::client::ProducerRecord::new("table", Some(format!("k{k}")), value));
        }
        p.flush();
    }
    // Roll past the written rounds so that they are all in closed, cleanable segments (the
    // cleaner never touches the active segment, as in Kafka).
    for _ in 0..6 {
        produce(&b, "table", 10, 1).await;
    }
    b.run_cleanup(true);
    // Tombstones survive the pass that first sees them (delete.retention.ms counts from then).
    for _ in 0..6 {
        produce(&b, "table", 10, 1).await;
    }
    b.run_cleanup(true);
    let records = read_all(&b, "table", 0);
    let mut latest: HashMap<String, (i64, Option<String>)> = HashMap::new();
    for (offset, key, value) in &records {
        let prev = latest.insert(key.clone().unwrap(), (*offset, value.clone()));
        if let Some((o, _)) = prev {
            assert!(o < *offset, "offsets stay in order");
        }
    }
    for k in 0..10 {
        let key = format!("k{k}");
        match k {
            3 => assert!(
                latest.get(&key).is_none_or(|(_, v)| v.is_none()),
                "k3's tombstone hides its old values"
            ),
            _ => assert_eq!(latest[&key].1.as_deref(), Some(format!("{k}@9").as_str())),
        }
    }
    let old_k1 = records.iter().filter(|(_, k, _)| k.as_deref() == Some("k1")).count();
    assert_eq!(old_k1, 1, "only the latest k1 survives: {records:?}");
    assert!(records.len() < 100, "compaction removed superseded records");
    assert!(records.iter().all(|(_, k, _)| k.as_deref() != Some("k3")), "tombstone expired: {records:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idempotent_retries_are_appended_once_and_gaps_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let b = broker(dir.path()).await;
    b.create_topic("t", 1, BTreeMap::new()).unwrap();
    let (pid, epoch) = b.init_producer_id(None, 0).unwrap();
    let batch = |seq: i32, n: usize| {
        let mut bb = BatchBuilder::new(Compression::None);
        bb.producer(pid, epoch, seq);
        for i in 0..n {
            bb.push(1, None, Some(format!("v{seq}-{i}").as_bytes()), &[]);
        }
        bb.build().unwrap()
    };
    let first = b.produce("t", 0, &mut batch(0, 3)).unwrap();
    let retry = b.produce("t", 0, &mut batch(0, 3)).unwrap();
    assert_eq!(first.base_offset, retry.base_offset, "a retried batch gets its original offset");
    assert_eq!(b.describe_topic("t").unwrap().partitions[0].high_watermark, 3);
    let gap = b.produce("t", 0, &mut batch(5, 1)).unwrap_err();
    assert_eq!(gap.code(), ErrorCode::OutOfOrderSequenceNumber);
    let next = b.produce("t", 0, &mut batch(3, 2)).unwrap();
    assert_eq!(next.base_offset, 3);
    assert_eq!(b.describe_producers("t", 0).unwrap()[0].last_sequence, 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_gets_kafka_errors_and_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(dir.path());
    cfg.set("message.max.bytes", "2000").unwrap();
    cfg.auto_create_topics = false;
    let b = Broker::open(cfg).await.unwrap();
    b.create_topic("t", 2, BTreeMap::new()).unwrap();
    produce(&b, "t", 10, 10).await;
    let mut big = BatchBuilder::new(Compression::None);
    big.push(1, None, Some(&[7u8; 5000]), &[]);
    let err = b.produce("t", 0, &mut big.build().unwrap()).unwrap_err();
    assert_eq!(err.code(), ErrorCode::MessageTooLarge);
    let mut ok = BatchBuilder::new(Compression::None);
    ok.push(1, None, Some(b"fine"), &[]);
    let mut corrupt = ok.build().unwrap();
    let last = corrupt.len() - 1;
    corrupt[last] ^= 0x55;
    assert_eq!(b.produce("t", 0, &mut corrupt).unwrap_err().code(), ErrorCode::CorruptMessage);
    assert_eq!(b.produce("t", 0, &mut [1, 2, 3]).unwrap_err().code(), ErrorCode::CorruptMessage);
    assert_eq!(b.produce("t", 9, &mut ok.build().unwrap()).unwrap_err().code(), ErrorCode::UnknownTopicOrPartition);
    assert_eq!(b.produce("nope", 0, &mut ok.build().unwrap()).unwrap_err().code(), ErrorCode::UnknownTopicOrPartition);
    assert!(matches!(b.partition_count("nope", true), Err(Error::UnknownTopicOrPartition(_))));
    for bad in ["", "..", "a b", &"x".repeat(250)] {
        assert!(matches!(b.create_topic(bad, 1, BTreeMap::new()), Err(Error::InvalidTopic(_))), "{bad:?}");
    }
    assert!(matches!(b.create_topic("__consumer_offsets", 1, BTreeMap::new()), Err(Error::InvalidTopic(_))));
    assert!(matches!(b.create_topic("t", 1, BTreeMap::new()), Err(Error::TopicAlreadyExists(_))));
    b.create_topic("a.b", 1, BTreeMap::new()).unwrap();
    assert_eq!(b.create_topic("a_b", 1, BTreeMap::new()).unwrap_err().code(), ErrorCode::InvalidTopicException);
    assert!(matches!(b.create_topic("z", 0, BTreeMap::new()), Err(Error::InvalidPartitions(_))));
    assert!(matches!(b.create_partitions("t", 1), Err(Error::InvalidPartitions(_))));
    b.create_partitions("t", 4).unwrap();
    assert!(matches!(
        b.create_topic("c", 1, BTreeMap::from([("cleanup.policy".into(), "shred".into())])),
        Err(Error::InvalidConfig(_))
    ));
    assert!(matches!(
        b.fetch("t", 0, 999, 100, IsolationLevel::ReadUncommitted),
        Err(Error::OffsetOutOfRange { .. })
    ));
    // Nothing already written was lost.
    let total: i64 = b.describe_topic("t").unwrap().partitions.iter().map(|p| p.high_watermark).sum();
    assert_eq!(total, 10);
    let mut c = Consumer::new(b.clone(), ConsumerConfig { auto_offset_reset: OffsetReset::Earliest, ..Default::default() });
    c.assign(&(0..4).map(|p| TopicPartition::new("t", p)).collect::<Vec<_>>());
    let got = poll_n(&mut c, 10, Duration::from_secs(5)).await;
    let mut values: Vec<String> = got.iter().map(value_str).collect();
    values.sort();
    assert_eq!(values.len(), 10);
    b.delete_topic("t").unwrap();
    assert!(!dir.path().join("t-0").exists());
    assert!(matches!(b.describe_topic("t"), Err(Error::UnknownTopicOrPartition(_))));
}
