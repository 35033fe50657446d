//! `/info`, `/healthcheck`, `/clusterStatus`, `/is_valid_property`, `/status`, unknown paths.

use serde_json::json;

use crate::support::{mask, TestServer};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn info_healthcheck_and_cluster_status() {
    let srv = TestServer::start().await;
    let (status, ct, body) = srv.get("/info").await;
    assert_eq!((status, ct.as_str()), (200, "application/json"));
    insta::assert_json_snapshot!("info", mask(body));
    let (status, _, body) = srv.get("/healthcheck").await;
    assert_eq!(status, 200);
    insta::assert_json_snapshot!("healthcheck", body);
    let (status, _, body) = srv.get("/clusterStatus").await;
    assert_eq!(status, 200);
    insta::assert_json_snapshot!("cluster_status", mask(body));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn property_validation_command_status_and_unknown_paths() {
    let srv = TestServer::start().await;
    let (status, _, body) = srv.post_raw("/is_valid_property/ksql.streams.auto.offset.reset", "").await;
    assert_eq!((status, body), (200, json!(true)));
    let (status, _, body) = srv.post_raw("/is_valid_property/no.such.property", "").await;
    assert_eq!(status, 400);
    insta::assert_json_snapshot!("invalid_property", body);

    srv.ksql("CREATE STREAM S (ID INT KEY, V STRING) WITH (KAFKA_TOPIC='s', PARTITIONS=1, FORMAT='JSON');").await;
    let (status, _, body) = srv.get("/status/stream/`S`/create").await;
    assert_eq!(status, 200, "{body}");
    insta::assert_json_snapshot!("command_status", body);
    let (status, _, body) = srv.get("/status/stream/`NOPE`/create").await;
    assert_eq!(status, 404);
    insta::assert_json_snapshot!("command_status_unknown", body);
    let (status, _, body) = srv.get("/no/such/path").await;
    assert_eq!(status, 404);
    assert_eq!(body["error_code"], 40400);
}
