//! Pull queries (no EMIT) over tables and streams.

use brook_sql_engine::{Engine, StatementResult};

use crate::engine_support::{engine, pipe};

fn rows(e: &mut Engine, sql: &str) -> (Vec<String>, Vec<String>) {
    match e.execute(sql).unwrap().remove(0) {
        StatementResult::Rows { schema, rows } => (
            schema.iter().map(|f| format!("{} {}", f.name, f.schema.type_name)).collect(),
            rows.iter().map(|r| format!("{r:?}")).collect(),
        ),
        other => panic!("{other:?}"),
    }
}

#[test]
fn pull_from_an_aggregate_table_by_key_and_by_scan() {
    let mut e = engine("CREATE STREAM S (ID INT KEY, K STRING, V INT) WITH (KAFKA_TOPIC='s', FORMAT='JSON');
CREATE TABLE T AS SELECT K, SUM(V) AS TOTAL FROM S GROUP BY K;");
    pipe(&mut e, "s", &[(Some("1"), Some(r#"{"K":"a","V":1}"#), 1), (Some("2"), Some(r#"{"K":"b","V":2}"#), 2), (Some("3"), Some(r#"{"K":"a","V":3}"#), 3)]);
    let (schema, r) = rows(&mut e, "SELECT * FROM T WHERE K = 'a';");
    assert_eq!(schema, vec!["K STRING", "TOTAL INTEGER"]);
    assert_eq!(r, vec![r#"[String("a"), Int(4)]"#]);
    let (_, r) = rows(&mut e, "SELECT K, TOTAL * 10 AS T10 FROM T;");
    assert_eq!(r, vec![r#"[String("a"), Int(40)]"#, r#"[String("b"), Int(20)]"#]);
}

#[test]
fn pull_from_a_source_table_sees_deletes() {
    let mut e = engine("CREATE TABLE U (ID INT PRIMARY KEY, NAME STRING) WITH (KAFKA_TOPIC='u', FORMAT='JSON');");
    pipe(&mut e, "u", &[(Some("1"), Some(r#"{"NAME":"one"}"#), 1), (Some("2"), Some(r#"{"NAME":"two"}"#), 2), (Some("1"), None, 3)]);
    let (_, r) = rows(&mut e, "SELECT ID, NAME FROM U;");
    assert_eq!(r, vec![r#"[Int(2), String("two")]"#]);
}

#[test]
fn pull_from_a_stream_scans_with_limit() {
    let mut e = engine("CREATE STREAM S (ID INT KEY, V INT) WITH (KAFKA_TOPIC='s', FORMAT='JSON');");
    pipe(&mut e, "s", &[(Some("1"), Some(r#"{"V":10}"#), 1), (Some("2"), Some(r#"{"V":20}"#), 2), (Some("3"), Some(r#"{"V":30}"#), 3)]);
    let (_, r) = rows(&mut e, "SELECT ID, ROWTIME FROM S WHERE V > 10 LIMIT 1;");
    assert_eq!(r, vec!["[Int(2), BigInt(2)]"]);
}

#[test]
fn pull_query_restrictions_are_ksqldbs() {
    let mut e = engine("CREATE STREAM S (ID INT KEY, V INT) WITH (KAFKA_TOPIC='s', FORMAT='JSON');");
    let err = e.execute("SELECT V, COUNT(*) FROM S GROUP BY V;").unwrap_err();
    assert_eq!(err.to_string(), "Pull queries don't support GROUP BY clauses.");
}
