//! Live mode: persistent queries on KafkaStreams over the embedded broker.

use std::time::Duration;

use brook_broker::client::producer::{Producer, ProducerConfig, ProducerRecord};
use brook_sql_engine::Engine;

use crate::engine_support::{live_setup, sorted_lines, wait_for};

#[test]
fn csas_and_ctas_run_on_the_broker_and_bad_records_go_to_the_processing_log() {
    run_live("at_least_once");
}

#[test]
fn exactly_once_v2_queries_run_on_the_broker() {
    run_live("exactly_once_v2");
}

fn run_live(guarantee: &str) {
    let (rt, _dir, broker, mut config) = live_setup(2);
    let _guard = rt.enter();
    config.properties.insert("ksql.streams.processing.guarantee".into(), guarantee.into());
    let mut e = Engine::new(config).unwrap();
    e.execute("CREATE STREAM S (ID INT KEY, K STRING, V INT) WITH (KAFKA_TOPIC='s', PARTITIONS=2, FORMAT='JSON');").unwrap();
    e.execute("CREATE STREAM BIG AS SELECT ID, K, V FROM S WHERE V > 1;").unwrap();
    e.execute("CREATE TABLE COUNTS AS SELECT K, COUNT(*) AS N FROM S GROUP BY K;").unwrap();
    assert_eq!(broker.partition_count("BIG", false).unwrap(), 2, "sink partitions default to the source's");

    let producer = Producer::new(broker.clone(), ProducerConfig::default()).unwrap();
    let send = |k: &str, v: &str| {
        producer.send(ProducerRecord { timestamp: Some(1_000), ..ProducerRecord::new("s", Some(k.as_bytes().to_vec()), Some(v.as_bytes().to_vec())) });
        producer.flush();
    };
    send("1", r#"{"K":"a","V":5}"#);
    send("2", r#"{"K":"b","V":1}"#);
    send("3", r#"{"K":"a","V":7}"#);
    wait_for("BIG", || e.read_output("BIG").unwrap().len() == 2);
    assert_eq!(sorted_lines(&e, "BIG"), vec![r#"1 | {"K":"a","V":5}"#, r#"3 | {"K":"a","V":7}"#]);
    wait_for("COUNTS", || sorted_lines(&e, "COUNTS").contains(&r#""a" | {"N":2}"#.to_owned()));
    assert!(sorted_lines(&e, "COUNTS").contains(&r#""b" | {"N":1}"#.to_owned()));
    match e.execute("SELECT K, N FROM COUNTS WHERE K = 'a';").unwrap().remove(0) {
        brook_sql_engine::StatementResult::Rows { rows, .. } => {
            assert_eq!(rows, vec![vec![brook_sql_engine::Value::String("a".into()), brook_sql_engine::Value::BigInt(2)]])
        }
        other => panic!("{other:?}"),
    }

    // A record that does not deserialize is logged and skipped; the queries keep running.
    send("4", "{oops");
    wait_for("processing log", || !e.read_output("default_ksql_processing_log").unwrap().is_empty());
    let entry: serde_json::Value = serde_json::from_slice(e.read_output("default_ksql_processing_log").unwrap()[0].value.as_ref().unwrap()).unwrap();
    assert_eq!(entry["message"]["type"], 0);
    assert_eq!(entry["message"]["deserializationError"]["topic"], "s");
    // A push query sees what is produced after it starts.
    let mut push = match e.execute("SELECT ID, V FROM S WHERE V > 8 EMIT CHANGES LIMIT 1;").unwrap().remove(0) {
        brook_sql_engine::StatementResult::PushQuery(p) => p,
        other => panic!("{other:?}"),
    };
    send("5", r#"{"K":"c","V":9}"#);
    wait_for("BIG after the bad record", || e.read_output("BIG").unwrap().len() == 3);
    assert_eq!(push.next_row(Duration::from_secs(30)), Some(vec![brook_sql_engine::Value::Int(5), brook_sql_engine::Value::Int(9)]));
    assert!(push.is_complete());
    push.close();
    assert!(e.query_error_count("CSAS_BIG_0") >= 1);
    e.execute("TERMINATE ALL;").unwrap();
    drop(e);
    rt.block_on(broker.shutdown());
}

/// As ksqlDB: a persistent query starts from the end of its source (`auto.offset.reset` is
/// `latest`) unless the session sets `earliest`.
#[test]
fn persistent_queries_start_from_the_end_unless_set_to_earliest() {
    let (rt, _dir, broker, config) = live_setup(2);
    let _guard = rt.enter();
    let mut e = Engine::new(config).unwrap();
    e.execute("CREATE STREAM S (ID INT KEY, V INT) WITH (KAFKA_TOPIC='s', PARTITIONS=1, FORMAT='JSON');").unwrap();
    e.execute("INSERT INTO S (ID, V) VALUES (1, 10);").unwrap();
    e.execute("CREATE STREAM FROM_END AS SELECT * FROM S;").unwrap();
    e.execute("SET 'auto.offset.reset'='earliest';").unwrap();
    e.execute("CREATE STREAM FROM_START AS SELECT * FROM S;").unwrap();
    e.execute("INSERT INTO S (ID, V) VALUES (2, 20);").unwrap();
    wait_for("FROM_START", || e.read_output("FROM_START").unwrap().len() == 2);
    wait_for("FROM_END", || !e.read_output("FROM_END").unwrap().is_empty());
    assert_eq!(sorted_lines(&e, "FROM_END"), vec![r#"2 | {"V":20}"#]);
    assert_eq!(sorted_lines(&e, "FROM_START"), vec![r#"1 | {"V":10}"#, r#"2 | {"V":20}"#]);
    e.execute("TERMINATE ALL;").unwrap();
    drop(e);
    rt.block_on(broker.shutdown());
}
