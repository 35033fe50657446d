//! DDL: `CREATE STREAM|TABLE`, `DROP STREAM|TABLE`, `CREATE TYPE`, `DROP TYPE`, and the
//! topics they need, with ksqlDB's messages.

use crate::catalog::{kind_name, DataSource, WindowInfo, WindowType};
use crate::engine::entities::{status, StatementResult};
use crate::engine::lifecycle::{query_record, source_table_query, start, stop_source_table_query};
use crate::engine::processing_log::{processing_log_schema, processing_log_topic, PROCESSING_LOG_STREAM};
use crate::engine::props::{prop_int, prop_string, timestamp_of};
use crate::engine::state::{Engine, Runtime};
use crate::format::{formats_from_properties, FormatInfo};
use crate::plan::command::DdlCommand;
use crate::parser::ast::{AstType, ColumnConstraint, CreateSource, Properties, SourceKind, TableElement};
use crate::{analysis_err, Column, ColumnNamespace, Error, LogicalSchema, Result};

/// Resolves the declared columns into a schema, checking ksqlDB's key rules.
fn schema_of(engine: &Engine, c: &CreateSource) -> Result<LogicalSchema> {
    let mut columns = Vec::new();
    for e in &c.elements {
        let ty = e.ty.resolve(&|n| engine.catalog.named_type(n).cloned())?;
        let namespace = match (&e.constraint, c.kind) {
            (ColumnConstraint::None, _) => ColumnNamespace::Value,
            (ColumnConstraint::Key, SourceKind::Stream) | (ColumnConstraint::PrimaryKey, SourceKind::Table) => ColumnNamespace::Key,
            (ColumnConstraint::Key, SourceKind::Table) => {
                return analysis_err!("Column `{}` is a 'KEY' column: please use 'PRIMARY KEY' for tables.\nTables have PRIMARY KEYs, which are unique and NON NULL.\nStreams have KEYs, which have no uniqueness or NON NULL constraints.", e.name)
            }
            (ColumnConstraint::PrimaryKey, SourceKind::Stream) => {
                return analysis_err!("Column `{}` is a 'PRIMARY KEY' column: please use 'KEY' for streams.\nTables have PRIMARY KEYs, which are unique and NON NULL.\nStreams have KEYs, which have no uniqueness or NON NULL constraints.", e.name)
            }
            (ColumnConstraint::Headers, _) => ColumnNamespace::Header(None),
            (ColumnConstraint::Header(h), _) => ColumnNamespace::Header(Some(h.clone())),
        };
        if columns.iter().any(|x: &Column| x.name == e.name) {
            return analysis_err!("Duplicate column names: {}", e.name);
        }
        if matches!(e.name.as_str(), "ROWTIME" | "ROWPARTITION" | "ROWOFFSET" | "WINDOWSTART" | "WINDOWEND") {
            return analysis_err!("'{}' is a reserved column name. You cannot use it as a name for a column.", e.name);
        }
        columns.push(Column { name: e.name.clone(), ty, namespace });
    }
    // Key columns first, as ksqlDB's LogicalSchema orders them.
    columns.sort_by_key(|c| c.namespace != ColumnNamespace::Key);
    let schema = LogicalSchema { columns };
    if c.kind == SourceKind::Table && schema.key().next().is_none() && !c.elements.is_empty() {
        return analysis_err!("Tables require a PRIMARY KEY. Please define the PRIMARY KEY.\nUse a partial schema to define the primary key and still load the value columns from the Schema Registry, for example:\n\tCREATE TABLE {} (ID INT PRIMARY KEY) WITH (...);", c.name);
    }
    Ok(schema)
}

fn window_of(props: &Properties) -> Result<Option<WindowInfo>> {
    let Some(t) = prop_string(props, "WINDOW_TYPE")? else { return Ok(None) };
    let Some(window_type) = WindowType::parse(&t) else {
        return analysis_err!("Invalid value {t} for property WINDOW_TYPE: String must be one of: SESSION, HOPPING, TUMBLING");
    };
    let size_ms = match prop_string(props, "WINDOW_SIZE")? {
        Some(_) if window_type == WindowType::Session => return analysis_err!("'WINDOW_SIZE' should not be set for SESSION windows."),
        Some(s) => Some(parse_duration(&s).map_err(|e| Error::Analysis(format!("Configuration WINDOW_SIZE is invalid: {e}")))?),
        None if window_type == WindowType::Session => None,
        None => return analysis_err!("Tumbling and Hopping window types should set WINDOW_SIZE in the WITH clause."),
    };
    Ok(Some(WindowInfo { window_type, size_ms }))
}

/// `'10 SECONDS'` as milliseconds.
fn parse_duration(s: &str) -> Result<u64> {
    let mut parts = s.split_whitespace();
    let (Some(n), Some(unit), None) = (parts.next(), parts.next(), parts.next()) else {
        return analysis_err!("Invalid duration: '{s}'. Expected '<value> <unit>'");
    };
    let n: u64 = n.parse().map_err(|_| Error::Analysis(format!("Invalid duration: '{s}'")))?;
    let unit = unit.to_uppercase();
    let ms = match unit.trim_end_matches('S') {
        "MILLISECOND" => 1,
        "SECOND" => 1_000,
        "MINUTE" => 60_000,
        "HOUR" => 3_600_000,
        "DAY" => 86_400_000,
        _ => return analysis_err!("Invalid duration: '{s}'. Unknown time unit: '{unit}'"),
    };
    Ok(n * ms)
}

/// `CREATE [SOURCE] STREAM|TABLE`.
pub(crate) fn create_source(engine: &mut Engine, c: &CreateSource, text: &str) -> Result<StatementResult> {
    let kind = kind_name(c.kind);
    if let Some(existing) = engine.catalog.source(&c.name) {
        if c.if_not_exists {
            return Ok(status(text, format!("Cannot add {kind} {}: A {} with the same name already exists.", c.name, kind_name(existing.kind)), None));
        }
        if !c.or_replace {
            return analysis_err!("Cannot add {kind} '{}': A {} with the same name already exists", c.name, kind_name(existing.kind));
        }
    }
    let Some(topic) = prop_string(&c.properties, "KAFKA_TOPIC")? else {
        return analysis_err!("Missing required property \"KAFKA_TOPIC\" which has no default value.");
    };
    // The WITH clause is checked before the columns, as ksqlDB prepares its properties first.
    let formats = formats_from_properties(&c.properties, &engine.format_defaults())?;
    let schema = schema_of(engine, c)?;
    let schema = crate::format::registry::infer_columns(engine.schema_registry(), &topic, &formats, schema)?;
    if schema.columns.is_empty() {
        return analysis_err!("The statement does not define any columns.");
    }
    formats.validate(&schema)?;
    let timestamp = timestamp_of(&c.properties, &schema)?;
    let window = window_of(&c.properties)?;
    let partitions = prop_int(&c.properties, "PARTITIONS")?;
    if engine.topic_partitions(&topic).is_none() {
        match (partitions, &engine.runtime) {
            (Some(p), _) => {
                engine.create_topic(&topic, p as i32)?;
            }
            (None, Runtime::Test(_)) => {
                engine.create_topic(&topic, 1)?;
            }
            (None, Runtime::Live(_)) => {
                return analysis_err!(
                    "Topic '{topic}' does not exist. If you want to create a new topic for the {kind} please re-run the statement providing the required 'PARTITIONS' configuration in the WITH clause (and optionally 'REPLICAS'). For example: CREATE {} {} (ID INT) WITH (KAFKA_TOPIC='{topic}', PARTITIONS=2, REPLICAS=1, FORMAT='JSON');",
                    kind.to_uppercase(),
                    c.name
                )
            }
        }
    }
    let source = DataSource {
        name: c.name.clone(),
        kind: c.kind,
        schema,
        topic,
        key_format: formats.key,
        value_format: formats.value,
        timestamp,
        window,
        is_source: c.is_source,
        is_sink: false,
        statement: text.to_owned(),
    };
    // A source table is materialized for pull queries by a query of its own (ksqlDB's `CST_`).
    if c.is_source && c.kind == SourceKind::Table && source.window.is_none() {
        stop_source_table_query(engine, &source.name)?;
        engine.catalog.add_source(source.clone(), c.or_replace)?;
        let started = source_table_query(engine, &source, text)
            .and_then(|info| start(engine, &info.plan, vec![source.topic.clone()]).map(|()| info));
        let info = match started {
            Ok(info) => info,
            Err(e) => {
                engine.catalog.drop_source(&source.name, c.kind)?;
                return Err(e);
            }
        };
        engine.record(text, Some(DdlCommand::create(source.clone(), c.or_replace)), Some(query_record(&info, None)));
        engine.catalog.add_query(info);
        return Ok(status(text, "Table created".into(), None));
    }
    engine.record(text, Some(DdlCommand::create(source.clone(), c.or_replace)), None);
    engine.catalog.add_source(source, c.or_replace)?;
    let what = if c.kind == SourceKind::Stream { "Stream" } else { "Table" };
    Ok(status(text, format!("{what} created"), None))
}

/// The `KSQL_PROCESSING_LOG` stream over `<service id>ksql_processing_log`.
pub(crate) fn create_processing_log_stream(engine: &mut Engine) -> Result<()> {
    let topic = processing_log_topic(&engine.config.service_id);
    engine.create_topic(&topic, 1)?;
    let source = DataSource {
        name: PROCESSING_LOG_STREAM.into(),
        kind: SourceKind::Stream,
        schema: processing_log_schema(),
        topic: topic.clone(),
        key_format: FormatInfo::of("KAFKA"),
        value_format: FormatInfo::of("JSON"),
        timestamp: None,
        window: None,
        is_source: false,
        is_sink: false,
        statement: format!("CREATE STREAM {PROCESSING_LOG_STREAM} WITH (KAFKA_TOPIC='{topic}', VALUE_FORMAT='JSON');"),
    };
    engine.catalog.add_source(source, false)
}

/// `DROP STREAM|TABLE [IF EXISTS] name [DELETE TOPIC]`.
pub(crate) fn drop_source(engine: &mut Engine, kind: SourceKind, name: &str, if_exists: bool, delete_topic: bool, text: &str) -> Result<StatementResult> {
    if engine.catalog.source(name).is_none() {
        // ksqlDB names the kind the statement dropped: `Stream X does not exist.`
        let what = if kind == SourceKind::Table { "Table" } else { "Stream" };
        if if_exists {
            return Ok(status(text, format!("{what} {name} does not exist."), None));
        }
        return analysis_err!("{what} {name} does not exist.");
    }
    let dropped = engine.catalog.drop_source(name, kind)?;
    stop_source_table_query(engine, name)?;
    engine.record(text, Some(DdlCommand::DropSource { source_name: name.to_owned(), data_source_type: kind }), None);
    if delete_topic {
        match &engine.runtime {
            Runtime::Test(_) => {
                engine.test_topics.remove(&dropped.topic);
            }
            Runtime::Live(l) => {
                if let Err(e) = l.cluster.delete_topic(&dropped.topic) {
                    tracing::warn!(topic = %dropped.topic, error = %e, "cannot delete topic");
                }
            }
        }
    }
    Ok(status(text, format!("Source `{name}` (topic: {}) was dropped.", dropped.topic), None))
}

/// `ALTER STREAM|TABLE name ADD COLUMN ...`: value columns appended to a source's schema.
pub(crate) fn alter_source(engine: &mut Engine, kind: SourceKind, name: &str, add: &[TableElement], text: &str) -> Result<StatementResult> {
    let Some(existing) = engine.catalog.source(name) else {
        return analysis_err!("Source {name} does not exist.");
    };
    if existing.kind != kind {
        let (is, was) = (kind_name(existing.kind).to_uppercase(), kind_name(kind).to_uppercase());
        return analysis_err!("Incompatible data source type is {is}, but statement was ALTER {was}");
    }
    if existing.is_sink {
        return analysis_err!("ALTER command is not supported for CREATE ... AS statements.");
    }
    let mut source = existing.clone();
    let mut new_columns = Vec::new();
    for e in add {
        if source.schema.find(&e.name).is_some() {
            return analysis_err!("Cannot add column {} to schema. A column with the same name already exists.", e.name);
        }
        let ty = e.ty.resolve(&|n| engine.catalog.named_type(n).cloned())?;
        new_columns.push(Column { name: e.name.clone(), ty, namespace: ColumnNamespace::Value });
        source.schema.columns.push(new_columns[new_columns.len() - 1].clone());
    }
    formats_of(&source).validate(&source.schema)?;
    source.statement = format!("{}; {text}", source.statement);
    engine.catalog.add_source(source, true)?;
    engine.record(text, Some(DdlCommand::AlterSource { source_name: name.to_owned(), data_source_type: kind, new_columns }), None);
    let what = if kind == SourceKind::Stream { "Stream" } else { "Table" };
    Ok(status(text, format!("{what} {name} altered."), None))
}

fn formats_of(s: &DataSource) -> crate::format::SourceFormats {
    crate::format::SourceFormats { key: s.key_format.clone(), value: s.value_format.clone() }
}

/// `CREATE TYPE`.
pub(crate) fn create_type(engine: &mut Engine, name: &str, ty: &AstType, if_not_exists: bool, text: &str) -> Result<StatementResult> {
    let resolved = ty.resolve(&|n| engine.catalog.named_type(n).cloned())?;
    // With IF NOT EXISTS over an existing type, nothing changes.
    if engine.catalog.add_type(name, resolved.clone(), if_not_exists)? {
        engine.env.types.insert(name.to_owned(), resolved.clone());
        engine.record(text, Some(DdlCommand::RegisterType { type_name: name.to_owned(), ty: resolved.clone() }), None);
    }
    Ok(status(text, format!("Registered custom type with name '{name}' and SQL type {resolved}"), None))
}

/// `DROP TYPE`.
pub(crate) fn drop_type(engine: &mut Engine, name: &str, if_exists: bool, text: &str) -> Result<StatementResult> {
    if !engine.catalog.drop_type(name) {
        if if_exists {
            return Ok(status(text, format!("Type '{name}' does not exist"), None));
        }
        return analysis_err!("Type {name} does not exist.");
    }
    engine.env.types.remove(name);
    engine.record(text, Some(DdlCommand::DropType { type_name: name.to_owned() }), None);
    Ok(status(text, format!("Dropped type '{name}'"), None))
}
