//! Topic routing and dropping: `RegexRouter` (`regex`, `replacement`), `TimestampRouter`
//! (`topic.format`, `timestamp.format`) and `Filter` (drops every record it is applied to:
//! give it a predicate).

use regex::Regex;

use super::timestamp_converter::{format_ms, java_format};
use super::{invalid, required, Transformation};
use crate::config::Config;
use crate::connector::ConnectRecord;
use crate::error::{Error, Result};

/// `org.apache.kafka.connect.transforms.Filter`.
#[derive(Debug)]
pub(crate) struct Filter;

impl Transformation for Filter {
    fn configure(&mut self, _config: &Config) -> Result<()> {
        Ok(())
    }

    fn apply(&self, _record: ConnectRecord, _sink_offset: Option<i64>) -> Result<Option<ConnectRecord>> {
        Ok(None)
    }
}

/// A regex that must match the whole input, as Java's `Matcher.matches()`.
pub(crate) fn full_match_regex(key: &str, pattern: &str) -> Result<Regex> {
    Regex::new(&format!("^(?:{pattern})$")).map_err(|e| invalid(key, pattern, &format!("Invalid regex: {e}")))
}

/// `org.apache.kafka.connect.transforms.RegexRouter`: a topic matching `regex` (whole name) is
/// renamed to `replacement`.
#[derive(Debug)]
pub(crate) struct RegexRouter {
    regex: Regex,
    replacement: String,
}

impl Default for RegexRouter {
    fn default() -> Self {
        RegexRouter { regex: Regex::new("^$").expect("empty regex"), replacement: String::new() }
    }
}

impl Transformation for RegexRouter {
    fn configure(&mut self, config: &Config) -> Result<()> {
        self.regex = full_match_regex("regex", required(config, "regex")?)?;
        self.replacement = brook_common::javaregex::java_replacement(required(config, "replacement")?);
        Ok(())
    }

    fn apply(&self, mut record: ConnectRecord, _sink_offset: Option<i64>) -> Result<Option<ConnectRecord>> {
        if self.regex.is_match(&record.topic) {
            record.topic = self.regex.replace(&record.topic, self.replacement.as_str()).into_owned();
        }
        Ok(Some(record))
    }
}

/// `org.apache.kafka.connect.transforms.TimestampRouter`: the topic becomes `topic.format`
/// (default `${topic}-${timestamp}`) with the record's timestamp in `timestamp.format`
/// (default `yyyyMMdd`, UTC).
#[derive(Debug)]
pub(crate) struct TimestampRouter {
    topic_format: String,
    timestamp_format: String,
}

impl Default for TimestampRouter {
    fn default() -> Self {
        TimestampRouter { topic_format: "${topic}-${timestamp}".into(), timestamp_format: java_format("yyyyMMdd").unwrap_or_default() }
    }
}

impl Transformation for TimestampRouter {
    fn configure(&mut self, config: &Config) -> Result<()> {
        if let Some(f) = config.get("topic.format") {
            self.topic_format = f.clone();
        }
        if let Some(f) = config.get("timestamp.format") {
            self.timestamp_format = java_format(f).map_err(|e| invalid("timestamp.format", f, &e))?;
        }
        Ok(())
    }

    fn apply(&self, mut record: ConnectRecord, _sink_offset: Option<i64>) -> Result<Option<ConnectRecord>> {
        let ts = record.timestamp.ok_or_else(|| Error::Data(format!("Timestamp missing on record: {record:?}")))?;
        let formatted = format_ms(ts, &self.timestamp_format)?;
        record.topic = self.topic_format.replace("${topic}", &record.topic).replace("${timestamp}", &formatted);
        Ok(Some(record))
    }
}
