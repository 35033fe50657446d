//! Bad input gets a ksqlDB-shaped error and the server stays up.

use serde_json::json;

use crate::support::TestServer;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests_get_ksqldb_error_bodies() {
    let srv = TestServer::start().await;
    let (status, ct, body) = srv.post_raw("/ksql", "{not json").await;
    assert_eq!((status, ct.as_str()), (400, "application/vnd.ksql.v1+json"));
    insta::assert_json_snapshot!("malformed_json", body);

    let (status, _, body) = srv.post("/ksql", &json!({ "ksql": "CREATE STREM X;" })).await;
    assert_eq!(status, 400);
    insta::assert_json_snapshot!("syntax_error", body);

    let (status, _, body) = srv.post("/ksql", &json!({ "ksql": "SELECT * FROM X;" })).await;
    assert_eq!(status, 400);
    insta::assert_json_snapshot!("select_on_ksql", body);

    let (status, _, body) = srv.post("/ksql", &json!({ "ksql": "SHOW STREAMS;", "streamsProperties": { "no.such.property": "1" } })).await;
    assert_eq!(status, 400);
    insta::assert_json_snapshot!("unknown_property", body);

    let big = json!({ "ksql": format!("SHOW STREAMS; -- {}", "x".repeat(100 * 1024)) });
    let (status, _, body) = srv.post("/ksql", &big).await;
    assert_eq!(status, 413);
    assert_eq!(body["error_code"], 41300, "{body}");

    let (status, _, body) = srv.post("/query-stream", &json!({ "sql": "SELECT * FROM NOPE EMIT CHANGES;" })).await;
    assert_eq!(status, 400);
    insta::assert_json_snapshot!("query_stream_unknown_source", body);

    let (status, _, body) = srv.post("/close-query", &json!({ "queryId": "nope" })).await;
    assert_eq!(status, 400);
    assert_eq!(body["@type"], "generic_error", "{body}");

    // Still up.
    assert_eq!(srv.get("/info").await.0, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn statements_before_a_failing_one_are_applied_and_returned() {
    let srv = TestServer::start().await;
    let script = "CREATE STREAM A (ID INT KEY, V INT) WITH (KAFKA_TOPIC='a', PARTITIONS=1, FORMAT='JSON');\n\
                  CREATE STREAM B AS SELECT ID, NOPE FROM A;\n\
                  CREATE STREAM C (ID INT KEY) WITH (KAFKA_TOPIC='c', PARTITIONS=1, FORMAT='JSON');";
    let (status, _, body) = srv.post("/ksql", &json!({ "ksql": script })).await;
    assert_eq!(status, 400);
    insta::assert_json_snapshot!("error_mid_script", body);
    let streams = srv.ksql("SHOW STREAMS;").await;
    let names: Vec<&str> = streams[0]["streams"].as_array().unwrap().iter().map(|s| s["name"].as_str().unwrap()).collect();
    assert!(names.contains(&"A") && !names.contains(&"C"), "{streams}");
}
