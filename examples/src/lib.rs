//! Brook examples (workspace member; see Cargo.toml), and the topologies they share with the
//! tests and benchmarks.
//!
//! - `count_by_key`: counts the records of a topic per key and writes each key's running count,
//!   under at-least-once or exactly-once, against `brook server` or any Kafka cluster.

use std::sync::Arc;

use brook_processor_api::{Processor, ProcessorContext, Record, Result, SinkOptions, SourceOptions, Topology};
use brook_state_store::{KeyValueStore, Stores, StringSerde};
use bytes::Bytes;

/// Counts records per key in the key-value store `counts` and forwards the new count as a
/// decimal string. Records without a key count under the empty key.
#[derive(Debug, Default)]
pub struct CountByKey;

impl Processor<Option<String>, Option<String>, String, String> for CountByKey {
    fn process(
        &mut self,
        ctx: &mut ProcessorContext<'_, String, String>,
        r: Record<Option<String>, Option<String>>,
    ) -> Result<()> {
        let store: &mut dyn KeyValueStore = ctx.get_key_value_store("counts")?;
        let key = r.key().clone().unwrap_or_default();
        let old: u64 = match store.get(key.as_bytes())? {
            Some(b) => std::str::from_utf8(&b).ok().and_then(|s| s.parse().ok()).unwrap_or(0),
            None => 0,
        };
        let new = (old + 1).to_string();
        store.put(Bytes::from(key.clone()), Some(Bytes::from(new.clone())))?;
        ctx.forward(r.with_key(key).with_value(new))
    }
}

/// `input` -> count per key (persistent store `counts`, logged to
/// `<application.id>-counts-changelog`) -> `output`.
///
/// # Examples
/// ```
/// let t = brook_examples::count_by_key("in", "out");
/// assert!(t.describe().to_string().contains("Processor: count"));
/// ```
pub fn count_by_key(input: &str, output: &str) -> Topology {
    let strings = Arc::new(StringSerde);
    let mut t = Topology::new();
    t.add_source("source", SourceOptions::topics([input]).with_serdes(strings.clone(), strings.clone()))
        .and_then(|t| t.add_processor("count", || CountByKey, &["source"]))
        .and_then(|t| t.add_state_store(Stores::persistent_key_value_store("counts"), &["count"]))
        .and_then(|t| t.add_sink("sink", SinkOptions::topic(output, strings.clone(), strings.clone()), &["count"]))
        .expect("a valid topology");
    t
}

/// `input` -> `output`, unchanged (the stateless benchmark).
///
/// # Examples
/// ```
/// let t = brook_examples::pass_through("in", "out");
/// assert!(t.describe().to_string().contains("Sink: sink"));
/// ```
pub fn pass_through(input: &str, output: &str) -> Topology {
    let bytes = Arc::new(brook_state_store::BytesSerde);
    let mut t = Topology::new();
    t.add_source("source", SourceOptions::topics([input]).with_serdes::<Bytes, Bytes>(bytes.clone(), bytes.clone()))
        .and_then(|t| {
            t.add_sink("sink", SinkOptions::<Bytes, Bytes>::topic(output, bytes.clone(), bytes.clone()), &["source"])
        })
        .expect("a valid topology");
    t
}
