//! `JSON_SR`: rows as Confluent-framed JSON (magic byte, schema id, JSON text) through Schema
//! Registry, with ksqlDB's schemas (Connect's `JsonSchemaData` of ksqlDB's Connect schema:
//! every field a `oneOf` with null and a `connect.index`, Connect's `connect.type` and logical
//! type titles) and ksqlDB's type mapping both ways.
//!
//! Writing registers the schema generated from the columns under `<topic>-key` /
//! `<topic>-value` (or uses `KEY_SCHEMA_ID` / `VALUE_SCHEMA_ID`) and writes the JSON as
//! Connect's converter does: `DECIMAL` a number, `BYTES` base64, `DATE` / `TIME` /
//! `TIMESTAMP` integers, and maps as arrays of `{"key": .., "value": ..}` objects (ksqlDB's
//! map keys are optional, which Connect's JSON Schema converter writes as entry arrays).
//!
//! Reading checks the framing and that the schema id exists, then reads the JSON as the
//! `JSON` format does (ksqlDB reads `JSON_SR` payloads with its JSON deserializer, not
//! against the writer's schema), taking maps as objects or as entry arrays.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use brook_schema::{wire, Schema, SchemaRegistryClient, SchemaType};
use serde_json::{json, Map, Value as JsonValue};

use super::api::{check_count, deserialize_error, Format, FormatInfo, RowSerde, SerdeContext, FULL_SCHEMA_NAME};
use super::json::{coerce, write_value};
use super::json_tree::{self, Json};
use super::sr::{check_type, lock, registered, registry_error, schema_id, SrFormatConfig, SubjectIds};
use crate::error::{Error, Result};
use crate::value::{Column, Row, SqlType, Value};

/// Connect's struct name for a JSON Schema `oneOf` of several types; its fields are named
/// `<this>.field.<n>`.
pub(crate) const ONE_OF: &str = "io.confluent.connect.json.OneOf";

/// The `JSON_SR` format.
#[derive(Debug)]
pub(crate) struct JsonSrFormat(SrFormatConfig);

impl JsonSrFormat {
    pub(crate) fn new(info: &FormatInfo, registry: Option<Arc<dyn SchemaRegistryClient>>) -> Self {
        JsonSrFormat(SrFormatConfig::new(info, registry))
    }
}

impl Format for JsonSrFormat {
    fn name(&self) -> &'static str {
        "JSON_SR"
    }

    fn row_serde(&self, columns: &[Column], is_key: bool) -> Result<Arc<dyn RowSerde>> {
        let registry = self.0.registry()?;
        let info = &self.0.info;
        let unwrapped = super::api::unwrapped(columns, is_key, info.wrap_single_value);
        // With a registered schema, top-level fields are written under the schema's property
        // names (matched to columns exactly, then case-insensitively).
        let mut names: Vec<String> = columns.iter().map(|c| c.name.clone()).collect();
        let own = match schema_id(info)? {
            Some(id) => {
                let resolved = registered(registry.as_ref(), id, SchemaType::Json)?;
                let properties = property_names(&resolved.schema.schema);
                for name in &mut names {
                    let found = properties.iter().find(|p| p.as_str() == name.as_str()).or_else(|| properties.iter().find(|p| p.eq_ignore_ascii_case(name)));
                    if let Some(p) = found {
                        name.clone_from(p);
                    }
                }
                Some(id)
            }
            None => None,
        };
        let generated = json_schema(columns, unwrapped, info.properties.get(FULL_SCHEMA_NAME).map(String::as_str));
        Ok(Arc::new(JsonSrRowSerde {
            registry: registry.clone(),
            columns: columns.iter().map(|c| (c.name.clone(), c.ty.clone())).collect(),
            names,
            unwrapped,
            own,
            writers: SubjectIds::new(registry.clone(), Schema::json(generated.to_string())),
            known: Mutex::default(),
        }))
    }
}

#[derive(Debug)]
struct JsonSrRowSerde {
    registry: Arc<dyn SchemaRegistryClient>,
    columns: Vec<(String, SqlType)>,
    /// The field name each column is written under.
    names: Vec<String>,
    unwrapped: bool,
    /// `KEY_SCHEMA_ID` / `VALUE_SCHEMA_ID`.
    own: Option<i32>,
    writers: SubjectIds,
    /// The types of the schema ids seen on records.
    known: Mutex<HashMap<i32, SchemaType>>,
}

impl JsonSrRowSerde {
    /// Fails unless `id` is a JSON schema (each id asks the registry once).
    fn check_id(&self, id: i32) -> Result<()> {
        let known = lock(&self.known).get(&id).copied();
        let actual = match known {
            Some(t) => t,
            None => {
                let t = self.registry.schema_by_id(id).map_err(registry_error)?.schema_type;
                lock(&self.known).insert(id, t);
                t
            }
        };
        check_type(id, actual, SchemaType::Json)
    }
}

impl RowSerde for JsonSrRowSerde {
    fn serialize(&self, row: &[Value], ctx: &SerdeContext<'_>) -> Result<Option<Vec<u8>>> {
        check_count(self.columns.len(), row.len(), true, ctx.topic)?;
        if self.unwrapped && row[0].is_null() {
            return Ok(None);
        }
        let id = match self.own {
            Some(id) => id,
            None => self.writers.id(ctx)?,
        };
        let mut text = String::with_capacity(64);
        if self.unwrapped {
            write_sr_value(&mut text, &row[0], &self.columns[0].1);
        } else {
            write_struct(&mut text, self.names.iter().zip(&self.columns).zip(row).map(|((n, (_, t)), v)| (n.as_str(), t, v)));
        }
        let mut out = wire::header(id, text.len());
        out.extend_from_slice(text.as_bytes());
        Ok(Some(out))
    }

    fn deserialize(&self, bytes: Option<&[u8]>, ctx: &SerdeContext<'_>) -> Result<Option<Row>> {
        let Some(bytes) = bytes else { return Ok(None) };
        let fail = |reason: String| deserialize_error(ctx, reason);
        let (id, payload) = wire::split(bytes).map_err(|e| fail(e.to_string()))?;
        self.check_id(id).map_err(|e| fail(e.to_string()))?;
        let doc = json_tree::parse(payload).map_err(fail)?;
        let mut path = String::from("$");
        if self.unwrapped {
            let v = match &doc {
                None => Value::Null,
                Some(j) => read_sr(j, &self.columns[0].1, &mut path).map_err(fail)?,
            };
            return Ok(Some(vec![v]));
        }
        match doc {
            None | Some(Json::Null) => Ok(None),
            Some(j) => match read_sr(&j, &SqlType::Struct(self.columns.clone()), &mut path).map_err(fail)? {
                Value::Struct(fields) => Ok(Some(fields.into_iter().map(|(_, v)| v).collect())),
                _ => Ok(None),
            },
        }
    }
}

fn write_struct<'a>(out: &mut String, fields: impl IntoIterator<Item = (&'a str, &'a SqlType, &'a Value)>) {
    json_tree::write_joined(out, '{', '}', fields, |out, (name, ty, v)| {
        json_tree::write_str(out, name);
        out.push(':');
        write_sr_value(out, v, ty);
    });
}

/// Writes `v` as Connect's JSON Schema converter does for ksqlDB's Connect schema of `ty`.
fn write_sr_value(out: &mut String, v: &Value, ty: &SqlType) {
    match (v, ty) {
        (Value::Array(items), SqlType::Array(item)) => json_tree::write_joined(out, '[', ']', items, |out, v| write_sr_value(out, v, item)),
        (Value::Map(entries), SqlType::Map(k, t)) => json_tree::write_joined(out, '[', ']', entries, |out, (key, value)| {
            out.push_str("{\"key\":");
            write_sr_value(out, key, k);
            out.push_str(",\"value\":");
            write_sr_value(out, value, t);
            out.push('}');
        }),
        (Value::Struct(values), SqlType::Struct(types)) => {
            write_struct(out, values.iter().zip(types).map(|((n, v), (_, t))| (n.as_str(), t, v)));
        }
        _ => write_value(out, v),
    }
}

fn is_one_of(fields: &[(String, SqlType)]) -> bool {
    !fields.is_empty() && fields.iter().all(|(n, _)| n.len() > ONE_OF.len() && n[..ONE_OF.len()].eq_ignore_ascii_case(ONE_OF))
}

/// Reads `j` as `ty`: maps from objects or entry arrays, unions into their branch, the rest as
/// the `JSON` format reads it.
fn read_sr(j: &Json<'_>, ty: &SqlType, path: &mut String) -> Result<Value, String> {
    match (j, ty) {
        (Json::Null, _) => Ok(Value::Null),
        (Json::Array(items), SqlType::Array(item)) => {
            let mut out = Vec::with_capacity(items.len());
            for (i, v) in items.iter().enumerate() {
                let len = path.len();
                path.push_str(&format!("[{i}]"));
                out.push(read_sr(v, item, path)?);
                path.truncate(len);
            }
            Ok(Value::Array(out))
        }
        (Json::Array(entries), SqlType::Map(k, v)) => {
            let mut out = Vec::with_capacity(entries.len());
            for entry in entries {
                let Json::Object(fields) = entry else {
                    return Err(format!("Found invalid map entry instead of object: {}, path: {path}", entry.node_name()));
                };
                let get = |name: &str| fields.iter().find(|(n, _)| n == name).map_or(Json::Null, |(_, v)| v.clone());
                out.push((read_sr(&get("key"), k, path)?, read_sr(&get("value"), v, path)?));
            }
            Ok(Value::Map(out))
        }
        (Json::Object(fields), SqlType::Map(k, v)) => {
            let mut out = Vec::with_capacity(fields.len());
            for (key, value) in fields {
                let len = path.len();
                path.push_str(&format!(".{key}.key"));
                let key = coerce(&Json::String(Cow::Borrowed(key)), k, path)?;
                path.truncate(len);
                out.push((key, read_sr(value, v, path)?));
            }
            Ok(Value::Map(out))
        }
        // A value of a `oneOf` of several types goes into the struct field of the branch it
        // fits (an object with the struct's own field names, as a sink writes it, is a struct).
        (_, SqlType::Struct(types)) if is_one_of(types) && types.iter().any(|(_, t)| fits(j, t)) => {
            let branch = types.iter().position(|(_, t)| fits(j, t)).unwrap_or_default();
            let mut out: Vec<(String, Value)> = types.iter().map(|(n, _)| (n.clone(), Value::Null)).collect();
            out[branch].1 = read_sr(j, &types[branch].1, path)?;
            Ok(Value::Struct(out))
        }
        (Json::Object(fields), SqlType::Struct(types)) => {
            let mut out = Vec::with_capacity(types.len());
            for (name, t) in types {
                let found = fields.iter().find(|(k, _)| k == name).or_else(|| fields.iter().rev().find(|(k, _)| k.to_uppercase() == *name));
                let value = match found {
                    None => Value::Null,
                    Some((_, v)) => {
                        let len = path.len();
                        path.push('.');
                        path.push_str(name);
                        let v = read_sr(v, t, path)?;
                        path.truncate(len);
                        v
                    }
                };
                out.push((name.clone(), value));
            }
            Ok(Value::Struct(out))
        }
        _ => coerce(j, ty, path),
    }
}

/// Whether `j` is of the JSON kind that `ty` takes (Connect's choice of a union branch).
fn fits(j: &Json<'_>, ty: &SqlType) -> bool {
    match (j, ty) {
        (Json::Number(n), SqlType::Int | SqlType::BigInt | SqlType::Date | SqlType::Time | SqlType::Timestamp) => {
            !n.contains(['.', 'e', 'E'])
        }
        (Json::Number(_), SqlType::Double | SqlType::Decimal { .. }) => true,
        (Json::Bool(_), SqlType::Boolean) => true,
        (Json::String(_), SqlType::String | SqlType::Bytes) => true,
        (Json::Array(_), SqlType::Array(_)) => true,
        (Json::Object(_) | Json::Array(_), SqlType::Map(..)) => true,
        (Json::Object(fields), SqlType::Struct(types)) => {
            fields.iter().all(|(k, _)| types.iter().any(|(n, _)| n.eq_ignore_ascii_case(k)))
        }
        _ => false,
    }
}

// ---- schemas from columns -------------------------------------------------------------------

/// ksqlDB's JSON Schema for `columns`: an object with one optional property per column, or
/// the single column's optional type when `unwrapped`; `full_name` is its `title`.
pub(crate) fn json_schema(columns: &[Column], unwrapped: bool, full_name: Option<&str>) -> JsonValue {
    if unwrapped {
        return optional(type_schema(&columns[0].ty), None);
    }
    let mut schema = struct_schema(columns.iter().map(|c| (c.name.as_str(), &c.ty)));
    if let (Some(name), Some(obj)) = (full_name, schema.as_object_mut()) {
        obj.insert("title".into(), json!(name));
    }
    schema
}

fn struct_schema<'a>(fields: impl Iterator<Item = (&'a str, &'a SqlType)>) -> JsonValue {
    let properties: Map<String, JsonValue> =
        fields.enumerate().map(|(i, (name, ty))| (name.to_owned(), optional(type_schema(ty), Some(i)))).collect();
    json!({"type": "object", "properties": properties})
}

/// Connect's optional schema: `oneOf` null and the type, with the field's `connect.index`.
fn optional(schema: JsonValue, index: Option<usize>) -> JsonValue {
    let mut out = json!({"oneOf": [{"type": "null"}, schema]});
    if let (Some(i), Some(obj)) = (index, out.as_object_mut()) {
        obj.insert("connect.index".into(), json!(i));
    }
    out
}

fn logical(json_type: &str, connect_type: &str, name: &str) -> JsonValue {
    json!({"type": json_type, "connect.type": connect_type, "title": format!("org.apache.kafka.connect.data.{name}"), "connect.version": 1})
}

fn type_schema(ty: &SqlType) -> JsonValue {
    match ty {
        SqlType::Boolean => json!({"type": "boolean"}),
        SqlType::Int => json!({"type": "integer", "connect.type": "int32"}),
        SqlType::BigInt => json!({"type": "integer", "connect.type": "int64"}),
        SqlType::Double => json!({"type": "number", "connect.type": "float64"}),
        SqlType::String => json!({"type": "string"}),
        SqlType::Bytes => json!({"type": "string", "connect.type": "bytes"}),
        SqlType::Decimal { precision, scale } => {
            let mut d = logical("number", "bytes", "Decimal");
            d["connect.parameters"] = json!({"scale": scale.to_string(), "connect.decimal.precision": precision.to_string()});
            d
        }
        SqlType::Date => logical("integer", "int32", "Date"),
        SqlType::Time => logical("integer", "int32", "Time"),
        SqlType::Timestamp => logical("integer", "int64", "Timestamp"),
        SqlType::Array(item) => json!({"type": "array", "items": optional(type_schema(item), None)}),
        SqlType::Map(k, v) => json!({"type": "array", "connect.type": "map", "items": {"type": "object", "properties": {
            "key": optional(type_schema(k), Some(0)), "value": optional(type_schema(v), Some(1))}}}),
        SqlType::Struct(fields) => struct_schema(fields.iter().map(|(n, t)| (n.as_str(), t))),
    }
}

// ---- schemas to columns (inference) ---------------------------------------------------------

/// The columns a JSON Schema gives a source: one per property of an object schema (in
/// `connect.index` order, else as written), or `ROWKEY` / `ROWVAL` for any other schema.
pub(crate) fn columns_from_schema(text: &str, is_key: bool) -> Result<Vec<(String, SqlType)>> {
    let bad = |e: String| Error::Analysis(format!("invalid JSON schema: {e}"));
    let root = json_tree::parse(text.as_bytes()).map_err(bad)?.ok_or_else(|| bad("empty schema".into()))?;
    let reader = SchemaReader { root: &root };
    let schema = reader.resolve(&root, 0)?;
    match reader.sql_type(schema, 0)? {
        SqlType::Struct(fields) if !is_map(schema) => Ok(fields),
        other => Ok(vec![((if is_key { "ROWKEY" } else { "ROWVAL" }).to_owned(), other)]),
    }
}

/// The top-level property names of a JSON Schema (empty when it has none).
fn property_names(text: &str) -> Vec<String> {
    match json_tree::parse(text.as_bytes()) {
        Ok(Some(root)) => match field(&root, "properties") {
            Some(Json::Object(props)) => props.iter().map(|(k, _)| k.to_string()).collect(),
            _ => Vec::new(),
        },
        _ => Vec::new(),
    }
}

fn field<'j, 'a>(obj: &'j Json<'a>, name: &str) -> Option<&'j Json<'a>> {
    match obj {
        Json::Object(fields) => fields.iter().find(|(k, _)| k == name).map(|(_, v)| v),
        _ => None,
    }
}

fn text<'j>(obj: &'j Json<'_>, name: &str) -> Option<&'j str> {
    match field(obj, name) {
        Some(Json::String(s)) => Some(s),
        _ => None,
    }
}

fn is_map(schema: &Json<'_>) -> bool {
    text(schema, "connect.type") == Some("map") || (field(schema, "properties").is_none() && field(schema, "additionalProperties").is_some())
}

struct SchemaReader<'r, 'a> {
    root: &'r Json<'a>,
}

impl<'r, 'a> SchemaReader<'r, 'a> {
    /// Follows a local `$ref` (`#/definitions/X`, `#/$defs/X`).
    fn resolve(&self, schema: &'r Json<'a>, depth: usize) -> Result<&'r Json<'a>> {
        let Some(reference) = text(schema, "$ref") else { return Ok(schema) };
        if depth > 32 {
            return Err(Error::Analysis(format!("JSON schema reference {reference} is recursive")));
        }
        let mut node = self.root;
        for part in reference.strip_prefix("#/").unwrap_or_default().split('/').filter(|p| !p.is_empty()) {
            node = field(node, part).ok_or_else(|| Error::Analysis(format!("unresolved JSON schema reference {reference}")))?;
        }
        if reference == "#" || reference.starts_with("#/") {
            self.resolve(node, depth + 1)
        } else {
            Err(Error::Analysis(format!("unsupported JSON schema reference {reference}")))
        }
    }

    /// Connect's type of a JSON Schema (`JsonSchemaData.toConnectSchema`), as ksqlDB's SQL type.
    fn sql_type(&self, schema: &'r Json<'a>, depth: usize) -> Result<SqlType> {
        if depth > 64 {
            return Err(Error::Analysis("JSON schema nests too deeply".into()));
        }
        let schema = self.resolve(schema, 0)?;
        let unsupported = || Error::Analysis(format!("unsupported JSON schema: {}", json_tree::to_serde(schema)));
        for combinator in ["oneOf", "anyOf"] {
            if let Some(Json::Array(branches)) = field(schema, combinator) {
                let non_null: Vec<&Json<'a>> = branches.iter().filter(|b| text(b, "type") != Some("null")).collect();
                if let [one] = non_null.as_slice() {
                    return self.sql_type(one, depth + 1);
                }
                return Ok(SqlType::Struct(
                    non_null
                        .iter()
                        .enumerate()
                        .map(|(i, b)| Ok((format!("{ONE_OF}.field.{i}"), self.sql_type(b, depth + 1)?)))
                        .collect::<Result<_>>()?,
                ));
            }
        }
        if field(schema, "enum").is_some() || field(schema, "const").is_some() {
            return Ok(SqlType::String);
        }
        let json_type = match field(schema, "type") {
            Some(Json::String(t)) => t.as_ref(),
            Some(Json::Array(types)) => {
                let non_null: Vec<&str> =
                    types.iter().filter_map(|t| if let Json::String(s) = t { Some(s.as_ref()) } else { None }).filter(|t| *t != "null").collect();
                match non_null.as_slice() {
                    [one] => *one,
                    _ => return Err(unsupported()),
                }
            }
            _ if field(schema, "properties").is_some() => "object",
            _ => return Err(unsupported()),
        };
        let title = text(schema, "title").unwrap_or_default();
        let connect_type = text(schema, "connect.type").unwrap_or_default();
        Ok(match json_type {
            "boolean" => SqlType::Boolean,
            "integer" => match (title, connect_type) {
                ("org.apache.kafka.connect.data.Timestamp", _) => SqlType::Timestamp,
                ("org.apache.kafka.connect.data.Date", _) => SqlType::Date,
                ("org.apache.kafka.connect.data.Time", _) => SqlType::Time,
                (_, "int8" | "int16" | "int32") => SqlType::Int,
                _ => SqlType::BigInt,
            },
            "number" if title == "org.apache.kafka.connect.data.Decimal" || connect_type == "bytes" => {
                let params = field(schema, "connect.parameters");
                let param = |name: &str| params.and_then(|p| text(p, name)).and_then(|v| v.parse::<u8>().ok());
                SqlType::Decimal { precision: param("connect.decimal.precision").unwrap_or(38), scale: param("scale").unwrap_or(0) }
            }
            "number" => SqlType::Double,
            "string" if connect_type == "bytes" => SqlType::Bytes,
            "string" => SqlType::String,
            "array" => {
                let items = field(schema, "items").ok_or_else(unsupported)?;
                let items = self.resolve(items, 0)?;
                if connect_type == "map" {
                    if let (Some(k), Some(v)) = (field(items, "properties").and_then(|p| field(p, "key")), field(items, "properties").and_then(|p| field(p, "value"))) {
                        return Ok(SqlType::Map(Box::new(self.sql_type(k, depth + 1)?), Box::new(self.sql_type(v, depth + 1)?)));
                    }
                }
                SqlType::Array(Box::new(self.sql_type(items, depth + 1)?))
            }
            "object" => match (field(schema, "properties"), field(schema, "additionalProperties")) {
                (Some(Json::Object(props)), _) if connect_type != "map" && !props.is_empty() => {
                    let mut fields: Vec<(usize, String, SqlType)> = props
                        .iter()
                        .enumerate()
                        .map(|(i, (name, prop))| {
                            let index = match field(prop, "connect.index") {
                                Some(Json::Number(n)) => n.parse().unwrap_or(i),
                                _ => i,
                            };
                            Ok((index, name.to_string(), self.sql_type(prop, depth + 1)?))
                        })
                        .collect::<Result<_>>()?;
                    fields.sort_by_key(|(i, _, _)| *i);
                    SqlType::Struct(fields.into_iter().map(|(_, n, t)| (n, t)).collect())
                }
                (_, Some(values @ Json::Object(_))) => SqlType::Map(Box::new(SqlType::String), Box::new(self.sql_type(values, depth + 1)?)),
                _ => return Err(unsupported()),
            },
            _ => return Err(unsupported()),
        })
    }
}
