//! The registry over a real embedded broker and real HTTP: golden REST bodies, restarts, two
//! registries on one topic.

use std::sync::Arc;
use std::time::{Duration, Instant};

use brook_broker::{Broker, BrokerConfig};
use brook_schema_registry::{EmbeddedLog, RegistryConfig, SchemaRegistry, SchemaRequest, VersionSpec};

struct Server {
    url: String,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    served: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

impl Server {
    async fn start(registry: SchemaRegistry) -> Server {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let served = tokio::spawn(brook_schema_registry::serve(registry, listener, async move {
            let _ = stopped.await;
        }));
        Server { url, stop: Some(stop), served: Some(served) }
    }

    async fn stop(mut self) {
        let _ = self.stop.take().unwrap().send(());
        self.served.take().unwrap().await.unwrap().unwrap();
    }
}

async fn registry(broker: &Broker) -> SchemaRegistry {
    let log = Arc::new(EmbeddedLog::open(broker.clone(), "_schemas").unwrap());
    SchemaRegistry::start(log, RegistryConfig::default()).await.unwrap()
}

/// Runs the requests, one `METHOD path [body]` per entry, and prints each answer as
/// `status content-type body`.
async fn transcript(url: &str, steps: &[(&str, &str, Option<&str>)]) -> String {
    let client = reqwest::Client::new();
    let mut out = String::new();
    for (method, path, body) in steps {
        let mut req = client.request(method.parse().unwrap(), format!("{url}{path}"));
        if let Some(b) = body {
            req = req.header("content-type", "application/vnd.schemaregistry.v1+json").body(b.to_string());
        }
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        let ct = resp.headers().get("content-type").map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
        let text = resp.text().await.unwrap();
        out.push_str(&format!("{method} {path}\n  -> {status} {ct}\n  {text}\n"));
    }
    out
}

const USER_V1: &str = r#"{"schema":"{\"type\":\"record\",\"name\":\"User\",\"fields\":[{\"name\":\"name\",\"type\":\"string\"}]}"}"#;
const USER_V2: &str = r#"{"schema":"{\"type\":\"record\",\"name\":\"User\",\"fields\":[{\"name\":\"name\",\"type\":\"string\"},{\"name\":\"age\",\"type\":\"int\",\"default\":0}]}"}"#;
const USER_BAD: &str = r#"{"schema":"{\"type\":\"record\",\"name\":\"User\",\"fields\":[{\"name\":\"name\",\"type\":\"string\"},{\"name\":\"email\",\"type\":\"string\"}]}"}"#;
const JSON_V1: &str = r#"{"schemaType":"JSON","schema":"{\"type\":\"object\",\"properties\":{\"a\":{\"type\":\"string\"}}}"}"#;
const JSON_ADDED: &str = r#"{"schemaType":"JSON","schema":"{\"type\":\"object\",\"properties\":{\"a\":{\"type\":\"string\"},\"b\":{\"type\":\"integer\"}}}"}"#;
const PROTO_V1: &str = r#"{"schemaType":"PROTOBUF","schema":"syntax = \"proto3\";\npackage p;\nmessage M { string a = 1; int32 b = 2; }\n"}"#;
const PROTO_BAD: &str = r#"{"schemaType":"PROTOBUF","schema":"syntax = \"proto3\";\npackage p;\nmessage M { string a = 1; string b = 2; }\n"}"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rest_api_golden() {
    let dir = tempfile::tempdir().unwrap();
    let broker = Broker::open(BrokerConfig::new(dir.path())).await.unwrap();
    let srv = Server::start(registry(&broker).await).await;
    let steps: Vec<(&str, &str, Option<&str>)> = vec![
        ("GET", "/subjects", None),
        ("GET", "/schemas/types", None),
        ("GET", "/config", None),
        ("POST", "/subjects/users-value/versions", Some(USER_V1)),
        ("POST", "/subjects/users-value/versions", Some(USER_V1)),
        ("POST", "/subjects/users-value/versions", Some(USER_V2)),
        ("POST", "/subjects/users-value/versions", Some(USER_BAD)),
        ("POST", "/subjects/users-value/versions", Some(r#"{"schema":"{\"type\":\"recrd\"}"}"#)),
        ("POST", "/subjects/users-value/versions", Some("{not json")),
        ("POST", "/subjects/other-value/versions", Some(USER_V1)),
        ("GET", "/subjects", None),
        ("GET", "/subjects/users-value/versions", None),
        ("GET", "/subjects/users-value/versions/1", None),
        ("GET", "/subjects/users-value/versions/latest", None),
        ("GET", "/subjects/users-value/versions/2/schema", None),
        ("GET", "/subjects/users-value/versions/0", None),
        ("GET", "/subjects/users-value/versions/9", None),
        ("GET", "/subjects/nope/versions", None),
        ("GET", "/schemas/ids/1", None),
        ("GET", "/schemas/ids/1/schema", None),
        ("GET", "/schemas/ids/1/versions", None),
        ("GET", "/schemas/ids/1/subjects", None),
        ("GET", "/schemas/ids/99", None),
        ("POST", "/subjects/users-value", Some(USER_V2)),
        ("POST", "/subjects/users-value", Some(USER_BAD)),
        ("POST", "/compatibility/subjects/users-value/versions/latest", Some(USER_BAD)),
        ("POST", "/compatibility/subjects/users-value/versions/latest?verbose=true", Some(USER_V2)),
        ("GET", "/config/users-value", None),
        ("GET", "/config/users-value?defaultToGlobal=true", None),
        ("PUT", "/config/users-value", Some(r#"{"compatibility":"NONE"}"#)),
        ("PUT", "/config/users-value", Some(r#"{"compatibility":"SIDEWAYS"}"#)),
        ("POST", "/subjects/users-value/versions", Some(USER_BAD)),
        ("GET", "/config/users-value", None),
        ("DELETE", "/config/users-value", None),
        ("PUT", "/config", Some(r#"{"compatibility":"FULL_TRANSITIVE"}"#)),
        ("GET", "/config", None),
        ("PUT", "/config", Some(r#"{"compatibility":"BACKWARD"}"#)),
        ("POST", "/subjects/json-value/versions", Some(JSON_V1)),
        ("POST", "/subjects/json-value/versions", Some(JSON_ADDED)),
        ("GET", "/subjects/json-value/versions/1", None),
        ("POST", "/subjects/proto-value/versions", Some(PROTO_V1)),
        ("POST", "/subjects/proto-value/versions", Some(PROTO_BAD)),
        ("POST", "/subjects/proto-value/versions", Some(r#"{"schemaType":"PROTOBUF","schema":"message {"}"#)),
        ("GET", "/schemas/ids/5", None),
        ("DELETE", "/subjects/users-value/versions/1?permanent=true", None),
        ("DELETE", "/subjects/users-value/versions/1", None),
        ("DELETE", "/subjects/users-value/versions/1", None),
        ("GET", "/subjects/users-value/versions", None),
        ("GET", "/subjects/users-value/versions?deleted=true", None),
        ("GET", "/subjects/users-value/versions/1?deleted=true", None),
        ("DELETE", "/subjects/users-value/versions/1?permanent=true", None),
        ("DELETE", "/subjects/other-value?permanent=true", None),
        ("DELETE", "/subjects/other-value", None),
        ("DELETE", "/subjects/other-value", None),
        ("GET", "/subjects", None),
        ("GET", "/subjects?deleted=true", None),
        ("DELETE", "/subjects/other-value?permanent=true", None),
        ("GET", "/subjects?deleted=true", None),
        ("GET", "/schemas/ids/1", None),
        ("POST", "/subjects/other-value/versions", Some(USER_V1)),
        ("GET", "/mode", None),
        ("PUT", "/mode", Some(r#"{"mode":"READONLY"}"#)),
        ("POST", "/subjects/users-value/versions", Some(USER_V1)),
        ("PUT", "/mode", Some(r#"{"mode":"SOMETIMES"}"#)),
        ("PUT", "/mode", Some(r#"{"mode":"IMPORT"}"#)),
        ("PUT", "/mode", Some(r#"{"mode":"READWRITE"}"#)),
        ("GET", "/mode/users-value", None),
        ("GET", "/no/such/path", None),
    ];
    let out = transcript(&srv.url, &steps).await;
    insta::assert_snapshot!(out);
    srv.stop().await;
    broker.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn content_types_and_references() {
    let dir = tempfile::tempdir().unwrap();
    let broker = Broker::open(BrokerConfig::new(dir.path())).await.unwrap();
    let srv = Server::start(registry(&broker).await).await;
    let client = reqwest::Client::new();
    for ct in ["application/json", "application/octet-stream", "application/vnd.schemaregistry.v1+json"] {
        let r = client.post(format!("{}/subjects/ct-{}/versions", srv.url, ct.len())).header("content-type", ct).body(USER_V1).send().await.unwrap();
        assert_eq!(r.status(), 200, "{ct}");
        assert_eq!(r.text().await.unwrap(), r#"{"id":1}"#, "{ct}: one schema, one id in every subject");
    }
    let inner = r#"{"schema":"{\"type\":\"record\",\"name\":\"Inner\",\"namespace\":\"n\",\"fields\":[{\"name\":\"x\",\"type\":\"int\"}]}"}"#;
    let r = client.post(format!("{}/subjects/inner/versions", srv.url)).body(inner).send().await.unwrap();
    assert_eq!(r.text().await.unwrap(), r#"{"id":2}"#);
    let outer = serde_json::json!({
        "schema": r#"{"type":"record","name":"Outer","namespace":"n","fields":[{"name":"i","type":"n.Inner"}]}"#,
        "references": [{"name": "n.Inner", "subject": "inner", "version": 1}],
    });
    let r = client.post(format!("{}/subjects/outer/versions", srv.url)).body(outer.to_string()).send().await.unwrap();
    assert_eq!(r.text().await.unwrap(), r#"{"id":3}"#);
    let r = client.get(format!("{}/subjects/outer/versions/1", srv.url)).send().await.unwrap();
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["references"], serde_json::json!([{"name": "n.Inner", "subject": "inner", "version": 1}]));
    let r = client.get(format!("{}/subjects/inner/versions/1/referencedby", srv.url)).send().await.unwrap();
    assert_eq!(r.text().await.unwrap(), "[3]");
    let r = client.delete(format!("{}/subjects/inner/versions/1", srv.url)).send().await.unwrap();
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("42206"));
    let missing = serde_json::json!({"schema": outer["schema"], "references": [{"name": "n.Inner", "subject": "inner", "version": 7}]});
    let r = client.post(format!("{}/subjects/outer2/versions", srv.url)).body(missing.to_string()).send().await.unwrap();
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("42201"));
    srv.stop().await;
    broker.shutdown().await;
}

async fn wait_for(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_and_a_second_registry_see_the_same_ids() {
    let dir = tempfile::tempdir().unwrap();
    let broker = Broker::open(BrokerConfig::new(dir.path())).await.unwrap();
    let a = registry(&broker).await;
    let b = registry(&broker).await;
    let v1 = SchemaRequest::avro(r#"{"type":"record","name":"R","fields":[{"name":"a","type":"int"}]}"#);
    let v2 = SchemaRequest::avro(r#"{"type":"record","name":"R","fields":[{"name":"a","type":"int"},{"name":"b","type":"string","default":""}]}"#);
    assert_eq!(a.register("s1", &v1, false).await.unwrap(), 1);
    assert_eq!(a.register("s1", &v2, false).await.unwrap(), 2);
    assert_eq!(a.register("s2", &v2, false).await.unwrap(), 2);
    a.set_compatibility(Some("s2"), brook_schema_registry::Compatibility::Full).await.unwrap();
    a.delete_version("s1", VersionSpec::Number(1), false).await.unwrap();
    // The second registry follows the topic.
    wait_for("the second registry to see s2", || b.versions("s2", false).is_ok()).await;
    wait_for("the second registry to see the soft delete", || b.versions("s1", false).ok() == Some(vec![2])).await;
    assert_eq!(b.compatibility(Some("s2")), brook_schema_registry::Compatibility::Full);
    // An id the second registry hands out follows the first's.
    let v3 = SchemaRequest::avro(r#""string""#);
    assert_eq!(b.register("s3", &v3, false).await.unwrap(), 3);
    wait_for("the first registry to see s3", || a.versions("s3", false).is_ok()).await;
    drop((a, b));
    broker.shutdown().await;
    drop(broker);

    let broker = Broker::open(BrokerConfig::new(dir.path())).await.unwrap();
    let c = registry(&broker).await;
    assert_eq!(c.versions("s1", true).unwrap(), vec![1, 2]);
    assert_eq!(c.versions("s1", false).unwrap(), vec![2]);
    assert_eq!(c.version("s2", VersionSpec::Latest, false).unwrap().id, 2);
    assert_eq!(c.schema_by_id(3, None).unwrap().schema, r#""string""#);
    assert_eq!(c.compatibility(Some("s2")), brook_schema_registry::Compatibility::Full);
    assert_eq!(c.register("s1", &v1, false).await.unwrap(), 1, "the soft-deleted schema keeps its id");
    assert_eq!(c.versions("s1", false).unwrap(), vec![2, 3]);
    broker.shutdown().await;
}
