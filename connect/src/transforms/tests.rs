//! Each transformation and predicate on records with and without schemas, and the chain's
//! config, against Kafka's behaviour and messages.

use super::*;
use crate::connector::Header;

fn cfg(pairs: &[(&str, &str)]) -> Config {
    pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
}

fn chain(pairs: &[(&str, &str)]) -> TransformationChain {
    TransformationChain::from_config(&cfg(pairs)).unwrap()
}

fn chain_err(pairs: &[(&str, &str)]) -> String {
    TransformationChain::from_config(&cfg(pairs)).unwrap_err().to_string()
}

fn s(v: &str) -> Value {
    Value::String(v.to_owned())
}

/// A struct `{id: int32, name: optional string}` value named `person`.
fn person(id: i32, name: &str) -> SchemaAndValue {
    let schema = Schema::structure([("id", Schema::of(SchemaType::Int32)), ("name", Schema::optional_string())]).named("person");
    SchemaAndValue { schema: Some(schema.clone()), value: make_struct(schema, vec![Value::Int32(id), s(name)]) }
}

fn map(entries: &[(&str, Value)]) -> SchemaAndValue {
    SchemaAndValue { schema: None, value: Value::Map(entries.iter().map(|(k, v)| (s(k), v.clone())).collect()) }
}

fn record(value: SchemaAndValue) -> ConnectRecord {
    let mut r = ConnectRecord::new("orders", SchemaAndValue::null(), value);
    r.partition = Some(3);
    r.timestamp = Some(1_700_000_000_123);
    r
}

fn apply(c: &TransformationChain, r: ConnectRecord, offset: Option<i64>) -> ConnectRecord {
    c.apply(r, offset).unwrap().expect("record kept")
}

fn err(c: &TransformationChain, r: ConnectRecord, offset: Option<i64>) -> (String, String) {
    let (class, e) = c.apply(r, offset).unwrap_err();
    (class, e.to_string())
}

fn field_names(v: &SchemaAndValue) -> Vec<String> {
    v.schema.as_ref().unwrap().fields.iter().map(|f| f.name.clone()).collect()
}

#[test]
fn insert_field_with_schema_and_schemaless() {
    let c = chain(&[
        ("transforms", "ins"),
        ("transforms.ins.type", "org.apache.kafka.connect.transforms.InsertField$Value"),
        ("transforms.ins.topic.field", "t!"),
        ("transforms.ins.partition.field", "p"),
        ("transforms.ins.offset.field", "o"),
        ("transforms.ins.timestamp.field", "ts"),
        ("transforms.ins.static.field", "src"),
        ("transforms.ins.static.value", "file"),
    ]);
    let out = apply(&c, record(person(1, "a")), Some(42));
    assert_eq!(field_names(&out.value), ["id", "name", "t", "p", "o", "ts", "src"]);
    let schema = out.value.schema.as_ref().unwrap();
    assert_eq!(schema.name.as_deref(), Some("person"));
    assert!(!schema.fields[2].schema.optional, "t! is required");
    assert!(schema.fields[3].schema.optional);
    assert_eq!(schema.fields[5].schema.name.as_deref(), Some("org.apache.kafka.connect.data.Timestamp"));
    assert_eq!(out.value.value.to_string(), "Struct{id=1,name=a,t=orders,p=3,o=42,ts=1700000000123,src=file}");

    let out = apply(&c, record(map(&[("id", Value::Int64(1))])), Some(42));
    assert_eq!(out.value.value.to_string(), "{id=1, t=orders, p=3, o=42, ts=1700000000123, src=file}");

    // Offsets exist only on sink records; tombstones pass; a string is neither map nor struct.
    assert_eq!(
        err(&c, record(person(1, "a")), None),
        (
            "org.apache.kafka.connect.transforms.InsertField$Value".to_owned(),
            "Only SinkRecord supported for [field insertion], found: org.apache.kafka.connect.source.SourceRecord".to_owned()
        )
    );
    let tomb = record(SchemaAndValue::null());
    assert_eq!(apply(&c, tomb.clone(), Some(1)), tomb);
    let text = record(SchemaAndValue { schema: None, value: s("x") });
    assert_eq!(err(&c, text, Some(1)).1, "Only Map objects supported in absence of schema for [field insertion], found: java.lang.String");
}

#[test]
fn replace_field_include_exclude_renames() {
    let c = chain(&[
        ("transforms", "r"),
        ("transforms.r.type", "ReplaceField$Value"),
        ("transforms.r.exclude", "name"),
        ("transforms.r.renames", "id:person_id"),
    ]);
    let out = apply(&c, record(person(7, "b")), None);
    assert_eq!(field_names(&out.value), ["person_id"]);
    assert_eq!(out.value.value.to_string(), "Struct{person_id=7}");
    let out = apply(&c, record(map(&[("id", Value::Int64(7)), ("name", s("b")), ("x", Value::Boolean(true))])), None);
    assert_eq!(out.value.value.to_string(), "{person_id=7, x=true}");

    let c = chain(&[("transforms", "r"), ("transforms.r.type", "ReplaceField$Value"), ("transforms.r.include", "name")]);
    assert_eq!(apply(&c, record(person(7, "b")), None).value.value.to_string(), "Struct{name=b}");
    assert_eq!(
        chain_err(&[("transforms", "r"), ("transforms.r.type", "ReplaceField$Value"), ("transforms.r.renames", "a:b:c")]),
        "Invalid configuration of transformation r (ReplaceField$Value): Invalid value a:b:c for configuration renames: Invalid rename mapping: a:b:c"
    );
}

#[test]
fn value_to_key_then_extract_field() {
    let c = chain(&[
        ("transforms", "k,e"),
        ("transforms.k.type", "org.apache.kafka.connect.transforms.ValueToKey"),
        ("transforms.k.fields", "id"),
        ("transforms.e.type", "org.apache.kafka.connect.transforms.ExtractField$Key"),
        ("transforms.e.field", "id"),
    ]);
    let out = apply(&c, record(person(5, "c")), None);
    assert_eq!(out.key, SchemaAndValue { schema: Some(Schema::of(SchemaType::Int32)), value: Value::Int32(5) });
    assert_eq!(out.value, person(5, "c").clone());
    let out = apply(&c, record(map(&[("id", Value::Int64(5))])), None);
    assert_eq!(out.key, SchemaAndValue { schema: None, value: Value::Int64(5) });

    let missing = chain(&[("transforms", "k"), ("transforms.k.type", "ValueToKey"), ("transforms.k.fields", "nope")]);
    assert_eq!(err(&missing, record(person(1, "a")), None).1, "Field does not exist: nope");
    let unknown = chain(&[("transforms", "e"), ("transforms.e.type", "ExtractField$Value"), ("transforms.e.field", "nope")]);
    assert_eq!(err(&unknown, record(person(1, "a")), None).1, "Unknown field: nope");
    assert_eq!(
        chain_err(&[("transforms", "k"), ("transforms.k.type", "ValueToKey")]),
        "Invalid configuration of transformation k (ValueToKey): Invalid value null for configuration fields: Empty list"
    );
}

#[test]
fn timestamp_converter_between_kinds() {
    let to_string = chain(&[
        ("transforms", "t"),
        ("transforms.t.type", "TimestampConverter$Value"),
        ("transforms.t.field", "ts"),
        ("transforms.t.target.type", "string"),
        ("transforms.t.format", "yyyy-MM-dd HH:mm:ss.SSS"),
    ]);
    let schema = Schema::structure([("ts", timestamp_schema(false))]);
    let v = SchemaAndValue { schema: Some(schema.clone()), value: make_struct(schema, vec![Value::Int64(1_700_000_000_123)]) };
    let out = apply(&to_string, record(v), None);
    assert_eq!(out.value.value.to_string(), "Struct{ts=2023-11-14 22:13:20.123}");
    assert_eq!(out.value.schema.unwrap().fields[0].schema, Schema::string());

    // Schemaless: a string back to unix seconds.
    let to_unix = chain(&[
        ("transforms", "t"),
        ("transforms.t.type", "TimestampConverter$Value"),
        ("transforms.t.field", "ts"),
        ("transforms.t.target.type", "unix"),
        ("transforms.t.format", "yyyy-MM-dd HH:mm:ss.SSS"),
        ("transforms.t.unix.precision", "seconds"),
    ]);
    let out = apply(&to_unix, record(map(&[("ts", s("2023-11-14 22:13:20.123"))])), None);
    assert_eq!(out.value.value.to_string(), "{ts=1700000000}");
    assert_eq!(
        err(&to_unix, record(map(&[("ts", s("yesterday"))])), None).1,
        "Could not parse timestamp: value (yesterday) does not match pattern (yyyy-MM-dd HH:mm:ss.SSS)"
    );

    // The whole value: unix millis -> Date (days) and Time (millis of the day).
    for (target, expect) in [("Date", Value::Int32(19675)), ("Time", Value::Int32(80_000_123)), ("Timestamp", Value::Int64(1_700_000_000_123))] {
        let c = chain(&[("transforms", "t"), ("transforms.t.type", "TimestampConverter$Value"), ("transforms.t.target.type", target)]);
        let v = SchemaAndValue { schema: Some(Schema::of(SchemaType::Int64)), value: Value::Int64(1_700_000_000_123) };
        let out = apply(&c, record(v), None);
        assert_eq!(out.value.value, expect, "{target}");
        assert_eq!(out.value.schema.unwrap().name.as_deref(), Some(format!("org.apache.kafka.connect.data.{target}").as_str()));
    }
    assert_eq!(
        chain_err(&[("transforms", "t"), ("transforms.t.type", "TimestampConverter$Value"), ("transforms.t.target.type", "string")]),
        "Invalid configuration of transformation t (TimestampConverter$Value): TimestampConverter requires format option to be specified when using string timestamps"
    );
    assert_eq!(
        chain_err(&[("transforms", "t"), ("transforms.t.type", "TimestampConverter$Value"), ("transforms.t.target.type", "epoch")]),
        "Invalid configuration of transformation t (TimestampConverter$Value): Unknown timestamp type in TimestampConverter: epoch. Valid values are string, unix, Date, Time, Timestamp."
    );
}

#[test]
fn filter_with_predicates_and_negate() {
    let c = chain(&[
        ("transforms", "dropTombstones,keepOrders"),
        ("transforms.dropTombstones.type", "org.apache.kafka.connect.transforms.Filter"),
        ("transforms.dropTombstones.predicate", "isTombstone"),
        ("transforms.keepOrders.type", "org.apache.kafka.connect.transforms.Filter"),
        ("transforms.keepOrders.predicate", "isOrders"),
        ("transforms.keepOrders.negate", "true"),
        ("predicates", "isTombstone,isOrders"),
        ("predicates.isTombstone.type", "org.apache.kafka.connect.transforms.predicates.RecordIsTombstone"),
        ("predicates.isOrders.type", "org.apache.kafka.connect.transforms.predicates.TopicNameMatches"),
        ("predicates.isOrders.pattern", "ord.*"),
    ]);
    assert!(c.apply(record(SchemaAndValue::null()), None).unwrap().is_none(), "tombstone dropped");
    assert!(c.apply(record(person(1, "a")), None).unwrap().is_some(), "orders kept");
    let mut other = record(person(1, "a"));
    other.topic = "xorders".into();
    assert!(c.apply(other, None).unwrap().is_none(), "pattern matches the whole name only");

    let h = chain(&[
        ("transforms", "f"),
        ("transforms.f.type", "Filter"),
        ("transforms.f.predicate", "hasTrace"),
        ("predicates", "hasTrace"),
        ("predicates.hasTrace.type", "HasHeaderKey"),
        ("predicates.hasTrace.name", "trace"),
    ]);
    let mut traced = record(person(1, "a"));
    traced.headers.push(Header { key: "trace".into(), value: SchemaAndValue { schema: None, value: Value::Null } });
    assert!(h.apply(traced, None).unwrap().is_none());
    assert!(h.apply(record(person(1, "a")), None).unwrap().is_some());
}

#[test]
fn routers_rename_topics() {
    let c = chain(&[
        ("transforms", "r"),
        ("transforms.r.type", "org.apache.kafka.connect.transforms.RegexRouter"),
        ("transforms.r.regex", "(ord)(ers)"),
        ("transforms.r.replacement", "$1-$2-copy"),
    ]);
    assert_eq!(apply(&c, record(person(1, "a")), None).topic, "ord-ers-copy");
    let mut other = record(person(1, "a"));
    other.topic = "orders2".into();
    assert_eq!(apply(&c, other, None).topic, "orders2");

    let t = chain(&[("transforms", "t"), ("transforms.t.type", "TimestampRouter")]);
    assert_eq!(apply(&t, record(person(1, "a")), None).topic, "orders-20231114");
    let t = chain(&[
        ("transforms", "t"),
        ("transforms.t.type", "TimestampRouter"),
        ("transforms.t.topic.format", "${timestamp}_${topic}"),
        ("transforms.t.timestamp.format", "yyyy-MM"),
    ]);
    assert_eq!(apply(&t, record(person(1, "a")), None).topic, "2023-11_orders");
}

#[test]
fn cast_mask_hoist_set_schema_metadata() {
    let c = chain(&[("transforms", "c"), ("transforms.c.type", "Cast$Value"), ("transforms.c.spec", "id:string,name:int64")]);
    assert_eq!(err(&c, record(person(1, "x1")), None).1, "For input string: \"x1\"");
    let out = apply(&c, record(person(1, "12")), None);
    assert_eq!(out.value.value.to_string(), "Struct{id=1,name=12}");
    assert_eq!(out.value.schema.as_ref().unwrap().fields[0].schema, Schema::string());
    assert_eq!(out.value.schema.as_ref().unwrap().fields[1].schema, Schema::of(SchemaType::Int64).optional());
    let whole = chain(&[("transforms", "c"), ("transforms.c.type", "Cast$Value"), ("transforms.c.spec", "float64")]);
    let v = SchemaAndValue { schema: Some(Schema::of(SchemaType::Int32)), value: Value::Int32(3) };
    assert_eq!(apply(&whole, record(v), None).value, SchemaAndValue { schema: Some(Schema::of(SchemaType::Float64)), value: Value::Float64(3.0) });
    assert_eq!(
        chain_err(&[("transforms", "c"), ("transforms.c.type", "Cast$Value"), ("transforms.c.spec", "id:decimal")]),
        "Invalid configuration of transformation c (Cast$Value): Invalid value id:decimal for configuration spec: Invalid type found in casting spec: decimal"
    );

    let m = chain(&[("transforms", "m"), ("transforms.m.type", "MaskField$Value"), ("transforms.m.fields", "id,name")]);
    assert_eq!(apply(&m, record(person(9, "secret")), None).value.value.to_string(), "Struct{id=0,name=}");
    let m = chain(&[("transforms", "m"), ("transforms.m.type", "MaskField$Value"), ("transforms.m.fields", "name"), ("transforms.m.replacement", "***")]);
    assert_eq!(apply(&m, record(map(&[("name", s("secret"))])), None).value.value.to_string(), "{name=***}");

    let h = chain(&[("transforms", "h"), ("transforms.h.type", "HoistField$Value"), ("transforms.h.field", "line")]);
    let v = SchemaAndValue { schema: Some(Schema::string()), value: s("hello") };
    let out = apply(&h, record(v), None);
    assert_eq!(out.value.value.to_string(), "Struct{line=hello}");
    assert_eq!(field_names(&out.value), ["line"]);

    let sm = chain(&[("transforms", "s"), ("transforms.s.type", "SetSchemaMetadata$Value"), ("transforms.s.schema.name", "com.example.Person"), ("transforms.s.schema.version", "2")]);
    let out = apply(&sm, record(person(1, "a")), None);
    let schema = out.value.schema.unwrap();
    assert_eq!((schema.name.as_deref(), schema.version), (Some("com.example.Person"), Some(2)));
    assert!(matches!(&out.value.value, Value::Struct(st) if st.schema.name.as_deref() == Some("com.example.Person")));
    assert_eq!(err(&sm, record(map(&[])), None).1, "Schema required for [updating schema metadata]");
}

#[test]
fn chain_config_errors() {
    assert_eq!(chain_err(&[("transforms", "a,a"), ("transforms.a.type", "Filter")]), "Invalid value a,a for configuration transforms: Duplicate alias provided.");
    assert_eq!(chain_err(&[("transforms", "a")]), "Missing required configuration \"transforms.a.type\" which has no default value.");
    assert_eq!(
        chain_err(&[("transforms", "a"), ("transforms.a.type", "com.example.Nope")]),
        "Invalid value com.example.Nope for configuration transforms.a.type: Class com.example.Nope could not be found."
    );
    assert_eq!(
        chain_err(&[("transforms", "a"), ("transforms.a.type", "Filter"), ("transforms.a.predicate", "p")]),
        "Invalid value p for configuration transforms.a.predicate: Referenced predicate 'p' is not defined in 'predicates'"
    );
    assert_eq!(
        chain_err(&[("predicates", "p"), ("predicates.p.type", "TopicNameMatches")]),
        "Invalid configuration of predicate p (TopicNameMatches): Missing required configuration \"pattern\" which has no default value."
    );
    assert!(chain(&[]).is_empty());
    for class in TRANSFORMATION_CLASSES {
        assert!(super::chain::transformation_exists(class), "{class}");
    }
}
