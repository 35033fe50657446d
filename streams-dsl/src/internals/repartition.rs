//! Repartition topics (Kafka's `KStreamImpl.createRepartitionedSource`): filter null keys,
//! write to `<application.id>-<prefix>-repartition`, read it back in a new sub-topology.

use std::sync::Arc;

use brook_processor_api::{Partitioner, SinkOptions, SourceOptions};
use brook_state_store::Serde;

use super::processors::add_fn;
use super::Shared;

const SUFFIX: &str = "-repartition";

/// Whether a name is generated (`KSTREAM.*-[0-9]{10}`), so repartition nodes keep generated
/// names rather than `<topic>-sink`/`-filter`/`-source`.
pub(crate) fn is_generated(name: &str) -> bool {
    let b = name.as_bytes();
    name.starts_with("KSTREAM")
        && b.len() >= 18
        && b[b.len() - 11] == b'-'
        && b[b.len() - 10..].iter().all(u8::is_ascii_digit)
}

/// Lowers a repartition after node `parent`; returns the name of the new source (which
/// forwards `Option<K>, Option<V>` like any DSL stream node). With `partitions`, the topic is
/// created with that many partitions; without, it takes the partition count of its writer.
pub(crate) fn repartition<K, V>(
    inner: &Shared,
    prefix: &str,
    parent: &str,
    keys: Arc<dyn Serde<K>>,
    values: Arc<dyn Serde<V>>,
    partitioner: Option<Partitioner<K, V>>,
    partitions: Option<i32>,
) -> String
where
    K: Clone + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    let topic = if prefix.ends_with(SUFFIX) { prefix.to_owned() } else { format!("{prefix}{SUFFIX}") };
    let (gen_sink, gen_filter, gen_source) = {
        let mut i = inner.borrow_mut();
        (i.name("KSTREAM-SINK-"), i.name("KSTREAM-FILTER-"), i.name("KSTREAM-SOURCE-"))
    };
    let (sink, filter, source) = if is_generated(prefix) {
        (gen_sink, gen_filter, gen_source)
    } else {
        (format!("{topic}-sink"), format!("{topic}-filter"), format!("{topic}-source"))
    };
    add_fn(inner, &filter, &[parent], |ctx, r: brook_processor_api::Record<Option<K>, Option<V>>| {
        if r.key().is_some() {
            ctx.forward(r)
        } else {
            Ok(())
        }
    });
    let mut sink_options = SinkOptions::topic(topic.clone(), keys.clone(), values.clone());
    if let Some(p) = partitioner {
        sink_options = sink_options.with_partitioner(p);
    }
    inner.borrow_mut().with_topology(|t| {
        match partitions {
            Some(n) => t.add_internal_topic_with_partitions(&topic, n)?,
            None => t.add_internal_topic(&topic)?,
        }
        .add_sink(&sink, sink_options, &[&filter])?
            .add_source(&source, SourceOptions::topics([topic.clone()]).with_serdes(keys, values))
    });
    source
}

#[cfg(test)]
mod tests {
    use super::is_generated;

    #[test]
    fn generated_names_follow_kafkas_pattern() {
        assert!(is_generated("KSTREAM-AGGREGATE-STATE-STORE-0000000003"));
        assert!(is_generated("KSTREAM-KEY-SELECT-0000000002"));
        assert!(!is_generated("counts-store"));
        assert!(!is_generated("KSTREAM-x-123"));
    }
}
