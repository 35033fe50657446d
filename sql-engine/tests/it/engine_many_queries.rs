//! Many persistent queries in one live engine: they share one client runtime and one pool of
//! stream-thread workers, so the process's threads stay bounded whatever the number of queries
//! (see docs/streams-runtime.md, "Many instances in one process"), and a query that fails does
//! not stop the others.
//!
//! The thread count is a property of the whole process, so the test runs in a child process of
//! its own (this test binary re-run on this one test): tests running beside it in the harness
//! would add their threads to `/proc/self/task`.

use std::time::Instant;

use brook_processor_api::runtime::SharedRuntime;
use brook_sql_engine::catalog::QueryState;
use brook_sql_engine::engine::POOL_THREADS;
use brook_sql_engine::{Engine, StatementResult};

use crate::engine_support::{live_setup, sorted_lines, wait_for};

const CHILD_ENV: &str = "BROOK_MANY_QUERIES_CHILD";
const QUERIES: usize = 200;
const SOURCES: usize = 2;
/// Workers of the queries' stream-thread pool.
const POOL: usize = 3;

/// Threads of this process.
fn threads() -> usize {
    std::fs::read_dir("/proc/self/task").expect("/proc/self/task").count()
}

/// How many threads of this process have each name.
fn thread_names() -> std::collections::BTreeMap<String, usize> {
    let mut names = std::collections::BTreeMap::new();
    for t in std::fs::read_dir("/proc/self/task").expect("/proc/self/task").flatten() {
        let name = std::fs::read_to_string(t.path().join("comm")).unwrap_or_default();
        *names.entry(name.trim().to_owned()).or_insert(0) += 1;
    }
    names
}

/// What query `i` (`WHERE V > i % 3` over source `i % SOURCES`) outputs for records `V = 1..=n`.
fn expected(i: usize, n: i32) -> Vec<String> {
    let mut l: Vec<String> = (1..=n).filter(|v| *v > (i % 3) as i32).map(|v| format!(r#"{v} | {{"V":{v}}}"#)).collect();
    l.sort();
    l
}

#[test]
fn two_hundred_queries_share_a_bounded_thread_pool_and_a_failing_one_does_not_stop_the_others() {
    if std::env::var_os(CHILD_ENV).is_some() {
        many_queries();
        return;
    }
    let name = "engine_many_queries::two_hundred_queries_share_a_bounded_thread_pool_and_a_failing_one_does_not_stop_the_others";
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
    let (rt, _dir, broker, mut config) = live_setup(1);
    let _guard = rt.enter();
    config.properties.insert("ksql.streams.auto.offset.reset".into(), "earliest".into());
    // `poll.ms` stays at its default (100): a pooled query's consumer wakes its stream thread
    // as soon as its group join is done, so starting 200 queries one after the other does not
    // wait out a poll each; idle queries are polled every `poll.ms` for their commits.
    config.properties.insert(POOL_THREADS.into(), POOL.to_string());
    // Before the engine: its processing-log flusher and the shared runtime come on top.
    let mut e = Engine::new(config).unwrap();
    for s in 0..SOURCES {
        e.execute(&format!("CREATE STREAM S{s} (ID INT KEY, V INT) WITH (KAFKA_TOPIC='s{s}', PARTITIONS=1, FORMAT='JSON');")).unwrap();
    }
    let t0 = Instant::now();
    let mut ids = Vec::new();
    for i in 0..QUERIES {
        let sql = format!("CREATE STREAM Q{i} AS SELECT ID, V FROM S{} WHERE V > {};", i % SOURCES, i % 3);
        match e.execute(&sql).unwrap().remove(0) {
            StatementResult::Status(s) => ids.push(s.query_id.expect("a query id")),
            other => panic!("{other:?}"),
        }
    }
    let started = t0.elapsed();
    let running = threads();
    // The harness's main and test threads; the test broker's runtime (1 worker, at most 1
    // blocking thread); the engine's processing-log flusher; shared by all queries, the pool's
    // workers, which run every query's stream thread, and the client runtime's workers and its
    // bounded blocking pool. Nothing per query: before the pool, each query had its stream
    // thread (and before the shared runtime, a heartbeat and a linger runtime thread and a
    // supervisor thread too: 4 per query).
    let shared = SharedRuntime::DEFAULT_WORKERS + SharedRuntime::DEFAULT_MAX_BLOCKING;
    let bound = 2 + 2 + 1 + POOL + shared;
    println!("threads: {running} with {QUERIES} queries running (bound {bound}); started in {started:?}");
    assert!(running <= bound, "{running} threads with {QUERIES} queries, bound {bound}: {:?}", thread_names());

    let send = |e: &mut Engine, s: usize, v: i32| {
        e.pipe_input(&format!("s{s}"), Some(v.to_string().into_bytes()), Some(format!(r#"{{"V":{v}}}"#).into_bytes()), 1_000, vec![]).unwrap();
    };
    for s in 0..SOURCES {
        for v in 1..=3 {
            send(&mut e, s, v);
        }
    }
    wait_for("every query's output", || (0..QUERIES).all(|i| e.read_output(&format!("Q{i}")).unwrap().len() == expected(i, 3).len()));
    for i in 0..QUERIES {
        assert_eq!(sorted_lines(&e, &format!("Q{i}")), expected(i, 3), "query {i}");
    }

    // Query 0 loses its sink topic: it fails; the others keep going.
    broker.delete_topic("Q0").unwrap();
    for s in 0..SOURCES {
        send(&mut e, s, 4);
    }
    wait_for("query 0 to fail", || e.query_state(&ids[0]) == Some(QueryState::Error));
    wait_for("the other queries' output", || (1..QUERIES).all(|i| e.read_output(&format!("Q{i}")).unwrap().len() == expected(i, 4).len()));
    for (i, id) in ids.iter().enumerate().skip(1) {
        assert_eq!(sorted_lines(&e, &format!("Q{i}")), expected(i, 4), "query {i}");
        assert_eq!(e.query_state(id), Some(QueryState::Running), "query {i}");
    }
    let t1 = Instant::now();
    drop(e);
    println!("closed {QUERIES} queries in {:?}", t1.elapsed());
    rt.block_on(broker.shutdown());
}
