use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

use brook_broker::client::{Admin, Consumer, ConsumerConfig, TopicPartition};
use brook_broker::{Broker, BrokerConfig};
use brook_common::OffsetReset;
use brook_connect::standalone::{parse_properties, StandaloneWorker, WorkerConfig};
use brook_connect::{Config, Connector, Plugins};
use tokio::sync::watch;

const WAIT: Duration = Duration::from_secs(20);

pub(crate) async fn broker(dir: &Path) -> Broker {
    let mut c = BrokerConfig::default();
    c.log_dir = dir.join("broker");
    Broker::open(c).await.unwrap()
}

pub(crate) fn props(text: &str) -> Config {
    parse_properties("test", text).unwrap()
}

pub(crate) fn worker_props(dir: &Path, value_converter: &str) -> Config {
    props(&format!(
        "bootstrap.servers=localhost:21801\n\
         key.converter=org.apache.kafka.connect.storage.StringConverter\n\
         value.converter={value_converter}\n\
         value.converter.schemas.enable=true\n\
         offset.storage.file.filename={}\n\
         offset.flush.interval.ms=50\n",
        dir.join("connect.offsets").display()
    ))
}

pub(crate) fn source(dir: &Path) -> Config {
    props(&format!(
        "name=local-file-source\nconnector.class=FileStreamSource\ntasks.max=1\nfile={}\ntopic=connect-test\n",
        dir.join("in.txt").display()
    ))
}

pub(crate) fn sink(dir: &Path) -> Config {
    props(&format!(
        "name=local-file-sink\nconnector.class=org.apache.kafka.connect.file.FileStreamSinkConnector\ntasks.max=1\nfile={}\ntopics=connect-test\n",
        dir.join("out.txt").display()
    ))
}

pub(crate) fn append(path: &Path, text: &str) {
    let mut f = std::fs::OpenOptions::new().create(true).append(true).open(path).unwrap();
    f.write_all(text.as_bytes()).unwrap();
}

pub(crate) fn lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path).map(|t| t.lines().map(str::to_owned).collect()).unwrap_or_default()
}

pub(crate) async fn wait_for(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + WAIT;
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Runs a worker with `connectors` until `done` holds, then stops it and returns its result.
pub(crate) async fn run_until(broker: &Broker, worker: Config, connectors: Vec<Config>, what: &str, done: impl FnMut() -> bool) {
    let w = StandaloneWorker::new(broker.clone(), WorkerConfig::from_props(worker).unwrap(), Plugins::default()).unwrap();
    let (stop, stopped) = watch::channel(false);
    let handle = tokio::spawn(w.run(connectors, stopped));
    wait_for(what, done).await;
    stop.send(true).unwrap();
    handle.await.unwrap().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn file_to_topic_to_file_round_trip_and_restart_without_duplicates() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let b = broker(d).await;
    let (input, output) = (d.join("in.txt"), d.join("out.txt"));
    append(&input, "alpha\nbeta\r\ngamma\npartial");
    let worker = worker_props(d, "org.apache.kafka.connect.storage.StringConverter");
    run_until(&b, worker.clone(), vec![source(d), sink(d)], "3 lines in the sink file", || lines(&output).len() >= 3).await;
    assert_eq!(lines(&output), ["alpha", "beta", "gamma"]);

    // The sink committed its group; the source stored its byte position (before "partial").
    let committed = Admin::new(b.clone()).list_group_offsets("connect-local-file-sink").unwrap();
    assert_eq!(committed.get(&TopicPartition { topic: "connect-test".into(), partition: 0 }), Some(&3));
    let offsets = std::fs::read_to_string(d.join("connect.offsets")).unwrap();
    let want = format!(r#"[[["local-file-source",{{"filename":"{}"}}],{{"position":18}}]]"#, input.display());
    assert_eq!(offsets, want);

    // A second run resumes both: the source after "gamma", the sink after offset 2.
    append(&input, " line\ndelta\n");
    run_until(&b, worker, vec![source(d), sink(d)], "5 lines in the sink file", || lines(&output).len() >= 5).await;
    assert_eq!(lines(&output), ["alpha", "beta", "gamma", "partial line", "delta"]);
    let committed = Admin::new(b.clone()).list_group_offsets("connect-local-file-sink").unwrap();
    assert_eq!(committed.get(&TopicPartition { topic: "connect-test".into(), partition: 0 }), Some(&5));
    b.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_converter_writes_connects_envelope_to_the_topic() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let b = broker(d).await;
    append(&d.join("in.txt"), "hello\n");
    let worker = worker_props(d, "org.apache.kafka.connect.json.JsonConverter");
    run_until(&b, worker, vec![source(d), sink(d)], "the sink file", || lines(&d.join("out.txt")).len() >= 1).await;
    // The sink read the envelope back into the string.
    assert_eq!(lines(&d.join("out.txt")), ["hello"]);

    let mut cc = ConsumerConfig::default();
    cc.auto_offset_reset = OffsetReset::Earliest;
    let mut c = Consumer::new(b.clone(), cc);
    c.assign(&[TopicPartition { topic: "connect-test".into(), partition: 0 }]);
    let mut got = Vec::new();
    let deadline = Instant::now() + WAIT;
    while got.is_empty() && Instant::now() < deadline {
        got = c.poll(Duration::from_millis(200)).await.unwrap();
    }
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].key, None);
    assert_eq!(got[0].value.as_deref(), Some(&br#"{"schema":{"type":"string","optional":false},"payload":"hello"}"#[..]));
    b.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_configs_fail_with_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let b = broker(d).await;
    let mut w = worker_props(d, "org.apache.kafka.connect.storage.StringConverter");
    w.remove("value.converter");
    assert!(WorkerConfig::from_props(w).unwrap_err().to_string().contains("\"value.converter\""));
    let mut w = worker_props(d, "com.example.NoSuchConverter");
    assert!(WorkerConfig::from_props(w.clone()).unwrap_err().to_string().contains("unknown converter class"));
    w.insert("value.converter".into(), "StringConverter".into());

    let start = |connector: Config| {
        let w = StandaloneWorker::new(b.clone(), WorkerConfig::from_props(w.clone()).unwrap(), Plugins::default()).unwrap();
        let (_stop, stopped) = watch::channel(false);
        w.run(vec![connector], stopped)
    };
    let mut c = source(d);
    c.insert("connector.class".into(), "com.example.Missing".into());
    let err = start(c).await.unwrap_err().to_string();
    assert!(err.contains("which name matches com.example.Missing"), "{err}");
    let mut c = source(d);
    c.insert("topic".into(), "a,b".into());
    let err = start(c).await.unwrap_err().to_string();
    assert!(err.contains("requires definition of a single topic"), "{err}");
    let mut c = sink(d);
    c.remove("file");
    let err = start(c).await.unwrap_err().to_string();
    assert!(err.contains("Missing required configuration \"file\""), "{err}");
    assert!(parse_properties("f", "no separator here").is_err());
    b.shutdown().await;
}

#[test]
fn plugins_resolve_class_names_and_aliases() {
    let p = Plugins::default();
    for name in ["org.apache.kafka.connect.file.FileStreamSourceConnector", "FileStreamSourceConnector", "FileStreamSource"] {
        assert!(matches!(p.connector(name).unwrap(), Connector::Source(_)), "{name}");
    }
    for name in ["org.apache.kafka.connect.file.FileStreamSinkConnector", "FileStreamSink"] {
        assert!(matches!(p.connector(name).unwrap(), Connector::Sink(_)), "{name}");
    }
    assert!(p.connector("FileStream").is_err());
    assert!(matches!(p.connector("JdbcSink").unwrap(), Connector::Sink(_)));
    assert!(matches!(p.connector("JdbcSourceConnector").unwrap(), Connector::Source(_)));
    assert_eq!(
        p.classes(),
        [
            "io.confluent.connect.jdbc.JdbcSinkConnector",
            "io.confluent.connect.jdbc.JdbcSourceConnector",
            "io.confluent.kafka.connect.datagen.DatagenConnector",
            "org.apache.kafka.connect.file.FileStreamSinkConnector",
            "org.apache.kafka.connect.file.FileStreamSourceConnector"
        ]
    );
}
