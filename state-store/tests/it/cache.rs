use std::sync::{Arc, Mutex};

use brook_state_store::{FlushedRecord, StateStore, Window, Windowed, WindowKeySchema};
use bytes::Bytes;

use crate::{b, both_backends, Fixture, Kind};

both_backends!(
    dedup_and_flush_forwarding,
    eviction_writes_through,
    zero_size_cache_forwards_every_update,
    window_and_session_caching,
    window_update_one,
    window_update_windows_as_update_one_each
);

type Seen = Arc<Mutex<Vec<FlushedRecord>>>;

fn listener(store: &mut dyn StateStore) -> Seen {
    let seen: Seen = Arc::default();
    let s = seen.clone();
    assert!(store.set_flush_listener(Box::new(move |r| s.lock().unwrap().push(r))));
    seen
}

fn rec(key: &str, new: Option<&str>, old: Option<&str>, timestamp: i64) -> FlushedRecord {
    FlushedRecord { key: b(key), new_value: new.map(b), old_value: old.map(b), timestamp }
}

fn dedup_and_flush_forwarding(kind: Kind) {
    let f = Fixture::new();
    let mut st = f.kv(kind, "kv", true);
    let seen = listener(&mut *st);
    for (i, v) in ["1", "2", "3"].into_iter().enumerate() {
        f.ctx.record_context().set_timestamp(i as i64 + 100);
        st.put(b("a"), Some(b(v))).unwrap();
    }
    st.put(b("b"), Some(b("x"))).unwrap();
    assert_eq!(st.get(b"a").unwrap(), Some(b("3")), "reads see the cache");
    assert!(seen.lock().unwrap().is_empty());
    assert!(f.sink.records().is_empty(), "nothing logged before the flush");
    st.flush().unwrap();
    assert_eq!(*seen.lock().unwrap(), vec![rec("a", Some("3"), None, 102), rec("b", Some("x"), None, 102)]);
    assert_eq!(f.sink.records().len(), 2, "one changelog record per key");
    seen.lock().unwrap().clear();
    f.ctx.record_context().set_timestamp(200);
    st.put(b("a"), Some(b("4"))).unwrap();
    st.delete(b"b").unwrap();
    st.delete(b"never").unwrap();
    st.commit(None).unwrap();
    assert_eq!(
        *seen.lock().unwrap(),
        vec![rec("a", Some("4"), Some("3"), 200), rec("b", None, Some("x"), 200)],
        "old values come from the store; deleting a missing key forwards nothing"
    );
    assert_eq!(st.get(b"b").unwrap(), None);
}

fn eviction_writes_through(kind: Kind) {
    // Room for about 4 entries of this size in the whole thread cache.
    let f = Fixture::with_cache(4 * (64 + 4));
    let mut st = f.kv(kind, "kv", true);
    let seen = listener(&mut *st);
    for i in 0..20 {
        st.put(b(&format!("k{i:02}")), Some(b("v"))).unwrap();
    }
    let forwarded = seen.lock().unwrap().len();
    assert!(forwarded >= 16, "evictions forward before any flush, got {forwarded}");
    assert_eq!(f.sink.records().len(), forwarded, "and log what they write");
    st.flush().unwrap();
    assert_eq!(seen.lock().unwrap().len(), 20);
    assert_eq!(st.all().unwrap().count(), 20);
}

fn zero_size_cache_forwards_every_update(kind: Kind) {
    let f = Fixture::with_cache(0);
    let mut st = f.kv(kind, "kv", true);
    let seen = listener(&mut *st);
    st.put(b("a"), Some(b("1"))).unwrap();
    st.put(b("a"), Some(b("2"))).unwrap();
    assert_eq!(seen.lock().unwrap().len(), 2);
    assert_eq!(seen.lock().unwrap()[1], rec("a", Some("2"), Some("1"), 0));
    assert_eq!(f.sink.records().len(), 2);
}

fn window_and_session_caching(kind: Kind) {
    let f = Fixture::new();
    let mut w = f.window(kind, "w", 3_600_000, 10, false, true);
    let seen = listener(&mut *w);
    w.put(b("k"), Some(b("1")), 30).unwrap();
    w.put(b("k"), Some(b("2")), 30).unwrap();
    w.flush().unwrap();
    let got = seen.lock().unwrap().clone();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].key, WindowKeySchema::to_binary(b"k", 30), "forwarded key is key + window start");
    assert_eq!(got[0].new_value, Some(b("2")));

    let mut s = f.session(kind, "s", 3_600_000, true);
    let seen = listener(&mut *s);
    let session = Windowed::new(Bytes::from_static(b"k"), Window::new(1, 5));
    s.put(&session, Some(b("x"))).unwrap();
    s.remove(&session).unwrap();
    s.flush().unwrap();
    assert!(seen.lock().unwrap().is_empty(), "created and removed inside one commit: nothing to forward");
}

#[test]
fn stores_share_one_thread_cache_in_separate_namespaces() {
    let f = Fixture::with_cache(4 * (64 + 4));
    let mut a = f.kv(Kind::InMemory, "a", true);
    let mut b_store = f.kv(Kind::InMemory, "b", true);
    let seen_a = listener(&mut *a);
    let seen_b = listener(&mut *b_store);
    for i in 0..4 {
        a.put(b(&format!("k{i:02}")), Some(b("v"))).unwrap();
    }
    assert!(seen_a.lock().unwrap().is_empty(), "a fills the whole cache");
    // b's write overflows the shared bound; eviction only takes from the namespace written to.
    b_store.put(b("k00"), Some(b("v"))).unwrap();
    assert_eq!(seen_b.lock().unwrap().len(), 1, "b evicted its own entry");
    assert!(seen_a.lock().unwrap().is_empty(), "a's entries stay cached");
    a.flush().unwrap();
    assert_eq!(seen_a.lock().unwrap().len(), 4);
}

/// `update_one` (an aggregation's read-modify-write of a window), with and without the cache: the
/// function sees the last value, the store keeps what was flushed until the next flush, `false`
/// deletes, an error writes nothing, and a window older than the retention is neither read nor
/// written.
fn window_update_one(kind: Kind) {
    for caching in [false, true] {
        let f = Fixture::new();
        let mut w = f.window(kind, "w", 60_000, 10, false, caching);
        let seen = if caching { Some(listener(&mut *w)) } else { None };
        let update = |w: &mut dyn brook_state_store::WindowStore, start: i64, expect: Option<&str>, new: Option<&str>| {
            let mut saw = None;
            w.update_one(b"k", start, &mut |old, out| {
                saw = Some(old.map(|o| String::from_utf8(o.to_vec()).unwrap()));
                match new {
                    Some(n) => {
                        out.extend_from_slice(n.as_bytes());
                        Ok(true)
                    }
                    None => Ok(false),
                }
            })
            .unwrap();
            assert_eq!(saw, Some(expect.map(str::to_owned)), "caching={caching}, start={start}");
        };
        f.ctx.record_context().set_timestamp(7);
        update(&mut *w, 30, None, Some("1"));
        update(&mut *w, 30, Some("1"), Some("2"));
        w.flush().unwrap();
        // The flushed "2" is in the store (and the changelog); the cache holds the updates.
        update(&mut *w, 30, Some("2"), Some("3"));
        update(&mut *w, 30, Some("3"), Some("4"));
        assert_eq!(w.fetch_one(b"k", 30).unwrap(), Some(b("4")));
        let err = w.update_one(b"k", 30, &mut |_, out| {
            out.extend_from_slice(b"x");
            Err(brook_state_store::Error::Closed("refused".into()))
        });
        assert!(err.is_err());
        assert_eq!(w.fetch_one(b"k", 30).unwrap(), Some(b("4")), "an error writes nothing");
        w.flush().unwrap();
        if let Some(seen) = &seen {
            let got: Vec<_> = seen.lock().unwrap().iter().map(|r| (r.new_value.clone(), r.old_value.clone())).collect();
            assert_eq!(got, vec![(Some(b("2")), None), (Some(b("4")), Some(b("2")))], "old values are what was flushed");
        }
        update(&mut *w, 30, Some("4"), Some("10"));
        update(&mut *w, 30, Some("10"), None);
        assert_eq!(w.fetch_one(b"k", 30).unwrap(), None, "false deletes");
        // Stream time moves past the retention: the window at 30 is gone, reads and writes of it too.
        update(&mut *w, 200_000, None, Some("late"));
        update(&mut *w, 30, None, Some("5"));
        assert_eq!(w.fetch_one(b"k", 30).unwrap(), None);
        w.flush().unwrap();
        let all: Vec<_> = w.all().unwrap().map(|r| r.unwrap()).map(|(k, v)| (k.window.start, v)).collect();
        assert_eq!(all, vec![(200_000, b("late"))], "caching={caching}");
    }
}

/// What one run of [`hopping_run`] did: every old value the update function saw, the flushed
/// records, the changelog, the final windows, the store's observed time and its metered `get` /
/// `put` counts.
type Run = (Vec<(usize, Option<String>)>, Vec<FlushedRecord>, Vec<brook_state_store::SentRecord>, Vec<(i64, String)>, i64, (u64, u64));

/// Records of two keys' hopping windows (10 s, advancing by 2 s) through a store with 120 s
/// retention (60 s segments), in one store call per record (`update_windows`) or one per window
/// (`update_one`): new segments, late records, expiry, deletes, an error in the middle of a
/// record's windows (`fail`) and, with a small cache, evictions.
fn hopping_run(kind: Kind, cache_bytes: usize, caching: bool, fail: bool, batched: bool) -> Run {
    let f = Fixture::with_cache(cache_bytes);
    let mut w = f.window(kind, "w", 120_000, 10_000, false, caching);
    let seen = if caching { Some(listener(&mut *w)) } else { None };
    let mut saw = Vec::new();
    let times = [1_000, 3_500, 9_000, 59_000, 61_000, 62_000, 50_000, 119_500, 121_000, 4_000, 185_000, 186_000, 70_000, 250_000, 251_000, 255_000];
    for (n, &ts) in times.iter().enumerate() {
        f.ctx.record_context().set_timestamp(ts);
        let starts: Vec<i64> = (0..5).map(|j| (ts / 2_000 - j) * 2_000).filter(|&s| s >= 0).rev().collect();
        for key in ["a", "b"] {
            let mut update = |i: usize, old: Option<&[u8]>, out: &mut Vec<u8>| {
                saw.push((i, old.map(|o| String::from_utf8(o.to_vec()).unwrap())));
                if fail && n == 8 && key == "b" && i == 2 {
                    return Err(brook_state_store::Error::Closed("refused".into()));
                }
                let count = old.map_or(0, <[u8]>::len);
                if count == 3 {
                    return Ok(false);
                }
                out.extend_from_slice(old.unwrap_or_default());
                out.push(b'0' + u8::try_from(n % 10).unwrap());
                Ok(true)
            };
            let r = if batched {
                w.update_windows(key.as_bytes(), &starts, &mut update)
            } else {
                starts.iter().enumerate().try_for_each(|(i, &start)| w.update_one(key.as_bytes(), start, &mut |old, out| update(i, old, out)))
            };
            assert_eq!(r.is_err(), fail && n == 8 && key == "b", "record {n}");
        }
        if n % 5 == 4 {
            w.flush().unwrap();
        }
    }
    w.flush().unwrap();
    let flushed = seen.map(|s| s.lock().unwrap().clone()).unwrap_or_default();
    let all = w.all().unwrap().map(|r| r.unwrap()).map(|(k, v)| (k.window.start, String::from_utf8(v.to_vec()).unwrap())).collect();
    let count = |op| f.ctx.metrics().get("w", op).map_or(0, |m| m.count);
    (saw, flushed, f.sink.records(), all, w.observed_stream_time(), (count("get"), count("put")))
}

/// `update_windows` does what `update_one` of each window does, with and without the cache, and
/// with caches small enough to evict within a record's windows (781 and 865 bytes: on updates of
/// cached windows too, not only on new ones). The one difference: a call that
/// fails counts a `get` and a `put` for each of its windows, also those after the failing one.
fn window_update_windows_as_update_one_each(kind: Kind) {
    for fail in [false, true] {
        for (cache_bytes, caching) in [(1 << 20, false), (1 << 20, true), (3 * (64 + 23), true), (781, true), (865, true)] {
            let each = hopping_run(kind, cache_bytes, caching, fail, false);
            let mut batched = hopping_run(kind, cache_bytes, caching, fail, true);
            assert!(each.0.len() > 100 && !each.3.is_empty(), "the scenario updates windows and keeps some");
            if fail {
                assert_eq!(batched.5, (each.5 .0 + 2, each.5 .1 + 2), "the two windows after the failing one are counted");
                batched.5 = each.5;
            }
            let what = format!("cache {cache_bytes}, caching {caching}, fail {fail}");
            assert_eq!(batched.0, each.0, "seen: {what}");
            assert_eq!(batched.1, each.1, "flushed: {what}");
            assert_eq!(batched.2, each.2, "changelog: {what}");
            assert_eq!(batched.3, each.3, "windows: {what}");
            assert_eq!(batched.4, each.4, "observed: {what}");
            assert_eq!(batched.5, each.5, "metrics: {what}");
        }
    }
}
