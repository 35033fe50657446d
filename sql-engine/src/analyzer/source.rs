//! Sources as a query reads them: looked up in the catalog, their formats, and the source
//! step that adds ksqlDB's pseudo-columns to their value columns.

use crate::catalog::{Catalog, DataSource};
use crate::parser::ast::SourceKind;
use crate::plan::physical::{ExecutionStep, Formats, PlanColumn, SourceStep, StepProperties, StepSchema};
use crate::{analysis_err, Result, SqlType};

use super::columns::{ROWOFFSET, ROWPARTITION, ROWTIME, WINDOWEND, WINDOWSTART};

pub(crate) fn resolve_source<'a>(catalog: &'a Catalog, name: &str) -> Result<&'a DataSource> {
    match catalog.source(name) {
        Some(s) => Ok(s),
        None => analysis_err!("{name} does not exist."),
    }
}

pub(crate) fn source_formats(s: &DataSource) -> Formats {
    Formats { key: s.key_format.clone(), value: s.value_format.clone() }
}

/// The source step of `src` read as `alias` in context `ctx` (`KsqlTopic/Source`, or
/// `KafkaTopic_Left/Source` and `KafkaTopic_Right/Source` in joins): value columns,
/// pseudo-columns and copies of the key columns in the value.
pub(crate) fn source_step(src: &DataSource, alias: &str, ctx: &str) -> ExecutionStep {
    let q = Some(alias.to_owned());
    let col = |name: &str, ty: SqlType| PlanColumn { qualifier: q.clone(), name: name.to_owned(), ty };
    let key: Vec<PlanColumn> = src.schema.key().map(|c| col(&c.name, c.ty.clone())).collect();
    let mut value: Vec<PlanColumn> = src.schema.value().map(|c| col(&c.name, c.ty.clone())).collect();
    value.push(col(ROWTIME, SqlType::BigInt));
    value.push(col(ROWPARTITION, SqlType::Int));
    value.push(col(ROWOFFSET, SqlType::BigInt));
    value.extend(key.iter().cloned());
    if src.window.is_some() {
        value.push(col(WINDOWSTART, SqlType::BigInt));
        value.push(col(WINDOWEND, SqlType::BigInt));
    }
    let s = SourceStep {
        props: StepProperties { ctx: ctx.to_owned(), schema: StepSchema { key, value } },
        topic: src.topic.clone(),
        formats: source_formats(src),
        timestamp: src.timestamp.clone(),
        source_schema: src.schema.clone(),
        alias: alias.to_owned(),
        window: src.window,
    };
    match (src.kind, src.window.is_some()) {
        (SourceKind::Stream, false) => ExecutionStep::StreamSource(s),
        (SourceKind::Stream, true) => ExecutionStep::WindowedStreamSource(s),
        (SourceKind::Table, false) => ExecutionStep::TableSource(s),
        (SourceKind::Table, true) => ExecutionStep::WindowedTableSource(s),
    }
}
