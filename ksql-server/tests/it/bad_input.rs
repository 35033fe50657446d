//! Bad input on every endpoint that reads a body, over HTTP/1.1 and HTTP/2: each answer is a
//! golden ksqlDB error body (one snapshot per case, the same for both protocols), nothing is
//! half-applied, and the server stays up.

use serde_json::{json, Value};

use crate::support::{split, TestServer};

/// One request: path, content type (None: no header), accept, body.
struct Case {
    name: &'static str,
    path: &'static str,
    content_type: Option<&'static str>,
    accept: Option<&'static str>,
    body: String,
}

fn case(name: &'static str, path: &'static str, body: impl Into<String>) -> Case {
    Case { name, path, content_type: None, accept: None, body: body.into() }
}

fn cases() -> Vec<Case> {
    let big = format!("{{\"ksql\":\"SHOW STREAMS; -- {}\"}}", "x".repeat(100 * 1024));
    vec![
        case("ksql_truncated_json", "/ksql", r#"{"ksql": "SHOW STREAMS;""#),
        case("ksql_missing_field", "/ksql", r#"{"sql": "SHOW STREAMS;"}"#),
        case("ksql_wrong_type", "/ksql", r#"{"ksql": 1}"#),
        case("query_stream_not_json", "/query-stream", "SELECT * FROM S;"),
        case("query_malformed", "/query", "[1,2"),
        case("close_query_malformed", "/close-query", "{}"),
        case("query_stream_unknown_property", "/query-stream", json!({ "sql": "SELECT * FROM S;", "properties": { "no.such": "1" } }).to_string()),
        case("query_bad_offset_reset", "/query", json!({ "ksql": "SELECT * FROM S;", "streamsProperties": { "auto.offset.reset": "middle" } }).to_string()),
        case("query_stream_oversized", "/query-stream", big.clone()),
        case("ksql_oversized", "/ksql", big),
        Case { content_type: Some("application/xml"), ..case("ksql_xml", "/ksql", "<ksql>SHOW STREAMS;</ksql>") },
        Case { content_type: Some("application/x-www-form-urlencoded"), ..case("ksql_form", "/ksql", "ksql=SHOW+STREAMS%3B") },
        Case { content_type: Some("text/html"), ..case("query_stream_html", "/query-stream", "{}") },
        Case { accept: Some("text/html"), ..case("query_stream_accept_html", "/query-stream", json!({ "sql": "SELECT * FROM S;" }).to_string()) },
        case(
            "ksql_error_mid_script",
            "/ksql",
            json!({ "ksql": "CREATE STREAM A1 (ID INT KEY, V INT) WITH (KAFKA_TOPIC='a1', PARTITIONS=1, FORMAT='JSON');\n\
                     CREATE STREAM A2 (ID INT KEY, V INT) WITH (KAFKA_TOPIC='a2', PARTITIONS=1, FORMAT='JSON');\n\
                     CREATE STREAM B AS SELECT ID, NOPE FROM A1;\n\
                     CREATE STREAM C (ID INT KEY) WITH (KAFKA_TOPIC='c', PARTITIONS=1, FORMAT='JSON');" })
            .to_string(),
        ),
    ]
}

async fn run(client: reqwest::Client, version: reqwest::Version) {
    let srv = TestServer::start_with(Default::default(), client).await;
    srv.ksql("CREATE STREAM S (ID INT KEY, V STRING) WITH (KAFKA_TOPIC='s', PARTITIONS=1, FORMAT='JSON');").await;
    // Well-typed requests with these content types are served.
    for ct in ["application/json", "application/vnd.ksql.v1+json; charset=utf-8", "Application/JSON"] {
        let resp = srv.client.post(format!("{}/ksql", srv.url)).header("content-type", ct).body(json!({ "ksql": "SHOW STREAMS;" }).to_string()).send().await.unwrap();
        assert_eq!(resp.status(), 200, "{ct}");
    }
    for c in cases() {
        let mut req = srv.client.post(format!("{}{}", srv.url, c.path)).body(c.body);
        if let Some(ct) = c.content_type {
            req = req.header("content-type", ct);
        }
        if let Some(a) = c.accept {
            req = req.header("accept", a);
        }
        let resp = req.send().await.unwrap();
        assert_eq!(resp.version(), version, "{}", c.name);
        let (status, ct, body) = split(resp).await;
        assert!(status >= 400, "{}: {status} {body}", c.name);
        assert_eq!(ct, "application/vnd.ksql.v1+json", "{}", c.name);
        insta::assert_json_snapshot!(c.name, json!({ "status": status, "body": body }));
    }
    // The statements before the failing one are applied; the one after is not.
    let streams = srv.ksql("SHOW STREAMS;").await;
    let names: Vec<&str> = streams[0]["streams"].as_array().unwrap().iter().map(|s| s["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["A1", "A2", "KSQL_PROCESSING_LOG", "S"], "{streams}");
    let (status, _, body) = srv.get("/healthcheck").await;
    assert_eq!((status, body["isHealthy"].clone()), (200, Value::Bool(true)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_over_http1() {
    run(reqwest::Client::builder().http1_only().build().unwrap(), reqwest::Version::HTTP_11).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_over_http2() {
    run(reqwest::Client::builder().http2_prior_knowledge().build().unwrap(), reqwest::Version::HTTP_2).await;
}
