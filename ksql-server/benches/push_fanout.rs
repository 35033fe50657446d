//! Push-query fan-out over real HTTP: N `/query-stream` push queries on one stream, multiplexed
//! over HTTP/2 connections (100 queries each), then R rows produced; reports the rows delivered
//! per second in total, how many queries were dropped, and the server's memory (RSS of the
//! server process, which this binary starts as a child: the clients' memory is not in it).
//!
//! ```text
//! cargo bench -p brook-ksql-server --bench push_fanout -- --queries 1000 --rows 2000
//! cargo bench -p brook-ksql-server --bench push_fanout -- --queries 1 --rows 200000
//! ```
//!
//! Options: `--queries N` (default 1000), `--rows R` (default 2000), `--value-bytes B` (size of
//! the string column, default 100), `--filter` (every query has `WHERE ID >= 0` and a
//! projection, so each row is evaluated per query), `--max-lag-rows L` (the shared reader's lag
//! bound, `ksql.query.push.shared.max.lag.rows`; default the server's, 1,000).

use std::io::{BufRead, Write};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use serde_json::json;

const SERVE_ENV: &str = "BROOK_PUSH_BENCH_SERVE";
const STREAMS_PER_CONNECTION: usize = 100;

fn main() {
    if std::env::var_os(SERVE_ENV).is_some() {
        serve();
        return;
    }
    let args: Vec<String> = std::env::args().collect();
    let arg = |name: &str, default: usize| -> usize {
        args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).and_then(|v| v.parse().ok()).unwrap_or(default)
    };
    let queries = arg("--queries", 1000);
    let rows = arg("--rows", 2000);
    let value_bytes = arg("--value-bytes", 100);
    let filter = args.iter().any(|a| a == "--filter");
    let lag = args.iter().position(|a| a == "--max-lag-rows").and_then(|i| args.get(i + 1)).cloned();
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    rt.block_on(run(queries, rows, value_bytes, filter, lag));
}

/// The server side: a broker and the REST server in this (child) process; prints `PORT <p>`,
/// then produces `produce <rows> <bytes>` rows on stdin's command and prints `PRODUCED`.
fn serve() {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    rt.block_on(async {
        let dir = tempfile::tempdir().expect("tempdir");
        let broker = brook_broker::Broker::open(brook_broker::BrokerConfig::new(dir.path().join("log"))).await.expect("broker");
        let engine = brook_sql_engine::EngineConfig::live(broker.clone(), dir.path().join("state"));
        let server = brook_ksql_server::KsqlServer::start(engine, brook_ksql_server::KsqlServerConfig::default()).expect("server");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        println!("PORT {}", listener.local_addr().expect("addr").port());
        std::io::stdout().flush().expect("stdout");
        tokio::spawn(server.serve(listener, std::future::pending()));
        tokio::task::spawn_blocking(move || {
            for line in std::io::stdin().lock().lines() {
                let line = line.expect("stdin");
                let parts: Vec<&str> = line.split_whitespace().collect();
                match parts.as_slice() {
                    ["produce", n, bytes] => {
                        let (n, bytes): (usize, usize) = (n.parse().expect("rows"), bytes.parse().expect("bytes"));
                        let producer = brook_broker::client::producer::Producer::new(broker.clone(), Default::default()).expect("producer");
                        let v = "x".repeat(bytes);
                        for i in 0..n {
                            let value = json!({ "V": v }).to_string();
                            producer.send(brook_broker::client::producer::ProducerRecord::new("s", Some(i.to_string().into_bytes()), Some(value.into_bytes())));
                        }
                        producer.flush();
                        println!("PRODUCED");
                        std::io::stdout().flush().expect("stdout");
                    }
                    _ => break,
                }
            }
            std::process::exit(0);
        })
        .await
        .expect("stdin reader");
    });
}

/// VmRSS and VmHWM of a process, in MiB.
fn memory(pid: u32) -> (f64, f64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| status.lines().find(|l| l.starts_with(name)).and_then(|l| l.split_whitespace().nth(1)).and_then(|kb| kb.parse::<f64>().ok()).unwrap_or(0.0) / 1024.0;
    (field("VmRSS:"), field("VmHWM:"))
}

struct Server {
    child: Child,
    stdin: std::process::ChildStdin,
    stdout: std::io::BufReader<std::process::ChildStdout>,
    url: String,
}

fn start_server() -> Server {
    let mut child = Command::new(std::env::current_exe().expect("exe")).env(SERVE_ENV, "1").stdin(Stdio::piped()).stdout(Stdio::piped()).spawn().expect("server process");
    let stdin = child.stdin.take().expect("stdin");
    let mut stdout = std::io::BufReader::new(child.stdout.take().expect("stdout"));
    let mut line = String::new();
    stdout.read_line(&mut line).expect("port line");
    let port = line.trim().strip_prefix("PORT ").expect("PORT <port>").to_owned();
    Server { child, stdin, stdout, url: format!("http://127.0.0.1:{port}") }
}

async fn run(queries: usize, rows: usize, value_bytes: usize, filter: bool, lag: Option<String>) {
    let mut server = start_server();
    let pid = server.child.id();
    let http = reqwest::Client::new();
    let resp = http
        .post(format!("{}/ksql", server.url))
        .body(json!({ "ksql": "CREATE STREAM S (ID INT KEY, V STRING) WITH (KAFKA_TOPIC='s', PARTITIONS=1, FORMAT='JSON');", "streamsProperties": {} }).to_string())
        .send()
        .await
        .expect("create stream");
    assert!(resp.status().is_success(), "{}", resp.text().await.unwrap_or_default());
    let (idle_rss, _) = memory(pid);

    let connections: Vec<reqwest::Client> =
        (0..queries.div_ceil(STREAMS_PER_CONNECTION)).map(|_| reqwest::Client::builder().http2_prior_knowledge().build().expect("client")).collect();
    let sql = if filter { "SELECT ID, UCASE(V) AS U FROM S WHERE ID >= 0 EMIT CHANGES;" } else { "SELECT ID, V FROM S EMIT CHANGES;" };
    let properties = match &lag {
        Some(l) => json!({ "ksql.query.push.shared.max.lag.rows": l }),
        None => json!({}),
    };
    let delivered = Arc::new(AtomicU64::new(0));
    let (ready, mut readies) = tokio::sync::mpsc::channel::<()>(queries.max(1));
    let started = Instant::now();
    let mut clients = Vec::new();
    for i in 0..queries {
        let req = connections[i / STREAMS_PER_CONNECTION].post(format!("{}/query-stream", server.url)).body(json!({ "sql": sql, "properties": properties }).to_string());
        let (ready, delivered) = (ready.clone(), delivered.clone());
        clients.push(tokio::spawn(async move {
            let resp = req.send().await.expect("query-stream");
            let mut body = resp.bytes_stream();
            let mut lines = 0usize;
            let mut signalled = false;
            let mut last = bytes::Bytes::new();
            while lines < rows + 1 {
                let Some(chunk) = body.next().await else { break };
                let chunk = chunk.expect("chunk");
                let n = chunk.iter().filter(|b| **b == b'\n').count();
                lines += n;
                if lines > 0 && !signalled {
                    signalled = true;
                    let _ = ready.send(()).await;
                }
                delivered.fetch_add(n.saturating_sub(usize::from(lines == n)) as u64, Ordering::Relaxed);
                last = chunk;
            }
            // Fewer rows than produced: the server dropped this query (its last line says why).
            let dropped = lines < rows + 1;
            if dropped && i == 0 {
                eprintln!("query 0 ended early: {}", String::from_utf8_lossy(&last[last.len().saturating_sub(300)..]));
            }
            dropped
        }));
    }
    drop(ready);
    for _ in 0..queries {
        readies.recv().await.expect("every query starts");
    }
    let start_time = started.elapsed();
    let (started_rss, _) = memory(pid);

    writeln!(server.stdin, "produce {rows} {value_bytes}").expect("command");
    let t0 = Instant::now();
    let sampling = Arc::new(std::sync::atomic::AtomicBool::new(true));
    let sampler = {
        let sampling = sampling.clone();
        tokio::spawn(async move {
            let mut peak: f64 = 0.0;
            while sampling.load(Ordering::Relaxed) {
                peak = peak.max(memory(pid).0);
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            peak
        })
    };
    let mut dropped = 0;
    for c in clients {
        if c.await.expect("client") {
            dropped += 1;
        }
    }
    let elapsed = t0.elapsed();
    sampling.store(false, Ordering::Relaxed);
    let peak = sampler.await.expect("sampler");
    let mut line = String::new();
    server.stdout.read_line(&mut line).expect("PRODUCED");
    let total = delivered.load(Ordering::Relaxed);
    println!(
        "push_fanout: {queries} push queries{} on one stream, {rows} rows of ~{value_bytes} B produced, max lag {}",
        if filter { " (WHERE + UCASE each)" } else { "" },
        lag.as_deref().unwrap_or("1000 (default)")
    );
    println!("  start {queries} queries:   {:.2} s ({:.0} queries/s)", start_time.as_secs_f64(), queries as f64 / start_time.as_secs_f64());
    println!("  delivered:             {total} rows in {:.2} s = {:.0} rows/s in total", elapsed.as_secs_f64(), total as f64 / elapsed.as_secs_f64());
    println!("  dropped queries:       {dropped}");
    println!("  server RSS:            {idle_rss:.1} MiB idle, {started_rss:.1} MiB with the queries, {peak:.1} MiB peak while delivering");
    let _ = writeln!(server.stdin, "quit");
    let _ = server.child.wait();
}
