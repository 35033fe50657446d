use brook_state_store::{Window, Windowed, WindowedIter};

use crate::{b, both_backends, s, Fixture, Kind};

both_backends!(find_sessions_semantics, fetch_remove_and_key_range, sessions_expire_by_end);

fn sess(k: &str, start: i64, end: i64) -> Windowed<bytes::Bytes> {
    Windowed::new(b(k), Window::new(start, end))
}

fn list(it: WindowedIter<'_>) -> Vec<(String, i64, i64)> {
    it.map(|r| r.unwrap()).map(|(w, _)| (s(&w.key), w.window.start, w.window.end)).collect()
}

fn find_sessions_semantics(kind: Kind) {
    for caching in [false, true] {
        let f = Fixture::new();
        let mut st = f.session(kind, "s", 3_600_000, caching);
        for (k, a, e) in [("a", 0, 10), ("a", 20, 30), ("a", 50, 60), ("ab", 20, 30), ("b", 0, 100)] {
            st.put(&sess(k, a, e), Some(b(&format!("{k}{a}")))).unwrap();
        }
        // Kafka: end >= earliest_session_end and start <= latest_session_start.
        assert_eq!(list(st.find_sessions(b"a", 15, 50).unwrap()), vec![("a".into(), 20, 30), ("a".into(), 50, 60)]);
        assert_eq!(list(st.find_sessions(b"a", 10, 20).unwrap()), vec![("a".into(), 0, 10), ("a".into(), 20, 30)]);
        assert!(list(st.find_sessions(b"a", 31, 49).unwrap()).is_empty());
        assert_eq!(list(st.find_sessions(b"b", 50, 50).unwrap()), vec![("b".into(), 0, 100)], "a long session spans the query");
        assert_eq!(
            list(st.backward_find_sessions(b"a", 0, 100).unwrap()),
            vec![("a".into(), 50, 60), ("a".into(), 20, 30), ("a".into(), 0, 10)],
            "caching={caching}"
        );
    }
}

fn fetch_remove_and_key_range(kind: Kind) {
    let f = Fixture::new();
    let mut st = f.session(kind, "s", 3_600_000, true);
    st.put(&sess("a", 0, 10), Some(b("1"))).unwrap();
    st.put(&sess("a", 20, 30), Some(b("2"))).unwrap();
    st.put(&sess("b", 5, 5), Some(b("3"))).unwrap();
    st.flush().unwrap();
    assert_eq!(list(st.fetch(b"a").unwrap()).len(), 2);
    assert_eq!(st.fetch_session(b"a", 20, 30).unwrap(), Some(b("2")));
    assert_eq!(st.fetch_session(b"a", 20, 31).unwrap(), None);
    st.remove(&sess("a", 0, 10)).unwrap();
    assert_eq!(list(st.fetch(b"a").unwrap()), vec![("a".into(), 20, 30)]);
    assert_eq!(list(st.backward_fetch(b"a").unwrap()), vec![("a".into(), 20, 30)]);
    let all = list(st.find_sessions_key_range(None, None, 0, i64::MAX).unwrap());
    assert_eq!(all, vec![("a".into(), 20, 30), ("b".into(), 5, 5)]);
    let only_b = list(st.find_sessions_key_range(Some(b"b"), Some(b"z"), 0, 100).unwrap());
    assert_eq!(only_b, vec![("b".into(), 5, 5)]);
}

fn sessions_expire_by_end(kind: Kind) {
    let f = Fixture::new();
    let mut st = f.session(kind, "s", 120_000, false);
    st.put(&sess("a", 0, 1_000), Some(b("old"))).unwrap();
    st.put(&sess("a", 250_000, 260_000), Some(b("new"))).unwrap();
    assert_eq!(list(st.fetch(b"a").unwrap()), vec![("a".into(), 250_000, 260_000)]);
    st.put(&sess("a", 0, 2_000), Some(b("late"))).unwrap();
    assert_eq!(st.fetch_session(b"a", 0, 2_000).unwrap(), None);
    st.close().unwrap();
}
