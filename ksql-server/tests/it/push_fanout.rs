//! Shared push queries over real HTTP: hundreds of `/query-stream` clients multiplexed over a
//! few HTTP/2 connections each receive every row; a client that stops reading is dropped with
//! an error line while the others go on.

use std::time::Duration;

use brook_broker::client::producer::{Producer, ProducerConfig, ProducerRecord};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::support::{Lines, TestServer};

const CLIENTS: usize = 400;
const CONNECTIONS: usize = 4;
const ROWS: usize = 50;

fn produce(srv: &TestServer, rows: impl IntoIterator<Item = (i32, String)>) {
    let producer = Producer::new(srv.broker().clone(), ProducerConfig::default()).unwrap();
    for (id, name) in rows {
        let value = json!({ "NAME": name }).to_string();
        producer.send(ProducerRecord::new("s", Some(id.to_string().into_bytes()), Some(value.into_bytes())));
    }
    producer.flush();
}

/// The next line of a delimited response as JSON.
async fn next_json(lines: &mut Lines) -> Option<Value> {
    lines.next().await.map(|l| serde_json::from_str(&l).unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hundreds_of_push_queries_over_http2_each_receive_every_row() {
    let srv = TestServer::start().await;
    srv.ksql("CREATE STREAM S (ID INT KEY, NAME STRING) WITH (KAFKA_TOPIC='s', PARTITIONS=2, FORMAT='JSON');").await;
    // A few connections, each multiplexing its share of the queries (hyper serves at most 200
    // streams per connection by default).
    let clients: Vec<reqwest::Client> = (0..CONNECTIONS).map(|_| reqwest::Client::builder().http2_prior_knowledge().build().unwrap()).collect();
    let (ready, mut readies) = tokio::sync::mpsc::channel::<()>(CLIENTS);
    let mut tasks = Vec::new();
    for i in 0..CLIENTS {
        let sql = if i % 2 == 0 { "SELECT ID, NAME FROM S EMIT CHANGES;" } else { "SELECT ID, UCASE(NAME) AS UP FROM S WHERE ID >= 0 EMIT CHANGES;" };
        let req = clients[i % CONNECTIONS].post(format!("{}/query-stream", srv.url)).body(json!({ "sql": sql }).to_string());
        let ready = ready.clone();
        tasks.push(tokio::spawn(async move {
            let resp = req.send().await.unwrap();
            assert_eq!(resp.version(), reqwest::Version::HTTP_2);
            assert_eq!(resp.status(), 200);
            let mut lines = Lines::new(resp);
            // The header comes once the query runs.
            let header = next_json(&mut lines).await.expect("a header");
            ready.send(()).await.unwrap();
            let mut rows = Vec::new();
            while rows.len() < ROWS {
                rows.push(next_json(&mut lines).await.expect("a row"));
            }
            (i, header, rows)
        }));
    }
    for _ in 0..CLIENTS {
        readies.recv().await.unwrap();
    }
    produce(&srv, (0..ROWS as i32).map(|i| (i, format!("n{i}"))));
    for task in tasks {
        let (i, header, rows) = task.await.unwrap();
        assert!(header["queryId"].as_str().unwrap().starts_with("transient_S_"), "{header}");
        let mut ids: Vec<i64> = rows.iter().map(|r| r[0].as_i64().unwrap()).collect();
        ids.sort_unstable();
        assert_eq!(ids, (0..ROWS as i64).collect::<Vec<_>>(), "client {i}");
        let name = if i % 2 == 0 { "n7" } else { "N7" };
        assert!(rows.iter().any(|r| r[0] == 7 && r[1] == name), "client {i}: {rows:?}");
    }
}

/// A client that stops reading (raw HTTP/1.1, nothing read back) fills its socket; its query
/// falls `max.lag.rows` behind and is dropped after `max.stall.ms`, while a reading client gets
/// every row. When the stalled client reads again, its response ends with the error.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_stops_reading_is_dropped_and_the_others_get_every_row() {
    let srv = TestServer::start().await;
    srv.ksql("CREATE STREAM S (ID INT KEY, NAME STRING) WITH (KAFKA_TOPIC='s', PARTITIONS=1, FORMAT='JSON');").await;
    let body = json!({
        "sql": "SELECT ID, NAME FROM S EMIT CHANGES;",
        "properties": { "ksql.query.push.shared.max.lag.rows": "20", "ksql.query.push.shared.max.stall.ms": "500" }
    })
    .to_string();
    let addr = srv.url.strip_prefix("http://").unwrap().to_owned();
    let mut stalled = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let request = format!("POST /query-stream HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}", body.len());
    stalled.write_all(request.as_bytes()).await.unwrap();
    // Read the response head and header line only, then stop reading.
    let mut head = vec![0u8; 4096];
    let n = stalled.read(&mut head).await.unwrap();
    assert!(String::from_utf8_lossy(&head[..n]).starts_with("HTTP/1.1 200"), "{}", String::from_utf8_lossy(&head[..n]));

    let resp = srv.client.post(format!("{}/query-stream", srv.url)).body(json!({ "sql": "SELECT ID FROM S EMIT CHANGES;" }).to_string()).send().await.unwrap();
    let mut reading = Lines::new(resp);
    next_json(&mut reading).await.expect("a header");
    // Large rows fill the stalled client's socket buffers quickly.
    let big = "x".repeat(16 * 1024);
    let n_rows = 1_500;
    let producing = {
        let broker = srv.broker().clone();
        let big = big.clone();
        tokio::task::spawn_blocking(move || {
            let producer = Producer::new(broker, ProducerConfig::default()).unwrap();
            for id in 0..n_rows {
                let value = json!({ "NAME": big }).to_string();
                producer.send(ProducerRecord::new("s", Some(id.to_string().into_bytes()), Some(value.into_bytes())));
            }
            producer.flush();
        })
    };
    for id in 0..n_rows {
        assert_eq!(next_json(&mut reading).await, Some(json!([id])));
    }
    producing.await.unwrap();
    // The stalled client reads again: some rows, then the error that ended its query.
    // (The connection stays open: the response ends with its last chunk.)
    let mut rest = Vec::new();
    let mut chunk = vec![0u8; 64 * 1024];
    while !rest.ends_with(b"\r\n0\r\n\r\n") {
        let n = tokio::time::timeout(Duration::from_secs(60), stalled.read(&mut chunk)).await.expect("the stalled response ends").unwrap();
        assert!(n > 0, "the connection closed before the response ended");
        rest.extend_from_slice(&chunk[..n]);
    }
    let text = String::from_utf8_lossy(&rest);
    assert!(text.contains(r#""@type":"generic_error""#) && text.contains("slow or stalled client"), "{}", &text[text.len().saturating_sub(600)..]);
}
