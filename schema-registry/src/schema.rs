//! Schema types, references, and parsing: a schema is validated (and its canonical text
//! made) before it is stored; an invalid one is a 42201.
//!
//! The stored text is the submitted text with the whitespace between JSON tokens removed
//! (Avro, JSON Schema), or as submitted (Protobuf). Confluent stores Avro's and Wire's
//! re-printed forms instead; two texts that differ only in whitespace get one id either way.


use protox::prost_reflect::FileDescriptor;
use serde::{Deserialize, Serialize};

/// `AVRO`, `JSON` or `PROTOBUF` (Confluent's `schemaType`; absent means `AVRO`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum SchemaType {
    /// Apache Avro.
    #[default]
    Avro,
    /// JSON Schema.
    Json,
    /// Protocol Buffers (proto2 or proto3 text).
    Protobuf,
}

impl SchemaType {
    /// Confluent's name.
    pub fn name(self) -> &'static str {
        match self {
            SchemaType::Avro => "AVRO",
            SchemaType::Json => "JSON",
            SchemaType::Protobuf => "PROTOBUF",
        }
    }

    /// From Confluent's name (case-insensitive).
    pub fn parse(s: &str) -> Option<SchemaType> {
        match s.to_ascii_uppercase().as_str() {
            "AVRO" => Some(SchemaType::Avro),
            "JSON" => Some(SchemaType::Json),
            "PROTOBUF" => Some(SchemaType::Protobuf),
            _ => None,
        }
    }
}

/// A schema reference: the schema registered as `subject` / `version`, known in the referring
/// schema as `name` (an Avro full name, a `.proto` import path, a JSON Schema `$ref` URL).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Reference {
    /// The name the referring schema uses.
    pub name: String,
    /// The subject of the referenced schema.
    pub subject: String,
    /// Its version.
    pub version: i32,
}

/// A schema with what it references, resolved.
#[derive(Debug, Clone)]
pub(crate) struct Resolved {
    pub(crate) schema_type: SchemaType,
    pub(crate) text: String,
    /// `name` -> text of every schema referenced, directly or not (dependencies first).
    pub(crate) deps: Vec<(String, String)>,
}

/// A parsed schema, ready for compatibility checks.
#[derive(Debug)]
pub(crate) enum Parsed {
    Avro(apache_avro::Schema),
    Json(serde_json::Value),
    Protobuf(FileDescriptor),
}

/// The name the root `.proto` file gets when it is compiled.
const ROOT_PROTO: &str = "__brook_root__.proto";

impl Resolved {
    /// Parses and validates.
    ///
    /// # Errors
    /// A message saying why the schema is invalid (a 42201).
    pub(crate) fn parse(&self) -> Result<Parsed, String> {
        match self.schema_type {
            SchemaType::Avro => {
                let deps: Vec<&str> = self.deps.iter().map(|(_, t)| t.as_str()).collect();
                let schema = if deps.is_empty() {
                    apache_avro::Schema::parse_str(&self.text)
                } else {
                    apache_avro::Schema::parse_str_with_list(&self.text, deps).map(|(s, _)| s)
                };
                schema.map(Parsed::Avro).map_err(|e| e.to_string())
            }
            SchemaType::Json => {
                let v: serde_json::Value = serde_json::from_str(&self.text).map_err(|e| e.to_string())?;
                check_json_schema(&v, "#")?;
                Ok(Parsed::Json(v))
            }
            SchemaType::Protobuf => compile_proto(&self.text, &self.deps).map(Parsed::Protobuf),
        }
    }
}

/// A JSON Schema is an object or a boolean; `type` names JSON Schema's types.
fn check_json_schema(v: &serde_json::Value, path: &str) -> Result<(), String> {
    const TYPES: [&str; 7] = ["object", "array", "string", "number", "integer", "boolean", "null"];
    let obj = match v {
        serde_json::Value::Bool(_) => return Ok(()),
        serde_json::Value::Object(o) => o,
        _ => return Err(format!("{path}: a JSON Schema must be an object or a boolean")),
    };
    let type_ok = |t: &serde_json::Value| t.as_str().is_some_and(|t| TYPES.contains(&t));
    match obj.get("type") {
        None => {}
        Some(serde_json::Value::Array(ts)) if ts.iter().all(type_ok) => {}
        Some(t) if type_ok(t) => {}
        Some(t) => return Err(format!("{path}/type: unknown type {t}")),
    }
    if let Some(props) = obj.get("properties") {
        let props = props.as_object().ok_or_else(|| format!("{path}/properties: expected an object"))?;
        for (k, p) in props {
            check_json_schema(p, &format!("{path}/properties/{k}"))?;
        }
    }
    for key in ["items", "additionalProperties", "not"] {
        match obj.get(key) {
            Some(serde_json::Value::Array(a)) if key == "items" => {
                for (i, s) in a.iter().enumerate() {
                    check_json_schema(s, &format!("{path}/items/{i}"))?;
                }
            }
            Some(s) => check_json_schema(s, &format!("{path}/{key}"))?,
            None => {}
        }
    }
    for key in ["anyOf", "oneOf", "allOf"] {
        if let Some(a) = obj.get(key) {
            let a = a.as_array().ok_or_else(|| format!("{path}/{key}: expected an array"))?;
            for (i, s) in a.iter().enumerate() {
                check_json_schema(s, &format!("{path}/{key}/{i}"))?;
            }
        }
    }
    if let Some(r) = obj.get("required") {
        if !r.as_array().is_some_and(|a| a.iter().all(|s| s.is_string())) {
            return Err(format!("{path}/required: expected an array of strings"));
        }
    }
    Ok(())
}

/// Compiles `text` (`.proto` source or a base64-encoded `FileDescriptorProto`, as Python's
/// serializer registers) with its imports; the root file's descriptor.
fn compile_proto(text: &str, deps: &[(String, String)]) -> Result<FileDescriptor, String> {
    brook_schema::protobuf::compile_file(ROOT_PROTO, text, deps)
}

/// The text stored for a schema: JSON without the whitespace between tokens (Avro, JSON
/// Schema), key order kept; `.proto` text as given.
pub(crate) fn stored_text(schema_type: SchemaType, text: &str) -> String {
    match schema_type {
        SchemaType::Avro | SchemaType::Json => minify_json(text),
        SchemaType::Protobuf => text.to_owned(),
    }
}

/// The normalized text (`?normalize=true`): JSON objects with their keys sorted (Avro, JSON
/// Schema); `.proto` text with its lines trimmed and blank lines dropped.
pub(crate) fn normalized_text(schema_type: SchemaType, text: &str) -> String {
    match schema_type {
        SchemaType::Avro | SchemaType::Json => match serde_json::from_str::<serde_json::Value>(text) {
            // serde_json's map is ordered by key.
            Ok(v) => v.to_string(),
            Err(_) => minify_json(text),
        },
        SchemaType::Protobuf => text.lines().map(str::trim).filter(|l| !l.is_empty()).collect::<Vec<_>>().join("\n"),
    }
}

/// Removes whitespace outside JSON strings.
pub(crate) fn minify_json(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut in_string = false;
    let mut escaped = false;
    for c in text.chars() {
        if in_string {
            out.push(c);
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_string = false;
            }
        } else if c == '"' {
            in_string = true;
            out.push(c);
        } else if !c.is_whitespace() {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolved(schema_type: SchemaType, text: &str) -> Resolved {
        Resolved { schema_type, text: text.into(), deps: vec![] }
    }

    #[test]
    fn minify_keeps_strings_and_order() {
        assert_eq!(minify_json("{ \"b\" : \"a b\\\" c\",\n \"a\": [1, 2] }"), "{\"b\":\"a b\\\" c\",\"a\":[1,2]}");
        assert_eq!(normalized_text(SchemaType::Json, "{\"b\":1, \"a\":2}"), "{\"a\":2,\"b\":1}");
    }

    #[test]
    fn invalid_schemas_are_rejected() {
        assert!(resolved(SchemaType::Avro, "{\"type\":\"record\",\"name\":\"r\"}").parse().is_err());
        assert!(resolved(SchemaType::Avro, "{\"type\":\"record\",\"name\":\"r\",\"fields\":[]}").parse().is_ok());
        assert!(resolved(SchemaType::Json, "[1]").parse().is_err());
        assert!(resolved(SchemaType::Json, "{\"type\":\"strin\"}").parse().is_err());
        assert!(resolved(SchemaType::Json, "{\"type\":\"object\",\"properties\":{\"a\":{\"type\":\"string\"}}}").parse().is_ok());
        assert!(resolved(SchemaType::Protobuf, "syntax = \"proto3\"; message M { string a = 1; }").parse().is_ok());
        assert!(resolved(SchemaType::Protobuf, "syntax = \"proto3\"; message M { Unknown a = 1; }").parse().is_err());
        assert!(resolved(SchemaType::Protobuf, "message {").parse().is_err());
        let ts = "syntax = \"proto3\"; import \"google/protobuf/timestamp.proto\"; message M { google.protobuf.Timestamp t = 1; }";
        assert!(resolved(SchemaType::Protobuf, ts).parse().is_ok());
    }

    #[test]
    fn references_resolve() {
        let dep = "{\"type\":\"record\",\"name\":\"Inner\",\"namespace\":\"n\",\"fields\":[{\"name\":\"x\",\"type\":\"int\"}]}";
        let outer = "{\"type\":\"record\",\"name\":\"Outer\",\"namespace\":\"n\",\"fields\":[{\"name\":\"i\",\"type\":\"n.Inner\"}]}";
        assert!(resolved(SchemaType::Avro, outer).parse().is_err());
        let r = Resolved { schema_type: SchemaType::Avro, text: outer.into(), deps: vec![("n.Inner".into(), dep.into())] };
        assert!(r.parse().is_ok());
        let r = Resolved {
            schema_type: SchemaType::Protobuf,
            text: "syntax = \"proto3\"; import \"inner.proto\"; message O { I i = 1; }".into(),
            deps: vec![("inner.proto".into(), "syntax = \"proto3\"; message I { int32 x = 1; }".into())],
        };
        assert!(r.parse().is_ok());
    }
}
