//! Tests of the executor over a scripted driver.

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
    assert!(
        failure(&unwindowed).ends_with("but was <[1@0/100], 1> with timestamp=0 and headers=[]")
    );
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
