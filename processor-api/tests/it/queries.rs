//! Interactive queries over a counting topology with two tasks.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use brook_processor_api::runtime::{Embedded, KafkaStreams, StoreQueryParameters};
use brook_processor_api::{
    Error, Processor, ProcessorContext, Record, Result, SourceOptions, Topology, TopologyTaskFactory,
};
use brook_state_store::{KeyValueStore, Stores, StringSerde};
use bytes::Bytes;

use crate::harness::{config, wait_running, wait_until, TestBroker};

/// Counts per key in `counts` (cached RocksDB store) and per key and 1-hour window in
/// `hourly` (window store).
struct Count;

impl Processor<Option<String>, Option<String>, (), ()> for Count {
    fn process(
        &mut self,
        ctx: &mut ProcessorContext<'_, (), ()>,
        r: Record<Option<String>, Option<String>>,
    ) -> Result<()> {
        let key = r.key().clone().unwrap_or_default();
        let store: &mut dyn KeyValueStore = ctx.get_key_value_store("counts")?;
        let old: u64 = store.get(key.as_bytes())?.and_then(|b| std::str::from_utf8(&b).ok()?.parse().ok()).unwrap_or(0);
        store.put(Bytes::from(key.clone()), Some(Bytes::from((old + 1).to_string())))?;
        let start = r.timestamp() - r.timestamp() % 3_600_000;
        let hourly = ctx.get_window_store("hourly")?;
        let old: u64 = hourly
            .fetch_one(key.as_bytes(), start)?
            .and_then(|b| std::str::from_utf8(&b).ok()?.parse().ok())
            .unwrap_or(0);
        hourly.put(Bytes::from(key), Some(Bytes::from((old + 1).to_string())), start)?;
        Ok(())
    }
}

fn factory(c: &brook_processor_api::StreamsConfig) -> Arc<TopologyTaskFactory> {
    let mut t = Topology::new();
    t.add_source("source", SourceOptions::topics(["input"]).with_serdes(Arc::new(StringSerde), Arc::new(StringSerde)))
        .unwrap()
        .add_processor("count", || Count, &["source"])
        .unwrap()
        .add_state_store(Stores::persistent_key_value_store("counts").with_caching_enabled(), &["count"])
        .unwrap()
        .add_state_store(Stores::persistent_window_store("hourly", 7 * 86_400_000, 3_600_000, false), &["count"])
        .unwrap();
    Arc::new(TopologyTaskFactory::new(t, c).unwrap())
}

fn text(b: &Bytes) -> String {
    String::from_utf8(b.to_vec()).unwrap()
}

#[test]
fn counts_are_queryable_across_tasks_windows_and_partitions() {
    let b = TestBroker::new();
    b.create("input", 2);
    let dir = tempfile::tempdir().unwrap();
    let mut c = config("iq", dir.path(), false);
    // Large cache, rare commits: answers come from the caches (read-your-writes).
    c.commit_interval = Duration::from_secs(600);
    let streams = KafkaStreams::new(factory(&c), c, Embedded::new(b.broker.clone())).unwrap();
    let before = streams.key_value_store(StoreQueryParameters::from_name("counts"));
    assert!(matches!(&before, Err(Error::InvalidStateStore(m)) if m.contains("CREATED")), "{before:?}");
    streams.start().unwrap();
    wait_running(&streams);

    let keys: Vec<String> = (0..8).map(|k| format!("key-{k}")).collect();
    let mut input = Vec::new();
    for i in 0..5 {
        for k in &keys {
            input.push((k.as_str(), if i % 2 == 0 { "a" } else { "b" }));
        }
    }
    b.produce("input", &input);

    let counts = streams.key_value_store(StoreQueryParameters::from_name("counts")).unwrap();
    wait_until("every count is 5", Duration::from_secs(30), || {
        keys.iter().all(|k| counts.get(k.as_bytes()).unwrap().is_some_and(|v| text(&v) == "5"))
    });
    let tasks: Vec<String> =
        streams.metadata_for_local_threads().into_iter().flat_map(|t| t.active_tasks).map(|t| t.to_string()).collect();
    assert_eq!(tasks, ["0_0", "0_1"]);

    // Each key lives in the task of the partition query_metadata_for_key names, only there.
    let mut per_partition: BTreeMap<i32, usize> = BTreeMap::new();
    for k in &keys {
        let md = streams.query_metadata_for_key("counts", k.as_bytes()).unwrap();
        assert!(md.local);
        assert_eq!(md.task.partition(), Some(md.partition));
        *per_partition.entry(md.partition).or_default() += 1;
        let here =
            streams.key_value_store(StoreQueryParameters::from_name("counts").with_partition(md.partition)).unwrap();
        assert_eq!(here.get(k.as_bytes()).unwrap().map(|v| text(&v)).as_deref(), Some("5"), "{k}");
        let other = streams
            .key_value_store(StoreQueryParameters::from_name("counts").with_partition(1 - md.partition))
            .unwrap();
        assert_eq!(other.get(k.as_bytes()).unwrap(), None, "{k} is not in the other task");
    }
    assert_eq!(per_partition.len(), 2, "keys spread over both tasks: {per_partition:?}");

    // Range and all span both tasks.
    let mut all: Vec<(String, String)> = counts.all().unwrap().iter().map(|(k, v)| (text(k), text(v))).collect();
    all.sort();
    assert_eq!(all, keys.iter().map(|k| (k.clone(), "5".to_owned())).collect::<Vec<_>>());
    let mut range: Vec<String> = counts.range(b"key-2", b"key-5").unwrap().iter().map(|(k, _)| text(k)).collect();
    range.sort();
    assert_eq!(range, ["key-2", "key-3", "key-4", "key-5"]);
    assert_eq!(counts.prefix_scan(b"key-7").unwrap().len(), 1);
    assert!(counts.approximate_num_entries().is_ok());
    let typed = counts.clone().with_serdes(Arc::new(StringSerde), Arc::new(StringSerde));
    assert_eq!(typed.get(&"key-3".to_owned()).unwrap().as_deref(), Some("5"));
    assert_eq!(typed.all().unwrap().count(), 8);
    assert_eq!(typed.range(&"key-2".to_owned(), &"key-3".to_owned()).unwrap().count(), 2);

    // Read-your-writes: a new record is visible without a commit.
    b.produce("input", &[("key-0", "c")]);
    wait_until("key-0 counts 6", Duration::from_secs(30), || {
        counts.get(b"key-0").unwrap().is_some_and(|v| text(&v) == "6")
    });

    // The window store: one window per key here (records within the same hour, almost surely;
    // sum the windows to be exact).
    let hourly = streams.window_store(StoreQueryParameters::from_name("hourly")).unwrap();
    let windows = hourly.fetch(b"key-1", 0, i64::MAX).unwrap();
    let total: u64 = windows.iter().map(|(_, v)| text(v).parse::<u64>().unwrap()).sum();
    assert_eq!(total, 5);
    let (start, _) = windows[0];
    assert_eq!(start % 3_600_000, 0);
    assert!(hourly.fetch_one(b"key-1", start).unwrap().is_some());
    let keys_seen: std::collections::BTreeSet<String> =
        hourly.fetch_all(0, i64::MAX).unwrap().iter().map(|(w, _)| text(&w.key)).collect();
    assert_eq!(keys_seen.len(), 8);

    // Errors: unknown store, wrong store type.
    let unknown = streams.key_value_store(StoreQueryParameters::from_name("nope"));
    assert!(matches!(&unknown, Err(Error::InvalidStateStore(m)) if m.contains("no such store")), "{unknown:?}");
    let wrong = streams.window_store(StoreQueryParameters::from_name("counts")).unwrap().fetch(b"key-1", 0, 1);
    assert!(matches!(&wrong, Err(Error::InvalidStateStore(m)) if m.contains("not a window store")), "{wrong:?}");
    let missing =
        streams.key_value_store(StoreQueryParameters::from_name("counts").with_partition(7)).unwrap().get(b"x");
    assert!(matches!(&missing, Err(Error::InvalidStateStore(m)) if m.contains("may have migrated")), "{missing:?}");

    assert!(streams.close(Duration::from_secs(30)));
    let closed = counts.get(b"key-0");
    assert!(matches!(&closed, Err(Error::InvalidStateStore(m)) if m.contains("NOT_RUNNING")), "{closed:?}");
}
