//! SQL values and engine results as ksqlDB's REST API writes them: rows as JSON arrays (`DATE`
//! `"2021-03-01"`, `TIME` `"12:30:00"`, `TIMESTAMP` `"2021-03-01T12:30:00.000"`, `BYTES`
//! base64, maps and structs as objects) and statement results as `KsqlEntity` objects.
//!
//! Where Brook differs from ksqlDB: `DECIMAL` values pass through `f64` (digits beyond 17 are
//! lost); `DESCRIBE FUNCTION` lists each variant's arguments as one string; `SHOW TYPES` gives
//! each type's SQL text in `schema.type`.

use base64::Engine as _;
use brook_sql_engine::engine::entities::{FieldInfo, FieldSchema};
use brook_sql_engine::{StatementResult, Value};
use serde::Serialize;
use serde_json::{json, Map, Value as Json};

/// One SQL value as JSON.
pub(crate) fn value(v: &Value) -> Json {
    match v {
        Value::Null => Json::Null,
        Value::Boolean(b) => Json::Bool(*b),
        Value::Int(i) => json!(i),
        Value::BigInt(i) => json!(i),
        Value::Double(d) => serde_json::Number::from_f64(*d).map_or(Json::Null, Json::Number),
        Value::Decimal(d) => d.to_string().parse::<serde_json::Number>().map_or_else(|_| Json::String(d.to_string()), Json::Number),
        Value::String(s) => Json::String(s.clone()),
        Value::Bytes(b) => Json::String(base64::engine::general_purpose::STANDARD.encode(b)),
        Value::Date(days) => Json::String(
            chrono::DateTime::from_timestamp(i64::from(*days) * 86_400, 0).map_or_else(|| days.to_string(), |t| t.format("%Y-%m-%d").to_string()),
        ),
        Value::Time(ms) => Json::String(
            chrono::DateTime::from_timestamp_millis(i64::from(*ms)).map_or_else(|| ms.to_string(), |t| t.format("%H:%M:%S").to_string()),
        ),
        Value::Timestamp(ms) => Json::String(
            chrono::DateTime::from_timestamp_millis(*ms).map_or_else(|| ms.to_string(), |t| t.format("%Y-%m-%dT%H:%M:%S%.3f").to_string()),
        ),
        Value::Array(items) => Json::Array(items.iter().map(value).collect()),
        Value::Map(entries) => Json::Object(entries.iter().map(|(k, v)| (map_key(k), value(v))).collect()),
        Value::Struct(fields) => Json::Object(fields.iter().map(|(k, v)| (k.clone(), value(v))).collect()),
    }
}

fn map_key(k: &Value) -> String {
    match value(k) {
        Json::String(s) => s,
        other => other.to_string(),
    }
}

/// A row as a JSON array.
pub(crate) fn row(r: &[Value]) -> Json {
    Json::Array(r.iter().map(value).collect())
}

/// A column's type as ksqlDB's `columnTypes` spell it (`INTEGER`, `ARRAY<STRING>`,
/// ``STRUCT<`A` INTEGER>``).
pub(crate) fn type_name(s: &FieldSchema) -> String {
    match (s.type_name.as_str(), &s.member_schema, &s.fields) {
        ("ARRAY", Some(m), _) => format!("ARRAY<{}>", type_name(m)),
        ("MAP", Some(m), _) => format!("MAP<STRING, {}>", type_name(m)),
        ("STRUCT", _, Some(fs)) => {
            let inner: Vec<String> = fs.iter().map(|f| format!("`{}` {}", f.name, type_name(&f.schema))).collect();
            format!("STRUCT<{}>", inner.join(", "))
        }
        (t, _, _) => t.to_owned(),
    }
}

/// The `/query-stream` header: `{"queryId","columnNames","columnTypes"}`.
pub(crate) fn header(query_id: &str, schema: &[FieldInfo]) -> Json {
    json!({
        "queryId": query_id,
        "columnNames": schema.iter().map(|f| f.name.clone()).collect::<Vec<_>>(),
        "columnTypes": schema.iter().map(|f| type_name(&f.schema)).collect::<Vec<_>>(),
    })
}

fn to_json<T: Serialize>(t: &T) -> Json {
    serde_json::to_value(t).unwrap_or(Json::Null)
}

/// An entity: `@type`, `statementText`, the entity's own fields, `warnings`.
fn entity(kind: &str, text: &str, fields: Json) -> Json {
    let mut m = Map::new();
    m.insert("@type".into(), Json::String(kind.into()));
    m.insert("statementText".into(), Json::String(text.into()));
    if let Json::Object(f) = fields {
        m.extend(f);
    }
    m.insert("warnings".into(), json!([]));
    Json::Object(m)
}

/// The `commandId` of a statement: `stream/`S`/create`, ... (ksqlDB's `CommandId`).
pub(crate) fn command_id(text: &str) -> String {
    let words: Vec<String> = text.split_whitespace().take(4).map(|w| w.trim_end_matches(';').to_uppercase()).collect();
    let w = |i: usize| words.get(i).map(String::as_str).unwrap_or("");
    let name = |i: usize| w(i).split('(').next().unwrap_or("").trim_matches('`').to_owned();
    match (w(0), w(1)) {
        ("CREATE", "STREAM" | "TABLE" | "TYPE") => format!("{}/`{}`/create", w(1).to_lowercase(), name(2)),
        ("CREATE", "OR") => format!("{}/`{}`/create", w(3).to_lowercase(), words.get(4).map_or(String::new(), |_| name(4))),
        ("DROP", "STREAM" | "TABLE" | "TYPE") => {
            let n = if w(2) == "IF" { name(4) } else { name(2) };
            format!("{}/`{}`/drop", w(1).to_lowercase(), n)
        }
        ("TERMINATE", _) => format!("terminate/`{}`/execute", name(1)),
        ("INSERT", _) => format!("stream/`{}`/insert", name(2)),
        _ => "cluster/`CLUSTER`/execute".into(),
    }
}

/// A statement's result as a `KsqlEntity`; `None` for query results (`SELECT`, `PRINT`),
/// which belong to `/query` and `/query-stream`.
pub(crate) fn statement_entity(text: &str, r: &StatementResult, seq: u64) -> Option<Json> {
    Some(match r {
        StatementResult::Status(s) => entity(
            "currentStatus",
            text,
            json!({
                "commandId": command_id(text),
                "commandStatus": { "status": s.status, "message": s.message, "queryId": s.query_id },
                "commandSequenceNumber": seq,
            }),
        ),
        StatementResult::Streams(s) => entity("streams", text, json!({ "streams": to_json(s) })),
        StatementResult::Tables(t) => entity("tables", text, json!({ "tables": to_json(t) })),
        StatementResult::Queries(q) => {
            let queries: Vec<Json> = q
                .iter()
                .map(|q| {
                    let mut v = to_json(q);
                    if let Json::Object(m) = &mut v {
                        m.insert("statusCount".into(), json!({ q.state.clone(): 1 }));
                    }
                    v
                })
                .collect();
            entity("queries", text, json!({ "queries": queries }))
        }
        StatementResult::Topics(t) => entity("kafka_topics", text, json!({ "topics": to_json(t) })),
        StatementResult::Properties(p) => entity(
            "properties",
            text,
            json!({ "properties": to_json(p), "overwrittenProperties": [], "defaultProperties": [] }),
        ),
        StatementResult::Variables(v) => {
            let vars: Vec<Json> = v.iter().map(|(name, value)| json!({ "name": name, "value": value })).collect();
            entity("variables", text, json!({ "variables": vars }))
        }
        StatementResult::Types(t) => {
            let types: Map<String, Json> = t.iter().map(|(n, ty)| (n.clone(), json!({ "type": ty, "fields": null, "memberSchema": null }))).collect();
            entity("type_list", text, json!({ "types": types }))
        }
        StatementResult::Functions(f) => entity("function_names", text, json!({ "functions": to_json(f) })),
        StatementResult::FunctionDescription(f) => {
            let variants: Vec<Json> = f
                .variants
                .iter()
                .map(|v| json!({ "arguments": v.arguments, "returnType": v.return_type, "description": f.description, "argumentTypes": [] }))
                .collect();
            entity(
                "describe_function",
                text,
                json!({
                    "name": f.name, "description": f.description, "author": "confluent", "version": "", "path": "internal",
                    "functions": variants, "type": f.kind,
                }),
            )
        }
        StatementResult::SourceDescription(d) => entity("sourceDescription", text, json!({ "sourceDescription": to_json(d) })),
        StatementResult::SourceDescriptions(d) => entity("source_descriptions", text, json!({ "sourceDescriptions": to_json(d) })),
        StatementResult::QueryDescription(d) => entity("queryDescription", text, json!({ "queryDescription": to_json(d) })),
        StatementResult::ConnectorInfo(info) => entity("connector_info", text, json!({ "info": to_json(info) })),
        StatementResult::DropConnector(name) => entity("drop_connector", text, json!({ "connectorName": name })),
        StatementResult::Connectors(list) => entity("connector_list", text, json!({ "connectors": to_json(list) })),
        StatementResult::ConnectorDescription(d) => entity("connector_description", text, to_json(&**d)),
        StatementResult::Warning(message) => entity("warning_entity", text, json!({ "message": message })),
        _ => return None,
    })
}
