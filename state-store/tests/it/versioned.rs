use brook_state_store::VersionedRecord;

use crate::{b, both_backends, Fixture, Kind};

both_backends!(get_as_of, history_retention);

fn v(value: &str, timestamp: i64) -> Option<VersionedRecord> {
    Some(VersionedRecord { value: b(value), timestamp })
}

fn get_as_of(kind: Kind) {
    let f = Fixture::new();
    let mut st = f.versioned(kind, "v", 1_000_000);
    st.put(b("k"), Some(b("v1")), 10).unwrap();
    st.put(b("k"), Some(b("v3")), 40).unwrap();
    st.put(b("k"), Some(b("v2")), 20).unwrap(); // out of order
    st.put(b("k"), None, 30).unwrap();
    st.put(b("k0"), Some(b("other")), 15).unwrap();
    assert_eq!(st.get_as_of(b"k", 5).unwrap(), None);
    assert_eq!(st.get_as_of(b"k", 10).unwrap(), v("v1", 10));
    assert_eq!(st.get_as_of(b"k", 19).unwrap(), v("v1", 10));
    assert_eq!(st.get_as_of(b"k", 29).unwrap(), v("v2", 20));
    assert_eq!(st.get_as_of(b"k", 35).unwrap(), None, "tombstone");
    assert_eq!(st.get_as_of(b"k", 1_000).unwrap(), v("v3", 40));
    assert_eq!(st.get(b"k").unwrap(), v("v3", 40));
    assert_eq!(st.get(b"k0").unwrap(), v("other", 15));
    assert_eq!(st.delete(b"k", 50).unwrap(), v("v3", 40));
    assert_eq!(st.get(b"k").unwrap(), None);
    // Changelog: plain keys and values, stamped with the version's timestamp.
    st.flush().unwrap();
    let recs = f.sink.records();
    assert_eq!(recs.len(), 6);
    assert_eq!((recs[0].key.clone(), recs[0].value.clone(), recs[0].timestamp), (b("k"), Some(b("v1")), 10));
    assert_eq!((recs[3].value.clone(), recs[3].timestamp), (None, 30));
}

fn history_retention(kind: Kind) {
    let f = Fixture::new();
    let mut st = f.versioned(kind, "v", 100);
    st.put(b("k"), Some(b("a")), 0).unwrap();
    st.put(b("k"), Some(b("b")), 50).unwrap();
    st.put(b("k"), Some(b("c")), 500).unwrap();
    // Stream time 500, history 100: as_of < 400 is outside the history.
    assert_eq!(st.get_as_of(b"k", 399).unwrap(), None);
    assert_eq!(st.get_as_of(b"k", 400).unwrap(), v("b", 50), "the version valid at the boundary is kept");
    st.put(b("k"), Some(b("too late")), 300).unwrap();
    assert_eq!(st.get_as_of(b"k", 450).unwrap(), v("b", 50), "writes older than the history are dropped");
    assert_eq!(f.sink.records().len(), 3, "pruning old versions is not logged");
    st.close().unwrap();
    if kind == Kind::RocksDb {
        drop(st);
        let st = f.versioned(kind, "v", 1_000_000);
        assert_eq!(st.get_as_of(b"k", 10).unwrap(), None, "the version at 0 was pruned");
        assert_eq!(st.get_as_of(b"k", 60).unwrap(), v("b", 50));
    }
}
