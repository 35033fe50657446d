//! Grouped stream and grouped table aggregations.

use std::sync::Arc;

use brook_processor_api::TestRecord;
use brook_state_store::{I64Serde, StringSerde};
use brook_streams_dsl::{Consumed, Grouped, Materialized, Produced, StreamsBuilder};

use crate::common::{driver, kvt, l, s};

#[test]
fn word_count_counts_and_compacts_in_the_cache() {
    let b = crate::describe::word_count();
    let (d, _dir) = driver(b.build().unwrap());
    let input = d.create_input_topic("streams-plaintext-input", s(), s());
    let output = d.create_output_topic("streams-wordcount-output", s(), l());
    input.pipe_value_list(vec!["Hello Kafka Streams".into(), "All streams lead to Kafka".into()]).unwrap();
    input.pipe_value("Join Kafka Summit".into()).unwrap();
    let counts = output.read_key_values_to_map().unwrap();
    assert_eq!(counts["kafka"], 3);
    assert_eq!(counts["streams"], 2);
    assert_eq!(counts["summit"], 1);
    assert!(d.produced_topic_names().contains("dsl-test-counts-store-repartition"));
    assert!(d.produced_topic_names().contains("dsl-test-counts-store-changelog"));
}

#[test]
fn count_without_cache_emits_every_update_and_drops_null_keys() {
    let b = StreamsBuilder::new();
    let metrics = b.metrics();
    b.stream::<String, String>(&["in"], Consumed::default())
        .group_by_key(Grouped::default())
        .count(Materialized::named("c").with_caching_disabled())
        .to_stream()
        .to("out", Produced::default());
    let (d, _dir) = driver(b.build().unwrap());
    let input = d.create_input_topic("in", s(), s());
    input.pipe_input_with_timestamp("a".into(), "x".into(), 10).unwrap();
    input.pipe_input_with_timestamp("a".into(), "y".into(), 5).unwrap();
    input.pipe_input_with_timestamp("b".into(), "z".into(), 7).unwrap();
    input.pipe_value("no key".into()).unwrap();
    let out: Vec<_> = d.create_output_topic("out", s(), l()).read_records_to_list().unwrap().iter().map(kvt).collect();
    // The aggregate's timestamp is the largest of its inputs.
    assert_eq!(out, vec![(Some("a".into()), Some(1), 10), (Some("a".into()), Some(2), 10), (Some("b".into()), Some(1), 7)]);
    assert_eq!(metrics.dropped_records(), 1);
    let store = d.get_timestamped_key_value_store("c").unwrap();
    assert_eq!(store.get(b"a").unwrap().unwrap().timestamp, 10);
}

#[test]
fn reduce_and_aggregate() {
    let b = StreamsBuilder::new();
    let grouped = b.stream::<String, i64>(&["in"], Consumed::default()).group_by_key(Grouped::default());
    grouped.reduce(|a, b| a.max(b).to_owned(), Materialized::default().with_caching_disabled()).to_stream().to("max", Produced::default());
    grouped
        .aggregate(String::new, |_, v, agg| format!("{agg}{v},"), Materialized::<String, String>::default().with_caching_disabled())
        .to_stream()
        .to("list", Produced::default());
    let text = b.build().unwrap().describe().to_string();
    assert!(text.contains("Processor: KSTREAM-REDUCE-0000000002 (stores: [KSTREAM-REDUCE-STATE-STORE-0000000001])"), "{text}");
    assert!(text.contains("Processor: KSTREAM-AGGREGATE-0000000006 (stores: [KSTREAM-AGGREGATE-STATE-STORE-0000000005])"), "{text}");
    let (d, _dir) = driver(b.build().unwrap());
    let input = d.create_input_topic("in", s(), l());
    for v in [3, 9, 4] {
        input.pipe_input("k".into(), v).unwrap();
    }
    assert_eq!(d.create_output_topic("max", s(), l()).read_values_to_list().unwrap(), vec![Some(3), Some(9), Some(9)]);
    assert_eq!(d.create_output_topic("list", s(), s()).read_values_to_list().unwrap().last().unwrap().as_deref(), Some("3,9,4,"));
}

#[test]
fn grouped_table_subtracts_the_old_row_and_adds_the_new() {
    // user -> region; count users per region.
    let b = StreamsBuilder::new();
    b.table::<String, String>("user-regions", Consumed::default(), Materialized::default())
        .group_by(|user, region| (region.clone(), user.clone()), Grouped::default())
        .count(Materialized::named("per-region").with_caching_disabled())
        .to_stream()
        .to("region-counts", Produced::default());
    let text = b.build().unwrap().describe().to_string();
    insta::assert_snapshot!("grouped_table_count", text);
    let (d, _dir) = driver(b.build().unwrap());
    let input = d.create_input_topic("user-regions", s(), s());
    let out = d.create_output_topic("region-counts", s(), l());
    input.pipe_input("alice".into(), "eu".into()).unwrap();
    input.pipe_input("bob".into(), "eu".into()).unwrap();
    input.pipe_input("alice".into(), "us".into()).unwrap();
    input.pipe_record(TestRecord { key: Some("bob".into()), value: None, timestamp: 0, headers: vec![] }).unwrap();
    let kv = out.read_key_values_to_list().unwrap();
    assert_eq!(
        kv,
        vec![
            (Some("eu".into()), Some(1)),
            (Some("eu".into()), Some(2)),
            (Some("eu".into()), Some(1)),
            (Some("us".into()), Some(1)),
            (Some("eu".into()), Some(0)),
        ]
    );
}

#[test]
fn grouped_table_reduce_and_aggregate() {
    let b = StreamsBuilder::new();
    let t = b.table::<String, i64>("balances", Consumed::default(), Materialized::default());
    let g = t.group_by(|_, v| ("total".to_owned(), *v), Grouped::default());
    g.reduce(|a, b| a + b, |a, b| a - b, Materialized::default().with_caching_disabled()).to_stream().to("sum", Produced::default());
    g.aggregate(|| 0i64, |_, v, a| a + v * 10, |_, v, a| a - v * 10, Materialized::default().with_caching_disabled())
        .to_stream()
        .to("sum10", Produced::default());
    let (d, _dir) = driver(b.build().unwrap());
    let input = d.create_input_topic("balances", s(), l());
    input.pipe_input("a".into(), 5).unwrap();
    input.pipe_input("b".into(), 7).unwrap();
    input.pipe_input("a".into(), 1).unwrap();
    let sums = d.create_output_topic("sum", s(), l()).read_values_to_list().unwrap();
    assert_eq!(sums.last().unwrap(), &Some(8));
    let sums10 = d.create_output_topic("sum10", s(), l()).read_values_to_list().unwrap();
    assert_eq!(sums10.last().unwrap(), &Some(80));
}

#[test]
fn cogroup_aggregates_several_streams() {
    let b = StreamsBuilder::new();
    let clicks = b.stream::<String, i64>(&["clicks"], Consumed::default()).group_by_key(Grouped::default());
    let views = b.stream::<String, i64>(&["views"], Consumed::default()).group_by_key(Grouped::default());
    clicks
        .cogroup(|_, v, agg: i64| agg + v)
        .cogroup(&views, |_, v, agg| agg + 100 * v)
        .aggregate(|| 0, Materialized::named("engagement"))
        .to_stream()
        .to("out", Produced::default());
    let text = b.build().unwrap().describe().to_string();
    assert!(text.contains("COGROUPKSTREAM-MERGE-"), "{text}");
    let (d, _dir) = driver(b.build().unwrap());
    d.create_input_topic("clicks", s(), l()).pipe_input("u".into(), 2).unwrap();
    d.create_input_topic("views", s(), l()).pipe_input("u".into(), 1).unwrap();
    let out = d.create_output_topic("out", Arc::new(StringSerde), Arc::new(I64Serde)).read_values_to_list().unwrap();
    assert_eq!(out, vec![Some(2), Some(102)]);
}

#[test]
fn windowed_cogroup_aggregates_per_window() {
    let b = StreamsBuilder::new();
    let clicks = b.stream::<String, i64>(&["clicks"], Consumed::default()).group_by_key(Grouped::default());
    let views = b.stream::<String, i64>(&["views"], Consumed::default()).group_by_key(Grouped::default());
    clicks
        .cogroup(|_, v, agg: i64| agg + v)
        .cogroup(&views, |_, v, agg| agg + 100 * v)
        .windowed_by(brook_streams_dsl::TimeWindows::of_size_with_no_grace(std::time::Duration::from_millis(10)))
        .aggregate(|| 0, Materialized::default())
        .to_stream()
        .map(|k, v| (format!("{}@{}", k.unwrap().key, k.unwrap().window.start), *v))
        .to("out", Produced::default());
    let (d, _dir) = driver(b.build().unwrap());
    let c = d.create_input_topic("clicks", s(), l());
    let v = d.create_input_topic("views", s(), l());
    c.pipe_input_with_timestamp("u".into(), 2, 1).unwrap();
    v.pipe_input_with_timestamp("u".into(), 1, 5).unwrap();
    c.pipe_input_with_timestamp("u".into(), 3, 12).unwrap();
    let out = d.create_output_topic("out", s(), l()).read_key_values_to_list().unwrap();
    assert_eq!(out, vec![(Some("u@0".into()), Some(2)), (Some("u@0".into()), Some(102)), (Some("u@10".into()), Some(3))]);
}
