//! Runs one [`TestCase`] against a [`TestDriver`], as ksqlDB's `TestExecutor` does: every
//! statement in order, then every input record in order, then the expected records of each
//! topic against what the topic holds, record by record. Failure messages use ksqlDB's words.

use std::fmt;

use crate::value::Value;

use super::compare::{java_string, matches};
use super::model::{ExpectedException, Header, TestCase, TestRecord, WindowData};
use super::post::{self, SourceSummary};
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;

/// Why the system under test refused a statement or a record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DriverError {
    /// ksqlDB would reject it too (syntax, unknown source, bad serialization): the message is
    /// the error as the engine words it.
    Rejected(String),
    /// Valid ksqlDB that Brook does not run yet.
    Unsupported(String),
}

/// A record read back from an output topic, deserialized with the topic's formats.
#[derive(Debug, Clone, PartialEq)]
pub struct ActualRecord {
    /// A single key column as its bare value, several as a struct, none as `Null`.
    pub key: Value,
    pub window: Option<WindowData>,
    /// The value columns as a struct, or the bare value for unwrapped single values.
    pub value: Value,
    pub timestamp: i64,
    pub headers: Vec<Header>,
}

/// The system under test: an engine in test mode (no broker; records go straight through).
pub trait TestDriver {
    /// Runs one statement (DDL, persistent query, `INSERT INTO .. VALUES`, `SET`, ...).
    ///
    /// # Errors
    /// The statement is rejected or not supported.
    fn execute(&mut self, statement: &str) -> Result<(), DriverError>;

    /// Serializes a record with the formats of its topic and processes it.
    ///
    /// # Errors
    /// Unknown topic, a value that does not fit the topic's schema, a failing query.
    fn pipe_input(&mut self, record: &TestRecord) -> Result<(), DriverError>;

    /// Everything written to `topic` so far, in order.
    ///
    /// # Errors
    /// A topic no source or query knows, or bytes that do not deserialize.
    fn read_output(&mut self, topic: &str) -> Result<Vec<ActualRecord>, DriverError>;

    /// The catalog's sources, for QTT `post` conditions; `None` leaves them unchecked.
    fn sources(&mut self) -> Option<Vec<SourceSummary>> {
        None
    }
}

/// Why a test failed, printed as ksqlDB prints it.
#[derive(Debug, Clone, PartialEq)]
pub enum Failure {
    /// A statement was rejected: `<reason>` then `Statement: <text>`.
    Statement { statement: String, message: String },
    /// An input record could not be piped.
    Input {
        index: usize,
        topic: String,
        message: String,
    },
    /// An output topic could not be read.
    Output { topic: String, message: String },
    /// `Topic X. Expected <N> records but it was <M>`, with the actual records.
    RecordCount {
        topic: String,
        expected: usize,
        actual: Vec<ActualRecord>,
    },
    /// `Topic 'X', message i: Expected <k, v> ... but was <k, v> ...`.
    Record {
        topic: String,
        index: usize,
        expected: Box<TestRecord>,
        expected_timestamp: i64,
        actual: Box<ActualRecord>,
    },
    /// A QTT `post` condition does not hold.
    Post(String),
    /// The case expected an exception and none came.
    NoException(ExpectedException),
    /// An exception came, but not the expected one.
    WrongException {
        expected: ExpectedException,
        actual: String,
    },
}

fn headers_text(headers: &[Header]) -> String {
    let parts: Vec<String> = headers
        .iter()
        .map(|h| format!("{{KEY={},VALUE={}}}", h.key, BASE64.encode(&h.value)))
        .collect();
    parts.join(", ")
}

/// An actual record as ksqlDB's `getProducerRecordInString` prints it.
fn actual_text(r: &ActualRecord) -> String {
    let key = java_string(&r.key);
    let key = match r.window {
        Some(w) => format!("[{key}@{}/{}]", w.start, w.end),
        None => key,
    };
    let value = match &r.value {
        Value::String(s) => format!("\"{s}\""),
        v => java_string(v),
    };
    format!(
        "<{key}, {value}> with timestamp={} and headers=[{}]",
        r.timestamp,
        headers_text(&r.headers)
    )
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Statement { statement, message } => {
                write!(f, "{message}\nStatement: {statement}")
            }
            Failure::Input {
                index,
                topic,
                message,
            } => write!(f, "Topic '{topic}', input {index}: {message}"),
            Failure::Output { topic, message } => {
                write!(f, "Failed to read topic {topic}: {message}")
            }
            Failure::RecordCount {
                topic,
                expected,
                actual,
            } => {
                write!(f, "Topic {topic}. Expected <{expected}> records but it was <{}>\nActual records: ", actual.len())?;
                for r in actual {
                    write!(f, "\n{}", actual_text(r))?;
                }
                Ok(())
            }
            Failure::Record {
                topic,
                index,
                expected,
                expected_timestamp,
                actual,
            } => {
                let key = match expected.window {
                    Some(w) => format!("[{}@{}/{}]", expected.key, w.start, w.end),
                    None => expected.key.to_string(),
                };
                write!(
                    f,
                    "Topic '{topic}', message {index}: Expected <{key}, {}> with timestamp={expected_timestamp} and headers=[{}] but was {}",
                    expected.value,
                    headers_text(expected.headers.as_deref().unwrap_or_default()),
                    actual_text(actual)
                )
            }
            Failure::Post(m) => f.write_str(m),
            Failure::NoException(e) => write!(f, "Expected test to throw{e}"),
            Failure::WrongException { expected, actual } => {
                write!(f, "\nExpected: {expected}\n     but: was <{actual}>")
            }
        }
    }
}

/// The result of one case.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Passed,
    Failed(Failure),
    /// The case needs something Brook does not do yet; the reason says what.
    Unsupported(String),
}

/// Properties every case runs with, before its own: no record caches, so every update is
/// forwarded (ksqlDB's `TestExecutor` sets `cache.max.bytes.buffering` to 0).
pub const BASE_PROPERTIES: &[(&str, &str)] = &[
    ("cache.max.bytes.buffering", "0"),
    ("auto.offset.reset", "earliest"),
];

/// Where an error came from, for matching `expectedException`.
struct Thrown {
    statement: Option<usize>,
    failure: Failure,
}

/// Runs `case` on `driver` (built with [`BASE_PROPERTIES`] and the case's properties).
pub fn run_test(case: &TestCase, driver: &mut dyn TestDriver) -> Outcome {
    match (run_steps(case, driver), &case.expected_exception) {
        (Ok(()), None) => Outcome::Passed,
        (Ok(()), Some(e)) => Outcome::Failed(Failure::NoException(e.clone())),
        (Err(Stop::Thrown(thrown)), None) => Outcome::Failed(thrown.failure),
        (Err(Stop::Thrown(thrown)), Some(e)) => check_exception(case, e, thrown),
        (Err(Stop::Unsupported(reason)), _) => Outcome::Unsupported(reason),
    }
}

fn check_exception(case: &TestCase, expected: &ExpectedException, thrown: Thrown) -> Outcome {
    let message = thrown.failure.to_string();
    let type_ok = match expected.type_name.as_deref() {
        // A statement exception must come from the last statement, as ksqlDB's matcher checks.
        Some(t) if t.ends_with("KsqlStatementException") => {
            thrown.statement == Some(case.statements.len().saturating_sub(1))
        }
        Some(t) if t.ends_with("ParseFailedException") => thrown.statement.is_some(),
        _ => true,
    };
    let message_ok = expected
        .message
        .as_deref()
        .is_none_or(|m| message.contains(m));
    if type_ok && message_ok {
        Outcome::Passed
    } else {
        Outcome::Failed(Failure::WrongException {
            expected: expected.clone(),
            actual: message,
        })
    }
}

/// Why a run stopped early.
enum Stop {
    /// The driver does not support a step: the case is unsupported, not failed.
    Unsupported(String),
    Thrown(Thrown),
}

/// A driver result as a step of the run: `Rejected` becomes the test's exception.
fn step<T>(r: Result<T, DriverError>, thrown: impl FnOnce(String) -> Thrown) -> Result<T, Stop> {
    r.map_err(|e| match e {
        DriverError::Unsupported(m) => Stop::Unsupported(m),
        DriverError::Rejected(m) => Stop::Thrown(thrown(m)),
    })
}

fn run_steps(case: &TestCase, driver: &mut dyn TestDriver) -> Result<(), Stop> {
    for (i, statement) in case.statements.iter().enumerate() {
        step(driver.execute(statement), |message| Thrown {
            statement: Some(i),
            failure: Failure::Statement {
                statement: statement.clone(),
                message,
            },
        })?;
    }
    for (index, record) in case.inputs.iter().enumerate() {
        step(driver.pipe_input(record), |message| Thrown {
            statement: None,
            failure: Failure::Input {
                index,
                topic: record.topic.clone(),
                message,
            },
        })?;
    }
    // Expected records by topic, topics in order of first mention.
    let mut topics: Vec<(&str, Vec<&TestRecord>)> = Vec::new();
    for r in &case.outputs {
        match topics.iter_mut().find(|(t, _)| *t == r.topic) {
            Some((_, rs)) => rs.push(r),
            None => topics.push((&r.topic, vec![r])),
        }
    }
    let ran_with_inserts = case.inputs.is_empty();
    for (topic, expected) in topics {
        let actual = step(driver.read_output(topic), |message| Thrown {
            statement: None,
            failure: Failure::Output {
                topic: topic.to_owned(),
                message,
            },
        })?;
        compare_topic(topic, &expected, actual, ran_with_inserts).map_err(|failure| {
            Stop::Thrown(Thrown {
                statement: None,
                failure,
            })
        })?;
    }
    if let (Some(conditions), Some(sources)) = (&case.post, driver.sources()) {
        post::check(conditions, &sources).map_err(|m| {
            Stop::Thrown(Thrown {
                statement: None,
                failure: Failure::Post(m),
            })
        })?;
    }
    Ok(())
}

/// ksqlDB's `validateTopicData`: counts, then each record in order.
fn compare_topic(
    topic: &str,
    expected: &[&TestRecord],
    actual: Vec<ActualRecord>,
    ran_with_inserts: bool,
) -> Result<(), Failure> {
    if expected.len() != actual.len() {
        return Err(Failure::RecordCount {
            topic: topic.to_owned(),
            expected: expected.len(),
            actual,
        });
    }
    for (index, (e, a)) in expected.iter().zip(actual).enumerate() {
        let expected_timestamp = e.timestamp.unwrap_or(a.timestamp);
        let key_ok = match (&e.window, &a.window) {
            (Some(ew), Some(aw)) => ew == aw && matches(&a.key, &e.key),
            (Some(_), None) | (None, Some(_)) => false,
            (None, None) => matches(&a.key, &e.key),
        };
        let headers_ok = e.headers.as_deref().unwrap_or_default() == a.headers.as_slice();
        // Records from INSERT VALUES get wall-clock timestamps: an expected 0 means "any".
        let ts_ok =
            a.timestamp == expected_timestamp || (ran_with_inserts && expected_timestamp == 0);
        if !(key_ok && matches(&a.value, &e.value) && headers_ok && ts_ok) {
            return Err(Failure::Record {
                topic: topic.to_owned(),
                index,
                expected: Box::new((*e).clone()),
                expected_timestamp,
                actual: Box::new(a),
            });
        }
    }
    Ok(())
}

#[cfg(test)]
#[path = "executor_tests.rs"]
mod tests;
