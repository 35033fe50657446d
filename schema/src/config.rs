//! Serde settings with Confluent's keys, and the subject name strategies.

use crate::error::{Error, Result};

/// How a serializer names the subject it registers under (`key.subject.name.strategy` /
/// `value.subject.name.strategy`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SubjectNameStrategy {
    /// `<topic>-key` / `<topic>-value` (the default).
    #[default]
    TopicName,
    /// The record's fully-qualified name.
    RecordName,
    /// `<topic>-<fully-qualified record name>`.
    TopicRecordName,
}

impl SubjectNameStrategy {
    /// The subject for a record of type `record_name` (Avro full name, JSON Schema `title`,
    /// Protobuf message full name) on `topic`.
    ///
    /// # Errors
    /// [`Error::Config`] when the strategy needs a record name and the schema has none.
    pub fn subject(self, topic: &str, is_key: bool, record_name: Option<&str>) -> Result<String> {
        let record = || {
            record_name.ok_or_else(|| Error::Config {
                key: "subject.name.strategy".to_owned(),
                reason: format!("{self:?} needs a named record schema"),
            })
        };
        Ok(match self {
            Self::TopicName => format!("{topic}-{}", if is_key { "key" } else { "value" }),
            Self::RecordName => record()?.to_owned(),
            Self::TopicRecordName => format!("{topic}-{}", record()?),
        })
    }

    fn parse(key: &str, value: &str) -> Result<Self> {
        // Accept Confluent's Java class names as well as the short names.
        match value.rsplit('.').next().unwrap_or(value) {
            "TopicNameStrategy" => Ok(Self::TopicName),
            "RecordNameStrategy" => Ok(Self::RecordName),
            "TopicRecordNameStrategy" => Ok(Self::TopicRecordName),
            _ => Err(Error::Config { key: key.to_owned(), reason: format!("unknown subject name strategy {value:?}") }),
        }
    }
}

/// Settings shared by every Schema Registry serde.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SerdeConfig {
    /// Whether this serde handles record keys (subject `<topic>-key`) or values.
    pub is_key: bool,
    /// `auto.register.schemas`: register the writer's schema on first use. Default: true.
    pub auto_register_schemas: bool,
    /// `use.latest.version`: serialize with the subject's latest schema instead of the writer's
    /// own (needs `auto.register.schemas=false`). Default: false.
    pub use_latest_version: bool,
    /// `normalize.schemas`: ask the registry to normalize on register and lookup. Default: false.
    pub normalize_schemas: bool,
    /// `key.subject.name.strategy` / `value.subject.name.strategy`. Default: TopicNameStrategy.
    pub subject_name_strategy: SubjectNameStrategy,
}

impl Default for SerdeConfig {
    fn default() -> Self {
        Self {
            is_key: false,
            auto_register_schemas: true,
            use_latest_version: false,
            normalize_schemas: false,
            subject_name_strategy: SubjectNameStrategy::TopicName,
        }
    }
}

impl SerdeConfig {
    /// Defaults for a value serde.
    #[must_use]
    pub fn value() -> Self {
        Self::default()
    }

    /// Defaults for a key serde.
    #[must_use]
    pub fn key() -> Self {
        Self { is_key: true, ..Self::default() }
    }

    /// Applies Confluent's string keys; unknown keys are ignored (they belong to the client).
    ///
    /// # Errors
    /// [`Error::Config`] for a value that does not parse.
    pub fn with_properties<'a>(mut self, props: impl IntoIterator<Item = (&'a str, &'a str)>) -> Result<Self> {
        let flag = |key: &str, value: &str| match value.trim().to_ascii_lowercase().as_str() {
            "true" => Ok(true),
            "false" => Ok(false),
            _ => Err(Error::Config { key: key.to_owned(), reason: format!("expected true or false, got {value:?}") }),
        };
        for (key, value) in props {
            match key {
                "auto.register.schemas" => self.auto_register_schemas = flag(key, value)?,
                "use.latest.version" => self.use_latest_version = flag(key, value)?,
                "normalize.schemas" => self.normalize_schemas = flag(key, value)?,
                "key.subject.name.strategy" if self.is_key => {
                    self.subject_name_strategy = SubjectNameStrategy::parse(key, value)?;
                }
                "value.subject.name.strategy" if !self.is_key => {
                    self.subject_name_strategy = SubjectNameStrategy::parse(key, value)?;
                }
                _ => {}
            }
        }
        Ok(self)
    }

    /// The subject for `topic` and a record named `record_name`.
    ///
    /// # Errors
    /// As [`SubjectNameStrategy::subject`].
    pub fn subject(&self, topic: &str, record_name: Option<&str>) -> Result<String> {
        self.subject_name_strategy.subject(topic, self.is_key, record_name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strategies_name_subjects_like_confluent() {
        let value = SerdeConfig::value();
        assert_eq!(value.subject("orders", Some("io.x.Order")).unwrap(), "orders-value");
        assert_eq!(SerdeConfig::key().subject("orders", None).unwrap(), "orders-key");
        let record = SerdeConfig::value()
            .with_properties([(
                "value.subject.name.strategy",
                "io.confluent.kafka.serializers.subject.RecordNameStrategy",
            )])
            .unwrap();
        assert_eq!(record.subject("orders", Some("io.x.Order")).unwrap(), "io.x.Order");
        assert!(record.subject("orders", None).is_err());
        let topic_record =
            SerdeConfig::value().with_properties([("value.subject.name.strategy", "TopicRecordNameStrategy")]).unwrap();
        assert_eq!(topic_record.subject("orders", Some("io.x.Order")).unwrap(), "orders-io.x.Order");
        let config = SerdeConfig::key()
            .with_properties([("auto.register.schemas", "false"), ("use.latest.version", "TRUE")])
            .unwrap();
        assert!(!config.auto_register_schemas && config.use_latest_version);
        assert!(SerdeConfig::key().with_properties([("use.latest.version", "yes")]).is_err());
    }
}
