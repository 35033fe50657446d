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

/// confluent-kafka's Python serializers and Brook SQL through one `brook server`, for AVRO,
/// JSON_SR and PROTOBUF: Python registers and produces, Brook SQL infers the columns from the
/// registry and runs a CSAS, Python's deserializers read what the CSAS wrote (with the schemas
/// it registered).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_serializers_and_brook_sql_share_the_registry() {
    let check = "import confluent_kafka.schema_registry.avro, confluent_kafka.schema_registry.protobuf, \
                 confluent_kafka.schema_registry.json_schema, fastavro, jsonschema, google.protobuf";
    let packages = ["confluent-kafka[avro,schemaregistry,json,protobuf]"];
    let Some(py) = tokio::task::spawn_blocking(move || brook_common::test_support::python_venv(check, &packages)).await.unwrap() else {
        eprintln!("SKIPPED: could not create a venv with confluent-kafka[avro,json,protobuf,schemaregistry] (pip install failed)");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (kafka, registry, ksql_addr) =
        (format!("127.0.0.1:{}", free_port()), format!("127.0.0.1:{}", free_port()), format!("127.0.0.1:{}", free_port()));
    let mut child = spawn(&dir.path().join("data"), &kafka, &registry, Some(&ksql_addr));
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python/sql_schema_formats.py");
    let run = |mode: &'static str| {
        let (py, script, kafka, url) = (py.clone(), script.clone(), kafka.clone(), format!("http://{registry}"));
        tokio::task::spawn_blocking(move || Command::new(py).arg(script).args([mode, kafka.as_str(), url.as_str()]).output().unwrap())
    };
    let out = run("produce").await.unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success() && stdout.contains("ALL OK"), "produce failed:\n{stdout}\n{}", String::from_utf8_lossy(&out.stderr));

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

    let out = run("consume").await.unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success() && stdout.contains("ALL OK"), "consume failed:\n{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
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
