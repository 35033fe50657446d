//! Orders joined with their shipments within one hour (a windowed stream-stream join); a
//! left join reports orders that did not ship in time once their window has closed.
//!
//! ```text
//! cargo run --example orders_shipments_join
//! ```

#[allow(dead_code)]
#[path = "dsl/harness.rs"]
pub(crate) mod harness;

use std::time::Duration;

use brook_streams_dsl::{Consumed, JoinWindows, Produced, StreamJoined, StreamsBuilder, Topology};
use harness::{text, Input, Output};

const ORDERS: &str = "orders";
const SHIPMENTS: &str = "shipments";
const OUTPUT: &str = "order-status";
const HOUR: i64 = 3_600_000;

/// orders(order -> item) leftJoin shipments(order -> carrier) within 1 h after the order.
pub(crate) fn topology() -> Topology {
    let builder = StreamsBuilder::new();
    let orders = builder.stream::<String, String>(&[ORDERS], Consumed::default());
    let shipments = builder.stream::<String, String>(&[SHIPMENTS], Consumed::default());
    orders
        .left_join(
            &shipments,
            |item, carrier| match carrier {
                Some(c) => format!("{item} shipped by {c}"),
                None => format!("{item} NOT shipped within an hour"),
            },
            JoinWindows::of_time_difference_without_grace(Duration::from_secs(3600)).before(Duration::ZERO),
            StreamJoined::default(),
        )
        .to(OUTPUT, Produced::default());
    builder.build().expect("a valid DSL program")
}

pub(crate) fn inputs() -> Vec<Input> {
    vec![
        Input::str(ORDERS, Some("o1"), "book", 0),
        Input::str(ORDERS, Some("o2"), "lamp", 10_000),
        Input::str(SHIPMENTS, Some("o1"), "DHL", 30 * 60_000),
        // o2 ships too late (more than an hour after the order).
        Input::str(SHIPMENTS, Some("o2"), "UPS", 2 * HOUR),
        Input::str(ORDERS, Some("o3"), "pen", 3 * HOUR),
    ]
}

pub(crate) fn lines(out: &[Output]) -> Vec<String> {
    out.iter().map(|(k, v, _)| format!("{}: {}", text(k), text(v))).collect()
}

/// Runs the example with `KafkaStreams` over an embedded broker (no fallback).
pub(crate) fn run_embedded() -> anyhow::Result<Vec<Output>> {
    harness::run_embedded("orders-shipments", topology(), &[ORDERS, SHIPMENTS, OUTPUT], &inputs(), OUTPUT, |o| o.len() >= 2, std::time::Duration::from_secs(60))
}

fn main() -> anyhow::Result<()> {
    println!("{}", topology().describe());
    let out = run_embedded()?;
    for l in lines(&out) {
        println!("{l}");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn joins_within_the_hour_and_reports_late_orders_once_closed() {
        let out = harness::run_test_driver("orders-shipments", topology(), &inputs(), OUTPUT).unwrap();
        assert_eq!(lines(&out), vec!["o1: book shipped by DHL", "o2: lamp NOT shipped within an hour"]);
    }

    #[test]
    fn topology_matches_its_snapshot() {
        insta::assert_snapshot!(topology().describe().to_string());
    }

    #[test]
    fn runs_over_the_embedded_runtime() {
        let orders = lines(&run_embedded().unwrap());
        assert_eq!(orders, vec!["o1: book shipped by DHL", "o2: lamp NOT shipped within an hour"]);
    }
}
