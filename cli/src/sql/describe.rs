//! `DESCRIBE`, `DESCRIBE EXTENDED`, `EXPLAIN` and `DESCRIBE FUNCTION` as the ksql CLI prints
//! them (`Name                 : X`, the field table, the queries reading and writing).
//!
//! Where Brook differs from the ksql CLI: no consumer-group offsets, no per-host statistics and
//! no overridden properties in the extended views; `Jar` of a function is `internal`.

use std::fmt::Write as _;

use brook_sql_engine::engine::entities::{ConnectorDescription, FieldInfo, FieldSchema, QueryDescription, QueryRef, SourceDescription};
use brook_sql_engine::function::FunctionDescription;

use super::table::{single_line, Table};

/// `%-20s : %s`.
fn label(out: &mut String, name: &str, value: &str) {
    let _ = writeln!(out, "{name:<20} : {value}");
}

/// The type as `toTypeString` writes it: `VARCHAR(STRING)`, `ARRAY<INTEGER>`,
/// `STRUCT<A INTEGER, B VARCHAR(STRING)>`.
pub(crate) fn type_string(s: &FieldSchema) -> String {
    match s.type_name.as_str() {
        "STRING" => "VARCHAR(STRING)".into(),
        "ARRAY" => format!("ARRAY<{}>", s.member_schema.as_deref().map_or_else(String::new, type_string)),
        "MAP" => format!("MAP<STRING, {}>", s.member_schema.as_deref().map_or_else(String::new, type_string)),
        "STRUCT" => {
            let fields: Vec<String> = s.fields.iter().flatten().map(|f| format!("{} {}", f.name, type_string(&f.schema))).collect();
            format!("STRUCT<{}>", fields.join(", "))
        }
        other => other.to_owned(),
    }
}

fn field_type(f: &FieldInfo, window: Option<&str>, table: bool) -> String {
    match f.kind.as_deref() {
        Some("KEY") => {
            let key = if table { "(primary key)" } else { "(key)" };
            let wt = window.map(|w| format!(" (Window type: {w})")).unwrap_or_default();
            format!("{:<16} {key}{wt}", type_string(&f.schema))
        }
        Some("HEADERS") => format!("{:<16} (headers)", type_string(&f.schema)),
        _ => type_string(&f.schema),
    }
}

fn schema(fields: &[FieldInfo], window: Option<&str>, table: bool, width: usize) -> String {
    if fields.is_empty() {
        return String::new();
    }
    fields.iter().fold(Table::new(&["Field", "Type"]), |t, f| t.row([f.name.clone(), field_type(f, window, table)])).render(width)
}

fn queries(out: &mut String, list: &[QueryRef], kind: &str, operation: &str) {
    if list.is_empty() {
        return;
    }
    let _ = write!(out, "\n{:<20}\n{:<20}\n", format!("Queries that {operation} from this {kind}"), "-----------------------------------");
    for q in list {
        let _ = writeln!(out, "{} ({}) : {}", q.id, q.state, single_line(&q.query_string));
    }
    out.push_str("\nFor query topology and execution plan please run: EXPLAIN <QueryId>\n");
}

/// `DESCRIBE [EXTENDED] source`.
pub(crate) fn source(d: &SourceDescription, width: usize) -> String {
    let table = d.kind.eq_ignore_ascii_case("TABLE");
    let window = d.window_type.as_deref();
    let mut out = String::new();
    label(&mut out, "Name", &d.name);
    if !d.extended {
        out.push_str(&schema(&d.fields, window, table, width));
        out.push_str("For runtime statistics and query details run: DESCRIBE <Stream,Table> EXTENDED;\n");
        return out;
    }
    label(&mut out, "Type", &d.kind);
    label(&mut out, "Timestamp field", if d.timestamp.is_empty() { "Not set - using <ROWTIME>" } else { &d.timestamp });
    label(&mut out, "Key format", &d.key_format);
    label(&mut out, "Value format", &d.value_format);
    if !d.topic.is_empty() {
        let parts = if d.partitions != 0 { format!(" (partitions: {}, replication: {})", d.partitions, d.replication) } else { String::new() };
        label(&mut out, "Kafka topic", &format!("{}{parts}", d.topic));
    }
    label(&mut out, "Statement", &d.statement);
    out.push('\n');
    out.push_str(&schema(&d.fields, window, table, width));
    queries(&mut out, &d.read_queries, &d.kind, "read");
    queries(&mut out, &d.write_queries, &d.kind, "write");
    let _ = write!(out, "\n{:<20}\n------------------------\n{}\n{}\n", "Local runtime statistics", d.statistics, d.error_stats);
    let _ = writeln!(out, "(Statistics of the local KSQL server interaction with the Kafka topic {})", d.topic);
    out
}

fn listing(out: &mut String, title: &str, items: &[String], hint: &str) {
    if items.is_empty() {
        return;
    }
    let _ = write!(out, "\n{title:<20}\n{:<20}\n", "-----------------------------------");
    for i in items {
        let _ = writeln!(out, "{i}");
    }
    let _ = writeln!(out, "\n{hint}");
}

/// `EXPLAIN query`.
/// `DESCRIBE CONNECTOR`: name, class, type, state, worker (and trace), then the tasks, the
/// SQL sources over its topics and its topics as tables, as the ksql CLI prints them.
pub(crate) fn connector(d: &ConnectorDescription, width: usize) -> String {
    let mut out = String::new();
    let status = &d.status;
    label(&mut out, "Name", &status.name);
    label(&mut out, "Class", &d.connector_class);
    label(&mut out, "Type", &status.kind.to_string());
    label(&mut out, "State", &status.connector.state.to_string());
    label(&mut out, "WorkerId", &status.connector.worker_id);
    if let Some(trace) = status.connector.trace.as_deref().filter(|t| !t.is_empty()) {
        label(&mut out, "Trace", trace);
    }
    if !status.tasks.is_empty() {
        out.push('\n');
        let tasks = status.tasks.iter().fold(Table::new(&["Task ID", "State", "Error Trace"]), |t, task| {
            t.row([task.id.to_string(), task.state.to_string(), task.trace.clone().unwrap_or_default()])
        });
        out.push_str(&tasks.render(width));
    }
    if !d.sources.is_empty() {
        out.push('\n');
        let sources = d.sources.iter().fold(Table::new(&["KSQL Source Name", "Kafka Topic", "Type"]), |t, s| t.row([s.name.clone(), s.topic.clone(), s.kind.clone()]));
        out.push_str(&sources.render(width));
    }
    if !d.topics.is_empty() {
        out.push('\n');
        out.push_str(&d.topics.iter().fold(Table::new(&["Related Topics"]), |t, topic| t.row([topic.clone()])).render(width));
    }
    out
}

pub(crate) fn query(q: &QueryDescription, width: usize) -> String {
    let mut out = String::new();
    label(&mut out, "ID", &q.id);
    label(&mut out, "Query Type", &q.query_type);
    if !q.statement_text.is_empty() {
        label(&mut out, "SQL", &q.statement_text);
    }
    out.push('\n');
    out.push_str(&schema(&q.fields, q.window_type.as_deref(), false, width));
    listing(&mut out, "Sources that this query reads from: ", &q.sources, "For source description please run: DESCRIBE [EXTENDED] <SourceId>");
    listing(&mut out, "Sinks that this query writes to: ", &q.sinks, "For sink description please run: DESCRIBE [EXTENDED] <SinkId>");
    if !q.execution_plan.is_empty() {
        let _ = write!(out, "\n{:<20}\n{:<20}\n{}\n", "Execution plan", "--------------", q.execution_plan);
    }
    if !q.topology.is_empty() {
        let _ = write!(out, "\n{:<20}\n{:<20}\n{}\n", "Processing topology", "-------------------", q.topology);
    }
    out.push('\n');
    out
}

/// `DESCRIBE FUNCTION name`.
pub(crate) fn function(f: &FunctionDescription, width: usize) -> String {
    let mut out = String::new();
    let name = f.name.to_uppercase();
    let _ = writeln!(out, "{:<12}: {name}", "Name");
    description(&mut out, "", "Overview", &f.description, width);
    let kind = serde_json::to_value(f.kind).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default();
    let _ = writeln!(out, "{:<12}: {kind}", "Type");
    let _ = writeln!(out, "{:<12}: internal", "Jar");
    let _ = writeln!(out, "{:<12}: ", "Variations");
    for v in &f.variants {
        let args = v.arguments.trim_start_matches('(').trim_end_matches(')');
        let _ = write!(out, "\n\t{:<12}: {name}({args})\n", "Variation");
        let _ = writeln!(out, "\t{:<12}: {}", "Returns", v.return_type);
    }
    out
}

/// `label: text`, the text wrapped at the terminal width and indented under itself.
fn description(out: &mut String, indent: &str, name: &str, text: &str, width: usize) {
    let text = text.trim();
    if text.is_empty() {
        return;
    }
    let label_len = indent.len() * 2 + 14;
    let max = width.max(80).saturating_sub(label_len).max(1);
    let mut lines: Vec<String> = vec![String::new()];
    for word in text.split(' ') {
        let cur = lines.last_mut().map_or(0, |l| l.chars().count());
        if cur > 0 && cur + 1 + word.chars().count() > max {
            lines.push(String::new());
        }
        if let Some(l) = lines.last_mut() {
            if !l.is_empty() {
                l.push(' ');
            }
            l.push_str(word);
        }
    }
    let _ = writeln!(out, "{indent}{name:<12}: {}", lines.join(&format!("\n{}", " ".repeat(label_len))));
}
