//! `brook connect standalone` as a process: Kafka's quickstart files, the topic read back over
//! TCP with `brook console-consumer`, the connectors' status over the REST API, a clean stop on
//! SIGTERM.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

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
