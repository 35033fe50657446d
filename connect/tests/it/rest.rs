//! Connect's REST API over real HTTP against a standalone herder running FileStream
//! connectors on a real embedded broker: one golden transcript (`METHOD path -> status body`)
//! of the whole lifecycle, in Connect's bodies and status codes.

use std::fmt::Write as _;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use brook_connect::offsets::{FileOffsetStore, OffsetStore};
use brook_connect::{Herder, Plugins, StandaloneHerder, Worker};
use serde_json::{json, Value};

use crate::standalone::{append, broker, lines, props};

struct Client {
    http: reqwest::Client,
    base: String,
    dir: String,
    transcript: String,
}

impl Client {
    /// Sends a request, records it and its answer (the temporary directory as `$DIR`).
    async fn call(&mut self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        let (status, text) = self.text(method, path, body.map(|b| b.to_string())).await;
        // The body as sent: Connect's field order, not re-serialized.
        writeln!(self.transcript, "{method} {path} -> {status}\n{}\n", text.replace(&self.dir, "$DIR")).unwrap();
        (status, if text.is_empty() { Value::Null } else { serde_json::from_str(&text).unwrap() })
    }

    async fn raw(&self, method: &str, path: &str, body: Option<String>) -> (u16, Value) {
        let (status, text) = self.text(method, path, body).await;
        (status, if text.is_empty() { Value::Null } else { serde_json::from_str(&text).unwrap_or(Value::String(text)) })
    }

    async fn text(&self, method: &str, path: &str, body: Option<String>) -> (u16, String) {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut req = self.http.request(method, format!("{}{path}", self.base));
        if let Some(b) = body {
            req = req.header("content-type", "application/json").body(b);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        (status, resp.text().await.unwrap())
    }

    /// Waits until `GET path` answers a body `ok` accepts.
    async fn wait(&self, path: &str, what: &str, ok: impl Fn(&Value) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let (_, body) = self.raw("GET", path, None).await;
            if ok(&body) {
                return;
            }
            assert!(Instant::now() < deadline, "timed out waiting for {what}: {body}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

async fn start(d: &Path) -> (brook_broker::Broker, Arc<StandaloneHerder>, Client, tokio::sync::oneshot::Sender<()>) {
    let b = broker(d).await;
    let offsets: Arc<dyn OffsetStore> = Arc::new(FileOffsetStore::open(d.join("connect.offsets")).unwrap());
    let worker_props = props("key.converter=org.apache.kafka.connect.storage.StringConverter\nvalue.converter=org.apache.kafka.connect.storage.StringConverter\n");
    let worker = Worker::new(b.clone(), worker_props, Duration::from_millis(50), Plugins::default(), offsets, "localhost:8083");
    let herder = Arc::new(StandaloneHerder::new(worker, "test-cluster"));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let dyn_herder: Arc<dyn Herder> = herder.clone();
    tokio::spawn(brook_connect::rest::serve(listener, dyn_herder, async move {
        let _ = stopped.await;
    }));
    let client = Client { http: reqwest::Client::new(), base, dir: d.display().to_string(), transcript: String::new() };
    (b, herder, client, stop)
}

fn task_state(body: &Value) -> &str {
    body["tasks"][0]["state"].as_str().unwrap_or("")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rest_api_lifecycle_golden() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (b, herder, mut c, stop) = start(d).await;
    let (input, output) = (d.join("in.txt"), d.join("out.txt"));
    append(&input, "one\ntwo\n");
    let source = json!({"connector.class": "FileStreamSource", "tasks.max": "1", "file": input.display().to_string(), "topic": "connect-test"});
    let sink = json!({"connector.class": "org.apache.kafka.connect.file.FileStreamSinkConnector", "file": output.display().to_string(), "topics": "connect-test"});

    c.call("GET", "/", None).await;
    c.call("GET", "/connector-plugins", None).await;
    // Bad configs: per-field errors from validate, and the same refused by create.
    let (status, body) = c.call("PUT", "/connector-plugins/FileStreamSinkConnector/config/validate", Some(json!({"connector.class": "FileStreamSink", "tasks.max": "zero"}))).await;
    assert_eq!((status, body["error_count"].as_u64()), (200, Some(5)));
    c.call("PUT", "/connector-plugins/FileStreamSource/config/validate", Some(json!({"connector.class": "FileStreamSink"}))).await;
    c.call("POST", "/connectors", Some(json!({"name": "bad-source", "config": {"connector.class": "FileStreamSource", "topic": "a,b"}}))).await;
    c.call("POST", "/connectors", Some(json!({"name": "x", "config": {"connector.class": "NoSuchConnector"}}))).await;
    c.call("POST", "/connectors", Some(json!({"config": {}}))).await;
    c.call("POST", "/connectors", Some(json!({"name": "local-file-source", "config": {"name": "other", "connector.class": "FileStreamSource"}}))).await;
    c.raw("POST", "/connectors", Some("{not json".into())).await.0.eq(&400).then_some(()).expect("a bad JSON body is a 400");

    // Create: 201, then 409 for the same name; PUT config: 201 creating, 200 replacing.
    let (status, _) = c.call("POST", "/connectors", Some(json!({"name": "local-file-source", "config": source}))).await;
    assert_eq!(status, 201);
    c.call("POST", "/connectors", Some(json!({"name": "local-file-source", "config": source}))).await;
    c.call("PUT", "/connectors/local-file-sink/config", Some(sink.clone())).await;
    c.call("PUT", "/connectors/local-file-sink/config", Some(sink.clone())).await;
    let deadline = Instant::now() + Duration::from_secs(20);
    while lines(&output).len() < 2 {
        assert!(Instant::now() < deadline, "the sink never wrote both lines");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    c.wait("/connectors/local-file-sink/status", "the sink task RUNNING", |b| task_state(b) == "RUNNING").await;

    c.call("GET", "/connectors", None).await;
    c.call("GET", "/connectors?expand=status&expand=info", None).await;
    c.call("GET", "/connectors/local-file-source", None).await;
    c.call("GET", "/connectors/local-file-source/config", None).await;
    c.call("GET", "/connectors/local-file-source/status", None).await;
    c.call("GET", "/connectors/local-file-source/tasks", None).await;
    c.call("GET", "/connectors/local-file-source/tasks/0/status", None).await;
    c.call("GET", "/connectors/local-file-source/tasks/3/status", None).await;
    c.call("GET", "/connectors/local-file-source/topics", None).await;
    c.call("GET", "/connectors/nope/status", None).await;

    // Pause / resume: 202; the task reports PAUSED, then RUNNING.
    c.call("PUT", "/connectors/local-file-source/pause", None).await;
    c.wait("/connectors/local-file-source/status", "PAUSED", |b| task_state(b) == "PAUSED").await;
    c.call("GET", "/connectors/local-file-source/status", None).await;
    c.call("PUT", "/connectors/local-file-source/resume", None).await;
    c.wait("/connectors/local-file-source/status", "RUNNING", |b| task_state(b) == "RUNNING").await;

    // Restarts: 204 plain, 202 with the plan, task restart 204 / 404.
    c.call("POST", "/connectors/local-file-source/restart", None).await;
    c.call("POST", "/connectors/local-file-source/restart?includeTasks=true&onlyFailed=false", None).await;
    c.call("POST", "/connectors/local-file-source/restart?includeTasks=true&onlyFailed=true", None).await;
    c.call("POST", "/connectors/local-file-source/restart?includeTasks=maybe", None).await;
    c.call("POST", "/connectors/local-file-source/tasks/0/restart", None).await;
    c.call("POST", "/connectors/local-file-source/tasks/9/restart", None).await;

    // Offsets: readable always, changeable only when STOPPED.
    c.call("GET", "/connectors/local-file-source/offsets", None).await;
    let rewind = json!({"offsets": [{"partition": {"filename": input.display().to_string()}, "offset": {"position": 4}}]});
    c.call("PATCH", "/connectors/local-file-source/offsets", Some(rewind.clone())).await;
    c.call("PUT", "/connectors/local-file-source/stop", None).await;
    c.call("GET", "/connectors/local-file-source/status", None).await;
    c.call("GET", "/connectors/local-file-source", None).await;
    c.call("PATCH", "/connectors/local-file-source/offsets", Some(rewind)).await;
    c.call("GET", "/connectors/local-file-source/offsets", None).await;
    c.call("PUT", "/connectors/local-file-sink/stop", None).await;
    c.call("GET", "/connectors/local-file-sink/offsets", None).await;
    c.call("PATCH", "/connectors/local-file-sink/offsets", Some(json!({"offsets": [{"partition": {"kafka_topic": "connect-test", "kafka_partition": 0}, "offset": {"kafka_offset": 1}}]}))).await;
    c.call("PATCH", "/connectors/local-file-sink/offsets", Some(json!({"offsets": [{"partition": {"kafka_topic": "connect-test"}, "offset": {"kafka_offset": 1}}]}))).await;
    c.call("GET", "/connectors/local-file-sink/offsets", None).await;
    c.call("DELETE", "/connectors/local-file-sink/offsets", None).await;
    c.call("GET", "/connectors/local-file-sink/offsets", None).await;
    // Resumed from the altered offset, the source re-sends "two"; the reset sink reads the
    // topic from the start: one, two, two.
    c.call("PUT", "/connectors/local-file-source/resume", None).await;
    c.call("PUT", "/connectors/local-file-sink/resume", None).await;
    let deadline = Instant::now() + Duration::from_secs(20);
    while lines(&output).len() < 5 {
        assert!(Instant::now() < deadline, "the sink never wrote the rewound lines: {:?}", lines(&output));
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(lines(&output), ["one", "two", "one", "two", "two"]);

    // A task that cannot start is FAILED with its error as trace; onlyFailed restarts it alone.
    let broken = json!({"connector.class": "FileStreamSink", "file": "/nonexistent-brook-dir/out.txt", "topics": "connect-test"});
    c.call("PUT", "/connectors/broken-sink/config", Some(broken)).await;
    c.call("GET", "/connectors/broken-sink/status", None).await;
    c.call("POST", "/connectors/broken-sink/restart?includeTasks=true&onlyFailed=true", None).await;
    c.call("GET", "/connectors/broken-sink/tasks/0/status", None).await;

    c.call("PUT", "/connectors/local-file-source/topics/reset", None).await;
    c.call("GET", "/connectors/local-file-source/topics", None).await;
    c.call("DELETE", "/connectors/local-file-source", None).await;
    c.call("GET", "/connectors/local-file-source", None).await;
    c.call("DELETE", "/connectors/local-file-source", None).await;
    c.call("GET", "/no/such/path", None).await;
    c.call("DELETE", "/connectors", None).await;
    insta::assert_snapshot!(c.transcript);
    herder.stop_all().await;
    let _ = stop.send(());
    b.shutdown().await;
}
