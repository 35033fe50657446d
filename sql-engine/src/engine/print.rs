//! `PRINT topic [FROM BEGINNING] [INTERVAL n] [LIMIT n]` that follows the topic: a
//! [`TopicFollower`] reads the partitions of a topic on the broker as records arrive, a
//! [`Printer`] turns records into ksqlDB's lines: the `Key format: ...` / `Value format: ...`
//! header (guessed from the first record's bytes), then one
//! `rowtime: ..., key: ..., value: ..., partition: ...` line per record. `brook sql` (embedded)
//! and the REST server's `/query` both print through these.
//!
//! Where Brook differs from ksqlDB: the formats are guessed from the first record only (ksqlDB
//! revises its guess over the first records and may say `MIXED`); no Avro or Protobuf guesses
//! (Brook has no Schema Registry formats).

use std::time::{Duration, Instant};

use brook_broker::{Broker, IsolationLevel, OffsetSpec, TopicChanges};
use bytes::Bytes;

use crate::{Error, Result};

/// What `PRINT` was asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrintSpec {
    pub topic: String,
    pub from_beginning: bool,
    /// Every n-th record is printed (1: all).
    pub interval: u64,
    pub limit: Option<u64>,
}

/// The formats ksqlDB considers, in the order it lists them, that fit `bytes`.
fn formats(bytes: &[u8]) -> Vec<&'static str> {
    let mut out = Vec::new();
    if serde_json::from_slice::<serde_json::Value>(bytes).is_ok() {
        out.push("JSON");
    }
    match bytes.len() {
        4 => out.push("KAFKA_INT"),
        8 => out.extend(["KAFKA_BIGINT", "KAFKA_DOUBLE"]),
        _ => {}
    }
    if std::str::from_utf8(bytes).is_ok() {
        out.push("KAFKA_STRING");
    }
    out
}

/// How a key or value is shown: in the first of the formats guessed for it, as ksqlDB does.
fn show(bytes: Option<&[u8]>, guessed: &[&str]) -> String {
    let Some(b) = bytes else { return "<null>".into() };
    match (guessed.first().copied(), <[u8; 4]>::try_from(b), <[u8; 8]>::try_from(b)) {
        (Some("KAFKA_INT"), Ok(four), _) => i32::from_be_bytes(four).to_string(),
        (Some("KAFKA_BIGINT"), _, Ok(eight)) => i64::from_be_bytes(eight).to_string(),
        (Some("KAFKA_DOUBLE"), _, Ok(eight)) => f64::from_be_bytes(eight).to_string(),
        _ => String::from_utf8_lossy(b).into_owned(),
    }
}

/// `PRINT`'s timestamps: `2021/03/23 16:26:39.869 Z` (UTC).
fn print_time(ms: i64) -> String {
    match chrono::DateTime::from_timestamp_millis(ms) {
        Some(t) => t.format("%Y/%m/%d %H:%M:%S%.3f Z").to_string(),
        None => ms.to_string(),
    }
}

/// Turns records into `PRINT`'s lines: the header before the first, `INTERVAL` and `LIMIT`
/// applied.
#[derive(Debug)]
pub struct Printer {
    spec: PrintSpec,
    key: Option<Vec<&'static str>>,
    value: Option<Vec<&'static str>>,
    seen: u64,
    printed: u64,
}

const UNKNOWN: &str = "\u{af}\\_(\u{30c4})_/\u{af} - no data processed";

impl Printer {
    #[must_use]
    pub fn new(spec: PrintSpec) -> Self {
        Printer { spec, key: None, value: None, seen: 0, printed: 0 }
    }

    /// Whether `LIMIT` records were printed.
    #[must_use]
    pub fn done(&self) -> bool {
        self.spec.limit.is_some_and(|l| self.printed >= l)
    }

    /// The lines for one record (empty when `INTERVAL` skips it or `LIMIT` was reached).
    pub fn record(&mut self, partition: i32, timestamp: i64, key: Option<&[u8]>, value: Option<&[u8]>) -> String {
        if self.done() {
            return String::new();
        }
        self.seen += 1;
        if (self.seen - 1) % self.spec.interval.max(1) != 0 {
            return String::new();
        }
        let mut out = String::new();
        if self.key.is_none() && self.value.is_none() {
            let (k, v) = (key.map(formats).unwrap_or_default(), value.map(formats).unwrap_or_default());
            let name = |f: &[&str]| if f.is_empty() { UNKNOWN.to_owned() } else { f.join(" or ") };
            out.push_str(&format!("Key format: {}\nValue format: {}\n", name(&k), name(&v)));
            self.key = Some(k);
            self.value = Some(v);
        }
        let key_text = show(key, self.key.as_deref().unwrap_or_default());
        let value_text = show(value, self.value.as_deref().unwrap_or_default());
        out.push_str(&format!("rowtime: {}, key: {key_text}, value: {value_text}, partition: {partition}\n", print_time(timestamp)));
        self.printed += 1;
        out
    }
}

/// One record read by a [`TopicFollower`].
#[derive(Debug, Clone)]
pub struct PrintRecord {
    pub partition: i32,
    pub timestamp: i64,
    pub key: Option<Bytes>,
    pub value: Option<Bytes>,
}

/// Follows every partition of a topic on the broker (committed records only).
#[derive(Debug)]
pub struct TopicFollower {
    broker: Broker,
    topic: String,
    positions: Vec<i64>,
    /// Wakes a waiting poll on an append to this topic only.
    changes: TopicChanges,
}

fn broker_err(e: brook_broker::Error) -> Error {
    Error::Io(std::io::Error::other(e.to_string()))
}

impl TopicFollower {
    /// Starts at the beginning of each partition, or at its end.
    ///
    /// # Errors
    /// ksqlDB's message when the topic does not exist.
    pub fn open(broker: &Broker, topic: &str, from_beginning: bool) -> Result<Self> {
        let Ok(partitions) = broker.partition_count(topic, false) else {
            return crate::analysis_err!("Could not find topic '{topic}', or the KSQL user does not have permissions to list the topic. Topic names are case-sensitive.");
        };
        let spec = if from_beginning { OffsetSpec::Earliest } else { OffsetSpec::Latest };
        let positions = (0..partitions)
            .map(|p| broker.list_offset(topic, p, spec, IsolationLevel::ReadCommitted).map(|(o, _)| o).map_err(broker_err))
            .collect::<Result<Vec<i64>>>()?;
        let changes = broker.topic_changes(topic).map_err(broker_err)?;
        Ok(TopicFollower { broker: broker.clone(), topic: topic.to_owned(), positions, changes })
    }

    /// The records that arrived, waiting up to `timeout` for the first.
    ///
    /// # Errors
    /// Broker errors (a deleted topic).
    pub fn poll(&mut self, timeout: Duration) -> Result<Vec<PrintRecord>> {
        let deadline = Instant::now() + timeout;
        loop {
            self.changes.mark_seen();
            let mut out = Vec::new();
            for (p, offset) in (0i32..).zip(self.positions.iter_mut()) {
                let data = self.broker.fetch(&self.topic, p, *offset, 1 << 20, IsolationLevel::ReadCommitted).map_err(broker_err)?;
                if data.records.is_empty() {
                    continue;
                }
                let records = crate::cluster::committed_records(&data, offset)?;
                out.extend(records.into_iter().map(|r| PrintRecord { partition: p, timestamp: r.timestamp, key: r.key, value: r.value }));
            }
            let now = Instant::now();
            if !out.is_empty() || now >= deadline {
                return Ok(out);
            }
            self.changes.wait_timeout(deadline - now);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_then_lines_with_interval_and_limit() {
        let mut p = Printer::new(PrintSpec { topic: "t".into(), from_beginning: true, interval: 2, limit: Some(2) });
        let mut out = String::new();
        for i in 0..6i64 {
            let value = format!("{{\"N\":{i}}}");
            out.push_str(&p.record(i32::try_from(i % 2).unwrap(), 1_600_000_000_000 + i, Some(b"k1"), Some(value.as_bytes())));
        }
        assert!(p.done());
        assert_eq!(
            out,
            "Key format: KAFKA_STRING\nValue format: JSON or KAFKA_STRING\n\
             rowtime: 2020/09/13 12:26:40.000 Z, key: k1, value: {\"N\":0}, partition: 0\n\
             rowtime: 2020/09/13 12:26:40.002 Z, key: k1, value: {\"N\":2}, partition: 0\n"
        );
    }

    #[test]
    fn binary_numbers_and_null_keys() {
        let mut p = Printer::new(PrintSpec { topic: "t".into(), from_beginning: true, interval: 1, limit: None });
        let out = p.record(3, 0, None, Some(&[0xff, 0, 0, 0, 0, 0, 0, 42]));
        assert_eq!(out, format!("Key format: {UNKNOWN}\nValue format: KAFKA_BIGINT or KAFKA_DOUBLE\nrowtime: 1970/01/01 00:00:00.000 Z, key: <null>, value: -72057594037927894, partition: 3\n"));
        // An 8-byte key is also valid UTF-8 text: shown as the first guess, a BIGINT.
        let mut p = Printer::new(PrintSpec { topic: "t".into(), from_beginning: true, interval: 1, limit: None });
        let out = p.record(0, 0, Some(&11i64.to_be_bytes()), Some(b"{}"));
        assert!(out.starts_with("Key format: KAFKA_BIGINT or KAFKA_DOUBLE or KAFKA_STRING\n"), "{out}");
        assert!(out.ends_with(", key: 11, value: {}, partition: 0\n"), "{out}");
    }
}
