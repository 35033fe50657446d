//! The engine's state ([`Engine`]: the catalog, the session, the runtime its queries run on),
//! and what reading or changing it directly means: properties, topics, records in and out, the
//! commands recorded for the command topic. The statements (`ddl`, `query`, `show`, ...) work on
//! it; `engine/mod.rs` runs them.

use std::collections::BTreeMap;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;

use brook_processor_api::StreamsConfig;

use super::config::EngineConfig;
use super::live::LiveRuntime;
use super::processing_log::{processing_log_topic, ProcessingLog};
use super::test_mode::TestPipeline;
use crate::analyzer::ExprEnv;
use crate::catalog::Catalog;
use crate::cluster::OutputRecord;
use crate::format::FormatDefaults;
use crate::plan::command::{Command, DdlCommand, KsqlPlan, KsqlQueryPlan, COMMAND_VERSION};
use crate::{analysis_err, Error, Result};

/// Where an engine's persistent queries run.
pub(crate) enum Runtime {
    Test(TestPipeline),
    Live(LiveRuntime),
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
    pub(super) config: EngineConfig,
    pub(super) catalog: Catalog,
    pub(super) env: ExprEnv,
    pub(super) overrides: BTreeMap<String, String>,
    pub(super) variables: BTreeMap<String, String>,
    pub(super) log: Arc<ProcessingLog>,
    pub(super) runtime: Runtime,
    /// Test mode's topics and their partition counts.
    pub(super) test_topics: BTreeMap<String, i32>,
    pub(super) transient: AtomicU64,
    /// The commands recorded since [`Engine::take_commands`]; `None` while not recording.
    pub(super) recorded: Option<Vec<Command>>,
    /// Applying a recorded command: live queries start without waiting to run.
    pub(super) replaying: bool,
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

    /// The state of persistent query `id`: `RUNNING`, or `ERROR` once its runtime failed
    /// (live mode); `None` for an unknown query.
    pub fn query_state(&self, id: &str) -> Option<crate::catalog::QueryState> {
        let q = self.catalog.query(id)?;
        match &self.runtime {
            Runtime::Live(l) if l.failed(id) => Some(crate::catalog::QueryState::Error),
            _ => Some(q.state),
        }
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

    /// The default formats of new sources (`ksql.persistence.*`).
    pub(crate) fn format_defaults(&self) -> FormatDefaults {
        let mut d = FormatDefaults::default();
        if let Some(k) = self.property("ksql.persistence.default.format.key") {
            d.key_format = Some(k.clone());
        }
        if let Some(v) = self.property("ksql.persistence.default.format.value") {
            d.value_format = Some(v.clone());
        }
        if let Some(w) = self.property("ksql.persistence.wrap.single.values") {
            d.wrap_single_values = Some(w == "true");
        }
        d
    }

    /// The partition count of `topic`, if it exists.
    pub(crate) fn topic_partitions(&self, topic: &str) -> Option<i32> {
        match &self.runtime {
            Runtime::Test(_) => self.test_topics.get(topic).copied(),
            Runtime::Live(l) => l.cluster.partition_count(topic).ok().flatten(),
        }
    }

    /// Creates `topic` with `partitions` unless it exists; returns its partition count.
    pub(crate) fn create_topic(&mut self, topic: &str, partitions: i32) -> Result<i32> {
        if let Some(p) = self.topic_partitions(topic) {
            return Ok(p);
        }
        match &self.runtime {
            Runtime::Test(_) => {
                self.test_topics.insert(topic.to_owned(), partitions);
            }
            Runtime::Live(l) => {
                if let Err(e) = l.cluster.create_topic(topic, partitions, &BTreeMap::new()) {
                    return analysis_err!("Could not create topic '{topic}': {e}");
                }
            }
        }
        Ok(partitions)
    }

    /// Turns recording of [`Command`]s on or off (off by default; the ksqlDB server turns it on
    /// once it has replayed its command topic).
    pub fn record_commands(&mut self, on: bool) {
        self.recorded = if on { Some(self.recorded.take().unwrap_or_default()) } else { None };
    }

    /// The commands recorded since the last call, in the order their statements ran.
    pub fn take_commands(&mut self) -> Vec<Command> {
        self.recorded.as_mut().map(std::mem::take).unwrap_or_default()
    }

    /// Records what a statement did (when recording is on).
    pub(crate) fn record(&mut self, text: &str, ddl_command: Option<DdlCommand>, query_plan: Option<KsqlQueryPlan>) {
        let plan = KsqlPlan { statement_text: text.to_owned(), ddl_command, query_plan };
        self.record_command(text, Some(plan));
    }

    /// Records a statement without a plan (`TERMINATE`).
    pub(crate) fn record_command(&mut self, text: &str, plan: Option<KsqlPlan>) {
        let Some(recorded) = &mut self.recorded else { return };
        recorded.push(Command {
            statement: text.to_owned(),
            streams_properties: self.overrides.clone(),
            original_properties: self.config.properties.clone(),
            plan,
            version: COMMAND_VERSION,
        });
    }
}
