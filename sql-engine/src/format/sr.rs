//! What the Schema Registry formats (`AVRO`, `JSON_SR`, `PROTOBUF`) share, below all three:
//! the registry a format needs, `KEY_SCHEMA_ID` / `VALUE_SCHEMA_ID`, registered schemas by id,
//! and the generated schema's id per subject (from the record context).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use brook_schema::{Resolved, Schema, SchemaRegistryClient, SchemaType};

use super::api::{FormatInfo, SerdeContext, SCHEMA_ID};
use crate::error::{Error, Result};

/// The formats whose schemas live in Schema Registry, and the registry's type of each.
pub(crate) fn registry_type(format: &str) -> Option<SchemaType> {
    match format {
        "AVRO" => Some(SchemaType::Avro),
        "JSON_SR" => Some(SchemaType::Json),
        "PROTOBUF" => Some(SchemaType::Protobuf),
        _ => None,
    }
}

/// A registry or codec error as the engine's error.
pub(crate) fn registry_error(e: brook_schema::Error) -> Error {
    Error::Serde(e.to_string())
}

/// What a Schema Registry format is configured with: the statement's format (name and
/// properties) and the registry.
#[derive(Debug)]
pub(crate) struct SrFormatConfig {
    pub(crate) info: FormatInfo,
    /// `None`: the format's checks work, its serdes are unsupported.
    registry: Option<Arc<dyn SchemaRegistryClient>>,
}

impl SrFormatConfig {
    pub(crate) fn new(info: &FormatInfo, registry: Option<Arc<dyn SchemaRegistryClient>>) -> Self {
        SrFormatConfig { info: info.clone(), registry }
    }

    /// The registry the format's serdes need, or ksqlDB-like advice.
    ///
    /// # Errors
    /// [`Error::Unsupported`] without a registry.
    pub(crate) fn registry(&self) -> Result<&Arc<dyn SchemaRegistryClient>> {
        self.registry.as_ref().ok_or_else(|| {
            Error::Unsupported(format!(
                "the '{}' format needs a Schema Registry: set 'ksql.schema.registry.url' or run `brook server` with its registry",
                self.info.format
            ))
        })
    }
}

/// `KEY_SCHEMA_ID` / `VALUE_SCHEMA_ID`, parsed.
pub(crate) fn schema_id(info: &FormatInfo) -> Result<Option<i32>> {
    match info.properties.get(SCHEMA_ID) {
        Some(id) => id.parse::<i32>().map(Some).map_err(|_| Error::Analysis(format!("invalid schema id: {id}"))),
        None => Ok(None),
    }
}

/// Locks `m`, taking the data of a poisoned mutex as it is (the caches here stay valid).
pub(crate) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The schema registered under `id` with its references, when it is an `expected` schema.
///
/// # Errors
/// [`Error::Serde`] when the id is unknown, the registry cannot be reached or the schema is of
/// another type.
pub(crate) fn registered(registry: &dyn SchemaRegistryClient, id: i32, expected: SchemaType) -> Result<Resolved> {
    let schema = registry.schema_by_id(id).map_err(registry_error)?;
    check_type(id, schema.schema_type, expected)?;
    brook_schema::resolve_references(registry, schema).map_err(registry_error)
}

/// Fails when schema `id`, an `actual` schema, is not an `expected` one.
///
/// # Errors
/// [`Error::Serde`] naming both types.
pub(crate) fn check_type(id: i32, actual: SchemaType, expected: SchemaType) -> Result<()> {
    if actual == expected {
        Ok(())
    } else {
        Err(Error::Serde(format!("schema id {id} is a {actual} schema, not {expected}")))
    }
}

/// A generated schema's id per subject (`<topic>-key` / `<topic>-value`, from the record
/// context), registered on first use (ksqlDB's serializers register, or find, the schema the
/// CSAS registered).
#[derive(Debug)]
pub(crate) struct SubjectIds {
    registry: Arc<dyn SchemaRegistryClient>,
    schema: Schema,
    ids: Mutex<HashMap<String, i32>>,
}

impl SubjectIds {
    pub(crate) fn new(registry: Arc<dyn SchemaRegistryClient>, schema: Schema) -> Self {
        SubjectIds { registry, schema, ids: Mutex::default() }
    }

    /// The schema's id under the subject of `ctx`.
    ///
    /// # Errors
    /// [`Error::Serde`] when the registry rejects or cannot be reached.
    pub(crate) fn id(&self, ctx: &SerdeContext<'_>) -> Result<i32> {
        let subject = format!("{}-{}", ctx.topic, ctx.target());
        if let Some(id) = lock(&self.ids).get(&subject) {
            return Ok(*id);
        }
        let id = self.registry.register(&subject, &self.schema, false).map_err(registry_error)?;
        lock(&self.ids).insert(subject, id);
        Ok(id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::format_with;
    use crate::value::{Column, ColumnNamespace};

    #[test]
    fn a_schema_id_of_another_type_fails_each_registry_format_alike() {
        let registry: Arc<dyn SchemaRegistryClient> = Arc::new(brook_schema::MemoryClient::new());
        let json = registry.register("other-value", &Schema::json(r#"{"type":"object"}"#), false).unwrap();
        let avro = registry.register("t-value", &Schema::avro(r#"{"type":"record","name":"R","fields":[]}"#), false).unwrap();

        assert_eq!(registered(registry.as_ref(), avro, SchemaType::Avro).unwrap().schema.schema_type, SchemaType::Avro);
        let err = registered(registry.as_ref(), json, SchemaType::Avro).unwrap_err().to_string();
        assert_eq!(err, format!("schema id {json} is a JSON schema, not AVRO"));

        let columns = [Column { name: "A".into(), ty: crate::SqlType::Int, namespace: ColumnNamespace::Value }];
        for (format, id, other) in [("AVRO", json, "JSON"), ("PROTOBUF", json, "JSON"), ("JSON_SR", avro, "AVRO")] {
            let info = FormatInfo::of(format).with_property(SCHEMA_ID, &id.to_string());
            let err = format_with(&info, Some(&registry)).unwrap().row_serde(&columns, false).unwrap_err().to_string();
            let expected = if format == "JSON_SR" { "JSON" } else { format };
            assert!(err.contains(&format!("schema id {id} is a {other} schema, not {expected}")), "{format}: {err}");
        }
    }
}
