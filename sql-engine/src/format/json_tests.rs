//! Tests of the `JSON` format; cases marked "ksqlDB" are `KsqlJsonDeserializerTest` /
//! `KsqlJsonSerializerTest` cases.

use super::*;
use crate::error::Error;
use crate::format::test_util::{cols, key_cols};
use crate::format::FormatInfo;
use crate::value::Decimal;

fn dec(unscaled: i128, precision: u8, scale: u8) -> Value {
    Value::Decimal(Decimal { unscaled, precision, scale })
}

fn value_serde(spec: &[(&str, SqlType)]) -> Arc<dyn RowSerde> {
    JsonFormat::new(None).row_serde(&cols(spec), false).unwrap()
}

fn unwrapped_serde(ty: SqlType) -> Arc<dyn RowSerde> {
    JsonFormat::new(Some(false)).row_serde(&cols(&[("V", ty)]), false).unwrap()
}

fn read(serde: &Arc<dyn RowSerde>, json: &str) -> Result<Option<Row>> {
    serde.deserialize(Some(json.as_bytes()), &SerdeContext::value("bob"))
}

fn read_one(ty: SqlType, json: &str) -> Result<Value> {
    read(&unwrapped_serde(ty), json).map(|r| r.unwrap().remove(0))
}

fn err(r: Result<impl std::fmt::Debug>) -> String {
    match r {
        Err(Error::Serde(m)) => m,
        other => panic!("expected a serde error, got {other:?}"),
    }
}

fn order_columns() -> Vec<(&'static str, SqlType)> {
    vec![
        ("ORDERTIME", SqlType::BigInt),
        ("@ORDERID", SqlType::BigInt),
        ("ITEMID", SqlType::String),
        ("ORDERUNITS", SqlType::Double),
        ("caseField", SqlType::BigInt),
        ("ARRAYCOL", SqlType::Array(Box::new(SqlType::Double))),
        ("MAPCOL", SqlType::Map(Box::new(SqlType::String), Box::new(SqlType::Double))),
        ("TIMEFIELD", SqlType::Time),
        ("DATEFIELD", SqlType::Date),
        ("TIMESTAMPFIELD", SqlType::Timestamp),
        ("BYTESFIELD", SqlType::Bytes),
    ]
}

#[test]
fn ksqldb_order_deserializes_case_insensitively() {
    let serde = value_serde(&order_columns());
    let json = r#"{"ordertime":1511897796092,"@orderid":1,"itemid":"Item_1","orderunits":10.0,
        "arraycol":[10.0,20.0],"mapcol":{"key1":10.0},"caseField":1,"timefield":1000,
        "datefield":10,"timestampfield":1000,"bytesfield":"ew==","extraField":"ignored"}"#;
    let row = read(&serde, json).unwrap().unwrap();
    assert_eq!(
        row,
        vec![
            Value::BigInt(1511897796092),
            Value::BigInt(1),
            Value::String("Item_1".into()),
            Value::Double(10.0),
            Value::BigInt(1),
            Value::Array(vec![Value::Double(10.0), Value::Double(20.0)]),
            Value::Map(vec![(Value::String("key1".into()), Value::Double(10.0))]),
            Value::Time(1000),
            Value::Date(10),
            Value::Timestamp(1000),
            Value::Bytes(vec![123]),
        ]
    );
    // ksqlDB: a quoted lower-case column does not match an upper-case JSON key.
    let row = read(&serde, r#"{"CASEFIELD":1}"#).unwrap().unwrap();
    assert_eq!(row[4], Value::Null);
    // Missing fields are NULL.
    assert!(read(&serde, "{}").unwrap().unwrap().iter().all(Value::is_null));
}

#[test]
fn ksqldb_errors_name_node_type_and_path() {
    let serde = value_serde(&order_columns());
    let m = err(read(&serde, "true"));
    assert!(m.starts_with("Failed to deserialize value from topic: bob. Can't convert type. sourceType: BooleanNode, requiredType: STRUCT<ORDERTIME BIGINT, @ORDERID BIGINT, ITEMID VARCHAR,"), "{m}");
    assert!(m.ends_with(", path: $"), "{m}");
    assert_eq!(
        err(read(&serde, r#"{"ordertime":true}"#)),
        "Failed to deserialize value from topic: bob. Can't convert type. sourceType: BooleanNode, requiredType: BIGINT, path: $.ORDERTIME"
    );
    let ints = unwrapped_serde(SqlType::Array(Box::new(SqlType::Int)));
    assert_eq!(
        err(read(&ints, r#"[0,"not","numbers"]"#)),
        "Failed to deserialize value from topic: bob. Can't coerce string to type. targetType: INTEGER, path: $[1]"
    );
    let map = unwrapped_serde(SqlType::Map(Box::new(SqlType::String), Box::new(SqlType::Int)));
    assert!(err(read(&map, r#"{"a":1,"b":true}"#)).ends_with("sourceType: BooleanNode, requiredType: INTEGER, path: $.b.value"));
    assert!(err(read(&map, "true")).contains("requiredType: MAP<VARCHAR, INT>, path: $"));
    let strings = unwrapped_serde(SqlType::Array(Box::new(SqlType::String)));
    assert!(err(read(&strings, "true")).contains("sourceType: BooleanNode, requiredType: ARRAY<VARCHAR>"));
    for (ty, name) in [
        (SqlType::Boolean, "sourceType: IntNode, requiredType: BOOLEAN"),
        (SqlType::Int, "sourceType: BooleanNode, requiredType: INTEGER"),
        (SqlType::Double, "sourceType: BooleanNode, requiredType: DOUBLE"),
        (SqlType::Time, "sourceType: BooleanNode, requiredType: TIME"),
        (SqlType::Date, "sourceType: BooleanNode, requiredType: DATE"),
        (SqlType::Timestamp, "sourceType: BooleanNode, requiredType: TIMESTAMP"),
        (SqlType::Decimal { precision: 20, scale: 19 }, "sourceType: BooleanNode, requiredType: DECIMAL(20, 19)"),
    ] {
        let input = if ty == SqlType::Boolean { "23" } else { "true" };
        let m = err(read_one(ty, input));
        assert!(m.contains(name), "{m}");
    }
}

#[test]
fn ksqldb_coercions() {
    for json in ["41", "41.456", "\"41\""] {
        assert_eq!(read_one(SqlType::Int, json).unwrap(), Value::Int(41));
    }
    for json in ["42", "42.456", "\"42\""] {
        assert_eq!(read_one(SqlType::BigInt, json).unwrap(), Value::BigInt(42));
    }
    for json in ["42", "42.000", "\"42\"", "\"42.000\""] {
        assert_eq!(read_one(SqlType::Double, json).unwrap(), Value::Double(42.0));
    }
    let texts = [
        ("true", "true"),
        ("42", "42"),
        ("42.000", "42.000"),
        ("\"just a string\"", "just a string"),
        ("{\"json\": \"object\"}", "{\"json\":\"object\"}"),
        ("[\"json\", \"array\"]", "[json, array]"),
    ];
    for (json, want) in texts {
        assert_eq!(read_one(SqlType::String, json).unwrap(), Value::String(want.into()), "{json}");
    }
    let nested = r#"{"itemid": {"CATEGORY": {"ID":2, "NAME":"Food"}, "ITEMID":6, "NAME":"Item_6"}}"#;
    assert_eq!(
        read(&value_serde(&[("ITEMID", SqlType::String)]), nested).unwrap().unwrap(),
        vec![Value::String(r#"{"CATEGORY":{"ID":2,"NAME":"Food"},"ITEMID":6,"NAME":"Item_6"}"#.into())]
    );
    let longs = SqlType::Array(Box::new(SqlType::BigInt));
    assert_eq!(read_one(longs, r#"[42, 42.000, "42"]"#).unwrap(), Value::Array(vec![Value::BigInt(42); 3]));
    assert!(read_one(SqlType::Int, "\"41.5\"").is_err());
    assert_eq!(read_one(SqlType::Int, "3000000000").unwrap(), Value::Int(3_000_000_000u32 as i32));
}

#[test]
fn ksqldb_decimals_keep_their_digits() {
    let d = SqlType::Decimal { precision: 20, scale: 19 };
    for json in ["1.1234512345123451234", "\"1.1234512345123451234\""] {
        assert_eq!(read_one(d.clone(), json).unwrap(), dec(11234512345123451234, 20, 19));
    }
    let v = read_one(SqlType::Decimal { precision: 3, scale: 1 }, "10.0").unwrap();
    assert!(matches!(v, Value::Decimal(Decimal { unscaled: 100, scale: 1, .. })));
    assert_eq!(read_one(SqlType::Decimal { precision: 4, scale: 3 }, "1.1").unwrap().to_owned(), dec(1100, 4, 3));
    assert_eq!(read_one(SqlType::Decimal { precision: 3, scale: 1 }, "1E+1").unwrap(), dec(100, 3, 1));
    let m = err(read_one(SqlType::Decimal { precision: 4, scale: 1 }, "1.12"));
    assert!(m.contains("Cannot fit decimal '1.12' into DECIMAL(4, 1) without rounding."), "{m}");
    // Written as a number with exactly `scale` digits.
    let s = value_serde(&[("D", SqlType::Decimal { precision: 4, scale: 2 })]);
    let bytes = s.serialize(&[dec(1230, 4, 2)], &SerdeContext::value("t")).unwrap().unwrap();
    assert_eq!(bytes, br#"{"D":12.30}"#);
    // Below 10^-6 Jackson writes BigDecimal.toString()'s exponent form; it reads back exactly.
    let tiny = value_serde(&[("D", SqlType::Decimal { precision: 10, scale: 8 })]);
    let bytes = tiny.serialize(&[dec(12, 10, 8)], &SerdeContext::value("t")).unwrap().unwrap();
    assert_eq!(bytes, br#"{"D":1.2E-7}"#);
    assert_eq!(tiny.deserialize(Some(&bytes), &SerdeContext::value("t")).unwrap().unwrap(), vec![dec(12, 10, 8)]);
}

#[test]
fn ksqldb_temporal_and_bytes() {
    assert_eq!(read_one(SqlType::Time, "100").unwrap(), Value::Time(100));
    assert_eq!(read_one(SqlType::Date, "10").unwrap(), Value::Date(10));
    assert_eq!(read_one(SqlType::Timestamp, "100").unwrap(), Value::Timestamp(100));
    assert_eq!(read_one(SqlType::Bytes, "\"ew==\"").unwrap(), Value::Bytes(vec![123]));
    assert!(err(read_one(SqlType::Bytes, "\"abc\"")).contains("Value is not a valid Base64 encoded string: abc"));
    assert!(err(read_one(SqlType::Time, "86400001")).contains("Time values must use number of milliseconds"));
}

#[test]
fn nulls_and_tombstones() {
    let s = value_serde(&[("A", SqlType::Int), ("B", SqlType::Int)]);
    assert_eq!(s.deserialize(None, &SerdeContext::value("t")).unwrap(), None);
    assert_eq!(read(&s, "null").unwrap(), None);
    assert_eq!(read(&s, r#"{"A":null}"#).unwrap(), Some(vec![Value::Null, Value::Null]));
    let u = unwrapped_serde(SqlType::Int);
    assert_eq!(read(&u, "null").unwrap(), Some(vec![Value::Null]));
    assert!(err(read(&s, "")).contains("sourceType: MissingNode"));
}

#[test]
fn writes_objects_with_column_names_and_bare_single_keys() {
    let ctx = SerdeContext::value("t");
    let s = value_serde(&[("A", SqlType::Int), ("b", SqlType::String), ("N", SqlType::Double)]);
    let row = vec![Value::Int(1), Value::String("x\"y".into()), Value::Null];
    assert_eq!(s.serialize(&row, &ctx).unwrap().unwrap(), br#"{"A":1,"b":"x\"y","N":null}"#);
    let key = JsonFormat::new(None).row_serde(&key_cols(&[("K", SqlType::String)]), true).unwrap();
    assert_eq!(key.serialize(&[Value::String("k".into())], &SerdeContext::key("t")).unwrap().unwrap(), b"\"k\"");
    let multi = JsonFormat::new(None).row_serde(&key_cols(&[("K1", SqlType::Int), ("K2", SqlType::Int)]), true).unwrap();
    assert_eq!(multi.serialize(&[Value::Int(1), Value::Int(2)], &SerdeContext::key("t")).unwrap().unwrap(), br#"{"K1":1,"K2":2}"#);
    // A single value column is wrapped unless WRAP_SINGLE_VALUE=false.
    let wrapped = JsonFormat::new(None).row_serde(&cols(&[("V", SqlType::Int)]), false).unwrap();
    assert_eq!(wrapped.serialize(&[Value::Int(5)], &ctx).unwrap().unwrap(), br#"{"V":5}"#);
    assert_eq!(unwrapped_serde(SqlType::Int).serialize(&[Value::Int(5)], &ctx).unwrap().unwrap(), b"5");
    assert_eq!(unwrapped_serde(SqlType::Int).serialize(&[Value::Null], &ctx).unwrap(), None);
    assert_eq!(key.serialize(&[Value::Null], &SerdeContext::key("t")).unwrap(), None);
    assert_eq!(wrapped.serialize(&[Value::Null], &ctx).unwrap().unwrap(), br#"{"V":null}"#);
    let e = err(s.serialize(&[Value::Int(1)], &ctx));
    assert_eq!(e, "Column count mismatch on serialization. topic: t, expected: 3, got: 1");
}

#[test]
fn every_type_round_trips() {
    let inner = SqlType::Struct(vec![("X".into(), SqlType::Int), ("Y".into(), SqlType::Array(Box::new(SqlType::String)))]);
    let spec = vec![
        ("BO", SqlType::Boolean),
        ("I", SqlType::Int),
        ("BI", SqlType::BigInt),
        ("D", SqlType::Double),
        ("DE", SqlType::Decimal { precision: 38, scale: 10 }),
        ("S", SqlType::String),
        ("BY", SqlType::Bytes),
        ("DA", SqlType::Date),
        ("TI", SqlType::Time),
        ("TS", SqlType::Timestamp),
        ("A", SqlType::Array(Box::new(SqlType::Decimal { precision: 4, scale: 2 }))),
        ("M", SqlType::Map(Box::new(SqlType::String), Box::new(inner.clone()))),
        ("ST", inner),
        ("NU", SqlType::Double),
    ];
    let row = vec![
        Value::Boolean(true),
        Value::Int(i32::MIN),
        Value::BigInt(i64::MAX),
        Value::Double(1.5e-300),
        dec(-12_345_678_901_234_567_890_123_456_789_012_345_678, 38, 10),
        Value::String("tab\t \u{1} é 😀".into()),
        Value::Bytes(vec![0, 1, 2, 254, 255]),
        Value::Date(-3),
        Value::Time(86_399_999),
        Value::Timestamp(-1),
        Value::Array(vec![dec(-5, 4, 2), Value::Null]),
        Value::Map(vec![(
            Value::String("k".into()),
            Value::Struct(vec![("X".into(), Value::Int(1)), ("Y".into(), Value::Array(vec![Value::String("a".into())]))]),
        )]),
        Value::Struct(vec![("X".into(), Value::Null), ("Y".into(), Value::Null)]),
        Value::Double(f64::NEG_INFINITY),
    ];
    let s = value_serde(&spec);
    let ctx = SerdeContext::value("t");
    let bytes = s.serialize(&row, &ctx).unwrap().unwrap();
    insta::assert_snapshot!(String::from_utf8(bytes.clone()).unwrap(), @r#"{"BO":true,"I":-2147483648,"BI":9223372036854775807,"D":1.5E-300,"DE":-1234567890123456789012345678.9012345678,"S":"tab\t \u0001 é 😀","BY":"AAEC/v8=","DA":-3,"TI":86399999,"TS":-1,"A":[-0.05,null],"M":{"k":{"X":1,"Y":["a"]}},"ST":{"X":null,"Y":null},"NU":"-Infinity"}"#);
    assert_eq!(s.deserialize(Some(&bytes), &ctx).unwrap().unwrap(), row);
}

#[test]
fn hostile_input_is_a_serde_error() {
    let s = value_serde(&[("A", SqlType::Array(Box::new(SqlType::String)))]);
    let deep = format!("{{\"A\":{}", "[".repeat(5000));
    assert!(err(read(&s, &deep)).contains("nesting depth"));
    let m = err(s.deserialize(Some(b"{\"A\":[\"\xff\"]}"), &SerdeContext::value("t")));
    assert!(m.starts_with("Failed to deserialize value from topic: t. Invalid UTF-8"), "{m}");
    let m = err(read(&s, "{bad json containing personal info: do not log me"));
    assert_eq!(m, "Failed to deserialize value from topic: bob. Unexpected character ('b' (code 98)): was expecting double-quote to start field name");
    for bad in ["{\"A\":", "{\"A\":[1,", "[", "\"", "{\"A\":\"\\ud800\"}"] {
        // Truncations fail; a lone surrogate escape decodes to U+FFFD as in Java.
        let r = read(&s, bad);
        assert!(r.is_err() || bad.contains("ud800"), "{bad}: {r:?}");
    }
    // Strings nested in STRING columns go through the same depth limit.
    let text = value_serde(&[("A", SqlType::String)]);
    assert!(read(&text, &format!("{{\"A\":{}{}}}", "[".repeat(200), "]".repeat(200))).is_ok());
}

#[test]
fn format_info_wrapping_reaches_the_serde() {
    let info = FormatInfo::of("json").with_wrap_single_value(false);
    let serde = crate::format::format_for(&info).unwrap().row_serde(&cols(&[("V", SqlType::String)]), false).unwrap();
    assert_eq!(serde.serialize(&[Value::String("x".into())], &SerdeContext::value("t")).unwrap().unwrap(), b"\"x\"");
}
