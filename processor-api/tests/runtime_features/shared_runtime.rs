//! Instances on one [`SharedRuntime`]: they all run, one whose processor panics fails alone,
//! and one whose processor is stuck holds up no other.

use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use brook_processor_api::runtime::{Embedded, KafkaStreams, SharedRuntime, State};
use brook_processor_api::{
    Processor, ProcessorContext, Record, Result, SinkOptions, SourceOptions, Topology, TopologyTaskFactory,
    UncaughtExceptionResponse,
};
use brook_state_store::BytesSerde;
use bytes::Bytes;

use crate::harness::{config, wait_running, wait_until, TestBroker};

type B = Option<Bytes>;

/// Opened by the test; a processor meeting `block` waits for it.
type Gate = Arc<(Mutex<bool>, Condvar)>;

/// Copies records; panics on the value `panic` (a bug in user code), waits for the gate on
/// `block` (a slow query).
struct CopyOrPanic(Gate);

impl Processor<B, B, Bytes, Bytes> for CopyOrPanic {
    fn process(&mut self, ctx: &mut ProcessorContext<'_, Bytes, Bytes>, r: Record<B, B>) -> Result<()> {
        let value = r.value().clone().unwrap_or_default();
        assert!(value.as_ref() != b"panic", "injected panic");
        if value.as_ref() == b"block" {
            let (open, cv) = &*self.0;
            let mut open = open.lock().unwrap();
            while !*open {
                let (o, timeout) = cv.wait_timeout(open, Duration::from_secs(30)).unwrap();
                assert!(!timeout.timed_out(), "the gate never opened");
                open = o;
            }
        }
        let key = r.key().clone().unwrap_or_default();
        ctx.forward(r.with_key(key).with_value(value))
    }
}

fn copy(i: usize, c: &brook_processor_api::StreamsConfig, gate: Gate) -> Arc<TopologyTaskFactory> {
    let mut t = Topology::new();
    t.add_source("source", SourceOptions::topics([format!("in-{i}")]))
        .unwrap()
        .add_processor("copy", move || CopyOrPanic(gate.clone()), &["source"])
        .unwrap()
        .add_sink(
            "sink",
            SinkOptions::<Bytes, Bytes>::topic(format!("out-{i}"), Arc::new(BytesSerde), Arc::new(BytesSerde)),
            &["copy"],
        )
        .unwrap();
    Arc::new(TopologyTaskFactory::new(t, c).unwrap())
}

#[test]
fn instances_share_a_runtime_and_a_panicking_one_fails_alone() {
    const N: usize = 5;
    let b = TestBroker::new();
    let dir = tempfile::tempdir().unwrap();
    let shared = SharedRuntime::with_threads(1, 1).unwrap();
    let errors: Arc<Mutex<Vec<String>>> = Arc::default();
    let gate: Gate = Arc::default();
    let instances: Vec<KafkaStreams> = (0..N)
        .map(|i| {
            b.create(&format!("in-{i}"), 1);
            b.create(&format!("out-{i}"), 1);
            let c = config(&format!("shared-{i}"), dir.path(), i % 2 == 1);
            let f = copy(i, &c, gate.clone());
            let s = KafkaStreams::with_runtime(f, c, Embedded::new(b.broker.clone()), shared.clone()).unwrap();
            let errors = errors.clone();
            s.set_uncaught_exception_handler(move |e| {
                errors.lock().unwrap().push(e.to_string());
                UncaughtExceptionResponse::ShutdownClient
            })
            .unwrap();
            s.start().unwrap();
            s
        })
        .collect();
    // The instances hold the runtime; the caller's clone may go.
    drop(shared);
    for s in &instances {
        wait_running(s);
    }
    for i in 0..N {
        b.produce(&format!("in-{i}"), &[("k", "v1")]);
    }
    // Instance 0 panics, instance 1 is stuck in its processor until the others are done.
    b.produce("in-0", &[("k", "panic")]);
    b.produce("in-1", &[("k", "block")]);
    for i in 0..N {
        b.produce(&format!("in-{i}"), &[("k", "v2")]);
    }
    let (st, ok) = instances[0].wait_for_state(Duration::from_secs(30), |s| s == State::Error);
    assert!(ok, "the panicking instance is {st}");
    // The panic reached the handler as the thread's error, and no other instance failed.
    assert_eq!(*errors.lock().unwrap(), vec!["illegal state: stream thread panicked: injected panic".to_owned()]);
    for (i, s) in instances.iter().enumerate().skip(2) {
        let topic = format!("out-{i}");
        wait_until(&topic, Duration::from_secs(30), || b.read_all(&topic, true).len() == 2);
        assert_eq!(b.read_all(&topic, true), vec![("k".to_owned(), "v1".to_owned()), ("k".to_owned(), "v2".to_owned())]);
        assert_eq!(s.state(), State::Running, "instance {i}");
    }
    // Instance 1 is still stuck: it cannot have reached the record after `block`.
    assert!(!b.read_all("out-1", false).iter().any(|(_, v)| v == "v2"), "instance 1 went past its stuck record");
    *gate.0.lock().unwrap() = true;
    gate.1.notify_all();
    let expected = ["v1", "block", "v2"].map(|v| ("k".to_owned(), v.to_owned())).to_vec();
    wait_until("out-1", Duration::from_secs(30), || b.read_all("out-1", true).len() == 3);
    assert_eq!(b.read_all("out-1", true), expected);
    for s in &instances {
        assert!(s.close(Duration::from_secs(30)));
    }
}
