//! `io.confluent.connect.avro.AvroConverter`: Connect data as Confluent-framed Avro (magic byte,
//! schema id, datum) through a Schema Registry (`schema.registry.url`), with Confluent's
//! `AvroData` type mapping:
//!
//! | Connect | Avro |
//! |---|---|
//! | int8 / int16 | `int` with `"connect.type":"int8"` / `"int16"` |
//! | int32, int64, float32, float64, boolean, string, bytes | `int`, `long`, `float`, `double`, `boolean`, `string`, `bytes` |
//! | array | `array` |
//! | map with required string keys | `map` |
//! | other maps | `array` of `io.confluent.connect.avro.MapEntry` records (`key`, `value`), or records named after the map |
//! | struct | `record` named after the schema (`io.confluent.connect.avro.ConnectDefault` without a name), its `connect.name` |
//! | optional | `["null", T]`, a struct field with `"default": null` |
//! | Timestamp / Date / Time | `long` `timestamp-millis` / `int` `date` / `int` `time-millis`, with `connect.name` and `connect.version` |
//! | Decimal | `bytes` `decimal` with `scale`, and `precision` from `connect.decimal.precision` (default 64) |
//!
//! Keys: `schema.registry.url`, `basic.auth.user.info`, `auto.register.schemas`,
//! `use.latest.version`, `key.subject.name.strategy` / `value.subject.name.strategy`. The
//! registry client is blocking (a schema is fetched or registered once, then cached). A registry
//! out of reach is an [`Error::Retriable`] (`errors.retry.timeout` applies).

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use brook_schema::apache_avro::types::Value as Avro;
use brook_schema::avro::ParsedAvro;
use brook_schema::{wire, SchemaRegistryClient};
use parking_lot::Mutex;
use serde_json::{json, Map, Value as Json};

use super::api::Converter;
use super::json::schema_to_json;
use super::schema_registry::{registry_error, RegistrySide};
use crate::data::{logical, Field, Schema, SchemaAndValue, SchemaType, Struct, Value};
use crate::decimal;
use crate::error::{Error, Result};

const CONNECT_NAME: &str = "connect.name";
const CONNECT_VERSION: &str = "connect.version";
const CONNECT_DOC: &str = "connect.doc";
const CONNECT_TYPE: &str = "connect.type";
const DEFAULT_NAMESPACE: &str = "io.confluent.connect.avro";
const DEFAULT_NAME: &str = "ConnectDefault";
/// The record name of a map entry (a map without required string keys is an array of them).
const MAP_ENTRY: &str = "MapEntry";
const CONNECT_INTERNAL_TYPE: &str = "connect.internal.type";
/// The precision `AvroData` gives a Decimal without `connect.decimal.precision`.
const DEFAULT_DECIMAL_PRECISION: u32 = 64;

/// `io.confluent.connect.avro.AvroConverter`.
#[derive(Debug, Default)]
pub struct AvroConverter {
    registry: RegistrySide,
    /// Writer schemas by their Avro text: (id per subject, parsed).
    writers: Mutex<HashMap<(String, String), (i32, Arc<ParsedAvro>)>>,
    /// Schemas read, by id.
    readers: Mutex<HashMap<i32, (Schema, Arc<ParsedAvro>)>>,
}

impl AvroConverter {
    /// A converter over `client` (tests; `configure` makes an HTTP client from
    /// `schema.registry.url` otherwise).
    pub fn with_client(client: Arc<dyn SchemaRegistryClient>, is_key: bool) -> AvroConverter {
        AvroConverter { registry: RegistrySide::with_client(client, is_key), ..AvroConverter::default() }
    }
}

impl Converter for AvroConverter {
    fn configure(&mut self, config: &BTreeMap<String, String>, is_key: bool) -> Result<()> {
        self.registry.configure(config, is_key)
    }

    fn from_connect_data(&self, topic: &str, data: &SchemaAndValue) -> Result<Option<Vec<u8>>> {
        if data.value == Value::Null {
            return Ok(None);
        }
        let schema = data.schema.as_ref().ok_or_else(|| Error::Data("AvroConverter needs a schema: the record has none (schemaless data)".into()))?;
        let text = avro_schema(schema).to_string();
        let record_name = (schema.schema_type == SchemaType::Struct).then(|| record_name(schema));
        let subject = self.registry.subject(topic, record_name.as_deref())?;
        let key = (subject.clone(), text.clone());
        let cached = self.writers.lock().get(&key).cloned();
        let (id, parsed) = match cached {
            Some(w) => w,
            None => {
                let parsed = Arc::new(ParsedAvro::parse(&text).map_err(|e| Error::Data(format!("Connect schema as Avro: {e}")))?);
                let id = self.registry.writer_id(&subject, &brook_schema::Schema::avro(text.clone()))?;
                self.writers.lock().insert(key, (id, parsed.clone()));
                (id, parsed)
            }
        };
        let datum = parsed.encode(avro_value(schema, &data.value)?).map_err(|e| Error::Data(format!("Failed to serialize Avro data from topic {topic} :{e}")))?;
        let mut out = wire::header(id, datum.len());
        out.extend_from_slice(&datum);
        Ok(Some(out))
    }

    fn to_connect_data(&self, topic: &str, bytes: Option<&[u8]>) -> Result<SchemaAndValue> {
        let Some(bytes) = bytes else { return Ok(SchemaAndValue::null()) };
        let fail = |e: brook_schema::Error| Error::Data(format!("Failed to deserialize data for topic {topic} to Avro: {e}"));
        let (id, payload) = wire::split(bytes).map_err(fail)?;
        let cached = self.readers.lock().get(&id).cloned();
        let (schema, parsed) = match cached {
            Some(r) => r,
            None => {
                let registered = self.registry.client()?.schema_by_id(id).map_err(registry_error)?;
                let text: Json = serde_json::from_str(&registered.schema).map_err(|e| Error::Data(format!("schema {id} is not Avro JSON: {e}")))?;
                let schema = connect_schema(&text, None)?;
                let parsed = Arc::new(ParsedAvro::parse(&registered.schema).map_err(fail)?);
                self.readers.lock().insert(id, (schema.clone(), parsed.clone()));
                (schema, parsed)
            }
        };
        let datum = parsed.decode(payload, None).map_err(fail)?;
        Ok(SchemaAndValue { value: connect_value(&schema, datum)?, schema: Some(schema) })
    }
}

fn record_name(s: &Schema) -> String {
    s.name.clone().unwrap_or_else(|| format!("{DEFAULT_NAMESPACE}.{DEFAULT_NAME}"))
}

/// Whether a map schema has required string keys (an Avro `map`; other maps are arrays of
/// entries).
fn string_keyed(s: &Schema) -> bool {
    s.key_schema.as_deref().is_none_or(|k| k.schema_type == SchemaType::String && !k.optional)
}

/// Confluent's `AvroData.fromConnectSchema`, as Avro schema JSON.
pub fn avro_schema(s: &Schema) -> Json {
    let base = non_optional_avro(s);
    if s.optional {
        json!(["null", base])
    } else {
        base
    }
}

fn with_props(mut base: Map<String, Json>, s: &Schema) -> Json {
    if let Some(v) = s.version {
        base.insert(CONNECT_VERSION.into(), json!(v));
    }
    if let Some(d) = &s.doc {
        base.insert(CONNECT_DOC.into(), json!(d));
    }
    if !s.parameters.is_empty() {
        base.insert("connect.parameters".into(), json!(s.parameters));
    }
    if let Some(n) = &s.name {
        base.insert(CONNECT_NAME.into(), json!(n));
    }
    Json::Object(base)
}

fn non_optional_avro(s: &Schema) -> Json {
    let prim = |t: &str| {
        let mut m = Map::new();
        m.insert("type".into(), json!(t));
        m
    };
    let (mut m, plain) = match s.schema_type {
        SchemaType::Int8 | SchemaType::Int16 => {
            let mut m = prim("int");
            m.insert(CONNECT_TYPE.into(), json!(s.schema_type.name()));
            (m, false)
        }
        SchemaType::Int32 => (prim("int"), true),
        SchemaType::Int64 => (prim("long"), true),
        SchemaType::Float32 => (prim("float"), true),
        SchemaType::Float64 => (prim("double"), true),
        SchemaType::Boolean => (prim("boolean"), true),
        SchemaType::String => (prim("string"), true),
        SchemaType::Bytes => (prim("bytes"), true),
        SchemaType::Array => {
            let mut m = prim("array");
            m.insert("items".into(), s.value_schema.as_deref().map_or(json!("null"), avro_schema));
            (m, false)
        }
        SchemaType::Map if !string_keyed(s) => {
            // AvroData: an array of key/value records, named after the map or
            // `io.confluent.connect.avro.MapEntry`.
            let full = s.name.clone().unwrap_or_else(|| format!("{DEFAULT_NAMESPACE}.{MAP_ENTRY}"));
            let (ns, name) = full.rsplit_once('.').map_or((None, full.as_str()), |(ns, n)| (Some(ns), n));
            let field = |fname: &str, fs: Option<&Schema>| {
                let fs = fs.cloned().unwrap_or_else(|| Schema::of(SchemaType::String).optional());
                let mut fm = Map::new();
                fm.insert("name".into(), json!(fname));
                fm.insert("type".into(), avro_schema(&fs));
                if fs.optional {
                    fm.insert("default".into(), Json::Null);
                }
                Json::Object(fm)
            };
            let mut entry = prim("record");
            entry.insert("name".into(), json!(name));
            if let Some(ns) = ns {
                entry.insert("namespace".into(), json!(ns));
            }
            entry.insert("fields".into(), json!([field("key", s.key_schema.as_deref()), field("value", s.value_schema.as_deref())]));
            entry.insert(CONNECT_INTERNAL_TYPE.into(), json!(MAP_ENTRY));
            let mut m = prim("array");
            m.insert("items".into(), Json::Object(entry));
            (m, false)
        }
        SchemaType::Map => {
            let mut m = prim("map");
            m.insert("values".into(), s.value_schema.as_deref().map_or(json!("null"), avro_schema));
            (m, false)
        }
        SchemaType::Struct => {
            let full = record_name(s);
            let (ns, name) = full.rsplit_once('.').map_or((None, full.as_str()), |(ns, n)| (Some(ns), n));
            let mut m = prim("record");
            m.insert("name".into(), json!(name));
            if let Some(ns) = ns {
                m.insert("namespace".into(), json!(ns));
            }
            if let Some(d) = &s.doc {
                m.insert("doc".into(), json!(d));
            }
            let fields: Vec<Json> = s
                .fields
                .iter()
                .map(|f| {
                    let mut fm = Map::new();
                    fm.insert("name".into(), json!(f.name));
                    fm.insert("type".into(), avro_schema(&f.schema));
                    if f.schema.optional {
                        fm.insert("default".into(), Json::Null);
                    }
                    Json::Object(fm)
                })
                .collect();
            m.insert("fields".into(), Json::Array(fields));
            (m, false)
        }
    };
    match s.name.as_deref() {
        Some(logical::TIMESTAMP) => {
            m.insert("logicalType".into(), json!("timestamp-millis"));
        }
        Some(logical::DATE) => {
            m.insert("logicalType".into(), json!("date"));
        }
        Some(logical::TIME) => {
            m.insert("logicalType".into(), json!("time-millis"));
        }
        Some(decimal::LOGICAL_NAME) if s.schema_type == SchemaType::Bytes => {
            m.insert("scale".into(), json!(decimal::scale(s).unwrap_or(0)));
            m.insert("precision".into(), json!(decimal::precision(s).unwrap_or(DEFAULT_DECIMAL_PRECISION)));
            m.insert("logicalType".into(), json!("decimal"));
        }
        _ => {}
    }
    if plain && s.name.is_none() && s.version.is_none() && s.doc.is_none() && s.parameters.is_empty() {
        return m.remove("type").unwrap_or(Json::Null);
    }
    with_props(m, s)
}

/// A Connect value as an Avro value of [`avro_schema`]`(s)`: an optional schema's value is the
/// branch of its `["null", T]` union.
fn avro_value(s: &Schema, v: &Value) -> Result<Avro> {
    let inner = non_optional_value(s, v)?;
    Ok(match (s.optional, v) {
        (false, _) => inner,
        (true, Value::Null) => Avro::Union(0, Box::new(inner)),
        (true, _) => Avro::Union(1, Box::new(inner)),
    })
}

fn non_optional_value(s: &Schema, v: &Value) -> Result<Avro> {
    let bad = || Error::Data(format!("Invalid type for {}: {v}", s.schema_type.name().to_uppercase()));
    Ok(match v {
        Value::Null if s.optional => Avro::Null,
        Value::Null => return Err(Error::Data("Conversion error: null value for field that is required and has no default value".into())),
        Value::Boolean(b) => Avro::Boolean(*b),
        Value::Int8(n) => Avro::Int(i32::from(*n)),
        Value::Int16(n) => Avro::Int(i32::from(*n)),
        Value::Int32(n) => match s.name.as_deref() {
            Some(logical::DATE) => Avro::Date(*n),
            Some(logical::TIME) => Avro::TimeMillis(*n),
            _ => Avro::Int(*n),
        },
        Value::Int64(n) => match s.name.as_deref() {
            Some(logical::TIMESTAMP) => Avro::TimestampMillis(*n),
            _ => Avro::Long(*n),
        },
        Value::Float32(f) => Avro::Float(*f),
        Value::Float64(f) => Avro::Double(*f),
        Value::String(t) => Avro::String(t.clone()),
        // Java writes a decimal's unscaled bytes minimal (`BigInteger.toByteArray`).
        Value::Bytes(b) if decimal::is_decimal(s) => Avro::Decimal(brook_schema::apache_avro::Decimal::from(brook_schema::avro::minimal(b.clone()))),
        Value::Bytes(b) => Avro::Bytes(b.clone()),
        Value::Array(items) => {
            let is = s.value_schema.as_deref().ok_or_else(bad)?;
            Avro::Array(items.iter().map(|i| avro_value(is, i)).collect::<Result<_>>()?)
        }
        Value::Map(entries) if !string_keyed(s) => {
            let (ks, vs) = (s.key_schema.as_deref().ok_or_else(bad)?, s.value_schema.as_deref().ok_or_else(bad)?);
            Avro::Array(
                entries
                    .iter()
                    .map(|(k, v)| Ok(Avro::Record(vec![("key".into(), avro_value(ks, k)?), ("value".into(), avro_value(vs, v)?)])))
                    .collect::<Result<_>>()?,
            )
        }
        Value::Map(entries) => {
            let vs = s.value_schema.as_deref().ok_or_else(bad)?;
            let mut m = HashMap::new();
            for (k, v) in entries {
                let Value::String(k) = k else { return Err(Error::Data("AvroConverter: map keys must be strings".into())) };
                m.insert(k.clone(), avro_value(vs, v)?);
            }
            Avro::Map(m)
        }
        Value::Struct(st) => Avro::Record(s.fields.iter().zip(&st.values).map(|(f, v)| Ok((f.name.clone(), avro_value(&f.schema, v)?))).collect::<Result<_>>()?),
    })
}

/// Confluent's `AvroData.toConnectSchema` from Avro schema JSON; `optional` when inside a
/// `["null", T]` union.
fn connect_schema(j: &Json, _parent: Option<&str>) -> Result<Schema> {
    let bad = || Error::Data(format!("Avro schema Connect cannot represent: {j}"));
    let (mut s, obj) = match j {
        Json::String(t) => (primitive(t).ok_or_else(bad)?, None),
        Json::Array(branches) => {
            let non_null: Vec<&Json> = branches.iter().filter(|b| b.as_str() != Some("null")).collect();
            match non_null.as_slice() {
                [one] if branches.len() == 2 => return Ok(connect_schema(one, None)?.optional()),
                _ => return Err(Error::Data(format!("Avro unions other than [\"null\", T] are not supported: {j}"))),
            }
        }
        Json::Object(o) => {
            let t = o.get("type").ok_or_else(bad)?;
            let s = match t.as_str() {
                Some("record") => {
                    let name = o.get("name").and_then(Json::as_str).ok_or_else(bad)?;
                    let full = match (name.contains('.'), o.get("namespace").and_then(Json::as_str)) {
                        (false, Some(ns)) if !ns.is_empty() => format!("{ns}.{name}"),
                        _ => name.to_owned(),
                    };
                    let mut st = Schema::of(SchemaType::Struct);
                    if full != format!("{DEFAULT_NAMESPACE}.{DEFAULT_NAME}") {
                        st.name = Some(full);
                    }
                    for f in o.get("fields").and_then(Json::as_array).ok_or_else(bad)? {
                        let fname = f.get("name").and_then(Json::as_str).ok_or_else(bad)?;
                        st.fields.push(Field { name: fname.to_owned(), schema: connect_schema(f.get("type").ok_or_else(bad)?, None)? });
                    }
                    st
                }
                Some("array") => {
                    let items = o.get("items").ok_or_else(bad)?;
                    let entry_field = |n: &str| {
                        items.get("fields").and_then(Json::as_array).and_then(|fs| fs.iter().find(|f| f.get("name").and_then(Json::as_str) == Some(n))).and_then(|f| f.get("type"))
                    };
                    match (items.get(CONNECT_INTERNAL_TYPE).and_then(Json::as_str), entry_field("key"), entry_field("value")) {
                        (Some(MAP_ENTRY), Some(k), Some(v)) => Schema::map(connect_schema(k, None)?, connect_schema(v, None)?),
                        _ => Schema::array(connect_schema(items, None)?),
                    }
                }
                Some("map") => Schema::map(Schema::string(), connect_schema(o.get("values").ok_or_else(bad)?, None)?),
                Some("enum") => Schema::string(),
                Some("fixed") => Schema::of(SchemaType::Bytes),
                Some(p) => match o.get(CONNECT_TYPE).and_then(Json::as_str) {
                    Some("int8") => Schema::of(SchemaType::Int8),
                    Some("int16") => Schema::of(SchemaType::Int16),
                    _ => primitive(p).ok_or_else(bad)?,
                },
                None => connect_schema(t, None)?,
            };
            (s, Some(o))
        }
        _ => return Err(bad()),
    };
    if let Some(o) = obj {
        match o.get("logicalType").and_then(Json::as_str) {
            Some("timestamp-millis") => s = logical::timestamp_schema(),
            Some("date") => s = logical::date_schema(),
            Some("time-millis") => s = logical::time_schema(),
            Some("decimal") if s.schema_type == SchemaType::Bytes => {
                let scale = o.get("scale").and_then(Json::as_i64).and_then(|v| i32::try_from(v).ok()).unwrap_or(0);
                s = decimal::schema(scale);
                let precision = o.get("precision").and_then(Json::as_u64).unwrap_or(u64::from(DEFAULT_DECIMAL_PRECISION));
                if precision != u64::from(DEFAULT_DECIMAL_PRECISION) {
                    s.parameters.insert(decimal::PRECISION_PARAM.into(), precision.to_string());
                }
            }
            _ => {}
        }
        if let Some(n) = o.get(CONNECT_NAME).and_then(Json::as_str) {
            s.name = Some(n.to_owned());
        }
        if let Some(v) = o.get(CONNECT_VERSION).and_then(Json::as_i64) {
            s.version = i32::try_from(v).ok();
        }
        if let Some(d) = o.get(CONNECT_DOC).or_else(|| o.get("doc")).and_then(Json::as_str) {
            s.doc = Some(d.to_owned());
        }
        if let Some(p) = o.get("connect.parameters").and_then(Json::as_object) {
            s.parameters.extend(p.iter().filter_map(|(k, v)| v.as_str().map(|v| (k.clone(), v.to_owned()))));
        }
    }
    Ok(s)
}

fn primitive(t: &str) -> Option<Schema> {
    Some(Schema::of(match t {
        "int" => SchemaType::Int32,
        "long" => SchemaType::Int64,
        "float" => SchemaType::Float32,
        "double" => SchemaType::Float64,
        "boolean" => SchemaType::Boolean,
        "string" => SchemaType::String,
        "bytes" => SchemaType::Bytes,
        _ => return None,
    }))
}

/// An Avro value as the Connect value of `s`.
fn connect_value(s: &Schema, v: Avro) -> Result<Value> {
    let bad = |v: &Avro| Error::Data(format!("Avro value {v:?} does not fit the Connect schema {}", schema_to_json(s)));
    Ok(match v {
        Avro::Null => Value::Null,
        Avro::Union(_, inner) => connect_value(s, *inner)?,
        Avro::Boolean(b) => Value::Boolean(b),
        Avro::Int(n) | Avro::Date(n) | Avro::TimeMillis(n) => match s.schema_type {
            SchemaType::Int8 => Value::Int8(i8::try_from(n).map_err(|_| Error::Data(format!("{n} out of range for int8")))?),
            SchemaType::Int16 => Value::Int16(i16::try_from(n).map_err(|_| Error::Data(format!("{n} out of range for int16")))?),
            _ => Value::Int32(n),
        },
        Avro::Long(n) | Avro::TimestampMillis(n) => Value::Int64(n),
        Avro::Float(f) => Value::Float32(f),
        Avro::Double(f) => Value::Float64(f),
        Avro::String(t) | Avro::Enum(_, t) => Value::String(t),
        Avro::Bytes(b) | Avro::Fixed(_, b) => Value::Bytes(b),
        Avro::Decimal(d) => Value::Bytes(Vec::<u8>::try_from(&d).map_err(|e| Error::Data(format!("Avro decimal: {e}")))?),
        Avro::Array(entries) if s.schema_type == SchemaType::Map => {
            let (ks, vs) = match (s.key_schema.as_deref(), s.value_schema.as_deref()) {
                (Some(k), Some(v)) => (k, v),
                _ => return Err(bad(&Avro::Null)),
            };
            let mut out = Vec::with_capacity(entries.len());
            for e in entries {
                let Avro::Record(fields) = e else { return Err(bad(&e)) };
                let get = |n: &str| fields.iter().find(|(f, _)| f == n).map_or(Avro::Null, |(_, v)| v.clone());
                out.push((connect_value(ks, get("key"))?, connect_value(vs, get("value"))?));
            }
            Value::Map(out)
        }
        Avro::Array(items) => {
            let is = s.value_schema.as_deref().ok_or_else(|| bad(&Avro::Null))?;
            Value::Array(items.into_iter().map(|i| connect_value(is, i)).collect::<Result<_>>()?)
        }
        Avro::Map(m) => {
            let vs = s.value_schema.as_deref().ok_or_else(|| bad(&Avro::Null))?;
            let mut entries: Vec<_> = m.into_iter().map(|(k, v)| Ok((Value::String(k), connect_value(vs, v)?))).collect::<Result<_>>()?;
            entries.sort_by(|a, b| a.0.to_string().cmp(&b.0.to_string()));
            Value::Map(entries)
        }
        Avro::Record(fields) => {
            let mut values = Vec::with_capacity(s.fields.len());
            for f in &s.fields {
                let v = fields.iter().find(|(n, _)| *n == f.name).map(|(_, v)| v.clone()).unwrap_or(Avro::Null);
                values.push(connect_value(&f.schema, v)?);
            }
            Value::Struct(Struct { schema: s.clone(), values })
        }
        other => return Err(bad(&other)),
    })
}
