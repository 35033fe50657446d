//! `brook sql http://...`: the CLI against a real `brook server` process over REST; scripts
//! compared with golden output, the REPL in a terminal (tmux), basic auth on the wire.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::sql::Tmux;

/// A free port on 127.0.0.1.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// A `brook server` process on free ports with its own data directory, killed on drop.
pub(crate) struct Server {
    child: Child,
    pub(crate) url: String,
    _dir: tempfile::TempDir,
}

impl Server {
    pub(crate) fn start() -> Server {
        Self::start_with(&[])
    }

    /// With more `brook server` flags.
    pub(crate) fn start_with(flags: &[&str]) -> Server {
        let dir = tempfile::tempdir().unwrap();
        let (kafka, ksql) = (format!("127.0.0.1:{}", free_port()), format!("127.0.0.1:{}", free_port()));
        let child = Command::new(env!("CARGO_BIN_EXE_brook"))
            .args(["server", "--listen", &kafka, "--ksql-listen", &ksql, "--data-dir"])
            .arg(dir.path().join("data"))
            .args(flags)
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let server = Server { child, url: format!("http://{ksql}"), _dir: dir };
        let deadline = Instant::now() + Duration::from_secs(60);
        while TcpStream::connect(&ksql).is_err() {
            assert!(Instant::now() < deadline, "brook server did not listen on {ksql}");
            std::thread::sleep(Duration::from_millis(50));
        }
        server
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn sql(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_brook"))
        .env_remove("RUST_LOG")
        .env("COLUMNS", "80")
        .arg("sql")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    (out.status.success(), String::from_utf8(out.stdout).unwrap(), String::from_utf8(out.stderr).unwrap())
}

/// `rowtime: <time>` in place of the record times, which change every run.
fn stable(out: &str) -> String {
    out.lines()
        .map(|l| match (l.strip_prefix("rowtime: "), l.find(", key: ")) {
            (Some(_), Some(i)) => format!("rowtime: <time>{}", &l[i..]),
            _ => l.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

const SCRIPT: &str = "CREATE STREAM RIVERS (ID INT KEY, NAME STRING, KM DOUBLE) WITH (KAFKA_TOPIC='rivers', PARTITIONS=1, FORMAT='JSON');
INSERT INTO RIVERS (ID, NAME, KM) VALUES (1, 'Loire', 1006);
INSERT INTO RIVERS (ID, NAME, KM) VALUES (2, 'Rhine', 1233.5);
SET 'auto.offset.reset'='earliest';
SELECT * FROM RIVERS EMIT CHANGES LIMIT 2;
SELECT NAME, KM * 2 AS TWICE FROM RIVERS EMIT CHANGES LIMIT 1;
PRINT 'rivers' FROM BEGINNING LIMIT 2;
CREATE STREAM LONG_RIVERS AS SELECT * FROM RIVERS WHERE KM > 1100 EMIT CHANGES;
SHOW STREAMS;
SHOW QUERIES;
DESCRIBE RIVERS;
UNSET 'auto.offset.reset';
SHOW VARIABLES;";

#[test]
fn execute_over_rest_matches_the_golden_output() {
    let server = Server::start();
    let (ok, out, err) = sql(&[&server.url, "-e", SCRIPT]);
    assert!(ok, "{err}\n{out}");
    insta::assert_snapshot!("rest_execute", stable(&out));
}

#[test]
fn file_over_rest_keeps_variables_and_properties_in_the_cli() {
    let server = Server::start();
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("script.sql");
    std::fs::write(
        &script,
        "CREATE STREAM ${name} (ID INT KEY, NAME STRING) WITH (KAFKA_TOPIC='${name}', PARTITIONS=1, FORMAT='JSON');\n\
         DEFINE other = 'x';\nSHOW VARIABLES;\nUNDEFINE other;\n\
         INSERT INTO ${name} (ID, NAME) VALUES (1, 'Titicaca');\n\
         SET 'auto.offset.reset'='earliest';\n\
         SELECT * FROM ${name} EMIT CHANGES LIMIT 1;\n\
         SELECT NAME FROM ${name} EMIT CHANGES;\n\
         SELECT * FROM NOPE EMIT CHANGES;\nSHOW STREAMS;\n",
    )
    .unwrap();
    // The second query has no LIMIT: --query-timeout ends it (and closes it on the server).
    let (ok, out, _) = sql(&[&server.url, "-d", "name=lakes", "--query-timeout", "1500", "-f", script.to_str().unwrap()]);
    assert!(!ok, "a failing statement fails the run");
    insta::assert_snapshot!("rest_file", out);
}

#[test]
fn the_user_and_password_go_out_as_basic_auth() {
    // A stand-in server that records the request heads and refuses every request.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let heads = Arc::new(Mutex::new(Vec::<String>::new()));
    let seen = heads.clone();
    std::thread::spawn(move || {
        for conn in listener.incoming().take(4) {
            let Ok(mut conn) = conn else { continue };
            conn.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
            let mut head = Vec::new();
            let mut buf = [0u8; 1024];
            while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                match conn.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => head.extend_from_slice(&buf[..n]),
                }
            }
            let head = String::from_utf8_lossy(&head).into_owned();
            if head.starts_with("PRI * HTTP/2.0") {
                continue; // HTTP/2 prior knowledge: not spoken here, the client falls back
            }
            seen.lock().unwrap().push(head);
            let _ = conn.write_all(b"HTTP/1.1 401 Unauthorized\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
        }
    });
    let (ok, _, err) = sql(&[&url, "-u", "alice", "-p", "s3cret", "-e", "SHOW STREAMS;"]);
    assert!(!ok);
    assert!(err.contains("the server refused the credentials (HTTP 401 Unauthorized): pass -u USER -p PASSWORD"), "{err}");
    let heads = heads.lock().unwrap();
    let head = heads.first().expect("one HTTP/1.1 request").to_ascii_lowercase();
    assert!(head.starts_with("get /info http/1.1\r\n"), "{head}");
    // base64("alice:s3cret")
    assert!(head.contains("\r\nauthorization: basic ywxpy2u6cznjcmv0\r\n"), "{head}");
}

#[test]
fn a_server_with_basic_auth_lets_the_user_in() {
    let dir = tempfile::tempdir().unwrap();
    let users = dir.path().join("users.properties");
    std::fs::write(&users, "alice: s3cret,admin\n").unwrap();
    let server = Server::start_with(&["--ksql-auth", users.to_str().unwrap()]);
    let (ok, out, err) = sql(&[&server.url, "-u", "alice", "-p", "s3cret", "-e", "SHOW STREAMS;"]);
    assert!(ok, "{err}");
    assert!(out.contains(" KSQL_PROCESSING_LOG "), "{out}");
    for creds in [&["-u", "alice", "-p", "wrong"][..], &[]] {
        let args: Vec<&str> = [server.url.as_str()].into_iter().chain(creds.iter().copied()).chain(["-e", "SHOW STREAMS;"]).collect();
        let (ok, _, err) = sql(&args);
        assert!(!ok);
        assert!(err.contains("the server refused the credentials (HTTP 401 Unauthorized)"), "{err}");
    }
}

#[test]
fn an_unreachable_server_is_named() {
    let url = format!("http://127.0.0.1:{}", free_port());
    let (ok, _, err) = sql(&[&url, "-e", "SHOW STREAMS;"]);
    assert!(!ok);
    assert!(err.contains(&format!("cannot reach the ksqlDB server at {url}")), "{err}");
    let (ok, _, err) = sql(&["localhost:8088", "-e", "SHOW STREAMS;"]);
    assert!(!ok);
    assert!(err.contains("only http:// and https:// are supported") || err.contains("expected http://HOST:PORT"), "{err}");
}

#[test]
fn the_repl_over_rest_in_a_terminal() {
    let server = Server::start();
    let dir = tempfile::tempdir().unwrap();
    let command = format!(
        "env -u RUST_LOG BROOK_SQL_HISTORY={} {} sql {}; echo BROOK-EXITED; sleep 60",
        dir.path().join("history").display(),
        env!("CARGO_BIN_EXE_brook"),
        server.url
    );
    let t = Tmux::start(&command);
    t.next_prompt();
    let screen = t.screen();
    assert!(screen.contains(&format!("Server v{} located at {} (HTTP/2)", env!("CARGO_PKG_VERSION"), server.url)), "{screen}");
    t.run("CREATE STREAM RIVERS (ID INT KEY, NAME STRING) WITH (KAFKA_TOPIC='rivers', PARTITIONS=1, FORMAT='JSON');");
    assert!(t.screen().contains(" Stream created "), "{}", t.screen());
    t.run("INSERT INTO RIVERS (ID, NAME) VALUES (1, 'Loire');");
    t.run("INSERT INTO RIVERS (ID, NAME) VALUES (2, 'Rhine');");
    t.run("SET 'auto.offset.reset'='earliest';");
    assert!(t.screen().contains("Successfully changed local property 'auto.offset.reset' to 'earliest'."), "{}", t.screen());

    // A push query without LIMIT runs until Ctrl-C, which stops it but not the REPL.
    t.line("SELECT NAME FROM RIVERS EMIT CHANGES;");
    t.wait_for("|Rhine ", 1);
    t.keys(&["C-c"]);
    t.wait_for("Query terminated", 1);
    t.next_prompt();

    // PRINT without LIMIT follows the topic on the server until Ctrl-C.
    t.line("PRINT 'rivers' FROM BEGINNING;");
    t.wait_for("value: {\"NAME\":\"Rhine\"}, partition: 0", 1);
    assert!(t.screen().contains("Key format: JSON or KAFKA_STRING\nValue format: JSON or KAFKA_STRING\n"), "{}", t.screen());
    assert!(!t.screen().contains("Topic printing ceased"), "PRINT stopped by itself:\n{}", t.screen());
    t.keys(&["C-c"]);
    t.wait_for("Topic printing ceased", 1);
    t.next_prompt();

    // A pull query on a table the server materializes.
    t.run("CREATE TABLE NAMES AS SELECT ID, LATEST_BY_OFFSET(NAME) AS NAME FROM RIVERS GROUP BY ID EMIT CHANGES;");
    assert!(t.screen().contains("Created query with ID CTAS_NAMES_"), "{}", t.screen());
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        t.run("SELECT * FROM NAMES WHERE ID = 2;");
        if t.screen().matches("|Rhine ").count() >= 2 {
            break;
        }
        assert!(Instant::now() < deadline, "the pull query never found the row:\n{}", t.screen());
        std::thread::sleep(Duration::from_millis(200));
    }
    t.line("exit");
    t.wait_for("BROOK-EXITED", 1);
}

#[test]
fn an_https_server_is_checked_against_the_ca_file_or_not_at_all() {
    let dir = tempfile::tempdir().unwrap();
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = rcgen::CertificateParams::new(vec!["localhost".to_owned()]).unwrap().self_signed(&key).unwrap();
    let (cert_pem, key_pem) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    std::fs::write(&cert_pem, cert.pem()).unwrap();
    std::fs::write(&key_pem, key.serialize_pem()).unwrap();
    let server = Server::start_with(&["--ksql-tls-cert", cert_pem.to_str().unwrap(), "--ksql-tls-key", key_pem.to_str().unwrap()]);
    let url = server.url.replace("http://127.0.0.1", "https://localhost");

    let (ok, out, err) = sql(&[&url, "--ssl-ca-file", cert_pem.to_str().unwrap(), "-e", "SHOW STREAMS;"]);
    assert!(ok, "{err}");
    assert!(out.contains(" KSQL_PROCESSING_LOG "), "{out}");
    // A self-signed certificate is not among the Mozilla roots.
    let (ok, _, err) = sql(&[&url, "-e", "SHOW STREAMS;"]);
    assert!(!ok);
    assert!(err.contains(&format!("cannot reach the ksqlDB server at {url}")) && err.contains("UnknownIssuer"), "{err}");
    let (ok, out, err) = sql(&[&url, "--ssl-skip-verify", "-e", "SHOW STREAMS;"]);
    assert!(ok, "{err}");
    assert!(out.contains(" KSQL_PROCESSING_LOG "), "{out}");
    // Plain HTTP to the TLS port, and a CA file that is not PEM.
    let (ok, _, err) = sql(&[&server.url, "-e", "SHOW STREAMS;"]);
    assert!(!ok, "{err}");
    let (ok, _, err) = sql(&[&url, "--ssl-ca-file", key_pem.to_str().unwrap(), "-e", "SHOW STREAMS;"]);
    assert!(!ok);
    assert!(err.contains("no certificate in it") || err.contains("not PEM certificates"), "{err}");

    // The REPL over HTTPS speaks HTTP/2 (ALPN).
    let command = format!("env -u RUST_LOG {} sql {url} --ssl-ca-file {}; echo BROOK-EXITED; sleep 60", env!("CARGO_BIN_EXE_brook"), cert_pem.display());
    let t = Tmux::start(&command);
    t.wait_for("ksql>", 1);
    assert!(t.screen().contains(&format!("located at {url} (HTTP/2)")), "{}", t.screen());
    t.line("exit");
    t.wait_for("BROOK-EXITED", 1);
}

#[test]
fn the_password_is_asked_for_when_only_the_user_is_given() {
    let dir = tempfile::tempdir().unwrap();
    let users = dir.path().join("users.properties");
    std::fs::write(&users, "alice: s3cret,admin\n").unwrap();
    let server = Server::start_with(&["--ksql-auth", users.to_str().unwrap()]);
    let command = format!("env -u RUST_LOG {} sql {} -u alice; echo BROOK-EXITED; sleep 60", env!("CARGO_BIN_EXE_brook"), server.url);
    let t = Tmux::start(&command);
    t.wait_for("Enter password for alice: ", 1);
    t.keys(&["-l", "s3cret"]);
    t.wait_for("Enter password for alice: ******", 1);
    t.keys(&["Enter"]);
    t.wait_for("ksql>", 1);
    assert!(!t.screen().contains("s3cret"), "the password was echoed:\n{}", t.screen());
    t.line("SHOW STREAMS;");
    t.wait_for(" KSQL_PROCESSING_LOG ", 1);
    t.line("exit");
    t.wait_for("BROOK-EXITED", 1);

    // From a pipe, the first line of standard input.
    let mut child = Command::new(env!("CARGO_BIN_EXE_brook"))
        .env_remove("RUST_LOG")
        .args(["sql", &server.url, "-u", "alice", "-e", "SHOW STREAMS;"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(b"s3cret\n").unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains(" KSQL_PROCESSING_LOG "));
}
