//! CTAS with GROUP BY through test mode.

use crate::engine_support::{engine, lines, pipe};

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
