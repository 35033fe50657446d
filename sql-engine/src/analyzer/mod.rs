//! Analysis of a `SELECT` against the catalog, producing the steps of its plan: sources and
//! their pseudo-columns, `WHERE`, `PARTITION BY`, `GROUP BY` + aggregates + `HAVING`, windows,
//! joins, the projection with ksqlDB's column naming (`KSQL_COL_<n>`) and key derivation, and
//! ksqlDB's validation messages.
//!
//! Where Brook differs from ksqlDB: the aggregate input is the whole source row (ksqlDB first
//! projects the needed columns in an `Aggregate-Prepare` step); the analysis and the plan
//! builder are one pass.

mod columns;
pub(crate) mod env;
mod join;
mod select;
mod source;

use crate::catalog::{Catalog, WindowInfo, WindowType};
use crate::parser::ast::{Emit, Expr, Query, WindowExpr};
use crate::parser::walk::{rewrite, sql_text, visit};
use crate::plan::physical::{AggregateStep, ExecutionStep, Formats, PlanColumn, StepProperties, StepSchema};
use crate::{analysis_err, Result, SqlType};

pub(crate) use self::columns::{WINDOWEND, WINDOWSTART};
use self::columns::{column_ref, qualify};
pub(crate) use self::env::ExprEnv;
use self::select::{expand_select, KeyRequirement};
use self::source::{resolve_source, source_formats, source_step};

pub(crate) const AGG_PREFIX: &str = "KSQL_AGG_VARIABLE_";

/// A planned `SELECT`: the steps up to (not including) the sink.
#[derive(Debug, Clone)]
pub(crate) struct QueryPlan {
    pub(crate) root: ExecutionStep,
    pub(crate) is_table: bool,
    /// Windowed output keys.
    pub(crate) window: Option<WindowInfo>,
    /// The sources read, by name.
    pub(crate) sources: Vec<String>,
    /// Formats of the leftmost source (the sink's defaults).
    pub(crate) formats: Formats,
    /// The leftmost source's topic (the sink's default partition count).
    pub(crate) source_topic: String,
    /// `LIMIT` of a push or pull query.
    pub(crate) limit: Option<u64>,
}

/// Plans `query`. `sink` is the name of the stream or table a persistent query writes (for
/// key validation); `None` for transient queries, whose projection keeps every column in the
/// value.
pub(crate) fn plan_query(query: &Query, catalog: &Catalog, env: &ExprEnv, sink: Option<&str>) -> Result<QueryPlan> {
    let left = resolve_source(catalog, &query.from.source.name)?;
    let alias = query.from.source.qualifier().to_owned();
    let ctx = if query.from.joins.is_empty() { "KsqlTopic/Source" } else { "KafkaTopic_Left/Source" };
    let mut step = source_step(left, &alias, ctx);
    let mut sources = vec![left.name.clone()];
    let mut window = left.window;
    let mut join_keys: Option<Vec<Expr>> = None;
    if !query.from.joins.is_empty() {
        let planned = join::plan_joins(query, catalog, env, step, &mut sources)?;
        step = planned.step;
        join_keys = Some(planned.key_expressions);
        window = None;
    }
    if let Some(w) = &query.where_clause {
        let predicate = qualify(w, &step.schema().value)?;
        check_boolean(env, &predicate, &step.schema().value, "WHERE")?;
        let props = StepProperties { ctx: "WhereFilter".into(), schema: step.schema().clone() };
        step = if step.is_table() {
            ExecutionStep::TableFilter { props, source: Box::new(step), predicate }
        } else {
            ExecutionStep::StreamFilter { props, source: Box::new(step), predicate }
        };
    }
    let aggregating = !query.group_by.is_empty()
        || query.having.is_some()
        || query.select.iter().any(|s| matches!(s, crate::parser::ast::SelectItem::Expr { expr, .. } if contains_aggregate(env, expr)));
    let formats = source_formats(left);
    let base = QueryPlan {
        root: step.clone(),
        is_table: false,
        window,
        sources,
        formats: formats.clone(),
        source_topic: left.topic.clone(),
        limit: query.limit,
    };
    if query.window.is_some() && !aggregating {
        return analysis_err!("WINDOW clause requires a GROUP BY clause.");
    }
    if aggregating {
        return plan_aggregate(query, env, step, formats, sink, base);
    }
    if matches!(query.emit, Some(Emit::Final)) {
        return analysis_err!("EMIT FINAL is only supported for windowed aggregations.");
    }
    let mut key_req = match &join_keys {
        Some(keys) => KeyRequirement::Join(keys.clone()),
        None => KeyRequirement::Columns(step.schema().key.iter().map(column_ref).collect()),
    };
    if !query.partition_by.is_empty() && step.is_table() {
        // ksqlDB: a table is never repartitioned; `PARTITION BY` its own key changes nothing.
        let keys = &step.schema().key;
        let exprs = query.partition_by.iter().map(|e| qualify(e, &step.schema().value)).collect::<Result<Vec<_>>>()?;
        let on_key = exprs.len() == keys.len() && exprs.iter().zip(keys).all(|(e, k)| matches!(e, Expr::Column { name, .. } if *name == k.name));
        if !on_key {
            if keys.len() > 1 {
                return analysis_err!("Cannot repartition a TABLE source. If this is a join, joins on tables with multiple columns is not yet supported.");
            }
            let unqualified = |e: &Expr| {
                sql_text(&rewrite(e, &mut |x| match x {
                    Expr::Column { source: Some(_), name } => Some(Expr::Column { source: None, name: name.clone() }),
                    _ => None,
                }))
            };
            let texts: Vec<String> = exprs.iter().map(unqualified).collect();
            return analysis_err!(
                "Cannot repartition a TABLE source. If this is a join, make sure that the criteria uses the TABLE's key column {} instead of [{}]",
                keys.first().map_or("", |k| k.name.as_str()),
                texts.join(", ")
            );
        }
    } else if !query.partition_by.is_empty() {
        // `PARTITION BY NULL`: a stream without key columns (key format `NONE`).
        let key_less = matches!(query.partition_by.as_slice(), [Expr::Literal(crate::parser::ast::Literal::Null)]);
        // ksqlDB names the clause when a partitioning column does not resolve.
        let named = |err: crate::Error| match err {
            crate::Error::Analysis(m) if m.starts_with("Column '") => crate::Error::Analysis(format!("PARTITION BY c{}", &m[1..])),
            other => other,
        };
        let exprs = if key_less { Vec::new() } else { query.partition_by.iter().map(|e| qualify(e, &step.schema().value).map_err(named)).collect::<Result<Vec<_>>>()? };
        let mut key = Vec::new();
        for (i, e) in exprs.iter().enumerate() {
            let ty = env.type_of(e, &step.schema().value).map_err(named)?;
            key.push(PlanColumn { qualifier: None, name: default_key_name(e, i), ty });
        }
        let schema = StepSchema { key, value: step.schema().value.clone() };
        step = ExecutionStep::StreamSelectKey {
            props: StepProperties { ctx: "PartitionBy".into(), schema },
            source: Box::new(step),
            key_expressions: exprs.clone(),
        };
        key_req = KeyRequirement::Partition(exprs);
    }
    let flat = select::plan_table_functions(query, env, step)?;
    step = flat.step;
    let projection = expand_select(query, env, &step, &flat.replaced, sink, &key_req)?;
    let props = StepProperties { ctx: "Project".into(), schema: projection.schema };
    let is_table = step.is_table();
    step = if is_table {
        ExecutionStep::TableSelect { props, source: Box::new(step), key_names: projection.key_names, select: projection.select }
    } else {
        ExecutionStep::StreamSelect { props, source: Box::new(step), key_names: projection.key_names, select: projection.select }
    };
    Ok(QueryPlan { root: step, is_table, ..base })
}

fn plan_aggregate(query: &Query, env: &ExprEnv, mut step: ExecutionStep, formats: Formats, sink: Option<&str>, base: QueryPlan) -> Result<QueryPlan> {
    let join_keys_present = !query.from.joins.is_empty();
    // `SELECT *` (and `alias.*`, `struct->*`) stand for their columns, which must then be
    // grouping expressions like any other non-aggregate column (ksqlDB).
    let expanded;
    let query = if query.select.iter().all(|s| matches!(s, crate::parser::ast::SelectItem::Expr { .. })) {
        query
    } else {
        expanded = Query { select: select::expand_stars(query, env, &step)?, ..query.clone() };
        &expanded
    };
    if query.group_by.is_empty() {
        if query.having.is_some() && !query.select.iter().any(|s| matches!(s, crate::parser::ast::SelectItem::Expr { expr, .. } if contains_aggregate(env, expr))) {
            return analysis_err!("HAVING clause requires a GROUP BY clause.");
        }
        let mut names = Vec::new();
        for s in &query.select {
            if let crate::parser::ast::SelectItem::Expr { expr, .. } = s {
                visit(expr, &mut |x| {
                    if let Expr::Function { name, .. } = x {
                        if env.is_aggregate(name) && !names.contains(name) {
                            names.push(name.clone());
                        }
                    }
                });
            }
        }
        return analysis_err!("Use of aggregate functions requires a GROUP BY clause. Aggregate function(s): {}", names.join(", "));
    }
    if !query.partition_by.is_empty() {
        return analysis_err!("PARTITION BY and GROUP BY in the same query is not supported.");
    }
    let input = step.schema().value.clone();
    let group_by = query.group_by.iter().map(|e| qualify(e, &input)).collect::<Result<Vec<_>>>()?;
    for g in &group_by {
        if contains_aggregate(env, g) {
            return analysis_err!("GROUP BY does not support aggregate functions: {} is an aggregate function.", sql_text(g));
        }
    }
    // Aggregate calls of the select list and HAVING, each once.
    let select_exprs: Vec<Expr> = query
        .select
        .iter()
        .filter_map(|s| match s {
            crate::parser::ast::SelectItem::Expr { expr, .. } => Some(qualify(expr, &input)),
            _ => None,
        })
        .collect::<Result<_>>()?;
    let having = query.having.as_ref().map(|h| qualify(h, &input)).transpose()?;
    let mut table_function = false;
    for e in &select_exprs {
        visit(e, &mut |x| table_function |= matches!(x, Expr::Function { name, .. } if env.is_table_function(name)));
    }
    if table_function {
        return analysis_err!("Table functions cannot be used with aggregations.");
    }
    let mut calls: Vec<Expr> = Vec::new();
    for e in select_exprs.iter().chain(having.iter()) {
        collect_aggregates(env, e, &mut calls)?;
    }
    // Columns used outside aggregate calls (grouping columns included) are carried into the
    // aggregate row.
    let mut used: Vec<PlanColumn> = Vec::new();
    let mut note = |e: &Expr| {
        let stripped = rewrite(e, &mut |x| match x {
            Expr::Function { name, .. } if env.is_aggregate(name) => Some(Expr::Literal(crate::parser::ast::Literal::Null)),
            _ => None,
        });
        visit(&stripped, &mut |x| {
            if let Expr::Column { source, name } = x {
                if let Some(c) = input.iter().find(|c| &c.name == name && (source.is_none() || c.qualifier == *source)) {
                    if !used.contains(c) {
                        used.push(c.clone());
                    }
                }
            }
        });
    };
    for e in group_by.iter().chain(select_exprs.iter()).chain(having.iter()) {
        note(e);
    }
    // Validation: non-aggregate select expressions must be built from grouping expressions.
    let windowed = query.window.is_some();
    let mut missing = Vec::new();
    for e in select_exprs.iter().chain(having.iter()) {
        let rest = rewrite(e, &mut |x| {
            if group_by.contains(x) || matches!(x, Expr::Function { name, .. } if env.is_aggregate(name)) {
                return Some(Expr::Literal(crate::parser::ast::Literal::Null));
            }
            None
        });
        visit(&rest, &mut |x| {
            if let Expr::Column { name, .. } = x {
                let window_bound = windowed && (name == WINDOWSTART || name == WINDOWEND);
                if !window_bound && !missing.contains(&sql_text(x)) {
                    missing.push(sql_text(x));
                }
            }
        });
    }
    if !missing.is_empty() {
        return analysis_err!("Non-aggregate SELECT expression(s) not part of GROUP BY: {}\nEither add the column to the GROUP BY or remove it from the SELECT.", missing.join(", "));
    }
    // Group by.
    let mut key = Vec::new();
    for (i, g) in group_by.iter().enumerate() {
        key.push(PlanColumn { qualifier: None, name: default_key_name(g, i), ty: env.type_of(g, &input)? });
    }
    let group_schema = StepSchema { key: key.clone(), value: input.clone() };
    let by_key = !step.is_table()
        && group_by.len() == step.schema().key.len()
        && group_by.iter().zip(&step.schema().key).all(|(g, k)| *g == column_ref(k));
    let props = StepProperties { ctx: "Aggregate/GroupBy".into(), schema: group_schema };
    let is_table_input = step.is_table();
    step = if is_table_input {
        ExecutionStep::TableGroupBy { props, source: Box::new(step), formats: formats.clone(), group_by: group_by.clone() }
    } else if by_key {
        ExecutionStep::StreamGroupByKey { props, source: Box::new(step), formats: formats.clone() }
    } else {
        ExecutionStep::StreamGroupBy { props, source: Box::new(step), formats: formats.clone(), group_by: group_by.clone() }
    };
    // Aggregate.
    let mut value: Vec<PlanColumn> = used.clone();
    for (i, c) in calls.iter().enumerate() {
        let call = env.aggregate(c, &input)?;
        value.push(PlanColumn::new(format!("{AGG_PREFIX}{i}"), call.function.return_type()));
    }
    if windowed {
        value.push(PlanColumn::new(WINDOWSTART, SqlType::BigInt));
        value.push(PlanColumn::new(WINDOWEND, SqlType::BigInt));
    }
    let agg = AggregateStep {
        props: StepProperties { ctx: "Aggregate/Aggregate".into(), schema: StepSchema { key: key.clone(), value: value.clone() } },
        source: Box::new(step),
        non_aggregate_columns: used.iter().map(|c| c.name.clone()).collect(),
        aggregations: calls.clone(),
        formats,
    };
    let window = query.window.map(|w| window_info(&w));
    step = match (&query.window, is_table_input) {
        (Some(_), true) => return analysis_err!("Windowing is not supported on tables."),
        (Some(w), false) => ExecutionStep::StreamWindowedAggregate { aggregate: agg, window: *w },
        (None, true) => ExecutionStep::TableAggregate(agg),
        (None, false) => ExecutionStep::StreamAggregate(agg),
    };
    // Replace aggregate calls by their result columns.
    let replace = |e: &Expr| {
        rewrite(e, &mut |x| calls.iter().position(|c| c == x).map(|i| Expr::Column { source: None, name: format!("{AGG_PREFIX}{i}") }))
    };
    if let Some(h) = &having {
        // Checked with each aggregate call standing for a column named by its text, so the
        // messages say `SUM(VALUE)` as ksqlDB's do (over a join: `SUM(I1_BAR)`).
        let flat = |q: &Option<String>, n: &str| match q {
            Some(q) if join_keys_present => format!("{q}_{n}"),
            _ => n.to_owned(),
        };
        let call_text = |c: &Expr| {
            sql_text(&rewrite(c, &mut |x| match x {
                Expr::Column { source, name } => Some(Expr::Column { source: None, name: flat(source, name) }),
                _ => None,
            }))
        };
        let named = rewrite(h, &mut |x| calls.iter().any(|c| c == x).then(|| Expr::Column { source: None, name: call_text(x) }));
        let mut named_cols = value.clone();
        for (i, c) in calls.iter().enumerate() {
            if let Some(col) = named_cols.iter_mut().find(|col| col.name == format!("{AGG_PREFIX}{i}")) {
                col.name = call_text(c);
            }
        }
        check_boolean(env, &named, &named_cols, "HAVING")?;
        let predicate = replace(h);
        let props = StepProperties { ctx: "Aggregate/HavingFilter".into(), schema: step.schema().clone() };
        step = ExecutionStep::TableFilter { props, source: Box::new(step), predicate };
    }
    let rewritten: Vec<(Expr, Expr)> = select_exprs.iter().map(|e| (e.clone(), replace(e))).collect();
    let projection = select::project_aggregate(query, env, &step, &rewritten, sink, &group_by, &input)?;
    let props = StepProperties { ctx: "Aggregate/Project".into(), schema: projection.schema };
    step = ExecutionStep::TableSelect { props, source: Box::new(step), key_names: projection.key_names, select: projection.select };
    if matches!(query.emit, Some(Emit::Final)) {
        if window.is_none() {
            return analysis_err!("EMIT FINAL is only supported for windowed aggregations.");
        }
        let props = StepProperties { ctx: "Suppress".into(), schema: step.schema().clone() };
        step = ExecutionStep::TableSuppress { props, source: Box::new(step) };
    }
    Ok(QueryPlan { root: step, is_table: true, window, ..base })
}

/// The `WindowInfo` of a windowed aggregation's output.
pub(crate) fn window_info(w: &WindowExpr) -> WindowInfo {
    match w {
        WindowExpr::Tumbling { size_ms, .. } => WindowInfo { window_type: WindowType::Tumbling, size_ms: Some(*size_ms) },
        WindowExpr::Hopping { size_ms, .. } => WindowInfo { window_type: WindowType::Hopping, size_ms: Some(*size_ms) },
        WindowExpr::Session { .. } => WindowInfo { window_type: WindowType::Session, size_ms: None },
    }
}

/// The name a key column derived from `e` gets before the projection names it: the column's
/// name for a column reference, else `KSQL_COL_<i>`.
fn default_key_name(e: &Expr, i: usize) -> String {
    match e {
        Expr::Column { name, .. } => name.clone(),
        Expr::Dereference { field, .. } => field.clone(),
        _ => format!("KSQL_COL_{i}"),
    }
}

/// ksqlDB's `FilterTypeValidator`: a `WHERE` / `HAVING` predicate must type-check (`Error in
/// WHERE expression: ...`) and be a boolean (`Type error in WHERE expression: ...`). Over a join
/// the messages name columns as the join's schema does (`I1_BAR`), so `e` is checked over the
/// flattened names.
fn check_boolean(env: &ExprEnv, e: &Expr, cols: &[PlanColumn], clause: &str) -> Result<()> {
    let joined = cols.iter().filter_map(|c| c.qualifier.as_ref()).collect::<std::collections::BTreeSet<_>>().len() > 1;
    let (e, cols) = if joined {
        let flat = |q: &Option<String>, name: &str| q.as_ref().map_or_else(|| name.to_owned(), |q| format!("{q}_{name}"));
        let e = rewrite(e, &mut |x| match x {
            Expr::Column { source, name } => {
                let c = cols.iter().find(|c| &c.name == name && (source.is_none() || c.qualifier == *source))?;
                Some(Expr::Column { source: None, name: flat(&c.qualifier, &c.name) })
            }
            _ => None,
        });
        let cols: Vec<PlanColumn> = cols.iter().map(|c| PlanColumn { qualifier: None, name: flat(&c.qualifier, &c.name), ty: c.ty.clone() }).collect();
        (e, cols)
    } else {
        // One source: its columns are named without the source, as ksqlDB prints them.
        let e = rewrite(e, &mut |x| match x {
            Expr::Column { source: Some(_), name } => Some(Expr::Column { source: None, name: name.clone() }),
            _ => None,
        });
        (e, cols.to_vec())
    };
    let ty = env.type_of(&e, &cols).map_err(|err| match err {
        crate::Error::Analysis(m) => crate::Error::Analysis(format!("Error in {clause} expression: {m}")),
        other => other,
    })?;
    let e = &e;
    if ty != SqlType::Boolean {
        return analysis_err!("Type error in {clause} expression: Should evaluate to boolean but is {} ({ty}) instead.", sql_text(e));
    }
    Ok(())
}

/// Whether `e` calls an aggregate function.
pub(crate) fn contains_aggregate(env: &ExprEnv, e: &Expr) -> bool {
    let mut found = false;
    visit(e, &mut |x| {
        if let Expr::Function { name, .. } = x {
            found |= env.is_aggregate(name);
        }
    });
    found
}

fn collect_aggregates(env: &ExprEnv, e: &Expr, out: &mut Vec<Expr>) -> Result<()> {
    let mut nested = None;
    visit(e, &mut |x| {
        if let Expr::Function { name, args, .. } = x {
            if env.is_aggregate(name) {
                if args.iter().any(|a| contains_aggregate(env, a)) {
                    nested = Some(sql_text(x));
                }
                if !out.contains(x) {
                    out.push(x.clone());
                }
            }
        }
    });
    match nested {
        Some(t) => analysis_err!("Aggregate functions can not be nested: {t}"),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests;
