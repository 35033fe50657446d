//! Windowed aggregations, grace periods, emit strategies and suppression.

use std::sync::Arc;
use std::time::Duration;

use brook_processor_api::TestOutputTopic;
use brook_state_store::{SessionWindowedSerde, StringSerde, TimeWindowedSerde, Windowed};
use brook_streams_dsl::{
    Consumed, EmitStrategy, Grouped, Materialized, Produced, SessionWindows, StreamsBuilder, Suppressed, TimeWindows,
};

use crate::common::{driver, l, s};

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

type Out = Vec<(String, i64, i64, Option<i64>, i64)>;

fn read(out: &TestOutputTopic<Windowed<String>, i64>) -> Out {
    out.read_records_to_list()
        .unwrap()
        .into_iter()
        .map(|r| {
            let k = r.key.unwrap();
            (k.key, k.window.start, k.window.end, r.value, r.timestamp)
        })
        .collect()
}

fn windowed_out(d: &brook_processor_api::TopologyTestDriver, topic: &str, size: i64) -> TestOutputTopic<Windowed<String>, i64> {
    d.create_output_topic(topic, Arc::new(TimeWindowedSerde::new(StringSerde, size)), l())
}

#[test]
fn tumbling_count_with_grace_drops_late_records() {
    let b = StreamsBuilder::new();
    let metrics = b.metrics();
    b.stream::<String, String>(&["clicks"], Consumed::default())
        .group_by_key(Grouped::default())
        .windowed_by(TimeWindows::of_size_and_grace(ms(10), ms(5)))
        .count(Materialized::default().with_caching_disabled())
        .to_stream()
        .to("counts", Produced::default());
    let (d, _dir) = driver(b.build().unwrap());
    let input = d.create_input_topic("clicks", s(), s());
    let out = windowed_out(&d, "counts", 10);
    input.pipe_input_with_timestamp("a".into(), "x".into(), 3).unwrap();
    input.pipe_input_with_timestamp("a".into(), "x".into(), 12).unwrap();
    // Out of order but within grace (window [0,10) closes at 10 + 5).
    input.pipe_input_with_timestamp("a".into(), "x".into(), 8).unwrap();
    input.pipe_input_with_timestamp("a".into(), "x".into(), 16).unwrap();
    // Window [0,10) is closed now (stream time 16 >= 10 + 5): dropped.
    input.pipe_input_with_timestamp("a".into(), "x".into(), 9).unwrap();
    assert_eq!(
        read(&out),
        vec![
            ("a".into(), 0, 10, Some(1), 3),
            ("a".into(), 10, 20, Some(1), 12),
            ("a".into(), 0, 10, Some(2), 8),
            ("a".into(), 10, 20, Some(2), 16),
        ]
    );
    assert_eq!(metrics.dropped_records(), 1);
}

#[test]
fn hopping_windows_update_every_overlapping_window() {
    let b = StreamsBuilder::new();
    b.stream::<String, String>(&["clicks"], Consumed::default())
        .group_by_key(Grouped::default())
        .windowed_by(TimeWindows::of_size_with_no_grace(ms(10)).advance_by(ms(5)))
        .count(Materialized::default().with_caching_disabled())
        .to_stream()
        .to("counts", Produced::default());
    let (d, _dir) = driver(b.build().unwrap());
    let input = d.create_input_topic("clicks", s(), s());
    input.pipe_input_with_timestamp("a".into(), "x".into(), 7).unwrap();
    let out = read(&windowed_out(&d, "counts", 10));
    assert_eq!(out, vec![("a".into(), 0, 10, Some(1), 7), ("a".into(), 5, 15, Some(1), 7)]);
}

#[test]
fn emit_on_window_close_emits_final_results_once() {
    let b = StreamsBuilder::new();
    b.stream::<String, String>(&["clicks"], Consumed::default())
        .group_by_key(Grouped::default())
        .windowed_by(TimeWindows::of_size_and_grace(ms(10), ms(2)))
        .emit_strategy(EmitStrategy::OnWindowClose)
        .count(Materialized::default())
        .to_stream()
        .to("counts", Produced::default());
    let (d, _dir) = driver(b.build().unwrap());
    let input = d.create_input_topic("clicks", s(), s());
    let out = windowed_out(&d, "counts", 10);
    for t in [1, 4, 9, 11] {
        input.pipe_input_with_timestamp("a".into(), "x".into(), t).unwrap();
    }
    assert!(out.is_empty(), "window [0,10) is open until 12");
    input.pipe_input_with_timestamp("b".into(), "x".into(), 12).unwrap();
    assert_eq!(read(&out), vec![("a".into(), 0, 10, Some(3), 9)]);
}

#[test]
fn suppress_until_window_closes() {
    let b = StreamsBuilder::new();
    b.stream::<String, String>(&["clicks"], Consumed::default())
        .group_by_key(Grouped::default())
        .windowed_by(TimeWindows::of_size_and_grace(ms(10), ms(0)))
        .count(Materialized::default().with_caching_disabled())
        .suppress(Suppressed::until_window_closes())
        .to_stream()
        .to("final", Produced::default());
    let text = b.build().unwrap().describe().to_string();
    assert!(text.contains("Processor: KTABLE-SUPPRESS-0000000003 (stores: [KTABLE-SUPPRESS-STATE-STORE-0000000004])"), "{text}");
    let (d, _dir) = driver(b.build().unwrap());
    let input = d.create_input_topic("clicks", s(), s());
    let out = windowed_out(&d, "final", 10);
    input.pipe_input_with_timestamp("a".into(), "x".into(), 1).unwrap();
    input.pipe_input_with_timestamp("a".into(), "x".into(), 2).unwrap();
    input.pipe_input_with_timestamp("b".into(), "x".into(), 5).unwrap();
    assert!(out.is_empty());
    let buffered = |d: &brook_processor_api::TopologyTestDriver| {
        d.get_key_value_store("KTABLE-SUPPRESS-STATE-STORE-0000000004").unwrap().approximate_num_entries().unwrap()
    };
    assert_eq!(buffered(&d), 2, "the buffer is written through to its store");
    input.pipe_input_with_timestamp("a".into(), "x".into(), 10).unwrap();
    assert_eq!(read(&out), vec![("a".into(), 0, 10, Some(2), 2), ("b".into(), 0, 10, Some(1), 5)]);
    assert_eq!(buffered(&d), 1, "emitted records leave the store; a@[10,20) is buffered");
}

#[test]
fn suppress_bounded_buffer_shuts_down_when_full() {
    let b = StreamsBuilder::new();
    b.stream::<String, String>(&["clicks"], Consumed::default())
        .group_by_key(Grouped::default())
        .windowed_by(TimeWindows::of_size_with_no_grace(ms(10)))
        .count(Materialized::default().with_caching_disabled())
        .suppress(Suppressed::until_window_closes().with_max_records(1))
        .to_stream()
        .to("final", Produced::default());
    let (d, _dir) = driver(b.build().unwrap());
    let input = d.create_input_topic("clicks", s(), s());
    input.pipe_input_with_timestamp("a".into(), "x".into(), 1).unwrap();
    let e = input.pipe_input_with_timestamp("b".into(), "x".into(), 2).unwrap_err();
    assert!(e.to_string().contains("buffer full"), "{e}");
}

#[test]
fn suppress_until_time_limit_emits_early_when_full() {
    let b = StreamsBuilder::new();
    b.table::<String, String>("t", Consumed::default(), Materialized::default())
        .suppress(Suppressed::until_time_limit(ms(100)).with_max_records(2).emit_early_when_full())
        .to_stream()
        .to("out", Produced::default());
    let (d, _dir) = driver(b.build().unwrap());
    let input = d.create_input_topic("t", s(), s());
    let out = d.create_output_topic("out", s(), s());
    input.pipe_input_with_timestamp("a".into(), "1".into(), 0).unwrap();
    input.pipe_input_with_timestamp("a".into(), "2".into(), 10).unwrap();
    input.pipe_input_with_timestamp("b".into(), "1".into(), 20).unwrap();
    assert!(out.is_empty());
    // A third key overflows the buffer: the oldest (a) is emitted early with its latest value.
    input.pipe_input_with_timestamp("c".into(), "1".into(), 30).unwrap();
    assert_eq!(out.read_key_values_to_list().unwrap(), vec![(Some("a".into()), Some("2".into()))]);
    // Time limit: b (buffered at 20) is due at 120.
    input.pipe_input_with_timestamp("d".into(), "1".into(), 120).unwrap();
    assert_eq!(out.read_key_values_to_list().unwrap(), vec![(Some("b".into()), Some("1".into()))]);
}

#[test]
fn session_windows_merge_and_retract() {
    let b = StreamsBuilder::new();
    let metrics = b.metrics();
    b.stream::<String, String>(&["clicks"], Consumed::default())
        .group_by_key(Grouped::default())
        .windowed_by_session(SessionWindows::of_inactivity_gap_and_grace(ms(10), ms(25)))
        .count(Materialized::default())
        .to_stream()
        .to("sessions", Produced::default());
    let (d, _dir) = driver(b.build().unwrap());
    let input = d.create_input_topic("clicks", s(), s());
    let out = d.create_output_topic("sessions", Arc::new(SessionWindowedSerde(StringSerde)), l());
    input.pipe_input_with_timestamp("a".into(), "x".into(), 0).unwrap();
    input.pipe_input_with_timestamp("a".into(), "x".into(), 30).unwrap();
    // 25 is within the gap of 30: the session becomes [25,30].
    input.pipe_input_with_timestamp("a".into(), "x".into(), 25).unwrap();
    // 8 merges into [0,0] -> [0,8].
    input.pipe_input_with_timestamp("a".into(), "x".into(), 8).unwrap();
    let got = read(&out);
    assert_eq!(
        got,
        vec![
            ("a".into(), 0, 0, Some(1), 0),
            ("a".into(), 30, 30, Some(1), 30),
            ("a".into(), 30, 30, None, 30),
            ("a".into(), 25, 30, Some(2), 30),
            ("a".into(), 0, 0, None, 0),
            ("a".into(), 0, 8, Some(2), 8),
        ]
    );
    // A record whose session would end before stream time - grace is dropped.
    input.pipe_input_with_timestamp("z".into(), "x".into(), 1).unwrap();
    assert_eq!(metrics.dropped_records(), 1);
}

#[test]
fn sliding_windows_end_at_each_record_and_start_after_it() {
    let b = StreamsBuilder::new();
    b.stream::<String, String>(&["clicks"], Consumed::default())
        .group_by_key(Grouped::default())
        .windowed_by_sliding(brook_streams_dsl::SlidingWindows::of_time_difference_and_grace(ms(10), ms(100)))
        .count(Materialized::default())
        .to_stream()
        .to("counts", Produced::default());
    let (d, _dir) = driver(b.build().unwrap());
    let input = d.create_input_topic("clicks", s(), s());
    for t in [5, 12, 30] {
        input.pipe_input_with_timestamp("a".into(), "x".into(), t).unwrap();
    }
    assert_eq!(
        read(&windowed_out(&d, "counts", 10)),
        vec![
            ("a".into(), 0, 10, Some(1), 5),
            ("a".into(), 2, 12, Some(2), 12),
            ("a".into(), 6, 16, Some(1), 12),
            ("a".into(), 20, 30, Some(1), 30),
        ]
    );
}

#[test]
fn sessions_emit_once_on_window_close() {
    let b = StreamsBuilder::new();
    b.stream::<String, String>(&["clicks"], Consumed::default())
        .group_by_key(Grouped::default())
        .windowed_by_session(SessionWindows::of_inactivity_gap_and_grace(ms(10), ms(5)))
        .emit_strategy(EmitStrategy::OnWindowClose)
        .count(Materialized::default())
        .to_stream()
        .to("sessions", Produced::default());
    let (d, _dir) = driver(b.build().unwrap());
    let input = d.create_input_topic("clicks", s(), s());
    let out = d.create_output_topic("sessions", Arc::new(SessionWindowedSerde(StringSerde)), l());
    for t in [0, 4, 9] {
        input.pipe_input_with_timestamp("a".into(), "x".into(), t).unwrap();
    }
    // Session [0,9] closes once stream time - grace passes its end.
    input.pipe_input_with_timestamp("b".into(), "x".into(), 14).unwrap();
    assert!(out.is_empty());
    input.pipe_input_with_timestamp("b".into(), "x".into(), 40).unwrap();
    assert_eq!(read(&out), vec![("a".into(), 0, 9, Some(3), 9), ("b".into(), 14, 14, Some(1), 14)]);
}
