use std::collections::BTreeMap;

use brook_connect::converter::{converter_by_class, Converter, JsonConverter, StringConverter};
use brook_connect::data::{Schema, SchemaAndValue, SchemaType, Struct, Value};

fn person() -> SchemaAndValue {
    let schema = Schema::structure([
        ("id", Schema::of(SchemaType::Int32)),
        ("name", Schema::optional_string()),
        ("score", Schema::of(SchemaType::Float64)),
        ("tags", Schema::array(Schema::string())),
        ("attrs", Schema::map(Schema::string(), Schema::of(SchemaType::Int64))),
        ("raw", Schema::of(SchemaType::Bytes).optional()),
        ("nick", Schema::optional_string()),
    ])
    .named("com.example.Person");
    let values = vec![
        Value::Int32(7),
        Value::String("Ada".into()),
        Value::Float64(2.5),
        Value::Array(vec![Value::String("a".into()), Value::String("b".into())]),
        Value::Map(vec![(Value::String("x".into()), Value::Int64(1))]),
        Value::Bytes(b"hi".to_vec()),
        Value::Null,
    ];
    SchemaAndValue { schema: Some(schema.clone()), value: Value::Struct(Struct { schema, values }) }
}

fn json(schemas: bool) -> JsonConverter {
    let mut c = JsonConverter::new(true);
    let cfg: BTreeMap<String, String> = [("schemas.enable".to_owned(), schemas.to_string())].into();
    c.configure(&cfg, false).unwrap();
    c
}

fn text(c: &dyn Converter, d: &SchemaAndValue) -> String {
    match c.from_connect_data("t", d).unwrap() {
        None => "<null>".to_owned(),
        Some(b) => String::from_utf8(b).unwrap(),
    }
}

#[test]
fn json_converter_envelopes_golden() {
    let with = json(true);
    let without = json(false);
    let line = SchemaAndValue { schema: Some(Schema::string()), value: Value::String("hello \"world\"".into()) };
    let int_map = SchemaAndValue {
        schema: Some(Schema::map(Schema::of(SchemaType::Int32), Schema::optional_string())),
        value: Value::Map(vec![(Value::Int32(1), Value::String("one".into())), (Value::Int32(2), Value::Null)]),
    };
    let schemaless = SchemaAndValue {
        schema: None,
        value: Value::Map(vec![(Value::String("k".into()), Value::Array(vec![Value::Int64(1), Value::Boolean(true)]))]),
    };
    let mut out = String::new();
    for (name, d) in [("string", &line), ("struct", &person()), ("int-keyed map", &int_map), ("schemaless", &schemaless), ("null", &SchemaAndValue::null())] {
        out.push_str(&format!("{name}, schemas.enable=true:\n{}\n", text(&with, d)));
        out.push_str(&format!("{name}, schemas.enable=false:\n{}\n\n", text(&without, d)));
    }
    insta::assert_snapshot!(out);
}

#[test]
fn json_converter_round_trips_with_and_without_schemas() {
    let with = json(true);
    let p = person();
    let bytes = with.from_connect_data("t", &p).unwrap().unwrap();
    assert_eq!(with.to_connect_data("t", Some(&bytes)).unwrap(), p);

    // Without schemas the value reads back schemaless: integers int64, objects maps.
    let without = json(false);
    let bytes = without.from_connect_data("t", &p).unwrap().unwrap();
    let back = without.to_connect_data("t", Some(&bytes)).unwrap();
    assert_eq!(back.schema, None);
    let Value::Map(entries) = back.value else { panic!("expected a map, got {:?}", back.value) };
    assert_eq!(entries[1], (Value::String("id".into()), Value::Int64(7)));
    assert_eq!(without.to_connect_data("t", None).unwrap(), SchemaAndValue::null());
}

#[test]
fn json_converter_rejects_bad_input_with_kafkas_messages() {
    let with = json(true);
    let err = with.to_connect_data("t", Some(br#"{"a":1}"#)).unwrap_err().to_string();
    assert!(err.contains("requires \"schema\" and \"payload\" fields"), "{err}");
    let err = with.to_connect_data("t", Some(b"{not json")).unwrap_err().to_string();
    assert!(err.contains("Converting byte[] to Kafka Connect data failed due to serialization error"), "{err}");
    let err = with.to_connect_data("t", Some(br#"{"schema":{"type":"int8","optional":false},"payload":300}"#)).unwrap_err().to_string();
    assert!(err.contains("Invalid type for INT8"), "{err}");
    let err = with.to_connect_data("t", Some(br#"{"schema":{"type":"decimal"},"payload":1}"#)).unwrap_err().to_string();
    assert!(err.contains("unknown schema type \"decimal\""), "{err}");
    let wrong = SchemaAndValue { schema: Some(Schema::of(SchemaType::Int32)), value: Value::String("x".into()) };
    assert!(with.from_connect_data("t", &wrong).is_err());
    let required_null = SchemaAndValue { schema: Some(Schema::string()), value: Value::Null };
    assert!(with.from_connect_data("t", &required_null).is_err());
    let mut bad = JsonConverter::new(true);
    let cfg: BTreeMap<String, String> = [("schemas.enable".to_owned(), "yes".to_owned())].into();
    assert!(bad.configure(&cfg, false).is_err());
}

#[test]
fn string_and_bytearray_converters() {
    let s = converter_by_class("org.apache.kafka.connect.storage.StringConverter").unwrap();
    let d = SchemaAndValue { schema: Some(Schema::optional_string()), value: Value::String("héllo".into()) };
    let bytes = s.from_connect_data("t", &d).unwrap().unwrap();
    assert_eq!(bytes, "héllo".as_bytes());
    assert_eq!(s.to_connect_data("t", Some(&bytes)).unwrap(), d);
    assert!(s.to_connect_data("t", Some(&[0xff, 0xfe])).is_err());
    // Anything else is written as its toString(), as Kafka's StringConverter does.
    assert_eq!(StringConverter.from_connect_data("t", &person()).unwrap().unwrap(), b"Struct{id=7,name=Ada,score=2.5,tags=[a, b],attrs={x=1},raw=hi}");

    let b = converter_by_class("org.apache.kafka.connect.converters.ByteArrayConverter").unwrap();
    let d = SchemaAndValue { schema: Some(Schema::of(SchemaType::Bytes).optional()), value: Value::Bytes(vec![0, 1, 255]) };
    let bytes = b.from_connect_data("t", &d).unwrap().unwrap();
    assert_eq!(bytes, vec![0, 1, 255]);
    assert_eq!(b.to_connect_data("t", Some(&bytes)).unwrap(), d);
    assert!(b.from_connect_data("t", &SchemaAndValue { schema: Some(Schema::string()), value: Value::String("x".into()) }).is_err());
    assert!(converter_by_class("com.example.NoSuchConverter").is_err());
}

/// A struct with Decimals of scale 2 (one optional, null) and a negative one of scale 0.
fn prices() -> SchemaAndValue {
    use brook_connect::decimal::{self, BigDecimal};
    let schema = Schema::structure([
        ("price", decimal::schema(2)),
        ("discount", decimal::schema(2).optional()),
        ("delta", decimal::schema(0)),
    ]);
    let d = |text: &str, scale: i32| Value::Bytes(BigDecimal::parse(text).unwrap().rescale(scale).unwrap().to_unscaled_bytes());
    let values = vec![d("1234567.89", 2), Value::Null, d("-42", 0)];
    SchemaAndValue { schema: Some(schema.clone()), value: Value::Struct(Struct { schema, values }) }
}

#[test]
fn json_converter_decimals_as_base64_or_numbers_golden() {
    let base64 = json(true);
    let mut numeric = JsonConverter::new(true);
    let cfg: BTreeMap<String, String> = [("decimal.format".to_owned(), "numeric".to_owned())].into();
    numeric.configure(&cfg, false).unwrap();
    let p = prices();
    let as_base64 = text(&base64, &p);
    let as_numbers = text(&numeric, &p);
    insta::assert_snapshot!(format!("decimal.format=BASE64:\n{as_base64}\ndecimal.format=NUMERIC:\n{as_numbers}\n"));
    // Either converter reads either form back to the same Decimals, as Kafka's does.
    for bytes in [as_base64.as_bytes(), as_numbers.as_bytes()] {
        assert_eq!(base64.to_connect_data("t", Some(bytes)).unwrap(), p);
        assert_eq!(numeric.to_connect_data("t", Some(bytes)).unwrap(), p);
    }
    // A number beyond a float64's digits is read exactly, from its text.
    let big = base64
        .to_connect_data("t", Some(br#"{"schema":{"type":"array","items":{"type":"bytes","optional":false,"name":"org.apache.kafka.connect.data.Decimal","version":1,"parameters":{"scale":"10"}},"optional":false},"payload":[12345678901234567890.0123456789]}"#))
        .unwrap();
    let Value::Array(items) = big.value else { panic!("{:?}", big.value) };
    let Value::Bytes(b) = &items[0] else { panic!("{items:?}") };
    assert_eq!(brook_connect::decimal::BigDecimal::from_unscaled_bytes(b, 10).unwrap().to_plain_string(), "12345678901234567890.0123456789");
    // A number with more fraction digits than the scale cannot be read without rounding.
    let err = base64
        .to_connect_data("t", Some(br#"{"schema":{"type":"bytes","optional":false,"name":"org.apache.kafka.connect.data.Decimal","version":1,"parameters":{"scale":"1"}},"payload":1.25}"#))
        .unwrap_err()
        .to_string();
    assert!(err.contains("Rounding necessary"), "{err}");
    let mut bad = JsonConverter::new(true);
    let cfg: BTreeMap<String, String> = [("decimal.format".to_owned(), "text".to_owned())].into();
    let err = bad.configure(&cfg, false).unwrap_err().to_string();
    assert!(err.contains("decimal.format"), "{err}");
}
