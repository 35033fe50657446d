//! The [`TestDriver`] over Brook's own engine in test mode ([`Engine`] with a
//! [`EngineConfig::test`] config: queries on `TopologyTestDriver`s, record caches off), and
//! [`run_on_engine`], which `brook test-runner` and the QTT conformance test both call.
//!
//! Records are encoded and decoded with the formats of the sources over their topic
//! ([`Engine::topic_schema`]), see [`super::records`].

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::catalog::WindowType as CatalogWindow;
use crate::engine::{Engine, EngineConfig, TopicSchema};
use crate::parser::ast::SourceKind;
use crate::Error;

use super::executor::{run_test, ActualRecord, DriverError, Outcome, TestDriver, BASE_PROPERTIES};
use super::model::{TestCase, TestRecord, WindowType};
use super::post::SourceSummary;
use super::records::{RawRecord, TopicFormat, Windowing};

/// Brook's engine, in test mode, as the system under test. Each driver has its own state
/// directory, removed when it is dropped.
#[derive(Debug)]
pub struct EngineDriver {
    engine: Engine,
    state_dir: PathBuf,
}

fn driver_error(e: Error) -> DriverError {
    match e {
        Error::Unsupported(m) => DriverError::Unsupported(m),
        other => DriverError::Rejected(other.to_string()),
    }
}

fn topic_format(s: TopicSchema, registry: Option<std::sync::Arc<dyn brook_schema::SchemaRegistryClient>>) -> TopicFormat {
    TopicFormat {
        registry,
        key: s.key,
        key_format: s.key_format,
        value: s.value,
        value_format: s.value_format,
        window: s.window.map(|w| Windowing {
            kind: match w.window_type {
                CatalogWindow::Session => WindowType::Session,
                CatalogWindow::Tumbling | CatalogWindow::Hopping => WindowType::Time,
            },
            size_ms: w.size_ms,
        }),
    }
}

impl EngineDriver {
    /// An engine in test mode configured with `properties` (ksqlDB/Streams keys).
    ///
    /// # Errors
    /// The engine cannot start.
    pub fn new(properties: &[(String, String)]) -> Result<EngineDriver, DriverError> {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let state_dir = std::env::temp_dir().join(format!(
            "brook-test-runner-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        let mut config = EngineConfig::test();
        config.state_dir = state_dir.clone();
        config.properties = properties.iter().cloned().collect();
        let engine = Engine::new(config).map_err(driver_error)?;
        Ok(EngineDriver { engine, state_dir })
    }

    fn topic(&self, topic: &str) -> Result<TopicFormat, DriverError> {
        self.engine.topic_schema(topic).map(|s| topic_format(s, self.engine.schema_registry().cloned())).ok_or_else(|| {
            DriverError::Rejected(format!("Failed to determine key type for\ntopic: {topic}\nreason: no source found for topic"))
        })
    }
}

impl Drop for EngineDriver {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.state_dir);
    }
}

impl TestDriver for EngineDriver {
    fn execute(&mut self, statement: &str) -> Result<(), DriverError> {
        self.engine
            .execute(statement)
            .map(drop)
            .map_err(driver_error)
    }

    fn pipe_input(&mut self, record: &TestRecord) -> Result<(), DriverError> {
        let raw = self.topic(&record.topic)?.encode(record)?;
        self.engine
            .pipe_input(
                &record.topic,
                raw.key,
                raw.value,
                raw.timestamp,
                raw.headers,
            )
            .map_err(driver_error)
    }

    fn read_output(&mut self, topic: &str) -> Result<Vec<ActualRecord>, DriverError> {
        let format = self.topic(topic)?;
        let records = self.engine.read_output(topic).map_err(driver_error)?;
        records
            .into_iter()
            .map(|r| {
                format.decode(
                    topic,
                    &RawRecord {
                        key: r.key,
                        value: r.value,
                        timestamp: r.timestamp,
                        headers: r.headers,
                    },
                )
            })
            .collect()
    }

    fn sources(&mut self) -> Option<Vec<SourceSummary>> {
        Some(
            self.engine
                .catalog()
                .sources()
                .map(|s| SourceSummary {
                    name: s.name.clone(),
                    kind: match s.kind {
                        SourceKind::Stream => "STREAM".into(),
                        SourceKind::Table => "TABLE".into(),
                    },
                    schema: schema_text(&s.schema),
                    key_format: s.key_format.format.clone(),
                    window_type: s.window.map(|w| w.window_type.as_str().to_owned()),
                    window_size_ms: s.window.and_then(|w| w.size_ms),
                })
                .collect(),
        )
    }
}

/// ksqlDB's `LogicalSchema::toString`: `` `ID` BIGINT KEY, `NAME` STRING ``.
fn schema_text(schema: &crate::LogicalSchema) -> String {
    let cols: Vec<String> = schema.columns.iter().map(ToString::to_string).collect();
    cols.join(", ")
}

/// The properties a case runs with: [`BASE_PROPERTIES`], then the case's own.
pub fn case_properties(case: &TestCase) -> Vec<(String, String)> {
    let mut props: Vec<(String, String)> = BASE_PROPERTIES
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    props.extend(case.properties.iter().cloned());
    props
}

/// Registers the schemas a case's `topics` declare (`keySchema` / `valueSchema`, or `schema`
/// for the value, with `keyFormat` / `valueFormat` / `format`) in the engine's registry under
/// `<topic>-key` / `<topic>-value`, as ksqlDB's test runner fills its mock registry.
fn register_topic_schemas(driver: &EngineDriver, topics: &[super::json::Json]) -> Result<(), DriverError> {
    use super::json::Json;
    let Some(registry) = driver.engine.schema_registry() else { return Ok(()) };
    for topic in topics {
        let Some(Json::String(name)) = topic.get("name") else { continue };
        let format = |key: &str| match topic.get(key).or_else(|| topic.get("format")) {
            Some(Json::String(f)) => f.to_ascii_uppercase(),
            _ => String::new(),
        };
        for (suffix, schema_key, format_key) in [("key", "keySchema", "keyFormat"), ("value", "valueSchema", "valueFormat")] {
            let schema = topic.get(schema_key).or_else(|| if suffix == "value" { topic.get("schema") } else { None });
            let Some(schema) = schema.filter(|s| **s != Json::Null) else { continue };
            let schema = match (format(format_key).as_str(), schema) {
                ("AVRO", s) => brook_schema::Schema::avro(s.to_string()),
                ("JSON_SR" | "JSON", s) => brook_schema::Schema::json(s.to_string()),
                ("PROTOBUF", Json::String(text)) => brook_schema::Schema::protobuf(text.clone()),
                _ => continue,
            };
            registry
                .register(&format!("{name}-{suffix}"), &schema, false)
                .map_err(|e| DriverError::Rejected(format!("cannot register the schema of topic {name}: {e}")))?;
        }
    }
    Ok(())
}

/// Runs `case` on a fresh engine in test mode.
pub fn run_on_engine(case: &TestCase) -> Outcome {
    match EngineDriver::new(&case_properties(case)) {
        Ok(mut driver) => match register_topic_schemas(&driver, &case.topics) {
            Ok(()) => run_test(case, &mut driver),
            Err(DriverError::Rejected(m) | DriverError::Unsupported(m)) => Outcome::Unsupported(m),
        },
        Err(DriverError::Unsupported(m)) => Outcome::Unsupported(m),
        Err(DriverError::Rejected(m)) => {
            Outcome::Unsupported(format!("the engine cannot start: {m}"))
        }
    }
}
