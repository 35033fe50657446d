//! The distributed herder over an embedded broker (as `brook server` runs it in-process): a
//! connector created through the `Herder` trait runs, and after the worker stops and a new one
//! starts on the same broker the connector is still there (config topic) and the source resumes
//! from its stored offset (offset topic): nothing is delivered twice after a clean stop.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use brook_broker::server::{serve, ServerConfig};
use brook_broker::Broker;
use brook_connect::herder::State;
use brook_connect::{Clients, Config, DistributedConfig, DistributedHerder, Herder, Plugins};

use crate::standalone::{append, broker, lines, props, sink, source, wait_for};

async fn start(b: &Broker, addr: &str) -> Arc<DistributedHerder> {
    start_with(b, addr, "", Plugins::default()).await
}

/// A distributed worker over the embedded broker `b` (its listener at `addr`): String
/// converters, fast flushes and heartbeats, then the worker keys of `extra`.
pub(crate) async fn start_with(b: &Broker, addr: &str, extra: &str, plugins: Plugins) -> Arc<DistributedHerder> {
    let overrides: Config = props(&format!(
        "key.converter=org.apache.kafka.connect.storage.StringConverter\nvalue.converter=org.apache.kafka.connect.storage.StringConverter\n\
         offset.flush.interval.ms=50\nheartbeat.interval.ms=300\nsession.timeout.ms=6000\noffset.storage.partitions=2\nstatus.storage.partitions=1\n{extra}"
    ));
    let cfg = DistributedConfig::with_defaults(addr, "127.0.0.1:8083", &overrides).unwrap();
    let clients = Clients::embedded(b.clone());
    let h = tokio::task::spawn_blocking(move || DistributedHerder::start(clients, cfg, plugins)).await.unwrap().unwrap();
    // The readiness signal, not polling: this fails if the herder thread never sets it.
    assert!(tokio::time::timeout(Duration::from_secs(20), h.ready()).await.is_ok(), "timed out waiting for the worker in its group");
    assert!(h.is_ready());
    h
}

pub(crate) async fn stop(h: Arc<DistributedHerder>) {
    tokio::task::spawn_blocking(move || h.stop()).await.unwrap();
}

/// The embedded broker's Kafka listener (the workers' group membership speaks the wire
/// protocol): its address, and what stops it.
pub(crate) async fn listen(b: &Broker) -> (String, tokio::sync::oneshot::Sender<()>, tokio::task::JoinHandle<brook_broker::Result<()>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let mut sc = ServerConfig::default();
    sc.listen = listener.local_addr().unwrap();
    let (stop_server, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(serve(b.clone(), listener, sc, stopped));
    (addr, stop_server, server)
}

/// Creates a connector, retrying while the group rebalances (409, as a REST client would).
pub(crate) async fn create(h: &DistributedHerder, name: &str, config: Config) {
    for _ in 0..300 {
        match h.put_connector_config(name, config.clone(), false).await {
            Ok(c) => {
                assert!(c.created);
                return;
            }
            Err(brook_connect::Error::Conflict(_)) => tokio::time::sleep(Duration::from_millis(100)).await,
            Err(e) => panic!("{e}"),
        }
    }
    panic!("{name} not created in 30 s");
}

pub(crate) async fn running(h: &DistributedHerder, name: &str) -> bool {
    h.connector_status(name).await.is_ok_and(|s| s.connector.state == State::Running && !s.tasks.is_empty() && s.tasks.iter().all(|t| t.state == State::Running))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connectors_and_source_offsets_survive_a_worker_restart() {
    let dir = tempfile::tempdir().unwrap();
    let d: &Path = dir.path();
    let b = broker(d).await;
    let (addr, stop_server, server) = listen(&b).await;
    let (input, output) = (d.join("in.txt"), d.join("out.txt"));
    append(&input, "a\nb\n");

    let h = start(&b, &addr).await;
    create(&h, "local-file-source", source(d)).await;
    create(&h, "local-file-sink", sink(d)).await;
    assert_eq!(h.connectors().await.unwrap(), vec!["local-file-sink".to_owned(), "local-file-source".to_owned()]);
    assert!(matches!(h.put_connector_config("local-file-sink", sink(d), false).await, Err(brook_connect::Error::AlreadyExists(_))));
    let out = output.clone();
    wait_for("both lines in the sink", move || lines(&out) == ["a", "b"]).await;
    let mut ok = false;
    for _ in 0..100 {
        if running(&h, "local-file-source").await && running(&h, "local-file-sink").await {
            ok = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(ok, "{:?}", h.connector_status("local-file-source").await);
    assert_eq!(h.task_configs("local-file-source").await.unwrap().len(), 1);
    let offsets = h.connector_offsets("local-file-source").await.unwrap();
    assert_eq!(serde_json::to_string(&offsets).unwrap(), format!(r#"{{"offsets":[{{"partition":{{"filename":"{}"}},"offset":{{"position":4}}}}]}}"#, input.display()));
    stop(h).await;

    // A new worker on the same broker: the connectors come back from the config topic, the
    // source resumes at position 4 and the sink after its committed offset.
    append(&input, "c\n");
    let h = start(&b, &addr).await;
    assert_eq!(h.connectors().await.unwrap().len(), 2);
    let out = output.clone();
    wait_for("the new line in the sink", move || lines(&out).len() >= 3).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(lines(&output), ["a", "b", "c"]);
    let mut deleted = h.delete_connector("local-file-sink").await;
    for _ in 0..300 {
        if !matches!(deleted, Err(brook_connect::Error::Conflict(_))) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        deleted = h.delete_connector("local-file-sink").await;
    }
    deleted.unwrap();
    assert_eq!(h.connectors().await.unwrap(), vec!["local-file-source".to_owned()]);
    stop(h).await;
    let _ = stop_server.send(());
    server.await.unwrap().unwrap();
    b.shutdown().await;
}

/// `ready()` waits for the group: a worker whose coordinator does not answer yet (its
/// listener bound, the broker not serving it) is not ready and `ready()` keeps waiting; once
/// the broker serves the listener, the pending join goes through and `ready()` returns.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ready_waits_until_the_worker_is_in_its_group() {
    let dir = tempfile::tempdir().unwrap();
    let b = broker(dir.path()).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let overrides = props(
        "key.converter=org.apache.kafka.connect.storage.StringConverter\nvalue.converter=org.apache.kafka.connect.storage.StringConverter\n\
         heartbeat.interval.ms=300\nsession.timeout.ms=6000\noffset.storage.partitions=2\nstatus.storage.partitions=1\n",
    );
    let cfg = DistributedConfig::with_defaults(&addr.to_string(), "127.0.0.1:8083", &overrides).unwrap();
    let clients = Clients::embedded(b.clone());
    let h = tokio::task::spawn_blocking(move || DistributedHerder::start(clients, cfg, Plugins::default())).await.unwrap().unwrap();

    assert!(tokio::time::timeout(Duration::from_secs(1), h.ready()).await.is_err(), "ready before the coordinator answered");
    assert!(!h.is_ready());

    let mut sc = ServerConfig::default();
    sc.listen = addr;
    let (stop_server, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(serve(b.clone(), listener, sc, stopped));
    assert!(tokio::time::timeout(Duration::from_secs(20), h.ready()).await.is_ok(), "timed out waiting for the worker in its group");
    assert!(h.is_ready());

    stop(h).await;
    let _ = stop_server.send(());
    server.await.unwrap().unwrap();
    b.shutdown().await;
}
