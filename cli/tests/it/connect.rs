//! `brook connect` as a process: Kafka's quickstart files over an embedded broker and against a
//! running `brook server`, the topic read back over TCP with `brook console-consumer`, the
//! connectors' status over the REST API, a clean stop on SIGTERM.

use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub(crate) fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// `brook server` (broker only) on `data`, once it accepts connections at `addr`.
pub(crate) fn spawn_server(data: &Path, addr: &str) -> Child {
    let child = Command::new(env!("CARGO_BIN_EXE_brook"))
        .args(["server", "--no-ksql", "--no-schema-registry", "--no-connect", "--listen", addr, "--data-dir"])
        .arg(data)
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while TcpStream::connect(addr).is_err() {
        assert!(Instant::now() < deadline, "brook server did not listen on {addr}");
        std::thread::sleep(Duration::from_millis(50));
    }
    child
}

/// Waits until `path` holds exactly `want`, while `child` runs.
fn wait_for_file(path: &Path, want: &str, child: &mut Child) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while std::fs::read_to_string(path).unwrap_or_default() != want {
        assert!(Instant::now() < deadline, "{} never became {want:?}: {:?}", path.display(), std::fs::read_to_string(path));
        assert!(child.try_wait().unwrap().is_none(), "brook connect exited early");
        std::thread::sleep(Duration::from_millis(50));
    }
}

pub(crate) fn sigterm(child: &mut Child) {
    assert!(Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap().success());
    let status = child.wait().unwrap();
    assert!(status.success(), "{status}");
}

#[test]
fn connect_standalone_runs_against_a_brook_server_and_resumes_from_its_offsets() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let addr = format!("127.0.0.1:{}", free_port());
    let mut server = spawn_server(&d.join("data"), &addr);
    std::fs::write(d.join("in.txt"), "one\ntwo\n").unwrap();
    std::fs::write(
        d.join("worker.properties"),
        format!(
            "bootstrap.servers={addr}\nkey.converter=org.apache.kafka.connect.storage.StringConverter\n\
             value.converter=org.apache.kafka.connect.storage.StringConverter\noffset.storage.file.filename={}\noffset.flush.interval.ms=100\n\
             listeners=http://127.0.0.1:0\n",
            d.join("connect.offsets").display()
        ),
    )
    .unwrap();
    std::fs::write(
        d.join("source.properties"),
        format!("name=src\nconnector.class=FileStreamSource\nfile={}\ntopic=lines\n", d.join("in.txt").display()),
    )
    .unwrap();
    std::fs::write(d.join("sink.properties"), format!("name=snk\nconnector.class=FileStreamSink\nfile={}\ntopics=lines\n", d.join("out.txt").display())).unwrap();
    let start = || {
        Command::new(env!("CARGO_BIN_EXE_brook"))
            .env("RUST_LOG", "warn")
            .args(["connect", "standalone"])
            .arg(d.join("worker.properties"))
            .arg(d.join("source.properties"))
            .arg(d.join("sink.properties"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap()
    };
    let mut worker = start();
    wait_for_file(&d.join("out.txt"), "one\ntwo\n", &mut worker);
    sigterm(&mut worker);
    // The records are in the server's topic, read back over TCP by another client.
    let topic = brook(&["console-consumer", "--bootstrap-server", &addr, "--topic", "lines", "--from-beginning", "--max-messages", "2"]);
    assert_eq!(topic, "one\ntwo\n");
    // A restarted worker: the source resumes from its stored offset, the sink from its group's
    // committed offset: each line arrives once.
    std::fs::OpenOptions::new().append(true).open(d.join("in.txt")).and_then(|mut f| std::io::Write::write_all(&mut f, b"three\n")).unwrap();
    let mut worker = start();
    wait_for_file(&d.join("out.txt"), "one\ntwo\nthree\n", &mut worker);
    sigterm(&mut worker);
    assert_eq!(std::fs::read_to_string(d.join("out.txt")).unwrap(), "one\ntwo\nthree\n");
    server.kill().unwrap();
    server.wait().unwrap();
}

fn brook(args: &[&str]) -> String {
    let cli = <brook_cli::Cli as clap::Parser>::try_parse_from(std::iter::once("brook").chain(args.iter().copied())).unwrap();
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let mut out = Vec::new();
    rt.block_on(brook_cli::run(cli, &mut std::io::empty(), &mut out)).unwrap();
    String::from_utf8(out).unwrap()
}

#[test]
fn connect_standalone_runs_kafkas_quickstart_files() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let addr = "127.0.0.1:21811";
    std::fs::write(d.join("test.txt"), "foo\nbar\n").unwrap();
    std::fs::write(
        d.join("connect-standalone.properties"),
        format!(
            "bootstrap.servers={addr}\nkey.converter=org.apache.kafka.connect.json.JsonConverter\n\
             value.converter=org.apache.kafka.connect.json.JsonConverter\nkey.converter.schemas.enable=true\n\
             value.converter.schemas.enable=true\noffset.storage.file.filename={}\noffset.flush.interval.ms=100\n\
             plugin.path=libs/connect-file-3.9.0.jar\nlisteners=http://127.0.0.1:22401\n",
            d.join("connect.offsets").display()
        ),
    )
    .unwrap();
    std::fs::write(
        d.join("connect-file-source.properties"),
        format!("name=local-file-source\nconnector.class=FileStreamSource\ntasks.max=1\nfile={}\ntopic=connect-test\n", d.join("test.txt").display()),
    )
    .unwrap();
    std::fs::write(
        d.join("connect-file-sink.properties"),
        format!("name=local-file-sink\nconnector.class=FileStreamSink\ntasks.max=1\nfile={}\ntopics=connect-test\n", d.join("test.sink.txt").display()),
    )
    .unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_brook"))
        .env_remove("RUST_LOG")
        .args(["connect", "standalone"])
        .arg(d.join("connect-standalone.properties"))
        .arg(d.join("connect-file-source.properties"))
        .arg(d.join("connect-file-sink.properties"))
        .arg("--embedded")
        .arg("--data-dir")
        .arg(d.join("data"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let sink = d.join("test.sink.txt");
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::fs::read_to_string(&sink).unwrap_or_default() != "foo\nbar\n" {
        assert!(Instant::now() < deadline, "the sink file never got both lines: {:?}", std::fs::read_to_string(&sink));
        assert!(child.try_wait().unwrap().is_none(), "brook connect exited early");
        std::thread::sleep(Duration::from_millis(50));
    }
    let topic = brook(&["console-consumer", "--bootstrap-server", addr, "--topic", "connect-test", "--from-beginning", "--max-messages", "2"]);
    assert_eq!(
        topic,
        "{\"schema\":{\"type\":\"string\",\"optional\":false},\"payload\":\"foo\"}\n{\"schema\":{\"type\":\"string\",\"optional\":false},\"payload\":\"bar\"}\n"
    );
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let status: serde_json::Value = rt.block_on(async {
        let resp = reqwest::get("http://127.0.0.1:22401/connectors/local-file-sink/status").await.unwrap();
        assert_eq!(resp.status().as_u16(), 200);
        resp.json().await.unwrap()
    });
    assert_eq!(
        status,
        serde_json::json!({"name":"local-file-sink","connector":{"state":"RUNNING","worker_id":"127.0.0.1:22401"},
            "tasks":[{"id":0,"state":"RUNNING","worker_id":"127.0.0.1:22401"}],"type":"sink"})
    );
    assert!(Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap().success());
    let status = child.wait().unwrap();
    assert!(status.success(), "{status}");
    let offsets = std::fs::read_to_string(d.join("connect.offsets")).unwrap();
    assert!(offsets.ends_with(r#"{"position":8}]]"#), "{offsets}");
}

/// A `brook connect standalone` process whose stderr goes to `log` (printed if the test fails).
struct Worker {
    child: std::process::Child,
    log: std::path::PathBuf,
}

impl Worker {
    fn start(dir: &std::path::Path, run: usize) -> Worker {
        let log = dir.join(format!("worker-{run}.log"));
        let child = Command::new(env!("CARGO_BIN_EXE_brook"))
            .env("RUST_LOG", "warn,brook_connect=info")
            .args(["connect", "standalone"])
            .args(["worker.properties", "pg-source.properties", "pg-sink.properties"].map(|f| dir.join(f)))
            .arg("--embedded")
            .arg("--data-dir")
            .arg(dir.join("data"))
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        Worker { child, log }
    }

    fn sigkill(&mut self) {
        assert!(Command::new("kill").args(["-KILL", &self.child.id().to_string()]).status().unwrap().success());
        self.child.wait().unwrap();
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            eprintln!("--- {}:\n{}", self.log.display(), std::fs::read_to_string(&self.log).unwrap_or_default());
        }
    }
}

/// The issue's PostgreSQL end-to-end: the rows of a PostgreSQL table stream into a topic (JDBC
/// source, incrementing mode), a Brook SQL query transforms them (CSAS, over the Kafka protocol),
/// and the JDBC sink upserts the result into another table. The worker (`brook connect
/// standalone`, which also hosts the broker) is SIGKILLed mid-stream and restarted: every row is
/// in the target table exactly once, transformed.
#[test]
fn postgres_to_sql_to_postgres_survives_a_sigkill_of_the_worker() {
    use brook_common::test_support::{wait_until, PostgresServer};
    let pg = PostgresServer::start();
    pg.psql("CREATE TABLE orders (id BIGSERIAL PRIMARY KEY, item TEXT NOT NULL, qty INT NOT NULL)");
    let insert = |from: i32, to: i32| pg.psql(&format!("INSERT INTO orders (item, qty) SELECT 'item' || g, g FROM generate_series({from}, {to}) g"));
    insert(1, 50);
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let addr = format!("127.0.0.1:{}", std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port());
    let url = pg.jdbc_url();
    // Source offsets and sink commits only every second: a SIGKILL loses some, so rows come
    // again, and the upsert must absorb them.
    std::fs::write(
        d.join("worker.properties"),
        format!(
            "bootstrap.servers={addr}\nkey.converter=org.apache.kafka.connect.converters.ByteArrayConverter\n\
             value.converter=org.apache.kafka.connect.json.JsonConverter\nvalue.converter.schemas.enable=false\n\
             offset.storage.file.filename={}\noffset.flush.interval.ms=1000\nlisteners=http://127.0.0.1:0\n",
            d.join("connect.offsets").display()
        ),
    )
    .unwrap();
    std::fs::write(
        d.join("pg-source.properties"),
        format!(
            "name=pg-source\nconnector.class=io.confluent.connect.jdbc.JdbcSourceConnector\nconnection.url={url}\nconnection.user=postgres\n\
             mode=incrementing\nincrementing.column.name=id\ntable.whitelist=orders\ntopic.prefix=pg-\npoll.interval.ms=50\nbatch.max.rows=5\n"
        ),
    )
    .unwrap();
    std::fs::write(
        d.join("pg-sink.properties"),
        format!(
            "name=pg-sink\nconnector.class=io.confluent.connect.jdbc.JdbcSinkConnector\nconnection.url={url}\nconnection.user=postgres\n\
             topics=ORDERS_BIG\ninsert.mode=upsert\npk.mode=record_value\npk.fields=ID\nauto.create=true\ntable.name.format=orders_big\n"
        ),
    )
    .unwrap();
    let mut worker = Worker::start(d, 1);
    wait_until("the worker's broker", Duration::from_secs(60), || std::net::TcpStream::connect(&addr).is_ok());

    let mut engine = brook_sql_engine::Engine::new(crate::sql_kafka::kafka_config(&addr, &d.join("ksql"), "at_least_once")).unwrap();
    engine.execute("CREATE STREAM PG_ORDERS (ID BIGINT, ITEM STRING, QTY INT) WITH (KAFKA_TOPIC='pg-orders', PARTITIONS=1, VALUE_FORMAT='JSON');").unwrap();
    engine.execute("CREATE STREAM ORDERS_BIG AS SELECT ID, UCASE(ITEM) AS ITEM, QTY * 10 AS QTY_X10 FROM PG_ORDERS;").unwrap();

    let rows = |pg: &PostgresServer| -> i64 {
        let exists = pg.psql("SELECT count(*) FROM information_schema.tables WHERE table_name = 'orders_big'") == "1";
        if exists { pg.psql("SELECT count(*) FROM orders_big").parse().unwrap() } else { 0 }
    };
    wait_until("the first rows in orders_big", Duration::from_secs(120), || rows(&pg) >= 20);
    std::thread::scope(|s| {
        // Rows 51..=400 arrive 10 every 100 ms while the worker is killed and restarted.
        let inserter = s.spawn(|| {
            for batch in 0..35 {
                insert(51 + batch * 10, 60 + batch * 10);
                std::thread::sleep(Duration::from_millis(100));
            }
        });
        std::thread::sleep(Duration::from_millis(1000));
        worker.sigkill();
        assert!(!inserter.is_finished(), "the kill came after the last insert: not mid-stream");
        std::thread::sleep(Duration::from_millis(500));
        worker = Worker::start(d, 2);
        inserter.join().unwrap();
    });
    wait_until("400 rows in orders_big", Duration::from_secs(180), || rows(&pg) >= 400);
    // Let any re-sent records drain, then check every row once, transformed.
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(pg.psql(r#"SELECT count(*), count(DISTINCT "ID") FROM orders_big"#), "400|400");
    let matching = pg.psql(r#"SELECT count(*) FROM orders o JOIN orders_big b ON b."ID" = o.id AND b."ITEM" = upper(o.item) AND b."QTY_X10" = o.qty * 10"#);
    assert_eq!(matching, "400");
    let columns = pg.psql("SELECT column_name, data_type, is_nullable FROM information_schema.columns WHERE table_name = 'orders_big' ORDER BY ordinal_position");
    assert_eq!(columns, "ID|bigint|NO\nITEM|text|YES\nQTY_X10|bigint|YES");
    // At least once into the topics (the kill loses offsets not yet stored), once in the table.
    let (sent, transformed) = (crate::sql_kafka::read_committed(&addr, "pg-orders").len(), crate::sql_kafka::read_committed(&addr, "ORDERS_BIG").len());
    eprintln!("pg-orders holds {sent} records and ORDERS_BIG {transformed} for 400 rows");
    assert!(sent >= 400 && transformed >= 400, "{sent} {transformed}");
    drop(engine);
    assert!(Command::new("kill").args(["-TERM", &worker.child.id().to_string()]).status().unwrap().success());
    let status = worker.child.wait().unwrap();
    assert!(status.success(), "{status}");
}
