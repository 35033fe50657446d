use brook_state_store::{SessionKeySchema, Stores, Window, WindowKeySchema, Windowed};

use crate::{b, both_backends, Fixture, Kind};

both_backends!(every_write_is_logged_with_tombstones, window_and_session_changelog_keys);

fn every_write_is_logged_with_tombstones(kind: Kind) {
    let f = Fixture::new();
    let mut st = f.kv(kind, "kv", false);
    f.ctx.record_context().set_timestamp(7);
    st.put(b("a"), Some(b("1"))).unwrap();
    f.ctx.record_context().set_timestamp(8);
    st.delete(b"a").unwrap();
    st.put_all(vec![(b("b"), Some(b("2"))), (b("c"), None)]).unwrap();
    let recs = f.sink.records();
    let got: Vec<_> = recs.iter().map(|r| (r.key.clone(), r.value.clone(), r.timestamp)).collect();
    assert_eq!(
        got,
        vec![(b("a"), Some(b("1")), 7), (b("a"), None, 8), (b("b"), Some(b("2")), 8), (b("c"), None, 8)]
    );
    assert!(recs.iter().all(|r| r.topic == "app-kv-changelog" && r.partition == 1));
}

fn window_and_session_changelog_keys(kind: Kind) {
    let f = Fixture::new();
    let mut w = f.window(kind, "w", 3_600_000, 10, false, false);
    w.put(b("k"), Some(b("v")), 20).unwrap();
    let mut s = f.session(kind, "s", 3_600_000, false);
    s.put(&Windowed::new(b("k"), Window::new(1, 5)), Some(b("v"))).unwrap();
    let recs = f.sink.records();
    assert_eq!(recs[0].topic, "app-w-changelog");
    assert_eq!(recs[0].key, WindowKeySchema::to_store_key_binary(b"k", 20, 0));
    assert_eq!(recs[1].topic, "app-s-changelog");
    assert_eq!(recs[1].key, SessionKeySchema::to_binary(b"k", Window::new(1, 5)));
}

#[test]
fn changelog_topic_configs() {
    let kv = Stores::persistent_key_value_store("kv").changelog_config().unwrap();
    assert_eq!(kv.get("cleanup.policy").map(String::as_str), Some("compact"));
    assert!(!kv.contains_key("retention.ms"));
    let w = Stores::in_memory_window_store("w", 3_600_000, 60_000, false)
        .with_logging_enabled([("min.insync.replicas".to_owned(), "2".to_owned())].into())
        .changelog_config()
        .unwrap();
    assert_eq!(w["cleanup.policy"], "compact,delete");
    assert_eq!(w["retention.ms"], "90000000");
    assert_eq!(w["min.insync.replicas"], "2");
    let s = Stores::persistent_session_store("s", 1_000).changelog_config().unwrap();
    assert_eq!(s["retention.ms"], "86401000");
    assert!(Stores::persistent_session_store("s", 1).with_logging_disabled().changelog_config().is_none());
}

#[test]
fn logging_disabled_sends_nothing() {
    let f = Fixture::new();
    let mut st = Stores::in_memory_key_value_store("quiet").with_logging_disabled().build(&f.ctx).unwrap();
    st.put(b("a"), Some(b("1"))).unwrap();
    st.flush().unwrap();
    assert!(f.sink.records().is_empty());
}
