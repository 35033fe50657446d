//! Helpers for engine tests: run statements, pipe JSON records, read outputs as text.

use brook_sql_engine::engine::OutputRecord;
use brook_sql_engine::{Engine, StatementResult};

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
