//! Many instances in one process, on one [`SharedRuntime`] or with their stream threads on a
//! [`StreamThreadPool`]: they all run, one whose processor panics fails alone, one whose
//! processor blocks holds up no other (on the pool: while it holds one of two workers); two stream threads of one instance share one worker (their group joins do not
//! wait for each other on it); `close` while a worker is in the middle of a step returns, and
//! exactly-once holds across the close and a restart.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use brook_processor_api::runtime::{Embedded, KafkaStreams, SharedRuntime, State, StreamThreadPool};
use brook_processor_api::{
    Processor, ProcessorContext, Record, Result, SinkOptions, SourceOptions, StreamsConfig, Topology,
    TopologyTaskFactory, UncaughtExceptionResponse,
};
use brook_state_store::BytesSerde;
use bytes::Bytes;

use crate::harness::{config, wait_running, wait_until, TestBroker};

type B = Option<Bytes>;

/// Opened by the test; a processor meeting `block` waits for it.
type Gate = Arc<(Mutex<bool>, Condvar)>;

/// Copies records; panics on `panic`, waits for the gate on `block`, sleeps `delay` on every
/// record and counts them in `seen`.
struct Copy {
    gate: Gate,
    delay: Duration,
    seen: Arc<AtomicUsize>,
}

impl Processor<B, B, Bytes, Bytes> for Copy {
    fn process(&mut self, ctx: &mut ProcessorContext<'_, Bytes, Bytes>, r: Record<B, B>) -> Result<()> {
        let value = r.value().clone().unwrap_or_default();
        assert!(value.as_ref() != b"panic", "injected panic");
        if value.as_ref() == b"block" {
            let (open, cv) = &*self.gate;
            let mut open = open.lock().unwrap();
            while !*open {
                let (o, timeout) = cv.wait_timeout(open, Duration::from_secs(30)).unwrap();
                assert!(!timeout.timed_out(), "the gate never opened");
                open = o;
            }
        }
        if !self.delay.is_zero() {
            std::thread::sleep(self.delay);
        }
        self.seen.fetch_add(1, Ordering::SeqCst);
        let key = r.key().clone().unwrap_or_default();
        ctx.forward(r.with_key(key).with_value(value))
    }
}

fn copy(input: &str, output: &str, c: &StreamsConfig, gate: Gate, delay: Duration, seen: Arc<AtomicUsize>) -> Arc<TopologyTaskFactory> {
    let mut t = Topology::new();
    t.add_source("source", SourceOptions::topics([input.to_owned()]))
        .unwrap()
        .add_processor("copy", move || Copy { gate: gate.clone(), delay, seen: seen.clone() }, &["source"])
        .unwrap()
        .add_sink(
            "sink",
            SinkOptions::<Bytes, Bytes>::topic(output.to_owned(), Arc::new(BytesSerde), Arc::new(BytesSerde)),
            &["copy"],
        )
        .unwrap();
    Arc::new(TopologyTaskFactory::new(t, c).unwrap())
}

/// Makes an instance of `factory` (a shared runtime or a pool).
type Make<'a> = &'a dyn Fn(Arc<TopologyTaskFactory>, StreamsConfig, Embedded) -> KafkaStreams;

/// Eight instances, half of them exactly-once: instance 0's processor panics, instance 1's
/// blocks; the others go on.
fn a_panicking_instance_fails_alone_and_a_blocked_one_holds_up_no_other(app: &str, make: Make<'_>) {
    const N: usize = 8;
    let b = TestBroker::new();
    let dir = tempfile::tempdir().unwrap();
    let errors: Arc<Mutex<Vec<String>>> = Arc::default();
    let gate: Gate = Arc::default();
    let instances: Vec<KafkaStreams> = (0..N)
        .map(|i| {
            b.create(&format!("in-{i}"), 1);
            b.create(&format!("out-{i}"), 1);
            let c = config(&format!("{app}-{i}"), dir.path(), i % 2 == 1);
            let f = copy(&format!("in-{i}"), &format!("out-{i}"), &c, gate.clone(), Duration::ZERO, Arc::default());
            let s = make(f, c, Embedded::new(b.broker.clone()));
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
    for s in &instances {
        wait_running(s);
    }
    // A stream thread keeps its name, thread index and (exactly-once) transactional id.
    let md = instances[1].metadata_for_local_threads();
    assert_eq!(md.len(), 1);
    assert!(md[0].thread_name.ends_with("-StreamThread-1"), "{}", md[0].thread_name);
    assert_eq!(md[0].transactional_id.as_deref(), Some(format!("{app}-1-{}-1", instances[1].process_id()).as_str()));
    assert_eq!(md[0].active_tasks.len(), 1);
    for i in 0..N {
        b.produce(&format!("in-{i}"), &[("k", "v1")]);
    }
    // Instance 0 panics; instance 1 is stuck in its processor until the others are done.
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
    // Later records still flow.
    for i in 2..N {
        b.produce(&format!("in-{i}"), &[("k", "v3")]);
    }
    for i in 2..N {
        let topic = format!("out-{i}");
        wait_until(&topic, Duration::from_secs(30), || b.read_all(&topic, true).len() == 3);
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
    assert_eq!(instances[1].state(), State::NotRunning);
}

#[test]
fn instances_on_a_shared_runtime_a_panicking_one_fails_alone_and_a_blocked_one_holds_up_no_other() {
    let shared = SharedRuntime::with_threads(1, 1).unwrap();
    a_panicking_instance_fails_alone_and_a_blocked_one_holds_up_no_other("shared", &|f, c, e| {
        KafkaStreams::with_runtime(f, c, e, shared.clone()).unwrap()
    });
}

#[test]
fn instances_on_two_pool_workers_a_panicking_one_fails_alone_and_a_blocked_one_holds_up_no_other() {
    // The blocked instance holds one of the two workers; the six others share the second.
    let pool = StreamThreadPool::new(2, SharedRuntime::with_threads(1, 1).unwrap()).unwrap();
    assert_eq!(pool.workers(), 2);
    a_panicking_instance_fails_alone_and_a_blocked_one_holds_up_no_other("pooled", &|f, c, e| {
        KafkaStreams::with_pool(f, c, e, pool.clone()).unwrap()
    });
}

/// Values of `out`, committed ones only, as numbers; asserts there is no duplicate.
fn committed_values(b: &TestBroker, out: &str) -> BTreeSet<u32> {
    let records = b.read_all(out, true);
    let values: BTreeSet<u32> = records.iter().map(|(_, v)| v.parse().unwrap()).collect();
    assert_eq!(values.len(), records.len(), "duplicates in {out}");
    values
}

#[test]
fn two_threads_of_one_instance_share_one_worker_and_close_while_busy_keeps_exactly_once() {
    const RECORDS: u32 = 3_000;
    let b = TestBroker::new();
    let dir = tempfile::tempdir().unwrap();
    b.create("busy-in", 2);
    b.create("busy-out", 2);
    // One worker for two stream threads of one group: the second one's join makes the first
    // rejoin, which it can only do if the join does not hold the worker.
    let pool = StreamThreadPool::new(1, SharedRuntime::with_threads(1, 1).unwrap()).unwrap();
    let seen = Arc::new(AtomicUsize::new(0));
    let start = |seen: &Arc<AtomicUsize>| {
        let mut c = config("busy", dir.path(), true);
        c.num_stream_threads = 2;
        let f = copy("busy-in", "busy-out", &c, Arc::default(), Duration::from_micros(300), seen.clone());
        let s = KafkaStreams::with_pool(f, c, Embedded::new(b.broker.clone()), pool.clone()).unwrap();
        s.start().unwrap();
        wait_running(&s);
        s
    };
    let s = start(&seen);
    wait_until("a task on each thread", Duration::from_secs(30), || {
        let md = s.metadata_for_local_threads();
        md.len() == 2 && md.iter().all(|t| t.active_tasks.len() == 1)
    });
    let records: Vec<(String, String)> = (0..RECORDS).map(|i| (format!("k{}", i % 7), i.to_string())).collect();
    b.produce("busy-in", &records);
    wait_until("some records processed", Duration::from_secs(30), || seen.load(Ordering::SeqCst) > 200);
    // Close from two threads at once while the worker is in the middle of a step.
    let t0 = Instant::now();
    let (a, c) = std::thread::scope(|scope| {
        let a = scope.spawn(|| s.close(Duration::from_secs(30)));
        let c = scope.spawn(|| s.close(Duration::from_secs(30)));
        (a.join().unwrap(), c.join().unwrap())
    });
    assert!(a && c, "close timed out");
    assert!(t0.elapsed() < Duration::from_secs(30));
    assert_eq!(s.state(), State::NotRunning);
    let processed = seen.load(Ordering::SeqCst);
    assert!(processed < RECORDS as usize, "the instance finished before close: the test proves nothing");
    let first = committed_values(&b, "busy-out");
    drop(s);
    // A new instance of the application takes over: every record exactly once in the end.
    let s = start(&Arc::default());
    wait_until("every record", Duration::from_secs(60), || b.read_all("busy-out", true).len() >= RECORDS as usize);
    let all = committed_values(&b, "busy-out");
    assert_eq!(all, (0..RECORDS).collect::<BTreeSet<u32>>());
    assert!(first.is_subset(&all));
    // remove_stream_thread works on a pooled instance: the thread left takes both partitions.
    assert!(s.remove_stream_thread(Duration::from_secs(30)).unwrap().is_some());
    wait_until("one thread with both tasks", Duration::from_secs(30), || {
        let md = s.metadata_for_local_threads();
        md.len() == 1 && md[0].active_tasks.len() == 2 && s.state() == State::Running
    });
    b.produce("busy-in", &[("k", RECORDS.to_string())]);
    wait_until("the last record", Duration::from_secs(30), || b.read_all("busy-out", true).len() == RECORDS as usize + 1);
    assert!(s.close(Duration::from_secs(30)));
}
