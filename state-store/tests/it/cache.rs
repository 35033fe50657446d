use std::sync::{Arc, Mutex};

use brook_state_store::{FlushedRecord, StateStore, Window, Windowed, WindowKeySchema};
use bytes::Bytes;

use crate::{b, both_backends, Fixture, Kind};

both_backends!(
    dedup_and_flush_forwarding,
    eviction_writes_through,
    zero_size_cache_forwards_every_update,
    window_and_session_caching,
    window_update_one
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
