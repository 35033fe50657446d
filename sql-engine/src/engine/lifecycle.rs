//! A persistent query's life on the runtime: its plan lowered onto a topology
//! ([`lower_context`]), started on the test pipeline or the live runtime, stopped; the `CST_`
//! query that materializes a source table; and what the command topic records of a query.
//! The statements that start and stop queries (`query`, `ddl`, `command`) and the transient
//! ones that lower a plan (`push`, `pull`) call it.

use brook_streams_dsl::StreamsBuilder;

use crate::analyzer::plan_query;
use crate::catalog::{DataSource, QueryInfo, QueryKind, QueryState};
use crate::engine::state::{Engine, Runtime};
use crate::lower::{lower_persistent, LowerContext};
use crate::parser::ast::Query;
use crate::plan::command::KsqlQueryPlan;
use crate::plan::physical::{ExecutionStep, PhysicalPlan};
use crate::Result;

/// How the plans of query `query_id` are lowered: the engine's functions and processing log,
/// its caching, Arrow path, offset reset and Schema Registry.
pub(crate) fn lower_context(engine: &Engine, query_id: &str) -> LowerContext {
    LowerContext {
        env: engine.env.clone(),
        query_id: query_id.to_owned(),
        log: engine.log.clone(),
        caching: engine.caching(),
        vectorized: engine.property(crate::lower::VECTORIZED).is_none_or(|v| v.eq_ignore_ascii_case("true")),
        offset_reset: engine.offset_reset(),
        registry: engine.config.schema_registry.clone(),
        null_values: false,
    }
}

/// Builds the topology of `plan` and runs it.
pub(crate) fn start(engine: &mut Engine, plan: &PhysicalPlan, reads: Vec<String>) -> Result<()> {
    let builder = StreamsBuilder::new();
    lower_query(&plan.root, &builder, &lower_context(engine, &plan.query_id))?;
    let topology = builder.build()?;
    let app = engine.application_id(&plan.query_id);
    match &mut engine.runtime {
        Runtime::Test(p) => p.start(&plan.query_id, &app, topology, reads, false),
        Runtime::Live(_) => {
            let config = engine.streams_config(&plan.query_id)?;
            // Replayed queries start side by side, as ksqlDB's do, each resuming once its group lets it.
            let wait = !engine.replaying;
            let Runtime::Live(l) = &mut engine.runtime else { unreachable!() };
            l.start(&plan.query_id, config, topology, wait)
        }
    }
}

/// Lowers a persistent query's plan: a sink and what it writes or, for a source table's
/// materialization (`CST_` queries), the table source alone (its store is the point).
fn lower_query(root: &ExecutionStep, builder: &StreamsBuilder, cx: &LowerContext) -> Result<()> {
    match root {
        ExecutionStep::TableSource(_) => crate::lower::lower(root, builder, cx).map(drop),
        _ => lower_persistent(root, builder, cx),
    }
}

/// The `CST_<NAME>_<n>` query that materializes source table `table` (in the catalog already)
/// for pull queries, as ksqlDB's `sourceTablePlan`: the table read into its `KsqlTopic-Reduce`
/// store, nothing written.
pub(crate) fn source_table_query(engine: &mut Engine, table: &DataSource, text: &str) -> Result<QueryInfo> {
    use crate::parser::ast::{AliasedSource, Emit, From, SelectItem};
    let q = Query {
        select: vec![SelectItem::Star],
        from: From { source: AliasedSource { name: table.name.clone(), alias: None }, joins: vec![] },
        window: None,
        where_clause: None,
        group_by: vec![],
        partition_by: vec![],
        having: None,
        emit: Some(Emit::Changes),
        limit: None,
    };
    let plan = plan_query(&q, &engine.catalog, &engine.env, None)?;
    let mut root = plan.root;
    loop {
        root = match root {
            ExecutionStep::TableSource(_) => break,
            ExecutionStep::TableSelect { source, .. } | ExecutionStep::TableFilter { source, .. } => *source,
            other => return Err(crate::Error::Unsupported(format!("materializing a source table planned as {}", other.step_name()))),
        };
    }
    let id = engine.catalog.next_query_id(QueryKind::SourceTable, &table.name);
    Ok(QueryInfo {
        id: id.clone(),
        kind: QueryKind::SourceTable,
        sources: vec![table.name.clone()],
        sink: None,
        sink_topic: None,
        statement: text.to_owned(),
        plan: PhysicalPlan { query_id: id, root },
        state: QueryState::Running,
    })
}

/// Stops and forgets the `CST_` query of source table `table`, if it has one.
pub(crate) fn stop_source_table_query(engine: &mut Engine, table: &str) -> Result<()> {
    let ids: Vec<String> = engine.catalog.queries().filter(|q| q.kind == QueryKind::SourceTable && q.sources.iter().any(|s| s == table)).map(|q| q.id.clone()).collect();
    for id in ids {
        stop(engine, &id)?;
        engine.catalog.remove_query(&id);
    }
    Ok(())
}

/// Stops the running instance of query `id`.
pub(crate) fn stop(engine: &mut Engine, id: &str) -> Result<()> {
    match &mut engine.runtime {
        Runtime::Test(p) => p.stop(id),
        Runtime::Live(l) => {
            l.stop(id);
            Ok(())
        }
    }
}

/// What `CREATE ... AS SELECT` / `INSERT INTO` did, as the command topic records it.
pub(crate) fn query_record(info: &QueryInfo, sink_partitions: Option<i32>) -> KsqlQueryPlan {
    KsqlQueryPlan {
        query_id: info.id.clone(),
        kind: info.kind,
        sources: info.sources.clone(),
        sink: info.sink.clone(),
        sink_topic: info.sink_topic.clone(),
        sink_partitions,
        physical_plan: info.plan.root.clone(),
    }
}

/// The topology text of a plan, as `EXPLAIN` prints it: ksqlDB's steps, as the row path runs
/// them (a query on the Arrow path runs its stateless steps fused in one processor).
pub(crate) fn describe_topology(engine: &Engine, plan: &PhysicalPlan) -> Result<String> {
    let builder = StreamsBuilder::new();
    let cx = LowerContext { vectorized: false, ..lower_context(engine, &plan.query_id) };
    lower_query(&plan.root, &builder, &cx)?;
    Ok(builder.build()?.describe().to_string())
}
