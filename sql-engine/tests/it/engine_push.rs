//! Push queries (EMIT CHANGES) in test mode.

use std::time::Duration;

use brook_sql_engine::{Engine, StatementResult, Value};

use crate::engine_support::{engine, pipe};

fn push(e: &mut Engine, sql: &str) -> brook_sql_engine::engine::push::PushQuery {
    match e.execute(sql).unwrap().remove(0) {
        StatementResult::PushQuery(p) => p,
        other => panic!("{other:?}"),
    }
}

#[test]
fn push_query_streams_new_rows_until_its_limit() {
    let mut e = engine("CREATE STREAM S (ID INT KEY, V INT) WITH (KAFKA_TOPIC='s', FORMAT='JSON');");
    pipe(&mut e, "s", &[(Some("0"), Some(r#"{"V":99}"#), 1)]);
    let mut q = push(&mut e, "SELECT ID, V * 2 AS D FROM S WHERE V > 1 EMIT CHANGES LIMIT 2;");
    let names: Vec<&str> = q.schema.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(names, vec!["ID", "D"]);
    pipe(&mut e, "s", &[(Some("1"), Some(r#"{"V":1}"#), 2), (Some("2"), Some(r#"{"V":5}"#), 3), (Some("3"), Some(r#"{"V":6}"#), 4), (Some("4"), Some(r#"{"V":7}"#), 5)]);
    let t = Duration::from_secs(5);
    assert_eq!(q.next_row(t), Some(vec![Value::Int(2), Value::Int(10)]));
    assert_eq!(q.next_row(t), Some(vec![Value::Int(3), Value::Int(12)]));
    assert!(q.is_complete());
    assert_eq!(q.next_row(Duration::from_millis(10)), None);
}

#[test]
fn push_query_with_earliest_replays_the_topic() {
    let mut e = engine("CREATE STREAM S (ID INT KEY, V INT) WITH (KAFKA_TOPIC='s', FORMAT='JSON');");
    pipe(&mut e, "s", &[(Some("0"), Some(r#"{"V":1}"#), 1)]);
    e.execute("SET 'auto.offset.reset'='earliest';").unwrap();
    let mut q = push(&mut e, "SELECT * FROM S EMIT CHANGES;");
    assert_eq!(q.next_row(Duration::from_secs(5)), Some(vec![Value::Int(0), Value::Int(1)]));
}

#[test]
fn push_query_over_an_aggregation_emits_each_update() {
    let mut e = engine("CREATE STREAM S (ID INT KEY, K STRING) WITH (KAFKA_TOPIC='s', FORMAT='JSON');");
    let mut q = push(&mut e, "SELECT K, COUNT(*) AS C FROM S GROUP BY K EMIT CHANGES;");
    pipe(&mut e, "s", &[(Some("1"), Some(r#"{"K":"a"}"#), 1), (Some("2"), Some(r#"{"K":"a"}"#), 2)]);
    let t = Duration::from_secs(5);
    assert_eq!(q.next_row(t), Some(vec![Value::String("a".into()), Value::BigInt(1)]));
    assert_eq!(q.next_row(t), Some(vec![Value::String("a".into()), Value::BigInt(2)]));
    q.close();
}
