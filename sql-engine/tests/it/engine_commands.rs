//! Commands (the command topic's records): what a statement records, and an engine rebuilt by
//! applying the recorded commands, through JSON, without planning the statements again.

use brook_sql_engine::plan::command::{Command, DdlCommand};
use brook_sql_engine::{Engine, StatementResult};

use crate::engine_support::{pipe, sorted_lines};

const SCRIPT: &str = "
    CREATE TYPE ADDRESS AS STRUCT<CITY STRING, ZIP INT>;
    CREATE TYPE GONE AS STRING;
    DROP TYPE GONE;
    CREATE STREAM S (ID INT KEY, K STRING, V INT) WITH (KAFKA_TOPIC='s', PARTITIONS=2, FORMAT='JSON');
    CREATE TABLE T (K STRING PRIMARY KEY, NAME STRING) WITH (KAFKA_TOPIC='t', PARTITIONS=1, FORMAT='JSON');
    ALTER STREAM S ADD COLUMN HOME ADDRESS;
    SET 'auto.offset.reset'='earliest';
    CREATE STREAM BIG AS SELECT ID, K, V FROM S WHERE V > 10;
    CREATE TABLE COUNTS AS SELECT K, COUNT(*) AS N, SUM(V) AS TOTAL FROM S GROUP BY K;
    CREATE TABLE WIN AS SELECT K, COUNT(*) AS N FROM S WINDOW TUMBLING (SIZE 10 SECONDS) GROUP BY K;
    CREATE STREAM NAMED AS SELECT S.K AS K, S.V, T.NAME FROM S JOIN T ON S.K = T.K;
    CREATE STREAM ALL_V AS SELECT ID, K, V FROM S WHERE V < 0;
    INSERT INTO ALL_V SELECT ID, K, V FROM S WHERE V > 100;
    CREATE STREAM DOOMED AS SELECT ID, V FROM S;
    TERMINATE CSAS_DOOMED_6;
    DROP STREAM DOOMED;
    CREATE STREAM IF NOT EXISTS S (ID INT KEY) WITH (KAFKA_TOPIC='s', FORMAT='JSON');
    CREATE TYPE IF NOT EXISTS ADDRESS AS STRING;
    SHOW QUERIES;
    INSERT INTO T (K, NAME) VALUES ('a', 'Ann');
";

fn recording_engine() -> (Engine, Vec<Command>) {
    let mut e = Engine::new_test().unwrap();
    e.record_commands(true);
    e.execute(SCRIPT).unwrap();
    let commands = e.take_commands();
    assert!(e.take_commands().is_empty(), "taking empties the queue");
    (e, commands)
}

/// Every command through its JSON text, as the command topic carries it.
fn through_json(commands: &[Command]) -> Vec<Command> {
    commands.iter().map(|c| serde_json::from_slice(&serde_json::to_vec(c).unwrap()).unwrap()).collect()
}

fn replayed(commands: &[Command]) -> Engine {
    let mut e = Engine::new_test().unwrap();
    for c in through_json(commands) {
        e.apply_command(&c).unwrap_or_else(|err| panic!("{}: {err}", c.statement));
    }
    e
}

fn show(e: &mut Engine, what: &str) -> String {
    match e.execute(&format!("{what};")).unwrap().remove(0) {
        StatementResult::Queries(q) => format!("{q:?}"),
        StatementResult::Streams(s) | StatementResult::Tables(s) => format!("{s:?}"),
        StatementResult::Types(t) => format!("{t:?}"),
        StatementResult::SourceDescription(d) => format!("{d:?}"),
        other => panic!("{other:?}"),
    }
}

fn feed(e: &mut Engine) {
    pipe(e, "t", &[(Some(r#""a""#), Some(r#"{"NAME":"Ann"}"#), 1), (Some(r#""b""#), Some(r#"{"NAME":"Bob"}"#), 2)]);
    let rows: Vec<(String, String, i64)> =
        (0..40).map(|i| (i.to_string(), format!(r#"{{"K":"{}","V":{}}}"#, ["a", "b", "c"][i % 3], (i * 7) % 130), 1_000 + i as i64 * 700)).collect();
    let rows: Vec<(Option<&str>, Option<&str>, i64)> = rows.iter().map(|(k, v, t)| (Some(k.as_str()), Some(v.as_str()), *t)).collect();
    pipe(e, "s", &rows);
}

#[test]
fn statements_that_change_the_catalog_record_one_command_each() {
    let (_, commands) = recording_engine();
    let got: Vec<(String, Option<String>, Option<String>)> = commands
        .iter()
        .map(|c| {
            let plan = c.plan.as_ref();
            let ddl = plan.and_then(|p| p.ddl_command.as_ref()).map(|d| serde_json::to_value(d).unwrap()["@type"].as_str().unwrap().to_owned());
            (c.statement.split_whitespace().take(3).collect::<Vec<_>>().join(" "), ddl, plan.and_then(|p| p.query_plan.as_ref()).map(|q| q.query_id.clone()))
        })
        .collect();
    let s = |t: &str, d: Option<&str>, q: Option<&str>| (t.to_owned(), d.map(str::to_owned), q.map(str::to_owned));
    assert_eq!(
        got,
        vec![
            s("CREATE TYPE ADDRESS", Some("registerTypeV1"), None),
            s("CREATE TYPE GONE", Some("registerTypeV1"), None),
            s("DROP TYPE GONE", Some("dropTypeV1"), None),
            s("CREATE STREAM S", Some("createStreamV1"), None),
            s("CREATE TABLE T", Some("createTableV1"), None),
            s("ALTER STREAM S", Some("alterSourceV1"), None),
            s("CREATE STREAM BIG", Some("createStreamV1"), Some("CSAS_BIG_0")),
            s("CREATE TABLE COUNTS", Some("createTableV1"), Some("CTAS_COUNTS_1")),
            s("CREATE TABLE WIN", Some("createTableV1"), Some("CTAS_WIN_2")),
            s("CREATE STREAM NAMED", Some("createStreamV1"), Some("CSAS_NAMED_3")),
            s("CREATE STREAM ALL_V", Some("createStreamV1"), Some("CSAS_ALL_V_4")),
            s("INSERT INTO ALL_V", None, Some("INSERTQUERY_5")),
            s("CREATE STREAM DOOMED", Some("createStreamV1"), Some("CSAS_DOOMED_6")),
            s("TERMINATE CSAS_DOOMED_6", None, None),
            s("DROP STREAM DOOMED", Some("dropSourceV1"), None),
        ],
        "no command for IF NOT EXISTS over an existing name, SHOW, or INSERT ... VALUES"
    );
    // TERMINATE has no plan, as in ksqlDB; the others do.
    assert!(commands[13].plan.is_none());
    assert!(commands.iter().enumerate().all(|(i, c)| i == 13 || c.plan.is_some()));
    // The properties in force are part of the record.
    assert_eq!(commands[5].streams_properties.get("auto.offset.reset"), None);
    assert_eq!(commands[6].streams_properties.get("auto.offset.reset").map(String::as_str), Some("earliest"));
    assert!(commands.iter().all(|c| c.version == 1));
}

#[test]
fn a_command_is_ksqldb_shaped_json() {
    let (_, commands) = recording_engine();
    let json = serde_json::to_value(&commands[6]).unwrap();
    let mut top: Vec<&str> = json.as_object().unwrap().keys().map(String::as_str).collect();
    top.sort_unstable();
    assert_eq!(top, ["originalProperties", "plan", "statement", "streamsProperties", "version"]);
    let plan = &json["plan"];
    assert_eq!(plan["@type"], "ksqlPlanV1");
    assert_eq!(plan["statementText"], json["statement"]);
    assert_eq!(plan["ddlCommand"]["@type"], "createStreamV1");
    assert_eq!(plan["ddlCommand"]["source"]["name"], "BIG");
    assert_eq!(plan["queryPlan"]["queryId"], "CSAS_BIG_0");
    assert_eq!(plan["queryPlan"]["sources"], serde_json::json!(["S"]));
    assert_eq!(plan["queryPlan"]["sink"], "BIG");
    assert!(plan["queryPlan"]["physicalPlan"]["StreamSink"].is_object(), "{plan}");
    insta::assert_snapshot!(serde_json::to_string_pretty(&commands[3]).unwrap());
}

#[test]
fn applying_the_commands_rebuilds_the_catalog_and_the_queries() {
    let (mut original, commands) = recording_engine();
    let mut rebuilt = replayed(&commands);
    // Test mode's topics live in the engine that created them: the rebuilt one does not know
    // the partition counts (a live engine finds the topics on the broker).
    let mask = |s: String| s.replace("partitions: 2,", "partitions: 0,");
    for what in ["SHOW QUERIES", "SHOW STREAMS", "SHOW TABLES", "SHOW TYPES", "DESCRIBE S"] {
        assert_eq!(show(&mut rebuilt, what), mask(show(&mut original, what)), "{what}");
    }
    assert!(rebuilt.catalog().query("CSAS_DOOMED_6").is_none() && rebuilt.catalog().source("DOOMED").is_none());
    // The same input gives the same output on both.
    for e in [&mut original, &mut rebuilt] {
        feed(e);
    }
    for sink in ["BIG", "COUNTS", "WIN", "NAMED", "ALL_V"] {
        let (a, b) = (sorted_lines(&original, sink), sorted_lines(&rebuilt, sink));
        assert!(!a.is_empty(), "{sink} has output");
        assert_eq!(b, a, "{sink}");
    }
    // New queries take ids after the recorded ones.
    let r = rebuilt.execute("CREATE STREAM MORE AS SELECT ID, V FROM S;").unwrap();
    assert!(matches!(&r[0], StatementResult::Status(s) if s.query_id.as_deref() == Some("CSAS_MORE_7")), "{r:?}");
}

#[test]
fn a_query_runs_its_recorded_plan_not_its_statement_text() {
    let (_, mut commands) = recording_engine();
    // Were the text planned again, BIG would keep V > 1000 and see nothing.
    let big = commands.iter_mut().find(|c| c.statement.contains("BIG AS")).unwrap();
    big.statement = big.statement.replace("V > 10", "V > 1000");
    let mut rebuilt = replayed(&commands);
    feed(&mut rebuilt);
    let out = sorted_lines(&rebuilt, "BIG");
    assert_eq!(out.len(), 40 - (0..40).filter(|i| (i * 7) % 130 <= 10).count(), "{out:?}");
}

#[test]
fn a_command_that_no_longer_applies_fails_and_changes_nothing() {
    let (_, commands) = recording_engine();
    let mut e = replayed(&commands);
    let before = show(&mut e, "SHOW QUERIES");
    // The same CSAS again: its sink and its query exist.
    let csas = commands.iter().find(|c| c.statement.contains("BIG AS")).unwrap();
    let err = e.apply_command(csas).unwrap_err().to_string();
    assert!(err.contains("BIG") && err.contains("already exists"), "{err}");
    // A drop of a source that is read by queries.
    let mut drop = commands.iter().find(|c| c.statement.starts_with("DROP STREAM")).unwrap().clone();
    if let Some(DdlCommand::DropSource { source_name, .. }) = drop.plan.as_mut().and_then(|p| p.ddl_command.as_mut()) {
        *source_name = "S".into();
    }
    let err = e.apply_command(&drop).unwrap_err().to_string();
    assert!(err.contains("Cannot drop S"), "{err}");
    assert_eq!(show(&mut e, "SHOW QUERIES"), before);
    // A record without a plan that is not a TERMINATE (an older Brook's) runs its text.
    let legacy = Command { plan: None, ..commands[3].clone() };
    let mut fresh = Engine::new_test().unwrap();
    fresh.apply_command(&legacy).unwrap();
    assert!(fresh.catalog().source("S").is_some());
}
