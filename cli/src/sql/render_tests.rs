//! Snapshots of what `brook sql` prints, from real engine results (test mode).

use brook_sql_engine::{Engine, StatementResult, Value};

use super::render::{self, OutputFormat};

const WIDTH: usize = 100;

fn engine() -> Engine {
    let mut e = Engine::new_test().unwrap();
    e.execute(
        "CREATE STREAM PAGEVIEWS (USERID STRING KEY, PAGEID STRING, VIEWTIME BIGINT, TAGS ARRAY<STRING>)
           WITH (KAFKA_TOPIC='pageviews', PARTITIONS=2, FORMAT='JSON');
         CREATE TABLE USERS (ID STRING PRIMARY KEY, NAME STRING, ADDRESS STRUCT<CITY STRING, ZIP INT>)
           WITH (KAFKA_TOPIC='users', PARTITIONS=1, FORMAT='JSON');
         CREATE TABLE VIEWS_PER_USER AS SELECT USERID, COUNT(*) AS N FROM PAGEVIEWS GROUP BY USERID EMIT CHANGES;",
    )
    .unwrap();
    e
}

/// Runs `sql` (one statement) and renders its one result.
fn show(e: &mut Engine, sql: &str, format: OutputFormat) -> String {
    let mut results = e.execute(sql).unwrap();
    assert_eq!(results.len(), 1, "{sql}");
    let r = results.pop().unwrap();
    assert!(!matches!(r, StatementResult::PushQuery(_)));
    render::entity(&r, sql, format, WIDTH)
}

#[test]
fn listings_are_drawn_like_the_ksql_cli() {
    let mut e = engine();
    e.execute("DEFINE owner = 'ops'; CREATE TYPE ADDR AS STRUCT<CITY STRING>;").unwrap();
    let mut out = String::new();
    for sql in ["SHOW STREAMS;", "SHOW TABLES;", "SHOW TOPICS;", "SHOW QUERIES;", "SHOW VARIABLES;", "SHOW TYPES;"] {
        out.push_str(&format!("ksql> {sql}\n{}", show(&mut e, sql, OutputFormat::Tabular)));
    }
    insta::assert_snapshot!(out);
}

#[test]
fn statuses_are_one_message_table() {
    let mut e = engine();
    let out = show(&mut e, "CREATE STREAM S2 (A INT) WITH (KAFKA_TOPIC='s2', PARTITIONS=1, FORMAT='JSON');", OutputFormat::Tabular);
    insta::assert_snapshot!(out);
}

#[test]
fn describe_and_explain() {
    let mut e = engine();
    let mut out = String::new();
    for sql in ["DESCRIBE PAGEVIEWS;", "DESCRIBE USERS;", "DESCRIBE VIEWS_PER_USER EXTENDED;", "DESCRIBE FUNCTION SUBSTRING;"] {
        out.push_str(&format!("ksql> {sql}\n{}", show(&mut e, sql, OutputFormat::Tabular)));
    }
    insta::assert_snapshot!(out);
}

#[test]
fn query_rows_are_boxed_and_wrapped() {
    let schema = e_schema().expect("a push query");
    let mut out = render::row_header(&schema, 40);
    out.push_str(&render::row(&[Value::String("alice".into()), Value::Double(3.0), Value::Array(vec![Value::Int(1), Value::Null])], 40));
    out.push_str(&render::row(&[Value::String("a long value that wraps over lines".into()), Value::Double(0.25), Value::Struct(vec![("CITY".into(), Value::String("Paris".into()))])], 40));
    insta::assert_snapshot!(out);
}

/// The schema of a push query over PAGEVIEWS (`USERID`, `VIEWTIME` as a double, `TAGS`).
fn e_schema() -> Option<Vec<brook_sql_engine::engine::entities::FieldInfo>> {
    let mut e = engine();
    let r = e.execute("SELECT USERID, CAST(VIEWTIME AS DOUBLE) AS T, TAGS FROM PAGEVIEWS EMIT CHANGES;").unwrap().pop()?;
    match r {
        StatementResult::PushQuery(q) => Some(q.schema.clone()),
        _ => None,
    }
}

#[test]
fn json_output() {
    let mut e = engine();
    let mut out = show(&mut e, "SHOW STREAMS;", OutputFormat::Json);
    out.push_str(&show(&mut e, "CREATE STREAM S3 (A INT) WITH (KAFKA_TOPIC='s3', PARTITIONS=1, FORMAT='JSON');", OutputFormat::Json));
    out.push_str(&render::json_row(&[Value::Int(1), Value::String("x".into()), Value::Timestamp(0)]));
    insta::assert_snapshot!(out);
}

#[test]
fn values_print_as_java_prints_them() {
    let v = |x: Value| render::value_text(&x);
    assert_eq!(v(Value::Double(1.0)), "1.0");
    assert_eq!(v(Value::Double(1e7)), "1.0E7");
    assert_eq!(v(Value::Double(0.5)), "0.5");
    assert_eq!(v(Value::Null), "null");
    assert_eq!(v(Value::Map(vec![(Value::String("k".into()), Value::Int(1))])), "{k=1}");
    assert_eq!(v(Value::Timestamp(1_000)), "1970-01-01T00:00:01.000");
    assert_eq!(v(Value::Date(1)), "1970-01-02");
}

#[test]
fn the_banner() {
    insta::assert_snapshot!(super::repl::banner("0.1.0", "the embedded engine (data directory data)"));
}
