//! The records of the `_schemas` topic, in Confluent's JSON: keys such as
//! `{"keytype":"SCHEMA","subject":"s","version":1,"magic":1}` and
//! `{"keytype":"CONFIG","subject":null,"magic":0}`, values such as
//! `{"subject":"s","version":1,"id":1,"schema":"..","deleted":false}` and
//! `{"compatibilityLevel":"BACKWARD"}`. A tombstone (no value) removes what its key names.

use serde::{Deserialize, Serialize};

use crate::schema::{Reference, SchemaType};

/// A record key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "keytype")]
pub(crate) enum Key {
    /// One version of a subject.
    #[serde(rename = "SCHEMA")]
    Schema { subject: String, version: i32, magic: i32 },
    /// The compatibility level of a subject, or the global one (`subject: null`).
    #[serde(rename = "CONFIG")]
    Config { subject: Option<String>, magic: i32 },
    /// The mode of a subject, or the global one.
    #[serde(rename = "MODE")]
    Mode { subject: Option<String>, magic: i32 },
    /// A subject soft-deleted up to a version.
    #[serde(rename = "DELETE_SUBJECT")]
    DeleteSubject { subject: String, magic: i32 },
    /// A subject's soft-deleted versions dropped.
    #[serde(rename = "CLEAR_SUBJECT")]
    ClearSubject { subject: String, magic: i32 },
    /// Written to learn the end of the topic.
    #[serde(rename = "NOOP")]
    Noop { magic: i32 },
}

impl Key {
    pub(crate) fn schema(subject: &str, version: i32) -> Key {
        Key::Schema { subject: subject.to_owned(), version, magic: 1 }
    }

    pub(crate) fn config(subject: Option<&str>) -> Key {
        Key::Config { subject: subject.map(str::to_owned), magic: 0 }
    }

    pub(crate) fn mode(subject: Option<&str>) -> Key {
        Key::Mode { subject: subject.map(str::to_owned), magic: 0 }
    }
}

/// The value of a `SCHEMA` key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct SchemaValue {
    pub(crate) subject: String,
    pub(crate) version: i32,
    pub(crate) id: i32,
    #[serde(rename = "schemaType", default, skip_serializing_if = "is_avro")]
    pub(crate) schema_type: SchemaType,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) references: Vec<Reference>,
    pub(crate) schema: String,
    #[serde(default)]
    pub(crate) deleted: bool,
}

fn is_avro(t: &SchemaType) -> bool {
    *t == SchemaType::Avro
}

/// The value of a `CONFIG` key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct ConfigValue {
    #[serde(rename = "compatibilityLevel")]
    pub(crate) compatibility_level: String,
}

/// The value of a `MODE` key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct ModeValue {
    pub(crate) mode: String,
}

/// The value of a `DELETE_SUBJECT` key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct DeleteSubjectValue {
    pub(crate) subject: String,
    pub(crate) version: i32,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn confluent_json() {
        assert_eq!(serde_json::to_string(&Key::schema("s", 2)).unwrap(), r#"{"keytype":"SCHEMA","subject":"s","version":2,"magic":1}"#);
        assert_eq!(serde_json::to_string(&Key::config(None)).unwrap(), r#"{"keytype":"CONFIG","subject":null,"magic":0}"#);
        let key: Key = serde_json::from_str(r#"{"keytype":"DELETE_SUBJECT","subject":"s","magic":0}"#).unwrap();
        assert_eq!(key, Key::DeleteSubject { subject: "s".into(), magic: 0 });
        let v = SchemaValue { subject: "s".into(), version: 1, id: 3, schema_type: SchemaType::Avro, references: vec![], schema: "\"int\"".into(), deleted: false };
        assert_eq!(serde_json::to_string(&v).unwrap(), r#"{"subject":"s","version":1,"id":3,"schema":"\"int\"","deleted":false}"#);
        let p: SchemaValue = serde_json::from_str(r#"{"subject":"s","version":1,"id":3,"schemaType":"PROTOBUF","schema":"x","deleted":true}"#).unwrap();
        assert_eq!(p.schema_type, SchemaType::Protobuf);
    }
}
