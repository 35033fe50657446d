//! Push queries (EMIT CHANGES) in test mode.

use std::time::Duration;

use brook_sql_engine::{Engine, Row, StatementResult, Value};

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

/// Live mode with a producer: `(runtime guard kept by the caller, engine, send(key, value))`.
fn live_engine(statements: &str) -> (tokio::runtime::Runtime, tempfile::TempDir, brook_broker::Broker, Engine) {
    let (rt, dir, broker, config) = crate::engine_support::live_setup(1);
    let e = {
        let _guard = rt.enter();
        let mut e = Engine::new(config).unwrap();
        e.execute(statements).unwrap();
        e
    };
    (rt, dir, broker, e)
}

fn produce(broker: &brook_broker::Broker, topic: &str, records: &[(String, String)]) {
    use brook_broker::client::producer::{Producer, ProducerConfig, ProducerRecord};
    let producer = Producer::new(broker.clone(), ProducerConfig::default()).unwrap();
    for (k, v) in records {
        producer.send(ProducerRecord { timestamp: Some(1_000), ..ProducerRecord::new(topic, Some(k.as_bytes().to_vec()), Some(v.as_bytes().to_vec())) });
    }
    producer.flush();
}

fn numbered(n: usize) -> Vec<(String, String)> {
    (0..n).map(|i| (i.to_string(), format!(r#"{{"V":{i}}}"#))).collect()
}

/// Many stateless push queries on one stream share one reader; each gets every row it selects,
/// in the order of the topic, through its own filter and projection.
#[test]
fn shared_push_queries_each_get_every_row_in_order() {
    let (rt, _dir, broker, mut e) = live_engine("CREATE STREAM S (ID INT KEY, V INT) WITH (KAFKA_TOPIC='s', PARTITIONS=1, FORMAT='JSON');");
    let _guard = rt.enter();
    let mut all: Vec<_> = (0..40).map(|_| push(&mut e, "SELECT V FROM S EMIT CHANGES;")).collect();
    let mut even = push(&mut e, "SELECT ID, V * 10 AS T FROM S WHERE V % 2 = 0 EMIT CHANGES LIMIT 5;");
    assert!(all.iter().all(|q| q.is_shared()) && even.is_shared());
    let feeds = e.shared_push_feeds();
    assert_eq!(feeds.len(), 1, "one reader for the source: {feeds:?}");
    assert_eq!(feeds[0].subscribers, 41);
    let n = 300;
    produce(&broker, "s", &numbered(n));
    let want: Vec<Value> = (0..n).map(|i| Value::Int(i as i32)).collect();
    for q in &mut all {
        let got: Vec<Value> = (0..n).map(|_| q.next_row(Duration::from_secs(30)).expect("a row").remove(0)).collect();
        assert_eq!(got, want);
        assert_eq!(q.next_row(Duration::from_millis(10)), None);
        assert!(!q.is_ended());
    }
    let got: Vec<Row> = (0..5).map(|_| even.next_row(Duration::from_secs(30)).expect("a row")).collect();
    let want: Vec<Row> = (0..5).map(|i| vec![Value::Int(i * 2), Value::Int(i * 20)]).collect();
    assert_eq!(got, want);
    assert!(even.is_complete());
    assert_eq!(even.next_row(Duration::from_millis(10)), None);
    assert_eq!(even.error(), None);
    assert_eq!(e.shared_push_feeds()[0].subscribers, 40, "a query at its LIMIT leaves the reader");
    // The reader stops when the last subscriber leaves.
    drop(all);
    drop(even);
    crate::engine_support::wait_for("the reader to stop", || e.shared_push_feeds().is_empty());
    drop(e);
    rt.block_on(broker.shutdown());
}

/// A subscriber that never reads is dropped once it is `max.lag.rows` behind for longer than
/// `max.stall.ms`; the buffer never holds more than the lag bound, and the others get every row.
#[test]
fn a_shared_push_query_that_never_reads_is_dropped_and_the_others_keep_their_rows() {
    let (rt, _dir, broker, mut e) = live_engine("CREATE STREAM S (ID INT KEY, V INT) WITH (KAFKA_TOPIC='s', PARTITIONS=2, FORMAT='JSON');");
    let _guard = rt.enter();
    e.execute("SET 'ksql.query.push.shared.max.lag.rows'='50'; SET 'ksql.query.push.shared.max.stall.ms'='1000';").unwrap();
    let mut reader = push(&mut e, "SELECT V FROM S EMIT CHANGES;");
    let mut idle = push(&mut e, "SELECT V FROM S EMIT CHANGES;");
    let n = 2_000;
    let reading = std::thread::spawn(move || {
        let mut got: Vec<i32> = (0..n)
            .map(|_| match reader.next_row(Duration::from_secs(30)).unwrap_or_else(|| panic!("a row; ended: {:?}", reader.error())).remove(0) {
                Value::Int(v) => v,
                other => panic!("{other:?}"),
            })
            .collect();
        got.sort_unstable();
        got
    });
    produce(&broker, "s", &numbered(n));
    let mut most = 0;
    while !reading.is_finished() {
        let buffered = e.shared_push_feeds().iter().map(|f| f.buffered_rows).max().unwrap_or(0);
        assert!(buffered <= 50, "the feed holds {buffered} rows, more than its lag bound");
        most = most.max(buffered);
        std::thread::sleep(Duration::from_millis(1));
    }
    assert_eq!(reading.join().unwrap(), (0..n as i32).collect::<Vec<_>>());
    assert!(most > 0, "the idle subscriber held rows back for a while");
    assert_eq!(idle.next_row(Duration::from_secs(5)), None);
    assert!(idle.is_ended());
    let error = idle.error().expect("dropped with an error");
    assert!(error.contains("slow or stalled client"), "{error}");
    drop(e);
    rt.block_on(broker.shutdown());
}

/// Aggregations and `auto.offset.reset=earliest` keep their own topology; a table's changes
/// are shared.
#[test]
fn only_stateless_push_queries_from_the_end_are_shared() {
    let (rt, _dir, broker, mut e) = live_engine(
        "CREATE STREAM S (ID INT KEY, K STRING, V INT) WITH (KAFKA_TOPIC='s', PARTITIONS=1, FORMAT='JSON');
         CREATE TABLE T (ID INT PRIMARY KEY, V INT) WITH (KAFKA_TOPIC='t', PARTITIONS=1, FORMAT='JSON');",
    );
    let _guard = rt.enter();
    let agg = push(&mut e, "SELECT K, COUNT(*) AS C FROM S GROUP BY K EMIT CHANGES;");
    assert!(!agg.is_shared());
    let mut table = push(&mut e, "SELECT ID, V FROM T WHERE V > 1 EMIT CHANGES;");
    assert!(table.is_shared());
    e.execute("SET 'auto.offset.reset'='earliest';").unwrap();
    let replay = push(&mut e, "SELECT V FROM S EMIT CHANGES;");
    assert!(!replay.is_shared());
    produce(&broker, "t", &[("1".into(), r#"{"V":1}"#.into()), ("1".into(), r#"{"V":5}"#.into()), ("2".into(), r#"{"V":7}"#.into())]);
    assert_eq!(table.next_row(Duration::from_secs(30)), Some(vec![Value::Int(1), Value::Int(5)]));
    assert_eq!(table.next_row(Duration::from_secs(30)), Some(vec![Value::Int(2), Value::Int(7)]));
    drop((agg, table, replay));
    drop(e);
    rt.block_on(broker.shutdown());
}
