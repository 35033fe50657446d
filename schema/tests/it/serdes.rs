//! Every serde round-trips, honours the registry settings, and turns bad bytes into errors.

use std::sync::Arc;

use brook_schema::apache_avro::types::Value as Avro;
use brook_schema::prost;
use brook_state_store::Serde;
use brook_schema::prost_reflect::{DynamicMessage, ReflectMessage, Value as ProtoValue};
use brook_schema::{
    AvroSerde, Error, GenericAvroSerde, GenericJsonSchemaSerde, GenericProtobufSerde, JsonSchemaSerde, MemoryClient,
    Schema, SchemaRegistryClient, SerdeConfig, SerdeContext,
};
use serde::{Deserialize, Serialize};

const ORDER_V1: &str = r#"{"type":"record","name":"Order","namespace":"io.shop","fields":[
    {"name":"id","type":"long"},{"name":"item","type":"string"}]}"#;
const ORDER_V2: &str = r#"{"type":"record","name":"Order","namespace":"io.shop","fields":[
    {"name":"id","type":"long"},{"name":"item","type":"string"},
    {"name":"qty","type":["null","int"],"default":null}]}"#;

fn registry() -> Arc<MemoryClient> {
    Arc::new(MemoryClient::new())
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct OrderV2 {
    id: i64,
    item: String,
    qty: Option<i32>,
}

#[test]
fn generic_avro_round_trip_registers_under_topic_value() {
    let registry = registry();
    let serde = GenericAvroSerde::new(registry.clone(), SerdeConfig::value(), Some(ORDER_V1)).unwrap();
    let record = Avro::Record(vec![("id".into(), Avro::Long(7)), ("item".into(), Avro::String("pen".into()))]);
    let bytes = serde.to_bytes("orders", record.clone()).unwrap();
    assert_eq!(bytes, [0, 0, 0, 0, 1, 14, 6, b'p', b'e', b'n']);
    assert_eq!(registry.subjects(), ["orders-value"]);
    let (id, schema, value) = serde.from_bytes(&bytes).unwrap();
    assert_eq!((id, value), (1, record));
    assert_eq!(schema.full_name().as_deref(), Some("io.shop.Order"));
}

#[test]
fn typed_avro_reads_older_records_by_schema_resolution() {
    let registry = registry();
    let v1 = GenericAvroSerde::new(registry.clone(), SerdeConfig::value(), Some(ORDER_V1)).unwrap();
    let old = v1
        .to_bytes("orders", Avro::Record(vec![("id".into(), Avro::Long(1)), ("item".into(), Avro::String("ink".into()))]))
        .unwrap();
    let v2 = AvroSerde::<OrderV2>::new(registry.clone(), SerdeConfig::value(), ORDER_V2).unwrap();
    assert_eq!(v2.from_bytes(&old).unwrap(), OrderV2 { id: 1, item: "ink".into(), qty: None });
    let order = OrderV2 { id: 2, item: "cap".into(), qty: Some(3) };
    let new = v2.to_bytes("orders", &order).unwrap();
    assert_eq!(&new[..5], [0, 0, 0, 0, 2]);
    assert_eq!(v2.from_bytes(&new).unwrap(), order);
    assert_eq!(registry.latest("orders-value").unwrap().version, 2);
}

#[test]
fn without_auto_register_the_schema_must_exist_and_latest_version_is_used_when_asked() {
    let registry = registry();
    let no_register = SerdeConfig::value().with_properties([("auto.register.schemas", "false")]).unwrap();
    let serde = GenericAvroSerde::new(registry.clone(), no_register.clone(), Some(r#""string""#)).unwrap();
    let err = serde.to_bytes("t", Avro::String("x".into())).unwrap_err();
    assert!(matches!(err, Error::SubjectNotFound(_)), "{err}");

    registry.register("t-value", &Schema::avro(r#""string""#), false).unwrap();
    registry.register("t-value", &Schema::avro(r#"["null","string"]"#), false).unwrap();
    assert_eq!(serde.to_bytes("t", Avro::String("x".into())).unwrap()[..5], [0, 0, 0, 0, 1]);

    let latest = no_register.with_properties([("use.latest.version", "true")]).unwrap();
    let serde = GenericAvroSerde::new(registry, latest, Some(r#""string""#)).unwrap();
    let bytes = serde.to_bytes("t", Avro::String("x".into())).unwrap();
    // Written with version 2, the union: branch index 1, then the string.
    assert_eq!(bytes, [0, 0, 0, 0, 2, 2, 2, b'x']);
}

#[test]
fn bad_bytes_are_errors_never_panics() {
    let registry = registry();
    let serde = GenericAvroSerde::new(registry.clone(), SerdeConfig::value(), Some(ORDER_V1)).unwrap();
    assert!(matches!(serde.from_bytes(b"{\"id\":1}"), Err(Error::UnknownMagicByte(_))));
    assert!(matches!(serde.from_bytes(&[0, 0, 0, 0, 9, 2]), Err(Error::SchemaNotFound(_))));
    let good = serde
        .to_bytes("o", Avro::Record(vec![("id".into(), Avro::Long(300)), ("item".into(), Avro::String("x".into()))]))
        .unwrap();
    for n in 0..good.len() {
        let _ = serde.from_bytes(&good[..n]);
        let mut bad = good.clone();
        bad[n] = 0xff;
        let _ = serde.from_bytes(&bad);
    }
    // A string length of 2^62 must not allocate.
    let huge = [0, 0, 0, 0, 1, 2, 0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f];
    assert!(matches!(serde.from_bytes(&huge), Err(Error::Deserialize { .. })));
    // A JSON schema id read by the Avro serde is a clear error.
    registry.register("j-value", &Schema::json(r#"{"type":"string"}"#), false).unwrap();
    assert!(matches!(serde.from_bytes(&[0, 0, 0, 0, 2, 0]), Err(Error::InvalidSchema(_))));
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct Payment {
    id: String,
    amount: f64,
}

const PAYMENT_JSON: &str = r#"{"title":"Payment","type":"object","properties":{
    "id":{"type":"string"},"amount":{"type":"number","minimum":0}},"required":["id","amount"]}"#;

#[test]
fn json_schema_validates_on_serialize() {
    let registry = registry();
    let serde = JsonSchemaSerde::<Payment>::new(registry.clone(), SerdeConfig::value(), PAYMENT_JSON).unwrap();
    let payment = Payment { id: "p1".into(), amount: 2.5 };
    let bytes = serde.to_bytes("pay", &payment).unwrap();
    assert_eq!(&bytes[5..], br#"{"id":"p1","amount":2.5}"#);
    assert_eq!(serde.from_bytes(&bytes).unwrap(), payment);
    let err = serde.to_bytes("pay", &Payment { id: "p2".into(), amount: -1.0 }).unwrap_err();
    assert!(matches!(err, Error::Serialize { .. }), "{err}");
    let generic = GenericJsonSchemaSerde::new(registry, SerdeConfig::value(), None).unwrap();
    assert!(matches!(generic.from_bytes(&[0, 0, 0, 0, 1, b'{']), Err(Error::Deserialize { .. })));
}

const PROTO: &str = r#"syntax = "proto3";
package shop;
import "google/protobuf/timestamp.proto";
message Other { string x = 1; }
message Order {
  int64 id = 1;
  message Line { string item = 1; int32 qty = 2; }
  repeated Line lines = 2;
  google.protobuf.Timestamp at = 3;
}
"#;

#[test]
fn protobuf_frames_nested_messages_with_their_indexes() {
    let registry = registry();
    let serde = GenericProtobufSerde::new(registry, SerdeConfig::value(), Some(PROTO)).unwrap();
    let schema = serde.schema().unwrap();
    let line_desc = schema.message("shop.Order.Line").unwrap();
    let mut line = DynamicMessage::new(line_desc);
    line.set_field_by_name("item", ProtoValue::String("pen".into()));
    line.set_field_by_name("qty", ProtoValue::I32(2));
    let bytes = serde.to_bytes("orders", &line).unwrap();
    // Indexes [1, 0]: count 2, then 1 and 0, zig-zag encoded.
    assert_eq!(&bytes[..8], [0, 0, 0, 0, 1, 4, 2, 0]);
    let (_, back) = serde.from_bytes(&bytes).unwrap();
    // Read with the registered schema (its own descriptor pool): compare the fields.
    assert_eq!(back.descriptor().full_name(), "shop.Order.Line");
    assert_eq!(back.get_field_by_name("item").unwrap().as_str(), Some("pen"));
    assert_eq!(back.get_field_by_name("qty").unwrap().as_i32(), Some(2));

    let mut order = DynamicMessage::new(schema.message("Order").unwrap());
    order.set_field_by_name("id", ProtoValue::I64(5));
    order.set_field_by_name("lines", ProtoValue::List(vec![ProtoValue::Message(line)]));
    let bytes = serde.to_bytes("orders", &order).unwrap();
    assert_eq!(&bytes[..7], [0, 0, 0, 0, 1, 2, 2], "indexes [1]");
    let back = serde.from_bytes(&bytes).unwrap().1;
    assert_eq!(prost::Message::encode_to_vec(&back), prost::Message::encode_to_vec(&order));
    assert!(matches!(serde.from_bytes(&[0, 0, 0, 0, 1, 2, 20]), Err(Error::Deserialize { .. })));
}

/// The runtime calls `serialize_with` with the record's own topic and side: the subject comes
/// from them (not from the serde's configured side), under every subject name strategy, for
/// every format.
#[test]
fn serialize_with_names_the_subject_from_the_record_context() {
    let subjects = |registry: &MemoryClient| {
        let mut s = registry.subjects();
        s.sort();
        s
    };
    let strategy = |name: &str| {
        SerdeConfig::value().with_properties([("value.subject.name.strategy", name)]).unwrap()
    };
    let order = Avro::Record(vec![("id".into(), Avro::Long(1)), ("item".into(), Avro::String("ink".into()))]);

    // TopicNameStrategy: a value-configured serde used for a key writes `<topic>-key`.
    let registry = Arc::new(MemoryClient::new());
    let avro = GenericAvroSerde::new(registry.clone(), SerdeConfig::value(), Some(ORDER_V1)).unwrap();
    let as_key = avro.serialize_with(&SerdeContext::key("orders"), &order).unwrap();
    let as_value = avro.serialize_with(&SerdeContext::value("sales"), &order).unwrap();
    assert_eq!(subjects(&registry), ["orders-key", "sales-value"]);
    assert_eq!(as_key, as_value, "one schema, one id");
    assert_eq!(avro.deserialize_with(&SerdeContext::key("orders"), &as_key).unwrap(), order);
    // The topic-only method keeps the configured side.
    avro.serialize("returns", &order).unwrap();
    assert!(subjects(&registry).contains(&"returns-value".to_owned()));

    // RecordNameStrategy ignores the topic; TopicRecordNameStrategy uses the record's topic.
    let registry = Arc::new(MemoryClient::new());
    let record = AvroSerde::<OrderV2>::new(registry.clone(), strategy("RecordNameStrategy"), ORDER_V2).unwrap();
    let typed = OrderV2 { id: 2, item: "pen".into(), qty: Some(3) };
    record.serialize_with(&SerdeContext::key("a"), &typed).unwrap();
    record.serialize_with(&SerdeContext::value("b"), &typed).unwrap();
    let topic_record = GenericAvroSerde::new(registry.clone(), strategy("TopicRecordNameStrategy"), Some(ORDER_V1)).unwrap();
    topic_record.serialize_with(&SerdeContext::value("c"), &order).unwrap();
    assert_eq!(subjects(&registry), ["c-io.shop.Order", "io.shop.Order"]);

    // JSON Schema (generic and typed) and Protobuf (generic) follow the context too.
    let registry = Arc::new(MemoryClient::new());
    let json = JsonSchemaSerde::<Payment>::new(registry.clone(), SerdeConfig::key(), PAYMENT_JSON).unwrap();
    json.serialize_with(&SerdeContext::value("pay"), &Payment { id: "p".into(), amount: 1.0 }).unwrap();
    let generic_json = GenericJsonSchemaSerde::new(registry.clone(), strategy("TopicRecordNameStrategy"), Some(PAYMENT_JSON)).unwrap();
    generic_json.serialize_with(&SerdeContext::key("refunds"), &serde_json::json!({"id": "r", "amount": 0})).unwrap();
    let proto = GenericProtobufSerde::new(registry.clone(), SerdeConfig::value(), Some(PROTO)).unwrap();
    let message = DynamicMessage::new(proto.schema().unwrap().message("shop.Order").unwrap());
    let bytes = proto.serialize_with(&SerdeContext::key("lines"), &message).unwrap();
    assert_eq!(proto.deserialize_with(&SerdeContext::key("lines"), &bytes).unwrap().descriptor().full_name(), "shop.Order");
    assert_eq!(subjects(&registry), ["lines-key", "pay-value", "refunds-Payment"]);
}
