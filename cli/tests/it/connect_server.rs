//! `brook server`'s in-process Kafka Connect worker, a distributed worker of the group
//! `connect-cluster` on the server's own broker: the issue's PostgreSQL end-to-end through the
//! server alone (connectors over its REST API and SQL, the transformation a persistent query of
//! the same server, the whole server SIGKILLed mid-stream and restarted on its data directory);
//! a `brook connect distributed` process joining the server's group; and the move of an older
//! server's `connectors.json` into the config topic.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use brook_common::test_support::wait_until;
use serde_json::{json, Value};

use crate::connect::{free_port, sigterm};
use crate::sql_kafka::read_committed;

/// A `brook server` process with its broker, SQL, and Connect worker on fixed addresses (so a
/// restart on the same data directory serves the same ones); stderr to a log printed when a
/// test fails.
struct Server {
    child: Option<Child>,
    kafka: String,
    ksql: String,
    connect: String,
    data: PathBuf,
    flags: Vec<String>,
    logs: Vec<PathBuf>,
}

impl Server {
    fn start(data: &Path, flags: &[&str]) -> Server {
        let addr = || format!("127.0.0.1:{}", free_port());
        let mut s = Server {
            child: None,
            kafka: addr(),
            ksql: addr(),
            connect: addr(),
            data: data.to_owned(),
            flags: flags.iter().map(|f| (*f).to_owned()).collect(),
            logs: Vec::new(),
        };
        s.restart();
        s
    }

    /// Starts the process (again), waiting until its SQL and Connect REST APIs answer.
    fn restart(&mut self) {
        let log = self.data.with_extension(format!("{}.log", self.logs.len()));
        let child = Command::new(env!("CARGO_BIN_EXE_brook"))
            .args(["server", "--no-schema-registry", "--listen", &self.kafka, "--ksql-listen", &self.ksql, "--connect-listen", &self.connect, "--data-dir"])
            .arg(&self.data)
            .args(&self.flags)
            .env("RUST_LOG", "warn,brook_connect=info,brook_cli=info")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        self.logs.push(log);
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(90);
        let sql = !self.flags.iter().any(|f| f == "--no-ksql");
        while ureq::get(&format!("http://{}/connectors", self.connect)).call().is_err() || sql && ureq::get(&format!("http://{}/info", self.ksql)).call().is_err() {
            assert!(Instant::now() < deadline, "brook server did not serve:\n{}", self.log());
            assert!(self.child.as_mut().unwrap().try_wait().unwrap().is_none(), "brook server exited:\n{}", self.log());
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn sigkill(&mut self) {
        let mut child = self.child.take().unwrap();
        assert!(Command::new("kill").args(["-KILL", &child.id().to_string()]).status().unwrap().success());
        child.wait().unwrap();
    }

    fn sigterm(&mut self) {
        sigterm(self.child.as_mut().unwrap());
        self.child = None;
    }

    fn log(&self) -> String {
        self.logs.iter().map(|l| format!("--- {}\n{}", l.display(), std::fs::read_to_string(l).unwrap_or_default())).collect()
    }

    /// Runs statements through the ksqlDB REST API (`POST /ksql`).
    fn ksql(&self, statements: &str) -> Value {
        let body = json!({"ksql": statements, "streamsProperties": {"ksql.streams.auto.offset.reset": "earliest"}});
        match ureq::post(&format!("http://{}/ksql", self.ksql)).send_json(body) {
            Ok(r) => r.into_json().unwrap(),
            Err(ureq::Error::Status(code, r)) => panic!("{statements}: {code} {}", r.into_string().unwrap_or_default()),
            Err(e) => panic!("{statements}: {e}"),
        }
    }

    /// `GET` on the Connect REST API (`None`: not 200).
    fn connect_get(&self, path: &str) -> Option<Value> {
        get(&self.connect, path)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
        if std::thread::panicking() {
            eprintln!("{}", self.log());
        }
    }
}

fn get(addr: &str, path: &str) -> Option<Value> {
    ureq::get(&format!("http://{addr}{path}")).call().ok()?.into_json().ok()
}

/// `POST /connectors`, trying again while the group rebalances (409, as Kafka answers then).
fn create_over_rest(addr: &str, name: &str, config: &BTreeMap<&str, String>) {
    let body = json!({"name": name, "config": config});
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        match ureq::post(&format!("http://{addr}/connectors")).send_json(&body) {
            Ok(r) => return assert_eq!(r.status(), 201),
            Err(ureq::Error::Status(409, _)) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(200)),
            Err(ureq::Error::Status(code, r)) => panic!("POST /connectors {name}: {code} {}", r.into_string().unwrap_or_default()),
            Err(e) => panic!("POST /connectors {name}: {e}"),
        }
    }
}

/// True once the connector and each of its tasks are RUNNING.
fn running(addr: &str, name: &str) -> bool {
    get(addr, &format!("/connectors/{name}/status")).is_some_and(|s| {
        s["connector"]["state"] == "RUNNING" && s["tasks"].as_array().is_some_and(|t| !t.is_empty() && t.iter().all(|t| t["state"] == "RUNNING"))
    })
}

/// The issue's PostgreSQL end-to-end with nothing but `brook server`: the JDBC source (created
/// over the server's Connect REST API) streams a table into a topic of the server's broker, a
/// persistent query of the same server (CSAS over the ksqlDB REST API) transforms the rows, the
/// JDBC sink (created with `CREATE SINK CONNECTOR`) upserts them into another table. The whole
/// server is SIGKILLed mid-stream and restarted on its data directory: the connectors come back
/// from the config topic, the source resumes from its offset in the offset topic (the rows
/// streamed before the kill are not read again), the sink from its group's committed offsets,
/// and every row is in the target table exactly once, transformed.
#[test]
fn postgres_through_brook_server_survives_a_sigkill_of_the_server() {
    use brook_common::test_support::PostgresServer;
    let pg = PostgresServer::start();
    pg.psql("CREATE TABLE orders (id BIGSERIAL PRIMARY KEY, item TEXT NOT NULL, qty INT NOT NULL)");
    let insert = |from: i32, to: i32| pg.psql(&format!("INSERT INTO orders (item, qty) SELECT 'item' || g, g FROM generate_series({from}, {to}) g"));
    insert(1, 300);
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // Source offsets flushed and sink offsets committed every second: a SIGKILL loses up to a
    // second of them, so rows come again and the upsert must absorb them.
    std::fs::write(
        d.join("connect.properties"),
        "key.converter=org.apache.kafka.connect.converters.ByteArrayConverter\nvalue.converter=org.apache.kafka.connect.json.JsonConverter\n\
         value.converter.schemas.enable=false\noffset.flush.interval.ms=1000\nsession.timeout.ms=6000\nheartbeat.interval.ms=500\n",
    )
    .unwrap();
    let config = d.join("connect.properties");
    let mut server = Server::start(&d.join("data"), &["--connect-config", config.to_str().unwrap()]);

    server.ksql(
        "CREATE STREAM PG_ORDERS (ID BIGINT, ITEM STRING, QTY INT) WITH (KAFKA_TOPIC='pg-orders', PARTITIONS=1, VALUE_FORMAT='JSON');
         CREATE STREAM ORDERS_BIG AS SELECT ID, UCASE(ITEM) AS ITEM, QTY * 10 AS QTY_X10 FROM PG_ORDERS;",
    );
    let url = pg.jdbc_url();
    let source: BTreeMap<&str, String> = [
        ("connector.class", "io.confluent.connect.jdbc.JdbcSourceConnector"),
        ("connection.url", &url),
        ("connection.user", "postgres"),
        ("mode", "incrementing"),
        ("incrementing.column.name", "id"),
        ("table.whitelist", "orders"),
        ("topic.prefix", "pg-"),
        ("poll.interval.ms", "50"),
        ("batch.max.rows", "5"),
    ]
    .into_iter()
    .map(|(k, v)| (k, v.to_owned()))
    .collect();
    create_over_rest(&server.connect, "pg-source", &source);
    let created = server.ksql(&format!(
        "CREATE SINK CONNECTOR `pg-sink` WITH ('connector.class'='io.confluent.connect.jdbc.JdbcSinkConnector', 'connection.url'='{url}',
           'connection.user'='postgres', 'topics'='ORDERS_BIG', 'insert.mode'='upsert', 'pk.mode'='record_value', 'pk.fields'='ID',
           'auto.create'='true', 'table.name.format'='orders_big');"
    ));
    assert_eq!(created[0]["@type"], "connector_info", "{created}");

    let rows = |pg: &PostgresServer| -> i64 {
        let exists = pg.psql("SELECT count(*) FROM information_schema.tables WHERE table_name = 'orders_big'") == "1";
        if exists { pg.psql("SELECT count(*) FROM orders_big").parse().unwrap() } else { 0 }
    };
    wait_until("the first 300 rows in orders_big", Duration::from_secs(180), || rows(&pg) >= 300);
    // Past an offset flush: the source's offset after row 300 is in the offset topic.
    std::thread::sleep(Duration::from_millis(2500));
    std::thread::scope(|s| {
        // Rows 301..=650 arrive 10 every 100 ms while the server is killed and restarted.
        let inserter = s.spawn(|| {
            for batch in 0..35 {
                insert(301 + batch * 10, 310 + batch * 10);
                std::thread::sleep(Duration::from_millis(100));
            }
        });
        std::thread::sleep(Duration::from_millis(1000));
        server.sigkill();
        assert!(!inserter.is_finished(), "the kill came after the last insert: not mid-stream");
        std::thread::sleep(Duration::from_millis(500));
        server.restart();
        inserter.join().unwrap();
    });
    // The connectors are back from the config topic, running on the restarted worker.
    assert_eq!(server.connect_get("/connectors"), Some(json!(["pg-sink", "pg-source"])));
    wait_until("both connectors RUNNING again", Duration::from_secs(60), || running(&server.connect, "pg-source") && running(&server.connect, "pg-sink"));
    wait_until("650 rows in orders_big", Duration::from_secs(180), || rows(&pg) >= 650);
    // Let any re-sent records drain, then check every row once, transformed.
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(pg.psql(r#"SELECT count(*), count(DISTINCT "ID") FROM orders_big"#), "650|650");
    let matching = pg.psql(r#"SELECT count(*) FROM orders o JOIN orders_big b ON b."ID" = o.id AND b."ITEM" = upper(o.item) AND b."QTY_X10" = o.qty * 10"#);
    assert_eq!(matching, "650");
    // The source resumed from its stored offset: rows 1..=300, streamed and flushed before the
    // kill, are in the topic once; later ones at least once.
    let sent = read_committed(&server.kafka, "pg-orders");
    let ids: Vec<i64> = sent.iter().map(|r| serde_json::from_str::<Value>(&r.value).unwrap()["id"].as_i64().unwrap()).collect();
    assert_eq!(ids.iter().filter(|id| **id <= 300).count(), 300, "rows streamed before the kill were read again");
    assert!((1..=650).all(|id| ids.contains(&id)));
    eprintln!("pg-orders holds {} records for 650 rows", ids.len());
    // The query's output is in the server's topic too, and the statement survived the restart.
    assert!(read_committed(&server.kafka, "ORDERS_BIG").len() >= 650);
    let queries = server.ksql("SHOW QUERIES;");
    assert!(queries[0]["queries"].as_array().is_some_and(|q| q.len() == 1), "{queries}");
    server.sigterm();
}

fn worker_props(d: &Path, kafka: &str, rest: &str) -> PathBuf {
    let path = d.join("worker.properties");
    std::fs::write(
        &path,
        format!(
            "bootstrap.servers={kafka}\ngroup.id=connect-cluster\nconfig.storage.topic=connect-configs\noffset.storage.topic=connect-offsets\n\
             status.storage.topic=connect-status\nkey.converter=org.apache.kafka.connect.storage.StringConverter\n\
             value.converter=org.apache.kafka.connect.storage.StringConverter\noffset.flush.interval.ms=200\nsession.timeout.ms=6000\n\
             heartbeat.interval.ms=500\nlisteners=http://{rest}\n"
        ),
    )
    .unwrap();
    path
}

/// The members of a group and its protocol type, as the broker's coordinator describes them
/// (DescribeGroups).
fn describe_group(kafka: &str, group: &str) -> (String, usize) {
    use rdkafka::consumer::{BaseConsumer, Consumer};
    let c: BaseConsumer = rdkafka::ClientConfig::new().set("bootstrap.servers", kafka).create().unwrap();
    let list = c.fetch_group_list(Some(group), Duration::from_secs(10)).unwrap();
    list.groups().first().map_or((String::new(), 0), |g| (g.protocol_type().to_owned(), g.members().len()))
}

/// A `brook connect distributed` process pointed at `brook server`'s Kafka listener with the
/// server's `group.id` joins the server's in-process worker in one Connect group: the broker's
/// coordinator has two `connect` members, a connector created on the server's REST API is
/// listed by the other worker's, and the group spreads the connectors' tasks over both.
#[test]
fn a_connect_distributed_worker_joins_brook_servers_group() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("connect.properties"), "session.timeout.ms=6000\nheartbeat.interval.ms=500\noffset.flush.interval.ms=200\n").unwrap();
    let config = d.join("connect.properties");
    let mut server = Server::start(&d.join("data"), &["--no-ksql", "--connect-config", config.to_str().unwrap()]);
    wait_until("the server's worker in its group", Duration::from_secs(60), || describe_group(&server.kafka, "connect-cluster") == ("connect".into(), 1));
    let rest = format!("127.0.0.1:{}", free_port());
    let log = d.join("worker.log");
    let mut worker = Command::new(env!("CARGO_BIN_EXE_brook"))
        .env("RUST_LOG", "brook_connect=info")
        .args(["connect", "distributed"])
        .arg(worker_props(d, &server.kafka, &rest))
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        wait_until("two members of the Connect group", Duration::from_secs(60), || describe_group(&server.kafka, "connect-cluster") == ("connect".into(), 2));
        let (input, output) = (d.join("in.txt"), d.join("out.txt"));
        std::fs::write(&input, "a\nb\n").unwrap();
        let strings = |mut c: BTreeMap<&'static str, String>| {
            c.insert("key.converter", "org.apache.kafka.connect.storage.StringConverter".into());
            c.insert("value.converter", "org.apache.kafka.connect.storage.StringConverter".into());
            c
        };
        let source = strings([("connector.class", "FileStreamSource".to_owned()), ("file", input.display().to_string()), ("topic", "lines".into())].into());
        let sink = strings([("connector.class", "FileStreamSink".to_owned()), ("file", output.display().to_string()), ("topics", "lines".into())].into());
        create_over_rest(&server.connect, "src", &source);
        create_over_rest(&server.connect, "snk", &sink);
        wait_until("both connectors listed by the other worker", Duration::from_secs(60), || get(&rest, "/connectors") == Some(json!(["snk", "src"])));
        wait_until("the lines in the sink file", Duration::from_secs(90), || std::fs::read_to_string(&output).unwrap_or_default() == "a\nb\n");
        // Two connectors and two tasks, dealt round robin over the two workers: each runs some.
        let mut owners = std::collections::BTreeSet::new();
        wait_until("the tasks running on both workers", Duration::from_secs(60), || {
            owners.clear();
            for name in ["src", "snk"] {
                let Some(s) = get(&rest, &format!("/connectors/{name}/status")) else { return false };
                for t in s["tasks"].as_array().into_iter().flatten().filter(|t| t["state"] == "RUNNING") {
                    owners.insert(t["worker_id"].as_str().unwrap_or_default().to_owned());
                }
                if let Some(w) = s["connector"]["worker_id"].as_str().filter(|_| s["connector"]["state"] == "RUNNING") {
                    owners.insert(w.to_owned());
                }
            }
            owners.len() == 2
        });
        assert_eq!(owners, [server.connect.clone(), rest.clone()].into_iter().collect());
        // Either worker answers for the group: the connector's config through the other one.
        assert_eq!(get(&rest, "/connectors/src/config").unwrap()["file"], json!(input.display().to_string()));
        sigterm(&mut worker);
        // The worker left cleanly: the server's worker runs everything alone.
        wait_until("one member left", Duration::from_secs(60), || describe_group(&server.kafka, "connect-cluster") == ("connect".into(), 1));
        std::fs::OpenOptions::new().append(true).open(&input).and_then(|mut f| std::io::Write::write_all(&mut f, b"c\n")).unwrap();
        wait_until("the new line once", Duration::from_secs(90), || std::fs::read_to_string(&output).unwrap_or_default() == "a\nb\nc\n");
    }));
    let _ = worker.kill();
    let _ = worker.wait();
    if let Err(p) = result {
        eprintln!("--- {}\n{}", log.display(), std::fs::read_to_string(&log).unwrap_or_default());
        std::panic::resume_unwind(p);
    }
    server.sigterm();
}

/// An older `brook server` ran a standalone worker that kept its connectors in
/// `<data dir>/connect/connectors.json` and their source offsets in `connect.offsets`. The
/// distributed worker writes them to its config and offset topics at its first start (each in
/// its stored state, each source from its stored offset) and renames both files; a second start
/// finds them in the topics and moves nothing again.
#[test]
fn an_older_servers_connectors_move_to_the_config_topic_once() {
    use brook_connect::herder::TargetState;
    use brook_connect::offsets::{FileOffsetStore, OffsetStore};
    use brook_connect::standalone::StoredConnector;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let data = d.join("data");
    let connect_dir = data.join("connect");
    std::fs::create_dir_all(&connect_dir).unwrap();
    let (input, output, idle) = (d.join("in.txt"), d.join("out.txt"), d.join("idle.txt"));
    std::fs::write(&input, "a\nb\nc\n").unwrap();
    std::fs::write(&idle, "x\n").unwrap();
    let config = |pairs: &[(&str, String)]| -> brook_connect::Config {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.clone()))
            .chain([
                ("key.converter".to_owned(), "org.apache.kafka.connect.storage.StringConverter".to_owned()),
                ("value.converter".to_owned(), "org.apache.kafka.connect.storage.StringConverter".to_owned()),
            ])
            .collect()
    };
    let stored = vec![
        StoredConnector {
            name: "src".into(),
            config: config(&[("name", "src".into()), ("connector.class", "FileStreamSource".into()), ("file", input.display().to_string()), ("topic", "lines".into())]),
            target: TargetState::Started,
        },
        StoredConnector {
            name: "snk".into(),
            config: config(&[("name", "snk".into()), ("connector.class", "FileStreamSink".into()), ("file", output.display().to_string()), ("topics", "lines".into())]),
            target: TargetState::Started,
        },
        StoredConnector {
            name: "idle".into(),
            config: config(&[("name", "idle".into()), ("connector.class", "FileStreamSource".into()), ("file", idle.display().to_string()), ("topic", "idle".into())]),
            target: TargetState::Paused,
        },
    ];
    std::fs::write(connect_dir.join("connectors.json"), serde_json::to_vec_pretty(&stored).unwrap()).unwrap();
    // The old worker had read "a\nb\n" (4 bytes) of the source's file.
    let offsets = FileOffsetStore::open(connect_dir.join("connect.offsets")).unwrap();
    offsets.set("src", &json!({"filename": input.display().to_string()}), Some(json!({"position": 4})));
    offsets.flush().unwrap();

    let mut server = Server::start(&data, &["--no-ksql"]);
    wait_until("the three connectors in the group", Duration::from_secs(90), || server.connect_get("/connectors") == Some(json!(["idle", "snk", "src"])));
    wait_until("src and snk RUNNING", Duration::from_secs(60), || running(&server.connect, "src") && running(&server.connect, "snk"));
    wait_until("idle PAUSED", Duration::from_secs(60), || server.connect_get("/connectors/idle/status").is_some_and(|s| s["connector"]["state"] == "PAUSED"));
    // Only what the old worker had not read yet reaches the sink.
    wait_until("the unread line in the sink", Duration::from_secs(60), || std::fs::read_to_string(&output).unwrap_or_default() == "c\n");
    wait_until("the files renamed", Duration::from_secs(30), || connect_dir.join("connectors.json.migrated").exists() && connect_dir.join("connect.offsets.migrated").exists());
    assert!(!connect_dir.join("connectors.json").exists() && !connect_dir.join("connect.offsets").exists());
    assert_eq!(server.connect_get("/connectors/src/offsets"), Some(json!({"offsets": [{"partition": {"filename": input.display().to_string()}, "offset": {"position": 6}}]})));

    // A restart: the connectors come from the config topic, nothing is moved or delivered again.
    server.sigterm();
    std::fs::OpenOptions::new().append(true).open(&input).and_then(|mut f| std::io::Write::write_all(&mut f, b"d\n")).unwrap();
    server.restart();
    assert_eq!(server.connect_get("/connectors"), Some(json!(["idle", "snk", "src"])));
    wait_until("the new line once", Duration::from_secs(60), || std::fs::read_to_string(&output).unwrap_or_default() == "c\nd\n");
    let logs: Vec<String> = server.logs.iter().map(|l| std::fs::read_to_string(l).unwrap()).collect();
    assert!(logs[0].contains("moved from connectors.json to the config topic"), "{}", logs[0]);
    assert!(!logs[1].contains("moved from connectors.json"), "{}", logs[1]);
    server.sigterm();
}
