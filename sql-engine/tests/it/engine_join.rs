//! Joins through test mode.

use crate::engine_support::{engine, lines, pipe};

const LR: &str = "CREATE STREAM L (ID INT KEY, A STRING, X INT) WITH (KAFKA_TOPIC='l', FORMAT='JSON');
CREATE STREAM R (ID INT KEY, B STRING) WITH (KAFKA_TOPIC='r', FORMAT='JSON');";

#[test]
fn stream_stream_inner_join_within_window() {
    let mut e = engine(LR);
    e.execute("CREATE STREAM J AS SELECT L.ID, A, B FROM L JOIN R WITHIN 10 SECONDS ON L.ID = R.ID;").unwrap();
    pipe(&mut e, "l", &[(Some("1"), Some(r#"{"A":"a1"}"#), 1_000)]);
    pipe(&mut e, "r", &[(Some("1"), Some(r#"{"B":"b1"}"#), 5_000), (Some("1"), Some(r#"{"B":"late"}"#), 20_000), (Some("2"), Some(r#"{"B":"b2"}"#), 6_000)]);
    insta::assert_snapshot!(lines(&e, "J").join("\n"), @r###"
    1 | {"A":"a1","B":"b1"} | 5000
    "###);
    let key: Vec<String> = e.catalog().source("J").unwrap().schema.key().map(|c| c.name.clone()).collect();
    assert_eq!(key, vec!["L_ID"]);
}

#[test]
fn stream_stream_left_join_emits_unmatched_after_the_window() {
    let mut e = engine(LR);
    e.execute("CREATE STREAM J AS SELECT L.ID, A, B FROM L LEFT JOIN R WITHIN 1 SECOND GRACE PERIOD 0 SECONDS ON L.ID = R.ID;").unwrap();
    pipe(&mut e, "l", &[(Some("1"), Some(r#"{"A":"lonely"}"#), 1_000), (Some("2"), Some(r#"{"A":"later"}"#), 5_000)]);
    insta::assert_snapshot!(lines(&e, "J").join("\n"), @r###"
    1 | {"A":"lonely","B":null} | 1000
    "###);
}

#[test]
fn stream_stream_join_on_a_value_column_repartitions() {
    let mut e = engine(LR);
    // Both join expressions are projected: the left one (X) is the key (ksqlDB).
    e.execute("CREATE STREAM J AS SELECT R.ID, X, B FROM L JOIN R WITHIN 10 SECONDS ON L.X = R.ID;").unwrap();
    pipe(&mut e, "l", &[(Some("9"), Some(r#"{"A":"a","X":3}"#), 1_000)]);
    pipe(&mut e, "r", &[(Some("3"), Some(r#"{"B":"three"}"#), 2_000)]);
    insta::assert_snapshot!(lines(&e, "J").join("\n"), @r###"
    3 | {"R_ID":3,"B":"three"} | 2000
    "###);
}

#[test]
fn stream_table_left_join_looks_up_the_current_row() {
    let mut e = engine("CREATE STREAM O (ID INT KEY, CUSTOMER INT, AMOUNT INT) WITH (KAFKA_TOPIC='o', FORMAT='JSON');
CREATE TABLE C (ID INT PRIMARY KEY, NAME STRING) WITH (KAFKA_TOPIC='c', FORMAT='JSON');");
    e.execute("CREATE STREAM E AS SELECT O.CUSTOMER, AMOUNT, NAME FROM O LEFT JOIN C ON O.CUSTOMER = C.ID;").unwrap();
    pipe(&mut e, "o", &[(Some("1"), Some(r#"{"CUSTOMER":7,"AMOUNT":10}"#), 1)]);
    pipe(&mut e, "c", &[(Some("7"), Some(r#"{"NAME":"ann"}"#), 2)]);
    pipe(&mut e, "o", &[(Some("2"), Some(r#"{"CUSTOMER":7,"AMOUNT":20}"#), 3)]);
    insta::assert_snapshot!(lines(&e, "E").join("\n"), @r###"
    7 | {"AMOUNT":10,"NAME":null} | 1
    7 | {"AMOUNT":20,"NAME":"ann"} | 3
    "###);
}

#[test]
fn table_table_joins_on_the_primary_key() {
    let mut e = engine("CREATE TABLE A (ID INT PRIMARY KEY, X STRING) WITH (KAFKA_TOPIC='a', FORMAT='JSON');
CREATE TABLE B (ID INT PRIMARY KEY, Y STRING) WITH (KAFKA_TOPIC='b', FORMAT='JSON');");
    e.execute("CREATE TABLE AB AS SELECT A.ID, X, Y FROM A JOIN B ON A.ID = B.ID;").unwrap();
    pipe(&mut e, "a", &[(Some("1"), Some(r#"{"X":"x1"}"#), 1)]);
    pipe(&mut e, "b", &[(Some("1"), Some(r#"{"Y":"y1"}"#), 2), (Some("1"), None, 3)]);
    insta::assert_snapshot!(lines(&e, "AB").join("\n"), @r###"
    1 | {"X":"x1","Y":"y1"} | 2
    1 | <null> | 3
    "###);
}

#[test]
fn foreign_key_table_join() {
    let mut e = engine("CREATE TABLE ORDERS (ID INT PRIMARY KEY, CUST INT, QTY INT) WITH (KAFKA_TOPIC='orders', FORMAT='JSON');
CREATE TABLE CUSTOMERS (ID INT PRIMARY KEY, NAME STRING) WITH (KAFKA_TOPIC='customers', FORMAT='JSON');");
    e.execute("CREATE TABLE OC AS SELECT ORDERS.ID, QTY, NAME FROM ORDERS JOIN CUSTOMERS ON ORDERS.CUST = CUSTOMERS.ID;").unwrap();
    pipe(&mut e, "customers", &[(Some("5"), Some(r#"{"NAME":"bo"}"#), 1)]);
    pipe(&mut e, "orders", &[(Some("100"), Some(r#"{"CUST":5,"QTY":2}"#), 2)]);
    pipe(&mut e, "customers", &[(Some("5"), Some(r#"{"NAME":"bob"}"#), 3)]);
    insta::assert_snapshot!(lines(&e, "OC").join("\n"), @r###"
    100 | {"QTY":2,"NAME":"bo"} | 2
    100 | {"QTY":2,"NAME":"bob"} | 3
    "###);
}

#[test]
fn three_way_join() {
    let mut e = engine("CREATE STREAM S1 (ID INT KEY, V0 BIGINT) WITH (KAFKA_TOPIC='left', FORMAT='JSON');
CREATE TABLE T2 (ID INT PRIMARY KEY, V0 BIGINT) WITH (KAFKA_TOPIC='right', FORMAT='JSON');
CREATE TABLE T3 (ID INT PRIMARY KEY, V0 BIGINT) WITH (KAFKA_TOPIC='right2', FORMAT='JSON');");
    e.execute("CREATE STREAM OUTPUT AS SELECT S1.ID, S1.V0, T2.V0, T3.V0 FROM S1 JOIN T2 ON S1.ID = T2.ID JOIN T3 ON S1.ID = T3.ID;").unwrap();
    pipe(&mut e, "right", &[(Some("0"), Some(r#"{"V0":2}"#), 10)]);
    pipe(&mut e, "right2", &[(Some("0"), Some(r#"{"V0":3}"#), 11)]);
    pipe(&mut e, "left", &[(Some("0"), Some(r#"{"V0":1}"#), 12)]);
    insta::assert_snapshot!(lines(&e, "OUTPUT").join("\n"), @r###"
    0 | {"S1_V0":1,"T2_V0":2,"T3_V0":3} | 12
    "###);
}

#[test]
fn join_errors_match_ksqldb() {
    let mut e = engine(LR);
    let err = e.execute("CREATE STREAM J AS SELECT L.ID, A FROM L JOIN R ON L.ID = R.ID;").unwrap_err();
    assert!(err.to_string().starts_with("Stream-Stream joins must have a WITHIN clause specified."), "{err}");
    let err = e.execute("CREATE STREAM J AS SELECT A, B FROM L JOIN R WITHIN 10 SECONDS ON L.ID = R.ID;").unwrap_err();
    assert!(err.to_string().contains("The query used to build `J` must include the join expressions L.ID or R.ID in its projection (eg, SELECT L.ID...)."), "{err}");
}
