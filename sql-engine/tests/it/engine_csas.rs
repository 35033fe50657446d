//! CSAS through test mode: projections, filters, pseudo-columns, key handling, bad records.

use brook_sql_engine::Error;

use crate::engine_support::{engine, lines, pipe, status};

const INPUT: &str = "CREATE STREAM INPUT (ID INT KEY, NAME STRING, PRICE DOUBLE) WITH (KAFKA_TOPIC='input', FORMAT='JSON');";

#[test]
fn filter_and_project_json() {
    let mut e = engine(INPUT);
    let r = e.execute("CREATE STREAM OUTPUT AS SELECT ID, NAME, PRICE * 2 AS DOUBLED FROM INPUT WHERE PRICE > 10;").unwrap();
    assert_eq!(status(&r[0]), "Created query with ID CSAS_OUTPUT_0");
    pipe(
        &mut e,
        "input",
        &[
            (Some("1"), Some(r#"{"NAME":"a","PRICE":20.5}"#), 100),
            (Some("2"), Some(r#"{"NAME":"b","PRICE":5}"#), 200),
            (Some("3"), Some(r#"{"NAME":"c","PRICE":11}"#), 300),
        ],
    );
    insta::assert_snapshot!(lines(&e, "OUTPUT").join("\n"), @r###"
    1 | {"NAME":"a","DOUBLED":41.0} | 100
    3 | {"NAME":"c","DOUBLED":22.0} | 300
    "###);
}

#[test]
fn pseudo_columns_and_generated_names() {
    let mut e = engine(INPUT);
    e.execute("CREATE STREAM OUTPUT AS SELECT ID, ROWTIME AS TS, ROWPARTITION AS P, ROWOFFSET AS O, UCASE(NAME) FROM INPUT;").unwrap();
    pipe(&mut e, "input", &[(Some("7"), Some(r#"{"NAME":"x","PRICE":1}"#), 1234), (Some("8"), Some(r#"{"NAME":"y","PRICE":1}"#), 1235)]);
    insta::assert_snapshot!(lines(&e, "OUTPUT").join("\n"), @r###"
    7 | {"TS":1234,"P":0,"O":0,"KSQL_COL_0":"X"} | 1234
    8 | {"TS":1235,"P":0,"O":1,"KSQL_COL_0":"Y"} | 1235
    "###);
}

#[test]
fn select_star_keeps_key_and_value_columns() {
    let mut e = engine(INPUT);
    e.execute("CREATE STREAM COPY AS SELECT * FROM INPUT;").unwrap();
    pipe(&mut e, "input", &[(Some("1"), Some(r#"{"NAME":"a","PRICE":2.5}"#), 10)]);
    assert_eq!(lines(&e, "COPY"), vec![r#"1 | {"NAME":"a","PRICE":2.5} | 10"#]);
    let d = e.catalog().source("COPY").unwrap();
    let cols: Vec<String> = d.schema.columns.iter().map(|c| format!("{} {} {:?}", c.name, c.ty, c.namespace)).collect();
    assert_eq!(cols, vec!["ID INTEGER Key", "NAME STRING Value", "PRICE DOUBLE Value"]);
}

#[test]
fn chained_queries_pipe_through_topics() {
    let mut e = engine(INPUT);
    e.execute("CREATE STREAM A AS SELECT ID, PRICE FROM INPUT WHERE PRICE > 1; CREATE STREAM B AS SELECT ID, PRICE + 1 AS P FROM A;").unwrap();
    pipe(&mut e, "input", &[(Some("1"), Some(r#"{"NAME":"a","PRICE":2}"#), 10), (Some("2"), Some(r#"{"NAME":"a","PRICE":0}"#), 11)]);
    assert_eq!(lines(&e, "B"), vec![r#"1 | {"P":3.0} | 10"#]);
    let ids: Vec<String> = e.catalog().queries().map(|q| q.id.clone()).collect();
    assert_eq!(ids, vec!["CSAS_A_0", "CSAS_B_1"]);
}

#[test]
fn bad_records_go_to_the_processing_log_and_the_query_goes_on() {
    let mut e = engine(INPUT);
    e.execute("CREATE STREAM OUTPUT AS SELECT ID, NAME FROM INPUT;").unwrap();
    pipe(&mut e, "input", &[(Some("1"), Some("{not json"), 1), (Some("2"), Some(r#"{"NAME":"ok","PRICE":1}"#), 2)]);
    assert_eq!(lines(&e, "OUTPUT"), vec![r#"2 | {"NAME":"ok"} | 2"#]);
    assert_eq!(e.query_error_count("CSAS_OUTPUT_0"), 1);
    let log = e.read_output("default_ksql_processing_log").unwrap();
    assert_eq!(log.len(), 1);
    let entry: serde_json::Value = serde_json::from_slice(log[0].value.as_ref().unwrap()).unwrap();
    assert_eq!(entry["logger"], "processing.CSAS_OUTPUT_0.KsqlTopic.Source.deserializer");
    assert_eq!(entry["message"]["type"], 0);
    assert_eq!(entry["message"]["deserializationError"]["topic"], "input");
}

#[test]
fn failing_expression_yields_null_and_is_logged() {
    let mut e = engine("CREATE STREAM N (ID INT KEY, A INT, B INT) WITH (KAFKA_TOPIC='n', FORMAT='JSON');");
    e.execute("CREATE STREAM Q AS SELECT ID, A / B AS R FROM N;").unwrap();
    pipe(&mut e, "n", &[(Some("1"), Some(r#"{"A":4,"B":0}"#), 1), (Some("2"), Some(r#"{"A":4,"B":2}"#), 2)]);
    assert_eq!(lines(&e, "Q"), vec![r#"1 | {"R":null} | 1"#, r#"2 | {"R":2} | 2"#]);
    assert_eq!(e.query_error_count("CSAS_Q_0"), 1);
}

#[test]
fn partition_by_sets_the_key() {
    let mut e = engine(INPUT);
    e.execute("CREATE STREAM BYNAME AS SELECT NAME, ID, PRICE FROM INPUT PARTITION BY NAME;").unwrap();
    pipe(&mut e, "input", &[(Some("1"), Some(r#"{"NAME":"a","PRICE":1}"#), 5)]);
    assert_eq!(lines(&e, "BYNAME"), vec![r#""a" | {"ID":1,"PRICE":1.0} | 5"#]);
}

#[test]
fn key_missing_from_projection_is_ksqldb_error() {
    let mut e = engine(INPUT);
    let err = e.execute("CREATE STREAM OUTPUT AS SELECT NAME FROM INPUT;").unwrap_err();
    assert!(matches!(err, Error::Analysis(_)));
    assert!(err.to_string().contains("The query used to build `OUTPUT` must include the key column ID in its projection (eg, SELECT ID...)."), "{err}");
}

#[test]
fn ctas_over_a_stream_without_group_by_is_rejected() {
    let mut e = engine(INPUT);
    let err = e.execute("CREATE TABLE T AS SELECT ID, NAME FROM INPUT;").unwrap_err();
    assert_eq!(err.to_string(), "Invalid result type. Your SELECT query produces a STREAM. Please use CREATE STREAM AS SELECT statement instead.");
}

#[test]
fn insert_values_reaches_queries() {
    let mut e = engine(INPUT);
    e.execute("CREATE STREAM OUTPUT AS SELECT ID, NAME FROM INPUT;").unwrap();
    e.execute("INSERT INTO INPUT (ID, NAME, PRICE, ROWTIME) VALUES (5, 'five', 1.5, 42);").unwrap();
    assert_eq!(lines(&e, "OUTPUT"), vec![r#"5 | {"NAME":"five"} | 42"#]);
}

#[test]
fn insert_into_select_merges_streams() {
    let mut e = engine(INPUT);
    e.execute("CREATE STREAM OTHER (ID INT KEY, NAME STRING, PRICE DOUBLE) WITH (KAFKA_TOPIC='other', FORMAT='JSON');").unwrap();
    e.execute("CREATE STREAM ALLP AS SELECT ID, PRICE FROM INPUT;").unwrap();
    let r = e.execute("INSERT INTO ALLP SELECT ID, PRICE FROM OTHER;").unwrap();
    assert_eq!(status(&r[0]), "Created query with ID INSERTQUERY_1");
    pipe(&mut e, "input", &[(Some("1"), Some(r#"{"PRICE":1}"#), 1)]);
    pipe(&mut e, "other", &[(Some("2"), Some(r#"{"PRICE":2}"#), 2)]);
    assert_eq!(lines(&e, "ALLP"), vec![r#"1 | {"PRICE":1.0} | 1"#, r#"2 | {"PRICE":2.0} | 2"#]);
}

#[test]
fn terminate_stops_the_query_and_drop_checks_references() {
    let mut e = engine(INPUT);
    e.execute("CREATE STREAM OUTPUT AS SELECT ID, NAME FROM INPUT;").unwrap();
    let err = e.execute("DROP STREAM OUTPUT;").unwrap_err();
    assert_eq!(
        err.to_string(),
        "Cannot drop OUTPUT.\nThe following queries read from this source: [].\nThe following queries write into this source: [CSAS_OUTPUT_0].\nYou need to terminate them before dropping OUTPUT."
    );
    e.execute("TERMINATE CSAS_OUTPUT_0;").unwrap();
    pipe(&mut e, "input", &[(Some("1"), Some(r#"{"NAME":"a"}"#), 1)]);
    assert!(lines(&e, "OUTPUT").is_empty());
    let r = e.execute("DROP STREAM OUTPUT;").unwrap();
    assert_eq!(status(&r[0]), "Source `OUTPUT` (topic: OUTPUT) was dropped.");
}

#[test]
fn the_processing_log_stream_is_queryable() {
    let mut e = engine(INPUT);
    e.execute("CREATE STREAM OUTPUT AS SELECT ID, NAME FROM INPUT;").unwrap();
    e.execute("CREATE STREAM ERRORS AS SELECT LOGGER, MESSAGE->TYPE AS T, MESSAGE->DESERIALIZATIONERROR->`TOPIC` AS SRC FROM KSQL_PROCESSING_LOG;").unwrap();
    pipe(&mut e, "input", &[(Some("1"), Some("[1,"), 1)]);
    let out = lines(&e, "ERRORS");
    assert_eq!(out.len(), 1);
    assert!(out[0].starts_with(r#"<null> | {"LOGGER":"processing.CSAS_OUTPUT_0.KsqlTopic.Source.deserializer","T":0,"SRC":"input"} | "#), "{}", out[0]);
}

#[test]
fn keyless_streams_ignore_the_key_and_write_null_keys() {
    let mut e = engine("CREATE STREAM NK (V INT) WITH (KAFKA_TOPIC='nk', VALUE_FORMAT='JSON');");
    e.execute("CREATE STREAM NK2 AS SELECT V + 1 AS W FROM NK;").unwrap();
    pipe(&mut e, "nk", &[(Some("whatever"), Some(r#"{"V":1}"#), 1), (None, Some(r#"{"V":2}"#), 2)]);
    assert_eq!(lines(&e, "NK2"), vec![r#"<null> | {"W":2} | 1"#, r#"<null> | {"W":3} | 2"#]);
}

#[test]
fn ctas_projecting_a_table_keeps_deletes() {
    let mut e = engine("CREATE TABLE TB (ID INT PRIMARY KEY, NAME STRING, N INT) WITH (KAFKA_TOPIC='tb', FORMAT='JSON');");
    e.execute("CREATE TABLE TB2 AS SELECT ID, UCASE(NAME) AS UP FROM TB WHERE N > 0;").unwrap();
    pipe(&mut e, "tb", &[(Some("1"), Some(r#"{"NAME":"a","N":1}"#), 1), (Some("1"), Some(r#"{"NAME":"a","N":0}"#), 2), (Some("2"), Some(r#"{"NAME":"b","N":5}"#), 3), (Some("2"), None, 4)]);
    insta::assert_snapshot!(lines(&e, "TB2").join("\n"), @r###"
    1 | {"UP":"A"} | 1
    1 | <null> | 2
    2 | {"UP":"B"} | 3
    2 | <null> | 4
    "###);
}

#[test]
fn timestamp_column_sets_rowtime() {
    let mut e = engine("CREATE STREAM TS (ID INT KEY, T BIGINT, V INT) WITH (KAFKA_TOPIC='ts', FORMAT='JSON', TIMESTAMP='T');");
    e.execute("CREATE STREAM TS2 AS SELECT ID, V, ROWTIME AS RT FROM TS;").unwrap();
    pipe(&mut e, "ts", &[(Some("1"), Some(r#"{"T":5000,"V":1}"#), 1)]);
    assert_eq!(lines(&e, "TS2"), vec![r#"1 | {"V":1,"RT":5000} | 5000"#]);
}

#[test]
fn string_timestamp_column_with_format() {
    let mut e = engine("CREATE STREAM TSF (ID INT KEY, T STRING, V INT) WITH (KAFKA_TOPIC='tsf', FORMAT='JSON', TIMESTAMP='T', TIMESTAMP_FORMAT='yyyy-MM-dd HH:mm:ss');");
    e.execute("CREATE STREAM TSF2 AS SELECT ID, V FROM TSF;").unwrap();
    pipe(&mut e, "tsf", &[(Some("1"), Some(r#"{"T":"1970-01-01 00:00:10","V":1}"#), 1), (Some("2"), Some(r#"{"T":"not a time","V":2}"#), 2)]);
    assert_eq!(lines(&e, "TSF2"), vec![r#"1 | {"V":1} | 10000"#]);
}

#[test]
fn explode_emits_one_row_per_element() {
    let mut e = engine("CREATE STREAM AR (ID INT KEY, XS ARRAY<INT>, YS ARRAY<STRING>) WITH (KAFKA_TOPIC='ar', FORMAT='JSON');");
    e.execute("CREATE STREAM EX AS SELECT ID, EXPLODE(XS) AS X, EXPLODE(YS) AS Y FROM AR;").unwrap();
    pipe(&mut e, "ar", &[(Some("1"), Some(r#"{"XS":[1,2,3],"YS":["a"]}"#), 1), (Some("2"), Some(r#"{"XS":[],"YS":null}"#), 2)]);
    assert_eq!(lines(&e, "EX"), vec![r#"1 | {"X":1,"Y":"a"} | 1"#, r#"1 | {"X":2,"Y":null} | 1"#, r#"1 | {"X":3,"Y":null} | 1"#]);
}

#[test]
fn partition_by_several_expressions_makes_a_multi_column_key() {
    let mut e = engine(INPUT);
    e.execute("CREATE STREAM P2 AS SELECT NAME, ID * 10 AS ID10, PRICE FROM INPUT PARTITION BY NAME, ID * 10;").unwrap();
    pipe(&mut e, "input", &[(Some("1"), Some(r#"{"NAME":"a","PRICE":1}"#), 5)]);
    assert_eq!(lines(&e, "P2"), vec![r#"{"NAME":"a","ID10":10} | {"PRICE":1.0} | 5"#]);
}

#[test]
fn structs_and_expressions_in_projections() {
    let mut e = engine("CREATE STREAM ST (ID INT KEY, S STRUCT<A INT, B STRING>) WITH (KAFKA_TOPIC='st', FORMAT='JSON');");
    e.execute("CREATE STREAM ST2 AS SELECT ID, S->A + 1 AS A1, S->B, CASE WHEN S->A > 1 THEN 'big' ELSE 'small' END AS SIZE_ FROM ST;").unwrap();
    pipe(&mut e, "st", &[(Some("1"), Some(r#"{"S":{"A":2,"B":"x"}}"#), 1)]);
    assert_eq!(lines(&e, "ST2"), vec![r#"1 | {"A1":3,"B":"x","SIZE_":"big"} | 1"#]);
}

#[test]
fn alter_stream_adds_value_columns() {
    let mut e = engine(INPUT);
    let r = e.execute("ALTER STREAM INPUT ADD COLUMN QTY INT;").unwrap();
    assert_eq!(status(&r[0]), "Stream INPUT altered.");
    e.execute("CREATE STREAM Q AS SELECT ID, QTY FROM INPUT;").unwrap();
    pipe(&mut e, "input", &[(Some("1"), Some(r#"{"NAME":"a","QTY":4}"#), 1)]);
    assert_eq!(lines(&e, "Q"), vec![r#"1 | {"QTY":4} | 1"#]);
    let err = e.execute("ALTER STREAM Q ADD COLUMN X INT;").unwrap_err();
    assert_eq!(err.to_string(), "ALTER command is not supported for CREATE ... AS statements.");
    let err = e.execute("ALTER STREAM INPUT ADD COLUMN NAME STRING;").unwrap_err();
    assert_eq!(err.to_string(), "Cannot add column NAME to schema. A column with the same name already exists.");
}

#[test]
fn kafka_single_null_values_are_written_as_null_records() {
    let mut e = engine(INPUT);
    e.execute("CREATE STREAM KV WITH (VALUE_FORMAT='KAFKA') AS SELECT ID, NAME FROM INPUT;").unwrap();
    pipe(&mut e, "input", &[(Some("1"), Some(r#"{"NAME":"a"}"#), 1), (Some("2"), Some(r#"{"PRICE":1}"#), 2)]);
    assert_eq!(lines(&e, "KV"), vec!["1 | a | 1", "2 | <null> | 2"]);
}

#[test]
fn run_script_runs_every_statement() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.sql");
    std::fs::write(&path, "CREATE STREAM RS (ID INT KEY, V INT) WITH (KAFKA_TOPIC='rs', FORMAT='JSON');\nCREATE STREAM RS2 AS SELECT * FROM RS;\n").unwrap();
    let mut e = engine("");
    let r = e.execute(&format!("RUN SCRIPT '{}';", path.display())).unwrap();
    assert_eq!(status(&r[0]), "Created query with ID CSAS_RS2_0");
    assert!(e.catalog().source("RS").is_some());
    assert_eq!(e.query_state("CSAS_RS2_0").map(|s| s.as_str()), Some("RUNNING"));
}
