//! What the engine does with Schema Registry outside serdes: registering the schemas of a
//! `CREATE ... AS SELECT` sink, and inferring columns. It sits above the Schema Registry
//! formats (`AVRO`, `JSON_SR`, `PROTOBUF`), whose schemas it writes and reads; what those
//! formats share lives below them, in `sr.rs`.
//!
//! Columns are inferred from Schema Registry when a `CREATE` names none (ksqlDB's
//! `SchemaRegistryTopicSchemaSupplier`): the key columns from `<topic>-key` when the statement
//! declares no key column and the key format is a Schema Registry format, the value columns
//! from `<topic>-value` when it declares no value column. `KEY_SCHEMA_ID` / `VALUE_SCHEMA_ID`
//! pick a schema by id instead of the subject's latest version; `KEY_SCHEMA_FULL_NAME` /
//! `VALUE_SCHEMA_FULL_NAME` pick a Protobuf message other than the first.
//!
//! Field names are upper-cased, as ksqlDB's Connect schema translation does; reading matches
//! record fields to columns case-insensitively.

use std::sync::Arc;

use brook_schema::{Schema, SchemaRegistryClient, SchemaType};

use super::api::{FormatInfo, FULL_SCHEMA_NAME, SCHEMA_ID};
use super::props::SourceFormats;
use super::sr::{registry_type, schema_id};
use crate::error::{Error, Result};
use crate::value::{Column, ColumnNamespace, LogicalSchema, SqlType};

/// `schema` with the columns the registry gives for what it lacks.
///
/// # Errors
/// [`Error::Analysis`] with ksqlDB's wording when the subject or id does not exist or the
/// registry cannot be reached.
pub(crate) fn infer_columns(
    registry: Option<&Arc<dyn SchemaRegistryClient>>,
    topic: &str,
    formats: &SourceFormats,
    mut schema: LogicalSchema,
) -> Result<LogicalSchema> {
    let has_key = schema.columns.iter().any(|c| c.namespace == ColumnNamespace::Key);
    let has_value = schema.columns.iter().any(|c| c.namespace == ColumnNamespace::Value);
    let mut inferred = Vec::new();
    for (is_key, info, declared) in [(true, &formats.key, has_key), (false, &formats.value, has_value)] {
        let Some(expected) = registry_type(&info.format) else { continue };
        if declared {
            continue;
        }
        let Some(registry) = registry else {
            return Err(Error::Analysis(format!(
                "Schema Registry is not configured: the {} format cannot infer columns for topic {topic}",
                info.format
            )));
        };
        let subject = format!("{topic}-{}", if is_key { "key" } else { "value" });
        let fetched = match schema_id(info)? {
            Some(id) => registry.schema_by_id(id),
            None => registry.latest(&subject).map(|r| r.schema),
        };
        let schema_text = match fetched {
            Ok(s) if s.schema_type == expected => s,
            Ok(s) => {
                return Err(Error::Analysis(format!(
                    "Schema for subject {subject} is a {} schema, which the {} format cannot read",
                    s.schema_type, info.format
                )))
            }
            Err(brook_schema::Error::SubjectNotFound(_) | brook_schema::Error::VersionNotFound { .. }) if !is_key => {
                return Err(Error::Analysis(format!(
                    "Schema for message values on topic '{topic}' does not exist in the Schema Registry.\nSubject: {subject}\n\nPossible causes include:\n- The topic itself does not exist\n\t-> Use SHOW TOPICS; to check\n- Messages on the topic are not serialized using a format Schema Registry supports\n\t-> Use PRINT '{topic}' FROM BEGINNING; to verify\n- Messages on the topic have not been serialized using a Confluent Schema Registry supported serializer\n\t-> See https://docs.confluent.io/current/schema-registry/docs/serdes-develop/index.html\n- The schema is registered on a different instance of the Schema Registry\n\t-> Use the REST API to list available subjects\thttps://docs.confluent.io/current/schema-registry/docs/api.html#get--subjects\n- You do not have permissions to access the Schema Registry.\n\t-> See https://docs.confluent.io/current/schema-registry/docs/security.html"
                )))
            }
            // A missing key schema leaves the source without key columns, as ksqlDB does.
            Err(brook_schema::Error::SubjectNotFound(_) | brook_schema::Error::VersionNotFound { .. }) => continue,
            Err(e) => return Err(Error::Analysis(format!("Schema Registry error for subject {subject}: {e}"))),
        };
        let full_name = info.properties.get(FULL_SCHEMA_NAME).map(String::as_str);
        let columns = match expected {
            SchemaType::Avro => super::avro::columns_from_schema(&schema_text.schema, is_key)?,
            SchemaType::Json => super::json_sr::columns_from_schema(&schema_text.schema, is_key)?,
            SchemaType::Protobuf => {
                let resolved = brook_schema::resolve_references(registry.as_ref(), schema_text)
                    .map_err(|e| Error::Analysis(format!("Schema Registry error for subject {subject}: {e}")))?;
                let refs: Vec<(String, String)> = resolved.references.iter().map(|(n, s)| (n.clone(), s.schema.clone())).collect();
                let parsed = brook_schema::protobuf::ParsedProto::compile(&resolved.schema.schema, &refs)
                    .map_err(|e| Error::Analysis(format!("invalid Protobuf schema for subject {subject}: {e}")))?;
                super::protobuf::columns_from_parsed(&parsed, full_name)?
            }
        };
        for (name, ty) in columns {
            let namespace = if is_key { ColumnNamespace::Key } else { ColumnNamespace::Value };
            inferred.push(Column { name: name.to_uppercase(), ty: upper_fields(ty), namespace });
        }
    }
    schema.columns.extend(inferred);
    schema.columns.sort_by_key(|c| c.namespace != ColumnNamespace::Key);
    Ok(schema)
}

fn upper_fields(ty: SqlType) -> SqlType {
    match ty {
        SqlType::Struct(fields) => SqlType::Struct(fields.into_iter().map(|(n, t)| (n.to_uppercase(), upper_fields(t))).collect()),
        SqlType::Array(t) => SqlType::Array(Box::new(upper_fields(*t))),
        SqlType::Map(k, v) => SqlType::Map(Box::new(upper_fields(*k)), Box::new(upper_fields(*v))),
        other => other,
    }
}

/// The schema `info`'s format writes for `columns` and registers (`None` for formats outside
/// Schema Registry, no columns, or a schema given by id).
pub(crate) fn sink_schema(info: &FormatInfo, columns: &[Column], is_key: bool) -> Option<Schema> {
    if columns.is_empty() || info.properties.contains_key(SCHEMA_ID) {
        return None;
    }
    let full_name = info.properties.get(FULL_SCHEMA_NAME).map(String::as_str);
    let unwrapped = super::api::unwrapped(columns, is_key, info.wrap_single_value);
    Some(match registry_type(&info.format)? {
        SchemaType::Avro => Schema::avro(super::avro::avro_schema(columns, unwrapped, full_name).to_string()),
        SchemaType::Json => Schema::json(super::json_sr::json_schema(columns, unwrapped, full_name).to_string()),
        SchemaType::Protobuf => Schema::protobuf(super::protobuf::proto_schema(columns, full_name)),
    })
}

/// Registers the schemas of a new sink's Schema Registry key and value formats under `<topic>-key` /
/// `<topic>-value` (ksqlDB's `SchemaRegisterInjector`), so the subjects exist before the first
/// record is written.
///
/// # Errors
/// [`Error::Analysis`] when the registry rejects a schema (incompatible, unreachable).
pub(crate) fn register_sink_schemas(
    registry: Option<&Arc<dyn SchemaRegistryClient>>,
    topic: &str,
    key_format: &super::api::FormatInfo,
    value_format: &super::api::FormatInfo,
    schema: &LogicalSchema,
) -> Result<()> {
    for (is_key, info) in [(true, key_format), (false, value_format)] {
        let columns: Vec<Column> = schema
            .columns
            .iter()
            .filter(|c| c.namespace == if is_key { ColumnNamespace::Key } else { ColumnNamespace::Value })
            .cloned()
            .collect();
        let Some(schema) = sink_schema(info, &columns, is_key) else { continue };
        let Some(registry) = registry else { continue };
        let subject = format!("{topic}-{}", if is_key { "key" } else { "value" });
        registry.register(&subject, &schema, false).map_err(|e| {
            Error::Analysis(format!("Could not register schema for topic: {e}"))
        })?;
    }
    Ok(())
}
