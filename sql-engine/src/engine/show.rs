//! `SHOW` / `LIST`, `EXPLAIN` and `PRINT` (`DESCRIBE` is [`describe`](super::describe)'s).

use crate::catalog::{DataSource, QueryInfo};
use crate::engine::connector;
use crate::engine::describe::source_description;
use crate::engine::entities::{FieldInfo, FunctionInfo, Property, QueryDescription, RunningQuery, SourceInfo, StatementResult, TopicInfo};
use crate::engine::lifecycle::describe_topology;
use crate::engine::query::{prepare_create_as, prepare_insert};
use crate::engine::state::{Engine, Runtime};
use crate::parser::ast::{ExplainTarget, Show, SourceKind, Statement};
use crate::plan::physical::PlanColumn;
use crate::{analysis_err, Error, Result};

fn source_info(s: &DataSource) -> SourceInfo {
    SourceInfo {
        kind: if s.kind == SourceKind::Stream { "STREAM" } else { "TABLE" }.into(),
        name: s.name.clone(),
        topic: s.topic.clone(),
        key_format: s.key_format.format.clone(),
        value_format: s.value_format.format.clone(),
        is_windowed: s.window.is_some(),
    }
}

fn running(q: &QueryInfo) -> RunningQuery {
    RunningQuery {
        query_string: q.statement.clone(),
        sinks: q.sink.iter().cloned().collect(),
        sink_kafka_topics: q.sink_topic.iter().cloned().collect(),
        id: q.id.clone(),
        query_type: "PERSISTENT".into(),
        state: q.state.as_str().into(),
    }
}

pub(crate) fn show(engine: &mut Engine, show: &Show) -> Result<StatementResult> {
    let cat = &engine.catalog;
    Ok(match show {
        Show::Streams { extended: false } => StatementResult::Streams(cat.sources().filter(|s| s.kind == SourceKind::Stream).map(source_info).collect()),
        Show::Tables { extended: false } => StatementResult::Tables(cat.sources().filter(|s| s.kind == SourceKind::Table).map(source_info).collect()),
        Show::Streams { extended: true } | Show::Tables { extended: true } => {
            let kind = if matches!(show, Show::Streams { .. }) { SourceKind::Stream } else { SourceKind::Table };
            let names: Vec<String> = cat.sources().filter(|s| s.kind == kind).map(|s| s.name.clone()).collect();
            StatementResult::SourceDescriptions(names.iter().map(|n| source_description(engine, n, true)).collect::<Result<_>>()?)
        }
        Show::Queries { .. } => StatementResult::Queries(
            cat.queries()
                .map(|q| RunningQuery { state: engine.query_state(&q.id).unwrap_or(q.state).as_str().into(), ..running(q) })
                .collect(),
        ),
        Show::Topics { all, .. } => {
            let mut topics: Vec<(String, i32)> = match &engine.runtime {
                Runtime::Test(_) => engine.test_topics.iter().map(|(k, v)| (k.clone(), *v)).collect(),
                Runtime::Live(l) => l.cluster.list_topics()?.into_iter().filter_map(|t| Some((t.clone(), l.cluster.partition_count(&t).ok()??))).collect(),
            };
            if !all {
                topics.retain(|(t, _)| !t.starts_with('_'));
            }
            StatementResult::Topics(topics.into_iter().map(|(name, p)| TopicInfo { name, replica_info: vec![1; p.max(0) as usize] }).collect())
        }
        Show::Functions => StatementResult::Functions(
            engine
                .env
                .registry
                .describe()
                .into_iter()
                .map(|f| FunctionInfo { name: f.name.clone(), kind: format!("{:?}", f.kind).to_uppercase(), category: f.category.clone() })
                .collect(),
        ),
        Show::Types => StatementResult::Types(cat.types().iter().map(|(n, t)| (n.clone(), t.to_string())).collect()),
        Show::Properties => {
            let mut props: Vec<Property> =
                engine.config.properties.iter().map(|(k, v)| Property { name: k.clone(), scope: "KSQL".into(), value: v.clone() }).collect();
            props.extend(engine.overrides.iter().map(|(k, v)| Property { name: k.clone(), scope: "SESSION".into(), value: v.clone() }));
            props.push(Property { name: "ksql.service.id".into(), scope: "KSQL".into(), value: engine.config.service_id.clone() });
            StatementResult::Properties(props)
        }
        Show::Variables => StatementResult::Variables(engine.variables.iter().map(|(k, v)| (k.clone(), v.clone())).collect()),
        Show::Connectors { kind } => return connector::list(engine, *kind),
    })
}

fn query_description(engine: &Engine, q: &QueryInfo) -> Result<QueryDescription> {
    let schema = q.plan.root.schema();
    let fields = schema.key.iter().map(|c| FieldInfo::of(c, true)).chain(schema.value.iter().map(|c: &PlanColumn| FieldInfo::of(c, false))).collect();
    Ok(QueryDescription {
        id: q.id.clone(),
        statement_text: q.statement.clone(),
        window_type: None,
        fields,
        sources: q.sources.clone(),
        sinks: q.sink.iter().cloned().collect(),
        topology: describe_topology(engine, &q.plan)?,
        execution_plan: q.plan.describe_steps(),
        query_type: "PERSISTENT".into(),
        state: Some(q.state.as_str().into()),
    })
}

pub(crate) fn explain(engine: &mut Engine, target: &ExplainTarget, text: &str) -> Result<StatementResult> {
    match target {
        ExplainTarget::QueryId(id) => {
            let id = id.to_uppercase();
            let Some(q) = engine.catalog.query(&id) else {
                return analysis_err!("Query with id:{id} does not exist, use SHOW QUERIES to view the full set of queries.");
            };
            Ok(StatementResult::QueryDescription(Box::new(query_description(engine, q)?)))
        }
        ExplainTarget::Statement(s) => match &**s {
            Statement::CreateAsSelect(c) => {
                // Planned, described, not run: the query id is not taken.
                let inner = text.trim_start().get(7..).unwrap_or_default().trim_start();
                let prepared = prepare_create_as(engine, c, inner, false)?;
                let mut d = query_description(engine, &prepared.info)?;
                d.state = None;
                Ok(StatementResult::QueryDescription(Box::new(d)))
            }
            Statement::InsertInto { target, query, .. } => {
                let inner = text.trim_start().get(7..).unwrap_or_default().trim_start();
                let info = prepare_insert(engine, target, query, inner, false)?;
                let mut d = query_description(engine, &info)?;
                d.state = None;
                Ok(StatementResult::QueryDescription(Box::new(d)))
            }
            _ => Err(Error::Unsupported("EXPLAIN only explains queries".into())),
        },
    }
}

/// `PRINT`'s timestamps: `2021/03/23 16:26:39.869 Z` (UTC).
fn print_time(ms: i64) -> String {
    match chrono::DateTime::from_timestamp_millis(ms) {
        Some(t) => t.format("%Y/%m/%d %H:%M:%S%.3f Z").to_string(),
        None => ms.to_string(),
    }
}

pub(crate) fn print(engine: &mut Engine, topic: &str, limit: Option<u64>) -> Result<StatementResult> {
    if engine.topic_partitions(topic).is_none() {
        return analysis_err!("Could not find topic '{topic}', or the KSQL user does not have permissions to list the topic. Topic names are case-sensitive.");
    }
    let records = engine.read_output(topic)?;
    let lines = records
        .iter()
        .take(limit.map_or(usize::MAX, |l| l as usize))
        .map(|r| {
            let text = |b: &Option<Vec<u8>>| b.as_ref().map_or("<null>".to_owned(), |b| String::from_utf8_lossy(b).into_owned());
            format!("rowtime: {}, key: {}, value: {}, partition: 0", print_time(r.timestamp), text(&r.key), text(&r.value))
        })
        .collect();
    Ok(StatementResult::Printed(lines))
}
