//! Avro: Avro's schema-resolution rules (the specification's "Schema Resolution", as Avro's
//! Java `SchemaCompatibility` applies them and Confluent's `AvroCompatibilityChecker` calls
//! it), through `apache_avro`'s checker. A partial match (a union or enum whose writer
//! branches the reader covers only in part) is incompatible, as in Java.

use apache_avro::schema_compatibility::{Compatibility, SchemaCompatibility};
use apache_avro::Schema;

pub(super) fn can_read(reader: &Schema, writer: &Schema) -> Vec<String> {
    match SchemaCompatibility::can_read(writer, reader) {
        Ok(Compatibility::Full) => vec![],
        Ok(Compatibility::Partial) => vec![
            "{errorType:'MISSING_UNION_BRANCH_OR_ENUM_SYMBOL', description:'The new schema can read only some of what the old one wrote (a union branch or an enum symbol is missing)'}".to_owned(),
        ],
        Err(e) => vec![format!("{{errorType:'READER_CANNOT_READ_WRITER', description:'{e}'}}")],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(t: &str) -> Schema {
        Schema::parse_str(t).unwrap()
    }

    const V1: &str = r#"{"type":"record","name":"User","fields":[{"name":"name","type":"string"}]}"#;

    #[test]
    fn resolution_rules() {
        let with_default = s(r#"{"type":"record","name":"User","fields":[{"name":"name","type":"string"},{"name":"age","type":"int","default":0}]}"#);
        let without_default = s(r#"{"type":"record","name":"User","fields":[{"name":"name","type":"string"},{"name":"age","type":"int"}]}"#);
        assert!(can_read(&with_default, &s(V1)).is_empty(), "a field with a default is backward compatible");
        assert!(!can_read(&without_default, &s(V1)).is_empty(), "a new field without a default is not");
        assert!(can_read(&s(V1), &without_default).is_empty(), "a reader ignores the writer's extra fields");
        assert!(can_read(&s(r#""long""#), &s(r#""int""#)).is_empty(), "int promotes to long");
        assert!(!can_read(&s(r#""int""#), &s(r#""long""#)).is_empty());
        assert!(can_read(&s(r#"["null","string"]"#), &s(r#""string""#)).is_empty());
        assert!(!can_read(&s(r#""string""#), &s(r#"["null","string"]"#)).is_empty(), "a writer union branch the reader lacks");
        let e1 = s(r#"{"type":"enum","name":"E","symbols":["A","B"]}"#);
        let e2 = s(r#"{"type":"enum","name":"E","symbols":["A"]}"#);
        assert!(!can_read(&e2, &e1).is_empty());
        assert!(can_read(&e1, &e2).is_empty());
        let renamed = s(r#"{"type":"record","name":"Other","fields":[{"name":"name","type":"string"}]}"#);
        assert!(!can_read(&renamed, &s(V1)).is_empty());
    }
}
