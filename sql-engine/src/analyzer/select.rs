//! The select list: `*` expansion, output column names (`KSQL_COL_<n>` for expressions
//! without alias), which projected columns become the key of a persistent query's output,
//! and table functions (`EXPLODE`) lifted into a flat-map step.

use crate::parser::ast::{Expr, Query, SelectItem};
use crate::parser::walk::{rewrite, sql_text, visit};
use crate::plan::physical::{ExecutionStep, PlanColumn, SelectColumn, StepProperties, StepSchema};
use crate::{analysis_err, Result};

use super::columns::{qualify, ROWKEY, ROWOFFSET, ROWPARTITION, ROWTIME, WINDOWEND, WINDOWSTART};
use super::env::ExprEnv;

/// Which expressions a persistent query's projection must include: they become its key.
#[derive(Debug, Clone)]
pub(crate) enum KeyRequirement {
    /// The source's key columns (all of them).
    Columns(Vec<Expr>),
    /// `PARTITION BY` expressions (all of them).
    Partition(Vec<Expr>),
    /// A join: any one of the equivalent join expressions.
    Join(Vec<Expr>),
    /// `GROUP BY` expressions (all of them).
    Grouping(Vec<Expr>),
}

/// A planned projection.
#[derive(Debug, Clone)]
pub(crate) struct Projection {
    pub(crate) schema: StepSchema,
    pub(crate) key_names: Vec<String>,
    pub(crate) select: Vec<SelectColumn>,
}

/// A flat-map step for table functions, and the calls it replaced by synthetic columns.
pub(crate) struct FlatMapped {
    pub(crate) step: ExecutionStep,
    pub(crate) replaced: Vec<(Expr, Expr)>,
}

fn is_pseudo(name: &str) -> bool {
    matches!(name, ROWTIME | ROWPARTITION | ROWOFFSET | WINDOWSTART | WINDOWEND)
}

/// One select item before key assignment: its name, the expression as written (qualified)
/// and the expression to evaluate.
struct Item {
    name: String,
    written: Expr,
    eval: Expr,
}

/// Names the items: aliases, column names (`<ALIAS>_<NAME>` in joins when more than one
/// source has a column of that name), struct field names, else `KSQL_COL_<n>` counting only
/// generated names and skipping names the input has.
fn name_items(items: Vec<(Option<String>, Expr, Expr)>, input: &[PlanColumn], join: bool) -> Vec<Item> {
    let mut next = 0;
    let ambiguous = |name: &str| {
        let mut sources = input.iter().filter(|c| c.name == name).map(|c| c.qualifier.as_deref());
        let first = sources.next();
        sources.any(|q| Some(q) != first)
    };
    items
        .into_iter()
        .map(|(alias, written, eval)| {
            let name = alias.unwrap_or_else(|| match &written {
                Expr::Column { source: Some(q), name } if join && ambiguous(name) => format!("{q}_{name}"),
                Expr::Column { name, .. } => name.clone(),
                Expr::Dereference { field, .. } => field.clone(),
                _ => loop {
                    let n = format!("KSQL_COL_{next}");
                    next += 1;
                    if !input.iter().any(|c| c.name == n) {
                        break n;
                    }
                },
            });
            Item { name, written, eval }
        })
        .collect()
}

/// Plans the projection of a non-aggregate query over `step`.
pub(crate) fn expand_select(
    query: &Query,
    env: &ExprEnv,
    step: &ExecutionStep,
    replaced: &[(Expr, Expr)],
    sink: Option<&str>,
    key_req: &KeyRequirement,
) -> Result<Projection> {
    let input = &step.schema().value;
    let join = !query.from.joins.is_empty();
    let aliases: Vec<String> = std::iter::once(query.from.source.qualifier().to_owned()).chain(query.from.joins.iter().map(|j| j.right.qualifier().to_owned())).collect();
    let mut raw: Vec<(Option<String>, Expr, Expr)> = Vec::new();
    let partitioned = matches!(key_req, KeyRequirement::Partition(_));
    let star = |alias: &str, raw: &mut Vec<(Option<String>, Expr, Expr)>| {
        raw.extend(star_items(step, alias, join, partitioned).into_iter().map(|(a, e)| (a, e.clone(), e)));
    };
    for item in &query.select {
        match item {
            SelectItem::Star => {
                for a in &aliases {
                    star(a, &mut raw);
                }
            }
            SelectItem::QualifiedStar(a) => {
                if !aliases.contains(a) {
                    return analysis_err!("'{a}' is not a valid stream/table name or alias.");
                }
                star(a, &mut raw);
            }
            SelectItem::StructAll(base) => {
                let written = qualify(base, input)?;
                let crate::SqlType::Struct(fields) = env.type_of(&written, input)? else {
                    return analysis_err!("Expected a STRUCT for {}->*", sql_text(&written));
                };
                for (f, _) in fields {
                    let e = Expr::Dereference { base: Box::new(written.clone()), field: f.clone() };
                    raw.push((Some(f), e.clone(), e));
                }
            }
            SelectItem::Expr { expr, alias } => {
                let written = qualify(expr, input)?;
                let eval = rewrite(&written, &mut |x| replaced.iter().find(|(c, _)| c == x).map(|(_, r)| r.clone()));
                // An unqualified column keeps its name, even in joins (only `L.A` becomes `L_A`).
                let alias = match (alias, expr) {
                    (None, Expr::Column { source: None, name }) => Some(name.clone()),
                    (a, _) => a.clone(),
                };
                raw.push((alias, written, eval));
            }
        }
    }
    // `SELECT *` with `PARTITION BY`: the partitioning expressions the star does not already
    // project become the key columns, named as the repartition step names them.
    if let KeyRequirement::Partition(exprs) = key_req {
        if sink.is_some() && query.select.iter().any(|i| matches!(i, SelectItem::Star)) {
            let key_cols = &step.schema().key;
            for (k, e) in exprs.iter().enumerate().rev() {
                if !raw.iter().any(|(_, w, _)| w == e) {
                    let name = key_cols.get(k).map(|c| c.name.clone());
                    raw.insert(0, (name, e.clone(), e.clone()));
                }
            }
        }
    }
    // `SELECT *` over a join keyed by the synthetic `ROWKEY` (full outer joins, joins on
    // expressions of both sides) selects `ROWKEY` too, as the key.
    if let KeyRequirement::Join(exprs) = key_req {
        if let [rowkey @ Expr::Column { source: None, name }] = exprs.as_slice() {
            if name == ROWKEY && sink.is_some() && query.select.iter().any(|i| matches!(i, SelectItem::Star)) && !raw.iter().any(|(_, w, _)| w == rowkey) {
                raw.insert(0, (Some(name.clone()), rowkey.clone(), rowkey.clone()));
            }
        }
    }
    let items = name_items(raw, input, join);
    assign_key(items, env, step, input, sink, key_req)
}

/// The columns `alias.*` stands for, with their names in a join: key columns first, then value
/// columns, as ksqlDB orders `SELECT *`; after a `PARTITION BY` (`partitioned`) the old key
/// columns have moved to the end of the value.
fn star_items(step: &ExecutionStep, alias: &str, join: bool, partitioned: bool) -> Vec<(Option<String>, Expr)> {
    let input = &step.schema().value;
    let key_names = source_key_names(step, alias);
    // A join re-partitioned carries each side's ROWTIME, ROWPARTITION and ROWOFFSET as value
    // columns (ksqlDB's join schema), which a star then selects after the side's values.
    let carried = |name: &str| join && partitioned && matches!(name, ROWTIME | ROWPARTITION | ROWOFFSET);
    let cols = input.iter().filter(|c| c.qualifier.as_deref() == Some(alias) && (!is_pseudo(&c.name) || carried(&c.name)) && !c.name.starts_with("KSQL_SYNTH_"));
    let (keys, rest): (Vec<&PlanColumn>, Vec<&PlanColumn>) = cols.partition(|c| key_names.contains(&c.name));
    let (pseudo, values): (Vec<&PlanColumn>, Vec<&PlanColumn>) = rest.into_iter().partition(|c| is_pseudo(&c.name));
    let ordered: Vec<&PlanColumn> =
        if partitioned { values.into_iter().chain(pseudo).chain(keys).collect() } else { keys.into_iter().chain(pseudo).chain(values).collect() };
    let mut seen = Vec::new();
    let mut items = Vec::new();
    for c in ordered {
        if seen.contains(&c.name) {
            continue;
        }
        seen.push(c.name.clone());
        // A star in a join always names its columns `<ALIAS>_<NAME>`.
        let name = match (&c.qualifier, join) {
            (Some(q), true) => Some(format!("{q}_{}", c.name)),
            _ => None,
        };
        items.push((name, Expr::Column { source: c.qualifier.clone(), name: c.name.clone() }));
    }
    items
}

/// An aggregate query's select list with `*`, `alias.*` and `struct->*` spelled out as the
/// columns and fields they stand for, as ksqlDB expands them before checking that every
/// non-aggregate column is a grouping expression.
pub(crate) fn expand_stars(query: &Query, env: &ExprEnv, step: &ExecutionStep) -> Result<Vec<SelectItem>> {
    let input = &step.schema().value;
    let join = !query.from.joins.is_empty();
    let aliases: Vec<String> = std::iter::once(query.from.source.qualifier().to_owned()).chain(query.from.joins.iter().map(|j| j.right.qualifier().to_owned())).collect();
    let column = |(alias, expr): (Option<String>, Expr)| SelectItem::Expr { expr, alias };
    let mut out = Vec::new();
    for item in &query.select {
        match item {
            SelectItem::Star => {
                for a in &aliases {
                    out.extend(star_items(step, a, join, false).into_iter().map(column));
                }
            }
            SelectItem::QualifiedStar(a) => {
                if !aliases.contains(a) {
                    return analysis_err!("'{a}' is not a valid stream/table name or alias.");
                }
                out.extend(star_items(step, a, join, false).into_iter().map(column));
            }
            SelectItem::StructAll(base) => {
                let written = qualify(base, input)?;
                let crate::SqlType::Struct(fields) = env.type_of(&written, input)? else {
                    return analysis_err!("Expected a STRUCT for {}->*", sql_text(&written));
                };
                for (f, _) in fields {
                    out.push(SelectItem::Expr { expr: Expr::Dereference { base: Box::new(written.clone()), field: f.clone() }, alias: Some(f) });
                }
            }
            other => out.push(other.clone()),
        }
    }
    Ok(out)
}

/// The key column names of the source read as `alias` (the key copies in the value).
fn source_key_names(step: &ExecutionStep, alias: &str) -> Vec<String> {
    let mut names = Vec::new();
    fn walk(s: &ExecutionStep, alias: &str, names: &mut Vec<String>) {
        use ExecutionStep::*;
        match s {
            StreamSource(src) | WindowedStreamSource(src) | TableSource(src) | WindowedTableSource(src) if src.alias == alias => {
                names.extend(src.source_schema.key().map(|c| c.name.clone()));
            }
            _ => {
                for i in s.inputs() {
                    walk(i, alias, names);
                }
            }
        }
    }
    walk(step, alias, &mut names);
    names
}

/// Plans the projection of an aggregate query: `items` are (written, rewritten) select
/// expressions; the grouping expressions become the key.
pub(crate) fn project_aggregate(
    query: &Query,
    env: &ExprEnv,
    step: &ExecutionStep,
    items: &[(Expr, Expr)],
    sink: Option<&str>,
    group_by: &[Expr],
    source_columns: &[PlanColumn],
) -> Result<Projection> {
    let aliases = query.select.iter().map(|s| match s {
        SelectItem::Expr { alias, .. } => alias.clone(),
        _ => None,
    });
    let raw = aliases.zip(items).map(|(a, (w, e))| (a, w.clone(), e.clone())).collect();
    let input = &step.schema().value;
    // Generated names skip the names of the source's columns, as ksqlDB's alias generator.
    let named = name_items(raw, source_columns, false);
    // Key expressions evaluate over the aggregate row too; match on what was written.
    assign_key(named, env, step, input, sink, &KeyRequirement::Grouping(group_by.to_vec()))
}

/// The type of a select expression. ksqlDB finds an unsupported `CAST` when it generates the
/// projection's code, whose errors say `Invalid Select: `.
fn select_type(env: &ExprEnv, e: &Expr, input: &[PlanColumn]) -> Result<crate::SqlType> {
    env.type_of(e, input).map_err(|err| match err {
        crate::Error::Analysis(m) if m.starts_with("Cast of ") => crate::Error::Analysis(format!("Invalid Select: {m}")),
        other => other,
    })
}

fn assign_key(items: Vec<Item>, env: &ExprEnv, step: &ExecutionStep, input: &[PlanColumn], sink: Option<&str>, key_req: &KeyRequirement) -> Result<Projection> {
    let mut names_seen: Vec<&str> = Vec::new();
    for i in &items {
        if names_seen.contains(&i.name.as_str()) {
            return analysis_err!("Duplicate value columns found in schema: `{}`", i.name);
        }
        names_seen.push(&i.name);
    }
    let key_types: Vec<_> = step.schema().key.iter().map(|c| c.ty.clone()).collect();
    let Some(sink) = sink else {
        // Transient query: every item is a value column, the key passes through.
        let mut value = Vec::new();
        let mut select = Vec::new();
        for i in items {
            value.push(PlanColumn::new(i.name.clone(), select_type(env, &i.eval, input)?));
            select.push(SelectColumn { name: i.name, expr: i.eval });
        }
        let key = step.schema().key.clone();
        return Ok(Projection { key_names: key.iter().map(|c| c.name.clone()).collect(), schema: StepSchema { key, value }, select });
    };
    let (exprs, any_one) = match key_req {
        KeyRequirement::Columns(e) | KeyRequirement::Partition(e) | KeyRequirement::Grouping(e) => (e, false),
        KeyRequirement::Join(e) => (e, true),
    };
    let mut key_names: Vec<Option<String>> = vec![None; if any_one { 1 } else { exprs.len() }];
    let mut taken = vec![false; items.len()];
    if any_one {
        // A join's key is the projection of the first join expression projected, in the order
        // of the joins (left side first), whatever the order of the projection (ksqlDB).
        if let Some((pos, e)) = exprs.iter().find_map(|e| items.iter().position(|it| it.written == *e).map(|p| (p, e))) {
            taken[pos] = true;
            key_names[0] = Some(items[pos].name.clone());
            if let Some(again) = items.iter().enumerate().find(|(i, it)| *i != pos && it.written == *e).map(|(_, it)| it) {
                let text = match e {
                    Expr::Column { source: Some(q), name } => format!("{q}_{name}"),
                    Expr::Column { source: None, name } => name.clone(),
                    other => sql_text(other),
                };
                let mut aliases = [items[pos].name.as_str(), again.name.as_str()];
                aliases.sort_unstable();
                return analysis_err!("The projection contains a key column (`{text}`) more than once, aliased as: {} and {}.", aliases[0], aliases[1]);
            }
        }
    }
    for (k, e) in exprs.iter().enumerate() {
        let slot = if any_one { 0 } else { k };
        if key_names[slot].is_some() {
            continue;
        }
        if let Some(pos) = items.iter().enumerate().position(|(i, it)| !taken[i] && it.written == *e) {
            taken[pos] = true;
            key_names[slot] = Some(items[pos].name.clone());
            if let Some(again) = items.iter().enumerate().find(|(i, it)| !taken[*i] && it.written == *e).map(|(_, it)| it) {
                let text = match e {
                    Expr::Column { name, .. } => name.clone(),
                    other => sql_text(other),
                };
                return analysis_err!(
                    "The projection contains a key column (`{text}`) more than once, aliased as: {} and {}.",
                    items[pos].name,
                    again.name
                );
            }
        }
    }
    if key_names.iter().any(Option::is_none) {
        return Err(missing_key(sink, key_req));
    }
    let key_names: Vec<String> = key_names.into_iter().map(Option::unwrap_or_default).collect();
    let mut value = Vec::new();
    let mut select = Vec::new();
    for (i, it) in items.into_iter().enumerate() {
        if taken[i] {
            continue;
        }
        value.push(PlanColumn::new(it.name.clone(), select_type(env, &it.eval, input)?));
        select.push(SelectColumn { name: it.name, expr: it.eval });
    }
    if value.is_empty() {
        return analysis_err!("The projection contains no value columns.");
    }
    let key = key_names.iter().zip(key_types).map(|(n, t)| PlanColumn::new(n.clone(), t)).collect();
    Ok(Projection { schema: StepSchema { key, value }, key_names, select })
}

/// ksqlDB's message for a projection without the key.
fn missing_key(sink: &str, req: &KeyRequirement) -> crate::Error {
    let unqualified = |e: &Expr| match e {
        Expr::Column { name, .. } => name.clone(),
        other => sql_text(other),
    };
    let (what, texts, any_one): (&str, Vec<String>, bool) = match req {
        KeyRequirement::Columns(e) => ("key column", e.iter().map(unqualified).collect(), false),
        KeyRequirement::Grouping(e) => ("grouping expression", e.iter().map(unqualified).collect(), false),
        KeyRequirement::Partition(e) => ("partitioning expression", e.iter().map(sql_text).collect(), false),
        // ksqlDB names the join expressions that are columns ("viable" key columns), once each.
        KeyRequirement::Join(e) => {
            let mut texts: Vec<String> = Vec::new();
            for t in e.iter().filter(|x| matches!(x, Expr::Column { .. })).map(sql_text) {
                if !texts.contains(&t) {
                    texts.push(t);
                }
            }
            ("join expression", texts, true)
        }
    };
    let plural = texts.len() > 1;
    let joined = match texts.len() {
        0 | 1 => texts.join(""),
        n => format!("{} {} {}", texts[..n - 1].join(", "), if any_one { "or" } else { "and" }, texts[n - 1]),
    };
    let example = if any_one { texts.first().cloned().unwrap_or_default() } else { texts.join(", ") };
    // A join whose key is the synthetic ROWKEY says where it comes from.
    let synthetic = matches!(req, KeyRequirement::Join(e) if matches!(e.as_slice(), [Expr::Column { name, .. }] if name == ROWKEY));
    crate::Error::Analysis(format!(
        "Key{} missing from projection (ie, SELECT). See https://cnfl.io/2LV7ouS.\nThe query used to build `{sink}` must include the {what}{} {joined} in its projection (eg, SELECT {example}...).{}",
        if plural && !any_one { "s" } else { "" },
        if plural { "s" } else { "" },
        if synthetic {
            "\nROWKEY was added as a synthetic key column because the join criteria did not match any source column. This expression must be included in the projection and may be aliased."
        } else {
            ""
        },
    ))
}

/// Lifts table function calls of the select list into a `StreamFlatMap` step whose rows carry
/// each call's element in a `KSQL_SYNTH_<i>` column.
pub(crate) fn plan_table_functions(query: &Query, env: &ExprEnv, step: ExecutionStep) -> Result<FlatMapped> {
    let input = step.schema().value.clone();
    let mut calls: Vec<Expr> = Vec::new();
    for item in &query.select {
        if let SelectItem::Expr { expr, .. } = item {
            let q = qualify(expr, &input)?;
            visit(&q, &mut |x| {
                if let Expr::Function { name, .. } = x {
                    if env.is_table_function(name) && !calls.contains(x) {
                        calls.push(x.clone());
                    }
                }
            });
        }
    }
    if calls.is_empty() {
        return Ok(FlatMapped { step, replaced: vec![] });
    }
    if step.is_table() {
        return analysis_err!("Table source is not supported with table functions");
    }
    let mut value = input.clone();
    let mut replaced = Vec::new();
    for (i, c) in calls.iter().enumerate() {
        let f = env.table_function(c, &input)?;
        let name = format!("KSQL_SYNTH_{i}");
        value.push(PlanColumn::new(name.clone(), f.function.return_type()));
        replaced.push((c.clone(), Expr::Column { source: None, name }));
    }
    let props = StepProperties { ctx: "FlatMap".into(), schema: StepSchema { key: step.schema().key.clone(), value } };
    Ok(FlatMapped { step: ExecutionStep::StreamFlatMap { props, source: Box::new(step), table_functions: calls }, replaced })
}
