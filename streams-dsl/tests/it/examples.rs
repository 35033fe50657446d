//! The DSL examples under `examples/`, compiled in here so their tests (each example's
//! topology through the TopologyTestDriver) run with this crate's tests; `cargo run
//! --example NAME` runs the same topologies over the embedded broker.

// Each example declares the shared harness module itself, as a standalone example must.
#![allow(clippy::duplicate_mod)]

#[allow(dead_code)]
#[path = "../../../examples/orders_shipments_join.rs"]
mod orders_shipments_join;
#[allow(dead_code)]
#[path = "../../../examples/page_views_by_region.rs"]
mod page_views_by_region;
#[allow(dead_code)]
#[path = "../../../examples/windowed_clicks.rs"]
mod windowed_clicks;
#[allow(dead_code)]
#[path = "../../../examples/word_count.rs"]
mod word_count;

/// The word count example prints exactly Kafka's WordCountDemo topology.
#[test]
fn word_count_example_describes_like_kafka() {
    let text = word_count::topology().describe().to_string();
    assert_eq!(text, crate::describe::word_count().build().unwrap().describe().to_string());
}

#[test]
fn example_topologies_match_their_snapshots() {
    insta::assert_snapshot!("example_page_views_by_region", page_views_by_region::topology().describe().to_string());
    insta::assert_snapshot!("example_windowed_clicks", windowed_clicks::topology().describe().to_string());
    insta::assert_snapshot!("example_orders_shipments_join", orders_shipments_join::topology().describe().to_string());
}

/// End to end: every example with `KafkaStreams` over an embedded broker.
#[test]
fn examples_run_over_the_embedded_runtime() {
    let counts = word_count::final_counts(&word_count::run_embedded().unwrap());
    assert_eq!((counts["kafka"], counts["streams"], counts.len()), (3, 2, 8));
    let regions = page_views_by_region::final_counts(&page_views_by_region::run_embedded().unwrap());
    assert_eq!((regions["europe"], regions["asia"], regions["unknown"]), (3, 1, 1));
    let mut clicks = windowed_clicks::lines(&windowed_clicks::run_embedded().unwrap());
    clicks.sort();
    assert_eq!(clicks, vec!["alice@0 -> 2", "alice@60000 -> 1", "bob@0 -> 2", "carol@60000 -> 1"]);
    let orders = orders_shipments_join::lines(&orders_shipments_join::run_embedded().unwrap());
    assert_eq!(orders, vec!["o1: book shipped by DHL", "o2: lamp NOT shipped within an hour"]);
}
