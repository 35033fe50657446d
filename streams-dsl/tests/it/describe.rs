//! `describe()` of DSL programs, byte for byte as Kafka Streams 3.x prints them.

use brook_streams_dsl::{Consumed, Grouped, Materialized, Produced, StreamsBuilder};

/// Kafka's WordCountDemo. Kafka burns three indices for the repartition sink, filter and
/// source even when they are named after the store (`KStreamImpl.createRepartitionedSource`:
/// "Always need to generate the names to burn index counter for compatibility"), so the
/// `toStream` node is `KTABLE-TOSTREAM-0000000007` and the sink `KSTREAM-SINK-0000000008`.
pub(crate) fn word_count() -> StreamsBuilder {
    let b = StreamsBuilder::new();
    b.stream::<String, String>(&["streams-plaintext-input"], Consumed::default())
        .flat_map_values(|v| v.to_lowercase().split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).map(str::to_owned).collect::<Vec<_>>())
        .group_by(|_, v| v.clone(), Grouped::default())
        .count(Materialized::named("counts-store"))
        .to_stream()
        .to("streams-wordcount-output", Produced::default());
    b
}

#[test]
fn word_count_matches_kafka() {
    let text = word_count().build().unwrap().describe().to_string();
    assert_eq!(
        text,
        "Topologies:\n   Sub-topology: 0\n    Source: KSTREAM-SOURCE-0000000000 (topics: [streams-plaintext-input])\n      --> KSTREAM-FLATMAPVALUES-0000000001\n    Processor: KSTREAM-FLATMAPVALUES-0000000001 (stores: [])\n      --> KSTREAM-KEY-SELECT-0000000002\n      <-- KSTREAM-SOURCE-0000000000\n    Processor: KSTREAM-KEY-SELECT-0000000002 (stores: [])\n      --> counts-store-repartition-filter\n      <-- KSTREAM-FLATMAPVALUES-0000000001\n    Processor: counts-store-repartition-filter (stores: [])\n      --> counts-store-repartition-sink\n      <-- KSTREAM-KEY-SELECT-0000000002\n    Sink: counts-store-repartition-sink (topic: counts-store-repartition)\n      <-- counts-store-repartition-filter\n\n  Sub-topology: 1\n    Source: counts-store-repartition-source (topics: [counts-store-repartition])\n      --> KSTREAM-AGGREGATE-0000000003\n    Processor: KSTREAM-AGGREGATE-0000000003 (stores: [counts-store])\n      --> KTABLE-TOSTREAM-0000000007\n      <-- counts-store-repartition-source\n    Processor: KTABLE-TOSTREAM-0000000007 (stores: [])\n      --> KSTREAM-SINK-0000000008\n      <-- KSTREAM-AGGREGATE-0000000003\n    Sink: KSTREAM-SINK-0000000008 (topic: streams-wordcount-output)\n      <-- KTABLE-TOSTREAM-0000000007\n\n"
    );
    insta::assert_snapshot!("word_count", text);
}

/// `stream.selectKey(..).groupByKey().count()`: unnamed, so the repartition topic is named
/// after the generated store and its nodes keep generated names (as processor-api's
/// hand-written reference in its describe tests).
#[test]
fn unnamed_repartition_uses_generated_names() {
    let b = StreamsBuilder::new();
    b.stream::<String, String>(&["input-topic"], Consumed::default())
        .select_key(|_, v| v.clone())
        .group_by_key(Grouped::default())
        .count(Materialized::default());
    let text = b.build().unwrap().describe().to_string();
    assert_eq!(
        text,
        "Topologies:\n   Sub-topology: 0\n    Source: KSTREAM-SOURCE-0000000000 (topics: [input-topic])\n      --> KSTREAM-KEY-SELECT-0000000001\n    Processor: KSTREAM-KEY-SELECT-0000000001 (stores: [])\n      --> KSTREAM-FILTER-0000000005\n      <-- KSTREAM-SOURCE-0000000000\n    Processor: KSTREAM-FILTER-0000000005 (stores: [])\n      --> KSTREAM-SINK-0000000004\n      <-- KSTREAM-KEY-SELECT-0000000001\n    Sink: KSTREAM-SINK-0000000004 (topic: KSTREAM-AGGREGATE-STATE-STORE-0000000002-repartition)\n      <-- KSTREAM-FILTER-0000000005\n\n  Sub-topology: 1\n    Source: KSTREAM-SOURCE-0000000006 (topics: [KSTREAM-AGGREGATE-STATE-STORE-0000000002-repartition])\n      --> KSTREAM-AGGREGATE-0000000003\n    Processor: KSTREAM-AGGREGATE-0000000003 (stores: [KSTREAM-AGGREGATE-STATE-STORE-0000000002])\n      --> none\n      <-- KSTREAM-SOURCE-0000000006\n\n"
    );
}

/// `builder.table("input").filter(..).toStream().to("out")`: the table's store name takes
/// index 0 but the unnamed source table is not materialized.
#[test]
fn table_filter_to_stream() {
    let b = StreamsBuilder::new();
    b.table::<String, String>("input", Consumed::default(), Materialized::default())
        .filter(|_, v| !v.is_empty())
        .to_stream()
        .to("out", Produced::default());
    let text = b.build().unwrap().describe().to_string();
    insta::assert_snapshot!("table_filter_to_stream", text);
    assert!(text.contains("Source: KSTREAM-SOURCE-0000000001 (topics: [input])"), "{text}");
    assert!(text.contains("Processor: KTABLE-SOURCE-0000000002 (stores: [])"), "{text}");
    assert!(text.contains("Processor: KTABLE-FILTER-0000000003 (stores: [])"), "{text}");
    assert!(text.contains("Sink: KSTREAM-SINK-0000000005 (topic: out)"), "{text}");
}

/// A stream-stream join prints both windowed nodes, the join nodes with the other side's
/// store, and the merge.
#[test]
fn stream_stream_join_names() {
    let b = StreamsBuilder::new();
    let left = b.stream::<String, String>(&["left"], Consumed::default());
    let right = b.stream::<String, String>(&["right"], Consumed::default());
    left.join(&right, |a, b| format!("{a}+{b}"), brook_streams_dsl::JoinWindows::of_time_difference_without_grace(std::time::Duration::from_secs(1)), Default::default())
        .to("joined", Produced::default());
    let text = b.build().unwrap().describe().to_string();
    insta::assert_snapshot!("stream_stream_join", text);
    assert!(text.contains("Processor: KSTREAM-JOINTHIS-0000000004 (stores: [KSTREAM-JOINOTHER-0000000005-store])"), "{text}");
    assert!(text.contains("Processor: KSTREAM-WINDOWED-0000000002 (stores: [KSTREAM-JOINTHIS-0000000004-store])"), "{text}");
    assert!(text.contains("Sink: KSTREAM-SINK-0000000007 (topic: joined)"), "{text}");
}

/// Left joins add Kafka's shared outer store, named after the this-side join's index; named
/// joins use Kafka's suffixes for processors and stores.
#[test]
fn left_join_names_match_kafka() {
    let w = brook_streams_dsl::JoinWindows::of_time_difference_without_grace(std::time::Duration::from_secs(1));
    let b = StreamsBuilder::new();
    let left = b.stream::<String, String>(&["left"], Consumed::default());
    let right = b.stream::<String, String>(&["right"], Consumed::default());
    left.left_join(&right, |a, _| a.clone(), w, Default::default()).to("out", Produced::default());
    let text = b.build().unwrap().describe().to_string();
    assert!(text.contains("Processor: KSTREAM-JOINTHIS-0000000004 (stores: [KSTREAM-OUTEROTHER-0000000005-store, KSTREAM-OUTERSHARED-0000000004-store])"), "{text}");

    let b = StreamsBuilder::new();
    let left = b.stream::<String, String>(&["left"], Consumed::default());
    let right = b.stream::<String, String>(&["right"], Consumed::default());
    let named = brook_streams_dsl::StreamJoined::default().with_name("j").with_store_name("s");
    left.left_join(&right, |a, _| a.clone(), w, named).to("out", Produced::default());
    let text = b.build().unwrap().describe().to_string();
    for needle in [
        "Processor: j-this-windowed (stores: [s-this-join-store])",
        "Processor: j-other-windowed (stores: [s-outer-other-join-store])",
        "Processor: j-this-join (stores: [s-left-shared-join-store, s-outer-other-join-store])",
        "Processor: j-outer-other-join (stores: [s-this-join-store, s-left-shared-join-store])",
        "Processor: j-merge (stores: [])",
    ] {
        assert!(text.contains(needle), "{needle} in\n{text}");
    }
}

/// Table-table joins: `KTABLE-MERGE` first, then the two join processors, each reading the
/// other side's (now materialized) store.
#[test]
fn table_table_join_names_match_kafka() {
    let b = StreamsBuilder::new();
    let l = b.table::<String, String>("l", Consumed::default(), Materialized::default());
    let r = b.table::<String, String>("r", Consumed::default(), Materialized::default());
    l.join(&r, |a, b| format!("{a}{b}")).to_stream().to("out", Produced::default());
    let text = b.build().unwrap().describe().to_string();
    insta::assert_snapshot!("table_table_join", text);
    assert!(text.contains("Processor: KTABLE-JOINTHIS-0000000007 (stores: [r-STATE-STORE-0000000003])"), "{text}");
    assert!(text.contains("Processor: KTABLE-JOINOTHER-0000000008 (stores: [l-STATE-STORE-0000000000])"), "{text}");
    assert!(text.contains("<-- KTABLE-JOINTHIS-0000000007, KTABLE-JOINOTHER-0000000008"), "{text}");
}
