//! Runs one [`TestCase`] against a [`TestDriver`], as ksqlDB's `TestExecutor` does: every
//! statement in order, then every input record in order, then the expected records of each
//! topic against what the topic holds, record by record. Failure messages use ksqlDB's words.

use std::fmt;

use crate::value::Value;

use super::base64;
use super::compare::{java_string, matches};
use super::model::{ExpectedException, Header, TestCase, TestRecord, WindowData};
use super::post::{self, SourceSummary};

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
        expected: TestRecord,
        expected_timestamp: i64,
        actual: ActualRecord,
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
        .map(|h| format!("{{KEY={},VALUE={}}}", h.key, base64::encode(&h.value)))
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
                expected: (*e).clone(),
                expected_timestamp,
                actual: a,
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::compare::value_from_json;
    use super::super::json::Json;
    use super::super::model::{records_file, WindowType};
    use super::*;

    /// Echoes each input topic `X` to an output topic `X_OUT`; rejects statements containing
    /// `BAD`, and does not support those containing `LATER`.
    #[derive(Default)]
    struct Echo {
        topics: Vec<(String, Vec<ActualRecord>)>,
        statements: Vec<String>,
    }

    impl TestDriver for Echo {
        fn execute(&mut self, statement: &str) -> Result<(), DriverError> {
            self.statements.push(statement.to_owned());
            if statement.contains("BAD") {
                return Err(DriverError::Rejected("line 1:1: Syntax Error".into()));
            }
            if statement.contains("LATER") {
                return Err(DriverError::Unsupported(
                    "LATER is not supported yet".into(),
                ));
            }
            Ok(())
        }

        fn pipe_input(&mut self, r: &TestRecord) -> Result<(), DriverError> {
            let out = format!("{}_OUT", r.topic);
            let record = ActualRecord {
                key: value_from_json(&r.key),
                window: r.window,
                value: value_from_json(&r.value),
                timestamp: r.timestamp.unwrap_or(0),
                headers: r.headers.clone().unwrap_or_default(),
            };
            match self.topics.iter_mut().find(|(t, _)| *t == out) {
                Some((_, rs)) => rs.push(record),
                None => self.topics.push((out, vec![record])),
            }
            Ok(())
        }

        fn sources(&mut self) -> Option<Vec<SourceSummary>> {
            let schema = "`ID` INTEGER KEY, `V` STRING".to_owned();
            let s = SourceSummary {
                name: "A".into(),
                kind: "STREAM".into(),
                schema,
                key_format: "KAFKA".into(),
                window_type: None,
                window_size_ms: None,
            };
            Some(vec![s])
        }

        fn read_output(&mut self, topic: &str) -> Result<Vec<ActualRecord>, DriverError> {
            self.topics
                .iter()
                .find(|(t, _)| t == topic)
                .map(|(_, rs)| rs.clone())
                .ok_or_else(|| DriverError::Rejected(format!("no source found for topic {topic}")))
        }
    }

    fn case(statements: &[&str], inputs: &str, outputs: &str) -> TestCase {
        TestCase {
            name: "t".into(),
            statements: statements.iter().map(|s| s.to_string()).collect(),
            properties: Vec::new(),
            inputs: records_file(inputs, "inputs").unwrap(),
            outputs: records_file(outputs, "outputs").unwrap(),
            expected_exception: None,
            post: None,
            topics: Vec::new(),
        }
    }

    fn failure(c: &TestCase) -> String {
        match run_test(c, &mut Echo::default()) {
            Outcome::Failed(f) => f.to_string(),
            other => panic!("expected a failure, got {other:?}"),
        }
    }

    const INPUTS: &str = r#"{"inputs":[
        {"topic":"A","key":1,"value":{"X":1.50,"S":"a"},"timestamp":10},
        {"topic":"B","key":"k","value":"v","timestamp":20,"headers":[{"KEY":"h","VALUE":"AQI="}]},
        {"topic":"A","key":2,"value":{"X":2,"S":null},"timestamp":30}]}"#;

    #[test]
    fn matching_outputs_pass_in_topic_order() {
        let c = case(
            &["CREATE STREAM A;"],
            INPUTS,
            r#"{"outputs":[
            {"topic":"A_OUT","key":1,"value":{"x":1.50,"S":"a"},"timestamp":10},
            {"topic":"B_OUT","key":"k","value":"v","headers":[{"KEY":"h","VALUE":"AQI="}]},
            {"topic":"A_OUT","key":2,"value":{"X":2,"S":null},"timestamp":30}]}"#,
        );
        let mut d = Echo::default();
        assert_eq!(run_test(&c, &mut d), Outcome::Passed);
        assert_eq!(d.statements, ["CREATE STREAM A;"]);
    }

    #[test]
    fn a_count_mismatch_lists_the_actual_records() {
        let c = case(
            &[],
            INPUTS,
            r#"{"outputs":[{"topic":"A_OUT","key":1,"value":{"X":1.50,"S":"a"}}]}"#,
        );
        assert_eq!(
            failure(&c),
            "Topic A_OUT. Expected <1> records but it was <2>\nActual records: \n\
             <1, {X=1.50, S=a}> with timestamp=10 and headers=[]\n\
             <2, {X=2, S=null}> with timestamp=30 and headers=[]"
        );
    }

    #[test]
    fn a_record_mismatch_prints_both_sides() {
        let c = case(
            &[],
            INPUTS,
            r#"{"outputs":[
            {"topic":"A_OUT","key":1,"value":{"X":1.5,"S":"a"},"timestamp":10},
            {"topic":"A_OUT","key":2,"value":{"X":2,"S":null},"timestamp":30}]}"#,
        );
        assert_eq!(
            failure(&c),
            "Topic 'A_OUT', message 0: Expected <1, {\"X\":1.5,\"S\":\"a\"}> with timestamp=10 and headers=[] \
             but was <1, {X=1.50, S=a}> with timestamp=10 and headers=[]"
        );
    }

    #[test]
    fn timestamps_headers_and_windows_are_compared() {
        let wrong_ts = case(
            &[],
            INPUTS,
            r#"{"outputs":[{"topic":"B_OUT","key":"k","value":"v","timestamp":21,"headers":[{"KEY":"h","VALUE":"AQI="}]}]}"#,
        );
        assert_eq!(
            failure(&wrong_ts),
            "Topic 'B_OUT', message 0: Expected <\"k\", \"v\"> with timestamp=21 and headers=[{KEY=h,VALUE=AQI=}] \
             but was <k, \"v\"> with timestamp=20 and headers=[{KEY=h,VALUE=AQI=}]"
        );
        let no_headers = case(
            &[],
            INPUTS,
            r#"{"outputs":[{"topic":"B_OUT","key":"k","value":"v"}]}"#,
        );
        assert!(failure(&no_headers).ends_with(
            "headers=[] but was <k, \"v\"> with timestamp=20 and headers=[{KEY=h,VALUE=AQI=}]"
        ));

        let windowed = r#"{"inputs":[{"topic":"W","key":1,"value":1,"window":{"start":0,"end":100,"type":"time"}}]}"#;
        let ok = case(
            &[],
            windowed,
            r#"{"outputs":[{"topic":"W_OUT","key":1,"value":1,"window":{"start":0,"end":100,"type":"TIME"}}]}"#,
        );
        assert_eq!(run_test(&ok, &mut Echo::default()), Outcome::Passed);
        let session = case(
            &[],
            windowed,
            r#"{"outputs":[{"topic":"W_OUT","key":1,"value":1,"window":{"start":0,"end":100,"type":"session"}}]}"#,
        );
        assert!(failure(&session).contains(
            "Expected <[1@0/100], 1> with timestamp=0 and headers=[] but was <[1@0/100], 1>"
        ));
        let unwindowed = case(
            &[],
            windowed,
            r#"{"outputs":[{"topic":"W_OUT","key":1,"value":1}]}"#,
        );
        assert!(failure(&unwindowed)
            .ends_with("but was <[1@0/100], 1> with timestamp=0 and headers=[]"));
        assert_eq!(ok.outputs[0].window.map(|w| w.kind), Some(WindowType::Time));
    }

    #[test]
    fn without_inputs_an_expected_zero_timestamp_matches_any() {
        let mut c = case(
            &[],
            r#"{"inputs":[]}"#,
            r#"{"outputs":[{"topic":"A_OUT","value":1,"timestamp":0}]}"#,
        );
        let mut d = Echo::default();
        d.topics.push((
            "A_OUT".into(),
            vec![ActualRecord {
                key: Value::Null,
                window: None,
                value: Value::BigInt(1),
                timestamp: 12345,
                headers: vec![],
            }],
        ));
        assert_eq!(run_test(&c, &mut d), Outcome::Passed);
        c.outputs[0].timestamp = Some(1);
        assert!(matches!(
            run_test(&c, &mut d),
            Outcome::Failed(Failure::Record { .. })
        ));
    }

    #[test]
    fn a_rejected_statement_stops_the_test() {
        let c = case(
            &["CREATE STREAM A;", "CREATE BAD;", "CREATE STREAM C;"],
            INPUTS,
            r#"{"outputs":[]}"#,
        );
        let mut d = Echo::default();
        let Outcome::Failed(f) = run_test(&c, &mut d) else {
            panic!("passed")
        };
        assert_eq!(
            f.to_string(),
            "line 1:1: Syntax Error\nStatement: CREATE BAD;"
        );
        assert_eq!(
            d.statements.len(),
            2,
            "statements after the rejected one do not run"
        );
        let c = case(&["CREATE LATER;"], INPUTS, r#"{"outputs":[]}"#);
        assert_eq!(
            run_test(&c, &mut Echo::default()),
            Outcome::Unsupported("LATER is not supported yet".into())
        );
    }

    #[test]
    fn an_unknown_output_topic_fails() {
        let c = case(&[], INPUTS, r#"{"outputs":[{"topic":"NOPE","value":1}]}"#);
        assert_eq!(
            failure(&c),
            "Failed to read topic NOPE: no source found for topic NOPE"
        );
    }

    #[test]
    fn expected_exceptions() {
        let expect = |t: Option<&str>, m: Option<&str>| {
            Some(ExpectedException {
                type_name: t.map(Into::into),
                message: m.map(Into::into),
            })
        };
        let stmt_ex = "io.confluent.ksql.util.KsqlStatementException";
        let mut c = case(
            &["CREATE STREAM A;", "CREATE BAD;"],
            r#"{"inputs":[]}"#,
            r#"{"outputs":[]}"#,
        );
        c.expected_exception = expect(Some(stmt_ex), Some("Syntax Error"));
        assert_eq!(run_test(&c, &mut Echo::default()), Outcome::Passed);
        c.expected_exception = expect(None, Some("Statement: CREATE BAD;"));
        assert_eq!(run_test(&c, &mut Echo::default()), Outcome::Passed);
        c.expected_exception = expect(None, Some("unknown column"));
        assert_eq!(
            failure(&c),
            "\nExpected: exception with message a string containing \"unknown column\"\n     but: was <line 1:1: Syntax Error\nStatement: CREATE BAD;>"
        );
        c.statements.push("CREATE STREAM C;".into());
        c.expected_exception = expect(Some(stmt_ex), None);
        assert!(
            failure(&c).contains("an instance of io.confluent.ksql.util.KsqlStatementException"),
            "must be the last statement"
        );
        c.statements = vec!["CREATE STREAM A;".into()];
        assert_eq!(
            failure(&c),
            "Expected test to throwan instance of io.confluent.ksql.util.KsqlStatementException"
        );
    }

    #[test]
    fn post_conditions_are_checked_after_the_outputs() {
        let mut c = case(&[], r#"{"inputs":[]}"#, r#"{"outputs":[]}"#);
        c.post = Some(
            Json::parse(
                r#"{"sources":[{"name":"A","type":"stream","schema":"ID INT KEY, V VARCHAR"}]}"#,
            )
            .unwrap(),
        );
        assert_eq!(run_test(&c, &mut Echo::default()), Outcome::Passed);
        c.post = Some(Json::parse(r#"{"sources":[{"name":"A","type":"table"}]}"#).unwrap());
        assert_eq!(
            failure(&c),
            "Post condition failed: source A: expected type table, found STREAM"
        );
    }
}
