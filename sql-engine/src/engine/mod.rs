//! The engine: statements in, typed results out ([`Engine::execute`]). It owns the
//! [`Catalog`], the session's properties and variables, the processing log, and the runtime
//! its persistent queries run on: a [`Cluster`](crate::cluster::Cluster) (live mode: the
//! embedded broker, or any Kafka-protocol cluster with feature `kafka`) or, in test mode, one
//! `TopologyTestDriver` per query with records routed between them ([`Engine::pipe_input`],
//! [`Engine::read_output`]).
//!
//! This file is the top: it runs each statement by calling the part that handles it. The parts
//! import downwards only, and nothing from here:
//! - statements: `ddl`, `query` (persistent and transient queries), `push`, `pull`, `show`,
//!   `describe`, `connector`, `command` (applying the command topic's records);
//! - what they share: `lifecycle` (lowering, starting and stopping a query), `props` (`WITH`
//!   properties), [`entities`] (the typed results);
//! - the engine's state (`state`: [`Engine`] and what reading or changing it means) and set-up
//!   (`config`: [`EngineConfig`]);
//! - the runtimes under it: `test_mode`, `live` (with the shared push-query readers of
//!   [`fanout`]), the store reads both answer (`store_read`), and the [`processing_log`].
//!
//! Where Brook differs from ksqlDB (see also `docs/sql.md`):
//! - in test mode a topic a statement names but that does not exist is created with one
//!   partition (or `PARTITIONS`), where ksqlDB requires it to exist;
//! - variables are substituted into the rest of a request after each statement runs, so a
//!   `${var}` used before its `DEFINE` in the same request fails.

mod command;
mod config;
mod connector;
mod ddl;
mod describe;
pub mod entities;
pub mod fanout;
mod lifecycle;
mod live;
pub mod print;
pub mod processing_log;
mod props;
mod pull;
pub mod push;
mod query;
mod show;
mod state;
mod store_read;
mod test_mode;

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::AtomicU64;
use std::sync::Arc;

pub use self::config::{EngineConfig, CONNECT_URL, POOL_THREADS, SCHEMA_REGISTRY_URL};
pub use self::entities::{CommandStatus, StatementResult};
pub use self::state::Engine;
pub use crate::cluster::OutputRecord;

use self::config::schema_registry_from;
use self::entities::status;
use self::live::LiveRuntime;
use self::processing_log::{processing_log_topic, ProcessingLog};
use self::state::Runtime;
use self::test_mode::TestPipeline;
use crate::analyzer::ExprEnv;
use crate::catalog::{Catalog, WindowInfo};
use crate::format::FormatInfo;
use crate::function::FunctionRegistry;
use crate::parser::ast::{ParsedStatement, Statement};
use crate::{Column, Error, Result};

/// The key and value columns of a topic, with their formats, as the sources over it declare
/// them (what the test runner encodes inputs and decodes outputs with).
#[derive(Debug, Clone, PartialEq)]
pub struct TopicSchema {
    pub key: Vec<Column>,
    pub key_format: FormatInfo,
    pub value: Vec<Column>,
    pub value_format: FormatInfo,
    pub window: Option<WindowInfo>,
}

impl Engine {
    /// An engine with `config`; creates the `KSQL_PROCESSING_LOG` stream.
    ///
    /// # Errors
    /// Topic creation errors (live mode).
    pub fn new(mut config: EngineConfig) -> Result<Self> {
        if config.schema_registry.is_none() {
            config.schema_registry = schema_registry_from(&config.properties)?;
        }
        let log = ProcessingLog::new();
        let log_topic = processing_log_topic(&config.service_id);
        let runtime = match &config.cluster {
            Some(c) => {
                let pool_threads = match config.properties.get(POOL_THREADS) {
                    Some(v) => Some(v.trim().parse::<usize>().map_err(|_| {
                        Error::Analysis(format!("invalid value for property \"{POOL_THREADS}\": \"{v}\" (a number of threads, 0 for none)"))
                    })?),
                    None => None,
                };
                Runtime::Live(LiveRuntime::new(c.clone(), log.clone(), log_topic, pool_threads))
            }
            None => Runtime::Test(TestPipeline::new(config.state_dir.clone())?),
        };
        let mut engine = Engine {
            config,
            catalog: Catalog::new(),
            env: ExprEnv { registry: Arc::new(FunctionRegistry::new()), types: BTreeMap::new() },
            overrides: BTreeMap::new(),
            variables: BTreeMap::new(),
            log,
            runtime,
            test_topics: BTreeMap::new(),
            transient: AtomicU64::new(0),
            recorded: None,
            replaying: false,
        };
        ddl::create_processing_log_stream(&mut engine)?;
        Ok(engine)
    }

    /// An engine in test mode.
    ///
    /// # Errors
    /// As [`Engine::new`].
    pub fn new_test() -> Result<Self> {
        Self::new(EngineConfig::test())
    }

    /// The in-process broker live queries run on; `None` in test mode and over a Kafka cluster.
    pub fn broker(&self) -> Option<&brook_broker::Broker> {
        match &self.runtime {
            Runtime::Live(l) => l.cluster.embedded_broker(),
            Runtime::Test(_) => None,
        }
    }

    /// The catalog.
    pub fn catalog(&self) -> &Catalog {
        &self.catalog
    }

    /// The function registry (register user functions here before creating queries).
    ///
    /// # Panics
    /// Never; `None` while queries share the registry.
    pub fn functions_mut(&mut self) -> Option<&mut FunctionRegistry> {
        Arc::get_mut(&mut self.env.registry)
    }

    /// The shared readers of push queries now running (live mode; empty in test mode).
    pub fn shared_push_feeds(&self) -> Vec<fanout::FeedStats> {
        match &self.runtime {
            Runtime::Live(l) => l.feeds.stats(),
            Runtime::Test(_) => Vec::new(),
        }
    }

    /// How many records of query `id` went to the processing log.
    pub fn query_error_count(&self, id: &str) -> u64 {
        self.log.error_count(id)
    }

    /// Runs every statement of `sql`, in order; stops at the first failure.
    ///
    /// # Errors
    /// Parse, analysis and runtime errors with ksqlDB's messages.
    pub fn execute(&mut self, sql: &str) -> Result<Vec<StatementResult>> {
        let mut results = Vec::new();
        let mut rest = sql.to_owned();
        loop {
            let text = if self.substitution_enabled() && rest.contains("${") {
                let vars: HashMap<String, String> = self.variables.clone().into_iter().collect();
                crate::parser::substitute_variables(&rest, &vars)?
            } else {
                rest.clone()
            };
            let statements = crate::parser::parse(&text)?;
            let Some(first) = statements.first() else { return Ok(results) };
            let redefines = matches!(first.statement, Statement::DefineVariable { .. } | Statement::UndefineVariable { .. });
            if !redefines || statements.len() == 1 {
                for s in &statements {
                    results.push(self.execute_statement(s)?);
                }
                return Ok(results);
            }
            // Later statements may use what this one defines: run it, then re-substitute.
            results.push(self.execute_statement(first)?);
            rest = text[statement_end(&text, first)..].trim_start_matches([';', ' ', '\n', '\r', '\t']).to_owned();
        }
    }

    /// Runs one parsed statement.
    ///
    /// # Errors
    /// As [`Engine::execute`].
    pub fn execute_statement(&mut self, s: &ParsedStatement) -> Result<StatementResult> {
        tracing::debug!(statement = %s.text, "executing");
        match &s.statement {
            Statement::CreateSource(c) => ddl::create_source(self, c, &s.text),
            Statement::CreateType { name, ty, if_not_exists } => ddl::create_type(self, name, ty, *if_not_exists, &s.text),
            Statement::DropType { name, if_exists } => ddl::drop_type(self, name, *if_exists, &s.text),
            Statement::DropSource { kind, name, if_exists, delete_topic } => ddl::drop_source(self, *kind, name, *if_exists, *delete_topic, &s.text),
            Statement::CreateAsSelect(c) => query::create_as_select(self, c, &s.text),
            Statement::InsertInto { target, query, .. } => query::insert_into(self, target, query, &s.text),
            Statement::InsertValues { target, columns, values } => query::insert_values(self, target, columns, values, &s.text),
            Statement::Terminate(t) => query::terminate(self, t, &s.text),
            Statement::Query(q) => query::transient(self, q, &s.text),
            Statement::SetProperty { name, value } => {
                self.overrides.insert(name.clone(), value.clone());
                Ok(status(&s.text, format!("Successfully changed local property '{name}' to '{value}'."), None))
            }
            Statement::UnsetProperty { name } => {
                self.overrides.remove(name);
                Ok(status(&s.text, format!("Successfully unset local property '{name}'."), None))
            }
            Statement::DefineVariable { name, value } => {
                self.variables.insert(name.clone(), value.clone());
                Ok(status(&s.text, format!("Defined variable '{name}'."), None))
            }
            Statement::UndefineVariable { name } => {
                if self.variables.remove(name).is_none() {
                    return crate::analysis_err!("Cannot undefine variable '{name}' which was never defined");
                }
                Ok(status(&s.text, format!("Undefined variable '{name}'."), None))
            }
            Statement::RunScript { path } => {
                let script = std::fs::read_to_string(path)?;
                let mut results = self.execute(&script)?;
                Ok(results.pop().unwrap_or_else(|| status(&s.text, "Script ran.".into(), None)))
            }
            Statement::AlterSource { kind, name, add_columns } => ddl::alter_source(self, *kind, name, add_columns, &s.text),
            Statement::Show(show) => show::show(self, show),
            Statement::Describe { name, extended } => describe::describe(self, name, *extended),
            Statement::DescribeFunction { name } => describe::describe_function(self, name),
            Statement::Explain(target) => show::explain(self, target, &s.text),
            Statement::Print { topic, limit, .. } => show::print(self, topic, *limit),
            Statement::CreateConnector { name, kind, if_not_exists, config } => connector::create(self, name, *kind, *if_not_exists, config),
            Statement::DropConnector { name, if_exists } => connector::drop(self, name, *if_exists),
            Statement::DescribeConnector { name } => connector::describe(self, name),
        }
    }

    /// Test mode: writes a record to `topic` and runs every query it reaches.
    ///
    /// # Errors
    /// [`Error::Unsupported`] in live mode; query failures.
    pub fn pipe_input(&mut self, topic: &str, key: Option<Vec<u8>>, value: Option<Vec<u8>>, timestamp_ms: i64, headers: Vec<(String, Option<Vec<u8>>)>) -> Result<()> {
        let record = OutputRecord { key, value, timestamp: timestamp_ms, headers };
        self.write_record(topic, record)
    }

    fn substitution_enabled(&self) -> bool {
        self.property("ksql.variable.substitution.enable").is_none_or(|v| v != "false")
    }

    /// The columns and formats of `topic`, from the sources declared over it (sinks first).
    pub fn topic_schema(&self, topic: &str) -> Option<TopicSchema> {
        let mut sources: Vec<_> = self.catalog.sources().filter(|s| s.topic == topic).collect();
        sources.sort_by_key(|s| !s.is_sink);
        let s = sources.first()?;
        Some(TopicSchema {
            key: s.schema.key().cloned().collect(),
            key_format: s.key_format.clone(),
            value: s.schema.value().cloned().collect(),
            value_format: s.value_format.clone(),
            window: s.window,
        })
    }

}

impl Drop for Engine {
    /// Closes the test drivers on their thread before the engine goes (a process exiting while
    /// that thread still drops RocksDB stores aborts).
    fn drop(&mut self) {
        if let Runtime::Test(p) = &self.runtime {
            p.close_all();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_send<T: Send>() {}

    #[test]
    fn engines_can_move_between_threads() {
        // The server keeps an engine behind a mutex and hands it to request tasks.
        assert_send::<Engine>();
        assert_send::<push::PushQuery>();
    }

    #[test]
    fn statement_end_finds_the_byte_after_a_statement() {
        let text = "DEFINE a = 'x';\n  SELECT 1 FROM S;";
        let parsed = crate::parser::parse(text).unwrap();
        assert_eq!(&text[statement_end(text, &parsed[0])..], ";\n  SELECT 1 FROM S;");
        assert_eq!(statement_end(text, &parsed[1]), text.len() - 1);
    }
}

/// The byte offset just after `s` in `text` (its `position` is 1-based line:column).
fn statement_end(text: &str, s: &ParsedStatement) -> usize {
    let line_start: usize = text.split_inclusive('\n').take(s.position.line.saturating_sub(1) as usize).map(str::len).sum();
    let col: usize = text[line_start..].chars().take(s.position.column.saturating_sub(1) as usize).map(char::len_utf8).sum();
    (line_start + col + s.text.len()).min(text.len())
}
