//! Clicks per user in one-minute tumbling windows, with intermediate results suppressed:
//! each window's count is emitted once, when the window closes (end + 10 s grace).
//!
//! ```text
//! cargo run --example windowed_clicks
//! ```

#[allow(dead_code)]
#[path = "dsl/harness.rs"]
pub(crate) mod harness;

use std::time::Duration;

use brook_streams_dsl::{Consumed, Grouped, Materialized, Produced, StreamsBuilder, Suppressed, TimeWindows, Topology};
use harness::{long, text, Input, Output};

const CLICKS: &str = "clicks";
const OUTPUT: &str = "clicks-per-minute";

/// clicks(user -> url) -> groupByKey -> 1-minute windows (10 s grace) -> count ->
/// suppress(untilWindowCloses) -> "user@window-start" -> count.
pub(crate) fn topology() -> Topology {
    let builder = StreamsBuilder::new();
    builder
        .stream::<String, String>(&[CLICKS], Consumed::default())
        .group_by_key(Grouped::default())
        .windowed_by(TimeWindows::of_size_and_grace(Duration::from_secs(60), Duration::from_secs(10)))
        .count(Materialized::named("clicks-per-window"))
        .suppress(Suppressed::until_window_closes())
        .to_stream()
        .map(|k, n| (format!("{}@{}", k.map_or("?", |k| k.key.as_str()), k.map_or(0, |k| k.window.start)), *n))
        .to(OUTPUT, Produced::default());
    builder.build().expect("a valid DSL program")
}

pub(crate) fn inputs() -> Vec<Input> {
    let s = 1000;
    vec![
        Input::str(CLICKS, Some("alice"), "/a", 5 * s),
        Input::str(CLICKS, Some("bob"), "/b", 20 * s),
        Input::str(CLICKS, Some("alice"), "/c", 50 * s),
        Input::str(CLICKS, Some("alice"), "/d", 65 * s),
        // Late, but within the grace period of [0, 60 s).
        Input::str(CLICKS, Some("bob"), "/e", 58 * s),
        // Closes [0, 60 s) (60 + 10 s grace).
        Input::str(CLICKS, Some("carol"), "/f", 71 * s),
        // Closes [60, 120 s).
        Input::str(CLICKS, Some("carol"), "/g", 131 * s),
    ]
}

pub(crate) fn lines(out: &[Output]) -> Vec<String> {
    out.iter().map(|(k, v, _)| format!("{} -> {}", text(k), long(v))).collect()
}

/// Runs the example with `KafkaStreams` over an embedded broker (no fallback).
pub(crate) fn run_embedded() -> anyhow::Result<Vec<Output>> {
    harness::run_embedded("windowed-clicks", topology(), &[CLICKS, OUTPUT], &inputs(), OUTPUT, |o| o.len() >= 4, std::time::Duration::from_secs(60))
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
    fn emits_each_window_once_when_it_closes() {
        let out = harness::run_test_driver("windowed-clicks", topology(), &inputs(), OUTPUT).unwrap();
        assert_eq!(lines(&out), vec!["alice@0 -> 2", "bob@0 -> 2", "alice@60000 -> 1", "carol@60000 -> 1"]);
    }

    #[test]
    fn topology_matches_its_snapshot() {
        insta::assert_snapshot!(topology().describe().to_string());
    }

    #[test]
    fn runs_over_the_embedded_runtime() {
        let mut clicks = lines(&run_embedded().unwrap());
        clicks.sort();
        assert_eq!(clicks, vec!["alice@0 -> 2", "alice@60000 -> 1", "bob@0 -> 2", "carol@60000 -> 1"]);
    }
}
