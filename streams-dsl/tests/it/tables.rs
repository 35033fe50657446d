//! Table operations: source tables, filter, map_values, to_stream, to_table.

use brook_processor_api::TestRecord;
use brook_streams_dsl::{Consumed, Materialized, Named, Produced, StreamsBuilder};

use crate::common::{driver, kvt, s, some};

/// Pipes yes/no/nope/never through a table filter keeping values that start with 'y'.
fn filtered(old_values: bool) -> Vec<(Option<String>, Option<String>, i64)> {
    let b = StreamsBuilder::new();
    let t = b.table::<String, String>("t", Consumed::default(), Materialized::named("t-store").with_caching_disabled());
    let keep = |_: &String, v: &String| v.starts_with('y');
    let f = if old_values { t.filter_named_with_old_values(keep, Named::as_("having")) } else { t.filter(keep) };
    f.to_stream().to("out", Produced::default());
    let (d, _dir) = driver(b.build().unwrap());
    let input = d.create_input_topic("t", s(), s());
    let out = d.create_output_topic("out", s(), s());
    input.pipe_input_with_timestamp("k".into(), "yes".into(), 1).unwrap();
    input.pipe_input_with_timestamp("k".into(), "no".into(), 2).unwrap();
    input.pipe_input_with_timestamp("k".into(), "nope".into(), 3).unwrap();
    input.pipe_input_with_timestamp("j".into(), "never".into(), 4).unwrap();
    out.read_records_to_list().unwrap().iter().map(kvt).collect()
}

#[test]
fn table_filter_emits_tombstones_for_rows_that_stop_matching() {
    // "nope" replaces a row that already did not match: nothing. "never" has no old row to
    // compare with downstream of an unmaterialized filter, so Kafka forwards a tombstone.
    assert_eq!(filtered(false), vec![some("k", "yes", 1), (Some("k".into()), None, 2), (Some("j".into()), None, 4)]);
}

#[test]
fn filter_with_old_values_forwards_nothing_for_a_key_that_never_matched() {
    // With the parent's old values (an aggregation's), "never" is not forwarded either.
    assert_eq!(filtered(true), vec![some("k", "yes", 1), (Some("k".into()), None, 2)]);
}

#[test]
fn table_map_values_and_deletes() {
    let b = StreamsBuilder::new();
    b.table::<String, String>("t", Consumed::default(), Materialized::default()).map_values(|v| v.len().to_string()).to_stream().to("out", Produced::default());
    let (d, _dir) = driver(b.build().unwrap());
    let input = d.create_input_topic("t", s(), s());
    input.pipe_input("k".into(), "abc".into()).unwrap();
    input.pipe_record(TestRecord { key: Some("k".into()), value: None, timestamp: 0, headers: vec![] }).unwrap();
    input.pipe_value("null key is dropped".into()).unwrap();
    let got = d.create_output_topic("out", s(), s()).read_key_values_to_list().unwrap();
    assert_eq!(got, vec![(Some("k".into()), Some("3".into())), (Some("k".into()), None)]);
}

#[test]
fn named_table_is_materialized_and_queryable() {
    let b = StreamsBuilder::new();
    b.table::<String, String>("t", Consumed::default().with_name("users"), Materialized::named("users-store"));
    let text = b.build().unwrap().describe().to_string();
    assert!(text.contains("Source: users (topics: [t])"), "{text}");
    assert!(text.contains("Processor: users-table-source (stores: [users-store])"), "{text}");
    let (d, _dir) = driver(b.build().unwrap());
    d.create_input_topic("t", s(), s()).pipe_input("k".into(), "v".into()).unwrap();
    let store = d.get_timestamped_key_value_store("users-store").unwrap();
    assert_eq!(store.get(b"k").unwrap().unwrap().value.as_ref(), b"v");
}

#[test]
fn stream_to_table_upserts() {
    let b = StreamsBuilder::new();
    b.stream::<String, String>(&["s"], Consumed::default())
        .to_table(Named::default(), Materialized::named("latest").with_caching_disabled())
        .to_stream()
        .to("out", Produced::default());
    let (d, _dir) = driver(b.build().unwrap());
    let input = d.create_input_topic("s", s(), s());
    input.pipe_input("k".into(), "1".into()).unwrap();
    input.pipe_input("k".into(), "2".into()).unwrap();
    assert_eq!(
        d.create_output_topic("out", s(), s()).read_values_to_list().unwrap(),
        vec![Some("1".into()), Some("2".into())]
    );
}

#[test]
fn materialized_filter_knows_absent_rows_and_serves_lookups() {
    let b = StreamsBuilder::new();
    let filtered = b
        .table::<String, String>("t", Consumed::default(), Materialized::default())
        .filter_materialized(|_, v| v.starts_with('y'), Materialized::named("yes-rows").with_caching_disabled());
    filtered.to_stream().to("out", Produced::default());
    b.stream::<String, String>(&["lookups"], Consumed::default())
        .left_join_table(&filtered, |_, v| v.cloned().unwrap_or_else(|| "-".into()), brook_streams_dsl::Joined::default())
        .to("looked-up", Produced::default());
    let text = b.build().unwrap().describe().to_string();
    assert!(text.contains("Processor: KTABLE-FILTER-0000000003 (stores: [yes-rows])"), "{text}");
    let (d, _dir) = driver(b.build().unwrap());
    let input = d.create_input_topic("t", s(), s());
    input.pipe_input_with_timestamp("k".into(), "yes".into(), 1).unwrap();
    input.pipe_input_with_timestamp("k".into(), "no".into(), 2).unwrap();
    input.pipe_input_with_timestamp("j".into(), "never".into(), 3).unwrap();
    input.pipe_input_with_timestamp("m".into(), "yay".into(), 4).unwrap();
    let got: Vec<_> = d.create_output_topic("out", s(), s()).read_records_to_list().unwrap().iter().map(kvt).collect();
    assert_eq!(got, vec![some("k", "yes", 1), (Some("k".into()), None, 2), some("m", "yay", 4)]);
    let l = d.create_input_topic("lookups", s(), s());
    l.pipe_input("k".into(), "?".into()).unwrap();
    l.pipe_input("m".into(), "?".into()).unwrap();
    assert_eq!(
        d.create_output_topic("looked-up", s(), s()).read_values_to_list().unwrap(),
        vec![Some("-".to_owned()), Some("yay".to_owned())]
    );
}
