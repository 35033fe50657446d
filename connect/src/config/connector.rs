//! The keys every connector has: Kafka's `ConnectorConfig`, with `SinkConnectorConfig`'s
//! `topics` / `topics.regex` and dead letter queue keys and `SourceConnectorConfig`'s
//! exactly-once keys (KIP-618), as one [`ConfigDef`] the worker validates a connector's
//! config against before the connector's own keys.

use super::def::{at_least_one, non_empty_string, ConfigDef, ConfigType, Importance};

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
            .display("Enable Error Context Headers")
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
