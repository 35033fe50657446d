//! The bytes Brook's serializers write equal those of Confluent's Python serializers
//! (`confluent-kafka[avro,schemaregistry]` from PyPI, its `mock://` registry), case by case.
//! Skipped, with a message, when the venv cannot be created (pip offline).

use std::path::Path;
use std::process::Command;
use std::sync::Arc;

use brook_schema::apache_avro::types::Value as Avro;
use brook_schema::apache_avro::Decimal;
use brook_schema::prost_reflect::{DynamicMessage, Value as ProtoValue};
use brook_schema::{GenericAvroSerde, GenericJsonSchemaSerde, GenericProtobufSerde, MemoryClient, SerdeConfig};


const PROTO: &str = r#"syntax = "proto3";
package shop;
message Other { string x = 1; }
message Order {
  int64 id = 1;
  message Line { string item = 1; int32 qty = 2; }
  repeated Line lines = 2;
}
"#;

fn python_reference(descriptors: &Path) -> Option<serde_json::Value> {
    let check = "import confluent_kafka.schema_registry.avro, confluent_kafka.schema_registry.protobuf, \
                 confluent_kafka.schema_registry.json_schema, fastavro, jsonschema, google.protobuf";
    let py = brook_common::test_support::python_venv(check, &["confluent-kafka[avro,schemaregistry,json,protobuf]"])?;
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python/reference_bytes.py");
    let out = Command::new(py).arg(script).arg(descriptors).output().unwrap();
    assert!(out.status.success(), "reference_bytes.py failed:\n{}", String::from_utf8_lossy(&out.stderr));
    Some(serde_json::from_slice(&out.stdout).unwrap())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn from_hex(text: &str) -> Vec<u8> {
    (0..text.len()).step_by(2).map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap()).collect()
}

fn avro(schema: &str, topic: &str, value: Avro) -> Vec<u8> {
    let serde = GenericAvroSerde::new(Arc::new(MemoryClient::new()), SerdeConfig::value(), Some(schema)).unwrap();
    serde.to_bytes(topic, value).unwrap()
}

#[test]
fn serializers_write_confluents_bytes() {
    let protobuf = GenericProtobufSerde::new(Arc::new(MemoryClient::new()), SerdeConfig::value(), Some(PROTO)).unwrap();
    let schema = protobuf.schema().unwrap();
    let descriptors = std::env::temp_dir().join(format!("brook-schema-{}.pb", std::process::id()));
    std::fs::write(&descriptors, schema.file.parent_pool().encode_to_vec()).unwrap();
    let reference = python_reference(&descriptors);
    let _ = std::fs::remove_file(&descriptors);
    let Some(reference) = reference else {
        eprintln!("SKIPPED: could not create a venv with confluent-kafka[avro,schemaregistry] (pip install failed)");
        return;
    };
    let expect = |case: &str| reference[case].as_str().unwrap_or_else(|| panic!("no case {case}")).to_owned();

    let order_schema = r#"{"type":"record","name":"Order","namespace":"io.shop","fields":[
        {"name":"id","type":"long"},{"name":"item","type":"string"}]}"#;
    let order = Avro::Record(vec![("id".into(), Avro::Long(7)), ("item".into(), Avro::String("pen".into()))]);
    assert_eq!(hex(&avro(order_schema, "orders", order)), expect("avro_order"));

    let all_types = r#"{"type":"record","name":"AllTypes","namespace":"io.brook","fields":[
        {"name":"id","type":"long"},
        {"name":"name","type":["null","string"],"default":null},
        {"name":"score","type":"double"},
        {"name":"ok","type":"boolean"},
        {"name":"data","type":"bytes"},
        {"name":"tags","type":{"type":"array","items":"string"}},
        {"name":"attrs","type":{"type":"map","values":"long"}},
        {"name":"amount","type":{"type":"bytes","logicalType":"decimal","precision":5,"scale":2}},
        {"name":"day","type":{"type":"int","logicalType":"date"}},
        {"name":"ts","type":{"type":"long","logicalType":"timestamp-millis"}},
        {"name":"small","type":"int"},
        {"name":"ratio","type":"float"}]}"#;
    let value = Avro::Record(vec![
        ("id".into(), Avro::Long(-3)),
        ("name".into(), Avro::String("x".into())),
        ("score".into(), Avro::Double(1.5)),
        ("ok".into(), Avro::Boolean(true)),
        ("data".into(), Avro::Bytes(vec![1, 2])),
        ("tags".into(), Avro::Array(vec![Avro::String("a".into()), Avro::String("b".into())])),
        ("attrs".into(), Avro::Map([("k".to_owned(), Avro::Long(3))].into_iter().collect())),
        ("amount".into(), Avro::Decimal(Decimal::from(vec![0x04, 0xd2]))),
        ("day".into(), Avro::Date(19000)),
        ("ts".into(), Avro::TimestampMillis(1_700_000_000_000)),
        ("small".into(), Avro::Int(300)),
        ("ratio".into(), Avro::Float(0.25)),
    ]);
    assert_eq!(hex(&avro(all_types, "all", value)), expect("avro_all_types"));

    // Python's json.dumps puts a space after `,` and `:`; Java's Jackson (and Brook) write compact
    // JSON. The framing is identical and the JSON equal.
    let payment = r#"{"title":"Payment","type":"object","properties":{
        "id":{"type":"string"},"amount":{"type":"number"}},"required":["id","amount"]}"#;
    let json = GenericJsonSchemaSerde::new(Arc::new(MemoryClient::new()), SerdeConfig::value(), Some(payment)).unwrap();
    let ours = json.to_bytes("pay", &serde_json::json!({"id": "p1", "amount": 2.5})).unwrap();
    let theirs = from_hex(&expect("json_payment"));
    assert_eq!(ours[..5], theirs[..5]);
    let parse = |b: &[u8]| serde_json::from_slice::<serde_json::Value>(b).unwrap();
    assert_eq!(parse(&ours[5..]), parse(&theirs[5..]));

    let mut line = DynamicMessage::new(schema.message("shop.Order.Line").unwrap());
    line.set_field_by_name("item", ProtoValue::String("pen".into()));
    line.set_field_by_name("qty", ProtoValue::I32(2));
    let mut order = DynamicMessage::new(schema.message("shop.Order").unwrap());
    order.set_field_by_name("id", ProtoValue::I64(5));
    order.set_field_by_name("lines", ProtoValue::List(vec![ProtoValue::Message(line)]));
    assert_eq!(hex(&protobuf.to_bytes("orders", &order).unwrap()), expect("protobuf_order"));
    let mut line = DynamicMessage::new(schema.message("shop.Order.Line").unwrap());
    line.set_field_by_name("item", ProtoValue::String("ink".into()));
    line.set_field_by_name("qty", ProtoValue::I32(-1));
    let fresh = GenericProtobufSerde::new(Arc::new(MemoryClient::new()), SerdeConfig::value(), Some(PROTO)).unwrap();
    assert_eq!(hex(&fresh.to_bytes("orders", &line).unwrap()), expect("protobuf_line"));
}
