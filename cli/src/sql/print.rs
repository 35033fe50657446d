//! `PRINT topic [FROM BEGINNING] [INTERVAL n] [LIMIT n]` over the embedded broker: follows the
//! topic's partitions until `LIMIT` records were printed or Ctrl-C, printing ksqlDB's
//! `Key format: ...` / `Value format: ...` header (guessed from the first record's bytes) and one
//! `rowtime: ..., key: ..., value: ..., partition: ...` line per record.
//!
//! Where Brook differs from ksqlDB: the formats are guessed from the first record only (ksqlDB
//! revises its guess over the first records and may say `MIXED`); no Avro or Protobuf guesses
//! (Brook has no Schema Registry formats).

use brook_broker::client::ConsumerRecord;

/// What `PRINT` was asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PrintSpec {
    pub(crate) topic: String,
    pub(crate) from_beginning: bool,
    /// Every n-th record is printed (1: all).
    pub(crate) interval: u64,
    pub(crate) limit: Option<u64>,
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
pub(crate) struct Printer {
    spec: PrintSpec,
    key: Option<Vec<&'static str>>,
    value: Option<Vec<&'static str>>,
    seen: u64,
    printed: u64,
}

const UNKNOWN: &str = "\u{af}\\_(\u{30c4})_/\u{af} - no data processed";

impl Printer {
    pub(crate) fn new(spec: PrintSpec) -> Self {
        Printer { spec, key: None, value: None, seen: 0, printed: 0 }
    }

    /// Whether `LIMIT` records were printed.
    pub(crate) fn done(&self) -> bool {
        self.spec.limit.is_some_and(|l| self.printed >= l)
    }

    /// The lines for one record (empty when `INTERVAL` skips it or `LIMIT` was reached).
    pub(crate) fn record(&mut self, partition: i32, timestamp: i64, key: Option<&[u8]>, value: Option<&[u8]>) -> String {
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

    pub(crate) fn consumer_record(&mut self, r: &ConsumerRecord) -> String {
        self.record(r.partition, r.timestamp, r.key.as_deref(), r.value.as_deref())
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
