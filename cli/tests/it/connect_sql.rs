//! The connector statements against a real `brook server` process: `CREATE SOURCE|SINK
//! CONNECTOR`, `SHOW CONNECTORS`, `DESCRIBE CONNECTOR`, `DROP CONNECTOR` through `brook sql
//! http://...` (golden output), ksqlDB's entities from `/ksql`, the worker's own REST API on
//! `--connect-listen`, and the REPL in a terminal (tmux).

use std::net::TcpListener;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::sql::Tmux;
use crate::sql_rest::Server;

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Runs a script; stdout then stderr, and whether it succeeded.
fn run_sql(url: &str, script: &str) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_brook"))
        .env_remove("RUST_LOG")
        .env("COLUMNS", "120")
        .args(["sql", url, "-e", script])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let (stdout, stderr) = (String::from_utf8(out.stdout).unwrap(), String::from_utf8(out.stderr).unwrap());
    (out.status.success(), format!("{stdout}{stderr}"))
}

fn sql(url: &str, script: &str) -> String {
    let (ok, out) = run_sql(url, script);
    assert!(ok, "{out}");
    out
}

fn get(url: &str) -> serde_json::Value {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async { reqwest::get(url).await.unwrap().json().await.unwrap() })
}

/// Waits until the connectors and their first tasks are RUNNING: after a create or a drop the
/// worker's group rebalances (statuses UNASSIGNED meanwhile, as in Kafka's distributed mode).
fn wait_running(connect: &str, connectors: &[&str]) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while connectors.iter().any(|c| {
        let s = get(&format!("http://{connect}/connectors/{c}/status"));
        s["connector"]["state"] != "RUNNING" || s["tasks"][0]["state"] != "RUNNING"
    }) {
        assert!(Instant::now() < deadline, "{connectors:?} did not run");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn connector_statements_over_brook_server() {
    let connect = format!("127.0.0.1:{}", free_port());
    let server = Server::start_with(&["--connect-listen", &connect]);
    let dir = tempfile::tempdir().unwrap();
    let (input, output) = (dir.path().join("in.txt"), dir.path().join("out.txt"));
    std::fs::write(&input, "alpha\nbeta\n").unwrap();
    let strings = "'key.converter'='org.apache.kafka.connect.storage.StringConverter', \
                   'value.converter'='org.apache.kafka.connect.storage.StringConverter'";
    let create = format!(
        "CREATE SOURCE CONNECTOR lines WITH ('connector.class'='FileStreamSource', 'file'='{}', 'topic'='lines', {strings});",
        input.display()
    );
    let (ok, mut out) = run_sql(
        &server.url,
        &format!(
            "{create}\n{}\nCREATE SINK CONNECTOR bad WITH ('connector.class'='FileStreamSink', 'tasks.max'=0);",
            create.replace("CONNECTOR lines", "CONNECTOR IF NOT EXISTS lines")
        ),
    );
    assert!(!ok, "an invalid connector fails the script: {out}");

    // The worker's REST API sees the connector the SQL created, running on this worker (once the
    // group rebalanced onto it and its task runs).
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let topics = get(&format!("http://{connect}/connectors/LINES/topics"));
        let status = get(&format!("http://{connect}/connectors/LINES/status"));
        if topics["LINES"]["topics"] == serde_json::json!(["lines"]) && status["tasks"][0]["state"] == "RUNNING" && status["connector"]["state"] == "RUNNING" {
            assert_eq!(status["connector"], serde_json::json!({"state": "RUNNING", "worker_id": connect}));
            break;
        }
        assert!(Instant::now() < deadline, "the source never produced: {topics} {status}");
        std::thread::sleep(Duration::from_millis(100));
    }

    out.push_str(&sql(
        &server.url,
        &format!(
            "CREATE STREAM LINES (LINE STRING) WITH (KAFKA_TOPIC='lines', VALUE_FORMAT='KAFKA');
             SET 'auto.offset.reset'='earliest';
             SELECT * FROM LINES EMIT CHANGES LIMIT 2;
             CREATE SINK CONNECTOR copy WITH ('connector.class'='FileStreamSink', 'file'='{}', 'topics'='lines', {strings});",
            output.display()
        ),
    ));
    wait_running(&connect, &["LINES", "COPY"]);
    out.push_str(&sql(&server.url, "SHOW CONNECTORS;\nLIST SOURCE CONNECTORS;\nDESCRIBE CONNECTOR lines;"));
    let deadline = Instant::now() + Duration::from_secs(60);
    while std::fs::read_to_string(&output).unwrap_or_default() != "alpha\nbeta\n" {
        assert!(Instant::now() < deadline, "the sink connector never copied the lines: {:?}", std::fs::read_to_string(&output));
        std::thread::sleep(Duration::from_millis(100));
    }
    let (ok, dropped) = run_sql(&server.url, "DROP CONNECTOR lines; DROP CONNECTOR IF EXISTS lines; DROP CONNECTOR lines;");
    assert!(!ok, "dropping a missing connector fails: {dropped}");
    out.push_str(&dropped);
    let out = out.replace(&dir.path().display().to_string(), "$DIR").replace(&connect, "$CONNECT");
    insta::assert_snapshot!(out);

    // ksqlDB's entities, as /ksql returns them (once the group settled after the drop).
    wait_running(&connect, &["COPY"]);
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    // The drop's rebalance may begin after `wait_running` saw COPY running: ask until it settled.
    let running = serde_json::json!("RUNNING (1/1 tasks RUNNING)");
    let deadline = Instant::now() + Duration::from_secs(60);
    let entities: serde_json::Value = loop {
        let entities: serde_json::Value = rt.block_on(async {
            let body = serde_json::json!({"ksql": "SHOW CONNECTORS; DESCRIBE CONNECTOR copy;", "streamsProperties": {}});
            reqwest::Client::new().post(format!("{}/ksql", server.url)).json(&body).send().await.unwrap().json().await.unwrap()
        });
        if entities[0]["connectors"][0]["state"] == running || Instant::now() > deadline {
            break entities;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_eq!(entities[0]["@type"], "connector_list");
    assert_eq!(entities[0]["connectors"], serde_json::json!([{"name": "COPY", "type": "SINK", "className": "FileStreamSink", "state": "RUNNING (1/1 tasks RUNNING)"}]));
    assert_eq!(entities[1]["@type"], "connector_description");
    assert_eq!(entities[1]["connectorClass"], "FileStreamSink");
    assert_eq!(entities[1]["status"]["tasks"][0]["state"], "RUNNING");
    assert_eq!(entities[1]["sources"][0]["name"], "LINES");
    assert_eq!(entities[1]["topics"], serde_json::json!(["lines"]));

    // The REPL prints the same tables in a terminal.
    let command = format!("env -u RUST_LOG BROOK_SQL_HISTORY={} {} sql {}; echo BROOK-EXITED; sleep 60", dir.path().join("history").display(), env!("CARGO_BIN_EXE_brook"), server.url);
    let t = Tmux::start(&command);
    t.next_prompt();
    // UNASSIGNED while the group rebalances (as Kafka's statuses): ask again until it runs.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        t.run("SHOW CONNECTORS;");
        if t.screen().contains(" COPY           | SINK | FileStreamSink | RUNNING (1/1 tasks RUNNING) ") {
            break;
        }
        assert!(Instant::now() < deadline, "COPY never showed RUNNING:\n{}", t.screen());
        std::thread::sleep(Duration::from_millis(200));
    }
    t.line("DROP CONNECTOR copy;");
    t.wait_for("Dropped connector \"COPY\"", 1);
    t.line("exit");
    t.wait_for("BROOK-EXITED", 1);
    assert_eq!(get(&format!("http://{connect}/connectors")), serde_json::json!([]));
}
