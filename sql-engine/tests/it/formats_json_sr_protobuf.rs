//! The `JSON_SR`, `PROTOBUF` and `PROTOBUF_NOSR` formats (Schema Registry in memory, in test
//! mode): columns inferred from schemas an outside producer registered, CSAS registering
//! ksqlDB's schemas, every type through a round trip, bad records to the processing log.

use std::sync::Arc;

use brook_schema::prost_reflect::DynamicMessage;
use brook_schema::{GenericJsonSchemaSerde, GenericProtobufSerde, MemoryClient, SchemaRegistryClient, SerdeConfig};
use brook_sql_engine::{Engine, EngineConfig};

use crate::engine_support::{lines, sorted_lines};

/// What a producer outside ksqlDB registers: lower-case names, required fields, a `$ref`, a
/// union, an enum.
const JSON_SCHEMA: &str = r##"{"type":"object","title":"Order","properties":{
    "id":{"type":"integer"},
    "customer":{"oneOf":[{"type":"null"},{"type":"string"}]},
    "paid":{"type":"boolean"},
    "qty":{"type":"integer","connect.type":"int32"},
    "price":{"type":"number"},
    "amount":{"type":"number","title":"org.apache.kafka.connect.data.Decimal","connect.type":"bytes",
              "connect.parameters":{"connect.decimal.precision":"6","scale":"2"}},
    "raw":{"type":"string","connect.type":"bytes"},
    "day":{"type":"integer","title":"org.apache.kafka.connect.data.Date","connect.type":"int32"},
    "at":{"type":"integer","title":"org.apache.kafka.connect.data.Time","connect.type":"int32"},
    "ts":{"type":"integer","title":"org.apache.kafka.connect.data.Timestamp","connect.type":"int64"},
    "tags":{"type":"array","items":{"type":"string"}},
    "attrs":{"type":"object","additionalProperties":{"type":"integer"}},
    "status":{"type":"string","enum":["NEW","SHIPPED"]},
    "address":{"$ref":"#/definitions/Address"},
    "either":{"oneOf":[{"type":"integer"},{"type":"string"}]}},
  "definitions":{"Address":{"type":"object","properties":{"city":{"type":"string"},"zip":{"type":["null","integer"]}}}}}"##;

const JSON_ORDER: &str = r#"{"id":42,"customer":"ann","paid":true,"qty":3,"price":9.75,"amount":298.99,"raw":"AAH/",
    "day":19000,"at":3600000,"ts":1700000000123,"tags":["a","b"],"attrs":{"k":7},"status":"SHIPPED",
    "address":{"city":"Oslo","zip":null},"either":"s"}"#;

const PROTO_SCHEMA: &str = r#"syntax = "proto3";
package shop;

import "confluent/meta.proto";
import "confluent/type/decimal.proto";
import "google/protobuf/timestamp.proto";
import "google/protobuf/wrappers.proto";
import "google/type/date.proto";
import "google/type/timeofday.proto";

message Order {
  int64 id = 1;
  string customer = 2;
  bool paid = 3;
  int32 qty = 4;
  float weight = 5;
  double price = 6;
  confluent.type.Decimal amount = 7 [(confluent.field_meta) = { params: [{ key: "precision", value: "6" }, { key: "scale", value: "2" }] }];
  bytes raw = 8;
  google.type.Date day = 9;
  google.type.TimeOfDay at = 10;
  google.protobuf.Timestamp ts = 11;
  repeated string tags = 12;
  map<string, int64> attrs = 13;
  Status status = 14;
  Address address = 15;
  oneof payment {
    string card = 16;
    int64 account = 17;
  }
  google.protobuf.StringValue note = 18;
  uint32 small = 19;

  enum Status {
    NEW = 0;
    SHIPPED = 1;
  }
  message Address {
    string city = 1;
    int32 zip = 2;
  }
}
"#;

const PROTO_ORDER: &str = r#"id: 42 customer: "ann" paid: true qty: 3 weight: 0.5 price: 9.75
    amount { value: "\x74\xcb" precision: 5 scale: 2 } raw: "\x00\x01\xff" day { year: 2022 month: 1 day: 8 }
    at { hours: 1 } ts { seconds: 1700000000 nanos: 123000000 } tags: "a" tags: "b" attrs { key: "k" value: 7 }
    status: SHIPPED address { city: "Oslo" } card: "4111" note { value: "fragile" } small: 4000000000"#;

fn engine_with(registry: &Arc<MemoryClient>) -> Engine {
    let mut config = EngineConfig::test();
    config.schema_registry = Some(registry.clone());
    Engine::new(config).unwrap()
}

fn columns(e: &Engine, source: &str) -> String {
    let d = e.catalog().source(source).unwrap();
    d.schema.columns.iter().map(|c| format!("{} {} {:?}", c.name, c.ty, c.namespace)).collect::<Vec<_>>().join("\n")
}

fn pretty(text: &str) -> String {
    serde_json::to_string_pretty(&serde_json::from_str::<serde_json::Value>(text).unwrap()).unwrap()
}

/// A message in Protobuf's text format.
fn message_text(m: &DynamicMessage) -> String {
    m.to_text_format()
}

#[test]
fn json_sr_columns_are_inferred_and_every_type_round_trips_through_a_csas() {
    let registry = Arc::new(MemoryClient::new());
    let producer = GenericJsonSchemaSerde::new(registry.clone(), SerdeConfig::value(), Some(JSON_SCHEMA)).unwrap();
    let order: serde_json::Value = serde_json::from_str(JSON_ORDER).unwrap();
    let first = producer.to_bytes("orders", &order).unwrap();

    let mut e = engine_with(&registry);
    e.execute("CREATE STREAM ORDERS WITH (KAFKA_TOPIC='orders', VALUE_FORMAT='JSON_SR');").unwrap();
    insta::assert_snapshot!("json_sr_inferred_columns", columns(&e, "ORDERS"));

    e.execute("CREATE STREAM OUT AS SELECT * FROM ORDERS;").unwrap();
    e.execute("CREATE STREAM OUT_JSON WITH (VALUE_FORMAT='JSON') AS SELECT * FROM OUT;").unwrap();
    let registered = registry.latest("OUT-value").unwrap();
    insta::assert_snapshot!("json_sr_csas_registered_schema", pretty(&registered.schema.schema));

    e.pipe_input("orders", None, Some(first), 5, vec![]).unwrap();
    insta::assert_snapshot!("json_sr_round_trip_as_json", lines(&e, "OUT_JSON").join("\n"));

    // The CSAS output is framed with the registered id and valid against the registered schema.
    let out = e.read_output("OUT").unwrap();
    let bytes = out[0].value.clone().unwrap();
    assert_eq!(bytes[..5], [0, 0, 0, 0, registered.id as u8]);
    let reader = GenericJsonSchemaSerde::new(registry.clone(), SerdeConfig::value(), None).unwrap();
    let (id, schema, value) = reader.from_bytes(&bytes).unwrap();
    assert_eq!(id, registered.id);
    schema.validate(&value).unwrap();
    insta::assert_snapshot!("json_sr_csas_output_value", serde_json::to_string(&value).unwrap());
}

#[test]
fn protobuf_columns_are_inferred_and_every_type_round_trips_through_a_csas() {
    let registry = Arc::new(MemoryClient::new());
    let producer = GenericProtobufSerde::new(registry.clone(), SerdeConfig::value(), Some(PROTO_SCHEMA)).unwrap();
    let descriptor = producer.schema().unwrap().message("shop.Order").unwrap();
    let order = DynamicMessage::parse_text_format(descriptor, PROTO_ORDER).unwrap();
    let first = producer.to_bytes("orders", &order).unwrap();

    let mut e = engine_with(&registry);
    e.execute("CREATE STREAM ORDERS WITH (KAFKA_TOPIC='orders', VALUE_FORMAT='PROTOBUF');").unwrap();
    insta::assert_snapshot!("protobuf_inferred_columns", columns(&e, "ORDERS"));

    e.execute("CREATE STREAM OUT AS SELECT * FROM ORDERS;").unwrap();
    e.execute("CREATE STREAM OUT_JSON WITH (VALUE_FORMAT='JSON') AS SELECT * FROM OUT;").unwrap();
    let registered = registry.latest("OUT-value").unwrap();
    insta::assert_snapshot!("protobuf_csas_registered_schema", registered.schema.schema);

    e.pipe_input("orders", None, Some(first), 5, vec![]).unwrap();
    insta::assert_snapshot!("protobuf_round_trip_as_json", lines(&e, "OUT_JSON").join("\n"));

    let out = e.read_output("OUT").unwrap();
    let bytes = out[0].value.clone().unwrap();
    assert_eq!(bytes[..6], [0, 0, 0, 0, registered.id as u8, 0], "framing with message index [0]");
    let reader = GenericProtobufSerde::new(registry.clone(), SerdeConfig::value(), None).unwrap();
    let (id, message) = reader.from_bytes(&bytes).unwrap();
    assert_eq!(id, registered.id);
    insta::assert_snapshot!("protobuf_csas_output_message", message_text(&message));

    // VALUE_SCHEMA_FULL_NAME picks another message of the schema.
    e.execute("CREATE STREAM ADDRESSES WITH (KAFKA_TOPIC='orders', VALUE_FORMAT='PROTOBUF', VALUE_SCHEMA_FULL_NAME='shop.Order.Address');").unwrap();
    assert_eq!(columns(&e, "ADDRESSES"), "CITY STRING Value\nZIP INTEGER Value");
}

/// Every SQL type through declared columns: INSERT VALUES writes the format, a CSAS reads and
/// writes it again, a JSON CSAS shows what came through.
fn declared_round_trip(format: &str) -> (String, Arc<MemoryClient>) {
    let registry = Arc::new(MemoryClient::new());
    let mut e = engine_with(&registry);
    e.execute(&format!(
        "CREATE STREAM S (K STRING KEY, B BOOLEAN, I INT, L BIGINT, D DOUBLE, DE DECIMAL(5, 2), STR STRING, BS BYTES, \
         DT DATE, TM TIME, TS TIMESTAMP, A ARRAY<INT>, M MAP<STRING, INT>, MI MAP<INT, STRING>, \
         ST STRUCT<X INT, Y ARRAY<STRUCT<Z STRING>>>) \
         WITH (KAFKA_TOPIC='s', KEY_FORMAT='{format}', VALUE_FORMAT='{format}', PARTITIONS=1);"
    ))
    .unwrap();
    e.execute("CREATE STREAM T AS SELECT * FROM S;").unwrap();
    e.execute("CREATE STREAM T_JSON WITH (KEY_FORMAT='JSON', VALUE_FORMAT='JSON') AS SELECT * FROM T;").unwrap();
    e.execute(
        "INSERT INTO S (K, B, I, L, D, DE, STR, BS, DT, TM, TS, A, M, MI, ST) VALUES ('k1', true, -7, 9000000000, 1.5, 12.34, 'x', \
         TO_BYTES('AAH/', 'base64'), PARSE_DATE('2024-02-29', 'yyyy-MM-dd'), PARSE_TIME('10:11:12.345', 'HH:mm:ss.SSS'), \
         PARSE_TIMESTAMP('1969-12-31 23:59:59.999', 'yyyy-MM-dd HH:mm:ss.SSS', 'UTC'), ARRAY[1, 2], MAP('a' := 1, 'b' := 2), \
         MAP(1 := 'one'), STRUCT(X := 5, Y := ARRAY[STRUCT(Z := 'z')]));",
    )
    .unwrap();
    e.execute("INSERT INTO S (K) VALUES ('k2');").unwrap();
    (sorted_lines(&e, "T_JSON").join("\n"), registry)
}

#[test]
fn json_sr_declared_columns_round_trip_every_type() {
    let (out, registry) = declared_round_trip("JSON_SR");
    insta::assert_snapshot!("json_sr_declared_round_trip", out);
    insta::assert_snapshot!("json_sr_key_schema", pretty(&registry.latest("T-key").unwrap().schema.schema));
    insta::assert_snapshot!("json_sr_value_schema", pretty(&registry.latest("T-value").unwrap().schema.schema));
}

#[test]
fn protobuf_declared_columns_round_trip_every_type() {
    let (out, registry) = declared_round_trip("PROTOBUF");
    insta::assert_snapshot!("protobuf_declared_round_trip", out);
    insta::assert_snapshot!("protobuf_key_schema", registry.latest("T-key").unwrap().schema.schema);
    insta::assert_snapshot!("protobuf_value_schema", registry.latest("T-value").unwrap().schema.schema);
}

#[test]
fn protobuf_nosr_round_trips_every_type_without_a_registry() {
    let (out, registry) = declared_round_trip("PROTOBUF_NOSR");
    insta::assert_snapshot!("protobuf_nosr_declared_round_trip", out);
    assert!(registry.latest("T-value").is_err(), "PROTOBUF_NOSR registers nothing");
}

/// Processing-log messages of the bad records, and the query's error count.
fn logged(e: &Engine) -> String {
    let log = e.read_output("default_ksql_processing_log").unwrap();
    log.iter()
        .map(|r| {
            let entry: serde_json::Value = serde_json::from_slice(r.value.as_ref().unwrap()).unwrap();
            entry["message"]["deserializationError"]["errorMessage"].as_str().unwrap_or_default().to_owned()
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn json_sr_bad_records_are_logged_and_the_query_goes_on() {
    let registry = Arc::new(MemoryClient::new());
    let producer = GenericJsonSchemaSerde::new(registry.clone(), SerdeConfig::value(), Some(JSON_SCHEMA)).unwrap();
    let good = producer.to_bytes("orders", &serde_json::from_str(JSON_ORDER).unwrap()).unwrap();
    let mut e = engine_with(&registry);
    e.execute("CREATE STREAM ORDERS WITH (KAFKA_TOPIC='orders', VALUE_FORMAT='JSON_SR');").unwrap();
    e.execute("CREATE STREAM IDS AS SELECT ID FROM ORDERS;").unwrap();
    let mut unknown_id = good.clone();
    unknown_id[4] = 99;
    let mut mismatch = good[..5].to_vec();
    mismatch.extend_from_slice(br#"{"id":"forty-two"}"#);
    for bad in [br#"{"id":1}"#.to_vec(), unknown_id, mismatch] {
        e.pipe_input("orders", None, Some(bad), 1, vec![]).unwrap();
    }
    e.pipe_input("orders", None, Some(good), 2, vec![]).unwrap();
    insta::assert_snapshot!(logged(&e), @r###"
    Failed to deserialize value from topic: orders. unknown magic byte: 0x7b
    Failed to deserialize value from topic: orders. schema not found: id 99
    Failed to deserialize value from topic: orders. Can't coerce string to type. targetType: BIGINT, path: $.ID
    "###);
    assert_eq!(e.read_output("IDS").unwrap().len(), 1);
    assert_eq!(e.query_error_count("CSAS_IDS_0"), 3);
}

#[test]
fn protobuf_bad_records_are_logged_and_the_query_goes_on() {
    let registry = Arc::new(MemoryClient::new());
    let producer = GenericProtobufSerde::new(registry.clone(), SerdeConfig::value(), Some(PROTO_SCHEMA)).unwrap();
    let descriptor = producer.schema().unwrap().message("shop.Order").unwrap();
    let good = producer.to_bytes("orders", &DynamicMessage::parse_text_format(descriptor, PROTO_ORDER).unwrap()).unwrap();
    let mut e = engine_with(&registry);
    e.execute("CREATE STREAM ORDERS WITH (KAFKA_TOPIC='orders', VALUE_FORMAT='PROTOBUF');").unwrap();
    e.execute("CREATE STREAM IDS AS SELECT ID FROM ORDERS;").unwrap();
    let mut unknown_id = good.clone();
    unknown_id[4] = 99;
    // A length-delimited field whose length runs past the end of the record.
    let mut mismatch = good[..6].to_vec();
    mismatch.extend_from_slice(&[0x12, 0x7f, b'a']);
    for bad in [br#"{"id":1}"#.to_vec(), unknown_id, mismatch] {
        e.pipe_input("orders", None, Some(bad), 1, vec![]).unwrap();
    }
    e.pipe_input("orders", None, Some(good), 2, vec![]).unwrap();
    insta::assert_snapshot!(logged(&e), @r###"
    Failed to deserialize value from topic: orders. unknown magic byte: 0x7b
    Failed to deserialize value from topic: orders. schema not found: id 99
    Failed to deserialize value from topic: orders. cannot deserialize PROTOBUF payload: failed to decode Protobuf message: buffer underflow
    "###);
    assert_eq!(e.read_output("IDS").unwrap().len(), 1);
    assert_eq!(e.query_error_count("CSAS_IDS_0"), 3);
}

#[test]
fn protobuf_rejects_unwrapping_and_nested_arrays() {
    let registry = Arc::new(MemoryClient::new());
    let mut e = engine_with(&registry);
    let err = e
        .execute("CREATE STREAM U (V INT) WITH (KAFKA_TOPIC='u', VALUE_FORMAT='PROTOBUF', WRAP_SINGLE_VALUE=false, PARTITIONS=1);")
        .unwrap_err();
    assert_eq!(err.to_string(), "Format 'PROTOBUF' does not support 'WRAP_SINGLE_VALUE' set to 'false'.");
    let err = e.execute("CREATE STREAM N (V ARRAY<ARRAY<INT>>) WITH (KAFKA_TOPIC='n', VALUE_FORMAT='PROTOBUF', PARTITIONS=1);").unwrap_err();
    assert!(err.to_string().contains("Array cannot be nested"), "{err}");
}

/// A sink given `VALUE_SCHEMA_ID` writes with that schema (its own field names, its message),
/// and registers nothing under the topic's subject.
#[test]
fn a_sink_with_a_schema_id_writes_with_that_schema() {
    let registry = Arc::new(MemoryClient::new());
    let json = r#"{"type":"object","properties":{"id":{"type":"integer"},"name":{"type":"string"}},"required":["id","name"]}"#;
    let json_id = registry.register("other-value", &brook_schema::Schema::json(json), false).unwrap();
    let proto_id = registry.register("orders-value", &brook_schema::Schema::protobuf(PROTO_SCHEMA), false).unwrap();
    let mut e = engine_with(&registry);
    e.execute("CREATE STREAM SRC (ID BIGINT, NAME STRING) WITH (KAFKA_TOPIC='src', VALUE_FORMAT='JSON', PARTITIONS=1);").unwrap();
    e.execute(&format!("CREATE STREAM J WITH (VALUE_FORMAT='JSON_SR', VALUE_SCHEMA_ID={json_id}) AS SELECT ID, NAME FROM SRC;")).unwrap();
    e.execute(&format!(
        "CREATE STREAM P WITH (VALUE_FORMAT='PROTOBUF', VALUE_SCHEMA_ID={proto_id}, VALUE_SCHEMA_FULL_NAME='shop.Order') AS SELECT ID, NAME AS CUSTOMER FROM SRC;"
    ))
    .unwrap();
    e.execute("INSERT INTO SRC (ID, NAME) VALUES (7, 'x');").unwrap();

    let bytes = e.read_output("J").unwrap()[0].value.clone().unwrap();
    let (id, schema, value) = GenericJsonSchemaSerde::new(registry.clone(), SerdeConfig::value(), None).unwrap().from_bytes(&bytes).unwrap();
    assert_eq!(id, json_id);
    schema.validate(&value).unwrap();
    assert_eq!(value, serde_json::json!({"id": 7, "name": "x"}));

    let bytes = e.read_output("P").unwrap()[0].value.clone().unwrap();
    let (id, message) = GenericProtobufSerde::new(registry.clone(), SerdeConfig::value(), None).unwrap().from_bytes(&bytes).unwrap();
    assert_eq!(id, proto_id);
    assert_eq!(message.to_text_format(), r#"id:7,customer:"x""#);
    assert!(registry.latest("J-value").is_err() && registry.latest("P-value").is_err(), "nothing registered for the sinks");
}

/// Key columns come from `<topic>-key` too: a Protobuf key message's fields, a JSON Schema key
/// that is not an object as `ROWKEY`.
#[test]
fn key_columns_are_inferred_from_the_key_subject() {
    let registry = Arc::new(MemoryClient::new());
    let key = "syntax = \"proto3\";\nmessage Key { string region = 1; int32 shard = 2; }\n";
    registry.register("p-key", &brook_schema::Schema::protobuf(key), false).unwrap();
    registry.register("p-value", &brook_schema::Schema::protobuf(PROTO_SCHEMA), false).unwrap();
    registry.register("j-key", &brook_schema::Schema::json(r#"{"type":"integer","connect.type":"int32"}"#), false).unwrap();
    registry.register("j-value", &brook_schema::Schema::json(JSON_SCHEMA), false).unwrap();
    let mut e = engine_with(&registry);
    e.execute("CREATE STREAM P WITH (KAFKA_TOPIC='p', FORMAT='PROTOBUF');").unwrap();
    e.execute("CREATE STREAM J WITH (KAFKA_TOPIC='j', FORMAT='JSON_SR');").unwrap();
    let keys = |source: &str| columns(&e, source).lines().filter(|l| l.ends_with(" Key")).collect::<Vec<_>>().join(", ");
    assert_eq!(keys("P"), "REGION STRING Key, SHARD INTEGER Key");
    assert_eq!(keys("J"), "ROWKEY INTEGER Key");
}
