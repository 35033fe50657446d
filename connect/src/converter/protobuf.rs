//! `io.confluent.connect.protobuf.ProtobufConverter`: Connect structs as Confluent-framed
//! Protobuf (magic byte, schema id, message indexes, message) through a Schema Registry, with
//! Confluent's `ProtobufData` mapping (its defaults: no wrappers for nullables, names not
//! scrubbed):
//!
//! | Connect | Protobuf (proto3) |
//! |---|---|
//! | struct (the root must be one) | a message named after the schema's last name part (`ConnectDefault1` without a name), its package the rest; fields numbered from 1 in order (or by the `io.confluent.connect.protobuf.Tag` parameter) |
//! | int8 / int16 | `int32` with `(confluent.field_meta).params` `connect.type` |
//! | int32, int64, float32, float64, boolean, string, bytes | `int32`, `int64`, `float`, `double`, `bool`, `string`, `bytes` |
//! | Decimal | `confluent.type.Decimal` with `precision` / `scale` params |
//! | Date / Time / Timestamp | `google.type.Date` / `google.type.TimeOfDay` / `google.protobuf.Timestamp` |
//! | array | `repeated` (arrays of arrays are refused, as Confluent's) |
//! | map | `repeated <Name>Entry` of a nested `key = 1`, `value = 2` message |
//! | nested struct | a nested message (`ConnectDefault<n>` without a name, `...Message` when it equals its field's name) |
//! | enum string (`io.confluent.connect.protobuf.Enum` parameters) | an enum |
//! | `io.confluent.connect.protobuf.Union.<name>` struct | a `oneof` |
//!
//! Nulls are absent fields. Reading takes the writer's schema by id and the message the indexes
//! name and maps it back as Confluent does: every field optional with its `Tag` parameter,
//! `uint32`, `fixed32` and the 64-bit kinds int64, enums strings with their symbols as
//! parameters, a `oneof` a `<name>_<index>` union struct first, unset message fields null and
//! unset scalars their default (proto3 has no null), the struct named after the message
//! (without its package). Keys as the other Schema Registry converters'.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt::Write as _;
use std::sync::Arc;

use brook_schema::prost_reflect::{DynamicMessage, FieldDescriptor, Kind, MapKey, MessageDescriptor, ReflectMessage, Value as Proto};
use brook_schema::protobuf::{message_indexes, ParsedProto};
use brook_schema::{wire, SchemaRegistryClient, SchemaType as RegistryType};
use parking_lot::Mutex;

use super::api::Converter;
use super::schema_registry::{registry_error, RegistrySide};
use crate::data::{logical, Field, Schema, SchemaAndValue, SchemaType, Struct, Value};
use crate::decimal::{self, BigDecimal};
use crate::error::{Error, Result};

const DEFAULT_NAME: &str = "ConnectDefault";
/// The parameter holding a field's number.
pub const TAG: &str = "io.confluent.connect.protobuf.Tag";
/// The parameter naming a string schema's enum (its symbols follow as `<this>.<SYMBOL>`).
pub const ENUM: &str = "io.confluent.connect.protobuf.Enum";
/// The name prefix of a struct that is a `oneof`.
pub const UNION: &str = "io.confluent.connect.protobuf.Union";
const CONNECT_TYPE: &str = "connect.type";
const DECIMAL: &str = "confluent.type.Decimal";
const DATE: &str = "google.type.Date";
const TIME: &str = "google.type.TimeOfDay";
const TIMESTAMP: &str = "google.protobuf.Timestamp";

fn proto_error(e: brook_schema::Error) -> Error {
    Error::Data(e.to_string())
}

/// A compiled writer schema and its root message.
#[derive(Debug, Clone)]
struct Writer {
    id: i32,
    root: MessageDescriptor,
}

/// `io.confluent.connect.protobuf.ProtobufConverter`.
#[derive(Debug, Default)]
pub struct ProtobufConverter {
    registry: RegistrySide,
    /// By subject and `.proto` text.
    writers: Mutex<HashMap<(String, String), Writer>>,
    /// Compiled schemas read, by id.
    readers: Mutex<HashMap<i32, Arc<ParsedProto>>>,
}

impl ProtobufConverter {
    /// A converter over `client` (tests; `configure` makes an HTTP client from
    /// `schema.registry.url` otherwise).
    pub fn with_client(client: Arc<dyn SchemaRegistryClient>, is_key: bool) -> ProtobufConverter {
        ProtobufConverter { registry: RegistrySide::with_client(client, is_key), ..ProtobufConverter::default() }
    }

    fn reader(&self, id: i32) -> Result<Arc<ParsedProto>> {
        if let Some(hit) = self.readers.lock().get(&id) {
            return Ok(hit.clone());
        }
        let resolved = self.registry.fetch(id)?;
        if resolved.schema.schema_type != RegistryType::Protobuf {
            return Err(Error::Data(format!("schema {id} is a {} schema, not PROTOBUF", resolved.schema.schema_type)));
        }
        let references: Vec<(String, String)> = resolved.references.iter().map(|(n, s)| (n.clone(), s.schema.clone())).collect();
        let parsed = Arc::new(ParsedProto::compile(&resolved.schema.schema, &references).map_err(registry_error)?);
        self.readers.lock().insert(id, parsed.clone());
        Ok(parsed)
    }
}

impl Converter for ProtobufConverter {
    fn configure(&mut self, config: &BTreeMap<String, String>, is_key: bool) -> Result<()> {
        self.registry.configure(config, is_key)
    }

    fn from_connect_data(&self, topic: &str, data: &SchemaAndValue) -> Result<Option<Vec<u8>>> {
        if data.value == Value::Null {
            return Ok(None);
        }
        let schema = data.schema.as_ref().ok_or_else(|| Error::Data("ProtobufConverter needs a schema: the record has none (schemaless data)".into()))?;
        let (text, full_name) = proto_schema(schema)?;
        let subject = self.registry.subject(topic, Some(&full_name))?;
        let key = (subject, text);
        let cached = self.writers.lock().get(&key).cloned();
        let writer = match cached {
            Some(w) => w,
            None => {
                let parsed = ParsedProto::compile(&key.1, &[]).map_err(|e| Error::Data(format!("Connect schema as Protobuf: {e}")))?;
                let root = parsed.message(&full_name).map_err(proto_error)?;
                let id = self.registry.writer_id(&key.0, &brook_schema::Schema::protobuf(key.1.clone()))?;
                let w = Writer { id, root };
                self.writers.lock().insert(key, w.clone());
                w
            }
        };
        let Value::Struct(st) = &data.value else { return Err(Error::Data(format!("Invalid type for STRUCT: {}", data.value))) };
        let message = message_of(&writer.root, schema, st)?;
        let payload = brook_schema::prost::Message::encode_to_vec(&message);
        let mut out = wire::header(writer.id, payload.len() + 1);
        wire::put_message_indexes(&mut out, &message_indexes(&writer.root));
        out.extend_from_slice(&payload);
        Ok(Some(out))
    }

    fn to_connect_data(&self, topic: &str, bytes: Option<&[u8]>) -> Result<SchemaAndValue> {
        let Some(bytes) = bytes else { return Ok(SchemaAndValue::null()) };
        let fail = |e: brook_schema::Error| Error::Data(format!("Failed to deserialize data for topic {topic} to Protobuf: {e}"));
        let (id, rest) = wire::split(bytes).map_err(fail)?;
        let (indexes, payload) = wire::take_message_indexes(rest).map_err(fail)?;
        let parsed = self.reader(id)?;
        let descriptor = parsed.message_at(&indexes).map_err(fail)?;
        let message = DynamicMessage::decode(descriptor.clone(), payload)
            .map_err(|e| Error::Data(format!("Failed to deserialize data for topic {topic} to Protobuf: {e}")))?;
        let schema = connect_schema(&descriptor)?;
        Ok(SchemaAndValue { value: connect_struct(&schema, &message)?, schema: Some(schema) })
    }
}

// ---- Connect schema -> .proto ---------------------------------------------------------------

fn split_name(full: &str) -> (Option<&str>, &str) {
    full.rsplit_once('.').map_or((None, full), |(ns, n)| (Some(ns), n))
}

/// `ConnectDefault2` -> `ConnectDefault2Entry`; `my_map` -> `MyMapEntry` (Confluent's
/// `ProtobufSchema.toMapEntry`).
fn map_entry_name(name: &str) -> String {
    if !name.contains('_') {
        return format!("{name}Entry");
    }
    let camel: String = name
        .split('_')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let mut c = p.chars();
            c.next().map(|f| f.to_uppercase().chain(c.flat_map(char::to_lowercase)).collect::<String>()).unwrap_or_default()
        })
        .collect();
    format!("{camel}Entry")
}

/// `ConnectDefault2Entry` -> `connect_default2` (Confluent's `ProtobufSchema.toMapField`).
fn map_field_name(entry: &str) -> String {
    let Some(base) = entry.strip_suffix("Entry") else { return entry.to_owned() };
    let mut out = String::new();
    for (i, c) in base.chars().enumerate() {
        if c.is_uppercase() && i > 0 {
            out.push('_');
        }
        out.extend(c.to_lowercase());
    }
    out
}

/// Confluent's `ProtobufData.fromConnectSchema`: the `.proto` text of a struct schema and the
/// full name of its root message.
///
/// # Errors
/// [`Error::Data`] for a root that is not a struct, and nested arrays.
pub fn proto_schema(schema: &Schema) -> Result<(String, String)> {
    if schema.schema_type != SchemaType::Struct {
        return Err(Error::Data(format!("Unsupported root schema of type {}: ProtobufConverter writes structs", schema.schema_type.name().to_uppercase())));
    }
    let full = schema.name.clone().filter(|n| !n.is_empty()).unwrap_or_else(|| format!("{DEFAULT_NAME}1"));
    let (package, name) = split_name(&full);
    let mut g = Generator { next: 2, imports: BTreeSet::new(), defined: BTreeSet::from([full.clone()]) };
    let body = g.message(name, schema, 0)?;
    let mut out = String::from("syntax = \"proto3\";\n");
    if let Some(p) = package {
        let _ = writeln!(out, "package {p};");
    }
    for import in &g.imports {
        let _ = writeln!(out, "import \"{import}\";");
    }
    out.push('\n');
    out.push_str(&body);
    Ok((out, full))
}

struct Generator {
    next: usize,
    imports: BTreeSet<&'static str>,
    /// Struct names already given a message.
    defined: BTreeSet<String>,
}

impl Generator {
    /// The unqualified name of a schema named `name`, or the next `ConnectDefault<n>`.
    fn name_or_default(&mut self, name: Option<&str>) -> String {
        match name.filter(|n| !n.is_empty()) {
            Some(n) => split_name(n).1.to_owned(),
            None => {
                let n = format!("{DEFAULT_NAME}{}", self.next);
                self.next += 1;
                n
            }
        }
    }

    fn message(&mut self, name: &str, s: &Schema, depth: usize) -> Result<String> {
        let pad = "  ".repeat(depth);
        let mut fields = String::new();
        let mut nested = Vec::new();
        let mut number = 1;
        for f in &s.fields {
            if f.schema.schema_type == SchemaType::Struct && f.schema.name.as_deref().is_some_and(|n| n.starts_with(&format!("{UNION}."))) {
                let union = split_name(f.schema.name.as_deref().unwrap_or_default()).1.to_owned();
                let _ = writeln!(fields, "{pad}  oneof {union} {{");
                for b in &f.schema.fields {
                    let tag = tag(&b.schema).unwrap_or(0);
                    let (ty, options) = self.field_type(&b.name, &b.schema, depth + 1, &mut nested)?;
                    let _ = writeln!(fields, "{pad}    {ty} {} = {tag}{options};", b.name);
                }
                let _ = writeln!(fields, "{pad}  }}");
                continue;
            }
            let tag = match tag(&f.schema) {
                Some(t) => t,
                None => {
                    let t = number;
                    number += 1;
                    t
                }
            };
            let (label, ty) = match f.schema.schema_type {
                SchemaType::Array => {
                    let items = f.schema.value_schema.as_deref().ok_or_else(|| Error::Data(format!("array field {} has no item schema", f.name)))?;
                    if items.schema_type == SchemaType::Array {
                        return Err(Error::Data("Array cannot be nested".into()));
                    }
                    ("repeated ", items)
                }
                SchemaType::Map => ("repeated ", &f.schema),
                _ => ("", &f.schema),
            };
            let (type_name, options) = self.field_type(&f.name, ty, depth + 1, &mut nested)?;
            let _ = writeln!(fields, "{pad}  {label}{type_name} {} = {tag}{options};", f.name);
        }
        let mut out = format!("{pad}message {name} {{\n{fields}");
        for n in nested {
            out.push('\n');
            out.push_str(&n);
        }
        let _ = writeln!(out, "{pad}}}");
        Ok(out)
    }

    fn meta(params: &[(&str, String)]) -> String {
        let entries: Vec<String> = params.iter().map(|(k, v)| format!("{{ key: \"{k}\", value: \"{v}\" }}")).collect();
        format!(" [(confluent.field_meta) = {{ params: [{}] }}]", entries.join(", "))
    }

    /// A field's type name and options; nested definitions go to `nested`.
    fn field_type(&mut self, field: &str, s: &Schema, depth: usize, nested: &mut Vec<String>) -> Result<(String, String)> {
        let plain = |t: &str| Ok((t.to_owned(), String::new()));
        if decimal::is_decimal(s) {
            self.imports.insert("confluent/meta.proto");
            self.imports.insert("confluent/type/decimal.proto");
            let mut params = Vec::new();
            if let Some(p) = decimal::precision(s) {
                params.push(("precision", p.to_string()));
            }
            params.push(("scale", decimal::scale(s)?.to_string()));
            return Ok((DECIMAL.to_owned(), Self::meta(&params)));
        }
        match s.name.as_deref() {
            Some(logical::DATE) => {
                self.imports.insert("google/type/date.proto");
                return plain(DATE);
            }
            Some(logical::TIME) => {
                self.imports.insert("google/type/timeofday.proto");
                return plain(TIME);
            }
            Some(logical::TIMESTAMP) => {
                self.imports.insert("google/protobuf/timestamp.proto");
                return plain(TIMESTAMP);
            }
            _ => {}
        }
        match s.schema_type {
            SchemaType::Int8 | SchemaType::Int16 => {
                self.imports.insert("confluent/meta.proto");
                Ok(("int32".into(), Self::meta(&[(CONNECT_TYPE, s.schema_type.name().to_owned())])))
            }
            SchemaType::Int32 => plain("int32"),
            SchemaType::Int64 => plain("int64"),
            SchemaType::Float32 => plain("float"),
            SchemaType::Float64 => plain("double"),
            SchemaType::Boolean => plain("bool"),
            SchemaType::String if s.parameters.contains_key(ENUM) => {
                let name = s.parameters.get(ENUM).cloned().filter(|n| !n.is_empty()).unwrap_or_else(|| self.name_or_default(s.name.as_deref()));
                let pad = "  ".repeat(depth);
                let prefix = format!("{ENUM}.");
                let mut symbols: Vec<(i32, &str)> =
                    s.parameters.iter().filter_map(|(k, v)| Some((v.parse().ok()?, k.strip_prefix(&prefix)?))).collect();
                symbols.sort();
                let mut e = format!("{pad}enum {name} {{\n");
                for (n, sym) in symbols {
                    let _ = writeln!(e, "{pad}  {sym} = {n};");
                }
                let _ = writeln!(e, "{pad}}}");
                nested.push(e);
                Ok((name, String::new()))
            }
            SchemaType::String => plain("string"),
            SchemaType::Bytes => plain("bytes"),
            SchemaType::Array => Err(Error::Data("Array cannot be nested".into())),
            SchemaType::Map => {
                let name = map_entry_name(&self.name_or_default(s.name.as_deref()));
                let entry = Schema::structure([
                    ("key", s.key_schema.as_deref().cloned().ok_or_else(|| Error::Data("map schema without keys".into()))?),
                    ("value", s.value_schema.as_deref().cloned().ok_or_else(|| Error::Data("map schema without values".into()))?),
                ]);
                nested.push(self.message(&name, &entry, depth)?);
                plain(&name)
            }
            SchemaType::Struct => {
                let mut name = self.name_or_default(s.name.as_deref());
                if name == field {
                    name.push_str("Message");
                }
                let key = s.name.clone().unwrap_or_else(|| name.clone());
                if self.defined.insert(key) {
                    nested.push(self.message(&name, s, depth)?);
                }
                plain(&name)
            }
        }
    }
}

fn tag(s: &Schema) -> Option<u32> {
    s.parameters.get(TAG).and_then(|t| t.parse().ok())
}

// ---- Connect value -> message ---------------------------------------------------------------

fn message_of(descriptor: &MessageDescriptor, s: &Schema, st: &Struct) -> Result<DynamicMessage> {
    if st.schema.fields != s.fields {
        return Err(Error::Data("Mismatching struct schema".into()));
    }
    let mut m = DynamicMessage::new(descriptor.clone());
    for (f, v) in s.fields.iter().zip(&st.values) {
        if *v == Value::Null {
            if !f.schema.optional {
                return Err(Error::Data(format!("Conversion error: null value for field {} that is required and has no default value", f.name)));
            }
            continue;
        }
        if f.schema.name.as_deref().is_some_and(|n| n.starts_with(&format!("{UNION}."))) {
            let Value::Struct(u) = v else { return Err(Error::Data(format!("Invalid type for union {}: {v}", f.name))) };
            let (b, bv) = f.schema.fields.iter().zip(&u.values).find(|(_, bv)| **bv != Value::Null).ok_or_else(|| Error::Data("Cannot find non-null field".into()))?;
            let fd = descriptor.get_field_by_name(&b.name).ok_or_else(|| Error::Data(format!("Cannot find field with name {}", b.name)))?;
            m.set_field(&fd, field_value(&fd, &b.schema, bv)?);
            continue;
        }
        let fd = descriptor.get_field_by_name(&f.name).ok_or_else(|| Error::Data(format!("Cannot find field with name {}", f.name)))?;
        m.set_field(&fd, field_value(&fd, &f.schema, v)?);
    }
    Ok(m)
}

fn field_value(fd: &FieldDescriptor, s: &Schema, v: &Value) -> Result<Proto> {
    match (s.schema_type, v) {
        (SchemaType::Array, Value::Array(items)) => {
            let is = s.value_schema.as_deref().ok_or_else(|| Error::Data("array without item schema".into()))?;
            Ok(Proto::List(items.iter().map(|i| single(&fd.kind(), is, i)).collect::<Result<_>>()?))
        }
        (SchemaType::Map, Value::Map(entries)) => {
            let (ks, vs) = (s.key_schema.as_deref(), s.value_schema.as_deref());
            let (Some(ks), Some(vs), Kind::Message(entry)) = (ks, vs, fd.kind()) else { return Err(Error::Data("map without key or value schema".into())) };
            let (kf, vf) = (entry.get_field_by_name("key"), entry.get_field_by_name("value"));
            let (Some(kf), Some(vf)) = (kf, vf) else { return Err(Error::Data(format!("{} is not a map entry", entry.full_name()))) };
            if fd.is_map() {
                let mut out = HashMap::new();
                for (k, v) in entries {
                    let key = match single(&kf.kind(), ks, k)? {
                        Proto::Bool(b) => MapKey::Bool(b),
                        Proto::I32(n) => MapKey::I32(n),
                        Proto::I64(n) => MapKey::I64(n),
                        Proto::U32(n) => MapKey::U32(n),
                        Proto::U64(n) => MapKey::U64(n),
                        Proto::String(t) => MapKey::String(t),
                        other => return Err(Error::Data(format!("{other:?} cannot be a Protobuf map key"))),
                    };
                    if *v != Value::Null {
                        out.insert(key, single(&vf.kind(), vs, v)?);
                    }
                }
                return Ok(Proto::Map(out));
            }
            let mut list = Vec::with_capacity(entries.len());
            for (k, v) in entries {
                let mut e = DynamicMessage::new(entry.clone());
                if *k != Value::Null {
                    e.set_field(&kf, single(&kf.kind(), ks, k)?);
                }
                if *v != Value::Null {
                    e.set_field(&vf, single(&vf.kind(), vs, v)?);
                }
                list.push(Proto::Message(e));
            }
            Ok(Proto::List(list))
        }
        _ => single(&fd.kind(), s, v),
    }
}

fn message_named<'a>(kind: &'a Kind, name: &str) -> Result<&'a MessageDescriptor> {
    match kind {
        Kind::Message(m) if m.full_name() == name => Ok(m),
        other => Err(Error::Data(format!("expected a {name} field, found {other:?}"))),
    }
}

/// One non-repeated value.
fn single(kind: &Kind, s: &Schema, v: &Value) -> Result<Proto> {
    let bad = || Error::Data(format!("Invalid type for {}: {v}", s.schema_type.name().to_uppercase()));
    if decimal::is_decimal(s) {
        let Value::Bytes(b) = v else { return Err(bad()) };
        let d = BigDecimal::from_unscaled_bytes(b, decimal::scale(s)?)?;
        let mut m = DynamicMessage::new(message_named(kind, DECIMAL)?.clone());
        m.set_field_by_name("value", Proto::Bytes(d.to_unscaled_bytes().into()));
        m.set_field_by_name("precision", Proto::U32(u32::try_from(d.precision()).unwrap_or(u32::MAX)));
        m.set_field_by_name("scale", Proto::I32(d.scale()));
        return Ok(Proto::Message(m));
    }
    match (s.name.as_deref(), v) {
        (Some(logical::DATE), Value::Int32(days)) => {
            let date = chrono::NaiveDate::from_ymd_opt(1970, 1, 1).and_then(|e| e.checked_add_signed(chrono::Duration::days(i64::from(*days)))).ok_or_else(bad)?;
            let mut m = DynamicMessage::new(message_named(kind, DATE)?.clone());
            use chrono::Datelike as _;
            m.set_field_by_name("year", Proto::I32(date.year()));
            m.set_field_by_name("month", Proto::I32(date.month() as i32));
            m.set_field_by_name("day", Proto::I32(date.day() as i32));
            return Ok(Proto::Message(m));
        }
        (Some(logical::TIME), Value::Int32(ms)) => {
            if !(0..86_400_000).contains(ms) {
                return Err(Error::Data("Time values must use number of millis greater than 0 and less than 86400000".into()));
            }
            let mut m = DynamicMessage::new(message_named(kind, TIME)?.clone());
            m.set_field_by_name("hours", Proto::I32(ms / 3_600_000));
            m.set_field_by_name("minutes", Proto::I32(ms / 60_000 % 60));
            m.set_field_by_name("seconds", Proto::I32(ms / 1000 % 60));
            m.set_field_by_name("nanos", Proto::I32(ms % 1000 * 1_000_000));
            return Ok(Proto::Message(m));
        }
        (Some(logical::TIMESTAMP), Value::Int64(ms)) => {
            let mut m = DynamicMessage::new(message_named(kind, TIMESTAMP)?.clone());
            m.set_field_by_name("seconds", Proto::I64(ms.div_euclid(1000)));
            m.set_field_by_name("nanos", Proto::I32((ms.rem_euclid(1000) * 1_000_000) as i32));
            return Ok(Proto::Message(m));
        }
        _ => {}
    }
    let int = |n: i64| -> Result<Proto> {
        Ok(match kind {
            Kind::Int32 | Kind::Sint32 | Kind::Sfixed32 => Proto::I32(i32::try_from(n).map_err(|_| bad())?),
            Kind::Uint32 | Kind::Fixed32 => Proto::U32(u32::try_from(n).map_err(|_| bad())?),
            Kind::Uint64 | Kind::Fixed64 => Proto::U64(n as u64),
            _ => Proto::I64(n),
        })
    };
    Ok(match v {
        Value::Int8(n) => int(i64::from(*n))?,
        Value::Int16(n) => int(i64::from(*n))?,
        Value::Int32(n) => int(i64::from(*n))?,
        Value::Int64(n) => int(*n)?,
        Value::Float32(f) => Proto::F32(*f),
        Value::Float64(f) => Proto::F64(*f),
        Value::Boolean(b) => Proto::Bool(*b),
        Value::String(t) => match kind {
            Kind::Enum(e) => Proto::EnumNumber(e.get_value_by_name(t).map(|v| v.number()).ok_or_else(|| Error::Data(format!("{t} is not a symbol of enum {}", e.full_name())))?),
            _ => Proto::String(t.clone()),
        },
        Value::Bytes(b) => Proto::Bytes(b.clone().into()),
        Value::Struct(st) => match kind {
            Kind::Message(m) => Proto::Message(message_of(m, s, st)?),
            _ => return Err(bad()),
        },
        Value::Null | Value::Array(_) | Value::Map(_) => return Err(bad()),
    })
}

// ---- message descriptor -> Connect schema ---------------------------------------------------

/// Confluent's `ProtobufData.toConnectSchema` of a message.
///
/// # Errors
/// [`Error::Data`] for recursive messages.
pub fn connect_schema(m: &MessageDescriptor) -> Result<Schema> {
    struct_schema(m, &mut Vec::new())
}

fn struct_schema(m: &MessageDescriptor, stack: &mut Vec<String>) -> Result<Schema> {
    if stack.iter().any(|n| n == m.full_name()) {
        return Err(Error::Data(format!("Protobuf message {} is recursive, which a Connect schema cannot be", m.full_name())));
    }
    stack.push(m.full_name().to_owned());
    let mut s = Schema::of(SchemaType::Struct).named(m.name());
    for oneof in m.oneofs().filter(|o| !o.is_synthetic()) {
        let mut u = Schema::of(SchemaType::Struct).named(format!("{UNION}.{}", oneof.name())).optional();
        for f in oneof.fields() {
            u.fields.push(Field { name: f.name().to_owned(), schema: field_schema(&f, stack)? });
        }
        let index = oneof.path().last().copied().unwrap_or_default();
        s.fields.push(Field { name: format!("{}_{index}", oneof.name()), schema: u });
    }
    for f in m.fields() {
        if f.containing_oneof().is_some_and(|o| !o.is_synthetic()) {
            continue;
        }
        s.fields.push(Field { name: f.name().to_owned(), schema: field_schema(&f, stack)? });
    }
    stack.pop();
    Ok(s)
}

/// The `(confluent.field_meta).params` of a field.
fn meta_params(f: &FieldDescriptor) -> BTreeMap<String, String> {
    let Some(ext) = f.parent_pool().get_extension_by_name("confluent.field_meta") else { return BTreeMap::new() };
    let options = f.options();
    if !options.has_extension(&ext) {
        return BTreeMap::new();
    }
    let meta = options.get_extension(&ext);
    let Proto::Message(meta) = meta.as_ref() else { return BTreeMap::new() };
    let Some(params) = meta.get_field_by_name("params") else { return BTreeMap::new() };
    let Proto::Map(params) = params.as_ref() else { return BTreeMap::new() };
    params
        .iter()
        .filter_map(|(k, v)| match (k, v) {
            (MapKey::String(k), Proto::String(v)) => Some((k.clone(), v.clone())),
            _ => None,
        })
        .collect()
}

/// Whether a message is a map entry (a real `map<>` one, or Connect's `<Name>Entry` of `key`
/// and `value`).
fn is_map_entry(m: &MessageDescriptor) -> bool {
    if m.is_map_entry() {
        return true;
    }
    let fields: Vec<FieldDescriptor> = m.fields().collect();
    m.name().ends_with("Entry") && fields.len() == 2 && fields[0].name() == "key" && fields[1].name() == "value"
}

fn field_schema(f: &FieldDescriptor, stack: &mut Vec<String>) -> Result<Schema> {
    let mut s = match f.kind() {
        Kind::Int32 | Kind::Sint32 | Kind::Sfixed32 => match meta_params(f).get(CONNECT_TYPE).map(String::as_str) {
            Some("int8") => Schema::of(SchemaType::Int8),
            Some("int16") => Schema::of(SchemaType::Int16),
            _ => Schema::of(SchemaType::Int32),
        },
        Kind::Uint32 | Kind::Fixed32 | Kind::Int64 | Kind::Uint64 | Kind::Sint64 | Kind::Fixed64 | Kind::Sfixed64 => Schema::of(SchemaType::Int64),
        Kind::Float => Schema::of(SchemaType::Float32),
        Kind::Double => Schema::of(SchemaType::Float64),
        Kind::Bool => Schema::of(SchemaType::Boolean),
        Kind::String => Schema::string(),
        Kind::Bytes => Schema::of(SchemaType::Bytes),
        Kind::Enum(e) => {
            let mut s = Schema::string().named(e.name());
            s.parameters.insert(ENUM.into(), e.name().to_owned());
            for v in e.values() {
                s.parameters.insert(format!("{ENUM}.{}", v.name()), v.number().to_string());
            }
            s
        }
        Kind::Message(m) => match m.full_name() {
            DECIMAL => {
                let params = meta_params(f);
                let mut d = decimal::schema(params.get("scale").and_then(|v| v.parse().ok()).unwrap_or(0));
                if let Some(p) = params.get("precision").filter(|p| p.parse::<u32>().is_ok()) {
                    d.parameters.insert(decimal::PRECISION_PARAM.into(), p.clone());
                }
                d
            }
            DATE => logical::date_schema(),
            TIME => logical::time_schema(),
            TIMESTAMP => logical::timestamp_schema(),
            _ if is_map_entry(&m) => {
                let fields: Vec<FieldDescriptor> = m.fields().collect();
                let mut map = Schema::map(field_schema(&fields[0], stack)?, field_schema(&fields[1], stack)?).named(map_field_name(m.name()));
                map.optional = true;
                map.parameters.insert(TAG.into(), f.number().to_string());
                return Ok(map);
            }
            _ => struct_schema(&m, stack)?,
        },
    };
    s.optional = true;
    if f.is_list() {
        s = Schema::array(s).optional();
    }
    s.parameters.insert(TAG.into(), f.number().to_string());
    Ok(s)
}

// ---- message -> Connect value ---------------------------------------------------------------

fn connect_struct(s: &Schema, m: &DynamicMessage) -> Result<Value> {
    let descriptor = m.descriptor();
    let mut values = Vec::with_capacity(s.fields.len());
    for f in &s.fields {
        if f.schema.name.as_deref().is_some_and(|n| n.starts_with(&format!("{UNION}."))) {
            let set = f.schema.fields.iter().enumerate().find_map(|(i, b)| {
                let fd = descriptor.get_field_by_name(&b.name)?;
                m.has_field(&fd).then_some((i, fd))
            });
            values.push(match set {
                Some((i, fd)) => {
                    let mut u = vec![Value::Null; f.schema.fields.len()];
                    u[i] = connect_value(&f.schema.fields[i].schema, &fd, &m.get_field(&fd))?;
                    Value::Struct(Struct { schema: f.schema.clone(), values: u })
                }
                None => Value::Null,
            });
            continue;
        }
        let fd = descriptor.get_field_by_name(&f.name).ok_or_else(|| Error::Data(format!("no field {} in {}", f.name, descriptor.full_name())))?;
        let is_message = matches!(fd.kind(), Kind::Message(_)) && !fd.is_list() && !fd.is_map();
        values.push(if is_message && !m.has_field(&fd) { Value::Null } else { connect_value(&f.schema, &fd, &m.get_field(&fd))? });
    }
    Ok(Value::Struct(Struct { schema: s.clone(), values }))
}

fn connect_value(s: &Schema, fd: &FieldDescriptor, v: &Proto) -> Result<Value> {
    match (s.schema_type, v) {
        (SchemaType::Array, Proto::List(items)) => {
            let is = s.value_schema.as_deref().ok_or_else(|| Error::Data("array without item schema".into()))?;
            Ok(Value::Array(items.iter().map(|i| single_value(is, &fd.kind(), i)).collect::<Result<_>>()?))
        }
        (SchemaType::Map, _) => {
            let (Some(ks), Some(vs), Kind::Message(entry)) = (s.key_schema.as_deref(), s.value_schema.as_deref(), fd.kind()) else {
                return Err(Error::Data("map without key or value schema".into()));
            };
            let (Some(kf), Some(vf)) = (entry.get_field_by_name("key"), entry.get_field_by_name("value")) else {
                return Err(Error::Data(format!("{} is not a map entry", entry.full_name())));
            };
            let mut out = Vec::new();
            match v {
                Proto::Map(m) => {
                    for (k, v) in m {
                        let k = match k {
                            MapKey::Bool(b) => Proto::Bool(*b),
                            MapKey::I32(n) => Proto::I32(*n),
                            MapKey::I64(n) => Proto::I64(*n),
                            MapKey::U32(n) => Proto::U32(*n),
                            MapKey::U64(n) => Proto::U64(*n),
                            MapKey::String(t) => Proto::String(t.clone()),
                        };
                        out.push((single_value(ks, &kf.kind(), &k)?, single_value(vs, &vf.kind(), v)?));
                    }
                    // A map<> has no order: sorted, so that equal maps read equal.
                    out.sort_by_key(|(k, _)| k.to_string());
                }
                Proto::List(entries) => {
                    for e in entries {
                        let Proto::Message(e) = e else { return Err(Error::Data("a map entry that is not a message".into())) };
                        let key = if matches!(kf.kind(), Kind::Message(_)) && !e.has_field(&kf) { Value::Null } else { single_value(ks, &kf.kind(), &e.get_field(&kf))? };
                        let value = if matches!(vf.kind(), Kind::Message(_)) && !e.has_field(&vf) { Value::Null } else { single_value(vs, &vf.kind(), &e.get_field(&vf))? };
                        out.push((key, value));
                    }
                }
                other => return Err(Error::Data(format!("a map field holding {other:?}"))),
            }
            Ok(Value::Map(out))
        }
        _ => single_value(s, &fd.kind(), v),
    }
}

fn single_value(s: &Schema, kind: &Kind, v: &Proto) -> Result<Value> {
    let bad = || Error::Data(format!("Protobuf value {v:?} does not fit the Connect type {}", s.schema_type.name()));
    if decimal::is_decimal(s) {
        let Proto::Message(m) = v else { return Err(bad()) };
        let bytes = match m.get_field_by_name("value").as_deref() {
            Some(Proto::Bytes(b)) => b.to_vec(),
            _ => Vec::new(),
        };
        let scale = match m.get_field_by_name("scale").as_deref() {
            Some(Proto::I32(n)) => *n,
            _ => 0,
        };
        return Ok(Value::Bytes(BigDecimal::from_unscaled_bytes(&bytes, scale)?.rescale(decimal::scale(s)?)?.to_unscaled_bytes()));
    }
    let int_field = |m: &DynamicMessage, name: &str| -> i64 {
        match m.get_field_by_name(name).as_deref() {
            Some(Proto::I32(n)) => i64::from(*n),
            Some(Proto::I64(n)) => *n,
            _ => 0,
        }
    };
    match (s.name.as_deref(), v) {
        (Some(logical::DATE), Proto::Message(m)) => {
            let (y, mo, d) = (int_field(m, "year"), int_field(m, "month"), int_field(m, "day"));
            let date = chrono::NaiveDate::from_ymd_opt(y as i32, mo as u32, d as u32).ok_or_else(|| Error::Data(format!("invalid google.type.Date {y}-{mo}-{d}")))?;
            let epoch = chrono::NaiveDate::from_ymd_opt(1970, 1, 1).ok_or_else(bad)?;
            return Ok(Value::Int32(i32::try_from((date - epoch).num_days()).map_err(|_| bad())?));
        }
        (Some(logical::TIME), Proto::Message(m)) => {
            let ms = int_field(m, "hours") * 3_600_000 + int_field(m, "minutes") * 60_000 + int_field(m, "seconds") * 1000 + int_field(m, "nanos") / 1_000_000;
            return Ok(Value::Int32(i32::try_from(ms).map_err(|_| bad())?));
        }
        (Some(logical::TIMESTAMP), Proto::Message(m)) => {
            return Ok(Value::Int64(int_field(m, "seconds").saturating_mul(1000).saturating_add(int_field(m, "nanos").div_euclid(1_000_000))));
        }
        _ => {}
    }
    let n = match v {
        Proto::I32(n) => Some(i64::from(*n)),
        Proto::I64(n) => Some(*n),
        Proto::U32(n) => Some(i64::from(*n)),
        Proto::U64(n) => Some(*n as i64),
        _ => None,
    };
    Ok(match (s.schema_type, v) {
        (SchemaType::Int8, _) => Value::Int8(n.and_then(|n| i8::try_from(n).ok()).ok_or_else(bad)?),
        (SchemaType::Int16, _) => Value::Int16(n.and_then(|n| i16::try_from(n).ok()).ok_or_else(bad)?),
        (SchemaType::Int32, _) => Value::Int32(n.and_then(|n| i32::try_from(n).ok()).ok_or_else(bad)?),
        (SchemaType::Int64, _) => Value::Int64(n.ok_or_else(bad)?),
        (SchemaType::Float32, Proto::F32(f)) => Value::Float32(*f),
        (SchemaType::Float64, Proto::F64(f)) => Value::Float64(*f),
        (SchemaType::Boolean, Proto::Bool(b)) => Value::Boolean(*b),
        (SchemaType::String, Proto::String(t)) => Value::String(t.clone()),
        (SchemaType::String, Proto::EnumNumber(n)) => match kind {
            Kind::Enum(e) => Value::String(e.get_value(*n).map_or_else(|| n.to_string(), |v| v.name().to_owned())),
            _ => Value::String(n.to_string()),
        },
        (SchemaType::Bytes, Proto::Bytes(b)) => Value::Bytes(b.to_vec()),
        (SchemaType::Struct, Proto::Message(m)) => connect_struct(s, m)?,
        _ => return Err(bad()),
    })
}
