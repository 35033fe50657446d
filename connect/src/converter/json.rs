//! `org.apache.kafka.connect.json.JsonConverter` (with `schemas.enable`, Connect's
//! `{"schema":...,"payload":...}` envelope, or without) and what the JSON converters share:
//! Connect's JSON form of a schema ([`schema_to_json`], [`schema_from_json`]), `decimal.format`
//! ([`DecimalFormat`]), reading Decimals exactly from JSON numbers. `JsonSchemaConverter`
//! (`json_schema.rs`) builds on these.

use std::collections::BTreeMap;

use base64::Engine as _;
use serde_json::value::RawValue;
use serde_json::{Number, Value as Json};

use super::api::Converter;
use crate::data::{Field, Schema, SchemaAndValue, SchemaType, Struct, Value};
use crate::decimal::{self, BigDecimal};
use crate::error::{Error, Result};

/// `org.apache.kafka.connect.json.JsonConverter`. `schemas.enable` (default: true) wraps every
/// value in `{"schema":...,"payload":...}`; without it the JSON is the bare payload and reads
/// back schemaless. Bytes are base64 strings, maps with string keys objects, other maps arrays
/// of `[key, value]` pairs, as in Kafka. `decimal.format` writes `Decimal` values as the base64
/// of their unscaled bytes (`BASE64`, the default) or as JSON numbers (`NUMERIC`); both are read.
#[derive(Debug, Clone, Copy)]
pub struct JsonConverter {
    schemas_enable: bool,
    decimal_format: DecimalFormat,
}

/// `decimal.format`: how the JSON converters write `Decimal` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DecimalFormat {
    /// The base64 text of the unscaled two's complement bytes (`JsonConverter`'s default).
    Base64,
    /// A JSON number with the decimal's digits (`JsonSchemaConverter`'s default).
    Numeric,
}

impl DecimalFormat {
    /// Reads `decimal.format` from `config` (case-insensitive), `default` when absent.
    ///
    /// # Errors
    /// [`Error::Config`] for another value, with Kafka's message.
    pub fn from_config(config: &BTreeMap<String, String>, default: DecimalFormat) -> Result<DecimalFormat> {
        match config.get("decimal.format").map(|v| v.trim().to_ascii_uppercase()) {
            None => Ok(default),
            Some(v) if v == "BASE64" => Ok(DecimalFormat::Base64),
            Some(v) if v == "NUMERIC" => Ok(DecimalFormat::Numeric),
            Some(v) => Err(Error::Config(format!("Invalid value {v} for configuration decimal.format: String must be one of (case insensitive): BASE64, NUMERIC"))),
        }
    }
}

impl JsonConverter {
    /// A converter with `schemas.enable` as given (decimals as base64).
    pub fn new(schemas_enable: bool) -> JsonConverter {
        JsonConverter { schemas_enable, decimal_format: DecimalFormat::Base64 }
    }
}

impl Converter for JsonConverter {
    fn configure(&mut self, config: &BTreeMap<String, String>, _is_key: bool) -> Result<()> {
        if let Some(v) = config.get("schemas.enable") {
            self.schemas_enable = match v.trim().to_ascii_lowercase().as_str() {
                "true" => true,
                "false" => false,
                _ => return Err(Error::Config(format!("Invalid value {v} for configuration schemas.enable: Expected value to be either true or false"))),
            };
        }
        self.decimal_format = DecimalFormat::from_config(config, DecimalFormat::Base64)?;
        Ok(())
    }

    fn from_connect_data(&self, _topic: &str, data: &SchemaAndValue) -> Result<Option<Vec<u8>>> {
        if data.schema.is_none() && data.value == Value::Null {
            return Ok(None);
        }
        let payload = to_json(data.schema.as_ref(), &data.value, self.decimal_format)?;
        let json = if self.schemas_enable {
            let schema = data.schema.as_ref().map_or(Out::Scalar(Json::Null), schema_out);
            Out::Obj(vec![("schema".into(), schema), ("payload".into(), payload)])
        } else {
            payload
        };
        let mut buf = String::new();
        json.write(&mut buf);
        Ok(Some(buf.into_bytes()))
    }

    fn to_connect_data(&self, _topic: &str, bytes: Option<&[u8]>) -> Result<SchemaAndValue> {
        let Some(bytes) = bytes else { return Ok(SchemaAndValue::null()) };
        let json: Json = serde_json::from_slice(bytes)
            .map_err(|e| Error::Data(format!("Converting byte[] to Kafka Connect data failed due to serialization error: {e}")))?;
        if !self.schemas_enable {
            return Ok(SchemaAndValue { schema: None, value: schemaless(&json) });
        }
        let ok = matches!(&json, Json::Object(m) if m.len() == 2 && m.contains_key("schema") && m.contains_key("payload"));
        if !ok {
            return Err(Error::Data(
                "JsonConverter with schemas.enable requires \"schema\" and \"payload\" fields and may not contain additional fields. \
                 If you are trying to deserialize plain JSON data, set schemas.enable=false in your converter configuration."
                    .into(),
            ));
        }
        let schema = match &json["schema"] {
            Json::Null => None,
            s => Some(schema_from_json(s)?),
        };
        let value = match &schema {
            None => schemaless(&json["payload"]),
            Some(s) if has_decimal(s) => {
                let mut payload = json["payload"].clone();
                if let Ok(raw) = serde_json::from_slice::<BTreeMap<String, Box<RawValue>>>(bytes) {
                    if let Some(raw) = raw.get("payload") {
                        exact_decimals(s, &mut payload, raw);
                    }
                }
                from_json(s, &payload)?
            }
            Some(s) => from_json(s, &json["payload"])?,
        };
        Ok(SchemaAndValue { schema, value })
    }
}

/// JSON being written, objects in insertion order (Kafka's order; `serde_json::Map` would sort).
#[derive(Debug)]
pub(crate) enum Out {
    Scalar(Json),
    /// A number's exact text (a decimal's digits).
    Number(String),
    Arr(Vec<Out>),
    Obj(Vec<(String, Out)>),
}

impl Out {
    pub(crate) fn write(&self, buf: &mut String) {
        match self {
            Out::Scalar(j) => buf.push_str(&j.to_string()),
            Out::Number(n) => buf.push_str(n),
            Out::Arr(items) => {
                buf.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        buf.push(',');
                    }
                    item.write(buf);
                }
                buf.push(']');
            }
            Out::Obj(entries) => {
                buf.push('{');
                for (i, (k, v)) in entries.iter().enumerate() {
                    if i > 0 {
                        buf.push(',');
                    }
                    buf.push_str(&Json::String(k.clone()).to_string());
                    buf.push(':');
                    v.write(buf);
                }
                buf.push('}');
            }
        }
    }
}


/// Connect's JSON form of a schema, keys in Kafka's order: type, items/keys/values/fields,
/// optional, name, version, doc (a struct field adds `field` last).
pub fn schema_to_json(s: &Schema) -> String {
    let mut buf = String::new();
    schema_out(s).write(&mut buf);
    buf
}

fn schema_out(s: &Schema) -> Out {
    let mut m: Vec<(String, Out)> = Vec::new();
    m.push(("type".into(), Out::Scalar(Json::String(s.schema_type.name().into()))));
    match s.schema_type {
        SchemaType::Array => {
            if let Some(items) = &s.value_schema {
                m.push(("items".into(), schema_out(items)));
            }
        }
        SchemaType::Map => {
            if let Some(k) = &s.key_schema {
                m.push(("keys".into(), schema_out(k)));
            }
            if let Some(v) = &s.value_schema {
                m.push(("values".into(), schema_out(v)));
            }
        }
        SchemaType::Struct => {
            let fields = s
                .fields
                .iter()
                .map(|f| {
                    let mut j = schema_out(&f.schema);
                    if let Out::Obj(o) = &mut j {
                        o.push(("field".into(), Out::Scalar(Json::String(f.name.clone()))));
                    }
                    j
                })
                .collect();
            m.push(("fields".into(), Out::Arr(fields)));
        }
        _ => {}
    }
    m.push(("optional".into(), Out::Scalar(Json::Bool(s.optional))));
    if let Some(n) = &s.name {
        m.push(("name".into(), Out::Scalar(Json::String(n.clone()))));
    }
    if let Some(v) = s.version {
        m.push(("version".into(), Out::Scalar(Json::from(v))));
    }
    if let Some(d) = &s.doc {
        m.push(("doc".into(), Out::Scalar(Json::String(d.clone()))));
    }
    if !s.parameters.is_empty() {
        let params = s.parameters.iter().map(|(k, v)| (k.clone(), Out::Scalar(Json::String(v.clone())))).collect();
        m.push(("parameters".into(), Out::Obj(params)));
    }
    Out::Obj(m)
}

/// Reads Connect's JSON form of a schema.
///
/// # Errors
/// [`Error::Data`] on a schema without a known `type` or with missing parts.
pub fn schema_from_json(j: &Json) -> Result<Schema> {
    let bad = |what: &str| Error::Data(format!("invalid JSON schema: {what}: {j}"));
    let name = j.get("type").and_then(Json::as_str).ok_or_else(|| bad("schema must contain 'type' field"))?;
    let t = SchemaType::from_name(name).ok_or_else(|| bad(&format!("unknown schema type {name:?}")))?;
    let mut s = Schema::of(t);
    s.optional = j.get("optional").and_then(Json::as_bool).unwrap_or(false);
    s.name = j.get("name").and_then(Json::as_str).map(str::to_owned);
    s.version = j.get("version").and_then(Json::as_i64).and_then(|v| i32::try_from(v).ok());
    s.doc = j.get("doc").and_then(Json::as_str).map(str::to_owned);
    if let Some(params) = j.get("parameters").and_then(Json::as_object) {
        s.parameters = params.iter().filter_map(|(k, v)| v.as_str().map(|v| (k.clone(), v.to_owned()))).collect();
    }
    match t {
        SchemaType::Array => {
            let items = j.get("items").ok_or_else(|| bad("array schema did not specify the element type"))?;
            s.value_schema = Some(Box::new(schema_from_json(items)?));
        }
        SchemaType::Map => {
            let k = j.get("keys").ok_or_else(|| bad("map schema did not specify the key type"))?;
            let v = j.get("values").ok_or_else(|| bad("map schema did not specify the value type"))?;
            s.key_schema = Some(Box::new(schema_from_json(k)?));
            s.value_schema = Some(Box::new(schema_from_json(v)?));
        }
        SchemaType::Struct => {
            let fields = j.get("fields").and_then(Json::as_array).ok_or_else(|| bad("struct schema's \"fields\" argument is not an array"))?;
            for f in fields {
                let fname = f.get("field").and_then(Json::as_str).ok_or_else(|| bad("struct schema's field name not specified properly"))?;
                s.fields.push(Field { name: fname.to_owned(), schema: schema_from_json(f)? });
            }
        }
        _ => {}
    }
    Ok(s)
}

fn mismatch(s: &Schema, v: &impl std::fmt::Display) -> Error {
    Error::Data(format!("Invalid type for {}: {v}", s.schema_type.name().to_uppercase()))
}

/// A value as the JSON payload of `schema` (or schemaless).
fn to_json(schema: Option<&Schema>, v: &Value, decimals: DecimalFormat) -> Result<Out> {
    if let (Some(s), Value::Null) = (schema, v) {
        if !s.optional {
            return Err(Error::Data("Conversion error: null value for field that is required and has no default value".into()));
        }
        return Ok(Out::Scalar(Json::Null));
    }
    if let Some(s) = schema {
        let fits = matches!(
            (s.schema_type, v),
            (SchemaType::Int8, Value::Int8(_))
                | (SchemaType::Int16, Value::Int16(_))
                | (SchemaType::Int32, Value::Int32(_))
                | (SchemaType::Int64, Value::Int64(_))
                | (SchemaType::Float32, Value::Float32(_))
                | (SchemaType::Float64, Value::Float64(_))
                | (SchemaType::Boolean, Value::Boolean(_))
                | (SchemaType::String, Value::String(_))
                | (SchemaType::Bytes, Value::Bytes(_))
                | (SchemaType::Array, Value::Array(_))
                | (SchemaType::Map, Value::Map(_))
                | (SchemaType::Struct, Value::Struct(_))
        );
        if !fits {
            return Err(Error::Data(format!("Invalid type for {}: {}", s.schema_type.name().to_uppercase(), v.type_name())));
        }
    }
    if let (Some(s), Value::Bytes(b), DecimalFormat::Numeric) = (schema, v, decimals) {
        if decimal::is_decimal(s) {
            return Ok(Out::Number(BigDecimal::from_unscaled_bytes(b, decimal::scale(s)?)?.to_plain_string()));
        }
    }
    let float = |f: f64| Number::from_f64(f).map(|n| Out::Scalar(Json::Number(n))).ok_or_else(|| Error::Data(format!("cannot write {f} as JSON")));
    Ok(match v {
        Value::Null => Out::Scalar(Json::Null),
        Value::Boolean(b) => Out::Scalar(Json::Bool(*b)),
        Value::Int8(n) => Out::Scalar(Json::from(*n)),
        Value::Int16(n) => Out::Scalar(Json::from(*n)),
        Value::Int32(n) => Out::Scalar(Json::from(*n)),
        Value::Int64(n) => Out::Scalar(Json::from(*n)),
        Value::Float32(f) => float(f64::from(*f))?,
        Value::Float64(f) => float(*f)?,
        Value::String(s) => Out::Scalar(Json::String(s.clone())),
        Value::Bytes(b) => Out::Scalar(Json::String(base64::engine::general_purpose::STANDARD.encode(b))),
        Value::Array(items) => {
            let item_schema = schema.and_then(|s| s.value_schema.as_deref());
            Out::Arr(items.iter().map(|i| to_json(item_schema, i, decimals)).collect::<Result<_>>()?)
        }
        Value::Map(entries) => {
            let ks = schema.and_then(|s| s.key_schema.as_deref());
            let vs = schema.and_then(|s| s.value_schema.as_deref());
            let object_mode = match ks {
                Some(k) => k.schema_type == SchemaType::String,
                None => entries.iter().all(|(k, _)| matches!(k, Value::String(_))),
            };
            if object_mode {
                let mut m = Vec::new();
                for (k, v) in entries {
                    let Value::String(k) = k else { return Err(mismatch(ks.unwrap_or(&Schema::string()), &k.type_name())) };
                    m.push((k.clone(), to_json(vs, v, decimals)?));
                }
                Out::Obj(m)
            } else {
                Out::Arr(entries.iter().map(|(k, v)| Ok(Out::Arr(vec![to_json(ks, k, decimals)?, to_json(vs, v, decimals)?]))).collect::<Result<_>>()?)
            }
        }
        Value::Struct(st) => {
            if let Some(s) = schema {
                if s.fields != st.schema.fields {
                    return Err(Error::Data("Mismatching schema.".into()));
                }
            }
            let mut m = Vec::new();
            for (f, v) in st.schema.fields.iter().zip(&st.values) {
                m.push((f.name.clone(), to_json(Some(&f.schema), v, decimals)?));
            }
            Out::Obj(m)
        }
    })
}

/// A JSON payload read against `schema`.
fn from_json(s: &Schema, j: &Json) -> Result<Value> {
    if j.is_null() {
        if s.optional {
            return Ok(Value::Null);
        }
        return Err(Error::Data(format!("Invalid null value for required {} field", s.schema_type.name().to_uppercase())));
    }
    let int = |lo: i64, hi: i64| j.as_i64().filter(|n| (lo..=hi).contains(n)).ok_or_else(|| mismatch(s, j));
    Ok(match s.schema_type {
        SchemaType::Int8 => Value::Int8(int(i8::MIN.into(), i8::MAX.into())? as i8),
        SchemaType::Int16 => Value::Int16(int(i16::MIN.into(), i16::MAX.into())? as i16),
        SchemaType::Int32 => Value::Int32(int(i32::MIN.into(), i32::MAX.into())? as i32),
        SchemaType::Int64 => Value::Int64(j.as_i64().ok_or_else(|| mismatch(s, j))?),
        SchemaType::Float32 => Value::Float32(j.as_f64().ok_or_else(|| mismatch(s, j))? as f32),
        SchemaType::Float64 => Value::Float64(j.as_f64().ok_or_else(|| mismatch(s, j))?),
        SchemaType::Boolean => Value::Boolean(j.as_bool().ok_or_else(|| mismatch(s, j))?),
        SchemaType::String => Value::String(j.as_str().ok_or_else(|| mismatch(s, j))?.to_owned()),
        SchemaType::Bytes if decimal::is_decimal(s) => Value::Bytes(decimal_from_json(s, j)?),
        SchemaType::Bytes => {
            let text = j.as_str().ok_or_else(|| mismatch(s, j))?;
            Value::Bytes(base64::engine::general_purpose::STANDARD.decode(text).map_err(|e| Error::Data(format!("Invalid bytes field: {e}")))?)
        }
        SchemaType::Array => {
            let items = s.value_schema.as_deref().ok_or_else(|| mismatch(s, j))?;
            Value::Array(j.as_array().ok_or_else(|| mismatch(s, j))?.iter().map(|i| from_json(items, i)).collect::<Result<_>>()?)
        }
        SchemaType::Map => {
            let (ks, vs) = match (s.key_schema.as_deref(), s.value_schema.as_deref()) {
                (Some(k), Some(v)) => (k, v),
                _ => return Err(mismatch(s, j)),
            };
            match j {
                Json::Object(o) if ks.schema_type == SchemaType::String => {
                    Value::Map(o.iter().map(|(k, v)| Ok((Value::String(k.clone()), from_json(vs, v)?))).collect::<Result<_>>()?)
                }
                Json::Array(pairs) => Value::Map(
                    pairs
                        .iter()
                        .map(|p| match p.as_array().map(Vec::as_slice) {
                            Some([k, v]) => Ok((from_json(ks, k)?, from_json(vs, v)?)),
                            _ => Err(Error::Data("Found invalid map entry instead of array tuple".into())),
                        })
                        .collect::<Result<_>>()?,
                ),
                _ => return Err(mismatch(s, j)),
            }
        }
        SchemaType::Struct => {
            let o = j.as_object().ok_or_else(|| Error::Data(format!("Structs should be encoded as JSON objects: {j}")))?;
            let values = s.fields.iter().map(|f| from_json(&f.schema, o.get(&f.name).unwrap_or(&Json::Null))).collect::<Result<_>>()?;
            Value::Struct(Struct { schema: s.clone(), values })
        }
    })
}

/// Whether `s` has a Decimal anywhere.
pub(crate) fn has_decimal(s: &Schema) -> bool {
    decimal::is_decimal(s)
        || s.fields.iter().any(|f| has_decimal(&f.schema))
        || s.key_schema.as_deref().is_some_and(has_decimal)
        || s.value_schema.as_deref().is_some_and(has_decimal)
}

/// Replaces the Decimal numbers of `j` (read against `s`) by the base64 of their exact unscaled
/// bytes, taken from the number's text in `raw`, the same JSON unparsed: `serde_json` reads
/// numbers through a float64, which keeps 15 to 17 significant digits. Maps may be objects,
/// arrays of `[key, value]` (`JsonConverter`) or of `{"key","value"}` objects
/// (`JsonSchemaConverter`). A number that does not fit the scale is left for the reader to
/// refuse.
pub(crate) fn exact_decimals(s: &Schema, j: &mut Json, raw: &RawValue) {
    let items = || serde_json::from_str::<Vec<Box<RawValue>>>(raw.get()).unwrap_or_default();
    let fields = || serde_json::from_str::<BTreeMap<String, Box<RawValue>>>(raw.get()).unwrap_or_default();
    match (s.schema_type, j) {
        (SchemaType::Bytes, j @ Json::Number(_)) if decimal::is_decimal(s) => {
            let exact = decimal::scale(s).and_then(|scale| BigDecimal::parse(raw.get())?.rescale(scale));
            if let Ok(d) = exact {
                *j = Json::String(base64::engine::general_purpose::STANDARD.encode(d.to_unscaled_bytes()));
            }
        }
        (SchemaType::Struct, Json::Object(o)) => {
            let raw_fields = fields();
            for f in s.fields.iter().filter(|f| has_decimal(&f.schema)) {
                if let (Some(v), Some(r)) = (o.get_mut(&f.name), raw_fields.get(&f.name)) {
                    exact_decimals(&f.schema, v, r);
                }
            }
        }
        (SchemaType::Array, Json::Array(a)) => {
            if let Some(is) = s.value_schema.as_deref().filter(|i| has_decimal(i)) {
                for (v, r) in a.iter_mut().zip(items()) {
                    exact_decimals(is, v, &r);
                }
            }
        }
        (SchemaType::Map, Json::Object(o)) => {
            if let Some(vs) = s.value_schema.as_deref().filter(|v| has_decimal(v)) {
                let raw_fields = fields();
                for (k, v) in o.iter_mut() {
                    if let Some(r) = raw_fields.get(k) {
                        exact_decimals(vs, v, r);
                    }
                }
            }
        }
        (SchemaType::Map, Json::Array(entries)) => {
            let (Some(ks), Some(vs)) = (s.key_schema.as_deref(), s.value_schema.as_deref()) else { return };
            for (e, r) in entries.iter_mut().zip(items()) {
                match e {
                    Json::Array(pair) if pair.len() == 2 => {
                        let raw_pair = serde_json::from_str::<Vec<Box<RawValue>>>(r.get()).unwrap_or_default();
                        if let [rk, rv] = raw_pair.as_slice() {
                            exact_decimals(ks, &mut pair[0], rk);
                            exact_decimals(vs, &mut pair[1], rv);
                        }
                    }
                    Json::Object(o) => {
                        let raw_entry = serde_json::from_str::<BTreeMap<String, Box<RawValue>>>(r.get()).unwrap_or_default();
                        for (name, schema) in [("key", ks), ("value", vs)] {
                            if let (Some(v), Some(r)) = (o.get_mut(name), raw_entry.get(name)) {
                                exact_decimals(schema, v, r);
                            }
                        }
                    }
                    _ => {}
                }
            }
        }
        _ => {}
    }
}

/// A Decimal's unscaled bytes from JSON: a number (its digits, rescaled exactly to the schema's
/// scale; see [`exact_decimals`] for numbers beyond a float64's digits) or base64 text, as
/// Kafka reads either whatever `decimal.format` says.
pub(crate) fn decimal_from_json(s: &Schema, j: &Json) -> Result<Vec<u8>> {
    match j {
        Json::Number(n) => Ok(BigDecimal::parse(&n.to_string())?.rescale(decimal::scale(s)?)?.to_unscaled_bytes()),
        Json::String(text) => {
            base64::engine::general_purpose::STANDARD.decode(text).map_err(|e| Error::Data(format!("Invalid bytes for Decimal field: {e}")))
        }
        other => Err(Error::Data(format!("Invalid type for Decimal, underlying representation should be numeric or bytes but was {other}"))),
    }
}

/// A JSON value without a schema: integers as int64, other numbers as float64, objects as
/// maps with string keys.
fn schemaless(j: &Json) -> Value {
    match j {
        Json::Null => Value::Null,
        Json::Bool(b) => Value::Boolean(*b),
        Json::Number(n) => match n.as_i64() {
            Some(i) => Value::Int64(i),
            None => Value::Float64(n.as_f64().unwrap_or(f64::NAN)),
        },
        Json::String(s) => Value::String(s.clone()),
        Json::Array(items) => Value::Array(items.iter().map(schemaless).collect()),
        Json::Object(o) => Value::Map(o.iter().map(|(k, v)| (Value::String(k.clone()), schemaless(v))).collect()),
    }
}
