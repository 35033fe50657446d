//! Crash recovery of `brook server`: streams, tables, a type and 20 persistent queries (filters
//! and projections, group-by aggregations, tumbling and hopping windows, stream-table joins,
//! queries over other queries' output, an `INSERT INTO`) under `exactly_once_v2`; input is
//! produced continuously, the server is SIGKILLed mid-traffic once every query has committed,
//! restarted on the same data directory, and the rest of the input is produced. Then:
//! - `SHOW QUERIES`, `SHOW STREAMS`, `SHOW TABLES`, `SHOW TYPES` are as before the kill (the
//!   terminated query and dropped stream stay gone);
//! - every sink's committed output (`read_committed`) is exactly what the input that reached the
//!   broker gives: every row once, nothing missing, no duplicate, and every aggregate's updates
//!   per key exactly 1, 2, ..., n in order; a query that started again from the beginning, or
//!   replayed a committed record, would duplicate rows or repeat counts.
//!
//! The queries commit every second under continuous traffic, so at the kill each has output
//! records whose input offsets are not committed: at-least-once duplicates them after the
//! restart, exactly-once aborts them. `BROOK_RECOVERY_GUARANTEE=at_least_once` runs the same
//! test at-least-once, where it fails with duplicates (checked by hand: the test cannot tell the
//! guarantees apart if that run passes).
//!
//! The server is the real binary (`CARGO_BIN_EXE_brook`) with its data directory; the REST API
//! is reached over HTTP and the broker through the `brook` Kafka tools over TCP. Ports 19710-19713
//! (`BROOK_RECOVERY_PORT=P`: P to P+3).
//! A failed run keeps its data directory and server logs (and prints where); so does
//! `BROOK_RECOVERY_KEEP=1`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use brook_common::test_support::wait_until;
use clap::Parser;
use serde_json::{json, Value};

const CUSTOMERS: u64 = 8;
/// Orders acknowledged before the kill, at least; orders keep coming until it.
const BEFORE_KILL: u64 = 400;
/// Orders produced after the restart.
const AFTER_RESTART: u64 = 400;
const BATCH: u64 = 20;

/// The queries, in order; `{}`-free SQL. 20 persistent queries.
const QUERIES: [&str; 20] = [
    "CREATE STREAM F0 AS SELECT ID, CUSTOMER, AMOUNT FROM ORDERS WHERE AMOUNT % 6 = 0;",
    "CREATE STREAM F1 AS SELECT ID, CUSTOMER, AMOUNT FROM ORDERS WHERE AMOUNT % 6 = 1;",
    "CREATE STREAM F2 AS SELECT ID, CUSTOMER, AMOUNT FROM ORDERS WHERE AMOUNT % 6 = 2;",
    "CREATE STREAM F3 AS SELECT ID, CUSTOMER, AMOUNT FROM ORDERS WHERE AMOUNT % 6 = 3;",
    "CREATE STREAM F4 AS SELECT ID, CUSTOMER, AMOUNT FROM ORDERS WHERE AMOUNT % 6 = 4;",
    "CREATE STREAM F5 AS SELECT ID, CUSTOMER, AMOUNT FROM ORDERS WHERE AMOUNT % 6 = 5;",
    "CREATE STREAM DOUBLED AS SELECT ID, AMOUNT * 2 AS A2, UCASE(CUSTOMER) AS C FROM ORDERS;",
    "CREATE STREAM SMALL AS SELECT ID, CUSTOMER FROM ORDERS WHERE AMOUNT < 10;",
    "CREATE STREAM BY_CUST AS SELECT CUSTOMER, ID, AMOUNT FROM ORDERS PARTITION BY CUSTOMER;",
    "CREATE TABLE COUNTS AS SELECT CUSTOMER, COUNT(*) AS N, SUM(AMOUNT) AS TOTAL FROM ORDERS GROUP BY CUSTOMER;",
    "CREATE TABLE CUST_MAX AS SELECT CUSTOMER, COUNT(*) AS N, MAX(AMOUNT) AS MX, MIN(AMOUNT) AS MN FROM ORDERS GROUP BY CUSTOMER;",
    "CREATE TABLE TUMBLE AS SELECT CUSTOMER, AS_VALUE(CUSTOMER) AS C, WINDOWSTART AS WS, COUNT(*) AS N FROM ORDERS WINDOW TUMBLING (SIZE 10 SECONDS) GROUP BY CUSTOMER;",
    "CREATE TABLE HOP AS SELECT CUSTOMER, AS_VALUE(CUSTOMER) AS C, WINDOWSTART AS WS, COUNT(*) AS N FROM ORDERS WINDOW HOPPING (SIZE 20 SECONDS, ADVANCE BY 10 SECONDS) GROUP BY CUSTOMER;",
    "CREATE STREAM JOINED AS SELECT O.CUSTOMER AS CUSTOMER, O.ID AS ID, C.REGION AS REGION, O.AMOUNT AS AMOUNT FROM ORDERS O LEFT JOIN CUSTOMERS C ON O.CUSTOMER = C.CUSTOMER;",
    "CREATE STREAM JOINED2 AS SELECT B.CUSTOMER AS CUSTOMER, B.ID AS ID, C.REGION AS REGION FROM BY_CUST B LEFT JOIN CUSTOMERS C ON B.CUSTOMER = C.CUSTOMER;",
    "CREATE STREAM BIG0 AS SELECT ID, AMOUNT FROM F0 WHERE AMOUNT > 50;",
    "CREATE STREAM MERGED AS SELECT ID, AMOUNT FROM F1;",
    "INSERT INTO MERGED SELECT ID, AMOUNT FROM F2;",
    "CREATE TABLE F3_COUNTS AS SELECT CUSTOMER, COUNT(*) AS N FROM F3 GROUP BY CUSTOMER;",
    "CREATE STREAM WIDE AS SELECT ID, CUSTOMER, AMOUNT + TS AS MIX FROM ORDERS WHERE CUSTOMER != 'c0';",
];

fn customer(id: u64) -> String {
    format!("c{}", (id * 3 + 1) % CUSTOMERS)
}

fn region(customer: &str) -> String {
    format!("r{}", customer[1..].parse::<u64>().unwrap() % 3)
}

fn order_line(id: u64) -> String {
    format!(r#"{id}|{{"CUSTOMER":"{}","AMOUNT":{},"TS":{}}}"#, customer(id), (id * 37) % 101, first_ts() + id * 100)
}

/// The timestamp of order 0: the test's start, to the second. Timestamps near the wall clock,
/// as a broker's `retention.ms` (7 days) expects: with timestamps in 1970 the broker may delete
/// a sink's closed segments as expired (the segment rolled at the restart).
fn first_ts() -> u64 {
    static FIRST: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    *FIRST.get_or_init(|| std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs() * 1000))
}

/// A `brook server` process; SIGKILLed when dropped.
struct Server {
    child: Child,
    kafka: String,
    ksql: String,
    log: PathBuf,
}

impl Server {
    fn start(data: &Path, logs: &Path, run: u16) -> Server {
        let base: u16 = std::env::var("BROOK_RECOVERY_PORT").ok().and_then(|p| p.parse().ok()).unwrap_or(19_710);
        let (kafka, ksql) = (format!("127.0.0.1:{}", base + 2 * run), format!("127.0.0.1:{}", base + 1 + 2 * run));
        let log = logs.join(format!("server-{run}.log"));
        let out = std::fs::File::create(&log).unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_brook"))
            .args(["server", "--listen", &kafka, "--ksql-listen", &ksql, "--data-dir"])
            .arg(data)
            .args(["--override", "group.initial.rebalance.delay.ms=0"])
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .spawn()
            .unwrap();
        Server { child, kafka, ksql, log }
    }

    fn kill(&mut self) {
        // Child::kill is SIGKILL.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// The log's warnings and errors, then its last 30 lines.
    fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        let bad: Vec<&str> = lines.iter().copied().filter(|l| l.contains(" WARN ") || l.contains(" ERROR ")).take(40).collect();
        format!("{}\n...\n{}", bad.join("\n"), lines[lines.len().saturating_sub(30)..].join("\n"))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("--- {} (tail) ---\n{}", self.log.display(), self.log_tail());
        }
        self.kill();
    }
}

/// The REST client.
struct Rest {
    http: reqwest::Client,
    base: String,
}

/// The processing guarantee under test: `exactly_once_v2`, or `BROOK_RECOVERY_GUARANTEE`
/// (`at_least_once` shows the checks catch what the kill does to at-least-once output).
fn guarantee() -> String {
    std::env::var("BROOK_RECOVERY_GUARANTEE").unwrap_or_else(|_| "exactly_once_v2".into())
}

/// What every statement runs with. Commits every second while orders arrive every ~25 ms: when
/// the kill comes, every query has output records whose input it has not committed yet (a
/// commit at the very instant of the kill is the exception, for one query of 20 at most).
/// Under at-least-once those records are processed again after the restart and their output
/// duplicated; under exactly-once their transaction is aborted.
fn properties() -> Value {
    json!({
        "processing.guarantee": guarantee(),
        "auto.offset.reset": "earliest",
        "cache.max.bytes.buffering": "0",
        "commit.interval.ms": "1000",
        // After the kill, a query's group waits for its dead member's session to time out.
        "session.timeout.ms": "6000",
        "heartbeat.interval.ms": "1000",
    })
}

impl Rest {
    fn new(server: &Server) -> Rest {
        Rest { http: reqwest::Client::builder().timeout(Duration::from_secs(120)).build().unwrap(), base: format!("http://{}", server.ksql) }
    }

    async fn ksql(&self, ksql: &str) -> Value {
        let body = json!({ "ksql": ksql, "streamsProperties": properties() });
        let resp = self.http.post(format!("{}/ksql", self.base)).json(&body).send().await.unwrap();
        let status = resp.status();
        let body: Value = resp.json().await.unwrap();
        assert!(status.is_success(), "{ksql}: {status} {body}");
        body
    }

    /// Waits until the server answers `/ksql` (after it replayed its command topic).
    async fn wait_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            let body = json!({ "ksql": "SHOW QUERIES;" });
            if let Ok(resp) = self.http.post(format!("{}/ksql", self.base)).json(&body).send().await {
                if resp.status().is_success() {
                    return;
                }
            }
            assert!(Instant::now() < deadline, "the server did not answer on {}", self.base);
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// `SHOW QUERIES` as sorted `(id, sinks, statement, state)`, and the other catalog listings.
    async fn catalog(&self) -> (Vec<(String, String, String, String)>, Value) {
        let shown = self.ksql("SHOW QUERIES; SHOW STREAMS; SHOW TABLES; SHOW TYPES;").await;
        let mut queries: Vec<(String, String, String, String)> = shown[0]["queries"]
            .as_array()
            .unwrap()
            .iter()
            .map(|q| (q["id"].as_str().unwrap().to_owned(), q["sinks"].to_string(), q["queryString"].as_str().unwrap().to_owned(), q["state"].as_str().unwrap().to_owned()))
            .collect();
        queries.sort();
        let rest = json!([shown[1]["streams"], shown[2]["tables"], shown[3]["types"]]);
        (queries, rest)
    }
}

/// Runs one `brook` tool in-process on its own runtime (for threads); stdout as text.
fn brook(args: &[&str], input: &str) -> anyhow::Result<String> {
    let cli = brook_cli::Cli::try_parse_from(std::iter::once("brook").chain(args.iter().copied()))?;
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let mut out = Vec::new();
    let mut input = input.as_bytes();
    rt.block_on(brook_cli::run(cli, &mut input, &mut out))?;
    Ok(String::from_utf8(out)?)
}

fn produce(kafka: &str, topic: &str, lines: &[String]) -> anyhow::Result<()> {
    let input = lines.join("\n") + "\n";
    brook(&["console-producer", "--bootstrap-server", kafka, "--topic", topic, "--property", "parse.key=true", "--property", "key.separator=|"], &input).map(drop)
}

/// Every committed record of `topic`, as `key|value` lines (value only when `keys` is false:
/// windowed keys are binary), read until none arrived for 500 ms.
fn consume(kafka: &str, topic: &str, keys: bool) -> Vec<String> {
    let mut args = vec!["console-consumer", "--bootstrap-server", kafka, "--topic", topic, "--from-beginning", "--isolation-level", "read_committed", "--timeout-ms", "500"];
    if keys {
        args.extend(["--property", "print.key=true", "--property", "key.separator=|"]);
    }
    brook(&args, "").unwrap().lines().map(str::to_owned).collect()
}

/// The committed offsets of group `group` on `topic`, by partition.
fn committed(kafka: &str, group: &str, topic: &str) -> BTreeMap<i32, i64> {
    let Ok(out) = brook(&["consumer-groups", "--bootstrap-server", kafka, "--describe", "--group", group], "") else { return BTreeMap::new() };
    let mut lines = out.lines().filter(|l| !l.trim().is_empty());
    let Some(header) = lines.find(|l| l.contains("CURRENT-OFFSET")) else { return BTreeMap::new() };
    let cols: Vec<&str> = header.split_whitespace().collect();
    let at = |name: &str| cols.iter().position(|c| *c == name).unwrap();
    let (t, p, o) = (at("TOPIC"), at("PARTITION"), at("CURRENT-OFFSET"));
    lines
        .map(|l| l.split_whitespace().collect::<Vec<_>>())
        .filter(|c| c.len() == cols.len() && c[t] == topic)
        .filter_map(|c| Some((c[p].parse().ok()?, c[o].parse().ok()?)))
        .collect()
}

/// The topic each query reads first (its consumer group commits offsets there).
fn input_of(query: &str) -> &'static str {
    for (from, topic) in [("FROM F0", "F0"), ("FROM F1", "F1"), ("FROM F2", "F2"), ("FROM F3", "F3"), ("FROM BY_CUST", "BY_CUST")] {
        if query.contains(from) {
            return topic;
        }
    }
    "orders"
}

/// Produces batches of orders from `next` on, one every 25 ms (traffic, not a burst), until
/// `until` is reached or the broker fails (it was killed); `acked` counts the orders whose batch
/// was acknowledged. Returns the next unused id and whether a batch failed.
fn producer(kafka: String, next: u64, until: u64, acked: Arc<AtomicU64>) -> std::thread::JoinHandle<(u64, bool)> {
    std::thread::spawn(move || {
        let mut id = next;
        while id < until {
            let end = (id + BATCH).min(until);
            let lines: Vec<String> = (id..end).map(order_line).collect();
            // Ids of a batch that failed may or may not be on the broker: they are never reused.
            let sent = produce(&kafka, "orders", &lines);
            id = end;
            if sent.is_err() {
                return (id, true);
            }
            acked.fetch_add(lines.len() as u64, Ordering::Relaxed);
            std::thread::sleep(Duration::from_millis(25));
        }
        (id, false)
    })
}

fn parse(line: &str, keys: bool) -> (Option<Value>, Value) {
    if !keys {
        return (None, serde_json::from_str(line).unwrap_or_else(|e| panic!("{line}: {e}")));
    }
    let (k, v) = line.split_once('|').unwrap_or_else(|| panic!("no key in {line}"));
    (Some(serde_json::from_str(k).unwrap()), serde_json::from_str(v).unwrap_or_else(|e| panic!("{line}: {e}")))
}

struct Order {
    id: u64,
    customer: String,
    amount: i64,
    ts: i64,
}

/// What each sink must hold, from the orders that reached the broker: `(key, value)` rows as a
/// sorted multiset for streams; for aggregates, per group the values in topic order.
enum Expected {
    Rows(Vec<String>),
    /// Group of a row -> the rows of that group, in order.
    Updates(BTreeMap<String, Vec<Value>>),
}

fn rows(it: impl Iterator<Item = (Value, Value)>) -> Expected {
    let mut v: Vec<String> = it.map(|(k, v)| format!("{k}|{v}")).collect();
    v.sort();
    Expected::Rows(v)
}

fn expected(sink: &str, orders: &[Order]) -> Expected {
    let all = || orders.iter();
    let filter = |m: i64| rows(all().filter(move |o| o.amount % 6 == m).map(|o| (json!(o.id), json!({ "CUSTOMER": o.customer, "AMOUNT": o.amount }))));
    let counts = |sel: &dyn Fn(&Order) -> bool, value: &dyn Fn(&[&Order]) -> Value| {
        let mut per: BTreeMap<String, Vec<&Order>> = BTreeMap::new();
        let mut out: BTreeMap<String, Vec<Value>> = BTreeMap::new();
        for o in all().filter(|o| sel(o)) {
            let seen = per.entry(o.customer.clone()).or_default();
            seen.push(o);
            out.entry(o.customer.clone()).or_default().push(value(seen));
        }
        Expected::Updates(out)
    };
    let windows = |size: i64, advance: i64| {
        let mut out: BTreeMap<String, Vec<Value>> = BTreeMap::new();
        for o in all() {
            let last = o.ts - o.ts.rem_euclid(advance);
            let mut start = last;
            let mut starts = Vec::new();
            while start > o.ts - size && start >= 0 {
                starts.push(start);
                start -= advance;
            }
            for ws in starts.into_iter().rev() {
                let group = out.entry(format!("{}@{ws}", o.customer)).or_default();
                group.push(json!({ "C": o.customer, "WS": ws, "N": group.len() + 1 }));
            }
        }
        Expected::Updates(out)
    };
    match sink {
        "F0" => filter(0),
        "F1" => filter(1),
        "F2" => filter(2),
        "F3" => filter(3),
        "F4" => filter(4),
        "F5" => filter(5),
        "DOUBLED" => rows(all().map(|o| (json!(o.id), json!({ "A2": o.amount * 2, "C": o.customer.to_uppercase() })))),
        "SMALL" => rows(all().filter(|o| o.amount < 10).map(|o| (json!(o.id), json!({ "CUSTOMER": o.customer })))),
        "BY_CUST" => rows(all().map(|o| (json!(o.customer), json!({ "ID": o.id, "AMOUNT": o.amount })))),
        "COUNTS" => counts(&|_| true, &|seen| json!({ "N": seen.len(), "TOTAL": seen.iter().map(|o| o.amount).sum::<i64>() })),
        "CUST_MAX" => counts(&|_| true, &|seen| {
            json!({ "N": seen.len(), "MX": seen.iter().map(|o| o.amount).max(), "MN": seen.iter().map(|o| o.amount).min() })
        }),
        "F3_COUNTS" => counts(&|o| o.amount % 6 == 3, &|seen| json!({ "N": seen.len() })),
        "TUMBLE" => windows(10_000, 10_000),
        "HOP" => windows(20_000, 10_000),
        "BIG0" => rows(all().filter(|o| o.amount % 6 == 0 && o.amount > 50).map(|o| (json!(o.id), json!({ "AMOUNT": o.amount })))),
        "MERGED" => rows(all().filter(|o| o.amount % 6 == 1 || o.amount % 6 == 2).map(|o| (json!(o.id), json!({ "AMOUNT": o.amount })))),
        "WIDE" => rows(all().filter(|o| o.customer != "c0").map(|o| (json!(o.id), json!({ "CUSTOMER": o.customer, "MIX": o.amount + o.ts })))),
        // The joins' table side may not be loaded yet when an order is joined: the region is
        // the customer's or null (checked apart); the rest of the row is exact.
        "JOINED" => rows(all().map(|o| (json!(o.customer), json!({ "ID": o.id, "AMOUNT": o.amount })))),
        "JOINED2" => rows(all().map(|o| (json!(o.customer), json!({ "ID": o.id })))),
        other => panic!("no expectation for {other}"),
    }
}

/// Checks a sink's rows against what is expected; `Err` says what differs.
fn check(sink: &str, lines: &[String], want: &Expected) -> Result<(), String> {
    let windowed = matches!(sink, "TUMBLE" | "HOP");
    let mut got: Vec<(Option<Value>, Value)> = lines.iter().map(|l| parse(l, !windowed)).collect();
    if sink.starts_with("JOINED") {
        for (k, v) in &mut got {
            let region = v.as_object_mut().unwrap().remove("REGION").unwrap_or(Value::Null);
            let customer = k.as_ref().unwrap().as_str().unwrap();
            if !(region.is_null() || region == json!(region_of(customer))) {
                return Err(format!("{sink}: region {region} for customer {customer}"));
            }
        }
    }
    match want {
        Expected::Rows(want) => {
            let mut got: Vec<String> = got.iter().map(|(k, v)| format!("{}|{v}", k.as_ref().unwrap())).collect();
            got.sort();
            if &got != want {
                let (g, w): (BTreeSet<&String>, BTreeSet<&String>) = (got.iter().collect(), want.iter().collect());
                let dups = got.len() - g.len();
                return Err(format!(
                    "{sink}: {} rows, want {}; {dups} duplicates; missing {:?}; unexpected {:?}",
                    got.len(),
                    want.len(),
                    w.difference(&g).take(5).collect::<Vec<_>>(),
                    g.difference(&w).take(5).collect::<Vec<_>>()
                ));
            }
        }
        Expected::Updates(want) => {
            let mut per: BTreeMap<String, Vec<Value>> = BTreeMap::new();
            for (k, v) in got {
                let group = match k {
                    Some(k) => k.as_str().unwrap().to_owned(),
                    None => format!("{}@{}", v["C"].as_str().unwrap(), v["WS"]),
                };
                per.entry(group).or_default().push(v);
            }
            // COUNTS' running totals depend on how the two input partitions interleave: only
            // the counts are in a fixed order, and the last total is the sum.
            let shape = |v: &[Value]| -> Vec<Value> {
                v.iter()
                    .enumerate()
                    .map(|(i, x)| {
                        let mut x = x.clone();
                        if i + 1 < v.len() {
                            for f in ["TOTAL", "MX", "MN"] {
                                x.as_object_mut().unwrap().remove(f);
                            }
                        }
                        x
                    })
                    .collect()
            };
            let (got, want): (BTreeMap<_, _>, BTreeMap<_, _>) =
                (per.iter().map(|(k, v)| (k.clone(), shape(v))).collect(), want.iter().map(|(k, v)| (k.clone(), shape(v))).collect());
            if got != want {
                let bad: Vec<String> = want
                    .iter()
                    .filter(|(k, v)| got.get(*k) != Some(v))
                    .take(3)
                    .map(|(k, v)| format!("{k}: got {:?} want {:?}", got.get(k).map(|g| g.iter().map(|x| x["N"].clone()).collect::<Vec<_>>()), v.iter().map(|x| x["N"].clone()).collect::<Vec<_>>()))
                    .collect();
                let extra: Vec<&String> = got.keys().filter(|k| !want.contains_key(*k)).take(3).collect();
                return Err(format!("{sink}: {} groups, want {}; {bad:?}; unexpected groups {extra:?}", got.len(), want.len()));
            }
        }
    }
    Ok(())
}

fn region_of(customer: &str) -> String {
    region(customer)
}

fn sinks() -> Vec<&'static str> {
    let mut s: Vec<&str> = QUERIES.iter().filter_map(|q| q.strip_prefix("CREATE STREAM ").or_else(|| q.strip_prefix("CREATE TABLE "))).map(|r| r.split(' ').next().unwrap()).collect();
    s.sort_unstable();
    s
}

#[test]
fn a_sigkilled_server_resumes_every_query_exactly_once() {
    let started = Instant::now();
    // The REST client's runtime; the Kafka tools run on their own.
    let rt = tokio::runtime::Runtime::new().unwrap();
    let dir = KeepOnFailure(Some(tempfile::tempdir().unwrap()));
    let (data, logs) = (dir.path().join("data"), dir.path().join("logs"));
    std::fs::create_dir_all(&logs).unwrap();
    let mut server = Server::start(&data, &logs, 0);
    let rest = Rest::new(&server);
    rt.block_on(rest.wait_ready());

    // Sources, a type, the customers, then the queries (and one terminated and dropped).
    rt.block_on(rest.ksql(
        "CREATE TYPE MONEY AS STRUCT<AMOUNT INT, CURRENCY STRING>;
         CREATE STREAM ORDERS (ID BIGINT KEY, CUSTOMER STRING, AMOUNT INT, TS BIGINT) WITH (KAFKA_TOPIC='orders', PARTITIONS=2, FORMAT='JSON', TIMESTAMP='TS');
         CREATE TABLE CUSTOMERS (CUSTOMER STRING PRIMARY KEY, REGION STRING) WITH (KAFKA_TOPIC='customers', PARTITIONS=2, FORMAT='JSON');",
    ));
    let kafka = server.kafka.clone();
    let customers: Vec<String> = (0..CUSTOMERS).map(|c| format!(r#""c{c}"|{{"REGION":"{}"}}"#, region(&format!("c{c}")))).collect();
    produce(&kafka, "customers", &customers).unwrap();
    let mut ids = Vec::new();
    for q in QUERIES {
        let r = rt.block_on(rest.ksql(q));
        ids.push(r[0]["commandStatus"]["queryId"].as_str().unwrap_or_else(|| panic!("{r}")).to_owned());
    }
    let doomed = rt.block_on(rest.ksql("CREATE STREAM DOOMED AS SELECT ID, AMOUNT FROM ORDERS;"));
    let doomed = doomed[0]["commandStatus"]["queryId"].as_str().unwrap().to_owned();
    rt.block_on(rest.ksql(&format!("TERMINATE {doomed}; DROP STREAM DOOMED;")));
    let before = rt.block_on(rest.catalog());
    assert_eq!(before.0.len(), 20, "{:?}", before.0);
    assert!(before.0.iter().all(|q| q.3 == "RUNNING"), "{:?}", before.0);
    eprintln!("recovery: 20 queries running after {:?}", started.elapsed());

    // Traffic; once every query has committed offsets, the kill, while orders keep coming.
    let acked = Arc::new(AtomicU64::new(0));
    let traffic = producer(kafka.clone(), 0, u64::MAX, acked.clone());
    let groups: Vec<(String, &str)> = ids.iter().zip(QUERIES).map(|(id, q)| (format!("_confluent-ksql-default_query_{id}"), input_of(q))).collect();
    wait_until("every query to commit offsets, with traffic flowing", Duration::from_secs(90), || {
        acked.load(Ordering::Relaxed) >= BEFORE_KILL && groups.iter().all(|(g, t)| committed(&kafka, g, t).values().any(|o| *o > 0))
    });
    let at_kill: Vec<BTreeMap<i32, i64>> = groups.iter().map(|(g, t)| committed(&kafka, g, t)).collect();
    server.kill();
    let (sent_before, failed) = traffic.join().unwrap();
    assert!(failed, "the producer was still producing at the kill");
    eprintln!("recovery: killed after {} acknowledged orders ({} attempted), at {:?}", acked.load(Ordering::Relaxed), sent_before, started.elapsed());

    // The same data directory, new ports.
    let server = Server::start(&data, &logs, 1);
    let rest = Rest::new(&server);
    rt.block_on(rest.wait_ready());
    let after = rt.block_on(rest.catalog());
    assert_eq!(after, before, "the same queries, streams, tables and types after the restart");
    let kafka = server.kafka.clone();
    // Every query resumes from its committed offsets: none went back below what it had
    // committed before the kill.
    for ((g, t), then) in groups.iter().zip(&at_kill) {
        let now = committed(&kafka, g, t);
        assert!(then.iter().all(|(p, o)| now.get(p).is_some_and(|n| n >= o)), "{g}: committed {then:?} before the kill, {now:?} after");
    }
    eprintln!("recovery: restarted with the same catalog at {:?}", started.elapsed());
    let rest_of_traffic = producer(kafka.clone(), sent_before, sent_before + AFTER_RESTART, acked.clone());
    assert_eq!(rest_of_traffic.join().unwrap(), (sent_before + AFTER_RESTART, false));

    // The orders that reached the broker decide what every sink must hold.
    let orders: Vec<Order> = consume(&kafka, "orders", true)
        .iter()
        .map(|l| {
            let (k, v) = parse(l, true);
            Order { id: k.unwrap().as_u64().unwrap(), customer: v["CUSTOMER"].as_str().unwrap().to_owned(), amount: v["AMOUNT"].as_i64().unwrap(), ts: v["TS"].as_i64().unwrap() }
        })
        .collect();
    let mut seen = BTreeSet::new();
    assert!(orders.iter().all(|o| seen.insert(o.id)), "order ids are unique");
    assert!(orders.len() as u64 >= acked.load(Ordering::Relaxed), "every acknowledged order is on the broker");
    // Orders in id order per customer are the order each aggregate sees them: one partition
    // per order key, but per customer the ids interleave across partitions only in the COUNTS
    // totals, which `check` compares at the end only.
    let mut orders = orders;
    orders.sort_by_key(|o| o.id);

    let sinks = sinks();
    let results: Vec<(String, Result<(), String>, usize)> = std::thread::scope(|s| {
        let handles: Vec<_> = sinks
            .iter()
            .map(|sink| {
                let want = expected(sink, &orders);
                let kafka = kafka.clone();
                s.spawn(move || {
                    let deadline = Instant::now() + Duration::from_secs(120);
                    let keys = !matches!(*sink, "TUMBLE" | "HOP");
                    loop {
                        let lines = consume(&kafka, sink, keys);
                        let verdict = check(sink, &lines, &want);
                        if verdict.is_ok() || Instant::now() > deadline {
                            return (sink.to_string(), verdict, lines.len());
                        }
                    }
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let records: usize = results.iter().map(|r| r.2).sum();
    let failures: Vec<&String> = results.iter().filter_map(|r| r.1.as_ref().err()).collect();
    assert!(failures.is_empty(), "{failures:#?}");
    eprintln!("recovery: {} orders, {} sinks exact ({records} output records) after {:?}", orders.len(), results.len(), started.elapsed());
    drop(server);
}

/// The test's directory, kept (and named) when the test fails or `BROOK_RECOVERY_KEEP` is set.
struct KeepOnFailure(Option<tempfile::TempDir>);

impl KeepOnFailure {
    fn path(&self) -> &Path {
        self.0.as_ref().unwrap().path()
    }
}

impl Drop for KeepOnFailure {
    fn drop(&mut self) {
        if std::thread::panicking() || std::env::var_os("BROOK_RECOVERY_KEEP").is_some() {
            eprintln!("recovery: kept {}", self.0.take().unwrap().keep().display());
        }
    }
}
