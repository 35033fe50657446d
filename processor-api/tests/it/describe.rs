//! `describe()` in Kafka Streams' exact format.

use std::sync::Arc;

use brook_processor_api::{
    Processor, ProcessorContext, Record, Result, SinkOptions, SourceOptions, Topology, TopologyError,
};
use brook_state_store::{BytesSerde, Stores};
use bytes::Bytes;

type B = Option<Bytes>;

struct Pass;

impl Processor<B, B> for Pass {
    fn process(&mut self, ctx: &mut ProcessorContext<'_, B, B>, r: Record<B, B>) -> Result<()> {
        ctx.forward(r)
    }
}

fn sink(topic: &str) -> SinkOptions<Bytes, Bytes> {
    SinkOptions::topic(topic, Arc::new(BytesSerde), Arc::new(BytesSerde))
}

#[test]
fn source_filter_sink_prints_kafkas_format_byte_for_byte() {
    let mut t = Topology::new();
    t.add_source("KSTREAM-SOURCE-0000000000", SourceOptions::topics(["input"]))
        .unwrap()
        .add_processor("KSTREAM-FILTER-0000000001", || Pass, &["KSTREAM-SOURCE-0000000000"])
        .unwrap()
        .add_sink("KSTREAM-SINK-0000000002", sink("output"), &["KSTREAM-FILTER-0000000001"])
        .unwrap();
    assert_eq!(
        t.describe().to_string(),
        "Topologies:\n   Sub-topology: 0\n    Source: KSTREAM-SOURCE-0000000000 (topics: [input])\n      --> KSTREAM-FILTER-0000000001\n    Processor: KSTREAM-FILTER-0000000001 (stores: [])\n      --> KSTREAM-SINK-0000000002\n      <-- KSTREAM-SOURCE-0000000000\n    Sink: KSTREAM-SINK-0000000002 (topic: output)\n      <-- KSTREAM-FILTER-0000000001\n\n"
    );
}

#[test]
fn aggregation_with_store_matches_kafka() {
    let mut t = Topology::new();
    t.add_source("KSTREAM-SOURCE-0000000000", SourceOptions::topics(["input-topic"]))
        .unwrap()
        .add_processor("KSTREAM-AGGREGATE-0000000002", || Pass, &["KSTREAM-SOURCE-0000000000"])
        .unwrap()
        .add_state_store(Stores::persistent_key_value_store("KSTREAM-AGGREGATE-STATE-STORE-0000000001"), &["KSTREAM-AGGREGATE-0000000002"])
        .unwrap();
    assert_eq!(
        t.describe().to_string(),
        "Topologies:\n   Sub-topology: 0\n    Source: KSTREAM-SOURCE-0000000000 (topics: [input-topic])\n      --> KSTREAM-AGGREGATE-0000000002\n    Processor: KSTREAM-AGGREGATE-0000000002 (stores: [KSTREAM-AGGREGATE-STATE-STORE-0000000001])\n      --> none\n      <-- KSTREAM-SOURCE-0000000000\n\n"
    );
}

/// A DSL-like `selectKey().groupByKey().count()`: two sub-topologies joined by a repartition
/// topic, as Kafka prints it (the second sub-topology line has two leading spaces).
fn repartitioned() -> Topology {
    let mut t = Topology::new();
    let rep = "KSTREAM-AGGREGATE-STATE-STORE-0000000002-repartition";
    t.add_internal_topic(rep)
        .unwrap()
        .add_source("KSTREAM-SOURCE-0000000000", SourceOptions::topics(["input-topic"]))
        .unwrap()
        .add_processor("KSTREAM-KEY-SELECT-0000000001", || Pass, &["KSTREAM-SOURCE-0000000000"])
        .unwrap()
        .add_processor("KSTREAM-AGGREGATE-0000000003", || Pass, &["KSTREAM-SOURCE-0000000006"])
        .unwrap_err();
    t.add_processor("KSTREAM-FILTER-0000000005", || Pass, &["KSTREAM-KEY-SELECT-0000000001"])
        .unwrap()
        .add_sink("KSTREAM-SINK-0000000004", sink(rep), &["KSTREAM-FILTER-0000000005"])
        .unwrap()
        .add_source("KSTREAM-SOURCE-0000000006", SourceOptions::topics([rep]))
        .unwrap()
        .add_processor("KSTREAM-AGGREGATE-0000000003", || Pass, &["KSTREAM-SOURCE-0000000006"])
        .unwrap()
        .add_state_store(Stores::persistent_key_value_store("KSTREAM-AGGREGATE-STATE-STORE-0000000002"), &["KSTREAM-AGGREGATE-0000000003"])
        .unwrap();
    t
}

#[test]
fn repartition_topology_matches_kafka() {
    assert_eq!(
        repartitioned().describe().to_string(),
        "Topologies:\n   Sub-topology: 0\n    Source: KSTREAM-SOURCE-0000000000 (topics: [input-topic])\n      --> KSTREAM-KEY-SELECT-0000000001\n    Processor: KSTREAM-KEY-SELECT-0000000001 (stores: [])\n      --> KSTREAM-FILTER-0000000005\n      <-- KSTREAM-SOURCE-0000000000\n    Processor: KSTREAM-FILTER-0000000005 (stores: [])\n      --> KSTREAM-SINK-0000000004\n      <-- KSTREAM-KEY-SELECT-0000000001\n    Sink: KSTREAM-SINK-0000000004 (topic: KSTREAM-AGGREGATE-STATE-STORE-0000000002-repartition)\n      <-- KSTREAM-FILTER-0000000005\n\n  Sub-topology: 1\n    Source: KSTREAM-SOURCE-0000000006 (topics: [KSTREAM-AGGREGATE-STATE-STORE-0000000002-repartition])\n      --> KSTREAM-AGGREGATE-0000000003\n    Processor: KSTREAM-AGGREGATE-0000000003 (stores: [KSTREAM-AGGREGATE-STATE-STORE-0000000002])\n      --> none\n      <-- KSTREAM-SOURCE-0000000006\n\n"
    );
    insta::assert_snapshot!("repartition", repartitioned().describe().to_string());
}

#[test]
fn global_store_prints_as_its_own_sub_topology() {
    let mut t = Topology::new();
    t.add_global_store(
        Stores::in_memory_key_value_store("globalStore").with_logging_disabled(),
        "source",
        SourceOptions::topics(["globalTopic"]),
        "processor",
        || Pass,
    )
    .unwrap();
    assert_eq!(
        t.describe().to_string(),
        "Topologies:\n   Sub-topology: 0 for global store (will not generate tasks)\n    Source: source (topics: [globalTopic])\n      --> processor\n    Processor: processor (stores: [globalStore])\n      --> none\n      <-- source\n"
    );
    // A regular sub-topology after it keeps counting.
    t.add_source("in", SourceOptions::topics(["input"])).unwrap().add_sink("out", sink("output"), &["in"]).unwrap();
    insta::assert_snapshot!("global_store", t.describe().to_string());
}

/// Branches, a shared store joining two sources into one sub-topology, several topics per
/// source, a pattern source and a topic-extractor sink.
#[test]
fn stores_branches_patterns_and_extractors() {
    let mut t = Topology::new();
    t.add_source("orders", SourceOptions::topics(["orders-eu", "orders-us"]))
        .unwrap()
        .add_source("payments", SourceOptions::pattern("payments-.*"))
        .unwrap()
        .add_processor("enrich", || Pass, &["orders"])
        .unwrap()
        .add_processor("audit", || Pass, &["orders"])
        .unwrap()
        .add_processor("settle", || Pass, &["payments"])
        .unwrap()
        .add_state_store(Stores::persistent_key_value_store("ledger"), &["enrich", "settle"])
        .unwrap()
        .add_state_store(Stores::in_memory_key_value_store("audit-log"), &["audit"])
        .unwrap()
        .connect_processor_and_state_stores("enrich", &["audit-log"])
        .unwrap()
        .add_sink("enriched", sink("enriched"), &["enrich"])
        .unwrap()
        .add_sink(
            "routed",
            SinkOptions::extractor(Arc::new(|_: Option<&Bytes>, _: Option<&Bytes>| "x".to_owned()), "RegionRouter", Arc::new(BytesSerde), Arc::new(BytesSerde)),
            &["audit", "settle"],
        )
        .unwrap();
    let text = t.describe().to_string();
    assert!(text.contains("    Source: payments (topics: payments-.*)\n"), "{text}");
    assert!(text.contains("    Sink: routed (extractor class: RegionRouter)\n      <-- audit, settle\n"), "{text}");
    assert!(!text.contains("Sub-topology: 1"), "one component through the shared store: {text}");
    insta::assert_snapshot!("stores_branches_patterns", text);
}

#[test]
fn validation_errors_are_clear() {
    let mut t = Topology::new();
    t.add_source("src", SourceOptions::topics(["in"])).unwrap();
    let e = t.add_processor("p", || Pass, &["nope"]).unwrap_err();
    assert_eq!(e, TopologyError::UnknownParent { node: "p".into(), parent: "nope".into() });
    assert_eq!(e.to_string(), "parent processor \"nope\" is not added yet for \"p\"");
    let e = t.add_source("src", SourceOptions::topics(["other"])).unwrap_err();
    assert_eq!(e, TopologyError::DuplicateNode("src".into()));
    let e = t.add_source("src2", SourceOptions::topics(["in"])).unwrap_err();
    assert_eq!(e, TopologyError::TopicAlreadyRead("in".into()));
    let e = t.add_source("bad", SourceOptions::topics(["no spaces"])).unwrap_err();
    assert_eq!(e, TopologyError::InvalidTopicName("no spaces".into()));
    t.add_sink("sink", sink("out"), &["src"]).unwrap();
    let e = t.add_processor("after-sink", || Pass, &["sink"]).unwrap_err();
    assert_eq!(e, TopologyError::InvalidParent { node: "after-sink".into(), parent: "sink".into(), parent_kind: "sink" });
    t.add_state_store(Stores::in_memory_key_value_store("lonely"), &[]).unwrap();
    let e = t.validate().unwrap_err();
    assert_eq!(e, TopologyError::UnconnectedStore("lonely".into()));
    let e = t.add_state_store(Stores::in_memory_key_value_store("lonely"), &[]).unwrap_err();
    assert_eq!(e, TopologyError::DuplicateStore("lonely".into()));
    let e = t.connect_processor_and_state_stores("src", &["lonely"]).unwrap_err();
    assert_eq!(e, TopologyError::NotAProcessor("src".into()));
    let e = t.connect_processor_and_state_stores("p", &["missing"]).unwrap_err();
    assert_eq!(e, TopologyError::UnknownStore("missing".into()));
    let e = t.add_source("pat", SourceOptions::pattern("(unclosed")).unwrap_err();
    assert_eq!(e, TopologyError::InvalidPattern { pattern: "(unclosed".into(), reason: "unclosed '('" });
    let e = Topology::new()
        .add_global_store(Stores::in_memory_key_value_store("g"), "gs", SourceOptions::topics(["g"]), "gp", || Pass)
        .unwrap_err();
    assert_eq!(e, TopologyError::GlobalStoreLogged("g".into()));
}

/// Writes random topologies and their descriptions for a byte-for-byte comparison with a Java
/// reference of Kafka's `describe()`, `describe_reference/Ref.java` (run with
/// `BROOK_DESCRIBE_FUZZ_DIR=dir`; `spec.txt` is its input, `rust.txt` what it must print; 400
/// topologies matched when this was written).
#[test]
#[ignore = "needs a Java reference implementation"]
fn random_topologies_for_the_java_reference() {
    let Ok(dir) = std::env::var("BROOK_DESCRIBE_FUZZ_DIR") else { return };
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    let mut rnd = move |n: usize| {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        (x % n as u64) as usize
    };
    let (mut spec, mut rust) = (String::new(), String::new());
    for _ in 0..400 {
        let mut t = Topology::new();
        let mut names: Vec<String> = Vec::new();
        let mut sinks: Vec<String> = Vec::new();
        let count = 2 + rnd(14);
        let mut topic_seq = 0;
        for i in 0..count {
            let name = match rnd(3) {
                0 => format!("KSTREAM-NODE-{:010}", i * 7 + rnd(5)),
                1 => format!("n{}{}", ["a", "bb", "proc", "x-y", "Z"][rnd(5)], i),
                _ => format!("{}{i}", ["source", "filter", "map", "sink", "agg"][rnd(5)]),
            };
            let candidates: Vec<&String> = names.iter().filter(|n| !sinks.contains(n)).collect();
            let kind = if candidates.is_empty() { 0 } else { rnd(10) };
            match kind {
                0 | 1 => {
                    if rnd(6) == 0 {
                        let p = format!("pat{i}-.*");
                        t.add_source(&name, SourceOptions::pattern(p.clone())).unwrap();
                        spec.push_str(&format!("S {name} ~{p}\n"));
                    } else {
                        let topics: Vec<String> = (0..1 + rnd(3)).map(|_| { topic_seq += 1; format!("{}{topic_seq}", ["t", "topic-", "input."][rnd(3)]) }).collect();
                        t.add_source(&name, SourceOptions::topics(topics.clone())).unwrap();
                        spec.push_str(&format!("S {name} {}\n", topics.join(",")));
                    }
                }
                2 if names.len() > 1 && rnd(4) == 0 => {
                    let g = format!("gstore{i}");
                    let topic = format!("global{i}");
                    let pname = format!("{name}-proc");
                    t.add_global_store(Stores::in_memory_key_value_store(&g).with_logging_disabled(), &name, SourceOptions::topics([topic.clone()]), &pname, || Pass).unwrap();
                    spec.push_str(&format!("G {name} {topic}\nP {pname} {name} {g}\n"));
                    sinks.push(name.clone());
                    sinks.push(pname.clone());
                    names.push(pname);
                }
                3 | 4 => {
                    let n = 1 + rnd(2.min(candidates.len()));
                    let mut parents: Vec<String> = Vec::new();
                    for _ in 0..n {
                        let p = candidates[rnd(candidates.len())].clone();
                        if !parents.contains(&p) {
                            parents.push(p);
                        }
                    }
                    let ps: Vec<&str> = parents.iter().map(String::as_str).collect();
                    t.add_sink(&name, sink(&format!("out{i}")), &ps).unwrap();
                    spec.push_str(&format!("K {name} out{i} {}\n", parents.join(",")));
                    sinks.push(name.clone());
                }
                _ => {
                    let n = 1 + rnd(2.min(candidates.len()));
                    let mut parents: Vec<String> = Vec::new();
                    for _ in 0..n {
                        let p = candidates[rnd(candidates.len())].clone();
                        if !parents.contains(&p) {
                            parents.push(p);
                        }
                    }
                    let ps: Vec<&str> = parents.iter().map(String::as_str).collect();
                    t.add_processor(&name, || Pass, &ps).unwrap();
                    let mut stores = Vec::new();
                    for _ in 0..rnd(3) {
                        let s = ["store-a", "counts", "KSTREAM-AGGREGATE-STATE-STORE-0000000009", "s"][rnd(4)].to_owned();
                        if !stores.contains(&s) {
                            if t.add_state_store(Stores::in_memory_key_value_store(&s), &[&name]).is_err() {
                                t.connect_processor_and_state_stores(&name, &[&s]).unwrap();
                            }
                            stores.push(s);
                        }
                    }
                    spec.push_str(&format!("P {name} {} {}\n", parents.join(","), stores.join(",")));
                }
            }
            if !names.contains(&name) {
                names.push(name);
            }
        }
        spec.push_str("---\n");
        rust.push_str(&t.describe().to_string());
        rust.push_str("\u{0}\n");
    }
    std::fs::write(format!("{dir}/spec.txt"), spec).unwrap();
    std::fs::write(format!("{dir}/rust.txt"), rust).unwrap();
}

#[test]
fn word_count_by_hand() {
    insta::assert_snapshot!("word_count", crate::common::word_count(true).describe().to_string());
}
