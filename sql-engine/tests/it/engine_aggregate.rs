//! CTAS with GROUP BY through test mode.

use crate::engine_support::{engine, lines, pipe, windowed_lines};

#[test]
fn count_and_sum_per_key() {
    let mut e = engine("CREATE STREAM S (ID INT KEY, K STRING, V INT) WITH (KAFKA_TOPIC='s', FORMAT='JSON');");
    e.execute("CREATE TABLE T AS SELECT K, COUNT(*) AS C, SUM(V) AS TOTAL FROM S GROUP BY K;").unwrap();
    pipe(&mut e, "s", &[(Some("1"), Some(r#"{"K":"a","V":1}"#), 1), (Some("2"), Some(r#"{"K":"b","V":2}"#), 2), (Some("3"), Some(r#"{"K":"a","V":3}"#), 3)]);
    insta::assert_snapshot!(lines(&e, "T").join("\n"), @r###"
    "a" | {"C":1,"TOTAL":1} | 1
    "b" | {"C":1,"TOTAL":2} | 2
    "a" | {"C":2,"TOTAL":4} | 3
    "###);
}

const S: &str = "CREATE STREAM S (ID INT KEY, K STRING, V INT) WITH (KAFKA_TOPIC='s', FORMAT='JSON');";

#[test]
fn tumbling_window_keys_carry_the_window_start() {
    let mut e = engine(S);
    e.execute("CREATE TABLE W AS SELECT K, WINDOWSTART AS WS, WINDOWEND AS WE, COUNT(*) AS C FROM S WINDOW TUMBLING (SIZE 10 SECONDS) GROUP BY K;").unwrap();
    pipe(&mut e, "s", &[(Some("1"), Some(r#"{"K":"a","V":1}"#), 1_000), (Some("2"), Some(r#"{"K":"a","V":2}"#), 9_000), (Some("3"), Some(r#"{"K":"a","V":3}"#), 12_000)]);
    insta::assert_snapshot!(windowed_lines(&e, "W").join("\n"), @r###"
    "a"@0 | {"WS":0,"WE":10000,"C":1} | 1000
    "a"@0 | {"WS":0,"WE":10000,"C":2} | 9000
    "a"@10000 | {"WS":10000,"WE":20000,"C":1} | 12000
    "###);
    let w = e.catalog().source("W").unwrap().window.unwrap();
    assert_eq!((w.window_type.as_str(), w.size_ms), ("TUMBLING", Some(10_000)));
}

#[test]
fn hopping_window_counts_each_window() {
    let mut e = engine(S);
    e.execute("CREATE TABLE H AS SELECT K, COUNT(*) AS C FROM S WINDOW HOPPING (SIZE 10 SECONDS, ADVANCE BY 5 SECONDS) GROUP BY K;").unwrap();
    pipe(&mut e, "s", &[(Some("1"), Some(r#"{"K":"a","V":1}"#), 7_000)]);
    insta::assert_snapshot!(windowed_lines(&e, "H").join("\n"), @r###"
    "a"@0 | {"C":1} | 7000
    "a"@5000 | {"C":1} | 7000
    "###);
}

#[test]
fn emit_final_emits_once_the_window_closes() {
    let mut e = engine(S);
    e.execute("CREATE TABLE F AS SELECT K, SUM(V) AS TOTAL FROM S WINDOW TUMBLING (SIZE 10 SECONDS, GRACE PERIOD 0 SECONDS) GROUP BY K EMIT FINAL;").unwrap();
    pipe(&mut e, "s", &[(Some("1"), Some(r#"{"K":"a","V":1}"#), 1_000), (Some("2"), Some(r#"{"K":"a","V":2}"#), 2_000)]);
    assert!(e.read_output("F").unwrap().is_empty());
    pipe(&mut e, "s", &[(Some("3"), Some(r#"{"K":"b","V":5}"#), 10_000)]);
    insta::assert_snapshot!(windowed_lines(&e, "F").join("\n"), @r###"
    "a"@0 | {"TOTAL":3} | 2000
    "###);
}

#[test]
fn session_windows_merge() {
    let mut e = engine(S);
    e.execute("CREATE TABLE SW AS SELECT K, COUNT(*) AS C FROM S WINDOW SESSION (5 SECONDS) GROUP BY K;").unwrap();
    pipe(&mut e, "s", &[(Some("1"), Some(r#"{"K":"a","V":1}"#), 1_000), (Some("2"), Some(r#"{"K":"a","V":1}"#), 20_000), (Some("3"), Some(r#"{"K":"a","V":1}"#), 4_000)]);
    let out = e.read_output("SW").unwrap();
    let lines: Vec<String> = out
        .iter()
        .map(|r| {
            let k = r.key.as_ref().unwrap();
            let (key, rest) = k.split_at(k.len() - 16);
            let end = i64::from_be_bytes(rest[..8].try_into().unwrap());
            let start = i64::from_be_bytes(rest[8..].try_into().unwrap());
            format!("{}@{start}-{end} | {}", String::from_utf8_lossy(key), r.value.as_ref().map_or("<null>".into(), |v| String::from_utf8_lossy(v).into_owned()))
        })
        .collect();
    insta::assert_snapshot!(lines.join("\n"), @r###"
    "a"@1000-1000 | {"C":1}
    "a"@20000-20000 | {"C":1}
    "a"@1000-1000 | <null>
    "a"@1000-4000 | {"C":2}
    "###);
}

#[test]
fn having_filters_groups_into_tombstones() {
    // ksqlDB: a group that never passed is not written; one that stops passing is deleted.
    let mut e = engine(S);
    e.execute("CREATE TABLE HV AS SELECT K, SUM(V) AS TOTAL FROM S GROUP BY K HAVING SUM(V) > 2;").unwrap();
    pipe(&mut e, "s", &[(Some("1"), Some(r#"{"K":"a","V":1}"#), 1), (Some("2"), Some(r#"{"K":"a","V":5}"#), 2), (Some("3"), Some(r#"{"K":"a","V":-5}"#), 3)]);
    insta::assert_snapshot!(lines(&e, "HV").join("\n"), @r###"
    "a" | {"TOTAL":6} | 2
    "a" | <null> | 3
    "###);
}

#[test]
fn multi_column_group_by_makes_a_multi_column_key() {
    let mut e = engine("CREATE STREAM M (ID INT KEY, A STRING, B INT) WITH (KAFKA_TOPIC='m', FORMAT='JSON');");
    e.execute("CREATE TABLE MT AS SELECT A, B, COUNT(*) AS C FROM M GROUP BY A, B;").unwrap();
    pipe(&mut e, "m", &[(Some("1"), Some(r#"{"A":"x","B":1}"#), 1), (Some("2"), Some(r#"{"A":"x","B":1}"#), 2)]);
    insta::assert_snapshot!(lines(&e, "MT").join("\n"), @r###"
    {"A":"x","B":1} | {"C":1} | 1
    {"A":"x","B":1} | {"C":2} | 2
    "###);
    let keys: Vec<String> = e.catalog().source("MT").unwrap().schema.key().map(|c| c.name.clone()).collect();
    assert_eq!(keys, vec!["A", "B"]);
}

#[test]
fn table_source_aggregation_undoes_old_values() {
    let mut e = engine("CREATE TABLE U (ID INT PRIMARY KEY, REGION STRING, AMOUNT INT) WITH (KAFKA_TOPIC='u', FORMAT='JSON');");
    e.execute("CREATE TABLE BYREGION AS SELECT REGION, SUM(AMOUNT) AS TOTAL, COUNT(*) AS N FROM U GROUP BY REGION;").unwrap();
    pipe(
        &mut e,
        "u",
        &[(Some("1"), Some(r#"{"REGION":"eu","AMOUNT":10}"#), 1), (Some("2"), Some(r#"{"REGION":"eu","AMOUNT":5}"#), 2), (Some("1"), Some(r#"{"REGION":"us","AMOUNT":10}"#), 3), (Some("2"), None, 4)],
    );
    insta::assert_snapshot!(lines(&e, "BYREGION").join("\n"), @r###"
    "eu" | {"TOTAL":10,"N":1} | 1
    "eu" | {"TOTAL":15,"N":2} | 2
    "eu" | {"TOTAL":5,"N":1} | 3
    "us" | {"TOTAL":10,"N":1} | 3
    "eu" | {"TOTAL":0,"N":0} | 4
    "###);
}

#[test]
fn non_aggregate_column_outside_group_by_is_rejected() {
    let mut e = engine(S);
    let err = e.execute("CREATE TABLE X AS SELECT K, V, COUNT(*) FROM S GROUP BY K;").unwrap_err();
    assert!(err.to_string().starts_with("Non-aggregate SELECT expression(s) not part of GROUP BY: "), "{err}");
}

#[test]
fn grouping_expression_missing_from_projection_is_rejected() {
    let mut e = engine(S);
    let err = e.execute("CREATE TABLE X AS SELECT COUNT(*) AS C FROM S GROUP BY K;").unwrap_err();
    assert!(err.to_string().contains("The query used to build `X` must include the grouping expression K in its projection (eg, SELECT K...)."), "{err}");
}

#[test]
fn windowed_tables_and_streams_can_be_read_again() {
    let mut e = engine(S);
    e.execute("CREATE TABLE W AS SELECT K, COUNT(*) AS C FROM S WINDOW TUMBLING (SIZE 10 SECONDS) GROUP BY K;").unwrap();
    e.execute("CREATE TABLE W2 AS SELECT K, C, WINDOWSTART AS WS FROM W WHERE C > 1;").unwrap();
    e.execute("CREATE STREAM WS (K STRING KEY, C BIGINT) WITH (KAFKA_TOPIC='W', FORMAT='JSON', WINDOW_TYPE='TUMBLING', WINDOW_SIZE='10 SECONDS');").unwrap();
    e.execute("CREATE STREAM WS2 AS SELECT K, C * 10 AS C10, WINDOWEND AS WE FROM WS;").unwrap();
    pipe(&mut e, "s", &[(Some("1"), Some(r#"{"K":"a","V":1}"#), 1_000), (Some("2"), Some(r#"{"K":"a","V":2}"#), 2_000)]);
    insta::assert_snapshot!(windowed_lines(&e, "W2").join("\n"), @r###"
    "a"@0 | <null> | 1000
    "a"@0 | {"C":2,"WS":0} | 2000
    "###);
    insta::assert_snapshot!(windowed_lines(&e, "WS2").join("\n"), @r###"
    "a"@0 | {"C10":10,"WE":10000} | 1000
    "a"@0 | {"C10":20,"WE":10000} | 2000
    "###);
}

#[test]
fn aggregate_functions_over_expressions() {
    let mut e = engine(S);
    e.execute("CREATE TABLE AG AS SELECT K, SUM(V * 2) AS S2, MAX(V) AS MX, COLLECT_LIST(V) AS L, LATEST_BY_OFFSET(V) AS LAST FROM S GROUP BY K;").unwrap();
    pipe(&mut e, "s", &[(Some("1"), Some(r#"{"K":"a","V":3}"#), 1), (Some("2"), Some(r#"{"K":"a","V":1}"#), 2)]);
    assert_eq!(lines(&e, "AG"), vec![r#""a" | {"S2":6,"MX":3,"L":[3],"LAST":3} | 1"#, r#""a" | {"S2":8,"MX":3,"L":[3,1],"LAST":1} | 2"#]);
}

#[test]
fn aggregates_without_group_by_are_rejected() {
    let mut e = engine(S);
    let err = e.execute("CREATE TABLE X AS SELECT COUNT(*) AS C FROM S;").unwrap_err();
    assert_eq!(err.to_string(), "Use of aggregate functions requires a GROUP BY clause. Aggregate function(s): COUNT");
}
