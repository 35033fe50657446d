//! Typed statement results, shaped as ksqlDB's REST entities (`currentStatus`, `streams`,
//! `tables`, `queries`, `sourceDescription`, `queryDescription`, ...), so the REST server
//! serializes them as they are (camelCase field names).

mod field;

use serde::{Deserialize, Serialize};

pub use self::field::{FieldInfo, FieldSchema};
use crate::engine::push::PushQuery;
use crate::Row;

/// One statement's result.
#[derive(Debug)]
#[non_exhaustive]
pub enum StatementResult {
    /// DDL, DML, `SET`, `DEFINE`, `TERMINATE`: ksqlDB's `CommandStatusEntity`.
    Status(CommandStatus),
    Streams(Vec<SourceInfo>),
    Tables(Vec<SourceInfo>),
    Queries(Vec<RunningQuery>),
    Topics(Vec<TopicInfo>),
    Properties(Vec<Property>),
    Variables(Vec<(String, String)>),
    Types(Vec<(String, String)>),
    Functions(Vec<FunctionInfo>),
    SourceDescription(Box<SourceDescription>),
    SourceDescriptions(Vec<SourceDescription>),
    QueryDescription(Box<QueryDescription>),
    FunctionDescription(crate::function::FunctionDescription),
    /// A pull query's rows.
    Rows { schema: Vec<FieldInfo>, rows: Vec<Row> },
    /// A push query's stream of rows.
    PushQuery(PushQuery),
    /// `PRINT`: the records as ksqlDB prints them.
    Printed(Vec<String>),
    /// `CREATE SOURCE|SINK CONNECTOR`: ksqlDB's `ConnectorInfoEntity` (Connect's `ConnectorInfo`).
    ConnectorInfo(brook_connect::herder::ConnectorInfo),
    /// `DROP CONNECTOR`: ksqlDB's `DropConnectorEntity`, the connector's name.
    DropConnector(String),
    /// `SHOW CONNECTORS`: ksqlDB's `ConnectorList`.
    Connectors(Vec<ConnectorSummary>),
    /// `DESCRIBE CONNECTOR`: ksqlDB's `ConnectorDescription`.
    ConnectorDescription(Box<ConnectorDescription>),
    /// A statement that did nothing, and why (`IF [NOT] EXISTS`): ksqlDB's `WarningEntity`.
    Warning(String),
}

/// The `SUCCESS` status of statement `text`: ksqlDB's `CommandStatusEntity`.
pub(crate) fn status(text: &str, message: String, query_id: Option<String>) -> StatementResult {
    StatementResult::Status(CommandStatus { statement_text: text.to_owned(), status: "SUCCESS".into(), message, query_id })
}

/// One row of `SHOW CONNECTORS`: ksqlDB's `SimpleConnectorInfo`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConnectorSummary {
    pub name: String,
    /// `SOURCE`, `SINK` or `UNKNOWN`.
    #[serde(rename = "type")]
    pub kind: String,
    pub class_name: String,
    /// `RUNNING (1/1 tasks RUNNING)`.
    pub state: String,
}

/// `DESCRIBE CONNECTOR`: ksqlDB's `ConnectorDescription`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConnectorDescription {
    pub connector_class: String,
    /// Connect's status of the connector and its tasks.
    pub status: brook_connect::herder::ConnectorStateInfo,
    /// The streams and tables over the connector's topics.
    pub sources: Vec<SourceDescription>,
    /// The topics the connector has used.
    pub topics: Vec<String>,
}

/// ksqlDB's `CommandStatusEntity`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CommandStatus {
    pub statement_text: String,
    /// `SUCCESS`.
    pub status: String,
    pub message: String,
    /// The query a `CREATE ... AS SELECT` or `INSERT INTO ... SELECT` started.
    pub query_id: Option<String>,
}

/// One row of `SHOW STREAMS` / `SHOW TABLES`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SourceInfo {
    #[serde(rename = "type")]
    pub kind: String,
    pub name: String,
    pub topic: String,
    pub key_format: String,
    pub value_format: String,
    pub is_windowed: bool,
}

/// One row of `SHOW QUERIES`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RunningQuery {
    pub query_string: String,
    pub sinks: Vec<String>,
    pub sink_kafka_topics: Vec<String>,
    pub id: String,
    /// `PERSISTENT`.
    pub query_type: String,
    /// `RUNNING`, ...
    pub state: String,
}

/// One row of `SHOW TOPICS`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TopicInfo {
    pub name: String,
    pub replica_info: Vec<i32>,
}

/// One row of `SHOW PROPERTIES`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Property {
    pub name: String,
    pub scope: String,
    pub value: String,
}

/// One row of `SHOW FUNCTIONS`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FunctionInfo {
    pub name: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub category: String,
}

/// `DESCRIBE [EXTENDED] source`: ksqlDB's `SourceDescription`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SourceDescription {
    pub name: String,
    pub window_type: Option<String>,
    pub read_queries: Vec<QueryRef>,
    pub write_queries: Vec<QueryRef>,
    pub fields: Vec<FieldInfo>,
    #[serde(rename = "type")]
    pub kind: String,
    pub timestamp: String,
    pub statistics: String,
    pub error_stats: String,
    pub extended: bool,
    pub key_format: String,
    pub value_format: String,
    pub topic: String,
    pub partitions: i32,
    pub replication: i32,
    pub statement: String,
}

/// A query as a source description lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QueryRef {
    pub id: String,
    pub query_string: String,
    pub sinks: Vec<String>,
    pub state: String,
}

/// `EXPLAIN`: ksqlDB's `QueryDescription`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QueryDescription {
    pub id: String,
    pub statement_text: String,
    pub window_type: Option<String>,
    pub fields: Vec<FieldInfo>,
    pub sources: Vec<String>,
    pub sinks: Vec<String>,
    /// `Topology::describe()` text.
    pub topology: String,
    pub execution_plan: String,
    /// `PERSISTENT` or `PUSH`.
    pub query_type: String,
    pub state: Option<String>,
}
