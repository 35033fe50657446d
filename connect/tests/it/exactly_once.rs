//! Exactly-once source (KIP-618) in the distributed herder over an embedded broker: the
//! preflight validation of `exactly.once.support` / `transaction.boundary`, and each
//! `transaction.boundary` as a `read_committed` consumer sees it (records of a transaction
//! appear together with their offsets, aborted ones never).

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use brook_broker::client::{Consumer, ConsumerConfig, TopicPartition};
use brook_broker::{Broker, IsolationLevel};
use brook_common::OffsetReset;
use brook_connect::config::ConfigDef;
use brook_connect::connector::{ConnectorBase, ConnectorTransactionBoundaries, ExactlyOnceSupport, TransactionAction, TransactionRequest};
use brook_connect::data::{Schema, SchemaAndValue, Value};
use brook_connect::{Config, ConnectRecord, Connector, DistributedHerder, Herder, OffsetReader, Plugins, SourceConnector, SourceRecord, SourceTask};
use serde_json::json;

use crate::distributed::{create, listen, running, start_with, stop};
use crate::standalone::{broker, props};

/// A source of `count` records `"0"`, `"1"`, ... in batches of `batch` (offset `{"n": i}`),
/// which resumes after its stored offset. With `transaction.boundary=connector` it commits
/// every batch except batch `abort.batch`, which it aborts. `unsupported=true` makes it say it
/// cannot run exactly-once.
#[derive(Default)]
struct Counter {
    config: Config,
}

impl ConnectorBase for Counter {
    fn start(&mut self, config: &Config) -> brook_connect::Result<()> {
        self.config = config.clone();
        Ok(())
    }

    fn task_configs(&self, _max_tasks: usize) -> Vec<Config> {
        vec![self.config.clone()]
    }

    fn config_def(&self) -> ConfigDef {
        ConfigDef::new()
    }
}

impl SourceConnector for Counter {
    fn task(&self) -> Box<dyn SourceTask> {
        Box::<CounterTask>::default()
    }

    fn exactly_once_support(&self, config: &Config) -> Option<ExactlyOnceSupport> {
        Some(if config.get("unsupported").is_some_and(|v| v == "true") { ExactlyOnceSupport::Unsupported } else { ExactlyOnceSupport::Supported })
    }

    fn can_define_transaction_boundaries(&self, _config: &Config) -> ConnectorTransactionBoundaries {
        ConnectorTransactionBoundaries::Supported
    }
}

#[derive(Default)]
struct CounterTask {
    topic: String,
    next: u64,
    count: u64,
    batch: u64,
    batches: u64,
    abort_batch: Option<u64>,
}

impl SourceTask for CounterTask {
    fn start(&mut self, config: &Config, offsets: &dyn OffsetReader) -> brook_connect::Result<()> {
        let num = |k: &str, d: u64| config.get(k).and_then(|v| v.parse().ok()).unwrap_or(d);
        self.topic = config["topic"].clone();
        self.count = num("count", 10);
        self.batch = num("batch", 1);
        self.abort_batch = config.get("abort.batch").and_then(|v| v.parse().ok());
        self.next = offsets.offset(&json!({"counter": "c"})).and_then(|o| o["n"].as_u64()).map_or(0, |n| n + 1);
        Ok(())
    }

    fn poll(&mut self) -> brook_connect::Result<Vec<SourceRecord>> {
        let end = (self.next + self.batch).min(self.count);
        let records = (self.next..end)
            .map(|i| SourceRecord {
                source_partition: json!({"counter": "c"}),
                source_offset: json!({"n": i}),
                record: ConnectRecord::new(self.topic.clone(), SchemaAndValue { schema: None, value: Value::Null }, SchemaAndValue { schema: Some(Schema::string()), value: Value::String(i.to_string()) }),
            })
            .collect::<Vec<_>>();
        self.next = end;
        if !records.is_empty() {
            self.batches += 1;
        }
        Ok(records)
    }

    fn transaction_request(&mut self) -> Option<TransactionRequest> {
        let action = if self.abort_batch == Some(self.batches - 1) { TransactionAction::Abort } else { TransactionAction::Commit };
        Some(TransactionRequest { action, after: None })
    }
}

fn plugins() -> Plugins {
    let mut p = Plugins::default();
    p.register("test.Counter", || Connector::Source(Box::<Counter>::default()));
    p
}

/// Every value of `topic`, read from the beginning `read_committed` or not.
pub(crate) async fn values(b: &Broker, topic: &str, committed: bool) -> Vec<String> {
    let Ok(parts) = b.partition_count(topic, false) else { return Vec::new() };
    let mut cc = ConsumerConfig::default();
    cc.auto_offset_reset = OffsetReset::Earliest;
    cc.isolation_level = if committed { IsolationLevel::ReadCommitted } else { IsolationLevel::ReadUncommitted };
    let mut c = Consumer::new(b.clone(), cc);
    c.assign(&(0..parts).map(|p| TopicPartition { topic: topic.into(), partition: p }).collect::<Vec<_>>());
    let mut out = Vec::new();
    loop {
        let got = c.poll(Duration::from_millis(300)).await.unwrap();
        if got.is_empty() {
            return out;
        }
        out.extend(got.into_iter().filter_map(|r| r.value.map(|v| String::from_utf8_lossy(&v).into_owned())));
    }
}

async fn wait_values(b: &Broker, topic: &str, committed: bool, what: &str, ok: impl Fn(&[String]) -> bool) -> Vec<String> {
    for _ in 0..200 {
        let v = values(b, topic, committed).await;
        if ok(&v) {
            return v;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("timed out waiting for {what}: {:?}", values(b, topic, committed).await);
}

fn numbers(range: std::ops::Range<u64>) -> Vec<String> {
    range.map(|i| i.to_string()).collect()
}

fn counter(topic: &str, extra: &str) -> Config {
    props(&format!("name=counter\nconnector.class=test.Counter\ntasks.max=1\ntopic={topic}\n{extra}"))
}

const EOS: &str = "exactly.once.source.support=enabled\n";

async fn errors(h: &DistributedHerder, plugin: &str, config: Config) -> Vec<String> {
    let infos = h.validate_connector_config(plugin, config).await.unwrap();
    infos.configs.iter().flat_map(|c| c.value.errors.iter().cloned()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exactly_once_support_required_and_connector_boundaries_are_checked_before_create() {
    let dir = tempfile::tempdir().unwrap();
    let b = broker(dir.path()).await;
    let (addr, stop_server, server) = listen(&b).await;
    let file = |extra: &str| props(&format!("name=f\nconnector.class=FileStreamSource\nfile=/tmp/x\ntopic=t\n{extra}"));

    // A worker without exactly-once source support refuses `required`.
    let h = start_with(&b, &addr, "group.id=plain\nconfig.storage.topic=plain-configs\noffset.storage.topic=plain-offsets\nstatus.storage.topic=plain-status\n", plugins()).await;
    assert_eq!(errors(&h, "FileStreamSource", file("exactly.once.support=required")).await, ["This worker does not have exactly-once source support enabled."]);
    assert!(errors(&h, "FileStreamSource", file("exactly.once.support=requested")).await.is_empty());
    stop(h).await;

    let h = start_with(&b, &addr, EOS, plugins()).await;
    // FileStreamSource reading a file says it can; `requested` is never checked.
    assert!(errors(&h, "FileStreamSource", file("exactly.once.support=REQUIRED\ntransaction.boundary=interval\ntransaction.boundary.interval.ms=100")).await.is_empty());
    // A connector that says it cannot, and one that does not say (datagen: Java's null).
    assert_eq!(
        errors(&h, "test.Counter", counter("t", "exactly.once.support=required\nunsupported=true")).await,
        ["The connector does not support exactly-once semantics with the provided configuration."]
    );
    let datagen = props("name=gen\nconnector.class=DatagenConnector\nkafka.topic=t\nquickstart=users\nexactly.once.support=required\n");
    let e = errors(&h, "DatagenConnector", datagen.clone()).await;
    assert_eq!(e.len(), 1, "{e:?}");
    assert!(e[0].starts_with("The connector does not implement the API required for preflight validation of exactly-once source support."), "{e:?}");
    // Creating it fails the same way (400), and nothing is created.
    let created = h.put_connector_config("gen", datagen, false).await;
    assert!(matches!(&created, Err(brook_connect::Error::BadRequest(m)) if m.contains("does not implement the API required")), "{created:?}");
    assert!(h.connectors().await.unwrap().is_empty());
    // Connector-defined boundaries need a connector that defines them.
    assert_eq!(
        errors(&h, "FileStreamSource", file("transaction.boundary=connector")).await,
        ["The connector does not support connector-defined transaction boundaries with the given configuration. Please reconfigure it to use a different transaction boundary definition."]
    );
    assert!(errors(&h, "test.Counter", counter("t", "transaction.boundary=connector")).await.is_empty());
    // Bad values, in Kafka's words.
    assert_eq!(
        errors(&h, "FileStreamSource", file("exactly.once.support=maybe\ntransaction.boundary=batch\ntransaction.boundary.interval.ms=-1")).await,
        [
            "Invalid value maybe for configuration exactly.once.support: String must be one of (case insensitive): requested, required",
            "Invalid value batch for configuration transaction.boundary: String must be one of (case insensitive): poll, interval, connector",
            "Invalid value -1 for configuration transaction.boundary.interval.ms: Interval must be non-negative",
        ]
    );
    stop(h).await;
    let _ = stop_server.send(());
    server.await.unwrap().unwrap();
    b.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn poll_boundary_commits_each_batch_with_its_offsets_and_a_new_worker_resumes_without_duplicates() {
    let dir = tempfile::tempdir().unwrap();
    let b = broker(dir.path()).await;
    let (addr, stop_server, server) = listen(&b).await;
    let h = start_with(&b, &addr, EOS, plugins()).await;
    create(&h, "count", counter("counted", "count=40\nbatch=7\nexactly.once.support=required")).await;
    let seen = wait_values(&b, "counted", true, "40 committed records", |v| v.len() >= 40).await;
    assert_eq!(seen, numbers(0..40));
    // The offsets were committed with the records (no flush interval needed to read them).
    let offsets = h.connector_offsets("count").await.unwrap();
    assert_eq!(serde_json::to_value(&offsets).unwrap(), json!({"offsets": [{"partition": {"counter": "c"}, "offset": {"n": 39}}]}));
    // Every record and every offset record was written in a transaction: the topics hold
    // commit markers, so read_uncommitted sees the same records.
    assert_eq!(values(&b, "counted", false).await, numbers(0..40));
    stop(h).await;

    // A new worker of the group resumes after offset 39: nothing more, nothing again.
    let h = start_with(&b, &addr, EOS, plugins()).await;
    let h2 = h.clone();
    let mut ok = false;
    for _ in 0..100 {
        if running(&h2, "count").await {
            ok = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(ok, "{:?}", h.connector_status("count").await);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(values(&b, "counted", true).await, numbers(0..40));
    stop(h).await;
    let _ = stop_server.send(());
    server.await.unwrap().unwrap();
    b.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn interval_boundary_keeps_records_invisible_until_the_transaction_commits() {
    let dir = tempfile::tempdir().unwrap();
    let b = broker(dir.path()).await;
    let (addr, stop_server, server) = listen(&b).await;
    let h: Arc<DistributedHerder> = start_with(&b, &addr, EOS, plugins()).await;
    create(&h, "slow", counter("held", "count=12\nbatch=4\ntransaction.boundary=interval\ntransaction.boundary.interval.ms=600000")).await;
    // All 12 are written, in one open transaction: read_uncommitted sees them, read_committed
    // sees none, and no offset is stored yet.
    wait_values(&b, "held", false, "12 uncommitted records", |v| v.len() >= 12).await;
    assert!(values(&b, "held", true).await.is_empty());
    assert!(h.connector_offsets("slow").await.unwrap().offsets.is_empty());
    // Pausing commits the open transaction (as the interval's end would).
    for _ in 0..100 {
        if h.pause_connector("slow").await.is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let seen = wait_values(&b, "held", true, "the committed records", |v| v.len() >= 12).await;
    assert_eq!(seen, numbers(0..12));
    let offsets = h.connector_offsets("slow").await.unwrap();
    assert_eq!(serde_json::to_value(&offsets).unwrap()["offsets"][0]["offset"], json!({"n": 11}));
    stop(h).await;

    // A short interval commits on its own.
    let h = start_with(&b, &addr, EOS, plugins()).await;
    create(&h, "ticking", counter("ticked", "count=9\nbatch=3\ntransaction.boundary=interval\ntransaction.boundary.interval.ms=200")).await;
    let seen = wait_values(&b, "ticked", true, "records committed by the interval", |v| v.len() >= 9).await;
    assert_eq!(seen, numbers(0..9));
    stop(h).await;
    let _ = stop_server.send(());
    server.await.unwrap().unwrap();
    b.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connector_boundary_commits_and_aborts_where_the_task_asks() {
    let dir = tempfile::tempdir().unwrap();
    let b = broker(dir.path()).await;
    let (addr, stop_server, server) = listen(&b).await;
    let h = start_with(&b, &addr, EOS, plugins()).await;
    // Batches of 5; the second batch (records 5..10) is aborted (its records may never even
    // reach the log: the producer drops what it still buffered).
    create(&h, "picky", counter("picked", "count=20\nbatch=5\ntransaction.boundary=connector\nabort.batch=1")).await;
    let seen = wait_values(&b, "picked", true, "15 committed records", |v| v.len() >= 15).await;
    let expected: Vec<String> = numbers(0..5).into_iter().chain(numbers(10..20)).collect();
    assert_eq!(seen, expected);
    let unique: BTreeSet<&String> = seen.iter().collect();
    assert_eq!(unique.len(), seen.len());
    let offsets = h.connector_offsets("picky").await.unwrap();
    assert_eq!(serde_json::to_value(&offsets).unwrap()["offsets"][0]["offset"], json!({"n": 19}));
    stop(h).await;
    let _ = stop_server.send(());
    server.await.unwrap().unwrap();
    b.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connectors_own_offsets_topic_takes_its_offsets_in_its_transactions() {
    let dir = tempfile::tempdir().unwrap();
    let b = broker(dir.path()).await;
    let (addr, stop_server, server) = listen(&b).await;
    let h = start_with(&b, &addr, EOS, plugins()).await;
    create(&h, "own", counter("owned", "count=6\nbatch=2\noffsets.storage.topic=own-offsets")).await;
    assert_eq!(wait_values(&b, "owned", true, "6 committed records", |v| v.len() >= 6).await, numbers(0..6));
    // The offsets are in the connector's topic (created compacted), not in the worker's.
    let own = wait_values(&b, "own-offsets", true, "the last offset in the connector's topic", |v| v.last().is_some_and(|o| o == r#"{"n":5}"#)).await;
    assert!(own.iter().all(|o| [r#"{"n":1}"#, r#"{"n":3}"#, r#"{"n":5}"#].contains(&o.as_str())), "one offset record per transaction of two records: {own:?}");
    assert!(values(&b, "connect-offsets", true).await.is_empty());
    assert_eq!(b.describe_topic("own-offsets").unwrap().overrides.get("cleanup.policy").map(String::as_str), Some("compact"));
    let offsets = h.connector_offsets("own").await.unwrap();
    assert_eq!(serde_json::to_value(&offsets).unwrap(), json!({"offsets": [{"partition": {"counter": "c"}, "offset": {"n": 5}}]}));
    stop(h).await;
    let _ = stop_server.send(());
    server.await.unwrap().unwrap();
    b.shutdown().await;
}
