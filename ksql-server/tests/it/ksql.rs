//! `POST /ksql`: entities of DDL, DML, SHOW, DESCRIBE and EXPLAIN; `/ksql/terminate`.

use serde_json::json;

use crate::support::{mask, TestServer};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ddl_show_describe_and_explain_return_ksqldb_entities() {
    let srv = TestServer::start().await;
    let created = srv
        .ksql(
            "CREATE STREAM PAGEVIEWS (ID INT KEY, PAGE STRING, MS BIGINT) WITH (KAFKA_TOPIC='pageviews', PARTITIONS=1, FORMAT='JSON');\n\
             CREATE TABLE USERS (ID INT PRIMARY KEY, NAME STRING) WITH (KAFKA_TOPIC='users', PARTITIONS=1, FORMAT='JSON');\n\
             CREATE STREAM LONG_VIEWS AS SELECT ID, PAGE FROM PAGEVIEWS WHERE MS > 1000;",
        )
        .await;
    insta::assert_json_snapshot!("create", created);
    insta::assert_json_snapshot!("show_streams_tables", srv.ksql("SHOW STREAMS; LIST TABLES;").await);
    insta::assert_json_snapshot!("show_queries", srv.ksql("SHOW QUERIES;").await);
    insta::assert_json_snapshot!("describe", srv.ksql("DESCRIBE PAGEVIEWS;").await);
    let topics = srv.ksql("SHOW TOPICS;").await;
    insta::assert_json_snapshot!("show_topics", topics);
    let explain = srv.ksql("EXPLAIN CSAS_LONG_VIEWS_0;").await;
    assert_eq!(explain[0]["@type"], "queryDescription", "{explain}");
    assert_eq!(explain[0]["queryDescription"]["id"], "CSAS_LONG_VIEWS_0");
    let function = srv.ksql("DESCRIBE FUNCTION UCASE;").await;
    assert_eq!(function[0]["@type"], "describe_function", "{function}");
    assert_eq!(function[0]["name"], "UCASE");

    // The request's properties apply to it only.
    let (status, _, body) = srv.post("/ksql", &json!({ "ksql": "SHOW PROPERTIES;", "streamsProperties": { "auto.offset.reset": "earliest" } })).await;
    assert_eq!(status, 200, "{body}");
    let props = body[0]["properties"].as_array().unwrap();
    assert!(props.iter().any(|p| p["name"] == "auto.offset.reset" && p["value"] == "earliest"), "{body}");
    let after = srv.ksql("SHOW PROPERTIES;").await;
    assert!(!after[0]["properties"].as_array().unwrap().iter().any(|p| p["name"] == "auto.offset.reset"), "{after}");

    // application/json when asked for.
    let resp = srv.client.post(format!("{}/ksql", srv.url)).header("accept", "application/json").body(json!({ "ksql": "SHOW STREAMS;" }).to_string()).send().await.unwrap();
    assert_eq!(resp.headers()["content-type"], "application/json");
    let resp = srv.client.post(format!("{}/ksql", srv.url)).body(json!({ "ksql": "SHOW STREAMS;" }).to_string()).send().await.unwrap();
    assert_eq!(resp.headers()["content-type"], "application/vnd.ksql.v1+json");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn terminate_drops_every_query_stream_and_table() {
    let srv = TestServer::start().await;
    srv.ksql(
        "CREATE STREAM S (ID INT KEY, V INT) WITH (KAFKA_TOPIC='s', PARTITIONS=1, FORMAT='JSON');\n\
         CREATE STREAM T AS SELECT ID, V FROM S;",
    )
    .await;
    let (status, _, body) = srv.post("/ksql/terminate", &json!({ "deleteTopicList": ["T"] })).await;
    assert_eq!(status, 200, "{body}");
    insta::assert_json_snapshot!("terminate", mask(body));
    let left = srv.ksql("SHOW QUERIES; SHOW STREAMS;").await;
    assert_eq!(left[0]["queries"], json!([]));
    let names: Vec<&str> = left[1]["streams"].as_array().unwrap().iter().map(|s| s["name"].as_str().unwrap()).collect();
    assert_eq!(names, vec!["KSQL_PROCESSING_LOG"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_server_replays_the_command_topic() {
    let srv = TestServer::start().await;
    srv.ksql(
        "CREATE TYPE PRICE AS STRUCT<AMOUNT DOUBLE>;\n\
         CREATE STREAM S (ID INT KEY, P PRICE) WITH (KAFKA_TOPIC='s', PARTITIONS=1, FORMAT='JSON');\n\
         CREATE STREAM T AS SELECT ID, P FROM S;\n\
         CREATE STREAM U AS SELECT ID, P FROM S;\n\
         CREATE TABLE C AS SELECT ID, COUNT(*) AS N FROM S GROUP BY ID;\n\
         TERMINATE CSAS_U_1;\n\
         DROP STREAM U;",
    )
    .await;
    let show = "SHOW STREAMS; SHOW TABLES; SHOW TYPES; SHOW QUERIES;";
    let before = srv.ksql(show).await;
    let srv = srv.restart().await;
    let after = srv.ksql(show).await;
    assert_eq!(before, after);
    insta::assert_json_snapshot!("replayed", after);
    // CSAS_U_1 was left out of the restore (terminated later), its id not given out again.
    let next = srv.ksql("CREATE STREAM W AS SELECT ID, P FROM S;").await;
    assert_eq!(next[0]["commandStatus"]["queryId"], "CSAS_W_3", "{next}");
}

/// The command topic's records: `(key, value)` text.
fn command_records(broker: &brook_broker::Broker) -> Vec<(String, String)> {
    let data = broker.fetch("_confluent-ksql-default__command_topic", 0, 0, 1 << 20, brook_broker::IsolationLevel::ReadCommitted).unwrap();
    let mut rest = data.records.clone();
    let mut records = Vec::new();
    while rest.len() >= brook_broker::record::BATCH_HEADER_LEN {
        let header = brook_broker::record::BatchHeader::parse(&rest).unwrap();
        records.extend(brook_broker::record::decode_batch_bytes(rest.split_to(header.total_len())).unwrap().1);
    }
    records.iter().map(|r| (String::from_utf8_lossy(r.key.as_deref().unwrap()).into_owned(), String::from_utf8_lossy(r.value.as_deref().unwrap()).into_owned())).collect()
}

fn append_command(broker: &brook_broker::Broker, key: &str, value: &[u8]) {
    let mut b = brook_broker::record::BatchBuilder::new(brook_broker::record::Compression::None);
    b.push(0, Some(key.as_bytes()), Some(value), &[]);
    broker.produce("_confluent-ksql-default__command_topic", 0, &mut b.build().unwrap()).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commands_carry_their_plan_and_a_bad_one_is_skipped_on_restart() {
    let srv = TestServer::start().await;
    let (status, _, body) = srv
        .post(
            "/ksql",
            &json!({
                "ksql": "CREATE STREAM S (ID INT KEY, V INT) WITH (KAFKA_TOPIC='s', PARTITIONS=1, FORMAT='JSON'); SET 'auto.offset.reset'='earliest'; CREATE STREAM T AS SELECT ID, V FROM S WHERE V > 1;",
                "streamsProperties": { "processing.guarantee": "exactly_once_v2" },
            }),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let records = command_records(srv.broker());
    let keys: Vec<&str> = records.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(keys, ["stream/`S`/create", "stream/`T`/create"]);
    let csas: serde_json::Value = serde_json::from_str(&records[1].1).unwrap();
    assert_eq!(csas["statement"], "CREATE STREAM T AS SELECT ID, V FROM S WHERE V > 1");
    assert_eq!(csas["streamsProperties"], json!({ "auto.offset.reset": "earliest", "processing.guarantee": "exactly_once_v2" }));
    assert_eq!(csas["plan"]["@type"], "ksqlPlanV1");
    assert_eq!(csas["plan"]["queryPlan"]["queryId"], "CSAS_T_0");
    // An undecodable record and one that no longer applies (T exists by then), then more.
    append_command(srv.broker(), "stream/`X`/create", b"{not json");
    append_command(srv.broker(), "stream/`T`/create", records[1].1.as_bytes());
    srv.ksql("CREATE STREAM U AS SELECT ID, V FROM S;").await;
    let show = "SHOW STREAMS; SHOW QUERIES;";
    let before = srv.ksql(show).await;
    let srv = srv.restart().await;
    assert_eq!(srv.ksql(show).await, before, "the server starts without the bad records and with every good one");
    let ids: Vec<&str> = before[1]["queries"].as_array().unwrap().iter().map(|q| q["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["CSAS_T_0", "CSAS_U_1"]);
}

/// Runs `ksql` on `srv` until `done` holds of the answer (10 s at most).
async fn wait_for_answer(srv: &TestServer, ksql: &str, what: &str, done: impl Fn(&serde_json::Value) -> bool) -> serde_json::Value {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let answer = srv.ksql(ksql).await;
        if done(&answer) {
            return answer;
        }
        assert!(std::time::Instant::now() < deadline, "timed out waiting for {what}: {answer}");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

fn names(list: &serde_json::Value, field: &str) -> Vec<String> {
    list.as_array().unwrap().iter().map(|s| s[field].as_str().unwrap().to_owned()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn servers_of_one_service_id_apply_each_others_commands_as_they_come() {
    let a = TestServer::start().await;
    let b = a.beside().await;
    let created = a
        .ksql(
            "CREATE TYPE PRICE AS STRUCT<AMOUNT DOUBLE>;\n\
             CREATE STREAM S (ID INT KEY, P PRICE) WITH (KAFKA_TOPIC='s', PARTITIONS=2, FORMAT='JSON');\n\
             CREATE STREAM T AS SELECT ID, P FROM S;",
        )
        .await;
    let sequence: Vec<&serde_json::Value> = created.as_array().unwrap().iter().map(|e| &e["commandSequenceNumber"]).collect();
    assert_eq!(sequence, [&json!(0), &json!(1), &json!(2)], "the commands' offsets in the command topic");

    // B started before A's statements and applies them while it runs, with no request naming them.
    let show = "SHOW STREAMS; SHOW TYPES; SHOW QUERIES;";
    let on_b = wait_for_answer(&b, show, "CSAS_T_0 on B", |v| names(&v[2]["queries"], "id") == ["CSAS_T_0"]).await;
    assert_eq!(on_b, a.ksql(show).await, "both servers have the same catalog and queries");
    let (status, _, body) = b.get("/status/stream/`T`/create").await;
    assert_eq!((status, body), (200, json!({ "status": "SUCCESS", "message": "Created query with ID CSAS_T_0", "queryId": null })));

    // B's statements reach A; with their commandSequenceNumber, A answers only once it has applied them.
    let stopped = b.ksql("TERMINATE CSAS_T_0; DROP STREAM T; CREATE STREAM U AS SELECT ID, P FROM S;").await;
    assert_eq!(stopped[2]["commandSequenceNumber"], json!(5), "{stopped}");
    assert_eq!(stopped[2]["commandStatus"]["queryId"], "CSAS_U_1", "the query ids continue A's: {stopped}");
    let (status, _, on_a) = a.post("/ksql", &json!({ "ksql": "SHOW QUERIES; SHOW STREAMS;", "commandSequenceNumber": 5 })).await;
    assert_eq!(status, 200, "{on_a}");
    assert_eq!(names(&on_a[0]["queries"], "id"), ["CSAS_U_1"]);
    assert_eq!(names(&on_a[1]["streams"], "name"), ["KSQL_PROCESSING_LOG", "S", "U"]);
    // Each command was applied once on each server: B did not apply its own records again.
    assert_eq!(names(&b.ksql("SHOW QUERIES;").await[0]["queries"], "id"), ["CSAS_U_1"]);
    let (status, _, body) = a.post("/ksql", &json!({ "ksql": "CREATE STREAM V AS SELECT ID, P FROM S;", "commandSequenceNumber": 5 })).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body[0]["commandStatus"]["queryId"], "CSAS_V_2", "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_command_sequence_number_not_reached_times_out() {
    let srv = TestServer::start().await;
    let (status, _, body) = srv.post("/ksql", &json!({ "ksql": "SHOW STREAMS;", "commandSequenceNumber": 7 })).await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["message"], "Timed out while waiting for a previous command to execute. command sequence number: 7");
}
