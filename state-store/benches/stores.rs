//! Store micro-benchmarks: put / get on RocksDB and in memory, with and without the cache;
//! window fetch; restore rate into RocksDB.
//!
//! `cargo bench -p brook-state-store -- --warm-up-time 1 --measurement-time 3`

use std::time::{Duration, Instant};

use brook_state_store::{
    ChangelogRecord, KeyValueStore, StoreContext, Stores, ThreadCache, WindowStore,
};
use bytes::Bytes;
use criterion::{black_box, criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use tempfile::TempDir;

const KEYS: usize = 10_000;
const OPS: usize = 10_000;

fn keys() -> Vec<Bytes> {
    (0..KEYS).map(|i| Bytes::from(format!("key-{i:08}"))).collect()
}

fn value() -> Bytes {
    Bytes::from(vec![7u8; 100])
}

fn kv(dir: &TempDir, persistent: bool, cached: bool) -> Box<dyn KeyValueStore> {
    let ctx = StoreContext::new(dir.path(), "bench", "0_0", 0).with_thread_cache(ThreadCache::new(64 << 20));
    let b = if persistent { Stores::persistent_key_value_store("kv") } else { Stores::in_memory_key_value_store("kv") };
    let b = b.with_logging_disabled();
    let b = if cached { b.with_caching_enabled() } else { b };
    b.build(&ctx).unwrap()
}

const VARIANTS: [(&str, bool, bool); 4] =
    [("rocksdb", true, false), ("rocksdb+cache", true, true), ("memory", false, false), ("memory+cache", false, true)];

fn put(c: &mut Criterion) {
    let mut g = c.benchmark_group("kv_put");
    g.throughput(Throughput::Elements(OPS as u64));
    let keys = keys();
    let v = value();
    for (name, persistent, cached) in VARIANTS {
        let dir = tempfile::tempdir().unwrap();
        let mut st = kv(&dir, persistent, cached);
        let mut i = 0usize;
        // One iteration = 10,000 updates of 10,000 keys; every 10th iteration commits (flush),
        // as a stream thread does every commit interval.
        let mut n = 0u64;
        g.bench_function(BenchmarkId::from_parameter(name), |bch| {
            bch.iter(|| {
                for _ in 0..OPS {
                    st.put(keys[i % KEYS].clone(), Some(v.clone())).unwrap();
                    i = i.wrapping_add(7);
                }
                n += 1;
                if n.is_multiple_of(10) {
                    st.flush().unwrap();
                }
            })
        });
        st.close().unwrap();
    }
    g.finish();
}

/// Updates absorbed by the cache (no commit inside the measurement): the cost of a cached
/// KTable update.
fn cached_update(c: &mut Criterion) {
    let mut g = c.benchmark_group("kv_cached_update");
    g.throughput(Throughput::Elements(OPS as u64));
    let keys = keys();
    let v = value();
    for (name, persistent) in [("rocksdb+cache", true), ("memory+cache", false)] {
        let dir = tempfile::tempdir().unwrap();
        let mut st = kv(&dir, persistent, true);
        let mut i = 0usize;
        g.bench_function(BenchmarkId::from_parameter(name), |bch| {
            bch.iter(|| {
                for _ in 0..OPS {
                    st.put(keys[i % KEYS].clone(), Some(v.clone())).unwrap();
                    i = i.wrapping_add(7);
                }
            })
        });
        st.close().unwrap();
    }
    g.finish();
}

fn get(c: &mut Criterion) {
    let mut g = c.benchmark_group("kv_get");
    g.throughput(Throughput::Elements(OPS as u64));
    let keys = keys();
    for (name, persistent, cached) in VARIANTS {
        let dir = tempfile::tempdir().unwrap();
        let mut st = kv(&dir, persistent, cached);
        for k in &keys {
            st.put(k.clone(), Some(value())).unwrap();
        }
        st.flush().unwrap();
        let mut i = 0usize;
        g.bench_function(BenchmarkId::from_parameter(name), |bch| {
            bch.iter(|| {
                for _ in 0..OPS {
                    black_box(st.get(&keys[i % KEYS]).unwrap());
                    i = i.wrapping_add(7);
                }
            })
        });
        st.close().unwrap();
    }
    g.finish();
}

fn window_fetch(c: &mut Criterion) {
    let mut g = c.benchmark_group("window_fetch");
    // 1,000 keys x 100 one-second windows; each fetch returns 10 windows of one key.
    g.throughput(Throughput::Elements(1));
    for (name, persistent) in [("rocksdb", true), ("memory", false)] {
        let dir = tempfile::tempdir().unwrap();
        let ctx = StoreContext::new(dir.path(), "bench", "0_0", 0);
        let b = if persistent {
            Stores::persistent_window_store("w", 3_600_000, 1_000, false)
        } else {
            Stores::in_memory_window_store("w", 3_600_000, 1_000, false)
        };
        let mut st: Box<dyn WindowStore> = b.with_logging_disabled().build(&ctx).unwrap();
        let keys: Vec<Bytes> = (0..1_000).map(|i| Bytes::from(format!("key-{i:05}"))).collect();
        for t in 0..100 {
            for k in &keys {
                st.put(k.clone(), Some(value()), t * 1_000).unwrap();
            }
        }
        st.flush().unwrap();
        let mut i = 0usize;
        g.bench_function(BenchmarkId::from_parameter(name), |bch| {
            bch.iter(|| {
                let k = &keys[i % keys.len()];
                i = i.wrapping_add(7);
                let from = (i % 90) as i64 * 1_000;
                let n = st.fetch(k, from, from + 9_000).unwrap().count();
                assert_eq!(n, 10);
            })
        });
        st.close().unwrap();
    }
    g.finish();
}

fn restore_rate(c: &mut Criterion) {
    const RECORDS: usize = 200_000;
    let mut g = c.benchmark_group("restore");
    g.throughput(Throughput::Elements(RECORDS as u64));
    g.sample_size(10);
    let records: Vec<ChangelogRecord> = (0..RECORDS)
        .map(|i| ChangelogRecord {
            key: Bytes::from(format!("key-{:08}", i % 100_000)),
            value: Some(Bytes::from(vec![(i % 251) as u8; 100])),
            offset: i as i64,
            timestamp: 0,
        })
        .collect();
    for (name, transactional) in [("rocksdb", false), ("rocksdb-transactional", true)] {
        g.bench_function(BenchmarkId::from_parameter(name), |bch| {
            bch.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let dir = tempfile::tempdir().unwrap();
                    let ctx = StoreContext::new(dir.path(), "bench", "0_0", 0).with_transactional_offsets(transactional);
                    let mut st = Stores::persistent_key_value_store("kv").build(&ctx).unwrap();
                    let batch = records.clone();
                    let t = Instant::now();
                    for chunk in batch.chunks(10_000) {
                        st.restore_batch(chunk).unwrap();
                    }
                    total += t.elapsed();
                    st.close().unwrap();
                }
                total
            })
        });
    }
    g.finish();
}

criterion_group!(benches, put, cached_update, get, window_fetch, restore_rate);
criterion_main!(benches);
