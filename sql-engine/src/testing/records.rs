//! Test-file records to record bytes and back, with the formats of the topic, as ksqlDB's
//! functional-test serde suppliers do it:
//!
//! - `JSON` keys and values are written as the file has them (the engine coerces them to the
//!   columns, as ksqlDB's JSON deserializer does) and read back as raw JSON, so numbers compare
//!   as written (`1.50` is a decimal of scale 2);
//! - `DELIMITED` keys and values are the CSV line, a string;
//! - `KAFKA` keys and values go through the format's serde for the column's type;
//! - `NONE` carries nothing; a JSON `null` is a null key or a tombstone.
//!
//! A windowed topic's keys carry the window as Kafka Streams writes it: `key + start` for time
//! windows (the end is `start + size`), `key + end + start` for sessions.

use brook_state_store::{SessionKeySchema, Window, WindowKeySchema};

use crate::format::{format_with, row_from_json, row_to_json, FormatInfo, SerdeContext};
use crate::value::{Column, Value};

use super::compare::value_from_json;
use super::executor::{ActualRecord, DriverError};
use super::json::Json;
use super::model::{Header, TestRecord, WindowData, WindowType};

/// How a topic's keys are windowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Windowing {
    pub kind: WindowType,
    /// Time windows: the size, for the end the key bytes do not carry.
    pub size_ms: Option<u64>,
}

/// What the sources over a topic say about its records.
#[derive(Debug, Clone)]
pub struct TopicFormat {
    pub key: Vec<Column>,
    pub key_format: FormatInfo,
    pub value: Vec<Column>,
    pub value_format: FormatInfo,
    pub window: Option<Windowing>,
    /// The engine's Schema Registry, for `AVRO` topics.
    pub registry: Option<std::sync::Arc<dyn brook_schema::SchemaRegistryClient>>,
}

/// A record ready for the engine's `pipe_input`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawRecord {
    pub key: Option<Vec<u8>>,
    pub value: Option<Vec<u8>>,
    pub timestamp: i64,
    pub headers: Vec<(String, Option<Vec<u8>>)>,
}

fn rejected(e: impl std::fmt::Display) -> DriverError {
    DriverError::Rejected(e.to_string())
}

/// `serde_json`'s view of a test-file value (decimals become `f64`, as the formats take them).
fn to_serde(json: &Json) -> serde_json::Value {
    match json {
        Json::Null => serde_json::Value::Null,
        Json::Bool(b) => serde_json::Value::Bool(*b),
        Json::Number(t) => serde_json::from_str(t).unwrap_or(serde_json::Value::Null),
        Json::String(s) => serde_json::Value::String(s.clone()),
        Json::Array(items) => serde_json::Value::Array(items.iter().map(to_serde).collect()),
        Json::Object(fields) => serde_json::Value::Object(
            fields
                .iter()
                .map(|(k, v)| (k.clone(), to_serde(v)))
                .collect(),
        ),
    }
}

/// The bytes of a key or value of the test file.
fn encode(
    json: &Json,
    columns: &[Column],
    info: &FormatInfo,
    ctx: &SerdeContext<'_>,
    registry: Option<&std::sync::Arc<dyn brook_schema::SchemaRegistryClient>>,
) -> Result<Option<Vec<u8>>, DriverError> {
    if *json == Json::Null {
        return Ok(None);
    }
    match info.format.as_str() {
        "JSON" => Ok(Some(json.to_string().into_bytes())),
        "DELIMITED" => Ok(Some(match json {
            Json::String(s) => s.clone().into_bytes(),
            other => other.to_string().into_bytes(),
        })),
        "NONE" => Ok(None),
        _ => {
            let format = format_with(info, registry).map_err(unsupported_or_rejected)?;
            let serde = format.row_serde(columns, ctx.is_key).map_err(unsupported_or_rejected)?;
            let row = row_from_json(columns, &to_serde(json), info).map_err(rejected)?;
            serde.serialize(&row, ctx).map_err(rejected)
        }
    }
}

fn unsupported_or_rejected(e: crate::Error) -> DriverError {
    match e {
        crate::Error::Unsupported(m) => DriverError::Unsupported(m),
        other => rejected(other),
    }
}

/// A key or value read back: raw JSON, the CSV line, or the `KAFKA` column's value.
fn decode(
    bytes: Option<&[u8]>,
    columns: &[Column],
    info: &FormatInfo,
    ctx: &SerdeContext<'_>,
    registry: Option<&std::sync::Arc<dyn brook_schema::SchemaRegistryClient>>,
) -> Result<Value, DriverError> {
    let Some(bytes) = bytes else {
        return Ok(Value::Null);
    };
    let what = if ctx.is_key { "key" } else { "value" };
    match info.format.as_str() {
        "JSON" => {
            let text = std::str::from_utf8(bytes)
                .map_err(|_| rejected(format!("Failed to deserialize {what}: not UTF-8")))?;
            let json = Json::parse(text)
                .map_err(|e| rejected(format!("Failed to deserialize {what}: {e}")))?;
            Ok(value_from_json(&json))
        }
        "DELIMITED" => Ok(Value::String(String::from_utf8_lossy(bytes).into_owned())),
        "NONE" => Ok(Value::Null),
        _ => {
            let format = format_with(info, registry).map_err(unsupported_or_rejected)?;
            let serde = format.row_serde(columns, ctx.is_key).map_err(unsupported_or_rejected)?;
            let row = serde
                .deserialize(Some(bytes), ctx)
                .map_err(|e| rejected(format!("Failed to deserialize {what}: {e}")))?;
            // Schema Registry formats read back as the JSON of their row, as ksqlDB's test
            // runner shows them.
            if matches!(info.format.as_str(), "AVRO" | "JSON_SR" | "PROTOBUF" | "PROTOBUF_NOSR")
                && !crate::format::unwrapped(columns, ctx.is_key, info.wrap_single_value)
            {
                let Some(row) = row else { return Ok(Value::Null) };
                let json = row_to_json(columns, &row, info).map_err(rejected)?;
                let json = Json::parse(&json.to_string()).map_err(|e| rejected(format!("Failed to deserialize {what}: {e}")))?;
                return Ok(value_from_json(&json));
            }
            Ok(row
                .and_then(|r| r.into_iter().next())
                .unwrap_or(Value::Null))
        }
    }
}

impl TopicFormat {
    /// `record` as bytes for this topic.
    ///
    /// # Errors
    /// A key or value that does not fit the columns; a window on an unwindowed topic or none on
    /// a windowed one; [`DriverError::Unsupported`] for formats Brook does not have.
    pub fn encode(&self, record: &TestRecord) -> Result<RawRecord, DriverError> {
        let topic = record.topic.as_str();
        let key = encode(
            &record.key,
            &self.key,
            &self.key_format,
            &SerdeContext::key(topic),
            self.registry.as_ref(),
        )?;
        let key = match (self.window, record.window) {
            (None, None) => key,
            (Some(_), Some(w)) => {
                let k = key.unwrap_or_default();
                Some(match w.kind {
                    WindowType::Time => WindowKeySchema::to_binary(&k, w.start).to_vec(),
                    WindowType::Session => {
                        SessionKeySchema::to_binary(&k, Window::new(w.start, w.end)).to_vec()
                    }
                })
            }
            (Some(_), None) => {
                return Err(rejected(format!(
                    "topic {topic} is windowed: its records need a \"window\""
                )))
            }
            (None, Some(_)) => {
                return Err(rejected(format!(
                    "topic {topic} is not windowed: its records cannot have a \"window\""
                )))
            }
        };
        let value = encode(
            &record.value,
            &self.value,
            &self.value_format,
            &SerdeContext::value(topic),
            self.registry.as_ref(),
        )?;
        let headers = record
            .headers
            .iter()
            .flatten()
            .map(|h| (h.key.clone(), Some(h.value.clone())))
            .collect();
        Ok(RawRecord {
            key,
            value,
            timestamp: record.timestamp.unwrap_or(0),
            headers,
        })
    }

    /// A record of this topic as the comparison sees it.
    ///
    /// # Errors
    /// Bytes that do not deserialize, or a windowed key too short for its window.
    pub fn decode(&self, topic: &str, raw: &RawRecord) -> Result<ActualRecord, DriverError> {
        let (key_bytes, window) = match (self.window, raw.key.as_deref()) {
            (Some(w), Some(k)) => {
                let short = |e: brook_state_store::Error| {
                    rejected(format!("Failed to deserialize key: {e}"))
                };
                match w.kind {
                    WindowType::Time => {
                        let (k, start) = WindowKeySchema::from_binary(k).map_err(short)?;
                        let end = start.saturating_add(
                            w.size_ms
                                .map_or(0, |s| i64::try_from(s).unwrap_or(i64::MAX)),
                        );
                        (
                            Some(k),
                            Some(WindowData {
                                start,
                                end,
                                kind: WindowType::Time,
                            }),
                        )
                    }
                    WindowType::Session => {
                        let (k, win) = SessionKeySchema::from_binary(k).map_err(short)?;
                        (
                            Some(k),
                            Some(WindowData {
                                start: win.start,
                                end: win.end,
                                kind: WindowType::Session,
                            }),
                        )
                    }
                }
            }
            (_, k) => (k, None),
        };
        Ok(ActualRecord {
            key: decode(
                key_bytes,
                &self.key,
                &self.key_format,
                &SerdeContext::key(topic),
                self.registry.as_ref(),
            )?,
            window,
            value: decode(
                raw.value.as_deref(),
                &self.value,
                &self.value_format,
                &SerdeContext::value(topic),
                self.registry.as_ref(),
            )?,
            timestamp: raw.timestamp,
            headers: raw
                .headers
                .iter()
                .map(|(k, v)| Header {
                    key: k.clone(),
                    value: v.clone().unwrap_or_default(),
                })
                .collect(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::compare::matches;
    use crate::value::{ColumnNamespace, SqlType};

    fn col(name: &str, ty: SqlType, namespace: ColumnNamespace) -> Column {
        Column {
            name: name.into(),
            ty,
            namespace,
        }
    }

    fn topic(key_ty: SqlType, value_format: &str, window: Option<Windowing>) -> TopicFormat {
        TopicFormat {
            key: vec![col("ID", key_ty, ColumnNamespace::Key)],
            key_format: FormatInfo::of("KAFKA"),
            value: vec![
                col("NAME", SqlType::String, ColumnNamespace::Value),
                col("PRICE", SqlType::Double, ColumnNamespace::Value),
            ],
            value_format: FormatInfo::of(value_format),
            window,
            registry: None,
        }
    }

    fn record(text: &str) -> TestRecord {
        TestRecord::from_json(&Json::parse(text).unwrap(), "r").unwrap()
    }

    #[test]
    fn json_values_and_kafka_keys() {
        let t = topic(SqlType::BigInt, "JSON", None);
        let raw = t.encode(&record(r#"{"topic":"t","key":7,"value":{"NAME":"a","PRICE":1.50},"timestamp":9,"headers":[{"KEY":"h","VALUE":"AQ=="}]}"#)).unwrap();
        assert_eq!(raw.key, Some(7i64.to_be_bytes().to_vec()));
        assert_eq!(
            raw.value.as_deref(),
            Some(&br#"{"NAME":"a","PRICE":1.50}"#[..]),
            "JSON is written as the file has it"
        );
        assert_eq!(
            (raw.timestamp, raw.headers.clone()),
            (9, vec![("h".to_owned(), Some(vec![1]))])
        );
        let back = t.decode("t", &raw).unwrap();
        assert_eq!(back.key, Value::BigInt(7));
        assert!(matches(
            &back.value,
            &Json::parse(r#"{"NAME":"a","PRICE":1.50}"#).unwrap()
        ));
        assert!(
            !matches(
                &back.value,
                &Json::parse(r#"{"NAME":"a","PRICE":1.5}"#).unwrap()
            ),
            "read back as raw JSON, scale kept"
        );
        assert_eq!(
            back.headers,
            vec![Header {
                key: "h".into(),
                value: vec![1]
            }]
        );
    }

    #[test]
    fn nulls_are_null_keys_and_tombstones() {
        let t = topic(SqlType::String, "JSON", None);
        let raw = t.encode(&record(r#"{"topic":"t","value":null}"#)).unwrap();
        assert_eq!(
            (raw.key.clone(), raw.value.clone(), raw.timestamp),
            (None, None, 0)
        );
        let back = t.decode("t", &raw).unwrap();
        assert_eq!((back.key, back.value), (Value::Null, Value::Null));
    }

    #[test]
    fn delimited_values_are_the_line() {
        let t = topic(SqlType::Int, "DELIMITED", None);
        let raw = t
            .encode(&record(r#"{"topic":"t","key":1,"value":"a,1.5"}"#))
            .unwrap();
        assert_eq!(
            (raw.key.clone(), raw.value.as_deref()),
            (Some(1i32.to_be_bytes().to_vec()), Some(&b"a,1.5"[..]))
        );
        assert_eq!(
            t.decode("t", &raw).unwrap().value,
            Value::String("a,1.5".into())
        );
    }

    #[test]
    fn windowed_keys_carry_the_window() {
        let tumbling = topic(
            SqlType::Int,
            "JSON",
            Some(Windowing {
                kind: WindowType::Time,
                size_ms: Some(1000),
            }),
        );
        let raw = tumbling.encode(&record(r#"{"topic":"t","key":1,"value":{},"window":{"start":2000,"end":3000,"type":"time"}}"#)).unwrap();
        let mut want = 1i32.to_be_bytes().to_vec();
        want.extend(2000i64.to_be_bytes());
        assert_eq!(raw.key, Some(want));
        let back = tumbling.decode("t", &raw).unwrap();
        assert_eq!(
            (back.key, back.window),
            (
                Value::Int(1),
                Some(WindowData {
                    start: 2000,
                    end: 3000,
                    kind: WindowType::Time
                })
            )
        );

        let session = topic(
            SqlType::Int,
            "JSON",
            Some(Windowing {
                kind: WindowType::Session,
                size_ms: None,
            }),
        );
        let raw = session
            .encode(&record(
                r#"{"topic":"t","key":1,"value":{},"window":{"start":5,"end":9,"type":"session"}}"#,
            ))
            .unwrap();
        let back = session.decode("t", &raw).unwrap();
        assert_eq!(
            back.window,
            Some(WindowData {
                start: 5,
                end: 9,
                kind: WindowType::Session
            })
        );

        let e = session
            .encode(&record(r#"{"topic":"t","key":1,"value":{}}"#))
            .unwrap_err();
        assert_eq!(
            e,
            DriverError::Rejected("topic t is windowed: its records need a \"window\"".into())
        );
        let short = RawRecord {
            key: Some(vec![1, 2]),
            value: None,
            timestamp: 0,
            headers: vec![],
        };
        assert!(
            matches!(session.decode("t", &short), Err(DriverError::Rejected(m)) if m.starts_with("Failed to deserialize key"))
        );
    }

    #[test]
    fn bad_input_is_rejected_not_a_panic() {
        let t = topic(SqlType::Int, "JSON", None);
        assert!(matches!(
            t.encode(&record(r#"{"topic":"t","key":"nope","value":{}}"#)),
            Err(DriverError::Rejected(_))
        ));
        let raw = RawRecord {
            key: None,
            value: Some(b"{not json".to_vec()),
            timestamp: 0,
            headers: vec![],
        };
        assert!(
            matches!(t.decode("t", &raw), Err(DriverError::Rejected(m)) if m.starts_with("Failed to deserialize value"))
        );
        let mut avro = t.clone();
        avro.value_format = FormatInfo::of("AVRO");
        assert!(matches!(
            avro.encode(&record(r#"{"topic":"t","value":{"NAME":"a"}}"#)),
            Err(DriverError::Unsupported(_))
        ));
    }
}
