//! The records of the command topic: ksqlDB's `Command` (the statement, the properties in
//! force, and its `KsqlPlan`), as JSON. The engine produces one for every statement that
//! changes the catalog ([`crate::Engine::take_commands`]) and applies one without planning
//! the statement again ([`crate::Engine::apply_command`]), so a restarted server gets the same
//! streams, tables, types and queries (same query ids, same internal topic and store names)
//! even when the planner has changed since.
//!
//! Where Brook differs from ksqlDB: the field names are ksqlDB's (`statement`,
//! `streamsProperties`, `originalProperties`, `plan` with `@type: ksqlPlanV1`, `statementText`,
//! `ddlCommand`, `queryPlan` with `sources`, `sink`, `physicalPlan`, `queryId`; DDL commands
//! `createStreamV1`, `createTableV1`, `dropSourceV1`, `alterSourceV1`, `registerTypeV1`,
//! `dropTypeV1`), but what is inside a source, a schema or a step is Brook's own serde form
//! (the catalog's [`DataSource`], the [`ExecutionStep`] tree), not ksqlDB's Jackson form; a
//! query plan also carries its kind, sink topic and the sink's partition count. Property
//! values are strings.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::catalog::{DataSource, QueryKind};
use crate::parser::ast::SourceKind;
use crate::plan::physical::ExecutionStep;
use crate::{Column, SqlType};

/// The version Brook writes in [`Command::version`].
pub const COMMAND_VERSION: u32 = 1;

/// ksqlDB's `Command`: one value of the command topic.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Command {
    /// The statement as it ran (after variable substitution).
    pub statement: String,
    /// The session's properties when it ran (request `streamsProperties` and `SET`s).
    #[serde(default)]
    pub streams_properties: BTreeMap<String, String>,
    /// The server's properties when it ran.
    #[serde(default)]
    pub original_properties: BTreeMap<String, String>,
    /// What the statement did; `None` for `TERMINATE` (as in ksqlDB, replayed from its text)
    /// and for records written by Brook before plans were recorded.
    #[serde(default)]
    pub plan: Option<KsqlPlan>,
    #[serde(default)]
    pub version: u32,
}

/// ksqlDB's `KsqlPlan` (`ksqlPlanV1`): the catalog change and the query a statement made.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "@type", rename = "ksqlPlanV1", rename_all = "camelCase")]
pub struct KsqlPlan {
    pub statement_text: String,
    #[serde(default)]
    pub ddl_command: Option<DdlCommand>,
    #[serde(default)]
    pub query_plan: Option<KsqlQueryPlan>,
}

/// A stream or table as `CREATE` registers it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateSourceCommand {
    pub source: DataSource,
    #[serde(default)]
    pub or_replace: bool,
}

/// ksqlDB's DDL commands.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "@type")]
pub enum DdlCommand {
    #[serde(rename = "createStreamV1")]
    CreateStream(CreateSourceCommand),
    #[serde(rename = "createTableV1")]
    CreateTable(CreateSourceCommand),
    /// Removes a source from the catalog (the topic, if `DELETE TOPIC` removed it, is not
    /// touched again).
    #[serde(rename = "dropSourceV1", rename_all = "camelCase")]
    DropSource { source_name: String, data_source_type: SourceKind },
    /// `ALTER ... ADD COLUMN`: value columns appended, types resolved.
    #[serde(rename = "alterSourceV1", rename_all = "camelCase")]
    AlterSource { source_name: String, data_source_type: SourceKind, new_columns: Vec<Column> },
    #[serde(rename = "registerTypeV1", rename_all = "camelCase")]
    RegisterType { type_name: String, #[serde(rename = "type")] ty: SqlType },
    #[serde(rename = "dropTypeV1", rename_all = "camelCase")]
    DropType { type_name: String },
}

impl DdlCommand {
    /// `createStreamV1` or `createTableV1`, by the source's kind.
    pub fn create(source: DataSource, or_replace: bool) -> DdlCommand {
        let kind = source.kind;
        let c = CreateSourceCommand { source, or_replace };
        match kind {
            SourceKind::Stream => DdlCommand::CreateStream(c),
            SourceKind::Table => DdlCommand::CreateTable(c),
        }
    }
}

/// ksqlDB's `QueryPlan`: a persistent query's id, what it reads and writes, and its steps.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KsqlQueryPlan {
    pub query_id: String,
    pub kind: QueryKind,
    /// The sources read, by name.
    pub sources: Vec<String>,
    /// The sink source, by name.
    pub sink: Option<String>,
    pub sink_topic: Option<String>,
    /// The partition count the sink topic was created with (it is created again, if missing,
    /// on replay).
    #[serde(default)]
    pub sink_partitions: Option<i32>,
    /// The sink step and everything below it.
    pub physical_plan: ExecutionStep,
}
