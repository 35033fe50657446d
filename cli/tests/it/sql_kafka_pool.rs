//! Many persistent queries of one engine in Kafka mode (librdkafka against `brook server`'s
//! broker over TCP) share the engine's stream-thread pool, as over the embedded broker
//! (`sql-engine/tests/it/engine_many_queries.rs`): no OS thread per query's stream thread, one
//! admin client for all the queries, no restore consumer for stateless ones. What each query
//! still has are its own consumer (its group) and producer, librdkafka clients whose threads
//! (`rdk:*`) are counted apart.
//!
//! The thread count is a property of the whole process, so the test runs in a child process of
//! its own (this test binary re-run on this one test).

use std::collections::BTreeMap;
use std::time::Instant;

use brook_processor_api::runtime::SharedRuntime;
use brook_sql_engine::engine::POOL_THREADS;
use brook_sql_engine::{Engine, StatementResult};

use crate::sql_kafka::{kafka_config, read_committed, wait_for};
use crate::util::TestServer;

const CHILD_ENV: &str = "BROOK_KAFKA_POOL_CHILD";
const QUERIES: usize = 40;
const SOURCES: usize = 2;
/// Workers of the queries' stream-thread pool.
const POOL: usize = 3;
/// The name of the test broker's runtime threads (not counted: the broker stands for a
/// cluster elsewhere).
const BROKER_THREADS: &str = "test-broker";

/// How many threads of this process have each name.
fn thread_names() -> BTreeMap<String, usize> {
    let mut names = BTreeMap::new();
    for t in std::fs::read_dir("/proc/self/task").expect("/proc/self/task").flatten() {
        let name = std::fs::read_to_string(t.path().join("comm")).unwrap_or_default();
        *names.entry(name.trim().to_owned()).or_insert(0) += 1;
    }
    names
}

/// The threads of librdkafka clients (`rdk:main`, `rdk:broker..`) and of the rdkafka crate's
/// pollers (`FutureProducer`, `AdminClient`), and all the others (the test broker's apart).
fn count(names: &BTreeMap<String, usize>) -> (usize, usize) {
    // Thread names as the kernel keeps them: 15 bytes ("admin client polling thread").
    let client = |n: &str| n.starts_with("rdk:") || n.starts_with("admin client po") || n.starts_with("producer pollin");
    let clients = names.iter().filter(|(n, _)| client(n)).map(|(_, c)| c).sum();
    let others = names.iter().filter(|(n, _)| !client(n) && *n != BROKER_THREADS).map(|(_, c)| c).sum();
    (clients, others)
}

#[test]
fn persistent_queries_over_the_kafka_seam_share_the_stream_thread_pool() {
    if std::env::var_os(CHILD_ENV).is_some() {
        many_queries();
        return;
    }
    let name = "sql_kafka_pool::persistent_queries_over_the_kafka_seam_share_the_stream_thread_pool";
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args([name, "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, "1")
        .output()
        .unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    println!("{text}");
    assert!(out.status.success(), "the child process failed:\n{text}");
    assert!(text.contains("1 passed"), "the child ran no test:\n{text}");
}

fn many_queries() {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).thread_name(BROKER_THREADS).enable_all().build().unwrap();
    let server = rt.block_on(TestServer::start());
    let state = tempfile::tempdir().unwrap();
    let mut config = kafka_config(&server.addr, state.path(), "at_least_once");
    config.properties.insert(POOL_THREADS.into(), POOL.to_string());
    let mut e = Engine::new(config).unwrap();
    for s in 0..SOURCES {
        e.execute(&format!("CREATE STREAM S{s} (ID INT KEY, V INT) WITH (KAFKA_TOPIC='s{s}', PARTITIONS=1, FORMAT='JSON');")).unwrap();
    }
    let (clients_before, others_before) = count(&thread_names());
    let t0 = Instant::now();
    for i in 0..QUERIES {
        let sql = format!("CREATE STREAM Q{i} AS SELECT ID, V FROM S{} WHERE V > {};", i % SOURCES, i % 3);
        assert!(matches!(e.execute(&sql).unwrap().remove(0), StatementResult::Status(_)));
    }
    let started = t0.elapsed();
    let names = thread_names();
    let (clients, others) = count(&names);
    println!(
        "before the queries: {clients_before} client threads, {others_before} others; with {QUERIES} queries: {clients} client threads, {others} others; started in {started:?}; {names:?}"
    );
    // Besides the test broker and librdkafka: the harness's main and test threads, the engine's
    // processing-log flusher, the pool's workers (every query's stream thread) and the shared
    // client runtime (workers and bounded blocking pool). Nothing per query: before, each query
    // had a stream thread of its own.
    let shared = SharedRuntime::DEFAULT_WORKERS + SharedRuntime::DEFAULT_MAX_BLOCKING;
    let bound = 2 + 1 + POOL + shared;
    assert!(others <= bound, "{others} threads besides the clients' with {QUERIES} queries, bound {bound}: {names:?}");
    // Per query, its consumer's and producer's librdkafka threads (a main thread and one per
    // broker connection: the bootstrap, the broker, the internal one) and nothing else: the
    // admin client (three librdkafka clients and a polling thread) is made once for all the
    // queries, and no stateless query makes a restore consumer (before: 2 + 1 + 3 clients of
    // 4 threads and a poller per query).
    let per_query = (clients - clients_before) as f64 / QUERIES as f64;
    println!("{per_query:.1} librdkafka threads per query");
    assert!(per_query <= 2.0 * 4.0 + 0.5, "{per_query} client threads per query: {names:?}");

    // Every query runs: their output is read back with a real Kafka client.
    for s in 0..SOURCES {
        for v in 1..=3 {
            e.pipe_input(&format!("s{s}"), Some(v.to_string().into_bytes()), Some(format!(r#"{{"V":{v}}}"#).into_bytes()), 1_000, vec![]).unwrap();
        }
    }
    let expected = |i: usize| -> Vec<String> { (1..=3).filter(|v| *v > (i % 3) as i32).map(|v| format!(r#"{{"V":{v}}}"#)).collect() };
    for i in 0..QUERIES {
        wait_for(&format!("query {i}'s output"), || e.read_output(&format!("Q{i}")).unwrap().len() == expected(i).len());
        let mut got: Vec<String> = read_committed(&server.addr, &format!("Q{i}")).into_iter().map(|r| r.value).collect();
        got.sort();
        assert_eq!(got, expected(i), "query {i}");
    }
    let t1 = Instant::now();
    drop(e);
    println!("closed {QUERIES} queries in {:?}", t1.elapsed());
    rt.block_on(server.stop());
}
