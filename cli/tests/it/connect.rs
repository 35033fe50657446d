//! `brook connect` as a process: Kafka's quickstart files over an embedded broker and against a
//! running `brook server`, the topic read back over TCP with `brook console-consumer`, a clean
//! stop on SIGTERM.

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
        .args(["server", "--no-ksql", "--no-schema-registry", "--listen", addr, "--data-dir"])
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
             value.converter=org.apache.kafka.connect.storage.StringConverter\noffset.storage.file.filename={}\noffset.flush.interval.ms=100\n",
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
             plugin.path=libs/connect-file-3.9.0.jar\n",
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
    assert!(Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap().success());
    let status = child.wait().unwrap();
    assert!(status.success(), "{status}");
    let offsets = std::fs::read_to_string(d.join("connect.offsets")).unwrap();
    assert!(offsets.ends_with(r#"{"position":8}]]"#), "{offsets}");
}
