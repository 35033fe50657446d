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

/// Live mode: more rows than the push queue holds arrive while nobody reads; the full queue
/// holds the query back instead of dropping rows or growing, and every row is delivered once read.
#[test]
fn a_live_push_query_holds_back_on_a_full_queue_and_loses_nothing() {
    use brook_sql_engine::engine::push::PUSH_QUEUE_ROWS;
    let (rt, _dir, _broker, config) = crate::engine_support::live_setup(1);
    let _guard = rt.enter();
    let mut e = Engine::new(config).unwrap();
    e.execute("CREATE STREAM S (ID INT KEY, V INT) WITH (KAFKA_TOPIC='s', PARTITIONS=1, FORMAT='JSON');").unwrap();
    let n = PUSH_QUEUE_ROWS * 2 + 7;
    let records: Vec<(String, String)> = (0..n).map(|i| (i.to_string(), format!(r#"{{"V":{i}}}"#))).collect();
    let input: Vec<(Option<&str>, Option<&str>, i64)> = records.iter().map(|(k, v)| (Some(k.as_str()), Some(v.as_str()), 1)).collect();
    pipe(&mut e, "s", &input);
    e.execute("SET 'auto.offset.reset'='earliest';").unwrap();
    let mut q = push(&mut e, "SELECT V FROM S EMIT CHANGES;");
    let got: Vec<Value> = (0..n).map(|_| q.next_row(Duration::from_secs(30)).expect("a row").remove(0)).collect();
    let want: Vec<Value> = (0..n).map(|i| Value::Int(i as i32)).collect();
    assert_eq!(got, want);
    q.close();
}
