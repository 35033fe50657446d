//! Python clients in a throwaway venv, driven from Rust: confluent-kafka (a newer bundled
//! librdkafka) against the broker, ksql-python-ng against the ksqlDB REST API.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::util::TestServer;

/// A venv with confluent-kafka, created once under the target directory; `None` when pip cannot
/// install it (offline machine).
fn venv() -> Option<PathBuf> {
    brook_common::test_support::python_venv("import confluent_kafka", &["confluent-kafka"])
}


#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn confluent_kafka_python_client() {
    let Some(py) = tokio::task::spawn_blocking(venv).await.unwrap() else {
        eprintln!("SKIPPED: could not create a venv with confluent-kafka (pip install failed)");
        return;
    };
    let srv = TestServer::start().await;
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("python/client_test.py");
    let addr = srv.addr.clone();
    let out = tokio::task::spawn_blocking(move || Command::new(py).arg(script).arg(addr).output().unwrap())
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "python client failed:\n{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("ALL OK"), "{stdout}");
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ksql_python_client_against_the_rest_api() {
    // ksql-python-ng 0.29.0.1 passes `cert=` to httpx functions that lost it in httpx 0.28.
    let check = "import ksql, httpx; assert tuple(map(int, httpx.__version__.split('.')[:2])) < (0, 28)";
    let packages = ["ksql-python-ng==0.29.0.1", "httpx<0.28"];
    let Some(py) = tokio::task::spawn_blocking(move || brook_common::test_support::python_venv(check, &packages)).await.unwrap() else {
        eprintln!("SKIPPED: could not create a venv with ksql-python-ng (pip install failed)");
        return;
    };
    let srv = TestServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let users = dir.path().join("users.properties");
    std::fs::write(&users, "fred: letmein,admin\n").unwrap();
    let config = brook_ksql_server::KsqlServerConfig {
        auth: Some(std::sync::Arc::new(brook_ksql_server::BasicAuth::from_file(&users).unwrap())),
        ..Default::default()
    };
    let mut engine = brook_sql_engine::EngineConfig::live(srv.broker.clone(), dir.path().join("ksql"));
    engine.properties.insert("ksql.streams.commit.interval.ms".into(), "50".into());
    let ksql = brook_ksql_server::KsqlServer::start(engine, config).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let served = tokio::spawn(ksql.serve(listener, async move {
        let _ = stopped.await;
    }));

    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("python/ksql_client_test.py");
    let out = tokio::task::spawn_blocking(move || Command::new(py).arg(script).args([url.as_str(), "fred", "letmein"]).output().unwrap())
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "python ksql client failed:\n{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("ALL OK"), "{stdout}");
    let _ = stop.send(());
    served.await.unwrap().unwrap();
    srv.stop().await;
}

/// confluent-kafka's `SchemaRegistryClient` and Avro serializer against Brook's Schema
/// Registry: register, evolve (compatible, and incompatible: 409), ids global across subjects,
/// get by id, subjects and versions, soft and permanent deletes, compatibility settings.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn confluent_schema_registry_client() {
    let check = "import confluent_kafka.schema_registry.avro, fastavro";
    let packages = ["confluent-kafka[avro,schemaregistry]"];
    let Some(py) = tokio::task::spawn_blocking(move || brook_common::test_support::python_venv(check, &packages)).await.unwrap() else {
        eprintln!("SKIPPED: could not create a venv with confluent-kafka[avro,schemaregistry] (pip install failed)");
        return;
    };
    let srv = TestServer::start().await;
    let log = std::sync::Arc::new(brook_schema_registry::EmbeddedLog::open(srv.broker.clone(), "_schemas").unwrap());
    let registry = brook_schema_registry::SchemaRegistry::start(log, Default::default()).await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let served = tokio::spawn(brook_schema_registry::serve(registry, listener, async move {
        let _ = stopped.await;
    }));
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("python/schema_registry_test.py");
    let out = tokio::task::spawn_blocking(move || Command::new(py).arg(script).arg(url).output().unwrap()).await.unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "python schema registry client failed:\n{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("ALL OK"), "{stdout}");
    let _ = stop.send(());
    served.await.unwrap().unwrap();
    srv.stop().await;
}
