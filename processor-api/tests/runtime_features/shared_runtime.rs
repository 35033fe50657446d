//! Instances on one [`SharedRuntime`]: they all run, and one whose processor panics fails
//! alone while the others keep processing.

use std::sync::{Arc, Mutex};
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

/// Copies records; panics on the value `panic` (a bug in user code).
struct CopyOrPanic;

impl Processor<B, B, Bytes, Bytes> for CopyOrPanic {
    fn process(&mut self, ctx: &mut ProcessorContext<'_, Bytes, Bytes>, r: Record<B, B>) -> Result<()> {
        let value = r.value().clone().unwrap_or_default();
        assert!(value.as_ref() != b"panic", "injected panic");
        let key = r.key().clone().unwrap_or_default();
        ctx.forward(r.with_key(key).with_value(value))
    }
}

fn copy(i: usize, c: &brook_processor_api::StreamsConfig) -> Arc<TopologyTaskFactory> {
    let mut t = Topology::new();
    t.add_source("source", SourceOptions::topics([format!("in-{i}")]))
        .unwrap()
        .add_processor("copy", || CopyOrPanic, &["source"])
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
    const N: usize = 4;
    let b = TestBroker::new();
    let dir = tempfile::tempdir().unwrap();
    let shared = SharedRuntime::with_threads(1, 1).unwrap();
    let errors: Arc<Mutex<Vec<String>>> = Arc::default();
    let instances: Vec<KafkaStreams> = (0..N)
        .map(|i| {
            b.create(&format!("in-{i}"), 1);
            b.create(&format!("out-{i}"), 1);
            let c = config(&format!("shared-{i}"), dir.path(), i % 2 == 1);
            let f = copy(i, &c);
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
    b.produce("in-0", &[("k", "panic")]);
    for i in 0..N {
        b.produce(&format!("in-{i}"), &[("k", "v2")]);
    }
    let (st, ok) = instances[0].wait_for_state(Duration::from_secs(30), |s| s == State::Error);
    assert!(ok, "the panicking instance is {st}");
    // The panic reached the handler as the thread's error, and no other instance failed.
    assert_eq!(*errors.lock().unwrap(), vec!["illegal state: stream thread panicked: injected panic".to_owned()]);
    for (i, s) in instances.iter().enumerate().skip(1) {
        let topic = format!("out-{i}");
        wait_until(&topic, Duration::from_secs(30), || b.read_all(&topic, true).len() == 2);
        assert_eq!(b.read_all(&topic, true), vec![("k".to_owned(), "v1".to_owned()), ("k".to_owned(), "v2".to_owned())]);
        assert_eq!(s.state(), State::Running, "instance {i}");
    }
    for s in &instances {
        assert!(s.close(Duration::from_secs(30)));
    }
}
