//! `AVRO`: rows as Confluent-framed Avro through Schema Registry, with ksqlDB's schemas
//! (`KsqlDataSourceSchema` in `io.confluent.ksql.avro_schemas`, every field an optional union
//! with null, Connect's logical types) and ksqlDB's type mapping both ways.
//!
//! Writing uses the schema of `KEY_SCHEMA_ID` / `VALUE_SCHEMA_ID` when given, else the schema
//! generated from the columns, registered under `<topic>-key` / `<topic>-value`. Reading uses
//! the writer's schema from the record's id and matches record fields to columns by name (exact,
//! then case-insensitively).

use std::collections::HashMap;
use std::sync::Arc;

use brook_schema::apache_avro::types::Value as Avro;
use brook_schema::apache_avro::schema::SchemaKind;
use brook_schema::apache_avro::Schema as AvroSchema;
use brook_schema::avro::ParsedAvro;
use brook_schema::{wire, Schema, SchemaRegistryClient, SchemaType};
use std::sync::Mutex;
use serde_json::{json, Value as Json};

use super::api::{deserialize_error, serialize_error, Format, FormatInfo, RowSerde, SerdeContext, FULL_SCHEMA_NAME};
use super::decimal_bytes::{from_be, minimal_be, rescale};
use super::sr::{lock, registered, registry_error, schema_id, SrFormatConfig, SubjectIds};
use crate::error::{Error, Result};
use crate::value::{Column, Decimal, Row, SqlType, Value};

/// ksqlDB's record name and namespace for the schemas it generates.
pub(crate) const RECORD_NAME: &str = "KsqlDataSourceSchema";
pub(crate) const NAMESPACE: &str = "io.confluent.ksql.avro_schemas";

/// The `AVRO` format.
#[derive(Debug)]
pub(crate) struct AvroFormat(SrFormatConfig);

impl AvroFormat {
    pub(crate) fn new(info: &FormatInfo, registry: Option<Arc<dyn SchemaRegistryClient>>) -> Self {
        AvroFormat(SrFormatConfig::new(info, registry))
    }
}

impl Format for AvroFormat {
    fn name(&self) -> &'static str {
        "AVRO"
    }

    fn row_serde(&self, columns: &[Column], is_key: bool) -> Result<Arc<dyn RowSerde>> {
        let registry = self.0.registry()?;
        let info = &self.0.info;
        let unwrapped = super::api::unwrapped(columns, is_key, info.wrap_single_value);
        let full_name = info.properties.get(FULL_SCHEMA_NAME).cloned();
        let own = match schema_id(info)? {
            Some(id) => {
                let resolved = registered(registry.as_ref(), id, SchemaType::Avro)?;
                Some((id, Arc::new(ParsedAvro::resolved(&resolved).map_err(registry_error)?)))
            }
            None => None,
        };
        let generated = avro_schema(columns, unwrapped, full_name.as_deref());
        Ok(Arc::new(AvroRowSerde {
            registry: registry.clone(),
            columns: columns.to_vec(),
            unwrapped,
            generated_parsed: Arc::new(ParsedAvro::parse(&generated.to_string()).map_err(|e| Error::Serde(e.to_string()))?),
            own,
            writers: SubjectIds::new(registry.clone(), Schema::avro(generated.to_string())),
            readers: Mutex::default(),
        }))
    }
}

#[derive(Debug)]
struct AvroRowSerde {
    registry: Arc<dyn SchemaRegistryClient>,
    columns: Vec<Column>,
    unwrapped: bool,
    generated_parsed: Arc<ParsedAvro>,
    /// `KEY_SCHEMA_ID` / `VALUE_SCHEMA_ID`: write with this registered schema.
    own: Option<(i32, Arc<ParsedAvro>)>,
    /// The generated schema's id per subject.
    writers: SubjectIds,
    readers: Mutex<HashMap<i32, Arc<ParsedAvro>>>,
}

impl AvroRowSerde {
    fn writer(&self, ctx: &SerdeContext<'_>) -> Result<(i32, Arc<ParsedAvro>)> {
        match &self.own {
            Some(own) => Ok(own.clone()),
            None => Ok((self.writers.id(ctx)?, self.generated_parsed.clone())),
        }
    }

    fn reader(&self, id: i32) -> Result<Arc<ParsedAvro>> {
        if let Some(hit) = lock(&self.readers).get(&id) {
            return Ok(hit.clone());
        }
        let resolved = registered(self.registry.as_ref(), id, SchemaType::Avro)?;
        let parsed = Arc::new(ParsedAvro::resolved(&resolved).map_err(registry_error)?);
        lock(&self.readers).insert(id, parsed.clone());
        Ok(parsed)
    }
}

impl RowSerde for AvroRowSerde {
    fn serialize(&self, row: &[Value], ctx: &SerdeContext<'_>) -> Result<Option<Vec<u8>>> {
        super::api::check_count(self.columns.len(), row.len(), true, ctx.topic)?;
        let (id, writer) = self.writer(ctx)?;
        let names = Names::of(&writer);
        let value = if self.unwrapped {
            if row[0].is_null() {
                return Ok(None);
            }
            to_avro(&row[0], &self.columns[0].ty, &writer.schema, &names)?
        } else {
            let fields: Vec<(&str, &SqlType, &Value)> =
                self.columns.iter().zip(row).map(|(c, v)| (c.name.as_str(), &c.ty, v)).collect();
            record_to_avro(&fields, &writer.schema, &names)?
        };
        let datum = writer.encode(value).map_err(|e| serialize_error(ctx, e))?;
        let mut out = wire::header(id, datum.len());
        out.extend_from_slice(&datum);
        Ok(Some(out))
    }

    fn deserialize(&self, bytes: Option<&[u8]>, ctx: &SerdeContext<'_>) -> Result<Option<Row>> {
        let Some(bytes) = bytes else { return Ok(None) };
        let fail = |reason: String| deserialize_error(ctx, reason);
        let (id, payload) = wire::split(bytes).map_err(|e| fail(e.to_string()))?;
        let writer = self.reader(id).map_err(|e| fail(e.to_string()))?;
        let value = writer.decode(payload, None).map_err(|e| fail(e.to_string()))?;
        if self.unwrapped {
            return Ok(Some(vec![from_avro(value, &self.columns[0].ty).map_err(|e| fail(e.to_string()))?]));
        }
        let fields = match value {
            Avro::Null => return Ok(None),
            Avro::Union(_, inner) if *inner == Avro::Null => return Ok(None),
            Avro::Union(_, inner) => match *inner {
                Avro::Record(fields) => fields,
                other => return Err(fail(format!("expected a record, got {other:?}"))),
            },
            Avro::Record(fields) => fields,
            other => return Err(fail(format!("expected a record, got {other:?}"))),
        };
        let row = self
            .columns
            .iter()
            .map(|c| match take_field(&fields, &c.name) {
                Some(v) => from_avro(v.clone(), &c.ty),
                None => Ok(Value::Null),
            })
            .collect::<Result<Row>>()
            .map_err(|e| fail(e.to_string()))?;
        Ok(Some(row))
    }
}

fn take_field<'a>(fields: &'a [(String, Avro)], name: &str) -> Option<&'a Avro> {
    fields
        .iter()
        .find(|(n, _)| n == name)
        .or_else(|| fields.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)))
        .map(|(_, v)| v)
}

// ---- schemas from columns -------------------------------------------------------------------

/// ksqlDB's Avro schema for `columns`: a `KsqlDataSourceSchema` record (or `full_name`), or the
/// single column's type when `unwrapped`.
pub(crate) fn avro_schema(columns: &[Column], unwrapped: bool, full_name: Option<&str>) -> Json {
    let (namespace, name) = match full_name.and_then(|n| n.rsplit_once('.')) {
        Some((ns, n)) => (ns.to_owned(), n.to_owned()),
        None => (NAMESPACE.to_owned(), full_name.unwrap_or(RECORD_NAME).to_owned()),
    };
    if unwrapped {
        return optional(type_schema(&columns[0].ty, &name, &namespace));
    }
    let fields: Vec<(String, SqlType)> = columns.iter().map(|c| (c.name.clone(), c.ty.clone())).collect();
    record_schema(&fields, &name, &namespace)
}

fn record_schema(fields: &[(String, SqlType)], name: &str, namespace: &str) -> Json {
    let fields: Vec<Json> = fields
        .iter()
        .map(|(field, ty)| {
            json!({"name": field, "type": optional(type_schema(ty, &format!("{name}_{field}"), namespace)), "default": null})
        })
        .collect();
    json!({"type": "record", "name": name, "namespace": namespace, "fields": fields,
           "connect.name": format!("{namespace}.{name}")})
}

fn optional(schema: Json) -> Json {
    json!(["null", schema])
}

fn logical(base: &str, connect: &str, logical: &str) -> Json {
    json!({"type": base, "connect.version": 1, "connect.name": connect, "logicalType": logical})
}

/// The Avro type of `ty`; `name` names the records nested structs and map entries become.
fn type_schema(ty: &SqlType, name: &str, namespace: &str) -> Json {
    match ty {
        SqlType::Boolean => json!("boolean"),
        SqlType::Int => json!("int"),
        SqlType::BigInt => json!("long"),
        SqlType::Double => json!("double"),
        SqlType::String => json!("string"),
        SqlType::Bytes => json!("bytes"),
        SqlType::Decimal { precision, scale } => json!({
            "type": "bytes", "scale": scale, "precision": precision, "connect.version": 1,
            "connect.parameters": {"scale": scale.to_string(), "connect.decimal.precision": precision.to_string()},
            "connect.name": "org.apache.kafka.connect.data.Decimal", "logicalType": "decimal"}),
        SqlType::Date => logical("int", "org.apache.kafka.connect.data.Date", "date"),
        SqlType::Time => logical("int", "org.apache.kafka.connect.data.Time", "time-millis"),
        SqlType::Timestamp => logical("long", "org.apache.kafka.connect.data.Timestamp", "timestamp-millis"),
        SqlType::Array(item) => json!({"type": "array", "items": optional(type_schema(item, name, namespace))}),
        SqlType::Map(key, value) if **key == SqlType::String => {
            json!({"type": "map", "values": optional(type_schema(value, name, namespace))})
        }
        // Connect's map of non-string keys: an array of key/value records.
        SqlType::Map(key, value) => json!({"type": "array", "items": {
            "type": "record", "name": name, "namespace": namespace,
            "fields": [
                {"name": "key", "type": optional(type_schema(key, &format!("{name}_key"), namespace)), "default": null},
                {"name": "value", "type": optional(type_schema(value, &format!("{name}_value"), namespace)), "default": null}],
            "connect.internal.type": "MapEntry"}}),
        SqlType::Struct(fields) => record_schema(fields, name, namespace),
    }
}

// ---- schemas to columns (inference) ---------------------------------------------------------

/// The SQL type of an Avro schema, as ksqlDB infers it: unions with null are the other branch,
/// other unions are structs with one field per branch, enums are strings, fixed is bytes.
pub(crate) fn sql_type(schema: &AvroSchema) -> Result<SqlType> {
    use brook_schema::apache_avro::schema::Schema as S;
    Ok(match schema {
        S::Boolean => SqlType::Boolean,
        S::Int => SqlType::Int,
        S::Long => SqlType::BigInt,
        S::Float | S::Double => SqlType::Double,
        S::String | S::Enum(_) | S::Uuid(_) => SqlType::String,
        S::Bytes | S::Fixed(_) => SqlType::Bytes,
        S::Decimal(d) => SqlType::Decimal {
            precision: u8::try_from(d.precision).unwrap_or(38),
            scale: u8::try_from(d.scale).unwrap_or(0),
        },
        S::BigDecimal => SqlType::Decimal { precision: 38, scale: 18 },
        S::Date => SqlType::Date,
        S::TimeMillis | S::TimeMicros => SqlType::Time,
        S::TimestampMillis | S::TimestampMicros | S::TimestampNanos | S::LocalTimestampMillis | S::LocalTimestampMicros
        | S::LocalTimestampNanos => SqlType::Timestamp,
        S::Array(a) => match a.items.as_ref() {
            S::Record(r) if is_map_entry(r) => {
                SqlType::Map(Box::new(sql_type(&r.fields[0].schema)?), Box::new(sql_type(&r.fields[1].schema)?))
            }
            items => SqlType::Array(Box::new(sql_type(items)?)),
        },
        S::Map(m) => SqlType::Map(Box::new(SqlType::String), Box::new(sql_type(&m.types)?)),
        S::Record(r) => SqlType::Struct(
            r.fields.iter().map(|f| Ok((f.name.clone(), sql_type(&f.schema)?))).collect::<Result<_>>()?,
        ),
        S::Union(u) => {
            let branches: Vec<&AvroSchema> = u.variants().iter().filter(|v| !matches!(v, S::Null)).collect();
            match branches.as_slice() {
                [one] => sql_type(one)?,
                many => SqlType::Struct(
                    many.iter().map(|b| Ok((union_field_name(b), sql_type(b)?))).collect::<Result<_>>()?,
                ),
            }
        }
        S::Null | S::Duration(_) | S::Ref { .. } => {
            return Err(Error::Analysis(format!("Avro type {schema:?} has no SQL type")));
        }
    })
}

fn is_map_entry(record: &brook_schema::apache_avro::schema::RecordSchema) -> bool {
    record.fields.len() == 2 && record.fields[0].name == "key" && record.fields[1].name == "value"
}

/// Connect's name for a union branch's struct field: the Avro type name, or the record's name.
fn union_field_name(schema: &AvroSchema) -> String {
    match schema.name() {
        Some(name) => name.name().to_owned(),
        None => format!("{:?}", SchemaKind::from(schema)).to_ascii_lowercase(),
    }
}

/// The columns an Avro schema gives a source: one per record field, or `ROWKEY` / `ROWVAL`
/// for a schema that is not a record.
pub(crate) fn columns_from_schema(text: &str, is_key: bool) -> Result<Vec<(String, SqlType)>> {
    let parsed = ParsedAvro::parse(text).map_err(registry_error)?;
    columns_from_avro(&parsed.schema, is_key)
}

pub(crate) fn columns_from_avro(schema: &AvroSchema, is_key: bool) -> Result<Vec<(String, SqlType)>> {
    match schema {
        AvroSchema::Record(r) => r.fields.iter().map(|f| Ok((f.name.clone(), sql_type(&f.schema)?))).collect(),
        other => Ok(vec![((if is_key { "ROWKEY" } else { "ROWVAL" }).to_owned(), sql_type(other)?)]),
    }
}

// ---- values ---------------------------------------------------------------------------------

/// Named types of a writer schema, to follow `Ref`s.
struct Names<'a> {
    named: HashMap<String, &'a AvroSchema>,
}

impl<'a> Names<'a> {
    fn of(parsed: &'a ParsedAvro) -> Self {
        let mut named = HashMap::new();
        fn walk<'a>(s: &'a AvroSchema, named: &mut HashMap<String, &'a AvroSchema>) {
            use brook_schema::apache_avro::schema::Schema as S;
            if let Some(n) = s.name() {
                if named.insert(n.fullname(None), s).is_some() {
                    return;
                }
            }
            match s {
                S::Record(r) => r.fields.iter().for_each(|f| walk(&f.schema, named)),
                S::Array(a) => walk(&a.items, named),
                S::Map(m) => walk(&m.types, named),
                S::Union(u) => u.variants().iter().for_each(|v| walk(v, named)),
                _ => {}
            }
        }
        for s in parsed.references.iter().chain(std::iter::once(&parsed.schema)) {
            walk(s, &mut named);
        }
        Names { named }
    }

    fn resolve<'s>(&'s self, schema: &'s AvroSchema) -> &'s AvroSchema {
        match schema {
            AvroSchema::Ref { name } => self.named.get(&name.fullname(None)).copied().unwrap_or(schema),
            other => other,
        }
    }
}

fn record_to_avro(fields: &[(&str, &SqlType, &Value)], schema: &AvroSchema, names: &Names<'_>) -> Result<Avro> {
    let schema = names.resolve(schema);
    let record = match schema {
        AvroSchema::Record(r) => r,
        AvroSchema::Union(u) => {
            let (index, branch) = u
                .variants()
                .iter()
                .enumerate()
                .find(|(_, v)| matches!(names.resolve(v), AvroSchema::Record(_)))
                .ok_or_else(|| Error::Serde("the schema has no record branch".into()))?;
            return Ok(Avro::Union(index as u32, Box::new(record_to_avro(fields, branch, names)?)));
        }
        other => return Err(Error::Serde(format!("expected a record schema, got {other:?}"))),
    };
    let out = record
        .fields
        .iter()
        .map(|f| {
            let value = fields
                .iter()
                .find(|(n, _, _)| *n == f.name)
                .or_else(|| fields.iter().find(|(n, _, _)| n.eq_ignore_ascii_case(&f.name)));
            let v = match value {
                Some((_, ty, v)) => to_avro(v, ty, &f.schema, names)?,
                None => to_avro(&Value::Null, &SqlType::String, &f.schema, names)?,
            };
            Ok((f.name.clone(), v))
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(Avro::Record(out))
}

/// `value` (of SQL type `ty`) as an Avro value of `schema`.
fn to_avro(value: &Value, ty: &SqlType, schema: &AvroSchema, names: &Names<'_>) -> Result<Avro> {
    use brook_schema::apache_avro::schema::Schema as S;
    let schema = names.resolve(schema);
    if let S::Union(u) = schema {
        let variants = u.variants();
        if value.is_null() {
            let index = variants
                .iter()
                .position(|v| matches!(v, S::Null))
                .ok_or_else(|| Error::Serde("null value for a field that is not optional".into()))?;
            return Ok(Avro::Union(index as u32, Box::new(Avro::Null)));
        }
        // The first branch the value converts to.
        let mut last = None;
        for (index, v) in variants.iter().enumerate() {
            if matches!(v, S::Null) {
                continue;
            }
            match to_avro(value, ty, v, names) {
                Ok(a) => return Ok(Avro::Union(index as u32, Box::new(a))),
                Err(e) => last = Some(e),
            }
        }
        return Err(last.unwrap_or_else(|| Error::Serde("empty union".into())));
    }
    let mismatch = || Error::Serde(format!("cannot write {ty} value {value:?} as Avro {:?}", SchemaKind::from(schema)));
    Ok(match (value, schema) {
        (Value::Null, S::Null) => Avro::Null,
        (Value::Null, _) => return Err(Error::Serde("null value for a field that is not optional".into())),
        (Value::Boolean(b), S::Boolean) => Avro::Boolean(*b),
        (Value::Int(i), S::Int) => Avro::Int(*i),
        (Value::Int(i), S::Long) => Avro::Long(i64::from(*i)),
        (Value::BigInt(i), S::Long) => Avro::Long(*i),
        (Value::BigInt(i), S::Int) => Avro::Int(i32::try_from(*i).map_err(|_| mismatch())?),
        (Value::Int(i), S::Double) => Avro::Double(f64::from(*i)),
        (Value::BigInt(i), S::Double) => Avro::Double(*i as f64),
        (Value::Double(d), S::Double) => Avro::Double(*d),
        (Value::Double(d), S::Float) => Avro::Float(*d as f32),
        (Value::String(s), S::String) => Avro::String(s.clone()),
        (Value::String(s), S::Enum(e)) => {
            let index = e.symbols.iter().position(|x| x == s).ok_or_else(mismatch)?;
            Avro::Enum(index as u32, s.clone())
        }
        (Value::Bytes(b), S::Bytes) => Avro::Bytes(b.clone()),
        (Value::Bytes(b), S::Fixed(f)) if b.len() == f.size => Avro::Fixed(f.size, b.clone()),
        (Value::Decimal(d), S::Decimal(target)) => {
            let scale = u8::try_from(target.scale).map_err(|_| mismatch())?;
            let unscaled = rescale(d, scale).ok_or_else(mismatch)?;
            Avro::Decimal(brook_schema::apache_avro::Decimal::from(minimal_be(unscaled)))
        }
        (Value::Date(d), S::Date) => Avro::Date(*d),
        (Value::Date(d), S::Int) => Avro::Int(*d),
        (Value::Time(t), S::TimeMillis) => Avro::TimeMillis(*t),
        (Value::Time(t), S::TimeMicros) => Avro::TimeMicros(i64::from(*t) * 1000),
        (Value::Time(t), S::Int) => Avro::Int(*t),
        (Value::Timestamp(t), S::TimestampMillis) => Avro::TimestampMillis(*t),
        (Value::Timestamp(t), S::TimestampMicros) => Avro::TimestampMicros(t.saturating_mul(1000)),
        (Value::Timestamp(t), S::LocalTimestampMillis) => Avro::LocalTimestampMillis(*t),
        (Value::Timestamp(t), S::Long) => Avro::Long(*t),
        (Value::Array(items), S::Array(a)) => {
            let item_ty = match ty {
                SqlType::Array(t) => t.as_ref(),
                _ => return Err(mismatch()),
            };
            Avro::Array(items.iter().map(|v| to_avro(v, item_ty, &a.items, names)).collect::<Result<_>>()?)
        }
        (Value::Map(entries), S::Map(m)) => {
            let value_ty = match ty {
                SqlType::Map(_, v) => v.as_ref(),
                _ => return Err(mismatch()),
            };
            let mut out = HashMap::with_capacity(entries.len());
            for (k, v) in entries {
                let key = match k {
                    Value::String(s) => s.clone(),
                    Value::Null => continue,
                    other => key_text(other),
                };
                out.insert(key, to_avro(v, value_ty, &m.types, names)?);
            }
            Avro::Map(out)
        }
        (Value::Map(entries), S::Array(a)) => {
            let (key_ty, value_ty) = match ty {
                SqlType::Map(k, v) => (k.as_ref(), v.as_ref()),
                _ => return Err(mismatch()),
            };
            let entry_schema = names.resolve(&a.items);
            Avro::Array(
                entries
                    .iter()
                    .map(|(k, v)| {
                        record_to_avro(&[("key", key_ty, k), ("value", value_ty, v)], entry_schema, names)
                    })
                    .collect::<Result<_>>()?,
            )
        }
        (Value::Struct(fields), S::Record(_)) => {
            let types = match ty {
                SqlType::Struct(t) => t,
                _ => return Err(mismatch()),
            };
            let triples: Vec<(&str, &SqlType, &Value)> = fields
                .iter()
                .zip(types)
                .map(|((n, v), (_, t))| (n.as_str(), t, v))
                .collect();
            record_to_avro(&triples, schema, names)?
        }
        _ => return Err(mismatch()),
    })
}

/// An Avro value as a SQL value of `ty`.
pub(crate) fn from_avro(value: Avro, ty: &SqlType) -> Result<Value> {
    let mismatch = |v: &Avro| Error::Serde(format!("cannot read Avro {v:?} as {ty}"));
    Ok(match (value, ty) {
        (Avro::Null, _) => Value::Null,
        (Avro::Union(_, inner), SqlType::Struct(fields)) if fields.iter().any(|(n, _)| n.eq_ignore_ascii_case(&union_branch_name(&inner))) => {
            // A union of several types read as ksqlDB's struct of its branches.
            let name = union_branch_name(&inner);
            let mut out = Vec::with_capacity(fields.len());
            let mut inner = Some(*inner);
            for (n, t) in fields {
                if n.eq_ignore_ascii_case(&name) {
                    out.push((n.clone(), from_avro(inner.take().unwrap_or(Avro::Null), t)?));
                } else {
                    out.push((n.clone(), Value::Null));
                }
            }
            Value::Struct(out)
        }
        (Avro::Union(_, inner), _) => from_avro(*inner, ty)?,
        (Avro::Boolean(b), SqlType::Boolean) => Value::Boolean(b),
        (Avro::Int(i), SqlType::Int) => Value::Int(i),
        (Avro::Int(i), SqlType::BigInt) => Value::BigInt(i64::from(i)),
        (Avro::Long(i), SqlType::BigInt) => Value::BigInt(i),
        (Avro::Long(i), SqlType::Int) => Value::Int(i32::try_from(i).map_err(|_| mismatch(&Avro::Long(i)))?),
        (Avro::Int(i), SqlType::Double) => Value::Double(f64::from(i)),
        (Avro::Long(i), SqlType::Double) => Value::Double(i as f64),
        (Avro::Float(f), SqlType::Double) => Value::Double(f64::from(f)),
        (Avro::Double(d), SqlType::Double) => Value::Double(d),
        (Avro::String(s) | Avro::Enum(_, s), SqlType::String) => Value::String(s),
        (Avro::Uuid(u), SqlType::String) => Value::String(u.to_string()),
        (Avro::Bytes(b) | Avro::Fixed(_, b), SqlType::Bytes) => Value::Bytes(b),
        (Avro::Bytes(b) | Avro::Fixed(_, b), SqlType::Decimal { precision, scale }) => {
            let unscaled = from_be(&b).ok_or_else(|| Error::Serde("decimal wider than 128 bits".into()))?;
            Value::Decimal(Decimal { unscaled, precision: *precision, scale: *scale })
        }
        (Avro::Decimal(d), SqlType::Decimal { precision, scale }) => {
            let bytes: Vec<u8> = d.try_into().map_err(|e| Error::Serde(format!("bad decimal: {e:?}")))?;
            let unscaled = from_be(&bytes).ok_or_else(|| Error::Serde("decimal wider than 128 bits".into()))?;
            Value::Decimal(Decimal { unscaled, precision: *precision, scale: *scale })
        }
        (Avro::Date(d) | Avro::Int(d), SqlType::Date) => Value::Date(d),
        (Avro::TimeMillis(t) | Avro::Int(t), SqlType::Time) => Value::Time(t),
        (Avro::TimeMicros(t), SqlType::Time) => Value::Time((t / 1000) as i32),
        (Avro::TimestampMillis(t) | Avro::LocalTimestampMillis(t) | Avro::Long(t), SqlType::Timestamp) => Value::Timestamp(t),
        (Avro::TimestampMicros(t) | Avro::LocalTimestampMicros(t), SqlType::Timestamp) => Value::Timestamp(t / 1000),
        (Avro::TimestampNanos(t) | Avro::LocalTimestampNanos(t), SqlType::Timestamp) => Value::Timestamp(t / 1_000_000),
        (Avro::Array(items), SqlType::Array(item)) => {
            Value::Array(items.into_iter().map(|v| from_avro(v, item)).collect::<Result<_>>()?)
        }
        (Avro::Map(entries), SqlType::Map(key, value)) => {
            let mut out: Vec<(Value, Value)> = entries
                .into_iter()
                .map(|(k, v)| Ok((key_from_text(k, key), from_avro(v, value)?)))
                .collect::<Result<_>>()?;
            out.sort_by_cached_key(|(k, _)| key_text(k));
            Value::Map(out)
        }
        (Avro::Array(entries), SqlType::Map(key, value)) => Value::Map(
            entries
                .into_iter()
                .map(|entry| match entry {
                    Avro::Record(fields) => {
                        let k = take_field(&fields, "key").cloned().unwrap_or(Avro::Null);
                        let v = take_field(&fields, "value").cloned().unwrap_or(Avro::Null);
                        Ok((from_avro(k, key)?, from_avro(v, value)?))
                    }
                    other => Err(mismatch(&other)),
                })
                .collect::<Result<_>>()?,
        ),
        (Avro::Record(fields), SqlType::Struct(types)) => Value::Struct(
            types
                .iter()
                .map(|(n, t)| {
                    Ok((n.clone(), match take_field(&fields, n) {
                        Some(v) => from_avro(v.clone(), t)?,
                        None => Value::Null,
                    }))
                })
                .collect::<Result<_>>()?,
        ),
        (v, _) => return Err(mismatch(&v)),
    })
}

/// A map key as Avro's string map keys hold it.
fn key_text(key: &Value) -> String {
    match key {
        Value::String(s) => s.clone(),
        Value::Boolean(b) => b.to_string(),
        Value::Int(i) => i.to_string(),
        Value::BigInt(i) => i.to_string(),
        Value::Double(d) => d.to_string(),
        Value::Decimal(d) => d.to_string(),
        other => format!("{other:?}"),
    }
}

/// A map key read from Avro's string keys as the map's key type.
fn key_from_text(text: String, ty: &SqlType) -> Value {
    let parsed = match ty {
        SqlType::Int => text.parse().ok().map(Value::Int),
        SqlType::BigInt => text.parse().ok().map(Value::BigInt),
        SqlType::Double => text.parse().ok().map(Value::Double),
        SqlType::Boolean => text.parse().ok().map(Value::Boolean),
        _ => None,
    };
    parsed.unwrap_or(Value::String(text))
}

/// Connect's name of a union branch's struct field: the Avro type name.
fn union_branch_name(value: &Avro) -> String {
    match value {
        Avro::Record(_) => "record".into(),
        Avro::Boolean(_) => "boolean".into(),
        Avro::Int(_) => "int".into(),
        Avro::Long(_) => "long".into(),
        Avro::Float(_) => "float".into(),
        Avro::Double(_) => "double".into(),
        Avro::Bytes(_) => "bytes".into(),
        Avro::String(_) => "string".into(),
        Avro::Array(_) => "array".into(),
        Avro::Map(_) => "map".into(),
        _ => "UNKNOWN".into(),
    }
}
