//! `io.confluent.connect.json.JsonSchemaConverter`: Connect data as Confluent-framed JSON
//! (magic byte, schema id, JSON text) through a Schema Registry, with Confluent's
//! `JsonSchemaData` mapping:
//!
//! | Connect | JSON Schema |
//! |---|---|
//! | int8 .. int64 | `{"type":"integer","connect.type":"int8"}` .. `"int64"` |
//! | float32, float64 | `{"type":"number","connect.type":"float32"}` / `"float64"` |
//! | boolean, string | `{"type":"boolean"}`, `{"type":"string"}` (an enum: `"enum"`) |
//! | bytes | `{"type":"string","connect.type":"bytes"}`, values base64 |
//! | Decimal | `{"type":"number","connect.type":"bytes"}` titled `org.apache.kafka.connect.data.Decimal`, values numbers (`decimal.format`, default `NUMERIC`) |
//! | array | `{"type":"array","items":..}` |
//! | map with required string keys | `{"type":"object","additionalProperties":..,"connect.type":"map"}` |
//! | other maps | an array of `{"key":..,"value":..}` objects, `"connect.type":"map"` |
//! | struct | `{"type":"object","properties":{..}}`, each property's `connect.index` |
//! | `io.confluent.connect.json.OneOf` struct | `oneOf` of its fields |
//! | optional | `{"oneOf":[{"type":"null"},T]}` |
//!
//! with the schema's name as `title`, its doc as `description`, `connect.version` and
//! `connect.parameters`. Reading takes the writer's schema by id and maps it back (`integer`
//! without `connect.type` is int64, `number` float64, a `oneOf`/`anyOf` of null and one type
//! that type optional, of several a `OneOf` struct; local `$ref`s are followed). Keys as
//! [`AvroConverter`](super::AvroConverter)'s (`schema.registry.url`, `auto.register.schemas`,
//! `use.latest.version`, the subject name strategies, `basic.auth.user.info`) and
//! `decimal.format`.

use std::collections::{BTreeMap, HashMap};

use base64::Engine as _;
use brook_schema::{wire, SchemaRegistryClient, SchemaType as RegistryType};
use parking_lot::Mutex;
use serde_json::{json, Map, Value as Json};

use super::api::Converter;
use super::json::{decimal_from_json, exact_decimals, has_decimal, DecimalFormat, Out};
use super::schema_registry::RegistrySide;
use crate::data::{Field, Schema, SchemaAndValue, SchemaType, Struct, Value};
use crate::decimal::{self, BigDecimal};
use crate::error::{Error, Result};

const CONNECT_TYPE: &str = "connect.type";
const CONNECT_INDEX: &str = "connect.index";
const CONNECT_VERSION: &str = "connect.version";
const CONNECT_PARAMETERS: &str = "connect.parameters";
const NAMESPACE: &str = "io.confluent.connect.json";
/// The struct name Connect gives a `oneOf` of several types.
pub const ONE_OF: &str = "io.confluent.connect.json.OneOf";
/// The parameter marking a string schema as a JSON enum (its symbols follow, prefixed).
pub const ENUM: &str = "io.confluent.connect.json.Enum";

/// `io.confluent.connect.json.JsonSchemaConverter`.
#[derive(Debug)]
pub struct JsonSchemaConverter {
    registry: RegistrySide,
    decimal_format: DecimalFormat,
    /// Ids of the schemas written, by subject and schema text.
    writers: Mutex<HashMap<(String, String), i32>>,
    /// Connect schemas of the schemas read, by id.
    readers: Mutex<HashMap<i32, Schema>>,
}

impl Default for JsonSchemaConverter {
    fn default() -> JsonSchemaConverter {
        JsonSchemaConverter { registry: RegistrySide::default(), decimal_format: DecimalFormat::Numeric, writers: Mutex::default(), readers: Mutex::default() }
    }
}

impl JsonSchemaConverter {
    /// A converter over `client` (tests; `configure` makes an HTTP client from
    /// `schema.registry.url` otherwise).
    pub fn with_client(client: std::sync::Arc<dyn SchemaRegistryClient>, is_key: bool) -> JsonSchemaConverter {
        JsonSchemaConverter { registry: RegistrySide::with_client(client, is_key), ..JsonSchemaConverter::default() }
    }
}

impl Converter for JsonSchemaConverter {
    fn configure(&mut self, config: &BTreeMap<String, String>, is_key: bool) -> Result<()> {
        self.decimal_format = DecimalFormat::from_config(config, DecimalFormat::Numeric)?;
        self.registry.configure(config, is_key)
    }

    fn from_connect_data(&self, topic: &str, data: &SchemaAndValue) -> Result<Option<Vec<u8>>> {
        if data.value == Value::Null {
            return Ok(None);
        }
        let schema = data.schema.as_ref().ok_or_else(|| Error::Data("JsonSchemaConverter needs a schema: the record has none (schemaless data)".into()))?;
        let text = json_schema(schema).to_string();
        let subject = self.registry.subject(topic, schema.name.as_deref())?;
        let key = (subject, text);
        let cached = self.writers.lock().get(&key).copied();
        let id = match cached {
            Some(id) => id,
            None => {
                let id = self.registry.writer_id(&key.0, &brook_schema::Schema::json(key.1.clone()))?;
                self.writers.lock().insert(key, id);
                id
            }
        };
        let mut payload = String::new();
        to_json(schema, &data.value, self.decimal_format)?.write(&mut payload);
        let mut out = wire::header(id, payload.len());
        out.extend_from_slice(payload.as_bytes());
        Ok(Some(out))
    }

    fn to_connect_data(&self, topic: &str, bytes: Option<&[u8]>) -> Result<SchemaAndValue> {
        let Some(bytes) = bytes else { return Ok(SchemaAndValue::null()) };
        let fail = |e: String| Error::Data(format!("Failed to deserialize data for topic {topic} to JSON Schema: {e}"));
        let (id, payload) = wire::split(bytes).map_err(|e| fail(e.to_string()))?;
        let cached = self.readers.lock().get(&id).cloned();
        let schema = match cached {
            Some(s) => s,
            None => {
                let resolved = self.registry.fetch(id)?;
                if resolved.schema.schema_type != RegistryType::Json {
                    return Err(fail(format!("schema {id} is a {} schema, not JSON", resolved.schema.schema_type)));
                }
                let doc: Json = serde_json::from_str(&resolved.schema.schema).map_err(|e| fail(format!("schema {id} is not JSON: {e}")))?;
                let schema = connect_schema(&doc)?;
                self.readers.lock().insert(id, schema.clone());
                schema
            }
        };
        let mut json: Json = serde_json::from_slice(payload).map_err(|e| fail(e.to_string()))?;
        if has_decimal(&schema) {
            if let Ok(raw) = serde_json::from_slice::<Box<serde_json::value::RawValue>>(payload) {
                exact_decimals(&schema, &mut json, &raw);
            }
        }
        Ok(SchemaAndValue { value: connect_value(&schema, &json)?, schema: Some(schema) })
    }
}

// ---- Connect schema -> JSON Schema ----------------------------------------------------------

fn is_string_keyed(s: &Schema) -> bool {
    s.key_schema.as_deref().is_some_and(|k| k.schema_type == SchemaType::String && !k.optional)
}

/// Confluent's `JsonSchemaData.fromConnectSchema`.
#[must_use]
pub fn json_schema(s: &Schema) -> Json {
    schema_at(s, None, false)
}

fn schema_at(s: &Schema, index: Option<usize>, ignore_optional: bool) -> Json {
    let mut m = Map::new();
    let connect_type = |m: &mut Map<String, Json>, t: &str| {
        m.insert(CONNECT_TYPE.into(), json!(t));
    };
    match s.schema_type {
        SchemaType::Int8 | SchemaType::Int16 | SchemaType::Int32 | SchemaType::Int64 => {
            m.insert("type".into(), json!("integer"));
            connect_type(&mut m, s.schema_type.name());
        }
        SchemaType::Float32 | SchemaType::Float64 => {
            m.insert("type".into(), json!("number"));
            connect_type(&mut m, s.schema_type.name());
        }
        SchemaType::Boolean => {
            m.insert("type".into(), json!("boolean"));
        }
        SchemaType::String if s.parameters.contains_key(ENUM) => {
            let prefix = format!("{ENUM}.");
            let symbols: Vec<&String> = s.parameters.iter().filter(|(k, _)| k.starts_with(&prefix)).map(|(_, v)| v).collect();
            m.insert("type".into(), json!("string"));
            m.insert("enum".into(), json!(symbols));
        }
        SchemaType::String => {
            m.insert("type".into(), json!("string"));
        }
        SchemaType::Bytes => {
            m.insert("type".into(), json!(if decimal::is_decimal(s) { "number" } else { "string" }));
            connect_type(&mut m, "bytes");
        }
        SchemaType::Array => {
            m.insert("type".into(), json!("array"));
            m.insert("items".into(), s.value_schema.as_deref().map_or(json!({}), |i| schema_at(i, None, false)));
        }
        SchemaType::Map if is_string_keyed(s) => {
            m.insert("type".into(), json!("object"));
            m.insert("additionalProperties".into(), s.value_schema.as_deref().map_or(json!({}), |v| schema_at(v, None, false)));
            connect_type(&mut m, "map");
        }
        SchemaType::Map => {
            let mut props = Map::new();
            if let Some(k) = s.key_schema.as_deref() {
                props.insert("key".into(), schema_at(k, Some(0), false));
            }
            if let Some(v) = s.value_schema.as_deref() {
                props.insert("value".into(), schema_at(v, Some(1), false));
            }
            m.insert("type".into(), json!("array"));
            m.insert("items".into(), json!({"type": "object", "properties": props}));
            connect_type(&mut m, "map");
        }
        SchemaType::Struct if s.name.as_deref() == Some(ONE_OF) => {
            let mut branches = Vec::new();
            if s.optional {
                branches.push(json!({"type": "null"}));
            }
            for (i, f) in s.fields.iter().enumerate() {
                branches.push(schema_at(&Schema { optional: false, ..f.schema.clone() }, Some(i), true));
            }
            m.insert("oneOf".into(), Json::Array(branches));
            if let Some(i) = index {
                m.insert(CONNECT_INDEX.into(), json!(i));
            }
            return Json::Object(m);
        }
        SchemaType::Struct if s.optional && !ignore_optional => {
            let inner = schema_at(&Schema { optional: false, ..s.clone() }, None, false);
            m.insert("oneOf".into(), json!([{"type": "null"}, inner]));
            if let Some(i) = index {
                m.insert(CONNECT_INDEX.into(), json!(i));
            }
            return Json::Object(m);
        }
        SchemaType::Struct => {
            let props: Map<String, Json> = s.fields.iter().enumerate().map(|(i, f)| (f.name.clone(), schema_at(&f.schema, Some(i), false))).collect();
            m.insert("type".into(), json!("object"));
            m.insert("properties".into(), Json::Object(props));
        }
    }
    if let Some(n) = &s.name {
        m.insert("title".into(), json!(n));
    }
    if let Some(v) = s.version {
        m.insert(CONNECT_VERSION.into(), json!(v));
    }
    if let Some(d) = &s.doc {
        m.insert("description".into(), json!(d));
    }
    let params: Map<String, Json> = s.parameters.iter().filter(|(k, _)| !k.starts_with(NAMESPACE)).map(|(k, v)| (k.clone(), json!(v))).collect();
    if !params.is_empty() {
        m.insert(CONNECT_PARAMETERS.into(), Json::Object(params));
    }
    if s.optional && !ignore_optional && s.schema_type != SchemaType::Struct {
        let mut outer = Map::new();
        outer.insert("oneOf".into(), json!([{"type": "null"}, Json::Object(m)]));
        if let Some(i) = index {
            outer.insert(CONNECT_INDEX.into(), json!(i));
        }
        return Json::Object(outer);
    }
    if let Some(i) = index {
        m.insert(CONNECT_INDEX.into(), json!(i));
    }
    Json::Object(m)
}

// ---- Connect value -> JSON ------------------------------------------------------------------

fn to_json(s: &Schema, v: &Value, decimals: DecimalFormat) -> Result<Out> {
    let bad = || Error::Data(format!("Invalid type for {}: {v}", s.schema_type.name().to_uppercase()));
    if *v == Value::Null {
        if s.optional {
            return Ok(Out::Scalar(Json::Null));
        }
        return Err(Error::Data("Conversion error: null value for field that is required and has no default value".into()));
    }
    let float = |f: f64| serde_json::Number::from_f64(f).map(|n| Out::Scalar(Json::Number(n))).ok_or_else(|| Error::Data(format!("cannot write {f} as JSON")));
    Ok(match (s.schema_type, v) {
        (SchemaType::Bytes, Value::Bytes(b)) if decimal::is_decimal(s) => {
            let d = BigDecimal::from_unscaled_bytes(b, decimal::scale(s)?)?;
            match decimals {
                DecimalFormat::Numeric => Out::Number(d.to_plain_string()),
                DecimalFormat::Base64 => Out::Scalar(json!(base64::engine::general_purpose::STANDARD.encode(b))),
            }
        }
        (SchemaType::Int8, Value::Int8(n)) => Out::Scalar(json!(n)),
        (SchemaType::Int16, Value::Int16(n)) => Out::Scalar(json!(n)),
        (SchemaType::Int32, Value::Int32(n)) => Out::Scalar(json!(n)),
        (SchemaType::Int64, Value::Int64(n)) => Out::Scalar(json!(n)),
        (SchemaType::Float32, Value::Float32(f)) => float(f64::from(*f))?,
        (SchemaType::Float64, Value::Float64(f)) => float(*f)?,
        (SchemaType::Boolean, Value::Boolean(b)) => Out::Scalar(json!(b)),
        (SchemaType::String, Value::String(t)) => Out::Scalar(json!(t)),
        (SchemaType::Bytes, Value::Bytes(b)) => Out::Scalar(json!(base64::engine::general_purpose::STANDARD.encode(b))),
        (SchemaType::Array, Value::Array(items)) => {
            let is = s.value_schema.as_deref().ok_or_else(bad)?;
            Out::Arr(items.iter().map(|i| to_json(is, i, decimals)).collect::<Result<_>>()?)
        }
        (SchemaType::Map, Value::Map(entries)) => {
            let (ks, vs) = (s.key_schema.as_deref().ok_or_else(bad)?, s.value_schema.as_deref().ok_or_else(bad)?);
            if is_string_keyed(s) {
                let mut m = Vec::with_capacity(entries.len());
                for (k, v) in entries {
                    let Value::String(k) = k else { return Err(bad()) };
                    m.push((k.clone(), to_json(vs, v, decimals)?));
                }
                Out::Obj(m)
            } else {
                Out::Arr(
                    entries
                        .iter()
                        .map(|(k, v)| Ok(Out::Obj(vec![("key".into(), to_json(ks, k, decimals)?), ("value".into(), to_json(vs, v, decimals)?)])))
                        .collect::<Result<_>>()?,
                )
            }
        }
        (SchemaType::Struct, Value::Struct(st)) => {
            if st.schema.fields != s.fields {
                return Err(Error::Data("Mismatching schema.".into()));
            }
            if s.name.as_deref() == Some(ONE_OF) {
                // The union's one set field.
                return match s.fields.iter().zip(&st.values).find(|(_, v)| **v != Value::Null) {
                    Some((f, v)) => to_json(&f.schema, v, decimals),
                    None => to_json(s, &Value::Null, decimals),
                };
            }
            Out::Obj(s.fields.iter().zip(&st.values).map(|(f, v)| Ok((f.name.clone(), to_json(&f.schema, v, decimals)?))).collect::<Result<_>>()?)
        }
        _ => return Err(bad()),
    })
}

// ---- JSON Schema -> Connect schema ----------------------------------------------------------

/// Confluent's `JsonSchemaData.toConnectSchema` of a schema document.
///
/// # Errors
/// [`Error::Data`] for a schema Connect cannot represent.
pub fn connect_schema(doc: &Json) -> Result<Schema> {
    Reader { root: doc }.schema(doc, 0, false)
}

struct Reader<'a> {
    root: &'a Json,
}

impl<'a> Reader<'a> {
    fn resolve<'s>(&self, s: &'s Json, depth: usize) -> Result<&'s Json>
    where
        'a: 's,
    {
        let Some(reference) = s.get("$ref").and_then(Json::as_str) else { return Ok(s) };
        if depth > 32 {
            return Err(Error::Data(format!("JSON schema reference {reference} is recursive")));
        }
        let path = reference.strip_prefix('#').ok_or_else(|| Error::Data(format!("unsupported JSON schema reference {reference}: only local ones are followed")))?;
        let target = self.root.pointer(path).ok_or_else(|| Error::Data(format!("unresolved JSON schema reference {reference}")))?;
        self.resolve(target, depth + 1)
    }

    fn schema<'s>(&self, s: &'s Json, depth: usize, force_optional: bool) -> Result<Schema>
    where
        'a: 's,
    {
        if depth > 64 {
            return Err(Error::Data("JSON schema nests too deeply".into()));
        }
        let s = self.resolve(s, 0)?;
        let unsupported = || Error::Data(format!("JSON schema Connect cannot represent: {s}"));
        let text = |k: &str| s.get(k).and_then(Json::as_str);
        let mut out = if let Some(branches) = s.get("oneOf").or_else(|| s.get("anyOf")).and_then(Json::as_array) {
            let is_null = |b: &Json| self.resolve(b, 0).ok().and_then(|b| b.get("type")).and_then(Json::as_str) == Some("null");
            let non_null: Vec<&Json> = branches.iter().filter(|b| !is_null(b)).collect();
            if branches.len() == 2 && non_null.len() == 1 {
                return self.schema(non_null[0], depth + 1, true);
            }
            let mut u = Schema::of(SchemaType::Struct).named(ONE_OF);
            u.optional = non_null.len() < branches.len();
            for (i, b) in non_null.iter().enumerate() {
                u.fields.push(Field { name: format!("{ONE_OF}.field.{i}"), schema: self.schema(b, depth + 1, true)? });
            }
            u
        } else if let Some(symbols) = s.get("enum").and_then(Json::as_array) {
            let mut e = Schema::string();
            e.parameters.insert(ENUM.into(), String::new());
            for sym in symbols {
                let sym = sym.as_str().map_or_else(|| sym.to_string(), str::to_owned);
                e.parameters.insert(format!("{ENUM}.{sym}"), sym);
            }
            e
        } else {
            let json_type = match s.get("type") {
                Some(Json::String(t)) => t.as_str(),
                Some(Json::Array(types)) => {
                    // `["null", T]`: an optional T.
                    let non_null: Vec<&str> = types.iter().filter_map(Json::as_str).filter(|t| *t != "null").collect();
                    match non_null.as_slice() {
                        [one] if types.len() == 2 => {
                            let mut single = s.clone();
                            single["type"] = json!(one);
                            let mut inner = Reader { root: self.root }.schema(&single, depth + 1, true)?;
                            inner.optional = true;
                            return Ok(inner);
                        }
                        _ => return Err(unsupported()),
                    }
                }
                None if s.get("properties").is_some() => "object",
                _ => return Err(unsupported()),
            };
            let connect_type = text(CONNECT_TYPE);
            match json_type {
                "boolean" => Schema::of(SchemaType::Boolean),
                "integer" | "number" => Schema::of(match connect_type {
                    Some("int8") => SchemaType::Int8,
                    Some("int16") => SchemaType::Int16,
                    Some("int32") => SchemaType::Int32,
                    Some("int64") => SchemaType::Int64,
                    Some("float32") => SchemaType::Float32,
                    Some("float64") => SchemaType::Float64,
                    Some("bytes") => SchemaType::Bytes,
                    None if json_type == "integer" => SchemaType::Int64,
                    None => SchemaType::Float64,
                    Some(other) => return Err(Error::Data(format!("Unsupported type {other}"))),
                }),
                "string" if connect_type == Some("bytes") => Schema::of(SchemaType::Bytes),
                "string" => Schema::string(),
                "null" => return Err(unsupported()),
                "array" => {
                    let items = s.get("items").ok_or_else(|| Error::Data("Array schema did not specify the items type".into()))?;
                    let items = self.resolve(items, 0)?;
                    let props = items.get("properties");
                    match (connect_type, props.and_then(|p| p.get("key")), props.and_then(|p| p.get("value"))) {
                        (Some("map"), Some(k), Some(v)) => Schema::map(self.schema(k, depth + 1, false)?, self.schema(v, depth + 1, false)?),
                        _ => Schema::array(self.schema(items, depth + 1, false)?),
                    }
                }
                "object" if connect_type == Some("map") => {
                    let values = s.get("additionalProperties").filter(|v| v.is_object()).ok_or_else(unsupported)?;
                    Schema::map(Schema::string(), self.schema(values, depth + 1, false)?)
                }
                "object" => {
                    let mut st = Schema::of(SchemaType::Struct);
                    let empty = Map::new();
                    let props = s.get("properties").and_then(Json::as_object).unwrap_or(&empty);
                    let mut fields: BTreeMap<usize, Field> = BTreeMap::new();
                    for (name, p) in props {
                        let index = p.get(CONNECT_INDEX).and_then(Json::as_u64).map_or(fields.len(), |i| i as usize);
                        fields.insert(index, Field { name: name.clone(), schema: self.schema(p, depth + 1, false)? });
                    }
                    st.fields = fields.into_values().collect();
                    st
                }
                _ => return Err(unsupported()),
            }
        };
        if let Some(t) = text("title") {
            out.name = Some(t.to_owned());
        }
        if let Some(v) = s.get(CONNECT_VERSION).and_then(Json::as_i64) {
            out.version = i32::try_from(v).ok();
        }
        if let Some(d) = text("description") {
            out.doc = Some(d.to_owned());
        }
        if let Some(p) = s.get(CONNECT_PARAMETERS).and_then(Json::as_object) {
            out.parameters.extend(p.iter().filter_map(|(k, v)| v.as_str().map(|v| (k.clone(), v.to_owned()))));
        }
        if force_optional {
            out.optional = true;
        }
        Ok(out)
    }
}

// ---- JSON -> Connect value ------------------------------------------------------------------

/// Whether `j` is of the JSON kind `s` takes (how a `OneOf` value finds its branch).
fn fits(s: &Schema, j: &Json) -> bool {
    match s.schema_type {
        SchemaType::Int8 | SchemaType::Int16 | SchemaType::Int32 | SchemaType::Int64 => j.is_i64() || j.is_u64(),
        SchemaType::Float32 | SchemaType::Float64 => j.is_number(),
        SchemaType::Boolean => j.is_boolean(),
        SchemaType::String => j.is_string(),
        SchemaType::Bytes => j.is_string() || (decimal::is_decimal(s) && j.is_number()),
        SchemaType::Array => j.is_array(),
        SchemaType::Map => j.is_object() || j.is_array(),
        SchemaType::Struct => j.as_object().is_some_and(|o| o.keys().all(|k| s.fields.iter().any(|f| f.name == *k))),
    }
}

/// Confluent's `JsonSchemaData.toConnectData`.
fn connect_value(s: &Schema, j: &Json) -> Result<Value> {
    if j.is_null() {
        if s.optional {
            return Ok(Value::Null);
        }
        return Err(Error::Data(format!("Invalid null value for required {} field", s.schema_type.name().to_uppercase())));
    }
    let bad = || Error::Data(format!("Invalid type for {}: {j}", s.schema_type.name().to_uppercase()));
    let int = |lo: i64, hi: i64| j.as_i64().filter(|n| (lo..=hi).contains(n)).ok_or_else(bad);
    Ok(match s.schema_type {
        SchemaType::Int8 => Value::Int8(int(i8::MIN.into(), i8::MAX.into())? as i8),
        SchemaType::Int16 => Value::Int16(int(i16::MIN.into(), i16::MAX.into())? as i16),
        SchemaType::Int32 => Value::Int32(int(i32::MIN.into(), i32::MAX.into())? as i32),
        SchemaType::Int64 => Value::Int64(j.as_i64().ok_or_else(bad)?),
        SchemaType::Float32 => Value::Float32(j.as_f64().ok_or_else(bad)? as f32),
        SchemaType::Float64 => Value::Float64(j.as_f64().ok_or_else(bad)?),
        SchemaType::Boolean => Value::Boolean(j.as_bool().ok_or_else(bad)?),
        SchemaType::String => Value::String(j.as_str().ok_or_else(bad)?.to_owned()),
        SchemaType::Bytes if decimal::is_decimal(s) => Value::Bytes(decimal_from_json(s, j)?),
        SchemaType::Bytes => Value::Bytes(
            base64::engine::general_purpose::STANDARD.decode(j.as_str().ok_or_else(bad)?).map_err(|e| Error::Data(format!("Invalid bytes field: {e}")))?,
        ),
        SchemaType::Array => {
            let is = s.value_schema.as_deref().ok_or_else(bad)?;
            Value::Array(j.as_array().ok_or_else(bad)?.iter().map(|i| connect_value(is, i)).collect::<Result<_>>()?)
        }
        SchemaType::Map => {
            let (ks, vs) = (s.key_schema.as_deref().ok_or_else(bad)?, s.value_schema.as_deref().ok_or_else(bad)?);
            if is_string_keyed(s) {
                let o = j.as_object().ok_or_else(|| Error::Data(format!("Maps with string fields should be encoded as JSON objects, but found {j}")))?;
                Value::Map(o.iter().map(|(k, v)| Ok((Value::String(k.clone()), connect_value(vs, v)?))).collect::<Result<_>>()?)
            } else {
                let entries = j.as_array().ok_or_else(|| Error::Data(format!("Maps with non-string fields should be encoded as JSON array of objects, but found {j}")))?;
                let mut out = Vec::with_capacity(entries.len());
                for e in entries {
                    let o = e.as_object().ok_or_else(|| Error::Data(format!("Found invalid map entry instead of object: {e}")))?;
                    let get = |k: &str| o.get(k).unwrap_or(&Json::Null);
                    out.push((connect_value(ks, get("key"))?, connect_value(vs, get("value"))?));
                }
                Value::Map(out)
            }
        }
        SchemaType::Struct if s.name.as_deref() == Some(ONE_OF) => {
            let branch = s.fields.iter().position(|f| fits(&f.schema, j)).ok_or_else(|| Error::Data(format!("Did not find matching oneof field for data: {j}")))?;
            let mut values = vec![Value::Null; s.fields.len()];
            values[branch] = connect_value(&s.fields[branch].schema, j)?;
            Value::Struct(Struct { schema: s.clone(), values })
        }
        SchemaType::Struct => {
            let o = j.as_object().ok_or_else(|| Error::Data(format!("Structs should be encoded as JSON objects, but found {j}")))?;
            let values = s.fields.iter().map(|f| connect_value(&f.schema, o.get(&f.name).unwrap_or(&Json::Null))).collect::<Result<_>>()?;
            Value::Struct(Struct { schema: s.clone(), values })
        }
    })
}
