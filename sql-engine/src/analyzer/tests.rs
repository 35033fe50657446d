//! Analyzer unit tests: naming, qualification, step shapes, plan serialization.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::*;
use crate::catalog::DataSource;
use crate::format::FormatInfo;
use crate::function::FunctionRegistry;
use crate::parser::ast::{SourceKind, Statement};
use crate::{Column, ColumnNamespace, LogicalSchema};

fn env() -> ExprEnv {
    ExprEnv { registry: Arc::new(FunctionRegistry::new()), types: BTreeMap::new() }
}

fn catalog() -> Catalog {
    let mut c = Catalog::new();
    let col = |n: &str, ty: SqlType, ns: ColumnNamespace| Column { name: n.into(), ty, namespace: ns };
    for (name, kind) in [("S", SourceKind::Stream), ("T", SourceKind::Table)] {
        c.add_source(
            DataSource {
                name: name.into(),
                kind,
                schema: LogicalSchema {
                    columns: vec![
                        col("ID", SqlType::Int, ColumnNamespace::Key),
                        col("NAME", SqlType::String, ColumnNamespace::Value),
                        col("KSQL_COL_0", SqlType::Int, ColumnNamespace::Value),
                    ],
                },
                topic: name.to_lowercase(),
                key_format: FormatInfo::of("KAFKA"),
                value_format: FormatInfo::of("JSON"),
                timestamp: None,
                window: None,
                is_source: false,
                is_sink: false,
                statement: String::new(),
            },
            false,
        )
        .unwrap();
    }
    c
}

fn query(sql: &str) -> Query {
    match crate::parser::parse(sql).unwrap().remove(0).statement {
        Statement::Query(q) => *q,
        Statement::CreateAsSelect(c) => *c.query,
        other => panic!("{other:?}"),
    }
}

fn names(cols: &[PlanColumn]) -> Vec<String> {
    cols.iter().map(|c| c.name.clone()).collect()
}

#[test]
fn generated_names_skip_names_of_the_input() {
    let plan = plan_query(&query("SELECT ID, ABS(ID), NAME, LEN(NAME) FROM S EMIT CHANGES;"), &catalog(), &env(), None).unwrap();
    assert_eq!(names(&plan.root.schema().value), vec!["ID", "KSQL_COL_1", "NAME", "KSQL_COL_2"]);
}

#[test]
fn persistent_projection_moves_the_key_out_of_the_value() {
    let plan = plan_query(&query("CREATE STREAM O AS SELECT ID AS K, NAME FROM S;"), &catalog(), &env(), Some("O")).unwrap();
    assert_eq!(names(&plan.root.schema().key), vec!["K"]);
    assert_eq!(names(&plan.root.schema().value), vec!["NAME"]);
    assert_eq!(plan.root.step_name(), "StreamSelect");
}

#[test]
fn ambiguous_columns_in_joins_are_rejected() {
    let err = plan_query(&query("CREATE STREAM O AS SELECT S.ID, NAME FROM S JOIN T ON S.ID = T.ID;"), &catalog(), &env(), Some("O")).unwrap_err();
    assert_eq!(err.to_string(), "Column 'NAME' is ambiguous. Could be any of: S.NAME, T.NAME");
}

#[test]
fn aggregation_steps_are_named_as_ksqldb() {
    let plan = plan_query(&query("CREATE TABLE O AS SELECT NAME, COUNT(*) FROM S GROUP BY NAME HAVING COUNT(*) > 1;"), &catalog(), &env(), Some("O")).unwrap();
    let mut steps = Vec::new();
    let mut s = &plan.root;
    loop {
        steps.push(format!("{}:{}", s.step_name(), s.props().ctx));
        match s.inputs().first() {
            Some(i) => s = i,
            None => break,
        }
    }
    assert_eq!(
        steps,
        vec![
            "TableSelect:Aggregate/Project",
            "TableFilter:Aggregate/HavingFilter",
            "StreamAggregate:Aggregate/Aggregate",
            "StreamGroupBy:Aggregate/GroupBy",
            "StreamSource:KsqlTopic/Source"
        ]
    );
    assert_eq!(names(&plan.root.schema().value), vec!["KSQL_COL_1"], "KSQL_COL_0 is a source column");
}

#[test]
fn group_by_the_key_needs_no_repartition() {
    let plan = plan_query(&query("CREATE TABLE O AS SELECT ID, COUNT(*) AS C FROM S GROUP BY ID;"), &catalog(), &env(), Some("O")).unwrap();
    let ExecutionStep::TableSelect { source, .. } = &plan.root else { panic!() };
    let ExecutionStep::StreamAggregate(a) = &**source else { panic!() };
    assert_eq!(a.source.step_name(), "StreamGroupByKey");
}

#[test]
fn physical_plans_round_trip_through_json() {
    let plan = plan_query(&query("CREATE TABLE O AS SELECT NAME, COUNT(*) AS C FROM S WINDOW TUMBLING (SIZE 1 MINUTE) GROUP BY NAME;"), &catalog(), &env(), Some("O")).unwrap();
    let physical = crate::plan::physical::PhysicalPlan { query_id: "CTAS_O_0".into(), root: plan.root };
    let json = serde_json::to_string(&physical).unwrap();
    let back: crate::plan::physical::PhysicalPlan = serde_json::from_str(&json).unwrap();
    assert_eq!(back, physical);
}

#[test]
fn where_must_be_boolean() {
    let err = plan_query(&query("SELECT * FROM S WHERE NAME EMIT CHANGES;"), &catalog(), &env(), None).unwrap_err();
    assert_eq!(err.to_string(), "Type error in WHERE expression: Should evaluate to boolean but is NAME (STRING) instead.");
}
