//! Word count with the Streams DSL (Kafka's `WordCountDemo`): lines of text in, a running
//! count per word out.
//!
//! ```text
//! cargo run --example word_count
//! ```
//!
//! Runs over an embedded broker with Brook's `KafkaStreams` runtime and prints the topology
//! and the final count of every word.

#[allow(dead_code)]
#[path = "dsl/harness.rs"]
pub(crate) mod harness;

use std::collections::BTreeMap;

use brook_streams_dsl::{Consumed, Grouped, Materialized, Produced, StreamsBuilder, Topology};
use harness::{long, text, Input, Output};

const INPUT: &str = "streams-plaintext-input";
const OUTPUT: &str = "streams-wordcount-output";

/// `stream -> flatMapValues(split) -> groupBy(word) -> count("counts-store") -> toStream -> to`.
pub(crate) fn topology() -> Topology {
    let builder = StreamsBuilder::new();
    builder
        .stream::<String, String>(&[INPUT], Consumed::default())
        .flat_map_values(|line| {
            line.to_lowercase().split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).map(str::to_owned).collect::<Vec<_>>()
        })
        .group_by(|_, word| word.clone(), Grouped::default())
        .count(Materialized::named("counts-store"))
        .to_stream()
        .to(OUTPUT, Produced::default());
    builder.build().expect("a valid DSL program")
}

pub(crate) fn inputs() -> Vec<Input> {
    ["all streams lead to kafka", "hello kafka streams", "join kafka summit"]
        .iter()
        .enumerate()
        .map(|(i, line)| Input::str(INPUT, None, line, i as i64 * 1000))
        .collect()
}

/// The last count of every word.
pub(crate) fn final_counts(out: &[Output]) -> BTreeMap<String, i64> {
    out.iter().map(|(k, v, _)| (text(k), long(v))).collect()
}

/// Runs the example with `KafkaStreams` over an embedded broker (no fallback).
pub(crate) fn run_embedded() -> anyhow::Result<Vec<Output>> {
    harness::run_embedded("word-count", topology(), &[INPUT, OUTPUT], &inputs(), OUTPUT, |o| final_counts(o).get("kafka") == Some(&3), std::time::Duration::from_secs(60))
}

fn main() -> anyhow::Result<()> {
    println!("{}", topology().describe());
    let out = run_embedded()?;
    for (word, count) in final_counts(&out) {
        println!("{word}: {count}");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_words_through_the_test_driver() {
        let out = harness::run_test_driver("word-count", topology(), &inputs(), OUTPUT).unwrap();
        let counts = final_counts(&out);
        assert_eq!(counts["kafka"], 3);
        assert_eq!(counts["streams"], 2);
        assert_eq!(counts["summit"], 1);
        assert_eq!(counts.len(), 8);
    }

    /// The topology prints exactly as Kafka's WordCountDemo (streams-dsl's describe tests hold
    /// Kafka's text).
    #[test]
    fn describes_like_kafka() {
        insta::assert_snapshot!(topology().describe().to_string());
    }

    #[test]
    fn runs_over_the_embedded_runtime() {
        let counts = final_counts(&run_embedded().unwrap());
        assert_eq!((counts["kafka"], counts["streams"], counts.len()), (3, 2, 8));
    }
}
