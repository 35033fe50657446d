//! What the `brook` binary prints when things go wrong, and on Ctrl-C.

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

use crate::brook;
use crate::util::TestServer;

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_brook"));
    c.env_remove("RUST_LOG");
    c
}

/// Sends `signal` (`INT`, `TERM`) to the child.
fn signal(child: &Child, signal: &str) {
    let ok = Command::new("kill").arg(format!("-{signal}")).arg(child.id().to_string()).status().unwrap();
    assert!(ok.success());
}

/// Waits for the child to exit, failing the test after `timeout`.
fn wait(child: Child, timeout: Duration) -> Output {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    rx.recv_timeout(timeout).expect("brook did not exit").unwrap()
}

#[test]
fn a_data_dir_that_is_a_file_is_named_once() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("x");
    std::fs::write(&file, "").unwrap();
    let out = bin().args(["server", "--listen", "127.0.0.1:0", "--data-dir"]).arg(&file).output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(
        err,
        format!(
            "data directory {} is not a directory (a file is in the way): pass another --data-dir or remove the file\n",
            file.display()
        )
    );
    let below = file.join("data");
    let out = bin().args(["server", "--listen", "127.0.0.1:0", "--data-dir"]).arg(&below).output().unwrap();
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains(&format!("{} is not a directory", file.display())), "{err}");
}

/// Reads one size-prefixed Kafka frame.
async fn frame(s: &mut tokio::net::TcpStream) -> std::io::Result<Vec<u8>> {
    use tokio::io::AsyncReadExt;
    let mut len = [0u8; 4];
    s.read_exact(&mut len).await?;
    let mut buf = len.to_vec();
    buf.resize(4 + u32::from_be_bytes(len) as usize, 0);
    s.read_exact(&mut buf[4..]).await?;
    Ok(buf)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reset_connection_is_reported_once() {
    use tokio::io::AsyncWriteExt;
    let srv = TestServer::start().await;
    // A proxy that passes the version handshake on to the server, then resets the connection.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let upstream = srv.addr.clone();
    tokio::spawn(async move {
        while let Ok((mut client, _)) = listener.accept().await {
            let mut server = tokio::net::TcpStream::connect(&upstream).await.unwrap();
            let request = frame(&mut client).await.unwrap();
            server.write_all(&request).await.unwrap();
            let response = frame(&mut server).await.unwrap();
            client.write_all(&response).await.unwrap();
            let _ = frame(&mut client).await;
            #[allow(deprecated)] // A zero linger does not block: it resets the connection.
            client.set_linger(Some(Duration::ZERO)).unwrap();
        }
    });
    let out = tokio::task::spawn_blocking(move || bin().args(["topics", "--bootstrap-server", &addr, "--list"]).output().unwrap())
        .await
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(err.matches("Connection reset by peer").count(), 1, "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    srv.stop().await;
}

#[test]
fn logs_to_a_file_have_no_colour_codes() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = bin()
        .args(["server", "--listen", "127.0.0.1:0", "--ksql-listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir.path().join("data"))
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut log = String::new();
    while !log.contains("kafka listener up") {
        let n = stderr.read_line(&mut log).unwrap();
        assert!(n > 0, "the server exited: {log}");
    }
    signal(&child, "TERM");
    stderr.read_to_string(&mut log).unwrap();
    let status = wait(child, Duration::from_secs(60)).status;
    assert!(status.success(), "{status:?}: {log}");
    assert!(log.contains(" INFO "), "{log}");
    assert!(!log.contains('\u{1b}'), "ANSI escape codes in a log written to a pipe: {log:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctrl_c_on_the_console_consumer_prints_the_total() {
    let srv = TestServer::start().await;
    let b = srv.addr.clone();
    brook(&["topics", "--bootstrap-server", &b, "--create", "--topic", "t", "--partitions", "1"], "").await.unwrap();
    brook(&["console-producer", "--bootstrap-server", &b, "--topic", "t"], "one\ntwo\nthree\n").await.unwrap();
    let out = tokio::task::spawn_blocking(move || {
        let mut child = bin()
            .args(["console-consumer", "--bootstrap-server", &b, "--topic", "t", "--from-beginning"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut seen = String::new();
        while seen.lines().count() < 3 {
            assert!(stdout.read_line(&mut seen).unwrap() > 0, "the consumer exited: {seen}");
        }
        signal(&child, "INT");
        let out = wait(child, Duration::from_secs(30));
        (seen, out)
    })
    .await
    .unwrap();
    let (seen, out) = out;
    assert_eq!(seen, "one\ntwo\nthree\n");
    assert_eq!(String::from_utf8(out.stderr).unwrap(), "Processed a total of 3 messages\n");
    assert!(out.status.success(), "{:?}", out.status);
    srv.stop().await;
}

#[test]
fn an_error_and_its_source_print_each_message_once() {
    let e = brook_broker::server::wire_client::ClientError::Io {
        context: "reading a response from 127.0.0.1:9092".to_owned(),
        source: std::io::Error::new(std::io::ErrorKind::ConnectionReset, "Connection reset by peer (os error 104)"),
    };
    let e = anyhow::Error::from(e).context("listing topics");
    assert_eq!(
        brook_cli::report(&e),
        "listing topics: reading a response from 127.0.0.1:9092: Connection reset by peer (os error 104)"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn typed_lines_are_sent_as_they_are_typed() {
    use std::io::Write;
    if !crate::util::have("script") {
        eprintln!("SKIPPED: script (util-linux) is not installed");
        return;
    }
    let srv = TestServer::start().await;
    let b = srv.addr.clone();
    brook(&["topics", "--bootstrap-server", &b, "--create", "--topic", "typed", "--partitions", "1"], "").await.unwrap();
    // `script` gives the producer a terminal as stdin, as when a user types.
    let cmd = format!("{} console-producer --bootstrap-server {b} --topic typed", env!("CARGO_BIN_EXE_brook"));
    let mut child = Command::new("script")
        .args(["-q", "-e", "-c", &cmd, "/dev/null"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(b"typed by hand\n").unwrap();
    stdin.flush().unwrap();
    // The line arrives while the producer still waits for more input.
    let out = brook(&["console-consumer", "--bootstrap-server", &b, "--topic", "typed", "--from-beginning", "--max-messages", "1", "--timeout-ms", "30000"], "")
        .await
        .unwrap();
    assert_eq!(out, "typed by hand\n");
    signal(&child, "INT");
    drop(stdin);
    tokio::task::spawn_blocking(move || wait(child, Duration::from_secs(30))).await.unwrap();
    srv.stop().await;
}
