//! `brook server`'s Schema Registry as a process: schemas registered over HTTP survive a
//! SIGKILL with the same ids and versions; the SQL engine in the same server registers and
//! reads schemas there, with confluent-kafka's Python serializers on the other side.

use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// `brook server` on `data` with its registry on `registry` and, with `ksql`, its SQL REST API
/// there (else `--no-ksql`), once every one of them accepts connections.
fn spawn(data: &std::path::Path, kafka: &str, registry: &str, ksql: Option<&str>) -> Child {
    let mut args = vec!["server", "--listen", kafka, "--schema-registry-listen", registry];
    match ksql {
        Some(ksql) => args.extend(["--ksql-listen", ksql]),
        None => args.push("--no-ksql"),
    }
    let child = Command::new(env!("CARGO_BIN_EXE_brook"))
        .args(args)
        .arg("--data-dir")
        .arg(data)
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    for addr in std::iter::once(registry).chain(ksql) {
        while TcpStream::connect(addr).is_err() {
            assert!(Instant::now() < deadline, "brook server did not listen on {addr}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    child
}

async fn post(client: &reqwest::Client, url: String, body: &str) -> String {
    let r = client.post(url).header("content-type", "application/vnd.schemaregistry.v1+json").body(body.to_owned()).send().await.unwrap();
    r.text().await.unwrap()
}

async fn get(client: &reqwest::Client, url: String) -> String {
    client.get(url).send().await.unwrap().text().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ids_and_versions_survive_sigkill() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let (kafka, registry) = (format!("127.0.0.1:{}", free_port()), format!("127.0.0.1:{}", free_port()));
    let base = format!("http://{registry}");
    let client = reqwest::Client::new();
    let mut child = spawn(&data, &kafka, &registry, None);
    let v1 = r#"{"schema":"{\"type\":\"record\",\"name\":\"R\",\"fields\":[{\"name\":\"a\",\"type\":\"int\"}]}"}"#;
    let v2 = r#"{"schema":"{\"type\":\"record\",\"name\":\"R\",\"fields\":[{\"name\":\"a\",\"type\":\"int\"},{\"name\":\"b\",\"type\":\"string\",\"default\":\"\"}]}"}"#;
    let json = r#"{"schemaType":"JSON","schema":"{\"type\":\"object\"}"}"#;
    assert_eq!(post(&client, format!("{base}/subjects/a-value/versions"), v1).await, r#"{"id":1}"#);
    assert_eq!(post(&client, format!("{base}/subjects/a-value/versions"), v2).await, r#"{"id":2}"#);
    assert_eq!(post(&client, format!("{base}/subjects/b-value/versions"), json).await, r#"{"id":3}"#);
    assert_eq!(post(&client, format!("{base}/subjects/c-value/versions"), v2).await, r#"{"id":2}"#);
    let r = client.put(format!("{base}/config/a-value")).body(r#"{"compatibility":"FULL"}"#).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let r = client.delete(format!("{base}/subjects/c-value")).send().await.unwrap();
    assert_eq!(r.text().await.unwrap(), "[1]");
    let before: Vec<String> = client_view(&client, &base).await;

    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let mut child = spawn(&data, &kafka, &registry, None);
    let after: Vec<String> = client_view(&client, &base).await;
    assert_eq!(before, after);
    assert_eq!(get(&client, format!("{base}/config/a-value")).await, r#"{"compatibilityLevel":"FULL"}"#);
    // Registration goes on from where it was: the next id is 4, the next version of a-value 3.
    let v3 = r#"{"schema":"{\"type\":\"record\",\"name\":\"R\",\"fields\":[{\"name\":\"a\",\"type\":\"int\"},{\"name\":\"b\",\"type\":\"string\",\"default\":\"\"},{\"name\":\"c\",\"type\":\"long\",\"default\":0}]}"}"#;
    assert_eq!(post(&client, format!("{base}/subjects/a-value/versions"), v3).await, r#"{"id":4}"#);
    assert_eq!(get(&client, format!("{base}/subjects/a-value/versions")).await, "[1,2,3]");
    child.kill().unwrap();
    child.wait().unwrap();
}

/// What a client sees: subjects, versions, and every version's body.
async fn client_view(client: &reqwest::Client, base: &str) -> Vec<String> {
    let mut out = vec![get(client, format!("{base}/subjects")).await, get(client, format!("{base}/subjects?deleted=true")).await];
    for s in ["a-value", "b-value", "c-value"] {
        out.push(get(client, format!("{base}/subjects/{s}/versions?deleted=true")).await);
        for v in 1..=2 {
            out.push(get(client, format!("{base}/subjects/{s}/versions/{v}?deleted=true")).await);
        }
    }
    for id in 1..=3 {
        out.push(get(client, format!("{base}/schemas/ids/{id}")).await);
    }
    assert!(out[0] == r#"["a-value","b-value"]"#, "{out:?}");
    out
}

/// The SQL engine of `brook server` uses the registry it serves: an AVRO stream's CSAS registers
/// its sink's value schema there, under ksqlDB's record name.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sql_in_the_same_server_registers_avro_schemas_in_its_registry() {
    let dir = tempfile::tempdir().unwrap();
    let (kafka, registry, ksql) =
        (format!("127.0.0.1:{}", free_port()), format!("127.0.0.1:{}", free_port()), format!("127.0.0.1:{}", free_port()));
    let mut child = spawn(&dir.path().join("data"), &kafka, &registry, Some(&ksql));
    let client = reqwest::Client::new();
    let statements = "CREATE STREAM PAGEVIEWS (ID INT KEY, PAGE STRING, VIEWS BIGINT) WITH (KAFKA_TOPIC='pageviews', VALUE_FORMAT='AVRO', PARTITIONS=1); \
                      CREATE STREAM POPULAR AS SELECT ID, PAGE FROM PAGEVIEWS WHERE VIEWS > 10;";
    let body = serde_json::json!({ "ksql": statements, "streamsProperties": {} }).to_string();
    let r = client.post(format!("http://{ksql}/ksql")).header("content-type", "application/vnd.ksql.v1+json").body(body).send().await.unwrap();
    let status = r.status();
    let text = r.text().await.unwrap();
    assert!(status.is_success(), "{status}: {text}");
    let subjects = get(&client, format!("http://{registry}/subjects")).await;
    assert!(subjects.contains(r#""POPULAR-value""#), "{subjects}");
    let latest = get(&client, format!("http://{registry}/subjects/POPULAR-value/versions/latest")).await;
    let latest: serde_json::Value = serde_json::from_str(&latest).unwrap();
    let schema: serde_json::Value = serde_json::from_str(latest["schema"].as_str().unwrap()).unwrap();
    assert_eq!(schema["name"], "KsqlDataSourceSchema", "{schema}");
    assert_eq!(schema["namespace"], "io.confluent.ksql.avro_schemas", "{schema}");
    let fields: Vec<&str> = schema["fields"].as_array().unwrap().iter().map(|f| f["name"].as_str().unwrap()).collect();
    assert_eq!(fields, ["PAGE"], "{schema}");
    child.kill().unwrap();
    child.wait().unwrap();
}

/// Statements through the server's `/ksql` endpoint (reading topics from the beginning); the
/// response body.
async fn ksql(client: &reqwest::Client, addr: &str, statements: &str) -> serde_json::Value {
    let body = serde_json::json!({ "ksql": statements, "streamsProperties": {"auto.offset.reset": "earliest"} }).to_string();
    let r = client.post(format!("http://{addr}/ksql")).header("content-type", "application/vnd.ksql.v1+json").body(body).send().await.unwrap();
    let status = r.status();
    let text = r.text().await.unwrap();
    assert!(status.is_success(), "{statements}\n{status}: {text}");
    serde_json::from_str(&text).unwrap()
}

/// A venv with confluent-kafka's Schema Registry serializers; `None` (the test is skipped, with
/// a message) when pip cannot install them.
async fn confluent_python() -> Option<std::path::PathBuf> {
    let check = "import confluent_kafka.schema_registry.avro, confluent_kafka.schema_registry.protobuf, \
                 confluent_kafka.schema_registry.json_schema, fastavro, jsonschema, google.protobuf";
    let packages = ["confluent-kafka[avro,schemaregistry,json,protobuf]"];
    let py = tokio::task::spawn_blocking(move || brook_common::test_support::python_venv(check, &packages)).await.unwrap();
    if py.is_none() {
        eprintln!("SKIPPED: could not create a venv with confluent-kafka[avro,json,protobuf,schemaregistry] (pip install failed)");
    }
    py
}

/// Runs `tests/python/sql_schema_formats.py MODE KAFKA REGISTRY_URL`; asserts it ends with
/// `ALL OK` and returns its output.
async fn python_script(py: &std::path::Path, mode: &str, kafka: &str, url: &str) -> String {
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python/sql_schema_formats.py");
    let mut command = Command::new(py);
    command.arg(script).args([mode, kafka, url]);
    let out = tokio::task::spawn_blocking(move || command.output().unwrap()).await.unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success() && stdout.contains("ALL OK"), "{mode} failed:\n{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    stdout
}

/// confluent-kafka's Python serializers and Brook SQL through one `brook server`, for AVRO,
/// JSON_SR and PROTOBUF: Python registers and produces, Brook SQL infers the columns from the
/// registry and runs a CSAS, Python's deserializers read what the CSAS wrote (with the schemas
/// it registered).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_serializers_and_brook_sql_share_the_registry() {
    let Some(py) = confluent_python().await else { return };
    let dir = tempfile::tempdir().unwrap();
    let (kafka, registry, ksql_addr) =
        (format!("127.0.0.1:{}", free_port()), format!("127.0.0.1:{}", free_port()), format!("127.0.0.1:{}", free_port()));
    let mut child = spawn(&dir.path().join("data"), &kafka, &registry, Some(&ksql_addr));
    let url = format!("http://{registry}");
    python_script(&py, "produce", &kafka, &url).await;

    let client = reqwest::Client::new();
    let mut described = Vec::new();
    for (source, topic, format, sink) in
        [("PY_AVRO", "py_avro", "AVRO", "BROOK_AVRO"), ("PY_JSON", "py_json", "JSON_SR", "BROOK_JSON"), ("PY_PROTO", "py_proto", "PROTOBUF", "BROOK_PROTO")]
    {
        ksql(&client, &ksql_addr, &format!("CREATE STREAM {source} WITH (KAFKA_TOPIC='{topic}', VALUE_FORMAT='{format}');")).await;
        let d = ksql(&client, &ksql_addr, &format!("DESCRIBE {source};")).await;
        let fields: Vec<String> = d[0]["sourceDescription"]["fields"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| format!("{} {}", f["name"].as_str().unwrap(), f["schema"]["type"].as_str().unwrap()))
            .collect();
        described.push(format!("{source}: {}", fields.join(", ")));
        ksql(
            &client,
            &ksql_addr,
            &format!("CREATE STREAM {sink} AS SELECT ID, NAME, AMOUNT * 2 AS DOUBLED, TAGS, ADDRESS->CITY AS CITY FROM {source};"),
        )
        .await;
    }
    insta::assert_snapshot!(described.join("\n"), @r###"
    PY_AVRO: ID BIGINT, NAME STRING, AMOUNT DOUBLE, TAGS ARRAY, ADDRESS STRUCT
    PY_JSON: ID BIGINT, NAME STRING, AMOUNT DOUBLE, TAGS ARRAY, ADDRESS STRUCT
    PY_PROTO: ID BIGINT, NAME STRING, AMOUNT DOUBLE, TAGS ARRAY, ADDRESS STRUCT
    "###);

    let stdout = python_script(&py, "consume", &kafka, &url).await;
    let records: Vec<&str> = stdout.lines().filter(|l| l.starts_with("BROOK_")).collect();
    // Python's JSON deserializer validated each value against the schema the CSAS registered.
    insta::assert_snapshot!(records.join("\n"), @r###"
    BROOK_AVRO {"CITY": "Oslo", "DOUBLED": 5.0, "ID": 1, "NAME": "ann", "TAGS": ["a", "b"]}
    BROOK_AVRO {"CITY": "Bergen", "DOUBLED": 20.5, "ID": 2, "NAME": "bob", "TAGS": []}
    BROOK_JSON {"CITY": "Oslo", "DOUBLED": 5.0, "ID": 1, "NAME": "ann", "TAGS": ["a", "b"]}
    BROOK_JSON {"CITY": "Bergen", "DOUBLED": 20.5, "ID": 2, "NAME": "bob", "TAGS": []}
    BROOK_PROTO {"CITY": "Oslo", "DOUBLED": 5.0, "ID": "1", "NAME": "ann", "TAGS": ["a", "b"]}
    BROOK_PROTO {"CITY": "Bergen", "DOUBLED": 20.5, "ID": "2", "NAME": "bob"}
    "###);
    child.kill().unwrap();
    child.wait().unwrap();
}

/// What the Streams DSL topology writes: ksqlDB-style upper-case field names, so Python's output
/// lines read like the SQL test's.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
#[allow(non_snake_case)]
struct DslOrder {
    ID: i64,
    NAME: String,
    DOUBLED: f64,
    CITY: String,
}

/// The typed Avro reader schema for Python's `shop.Order` (without `tags`: Avro resolution
/// skips the writer's extra field).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
struct AvroOrder {
    id: i64,
    name: String,
    amount: f64,
    address: AvroAddress,
}

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
struct AvroAddress {
    city: String,
}

const AVRO_ORDER_READER: &str = r#"{"type":"record","name":"Order","namespace":"shop","fields":[
    {"name":"id","type":"long"},{"name":"name","type":"string"},{"name":"amount","type":"double"},
    {"name":"address","type":{"type":"record","name":"Address","fields":[{"name":"city","type":"string"}]}}]}"#;
const AVRO_DSL_ORDER: &str = r#"{"type":"record","name":"DslOrder","namespace":"dsl","fields":[
    {"name":"ID","type":"long"},{"name":"NAME","type":"string"},{"name":"DOUBLED","type":"double"},
    {"name":"CITY","type":"string"}]}"#;
const JSON_DSL_ORDER: &str = r#"{"title":"DslOrder","type":"object","properties":{"ID":{"type":"integer"},
    "NAME":{"type":"string"},"DOUBLED":{"type":"number"},"CITY":{"type":"string"}},"required":["ID","NAME","DOUBLED","CITY"]}"#;
const PROTO_DSL_ORDER: &str =
    "syntax = \"proto3\";\npackage dsl;\nmessage DslOrder { int64 ID = 1; string NAME = 2; double DOUBLED = 3; string CITY = 4; }\n";

/// The Streams DSL topology: each of Python's three topics read with Brook's Schema Registry
/// serdes (typed Avro, generic JSON Schema, generic Protobuf), the amount doubled, written with
/// Brook's serdes to DSL_AVRO, DSL_JSON, DSL_PROTO.
fn dsl_topology(registry_url: &str) -> brook_streams_dsl::Topology {
    use brook_schema::prost_reflect::{DynamicMessage, Value as Proto};
    use brook_schema::{
        AvroSerde, GenericJsonSchemaSerde, GenericProtobufSerde, HttpClient, HttpClientConfig, JsonSchemaSerde, SerdeConfig,
    };
    use brook_state_store::{Serde, StringSerde};
    use brook_streams_dsl::{Consumed, Produced, StreamsBuilder};
    use std::sync::Arc;

    let client: Arc<dyn brook_schema::SchemaRegistryClient> =
        Arc::new(brook_schema::CachedClient::new(HttpClient::new(HttpClientConfig::new(registry_url)).unwrap()));
    let keys: Arc<dyn Serde<String>> = Arc::new(StringSerde);
    let builder = StreamsBuilder::new();

    let avro_in: Arc<dyn Serde<AvroOrder>> = Arc::new(AvroSerde::new(client.clone(), SerdeConfig::value(), AVRO_ORDER_READER).unwrap());
    let avro_out: Arc<dyn Serde<DslOrder>> = Arc::new(AvroSerde::new(client.clone(), SerdeConfig::value(), AVRO_DSL_ORDER).unwrap());
    builder
        .stream(&["py_avro"], Consumed::with(keys.clone(), avro_in))
        .map_values(|o: &AvroOrder| DslOrder { ID: o.id, NAME: o.name.clone(), DOUBLED: o.amount * 2.0, CITY: o.address.city.clone() })
        .to("DSL_AVRO", Produced::with(keys.clone(), avro_out));

    let json_in: Arc<dyn Serde<serde_json::Value>> = Arc::new(GenericJsonSchemaSerde::new(client.clone(), SerdeConfig::value(), None).unwrap());
    let json_out: Arc<dyn Serde<DslOrder>> = Arc::new(JsonSchemaSerde::new(client.clone(), SerdeConfig::value(), JSON_DSL_ORDER).unwrap());
    builder
        .stream(&["py_json"], Consumed::with(keys.clone(), json_in))
        .map_values(|o: &serde_json::Value| DslOrder {
            ID: o["id"].as_i64().unwrap_or_default(),
            NAME: o["name"].as_str().unwrap_or_default().to_owned(),
            DOUBLED: o["amount"].as_f64().unwrap_or_default() * 2.0,
            CITY: o["address"]["city"].as_str().unwrap_or_default().to_owned(),
        })
        .to("DSL_JSON", Produced::with(keys.clone(), json_out));

    let proto_in: Arc<dyn Serde<DynamicMessage>> = Arc::new(GenericProtobufSerde::new(client.clone(), SerdeConfig::value(), None).unwrap());
    let proto_out = GenericProtobufSerde::new(client, SerdeConfig::value(), Some(PROTO_DSL_ORDER)).unwrap();
    let descriptor = proto_out.schema().unwrap().message("dsl.DslOrder").unwrap();
    let proto_out: Arc<dyn Serde<DynamicMessage>> = Arc::new(proto_out);
    builder
        .stream(&["py_proto"], Consumed::with(keys.clone(), proto_in))
        .map_values(move |o: &DynamicMessage| {
            let field = |m: &DynamicMessage, name: &str| m.get_field_by_name(name).map(|v| v.into_owned());
            let mut out = DynamicMessage::new(descriptor.clone());
            out.set_field_by_name("ID", field(o, "id").unwrap_or(Proto::I64(0)));
            out.set_field_by_name("NAME", field(o, "name").unwrap_or(Proto::String(String::new())));
            let amount = field(o, "amount").and_then(|v| v.as_f64()).unwrap_or_default();
            out.set_field_by_name("DOUBLED", Proto::F64(amount * 2.0));
            let city = field(o, "address").and_then(|a| a.as_message().and_then(|a| field(a, "city")));
            out.set_field_by_name("CITY", city.unwrap_or(Proto::String(String::new())));
            out
        })
        .to("DSL_PROTO", Produced::with(keys, proto_out));
    builder.build().unwrap()
}

/// confluent-kafka's Python serializers produce Avro, JSON Schema and Protobuf to `brook
/// server`; a Streams DSL topology (KafkaStreams over the Kafka protocol) reads them with
/// Brook's serdes, transforms them and writes them with Brook's serdes (registering its output
/// schemas under `<topic>-value`); Python's deserializers read the output.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_serializers_and_the_streams_dsl_share_the_registry() {
    use brook_processor_api::runtime::Kafka;
    use brook_processor_api::{KafkaStreams, StreamsConfig, TopologyTaskFactory};

    let Some(py) = confluent_python().await else { return };
    let dir = tempfile::tempdir().unwrap();
    let (kafka, registry) = (format!("127.0.0.1:{}", free_port()), format!("127.0.0.1:{}", free_port()));
    let mut child = spawn(&dir.path().join("data"), &kafka, &registry, None);
    let url = format!("http://{registry}");
    python_script(&py, "produce", &kafka, &url).await;

    let mut config = StreamsConfig::new("dsl-schema-registry");
    config.state_dir = dir.path().join("state");
    config.set("bootstrap.servers", &kafka).unwrap();
    config.set("commit.interval.ms", "100").unwrap();
    config.set("auto.offset.reset", "earliest").unwrap();
    let registry_url = url.clone();
    let topology = tokio::task::spawn_blocking(move || dsl_topology(&registry_url)).await.unwrap();
    let factory = std::sync::Arc::new(TopologyTaskFactory::new(topology, &config).unwrap());
    let streams = KafkaStreams::new(factory, config, Kafka::new(&kafka)).unwrap();
    streams.start().unwrap();

    let stdout = python_script(&py, "consume-dsl", &kafka, &url).await;
    let closed = tokio::task::spawn_blocking(move || streams.close(Duration::from_secs(30))).await.unwrap();
    assert!(closed, "the stream threads did not stop within 30 s");
    let records: Vec<&str> = stdout.lines().filter(|l| l.starts_with("DSL_")).collect();
    insta::assert_snapshot!(records.join("\n"), @r###"
    DSL_AVRO {"CITY": "Oslo", "DOUBLED": 5.0, "ID": 1, "NAME": "ann"}
    DSL_AVRO {"CITY": "Bergen", "DOUBLED": 20.5, "ID": 2, "NAME": "bob"}
    DSL_JSON {"CITY": "Oslo", "DOUBLED": 5.0, "ID": 1, "NAME": "ann"}
    DSL_JSON {"CITY": "Bergen", "DOUBLED": 20.5, "ID": 2, "NAME": "bob"}
    DSL_PROTO {"CITY": "Oslo", "DOUBLED": 5.0, "ID": "1", "NAME": "ann"}
    DSL_PROTO {"CITY": "Bergen", "DOUBLED": 20.5, "ID": "2", "NAME": "bob"}
    "###);
    let client = reqwest::Client::new();
    let subjects: serde_json::Value = serde_json::from_str(&get(&client, format!("http://{registry}/subjects")).await).unwrap();
    let mut subjects: Vec<&str> = subjects.as_array().unwrap().iter().filter_map(|s| s.as_str()).filter(|s| s.starts_with("DSL_")).collect();
    subjects.sort_unstable();
    assert_eq!(subjects, ["DSL_AVRO-value", "DSL_JSON-value", "DSL_PROTO-value"]);
    child.kill().unwrap();
    child.wait().unwrap();
}

/// `--schema-registry-url` naming a registry that is down at start-up: `brook server` serves
/// anyway, logs a clear error naming the registry and tries again; once the registry is up, a
/// `CREATE` whose AVRO columns come from it works.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_external_registry_down_at_start_up_is_retried() {
    let dir = tempfile::tempdir().unwrap();
    let (kafka, ksql_addr, registry) =
        (format!("127.0.0.1:{}", free_port()), format!("127.0.0.1:{}", free_port()), format!("127.0.0.1:{}", free_port()));
    let log = dir.path().join("server.log");
    let mut server = Command::new(env!("CARGO_BIN_EXE_brook"))
        .args(["server", "--listen", &kafka, "--ksql-listen", &ksql_addr, "--schema-registry-url", &format!("http://{registry}")])
        .arg("--data-dir")
        .arg(dir.path().join("a"))
        .env("RUST_LOG", "info")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let logged = |what: &str| std::fs::read_to_string(&log).unwrap_or_default().contains(what);
    brook_common::test_support::wait_until("the registry's error in the log", Duration::from_secs(60), || {
        logged("is not reachable") && logged(&registry)
    });
    while TcpStream::connect(&ksql_addr).is_err() {
        std::thread::sleep(Duration::from_millis(50));
    }

    let mut registry_server = spawn(&dir.path().join("b"), &format!("127.0.0.1:{}", free_port()), &registry, None);
    let client = reqwest::Client::new();
    let schema = r#"{"schema":"{\"type\":\"record\",\"name\":\"Late\",\"fields\":[{\"name\":\"item\",\"type\":\"string\"},{\"name\":\"qty\",\"type\":\"int\"}]}"}"#;
    assert_eq!(post(&client, format!("http://{registry}/subjects/late-value/versions"), schema).await, r#"{"id":1}"#);
    ksql(&client, &ksql_addr, "CREATE STREAM LATE WITH (KAFKA_TOPIC='late', VALUE_FORMAT='AVRO', PARTITIONS=1);").await;
    let described = ksql(&client, &ksql_addr, "DESCRIBE LATE;").await.to_string();
    assert!(described.contains("\"ITEM\"") && described.contains("\"QTY\""), "{described}");
    brook_common::test_support::wait_until("the registry answers", Duration::from_secs(60), || logged("the Schema Registry answers"));
    for child in [&mut server, &mut registry_server] {
        child.kill().unwrap();
        child.wait().unwrap();
    }
}
