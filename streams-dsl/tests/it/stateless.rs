//! Stateless stream operations.

use std::sync::{Arc, Mutex};

use brook_processor_api::{Processor, ProcessorContext, Record, Result as PResult, TestRecord};
use brook_streams_dsl::{Branched, Consumed, Named, Printed, Produced, Repartitioned, StreamsBuilder};

use crate::common::{driver, kvt, s, some};

#[test]
fn filter_map_and_flat_map_values() {
    let b = StreamsBuilder::new();
    let src = b.stream::<String, String>(&["in"], Consumed::default());
    src.filter(|_, v| v.len() > 2).map_values(|v| v.to_uppercase()).to("long", Produced::default());
    src.filter_not(|_, v| v.len() > 2).to("short", Produced::default());
    src.flat_map_values(|v| v.chars().map(String::from).collect::<Vec<_>>()).to("chars", Produced::default());
    src.map(|k, v| (v.clone(), k.cloned().unwrap_or_default())).to("swapped", Produced::default());
    src.flat_map(|k, v| vec![(format!("{}1", k.unwrap()), v.clone()), (format!("{}2", k.unwrap()), v.clone())]).to("twice", Produced::default());
    let (d, _dir) = driver(b.build().unwrap());
    let input = d.create_input_topic("in", s(), s());
    input.pipe_input_with_timestamp("a".into(), "hello".into(), 5).unwrap();
    input.pipe_input_with_timestamp("b".into(), "hi".into(), 6).unwrap();
    let out = |t: &str| d.create_output_topic(t, s(), s()).read_records_to_list().unwrap().iter().map(kvt).collect::<Vec<_>>();
    assert_eq!(out("long"), vec![some("a", "HELLO", 5)]);
    assert_eq!(out("short"), vec![some("b", "hi", 6)]);
    assert_eq!(out("chars").len(), 7);
    assert_eq!(out("swapped"), vec![some("hello", "a", 5), some("hi", "b", 6)]);
    assert_eq!(out("twice"), vec![some("a1", "hello", 5), some("a2", "hello", 5), some("b1", "hi", 6), some("b2", "hi", 6)]);
}

#[test]
fn tombstones_pass_value_operations() {
    let b = StreamsBuilder::new();
    b.stream::<String, String>(&["in"], Consumed::default()).map_values(|v| v.len().to_string()).to("out", Produced::default());
    let (d, _dir) = driver(b.build().unwrap());
    let input = d.create_input_topic("in", s(), s());
    input.pipe_record(TestRecord { key: Some("k".into()), value: None, timestamp: 1, headers: vec![] }).unwrap();
    let r = d.create_output_topic("out", s(), s()).read_record().unwrap();
    assert_eq!(kvt(&r), (Some("k".to_owned()), None, 1));
}

#[test]
fn peek_foreach_and_print() {
    let b = StreamsBuilder::new();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let lines = Arc::new(Mutex::new(Vec::new()));
    let (s1, s2) = (seen.clone(), seen.clone());
    let src = b.stream::<String, String>(&["in"], Consumed::default());
    src.peek(move |k, v| s1.lock().unwrap().push(format!("peek {k:?} {v:?}"))).foreach(move |_, v| s2.lock().unwrap().push(format!("each {}", v.unwrap())));
    src.print(Printed::to_lines(lines.clone()).with_label("words"));
    src.print(Printed::to_lines(lines.clone()));
    let (d, _dir) = driver(b.build().unwrap());
    let input = d.create_input_topic("in", s(), s());
    input.pipe_input("k".into(), "v".into()).unwrap();
    input.pipe_value("nokey".into()).unwrap();
    assert_eq!(seen.lock().unwrap().clone(), vec![
        "peek Some(\"k\") Some(\"v\")".to_owned(),
        "each v".to_owned(),
        "peek None Some(\"nokey\")".to_owned(),
        "each nokey".to_owned()
    ]);
    assert_eq!(lines.lock().unwrap().clone(), vec![
        "[words]: k, v".to_owned(),
        "[KSTREAM-SOURCE-0000000000]: k, v".to_owned(),
        "[words]: null, nokey".to_owned(),
        "[KSTREAM-SOURCE-0000000000]: null, nokey".to_owned()
    ]);
}

#[test]
fn split_first_match_wins_and_default_branch() {
    let b = StreamsBuilder::new();
    let branches = b
        .stream::<String, String>(&["in"], Consumed::default())
        .split(Named::as_("split-"))
        .branch(|_, v| v.starts_with('a'), Branched::as_("a"))
        .branch(|_, v| v.len() > 3, Branched::as_("long"))
        .default_branch(Branched::as_("other"));
    assert_eq!(branches.keys().cloned().collect::<Vec<_>>(), vec!["split-a", "split-long", "split-other"]);
    for (name, topic) in [("split-a", "a"), ("split-long", "long"), ("split-other", "other")] {
        branches[name].to(topic, Produced::default());
    }
    let (d, _dir) = driver(b.build().unwrap());
    let input = d.create_input_topic("in", s(), s());
    for v in ["apple", "banana", "kiwi", "fig", "avocado"] {
        input.pipe_input("k".into(), v.into()).unwrap();
    }
    let vals = |t: &str| d.create_output_topic(t, s(), s()).read_values_to_list().unwrap().into_iter().map(Option::unwrap).collect::<Vec<_>>();
    assert_eq!(vals("a"), vec!["apple", "avocado"]);
    assert_eq!(vals("long"), vec!["banana", "kiwi"]);
    assert_eq!(vals("other"), vec!["fig"]);
}

#[test]
fn unnamed_split_follows_kafka_naming() {
    let b = StreamsBuilder::new();
    let branches = b
        .stream::<String, String>(&["in"], Consumed::default())
        .split(Named::default())
        .branch(|_, v| v.is_empty(), Branched::default())
        .default_branch(Branched::default());
    assert_eq!(branches.keys().cloned().collect::<Vec<_>>(), vec!["KSTREAM-BRANCH-00000000010", "KSTREAM-BRANCH-00000000011"]);
}

#[test]
fn merge_and_topic_extractor() {
    let b = StreamsBuilder::new();
    let a = b.stream::<String, String>(&["a"], Consumed::default());
    let c = b.stream::<String, String>(&["c"], Consumed::default());
    a.merge(&c).to_extractor(Arc::new(|k: Option<&String>, _: Option<&String>| format!("out-{}", k.unwrap())), "ByKey", Produced::default());
    let text = b.build().unwrap().describe().to_string();
    assert!(text.contains("Processor: KSTREAM-MERGE-0000000002 (stores: [])"), "{text}");
    assert!(text.contains("Sink: KSTREAM-SINK-0000000003 (extractor class: ByKey)"), "{text}");
    let (d, _dir) = driver(b.build().unwrap());
    d.create_input_topic("a", s(), s()).pipe_input("x".into(), "1".into()).unwrap();
    d.create_input_topic("c", s(), s()).pipe_input("y".into(), "2".into()).unwrap();
    assert_eq!(d.create_output_topic("out-x", s(), s()).read_value().unwrap().as_deref(), Some("1"));
    assert_eq!(d.create_output_topic("out-y", s(), s()).read_value().unwrap().as_deref(), Some("2"));
}

#[test]
fn repartition_goes_through_an_internal_topic() {
    let b = StreamsBuilder::new();
    b.stream::<String, String>(&["in"], Consumed::default())
        .select_key(|_, v| v.clone())
        .repartition(Repartitioned::default().with_name("by-value"))
        .to("out", Produced::default());
    let (d, _dir) = driver(b.build().unwrap());
    d.create_input_topic("in", s(), s()).pipe_input("k".into(), "v".into()).unwrap();
    assert!(d.produced_topic_names().contains("dsl-test-by-value-repartition"), "{:?}", d.produced_topic_names());
    assert_eq!(kvt(&d.create_output_topic("out", s(), s()).read_record().unwrap()), some("v", "v", 0));
}

struct Upper;
impl Processor<Option<String>, Option<String>, Option<String>, Option<String>> for Upper {
    fn process(&mut self, ctx: &mut ProcessorContext<'_, Option<String>, Option<String>>, r: Record<Option<String>, Option<String>>) -> PResult<()> {
        let store = ctx.get_key_value_store("seen")?;
        let n = store.approximate_num_entries()?;
        store.put(bytes::Bytes::from(r.value().clone().unwrap_or_default()), Some(bytes::Bytes::new()))?;
        let v = r.value().as_ref().map(|v| format!("{}#{n}", v.to_uppercase()));
        ctx.forward(r.with_value(v))
    }
}

#[test]
fn process_with_a_store() {
    let b = StreamsBuilder::new();
    b.add_state_store(brook_state_store::Stores::in_memory_key_value_store("seen"));
    b.stream::<String, String>(&["in"], Consumed::default()).process_values::<String, _>(|| Upper, &["seen"]).to("out", Produced::default());
    let (d, _dir) = driver(b.build().unwrap());
    let input = d.create_input_topic("in", s(), s());
    input.pipe_input("k".into(), "a".into()).unwrap();
    input.pipe_input("k".into(), "b".into()).unwrap();
    let vals = d.create_output_topic("out", s(), s()).read_values_to_list().unwrap();
    assert_eq!(vals, vec![Some("A#0".to_owned()), Some("B#1".to_owned())]);
}

#[test]
fn missing_serde_is_a_build_error() {
    #[derive(Clone)]
    struct Custom;
    let b = StreamsBuilder::new();
    b.stream::<String, String>(&["in"], Consumed::default()).map_values(|_| Custom).to("out", Produced::default());
    let e = b.build().unwrap_err();
    assert!(matches!(&e, brook_streams_dsl::Error::MissingSerde { what: "value", type_name } if type_name.ends_with("Custom")), "{e}");
}

#[test]
fn pattern_source_reads_every_matching_topic() {
    let b = StreamsBuilder::new();
    b.stream_pattern::<String, String>("events-.*", Consumed::default()).map_values(|v| format!("seen {v}")).to("out", Produced::default());
    let text = b.build().unwrap().describe().to_string();
    assert!(text.contains("Source: KSTREAM-SOURCE-0000000000 (topics: events-.*)"), "{text}");
    let (d, _dir) = driver(b.build().unwrap());
    d.create_input_topic("events-a", s(), s()).pipe_input("k".into(), "1".into()).unwrap();
    d.create_input_topic("events-b", s(), s()).pipe_input("k".into(), "2".into()).unwrap();
    assert_eq!(
        d.create_output_topic("out", s(), s()).read_values_to_list().unwrap(),
        vec![Some("seen 1".to_owned()), Some("seen 2".to_owned())]
    );
}

#[test]
fn registered_default_serde_is_used_for_custom_types() {
    let b = StreamsBuilder::new().with_default_serde::<Vec<String>>(Arc::new(brook_state_store::JsonSerde::<Vec<String>>::new()));
    b.stream::<String, String>(&["in"], Consumed::default()).map_values(|v| vec![v.clone(), v.clone()]).to("out", Produced::default());
    let (d, _dir) = driver(b.build().unwrap());
    d.create_input_topic("in", s(), s()).pipe_input("k".into(), "x".into()).unwrap();
    assert_eq!(d.create_output_topic("out", s(), s()).read_value().unwrap().as_deref(), Some("[\"x\",\"x\"]"));
}

#[test]
fn consumed_sets_timestamp_extractor_and_offset_reset() {
    let b = StreamsBuilder::new();
    let extractor = |r: &brook_processor_api::ConsumerRecord, _: i64| -> i64 {
        // The value is the event time.
        r.value.as_ref().and_then(|v| std::str::from_utf8(v).ok()?.parse().ok()).unwrap_or(-1)
    };
    b.stream::<String, String>(
        &["in"],
        Consumed::default()
            .with_timestamp_extractor(Arc::new(extractor))
            .with_offset_reset_policy(brook_processor_api::OffsetReset::Earliest)
            .with_name("events"),
    )
    .to("out", Produced::default());
    let topology = b.build().unwrap();
    assert_eq!(topology.offset_resets().get("in"), Some(&brook_processor_api::OffsetReset::Earliest));
    assert!(topology.describe().to_string().contains("Source: events (topics: [in])"));
    let (d, _dir) = driver(topology);
    d.create_input_topic("in", s(), s()).pipe_input_with_timestamp("k".into(), "42".into(), 7).unwrap();
    assert_eq!(d.create_output_topic("out", s(), s()).read_record().unwrap().timestamp, 42);
}

#[test]
fn produced_serdes_override_the_streams_serdes() {
    let b = StreamsBuilder::new();
    b.stream::<String, i64>(&["in"], Consumed::default())
        .map_values(|v| v * 2)
        .to("out", Produced::with(Arc::new(brook_state_store::StringSerde), Arc::new(brook_state_store::I64Serde)).with_name("doubled-sink"));
    let text = b.build().unwrap().describe().to_string();
    assert!(text.contains("Sink: doubled-sink (topic: out)"), "{text}");
    let (d, _dir) = driver(b.build().unwrap());
    d.create_input_topic("in", s(), crate::common::l()).pipe_input("k".into(), 21).unwrap();
    assert_eq!(d.create_output_topic("out", s(), crate::common::l()).read_value().unwrap(), Some(42));
}

#[test]
fn select_key_with_nulls_sees_records_without_a_value() {
    let b = StreamsBuilder::new();
    let src = b.stream::<String, String>(&["in"], Consumed::default());
    src.select_key_with_nulls(|k, v| match v {
        Some(v) => v.clone(),
        None => format!("{}-gone", k.cloned().unwrap_or_default()),
    })
    .to("rekeyed", Produced::default());
    // `select_key` drops a record without a value; Kafka calls the selector with it.
    src.select_key(|_, v| v.clone()).to("dropped", Produced::default());
    let (d, _dir) = driver(b.build().unwrap());
    let input = d.create_input_topic("in", s(), s());
    input.pipe_record(TestRecord { key: Some("a".into()), value: None, timestamp: 3, headers: vec![] }).unwrap();
    input.pipe_input_with_timestamp("b".into(), "v".into(), 4).unwrap();
    let rekeyed = d.create_output_topic("rekeyed", s(), s()).read_records_to_list().unwrap();
    let got: Vec<(Option<String>, Option<String>, i64)> = rekeyed.into_iter().map(|r| (r.key, r.value, r.timestamp)).collect();
    assert_eq!(got, vec![(Some("a-gone".into()), None, 3), (Some("v".into()), Some("v".into()), 4)]);
    assert_eq!(d.create_output_topic("dropped", s(), s()).read_records_to_list().unwrap().len(), 1);
}
