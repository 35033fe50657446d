//! The engine: statements in, typed results out ([`Engine::execute`]). It owns the
//! [`Catalog`], the session's properties and variables, the processing log, and the runtime
//! its persistent queries run on: a [`Cluster`] (live mode: the embedded broker, or any
//! Kafka-protocol cluster with feature `kafka`) or, in test mode, one
//! `TopologyTestDriver` per query with records routed between them ([`Engine::pipe_input`],
//! [`Engine::read_output`]).
//!
//! Where Brook differs from ksqlDB (see also `docs/sql.md`):
//! - in test mode a topic a statement names but that does not exist is created with one
//!   partition (or `PARTITIONS`), where ksqlDB requires it to exist;
//! - variables are substituted into the rest of a request after each statement runs, so a
//!   `${var}` used before its `DEFINE` in the same request fails.

mod command;
mod connector;
mod ddl;
pub mod entities;
pub mod fanout;
mod live;
pub mod print;
pub mod processing_log;
pub mod push;
mod pull;
mod query;
mod show;
mod test_mode;

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;

use brook_broker::Broker;
use brook_processor_api::StreamsConfig;

use crate::cluster::{Cluster, EmbeddedCluster};

pub use self::entities::{CommandStatus, StatementResult};
use self::live::LiveRuntime;
use self::processing_log::{processing_log_topic, ProcessingLog};
pub use self::test_mode::OutputRecord;
use self::test_mode::TestPipeline;
use crate::analyzer::ExprEnv;
use crate::catalog::{Catalog, WindowInfo};
use crate::format::FormatInfo;
use crate::function::FunctionRegistry;
use crate::parser::ast::{ParsedStatement, Statement};
use crate::{Column, Error, Result};

/// The server property that sizes the pool of worker threads running the stream threads of
/// every persistent query (default: twice the CPUs; `0`: each stream thread is an OS thread).
pub const POOL_THREADS: &str = "ksql.query.pool.threads";

/// ksqlDB's `ksql.schema.registry.url`: the registry the `AVRO` format uses when
/// [`EngineConfig::schema_registry`] is not set.
pub const SCHEMA_REGISTRY_URL: &str = "ksql.schema.registry.url";

/// ksqlDB's `ksql.connect.url`: the Kafka Connect REST API the connector statements use
/// (over [`EngineConfig::connect`]).
pub const CONNECT_URL: &str = "ksql.connect.url";

/// A cached HTTP client for `ksql.schema.registry.url` (with
/// `ksql.schema.registry.basic.auth.user.info`), if set.
fn schema_registry_from(properties: &BTreeMap<String, String>) -> Result<Option<Arc<dyn brook_schema::SchemaRegistryClient>>> {
    let Some(url) = properties.get(SCHEMA_REGISTRY_URL) else { return Ok(None) };
    let mut props = vec![("schema.registry.url", url.as_str())];
    if let Some(auth) = properties.get("ksql.schema.registry.basic.auth.user.info") {
        props.push(("basic.auth.user.info", auth.as_str()));
    }
    let config = brook_schema::HttpClientConfig::from_properties(props).map_err(|e| Error::Analysis(e.to_string()))?;
    let client = brook_schema::HttpClient::new(config).map_err(|e| Error::Analysis(e.to_string()))?;
    Ok(Some(Arc::new(brook_schema::CachedClient::new(client))))
}

/// How an [`Engine`] is set up.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// `ksql.service.id`. Default: `default_`.
    pub service_id: String,
    /// Where query state lives (`state.dir`). Default: `$TMPDIR/brook-sql`.
    pub state_dir: PathBuf,
    /// Server properties (`ksql.*`, and Kafka Streams properties, with or without the
    /// `ksql.streams.` prefix), overridden per session by `SET`.
    pub properties: BTreeMap<String, String>,
    /// The cluster persistent queries run against; `None` is test mode.
    pub cluster: Option<Arc<dyn Cluster>>,
    /// The Schema Registry the `AVRO` format reads and registers schemas in: in-memory in test
    /// mode (as ksqlDB's test runner mocks it), `brook server`'s own registry or an HTTP client
    /// for `--schema-registry-url` in live mode. `None`: the Schema Registry formats are
    /// unsupported.
    pub schema_registry: Option<Arc<dyn brook_schema::SchemaRegistryClient>>,
    /// The Kafka Connect worker `CREATE ... CONNECTOR` and friends manage: `brook server`'s
    /// in-process one. `ksql.connect.url`, when set, wins (a Connect REST API over HTTP);
    /// with neither, `http://localhost:8083`, as ksqlDB.
    pub connect: Option<Arc<dyn brook_connect::Herder>>,
}

impl EngineConfig {
    /// Test mode: queries on `TopologyTestDriver`s, caching off.
    pub fn test() -> Self {
        EngineConfig {
            service_id: "default_".into(),
            state_dir: std::env::temp_dir().join("brook-sql"),
            properties: BTreeMap::new(),
            cluster: None,
            schema_registry: Some(Arc::new(brook_schema::MemoryClient::new())),
            connect: None,
        }
    }

    /// Live mode over the embedded `broker`, state under `state_dir`.
    pub fn live(broker: Broker, state_dir: impl Into<PathBuf>) -> Self {
        Self::on(Arc::new(EmbeddedCluster::new(broker)), state_dir)
    }

    /// Live mode over any Kafka-protocol cluster at `bootstrap_servers` (librdkafka), state
    /// under `state_dir`; several engines with one `service_id` share the queries' partitions.
    ///
    /// # Errors
    /// [`Error::Cluster`] when librdkafka rejects its configuration.
    #[cfg(feature = "kafka")]
    pub fn kafka(bootstrap_servers: &str, state_dir: impl Into<PathBuf>) -> Result<Self> {
        let cluster = crate::cluster::KafkaCluster::new(bootstrap_servers, BTreeMap::new())?;
        Ok(Self::on(Arc::new(cluster), state_dir))
    }

    /// Live mode over `cluster`, state under `state_dir`.
    pub fn on(cluster: Arc<dyn Cluster>, state_dir: impl Into<PathBuf>) -> Self {
        EngineConfig {
            service_id: "default_".into(),
            state_dir: state_dir.into(),
            properties: BTreeMap::new(),
            cluster: Some(cluster),
            schema_registry: None,
            connect: None,
        }
    }
}

enum Runtime {
    Test(TestPipeline),
    Live(LiveRuntime),
}

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

/// The SQL engine.
///
/// # Examples
/// ```
/// use brook_sql_engine::Engine;
/// let mut engine = Engine::new_test().unwrap();
/// engine.execute("CREATE STREAM S (ID INT KEY, V INT) WITH (KAFKA_TOPIC='s', FORMAT='JSON');").unwrap();
/// engine.execute("CREATE STREAM BIG AS SELECT ID, V FROM S WHERE V > 10;").unwrap();
/// engine.pipe_input("s", Some(b"1".to_vec()), Some(br#"{"V":42}"#.to_vec()), 0, vec![]).unwrap();
/// engine.pipe_input("s", Some(b"2".to_vec()), Some(br#"{"V":7}"#.to_vec()), 0, vec![]).unwrap();
/// let out = engine.read_output("BIG").unwrap();
/// assert_eq!(out.len(), 1);
/// assert_eq!(out[0].value.as_deref(), Some(&br#"{"V":42}"#[..]));
/// ```
pub struct Engine {
    config: EngineConfig,
    catalog: Catalog,
    env: ExprEnv,
    overrides: BTreeMap<String, String>,
    variables: BTreeMap<String, String>,
    log: Arc<ProcessingLog>,
    runtime: Runtime,
    /// Test mode's topics and their partition counts.
    test_topics: BTreeMap<String, i32>,
    transient: AtomicU64,
    /// The commands recorded since [`Engine::take_commands`]; `None` while not recording.
    recorded: Option<Vec<crate::plan::command::Command>>,
    /// Applying a recorded command: live queries start without waiting to run.
    replaying: bool,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine").field("service_id", &self.config.service_id).field("catalog", &self.catalog).finish_non_exhaustive()
    }
}

impl Engine {
    /// The Schema Registry of the `AVRO` format, if the engine has one.
    #[must_use]
    pub fn schema_registry(&self) -> Option<&Arc<dyn brook_schema::SchemaRegistryClient>> {
        self.config.schema_registry.as_ref()
    }

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

    /// The state of persistent query `id`: `RUNNING`, or `ERROR` once its runtime failed
    /// (live mode); `None` for an unknown query.
    pub fn query_state(&self, id: &str) -> Option<crate::catalog::QueryState> {
        let q = self.catalog.query(id)?;
        match &self.runtime {
            Runtime::Live(l) if l.failed(id) => Some(crate::catalog::QueryState::Error),
            _ => Some(q.state),
        }
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
            Statement::Describe { name, extended } => show::describe(self, name, *extended),
            Statement::DescribeFunction { name } => show::describe_function(self, name),
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

    /// Every record written to `topic` so far, in order (test mode), or every committed record
    /// of its partitions (live mode).
    ///
    /// # Errors
    /// [`Error::Cluster`] (live mode).
    pub fn read_output(&self, topic: &str) -> Result<Vec<OutputRecord>> {
        match &self.runtime {
            Runtime::Test(p) => {
                self.flush_processing_log()?;
                p.records(topic)
            }
            Runtime::Live(l) => l.cluster.read_all(topic),
        }
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

    /// Appends a record to a topic: test mode routes it through the queries, live mode appends
    /// it to the broker.
    pub(crate) fn write_record(&mut self, topic: &str, record: OutputRecord) -> Result<()> {
        match &self.runtime {
            Runtime::Test(p) => {
                p.write(topic, record)?;
                self.flush_processing_log()
            }
            Runtime::Live(l) => l.cluster.append(topic, std::slice::from_ref(&record)),
        }
    }

    /// Test mode: writes pending processing-log entries to the processing-log topic.
    fn flush_processing_log(&self) -> Result<()> {
        let Runtime::Test(p) = &self.runtime else { return Ok(()) };
        let topic = processing_log_topic(&self.config.service_id);
        loop {
            let entries = self.log.drain();
            if entries.is_empty() {
                return Ok(());
            }
            for e in entries {
                p.write(&topic, OutputRecord { key: None, value: Some(e.json.to_string().into_bytes()), timestamp: e.timestamp, headers: vec![] })?;
            }
        }
    }

    /// A property's value: session override, then server property, with or without the
    /// `ksql.streams.` prefix.
    pub(crate) fn property(&self, name: &str) -> Option<&String> {
        let prefixed = format!("ksql.streams.{name}");
        self.overrides.get(name).or_else(|| self.overrides.get(&prefixed)).or_else(|| self.config.properties.get(name)).or_else(|| self.config.properties.get(&prefixed))
    }

    fn substitution_enabled(&self) -> bool {
        self.property("ksql.variable.substitution.enable").is_none_or(|v| v != "false")
    }

    /// `_confluent-ksql-<service id>query_<query id>`.
    pub(crate) fn application_id(&self, query_id: &str) -> String {
        format!("_confluent-ksql-{}query_{query_id}", self.config.service_id)
    }

    /// Whether stores cache (`cache.max.bytes.buffering` > 0; always off in test mode).
    pub(crate) fn caching(&self) -> bool {
        matches!(self.runtime, Runtime::Live(_)) && self.property("cache.max.bytes.buffering").is_none_or(|v| v != "0")
    }

    /// `auto.offset.reset` of live queries: `earliest` when set so, else ksqlDB's `latest`.
    pub(crate) fn offset_reset(&self) -> Option<brook_processor_api::OffsetReset> {
        match self.runtime {
            Runtime::Test(_) => None,
            Runtime::Live(_) => Some(match self.property("auto.offset.reset").map(String::as_str) {
                Some("earliest") => brook_processor_api::OffsetReset::Earliest,
                _ => brook_processor_api::OffsetReset::Latest,
            }),
        }
    }

    /// The Kafka Streams configuration of a query.
    pub(crate) fn streams_config(&self, query_id: &str) -> Result<StreamsConfig> {
        let mut c = StreamsConfig::new(self.application_id(query_id));
        c.state_dir = self.config.state_dir.clone();
        let mut props: BTreeMap<String, String> = self.config.properties.clone();
        props.extend(self.overrides.clone());
        for (k, v) in props {
            let key = k.strip_prefix("ksql.streams.").unwrap_or(&k);
            if key.starts_with("ksql.") {
                continue;
            }
            match c.set(key, &v) {
                Ok(_) => {}
                // Client properties ksqlDB accepts unprefixed (`linger.ms`, `fetch.min.bytes`..):
                // Brook does not apply them.
                Err(brook_processor_api::Error::UnknownConfig(key)) => tracing::debug!(%key, "property not applied to the query"),
                Err(e) => return Err(Error::Analysis(e.to_string())),
            }
        }
        Ok(c)
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

pub(crate) fn status(text: &str, message: String, query_id: Option<String>) -> StatementResult {
    StatementResult::Status(CommandStatus { statement_text: text.to_owned(), status: "SUCCESS".into(), message, query_id })
}
