use brook_state_store::{Stores, WindowedIter};

use crate::{b, both_backends, s, Fixture, Kind};

both_backends!(fetch_bounds_and_order, key_range_and_all, expiry_drops_old_segments, segment_granular_expiry, retain_duplicates);

const MIN: i64 = 60_000;

fn windowed(it: WindowedIter<'_>) -> Vec<(String, i64, i64, String)> {
    it.map(|r| r.unwrap()).map(|(w, v)| (s(&w.key), w.window.start, w.window.end, s(&v))).collect()
}

fn fetch_bounds_and_order(kind: Kind) {
    for caching in [false, true] {
        let f = Fixture::new();
        let mut st = f.window(kind, "w", 10 * MIN, 10, false, caching);
        for (k, t, v) in [("a", 20, "a20"), ("a", 0, "a0"), ("a", 10, "a10"), ("ab", 10, "ab10"), ("b", 10, "b10")] {
            st.put(b(k), Some(b(v)), t).unwrap();
        }
        st.flush().unwrap();
        st.put(b("a"), Some(b("a30")), 30).unwrap();
        let got: Vec<_> = st.fetch(b"a", 5, 30).unwrap().map(|r| r.unwrap()).map(|(t, v)| (t, s(&v))).collect();
        assert_eq!(got, vec![(10, "a10".into()), (20, "a20".into()), (30, "a30".into())], "caching={caching}");
        let got: Vec<_> = st.backward_fetch(b"a", 0, 20).unwrap().map(|r| r.unwrap().0).collect();
        assert_eq!(got, vec![20, 10, 0]);
        assert_eq!(st.fetch(b"a", 0, 0).unwrap().count(), 1, "bounds are inclusive");
        assert_eq!(st.fetch(b"a", 21, 29).unwrap().count(), 0);
        assert_eq!(st.fetch(b"a", 30, 0).unwrap().count(), 0, "from > to");
        assert_eq!(st.fetch_one(b"ab", 10).unwrap(), Some(b("ab10")));
        assert_eq!(st.fetch_one(b"ab", 0).unwrap(), None);
        // A key too long for the point lookup's stack buffer takes the allocating path.
        let long = "k".repeat(100);
        st.put(b(&long), Some(b("long10")), 10).unwrap();
        assert_eq!(st.fetch_one(long.as_bytes(), 10).unwrap(), Some(b("long10")));
        assert_eq!(st.fetch_one(long.as_bytes(), 20).unwrap(), None);
        assert_eq!(st.fetch_one(b"zz", 10).unwrap(), None, "unknown key");
        assert_eq!(st.fetch_one(b"a", 600 * MIN).unwrap(), None, "segment never written");
        st.put(b("a"), None, 10).unwrap();
        assert_eq!(st.fetch_one(b"a", 10).unwrap(), None, "None deletes the window");
    }
}

fn key_range_and_all(kind: Kind) {
    let f = Fixture::new();
    let mut st = f.window(kind, "w", 10 * MIN, 5, false, true);
    for (k, t) in [("a", 0), ("b", 0), ("b", 10), ("c", 10), ("d", 20)] {
        st.put(b(k), Some(b(&format!("{k}{t}"))), t).unwrap();
    }
    let got = windowed(st.fetch_key_range(Some(b"b"), Some(b"c"), 0, 10).unwrap());
    assert_eq!(
        got,
        vec![("b".into(), 0, 5, "b0".into()), ("b".into(), 10, 15, "b10".into()), ("c".into(), 10, 15, "c10".into())]
    );
    let back = windowed(st.backward_fetch_key_range(Some(b"b"), Some(b"c"), 0, 10).unwrap());
    assert_eq!(back.iter().map(|w| w.3.as_str()).collect::<Vec<_>>(), ["c10", "b10", "b0"]);
    let all = windowed(st.fetch_all(10, 20).unwrap());
    assert_eq!(all.iter().map(|w| w.3.as_str()).collect::<Vec<_>>(), ["b10", "c10", "d20"]);
    assert_eq!(windowed(st.all().unwrap()).len(), 5);
    let back_all = windowed(st.backward_all().unwrap());
    assert_eq!(back_all.iter().map(|w| w.3.as_str()).collect::<Vec<_>>(), ["d20", "c10", "b10", "b0", "a0"]);
    let open_from = windowed(st.fetch_key_range(Some(b"c"), None, 0, 100).unwrap());
    assert_eq!(open_from.iter().map(|w| w.3.as_str()).collect::<Vec<_>>(), ["c10", "d20"]);
}

fn expiry_drops_old_segments(kind: Kind) {
    // retention 2 min -> 1 min segments; a record is live while start > stream time - retention.
    let f = Fixture::new();
    let mut st = f.window(kind, "w", 2 * MIN, 10, false, false);
    st.put(b("k"), Some(b("t0")), 0).unwrap();
    st.put(b("k"), Some(b("t70")), 70_000).unwrap();
    st.flush().unwrap();
    assert_eq!(st.fetch(b"k", 0, i64::MAX).unwrap().count(), 2);
    st.put(b("k"), Some(b("t200")), 200_000).unwrap();
    assert_eq!(st.observed_stream_time(), 200_000);
    let got: Vec<_> = st.fetch(b"k", 0, i64::MAX).unwrap().map(|r| r.unwrap().0).collect();
    assert_eq!(got, vec![200_000], "t0's segment is dropped and t70 is older than the retention");
    assert_eq!(st.fetch_one(b"k", 70_000).unwrap(), None, "point reads apply the retention too");
    assert_eq!(st.fetch_one(b"k", 0).unwrap(), None);
    assert_eq!(st.fetch_one(b"k", 200_000).unwrap(), Some(b("t200")));
    st.put(b("k"), Some(b("late")), 10).unwrap();
    assert_eq!(st.fetch_one(b"k", 10).unwrap(), None, "writes to expired segments are dropped");
    st.flush().unwrap();
    if kind == Kind::RocksDb {
        st.close().unwrap();
        drop(st);
        // Reopened with a huge retention, only what was physically kept comes back: segment 0 is
        // gone, segment 1 (t70) was still live and stays until stream time passes it.
        let st = f.window(kind, "w", 1_000 * MIN, 10, false, false);
        let got: Vec<_> = st.fetch(b"k", 0, i64::MAX).unwrap().map(|r| r.unwrap().0).collect();
        assert_eq!(got, vec![70_000, 200_000]);
        assert_eq!(st.observed_stream_time(), 200_000, "recovered from the last segment");
    }
}

fn segment_granular_expiry(kind: Kind) {
    // As in `expiry_drops_old_segments`, but records expire only with their segment (Kafka
    // Streams 3.3's window stores, under ksqlDB 0.29): t70's segment is still live at 200 s.
    let f = Fixture::new();
    let builder = match kind {
        Kind::RocksDb => Stores::persistent_window_store("w", 2 * MIN, 10, false),
        Kind::InMemory => Stores::in_memory_window_store("w", 2 * MIN, 10, false),
    };
    let mut st = builder.with_segment_granular_expiry().build(&f.ctx).unwrap();
    st.put(b("k"), Some(b("t0")), 0).unwrap();
    st.put(b("k"), Some(b("t70")), 70_000).unwrap();
    st.put(b("k"), Some(b("t200")), 200_000).unwrap();
    let got: Vec<_> = st.fetch(b"k", 0, i64::MAX).unwrap().map(|r| r.unwrap().0).collect();
    assert_eq!(got, vec![70_000, 200_000], "t0's segment is dropped, t70's lives on");
    assert_eq!(st.fetch_one(b"k", 70_000).unwrap(), Some(b("t70")));
    assert_eq!(st.fetch_one(b"k", 0).unwrap(), None);
}

fn retain_duplicates(kind: Kind) {
    let f = Fixture::new();
    let mut st = f.window(kind, "join", 10 * MIN, 100, true, true);
    st.put(b("k"), Some(b("x")), 10).unwrap();
    st.put(b("k"), Some(b("y")), 10).unwrap();
    st.put(b("k"), None, 10).unwrap();
    st.put(b("k"), Some(b("z")), 5).unwrap();
    let got: Vec<_> = st.fetch(b"k", 0, 10).unwrap().map(|r| r.unwrap()).map(|(t, v)| (t, s(&v))).collect();
    assert_eq!(got, vec![(5, "z".into()), (10, "x".into()), (10, "y".into())]);
    // Every duplicate has its own changelog record (key + start + seqnum).
    st.flush().unwrap();
    let keys: Vec<_> = f.sink.records().into_iter().map(|r| r.key.to_vec()).collect();
    assert_eq!(keys.len(), 3);
    assert_eq!(&keys[0][..], &[b"k" as &[u8], &10i64.to_be_bytes(), &1u32.to_be_bytes()].concat()[..]);
    assert_eq!(&keys[1][9..], &2u32.to_be_bytes());
}

#[test]
fn reopened_duplicate_store_does_not_overwrite_duplicates() {
    let f = Fixture::new();
    let mut st = f.window(Kind::RocksDb, "dups", 10 * MIN, 100, true, false);
    st.put(b("k"), Some(b("x")), 10).unwrap();
    st.put(b("k"), Some(b("y")), 10).unwrap();
    st.close().unwrap();
    drop(st);
    let mut st = f.window(Kind::RocksDb, "dups", 10 * MIN, 100, true, false);
    st.put(b("k"), Some(b("z")), 10).unwrap();
    let got: Vec<_> = st.fetch(b"k", 10, 10).unwrap().map(|r| s(&r.unwrap().1)).collect();
    assert_eq!(got, ["x", "y", "z"]);
}
