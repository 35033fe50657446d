//! The same requests over HTTP/1.1 and HTTP/2 get the same golden bodies (one snapshot per
//! request, shared by both protocols; transient ids, clock readings and the version masked).

use serde_json::{json, Value};

use crate::support::{mask, split, TestServer};

/// `(snapshot name, method, path, body)`.
fn requests() -> Vec<(&'static str, &'static str, &'static str, Value)> {
    let ksql = |s: &str| json!({ "ksql": s, "streamsProperties": {} });
    vec![
        ("golden_create", "POST", "/ksql", ksql("CREATE STREAM G (ID INT KEY, NAME STRING, TAGS ARRAY<STRING>) WITH (KAFKA_TOPIC='g', PARTITIONS=1, FORMAT='JSON');")),
        ("golden_insert", "POST", "/ksql", ksql("INSERT INTO G (ID, NAME, TAGS) VALUES (1, 'a', ARRAY['x', 'y']); INSERT INTO G (ID, NAME, TAGS) VALUES (2, 'b', ARRAY['z']);")),
        ("golden_describe", "POST", "/ksql", ksql("DESCRIBE G;")),
        ("golden_query_stream", "POST", "/query-stream", json!({ "sql": "SELECT * FROM G;" })),
        ("golden_query", "POST", "/query", ksql("SELECT ID, TAGS FROM G WHERE ID = 2;")),
        ("golden_healthcheck", "GET", "/healthcheck", Value::Null),
        ("golden_info", "GET", "/info", Value::Null),
    ]
}

async fn run(client: reqwest::Client, version: reqwest::Version) {
    let srv = TestServer::start_with(Default::default(), client).await;
    for (name, method, path, body) in requests() {
        let url = format!("{}{path}", srv.url);
        let req = if method == "GET" { srv.client.get(url) } else { srv.client.post(url).body(body.to_string()) };
        let resp = req.send().await.unwrap();
        assert_eq!(resp.version(), version, "{name}");
        let (status, content_type, body) = split(resp).await;
        // /query-stream's delimited lines, one JSON value each.
        let body = match body {
            Value::String(lines) => Value::Array(lines.lines().map(|l| serde_json::from_str(l).unwrap()).collect()),
            other => other,
        };
        insta::assert_json_snapshot!(name, json!({ "status": status, "content_type": content_type, "body": mask(body) }));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn golden_bodies_over_http1() {
    run(reqwest::Client::builder().http1_only().build().unwrap(), reqwest::Version::HTTP_11).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn golden_bodies_over_http2() {
    run(reqwest::Client::builder().http2_prior_knowledge().build().unwrap(), reqwest::Version::HTTP_2).await;
}
