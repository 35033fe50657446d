//! `/query-stream` (push and pull, HTTP/1.1 and HTTP/2), `/close-query`, `/query`,
//! `/inserts-stream`.

use std::time::Duration;

use serde_json::{json, Value};

use crate::support::{mask, Lines, TestServer};

/// Starts `SELECT * FROM S EMIT CHANGES` and reads its header: the lines to come and the query id.
async fn start_push(srv: &TestServer) -> (Lines, String) {
    let resp = srv.client.post(format!("{}/query-stream", srv.url)).body(json!({ "sql": "SELECT * FROM S EMIT CHANGES;" }).to_string()).send().await.unwrap();
    let mut lines = Lines::new(resp);
    let header: Value = serde_json::from_str(&lines.next().await.unwrap()).unwrap();
    (lines, header["queryId"].as_str().unwrap().to_owned())
}

pub(crate) async fn create_s(srv: &TestServer) {
    srv.ksql("CREATE STREAM S (ID INT KEY, NAME STRING, AMOUNT DOUBLE) WITH (KAFKA_TOPIC='s', PARTITIONS=1, FORMAT='JSON');").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn push_query_streams_rows_inserted_after_it_started_until_its_limit() {
    let srv = TestServer::start().await;
    create_s(&srv).await;
    let resp = srv.client.post(format!("{}/query-stream", srv.url)).body(json!({ "sql": "SELECT ID, NAME, AMOUNT FROM S EMIT CHANGES LIMIT 2;" }).to_string()).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "application/vnd.ksqlapi.delimited.v1");
    let mut lines = Lines::new(resp);
    let header: Value = serde_json::from_str(&lines.next().await.unwrap()).unwrap();
    insta::assert_json_snapshot!("push_header", mask(header));
    srv.ksql("INSERT INTO S (ID, NAME, AMOUNT) VALUES (1, 'a', 1.5); INSERT INTO S (ID, NAME, AMOUNT) VALUES (2, 'b', 2.5);").await;
    assert_eq!(lines.next().await.as_deref(), Some(r#"[1,"a",1.5]"#));
    assert_eq!(lines.next().await.as_deref(), Some(r#"[2,"b",2.5]"#));
    assert_eq!(lines.next().await, None, "the response ends at the LIMIT");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn close_query_ends_a_push_query() {
    let srv = TestServer::start().await;
    create_s(&srv).await;
    let (mut lines, id) = start_push(&srv).await;
    let (status, _, body) = srv.post("/close-query", &json!({ "queryId": id })).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(lines.next().await, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pull_queries_over_http2_json_and_v1_query() {
    let srv = TestServer::start().await;
    create_s(&srv).await;
    srv.ksql("INSERT INTO S (ID, NAME, AMOUNT) VALUES (1, 'a', 1.5); INSERT INTO S (ID, NAME, AMOUNT) VALUES (2, 'b', 2.5);").await;

    let h2 = reqwest::Client::builder().http2_prior_knowledge().build().unwrap();
    let resp = h2
        .post(format!("{}/query-stream", srv.url))
        .header("accept", "application/json")
        .body(json!({ "sql": "SELECT ID, NAME FROM S WHERE AMOUNT > 2;" }).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.version(), reqwest::Version::HTTP_2);
    assert_eq!(resp.headers()["content-type"], "application/json");
    let body: Value = resp.json().await.unwrap();
    insta::assert_json_snapshot!("pull_json", mask(body));

    let (status, ct, body) = srv.post("/query", &json!({ "ksql": "SELECT * FROM S;", "streamsProperties": {} })).await;
    assert_eq!((status, ct.as_str()), (200, "application/vnd.ksql.v1+json"));
    insta::assert_json_snapshot!("query_v1", mask(body));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inserts_stream_acks_each_row() {
    let srv = TestServer::start().await;
    create_s(&srv).await;
    let body = "{\"target\":\"S\"}\n{\"ID\":3,\"NAME\":\"c\",\"AMOUNT\":3.5}\n{\"ID\":[1]}\nnot json\n{\"id\":4,\"name\":\"it's\"}\n";
    let resp = srv.client.post(format!("{}/inserts-stream", srv.url)).body(body).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    let text = resp.text().await.unwrap();
    insta::assert_snapshot!("inserts_stream_acks", text);
    let (_, _, rows) = srv.post("/query-stream", &json!({ "sql": "SELECT ID, NAME FROM S;" })).await;
    let lines: Vec<Value> = rows.as_str().unwrap().lines().map(|l| mask(serde_json::from_str(l).unwrap())).collect();
    insta::assert_json_snapshot!("inserted_rows", lines);

    let (status, _, err) = srv.post_raw("/inserts-stream", "{\"target\":\"NOPE\"}\n").await;
    assert_eq!(status, 400);
    insta::assert_json_snapshot!("inserts_stream_unknown_target", err);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_push_query_stops_when_its_client_disconnects() {
    let srv = TestServer::start().await;
    create_s(&srv).await;
    let (lines, id) = start_push(&srv).await;
    drop(lines);
    // Once the server notices, the query is gone: /close-query no longer knows it.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let (status, _, body) = srv.post("/close-query", &json!({ "queryId": id })).await;
        if status == 400 {
            assert_eq!(body["message"], format!("No query with id {id}"));
            break;
        }
        assert!(std::time::Instant::now() < deadline, "the push query still runs after its client left");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Runs `ksql` with `auto.offset.reset=earliest`: its query reads what its topic already holds
/// (ksqlDB's default, `latest`, races with records written just after it starts).
async fn earliest(srv: &TestServer, ksql: &str) {
    let (status, _, body) = srv.post("/ksql", &json!({ "ksql": ksql, "streamsProperties": { "auto.offset.reset": "earliest" } })).await;
    assert_eq!(status, 200, "{body}");
}

/// The lines of a `/query-stream` answer (header, then rows), parsed.
async fn query_stream(srv: &TestServer, sql: &str) -> (u16, Vec<Value>) {
    let (status, _, body) = srv.post("/query-stream", &json!({ "sql": sql })).await;
    let lines = match body {
        Value::String(text) => text.lines().map(|l| mask(serde_json::from_str(l).unwrap())).collect(),
        other => vec![mask(other)],
    };
    (status, lines)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pull_queries_on_windowed_and_source_tables_read_their_stores() {
    let srv = TestServer::start().await;
    create_s(&srv).await;
    earliest(&srv, "CREATE TABLE W AS SELECT NAME, COUNT(*) AS N FROM S WINDOW TUMBLING (SIZE 10 SECONDS) GROUP BY NAME;").await;
    earliest(&srv, "CREATE SOURCE TABLE U (ID INT PRIMARY KEY, NAME STRING) WITH (KAFKA_TOPIC='u', PARTITIONS=1, FORMAT='JSON');").await;
    srv.ksql(
        "INSERT INTO S (ROWTIME, ID, NAME, AMOUNT) VALUES (1000, 1, 'a', 1.5);
         INSERT INTO S (ROWTIME, ID, NAME, AMOUNT) VALUES (12000, 2, 'a', 2.5);
         INSERT INTO S (ROWTIME, ID, NAME, AMOUNT) VALUES (3000, 3, 'b', 1.0);",
    )
    .await;
    let producer = brook_broker::client::producer::Producer::new(srv.broker().clone(), Default::default()).unwrap();
    for (id, name) in [(1, "ann"), (2, "bob")] {
        producer.send(brook_broker::client::producer::ProducerRecord::new("u", Some(id.to_string().into_bytes()), Some(format!(r#"{{"NAME":"{name}"}}"#).into_bytes())));
    }
    producer.flush();
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let (_, w) = query_stream(&srv, "SELECT * FROM W;").await;
        let (_, u) = query_stream(&srv, "SELECT * FROM U;").await;
        if w.len() == 4 && u.len() == 3 {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "the stores never held the rows: {w:?} {u:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (status, windowed) = query_stream(&srv, "SELECT * FROM W WHERE NAME = 'a' AND WINDOWSTART >= '1970-01-01T00:00:10';").await;
    assert_eq!(status, 200);
    insta::assert_json_snapshot!("pull_windowed_lookup", windowed);
    let (status, _, lookup) = srv.post("/query", &json!({ "ksql": "SELECT ID, NAME FROM U WHERE ID = 2;", "streamsProperties": {} })).await;
    assert_eq!(status, 200);
    insta::assert_json_snapshot!("pull_source_table_lookup_v1", mask(lookup));
    let (status, err) = query_stream(&srv, "SELECT * FROM W WHERE NAME = 'a' AND WINDOWEND <> 0;").await;
    assert_eq!(status, 400);
    insta::assert_json_snapshot!("pull_window_bound_error", err);
    srv.stop().await;
}

/// A source table's materialization is recorded with its `CREATE` and runs again after a
/// restart (command topic replay); `DROP TABLE` ends it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_source_table_is_materialized_again_after_a_restart() {
    let srv = TestServer::start().await;
    earliest(&srv, "CREATE SOURCE TABLE U (ID INT PRIMARY KEY, NAME STRING) WITH (KAFKA_TOPIC='u', PARTITIONS=1, FORMAT='JSON');").await;
    let producer = brook_broker::client::producer::Producer::new(srv.broker().clone(), Default::default()).unwrap();
    producer.send(brook_broker::client::producer::ProducerRecord::new("u", Some(b"7".to_vec()), Some(br#"{"NAME":"ann"}"#.to_vec())));
    producer.flush();
    let srv = srv.restart().await;
    let queries = srv.ksql("SHOW QUERIES;").await;
    let ids: Vec<&str> = queries[0]["queries"].as_array().unwrap().iter().map(|q| q["id"].as_str().unwrap()).collect();
    assert_eq!(ids, vec!["CST_U_0"]);
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let (_, rows) = query_stream(&srv, "SELECT ID, NAME FROM U WHERE ID = 7;").await;
        if rows.len() == 2 {
            assert_eq!(rows[1], json!([7, "ann"]));
            break;
        }
        assert!(std::time::Instant::now() < deadline, "the restarted materialization never answered: {rows:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    srv.ksql("DROP TABLE U;").await;
    let queries = srv.ksql("SHOW QUERIES;").await;
    assert_eq!(queries[0]["queries"], json!([]));
    srv.stop().await;
}
