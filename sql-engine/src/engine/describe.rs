//! `DESCRIBE [EXTENDED]` of a stream or table (ksqlDB's `SourceDescription`, which `SHOW ...
//! EXTENDED` and `DESCRIBE CONNECTOR` list too) and `DESCRIBE FUNCTION`.

use crate::catalog::{DataSource, QueryInfo};
use crate::engine::entities::{FieldInfo, FieldSchema, QueryRef, SourceDescription, StatementResult};
use crate::engine::state::Engine;
use crate::parser::ast::SourceKind;
use crate::{analysis_err, ColumnNamespace, Result};

fn fields(s: &DataSource) -> Vec<FieldInfo> {
    s.schema
        .columns
        .iter()
        .map(|c| FieldInfo {
            name: c.name.clone(),
            schema: FieldSchema::of(&c.ty),
            kind: match &c.namespace {
                ColumnNamespace::Key => Some("KEY".into()),
                ColumnNamespace::Header(_) => Some("HEADERS".into()),
                ColumnNamespace::Value => None,
            },
        })
        .collect()
}

fn query_ref(q: &QueryInfo) -> QueryRef {
    QueryRef { id: q.id.clone(), query_string: q.statement.clone(), sinks: q.sink.iter().cloned().collect(), state: q.state.as_str().into() }
}

pub(crate) fn source_description(engine: &Engine, name: &str, extended: bool) -> Result<SourceDescription> {
    let Some(s) = engine.catalog.source(name) else {
        return analysis_err!("Could not find STREAM/TABLE '{name}' in the Metastore");
    };
    let reads: Vec<QueryRef> = engine.catalog.queries().filter(|q| q.sources.iter().any(|x| x == name)).map(query_ref).collect();
    let writes: Vec<QueryRef> = engine.catalog.queries().filter(|q| q.sink.as_deref() == Some(name)).map(query_ref).collect();
    let errors: u64 = writes.iter().map(|q| engine.log.error_count(&q.id)).sum();
    Ok(SourceDescription {
        name: s.name.clone(),
        window_type: s.window.map(|w| w.window_type.as_str().to_owned()),
        read_queries: reads,
        write_queries: writes,
        fields: fields(s),
        kind: if s.kind == SourceKind::Stream { "STREAM" } else { "TABLE" }.into(),
        timestamp: s.timestamp.as_ref().map(|t| t.column.clone()).unwrap_or_default(),
        statistics: String::new(),
        error_stats: if extended { format!("processing-errors: {errors}") } else { String::new() },
        extended,
        key_format: s.key_format.format.clone(),
        value_format: s.value_format.format.clone(),
        topic: s.topic.clone(),
        partitions: engine.topic_partitions(&s.topic).unwrap_or(0),
        replication: 1,
        statement: s.statement.clone(),
    })
}

pub(crate) fn describe(engine: &mut Engine, name: &str, extended: bool) -> Result<StatementResult> {
    Ok(StatementResult::SourceDescription(Box::new(source_description(engine, name, extended)?)))
}

pub(crate) fn describe_function(engine: &mut Engine, name: &str) -> Result<StatementResult> {
    let upper = name.to_uppercase();
    match engine.env.registry.describe().into_iter().find(|f| f.name == upper) {
        Some(f) => Ok(StatementResult::FunctionDescription(f)),
        None => analysis_err!("Can't find any functions with the name '{upper}'"),
    }
}
