//! `AvroConverter` against a real Schema Registry (Brook's, served over HTTP on an embedded
//! broker), its bytes read back by Confluent's Python `AvroDeserializer` (skipped with a
//! message when the venv cannot be made).

use std::path::Path;
use std::process::Command;
use std::sync::Arc;

use brook_broker::Broker;
use brook_connect::converter::converter_by_class;
use brook_connect::data::{Field, Schema, SchemaAndValue, SchemaType, Struct, Value};
use brook_schema::{HttpClient, HttpClientConfig, SchemaRegistryClient};
use brook_schema_registry::{EmbeddedLog, RegistryConfig, SchemaRegistry};

use crate::standalone::broker;

/// Serves a registry over `broker` on a free port; returns its URL and the stop signal.
pub(crate) async fn serve_registry(broker: &Broker) -> (String, tokio::sync::oneshot::Sender<()>) {
    let log = Arc::new(EmbeddedLog::open(broker.clone(), "_schemas").unwrap());
    let registry = SchemaRegistry::start(log, RegistryConfig::default()).await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(brook_schema_registry::serve(registry, listener, async move {
        let _ = stopped.await;
    }));
    (url, stop)
}

fn order_schema() -> Schema {
    let line = Schema::structure([("item", Schema::string()), ("qty", Schema::of(SchemaType::Int16))]).named("io.shop.Line");
    let mut s = Schema::structure([
        ("id", Schema::of(SchemaType::Int64)),
        ("small", Schema::of(SchemaType::Int8)),
        ("count", Schema::of(SchemaType::Int32)),
        ("price", Schema::of(SchemaType::Float64)),
        ("ratio", Schema::of(SchemaType::Float32)),
        ("paid", Schema::of(SchemaType::Boolean)),
        ("note", Schema::optional_string()),
        ("blob", Schema::of(SchemaType::Bytes)),
        ("tags", Schema::array(Schema::string())),
        ("attrs", Schema::map(Schema::string(), Schema::of(SchemaType::Int64))),
        ("line", line),
    ])
    .named("io.shop.Order");
    s.fields.push(Field { name: "ts".into(), schema: Schema { version: Some(1), ..Schema::of(SchemaType::Int64).named("org.apache.kafka.connect.data.Timestamp") } });
    s.fields.push(Field { name: "day".into(), schema: Schema { version: Some(1), ..Schema::of(SchemaType::Int32).named("org.apache.kafka.connect.data.Date") } });
    s
}

fn order(schema: &Schema) -> Value {
    let line_schema = schema.fields[10].schema.clone();
    Value::Struct(Struct {
        schema: schema.clone(),
        values: vec![
            Value::Int64(7),
            Value::Int8(-3),
            Value::Int32(2),
            Value::Float64(9.5),
            Value::Float32(0.25),
            Value::Boolean(true),
            Value::Null,
            Value::Bytes(vec![0, 1, 255]),
            Value::Array(vec![Value::String("a".into()), Value::String("b".into())]),
            Value::Map(vec![(Value::String("k".into()), Value::Int64(1))]),
            Value::Struct(Struct { schema: line_schema, values: vec![Value::String("pen".into()), Value::Int16(4)] }),
            Value::Int64(1_700_000_000_123),
            Value::Int32(19675),
        ],
    })
}

fn python_decode(url: &str, topic: &str, bytes: &[u8]) -> Option<String> {
    let check = "import confluent_kafka.schema_registry.avro, confluent_kafka.schema_registry.protobuf, \
                 confluent_kafka.schema_registry.json_schema, fastavro, jsonschema, google.protobuf";
    let py = brook_common::test_support::python_venv(check, &["confluent-kafka[avro,schemaregistry,json,protobuf]"])?;
    let script = r#"
import sys, json
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroDeserializer
from confluent_kafka.serialization import SerializationContext, MessageField
url, topic, data = sys.argv[1], sys.argv[2], bytes.fromhex(sys.argv[3])
value = AvroDeserializer(SchemaRegistryClient({'url': url}))(data, SerializationContext(topic, MessageField.VALUE))
print(json.dumps(value, default=repr, sort_keys=True))
"#;
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    let out = Command::new(py).args(["-c", script, url, topic, &hex]).current_dir(Path::new("/")).output().unwrap();
    assert!(out.status.success(), "python AvroDeserializer failed:\n{}", String::from_utf8_lossy(&out.stderr));
    Some(String::from_utf8(out.stdout).unwrap().trim().to_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 3)]
async fn avro_converter_round_trips_through_the_registry_and_confluents_deserializer() {
    let dir = tempfile::tempdir().unwrap();
    let b = broker(dir.path()).await;
    let (url, stop) = serve_registry(&b).await;

    let mut conv = converter_by_class("io.confluent.connect.avro.AvroConverter").unwrap();
    let config = [("schema.registry.url".to_owned(), url.clone())].into_iter().collect();
    let (conv, bytes) = tokio::task::spawn_blocking(move || {
        conv.configure(&config, false).unwrap();
        let schema = order_schema();
        let data = SchemaAndValue { schema: Some(schema.clone()), value: order(&schema) };
        let bytes = conv.from_connect_data("orders", &data).unwrap().unwrap();
        let back = conv.to_connect_data("orders", Some(&bytes)).unwrap();
        assert_eq!(back, data, "Connect data survives the round trip, logical types and int8/int16 included");
        (conv, bytes)
    })
    .await
    .unwrap();
    assert_eq!(bytes[0], 0, "Confluent's magic byte");

    // Registered under the topic's value subject with Confluent's Connect annotations.
    let registered = tokio::task::spawn_blocking({
        let url = url.clone();
        move || HttpClient::new(HttpClientConfig::new(&url)).unwrap().latest("orders-value").unwrap()
    })
    .await
    .unwrap();
    assert_eq!(i32::from_be_bytes(bytes[1..5].try_into().unwrap()), registered.id);
    let text: serde_json::Value = serde_json::from_str(&registered.schema.schema).unwrap();
    assert_eq!(text["name"], "Order");
    assert_eq!(text["namespace"], "io.shop");
    assert_eq!(text["connect.name"], "io.shop.Order");
    assert_eq!(text["fields"][1]["type"], serde_json::json!({"type": "int", "connect.type": "int8"}));
    assert_eq!(text["fields"][6], serde_json::json!({"name": "note", "type": ["null", "string"], "default": null}));
    assert_eq!(text["fields"][11]["type"]["logicalType"], "timestamp-millis");

    // A null value is a tombstone; bytes without the magic byte fail with a clear error.
    assert_eq!(conv.from_connect_data("orders", &SchemaAndValue::null()).unwrap(), None);
    let err = conv.to_connect_data("orders", Some(b"plain")).unwrap_err().to_string();
    assert!(err.starts_with("Failed to deserialize data for topic orders to Avro"), "{err}");

    let decoded = tokio::task::spawn_blocking(move || python_decode(&url, "orders", &bytes)).await.unwrap();
    match decoded {
        None => eprintln!("SKIPPED: could not create a venv with confluent-kafka[avro,schemaregistry] (pip install failed)"),
        Some(json) => assert_eq!(
            json,
            r#"{"attrs": {"k": 1}, "blob": "b'\\x00\\x01\\xff'", "count": 2, "day": "datetime.date(2023, 11, 14)", "id": 7, "line": {"item": "pen", "qty": 4}, "note": null, "paid": true, "price": 9.5, "ratio": 0.25, "small": -3, "tags": ["a", "b"], "ts": "datetime.datetime(2023, 11, 14, 22, 13, 20, 123000, tzinfo=datetime.timezone.utc)"}"#
        ),
    }
    let _ = stop.send(());
    b.shutdown().await;
}
