//! Helpers for engine tests: run statements, pipe JSON records, read outputs as text.

use brook_sql_engine::engine::OutputRecord;
use brook_sql_engine::{Engine, EngineConfig, StatementResult};

pub(crate) fn engine(statements: &str) -> Engine {
    let mut e = Engine::new_test().expect("engine");
    e.execute(statements).expect("statements");
    e
}

pub(crate) fn status(r: &StatementResult) -> String {
    match r {
        StatementResult::Status(s) => s.message.clone(),
        other => panic!("not a status: {other:?}"),
    }
}

/// Pipes `(key, value, timestamp)` text records into `topic`.
pub(crate) fn pipe(e: &mut Engine, topic: &str, records: &[(Option<&str>, Option<&str>, i64)]) {
    for (k, v, ts) in records {
        e.pipe_input(topic, k.map(|k| k.as_bytes().to_vec()), v.map(|v| v.as_bytes().to_vec()), *ts, vec![]).expect("pipe");
    }
}

fn text(b: &Option<Vec<u8>>) -> String {
    b.as_ref().map_or("<null>".into(), |b| String::from_utf8_lossy(b).into_owned())
}

/// The records of `topic` as `key | value | timestamp` lines.
pub(crate) fn lines(e: &Engine, topic: &str) -> Vec<String> {
    e.read_output(topic).expect("read").iter().map(line).collect()
}

pub(crate) fn line(r: &OutputRecord) -> String {
    format!("{} | {} | {}", text(&r.key), text(&r.value), r.timestamp)
}

/// The records of `topic` as `key | value` lines, sorted.
pub(crate) fn sorted_lines(e: &Engine, topic: &str) -> Vec<String> {
    let mut l: Vec<String> = lines(e, topic).iter().map(|l| l.rsplit_once(" | ").expect("a timestamp").0.to_owned()).collect();
    l.sort();
    l
}

/// A live-mode set-up: a broker (no initial rebalance delay) on a runtime of `workers` worker
/// threads and at most one blocking thread, in a temporary directory, and an engine config over it committing every 50 ms without a
/// record cache. Enter the runtime (`rt.enter()`) before making the engine.
pub(crate) fn live_setup(workers: usize) -> (tokio::runtime::Runtime, tempfile::TempDir, brook_broker::Broker, EngineConfig) {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(workers).max_blocking_threads(1).thread_name("test-broker").enable_all().build().expect("runtime");
    let dir = tempfile::tempdir().expect("tempdir");
    let mut bc = brook_broker::BrokerConfig::new(dir.path().join("log"));
    bc.group_initial_rebalance_delay = std::time::Duration::ZERO;
    let broker = rt.block_on(brook_broker::Broker::open(bc)).expect("broker");
    let mut config = EngineConfig::live(broker.clone(), dir.path().join("state"));
    config.properties.insert("ksql.streams.commit.interval.ms".into(), "50".into());
    config.properties.insert("ksql.streams.cache.max.bytes.buffering".into(), "0".into());
    (rt, dir, broker, config)
}

/// Waits until `f` holds (checking every 20 ms), up to 30 s.
pub(crate) fn wait_for(what: &str, f: impl FnMut() -> bool) {
    brook_common::test_support::wait_until(what, std::time::Duration::from_secs(30), f);
}

/// A windowed key `key bytes + 8-byte start` as `key@start`.
pub(crate) fn windowed_lines(e: &Engine, topic: &str) -> Vec<String> {
    e.read_output(topic)
        .expect("read")
        .iter()
        .map(|r| {
            let k = r.key.as_ref().expect("windowed key");
            let (key, start) = k.split_at(k.len() - 8);
            let start = i64::from_be_bytes(start.try_into().expect("8 bytes"));
            format!("{}@{start} | {} | {}", String::from_utf8_lossy(key), text(&r.value), r.timestamp)
        })
        .collect()
}
