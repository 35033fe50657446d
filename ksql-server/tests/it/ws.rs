//! `/ws/query`: ksqlDB's WebSocket query endpoint, with a real WebSocket client.

use std::time::Duration;

use futures::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::Message;

use crate::queries::create_s;
use crate::support::TestServer;

type Socket = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// `ws://.../ws/query?request=...` for `request` (a JSON value or raw text).
pub(crate) fn ws_url(srv: &TestServer, request: &str) -> String {
    let base = srv.url.replacen("http", "ws", 1);
    reqwest::Url::parse_with_params(&format!("{base}/ws/query"), &[("request", request)]).unwrap().to_string()
}

pub(crate) async fn connect(url: &str, authorization: Option<&str>) -> Socket {
    let mut req = url.into_client_request().unwrap();
    if let Some(a) = authorization {
        req.headers_mut().insert("authorization", a.parse().unwrap());
    }
    tokio_tungstenite::connect_async(req).await.unwrap().0
}

/// What the server sent until it closed: the text messages, then the close code and reason.
#[derive(Debug)]
pub(crate) enum Got {
    Text(Value),
    Closed(u16, String),
}

impl Got {
    /// As JSON, for snapshots: a text message as itself, a close as `{"close":code,"reason":..}`.
    pub(crate) fn json(&self) -> Value {
        match self {
            Got::Text(v) => v.clone(),
            Got::Closed(code, reason) => json!({ "close": code, "reason": reason }),
        }
    }
}

pub(crate) async fn next(ws: &mut Socket) -> Got {
    loop {
        let msg = tokio::time::timeout(Duration::from_secs(60), ws.next()).await.expect("no message within 60 s");
        match msg.expect("the stream ended without a close frame").unwrap() {
            Message::Text(t) => return Got::Text(serde_json::from_str(&t).unwrap_or(Value::String(t.to_string()))),
            Message::Close(Some(f)) => return Got::Closed(u16::from(f.code), f.reason.to_string()),
            Message::Close(None) => return Got::Closed(1005, String::new()),
            _ => {}
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn push_query_sends_schema_then_rows_then_closes_at_its_limit() {
    let srv = TestServer::start().await;
    create_s(&srv).await;
    let request = json!({ "ksql": "SELECT ID, NAME, AMOUNT FROM S EMIT CHANGES LIMIT 2;", "streamsProperties": {} }).to_string();
    let mut ws = connect(&ws_url(&srv, &request), None).await;
    let Got::Text(schema) = next(&mut ws).await else { panic!("no schema") };
    insta::assert_json_snapshot!("ws_push_schema", schema);
    srv.ksql("INSERT INTO S (ID, NAME, AMOUNT) VALUES (1, 'a', 1.5); INSERT INTO S (ID, NAME, AMOUNT) VALUES (2, 'b', 2.5);").await;
    let mut got = vec![];
    for _ in 0..3 {
        got.push(next(&mut ws).await.json());
    }
    insta::assert_json_snapshot!("ws_push_rows", got);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pull_query_and_print_send_everything_then_close() {
    let srv = TestServer::start().await;
    create_s(&srv).await;
    srv.ksql("INSERT INTO S (ID, NAME, AMOUNT) VALUES (1, 'a', 1.5); INSERT INTO S (ID, NAME, AMOUNT) VALUES (2, 'b', 2.5);").await;
    let request = json!({ "ksql": "SELECT ID, NAME FROM S WHERE AMOUNT > 2;" }).to_string();
    let mut ws = connect(&format!("{}&version=1", ws_url(&srv, &request)), None).await;
    let mut got = vec![];
    loop {
        let g = next(&mut ws).await;
        let done = matches!(g, Got::Closed(..));
        got.push(g.json());
        if done {
            break;
        }
    }
    insta::assert_json_snapshot!("ws_pull", got);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests_close_the_socket_with_ksqldb_reasons() {
    let srv = TestServer::start().await;
    create_s(&srv).await;
    let base = srv.url.replacen("http", "ws", 1);
    let cases = [
        format!("{base}/ws/query"),
        ws_url(&srv, "{not json"),
        ws_url(&srv, &json!({ "ksql": "" }).to_string()),
        ws_url(&srv, &json!({ "ksql": "SELECT * FROM S EMIT CHANGES;", "streamsProperties": { "no.such.property": 1 } }).to_string()),
        format!("{}&version=9", ws_url(&srv, &json!({ "ksql": "SELECT * FROM S EMIT CHANGES;" }).to_string())),
        ws_url(&srv, &json!({ "ksql": "SELECT * FROM NOPE EMIT CHANGES;" }).to_string()),
        ws_url(&srv, &json!({ "ksql": "SELEKT 1;" }).to_string()),
        ws_url(&srv, &json!({ "ksql": "SHOW STREAMS;" }).to_string()),
    ];
    let mut got = vec![];
    for url in &cases {
        let mut ws = connect(url, None).await;
        let g = next(&mut ws).await;
        assert!(matches!(g, Got::Closed(1003, _)), "{url}: {g:?}");
        got.push(g.json());
    }
    insta::assert_json_snapshot!("ws_errors", got);

    // A plain GET is no upgrade: a ksqlDB error body, and the server is still up.
    let (status, _, body) = srv.get("/ws/query").await;
    assert_eq!(status, 400);
    assert_eq!(body["@type"], "generic_error", "{body}");
    assert_eq!(srv.get("/info").await.0, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn closing_the_socket_stops_the_push_query() {
    let srv = TestServer::start().await;
    create_s(&srv).await;
    let request = json!({ "ksql": "SELECT * FROM S EMIT CHANGES;" }).to_string();
    let mut ws = connect(&ws_url(&srv, &request), None).await;
    assert!(matches!(next(&mut ws).await, Got::Text(Value::Array(_))));
    srv.ksql("INSERT INTO S (ID, NAME, AMOUNT) VALUES (7, 'x', 0.5);").await;
    let Got::Text(row) = next(&mut ws).await else { panic!("no row") };
    assert_eq!(row, json!({ "row": { "columns": [7, "x", 0.5] } }));
    // While the socket is open the query runs: registered for /close-query and reading S.
    let subscribers = |feeds: Vec<brook_sql_engine::engine::fanout::FeedStats>| feeds.iter().filter(|f| f.source == "S").map(|f| f.subscribers).sum::<usize>();
    assert_eq!(srv.server.running_push_queries(), ["transient_S_0"]);
    assert_eq!(subscribers(srv.server.shared_push_feeds().await.unwrap()), 1);
    ws.send(Message::Close(Some(tokio_tungstenite::tungstenite::protocol::CloseFrame { code: CloseCode::Normal, reason: "bye".into() }))).await.unwrap();
    while let Some(Ok(_)) = ws.next().await {}
    // Then it stops: unregistered, and gone from S's reader.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while !srv.server.running_push_queries().is_empty() || subscribers(srv.server.shared_push_feeds().await.unwrap()) != 0 {
        assert!(std::time::Instant::now() < deadline, "the push query still runs after its socket closed");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let (status, _, body) = srv.post("/close-query", &json!({ "queryId": "transient_S_0" })).await;
    assert_eq!((status, body["message"].as_str()), (400, Some("No query with id transient_S_0")));
}
