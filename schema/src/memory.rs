//! An in-memory registry for unit tests and `brook test-runner` (Confluent's
//! `MockSchemaRegistryClient`, ksqlDB's test runner uses one too).

use std::collections::HashMap;

use parking_lot::Mutex;

use crate::client::{RegisteredSchema, Schema, SchemaRegistryClient};
use crate::error::{Error, Result};

/// A registry held in memory: global ids from 1, one id per distinct schema across subjects,
/// versions from 1 per subject. It checks no compatibility.
#[derive(Debug, Default)]
pub struct MemoryClient {
    inner: Mutex<Tables>,
}

/// The registered schemas, their ids and the subjects' versions.
#[derive(Debug, Default)]
struct Tables {
    /// Schemas by id - 1.
    schemas: Vec<Schema>,
    ids: HashMap<Schema, i32>,
    /// Schema ids of each subject, by version - 1.
    subjects: HashMap<String, Vec<i32>>,
}

impl MemoryClient {
    /// An empty registry.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// The subjects registered so far, sorted.
    #[must_use]
    pub fn subjects(&self) -> Vec<String> {
        let mut subjects: Vec<String> = self.inner.lock().subjects.keys().cloned().collect();
        subjects.sort();
        subjects
    }
}

impl Tables {
    fn registered(&self, subject: &str, version_index: usize) -> RegisteredSchema {
        let id = self.subjects[subject][version_index];
        RegisteredSchema {
            id,
            subject: subject.to_owned(),
            version: version_index as i32 + 1,
            schema: self.schemas[id as usize - 1].clone(),
        }
    }

    fn versions(&self, subject: &str) -> Result<&Vec<i32>> {
        self.subjects.get(subject).ok_or_else(|| Error::SubjectNotFound(subject.to_owned()))
    }
}

impl SchemaRegistryClient for MemoryClient {
    fn register(&self, subject: &str, schema: &Schema, _normalize: bool) -> Result<i32> {
        let mut inner = self.inner.lock();
        let id = match inner.ids.get(schema) {
            Some(id) => *id,
            None => {
                inner.schemas.push(schema.clone());
                let id = inner.schemas.len() as i32;
                inner.ids.insert(schema.clone(), id);
                id
            }
        };
        let versions = inner.subjects.entry(subject.to_owned()).or_default();
        if !versions.contains(&id) {
            versions.push(id);
        }
        Ok(id)
    }

    fn schema_by_id(&self, id: i32) -> Result<Schema> {
        let inner = self.inner.lock();
        usize::try_from(id)
            .ok()
            .and_then(|id| id.checked_sub(1))
            .and_then(|index| inner.schemas.get(index))
            .cloned()
            .ok_or_else(|| Error::SchemaNotFound(format!("id {id}")))
    }

    fn latest(&self, subject: &str) -> Result<RegisteredSchema> {
        let inner = self.inner.lock();
        let count = inner.versions(subject)?.len();
        Ok(inner.registered(subject, count - 1))
    }

    fn version(&self, subject: &str, version: i32) -> Result<RegisteredSchema> {
        let inner = self.inner.lock();
        let count = inner.versions(subject)?.len();
        if version < 1 || version as usize > count {
            return Err(Error::VersionNotFound { subject: subject.to_owned(), version });
        }
        Ok(inner.registered(subject, version as usize - 1))
    }

    fn lookup(&self, subject: &str, schema: &Schema) -> Result<RegisteredSchema> {
        let inner = self.inner.lock();
        let versions = inner.versions(subject)?;
        let id = inner.ids.get(schema).copied();
        match versions.iter().position(|v| Some(*v) == id) {
            Some(index) => Ok(inner.registered(subject, index)),
            None => Err(Error::SchemaNotFound(format!("no such schema under subject {subject:?}"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_global_and_versions_per_subject() {
        let registry = MemoryClient::new();
        let a = Schema::avro(r#""string""#);
        let b = Schema::avro(r#""long""#);
        assert_eq!(registry.register("t-value", &a, false).unwrap(), 1);
        assert_eq!(registry.register("t-value", &a, false).unwrap(), 1);
        assert_eq!(registry.register("t-value", &b, false).unwrap(), 2);
        assert_eq!(registry.register("u-value", &a, false).unwrap(), 1);
        assert_eq!(registry.latest("t-value").unwrap().version, 2);
        assert_eq!(registry.version("t-value", 1).unwrap().schema, a);
        assert_eq!(registry.lookup("u-value", &a).unwrap().version, 1);
        assert!(matches!(registry.lookup("u-value", &b), Err(Error::SchemaNotFound(_))));
        assert!(matches!(registry.latest("v-value"), Err(Error::SubjectNotFound(_))));
        assert!(matches!(registry.version("t-value", 3), Err(Error::VersionNotFound { .. })));
        assert!(matches!(registry.schema_by_id(0), Err(Error::SchemaNotFound(_))));
        assert!(matches!(registry.schema_by_id(3), Err(Error::SchemaNotFound(_))));
        assert_eq!(registry.subjects(), ["t-value", "u-value"]);
    }
}
