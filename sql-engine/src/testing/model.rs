//! The test-file model: records as the ksql-test-runner input/output files and ksqlDB's
//! query-validation-test (QTT) files write them, read from [`Json`].
//!
//! Field names and defaults follow ksqlDB's `RecordNode`, `WindowData`, `TestHeader` and
//! `TestCaseNode`: a record needs `topic` and `value` (which may be `null`); `key` defaults to
//! `null`; `timestamp` absent means "any timestamp" in an expected record and 0 in an input;
//! `headers` absent means none. Unknown fields are ignored, as Jackson is told to.

use std::fmt;

use super::json::Json;
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;

/// A malformed test file or field. `path` says where, like `outputs[2].window.type`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelError {
    pub path: String,
    pub message: String,
}

impl fmt::Display for ModelError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "{}: {}", self.path, self.message)
        }
    }
}

fn err<T>(path: &str, message: impl Into<String>) -> Result<T, ModelError> {
    Err(ModelError {
        path: path.to_owned(),
        message: message.into(),
    })
}

/// The kind of window a windowed key carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WindowType {
    /// Tumbling or hopping (`TimeWindow`).
    Time,
    Session,
}

/// The window of a windowed record, `{"start": .., "end": .., "type": "time"|"session"}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WindowData {
    pub start: i64,
    pub end: i64,
    pub kind: WindowType,
}

/// One record header, `{"KEY": "k", "VALUE": "<base64>"}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    pub key: String,
    pub value: Vec<u8>,
}

/// A record of a test file: an input to pipe, or an expected output.
#[derive(Debug, Clone, PartialEq)]
pub struct TestRecord {
    pub topic: String,
    /// `Json::Null` when the file has no `key`.
    pub key: Json,
    pub value: Json,
    /// `None`: any timestamp matches (expected), or 0 (input).
    pub timestamp: Option<i64>,
    pub window: Option<WindowData>,
    /// `None`: the file has no `headers`; compared and piped as no headers.
    pub headers: Option<Vec<Header>>,
}

fn obj<'a>(v: &'a Json, path: &str) -> Result<&'a [(String, Json)], ModelError> {
    match v {
        Json::Object(fields) => Ok(fields),
        other => err(
            path,
            format!("expected an object, found {}", other.type_name()),
        ),
    }
}

fn array<'a>(v: &'a Json, path: &str) -> Result<&'a [Json], ModelError> {
    match v {
        Json::Array(items) => Ok(items),
        other => err(
            path,
            format!("expected an array, found {}", other.type_name()),
        ),
    }
}

fn string(v: &Json, path: &str) -> Result<String, ModelError> {
    match v {
        Json::String(s) => Ok(s.clone()),
        other => err(
            path,
            format!("expected a string, found {}", other.type_name()),
        ),
    }
}

fn long(v: &Json, path: &str) -> Result<i64, ModelError> {
    match v {
        Json::Number(t) if v.is_integral() => t
            .parse()
            .or_else(|_| err(path, format!("{t} is out of range for a long"))),
        Json::String(t) => t
            .parse()
            .or_else(|_| err(path, format!("expected a whole number, found {t:?}"))),
        other => err(path, format!("expected a whole number, found {other}")),
    }
}

/// `fields[name]`, treating an explicit `null` as absent (Jackson's `getOptional` does too).
fn optional<'a>(fields: &'a [(String, Json)], name: &str) -> Option<&'a Json> {
    fields
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v)
        .filter(|v| **v != Json::Null)
}

fn required<'a>(
    fields: &'a [(String, Json)],
    name: &str,
    path: &str,
) -> Result<&'a Json, ModelError> {
    match fields.iter().find(|(k, _)| k == name) {
        Some((_, v)) => Ok(v),
        None => err(path, format!("missing field \"{name}\"")),
    }
}

impl WindowData {
    fn from_json(v: &Json, path: &str) -> Result<WindowData, ModelError> {
        let f = obj(v, path)?;
        let start = long(required(f, "start", path)?, &format!("{path}.start"))?;
        let end = long(required(f, "end", path)?, &format!("{path}.end"))?;
        let type_path = format!("{path}.type");
        let kind = match string(required(f, "type", path)?, &type_path)?
            .to_ascii_uppercase()
            .as_str()
        {
            "TIME" => WindowType::Time,
            "SESSION" => WindowType::Session,
            other => {
                return err(
                    &type_path,
                    format!("unknown window type \"{other}\", expected \"time\" or \"session\""),
                )
            }
        };
        Ok(WindowData { start, end, kind })
    }
}

impl Header {
    fn from_json(v: &Json, path: &str) -> Result<Header, ModelError> {
        let f = obj(v, path)?;
        let key = string(required(f, "KEY", path)?, &format!("{path}.KEY"))?;
        let value_path = format!("{path}.VALUE");
        let text = string(required(f, "VALUE", path)?, &value_path)?;
        let value = BASE64
            .decode(&text)
            .or_else(|_| err(&value_path, "not base64"))?;
        Ok(Header { key, value })
    }
}

impl TestRecord {
    /// Reads one record object; `path` names it in errors (`inputs[3]`).
    ///
    /// # Errors
    /// A missing `topic` or `value`, or a field of the wrong type.
    pub fn from_json(v: &Json, path: &str) -> Result<TestRecord, ModelError> {
        let f = obj(v, path)?;
        let topic = string(required(f, "topic", path)?, &format!("{path}.topic"))?;
        if topic.is_empty() {
            return err(&format!("{path}.topic"), "must not be empty");
        }
        if topic.trim() != topic {
            return err(
                &format!("{path}.topic"),
                format!("record topic names must not start or end with whitespace: '{topic}'"),
            );
        }
        let value = required(f, "value", path)?.clone();
        let key = optional(f, "key").cloned().unwrap_or(Json::Null);
        let timestamp = optional(f, "timestamp")
            .map(|t| long(t, &format!("{path}.timestamp")))
            .transpose()?;
        let window = optional(f, "window")
            .map(|w| WindowData::from_json(w, &format!("{path}.window")))
            .transpose()?;
        let headers = optional(f, "headers")
            .map(|h| {
                let hp = format!("{path}.headers");
                array(h, &hp)?
                    .iter()
                    .enumerate()
                    .map(|(i, h)| Header::from_json(h, &format!("{hp}[{i}]")))
                    .collect()
            })
            .transpose()?;
        Ok(TestRecord {
            topic,
            key,
            value,
            timestamp,
            window,
            headers,
        })
    }
}

/// Reads the records of a `{"<field>": [..]}` file: `inputs` for `-i`, `outputs` for `-o`.
///
/// # Errors
/// Invalid JSON, a missing field, a malformed record.
pub fn records_file(text: &str, field: &str) -> Result<Vec<TestRecord>, ModelError> {
    let doc = Json::parse(text).map_err(|e| ModelError {
        path: String::new(),
        message: e.to_string(),
    })?;
    let f = obj(&doc, "")?;
    let items = array(required(f, field, "")?, field)?;
    items
        .iter()
        .enumerate()
        .map(|(i, r)| TestRecord::from_json(r, &format!("{field}[{i}]")))
        .collect()
}

/// `expectedException`: the class ksqlDB would throw and/or a substring of its message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExpectedException {
    /// A Java class name, e.g. `io.confluent.ksql.util.KsqlStatementException`.
    pub type_name: Option<String>,
    pub message: Option<String>,
}

impl fmt::Display for ExpectedException {
    /// Like the Hamcrest description ksqlDB prints.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.type_name, &self.message) {
            (Some(t), Some(m)) => write!(
                f,
                "(an instance of {t} and exception with message a string containing \"{m}\")"
            ),
            (Some(t), None) => write!(f, "an instance of {t}"),
            (None, Some(m)) => write!(f, "exception with message a string containing \"{m}\""),
            (None, None) => f.write_str("an exception"),
        }
    }
}

/// One runnable test case: a ksql-test-runner invocation, or one QTT case after `{FORMAT}`
/// expansion.
#[derive(Debug, Clone, PartialEq)]
pub struct TestCase {
    /// `file - name` or `file - name - FORMAT`, as ksqlDB names QTT cases.
    pub name: String,
    pub statements: Vec<String>,
    /// `properties`, values as text (`SET` would take them so).
    pub properties: Vec<(String, String)>,
    pub inputs: Vec<TestRecord>,
    pub outputs: Vec<TestRecord>,
    pub expected_exception: Option<ExpectedException>,
    /// `post` conditions, kept raw: the executor checks the parts it knows.
    pub post: Option<Json>,
    /// `topics` declared by the case (formats, schemas), kept raw.
    pub topics: Vec<Json>,
}

/// Reads a QTT file (`{"tests": [..]}`) named `file_stem` into runnable cases: disabled cases
/// are dropped, a case with `format: [A, B]` becomes one case per format with `{FORMAT}`
/// replaced in its statements.
///
/// # Errors
/// Invalid JSON or a malformed case (ksqlDB rejects a case without `name` or `statements`, or
/// with neither inputs, outputs nor `expectedException`).
pub fn qtt_file(text: &str, file_stem: &str) -> Result<Vec<TestCase>, ModelError> {
    let doc = Json::parse(text).map_err(|e| ModelError {
        path: String::new(),
        message: e.to_string(),
    })?;
    let tests = array(required(obj(&doc, "")?, "tests", "")?, "tests")?;
    let mut out = Vec::new();
    for (i, t) in tests.iter().enumerate() {
        out.extend(qtt_case(t, &format!("tests[{i}]"), file_stem)?);
    }
    Ok(out)
}

fn string_list(v: Option<&Json>, path: &str) -> Result<Vec<String>, ModelError> {
    v.map_or(Ok(Vec::new()), |v| {
        array(v, path)?
            .iter()
            .enumerate()
            .map(|(i, s)| string(s, &format!("{path}[{i}]")))
            .collect()
    })
}

fn record_list(v: Option<&Json>, path: &str) -> Result<Vec<TestRecord>, ModelError> {
    v.map_or(Ok(Vec::new()), |v| {
        array(v, path)?
            .iter()
            .enumerate()
            .map(|(i, r)| TestRecord::from_json(r, &format!("{path}[{i}]")))
            .collect()
    })
}

fn qtt_case(t: &Json, path: &str, file_stem: &str) -> Result<Vec<TestCase>, ModelError> {
    let f = obj(t, path)?;
    let name = optional(f, "name")
        .map(|n| string(n, &format!("{path}.name")))
        .transpose()?
        .unwrap_or_default();
    if name.is_empty() {
        return err(path, "missing field \"name\"");
    }
    let path = format!("{path} ({name})");
    if optional(f, "enabled") == Some(&Json::Bool(false)) {
        return Ok(Vec::new());
    }
    let statements = string_list(optional(f, "statements"), &format!("{path}.statements"))?;
    if statements.is_empty() {
        return err(&format!("{path}.statements"), "was empty");
    }
    let inputs = record_list(optional(f, "inputs"), &format!("{path}.inputs"))?;
    let outputs = record_list(optional(f, "outputs"), &format!("{path}.outputs"))?;
    let expected_exception = optional(f, "expectedException")
        .map(|e| {
            let ep = format!("{path}.expectedException");
            let ef = obj(e, &ep)?;
            let type_name = optional(ef, "type")
                .map(|v| string(v, &format!("{ep}.type")))
                .transpose()?;
            let message = optional(ef, "message")
                .map(|v| string(v, &format!("{ep}.message")))
                .transpose()?;
            if type_name.is_none() && message.is_none() {
                return err(&ep, "needs \"type\" or \"message\"");
            }
            Ok(ExpectedException { type_name, message })
        })
        .transpose()?;
    if expected_exception.is_none() && inputs.is_empty() && outputs.is_empty() {
        return err(
            &format!("{path}.outputs"),
            "no inputs, outputs or expectedException provided",
        );
    }
    let properties = match optional(f, "properties") {
        None => Vec::new(),
        Some(p) => obj(p, &format!("{path}.properties"))?
            .iter()
            .map(|(k, v)| {
                (
                    k.clone(),
                    if let Json::String(s) = v {
                        s.clone()
                    } else {
                        v.to_string()
                    },
                )
            })
            .collect(),
    };
    let topics = optional(f, "topics").map_or(Ok(Vec::new()), |v| {
        array(v, &format!("{path}.topics")).map(<[Json]>::to_vec)
    })?;
    let formats = string_list(optional(f, "format"), &format!("{path}.format"))?;
    let base = TestCase {
        name: format!("{file_stem} - {name}"),
        statements,
        properties,
        inputs,
        outputs,
        expected_exception,
        post: optional(f, "post").cloned(),
        topics,
    };
    if formats.is_empty() {
        return Ok(vec![base]);
    }
    Ok(formats
        .iter()
        .map(|fmt| TestCase {
            name: format!("{} - {fmt}", base.name),
            statements: base
                .statements
                .iter()
                .map(|s| s.replace("{FORMAT}", fmt))
                .collect(),
            ..base.clone()
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_full_record() {
        let v = Json::parse(
            r#"{"topic":"t","key":1,"value":{"A":1.50},"timestamp":7,
                "window":{"start":0,"end":1000,"type":"Session"},
                "headers":[{"KEY":"h","VALUE":"AQI="}],"extra":true}"#,
        )
        .unwrap();
        let r = TestRecord::from_json(&v, "outputs[0]").unwrap();
        assert_eq!(r.topic, "t");
        assert_eq!(r.key, Json::Number("1".into()));
        assert_eq!(r.value.to_string(), r#"{"A":1.50}"#);
        assert_eq!(r.timestamp, Some(7));
        assert_eq!(
            r.window,
            Some(WindowData {
                start: 0,
                end: 1000,
                kind: WindowType::Session
            })
        );
        assert_eq!(
            r.headers,
            Some(vec![Header {
                key: "h".into(),
                value: vec![1, 2]
            }])
        );
    }

    #[test]
    fn defaults_of_a_minimal_record() {
        let r = TestRecord::from_json(&Json::parse(r#"{"topic":"t","value":null}"#).unwrap(), "x")
            .unwrap();
        assert_eq!(
            (r.key, r.value, r.timestamp, r.window, r.headers),
            (Json::Null, Json::Null, None, None, None)
        );
    }

    #[test]
    fn malformed_records_say_where() {
        let cases = [
            (r#"{"inputs":[{"value":1}]}"#, "inputs[0]: missing field \"topic\""),
            (r#"{"inputs":[{"topic":"t"}]}"#, "inputs[0]: missing field \"value\""),
            (r#"{"inputs":[{"topic":"t","value":1,"timestamp":1.5}]}"#, "inputs[0].timestamp: expected a whole number, found 1.5"),
            (r#"{"inputs":[{"topic":"t","value":1,"window":{"start":0,"end":1,"type":"hop"}}]}"#, "inputs[0].window.type: unknown window type \"HOP\", expected \"time\" or \"session\""),
            (r#"{"inputs":[{"topic":"t","value":1,"headers":[{"KEY":"k","VALUE":"%%"}]}]}"#, "inputs[0].headers[0].VALUE: not base64"),
            (r#"{"inputs":[{"topic":" t","value":1}]}"#, "inputs[0].topic: record topic names must not start or end with whitespace: ' t'"),
            (r#"{"outputs":[]}"#, "missing field \"inputs\""),
            (r#"{"inputs":{}}"#, "inputs: expected an array, found object"),
            ("{\"inputs\":[", "unexpected end of input at line 1 column 12"),
        ];
        for (text, want) in cases {
            assert_eq!(
                records_file(text, "inputs").unwrap_err().to_string(),
                want,
                "{text}"
            );
        }
    }

    #[test]
    fn qtt_cases_expand_formats_and_skip_disabled() {
        let text = r#"{"tests":[
            {"name":"a","format":["JSON","AVRO"],"statements":["CREATE STREAM S WITH (value_format='{FORMAT}');"],
             "inputs":[],"outputs":[{"topic":"o","value":1}],"properties":{"ksql.x":true,"y":"z"}},
            {"name":"b","enabled":false,"statements":["x"]},
            {"name":"c","statements":["bad"],"expectedException":{"type":"io.confluent.ksql.util.KsqlStatementException","message":"boom"}}
        ]}"#;
        let cases = qtt_file(text, "project-filter").unwrap();
        let names: Vec<_> = cases.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "project-filter - a - JSON",
                "project-filter - a - AVRO",
                "project-filter - c"
            ]
        );
        assert_eq!(
            cases[1].statements,
            ["CREATE STREAM S WITH (value_format='AVRO');"]
        );
        assert_eq!(
            cases[0].properties,
            [
                ("ksql.x".to_owned(), "true".to_owned()),
                ("y".to_owned(), "z".to_owned())
            ]
        );
        assert_eq!(
            cases[2]
                .expected_exception
                .as_ref()
                .unwrap()
                .message
                .as_deref(),
            Some("boom")
        );
    }

    #[test]
    fn qtt_rejects_cases_ksqldb_rejects() {
        let e = |t: &str| qtt_file(t, "f").unwrap_err().to_string();
        assert_eq!(
            e(r#"{"tests":[{"statements":["x"]}]}"#),
            "tests[0]: missing field \"name\""
        );
        assert_eq!(
            e(r#"{"tests":[{"name":"n","statements":[]}]}"#),
            "tests[0] (n).statements: was empty"
        );
        assert_eq!(
            e(r#"{"tests":[{"name":"n","statements":["x"]}]}"#),
            "tests[0] (n).outputs: no inputs, outputs or expectedException provided"
        );
        assert_eq!(
            e(r#"{"tests":[{"name":"n","statements":["x"],"expectedException":{}}]}"#),
            "tests[0] (n).expectedException: needs \"type\" or \"message\""
        );
    }
}
