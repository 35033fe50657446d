//! Persistent queries (`CREATE ... AS SELECT`, `INSERT INTO ... SELECT`), `INSERT INTO ...
//! VALUES`, `TERMINATE`, and transient queries (pull and push). How a query runs on the
//! runtime is [`lifecycle`](super::lifecycle)'s.

use crate::analyzer::{plan_query, QueryPlan};
use crate::catalog::{kind_name, DataSource, QueryInfo, QueryKind, QueryState};
use crate::cluster::OutputRecord;
use crate::engine::entities::{status, StatementResult};
use crate::engine::lifecycle::{query_record, start, stop};
use crate::engine::props::{prop_int, prop_string, timestamp_of};
use crate::engine::state::Engine;
use crate::engine::{pull, push};
use crate::format::{sink_formats, SourceFormats};
use crate::parser::ast::{CreateAsSelect, Expr, Query, SourceKind, TerminateTarget};
use crate::plan::command::DdlCommand;
use crate::plan::physical::{ExecutionStep, Formats, PhysicalPlan, SinkStep, StepProperties};
use crate::{analysis_err, Column, ColumnNamespace, LogicalSchema, Result, Value};

fn sink_step(plan: QueryPlan, topic: &str, formats: Formats, table: bool) -> ExecutionStep {
    let props = StepProperties { ctx: "KsqlTopic".into(), schema: plan.root.schema().clone() };
    let s = SinkStep { props, source: Box::new(plan.root), topic: topic.to_owned(), formats, window: plan.window };
    if table {
        ExecutionStep::TableSink(s)
    } else {
        ExecutionStep::StreamSink(s)
    }
}

/// The catalog schema of a plan's output.
fn output_schema(plan: &QueryPlan) -> LogicalSchema {
    let s = plan.root.schema();
    let key = s.key.iter().map(|c| Column { name: c.name.clone(), ty: c.ty.clone(), namespace: ColumnNamespace::Key });
    let value = s.value.iter().map(|c| Column { name: c.name.clone(), ty: c.ty.clone(), namespace: ColumnNamespace::Value });
    LogicalSchema { columns: key.chain(value).collect() }
}

/// A planned `CREATE ... AS SELECT`, not yet running.
pub(crate) struct PreparedQuery {
    pub(crate) info: QueryInfo,
    /// The sink source to register (`None` for `INSERT INTO`, whose sink exists).
    pub(crate) sink: Option<DataSource>,
    pub(crate) partitions: i32,
}

/// Plans `CREATE STREAM|TABLE ... AS SELECT` (the query id is taken only when `take_id`).
pub(crate) fn prepare_create_as(engine: &mut Engine, c: &CreateAsSelect, text: &str, take_id: bool) -> Result<PreparedQuery> {
    let plan = plan_query(&c.query, &engine.catalog, &engine.env, Some(&c.name))?;
    match (c.kind, plan.is_table) {
        (SourceKind::Stream, true) => return analysis_err!("Invalid result type. Your SELECT query produces a TABLE. Please use CREATE TABLE AS SELECT statement instead."),
        (SourceKind::Table, false) => return analysis_err!("Invalid result type. Your SELECT query produces a STREAM. Please use CREATE STREAM AS SELECT statement instead."),
        _ => {}
    }
    let topic = prop_string(&c.properties, "KAFKA_TOPIC")?.unwrap_or_else(|| c.name.clone());
    // Formats default to the source's, a DELIMITED source's delimiter included.
    let source = SourceFormats { key: plan.formats.key.clone(), value: plan.formats.value.clone() };
    let key_less = plan.root.schema().key.is_empty();
    let mut formats = sink_formats(&c.properties, &source, &engine.format_defaults(), !key_less)?;
    if key_less && c.kind == SourceKind::Stream {
        // ksqlDB: a stream without key columns (`PARTITION BY NULL`) has no key format.
        // ... except `KEY_FORMAT='NONE'`, which says just that.
        if prop_string(&c.properties, "KEY_FORMAT")?.is_some_and(|f| !f.eq_ignore_ascii_case("NONE")) {
            return analysis_err!("Key format specified for stream without key columns.");
        }
        formats.key = crate::format::FormatInfo::of("NONE");
    }
    let schema = output_schema(&plan);
    formats.validate(&schema)?;
    let timestamp = timestamp_of(&c.properties, &schema)?;
    let partitions = match prop_int(&c.properties, "PARTITIONS")? {
        Some(p) => p as i32,
        None => engine.topic_partitions(&plan.source_topic).unwrap_or(1),
    };
    let kind = if c.kind == SourceKind::Stream { QueryKind::CreateStreamAs } else { QueryKind::CreateTableAs };
    let query_id = if take_id { engine.catalog.next_query_id(kind, &c.name) } else { engine.catalog.peek_query_id(kind, &c.name) };
    let sources = plan.sources.clone();
    let window = plan.window;
    let formats = Formats { key: formats.key, value: formats.value };
    let root = sink_step(plan, &topic, formats.clone(), c.kind == SourceKind::Table);
    let sink = DataSource {
        name: c.name.clone(),
        kind: c.kind,
        schema,
        topic: topic.clone(),
        key_format: formats.key,
        value_format: formats.value,
        timestamp,
        window,
        is_source: false,
        is_sink: true,
        statement: text.to_owned(),
    };
    let info = QueryInfo {
        id: query_id.clone(),
        kind,
        sources,
        sink: Some(c.name.clone()),
        sink_topic: Some(topic),
        statement: text.to_owned(),
        plan: PhysicalPlan { query_id, root },
        state: QueryState::Running,
    };
    Ok(PreparedQuery { info, sink: Some(sink), partitions })
}

/// `CREATE STREAM|TABLE ... AS SELECT`.
pub(crate) fn create_as_select(engine: &mut Engine, c: &CreateAsSelect, text: &str) -> Result<StatementResult> {
    if let Some(existing) = engine.catalog.source(&c.name) {
        if c.if_not_exists {
            return Ok(status(text, format!("Cannot add {} {}: A {} with the same name already exists.", kind_name(c.kind), c.name, kind_name(existing.kind)), None));
        }
        if !c.or_replace {
            return analysis_err!("Cannot add {} '{}': A {} with the same name already exists", kind_name(c.kind), c.name, kind_name(existing.kind));
        }
        return replace_create_as(engine, c, text);
    }
    let prepared = prepare_create_as(engine, c, text, true)?;
    let Some(sink) = prepared.sink else { unreachable!("CREATE AS SELECT has a sink") };
    engine.create_topic(&sink.topic, prepared.partitions)?;
    crate::format::registry::register_sink_schemas(engine.schema_registry(), &sink.topic, &sink.key_format, &sink.value_format, &sink.schema)?;
    let reads = prepared.info.sources.iter().filter_map(|s| engine.catalog.source(s).map(|d| d.topic.clone())).collect();
    start(engine, &prepared.info.plan, reads)?;
    engine.record(text, Some(DdlCommand::create(sink.clone(), false)), Some(query_record(&prepared.info, Some(prepared.partitions))));
    engine.catalog.add_source(sink, false)?;
    let query_id = prepared.info.id.clone();
    engine.catalog.add_query(prepared.info);
    Ok(status(text, format!("Created query with ID {query_id}"), Some(query_id)))
}

/// `CREATE OR REPLACE ... AS SELECT` over an existing sink: the query keeps its id (and so its
/// application id, offsets and state) and runs the new plan; the sink's schema may only gain
/// value columns at the end, as ksqlDB's upgrade check allows.
fn replace_create_as(engine: &mut Engine, c: &CreateAsSelect, text: &str) -> Result<StatementResult> {
    let Some(existing) = engine.catalog.source(&c.name).cloned() else { unreachable!("checked by the caller") };
    let writer = engine.catalog.queries().find(|q| q.sink.as_deref() == Some(c.name.as_str()) && q.kind != QueryKind::InsertInto).map(|q| q.id.clone());
    let (Some(old_id), true) = (writer, existing.kind == c.kind) else {
        return analysis_err!("Cannot add {} '{}': A {} with the same name already exists", kind_name(c.kind), c.name, kind_name(existing.kind));
    };
    let mut prepared = prepare_create_as(engine, c, text, false)?;
    prepared.info.id = old_id.clone();
    prepared.info.plan.query_id = old_id.clone();
    let Some(sink) = prepared.sink else { unreachable!("CREATE AS SELECT has a sink") };
    let old = &existing.schema;
    let new = &sink.schema;
    let keys = |s: &LogicalSchema| s.key().cloned().collect::<Vec<_>>();
    let values = |s: &LogicalSchema| s.value().cloned().collect::<Vec<_>>();
    let (old_values, new_values) = (values(old), values(new));
    if keys(old) != keys(new) || new_values.len() < old_values.len() || new_values[..old_values.len()] != old_values[..] {
        return analysis_err!(
            "Cannot upgrade data source: DataSource '`{}`' has schema = {} which is not upgrade compatible with {}",
            c.name,
            schema_text(old),
            schema_text(new)
        );
    }
    stop(engine, &old_id)?;
    let reads = prepared.info.sources.iter().filter_map(|s| engine.catalog.source(s).map(|d| d.topic.clone())).collect();
    start(engine, &prepared.info.plan, reads)?;
    engine.record(text, Some(DdlCommand::create(sink.clone(), true)), Some(query_record(&prepared.info, None)));
    engine.catalog.add_source(sink, true)?;
    engine.catalog.add_query(prepared.info);
    Ok(status(text, format!("Created query with ID {old_id}"), Some(old_id)))
}

/// `INSERT INTO target SELECT ...`.
pub(crate) fn insert_into(engine: &mut Engine, target: &str, query: &Query, text: &str) -> Result<StatementResult> {
    let info = prepare_insert(engine, target, query, text, true)?;
    let reads = info.sources.iter().filter_map(|s| engine.catalog.source(s).map(|d| d.topic.clone())).collect();
    start(engine, &info.plan, reads)?;
    let query_id = info.id.clone();
    engine.record(text, None, Some(query_record(&info, None)));
    engine.catalog.add_query(info);
    Ok(status(text, format!("Created query with ID {query_id}"), Some(query_id)))
}

/// Plans `INSERT INTO target SELECT ...`, not yet running (the query id is taken only when
/// `take_id`; `EXPLAIN` peeks at it).
pub(crate) fn prepare_insert(engine: &mut Engine, target: &str, query: &Query, text: &str, take_id: bool) -> Result<QueryInfo> {
    let Some(sink) = engine.catalog.source(target).cloned() else {
        return analysis_err!("{target} does not exist.");
    };
    if sink.kind == SourceKind::Table {
        return analysis_err!("INSERT INTO can only be used to insert into a stream. {target} is a table.");
    }
    if sink.is_source {
        return analysis_err!("Cannot insert into read-only stream: {target}");
    }
    let plan = plan_query(query, &engine.catalog, &engine.env, Some(target))?;
    if plan.is_table {
        return analysis_err!("INSERT INTO can only be used to insert into a stream. The query produces a table.");
    }
    let result = output_schema(&plan);
    let same = |a: &LogicalSchema, b: &LogicalSchema| {
        let k = |s: &LogicalSchema| s.key().map(|c| c.ty.clone()).collect::<Vec<_>>();
        let v = |s: &LogicalSchema| s.value().filter(|c| c.namespace == ColumnNamespace::Value).map(|c| (c.name.clone(), c.ty.clone())).collect::<Vec<_>>();
        k(a) == k(b) && v(a) == v(b)
    };
    if !same(&result, &sink.schema) {
        return analysis_err!("Incompatible schema between results and sink.\nResult schema is {}\nSink schema is {}", schema_text(&result), schema_text(&sink.schema));
    }
    let query_id = if take_id { engine.catalog.next_query_id(QueryKind::InsertInto, target) } else { engine.catalog.peek_query_id(QueryKind::InsertInto, target) };
    let sources = plan.sources.clone();
    let formats = Formats { key: sink.key_format.clone(), value: sink.value_format.clone() };
    let root = sink_step(plan, &sink.topic, formats, false);
    let physical = PhysicalPlan { query_id: query_id.clone(), root };
    Ok(QueryInfo {
        id: query_id.clone(),
        kind: QueryKind::InsertInto,
        sources,
        sink: Some(target.to_owned()),
        sink_topic: Some(sink.topic.clone()),
        statement: text.to_owned(),
        plan: physical,
        state: QueryState::Running,
    })
}

fn schema_text(s: &LogicalSchema) -> String {
    let cols: Vec<String> = s
        .columns
        .iter()
        .map(|c| match c.namespace {
            ColumnNamespace::Key => format!("`{}` {} KEY", c.name, c.ty),
            _ => format!("`{}` {}", c.name, c.ty),
        })
        .collect();
    cols.join(", ")
}

/// `INSERT INTO target [(columns)] VALUES (...)`: one record on the target's topic.
pub(crate) fn insert_values(engine: &mut Engine, target: &str, names: &[String], values: &[Expr], text: &str) -> Result<StatementResult> {
    let Some(sink) = engine.catalog.source(target).cloned() else {
        return analysis_err!("Cannot insert values into an unknown stream/table: {target}");
    };
    if sink.is_source {
        return analysis_err!("Cannot insert values into read-only {}: {target}", kind_name(sink.kind));
    }
    let insertable: Vec<&Column> = sink.schema.columns.iter().filter(|c| !matches!(c.namespace, ColumnNamespace::Header(_))).collect();
    let names: Vec<String> = if names.is_empty() { insertable.iter().map(|c| c.name.clone()).collect() } else { names.to_vec() };
    if names.len() != values.len() {
        return analysis_err!("Expected number columns and values to match: {}, {}", names.len(), values.len());
    }
    let empty = crate::expr::Scope::new(vec![]);
    let mut timestamp = None;
    let mut row = std::collections::BTreeMap::new();
    for (n, e) in names.iter().zip(values) {
        if n == "ROWTIME" {
            let c = crate::expr::compile_as(e, &crate::SqlType::BigInt, true, &empty, &engine.env.registry, &|t| engine.env.types.get(t).cloned())?;
            if let Value::BigInt(ts) = c.eval(&[])? {
                timestamp = Some(ts);
            }
            continue;
        }
        let Some(col) = insertable.iter().find(|c| &c.name == n) else {
            return analysis_err!("Column name {n} does not exist.");
        };
        let c = crate::expr::compile_as(e, &col.ty, true, &empty, &engine.env.registry, &|t| engine.env.types.get(t).cloned())?;
        row.insert(n.clone(), c.eval(&[])?);
    }
    let pick = |ns: fn(&ColumnNamespace) -> bool| -> (Vec<Column>, Vec<Value>) {
        let cols: Vec<Column> = sink.schema.columns.iter().filter(|c| ns(&c.namespace)).cloned().collect();
        let vals = cols.iter().map(|c| row.get(&c.name).cloned().unwrap_or(Value::Null)).collect();
        (cols, vals)
    };
    let (key_cols, key) = pick(|n| *n == ColumnNamespace::Key);
    let (value_cols, value) = pick(|n| *n == ColumnNamespace::Value);
    let ctx_key = crate::format::SerdeContext::key(&sink.topic);
    let ctx_value = crate::format::SerdeContext::value(&sink.topic);
    let key_bytes = if key_cols.is_empty() { None } else { crate::format::format_with(&sink.key_format, engine.config.schema_registry.as_ref())?.row_serde(&key_cols, true)?.serialize(&key, &ctx_key)? };
    let value_bytes = crate::format::format_with(&sink.value_format, engine.config.schema_registry.as_ref())?.row_serde(&value_cols, false)?.serialize(&value, &ctx_value)?;
    let ts = timestamp.unwrap_or_else(brook_common::now_ms);
    engine.write_record(&sink.topic, OutputRecord { key: key_bytes, value: value_bytes, timestamp: ts, headers: vec![] })?;
    Ok(status(text, String::new(), None))
}

/// `TERMINATE id` / `TERMINATE ALL`.
pub(crate) fn terminate(engine: &mut Engine, target: &TerminateTarget, text: &str) -> Result<StatementResult> {
    let ids: Vec<String> = match target {
        TerminateTarget::All => engine.catalog.queries().map(|q| q.id.clone()).collect(),
        TerminateTarget::Query(id) => {
            let id = id.to_uppercase();
            if engine.catalog.query(&id).is_none() {
                return analysis_err!("Unknown queryId: {id}");
            }
            vec![id]
        }
    };
    for id in ids {
        stop(engine, &id)?;
        engine.catalog.remove_query(&id);
    }
    // As ksqlDB: recorded without a plan, replayed from its text.
    engine.record_command(text, None);
    Ok(status(text, "Query terminated.".into(), None))
}

/// A transient `SELECT`: a pull query without `EMIT`, else a push query.
pub(crate) fn transient(engine: &mut Engine, q: &Query, _text: &str) -> Result<StatementResult> {
    if q.emit.is_none() {
        return pull::pull(engine, q);
    }
    push::start(engine, q).map(StatementResult::PushQuery)
}
