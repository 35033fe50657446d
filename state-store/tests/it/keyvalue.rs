use brook_state_store::Error;

use crate::{b, both_backends, pairs, Fixture, Kind};

both_backends!(metrics_are_recorded, get_put_delete, range_and_prefix_ordering, put_if_absent_and_put_all, closed_store_errors);

fn owned(v: &[(&str, &str)]) -> Vec<(String, String)> {
    v.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

fn get_put_delete(kind: Kind) {
    for caching in [false, true] {
        let f = Fixture::new();
        let mut st = f.kv(kind, "kv", caching);
        assert_eq!(st.get(b"a").unwrap(), None);
        st.put(b("a"), Some(b("1"))).unwrap();
        st.put(b("a"), Some(b("2"))).unwrap();
        assert_eq!(st.get(b"a").unwrap(), Some(b("2")));
        st.flush().unwrap();
        assert_eq!(st.get(b"a").unwrap(), Some(b("2")));
        assert_eq!(st.delete(b"a").unwrap(), Some(b("2")));
        assert_eq!(st.get(b"a").unwrap(), None);
        st.put(b("b"), Some(b("x"))).unwrap();
        st.put(b("b"), None).unwrap();
        st.flush().unwrap();
        assert_eq!(st.get(b"b").unwrap(), None);
        assert_eq!(st.approximate_num_entries().unwrap(), 0, "caching={caching}");
    }
}

fn range_and_prefix_ordering(kind: Kind) {
    for caching in [false, true] {
        let f = Fixture::new();
        let mut st = f.kv(kind, "kv", caching);
        for k in ["b", "a", "ab", "abc", "c", "d"] {
            st.put(b(k), Some(b(&k.to_uppercase()))).unwrap();
        }
        // Half flushed, half still buffered or cached: reads must merge both.
        st.flush().unwrap();
        st.put(b("aa"), Some(b("AA"))).unwrap();
        st.delete(b"c").unwrap();
        let expect_range = owned(&[("ab", "AB"), ("abc", "ABC"), ("b", "B")]);
        assert_eq!(pairs(st.range(b"ab", b"b").unwrap()), expect_range);
        let mut rev = expect_range.clone();
        rev.reverse();
        assert_eq!(pairs(st.reverse_range(b"ab", b"b").unwrap()), rev);
        assert!(pairs(st.range(b"z", b"a").unwrap()).is_empty(), "from > to is empty");
        assert_eq!(pairs(st.prefix_scan(b"a").unwrap()), owned(&[("a", "A"), ("aa", "AA"), ("ab", "AB"), ("abc", "ABC")]));
        assert_eq!(pairs(st.prefix_scan(b"ab").unwrap()), owned(&[("ab", "AB"), ("abc", "ABC")]));
        let all = pairs(st.all().unwrap());
        let keys: Vec<_> = all.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(keys, ["a", "aa", "ab", "abc", "b", "d"]);
        let rkeys: Vec<_> = pairs(st.reverse_all().unwrap()).into_iter().map(|(k, _)| k).collect();
        assert_eq!(rkeys, ["d", "b", "abc", "ab", "aa", "a"]);
    }
}

fn put_if_absent_and_put_all(kind: Kind) {
    let f = Fixture::new();
    let mut st = f.kv(kind, "kv", false);
    assert_eq!(st.put_if_absent(b("k"), b("1")).unwrap(), None);
    assert_eq!(st.put_if_absent(b("k"), b("2")).unwrap(), Some(b("1")));
    assert_eq!(st.get(b"k").unwrap(), Some(b("1")));
    st.put_all(vec![(b("x"), Some(b("1"))), (b("y"), Some(b("2"))), (b("k"), None)]).unwrap();
    assert_eq!(pairs(st.all().unwrap()), owned(&[("x", "1"), ("y", "2")]));
}

fn closed_store_errors(kind: Kind) {
    let f = Fixture::new();
    let mut st = f.kv(kind, "kv", true);
    st.put(b("k"), Some(b("v"))).unwrap();
    st.close().unwrap();
    assert!(!st.is_open());
    assert!(matches!(st.get(b"k"), Err(Error::Closed(_))));
    assert!(matches!(st.put(b("k"), None), Err(Error::Closed(_))));
    assert!(matches!(st.flush(), Err(Error::Closed(_))));
    st.close().unwrap();
}

fn metrics_are_recorded(kind: Kind) {
    let f = Fixture::new();
    let mut st = f.kv(kind, "metered", true);
    for i in 0..100 {
        st.put(b(&format!("k{i}")), Some(b("v"))).unwrap();
    }
    for i in 0..50 {
        st.get(format!("k{i}").as_bytes()).unwrap();
    }
    st.range(b"a", b"z").unwrap().count();
    st.flush().unwrap();
    let m = f.ctx.metrics();
    assert_eq!(m.get("metered", "put").unwrap().count, 100);
    assert_eq!(m.get("metered", "get").unwrap().count, 50);
    assert_eq!(m.get("metered", "range").unwrap().count, 1);
    let flush = m.get("metered", "flush").unwrap();
    assert_eq!((flush.count, flush.timed), (1, 1));
    assert!(flush.total_nanos > 0);
    assert!(m.get("metered", "put").unwrap().timed >= 1, "puts are sampled");
    let restore = m.get("metered", "restore").unwrap();
    assert_eq!(restore.count, 0);
}

both_backends!(timestamped_and_typed_facades);

fn timestamped_and_typed_facades(kind: Kind) {
    use std::sync::Arc;

    use brook_state_store::{BytesSerde, I64Serde, StateSerdes, StringSerde, TypedKeyValueStore, ValueAndTimestamp};

    let f = Fixture::new();
    let serdes = StateSerdes::timestamped("app-ts-changelog", Arc::new(BytesSerde), Arc::new(BytesSerde));
    let mut st = TypedKeyValueStore::new(f.kv(kind, "ts", true), serdes);
    let vt = |v: &str, t: i64| ValueAndTimestamp { value: b(v), timestamp: t };
    assert_eq!(st.put_if_absent(&b("a"), &vt("1", 10)).unwrap(), None);
    assert_eq!(st.put_if_absent(&b("a"), &vt("2", 20)).unwrap(), Some(vt("1", 10)));
    st.put(&b("b"), Some(&vt("3", 30))).unwrap();
    st.inner_mut().flush().unwrap();
    let all: Vec<_> = st.all().unwrap().map(|r| r.unwrap()).collect();
    assert_eq!(all, vec![(b("a"), vt("1", 10)), (b("b"), vt("3", 30))]);
    assert_eq!(st.range(&b("b"), &b("z")).unwrap().count(), 1);
    assert_eq!(st.delete(&b("a")).unwrap(), Some(vt("1", 10)));
    // The stored bytes are Kafka's ValueAndTimestamp layout; a raw short value is an error.
    assert_eq!(st.inner().get(b"b").unwrap(), Some(vt("3", 30).to_bytes()));
    st.inner_mut().put(b("bad"), Some(b("123"))).unwrap();
    assert!(matches!(st.get(&b("bad")), Err(Error::Decode { .. })));

    let serdes = StateSerdes::for_store("app", "typed", Arc::new(StringSerde), Arc::new(I64Serde));
    let mut typed = TypedKeyValueStore::new(f.kv(kind, "typed", false), serdes);
    typed.put(&"x".to_owned(), Some(&-5)).unwrap();
    typed.put(&"y".to_owned(), Some(&7)).unwrap();
    assert_eq!(typed.get(&"x".to_owned()).unwrap(), Some(-5));
    let all: Vec<_> = typed.all().unwrap().map(|r| r.unwrap()).collect();
    assert_eq!(all, vec![("x".to_owned(), -5), ("y".to_owned(), 7)]);
    assert_eq!(typed.range(&"y".to_owned(), &"z".to_owned()).unwrap().count(), 1);
    assert_eq!(typed.delete(&"x".to_owned()).unwrap(), Some(-5));
    assert_eq!(f.sink.records().last().unwrap().value, None, "delete logged a tombstone");

    // Borrowed store and serdes, as a processor reaches its store through the context on each
    // record and keeps its serdes: the same bytes.
    let serdes = typed.serdes().clone();
    let mut borrowed = TypedKeyValueStore::new(&mut **typed.inner_mut(), &serdes);
    borrowed.put(&"z".to_owned(), Some(&9)).unwrap();
    assert_eq!(borrowed.get(&"y".to_owned()).unwrap(), Some(7));
    assert_eq!(typed.get(&"z".to_owned()).unwrap(), Some(9));
}
