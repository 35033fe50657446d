//! Pull queries (no EMIT) over tables and streams.

use brook_sql_engine::{Engine, StatementResult};

use crate::engine_support::{engine, live_setup, pipe, wait_for};

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
    let mut e = engine("CREATE SOURCE TABLE U (ID INT PRIMARY KEY, NAME STRING) WITH (KAFKA_TOPIC='u', FORMAT='JSON');");
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
    assert_eq!(err.to_string(), "Pull queries don't support GROUP BY clauses. See https://cnfl.io/queries for more info.\nAdd EMIT CHANGES if you intended to issue a push query.");
}

#[test]
fn pull_from_an_aggregation_reads_its_store_not_its_topic() {
    let mut e = engine("CREATE STREAM S (ID INT KEY, K STRING, V INT) WITH (KAFKA_TOPIC='s', FORMAT='JSON');
CREATE TABLE T AS SELECT K, SUM(V) AS TOTAL FROM S GROUP BY K HAVING SUM(V) > 1;");
    pipe(&mut e, "s", &[(Some("1"), Some(r#"{"K":"a","V":1}"#), 1), (Some("2"), Some(r#"{"K":"b","V":5}"#), 2)]);
    // A record written to the sink topic by someone else is not the table's state.
    pipe(&mut e, "T", &[(Some(r#""z""#), Some(r#"{"TOTAL":99}"#), 3)]);
    let (_, r) = rows(&mut e, "SELECT K, TOTAL, ROWTIME FROM T;");
    assert_eq!(r, vec![r#"[String("b"), Int(5), BigInt(2)]"#]);
}

/// Runs each pull query and renders its answer (schema, then one line per row) or its error,
/// for a golden file.
fn answers(e: &mut Engine, queries: &[&str]) -> String {
    let mut out = String::new();
    for q in queries {
        out.push_str(&format!("> {q}\n"));
        match e.execute(q) {
            Ok(mut r) => match r.remove(0) {
                StatementResult::Rows { schema, rows } => {
                    let names: Vec<String> = schema.iter().map(|f| format!("{} {}", f.name, f.schema.type_name)).collect();
                    out.push_str(&format!("{}\n", names.join(" | ")));
                    for row in rows {
                        out.push_str(&format!("{row:?}\n"));
                    }
                }
                other => panic!("{other:?}"),
            },
            Err(err) => out.push_str(&format!("ERROR {err}\n")),
        }
        out.push('\n');
    }
    out
}

const CLICKS: &str = "CREATE STREAM S (ID INT KEY, K STRING, V INT) WITH (KAFKA_TOPIC='s', FORMAT='JSON');";

fn clicks(e: &mut Engine) {
    pipe(
        e,
        "s",
        &[
            (Some("1"), Some(r#"{"K":"a","V":1}"#), 1_000),
            (Some("2"), Some(r#"{"K":"a","V":2}"#), 2_000),
            (Some("3"), Some(r#"{"K":"b","V":3}"#), 3_000),
            (Some("4"), Some(r#"{"K":"a","V":4}"#), 12_000),
            (Some("5"), Some(r#"{"K":"a","V":5}"#), 25_000),
        ],
    );
}

#[test]
fn tumbling_windows_by_key_and_window_bounds() {
    let mut e = engine(&format!("{CLICKS}\nCREATE TABLE W AS SELECT K, COUNT(*) AS N, SUM(V) AS TOTAL FROM S WINDOW TUMBLING (SIZE 10 SECONDS) GROUP BY K;"));
    clicks(&mut e);
    insta::assert_snapshot!(
        "tumbling_windows",
        answers(
            &mut e,
            &[
                "SELECT * FROM W WHERE K = 'a';",
                "SELECT * FROM W WHERE K = 'a' AND WINDOWSTART >= 10000;",
                "SELECT K, WINDOWSTART, WINDOWEND, N FROM W WHERE K IN ('a', 'b') AND WINDOWSTART = 0;",
                "SELECT K, N FROM W WHERE K = 'a' AND WINDOWEND <= 20000;",
                "SELECT K, WINDOWSTART, TOTAL FROM W WHERE K = 'a' AND WINDOWSTART BETWEEN 5000 AND 15000;",
                "SELECT K, WINDOWSTART, TOTAL FROM W WHERE K = 'a' AND WINDOWSTART > '1970-01-01T00:00:05' AND WINDOWEND < 30000;",
                "SELECT K, WINDOWSTART, N FROM W WHERE N > 1;",
                "SELECT K, WINDOWSTART FROM W WHERE WINDOWSTART >= 10000 LIMIT 1;",
                "SELECT * FROM W WHERE K = 'nobody';",
                "SELECT * FROM W WHERE K = 'a' AND WINDOWSTART != 0;",
                "SELECT * FROM W WHERE K = 'a' AND WINDOWSTART > 0 AND WINDOWSTART >= 10;",
                "SELECT * FROM W WHERE K = 'a' AND WINDOWSTART = 0 AND WINDOWSTART < 10;",
                "SELECT * FROM W WHERE K = 'a' AND WINDOWEND > 'not a date';",
            ],
        )
    );
}

#[test]
fn hopping_and_session_windows_by_key_and_window_bounds() {
    let mut e = engine(&format!(
        "{CLICKS}
CREATE TABLE H AS SELECT K, COUNT(*) AS N FROM S WINDOW HOPPING (SIZE 10 SECONDS, ADVANCE BY 5 SECONDS) GROUP BY K;
CREATE TABLE SE AS SELECT K, SUM(V) AS TOTAL FROM S WINDOW SESSION (5 SECONDS) GROUP BY K;"
    ));
    clicks(&mut e);
    insta::assert_snapshot!(
        "hopping_and_session_windows",
        answers(
            &mut e,
            &[
                "SELECT * FROM H WHERE K = 'a';",
                "SELECT K, WINDOWSTART, N FROM H WHERE K = 'a' AND WINDOWSTART >= 5000 AND WINDOWEND <= 20000;",
                "SELECT * FROM SE WHERE K = 'a';",
                "SELECT * FROM SE WHERE K = 'a' AND WINDOWEND >= 10000;",
                "SELECT * FROM SE WHERE WINDOWSTART < 5000;",
            ],
        )
    );
}

#[test]
fn source_tables_answer_key_lookups_ranges_and_scans_from_their_store() {
    let mut e = engine("CREATE SOURCE TABLE U (ID INT PRIMARY KEY, NAME STRING, AGE INT) WITH (KAFKA_TOPIC='u', FORMAT='JSON');");
    pipe(
        &mut e,
        "u",
        &[
            (Some("1"), Some(r#"{"NAME":"ann","AGE":31}"#), 1),
            (Some("2"), Some(r#"{"NAME":"bob","AGE":25}"#), 2),
            (Some("3"), Some(r#"{"NAME":"cid","AGE":40}"#), 3),
            (Some("2"), Some(r#"{"NAME":"bob","AGE":26}"#), 4),
            (Some("3"), None, 5),
            (Some("4"), Some(r#"{"NAME":"dee","AGE":19}"#), 6),
        ],
    );
    insta::assert_snapshot!(
        "source_table",
        answers(
            &mut e,
            &[
                "SELECT * FROM U WHERE ID = 2;",
                "SELECT ID, NAME, ROWTIME FROM U WHERE ID IN (1, 3, 4);",
                "SELECT * FROM U WHERE ID = 3;",
                "SELECT NAME FROM U WHERE ID > 1 AND ID <= 4;",
                "SELECT ID, NAME FROM U WHERE AGE < 30 OR NAME = 'ann';",
                "SELECT ID FROM U LIMIT 2;",
                "SELECT ID, ROWOFFSET FROM U;",
                "SELECT ID FROM U WHERE ROWPARTITION = 0;",
                "SELECT * FROM U WHERE WINDOWSTART = 0;",
            ],
        )
    );
    let queries = match e.execute("SHOW QUERIES;").unwrap().remove(0) {
        StatementResult::Queries(q) => q.into_iter().map(|q| q.id).collect::<Vec<_>>(),
        other => panic!("{other:?}"),
    };
    assert_eq!(queries, vec!["CST_U_0"]);
    // Dropping the table ends its materialization.
    e.execute("DROP TABLE U;").unwrap();
    assert!(matches!(e.execute("SHOW QUERIES;").unwrap().remove(0), StatementResult::Queries(q) if q.is_empty()));
}

#[test]
fn multi_column_keys_are_looked_up_with_every_column() {
    let mut e = engine(&format!("{CLICKS}\nCREATE TABLE M AS SELECT K, ID, SUM(V) AS TOTAL FROM S GROUP BY K, ID;"));
    clicks(&mut e);
    insta::assert_snapshot!(
        "multi_column_keys",
        answers(
            &mut e,
            &[
                "SELECT * FROM M WHERE K = 'a' AND ID = 2;",
                "SELECT * FROM M WHERE K = 'a' AND ID IN (1, 4, 9);",
                "SELECT * FROM M WHERE K = 'a';",
                "SELECT * FROM M WHERE (K = 'a' AND ID = 1) OR (K = 'b' AND ID = 3);",
            ],
        )
    );
}

#[test]
fn a_table_no_query_materializes_is_refused_as_ksqldb_refuses_it() {
    let mut e = engine("CREATE TABLE U (ID INT PRIMARY KEY, NAME STRING) WITH (KAFKA_TOPIC='u', FORMAT='JSON');");
    let err = e.execute("SELECT * FROM U WHERE ID = 1;").unwrap_err();
    assert_eq!(
        err.to_string(),
        "The `U` table isn't queryable. To derive a queryable table, you can do 'CREATE TABLE QUERYABLE_U AS SELECT * FROM U'. See https://cnfl.io/queries for more info.\nAdd EMIT CHANGES if you intended to issue a push query."
    );
    // The table ksqlDB suggests is queryable: a projection, read from its query's store.
    e.execute("CREATE TABLE QUERYABLE_U AS SELECT * FROM U;").unwrap();
    pipe(&mut e, "u", &[(Some("1"), Some(r#"{"NAME":"ann"}"#), 1)]);
    let (_, r) = rows(&mut e, "SELECT * FROM QUERYABLE_U WHERE ID = 1;");
    assert_eq!(r, vec![r#"[Int(1), String("ann")]"#]);
}

#[test]
fn table_projections_and_filters_read_the_store_of_their_query_not_their_topic() {
    let mut e = engine(
        "CREATE SOURCE TABLE U (ID INT PRIMARY KEY, NAME STRING, AGE INT) WITH (KAFKA_TOPIC='u', FORMAT='JSON');
CREATE TABLE ADULTS AS SELECT ID, UCASE(NAME) AS NAME FROM U WHERE AGE >= 18;",
    );
    pipe(
        &mut e,
        "u",
        &[(Some("1"), Some(r#"{"NAME":"ann","AGE":31}"#), 1), (Some("2"), Some(r#"{"NAME":"kid","AGE":9}"#), 2), (Some("3"), Some(r#"{"NAME":"cid","AGE":40}"#), 3)],
    );
    // Someone else's record on the sink topic is not the table's state.
    pipe(&mut e, "ADULTS", &[(Some("9"), Some(r#"{"NAME":"ZED"}"#), 4)]);
    insta::assert_snapshot!(
        "table_projection",
        answers(&mut e, &["SELECT * FROM ADULTS;", "SELECT * FROM ADULTS WHERE ID = 2;", "SELECT NAME, ROWTIME FROM ADULTS WHERE ID IN (3, 9);"])
    );
}

/// In live mode a key lookup on a source table is a point get on the `CST_` query's store: it
/// still answers once every record of the topic is deleted.
#[test]
fn a_source_table_lookup_reads_the_store_not_the_topic() {
    let (rt, _dir, broker, mut config) = live_setup(2);
    let _guard = rt.enter();
    // The materialization reads what the topic holds when it starts (ksqlDB's default is `latest`).
    config.properties.insert("ksql.streams.auto.offset.reset".into(), "earliest".into());
    let mut e = Engine::new(config).unwrap();
    e.execute("CREATE SOURCE TABLE U (ID INT PRIMARY KEY, NAME STRING) WITH (KAFKA_TOPIC='u', PARTITIONS=2, FORMAT='JSON');").unwrap();
    let producer = brook_broker::client::producer::Producer::new(broker.clone(), brook_broker::client::producer::ProducerConfig::default()).unwrap();
    for (id, name) in [(1, "ann"), (2, "bob"), (3, "cid"), (4, "dee")] {
        producer.send(brook_broker::client::producer::ProducerRecord::new("u", Some(id.to_string().into_bytes()), Some(format!(r#"{{"NAME":"{name}"}}"#).into_bytes())));
    }
    producer.flush();
    let pull = |e: &mut Engine, sql: &str| match e.execute(sql) {
        Ok(mut r) => match r.remove(0) {
            StatementResult::Rows { rows, .. } => rows.iter().map(|r| format!("{r:?}")).collect::<Vec<_>>(),
            other => panic!("{other:?}"),
        },
        // The query may still be joining its group.
        Err(_) => vec![],
    };
    wait_for("the table's store", || pull(&mut e, "SELECT ID FROM U;").len() == 4);
    for p in 0..2 {
        broker.delete_records("u", p, -1).unwrap();
    }
    assert!(e.read_output("u").unwrap().is_empty(), "the topic still has records");
    assert_eq!(pull(&mut e, "SELECT ID, NAME FROM U WHERE ID = 3;"), vec![r#"[Int(3), String("cid")]"#]);
    assert_eq!(pull(&mut e, "SELECT NAME FROM U WHERE ID IN (1, 4);").len(), 2);
    assert_eq!(pull(&mut e, "SELECT ID FROM U WHERE NAME = 'bob';"), vec!["[Int(2)]"]);
    drop(e);
    rt.block_on(broker.shutdown());
}
