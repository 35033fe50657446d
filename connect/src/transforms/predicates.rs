//! Kafka's predicates (`org.apache.kafka.connect.transforms.predicates`): `TopicNameMatches`
//! (`pattern`, the whole topic name), `HasHeaderKey` (`name`), `RecordIsTombstone`.

use regex::Regex;

use super::router::full_match_regex;
use super::{required, Predicate};
use crate::config::Config;
use crate::connector::ConnectRecord;
use crate::data::Value;
use crate::error::Result;

/// `TopicNameMatches`: the topic matches `pattern` (Java regex syntax, whole name).
#[derive(Debug, Default)]
pub struct TopicNameMatches {
    pattern: Option<Regex>,
}

impl Predicate for TopicNameMatches {
    fn configure(&mut self, config: &Config) -> Result<()> {
        self.pattern = Some(full_match_regex("pattern", required(config, "pattern")?)?);
        Ok(())
    }

    fn test(&self, record: &ConnectRecord) -> bool {
        self.pattern.as_ref().is_some_and(|p| p.is_match(&record.topic))
    }
}

/// `HasHeaderKey`: the record has at least one header `name`.
#[derive(Debug, Default)]
pub struct HasHeaderKey {
    name: String,
}

impl Predicate for HasHeaderKey {
    fn configure(&mut self, config: &Config) -> Result<()> {
        self.name = required(config, "name")?.to_owned();
        Ok(())
    }

    fn test(&self, record: &ConnectRecord) -> bool {
        record.headers.iter().any(|h| h.key == self.name)
    }
}

/// `RecordIsTombstone`: the value is null.
#[derive(Debug)]
pub struct RecordIsTombstone;

impl Predicate for RecordIsTombstone {
    fn configure(&mut self, _config: &Config) -> Result<()> {
        Ok(())
    }

    fn test(&self, record: &ConnectRecord) -> bool {
        record.value.value == Value::Null
    }
}
