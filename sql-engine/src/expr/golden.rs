//! Golden expression tests: `testdata/expressions.golden` holds `expression => TYPE value`
//! lines, evaluated on one fixed row (see [`scope_and_row`]). `UPDATE_EXPECT=1 cargo test`
//! rewrites the expectations from the actual results, for review in the diff.
//!
//! Expected forms: `INTEGER 42`, `STRING 'text'`, `ARRAY<INTEGER> [1, 2]`, `BIGINT NULL`,
//! `error: <message>` (evaluation fails) or `analysis error: <message>` (does not compile).

use std::fmt::Write;

use super::{compile, Scope, ScopeColumn};
use crate::function::FunctionRegistry;
use crate::parser::parse_expression;
use crate::value::{Decimal, SqlType, Value};

const FILE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/src/expr/testdata/expressions.golden");

/// The columns every golden expression can read, and their values.
fn scope_and_row() -> (Scope, Vec<Value>) {
    let s = |v: &str| Value::String(v.into());
    let columns: Vec<(&str, SqlType, Value)> = vec![
        ("A", SqlType::Int, Value::Int(7)),
        ("B", SqlType::BigInt, Value::BigInt(10)),
        ("S", SqlType::String, s("hello")),
        ("D", SqlType::Double, Value::Double(2.5)),
        ("ARR", SqlType::Array(Box::new(SqlType::Int)), Value::Array(vec![Value::Int(1), Value::Int(2), Value::Int(3)])),
        ("M", SqlType::Map(Box::new(SqlType::String), Box::new(SqlType::Int)), Value::Map(vec![(s("k"), Value::Int(5)), (s("j"), Value::Int(6))])),
        ("ST", SqlType::Struct(vec![("X".into(), SqlType::Int), ("Y".into(), SqlType::String)]), Value::Struct(vec![("X".into(), Value::Int(9)), ("Y".into(), s("why"))])),
        ("N", SqlType::Int, Value::Null),
        ("NS", SqlType::String, Value::Null),
        ("TS", SqlType::Timestamp, Value::Timestamp(1_577_934_245_678)),
        ("DT", SqlType::Date, Value::Date(18_262)),
        ("TM", SqlType::Time, Value::Time(3_723_004)),
        ("DEC", SqlType::Decimal { precision: 4, scale: 2 }, Value::Decimal(Decimal { unscaled: 1234, precision: 4, scale: 2 })),
        ("BYT", SqlType::Bytes, Value::Bytes(vec![1, 2, 255])),
        ("J", SqlType::String, s(r#"{"a": {"b": [1, "two"]}, "c": true}"#)),
    ];
    let row = columns.iter().map(|(_, _, v)| v.clone()).collect();
    let scope = Scope::new(columns.into_iter().map(|(n, ty, _)| ScopeColumn { qualifier: Some("T".into()), name: n.into(), ty }).collect());
    (scope, row)
}

/// A value as the golden file spells it: strings quoted, `NULL` bare.
fn render(v: &Value) -> String {
    match v {
        Value::Null => "NULL".into(),
        Value::String(s) => format!("'{s}'"),
        Value::Array(items) => format!("[{}]", items.iter().map(render).collect::<Vec<_>>().join(", ")),
        Value::Map(entries) => format!("{{{}}}", entries.iter().map(|(k, v)| format!("{}={}", render(k), render(v))).collect::<Vec<_>>().join(", ")),
        Value::Struct(fields) => format!("{{{}}}", fields.iter().map(|(k, v)| format!("{k}={}", render(v))).collect::<Vec<_>>().join(", ")),
        Value::Bytes(b) => format!("0x{}", b.iter().map(|x| format!("{x:02x}")).collect::<String>()),
        other => super::cast::to_text(other),
    }
}

fn outcome(text: &str, scope: &Scope, row: &[Value], registry: &FunctionRegistry) -> String {
    let expr = match parse_expression(text) {
        Ok(e) => e,
        Err(e) => return format!("parse error: {e}"),
    };
    let compiled = match compile(&expr, scope, registry, &|_| None) {
        Ok(c) => c,
        Err(e) => return format!("analysis error: {e}").replace('\n', "\\n"),
    };
    let mut failed_calls = Vec::new();
    match compiled.eval_reporting(row, |m| failed_calls.push(m.to_owned())) {
        Ok(v) if failed_calls.is_empty() => format!("{} {}", compiled.ty(), render(&v)),
        // A failing function call is `NULL` (ksqlDB) and reported to the processing log.
        Ok(v) => format!("{} {} (logged: {})", compiled.ty(), render(&v), failed_calls.join("; ")),
        Err(e) => format!("error: {e}"),
    }
}

/// Mutations of every golden expression (truncated, extreme numbers, swapped operands) must
/// compile and evaluate to a value or an error, never a panic.
#[test]
fn mutated_golden_expressions_never_panic() {
    let (scope, row) = scope_and_row();
    let registry = FunctionRegistry::new();
    let text = std::fs::read_to_string(FILE).expect("golden file");
    let exprs: Vec<&str> = text.lines().filter(|l| !l.starts_with('#')).filter_map(|l| l.rsplit_once(" => ").map(|(e, _)| e.trim())).collect();
    let extremes = ["2147483647", "-2147483648", "9223372036854775807", "0", "-1", "NULL", "''", "1e308", "99999999999999999999999999999999999.9"];
    let mut tried = 0;
    for e in &exprs {
        let mut variants = vec![e.replace('1', "0"), e.replace("2", "-2147483648"), e.replace("A", "N").replace("S,", "NS,")];
        for cut in [e.len() / 3, e.len() / 2] {
            variants.push(e.chars().take(cut).collect());
        }
        for x in extremes {
            variants.push(e.replace("3", x));
            variants.push(e.replace("'", "").replace("hello", x));
        }
        for v in variants {
            tried += 1;
            let _ = outcome(&v, &scope, &row, &registry);
        }
    }
    assert!(tried > 1000, "only {tried} mutations");
}

#[test]
fn golden_expressions() {
    let original = std::fs::read_to_string(FILE).expect("golden file");
    let (scope, row) = scope_and_row();
    let registry = FunctionRegistry::new();
    let mut rewritten = String::new();
    let mut failures = Vec::new();
    let mut cases = 0;
    for (n, line) in original.lines().enumerate() {
        let Some((expr, expected)) = line.rsplit_once(" => ").filter(|_| !line.starts_with('#')) else {
            rewritten.push_str(line);
            rewritten.push('\n');
            continue;
        };
        cases += 1;
        let actual = outcome(expr.trim(), &scope, &row, &registry);
        if actual != expected.trim() {
            failures.push(format!("line {}: {}\n  expected: {}\n  actual:   {actual}", n + 1, expr.trim(), expected.trim()));
        }
        let _ = writeln!(rewritten, "{} => {actual}", expr.trim_end());
    }
    if std::env::var_os("UPDATE_EXPECT").is_some() {
        std::fs::write(FILE, rewritten).expect("rewrite golden file");
        return;
    }
    assert!(cases > 100, "only {cases} golden cases");
    assert!(failures.is_empty(), "{} of {cases} golden expressions differ (UPDATE_EXPECT=1 rewrites):\n{}", failures.len(), failures.join("\n"));
}
