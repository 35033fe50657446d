//! Stream-stream, stream-table, stream-global-table and table-table joins.

use std::time::Duration;

use brook_processor_api::TestRecord;
use brook_streams_dsl::{Consumed, JoinWindows, Joined, Materialized, Produced, StreamJoined, StreamsBuilder};

use crate::common::{driver, kvt, s, some};

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

#[test]
fn stream_table_inner_and_left_join() {
    let b = StreamsBuilder::new();
    let users = b.table::<String, String>("users", Consumed::default(), Materialized::default());
    let views = b.stream::<String, String>(&["views"], Consumed::default());
    views.join_table(&users, |page, region| format!("{page}@{region}"), Joined::default()).to("inner", Produced::default());
    views.left_join_table(&users, |page, region| format!("{page}@{}", region.map_or("?", String::as_str)), Joined::default()).to("left", Produced::default());
    let text = b.build().unwrap().describe().to_string();
    assert!(text.contains("Processor: KTABLE-SOURCE-0000000002 (stores: [users-STATE-STORE-0000000000])"), "{text}");
    assert!(text.contains("Processor: KSTREAM-JOIN-0000000004 (stores: [users-STATE-STORE-0000000000])"), "{text}");
    assert!(text.contains("Processor: KSTREAM-LEFTJOIN-0000000006 (stores: [users-STATE-STORE-0000000000])"), "{text}");
    let (d, _dir) = driver(b.build().unwrap());
    let u = d.create_input_topic("users", s(), s());
    let v = d.create_input_topic("views", s(), s());
    v.pipe_input_with_timestamp("alice".into(), "home".into(), 1).unwrap();
    u.pipe_input_with_timestamp("alice".into(), "eu".into(), 2).unwrap();
    v.pipe_input_with_timestamp("alice".into(), "cart".into(), 3).unwrap();
    let inner: Vec<_> = d.create_output_topic("inner", s(), s()).read_records_to_list().unwrap().iter().map(kvt).collect();
    assert_eq!(inner, vec![some("alice", "cart@eu", 3)]);
    let left: Vec<_> = d.create_output_topic("left", s(), s()).read_records_to_list().unwrap().iter().map(kvt).collect();
    assert_eq!(left, vec![some("alice", "home@?", 1), some("alice", "cart@eu", 3)]);
}

#[test]
fn stream_global_table_join_through_a_key_mapper() {
    let b = StreamsBuilder::new();
    let products = b.global_table::<String, String>("products", Consumed::default(), Materialized::default());
    let orders = b.stream::<String, String>(&["orders"], Consumed::default());
    orders.join_global(&products, |_, product_id| product_id.clone(), |pid, name| format!("{pid}={name}")).to("inner", Produced::default());
    orders.left_join_global(&products, |_, pid| pid.clone(), |pid, name| format!("{pid}={name:?}")).to("left", Produced::default());
    let (d, _dir) = driver(b.build().unwrap());
    d.create_input_topic("products", s(), s()).pipe_input("p1".into(), "book".into()).unwrap();
    let o = d.create_input_topic("orders", s(), s());
    o.pipe_input("o1".into(), "p1".into()).unwrap();
    o.pipe_input("o2".into(), "p2".into()).unwrap();
    assert_eq!(d.create_output_topic("inner", s(), s()).read_key_values_to_list().unwrap(), vec![(Some("o1".into()), Some("p1=book".into()))]);
    assert_eq!(
        d.create_output_topic("left", s(), s()).read_values_to_list().unwrap(),
        vec![Some("p1=Some(\"book\")".into()), Some("p2=None".into())]
    );
}

fn stream_join(kind: &str) -> (brook_processor_api::TopologyTestDriver, tempfile::TempDir) {
    let b = StreamsBuilder::new();
    let left = b.stream::<String, String>(&["left"], Consumed::default());
    let right = b.stream::<String, String>(&["right"], Consumed::default());
    let w = JoinWindows::of_time_difference_and_grace(ms(10), ms(5));
    let out = match kind {
        "inner" => left.join(&right, |a, b| format!("{a}+{b}"), w, StreamJoined::default()),
        "left" => left.left_join(&right, |a, b| format!("{a}+{}", b.map_or("null", String::as_str)), w, StreamJoined::default()),
        _ => left.outer_join(
            &right,
            |a, b| format!("{}+{}", a.map_or("null", String::as_str), b.map_or("null", String::as_str)),
            w,
            StreamJoined::default(),
        ),
    };
    out.to("out", Produced::default());
    driver(b.build().unwrap())
}

#[test]
fn stream_stream_inner_join_within_the_window() {
    let (d, _dir) = stream_join("inner");
    let (l, r) = (d.create_input_topic("left", s(), s()), d.create_input_topic("right", s(), s()));
    l.pipe_input_with_timestamp("k".into(), "a".into(), 100).unwrap();
    r.pipe_input_with_timestamp("k".into(), "b".into(), 105).unwrap();
    r.pipe_input_with_timestamp("k".into(), "c".into(), 111).unwrap();
    l.pipe_input_with_timestamp("k".into(), "d".into(), 120).unwrap();
    let out: Vec<_> = d.create_output_topic("out", s(), s()).read_records_to_list().unwrap().iter().map(kvt).collect();
    assert_eq!(out, vec![some("k", "a+b", 105), some("k", "d+c", 120)]);
}

#[test]
fn stream_stream_left_join_emits_non_matches_only_after_the_window_closes() {
    let (d, _dir) = stream_join("left");
    let (l, r) = (d.create_input_topic("left", s(), s()), d.create_input_topic("right", s(), s()));
    let out = d.create_output_topic("out", s(), s());
    l.pipe_input_with_timestamp("k".into(), "a".into(), 100).unwrap();
    l.pipe_input_with_timestamp("j".into(), "x".into(), 101).unwrap();
    assert!(out.is_empty(), "no spurious left result while the window is open");
    r.pipe_input_with_timestamp("k".into(), "b".into(), 108).unwrap();
    assert_eq!(kvt(&out.read_record().unwrap()), some("k", "a+b", 108));
    // Stream time 116 closes the window of j@101 (101 + 10 + 5 < 116 is false at 116; 117 is).
    l.pipe_input_with_timestamp("z".into(), "late".into(), 117).unwrap();
    assert_eq!(out.read_records_to_list().unwrap().iter().map(kvt).collect::<Vec<_>>(), vec![some("j", "x+null", 101)]);
    // Out of order, its window's end (103 + 10) already passed: joined with null at once.
    l.pipe_input_with_timestamp("q".into(), "ooo".into(), 103).unwrap();
    assert_eq!(kvt(&out.read_record().unwrap()), some("q", "ooo+null", 103));
    // A null key on the outer side joins null at once, too.
    l.pipe_record(TestRecord { key: None, value: Some("nokey".into()), timestamp: 118, headers: vec![] }).unwrap();
    assert_eq!(kvt(&out.read_record().unwrap()), (None, Some("nokey+null".into()), 118));
}

#[test]
fn stream_stream_outer_join_emits_both_sides() {
    let (d, _dir) = stream_join("outer");
    let (l, r) = (d.create_input_topic("left", s(), s()), d.create_input_topic("right", s(), s()));
    let out = d.create_output_topic("out", s(), s());
    l.pipe_input_with_timestamp("a".into(), "l".into(), 0).unwrap();
    r.pipe_input_with_timestamp("b".into(), "r".into(), 1).unwrap();
    assert!(out.is_empty());
    r.pipe_input_with_timestamp("c".into(), "r".into(), 100).unwrap();
    let got: Vec<_> = out.read_records_to_list().unwrap().iter().map(kvt).collect();
    assert_eq!(got, vec![some("a", "l+null", 0), some("b", "null+r", 1)]);
}

#[test]
fn table_table_joins_on_the_key() {
    let b = StreamsBuilder::new();
    let left = b.table::<String, String>("lt", Consumed::default(), Materialized::default());
    let right = b.table::<String, String>("rt", Consumed::default(), Materialized::default());
    left.join(&right, |a, b| format!("{a}+{b}")).to_stream().to("inner", Produced::default());
    left.left_join(&right, |a, b| format!("{a}+{b:?}")).to_stream().to("left", Produced::default());
    left.outer_join(&right, |a, b| format!("{a:?}+{b:?}")).to_stream().to("outer", Produced::default());
    let (d, _dir) = driver(b.build().unwrap());
    let (l, r) = (d.create_input_topic("lt", s(), s()), d.create_input_topic("rt", s(), s()));
    l.pipe_input_with_timestamp("k".into(), "a".into(), 1).unwrap();
    r.pipe_input_with_timestamp("k".into(), "b".into(), 2).unwrap();
    l.pipe_record(TestRecord { key: Some("k".into()), value: None, timestamp: 3, headers: vec![] }).unwrap();
    let read = |t: &str| d.create_output_topic(t, s(), s()).read_records_to_list().unwrap().iter().map(kvt).collect::<Vec<_>>();
    assert_eq!(read("inner"), vec![some("k", "a+b", 2), (Some("k".into()), None, 3)]);
    assert_eq!(read("left"), vec![some("k", "a+None", 1), some("k", "a+Some(\"b\")", 2), (Some("k".into()), None, 3)]);
    assert_eq!(
        read("outer"),
        vec![some("k", "Some(\"a\")+None", 1), some("k", "Some(\"a\")+Some(\"b\")", 2), some("k", "None+Some(\"b\")", 3)]
    );
}

#[test]
fn foreign_key_join_follows_both_sides() {
    let b = StreamsBuilder::new();
    // orders: order -> "customer:item"; customers: customer -> name.
    let orders = b.table::<String, String>("orders", Consumed::default(), Materialized::default());
    let customers = b.table::<String, String>("customers", Consumed::default(), Materialized::default());
    orders
        .join_foreign_key(&customers, |v| v.split(':').next().unwrap().to_owned(), |o, c| format!("{o} for {c}"))
        .to_stream()
        .to("inner", Produced::default());
    orders
        .left_join_foreign_key(&customers, |v| v.split(':').next().unwrap().to_owned(), |o, c| format!("{o} for {c:?}"))
        .to_stream()
        .to("left", Produced::default());
    let (d, _dir) = driver(b.build().unwrap());
    let (o, c) = (d.create_input_topic("orders", s(), s()), d.create_input_topic("customers", s(), s()));
    o.pipe_input("o1".into(), "c1:book".into()).unwrap();
    c.pipe_input("c1".into(), "Ann".into()).unwrap();
    c.pipe_input("c1".into(), "Anna".into()).unwrap();
    o.pipe_input("o1".into(), "c2:pen".into()).unwrap();
    let read = |t: &str| d.create_output_topic(t, s(), s()).read_key_values_to_list().unwrap();
    let k = || Some("o1".to_owned());
    assert_eq!(
        read("inner"),
        vec![(k(), None), (k(), Some("c1:book for Ann".into())), (k(), Some("c1:book for Anna".into())), (k(), None)]
    );
    assert_eq!(
        read("left"),
        vec![
            (k(), Some("c1:book for None".into())),
            (k(), Some("c1:book for Some(\"Ann\")".into())),
            (k(), Some("c1:book for Some(\"Anna\")".into())),
            (k(), Some("c2:pen for None".into())),
        ]
    );
}

/// A key-changing operation before a join repartitions that side, named after its node,
/// and the join still matches.
#[test]
fn join_after_select_key_repartitions_first() {
    let b = StreamsBuilder::new();
    let left = b.stream::<String, String>(&["left"], Consumed::default()).select_key(|_, v| v.clone());
    let right = b.stream::<String, String>(&["right"], Consumed::default());
    left.join(&right, |a, b| format!("{a}|{b}"), JoinWindows::of_time_difference_without_grace(ms(100)), StreamJoined::default())
        .to("out", Produced::default());
    let text = b.build().unwrap().describe().to_string();
    assert!(text.contains("Sink: KSTREAM-SINK-0000000003 (topic: KSTREAM-KEY-SELECT-0000000001-repartition)"), "{text}");
    assert!(text.contains("Source: KSTREAM-SOURCE-0000000005 (topics: [KSTREAM-KEY-SELECT-0000000001-repartition])"), "{text}");
    let (d, _dir) = driver(b.build().unwrap());
    d.create_input_topic("left", s(), s()).pipe_input_with_timestamp("x".into(), "k".into(), 1).unwrap();
    d.create_input_topic("right", s(), s()).pipe_input_with_timestamp("k".into(), "r".into(), 2).unwrap();
    assert_eq!(kvt(&d.create_output_topic("out", s(), s()).read_record().unwrap()), some("k", "k|r", 2));
}

/// Joins register their sources as co-partitioned; the runtime checks partition counts.
#[test]
fn joins_require_co_partitioned_inputs() {
    use brook_processor_api::TaskFactory;
    let b = StreamsBuilder::new();
    let users = b.table::<String, String>("users", Consumed::default(), Materialized::default());
    let views = b.stream::<String, String>(&["views"], Consumed::default());
    views.join_table(&users, |v, u| format!("{v}{u}"), Joined::default()).to("out", Produced::default());
    let other = b.stream::<String, String>(&["clicks"], Consumed::default()).select_key(|_, v| v.clone());
    views.join(&other, |a, b| format!("{a}{b}"), JoinWindows::of_time_difference_without_grace(ms(5)), StreamJoined::default())
        .to("out2", Produced::default());
    let config = brook_processor_api::StreamsConfig::new("copart");
    let factory = brook_processor_api::TopologyTaskFactory::new(b.build().unwrap(), &config).unwrap();
    let groups: Vec<Vec<String>> = factory.subtopologies().into_iter().flat_map(|s| s.copartition_groups).collect();
    assert!(groups.iter().any(|g| g.contains(&"users".to_owned()) && g.contains(&"views".to_owned())), "{groups:?}");
    assert!(
        groups.iter().any(|g| g.contains(&"views".to_owned()) && g.iter().any(|t| t.ends_with("-repartition"))),
        "{groups:?}"
    );
}
