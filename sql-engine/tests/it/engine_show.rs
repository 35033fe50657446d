//! SHOW, DESCRIBE, EXPLAIN (topology text snapshots), variables and properties.

use brook_sql_engine::StatementResult;

use crate::engine_support::{engine, status};

const S: &str = "CREATE STREAM S (ID INT KEY, K STRING, V INT) WITH (KAFKA_TOPIC='s', FORMAT='JSON');";

fn explain(e: &mut brook_sql_engine::Engine, id: &str) -> (String, String) {
    match e.execute(&format!("EXPLAIN {id};")).unwrap().remove(0) {
        StatementResult::QueryDescription(d) => (d.topology, d.execution_plan),
        other => panic!("{other:?}"),
    }
}

#[test]
fn explain_csas_shows_topology_and_steps() {
    let mut e = engine(S);
    e.execute("CREATE STREAM F AS SELECT ID, V FROM S WHERE V > 0;").unwrap();
    let (topology, steps) = explain(&mut e, "CSAS_F_0");
    insta::assert_snapshot!(topology, @r###"
    Topologies:
       Sub-topology: 0
        Source: KSTREAM-SOURCE-0000000000 (topics: [s])
          --> KSTREAM-PROCESSVALUES-0000000001
        Processor: KSTREAM-PROCESSVALUES-0000000001 (stores: [])
          --> WhereFilter
          <-- KSTREAM-SOURCE-0000000000
        Processor: WhereFilter (stores: [])
          --> KSTREAM-MAPVALUES-0000000002
          <-- KSTREAM-PROCESSVALUES-0000000001
        Processor: KSTREAM-MAPVALUES-0000000002 (stores: [])
          --> KSTREAM-PROCESSVALUES-0000000003
          <-- WhereFilter
        Processor: KSTREAM-PROCESSVALUES-0000000003 (stores: [])
          --> KSTREAM-SINK-0000000004
          <-- KSTREAM-MAPVALUES-0000000002
        Sink: KSTREAM-SINK-0000000004 (topic: F)
          <-- KSTREAM-PROCESSVALUES-0000000003
    "###);
    insta::assert_snapshot!(steps, @r###"
    > [ StreamSink ] | Schema: ID INTEGER KEY, V INTEGER | Logger: CSAS_F_0.KsqlTopic
     > [ StreamSelect ] | Schema: ID INTEGER KEY, V INTEGER | Logger: CSAS_F_0.Project
    	 > [ StreamFilter ] | Schema: ID INTEGER KEY, K STRING, V INTEGER, ROWTIME BIGINT, ROWPARTITION INTEGER, ROWOFFSET BIGINT, ID INTEGER | Logger: CSAS_F_0.WhereFilter
    		 > [ StreamSource ] | Schema: ID INTEGER KEY, K STRING, V INTEGER, ROWTIME BIGINT, ROWPARTITION INTEGER, ROWOFFSET BIGINT, ID INTEGER | Logger: CSAS_F_0.KsqlTopic.Source
    "###);
}

#[test]
fn explain_ctas_names_stores_and_repartition_topics_as_ksqldb() {
    let mut e = engine(S);
    e.execute("CREATE TABLE T AS SELECT K, COUNT(*) AS C FROM S GROUP BY K;").unwrap();
    let (topology, steps) = explain(&mut e, "CTAS_T_0");
    insta::assert_snapshot!(topology, @r###"
    Topologies:
       Sub-topology: 0
        Source: KSTREAM-SOURCE-0000000000 (topics: [s])
          --> KSTREAM-PROCESSVALUES-0000000001
        Processor: KSTREAM-PROCESSVALUES-0000000001 (stores: [])
          --> KSTREAM-FILTER-0000000002
          <-- KSTREAM-SOURCE-0000000000
        Processor: KSTREAM-FILTER-0000000002 (stores: [])
          --> Aggregate-GroupBy
          <-- KSTREAM-PROCESSVALUES-0000000001
        Processor: Aggregate-GroupBy (stores: [])
          --> Aggregate-GroupBy-repartition-filter
          <-- KSTREAM-FILTER-0000000002
        Processor: Aggregate-GroupBy-repartition-filter (stores: [])
          --> Aggregate-GroupBy-repartition-sink
          <-- Aggregate-GroupBy
        Sink: Aggregate-GroupBy-repartition-sink (topic: Aggregate-GroupBy-repartition)
          <-- Aggregate-GroupBy-repartition-filter

      Sub-topology: 1
        Source: Aggregate-GroupBy-repartition-source (topics: [Aggregate-GroupBy-repartition])
          --> KSTREAM-AGGREGATE-0000000003
        Processor: KSTREAM-AGGREGATE-0000000003 (stores: [Aggregate-Aggregate-Materialize])
          --> KTABLE-MAPVALUES-0000000007
          <-- Aggregate-GroupBy-repartition-source
        Processor: KTABLE-MAPVALUES-0000000007 (stores: [])
          --> KTABLE-MAPVALUES-0000000008
          <-- KSTREAM-AGGREGATE-0000000003
        Processor: KTABLE-MAPVALUES-0000000008 (stores: [])
          --> KTABLE-TOSTREAM-0000000009
          <-- KTABLE-MAPVALUES-0000000007
        Processor: KTABLE-TOSTREAM-0000000009 (stores: [])
          --> KSTREAM-SINK-0000000010
          <-- KTABLE-MAPVALUES-0000000008
        Sink: KSTREAM-SINK-0000000010 (topic: T)
          <-- KTABLE-TOSTREAM-0000000009
    "###);
    insta::assert_snapshot!(steps, @r###"
    > [ TableSink ] | Schema: K STRING KEY, C BIGINT | Logger: CTAS_T_0.KsqlTopic
     > [ TableSelect ] | Schema: K STRING KEY, C BIGINT | Logger: CTAS_T_0.Aggregate.Project
    	 > [ StreamAggregate ] | Schema: K STRING KEY, K STRING, KSQL_AGG_VARIABLE_0 BIGINT | Logger: CTAS_T_0.Aggregate.Aggregate
    		 > [ StreamGroupBy ] | Schema: K STRING KEY, K STRING, V INTEGER, ROWTIME BIGINT, ROWPARTITION INTEGER, ROWOFFSET BIGINT, ID INTEGER | Logger: CTAS_T_0.Aggregate.GroupBy
    			 > [ StreamSource ] | Schema: ID INTEGER KEY, K STRING, V INTEGER, ROWTIME BIGINT, ROWPARTITION INTEGER, ROWOFFSET BIGINT, ID INTEGER | Logger: CTAS_T_0.KsqlTopic.Source
    "###);
}

#[test]
fn show_and_describe_list_sources_and_queries() {
    let mut e = engine(S);
    e.execute("CREATE STREAM F AS SELECT ID, V FROM S WHERE V > 0;").unwrap();
    let streams = match e.execute("SHOW STREAMS;").unwrap().remove(0) {
        StatementResult::Streams(s) => s,
        other => panic!("{other:?}"),
    };
    let names: Vec<String> = streams.iter().map(|s| format!("{} {} {} {}", s.name, s.topic, s.key_format, s.value_format)).collect();
    assert_eq!(names, vec!["F F JSON JSON", "KSQL_PROCESSING_LOG default_ksql_processing_log KAFKA JSON", "S s JSON JSON"]);
    let queries = match e.execute("SHOW QUERIES;").unwrap().remove(0) {
        StatementResult::Queries(q) => q,
        other => panic!("{other:?}"),
    };
    assert_eq!(queries.len(), 1);
    assert_eq!((queries[0].id.as_str(), queries[0].state.as_str(), queries[0].sinks.clone()), ("CSAS_F_0", "RUNNING", vec!["F".to_owned()]));
    let d = match e.execute("DESCRIBE S EXTENDED;").unwrap().remove(0) {
        StatementResult::SourceDescription(d) => d,
        other => panic!("{other:?}"),
    };
    insta::assert_snapshot!(serde_json::to_string_pretty(&*d).unwrap(), @r###"
    {
      "name": "S",
      "windowType": null,
      "readQueries": [
        {
          "id": "CSAS_F_0",
          "queryString": "CREATE STREAM F AS SELECT ID, V FROM S WHERE V > 0",
          "sinks": [
            "F"
          ],
          "state": "RUNNING"
        }
      ],
      "writeQueries": [],
      "fields": [
        {
          "name": "ID",
          "schema": {
            "type": "INTEGER",
            "fields": null,
            "memberSchema": null
          },
          "type": "KEY"
        },
        {
          "name": "K",
          "schema": {
            "type": "STRING",
            "fields": null,
            "memberSchema": null
          }
        },
        {
          "name": "V",
          "schema": {
            "type": "INTEGER",
            "fields": null,
            "memberSchema": null
          }
        }
      ],
      "type": "STREAM",
      "timestamp": "",
      "statistics": "",
      "errorStats": "processing-errors: 0",
      "extended": true,
      "keyFormat": "JSON",
      "valueFormat": "JSON",
      "topic": "s",
      "partitions": 1,
      "replication": 1,
      "statement": "CREATE STREAM S (ID INT KEY, K STRING, V INT) WITH (KAFKA_TOPIC='s', FORMAT='JSON')"
    }
    "###);
}

#[test]
fn variables_are_substituted_after_define() {
    let mut e = engine("");
    let r = e.execute("DEFINE topic = 'vt'; CREATE STREAM V (ID INT KEY, X INT) WITH (KAFKA_TOPIC='${topic}', FORMAT='JSON');").unwrap();
    assert_eq!(status(&r[0]), "Defined variable 'topic'.");
    assert_eq!(e.catalog().source("V").unwrap().topic, "vt");
    let err = e.execute("UNDEFINE nope;").unwrap_err();
    assert_eq!(err.to_string(), "Cannot undefine variable 'nope' which was never defined");
}

#[test]
fn set_properties_are_listed() {
    let mut e = engine("");
    e.execute("SET 'auto.offset.reset'='earliest';").unwrap();
    let props = match e.execute("SHOW PROPERTIES;").unwrap().remove(0) {
        StatementResult::Properties(p) => p,
        other => panic!("{other:?}"),
    };
    assert!(props.iter().any(|p| p.name == "auto.offset.reset" && p.value == "earliest" && p.scope == "SESSION"));
}

#[test]
fn explain_a_statement_plans_without_running() {
    let mut e = engine(S);
    let d = match e.execute("EXPLAIN CREATE STREAM F AS SELECT ID, V FROM S WHERE V > 0;").unwrap().remove(0) {
        StatementResult::QueryDescription(d) => d,
        other => panic!("{other:?}"),
    };
    assert_eq!(d.id, "CSAS_F_0");
    assert_eq!(d.statement_text, "CREATE STREAM F AS SELECT ID, V FROM S WHERE V > 0");
    assert!(d.topology.contains("Processor: WhereFilter"), "{}", d.topology);
    assert!(e.catalog().source("F").is_none());
    let r = e.execute("CREATE STREAM F AS SELECT ID, V FROM S WHERE V > 0;").unwrap();
    assert_eq!(status(&r[0]), "Created query with ID CSAS_F_0");
}

#[test]
fn explain_insert_into_plans_without_running() {
    let mut e = engine(S);
    e.execute("CREATE STREAM F AS SELECT ID, V FROM S WHERE V > 0;").unwrap();
    let d = match e.execute("EXPLAIN INSERT INTO F SELECT ID, V FROM S WHERE V < 0;").unwrap().remove(0) {
        StatementResult::QueryDescription(d) => d,
        other => panic!("{other:?}"),
    };
    // The id it would get, not taken: the INSERT that follows gets the same one.
    assert_eq!(d.id, "INSERTQUERY_1");
    assert_eq!(d.statement_text, "INSERT INTO F SELECT ID, V FROM S WHERE V < 0");
    assert_eq!(d.state, None);
    assert!(d.topology.contains("Processor: WhereFilter"), "{}", d.topology);
    assert!(d.topology.contains("(topic: F)"), "{}", d.topology);
    assert!(d.execution_plan.contains("Logger: INSERTQUERY_1.Project"), "{}", d.execution_plan);
    assert!(e.catalog().query("INSERTQUERY_1").is_none());
    let err = e.execute("EXPLAIN INSERT INTO NOPE SELECT ID, V FROM S;").unwrap_err();
    assert_eq!(err.to_string(), "NOPE does not exist.");
    let r = e.execute("INSERT INTO F SELECT ID, V FROM S WHERE V < 0;").unwrap();
    assert_eq!(status(&r[0]), "Created query with ID INSERTQUERY_1");
}

#[test]
fn print_shows_records_as_ksqldb() {
    let mut e = engine(S);
    crate::engine_support::pipe(&mut e, "s", &[(Some("1"), Some(r#"{"K":"a","V":1}"#), 1_616_516_799_869), (None, None, 0)]);
    let lines = match e.execute("PRINT 's' FROM BEGINNING LIMIT 2;").unwrap().remove(0) {
        StatementResult::Printed(l) => l,
        other => panic!("{other:?}"),
    };
    assert_eq!(
        lines,
        vec![r#"rowtime: 2021/03/23 16:26:39.869 Z, key: 1, value: {"K":"a","V":1}, partition: 0"#, "rowtime: 1970/01/01 00:00:00.000 Z, key: <null>, value: <null>, partition: 0"]
    );
    let err = e.execute("PRINT 'nope';").unwrap_err();
    assert!(err.to_string().starts_with("Could not find topic 'nope'"), "{err}");
}

#[test]
fn types_topics_and_functions_are_listed() {
    let mut e = engine(S);
    let r = e.execute("CREATE TYPE ADDRESS AS STRUCT<STREET STRING, ZIP INT>;").unwrap();
    assert_eq!(status(&r[0]), "Registered custom type with name 'ADDRESS' and SQL type STRUCT<`STREET` STRING, `ZIP` INTEGER>");
    e.execute("CREATE STREAM P (ID INT KEY, A ADDRESS) WITH (KAFKA_TOPIC='p', FORMAT='JSON');").unwrap();
    match e.execute("SHOW TYPES;").unwrap().remove(0) {
        StatementResult::Types(t) => assert_eq!(t, vec![("ADDRESS".to_owned(), "STRUCT<`STREET` STRING, `ZIP` INTEGER>".to_owned())]),
        other => panic!("{other:?}"),
    }
    match e.execute("SHOW TOPICS;").unwrap().remove(0) {
        StatementResult::Topics(t) => {
            let names: Vec<&str> = t.iter().map(|t| t.name.as_str()).collect();
            assert_eq!(names, vec!["default_ksql_processing_log", "p", "s"]);
        }
        other => panic!("{other:?}"),
    }
    match e.execute("DESCRIBE FUNCTION ucase;").unwrap().remove(0) {
        StatementResult::FunctionDescription(f) => assert_eq!(f.name, "UCASE"),
        other => panic!("{other:?}"),
    }
    match e.execute("SHOW FUNCTIONS;").unwrap().remove(0) {
        StatementResult::Functions(f) => assert!(f.iter().any(|f| f.name == "COUNT" && f.kind == "AGGREGATE"), "{f:?}"),
        other => panic!("{other:?}"),
    }
    let err = e.execute("DESCRIBE NOPE;").unwrap_err();
    assert_eq!(err.to_string(), "Could not find STREAM/TABLE 'NOPE' in the Metastore");
}

#[test]
fn explain_join_and_windowed_aggregation_topologies() {
    let mut e = engine("CREATE STREAM O (ID INT KEY, CUSTOMER INT, AMOUNT INT) WITH (KAFKA_TOPIC='o', FORMAT='JSON');
CREATE TABLE C (ID INT PRIMARY KEY, NAME STRING) WITH (KAFKA_TOPIC='c', FORMAT='JSON');");
    e.execute("CREATE STREAM E AS SELECT O.CUSTOMER, AMOUNT, NAME FROM O JOIN C ON O.CUSTOMER = C.ID;").unwrap();
    e.execute("CREATE TABLE W AS SELECT CUSTOMER, COUNT(*) AS N FROM O WINDOW TUMBLING (SIZE 1 MINUTE) GROUP BY CUSTOMER EMIT FINAL;").unwrap();
    let (join, _) = explain(&mut e, "CSAS_E_0");
    insta::assert_snapshot!(join, @r###"
    Topologies:
       Sub-topology: 0
        Source: KSTREAM-SOURCE-0000000000 (topics: [o])
          --> KSTREAM-PROCESSVALUES-0000000001
        Processor: KSTREAM-PROCESSVALUES-0000000001 (stores: [])
          --> KSTREAM-KEY-SELECT-0000000002
          <-- KSTREAM-SOURCE-0000000000
        Processor: KSTREAM-KEY-SELECT-0000000002 (stores: [])
          --> Join-repartition-filter
          <-- KSTREAM-PROCESSVALUES-0000000001
        Processor: Join-repartition-filter (stores: [])
          --> Join-repartition-sink
          <-- KSTREAM-KEY-SELECT-0000000002
        Sink: Join-repartition-sink (topic: Join-repartition)
          <-- Join-repartition-filter

      Sub-topology: 1
        Source: Join-repartition-source (topics: [Join-repartition])
          --> Join
        Processor: Join (stores: [KafkaTopic_Right-Reduce])
          --> KSTREAM-MAPVALUES-0000000009
          <-- Join-repartition-source
        Processor: KSTREAM-MAPVALUES-0000000009 (stores: [])
          --> KSTREAM-PROCESSVALUES-0000000010
          <-- Join
        Source: KSTREAM-SOURCE-0000000003 (topics: [c])
          --> KSTREAM-PROCESSVALUES-0000000004
        Processor: KSTREAM-PROCESSVALUES-0000000004 (stores: [])
          --> KSTREAM-TOTABLE-0000000005
          <-- KSTREAM-SOURCE-0000000003
        Processor: KSTREAM-PROCESSVALUES-0000000010 (stores: [])
          --> KSTREAM-SINK-0000000011
          <-- KSTREAM-MAPVALUES-0000000009
        Sink: KSTREAM-SINK-0000000011 (topic: E)
          <-- KSTREAM-PROCESSVALUES-0000000010
        Processor: KSTREAM-TOTABLE-0000000005 (stores: [KafkaTopic_Right-Reduce])
          --> none
          <-- KSTREAM-PROCESSVALUES-0000000004
    "###);
    let (windowed, steps) = explain(&mut e, "CTAS_W_1");
    insta::assert_snapshot!(windowed, @r###"
    Topologies:
       Sub-topology: 0
        Source: KSTREAM-SOURCE-0000000000 (topics: [o])
          --> KSTREAM-PROCESSVALUES-0000000001
        Processor: KSTREAM-PROCESSVALUES-0000000001 (stores: [])
          --> KSTREAM-FILTER-0000000002
          <-- KSTREAM-SOURCE-0000000000
        Processor: KSTREAM-FILTER-0000000002 (stores: [])
          --> Aggregate-GroupBy
          <-- KSTREAM-PROCESSVALUES-0000000001
        Processor: Aggregate-GroupBy (stores: [])
          --> Aggregate-GroupBy-repartition-filter
          <-- KSTREAM-FILTER-0000000002
        Processor: Aggregate-GroupBy-repartition-filter (stores: [])
          --> Aggregate-GroupBy-repartition-sink
          <-- Aggregate-GroupBy
        Sink: Aggregate-GroupBy-repartition-sink (topic: Aggregate-GroupBy-repartition)
          <-- Aggregate-GroupBy-repartition-filter

      Sub-topology: 1
        Source: Aggregate-GroupBy-repartition-source (topics: [Aggregate-GroupBy-repartition])
          --> KSTREAM-AGGREGATE-0000000003
        Processor: KSTREAM-AGGREGATE-0000000003 (stores: [Aggregate-Aggregate-Materialize])
          --> Suppress-suppress
          <-- Aggregate-GroupBy-repartition-source
        Processor: Suppress-suppress (stores: [Suppress-store])
          --> KTABLE-TOSTREAM-0000000007
          <-- KSTREAM-AGGREGATE-0000000003
        Processor: KTABLE-TOSTREAM-0000000007 (stores: [])
          --> KSTREAM-PROCESSVALUES-0000000008
          <-- Suppress-suppress
        Processor: KSTREAM-PROCESSVALUES-0000000008 (stores: [])
          --> KSTREAM-PROCESSVALUES-0000000009
          <-- KTABLE-TOSTREAM-0000000007
        Processor: KSTREAM-PROCESSVALUES-0000000009 (stores: [])
          --> KSTREAM-SINK-0000000010
          <-- KSTREAM-PROCESSVALUES-0000000008
        Sink: KSTREAM-SINK-0000000010 (topic: W)
          <-- KSTREAM-PROCESSVALUES-0000000009
    "###);
    insta::assert_snapshot!(steps, @r###"
    > [ TableSink ] | Schema: CUSTOMER INTEGER KEY, N BIGINT | Logger: CTAS_W_1.KsqlTopic
     > [ TableSuppress ] | Schema: CUSTOMER INTEGER KEY, N BIGINT | Logger: CTAS_W_1.Suppress
    	 > [ TableSelect ] | Schema: CUSTOMER INTEGER KEY, N BIGINT | Logger: CTAS_W_1.Aggregate.Project
    		 > [ StreamWindowedAggregate ] | Schema: CUSTOMER INTEGER KEY, CUSTOMER INTEGER, KSQL_AGG_VARIABLE_0 BIGINT, WINDOWSTART BIGINT, WINDOWEND BIGINT | Logger: CTAS_W_1.Aggregate.Aggregate
    			 > [ StreamGroupBy ] | Schema: CUSTOMER INTEGER KEY, CUSTOMER INTEGER, AMOUNT INTEGER, ROWTIME BIGINT, ROWPARTITION INTEGER, ROWOFFSET BIGINT, ID INTEGER | Logger: CTAS_W_1.Aggregate.GroupBy
    				 > [ StreamSource ] | Schema: ID INTEGER KEY, CUSTOMER INTEGER, AMOUNT INTEGER, ROWTIME BIGINT, ROWPARTITION INTEGER, ROWOFFSET BIGINT, ID INTEGER | Logger: CTAS_W_1.KsqlTopic.Source
    "###);
}
