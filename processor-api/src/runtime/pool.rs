//! [`StreamThreadPool`]: a bounded set of worker OS threads that run the stream threads of many
//! [`KafkaStreams`](super::KafkaStreams) instances cooperatively.
//!
//! A stream thread of an instance created with
//! [`KafkaStreams::with_pool`](super::KafkaStreams::with_pool) is not an OS thread but a
//! *unit*: the same state (clients, tasks, transactional producer, thread index and name) and
//! the same loop body, run one iteration ("step") at a time by whichever worker takes it. A
//! step polls with a zero timeout, processes a bounded number of records (as an OS stream
//! thread's loop iteration: about 20,000 records or 100 ms), punctuates, maintains standbys and commits when due, then returns; the unit goes
//! to the back of the ready queue when it has more to do, and is parked when it polled
//! nothing and has nothing buffered. A parked unit costs nothing until its consumer says a
//! poll may return something new (records appended, a group join done, a wakeup: see
//! [`StreamsConsumer::set_cooperative`](super::StreamsConsumer::set_cooperative)), it is asked
//! to stop, or `poll.ms` passes (punctuation, commits, rejoins), whichever comes first.
//!
//! Isolation: a unit that fails or panics ends only its own stream thread (the instance's
//! uncaught exception handler decides what follows, as for an OS thread); a unit that is slow
//! (a processor that blocks, a long restore) holds one worker for the length of its step and
//! the other workers keep running the other units. Group joins, which wait for the other
//! members, run as tasks on the client runtime, never on a worker, so units of one group never
//! wait for each other on the workers.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};

use super::shared::SharedRuntime;
use super::state::ThreadState;
use super::stream_thread::{self, Pace, Started, Step, ThreadShared};
use crate::error::{Error, Result};

/// How much a unit does per step: as much as an OS stream thread's loop iteration. Smaller
/// steps (2,000 records or 10 ms) halved the throughput of a stateful query
/// (BENCHMARKS.md); a busy unit waits at most (busy units / workers) steps for its turn.
const POOLED: Pace = Pace { never_wait: true, max_records: 20_000, max_time: Duration::from_millis(100) };

/// A bounded pool of worker threads shared by the stream threads of many instances.
///
/// Clones share the pool; its workers stop when the last clone (instances hold one) is dropped.
///
/// # Examples
/// ```
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use std::sync::Arc;
/// use std::time::Duration;
/// use brook_broker::{Broker, BrokerConfig};
/// use brook_processor_api::runtime::{Embedded, SharedRuntime, StreamThreadPool};
/// use brook_processor_api::{KafkaStreams, SinkOptions, SourceOptions, State, StreamsConfig, Topology, TopologyTaskFactory};
/// use brook_state_store::BytesSerde;
/// use bytes::Bytes;
///
/// let rt = tokio::runtime::Runtime::new()?;
/// let dir = tempfile::tempdir()?;
/// let mut broker_config = BrokerConfig::new(dir.path().join("log"));
/// broker_config.group_initial_rebalance_delay = Duration::ZERO;
/// let broker = rt.block_on(Broker::open(broker_config))?;
/// broker.create_topic("in", 1, Default::default())?;
/// broker.create_topic("out", 1, Default::default())?;
///
/// // Ten instances, two worker threads between them.
/// let pool = StreamThreadPool::new(2, SharedRuntime::new()?)?;
/// let mut instances = Vec::new();
/// for i in 0..10 {
///     let mut topology = Topology::new();
///     topology
///         .add_source("src", SourceOptions::topics(["in"]))?
///         .add_sink("sink", SinkOptions::<Bytes, Bytes>::topic("out", Arc::new(BytesSerde), Arc::new(BytesSerde)), &["src"])?;
///     let mut config = StreamsConfig::new(format!("app-{i}"));
///     config.state_dir = dir.path().join("state");
///     let factory = Arc::new(TopologyTaskFactory::new(topology, &config)?);
///     instances.push(KafkaStreams::with_pool(factory, config, Embedded::new(broker.clone()), pool.clone())?);
/// }
/// for s in &instances {
///     s.start()?;
///     assert!(s.wait_for_state(Duration::from_secs(30), |s| s == State::Running).1);
/// }
/// for s in &instances {
///     assert!(s.close(Duration::from_secs(30)));
/// }
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct StreamThreadPool {
    owner: Arc<Owner>,
}

/// Stops the workers when the last handle goes.
struct Owner {
    pool: Arc<Pool>,
}

impl Drop for Owner {
    fn drop(&mut self) {
        self.pool.sched.lock().shutdown = true;
        self.pool.cv.notify_all();
        let current = std::thread::current().id();
        for h in self.pool.threads.lock().drain(..) {
            // The last handle may go on a worker (a unit's exit dropping its instance).
            if h.thread().id() != current {
                let _ = h.join();
            }
        }
    }
}

struct Pool {
    sched: Mutex<Sched>,
    cv: Condvar,
    workers: usize,
    runtime: SharedRuntime,
    threads: Mutex<Vec<JoinHandle<()>>>,
    next_id: AtomicU64,
}

/// Scheduling state, under one lock.
#[derive(Default)]
struct Sched {
    ready: VecDeque<Arc<Unit>>,
    /// Parked units by the time they are due anyway (`poll.ms`).
    timers: BTreeMap<(Instant, u64), Arc<Unit>>,
    slots: HashMap<u64, Slot>,
    /// A worker waits for the first timer (the others wait for work only).
    timer_watch: bool,
    shutdown: bool,
}

impl Sched {
    /// Queues a unit: at the front while its stream thread is not RUNNING yet (starting,
    /// joining its group, restoring), so that a query starts without waiting behind every
    /// running unit that a broker append woke; at the back otherwise.
    fn enqueue(&mut self, unit: Arc<Unit>) {
        if unit.shared.state() == ThreadState::Running {
            self.ready.push_back(unit);
        } else {
            self.ready.push_front(unit);
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Slot {
    /// Parked, due at the timer.
    Parked(Instant),
    Queued,
    /// A worker runs its step; `woken` when it was woken meanwhile (it runs again at once).
    Running { woken: bool },
}

/// A stream thread run by the pool.
pub(crate) struct Unit {
    id: u64,
    shared: Arc<ThreadShared>,
    pool: Weak<Pool>,
    poll: Duration,
    body: Mutex<Body>,
    on_exit: Mutex<Option<Box<dyn FnOnce(Result<()>) + Send>>>,
    done: Mutex<bool>,
    done_cv: Condvar,
}

/// What a step came to.
enum Outcome {
    /// More to do: back to the ready queue.
    Busy,
    /// Nothing to do: parked.
    Idle,
    /// The unit ended (its exit callback ran).
    Ended,
}

enum Body {
    New,
    Started(Started),
    Finished,
}

impl fmt::Debug for StreamThreadPool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sched = self.owner.pool.sched.lock();
        f.debug_struct("StreamThreadPool")
            .field("workers", &self.owner.pool.workers)
            .field("units", &sched.slots.len())
            .field("ready", &sched.ready.len())
            .finish()
    }
}

impl StreamThreadPool {
    /// `workers` worker threads (at least 1), named `brook-stream-pool-<i>`; the instances
    /// given the pool run their clients' background tasks on `runtime`.
    ///
    /// # Errors
    /// The OS refused the threads.
    pub fn new(workers: usize, runtime: SharedRuntime) -> Result<StreamThreadPool> {
        let workers = workers.max(1);
        let pool = Arc::new(Pool {
            sched: Mutex::new(Sched::default()),
            cv: Condvar::new(),
            workers,
            runtime,
            threads: Mutex::new(Vec::new()),
            next_id: AtomicU64::new(0),
        });
        let owner = Owner { pool: pool.clone() };
        for i in 0..workers {
            let p = pool.clone();
            let h = std::thread::Builder::new()
                .name(format!("brook-stream-pool-{i}"))
                .spawn(move || work(&p))
                .map_err(|e| Error::Broker(brook_broker::Error::storage("spawning a stream pool worker", e)))?;
            pool.threads.lock().push(h);
        }
        Ok(StreamThreadPool { owner: Arc::new(owner) })
    }

    /// Workers of a pool sized by default: twice the CPUs.
    pub fn default_workers() -> usize {
        2 * std::thread::available_parallelism().map_or(1, |n| n.get())
    }

    /// The number of worker threads.
    pub fn workers(&self) -> usize {
        self.owner.pool.workers
    }

    /// The client runtime of the instances given this pool.
    pub fn runtime(&self) -> &SharedRuntime {
        &self.owner.pool.runtime
    }

    /// The most threads the pool and its client runtime run together.
    pub fn threads(&self) -> usize {
        self.owner.pool.workers + self.owner.pool.runtime.threads()
    }

    /// Adds a stream thread as a unit and schedules its first step (creating its clients).
    /// `on_exit` runs on a worker once it ended, with its result.
    pub(crate) fn submit(
        &self,
        shared: Arc<ThreadShared>,
        poll: Duration,
        on_exit: Box<dyn FnOnce(Result<()>) + Send>,
    ) -> Arc<Unit> {
        let pool = &self.owner.pool;
        let unit = Arc::new(Unit {
            id: pool.next_id.fetch_add(1, Ordering::Relaxed),
            shared,
            pool: Arc::downgrade(pool),
            poll,
            body: Mutex::new(Body::New),
            on_exit: Mutex::new(Some(on_exit)),
            done: Mutex::new(false),
            done_cv: Condvar::new(),
        });
        let mut sched = pool.sched.lock();
        sched.slots.insert(unit.id, Slot::Queued);
        sched.ready.push_front(unit.clone());
        drop(sched);
        pool.cv.notify_one();
        unit
    }
}

impl Unit {
    /// Waits until the unit ended (its exit callback returned), at most until `deadline`.
    pub(crate) fn join_until(&self, deadline: Instant) -> bool {
        let mut done = self.done.lock();
        while !*done {
            if self.done_cv.wait_until(&mut done, deadline).timed_out() {
                return *done;
            }
        }
        true
    }

    /// Schedules the unit now if it is parked; makes it run again at once if it is running.
    fn wake(self: &Arc<Unit>) {
        let Some(pool) = self.pool.upgrade() else { return };
        let mut sched = pool.sched.lock();
        match sched.slots.get_mut(&self.id) {
            Some(Slot::Parked(at)) => {
                let key = (*at, self.id);
                sched.timers.remove(&key);
                sched.slots.insert(self.id, Slot::Queued);
                sched.enqueue(self.clone());
                drop(sched);
                pool.cv.notify_one();
            }
            Some(Slot::Running { woken }) => *woken = true,
            Some(Slot::Queued) | None => {}
        }
    }

    /// Runs one step.
    fn run_step(self: &Arc<Unit>) -> Outcome {
        let mut body = self.body.lock();
        let shared = &self.shared;
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| match &mut *body {
            Body::New => {
                let weak = Arc::downgrade(self);
                let wake: Arc<dyn Fn() + Send + Sync> = Arc::new(move || {
                    if let Some(u) = weak.upgrade() {
                        u.wake();
                    }
                });
                *body = Body::Started(stream_thread::start(shared, Some(wake))?);
                Ok(Step::Busy)
            }
            Body::Started(started) => stream_thread::step(shared, started, POOLED),
            Body::Finished => Ok(Step::Stop),
        }));
        let result = match outcome {
            Ok(Ok(Step::Busy)) => return Outcome::Busy,
            Ok(Ok(Step::Idle)) => return Outcome::Idle,
            Ok(Ok(Step::Stop)) => Ok(()),
            Ok(Err(e)) => Err(e),
            Err(panic) => Err(panicked(&panic)),
        };
        // The unit ends: a final commit (or a dirty close) as a stream thread's end.
        let finished = match std::mem::replace(&mut *body, Body::Finished) {
            Body::Started(started) => {
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| stream_thread::finish(shared, started, result)))
                    .unwrap_or_else(|panic| Err(panicked(&panic)))
            }
            Body::New | Body::Finished => result,
        };
        if finished.is_err() {
            *shared.core.lock() = None;
        }
        drop(body);
        self.exit(finished);
        Outcome::Ended
    }

    fn exit(&self, result: Result<()>) {
        if let Some(f) = self.on_exit.lock().take() {
            f(result);
        }
        *self.done.lock() = true;
        self.done_cv.notify_all();
    }
}

fn panicked(panic: &Box<dyn std::any::Any + Send>) -> Error {
    Error::IllegalState(format!("stream thread panicked: {}", super::os_thread::panic_message(panic.as_ref())))
}

/// A worker: takes the next ready unit, runs one step, puts it back (busy), parks it (idle) or
/// drops it (ended).
fn work(pool: &Arc<Pool>) {
    let mut sched = pool.sched.lock();
    loop {
        let now = Instant::now();
        while let Some(entry) = sched.timers.first_entry() {
            if entry.key().0 > now {
                break;
            }
            let unit = entry.remove();
            if matches!(sched.slots.get(&unit.id), Some(Slot::Parked(_))) {
                sched.slots.insert(unit.id, Slot::Queued);
                sched.ready.push_back(unit);
            }
        }
        if let Some(unit) = sched.ready.pop_front() {
            if !sched.ready.is_empty() || (!sched.timers.is_empty() && !sched.timer_watch) {
                // More work, or nobody left watching the timers while this worker is busy.
                pool.cv.notify_one();
            }
            sched.slots.insert(unit.id, Slot::Running { woken: false });
            drop(sched);
            let outcome = unit.run_step();
            sched = pool.sched.lock();
            match outcome {
                Outcome::Ended => {
                    sched.slots.remove(&unit.id);
                }
                outcome => {
                    let woken = matches!(sched.slots.get(&unit.id), Some(Slot::Running { woken: true }));
                    if matches!(outcome, Outcome::Busy) || woken {
                        sched.slots.insert(unit.id, Slot::Queued);
                        sched.enqueue(unit);
                    } else {
                        let at = Instant::now() + unit.poll;
                        let first = sched.timers.first_key_value().is_none_or(|(k, _)| (at, unit.id) < *k);
                        sched.slots.insert(unit.id, Slot::Parked(at));
                        sched.timers.insert((at, unit.id), unit);
                        if first {
                            // The timer watcher may sleep past this one.
                            pool.cv.notify_all();
                        }
                    }
                }
            }
            continue;
        }
        if sched.shutdown {
            return;
        }
        let first_timer = sched.timers.first_key_value().map(|((at, _), _)| *at);
        match first_timer {
            Some(at) if !sched.timer_watch => {
                sched.timer_watch = true;
                pool.cv.wait_until(&mut sched, at);
                sched.timer_watch = false;
            }
            _ => pool.cv.wait(&mut sched),
        }
    }
}
