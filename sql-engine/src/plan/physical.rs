//! The physical plan: ksqlDB's execution steps, named as ksqlDB names them (`StreamSource`,
//! `StreamFilter`, `StreamSelect`, ...). Every step carries its query context (`ctx`, the
//! stacked names ksqlDB uses for processor, store and internal topic names: `Aggregate/GroupBy`
//! becomes `Aggregate-GroupBy`) and the schema of its output.
//!
//! Rows between steps: the key is a [`crate::Row`] of the key columns, the value a
//! [`crate::Row`] of the value columns, in schema order. As in ksqlDB, source steps copy the
//! pseudo-columns (`ROWTIME`, `ROWPARTITION`, `ROWOFFSET`, and `WINDOWSTART`/`WINDOWEND` of
//! windowed sources) and the key columns into the value, so every expression evaluates over
//! the value row alone.

use serde::{Deserialize, Serialize};

use crate::catalog::{TimestampColumn, WindowInfo};
use crate::format::FormatInfo;
use crate::parser::ast::{Expr, JoinKind, WindowExpr, Within};
use crate::{LogicalSchema, SqlType};

/// One column of a step's key or value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanColumn {
    /// The source alias that qualifies the column (`None` after a projection).
    pub qualifier: Option<String>,
    pub name: String,
    pub ty: SqlType,
}

impl PlanColumn {
    /// An unqualified column.
    pub fn new(name: impl Into<String>, ty: SqlType) -> Self {
        PlanColumn { qualifier: None, name: name.into(), ty }
    }
}

/// The key and value columns of a step's output.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepSchema {
    pub key: Vec<PlanColumn>,
    pub value: Vec<PlanColumn>,
}

/// The key and value formats of a topic.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Formats {
    pub key: FormatInfo,
    pub value: FormatInfo,
}

/// What every step has: its query context and output schema.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepProperties {
    /// ksqlDB's query context, `/`-separated (`Aggregate/GroupBy`).
    pub ctx: String,
    pub schema: StepSchema,
}

impl StepProperties {
    /// The context as ksqlDB turns it into an operation name (`Aggregate-GroupBy`).
    pub fn op_name(&self) -> String {
        self.ctx.replace('/', "-")
    }
}

/// A source step's parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SourceStep {
    pub props: StepProperties,
    pub topic: String,
    pub formats: Formats,
    pub timestamp: Option<TimestampColumn>,
    /// The source's own schema (as declared), which the topic's bytes follow.
    pub source_schema: LogicalSchema,
    /// The alias the query reads it under.
    pub alias: String,
    pub window: Option<WindowInfo>,
}

/// One output column of a projection.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SelectColumn {
    pub name: String,
    pub expr: Expr,
}

/// An aggregation's parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AggregateStep {
    pub props: StepProperties,
    pub source: Box<ExecutionStep>,
    /// Input columns copied into the aggregate row (the latest value wins).
    pub non_aggregate_columns: Vec<String>,
    /// The aggregate calls (`COUNT(X)`), evaluated over the input row; the results are the
    /// columns `KSQL_AGG_VARIABLE_<i>`.
    pub aggregations: Vec<Expr>,
    pub formats: Formats,
}

/// A join's parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JoinStep {
    pub props: StepProperties,
    pub kind: JoinKind,
    pub left: Box<ExecutionStep>,
    pub right: Box<ExecutionStep>,
    /// Internal formats of the two sides (stores and repartition topics).
    pub left_formats: Formats,
    pub right_formats: Formats,
    /// The join expressions of each side (`left_key = right_key`).
    pub left_key: Expr,
    pub right_key: Expr,
}

/// A sink's parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SinkStep {
    pub props: StepProperties,
    pub source: Box<ExecutionStep>,
    pub topic: String,
    pub formats: Formats,
    /// Windowed output keys.
    pub window: Option<WindowInfo>,
}

/// ksqlDB's execution steps.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum ExecutionStep {
    StreamSource(SourceStep),
    WindowedStreamSource(SourceStep),
    TableSource(SourceStep),
    WindowedTableSource(SourceStep),
    StreamFilter { props: StepProperties, source: Box<ExecutionStep>, predicate: Expr },
    TableFilter { props: StepProperties, source: Box<ExecutionStep>, predicate: Expr },
    /// Projection; `key_names` renames the key columns (aliases in the select list).
    StreamSelect { props: StepProperties, source: Box<ExecutionStep>, key_names: Vec<String>, select: Vec<SelectColumn> },
    TableSelect { props: StepProperties, source: Box<ExecutionStep>, key_names: Vec<String>, select: Vec<SelectColumn> },
    /// `PARTITION BY`: a new key from expressions (a repartition follows where needed).
    StreamSelectKey { props: StepProperties, source: Box<ExecutionStep>, key_expressions: Vec<Expr> },
    StreamGroupByKey { props: StepProperties, source: Box<ExecutionStep>, formats: Formats },
    StreamGroupBy { props: StepProperties, source: Box<ExecutionStep>, formats: Formats, group_by: Vec<Expr> },
    TableGroupBy { props: StepProperties, source: Box<ExecutionStep>, formats: Formats, group_by: Vec<Expr> },
    StreamAggregate(AggregateStep),
    StreamWindowedAggregate { aggregate: AggregateStep, window: WindowExpr },
    TableAggregate(AggregateStep),
    /// `EMIT FINAL`: results of a window are emitted once, when it closes.
    TableSuppress { props: StepProperties, source: Box<ExecutionStep> },
    /// Table functions (`EXPLODE`): one output row per element.
    StreamFlatMap { props: StepProperties, source: Box<ExecutionStep>, table_functions: Vec<Expr> },
    StreamStreamJoin { join: JoinStep, within: Within },
    StreamTableJoin(JoinStep),
    TableTableJoin(JoinStep),
    /// Joins a table's rows to the other table's row whose key `foreign_key` evaluates to.
    ForeignKeyTableTableJoin { join: JoinStep, foreign_key: Expr },
    StreamSink(SinkStep),
    TableSink(SinkStep),
}

impl ExecutionStep {
    /// The step's context and schema.
    pub fn props(&self) -> &StepProperties {
        use ExecutionStep::*;
        match self {
            StreamSource(s) | WindowedStreamSource(s) | TableSource(s) | WindowedTableSource(s) => &s.props,
            StreamFilter { props, .. }
            | TableFilter { props, .. }
            | StreamSelect { props, .. }
            | TableSelect { props, .. }
            | StreamSelectKey { props, .. }
            | StreamGroupByKey { props, .. }
            | StreamGroupBy { props, .. }
            | TableGroupBy { props, .. }
            | TableSuppress { props, .. }
            | StreamFlatMap { props, .. } => props,
            StreamAggregate(a) | TableAggregate(a) | StreamWindowedAggregate { aggregate: a, .. } => &a.props,
            StreamStreamJoin { join, .. } | StreamTableJoin(join) | TableTableJoin(join) | ForeignKeyTableTableJoin { join, .. } => {
                &join.props
            }
            StreamSink(s) | TableSink(s) => &s.props,
        }
    }

    /// The step's output schema.
    pub fn schema(&self) -> &StepSchema {
        &self.props().schema
    }

    /// ksqlDB's class name of the step (`StreamSource`, ...), as `EXPLAIN` lists them.
    pub fn step_name(&self) -> &'static str {
        use ExecutionStep::*;
        match self {
            StreamSource(_) => "StreamSource",
            WindowedStreamSource(_) => "WindowedStreamSource",
            TableSource(_) => "TableSource",
            WindowedTableSource(_) => "WindowedTableSource",
            StreamFilter { .. } => "StreamFilter",
            TableFilter { .. } => "TableFilter",
            StreamSelect { .. } => "StreamSelect",
            TableSelect { .. } => "TableSelect",
            StreamSelectKey { .. } => "StreamSelectKey",
            StreamGroupByKey { .. } => "StreamGroupByKey",
            StreamGroupBy { .. } => "StreamGroupBy",
            TableGroupBy { .. } => "TableGroupBy",
            StreamAggregate(_) => "StreamAggregate",
            StreamWindowedAggregate { .. } => "StreamWindowedAggregate",
            TableAggregate(_) => "TableAggregate",
            TableSuppress { .. } => "TableSuppress",
            StreamFlatMap { .. } => "StreamFlatMap",
            StreamStreamJoin { .. } => "StreamStreamJoin",
            StreamTableJoin(_) => "StreamTableJoin",
            TableTableJoin(_) => "TableTableJoin",
            ForeignKeyTableTableJoin { .. } => "ForeignKeyTableTableJoin",
            StreamSink(_) => "StreamSink",
            TableSink(_) => "TableSink",
        }
    }

    /// The steps this one reads.
    pub fn inputs(&self) -> Vec<&ExecutionStep> {
        use ExecutionStep::*;
        match self {
            StreamSource(_) | WindowedStreamSource(_) | TableSource(_) | WindowedTableSource(_) => vec![],
            StreamFilter { source, .. }
            | TableFilter { source, .. }
            | StreamSelect { source, .. }
            | TableSelect { source, .. }
            | StreamSelectKey { source, .. }
            | StreamGroupByKey { source, .. }
            | StreamGroupBy { source, .. }
            | TableGroupBy { source, .. }
            | TableSuppress { source, .. }
            | StreamFlatMap { source, .. } => vec![source],
            StreamAggregate(a) | TableAggregate(a) | StreamWindowedAggregate { aggregate: a, .. } => vec![&a.source],
            StreamStreamJoin { join, .. } | StreamTableJoin(join) | TableTableJoin(join) | ForeignKeyTableTableJoin { join, .. } => {
                vec![&join.left, &join.right]
            }
            StreamSink(s) | TableSink(s) => vec![&s.source],
        }
    }

    /// Whether the step's output is a table.
    pub fn is_table(&self) -> bool {
        use ExecutionStep::*;
        matches!(
            self,
            TableSource(_)
                | WindowedTableSource(_)
                | TableFilter { .. }
                | TableSelect { .. }
                | StreamAggregate(_)
                | StreamWindowedAggregate { .. }
                | TableAggregate(_)
                | TableSuppress { .. }
                | TableTableJoin(_)
                | ForeignKeyTableTableJoin { .. }
                | TableSink(_)
        )
    }
}

/// A persistent query's plan: the sink step and what it reads and writes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PhysicalPlan {
    pub query_id: String,
    pub root: ExecutionStep,
}

impl PhysicalPlan {
    /// `EXPLAIN`'s execution plan text: one line per step, indented by depth, as ksqlDB prints
    /// `> [ SINK ] | Schema: ... | Logger: CSAS_S_0.Project` (steps instead of ksqlDB's plan
    /// nodes).
    pub fn describe_steps(&self) -> String {
        fn walk(step: &ExecutionStep, id: &str, depth: usize, out: &mut String) {
            let schema = &step.schema();
            let cols: Vec<String> = schema
                .key
                .iter()
                .map(|c| format!("{} {} KEY", c.name, c.ty))
                .chain(schema.value.iter().map(|c| format!("{} {}", c.name, c.ty)))
                .collect();
            out.push_str(&format!(
                "{} > [ {} ] | Schema: {} | Logger: {id}.{}\n",
                "\t".repeat(depth),
                step.step_name(),
                cols.join(", "),
                step.props().ctx.replace('/', ".")
            ));
            for input in step.inputs() {
                walk(input, id, depth + 1, out);
            }
        }
        let mut out = String::new();
        walk(&self.root, &self.query_id, 0, &mut out);
        out
    }
}
