//! The `AVRO` format through Schema Registry (in-memory in test mode): columns inferred from a
//! registered schema, CSAS registering ksqlDB's schema, every type through a round trip, bad
//! records to the processing log.

use std::sync::Arc;

use brook_schema::apache_avro::types::Value as Avro;
use brook_schema::apache_avro::Decimal;
use brook_schema::{GenericAvroSerde, MemoryClient, SchemaRegistryClient, SerdeConfig};
use brook_sql_engine::{Engine, EngineConfig};

use crate::engine_support::{lines, sorted_lines};

/// What a producer outside ksqlDB registers: lower-case names, required fields, logical types.
const EXTERNAL: &str = r#"{"type":"record","name":"Order","namespace":"io.shop","fields":[
    {"name":"id","type":"long"},
    {"name":"customer","type":["null","string"],"default":null},
    {"name":"paid","type":"boolean"},
    {"name":"qty","type":"int"},
    {"name":"weight","type":"float"},
    {"name":"price","type":"double"},
    {"name":"amount","type":{"type":"bytes","logicalType":"decimal","precision":6,"scale":2}},
    {"name":"raw","type":"bytes"},
    {"name":"day","type":{"type":"int","logicalType":"date"}},
    {"name":"at","type":{"type":"int","logicalType":"time-millis"}},
    {"name":"ts","type":{"type":"long","logicalType":"timestamp-millis"}},
    {"name":"tags","type":{"type":"array","items":"string"}},
    {"name":"attrs","type":{"type":"map","values":"long"}},
    {"name":"status","type":{"type":"enum","name":"Status","symbols":["NEW","SHIPPED"]}},
    {"name":"address","type":{"type":"record","name":"Address","fields":[
        {"name":"city","type":"string"},{"name":"zip","type":["null","int"],"default":null}]}},
    {"name":"either","type":["null","int","string"],"default":null}]}"#;

fn order() -> Avro {
    Avro::Record(vec![
        ("id".into(), Avro::Long(42)),
        ("customer".into(), Avro::Union(1, Box::new(Avro::String("ann".into())))),
        ("paid".into(), Avro::Boolean(true)),
        ("qty".into(), Avro::Int(3)),
        ("weight".into(), Avro::Float(0.5)),
        ("price".into(), Avro::Double(9.75)),
        ("amount".into(), Avro::Decimal(Decimal::from(vec![0x74, 0xcb]))), // 298.99
        ("raw".into(), Avro::Bytes(vec![0, 1, 255])),
        ("day".into(), Avro::Date(19000)),
        ("at".into(), Avro::TimeMillis(3_600_000)),
        ("ts".into(), Avro::TimestampMillis(1_700_000_000_123)),
        ("tags".into(), Avro::Array(vec![Avro::String("a".into()), Avro::String("b".into())])),
        ("attrs".into(), Avro::Map([("k".to_owned(), Avro::Long(7))].into_iter().collect())),
        ("status".into(), Avro::Enum(1, "SHIPPED".into())),
        (
            "address".into(),
            Avro::Record(vec![("city".into(), Avro::String("Oslo".into())), ("zip".into(), Avro::Union(0, Box::new(Avro::Null)))]),
        ),
        ("either".into(), Avro::Union(2, Box::new(Avro::String("s".into())))),
    ])
}

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

#[test]
fn columns_are_inferred_and_every_type_round_trips_through_a_csas() {
    let registry = Arc::new(MemoryClient::new());
    let producer = GenericAvroSerde::new(registry.clone(), SerdeConfig::value(), Some(EXTERNAL)).unwrap();
    let first = producer.to_bytes("orders", order()).unwrap();

    let mut e = engine_with(&registry);
    e.execute("CREATE STREAM ORDERS WITH (KAFKA_TOPIC='orders', VALUE_FORMAT='AVRO');").unwrap();
    insta::assert_snapshot!("avro_inferred_columns", columns(&e, "ORDERS"));

    e.execute("CREATE STREAM OUT AS SELECT * FROM ORDERS;").unwrap();
    e.execute("CREATE STREAM OUT_JSON WITH (VALUE_FORMAT='JSON') AS SELECT * FROM OUT;").unwrap();
    // Registered by the CSAS before any record is written, with ksqlDB's names.
    let registered = registry.latest("OUT-value").unwrap();
    insta::assert_snapshot!("avro_csas_registered_schema", pretty(&registered.schema.schema));

    e.pipe_input("orders", None, Some(first), 5, vec![]).unwrap();
    insta::assert_snapshot!("avro_round_trip_as_json", lines(&e, "OUT_JSON").join("\n"));

    // The CSAS output is Confluent-framed with the registered id, readable by any Avro reader.
    let out = e.read_output("OUT").unwrap();
    let bytes = out[0].value.clone().unwrap();
    assert_eq!(bytes[..5], [0, 0, 0, 0, registered.id as u8]);
    let reader = GenericAvroSerde::new(registry.clone(), SerdeConfig::value(), None).unwrap();
    let (_, _, value) = reader.from_bytes(&bytes).unwrap();
    insta::assert_snapshot!("avro_csas_output_value", format!("{value:#?}"));
}

#[test]
fn declared_columns_write_ksql_schemas_and_read_back() {
    let registry = Arc::new(MemoryClient::new());
    let mut e = engine_with(&registry);
    e.execute(
        "CREATE STREAM S (K STRING KEY, M MAP<INT, STRING>, N STRUCT<A ARRAY<DECIMAL(4, 2)>>) \
         WITH (KAFKA_TOPIC='s', KEY_FORMAT='AVRO', VALUE_FORMAT='AVRO', PARTITIONS=1);",
    )
    .unwrap();
    e.execute("CREATE STREAM T AS SELECT K, M, N FROM S;").unwrap();
    e.execute("CREATE STREAM T_JSON WITH (KEY_FORMAT='JSON', VALUE_FORMAT='JSON') AS SELECT * FROM T;").unwrap();
    e.execute("INSERT INTO S (K, M, N) VALUES ('k1', MAP(1 := 'one', 2 := 'two'), STRUCT(A := ARRAY[1.50, 2.25]));").unwrap();
    insta::assert_snapshot!(sorted_lines(&e, "T_JSON").join("\n"), @r###""k1" | {"M":{"1":"one","2":"two"},"N":{"A":[1.50,2.25]}}"###);
    insta::assert_snapshot!("avro_key_schema", pretty(&registry.latest("T-key").unwrap().schema.schema));
    insta::assert_snapshot!("avro_nested_value_schema", pretty(&registry.latest("T-value").unwrap().schema.schema));
}

#[test]
fn bad_records_are_logged_and_the_query_goes_on() {
    let registry = Arc::new(MemoryClient::new());
    let producer = GenericAvroSerde::new(registry.clone(), SerdeConfig::value(), Some(EXTERNAL)).unwrap();
    let good = producer.to_bytes("orders", order()).unwrap();
    let mut e = engine_with(&registry);
    e.execute("CREATE STREAM ORDERS WITH (KAFKA_TOPIC='orders', VALUE_FORMAT='AVRO');").unwrap();
    e.execute("CREATE STREAM IDS AS SELECT ID FROM ORDERS;").unwrap();
    let mut unknown_id = good.clone();
    unknown_id[4] = 99;
    let truncated = good[..good.len() / 2].to_vec();
    for bad in [br#"{"id":1}"#.to_vec(), unknown_id, truncated] {
        e.pipe_input("orders", None, Some(bad), 1, vec![]).unwrap();
    }
    e.pipe_input("orders", None, Some(good), 2, vec![]).unwrap();
    let log = e.read_output("default_ksql_processing_log").unwrap();
    let messages: Vec<String> = log
        .iter()
        .map(|r| {
            let entry: serde_json::Value = serde_json::from_slice(r.value.as_ref().unwrap()).unwrap();
            entry["message"]["deserializationError"]["errorMessage"].as_str().unwrap_or_default().to_owned()
        })
        .collect();
    insta::assert_snapshot!(messages.join("\n"), @r###"
    Failed to deserialize value from topic: orders. unknown magic byte: 0x7b
    Failed to deserialize value from topic: orders. schema not found: id 99
    Failed to deserialize value from topic: orders. cannot deserialize AVRO payload: Failed to read bytes for decoding variable length integer: failed to fill whole buffer
    "###);
    assert_eq!(e.read_output("IDS").unwrap().len(), 1);
    assert_eq!(e.query_error_count("CSAS_IDS_0"), 3);
}

#[test]
fn a_missing_subject_is_a_clear_error() {
    let registry = Arc::new(MemoryClient::new());
    let mut e = engine_with(&registry);
    let err = e.execute("CREATE STREAM NOPE WITH (KAFKA_TOPIC='nope', VALUE_FORMAT='AVRO');").unwrap_err();
    assert!(err.to_string().starts_with("Schema for message values on topic 'nope' does not exist in the Schema Registry."), "{err}");
    let registered = registry.register("typed-value", &brook_schema::Schema::json("{}"), false).unwrap();
    assert!(registered > 0);
    let err = e.execute("CREATE STREAM TYPED WITH (KAFKA_TOPIC='typed', VALUE_FORMAT='AVRO');").unwrap_err();
    assert!(err.to_string().contains("is a JSON schema"), "{err}");
}
