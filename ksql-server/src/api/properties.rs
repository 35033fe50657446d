//! The properties a request may set (`streamsProperties`, `properties`, `/is_valid_property`),
//! checked with ksqlDB's messages.

use std::collections::BTreeMap;

use crate::{Error, Result};

/// Kafka Streams, consumer and producer properties a request may set besides `ksql.*`.
const STREAMS_PROPERTIES: &[&str] = &[
    "auto.offset.reset",
    "buffered.records.per.partition",
    "cache.max.bytes.buffering",
    "statestore.cache.max.bytes",
    "commit.interval.ms",
    "default.deserialization.exception.handler",
    "default.production.exception.handler",
    "max.task.idle.ms",
    "num.standby.replicas",
    "num.stream.threads",
    "poll.ms",
    "processing.guarantee",
    "replication.factor",
    "state.dir",
    "topology.optimization",
    "fetch.min.bytes",
    "fetch.max.wait.ms",
    "max.poll.records",
    "session.timeout.ms",
    "heartbeat.interval.ms",
    "isolation.level",
    "linger.ms",
    "batch.size",
    "acks",
    "compression.type",
];

/// Checks a property a request sets, with ksqlDB's messages.
pub(crate) fn check_property(name: &str, value: &str) -> Result<()> {
    let bare = name.strip_prefix("ksql.streams.").unwrap_or(name);
    let bare = bare.strip_prefix("consumer.").or_else(|| bare.strip_prefix("producer.")).unwrap_or(bare);
    if !(name.starts_with("ksql.") && !name.starts_with("ksql.streams.")) && !STREAMS_PROPERTIES.contains(&bare) {
        return Err(Error::bad_request(format!("Not recognizable as ksql, streams, consumer, or producer property: '{name}'")));
    }
    if bare == "auto.offset.reset" && !matches!(value, "earliest" | "latest" | "none") {
        return Err(Error::bad_request(format!("Invalid value {value} for configuration {name}: String must be one of: latest, earliest, none")));
    }
    Ok(())
}

/// A JSON property value as the engine takes it (`SET 'name'='value'`).
pub(crate) fn property_text(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Validates `streamsProperties` / `properties` and returns them as strings.
pub(crate) fn properties(props: &serde_json::Map<String, serde_json::Value>) -> Result<BTreeMap<String, String>> {
    props
        .iter()
        .map(|(k, v)| {
            let text = property_text(v);
            check_property(k, &text)?;
            Ok((k.clone(), text))
        })
        .collect()
}
