use super::*;
use crate::parser::ast::Properties;
use crate::value::{ColumnNamespace, SqlType};

fn props(spec: &[(&str, Literal)]) -> Properties {
    spec.iter().map(|(k, v)| ((*k).to_string(), v.clone())).collect()
}

fn s(v: &str) -> Literal {
    Literal::String(v.into())
}

fn read(spec: &[(&str, Literal)]) -> Result<SourceFormats> {
    formats_from_properties(&props(spec), &FormatDefaults::default())
}

fn msg(r: Result<impl std::fmt::Debug>) -> String {
    match r {
        Err(Error::Analysis(m)) => m,
        other => panic!("expected an analysis error, got {other:?}"),
    }
}

fn schema(key: &[SqlType], value: &[SqlType]) -> LogicalSchema {
    let mut columns = Vec::new();
    for (i, t) in key.iter().enumerate() {
        columns.push(Column { name: format!("K{i}"), ty: t.clone(), namespace: ColumnNamespace::Key });
    }
    for (i, t) in value.iter().enumerate() {
        columns.push(Column { name: format!("V{i}"), ty: t.clone(), namespace: ColumnNamespace::Value });
    }
    LogicalSchema { columns }
}

#[test]
fn defaults_and_format_shorthand() {
    let f = read(&[("VALUE_FORMAT", s("json"))]).unwrap();
    assert_eq!((f.key.format.as_str(), f.value.format.as_str()), ("KAFKA", "JSON"));
    let f = read(&[("FORMAT", s("Delimited"))]).unwrap();
    assert_eq!((f.key.format.as_str(), f.value.format.as_str()), ("DELIMITED", "DELIMITED"));
    let f = read(&[("KEY_FORMAT", s("JSON")), ("VALUE_FORMAT", s("KAFKA"))]).unwrap();
    assert_eq!((f.key.format.as_str(), f.value.format.as_str()), ("JSON", "KAFKA"));
    let defaults = FormatDefaults { value_format: Some("JSON".into()), ..FormatDefaults::default() };
    assert_eq!(formats_from_properties(&[], &defaults).unwrap().value.format, "JSON");
}

#[test]
fn ksqldb_messages_for_bad_combinations() {
    assert_eq!(
        msg(read(&[("KEY_FORMAT", s("KAFKA")), ("FORMAT", s("JSON"))])),
        "Cannot supply both 'KEY_FORMAT' and 'FORMAT' properties, as 'FORMAT' sets both key and value formats. Either use just 'FORMAT', or use 'KEY_FORMAT' and 'VALUE_FORMAT'."
    );
    assert!(msg(read(&[("VALUE_FORMAT", s("JSON")), ("FORMAT", s("KAFKA"))])).starts_with("Cannot supply both 'VALUE_FORMAT' and 'FORMAT'"));
    assert_eq!(
        msg(read(&[("KAFKA_TOPIC", s("t"))])),
        "Statement is missing the 'VALUE_FORMAT' property from the WITH clause. Either provide one or set a default via the 'ksql.persistence.default.format.value' config."
    );
    assert_eq!(msg(read(&[("VALUE_FORMAT", s("bob"))])), "Unknown format: BOB");
    assert_eq!(
        msg(read(&[("VALUE_FORMAT", s("JSON")), ("VALUE_DELIMITER", s("|"))])),
        "JSON does not support the following configs: [delimiter]"
    );
    assert!(msg(read(&[("VALUE_FORMAT", Literal::Int(1))])).starts_with("Invalid value 1 for property VALUE_FORMAT"));
    // ksqlDB's delimited.json cases.
    assert_eq!(
        msg(read(&[("VALUE_FORMAT", s("DELIMITED")), ("VALUE_DELIMITER", s("<~>"))])),
        "Failed to prepare statement: Configuration VALUE_DELIMITER is invalid: Invalid delimiter value: '<~>'. Delimiter must be a single character or TAB,SPACE\nExample valid value: ';'"
    );
    for blank in ["", " ", "\t"] {
        assert_eq!(
            msg(read(&[("VALUE_FORMAT", s("DELIMITED")), ("VALUE_DELIMITER", s(blank))])),
            "Failed to prepare statement: Configuration VALUE_DELIMITER is invalid: Delimiter cannot be empty, if you meant to have a tab or space for delimiter, please use the special values 'TAB' or 'SPACE'\nExample valid value: ';'"
        );
    }
    assert_eq!(
        msg(read(&[("VALUE_FORMAT", s("JSON")), ("WRAP_SINGLE_VALUE", Literal::Int(3))])),
        "Invalid value 3 for property WRAP_SINGLE_VALUE: Expected value to be either true or false"
    );
}

#[test]
fn delimiters_and_schema_properties_land_on_their_side() {
    let f = read(&[("FORMAT", s("DELIMITED")), ("KEY_DELIMITER", s("TAB")), ("VALUE_DELIMITER", s("|"))]).unwrap();
    assert_eq!(f.key.properties.get(DELIMITER).map(String::as_str), Some("TAB"));
    assert_eq!(f.value.properties.get(DELIMITER).map(String::as_str), Some("|"));
    let f = read(&[("FORMAT", s("AVRO")), ("KEY_SCHEMA_ID", Literal::Int(123)), ("VALUE_SCHEMA_ID", Literal::Int(456))]).unwrap();
    assert_eq!(f.key.properties.get(SCHEMA_ID).map(String::as_str), Some("123"));
    assert_eq!(f.value.properties.get(SCHEMA_ID).map(String::as_str), Some("456"));
    // ksqlDB's elements.json "validate key schema id wrong format without elements FAILS".
    assert_eq!(
        msg(read(&[("KEY_FORMAT", s("kafka")), ("VALUE_FORMAT", s("protobuf")), ("KEY_SCHEMA_ID", Literal::Int(1))])),
        "KEY_FORMAT should support schema inference when KEY_SCHEMA_ID is provided. Current format is KAFKA."
    );
    assert_eq!(
        msg(read(&[("VALUE_FORMAT", s("JSON")), ("VALUE_SCHEMA_ID", Literal::Int(1))])),
        "VALUE_FORMAT should support schema inference when VALUE_SCHEMA_ID is provided. Current format is JSON."
    );
    assert_eq!(
        crate::format::format_for(&FormatInfo::of("JSON").with_property(SCHEMA_ID, "1")).unwrap_err().to_string(),
        "JSON does not support the following configs: [schemaId]"
    );
}

#[test]
fn wrapping_rules() {
    let one = schema(&[], &[SqlType::Int]);
    let two = schema(&[], &[SqlType::Int, SqlType::Int]);
    let f = read(&[("VALUE_FORMAT", s("JSON")), ("WRAP_SINGLE_VALUE", Literal::Boolean(false))]).unwrap();
    assert_eq!(f.value.wrap_single_value, Some(false));
    f.validate(&one).unwrap();
    assert_eq!(msg(f.validate(&two)), "'WRAP_SINGLE_VALUE' is only valid for single-field value schemas");
    let f = read(&[("VALUE_FORMAT", s("KAFKA")), ("WRAP_SINGLE_VALUE", s("true"))]).unwrap();
    assert_eq!(msg(f.validate(&one)), "Format 'KAFKA' does not support 'WRAP_SINGLE_VALUE' set to 'true'.");
    let f = read(&[("VALUE_FORMAT", s("DELIMITED")), ("WRAP_SINGLE_VALUE", Literal::Boolean(false))]).unwrap();
    f.validate(&one).unwrap();
    // The server default applies only where the format honours it.
    let defaults = FormatDefaults { wrap_single_values: Some(true), ..FormatDefaults::default() };
    let f = formats_from_properties(&props(&[("VALUE_FORMAT", s("KAFKA"))]), &defaults).unwrap();
    assert_eq!(f.value.wrap_single_value, None);
}

#[test]
fn validate_checks_types_per_format() {
    let f = read(&[("VALUE_FORMAT", s("JSON"))]).unwrap();
    f.validate(&schema(&[SqlType::BigInt], &[SqlType::Array(Box::new(SqlType::Int))])).unwrap();
    assert!(msg(f.validate(&schema(&[SqlType::Boolean], &[SqlType::Int]))).ends_with("reason: The 'KAFKA' format does not support type 'BOOLEAN'"));
    // ksqlDB's partition-by.json "multiple columns - KAFKA key format".
    assert_eq!(
        msg(f.validate(&schema(&[SqlType::Int, SqlType::Int], &[SqlType::Int]))),
        "Key format does not support schema.\nformat: KAFKA\nschema: Persistence{columns=[`K0` INTEGER KEY, `K1` INTEGER KEY], features=[]}\nreason: The 'KAFKA' format only supports a single field. Got: [`K0` INTEGER KEY, `K1` INTEGER KEY]"
    );
    let json_key = read(&[("FORMAT", s("JSON")), ("WRAP_SINGLE_VALUE", Literal::Boolean(false))]).unwrap();
    json_key.validate(&schema(&[SqlType::Array(Box::new(SqlType::Int))], &[SqlType::Int])).unwrap();
    // Header columns are not part of the value format.
    let kafka = read(&[("FORMAT", s("KAFKA"))]).unwrap();
    let mut with_headers = schema(&[SqlType::Int], &[SqlType::String]);
    with_headers.columns.push(Column { name: "H".into(), ty: SqlType::Bytes, namespace: ColumnNamespace::Header(Some("h".into())) });
    kafka.validate(&with_headers).unwrap();
    // A keyless source keeps its declared KAFKA key format: no columns is the void serde.
    f.validate(&schema(&[], &[SqlType::Int])).unwrap();
    let none = read(&[("KEY_FORMAT", s("NONE")), ("VALUE_FORMAT", s("JSON"))]).unwrap();
    assert!(msg(none.validate(&schema(&[SqlType::String], &[SqlType::Int]))).ends_with("reason: The 'NONE' format can only be used when no columns are defined. Got: [`K0` STRING KEY]"));
}

#[test]
fn serdes_for_a_source() {
    use brook_state_store::Serde;
    let f = read(&[("KEY_FORMAT", s("KAFKA")), ("VALUE_FORMAT", s("DELIMITED"))]).unwrap();
    let (key, value) = f.serdes(&schema(&[SqlType::BigInt], &[SqlType::Int, SqlType::String])).unwrap();
    assert_eq!(Serde::<crate::value::Row>::serialize(&key, "t", &vec![crate::Value::BigInt(1)]).unwrap(), 1i64.to_be_bytes());
    let row = vec![crate::Value::Int(1), crate::Value::String("x".into())];
    assert_eq!(Serde::<crate::value::Row>::serialize(&value, "t", &row).unwrap(), b"1,x");
    assert!(f.serdes(&schema(&[SqlType::Boolean], &[SqlType::Int])).is_err());
}

#[test]
fn sinks_inherit_source_formats() {
    let defaults = FormatDefaults::default();
    // delimited.json: "should take source delimiter for sink", and an override.
    let source = read(&[("VALUE_FORMAT", s("DELIMITED")), ("VALUE_DELIMITER", s("|"))]).unwrap();
    let sink = sink_formats(&[], &source, &defaults, true).unwrap();
    assert_eq!(sink, source);
    let sink = sink_formats(&props(&[("VALUE_DELIMITER", s("$"))]), &source, &defaults, true).unwrap();
    assert_eq!(sink.value.properties.get(DELIMITER).map(String::as_str), Some("$"));
    let sink = sink_formats(&props(&[("VALUE_FORMAT", s("JSON"))]), &source, &defaults, true).unwrap();
    assert_eq!(sink.value, FormatInfo::of("JSON"));
    // none.json: a NONE key is not inherited once the sink has key columns.
    let keyless = read(&[("KEY_FORMAT", s("NONE")), ("VALUE_FORMAT", s("JSON"))]).unwrap();
    let json_default = FormatDefaults { key_format: Some("JSON".into()), ..FormatDefaults::default() };
    assert_eq!(sink_formats(&[], &keyless, &json_default, true).unwrap().key, FormatInfo::of("JSON"));
    assert_eq!(sink_formats(&[], &keyless, &json_default, false).unwrap().key, FormatInfo::of("NONE"));
    // Schema ids and wrapping stay with the source.
    let avro = read(&[("FORMAT", s("AVRO")), ("VALUE_SCHEMA_ID", Literal::Int(3)), ("WRAP_SINGLE_VALUE", Literal::Boolean(false))]).unwrap();
    let sink = sink_formats(&[], &avro, &defaults, true).unwrap();
    assert_eq!(sink.value, FormatInfo::of("AVRO"));
    assert!(msg(sink_formats(&props(&[("FORMAT", s("JSON")), ("KEY_FORMAT", s("KAFKA"))]), &avro, &defaults, true)).starts_with("Cannot supply both"));
}
