//! What `brook sql` prints, as pure functions of the engine's results, so every shape is
//! snapshot-tested: the ksql CLI's `Table` (` A | B ` rows between dashed lines) for entities,
//! its `TabularRow` (`+----+` boxes, fixed-width cells wrapped to the terminal width) for query
//! rows, and `OUTPUT JSON`.
//!
//! Where Brook differs from the ksql CLI: JSON is printed by serde_json's pretty printer
//! (`"a": 1`, where Jackson writes `"a" : 1`); `SHOW PROPERTIES` reports the scope of a property
//! from its name (`ksql.*` is `KSQL`, anything else `STREAMS`).

use brook_sql_engine::engine::entities::FieldInfo;
use brook_sql_engine::{StatementResult, Value};
use serde_json::{json, Value as Json};

use super::describe;
use super::table::{pad, single_line, Table};

/// `TABULAR` (the default) or `JSON`, as `OUTPUT` and `--output` set it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputFormat {
    Tabular,
    Json,
}

impl OutputFormat {
    /// `TABULAR` / `JSON`, case-insensitively.
    pub fn parse(s: &str) -> Option<Self> {
        match s.to_ascii_uppercase().as_str() {
            "TABULAR" => Some(OutputFormat::Tabular),
            "JSON" => Some(OutputFormat::Json),
            _ => None,
        }
    }

    /// The name as the CLI prints it.
    pub fn name(self) -> &'static str {
        match self {
            OutputFormat::Tabular => "TABULAR",
            OutputFormat::Json => "JSON",
        }
    }
}

/// One result of a statement that is not a push query, as the ksql CLI prints it: a blank line,
/// then the entity (tabular), or the entity as ksqlDB's REST API returns it (JSON).
pub fn entity(result: &StatementResult, statement: &str, format: OutputFormat, width: usize) -> String {
    match format {
        OutputFormat::Tabular => format!("\n{}", tabular(result, width)),
        OutputFormat::Json => json_text(&entity_json(result, statement)),
    }
}

fn json_text(v: &Json) -> String {
    format!("{}\n", serde_json::to_string_pretty(v).unwrap_or_default())
}

fn tabular(result: &StatementResult, width: usize) -> String {
    let table = match result {
        StatementResult::Status(s) => Table::new(&["Message"]).row([s.message.split('\n').next().unwrap_or_default()]),
        StatementResult::Streams(list) | StatementResult::Tables(list) => {
            let name = if matches!(result, StatementResult::Streams(_)) { "Stream Name" } else { "Table Name" };
            let mut sorted: Vec<_> = list.iter().collect();
            sorted.sort_by(|a, b| a.name.cmp(&b.name));
            sorted.into_iter().fold(Table::new(&[name, "Kafka Topic", "Key Format", "Value Format", "Windowed"]), |t, s| {
                t.row([s.name.clone(), s.topic.clone(), s.key_format.clone(), s.value_format.clone(), s.is_windowed.to_string()])
            })
        }
        StatementResult::Queries(list) => list
            .iter()
            .fold(Table::new(&["Query ID", "Query Type", "Status", "Sink Name", "Sink Kafka Topic", "Query String"]), |t, q| {
                t.row([
                    q.id.clone(),
                    q.query_type.clone(),
                    format!("{}:1", q.state),
                    q.sinks.join(","),
                    q.sink_kafka_topics.join(","),
                    single_line(&q.query_string),
                ])
            })
            .footer("For detailed information on a Query run: EXPLAIN <Query ID>;"),
        StatementResult::Topics(list) => list.iter().fold(Table::new(&["Kafka Topic", "Partitions", "Partition Replicas"]), |t, topic| {
            let replicas = match topic.replica_info.first() {
                None => "0".to_owned(),
                Some(first) if topic.replica_info.iter().all(|r| r == first) => first.to_string(),
                Some(_) => topic.replica_info.iter().map(i32::to_string).collect::<Vec<_>>().join(", "),
            };
            t.row([topic.name.clone(), topic.replica_info.len().to_string(), replicas])
        }),
        StatementResult::Properties(list) => {
            let mut sorted: Vec<_> = list.iter().collect();
            sorted.sort_by(|a, b| a.name.cmp(&b.name));
            sorted.into_iter().fold(Table::new(&["Property", "Scope", "Default override", "Effective Value"]), |t, p| {
                let scope = if p.name.starts_with("ksql.") && !p.name.starts_with("ksql.streams.") { "KSQL" } else { "STREAMS" };
                let over = if p.scope == "SESSION" { "SESSION" } else { "SERVER" };
                t.row([p.name.clone(), scope.to_owned(), over.to_owned(), p.value.clone()])
            })
        }
        StatementResult::Variables(vars) => pairs(&["Variable Name", "Value"], vars),
        StatementResult::Types(types) => pairs(&["Type Name", "Schema"], types),
        StatementResult::Functions(list) => {
            let mut sorted: Vec<_> = list.iter().collect();
            sorted.sort_by(|a, b| (&a.category, &a.name).cmp(&(&b.category, &b.name)));
            let mut t = Table::new(&["Function Name", "Category"]);
            for (i, f) in sorted.iter().enumerate() {
                if i > 0 && sorted[i - 1].category != f.category {
                    t = t.row([" ", " "]);
                }
                t = t.row([f.name.clone(), f.category.clone()]);
            }
            t.footer("For detailed information about a function, run: DESCRIBE FUNCTION <Function Name>;")
        }
        StatementResult::SourceDescription(d) => return describe::source(d, width),
        StatementResult::SourceDescriptions(list) => return list.iter().map(|d| format!("{}\n", describe::source(d, width))).collect(),
        StatementResult::QueryDescription(q) => return describe::query(q, width),
        StatementResult::FunctionDescription(f) => return describe::function(f, width),
        StatementResult::Rows { schema, rows } => return query_rows(schema, rows, width),
        StatementResult::Printed(lines) => return lines.iter().map(|l| format!("{l}\n")).collect(),
        StatementResult::PushQuery(_) => return String::new(),
        StatementResult::ConnectorInfo(info) => Table::new(&["Message"]).row([format!("Created connector {}", info.name)]),
        StatementResult::DropConnector(name) => Table::new(&["Message"]).row([format!("Dropped connector \"{name}\"")]),
        StatementResult::Warning(message) => Table::new(&["Message"]).row([message.clone()]),
        StatementResult::Connectors(list) => list.iter().fold(Table::new(&["Connector Name", "Type", "Class", "Status"]), |t, c| {
            t.row([c.name.clone(), c.kind.clone(), c.class_name.clone(), c.state.clone()])
        }),
        StatementResult::ConnectorDescription(d) => return describe::connector(d, width),
        _ => return String::new(),
    };
    table.render(width)
}

fn pairs(headers: &[&str], items: &[(String, String)]) -> Table {
    let mut sorted: Vec<_> = items.iter().collect();
    sorted.sort();
    sorted.into_iter().fold(Table::new(headers), |t, (a, b)| t.row([a.clone(), b.clone()]))
}

/// A pull query's rows: the header box, the rows, `Query terminated`.
fn query_rows(schema: &[FieldInfo], rows: &[Vec<Value>], width: usize) -> String {
    let mut out = row_header(schema, width);
    for r in rows {
        out.push_str(&row(r, width));
    }
    out.push_str("Query terminated\n");
    out
}

/// The width of one cell of a query row: the terminal width shared by the columns (at least 5).
fn cell_width(width: usize, columns: usize) -> usize {
    if columns == 0 {
        return 5;
    }
    (width / columns).saturating_sub(2).max(5)
}

/// The header of a query's rows: `+-----+` / `|NAME |` / `+-----+`.
pub fn row_header(schema: &[FieldInfo], width: usize) -> String {
    let names: Vec<String> = schema.iter().map(|f| f.name.clone()).collect();
    let cell = cell_width(width, names.len());
    let line = format!("+{}\n", format!("{}+", "-".repeat(cell)).repeat(names.len()));
    format!("{line}{}{line}", boxed(&names, cell))
}

/// One query row, its cells wrapped to `cell` characters.
pub fn row(values: &[Value], width: usize) -> String {
    let cells: Vec<String> = values.iter().map(value_text).collect();
    boxed(&cells, cell_width(width, cells.len()))
}

fn boxed(cells: &[String], cell: usize) -> String {
    let split: Vec<Vec<String>> = cells
        .iter()
        .map(|c| {
            let chars: Vec<char> = c.chars().collect();
            if chars.is_empty() {
                vec![String::new()]
            } else {
                chars.chunks(cell).map(|ch| ch.iter().collect()).collect()
            }
        })
        .collect();
    let lines = split.iter().map(Vec::len).max().unwrap_or(1);
    let mut out = String::new();
    for i in 0..lines {
        out.push('|');
        for parts in &split {
            out.push_str(&pad(parts.get(i).map_or("", String::as_str), cell));
            out.push('|');
        }
        out.push('\n');
    }
    out
}

/// A value as the ksql CLI shows it in a row (Java's `toString` of the REST API's JSON):
/// `null`, `1.0`, `[1, 2]`, `{A=1, B=x}`.
pub fn value_text(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Double(d) => java_double(*d),
        Value::Array(items) => format!("[{}]", items.iter().map(value_text).collect::<Vec<_>>().join(", ")),
        Value::Map(entries) => format!("{{{}}}", entries.iter().map(|(k, v)| format!("{}={}", value_text(k), value_text(v))).collect::<Vec<_>>().join(", ")),
        Value::Struct(fields) => format!("{{{}}}", fields.iter().map(|(k, v)| format!("{k}={}", value_text(v))).collect::<Vec<_>>().join(", ")),
        other => match value_json(other) {
            Json::String(s) => s,
            j => j.to_string(),
        },
    }
}

/// Java's `Double.toString`: `1.0`, `0.5`, `1.0E7`.
fn java_double(d: f64) -> String {
    if !d.is_finite() {
        return if d.is_nan() { "NaN".into() } else if d > 0.0 { "Infinity".into() } else { "-Infinity".into() };
    }
    let a = d.abs();
    if a != 0.0 && !(1e-3..1e7).contains(&a) {
        let s = format!("{d:E}");
        return match s.split_once('E') {
            Some((m, e)) if !m.contains('.') => format!("{m}.0E{e}"),
            _ => s,
        };
    }
    if d.fract() == 0.0 {
        format!("{d:.1}")
    } else {
        d.to_string()
    }
}

/// A value as ksqlDB's REST API writes it: decimals as numbers, `BYTES` in base64, timestamps as `2021-01-01T00:00:00.000`, dates as `2021-01-01`,
/// times as `00:00:01`.
pub fn value_json(v: &Value) -> Json {
    match v {
        Value::Null => Json::Null,
        Value::Boolean(b) => json!(b),
        Value::Int(i) => json!(i),
        Value::BigInt(i) => json!(i),
        Value::Double(d) => json!(d),
        Value::Decimal(d) => d.to_string().parse::<f64>().map_or_else(|_| json!(d.to_string()), |f| json!(f)),
        Value::String(s) => json!(s),
        Value::Bytes(b) => json!(base64::Engine::encode(&base64::engine::general_purpose::STANDARD, b)),
        Value::Date(days) => json!(chrono::DateTime::from_timestamp(i64::from(*days) * 86_400, 0).map_or(days.to_string(), |t| t.format("%Y-%m-%d").to_string())),
        Value::Time(ms) => json!(chrono::DateTime::from_timestamp_millis(i64::from(*ms)).map_or(ms.to_string(), |t| t.format("%H:%M:%S").to_string())),
        Value::Timestamp(ms) => json!(chrono::DateTime::from_timestamp_millis(*ms).map_or(ms.to_string(), |t| t.format("%Y-%m-%dT%H:%M:%S%.3f").to_string())),
        Value::Array(items) => Json::Array(items.iter().map(value_json).collect()),
        Value::Map(entries) => Json::Object(entries.iter().map(|(k, v)| (value_text(k), value_json(v))).collect()),
        Value::Struct(fields) => Json::Object(fields.iter().map(|(k, v)| (k.clone(), value_json(v))).collect()),
    }
}

/// A query's header in JSON mode: `{"header": {"queryId": .., "schema": "`A` INTEGER, .."}}`.
pub fn json_header(query_id: &str, schema: &[FieldInfo]) -> String {
    let cols: Vec<String> = schema.iter().map(|f| format!("`{}` {}", f.name, describe::type_string(&f.schema))).collect();
    json_text(&json!({ "header": { "queryId": query_id, "schema": cols.join(", ") } }))
}

/// A query row in JSON mode: `{"columns": [..]}`.
pub fn json_row(values: &[Value]) -> String {
    json_text(&json!({ "columns": values.iter().map(value_json).collect::<Vec<_>>() }))
}

/// The entity as ksqlDB's `/ksql` endpoint returns it (`@type`, `statementText`, ...).
fn entity_json(result: &StatementResult, statement: &str) -> Json {
    let with = |ty: &str, field: &str, v: Json| json!({ "@type": ty, "statementText": statement, field: v, "warnings": [] });
    match result {
        StatementResult::Status(s) => json!({
            "@type": "currentStatus", "statementText": statement, "commandId": null,
            "commandStatus": { "status": s.status, "message": s.message, "queryId": s.query_id }, "warnings": [],
        }),
        StatementResult::Streams(l) => with("streams", "streams", ser(l)),
        StatementResult::Tables(l) => with("tables", "tables", ser(l)),
        StatementResult::Queries(l) => with("queries", "queries", ser(l)),
        StatementResult::Topics(l) => with("kafka_topics", "topics", ser(l)),
        StatementResult::Properties(l) => with("properties", "properties", ser(l)),
        StatementResult::Variables(v) => {
            with("variables", "variables", Json::Array(v.iter().map(|(n, v)| json!({ "name": n, "value": v })).collect()))
        }
        StatementResult::Types(t) => with("type_list", "types", Json::Object(t.iter().map(|(n, s)| (n.clone(), json!({ "type": s }))).collect())),
        StatementResult::Functions(l) => with("function_names", "functions", ser(l)),
        StatementResult::SourceDescription(d) => with("sourceDescription", "sourceDescription", ser(&**d)),
        StatementResult::SourceDescriptions(l) => with("source_descriptions", "sourceDescriptions", ser(l)),
        StatementResult::QueryDescription(q) => with("queryDescription", "queryDescription", ser(&**q)),
        StatementResult::FunctionDescription(f) => with("describe_function", "function", ser(f)),
        StatementResult::Rows { schema, rows } => Json::Array(
            [json!({ "header": { "schema": schema.iter().map(|f| format!("`{}` {}", f.name, describe::type_string(&f.schema))).collect::<Vec<_>>().join(", ") } })]
                .into_iter()
                .chain(rows.iter().map(|r| json!({ "row": { "columns": r.iter().map(value_json).collect::<Vec<_>>() } })))
                .collect(),
        ),
        StatementResult::Printed(lines) => Json::Array(lines.iter().map(|l| json!(l)).collect()),
        StatementResult::ConnectorInfo(info) => with("connector_info", "info", ser(info)),
        StatementResult::DropConnector(name) => with("drop_connector", "connectorName", json!(name)),
        StatementResult::Connectors(l) => with("connector_list", "connectors", ser(l)),
        StatementResult::ConnectorDescription(d) => {
            let mut v = ser(&**d);
            if let Json::Object(m) = &mut v {
                m.insert("@type".into(), json!("connector_description"));
                m.insert("statementText".into(), json!(statement));
                m.insert("warnings".into(), json!([]));
            }
            v
        }
        StatementResult::Warning(message) => with("warning_entity", "message", json!(message)),
        _ => Json::Null,
    }
}

fn ser<T: serde::Serialize + ?Sized>(v: &T) -> Json {
    serde_json::to_value(v).unwrap_or(Json::Null)
}
