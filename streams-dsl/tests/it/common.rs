//! Helpers shared by the tests.

use std::sync::Arc;

use brook_processor_api::{StreamsConfig, Topology, TopologyTestDriver};
use brook_state_store::{I64Serde, StringSerde};

pub(crate) fn s() -> Arc<StringSerde> {
    Arc::new(StringSerde)
}

pub(crate) fn l() -> Arc<I64Serde> {
    Arc::new(I64Serde)
}

/// A driver over `topology` with state in a fresh temporary directory (kept alive by the
/// returned guard) and caching as Kafka's driver has it.
pub(crate) fn driver(topology: Topology) -> (TopologyTestDriver, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let mut c = StreamsConfig::new("dsl-test");
    c.state_dir = dir.path().to_path_buf();
    (TopologyTestDriver::new(topology, c, 0).unwrap(), dir)
}

/// `(key, value, timestamp)` of a test record.
pub(crate) fn kvt<K: Clone, V: Clone>(r: &brook_processor_api::TestRecord<K, V>) -> (Option<K>, Option<V>, i64) {
    (r.key.clone(), r.value.clone(), r.timestamp)
}

pub(crate) fn some(k: &str, v: &str, t: i64) -> (Option<String>, Option<String>, i64) {
    (Some(k.to_owned()), Some(v.to_owned()), t)
}
