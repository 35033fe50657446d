//! Joins: `FROM a JOIN b ON a.x = b.y [WITHIN ...] JOIN c ...` planned as ksqlDB's join steps,
//! folding left to right: stream-stream (`WITHIN` required), stream-table, table-table on the
//! primary key, and table-table by foreign key (the left table joined on a value column to
//! the right table's key). Streams joined on something other than their key are re-keyed
//! first (`LeftSourceKeyed` / `RightSourceKeyed`); tables cannot be re-keyed.
//!
//! The joined row is the left row followed by the right row; its key is the join value.
//! A `FULL OUTER` join's key, and the key of a join on expressions of both sides, is the
//! synthetic column `ROWKEY` (`COALESCE` of both sides), as in
//! ksqlDB.
//!
//! Where Brook differs from ksqlDB: join conditions are one equality (as ksqlDB 0.29);
//! a `RIGHT` stream-table join is rejected as in ksqlDB.

use crate::catalog::Catalog;
use crate::parser::ast::{BinaryOp, Expr, JoinKind, Query};
use crate::parser::walk::{sql_text, visit};
use crate::plan::physical::{ExecutionStep, JoinStep, PlanColumn, StepProperties, StepSchema};
use crate::{analysis_err, Result};

use super::columns::{column_ref, qualify, ROWKEY};
use super::env::ExprEnv;
use super::source::{resolve_source, source_formats, source_step};

/// The joined step and the expressions its key is equal to.
pub(crate) struct PlannedJoin {
    pub(crate) step: ExecutionStep,
    pub(crate) key_expressions: Vec<Expr>,
}

/// Whether every column `e` references is one of `cols` (by qualifier and name).
fn refers_only_to(e: &Expr, cols: &[PlanColumn]) -> bool {
    let mut ok = true;
    let mut any = false;
    visit(e, &mut |x| {
        if let Expr::Column { source, name } = x {
            any = true;
            ok &= cols.iter().any(|c| &c.name == name && (source.is_none() || *source == c.qualifier));
        }
    });
    ok && any
}

/// Splits `l = r` into (left side, right side) expressions.
fn split_condition(on: &Expr, left: &[PlanColumn], right: &[PlanColumn]) -> Result<(Expr, Expr)> {
    let Expr::Binary { op: BinaryOp::Eq, left: a, right: b } = on else {
        if matches!(on, Expr::Binary { op: BinaryOp::And, .. }) {
            return analysis_err!("Invalid join condition: joins on multiple conditions are not yet supported. Got {}.", sql_text(on));
        }
        return analysis_err!("Unsupported join expression: {}", sql_text(on));
    };
    let both: Vec<PlanColumn> = left.iter().chain(right).cloned().collect();
    let (a, b) = (qualify(a, &both)?, qualify(b, &both)?);
    if refers_only_to(&a, left) && refers_only_to(&b, right) {
        Ok((a, b))
    } else if refers_only_to(&b, left) && refers_only_to(&a, right) {
        Ok((b, a))
    } else {
        analysis_err!("Invalid comparison expression '{}' in join '{}'. Each side of the join comparision must contain references from exactly one source.", sql_text(&a), sql_text(on))
    }
}

/// Whether the step is keyed by `e` (its single key column, or an expression it was joined on).
fn keyed_by(step: &ExecutionStep, e: &Expr, equivalents: &[Expr]) -> bool {
    let key = &step.schema().key;
    (key.len() == 1 && column_ref(&key[0]) == *e) || equivalents.contains(e)
}

fn rekey(step: ExecutionStep, e: &Expr, env: &ExprEnv, ctx: &str) -> Result<ExecutionStep> {
    let ty = env.type_of(e, &step.schema().value)?;
    let name = match e {
        Expr::Column { name, .. } => name.clone(),
        _ => "KSQL_COL_0".into(),
    };
    let schema = StepSchema { key: vec![PlanColumn::new(name, ty)], value: step.schema().value.clone() };
    Ok(ExecutionStep::StreamSelectKey { props: StepProperties { ctx: ctx.into(), schema }, source: Box::new(step), key_expressions: vec![e.clone()] })
}

pub(crate) fn plan_joins(query: &Query, catalog: &Catalog, env: &ExprEnv, mut current: ExecutionStep, sources: &mut Vec<String>) -> Result<PlannedJoin> {
    let mut equivalents: Vec<Expr> = Vec::new();
    let left_source = resolve_source(catalog, &query.from.source.name)?;
    let left_formats = source_formats(left_source);
    // ksqlDB's `KAFKA` value format cannot be joined (its serde has no schema for the join's
    // intermediate values).
    let mut kafka = Vec::new();
    for name in std::iter::once(&query.from.source.name).chain(query.from.joins.iter().map(|j| &j.right.name)) {
        let src = resolve_source(catalog, name)?;
        if source_formats(src).value.format == "KAFKA" && !kafka.contains(&src.name) {
            kafka.push(src.name.clone());
        }
    }
    if !kafka.is_empty() {
        return analysis_err!("Source(s) {} are using the 'KAFKA' value format. This format does not yet support JOIN.", kafka.join(", "));
    }
    let n = query.from.joins.len();
    for (i, j) in query.from.joins.iter().enumerate() {
        let right_src = resolve_source(catalog, &j.right.name)?;
        let alias = j.right.qualifier().to_owned();
        if alias == query.from.source.qualifier() || query.from.joins[..i].iter().any(|p| p.right.qualifier() == alias) {
            return analysis_err!("Can not join '{}' to '{}': self joins require one of the sources to be aliased.", query.from.source.name, j.right.name);
        }
        let ctx = if n == 1 { "Join".to_owned() } else { format!("Join{}", i + 1) };
        let source_ctx = if i == 0 { "KafkaTopic_Right/Source".to_owned() } else { format!("{ctx}/KafkaTopic_Right/Source") };
        let mut right = source_step(right_src, &alias, &source_ctx);
        sources.push(right_src.name.clone());
        let (lexpr, rexpr) = split_condition(&j.on, &current.schema().value, &right.schema().value)?;
        let lt = env.type_of(&lexpr, &current.schema().value)?;
        let rt = env.type_of(&rexpr, &right.schema().value)?;
        if lt != rt {
            return analysis_err!("Invalid join condition: types don't match. Got {}{{{lt}}} = {}{{{rt}}}.", sql_text(&lexpr), sql_text(&rexpr));
        }
        let right_formats = source_formats(right_src);
        let (lt_table, rt_table) = (current.is_table(), right.is_table());
        // Whether the left side is already keyed by its join expression; if it is not, it is
        // re-keyed (or foreign-key joined) and the earlier joins' key expressions no longer
        // name the key.
        let left_keyed = keyed_by(&current, &lexpr, &equivalents);
        let mut foreign_key = None;
        match (lt_table, rt_table) {
            (false, false) => {
                if j.within.is_none() {
                    return analysis_err!("Stream-Stream joins must have a WITHIN clause specified. None was provided. To learn about how to specify a WITHIN clause with a stream-stream join, please visit: https://docs.confluent.io/current/ksql/docs/syntax-reference.html#create-stream-as-select");
                }
                if !keyed_by(&current, &lexpr, &equivalents) {
                    current = rekey(current, &lexpr, env, &format!("{ctx}/LeftSourceKeyed"))?;
                }
                if !keyed_by(&right, &rexpr, &[]) {
                    right = rekey(right, &rexpr, env, &format!("{ctx}/RightSourceKeyed"))?;
                }
            }
            (false, true) => {
                if j.within.is_some() {
                    return analysis_err!("A window definition was provided for a Stream-Table join. These joins are not windowed. Please drop the window definition (ie. the WITHIN clause) and try to execute your join again.");
                }
                if matches!(j.kind, JoinKind::Right | JoinKind::Full) {
                    return analysis_err!(
                        "Invalid join type: {} join not supported for stream-table join. Got {} {} {}.",
                        if j.kind == JoinKind::Full { "full-outer" } else { "right" },
                        query.from.source.name,
                        join_text(j.kind),
                        j.right.name
                    );
                }
                if !keyed_by(&right, &rexpr, &[]) {
                    return analysis_err!(
                        "Invalid join condition: stream-table joins require to join on the table's primary key. Got {} = {}.",
                        sql_text(&lexpr),
                        sql_text(&rexpr)
                    );
                }
                if !keyed_by(&current, &lexpr, &equivalents) {
                    current = rekey(current, &lexpr, env, &format!("{ctx}/LeftSourceKeyed"))?;
                }
            }
            (true, false) => {
                return analysis_err!("Invalid join order: table-stream joins are not supported; only stream-table joins. Got {} {} {}.", query.from.source.name, join_text(j.kind), j.right.name);
            }
            (true, true) => {
                if j.within.is_some() {
                    return analysis_err!("A window definition was provided for a Table-Table join. These joins are not windowed. Please drop the window definition (i.e. the WITHIN clause) and try to execute your Table-Table join again.");
                }
                if !keyed_by(&right, &rexpr, &[]) {
                    return analysis_err!("Cannot repartition a TABLE source. If this is a join, make sure that the criteria uses the TABLE's key column {} instead of {}", key_name(&right), sql_text(&rexpr));
                }
                if !keyed_by(&current, &lexpr, &equivalents) {
                    if !matches!(j.kind, JoinKind::Inner | JoinKind::Left) {
                        return analysis_err!("Invalid join type: full-outer join not supported for foreign-key table-table join. Got {} {} {}.", query.from.source.name, join_text(j.kind), j.right.name);
                    }
                    foreign_key = Some(lexpr.clone());
                }
            }
        }
        // A join on expressions of both sides has no source column for its key: like a full
        // outer join, it gets the synthetic `ROWKEY` (ksqlDB).
        let synthetic = foreign_key.is_none() && !matches!(lexpr, Expr::Column { .. }) && !matches!(rexpr, Expr::Column { .. });
        let full = j.kind == JoinKind::Full || synthetic;
        let mut value: Vec<PlanColumn> = current.schema().value.iter().chain(&right.schema().value).cloned().collect();
        let key = if foreign_key.is_some() {
            // A foreign-key join keeps the left table's key.
            current.schema().key.clone()
        } else if full {
            vec![PlanColumn::new(ROWKEY, lt.clone())]
        } else {
            let name = match &lexpr {
                Expr::Column { name, .. } => name.clone(),
                _ => "KSQL_COL_0".into(),
            };
            vec![PlanColumn::new(name, lt.clone())]
        };
        if full {
            value.push(PlanColumn::new(ROWKEY, lt.clone()));
        }
        let props = StepProperties { ctx, schema: StepSchema { key, value } };
        let join = JoinStep {
            props,
            kind: j.kind,
            left: Box::new(current),
            right: Box::new(right),
            left_formats: left_formats.clone(),
            right_formats,
            left_key: lexpr.clone(),
            right_key: rexpr.clone(),
        };
        current = match (lt_table, rt_table, foreign_key) {
            (false, false, _) => ExecutionStep::StreamStreamJoin { join, within: j.within.expect("checked above") },
            (false, true, _) => ExecutionStep::StreamTableJoin(join),
            (true, true, None) => ExecutionStep::TableTableJoin(join),
            (true, true, Some(fk)) => ExecutionStep::ForeignKeyTableTableJoin { join, foreign_key: fk },
            (true, false, _) => unreachable!("rejected above"),
        };
        equivalents = if full {
            vec![Expr::Column { source: None, name: ROWKEY.into() }]
        } else if matches!(current, ExecutionStep::ForeignKeyTableTableJoin { .. }) {
            // A foreign-key join keeps the left table's key columns.
            current.schema().key.iter().map(column_ref).collect()
        } else {
            let mut e = if left_keyed { equivalents.clone() } else { Vec::new() };
            e.push(lexpr);
            e.push(rexpr);
            e
        };
    }
    Ok(PlannedJoin { step: current, key_expressions: equivalents })
}

/// A join type as ksqlDB prints it in messages, optional words in brackets.
fn join_text(kind: JoinKind) -> &'static str {
    match kind {
        JoinKind::Inner => "[INNER] JOIN",
        JoinKind::Left => "LEFT [OUTER] JOIN",
        JoinKind::Right => "RIGHT [OUTER] JOIN",
        JoinKind::Full => "[FULL] OUTER JOIN",
    }
}

fn key_name(step: &ExecutionStep) -> String {
    step.schema().key.first().map_or_else(String::new, |c| c.name.clone())
}
