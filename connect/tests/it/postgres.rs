//! The JDBC connectors against a real PostgreSQL server (each test starts its own,
//! `PostgresServer`): the sink's insert modes, deletes, auto-create and auto-evolve; the
//! source's incrementing and timestamp+incrementing modes resuming from stored offsets; and the
//! two through the standalone worker and the embedded broker.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use brook_broker::{Broker, BrokerConfig};
use brook_common::test_support::{wait_until_async, PostgresServer};
use brook_connect::data::{Schema, SchemaAndValue, SchemaType, Struct, Value};
use brook_connect::postgres::{JdbcSinkTask, JdbcSourceTask};
use brook_connect::standalone::{parse_properties, StandaloneWorker, WorkerConfig};
use brook_connect::{Config, ConnectRecord, OffsetReader, Plugins, SinkRecord, SinkTask, SourceRecord, SourceTask};
use parking_lot::Mutex;
use serde_json::{json, Value as Json};

fn config(pairs: &[(&str, &str)]) -> Config {
    pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
}

fn sink(pg: &PostgresServer, pairs: &[(&str, &str)]) -> JdbcSinkTask {
    let mut c = config(pairs);
    c.insert("connection.url".into(), pg.jdbc_url());
    c.insert("connection.user".into(), "postgres".into());
    let mut t = JdbcSinkTask::default();
    t.start(&c).unwrap();
    t
}

fn order_schema(extra: bool) -> Schema {
    let mut fields = vec![("id", Schema::of(SchemaType::Int64)), ("item", Schema::string()), ("qty", Schema::of(SchemaType::Int32).optional())];
    if extra {
        fields.push(("note", Schema::optional_string()));
    }
    Schema::structure(fields).named("order")
}

fn order(offset: i64, id: i64, item: &str, qty: Option<i32>, note: Option<&str>) -> SinkRecord {
    let schema = order_schema(note.is_some());
    let mut values = vec![Value::Int64(id), Value::String(item.into()), qty.map_or(Value::Null, Value::Int32)];
    if let Some(n) = note {
        values.push(Value::String(n.into()));
    }
    keyed(offset, id, SchemaAndValue { schema: Some(schema.clone()), value: Value::Struct(Struct { schema, values }) })
}

fn tombstone(offset: i64, id: i64) -> SinkRecord {
    keyed(offset, id, SchemaAndValue::null())
}

/// A record of topic `orders` with the int64 key `id`.
fn keyed(offset: i64, id: i64, value: SchemaAndValue) -> SinkRecord {
    SinkRecord {
        kafka_offset: offset,
        record: ConnectRecord { partition: Some(0), ..ConnectRecord::new("orders", SchemaAndValue { schema: Some(Schema::of(SchemaType::Int64)), value: Value::Int64(id) }, value) },
    }
}

#[test]
fn sink_auto_creates_upserts_evolves_and_deletes() {
    let pg = PostgresServer::start();
    let mut t = sink(
        &pg,
        &[("insert.mode", "upsert"), ("pk.mode", "record_key"), ("pk.fields", "id"), ("delete.enabled", "true"), ("auto.create", "true"), ("auto.evolve", "true"), ("table.name.format", "sink_${topic}")],
    );
    t.put(vec![order(0, 1, "apple", Some(3), None), order(1, 2, "pear", None, None), order(2, 1, "apple", Some(5), None)]).unwrap();
    // auto.create: the key column is the primary key, required fields NOT NULL.
    let columns = pg.psql("SELECT column_name, data_type, is_nullable FROM information_schema.columns WHERE table_name = 'sink_orders' ORDER BY ordinal_position");
    assert_eq!(columns, "id|bigint|NO\nitem|text|NO\nqty|integer|YES");
    let pk = pg.psql("SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey) WHERE i.indrelid = 'sink_orders'::regclass AND i.indisprimary");
    assert_eq!(pk, "id");
    // upsert: id 1 once, with the later qty.
    assert_eq!(pg.psql("SELECT id, item, qty FROM sink_orders ORDER BY id"), "1|apple|5\n2|pear|");

    // auto.evolve: a new optional field becomes a nullable column.
    t.put(vec![order(3, 3, "plum", Some(1), Some("gift"))]).unwrap();
    assert_eq!(pg.psql("SELECT id, item, qty, note FROM sink_orders ORDER BY id"), "1|apple|5|\n2|pear||\n3|plum|1|gift");

    // delete.enabled: a tombstone deletes its key's row.
    t.put(vec![tombstone(4, 2)]).unwrap();
    assert_eq!(pg.psql("SELECT id FROM sink_orders ORDER BY id"), "1\n3");
    t.stop();
}

#[test]
fn sink_insert_mode_fails_on_duplicates_and_update_mode_only_updates() {
    let pg = PostgresServer::start();
    pg.psql("CREATE TABLE orders (id BIGINT PRIMARY KEY, item TEXT NOT NULL, qty BIGINT)");
    let mut insert = sink(&pg, &[("pk.mode", "record_value"), ("pk.fields", "id")]);
    insert.put(vec![order(0, 1, "apple", Some(3), None)]).unwrap();
    // The int32 field goes into a BIGINT column; a second insert of id 1 breaks the key and
    // the whole batch is rolled back.
    let e = insert.put(vec![order(1, 7, "kiwi", None, None), order(2, 1, "apple", Some(4), None)]).unwrap_err().to_string();
    assert!(e.contains("duplicate key value violates unique constraint \"orders_pkey\""), "{e}");
    assert_eq!(pg.psql("SELECT id, item, qty FROM orders ORDER BY id"), "1|apple|3");

    let mut update = sink(&pg, &[("insert.mode", "update"), ("pk.mode", "record_value"), ("pk.fields", "id")]);
    update.put(vec![order(3, 1, "apple", Some(9), None), order(4, 5, "fig", Some(1), None)]).unwrap();
    assert_eq!(pg.psql("SELECT id, item, qty FROM orders ORDER BY id"), "1|apple|9", "update does not insert id 5");

    // Without auto.create / auto.evolve the sink says what is missing.
    let mut strict = sink(&pg, &[("pk.mode", "kafka"), ("table.name.format", "missing_${topic}")]);
    let e = strict.put(vec![order(5, 1, "a", None, None)]).unwrap_err().to_string();
    assert_eq!(e, "Table \"missing_orders\" is missing and auto-creation is disabled");
    let e = insert.put(vec![order(6, 8, "a", None, Some("n"))]).unwrap_err().to_string();
    assert_eq!(e, "Table \"orders\" is missing fields (note) and auto-evolution is disabled");
}

#[test]
fn sink_retries_while_postgresql_restarts() {
    let pg = PostgresServer::start();
    let mut t = sink(&pg, &[("insert.mode", "upsert"), ("pk.mode", "record_value"), ("pk.fields", "id"), ("auto.create", "true"), ("retry.backoff.ms", "200"), ("max.retries", "50")]);
    t.put(vec![order(0, 1, "apple", Some(1), None)]).unwrap();
    pg.stop();
    std::thread::scope(|s| {
        let writer = s.spawn(|| t.put(vec![order(1, 2, "pear", Some(2), None)]));
        std::thread::sleep(Duration::from_millis(600));
        assert!(!writer.is_finished(), "the write waits for the server");
        pg.resume();
        writer.join().unwrap().unwrap();
    });
    assert_eq!(pg.psql("SELECT id, item FROM orders ORDER BY id"), "1|apple\n2|pear");

    // Without retries left, the lost connection fails the put.
    let mut once = sink(&pg, &[("pk.mode", "record_value"), ("pk.fields", "id"), ("max.retries", "0")]);
    pg.stop();
    let e = once.put(vec![order(2, 3, "fig", None, None)]).unwrap_err();
    assert!(matches!(e, brook_connect::Error::Retriable(_)), "{e}");
    pg.resume();
    once.put(vec![order(3, 3, "fig", None, None)]).unwrap();
    assert_eq!(pg.psql("SELECT count(*) FROM orders"), "3", "the next put reconnects");
}

#[test]
fn sink_takes_schemaless_json_objects_and_kafka_coordinates_as_key() {
    let pg = PostgresServer::start();
    let mut t = sink(&pg, &[("insert.mode", "upsert"), ("pk.mode", "kafka"), ("auto.create", "true")]);
    let value = Value::Map(vec![
        (Value::String("ID".into()), Value::Int64(4)),
        (Value::String("NAME".into()), Value::String("x".into())),
        (Value::String("TAGS".into()), Value::Array(vec![Value::String("a".into())])),
    ]);
    let r = |offset| SinkRecord {
        kafka_offset: offset,
        record: ConnectRecord { partition: Some(2), ..ConnectRecord::new("events", SchemaAndValue::null(), SchemaAndValue { schema: None, value: value.clone() }) },
    };
    t.put(vec![r(10), r(10), r(11)]).unwrap();
    assert_eq!(pg.psql(r#"SELECT __connect_topic, __connect_partition, __connect_offset, "ID", "NAME", "TAGS" FROM events ORDER BY 3"#), "events|2|10|4|x|[\"a\"]\nevents|2|11|4|x|[\"a\"]");
}

/// Source offsets kept in memory, as the worker's store would.
#[derive(Default, Clone)]
struct Offsets(Arc<Mutex<BTreeMap<String, Json>>>);

impl OffsetReader for Offsets {
    fn offset(&self, partition: &Json) -> Option<Json> {
        self.0.lock().get(&partition.to_string()).cloned()
    }
}

impl Offsets {
    fn store(&self, records: &[SourceRecord]) {
        for r in records {
            self.0.lock().insert(r.source_partition.to_string(), r.source_offset.clone());
        }
    }
}

fn source(pg: &PostgresServer, offsets: &Offsets, pairs: &[(&str, &str)]) -> JdbcSourceTask {
    let mut c = config(pairs);
    c.insert("connection.url".into(), pg.jdbc_url());
    c.insert("poll.interval.ms".into(), "10".into());
    c.insert("connection.backoff.ms".into(), "50".into());
    let mut t = JdbcSourceTask::default();
    t.start(&c, offsets).unwrap();
    t
}

/// Polls until `n` records came (or fails after 20 s).
fn poll_n(t: &mut JdbcSourceTask, n: usize) -> Vec<SourceRecord> {
    let mut got = Vec::new();
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while got.len() < n {
        assert!(std::time::Instant::now() < deadline, "timed out: {} of {n} records", got.len());
        got.extend(t.poll().unwrap());
        std::thread::sleep(Duration::from_millis(10));
    }
    got
}

fn field(r: &SourceRecord, name: &str) -> Value {
    match &r.record.value.value {
        Value::Struct(s) => s.get(name).cloned().unwrap_or(Value::Null),
        other => panic!("not a struct: {other}"),
    }
}

#[test]
fn source_incrementing_reads_new_rows_in_batches_and_resumes_after_a_restart() {
    let pg = PostgresServer::start();
    pg.psql("CREATE TABLE items (id SERIAL PRIMARY KEY, name VARCHAR(20) NOT NULL, price NUMERIC(8,2), added DATE, seen TIMESTAMPTZ)");
    pg.psql("INSERT INTO items (name, price, added, seen) SELECT 'item' || g, g * 1.5, DATE '2024-02-29', TIMESTAMPTZ '2024-01-01 00:00:00.25+00' FROM generate_series(1, 5) g");
    let offsets = Offsets::default();
    let cfg = [("mode", "incrementing"), ("incrementing.column.name", "id"), ("table.whitelist", "items"), ("topic.prefix", "pg-"), ("batch.max.rows", "2")];
    let mut t = source(&pg, &offsets, &cfg);
    let first = poll_n(&mut t, 2);
    assert_eq!(first.len(), 2, "batch.max.rows");
    let rest = poll_n(&mut t, 3);
    let all: Vec<SourceRecord> = first.into_iter().chain(rest).collect();
    assert_eq!(all.iter().map(|r| field(r, "id")).collect::<Vec<_>>(), (1..=5).map(Value::Int32).collect::<Vec<_>>());
    let r = &all[2];
    assert_eq!(r.record.topic, "pg-items");
    assert_eq!(r.record.key, SchemaAndValue::null());
    assert_eq!(r.source_partition, json!({"table": "items"}));
    assert_eq!(r.source_offset, json!({"incrementing": 3}));
    let schema = r.record.value.schema.as_ref().unwrap();
    assert_eq!(schema.name.as_deref(), Some("items"));
    let types: Vec<String> = schema.fields.iter().map(|f| format!("{}:{}{}{}", f.name, f.schema.schema_type.name(), f.schema.name.as_deref().map(|n| format!("({n})")).unwrap_or_default(), if f.schema.optional { "?" } else { "" })).collect();
    assert_eq!(
        types,
        ["id:int32", "name:string", "price:bytes(org.apache.kafka.connect.data.Decimal)?", "added:int32(org.apache.kafka.connect.data.Date)?", "seen:int64(org.apache.kafka.connect.data.Timestamp)?"]
    );
    assert_eq!(field(r, "price"), Value::Bytes(vec![0x01, 0xc2]), "NUMERIC(8,2) 4.50 is the Decimal 450 at scale 2");
    assert_eq!(field(r, "added"), Value::Int32(19_782), "days since 1970");
    assert_eq!(field(r, "seen"), Value::Int64(1_704_067_200_250));
    offsets.store(&all);
    t.stop();

    // A new task with the stored offsets reads only what came after.
    pg.psql("INSERT INTO items (name) VALUES ('six'), ('seven')");
    let mut t = source(&pg, &offsets, &cfg);
    let after = poll_n(&mut t, 2);
    assert_eq!(after.iter().map(|r| field(r, "name")).collect::<Vec<_>>(), [Value::String("six".into()), Value::String("seven".into())]);
    std::thread::sleep(Duration::from_millis(50));
    assert!(t.poll().unwrap().is_empty(), "nothing twice");

    // A restart of the server: the failed poll is retried (connection.attempts), nothing lost.
    pg.stop();
    assert!(t.poll().unwrap().is_empty(), "a failed poll returns nothing and waits");
    pg.resume();
    pg.psql("INSERT INTO items (name) VALUES ('eight')");
    let after = poll_n(&mut t, 1);
    assert_eq!(field(&after[0], "name"), Value::String("eight".into()));
}

#[test]
fn source_timestamp_incrementing_sees_updates_and_rows_sharing_a_timestamp() {
    let pg = PostgresServer::start();
    pg.psql("CREATE TABLE accounts (id INT PRIMARY KEY, owner TEXT, updated TIMESTAMP NOT NULL)");
    pg.psql("INSERT INTO accounts VALUES (1, 'ann', '2024-01-01 10:00'), (2, 'bob', '2024-01-01 10:00'), (3, 'cy', '2024-01-01 10:00:00.000001')");
    let offsets = Offsets::default();
    let cfg = [
        ("mode", "timestamp+incrementing"),
        ("incrementing.column.name", "id"),
        ("timestamp.column.name", "updated"),
        ("query", "SELECT id, owner, updated FROM accounts"),
        ("topic.prefix", "pg-accounts"),
        ("batch.max.rows", "1"),
    ];
    let mut t = source(&pg, &offsets, &cfg);
    let got = poll_n(&mut t, 3);
    assert_eq!(got.iter().map(|r| field(r, "id")).collect::<Vec<_>>(), [Value::Int32(1), Value::Int32(2), Value::Int32(3)]);
    assert_eq!(got[0].record.topic, "pg-accounts");
    assert_eq!(got[0].source_partition, json!({"query": "SELECT id, owner, updated FROM accounts"}));
    // 2024-01-01 10:00:00.000001 UTC: ms and the nanoseconds of its second, Confluent's keys.
    assert_eq!(got[2].source_offset, json!({"incrementing": 3, "timestamp": 1_704_103_200_000i64, "timestamp_nanos": 1000}));
    // Only the first batch is stored, as if the worker crashed before storing the rest.
    offsets.store(&got[..1]);
    t.stop();

    pg.psql("UPDATE accounts SET owner = 'ann2', updated = '2024-01-02' WHERE id = 1");
    let mut t = source(&pg, &offsets, &cfg);
    let got = poll_n(&mut t, 3);
    let seen: Vec<(Value, Value)> = got.iter().map(|r| (field(r, "id"), field(r, "owner"))).collect();
    assert_eq!(seen, [(Value::Int32(2), Value::String("bob".into())), (Value::Int32(3), Value::String("cy".into())), (Value::Int32(1), Value::String("ann2".into()))]);
    std::thread::sleep(Duration::from_millis(50));
    assert!(t.poll().unwrap().is_empty());
}

fn props(text: &str) -> Config {
    parse_properties("test", text).unwrap()
}

/// Source table -> topic -> sink table through the standalone worker, stopped and restarted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn worker_streams_a_table_into_another_and_resumes() {
    let pg = PostgresServer::start();
    pg.psql("CREATE TABLE src (id BIGSERIAL PRIMARY KEY, name TEXT NOT NULL, amount INT)");
    pg.psql("INSERT INTO src (name, amount) SELECT 'n' || g, g FROM generate_series(1, 50) g");
    let dir = tempfile::tempdir().unwrap();
    let mut bc = BrokerConfig::default();
    bc.log_dir = dir.path().join("broker");
    let broker = Broker::open(bc).await.unwrap();
    let worker = props(&format!(
        "key.converter=org.apache.kafka.connect.json.JsonConverter\nvalue.converter=org.apache.kafka.connect.json.JsonConverter\noffset.storage.file.filename={}\noffset.flush.interval.ms=100\n",
        dir.path().join("offsets").display()
    ));
    let url = pg.jdbc_url();
    let connectors = vec![
        props(&format!("name=pg-src\nconnector.class=io.confluent.connect.jdbc.JdbcSourceConnector\nconnection.url={url}\nmode=incrementing\nincrementing.column.name=id\ntable.whitelist=src\ntopic.prefix=pg-\npoll.interval.ms=50\n")),
        props(&format!("name=pg-sink\nconnector.class=JdbcSink\nconnection.url={url}\ntopics=pg-src\ninsert.mode=upsert\npk.mode=record_value\npk.fields=id\nauto.create=true\ntable.name.format=copy_of_${{topic}}\n")),
    ];
    for round in 0..2 {
        let w = StandaloneWorker::new(broker.clone(), WorkerConfig::from_props(worker.clone()).unwrap(), Plugins::default()).unwrap();
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let handle = tokio::spawn(w.run(connectors.clone(), stopped));
        let want = if round == 0 { "50|50" } else { "60|60" };
        wait_until_async(&format!("{want} rows in the copy"), Duration::from_secs(60), || {
            let exists = pg.psql("SELECT count(*) FROM information_schema.tables WHERE table_name = 'copy_of_pg-src'") == "1";
            let got = if exists { pg.psql("SELECT count(*), count(DISTINCT id) FROM \"copy_of_pg-src\"") } else { String::new() };
            async move { got == want }
        })
        .await;
        stop.send(true).unwrap();
        handle.await.unwrap().unwrap();
        pg.psql("INSERT INTO src (name, amount) SELECT 'm' || g, g FROM generate_series(1, 10) g");
    }
    assert_eq!(pg.psql("SELECT id, name, amount FROM \"copy_of_pg-src\" WHERE id IN (1, 60) ORDER BY id"), "1|n1|1\n60|m10|10");
    broker.shutdown().await;
}

/// Decimal fields through the sink into NUMERIC columns and back through the source, exactly,
/// under each `numeric.mapping`.
#[test]
fn decimals_round_trip_through_numeric_columns() {
    use brook_connect::decimal::{self, BigDecimal};
    let pg = PostgresServer::start();
    let mut amount = decimal::schema(4);
    amount.parameters.insert(decimal::PRECISION_PARAM.into(), "30".into());
    let schema = Schema::structure([
        ("id", Schema::of(SchemaType::Int64)),
        ("amount", amount),
        ("fee", decimal::schema(2).optional()),
        ("whole", decimal::schema(0)),
    ])
    .named("payment");
    let dec = |text: &str, scale: i32| Value::Bytes(BigDecimal::parse(text).unwrap().rescale(scale).unwrap().to_unscaled_bytes());
    let rows = [
        ("12345678901234567890.1234", Some("-0.05"), "7"),
        ("-0.0001", None, "-9223372036854775809"),
        ("0", Some("99999999.99"), "0"),
    ];
    let records: Vec<SinkRecord> = rows
        .iter()
        .enumerate()
        .map(|(i, (a, f, w))| {
            let values = vec![Value::Int64(i as i64 + 1), dec(a, 4), f.map_or(Value::Null, |f| dec(f, 2)), dec(w, 0)];
            keyed(i as i64, i as i64 + 1, SchemaAndValue { schema: Some(schema.clone()), value: Value::Struct(Struct { schema: schema.clone(), values }) })
        })
        .collect();
    let mut t = sink(&pg, &[("insert.mode", "upsert"), ("pk.mode", "record_key"), ("pk.fields", "id"), ("auto.create", "true"), ("table.name.format", "payments")]);
    t.put(records).unwrap();
    // auto.create: NUMERIC with the field's precision (else 1000) and scale; bound exactly.
    let columns = pg.psql("SELECT column_name, data_type, numeric_precision, numeric_scale FROM information_schema.columns WHERE table_name = 'payments' ORDER BY ordinal_position");
    assert_eq!(columns, "id|bigint|64|0\namount|numeric|30|4\nfee|numeric|1000|2\nwhole|numeric|1000|0");
    assert_eq!(
        pg.psql("SELECT id, amount, fee, whole FROM payments ORDER BY id"),
        "1|12345678901234567890.1234|-0.05|7\n2|-0.0001||-9223372036854775809\n3|0.0000|99999999.99|0"
    );

    // The source reads them back as the same Decimals (numeric.mapping=none, the default).
    let offsets = Offsets::default();
    let cfg = [("mode", "incrementing"), ("incrementing.column.name", "id"), ("table.whitelist", "payments"), ("topic.prefix", "pg-")];
    let mut src = source(&pg, &offsets, &cfg);
    let got = poll_n(&mut src, 3);
    for (r, (a, f, w)) in got.iter().zip(&rows) {
        assert_eq!(field(r, "amount"), dec(a, 4));
        assert_eq!(field(r, "fee"), f.map_or(Value::Null, |f| dec(f, 2)));
        assert_eq!(field(r, "whole"), dec(w, 0));
    }
    let read = got[0].record.value.schema.as_ref().unwrap();
    let amount = &read.fields[1].schema;
    assert!(decimal::is_decimal(amount) && !amount.optional, "{amount:?}");
    assert_eq!((decimal::scale(amount).unwrap(), decimal::precision(amount)), (4, Some(30)));
    src.stop();

    // best_fit: NUMERIC(p, s) with p < 19 as integers (s = 0) or float64 (s > 0); wider stays Decimal.
    pg.psql("CREATE TABLE sized (id SERIAL PRIMARY KEY, tiny NUMERIC(2,0), small NUMERIC(4), mid NUMERIC(9,0), big NUMERIC(18,0), frac NUMERIC(10,3), wide NUMERIC(20,0), loose NUMERIC)");
    pg.psql("INSERT INTO sized (tiny, small, mid, big, frac, wide, loose) VALUES (-12, 1234, 123456789, 123456789012345678, 1234.5, 12345678901234567890, 2.25)");
    let cfg = [("mode", "bulk"), ("table.whitelist", "sized"), ("topic.prefix", "pg-"), ("numeric.mapping", "best_fit")];
    let mut src = source(&pg, &Offsets::default(), &cfg);
    let r = &poll_n(&mut src, 1)[0];
    let types: Vec<String> = r.record.value.schema.as_ref().unwrap().fields.iter().map(|f| f.schema.schema_type.name().to_owned()).collect();
    assert_eq!(types, ["int32", "int8", "int16", "int32", "int64", "float64", "bytes", "float64"]);
    assert_eq!(
        ["tiny", "small", "mid", "big", "frac", "wide", "loose"].map(|n| field(r, n)),
        [Value::Int8(-12), Value::Int16(1234), Value::Int32(123_456_789), Value::Int64(123_456_789_012_345_678), Value::Float64(1234.5), dec("12345678901234567890", 0), Value::Float64(2.25)]
    );
    src.stop();
}
