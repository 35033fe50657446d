//! `PROTOBUF` (Confluent-framed through Schema Registry) and `PROTOBUF_NOSR` (bare messages,
//! the schema from the columns): rows as Protobuf messages with ksqlDB's schemas (Connect's
//! `ProtobufData` of ksqlDB's Connect schema: proto3, the root message `ConnectDefault1` or
//! the full schema name, nested structs and map entries `ConnectDefault<n>[Entry]` numbered
//! depth first, `confluent.type.Decimal`, `google.type.Date`, `google.type.TimeOfDay`,
//! `google.protobuf.Timestamp`) and ksqlDB's type mapping both ways.
//!
//! Both are always wrapped: a single key or value column is a message with one field, as in
//! ksqlDB (whose Protobuf formats do not support unwrapping). proto3 scalars have no null: a
//! `NULL` column is written as absent and read back as the type's default (`0`, `''`,
//! `false`), as with ksqlDB; `NULL` nested messages, decimals, dates, times and timestamps
//! stay `NULL`.

use std::collections::{BTreeSet, HashMap};
use std::fmt::Write as _;
use std::sync::{Arc, Mutex};

use brook_schema::prost_reflect::{DynamicMessage, FieldDescriptor, Kind, MapKey, MessageDescriptor, OneofDescriptor, ReflectMessage, Value as Proto};
use brook_schema::protobuf::{message_indexes, ParsedProto};
use brook_schema::{wire, Schema, SchemaRegistryClient, SchemaType};

use super::api::{check_count, deserialize_error, serialize_error, Format, FormatInfo, RowSerde, SerdeContext, FULL_SCHEMA_NAME};
use super::decimal_bytes::{from_be, minimal_be, rescale};
use super::sr::{lock, registered, registry_error, schema_id, SrFormatConfig, SubjectIds};
use crate::error::{Error, Result};
use crate::value::{Column, Decimal, Row, SqlType, Value};

const DEFAULT_NAME: &str = "ConnectDefault";
const DECIMAL: &str = "confluent.type.Decimal";
const DATE: &str = "google.type.Date";
const TIME: &str = "google.type.TimeOfDay";
const TIMESTAMP: &str = "google.protobuf.Timestamp";

/// The `PROTOBUF` format (`nosr`: `PROTOBUF_NOSR`, without a registry).
#[derive(Debug)]
pub(crate) struct ProtobufFormat {
    config: SrFormatConfig,
    nosr: bool,
}

impl ProtobufFormat {
    pub(crate) fn new(info: &FormatInfo, registry: Option<Arc<dyn SchemaRegistryClient>>, nosr: bool) -> Self {
        ProtobufFormat { config: SrFormatConfig::new(info, registry), nosr }
    }
}

impl Format for ProtobufFormat {
    fn name(&self) -> &'static str {
        if self.nosr { "PROTOBUF_NOSR" } else { "PROTOBUF" }
    }

    fn supports_wrapping(&self, wrap: bool) -> bool {
        wrap
    }

    fn validate(&self, columns: &[Column]) -> Result<()> {
        let fields: Vec<(String, SqlType)> = columns.iter().map(|c| (c.name.clone(), c.ty.clone())).collect();
        check_types(&fields)
    }

    fn row_serde(&self, columns: &[Column], _is_key: bool) -> Result<Arc<dyn RowSerde>> {
        self.validate(columns)?;
        let full_name = self.config.info.properties.get(FULL_SCHEMA_NAME).map(String::as_str);
        let text = proto_schema(columns, full_name);
        let generated = ParsedProto::compile(&text, &[]).map_err(|e| Error::Analysis(format!("cannot compile the generated Protobuf schema: {e}")))?;
        let root = generated.first_message().map_err(registry_error)?;
        let columns: Vec<(String, SqlType)> = columns.iter().map(|c| (c.name.clone(), c.ty.clone())).collect();
        if self.nosr {
            return Ok(Arc::new(ProtobufRowSerde { columns, writer: Writer::Bare(root), registry: None, readers: Mutex::default() }));
        }
        let registry = self.config.registry()?;
        let writer = match schema_id(&self.config.info)? {
            Some(id) => {
                let parsed = parse_registered(registry.as_ref(), id).map_err(|e| Error::Analysis(e.to_string()))?;
                let message = match full_name {
                    Some(name) => parsed.message(name),
                    None => parsed.first_message(),
                }
                .map_err(|e| Error::Analysis(e.to_string()))?;
                Writer::Id(id, message)
            }
            None => Writer::Subject(SubjectIds::new(registry.clone(), Schema::protobuf(text)), root),
        };
        Ok(Arc::new(ProtobufRowSerde { columns, writer, registry: Some(registry.clone()), readers: Mutex::default() }))
    }
}

/// A registered Protobuf schema by id, compiled with its references.
fn parse_registered(registry: &dyn SchemaRegistryClient, id: i32) -> Result<ParsedProto> {
    let resolved = registered(registry, id, SchemaType::Protobuf)?;
    let references: Vec<(String, String)> = resolved.references.iter().map(|(n, s)| (n.clone(), s.schema.clone())).collect();
    ParsedProto::compile(&resolved.schema.schema, &references).map_err(registry_error)
}

#[derive(Debug)]
enum Writer {
    /// `PROTOBUF_NOSR`: bare messages.
    Bare(MessageDescriptor),
    /// `KEY_SCHEMA_ID` / `VALUE_SCHEMA_ID`.
    Id(i32, MessageDescriptor),
    /// The generated schema, registered per subject.
    Subject(SubjectIds, MessageDescriptor),
}

#[derive(Debug)]
struct ProtobufRowSerde {
    columns: Vec<(String, SqlType)>,
    writer: Writer,
    registry: Option<Arc<dyn SchemaRegistryClient>>,
    readers: Mutex<HashMap<i32, Arc<ParsedProto>>>,
}

impl ProtobufRowSerde {
    fn reader(&self, id: i32) -> Result<Arc<ParsedProto>> {
        if let Some(hit) = lock(&self.readers).get(&id) {
            return Ok(hit.clone());
        }
        let Some(registry) = &self.registry else { return Err(Error::Serde("no Schema Registry".into())) };
        let parsed = Arc::new(parse_registered(registry.as_ref(), id)?);
        lock(&self.readers).insert(id, parsed.clone());
        Ok(parsed)
    }
}

impl RowSerde for ProtobufRowSerde {
    fn serialize(&self, row: &[Value], ctx: &SerdeContext<'_>) -> Result<Option<Vec<u8>>> {
        check_count(self.columns.len(), row.len(), true, ctx.topic)?;
        let (frame, message) = match &self.writer {
            Writer::Bare(m) => (None, m),
            Writer::Id(id, m) => (Some(*id), m),
            Writer::Subject(ids, m) => (Some(ids.id(ctx)?), m),
        };
        let fields: Vec<(&str, &SqlType, &Value)> = self.columns.iter().zip(row).map(|((n, t), v)| (n.as_str(), t, v)).collect();
        let mut msg = DynamicMessage::new(message.clone());
        set_fields(&mut msg, &fields).map_err(|e| serialize_error(ctx, e))?;
        let payload = brook_schema::prost::Message::encode_to_vec(&msg);
        Ok(Some(match frame {
            None => payload,
            Some(id) => {
                let indexes = message_indexes(message);
                let mut out = wire::header(id, payload.len() + 1);
                wire::put_message_indexes(&mut out, &indexes);
                out.extend_from_slice(&payload);
                out
            }
        }))
    }

    fn deserialize(&self, bytes: Option<&[u8]>, ctx: &SerdeContext<'_>) -> Result<Option<Row>> {
        let Some(bytes) = bytes else { return Ok(None) };
        let fail = |reason: String| deserialize_error(ctx, reason);
        let (message, payload) = match &self.writer {
            Writer::Bare(m) => (m.clone(), bytes),
            _ => {
                let (id, rest) = wire::split(bytes).map_err(|e| fail(e.to_string()))?;
                let (indexes, payload) = wire::take_message_indexes(rest).map_err(|e| fail(e.to_string()))?;
                let schema = self.reader(id).map_err(|e| fail(e.to_string()))?;
                (schema.message_at(&indexes).map_err(|e| fail(e.to_string()))?, payload)
            }
        };
        let msg = DynamicMessage::decode(message, payload).map_err(|e| fail(format!("cannot deserialize PROTOBUF payload: {e}")))?;
        let row = self.columns.iter().map(|(n, t)| read_column(&msg, n, t)).collect::<Result<Row>>().map_err(|e| fail(e.to_string()))?;
        Ok(Some(row))
    }
}

// ---- schemas from columns -------------------------------------------------------------------

/// Rejects what Connect's Protobuf converter cannot write: arrays of arrays or of maps.
fn check_types(fields: &[(String, SqlType)]) -> Result<()> {
    fn walk(ty: &SqlType) -> Result<()> {
        match ty {
            SqlType::Array(item) if matches!(**item, SqlType::Array(_) | SqlType::Map(..)) => {
                Err(Error::Analysis("Array cannot be nested".into()))
            }
            SqlType::Array(item) => walk(item),
            SqlType::Map(k, v) => walk(k).and(walk(v)),
            SqlType::Struct(fields) => fields.iter().try_for_each(|(_, t)| walk(t)),
            _ => Ok(()),
        }
    }
    fields.iter().try_for_each(|(_, t)| walk(t))
}

/// ksqlDB's `.proto` schema for `columns`: message `ConnectDefault1` (or `full_name`, its
/// package the name's prefix) with one field per column, numbered from 1.
pub(crate) fn proto_schema(columns: &[Column], full_name: Option<&str>) -> String {
    let (package, name) = match full_name.map(|n| n.rsplit_once('.').map_or((None, n), |(p, n)| (Some(p), n))) {
        Some((package, name)) => (package, name.to_owned()),
        None => (None, format!("{DEFAULT_NAME}1")),
    };
    let mut generator = Generator { next: if full_name.is_some() { 1 } else { 2 }, imports: BTreeSet::new() };
    let fields: Vec<(String, SqlType)> = columns.iter().map(|c| (c.name.clone(), c.ty.clone())).collect();
    let body = generator.message(&name, &fields, 0);
    let mut out = String::from("syntax = \"proto3\";\n");
    if let Some(package) = package {
        let _ = write!(out, "\npackage {package};\n");
    }
    if !generator.imports.is_empty() {
        out.push('\n');
        for import in &generator.imports {
            let _ = writeln!(out, "import \"{import}\";");
        }
    }
    out.push('\n');
    out.push_str(&body);
    out
}

struct Generator {
    /// The number of the next `ConnectDefault<n>` name.
    next: usize,
    imports: BTreeSet<&'static str>,
}

impl Generator {
    fn fresh(&mut self) -> String {
        let name = format!("{DEFAULT_NAME}{}", self.next);
        self.next += 1;
        name
    }

    /// A message definition indented by `depth` levels.
    fn message(&mut self, name: &str, fields: &[(String, SqlType)], depth: usize) -> String {
        let pad = "  ".repeat(depth);
        let mut body = String::new();
        let mut nested = Vec::new();
        for (i, (field, ty)) in fields.iter().enumerate() {
            let (label, ty) = match ty {
                SqlType::Array(item) => ("repeated ", item.as_ref()),
                SqlType::Map(..) => ("repeated ", ty),
                _ => ("", ty),
            };
            let (type_name, options) = self.field_type(field, ty, depth + 1, &mut nested);
            let _ = writeln!(body, "{pad}  {label}{type_name} {field} = {}{options};", i + 1);
        }
        let mut out = format!("{pad}message {name} {{\n{body}");
        for n in nested {
            out.push('\n');
            out.push_str(&n);
        }
        let _ = writeln!(out, "{pad}}}");
        out
    }

    fn field_type(&mut self, field: &str, ty: &SqlType, depth: usize, nested: &mut Vec<String>) -> (String, String) {
        let plain = |t: &str| (t.to_owned(), String::new());
        match ty {
            SqlType::Boolean => plain("bool"),
            SqlType::Int => plain("int32"),
            SqlType::BigInt => plain("int64"),
            SqlType::Double => plain("double"),
            SqlType::String => plain("string"),
            SqlType::Bytes => plain("bytes"),
            SqlType::Decimal { precision, scale } => {
                self.imports.insert("confluent/meta.proto");
                self.imports.insert("confluent/type/decimal.proto");
                let options = format!(
                    " [(confluent.field_meta) = {{ params: [{{ key: \"precision\", value: \"{precision}\" }}, {{ key: \"scale\", value: \"{scale}\" }}] }}]"
                );
                (DECIMAL.to_owned(), options)
            }
            SqlType::Date => {
                self.imports.insert("google/type/date.proto");
                plain(DATE)
            }
            SqlType::Time => {
                self.imports.insert("google/type/timeofday.proto");
                plain(TIME)
            }
            SqlType::Timestamp => {
                self.imports.insert("google/protobuf/timestamp.proto");
                plain(TIMESTAMP)
            }
            SqlType::Map(k, v) => {
                let name = format!("{}Entry", self.fresh());
                let entry = vec![("key".to_owned(), (**k).clone()), ("value".to_owned(), (**v).clone())];
                nested.push(self.message(&name, &entry, depth));
                plain(&name)
            }
            SqlType::Struct(fields) => {
                let mut name = self.fresh();
                if name == field {
                    name.push_str("Message");
                }
                nested.push(self.message(&name, fields, depth));
                plain(&name)
            }
            // Arrays of arrays are rejected by `check_types`.
            SqlType::Array(item) => self.field_type(field, item, depth, nested),
        }
    }
}

// ---- schemas to columns (inference) ---------------------------------------------------------

/// The columns of a compiled Protobuf schema's message `full_name` (else its first message):
/// one per field, a `<oneof>_<index>` struct per `oneof` first, as Connect's converter orders
/// them.
pub(crate) fn columns_from_parsed(parsed: &ParsedProto, full_name: Option<&str>) -> Result<Vec<(String, SqlType)>> {
    let message = match full_name {
        Some(name) => parsed.message(name),
        None => parsed.first_message(),
    }
    .map_err(|e| Error::Analysis(e.to_string()))?;
    message_fields(&message, &mut Vec::new())
}

fn message_fields(message: &MessageDescriptor, stack: &mut Vec<String>) -> Result<Vec<(String, SqlType)>> {
    if stack.iter().any(|n| n == message.full_name()) {
        return Err(Error::Analysis(format!("Protobuf message {} is recursive, which has no SQL type", message.full_name())));
    }
    stack.push(message.full_name().to_owned());
    let mut out = Vec::new();
    for oneof in message.oneofs().filter(|o| !o.is_synthetic()) {
        let branches = oneof.fields().map(|f| Ok((f.name().to_owned(), field_type(&f, stack)?))).collect::<Result<_>>()?;
        out.push((union_name(&oneof), SqlType::Struct(branches)));
    }
    for field in message.fields() {
        if field.containing_oneof().is_some_and(|o| !o.is_synthetic()) {
            continue;
        }
        out.push((field.name().to_owned(), field_type(&field, stack)?));
    }
    stack.pop();
    Ok(out)
}

fn field_type(field: &FieldDescriptor, stack: &mut Vec<String>) -> Result<SqlType> {
    if field.is_map() {
        let Kind::Message(entry) = field.kind() else { return Err(Error::Analysis("map field without an entry message".into())) };
        return Ok(SqlType::Map(
            Box::new(kind_type(&entry.map_entry_key_field(), stack)?),
            Box::new(kind_type(&entry.map_entry_value_field(), stack)?),
        ));
    }
    let ty = kind_type(field, stack)?;
    Ok(if field.is_list() { SqlType::Array(Box::new(ty)) } else { ty })
}

fn kind_type(field: &FieldDescriptor, stack: &mut Vec<String>) -> Result<SqlType> {
    Ok(match field.kind() {
        Kind::Int32 | Kind::Sint32 | Kind::Sfixed32 => SqlType::Int,
        Kind::Int64 | Kind::Sint64 | Kind::Sfixed64 | Kind::Uint32 | Kind::Fixed32 | Kind::Uint64 | Kind::Fixed64 => SqlType::BigInt,
        Kind::Float | Kind::Double => SqlType::Double,
        Kind::Bool => SqlType::Boolean,
        Kind::String | Kind::Enum(_) => SqlType::String,
        Kind::Bytes => SqlType::Bytes,
        Kind::Message(m) => match m.full_name() {
            DECIMAL => {
                let (precision, scale) = decimal_params(field);
                SqlType::Decimal { precision: precision.unwrap_or(38), scale: scale.unwrap_or(0) }
            }
            DATE => SqlType::Date,
            TIME => SqlType::Time,
            TIMESTAMP => SqlType::Timestamp,
            name if is_wrapper(name) => kind_type(&m.get_field_by_name("value").ok_or_else(|| Error::Analysis(format!("{name} has no value")))?, stack)?,
            _ => SqlType::Struct(message_fields(&m, stack)?),
        },
    })
}

/// Connect's field name for a `oneof`: its name and its index in the message.
fn union_name(oneof: &OneofDescriptor) -> String {
    format!("{}_{}", oneof.name(), oneof.path().last().copied().unwrap_or_default())
}

fn is_wrapper(name: &str) -> bool {
    matches!(
        name,
        "google.protobuf.DoubleValue" | "google.protobuf.FloatValue" | "google.protobuf.Int64Value" | "google.protobuf.UInt64Value"
            | "google.protobuf.Int32Value" | "google.protobuf.UInt32Value" | "google.protobuf.BoolValue"
            | "google.protobuf.StringValue" | "google.protobuf.BytesValue"
    )
}

/// The `precision` and `scale` of a decimal field's `(confluent.field_meta)` options.
fn decimal_params(field: &FieldDescriptor) -> (Option<u8>, Option<u8>) {
    let Some(ext) = field.parent_pool().get_extension_by_name("confluent.field_meta") else { return (None, None) };
    let options = field.options();
    if !options.has_extension(&ext) {
        return (None, None);
    }
    let meta = options.get_extension(&ext);
    let Proto::Message(meta) = meta.as_ref() else { return (None, None) };
    let params = meta.get_field_by_name("params");
    let Some(Proto::Map(params)) = params.as_deref() else { return (None, None) };
    let get = |k: &str| match params.get(&MapKey::String(k.to_owned())) {
        Some(Proto::String(v)) => v.parse().ok(),
        _ => None,
    };
    (get("precision"), get("scale"))
}

// ---- values ---------------------------------------------------------------------------------

fn find_field(message: &MessageDescriptor, name: &str) -> Option<FieldDescriptor> {
    message.get_field_by_name(name).or_else(|| message.fields().find(|f| f.name().eq_ignore_ascii_case(name)))
}

fn set_fields(msg: &mut DynamicMessage, fields: &[(&str, &SqlType, &Value)]) -> Result<()> {
    let descriptor = msg.descriptor();
    for (name, ty, value) in fields {
        if value.is_null() {
            continue;
        }
        if let Some(field) = find_field(&descriptor, name) {
            let v = field_value(&field, ty, value)?;
            msg.set_field(&field, v);
            continue;
        }
        // A `<oneof>_<index>` struct: its one set branch.
        let oneof = descriptor.oneofs().find(|o| union_name(&o).eq_ignore_ascii_case(name));
        if let (Some(oneof), Value::Struct(values), SqlType::Struct(types)) = (oneof, value, ty) {
            if let Some(((branch, v), (_, t))) = values.iter().zip(types).find(|((_, v), _)| !v.is_null()) {
                if let Some(field) = oneof.fields().find(|f| f.name().eq_ignore_ascii_case(branch)) {
                    let v = field_value(&field, &t, v)?;
                    msg.set_field(&field, v);
                }
            }
        }
        // Columns the writer's schema lacks are not written.
    }
    Ok(())
}

fn field_value(field: &FieldDescriptor, ty: &SqlType, value: &Value) -> Result<Proto> {
    let mismatch = || Error::Serde(format!("cannot write {ty} value into Protobuf field {}", field.full_name()));
    if field.is_map() {
        let (Value::Map(entries), SqlType::Map(kt, vt), Kind::Message(entry)) = (value, ty, field.kind()) else { return Err(mismatch()) };
        let (kf, vf) = (entry.map_entry_key_field(), entry.map_entry_value_field());
        let mut out = HashMap::with_capacity(entries.len());
        for (k, v) in entries {
            if k.is_null() {
                continue;
            }
            let key = match single(&kf, kt, k)? {
                Proto::Bool(b) => MapKey::Bool(b),
                Proto::I32(i) => MapKey::I32(i),
                Proto::I64(i) => MapKey::I64(i),
                Proto::U32(i) => MapKey::U32(i),
                Proto::U64(i) => MapKey::U64(i),
                Proto::String(s) => MapKey::String(s),
                _ => return Err(mismatch()),
            };
            let v = if v.is_null() { Proto::default_value_for_field(&vf) } else { single(&vf, vt, v)? };
            out.insert(key, v);
        }
        return Ok(Proto::Map(out));
    }
    if field.is_list() {
        return match (value, ty) {
            (Value::Array(items), SqlType::Array(item)) => Ok(Proto::List(
                items.iter().map(|v| if v.is_null() { Ok(Proto::default_value(&field.kind())) } else { single(field, item, v) }).collect::<Result<_>>()?,
            )),
            // ksqlDB's maps: repeated key/value entry messages.
            (Value::Map(entries), SqlType::Map(kt, vt)) => {
                let Kind::Message(entry) = field.kind() else { return Err(mismatch()) };
                let mut out = Vec::with_capacity(entries.len());
                for (k, v) in entries {
                    let mut m = DynamicMessage::new(entry.clone());
                    set_fields(&mut m, &[("key", kt, k), ("value", vt, v)])?;
                    out.push(Proto::Message(m));
                }
                Ok(Proto::List(out))
            }
            _ => Err(mismatch()),
        };
    }
    single(field, ty, value)
}

fn int_of(value: &Value) -> Option<i64> {
    match value {
        Value::Int(i) | Value::Date(i) | Value::Time(i) => Some(i64::from(*i)),
        Value::BigInt(i) | Value::Timestamp(i) => Some(*i),
        _ => None,
    }
}

/// One value of `field`'s kind (an element, for repeated fields).
fn single(field: &FieldDescriptor, ty: &SqlType, value: &Value) -> Result<Proto> {
    let mismatch = || Error::Serde(format!("cannot write {ty} value into Protobuf field {}", field.full_name()));
    let int = || int_of(value).ok_or_else(mismatch);
    Ok(match field.kind() {
        Kind::Int32 | Kind::Sint32 | Kind::Sfixed32 => Proto::I32(i32::try_from(int()?).map_err(|_| mismatch())?),
        Kind::Int64 | Kind::Sint64 | Kind::Sfixed64 => Proto::I64(int()?),
        Kind::Uint32 | Kind::Fixed32 => Proto::U32(u32::try_from(int()?).map_err(|_| mismatch())?),
        Kind::Uint64 | Kind::Fixed64 => Proto::U64(u64::try_from(int()?).map_err(|_| mismatch())?),
        Kind::Float | Kind::Double => {
            let d = match value {
                Value::Double(d) => *d,
                other => int_of(other).ok_or_else(mismatch)? as f64,
            };
            if matches!(field.kind(), Kind::Float) { Proto::F32(d as f32) } else { Proto::F64(d) }
        }
        Kind::Bool => match value {
            Value::Boolean(b) => Proto::Bool(*b),
            _ => return Err(mismatch()),
        },
        Kind::String => match value {
            Value::String(s) => Proto::String(s.clone()),
            _ => return Err(mismatch()),
        },
        Kind::Bytes => match value {
            Value::Bytes(b) => Proto::Bytes(b.clone().into()),
            _ => return Err(mismatch()),
        },
        Kind::Enum(e) => match value {
            Value::String(s) => Proto::EnumNumber(e.get_value_by_name(s).ok_or_else(mismatch)?.number()),
            _ => return Err(mismatch()),
        },
        Kind::Message(m) => {
            let mut msg = DynamicMessage::new(m.clone());
            let mut set = |name: &str, v: Proto| -> Result<()> {
                let f = m.get_field_by_name(name).ok_or_else(|| Error::Serde(format!("{} has no field {name}", m.full_name())))?;
                msg.set_field(&f, v);
                Ok(())
            };
            match (m.full_name(), value) {
                (TIMESTAMP, Value::Timestamp(ms)) => {
                    set("seconds", Proto::I64(ms.div_euclid(1000)))?;
                    set("nanos", Proto::I32((ms.rem_euclid(1000) * 1_000_000) as i32))?;
                }
                (DATE, Value::Date(days)) => {
                    let (y, mo, d) = civil_from_days(i64::from(*days));
                    set("year", Proto::I32(y as i32))?;
                    set("month", Proto::I32(mo as i32))?;
                    set("day", Proto::I32(d as i32))?;
                }
                (TIME, Value::Time(ms)) => {
                    set("hours", Proto::I32(ms / 3_600_000))?;
                    set("minutes", Proto::I32(ms / 60_000 % 60))?;
                    set("seconds", Proto::I32(ms / 1000 % 60))?;
                    set("nanos", Proto::I32(ms % 1000 * 1_000_000))?;
                }
                (DECIMAL, Value::Decimal(d)) => {
                    let digits = d.unscaled.unsigned_abs().to_string().len() as u32;
                    set("value", Proto::Bytes(minimal_be(d.unscaled).into()))?;
                    set("precision", Proto::U32(digits))?;
                    set("scale", Proto::I32(i32::from(d.scale)))?;
                }
                (name, v) if is_wrapper(name) => {
                    let inner = m.get_field_by_name("value").ok_or_else(mismatch)?;
                    let v = single(&inner, ty, v)?;
                    msg.set_field(&inner, v);
                }
                (_, Value::Struct(values)) => {
                    let SqlType::Struct(types) = ty else { return Err(mismatch()) };
                    let fields: Vec<(&str, &SqlType, &Value)> =
                        values.iter().zip(types).map(|((n, v), (_, t))| (n.as_str(), t, v)).collect();
                    set_fields(&mut msg, &fields)?;
                }
                _ => return Err(mismatch()),
            }
            Proto::Message(msg)
        }
    })
}

/// The value of column `name` in `msg`: its field (exact name, else case-insensitive), or the
/// `<oneof>_<index>` struct; `NULL` for a message field that is not set or a missing field.
fn read_column(msg: &DynamicMessage, name: &str, ty: &SqlType) -> Result<Value> {
    let descriptor = msg.descriptor();
    if let Some(field) = find_field(&descriptor, name) {
        if matches!(field.kind(), Kind::Message(_)) && !field.is_list() && !field.is_map() && !msg.has_field(&field) {
            return Ok(Value::Null);
        }
        return read_value(&field, &msg.get_field(&field), ty);
    }
    let oneof = descriptor.oneofs().find(|o| union_name(&o).eq_ignore_ascii_case(name));
    if let (Some(oneof), SqlType::Struct(types)) = (oneof, ty) {
        let mut out = Vec::with_capacity(types.len());
        for (branch, t) in types {
            let value = match oneof.fields().find(|f| f.name().eq_ignore_ascii_case(branch)) {
                Some(f) if msg.has_field(&f) => read_value(&f, &msg.get_field(&f), &t)?,
                _ => Value::Null,
            };
            out.push((branch.clone(), value));
        }
        return Ok(Value::Struct(out));
    }
    Ok(Value::Null)
}

fn read_value(field: &FieldDescriptor, value: &Proto, ty: &SqlType) -> Result<Value> {
    let mismatch = || Error::Serde(format!("cannot read Protobuf field {} as {ty}", field.full_name()));
    match (value, ty) {
        (Proto::List(items), SqlType::Array(item)) => {
            Ok(Value::Array(items.iter().map(|v| read_single(field, v, item)).collect::<Result<_>>()?))
        }
        (Proto::List(entries), SqlType::Map(kt, vt)) => {
            let mut out = Vec::with_capacity(entries.len());
            for entry in entries {
                let Proto::Message(m) = entry else { return Err(mismatch()) };
                out.push((read_column(m, "key", kt)?, read_column(m, "value", vt)?));
            }
            Ok(Value::Map(out))
        }
        (Proto::Map(entries), SqlType::Map(kt, vt)) => {
            let Kind::Message(entry) = field.kind() else { return Err(mismatch()) };
            let (kf, vf) = (entry.map_entry_key_field(), entry.map_entry_value_field());
            let mut out = entries
                .iter()
                .map(|(k, v)| {
                    let key = match k {
                        MapKey::Bool(b) => Proto::Bool(*b),
                        MapKey::I32(i) => Proto::I32(*i),
                        MapKey::I64(i) => Proto::I64(*i),
                        MapKey::U32(i) => Proto::U32(*i),
                        MapKey::U64(i) => Proto::U64(*i),
                        MapKey::String(s) => Proto::String(s.clone()),
                    };
                    Ok((read_single(&kf, &key, kt)?, read_single(&vf, v, vt)?))
                })
                .collect::<Result<Vec<_>>>()?;
            // A protobuf map has no order; keep reads deterministic.
            out.sort_by(|a, b| format!("{:?}", a.0).cmp(&format!("{:?}", b.0)));
            Ok(Value::Map(out))
        }
        (v, _) => read_single(field, v, ty),
    }
}

fn read_single(field: &FieldDescriptor, value: &Proto, ty: &SqlType) -> Result<Value> {
    let mismatch = || Error::Serde(format!("cannot read Protobuf field {} as {ty}", field.full_name()));
    let int = |i: i64| -> Result<Value> {
        Ok(match ty {
            SqlType::Int => Value::Int(i32::try_from(i).map_err(|_| mismatch())?),
            SqlType::BigInt => Value::BigInt(i),
            SqlType::Double => Value::Double(i as f64),
            SqlType::Timestamp => Value::Timestamp(i),
            SqlType::String => Value::String(i.to_string()),
            _ => return Err(mismatch()),
        })
    };
    match value {
        Proto::I32(i) => int(i64::from(*i)),
        Proto::I64(i) => int(*i),
        Proto::U32(i) => int(i64::from(*i)),
        Proto::U64(i) => int(i64::try_from(*i).map_err(|_| mismatch())?),
        Proto::F32(f) if *ty == SqlType::Double => Ok(Value::Double(f64::from(*f))),
        Proto::F64(f) if *ty == SqlType::Double => Ok(Value::Double(*f)),
        Proto::Bool(b) if *ty == SqlType::Boolean => Ok(Value::Boolean(*b)),
        Proto::String(s) if *ty == SqlType::String => Ok(Value::String(s.clone())),
        Proto::Bytes(b) if *ty == SqlType::Bytes => Ok(Value::Bytes(b.to_vec())),
        Proto::EnumNumber(n) if *ty == SqlType::String => Ok(Value::String(match field.kind() {
            Kind::Enum(e) => e.get_value(*n).map_or_else(|| n.to_string(), |v| v.name().to_owned()),
            _ => n.to_string(),
        })),
        Proto::Message(m) => read_message(m, ty).map_err(|e| Error::Serde(format!("{e} (field {})", field.full_name()))),
        _ => Err(mismatch()),
    }
}

fn read_message(m: &DynamicMessage, ty: &SqlType) -> Result<Value> {
    let descriptor = m.descriptor();
    let get = |name: &str| -> i64 {
        match m.get_field_by_name(name).as_deref() {
            Some(Proto::I32(i)) => i64::from(*i),
            Some(Proto::I64(i)) => *i,
            Some(Proto::U32(i)) => i64::from(*i),
            _ => 0,
        }
    };
    let mismatch = || Error::Serde(format!("cannot read Protobuf {} as {ty}", descriptor.full_name()));
    Ok(match (descriptor.full_name(), ty) {
        (TIMESTAMP, SqlType::Timestamp) => Value::Timestamp(get("seconds") * 1000 + get("nanos") / 1_000_000),
        (DATE, SqlType::Date) => Value::Date(i32::try_from(days_from_civil(get("year"), get("month"), get("day"))).map_err(|_| mismatch())?),
        (TIME, SqlType::Time) => {
            Value::Time(i32::try_from(get("hours") * 3_600_000 + get("minutes") * 60_000 + get("seconds") * 1000 + get("nanos") / 1_000_000).map_err(|_| mismatch())?)
        }
        (DECIMAL, &SqlType::Decimal { precision, scale }) => {
            let bytes = match m.get_field_by_name("value").as_deref() {
                Some(Proto::Bytes(b)) => b.to_vec(),
                _ => Vec::new(),
            };
            let unscaled = from_be(&bytes).ok_or_else(|| Error::Serde("decimal wider than 128 bits".into()))?;
            let written = Decimal { unscaled, precision, scale: u8::try_from(get("scale")).map_err(|_| mismatch())? };
            let unscaled = rescale(&written, scale).ok_or_else(|| Error::Serde(format!("decimal {written} does not fit DECIMAL({precision}, {scale})")))?;
            Value::Decimal(Decimal { unscaled, precision, scale })
        }
        (name, _) if is_wrapper(name) => {
            let inner = descriptor.get_field_by_name("value").ok_or_else(mismatch)?;
            read_single(&inner, &m.get_field(&inner), ty)?
        }
        (_, SqlType::Struct(types)) => {
            Value::Struct(types.iter().map(|(n, t)| Ok((n.clone(), read_column(m, n, t)?))).collect::<Result<_>>()?)
        }
        _ => return Err(mismatch()),
    })
}

/// (year, month, day) of a day count since 1970-01-01 (proleptic Gregorian).
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// Days since 1970-01-01 of a (year, month, day).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_dates_round_trip() {
        for days in [-719_468, -1, 0, 1, 59, 19_000, 2_932_896] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days, "{y}-{m}-{d}");
        }
        assert_eq!(civil_from_days(19_000), (2022, 1, 8));
    }
}
