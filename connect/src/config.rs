//! Config definitions and validation: Kafka's `ConfigDef` as far as Connect's
//! `PUT /connector-plugins/{plugin}/config/validate` needs it. A connector declares its keys
//! ([`ConfigDef`]: name, type, default, importance, documentation, group); [`ConfigDef::validate`]
//! checks a config key by key and returns one [`ConfigValue`] per key with its errors, in
//! Kafka's wording (`Missing required configuration "file" which has no default value.`,
//! `Invalid value x for configuration batch.size: Not a number of type INT`).

use serde::{Deserialize, Serialize};

use crate::connector::Config;

/// A config key's type (Kafka's `ConfigDef.Type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[non_exhaustive]
pub enum ConfigType {
    /// `BOOLEAN`: `true` / `false` (any case).
    Boolean,
    /// `STRING`.
    String,
    /// `INT`: a 32-bit integer.
    Int,
    /// `SHORT`: a 16-bit integer.
    Short,
    /// `LONG`: a 64-bit integer.
    Long,
    /// `DOUBLE`.
    Double,
    /// `LIST`: comma-separated values.
    List,
    /// `CLASS`: a class name.
    Class,
    /// `PASSWORD`: a string shown as `[hidden]`.
    Password,
}

impl ConfigType {
    /// Kafka's name of the type (`INT`).
    pub fn name(self) -> &'static str {
        match self {
            ConfigType::Boolean => "BOOLEAN",
            ConfigType::String => "STRING",
            ConfigType::Int => "INT",
            ConfigType::Short => "SHORT",
            ConfigType::Long => "LONG",
            ConfigType::Double => "DOUBLE",
            ConfigType::List => "LIST",
            ConfigType::Class => "CLASS",
            ConfigType::Password => "PASSWORD",
        }
    }

    /// Whether `value` parses as this type; the error is Kafka's text after `for configuration X: `.
    fn check(self, value: &str) -> Result<(), String> {
        let v = value.trim();
        let ok = match self {
            ConfigType::Boolean => v.eq_ignore_ascii_case("true") || v.eq_ignore_ascii_case("false"),
            ConfigType::Int => v.parse::<i32>().is_ok(),
            ConfigType::Short => v.parse::<i16>().is_ok(),
            ConfigType::Long => v.parse::<i64>().is_ok(),
            ConfigType::Double => v.parse::<f64>().is_ok(),
            ConfigType::String | ConfigType::List | ConfigType::Class | ConfigType::Password => true,
        };
        match (ok, self) {
            (true, _) => Ok(()),
            (false, ConfigType::Boolean) => Err("Expected value to be either true or false".into()),
            (false, t) => Err(format!("Not a number of type {}", t.name())),
        }
    }
}

/// How much a key matters (Kafka's `ConfigDef.Importance`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Importance {
    /// `HIGH`.
    High,
    /// `MEDIUM`.
    Medium,
    /// `LOW`.
    Low,
}

/// A check beyond the type (Kafka's `ConfigDef.Validator`): `Err` holds the reason, shown as
/// `Invalid value V for configuration K: REASON`.
pub type Validator = fn(&str) -> Result<(), String>;

/// One key of a [`ConfigDef`].
#[derive(Debug, Clone)]
pub struct ConfigKey {
    /// The key (`file`).
    pub name: String,
    /// Its type.
    pub kind: ConfigType,
    /// The default, if any.
    pub default: Option<String>,
    /// Whether a value must be given (no default; Kafka's `NO_DEFAULT_VALUE`).
    pub required: bool,
    /// Its importance.
    pub importance: Importance,
    /// What it means.
    pub documentation: String,
    /// The group it is shown in (`Common`), if any.
    pub group: Option<String>,
    /// Its position in the group (-1: none).
    pub order_in_group: i32,
    /// The name shown in UIs.
    pub display_name: String,
    /// A further check of the value.
    pub validator: Option<Validator>,
}

/// A connector's (or worker's) declared keys, in declaration order.
#[derive(Debug, Clone, Default)]
pub struct ConfigDef {
    keys: Vec<ConfigKey>,
}

/// What [`ConfigDef::validate`] says of one key: its value and its errors.
#[derive(Debug, Clone, PartialEq)]
pub struct ConfigValue {
    /// The key.
    pub name: String,
    /// The value given, if any.
    pub value: Option<String>,
    /// What is wrong with it (empty: valid).
    pub errors: Vec<String>,
}

impl ConfigDef {
    /// An empty definition.
    pub fn new() -> ConfigDef {
        ConfigDef::default()
    }

    /// Adds a key; `default: None` makes it required.
    #[must_use]
    pub fn define(mut self, name: &str, kind: ConfigType, default: Option<&str>, importance: Importance, documentation: &str) -> ConfigDef {
        self.keys.push(ConfigKey {
            name: name.to_owned(),
            kind,
            default: default.map(str::to_owned),
            required: default.is_none(),
            importance,
            documentation: documentation.to_owned(),
            group: None,
            order_in_group: -1,
            display_name: name.to_owned(),
            validator: None,
        });
        self
    }

    /// Sets the group and the order in it of the key defined last.
    #[must_use]
    pub fn in_group(mut self, group: &str, order: i32) -> ConfigDef {
        if let Some(k) = self.keys.last_mut() {
            k.group = Some(group.to_owned());
            k.order_in_group = order;
        }
        self
    }

    /// Makes the key defined last optional without a default (Kafka's `null` default).
    #[must_use]
    pub fn optional(mut self) -> ConfigDef {
        if let Some(k) = self.keys.last_mut() {
            k.required = false;
        }
        self
    }

    /// Sets the display name of the key defined last.
    #[must_use]
    pub fn display(mut self, display_name: &str) -> ConfigDef {
        if let Some(k) = self.keys.last_mut() {
            k.display_name = display_name.to_owned();
        }
        self
    }

    /// Adds a validator to the key defined last.
    #[must_use]
    pub fn validated(mut self, validator: Validator) -> ConfigDef {
        if let Some(k) = self.keys.last_mut() {
            k.validator = Some(validator);
        }
        self
    }

    /// Appends the keys of `other` that this definition does not have yet.
    #[must_use]
    pub fn merge(mut self, other: ConfigDef) -> ConfigDef {
        for k in other.keys {
            if !self.keys.iter().any(|have| have.name == k.name) {
                self.keys.push(k);
            }
        }
        self
    }

    /// The keys, in declaration order.
    pub fn keys(&self) -> &[ConfigKey] {
        &self.keys
    }

    /// The groups, in order of first appearance.
    pub fn groups(&self) -> Vec<String> {
        let mut groups: Vec<String> = Vec::new();
        for g in self.keys.iter().filter_map(|k| k.group.as_ref()) {
            if !groups.contains(g) {
                groups.push(g.clone());
            }
        }
        groups
    }

    /// Checks `config` key by key: a required key that is missing or empty, a value that is
    /// not of the key's type, a value its validator refuses.
    pub fn validate(&self, config: &Config) -> Vec<ConfigValue> {
        self.keys
            .iter()
            .map(|k| {
                let value = config.get(&k.name).cloned();
                let mut errors = Vec::new();
                match value.as_deref().or(k.default.as_deref()) {
                    None if !k.required => {}
                    None => errors.push(format!("Missing required configuration \"{}\" which has no default value.", k.name)),
                    Some(v) => {
                        let checked = k.kind.check(v).and_then(|()| k.validator.map_or(Ok(()), |f| f(v)));
                        if let Err(reason) = checked {
                            errors.push(format!("Invalid value {v} for configuration {}: {reason}", k.name));
                        }
                    }
                }
                ConfigValue { name: k.name.clone(), value, errors }
            })
            .collect()
    }
}

/// The keys every connector has (Kafka's `ConnectorConfig`, group `Common`), plus `topics` /
/// `topics.regex` for a sink.
pub fn connector_config_def(sink: bool) -> ConfigDef {
    let common = "Common";
    let mut def = ConfigDef::new()
        .define("name", ConfigType::String, None, Importance::High, "Globally unique name to use for this connector.")
        .validated(non_empty_string)
        .in_group(common, 1)
        .display("Connector name")
        .define("connector.class", ConfigType::String, None, Importance::High, "Name or alias of the class for this connector.")
        .in_group(common, 2)
        .display("Connector class")
        .define("tasks.max", ConfigType::Int, Some("1"), Importance::High, "Maximum number of tasks to use for this connector.")
        .validated(at_least_one)
        .in_group(common, 3)
        .display("Tasks max")
        .define("key.converter", ConfigType::Class, None, Importance::Low, "Converter class used to convert between Kafka Connect format and the serialized form that is written to Kafka. Overrides the worker's.")
        .optional()
        .validated(known_converter)
        .in_group(common, 5)
        .display("Key converter class")
        .define("value.converter", ConfigType::Class, None, Importance::Low, "Converter class used to convert between Kafka Connect format and the serialized form that is written to Kafka. Overrides the worker's.")
        .optional()
        .validated(known_converter)
        .in_group(common, 6)
        .display("Value converter class")
        .define("transforms", ConfigType::List, Some(""), Importance::Low, "Aliases for the transformations to be applied to records.")
        .in_group("Transforms", 0)
        .display("Transforms")
        .define("predicates", ConfigType::List, Some(""), Importance::Low, "Aliases for the predicates used by transformations.")
        .in_group("Predicates", 0)
        .display("Predicates")
        .define("errors.retry.timeout", ConfigType::Long, Some("0"), Importance::Medium, "The maximum duration in milliseconds that a failed operation will be reattempted. The default is 0, which means no retries will be attempted. Use -1 for infinite retries.")
        .in_group("Error Handling", 1)
        .display("Retry Timeout for Errors")
        .define("errors.retry.delay.max.ms", ConfigType::Long, Some("60000"), Importance::Medium, "The maximum duration in milliseconds between consecutive retry attempts.")
        .in_group("Error Handling", 2)
        .display("Maximum Delay Between Retries for Errors")
        .define("errors.tolerance", ConfigType::String, Some("none"), Importance::Medium, "Behavior for tolerating errors during connector operation. 'none' is the default value and signals that any error will result in an immediate connector task failure; 'all' changes the behavior to skip over problematic records.")
        .validated(tolerance)
        .in_group("Error Handling", 3)
        .display("Error Tolerance")
        .define("errors.log.enable", ConfigType::Boolean, Some("false"), Importance::Medium, "If true, write each error and the details of the failed operation and problematic record to the Connect application log.")
        .in_group("Error Handling", 4)
        .display("Log Errors")
        .define("errors.log.include.messages", ConfigType::Boolean, Some("false"), Importance::Medium, "Whether to include in the log the Connect record that resulted in a failure.")
        .in_group("Error Handling", 5)
        .display("Log Error Details");
    if sink {
        def = def
            .define("errors.deadletterqueue.topic.name", ConfigType::String, Some(""), Importance::Medium, "The name of the topic to be used as the dead letter queue (DLQ) for messages that result in an error when processed by this sink connector, or its transformations or converters.")
            .in_group("Error Handling", 6)
            .display("Dead Letter Queue Topic Name")
            .define("errors.deadletterqueue.topic.replication.factor", ConfigType::Short, Some("3"), Importance::Medium, "Replication factor used to create the dead letter queue topic when it doesn't already exist.")
            .in_group("Error Handling", 7)
            .display("Dead Letter Queue Topic Replication Factor")
            .define("errors.deadletterqueue.context.headers.enable", ConfigType::Boolean, Some("false"), Importance::Medium, "If true, add headers containing error context to the messages written to the dead letter queue.")
            .in_group("Error Handling", 8)
            .display("Enable Error Context Headers");
    }
    if sink {
        def = def
            .define("topics", ConfigType::List, Some(""), Importance::High, "List of topics to consume, separated by commas")
            .in_group(common, 4)
            .display("Topics")
            .define("topics.regex", ConfigType::String, Some(""), Importance::High, "Regular expression giving topics to consume. Under the hood, the regex is compiled to a java.util.regex.Pattern. Only one of topics or topics.regex should be specified.")
            .validated(valid_regex)
            .in_group(common, 4)
            .display("Topics regex");
    } else {
        // Kafka's `SourceConnectorConfig` (KIP-618); read by the distributed worker only.
        let eos = "Exactly Once Support";
        def = def
            .define("exactly.once.support", ConfigType::String, Some("requested"), Importance::Medium, "Permitted values are requested, required. If set to \"required\", forces a preflight check for the connector to ensure that it can provide exactly-once semantics with the given configuration. Some connectors may be capable of providing exactly-once semantics but not signal to Connect that they support this; in that case, documentation for the connector should be consulted carefully before creating it, and the value for this property should be set to \"requested\". Additionally, if the value is set to \"required\" but the worker that performs preflight validation does not have exactly-once support enabled for source connectors, requests to create or validate the connector will fail.")
            .validated(|v| one_of(v, &["requested", "required"]))
            .in_group(eos, 1)
            .display("Exactly once support")
            .define("transaction.boundary", ConfigType::String, Some("poll"), Importance::Medium, "Permitted values are: poll, interval, connector. If set to 'poll', a new producer transaction will be started and committed for every batch of records that each task from this connector provides to Connect. If set to 'connector', relies on connector-defined transaction boundaries; note that not all connectors are capable of defining their own transaction boundaries, and in that case, attempts to instantiate a connector with this value will fail. Finally, if set to 'interval', commits transactions only after a user-defined time interval has passed.")
            .validated(|v| one_of(v, &["poll", "interval", "connector"]))
            .in_group(eos, 2)
            .display("Transaction Boundary")
            .define("transaction.boundary.interval.ms", ConfigType::Long, None, Importance::Low, "If 'transaction.boundary' is set to 'interval', determines the interval for producer transaction commits by connector tasks. If unset, defaults to the value of the worker-level 'offset.flush.interval.ms' property. It has no effect if a different transaction.boundary is specified.")
            .optional()
            .validated(non_negative_interval)
            .in_group(eos, 3)
            .display("Transaction boundary interval")
            .define("offsets.storage.topic", ConfigType::String, None, Importance::Low, "The name of a separate offsets topic to use for this connector. If empty or not specified, the worker's global offsets topic name will be used. If specified, the offsets topic will be created if it does not already exist on the Kafka cluster targeted by this connector. Only applicable in distributed mode; in standalone mode, setting this property will have no effect.")
            .optional()
            .in_group("offsets.topic", 1)
            .display("Offsets topic");
    }
    def
}

/// A validator: one of `options`, any case (Kafka's `CaseInsensitiveValidString`).
fn one_of(v: &str, options: &[&str]) -> Result<(), String> {
    if options.iter().any(|o| o.eq_ignore_ascii_case(v.trim())) {
        Ok(())
    } else {
        Err(format!("String must be one of (case insensitive): {}", options.join(", ")))
    }
}

/// A validator: `transaction.boundary.interval.ms` is not negative.
fn non_negative_interval(v: &str) -> Result<(), String> {
    match v.trim().parse::<i64>() {
        Ok(n) if n < 0 => Err("Interval must be non-negative".into()),
        _ => Ok(()),
    }
}

/// A validator: a regular expression (`topics.regex`).
fn valid_regex(v: &str) -> Result<(), String> {
    regex::Regex::new(v).map(|_| ()).map_err(|e| format!("Invalid regex: {e}"))
}

/// A validator: `errors.tolerance` is `none` or `all`.
fn tolerance(v: &str) -> Result<(), String> {
    match v.trim().to_ascii_lowercase().as_str() {
        "none" | "all" => Ok(()),
        _ => Err("String must be one of: none, all".into()),
    }
}

/// A validator: a converter class Brook has.
fn known_converter(v: &str) -> Result<(), String> {
    crate::converter::converter_by_class(v.trim()).map(|_| ()).map_err(|e| e.to_string())
}

/// A validator: a non-empty value.
pub fn non_empty_string(v: &str) -> Result<(), String> {
    if v.trim().is_empty() {
        Err("String must be non-empty".into())
    } else {
        Ok(())
    }
}

/// A validator: an integer of at least 1.
pub fn at_least_one(v: &str) -> Result<(), String> {
    match v.trim().parse::<i64>() {
        Ok(n) if n >= 1 => Ok(()),
        _ => Err("Value must be at least 1".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validate_reports_missing_and_mistyped_keys_in_kafkas_words() {
        let def = ConfigDef::new()
            .define("file", ConfigType::String, None, Importance::High, "the file")
            .define("batch.size", ConfigType::Int, Some("2000"), Importance::Low, "lines per poll")
            .define("tasks.max", ConfigType::Int, Some("1"), Importance::High, "tasks")
            .validated(at_least_one);
        let config: Config = [("batch.size".to_owned(), "many".to_owned()), ("tasks.max".to_owned(), "0".to_owned())].into();
        let values = def.validate(&config);
        assert_eq!(values[0].errors, ["Missing required configuration \"file\" which has no default value."]);
        assert_eq!(values[1].errors, ["Invalid value many for configuration batch.size: Not a number of type INT"]);
        assert_eq!(values[2].errors, ["Invalid value 0 for configuration tasks.max: Value must be at least 1"]);
    }
}
