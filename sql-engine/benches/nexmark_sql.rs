//! Nexmark queries in SQL, each run side by side with its Streams DSL version
//! (`streams-dsl/benches/nexmark.rs`, whose generator, queries and runner this bench shares),
//! both as `KafkaStreams` over the embedded broker with one stream thread.
//!
//! ```text
//! CARGO_TARGET_DIR=$HOME/.cache/brook-target-dsl cargo bench -p brook-sql-engine --bench nexmark_sql -- 1000000
//! NEXMARK_QUERY=q1,q2 ... # some queries only
//! NEXMARK_SIDE=sql ...     # one side only (sql or dsl), e.g. under a profiler
//! NEXMARK_SQL_PATH=row ... # stateless queries (q0-q2) on one SQL path only: row or arrow
//! NEXMARK_DSL_STORES=rocksdb ... # the DSL's stateful queries on RocksDB with changelogs, as SQL
//! NEXMARK_SIDE=setup-sql ... # only what a SQL run does besides the query (generate, produce
//!                            # the JSON events, shut down): the baseline of an instruction count
//! NEXMARK_SIDE=setup-dsl ... # the same with the DSL's CSV events
//! ```
//!
//! Instruction counts (independent of the machine's load) come from running one side under
//! `valgrind --tool=callgrind --separate-threads=yes`, summing every thread but the main one
//! (which generates the events and waits in a polling loop), and subtracting the same sum of
//! the matching `setup-*` run.
//!
//! - The DSL reads comma-separated values, the SQL engine the same events as JSON
//!   (`VALUE_FORMAT='JSON'`, upper-case field names).
//! - The SQL engine runs in live mode (one `KafkaStreams` per persistent query, as ksqlDB),
//!   `commit.interval.ms=100` and the record cache at its default (10 MiB), as the DSL run; its
//!   state stores are the DSL's default (RocksDB with changelog topics) where the DSL versions
//!   use in-memory stores without changelogs, unless `NEXMARK_DSL_STORES=rocksdb` gives them the
//!   SQL side's stores (label `-dsl-rocksdb`): the fair comparison of q5a, q7 and q8.
//! - The input is produced before the clock starts; the clock covers the `CREATE ... AS SELECT`
//!   (planning, start-up, group join) and ends when the query's group has committed every
//!   record of its source and repartition topics. CPU is the whole process.
//!
//! - The stateless queries (q0, q1, q2) run on the SQL side twice: the row path, then the
//!   Arrow path (`ksql.brook.vectorized.enable=true`, label `-sql-arrow`).
//!
//! Prints events/s and CPU-seconds per million events for each query and each side.

#[path = "../../streams-dsl/benches/support/nexmark.rs"]
mod support;

use std::time::Instant;

use brook_sql_engine::engine::EngineConfig;
use brook_sql_engine::{Engine, StatementResult};
use support::{cpu_seconds, generate, run_runtime, Cluster, Event, ValueFormat, QUERIES};

/// The source streams, over the generator's JSON events.
const SOURCES: &str = "
CREATE STREAM BID (AUCTION BIGINT, BIDDER BIGINT, PRICE BIGINT) WITH (KAFKA_TOPIC='bid', VALUE_FORMAT='JSON');
CREATE STREAM AUCTION (ID BIGINT, SELLER BIGINT, CATEGORY BIGINT) WITH (KAFKA_TOPIC='auction', VALUE_FORMAT='JSON');
CREATE STREAM PERSON (ID BIGINT, NAME STRING, STATE STRING) WITH (KAFKA_TOPIC='person', VALUE_FORMAT='JSON');
";

/// A query in SQL: its name (the DSL query it mirrors), the topics it reads, its statement
/// (whose sink is named as the query, upper case).
struct SqlQuery {
    name: &'static str,
    /// Stateless: also run on the Arrow path.
    stateless: bool,
    reads: &'static [&'static str],
    sql: &'static str,
}

const SQL_QUERIES: [SqlQuery; 6] = [
    SqlQuery { name: "q0", stateless: true, reads: &["bid"], sql: "CREATE STREAM Q0 AS SELECT * FROM BID;" },
    SqlQuery { name: "q1", stateless: true, reads: &["bid"], sql: "CREATE STREAM Q1 AS SELECT AUCTION, BIDDER, PRICE * 0.908 AS PRICE FROM BID;" },
    SqlQuery { name: "q2", stateless: true, reads: &["bid"], sql: "CREATE STREAM Q2 AS SELECT AUCTION, PRICE FROM BID WHERE AUCTION % 123 = 0;" },
    SqlQuery {
        name: "q5a",
        stateless: false,
        reads: &["bid"],
        sql: "CREATE TABLE Q5A AS SELECT AUCTION, COUNT(*) AS N FROM BID WINDOW HOPPING (SIZE 10 SECONDS, ADVANCE BY 2 SECONDS) GROUP BY AUCTION;",
    },
    SqlQuery {
        name: "q7",
        stateless: false,
        reads: &["bid"],
        sql: "CREATE TABLE Q7 AS SELECT AUCTION * 0 AS K, MAX(PRICE) AS MAXPRICE FROM BID WINDOW TUMBLING (SIZE 10 SECONDS) GROUP BY AUCTION * 0;",
    },
    SqlQuery {
        name: "q8",
        stateless: false,
        reads: &["person", "auction"],
        sql: "CREATE STREAM Q8 AS SELECT P.ID AS ID, P.NAME AS NAME, A.ID AS AUCTION FROM PERSON P JOIN AUCTION A WITHIN 10 SECONDS ON P.ID = A.SELLER;",
    },
];

/// Runs `q` on a live engine over a broker holding `events`, on the Arrow path with `arrow`.
fn run_sql(q: &SqlQuery, events: &[Event], arrow: bool) {
    let cluster = Cluster::new(events, 1, &[]);
    let _guard = cluster.rt.enter();
    let mut config = EngineConfig::live(cluster.broker.clone(), cluster.dir.path().join("state"));
    config.properties.insert("ksql.streams.commit.interval.ms".into(), "100".into());
    config.properties.insert("ksql.brook.vectorized.enable".into(), arrow.to_string());
    // The input is produced before the query starts (ksqlDB's default would skip it).
    config.properties.insert("ksql.streams.auto.offset.reset".into(), "earliest".into());
    let mut engine = Engine::new(config).unwrap();
    engine.execute(SOURCES).unwrap();
    let (cpu0, t0) = (cpu_seconds(), Instant::now());
    let query_id = match engine.execute(q.sql).unwrap().remove(0) {
        StatementResult::Status(s) => s.query_id.unwrap(),
        other => panic!("{other:?}"),
    };
    cluster.wait_processed(&format!("_confluent-ksql-default_query_{query_id}"), q.reads, t0);
    let label = format!("{}-sql{} (runtime, 1 thread, 1 partition)", q.name, if arrow { "-arrow" } else { "" });
    cluster.report(&label, q.reads, &q.name.to_uppercase(), t0, cpu0);
    drop(engine);
    drop(_guard);
    cluster.shutdown();
}

fn main() {
    let n: u64 = std::env::args().skip(1).find_map(|a| a.parse().ok()).unwrap_or(1_000_000);
    let only = std::env::var("NEXMARK_QUERY").ok();
    let want = |q: &str| only.as_deref().is_none_or(|o| o.split(',').any(|x| x == q));
    let side = std::env::var("NEXMARK_SIDE").ok();
    let (dsl_side, sql_side) = (side.as_deref() != Some("sql"), side.as_deref() != Some("dsl"));
    let (csv, json) = (generate(n, ValueFormat::Csv), generate(n, ValueFormat::Json));
    if let Some(setup) = side.as_deref().and_then(|s| s.strip_prefix("setup-")) {
        let cluster = Cluster::new(if setup == "dsl" { &csv } else { &json }, 1, &[]);
        cluster.shutdown();
        return;
    }
    for q in SQL_QUERIES.iter().filter(|q| want(q.name)) {
        match QUERIES.iter().find(|(name, _)| *name == q.name) {
            Some((_, dsl)) if dsl_side => {
                let stores = if support::rocksdb_stores() && !q.stateless { "-rocksdb" } else { "" };
                run_runtime(&format!("{}-dsl{stores}", q.name), dsl(true), &csv, q.name, 1, 1)
            }
            _ => {}
        }
        let path = std::env::var("NEXMARK_SQL_PATH").ok();
        if sql_side && path.as_deref() != Some("arrow") {
            run_sql(q, &json, false);
        }
        if sql_side && q.stateless && path.as_deref() != Some("row") {
            run_sql(q, &json, true);
        }
    }
}
