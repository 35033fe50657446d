//! Random operations against every backend and layer combination, checked against a `BTreeMap`
//! model: the backends must behave exactly alike.

use std::collections::BTreeMap;

use brook_state_store::{Stores, ThreadCache, StoreContext, CollectingChangelogSink, KeyValueStore};
use bytes::Bytes;

use crate::{both_backends, Kind};

both_backends!(random_ops_match_a_model);

/// xorshift64*: deterministic, no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) % n
    }
}

fn key(r: &mut Rng) -> Bytes {
    // Short keys over a small alphabet: many prefixes, overwrites and deletes.
    let len = 1 + r.next(3) as usize;
    Bytes::from((0..len).map(|_| b'a' + r.next(3) as u8).collect::<Vec<_>>())
}

fn store(kind: Kind, dir: &std::path::Path, cache_bytes: usize, caching: bool, tx: bool) -> Box<dyn KeyValueStore> {
    let ctx = StoreContext::new(dir, "app", "0_0", 0)
        .with_thread_cache(ThreadCache::new(cache_bytes))
        .with_changelog_sink(CollectingChangelogSink::new().shared())
        .with_transactional_offsets(tx);
    let b = match kind {
        Kind::RocksDb => Stores::persistent_key_value_store("m"),
        Kind::InMemory => Stores::in_memory_key_value_store("m"),
    };
    (if caching { b.with_caching_enabled() } else { b }).build(&ctx).unwrap()
}

fn random_ops_match_a_model(kind: Kind) {
    for (seed, cache_bytes, caching, tx) in
        [(1, 1 << 20, false, false), (2, 1 << 20, true, false), (3, 300, true, false), (4, 300, true, true)]
    {
        let dir = tempfile::tempdir().unwrap();
        let mut st = store(kind, dir.path(), cache_bytes, caching, tx);
        let mut model: BTreeMap<Bytes, Bytes> = BTreeMap::new();
        let mut r = Rng(0x9e37_79b9_7f4a_7c15 ^ seed);
        for step in 0..2_000u64 {
            let ctx = format!("seed {seed} step {step}");
            // Commits are rare (as in a stream thread): each one is a RocksDB memtable flush.
            match r.next(100) {
                0..=39 => {
                    let (k, v) = (key(&mut r), Bytes::from(step.to_string()));
                    model.insert(k.clone(), v.clone());
                    st.put(k, Some(v)).unwrap();
                }
                40..=49 => {
                    let k = key(&mut r);
                    assert_eq!(st.delete(&k).unwrap(), model.remove(&k), "{ctx}");
                }
                50..=64 => {
                    let k = key(&mut r);
                    assert_eq!(st.get(&k).unwrap(), model.get(&k).cloned(), "{ctx}");
                }
                65..=79 => {
                    let (a, b) = (key(&mut r), key(&mut r));
                    let got: Vec<_> = st.range(&a, &b).unwrap().map(|x| x.unwrap()).collect();
                    let want: Vec<_> = if a <= b {
                        model.range(a.clone()..=b.clone()).map(|(k, v)| (k.clone(), v.clone())).collect()
                    } else {
                        Vec::new()
                    };
                    assert_eq!(got, want, "{ctx}");
                    let mut rev: Vec<_> = st.reverse_range(&a, &b).unwrap().map(|x| x.unwrap()).collect();
                    rev.reverse();
                    assert_eq!(rev, want, "{ctx}");
                }
                80..=96 => {
                    let p = key(&mut r);
                    let got: Vec<_> = st.prefix_scan(&p).unwrap().map(|x| x.unwrap().0).collect();
                    let want: Vec<_> = model.keys().filter(|k| k.starts_with(&p)).cloned().collect();
                    assert_eq!(got, want, "{ctx}");
                }
                97 | 98 => st.flush().unwrap(),
                _ => st.commit(Some(step as i64)).unwrap(),
            }
        }
        let all: Vec<_> = st.all().unwrap().map(|x| x.unwrap()).collect();
        assert_eq!(all, model.into_iter().collect::<Vec<_>>(), "seed {seed}");
        st.close().unwrap();
    }
}
