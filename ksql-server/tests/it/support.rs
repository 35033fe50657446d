//! A REST server on a free port over a fresh broker, and a client for it.

use std::time::Duration;

use brook_broker::{Broker, BrokerConfig};
use brook_ksql_server::{KsqlServer, KsqlServerConfig};
use brook_sql_engine::EngineConfig;
use futures::StreamExt;
use serde_json::Value;

/// A running server; stops when dropped.
pub(crate) struct TestServer {
    pub(crate) url: String,
    pub(crate) client: reqwest::Client,
    /// The server, for what the REST API does not show.
    pub(crate) server: KsqlServer,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    served: Option<tokio::task::JoinHandle<Result<(), brook_ksql_server::Error>>>,
    broker: Broker,
    dir: tempfile::TempDir,
}

impl TestServer {
    pub(crate) async fn start() -> Self {
        Self::start_with(KsqlServerConfig::default(), reqwest::Client::new()).await
    }

    /// A server with `config` (its body limit set to 64 KiB), spoken to by `client`; the URL is
    /// `https://localhost:port` when `config.tls` is set.
    pub(crate) async fn start_with(config: KsqlServerConfig, client: reqwest::Client) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let mut bc = BrokerConfig::new(dir.path().join("log"));
        bc.group_initial_rebalance_delay = Duration::ZERO;
        let broker = Broker::open(bc).await.unwrap();
        Self::serve(broker, dir, config, client).await
    }

    /// Stops the server (and its engine), then starts a new one over the same broker.
    pub(crate) async fn restart(mut self) -> Self {
        let _ = self.stop.take().unwrap().send(());
        self.served.take().unwrap().await.unwrap().unwrap();
        let broker = self.broker.clone();
        let dir = std::mem::replace(&mut self.dir, tempfile::tempdir().unwrap());
        Self::serve(broker, dir, KsqlServerConfig::default(), self.client.clone()).await
    }

    /// Stops the server and waits until its engine closed its queries (their stores with them),
    /// so no query outlives the test (a RocksDB store still open when the test binary exits can
    /// crash it).
    pub(crate) async fn stop(mut self) {
        let _ = self.stop.take().unwrap().send(());
        self.served.take().unwrap().await.unwrap().unwrap();
    }

    /// A second server over the same broker (the same service id, its own state directory).
    pub(crate) async fn beside(&self) -> Self {
        Self::serve(self.broker.clone(), tempfile::tempdir().unwrap(), KsqlServerConfig::default(), self.client.clone()).await
    }

    async fn serve(broker: Broker, dir: tempfile::TempDir, config: KsqlServerConfig, client: reqwest::Client) -> Self {
        let mut engine = EngineConfig::live(broker.clone(), dir.path().join("state"));
        engine.properties.insert("ksql.streams.commit.interval.ms".into(), "50".into());
        engine.properties.insert("ksql.streams.cache.max.bytes.buffering".into(), "0".into());
        let scheme = if config.tls.is_some() { "https://localhost" } else { "http://127.0.0.1" };
        let config = KsqlServerConfig { max_body_bytes: 64 * 1024, ..config };
        let server = KsqlServer::start(engine, config).unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("{scheme}:{}", listener.local_addr().unwrap().port());
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let served = tokio::spawn(server.clone().serve(listener, async move {
            let _ = stopped.await;
        }));
        TestServer { url, client, server, stop: Some(stop), served: Some(served), broker, dir }
    }

    /// The broker the server runs on.
    pub(crate) fn broker(&self) -> &Broker {
        &self.broker
    }

    /// POSTs `body` (JSON text as given) and returns the status, content type and JSON body.
    pub(crate) async fn post_raw(&self, path: &str, body: impl Into<reqwest::Body>) -> (u16, String, Value) {
        let resp = self.client.post(format!("{}{path}", self.url)).body(body).send().await.unwrap();
        split(resp).await
    }

    pub(crate) async fn post(&self, path: &str, body: &Value) -> (u16, String, Value) {
        self.post_raw(path, body.to_string()).await
    }

    pub(crate) async fn get(&self, path: &str) -> (u16, String, Value) {
        split(self.client.get(format!("{}{path}", self.url)).send().await.unwrap()).await
    }

    /// Runs statements on `/ksql`, expecting success.
    pub(crate) async fn ksql(&self, ksql: &str) -> Value {
        let (status, _, body) = self.post("/ksql", &serde_json::json!({ "ksql": ksql, "streamsProperties": {} })).await;
        assert_eq!(status, 200, "{body}");
        body
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
    }
}

pub(crate) async fn split(resp: reqwest::Response) -> (u16, String, Value) {
    let status = resp.status().as_u16();
    let ct = resp.headers().get("content-type").map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
    let text = resp.text().await.unwrap();
    let body = if text.is_empty() { Value::Null } else { serde_json::from_str(&text).unwrap_or(Value::String(text)) };
    (status, ct, body)
}

/// Replaces volatile values (transient query ids, clock readings, the version) by placeholders.
pub(crate) fn mask(mut v: Value) -> Value {
    fn walk(v: &mut Value) {
        match v {
            Value::Object(m) => {
                for (k, x) in m.iter_mut() {
                    match (k.as_str(), &*x) {
                        ("lastStatusUpdateMs" | "updateTimeMs", _) => *x = Value::from(0),
                        ("version", Value::String(_)) => *x = Value::from("<version>"),
                        ("queryId", Value::String(s)) if s.starts_with("pull_") || s.starts_with("transient_") => *x = Value::from("<transient>"),
                        _ => walk(x),
                    }
                }
            }
            Value::Array(a) => a.iter_mut().for_each(walk),
            _ => {}
        }
    }
    walk(&mut v);
    v
}

/// The lines of a streamed response.
pub(crate) struct Lines {
    stream: futures::stream::BoxStream<'static, reqwest::Result<bytes::Bytes>>,
    buf: Vec<u8>,
}

impl Lines {
    pub(crate) fn new(resp: reqwest::Response) -> Self {
        Lines { stream: resp.bytes_stream().boxed(), buf: Vec::new() }
    }

    /// The next line, or `None` when the response ends (a guard fails the test after 60 s).
    pub(crate) async fn next(&mut self) -> Option<String> {
        loop {
            if let Some(at) = self.buf.iter().position(|b| *b == b'\n') {
                let line: Vec<u8> = self.buf.drain(..=at).collect();
                return Some(String::from_utf8(line).unwrap().trim_end().to_owned());
            }
            match tokio::time::timeout(Duration::from_secs(60), self.stream.next()).await.expect("no line within 60 s") {
                Some(chunk) => self.buf.extend_from_slice(&chunk.unwrap()),
                None if self.buf.is_empty() => return None,
                None => return Some(String::from_utf8(std::mem::take(&mut self.buf)).unwrap()),
            }
        }
    }
}
