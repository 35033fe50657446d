//! The Arrow path of stateless stream queries (`ksql.brook.vectorized.enable`, on by default)
//! gives the row path's results: every bundled QTT case that must pass
//! (`tests/qtt/expected-pass.txt`, run by `qtt.rs` with the default) passes with the property
//! off as well (records, keys, timestamps, deserialization and expression errors).

use std::collections::BTreeSet;
use std::path::Path;

use brook_sql_engine::testing::{model, run_on_engine, Outcome};

#[test]
fn qtt_cases_pass_on_the_row_path() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/qtt");
    let expected: BTreeSet<String> = std::fs::read_to_string(dir.join("expected-pass.txt"))
        .unwrap()
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(str::to_owned)
        .collect();
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    let (mut ran, mut failures) = (0, Vec::new());
    for path in files {
        let stem = path.file_stem().unwrap().to_string_lossy().into_owned();
        let cases = model::qtt_file(&std::fs::read_to_string(&path).unwrap(), &stem).unwrap();
        for mut case in cases.into_iter().filter(|c| expected.contains(&c.name)) {
            case.properties.push(("ksql.brook.vectorized.enable".into(), "false".into()));
            ran += 1;
            let name = case.name.clone();
            match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| run_on_engine(&case))) {
                Ok(Outcome::Passed) => {}
                Ok(Outcome::Failed(f)) => failures.push(format!("{name}: {f}")),
                Ok(Outcome::Unsupported(why)) => failures.push(format!("{name}: unsupported: {why}")),
                Err(_) => failures.push(format!("{name}: panicked")),
            }
        }
    }
    assert!(ran >= 40, "only {ran} cases ran");
    assert!(failures.is_empty(), "{} of {ran} cases fail on the row path:\n{}", failures.len(), failures.join("\n"));
}

/// Live mode, where tasks poll many records at once: the same queries on the row path and on
/// the Arrow path write the same records (keys, values, timestamps, order) and log the same
/// number of bad records, over plain, lower-case, nested and broken JSON, tombstones, `NULL`s
/// and a `WHERE` that divides by zero on some rows.
#[test]
fn live_arrow_path_matches_the_row_path() {
    use brook_broker::client::producer::{Producer, ProducerConfig, ProducerRecord};
    use brook_sql_engine::Engine;

    use crate::engine_support::{lines, live_setup, wait_for};

    let (rt, _dir, broker, mut config) = live_setup(2);
    let _guard = rt.enter();
    config.properties.insert("ksql.streams.auto.offset.reset".into(), "earliest".into());
    let mut e = Engine::new(config).unwrap();
    e.execute("CREATE STREAM S (ID BIGINT KEY, A BIGINT, B STRING, C DOUBLE, D INT) WITH (KAFKA_TOPIC='s', PARTITIONS=1, FORMAT='JSON');").unwrap();
    let producer = Producer::new(broker.clone(), ProducerConfig::default()).unwrap();
    let mut n = 0i64;
    for i in 0..3000i64 {
        let value = match i % 10 {
            0 => format!(r#"{{"a":{i},"b":"lower {i}","C":1.5,"D":{}}}"#, i % 7),
            1 => "{oops".to_owned(),
            2 => format!(r#"{{"A":{i},"B":{{"nested":true}},"D":"{}"}}"#, i % 7),
            3 => format!(r#"{{"A":null,"B":"x\"y","C":-0.0,"D":{}}}"#, i % 7),
            _ => format!(r#"{{"A":{i},"B":"b{i}","C":{}.25,"D":{}}}"#, i % 13, i % 7),
        };
        let value = (i % 97 != 5).then(|| value.into_bytes());
        let key = (i % 11 != 3).then(|| i.to_string().into_bytes());
        producer.send(ProducerRecord { timestamp: Some(1_000 + i), ..ProducerRecord::new("s", key, value) });
        n += 1;
    }
    producer.flush();
    let queries = |name: &str| {
        format!(
            "CREATE STREAM {name}_F AS SELECT ID, A * 0.908 AS P, UCASE(B) AS U, C / 2 AS H, A / D AS Q, ROWOFFSET AS O FROM S WHERE A % (D - 3) = 0 OR B IS NULL; \
             CREATE STREAM {name}_ALL AS SELECT * FROM S;"
        )
    };
    e.execute("SET 'ksql.brook.vectorized.enable'='false';").unwrap();
    e.execute(&queries("ROW")).unwrap();
    // The Arrow path is the default.
    e.execute("UNSET 'ksql.brook.vectorized.enable';").unwrap();
    e.execute(&queries("ARROW")).unwrap();
    // The Arrow queries run as one batching processor between source and sink, and `EXPLAIN`
    // shows ksqlDB's steps all the same, as for the row path.
    let topology = |e: &mut Engine, id: &str| match e.execute(&format!("EXPLAIN {id};")).unwrap().remove(0) {
        brook_sql_engine::StatementResult::QueryDescription(d) => d.topology,
        other => panic!("{other:?}"),
    };
    let arrow = topology(&mut e, "CSAS_ARROW_F_2");
    assert!(arrow.contains("WhereFilter") && arrow.contains("MAPVALUES"), "{arrow}");
    assert_eq!(arrow.replace("ARROW_F", "F"), topology(&mut e, "CSAS_ROW_F_0").replace("ROW_F", "F"));
    // Each query has committed every input record.
    let admin = brook_broker::client::Admin::new(broker.clone());
    for q in ["CSAS_ROW_F_0", "CSAS_ROW_ALL_1", "CSAS_ARROW_F_2", "CSAS_ARROW_ALL_3"] {
        wait_for(q, || {
            let Ok(lag) = admin.group_lag(&format!("_confluent-ksql-default_query_{q}")) else { return false };
            lag.partitions.iter().filter_map(|p| p.committed).sum::<i64>() == n && lag.partitions.iter().all(|p| p.lag == Some(0))
        });
    }
    for sink in ["F", "ALL"] {
        assert_eq!(lines(&e, &format!("ROW_{sink}")), lines(&e, &format!("ARROW_{sink}")), "{sink}");
    }
    assert!(lines(&e, "ROW_ALL").len() > 2000);
    // The same bad records (and expression failures) logged by both queries.
    let log = lines(&e, "default_ksql_processing_log");
    let count = |q: &str| log.iter().filter(|l| l.contains(q)).count();
    assert!(count("CSAS_ROW_F_0") > 0);
    assert_eq!(count("CSAS_ROW_F_0"), count("CSAS_ARROW_F_2"));
    assert_eq!(count("CSAS_ROW_ALL_1"), count("CSAS_ARROW_ALL_3"));
    // Entry for entry, in the same order (deserialization and expression errors interleaved
    // as the records come), up to the query id and the time of logging (`"time":<ms>` in the
    // entry, and the record's timestamp).
    let untimed = |l: &str| -> String {
        let l = l.rsplit_once(" | ").map_or(l, |(kv, _)| kv);
        match l.find("\"time\":") {
            Some(i) => {
                let rest = &l[i + 7..];
                format!("{}{}", &l[..i], rest.trim_start_matches(|c: char| c.is_ascii_digit()))
            }
            None => l.to_owned(),
        }
    };
    let entries = |q: &str| -> Vec<String> { log.iter().filter(|l| l.contains(q)).map(|l| untimed(l).replace(q, "QUERY")).collect() };
    assert_eq!(entries("CSAS_ROW_F_0"), entries("CSAS_ARROW_F_2"));
    assert_eq!(entries("CSAS_ROW_ALL_1"), entries("CSAS_ARROW_ALL_3"));
    e.execute("TERMINATE ALL;").unwrap();
    drop(e);
    rt.block_on(broker.shutdown());
}
