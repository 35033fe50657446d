//! The standalone herder through the `Herder` trait: create, status, pause/resume/stop,
//! offsets, restart, delete, validation - over a real embedded broker and real files.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use brook_broker::Broker;
use brook_connect::herder::{ConnectorOffsets, RestartRequest, State, TargetState};
use brook_connect::offsets::{FileOffsetStore, OffsetStore};
use brook_connect::{Config, Error, Herder, Plugins, StandaloneHerder, Worker};
use serde_json::json;

use crate::standalone::{append, broker, lines, props, sink, source, wait_for};

fn herder(b: &Broker, dir: &Path) -> StandaloneHerder {
    let offsets: Arc<dyn OffsetStore> = Arc::new(FileOffsetStore::open(dir.join("connect.offsets")).unwrap());
    let worker_props = props(
        "key.converter=org.apache.kafka.connect.storage.StringConverter\nvalue.converter=org.apache.kafka.connect.storage.StringConverter\n",
    );
    let worker = Worker::new(b.clone(), worker_props, Duration::from_millis(50), Plugins::default(), offsets, "127.0.0.1:8083");
    StandaloneHerder::new(worker, "test-cluster")
}

async fn state_of(h: &StandaloneHerder, name: &str) -> (State, Vec<State>) {
    let s = h.connector_status(name).await.unwrap();
    (s.connector.state, s.tasks.iter().map(|t| t.state).collect())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lifecycle_pause_stop_offsets_restart_delete() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let b = broker(d).await;
    let h = herder(&b, d);
    let (input, output) = (d.join("in.txt"), d.join("out.txt"));
    append(&input, "a\nb\n");

    let created = h.put_connector_config("local-file-source", source(d), false).await.unwrap();
    assert!(created.created);
    assert_eq!(created.result.tasks.len(), 1);
    h.put_connector_config("local-file-sink", sink(d), false).await.unwrap();
    assert!(matches!(h.put_connector_config("local-file-sink", sink(d), false).await, Err(Error::AlreadyExists(_))));
    assert_eq!(h.connectors().await.unwrap(), ["local-file-sink", "local-file-source"]);
    wait_for("2 lines", || lines(&output).len() >= 2).await;
    assert_eq!(state_of(&h, "local-file-source").await, (State::Running, vec![State::Running]));
    assert_eq!(h.connector_topics("local-file-source").await.unwrap(), ["connect-test"]);

    // Paused: nothing flows; resumed: it flows again.
    h.pause_connector("local-file-source").await.unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while state_of(&h, "local-file-source").await != (State::Paused, vec![State::Paused]) {
        assert!(std::time::Instant::now() < deadline, "the source task never PAUSED");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    append(&input, "c\n");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(lines(&output).len(), 2, "a paused source produced");
    h.resume_connector("local-file-source").await.unwrap();
    wait_for("3 lines", || lines(&output).len() >= 3).await;

    // Offsets can be changed only when stopped; a stopped connector has no tasks.
    let err = h.reset_connector_offsets("local-file-source").await.unwrap_err();
    assert!(matches!(err, Error::BadRequest(ref m) if m.contains("STOPPED")), "{err}");
    h.stop_connector("local-file-source").await.unwrap();
    assert_eq!(state_of(&h, "local-file-source").await, (State::Stopped, vec![]));
    assert!(h.connector_info("local-file-source").await.unwrap().tasks.is_empty());
    let offsets = h.connector_offsets("local-file-source").await.unwrap();
    assert_eq!(serde_json::to_value(&offsets).unwrap(), json!({"offsets":[{"partition":{"filename": input.display().to_string()},"offset":{"position":6}}]}));
    // Rewind to "b": after resume the source sends "b" and "c" again.
    let rewind: ConnectorOffsets = serde_json::from_value(json!({"offsets":[{"partition":{"filename": input.display().to_string()},"offset":{"position":2}}]})).unwrap();
    assert!(h.alter_connector_offsets("local-file-source", rewind).await.unwrap().message.contains("altered successfully"));
    h.resume_connector("local-file-source").await.unwrap();
    wait_for("5 lines", || lines(&output).len() >= 5).await;
    assert_eq!(lines(&output), ["a", "b", "c", "b", "c"]);

    // The sink's offsets are its consumer group's.
    h.stop_connector("local-file-sink").await.unwrap();
    let offsets = h.connector_offsets("local-file-sink").await.unwrap();
    assert_eq!(serde_json::to_value(&offsets).unwrap(), json!({"offsets":[{"partition":{"kafka_partition":0,"kafka_topic":"connect-test"},"offset":{"kafka_offset":5}}]}));
    h.reset_connector_offsets("local-file-sink").await.unwrap();
    assert!(h.connector_offsets("local-file-sink").await.unwrap().offsets.is_empty());
    // Reset: the sink reads the topic from the start again.
    h.resume_connector("local-file-sink").await.unwrap();
    wait_for("10 lines", || lines(&output).len() >= 10).await;

    // A restart with tasks answers the plan; a plain one answers nothing.
    let plan = h.restart_connector("local-file-sink", RestartRequest { include_tasks: true, only_failed: false }).await.unwrap().unwrap();
    assert_eq!(plan.connector.state, State::Restarting);
    assert_eq!(plan.tasks[0].state, State::Restarting);
    assert_eq!(h.restart_connector("local-file-sink", RestartRequest::default()).await.unwrap(), None);
    assert_eq!(state_of(&h, "local-file-sink").await, (State::Running, vec![State::Running]));
    h.restart_task("local-file-sink", 0).await.unwrap();
    assert!(matches!(h.restart_task("local-file-sink", 7).await, Err(Error::NotFound(_))));

    h.delete_connector("local-file-sink").await.unwrap();
    assert!(matches!(h.connector_status("local-file-sink").await, Err(Error::NotFound(_))));
    let info = h.create_connector("paused-sink", { let mut c = sink(d); c.insert("name".into(), "paused-sink".into()); c }, TargetState::Paused).await.unwrap();
    assert_eq!(info.tasks.len(), 1);
    assert_eq!(state_of(&h, "paused-sink").await.0, State::Paused);
    h.stop_all().await;
    b.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn validation_reports_per_field_errors_and_create_refuses_them() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let b = broker(d).await;
    let h = herder(&b, d);
    let config: Config = props("connector.class=FileStreamSource\ntasks.max=0\ntopic=a,b\nbatch.size=lots\n");
    let infos = h.validate_connector_config("FileStreamSource", config.clone()).await.unwrap();
    assert_eq!(infos.name, "org.apache.kafka.connect.file.FileStreamSourceConnector");
    let errors: Vec<(String, Vec<String>)> = infos.configs.iter().filter(|c| !c.value.errors.is_empty()).map(|c| (c.definition.name.clone(), c.value.errors.clone())).collect();
    insta::assert_debug_snapshot!(errors);
    assert_eq!(infos.error_count, 5);
    let err = h.put_connector_config("bad", config, false).await.unwrap_err();
    assert!(matches!(err, Error::BadRequest(ref m) if m.starts_with("Connector configuration is invalid and contains the following 4 error(s):")), "{err}");
    assert!(h.connectors().await.unwrap().is_empty());
    assert!(matches!(h.validate_connector_config("NoSuchConnector", Config::new()).await, Err(Error::UnknownPlugin(_))));
    let plugins = h.connector_plugins();
    assert_eq!(serde_json::to_value(&plugins).unwrap()[0]["type"], "sink");
    b.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kept_connectors_are_created_again_in_their_state() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let b = broker(d).await;
    let file = d.join("connectors.json");
    let h = herder(&b, d);
    assert!(h.keep_connectors_in(file.clone()).await.unwrap().is_empty());
    h.put_connector_config("local-file-source", source(d), false).await.unwrap();
    h.put_connector_config("local-file-sink", sink(d), false).await.unwrap();
    h.stop_connector("local-file-sink").await.unwrap();
    h.delete_connector("local-file-source").await.unwrap();
    h.stop_all().await;

    let again = herder(&b, d);
    assert_eq!(again.keep_connectors_in(file).await.unwrap(), ["local-file-sink"]);
    assert_eq!(again.connector_config("local-file-sink").await.unwrap(), sink(d));
    assert_eq!(state_of(&again, "local-file-sink").await, (State::Stopped, vec![]));
    again.stop_all().await;
    b.shutdown().await;
}
