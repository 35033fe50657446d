//! The SQL engine in Kafka mode (`EngineConfig::kafka`: librdkafka, no embedded broker in the
//! engine) against `brook server`'s broker over TCP (in-process, and the `brook` binary for
//! `brook server --bootstrap-server`): persistent queries, INSERT VALUES, pull
//! queries and the processing log go through the Kafka-protocol cluster only, and every
//! assertion reads the topics back with a real Kafka client (rdkafka).

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use brook_sql_engine::cluster::{Cluster, EmbeddedCluster, KafkaCluster};
use brook_sql_engine::engine::OutputRecord;
use brook_sql_engine::{Engine, EngineConfig, StatementResult, Value};
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::KafkaError;
use rdkafka::message::Message;
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use rdkafka::{Offset, TopicPartitionList};

use crate::util::TestServer;

const T: Duration = Duration::from_secs(30);

/// A broker over TCP on its own runtime (the engine runs on the test thread, outside it).
pub(crate) fn broker() -> (tokio::runtime::Runtime, TestServer) {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let server = rt.block_on(TestServer::start());
    (rt, server)
}

/// An engine over the cluster at `addr` in Kafka mode: state under `state_dir`, commits every
/// 100 ms, no record cache, queries reading from the earliest offset.
pub(crate) fn kafka_config(addr: &str, state_dir: &std::path::Path, guarantee: &str) -> EngineConfig {
    let mut config = EngineConfig::kafka(addr, state_dir).unwrap();
    for (k, v) in [
        ("ksql.streams.commit.interval.ms", "100"),
        ("ksql.streams.cache.max.bytes.buffering", "0"),
        ("ksql.streams.auto.offset.reset", "earliest"),
        ("ksql.streams.processing.guarantee", guarantee),
    ] {
        config.properties.insert(k.into(), v.into());
    }
    config
}

/// A producer partitioning as the Java client does (murmur2), as the engine does.
fn producer(addr: &str) -> BaseProducer {
    ClientConfig::new().set("bootstrap.servers", addr).set("linger.ms", "0").set("partitioner", "murmur2_random").create().unwrap()
}

/// Sends one record and waits until it is written.
fn send(p: &BaseProducer, topic: &str, key: &str, value: &str, timestamp: i64) {
    p.send(BaseRecord::to(topic).key(key).payload(value).timestamp(timestamp)).map_err(|(e, _)| e).unwrap();
    p.flush(T).unwrap();
}

/// One record as read back: partition, key, value.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Read {
    pub(crate) partition: i32,
    pub(crate) key: Vec<u8>,
    pub(crate) value: String,
}

/// Every committed record of `topic` now: a `read_committed` rdkafka consumer (no group
/// offsets) reads each partition up to its last stable offset.
pub(crate) fn read_committed(addr: &str, topic: &str) -> Vec<Read> {
    let c: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", addr)
        .set("group.id", "sql-kafka-test-reader")
        .set("enable.auto.commit", "false")
        .set("isolation.level", "read_committed")
        .set("enable.partition.eof", "true")
        .create()
        .unwrap();
    let md = c.fetch_metadata(Some(topic), T).unwrap();
    let partitions = md.topics()[0].partitions().len() as i32;
    let mut out = Vec::new();
    for p in 0..partitions {
        let (low, high) = c.fetch_watermarks(topic, p, T).unwrap();
        if low >= high {
            continue;
        }
        let mut tpl = TopicPartitionList::new();
        tpl.add_partition_offset(topic, p, Offset::Offset(low)).unwrap();
        c.assign(&tpl).unwrap();
        let deadline = Instant::now() + T;
        loop {
            assert!(Instant::now() < deadline, "{topic}-{p}: did not reach {high}");
            match c.poll(Duration::from_millis(100)) {
                Some(Ok(m)) => {
                    if m.offset() < high {
                        let value = String::from_utf8_lossy(m.payload().unwrap_or_default()).into_owned();
                        out.push(Read { partition: p, key: m.key().unwrap_or_default().to_vec(), value });
                    }
                    if m.offset() + 1 >= high {
                        break;
                    }
                }
                Some(Err(KafkaError::PartitionEOF(_))) => break,
                Some(Err(e)) => panic!("{e}"),
                None => {}
            }
        }
    }
    out
}

fn keys_and_values(records: &[Read]) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = records.iter().map(|r| (String::from_utf8_lossy(&r.key).into_owned(), r.value.clone())).collect();
    out.sort();
    out
}

/// Waits until `f` holds (every 20 ms), up to 60 s.
pub(crate) fn wait_for(what: &str, f: impl FnMut() -> bool) {
    brook_common::test_support::wait_until(what, Duration::from_secs(60), f);
}

/// The offsets group `group` committed on every partition of `topic`.
fn committed(addr: &str, group: &str, topic: &str, partitions: i32) -> Vec<i64> {
    let c: BaseConsumer = ClientConfig::new().set("bootstrap.servers", addr).set("group.id", group).set("enable.auto.commit", "false").create().unwrap();
    let mut tpl = TopicPartitionList::new();
    for p in 0..partitions {
        tpl.add_partition(topic, p);
    }
    let got = c.committed_offsets(tpl, T).unwrap();
    got.elements().iter().map(|e| if let Offset::Offset(o) = e.offset() { o } else { -1 }).collect()
}

fn high_watermarks(addr: &str, topic: &str, partitions: i32) -> Vec<i64> {
    let c: BaseConsumer = ClientConfig::new().set("bootstrap.servers", addr).create().unwrap();
    (0..partitions).map(|p| c.fetch_watermarks(topic, p, T).unwrap().1).collect()
}

fn query_id(r: &StatementResult) -> String {
    match r {
        StatementResult::Status(s) => s.query_id.clone().expect("a query id"),
        other => panic!("{other:?}"),
    }
}

fn partitions_of(addr: &str, topic: &str) -> i32 {
    let c: BaseConsumer = ClientConfig::new().set("bootstrap.servers", addr).create().unwrap();
    let md = c.fetch_metadata(Some(topic), T).unwrap();
    assert!(md.topics()[0].error().is_none(), "topic {topic} missing");
    md.topics()[0].partitions().len() as i32
}

/// One scenario of the engine's cluster trait, run on both implementations.
fn cluster_scenario(c: &dyn Cluster, topic: &str) {
    assert_eq!(c.partition_count(topic).unwrap(), None);
    assert!(c.create_topic(topic, 3, &BTreeMap::from([("retention.ms".to_owned(), "-1".to_owned())])).unwrap());
    assert!(!c.create_topic(topic, 3, &BTreeMap::new()).unwrap(), "a second create finds it");
    assert_eq!(c.partition_count(topic).unwrap(), Some(3));
    assert!(c.list_topics().unwrap().contains(&topic.to_owned()));
    let record = |k: Option<&str>, v: &str, ts: i64| OutputRecord {
        key: k.map(|k| k.as_bytes().to_vec()),
        value: Some(v.as_bytes().to_vec()),
        timestamp: ts,
        headers: vec![("h".to_owned(), Some(b"x".to_vec()))],
    };
    let records: Vec<OutputRecord> = (0..12).map(|i| record(Some(&format!("k{}", i % 4)), &format!("v{i}"), 1_000 + i)).chain([record(None, "unkeyed", 5)]).collect();
    c.append(topic, &records[..6]).unwrap();
    let offsets = c.append_offsets(topic, &records[6..]).unwrap();
    let ends = c.end_offsets(topic).unwrap();
    // Each record's offset is its place in its partition.
    let place = |i: usize| {
        let p = |r: &OutputRecord| r.key.as_deref().map_or(0, |k| brook_broker::client::partitioner::partition_for_key(k, 3));
        records[..i].iter().filter(|r| p(r) == p(&records[i])).count() as i64
    };
    assert_eq!(offsets, (6..records.len()).map(place).collect::<Vec<_>>());
    assert_eq!(ends.iter().sum::<i64>(), 13);
    let mut seen = 0;
    for p in 0..3 {
        let got = c.read(topic, p, None).unwrap();
        assert_eq!(got.len() as i64, ends[p as usize]);
        // Each partition holds its keys' records in append order, at offsets 0, 1, ...
        let want: Vec<&OutputRecord> = records.iter().filter(|r| r.key.as_deref().map_or(0, |k| brook_broker::client::partitioner::partition_for_key(k, 3)) == p).collect();
        assert_eq!(got.iter().map(|(_, r)| r).collect::<Vec<_>>(), want, "partition {p}");
        assert_eq!(got.iter().map(|(o, _)| *o).collect::<Vec<_>>(), (0..got.len() as i64).collect::<Vec<_>>());
        if got.len() > 1 {
            assert_eq!(c.read(topic, p, Some(1)).unwrap(), got[1..].to_vec(), "from an offset");
        }
        seen += got.len();
    }
    assert_eq!(seen, 13);
    assert_eq!(c.read_all(topic).unwrap().len(), 13);
    assert!(matches!(c.append("no-such-topic", &records[..1]), Err(brook_sql_engine::Error::Cluster(_))));
    assert!(matches!(c.read_all("no-such-topic"), Err(brook_sql_engine::Error::Cluster(_))));
    c.delete_topic(topic).unwrap();
    wait_for("the topic deleted", || c.partition_count(topic).unwrap().is_none());
}

#[test]
fn the_cluster_trait_behaves_alike_on_the_embedded_broker_and_over_kafka() {
    let (rt, server) = broker();
    cluster_scenario(&EmbeddedCluster::new(server.broker.clone()), "embedded");
    cluster_scenario(&KafkaCluster::new(server.addr.clone(), BTreeMap::new()).unwrap(), "over-kafka");
    rt.block_on(server.stop());
}

#[test]
fn csas_insert_values_and_a_bad_record_over_kafka() {
    let (rt, server) = broker();
    let addr = server.addr.clone();
    let dir = tempfile::tempdir().unwrap();
    let mut e = Engine::new(kafka_config(&addr, dir.path(), "at_least_once")).unwrap();
    e.execute("CREATE STREAM S (ID INT KEY, K STRING, V INT) WITH (KAFKA_TOPIC='s', PARTITIONS=2, FORMAT='JSON');").unwrap();
    let id = query_id(&e.execute("CREATE STREAM BIG AS SELECT ID, K, V * 10 AS V10 FROM S WHERE V > 1;").unwrap()[0]);
    assert_eq!(partitions_of(&addr, "s"), 2, "the source topic was created on the cluster");
    assert_eq!(partitions_of(&addr, "BIG"), 2, "sink partitions default to the source's");

    // INSERT VALUES appends through the cluster, partitioned by the key as Kafka's producer does.
    e.execute("INSERT INTO S (ID, K, V) VALUES (1, 'a', 5);").unwrap();
    e.execute("INSERT INTO S (ID, K, V) VALUES (2, 'b', 1);").unwrap();
    let p = producer(&addr);
    send(&p, "s", "3", r#"{"K":"a","V":7}"#, 1_000);
    // A record that does not deserialize: logged, skipped, the query goes on.
    send(&p, "s", "4", "{oops", 1_001);
    send(&p, "s", "5", r#"{"K":"c","V":9}"#, 1_002);

    wait_for("BIG", || read_committed(&addr, "BIG").len() == 3);
    assert_eq!(
        keys_and_values(&read_committed(&addr, "BIG")),
        [("1", r#"{"K":"a","V10":50}"#), ("3", r#"{"K":"a","V10":70}"#), ("5", r#"{"K":"c","V10":90}"#)].map(|(k, v)| (k.to_owned(), v.to_owned()))
    );
    for r in read_committed(&addr, "s").iter().chain(&read_committed(&addr, "BIG")) {
        assert_eq!(r.partition, brook_broker::client::partitioner::partition_for_key(&r.key, 2), "{r:?}: murmur2 partition");
    }
    // The engine reads its topics back through the cluster too.
    assert_eq!(e.read_output("BIG").unwrap().len(), 3);

    wait_for("the processing log", || !read_committed(&addr, "default_ksql_processing_log").is_empty());
    let log = read_committed(&addr, "default_ksql_processing_log");
    let entry: serde_json::Value = serde_json::from_str(&log[0].value).unwrap();
    assert_eq!(entry["message"]["type"], 0, "{entry}");
    assert_eq!(entry["message"]["deserializationError"]["topic"], "s", "{entry}");
    assert_eq!(e.query_error_count(&id), 1);
    assert_eq!(e.query_state(&id), Some(brook_sql_engine::catalog::QueryState::Running));

    // SHOW TOPICS lists the cluster's topics.
    match e.execute("SHOW TOPICS;").unwrap().remove(0) {
        StatementResult::Topics(t) => {
            let names: Vec<&str> = t.iter().map(|t| t.name.as_str()).collect();
            assert!(names.contains(&"s") && names.contains(&"BIG"), "{names:?}");
        }
        other => panic!("{other:?}"),
    }
    // DROP ... DELETE TOPIC deletes on the cluster.
    e.execute("TERMINATE ALL;").unwrap();
    e.execute("DROP STREAM BIG DELETE TOPIC;").unwrap();
    wait_for("BIG deleted", || {
        let c: BaseConsumer = ClientConfig::new().set("bootstrap.servers", &addr).create().unwrap();
        c.fetch_metadata(None, T).unwrap().topics().iter().all(|t| t.name() != "BIG")
    });
    drop(e);
    rt.block_on(server.stop());
}

#[test]
fn windowed_ctas_stream_table_join_and_pull_query_over_kafka() {
    let (rt, server) = broker();
    let addr = server.addr.clone();
    let dir = tempfile::tempdir().unwrap();
    let mut e = Engine::new(kafka_config(&addr, dir.path(), "at_least_once")).unwrap();
    e.execute(
        "CREATE STREAM CLICKS (USER_ID STRING KEY, PAGE STRING) WITH (KAFKA_TOPIC='clicks', PARTITIONS=2, FORMAT='JSON');
         CREATE TABLE USERS (ID STRING PRIMARY KEY, NAME STRING) WITH (KAFKA_TOPIC='users', PARTITIONS=2, FORMAT='JSON');",
    )
    .unwrap();
    let join = query_id(&e.execute("CREATE STREAM ENRICHED AS SELECT C.USER_ID, PAGE, NAME FROM CLICKS C JOIN USERS U ON C.USER_ID = U.ID;").unwrap()[0]);
    e.execute("CREATE TABLE PER_MINUTE AS SELECT USER_ID, COUNT(*) AS N FROM CLICKS WINDOW TUMBLING (SIZE 1 MINUTE) GROUP BY USER_ID;").unwrap();
    e.execute("CREATE TABLE TOTALS AS SELECT USER_ID, COUNT(*) AS N FROM CLICKS GROUP BY USER_ID;").unwrap();

    let p = producer(&addr);
    send(&p, "users", "\"u1\"", r#"{"NAME":"Ann"}"#, 1_000);
    send(&p, "users", "\"u2\"", r#"{"NAME":"Bob"}"#, 1_000);
    // The join query has read the table before any click arrives.
    let group = format!("_confluent-ksql-default_query_{join}");
    let ends = high_watermarks(&addr, "users", 2);
    wait_for("the join query to read USERS", || committed(&addr, &group, "users", 2).iter().zip(&ends).all(|(c, e)| *e == 0 || *c >= *e));

    // Two clicks in minute 1, one in minute 2 for u1; one click of u2; one of an unknown user.
    for (user, page, ts) in [("u1", "home", 60_000), ("u1", "cart", 61_000), ("u2", "home", 62_000), ("u9", "home", 63_000), ("u1", "pay", 120_000)] {
        send(&p, "clicks", &format!("\"{user}\""), &format!(r#"{{"PAGE":"{page}"}}"#), ts);
    }

    wait_for("ENRICHED", || read_committed(&addr, "ENRICHED").len() == 4);
    assert_eq!(
        keys_and_values(&read_committed(&addr, "ENRICHED")),
        [
            ("\"u1\"", r#"{"PAGE":"cart","NAME":"Ann"}"#),
            ("\"u1\"", r#"{"PAGE":"home","NAME":"Ann"}"#),
            ("\"u1\"", r#"{"PAGE":"pay","NAME":"Ann"}"#),
            ("\"u2\"", r#"{"PAGE":"home","NAME":"Bob"}"#),
        ]
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
    );

    // The windowed table: the last count of each (user, window) in the changelog-style output.
    let windows = || {
        let mut last: BTreeMap<(String, i64), String> = BTreeMap::new();
        for r in read_committed(&addr, "PER_MINUTE") {
            let (key, start) = r.key.split_at(r.key.len() - 8);
            last.insert((String::from_utf8_lossy(key).into_owned(), i64::from_be_bytes(start.try_into().unwrap())), r.value);
        }
        last
    };
    let want: BTreeMap<(String, i64), String> = [
        (("\"u1\"", 60_000), r#"{"N":2}"#),
        (("\"u1\"", 120_000), r#"{"N":1}"#),
        (("\"u2\"", 60_000), r#"{"N":1}"#),
        (("\"u9\"", 60_000), r#"{"N":1}"#),
    ]
    .into_iter()
    .map(|((k, s), v)| ((k.to_owned(), s), v.to_owned()))
    .collect();
    wait_for("PER_MINUTE", || windows() == want);

    // A pull query answers from the query's state store.
    wait_for("TOTALS", || keys_and_values(&read_committed(&addr, "TOTALS")).contains(&("\"u1\"".to_owned(), r#"{"N":3}"#.to_owned())));
    match e.execute("SELECT USER_ID, N FROM TOTALS WHERE USER_ID = 'u1';").unwrap().remove(0) {
        StatementResult::Rows { rows, .. } => assert_eq!(rows, vec![vec![Value::String("u1".into()), Value::BigInt(3)]]),
        other => panic!("{other:?}"),
    }
    drop(e);
    rt.block_on(server.stop());
}

/// The ids (keys) of BIG's records.
fn ids(records: &[Read]) -> Vec<i32> {
    let mut ids: Vec<i32> = records.iter().map(|r| std::str::from_utf8(&r.key).unwrap().parse().unwrap()).collect();
    ids.sort_unstable();
    ids
}

#[test]
fn exactly_once_output_across_an_engine_restart_over_kafka() {
    let (rt, server) = broker();
    let addr = server.addr.clone();
    let dir = tempfile::tempdir().unwrap();
    let config = kafka_config(&addr, dir.path(), "exactly_once_v2");
    let statements = "CREATE STREAM S (ID INT KEY, V INT) WITH (KAFKA_TOPIC='s', PARTITIONS=2, FORMAT='JSON');
                      CREATE STREAM BIG AS SELECT ID, V FROM S WHERE V > 1;";
    let p: BaseProducer = ClientConfig::new().set("bootstrap.servers", &addr).set("transactional.id", "sql-kafka-eos-input").set("partitioner", "murmur2_random").create().unwrap();
    let produce = |ids: std::ops::Range<i32>| {
        p.begin_transaction().unwrap();
        for id in ids {
            let value = format!(r#"{{"V":{}}}"#, id % 4);
            let key = id.to_string();
            p.send(BaseRecord::to("s").key(&key).payload(&value).timestamp(1_000 + i64::from(id))).map_err(|(e, _)| e).unwrap();
        }
        p.commit_transaction(T).unwrap();
    };
    let passing = |ids: std::ops::Range<i32>| ids.filter(|id| id % 4 > 1).collect::<Vec<i32>>();

    let mut first = Engine::new(config.clone()).unwrap();
    first.execute(statements).unwrap();
    p.init_transactions(T).unwrap();
    produce(0..20);
    produce(20..40);
    wait_for("the first 40 records", || ids(&read_committed(&addr, "BIG")) == passing(0..40));
    // Mid-stream: more input arrives as the engine stops.
    produce(40..60);
    drop(first);

    // A new engine (same state dir, same statements, so the same query id) takes over.
    let mut second = Engine::new(config).unwrap();
    second.execute(statements).unwrap();
    produce(60..80);
    wait_for("every passing record", || read_committed(&addr, "BIG").len() >= passing(0..80).len());
    assert_eq!(ids(&read_committed(&addr, "BIG")), passing(0..80), "each output exactly once");
    drop(second);
    rt.block_on(server.stop());
}

/// A `brook` process, stopped with SIGTERM (then SIGKILL) when dropped; its stderr goes to
/// `<dir>/<name>.log`, printed when the test fails.
struct Brook {
    child: std::process::Child,
    log: std::path::PathBuf,
}

impl Brook {
    fn spawn(bin: &std::path::Path, dir: &std::path::Path, name: &str, args: &[&str]) -> Brook {
        let log = dir.join(format!("{name}.log"));
        let child = std::process::Command::new(bin)
            .args(args)
            .env("RUST_LOG", "warn,brook_ksql_server=info")
            .stdout(std::process::Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .expect("starting brook");
        Brook { child, log }
    }
}

impl Drop for Brook {
    fn drop(&mut self) {
        let _ = std::process::Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status();
        let deadline = Instant::now() + Duration::from_secs(30);
        while self.child.try_wait().ok().flatten().is_none() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            eprintln!("--- {}:\n{}", self.log.display(), std::fs::read_to_string(&self.log).unwrap_or_default());
        }
    }
}

/// POSTs `body` to `url` and returns the status and JSON answer.
fn post(url: &str, body: serde_json::Value) -> (u16, serde_json::Value) {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let r = reqwest::Client::new().post(url).json(&body).send().await.unwrap();
        (r.status().as_u16(), r.json().await.unwrap())
    })
}

/// Waits until `GET <base>/info` answers.
fn wait_for_ksql(base: &str) {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    wait_for(&format!("{base}/info"), || rt.block_on(async { reqwest::get(format!("{base}/info")).await.is_ok_and(|r| r.status().is_success()) }));
}

/// `brook server --no-ksql` on `port`, ready for clients.
fn broker_process(bin: &std::path::Path, dir: &std::path::Path, port: u16) -> (Brook, String) {
    let addr = format!("127.0.0.1:{port}");
    let data = dir.join("broker");
    let b = Brook::spawn(
        bin,
        dir,
        "broker",
        &["server", "--no-ksql", "--listen", &addr, "--data-dir", data.to_str().unwrap(), "--override", "group.initial.rebalance.delay.ms=0"],
    );
    wait_for("the broker to listen", || std::net::TcpStream::connect(&addr).is_ok());
    (b, addr)
}

/// `brook server --bootstrap-server <bootstrap> --ksql-listen 127.0.0.1:<port>`, answering.
fn sql_server(bin: &std::path::Path, dir: &std::path::Path, name: &str, bootstrap: &str, port: u16) -> (Brook, String) {
    let listen = format!("127.0.0.1:{port}");
    let data = dir.join(name);
    let b = Brook::spawn(bin, dir, name, &["server", "--bootstrap-server", bootstrap, "--ksql-listen", &listen, "--data-dir", data.to_str().unwrap()]);
    let base = format!("http://{listen}");
    wait_for_ksql(&base);
    (b, base)
}

const EARLIEST: &str = r#"{"ksql.streams.auto.offset.reset":"earliest","ksql.streams.commit.interval.ms":"100"}"#;

/// Creates `ORDERS` (over `partitions`) and `LARGE` (orders over 100) on the server at `base`;
/// the answer.
fn create_orders_and_large(base: &str, partitions: i32) -> serde_json::Value {
    let props: serde_json::Value = serde_json::from_str(EARLIEST).unwrap();
    let ksql = format!(
        "CREATE STREAM ORDERS (ID INT KEY, AMOUNT DOUBLE) WITH (KAFKA_TOPIC='orders', PARTITIONS={partitions}, FORMAT='JSON');
         CREATE STREAM LARGE AS SELECT ID, AMOUNT FROM ORDERS WHERE AMOUNT > 100;"
    );
    let (status, body) = post(&format!("{base}/ksql"), serde_json::json!({ "ksql": ksql, "streamsProperties": props }));
    assert_eq!(status, 200, "{body}");
    body
}

/// Sends order `id` with amount `90 + id` for each of `ids`.
fn send_orders(p: &BaseProducer, ids: std::ops::Range<i32>) {
    for id in ids {
        send(p, "orders", &id.to_string(), &format!(r#"{{"AMOUNT":{}}}"#, 90 + id), 1_000);
    }
}

/// Sends orders `ids` and waits until `LARGE` holds those over 100, each once; their ids.
fn send_orders_and_read_large(p: &BaseProducer, addr: &str, ids: std::ops::Range<i32>) -> Vec<i32> {
    send_orders(p, ids.clone());
    let want: Vec<i32> = ids.filter(|id| 90 + id > 100).collect();
    wait_for("LARGE", || read_committed(addr, "LARGE").len() >= want.len());
    assert_eq!(self::ids(&read_committed(addr, "LARGE")), want, "each record once, whichever server owns its partition");
    want
}

#[test]
fn brook_server_with_bootstrap_server_runs_only_the_sql_server() {
    let bin = std::path::Path::new(env!("CARGO_BIN_EXE_brook"));
    let dir = tempfile::tempdir().unwrap();
    let (_broker, addr) = broker_process(bin, dir.path(), 19301);
    let (_sql, base) = sql_server(bin, dir.path(), "sql", &addr, 19302);

    let body = create_orders_and_large(&base, 2);
    assert_eq!(body[1]["commandStatus"]["status"], "SUCCESS", "{body}");

    // The statements went to the command topic on the cluster; the query runs there.
    assert_eq!(partitions_of(&addr, "_confluent-ksql-default__command_topic"), 1);
    let p = producer(&addr);
    for (id, amount) in [(1, 50.0), (2, 150.5), (3, 300.0)] {
        send(&p, "orders", &id.to_string(), &format!(r#"{{"AMOUNT":{amount}}}"#), 1_000);
    }
    wait_for("LARGE", || read_committed(&addr, "LARGE").len() == 2);
    assert_eq!(
        keys_and_values(&read_committed(&addr, "LARGE")),
        [("2", r#"{"AMOUNT":150.5}"#), ("3", r#"{"AMOUNT":300.0}"#)].map(|(k, v)| (k.to_owned(), v.to_owned()))
    );
    let (status, body) = post(&format!("{base}/ksql"), serde_json::json!({ "ksql": "SHOW QUERIES;" }));
    assert_eq!(status, 200, "{body}");
    assert_eq!(body[0]["queries"][0]["state"], "RUNNING", "{body}");
}

/// The members of consumer group `group` and how many partitions each is assigned.
fn group_members(addr: &str, group: &str) -> Vec<(String, usize)> {
    let c: BaseConsumer = ClientConfig::new().set("bootstrap.servers", addr).create().unwrap();
    let list = c.fetch_group_list(Some(group), T).unwrap();
    let mut out = Vec::new();
    for g in list.groups().iter().filter(|g| g.name() == group) {
        for m in g.members() {
            let n = m
                .assignment()
                .filter(|a| !a.is_empty())
                .and_then(|a| brook_broker::client::consumer_protocol::Assignment::decode(a).ok())
                .map_or(0, |a| a.topic_partitions().len());
            out.push((m.client_id().to_owned(), n));
        }
    }
    out
}

#[test]
fn two_sql_servers_with_one_service_id_split_a_querys_partitions() {
    let bin = std::path::Path::new(env!("CARGO_BIN_EXE_brook"));
    let dir = tempfile::tempdir().unwrap();
    let (_broker, addr) = broker_process(bin, dir.path(), 19311);
    let (_first, base) = sql_server(bin, dir.path(), "sql-1", &addr, 19312);
    create_orders_and_large(&base, 4);
    let group = "_confluent-ksql-default_query_CSAS_LARGE_0";
    wait_for("the first server's query in its group", || group_members(&addr, group).len() == 1);

    // The second server replays the command topic and runs the same query in the same group.
    let (_second, _) = sql_server(bin, dir.path(), "sql-2", &addr, 19313);
    wait_for("both servers in the query's group, two partitions each", || {
        let members = group_members(&addr, group);
        members.len() == 2 && members.iter().all(|(_, n)| *n == 2)
    });
    let p = producer(&addr);
    send_orders_and_read_large(&p, &addr, 0..40);
}

/// `SHOW QUERIES` on `base`: the ids.
fn query_ids(base: &str) -> Vec<String> {
    let (status, body) = post(&format!("{base}/ksql"), serde_json::json!({ "ksql": "SHOW QUERIES;" }));
    assert_eq!(status, 200, "{body}");
    body[0]["queries"].as_array().unwrap().iter().map(|q| q["id"].as_str().unwrap().to_owned()).collect()
}

#[test]
fn a_statement_on_one_sql_server_reaches_the_others_of_its_service_id() {
    let bin = std::path::Path::new(env!("CARGO_BIN_EXE_brook"));
    let dir = tempfile::tempdir().unwrap();
    let (_broker, addr) = broker_process(bin, dir.path(), 21101);
    // Both servers run before any statement: the second learns them while it runs.
    let (_a, a) = sql_server(bin, dir.path(), "sql-a", &addr, 21102);
    let (_b, b) = sql_server(bin, dir.path(), "sql-b", &addr, 21103);
    let body = create_orders_and_large(&a, 4);
    assert_eq!(body[1]["commandSequenceNumber"], 1, "{body}");
    wait_for("CSAS_LARGE_0 on the second server", || query_ids(&b) == ["CSAS_LARGE_0"]);
    let (status, body) = post(&format!("{b}/ksql"), serde_json::json!({ "ksql": "SHOW STREAMS;" }));
    assert_eq!(status, 200, "{body}");
    let streams: Vec<&str> = body[0]["streams"].as_array().unwrap().iter().map(|s| s["name"].as_str().unwrap()).collect();
    assert_eq!(streams, ["KSQL_PROCESSING_LOG", "LARGE", "ORDERS"]);
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let status: serde_json::Value = rt.block_on(async { reqwest::get(format!("{b}/status/stream/`LARGE`/create")).await.unwrap().json().await.unwrap() });
    assert_eq!(status["status"], "SUCCESS", "{status}");

    // The query runs on both, its four partitions split between them; each record is output once.
    let group = "_confluent-ksql-default_query_CSAS_LARGE_0";
    wait_for("both servers in the query's group, two partitions each", || {
        let members = group_members(&addr, group);
        members.len() == 2 && members.iter().all(|(_, n)| *n == 2)
    });
    let p = producer(&addr);
    let want = send_orders_and_read_large(&p, &addr, 0..40);

    // TERMINATE on the second server stops the query on the first too.
    let (status, body) = post(&format!("{b}/ksql"), serde_json::json!({ "ksql": "TERMINATE CSAS_LARGE_0;" }));
    assert_eq!(status, 200, "{body}");
    let terminated = body[0]["commandSequenceNumber"].as_i64().unwrap();
    assert_eq!(terminated, 2, "{body}");
    // With its commandSequenceNumber, the first server answers once it has applied it.
    let (status, body) = post(&format!("{a}/ksql"), serde_json::json!({ "ksql": "SHOW QUERIES;", "commandSequenceNumber": terminated }));
    assert_eq!(status, 200, "{body}");
    assert_eq!(body[0]["queries"], serde_json::json!([]), "{body}");
    wait_for("the query's group empty", || group_members(&addr, group).is_empty());
    send_orders(&p, 40..60);
    // A new query reads every order: once it has, the terminated one would have too.
    let (status, body) = post(
        &format!("{a}/ksql"),
        serde_json::json!({ "ksql": "CREATE STREAM ALL_ORDERS AS SELECT ID, AMOUNT FROM ORDERS;", "streamsProperties": serde_json::from_str::<serde_json::Value>(EARLIEST).unwrap() }),
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(body[0]["commandStatus"]["queryId"], "CSAS_ALL_ORDERS_1", "{body}");
    wait_for("ALL_ORDERS", || read_committed(&addr, "ALL_ORDERS").len() >= 60);
    assert_eq!(ids(&read_committed(&addr, "LARGE")), want, "nothing more in LARGE once the query was terminated");
    wait_for("CSAS_ALL_ORDERS_1 on the second server", || query_ids(&b) == ["CSAS_ALL_ORDERS_1"]);
}
