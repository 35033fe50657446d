//! Page views joined with user profiles and counted by region: a stream-table left join,
//! a re-keying `groupBy` (through a repartition topic) and a count.
//!
//! ```text
//! cargo run --example page_views_by_region
//! ```

#[allow(dead_code)]
#[path = "dsl/harness.rs"]
pub(crate) mod harness;

use std::collections::BTreeMap;

use brook_streams_dsl::{Consumed, Grouped, Joined, Materialized, Produced, StreamsBuilder, Topology};
use harness::{long, text, Input, Output};

const VIEWS: &str = "page-views";
const USERS: &str = "user-regions";
const OUTPUT: &str = "views-by-region";

/// views(user -> page) leftJoin users(user -> region) -> groupBy(region) -> count.
pub(crate) fn topology() -> Topology {
    let builder = StreamsBuilder::new();
    let users = builder.table::<String, String>(USERS, Consumed::default(), Materialized::default());
    builder
        .stream::<String, String>(&[VIEWS], Consumed::default())
        .left_join_table(&users, |_page, region| region.cloned().unwrap_or_else(|| "unknown".to_owned()), Joined::default())
        .group_by(|_user, region| region.clone(), Grouped::default().with_name("by-region"))
        .count(Materialized::named("views-per-region"))
        .to_stream()
        .to(OUTPUT, Produced::default());
    builder.build().expect("a valid DSL program")
}

pub(crate) fn inputs() -> Vec<Input> {
    let mut v = vec![
        Input::str(USERS, Some("alice"), "europe", 0),
        Input::str(USERS, Some("bob"), "asia", 0),
        Input::str(USERS, Some("carol"), "europe", 0),
    ];
    for (i, (user, page)) in [("alice", "/home"), ("bob", "/cart"), ("carol", "/home"), ("dave", "/help"), ("alice", "/pay")].iter().enumerate() {
        v.push(Input::str(VIEWS, Some(user), page, 10 + i as i64));
    }
    v
}

pub(crate) fn final_counts(out: &[Output]) -> BTreeMap<String, i64> {
    out.iter().map(|(k, v, _)| (text(k), long(v))).collect()
}

/// Runs the example with `KafkaStreams` over an embedded broker (no fallback).
pub(crate) fn run_embedded() -> anyhow::Result<Vec<Output>> {
    harness::run_embedded("page-views", topology(), &[VIEWS, USERS, OUTPUT], &inputs(), OUTPUT, |o| final_counts(o).get("europe") == Some(&3), std::time::Duration::from_secs(60))
}

fn main() -> anyhow::Result<()> {
    println!("{}", topology().describe());
    let out = run_embedded()?;
    for (region, views) in final_counts(&out) {
        println!("{region}: {views} views");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_views_per_region_through_the_test_driver() {
        let out = harness::run_test_driver("page-views", topology(), &inputs(), OUTPUT).unwrap();
        let counts = final_counts(&out);
        assert_eq!(counts, BTreeMap::from([("asia".to_owned(), 1), ("europe".to_owned(), 3), ("unknown".to_owned(), 1)]));
    }

    #[test]
    fn topology_matches_its_snapshot() {
        insta::assert_snapshot!(topology().describe().to_string());
    }

    #[test]
    fn runs_over_the_embedded_runtime() {
        let regions = final_counts(&run_embedded().unwrap());
        assert_eq!((regions["europe"], regions["asia"], regions["unknown"]), (3, 1, 1));
    }
}
