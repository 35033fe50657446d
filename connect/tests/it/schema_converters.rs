//! `JsonSchemaConverter` and `ProtobufConverter` (and `AvroConverter`'s Decimal): every Connect
//! type round-trips; the registered schemas are golden; against Brook's registry over HTTP,
//! Brook's bytes are read by confluent-kafka's Python `JSONDeserializer`,
//! `ProtobufDeserializer` and `AvroDeserializer`, and Python's serializers' bytes by Brook
//! (skipped with a message when the venv cannot be made).

use std::path::Path;
use std::process::Command;
use std::sync::Arc;

use brook_connect::converter::{converter_by_class, schema_to_json, Converter};
use brook_connect::converter_json_schema::JsonSchemaConverter;
use brook_connect::converter_protobuf::{proto_schema, ProtobufConverter};
use brook_connect::data::{Schema, SchemaAndValue, SchemaType, Struct, Value};
use brook_connect::decimal::{self, BigDecimal};
use brook_schema::{MemoryClient, SchemaRegistryClient};

use crate::avro::serve_registry;
use crate::standalone::broker;

fn logical(t: SchemaType, name: &str) -> Schema {
    Schema { version: Some(1), ..Schema::of(t).named(name) }
}

fn dec(text: &str, scale: i32) -> Value {
    Value::Bytes(BigDecimal::parse(text).unwrap().rescale(scale).unwrap().to_unscaled_bytes())
}

/// A struct with a field of every Connect type. `nulls`: optional fields null (Protobuf reads
/// absent scalars back as their default, so its round trip sets them).
fn every_type(nulls: bool) -> SchemaAndValue {
    let line = Schema::structure([("item", Schema::string()), ("qty", Schema::of(SchemaType::Int16))]).named("io.shop.Line");
    let mut price = decimal::schema(2);
    price.parameters.insert(decimal::PRECISION_PARAM.into(), "10".into());
    let schema = Schema::structure([
        ("i8", Schema::of(SchemaType::Int8)),
        ("i16", Schema::of(SchemaType::Int16)),
        ("i32", Schema::of(SchemaType::Int32)),
        ("i64", Schema::of(SchemaType::Int64)),
        ("f32", Schema::of(SchemaType::Float32)),
        ("f64", Schema::of(SchemaType::Float64)),
        ("flag", Schema::of(SchemaType::Boolean)),
        ("name", Schema::string()),
        ("blob", Schema::of(SchemaType::Bytes)),
        ("price", price),
        ("rebate", decimal::schema(3).optional()),
        ("day", logical(SchemaType::Int32, "org.apache.kafka.connect.data.Date")),
        ("at", logical(SchemaType::Int32, "org.apache.kafka.connect.data.Time")),
        ("ts", logical(SchemaType::Int64, "org.apache.kafka.connect.data.Timestamp")),
        ("tags", Schema::array(Schema::string())),
        ("attrs", Schema::map(Schema::string(), Schema::of(SchemaType::Int64))),
        ("codes", Schema::map(Schema::of(SchemaType::Int32), Schema::string())),
        ("line", line.clone()),
        ("note", Schema::optional_string()),
        ("count", Schema::of(SchemaType::Int32).optional()),
    ])
    .named("io.shop.Order");
    let values = vec![
        Value::Int8(-3),
        Value::Int16(300),
        Value::Int32(-70_000),
        Value::Int64(1 << 40),
        Value::Float32(0.25),
        Value::Float64(-9.5),
        Value::Boolean(true),
        Value::String("pen \"blue\"".into()),
        Value::Bytes(vec![0, 1, 255]),
        dec("-12345678.90", 2),
        if nulls { Value::Null } else { dec("0.125", 3) },
        Value::Int32(19_675),
        Value::Int32(45_296_789),
        Value::Int64(1_700_000_000_123),
        Value::Array(vec![Value::String("a".into()), Value::String("b".into())]),
        Value::Map(vec![(Value::String("k".into()), Value::Int64(1))]),
        Value::Map(vec![(Value::Int32(7), Value::String("seven".into())), (Value::Int32(-1), Value::String("minus".into()))]),
        Value::Struct(Struct { schema: line, values: vec![Value::String("ink".into()), Value::Int16(4)] }),
        if nulls { Value::Null } else { Value::String("gift".into()) },
        Value::Int32(5),
    ];
    SchemaAndValue { schema: Some(schema.clone()), value: Value::Struct(Struct { schema, values }) }
}

/// Field name -> value, the schemas left out (Protobuf reads back other schemas).
fn values_of(v: &Value) -> Vec<(String, String)> {
    let Value::Struct(s) = v else { panic!("not a struct: {v}") };
    s.schema.fields.iter().zip(&s.values).map(|(f, v)| (f.name.clone(), format!("{v:?}").split("schema:").next().unwrap_or_default().to_owned())).collect()
}

#[test]
fn json_schema_converter_round_trips_every_type_golden() {
    let registry: Arc<dyn SchemaRegistryClient> = Arc::new(MemoryClient::new());
    let conv = JsonSchemaConverter::with_client(registry.clone(), false);
    for nulls in [true, false] {
        let data = every_type(nulls);
        let bytes = conv.from_connect_data("orders", &data).unwrap().unwrap();
        assert_eq!(&bytes[..5], [0, 0, 0, 0, 1], "magic byte and the registered id");
        assert_eq!(conv.to_connect_data("orders", Some(&bytes)).unwrap(), data, "nulls: {nulls}");
    }
    let data = every_type(false);
    let bytes = conv.from_connect_data("orders", &data).unwrap().unwrap();
    let registered = registry.latest("orders-value").unwrap().schema.schema;
    let pretty: serde_json::Value = serde_json::from_str(&registered).unwrap();
    insta::assert_snapshot!(format!("{}\n\npayload: {}\n", serde_json::to_string_pretty(&pretty).unwrap(), String::from_utf8_lossy(&bytes[5..])));

    // decimal.format=BASE64 writes the unscaled bytes as base64 instead; both read back.
    let mut base64 = JsonSchemaConverter::with_client(registry.clone(), false);
    base64.configure(&[("decimal.format".to_owned(), "BASE64".to_owned())].into_iter().collect(), false).unwrap();
    let b64 = base64.from_connect_data("orders", &data).unwrap().unwrap();
    assert!(String::from_utf8_lossy(&b64).contains(r#""price":"tmn9Lg==""#), "{}", String::from_utf8_lossy(&b64));
    assert_eq!(conv.to_connect_data("orders", Some(&b64)).unwrap(), data);

    // Bad input: no magic byte, an unknown id, a payload that does not fit.
    let err = conv.to_connect_data("orders", Some(b"{}")).unwrap_err().to_string();
    assert!(err.contains("Failed to deserialize data for topic orders to JSON Schema"), "{err}");
    assert!(conv.to_connect_data("orders", Some(&[0, 0, 0, 0, 99, b'{', b'}'])).is_err());
    let mut wrong = bytes[..5].to_vec();
    wrong.extend_from_slice(br#"{"i8":1000}"#);
    let err = conv.to_connect_data("orders", Some(&wrong)).unwrap_err().to_string();
    assert!(err.contains("Invalid type for INT8"), "{err}");
}

#[test]
fn protobuf_converter_round_trips_every_type_golden() {
    let registry: Arc<dyn SchemaRegistryClient> = Arc::new(MemoryClient::new());
    let conv = ProtobufConverter::with_client(registry.clone(), false);
    let data = every_type(false);
    let bytes = conv.from_connect_data("orders", &data).unwrap().unwrap();
    assert_eq!(&bytes[..6], [0, 0, 0, 0, 1, 0], "magic byte, id, message index [0]");
    let back = conv.to_connect_data("orders", Some(&bytes)).unwrap();
    assert_eq!(values_of(&back.value), values_of(&data.value), "every value survives the round trip");
    // Unset optional messages read back null; unset scalars their default (proto3).
    let nulls = conv.to_connect_data("orders", conv.from_connect_data("orders", &every_type(true)).unwrap().as_deref()).unwrap();
    let Value::Struct(s) = &nulls.value else { panic!() };
    assert_eq!((s.get("rebate"), s.get("note")), (Some(&Value::Null), Some(&Value::String(String::new()))));

    let registered = registry.latest("orders-value").unwrap().schema.schema;
    assert_eq!(registered, proto_schema(data.schema.as_ref().unwrap()).unwrap().0);
    insta::assert_snapshot!(format!("{registered}\nread back as:\n{}\n", schema_to_json(back.schema.as_ref().unwrap())));

    // A schema read back writes the same bytes (its Tag parameters keep the field numbers).
    let again = conv.from_connect_data("orders-again", &back).unwrap().unwrap();
    assert_eq!(again[5..], bytes[5..]);

    // Only structs have a Protobuf schema; bad bytes fail cleanly.
    let err = conv.from_connect_data("t", &SchemaAndValue { schema: Some(Schema::string()), value: Value::String("x".into()) }).unwrap_err().to_string();
    assert!(err.contains("Unsupported root schema of type STRING"), "{err}");
    let mut truncated = bytes.clone();
    truncated.truncate(12);
    assert!(conv.to_connect_data("orders", Some(&truncated)).is_err());
    assert!(conv.to_connect_data("orders", Some(&[0, 0, 0, 0, 1, 0x7e])).is_err());
}

#[test]
fn avro_converter_writes_decimals_as_confluents_avro_data() {
    let registry: Arc<dyn SchemaRegistryClient> = Arc::new(MemoryClient::new());
    let conv = brook_connect::converter_avro::AvroConverter::with_client(registry.clone(), false);
    for nulls in [true, false] {
        let data = every_type(nulls);
        let bytes = conv.from_connect_data("orders", &data).unwrap().unwrap();
        assert_eq!(conv.to_connect_data("orders", Some(&bytes)).unwrap(), data, "nulls: {nulls}");
    }
    let registered: serde_json::Value = serde_json::from_str(&registry.latest("orders-value").unwrap().schema.schema).unwrap();
    assert_eq!(
        registered["fields"][9]["type"],
        serde_json::json!({"type": "bytes", "scale": 2, "precision": 10, "logicalType": "decimal", "connect.version": 1,
            "connect.name": "org.apache.kafka.connect.data.Decimal", "connect.parameters": {"scale": "2", "connect.decimal.precision": "10"}})
    );
    assert_eq!(registered["fields"][10]["type"][1]["precision"], 64, "AvroData's default precision");
    assert_eq!(
        registered["fields"][16]["type"],
        serde_json::json!({"type": "array", "items": {"type": "record", "name": "MapEntry", "namespace": "io.confluent.connect.avro",
            "connect.internal.type": "MapEntry", "fields": [{"name": "key", "type": "int"}, {"name": "value", "type": "string"}]}}),
        "a map with int keys is an array of entries"
    );
}

/// Runs `script` with the venv's Python (None when it cannot be made).
fn python(script: &str, args: &[&str]) -> Option<String> {
    let check = "import confluent_kafka.schema_registry.avro, confluent_kafka.schema_registry.protobuf, \
                 confluent_kafka.schema_registry.json_schema, fastavro, jsonschema, google.protobuf";
    let py = brook_common::test_support::python_venv(check, &["confluent-kafka[avro,schemaregistry,json,protobuf]"])?;
    let out = Command::new(py).arg("-c").arg(script).args(args).current_dir(Path::new("/")).output().unwrap();
    assert!(out.status.success(), "python failed:\n{}\n{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    Some(String::from_utf8(out.stdout).unwrap())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(text: &str) -> Vec<u8> {
    (0..text.len()).step_by(2).map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap()).collect()
}

const PYTHON: &str = r#"
import sys, json, base64
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroDeserializer
from confluent_kafka.schema_registry.json_schema import JSONDeserializer, JSONSerializer
from confluent_kafka.schema_registry.protobuf import ProtobufDeserializer, ProtobufSerializer
from confluent_kafka.serialization import SerializationContext, MessageField
from google.protobuf import descriptor_pb2, descriptor_pool, json_format, message_factory

url, fds_hex, avro_hex, json_hex, proto_hex = sys.argv[1:6]
sr = SchemaRegistryClient({'url': url})
ctx = lambda topic: SerializationContext(topic, MessageField.VALUE)
pool = descriptor_pool.DescriptorPool()
for f in descriptor_pb2.FileDescriptorSet.FromString(bytes.fromhex(fds_hex)).file:
    pool.Add(f)
Order = message_factory.GetMessageClass(pool.FindMessageTypeByName('io.shop.Order'))

out = {}
out['avro'] = AvroDeserializer(sr)(bytes.fromhex(avro_hex), ctx('orders'))
out['json'] = JSONDeserializer(None, schema_registry_client=sr)(bytes.fromhex(json_hex), ctx('orders'))
msg = ProtobufDeserializer(Order, {'use.deprecated.format': False})(bytes.fromhex(proto_hex), ctx('orders'))
out['proto'] = json_format.MessageToDict(msg, preserving_proto_field_name=True)
print(json.dumps(out, default=repr, sort_keys=True))

# Python's serializers, for Brook to read.
schema = json.dumps({"type": "object", "title": "py.Order", "properties": {
    "id": {"type": "integer"}, "name": {"type": "string"}, "amount": {"type": "number"},
    "tags": {"type": "array", "items": {"type": "string"}},
    "note": {"oneOf": [{"type": "null"}, {"type": "string"}]}}})
value = {"id": 7, "name": "ann", "amount": 2.5, "tags": ["a"], "note": None}
print(JSONSerializer(schema, sr)(value, ctx('py-json')).hex())
m = json_format.ParseDict({"i8": -3, "i32": 12, "name": "py", "price": {"value": base64.b64encode(b'\x04\xd2').decode(), "scale": 2},
                           "tags": ["x", "y"], "line": {"item": "cap", "qty": 2}, "day": {"year": 2024, "month": 2, "day": 29}}, Order())
print(ProtobufSerializer(Order, sr, {'use.deprecated.format': False})(m, ctx('py-proto')).hex())
from decimal import Decimal
from confluent_kafka.schema_registry.avro import AvroSerializer
pay = json.dumps({"type": "record", "name": "Pay", "namespace": "py", "fields": [
    {"name": "amount", "type": {"type": "bytes", "logicalType": "decimal", "precision": 12, "scale": 3}}]})
print(AvroSerializer(sr, pay)({"amount": Decimal("-1234.567")}, ctx('py-avro')).hex())
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 3)]
async fn schema_converters_interoperate_with_confluents_python_serdes() {
    let dir = tempfile::tempdir().unwrap();
    let b = broker(dir.path()).await;
    let (url, stop) = serve_registry(&b).await;
    let done = tokio::task::spawn_blocking(move || {
        let config: std::collections::BTreeMap<String, String> = [("schema.registry.url".to_owned(), url.clone())].into_iter().collect();
        let conv = |class: &str| {
            let mut c = converter_by_class(class).unwrap();
            c.configure(&config, false).unwrap();
            c
        };
        let (avro, json, proto) =
            (conv("io.confluent.connect.avro.AvroConverter"), conv("io.confluent.connect.json.JsonSchemaConverter"), conv("io.confluent.connect.protobuf.ProtobufConverter"));
        let data = every_type(false);
        let (a, j, p) = (
            avro.from_connect_data("orders-avro", &every_type(false)).unwrap().unwrap(),
            json.from_connect_data("orders-json", &data).unwrap().unwrap(),
            proto.from_connect_data("orders-proto", &data).unwrap().unwrap(),
        );
        let (text, _) = proto_schema(data.schema.as_ref().unwrap()).unwrap();
        let compiled = brook_schema::protobuf::ParsedProto::compile(&text, &[]).unwrap();
        let fds = compiled.file.parent_pool().encode_to_vec();
        let Some(out) = python(PYTHON, &[&url, &hex(&fds), &hex(&a), &hex(&j), &hex(&p)]) else {
            eprintln!("SKIPPED: could not create a venv with confluent-kafka[avro,schemaregistry,json,protobuf] (pip install failed)");
            return;
        };
        let lines: Vec<&str> = out.lines().collect();
        let decoded: serde_json::Value = serde_json::from_str(lines[0]).unwrap();
        assert_eq!(decoded["avro"]["price"], "Decimal('-12345678.90')");
        assert_eq!(decoded["avro"]["rebate"], "Decimal('0.125')");
        assert_eq!(decoded["avro"]["codes"], serde_json::json!([{"key": 7, "value": "seven"}, {"key": -1, "value": "minus"}]));
        assert_eq!(decoded["json"]["price"], serde_json::json!(-12345678.9));
        assert_eq!(decoded["json"]["codes"], serde_json::json!([{"key": 7, "value": "seven"}, {"key": -1, "value": "minus"}]));
        assert_eq!(decoded["json"]["blob"], "AAH/");
        assert_eq!(decoded["json"]["line"], serde_json::json!({"item": "ink", "qty": 4}));
        assert_eq!(decoded["proto"]["i8"], -3);
        assert_eq!(decoded["proto"]["i64"], "1099511627776");
        assert_eq!(decoded["proto"]["price"], serde_json::json!({"value": "tmn9Lg==", "precision": 10, "scale": 2}));
        assert_eq!(decoded["proto"]["day"], serde_json::json!({"year": 2023, "month": 11, "day": 14}));
        assert_eq!(decoded["proto"]["at"], serde_json::json!({"hours": 12, "minutes": 34, "seconds": 56, "nanos": 789000000}));
        assert_eq!(decoded["proto"]["ts"], "2023-11-14T22:13:20.123Z");
        assert_eq!(decoded["proto"]["codes"], serde_json::json!([{"key": 7, "value": "seven"}, {"key": -1, "value": "minus"}]));
        insta::assert_snapshot!("python_reads_brooks_bytes", serde_json::to_string_pretty(&decoded).unwrap());

        // Python's bytes read by Brook's converters.
        let from_py = json.to_connect_data("py-json", Some(&unhex(lines[1]))).unwrap();
        assert_eq!(from_py.schema.as_ref().unwrap().name.as_deref(), Some("py.Order"));
        let Value::Struct(s) = &from_py.value else { panic!("{:?}", from_py.value) };
        assert_eq!(
            [s.get("id"), s.get("name"), s.get("amount"), s.get("note")],
            [Some(&Value::Int64(7)), Some(&Value::String("ann".into())), Some(&Value::Float64(2.5)), Some(&Value::Null)]
        );
        let from_py = proto.to_connect_data("py-proto", Some(&unhex(lines[2]))).unwrap();
        let Value::Struct(s) = &from_py.value else { panic!("{:?}", from_py.value) };
        assert_eq!(s.get("i8"), Some(&Value::Int8(-3)));
        assert_eq!(s.get("price"), Some(&dec("12.34", 2)));
        assert_eq!(s.get("day"), Some(&Value::Int32(19_782)));
        assert_eq!(s.get("tags"), Some(&Value::Array(vec![Value::String("x".into()), Value::String("y".into())])));
        let Some(Value::Struct(line)) = s.get("line") else { panic!("{s:?}") };
        assert_eq!(line.get("item"), Some(&Value::String("cap".into())));
        assert_eq!(s.get("rebate"), Some(&Value::Null), "an unset message is null");
        // A plain Avro decimal (no Connect properties) is a Decimal with its precision.
        let from_py = avro.to_connect_data("py-avro", Some(&unhex(lines[3]))).unwrap();
        let Value::Struct(s) = &from_py.value else { panic!("{:?}", from_py.value) };
        assert_eq!(s.get("amount"), Some(&dec("-1234.567", 3)));
        let amount = &s.schema.fields[0].schema;
        assert_eq!((amount.name.as_deref(), decimal::scale(amount).unwrap(), decimal::precision(amount)), (Some(decimal::LOGICAL_NAME), 3, Some(12)));
    });
    done.await.unwrap();
    let _ = stop.send(());
    b.shutdown().await;
}

/// PostgreSQL rows with NUMERIC, DATE and SMALLINT columns through the JDBC source, a topic in
/// each Schema Registry format (and `JsonConverter` with `decimal.format=NUMERIC`) and the
/// JDBC sink, in the standalone worker: every copy equals the source table, decimals exact.
#[tokio::test(flavor = "multi_thread", worker_threads = 3)]
async fn worker_copies_decimals_through_each_converter() {
    use brook_common::test_support::{wait_until_async, PostgresServer};
    use brook_connect::standalone::{parse_properties, StandaloneWorker, WorkerConfig};
    use brook_connect::Plugins;
    use std::time::Duration;

    let pg = PostgresServer::start();
    pg.psql("CREATE TABLE src (id BIGSERIAL PRIMARY KEY, name TEXT NOT NULL, price NUMERIC(12,3) NOT NULL, rebate NUMERIC(30,10), qty SMALLINT, day DATE)");
    pg.psql("INSERT INTO src (name, price, rebate, qty, day) SELECT 'n' || g, g * 1000.125 - 7, CASE WHEN g % 3 = 0 THEN NULL ELSE g / 7.0 END, g, DATE '2024-02-29' + g FROM generate_series(1, 20) g");
    pg.psql("INSERT INTO src (name, price, rebate, qty, day) VALUES ('big', -999999999.999, 12345678901234567890.0123456789, -1, NULL)");
    let dir = tempfile::tempdir().unwrap();
    let b = broker(dir.path()).await;
    let (registry, stop_registry) = serve_registry(&b).await;
    let props = |text: &str| parse_properties("test", text).unwrap();
    let worker = props(&format!(
        "key.converter=org.apache.kafka.connect.storage.StringConverter\nvalue.converter=org.apache.kafka.connect.json.JsonConverter\noffset.storage.file.filename={}\noffset.flush.interval.ms=100\n",
        dir.path().join("offsets").display()
    ));
    let url = pg.jdbc_url();
    let formats = [
        ("avro", "io.confluent.connect.avro.AvroConverter"),
        ("jsonsr", "io.confluent.connect.json.JsonSchemaConverter"),
        ("proto", "io.confluent.connect.protobuf.ProtobufConverter"),
        ("json", "org.apache.kafka.connect.json.JsonConverter"),
    ];
    let mut connectors = Vec::new();
    for (prefix, class) in formats {
        let converter = format!("value.converter={class}\nvalue.converter.schema.registry.url={registry}\nvalue.converter.decimal.format=NUMERIC\n");
        connectors.push(props(&format!(
            "name={prefix}-src\nconnector.class=JdbcSource\nconnection.url={url}\nmode=incrementing\nincrementing.column.name=id\ntable.whitelist=src\ntopic.prefix={prefix}_\npoll.interval.ms=50\n{converter}"
        )));
        connectors.push(props(&format!(
            "name={prefix}-sink\nconnector.class=JdbcSink\nconnection.url={url}\ntopics={prefix}_src\ninsert.mode=upsert\npk.mode=record_value\npk.fields=id\nauto.create=true\ntable.name.format=copy_${{topic}}\n{converter}"
        )));
    }
    let w = StandaloneWorker::new(b.clone(), WorkerConfig::from_props(worker).unwrap(), Plugins::default()).unwrap();
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let handle = tokio::spawn(w.run(connectors, stopped));
    let want = pg.psql("SELECT id, name, price, rebate, qty, day FROM src ORDER BY id");
    for (prefix, _) in formats {
        let table = format!("copy_{prefix}_src");
        wait_until_async(&format!("21 rows in {table}"), Duration::from_secs(90), || {
            let exists = pg.psql(&format!("SELECT count(*) FROM information_schema.tables WHERE table_name = '{table}'")) == "1";
            let got = if exists { pg.psql(&format!("SELECT count(*) FROM {table}")) } else { String::new() };
            async move { got == "21" }
        })
        .await;
        assert_eq!(pg.psql(&format!("SELECT id, name, price, rebate, qty, day FROM {table} ORDER BY id")), want, "{table}");
        let types = pg.psql(&format!("SELECT data_type, numeric_precision, numeric_scale FROM information_schema.columns WHERE table_name = '{table}' AND column_name = 'price'"));
        assert_eq!(types, "numeric|12|3", "{table}: the Decimal's precision and scale made the column");
    }
    stop.send(true).unwrap();
    handle.await.unwrap().unwrap();
    let _ = stop_registry.send(());
    b.shutdown().await;
}
